# scripts/lib.sh — shared by scripts/demo, scripts/test and the integration tests. Source it; don't run it.
# Installs what is missing from Debian's packages, builds, and starts a private PostgreSQL.

FL_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FL_PG_BIN=${FL_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}

# The Debian packages FleetLens builds, tests and demos with. libFuzzer (tests/fuzz) needs clang and
# libclang-rt-14-dev: clang only recommends the latter, and recommends are not installed here.
# prometheus, python3: the Prometheus source's tests (a real server scraping python fixture exporters).
# python3-yaml: tests/deploy reads the Kubernetes manifests with it (structure, not just syntax).
FL_PACKAGES="build-essential cmake pkg-config libnng-dev libmsgpack-dev libpq-dev libcurl4-openssl-dev
libyaml-dev libcivetweb-dev libjansson-dev libssl-dev libcmocka-dev postgresql curl jq openssl clang libclang-rt-14-dev
prometheus python3 python3-yaml python3-jsonschema file dpkg-dev"

# Installed by scripts/test only: the browser the console's browser test drives.
FL_BROWSER_PACKAGES="chromium"

# Installed by scripts/bench only: the HTTP load generator it measures the API with.
FL_BENCH_PACKAGES="wrk"

fl_say() { printf '==> %s\n' "$*" >&2; }
fl_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Installs the packages that are not installed yet (needs root or sudo; does nothing if all are there).
fl_install_deps() {
	local missing=() p
	for p in $FL_PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && { FL_PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1); return 0; }
	fl_say "installing ${missing[*]}"
	local sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq || fl_die "apt-get update failed"
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
		|| fl_die "apt-get install ${missing[*]} failed"
	FL_PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
}

# fl_build DIR [cmake args...]: configures and builds into DIR (relative to the repo root).
fl_build() {
	local dir=$1
	shift
	cmake -S "$FL_ROOT" -B "$FL_ROOT/$dir" "$@" >"$FL_ROOT/$dir.cmake.log" 2>&1 \
		|| { cat "$FL_ROOT/$dir.cmake.log" >&2; fl_die "cmake configure failed ($dir)"; }
	cmake --build "$FL_ROOT/$dir" -j"$(nproc)" >"$FL_ROOT/$dir.build.log" 2>&1 \
		|| { grep -E 'error|Error' "$FL_ROOT/$dir.build.log" | head -40 >&2; fl_die "build failed ($dir), see $dir.build.log"; }
}

# fl_build_console: builds the console (web/) into web/dist/ with Vite, the files the hub serves.
# Installs Debian's nodejs and npm if `node` is missing; runs `npm ci` when web/node_modules is missing
# or web/package-lock.json changed since the last `npm ci` (a copy is kept in node_modules/.fl-lock).
# Logs: build-web-npm.log, build-web.log.
fl_build_console() {
	local web="$FL_ROOT/web" major
	if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
		FL_PACKAGES="nodejs npm" fl_install_deps
	fi
	major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null)
	[ "${major:-0}" -ge 18 ] || fl_die "the console needs Node.js 18 or later (found $(node --version 2>&1))"
	if [ ! -d "$web/node_modules" ] || ! cmp -s "$web/package-lock.json" "$web/node_modules/.fl-lock"; then
		fl_say "installing the console's npm packages (npm ci)"
		(cd "$web" && npm ci --no-audit --no-fund) >"$FL_ROOT/build-web-npm.log" 2>&1 \
			|| { tail -30 "$FL_ROOT/build-web-npm.log" >&2; fl_die "npm ci failed in web/ (see build-web-npm.log)"; }
		cp "$web/package-lock.json" "$web/node_modules/.fl-lock"
	fi
	(cd "$web" && npm run build) >"$FL_ROOT/build-web.log" 2>&1 \
		|| { tail -30 "$FL_ROOT/build-web.log" >&2; fl_die "console build failed (see build-web.log)"; }
}

# Runs a command as the PostgreSQL owner: PostgreSQL refuses to run as root.
fl_pg_as_owner() {
	if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# fl_pg_start DIR [SETTINGS]: initdb in DIR/data (if new) and start a server listening only on a unix
# socket in DIR, with SETTINGS as server options (default "-c fsync=off", as tests run; "" runs with
# PostgreSQL's defaults, durable commits). Sets FL_PG_DIR and FL_DATABASE_URL (database 'fleetlens',
# created if missing).
fl_pg_start() {
	FL_PG_DIR=$1
	mkdir -p "$FL_PG_DIR"
	[ "$(id -u)" -eq 0 ] && chown postgres "$FL_PG_DIR"
	chmod 700 "$FL_PG_DIR"
	if [ ! -f "$FL_PG_DIR/data/PG_VERSION" ]; then
		fl_pg_as_owner "$FL_PG_BIN/initdb" -D "$FL_PG_DIR/data" -A trust -U postgres >"$FL_PG_DIR/initdb.log" 2>&1 \
			|| { cat "$FL_PG_DIR/initdb.log" >&2; fl_die "initdb failed"; }
	fi
	# A server left running in DIR by an earlier run that was killed is reused, not fought over.
	fl_pg_as_owner "$FL_PG_BIN/pg_ctl" -D "$FL_PG_DIR/data" status >/dev/null 2>&1 ||
	fl_pg_as_owner "$FL_PG_BIN/pg_ctl" -D "$FL_PG_DIR/data" -l "$FL_PG_DIR/server.log" -w -t 60 \
		-o "-k $FL_PG_DIR -c listen_addresses='' ${2--c fsync=off}" start >/dev/null \
		|| { tail -20 "$FL_PG_DIR/server.log" >&2; fl_die "PostgreSQL did not start"; }
	FL_DATABASE_URL="host=$FL_PG_DIR user=postgres dbname=fleetlens"
	psql -h "$FL_PG_DIR" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='fleetlens'" | grep -q 1 \
		|| psql -h "$FL_PG_DIR" -U postgres -d postgres -qc "CREATE DATABASE fleetlens" >/dev/null
	export FL_PG_DIR FL_DATABASE_URL
}

# fl_pg_stop: stops the server fl_pg_start started (no-op if none).
fl_pg_stop() {
	[ -n "${FL_PG_DIR:-}" ] && [ -f "$FL_PG_DIR/data/postmaster.pid" ] &&
		fl_pg_as_owner "$FL_PG_BIN/pg_ctl" -D "$FL_PG_DIR/data" -m fast -w stop >/dev/null 2>&1
	return 0
}

# fl_wait_http URL SECONDS: waits until URL answers 200; returns 1 on time-out.
fl_wait_http() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		curl -fs -o /dev/null "$1" && return 0
		sleep 0.1
	done
	return 1
}

# fl_wait_until SECONDS CONDITION: evaluates the shell text CONDITION every 0.2 s until it holds (returns 0)
# or SECONDS have passed (returns 1).
fl_wait_until() {
	local i
	for ((i = 0; i < $1 * 5; i++)); do
		eval "$2" && return 0
		sleep 0.2
	done
	return 1
}

# fl_sql SQL: runs SQL in the fleetlens database of the server fl_pg_start started; prints the rows
# unaligned, without headers.
fl_sql() { psql -h "$FL_PG_DIR" -U postgres -d fleetlens -tAqc "$1"; }

# fl_make_key FILE: writes a new random cluster key (64 hex characters) to FILE, readable only by its
# owner, unless FILE exists already.
fl_make_key() {
	[ -s "$1" ] && return 0
	mkdir -p "$(dirname "$1")"
	(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$1")
}

# fl_free_port: prints a TCP port on 127.0.0.1 that nothing listens on right now and that this script
# ($$, the same in its $(...) subshells) was not handed before. Ports come from 10000-32767, below the
# kernel's ephemeral range (32768+ here), so an outgoing connection cannot take one before its server
# binds it — the cause of the "Address already in use" failures seen before.
fl_free_port() {
	local p given="${TMPDIR:-/tmp}/fl_ports.$$"
	while :; do
		p=$((10000 + (RANDOM * 32768 + RANDOM) % 22768))
		grep -qx "$p" "$given" 2>/dev/null && continue
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
		echo "$p" >>"$given"
		echo "$p"
		return
	done
}
