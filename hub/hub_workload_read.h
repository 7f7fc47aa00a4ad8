/* hub_workload_read.h — reading the GPU workloads and pods hub_workload.h writes (sql/hub/005_workloads.sql,
 * 010): the reads behind GET /v1/workloads and GET /v1/workloads/{uid}, and the SQL pieces and name pattern
 * the Lens workload routes (hub_lens_workloads.c) share with them.
 *
 * Connections are borrowed (libpq: one per thread). Every statement is parameterized; the only text
 * spliced into SQL is an ORDER BY chosen from a fixed list.
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h), err naming what failed (FL_EDB for the database). */
#ifndef HUB_WORKLOAD_READ_H
#define HUB_WORKLOAD_READ_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fl_err.h"

#define HUB_WORKLOAD_MAX_STATUSES 5 /* Running, Pending, Done, Failed, Deleted */

/* SQL shared by the workload reads (/v1 here, /lens/v1 in hub_lens_workloads.c), over a gpu_workload row
 * w or a gpu_pod row p (the alias given):
 *  - HUB_WL_SQL_UTIL(w): its latest utilization, the newest sample's figure (NULL: none, or the sample
 *    carried none), while it is Running; NULL otherwise (an ended workload shows none).
 *  - HUB_WL_SQL_POD_UTIL(p): the same for a pod, while its phase is Running (the pods sampled).
 *  - HUB_WL_SQL_SEEN(w): when the hub last saw it. A row is written only when a fact changes, so its
 *    updated_at is "facts last changed"; a live (Running, Pending) row is part of its cluster's current
 *    state, which every committed frame confirms (a full frame ends what it omits, a delta removes what
 *    went), so it was seen at the cluster's last frame (cluster.last_frame_at), or later if written after.
 *    An ended one was last seen when it last changed.
 *  - HUB_WL_SQL_POD_SEEN(p): the same for a live pod (every gpu_pod row is part of the current state). */
#define HUB_WL_SQL_LATEST(table, key, uid, cluster)                                                                    \
	"(SELECT s.gpu_utilization FROM " table " s WHERE s.cluster_name = " cluster " AND s." key " = " uid           \
	" ORDER BY s.sampled_at DESC LIMIT 1)"
#define HUB_WL_SQL_UTIL(w)                                                                                             \
	"CASE WHEN " w ".status = 'Running' THEN " HUB_WL_SQL_LATEST("workload_utilization_history", "workload_uid",   \
	                                                             w ".uid", w ".cluster_name") " END"
#define HUB_WL_SQL_POD_UTIL(p)                                                                                         \
	"CASE WHEN " p ".phase = 'Running' THEN " HUB_WL_SQL_LATEST("pod_utilization_history", "pod_uid", p ".uid",    \
	                                                            p ".cluster_name") " END"
#define HUB_WL_SQL_CLUSTER_SEEN(x) "(SELECT c.last_frame_at FROM cluster c WHERE c.name = " x ".cluster_name)"
#define HUB_WL_SQL_SEEN(w)                                                                                             \
	"CASE WHEN " w ".status IN ('Running', 'Pending') THEN greatest(" w                                            \
	".updated_at, " HUB_WL_SQL_CLUSTER_SEEN(w) ") ELSE " w ".updated_at END"
#define HUB_WL_SQL_POD_SEEN(p) "greatest(" p ".updated_at, " HUB_WL_SQL_CLUSTER_SEEN(p) ")"

/* Sort keys of GET /v1/workloads (order_by). Ties go by cluster, namespace, name, uid. */
typedef enum hub_workload_order {
	HUB_WL_ORDER_CLUSTER_NAME = 0, /* cluster, namespace, name (the default) */
	HUB_WL_ORDER_NAME,
	HUB_WL_ORDER_NAMESPACE,
	HUB_WL_ORDER_KIND,
	HUB_WL_ORDER_STATUS,
	HUB_WL_ORDER_GPU_REQUEST,
	HUB_WL_ORDER_GPU_UTILIZATION, /* workloads without a figure sort lowest */
	HUB_WL_ORDER_CREATED_AT,
	HUB_WL_ORDER_ENDED_AT, /* live workloads (no end) sort lowest */
	HUB_WL_ORDER_COUNT
} hub_workload_order;

/* The order_by word of each hub_workload_order ("cluster_name", "name", ...). */
extern const char *const hub_workload_order_names[HUB_WL_ORDER_COUNT];

/* A GET /v1/workloads query. Strings are borrowed; "" means no filter. */
typedef struct hub_workload_query {
	const char *const *clusters; /* the clusters the request covers (already scoped); n_clusters > 0 */
	size_t n_clusters;
	const char *ns;              /* namespace, exact */
	const char *kind;            /* exact: Deployment, Job, ... */
	const char *name;            /* substring of the workload name, at most HUB_WORKLOAD_NAME_MAX bytes */
	const char *const *statuses; /* any of these; n_statuses 0 = any */
	size_t n_statuses;
	hub_workload_order order;
	bool desc; /* reverses the whole order */
	int64_t limit, offset;
} hub_workload_query;

/* The longest name filter hub_workload_list and the Lens workload routes take (bytes; the API's parameters
 * are at most HUB_PARAM_MAX = 256 bytes). */
#define HUB_WORKLOAD_NAME_MAX 256

/* The LIKE pattern that matches the names containing s: '%' + s with '%', '_' and '\' escaped by '\' (LIKE's
 * default escape) + '%', so "w.name LIKE pattern" answers exactly strpos(w.name, s) > 0 and can use the
 * trigram index (012_list_indexes.sql); "" when s is "" (no filter). Written to out (cap bytes; 2 x
 * strlen(s) + 3 always fit). FL_OK, or FL_EINVAL when it does not fit (out is then ""). */
int hub_workload_like(const char *s, char *out, size_t cap);

/* One page of workloads: *json (malloc'd, caller frees) is the text {"data":[row,...],"total":N}, each
 * row {cluster_name uid kind api_version namespace name status gpu_request pods gpu_utilization
 * created_at ended_at updated_at} (times RFC 3339 UTC, null when unknown; gpu_utilization HUB_WL_SQL_UTIL,
 * updated_at HUB_WL_SQL_SEEN). FL_OK, FL_EDB, FL_ENOMEM. */
int hub_workload_list(PGconn *c, const hub_workload_query *q, char **json, char err[FL_ERR_LEN]);

/* The workload uid in any of the clusters named: *json (malloc'd, caller frees) is a JSON array with
 * one object per cluster that has it (normally one): the row fields of hub_workload_list plus "gpu_pods",
 * its pods ordered by name ({uid namespace name node_name gpus phase running gpu_utilization
 * created_at}, gpu_utilization HUB_WL_SQL_POD_UTIL). "[]" when no cluster has it. FL_OK, FL_EDB or
 * FL_ENOMEM. */
int hub_workload_get(PGconn *c, const char *const *clusters, size_t n_clusters, const char *uid, char **json,
                     char err[FL_ERR_LEN]);

#endif
