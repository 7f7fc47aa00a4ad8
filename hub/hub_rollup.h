/* hub_rollup.h — hourly rollups (sql/hub/007_lens.sql): once per completed UTC hour, one row per cluster,
 * namespace and workload in cluster_hourly_stats, namespace_hourly_stats and workload_hourly_stats, computed
 * from that hour's samples. Run by the maintenance thread (hub_history.c). */
#ifndef HUB_ROLLUP_H
#define HUB_ROLLUP_H

#include <libpq-fe.h>
#include <stdint.h>

#include "fl_err.h"

#define HUB_ROLLUP_LOCK_KEY 3 /* with HUB_HISTORY_LOCK_CLASS: one hub rolls up an hour at a time */

/* Rolls up at most max_hours of the completed UTC hours that rollup_hour does not list yet, newest first:
 * the hours that start at or after now_ms - retention_ms and ended at least 60 s before now_ms (frames
 * still in flight). Each hour is one transaction under pg_advisory_xact_lock(HUB_HISTORY_LOCK_CLASS,
 * HUB_ROLLUP_LOCK_KEY), so hubs sharing the database take turns and an hour is rolled up once: it is
 * recorded in rollup_hour whether or not it had samples, and only keys with samples in it get rows.
 * Samples that arrive after their hour was rolled up are not counted in it. *hours: the hours this call
 * rolled up (those committed before a failure included). c is borrowed and left outside a transaction.
 * FL_OK or FL_EDB (err names the hour and the statement; that hour is rolled back and retried later). */
int hub_rollup_run(PGconn *c, int64_t now_ms, int64_t retention_ms, int max_hours, int *hours, char err[FL_ERR_LEN]);

#endif
