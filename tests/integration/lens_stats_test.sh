#!/usr/bin/env bash
# The Lens face's time series and hourly statistics (issue 12) end to end: a real PostgreSQL, the real hub,
# real spokes `--once` (sim source) for two clusters, and samples of past hours written with SQL. Checked:
# the hourly rollup (cluster, namespace and workload rows: averages, percentiles, counts; every completed
# hour of the retention recorded once, newest first; the counter and the log line), the retention of the
# rollups and of gpu_pod_history, and the routes /nodes/{name}/utilizationHistory,
# /nodes/gpuUtilizationHistory, /workloads/gpuUtilizationHistory, /pods/{uid}/gpu-history,
# /gpu-aggregation/cluster/hourly-stats, /gpu-aggregation/namespaces and
# /gpu-aggregation/workloads/hourly-stats field by field (names, JSON types, units, pagination, order, the
# 4001/4004/5000 answers).
set -uo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
source "$(dirname "$0")/assert.sh"
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/openapi.sh" # records every API answer (validated at the end)

fl_it_setup lens_stats
openapi_record "$T/openapi"
fl_it_keys alpha beta
# node_lost_after 1s: the maintenance thread wakes every 250 ms, so a restarted hub catches up on its
# rollups within seconds.
fl_it_hub_config "$T/clusters.yaml" <<YAML
  history_retention: 3d
  rollup_retention: 3d
  node_lost_after: 1s
$(fl_it_clusters alpha beta)
YAML
fl_it_spoke_config "$T/alpha.yaml" alpha 4 8 7 "interval: 30s" "ack_timeout: 10s"
fl_it_spoke_config "$T/beta.yaml" beta 3 8 9 "interval: 30s" "ack_timeout: 10s"

FL_DIAG_LOGS="$T/hub.log $T/spoke.log"
metric() { curl -s "$API/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
# lens PATH: GET /lens/v1PATH into $T/body; prints the HTTP status.
lens() { curl -s -o "$T/body" -w '%{http_code}' "$API/lens/v1$1"; }
j() { jq -c "$1" "$T/body"; }
jr() { jq -r "$1" "$T/body"; }
# meta PATH: "HTTP-status code message" of a Lens answer.
meta() { local s; s=$(lens "$1"); echo "$s $(jr '"\(.meta.code) \(.meta.message)"')"; }

fl_it_start_hub
"$BIN/fleetlens-spoke" --config "$T/alpha.yaml" --once >"$T/spoke.log" 2>&1
check_eq "alpha --once is acknowledged" 0 $?
"$BIN/fleetlens-spoke" --config "$T/beta.yaml" --once >>"$T/spoke.log" 2>&1
check_eq "beta --once is acknowledged" 0 $?
check_eq "each committed overview frame appends one cluster sample" "alpha=1,beta=1" \
	"$(fl_sql "SELECT string_agg(cluster_name || '=' || n, ',' ORDER BY cluster_name) FROM (SELECT cluster_name, count(*) n FROM cluster_sample_history GROUP BY 1) x")"
check_eq "... holding the overview's figures" "ok" \
	"$(fl_sql "SELECT CASE WHEN bool_and(s.gpus_allocatable = o.gpus_allocatable AND s.gpus_allocated = o.gpus_allocated AND s.allocation_rate = o.allocation_rate) THEN 'ok' ELSE 'differs' END FROM cluster_sample_history s JOIN cluster_overview_cache o USING (cluster_name)")"

# --- samples of two past hours, written with SQL ------------------------------------------------------------------
NOW=$(date +%s)
H2=$((NOW / 3600 * 3600 - 7200)) # two hours ago, completed whatever the minute
H3=$((H2 - 3600))
at() { echo "to_timestamp($1)"; }
# The node of a real alpha pod: /pods/{uid}/gpu-history reads its samples.
POD=$(fl_sql "SELECT uid FROM gpu_pod WHERE cluster_name='alpha' AND node_name <> '' ORDER BY uid LIMIT 1")
POD_NAME=$(fl_sql "SELECT name FROM gpu_pod WHERE cluster_name='alpha' AND uid='$POD'")
N1=$(fl_sql "SELECT node_name FROM gpu_pod WHERE cluster_name='alpha' AND uid='$POD'")
N2=lens-other-node
fl_sql "INSERT INTO cluster_sample_history VALUES
	('alpha', $(at $((H2 + 600))), 32, 8, 25, 40), ('alpha', $(at $((H2 + 1200))), 32, 16, 50, 60),
	('alpha', $(at $((H2 + 1800))), 24, 12, 50, NULL),
	('alpha', $(at $((H3 + 60))), 16, 4, 25, 10),
	('beta', $(at $((H2 + 300))), 8, 2, 25, 70)"
fl_sql "INSERT INTO node_utilization_history VALUES
	('alpha', '$N1', $(at $((H2 + 600))), 10), ('alpha', '$N1', $(at $((H2 + 1200))), 20),
	('alpha', '$N1', $(at $((H2 + 1800))), 30), ('alpha', '$N1', $(at $((H2 + 2400))), 40),
	('alpha', '$N2', $(at $((H2 + 600))), 50),
	('beta', 'b-node', $(at $((H2 + 300))), 70), ('beta', 'b-node', $(at $((H2 + 900))), 90)"
# Three workloads of our own (the spoke sent its frames already; none follows to mark these Deleted).
fl_sql "INSERT INTO gpu_workload (cluster_name, uid, kind, api_version, namespace, name, status, gpu_request, pods, created_at) VALUES
	('alpha', 'lw-1', 'PyTorchJob', 'kubeflow.org/v1', 'lens-a', 'lens-train-big', 'Running', 6, 3, now() - interval '1 day'),
	('alpha', 'lw-2', 'Deployment', 'apps/v1', 'lens-a', 'lens-serve', 'Running', 2, 1, now() - interval '1 day'),
	('alpha', 'lw-3', 'PyTorchJob', 'kubeflow.org/v1', 'lens-b', 'lens-train-small', 'Done', 1, 0, now() - interval '2 days'),
	('alpha', 'lw-4', 'PyTorchJob', 'kubeflow.org/v1', 'lens-b', 'lens-train-old', 'Done', 1, 0, now() - interval '3 days')"
# lw-1: requests 4, 8 and (a sample written before 007_lens.sql: NULL) the row's 6; pods 1, 2, 3.
fl_sql "INSERT INTO workload_utilization_history VALUES
	('alpha', 'lw-1', $(at $((H2 + 600))), 20, 4, 1), ('alpha', 'lw-1', $(at $((H2 + 1200))), 40, 8, 2),
	('alpha', 'lw-1', $(at $((H2 + 1800))), 60, NULL, NULL),
	('alpha', 'lw-2', $(at $((H2 + 600))), 80, 2, 1),
	('alpha', 'lw-3', $(at $((H3 + 600))), 30, 1, 1)"
# Samples without a figure (the node or the Running workload was there, unmeasured: 010_workload_samples.sql,
# 009), in the current hour, which no rollup asserted here reads: every series and statistic leaves them out.
CUR=$((NOW / 3600 * 3600))
fl_sql "INSERT INTO node_utilization_history (cluster_name, node_name, sampled_at, gpu_utilization) VALUES ('alpha', '$N1', $(at $CUR), NULL);
	INSERT INTO workload_utilization_history VALUES ('alpha', 'lw-2', $(at $CUR), NULL, 2, 1)"

# --- the rollup: rollup_hour cleared, the hub restarted -------------------------------------------------------------
# Rows past the retention (3 days) go at the upkeep; those within it stay.
OLD=$((NOW / 3600 * 3600 - 4 * 86400))
fl_sql "INSERT INTO gpu_pod_history (cluster_name, uid, namespace, name, node_name, gpus, phase, workload_uid,
	created_at, ended_at) VALUES
	('alpha', 'gone-old', 'lens-a', 'old-pod', '$N1', 1, 'Succeeded', 'lw-1', now() - interval '5 days', now() - interval '4 days'),
	('alpha', 'gone-new', 'lens-a', 'new-pod', '$N1', 2, 'Succeeded', 'lw-1', now() - interval '5 hours', now() - interval '1 hour')"
fl_it_stop_hub
fl_sql "DELETE FROM rollup_hour; DELETE FROM cluster_hourly_stats; DELETE FROM namespace_hourly_stats; DELETE FROM workload_hourly_stats"
fl_sql "INSERT INTO rollup_hour VALUES ($(at $OLD));
	INSERT INTO cluster_hourly_stats (cluster_name, stat_hour, total_gpu_capacity, allocated_gpu_count, allocation_rate, sample_count) VALUES ('alpha', $(at $OLD), 1, 1, 1, 0);
	INSERT INTO namespace_hourly_stats (cluster_name, namespace, stat_hour, allocated_gpu_count, avg_utilization, max_utilization, min_utilization, p50_utilization, p95_utilization, sample_count) VALUES ('alpha', 'old-ns', $(at $OLD), 1, 1, 1, 1, 1, 1, 1);
	INSERT INTO workload_hourly_stats (cluster_name, workload_uid, namespace, workload_name, workload_type, workload_status, stat_hour, allocated_gpu_count, requested_gpu_count, avg_utilization, max_utilization, min_utilization, p50_utilization, p95_utilization, avg_replica_count, max_replica_count, min_replica_count, sample_count) VALUES ('alpha', 'lw-4', 'lens-b', 'lens-train-old', 'PyTorchJob', 'Done', $(at $OLD), 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)"
fl_it_start_hub
# The hours the hub must record: those starting within the retention and ended 60 s ago.
want_hours() { fl_sql "SELECT count(*) FROM generate_series(to_timestamp(ceil(extract(epoch FROM now() - interval '3 days') / 3600) * 3600), to_timestamp(floor((extract(epoch FROM now()) - 60) / 3600) * 3600 - 3600), interval '1 hour')"; }
fl_wait_until 60 '[ "$(fl_sql "SELECT count(*) FROM rollup_hour")" == "$(want_hours)" ]'
check_eq "every completed hour of the retention is recorded in rollup_hour" "$(want_hours)" \
	"$(fl_sql "SELECT count(*) FROM rollup_hour")"
check_eq "... none that is not completed 60 s ago or starts before the retention" 0 \
	"$(fl_sql "SELECT count(*) FROM rollup_hour WHERE stat_hour + interval '1 hour' > now() - interval '60 seconds' OR stat_hour < now() - interval '3 days'")"
check_eq "... each on the hour" 0 "$(fl_sql "SELECT count(*) FROM rollup_hour WHERE extract(epoch FROM stat_hour)::bigint % 3600 <> 0")"
check_num "fleetlens_hub_rollup_hours_total counts them" "$(want_hours)" "$(metric fleetlens_hub_rollup_hours_total)"
check_contains "the rollup is logged" "hours into the hourly statistics" "$(cat "$T/hub.log")"
check_eq "the past-retention rollups and rollup_hour row are deleted" "0 0 0 0" \
	"$(fl_sql "SELECT (SELECT count(*) FROM rollup_hour WHERE stat_hour = $(at $OLD)) || ' ' || (SELECT count(*) FROM cluster_hourly_stats WHERE stat_hour = $(at $OLD)) || ' ' || (SELECT count(*) FROM namespace_hourly_stats WHERE stat_hour = $(at $OLD)) || ' ' || (SELECT count(*) FROM workload_hourly_stats WHERE stat_hour = $(at $OLD))")"
check_eq "gpu_pod_history: the pod that ended 4 days ago is deleted, the one of an hour ago kept" "gone-new" \
	"$(fl_sql "SELECT string_agg(uid, ',') FROM gpu_pod_history WHERE uid LIKE 'gone-%'")"

# The cluster rows: only hours with overview samples have one.
check_eq "cluster rows: alpha's two hours, beta's one" "alpha@$H3,alpha@$H2,beta@$H2" \
	"$(fl_sql "SELECT string_agg(cluster_name || '@' || extract(epoch FROM stat_hour)::bigint, ',' ORDER BY cluster_name, stat_hour) FROM cluster_hourly_stats")"
row() { fl_sql "SELECT $2 FROM $1 WHERE $3"; }
CR="cluster_name='alpha' AND stat_hour=$(at $H2)"
check_eq "alpha H2: capacity = the largest allocatable, allocated and rate = the means" "32 12 41.6667" \
	"$(row cluster_hourly_stats "total_gpu_capacity || ' ' || allocated_gpu_count || ' ' || round(allocation_rate::numeric, 4)" "$CR")"
# node samples 10 20 30 40 50: p95 = 40 + 0.8 × 10
check_eq "alpha H2: avg max min p50 p95 of the node samples, and their count" "30 50 10 30 48 5" \
	"$(row cluster_hourly_stats "avg_utilization || ' ' || max_utilization || ' ' || min_utilization || ' ' || p50_utilization || ' ' || round(p95_utilization::numeric, 6)::float8 || ' ' || sample_count" "$CR")"
check_eq "alpha H3 (no node samples): utilization NULL, sample_count 0" "1 0 16 4" \
	"$(row cluster_hourly_stats "(avg_utilization IS NULL AND p95_utilization IS NULL)::int::text || ' ' || sample_count || ' ' || total_gpu_capacity || ' ' || allocated_gpu_count" "cluster_name='alpha' AND stat_hour=$(at $H3)")"
check_eq "beta H2: its own samples only" "8 2 80 90 70 2" \
	"$(row cluster_hourly_stats "total_gpu_capacity || ' ' || allocated_gpu_count || ' ' || avg_utilization || ' ' || max_utilization || ' ' || min_utilization || ' ' || sample_count" "cluster_name='beta'")"
# Workload rows: lw-1 (requests 4, 8, 6; pods 1, 2, 3; utilization 20 40 60), lw-2, lw-3 (H3).
check_eq "workload rows: one per workload and hour with samples" "lw-3@$H3,lw-1@$H2,lw-2@$H2" \
	"$(fl_sql "SELECT string_agg(workload_uid || '@' || extract(epoch FROM stat_hour)::bigint, ',' ORDER BY stat_hour, workload_uid) FROM workload_hourly_stats")"
WR="workload_uid='lw-1'"
check_eq "lw-1: names, kind, status from gpu_workload" "lens-a lens-train-big PyTorchJob Running" \
	"$(row workload_hourly_stats "namespace || ' ' || workload_name || ' ' || workload_type || ' ' || workload_status" "$WR")"
check_eq "lw-1: allocated = mean request (a NULL sample takes the row's 6), requested = the largest" "6 8" \
	"$(row workload_hourly_stats "allocated_gpu_count || ' ' || requested_gpu_count" "$WR")"
check_eq "lw-1: avg max min p50 p95 utilization, samples" "40 60 20 40 58 3" \
	"$(row workload_hourly_stats "avg_utilization || ' ' || max_utilization || ' ' || min_utilization || ' ' || p50_utilization || ' ' || round(p95_utilization::numeric, 6)::float8 || ' ' || sample_count" "$WR")"
check_eq "lw-1: replicas avg max min (a NULL sample takes the row's 3)" "2 3 1" \
	"$(row workload_hourly_stats "avg_replica_count || ' ' || max_replica_count || ' ' || min_replica_count" "$WR")"
# Namespace lens-a at H2: requests 4+8+6+2 over 3 sample times; utilization 20 40 60 80.
check_eq "namespace rows: one per namespace and hour" "lens-b@$H3,lens-a@$H2" \
	"$(fl_sql "SELECT string_agg(namespace || '@' || extract(epoch FROM stat_hour)::bigint, ',' ORDER BY stat_hour, namespace) FROM namespace_hourly_stats")"
check_eq "lens-a: allocated = Σ requests ÷ sample times; avg max min p50 p95; samples" "6.6667 50 80 20 50 77 4" \
	"$(row namespace_hourly_stats "round(allocated_gpu_count::numeric, 4) || ' ' || avg_utilization || ' ' || max_utilization || ' ' || min_utilization || ' ' || p50_utilization || ' ' || round(p95_utilization::numeric, 6)::float8 || ' ' || sample_count" "namespace='lens-a'")"

# An hour is rolled up once: a row deleted by hand is not written again by the next hub, which rolls up
# only the hour taken out of rollup_hour (H4: no samples, so no rows).
H4=$((H3 - 3600))
fl_sql "DELETE FROM workload_hourly_stats WHERE workload_uid='lw-2'; DELETE FROM rollup_hour WHERE stat_hour = $(at $H4)"
fl_it_stop_hub
fl_it_start_hub
fl_wait_until 60 '[ "$(fl_sql "SELECT count(*) FROM rollup_hour WHERE stat_hour = $(at $H4)")" == 1 ]'
check_eq "a restarted hub rolls up only the hour missing from rollup_hour" "1 0 0" \
	"$(metric fleetlens_hub_rollup_hours_total) $(fl_sql "SELECT count(*) FROM workload_hourly_stats WHERE workload_uid='lw-2'") $(fl_sql "SELECT count(*) FROM cluster_hourly_stats WHERE stat_hour = $(at $H4)")"
fl_sql "INSERT INTO workload_hourly_stats (cluster_name, workload_uid, namespace, workload_name, workload_type, workload_status, stat_hour, allocated_gpu_count, requested_gpu_count, avg_utilization, max_utilization, min_utilization, p50_utilization, p95_utilization, avg_replica_count, max_replica_count, min_replica_count, sample_count) VALUES ('alpha', 'lw-2', 'lens-a', 'lens-serve', 'Deployment', 'Running', $(at $H2), 2, 2, 80, 80, 80, 80, 80, 1, 1, 1, 1)"

# --- /gpu-aggregation/cluster/hourly-stats ----------------------------------------------------------------------------
R="start_time=$(iso $H3)&end_time=$(iso $H2)"
check_eq "cluster hourly-stats answers 2000" "200 2000 OK" "$(meta "/gpu-aggregation/cluster/hourly-stats?$R")"
check_eq "the envelope carries tracing null" "null" "$(j '.tracing')"
check_eq "wrapper: total, page (0: not sent), page_size 10000, total_pages" '{"total":2,"page":0,"page_size":10000,"total_pages":1}' \
	"$(j '.data | {total, page, page_size, total_pages}')"
check_eq "row fields, Lens's names and order" \
	"id,cluster_name,stat_hour,total_gpu_capacity,allocated_gpu_count,allocation_rate,avg_utilization,max_utilization,min_utilization,p50_utilization,p95_utilization,sample_count,created_at,updated_at" \
	"$(jr '.data.data[1] | keys_unsorted | join(",")')"
check_eq "row types" "number string string number number number number number number number number number string string" \
	"$(jr '.data.data[1] | [.[] | type] | join(" ")')"
check_eq "default cluster (the first in the file), ascending stat_hour (RFC 3339), both ends inclusive" \
	"alpha $(iso $H3),alpha $(iso $H2)" "$(jr '[.data.data[] | "\(.cluster_name) \(.stat_hour)"] | join(",")')"
check_eq "H2's figures (%, GPUs, samples)" '[32,12,41.666666666666664,30,50,10,30,48,5]' \
	"$(j '.data.data[1] | [.total_gpu_capacity, .allocated_gpu_count, .allocation_rate, .avg_utilization, .max_utilization, .min_utilization, .p50_utilization, (.p95_utilization * 1e6 | round / 1e6), .sample_count]')"
check_eq "an hour without node samples: utilization 0 as Lens answers (the console formats it), sample_count 0" '[0,0,0]' \
	"$(j '.data.data[0] | [.avg_utilization, .p95_utilization, .sample_count]')"
check_eq "id is the table's" "$(fl_sql "SELECT id FROM cluster_hourly_stats WHERE $CR")" "$(j '.data.data[1].id')"
check_eq "created_at and updated_at are RFC 3339" "true" \
	"$(j '[.data.data[] | .created_at, .updated_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z$")] | all')"
lens "/gpu-aggregation/cluster/hourly-stats?start_time=$(iso $H2)&end_time=$(iso $H2)" >/dev/null
check_eq "start_time = end_time = the hour: that row (inclusive)" "1 $(iso $H2)" "$(jr '"\(.data.total) \(.data.data[0].stat_hour)"')"
lens "/gpu-aggregation/cluster/hourly-stats?start_time=$(iso $((H2 + 1)))&end_time=$(iso $((H2 + 3599)))" >/dev/null
check_eq "a range inside the hour holds no stat_hour" '0 []' "$(jr '"\(.data.total) \(.data.data | tojson)"')"
lens "/gpu-aggregation/cluster/hourly-stats?$R&order_by=utilization&order_direction=desc" >/dev/null
check_eq "order_by=utilization&order_direction=desc: the highest average first (none last)" "30,0" \
	"$(jr '[.data.data[].avg_utilization | tostring] | join(",")')"
lens "/gpu-aggregation/cluster/hourly-stats?$R&order_direction=desc" >/dev/null
check_eq "order_direction=desc alone: newest hour first" "$(iso $H2),$(iso $H3)" "$(jr '[.data.data[].stat_hour] | join(",")')"
lens "/gpu-aggregation/cluster/hourly-stats?$R&order_by=bogus&order_direction=sideways" >/dev/null
check_eq "other order_by / order_direction: stat_hour ascending" "$(iso $H3),$(iso $H2)" "$(jr '[.data.data[].stat_hour] | join(",")')"
lens "/gpu-aggregation/cluster/hourly-stats?$R&cluster=beta" >/dev/null
check_eq "?cluster=beta: beta's row" "beta 70 80" "$(jr '.data.data[0] | "\(.cluster_name) \(.min_utilization) \(.avg_utilization)"')"
lens "/gpu-aggregation/cluster/hourly-stats?$R&page=2&page_size=1" >/dev/null
check_eq "page 2 (page_size ignored): no rows, full total, page echoed" '{"total":2,"page":2,"page_size":10000,"total_pages":1,"n":0}' \
	"$(j '.data | {total, page, page_size, total_pages, n: (.data | length)}')"
# 1,500 rows of beta in 2020: pages of 1,000.
fl_sql "INSERT INTO cluster_hourly_stats (cluster_name, stat_hour, total_gpu_capacity, allocated_gpu_count, allocation_rate, sample_count) SELECT 'beta', timestamptz '2020-01-01 00:00Z' + k * interval '1 hour', 8, 1, 12.5, k FROM generate_series(0, 1499) k"
P="/gpu-aggregation/cluster/hourly-stats?cluster=beta&start_time=2020-01-01T00:00:00Z&end_time=2020-12-31T00:00:00Z"
lens "$P" >/dev/null
check_eq "1,500 rows: total 1500, total_pages 2, 1,000 rows answered" "1500 2 1000 0 999" \
	"$(jr '"\(.data.total) \(.data.total_pages) \(.data.data | length) \(.data.data[0].sample_count) \(.data.data[-1].sample_count)"')"
lens "$P&page=2" >/dev/null
check_eq "page=2: the last 500" "2 500 1000 1499" "$(jr '"\(.data.page) \(.data.data | length) \(.data.data[0].sample_count) \(.data.data[-1].sample_count)"')"
lens "$P&page=1&order_direction=desc" >/dev/null
check_eq "page=1 desc: the newest 1,000" "1 1499" "$(jr '"\(.data.page) \(.data.data[0].sample_count)"')"
check_eq "start_time absent → 4001" "200 4001 Invalid start_time format" "$(meta "/gpu-aggregation/cluster/hourly-stats?end_time=$(iso $H2)")"
check_eq "start_time not RFC 3339 → 4001" "200 4001 Invalid start_time format" "$(meta "/gpu-aggregation/cluster/hourly-stats?start_time=$H2&end_time=$(iso $H2)")"
check_eq "end_time absent → 4001" "200 4001 Invalid end_time format" "$(meta "/gpu-aggregation/cluster/hourly-stats?start_time=$(iso $H2)")"
check_eq "page=abc → 5000" "200 5000 Unknown error" "$(meta "/gpu-aggregation/cluster/hourly-stats?$R&page=abc")"
check_eq "unknown cluster → the dispatcher's 4004" "200 4004 ClientSet for cluster nope not found" \
	"$(meta "/gpu-aggregation/cluster/hourly-stats?$R&cluster=nope")"
PLUS2=$(iso $((H3 + 7200)) | sed 's/Z$/%2B02:00/') # H3 written in +02:00
lens "/gpu-aggregation/cluster/hourly-stats?start_time=$PLUS2&end_time=$PLUS2" >/dev/null
check_eq "offsets are honoured (+02:00)" "1 $(iso $H3)" "$(jr '"\(.data.total) \(.data.data[0].stat_hour)"')"
check_eq "the same route under /api/v1" "200 2" \
	"$(curl -s -o "$T/body" -w '%{http_code}' "$API/api/v1/gpu-aggregation/cluster/hourly-stats?$R" | tr -d '\n') $(jr '.data.total')"

# --- /gpu-aggregation/namespaces ----------------------------------------------------------------------------------
lens "/gpu-aggregation/namespaces?$R" >/dev/null
check_eq "namespaces with hourly rows in the range, sorted" '["lens-a","lens-b"]' "$(j '.data')"
lens "/gpu-aggregation/namespaces?start_time=$(iso $H2)&end_time=$(iso $H2)" >/dev/null
check_eq "... of H2 only" '["lens-a"]' "$(j '.data')"
lens "/gpu-aggregation/namespaces?$R&cluster=beta" >/dev/null
check_eq "beta has none: []" '[]' "$(j '.data')"
check_eq "namespaces without start_time → 4001" "200 4001 Invalid start_time format" "$(meta "/gpu-aggregation/namespaces")"

# --- /gpu-aggregation/workloads/hourly-stats ----------------------------------------------------------------------
W="/gpu-aggregation/workloads/hourly-stats?$R"
check_eq "workload hourly-stats answers 2000" "200 2000 OK" "$(meta "$W")"
check_eq "wrapper" '{"total":3,"page":0,"page_size":10000,"total_pages":1}' "$(j '.data | {total, page, page_size, total_pages}')"
check_eq "row fields, Lens's names and order" \
	"id,cluster_name,namespace,workload_name,workload_type,stat_hour,allocated_gpu_count,requested_gpu_count,avg_utilization,max_utilization,min_utilization,p50_utilization,p95_utilization,avg_gpu_memory_used,max_gpu_memory_used,avg_gpu_memory_total,avg_replica_count,max_replica_count,min_replica_count,workload_status,sample_count,owner_uid,owner_name,labels,annotations,created_at,updated_at" \
	"$(jr '.data.data[0] | keys_unsorted | join(",")')"
check_eq "row types (no GPU memory: null; labels, annotations {}; owner \"\")" \
	"number string string string string string number number number number number number number null null null number number number string number string string object object string string" \
	"$(jr '.data.data[0] | [.[] | type] | join(" ")')"
check_eq "ascending stat_hour" "lw-3,lens-train-big,lens-serve" \
	"$(jr '[.data.data[] | if .stat_hour == "'"$(iso $H3)"'" then "lw-3" else .workload_name end] | join(",")')"
check_eq "lens-train-big's row" '["alpha","lens-a","PyTorchJob","Running",6,8,40,60,20,40,58,2,3,1,3,"","",{},{}]' \
	"$(j '.data.data[] | select(.workload_name == "lens-train-big") | [.cluster_name, .namespace, .workload_type, .workload_status, .allocated_gpu_count, .requested_gpu_count, .avg_utilization, .max_utilization, .min_utilization, .p50_utilization, (.p95_utilization * 1e6 | round / 1e6), .avg_replica_count, .max_replica_count, .min_replica_count, .sample_count, .owner_uid, .owner_name, .labels, .annotations]')"
lens "$W&namespace=lens-a" >/dev/null
check_eq "namespace=lens-a (exact)" "lens-serve,lens-train-big" "$(jr '[.data.data[].workload_name] | sort | join(",")')"
lens "$W&namespace=lens" >/dev/null
check_eq "namespace=lens: no partial match" "0" "$(jr '.data.total')"
lens "$W&workload_name=lens-serve" >/dev/null
check_eq "workload_name=lens-serve (exact)" "1 lens-serve" "$(jr '"\(.data.total) \(.data.data[0].workload_name)"')"
lens "$W&workload_type=PyTorchJob&namespace=lens-b" >/dev/null
check_eq "workload_type=PyTorchJob&namespace=lens-b" "1 lens-train-small Done" "$(jr '"\(.data.total) \(.data.data[0].workload_name) \(.data.data[0].workload_status)"')"
lens "$W&order_by=utilization&order_direction=desc" >/dev/null
check_eq "order_by=utilization desc" "80,40,30" "$(jr '[.data.data[].avg_utilization] | join(",")')"
lens "$W&order_by=allocated_gpu_count" >/dev/null
check_eq "order_by=allocated_gpu_count ascending" "1,2,6" "$(jr '[.data.data[].allocated_gpu_count] | join(",")')"
lens "$W&page=1" >/dev/null
check_eq "page=1 echoed" "1 3" "$(jr '"\(.data.page) \(.data.data | length)"')"
check_eq "workload hourly-stats without end_time → 4001" "200 4001 Invalid end_time format" \
	"$(meta "/gpu-aggregation/workloads/hourly-stats?start_time=$(iso $H2)")"
lens "$W&cluster=beta" >/dev/null
check_eq "beta: none" '0 []' "$(jr '"\(.data.total) \(.data.data | tojson)"')"

# --- /nodes/gpuUtilizationHistory ----------------------------------------------------------------------------------
C="/nodes/gpuUtilizationHistory?start=$H2&end=$((H2 + 3599))"
check_eq "cluster history answers 2000" "200 2000 OK" "$(meta "$C&step=600")"
check_eq "fields" "allocationRate,utilization,vramUtilization" "$(jr '.data | keys_unsorted | join(",")')"
check_eq "allocationRate: the step buckets (aligned to start), % " \
	"[{\"timestamp\":$((H2 + 600)),\"value\":25},{\"timestamp\":$((H2 + 1200)),\"value\":50},{\"timestamp\":$((H2 + 1800)),\"value\":50}]" \
	"$(j '.data.allocationRate')"
check_eq "utilization: the same buckets (paired by index), null where no figure" \
	"[{\"timestamp\":$((H2 + 600)),\"value\":40},{\"timestamp\":$((H2 + 1200)),\"value\":60},{\"timestamp\":$((H2 + 1800)),\"value\":null}]" \
	"$(j '.data.utilization')"
check_eq "types: integer timestamps, number values" "true" \
	"$(j '[.data.allocationRate[] | (.timestamp | type == "number" and floor == .) and (.value | type == "number")] | all')"
check_eq "vramUtilization: [] (FleetLens keeps no per-GPU memory use)" '[]' "$(j '.data.vramUtilization')"
lens "$C&step=3600" >/dev/null
check_eq "step=3600: one bucket, the means" "[{\"timestamp\":$H2,\"value\":41.666666666666664}] [{\"timestamp\":$H2,\"value\":50}]" \
	"$(j '.data.allocationRate') $(j '.data.utilization')"
lens "/nodes/gpuUtilizationHistory?start=$((H2 + 600))&end=$((H2 + 1200))&step=600" >/dev/null
check_eq "start and end are both inclusive" "$((H2 + 600)),$((H2 + 1200))" "$(jr '[.data.allocationRate[].timestamp] | join(",")')"
lens "/nodes/gpuUtilizationHistory?start=$H2&end=$((H2 + 3599))" >/dev/null
check_eq "step defaults to 60" "$((H2 + 600)),$((H2 + 1200)),$((H2 + 1800))" "$(jr '[.data.allocationRate[].timestamp] | join(",")')"
lens "/nodes/gpuUtilizationHistory?start=1000&end=2000" >/dev/null
check_eq "a range with no samples: empty lists" '{"allocationRate":[],"utilization":[],"vramUtilization":[]}' "$(j '.data')"
lens "/nodes/gpuUtilizationHistory?start=$H2&end=$((H2 + 3599))&step=3600&cluster=beta" >/dev/null
check_eq "?cluster=beta" "[{\"timestamp\":$H2,\"value\":25}] [{\"timestamp\":$H2,\"value\":70}]" "$(j '.data.allocationRate') $(j '.data.utilization')"
check_eq "start absent → 4001" "200 4001 start and end are required" "$(meta "/nodes/gpuUtilizationHistory?end=$H2")"
check_eq "end absent → 4001" "200 4001 start and end are required" "$(meta "/nodes/gpuUtilizationHistory?start=$H2")"
check_eq "start empty counts as absent → 4001" "200 4001 start and end are required" "$(meta "/nodes/gpuUtilizationHistory?start=&end=$H2")"
check_eq "step=0 → 4001" "200 4001" "$(meta "$C&step=0" | cut -d' ' -f1,2)"
check_eq "step=-60 → 4001" "200 4001" "$(meta "$C&step=-60" | cut -d' ' -f1,2)"
check_eq "more than 11000 points → 4001" "200 4001" "$(meta "/nodes/gpuUtilizationHistory?start=0&end=11001&step=1" | cut -d' ' -f1,2)"
check_eq "exactly 11000 steps is fine" "200 2000" "$(meta "/nodes/gpuUtilizationHistory?start=0&end=11000&step=1" | cut -d' ' -f1,2)"
check_eq "end before start → 4001" "200 4001" "$(meta "/nodes/gpuUtilizationHistory?start=2000&end=1000" | cut -d' ' -f1,2)"
check_eq "start=abc → 5000" "200 5000 Unknown error" "$(meta "/nodes/gpuUtilizationHistory?start=abc&end=$H2")"
check_eq "unknown cluster → 4004" "200 4004 ClientSet for cluster nope not found" "$(meta "$C&cluster=nope")"

# --- /nodes/{name}/utilizationHistory ---------------------------------------------------------------------------------
check_eq "node history answers 2000" "200 2000 OK" "$(meta "/nodes/$N1/utilizationHistory?start=$H2&end=$((H2 + 3599))&step=1200")"
check_eq "fields" "node_name,cpu_utilization,mem_utilization,gpu_utilization,gpu_allocation" "$(jr '.data | keys_unsorted | join(",")')"
check_eq "node_name; cpu, memory, allocation: null (not kept)" "\"$N1\" null null null" \
	"$(j '.data.node_name') $(j '.data.cpu_utilization') $(j '.data.mem_utilization') $(j '.data.gpu_allocation')"
check_eq "gpu_utilization: one series, labels {}, the node's mean per step (%)" \
	"[{\"labels\":{},\"values\":[{\"timestamp\":$H2,\"value\":10},{\"timestamp\":$((H2 + 1200)),\"value\":25},{\"timestamp\":$((H2 + 2400)),\"value\":40}]}]" \
	"$(j '.data.gpu_utilization')"
lens "/nodes/$N1/utilizationHistory?start=$H2&end=$((H2 + 3599))&step=3600" >/dev/null
check_eq "step=3600: one point, the mean of 10 20 30 40" "[{\"timestamp\":$H2,\"value\":25}]" "$(j '.data.gpu_utilization[0].values')"
lens "/nodes/no-such-node/utilizationHistory?start=$H2&end=$((H2 + 3599))" >/dev/null
check_eq "a node without samples (not checked, as Lens): no series" '"no-such-node" []' "$(j '.data.node_name') $(j '.data.gpu_utilization')"
lens "/nodes/b-node/utilizationHistory?start=$H2&end=$((H2 + 3599))&step=3600" >/dev/null
check_eq "b-node is beta's: none in the default cluster" '[]' "$(j '.data.gpu_utilization')"
lens "/nodes/b-node/utilizationHistory?start=$H2&end=$((H2 + 3599))&step=3600&cluster=beta" >/dev/null
check_eq "... 80 with ?cluster=beta" "80" "$(j '.data.gpu_utilization[0].values[0].value')"
lens "/nodes/$N1/utilizationHistory?start=$CUR&end=$((NOW + 60))&step=60" >/dev/null
check_eq "a sample without a figure makes no point (the spoke's own samples of this hour do)" \
	"$(fl_sql "SELECT count(DISTINCT floor((extract(epoch FROM sampled_at) - $CUR) / 60)) FROM node_utilization_history WHERE cluster_name='alpha' AND node_name='$N1' AND sampled_at >= $(at $CUR) AND gpu_utilization IS NOT NULL") 0" \
	"$(j '[.data.gpu_utilization[].values[]] | length') $(j '[.data.gpu_utilization[].values[] | select(.value == null)] | length')"
check_eq "node history without end → 4001" "200 4001 start and end are required" "$(meta "/nodes/$N1/utilizationHistory?start=$H2")"
check_eq "node history step=0 → 4001" "200 4001" "$(meta "/nodes/$N1/utilizationHistory?start=$H2&end=$NOW&step=0" | cut -d' ' -f1,2)"

# --- /workloads/gpuUtilizationHistory -------------------------------------------------------------------------------------
WH="start=$H2&end=$((H2 + 3599))&step=3600"
check_eq "workload history answers 2000" "200 2000 OK" "$(meta "/workloads/gpuUtilizationHistory?kind=PyTorchJob&name=train&$WH")"
check_eq "fields" "serial,series,config" "$(jr '.data | keys_unsorted | join(",")')"
# "train" is in lens-train-big (created a day ago) and lens-train-small (2 days ago): the newest.
check_eq "the newest PyTorchJob whose name contains 'train': lens-train-big's mean" \
	"{\"serial\":0,\"series\":[{\"labels\":{},\"values\":[{\"timestamp\":$H2,\"value\":40}]}],\"config\":{\"y_axis_unit\":\"%\"}}" "$(j '.data')"
lens "/workloads/gpuUtilizationHistory?kind=PyTorchJob&name=train&$WH&namespace=lens-b" >/dev/null
check_eq "namespace=lens-b: lens-train-small, no samples in H2 → series []" '[]' "$(j '.data.series')"
lens "/workloads/gpuUtilizationHistory?kind=PyTorchJob&name=small&start=$H3&end=$((H3 + 3599))&step=600" >/dev/null
check_eq "lens-train-small in H3" "[{\"timestamp\":$((H3 + 600)),\"value\":30}]" "$(j '.data.series[0].values')"
lens "/workloads/gpuUtilizationHistory?kind=Deployment&name=serve&start=$H2&end=$((H2 + 3599))&step=60" >/dev/null
check_eq "Deployment lens-serve, step 60" "[{\"timestamp\":$((H2 + 600)),\"value\":80}]" "$(j '.data.series[0].values')"
lens "/workloads/gpuUtilizationHistory?kind=Deployment&name=serve&start=$H2&end=$((NOW + 60))&step=60" >/dev/null
check_eq "lens-serve's sample without a figure (this hour) makes no point" "[{\"timestamp\":$((H2 + 600)),\"value\":80}]" \
	"$(j '.data.series[0].values')"
lens "/workloads?name=lens-serve" >/dev/null
check_eq "/workloads: lens-serve's newest sample has no figure: instant null; avg and percentiles of the figures (80)" \
	"null 80 80 80" "$(jr '.data.data[0] | "\(.instant_gpu_utilization) \(.avg_gpu_utilization) \(.p50_gpu_utilization) \(.p95_gpu_utilization)"')"
check_eq "/v1/workloads agrees: gpu_utilization null" "null" \
	"$(curl -s "$API/v1/workloads?cluster=alpha&name=lens-serve" | jq -c '.data.data[0].gpu_utilization')"
check_eq "kind absent → 4001" "200 4001 kind and name are required" "$(meta "/workloads/gpuUtilizationHistory?name=train&$WH")"
check_eq "name absent → 4001" "200 4001 kind and name are required" "$(meta "/workloads/gpuUtilizationHistory?kind=PyTorchJob&$WH")"
check_eq "no such workload → 4004" "200 4004 workload not found" "$(meta "/workloads/gpuUtilizationHistory?kind=Job&name=lens-train&$WH")"
check_eq "a LIKE pattern is no wildcard → 4004" "200 4004 workload not found" "$(meta "/workloads/gpuUtilizationHistory?kind=PyTorchJob&name=lens%25big&$WH")"
check_eq "start absent → 4001" "200 4001 start and end are required" "$(meta "/workloads/gpuUtilizationHistory?kind=PyTorchJob&name=train&end=$H2")"
check_eq "beta has no such workload → 4004" "200 4004 workload not found" "$(meta "/workloads/gpuUtilizationHistory?kind=PyTorchJob&name=train&$WH&cluster=beta")"

# --- /pods/{uid}/gpu-history -------------------------------------------------------------------------------------------------
G="/pods/$POD/gpu-history?cluster=alpha"
check_eq "pod history answers 2000" "200 2000 OK" "$(meta "$G&start_time=$(iso $H3)&end_time=$(iso $((H2 + 3599)))")"
check_eq "fields" "pod_uid,pod_name,granularity,data_points" "$(jr '.data | keys_unsorted | join(",")')"
check_eq "pod_uid, pod_name, granularity (default hourly)" "$POD $POD_NAME hourly" "$(jr '"\(.data.pod_uid) \(.data.pod_name) \(.data.granularity)"')"
check_eq "data_points: its node's hourly mean, RFC 3339 hour, no memory/power/temperature" \
	"[{\"timestamp\":\"$(iso $H2)\",\"gpu_utilization\":25,\"memory_used_mb\":null,\"power_watts\":null,\"temperature_celsius\":null}]" \
	"$(j '.data.data_points')"
lens "$G&hours=4&granularity=daily" >/dev/null
check_eq "hours=4: H2 and the spoke's current sample's hour, oldest first; granularity echoed" \
	"daily $(iso $H2),$(iso $((NOW / 3600 * 3600)))" "$(jr '"\(.data.granularity) \([.data.data_points[].timestamp] | join(","))"')"
check_num "... the current hour: the node's sample from the spoke" \
	"$(fl_sql "SELECT avg(gpu_utilization) FROM node_utilization_history WHERE cluster_name='alpha' AND node_name='$N1' AND sampled_at >= to_timestamp($((NOW / 3600 * 3600)))")" \
	"$(j '.data.data_points[1].gpu_utilization')"
lens "$G&hours=4&start_time=2020-01-01T00:00:00Z&end_time=2020-01-02T00:00:00Z" >/dev/null
check_eq "hours wins over start_time/end_time" "2" "$(j '.data.data_points | length')"
lens "$G&hours=0&start_time=2020-01-01T00:00:00Z&end_time=2020-01-02T00:00:00Z" >/dev/null
check_eq "hours=0 is not given: the range, empty" '[]' "$(j '.data.data_points')"
lens "/pods/gone-new/gpu-history?cluster=alpha&hours=4" >/dev/null
check_eq "a pod that left (gpu_pod_history) is found" "new-pod 2" "$(jr '"\(.data.pod_name) \(.data.data_points | length)"')"
check_eq "without ?cluster= → 4004" "200 4004" "$(meta "/pods/$POD/gpu-history?hours=4" | cut -d' ' -f1,2)"
check_eq "neither hours nor start_time/end_time → 4001" "200 4001" "$(meta "$G" | cut -d' ' -f1,2)"
check_eq "start_time without end_time → 4001" "200 4001 Invalid end_time format" "$(meta "$G&start_time=$(iso $H2)")"
check_eq "hours=abc → 5000" "200 5000 Unknown error" "$(meta "$G&hours=abc")"
check_eq "unknown pod → 4004" "200 4004 pod not found" "$(meta "/pods/no-such-pod/gpu-history?cluster=alpha&hours=4")"
check_eq "the pod is alpha's: unknown in beta → 4004" "200 4004 pod not found" "$(meta "/pods/$POD/gpu-history?cluster=beta&hours=4")"
check_eq "unknown cluster → 4004" "200 4004 ClientSet for cluster nope not found" "$(meta "/pods/$POD/gpu-history?cluster=nope&hours=4")"

[ "$FL_FAIL" -eq 0 ] || { echo "--- hub log"; tail -30 "$T/hub.log"; }
openapi_validate # every answer above against hub/openapi.json (openapi.sh)
fl_done
