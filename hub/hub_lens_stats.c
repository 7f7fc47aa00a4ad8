/* hub_lens_stats.c — the Lens face's time series and hourly statistics, read from PostgreSQL. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "fl_time.h"
#include "hub_history.h"
#include "hub_lens_int.h"
#include "hub_sql.h"

#define MAX_UNIX_S      253402300799LL /* 9999-12-31T23:59:59Z */
#define HOURLY_ROWS     1000           /* rows per hourly-stats page (Lens: at most 1000) */
#define HOURLY_SIZE     "10000"        /* the page_size Lens answers, whatever was asked */
#define MAX_PAGE        1000000000LL   /* beyond any table: bounds the offset's arithmetic */
#define GRANULARITY_LEN 64
#define STR_(x)         #x
#define STR(x)          STR_(x)

/* --- SQL ---------------------------------------------------------------------------------------------- */

/* The statements are laid out by clause, which clang-format would scatter. */
/* clang-format off */

/* The start of col's step bucket (Unix seconds): start + k * step, buckets aligned to start. */
#define BUCKET(col, start, step) \
	"(" start "::bigint + floor((extract(epoch FROM " col ") - " start "::bigint) / " step "::bigint)::bigint * " \
	step "::bigint)"
/* col within [start, end], Unix seconds, both ends included. */
#define SECONDS_IN(col, start, end) \
	" " col " >= to_timestamp(" start "::bigint) AND " col " <= to_timestamp(" end "::bigint)"
/* col within [from, to], Unix milliseconds, both ends included. */
#define MS_IN(col, from, to) \
	" " col " >= to_timestamp(" from "::bigint / 1000.0) AND " col " <= to_timestamp(" to "::bigint / 1000.0)"
/* A timestamptz as RFC 3339 UTC to the second: the hour starts. */
#define RFC3339_S(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
/* Lens's time-series points [{timestamp, value}] of p (columns t, v), oldest first. */
#define POINTS(v) "json_agg(json_build_object('timestamp', t, 'value', " v ") ORDER BY t)"
/* [] without points, else the one series [{labels:{}, values:[…]}] (FleetLens keeps one figure, no labels). */
#define ONE_SERIES \
	"CASE WHEN count(*) = 0 THEN '[]'::json" \
	" ELSE json_build_array(json_build_object('labels', '{}'::json, 'values', " POINTS("v") ")) END"

/* The node and workload samples may carry no figure (NULL: the node or workload was there, unmeasured);
 * the series below leave them out, so a step without a figure has no point, as before such samples were
 * kept. */

/* $1 cluster, $2 node, $3 start, $4 end, $5 step. */
static const char SQL_NODE_HISTORY[] =
	"WITH p AS (SELECT " BUCKET("sampled_at", "$3", "$5") " AS t, avg(gpu_utilization) AS v"
	"  FROM node_utilization_history"
	"  WHERE cluster_name = $1 AND node_name = $2 AND" SECONDS_IN("sampled_at", "$3", "$4")
	"  AND gpu_utilization IS NOT NULL"
	"  GROUP BY 1)"
	" SELECT json_build_object('node_name', $2::text, 'cpu_utilization', NULL, 'mem_utilization', NULL,"
	"  'gpu_utilization', " ONE_SERIES ", 'gpu_allocation', NULL)::text FROM p";

/* $1 cluster, $2 start, $3 end, $4 step. A bucket whose samples carry no utilization keeps its place in both
 * lists (the console reads them pairwise by index), with value null in utilization. */
static const char SQL_CLUSTER_HISTORY[] =
	"WITH p AS (SELECT " BUCKET("sampled_at", "$2", "$4") " AS t, avg(allocation_rate) AS a, avg(utilization) AS u"
	"  FROM cluster_sample_history WHERE cluster_name = $1 AND" SECONDS_IN("sampled_at", "$2", "$3")
	"  GROUP BY 1)"
	" SELECT json_build_object('allocationRate', coalesce(" POINTS("a") ", '[]'::json),"
	"  'utilization', coalesce(" POINTS("u") ", '[]'::json), 'vramUtilization', '[]'::json)::text FROM p";

/* $1 cluster, $2 kind, $3 a part of the name, $4 namespace ('' any), $5 start, $6 end, $7 step. NULL when no
 * workload matches. */
static const char SQL_WORKLOAD_HISTORY[] =
	"WITH w AS (SELECT uid FROM gpu_workload"
	"  WHERE cluster_name = $1 AND kind = $2 AND strpos(name, $3) > 0 AND ($4 = '' OR namespace = $4)"
	"  ORDER BY created_at DESC NULLS LAST, uid DESC LIMIT 1),"
	" p AS (SELECT " BUCKET("h.sampled_at", "$5", "$7") " AS t, avg(h.gpu_utilization) AS v"
	"  FROM workload_utilization_history h JOIN w ON h.workload_uid = w.uid"
	"  WHERE h.cluster_name = $1 AND" SECONDS_IN("h.sampled_at", "$5", "$6") " AND h.gpu_utilization IS NOT NULL"
	"  GROUP BY 1)"
	" SELECT CASE WHEN EXISTS (SELECT 1 FROM w) THEN json_build_object('serial', 0, 'series', " ONE_SERIES ","
	"  'config', json_build_object('y_axis_unit', '%')) END::text FROM p";

/* $1 cluster, $2 pod uid, $3 from (ms), $4 to (ms), $5 granularity. The pod as the hub holds it, else as it
 * was when it left; NULL when neither knows it. */
static const char SQL_POD_HISTORY[] =
	"WITH pod AS (SELECT name, node_name FROM"
	"  (SELECT 0 AS o, name, node_name FROM gpu_pod WHERE cluster_name = $1 AND uid = $2"
	"   UNION ALL SELECT 1, name, node_name FROM gpu_pod_history WHERE cluster_name = $1 AND uid = $2) x"
	"  ORDER BY o LIMIT 1),"
	" p AS (SELECT (floor(extract(epoch FROM h.sampled_at) / 3600) * 3600)::bigint AS t, avg(h.gpu_utilization) AS v"
	"  FROM node_utilization_history h JOIN pod ON h.node_name = pod.node_name"
	"  WHERE h.cluster_name = $1 AND" MS_IN("h.sampled_at", "$3", "$4") " AND h.gpu_utilization IS NOT NULL"
	"  GROUP BY 1)"
	" SELECT (SELECT json_build_object('pod_uid', $2::text, 'pod_name', pod.name, 'granularity', $5::text,"
	"  'data_points', coalesce((SELECT json_agg(json_build_object('timestamp', " RFC3339_S("to_timestamp(t)") ","
	"   'gpu_utilization', v, 'memory_used_mb', NULL, 'power_watts', NULL, 'temperature_celsius', NULL)"
	"   ORDER BY t) FROM p), '[]'::json)) FROM pod)::text";

/* $1 cluster, $2 from (ms), $3 to (ms). */
static const char SQL_NAMESPACES[] =
	"SELECT coalesce(json_agg(namespace ORDER BY namespace COLLATE \"C\"), '[]'::json)::text"
	" FROM (SELECT DISTINCT namespace FROM namespace_hourly_stats"
	"  WHERE cluster_name = $1 AND" MS_IN("stat_hour", "$2", "$3") ") n";

/* The hourly-stats wrapper over the rows of CTE f, in the order %s (both %s: the same ORDER BY), off the
 * offset and page the page echoed; row: the JSON of one row. */
#define HOURLY_PAGE(off, page, row) \
	" pg AS (SELECT * FROM f ORDER BY %s LIMIT " STR(HOURLY_ROWS) " OFFSET " off "::bigint)" \
	" SELECT json_build_object('total', (SELECT count(*) FROM f), 'page', " page "::bigint," \
	"  'page_size', " HOURLY_SIZE "," \
	"  'total_pages', (SELECT ceil(count(*) / " STR(HOURLY_ROWS) ".0)::bigint FROM f)," \
	"  'data', coalesce((SELECT json_agg(" row " ORDER BY %s) FROM pg), '[]'::json))::text"
/* An hour without utilization samples (sample_count 0) answers 0, as Lens does: the Lens console formats
 * these figures with toFixed and fails on null. */
#define HOURLY_UTILIZATION \
	" 'avg_utilization', coalesce(avg_utilization, 0), 'max_utilization', coalesce(max_utilization, 0)," \
	" 'min_utilization', coalesce(min_utilization, 0), 'p50_utilization', coalesce(p50_utilization, 0)," \
	" 'p95_utilization', coalesce(p95_utilization, 0),"
#define HOURLY_STAMPS \
	" 'created_at', " HUB_SQL_RFC3339("created_at") ", 'updated_at', " HUB_SQL_RFC3339("updated_at")

/* $1 cluster, $2 from (ms), $3 to (ms), $4 offset, $5 page. */
static const char SQL_CLUSTER_HOURLY[] =
	"WITH f AS (SELECT * FROM cluster_hourly_stats WHERE cluster_name = $1 AND" MS_IN("stat_hour", "$2", "$3") "),"
	HOURLY_PAGE("$4", "$5",
		"json_build_object('id', id, 'cluster_name', cluster_name, 'stat_hour', " RFC3339_S("stat_hour") ","
		" 'total_gpu_capacity', total_gpu_capacity, 'allocated_gpu_count', allocated_gpu_count,"
		" 'allocation_rate', allocation_rate," HOURLY_UTILIZATION " 'sample_count', sample_count," HOURLY_STAMPS ")");

/* $1 cluster, $2 from (ms), $3 to (ms), $4 namespace, $5 workload name, $6 kind ('' any), $7 offset, $8 page.
 * FleetLens keeps no GPU memory, labels, annotations or owner of a workload: null, {} and "". */
static const char SQL_WORKLOAD_HOURLY[] =
	"WITH f AS (SELECT * FROM workload_hourly_stats WHERE cluster_name = $1 AND" MS_IN("stat_hour", "$2", "$3")
	"  AND ($4 = '' OR namespace = $4) AND ($5 = '' OR workload_name = $5) AND ($6 = '' OR workload_type = $6)),"
	HOURLY_PAGE("$7", "$8",
		"json_build_object('id', id, 'cluster_name', cluster_name, 'namespace', namespace,"
		" 'workload_name', workload_name, 'workload_type', workload_type,"
		" 'stat_hour', " RFC3339_S("stat_hour") ","
		" 'allocated_gpu_count', allocated_gpu_count, 'requested_gpu_count', requested_gpu_count," HOURLY_UTILIZATION
		" 'avg_gpu_memory_used', NULL, 'max_gpu_memory_used', NULL, 'avg_gpu_memory_total', NULL,"
		" 'avg_replica_count', avg_replica_count, 'max_replica_count', max_replica_count,"
		" 'min_replica_count', min_replica_count, 'workload_status', workload_status, 'sample_count', sample_count,"
		" 'owner_uid', '', 'owner_name', '', 'labels', '{}'::json, 'annotations', '{}'::json," HOURLY_STAMPS ")");

/* clang-format on */

/* --- parameters ---------------------------------------------------------------------------------------- */

#define NUM_LEN 24 /* an int64 as decimal text, with the NUL */

/* x as decimal text into out (NUM_LEN bytes): the SQL parameters. */
static void i64(char *out, int64_t x)
{
	snprintf(out, NUM_LEN, "%" PRId64, x);
}

/* The history routes' start and end (Unix seconds, required) and step (seconds, default 60, > 0), at most
 * HUB_HISTORY_MAX_POINTS steps apart, as decimal text. 0, or the answer's status. */
static int time_range(hub_lens_req *q, char start[NUM_LEN], char end[NUM_LEN], char step[NUM_LEN])
{
	int64_t s, e, st;
	int rv;
	if ((rv = hub_lens_int(q, "start", INT64_MIN, &s)) != 0 || (rv = hub_lens_int(q, "end", INT64_MIN, &e)) != 0 ||
	    (rv = hub_lens_int(q, "step", 60, &st)) != 0)
		return rv;
	if (s == INT64_MIN || e == INT64_MIN)
		return hub_lens_fail(q, HUB_LENS_BAD_PARAM, "start and end are required");
	if (st <= 0)
		return hub_lens_fail(q, HUB_LENS_BAD_PARAM, "step must be a positive number of seconds");
	if (s < 0 || e > MAX_UNIX_S || e < s)
		return hub_lens_fail(q, HUB_LENS_BAD_PARAM, "start and end must be Unix seconds, start not after end");
	if ((e - s) / st > HUB_HISTORY_MAX_POINTS)
		return hub_lens_fail(q, HUB_LENS_BAD_PARAM, "too many points: (end - start) / step is above %d",
		                     HUB_HISTORY_MAX_POINTS);
	i64(start, s);
	i64(end, e);
	i64(step, st);
	return 0;
}

/* gpu-aggregation's start_time and end_time (RFC 3339, required) as Unix milliseconds text. */
static int rfc3339_range(hub_lens_req *q, char from[NUM_LEN], char to[NUM_LEN])
{
	int64_t a, b;
	int rv;
	if ((rv = hub_lens_rfc3339(q, "start_time", &a)) != 0 || (rv = hub_lens_rfc3339(q, "end_time", &b)) != 0)
		return rv;
	i64(from, a);
	i64(to, b);
	return 0;
}

/* The hourly-stats page: ?page echoed (0 when absent), its offset (pages of HOURLY_ROWS; < 1 is the first),
 * and the ORDER BY from order_by (by[k] names the column of word[k], else stat_hour) and order_direction. */
static int hourly_page(hub_lens_req *q, const char *const *word, const char *const *by, size_t n, char page[NUM_LEN],
                       char off[NUM_LEN], char order[96])
{
	char ob[64], dir[16];
	int64_t p;
	int rv;
	if ((rv = hub_lens_int(q, "page", 0, &p)) != 0 || (rv = hub_lens_str(q, "order_by", ob, sizeof(ob))) != 0 ||
	    (rv = hub_lens_str(q, "order_direction", dir, sizeof(dir))) != 0)
		return rv;
	const char *col = "stat_hour";
	for (size_t k = 0; k < n; k++)
		if (strcmp(ob, word[k]) == 0)
			col = by[k];
	const char *d = strcmp(dir, "desc") == 0 ? "DESC" : "ASC";
	snprintf(order, 96, "%s %s NULLS LAST, id %s", col, d, d);
	i64(page, p);
	i64(off, ((p > MAX_PAGE ? MAX_PAGE : p > 1 ? p : 1) - 1) * HOURLY_ROWS);
	return 0;
}

/* The cluster the request is about ("" when none resolved: no rows). */
static const char *cluster_of(const hub_lens_req *q)
{
	return q->cluster_name != NULL ? q->cluster_name : "";
}

/* --- routes ---------------------------------------------------------------------------------------------- */

int hub_lens_node_history(hub_lens_req *q)
{
	char s[NUM_LEN], e[NUM_LEN], st[NUM_LEN];
	int rv = time_range(q, s, e, st);
	if (rv != 0)
		return rv;
	const char *v[] = {cluster_of(q), q->item, s, e, st};
	return hub_lens_answer_sql(q, "node utilization history", SQL_NODE_HISTORY, 5, v, NULL);
}

int hub_lens_cluster_history(hub_lens_req *q)
{
	char s[NUM_LEN], e[NUM_LEN], st[NUM_LEN];
	int rv = time_range(q, s, e, st);
	if (rv != 0)
		return rv;
	const char *v[] = {cluster_of(q), s, e, st};
	return hub_lens_answer_sql(q, "cluster utilization history", SQL_CLUSTER_HISTORY, 4, v, NULL);
}

int hub_lens_workload_history(hub_lens_req *q)
{
	char kind[FL_NAME_LEN], name[FL_NAME_LEN], ns[FL_NAME_LEN], s[NUM_LEN], e[NUM_LEN], st[NUM_LEN];
	int rv;
	if ((rv = hub_lens_str(q, "kind", kind, sizeof(kind))) != 0 ||
	    (rv = hub_lens_str(q, "name", name, sizeof(name))) != 0 ||
	    (rv = hub_lens_str(q, "namespace", ns, sizeof(ns))) != 0)
		return rv;
	if (kind[0] == '\0' || name[0] == '\0')
		return hub_lens_fail(q, HUB_LENS_BAD_PARAM, "kind and name are required");
	if ((rv = time_range(q, s, e, st)) != 0)
		return rv;
	const char *v[] = {cluster_of(q), kind, name, ns, s, e, st};
	return hub_lens_answer_sql(q, "workload utilization history", SQL_WORKLOAD_HISTORY, 7, v, "workload not found");
}

int hub_lens_pod_history(hub_lens_req *q)
{
	if (!q->cluster_given)
		return hub_lens_fail(q, HUB_LENS_NOT_FOUND, "cluster is required");
	char gran[GRANULARITY_LEN], start[64], end[64], from[NUM_LEN], to[NUM_LEN];
	int64_t hours;
	int rv;
	if ((rv = hub_lens_int(q, "hours", 0, &hours)) != 0 ||
	    (rv = hub_lens_str(q, "granularity", gran, sizeof(gran))) != 0)
		return rv;
	if (gran[0] == '\0')
		snprintf(gran, sizeof(gran), "hourly");
	if (hours > 0) {
		if (hours > HUB_HISTORY_MAX_POINTS)
			return hub_lens_fail(q, HUB_LENS_BAD_PARAM, "hours must be at most %d", HUB_HISTORY_MAX_POINTS);
		int64_t now = fl_now_ms();
		i64(from, now - hours * 3600 * 1000);
		i64(to, now);
	} else {
		if ((rv = hub_lens_str(q, "start_time", start, sizeof(start))) != 0 ||
		    (rv = hub_lens_str(q, "end_time", end, sizeof(end))) != 0)
			return rv;
		if (start[0] == '\0' && end[0] == '\0')
			return hub_lens_fail(q, HUB_LENS_BAD_PARAM, "hours or start_time and end_time are required");
		if ((rv = rfc3339_range(q, from, to)) != 0)
			return rv;
	}
	const char *v[] = {cluster_of(q), q->item, from, to, gran};
	return hub_lens_answer_sql(q, "pod GPU history", SQL_POD_HISTORY, 5, v, "pod not found");
}

int hub_lens_namespaces(hub_lens_req *q)
{
	char from[NUM_LEN], to[NUM_LEN];
	int rv = rfc3339_range(q, from, to);
	if (rv != 0)
		return rv;
	const char *v[] = {cluster_of(q), from, to};
	return hub_lens_answer_sql(q, "namespaces", SQL_NAMESPACES, 3, v, NULL);
}

/* Runs an hourly-stats query (two %s: the order) with its parameters. */
static int hourly(hub_lens_req *q, const char *what, const char *fmt, const char *order, int n, const char *const *v)
{
	char sql[8192];
	int len = snprintf(sql, sizeof(sql), fmt, order, order);
	if (len < 0 || (size_t)len >= sizeof(sql))
		return hub_lens_db_fail(q, what, "the query does not fit its buffer");
	return hub_lens_answer_sql(q, what, sql, n, v, NULL);
}

int hub_lens_cluster_hourly(hub_lens_req *q)
{
	static const char *const word[] = {"utilization"}, *const by[] = {"avg_utilization"};
	char from[NUM_LEN], to[NUM_LEN], page[NUM_LEN], off[NUM_LEN], order[96];
	int rv;
	if ((rv = rfc3339_range(q, from, to)) != 0 || (rv = hourly_page(q, word, by, 1, page, off, order)) != 0)
		return rv;
	const char *v[] = {cluster_of(q), from, to, off, page};
	return hourly(q, "cluster hourly stats", SQL_CLUSTER_HOURLY, order, 5, v);
}

int hub_lens_workload_hourly(hub_lens_req *q)
{
	static const char *const word[] = {"utilization", "allocated_gpu_count"}, *const by[] = {"avg_utilization",
	                                                                                         "allocated_gpu_count"};
	char ns[FL_NAME_LEN], name[FL_NAME_LEN], kind[FL_NAME_LEN], from[NUM_LEN], to[NUM_LEN], page[NUM_LEN],
	    off[NUM_LEN], order[96];
	int rv;
	if ((rv = hub_lens_str(q, "namespace", ns, sizeof(ns))) != 0 ||
	    (rv = hub_lens_str(q, "workload_name", name, sizeof(name))) != 0 ||
	    (rv = hub_lens_str(q, "workload_type", kind, sizeof(kind))) != 0 ||
	    (rv = rfc3339_range(q, from, to)) != 0 || (rv = hourly_page(q, word, by, 2, page, off, order)) != 0)
		return rv;
	const char *v[] = {cluster_of(q), from, to, ns, name, kind, off, page};
	return hourly(q, "workload hourly stats", SQL_WORKLOAD_HOURLY, order, 8, v);
}
