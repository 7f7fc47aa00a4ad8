#!/usr/bin/env bash
# The SaFE sync end to end (issue 5), against TWO real PostgreSQL servers: the hub's (database
# fleetlens) and SaFE's (database safe, schema from sql/safe/, no unique key). Real hub(s) with
# safe_sync_interval 1s, real spokes `--once` with the sim source. Checked: values (rounded, clamped),
# only changed rows rewritten while every confirmed row's updated_at advances each cycle (a skipped or
# deleted row's does not), soft deletes, revival, two hubs syncing at once without duplicate rows
# (node_statistic, and workload_statistic by workload_id: the sim's SaFE workloads, hourly rows inserted here),
# a SaFE outage mid-run (server stopped and started: the next cycle fixes it), hostile values (1e9, NaN)
# in one node each leaving every other row right, duplicate rows already in SaFE (lowest id updated).
set -uo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
source "$(dirname "$0")/assert.sh"
source "$(dirname "$0")/lib.sh" # the temp dir, the hub's PostgreSQL, the configs and start-up

fl_it_setup safe
# SaFE's own server beside the hub's, started in a subshell so that FL_PG_DIR and FL_DATABASE_URL stay the
# hub's; stopped before fl_it_cleanup removes T.
SAFE_PG=$T/safe_pg
(fl_pg_start "$SAFE_PG") || fl_die "SaFE's PostgreSQL did not start"
psql -h "$SAFE_PG" -U postgres -d postgres -qc "CREATE DATABASE safe" >/dev/null
psql -h "$SAFE_PG" -U postgres -d safe -q -v ON_ERROR_STOP=1 -f "$FL_ROOT/sql/safe/001_safe_schema.sql" >/dev/null
SAFE_URL="host=$SAFE_PG user=postgres dbname=safe"

ssql() { psql -h "$SAFE_PG" -U postgres -d safe -tAqc "$1"; }
safe_start() { fl_pg_as_owner "$FL_PG_BIN/pg_ctl" -D "$SAFE_PG/data" -l "$SAFE_PG/server.log" -w -t 60 \
	-o "-k $SAFE_PG -c listen_addresses='' -c fsync=off" start >/dev/null; }
safe_stop() { fl_pg_as_owner "$FL_PG_BIN/pg_ctl" -D "$SAFE_PG/data" -m fast -w stop >/dev/null; }
trap '[ -f "$SAFE_PG/data/postmaster.pid" ] && safe_stop 2>/dev/null; fl_it_cleanup' EXIT
metric() { curl -s "$1/metrics" | awk -v m="$2" '$1 == m {print $2}'; }

fl_it_keys alpha beta
hub_yaml() { # hub_yaml FILE [INGEST_PORT API_PORT]: fl_it_hub_config with SaFE's sync every second
	{
		cat <<YAML
  safe_database_url: "this is replaced by FLEETLENS_SAFE_DATABASE_URL"
  safe_sync_interval: 1s
  log_level: debug
YAML
		fl_it_clusters alpha beta
	} | fl_it_hub_config "$@"
}
hub_yaml "$T/clusters.yaml"
# Sim spokes (8 GPUs a node, seed 7) run --once: alpha with 12, 8 and 20 nodes, beta with 5.
fl_it_spoke_config "$T/alpha12.yaml" alpha 12 8 7 "interval: 30s" "ack_timeout: 10s"
fl_it_spoke_config "$T/alpha8.yaml" alpha 8 8 7 "interval: 30s" "ack_timeout: 10s"
fl_it_spoke_config "$T/alpha20.yaml" alpha 20 8 7 "interval: 30s" "ack_timeout: 10s"
fl_it_spoke_config "$T/beta.yaml" beta 5 8 7 "interval: 30s" "ack_timeout: 10s"

# --- config ---------------------------------------------------------------------------------------
printf 'hub:\n  ingest_url: tcp://127.0.0.1:1\n  api_listen: 127.0.0.1:2\n  database_url: x\n  safe_sync_interval: 10ms\nclusters: []\n' >"$T/bad.yaml"
out=$("$BIN/fleetlens-hub" --config "$T/bad.yaml" --check 2>&1)
check_eq "safe_sync_interval below 1s exits 2" 2 $?
check_contains "the error names file:line:col and key" "$T/bad.yaml:5:23: key 'safe_sync_interval'" "$out"

# --- start the hub: the environment's URL replaces the file's -------------------------------------
FLEETLENS_SAFE_DATABASE_URL="$SAFE_URL" fl_it_start_hub
check_eq "sync enabled (metric)" 1 "$(metric "$API" fleetlens_hub_safe_enabled)"
fl_wait_until 60 '[ "$(metric "$API" "fleetlens_hub_safe_sync_total{result=\"ok\"}")" -ge 1 ]'
check_eq "a cycle with no cluster data commits" 0 "$(ssql "SELECT count(*) FROM node_statistic")"
# The hourly rollup (hub_rollup) must not add workload_hourly_stats rows of its own under this test's.
fl_sql "INSERT INTO rollup_hour (stat_hour) SELECT date_trunc('hour', now()) + n * interval '1 hour' FROM generate_series(-400, 3) n ON CONFLICT DO NOTHING"

# --- values: the simulator's nodes reach SaFE, rounded to two decimals -----------------------------
"$BIN/fleetlens-spoke" --config "$T/alpha12.yaml" --once >"$T/spoke.log" 2>&1
check_eq "alpha spoke acknowledged" 0 $?
"$BIN/fleetlens-spoke" --config "$T/beta.yaml" --once >>"$T/spoke.log" 2>&1
check_eq "beta spoke acknowledged" 0 $?
EXPECT_SQL="SELECT coalesce(string_agg(cluster_name || '/' || name || '=' || round(least(greatest(gpu_utilization, 0), 100)::numeric, 2), ',' ORDER BY cluster_name, name), '')
	FROM node_latest_sample WHERE gpu_count > 0 AND gpu_utilization IS NOT NULL AND gpu_utilization <> 'NaN'"
SAFE_SQL="SELECT coalesce(string_agg(cluster || '/' || node_name || '=' || gpu_utilization, ',' ORDER BY cluster, node_name), '')
	FROM node_statistic WHERE deleted_at IS NULL"
expected() { fl_sql "$EXPECT_SQL"; }
got() { ssql "$SAFE_SQL"; }
fl_wait_until 60 '[ "$(got)" == "$(expected)" ]'
check_eq "node_statistic = the hub's GPU nodes, values rounded to 2 decimals" "$(expected)" "$(got)"
check_num "alpha has a row per GPU node with a figure" \
	"$(fl_sql "SELECT count(*) FROM node_latest_sample WHERE cluster_name='alpha' AND gpu_count > 0 AND gpu_utilization IS NOT NULL")" \
	"$(ssql "SELECT count(*) FROM node_statistic WHERE cluster='alpha'")"
check_eq "beta has rows too" 1 "$(ssql "SELECT (count(*) > 0)::int FROM node_statistic WHERE cluster='beta'")"
check_eq "nodes without GPUs (gpu_count 0) get no row" 0 "$(ssql "SELECT count(*) FROM node_statistic WHERE node_name LIKE 'cpu-%'")"
check_eq "created_at and updated_at are set" 0 "$(ssql "SELECT count(*) FROM node_statistic WHERE updated_at IS NULL")"

# --- known values, only changed rows written ----------------------------------------------------------
fl_sql "INSERT INTO node_utilization_history (cluster_name, node_name, sampled_at, gpu_utilization) SELECT cluster_name, name, clock_timestamp(), 10 + (substr(name, 5)::int) + 0.126 FROM node WHERE cluster_name IN ('alpha', 'beta')"
fl_wait_until 60 '[ "$(ssql "SELECT gpu_utilization FROM node_statistic WHERE cluster='"'alpha'"' AND node_name='"'gpu-00003'"'")" == "13.13" ]'
check_eq "a changed value is rewritten, rounded (13.126 → 13.13)" 13.13 \
	"$(ssql "SELECT gpu_utilization FROM node_statistic WHERE cluster='alpha' AND node_name='gpu-00003'")"
fl_wait_until 60 '[ "$(got)" == "$(expected)" ]'
check_eq "every row follows the hub's values" "$(expected)" "$(got)"
# Nothing changes: the values stay, but every row the cycle confirmed gets updated_at = now(), in one
# statement per cycle (operators read updated_at to spot stale rows).
cycles() { # cycles N: waits for N more committed cycles of the first hub
	local want=$(($(metric "$API" "fleetlens_hub_safe_sync_total{result=\"ok\"}") + $1))
	fl_wait_until 60 '[ "$(metric "$API" "fleetlens_hub_safe_sync_total{result=\"ok\"}")" -ge $want ]'
}
cycles 1
vals=$(ssql "SELECT string_agg(id || '=' || gpu_utilization, ',' ORDER BY id) FROM node_statistic")
newest=$(ssql "SELECT max(updated_at) FROM node_statistic")
nrows=$(ssql "SELECT count(*) FROM node_statistic")
upd0=$(metric "$API" 'fleetlens_hub_safe_rows_total{op="update"}')
touch0=$(metric "$API" 'fleetlens_hub_safe_rows_total{op="touch"}')
cycles 2
check_eq "two more cycles with nothing changed: same rows, same values" "$vals" \
	"$(ssql "SELECT string_agg(id || '=' || gpu_utilization, ',' ORDER BY id) FROM node_statistic")"
check_eq "... and every row's updated_at is newer than the newest before them" 0 \
	"$(ssql "SELECT count(*) FROM node_statistic WHERE updated_at <= '$newest'")"
check_eq "... counted as touch (each row, each cycle), not as update" "$upd0 1" \
	"$(metric "$API" 'fleetlens_hub_safe_rows_total{op="update"}') $(( $(metric "$API" 'fleetlens_hub_safe_rows_total{op="touch"}') >= touch0 + 2 * nrows ))"

# --- hostile values: 1e9 and NaN in one node each -------------------------------------------------------
skipped0=$(metric "$API" 'fleetlens_hub_safe_rows_total{op="skipped"}')
fl_sql "INSERT INTO node_utilization_history (cluster_name, node_name, sampled_at, gpu_utilization) SELECT cluster_name, name, clock_timestamp(), 1e9 FROM node WHERE cluster_name='alpha' AND name='gpu-00001'"
fl_sql "INSERT INTO node_utilization_history (cluster_name, node_name, sampled_at, gpu_utilization) SELECT cluster_name, name, clock_timestamp(), 'NaN' FROM node WHERE cluster_name='alpha' AND name='gpu-00002'"
fl_sql "INSERT INTO node_utilization_history (cluster_name, node_name, sampled_at, gpu_utilization) SELECT cluster_name, name, clock_timestamp(), -5 FROM node WHERE cluster_name='alpha' AND name='gpu-00004'"
fl_sql "INSERT INTO node_utilization_history (cluster_name, node_name, sampled_at, gpu_utilization) SELECT cluster_name, name, clock_timestamp(), 55.5 FROM node WHERE cluster_name='alpha' AND name='gpu-00005'"
fl_wait_until 60 '[ "$(ssql "SELECT gpu_utilization FROM node_statistic WHERE cluster='"'alpha'"' AND node_name='"'gpu-00005'"'")" == "55.50" ]'
check_eq "1e9 is clamped to 100.00" 100.00 \
	"$(ssql "SELECT gpu_utilization FROM node_statistic WHERE cluster='alpha' AND node_name='gpu-00001'")"
check_eq "-5 is clamped to 0.00" 0.00 \
	"$(ssql "SELECT gpu_utilization FROM node_statistic WHERE cluster='alpha' AND node_name='gpu-00004'")"
check_eq "NaN is skipped: the node's row keeps its last value and stays live" "12.13|true" \
	"$(ssql "SELECT gpu_utilization || '|' || (deleted_at IS NULL) FROM node_statistic WHERE cluster='alpha' AND node_name='gpu-00002'")"
check_eq "the other nodes in the same batch are right" "$(expected)" "$(got | tr ',' '\n' | grep -v '^alpha/gpu-00002=' | paste -sd,)"
check_eq "the skipped node is counted" 1 \
	"$(( $(metric "$API" 'fleetlens_hub_safe_rows_total{op="skipped"}') > skipped0 ))"
nan_at=$(ssql "SELECT updated_at FROM node_statistic WHERE cluster='alpha' AND node_name='gpu-00002'")
cycles 2
check_eq "the skipped node's row is not confirmed: its updated_at stands still while the others' advance" "$nan_at true" \
	"$(ssql "SELECT (SELECT updated_at FROM node_statistic WHERE cluster='alpha' AND node_name='gpu-00002') || ' ' || (min(updated_at) > '$nan_at') FROM node_statistic WHERE NOT (cluster='alpha' AND node_name='gpu-00002')")"
fl_sql "INSERT INTO node_utilization_history (cluster_name, node_name, sampled_at, gpu_utilization) SELECT cluster_name, name, clock_timestamp(), 12.5 FROM node WHERE cluster_name='alpha' AND name='gpu-00002'"

# --- soft delete and revival ---------------------------------------------------------------------------
ids=$(ssql "SELECT string_agg(id::text, ',' ORDER BY id) FROM node_statistic WHERE cluster='alpha'")
"$BIN/fleetlens-spoke" --config "$T/alpha8.yaml" --once >>"$T/spoke.log" 2>&1
check_eq "alpha with 8 nodes acknowledged" 0 $?
fl_wait_until 60 '[ "$(ssql "SELECT count(*) FROM node_statistic WHERE cluster='"'alpha'"' AND deleted_at IS NOT NULL")" == 4 ]'
check_eq "the 4 nodes that left get deleted_at" "gpu-00008,gpu-00009,gpu-00010,gpu-00011" \
	"$(ssql "SELECT string_agg(node_name, ',' ORDER BY node_name) FROM node_statistic WHERE cluster='alpha' AND deleted_at IS NOT NULL")"
check_eq "beta's rows are untouched by alpha's deletes" 0 \
	"$(ssql "SELECT count(*) FROM node_statistic WHERE cluster='beta' AND deleted_at IS NOT NULL")"
check_eq "soft deletes counted" 4 "$(metric "$API" 'fleetlens_hub_safe_rows_total{op="delete"}')"
del_at=$(ssql "SELECT string_agg(updated_at::text, ',' ORDER BY id) FROM node_statistic WHERE deleted_at IS NOT NULL")
cycles 2
check_eq "deleted rows are not touched: their updated_at stays the deletion's" "$del_at" \
	"$(ssql "SELECT string_agg(updated_at::text, ',' ORDER BY id) FROM node_statistic WHERE deleted_at IS NOT NULL")"
"$BIN/fleetlens-spoke" --config "$T/alpha12.yaml" --once >>"$T/spoke.log" 2>&1
fl_wait_until 60 '[ "$(ssql "SELECT count(*) FROM node_statistic WHERE cluster='"'alpha'"' AND deleted_at IS NOT NULL")" == 0 ]'
check_eq "nodes that came back are revived (deleted_at NULL)" 0 \
	"$(ssql "SELECT count(*) FROM node_statistic WHERE cluster='alpha' AND deleted_at IS NOT NULL")"
check_eq "revival reuses the rows: same ids, no new row" "$ids" \
	"$(ssql "SELECT string_agg(id::text, ',' ORDER BY id) FROM node_statistic WHERE cluster='alpha'")"
check_eq "revivals counted" 4 "$(metric "$API" 'fleetlens_hub_safe_rows_total{op="revive"}')"
fl_wait_until 60 '[ "$(got)" == "$(expected)" ]'
check_eq "after revival every value follows the hub" "$(expected)" "$(got)"

# --- two hubs on one hub DB, syncing into one SaFE at once -----------------------------------------------
API2_PORT=$(fl_free_port)
API2="http://127.0.0.1:$API2_PORT"
hub_yaml "$T/hub2.yaml" "$(fl_free_port)" "$API2_PORT"
HUB1_PID=$HUB_PID
FLEETLENS_SAFE_DATABASE_URL="$SAFE_URL" fl_it_start_hub "$T/hub2.yaml" "$T/hub2.log" "$API2"
HUB2_PID=$HUB_PID HUB_PID=$HUB1_PID
"$BIN/fleetlens-spoke" --config "$T/alpha20.yaml" --once >>"$T/spoke.log" 2>&1
# An hour of rollups for every live SaFE workload (the sim's PyTorchJobs): each gets a workload_statistic row.
fl_sql "INSERT INTO workload_hourly_stats (cluster_name, workload_uid, namespace, workload_name, workload_type,
	workload_status, stat_hour, allocated_gpu_count, requested_gpu_count, avg_utilization, max_utilization,
	min_utilization, p50_utilization, p95_utilization, avg_replica_count, max_replica_count, min_replica_count,
	sample_count) SELECT cluster_name, uid, namespace, name, kind, status, date_trunc('hour', now()) - interval '1 hour',
	1, 1, 30, 70, 0, 30, 70, 1, 1, 1, 60 FROM gpu_workload WHERE safe_workload_id <> '' AND status IN ('Running','Pending')" >/dev/null
ok1=$(metric "$API" "fleetlens_hub_safe_sync_total{result=\"ok\"}")
ok2=$(metric "$API2" "fleetlens_hub_safe_sync_total{result=\"ok\"}")
# Every round both hubs find rows missing at the same time and race to insert them.
for round in 1 2 3; do
	ssql "DELETE FROM node_statistic; DELETE FROM workload_statistic" >/dev/null
	sleep 1.5
done
fl_wait_until 60 '[ "$(metric "$API2" "fleetlens_hub_safe_sync_total{result=\"ok\"}")" -ge $((ok2 + 4)) ]'
check_eq "both hubs ran cycles (hub 1)" 1 "$(( $(metric "$API" "fleetlens_hub_safe_sync_total{result=\"ok\"}") >= ok1 + 4 ))"
check_eq "both hubs ran cycles (hub 2)" 1 "$(( $(metric "$API2" "fleetlens_hub_safe_sync_total{result=\"ok\"}") >= ok2 + 4 ))"
check_eq "two hubs syncing at once leave no duplicate (cluster, node_name)" 0 \
	"$(ssql "SELECT count(*) FROM (SELECT 1 FROM node_statistic GROUP BY cluster, node_name HAVING count(*) > 1) d")"
fl_wait_until 60 '[ "$(got)" == "$(expected)" ]'
check_eq "and every row is right" "$(expected)" "$(got)"
check_num "alpha has its 20 nodes' rows (minus nodes with no figure)" \
	"$(fl_sql "SELECT count(*) FROM node_latest_sample WHERE cluster_name='alpha' AND gpu_count > 0 AND gpu_utilization IS NOT NULL")" \
	"$(ssql "SELECT count(*) FROM node_statistic WHERE cluster='alpha'")"
live_wl=$(fl_sql "SELECT count(DISTINCT safe_workload_id) FROM gpu_workload WHERE safe_workload_id <> '' AND status IN ('Running','Pending')")
check_eq "... nor a duplicate workload_id in workload_statistic" 0 \
	"$(ssql "SELECT count(*) FROM (SELECT 1 FROM workload_statistic GROUP BY workload_id, statistic_type HAVING count(*) > 1) d")"
fl_wait_until 60 '[ "$(ssql "SELECT count(*) FROM workload_statistic")" == "$live_wl" ]'
check_num "and workload_statistic has one row per live SaFE workload ($live_wl), none for the others" "$live_wl" "$(ssql "SELECT count(*) FROM workload_statistic")"
check_eq "... each as its hour says, in its cluster (safe_cluster_id defaults to the name)" \
	"$(fl_sql "SELECT string_agg(x, ',' ORDER BY x COLLATE \"C\") FROM (SELECT DISTINCT cluster_name || '/' || safe_workload_id || '/30.00/70.00/1' AS x FROM gpu_workload WHERE safe_workload_id <> '' AND status IN ('Running','Pending')) d")" \
	"$(ssql "SELECT string_agg(cluster || '/' || workload_id || '/' || avg_gpu_usage_3h || '/' || max_gpu_usage_3h || '/' || data_points_count, ',' ORDER BY cluster || '/' || workload_id COLLATE \"C\") FROM workload_statistic")"
fl_it_stop "$HUB2_PID"

# --- duplicate rows already in SaFE: the lowest id is updated, the others left ---------------------------
fl_sql "INSERT INTO node_utilization_history (cluster_name, node_name, sampled_at, gpu_utilization) SELECT cluster_name, name, clock_timestamp(), 40 FROM node WHERE cluster_name='alpha' AND name='gpu-00006'"
low=$(ssql "SELECT min(id) FROM node_statistic WHERE cluster='alpha' AND node_name='gpu-00006'")
ssql "INSERT INTO node_statistic (cluster, node_name, gpu_utilization) VALUES ('alpha', 'gpu-00006', 1.00)" >/dev/null
fl_sql "INSERT INTO node_utilization_history (cluster_name, node_name, sampled_at, gpu_utilization) SELECT cluster_name, name, clock_timestamp(), 41 FROM node WHERE cluster_name='alpha' AND name='gpu-00006'"
fl_wait_until 60 '[ "$(metric "$API" fleetlens_hub_safe_duplicate_rows)" == 1 ]'
check_eq "duplicate row reported (gauge)" 1 "$(metric "$API" fleetlens_hub_safe_duplicate_rows)"
fl_wait_until 60 '[ "$(ssql "SELECT gpu_utilization FROM node_statistic WHERE id=$low")" == "41.00" ]'
check_eq "the lowest id gets the value, the duplicate is left alone" "41.00 1.00" \
	"$(ssql "SELECT string_agg(gpu_utilization::text, ' ' ORDER BY id) FROM node_statistic WHERE cluster='alpha' AND node_name='gpu-00006'")"
ssql "DELETE FROM node_statistic WHERE cluster='alpha' AND node_name='gpu-00006' AND id <> $low" >/dev/null

# --- a SaFE outage mid-run: counted, the hub keeps serving, the next cycle after it fixes SaFE -------------
safe_stop
fl_sql "INSERT INTO node_utilization_history (cluster_name, node_name, sampled_at, gpu_utilization) SELECT cluster_name, name, clock_timestamp(), 77.7 FROM node WHERE cluster_name='beta'"
err0=$(metric "$API" "fleetlens_hub_safe_sync_total{result=\"error\"}")
fl_wait_until 60 '[ "$(metric "$API" "fleetlens_hub_safe_sync_total{result=\"error\"}")" -ge $((err0 + 2)) ]'
check_eq "failed cycles are counted" 1 "$(( $(metric "$API" "fleetlens_hub_safe_sync_total{result=\"error\"}") >= err0 + 2 ))"
check_eq "the hub keeps serving during the outage" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$API/v1/clusters")"
check_eq "the failure is logged, rate-limited (one line per minute)" 1 "$(grep -c 'safe sync failed' "$T/hub.log")"
safe_start
fl_wait_until 60 '[ "$(got)" == "$(expected)" ]'
check_eq "after SaFE is back the next cycle brings every row up to date" "$(expected)" "$(got)"
check_eq "beta's new values arrived" "77.70" \
	"$(ssql "SELECT DISTINCT gpu_utilization FROM node_statistic WHERE cluster='beta'")"
check_contains "recovery is logged" "safe sync recovered after" "$(cat "$T/hub.log")"
now=$(date +%s)
check_eq "last success time is recent" 1 \
	"$(awk -v n="$now" '$1=="fleetlens_hub_safe_last_success_timestamp_seconds" {print ($2 > n - 120) ? 1 : 0}' <(curl -s "$API/metrics"))"

# --- a hub stopping while its cycle waits on another writer's lock exits at once (the cycle is cancelled) --------
psql -h "$SAFE_PG" -U postgres -d safe -qc "SELECT pg_advisory_lock(1179415398, 1), pg_sleep(30)" >/dev/null 2>&1 &
LOCK_PID=$!
# Driven, not slept: wait until the hub's cycle is blocked on that advisory lock.
fl_wait_until 60 '[ "$(ssql "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = '"'Lock'"' AND wait_event = '"'advisory'"'")" -ge 1 ]'
check_eq "the hub's sync cycle waits on the other writer's lock" 0 $?
t0=$(date +%s%N)
fl_it_stop_hub
# The lock is held for 30 s: a hub that waited for it would take that long; 15 s is room for a loaded machine.
check_eq "the hub stops well before the lock is released (under 15 s) though its cycle was waiting" 1 "$(( ($(date +%s%N) - t0) < 15000000000 ))"
kill "$LOCK_PID" 2>/dev/null; wait "$LOCK_PID" 2>/dev/null
ssql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()" >/dev/null

# --- turned off by an empty FLEETLENS_SAFE_DATABASE_URL ------------------------------------------------------
out=$(FLEETLENS_SAFE_DATABASE_URL="" "$BIN/fleetlens-hub" --config "$T/clusters.yaml" --check 2>&1)
check_eq "an empty FLEETLENS_SAFE_DATABASE_URL is accepted" 0 $?

[ "$FL_FAIL" -eq 0 ] || { echo "--- hub log"; tail -40 "$T/hub.log"; }
fl_done
