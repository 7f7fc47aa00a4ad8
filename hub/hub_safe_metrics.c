/* hub_safe_metrics.c — the SaFE sync's counters and gauges, and their Prometheus text (hub_safe_metrics_write). */
#include "hub_safe_metrics.h"

#include <stdatomic.h>
#include <stdint.h>

#include "fl_time.h"

static atomic_uint_fast64_t m_sync_ok, m_sync_error, m_insert, m_update, m_delete, m_revive, m_skipped, m_touch;
static atomic_uint_fast64_t m_wl_insert, m_wl_update, m_wl_skipped, m_wl_touch;
static atomic_int_fast64_t m_duplicates, m_last_success_ms;
static atomic_int m_enabled;

void hub_safe_metrics_cycle_ok(const hub_safe_stats *st)
{
	atomic_fetch_add(&m_sync_ok, 1);
	atomic_fetch_add(&m_insert, st->insert);
	atomic_fetch_add(&m_update, st->update);
	atomic_fetch_add(&m_delete, st->del);
	atomic_fetch_add(&m_revive, st->revive);
	atomic_fetch_add(&m_skipped, st->skipped);
	atomic_fetch_add(&m_touch, st->touch);
	atomic_fetch_add(&m_wl_insert, st->wl_insert);
	atomic_fetch_add(&m_wl_update, st->wl_update);
	atomic_fetch_add(&m_wl_skipped, st->wl_skipped);
	atomic_fetch_add(&m_wl_touch, st->wl_touch);
	atomic_store(&m_duplicates, (int_fast64_t)st->duplicates);
	atomic_store(&m_last_success_ms, fl_now_ms());
}

void hub_safe_metrics_cycle_failed(void)
{
	atomic_fetch_add(&m_sync_error, 1);
}

void hub_safe_metrics_set_enabled(int on)
{
	atomic_store(&m_enabled, on);
}

void hub_safe_metrics_write(FILE *f)
{
	fprintf(f,
	        "# HELP fleetlens_hub_safe_enabled 1 when hub.safe_database_url is set and the SaFE sync runs.\n"
	        "# TYPE fleetlens_hub_safe_enabled gauge\n"
	        "fleetlens_hub_safe_enabled %d\n"
	        "# HELP fleetlens_hub_safe_sync_total SaFE sync cycles by result.\n"
	        "# TYPE fleetlens_hub_safe_sync_total counter\n"
	        "fleetlens_hub_safe_sync_total{result=\"ok\"} %llu\n"
	        "fleetlens_hub_safe_sync_total{result=\"error\"} %llu\n"
	        "# HELP fleetlens_hub_safe_rows_total node_statistic rows written by the SaFE sync, by operation "
	        "(touch: value already right, updated_at advanced; skipped: nodes left out for a missing or "
	        "non-numeric value or an over-long name).\n"
	        "# TYPE fleetlens_hub_safe_rows_total counter\n"
	        "fleetlens_hub_safe_rows_total{op=\"insert\"} %llu\n"
	        "fleetlens_hub_safe_rows_total{op=\"update\"} %llu\n"
	        "fleetlens_hub_safe_rows_total{op=\"delete\"} %llu\n"
	        "fleetlens_hub_safe_rows_total{op=\"revive\"} %llu\n"
	        "fleetlens_hub_safe_rows_total{op=\"touch\"} %llu\n"
	        "fleetlens_hub_safe_rows_total{op=\"skipped\"} %llu\n"
	        "# HELP fleetlens_hub_safe_workload_rows_total workload_statistic rows written by the SaFE sync, by "
	        "operation (touch: figures already right, updated_at advanced; skipped: SaFE workloads left out for "
	        "an id, cluster id or namespace too long for SaFE's columns, or named by a second cluster).\n"
	        "# TYPE fleetlens_hub_safe_workload_rows_total counter\n"
	        "fleetlens_hub_safe_workload_rows_total{op=\"insert\"} %llu\n"
	        "fleetlens_hub_safe_workload_rows_total{op=\"update\"} %llu\n"
	        "fleetlens_hub_safe_workload_rows_total{op=\"touch\"} %llu\n"
	        "fleetlens_hub_safe_workload_rows_total{op=\"skipped\"} %llu\n"
	        "# HELP fleetlens_hub_safe_duplicate_rows rows found in the last successful cycle beyond the lowest "
	        "id of one node_statistic (cluster, node_name) or one wanted workload_statistic workload_id: left "
	        "alone.\n"
	        "# TYPE fleetlens_hub_safe_duplicate_rows gauge\n"
	        "fleetlens_hub_safe_duplicate_rows %lld\n"
	        "# HELP fleetlens_hub_safe_last_success_timestamp_seconds When the last SaFE sync cycle committed "
	        "(0: never).\n"
	        "# TYPE fleetlens_hub_safe_last_success_timestamp_seconds gauge\n"
	        "fleetlens_hub_safe_last_success_timestamp_seconds %.3f\n",
	        atomic_load(&m_enabled), (unsigned long long)atomic_load(&m_sync_ok),
	        (unsigned long long)atomic_load(&m_sync_error), (unsigned long long)atomic_load(&m_insert),
	        (unsigned long long)atomic_load(&m_update), (unsigned long long)atomic_load(&m_delete),
	        (unsigned long long)atomic_load(&m_revive), (unsigned long long)atomic_load(&m_touch),
	        (unsigned long long)atomic_load(&m_skipped), (unsigned long long)atomic_load(&m_wl_insert),
	        (unsigned long long)atomic_load(&m_wl_update), (unsigned long long)atomic_load(&m_wl_touch),
	        (unsigned long long)atomic_load(&m_wl_skipped), (long long)atomic_load(&m_duplicates),
	        (double)atomic_load(&m_last_success_ms) / 1000.0);
}
