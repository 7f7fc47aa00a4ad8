/* hub_rollup.c — hourly rollups per node, cluster, namespace and workload, with their GPU-hours, and their
 * retention. */
#include "hub_rollup.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hub_history_maint.h"
#include "hub_sql.h"

#define HOUR_S   3600LL
#define SETTLE_S 60LL /* an hour is rolled up once its end is this far in the past (late frames) */

/* The statements are laid out by clause, which clang-format would scatter. */
/* clang-format off */

#define STR_(x) #x
#define STR(x)  STR_(x)
#define CAP     STR(HUB_ROLLUP_SAMPLE_CAP_S)

/* The samples of the hour starting at $1 (Unix seconds). */
#define IN_HOUR(col) " " col " >= to_timestamp($1::bigint) AND " col " < to_timestamp($1::bigint + 3600)"

/* The samples whose weight may reach into that hour: those of the hour and of the CAP seconds before it. */
#define IN_WINDOW(col) " " col " >= to_timestamp($1::bigint - " CAP ") AND " col " < to_timestamp($1::bigint + 3600)"

/* avg, max, min, p50, p95 of col. */
#define STATS(col) \
	"avg(" col "), max(" col "), min(" col "), percentile_cont(0.5) WITHIN GROUP (ORDER BY " col ")," \
	" percentile_cont(0.95) WITHIN GROUP (ORDER BY " col ")"

/* The same over the weighted samples (below) that lie in the hour. */
#define IN_CUR " FILTER (WHERE cur)"
#define STATS_CUR(col) \
	"avg(" col ")" IN_CUR ", max(" col ")" IN_CUR ", min(" col ")" IN_CUR "," \
	" percentile_cont(0.5) WITHIN GROUP (ORDER BY " col ")" IN_CUR "," \
	" percentile_cont(0.95) WITHIN GROUP (ORDER BY " col ")" IN_CUR

/* A sample's epoch e and its series' next sample's nx (NULL: none in the window), for a series keyed by key. */
#define E_NX(key) \
	" extract(epoch FROM sampled_at)::float8 AS e," \
	" extract(epoch FROM lead(sampled_at) OVER (PARTITION BY " key " ORDER BY sampled_at))::float8 AS nx"

/* cur: the sample lies in the hour; wt: the seconds of the hour it stands for — from it to its series' next
 * sample, at most CAP seconds, within [$1, $1 + 3600). */
#define WEIGHT \
	" e >= $1::bigint AS cur," \
	" greatest(0, least(coalesce(nx, e + " CAP "), e + " CAP ", $1::bigint + 3600) - greatest(e, $1::bigint)) AS wt"

/* GPU-hours allocated, used and idle of the weighted samples with allocation a and utilization u ($2: the idle
 * threshold, percent). A sample without a utilization figure counts as allocated only; without an allocation
 * (node samples written before 009) as nothing, and a key none of whose samples knew it has NULL. */
#define GPU_HOURS \
	" sum(a * wt) / 3600," \
	" CASE WHEN sum(a * wt) IS NOT NULL THEN coalesce(sum(a * u / 100 * wt), 0) / 3600 END," \
	" CASE WHEN sum(a * wt) IS NOT NULL THEN coalesce(sum(a * wt) FILTER (WHERE u < $2::float8), 0) / 3600 END"

/* The hours in [$2, $1] (hour starts, Unix seconds) that rollup_hour does not list, newest first. */
static const char SQL_MISSING[] =
	"SELECT extract(epoch FROM h)::bigint"
	" FROM generate_series(to_timestamp($1::bigint), to_timestamp($2::bigint), interval '-1 hour') AS h"
	" WHERE NOT EXISTS (SELECT 1 FROM rollup_hour r WHERE r.stat_hour = h)"
	" ORDER BY h DESC LIMIT $3::int";

/* Claims the hour: no row when another hub rolled it up while this one waited for the lock. */
static const char SQL_CLAIM[] =
	"INSERT INTO rollup_hour (stat_hour, idle_threshold) VALUES (to_timestamp($1::bigint), $2::float8)"
	" ON CONFLICT DO NOTHING";

/* Per node with samples in the hour: capacity and allocation from them, utilization statistics, GPU-hours. */
static const char SQL_NODE[] =
	"INSERT INTO node_hourly_stats (cluster_name, node_name, stat_hour, gpu_capacity, allocated_gpu_count,"
	"  avg_utilization, max_utilization, min_utilization, p50_utilization, p95_utilization, sample_count,"
	"  gpu_hours_allocated, gpu_hours_used, gpu_hours_idle)"
	" SELECT cluster_name, node_name, to_timestamp($1::bigint), max(gpu_count)" IN_CUR ", avg(a)" IN_CUR ","
	"  " STATS_CUR("u") ", count(u)" IN_CUR "," GPU_HOURS
	" FROM (SELECT cluster_name, node_name, gpu_count, gpu_allocation AS a, gpu_utilization AS u," WEIGHT
	"  FROM (SELECT cluster_name, node_name, gpu_count, gpu_allocation, gpu_utilization," E_NX("cluster_name, node_name")
	"   FROM node_utilization_history WHERE" IN_WINDOW("sampled_at") ") x) s"
	" GROUP BY cluster_name, node_name HAVING bool_or(cur)"
	" ON CONFLICT DO NOTHING";

/* Per cluster with overview samples in the hour: capacity and allocation from them, utilization from its
 * node samples (NULL figures and a count of 0 without any), GPU-hours the sum of its node rows. */
static const char SQL_CLUSTER[] =
	"INSERT INTO cluster_hourly_stats (cluster_name, stat_hour, total_gpu_capacity, allocated_gpu_count,"
	"  allocation_rate, avg_utilization, max_utilization, min_utilization, p50_utilization, p95_utilization,"
	"  sample_count, gpu_hours_allocated, gpu_hours_used, gpu_hours_idle)"
	" SELECT s.cluster_name, to_timestamp($1::bigint), s.cap, s.alloc, s.rate, u.a, u.mx, u.mn, u.p50, u.p95,"
	"  coalesce(u.n, 0), g.al, g.us, g.id"
	" FROM (SELECT cluster_name, max(gpus_allocatable) AS cap, avg(gpus_allocated) AS alloc,"
	"   avg(allocation_rate) AS rate"
	"  FROM cluster_sample_history WHERE" IN_HOUR("sampled_at") " GROUP BY cluster_name) s"
	" LEFT JOIN (SELECT cluster_name, " STATS("gpu_utilization") ", count(gpu_utilization)"
	"  FROM node_utilization_history WHERE" IN_HOUR("sampled_at") " GROUP BY cluster_name)"
	"  AS u (cluster_name, a, mx, mn, p50, p95, n) USING (cluster_name)"
	" LEFT JOIN (SELECT cluster_name, sum(gpu_hours_allocated) AS al, sum(gpu_hours_used) AS us,"
	"   sum(gpu_hours_idle) AS id"
	"  FROM node_hourly_stats WHERE stat_hour = to_timestamp($1::bigint) GROUP BY cluster_name) g USING (cluster_name)"
	" ON CONFLICT DO NOTHING";

/* Per workload with samples in the hour, with its gpu_workload row; a sample without the request or pod count
 * (written before 007_lens.sql) takes the row's current one. */
static const char SQL_WORKLOAD[] =
	"INSERT INTO workload_hourly_stats (cluster_name, workload_uid, namespace, workload_name, workload_type,"
	"  workload_status, stat_hour, allocated_gpu_count, requested_gpu_count, avg_utilization, max_utilization,"
	"  min_utilization, p50_utilization, p95_utilization, avg_replica_count, max_replica_count,"
	"  min_replica_count, sample_count, gpu_hours_allocated, gpu_hours_used, gpu_hours_idle)"
	" SELECT cluster_name, uid, namespace, name, kind, status, to_timestamp($1::bigint),"
	"  avg(a)" IN_CUR ", max(a)" IN_CUR ", " STATS_CUR("u") ","
	"  avg(p)" IN_CUR ", max(p)" IN_CUR ", min(p)" IN_CUR ", count(u)" IN_CUR "," GPU_HOURS
	" FROM (SELECT w.cluster_name, w.uid, w.namespace, w.name, w.kind, w.status,"
	"   coalesce(h.gpu_request, w.gpu_request) AS a, coalesce(h.pods, w.pods) AS p, h.gpu_utilization AS u," WEIGHT
	"  FROM (SELECT cluster_name, workload_uid, gpu_request, pods, gpu_utilization," E_NX("cluster_name, workload_uid")
	"   FROM workload_utilization_history WHERE" IN_WINDOW("sampled_at") ") h"
	"  JOIN gpu_workload w ON w.cluster_name = h.cluster_name AND w.uid = h.workload_uid) s"
	" GROUP BY cluster_name, uid, namespace, name, kind, status HAVING bool_or(cur)"
	" ON CONFLICT DO NOTHING";

/* Per namespace: the GPUs its workloads requested, summed per sample time and averaged over those times;
 * GPU-hours the sum of its workload rows (written just before, in the same transaction). */
static const char SQL_NAMESPACE[] =
	"INSERT INTO namespace_hourly_stats (cluster_name, namespace, stat_hour, allocated_gpu_count,"
	"  avg_utilization, max_utilization, min_utilization, p50_utilization, p95_utilization, sample_count,"
	"  gpu_hours_allocated, gpu_hours_used, gpu_hours_idle)"
	" SELECT n.*, g.al, g.us, g.id"
	" FROM (SELECT w.cluster_name, w.namespace, to_timestamp($1::bigint),"
	"   sum(coalesce(h.gpu_request, w.gpu_request))::float8 / count(DISTINCT h.sampled_at),"
	"   " STATS("h.gpu_utilization") ", count(h.gpu_utilization)"
	"  FROM workload_utilization_history h"
	"  JOIN gpu_workload w ON w.cluster_name = h.cluster_name AND w.uid = h.workload_uid"
	"  WHERE" IN_HOUR("h.sampled_at")
	"  GROUP BY w.cluster_name, w.namespace) AS n (cluster_name, namespace, hour, alloc, a, mx, mn, p50, p95, cnt)"
	" LEFT JOIN (SELECT cluster_name, namespace, sum(gpu_hours_allocated) AS al, sum(gpu_hours_used) AS us,"
	"   sum(gpu_hours_idle) AS id"
	"  FROM workload_hourly_stats WHERE stat_hour = to_timestamp($1::bigint) GROUP BY cluster_name, namespace) g"
	"  ON g.cluster_name = n.cluster_name AND g.namespace = n.namespace"
	" ON CONFLICT DO NOTHING";

/* clang-format on */

/* The statements of one hour, in order: clusters sum their node rows, namespaces their workload rows. */
static const struct {
	const char *sql, *what;
	int n_params; /* $1 the hour; $2 the idle threshold */
} hour_steps[] = {
    {SQL_NODE, "node_hourly_stats", 2},
    {SQL_CLUSTER, "cluster_hourly_stats", 1},
    {SQL_WORKLOAD, "workload_hourly_stats", 2},
    {SQL_NAMESPACE, "namespace_hourly_stats", 1},
};

/* One hour in its own transaction; *done: it was this call that rolled it up. */
static int roll_hour(PGconn *c, int64_t hour_s, double idle_threshold, bool *done, char err[FL_ERR_LEN])
{
	char h[24], thr[32], lock[96];
	snprintf(h, sizeof(h), "%" PRId64, hour_s);
	snprintf(thr, sizeof(thr), "%.17g", idle_threshold);
	snprintf(lock, sizeof(lock), "SELECT pg_advisory_xact_lock(%d, %d)", HUB_HISTORY_LOCK_CLASS,
	         HUB_ROLLUP_LOCK_KEY);
	const char *v[] = {h, thr};
	PGresult *r = NULL;
	*done = false;
	int rv = hub_sql_exec(c, "BEGIN", 0, NULL, PGRES_COMMAND_OK, NULL, "BEGIN", err);
	if (rv != FL_OK)
		return rv;
	if ((rv = hub_sql_exec(c, lock, 0, NULL, PGRES_TUPLES_OK, NULL, "rollup lock", err)) == FL_OK &&
	    (rv = hub_sql_exec(c, SQL_CLAIM, 2, v, PGRES_COMMAND_OK, &r, "rollup_hour", err)) == FL_OK) {
		*done = strcmp(PQcmdTuples(r), "1") == 0;
		PQclear(r);
	}
	for (size_t k = 0; rv == FL_OK && *done && k < sizeof(hour_steps) / sizeof(hour_steps[0]); k++)
		rv = hub_sql_exec(c, hour_steps[k].sql, hour_steps[k].n_params, v, PGRES_COMMAND_OK, NULL,
		                  hour_steps[k].what, err);
	if (rv == FL_OK)
		rv = hub_sql_exec(c, "COMMIT", 0, NULL, PGRES_COMMAND_OK, NULL, "COMMIT", err);
	if (rv != FL_OK) {
		PQclear(PQexec(c, "ROLLBACK"));
		*done = false;
	}
	return rv;
}

int hub_rollup_run(PGconn *c, int64_t now_ms, int64_t retention_ms, double idle_threshold, int max_hours, int *hours,
                   char err[FL_ERR_LEN])
{
	*hours = 0;
	int64_t now_s = now_ms / 1000, cutoff_s = (now_ms - retention_ms + 999) / 1000;
	/* Newest: the last hour that ended SETTLE_S ago; oldest: the first that starts within the retention
	 * (an hour starting before it would be deleted by the next upkeep and rolled up again). */
	int64_t newest = (now_s - SETTLE_S) / HOUR_S * HOUR_S - HOUR_S;
	int64_t oldest = (cutoff_s + HOUR_S - 1) / HOUR_S * HOUR_S;
	if (max_hours <= 0 || newest < oldest)
		return FL_OK;
	char a[24], b[24], n[16];
	snprintf(a, sizeof(a), "%" PRId64, newest);
	snprintf(b, sizeof(b), "%" PRId64, oldest);
	snprintf(n, sizeof(n), "%d", max_hours);
	const char *v[] = {a, b, n};
	PGresult *r = NULL;
	int rv = hub_sql_exec(c, SQL_MISSING, 3, v, PGRES_TUPLES_OK, &r, "rollup: listing hours", err);
	if (rv != FL_OK)
		return rv;
	for (int i = 0; i < PQntuples(r) && rv == FL_OK; i++) {
		int64_t hour = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		bool done;
		char why[FL_ERR_LEN];
		if ((rv = roll_hour(c, hour, idle_threshold, &done, why)) != FL_OK) {
			time_t t = (time_t)hour;
			struct tm tm;
			char name[32];
			gmtime_r(&t, &tm);
			strftime(name, sizeof(name), "%Y-%m-%dT%H:00Z", &tm);
			fl_seterr(err, rv, "rollup of the hour %s: %s", name, why);
		}
		*hours += done;
	}
	PQclear(r);
	return rv;
}

/* The rollup tables, each deleted by stat_hour after the rollup retention. */
static const char *const rollup_tables[] = {"node_hourly_stats", "cluster_hourly_stats", "namespace_hourly_stats",
                                            "workload_hourly_stats", "rollup_hour"};

int hub_rollup_prune(PGconn *c, int64_t now_ms, int64_t retention_ms, int64_t *rows, char err[FL_ERR_LEN])
{
	*rows = 0;
	char ms[24];
	snprintf(ms, sizeof(ms), "%" PRId64, now_ms - retention_ms);
	const char *v[] = {ms};
	int rv = FL_OK;
	for (size_t t = 0; t < sizeof(rollup_tables) / sizeof(rollup_tables[0]) && rv == FL_OK; t++) {
		char sql[128];
		PGresult *r = NULL;
		snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE stat_hour < to_timestamp($1::bigint / 1000.0)",
		         rollup_tables[t]);
		if ((rv = hub_sql_exec(c, sql, 1, v, PGRES_COMMAND_OK, &r, rollup_tables[t], err)) == FL_OK) {
			*rows += strtoll(PQcmdTuples(r), NULL, 10);
			PQclear(r);
		}
	}
	return rv;
}
