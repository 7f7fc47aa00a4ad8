/* hub_workload_read.c — the workload reads behind GET /v1/workloads and /v1/workloads/{uid}, and the name
 * pattern the Lens workload routes share. */
#include "hub_workload_read.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "hub_sql.h"

const char *const hub_workload_order_names[HUB_WL_ORDER_COUNT] = {
    "cluster_name", "name", "namespace", "kind", "status", "gpu_request", "gpu_utilization", "created_at", "ended_at"};

/* --- reading ------------------------------------------------------------------------------------------ */

#define RFC3339(col) HUB_SQL_RFC3339(col)

/* A workload row w (gpu_workload): utilization and updated_at as HUB_WL_SQL_UTIL and HUB_WL_SQL_SEEN say. */
#define WORKLOAD_ROW                                                                                                   \
	"'cluster_name', w.cluster_name, 'uid', w.uid, 'kind', w.kind, 'api_version', w.api_version, 'namespace',"     \
	" w.namespace, 'name', w.name, 'status', w.status, 'gpu_request', w.gpu_request, 'pods', w.pods,"              \
	" 'gpu_utilization', round((" HUB_WL_SQL_UTIL("w") ")::numeric, 2), 'created_at', " RFC3339(                   \
	    "w.created_at") ", 'ended_at', " RFC3339("w.ended_at") ", 'updated_at', " RFC3339(HUB_WL_SQL_SEEN("w"))

/* The ORDER BY of each hub_workload_order, [0] ascending and [1] descending (the whole order reversed).
 * Every key ends with the unique (cluster_name, uid), so pages never overlap. w.util is the latest
 * utilization, computed over the matching rows only when the order needs it (hub_workload_list). */
static const char *const order_sql[HUB_WL_ORDER_COUNT][2] = {
    {"w.cluster_name ASC, w.namespace ASC, w.name ASC, w.uid ASC",
     "w.cluster_name DESC, w.namespace DESC, w.name DESC, w.uid DESC"},
    {"w.name ASC, w.cluster_name ASC, w.namespace ASC, w.uid ASC",
     "w.name DESC, w.cluster_name DESC, w.namespace DESC, w.uid DESC"},
    {"w.namespace ASC, w.cluster_name ASC, w.name ASC, w.uid ASC",
     "w.namespace DESC, w.cluster_name DESC, w.name DESC, w.uid DESC"},
    {"w.kind ASC, w.cluster_name ASC, w.namespace ASC, w.name ASC, w.uid ASC",
     "w.kind DESC, w.cluster_name DESC, w.namespace DESC, w.name DESC, w.uid DESC"},
    {"w.status ASC, w.cluster_name ASC, w.namespace ASC, w.name ASC, w.uid ASC",
     "w.status DESC, w.cluster_name DESC, w.namespace DESC, w.name DESC, w.uid DESC"},
    {"w.gpu_request ASC, w.cluster_name ASC, w.namespace ASC, w.name ASC, w.uid ASC",
     "w.gpu_request DESC, w.cluster_name DESC, w.namespace DESC, w.name DESC, w.uid DESC"},
    {"w.util ASC NULLS FIRST, w.cluster_name ASC, w.namespace ASC, w.name ASC, w.uid ASC",
     "w.util DESC NULLS LAST, w.cluster_name DESC, w.namespace DESC, w.name DESC, w.uid DESC"},
    {"w.created_at ASC NULLS FIRST, w.cluster_name ASC, w.namespace ASC, w.name ASC, w.uid ASC",
     "w.created_at DESC NULLS LAST, w.cluster_name DESC, w.namespace DESC, w.name DESC, w.uid DESC"},
    {"w.ended_at ASC NULLS FIRST, w.cluster_name ASC, w.namespace ASC, w.name ASC, w.uid ASC",
     "w.ended_at DESC NULLS LAST, w.cluster_name DESC, w.namespace DESC, w.name DESC, w.uid DESC"},
};

int hub_workload_like(const char *s, char *out, size_t cap)
{
	size_t n = 0;
	if (s[0] != '\0' && n < cap)
		out[n++] = '%';
	for (; *s != '\0' && n + 2 < cap; s++) {
		if (*s == '%' || *s == '_' || *s == '\\')
			out[n++] = '\\';
		out[n++] = *s;
	}
	if (*s != '\0' || n + 2 > cap) {
		if (cap > 0)
			out[0] = '\0';
		return FL_EINVAL;
	}
	if (n > 0)
		out[n++] = '%';
	out[n] = '\0';
	return FL_OK;
}

/* The list's statement: CTE m (not materialized, so the page and the count are each planned on their own
 * and the page can walk an index in its order and stop at LIMIT), the page of m and its count. The filters
 * are written so PostgreSQL's indexes apply (012_list_indexes.sql): the clusters as "= ANY", the name as
 * LIKE (pg_trgm). With PQexecParams every statement is planned for its own values, so an empty filter
 * ($n = '') folds away. */
int hub_workload_list(PGconn *c, const hub_workload_query *q, char **json, char err[FL_ERR_LEN])
{
	*json = NULL;
	if ((unsigned)q->order >= HUB_WL_ORDER_COUNT)
		return fl_seterr(err, FL_EINVAL, "unknown order");
	const char *order = order_sql[q->order][q->desc ? 1 : 0];
	/* The latest utilization costs an index probe per row: only the order by it needs it for every row. */
	const char *util = q->order == HUB_WL_ORDER_GPU_UTILIZATION ? HUB_WL_SQL_UTIL("w") : "NULL::float8";
	char like[2 * HUB_WORKLOAD_NAME_MAX + 3];
	if (hub_workload_like(q->name, like, sizeof(like)) != FL_OK)
		return fl_seterr(err, FL_EINVAL, "list workloads: the name is too long");
	char sql[4096];
	int len =
	    snprintf(sql, sizeof(sql),
	             "WITH m AS NOT MATERIALIZED (SELECT w.*, %s AS util FROM gpu_workload w"
	             " WHERE w.cluster_name = ANY ($1::text[])"
	             " AND ($2 = '' OR w.namespace = $2) AND ($3 = '' OR w.kind = $3) AND ($4 = '' OR w.name LIKE $4)"
	             " AND (cardinality($5::text[]) = 0 OR w.status = ANY ($5::text[])))"
	             " SELECT json_build_object('data', (SELECT coalesce(json_agg(json_build_object(" WORKLOAD_ROW
	             ") ORDER BY %s), '[]') FROM (SELECT * FROM m w ORDER BY %s LIMIT $6::bigint OFFSET $7::bigint) w),"
	             " 'total', (SELECT count(*) FROM m))::text",
	             util, order, order);
	if (len < 0 || (size_t)len >= sizeof(sql))
		return fl_seterr(err, FL_EINVAL, "list workloads: the query does not fit its buffer");
	hub_sql_page_args a;
	int rv = hub_sql_page_args_init(&a, q->clusters, q->n_clusters, q->statuses, q->n_statuses, q->limit, q->offset,
	                                err);
	if (rv != FL_OK)
		return rv;
	const char *v[] = {a.clusters, q->ns, q->kind, like, a.statuses, a.limit, a.offset};
	rv = hub_sql_one_text(c, sql, 7, v, "list workloads", json, err);
	hub_sql_page_args_free(&a);
	return rv;
}

static const char SQL_GET[] =
    "SELECT coalesce(json_agg(json_build_object(" WORKLOAD_ROW ", 'gpu_pods', (SELECT coalesce(json_agg("
    "json_build_object('uid', p.uid, 'namespace', p.namespace, 'name', p.name, 'node_name', p.node_name,"
    " 'gpus', p.gpus, 'phase', p.phase, 'running', p.running, 'gpu_utilization',"
    " round((" HUB_WL_SQL_POD_UTIL("p") ")::numeric, 2), 'created_at', " RFC3339(
        "p.created_at") ") ORDER BY p.name, p.uid), '[]')"
                        " FROM gpu_pod p WHERE p.cluster_name = w.cluster_name AND p.workload_uid = w.uid))"
                        " ORDER BY w.cluster_name), '[]')::text"
                        " FROM gpu_workload w WHERE w.uid = $1 AND w.cluster_name IN (SELECT unnest($2::text[]))";

int hub_workload_get(PGconn *c, const char *const *clusters, size_t n_clusters, const char *uid, char **json,
                     char err[FL_ERR_LEN])
{
	return hub_sql_one_text_in(c, SQL_GET, uid, clusters, n_clusters, "read workload", json, err);
}
