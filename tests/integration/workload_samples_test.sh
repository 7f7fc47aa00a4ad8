#!/usr/bin/env bash
# Pod and workload facts apart from their samples (issue 13, sql/hub/010_workload_samples.sql): a real
# PostgreSQL, the real hub, real sim spokes (cluster alpha, seed 7; seed 8 shares no workload with it).
# The sim is a pure function of (seed, tick): a process's first cycle is tick 0, so every --once sends the
# same pods and workloads with the same figures (--dry-run shows them), except the workloads' created time,
# which is the spoke's first-seen time (the sim's pods carry no creationTimestamp); ticks 0..4 share their
# pods, only the figures move. Checked:
#  (a) frames that move only utilization, or nothing but a later created time, write no gpu_pod or
#      gpu_workload row (row versions, xmin, the rows-written counter) and delete none, and append exactly
#      one sample per Running workload and per pod in phase Running, with the frame's figure (NULL without);
#  (b) a fact change (status, gpu_request, pods, node, an earlier created time) updates exactly that row;
#  (c) a full frame without a live workload marks it Deleted and deletes the pods it does not list;
#  (d) /v1/workloads (order_by=gpu_utilization too), /v1/workloads/{uid} and the /lens/v1 workload routes
#      answer the newest sample's figure, null once the workload ended;
#  (e) a spoke restart (and a hub restart) reporting a later created time keeps the earlier start.
set -uo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
source "$(dirname "$0")/assert.sh"
source "$(dirname "$0")/lib.sh"

fl_it_setup wl_samples
fl_it_keys alpha
fl_it_hub_config "$T/clusters.yaml" <<YAML
  history_retention: 3d
  lens:
    default_cluster: alpha
$(fl_it_clusters alpha)
YAML
spoke_yaml() { # spoke_yaml FILE SEED INTERVAL
	fl_it_spoke_config "$1" alpha 12 8 "$2" "interval: $3" "ack_timeout: 10s"
}
spoke_yaml "$T/s7.yaml" 7 30s
spoke_yaml "$T/s7_run.yaml" 7 10s
spoke_yaml "$T/s8.yaml" 8 30s

FL_DIAG_LOGS="$T/hub.log $T/spoke.log"
once() { "$BIN/fleetlens-spoke" --config "$T/$1.yaml" --once >>"$T/spoke.log" 2>&1; }
get() { curl -s "$API$1"; }
metric() { curl -s "$API/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
written() { metric fleetlens_hub_workload_rows_written_total; }
# Every fact row of alpha with its row version (xmin) and frame version: any write changes them.
rows() { fl_sql "SELECT string_agg(x, ',' ORDER BY x COLLATE \"C\") FROM (SELECT 'w:'||uid||'@'||xmin||'/'||src_seq AS x FROM gpu_workload WHERE cluster_name='alpha' UNION ALL SELECT 'p:'||uid||'@'||xmin||'/'||src_seq FROM gpu_pod WHERE cluster_name='alpha') r"; }
frames() { fl_sql "SELECT count(*) FROM ingest_log WHERE cluster_name='alpha'"; }
# The sent_at of alpha's newest frame, and the samples appended at a given sent_at (uid=figure × 100, rounded).
last_sent() { fl_sql "SELECT sent_at FROM ingest_log WHERE cluster_name='alpha' ORDER BY received_at DESC, seq DESC LIMIT 1"; }
wl_samples() { fl_sql "SELECT coalesce(string_agg(workload_uid||'='||coalesce(round(gpu_utilization::numeric * 100)::text, 'null'), ',' ORDER BY workload_uid COLLATE \"C\"), '') FROM workload_utilization_history WHERE cluster_name='alpha' AND sampled_at = '$1'"; }
pod_samples() { fl_sql "SELECT coalesce(string_agg(pod_uid||'='||coalesce(round(gpu_utilization::numeric * 100)::text, 'null'), ',' ORDER BY pod_uid COLLATE \"C\"), '') FROM pod_utilization_history WHERE cluster_name='alpha' AND sampled_at = '$1'"; }
# The same from a frame's --dry-run JSON: Running workloads, pods in phase Running.
J_FIG='if .utilization == null then "null" else (.utilization * 100 | round | tostring) end'
wl_expect() { jq -r "[.workloads[] | select(.status == \"Running\") | \"\(.uid)=\(${J_FIG})\"] | sort | join(\",\")" "$1"; }
pod_expect() { jq -r "[.pods[] | select(.phase == \"Running\") | \"\(.uid)=\(${J_FIG})\"] | sort | join(\",\")" "$1"; }
# The newest sample per Running workload (SQL), as uid=figure × 100.
newest_wl() { fl_sql "SELECT coalesce(string_agg(w.uid||'='||coalesce(round(s.gpu_utilization::numeric * 100)::text, 'null'), ',' ORDER BY w.uid COLLATE \"C\"), '') FROM gpu_workload w LEFT JOIN LATERAL (SELECT gpu_utilization FROM workload_utilization_history h WHERE h.cluster_name = w.cluster_name AND h.workload_uid = w.uid ORDER BY sampled_at DESC LIMIT 1) s ON true WHERE w.cluster_name='alpha' AND w.status='Running'"; }
# The API's figure per Running workload, as uid=figure × 100.
J_API='if .gpu_utilization == null then "null" else (.gpu_utilization * 100 | round | tostring) end'
v1_wl() { get "/v1/workloads?cluster=alpha&status=Running&page_size=1000" | jq -r "[.data.data[] | \"\(.uid)=\(${J_API})\"] | sort | join(\",\")"; }

fl_it_start_hub

# --- the first frame: rows and one sample each ----------------------------------------------------------------------
"$BIN/fleetlens-spoke" --config "$T/s7.yaml" --once --dry-run >"$T/d7.json" 2>/dev/null
once s7
check_eq "seed 7 --once is acknowledged" 0 $?
N_RUN_WL=$(jq '[.workloads[] | select(.status == "Running")] | length' "$T/d7.json")
N_RUN_POD=$(jq '[.pods[] | select(.phase == "Running")] | length' "$T/d7.json")
check_eq "the frame has Running workloads and pods, some workloads not Running (a check on the sim)" "true true true" \
	"$([ "$N_RUN_WL" -gt 1 ] && echo true) $([ "$N_RUN_POD" -gt 1 ] && echo true) $(jq '[.workloads[] | select(.status != "Running")] | length > 0' "$T/d7.json")"
S1=$(last_sent)
check_eq "one workload sample per Running workload, at the frame's sent_at, with its figure (null without)" \
	"$(wl_expect "$T/d7.json")" "$(wl_samples "$S1")"
check_eq "one pod sample per pod in phase Running, with its figure" "$(pod_expect "$T/d7.json")" "$(pod_samples "$S1")"
check_num "no other sample" "$((N_RUN_WL + N_RUN_POD))" \
	"$(fl_sql "SELECT (SELECT count(*) FROM workload_utilization_history) + (SELECT count(*) FROM pod_utilization_history)")"
check_eq "the fact rows hold no utilization any more" "0" \
	"$(fl_sql "SELECT count(*) FROM information_schema.columns WHERE table_name IN ('gpu_pod', 'gpu_workload') AND column_name = 'gpu_utilization'")"
check_num "rows written: every pod and workload, new" "$(jq '(.pods | length) + (.workloads | length)' "$T/d7.json")" "$(written)"

# (d) the API answers the newest sample's figure
check_eq "/v1/workloads: each Running workload's figure is the frame's" "$(wl_expect "$T/d7.json")" "$(v1_wl)"
check_eq "/v1/workloads: null for every workload not Running" "null" \
	"$(get "/v1/workloads?cluster=alpha&page_size=1000" | jq -c '[.data.data[] | select(.status != "Running") | .gpu_utilization] | unique | if . == [] then "none" else .[] end')"
check_num "order_by=gpu_utilization&desc=true: the highest figure first" \
	"$(jq '[.workloads[] | select(.status == "Running" and .utilization != null) | .utilization * 100 | round] | max' "$T/d7.json")" \
	"$(get "/v1/workloads?cluster=alpha&order_by=gpu_utilization&desc=true&page_size=1" | jq '.data.data[0].gpu_utilization * 100 | round')"
check_eq "order_by=gpu_utilization: ascending, without a figure first, then by figure" \
	"$(get "/v1/workloads?cluster=alpha&page_size=1000" | jq -c '[.data.data[] | .gpu_utilization] | sort')" \
	"$(get "/v1/workloads?cluster=alpha&order_by=gpu_utilization&page_size=1000" | jq -c '[.data.data[] | .gpu_utilization]')"
W1=$(jq -r '[.workloads[] | select(.status == "Running" and .utilization != null and .pods > 1)][0].uid' "$T/d7.json")
check_eq "/v1/workloads/{uid}: its figure and each pod's (phase Running: its sample; else null)" \
	"$(jq -r --arg u "$W1" '([.workloads[] | select(.uid == $u) | .utilization * 100 | round] | .[0] | tostring) + " " + ([.pods[] | select(.workload_uid == $u) | "\(.uid)=\(if .phase == "Running" and .utilization != null then (.utilization * 100 | round | tostring) else "null" end)"] | sort | join(","))' "$T/d7.json")" \
	"$(get "/v1/workloads/$W1" | jq -r '(.data.gpu_utilization * 100 | round | tostring) + " " + ([.data.gpu_pods[] | "\(.uid)=\(if .gpu_utilization == null then "null" else (.gpu_utilization * 100 | round | tostring) end)"] | sort | join(","))')"
L_INSTANT='[.data.data[] | select(.status == "Running") | "\(.uid)=\(if .instant_gpu_utilization == null then "null" else (.instant_gpu_utilization * 100 | round | tostring) end)"] | sort | join(",")'
check_eq "/lens/v1/workloads: instant_gpu_utilization is the frame's figure" "$(wl_expect "$T/d7.json")" \
	"$(get "/lens/v1/workloads?page_size=1000" | jq -r "$L_INSTANT")"
check_eq "/lens/v1/clusters/consumers: stat.gpu_utilization (0 without a figure)" \
	"$(jq -r '[.workloads[] | select(.status == "Running") | "\(.uid)=\((.utilization // 0) * 100 | round)"] | sort | join(",")' "$T/d7.json")" \
	"$(get "/lens/v1/clusters/consumers?page_size=1000" | jq -r '[.data.data[] | "\(.uid)=\(.stat.gpu_utilization * 100 | round)"] | sort | join(",")')"
check_eq "/lens/v1/workloads/statistic: the mean of the figures" \
	"$(jq '[.workloads[] | select(.status == "Running" and .utilization != null) | .utilization] | add / length * 100 | round' "$T/d7.json")" \
	"$(get "/lens/v1/workloads/statistic" | jq '.data.avg_gpu_utilization * 100 | round')"

# --- (e) a spoke restart and a hub restart: a later created time, nothing else changed --------------------------------
CREATED=$(get "/v1/workloads?cluster=alpha&page_size=1000" | jq -c '[.data.data[] | [.uid, .created_at]] | sort')
START=$(get "/lens/v1/workloads/$W1" | jq '.data.startTime')
ROWS=$(rows)
fl_it_stop_hub
fl_it_start_hub
"$BIN/fleetlens-spoke" --config "$T/s7.yaml" --once --dry-run >"$T/d7b.json" 2>/dev/null
check_eq "a restarted spoke reports later created times (its own first sight)" "true" \
	"$(jq --slurpfile a "$T/d7.json" '[.workloads[] | .created] as $b | [$a[0].workloads[] | .created] as $a | [range($a | length)] | all($a[.] < $b[.])' "$T/d7b.json")"
once s7
check_eq "the restarted spoke's frame is acknowledged" 0 $?
check_eq "no pod or workload row written, none deleted (listed rows keep their older version)" "$ROWS" "$(rows)"
check_num "... and the rows-written counter did not move" 0 "$(written)"
check_eq "every workload's created_at stays the first one" "$CREATED" \
	"$(get "/v1/workloads?cluster=alpha&page_size=1000" | jq -c '[.data.data[] | [.uid, .created_at]] | sort')"
check_eq "... and the Lens startTime" "$START" "$(get "/lens/v1/workloads/$W1" | jq '.data.startTime')"
S2=$(last_sent)
check_eq "... while this frame's samples are appended, one each" "$(wl_expect "$T/d7b.json") $(pod_expect "$T/d7b.json")" \
	"$(wl_samples "$S2") $(pod_samples "$S2")"
check_eq "no workload went Deleted" "0" "$(fl_sql "SELECT count(*) FROM gpu_workload WHERE status = 'Deleted'")"

# --- (a) a running spoke: ticks 0..4 share their pods, the figures move ------------------------------------------------
F0=$(frames)
"$BIN/fleetlens-spoke" --config "$T/s7_run.yaml" >"$T/run.log" 2>&1 &
SPOKE_PID=$!
# Two cycles (ticks 0 and 1) take 10 s; the pods change at tick 5, 50 s after the start.
fl_wait_until 40 '[ "$(frames)" -ge $((F0 + 2)) ]'
fl_it_stop "$SPOKE_PID"
F1=$(frames)
check_eq "two or more cycles of the running spoke were committed, all before its pods change" "true" \
	"$([ "$F1" -ge $((F0 + 2)) ] && [ "$F1" -le $((F0 + 5)) ] && echo true)"
check_eq "frames that move only utilization write no pod or workload row" "$ROWS" "$(rows)"
check_num "... the rows-written counter stays" 0 "$(written)"
check_eq "... each appends one sample per Running workload and per Running pod" \
	"$(for ((i = F0; i < F1; i++)); do printf '%s ' "$N_RUN_WL/$N_RUN_POD"; done)" \
	"$(fl_sql "SELECT string_agg((SELECT count(*) FROM workload_utilization_history h WHERE h.cluster_name='alpha' AND h.sampled_at = l.sent_at)||'/'||(SELECT count(*) FROM pod_utilization_history h WHERE h.cluster_name='alpha' AND h.sampled_at = l.sent_at), ' ' ORDER BY l.received_at) || ' ' FROM (SELECT * FROM ingest_log WHERE cluster_name='alpha' ORDER BY received_at DESC LIMIT $((F1 - F0))) l")"
check_eq "the figures did move between the cycles (a check on the sim)" "t" \
	"$(fl_sql "SELECT bool_or(n > 1) FROM (SELECT workload_uid, count(DISTINCT gpu_utilization) n FROM workload_utilization_history WHERE cluster_name='alpha' AND sampled_at > '$S2' GROUP BY 1) x")"
check_eq "(d) /v1/workloads answers each workload's newest sample" "$(newest_wl)" "$(v1_wl)"
check_eq "... which is the last frame's figure" "$(wl_samples "$(last_sent)")" "$(newest_wl)"
check_eq "... and so does /lens/v1/workloads" "$(newest_wl)" "$(get "/lens/v1/workloads?page_size=1000" | jq -r "$L_INSTANT")"
check_eq "... and /v1/workloads/{uid} for the pods" \
	"$(fl_sql "SELECT string_agg(p.uid||'='||coalesce(round(s.gpu_utilization::numeric * 100)::text, 'null'), ',' ORDER BY p.uid COLLATE \"C\") FROM gpu_pod p LEFT JOIN LATERAL (SELECT gpu_utilization FROM pod_utilization_history h WHERE h.cluster_name = p.cluster_name AND h.pod_uid = p.uid ORDER BY sampled_at DESC LIMIT 1) s ON p.phase = 'Running' WHERE p.cluster_name='alpha' AND p.workload_uid='$W1'")" \
	"$(get "/v1/workloads/$W1" | jq -r '[.data.gpu_pods[] | "\(.uid)=\(if .gpu_utilization == null then "null" else (.gpu_utilization * 100 | round | tostring) end)"] | sort | join(",")')"
check_eq "a live workload's updated_at (/v1) is when the hub last saw it: the cluster's last frame" \
	"$(fl_sql "SELECT to_char(last_frame_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') FROM cluster WHERE name='alpha'")" \
	"$(get "/v1/workloads/$W1" | jq -r '.data.updated_at')"

# --- (b) a fact change updates exactly that row ----------------------------------------------------------------------
W2=$(jq -r --arg a "$W1" '[.workloads[] | select(.status == "Running" and .uid != $a)][0].uid' "$T/d7.json")
P1=$(jq -r --arg a "$W1" '[.pods[] | select(.workload_uid == $a and .node != "")][0].uid' "$T/d7.json")
fl_sql "UPDATE gpu_workload SET status = 'Pending', gpu_request = gpu_request + 1, pods = pods + 1 WHERE cluster_name='alpha' AND uid='$W1';
	UPDATE gpu_workload SET created_at = created_at + interval '1 day' WHERE cluster_name='alpha' AND uid='$W2';
	UPDATE gpu_pod SET node_name = 'elsewhere' WHERE cluster_name='alpha' AND uid='$P1'"
ROWS=$(rows)
BEFORE=$(date +%s)
once s7
check_eq "seed 7 --once again is acknowledged" 0 $?
XMIN=$(fl_sql "SELECT xmin FROM ingest_log WHERE cluster_name='alpha' ORDER BY received_at DESC, seq DESC LIMIT 1")
check_eq "the frame wrote exactly the three rows whose facts differ" "$(printf '%s\n' "p:$P1" "w:$W1" "w:$W2" | sort | paste -sd,)" \
	"$(fl_sql "SELECT string_agg(x, ',' ORDER BY x) FROM (SELECT 'w:'||uid AS x FROM gpu_workload WHERE cluster_name='alpha' AND xmin::text = '$XMIN' UNION ALL SELECT 'p:'||uid FROM gpu_pod WHERE cluster_name='alpha' AND xmin::text = '$XMIN') r")"
check_num "... counted: 3 rows written" 3 "$(written)"
check_eq "... with the frame's status, request, pods and node" \
	"$(jq -r --arg w "$W1" --arg p "$P1" '"\(.workloads[] | select(.uid == $w) | "\(.status)/\(.gpu_request)/\(.pods)") \(.pods[] | select(.uid == $p) | .node)"' "$T/d7.json")" \
	"$(fl_sql "SELECT status||'/'||gpu_request||'/'||pods FROM gpu_workload WHERE cluster_name='alpha' AND uid='$W1'") $(fl_sql "SELECT node_name FROM gpu_pod WHERE uid='$P1'")"
check_eq "... and a created time earlier than the stored one replaces it (this spoke's first sight)" "t" \
	"$(fl_sql "SELECT created_at >= to_timestamp($BEFORE) AND created_at < now() FROM gpu_workload WHERE cluster_name='alpha' AND uid='$W2'")"
check_eq "every other row is as it was" \
	"$(tr ',' '\n' <<<"$ROWS" | grep -v -e "^w:$W1@" -e "^w:$W2@" -e "^p:$P1@" | paste -sd,)" \
	"$(rows | tr ',' '\n' | grep -v -e "^w:$W1@" -e "^w:$W2@" -e "^p:$P1@" | paste -sd,)"

# --- (c) a full frame without the live workloads: Deleted, their pods gone --------------------------------------------
"$BIN/fleetlens-spoke" --config "$T/s8.yaml" --once --dry-run >"$T/d8.json" 2>/dev/null
LIVE7=$(jq '[.workloads[] | select(.status == "Running" or .status == "Pending")] | length' "$T/d7.json")
once s8
check_eq "seed 8 --once is acknowledged" 0 $?
check_num "seed 7's live workloads are Deleted (ended, no pods, no GPUs)" "$LIVE7" \
	"$(fl_sql "SELECT count(*) FROM gpu_workload WHERE cluster_name='alpha' AND status='Deleted' AND ended_at IS NOT NULL AND pods=0 AND gpu_request=0")"
check_eq "alpha's pods are exactly seed 8's" "$(jq -r '[.pods[].uid] | sort | join(",")' "$T/d8.json")" \
	"$(fl_sql "SELECT string_agg(uid, ',' ORDER BY uid COLLATE \"C\") FROM gpu_pod WHERE cluster_name='alpha'")"
check_eq "a Deleted workload shows no figure: /v1 and its pods none, Lens instant null" "null [] null" \
	"$(get "/v1/workloads/$W1" | jq -c '"\(.data.gpu_utilization) \(.data.gpu_pods)"' -r) $(get "/lens/v1/workloads?page_size=1000" | jq -c --arg u "$W1" '.data.data[] | select(.uid == $u) | .instant_gpu_utilization')"
check_eq "seed 8's Running workloads answer their figures" "$(wl_expect "$T/d8.json")" "$(v1_wl)"

fl_it_stop_hub
check_eq "no sanitizer report or crash in the logs, no failed workload statement in the hub's" "" \
	"$(grep -E 'runtime error|AddressSanitizer|LeakSanitizer' "$T/hub.log" "$T/run.log" "$T/spoke.log"; grep -E 'gpu_pod|gpu_workload|samples' "$T/hub.log" | grep -iE 'error|fail')"
fl_done
