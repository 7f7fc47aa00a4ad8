#!/usr/bin/env bash
# scripts/bench.d/safe.sh — the SaFE sync benchmark (issue 5), runnable alone: syncing ROWS (default
# 100,000) node_statistic rows FleetLens's way (hub_safe_apply: one locked transaction, one SELECT, the
# diff in C, batched UPDATE/INSERT over unnest) beside the SaFE adapter's per-row SELECT-then-UPDATE/INSERT,
# on a private PostgreSQL (initdb in a temp dir). Prints the JSON line of fl-safe-bench and a summary.
# Environment: ROWS, CLUSTERS (default 100), BASELINE_ROWS (default ROWS; fewer extrapolates the
# baseline's time from its measured rate), FSYNC (on, PostgreSQL's default and how a SaFE database
# runs; off as the test servers run), FL_BIN (default build/bin; built if missing).
# Results: bench/SAFE.md.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
cd "$FL_ROOT"
ROWS=${ROWS:-100000}
CLUSTERS=${CLUSTERS:-100}
BASELINE_ROWS=${BASELINE_ROWS:-$ROWS}
FSYNC=${FSYNC:-on}
BIN=${FL_BIN:-$FL_ROOT/build/bin}
fl_install_deps
[ -x "$BIN/fl-safe-bench" ] || { fl_build build -DCMAKE_BUILD_TYPE=RelWithDebInfo; BIN=$FL_ROOT/build/bin; }

T=$(mktemp -d /tmp/fl_safe_bench.XXXXXX)
chmod 755 "$T"
trap 'fl_pg_stop; rm -rf "$T"' EXIT
fl_pg_start "$T/pg" "$([ "$FSYNC" = on ] || echo "-c fsync=off")"
psql -h "$FL_PG_DIR" -U postgres -d postgres -qc "CREATE DATABASE safe" >/dev/null
psql -h "$FL_PG_DIR" -U postgres -d safe -q -v ON_ERROR_STOP=1 -f sql/safe/001_safe_schema.sql >/dev/null
# SaFE's schema has no index at all: without these the baseline's per-row SELECT and UPDATE are
# sequential scans over the whole table. Both ways run with them (FleetLens's statements don't need them).
psql -h "$FL_PG_DIR" -U postgres -d safe -qc "CREATE INDEX ON node_statistic (cluster, node_name); CREATE INDEX ON node_statistic (id)" >/dev/null

fl_say "fl-safe-bench: $ROWS rows over $CLUSTERS clusters (baseline: $BASELINE_ROWS rows), fsync=$(psql -h "$FL_PG_DIR" -U postgres -d safe -tAc 'SHOW fsync')"
out=$("$BIN/fl-safe-bench" --safe-url "host=$FL_PG_DIR user=postgres dbname=safe" --rows "$ROWS" \
	--clusters "$CLUSTERS" --baseline-rows "$BASELINE_ROWS")
echo "$out"
jq -r '"SaFE sync, \(.rows) rows: FleetLens \(.fleetlens_update_ms) ms (\(.fleetlens_rows_per_s) rows/s; a cycle with nothing changed \(.fleetlens_unchanged_cycle_ms) ms; first sync into an empty table \(.fleetlens_insert_ms) ms), SaFE adapter way \(.baseline_full_s) s (\(.baseline_rows_per_s) rows/s over \(.baseline_rows) rows) → \(.ratio)× faster"' <<<"$out"
