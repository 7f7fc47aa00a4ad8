#!/usr/bin/env bash
# scripts/bench.d/node.sh — the node role's cost per cycle (issue 7), runnable alone. On a fixture host
# tree of GPUS AMD GPUs (default 8), 2 RDMA devices and PROCS processes (default 200, GPU_PROCS of them
# holding GPU device files, default 16), made by tests/node_fixtures/make_tree.sh:
#   1. fl-node-bench: CYCLES (default 500) node-role cycles in one process (collect GPUs, RDMA and jobs,
#      encode and sign the frame), CPU per cycle and peak RSS, beside a ps-style pass over the same /proc
#      (every process's stat and comm) measured the same way;
#   2. the real daemon: fleetlens-spoke in the node role (interval 200ms) against a real hub and a private
#      PostgreSQL: after 3 s of start-up, for SECONDS_RUN (default 20) s, the frames the hub stored and the
#      spoke's CPU per stored frame (utime + stime from /proc/PID/stat: collecting, signing, sending, acks
#      and its idle loop), and its peak RSS (VmHWM).
# Targets (issue 7): under 5 ms CPU and under 20 MiB RSS per cycle. Results: bench/NODE.md.
# Environment: GPUS, PROCS, GPU_PROCS, CYCLES, SECONDS_RUN, FL_BIN (default build/bin; built if missing).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
cd "$FL_ROOT"
GPUS=${GPUS:-8}
PROCS=${PROCS:-200}
GPU_PROCS=${GPU_PROCS:-16}
CYCLES=${CYCLES:-500}
SECONDS_RUN=${SECONDS_RUN:-20}
INTERVAL=${INTERVAL:-200ms}
BIN=${FL_BIN:-$FL_ROOT/build/bin}
fl_install_deps
[ -x "$BIN/fl-node-bench" ] || { fl_build build -DCMAKE_BUILD_TYPE=RelWithDebInfo; BIN=$FL_ROOT/build/bin; }

T=$(mktemp -d /tmp/fl_node_bench.XXXXXX)
chmod 755 "$T"
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	fl_pg_stop
	rm -rf "$T"
}
trap cleanup EXIT

tests/node_fixtures/make_tree.sh "$T/host" --amd "$GPUS" --rdma 2 --procs "$PROCS" --gpu-procs "$GPU_PROCS" >/dev/null
fl_say "fl-node-bench: $CYCLES cycles on $GPUS GPUs, $PROCS processes ($GPU_PROCS with GPU files)"
IN=$("$BIN/fl-node-bench" --host-root "$T/host" --cycles "$CYCLES")
echo "$IN"

fl_say "the daemon: fleetlens-spoke --config (role: node, interval 200ms) for $SECONDS_RUN s against a hub"
fl_pg_start "$T/pg"
INGEST_PORT=$(fl_free_port)
API_PORT=$(fl_free_port)
fl_make_key "$T/bench.key"
cat >"$T/clusters.yaml" <<YAML
hub:
  ingest_url: tcp://127.0.0.1:$INGEST_PORT
  api_listen: 127.0.0.1:$API_PORT
  database_url: "$FL_DATABASE_URL"
  migrations_dir: $FL_ROOT/sql/hub
  web_dir: $FL_ROOT/web
  log_level: warn
clusters:
  - name: bench
    key_file: bench.key
YAML
cat >"$T/spoke.yaml" <<YAML
cluster: bench
hub_url: tcp://127.0.0.1:$INGEST_PORT
key_file: bench.key
role: node
node_name: bench-node
host_root: $T/host
interval: $INTERVAL
log_level: warn
YAML
"$BIN/fleetlens-hub" --config "$T/clusters.yaml" >"$T/hub.log" 2>&1 &
PIDS+=($!)
fl_wait_http "http://127.0.0.1:$API_PORT/healthz" 30 || fl_die "the hub did not start: $(cat "$T/hub.log")"
"$BIN/fleetlens-spoke" --config "$T/spoke.yaml" >"$T/spoke.log" 2>&1 &
SPOKE=$!
PIDS+=("$SPOKE")
ticks() { awk '{print $14 + $15}' "/proc/$SPOKE/stat"; }
frames() { curl -s "http://127.0.0.1:$API_PORT/metrics" | awk '$1 == "fleetlens_hub_node_frames_applied_total" {print $2}'; }
sleep 3 # start-up (loading libraries, the first dial) is not a cycle's cost
T0=$(ticks)
F0=$(frames)
sleep "$SECONDS_RUN"
T1=$(ticks)
F1=$(frames)
HWM=$(awk '$1 == "VmHWM:" {print $2}' "/proc/$SPOKE/status")
HZ=$(getconf CLK_TCK)
FRAMES=$((F1 - F0))
DAEMON_MS=$(awk -v t="$((T1 - T0))" -v hz="$HZ" -v f="$FRAMES" 'BEGIN {printf "%.2f", (f > 0) ? t * 1000 / hz / f : 0}')
echo "{\"daemon_frames_stored\":$FRAMES,\"daemon_cpu_ms_per_frame\":$DAEMON_MS,\"daemon_peak_rss_kib\":$HWM}"

NODE_MS=$(jq -r .node_cpu_ms_per_cycle <<<"$IN")
PEAK=$(jq -r .peak_rss_kib <<<"$IN")
verdict() { awk -v v="$1" -v max="$2" 'BEGIN {print (v != "" && v + 0 < max + 0) ? "met" : "MISSED"}'; }
fl_say "collect+encode: $NODE_MS ms CPU/cycle ($(jq -r .ratio <<<"$IN")x a ps pass), peak RSS $PEAK KiB in-process"
fl_say "daemon: $DAEMON_MS ms CPU/frame over $FRAMES stored frames, peak RSS $HWM KiB"
fl_say "target < 5 ms CPU per cycle: $(verdict "$DAEMON_MS" 5); target < 20 MiB RSS: $(verdict "$HWM" 20480)"
