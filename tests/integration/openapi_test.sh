#!/usr/bin/env bash
# The API's contract (hub/openapi.json): the document passes our OpenAPI 3.1 lint (its schemas valid JSON
# Schema 2020-12, every $ref resolving), its paths are exactly the hub's routes (read from the route tables in
# hub_metrics.c and hub_lens.c), the checker refuses answers that drift from it, GET /v1/openapi.json without
# a token is the document byte for byte, and every route answers as the document says: each /v1 and
# /lens/v1 route called against a hub with data (a sim spoke's frame, node agents, GPU jobs) at least once
# with success and once with an error, every answer validated (tests/integration/openapi.sh).
set -uo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
source "$(dirname "$0")/assert.sh"
source "$(dirname "$0")/lib.sh"
DOC=$FL_ROOT/hub/openapi.json
CHECK=$FL_ROOT/tests/tools/openapi_check.py

fl_it_setup openapi
source "$(dirname "$0")/openapi.sh"

# --- the document -------------------------------------------------------------------------------------------
out=$(python3 "$CHECK" "$DOC" --lint 2>&1)
check_eq "hub/openapi.json passes the OpenAPI 3.1 lint (structure, refs resolve, schemas valid 2020-12)" \
	"linted $(jq '.paths | length' "$DOC") paths, 0 problems" "$(tail -1 <<<"$out")"
[ "$FL_FAIL" -eq 0 ] || echo "$out" | head -20
check_eq "openapi 3.1.0, bearer security" "3.1.0 http bearer" \
	"$(jq -r '"\(.openapi) \(.components.securitySchemes.bearer.type) \(.components.securitySchemes.bearer.scheme)"' "$DOC")"

# The hub's routes: hub_metrics.c's route names (/v1, /healthz, /readyz, /metrics; not its "/lens/v1",
# "console", "other" labels) and hub_lens.c's two route tables (mounted at /lens/v1).
routes() {
	sed -n '/route_names\[HUB_ROUTE_COUNT\]/,/};/p' "$FL_ROOT/hub/hub_metrics.c" | grep -o '"/[^"]*"' | tr -d '"' |
		grep -v '^/lens/v1$'
	sed -n '/^} routes\[\] = {/,/^};/p' "$FL_ROOT/hub/hub_lens.c" | sed -n 's/^ *{"\(\/[^"]*\)", hub.*/\/lens\/v1\1/p'
	sed -n '/^} item_routes\[\] = {/,/^};/p' "$FL_ROOT/hub/hub_lens.c" |
		sed -n 's/^ *{"\/\([a-z]*\)\/", "\([^"]*\)".*/\1 \2/p' | while read -r kind suffix; do
		case $kind in nodes) seg=name ;; workloads) seg=uid ;; pods) seg=pod_uid ;; *) seg=UNKNOWN ;; esac
		echo "/lens/v1/$kind/{$seg}$suffix"
	done
}
check_eq "the route tables name 46 routes (17 /v1, 3 ops, 26 Lens)" 46 "$(routes | sort -u | wc -l)"
check_eq "the document's paths are exactly the hub's routes" "" \
	"$(diff <(routes | sort -u) <(python3 "$CHECK" "$DOC" --paths) | grep '^[<>]' | paste -sd' ')"

# --- the checker refuses drift --------------------------------------------------------------------------------
answer() { # METHOD URL STATUS TYPE BODY → the checker's verdict line
	printf '%s' "$5" >"$T/answer"
	python3 "$CHECK" "$DOC" --answer "$1" "$2" "$3" "$4" "$T/answer" | tail -1
}
OK_JOB='{"meta":{"code":2000,"message":"OK"},"data":{"id":1,"cluster_name":"a","node_name":"n","pid":1,"ppid":0,"pgid":0,"name":"python","cmdline":"python x","cwd":"/","framework":"pytorch","pod_uid":"","devices":"0","status":"running","started_at":"2026-01-01T00:00:00.000Z","first_seen":"2026-01-01T00:00:00.000Z","last_seen":"2026-01-01T00:00:00.000Z","ended_at":null,"state":"S","cpu_percent":12.5,"rss_bytes":1073741824,"threads":8,"fds":64,"gpu_memory_bytes":null,"gpu_ids":[0],"gpu_utilization":null,"sampled_at":"2026-01-01T00:00:00.000Z","params":{"batch_size":32,"model":"resnet50"},"env":{"RANK":"0"},"config_path":"/cfg/train.yaml","idle_since":null}}'
check_eq "checker: a job answer as documented passes" "validated 1 answers, 0 problems" \
	"$(answer GET /v1/jobs/1 200 application/json "$OK_JOB")"
check_eq "checker: a key the document does not have fails" "validated 1 answers, 1 problems" \
	"$(answer GET /v1/jobs/1 200 application/json "$(jq -c '.data.extra = 1' <<<"$OK_JOB")")"
check_eq "checker: a missing key fails" "validated 1 answers, 1 problems" \
	"$(answer GET /v1/jobs/1 200 application/json "$(jq -c 'del(.data.cwd)' <<<"$OK_JOB")")"
check_eq "checker: a number where an integer belongs fails" "validated 1 answers, 1 problems" \
	"$(answer GET /v1/jobs/1 200 application/json "$(jq -c '.data.pid = 1.5' <<<"$OK_JOB")")"
check_eq "checker: a status outside the enum fails" "validated 1 answers, 1 problems" \
	"$(answer GET /v1/jobs/1 200 application/json "$(jq -c '.data.status = "zombie"' <<<"$OK_JOB")")"
check_eq "checker: an undocumented status code fails" "validated 1 answers, 1 problems" \
	"$(answer GET /v1/jobs/1 418 application/json "$OK_JOB")"
check_eq "checker: a wrong content type fails" "validated 1 answers, 1 problems" \
	"$(answer GET /v1/jobs/1 200 text/html "$OK_JOB")"
check_eq "checker: a query value outside its schema on a success fails" "validated 1 answers, 1 problems" \
	"$(answer GET '/v1/jobs?page_size=5000' 200 application/json '{"meta":{"code":2000,"message":"OK"},"data":{"data":[],"total":0}}')"
check_eq "checker: /api/v1 is the Lens face's second mount" "validated 1 answers, 0 problems" \
	"$(answer GET /api/v1/gpu-aggregation/clusters 200 application/json '{"meta":{"code":2000,"message":"OK"},"data":["a"],"tracing":null}')"
check_eq "checker: a Lens error with HTTP 200 passes" "validated 1 answers, 0 problems" \
	"$(answer GET /lens/v1/nodes 200 application/json '{"meta":{"code":4004,"message":"ClientSet for cluster x not found"},"data":null,"tracing":null}')"

# --- a hub with data ------------------------------------------------------------------------------------------
fl_it_keys alpha beta
OPS=ops-token-0123456789abcdef
fl_it_token ops "$OPS"
fl_it_hub_config "$T/clusters.yaml" <<YAML
  api_tokens:
    - name: ops
      token_file: tokens/ops
clusters:
  - name: alpha
    labels: {region: us-east}
    key_file: keys/alpha.key
  - name: beta
    key_file: keys/beta.key
YAML
fl_it_spoke_config "$T/alpha.yaml" alpha 4 8 7
FL_DIAG_LOGS="$T/hub.log $T/spoke.log"
fl_it_start_hub
"$BIN/fleetlens-spoke" --config "$T/alpha.yaml" --once >>"$T/spoke.log" 2>&1
check_eq "alpha's sim frame is acknowledged" 0 $?

# /v1/openapi.json: no token needed, the document byte for byte.
check_eq "GET /v1/openapi.json without a token: 200" 200 \
	"$(command curl -s -o "$T/served.json" -w '%{http_code}' "$API/v1/openapi.json")"
check_eq "the served document is hub/openapi.json byte for byte" "" "$(cmp "$T/served.json" "$DOC" 2>&1)"
check_eq "other /v1 routes still need a token" 401 "$(command curl -s -o /dev/null -w '%{http_code}' "$API/v1/nodes")"

# Node agents and GPU jobs (the node agents' tables) for gpu-00000 and for a node only an agent reports.
NODE=$(fl_sql "SELECT name FROM node WHERE cluster_name = 'alpha' AND gpu_count > 0 ORDER BY name LIMIT 1")
NODE2=$(fl_sql "SELECT name FROM node WHERE cluster_name = 'alpha' AND gpu_count > 0 ORDER BY name OFFSET 1 LIMIT 1")
fl_sql "
INSERT INTO node_agent (cluster_name, node_name, spoke_id, last_seq, src_sent_ms, gpu_source, spoke_version) VALUES
  ('alpha', '$NODE', 'agent-1', 1, 1, 'amd', '0.1.0'), ('alpha', 'agent-only', 'agent-2', 1, 1, 'none', '0.1.0');
INSERT INTO node_gpu (cluster_name, node_name, gpu_id, gpu_model, memory, utilization, temperature, power, serial, numa)
  VALUES ('alpha', '$NODE', 0, 'AMD Instinct MI300X', 196608, 50, 40.5, NULL, 'SN0', 0);
INSERT INTO rdma_device (cluster_name, node_name, name, node_guid, rx_bytes, tx_bytes, rx_rate) VALUES
  ('alpha', '$NODE', 'mlx5_0', 'guid', 10, 20, 1.5);
INSERT INTO node_device_changelog (cluster_name, node_name, device_type, device, change, old_identity, new_identity,
  changed_at) VALUES ('alpha', '$NODE', 'gpu', '0', 'added', NULL, 'SN0', now());
INSERT INTO gpu_job (cluster_name, node_name, pid, started_ms, name, cmdline, framework, devices, status, ended_at)
  VALUES ('alpha', '$NODE', 4242, 1700000000000, 'python', 'python train.py', 'pytorch', '0', 'running', NULL),
  ('alpha', '$NODE', 4243, 1700000000000, 'python', 'python eval.py', '', '1', 'ended', now());" >/dev/null
JOB=$(fl_sql "SELECT min(id) FROM gpu_job")
WL=$(fl_sql "SELECT uid FROM gpu_workload WHERE cluster_name = 'alpha' ORDER BY uid LIMIT 1")
POD=$(fl_sql "SELECT uid FROM gpu_pod WHERE cluster_name = 'alpha' ORDER BY uid LIMIT 1")
WLK=$(fl_sql "SELECT kind FROM gpu_workload WHERE uid = '$WL'")
WLN=$(fl_sql "SELECT name FROM gpu_workload WHERE uid = '$WL'")
check_eq "the fixture has a GPU node, a workload, a pod and a job" "true true true true" \
	"$([ -n "$NODE" ] && echo true) $([ -n "$WL" ] && echo true) $([ -n "$POD" ] && echo true) $([ -n "$JOB" ] && echo true)"

# --- every route, once with success and once with an error; every answer recorded and validated ---------------
openapi_record "$T/answers"
H="Authorization: Bearer $OPS"
NOW=$(date +%s)
R="start=$((NOW - 7200))&end=$NOW"
RT="start_time=$(date -u -d @$((NOW - 86400)) +%FT%TZ)&end_time=$(date -u -d @"$NOW" +%FT%TZ)"
v1_ok=(/v1/clusters "/v1/clusters?label=region=us-east" "/v1/clusters/overview?cluster=alpha" /v1/clusters/gpuHeatmap
	/v1/fleet/overview "/v1/nodes?status=Ready,NotReady&order_by=gpu_utilization&desc=true&page_size=2"
	/v1/nodes/gpuAllocation "/v1/nodes/$NODE?cluster=alpha" /v1/nodes/agent-only "/v1/nodes/$NODE/gpuDevices"
	"/v1/nodes/$NODE2/gpuDevices?cluster=alpha" "/v1/nodes/$NODE/utilizationHistory?cluster=alpha&$R"
	"/v1/workloads?cluster=alpha&order_by=created_at" "/v1/workloads/$WL" "/v1/workloads/$WL/utilizationHistory?cluster=alpha&$R"
	"/v1/jobs?status=running,ended&param=lr=0.001&idle=false&idle_for=1h" "/v1/jobs/$JOB" "/v1/jobs/$JOB/metrics?$R" "/v1/usage?group_by=workload&$R" "/v1/usage?group_by=node&format=csv&$R"
	/v1/openapi.json)
v1_err=("/v1/clusters?label=bad" "/v1/clusters/overview?cluster=beta" "/v1/clusters/gpuHeatmap?cluster=no%27pe"
	"/v1/fleet/overview?cluster=nope" "/v1/nodes?page_size=0" "/v1/nodes/gpuAllocation?cluster=nope" /v1/nodes/nope
	"/v1/nodes/nope/gpuDevices" "/v1/nodes/$NODE/utilizationHistory" "/v1/workloads?status=Sleeping" /v1/workloads/nope
	"/v1/workloads/$WL/utilizationHistory?cluster=alpha&step=0" "/v1/jobs?status=zombie" /v1/jobs/0 "/v1/jobs/$JOB/metrics?step=0" /v1/usage /v1/nope)
L=/lens/v1
lens_ok=("$L/gpu-aggregation/clusters" "$L/clusters/overview" "$L/clusters/consumers?page_size=2" "$L/clusters/gpuHeatmap"
	"$L/nodes?order_by=gpu_count&desc=true" "$L/nodes/gpuAllocation" "$L/nodes/gpuUtilization" "$L/nodes/gpuUtilizationHistory?$R"
	"$L/workloads?cluster=alpha" "$L/workloadMetadata" "$L/workloads/hierarchy?kind=$WLK&name=$WLN"
	"$L/workloads/gpuUtilizationHistory?kind=$WLK&name=$WLN&$R" "$L/workloads/statistic" "$L/workloads/statistics"
	"$L/gpu-aggregation/cluster/hourly-stats?$RT" "$L/gpu-aggregation/namespaces?$RT"
	"$L/gpu-aggregation/workloads/hourly-stats?$RT" "$L/nodes/$NODE" "$L/nodes/$NODE/gpuDevices" "$L/nodes/$NODE/workloads"
	"$L/nodes/$NODE/workloadsHistory" "$L/nodes/$NODE/utilizationHistory?$R" "$L/workloads/$WL" "$L/workloads/$WL/hierarchy"
	"$L/pods/$POD?cluster=alpha" "$L/pods/$POD/gpu-history?cluster=alpha&hours=24" "/api/v1/nodes?cluster=alpha")
for u in "${v1_ok[@]}" "${v1_err[@]}" "${lens_ok[@]}"; do curl -s -o /dev/null -H "$H" "$API$u"; done
# Lens errors: an unknown cluster on every route that takes one, a bad token on the one that takes none.
for u in "${lens_ok[@]}"; do
	case $u in
	*gpu-aggregation/clusters) curl -s -o /dev/null -H "Authorization: Bearer wrong-token-0123456789" "$API$u" ;;
	*cluster=alpha*) curl -s -o /dev/null -H "$H" "$API${u//cluster=alpha/cluster=nope}" ;;
	*\?*) curl -s -o /dev/null -H "$H" "$API$u&cluster=nope" ;;
	*) curl -s -o /dev/null -H "$H" "$API$u?cluster=nope" ;;
	esac
done
curl -s -o /dev/null -H "$H" "$API$L/no/such/route"
check_eq "the /v1/jobs fixture answers its two jobs" 2 "$(curl -s -H "$H" "$API/v1/jobs" | jq '.data.total')"
check_eq "the agent-only node answers kubernetes false with its agent" "false agent-2" \
	"$(curl -s -H "$H" "$API/v1/nodes/agent-only" | jq -r '"\(.data.kubernetes) \(.data.agent.spoke_id)"')"
openapi_validate
python3 "$CHECK" "$DOC" --dir "$T/answers" --coverage "$T/coverage" >/dev/null

# The ops routes (not /v1): their answers through the checker too.
for u in /healthz /readyz /metrics; do
	st=$(command curl -s -o "$T/ops" -w '%{http_code} %{content_type}' -H "$H" "$API$u")
	check_eq "GET $u answers as documented" "validated 1 answers, 0 problems" \
		"$(python3 "$CHECK" "$DOC" --answer GET "$u" "${st%% *}" "${st#* }" "$T/ops" | tail -1)"
done

# Coverage: every /v1 and Lens route of the document answered with success and with an error.
missing=""
for p in $(python3 "$CHECK" "$DOC" --paths | grep -E '^/(v1|lens/v1)/'); do
	awk -v p="$p" '$1 == p && $2 ~ /^2/ && ($3 == 2000 || $3 == "-") {f = 1} END {exit !f}' "$T/coverage" ||
		missing+=" $p:success"
	[ "$p" = /v1/openapi.json ] && continue # no error answer to a GET
	awk -v p="$p" '$1 == p && ($2 >= 400 || $3 ~ /^[45][0-9][0-9][0-9]$/) {f = 1} END {exit !f}' "$T/coverage" ||
		missing+=" $p:error"
done
check_eq "every /v1 and /lens/v1 route was validated with a success and an error answer" "" "$missing"
check_eq "the unknown routes answered as the document says" 2 \
	"$(grep -c '^(unknown route' "$T/coverage")"

fl_done
