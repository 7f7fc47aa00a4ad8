#!/usr/bin/env bash
# The hub's side of the GPU job monitor (issue 18) end to end: a real PostgreSQL, the real hub, and node frames
# made by fl-frame-tool (--job-monitor fills the new keys with known values: fl_frame_tool.c, make_job_monitor;
# without it a frame carries none of them), so nothing here depends on what a node's collectors read.
# Checked: the stored job facts (params, env, config_path, gpu_ids), one gpu_job_sample per job per applied frame
# at the frame's sent, the job object of /v1/jobs and /v1/jobs/{id} (its newest sample's figures), the param
# filter (numbers and text, two ANDed, no match), the idle filter and idle_for, /v1/jobs/{id}/metrics (bucket
# averages, exact), the 400s of bad parameters and the 404 of a job outside the request's clusters; a GPU's
# memory used and health in gpuDevices and a health change in the device change log with its detail; migration
# 013 on a database the previous release's migrations (001..012) made and filled; every answer against
# hub/openapi.json (openapi.sh).
# Time is driven, not raced: frames carry sent times hours in the past (whole seconds from an hour boundary B),
# so idle spans and metric buckets are known exactly however slow the machine is.
set -uo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
source "$(dirname "$0")/assert.sh"
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/openapi.sh" # every answer checked against hub/openapi.json at the end

fl_it_setup jobs
openapi_record "$T/answers"
api() { curl -s "$API$1"; }
code() { curl -s -o /dev/null -w '%{http_code}' "$API$1"; }
total() { api "$1" | jq -r '.data.total'; }
pids() { api "$1" | jq -r '[.data.data[] | "\(.node_name):\(.pid)"] | sort | join(",")'; }
iso() { date -u -d "@$1" '+%Y-%m-%dT%H:%M:%S.000Z'; }

fl_it_keys alpha beta
fl_it_hub_config "$T/clusters.yaml" <<YAML
  node_lost_after: 1h
$(fl_it_clusters alpha beta)
YAML
FL_DIAG_LOGS="$T/hub.log"

send() { "$BIN/fl-frame-tool" send "$URL" "$1" | jq -r .status; }
# node CLUSTER HOST SEQ SENT_S GPUS JOBS [--job-monitor]: makes and sends a node frame; prints the ack's status.
node() {
	local c=$1 host=$2 seq=$3 sent=$4 g=$5 j=$6
	shift 6
	"$BIN/fl-frame-tool" make --key-file "$T/keys/$c.key" --cluster "$c" --spoke "tool-$host" --seq "$seq" \
		--kind node --host "$host" --gpus-per-node "$g" --jobs "$j" --sent-ms "$((sent * 1000))" "$@" \
		-o "$T/$host-$seq.frame" && send "$T/$host-$seq.frame"
}

# --- 013 on a database the previous release (migrations 001..012) wrote -------------------------------------------
mkdir "$T/sql-012"
cp "$FL_ROOT"/sql/hub/00*.sql "$FL_ROOT"/sql/hub/01[012]_*.sql "$T/sql-012/"
fl_it_hub_set "$T/clusters.yaml" migrations_dir "$T/sql-012"
fl_it_start_hub
# The rows the previous release's hub wrote for a node frame with 1 GPU and 2 jobs (its hub_node.c's columns).
fl_sql "INSERT INTO node_agent (cluster_name, node_name, spoke_id, last_seq, src_sent_ms, gpu_source)
	VALUES ('alpha', 'old-node', 'tool-old-node', 1, 0, 'amd');
	INSERT INTO node_gpu (cluster_name, node_name, gpu_id, gpu_model, memory, serial)
	VALUES ('alpha', 'old-node', 0, 'AMD Instinct MI300X', 0, 'SN-old-node-0');
	INSERT INTO gpu_job (cluster_name, node_name, pid, started_ms, name, framework)
	VALUES ('alpha', 'old-node', 1000, 1700000000000, 'python3', 'torch'),
	('alpha', 'old-node', 1001, 1700000000001, 'python3', 'torch');
	INSERT INTO node_device_changelog (cluster_name, node_name, device_type, device, change, new_identity, changed_at)
	VALUES ('alpha', 'old-node', 'gpu', '0', 'added', 'SN-old-node-0', now())" >/dev/null
check_eq "the previous release's schema (001..012) holds them" "012_list_indexes 2" \
	"$(fl_sql "SELECT max(version) FROM schema_migrations") $(fl_sql "SELECT count(*) FROM gpu_job")"
fl_it_stop_hub
fl_it_hub_set "$T/clusters.yaml" migrations_dir "$FL_ROOT/sql/hub"
fl_it_start_hub
check_eq "013 applied on it: the old jobs have empty params, env, config_path and gpu_ids, no idle_since" \
	"013_job_monitor 2:{}:{}::{}:" \
	"$(fl_sql "SELECT max(version) FROM schema_migrations") $(fl_sql "SELECT count(*)||':'||min(params::text)||':'||min(env::text)||':'||min(config_path)||':'||min(gpu_ids::text)||':'||coalesce(max(idle_since)::text, '') FROM gpu_job WHERE node_name='old-node'")"
check_eq "... its GPU: memory_used NULL, health ''; its change log rows: no detail" "1:1:: 1:0" \
	"$(fl_sql "SELECT count(*)||':'||count(*) FILTER (WHERE memory_used IS NULL)||':'||min(health)||':'||min(health_detail) FROM node_gpu WHERE node_name='old-node'") $(fl_sql "SELECT count(*)||':'||count(detail) FROM node_device_changelog WHERE node_name='old-node'")"
check_eq "... and the upgraded hub stores the node's next frame with its samples" "ok 2" \
	"$(node alpha old-node 2 "$(date +%s)" 1 2 --job-monitor) $(fl_sql "SELECT count(*) FROM gpu_job_sample s JOIN gpu_job j ON j.id = s.job_id WHERE j.node_name='old-node'")"
fl_sql "DELETE FROM gpu_job WHERE node_name='old-node'" >/dev/null # its jobs would be in every count below

# B: an hour boundary 3 to 4 hours ago. gpu-a (alpha): 2 GPUs (utilization 0 and 10), 3 jobs (pid 1000+i on GPU
# i%2: jobs 1000 and 1002 hold memory on the GPU at 0 %, idle; 1001 is at 10 %).
B=$(($(date +%s) / 3600 * 3600 - 3 * 3600))
check_eq "gpu-a at B: a job monitor frame" ok "$(node alpha gpu-a 1 "$B" 2 3 --job-monitor)"
check_eq "gpu-a at B+120: a frame without the job monitor's keys" ok "$(node alpha gpu-a 2 $((B + 120)) 2 3)"
check_eq "gpu-a at B+300: job monitor" ok "$(node alpha gpu-a 3 $((B + 300)) 2 3 --job-monitor)"
check_eq "gpu-a at B+420: job monitor" ok "$(node alpha gpu-a 4 $((B + 420)) 2 3 --job-monitor)"
check_eq "beta's gpu-b at B+420: job monitor, 1 GPU, 2 jobs" ok "$(node beta gpu-b 1 $((B + 420)) 1 2 --job-monitor)"

# --- what is stored -------------------------------------------------------------------------------------------
check_eq "gpu_job: params (numbers as numbers), env, config_path, gpu_ids" \
	'1000|{"lr": 0.001, "model": "resnet50", "batch_size": 32}|{"RANK": "0", "WORLD_SIZE": "3"}|/cfg/job-0.yaml|{0} 1001|{"lr": 0.001, "model": "resnet50", "batch_size": 33}|{"RANK": "1", "WORLD_SIZE": "3"}|/cfg/job-1.yaml|{1} 1002|{"lr": 0.001, "model": "resnet50", "batch_size": 34}|{"RANK": "2", "WORLD_SIZE": "3"}|/cfg/job-2.yaml|{0}' \
	"$(fl_sql "SELECT string_agg(pid||'|'||params::text||'|'||env::text||'|'||config_path||'|'||gpu_ids::text, ' ' ORDER BY pid) FROM gpu_job WHERE node_name='gpu-a'")"
check_eq "gpu_job_sample: one row per job per frame, at each frame's sent (4 frames x 3 jobs)" \
	"1000:$B,$((B + 120)),$((B + 300)),$((B + 420)) 1001:$B,$((B + 120)),$((B + 300)),$((B + 420)) 1002:$B,$((B + 120)),$((B + 300)),$((B + 420))" \
	"$(fl_sql "SELECT string_agg(pid||':'||t, ' ' ORDER BY pid) FROM (SELECT j.pid, string_agg(extract(epoch FROM s.sampled_at)::bigint::text, ',' ORDER BY s.sampled_at) t FROM gpu_job j JOIN gpu_job_sample s ON s.job_id = j.id AND s.cluster_name = j.cluster_name WHERE j.node_name='gpu-a' GROUP BY 1) x")"
check_eq "job 1000's samples: the frame's figures, NULL where a frame said nothing" \
	"S|50.5|1073741824|8|64|2147483648|0 ||0|0|0|| S|50.5|1073741824|8|64|2147483648|0 S|50.5|1073741824|8|64|2147483648|0" \
	"$(fl_sql "SELECT string_agg(concat_ws('|', s.state, coalesce(s.cpu_percent::text, ''), s.rss_bytes, s.threads, s.fds, coalesce(s.gpu_memory_bytes::text, ''), coalesce(s.gpu_utilization::text, '')), ' ' ORDER BY s.sampled_at) FROM gpu_job j JOIN gpu_job_sample s ON s.job_id = j.id WHERE j.node_name='gpu-a' AND j.pid=1000")"
check_eq "idle_since: jobs at 0 % since B+300 (the frame at B+120 broke the first span); 1001 not idle" \
	"1000:$((B + 300)) 1001: 1002:$((B + 300))" \
	"$(fl_sql "SELECT string_agg(pid||':'||coalesce(extract(epoch FROM idle_since)::bigint::text, ''), ' ' ORDER BY pid) FROM gpu_job WHERE node_name='gpu-a'")"

# --- the job object --------------------------------------------------------------------------------------------
ID0=$(fl_sql "SELECT id FROM gpu_job WHERE node_name='gpu-a' AND pid=1000")
BID=$(fl_sql "SELECT id FROM gpu_job WHERE node_name='gpu-b' AND pid=1000")
check_eq "/v1/jobs/{id}: the newest sample's figures and the job's facts" \
	"S 50.5 1073741824 8 64 2147483648 [0] 0 $(iso $((B + 420))) {\"lr\":0.001,\"model\":\"resnet50\",\"batch_size\":32} {\"RANK\":\"0\",\"WORLD_SIZE\":\"3\"} /cfg/job-0.yaml $(iso $((B + 300)))" \
	"$(api "/v1/jobs/$ID0" | jq -r -c '.data | "\(.state) \(.cpu_percent) \(.rss_bytes) \(.threads) \(.fds) \(.gpu_memory_bytes) \(.gpu_ids | tojson) \(.gpu_utilization) \(.sampled_at) \(.params | tojson) \(.env | tojson) \(.config_path) \(.idle_since)"')"
check_eq "/v1/jobs lists the same object for it" "$(api "/v1/jobs/$ID0" | jq -c -S .data)" \
	"$(api "/v1/jobs?cluster=alpha" | jq -c -S --argjson id "$ID0" '.data.data[] | select(.id == $id)')"
check_eq "a job not idle: idle_since null, gpu 1 at 10 %" "null [1] 10" \
	"$(api "/v1/jobs?cluster=alpha" | jq -r -c '.data.data[] | select(.pid == 1001) | "\(.idle_since) \(.gpu_ids | tojson) \(.gpu_utilization)"')"

# --- filters ---------------------------------------------------------------------------------------------------
check_eq "param=batch_size=33 (a number): job 1 of each node" "gpu-a:1001,gpu-b:1001" "$(pids "/v1/jobs?param=batch_size=33")"
check_eq "param=batch_size=32 in both clusters; with cluster=alpha one" "gpu-a:1000,gpu-b:1000 gpu-a:1000" \
	"$(pids "/v1/jobs?param=batch_size=32") $(pids "/v1/jobs?param=batch_size=32&cluster=alpha")"
check_eq "param=lr=1e-3 matches the number 0.001" 5 "$(total "/v1/jobs?param=lr=1e-3")"
check_eq "param=model=resnet50 (text) and batch_size=34, ANDed" "gpu-a:1002" \
	"$(pids "/v1/jobs?param=model=resnet50&param=batch_size=34")"
check_eq "two params that no job has together: none" 0 "$(total "/v1/jobs?param=model=resnet50&param=batch_size=99")"
check_eq "param=model=resnet (text is matched whole): none" 0 "$(total "/v1/jobs?param=model=resnet")"
check_eq "param=batch_size=%2232%22 is the text \"32\", not the number: none" 0 "$(total "/v1/jobs?param=batch_size=%2232%22")"
check_eq "idle=true (default idle_for 30m): the jobs at 0 % since B+300 (gpu-a) and B+420 (gpu-b)" \
	"gpu-a:1000,gpu-a:1002,gpu-b:1000,gpu-b:1001" "$(pids "/v1/jobs?idle=true")"
check_eq "idle=true&idle_for=5h: none is idle that long" 0 "$(total "/v1/jobs?idle=true&idle_for=5h")"
check_eq "idle=true&idle_for=2h&cluster=alpha" "gpu-a:1000,gpu-a:1002" "$(pids "/v1/jobs?idle=true&idle_for=2h&cluster=alpha")"
check_eq "idle=false: the others" "gpu-a:1001" "$(pids "/v1/jobs?idle=false")"
check_eq "idle=false&idle_for=5h: every job" 5 "$(total "/v1/jobs?idle=false&idle_for=5h")"
check_eq "idle with param and status" "gpu-a:1002" "$(pids "/v1/jobs?idle=true&param=batch_size=34&status=running")"

# --- /v1/jobs/{id}/metrics ---------------------------------------------------------------------------------------
# Bucket B: the frames at B (figures) and B+120 (none: 0 for the counts, NULL for the rest); bucket B+300: two
# frames with figures.
M=$(api "/v1/jobs/$ID0/metrics?start=$B&end=$((B + 600))&step=300")
check_eq "metrics: six series with their units" "cpu_percent:% rss_bytes:bytes gpu_memory_bytes:bytes gpu_utilization:% threads:count fds:count" \
	"$(jq -r '[.data.series[] | "\(.name):\(.unit)"] | join(" ")' <<<"$M")"
check_eq "metrics: bucket averages, exact" \
	"cpu_percent=[[$B,50.5],[$((B + 300)),50.5]] rss_bytes=[[$B,536870912],[$((B + 300)),1073741824]] gpu_memory_bytes=[[$B,2147483648],[$((B + 300)),2147483648]] gpu_utilization=[[$B,0],[$((B + 300)),0]] threads=[[$B,4],[$((B + 300)),8]] fds=[[$B,32],[$((B + 300)),64]]" \
	"$(jq -r -c '[.data.series[] | "\(.name)=\(.points | tojson)"] | join(" ")' <<<"$M")"
check_eq "metrics: start, end, step" "$B $((B + 600)) 300" "$(jq -r '.data | "\(.start) \(.end) \(.step)"' <<<"$M")"
check_eq "metrics: end is exclusive, a range without samples has no points" "1 0" \
	"$(api "/v1/jobs/$ID0/metrics?start=$B&end=$((B + 300))&step=300" | jq -r '.data.series[1].points | length') $(api "/v1/jobs/$ID0/metrics?start=$((B - 600))&end=$B&step=300" | jq -r '[.data.series[].points[]] | length')"
check_eq "metrics: step=60 splits the buckets (rss of B+120: 0)" "[[$B,1073741824],[$((B + 120)),0],[$((B + 300)),1073741824],[$((B + 420)),1073741824]]" \
	"$(api "/v1/jobs/$ID0/metrics?start=$B&end=$((B + 600))&step=60" | jq -r -c '.data.series[1].points')"
check_eq "metrics of beta's job asked within alpha: 404; within beta: 200" "404 200" \
	"$(code "/v1/jobs/$BID/metrics?cluster=alpha&start=$B&end=$((B + 600))") $(code "/v1/jobs/$BID/metrics?cluster=beta&start=$B&end=$((B + 600))")"
check_eq "/v1/jobs/{id} of beta's job within alpha: 404" 404 "$(code "/v1/jobs/$BID?cluster=alpha")"
check_eq "metrics of no job: 404" 404 "$(code "/v1/jobs/999999/metrics")"

# --- bad parameters ----------------------------------------------------------------------------------------------
for q in "param=batch_size" "param==1" "param=a%20b=1" "param=k=" "param=a=1&param=a=2" \
	"param=$(printf 'k%.0s' $(seq 64))=1" "$(printf 'param=k%d=1&' $(seq 9))" "param=a=%01" \
	"idle=maybe" "idle_for=5x" "idle_for=0s" "idle_for=-1h"; do
	check_eq "/v1/jobs?$q: 400" 400 "$(code "/v1/jobs?$q")"
done
check_contains "... saying what is wrong" "at most 8" "$(api "/v1/jobs?$(printf 'param=k%d=1&' $(seq 9))" | jq -r .meta.message)"
check_eq "the same KEY twice with the same value is one filter" "gpu-a:1001,gpu-b:1001" \
	"$(pids "/v1/jobs?param=batch_size=33&param=batch_size=33")"
for q in "step=0" "step=abc" "step=86401" "start=$((B + 600))&end=$B" "start=0&end=100000000&step=1"; do
	check_eq "/v1/jobs/{id}/metrics?$q: 400" 400 "$(code "/v1/jobs/$ID0/metrics?$q")"
done
check_eq "/v1/jobs/abc/metrics: 400" 400 "$(code "/v1/jobs/abc/metrics")"

# --- GPU memory used and health ---------------------------------------------------------------------------------
check_eq "gpuDevices: memory_used, health, health_detail" "0:1024:healthy:ras ue 0 ce 0 1:2048:unhealthy:ras ue 1 ce 0" \
	"$(api "/v1/nodes/gpu-a/gpuDevices" | jq -r '[.data[] | "\(.gpu_id):\(.memory_used):\(.health):\(.health_detail)"] | join(" ")')"
check_eq "the change log: one health row per GPU whose health changed (B+120 cleared it, B+300 set it again)" \
	"0:health:healthy:: 0:health::healthy:ras ue 0 ce 0 1:health:unhealthy:: 1:health::unhealthy:ras ue 1 ce 0" \
	"$(fl_sql "SELECT string_agg(device||':'||change||':'||old_identity||':'||new_identity||':'||detail, ' ' ORDER BY device, id) FROM node_device_changelog WHERE node_name='gpu-a' AND change='health'")"
check_eq "gpu-h: a frame without health, then one with: one row per GPU; the same health again: none" \
	"ok ok 2 ok 2" \
	"$(node alpha gpu-h 1 "$B" 2 0) $(node alpha gpu-h 2 $((B + 60)) 2 0 --job-monitor) $(fl_sql "SELECT count(*) FROM node_device_changelog WHERE node_name='gpu-h' AND change='health'") $(node alpha gpu-h 3 $((B + 120)) 2 0 --job-monitor) $(fl_sql "SELECT count(*) FROM node_device_changelog WHERE node_name='gpu-h' AND change='health'")"
check_eq "the agent's device_changes carry the detail" "health ras ue 1 ce 0" \
	"$(api "/v1/nodes/gpu-h" | jq -r '[.data.agent.device_changes[] | select(.device == "1" and .change == "health")][0] | "\(.change) \(.detail)"')"
check_eq "a frame without the job monitor's keys: memory_used null, health and detail empty" "ok null||" \
	"$(node alpha gpu-p 1 "$B" 1 0) $(api "/v1/nodes/gpu-p/gpuDevices" | jq -r '.data[0] | "\(.memory_used)|\(.health)|\(.health_detail)"')"

# --- hub.job_idle_utilization and hub.job_idle_after (restart-only) ---------------------------------------------
fl_it_stop_hub
sed -i 's/^  node_lost_after: 1h$/&\n  job_idle_utilization: 20\n  job_idle_after: 4h/' "$T/clusters.yaml"
fl_it_start_hub
check_eq "job_idle_utilization 20: gpu-a at B+600 makes job 1001 (10 %) idle from then; the others keep B+300" \
	"ok 1000:$((B + 300)) 1001:$((B + 600)) 1002:$((B + 300))" \
	"$(node alpha gpu-a 5 $((B + 600)) 2 3 --job-monitor) $(fl_sql "SELECT string_agg(pid||':'||extract(epoch FROM idle_since)::bigint, ' ' ORDER BY pid) FROM gpu_job WHERE node_name='gpu-a'")"
check_eq "job_idle_after 4h is idle's default idle_for (no span is 4 h long); idle_for=2h: all three" "0 3" \
	"$(total "/v1/jobs?idle=true&cluster=alpha") $(total "/v1/jobs?idle=true&idle_for=2h&cluster=alpha")"

openapi_validate
fl_done
