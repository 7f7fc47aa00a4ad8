#!/usr/bin/env bash
# The console in a real browser: a private PostgreSQL (initdb in a temp dir) holding five clusters'
# rows (fixture.sql, written with psql, so no spoke is needed), the real hub serving the built console
# from web/dist, and Debian's chromium driven headless by playwright-core (console_test.mjs). The pages
# must show the numbers the API answers; screenshots go to $FL_ARTIFACTS/browser (default
# test-artifacts/browser). Prints ok / not ok lines and the tally; exits non-zero on any failure.
#
# Environment: FL_BIN (hub binary folder, default build/bin), FL_ARTIFACTS, FL_CHROMIUM (default
# /usr/bin/chromium), FL_WEB_DIST (default web/dist; built with fl_build_console when it is missing).
set -uo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
source "$FL_ROOT/tests/integration/assert.sh"
BIN=${FL_BIN:-$FL_ROOT/build/bin}
DIST=${FL_WEB_DIST:-$FL_ROOT/web/dist}
ART=${FL_ARTIFACTS:-$FL_ROOT/test-artifacts}/browser
CHROMIUM=${FL_CHROMIUM:-/usr/bin/chromium}

need() { # need WHAT TEST...: a missing prerequisite is one failure and the end of the test
	if ! "${@:2}"; then
		check_eq "$1" present missing
		fl_done
		exit 1
	fi
}
need "hub binary $BIN/fleetlens-hub" test -x "$BIN/fleetlens-hub"
need "browser $CHROMIUM (Debian package chromium)" test -x "$CHROMIUM"
[ -f "$DIST/index.html" ] || (fl_build_console)
need "built console $DIST/index.html" test -f "$DIST/index.html"
need "playwright-core in web/node_modules (npm ci in web/)" test -d "$FL_ROOT/web/node_modules/playwright-core"

T=$(mktemp -d /tmp/fl_browser.XXXXXX)
chmod 755 "$T"
HUB_PIDS=()
cleanup() {
	for p in "${HUB_PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	fl_pg_stop
	rm -rf "$T"
}
trap cleanup EXIT

fl_pg_start "$T/pg"
sql() { psql -h "$FL_PG_DIR" -U postgres -d fleetlens -v ON_ERROR_STOP=1 -tAq "$@"; }

# write_config FILE API_PORT [extra lines under hub:]. Clusters get a key_file where the hub knows the
# key (issue 4); a hub without it is given the same file without the key lines.
CLUSTERS="alpha:{region: us-east, tier: prod} beta:{region: us-west, tier: prod} gamma:{region: eu-central, tier: staging} delta:{region: us-east, tier: dev} epsilon:{region: ap-south}"
for c in alpha beta gamma delta epsilon; do fl_make_key "$T/keys/$c.key"; done
KEYS=1
write_config() {
	local file=$1 port=$2 extra=${3:-} c name labels
	{
		printf 'hub:\n  ingest_url: tcp://127.0.0.1:%s\n  api_listen: 127.0.0.1:%s\n' "$(fl_free_port)" "$port"
		printf '  database_url: "%s"\n  stale_after: 1h\n  offline_after: 2h\n' "$FL_DATABASE_URL"
		printf '  migrations_dir: %s\n  web_dir: %s\n' "$FL_ROOT/sql/hub" "$DIST"
		[ -n "$extra" ] && printf '%s\n' "$extra"
		printf 'clusters:\n'
		while read -r c; do
			name=${c%%:*} labels=${c#*:}
			printf '  - name: %s\n    labels: %s\n' "$name" "$labels"
			[ "$KEYS" = 1 ] && printf '    key_file: keys/%s.key\n' "$name"
		done < <(sed 's/} /}\n/g' <<<"$CLUSTERS")
	} >"$file"
}
API_PORT=$(fl_free_port)
API="http://127.0.0.1:$API_PORT"
write_config "$T/clusters.yaml" "$API_PORT"
if ! "$BIN/fleetlens-hub" --config "$T/clusters.yaml" --check >"$T/check.log" 2>&1; then
	KEYS=0
	write_config "$T/clusters.yaml" "$API_PORT"
fi
out=$("$BIN/fleetlens-hub" --config "$T/clusters.yaml" --check 2>&1)
rc=$?
check_eq "hub --check accepts the test config" 0 "$rc"
[ "$rc" -eq 0 ] || printf '%s\n' "$out" "$(cat "$T/check.log")"

start_hub() { # start_hub CONFIG URL LOG
	FLEETLENS_DATABASE_URL="$FL_DATABASE_URL" "$BIN/fleetlens-hub" --config "$1" >>"$3" 2>&1 &
	HUB_PIDS+=($!)
	fl_wait_http "$2/healthz" 30
}
stop_hubs() {
	for p in "${HUB_PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	HUB_PIDS=()
}

# First start: the hub applies its migrations and registers the clusters; then the rows go in and a
# restart makes it load each cluster's last frame time.
start_hub "$T/clusters.yaml" "$API" "$T/hub.log" || { cat "$T/hub.log"; need "hub answers /healthz" false; }
stop_hubs
sql -f "$FL_ROOT/tests/browser/fixture.sql" >"$T/fixture.log" 2>&1
check_eq "fixture rows loaded with psql" 0 $?
check_eq "fixture: 50 nodes in four clusters" "50" "$(sql -c 'SELECT count(*) FROM node')"
start_hub "$T/clusters.yaml" "$API" "$T/hub.log" || { cat "$T/hub.log"; need "hub answers /healthz after the restart" false; }
check_eq "statuses from the fixture: online online stale offline never_seen" "alpha:online beta:online delta:offline epsilon:never_seen gamma:stale" \
	"$(curl -s "$API/v1/clusters" | jq -r '[.data[] | "\(.name):\(.status)"] | sort | join(" ")')"

# The hub serves every built file (flat names) with a type the browser accepts.
check_eq "hub serves the built index.html at /" "$(cat "$DIST/index.html")" "$(curl -s "$API/")"
for f in "$DIST"/*; do
	name=$(basename "$f")
	got=$(curl -s -o /dev/null -w '%{http_code} %{content_type}' "$API/$name")
	case $name in
	*.js) want="200 text/javascript; charset=utf-8" ;;
	*.css) want="200 text/css; charset=utf-8" ;;
	*.html) want="200 text/html; charset=utf-8" ;;
	*) want="200 ${got#* }" ;;
	esac
	check_eq "hub serves $name" "$want" "$got"
done

# A hub that knows hub.api_tokens gets a second instance (same database) that asks for a token.
TOKEN_API="" TOKEN=""
fl_make_key "$T/tokens/console.token"
TOKEN_PORT=$(fl_free_port)
write_config "$T/tokens.yaml" "$TOKEN_PORT" "  api_tokens:
    - name: console-test
      token_file: tokens/console.token"
if "$BIN/fleetlens-hub" --config "$T/tokens.yaml" --check >"$T/tokens-check.log" 2>&1; then
	if start_hub "$T/tokens.yaml" "http://127.0.0.1:$TOKEN_PORT" "$T/hub-tokens.log"; then
		TOKEN_API="http://127.0.0.1:$TOKEN_PORT" TOKEN=$(cat "$T/tokens/console.token")
		check_eq "hub with api_tokens answers 401 without a token" 401 \
			"$(curl -s -o /dev/null -w '%{http_code}' "$TOKEN_API/v1/clusters")"
	else
		check_eq "hub with api_tokens starts" up down
	fi
else
	echo "skip - token prompt against a hub with api_tokens: this hub does not know the key ($(grep -o "key '[a-z_]*'[^\"]*" "$T/tokens-check.log" | head -1))"
fi

mkdir -p "$ART"
rm -f "$ART"/*.png
finished=no
while IFS= read -r line; do
	case $line in
	"ok - "*) FL_PASS=$((FL_PASS + 1)) ;;
	"not ok - "*) FL_FAIL=$((FL_FAIL + 1)) ;;
	"# browser checks done") finished=yes ;;
	esac
	echo "$line"
done < <(FL_API="$API" FL_TOKEN_API="$TOKEN_API" FL_TOKEN="$TOKEN" FL_ART="$ART" FL_CHROMIUM="$CHROMIUM" \
	FL_WEB_DIR="$FL_ROOT/web" node "$FL_ROOT/tests/browser/console_test.mjs" 2>"$T/browser.err")
check_eq "browser script ran to its end" yes "$finished"
if [ -s "$T/browser.err" ]; then
	echo "--- browser script stderr"
	tail -20 "$T/browser.err"
fi
# fleet, fleet-filtered, cluster, node, cluster-charts, node-mocked, and a token prompt per token run
shots=7
[ -n "$TOKEN_API" ] && shots=8
check_num "screenshots saved in $ART" "$shots" "$(ls "$ART"/*.png 2>/dev/null | wc -l)"
echo "screenshots: $ART"
[ "$FL_FAIL" -eq 0 ] || { echo "--- hub log"; tail -20 "$T/hub.log"; }
fl_done
