/* hub_safe_metrics.h — the SaFE sync's counters and gauges: the sync thread records each cycle here, and
 * hub_safe_metrics_write (hub_safe.h) renders them for GET /metrics. Process-wide atomics; every function is
 * thread-safe and returns nothing. */
#ifndef HUB_SAFE_METRICS_H
#define HUB_SAFE_METRICS_H

#include "hub_safe.h"

/* A committed cycle: adds st's row counts to the counters, sets the duplicate-rows gauge to st->duplicates
 * and the last-success time to now. */
void hub_safe_metrics_cycle_ok(const hub_safe_stats *st);

/* A failed cycle (a connection or a statement): fleetlens_hub_safe_sync_total{result="error"} += 1. */
void hub_safe_metrics_cycle_failed(void);

/* fleetlens_hub_safe_enabled: 1 while the sync thread runs, 0 after it stopped. */
void hub_safe_metrics_set_enabled(int on);

#endif
