#!/usr/bin/env bash
# The Lens face (issue 12, ../shared/LENS_API.md) end to end, for the routes the hub's view answers: a real
# PostgreSQL, the real hub and real sim spokes for two clusters (a third registered cluster never reports).
# Checked against the contract field by field (names, JSON types, units): the envelope with "tracing", the
# cluster picker, the default cluster (hub.lens.default_cluster) and the scope fallback, an unknown cluster,
# /clusters/overview, /nodes (filters, orders, pages, Lens's binding errors), /nodes/{name}, gpuDevices,
# gpuAllocation, gpuUtilization, the heat map; both mounts (/lens/v1 and /api/v1); Lens's own 401 bodies, 204
# for OPTIONS and the router's 404; and that /v1 and /lens/v1 give the same figures. The routes read from
# PostgreSQL are checked by lens_workloads_test.sh and lens_stats_test.sh.
set -uo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
source "$(dirname "$0")/assert.sh"
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/openapi.sh" # records every API answer (validated at the end)

fl_it_setup lens
openapi_record "$T/openapi"
fl_it_keys alpha beta gamma
OPS=ops-token-0123456789abcdef
ALPHA=alpha-token-0123456789abcdef
fl_it_token ops "$OPS"
fl_it_token alpha "$ALPHA"
fl_it_hub_config "$T/clusters.yaml" <<YAML
  lens:
    default_cluster: beta
  api_tokens:
    - name: ops
      token_file: tokens/ops
    - name: alpha-only
      token_file: tokens/alpha
      clusters: [alpha]
$(fl_it_clusters alpha beta gamma)
YAML
for c in alpha:6:3 beta:4:5; do
	IFS=: read -r name nodes seed <<<"$c"
	fl_it_spoke_config "$T/$name.yaml" "$name" "$nodes" 8 "$seed"
done

# --- configuration -----------------------------------------------------------------------------------------------
sed 's/default_cluster: beta/default_cluster: nowhere/' "$T/clusters.yaml" >"$T/bad.yaml"
out=$("$BIN/fleetlens-hub" --config "$T/bad.yaml" --check 2>&1)
check_eq "a default_cluster that is not registered exits 2" 2 $?
check_contains "the error names the key and the cluster" "key 'default_cluster': 'nowhere' is not a cluster" "$out"
check_contains "the error has file:line:column" "bad.yaml:8:" "$out"

FL_DIAG_LOGS="$T/hub.log $T/spoke.log"
fl_it_start_hub
for c in alpha beta; do
	"$BIN/fleetlens-spoke" --config "$T/$c.yaml" --once >>"$T/spoke.log" 2>&1
	check_eq "$c --once is acknowledged" 0 $?
done

H="Authorization: Bearer $OPS"
get() { curl -s -H "${2:-$H}" "$API$1"; }
code() { curl -s -o "$T/body" -w '%{http_code}' -H "${2:-$H}" "$API$1"; }
keys() { jq -r "$1 | keys_unsorted | sort | join(\",\")"; }
types() { jq -r "$1 | to_entries | sort_by(.key) | map(\"\(.key):\(.value | type)\") | join(\",\")"; }

# --- envelope, picker, default cluster ------------------------------------------------------------------------
body=$(get /lens/v1/gpu-aggregation/clusters)
check_eq "envelope: meta, data and tracing (null)" "data,meta,tracing 2000 OK null" \
	"$(jq -r '"\(keys | join(",")) \(.meta.code) \(.meta.message) \(.tracing)"' <<<"$body")"
check_eq "the picker lists every registered cluster by name, the default (beta) last: the console picks the last" \
	'["alpha","gamma","beta"]' "$(jq -c .data <<<"$body")"
check_eq "a scoped token's picker lists its clusters only" '["alpha"]' \
	"$(get /lens/v1/gpu-aggregation/clusters "Authorization: Bearer $ALPHA" | jq -c .data)"
check_eq "no ?cluster= means hub.lens.default_cluster (beta)" beta "$(get /lens/v1/nodes | jq -r .data.cluster_name)"
check_eq "?cluster=alpha selects alpha" alpha "$(get '/lens/v1/nodes?cluster=alpha' | jq -r .data.cluster_name)"
check_eq "a token that cannot see the default gets its first cluster" alpha \
	"$(get /lens/v1/nodes "Authorization: Bearer $ALPHA" | jq -r .data.cluster_name)"
check_eq "an unknown cluster: HTTP 200, 4004, Lens's message" "200 4004 ClientSet for cluster nowhere not found null" \
	"$(code '/lens/v1/nodes?cluster=nowhere') $(jq -r '"\(.meta.code) \(.meta.message) \(.data)"' "$T/body")"
check_eq "a cluster outside the token's scope answers as unknown" "200 4004" \
	"$(code '/lens/v1/nodes?cluster=beta' "Authorization: Bearer $ALPHA") $(jq -r .meta.code "$T/body")"
check_eq "a hostile cluster value is not echoed" "4004 ClientSet for cluster (invalid name) not found" \
	"$(get '/lens/v1/nodes?cluster=%3Cscript%3E' | jq -r '"\(.meta.code) \(.meta.message)"')"
check_eq "/api/v1 (the SaFE lens-compat proxy's path) answers the same as /lens/v1" \
	"$(get '/lens/v1/nodes?cluster=alpha&page_size=100')" "$(get '/api/v1/nodes?cluster=alpha&page_size=100')"

# --- access and the router, in Lens's words ---------------------------------------------------------------------
check_eq "no token: 401 with Lens's body" '401 {"code":401,"message":"authentication required"}' \
	"$(curl -s -o "$T/body" -w '%{http_code}' "$API/lens/v1/nodes") $(cat "$T/body")"
check_eq "a wrong token: 401 authentication failed" '401 {"code":401,"message":"authentication failed"}' \
	"$(code /lens/v1/nodes 'Authorization: Bearer wrong-token-0123456789') $(cat "$T/body")"
check_eq "OPTIONS: 204" 204 "$(curl -s -o /dev/null -w '%{http_code}' -X OPTIONS "$API/lens/v1/nodes")"
check_eq "an unknown path: 404 page not found (text)" "404 404 page not found" \
	"$(code /lens/v1/nothing/here) $(cat "$T/body")"
check_eq "POST: the router's 404" 404 "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "$H" "$API/lens/v1/nodes")"

# --- /clusters/overview, /nodes/gpuUtilization ------------------------------------------------------------------
ov=$(get '/lens/v1/clusters/overview?cluster=alpha')
check_eq "overview: exactly Lens's fields" \
	"allocationRate,busyNodes,faultyNodes,fullyIdleNodes,healthyNodes,inodes_usage_percentage,partiallyIdleNodes,read_bandwidth,totalNodes,total_inodes,total_rx,total_space,total_tx,usage_percentage,used_inodes,used_space,utilization,write_bandwidth" \
	"$(keys .data <<<"$ov")"
check_eq "overview: every field a number" "" "$(jq -r '[.data[] | select(type != "number")] | join(",")' <<<"$ov")"
v1ov=$(get '/v1/clusters/overview?cluster=alpha')
for f in totalNodes healthyNodes faultyNodes fullyIdleNodes partiallyIdleNodes busyNodes allocationRate utilization \
	total_space used_space usage_percentage total_inodes used_inodes read_bandwidth total_tx total_rx; do
	check_num "overview $f equals /v1's" "$(jq ".data.$f" <<<"$v1ov")" "$(jq ".data.$f" <<<"$ov")"
done
check_eq "percentages stay 0–100 (allocationRate is the overview rule, not a fraction)" true \
	"$(jq '.data.allocationRate == (100 * '"$(jq .data.gpusAllocated <<<"$v1ov")"' / '"$(jq .data.gpusAllocatable <<<"$v1ov")"')' <<<"$ov")"
check_eq "a cluster that never reported: 5000 naming it" "5000 cluster gamma has not reported an overview yet" \
	"$(get '/lens/v1/clusters/overview?cluster=gamma' | jq -r '"\(.meta.code) \(.meta.message)"')"
gu=$(get '/lens/v1/nodes/gpuUtilization?cluster=alpha')
check_eq "gpuUtilization: allocationRate and utilization, numbers" "allocationRate:number,utilization:number" \
	"$(types .data <<<"$gu")"
check_num "gpuUtilization's figures are the overview's" "$(jq '.data.allocationRate + .data.utilization' <<<"$ov")" \
	"$(jq '.data.allocationRate + .data.utilization' <<<"$gu")"

# --- /nodes ------------------------------------------------------------------------------------------------------------
v1n=$(get '/v1/nodes?cluster=alpha&page_size=1000')
N_GPU=$(jq '[.data.data[] | select(.gpu_count > 0)] | length' <<<"$v1n")
nodes=$(get '/lens/v1/nodes?cluster=alpha&page_size=100')
check_eq "nodes: data, total, cluster_name" "alpha:array:$N_GPU" \
	"$(jq -r '.data | "\(.cluster_name):\(.data | type):\(.total)"' <<<"$nodes")"
check_eq "nodes lists GPU nodes only (Lens lists nodes with GPU capacity)" "$N_GPU" "$(jq '.data.data | length' <<<"$nodes")"
check_eq "a node row: Lens's fields and types" \
	"gpu_allocation:number,gpu_count:number,gpu_name:string,gpu_utilization:number,ip:string,name:string,status:string,status_color:string" \
	"$(types '.data.data[0]' <<<"$nodes")"
check_eq "node rows equal /v1's rows (name ip gpu_name gpu_count gpu_allocation gpu_utilization status; no figure is 0, as Lens)" \
	"$(jq -c '[.data.data[] | select(.gpu_count > 0) | [.name, .ip, .gpu_name, .gpu_count, .gpu_allocation, (.gpu_utilization // 0), .status]] | sort' <<<"$v1n")" \
	"$(jq -c '[.data.data[] | [.name, .ip, .gpu_name, .gpu_count, .gpu_allocation, .gpu_utilization, .status]] | sort' <<<"$nodes")"
check_eq "status_color: Ready green, NotReady red, Unknown yellow" true \
	"$(jq '[.data.data[] | (.status == "Ready" and .status_color == "green") or (.status == "NotReady" and .status_color == "red") or (.status == "Unknown" and .status_color == "yellow")] | all' <<<"$nodes")"
check_eq "default order is by name" "$(jq -c '[.data.data[].name] | sort' <<<"$nodes")" "$(jq -c '[.data.data[].name]' <<<"$nodes")"
check_eq "order_by=gpu_utilization&desc=true: highest first" \
	"$(jq -c '[.data.data[].gpu_utilization] | sort | reverse' <<<"$nodes")" \
	"$(get '/lens/v1/nodes?cluster=alpha&page_size=100&order_by=gpu_utilization&desc=true' | jq -c '[.data.data[].gpu_utilization]')"
check_eq "order_by=gpu_count&desc=false: ascending" \
	"$(jq -c '[.data.data[].gpu_count] | sort' <<<"$nodes")" \
	"$(get '/lens/v1/nodes?cluster=alpha&page_size=100&order_by=gpu_count&desc=false' | jq -c '[.data.data[].gpu_count]')"
check_eq "pages: page_num=2&page_size=2 is rows 3-4, total unchanged" \
	"$(jq -c "[.data.data[2:4][].name] + [$N_GPU]" <<<"$nodes")" \
	"$(get '/lens/v1/nodes?cluster=alpha&page_num=2&page_size=2' | jq -c '[.data.data[].name] + [.data.total]')"
check_eq "a page past the end: [] with the full total" "[] $N_GPU" \
	"$(get '/lens/v1/nodes?cluster=alpha&page_num=99' | jq -c '.data.data, .data.total' | paste -sd' ')"
check_eq "page_size=0 means 10, page_num=0 means 1" "$(jq -c '[.data.data[:10][].name]' <<<"$nodes")" \
	"$(get '/lens/v1/nodes?cluster=alpha&page_size=0&page_num=0' | jq -c '[.data.data[].name]')"
check_eq "an empty value counts as absent" "$N_GPU" "$(get '/lens/v1/nodes?cluster=alpha&name=&page_size=' | jq .data.total)"
FIRST=$(jq -r '.data.data[0].name' <<<"$nodes")
check_eq "name filters by substring" "$(jq -c "[.data.data[].name | select(contains(\"${FIRST:2:4}\"))]" <<<"$nodes")" \
	"$(get "/lens/v1/nodes?cluster=alpha&page_size=100&name=${FIRST:2:4}" | jq -c '[.data.data[].name]')"
check_eq "gpu_name filters by substring (MI300)" "$(jq -c '[.data.data[] | select(.gpu_name | contains("MI300")) | .name]' <<<"$nodes")" \
	"$(get '/lens/v1/nodes?cluster=alpha&page_size=100&gpu_name=MI300' | jq -c '[.data.data[].name]')"
check_eq "status=NotReady,Unknown: exact, a comma list" \
	"$(jq -c '[.data.data[] | select(.status == "NotReady" or .status == "Unknown") | .name]' <<<"$nodes")" \
	"$(get '/lens/v1/nodes?cluster=alpha&page_size=100&status=NotReady,Unknown' | jq -c '[.data.data[].name]')"
for bad in page_num=abc page_size=1x desc=maybe order_by=no_such_column; do
	check_eq "$bad: 5000 Unknown error, as Lens binds it" "200 5000 Unknown error" \
		"$(code "/lens/v1/nodes?cluster=alpha&$bad") $(jq -r '"\(.meta.code) \(.meta.message)"' "$T/body")"
done

# --- /nodes/{name}, gpuDevices ----------------------------------------------------------------------------------------
nd=$(get "/lens/v1/nodes/$FIRST?cluster=alpha")
check_eq "node detail: every field Lens has, all strings" \
	"cluster_name:string,containerd_version:string,cpu:string,gpu_driver_version:string,health:string,kubelet_version:string,memory:string,name:string,os:string,static_gpu_details:string" \
	"$(types .data <<<"$nd")"
v1nd=$(get "/v1/nodes/$FIRST?cluster=alpha")
check_eq "node detail: health, os, kubelet, runtime are /v1's status, os_image, kubelet_version, container_runtime" \
	"$(jq -r '.data | "\(.status) \(.os_image) \(.kubelet_version) \(.container_runtime)"' <<<"$v1nd")" \
	"$(jq -r '.data | "\(.health) \(.os) \(.kubelet_version) \(.containerd_version)"' <<<"$nd")"
check_eq "memory is a Kubernetes quantity in Ki" "$(jq -r '.data.memory_bytes / 1024 | floor | tostring + "Ki"' <<<"$v1nd")" \
	"$(jq -r .data.memory <<<"$nd")"
check_eq "static_gpu_details: '<count> X <model>'" "$(jq -r '"\(.data.gpu_count) X \(.data.gpu_name)"' <<<"$v1nd")" \
	"$(jq -r .data.static_gpu_details <<<"$nd")"
check_eq "an unknown node: 4004 node not found" "4004 node not found" \
	"$(get '/lens/v1/nodes/no-such-node?cluster=alpha' | jq -r '"\(.meta.code) \(.meta.message)"')"
check_eq "a node name with characters no node has: 4004 too" "4004 node not found" \
	"$(get '/lens/v1/nodes/a%20b?cluster=alpha' | jq -r '"\(.meta.code) \(.meta.message)"')"
gd=$(get "/lens/v1/nodes/$FIRST/gpuDevices?cluster=alpha")
check_eq "gpuDevices: node_name, cluster_name, devices" "$FIRST alpha 8" \
	"$(jq -r '.data | "\(.node_name) \(.cluster_name) \(.devices | length)"' <<<"$gd")"
check_eq "a device: camelCase deviceId, memory as '<GiB>GB'" \
	"deviceId:number,memory:string,model:string,power:number,temperature:number,utilization:number" \
	"$(types '.data.devices[0]' <<<"$gd")"
v1gd=$(get "/v1/nodes/$FIRST/gpuDevices?cluster=alpha")
check_eq "devices equal /v1's rows (id, model, MiB/1024, utilization, temperature, power), by id" \
	"$(jq -c '[.data[] | [.gpu_id, .gpu_model, "\(.memory / 1024 | floor)GB", (.utilization // 0), .temperature, .power]]' <<<"$v1gd")" \
	"$(jq -c '[.data.devices[] | [.deviceId, .model, .memory, .utilization, .temperature, .power]]' <<<"$gd")"

# A GPU without a utilization figure (the sim leaves some out): /v1 says null, the Lens face 0, as Lens does.
read -r NN GG <<<"$(get '/v1/nodes?cluster=alpha&page_size=100' | jq -r '.data.data[].name' | while read -r n; do
	get "/v1/nodes/$n/gpuDevices?cluster=alpha" | jq -r --arg n "$n" '.data[] | select(.utilization == null) | "\($n) \(.gpu_id)"'
done | head -1)"
if [ -n "$NN" ]; then
	check_eq "a GPU without a figure: 0 on the Lens face (null on /v1)" 0 \
		"$(get "/lens/v1/nodes/$NN/gpuDevices?cluster=alpha" | jq ".data.devices[] | select(.deviceId == $GG) | .utilization")"
else
	check_eq "the sim leaves some GPU without a utilization figure (the case above needs one)" yes no
fi

# --- gpuAllocation, heat map ---------------------------------------------------------------------------------------------
ga=$(get '/lens/v1/nodes/gpuAllocation?cluster=alpha')
check_eq "gpuAllocation: a bare array, one row per GPU node" "array $N_GPU" "$(jq -r '"\(.data | type) \(.data | length)"' <<<"$ga")"
check_eq "a row: node vendor capacity allocated allocationRate" \
	"allocated:number,allocationRate:number,capacity:number,node:string,vendor:string" "$(types '.data[0]' <<<"$ga")"
check_eq "allocationRate is a fraction (allocated ÷ capacity), capacity and allocated are /v1's" \
	"$(jq -c '[.data.data[] | select(.gpu_count > 0) | [.name, .gpu_count, .gpu_allocation, (.gpu_allocation / .gpu_count)]] | sort' <<<"$v1n")" \
	"$(jq -c '[.data[] | [.node, .capacity, .allocated, .allocationRate]] | sort' <<<"$ga")"
check_eq "vendor from the GPU product" true \
	"$(jq '[.data[] | .vendor] | all(. == "amd" or . == "nvidia")' <<<"$ga")"
hm=$(get '/lens/v1/clusters/gpuHeatmap?cluster=alpha')
check_eq "heat map: utilization, power, temperature with serial, unit, axes" \
	'[1,"%",0,100] [2,"W",0,850] [3,"℃",20,110]' \
	"$(jq -c '.data.utilization, .data.power, .data.temperature | [.serial, .unit, .yaxis_min, .yaxis_max]' <<<"$hm" | paste -sd' ')"
check_eq "a heat map point: node_name, gpu_id (int), value (capital Data)" "gpu_id:number,node_name:string,value:number" \
	"$(types '.data.utilization.Data[0]' <<<"$hm")"
TOP5=$(jq -c '[.data.data[] | select(.gpu_utilization != null)] | sort_by(-.gpu_utilization, .name) | [.[:5][].name] | sort' <<<"$nodes")
check_eq "utilization: the five busiest nodes (by mean)" \
	"$TOP5" "$(jq -c '[.data.utilization.Data[].node_name] | unique' <<<"$hm")"
check_eq "utilization values are every GPU's own (a GPU without a figure has no point, not a 0)" \
	"$(for n in $(jq -r '.[]' <<<"$TOP5"); do get "/v1/nodes/$n/gpuDevices?cluster=alpha" | jq -c --arg n "$n" '.data[] | select(.utilization != null) | [$n, .gpu_id, .utilization]'; done | sort | paste -sd,)" \
	"$(jq -c '.data.utilization.Data[] | [.node_name, .gpu_id, .value]' <<<"$hm" | sort | paste -sd,)"

lens_errors() { curl -s -H "$H" "$API/metrics" | awk -v c="$1" '$1 == "fleetlens_hub_lens_errors_total{code=\""c"\"}" {print $2}'; }
E4004=$(lens_errors 4004)
E5000=$(lens_errors 5000)
get '/lens/v1/nodes?cluster=nowhere' >/dev/null
get '/lens/v1/nodes?cluster=alpha&page_num=x' >/dev/null
check_num "fleetlens_hub_lens_errors_total{code=\"4004\"} counts an unknown cluster" $((E4004 + 1)) "$(lens_errors 4004)"
check_num "fleetlens_hub_lens_errors_total{code=\"5000\"} counts a value that does not parse" $((E5000 + 1)) "$(lens_errors 5000)"
check_eq "the metric has every code the face answers" "4001 4004 5000 5002" \
	"$(curl -s -H "$H" "$API/metrics" | sed -n 's/^fleetlens_hub_lens_errors_total{code="\([0-9]*\)"}.*/\1/p' | paste -sd' ')"
check_eq "/metrics counts the Lens face's requests under route=\"/lens/v1\" (more than 30 so far)" true \
	"$(curl -s -H "$H" "$API/metrics" | awk '$1 ~ /route="\/lens\/v1"/ && $1 ~ /_count/ {print ($2 > 30)}' | grep -qx 1 && echo true || echo false)"

openapi_validate # every answer above against hub/openapi.json (openapi.sh)
fl_done
