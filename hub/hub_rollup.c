/* hub_rollup.c — hourly rollups per cluster, namespace and workload. */
#include "hub_rollup.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hub_history.h"
#include "hub_sql.h"

#define HOUR_S   3600LL
#define SETTLE_S 60LL /* an hour is rolled up once its end is this far in the past (late frames) */

/* The statements are laid out by clause, which clang-format would scatter. */
/* clang-format off */

/* The samples of the hour starting at $1 (Unix seconds). */
#define IN_HOUR(col) " " col " >= to_timestamp($1::bigint) AND " col " < to_timestamp($1::bigint + 3600)"

/* avg, max, min, p50, p95 of col. */
#define STATS(col) \
	"avg(" col "), max(" col "), min(" col "), percentile_cont(0.5) WITHIN GROUP (ORDER BY " col ")," \
	" percentile_cont(0.95) WITHIN GROUP (ORDER BY " col ")"

/* The hours in [$2, $1] (hour starts, Unix seconds) that rollup_hour does not list, newest first. */
static const char SQL_MISSING[] =
	"SELECT extract(epoch FROM h)::bigint"
	" FROM generate_series(to_timestamp($1::bigint), to_timestamp($2::bigint), interval '-1 hour') AS h"
	" WHERE NOT EXISTS (SELECT 1 FROM rollup_hour r WHERE r.stat_hour = h)"
	" ORDER BY h DESC LIMIT $3::int";

/* Claims the hour: no row when another hub rolled it up while this one waited for the lock. */
static const char SQL_CLAIM[] =
	"INSERT INTO rollup_hour (stat_hour) VALUES (to_timestamp($1::bigint)) ON CONFLICT DO NOTHING";

/* Per cluster with overview samples in the hour: capacity and allocation from them, utilization from its
 * node samples (NULL figures and a count of 0 without any). */
static const char SQL_CLUSTER[] =
	"INSERT INTO cluster_hourly_stats (cluster_name, stat_hour, total_gpu_capacity, allocated_gpu_count,"
	"  allocation_rate, avg_utilization, max_utilization, min_utilization, p50_utilization, p95_utilization,"
	"  sample_count)"
	" SELECT s.cluster_name, to_timestamp($1::bigint), s.cap, s.alloc, s.rate, u.a, u.mx, u.mn, u.p50, u.p95,"
	"  coalesce(u.n, 0)"
	" FROM (SELECT cluster_name, max(gpus_allocatable) AS cap, avg(gpus_allocated) AS alloc,"
	"   avg(allocation_rate) AS rate"
	"  FROM cluster_sample_history WHERE" IN_HOUR("sampled_at") " GROUP BY cluster_name) s"
	" LEFT JOIN (SELECT cluster_name, " STATS("gpu_utilization") ", count(*)"
	"  FROM node_utilization_history WHERE" IN_HOUR("sampled_at") " GROUP BY cluster_name)"
	"  AS u (cluster_name, a, mx, mn, p50, p95, n) USING (cluster_name)"
	" ON CONFLICT DO NOTHING";

/* The workload samples of the hour with their workload's row; a sample without the request or pod count
 * (written before 007_lens.sql) takes the row's current one. */
#define WORKLOAD_SAMPLES \
	" FROM workload_utilization_history h" \
	" JOIN gpu_workload w ON w.cluster_name = h.cluster_name AND w.uid = h.workload_uid" \
	" WHERE" IN_HOUR("h.sampled_at")

static const char SQL_WORKLOAD[] =
	"INSERT INTO workload_hourly_stats (cluster_name, workload_uid, namespace, workload_name, workload_type,"
	"  workload_status, stat_hour, allocated_gpu_count, requested_gpu_count, avg_utilization, max_utilization,"
	"  min_utilization, p50_utilization, p95_utilization, avg_replica_count, max_replica_count,"
	"  min_replica_count, sample_count)"
	" SELECT w.cluster_name, w.uid, w.namespace, w.name, w.kind, w.status, to_timestamp($1::bigint),"
	"  avg(coalesce(h.gpu_request, w.gpu_request)), max(coalesce(h.gpu_request, w.gpu_request)),"
	"  " STATS("h.gpu_utilization") ","
	"  avg(coalesce(h.pods, w.pods)), max(coalesce(h.pods, w.pods)), min(coalesce(h.pods, w.pods)), count(*)"
	WORKLOAD_SAMPLES
	" GROUP BY w.cluster_name, w.uid"
	" ON CONFLICT DO NOTHING";

/* Per namespace: the GPUs its workloads requested, summed per sample time and averaged over those times. */
static const char SQL_NAMESPACE[] =
	"INSERT INTO namespace_hourly_stats (cluster_name, namespace, stat_hour, allocated_gpu_count,"
	"  avg_utilization, max_utilization, min_utilization, p50_utilization, p95_utilization, sample_count)"
	" SELECT w.cluster_name, w.namespace, to_timestamp($1::bigint),"
	"  sum(coalesce(h.gpu_request, w.gpu_request))::float8 / count(DISTINCT h.sampled_at),"
	"  " STATS("h.gpu_utilization") ", count(*)"
	WORKLOAD_SAMPLES
	" GROUP BY w.cluster_name, w.namespace"
	" ON CONFLICT DO NOTHING";

/* clang-format on */

/* One hour in its own transaction; *done: it was this call that rolled it up. */
static int roll_hour(PGconn *c, int64_t hour_s, bool *done, char err[FL_ERR_LEN])
{
	char h[24], lock[96];
	snprintf(h, sizeof(h), "%" PRId64, hour_s);
	snprintf(lock, sizeof(lock), "SELECT pg_advisory_xact_lock(%d, %d)", HUB_HISTORY_LOCK_CLASS,
	         HUB_ROLLUP_LOCK_KEY);
	const char *v[] = {h};
	PGresult *r = NULL;
	*done = false;
	int rv = hub_sql_exec(c, "BEGIN", 0, NULL, PGRES_COMMAND_OK, NULL, "BEGIN", err);
	if (rv != FL_OK)
		return rv;
	if ((rv = hub_sql_exec(c, lock, 0, NULL, PGRES_TUPLES_OK, NULL, "rollup lock", err)) == FL_OK &&
	    (rv = hub_sql_exec(c, SQL_CLAIM, 1, v, PGRES_COMMAND_OK, &r, "rollup_hour", err)) == FL_OK) {
		*done = strcmp(PQcmdTuples(r), "1") == 0;
		PQclear(r);
	}
	if (rv == FL_OK && *done &&
	    (rv = hub_sql_exec(c, SQL_CLUSTER, 1, v, PGRES_COMMAND_OK, NULL, "cluster_hourly_stats", err)) == FL_OK &&
	    (rv = hub_sql_exec(c, SQL_NAMESPACE, 1, v, PGRES_COMMAND_OK, NULL, "namespace_hourly_stats", err)) == FL_OK)
		rv = hub_sql_exec(c, SQL_WORKLOAD, 1, v, PGRES_COMMAND_OK, NULL, "workload_hourly_stats", err);
	if (rv == FL_OK)
		rv = hub_sql_exec(c, "COMMIT", 0, NULL, PGRES_COMMAND_OK, NULL, "COMMIT", err);
	if (rv != FL_OK) {
		PQclear(PQexec(c, "ROLLBACK"));
		*done = false;
	}
	return rv;
}

int hub_rollup_run(PGconn *c, int64_t now_ms, int64_t retention_ms, int max_hours, int *hours, char err[FL_ERR_LEN])
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
		if ((rv = roll_hour(c, hour, &done, why)) != FL_OK) {
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
