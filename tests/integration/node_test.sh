#!/usr/bin/env bash
# The node role (issue 7) end to end: a real PostgreSQL, the real hub (node_lost_after 1h), real spokes in
# the node role reading fixture host trees (tests/node_fixtures/make_tree.sh stands in for a GPU node's
# /sys and /proc, which this machine does not have), and fl-frame-tool for frames a spoke would never send.
# Checked: a node frame's rows (agent, GPUs, RDMA devices, jobs) equal what the spoke collected (its
# --dry-run JSON); the device change log when a GPU vanishes, a GPU and an RDMA device are replaced and a
# device appears; jobs that start, end, and are lost when their node stops reporting and running again
# when it reports; the API (node view merged from both roles, whichever is missing shown missing;
# gpuDevices from the node; /v1/jobs filters and pages; /v1/jobs/{id}); bad node frames (duplicate GPU,
# older than the node's newest, a repeat) refused or ignored with their counters, nobody else's rows touched.
# Time is driven, not raced: node_lost_after is 1h, so no agent can go lost however slow the machine is; the
# agents that must be lost get their last_seen moved back in PostgreSQL, and the test waits (generously) for
# the hub's own periodic sweep (every 30 s at this setting) to notice.
set -uo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
source "$(dirname "$0")/assert.sh"
source "$(dirname "$0")/lib.sh"
TREE="$FL_ROOT/tests/node_fixtures/make_tree.sh"

fl_it_setup node
metric() { curl -s "$API/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
api() { curl -s "$API$1"; }
code() { curl -s -o /dev/null -w '%{http_code}' "$API$1"; }
seen() { fl_sql "SELECT extract(epoch FROM last_seen) FROM node_agent WHERE node_name='$1'"; }
status_of() { fl_sql "SELECT status FROM node_agent WHERE node_name='$1'"; }

fl_it_keys alpha beta
fl_it_hub_config "$T/clusters.yaml" <<YAML
  node_lost_after: 1h
$(fl_it_clusters alpha beta)
YAML
FL_DIAG_LOGS="$T/hub.log $T/spoke.log $T/run.log"
fl_it_start_hub

send() { # send FILE: the ack's status
	"$BIN/fl-frame-tool" send "$URL" "$1" | jq -r .status
}
make() { "$BIN/fl-frame-tool" make --key-file "$T/keys/alpha.key" --cluster alpha "$@"; }

# The cluster role's view of alpha: node-00000..node-00002, 8 GPUs each (fl-frame-tool's synthetic nodes).
make --spoke cluster-1 --seq 1 --nodes 3 --gpus-per-node 8 -o "$T/full.frame"
check_eq "alpha's full frame (the cluster role) is stored" ok "$(send "$T/full.frame")"

# --- a spoke in the node role, on a fixture AMD node with RDMA and GPU jobs -------------------------------------
"$TREE" "$T/host0" --amd 2 --rdma 1 --procs 6 --gpu-procs 3 >/dev/null
node_yaml() { fl_it_node_config "$1" alpha "$2" "$3" "interval: $4"; } # node_yaml FILE NODE_NAME HOST_ROOT INTERVAL
node_yaml "$T/node0.yaml" node-00000 "$T/host0" 30s
"$BIN/fleetlens-spoke" --config "$T/node0.yaml" --once --dry-run >"$T/n0.json" 2>"$T/dry.log"
check_eq "--dry-run prints a node frame" "node node-00000 amd" \
	"$(jq -r '"\(.envelope.kind) \(.host.node) \(.host.gpu_source)"' "$T/n0.json")"
check_eq "it holds the fixture's 2 GPUs, 1 RDMA device and 3 GPU jobs" "2 1 3" \
	"$(jq -r '"\(.gpus | length) \(.rdma | length) \(.jobs | length)"' "$T/n0.json")"
"$BIN/fleetlens-spoke" --config "$T/node0.yaml" --once >"$T/spoke.log" 2>&1
check_eq "the node frame is acknowledged" 0 $?
check_eq "node_agent: one agent, ok, gpu_source amd" "node-00000|ok|amd" \
	"$(fl_sql "SELECT node_name||'|'||status||'|'||gpu_source FROM node_agent WHERE cluster_name='alpha'")"
check_eq "node_gpu rows = the frame's GPUs (id serial model memory numa)" \
	"$(jq -r '[.gpus[] | "\(.gpu_id):\(.serial):\(.gpu_model):\(.memory_mib):\(.numa)"] | join(",")' "$T/n0.json")" \
	"$(fl_sql "SELECT string_agg(gpu_id||':'||serial||':'||gpu_model||':'||memory||':'||numa, ',' ORDER BY gpu_id) FROM node_gpu WHERE node_name='node-00000'")"
check_eq "rdma_device rows = the frame's devices (name guid state)" \
	"$(jq -r '[.rdma[] | "\(.name):\(.node_guid):\(.port_state)"] | join(",")' "$T/n0.json")" \
	"$(fl_sql "SELECT string_agg(name||':'||node_guid||':'||port_state, ',' ORDER BY name) FROM rdma_device WHERE node_name='node-00000'")"
check_eq "gpu_job rows = the frame's jobs, running (pid framework pod)" \
	"$(jq -r '[.jobs[] | "\(.pid):\(.framework):\(.pod_uid)"] | sort | join(",")' "$T/n0.json")" \
	"$(fl_sql "SELECT string_agg(pid||':'||framework||':'||pod_uid, ',' ORDER BY (pid||':'||framework||':'||pod_uid) COLLATE \"C\") FROM gpu_job WHERE node_name='node-00000' AND status='running'")"
check_eq "the first frame logs every device as added" "gpu:added:2 rdma:added:1" \
	"$(fl_sql "SELECT string_agg(device_type||':'||change||':'||n, ' ' ORDER BY device_type) FROM (SELECT device_type, change, count(*) n FROM node_device_changelog GROUP BY 1, 2) x")"
check_eq "no command line in the hub holds a secret the fixture put there" 0 \
	"$(fl_sql "SELECT count(*) FROM gpu_job WHERE cmdline ~* 'hunter2|abc123|sk-live'")"

# --- the API merges both roles -----------------------------------------------------------------------------------
N=$(api "/v1/nodes/node-00000")
check_eq "/v1/nodes/{name}: Kubernetes facts and the agent" "true ok 8 2" \
	"$(jq -r '.data | "\(.kubernetes) \(.agent.status) \(.gpu_count) \(.agent.gpus)"' <<<"$N")"
check_eq "the agent lists the RDMA device" "$(jq -r '.rdma[0].node_guid' "$T/n0.json")" \
	"$(jq -r '.data.agent.rdma_devices[0].node_guid' <<<"$N")"
check_eq "a node without an agent shows the agent as missing (null)" "true null" \
	"$(api "/v1/nodes/node-00001" | jq -r '.data | "\(.kubernetes) \(.agent)"')"
G=$(api "/v1/nodes/node-00000/gpuDevices")
check_eq "gpuDevices come from the node itself when it reports" "node node 2" \
	"$(jq -r '"\(.data[0].source) \(.data[1].source) \(.data | length)"' <<<"$G")"
check_eq "... with its serials" "$(jq -r '[.gpus[].serial] | join(",")' "$T/n0.json")" "$(jq -r '[.data[].serial] | join(",")' <<<"$G")"
check_eq "gpuDevices of a node without an agent come from the cluster role" "cluster 8" \
	"$(api "/v1/nodes/node-00001/gpuDevices" | jq -r '"\(.data[0].source) \(.data | length)"')"

J=$(api "/v1/jobs")
check_eq "/v1/jobs lists the 3 jobs" 3 "$(jq -r '.data.total' <<<"$J")"
check_eq "/v1/jobs?framework=torch" "$(jq '[.jobs[] | select(.framework == "torch")] | length' "$T/n0.json")" \
	"$(api "/v1/jobs?framework=torch" | jq -r '.data.total')"
check_eq "/v1/jobs?status=ended is empty" 0 "$(api "/v1/jobs?status=ended" | jq -r '.data.total')"
check_eq "/v1/jobs?node=node-00001 is empty" 0 "$(api "/v1/jobs?node=node-00001" | jq -r '.data.total')"
check_eq "/v1/jobs?page_size=2&page_num=2 holds the third" 1 "$(api "/v1/jobs?page_size=2&page_num=2" | jq -r '.data.data | length')"
check_eq "/v1/jobs?cluster=beta is empty" 0 "$(api "/v1/jobs?cluster=beta" | jq -r '.data.total')"
ID=$(jq -r '.data.data[0].id' <<<"$J")
PID0=$(jq -r '.data.data[0].pid' <<<"$J")
check_eq "/v1/jobs/{id} answers that job" "$PID0 running node-00000" \
	"$(api "/v1/jobs/$ID" | jq -r '.data | "\(.pid) \(.status) \(.node_name)"')"
check_eq "/v1/jobs/{id} of no job: 404" 404 "$(code "/v1/jobs/999999")"
check_eq "/v1/jobs/abc: 400" 400 "$(code "/v1/jobs/abc")"
check_eq "/v1/jobs?status=bogus: 400" 400 "$(code "/v1/jobs?status=bogus")"
check_eq "/v1/jobs?node=%27;drop: 400" 400 "$(code "/v1/jobs?node=%27%3Bdrop")"

# --- devices change, jobs start and end --------------------------------------------------------------------------
# The fixture is edited the way a node changes: card1 vanishes, card0 is swapped for another board (new
# unique_id), the RDMA device is replaced (new node GUID), one GPU job exits and a new one starts.
GONE_PID=$(jq -r '.jobs[0].pid' "$T/n0.json")
rm "$T/host0/sys/class/drm/card1"
echo "ffee00000000beef" >"$T/host0/sys/class/drm/card0/device/unique_id"
echo "0c42:a103:00ff:9999" >"$T/host0/sys/class/infiniband/mlx5_0/node_guid"
rm -rf "$T/host0/proc/$GONE_PID"
cp -a "$T/host0/proc/1001" "$T/host0/proc/5000"
sed -i 's/^1001 /5000 /' "$T/host0/proc/5000/stat"
"$BIN/fleetlens-spoke" --config "$T/node0.yaml" --once --dry-run >"$T/n1.json" 2>/dev/null
"$BIN/fleetlens-spoke" --config "$T/node0.yaml" --once >>"$T/spoke.log" 2>&1
check_eq "the second node frame is acknowledged" 0 $?
check_eq "node_gpu keeps only the GPU that is left" "0:$(jq -r '.gpus[0].serial' "$T/n1.json")" \
	"$(fl_sql "SELECT string_agg(gpu_id||':'||serial, ',') FROM node_gpu WHERE node_name='node-00000'")"
check_eq "change log: GPU 1 removed, GPU 0 replaced (old and new serial), mlx5_0 replaced" \
	"gpu:0:replaced:$(jq -r '.gpus[0].serial' "$T/n0.json"):$(jq -r '.gpus[0].serial' "$T/n1.json") gpu:1:removed:$(jq -r '.gpus[1].serial' "$T/n0.json"): rdma:$(jq -r '.rdma[0].name' "$T/n0.json"):replaced:$(jq -r '.rdma[0].node_guid' "$T/n0.json"):$(jq -r '.rdma[0].node_guid' "$T/n1.json")" \
	"$(fl_sql "SELECT string_agg(device_type||':'||device||':'||change||':'||coalesce(old_identity,'')||':'||coalesce(new_identity,''), ' ' ORDER BY device_type, device) FROM node_device_changelog WHERE change <> 'added'")"
check_num "fleetlens_hub_device_changes_total counts every logged change" \
	"$(fl_sql "SELECT count(*) FROM node_device_changelog")" "$(metric fleetlens_hub_device_changes_total)"
check_eq "the exited job is ended, with an end time" "ended 1" \
	"$(fl_sql "SELECT status||' '||(ended_at IS NOT NULL)::int FROM gpu_job WHERE pid=$GONE_PID")"
check_eq "the new job runs: 3 running, 1 ended" "running:3 ended:1" \
	"$(fl_sql "SELECT string_agg(status||':'||n, ' ' ORDER BY status DESC) FROM (SELECT status, count(*) n FROM gpu_job GROUP BY 1) x")"
check_num "fleetlens_hub_jobs_started_total = 4, jobs_ended_total = 1" 4 "$(metric fleetlens_hub_jobs_started_total)"
check_num "fleetlens_hub_jobs_ended_total" 1 "$(metric fleetlens_hub_jobs_ended_total)"
check_eq "the console's node answer lists the changes newest first" "replaced" \
	"$(api "/v1/nodes/node-00000" | jq -r '.data.agent.device_changes[0].change')"

# --- a node only the node role knows -----------------------------------------------------------------------------
"$TREE" "$T/host1" --amd 0 --rdma 0 --procs 3 --gpu-procs 0 >/dev/null
node_yaml "$T/edge.yaml" edge-node-7 "$T/host1" 30s
"$BIN/fleetlens-spoke" --config "$T/edge.yaml" --once >>"$T/spoke.log" 2>&1
check_eq "a node without GPUs (no AMD cards, no NVML) is acknowledged" 0 $?
check_eq "its agent says gpu_source none, 0 GPUs, 0 jobs" "none 0 0" \
	"$(api "/v1/nodes/edge-node-7" | jq -r '.data.agent | "\(.gpu_source) \(.gpus) \(.running_jobs)"')"
check_eq "its Kubernetes facts are missing (kubernetes false), not invented" "false alpha null" \
	"$(api "/v1/nodes/edge-node-7" | jq -r '.data | "\(.kubernetes) \(.cluster_name) \(.gpu_count)"')"
check_eq "its gpuDevices: none" 0 "$(api "/v1/nodes/edge-node-7/gpuDevices" | jq -r '.data | length')"
check_eq "a node nobody knows: 404" 404 "$(code "/v1/nodes/nobody-knows")"

# --- bad node frames ---------------------------------------------------------------------------------------------
BEFORE=$(fl_sql "SELECT string_agg(gpu_id||':'||serial, ',' ORDER BY gpu_id) FROM node_gpu WHERE node_name='node-00000'")
M0=$(curl -s "$API/metrics" | awk '$1 == "fleetlens_hub_frames_rejected_total{reason=\"malformed\"}" {print $2}')
make --spoke tool-1 --seq 1 --kind node --host node-00000 --gpus-per-node 2 --dup-gpu -o "$T/dup.frame"
check_eq "a node frame listing GPU 0 twice is rejected" rejected "$(send "$T/dup.frame")"
check_contains "... saying why" "gpu_id 0 is listed twice" "$("$BIN/fl-frame-tool" send "$URL" "$T/dup.frame" | jq -r .reason)"
check_num "... and counted as malformed" "$((M0 + 2))" \
	"$(curl -s "$API/metrics" | awk '$1 == "fleetlens_hub_frames_rejected_total{reason=\"malformed\"}" {print $2}')"
make --spoke tool-1 --seq 2 --kind node --host node-00000 --gpus-per-node 4 --sent-ms 1000 -o "$T/old.frame"
check_eq "a node frame older than the node's newest (another stream) is acknowledged as a duplicate" duplicate "$(send "$T/old.frame")"
check_num "... counted as stale" 1 "$(metric fleetlens_hub_node_frames_stale_total)"
check_eq "... and changes nothing" "$BEFORE" \
	"$(fl_sql "SELECT string_agg(gpu_id||':'||serial, ',' ORDER BY gpu_id) FROM node_gpu WHERE node_name='node-00000'")"
make --spoke tool-2 --seq 5 --kind node --host node-00002 --gpus-per-node 3 --jobs 2 -o "$T/n2.frame"
check_eq "a tool-made node frame for node-00002 is stored" ok "$(send "$T/n2.frame")"
check_eq "the same frame again is a duplicate" duplicate "$(send "$T/n2.frame")"
check_eq "node-00002 holds 3 GPUs and 2 jobs; node-00000 is untouched" "3 2 $BEFORE" \
	"$(fl_sql "SELECT (SELECT count(*) FROM node_gpu WHERE node_name='node-00002')||' '||(SELECT count(*) FROM gpu_job WHERE node_name='node-00002')") $(fl_sql "SELECT string_agg(gpu_id||':'||serial, ',' ORDER BY gpu_id) FROM node_gpu WHERE node_name='node-00000'")"
make --spoke tool-3 --seq 1 --kind node --host node-00002 -o "$T/other-key.frame" --key-file "$T/keys/beta.key"
check_eq "a node frame for alpha signed with beta's key is rejected" rejected "$(send "$T/other-key.frame")"
"$BIN/fl-frame-tool" make --key-file "$T/keys/beta.key" --cluster beta --spoke tool-4 --seq 1 --kind node \
	--host beta-node-1 --gpus-per-node 1 -o "$T/beta.frame"
check_eq "beta's own node frame is stored" ok "$(send "$T/beta.frame")"
check_eq "cluster status is the cluster role's: a node frame does not make beta online" "never_seen" \
	"$(api "/v1/clusters" | jq -r '.data[] | select(.name == "beta") | .status')"

# --- the job monitor: a node that stops reporting is lost, with its jobs -----------------------------------------
# No race against the clock: node_lost_after is 1h, so only agents whose last_seen the test moves back past it
# can be lost. The hub's maintenance thread sweeps every quarter of node_lost_after, capped at 30 s; the test
# waits up to 90 s for that sweep, however long the machine takes.
node_yaml "$T/node0run.yaml" node-00000 "$T/host0" 1s
"$BIN/fleetlens-spoke" --config "$T/node0run.yaml" >"$T/run.log" 2>&1 &
SPOKE_PID=$!
S0=$(seen node-00000)
fl_wait_until 60 '[ "$(seen node-00000)" != "$S0" ]'
S1=$(seen node-00000)
fl_wait_until 60 '[ "$(seen node-00000)" != "$S1" ]'
check_eq "a running node spoke sends frame after frame (last_seen moves twice) and its agent stays ok" "1 ok" \
	"$(fl_sql "SELECT (extract(epoch FROM last_seen) > $S1)::int FROM node_agent WHERE node_name='node-00000'") $(status_of node-00000)"
fl_it_stop "$SPOKE_PID"
# node-00000 and node-00002 last reported 2 h ago, edge-node-7 50 min ago (within node_lost_after), beta-node-1 now.
fl_sql "UPDATE node_agent SET last_seen = now() - interval '2 hours' WHERE node_name IN ('node-00000', 'node-00002')"
fl_sql "UPDATE node_agent SET last_seen = now() - interval '50 minutes' WHERE node_name = 'edge-node-7'"
fl_wait_until 90 '[ "$(status_of node-00000)" = lost ]'
check_eq "an agent silent for longer than node_lost_after is lost at the next sweep" "lost 1" \
	"$(fl_sql "SELECT status||' '||(lost_at IS NOT NULL)::int FROM node_agent WHERE node_name='node-00000'")"
check_eq "the same sweep: node-00002 lost; edge-node-7 (silent 50 min < 1 h) and beta-node-1 stay ok" \
	"beta-node-1:ok edge-node-7:ok node-00000:lost node-00002:lost" \
	"$(fl_sql "SELECT string_agg(node_name||':'||status, ' ' ORDER BY node_name) FROM node_agent")"
check_eq "its running jobs are lost, its ended job stays ended" "lost:3 ended:1" \
	"$(fl_sql "SELECT string_agg(status||':'||n, ' ' ORDER BY status DESC) FROM (SELECT status, count(*) n FROM gpu_job WHERE node_name='node-00000' GROUP BY 1) x")"
check_eq "/v1/jobs?status=lost lists them" 3 "$(api "/v1/jobs?status=lost&node=node-00000" | jq -r '.data.total')"
check_eq "lost jobs in PostgreSQL: node-00000's 3 and node-00002's 2" 5 "$(fl_sql "SELECT count(*) FROM gpu_job WHERE status='lost'")"
check_num "fleetlens_hub_jobs_lost_total counts them" 5 "$(metric fleetlens_hub_jobs_lost_total)"
check_num "fleetlens_hub_node_agents_lost_total" 2 "$(metric fleetlens_hub_node_agents_lost_total)"
check_contains "the hub logs the lost agents" "node agents lost" "$(cat "$T/hub.log")"
"$BIN/fleetlens-spoke" --config "$T/node0.yaml" --once >>"$T/spoke.log" 2>&1
check_eq "when the node reports again its agent is ok and its jobs run again" "ok running:3 ended:1" \
	"$(fl_sql "SELECT status FROM node_agent WHERE node_name='node-00000'") $(fl_sql "SELECT string_agg(status||':'||n, ' ' ORDER BY status DESC) FROM (SELECT status, count(*) n FROM gpu_job WHERE node_name='node-00000' GROUP BY 1) x")"
check_contains "... and the hub says so" "reports again after it was lost" "$(cat "$T/hub.log")"

fl_done
