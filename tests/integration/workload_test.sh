#!/usr/bin/env bash
# GPU workloads and pods (issue 5) end to end: a real PostgreSQL holding the hub's database and SaFE's
# (schema from sql/safe/, no unique key), the real hub (safe_sync_interval 1s, two API tokens), real
# spokes with the sim source. Checked: the rows a full frame writes equal the spoke's own frame (its
# --dry-run JSON); deltas from a running spoke keep every live workload's pod count equal to its pod
# rows; a full frame that no longer lists a live workload marks it Deleted and deletes its pods;
# GET /v1/workloads (filters, pages, orders, scopes, bad parameters by name), /v1/workloads/{uid} and its
# utilizationHistory;
# SaFE's workload_statistic (issue 12): rows for SaFE's workloads only (primus-safe.workload.id on their
# pods: the sim labels its PyTorchJobs), keyed by workload_id, cluster = the cluster's SaFE id (the key
# safe_cluster_id, the label primus-safe.cluster.id), the 3h figures from workload_hourly_stats rows
# inserted here (mean of hourly averages, largest hourly maximum, hours; an hour older than 3h left out; an
# earlier dispatch's hours counted; 1e9 clamped), none without hourly rows, updated_at advancing on equal
# figures, SaFE's own duplicate and other-type rows, an id too long skipped and counted, an ended
# workload's row kept; retention of ended workloads and history partitions.
set -uo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
source "$(dirname "$0")/assert.sh"
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/openapi.sh" # records every API answer (validated at the end)

fl_it_setup workload
openapi_record "$T/openapi"
ssql() { psql -h "$FL_PG_DIR" -U postgres -d safe -tAqc "$1"; }
psql -h "$FL_PG_DIR" -U postgres -d postgres -qc "CREATE DATABASE safe" >/dev/null
psql -h "$FL_PG_DIR" -U postgres -d safe -q -v ON_ERROR_STOP=1 -f "$FL_ROOT/sql/safe/001_safe_schema.sql" >/dev/null
metric() { curl -s -H "Authorization: Bearer $OPS" "$API/metrics" | awk -v m="$1" '$1 == m {print $2}'; }

fl_it_keys alpha beta
OPS=ops-token-0123456789abcdef
BETA=beta-token-0123456789abcdef
fl_it_token ops "$OPS"
fl_it_token beta "$BETA"
fl_it_hub_config "$T/clusters.yaml" <<YAML
  safe_database_url: "host=$FL_PG_DIR user=postgres dbname=safe"
  safe_sync_interval: 1s
  history_retention: 3d
  api_tokens:
    - name: ops
      token_file: tokens/ops
    - name: beta-only
      token_file: tokens/beta
      clusters: [beta]
clusters:
  - name: alpha
    key_file: keys/alpha.key
    safe_cluster_id: tw-alpha
  - name: beta
    key_file: keys/beta.key
    safe_cluster_id: not-this-one
    labels: {primus-safe.cluster.id: tw-beta}
YAML
spoke_yaml() { # spoke_yaml FILE CLUSTER NODES SEED INTERVAL
	fl_it_spoke_config "$1" "$2" "$3" 8 "$4" "interval: $5" "ack_timeout: 10s"
}
spoke_yaml "$T/alpha7.yaml" alpha 12 7 30s
spoke_yaml "$T/alpha8.yaml" alpha 12 8 30s
spoke_yaml "$T/beta.yaml" beta 6 9 30s
spoke_yaml "$T/beta_run.yaml" beta 6 9 1s

FL_DIAG_LOGS="$T/hub.log $T/spoke.log"
fl_it_start_hub
# The hourly rollup (hub_rollup) must not add workload_hourly_stats rows of its own under this test's: every
# hour it could roll up during the test is marked done already.
fl_sql "INSERT INTO rollup_hour (stat_hour) SELECT date_trunc('hour', now()) + n * interval '1 hour' FROM generate_series(-80, 3) n ON CONFLICT DO NOTHING"

# --- a full frame's rows are the spoke's frame ------------------------------------------------------------------
# The sim is deterministic per cycle, so --dry-run shows exactly what --once sends (created times aside).
"$BIN/fleetlens-spoke" --config "$T/alpha7.yaml" --once --dry-run >"$T/d7.json" 2>/dev/null
"$BIN/fleetlens-spoke" --config "$T/alpha7.yaml" --once >"$T/spoke.log" 2>&1
check_eq "alpha (seed 7) --once is acknowledged" 0 $?
N_WL=$(jq '.workloads | length' "$T/d7.json")
N_POD=$(jq '.pods | length' "$T/d7.json")
check_eq "the sim sends workloads of every kind it makes" "CronJob,Deployment,Job,PyTorchJob" \
	"$(jq -r '[.workloads[].kind] | unique | join(",")' "$T/d7.json")"
check_eq "gpu_workload rows = the frame's workloads (uid kind status gpu_request pods namespace name)" \
	"$(jq -r '[.workloads[] | "\(.uid):\(.kind):\(.status):\(.gpu_request):\(.pods):\(.namespace):\(.name)"] | sort | join(",")' "$T/d7.json")" \
	"$(fl_sql "SELECT string_agg(uid||':'||kind||':'||status||':'||gpu_request||':'||pods||':'||namespace||':'||name, ',' ORDER BY uid COLLATE \"C\") FROM gpu_workload WHERE cluster_name='alpha'")"
check_eq "gpu_pod rows = the frame's pods (uid workload node gpus phase running)" \
	"$(jq -r '[.pods[] | "\(.uid):\(.workload_uid):\(.node):\(.gpus):\(.phase):\(.running)"] | sort | join(",")' "$T/d7.json")" \
	"$(fl_sql "SELECT string_agg(uid||':'||workload_uid||':'||node_name||':'||gpus||':'||phase||':'||running, ',' ORDER BY uid COLLATE \"C\") FROM gpu_pod WHERE cluster_name='alpha'")"
check_eq "utilization: the frame's figure per Running workload, as its sample" \
	"$(jq -r '[.workloads[] | select(.utilization != null) | "\(.uid)=\(.utilization * 100 | round)"] | sort | join(",")' "$T/d7.json")" \
	"$(fl_sql "SELECT string_agg(workload_uid||'='||round(gpu_utilization::numeric * 100), ',' ORDER BY workload_uid COLLATE \"C\") FROM workload_utilization_history WHERE cluster_name='alpha' AND gpu_utilization IS NOT NULL")"
N_HIST=$(jq '[.workloads[] | select(.status == "Running")] | length' "$T/d7.json")
check_num "one history row per Running workload (a NULL figure when the frame has none)" "$N_HIST" \
	"$(fl_sql "SELECT count(*) FROM workload_utilization_history WHERE cluster_name='alpha'")"
check_num "fleetlens_hub_workload_rows_written_total = pods + workloads" "$((N_WL + N_POD))" \
	"$(metric fleetlens_hub_workload_rows_written_total)"

"$BIN/fleetlens-spoke" --config "$T/beta.yaml" --once >>"$T/spoke.log" 2>&1
check_eq "beta --once is acknowledged" 0 $?
N_BETA=$(fl_sql "SELECT count(*) FROM gpu_workload WHERE cluster_name='beta'")
N_ALL=$((N_WL + N_BETA))

# --- GET /v1/workloads ------------------------------------------------------------------------------------------------
code() { curl -s -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer ${TOKEN:-$OPS}" "$API$1"; }
msg() { jq -r '.meta.message' "$T/body"; }
check_eq "list answers 200" 200 "$(code "/v1/workloads?page_size=1000")"
check_eq "total and rows: every workload of both clusters" "$N_ALL $N_ALL" "$(jq '"\(.data.total) \(.data.data | length)"' -r "$T/body")"
check_eq "default order: cluster, namespace, name" \
	"$(fl_sql "SELECT string_agg(uid, ',' ORDER BY cluster_name, namespace, name, uid) FROM gpu_workload")" \
	"$(jq -r '[.data.data[].uid] | join(",")' "$T/body")"
check_eq "row fields" "api_version,cluster_name,created_at,ended_at,gpu_request,gpu_utilization,kind,name,namespace,pods,status,uid,updated_at" \
	"$(jq -r '.data.data[0] | keys | join(",")' "$T/body")"
check_eq "times are RFC 3339 UTC" 1 \
	"$(jq '[.data.data[].created_at | select(. != null) | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{12}Z$")] | all | if . then 1 else 0 end' "$T/body")"
for f in "cluster=alpha&kind=Job:cluster_name='alpha' AND kind='Job'" \
	"status=Running,Pending:status IN ('Running','Pending')" \
	"namespace=research:namespace='research'" \
	"name=train:strpos(name, 'train') > 0" \
	"cluster=beta&status=Running:cluster_name='beta' AND status='Running'"; do
	q=${f%%:*}
	check_num "?$q: total as SQL counts" "$(fl_sql "SELECT count(*) FROM gpu_workload WHERE ${f#*:}")" \
		"$(code "/v1/workloads?$q" >/dev/null; jq '.data.total' "$T/body")"
done
check_eq "page 2 of 5 = rows 6..10" \
	"$(fl_sql "SELECT string_agg(uid, ',' ORDER BY cluster_name, namespace, name, uid) FROM (SELECT * FROM gpu_workload ORDER BY cluster_name, namespace, name, uid LIMIT 5 OFFSET 5) x")" \
	"$(code "/v1/workloads?page_size=5&page_num=2" >/dev/null; jq -r '[.data.data[].uid] | join(",")' "$T/body")"
check_eq "a page past the end: no rows, the right total" "0 $N_ALL" \
	"$(code "/v1/workloads?page_size=10&page_num=999" >/dev/null; jq -r '"\(.data.data | length) \(.data.total)"' "$T/body")"
check_num "order_by=gpu_request&desc=true: the largest request first" "$(fl_sql "SELECT max(gpu_request) FROM gpu_workload")" \
	"$(code "/v1/workloads?order_by=gpu_request&desc=true" >/dev/null; jq '.data.data[0].gpu_request' "$T/body")"
check_eq "order_by=gpu_utilization: workloads without a figure first" null \
	"$(code "/v1/workloads?order_by=gpu_utilization" >/dev/null; jq '.data.data[0].gpu_utilization' "$T/body")"
for bad in "order_by=bogus:order_by" "status=Sleeping:status" "page_size=0:page_size" "page_num=-1:page_num" \
	"namespace=%27%3B%20DROP%20TABLE%20gpu_workload%3B--:namespace" "desc=maybe:desc" "kind=a%00b:kind"; do
	check_eq "?${bad%%:*} → 400" 400 "$(code "/v1/workloads?${bad%%:*}")"
	check_contains "... naming ${bad#*:}" "'${bad#*:}'" "$(msg)"
done
check_eq "?cluster=nope → 404" 404 "$(code "/v1/workloads?cluster=nope")"
check_num "the hostile namespace dropped nothing" "$N_ALL" "$(fl_sql "SELECT count(*) FROM gpu_workload")"
TOKEN=$BETA
check_num "a beta-only token lists beta's workloads only" "$N_BETA" \
	"$(code "/v1/workloads?page_size=1000" >/dev/null; jq '[.data.data[] | select(.cluster_name == "beta")] | length' "$T/body")"
check_num "... and its total counts only those" "$N_BETA" "$(jq '.data.total' "$T/body")"
check_eq "... and ?cluster=alpha is 404 for it" 404 "$(code "/v1/workloads?cluster=alpha")"
TOKEN=""
check_eq "without a token → 401" 401 "$(curl -s -o /dev/null -w '%{http_code}' "$API/v1/workloads")"

# --- GET /v1/workloads/{uid} ------------------------------------------------------------------------------------------
UID1=$(jq -r '[.workloads[] | select(.kind == "PyTorchJob")][0].uid' "$T/d7.json")
check_eq "a workload answers 200" 200 "$(code "/v1/workloads/$UID1")"
check_eq "... with its fields" "$UID1 PyTorchJob alpha" "$(jq -r '"\(.data.uid) \(.data.kind) \(.data.cluster_name)"' "$T/body")"
check_eq "... and its pods (gpu_pods), by name" \
	"$(fl_sql "SELECT string_agg(uid, ',' ORDER BY name, uid) FROM gpu_pod WHERE workload_uid='$UID1'")" \
	"$(jq -r '[.data.gpu_pods[].uid] | join(",")' "$T/body")"
check_eq "... as many as its pod count, on the frame's nodes" \
	"true $(jq -r --arg u "$UID1" '[.pods[] | select(.workload_uid == $u) | .node] | unique | join(",")' "$T/d7.json")" \
	"$(jq -r '"\(.data.pods == (.data.gpu_pods | length)) \([.data.gpu_pods[].node_name] | unique | join(","))"' "$T/body")"
check_eq "?cluster=alpha finds it too" 200 "$(code "/v1/workloads/$UID1?cluster=alpha")"
check_eq "?cluster=beta does not" 404 "$(code "/v1/workloads/$UID1?cluster=beta")"
check_eq "an unknown uid → 404" 404 "$(code "/v1/workloads/00000000-0000-0000-0000-000000000000")"
check_eq "a uid with a quote → 400" 400 "$(code "/v1/workloads/x%27y")"
check_contains "... naming uid" "'uid'" "$(msg)"
TOKEN=$BETA
check_eq "alpha's workload is 404 for the beta-only token" 404 "$(code "/v1/workloads/$UID1")"
TOKEN=""

# --- GET /v1/workloads/{uid}/utilizationHistory ---------------------------------------------------------------------
HUID=$(fl_sql "SELECT workload_uid FROM workload_utilization_history WHERE cluster_name='alpha' AND gpu_utilization IS NOT NULL ORDER BY workload_uid LIMIT 1")
now=$(date +%s)
check_eq "a workload's history answers 200" 200 "$(code "/v1/workloads/$HUID/utilizationHistory?cluster=alpha&start=$((now - 3600))&end=$((now + 60))&step=7200")"
check_num "... one step holding its sample: the value, 2 decimals" \
	"$(fl_sql "SELECT round(avg(gpu_utilization)::numeric, 2) FROM workload_utilization_history WHERE workload_uid='$HUID'")" \
	"$(jq '.data.series[0].points[0][1]' "$T/body")"
check_eq "... as the node history's shape" '["gpu_utilization"] %' "$(jq -r '"\([.data.series[].name] | tojson) \(.data.unit)"' "$T/body")"
check_eq "... without cluster → 400 naming it" "400 1" "$(code "/v1/workloads/$HUID/utilizationHistory") $(msg | grep -c "'cluster'")"
check_eq "... a cluster outside the token's scope → 404" 404 "$(TOKEN=$BETA code "/v1/workloads/$HUID/utilizationHistory?cluster=alpha")"
check_eq "an unknown sub-route of a workload → 404" 404 "$(code "/v1/workloads/$HUID/nope")"

# --- SaFE workload_statistic ------------------------------------------------------------------------------------------
# hour_row CLUSTER UID HOURS_AGO AVG MAX: the rollup's row of that workload for the hour starting HOURS_AGO
# whole hours before this one (1 and 2 are inside the last three hours, 4 is not).
hour_row() {
	fl_sql "INSERT INTO workload_hourly_stats (cluster_name, workload_uid, namespace, workload_name, workload_type,
		workload_status, stat_hour, allocated_gpu_count, requested_gpu_count, avg_utilization, max_utilization,
		min_utilization, p50_utilization, p95_utilization, avg_replica_count, max_replica_count, min_replica_count,
		sample_count) SELECT cluster_name, uid, namespace, name, kind, status,
		date_trunc('hour', now()) - interval '$3 hours', 1, 1, $4, $5, 0, $4, $5, 1, 1, 1, 60 FROM gpu_workload
		WHERE cluster_name = '$1' AND uid = '$2'
		ON CONFLICT (cluster_name, stat_hour, workload_uid) DO UPDATE SET avg_utilization = EXCLUDED.avg_utilization,
		max_utilization = EXCLUDED.max_utilization" >/dev/null
}
# srow WORKLOAD_ID: its 3h row as cluster|workload_id|uid|workspace|avg|max|hours
srow() { ssql "SELECT cluster||'|'||workload_id||'|'||coalesce(workload_uid,'NULL')||'|'||workspace||'|'||coalesce(avg_gpu_usage_3h::text,'null')||'|'||coalesce(max_gpu_usage_3h::text,'null')||'|'||data_points_count FROM workload_statistic WHERE workload_id='$1' AND statistic_type='3h' ORDER BY id LIMIT 1"; }
stamp() { ssql "SELECT updated_at FROM workload_statistic WHERE workload_id='$1' AND statistic_type='3h' ORDER BY id LIMIT 1"; }
wmetric() { metric "fleetlens_hub_safe_workload_rows_total{op=\"$1\"}"; }
cycles() { # cycles N: waits for N more committed sync cycles
	local want=$(($(metric 'fleetlens_hub_safe_sync_total{result="ok"}') + $1))
	fl_wait_until 60 '[ "$(metric "fleetlens_hub_safe_sync_total{result=\"ok\"}")" -ge $want ]'
}
SAFE_LIVE=$(fl_sql "SELECT count(*) FROM gpu_workload WHERE safe_workload_id <> '' AND status IN ('Running','Pending')")
check_eq "the sim's live PyTorchJobs (and only they) are SaFE workloads, labelled with their own name" \
	"$SAFE_LIVE $SAFE_LIVE" "$(fl_sql "SELECT count(*) FILTER (WHERE kind = 'PyTorchJob' AND safe_workload_id = name)||' '||count(*) FILTER (WHERE safe_workload_id <> '') FROM gpu_workload WHERE status IN ('Running','Pending')")"
check_eq "... at least one Running in alpha and one live in beta (a check on the sim)" "true true" \
	"$(fl_sql "SELECT bool_or(cluster_name='alpha' AND status='Running')||' '||bool_or(cluster_name='beta') FROM gpu_workload WHERE safe_workload_id <> '' AND status IN ('Running','Pending')")"
cycles 2
check_num "no hourly rows yet: no workload_statistic row at all (SaFE's workloads or others)" 0 \
	"$(ssql "SELECT count(*) FROM workload_statistic")"

read -r W1 U1 <<<"$(fl_sql "SELECT safe_workload_id||' '||uid FROM gpu_workload WHERE cluster_name='alpha' AND safe_workload_id <> '' AND status='Running' ORDER BY uid LIMIT 1" | tr '|' ' ')"
read -r W2 U2 NS2 <<<"$(fl_sql "SELECT safe_workload_id||' '||uid||' '||namespace FROM gpu_workload WHERE cluster_name='beta' AND safe_workload_id <> '' AND status IN ('Running','Pending') ORDER BY uid LIMIT 1")"
read -r N1 <<<"$(fl_sql "SELECT uid FROM gpu_workload WHERE cluster_name='alpha' AND safe_workload_id = '' AND status='Running' ORDER BY uid LIMIT 1")"
hour_row alpha "$U1" 1 40 60
hour_row alpha "$U1" 2 20.125 90
hour_row alpha "$U1" 4 99 99 # older than three hours: not counted
hour_row beta "$U2" 1 10 10
hour_row alpha "$N1" 1 50 50 # not a SaFE workload: no row whatever its figures
fl_wait_until 60 '[ "$(ssql "SELECT count(*) FROM workload_statistic")" = 2 ]'
check_eq "alpha's SaFE workload: keyed by its id, cluster = safe_cluster_id, uid, workspace = namespace, avg (40+20.125)/2, max 90, 2 hours" \
	"tw-alpha|$W1|$U1|training|30.06|90.00|2" "$(srow "$W1")"
check_eq "beta's: cluster = its primus-safe.cluster.id label (over safe_cluster_id)" \
	"tw-beta|$W2|$U2|$NS2|10.00|10.00|1" "$(srow "$W2")"
check_num "only SaFE workloads with hourly rows have rows: 2" 2 "$(ssql "SELECT count(*) FROM workload_statistic")"
check_eq "node_statistic names the clusters by their SaFE ids too" "tw-alpha,tw-beta" \
	"$(ssql "SELECT string_agg(DISTINCT cluster, ',' ORDER BY cluster) FROM node_statistic")"
check_num "... none for the non-SaFE workload that has hourly rows" 0 \
	"$(ssql "SELECT count(*) FROM workload_statistic WHERE workload_uid='$N1'")"
cycles 1 # the metrics are counted just after the commit
check_num "two inserts counted" 2 "$(wmetric insert)"

# Equal figures: nothing rewritten but updated_at, every cycle.
s0=$(stamp "$W1")
upd0=$(wmetric update)
touch0=$(wmetric touch)
cycles 2
check_eq "equal figures: the row stays as it was" "tw-alpha|$W1|$U1|training|30.06|90.00|2" "$(srow "$W1")"
check_eq "... but its updated_at advances" t "$(ssql "SELECT updated_at > '$s0' FROM workload_statistic WHERE workload_id='$W1' AND statistic_type='3h'")"
check_eq "... counted as touch (both rows, each cycle), not update" "$upd0 1" \
	"$(wmetric update) $(( $(wmetric touch) >= touch0 + 4 ))"

# An earlier dispatch of the same SaFE workload (an ended object with the same label) counts its hours too.
fl_sql "INSERT INTO gpu_workload (cluster_name, uid, kind, namespace, name, status, safe_workload_id, ended_at) VALUES ('alpha', 'earlier-dispatch', 'PyTorchJob', 'training', '$W1', 'Failed', '$W1', now() - interval '30 minutes')"
hour_row alpha earlier-dispatch 1 60 95
fl_wait_until 60 '[ "$(srow "$W1")" = "tw-alpha|$W1|$U1|training|40.04|95.00|2" ]'
check_eq "an earlier dispatch's hourly rows count: avg (40+20.125+60)/3, max 95, still 2 distinct hours, the live object's uid" \
	"tw-alpha|$W1|$U1|training|40.04|95.00|2" "$(srow "$W1")"
hour_row beta "$U2" 2 1e9 1e9
fl_wait_until 60 '[ "$(srow "$W2")" = "tw-beta|$W2|$U2|$NS2|55.00|100.00|2" ]'
check_eq "an hourly figure of 1e9 counts as 100: avg (10+100)/2, max 100" "tw-beta|$W2|$U2|$NS2|55.00|100.00|2" "$(srow "$W2")"
cycles 1
check_num "figure changes counted as updates" 1 "$(( $(wmetric update) >= upd0 + 2 ))"

# SaFE's rows as SaFE's adapter left them: found by (workload_id, '3h'), the lowest id, whatever its cluster.
ssql "DELETE FROM workload_statistic WHERE workload_id='$W2'" >/dev/null
ssql "INSERT INTO workload_statistic (workload_id, workload_uid, cluster, workspace, statistic_type, avg_gpu_usage_3h, max_gpu_usage_3h, data_points_count)
	VALUES ('$W2', NULL, 'default', 'x', '3h', 1, 1, 1), ('$W2', NULL, 'default', 'x', '3h', 2, 2, 2), ('$W2', NULL, 'default', 'x', '1d', 3, 3, 3)" >/dev/null
fl_wait_until 60 '[ "$(srow "$W2")" = "tw-beta|$W2|$U2|$NS2|55.00|100.00|2" ]'
check_eq "the lowest id of ($W2, 3h) is rewritten: cluster, uid, workspace, figures" "tw-beta|$W2|$U2|$NS2|55.00|100.00|2" "$(srow "$W2")"
check_eq "... the second 3h row and the 1d row are left as they were" "default|2.00|3h default|3.00|1d" \
	"$(ssql "SELECT string_agg(cluster||'|'||avg_gpu_usage_3h||'|'||statistic_type, ' ' ORDER BY id) FROM workload_statistic WHERE workload_id='$W2' AND id > (SELECT min(id) FROM workload_statistic WHERE workload_id='$W2')")"
fl_wait_until 60 '[ "$(metric fleetlens_hub_safe_duplicate_rows)" = 1 ]'
check_num "... and the duplicate is reported" 1 "$(metric fleetlens_hub_safe_duplicate_rows)"
ssql "DELETE FROM workload_statistic WHERE workload_id='$W2' AND id > (SELECT min(id) FROM workload_statistic WHERE workload_id='$W2')" >/dev/null

# An id too long for SaFE's workload_id (a hub row the spoke could not have sent: the frame caps it at 63).
LONG=$(printf 'w%.0s' {1..70})
fl_sql "INSERT INTO gpu_workload (cluster_name, uid, kind, namespace, name, status, safe_workload_id) VALUES ('alpha', 'long-id-uid', 'Job', 'research', 'long', 'Running', '$LONG')"
hour_row alpha long-id-uid 1 5 5
sk0=$(wmetric skipped)
fl_wait_until 60 '[ "$(wmetric skipped)" -gt "$sk0" ]'
check_eq "a 70-character SaFE id is skipped and counted" 1 "$(( $(wmetric skipped) > sk0 ))"
check_eq "... never written, and the other rows are still right" "0 2" \
	"$(ssql "SELECT count(*) FILTER (WHERE workload_uid='long-id-uid')||' '||count(*) FILTER (WHERE statistic_type='3h') FROM workload_statistic")"
fl_sql "DELETE FROM gpu_workload WHERE uid='long-id-uid'"

# --- a full frame without a live workload: Deleted, its pods gone -------------------------------------------------------
"$BIN/fleetlens-spoke" --config "$T/alpha8.yaml" --once --dry-run >"$T/d8.json" 2>/dev/null
check_num "seeds 7 and 8 share no workload" 0 \
	"$(jq -n --slurpfile a "$T/d7.json" --slurpfile b "$T/d8.json" '[$a[0].workloads[].uid] - ([$a[0].workloads[].uid] - [$b[0].workloads[].uid]) | length')"
LIVE7=$(jq '[.workloads[] | select(.status == "Running" or .status == "Pending")] | length' "$T/d7.json")
W1_ROW=$(srow "$W1")
"$BIN/fleetlens-spoke" --config "$T/alpha8.yaml" --once >>"$T/spoke.log" 2>&1
check_eq "alpha (seed 8) --once is acknowledged" 0 $?
check_num "seed 7's live workloads are now Deleted" "$LIVE7" \
	"$(fl_sql "SELECT count(*) FROM gpu_workload WHERE cluster_name='alpha' AND status='Deleted' AND ended_at IS NOT NULL AND pods=0 AND gpu_request=0")"
check_eq "seed 7's ended workloads keep their status" \
	"$(jq -r '[.workloads[] | select(.status == "Done" or .status == "Failed") | "\(.uid)=\(.status)"] | sort | join(",")' "$T/d7.json")" \
	"$(fl_sql "SELECT string_agg(uid||'='||status, ',' ORDER BY uid COLLATE \"C\") FROM gpu_workload WHERE cluster_name='alpha' AND status IN ('Done','Failed') AND uid IN ($(jq -r '[.workloads[].uid | "'"'"'\(.)'"'"'"] | join(",")' "$T/d7.json"))")"
check_eq "alpha's pods are exactly seed 8's" \
	"$(jq -r '[.pods[].uid] | sort | join(",")' "$T/d8.json")" \
	"$(fl_sql "SELECT string_agg(uid, ',' ORDER BY uid COLLATE \"C\") FROM gpu_pod WHERE cluster_name='alpha'")"
check_num "?status=Deleted lists them" "$LIVE7" "$(code "/v1/workloads?cluster=alpha&status=Deleted" >/dev/null; jq '.data.total' "$T/body")"
check_num "beta's workloads untouched" "$N_BETA" "$(fl_sql "SELECT count(*) FROM gpu_workload WHERE cluster_name='beta'")"
cycles 1
s1=$(stamp "$W1")
cycles 2
check_eq "SaFE: $W1 ended (Deleted): its row keeps its last figures" "$W1_ROW" "$(srow "$W1")"
check_eq "... and is no longer confirmed: its updated_at stands still" "$s1" "$(stamp "$W1")"
check_eq "... seed 8's SaFE workloads have no hourly rows: no rows for them; beta's row goes on" \
	"2 true" "$(ssql "SELECT count(*)||' '||bool_or(workload_id='$W2' AND updated_at > '$s1') FROM workload_statistic WHERE statistic_type='3h'")"

# --- a running spoke across pod re-plans ------------------------------------------------------------------------------
# The sim re-plans its pods every 5 cycles: workloads end, new ones start, pods go. (The sim sends full
# frames only; deltas with removed_pods are covered by test_hub_store against a real database.)
"$BIN/fleetlens-spoke" --config "$T/beta_run.yaml" >"$T/run.log" 2>&1 &
SPOKE_PID=$!
B0=$(fl_sql "SELECT count(*) FROM ingest_log WHERE cluster_name='beta'")
fl_wait_until 120 '[ "$(fl_sql "SELECT count(*) FROM ingest_log WHERE cluster_name='"'beta'"'")" -ge $((B0 + 12)) ]'
fl_it_stop "$SPOKE_PID"
check_eq "12 cycles of the running spoke were committed" 1 \
	"$([ "$(fl_sql "SELECT count(*) FROM ingest_log WHERE cluster_name='beta'")" -ge $((B0 + 12)) ] && echo 1 || echo 0)"
check_num "workloads ended across the re-plans" 1 \
	"$([ "$(fl_sql "SELECT count(*) FROM gpu_workload WHERE cluster_name='beta' AND status NOT IN ('Running','Pending')")" -gt 0 ] && echo 1 || echo 0)"
check_eq "every live workload's pod count = its pod rows" "" \
	"$(fl_sql "SELECT string_agg(w.uid||':'||w.pods||'<>'||(SELECT count(*) FROM gpu_pod p WHERE p.cluster_name='beta' AND p.workload_uid=w.uid), ',') FROM gpu_workload w WHERE w.cluster_name='beta' AND w.status IN ('Running','Pending') AND w.pods <> (SELECT count(*) FROM gpu_pod p WHERE p.cluster_name='beta' AND p.workload_uid=w.uid)")"
check_num "no pod row belongs to an ended workload" 0 \
	"$(fl_sql "SELECT count(*) FROM gpu_pod p JOIN gpu_workload w ON w.cluster_name=p.cluster_name AND w.uid=p.workload_uid WHERE p.cluster_name='beta' AND w.status NOT IN ('Running','Pending')")"
check_num "no pod row without its workload" 0 \
	"$(fl_sql "SELECT count(*) FROM gpu_pod p WHERE p.cluster_name='beta' AND NOT EXISTS (SELECT 1 FROM gpu_workload w WHERE w.cluster_name='beta' AND w.uid=p.workload_uid)")"

# --- retention: ended workloads and history partitions ----------------------------------------------------------------
fl_it_stop_hub
OLD=$(fl_sql "SELECT uid FROM gpu_workload WHERE status='Deleted' ORDER BY uid LIMIT 1")
fl_sql "UPDATE gpu_workload SET ended_at = now() - interval '4 days' WHERE uid='$OLD'"
BEFORE=$(fl_sql "SELECT count(*) FROM gpu_workload")
fl_it_start_hub
fl_wait_until 60 '[ "$(fl_sql "SELECT count(*) FROM gpu_workload WHERE uid='"'$OLD'"'")" = 0 ]'
check_num "a workload that ended 4 days ago (retention 3d) is deleted at start" "$((BEFORE - 1))" "$(fl_sql "SELECT count(*) FROM gpu_workload")"
day() { date -u -d "@$(($(date +%s) + $1 * 86400))" +%Y%m%d; }
P=workload_utilization_history
check_eq "workload history: day partitions for today and 2 days ahead, plus DEFAULT" \
	"${P}_$(day 0),${P}_$(day 1),${P}_$(day 2),${P}_default" \
	"$(fl_sql "SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = '$P'::regclass")"

fl_it_stop_hub
check_eq "no sanitizer report, no crash in the hub log" "" "$(grep -E 'runtime error|AddressSanitizer|LeakSanitizer' "$T/hub.log" "$T/run.log" "$T/spoke.log")"
openapi_validate # every answer above against hub/openapi.json (openapi.sh)
fl_done
