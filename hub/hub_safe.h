/* hub_safe.h — keeps SaFE's node_statistic and workload_statistic tables in step with the hub's nodes
 * and live SaFE workloads.
 *
 * One thread with two libpq connections of its own: the hub DB (read: the nodes committed by every hub
 * on that database) and the SaFE DB (written). Every hub.safe_sync_interval one cycle runs
 * hub_safe_sync_once; a cycle that fails (either database down, a statement refused) is rolled back,
 * logged (at most once a minute, with the count of failures in between), counted, and the next cycle
 * starts from scratch. Metrics: hub_safe_metrics_write. The thread is in hub_safe.c, a cycle's SQL in
 * hub_safe_sql.c, the pure diff in hub_safe_diff.c, the counters in hub_safe_metrics.c.
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h), err naming what failed. */
#ifndef HUB_SAFE_H
#define HUB_SAFE_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fl_err.h"
#include "hub_config.h"
#include "hub_registry.h"
#include "hub_safe_diff.h"

/* Advisory lock taken in the SaFE database for a cycle's transaction, two-int4 form: class "FLsf" in
 * ASCII, distinct from the hub DB's per-cluster write lock class should both live in one database. */
#define HUB_SAFE_LOCK_CLASS 1179415398
#define HUB_SAFE_LOCK_KEY   1
/* Rows per UPDATE or INSERT statement. SaFE's table has no index on id, so each UPDATE batch is one hash
 * join over the whole table: few large batches (a few MB of array text each) beat many small ones. */
#define HUB_SAFE_BATCH_ROWS 50000

/* What one cycle did. */
typedef struct hub_safe_stats {
	size_t clusters; /* clusters synced (registered, with a full frame committed) */
	/* node_statistic (duplicates: both tables). unchanged: rows whose value was right, of which touch:
	 * live rows confirmed this cycle, only updated_at written. */
	size_t insert, update, revive, del, skipped, duplicates, unchanged, touch;
	size_t wl_insert, wl_update, wl_skipped, wl_unchanged, wl_touch; /* workload_statistic */
} hub_safe_stats;

typedef struct hub_safe hub_safe;

/* Starts the sync thread for cfg (borrowed; must outlive the hub_safe) when cfg->safe_database_url is
 * set; *out is NULL (and FL_OK returned) when it is empty. Each cycle syncs the clusters active in reg's
 * current generation (borrowed; a reload changes the list from the next cycle on) with their safe ids.
 * FL_OK or FL_ENOMEM/FL_EIO with err. */
int hub_safe_start(const hub_config *cfg, hub_registry *reg, hub_safe **out, char err[FL_ERR_LEN]);

/* Stops the thread (a cycle in progress is cancelled and rolls back), closes its connections, frees s.
 * NULL is fine. */
void hub_safe_stop(hub_safe *s);

/* One cycle on connections hub and safe (borrowed, connected): reads the nodes (gpu_count > 0) of the
 * clusters named (those with a full frame committed in the hub DB) and their live SaFE workloads (gpu_workload
 * rows with a safe_workload_id, Running or Pending) with the mean of the hourly averages, the largest hourly
 * maximum and the number of hours of their workload_hourly_stats rows of the last three hours (none: left
 * out), node_statistic.cluster and workload_statistic.cluster being safe_ids[i] for clusters[i] (unique:
 * hub_config refuses two clusters with one SaFE id); then hub_safe_apply on those ids. FL_OK, FL_EDB
 * (rolled back; err says which statement), FL_ENOMEM. */
int hub_safe_sync_once(PGconn *hub, PGconn *safe, const char *const *clusters, const char *const *safe_ids,
                       size_t n_clusters, hub_safe_stats *st, char err[FL_ERR_LEN]);

/* Makes node_statistic of the clusters named (SaFE's cluster ids) equal want (n_want nodes of exactly those clusters;
 * sorted in place) and, unless wl is NULL, the workload_statistic rows (statistic_type '3h') of the workload_ids in wl
 * equal wl, in ONE transaction on safe: BEGIN; pg_advisory_xact_lock(HUB_SAFE_LOCK_CLASS, HUB_SAFE_LOCK_KEY); per table
 * one SELECT (node_statistic: those clusters' rows; workload_statistic: the rows of those workload_ids, whatever their
 * cluster), the diff (hub_safe_diff, hub_safe_wl_diff), then UPDATE ... FROM unnest(...), INSERT ... SELECT FROM
 * unnest(...) and the touch (UPDATE ... SET updated_at = now() of the rows confirmed unchanged) in batches of
 * HUB_SAFE_BATCH_ROWS, updates sorted by id; COMMIT. node_statistic rows of other clusters are never read or written.
 * FL_OK (st filled), FL_EDB (rolled back), FL_ENOMEM. */
int hub_safe_apply(PGconn *safe, hub_safe_want *want, size_t n_want, hub_safe_wl_want *wl, size_t n_wl,
                   const char *const *clusters, size_t n_clusters, hub_safe_stats *st, char err[FL_ERR_LEN]);

/* Appends the sync's metrics as Prometheus text to f: fleetlens_hub_safe_sync_total{result="ok"|"error"},
 * fleetlens_hub_safe_rows_total{op="insert"|"update"|"delete"|"revive"|"touch"|"skipped"},
 * fleetlens_hub_safe_workload_rows_total{op="insert"|"update"|"touch"|"skipped"},
 * fleetlens_hub_safe_duplicate_rows, fleetlens_hub_safe_last_success_timestamp_seconds (0: never),
 * fleetlens_hub_safe_enabled. Thread-safe. */
void hub_safe_metrics_write(FILE *f);

#endif
