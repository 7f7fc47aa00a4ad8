/* hub_safe_diff.h — the pure part of the SaFE sync: a utilization figure made fit for
 * node_statistic.gpu_utilization (decimal(5,2)), and the diffs that decide, for what the hub has and the
 * rows SaFE has, which rows to INSERT, which to UPDATE (value changed, revive, soft delete) and which only
 * to touch (updated_at = now(): the row was confirmed this cycle, its value already right). No I/O;
 * hub_safe.c runs them between its SELECTs and its batched writes.
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h) (hub_safe_centi: FL_EINVAL means skip the value). */
#ifndef HUB_SAFE_DIFF_H
#define HUB_SAFE_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fl_err.h"

#define HUB_SAFE_CLUSTER_MAX 64  /* node_statistic.cluster varchar(64) */
#define HUB_SAFE_NODE_MAX    128 /* node_statistic.node_name varchar(128) */

/* One node the hub has (hub DB node row). Strings are borrowed. */
typedef struct hub_safe_want {
	const char *cluster;
	const char *node;
	double value;   /* the node's gpu_utilization */
	bool has_value; /* false: NULL in the hub DB */
} hub_safe_want;

/* One node_statistic row SaFE has. Strings are borrowed. */
typedef struct hub_safe_have {
	int64_t id;
	const char *cluster;
	const char *node;
	int centi;    /* gpu_utilization × 100; -1 for NULL */
	bool deleted; /* deleted_at IS NOT NULL */
} hub_safe_have;

typedef enum hub_safe_op { HUB_SAFE_UPDATE = 0, HUB_SAFE_REVIVE, HUB_SAFE_DELETE } hub_safe_op;

/* An UPDATE of row id: UPDATE/REVIVE set gpu_utilization = centi/100 and deleted_at = NULL; DELETE sets
 * deleted_at = now() and keeps the value (centi is -1). */
typedef struct hub_safe_upd {
	int64_t id;
	int centi;
	hub_safe_op op;
} hub_safe_upd;

/* An INSERT. Strings borrowed from the hub_safe_want array. */
typedef struct hub_safe_ins {
	const char *cluster;
	const char *node;
	int centi;
} hub_safe_ins;

/* What hub_safe_diff decided. upd and touch are sorted by id, ins by (cluster, node); all malloc'd, owned
 * by the plan (hub_safe_plan_free). */
typedef struct hub_safe_plan {
	hub_safe_upd *upd;
	size_t n_upd;
	hub_safe_ins *ins;
	size_t n_ins;
	int64_t *touch; /* ids of live rows whose node the hub has with the same value: updated_at only */
	size_t n_touch;
	size_t n_update, n_revive, n_delete; /* n_update + n_revive + n_delete == n_upd */
	size_t n_skipped;    /* wanted nodes left out: no value, NaN/inf, or a name too long for SaFE's columns */
	size_t n_duplicates; /* node_statistic rows beyond the lowest id of one (cluster, node_name): left alone */
	size_t n_unchanged;  /* rows whose value is already right: the touched ones, and deleted rows left deleted */
} hub_safe_plan;

/* node_statistic's figure for value: NaN, ±inf or !has_value → FL_EINVAL (skip it); otherwise clamped
 * to 0..100 and rounded half away from zero to two decimals, as hundredths in *centi (0..10000). */
int hub_safe_centi(double value, bool has_value, int *centi);

/* Decides the writes that make SaFE's rows equal the hub's nodes. want: every node of the clusters being
 * synced, at most one per (cluster, node); have: every node_statistic row of those same clusters (rows
 * of other clusters must not be passed: a have row with no want row is soft-deleted). Both arrays are
 * sorted in place (want by cluster, node; have by cluster, node, id). Rules per (cluster, node):
 *   - a want whose value hub_safe_centi refuses, or whose names are too long, is skipped: counted, and
 *     its row (if any) is neither changed nor deleted — the node is still there;
 *   - no have row → INSERT; several have rows → only the lowest id is used, the others are counted in
 *     n_duplicates and never written;
 *   - have row deleted → REVIVE with the value; live with another value (or NULL) → UPDATE; equal → TOUCH
 *     (the cycle confirmed it: operators read updated_at to spot stale rows);
 *   - have row live with no want → DELETE; already deleted with no want → none.
 * FL_OK, or FL_ENOMEM (plan holds nothing). */
int hub_safe_diff(hub_safe_want *want, size_t n_want, hub_safe_have *have, size_t n_have, hub_safe_plan *plan);

/* Frees what plan owns and zeroes it. NULL is fine. */
void hub_safe_plan_free(hub_safe_plan *plan);

/* --- workload_statistic ----------------------------------------------------------------------------- */

#define HUB_SAFE_WORKLOAD_ID_MAX 64 /* workload_statistic.workload_id varchar(64): the SaFE workload's name */
#define HUB_SAFE_UID_MAX         36 /* workload_uid varchar(36) */
#define HUB_SAFE_WORKSPACE_MAX   64 /* workspace varchar(64): the namespace */

/* One live SaFE workload of one cluster, with its last three hours of hourly rollups. Strings borrowed. */
typedef struct hub_safe_wl_want {
	const char *workload_id; /* the label primus-safe.workload.id: the SaFE workload's name */
	const char *cluster;     /* SaFE's id of the cluster (hub_cluster_conf.safe_cluster_id) */
	const char *uid;         /* the data-plane uid of its top-level object: written NULL when "" or longer than
	                          * HUB_SAFE_UID_MAX (SaFE's CR uid is not on the data plane) */
	const char *ns;          /* its namespace: SaFE's workspace */
	double avg, max;         /* mean of the hourly averages, largest hourly maximum */
	int64_t hours;           /* hourly rows counted: > 0 (a workload without any gets no row) */
} hub_safe_wl_want;

/* One workload_statistic row (statistic_type '3h') SaFE has. Strings borrowed; NULL columns as "". */
typedef struct hub_safe_wl_have {
	int64_t id;
	const char *workload_id, *uid, *cluster, *workspace;
	int avg, max;   /* × 100; -1 for NULL */
	int64_t points; /* -1 for NULL */
} hub_safe_wl_have;

/* One write: id > 0 updates that row, id 0 inserts. want borrowed from the want array. */
typedef struct hub_safe_wl_write {
	int64_t id;
	const hub_safe_wl_want *want;
	const char *uid; /* want->uid, or NULL: written as NULL */
	int avg, max;    /* × 100; -1 → NULL (a figure that is not a number) */
} hub_safe_wl_write;

/* What hub_safe_wl_diff decided; arrays malloc'd, owned by the plan (hub_safe_wl_plan_free). */
typedef struct hub_safe_wl_plan {
	hub_safe_wl_write *upd; /* sorted by id */
	size_t n_upd;
	hub_safe_wl_write *ins; /* sorted by workload_id */
	size_t n_ins;
	int64_t *touch; /* ids of rows already right: updated_at only; sorted */
	size_t n_touch;
	size_t n_skipped;    /* wants left out: a workload id, cluster id or namespace that does not fit SaFE's
	                      * columns (or an empty id or cluster); a workload id a second cluster also names */
	size_t n_duplicates; /* rows beyond the lowest id of a wanted workload_id: left alone */
	size_t n_unchanged;  /* == n_touch */
} hub_safe_wl_plan;

/* Decides the workload_statistic writes, keyed as SaFE's adapter did by (workload_id, statistic_type '3h'):
 * per workload_id of want (sorted in place by workload_id, then cluster; a workload_id wanted by two
 * clusters is written for the first cluster, the rest skipped) and have (sorted in place by workload_id,
 * id; only the lowest id of a workload_id is read and written): no row → INSERT; a row whose uid (NULL and ""
 * alike), cluster, workspace, figures (avg and max as hub_safe_centi makes them, NULL when not a number)
 * or hour count differ → UPDATE; equal → TOUCH. Rows without a want (workloads no longer live, rows of
 * other writers) are never touched: they keep their last figures. FL_OK or FL_ENOMEM (plan holds
 * nothing). */
int hub_safe_wl_diff(hub_safe_wl_want *want, size_t n_want, hub_safe_wl_have *have, size_t n_have,
                     hub_safe_wl_plan *plan);

/* Frees what plan owns and zeroes it. NULL is fine. */
void hub_safe_wl_plan_free(hub_safe_wl_plan *plan);

#endif
