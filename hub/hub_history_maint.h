/* hub_history_maint.h — the hub's upkeep thread and what it runs: the day partitions of the history tables
 * (sql/hub/004_history.sql, 005_workloads.sql, 007_lens.sql, 010, 013), created ahead and dropped after
 * hub.history_retention with the other rows that retention prunes, hourly; and, on every wake-up, the hourly
 * rollups of hub_rollup.h and the node agents' lost sweep of hub_node.h.
 *
 * hub_history_maintain borrows its connection (libpq, not thread-safe: one per thread); the thread
 * (hub_history_maint_start) has its own.
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h), err naming what failed. */
#ifndef HUB_HISTORY_MAINT_H
#define HUB_HISTORY_MAINT_H

#include <libpq-fe.h>
#include <stdint.h>

#include "fl_err.h"
#include "hub_config.h"

#define HUB_HISTORY_DAYS_AHEAD  2               /* day partitions created beyond today */
#define HUB_HISTORY_MAINTAIN_MS (3600LL * 1000) /* maintenance every hour (and at start) */
/* The hubs' advisory lock class; keys: 1 the SaFE sync (in SaFE's database), 2 partition upkeep, 3 the hourly
 * rollup (HUB_ROLLUP_LOCK_KEY). */
#define HUB_HISTORY_LOCK_CLASS 1179415398

/* Partition upkeep at now_ms, under an advisory lock (key 2) so hubs take turns, for node_utilization_history,
 * workload_utilization_history, pod_utilization_history, cluster_sample_history and gpu_job_sample alike: creates the
 * UTC day partitions TABLE_YYYYMMDD for today and HUB_HISTORY_DAYS_AHEAD days ahead that are missing (moving any rows
 * of that day out of the DEFAULT partition first), DROPs day partitions that end before now_ms - retention_ms, and
 * deletes DEFAULT rows older than that; then deletes the gpu_workload rows that ended (Done, Failed, Deleted)
 * before it, the gpu_job rows that ended before it, the node_device_changelog rows older than it and the
 * gpu_pod_history rows that ended before it. (The hourly statistics keep hub.rollup_retention: hub_rollup_prune.)
 * *created / *dropped: partitions, over the five tables. FL_OK or FL_EDB (rolled back). */
int hub_history_maintain(PGconn *c, int64_t now_ms, int64_t retention_ms, int *created, int *dropped,
                         char err[FL_ERR_LEN]);

typedef struct hub_history_maint hub_history_maint;

/* Starts the maintenance thread (its own connection to cfg->database_url; cfg borrowed, must outlive
 * it): hub_history_maintain at once and every HUB_HISTORY_MAINTAIN_MS; then on every wake-up, every quarter
 * of node_lost_after (250 ms .. 30 s), the hourly rollup (hub_rollup_run, at most 6 hours; each hour rolled
 * up adds to fleetlens_hub_rollup_hours_total) and the node agents' lost sweep (hub_node_sweep with cutoff
 * now - hub.node_lost_after); failures are logged and retried next time. FL_OK or FL_ENOMEM/FL_EIO. */
int hub_history_maint_start(const hub_config *cfg, hub_history_maint **out, char err[FL_ERR_LEN]);

/* Stops the thread and frees h. NULL is fine. */
void hub_history_maint_stop(hub_history_maint *h);

#endif
