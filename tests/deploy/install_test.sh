#!/usr/bin/env bash
# tests/deploy/install_test.sh — `cmake --install` and `cpack -G DEB` (cmake/FleetLensInstall.cmake) as an
# admin uses them. Run once by scripts/test (not per build):   bash tests/deploy/install_test.sh
# 1. configures a build dir of its own with CMAKE_INSTALL_PREFIX=<tmp>/prefix (the hub's default
#    migrations and console folders are that prefix's share/fleetlens, compiled in, so the hub it runs
#    must be configured with that prefix: the lead's build dir, FL_BIN's, is never reconfigured), builds
#    only fleetlens-hub and fleetlens-spoke, installs, and compares the installed files with the list
#    deploy/README.md gives (no test or bench tool);
# 2. the installed units name the prefix's binaries (systemd-analyze verify when present), the
#    installed example clusters.yaml passes `fleetlens-hub --check` once its files exist;
# 3. runs the installed hub with a clusters.yaml in another folder that sets neither migrations_dir nor
#    web_dir, against a private PostgreSQL: every migration applied, / serves the console's index.html,
#    /healthz 200, a frame from the installed spoke lands; a missing migrations folder is named;
# 4. reconfigures for /usr, `cpack -G DEB`: fleetlens-hub and fleetlens-spoke, their `dpkg-deb
#    --contents` exactly the README's files, Depends the packages of the linked libraries (+ adduser),
#    and the hub's compiled-in path is where its package puts the migrations.
# Needs web/dist (scripts/test builds the console first): without it the console and cpack checks SKIP.
set -uo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
source "$FL_ROOT/tests/integration/assert.sh"
cd "$FL_ROOT" || exit 1
FL_SKIP=0
skip() {
	FL_SKIP=$((FL_SKIP + 1))
	echo "ok - $1 # SKIP $2"
}

T=$(mktemp -d /tmp/fl_install.XXXXXX)
chmod 755 "$T"
cleanup() {
	[ -n "${HUB_PID:-}" ] && kill "$HUB_PID" 2>/dev/null && wait "$HUB_PID" 2>/dev/null
	fl_pg_stop
	rm -rf "$T"
}
trap cleanup EXIT
PREFIX=$T/prefix
B=$T/build
FL_DIAG_LOGS="$T/hub.log"
have_console=0
[ -f web/dist/index.html ] && have_console=1
n_sql=$(find sql/hub -maxdepth 1 -name '*.sql' | wc -l)

# The files README's "Install from source or packages" lists, relative to the prefix, sorted.
expected_files() {
	local comp=$1 f
	{
		if [ "$comp" != spoke ]; then
			echo bin/fleetlens-hub
			echo lib/systemd/system/fleetlens-hub.service
			echo share/doc/fleetlens-hub/examples/clusters.yaml
			for f in sql/hub/*.sql; do echo "share/fleetlens/sql/hub/${f##*/}"; done
			if [ "$have_console" = 1 ]; then
				(cd web/dist && find . -type f | sed 's#^\./#share/fleetlens/web/#')
			fi
		fi
		if [ "$comp" != hub ]; then
			echo bin/fleetlens-spoke
			echo lib/systemd/system/fleetlens-spoke@.service
			echo lib/systemd/system/fleetlens-spoke-node@.service
			echo share/doc/fleetlens-spoke/examples/spoke.yaml
			echo share/doc/fleetlens-spoke/examples/spoke-node.yaml
		fi
	} | LC_ALL=C sort
}

# --- 1. configure, build the two daemons, install -------------------------------------------------
# CMAKE_SKIP_INSTALL_ALL_DEPENDENCY: cpack (section 4) then packages what is built instead of building
# every target (unit tests, benchmarks) first.
cmake -S "$FL_ROOT" -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX="$PREFIX" \
	-DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON >"$T/cmake.log" 2>&1 &&
	cmake --build "$B" --target fleetlens-hub fleetlens-spoke -j2 >>"$T/cmake.log" 2>&1
rc=$?
check_eq "configure with CMAKE_INSTALL_PREFIX=<tmp>/prefix and build fleetlens-hub, fleetlens-spoke" 0 "$rc"
[ "$rc" -eq 0 ] || grep -E 'error|Error' "$T/cmake.log" | head -20
cmake --install "$B" >"$T/install.log" 2>&1
check_eq "cmake --install exits 0" "0" "$?"
got=$(cd "$PREFIX" && find . \( -type f -o -type l \) | sed 's#^\./##' | LC_ALL=C sort)
check_eq "installed files are exactly the README's list ($(expected_files all | wc -l) files)" \
	"$(expected_files all)" "$got"
check_eq "no test or bench tool installed (fl-*)" "" "$(ls "$PREFIX/bin" | grep '^fl-')"
check_eq "the $n_sql migrations are installed byte for byte" "" \
	"$(for f in sql/hub/*.sql; do cmp -s "$f" "$PREFIX/share/fleetlens/sql/hub/${f##*/}" || echo "$f"; done)"

# --- 2. units and the example config ---------------------------------------------------------------
units=$PREFIX/lib/systemd/system
check_eq "installed units name the prefix's binaries (ExecStart, ExecStartPre)" \
	"$PREFIX/bin/fleetlens-hub $PREFIX/bin/fleetlens-hub $PREFIX/bin/fleetlens-spoke $PREFIX/bin/fleetlens-spoke" \
	"$(grep -h '^ExecStart' "$units/fleetlens-hub.service" "$units/fleetlens-spoke@.service" \
		"$units/fleetlens-spoke-node@.service" | awk -F'[= ]' '{print $2}' | tr '\n' ' ' | sed 's/ $//')"
check_contains "fleetlens-hub.service: systemctl reload sends SIGHUP" 'ExecReload=/bin/kill -HUP $MAINPID' \
	"$(cat "$units/fleetlens-hub.service")"
check_eq "installed units differ from deploy/systemd/ only in the bindir" "" \
	"$(for u in fleetlens-hub.service fleetlens-spoke@.service fleetlens-spoke-node@.service; do
		sed "s#$PREFIX/bin/#/usr/local/bin/#g" "$units/$u" | cmp -s - "deploy/systemd/$u" || echo "$u"
	done)"
if command -v systemd-analyze >/dev/null 2>&1; then
	mkdir -p "$T/units"
	cp "$units/fleetlens-hub.service" "$T/units/"
	cp "$units/fleetlens-spoke@.service" "$T/units/fleetlens-spoke@alpha.service"
	cp "$units/fleetlens-spoke-node@.service" "$T/units/fleetlens-spoke-node@alpha.service"
	for u in fleetlens-hub.service fleetlens-spoke@alpha.service fleetlens-spoke-node@alpha.service; do
		out=$(systemd-analyze verify "$T/units/$u" 2>&1)
		check_eq "systemd-analyze verify installed $u: no error or warning" "0:" "$?:$out"
	done
else
	skip "systemd-analyze verify of the installed units" "no systemd-analyze"
fi
# The hub's example, copied to a folder of its own with the files it names made as deploy/README.md says.
ex=$T/etc-example
mkdir -p "$ex"
cp "$PREFIX/share/doc/fleetlens-hub/examples/clusters.yaml" "$ex/"
fl_make_key "$ex/keys/alpha.key"
mkdir -p "$ex/tokens" "$ex/tls"
(umask 077 && head -c 32 /dev/urandom | base64 >"$ex/tokens/ops.token")
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=fleetlens-ingest.example.com" \
	-keyout "$ex/tls/hub.key" -out "$ex/tls/hub.crt" >/dev/null 2>&1
out=$(FLEETLENS_DATABASE_URL="postgresql:///unused" "$PREFIX/bin/fleetlens-hub" --config "$ex/clusters.yaml" --check 2>&1)
check_eq "the installed example clusters.yaml passes fleetlens-hub --check" "0 $ex/clusters.yaml: ok (1 clusters)" \
	"$? $out"

# --- 3. run the installed hub with a config elsewhere -----------------------------------------------
fl_pg_start "$T/pg"
INGEST_PORT=$(fl_free_port)
API_PORT=$(fl_free_port)
API="http://127.0.0.1:$API_PORT"
etc=$T/etc/fleetlens
fl_make_key "$etc/keys/alpha.key"
cat >"$etc/clusters.yaml" <<YAML
hub:
  ingest_url: tcp://127.0.0.1:$INGEST_PORT
  api_listen: 127.0.0.1:$API_PORT
clusters:
  - name: alpha
    key_file: keys/alpha.key
YAML
cat >"$etc/spoke.yaml" <<YAML
cluster: alpha
hub_url: tcp://127.0.0.1:$INGEST_PORT
key_file: keys/alpha.key
sources:
  sim: {nodes: 12, gpus_per_node: 8, seed: 7}
YAML
(cd / && FLEETLENS_DATABASE_URL="$FL_DATABASE_URL" exec "$PREFIX/bin/fleetlens-hub" --config "$etc/clusters.yaml") \
	>"$T/hub.log" 2>&1 &
HUB_PID=$!
fl_wait_http "$API/healthz" 60
check_eq "the installed hub, config in another folder without migrations_dir/web_dir: /healthz 200" 200 \
	"$(curl -s -o /dev/null -w '%{http_code}' "$API/healthz")"
check_num "schema_migrations has one row per sql/hub file" "$n_sql" \
	"$(fl_sql 'SELECT count(*) FROM schema_migrations')"
if [ "$have_console" = 1 ]; then
	curl -s -o "$T/index.html" "$API/"
	check_eq "GET / serves the installed console's index.html" "" "$(cmp "$T/index.html" web/dist/index.html 2>&1)"
else
	skip "GET / serves the installed console's index.html" "web/dist not built (cd web && npm ci && npm run build)"
fi
timeout 60 "$PREFIX/bin/fleetlens-spoke" --config "$etc/spoke.yaml" --once >"$T/spoke.log" 2>&1
check_eq "the installed spoke sends one frame (--once) and gets its ack" 0 $?
check_num "alpha's 13 nodes (12 GPU, 1 CPU-only) are in the database" 13 \
	"$(fl_sql "SELECT count(*) FROM node WHERE cluster_name = 'alpha'")"
kill "$HUB_PID" && wait "$HUB_PID"
check_eq "the hub stops with exit 0 on SIGTERM" 0 $?
HUB_PID=
sed -i "s#^hub:#hub:\n  migrations_dir: $T/nowhere/sql#" "$etc/clusters.yaml"
out=$(FLEETLENS_DATABASE_URL="$FL_DATABASE_URL" timeout 60 "$PREFIX/bin/fleetlens-hub" --config "$etc/clusters.yaml" 2>&1)
rc=$?
check_eq "a missing migrations folder: the hub exits non-zero" 1 "$([ "$rc" -ne 0 ] && echo 1 || echo 0)"
check_contains "... naming the folder" "$T/nowhere/sql: cannot read migrations folder" "$out"

# --- 4. cpack -G DEB --------------------------------------------------------------------------------
out=$(cd "$B" && cpack -G DEB -B "$T/pkg-refused" 2>&1)
check_eq "cpack refuses a prefix other than /usr" "1 1" \
	"$([ $? -ne 0 ] && echo 1 || echo 0) $(grep -c 'DCMAKE_INSTALL_PREFIX=/usr' <<<"$out")"
if [ "$have_console" = 0 ]; then
	skip "cpack -G DEB and the packages' contents" "web/dist not built: cpack refuses to package without the console"
	echo "$FL_SKIP skipped"
	fl_done
	exit
fi
cmake -S "$FL_ROOT" -B "$B" -DCMAKE_INSTALL_PREFIX=/usr >>"$T/cmake.log" 2>&1 &&
	cmake --build "$B" --target fleetlens-hub fleetlens-spoke -j2 >>"$T/cmake.log" 2>&1
check_eq "reconfigure with CMAKE_INSTALL_PREFIX=/usr and rebuild" 0 $?
(cd "$B" && cpack -G DEB -B "$T/pkg") >"$T/cpack.log" 2>&1
check_eq "cpack -G DEB exits 0" 0 $?
check_eq "two packages: fleetlens-hub and fleetlens-spoke" "fleetlens-hub_0.1.0_amd64.deb fleetlens-spoke_0.1.0_amd64.deb" \
	"$(cd "$T/pkg" && ls ./*.deb | sed 's#^\./##' | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')"
for comp in hub spoke; do
	deb=$T/pkg/fleetlens-${comp}_0.1.0_amd64.deb
	[ -f "$deb" ] || continue
	check_eq "dpkg-deb --contents fleetlens-$comp lists exactly the README's files under /usr" \
		"$(expected_files "$comp" | sed 's#^#/usr/#')" \
		"$(dpkg-deb --contents "$deb" | awk '$1 !~ /^d/ {print $6}' | sed 's#^\./#/#' | LC_ALL=C sort)"
	check_eq "fleetlens-$comp: Package, Version, Architecture" "fleetlens-$comp 0.1.0 amd64" \
		"$(dpkg-deb -f "$deb" Package Version Architecture | awk '{print $2}' | tr '\n' ' ' | sed 's/ $//')"
	check_contains "fleetlens-$comp: a Maintainer" "FleetLens maintainers" "$(dpkg-deb -f "$deb" Maintainer)"
	check_contains "fleetlens-$comp: a postinst (the fleetlens user)" "adduser --system" \
		"$(dpkg-deb --ctrl-tarfile "$deb" | tar -xOf - ./postinst)"
	# Depends: every Debian package of a library the binary links (ELF NEEDED, through ldd and dpkg -S), and adduser.
	depends=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | awk '{print $1}' | LC_ALL=C sort -u | tr '\n' ' ')
	dpkg-deb -x "$deb" "$T/x-$comp"
	bin=$T/x-$comp/usr/bin/fleetlens-$comp
	want=$(for lib in $(objdump -p "$bin" | awk '/NEEDED/ {print $2}'); do
		path=$(ldd "$bin" | awk -v l="$lib" '$1 == l {print $3}')
		{ dpkg -S "$path" 2>/dev/null || dpkg -S "$(realpath "$path")" 2>/dev/null || echo "?$lib"; } | cut -d: -f1
	done | LC_ALL=C sort -u | tr '\n' ' ')
	missing=$(for p in $want adduser; do [[ " $depends" == *" $p "* ]] || echo "$p"; done)
	check_eq "fleetlens-$comp: Depends names the packages of its linked libraries ($want) and adduser" "" "$missing"
done
check_contains "fleetlens-hub: Depends libpq5 and libcivetweb1 (the hub's database and HTTP libraries)" "libcivetweb1" \
	"$(dpkg-deb -f "$T/pkg/fleetlens-hub_0.1.0_amd64.deb" Depends | grep libpq5)"
check_eq "the packaged hub looks for its migrations and console where its package puts them" \
	"/usr/share/fleetlens/sql/hub /usr/share/fleetlens/web" \
	"$(strings "$T/x-hub/usr/bin/fleetlens-hub" | grep -x '/usr/share/fleetlens/\(sql/hub\|web\)' | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')"

echo "$FL_SKIP skipped"
fl_done
