#!/usr/bin/env bash
# scripts/bench.d/kube.sh — the kube source at scale: a 5,000-node / 50,000-pod cluster served by the
# Kubernetes API stand-in (tests/kube_standin, `scale` fixture). Measures the initial sync (requests,
# wall time, CPU, peak RSS of `--once --dry-run`), then the running daemon's steady state (Kubernetes
# requests, CPU per cycle and peak RSS over CYCLES cycles of INTERVAL), beside the replaced system's way:
# one GET per node per cycle (timed here with curl) and its documented 3N + 2N·P calls.
# Writes bench/KUBE.md. Usage: scripts/bench.d/kube.sh [BIN_DIR]  (env NODES, PODS_PER_NODE, CYCLES, INTERVAL)
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
BIN=${1:-${FL_BIN:-$FL_ROOT/build/bin}}
NODES=${NODES:-5000}
PPN=${PODS_PER_NODE:-10}
CYCLES=${CYCLES:-6}
INTERVAL=${INTERVAL:-5}
OUT=$FL_ROOT/bench/KUBE.md

T=$(mktemp -d /tmp/fl_kbench.XXXXXX)
cleanup() {
	[ -n "${SPOKE_PID:-}" ] && kill "$SPOKE_PID" 2>/dev/null && wait "$SPOKE_PID" 2>/dev/null
	[ -n "${KUBE_PID:-}" ] && kill "$KUBE_PID" 2>/dev/null && wait "$KUBE_PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
PORT=$(fl_free_port)
KUBE=http://127.0.0.1:$PORT
echo "bench-token" >"$T/token"
fl_say "stand-in: $NODES nodes, $((NODES * PPN)) pods"
python3 "$FL_ROOT/tests/kube_standin/kube_standin.py" --port "$PORT" --token-file "$T/token" --fixture scale \
	--nodes "$NODES" --pods-per-node "$PPN" --bookmark-interval 60 >"$T/standin.log" 2>&1 &
KUBE_PID=$!
fl_wait_http "$KUBE/control/counts" 600 || fl_die "stand-in did not start: $(cat "$T/standin.log")"
counts() { curl -s "$KUBE/control/counts"; }
total() { counts | jq "$1"; }

cat >"$T/kubeconfig" <<YAML
apiVersion: v1
kind: Config
current-context: b
clusters: [{name: b, cluster: {server: "$KUBE"}}]
contexts: [{name: b, context: {cluster: b, user: u}}]
users: [{name: u, user: {tokenFile: $T/token}}]
YAML
fl_make_key "$T/k.key"
cat >"$T/spoke.yaml" <<YAML
cluster: bench
hub_url: tcp://127.0.0.1:1
key_file: k.key
interval: ${INTERVAL}s
heartbeat: 1h
log_level: warn
sources:
  kube:
    kubeconfig: kubeconfig
    sync_timeout: 10m
YAML

# --- initial sync: --once --dry-run -------------------------------------------------------------------
l0=$(total '.list.nodes + .list.pods')
/usr/bin/time -f '%e %U %S %M' -o "$T/time" "$BIN/fleetlens-spoke" --config "$T/spoke.yaml" --once --dry-run \
	>/dev/null 2>"$T/dry.log" || fl_die "dry run failed: $(tail -5 "$T/dry.log")"
read -r SYNC_WALL SYNC_U SYNC_S SYNC_RSS <"$T/time"
SYNC_LISTS=$(($(total '.list.nodes + .list.pods') - l0))

# --- steady state: the daemon over CYCLES cycles ---------------------------------------------------------
w0=$(total '.watch.nodes + .watch.pods')
"$BIN/fleetlens-spoke" --config "$T/spoke.yaml" >"$T/spoke.log" 2>&1 &
SPOKE_PID=$!
hz=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$SPOKE_PID/stat"; }
# wait for the daemon's own initial sync (its first lists done, its watches open)
for ((i = 0; i < 6000; i++)); do
	[ "$(total '.watch.nodes + .watch.pods')" -ge $((w0 + 2)) ] && break
	sleep 0.1
done
sleep "$INTERVAL"
c0=$(cpu)
a=$(counts)
sleep $((CYCLES * INTERVAL))
b=$(counts)
c1=$(cpu)
RSS_KB=$(awk '/VmHWM/ {print $2}' "/proc/$SPOKE_PID/status")
STEADY_LISTS=$(jq -n --argjson a "$a" --argjson b "$b" '($b.list.nodes + $b.list.pods) - ($a.list.nodes + $a.list.pods)')
STEADY_WATCH=$(jq -n --argjson a "$a" --argjson b "$b" '($b.watch.nodes + $b.watch.pods) - ($a.watch.nodes + $a.watch.pods)')
CPU_MS_CYCLE=$(awk -v a="$c0" -v b="$c1" -v hz="$hz" -v n="$CYCLES" 'BEGIN {printf "%.0f", (b - a) * 1000 / hz / n}')

# --- the old way: one GET per node, per cycle ----------------------------------------------------------
for ((i = 0; i < NODES; i++)); do printf 'url = "%s/api/v1/nodes/node-%05d"\noutput = "/dev/null"\n' "$KUBE" "$i"; done >"$T/urls"
g0=$(total '.get // 0')
t0=$(date +%s%3N)
curl -s -H "Authorization: Bearer bench-token" -K "$T/urls"
t1=$(date +%s%3N)
GETS=$(($(total '.get // 0') - g0))
GET_MS=$((t1 - t0))
LENS=$((3 * NODES + 2 * NODES * PPN))

per_cycle=$(awk -v s="$STEADY_LISTS" -v w="$STEADY_WATCH" -v n="$CYCLES" 'BEGIN {printf "%.2f", (s + w) / n}')
cat >"$OUT" <<MD
# Kubernetes source at scale (\`scripts/bench.d/kube.sh\`)

Measured $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores: the spoke (\`$(basename "$(dirname "$BIN")")\`) against the
Kubernetes API stand-in (\`tests/kube_standin\`, \`scale\` fixture: $NODES nodes, $((NODES * PPN)) pods, real-shaped
objects), page_limit 500, interval ${INTERVAL}s, $CYCLES cycles observed. The stand-in is Python: its own
speed bounds the wall times, the request counts are exact.

| | the kube source (list + watch) | one GET per node (the old way) | ratio |
| --- | --- | --- | --- |
| initial sync: Kubernetes requests | $SYNC_LISTS LIST pages | — | — |
| initial sync: wall time / spoke CPU | ${SYNC_WALL} s / $(awk -v u="$SYNC_U" -v s="$SYNC_S" 'BEGIN {printf "%.2f", u + s}') s | — | — |
| initial sync: spoke peak RSS | $((SYNC_RSS / 1024)) MiB | — | — |
| steady state: LIST calls per cycle | $(awk -v s="$STEADY_LISTS" -v n="$CYCLES" 'BEGIN {printf "%.2f", s / n}') | $NODES GETs ($LENS calls in Lens's 3N + 2N·P) | 0 |
| steady state: all Kubernetes requests per cycle | $per_cycle (watch reconnects) | $NODES | $(awk -v p="$per_cycle" -v n="$NODES" 'BEGIN {if (p > 0) printf "1 : %.0f", n / p; else print "0 vs '"$NODES"'"}') |
| steady state: time in Kubernetes calls per cycle | 0 (events stream in) | $GET_MS ms for $GETS GETs (curl, one connection) | — |
| steady state: spoke CPU per cycle | $CPU_MS_CYCLE ms (snapshot + overview + frame of $NODES nodes) | — | — |
| daemon peak RSS (VmHWM) | $((RSS_KB / 1024)) MiB (target < 128 MiB) | — | — |

Targets (issue 3): steady state 0 list calls per cycle; peak RSS under 128 MiB.

How to run: \`scripts/bench.d/kube.sh build/bin\` (about 3 minutes; \`NODES\`, \`PODS_PER_NODE\`, \`CYCLES\`,
\`INTERVAL\` override the scale). \`./scripts/bench kube\` runs the same script.
The initial sync is paid once per start (and once per kind after a 410); the old way pays its GETs every
cycle. Steady-state CPU is the spoke's whole cycle (snapshot copy under the lock, overview, 5,000-row
frame, signature), measured from /proc over the observed cycles with no hub listening.
MD
cat "$OUT"
