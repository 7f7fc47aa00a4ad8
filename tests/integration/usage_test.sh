#!/usr/bin/env bash
# GPU-hours (issue 13) end to end: a real PostgreSQL and the real hub; node and workload samples of two past
# hours written with SQL, the hourly rollup forced (rollup_hour cleared, the hub restarted; node_lost_after
# 1s wakes its maintenance every 250 ms). Checked against figures computed by hand: node_hourly_stats rows
# (capacity, allocation, utilization statistics, samples, GPU-hours with an idle stretch, a stretch without a
# figure and a gap longer than the 300 s cap), the GPU-hours of the cluster, namespace and workload rows (a
# workload idle for exactly 90 minutes, one busy), /v1/usage grouped by cluster, namespace, workload and node
# (sums, order, paging, range bounds, a token's scope), its CSV (headers, RFC 4180 body that parses), its 400s,
# the retention of the rollups (hub.rollup_retention) apart from the raw samples' (hub.history_retention),
# and the configuration errors of both new keys.
set -uo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
source "$(dirname "$0")/assert.sh"
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/openapi.sh" # records every API answer (validated at the end)

fl_it_setup usage
openapi_record "$T/openapi"
fl_it_keys alpha beta
fl_it_token ops ops-token-0123456789abcdef
fl_it_token alpha alpha-token-0123456789abcdef
write_config() { # write_config FILE EXTRA-HUB-LINES
	fl_it_hub_config "$1" <<YAML
  history_retention: 3d
  node_lost_after: 1s
  api_tokens:
    - name: ops
      token_file: tokens/ops
    - name: alpha-only
      token_file: tokens/alpha
      clusters: [alpha]
$2
$(fl_it_clusters alpha beta)
YAML
}

# --- configuration: hub.rollup_retention and hub.idle_threshold -------------------------------------------------
write_config "$T/bad1.yaml" "  rollup_retention: 2d"
out=$("$BIN/fleetlens-hub" --config "$T/bad1.yaml" --check 2>&1)
check_eq "rollup_retention below history_retention: exit 2" 2 $?
check_contains "... naming file, line and key" \
	"$T/bad1.yaml:15:21: key 'rollup_retention': rollup_retention (48 h) must be at least history_retention (72 h)" "$out"
write_config "$T/bad2.yaml" "  idle_threshold: 150"
out=$("$BIN/fleetlens-hub" --config "$T/bad2.yaml" --check 2>&1)
check_eq "idle_threshold 150: exit 2" 2 $?
check_contains "... naming file, line and key" \
	"$T/bad2.yaml:15:19: key 'idle_threshold': expected a percentage from 0 to 100 (like 5 or 2.5), got '150'" "$out"
write_config "$T/clusters.yaml" "  rollup_retention: 5d"
out=$("$BIN/fleetlens-hub" --config "$T/clusters.yaml" --check 2>&1)
check_eq "rollup_retention 5d (idle_threshold default 5) is accepted" "$T/clusters.yaml: ok (2 clusters)" "$out"

FL_DIAG_LOGS="$T/hub.log"
OPS="Authorization: Bearer ops-token-0123456789abcdef"
ALPHA="Authorization: Bearer alpha-token-0123456789abcdef"
# usage QUERY [HEADER...]: GET /v1/usage?QUERY as ops into $T/body; prints the HTTP status.
usage() {
	local q=$1
	shift
	curl -s -o "$T/body" -D "$T/headers" -w '%{http_code}' -H "$OPS" "$@" "$API/v1/usage?$q"
}
j() { jq -c "$1" "$T/body"; }
jr() { jq -r "$1" "$T/body"; }

fl_it_start_hub # applies the migrations; the samples below are written with it stopped
fl_it_stop_hub

# --- the fixture: two past hours, H1 and H2 = H1 + 1 h, both completed ----------------------------------------------
NOW=$(date +%s)
H1=$((NOW / 3600 * 3600 - 3 * 3600))
H2=$((H1 + 3600))
NODE_COLS="cluster_name, node_name, sampled_at, gpu_utilization, gpu_count, gpu_allocation"
# series NAME FROM STEP COUNT UTIL ALLOC [CLUSTER] [GPUS]: COUNT node samples from FROM every STEP seconds.
series() {
	fl_sql "INSERT INTO node_utilization_history ($NODE_COLS)
		SELECT '${7:-alpha}', '$1', to_timestamp($2 + $3 * k), $5, ${8:-8}, $6 FROM generate_series(0, $4 - 1) k"
}
# alpha/n1, 8 GPUs, 4 allocated in H1: busy (50 %) for 30 min, then idle (2 %) for 30 min, a sample every 30 s.
series n1 "$H1" 30 60 50 4
series n1 "$((H1 + 1800))" 30 60 2 4
# ... in H2, 8 allocated: 21 samples without a figure (10 min, the last one weighs the 300 s cap: a gap of
# 20 min follows), then 30 min at 100 % (60 samples, the last at H2 + 3570).
series n1 "$H2" 30 21 NULL 8
series n1 "$((H2 + 1800))" 30 60 100 8
# alpha/n2, 4 GPUs, 2 allocated, idle (3 %) all of H1, a sample a minute (the last weighs to the hour's end).
series n2 "$H1" 60 60 3 2 alpha 4
# beta/b1: exactly at the threshold (5 % is not idle), half of H1, 1 GPU allocated of 2.
series b1 "$((H1 + 1800))" 30 60 5 1 beta 2
# An overview sample in each hour, so alpha has cluster rows (they carry the sum of its node rows).
fl_sql "INSERT INTO cluster_sample_history VALUES ('alpha', to_timestamp($((H1 + 60))), 12, 6, 50, 30),
	('alpha', to_timestamp($((H2 + 60))), 12, 8, 66.7, 100)"
# Workloads: wl-idle (team-a, 2 GPUs) idle (1 %) for exactly 90 minutes from H1 + 30 min; wl-busy (team-a,
# 4 GPUs) at 90 % all of H1; wl-nofig (beta, team-b, 1 GPU) without any figure all of H1.
fl_sql "INSERT INTO gpu_workload (cluster_name, uid, kind, namespace, name, status, gpu_request, pods, created_at) VALUES
	('alpha', 'wl-idle', 'Deployment', 'team-a', 'idle-serve', 'Running', 2, 1, now() - interval '1 day'),
	('alpha', 'wl-busy', 'PyTorchJob', 'team-a', 'train', 'Running', 4, 2, now() - interval '1 day'),
	('beta', 'wl-nofig', 'Job', 'team-b', 'etl', 'Running', 1, 1, now() - interval '1 day')"
wseries() { # wseries CLUSTER UID FROM STEP COUNT UTIL REQUEST
	fl_sql "INSERT INTO workload_utilization_history (cluster_name, workload_uid, sampled_at, gpu_utilization, gpu_request, pods)
		SELECT '$1', '$2', to_timestamp($3 + $4 * k), $6, $7, 1 FROM generate_series(0, $5 - 1) k"
}
wseries alpha wl-idle "$((H1 + 1800))" 30 180 1 2
wseries alpha wl-busy "$H1" 30 120 90 4
wseries beta wl-nofig "$H1" 60 60 NULL 1
# Retention: hourly rows 4 days old stay (rollup_retention 5d), 6 days old go; a raw sample 4 days old goes
# (history_retention 3d).
D4=$((NOW / 3600 * 3600 - 4 * 86400))
D6=$((NOW / 3600 * 3600 - 6 * 86400))
for h in $D4 $D6; do
	fl_sql "INSERT INTO rollup_hour VALUES (to_timestamp($h));
		INSERT INTO node_hourly_stats (cluster_name, node_name, stat_hour, sample_count, gpu_hours_allocated, gpu_hours_used, gpu_hours_idle) VALUES ('alpha', 'old', to_timestamp($h), 1, 1, 1, 0);
		INSERT INTO cluster_hourly_stats (cluster_name, stat_hour, total_gpu_capacity, allocated_gpu_count, allocation_rate, sample_count) VALUES ('alpha', to_timestamp($h), 1, 1, 1, 0);
		INSERT INTO namespace_hourly_stats (cluster_name, namespace, stat_hour, allocated_gpu_count, sample_count) VALUES ('alpha', 'old-ns', to_timestamp($h), 1, 1);
		INSERT INTO workload_hourly_stats (cluster_name, workload_uid, namespace, workload_name, workload_type, workload_status, stat_hour, allocated_gpu_count, requested_gpu_count, avg_replica_count, max_replica_count, min_replica_count, sample_count) VALUES ('alpha', 'old-wl', 'old-ns', 'old', 'Job', 'Done', to_timestamp($h), 1, 1, 1, 1, 1, 1)"
done
fl_sql "INSERT INTO node_utilization_history ($NODE_COLS) VALUES ('alpha', 'n1', to_timestamp($D4), 50, 8, 8)"

# --- the rollup ------------------------------------------------------------------------------------------------------------
fl_sql "DELETE FROM rollup_hour WHERE stat_hour > now() - interval '3 days'; DELETE FROM node_hourly_stats WHERE stat_hour > now() - interval '3 days';
	DELETE FROM cluster_hourly_stats WHERE stat_hour > now() - interval '3 days'; DELETE FROM namespace_hourly_stats WHERE stat_hour > now() - interval '3 days';
	DELETE FROM workload_hourly_stats WHERE stat_hour > now() - interval '3 days'"
fl_it_start_hub
rolled() { fl_sql "SELECT count(*) FROM rollup_hour WHERE stat_hour IN (to_timestamp($H1), to_timestamp($H2))"; }
fl_wait_until 120 '[ "$(rolled)" == 2 ] && [ "$(fl_sql "SELECT count(*) FROM rollup_hour WHERE stat_hour = to_timestamp('$D6')")" == 0 ]'
check_eq "H1 and H2 are rolled up, with the idle threshold of the time" "5 5" \
	"$(fl_sql "SELECT string_agg(idle_threshold::text, ' ' ORDER BY stat_hour) FROM rollup_hour WHERE stat_hour IN (to_timestamp($H1), to_timestamp($H2))")"

# node_hourly_stats
row() { fl_sql "SELECT $1 FROM node_hourly_stats WHERE cluster_name = '$2' AND node_name = '$3' AND stat_hour = to_timestamp($4)"; }
R4() { echo "round(($1)::numeric, 4)"; }
GH="$(R4 gpu_hours_allocated) || ' ' || $(R4 gpu_hours_used) || ' ' || $(R4 gpu_hours_idle)"
check_eq "node rows: one per node and hour with samples" "n1@$H1,n1@$H2,n2@$H1,b1@$H1" \
	"$(fl_sql "SELECT string_agg(node_name || '@' || extract(epoch FROM stat_hour)::bigint, ',' ORDER BY cluster_name, node_name, stat_hour) FROM node_hourly_stats WHERE stat_hour > now() - interval '3 days'")"
check_eq "n1 H1: capacity, mean allocation, avg max min p50 p95 utilization, samples" "8 4 26 50 2 26 50 120" \
	"$(row "gpu_capacity || ' ' || allocated_gpu_count || ' ' || avg_utilization || ' ' || max_utilization || ' ' || min_utilization || ' ' || p50_utilization || ' ' || p95_utilization || ' ' || sample_count" alpha n1 "$H1")"
# 4 GPUs × 1 h allocated; used 4 × (0.5 h × 50 % + 0.5 h × 2 %) = 1.04; idle 4 × 0.5 h (2 % < 5 %).
check_eq "n1 H1: GPU-hours allocated 4, used 1.04, idle 2 (the 2 % half hour)" "4.0000 1.0400 2.0000" "$(row "$GH" alpha n1 "$H1")"
# 8 GPUs × (20 × 30 s + the 300 s cap + 60 × 30 s = 2700 s) = 6; used 8 × 0.5 h × 100 % = 4; the 10 minutes
# without a figure are allocated but neither used nor idle; the 15 minutes past the cap count nothing.
check_eq "n1 H2: GPU-hours 6, 4, 0 (no figure: allocated only; the gap capped at 300 s)" "6.0000 4.0000 0.0000" "$(row "$GH" alpha n1 "$H2")"
check_eq "n1 H2: utilization and its sample count over the samples with a figure (the 21 without one are not counted)" "100 100 60 8" \
	"$(row "avg_utilization || ' ' || p50_utilization || ' ' || sample_count || ' ' || allocated_gpu_count" alpha n1 "$H2")"
check_eq "n2 H1: 2 GPUs idle (3 %) all hour" "4 2 2.0000 0.0600 2.0000" \
	"$(row "gpu_capacity || ' ' || allocated_gpu_count || ' ' || $GH" alpha n2 "$H1")"
check_eq "b1 H1: 5 % is not under the 5 % threshold" "0.5000 0.0250 0.0000" "$(row "$GH" beta b1 "$H1")"
check_eq "alpha's cluster rows: GPU-hours = the sum of its node rows" "$H1:6.0000 1.1000 4.0000,$H2:6.0000 4.0000 0.0000" \
	"$(fl_sql "SELECT string_agg(extract(epoch FROM stat_hour)::bigint || ':' || $GH, ',' ORDER BY stat_hour) FROM cluster_hourly_stats WHERE stat_hour > now() - interval '3 days'")"
WR() { fl_sql "SELECT string_agg($(R4 gpu_hours_allocated) || ' ' || $(R4 gpu_hours_used) || ' ' || $(R4 gpu_hours_idle), ',' ORDER BY stat_hour) FROM workload_hourly_stats WHERE workload_uid = '$1'"; }
check_eq "wl-idle: 2 GPUs × 30 min in H1, × 60 min in H2, all idle" "1.0000 0.0100 1.0000,2.0000 0.0200 2.0000" "$(WR wl-idle)"
check_eq "wl-busy: 4 GPUs × 1 h at 90 %" "4.0000 3.6000 0.0000" "$(WR wl-busy)"
check_eq "wl-nofig: allocated, no utilization figure (NULL statistics)" "1.0000 0.0000 0.0000 true" \
	"$(fl_sql "SELECT $GH || ' ' || (avg_utilization IS NULL) FROM workload_hourly_stats WHERE workload_uid = 'wl-nofig'")"
check_eq "namespace rows: GPU-hours = the sum of their workloads" "team-a@$H1:5.0000 3.6100 1.0000,team-a@$H2:2.0000 0.0200 2.0000,team-b@$H1:1.0000 0.0000 0.0000" \
	"$(fl_sql "SELECT string_agg(namespace || '@' || extract(epoch FROM stat_hour)::bigint || ':' || $GH, ',' ORDER BY namespace, stat_hour) FROM namespace_hourly_stats WHERE stat_hour > now() - interval '3 days'")"

# --- retention ---------------------------------------------------------------------------------------------------------
check_eq "hourly rows and rollup_hour 4 days old are kept (rollup_retention 5d)" "1 1 1 1 1" \
	"$(fl_sql "SELECT (SELECT count(*) FROM rollup_hour WHERE stat_hour = to_timestamp($D4)) || ' ' || (SELECT count(*) FROM node_hourly_stats WHERE stat_hour = to_timestamp($D4)) || ' ' || (SELECT count(*) FROM cluster_hourly_stats WHERE stat_hour = to_timestamp($D4)) || ' ' || (SELECT count(*) FROM namespace_hourly_stats WHERE stat_hour = to_timestamp($D4)) || ' ' || (SELECT count(*) FROM workload_hourly_stats WHERE stat_hour = to_timestamp($D4))")"
check_eq "... those 6 days old are deleted" "0 0 0 0 0" \
	"$(fl_sql "SELECT (SELECT count(*) FROM rollup_hour WHERE stat_hour = to_timestamp($D6)) || ' ' || (SELECT count(*) FROM node_hourly_stats WHERE stat_hour = to_timestamp($D6)) || ' ' || (SELECT count(*) FROM cluster_hourly_stats WHERE stat_hour = to_timestamp($D6)) || ' ' || (SELECT count(*) FROM namespace_hourly_stats WHERE stat_hour = to_timestamp($D6)) || ' ' || (SELECT count(*) FROM workload_hourly_stats WHERE stat_hour = to_timestamp($D6))")"
check_eq "the raw sample 4 days old is deleted (history_retention 3d) while its hour's rollup stays" "0" \
	"$(fl_sql "SELECT count(*) FROM node_utilization_history WHERE sampled_at = to_timestamp($D4)")"
check_contains "the pruning is logged" "hourly statistics rows older than 5 days deleted" "$(cat "$T/hub.log")"

# --- /v1/usage ---------------------------------------------------------------------------------------------------------------
R="start=$H1&end=$((H2 + 3600))"
check_eq "group_by=node answers 200" 200 "$(usage "group_by=node&$R")"
check_eq "envelope and top-level fields" '{"code":2000,"message":"OK"} ["group_by","start","end","idle_threshold","sums","data","total","page_num","page_size"]' \
	"$(j '.meta') $(j '.data | keys_unsorted')"
check_eq "echoes group_by, start, end, idle_threshold, paging" "node $H1 $((H2 + 3600)) 5 1 10 3" \
	"$(jr '.data | "\(.group_by) \(.start) \(.end) \(.idle_threshold) \(.page_num) \(.page_size) \(.total)"')"
check_eq "node rows: the biggest idle first, ties by cluster and node" \
	'[["alpha","n1",10,5.04,2,0.2,0.504,2],["alpha","n2",2,0.06,2,1,0.03,1],["beta","b1",0.5,0.025,0,0,0.05,1]]' \
	"$(j '[.data.data[] | [.cluster_name, .node_name, .gpu_hours_allocated, .gpu_hours_used, .gpu_hours_idle, .idle_ratio, .used_ratio, .hours]]')"
check_eq "a node row's fields" "cluster_name,node_name,gpu_hours_allocated,gpu_hours_used,gpu_hours_idle,idle_ratio,used_ratio,hours" \
	"$(jr '.data.data[0] | keys_unsorted | join(",")')"
check_eq "sums over every row" '{"gpu_hours_allocated":12.5,"gpu_hours_used":5.125,"gpu_hours_idle":4,"idle_ratio":0.32,"used_ratio":0.41}' "$(j '.data.sums')"
usage "group_by=cluster&$R" >/dev/null
check_eq "group_by=cluster: the sum of each cluster's nodes" '[["alpha",12,5.1,4,0.3333,2],["beta",0.5,0.025,0,0,1]]' \
	"$(j '[.data.data[] | [.cluster_name, .gpu_hours_allocated, .gpu_hours_used, .gpu_hours_idle, .idle_ratio, .hours]]')"
usage "group_by=namespace&$R" >/dev/null
check_eq "group_by=namespace: the sum of its workloads" '[["alpha","team-a",7,3.63,3,0.4286,2],["beta","team-b",1,0,0,0,1]]' \
	"$(j '[.data.data[] | [.cluster_name, .namespace, .gpu_hours_allocated, .gpu_hours_used, .gpu_hours_idle, .idle_ratio, .hours]]')"
usage "group_by=workload&$R" >/dev/null
check_eq "group_by=workload: the workload idle for 90 minutes first (2 GPUs × 1.5 h)" \
	'[["alpha","team-a","idle-serve","wl-idle","Deployment",3,0.03,3,1,2],["alpha","team-a","train","wl-busy","PyTorchJob",4,3.6,0,0,1],["beta","team-b","etl","wl-nofig","Job",1,0,0,0,1]]' \
	"$(j '[.data.data[] | [.cluster_name, .namespace, .workload_name, .workload_uid, .kind, .gpu_hours_allocated, .gpu_hours_used, .gpu_hours_idle, .idle_ratio, .hours]]')"
usage "group_by=workload&$R&order_by=gpu_hours_used" >/dev/null
check_eq "order_by=gpu_hours_used (desc)" "wl-busy,wl-idle,wl-nofig" "$(jr '[.data.data[].workload_uid] | join(",")')"
usage "group_by=workload&$R&order_by=gpu_hours_allocated&desc=false" >/dev/null
check_eq "order_by=gpu_hours_allocated&desc=false" "wl-nofig,wl-idle,wl-busy" "$(jr '[.data.data[].workload_uid] | join(",")')"
usage "group_by=node&$R&order_by=idle_ratio" >/dev/null
check_eq "order_by=idle_ratio" "n2,n1,b1" "$(jr '[.data.data[].node_name] | join(",")')"
usage "group_by=node&$R&page_size=2&page_num=2" >/dev/null
check_eq "paging: page 2 of size 2 holds the third row, total and sums unchanged" "b1 3 12.5" \
	"$(jr '"\([.data.data[].node_name] | join(",")) \(.data.total) \(.data.sums.gpu_hours_allocated)"')"
usage "group_by=node&start=$H2&end=$((H2 + 3600))" >/dev/null
check_eq "range: hours that start in [start, end) — H2 only" '[["n1",6,1]]' "$(j '[.data.data[] | [.node_name, .gpu_hours_allocated, .hours]]')"
usage "group_by=node&start=$H1&end=$H2" >/dev/null
check_eq "... H1 only (end is exclusive)" "n1:4,n2:2,b1:0.5" "$(jr '[.data.data[] | "\(.node_name):\(.gpu_hours_allocated)"] | join(",")')"
usage "group_by=node&start=$((H1 + 1))&end=$((H2 + 1))" >/dev/null
check_eq "... an hour counts where it starts: start=H1+1 .. end=H2+1 is H2" "n1" "$(jr '[.data.data[].node_name] | join(",")')"
usage "group_by=cluster&start=1000&end=2000" >/dev/null
check_eq "a range without rows: no rows, zero sums, null ratios" '[] 0 {"gpu_hours_allocated":0,"gpu_hours_used":0,"gpu_hours_idle":0,"idle_ratio":null,"used_ratio":null}' \
	"$(j '.data.data') $(j '.data.total') $(j '.data.sums')"
usage "group_by=cluster&cluster=beta&$R" >/dev/null
check_eq "?cluster=beta" "beta" "$(jr '[.data.data[].cluster_name] | join(",")')"
# The default range is the last 24 h: H1 and H2 are within it.
usage "group_by=cluster" >/dev/null
check_eq "start and end default to the last 24 h" "alpha,beta 86400" "$(jr '"\([.data.data[].cluster_name] | join(",")) \(.data.end - .data.start)"')"

# A token limited to alpha sees only alpha, and beta as if it did not exist.
code=$(curl -s -o "$T/body" -w '%{http_code}' -H "$ALPHA" "$API/v1/usage?group_by=cluster&$R")
check_eq "scope: the alpha-only token sees alpha only" "200 alpha 12" "$code $(jr '[.data.data[].cluster_name] | join(",")') $(jr '.data.sums.gpu_hours_allocated')"
code=$(curl -s -o "$T/body" -w '%{http_code}' -H "$ALPHA" "$API/v1/usage?group_by=workload&$R")
check_eq "scope: ... and only alpha's workloads" "200 wl-idle,wl-busy" "$code $(jr '[.data.data[].workload_uid] | join(",")')"
code=$(curl -s -o "$T/body" -w '%{http_code}' -H "$ALPHA" "$API/v1/usage?group_by=cluster&cluster=beta&$R")
check_eq "scope: ?cluster=beta is 404 for it" "404 4004" "$code $(jr '.meta.code')"
check_eq "no token: 401" 401 "$(curl -s -o /dev/null -w '%{http_code}' "$API/v1/usage?group_by=cluster")"

# --- CSV --------------------------------------------------------------------------------------------------------------------
check_eq "Accept: text/csv answers 200" 200 "$(usage "group_by=workload&$R&page_size=1" -H 'Accept: text/csv')"
hdr() { awk -v h="$1" 'tolower($0) ~ "^" tolower(h) ":" {sub(/^[^:]*: */, ""); sub(/\r$/, ""); print}' "$T/headers"; }
check_eq "Content-Type text/csv" "text/csv; charset=utf-8" "$(hdr Content-Type)"
check_eq "Content-Disposition: an attachment usage-workload.csv" 'attachment; filename="usage-workload.csv"' "$(hdr Content-Disposition)"
check_eq "CSV: a header line and every row (no paging), CRLF line ends" \
	'cluster_name,namespace,workload_name,workload_uid,kind,gpu_hours_allocated,gpu_hours_used,gpu_hours_idle,idle_ratio,used_ratio,hours\r
alpha,team-a,idle-serve,wl-idle,Deployment,3,0.03,3,1,0.01,2\r
alpha,team-a,train,wl-busy,PyTorchJob,4,3.6,0,0,0.9,1\r
beta,team-b,etl,wl-nofig,Job,1,0,0,0,0,1\r' "$(sed 's/\r$/\\r/' "$T/body")"
check_eq "the CSV parses (RFC 4180): 3 rows of 11 fields, figures equal to the JSON's" "3 11 3.0" \
	"$(python3 -c 'import csv,sys; r=list(csv.DictReader(open(sys.argv[1], newline=""))); print(len(r), len(r[0]), float(r[0]["gpu_hours_idle"]))' "$T/body")"
check_eq "?format=csv (for links) answers CSV too" "200 cluster_name,gpu_hours_allocated,gpu_hours_used,gpu_hours_idle,idle_ratio,used_ratio,hours" \
	"$(usage "group_by=cluster&$R&format=csv") $(head -1 "$T/body" | tr -d '\r')"
check_eq "... usage-cluster.csv" 'attachment; filename="usage-cluster.csv"' "$(hdr Content-Disposition)"
check_eq "format=json wins over Accept: text/csv" "200 application/json" "$(usage "group_by=cluster&$R&format=json" -H 'Accept: text/csv') $(hdr Content-Type)"
# RFC 4180 quoting: a namespace holding a comma and a quote (not a Kubernetes name, but nothing checks it here).
fl_sql "INSERT INTO namespace_hourly_stats (cluster_name, namespace, stat_hour, allocated_gpu_count, sample_count, gpu_hours_allocated, gpu_hours_used, gpu_hours_idle) VALUES ('beta', 'we,ird\"ns', to_timestamp($H2), 1, 1, 9, 0, 9)"
usage "group_by=namespace&$R&format=csv" >/dev/null
check_eq "a field with a comma and a quote is quoted, the quote doubled" 'beta,"we,ird""ns",9,0,9,1,0,1' "$(sed -n 2p "$T/body" | tr -d '\r')"
check_eq "... and parses back" 'we,ird"ns' "$(python3 -c 'import csv,sys; print(list(csv.reader(open(sys.argv[1], newline="")))[1][1])' "$T/body")"

# --- bad parameters: 400 naming the parameter ------------------------------------------------------------------------
bad() { # bad QUERY MESSAGE
	local code
	code=$(usage "$1")
	check_eq "$1 → 400" "400 4001 $2" "$code $(jr '"\(.meta.code) \(.meta.message)"')"
}
bad "start=$H1" "parameter 'group_by' is required: one of cluster, namespace, workload, node"
bad "group_by=pod" "parameter 'group_by' must be one of cluster, namespace, workload, node"
bad "group_by=node&start=$H2&end=$H1" "parameter 'start' ($H2) must be before 'end' ($H1)"
bad "group_by=node&start=$H2&end=$H2" "parameter 'start' ($H2) must be before 'end' ($H2)"
bad "group_by=node&start=abc" "parameter 'start' must be a whole number from 0 to 253402300799"
bad "group_by=node&start=0&end=40000000" "parameter 'start': the range is longer than 400 days"
bad "group_by=node&order_by=name" "parameter 'order_by' must be one of gpu_hours_idle, gpu_hours_allocated, gpu_hours_used, idle_ratio"
bad "group_by=node&page_size=0" "parameter 'page_size' must be a whole number from 1 to 1000"
bad "group_by=node&desc=maybe" "parameter 'desc' must be true or false"
bad "group_by=node&format=xml" "parameter 'format' must be json or csv"
check_eq "the route is counted under its own label" "1" \
	"$(curl -s -H "$OPS" "$API/metrics" | awk '$1 ~ /^fleetlens_hub_api_request_duration_seconds_count\{route="\/v1\/usage"\}/ {print ($2 > 10)}')"

[ "$FL_FAIL" -eq 0 ] || { echo "--- hub log"; tail -30 "$T/hub.log"; }
openapi_validate # every answer above against hub/openapi.json (openapi.sh)
fl_done
