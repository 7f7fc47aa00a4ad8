#!/usr/bin/env bash
# The console in a real browser against the real hub: a private PostgreSQL (initdb in a temp dir), the
# real hub serving the built console from web/dist, and Debian's chromium driven headless by
# playwright-core (console_test.mjs), which checks that the pages show what the API answers for the same
# requests. Five clusters, their data from one of two fixtures (FL_FIXTURE):
#   psql    (default) fixture.sql's rows written straight into the hub's tables, then a hub restart loads
#           them: online, online, stale, offline and never-seen clusters, one allocated but idle; node
#           agents (ok, lost, on a node the cluster role does not report) with RDMA devices and GPU jobs
#           (parameters, environment, samples, one idle) and GPU health (one unhealthy);
#           a node's and a workload's utilization history with a 25-minute hole (the charts' gaps)
#   spokes  real fleetlens-spoke processes (sim source, one --once cycle per cluster) send signed frames
#           that go spoke → hub → database and view; the API's overviews are first compared with what
#           each simulator reports for that cycle (--once --dry-run), so the pages' numbers are the spokes'
# A second hub on the same database has hub.api_tokens; the token prompt is checked against it.
# Screenshots go to $FL_ARTIFACTS/browser (psql) or $FL_ARTIFACTS/browser-spokes (spokes), default
# FL_ARTIFACTS=test-artifacts. Prints ok / not ok lines and the tally; exits non-zero on any failure.
#
# Environment: FL_FIXTURE, FL_BIN (hub and spoke binary folder, default build/bin), FL_ARTIFACTS,
# FL_CHROMIUM (default /usr/bin/chromium), FL_WEB_DIST (default web/dist; built with fl_build_console
# when it is missing).
set -uo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
source "$FL_ROOT/tests/integration/assert.sh"
FIXTURE=${FL_FIXTURE:-psql}
BIN=${FL_BIN:-$FL_ROOT/build/bin}
DIST=${FL_WEB_DIST:-$FL_ROOT/web/dist}
CHROMIUM=${FL_CHROMIUM:-/usr/bin/chromium}
case $FIXTURE in
psql) ART=${FL_ARTIFACTS:-$FL_ROOT/test-artifacts}/browser ;;
spokes) ART=${FL_ARTIFACTS:-$FL_ROOT/test-artifacts}/browser-spokes ;;
*) fl_die "FL_FIXTURE must be psql or spokes, not '$FIXTURE'" ;;
esac

need() { # need WHAT TEST...: a missing prerequisite is one failure and the end of the test
	if ! "${@:2}"; then
		check_eq "$1" present missing
		fl_done
		exit 1
	fi
}
need "hub binary $BIN/fleetlens-hub" test -x "$BIN/fleetlens-hub"
[ "$FIXTURE" = spokes ] && need "spoke binary $BIN/fleetlens-spoke" test -x "$BIN/fleetlens-spoke"
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

# write_config FILE API_PORT INGEST_PORT [extra lines under hub:]
CLUSTERS="alpha:{region: us-east, tier: prod} beta:{region: us-west, tier: prod} gamma:{region: eu-central, tier: staging} delta:{region: us-east, tier: dev} epsilon:{region: ap-south}"
for c in alpha beta gamma delta epsilon; do fl_make_key "$T/keys/$c.key"; done
write_config() {
	local file=$1 port=$2 ingest=$3 extra=${4:-} c name labels
	{
		printf 'hub:\n  ingest_url: tcp://127.0.0.1:%s\n  api_listen: 127.0.0.1:%s\n' "$ingest" "$port"
		# node_lost_after 1h: fixture.sql's ok node agents stay ok however long the test runs
		printf '  database_url: "%s"\n  stale_after: 1h\n  offline_after: 2h\n  node_lost_after: 1h\n' "$FL_DATABASE_URL"
		printf '  migrations_dir: %s\n  web_dir: %s\n' "$FL_ROOT/sql/hub" "$DIST"
		[ -n "$extra" ] && printf '%s\n' "$extra"
		printf 'clusters:\n'
		while read -r c; do
			name=${c%%:*} labels=${c#*:}
			printf '  - name: %s\n    labels: %s\n    key_file: keys/%s.key\n' "$name" "$labels" "$name"
		done < <(sed 's/} /}\n/g' <<<"$CLUSTERS")
	} >"$file"
}
API_PORT=$(fl_free_port)
API="http://127.0.0.1:$API_PORT"
INGEST_PORT=$(fl_free_port)
write_config "$T/clusters.yaml" "$API_PORT" "$INGEST_PORT"
out=$("$BIN/fleetlens-hub" --config "$T/clusters.yaml" --check 2>&1)
rc=$?
check_eq "hub --check accepts the test config" 0 "$rc"
[ "$rc" -eq 0 ] || printf '%s\n' "$out"

start_hub() { # start_hub CONFIG URL LOG
	FLEETLENS_DATABASE_URL="$FL_DATABASE_URL" "$BIN/fleetlens-hub" --config "$1" >>"$3" 2>&1 &
	HUB_PIDS+=($!)
	fl_wait_http "$2/healthz" 30
}
stop_hubs() {
	for p in "${HUB_PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	HUB_PIDS=()
}

# First start: the hub applies its migrations and registers the clusters. Then the data goes in.
start_hub "$T/clusters.yaml" "$API" "$T/hub.log" || { cat "$T/hub.log"; need "hub answers /healthz" false; }
if [ "$FIXTURE" = psql ]; then
	# Rows written behind the hub's back: a restart makes it load them (and each cluster's frame time).
	stop_hubs
	sql -f "$FL_ROOT/tests/browser/fixture.sql" >"$T/fixture.log" 2>&1
	check_eq "fixture rows loaded with psql" 0 $?
	check_eq "fixture: 50 nodes in four clusters" "50" "$(sql -c 'SELECT count(*) FROM node')"
	start_hub "$T/clusters.yaml" "$API" "$T/hub.log" || { cat "$T/hub.log"; need "hub answers /healthz after the restart" false; }
	check_eq "statuses from the fixture: online online stale offline never_seen" "alpha:online beta:online delta:offline epsilon:never_seen gamma:stale" \
		"$(curl -s "$API/v1/clusters" | jq -r '[.data[] | "\(.name):\(.status)"] | sort | join(" ")')"
	NODE_FILTER=node-01 EXPECT_IDLE_ALLOC=1 HISTORY_GAPS=1 SHOTS=10
	check_eq "fixture: samples (50 nodes newest, 64 with a hole) and workload samples with a hole" "114 47" \
		"$(sql -c "SELECT (SELECT count(*) FROM node_utilization_history) || ' ' || (SELECT count(*) FROM workload_utilization_history)")"
	# fixture.sql's node agents in beta: ok (RDMA, changes, two pages of jobs), lost, only an agent, none
	AGENT_NODES="beta-node-001 beta-node-002 beta-edge-001 beta-node-003" EXPECT_AGENTS=1
	check_eq "fixture: node agents ok ok lost, 17 GPU jobs" "ok ok lost 17" \
		"$(sql -c "SELECT string_agg(status, ' ' ORDER BY status DESC) || ' ' || (SELECT count(*) FROM gpu_job) FROM node_agent")"
else
	# One sim spoke per cluster but epsilon (never seen): CLUSTER:GPU_NODES:GPUS_PER_NODE:SEED. beta has
	# 30 GPU nodes and 3 CPU-only ones, so its node table has four pages of 10.
	for s in alpha:12:8:1 beta:30:8:2 gamma:5:4:3 delta:3:8:4; do
		IFS=: read -r c n g seed <<<"$s"
		cat >"$T/spoke-$c.yaml" <<YAML
cluster: $c
hub_url: tcp://127.0.0.1:$INGEST_PORT
key_file: keys/$c.key
ack_timeout: 10s
sources:
  sim: {nodes: $n, gpus_per_node: $g, seed: $seed}
YAML
		"$BIN/fleetlens-spoke" --config "$T/spoke-$c.yaml" --once --dry-run >"$T/expected-$c.json" 2>>"$T/spokes.log"
		"$BIN/fleetlens-spoke" --config "$T/spoke-$c.yaml" --once >>"$T/spokes.log" 2>&1
		check_eq "spoke $c: its frame is acknowledged (exit 0)" 0 $?
		ov=$(curl -s "$API/v1/clusters" | jq -c --arg c "$c" '.data[] | select(.name == $c) | .overview')
		for f in totalNodes healthyNodes faultyNodes fullyIdleNodes partiallyIdleNodes busyNodes gpusAllocatable gpusAllocated allocationRate utilization; do
			check_num "spoke $c: the hub's overview $f = the simulator's" "$(jq ".overview.$f" "$T/expected-$c.json")" "$(jq ".$f" <<<"$ov")"
		done
		check_num "spoke $c: the hub's nodes = the simulator's" "$(jq '.nodes | length' "$T/expected-$c.json")" \
			"$(curl -s "$API/v1/nodes?cluster=$c&page_size=1" | jq '.data.total')"
	done
	check_eq "no row was written with psql: every node came from a spoke frame" "$(cat "$T"/expected-*.json | jq -s 'map(.nodes | length) | add')" \
		"$(sql -c 'SELECT count(*) FROM node')"
	check_eq "statuses: four spokes online, epsilon never seen" "alpha:online beta:online delta:online epsilon:never_seen gamma:online" \
		"$(curl -s "$API/v1/clusters" | jq -r '[.data[] | "\(.name):\(.status)"] | sort | join(" ")')"
	NODE_FILTER=gpu-0001 EXPECT_IDLE_ALLOC=0 HISTORY_GAPS=0 SHOTS=9
	AGENT_NODES="" EXPECT_AGENTS=0 # the spokes here run in the cluster role only: the first beta node, no agent
fi

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

# A second hub on the same database (started after the data is in, so its view loads it) has
# hub.api_tokens: the console's token prompt is checked against it. The token sees tier=prod only.
fl_make_key "$T/tokens/console.token"
TOKEN_PORT=$(fl_free_port)
TOKEN_API="http://127.0.0.1:$TOKEN_PORT" TOKEN=$(cat "$T/tokens/console.token")
write_config "$T/tokens.yaml" "$TOKEN_PORT" "$(fl_free_port)" "  api_tokens:
    - name: console-test
      token_file: tokens/console.token
      cluster_labels: {tier: prod}"
start_hub "$T/tokens.yaml" "$TOKEN_API" "$T/hub-tokens.log" || { cat "$T/hub-tokens.log"; need "hub with api_tokens answers /healthz" false; }
check_eq "hub with api_tokens answers 401 without a token" 401 "$(curl -s -o /dev/null -w '%{http_code}' "$TOKEN_API/v1/clusters")"
check_eq "... and the token's clusters with it" "alpha beta" \
	"$(curl -s -H "Authorization: Bearer $TOKEN" "$TOKEN_API/v1/clusters" | jq -r '[.data[].name] | join(" ")')"

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
	FL_NODE_FILTER="$NODE_FILTER" FL_EXPECT_IDLE_ALLOC="$EXPECT_IDLE_ALLOC" FL_AGENT_NODES="$AGENT_NODES" FL_EXPECT_AGENTS="$EXPECT_AGENTS" FL_HISTORY_GAPS="$HISTORY_GAPS" \
	FL_WEB_DIR="$FL_ROOT/web" node "$FL_ROOT/tests/browser/console_test.mjs" 2>"$T/browser.err")
check_eq "browser script ran to its end" yes "$finished"
if [ -s "$T/browser.err" ]; then
	echo "--- browser script stderr"
	tail -20 "$T/browser.err"
fi
# fleet, fleet-filtered, cluster, node, node-agent, jobs, history-mocked, token-prompt; and workload where the
# clusters have workloads (real spokes), or history-gap and job (psql: fixture.sql's history with a hole and
# its jobs' parameters and samples)
check_num "screenshots saved in $ART" "$SHOTS" "$(ls "$ART"/*.png 2>/dev/null | wc -l)"
echo "screenshots: $ART"
[ "$FL_FAIL" -eq 0 ] || { echo "--- hub log"; tail -20 "$T/hub.log"; }
fl_done
