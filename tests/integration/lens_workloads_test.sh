#!/usr/bin/env bash
# The Lens face's workload, pod and node-workload routes (hub/hub_lens_workloads.c) against LENS_API.md,
# end to end: a real PostgreSQL, the real hub (hub.lens.default_cluster alpha, an all-clusters token and a
# beta-only one), real sim spokes for two clusters. alpha runs seed 7, then seed 8: seed 7's pods leave
# gpu_pod and the trigger keeps them in gpu_pod_history, its live workloads become Deleted. One workload
# with fixed times is added by SQL (pods gone and live, bound and not, on nodes of two GPU models and on a
# node the hub does not know, five utilization samples), so GPU-hours and percentiles have exact values.
# Checked, field by field: names, JSON types, units (Unix s, RFC 3339 with offset, %), pages (page_size,
# a page past the end), filters, orders, the uid search over clusters and scopes, 4001/4004/5000 in HTTP
# 200, and that /lens/v1/workloads agrees with /v1/workloads and with the spoke's own frame.
set -uo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
source "$(dirname "$0")/assert.sh"
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/openapi.sh" # records every API answer (validated at the end)

fl_it_setup lens_wl
openapi_record "$T/openapi"
fl_it_keys alpha beta
OPS=ops-token-0123456789abcdef
BETA=beta-token-0123456789abcdef
fl_it_token ops "$OPS"
fl_it_token beta "$BETA"
fl_it_hub_config "$T/clusters.yaml" <<YAML
  history_retention: 3d
  lens:
    default_cluster: alpha
  api_tokens:
    - name: ops
      token_file: tokens/ops
    - name: beta-only
      token_file: tokens/beta
      clusters: [beta]
$(fl_it_clusters alpha beta)
YAML
fl_it_spoke_config "$T/alpha7.yaml" alpha 12 8 7 "interval: 30s" "ack_timeout: 10s"
fl_it_spoke_config "$T/alpha8.yaml" alpha 12 8 8 "interval: 30s" "ack_timeout: 10s"
fl_it_spoke_config "$T/beta.yaml" beta 6 8 9 "interval: 30s" "ack_timeout: 10s"

FL_DIAG_LOGS="$T/hub.log $T/spoke.log"
fl_it_start_hub

# The sim is deterministic per cycle: --dry-run shows what --once sends (created times aside).
"$BIN/fleetlens-spoke" --config "$T/alpha7.yaml" --once --dry-run >"$T/d7.json" 2>/dev/null
"$BIN/fleetlens-spoke" --config "$T/alpha8.yaml" --once --dry-run >"$T/d8.json" 2>/dev/null
"$BIN/fleetlens-spoke" --config "$T/beta.yaml" --once --dry-run >"$T/d9.json" 2>/dev/null
for s in alpha7 beta alpha8; do
	"$BIN/fleetlens-spoke" --config "$T/$s.yaml" --once >>"$T/spoke.log" 2>&1
	check_eq "spoke $s --once is acknowledged" 0 $?
done
check_num "seed 7's bound pods are kept in gpu_pod_history" \
	"$(jq '[.pods[] | select(.node != "")] | length' "$T/d7.json")" \
	"$(fl_sql "SELECT count(*) FROM gpu_pod_history WHERE cluster_name='alpha'")"
check_eq "alpha's live pods are seed 8's" "$(jq -r '[.pods[].uid] | sort | join(",")' "$T/d8.json")" \
	"$(fl_sql "SELECT string_agg(uid, ',' ORDER BY uid COLLATE \"C\") FROM gpu_pod WHERE cluster_name='alpha'")"

# --- the workload with fixed times ------------------------------------------------------------------
# SYN: Done, created T0, ended T0+3h. Pods: h1 gone (8 GPUs on an AMD node, T0..T0+1h: 8 GPU-h), h2 gone
# (4 on an NVIDIA node, T0+1h..T0+2.5h: 6), p3 live Succeeded (2 on the AMD node from T0+2h; its
# workload ended at T0+3h: 2), h4 gone (1 on a node the hub does not know, T0..T0+30m: 0.5 under ""),
# p5 live Pending and unbound (3 GPUs: allocated, no GPU-hours). Samples 10..50 %.
N_AMD=$(fl_sql "SELECT name FROM node WHERE cluster_name='alpha' AND gpu_name LIKE 'AMD%' ORDER BY name LIMIT 1")
N_NV=$(fl_sql "SELECT name FROM node WHERE cluster_name='alpha' AND gpu_name LIKE 'NVIDIA%' ORDER BY name LIMIT 1")
M_AMD=$(fl_sql "SELECT gpu_name FROM node WHERE cluster_name='alpha' AND name='$N_AMD'")
M_NV=$(fl_sql "SELECT gpu_name FROM node WHERE cluster_name='alpha' AND name='$N_NV'")
check_eq "alpha has an AMD and an NVIDIA node" "AMD NVIDIA" "${M_AMD%% *} ${M_NV%% *}"
SYN=lens-syn-0000-0000-0001
T0="'2026-01-01 00:00:00+00'::timestamptz"
T0S=$(date -u -d '2026-01-01 00:00:00' +%s)
fl_sql "INSERT INTO gpu_workload (cluster_name, uid, kind, api_version, namespace, name, status, gpu_request, pods,
	created_at, ended_at) VALUES ('alpha', '$SYN', 'PyTorchJob', 'kubeflow.org/v1', 'lens-ns', 'lens_syn%job', 'Done',
	0, 0, $T0, $T0 + interval '3 hours')"
fl_sql "INSERT INTO gpu_pod_history (cluster_name, uid, namespace, name, node_name, gpus, phase, workload_uid,
	created_at, ended_at) VALUES
	('alpha', 'syn-h1', 'lens-ns', 'syn-h1', '$N_AMD', 8, 'Succeeded', '$SYN', $T0, $T0 + interval '1 hour'),
	('alpha', 'syn-h2', 'lens-ns', 'syn-h2', '$N_NV', 4, 'Failed', '$SYN', $T0 + interval '1 hour', $T0 + interval '150 minutes'),
	('alpha', 'syn-h4', 'lens-ns', 'syn-h4', 'ghost-node', 1, 'Succeeded', '$SYN', $T0, $T0 + interval '30 minutes'),
	('alpha', 'orphan', 'lens-ns', 'orphan', '$N_AMD', 2, 'Succeeded', '', $T0, $T0 + interval '4 hours')"
fl_sql "INSERT INTO gpu_pod (cluster_name, uid, namespace, name, node_name, gpus, phase, running, workload_uid,
	created_at, updated_at) VALUES
	('alpha', 'syn-p3', 'lens-ns', 'syn-p3', '$N_AMD', 2, 'Succeeded', false, '$SYN', $T0 + interval '2 hours', $T0 + interval '5 hours'),
	('alpha', 'syn-p5', 'lens-ns', 'syn-p5', '', 3, 'Pending', false, '$SYN', $T0 + interval '10 minutes', $T0 + interval '5 hours')"
fl_sql "INSERT INTO workload_utilization_history (cluster_name, workload_uid, sampled_at, gpu_utilization)
	SELECT 'alpha', '$SYN', $T0 + k * interval '1 minute', k * 10 FROM generate_series(1, 5) k"

# --- helpers -----------------------------------------------------------------------------------------
code() { curl -s -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer ${TOKEN:-$OPS}" "$API$1"; }
L() { code "/lens/v1$1"; } # the Lens face
j() { jq -r "$1" "$T/body"; }
ok() { # ok WHAT PATH: HTTP 200 with Lens's success envelope (code 2000, OK, tracing null)
	check_eq "$1: 200, meta 2000 OK, tracing null" "200 2000 OK true" \
		"$(L "$2") $(j '"\(.meta.code) \(.meta.message) \(has("tracing") and .tracing == null)"')"
}
fail() { # fail WHAT PATH CODE MESSAGE: HTTP 200 with meta.code CODE, the message, data null
	check_eq "$1: 200 with $3 '$4', data null" "200 $3 $4 null" \
		"$(L "$2") $(j '"\(.meta.code) \(.meta.message) \(.data)"')"
}
epoch() { fl_sql "SELECT coalesce(floor(extract(epoch FROM $1))::bigint, 0)"; }
# A live row is written only when a fact changes: the hub last saw it at its cluster's last frame.
SEEN="greatest(w.updated_at, (SELECT last_frame_at FROM cluster WHERE name = w.cluster_name))"
LAST_FRAME_S=$(epoch "(SELECT last_frame_at FROM cluster WHERE name = 'alpha')")

# --- /clusters/consumers -----------------------------------------------------------------------------
ok "consumers (default cluster alpha)" "/clusters/consumers?page_size=1000"
check_num "consumers total: alpha's Running workloads (seed 8's frame)" \
	"$(jq '[.workloads[] | select(.status == "Running")] | length' "$T/d8.json")" "$(j .data.total)"
check_eq "consumers row keys, in Lens's order" "kind,name,namespace,uid,stat,pods,source" \
	"$(j '.data.data[0] | keys_unsorted | join(",")')"
check_eq "consumers row types: strings, stat numbers, pods null, source k8s" \
	"string string string string number number null k8s" \
	"$(j '[.data.data[] | "\(.kind|type) \(.name|type) \(.namespace|type) \(.uid|type) \(.stat.gpu_request|type) \(.stat.gpu_utilization|type) \(.pods|type) \(.source)"] | unique | join(";")')"
check_eq "consumers stat = each workload's GPU request and utilization (%, 2 decimals, 0 without)" \
	"$(jq -r '[.workloads[] | select(.status == "Running") | "\(.uid):\(.gpu_request):\((.utilization // 0) * 100 | round / 100)"] | sort | join(",")' "$T/d8.json")" \
	"$(j '[.data.data[] | "\(.uid):\(.stat.gpu_request):\(.stat.gpu_utilization)"] | sort | join(",")')"
check_eq "consumers order: the largest GPU request first" \
	"$(fl_sql "SELECT string_agg(uid, ',' ORDER BY gpu_request DESC, namespace, name, uid) FROM gpu_workload WHERE cluster_name='alpha' AND status='Running'")" \
	"$(j '[.data.data[].uid] | join(",")')"
ALL_C=$(j '[.data.data[].uid] | join(",")')
L "/clusters/consumers?page_size=3&page_num=2" >/dev/null
check_eq "consumers page 2 of 3 = rows 4..6, full total" \
	"$(echo "$ALL_C" | cut -d, -f4-6) $(fl_sql "SELECT count(*) FROM gpu_workload WHERE cluster_name='alpha' AND status='Running'")" \
	"$(j '[.data.data[].uid] | join(",")') $(j .data.total)"
L "/clusters/consumers?page_num=999" >/dev/null
check_eq "consumers page past the end: [] with the full total" \
	"[] $(fl_sql "SELECT count(*) FROM gpu_workload WHERE cluster_name='alpha' AND status='Running'")" \
	"$(j '.data.data | tojson') $(j .data.total)"
L "/clusters/consumers?cluster=beta&page_size=1000" >/dev/null
check_num "consumers ?cluster=beta: beta's Running workloads" \
	"$(jq '[.workloads[] | select(.status == "Running")] | length' "$T/d9.json")" "$(j .data.total)"
fail "consumers page_num=abc" "/clusters/consumers?page_num=abc" 5000 "Unknown error"
fail "consumers ?cluster=nope" "/clusters/consumers?cluster=nope" 4004 "ClientSet for cluster nope not found"

# --- /workloads -------------------------------------------------------------------------------------
N_ALPHA=$(fl_sql "SELECT count(*) FROM gpu_workload WHERE cluster_name='alpha'")
ok "workloads" "/workloads?page_size=1000"
check_eq "workloads total and rows: every alpha workload" "$N_ALPHA $N_ALPHA" "$(j '"\(.data.total) \(.data.data | length)"')"
check_eq "workloads item keys, in Lens's order" \
	"kind,name,namespace,uid,gpu_allocated,gpu_allocation,status,status_color,start_at,end_at,source,instant_gpu_utilization,avg_gpu_utilization,p50_gpu_utilization,p90_gpu_utilization,p95_gpu_utilization" \
	"$(j '[.data.data[] | keys_unsorted | join(",")] | unique | join(";")')"
check_eq "workloads types: gpu_allocated an integer, gpu_allocation an object, times integers, source k8s" \
	"true" "$(j '[.data.data[] | (.gpu_allocated | type == "number" and . == floor) and (.gpu_allocation | type == "object")
	and (.start_at | type == "number" and . == floor) and (.end_at | type == "number" and . == floor) and .source == "k8s"
	and ([.avg_gpu_utilization, .p50_gpu_utilization, .p90_gpu_utilization, .p95_gpu_utilization] | map(type) | unique == ["number"])
	and (.instant_gpu_utilization | type == "null" or type == "number")] | all')"
check_eq "status_color per LENS_API.md 3" "true" \
	"$(j '[.data.data[] | .status_color == ({"Running":"green","Done":"blue","Deleted":"gray","Pending":"yellow","Failed":"red"}[.status] // "")] | all')"
check_eq "every status appears (so every colour was checked)" "Deleted,Done,Failed,Pending,Running" \
	"$(j '[.data.data[].status] | unique | join(",")')"
check_eq "instant_gpu_utilization: null unless Running" "true" \
	"$(j '[.data.data[] | select(.status != "Running") | .instant_gpu_utilization == null] | all')"
check_eq "default order: newest created first (uid breaks ties)" \
	"$(fl_sql "SELECT string_agg(uid, ',' ORDER BY created_at DESC NULLS LAST, uid DESC) FROM gpu_workload WHERE cluster_name='alpha'")" \
	"$(j '[.data.data[].uid] | join(",")')"
cp "$T/body" "$T/lens_all.json"

# agrees with /v1/workloads
code "/v1/workloads?cluster=alpha&page_size=1000" >/dev/null
cp "$T/body" "$T/v1_all.json"
check_eq "agrees with /v1/workloads: kind name namespace status start_at end_at (ended_at, else updated_at) instant utilization" \
	"$(jq -r 'def s: if . == null then 0 else sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601 end;
	[.data.data[] | "\(.uid):\(.kind):\(.name):\(.namespace):\(.status):\(.created_at | s):\(.ended_at // .updated_at | s):\(if .status == "Running" then .gpu_utilization else null end)"] | sort | join(",")' "$T/v1_all.json")" \
	"$(jq -r '[.data.data[] | "\(.uid):\(.kind):\(.name):\(.namespace):\(.status):\(.start_at):\(.end_at):\(.instant_gpu_utilization)"] | sort | join(",")' "$T/lens_all.json")"
check_num "... and the same total" "$(jq .data.total "$T/v1_all.json")" "$(jq .data.total "$T/lens_all.json")"
check_eq "a live (Running, Pending) workload's gpu_allocated is its GPU request now, /v1's gpu_request (not every pod it ever had)" \
	"$(jq -r '[.data.data[] | select(.status == "Running" or .status == "Pending") | "\(.uid)=\(.gpu_request)"] | sort | join(",")' "$T/v1_all.json")" \
	"$(jq -r '[.data.data[] | select(.status == "Running" or .status == "Pending") | "\(.uid)=\(.gpu_allocated)"] | sort | join(",")' "$T/lens_all.json")"
read -r PN PP PS <<<"$(fl_sql "SELECT h.node_name||' '||h.name||' '||floor(extract(epoch FROM h.first_seen))::bigint FROM gpu_pod_history h JOIN gpu_workload w ON w.cluster_name = h.cluster_name AND w.uid = h.workload_uid WHERE h.cluster_name='alpha' AND h.created_at IS NULL AND h.first_seen IS NOT NULL ORDER BY h.uid LIMIT 1")"
check_eq "a pod the spoke sent no creation time for (the sim's) starts when the hub first stored it, not when its workload did" \
	"${PS:-no such pod}" "$(curl -s -H "Authorization: Bearer $OPS" "$API/lens/v1/nodes/$PN/workloadsHistory?cluster=alpha&page_size=1000" | jq -r --arg p "$PP" '.data.data[] | select(.pod_name == $p) | .start_time')"

# against the spoke's frames: seed 8's workloads hold their live pods; seed 7's live ones were Deleted and
# their bound pods went to history (an unbound pod leaves no trace).
check_eq "gpu_allocated of seed 8's workloads = the GPUs of their pods in the frame" \
	"$(jq -r '.pods as $p | [.workloads[] | .uid as $u | "\($u)=\([$p[] | select(.workload_uid == $u) | .gpus] | add // 0)"] | sort | join(",")' "$T/d8.json")" \
	"$(jq -r --slurpfile d "$T/d8.json" '[$d[0].workloads[].uid] as $u | [.data.data[] | select(.uid as $x | $u | index($x)) | "\(.uid)=\(.gpu_allocated)"] | sort | join(",")' "$T/lens_all.json")"
check_eq "gpu_allocated of seed 7's workloads = the GPUs of their bound pods (now history)" \
	"$(jq -r '.pods as $p | [.workloads[] | .uid as $u | "\($u)=\([$p[] | select(.workload_uid == $u and .node != "") | .gpus] | add // 0)"] | sort | join(",")' "$T/d7.json")" \
	"$(jq -r --slurpfile d "$T/d7.json" '[$d[0].workloads[].uid] as $u | [.data.data[] | select(.uid as $x | $u | index($x)) | "\(.uid)=\(.gpu_allocated)"] | sort | join(",")' "$T/lens_all.json")"
check_eq "seed 7's live workloads are Deleted with end_at = their ended_at" \
	"$(fl_sql "SELECT string_agg(uid||'='||floor(extract(epoch FROM ended_at))::bigint, ',' ORDER BY uid COLLATE \"C\") FROM gpu_workload WHERE cluster_name='alpha' AND status='Deleted'")" \
	"$(jq -r '[.data.data[] | select(.status == "Deleted") | "\(.uid)=\(.end_at)"] | sort | join(",")' "$T/lens_all.json")"
check_eq "Running workloads: end_at = when the hub last saw them (the cluster's last frame), never 0 (the console shows 0 as 1970)" \
	"$(fl_sql "SELECT string_agg(uid||'='||floor(extract(epoch FROM $SEEN))::bigint, ',' ORDER BY uid COLLATE \"C\") FROM gpu_workload w WHERE cluster_name='alpha' AND status='Running'")" \
	"$(jq -r '[.data.data[] | select(.status == "Running") | select(.end_at > 0) | "\(.uid)=\(.end_at)"] | sort | join(",")' "$T/lens_all.json")"
check_eq "Running workloads (one sample each): avg = p50 = p90 = p95 = the frame's utilization, 2 decimals" \
	"$(jq -r '[.workloads[] | select(.status == "Running" and .utilization != null) | "\(.uid)=\(.utilization * 100 | round / 100)"] | sort | join(",")' "$T/d8.json")" \
	"$(jq -r --slurpfile d "$T/d8.json" '[$d[0].workloads[] | select(.status == "Running" and .utilization != null) | .uid] as $u | [.data.data[] | select(.uid as $x | $u | index($x)) | select(.avg_gpu_utilization == .p50_gpu_utilization and .p50_gpu_utilization == .p90_gpu_utilization and .p90_gpu_utilization == .p95_gpu_utilization) | "\(.uid)=\(.avg_gpu_utilization)"] | sort | join(",")' "$T/lens_all.json")"
check_eq "a GPU-hours key is a GPU model of the cluster's nodes" "true" \
	"$(jq --argjson m "$(fl_sql "SELECT json_agg(DISTINCT gpu_name) FROM node WHERE cluster_name='alpha'")" \
		'[.data.data[] | select(.uid != "'$SYN'") | .gpu_allocation | keys[] | . as $k | $m | index($k) != null] | all' "$T/lens_all.json")"
check_eq "a live Running workload's bound pods yield GPU-hours" "true" \
	"$(jq '[.data.data[] | select(.status == "Running" and .gpu_allocated > 0) | (.gpu_allocation | length) > 0] | any' "$T/lens_all.json")"

# the workload with fixed times
L "/workloads?name=lens_syn" >/dev/null
check_eq "SYN: one row" "1 $SYN" "$(j '"\(.data.total) \(.data.data[0].uid)"')"
check_eq "SYN: status Done, blue, start_at T0, end_at T0+3h (Unix s), instant null" \
	"Done blue $T0S $((T0S + 10800)) null" \
	"$(j '.data.data[0] | "\(.status) \(.status_color) \(.start_at) \(.end_at) \(.instant_gpu_utilization)"')"
check_num "SYN: gpu_allocated = every linked pod's GPUs (8+4+2+1+3)" 18 "$(j '.data.data[0].gpu_allocated')"
check_eq "SYN: gpu_allocation = GPU-hours per model (a live pod stops when its workload ended; unknown node \"\")" \
	"$(jq -cn --arg a "$M_AMD" --arg n "$M_NV" '{"": 0.5, ($a): 10, ($n): 6} | to_entries | sort_by(.key) | from_entries')" \
	"$(j '.data.data[0].gpu_allocation | to_entries | map(.value |= (. * 1000 | round / 1000)) | sort_by(.key) | from_entries | tojson')"
check_eq "SYN: avg, p50, p90, p95 of its samples 10..50 %" "30 30 46 48" \
	"$(j '.data.data[0] | "\(.avg_gpu_utilization) \(.p50_gpu_utilization) \(.p90_gpu_utilization) \(.p95_gpu_utilization)"')"

# filters, orders, pages
check_num "name is a substring, not a LIKE pattern: '%' matches only SYN" 1 "$(L "/workloads?name=%25" >/dev/null; j .data.total)"
check_num "... and '_' only SYN" 1 "$(L "/workloads?name=_" >/dev/null; j .data.total)"
for f in "kind=Job:kind='Job'" "namespace=research:namespace='research'" "status=Deleted:status='Deleted'" \
	"status=Running&kind=PyTorchJob:status='Running' AND kind='PyTorchJob'" "name=infer:strpos(name, 'infer') > 0" \
	"kind=job:kind='job'"; do
	check_num "workloads ?${f%%:*}: total as SQL counts" \
		"$(fl_sql "SELECT count(*) FROM gpu_workload WHERE cluster_name='alpha' AND ${f#*:}")" \
		"$(L "/workloads?${f%%:*}" >/dev/null; j .data.total)"
done
check_eq "order_by=end_at: the latest end_at first (a running one's is when it was last seen)" \
	"$(fl_sql "SELECT string_agg(uid, ',' ORDER BY coalesce(ended_at, CASE WHEN status IN ('Running', 'Pending') THEN $SEEN ELSE updated_at END) DESC, created_at DESC NULLS LAST, uid DESC) FROM gpu_workload w WHERE cluster_name='alpha'")" \
	"$(L "/workloads?order_by=end_at&page_size=1000" >/dev/null; j '[.data.data[].uid] | join(",")')"
check_eq "order_by=start_at&desc=false: still newest created first (Lens ignores desc)" \
	"$(jq -r '[.data.data[].uid] | join(",")' "$T/lens_all.json")" \
	"$(L "/workloads?order_by=start_at&desc=false&page_size=1000" >/dev/null; j '[.data.data[].uid] | join(",")')"
check_eq "order_by=status: by creation" "$(jq -r '[.data.data[].uid] | join(",")' "$T/lens_all.json")" \
	"$(L "/workloads?order_by=status&page_size=1000" >/dev/null; j '[.data.data[].uid] | join(",")')"
check_eq "page 2 of 4 = rows 5..8" "$(jq -r '[.data.data[4:8][].uid] | join(",")' "$T/lens_all.json")" \
	"$(L "/workloads?page_size=4&page_num=2" >/dev/null; j '[.data.data[].uid] | join(",")')"
check_eq "default page: 10 rows" 10 "$(L "/workloads" >/dev/null; j '.data.data | length')"
check_eq "page_size=0 and page_num=0 mean 10 rows of page 1" "$(jq -r '[.data.data[0:10][].uid] | join(",")' "$T/lens_all.json")" \
	"$(L "/workloads?page_size=0&page_num=0" >/dev/null; j '[.data.data[].uid] | join(",")')"
check_eq "a page past the end: [] with the full total" "[] $N_ALPHA" \
	"$(L "/workloads?page_num=99999999999" >/dev/null; j '"\(.data.data | tojson) \(.data.total)"')"
check_eq "a filter matching nothing: [] and 0" "[] 0" "$(L "/workloads?kind=Nope" >/dev/null; j '"\(.data.data | tojson) \(.data.total)"')"
fail "workloads page_size=x" "/workloads?page_size=x" 5000 "Unknown error"
check_num "workloads ?cluster=beta: beta's" "$(jq '.workloads | length' "$T/d9.json")" \
	"$(L "/workloads?cluster=beta" >/dev/null; j .data.total)"

# --- /workloadMetadata -------------------------------------------------------------------------------
ok "workloadMetadata" "/workloadMetadata"
check_eq "namespaces and kinds: alpha's distinct values, sorted" \
	"$(fl_sql "SELECT string_agg(DISTINCT namespace, ',' ORDER BY namespace) FROM gpu_workload WHERE cluster_name='alpha'") $(fl_sql "SELECT string_agg(DISTINCT kind, ',' ORDER BY kind) FROM gpu_workload WHERE cluster_name='alpha'")" \
	"$(j '"\(.data.namespaces | join(",")) \(.data.kinds | join(","))"')"
check_eq "... exactly those two keys, arrays" "kinds:array,namespaces:array" "$(j '.data | [to_entries[] | "\(.key):\(.value|type)"] | sort | join(",")')"
check_eq "beta's namespaces" "$(jq -r '[.workloads[].namespace] | unique | join(",")' "$T/d9.json")" \
	"$(L "/workloadMetadata?cluster=beta" >/dev/null; j '.data.namespaces | join(",")')"

# --- /workloads/hierarchy ----------------------------------------------------------------------------
ok "hierarchy kind=PyTorchJob&name=lens" "/workloads/hierarchy?kind=PyTorchJob&name=lens"
check_eq "hierarchy: the workload, children [] (FleetLens keeps top-level workloads only)" \
	"PyTorchJob|lens_syn%job|lens-ns|$SYN|[]" "$(j '.data | "\(.kind)|\(.name)|\(.namespace)|\(.uid)|\(.children | tojson)"')"
check_eq "hierarchy keys" "kind,name,namespace,uid,children" "$(j '.data | keys_unsorted | join(",")')"
check_eq "hierarchy: the newest of the kind whose name contains name" \
	"$(fl_sql "SELECT uid FROM gpu_workload WHERE cluster_name='alpha' AND kind='Job' AND strpos(name, 'crash') > 0 ORDER BY created_at DESC, uid DESC LIMIT 1")" \
	"$(L "/workloads/hierarchy?kind=Job&name=crash" >/dev/null; j .data.uid)"
check_eq "hierarchy: namespace narrows it" "4004" "$(L "/workloads/hierarchy?kind=PyTorchJob&name=lens&namespace=other" >/dev/null; j .meta.code)"
fail "hierarchy without kind" "/workloads/hierarchy?name=lens" 4001 "kind and name are required"
fail "hierarchy without name" "/workloads/hierarchy?kind=Job" 4001 "kind and name are required"
fail "hierarchy: nothing matches" "/workloads/hierarchy?kind=Job&name=zzz" 4004 "workload not found"

# --- /workloads/{uid} --------------------------------------------------------------------------------
ok "workload SYN" "/workloads/$SYN"
check_eq "detail keys (camelCase body + status)" \
	"apiVersion,kind,name,namespace,uid,gpu_allocation,pods,activePods,startTime,endTime,source,status" \
	"$(j '.data | keys_unsorted | join(",")')"
check_eq "detail: apiVersion kind name namespace uid startTime endTime (real end) source status" \
	"kubeflow.org/v1 PyTorchJob lens_syn%job lens-ns $SYN $T0S $((T0S + 10800)) k8s Done" \
	"$(j '.data | "\(.apiVersion) \(.kind) \(.name) \(.namespace) \(.uid) \(.startTime) \(.endTime) \(.source) \(.status)"')"
check_eq "detail gpu_allocation = the list's" "$(L "/workloads?name=lens_syn" >/dev/null; j '.data.data[0].gpu_allocation | tojson')" \
	"$(L "/workloads/$SYN" >/dev/null; j '.data.gpu_allocation | tojson')"
check_eq "detail pods: every linked pod, gone or live, by creation" "syn-h1,syn-h4,syn-p5,syn-h2,syn-p3" "$(j '[.data.pods[].podUid] | join(",")')"
check_eq "detail pod keys (no ip: not kept)" "podUid,podNamespace,podName,nodeName,phase,running,gpuAllocated,createdAt,updatedAt" \
	"$(j '[.data.pods[] | keys_unsorted | join(",")] | unique | join(";")')"
check_eq "detail pod syn-h2: fields, times Unix s (updatedAt = when it left)" \
	"lens-ns syn-h2 $N_NV Failed false 4 $((T0S + 3600)) $((T0S + 9000))" \
	"$(j '.data.pods[] | select(.podUid == "syn-h2") | "\(.podNamespace) \(.podName) \(.nodeName) \(.phase) \(.running) \(.gpuAllocated) \(.createdAt) \(.updatedAt)"')"
check_eq "detail pod syn-p3 (live): updatedAt = last seen, its cluster's last frame (after its updated_at)" "Succeeded false $((T0S + 7200)) $LAST_FRAME_S" \
	"$(j '.data.pods[] | select(.podUid == "syn-p3") | "\(.phase) \(.running) \(.createdAt) \(.updatedAt)"')"
check_eq "detail activePods: none run" "[]" "$(j '.data.activePods | tojson')"
RUN=$(jq -r '[.workloads[] | select(.status == "Running" and .pods > 1)][0].uid' "$T/d8.json")
ok "a Running workload" "/workloads/$RUN"
check_eq "Running: activePods = its running pods, pods = all its pods, endTime 0, status Running" \
	"$(jq -r --arg u "$RUN" '"\([.pods[] | select(.workload_uid == $u and .running) | .uid] | sort | join(",")) \([.pods[] | select(.workload_uid == $u) | .uid] | sort | join(",")) 0 Running"' "$T/d8.json")" \
	"$(j '"\([.data.activePods[].podUid] | sort | join(",")) \([.data.pods[].podUid] | sort | join(",")) \(.data.endTime) \(.data.status)"')"
check_eq "Running: startTime = its creation (Unix s)" "$(epoch "(SELECT created_at FROM gpu_workload WHERE uid='$RUN')")" "$(j .data.startTime)"
check_eq "Running: pod types" "string string string string string boolean number number number" \
	"$(j '[.data.pods[] | "\(.podUid|type) \(.podNamespace|type) \(.podName|type) \(.nodeName|type) \(.phase|type) \(.running|type) \(.gpuAllocated|type) \(.createdAt|type) \(.updatedAt|type)"] | unique | join(";")')"
BUID=$(jq -r '.workloads[0].uid' "$T/d9.json")
BNAME=$(jq -r '.workloads[0].name' "$T/d9.json")
check_eq "a beta workload without ?cluster=: found after the default cluster" "200 2000 $BNAME" "$(L "/workloads/$BUID") $(j '"\(.meta.code) \(.data.name)"')"
fail "... with ?cluster=alpha" "/workloads/$BUID?cluster=alpha" 4004 "workload not found"
fail "an unknown uid" "/workloads/00000000-0000-0000-0000-000000000000" 4004 "workload not found"
fail "a uid with a quote" "/workloads/x%27y" 4004 "workload not found"
fail "a cluster that does not exist" "/workloads/$SYN?cluster=nope" 4004 "ClientSet for cluster nope not found"
fl_sql "INSERT INTO gpu_workload (cluster_name, uid, kind, namespace, name, status) VALUES ('beta', '$SYN', 'Job', 'b', 'beta-twin', 'Running')"
check_eq "a uid in both clusters: the default cluster's without ?cluster=" "lens_syn%job" "$(L "/workloads/$SYN" >/dev/null; j .data.name)"
check_eq "... beta's with ?cluster=beta" "beta-twin" "$(L "/workloads/$SYN?cluster=beta" >/dev/null; j .data.name)"
TOKEN=$BETA
check_eq "... beta's for a beta-only token (alpha is out of its scope)" "beta-twin" "$(L "/workloads/$SYN" >/dev/null; j .data.name)"
check_eq "an alpha-only workload is 4004 for the beta-only token" 4004 "$(L "/workloads/$RUN" >/dev/null; j .meta.code)"
check_eq "... and ?cluster=alpha is 4004 for it" 4004 "$(L "/workloads/$RUN?cluster=alpha" >/dev/null; j .meta.code)"
TOKEN=""
fl_sql "DELETE FROM gpu_workload WHERE cluster_name='beta' AND uid='$SYN'"

# --- /workloads/{uid}/hierarchy ----------------------------------------------------------------------
ok "subtree of SYN" "/workloads/$SYN/hierarchy"
check_eq "subtree: the workload, children []" "PyTorchJob|lens_syn%job|lens-ns|$SYN|[]" \
	"$(j '.data | "\(.kind)|\(.name)|\(.namespace)|\(.uid)|\(.children | tojson)"')"
check_eq "subtree of a beta workload without ?cluster=" "$BNAME" "$(L "/workloads/$BUID/hierarchy" >/dev/null; j .data.name)"
fail "subtree of an unknown uid" "/workloads/nope/hierarchy" 4004 "workload not found"
fail "subtree of an unknown uid with ?cluster=" "/workloads/nope/hierarchy?cluster=alpha" 4004 "workload not found"

# --- /workloads/statistic(s) -------------------------------------------------------------------------
ok "statistic" "/workloads/statistic"
check_eq "statistic keys and types" "running_workloads_count:number,avg_gpu_allocated:number,avg_gpu_utilization:number,low_utilization_workloads_count:number" \
	"$(j '.data | [to_entries[] | "\(.key):\(.value|type)"] | join(",")')"
check_eq "statistic = seed 8's Running workloads: count, mean request, mean utilization, those under 30 %" \
	"$(jq -r '[.workloads[] | select(.status == "Running")] as $r | [$r[] | select(.utilization != null) | .utilization] as $u |
	"\($r | length) \([$r[].gpu_request] | add / length * 100 | round / 100) \($u | add / length * 100 | round / 100) \([$u[] | select(. < 30)] | length)"' "$T/d8.json")" \
	"$(j '.data | "\(.running_workloads_count) \(.avg_gpu_allocated) \(.avg_gpu_utilization) \(.low_utilization_workloads_count)"')"
STAT=$(j '.data | tojson')
check_eq "/workloads/statistics (plural) answers the same" "200 $STAT" "$(L "/workloads/statistics") $(j '.data | tojson')"
check_eq "/api/v1/workloads/statistic answers the same" "200 $STAT" "$(code "/api/v1/workloads/statistic") $(j '.data | tojson')"
check_eq "statistic ?cluster=beta: beta's count" "$(jq '[.workloads[] | select(.status == "Running")] | length' "$T/d9.json")" \
	"$(L "/workloads/statistic?cluster=beta" >/dev/null; j .data.running_workloads_count)"

# --- /nodes/{name}/workloads -------------------------------------------------------------------------
# The sim puts one workload's running pods on a node; a running pod of a second workload (W2, which runs
# on other nodes too) is added there by SQL, and to the frame the expectations come from.
NODE=$(jq -r '[.pods[] | select(.running)][0].node' "$T/d8.json")
W2=$(jq -r --arg n "$NODE" '[.pods[] | select(.running)] as $r | [$r[] | select(.node == $n) | .workload_uid] as $on |
	[$r[] | select(.node != $n) | .workload_uid | select(. as $u | $on | index($u) | not)][0]' "$T/d8.json")
fl_sql "INSERT INTO gpu_pod (cluster_name, uid, namespace, name, node_name, gpus, phase, running, workload_uid)
	VALUES ('alpha', 'extra-pod', 'x', 'extra-pod', '$NODE', 1, 'Running', true, '$W2')"
jq --arg n "$NODE" --arg w "$W2" '.pods += [{uid: "extra-pod", node: $n, gpus: 1, running: true, workload_uid: $w}]' \
	"$T/d8.json" >"$T/d8x.json"
ok "node workloads of $NODE" "/nodes/$NODE/workloads?page_size=100"
check_eq "node workloads: the workloads of its running pods, GPUs on every node and on this one" \
	"$(jq -r --arg n "$NODE" '[.pods[] | select(.running)] as $r | [$r[] | select(.node == $n) | .workload_uid] | unique |
	map(. as $u | "\($u):\([$r[] | select(.workload_uid == $u) | .gpus] | add):\([$r[] | select(.workload_uid == $u and .node == $n) | .gpus] | add)") | join(",")' "$T/d8x.json")" \
	"$(j '[.data.data[] | "\(.uid):\(.gpu_allocated):\(.gpu_allocated_node)"] | sort | join(",")')"
check_eq "node workloads: keys, node_name, status Running" "kind,name,namespace,uid,gpu_allocated,gpu_allocated_node,node_name,status $NODE Running" \
	"$(j '"\([.data.data[] | keys_unsorted | join(",")] | unique | join(";")) \([.data.data[].node_name] | unique | join(",")) \([.data.data[].status] | unique | join(","))"')"
check_eq "node workloads: kind name namespace from the workload" \
	"$(jq -r --arg n "$NODE" '[.pods[] | select(.running and .node == $n) | .workload_uid] as $u | [.workloads[] | select(.uid as $x | $u | index($x)) | "\(.kind)/\(.namespace)/\(.name)"] | sort | join(",")' "$T/d8x.json")" \
	"$(j '[.data.data[] | "\(.kind)/\(.namespace)/\(.name)"] | sort | join(",")')"
NW=$(j .data.total)
check_eq "node workloads: more than one, so pages mean something" 1 "$([ "$NW" -ge 2 ] && echo 1 || echo 0)"
ALL_NW=$(j '[.data.data[].uid] | join(",")')
check_eq "node workloads page 2 of 1: the second row, full total" "$(echo "$ALL_NW" | cut -d, -f2) $NW" \
	"$(L "/nodes/$NODE/workloads?page_size=1&page_num=2" >/dev/null; j '"\([.data.data[].uid] | join(",")) \(.data.total)"')"
check_eq "node workloads page past the end" "[] $NW" "$(L "/nodes/$NODE/workloads?page_num=50" >/dev/null; j '"\(.data.data | tojson) \(.data.total)"')"
check_eq "an unknown node: [] and 0" "200 [] 0" "$(L "/nodes/nope/workloads") $(j '"\(.data.data | tojson) \(.data.total)"')"

# --- /nodes/{name}/workloadsHistory ------------------------------------------------------------------
# N_AMD: seed 7's bound pods that ran there (history), seed 8's pods there that neither run nor wait,
# syn-h1 and syn-p3; not the orphan (no workload).
EXP_H=$(($(jq --arg n "$N_AMD" '[.pods[] | select(.node == $n)] | length' "$T/d7.json") + \
	$(jq --arg n "$N_AMD" '[.pods[] | select(.node == $n and (.running | not) and .phase != "Pending")] | length' "$T/d8.json") + 2))
ok "workloadsHistory of $N_AMD" "/nodes/$N_AMD/workloadsHistory?page_size=1000"
check_num "history total: gone pods, live pods done, SYN's two; not the pod without a workload" "$EXP_H" "$(j .data.total)"
check_num "... as many rows" "$EXP_H" "$(j '.data.data | length')"
check_eq "history item keys" "kind,name,namespace,uid,gpu_allocated,pod_name,pod_namespace,start_time,end_time" \
	"$(j '[.data.data[] | keys_unsorted | join(",")] | unique | join(";")')"
check_eq "history: seed 7's pods there, each with its workload and GPUs" \
	"$(jq -r --arg n "$N_AMD" '.workloads as $w | [.pods[] | select(.node == $n) | .workload_uid as $u | "\(.name):\(.namespace):\($u):\($w[] | select(.uid == $u) | "\(.kind):\(.name)"):\(.gpus)"] | sort | join(",")' "$T/d7.json")" \
	"$(jq -r --slurpfile d "$T/d7.json" '[$d[0].pods[].name] as $p | [.data.data[] | select(.pod_name as $x | $p | index($x)) | "\(.pod_name):\(.pod_namespace):\(.uid):\(.kind):\(.name):\(.gpu_allocated)"] | sort | join(",")' "$T/body")"
check_eq "history syn-h1: start_time = created, end_time = when it left (Unix s)" \
	"$SYN PyTorchJob lens_syn%job lens-ns 8 $T0S $((T0S + 3600))" \
	"$(j '.data.data[] | select(.pod_name == "syn-h1") | "\(.uid) \(.kind) \(.name) \(.namespace) \(.gpu_allocated) \(.start_time) \(.end_time)"')"
check_eq "history syn-p3 (live, Succeeded): end_time = last seen (its cluster's last frame)" "$((T0S + 7200)) $LAST_FRAME_S" \
	"$(j '.data.data[] | select(.pod_name == "syn-p3") | "\(.start_time) \(.end_time)"')"
NOT_DONE=$(fl_sql "SELECT coalesce(json_agg(name), '[]') FROM gpu_pod WHERE cluster_name='alpha' AND (running OR phase='Pending')")
check_eq "history: no orphan, no running or Pending pod" 0 \
	"$(jq --argjson x "$NOT_DONE" '[.data.data[] | select(.pod_name == "orphan" or (.pod_name as $p | $x | index($p)))] | length' "$T/body")"
check_eq "history: the latest end first" "true" "$(j '[.data.data[].end_time] | . == (sort | reverse)')"
check_eq "history: times are integers" "true" "$(j '[.data.data[] | (.start_time | type == "number" and . == floor) and (.end_time | type == "number" and . == floor)] | all')"
ALL_H=$(j '[.data.data[].pod_name] | join(",")')
check_eq "history page 2 of 2 = rows 3..4, full total" "$(echo "$ALL_H" | cut -d, -f3-4) $EXP_H" \
	"$(L "/nodes/$N_AMD/workloadsHistory?page_size=2&page_num=2" >/dev/null; j '"\([.data.data[].pod_name] | join(",")) \(.data.total)"')"
check_eq "history page past the end" "[] $EXP_H" "$(L "/nodes/$N_AMD/workloadsHistory?page_num=1000" >/dev/null; j '"\(.data.data | tojson) \(.data.total)"')"
check_eq "history of an unknown node: [] and 0" "[] 0" "$(L "/nodes/nope/workloadsHistory" >/dev/null; j '"\(.data.data | tojson) \(.data.total)"')"

# --- /pods/{pod_uid} ---------------------------------------------------------------------------------
LIVE=$(jq -r '[.pods[] | select(.running)][0] | .uid' "$T/d8.json")
ok "a running pod" "/pods/$LIVE?cluster=alpha"
check_eq "pod keys (no ip, no current_metrics: the hub keeps neither)" \
	"pod_uid,pod_name,namespace,node_name,status,phase,created_at,updated_at,allocated_gpus,running,deleted,owner_uid" \
	"$(j '.data | keys_unsorted | join(",")')"
check_eq "running pod: fields as the frame, status Running, owner_uid = its workload" \
	"$(jq -r --arg u "$LIVE" '.pods[] | select(.uid == $u) | "\(.uid) \(.name) \(.namespace) \(.node) Running \(.phase) \(.gpus) true false \(.workload_uid)"' "$T/d8.json")" \
	"$(j '.data | "\(.pod_uid) \(.pod_name) \(.namespace) \(.node_name) \(.status) \(.phase) \(.allocated_gpus) \(.running) \(.deleted) \(.owner_uid)"')"
RFC='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$'
check_eq "pod times: RFC 3339 with offset" "true true" \
	"$(jq -r --arg re "$RFC" '"\(.data.created_at | test($re)) \(.data.updated_at | test($re))"' "$T/body")"
check_eq "pod updated_at = when the hub last saw it (its cluster's last frame)" "$(epoch "(SELECT greatest(updated_at, (SELECT last_frame_at FROM cluster WHERE name = 'alpha')) FROM gpu_pod WHERE uid='$LIVE')")" \
	"$(date -d "$(j .data.updated_at)" +%s)"
check_eq "a gone pod (syn-h2): deleted, not running, status from its phase, updated_at = when it left" \
	"true false Failed Failed 4 $N_NV $((T0S + 3600)) $((T0S + 9000)) $SYN" \
	"$(L "/pods/syn-h2?cluster=alpha" >/dev/null; j '.data | "\(.deleted) \(.running) \(.status) \(.phase) \(.allocated_gpus) \(.node_name)"') $(date -d "$(j .data.created_at)" +%s) $(date -d "$(j .data.updated_at)" +%s) $(j .data.owner_uid)"
check_eq "a seed 7 pod, gone when seed 8's frame came: deleted, status Unknown for phase Running" \
	"true false Unknown" \
	"$(L "/pods/$(jq -r '[.pods[] | select(.node != "" and .phase == "Running")][0].uid' "$T/d7.json")?cluster=alpha" >/dev/null; j '.data | "\(.deleted) \(.running) \(.status)"')"
check_eq "a Pending pod: status Pending" "Pending Pending false" \
	"$(L "/pods/syn-p5?cluster=alpha" >/dev/null; j '.data | "\(.status) \(.phase) \(.deleted)"')"
check_eq "a pod without a workload: no owner_uid key" "false" "$(L "/pods/orphan?cluster=alpha" >/dev/null; j '.data | has("owner_uid")')"
fail "pod without ?cluster=" "/pods/$LIVE" 4004 "cluster is required"
fail "pod in the other cluster" "/pods/$LIVE?cluster=beta" 4004 "pod not found"
fail "unknown pod" "/pods/nope?cluster=alpha" 4004 "pod not found"
TOKEN=$BETA
fail "pod in a cluster out of the token's scope" "/pods/$LIVE?cluster=alpha" 4004 "ClientSet for cluster alpha not found"
TOKEN=""

fl_it_stop_hub
check_eq "no database error logged by the Lens routes" "" "$(grep -E 'api: lens' "$T/hub.log")"
check_eq "no sanitizer report, no crash in the hub log" "" "$(grep -E 'runtime error|AddressSanitizer|LeakSanitizer' "$T/hub.log")"
openapi_validate # every answer above against hub/openapi.json (openapi.sh)
fl_done
