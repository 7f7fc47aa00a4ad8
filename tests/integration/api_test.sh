#!/usr/bin/env bash
# The cross-cluster API (issue 6) end to end: a real PostgreSQL (initdb in a temp dir) and the real hub.
# Rows for four clusters are written with psql while the hub is stopped; the hub loads them into its
# in-memory view at start, and every route must answer with exactly those values: clusters and their
# status, overview and fleet sums (with label filters), nodes (filters, every order, desc, pagination
# edges), one node, its GPUs, GPU allocation, the heat map; tokens (401, scopes by name and by label,
# 404 outside the scope), CORS, hostile parameters, 404/405, /metrics (per-cluster series by scope), the
# loopback-only rule, and /readyz with the database stopped (no connection detail in the answer).
# Needs no spoke, so it runs on its own; frames from real spokes land in the same view once they send.
set -uo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
source "$(dirname "$0")/assert.sh"
source "$(dirname "$0")/lib.sh"    # the temp dir, PostgreSQL, the hub's config and start-up
source "$(dirname "$0")/openapi.sh" # records every API answer (validated at the end)

fl_it_setup api
openapi_record "$T/openapi"

fl_it_token ops ops-token-0123456789abcdef
fl_it_token east east-token-0123456789abcdef
fl_it_token beta beta-token-0123456789abcdef
OPS="Authorization: Bearer ops-token-0123456789abcdef"
EAST="Authorization: Bearer east-token-0123456789abcdef"
BETA="Authorization: Bearer beta-token-0123456789abcdef"

# hub_yaml FILE WITH_TOKENS: the hub's config (fl_it_hub_config): four clusters with labels and keys, and
# with WITH_TOKENS=yes three API tokens (all clusters, by label, by name) and an allowed CORS origin.
fl_it_keys alpha beta gamma delta
hub_yaml() {
	{
		printf '  stale_after: 90s\n  offline_after: 10m\n'
		if [ "$2" = yes ]; then
			cat <<YAML
  api_tokens:
    - name: ops
      token_file: tokens/ops
    - name: east
      token_file: tokens/east
      cluster_labels: {region: us-east}
    - name: beta-only
      token_file: tokens/beta
      clusters: [beta]
  cors_origins: [https://ops.example.com]
YAML
		fi
		echo "clusters:"
		for c in "alpha:{region: us-east, tier: prod}" "beta:{region: us-west, tier: prod}" \
			"gamma:{region: us-east, tier: staging}" "delta:{}"; do
			printf '  - name: %s\n    labels: %s\n    key_file: keys/%s.key\n' "${c%%:*}" "${c#*:}" "${c%%:*}"
		done
	} | fl_it_hub_config "$1"
}
hub_yaml "$T/clusters.yaml" yes
out=$("$BIN/fleetlens-hub" --config "$T/clusters.yaml" --check 2>&1)
check_eq "hub --check accepts api_tokens and cors_origins" "$T/clusters.yaml: ok (4 clusters)" "$out"

# --- first start creates the schema; then the rows are written while the hub is stopped -------------
fl_it_start_hub
fl_it_stop_hub
fl_sql "
UPDATE cluster SET k8s_version = 'v1.29.3', spoke_version = '0.1.0', source = 'sim', spoke_id = 'a1', last_seq = 10,
  last_frame_at = now(), last_sent_at = now() WHERE name = 'alpha';
UPDATE cluster SET k8s_version = 'v1.28.9', spoke_version = '0.1.0', spoke_id = 'b1', last_seq = 3,
  last_frame_at = now() - interval '5 minutes', last_sent_at = now() - interval '5 minutes' WHERE name = 'beta';
UPDATE cluster SET spoke_id = 'g1', last_seq = 1, last_frame_at = now() - interval '1 hour' WHERE name = 'gamma';
INSERT INTO cluster_overview_cache (cluster_name, total_nodes, healthy_nodes, faulty_nodes, fully_idle_nodes,
  partially_idle_nodes, busy_nodes, allocation_rate, utilization, gpus_allocatable, gpus_allocated, total_space,
  used_space, usage_percentage, total_inodes, used_inodes, inodes_usage_percentage, read_bandwidth, write_bandwidth,
  total_tx, total_rx, updated_at) VALUES
  ('alpha', 3, 2, 1, 0, 1, 1, 75, 50, 16, 12, 1000, 250, 25, 100, 10, 10, 5, 6, 7, 8, now()),
  ('beta',  2, 2, 0, 1, 1, 0, 25, 20,  8,  2, 3000, 750, 25,   0,  0,  0, 1, 1, 1, 1, now() - interval '5 minutes'),
  ('gamma', 1, 1, 0, 1, 0, 0,  0,  0,  8,  0,    0,   0,  0,   0,  0,  0, 0, 0, 0, 0, now() - interval '1 hour');
INSERT INTO node (cluster_name, name, address, gpu_name, gpu_count, gpu_allocation, status,
  unschedulable, faulty, taints, cpu_millis, memory_bytes, kubelet_version, os_image, kernel_version,
  container_runtime) VALUES
  ('alpha', 'a-n1', '10.0.0.1', 'AMD Instinct MI300X', 8, 8, 'Ready', false, false, '[]', 192000, 2199023255552,
   'v1.29.3', 'Ubuntu 22.04.4 LTS', '5.15.0-105-generic', 'containerd://1.7.13'),
  ('alpha', 'a-n2', '10.0.0.2', 'AMD Instinct MI300X', 8, 4, 'Ready', false, false, '[]', 192000, 2199023255552,
   'v1.29.3', 'Ubuntu 22.04.4 LTS', '5.15.0-105-generic', 'containerd://1.7.13'),
  ('alpha', 'a-n3', '10.0.0.3', 'AMD Instinct MI300X', 8, 0, 'NotReady', true, true,
   '[{\"key\":\"maintenance\",\"value\":\"disk\",\"effect\":\"NoSchedule\"}]', 192000, 2199023255552,
   'v1.29.3', 'Ubuntu 22.04.4 LTS', '5.15.0-105-generic', 'containerd://1.7.13'),
  ('beta', 'b-n1', '10.1.0.1', 'NVIDIA H100', 4, 2, 'Ready', false, false, '[]', 96000, 1099511627776,
   'v1.28.9', 'Ubuntu 22.04.4 LTS', '6.1.0', 'containerd://1.7.2'),
  ('beta', 'shared', '10.1.0.2', 'NVIDIA H100', 4, 0, 'Unknown', false, true, '[]', 96000, 1099511627776,
   'v1.28.9', 'Ubuntu 22.04.4 LTS', '6.1.0', 'containerd://1.7.2'),
  ('gamma', 'shared', '10.2.0.1', 'AMD Instinct MI300X', 8, 0, 'Ready', false, false, '[]', 1, 1,
   'v1.29.0', 'x', 'y', 'z');
INSERT INTO gpu_device (cluster_name, node_name, gpu_id, gpu_model, memory, serial, numa) VALUES
  ('alpha', 'a-n1', 1, 'AMD Instinct MI300X', 196608, 'SN-A1-1', 1),
  ('alpha', 'a-n1', 0, 'AMD Instinct MI300X', 196608, 'SN-A1-0', 0),
  ('alpha', 'a-n2', 0, 'AMD Instinct MI300X', 196608, 'SN-A2-0', 0),
  ('beta', 'b-n1', 0, 'NVIDIA H100', 81920, 'SN-B1-0', 0),
  ('beta', 'b-n1', 1, 'NVIDIA H100', 81920, 'SN-B1-1', 1),
  ('gamma', 'shared', 0, 'AMD Instinct MI300X', 196608, 'SN-G-0', -1);
-- The figures are each node's newest sample (009_samples.sql): gpu_ids ordered, NULL = no figure.
INSERT INTO node_utilization_history (cluster_name, node_name, sampled_at, gpu_utilization, gpu_count,
  gpu_allocation, gpu_ids, gpu_utilizations, gpu_temperatures, gpu_powers) VALUES
  ('alpha', 'a-n1', now(), 60, 8, 8, '{0,1}', '{70,50}', '{44,45.5}', '{600.5,610}'),
  ('alpha', 'a-n2', now(), 40, 8, 4, '{0}', '{40}', '{40}', '{500}'),
  ('alpha', 'a-n3', now(), NULL, 8, 0, '{}', '{}', '{}', '{}'),
  ('beta', 'b-n1', now(), 20, 4, 2, '{0,1}', '{20,20}', '{50,51}', '{300,301}'),
  ('beta', 'shared', now(), 10, 4, 0, '{}', '{}', '{}', '{}'),
  ('gamma', 'shared', now(), NULL, 8, 0, '{0}', '{NULL}', '{30}', '{90}');
"
check_eq "rows written for three clusters" 6 "$(fl_sql "SELECT count(*) FROM node")"
fl_it_start_hub
check_contains "hub logs the view's size at start" "view " "$(grep 'started:' "$T/hub.log")"

get() { curl -s -H "$OPS" "$API$1"; }                                  # body
code() { curl -s -o "$T/body" -w '%{http_code}' -H "${2:-$OPS}" "$API$1"; } # status; body in $T/body
msg() { jq -r '.meta.message' "$T/body"; }
ecode() { jq -r '.meta.code' "$T/body"; }

# --- /v1/clusters ------------------------------------------------------------------------------------
cl=$(get /v1/clusters)
check_eq "/v1/clusters envelope" "2000 OK" "$(jq -r '"\(.meta.code) \(.meta.message)"' <<<"$cl")"
check_eq "clusters in config order with their status" "alpha:online beta:stale gamma:offline delta:never_seen" \
	"$(jq -r '[.data[] | "\(.name):\(.status)"] | join(" ")' <<<"$cl")"
check_eq "alpha's versions and labels" "v1.29.3 0.1.0 us-east prod" \
	"$(jq -r '.data[0] | "\(.k8sVersion) \(.spokeVersion) \(.labels.region) \(.labels.tier)"' <<<"$cl")"
check_eq "alpha's overview rides along" "16 12 75" \
	"$(jq -r '.data[0].overview | "\(.gpusAllocatable) \(.gpusAllocated) \(.allocationRate)"' <<<"$cl")"
check_eq "beta's last frame is about 300 s old" true "$(jq '.data[1].lastFrameAgeSeconds | . > 295 and . < 330' <<<"$cl")"
check_eq "delta: never seen, no frame time, no overview" "null null null" \
	"$(jq -r '.data[3] | "\(.lastFrameAt) \(.lastFrameAgeSeconds) \(.overview)"' <<<"$cl")"
check_eq "label filter region=us-east" "alpha gamma" \
	"$(get '/v1/clusters?label=region=us-east' | jq -r '[.data[].name] | join(" ")')"
check_eq "two label filters must both hold" "gamma" \
	"$(get '/v1/clusters?label=region=us-east&label=tier=staging' | jq -r '[.data[].name] | join(" ")')"
check_eq "a label nobody has: empty list" "[]" "$(get '/v1/clusters?label=region=mars' | jq -c '.data')"

# --- overview and fleet --------------------------------------------------------------------------------
ov=$(get '/v1/clusters/overview?cluster=alpha')
for f in totalNodes:3 healthyNodes:2 faultyNodes:1 fullyIdleNodes:0 partiallyIdleNodes:1 busyNodes:1 \
	allocationRate:75 utilization:50 gpusAllocatable:16 gpusAllocated:12 total_space:1000 used_space:250 \
	usage_percentage:25 total_inodes:100 used_inodes:10 read_bandwidth:5 write_bandwidth:6 total_tx:7 total_rx:8; do
	check_num "overview alpha ${f%%:*}" "${f##*:}" "$(jq ".data.${f%%:*}" <<<"$ov")"
done
check_eq "overview names cluster and status" "alpha online" "$(jq -r '"\(.data.cluster) \(.data.status)"' <<<"$ov")"
check_eq "stale overview is served with its status and age" "stale true" \
	"$(get '/v1/clusters/overview?cluster=beta' | jq -r '"\(.data.status) \(.data.ageSeconds > 295)"')"
check_eq "overview of a never-seen cluster → 503" "503 5003" "$(code '/v1/clusters/overview?cluster=delta') $(ecode)"
check_eq "overview without cluster when four are visible → 400" "400 4001" "$(code /v1/clusters/overview) $(ecode)"
check_contains "the 400 names the parameter" "'cluster'" "$(msg)"
check_eq "overview without cluster for a token that sees one cluster → that one" "beta stale" \
	"$(curl -s -H "$BETA" "$API/v1/clusters/overview" | jq -r '"\(.data.cluster) \(.data.status)"')"

fo=$(get /v1/fleet/overview)
for f in totalNodes:6 healthyNodes:5 faultyNodes:1 fullyIdleNodes:2 partiallyIdleNodes:2 busyNodes:1 \
	gpusAllocatable:32 gpusAllocated:14 allocationRate:43.75 utilization:38 total_space:4000 used_space:1000 \
	usage_percentage:25 total_inodes:100 used_inodes:10 inodes_usage_percentage:10 read_bandwidth:6 total_rx:9 \
	clusters:4 clustersReporting:3; do
	check_num "fleet ${f%%:*}" "${f##*:}" "$(jq ".data.${f%%:*}" <<<"$fo")"
done
check_eq "fleet counts clusters by status" '{"never_seen":1,"offline":1,"online":1,"stale":1}' \
	"$(jq -cS '.data.byStatus' <<<"$fo")"
fe=$(get '/v1/fleet/overview?label=region=us-east')
check_eq "fleet of region=us-east: alpha+gamma GPUs, rate 12/24, utilization of reporting GPUs" "24 12 50 50 2" \
	"$(jq -r '.data | "\(.gpusAllocatable) \(.gpusAllocated) \(.allocationRate) \(.utilization) \(.clusters)"' <<<"$fe")"
check_eq "fleet's oldest figures are gamma's (an hour old)" \
	"$(get /v1/clusters | jq -r '.data[] | select(.name == "gamma") | .overview.updatedAt')" "$(jq -r '.data.oldestUpdatedAt' <<<"$fo")"
check_eq "fleet of one cluster (beta): its figures, its status" "8 2 25 20 1 1 1" \
	"$(get '/v1/fleet/overview?cluster=beta' | jq -r '.data | "\(.gpusAllocatable) \(.gpusAllocated) \(.allocationRate) \(.utilization) \(.clusters) \(.clustersReporting) \(.byStatus.stale)"')"
check_eq "fleet of region=us-east and tier=staging: gamma only" "8 0 1 offline=1" \
	"$(get '/v1/fleet/overview?label=region=us-east&label=tier=staging' | jq -r '.data | "\(.gpusAllocatable) \(.gpusAllocated) \(.clusters) offline=\(.byStatus.offline)"')"
check_eq "fleet of a label nobody has: zeros, no oldest figures" "0 0 0 0 0 0 null" \
	"$(get '/v1/fleet/overview?label=region=mars' | jq -r '.data | "\(.clusters) \(.clustersReporting) \(.totalNodes) \(.gpusAllocatable) \(.allocationRate) \(.utilization) \(.oldestUpdatedAt)"')"
check_eq "fleet with cluster=alpha and a label alpha lacks: nothing matches" 0 \
	"$(get '/v1/fleet/overview?cluster=alpha&label=region=us-west' | jq '.data.clusters')"
check_eq "fleet of the never-seen cluster: counted, not reporting" "1 0 1" \
	"$(get '/v1/fleet/overview?cluster=delta' | jq -r '.data | "\(.clusters) \(.clustersReporting) \(.byStatus.never_seen)"')"

# --- /v1/nodes -----------------------------------------------------------------------------------------
names() { jq -r '[.data.data[] | "\(.cluster_name)/\(.name)"] | join(" ")'; }
all=$(get '/v1/nodes?page_size=100')
check_eq "all nodes, default order cluster then name" \
	"alpha/a-n1 alpha/a-n2 alpha/a-n3 beta/b-n1 beta/shared gamma/shared" "$(names <<<"$all")"
check_eq "total" 6 "$(jq '.data.total' <<<"$all")"
check_eq "node row fields" '{"cluster_name":"alpha","gpu_allocation":8,"gpu_count":8,"gpu_name":"AMD Instinct MI300X","gpu_utilization":60,"ip":"10.0.0.1","name":"a-n1","status":"Ready"}' \
	"$(jq -cS '.data.data[0]' <<<"$all")"
check_eq "no utilization → null" null "$(jq '.data.data[2].gpu_utilization' <<<"$all")"
check_eq "default page size 10, page 1" 6 "$(get /v1/nodes | jq '.data.data | length')"
check_eq "page 2 of 4: the last, partial page" "beta/shared gamma/shared" "$(get '/v1/nodes?page_size=4&page_num=2' | names)"
p=$(get '/v1/nodes?page_size=4&page_num=3')
check_eq "page beyond the end: empty data, right total" "[] 6" "$(jq -c '.data.data' <<<"$p") $(jq '.data.total' <<<"$p")"
check_eq "page_size=1000 is allowed and holds every row" 6 "$(get '/v1/nodes?page_size=1000' | jq '.data.data | length')"
check_eq "page_size=1: the last page is the last row" "gamma/shared" "$(get '/v1/nodes?page_size=1&page_num=6' | names)"
p=$(get '/v1/nodes?page_size=1&page_num=7')
check_eq "page_size=1: one past the last page is empty, total kept" "0 6" "$(jq -r '"\(.data.data | length) \(.data.total)"' <<<"$p")"
p=$(get '/v1/nodes?page_num=10000000')
check_eq "page_num=10000000 (the largest) answers an empty page" "200 0 6" "$(code '/v1/nodes?page_num=10000000') $(jq -r '"\(.data.data | length) \(.data.total)"' <<<"$p")"
check_eq "desc=true reverses the default order: page 1 of 2" "gamma/shared beta/shared beta/b-n1 alpha/a-n3" \
	"$(get '/v1/nodes?desc=true&page_size=4' | names)"
check_eq "desc=true reverses the default order: page 2 of 2" "alpha/a-n2 alpha/a-n1" "$(get '/v1/nodes?desc=true&page_size=4&page_num=2' | names)"
check_eq "a filtered list pages over the matches only" "1 4 beta/b-n1" \
	"$(get '/v1/nodes?name=n&page_size=3&page_num=2' | jq -r '"\(.data.data | length) \(.data.total) \([.data.data[] | "\(.cluster_name)/\(.name)"] | join(" "))"')"
check_eq "sorted by utilization, the last page holds the node without a figure" "alpha/a-n3" \
	"$(get '/v1/nodes?order_by=gpu_utilization&desc=true&page_size=1&page_num=6' | names)"
check_eq "sorted, one past the last page: empty, total kept" "0 6" \
	"$(get '/v1/nodes?order_by=gpu_count&page_size=5&page_num=3' | jq -r '"\(.data.data | length) \(.data.total)"')"
check_eq "one cluster" "beta/b-n1 beta/shared" "$(get '/v1/nodes?cluster=beta' | names)"
check_eq "name is a substring match" "alpha/a-n1 alpha/a-n2 alpha/a-n3 beta/b-n1" "$(get '/v1/nodes?name=n' | names)"
check_eq "gpu_name exact" "beta/b-n1 beta/shared" "$(get '/v1/nodes?gpu_name=NVIDIA%20H100' | names)"
check_eq "status comma list" "alpha/a-n3 beta/shared" "$(get '/v1/nodes?status=NotReady,Unknown' | names)"
check_eq "filters combine, total counts matches" "1 alpha/a-n3" \
	"$(get '/v1/nodes?status=NotReady&cluster=alpha' | jq -r '"\(.data.total) \([.data.data[] | "\(.cluster_name)/\(.name)"] | join(" "))"')"
check_eq "order_by=gpu_utilization desc (no figure last)" \
	"alpha/a-n1 alpha/a-n2 beta/b-n1 beta/shared gamma/shared alpha/a-n3" \
	"$(get '/v1/nodes?order_by=gpu_utilization&desc=true' | names)"
check_eq "order_by=gpu_count (ties: cluster, name)" \
	"beta/b-n1 beta/shared alpha/a-n1 alpha/a-n2 alpha/a-n3 gamma/shared" "$(get '/v1/nodes?order_by=gpu_count' | names)"
check_eq "order_by=gpu_allocation desc, page 3 of 3" "beta/shared alpha/a-n3" \
	"$(get '/v1/nodes?order_by=gpu_allocation&desc=true&page_size=2&page_num=3' | names)"
check_eq "order_by=name" "alpha/a-n1 alpha/a-n2 alpha/a-n3 beta/b-n1 beta/shared gamma/shared" \
	"$(get '/v1/nodes?order_by=name' | names)"
check_eq "order_by=status" "alpha/a-n3 alpha/a-n1 alpha/a-n2 beta/b-n1 gamma/shared beta/shared" \
	"$(get '/v1/nodes?order_by=status' | names)"
check_eq "order_by=cluster_name desc" "gamma/shared beta/shared beta/b-n1 alpha/a-n3 alpha/a-n2 alpha/a-n1" \
	"$(get '/v1/nodes?order_by=cluster_name&desc=true' | names)"
check_eq "unknown parameters are ignored" 200 "$(code '/v1/nodes?_=123&foo=bar')"

# --- one node, its GPUs, allocation, heat map -----------------------------------------------------------
n3=$(get '/v1/nodes/a-n3?cluster=alpha')
check_eq "node detail" "NotReady true true maintenance disk NoSchedule 192000 Ubuntu 22.04.4 LTS alpha" \
	"$(jq -r '.data | "\(.status) \(.unschedulable) \(.faulty) \(.taints[0].key) \(.taints[0].value) \(.taints[0].effect) \(.cpu_millis) \(.os_image) \(.cluster_name)"' <<<"$n3")"
check_eq "node detail: every field of a-n1 (no node agent reports it: agent null; the cluster role does: kubernetes true)" \
	'{"agent":null,"cluster_name":"alpha","container_runtime":"containerd://1.7.13","cpu_millis":192000,"faulty":false,"gpu_allocation":8,"gpu_count":8,"gpu_devices":2,"gpu_name":"AMD Instinct MI300X","gpu_utilization":60,"ip":"10.0.0.1","kernel_version":"5.15.0-105-generic","kubelet_version":"v1.29.3","kubernetes":true,"memory_bytes":2199023255552,"name":"a-n1","os_image":"Ubuntu 22.04.4 LTS","status":"Ready","taints":[],"unschedulable":false}' \
	"$(get '/v1/nodes/a-n1?cluster=alpha' | jq -cS '.data')"
check_eq "node detail: no utilization → null, no GPU rows → 0 devices" "null 0" \
	"$(get '/v1/nodes/a-n3' | jq -r '"\(.data.gpu_utilization) \(.data.gpu_devices)"')"
check_eq "a name in one cluster needs no cluster parameter" "alpha 2" \
	"$(get /v1/nodes/a-n1 | jq -r '"\(.data.cluster_name) \(.data.gpu_devices)"')"
check_eq "a name in two clusters without cluster → 400" "400 4001" "$(code /v1/nodes/shared) $(ecode)"
check_contains "... naming the parameter and the clusters" "parameter 'cluster' is required: node 'shared' is in clusters beta, gamma" "$(msg)"
check_eq "... and with cluster it answers" "Unknown" "$(get '/v1/nodes/shared?cluster=beta' | jq -r '.data.status')"
check_eq "unknown node → 404" "404 4004" "$(code /v1/nodes/nope) $(ecode)"
check_eq "node of another cluster → 404" 404 "$(code '/v1/nodes/a-n1?cluster=beta')"
g=$(get '/v1/nodes/a-n1/gpuDevices?cluster=alpha')
check_eq "gpuDevices: Lens gpu_device rows ordered by gpu_id, read by the cluster role" \
	'[{"cluster_name":"alpha","gpu_id":0,"gpu_model":"AMD Instinct MI300X","memory":196608,"node_name":"a-n1","numa":0,"power":600.5,"serial":"SN-A1-0","source":"cluster","temperature":44,"utilization":70},{"cluster_name":"alpha","gpu_id":1,"gpu_model":"AMD Instinct MI300X","memory":196608,"node_name":"a-n1","numa":1,"power":610,"serial":"SN-A1-1","source":"cluster","temperature":45.5,"utilization":50}]' \
	"$(jq -cS '.data' <<<"$g")"
check_eq "gpuDevices of a node without GPUs: empty" "[]" "$(get '/v1/nodes/a-n3/gpuDevices' | jq -c '.data')"
check_eq "gpuDevices: null utilization stays null" null "$(get '/v1/nodes/shared/gpuDevices?cluster=gamma' | jq '.data[0].utilization')"
check_eq "gpuDevices of a name in two clusters without cluster → 400" "400 4001" "$(code /v1/nodes/shared/gpuDevices) $(ecode)"
check_eq "gpuDevices of an unknown node → 404" "404 4004" "$(code /v1/nodes/nope/gpuDevices) $(ecode)"
ga=$(get '/v1/nodes/gpuAllocation?cluster=alpha')
check_eq "gpuAllocation per node" "a-n1:8/8=100 a-n2:4/8=50 a-n3:0/8=0" \
	"$(jq -r '[.data[] | "\(.name):\(.gpu_allocation)/\(.gpu_count)=\(.allocation_rate)"] | join(" ")' <<<"$ga")"
check_eq "gpuAllocation across clusters: every GPU node, by cluster then name" \
	"alpha/a-n1:8/8=100 alpha/a-n2:4/8=50 alpha/a-n3:0/8=0 beta/b-n1:2/4=50 beta/shared:0/4=0 gamma/shared:0/8=0" \
	"$(get /v1/nodes/gpuAllocation | jq -r '[.data[] | "\(.cluster_name)/\(.name):\(.gpu_allocation)/\(.gpu_count)=\(.allocation_rate)"] | join(" ")')"
check_eq "gpuAllocation of a cluster without nodes: empty" "[]" "$(get '/v1/nodes/gpuAllocation?cluster=delta' | jq -c '.data')"
check_eq "gpuAllocation of an unknown cluster → 404" 404 "$(code '/v1/nodes/gpuAllocation?cluster=nope')"
hm=$(get '/v1/clusters/gpuHeatmap?cluster=alpha')
check_eq "heat map: rows of nodes with GPUs, utilization by gpu_id" \
	'{"maxGpus":2,"rows":[{"cluster_name":"alpha","gpu_ids":[0,1],"gpu_utilization":60,"name":"a-n1","utilization":[70,50]},{"cluster_name":"alpha","gpu_ids":[0],"gpu_utilization":40,"name":"a-n2","utilization":[40]}]}' \
	"$(jq -cS '.data' <<<"$hm")"
check_eq "heat map across clusters: nodes with GPU rows only, by cluster then name; null where a GPU reports none" \
	"2 alpha/a-n1:0,1=70,50 alpha/a-n2:0=40 beta/b-n1:0,1=20,20 gamma/shared:0=null" \
	"$(get /v1/clusters/gpuHeatmap | jq -r '"\(.data.maxGpus) " + ([.data.rows[] | "\(.cluster_name)/\(.name):\(.gpu_ids | map(tostring) | join(","))=\(.utilization | map(tostring) | join(","))"] | join(" "))')"
check_eq "heat map row of a node without a utilization figure: null" null \
	"$(get '/v1/clusters/gpuHeatmap?cluster=gamma' | jq '.data.rows[0].gpu_utilization')"
check_eq "heat map of a cluster without nodes: no rows, no columns" '{"maxGpus":0,"rows":[]}' \
	"$(get '/v1/clusters/gpuHeatmap?cluster=delta' | jq -cS '.data')"
check_eq "heat map of an unknown cluster → 404" 404 "$(code '/v1/clusters/gpuHeatmap?cluster=nope')"

# --- issue 5's routes, unknown routes, methods -----------------------------------------------------------
check_eq "/v1/workloads of clusters that sent none → 200, no rows" "200 0 0" \
	"$(code /v1/workloads) $(get /v1/workloads | jq -r '"\(.data.total) \(.data.data | length)"')"
check_eq "utilizationHistory without cluster → 400" 400 "$(code '/v1/nodes/a-n1/utilizationHistory?start=1&end=2&step=60')"
check_contains "... naming the parameter" "'cluster'" "$(msg)"
check_eq "utilizationHistory of a node with no samples → 200, no points" "200 0" \
	"$(code '/v1/nodes/a-n1/utilizationHistory?cluster=alpha&start=1&end=2&step=60') $(jq '.data.series[0].points | length' "$T/body")"
check_eq "unknown route → 404 in the envelope" "404 4004" "$(code /v1/nothing) $(ecode)"
check_eq "unknown node sub-route → 404" 404 "$(code /v1/nodes/a-n1/nothing)"
check_eq "POST → 405" 405 "$(curl -s -o "$T/body" -w '%{http_code}' -X POST -H "$OPS" "$API/v1/nodes")"
check_eq "405 envelope code" 4005 "$(ecode)"
check_eq "DELETE on a node → 405" 405 "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE -H "$OPS" "$API/v1/nodes/a-n1")"

# --- hostile and bad parameters: 400 naming the parameter -----------------------------------------------
bad() { # bad WHAT PATH PARAM
	local c
	c=$(code "$2")
	check_eq "$1 → 400" "400 4001" "$c $(ecode)"
	check_contains "$1: message names '$3'" "'$3'" "$(msg)"
}
LONG=$(printf 'a%.0s' $(seq 1 300))
bad "cluster with a quote" "/v1/nodes?cluster=%27%3B%20DROP%20TABLE%20node%3B--" cluster
bad "cluster with %00" "/v1/nodes?cluster=alpha%00" cluster
bad "cluster not UTF-8" "/v1/nodes?cluster=%FF%FE" cluster
bad "very long cluster" "/v1/nodes?cluster=$LONG" cluster
bad "name with a quote" "/v1/nodes?name=a%22b" name
bad "gpu_name with a quote" "/v1/nodes?gpu_name=NVIDIA%22%3E" gpu_name
bad "gpu_name not UTF-8" "/v1/nodes?gpu_name=%C3%28" gpu_name
bad "status with punctuation" "/v1/nodes?status=Ready%3Bx" status
bad "status with an empty item" "/v1/nodes?status=Ready,,NotReady" status
bad "order_by unknown" "/v1/nodes?order_by=ip" order_by
bad "desc not a boolean" "/v1/nodes?desc=yes" desc
bad "page_size above 1000" "/v1/nodes?page_size=1001" page_size
bad "page_size 0" "/v1/nodes?page_size=0" page_size
bad "page_num negative" "/v1/nodes?page_num=-1" page_num
bad "page_num not a number" "/v1/nodes?page_num=1e3" page_num
bad "label without =" "/v1/clusters?label=region" label
bad "label with a quote" "/v1/fleet/overview?label=region=%27x" label
bad "node path with a space" "/v1/nodes/a%20b" name
bad "page_size beyond 64 bits" "/v1/nodes?page_size=99999999999999999999" page_size
bad "page_size with a sign" "/v1/nodes?page_size=%2B5" page_size
bad "page_num with a fraction" "/v1/nodes?page_num=1.5" page_num
bad "page_num above 10000000" "/v1/nodes?page_num=10000001" page_num
bad "nine label parameters" "/v1/clusters?$(for i in 1 2 3 4 5 6 7 8 9; do printf 'label=k%d=v&' "$i"; done)" label
bad "label longer than 256 bytes" "/v1/fleet/overview?label=region=$LONG" label
bad "gpu_name of 258 bytes of UTF-8" "/v1/nodes?gpu_name=$(printf '%%C3%%A9%.0s' $(seq 1 129))" gpu_name
bad "gpu_name with a control character" "/v1/nodes?gpu_name=a%0Ab" gpu_name
bad "status with a space" "/v1/nodes?status=Not%20Ready" status
bad "cluster on the heat map with a quote" "/v1/clusters/gpuHeatmap?cluster=a%27" cluster
bad "cluster on gpuAllocation not UTF-8" "/v1/nodes/gpuAllocation?cluster=%C0%AF" cluster
bad "node path of 300 characters" "/v1/nodes/$LONG" name
check_eq "an empty value counts as absent (desc=)" 200 "$(code '/v1/nodes?desc=&page_size=')"
check_eq "a node path climbing with encoded slashes is no route (the path is normalized first)" "404 no route /etc/passwd" \
	"$(code '/v1/nodes/..%2F..%2Fetc%2Fpasswd') $(msg)"
check_eq "an encoded path does not reach files outside the console" 404 "$(code '/..%2Fsql%2Fhub%2F001_init.sql')"
check_eq "a dot path does not reach files outside the console (CMakeLists.txt is beside web/)" 404 "$(code '/%2e%2e/CMakeLists.txt')"
check_eq "nothing was dropped" 6 "$(fl_sql "SELECT count(*) FROM node")"
check_eq "unknown cluster → 404" "404 4004" "$(code '/v1/nodes?cluster=nope') $(ecode)"

# --- tokens and scopes -------------------------------------------------------------------------------------
check_eq "no token → 401" 401 "$(curl -s -o "$T/body" -w '%{http_code}' "$API/v1/clusters")"
check_eq "401 envelope code" 4003 "$(ecode)"
check_contains "401 asks for a bearer token" "WWW-Authenticate: Bearer" "$(curl -s -D - -o /dev/null "$API/v1/nodes")"
check_eq "wrong token → 401" 401 "$(code /v1/clusters 'Authorization: Bearer ops-token-0123456789abcdeX')"
check_eq "/metrics needs a token too" 401 "$(curl -s -o /dev/null -w '%{http_code}' "$API/metrics")"
check_eq "/healthz stays open" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$API/healthz")"
check_eq "/readyz stays open" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$API/readyz")"
check_eq "the console stays open" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$API/")"
check_eq "label-scoped token lists its clusters only" "alpha gamma" \
	"$(curl -s -H "$EAST" "$API/v1/clusters" | jq -r '[.data[].name] | join(" ")')"
check_eq "label-scoped token: cluster outside → 404 as if absent" "404 cluster 'beta' not found" \
	"$(code '/v1/clusters/overview?cluster=beta' "$EAST") $(msg)"
check_eq "label-scoped token: nodes across its clusters only" "alpha/a-n1 alpha/a-n2 alpha/a-n3 gamma/shared" \
	"$(curl -s -H "$EAST" "$API/v1/nodes" | names)"
check_eq "label-scoped token: 'shared' is only in gamma for it" gamma \
	"$(curl -s -H "$EAST" "$API/v1/nodes/shared" | jq -r '.data.cluster_name')"
check_eq "label-scoped token: fleet sums its clusters" "24 2" \
	"$(curl -s -H "$EAST" "$API/v1/fleet/overview" | jq -r '"\(.data.gpusAllocatable) \(.data.clusters)"')"
check_eq "name-scoped token: alpha's node is not found" 404 "$(code /v1/nodes/a-n1 "$BETA")"
check_eq "name-scoped token: nodes of beta only" 2 "$(curl -s -H "$BETA" "$API/v1/nodes" | jq '.data.total')"
check_eq "label-scoped token: gpuAllocation of its clusters only" "alpha alpha alpha gamma" \
	"$(curl -s -H "$EAST" "$API/v1/nodes/gpuAllocation" | jq -r '[.data[].cluster_name] | join(" ")')"
check_eq "label-scoped token: heat map of its clusters only" "alpha alpha gamma" \
	"$(curl -s -H "$EAST" "$API/v1/clusters/gpuHeatmap" | jq -r '[.data.rows[].cluster_name] | join(" ")')"
check_eq "label-scoped token: a label filter outside its scope matches nothing" "0 []" \
	"$(curl -s -H "$EAST" "$API/v1/fleet/overview?label=region=us-west" | jq -r '.data.clusters') $(curl -s -H "$EAST" "$API/v1/clusters?label=region=us-west" | jq -c '.data')"
check_eq "label-scoped token: nodes of a cluster outside → 404" 404 "$(code '/v1/nodes?cluster=beta' "$EAST")"
check_eq "label-scoped token: gpuDevices of a node outside → 404" 404 "$(code '/v1/nodes/b-n1/gpuDevices' "$EAST")"
check_eq "label-scoped token: 'shared' GPUs are gamma's for it (no cluster needed)" "gamma SN-G-0" \
	"$(curl -s -H "$EAST" "$API/v1/nodes/shared/gpuDevices" | jq -r '.data[] | "\(.cluster_name) \(.serial)"')"
check_eq "name-scoped token: fleet sums beta only" "1 8" "$(curl -s -H "$BETA" "$API/v1/fleet/overview" | jq -r '"\(.data.clusters) \(.data.gpusAllocatable)"')"
check_eq "name-scoped token: gpuDevices of alpha's node → 404" 404 "$(code '/v1/nodes/a-n1/gpuDevices?cluster=alpha' "$BETA")"
check_eq "a valid token still gets 400 for a bad parameter" 400 "$(code '/v1/nodes?page_size=0' "$BETA")"
check_eq "name-scoped token: heat map of beta only" "beta" \
	"$(curl -s -H "$BETA" "$API/v1/clusters/gpuHeatmap" | jq -r '[.data.rows[].cluster_name] | unique | join(" ")')"

# --- CORS --------------------------------------------------------------------------------------------------
h=$(curl -s -D - -o /dev/null -H "$OPS" -H 'Origin: https://ops.example.com' "$API/v1/clusters")
check_contains "allowed origin is echoed" "Access-Control-Allow-Origin: https://ops.example.com" "$h"
h=$(curl -s -D - -o /dev/null -H "$OPS" -H 'Origin: https://evil.example.com' "$API/v1/clusters")
check_eq "other origins get no CORS header" "" "$(grep -i '^Access-Control' <<<"$h")"
h=$(curl -s -D - -o /dev/null -X OPTIONS -H 'Origin: https://ops.example.com' \
	-H 'Access-Control-Request-Method: GET' -H 'Access-Control-Request-Headers: authorization' "$API/v1/nodes")
check_contains "preflight answers 204" "HTTP/1.1 204" "$h"
check_contains "preflight allows the Authorization header" "Access-Control-Allow-Headers: Authorization" "$h"
check_eq "preflight from another origin is refused" 401 \
	"$(curl -s -o /dev/null -w '%{http_code}' -X OPTIONS -H 'Origin: https://evil.example.com' "$API/v1/nodes")"

# --- /metrics ------------------------------------------------------------------------------------------------
m=$(get /metrics)
check_eq "per-cluster allocatable GPUs gauge" 16 \
	"$(awk '/^fleetlens_cluster_gpus\{cluster="alpha",state="allocatable"\}/ {print $2}' <<<"$m")"
check_eq "per-cluster utilization gauge" 20 "$(awk '/^fleetlens_cluster_gpu_utilization\{cluster="beta"\}/ {print $2}' <<<"$m")"
check_eq "nodes latency histogram counts requests" true \
	"$(awk '/^fleetlens_hub_api_request_duration_seconds_count\{route="\/v1\/nodes"\}/ {print ($2 > 20) ? "true" : "false"}' <<<"$m")"
check_eq "histogram +Inf bucket equals the count" \
	"$(awk '/^fleetlens_hub_api_request_duration_seconds_count\{route="\/v1\/clusters"\}/ {print $2}' <<<"$m")" \
	"$(awk '/^fleetlens_hub_api_request_duration_seconds_bucket\{route="\/v1\/clusters",le="\+Inf"\}/ {print $2}' <<<"$m")"
check_contains "view size exported" "fleetlens_hub_view_bytes " "$m"
check_contains "existing metrics kept" 'fleetlens_cluster_up{cluster="beta",status="stale"} 1' "$m"
# Per-cluster series follow the token's scope; the process-wide counters are there for every token.
metric_clusters() { grep -o 'cluster="[^"]*"' | sort -u | sed 's/cluster="\(.*\)"/\1/' | paste -sd' '; }
check_eq "/metrics for the ops token: every cluster's series" "alpha beta delta gamma" "$(metric_clusters <<<"$m")"
mb=$(curl -s -H "$BETA" "$API/metrics")
check_eq "/metrics for a name-scoped token: beta's series only" beta "$(metric_clusters <<<"$mb")"
check_contains "/metrics for a name-scoped token: its gauges" 'fleetlens_cluster_gpus{cluster="beta",state="allocatable"} 8' "$mb"
check_contains "/metrics for a name-scoped token: process-wide counters kept" "fleetlens_hub_frames_received_total " "$mb"
check_contains "/metrics for a name-scoped token: latency histograms kept" \
	'fleetlens_hub_api_request_duration_seconds_count{route="/v1/nodes"}' "$mb"
check_eq "/metrics for a label-scoped token: alpha's and gamma's series only" "alpha gamma" \
	"$(curl -s -H "$EAST" "$API/metrics" | metric_clusters)"

# --- no tokens: loopback only, and said so -----------------------------------------------------------------
fl_it_stop_hub
PORT2=$(fl_free_port)
hub_yaml "$T/open.yaml" no
fl_it_hub_set "$T/open.yaml" api_listen "0.0.0.0:$PORT2"
fl_it_start_hub "$T/open.yaml" "$T/open.log" "http://127.0.0.1:$PORT2"
check_contains "without tokens the hub warns it listens on loopback only" \
	"no hub.api_tokens configured: the API listens on 127.0.0.1:$PORT2 only" "$(cat "$T/open.log")"
check_eq "without tokens /v1 answers without one" 6 "$(curl -s "http://127.0.0.1:$PORT2/v1/nodes" | jq '.data.total')"
if command -v ss >/dev/null; then
	check_eq "bound to 127.0.0.1 only" "127.0.0.1:$PORT2" "$(ss -Hltn "sport = :$PORT2" | awk '{print $4}' | sort -u | paste -sd' ')"
fi

# /readyz is open to anyone: with the database down it says so without libpq's words (socket path, port,
# user), which go to the log instead.
check_eq "/readyz is 200 with the database up" 200 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT2/readyz")"
fl_pg_stop
check_eq "/readyz is 503 with the database down" 503 \
	"$(curl -s -o "$T/body" -w '%{http_code}' "http://127.0.0.1:$PORT2/readyz")"
check_eq "/readyz with the database down says only that" "5003 not ready: database unavailable" "$(ecode) $(msg)"
check_eq "/readyz body holds no host, port or user" "" \
	"$(grep -oiE "$FL_PG_DIR|PGSQL|port|user|postgres|socket|connection" "$T/body" | head -3)"
check_contains "the hub logs libpq's detail" "api: not ready: " "$(cat "$T/open.log")"
check_contains "the logged detail names the server" "$FL_PG_DIR" "$(grep 'api: not ready' "$T/open.log")"

fl_it_stop_hub
check_eq "hubs stopped cleanly, no sanitizer report" "" \
	"$(grep -hE 'AddressSanitizer|LeakSanitizer|runtime error' "$T/hub.log" "$T/open.log" | head -3)"

[ "$FL_FAIL" -eq 0 ] || { echo "--- hub log"; tail -40 "$T/hub.log"; }
openapi_validate # every answer above against hub/openapi.json (openapi.sh)
fl_done
