/* hub_rollup.h — hourly rollups (sql/hub/007_lens.sql, 011_usage.sql): once per completed UTC hour, one row per
 * node, cluster, namespace and workload in node_hourly_stats, cluster_hourly_stats, namespace_hourly_stats and
 * workload_hourly_stats, computed from that hour's samples, and their retention. Run by the maintenance thread
 * (hub_history_maint.c).
 *
 * GPU-hours, in every row: each sample weighs the seconds from it to its series' next sample (a
 * node's, a workload's), at most HUB_ROLLUP_SAMPLE_CAP_S (a spoke that stops sending counts nothing beyond
 * it), counted in the hour they fall in (the last sample before an hour reaches into it, for a key that also
 * has samples in that hour). With a = the sample's allocation (a node's gpu_allocation, a workload's
 * gpu_request) and u its utilization (percent):
 *   gpu_hours_allocated = Σ a × weight / 3600
 *   gpu_hours_used      = Σ a × u/100 × weight / 3600
 *   gpu_hours_idle      = Σ a × weight / 3600 over the samples with u < the idle threshold
 * A sample without a utilization figure counts as allocated, neither used nor idle. A namespace's GPU-hours
 * are the sum of its workloads', a cluster's the sum of its nodes'. The idle threshold is the one given when
 * the hour is rolled up (recorded in rollup_hour.idle_threshold); changing it does not redo past hours.
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h), err naming what failed. */
#ifndef HUB_ROLLUP_H
#define HUB_ROLLUP_H

#include <libpq-fe.h>
#include <stdint.h>

#include "fl_err.h"

#define HUB_ROLLUP_LOCK_KEY     3   /* with HUB_HISTORY_LOCK_CLASS: one hub rolls up an hour at a time */
#define HUB_ROLLUP_SAMPLE_CAP_S 300 /* the most time one sample stands for (10 spoke cycles of 30 s) */

/* Rolls up at most max_hours of the completed UTC hours that rollup_hour does not list yet, newest first:
 * the hours that start at or after now_ms - retention_ms and ended at least 60 s before now_ms (frames
 * still in flight). Each hour is one transaction under pg_advisory_xact_lock(HUB_HISTORY_LOCK_CLASS,
 * HUB_ROLLUP_LOCK_KEY), so hubs sharing the database take turns and an hour is rolled up once: it is
 * recorded in rollup_hour whether or not it had samples, and only keys with samples in it get rows.
 * Samples that arrive after their hour was rolled up are not counted in it. idle_threshold (percent) defines
 * idle GPU-hours for the hours rolled up now. *hours: the hours this call rolled up (those committed before a
 * failure included). c is borrowed and left outside a transaction. FL_OK or FL_EDB (err names the hour and
 * the statement; that hour is rolled back and retried later). */
int hub_rollup_run(PGconn *c, int64_t now_ms, int64_t retention_ms, double idle_threshold, int max_hours, int *hours,
                   char err[FL_ERR_LEN]);

/* Deletes the hourly rows (node, cluster, namespace, workload) and rollup_hour rows of the hours that start
 * before now_ms - retention_ms (hub.rollup_retention), each table in its own statement; *rows: how many.
 * c is borrowed, outside a transaction. FL_OK or FL_EDB (err names the table; the rest is retried later). */
int hub_rollup_prune(PGconn *c, int64_t now_ms, int64_t retention_ms, int64_t *rows, char err[FL_ERR_LEN]);

#endif
