/* hub_history.h — node samples over time in the hub DB (sql/hub/004_history.sql, 009_samples.sql): the rows a
 * committed frame appends, the day partitions (created ahead, dropped after hub.history_retention; the
 * per-workload table of 005_workloads.sql and the per-cluster one of 007_lens.sql get the same upkeep), the
 * read behind GET /v1/nodes/{name}/utilizationHistory, and the maintenance thread (which also runs the
 * hourly rollups of hub_rollup.h).
 *
 * Connections are borrowed (libpq, not thread-safe: one per thread). The maintenance thread
 * (hub_history_start) has its own.
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h), err naming what failed. */
#ifndef HUB_HISTORY_H
#define HUB_HISTORY_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdint.h>

#include "fl_err.h"
#include "fl_proto.h"
#include "hub_config.h"

#define HUB_HISTORY_DAYS_AHEAD  2               /* day partitions created beyond today */
#define HUB_HISTORY_MAINTAIN_MS (3600LL * 1000) /* maintenance every hour (and at start) */
#define HUB_HISTORY_MAX_POINTS  11000           /* (end - start) / step, per answer */
/* The hubs' advisory lock class; keys: 1 the SaFE sync (in SaFE's database), 2 partition upkeep, 3 the hourly
 * rollup (HUB_ROLLUP_LOCK_KEY). */
#define HUB_HISTORY_LOCK_CLASS 1179415398

/* Inside the caller's open transaction on c: appends f's node samples to node_utilization_history with one
 * COPY FROM STDIN (text format, sent in 64 KiB pieces): one row per node of f->nodes at f's sent_at, with
 * its gpu_utilization (NULL without a figure), gpu_count, gpu_allocation, and one array element per GPU of
 * f->gpus on that node, ordered by gpu_id (gpu_ids, gpu_utilizations with NULL for no figure,
 * gpu_temperatures, gpu_powers). gpus: f's n_gpus GPUs sorted by (node, gpu_id), as hub_store sorts them.
 * f and gpus are borrowed and already checked by hub_store before its transaction: unique node names,
 * sent_at in 1970..9999, counts that fit int, finite figures. *rows: rows appended. FL_OK, FL_ENOMEM or
 * FL_EDB (the COPY failed: the transaction is aborted, the caller rolls back). */
int hub_history_append(PGconn *c, const fl_proto_frame *f, const fl_proto_gpu *const *gpus, int64_t *rows,
                       char err[FL_ERR_LEN]);

/* Partition upkeep at now_ms, under an advisory lock (key 2) so hubs take turns, for node_utilization_history,
 * workload_utilization_history and cluster_sample_history alike: creates the UTC day partitions TABLE_YYYYMMDD for
 * today and HUB_HISTORY_DAYS_AHEAD days ahead that are missing (moving any rows of that day out of the DEFAULT
 * partition first), DROPs day partitions that end before now_ms - retention_ms, and deletes DEFAULT rows
 * older than that; then deletes the gpu_workload rows that ended (Done, Failed, Deleted) before it, the
 * gpu_job rows that ended before it, the node_device_changelog rows older than it, the gpu_pod_history
 * rows that ended before it, and the cluster_hourly_stats, namespace_hourly_stats, workload_hourly_stats
 * and rollup_hour rows of hours that start before it.
 * *created / *dropped: partitions, over the three tables. FL_OK or FL_EDB (rolled back). */
int hub_history_maintain(PGconn *c, int64_t now_ms, int64_t retention_ms, int *created, int *dropped,
                         char err[FL_ERR_LEN]);

/* Whose history hub_history_query reads. */
typedef enum hub_history_of {
	HUB_HISTORY_NODE = 0, /* node_utilization_history; key: the node name */
	HUB_HISTORY_WORKLOAD, /* workload_utilization_history; key: the workload uid */
} hub_history_of;

/* One node's (or workload's: of, key) utilization between start_s (inclusive) and end_s (exclusive),
 * Unix seconds, averaged per step_s bucket: *out (new reference) is {"series":[{"name":"gpu_utilization","points":[[t,
 * v], ...]}], "unit":"%","start","end","step"} with t the bucket's start (Unix seconds) and v rounded to 2 decimals;
 * buckets without samples have no point. FL_OK, FL_EDB or FL_ENOMEM. */
int hub_history_query(PGconn *c, hub_history_of of, const char *cluster, const char *key, int64_t start_s,
                      int64_t end_s, int64_t step_s, json_t **out, char err[FL_ERR_LEN]);

typedef struct hub_history hub_history;

/* Starts the maintenance thread (its own connection to cfg->database_url; cfg borrowed, must outlive
 * it): hub_history_maintain at once and every HUB_HISTORY_MAINTAIN_MS; then on every wake-up, every quarter
 * of node_lost_after (250 ms .. 30 s), the hourly rollup (hub_rollup_run, at most 6 hours; each hour rolled
 * up adds to fleetlens_hub_rollup_hours_total) and the node agents' lost sweep (hub_node_sweep with cutoff
 * now - hub.node_lost_after); failures are logged and retried next time. FL_OK or FL_ENOMEM/FL_EIO. */
int hub_history_start(const hub_config *cfg, hub_history **out, char err[FL_ERR_LEN]);

/* Stops the thread and frees h. NULL is fine. */
void hub_history_stop(hub_history *h);

#endif
