#!/usr/bin/env bash
# The hub's Lens face (/lens/v1) in a real browser, called the way the Lens web console calls it: a private
# PostgreSQL, the real hub with hub.web_dir pointed at a temp folder holding lens_page.html (a page
# written for this test, not a copy of the Lens console: an axios-like client that sends camelCase
# parameter keys as snake_case and unwraps {meta, data}), and real fleetlens-spoke processes (sim source,
# a few --once cycles each) for two clusters, whose samples are then also copied into the previous hour
# so that the hub's hourly rollup has a completed hour to show. Debian's chromium, driven headless by
# playwright-core (lens_test.mjs), opens the page and checks that what it shows equals what the hub
# answers to the same requests. Screenshots go to $FL_ARTIFACTS/browser-lens (default
# FL_ARTIFACTS=test-artifacts). Prints ok / not ok lines and the tally; exits non-zero on any failure.
#
# Environment: FL_BIN (hub and spoke binary folder, default build/bin), FL_ARTIFACTS, FL_CHROMIUM
# (default /usr/bin/chromium). playwright-core comes from web/node_modules (npm ci in web/, which
# fl_build_console runs when it is missing).
set -uo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
source "$FL_ROOT/tests/integration/assert.sh"
BIN=${FL_BIN:-$FL_ROOT/build/bin}
CHROMIUM=${FL_CHROMIUM:-/usr/bin/chromium}
ART=${FL_ARTIFACTS:-$FL_ROOT/test-artifacts}/browser-lens

need() { # need WHAT TEST...: a missing prerequisite is one failure and the end of the test
	if ! "${@:2}"; then
		check_eq "$1" present missing
		fl_done
		exit 1
	fi
}
need "hub binary $BIN/fleetlens-hub" test -x "$BIN/fleetlens-hub"
need "spoke binary $BIN/fleetlens-spoke" test -x "$BIN/fleetlens-spoke"
need "browser $CHROMIUM (Debian package chromium)" test -x "$CHROMIUM"
[ -d "$FL_ROOT/web/node_modules/playwright-core" ] || (fl_build_console)
need "playwright-core in web/node_modules (npm ci in web/)" test -d "$FL_ROOT/web/node_modules/playwright-core"

T=$(mktemp -d /tmp/fl_lens_browser.XXXXXX)
chmod 755 "$T"
HUB_PID=""
start_hub() {
	FLEETLENS_DATABASE_URL="$FL_DATABASE_URL" "$BIN/fleetlens-hub" --config "$T/clusters.yaml" >>"$T/hub.log" 2>&1 &
	HUB_PID=$!
	fl_wait_http "$API/healthz" 30 || { cat "$T/hub.log"; need "hub answers /healthz" false; }
}
stop_hub() {
	kill "$HUB_PID" 2>/dev/null && wait "$HUB_PID" 2>/dev/null
	HUB_PID=""
}
cleanup() {
	[ -n "$HUB_PID" ] && kill "$HUB_PID" 2>/dev/null && wait "$HUB_PID" 2>/dev/null
	fl_pg_stop
	rm -rf "$T"
}
trap cleanup EXIT

fl_pg_start "$T/pg"

# The hub serves web_dir's flat file names at /: here only the test page, so it is same-origin with /lens/v1.
mkdir -p "$T/web"
cp "$FL_ROOT/tests/browser/lens_page.html" "$T/web/"
# Two clusters of different sizes, each with a sim spoke: CLUSTER:GPU_NODES:GPUS_PER_NODE:SEED.
SPOKES="alpha:6:8:11 beta:13:4:12"
API_PORT=$(fl_free_port)
API="http://127.0.0.1:$API_PORT"
INGEST_PORT=$(fl_free_port)
{
	printf 'hub:\n  ingest_url: tcp://127.0.0.1:%s\n  api_listen: 127.0.0.1:%s\n' "$INGEST_PORT" "$API_PORT"
	printf '  database_url: "%s"\n  stale_after: 1h\n  offline_after: 2h\n' "$FL_DATABASE_URL"
	printf '  migrations_dir: %s\n  web_dir: %s\n' "$FL_ROOT/sql/hub" "$T/web"
	# beta is the default: the picker lists it last, and the console (like the page) takes the last one
	printf '  lens:\n    default_cluster: beta\n'
	printf 'clusters:\n'
	for s in $SPOKES; do
		c=${s%%:*}
		fl_make_key "$T/keys/$c.key"
		printf '  - name: %s\n    key_file: keys/%s.key\n' "$c" "$c"
	done
} >"$T/clusters.yaml"
out=$("$BIN/fleetlens-hub" --config "$T/clusters.yaml" --check 2>&1)
rc=$?
check_eq "hub --check accepts the test config (no api_tokens: loopback, no auth)" 0 "$rc"
[ "$rc" -eq 0 ] || printf '%s\n' "$out"
start_hub
FL_DIAG_LOGS="$T/hub.log $T/spokes.log $T/shift.log"

check_eq "hub serves the test page at /lens_page.html" "$(cat "$FL_ROOT/tests/browser/lens_page.html")" "$(curl -s "$API/lens_page.html")"

# Real spokes: three --once cycles per cluster, a second apart (the same stream: seq 1, 2, 3), so the hub
# holds nodes, workloads and a few history samples that went spoke → hub → database and view. The spokes
# then stop, so the page and the test's own requests read the same data.
EXPECT="" EXPECT_GPUS=""
for s in $SPOKES; do
	IFS=: read -r c n g seed <<<"$s"
	cat >"$T/spoke-$c.yaml" <<YAML
cluster: $c
hub_url: tcp://127.0.0.1:$INGEST_PORT
key_file: keys/$c.key
spool_dir: $T/spool-$c
ack_timeout: 10s
sources:
  sim: {nodes: $n, gpus_per_node: $g, seed: $seed}
YAML
	"$BIN/fleetlens-spoke" --config "$T/spoke-$c.yaml" --once --dry-run >"$T/expected-$c.json" 2>>"$T/spokes.log"
	for i in 1 2 3; do
		[ "$i" -gt 1 ] && sleep 1
		"$BIN/fleetlens-spoke" --config "$T/spoke-$c.yaml" --once >>"$T/spokes.log" 2>&1
		check_eq "spoke $c: frame $i is acknowledged (exit 0)" 0 $?
	done
	# The simulator's GPU nodes (capacity > 0): what /nodes must list.
	gpu_nodes=$(jq '[.nodes[] | select(.gpu_count > 0)] | length' "$T/expected-$c.json")
	EXPECT="$EXPECT $c:$gpu_nodes"
	EXPECT_GPUS="$EXPECT_GPUS $c:$(jq '.overview.gpusAllocatable' "$T/expected-$c.json")"
done

# Hourly statistics cover completed UTC hours only, and the spokes' samples are from this one. So their
# samples (cluster, node and workload history) are copied, same spacing, into the middle of the
# previous hour, and that hour's rollup_hour row is deleted (the hub rolled it up empty when it started).
# After a restart, the hub's own rollup takes that hour from those samples.
hour_settled() { [ "$(fl_sql "SELECT extract(epoch FROM now() - date_trunc('hour', now()))::int")" -ge 70 ]; } # hub_rollup waits 60 s
rolled_up() { [ "$(fl_sql "SELECT count(DISTINCT cluster_name) FROM cluster_hourly_stats")" -ge 2 ]; }
fl_wait_until 75 hour_settled
stop_hub
psql -h "$FL_PG_DIR" -U postgres -d fleetlens -v ON_ERROR_STOP=1 -q >"$T/shift.log" 2>&1 <<'SQL'
SELECT date_trunc('hour', now()) - interval '30 minutes' - min(sampled_at) AS shift FROM cluster_sample_history \gset
CREATE TEMP TABLE c AS SELECT * FROM cluster_sample_history;
CREATE TEMP TABLE n AS SELECT * FROM node_utilization_history;
CREATE TEMP TABLE w AS SELECT * FROM workload_utilization_history;
UPDATE c SET sampled_at = sampled_at + :'shift'::interval;
UPDATE n SET sampled_at = sampled_at + :'shift'::interval;
UPDATE w SET sampled_at = sampled_at + :'shift'::interval;
INSERT INTO cluster_sample_history SELECT * FROM c;
INSERT INTO node_utilization_history SELECT * FROM n;
INSERT INTO workload_utilization_history SELECT * FROM w;
DELETE FROM rollup_hour WHERE stat_hour = date_trunc('hour', now()) - interval '1 hour';
SQL
check_eq "the spokes' samples are copied into the previous hour" 0 $?
start_hub
fl_wait_until 60 rolled_up
check_eq "after the restart the hub rolls up the previous hour for both clusters" 2 \
	"$(fl_sql "SELECT count(DISTINCT cluster_name) FROM cluster_hourly_stats WHERE stat_hour = date_trunc('hour', now()) - interval '1 hour'")"
check_eq "the Lens face lists both clusters by name, the default (beta) last, without ?cluster=" '["alpha","beta"]' \
	"$(curl -s "$API/lens/v1/gpu-aggregation/clusters" | jq -c '.data')"

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
done < <(FL_API="$API" FL_ART="$ART" FL_CHROMIUM="$CHROMIUM" FL_EXPECT_NODES="${EXPECT# }" FL_EXPECT_GPUS="${EXPECT_GPUS# }" \
	FL_WEB_DIR="$FL_ROOT/web" node "$FL_ROOT/tests/browser/lens_test.mjs" 2>"$T/browser.err")
check_eq "browser script ran to its end" yes "$finished"
if [ -s "$T/browser.err" ]; then
	echo "--- browser script stderr"
	tail -20 "$T/browser.err"
fi
# the page for each cluster, the node table sorted and paged, a cluster the hub does not know
check_num "screenshots saved in $ART" 4 "$(ls "$ART"/*.png 2>/dev/null | wc -l)"
echo "screenshots: $ART"
fl_done
