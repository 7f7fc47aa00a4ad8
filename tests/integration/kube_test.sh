#!/usr/bin/env bash
# The kube source end to end: a real PostgreSQL, the real hub and the spoke with `sources.kube` against
# the Kubernetes API stand-in (tests/kube_standin). The hub's rows and the API's overview must equal what
# the fixture implies — computed here with jq from the stand-in's objects, by the ARCHITECTURE.md rules,
# not by the spoke's code. Then: a node going NotReady and a fault taint reach the hub within seconds
# with interval: 1h; steady state makes no list call; a 410 relists exactly once; a malformed and an
# oversized watch event are counted and survived; a bad token is a clear error and counted.
set -uo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
source "$(dirname "$0")/assert.sh"
source "$(dirname "$0")/lib.sh"

fl_it_setup kube
KUBE_PORT=$(fl_free_port)
KUBE="http://127.0.0.1:$KUBE_PORT"
counts() { curl -s "$KUBE/control/counts"; }
# wait_for WHAT SECONDS CMD...: until CMD prints "yes"; prints how long it took (ms) or "timeout"
wait_for() {
	local secs=$1 t0 i
	shift
	t0=$(date +%s%3N)
	for ((i = 0; i < secs * 10; i++)); do
		[ "$("$@")" == yes ] && { echo $(($(date +%s%3N) - t0)); return 0; }
		sleep 0.1
	done
	echo timeout
	return 1
}

fl_it_keys alpha
echo "good-token-$RANDOM" >"$T/token"
echo "wrong-token" >"$T/badtoken"
python3 "$FL_ROOT/tests/kube_standin/kube_standin.py" --port "$KUBE_PORT" --token-file "$T/token" \
	--bookmark-interval 1 >"$T/standin.log" 2>&1 &
fl_wait_http "$KUBE/control/counts" 20 || { cat "$T/standin.log"; check_eq "stand-in starts" up down; fl_done; exit 1; }

kubeconfig() { # kubeconfig FILE TOKENFILE
	cat >"$1" <<YAML
apiVersion: v1
kind: Config
current-context: standin
clusters:
- name: standin
  cluster:
    server: $KUBE/
contexts:
- name: standin
  context: {cluster: standin, user: tester}
users:
- name: tester
  user:
    tokenFile: $2
YAML
}
kubeconfig "$T/kubeconfig" "$T/token"
kubeconfig "$T/badkubeconfig" "$T/badtoken"

fl_it_hub_config "$T/clusters.yaml" <<YAML
  stale_after: 3h
  offline_after: 6h
$(fl_it_clusters alpha)
YAML
spoke_yaml() { # spoke_yaml FILE KUBECONFIG
	cat >"$1" <<YAML
cluster: alpha
hub_url: tcp://127.0.0.1:$INGEST_PORT
key_file: keys/alpha.key
interval: 1h
heartbeat: 1h
sources:
  kube:
    kubeconfig: $2
    page_limit: 5
    max_object_bytes: 65536
    sync_timeout: 30s
    watch_timeout: 30s
    debounce: 500ms
YAML
}
spoke_yaml "$T/alpha.yaml" kubeconfig
spoke_yaml "$T/bad.yaml" badkubeconfig

# --- a wrong token: a clear error, counted (stand-in's 401 counter), exit 1 ----------------------------
out=$("$BIN/fleetlens-spoke" --config "$T/bad.yaml" --once --dry-run 2>&1)
check_eq "wrong token: --dry-run exits 1" 1 $?
check_contains "wrong token: error says 401" "HTTP 401" "$out"
check_contains "wrong token: error says what to check" "check the token" "$out"
check_contains "wrong token: errors counted" "errors so far" "$out"
check_eq "wrong token: no sanitizer report" no "$(grep -q Sanitizer <<<"$out" && echo yes || echo no)"
check_eq "wrong token: the stand-in saw unauthorized requests" yes \
	"$(counts | jq -r 'if .unauthorized > 0 then "yes" else "no" end')"
curl -s -X POST "$KUBE/control/counts" >/dev/null

# --- HTTPS: certificate-authority-data and a client certificate file, as a real kubeconfig has them ----------
(cd "$T" && ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes" &&
	openssl req -x509 $ec -keyout ca.key -out ca.pem -days 2 -subj /CN=kube-test-ca &&
	openssl req $ec -keyout api.key -out api.csr -subj /CN=kube-apiserver &&
	printf 'subjectAltName=IP:127.0.0.1\n' >api.ext &&
	openssl x509 -req -in api.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile api.ext -out api.pem &&
	openssl req $ec -keyout client.key -out client.csr -subj /CN=fleetlens-spoke &&
	openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -out client.pem &&
	openssl req -x509 $ec -keyout other.key -out other.pem -days 2 -subj /CN=other-ca) >"$T/openssl.log" 2>&1
TLS_PORT=$(fl_free_port)
python3 "$FL_ROOT/tests/kube_standin/kube_standin.py" --port "$TLS_PORT" --token-file "$T/token" \
	--tls-cert "$T/api.pem" --tls-key "$T/api.key" --client-ca "$T/ca.pem" >"$T/standin-tls.log" 2>&1 &
TLS_PID=$!
tls_kubeconfig() { # tls_kubeconfig FILE CA_PEM
	cat >"$1" <<YAML
apiVersion: v1
kind: Config
current-context: tls
clusters:
- name: tls
  cluster:
    server: https://127.0.0.1:$TLS_PORT
    certificate-authority-data: $(base64 -w0 "$2")
contexts:
- name: tls
  context: {cluster: tls, user: tls}
users:
- name: tls
  user:
    token: $(cat "$T/token")
    client-certificate: client.pem
    client-key: client.key
YAML
}
tls_kubeconfig "$T/tlskubeconfig" "$T/ca.pem"
tls_kubeconfig "$T/wrongca" "$T/other.pem"
spoke_yaml "$T/tls.yaml" tlskubeconfig
spoke_yaml "$T/tlsbad.yaml" wrongca
for ((i = 0; i < 300; i++)); do (exec 3<>"/dev/tcp/127.0.0.1/$TLS_PORT") 2>/dev/null && break; sleep 0.1; done
out=$("$BIN/fleetlens-spoke" --config "$T/tls.yaml" --once --dry-run 2>"$T/tls.err")
check_eq "HTTPS with certificate-authority-data and a client certificate: dry-run exits 0" 0 $?
check_eq "HTTPS: the 13 nodes are in the frame" 13 "$(jq '.nodes | length' <<<"$out" 2>/dev/null)"
out=$("$BIN/fleetlens-spoke" --config "$T/tlsbad.yaml" --once --dry-run 2>&1)
check_eq "HTTPS with the wrong CA: dry-run exits 1" 1 $?
check_contains "HTTPS with the wrong CA: the error says it is the certificate" "certificate" "$out"
kill "$TLS_PID" && wait "$TLS_PID" 2>/dev/null

# --- the expected cluster, computed here from the stand-in's objects ---------------------------------
expected() {
	jq -n --argjson nodes "$(curl -s "$KUBE/control/objects?kind=nodes")" \
		--argjson pods "$(curl -s "$KUBE/control/objects?kind=pods")" '
	def gres: ["amd.com/gpu", "nvidia.com/gpu", "huawei.com/Ascend910"];
	def gsum(r): [gres[] as $g | ((r // {})[$g] // "0") | tonumber] | add;
	def hold: if .status.phase == "Succeeded" or .status.phase == "Failed" then 0 else
		([.spec.containers[]? | gsum(.resources.requests)] | add // 0) as $s
		| ([.spec.initContainers[]? | gsum(.resources.requests)] | max // 0) as $i
		| if $s > $i then $s else $i end end;
	def ready: ([.status.conditions[]? | select(.type == "Ready") | .status] | first) // "Unknown";
	[$nodes[] | .metadata.name as $name | {
		name: $name, alloc: gsum(.status.allocatable),
		status: ({"True": "Ready", "False": "NotReady"}[ready] // "Unknown"),
		faulty: (ready != "True" or (.spec.unschedulable // false)
			or ([.spec.taints[]? | .key as $k | select(gres | map(. == $k) | any | not)] | length > 0)),
		used: ([$pods[] | select(.spec.nodeName == $name) | hold] | add // 0)}] as $rows
	| ($rows | map(select(.alloc > 0))) as $gpu
	| ($gpu | map(select(.faulty | not))) as $ok
	| ($ok | map(.alloc) | add // 0) as $A | ($ok | map(.used) | add // 0) as $U
	| {rows: ($rows | map([.name, .alloc, .used, .status]) | sort),
	   overview: {totalNodes: ($gpu | length), faultyNodes: ($gpu | map(select(.faulty)) | length),
		healthyNodes: ($ok | length), gpusAllocatable: $A, gpusAllocated: $U,
		allocationRate: (if $A > 0 then 100 * $U / $A else 0 end),
		busyNodes: ($ok | map(select(.used >= .alloc)) | length),
		fullyIdleNodes: ($ok | map(select(.used == 0)) | length),
		partiallyIdleNodes: ($ok | map(select(.used > 0 and .used < .alloc)) | length)}}'
}
hub_rows() {
	fl_sql "SELECT coalesce(json_agg(json_build_array(name, gpu_count, gpu_allocation, status)), '[]') FROM node WHERE cluster_name='alpha'" | jq -c 'sort'
}
# settled: "yes" once the hub's node rows equal the stand-in's (the spoke's deltas have landed)
settled() { [ "$(jq -c '.rows' <<<"$(expected)")" == "$(hub_rows)" ] && echo yes || echo no; }
compare_all() { # compare_all LABEL
	local exp ov j
	exp=$(expected)
	check_eq "$1: node rows (name, gpus, allocated, status) = fixture's" "$(jq -c '.rows' <<<"$exp")" "$(hub_rows)"
	ov=$(curl -s "$API/v1/clusters/overview?cluster=alpha")
	for j in totalNodes healthyNodes faultyNodes gpusAllocatable gpusAllocated allocationRate busyNodes \
		fullyIdleNodes partiallyIdleNodes; do
		check_num "$1: API overview $j = fixture's" "$(jq ".overview.$j" <<<"$exp")" "$(jq ".data.$j" <<<"$ov")"
	done
}
node_status() { fl_sql "SELECT status FROM node WHERE cluster_name='alpha' AND name='$1'"; }
faulty_is() { [ "$(curl -s "$API/v1/clusters/overview?cluster=alpha" | jq '.data.faultyNodes')" == "$1" ] && echo yes || echo no; }

# --- the hub -------------------------------------------------------------------------------------------
fl_it_start_hub

# --- the spoke: first frame as soon as the lists are done ----------------------------------------------
"$BIN/fleetlens-spoke" --config "$T/alpha.yaml" >"$T/spoke.log" 2>&1 &
SPOKE_PID=$!
ms=$(wait_for 60 bash -c "[ \"\$(psql -h '$FL_PG_DIR' -U postgres -d fleetlens -tAqc \"SELECT count(*) FROM node WHERE cluster_name='alpha'\")\" == 13 ] && echo yes")
check_eq "first frame reached the hub (13 nodes) with interval 1h" yes "$([ "$ms" != timeout ] && echo yes)"
c=$(counts)
check_eq "initial sync: paged lists (13 nodes / 5 = 3 pages, 15 live pods / 5 = 3 pages)" "3 3" \
	"$(jq -r '"\(.list.nodes) \(.list.pods)"' <<<"$c")"
compare_all "initial"
check_eq "terminal pods were not asked for (field selector): 15 of 18 pods listed" yes \
	"$(grep -q 'listed 15 pods' "$T/spoke.log" && echo yes || echo no)"

# --- steady state: watches only, no list calls --------------------------------------------------------
before=$(counts)
sleep 3
after=$(counts)
check_eq "steady state: 0 list calls in 3 s" 0 \
	"$(jq -n --argjson a "$before" --argjson b "$after" '($b.list.nodes + $b.list.pods) - ($a.list.nodes + $a.list.pods)')"

# --- changes that matter reach the hub without waiting for the interval ---------------------------------
faulty0=$(curl -s "$API/v1/clusters/overview?cluster=alpha" | jq '.data.faultyNodes')
curl -s -X POST "$KUBE/control/node?name=amd-2&ready=False" >/dev/null
ms=$(wait_for 60 bash -c "[ \"\$(psql -h '$FL_PG_DIR' -U postgres -d fleetlens -tAqc \"SELECT status FROM node WHERE cluster_name='alpha' AND name='amd-2'\")\" == NotReady ] && echo yes")
check_eq "amd-2 NotReady reaches the hub without waiting for the 1 h interval (took ${ms} ms)" yes "$([ "$ms" != timeout ] && echo yes)"
curl -s -X POST "$KUBE/control/node?name=nv-4&taint=nvidia.com/gpu.unhealthy:NoSchedule" >/dev/null
ms=$(wait_for 60 faulty_is $((faulty0 + 2)))
check_eq "a fault taint on nv-4 makes it faulty at the hub without waiting for the 1 h interval (took ${ms} ms)" yes "$([ "$ms" != timeout ] && echo yes)"
curl -s -X POST "$KUBE/control/node?name=nv-0&taint=nvidia.com/gpu:NoExecute" >/dev/null
curl -s -X POST "$KUBE/control/node?name=nv-1&allocatable=nvidia.com/gpu:6" >/dev/null
wait_for 60 settled >/dev/null
compare_all "after NotReady, fault taint, benign taint, allocatable drop"
check_eq "no list call for any of it" "3 3" "$(counts | jq -r '"\(.list.nodes) \(.list.pods)"')"

# --- 410 Gone: exactly one relist of that kind -------------------------------------------------------------
curl -s -X POST "$KUBE/control/expire?kind=nodes" >/dev/null
relisted() { [ "$(counts | jq -r '"\(.list.nodes) \(.list.pods)"')" == "6 3" ] && echo yes || echo no; }
wait_for 60 relisted >/dev/null
c=$(counts)
check_eq "410 on the node watch: exactly one node relist (3 more pages), pods untouched" "6 3" \
	"$(jq -r '"\(.list.nodes) \(.list.pods)"' <<<"$c")"
sleep 2
check_eq "after the relist: steady again" "6 3" "$(counts | jq -r '"\(.list.nodes) \(.list.pods)"')"

# --- malformed and oversized events are skipped and counted; the watch goes on ----------------------------
curl -s -X POST "$KUBE/control/malformed?kind=pods" >/dev/null
curl -s -X POST "$KUBE/control/oversized?kind=nodes&bytes=200000" >/dev/null
curl -s -X POST "$KUBE/control/delete?kind=pods&uid=pod-infer-serve-nv" >/dev/null
curl -s -X POST "$KUBE/control/node?name=cpu-0&ready=False" >/dev/null
sleep 0.5
curl -s -X POST "$KUBE/control/node?name=amd-2&ready=True" >/dev/null
ms=$(wait_for 60 bash -c "[ \"\$(psql -h '$FL_PG_DIR' -U postgres -d fleetlens -tAqc \"SELECT status FROM node WHERE cluster_name='alpha' AND name='amd-2'\")\" == Ready ] && echo yes")
check_eq "after a malformed and an oversized event, changes still reach the hub" yes "$([ "$ms" != timeout ] && echo yes)"
wait_for 60 settled >/dev/null
compare_all "after a pod deletion"
# --- a pod that finishes stops matching the field selector: the watch sends DELETED, its GPUs are free --
pod=$(curl -s "$KUBE/control/objects?kind=pods" | jq -c '.[] | select(.metadata.uid == "pod-train-llm-a-0") | .status.phase = "Succeeded"')
curl -s -X POST --data-binary "$pod" "$KUBE/control/apply?kind=pods" >/dev/null
curl -s -X POST "$KUBE/control/node?name=cpu-0&ready=True" >/dev/null # a change that matters carries it
ms=$(wait_for 60 bash -c "[ \"\$(psql -h '$FL_PG_DIR' -U postgres -d fleetlens -tAqc \"SELECT gpu_allocation FROM node WHERE cluster_name='alpha' AND name='amd-0'\")\" == 3 ] && echo yes")
check_eq "a pod turning Succeeded frees its 4 GPUs on amd-0 (7 → 3) at the hub" yes "$([ "$ms" != timeout ] && echo yes)"
hubq() { psql -h "$FL_PG_DIR" -U postgres -d fleetlens -tAqc "$1"; }
live_llm=$(curl -s "$KUBE/control/objects?kind=pods" | jq '[.[] | select(any(.metadata.ownerReferences[]?; .uid == "pt-llm-a"))
	| select(.status.phase != "Succeeded" and .status.phase != "Failed")] | length')
check_eq "... the same delta removes the ended pod's row at the hub; its PyTorchJob has $live_llm live pods" "0 $live_llm" \
	"$(hubq "SELECT count(*) FROM gpu_pod WHERE uid='pod-train-llm-a-0'") $(hubq "SELECT pods FROM gpu_workload WHERE uid='pt-llm-a'")"

# --- deltas: out-of-cycle frames carry only what changed; a deleted node goes as removed_nodes ----------
curl -s -X POST "$KUBE/control/delete?kind=nodes&name=cpu-1" >/dev/null
ms=$(wait_for 60 bash -c "[ \"\$(psql -h '$FL_PG_DIR' -U postgres -d fleetlens -tAqc \"SELECT count(*) FROM node WHERE cluster_name='alpha'\")\" == 12 ] && echo yes")
check_eq "a deleted node leaves the hub without waiting for the 1 h interval (took ${ms} ms)" yes "$([ "$ms" != timeout ] && echo yes)"
wait_for 60 settled >/dev/null
compare_all "after a node deletion"
check_eq "out-of-cycle frames were deltas" yes "$(grep -q 'kind=delta' "$T/spoke.log" && echo yes || echo no)"
check_eq "only the first frame was full (interval 1h, no want_full)" 1 "$(grep -c 'kind=full' "$T/spoke.log")"
check_eq "spoke still running" yes "$(kill -0 "$SPOKE_PID" 2>/dev/null && echo yes || echo no)"
check_eq "no list call from bad events" "6 3" "$(counts | jq -r '"\(.list.nodes) \(.list.pods)"')"

kill "$SPOKE_PID" && wait "$SPOKE_PID"
check_eq "spoke exits 0 on SIGTERM" 0 $?
SPOKE_PID=
stats=$(grep 'kube stats at stop' "$T/spoke.log")

# --- --once with the kube source: lists, sends one full frame, exits 0 ------------------------------------
out=$("$BIN/fleetlens-spoke" --config "$T/alpha.yaml" --once 2>&1)
check_eq "--once with sources.kube is acknowledged (exit 0)" 0 $?
check_contains "--once sent a full frame" "kind=full" "$out"
compare_all "after --once"
check_eq "the hub's GPU pods are the stand-in's live GPU pods" \
	"$(curl -s "$KUBE/control/objects?kind=pods" | jq -r '[.[] | select(.status.phase != "Succeeded" and .status.phase != "Failed")
		| select(([.spec.containers[]?.resources.requests // {} | to_entries[] | select(.key | test("gpu|Ascend")) | .value | tonumber] | add // 0) > 0)
		| .metadata.uid] | sort | join(",")')" \
	"$(hubq "SELECT string_agg(uid, ',' ORDER BY uid COLLATE \"C\") FROM gpu_pod WHERE cluster_name='alpha'")"
check_contains "stats line: the malformed event counted" "malformed=1" "$stats"
check_contains "stats line: the oversized event counted" "oversized=1" "$stats"
check_contains "stats line: one relist" "relists=1" "$stats"
# nodes 3 pages + pods 3 + one page each of ReplicaSets and Jobs + the node relist's 3
check_contains "stats line: list requests = the stand-in's count" "list_requests=11 " "$stats"
check_contains "stats line: no errors" "errors=0 " "$stats"
check_contains "stats line: the pod with a 70-character SaFE label counted once (listed once)" "bad_labels=1" "$stats"
check_eq "SaFE: the PyTorchJob whose pods carry primus-safe.workload.id=llm-a has it at the hub; no other does" \
	"pt-llm-a=llm-a" "$(hubq "SELECT string_agg(uid||'='||safe_workload_id, ',') FROM gpu_workload WHERE cluster_name='alpha' AND safe_workload_id <> ''")"
check_eq "spoke log: no sanitizer report" no "$(grep -q Sanitizer "$T/spoke.log" && echo yes || echo no)"
echo "# request counts: $(counts)"
echo "# $stats"

# --- workloads: each GPU pod's top-level owner through ReplicaSets and Jobs (FORMAT.md 3.9) ---------------
# The expected workloads, computed here with jq from the stand-in's pods, ReplicaSets and Jobs.
expected_workloads() {
	jq -n --argjson pods "$(curl -s "$KUBE/control/objects?kind=pods")" \
		--argjson owners "$(jq -s 'add' <(curl -s "$KUBE/control/objects?kind=replicasets") \
			<(curl -s "$KUBE/control/objects?kind=jobs"))" '
	def gres: ["amd.com/gpu", "nvidia.com/gpu", "huawei.com/Ascend910"];
	def gsum(r): [gres[] as $g | ((r // {})[$g] // "0") | tonumber] | add;
	def request: ([.spec.containers[]? | gsum(.resources.requests)] | add // 0) as $s
		| ([.spec.initContainers[]? | gsum(.resources.requests)] | max // 0) as $i
		| if $s > $i then $s else $i end;
	def ctrl: [.metadata.ownerReferences[]? | select(.controller == true)] | first;
	($owners | map({key: .metadata.uid, value: ctrl}) | from_entries) as $up
	| [$pods[] | select(.status.phase != "Succeeded" and .status.phase != "Failed") | select(request > 0)
		| (ctrl) as $c
		| (if $c == null then {kind: "Pod", name: .metadata.name, uid: .metadata.uid}
		   else ($up[$c.uid] // $c) end) as $top
		| {uid: $top.uid, kind: $top.kind, name: $top.name, ns: .metadata.namespace, phase: .status.phase,
		   request: request}]
	| group_by(.uid) | map({uid: .[0].uid, kind: .[0].kind, name: .[0].name, namespace: .[0].ns,
		status: (if any(.phase == "Running") then "Running" else "Pending" end),
		pods: length, gpu_request: (map(.request) | add)}) | sort_by(.uid)'
}
workloads_of() { jq -c '[.workloads[] | {uid, kind, name, namespace, status, pods, gpu_request}] | sort_by(.uid)' "$1"; }
"$BIN/fleetlens-spoke" --config "$T/alpha.yaml" --once --dry-run >"$T/dry.json" 2>"$T/dry.log"
check_eq "workloads: dry-run exits 0" 0 $?
exp_wl=$(expected_workloads)
check_eq "workloads: 9 of them in the fixture (a check on the fixture itself)" 9 "$(jq length <<<"$exp_wl")"
exp_pods=$(jq '[.[].pods] | add' <<<"$exp_wl")
check_eq "workloads: kind, name, status, pods and GPUs = the fixture's owners" "$(jq -c . <<<"$exp_wl")" \
	"$(workloads_of "$T/dry.json")"
check_eq "workloads: a Deployment's pods reach it through their ReplicaSet" "Deployment serve" \
	"$(jq -r '.workloads[] | select(.uid == "dep-serve") | "\(.kind) \(.name)"' "$T/dry.json")"
check_eq "workloads: a CronJob's through its Job" "CronJob prep" \
	"$(jq -r '.workloads[] | select(.uid == "cron-prep") | "\(.kind) \(.name)"' "$T/dry.json")"
check_eq "workloads: a ReplicaSet without a controller is the workload itself" "ReplicaSet Pending" \
	"$(jq -r '.workloads[] | select(.uid == "rs-orphan") | "\(.kind) \(.status)"' "$T/dry.json")"
check_eq "workloads: created = the oldest pod's creationTimestamp (2026-11-20T09:00:00Z)" 1795165200000 \
	"$(jq '.workloads[] | select(.uid == "pt-llm-a") | .created' "$T/dry.json")"
check_eq "pods: the fixture's $exp_pods live GPU pods, each naming its workload" \
	"$exp_pods dep-serve" "$(jq -r '"\(.pods | length) \(.pods[] | select(.name == "full-nv") | .workload_uid)"' "$T/dry.json")"
check_eq "pods: terminal and GPU-less pods are not sent" 0 \
	"$(jq '[.pods[] | select(.name == "done-a" or .name == "failed-a" or .name == "coredns-1")] | length' "$T/dry.json")"
check_eq "SaFE: safe_workload_id from the pods' primus-safe.workload.id label; \"\" for the others" \
	"pt-llm-a=llm-a job-asc= dep-serve=" \
	"$(jq -r '. as $f | [["pt-llm-a", "job-asc", "dep-serve"][] as $u | $f.workloads[] | select(.uid == $u) | "\(.uid)=\(.safe_workload_id)"] | join(" ")' "$T/dry.json")"
check_contains "SaFE: a label value of 70 characters is dropped with a warning naming the pod (the pod is kept)" \
	"pod npu/asc-job: label primus-safe.workload.id is not a label value" "$(cat "$T/dry.log")"
check_eq "... and the pod still holds its GPUs for its workload" "job-asc 1 4" \
	"$(jq -r '.workloads[] | select(.uid == "job-asc") | "\(.uid) \(.pods) \(.gpu_request)"' "$T/dry.json")"

# Without RBAC on ReplicaSets (an older ClusterRole): a warning, and the Deployment's pods count as
# their ReplicaSet's; nothing else changes.
FORBID_PORT=$(fl_free_port)
python3 "$FL_ROOT/tests/kube_standin/kube_standin.py" --port "$FORBID_PORT" --token-file "$T/token" \
	--forbid replicasets >"$T/standin_forbid.log" 2>&1 &
FORBID_PID=$!
fl_wait_http "http://127.0.0.1:$FORBID_PORT/control/counts" 20
sed "s|server: $KUBE/|server: http://127.0.0.1:$FORBID_PORT/|" "$T/kubeconfig" >"$T/forbid_kubeconfig"
spoke_yaml "$T/forbid.yaml" forbid_kubeconfig
"$BIN/fleetlens-spoke" --config "$T/forbid.yaml" --once --dry-run >"$T/dry_forbid.json" 2>"$T/dry_forbid.log"
check_eq "replicasets forbidden: dry-run still exits 0" 0 $?
check_contains "replicasets forbidden: the log says what to grant" "cannot list replicasets (HTTP 403)" \
	"$(cat "$T/dry_forbid.log")"
check_eq "replicasets forbidden: the Deployment's pods count as their ReplicaSet's" "ReplicaSet serve-5d8f 3" \
	"$(jq -r '.workloads[] | select(.uid == "rs-serve") | "\(.kind) \(.name) \(.pods)"' "$T/dry_forbid.json")"
check_eq "replicasets forbidden: Jobs still resolve to their CronJob" "CronJob" \
	"$(jq -r '.workloads[] | select(.uid == "cron-prep") | .kind' "$T/dry_forbid.json")"
kill "$FORBID_PID" && wait "$FORBID_PID" 2>/dev/null

[ "$FL_FAIL" -eq 0 ] || { echo "--- spoke log"; tail -40 "$T/spoke.log"; echo "--- hub log"; tail -20 "$T/hub.log"; }
fl_done
