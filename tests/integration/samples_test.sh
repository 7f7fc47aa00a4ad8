#!/usr/bin/env bash
# Samples apart from facts (issue 13) end to end: a real PostgreSQL, two real hubs (replicas) and signed
# frames built here with exact figures (a small msgpack writer, HMAC-SHA256 as proto/FORMAT.md 3.7) and
# sent by fl-frame-tool. Checked: (a) frames whose facts hold but whose figures moved write no node or
# gpu_device row (their xmin stays) and append exactly one node_utilization_history row per carried node
# with the exact figures and per-GPU arrays; (b) a fact change (status, taint, allocation, a GPU serial)
# writes exactly that row; (c) a full frame without a node deletes it and its GPUs; (d) /v1/nodes and
# /v1/nodes/{name}/gpuDevices answer the newest figures, on the committing hub, on the replica (peer
# refresh) and after a restart (loaded from the samples); (e) a node sent without a figure reads null.
set -uo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
source "$(dirname "$0")/assert.sh"
source "$(dirname "$0")/lib.sh"

fl_it_setup samples # hub A on fl_it_setup's ports
fl_it_keys alpha
ING_A=$INGEST_PORT; API_A=$API_PORT; ING_B=$(fl_free_port); API_B=$(fl_free_port)
A="http://127.0.0.1:$API_A"
B="http://127.0.0.1:$API_B"
hub_yaml() { # hub_yaml FILE INGEST API
	fl_it_clusters alpha | fl_it_hub_config "$1" "$2" "$3"
}
hub_yaml "$T/a.yaml" "$ING_A" "$API_A"
hub_yaml "$T/b.yaml" "$ING_B" "$API_B"
FL_DIAG_LOGS="$T/a.log $T/b.log"
start_a() {
	fl_it_start_hub "$T/a.yaml" "$T/a.log" "$A"
	HUB_A=$HUB_PID
}
start_a
fl_it_start_hub "$T/b.yaml" "$T/b.log" "$B"
HUB_B=$HUB_PID

# mk.py OUT SEQ KIND SENT_MS NODES_JSON [REMOVED_JSON]: one signed frame of cluster alpha, spoke s1. Each
# node {"n": name, "alloc": A, "u": figure|null, "st": status, "taints": [...], "g": [[u, t, p], ...],
# "serial": prefix} gets the fixed facts below and one GPU per "g" entry (gpu_id 0.., its figures).
cat >"$T/mk.py" <<'PY'
import hashlib, hmac, json, struct, sys

def enc(x):
    if x is None: return b'\xc0'
    if x is True: return b'\xc3'
    if x is False: return b'\xc2'
    if isinstance(x, int): return b'\xcf' + struct.pack('>Q', x) if x >= 0 else b'\xd3' + struct.pack('>q', x)
    if isinstance(x, float): return b'\xcb' + struct.pack('>d', x)
    if isinstance(x, str):
        b = x.encode()
        return (bytes([0xa0 | len(b)]) if len(b) < 32 else b'\xd9' + bytes([len(b)])) + b
    if isinstance(x, list): return b'\xdc' + struct.pack('>H', len(x)) + b''.join(enc(v) for v in x)
    if isinstance(x, dict):
        return b'\xde' + struct.pack('>H', len(x)) + b''.join(enc(k) + enc(v) for k, v in x.items())
    raise TypeError(x)

out, seq, kind, sent, spec = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), json.loads(sys.argv[5])
key = open(sys.argv[7] if len(sys.argv) > 7 else 'keys/alpha.key', 'rb').read().strip()
nodes, gpus = [], []
for n in spec:
    g = n.get('g', [])
    nodes.append({'name': n['n'], 'ip': '10.0.0.1', 'gpu_name': 'MI300X', 'gpu_count': len(g),
                  'gpu_allocation': n.get('alloc', 0), 'gpu_utilization': n.get('u'),
                  'status': n.get('st', 'Ready'), 'unschedulable': False, 'faulty': n.get('st', 'Ready') != 'Ready',
                  'cpu_millis': 64000, 'memory_bytes': 1 << 40, 'kubelet_version': 'v1.29.3',
                  'os_image': 'Ubuntu 22.04', 'kernel_version': '5.15', 'container_runtime': 'containerd://1.7',
                  'taints': n.get('taints', [])})
    for i, (u, t, p) in enumerate(g):
        gpus.append({'node': n['n'], 'gpu_id': i, 'gpu_model': 'MI300X', 'memory_mib': 196608, 'utilization': u,
                     'temperature': float(t), 'power': float(p), 'serial': '%s-%d' % (n.get('serial', 'SN-' + n['n']), i),
                     'numa': i % 2})
payload = {'facts': {'k8s_version': 'v1.29.3', 'spoke_version': 'test', 'source': 'test'}, 'nodes': nodes, 'gpus': gpus}
if len(sys.argv) > 6 and sys.argv[6]:
    payload['removed_nodes'] = json.loads(sys.argv[6])
signed = enc({'v': 1, 'cluster': 'alpha', 'spoke': 's1', 'seq': seq, 'sent': sent, 'kind': kind}) + enc(payload)
sig = hmac.new(key, signed, hashlib.sha256).digest()
open(out, 'wb').write(b'\x93' + signed + b'\xc4' + bytes([len(sig)]) + sig)
PY
S0=$(($(date +%s) * 1000 - 600000)) # ten minutes ago: every frame below (S0 .. S0 + 180 s) is in the past
# ... and within one UTC day (the history route's largest step), should midnight fall in between.
[ $((S0 / 86400000)) -eq $(((S0 + 180000) / 86400000)) ] || S0=$(((S0 + 180000) / 86400000 * 86400000 + 1000))
DAY0=$((S0 / 86400000 * 86400))
# send HUB_INGEST_PORT SEQ KIND OFFSET_S NODES [REMOVED]: makes and sends a frame; prints the ack's status.
send() {
	(cd "$T" && python3 mk.py "$T/f$2.bin" "$2" "$3" "$((S0 + $4 * 1000))" "$5" "${6:-}") || { echo "mk.py failed"; return; }
	"$BIN/fl-frame-tool" send "tcp://127.0.0.1:$1" "$T/f$2.bin" | jq -r .status
}
xmins() { fl_sql "SELECT (SELECT string_agg(name || ':' || xmin, ',' ORDER BY name) FROM node) || ' / ' || (SELECT string_agg(node_name || gpu_id || ':' || xmin, ',' ORDER BY node_name, gpu_id) FROM gpu_device)"; }
xmin_of() { fl_sql "SELECT xmin FROM node WHERE name = '$1'"; }
sample() { # sample NODE OFFSET_S: the sample row of NODE at S0 + OFFSET_S, figures and arrays
	fl_sql "SELECT concat_ws('|', coalesce(gpu_utilization::text, 'null'), gpu_count, gpu_allocation, gpu_ids, gpu_utilizations, gpu_temperatures, gpu_powers) FROM node_utilization_history WHERE node_name = '$1' AND sampled_at = to_timestamp($((S0 / 1000 + $2)))"
}
api_nodes() { curl -s "$1/v1/nodes?cluster=alpha&page_size=100" | jq -c '[.data.data[] | [.name, .gpu_allocation, .gpu_utilization, .status]]'; }
api_gpus() { curl -s "$1/v1/nodes/$2/gpuDevices?cluster=alpha" | jq -c '[.data[] | [.gpu_id, .utilization, .temperature, .power, .serial]]'; }

# --- a first full frame: facts and samples -------------------------------------------------------------------
F1='[{"n":"a","alloc":1,"u":15.0,"g":[[10.0,40,100],[20.0,41,200]]},
     {"n":"b","alloc":2,"u":30.0,"g":[[30.0,50,300],[null,51,301]]},
     {"n":"c","alloc":0,"u":null,"g":[[null,30,90]]}]'
check_eq "full frame acknowledged" ok "$(send "$ING_A" 1 full 0 "$F1")"
check_eq "3 node rows, 5 GPU rows, 3 samples" "3 5 3" \
	"$(fl_sql "SELECT (SELECT count(*) FROM node) || ' ' || (SELECT count(*) FROM gpu_device) || ' ' || (SELECT count(*) FROM node_utilization_history)")"
check_eq "b's sample: figure, count, allocation, per-GPU arrays (NULL: no figure)" "30|2|2|{0,1}|{30,NULL}|{50,51}|{300,301}" "$(sample b 0)"
check_eq "c's sample: no node figure" "null|1|0|{0}|{NULL}|{30}|{90}" "$(sample c 0)"
check_eq "cluster.rows_gen counts the frame" 1 "$(fl_sql "SELECT rows_gen FROM cluster WHERE name = 'alpha'")"

# --- (a) only the samples move: no fact row is written --------------------------------------------------------
X1=$(xmins)
F2='[{"n":"a","alloc":1,"u":55.5,"g":[[50.0,60,400],[61.0,62,410]]},
     {"n":"b","alloc":2,"u":31.25,"g":[[32.5,52,305],[30.0,53,306]]}]'
check_eq "delta with moved figures acknowledged" ok "$(send "$ING_A" 2 delta 30 "$F2")"
check_eq "no node or gpu_device row version changed (xmin)" "$X1" "$(xmins)"
check_eq "the ingest log counts no node row written" 0 "$(fl_sql "SELECT node_rows FROM ingest_log WHERE seq = 2")"
check_eq "one sample per carried node: 3 + 2" 5 "$(fl_sql "SELECT count(*) FROM node_utilization_history")"
check_eq "a's sample holds the frame's exact figures" "55.5|2|1|{0,1}|{50,61}|{60,62}|{400,410}" "$(sample a 30)"
check_eq "b's too" "31.25|2|2|{0,1}|{32.5,30}|{52,53}|{305,306}" "$(sample b 30)"
F3='[{"n":"a","alloc":1,"u":56.0,"g":[[51.0,60,401],[61.0,62,411]]},
     {"n":"b","alloc":2,"u":31.0,"g":[[32.0,52,300],[30.0,53,300]]},
     {"n":"c","alloc":0,"u":null,"g":[[null,31,95]]}]'
check_eq "full frame with the same facts acknowledged" ok "$(send "$ING_A" 3 full 60 "$F3")"
check_eq "a full frame with the same facts writes no row either" "$X1" "$(xmins)"
check_eq "... and appends 3 samples" 8 "$(fl_sql "SELECT count(*) FROM node_utilization_history")"

# --- (b) a fact changes: exactly that row ----------------------------------------------------------------------
XA=$(xmin_of a); XC=$(xmin_of c)
F4='[{"n":"b","alloc":1,"u":12.0,"st":"NotReady","taints":[{"key":"maint","value":"disk","effect":"NoSchedule"}],"g":[[12.0,45,250],[12.0,46,251]]}]'
check_eq "delta changing b's status, taint and allocation acknowledged" ok "$(send "$ING_A" 4 delta 90 "$F4")"
check_eq "b's row holds the new facts" 'NotReady|1|[{"key": "maint", "value": "disk", "effect": "NoSchedule"}]' \
	"$(fl_sql "SELECT status || '|' || gpu_allocation || '|' || taints::text FROM node WHERE name = 'b'")"
check_eq "a's and c's node rows are untouched" "$XA $XC" "$(xmin_of a) $(xmin_of c)"
check_eq "the ingest log counts one node row" 1 "$(fl_sql "SELECT node_rows FROM ingest_log WHERE seq = 4")"
check_eq "b's GPU rows are untouched (their facts hold)" "$(sed 's/.* \/ //' <<<"$X1")" "$(xmins | sed 's/.* \/ //')"
F5='[{"n":"a","alloc":1,"u":57.0,"serial":"NEW","g":[[52.0,61,402],[62.0,63,412]]}]'
check_eq "delta changing a's GPU serials acknowledged" ok "$(send "$ING_A" 5 delta 120 "$F5")"
check_eq "a's GPU rows are written, b's and c's not; a's node row not" \
	"a0 a1 $XA" \
	"$(fl_sql "SELECT string_agg(node_name || gpu_id, ' ' ORDER BY node_name, gpu_id) FROM gpu_device WHERE xmin::text::bigint = (SELECT max(xmin::text::bigint) FROM gpu_device)") $(xmin_of a)"

# --- (c) a full frame without c deletes it and its GPUs -----------------------------------------------------------
F6='[{"n":"a","alloc":1,"u":58.0,"serial":"NEW","g":[[53.0,61,403],[63.0,63,413]]},
     {"n":"b","alloc":1,"u":13.0,"st":"NotReady","taints":[{"key":"maint","value":"disk","effect":"NoSchedule"}],"g":[[13.0,45,252],[null,46,253]]}]'
check_eq "full frame without c acknowledged" ok "$(send "$ING_A" 6 full 150 "$F6")"
check_eq "c and its GPU are gone; a and b keep their rows" "a,b 4 $XA" \
	"$(fl_sql "SELECT string_agg(name, ',' ORDER BY name) FROM node") $(fl_sql "SELECT count(*) FROM gpu_device") $(xmin_of a)"

# --- (d) the API answers the newest figures: this hub, the replica, after a restart ---------------------------------
NODES='[["a",1,58,"Ready"],["b",1,13,"NotReady"]]'
GPUS_A='[[0,53,61,403,"NEW-0"],[1,63,63,413,"NEW-1"]]'
GPUS_B='[[0,13,45,252,"SN-b-0"],[1,null,46,253,"SN-b-1"]]'
check_eq "/v1/nodes on the committing hub" "$NODES" "$(api_nodes "$A")"
check_eq "gpuDevices of a on the committing hub" "$GPUS_A" "$(api_gpus "$A" a)"
check_eq "gpuDevices of b (a GPU without a figure: null)" "$GPUS_B" "$(api_gpus "$A" b)"
fl_wait_until 60 '[ "$(api_nodes "$B")" == "$NODES" ]'
check_eq "/v1/nodes on the replica (peer refresh)" "$NODES" "$(api_nodes "$B")"
check_eq "gpuDevices of a on the replica" "$GPUS_A" "$(api_gpus "$B" a)"
check_eq "gpuDevices of b on the replica" "$GPUS_B" "$(api_gpus "$B" b)"
fl_it_stop "$HUB_A"
start_a
check_eq "/v1/nodes after a restart (loaded from the samples)" "$NODES" "$(api_nodes "$A")"
check_eq "gpuDevices of a after a restart" "$GPUS_A" "$(api_gpus "$A" a)"
check_eq "gpuDevices of b after a restart" "$GPUS_B" "$(api_gpus "$A" b)"

# --- (e) a node sent without a figure reads null afterwards ----------------------------------------------------------
F7='[{"n":"a","alloc":1,"u":null,"serial":"NEW","g":[[null,61,403],[null,63,413]]}]'
check_eq "the replica commits a delta without a's figures" ok "$(send "$ING_B" 7 delta 180 "$F7")"
check_eq "no fact row written" 0 "$(fl_sql "SELECT node_rows FROM ingest_log WHERE seq = 7")"
check_eq "a's sample has no figures" "null|2|1|{0,1}|{NULL,NULL}|{61,63}|{403,413}" "$(sample a 180)"
NULLS='[["a",1,null,"Ready"],["b",1,13,"NotReady"]]'
check_eq "/v1/nodes on the replica: a reads null" "$NULLS" "$(api_nodes "$B")"
fl_wait_until 60 '[ "$(api_nodes "$A")" == "$NULLS" ]'
check_eq "... and on the other hub" "$NULLS" "$(api_nodes "$A")"
check_eq "a's GPUs read null utilization" '[[0,null,61,403,"NEW-0"],[1,null,63,413,"NEW-1"]]' "$(api_gpus "$A" a)"
fl_it_stop "$HUB_A"
start_a
check_eq "a reads null after a restart too" "$NULLS" "$(api_nodes "$A")"
# One bucket (a day) holds every sample: the mean of a's figures, the sample without a figure left out.
check_eq "the history route skips samples without a figure" "[[$DAY0,48.3]]" \
	"$(curl -s "$A/v1/nodes/a/utilizationHistory?cluster=alpha&start=$DAY0&end=$((DAY0 + 86400))&step=86400" | jq -c '.data.series[0].points')"
fl_done
