#!/usr/bin/env bash
# Node utilization history (issue 5) end to end: a real PostgreSQL, the real hub, real spokes `--once`
# (sim source). Checked: each committed frame appends its nodes' figures in day partitions created ahead,
# GET /v1/nodes/{name}/utilizationHistory answers them averaged per step and refuses bad parameters by
# name, partitions older than hub.history_retention are DROPPED (not emptied row by row), rows that fell
# into the DEFAULT partition move into their day's partition when the hub creates it.
set -uo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
source "$(dirname "$0")/assert.sh"
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/openapi.sh" # records every API answer (validated at the end)

fl_it_setup history
openapi_record "$T/openapi"
fl_it_keys alpha
fl_it_hub_config "$T/clusters.yaml" <<YAML
  history_retention: 3d
$(fl_it_clusters alpha)
YAML
fl_it_spoke_config "$T/alpha.yaml" alpha 4 8 7 "interval: 30s" "ack_timeout: 10s"
printf 'hub:\n  ingest_url: tcp://127.0.0.1:1\n  api_listen: 127.0.0.1:2\n  database_url: x\n  history_retention: 1h\nclusters: []\n' >"$T/bad.yaml"
out=$("$BIN/fleetlens-hub" --config "$T/bad.yaml" --check 2>&1)
check_eq "history_retention under a day exits 2" 2 $?
check_contains "the error names the key" "key 'history_retention'" "$out"

day() { date -u -d "@$(($(date +%s) + $1 * 86400))" +%Y%m%d; }
parts() { fl_sql "SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'node_utilization_history'::regclass"; }

fl_it_start_hub
P="node_utilization_history"
fl_wait_until 60 '[ "$(parts)" == "${P}_$(day 0),${P}_$(day 1),${P}_$(day 2),${P}_default" ]'
check_eq "day partitions for today and 2 days ahead, plus DEFAULT" "${P}_$(day 0),${P}_$(day 1),${P}_$(day 2),${P}_default" "$(parts)"

# --- each committed frame appends one sample per node it carries (its figure, or NULL) --------------------------------------------------------
"$BIN/fleetlens-spoke" --config "$T/alpha.yaml" --once >"$T/spoke.log" 2>&1
check_eq "first frame acknowledged" 0 $?
nodes=$(fl_sql "SELECT count(*) FROM node WHERE cluster_name='alpha'")
with_value=$(curl -s "$API/v1/nodes?cluster=alpha&page_size=1000" | jq '[.data.data[] | select(.gpu_utilization != null)] | length')
check_num "one sample row per node the frame carries (issue 13: a node without a figure too)" "$nodes" "$(fl_sql "SELECT count(*) FROM $P")"
check_eq "the samples hold the figures the API serves (NULL: none)" \
	"$(curl -s "$API/v1/nodes?cluster=alpha&page_size=1000" | jq -r '[.data.data[] | "\(.name)=\(.gpu_utilization // "null")"] | sort | join(",")')" \
	"$(fl_sql "SELECT string_agg(node_name || '=' || coalesce(gpu_utilization::text, 'null'), ',' ORDER BY node_name) FROM $P")"
check_num "some nodes carry a figure" 1 "$([ "$with_value" -gt 0 ] && echo 1 || echo 0)"
check_eq "they sit in today's partition, none in DEFAULT" "$nodes 0" \
	"$(fl_sql "SELECT count(*) FROM ${P}_$(day 0)") $(fl_sql "SELECT count(*) FROM ${P}_default")"
sleep 1
"$BIN/fleetlens-spoke" --config "$T/alpha.yaml" --once >>"$T/spoke.log" 2>&1
check_num "a second frame appends again" "$((nodes * 2))" "$(fl_sql "SELECT count(*) FROM $P")"
NOFIG=$(fl_sql "SELECT node_name FROM $P WHERE gpu_utilization IS NULL ORDER BY node_name LIMIT 1")

# --- the route ------------------------------------------------------------------------------------------------
NODE=$(fl_sql "SELECT node_name FROM $P WHERE gpu_utilization IS NOT NULL ORDER BY node_name LIMIT 1")
now=$(date +%s)
code() { curl -s -o "$T/body" -w '%{http_code}' "$API$1"; }
msg() { jq -r '.meta.message' "$T/body"; }
check_eq "history answers 200" 200 "$(code "/v1/nodes/$NODE/utilizationHistory?cluster=alpha&start=$((now - 3600))&end=$((now + 60))&step=7200")"
check_eq "one series named gpu_utilization" '["gpu_utilization"]' "$(jq -c '[.data.series[].name]' "$T/body")"
check_num "one step holding both samples: their average, 2 decimals" \
	"$(fl_sql "SELECT round(avg(gpu_utilization)::numeric, 2) FROM $P WHERE node_name='$NODE'")" \
	"$(jq '.data.series[0].points[0][1]' "$T/body")"
check_eq "points are [unix seconds of the step's start, value]" 1 \
	"$(jq --argjson n "$now" '.data.series[0].points[0][0] | (. <= $n and . > $n - 7200 and . % 7200 == 0) | if . then 1 else 0 end' "$T/body")"
if [ -n "$NOFIG" ]; then
	check_eq "a node whose samples carry no figure: no points (not zeros, not nulls)" 0 \
		"$(code "/v1/nodes/$NOFIG/utilizationHistory?cluster=alpha&start=$((now - 3600))&end=$((now + 60))&step=60" >/dev/null; jq '.data.series[0].points | length' "$T/body")"
fi
check_eq "a range before any sample: no points" 0 \
	"$(code "/v1/nodes/$NODE/utilizationHistory?cluster=alpha&start=1000&end=2000&step=60" >/dev/null; jq '.data.series[0].points | length' "$T/body")"
check_eq "step=0 → 400" 400 "$(code "/v1/nodes/$NODE/utilizationHistory?cluster=alpha&step=0")"
check_contains "... naming step" "'step'" "$(msg)"
check_eq "end=abc → 400" 400 "$(code "/v1/nodes/$NODE/utilizationHistory?cluster=alpha&end=abc")"
check_contains "... naming end" "'end'" "$(msg)"
check_eq "start after end → 400" 400 "$(code "/v1/nodes/$NODE/utilizationHistory?cluster=alpha&start=2000&end=1000")"
check_contains "... naming start" "'start'" "$(msg)"
check_eq "too many points → 400" 400 "$(code "/v1/nodes/$NODE/utilizationHistory?cluster=alpha&start=0&end=100000&step=1")"
check_contains "... naming step" "'step'" "$(msg)"
check_eq "no cluster → 400" 400 "$(code "/v1/nodes/$NODE/utilizationHistory")"
check_contains "... naming cluster" "'cluster'" "$(msg)"
check_eq "unknown cluster → 404" 404 "$(code "/v1/nodes/$NODE/utilizationHistory?cluster=nope")"
check_eq "hostile cluster → 400" 400 "$(code "/v1/nodes/$NODE/utilizationHistory?cluster=%27%3B%20DROP%20TABLE%20node%3B--")"

# --- retention drops whole partitions; DEFAULT rows move to their day ---------------------------------------------
fl_it_stop_hub
OLD=$(day -10)
KEEP=$(day -1)
fl_sql "CREATE TABLE ${P}_$OLD PARTITION OF $P FOR VALUES FROM ('$(date -u -d "@$(($(date +%s) - 10 * 86400))" +%F)') TO ('$(date -u -d "@$(($(date +%s) - 9 * 86400))" +%F)')"
fl_sql "CREATE TABLE ${P}_$KEEP PARTITION OF $P FOR VALUES FROM ('$(date -u -d "@$(($(date +%s) - 86400))" +%F)') TO ('$(date -u +%F)')"
fl_sql "INSERT INTO $P VALUES ('alpha', 'old', now() - interval '10 days' + interval '1 minute', 1), ('alpha', 'kept', now() - interval '1 day', 2)"
fl_sql "INSERT INTO $P VALUES ('alpha', 'stray', now() - interval '20 days', 3)" # no partition: DEFAULT, past retention
# The partition 2 days ahead is taken away with its rows put back through DEFAULT; the hub re-creates it.
fl_sql "CREATE TABLE moved AS SELECT * FROM ${P}_$(day 2); DROP TABLE ${P}_$(day 2)"
fl_sql "INSERT INTO $P VALUES ('alpha', 'future', now() + interval '2 days', 4)"
check_eq "the future row sits in DEFAULT for now" 1 "$(fl_sql "SELECT count(*) FROM ${P}_default WHERE node_name='future'")"
fl_it_start_hub
# The upkeep logs its counts once it has done everything (drop, create, move): wait for that line.
fl_wait_until 60 'grep -q "day partitions created, 1 dropped" "$T/hub.log"'
check_eq "the partition past retention is dropped" "" "$(fl_sql "SELECT relname FROM pg_class WHERE relname = '${P}_$OLD'")"
check_eq "a partition within retention stays, with its row" 1 "$(fl_sql "SELECT count(*) FROM ${P}_$KEEP")"
check_eq "DEFAULT rows past retention are deleted" 0 "$(fl_sql "SELECT count(*) FROM $P WHERE node_name='stray'")"
check_eq "the day partition 2 days ahead is re-created" "${P}_$(day 2)" "$(fl_sql "SELECT relname FROM pg_class WHERE relname = '${P}_$(day 2)'")"
check_eq "DEFAULT's row of that day moved into it" "1 0" \
	"$(fl_sql "SELECT count(*) FROM ${P}_$(day 2) WHERE node_name='future'") $(fl_sql "SELECT count(*) FROM ${P}_default")"
check_contains "the upkeep is logged" "day partitions created, 1 dropped" "$(cat "$T/hub.log")"

[ "$FL_FAIL" -eq 0 ] || { echo "--- hub log"; tail -30 "$T/hub.log"; }
openapi_validate # every answer above against hub/openapi.json (openapi.sh)
fl_done
