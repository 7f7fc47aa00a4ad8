/* hub_lens_workloads.c — the Lens face's workload, pod and node-workload routes, each one parameterized
 * statement over gpu_workload, gpu_pod, gpu_pod_history and workload_utilization_history that builds Lens's
 * JSON itself (LENS_API.md 2 and 3). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_lens_int.h"
#include "hub_sql.h"
#include "hub_workload_read.h"

/* --- SQL pieces ------------------------------------------------------------------------------------- */

/* Times as integer Unix seconds (Go's Time.Unix truncates), 0 when NULL. */
#define UNIX_S(col) "coalesce(floor(extract(epoch FROM " col "))::bigint, 0)"
#define W_START     UNIX_S("w.created_at")
#define W_END       UNIX_S("w.ended_at")
/* /workloads' end_at: when it ended; while it runs, when the hub last saw it (HUB_WL_SQL_SEEN: Lens's
 * end_at is its last write, also while running: the Lens console shows 0 as 1970-01-01). */
#define W_SEEN  "coalesce(w.ended_at, " HUB_WL_SQL_SEEN("w") ")"
#define W_LAST  UNIX_S(W_SEEN)
#define X_START UNIX_S("x.start_at")
#define X_SEEN  UNIX_S("x.seen_at")
#define M_START UNIX_S("created_at")
#define M_END   UNIX_S("end_at")

/* Percentages as JSON numbers with 2 decimals (as /v1 rounds them); NULL stays NULL. */
#define PCT(x)     "round((" x ")::numeric, 2)::float8"
#define W_UTIL_RAW HUB_WL_SQL_UTIL("w") /* the latest sample's, while Running */
#define W_UTIL     PCT(W_UTIL_RAW)
#define U_AVG      PCT("u.a")
#define U_P50      PCT("u.p[1]")
#define U_P90      PCT("u.p[2]")
#define U_P95      PCT("u.p[3]")
#define R_AVG_GPUS PCT("avg(gpu_request)")
#define R_AVG_UTIL PCT("avg(gpu_utilization)")

/* Lens's colour of workload w's status (LENS_API.md 3). */
#define W_COLOR                                                                                                        \
	"CASE w.status WHEN 'Running' THEN 'green' WHEN 'Done' THEN 'blue' WHEN 'Deleted' THEN 'gray' WHEN 'Pending'"  \
	" THEN 'yellow' WHEN 'Failed' THEN 'red' ELSE '' END"

/* Every pod the hub knows of: the live ones (gpu_pod p, where the condition pc holds) and those that left it
 * (gpu_pod_history h where hc holds, unless live again). created_at = its creationTimestamp, else when the
 * hub first stored it; seen_at = when the hub last saw it (live: HUB_WL_SQL_POD_SEEN, its cluster's last
 * frame; gone: when it left); ended_at = when it left, NULL while live. A filter on its columns with
 * constants reaches both tables' indexes (PostgreSQL pushes it into each branch); a join does not (the
 * history branch is no simple scan), so a join goes into pc and hc (PODS_OF_W). */
#define P_SEEN HUB_WL_SQL_POD_SEEN("p")
#define PODS_IF(pc, hc)                                                                                                \
	"(SELECT p.cluster_name, p.uid, p.namespace, p.name, p.node_name, p.gpus, p.phase, p.running,"                 \
	" p.workload_uid, coalesce(p.created_at, p.first_seen) AS created_at, " P_SEEN " AS seen_at,"                  \
	" NULL::timestamptz AS ended_at, false AS deleted"                                                             \
	" FROM gpu_pod p WHERE " pc " UNION ALL SELECT h.cluster_name, h.uid, h.namespace, h.name, h.node_name,"       \
	" h.gpus, h.phase, false, h.workload_uid, coalesce(h.created_at, h.first_seen), h.ended_at, h.ended_at, true"  \
	" FROM gpu_pod_history h WHERE " hc " AND NOT EXISTS"                                                          \
	" (SELECT 1 FROM gpu_pod l WHERE l.cluster_name = h.cluster_name AND l.uid = h.uid))"
#define PODS PODS_IF("true", "true")
/* The pods of workload w (a LATERAL subquery): each branch reads its table's workload index. */
#define PODS_OF_W                                                                                                      \
	PODS_IF("p.cluster_name = w.cluster_name AND p.workload_uid = w.uid",                                          \
	        "h.cluster_name = w.cluster_name AND h.workload_uid = w.uid")

/* CTEs over the workloads of CTE pg: lp, the pods ever linked to them, start_at = the pod's creation (its
 * workload's when the spoke did not send one); alloc (uid, gpus), the GPUs of those pods; hours (uid, m),
 * {GPU model: GPU-hours} where a pod bound to a node adds gpus × (end − start) ÷ 3600 under its node's
 * gpu_name ("" if unknown), end = when it left, else now, but never after its workload ended. */
#define LINKED                                                                                                         \
	"lp AS (SELECT x.*, coalesce(x.created_at, w.created_at) AS start_at, w.ended_at AS w_ended FROM pg w"         \
	" CROSS JOIN LATERAL " PODS_OF_W " x),"                                                                        \
	" alloc AS (SELECT workload_uid AS uid, sum(gpus) AS gpus FROM lp GROUP BY 1),"                                \
	" hours AS (SELECT uid, json_object_agg(model, h ORDER BY model) AS m FROM (SELECT lp.workload_uid AS uid,"    \
	" coalesce(n.gpu_name, '') AS model, sum(lp.gpus * greatest(0, extract(epoch FROM least(coalesce(lp.ended_at," \
	" now()), coalesce(lp.w_ended, 'infinity')) - lp.start_at)) / 3600)::float8 AS h FROM lp LEFT JOIN node n"     \
	" ON n.cluster_name = lp.cluster_name AND n.name = lp.node_name WHERE lp.gpus > 0 AND lp.node_name <> ''"      \
	" AND lp.start_at IS NOT NULL GROUP BY 1, 2) y GROUP BY 1)"

/* The uid search of /workloads/{uid} and its hierarchy: $1 the uid, $2 the clusters to search (text[]) in
 * order; the first that has it wins. */
#define FIND_UID                                                                                                       \
	"SELECT w.* FROM gpu_workload w WHERE w.uid = $1 AND w.cluster_name = ANY ($2::text[])"                        \
	" ORDER BY array_position($2::text[], w.cluster_name) LIMIT 1"

/* Workload w as a hierarchy node; FleetLens keeps only top-level workloads, so children is always []. */
#define W_TREE                                                                                                         \
	"json_build_object('kind', w.kind, 'name', w.name, 'namespace', w.namespace, 'uid', w.uid, 'children', "       \
	"'[]'::json)"

/* The item of /workloads: w a workload of pg joined to alloc a, hours h and util u. */
#define WORKLOAD_ITEM                                                                                                  \
	"json_build_object('kind', w.kind, 'name', w.name, 'namespace', w.namespace, 'uid', w.uid, 'gpu_allocated',"   \
	" CASE WHEN w.status IN ('Running', 'Pending') THEN w.gpu_request ELSE coalesce(a.gpus, 0) END, "              \
	"'gpu_allocation', coalesce(h.m, '{}'), 'status', w.status, 'status_color', " W_COLOR ", 'start_at', " W_START \
	", 'end_at', " W_LAST ", 'source', 'k8s', 'instant_gpu_utilization',"                                          \
	" CASE WHEN w.status = 'Running' THEN " W_UTIL " END, 'avg_gpu_utilization', coalesce(" U_AVG ", 0),"          \
	" 'p50_gpu_utilization', coalesce(" U_P50 ", 0), 'p90_gpu_utilization', coalesce(" U_P90 ", 0),"               \
	" 'p95_gpu_utilization', coalesce(" U_P95 ", 0))"

/* A pod x of lp in the workload-detail body (camelCase, times in Unix s). */
#define POD_P                                                                                                          \
	"json_build_object('podUid', x.uid, 'podNamespace', x.namespace, 'podName', x.name, 'nodeName', x.node_name,"  \
	" 'phase', x.phase, 'running', x.running, 'gpuAllocated', x.gpus, 'createdAt', " X_START                       \
	", 'updatedAt', " X_SEEN ")"

/* The fields of /pods/{pod_uid} for pod x of workload w, times RFC 3339 with offset (timestamptz as JSON);
 * created_at is the pod's (PODS: its creationTimestamp, else when the hub first stored it), else its
 * workload's. */
#define POD_FIELDS                                                                                                     \
	"'pod_uid', x.uid, 'pod_name', x.name, 'namespace', x.namespace, 'node_name', x.node_name, 'status',"          \
	" CASE WHEN x.running THEN 'Running' WHEN x.phase IN ('Pending', 'Succeeded', 'Failed') THEN x.phase"          \
	" ELSE 'Unknown' END, 'phase', x.phase, 'created_at', coalesce(x.created_at, w.created_at),"                   \
	" 'updated_at', x.seen_at, 'allocated_gpus', x.gpus, 'running', x.running, 'deleted', x.deleted"

/* --- helpers ---------------------------------------------------------------------------------------- */

/* page_num/page_size as SQL LIMIT and OFFSET text. 0, or the status answered. */
static int page_args(hub_lens_req *q, char limit[24], char offset[24])
{
	int64_t page_num, page_size;
	int rv = hub_lens_page(q, &page_num, &page_size);
	if (rv != 0)
		return rv;
	snprintf(limit, 24, "%" PRId64, page_size);
	snprintf(offset, 24, "%" PRId64, (page_num - 1) * page_size); /* hub_lens_page keeps it in range */
	return 0;
}

/* Answers sql, a paged query about node q->item: $1 cluster, $2 node, $3 limit, $4 offset. */
static int answer_node_page(hub_lens_req *q, const char *what, const char *sql)
{
	char limit[24], offset[24];
	int rv = page_args(q, limit, offset);
	if (rv != 0)
		return rv;
	const char *v[] = {q->cluster_name, q->item, limit, offset};
	return hub_lens_answer_sql(q, what, sql, 4, v, NULL);
}

/* The clusters /workloads/{uid} searches, as a text[] literal in *arr (caller frees): the one ?cluster=
 * names; without it the default cluster, then every other cluster the caller may see. 0, or the status
 * answered. */
static int search_clusters(hub_lens_req *q, char **arr)
{
	*arr = NULL;
	if (q->cluster_given) {
		*arr = hub_sql_text_array(&q->cluster_name, 1);
		return *arr != NULL ? 0 : hub_lens_fail(q, HUB_LENS_UNKNOWN, "Unknown error");
	}
	const char **names;
	size_t n;
	int rv = hub_api_scope_names(q->r, false, &names, &n);
	if (rv != 0)
		return rv;
	for (size_t i = 1; i < n; i++)
		if (strcmp(names[i], q->cluster_name) == 0) { /* the default goes first */
			const char *t = names[i];
			memmove(&names[1], &names[0], i * sizeof(*names));
			names[0] = t;
			break;
		}
	*arr = hub_sql_text_array(names, n);
	free(names);
	return *arr != NULL ? 0 : hub_lens_fail(q, HUB_LENS_UNKNOWN, "Unknown error");
}

/* --- routes ----------------------------------------------------------------------------------------- */

/* /clusters/consumers: the cluster's Running workloads, the largest GPU request first, as
 * {data:[{kind,name,namespace,uid,stat:{gpu_request,gpu_utilization},pods:null,source}],total}; the
 * utilization is the instant figure (%), 0 without one. */
int hub_lens_consumers(hub_lens_req *q)
{
	static const char sql[] =
	    "WITH m AS (SELECT * FROM gpu_workload w WHERE w.cluster_name = $1 AND w.status = 'Running'),"
	    " pg AS (SELECT * FROM m w ORDER BY w.gpu_request DESC, w.namespace, w.name, w.uid LIMIT $2::bigint"
	    " OFFSET $3::bigint)"
	    " SELECT json_build_object('data', coalesce((SELECT json_agg(json_build_object('kind', w.kind, 'name',"
	    " w.name, 'namespace', w.namespace, 'uid', w.uid, 'stat', json_build_object('gpu_request', w.gpu_request,"
	    " 'gpu_utilization', coalesce(" W_UTIL ", 0)), 'pods', NULL, 'source', 'k8s')"
	    " ORDER BY w.gpu_request DESC, w.namespace, w.name, w.uid) FROM pg w), '[]'),"
	    " 'total', (SELECT count(*) FROM m))::text";
	char limit[24], offset[24];
	int rv = page_args(q, limit, offset);
	if (rv != 0)
		return rv;
	const char *v[] = {q->cluster_name, limit, offset};
	return hub_lens_answer_sql(q, "consumers", sql, 3, v, NULL);
}

/* /workloads: %s twice, the ORDER BY. $1 cluster, $2 name (hub_workload_like's pattern of the substring),
 * $3 kind, $4 namespace, $5 status ("" = any), $6 limit, $7 offset. m is not materialized: the page walks
 * gpu_workload_lens_created_idx (012_list_indexes.sql) and stops at LIMIT, the count is planned apart. */
#define SQL_WORKLOADS                                                                                                  \
	"WITH m AS NOT MATERIALIZED (SELECT * FROM gpu_workload w WHERE w.cluster_name = $1"                           \
	" AND ($2 = '' OR w.name LIKE $2)"                                                                             \
	" AND ($3 = '' OR w.kind = $3) AND ($4 = '' OR w.namespace = $4) AND ($5 = '' OR w.status = $5)),"             \
	" pg AS (SELECT * FROM m w ORDER BY %s LIMIT $6::bigint OFFSET $7::bigint), " LINKED ","                       \
	" util AS (SELECT s.workload_uid AS uid, avg(s.gpu_utilization) AS a, percentile_cont(ARRAY[0.5, 0.9, 0.95])"  \
	" WITHIN GROUP (ORDER BY s.gpu_utilization) AS p FROM workload_utilization_history s"                          \
	" WHERE s.cluster_name = $1 AND s.workload_uid IN (SELECT uid FROM pg) AND s.gpu_utilization IS NOT NULL"      \
	" GROUP BY 1)"                                                                                                 \
	" SELECT json_build_object('data', coalesce((SELECT json_agg(" WORKLOAD_ITEM " ORDER BY %s) FROM pg w"         \
	" LEFT JOIN alloc a ON a.uid = w.uid LEFT JOIN hours h ON h.uid = w.uid LEFT JOIN util u ON u.uid = w.uid),"   \
	" '[]'), 'total', (SELECT count(*) FROM m))::text"

/* /workloads: the cluster's (top-level) workloads filtered by name (substring), kind, namespace and status
 * (exact), newest first by order_by (start_at: created, end_at: ended, else created), as {data:[item],
 * total}: each item's GPUs and GPU-hours from its linked pods, its utilization statistics from its
 * samples (LENS_API.md /workloads). */
int hub_lens_workloads(hub_lens_req *q)
{
	char name[HUB_PARAM_MAX + 1], kind[HUB_PARAM_MAX + 1], ns[HUB_PARAM_MAX + 1], status[HUB_PARAM_MAX + 1];
	char order_by[HUB_PARAM_MAX + 1];
	char limit[24], offset[24];
	int rv;
	if ((rv = hub_lens_str(q, "name", name, sizeof(name))) != 0 ||
	    (rv = hub_lens_str(q, "kind", kind, sizeof(kind))) != 0 ||
	    (rv = hub_lens_str(q, "namespace", ns, sizeof(ns))) != 0 ||
	    (rv = hub_lens_str(q, "status", status, sizeof(status))) != 0 ||
	    (rv = hub_lens_str(q, "order_by", order_by, sizeof(order_by))) != 0 ||
	    (rv = page_args(q, limit, offset)) != 0)
		return rv;
	/* Any other order_by sorts by creation, as Lens does; ties by uid keep pages apart. */
	const char *order = strcmp(order_by, "end_at") == 0 ? W_SEEN " DESC, w.created_at DESC NULLS LAST, w.uid DESC"
	                                                    : "w.created_at DESC NULLS LAST, w.uid DESC";
	char sql[sizeof(SQL_WORKLOADS) + 1024];
	snprintf(sql, sizeof(sql), SQL_WORKLOADS, order, order);
	char like[2 * HUB_WORKLOAD_NAME_MAX + 3];
	if (hub_workload_like(name, like, sizeof(like)) != FL_OK)
		return hub_lens_fail(q, HUB_LENS_BAD_PARAM, "name is too long");
	const char *v[] = {q->cluster_name, like, kind, ns, status, limit, offset};
	return hub_lens_answer_sql(q, "workloads", sql, 7, v, NULL);
}

/* /workloadMetadata: {namespaces, kinds}, the distinct namespaces and kinds of the cluster's workloads,
 * sorted. */
int hub_lens_workload_meta(hub_lens_req *q)
{
	static const char sql[] =
	    "SELECT json_build_object('namespaces', coalesce((SELECT json_agg(DISTINCT namespace ORDER BY namespace)"
	    " FROM gpu_workload WHERE cluster_name = $1), '[]'), 'kinds', coalesce((SELECT json_agg(DISTINCT kind"
	    " ORDER BY kind) FROM gpu_workload WHERE cluster_name = $1), '[]'))::text";
	const char *v[] = {q->cluster_name};
	return hub_lens_answer_sql(q, "workload metadata", sql, 1, v, NULL);
}

/* /workloads/hierarchy?kind=&name=[&namespace=]: the newest workload of that kind whose name contains
 * name, as {kind,name,namespace,uid,children:[]}. 4001 without kind or name, 4004 when none matches. */
int hub_lens_workload_tree(hub_lens_req *q)
{
	static const char sql[] = "SELECT (SELECT " W_TREE " FROM gpu_workload w WHERE w.cluster_name = $1"
	                          " AND w.kind = $2 AND w.name LIKE $3 AND ($4 = '' OR w.namespace = $4)"
	                          " ORDER BY w.created_at DESC NULLS LAST, w.uid DESC LIMIT 1)::text";
	char kind[HUB_PARAM_MAX + 1], name[HUB_PARAM_MAX + 1], ns[HUB_PARAM_MAX + 1];
	int rv;
	if ((rv = hub_lens_str(q, "kind", kind, sizeof(kind))) != 0 ||
	    (rv = hub_lens_str(q, "name", name, sizeof(name))) != 0 ||
	    (rv = hub_lens_str(q, "namespace", ns, sizeof(ns))) != 0)
		return rv;
	if (kind[0] == '\0' || name[0] == '\0')
		return hub_lens_fail(q, HUB_LENS_BAD_PARAM, "kind and name are required");
	char like[2 * HUB_WORKLOAD_NAME_MAX + 3];
	if (hub_workload_like(name, like, sizeof(like)) != FL_OK)
		return hub_lens_fail(q, HUB_LENS_BAD_PARAM, "name is too long");
	const char *v[] = {q->cluster_name, kind, like, ns};
	return hub_lens_answer_sql(q, "workload hierarchy", sql, 4, v, "workload not found");
}

/* /workloads/{uid}: the workload-detail body {apiVersion,kind,name,namespace,uid,gpu_allocation,pods,
 * activePods,startTime,endTime,source,status}; pods are every pod ever linked (live and gone), activePods
 * the running live ones; endTime is when it ended (Unix s), 0 while it runs. Searched as search_clusters
 * says; 4004 "workload not found". */
int hub_lens_workload(hub_lens_req *q)
{
	static const char sql[] =
	    "WITH pg AS (" FIND_UID "), " LINKED " SELECT (SELECT json_build_object('apiVersion', w.api_version, "
	    "'kind', w.kind, 'name', w.name, 'namespace',"
	    " w.namespace, 'uid', w.uid, 'gpu_allocation', coalesce((SELECT m FROM hours), '{}'), 'pods',"
	    " coalesce((SELECT json_agg(" POD_P " ORDER BY x.start_at, x.name, x.uid) FROM lp x), '[]'),"
	    " 'activePods', coalesce((SELECT json_agg(" POD_P " ORDER BY x.start_at, x.name, x.uid) FROM lp x"
	    " WHERE x.running AND NOT x.deleted), '[]'), 'startTime', " W_START ", 'endTime', " W_END ","
	    " 'source', 'k8s', 'status', w.status) FROM pg w)::text";
	char *arr;
	int rv = search_clusters(q, &arr);
	if (rv != 0)
		return rv;
	const char *v[] = {q->item, arr};
	rv = hub_lens_answer_sql(q, "workload", sql, 2, v, "workload not found");
	free(arr);
	return rv;
}

/* /workloads/{uid}/hierarchy: {kind,name,namespace,uid,children:[]} of the workload, searched as
 * search_clusters says; 4004 "workload not found" (with or without ?cluster=). */
int hub_lens_workload_subtree(hub_lens_req *q)
{
	static const char sql[] = "SELECT (SELECT " W_TREE " FROM (" FIND_UID ") w)::text";
	char *arr;
	int rv = search_clusters(q, &arr);
	if (rv != 0)
		return rv;
	const char *v[] = {q->item, arr};
	rv = hub_lens_answer_sql(q, "workload hierarchy", sql, 2, v, "workload not found");
	free(arr);
	return rv;
}

/* /workloads/statistic and /workloads/statistics: over the cluster's Running workloads that have not
 * ended, {running_workloads_count, avg_gpu_allocated (mean GPU request), avg_gpu_utilization (mean instant
 * figure of those with one, %), low_utilization_workloads_count (those whose samples with a figure average
 * < 30 %)}. */
int hub_lens_workload_statistic(hub_lens_req *q)
{
	static const char sql[] =
	    "WITH r AS (SELECT w.uid, w.gpu_request, " W_UTIL_RAW " AS gpu_utilization FROM gpu_workload w"
	    " WHERE w.cluster_name = $1 AND w.status = 'Running' AND w.ended_at IS NULL),"
	    " life AS (SELECT s.workload_uid, avg(s.gpu_utilization) AS a FROM workload_utilization_history s"
	    " WHERE s.cluster_name = $1 AND s.workload_uid IN (SELECT uid FROM r) AND s.gpu_utilization IS NOT NULL"
	    " GROUP BY 1)"
	    " SELECT json_build_object('running_workloads_count', (SELECT count(*) FROM r), 'avg_gpu_allocated',"
	    " coalesce((SELECT " R_AVG_GPUS " FROM r), 0), 'avg_gpu_utilization', coalesce((SELECT " R_AVG_UTIL
	    " FROM r), 0), 'low_utilization_workloads_count', (SELECT count(*) FROM life WHERE a < 30))::text";
	const char *v[] = {q->cluster_name};
	return hub_lens_answer_sql(q, "workload statistic", sql, 1, v, NULL);
}

/* /nodes/{name}/workloads: the workloads of the node's running pods, as {data:[{kind,name,namespace,uid,
 * gpu_allocated (their running pods' GPUs on every node), gpu_allocated_node (on this one), node_name,
 * status:"Running"}],total}, by namespace and name. An unknown node has none. */
int hub_lens_node_workloads(hub_lens_req *q)
{
	static const char sql[] =
	    "WITH r AS (SELECT p.workload_uid, sum(p.gpus) AS g FROM gpu_pod p WHERE p.cluster_name = $1"
	    " AND p.node_name = $2::text AND p.running GROUP BY 1),"
	    " m AS (SELECT w.*, r.g FROM r JOIN gpu_workload w ON w.cluster_name = $1 AND w.uid = r.workload_uid),"
	    " pg AS (SELECT * FROM m w ORDER BY w.namespace, w.name, w.uid LIMIT $3::bigint OFFSET $4::bigint)"
	    " SELECT json_build_object('data', coalesce((SELECT json_agg(json_build_object('kind', w.kind,"
	    " 'name', w.name, 'namespace', w.namespace, 'uid', w.uid, 'gpu_allocated', (SELECT coalesce(sum(p.gpus), "
	    "0) FROM gpu_pod p"
	    " WHERE p.cluster_name = $1 AND p.workload_uid = w.uid AND p.running), 'gpu_allocated_node', w.g,"
	    " 'node_name', $2::text, 'status', 'Running') ORDER BY w.namespace, w.name, w.uid) FROM pg w), '[]'),"
	    " 'total', (SELECT count(*) FROM m))::text";
	return answer_node_page(q, "node workloads", sql);
}

/* /nodes/{name}/workloadsHistory: the node's pods that neither run nor wait (every pod that left it, and
 * the live ones not running and past Pending) with their workload, the latest end first, as
 * {data:[{kind,name,namespace,uid,gpu_allocated,pod_name,pod_namespace,start_time,end_time}],total};
 * start_time = the pod's creation, end_time = when it left (or was last seen), Unix s. Pods without a
 * workload are neither listed nor counted. */
int hub_lens_node_workloads_history(hub_lens_req *q)
{
	static const char sql[] =
	    "WITH m AS (SELECT x.uid AS pod_uid, x.name AS pod_name, x.namespace AS pod_namespace, x.gpus,"
	    " coalesce(x.created_at, w.created_at) AS created_at, coalesce(x.ended_at, x.seen_at) AS end_at,"
	    " w.kind, w.name, w.namespace, w.uid"
	    " FROM " PODS " x JOIN gpu_workload w ON w.cluster_name = x.cluster_name AND w.uid = x.workload_uid"
	    " WHERE x.cluster_name = $1 AND x.node_name = $2 AND (x.deleted OR (NOT x.running AND x.phase NOT IN"
	    " ('Pending', '')))),"
	    " pg AS (SELECT * FROM m ORDER BY end_at DESC, created_at DESC NULLS LAST, pod_uid LIMIT $3::bigint"
	    " OFFSET $4::bigint)"
	    " SELECT json_build_object('data', coalesce((SELECT json_agg(json_build_object('kind', kind, 'name', name,"
	    " 'namespace', namespace, 'uid', uid, 'gpu_allocated', gpus, 'pod_name', pod_name, 'pod_namespace',"
	    " pod_namespace, 'start_time', " M_START ", 'end_time', " M_END ")"
	    " ORDER BY end_at DESC, created_at DESC NULLS LAST, pod_uid) FROM pg), '[]'),"
	    " 'total', (SELECT count(*) FROM m))::text";
	return answer_node_page(q, "node workload history", sql);
}

/* /pods/{pod_uid}?cluster=: the pod, live or gone, as {pod_uid,pod_name,namespace,node_name,status,phase,
 * created_at,updated_at (RFC 3339: created, last seen),allocated_gpus,running,deleted,owner_uid?}; no ip
 * nor current_metrics (the hub keeps neither). 4004 without ?cluster= or for an unknown pod. */
int hub_lens_pod(hub_lens_req *q)
{
	static const char sql[] = "SELECT (SELECT CASE WHEN x.workload_uid = '' THEN json_build_object(" POD_FIELDS ")"
	                          " ELSE json_build_object(" POD_FIELDS ", 'owner_uid', x.workload_uid) END"
	                          " FROM " PODS " x LEFT JOIN gpu_workload w ON w.cluster_name = x.cluster_name"
	                          " AND w.uid = x.workload_uid WHERE x.cluster_name = $1 AND x.uid = $2)::text";
	if (!q->cluster_given)
		return hub_lens_fail(q, HUB_LENS_NOT_FOUND, "cluster is required");
	const char *v[] = {q->cluster_name, q->item};
	return hub_lens_answer_sql(q, "pod", sql, 2, v, "pod not found");
}
