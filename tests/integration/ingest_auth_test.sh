#!/usr/bin/env bash
# Who gets in (issue 14): the hub authenticates a frame before it decodes it, and a node agent's key signs
# node frames only. Frames from an unknown cluster and with a wrong signature, each shaped to allocate as
# much as possible when decoded (20,000 one-letter nodes with 64 empty taints each; 200,000 unknown keys),
# come from 8 connections at once: they must be refused and counted, the hub's peak RSS must stay under
# 64 MiB above its idle RSS, and a good spoke's frames must keep landing. Then a cluster with
# node_key_file: its node key cannot write a cluster frame, a node frame under its cluster key is refused,
# and a node frame under its node key lands. Real PostgreSQL, real hub, real nng.
set -uo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
source "$(dirname "$0")/assert.sh"
source "$(dirname "$0")/lib.sh"
RSS_BOUND_KB=$((64 * 1024)) # the hub's peak RSS may grow at most this much over its idle RSS (README)

fl_it_setup auth
fl_it_keys alpha beta gamma gamma-node other

fl_it_hub_config "$T/clusters.yaml" <<YAML
clusters:
  - name: alpha
    key_file: keys/alpha.key
  - name: beta
    key_file: keys/beta.key
  - name: gamma
    key_file: keys/gamma.key
    node_key_file: keys/gamma-node.key
YAML
fl_it_spoke_config "$T/beta.yaml" beta 20 8 3 "interval: 1s" "ack_timeout: 5s"

# A small ASan quarantine, so the RSS check measures the hub and not the sanitizer's free list.
FL_DIAG_LOGS="$T/hub.log $T/beta.log"
ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=8" fl_it_start_hub

fl_it_start_spoke beta

metric() { curl -s "$API/metrics" | awk -v m="$1" '$1 == m {print $2; found=1} END {if (!found) print 0}'; }
rejected() { metric "fleetlens_hub_frames_rejected_total{reason=\"$1\"}"; }
beta_frames() { fl_sql "SELECT count(*) FROM ingest_log WHERE cluster_name='beta'"; }
status_kb() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$HUB_PID/status"; }
tool() { "$BIN/fl-frame-tool" "$@"; }
# send FILE: prints the ack's status ("none" when no ack came)
send() { tool send "$URL" "$1" 2>/dev/null | jq -r '.status' 2>/dev/null || echo none; }

fl_wait_until 30 '[ "$(beta_frames)" -ge 2 ]'
check_eq "the good spoke lands before the attack" true "$([ "$(beta_frames)" -ge 2 ] && echo true || echo false)"

# --- frames that would cost hundreds of MB each if decoded before they are authenticated ----------------
tool bomb --cluster ghost -o "$T/ghost-taints.bin"
tool bomb --cluster alpha --key-file "$T/keys/other.key" -o "$T/forged-taints.bin"
tool bomb --cluster ghost --nodes 2000 --unknown-keys 200000 -o "$T/ghost-keys.bin"
tool bomb --cluster alpha --nodes 2000 --unknown-keys 200000 --key-file "$T/keys/other.key" -o "$T/forged-keys.bin"
check_eq "the taint frame is about 1.6 MB" true \
	"$(s=$(stat -c %s "$T/ghost-taints.bin"); [ "$s" -gt 1500000 ] && [ "$s" -lt 1800000 ] && echo true || echo "$s")"

um0=$(rejected unknown_cluster)
bs0=$(rejected bad_signature)
beta0=$(beta_frames)
idle_kb=$(status_kb VmRSS)
# Start the peak over from here (Linux: writing 5 to clear_refs resets VmHWM); if that is not allowed,
# VmHWM holds the start-up peak too, which only makes the bound below stricter.
echo 5 >"/proc/$HUB_PID/clear_refs" 2>/dev/null || echo "# (VmHWM could not be reset: it includes start-up)"

# 8 senders at once, each on its own connection, 4 frames each: 32 frames
pids=()
for k in 1 2 3 4 5 6 7 8; do
	(for f in ghost-taints forged-taints ghost-keys forged-keys; do send "$T/$f.bin"; done >"$T/acks.$k") &
	pids+=($!)
done
wait "${pids[@]}"
peak_kb=$(status_kb VmHWM)
acks=$(cat "$T"/acks.* | sort | uniq -c | awk '{printf "%s%s=%s", sep, $2, $1; sep=","}')
check_eq "all 32 frames refused" "rejected=32" "$acks"
check_eq "16 counted as unknown_cluster" 16 $(($(rejected unknown_cluster) - um0))
check_eq "16 counted as bad_signature" 16 $(($(rejected bad_signature) - bs0))
echo "# hub RSS: idle $idle_kb kB, peak $peak_kb kB during the attack (bound: idle + $RSS_BOUND_KB kB)"
check_eq "the hub's peak RSS stayed under 64 MiB above idle" true \
	"$([ $((peak_kb - idle_kb)) -lt "$RSS_BOUND_KB" ] && echo true || echo "false (idle $idle_kb kB, peak $peak_kb kB)")"
check_eq "hub is still alive" 0 "$(kill -0 "$HUB_PID" 2>/dev/null; echo $?)"
fl_wait_until 30 '[ "$(beta_frames)" -gt "$beta0" ]'
check_eq "the good spoke kept landing" true \
	"$([ "$(beta_frames)" -gt "$beta0" ] && echo true || echo "false ($beta0 -> $(beta_frames))")"
check_eq "beta's rows are intact" 22 "$(fl_sql "SELECT count(*) FROM node WHERE cluster_name='beta'")"
check_eq "no rows for the unknown cluster" 0 "$(fl_sql "SELECT count(*) FROM node WHERE cluster_name='ghost'")"
check_eq "no rows from the forged frames" 0 "$(fl_sql "SELECT count(*) FROM node WHERE cluster_name='alpha'")"

# Once authenticated, unknown keys are still bounded: 65 or more in one map refuse the frame.
tool bomb --cluster alpha --nodes 0 --unknown-keys 65 --key-file "$T/keys/alpha.key" -o "$T/alpha-keys.bin"
ov0=$(rejected oversized)
check_eq "a signed frame with 65 unknown keys in a map is refused" rejected "$(send "$T/alpha-keys.bin")"
check_eq "... counted as oversized" 1 $(($(rejected oversized) - ov0))

# --- the node role's own key (clusters[].node_key_file) ------------------------------------------------
tool make --cluster gamma --spoke g1 --seq 1 --nodes 3 --key-file "$T/keys/gamma.key" -o "$T/g-full.bin"
check_eq "a cluster frame under gamma's cluster key lands" ok "$(send "$T/g-full.bin")"
log0=$(fl_sql "SELECT count(*) FROM ingest_log WHERE cluster_name='gamma'")
# a full frame of 1 node would delete 2 of gamma's 3 nodes, if it were let in
tool make --cluster gamma --spoke g1 --seq 2 --nodes 1 --key-file "$T/keys/gamma-node.key" -o "$T/g-full-nodekey.bin"
tool make --cluster gamma --spoke g2 --seq 1 --kind delta --remove node-00000 --key-file "$T/keys/gamma-node.key" \
	-o "$T/g-delta-nodekey.bin"
wk0=$(rejected wrong_key_role)
check_eq "a full frame under the node key is refused" rejected "$(send "$T/g-full-nodekey.bin")"
check_eq "a delta under the node key is refused" rejected "$(send "$T/g-delta-nodekey.bin")"
check_eq "both counted as wrong_key_role" 2 $(($(rejected wrong_key_role) - wk0))
check_eq "gamma still has its 3 nodes" 3 "$(fl_sql "SELECT count(*) FROM node WHERE cluster_name='gamma'")"
check_eq "gamma's ingest_log is unchanged" "$log0" "$(fl_sql "SELECT count(*) FROM ingest_log WHERE cluster_name='gamma'")"
check_contains "the hub logged why" "wrong key role: full frame of cluster 'gamma'" "$(cat "$T/hub.log")"

tool make --cluster gamma --spoke gn1 --seq 1 --kind node --host node-00001 --gpus-per-node 2 \
	--key-file "$T/keys/gamma.key" -o "$T/g-node-clusterkey.bin"
check_eq "a node frame under the cluster key is refused once node_key_file is set" rejected \
	"$(send "$T/g-node-clusterkey.bin")"
check_eq "counted as wrong_key_role" 3 $(($(rejected wrong_key_role) - wk0))
check_eq "no node agent for gamma" 0 "$(fl_sql "SELECT count(*) FROM node_agent WHERE cluster_name='gamma'")"
tool make --cluster gamma --spoke gn1 --seq 2 --kind node --host node-00001 --gpus-per-node 2 \
	--key-file "$T/keys/gamma-node.key" -o "$T/g-node-nodekey.bin"
check_eq "a node frame under the node key lands" ok "$(send "$T/g-node-nodekey.bin")"
check_eq "its node agent is stored" 1 "$(fl_sql "SELECT count(*) FROM node_agent WHERE cluster_name='gamma'")"
check_eq "and its GPUs" 2 "$(fl_sql "SELECT count(*) FROM node_gpu WHERE cluster_name='gamma'")"
# without node_key_file (alpha) node frames are signed with the cluster key, as before
tool make --cluster alpha --spoke an1 --seq 1 --kind node --host n1 --key-file "$T/keys/alpha.key" -o "$T/a-node.bin"
check_eq "a node frame under the cluster key lands where no node key is set" ok "$(send "$T/a-node.bin")"
check_eq "wrong_key_role unchanged" 3 $(($(rejected wrong_key_role) - wk0))

fl_done
