#!/usr/bin/env bash
# scripts/bench.d/scale.sh — one hub against many spokes (issue 8): fl-load-bench (bench/load_bench.c)
# runs CLUSTERS simulated spokes in one process against one fleetlens-hub on a private PostgreSQL:
# a full-snapshot storm (every cluster at once), CYCLES steady cycles of deltas (CHANGED % of the nodes
# per cycle, spread over INTERVAL_MS; by default 100 %: in a busy GPU cluster every GPU's utilization,
# power and temperature move every cycle, so a delta carries every node; CHANGED=10 is the lighter
# steady state measured before issue 13), and a reconnect storm (new spoke ids, full frames again: the
# facts the hub holds, new samples). Reports
# node rows committed per second, send-to-ack latency (p50/p99), hub CPU and peak RSS, the database's
# size, and beside it the per-row baseline (fl-load-bench baseline: one upsert statement per node row
# and per GPU row, each its own transaction).
# Environment: CLUSTERS (100), NODES (5000 per cluster), GPUS (8 per node), CYCLES (2), INTERVAL_MS
# (30000), CHANGED (100), WORKERS (hub.ingest_workers, 4), BASELINE_ROWS (20000), FSYNC (on), FL_BIN.
# Results: the JSON lines and a summary on stdout, and in .state/bench/scale.json; bench/SCALE.md says
# what was measured here.
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
cd "$FL_ROOT"
CLUSTERS=${CLUSTERS:-100}
NODES=${NODES:-5000}
GPUS=${GPUS:-8}
CYCLES=${CYCLES:-2}
INTERVAL_MS=${INTERVAL_MS:-30000}
CHANGED=${CHANGED:-100}
WORKERS=${WORKERS:-4}
BASELINE_ROWS=${BASELINE_ROWS:-20000}
FSYNC=${FSYNC:-on}
BIN=${FL_BIN:-$FL_ROOT/build/bin}
OUT=${FL_BENCH_OUT:-$FL_ROOT/.state/bench}
fl_install_deps
[ -x "$BIN/fl-load-bench" ] || { fl_build build -DCMAKE_BUILD_TYPE=RelWithDebInfo; BIN=$FL_ROOT/build/bin; }
mkdir -p "$OUT"

T=$(mktemp -d /tmp/fl_scale.XXXXXX)
chmod 755 "$T"
cleanup() {
	[ -n "${HUB_PID:-}" ] && kill "$HUB_PID" 2>/dev/null && wait "$HUB_PID" 2>/dev/null
	fl_pg_stop
	rm -rf "$T"
}
trap cleanup EXIT
fl_pg_start "$T/pg" "-c max_wal_size=4GB$([ "$FSYNC" = on ] || echo " -c fsync=off")"

INGEST_PORT=$(fl_free_port)
API_PORT=$(fl_free_port)
{
	cat <<YAML
hub:
  ingest_url: tcp://127.0.0.1:$INGEST_PORT
  api_listen: 127.0.0.1:$API_PORT
  database_url: "$FL_DATABASE_URL"
  ingest_workers: $WORKERS
  migrations_dir: $FL_ROOT/sql/hub
  web_dir: $FL_ROOT/web
clusters:
YAML
	for ((c = 0; c < CLUSTERS; c++)); do
		name=$(printf 'load-%03d' "$c")
		fl_make_key "$T/keys/$name.key"
		printf '  - name: %s\n    key_file: keys/%s.key\n' "$name" "$name"
	done
} >"$T/clusters.yaml"
"$BIN/fleetlens-hub" --config "$T/clusters.yaml" >"$T/hub.log" 2>&1 &
HUB_PID=$!
fl_wait_http "http://127.0.0.1:$API_PORT/healthz" 60 || { tail -20 "$T/hub.log"; fl_die "the hub did not start"; }

cpu_s() { awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$1/stat"; } # utime + stime, USER_HZ = 100
kib() { awk -v k="$2" '$1 == k ":" {print $2}' "/proc/$1/status"; }
fl_say "fl-load-bench: $CLUSTERS clusters x $NODES nodes x $GPUS GPUs, $CYCLES cycles of ${INTERVAL_MS} ms with $CHANGED % changed, fsync=$FSYNC, $WORKERS ingest workers"
cpu0=$(cpu_s "$HUB_PID")
t0=$(date +%s.%N)
"$BIN/fl-load-bench" load --url "tcp://127.0.0.1:$INGEST_PORT" --clusters "$CLUSTERS" --nodes "$NODES" \
	--gpus "$GPUS" --key-dir "$T/keys" --cycles "$CYCLES" --interval-ms "$INTERVAL_MS" --changed "$CHANGED" \
	>"$T/load.jsonl"
rc=$?
t1=$(date +%s.%N)
cpu1=$(cpu_s "$HUB_PID")
cat "$T/load.jsonl"
[ "$rc" -eq 0 ] || { tail -20 "$T/hub.log"; fl_die "fl-load-bench: not every frame was acknowledged"; }
rss_peak=$(kib "$HUB_PID" VmHWM)
rss_now=$(kib "$HUB_PID" VmRSS)
view=$(curl -s "http://127.0.0.1:$API_PORT/metrics" | awk '$1 == "fleetlens_hub_view_bytes" {print $2}')
nodes_db=$(fl_sql "SELECT count(*) FROM node")
gpus_db=$(fl_sql "SELECT count(*) FROM gpu_device")
db_bytes=$(fl_sql "SELECT pg_database_size('fleetlens')")
base=$("$BIN/fl-load-bench" baseline --db "$FL_DATABASE_URL" --rows "$BASELINE_ROWS" --gpus "$GPUS")
echo "$base"
held=$((CLUSTERS * NODES))
jq -n -c --slurpfile phases <(cat "$T/load.jsonl") --argjson base "$base" \
	--arg cpu "$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN {printf "%.2f", b - a}')" --arg wall "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')" \
	--argjson peak "$rss_peak" --argjson now "$rss_now" --argjson view "${view:-0}" --argjson held "$held" \
	--argjson nodes_db "$nodes_db" --argjson gpus_db "$gpus_db" --argjson db "$db_bytes" \
	--arg fsync "$FSYNC" --argjson workers "$WORKERS" \
	'{phases: $phases, baseline: $base, hub_cpu_s: ($cpu | tonumber), wall_s: ($wall | tonumber),
	  hub_rss_peak_kib: $peak, hub_rss_end_kib: $now, view_bytes: $view, nodes_held: $held,
	  rss_peak_bytes_per_node: ($peak * 1024 / $held | floor), rss_end_bytes_per_node: ($now * 1024 / $held | floor),
	  view_bytes_per_node: ($view / $held | floor), node_rows_in_db: $nodes_db, gpu_rows_in_db: $gpus_db,
	  db_bytes: $db, fsync: $fsync, ingest_workers: $workers}' >"$OUT/scale.json"
jq -r 'def ph(n): (.phases[] | select(.phase == n));
       "storm: \(ph("storm").node_rows) node rows (+\(ph("storm").gpu_rows) GPU rows) in \(ph("storm").seconds) s = \(ph("storm").node_rows_per_s) node rows/s, latency p50 \(ph("storm").p50_ms) ms p99 \(ph("storm").p99_ms) ms",
       (ph("steady") | "steady (\(.changed_pct) % of the nodes changed per cycle): \(.node_rows) changed node rows over \(.cycles) × \(.interval_ms) ms = \(.offered_node_rows_per_s) node rows/s offered, latency p50 \(.p50_ms) ms p99 \(.p99_ms) ms"),
       "reconnect storm: \(ph("reconnect").node_rows_per_s) node rows/s, p99 \(ph("reconnect").p99_ms) ms",
       "per-row baseline (a statement per node row and per GPU row): \(.baseline.rows_per_s) node rows/s → storm/baseline \((ph("storm").node_rows_per_s / .baseline.rows_per_s * 10 | round) / 10)×",
       "hub: \(.hub_cpu_s) CPU s over \(.wall_s) s; RSS peak \(.hub_rss_peak_kib) KiB (\(.rss_peak_bytes_per_node) B/node held), at the end \(.hub_rss_end_kib) KiB (\(.rss_end_bytes_per_node) B/node; view \(.view_bytes_per_node) B/node)",
       "database: \(.node_rows_in_db) node rows, \(.gpu_rows_in_db) GPU rows, \(.db_bytes / 1048576 | floor) MiB"' "$OUT/scale.json"
[ "$nodes_db" -eq "$held" ] || fl_die "the database holds $nodes_db node rows, not $held"
