#!/usr/bin/env bash
# The console's GPU usage page (#/usage, web/src/usage.js) in Debian's chromium against the real hub, whose
# hourly rollups are made from samples written with SQL (two clusters, a workload idle for 90 minutes, one
# busy; the rollup forced by clearing rollup_hour and restarting the hub). The hub has hub.api_tokens, so the
# page's requests and its CSV download must carry the token. usage_test.mjs checks that the page's figures
# equal /v1/usage's for the same request in every grouping and range, and that the downloaded CSV is the
# API's CSV. Screenshot: $FL_ARTIFACTS/browser-usage/usage.png (default FL_ARTIFACTS=test-artifacts).
#
# Environment: FL_BIN (default build/bin), FL_ARTIFACTS, FL_CHROMIUM (default /usr/bin/chromium), FL_WEB_DIST
# (default web/dist; built with fl_build_console when it is missing).
set -uo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
source "$FL_ROOT/tests/integration/assert.sh"
BIN=${FL_BIN:-$FL_ROOT/build/bin}
DIST=${FL_WEB_DIST:-$FL_ROOT/web/dist}
CHROMIUM=${FL_CHROMIUM:-/usr/bin/chromium}
ART=${FL_ARTIFACTS:-$FL_ROOT/test-artifacts}/browser-usage

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

T=$(mktemp -d /tmp/fl_browser_usage.XXXXXX)
chmod 755 "$T"
cleanup() {
	[ -n "${HUB_PID:-}" ] && kill "$HUB_PID" 2>/dev/null && wait "$HUB_PID" 2>/dev/null
	fl_pg_stop
	rm -rf "$T"
}
trap cleanup EXIT

fl_pg_start "$T/pg"
API_PORT=$(fl_free_port)
API="http://127.0.0.1:$API_PORT"
for c in alpha beta; do fl_make_key "$T/keys/$c.key"; done
fl_make_key "$T/tokens/ops"
TOKEN=$(cat "$T/tokens/ops")
cat >"$T/clusters.yaml" <<YAML
hub:
  ingest_url: tcp://127.0.0.1:$(fl_free_port)
  api_listen: 127.0.0.1:$API_PORT
  database_url: "$FL_DATABASE_URL"
  history_retention: 3d
  node_lost_after: 1s
  migrations_dir: $FL_ROOT/sql/hub
  web_dir: $DIST
  api_tokens:
    - name: ops
      token_file: tokens/ops
clusters:
  - name: alpha
    key_file: keys/alpha.key
  - name: beta
    key_file: keys/beta.key
YAML
start_hub() {
	"$BIN/fleetlens-hub" --config "$T/clusters.yaml" >>"$T/hub.log" 2>&1 &
	HUB_PID=$!
	fl_wait_http "$API/healthz" 30 || { cat "$T/hub.log"; need "hub answers /healthz" false; }
}
stop_hub() { kill "$HUB_PID" && wait "$HUB_PID" 2>/dev/null; HUB_PID=""; }
start_hub # migrations
stop_hub

NOW=$(date +%s)
H1=$((NOW / 3600 * 3600 - 3 * 3600))
H2=$((H1 + 3600))
series() { # series CLUSTER NODE FROM STEP COUNT UTIL ALLOC GPUS
	fl_sql "INSERT INTO node_utilization_history (cluster_name, node_name, sampled_at, gpu_utilization, gpu_count, gpu_allocation)
		SELECT '$1', '$2', to_timestamp($3 + $4 * k), $6, $8, $7 FROM generate_series(0, $5 - 1) k"
}
series alpha alpha-n1 "$H1" 30 60 50 4 8
series alpha alpha-n1 "$((H1 + 1800))" 30 180 2 4 8
series alpha alpha-n2 "$H1" 60 60 3 2 4
series beta beta-b1 "$((H1 + 1800))" 30 60 90 1 2
fl_sql "INSERT INTO gpu_workload (cluster_name, uid, kind, namespace, name, status, gpu_request, pods, created_at) VALUES
	('alpha', 'wl-idle', 'Deployment', 'team-a', 'idle-serve', 'Running', 2, 1, now() - interval '1 day'),
	('alpha', 'wl-busy', 'PyTorchJob', 'team-a', 'train', 'Running', 4, 2, now() - interval '1 day'),
	('beta', 'wl-etl', 'Job', 'team-b', 'etl', 'Running', 1, 1, now() - interval '1 day')"
wseries() { # wseries CLUSTER UID FROM STEP COUNT UTIL REQUEST
	fl_sql "INSERT INTO workload_utilization_history (cluster_name, workload_uid, sampled_at, gpu_utilization, gpu_request, pods)
		SELECT '$1', '$2', to_timestamp($3 + $4 * k), $6, $7, 1 FROM generate_series(0, $5 - 1) k"
}
wseries alpha wl-idle "$((H1 + 1800))" 30 180 1 2
wseries alpha wl-busy "$H1" 30 120 90 4
wseries beta wl-etl "$H1" 60 60 40 1
fl_sql "DELETE FROM rollup_hour"
start_hub
fl_wait_until 120 '[ "$(fl_sql "SELECT count(*) FROM rollup_hour WHERE stat_hour IN (to_timestamp($H1), to_timestamp($H2))")" == 2 ]'
check_eq "the fixture's hours are rolled up" "wl-idle:3" \
	"$(curl -s -H "Authorization: Bearer $TOKEN" "$API/v1/usage?group_by=workload" | jq -r '.data.data[0] | "\(.workload_uid):\(.gpu_hours_idle)"')"

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
done < <(FL_API="$API" FL_TOKEN="$TOKEN" FL_ART="$ART" FL_CHROMIUM="$CHROMIUM" FL_DOWNLOADS="$T/downloads" \
	FL_WEB_DIR="$FL_ROOT/web" node "$FL_ROOT/tests/browser/usage_test.mjs" 2>"$T/browser.err")
check_eq "browser script ran to its end" yes "$finished"
if [ -s "$T/browser.err" ]; then
	echo "--- browser script stderr"
	tail -20 "$T/browser.err"
fi
check_num "screenshots saved in $ART" 1 "$(ls "$ART"/*.png 2>/dev/null | wc -l)"
[ "$FL_FAIL" -eq 0 ] || { echo "--- hub log"; tail -20 "$T/hub.log"; }
fl_done
