#!/usr/bin/env bash
# The GPU job monitor end to end (issue 18), on three kinds of node: a real PostgreSQL, the real hub, and real
# spokes in the node role reading fixture host trees (tests/node_fixtures/make_tree.sh stands in for a GPU
# node's /sys and /proc) — an AMD node (sysfs, kfd), an NVIDIA node (tests/tools/fake_nvml.c stands in for
# libnvidia-ml.so.1) and an Ascend node (tests/tools/fake_dcmi.c stands in for Huawei's libdcmi.so).
# Checked, per node: each job's process metrics, parameters, config path, allowlisted environment, GPUs and
# accelerator memory, and each GPU's memory used and health, are the same in the frame the spoke builds
# (--once --dry-run), in PostgreSQL and in /v1/jobs, /v1/jobs/{id} and the GPU rows; exact values the
# fixture defines (parameters, environment, memory, CPU %); a GPU turning unhealthy is a device change; the
# parameter and idle filters; /v1/jobs/{id}/metrics. And nothing the fixture plants outside the allowlist —
# environment secrets, a config file's contents, command-line secrets — appears in any frame, row, answer
# or log.
# CPU % needs two cycles of one spoke: the daemon reads its host root through a symlink the test swaps to an
# advanced copy of the tree (rename is atomic, and one cycle's /proc scan holds one directory open), so
# exactly one cycle measures the advance; no timing is raced.
set -uo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
source "$(dirname "$0")/assert.sh"
source "$(dirname "$0")/lib.sh"
TREE="$FL_ROOT/tests/node_fixtures/make_tree.sh"
LIBDIR=$(cd "$BIN/.." && pwd)
FAKE_NVML=$LIBDIR/libfake_nvml.so
FAKE_DCMI=$LIBDIR/libfake_dcmi.so
[ -f "$FAKE_NVML" ] && [ -f "$FAKE_DCMI" ] || fl_die "no $FAKE_NVML or $FAKE_DCMI (built beside $BIN)"

fl_it_setup jobmon
api() { curl -s "$API$1"; }
code() { curl -s -o /dev/null -w '%{http_code}' "$API$1"; }

fl_it_keys alpha
fl_it_hub_config "$T/clusters.yaml" <<YAML
  node_lost_after: 1h
  job_idle_utilization: 5
  job_idle_after: 30m
$(fl_it_clusters alpha)
YAML
FL_DIAG_LOGS="$T/hub.log $T/spokes.log"
fl_it_start_hub

# once NAME: the frame of node NAME's config as JSON ($T/NAME.json), then the same cycle sent and acknowledged.
once() {
	"$BIN/fleetlens-spoke" --config "$T/$1.yaml" --once --dry-run >"$T/$1.json" 2>>"$T/spokes.log" &&
		"$BIN/fleetlens-spoke" --config "$T/$1.yaml" --once >>"$T/spokes.log" 2>&1
}

# --- three nodes --------------------------------------------------------------------------------------------------
# AMD: 2 cards, 9 GPU processes holding AMD device files (pid 1006 has no stat and is skipped).
"$TREE" "$T/amd-a" --amd 2 --nvidia-less --rdma 0 --procs 10 --gpu-procs 9 --amd-jobs >/dev/null
ln -s amd-a "$T/amd"
fl_it_node_config "$T/amd.yaml" alpha node-amd "$T/amd" "interval: 1s"
# NVIDIA: fake NVML's two GPUs (37 % and 0 %); its process lists name 1001 on GPU 0 and 1005 and 1007 on GPU 1.
"$TREE" "$T/nv" --amd 0 --nvidia 2 --rdma 0 --procs 10 --gpu-procs 9 >/dev/null
fl_it_node_config "$T/nv.yaml" alpha node-nv "$T/nv" "interval: 1s" "nvml_library: $FAKE_NVML"
export FAKE_NVML_PROCS="1001:0:1073741824,1005:1:536870912,1007:1:268435456" FAKE_NVML_XID=""
# Ascend: fake DCMI's two NPUs (AI core 40 % and 41 %); its process lists name 1003 and 1007.
"$TREE" "$T/asc" --amd 0 --nvidia-less --rdma 0 --procs 10 --gpu-procs 9 >/dev/null
fl_it_node_config "$T/asc.yaml" alpha node-asc "$T/asc" "interval: 1s" "dcmi_library: $FAKE_DCMI"
export FAKE_DCMI_PROCS="1003:0:2147483648,1007:1:1048576,1007:0:1048576"

for n in amd nv asc; do
	once $n
	check_eq "$n: the node frame is acknowledged" 0 $?
done
check_eq "the three frames' GPU sources" "amd nvml dcmi" \
	"$(for n in amd nv asc; do jq -r .host.gpu_source "$T/$n.json"; done | xargs)"
check_eq "jobs per frame (pid 1006 has no stat)" "8 8 8" \
	"$(for n in amd nv asc; do jq '.jobs | length' "$T/$n.json"; done | xargs)"

# The frame's view of a job, and the API's, in one shape: pid state rss threads fds gpus gpu_memory gpu_util
# config params env (params and env sorted by key: jsonb keeps its own key order).
FRAME_JOB='"\(.pid) \(.state) \(.rss) \(.threads) \(.fds) \(.gpus) \(.gpu_memory) \(.gpu_util) \(.config) \(.params | to_entries | sort_by(.key) | from_entries | tojson) \(.env | to_entries | sort_by(.key) | from_entries | tojson)"'
API_JOB='"\(.pid) \(.state) \(.rss_bytes) \(.threads) \(.fds) \(.gpu_ids) \(.gpu_memory_bytes) \(.gpu_utilization) \(.config_path) \(.params | to_entries | sort_by(.key) | from_entries | tojson) \(.env | to_entries | sort_by(.key) | from_entries | tojson)"'
for n in amd nv asc; do
	frame=$(jq -r "[.jobs[] | $FRAME_JOB] | sort | .[]" "$T/$n.json")
	answer=$(api "/v1/jobs?cluster=alpha&node=node-$n&status=running&page_size=100" |
		jq -r "[.data.data[] | $API_JOB] | sort | .[]")
	check_eq "$n: /v1/jobs = the frame's jobs (metrics, GPUs, memory, config, params, env)" "$frame" "$answer"
	rows=$(fl_sql "SELECT string_agg(pid || ' ' || params::text || ' ' || env::text || ' ' || config_path
		|| ' ' || array_to_string(gpu_ids, ','), E'\n' ORDER BY pid) FROM gpu_job
		WHERE node_name = 'node-$n' AND status = 'running'" | jq -Rr 'split(" ") | .[0]' | xargs)
	check_eq "$n: gpu_job holds the frame's pids" "$(jq -r '[.jobs[].pid] | sort | .[]' "$T/$n.json" | xargs)" "$rows"
	check_eq "$n: one gpu_job_sample per job for its one frame" "$(jq '.jobs | length' "$T/$n.json")" \
		"$(fl_sql "SELECT count(*) FROM gpu_job_sample s JOIN gpu_job j ON j.id = s.job_id WHERE j.node_name = 'node-$n'")"
	gpus_frame=$(jq -r '[.gpus[] | "\(.gpu_id) \(.memory_used_mib) \(.health // "") \(.health_detail // "")"] | .[]' "$T/$n.json")
	gpus_api=$(api "/v1/nodes/node-$n/gpuDevices?cluster=alpha" |
		jq -r '[.data[] | "\(.gpu_id) \(.memory_used) \(.health) \(.health_detail)"] | .[]')
	check_eq "$n: the GPU rows' memory used and health = the frame's" "$gpus_frame" "$gpus_api"
done

# --- exact values the fixtures define ------------------------------------------------------------------------------
job() { # job NODE PID JQ: the API's job object of that pid, through JQ
	api "/v1/jobs?cluster=alpha&node=node-$1&page_size=100" | jq -r --argjson p "$2" ".data.data[] | select(.pid == \$p) | $3"
}
check_eq "pid 1007's parameters (numbers as numbers; the config flag too)" \
	'{"batch_size":32,"config":"/workspace/job7/config.yaml","lr":0.001,"rank":7}' \
	"$(job amd 1007 '.params | to_entries | sort_by(.key) | from_entries | tojson')"
check_eq "pid 1007's config path (the path only)" /workspace/job7/config.yaml "$(job amd 1007 .config_path)"
check_eq "pid 1007's environment: the allowlisted variables, nothing else" \
	'{"HIP_VISIBLE_DEVICES":"7","LOCAL_RANK":"7","MASTER_ADDR":"10.0.0.1","MASTER_PORT":"29500","RANK":"7","WORLD_SIZE":"8"}' \
	"$(job amd 1007 '.env | to_entries | sort_by(.key) | from_entries | tojson')"
check_eq "pid 1000's secret parameter stays redacted" '"***"' "$(job amd 1000 '.params.token | tojson')"
check_eq "pid 1007: state, rss (1200 pages of 4 KiB), threads, fds (5 + 4 GPU device files)" "S 4915200 11 9" \
	"$(job amd 1007 '"\(.state) \(.rss_bytes) \(.threads) \(.fds)"')"
# AMD (kfd): pid 1000 holds 256 MiB on GPU 0 and 16 MiB on GPU 1 (fixture: (k+1)*256 MiB, (k+1)*16 MiB);
# GPU utilization is the mean of the two cards' 3 % and 10 %.
check_eq "AMD pid 1000: GPUs, memory from kfd, utilization" "[0,1] 285212672 6.5" \
	"$(job amd 1000 '"\(.gpu_ids | tojson) \(.gpu_memory_bytes) \(.gpu_utilization)"')"
check_eq "NVIDIA pid 1001: GPU 0, 1 GiB from NVML, 37 %" "[0] 1073741824 37" \
	"$(job nv 1001 '"\(.gpu_ids | tojson) \(.gpu_memory_bytes) \(.gpu_utilization)"')"
check_eq "Ascend pid 1007: NPUs 0 and 1, 2 MiB from DCMI, 40.5 %" "[0,1] 2097152 40.5" \
	"$(job asc 1007 '"\(.gpu_ids | tojson) \(.gpu_memory_bytes) \(.gpu_utilization)"')"
check_eq "Ascend NPUs: model, HBM used, health" "Ascend910B3 1024 healthy|Ascend910B3 2048 healthy" \
	"$(api '/v1/nodes/node-asc/gpuDevices?cluster=alpha' | jq -r '[.data[] | "\(.gpu_model) \(.memory_used) \(.health)"] | join("|")')"

# --- filters -------------------------------------------------------------------------------------------------------
check_eq "param=batch_size=32: the jobs k >= 7 of the three nodes" "1007 1007 1007 1008 1008 1008" \
	"$(api '/v1/jobs?cluster=alpha&param=batch_size=32&page_size=100' | jq -r '[.data.data[].pid] | sort | .[]' | xargs)"
check_eq "param=rank=8 and param=lr=0.001: pid 1008 of each node" "1008 1008 1008" \
	"$(api '/v1/jobs?cluster=alpha&param=rank=8&param=lr=0.001&page_size=100' | jq -r '[.data.data[].pid] | sort | .[]' | xargs)"
check_eq "param=rank=seven matches nothing" 0 "$(api '/v1/jobs?cluster=alpha&param=rank=seven' | jq .data.total)"
check_eq "a param without '=' is refused" 400 "$(code '/v1/jobs?param=rank')"
# Idle (memory held, utilization under 5 %) from their first sample on: NVIDIA's 1005 and 1007 on GPU 1 (0 %),
# and AMD's 1002, whose kfd memory is on card 0 alone (3 %). The others' GPUs are busier, or kfd/NVML name
# no memory of theirs.
sleep 2 # idle_for=1s below must be over; a lower bound, not a deadline
check_eq "idle=true&idle_for=1s: the jobs holding memory on GPUs under 5 %" "node-amd:1002 node-nv:1005 node-nv:1007" \
	"$(api '/v1/jobs?cluster=alpha&idle=true&idle_for=1s&page_size=100' | jq -r '[.data.data[] | "\(.node_name):\(.pid)"] | sort | .[]' | xargs)"
check_eq "idle=true with the 30 min default: none yet" 0 "$(api '/v1/jobs?cluster=alpha&idle=true' | jq .data.total)"

# --- a GPU turns unhealthy ------------------------------------------------------------------------------------------
"$TREE" "$T/amd-a" --edit --ras-error 1 >/dev/null
once amd
check_eq "the next frame says card 1 is unhealthy" "unhealthy ras ue 2 ce 1" \
	"$(jq -r '.gpus[] | select(.gpu_id == 1) | "\(.health) \(.health_detail)"' "$T/amd.json")"
check_eq "the change log has the health change, with its detail" "gpu|1|health|healthy|unhealthy|ras ue 2 ce 1" \
	"$(fl_sql "SELECT device_type||'|'||device||'|'||change||'|'||old_identity||'|'||new_identity||'|'||detail FROM node_device_changelog WHERE node_name='node-amd' AND change='health'")"

# --- CPU % across two cycles of one daemon --------------------------------------------------------------------------
cp -a "$T/amd-a" "$T/amd-b"
"$TREE" "$T/amd-b" --edit --advance 10 >/dev/null
"$BIN/fleetlens-spoke" --config "$T/amd.yaml" >>"$T/spokes.log" 2>&1 &
DAEMON=$!
samples() { fl_sql "SELECT count(*) FROM gpu_job_sample s JOIN gpu_job j ON j.id = s.job_id WHERE j.node_name = 'node-amd' AND j.pid = 1000"; }
before=$(samples)
fl_wait_until 120 '[ "$(samples)" -ge $((before + 1)) ]'
check_eq "the daemon's first frame is stored" 0 $?
ln -sfn amd-b "$T/amd.tmp" && mv -T "$T/amd.tmp" "$T/amd" # the next cycles read the advanced tree
fl_wait_until 120 '[ "$(samples)" -ge $((before + 3)) ]'
check_eq "two more frames are stored after the swap" 0 $?
kill "$DAEMON" && wait "$DAEMON" 2>/dev/null
# Over the 10 s advance, process k used 10*(k%8+1)+5 % of a core: 15 % for 1000, 85 % for 1007.
check_eq "the one cycle across the advance measured pid 1000 at 15 % and 1007 at 85 %" "1000:15 1007:85" \
	"$(fl_sql "SELECT string_agg(j.pid || ':' || s.cpu_percent, ' ' ORDER BY j.pid) FROM gpu_job_sample s JOIN gpu_job j ON j.id = s.job_id WHERE j.node_name = 'node-amd' AND j.pid IN (1000, 1007) AND s.cpu_percent IS NOT NULL")"
id1007=$(job amd 1007 .id)
now=$(date +%s)
check_eq "/v1/jobs/{id}/metrics has the 85 % point" 85 \
	"$(api "/v1/jobs/$id1007/metrics?start=$((now - 3600))&end=$((now + 60))&step=3600" | jq '.data.series[] | select(.name == "cpu_percent") | [.points[][1]] | max')"
check_eq "/v1/jobs/{id}/metrics series" "cpu_percent rss_bytes gpu_memory_bytes gpu_utilization threads fds" \
	"$(api "/v1/jobs/$id1007/metrics?start=$((now - 3600))&end=$((now + 60))&step=60" | jq -r '[.data.series[].name] | join(" ")')"

# --- nothing outside the allowlist, anywhere ------------------------------------------------------------------------
pg_dump -h "$FL_PG_DIR" -U postgres --no-owner fleetlens >"$T/dump.sql" 2>>"$T/spokes.log"
check_eq "the database dump holds the job rows" yes "$(grep -q 'COPY public.gpu_job ' "$T/dump.sql" && echo yes)"
for id in $(api '/v1/jobs?cluster=alpha&page_size=100&status=running,lost,ended' | jq -r '.data.data[].id'); do
	api "/v1/jobs/$id"
	api "/v1/jobs/$id/metrics"
done >"$T/answers.json"
api '/v1/jobs?cluster=alpha&page_size=100' >>"$T/answers.json"
for s in do-not-read hf_secret_value cfg_secret_value /etc/hccl.json abc123 hunter2 sk-live-1 HF_TOKEN SECRET=; do
	where=$(grep -l -F -- "$s" "$T"/{amd,nv,asc}.json "$T/dump.sql" "$T/answers.json" "$T/hub.log" "$T/spokes.log" 2>/dev/null | xargs -n1 basename 2>/dev/null | xargs)
	check_eq "'$s' (planted outside the allowlist) appears in no frame, row, answer or log" "" "$where"
done

fl_done
