#!/usr/bin/env bash
# The spine end to end: a real PostgreSQL (initdb in a temp dir), the real hub and the real spoke
# (sim source) over real nng sockets. After one `--once` cycle the rows in PostgreSQL and the API's
# numbers must equal what the simulator itself reports for that cycle (`--once --dry-run`), and a frame
# from an unregistered cluster must leave no row and be counted.
set -uo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
source "$(dirname "$0")/assert.sh"
source "$(dirname "$0")/lib.sh"

fl_it_setup spine
fl_it_keys alpha beta ghost
fl_it_hub_config "$T/clusters.yaml" <<YAML
  stale_after: 90s
  offline_after: 10m
clusters:
  - name: alpha
    labels: {region: test-east}
    key_file: keys/alpha.key
  - name: beta
    key_file: keys/beta.key
YAML
fl_it_spoke_config "$T/alpha.yaml" alpha 12 8 7 "interval: 30s" "ack_timeout: 10s"
fl_it_spoke_config "$T/ghost.yaml" ghost 3 8 7 "interval: 30s" "ack_timeout: 10s"

# --- config checks -------------------------------------------------------------------------------
out=$("$BIN/fleetlens-hub" --config "$T/clusters.yaml" --check 2>&1)
check_eq "hub --check accepts the test config" 0 $?
printf 'hub:\n  ingest_url: tcp://127.0.0.1:1\n  api_listen: 127.0.0.1:2\n  stale_after: soon\nclusters: []\n' >"$T/bad.yaml"
out=$("$BIN/fleetlens-hub" --config "$T/bad.yaml" --check 2>&1)
rc=$?
check_eq "hub --check on a bad duration exits 2" 2 "$rc"
check_contains "hub config error names file:line:col and key" "$T/bad.yaml:4:16: key 'stale_after'" "$out"
printf 'cluster: alpha\nhub_url: tcp://127.0.0.1:1\nkey_file: keys/alpha.key\nintervall: 30s\nsources:\n  sim: {nodes: 2}\n' >"$T/badspoke.yaml"
out=$("$BIN/fleetlens-spoke" --config "$T/badspoke.yaml" --once --dry-run 2>&1)
rc=$?
check_eq "spoke with an unknown key exits 2" 2 "$rc"
check_contains "spoke config error names file:line:col and key" "$T/badspoke.yaml:4:1: key 'intervall'" "$out"

# --- start the hub -------------------------------------------------------------------------------
fl_it_start_hub
check_eq "migrations recorded once" 1 "$(fl_sql "SELECT count(*) FROM schema_migrations WHERE version LIKE '001%'")"
check_eq "registered clusters have rows" "alpha,beta" "$(fl_sql "SELECT string_agg(name, ',' ORDER BY name) FROM cluster")"
check_eq "alpha is never_seen before its first frame" never_seen \
	"$(curl -s "$API/v1/clusters" | jq -r '.data[] | select(.name=="alpha") | .status')"
check_eq "overview of a never-seen cluster is 503" 503 \
	"$(curl -s -o /dev/null -w '%{http_code}' "$API/v1/clusters/overview?cluster=alpha")"

# --- what the simulator reports for the cycle, then the same cycle for real -----------------------
"$BIN/fleetlens-spoke" --config "$T/alpha.yaml" --once --dry-run >"$T/expected.json" 2>"$T/dry.log"
check_eq "dry-run exits 0" 0 $?
check_eq "dry-run sent nothing (no row yet)" 0 "$(fl_sql "SELECT count(*) FROM node")"
check_num "simulator reports 12 GPU nodes (sim.nodes)" 12 "$(jq '.overview.totalNodes' "$T/expected.json")"

"$BIN/fleetlens-spoke" --config "$T/alpha.yaml" --once >"$T/once.log" 2>&1
check_eq "spoke --once is acknowledged (exit 0)" 0 $?

exp() { jq -c "$1" "$T/expected.json"; }
check_eq "node rows = simulator's nodes" "$(exp '.nodes|length')" "$(fl_sql "SELECT count(*) FROM node WHERE cluster_name='alpha'")"
check_eq "gpu_device rows = simulator's GPUs" "$(exp '.gpus|length')" \
	"$(fl_sql "SELECT count(*) FROM gpu_device WHERE cluster_name='alpha'")"
check_eq "per-node gpu_count/gpu_allocation/status equal the simulator's" \
	"$(exp '[.nodes[] | [.name, .gpu_count, .gpu_allocation, .status]] | sort')" \
	"$(fl_sql "SELECT coalesce(json_agg(json_build_array(name, gpu_count, gpu_allocation, status) ORDER BY name), '[]') FROM node WHERE cluster_name='alpha'" | jq -c 'sort')"
check_eq "per-node utilization equals the simulator's" \
	"$(exp '[.nodes[] | [.name, .gpu_utilization]] | sort')" \
	"$(fl_sql "SELECT json_agg(json_build_array(name, gpu_utilization) ORDER BY name) FROM node_latest_sample WHERE cluster_name='alpha'" | jq -c 'sort')"

for f in totalNodes:total_nodes healthyNodes:healthy_nodes faultyNodes:faulty_nodes fullyIdleNodes:fully_idle_nodes \
	partiallyIdleNodes:partially_idle_nodes busyNodes:busy_nodes allocationRate:allocation_rate utilization:utilization \
	gpusAllocatable:gpus_allocatable gpusAllocated:gpus_allocated total_space:total_space used_space:used_space \
	total_inodes:total_inodes read_bandwidth:read_bandwidth total_tx:total_tx total_rx:total_rx; do
	j=${f%%:*} c=${f##*:}
	check_num "cluster_overview_cache.$c = simulator's $j" "$(exp ".overview.$j")" \
		"$(fl_sql "SELECT $c FROM cluster_overview_cache WHERE cluster_name='alpha'")"
done

ov=$(curl -s "$API/v1/clusters/overview?cluster=alpha")
check_eq "overview envelope code 2000" 2000 "$(jq '.meta.code' <<<"$ov")"
for j in totalNodes healthyNodes faultyNodes fullyIdleNodes partiallyIdleNodes busyNodes allocationRate utilization \
	gpusAllocatable gpusAllocated total_space used_space usage_percentage total_inodes used_inodes \
	inodes_usage_percentage read_bandwidth write_bandwidth total_tx total_rx; do
	check_num "API overview $j = simulator's" "$(exp ".overview.$j")" "$(jq ".data.$j" <<<"$ov")"
done
check_eq "API overview names its cluster" alpha "$(jq -r '.data.cluster' <<<"$ov")"
check_eq "API overview status online" online "$(jq -r '.data.status' <<<"$ov")"
check_num "healthy + faulty = total" "$(jq '.data.totalNodes' <<<"$ov")" \
	"$(jq '.data.healthyNodes + .data.faultyNodes' <<<"$ov")"

nodes=$(curl -s "$API/v1/nodes?cluster=alpha&page_num=1&page_size=1000")
check_num "API /v1/nodes total = simulator's nodes" "$(exp '.nodes|length')" "$(jq '.data.total' <<<"$nodes")"
check_eq "API node rows carry the simulator's figures" \
	"$(exp '[.nodes[] | [.name, .gpu_count, .gpu_allocation, .status, "alpha"]] | sort')" \
	"$(jq -c '[.data.data[] | [.name, .gpu_count, .gpu_allocation, .status, .cluster_name]] | sort' <<<"$nodes")"
page=$(curl -s "$API/v1/nodes?cluster=alpha&page_num=2&page_size=5")
check_eq "page 2 of size 5 has 5 rows" 5 "$(jq '.data.data|length' <<<"$page")"
check_eq "page 2 starts at the 6th node by name" "$(jq -r '[.data.data[].name] | sort | .[5]' <<<"$nodes")" \
	"$(jq -r '.data.data[0].name' <<<"$page")"
check_eq "/v1/clusters lists alpha online with its overview" "online 12" \
	"$(curl -s "$API/v1/clusters" | jq -r '.data[] | select(.name=="alpha") | "\(.status) \(.overview.totalNodes)"')"

# --- the same frame again is a new sequence stream (new spoke id): rows stay equal, not doubled ---------
"$BIN/fleetlens-spoke" --config "$T/alpha.yaml" --once >/dev/null 2>&1
check_eq "second --once acknowledged" 0 $?
check_eq "rows are upserted, not duplicated" "$(exp '.nodes|length')" "$(fl_sql "SELECT count(*) FROM node WHERE cluster_name='alpha'")"

# --- an unregistered cluster leaves no row and is counted ------------------------------------------
out=$("$BIN/fleetlens-spoke" --config "$T/ghost.yaml" --once 2>&1)
check_eq "frame from unregistered cluster is rejected (exit 3)" 3 $?
check_contains "spoke prints the hub's reason" "unknown cluster" "$out"
check_eq "no cluster row for ghost" 0 "$(fl_sql "SELECT count(*) FROM cluster WHERE name='ghost'")"
check_eq "no node rows for ghost" 0 "$(fl_sql "SELECT count(*) FROM node WHERE cluster_name='ghost'")"
check_eq "no overview row for ghost" 0 "$(fl_sql "SELECT count(*) FROM cluster_overview_cache WHERE cluster_name='ghost'")"
metrics=$(curl -s "$API/metrics")
check_eq "rejection counted by reason" 1 \
	"$(awk '/^fleetlens_hub_frames_rejected_total\{reason="unknown_cluster"\}/ {print $2}' <<<"$metrics")"
check_eq "accepted frames counted" 2 "$(awk '/^fleetlens_hub_frames_accepted_total/ {print $2}' <<<"$metrics")"
check_eq "alpha's rows survived the rejected frame" "$(exp '.nodes|length')" \
	"$(fl_sql "SELECT count(*) FROM node WHERE cluster_name='alpha'")"

# --- API errors: real status codes, envelope codes, parameter named -----------------------------------
code_of() { curl -s -o "$T/body" -w '%{http_code}' "$API$1"; }
check_eq "unknown cluster → 404" 404 "$(code_of '/v1/clusters/overview?cluster=nope')"
check_eq "unknown cluster → code 4004" 4004 "$(jq '.meta.code' "$T/body")"
check_eq "nodes of unknown cluster → 404" 404 "$(code_of '/v1/nodes?cluster=nope')"
check_eq "page_size=abc → 400" 400 "$(code_of '/v1/nodes?page_size=abc')"
check_contains "400 names the parameter" page_size "$(jq -r '.meta.message' "$T/body")"
check_eq "page_size=100000 → 400" 400 "$(code_of '/v1/nodes?page_size=100000')"
check_eq "page_num=0 → 400" 400 "$(code_of '/v1/nodes?page_num=0')"
check_eq "hostile cluster value → 400" 400 "$(code_of '/v1/nodes?cluster=%27%3B%20DROP%20TABLE%20node%3B--')"
check_eq "table still there after hostile query" "$(exp '.nodes|length')" "$(fl_sql "SELECT count(*) FROM node WHERE cluster_name='alpha'")"
check_eq "unknown route → 404" 404 "$(code_of '/v1/nothing')"
check_eq "unknown route → envelope code 4004" 4004 "$(jq '.meta.code' "$T/body")"
check_eq "console served at /" 200 "$(code_of '/')"

# --- a restarted hub still knows when each cluster last reported --------------------------------------
fl_it_stop_hub
fl_it_start_hub
check_eq "after restart alpha is still online" online \
	"$(curl -s "$API/v1/clusters" | jq -r '.data[] | select(.name=="alpha") | .status')"
check_eq "migrations not applied twice" 1 "$(fl_sql "SELECT count(*) FROM schema_migrations WHERE version LIKE '001%'")"

[ "$FL_FAIL" -eq 0 ] || { echo "--- hub log"; tail -40 "$T/hub.log"; }
fl_done
