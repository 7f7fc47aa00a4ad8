/* hub_metrics.c — atomic counters and the /metrics text. */
#include "hub_metrics.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_uint_fast64_t counters[HUB_M_COUNT];

void hub_metrics_add(hub_counter c, uint64_t n)
{
	atomic_fetch_add_explicit(&counters[c], n, memory_order_relaxed);
}

uint64_t hub_metrics_get(hub_counter c)
{
	return atomic_load_explicit(&counters[c], memory_order_relaxed);
}

void hub_metrics_reset(void)
{
	for (int i = 0; i < HUB_M_COUNT; i++)
		atomic_store(&counters[i], 0);
}

static void counter(FILE *f, const char *name, const char *help, hub_counter c)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name,
	        (unsigned long long)hub_metrics_get(c));
}

/* Every reason is printed, even at 0, so rate() and alerts work from the first scrape. */
static const struct {
	const char *reason;
	hub_counter c;
} rejected[] = {{"malformed", HUB_M_REJECTED_MALFORMED},
                {"oversized", HUB_M_REJECTED_OVERSIZED},
                {"unknown_cluster", HUB_M_REJECTED_UNKNOWN_CLUSTER},
                {"bad_signature", HUB_M_REJECTED_BAD_SIGNATURE},
                {"replay", HUB_M_REJECTED_REPLAY},
                {"db_error", HUB_M_REJECTED_DB_ERROR}};

static const char *const statuses[] = {"online", "stale", "offline", "never_seen"};

int hub_metrics_render(hub_registry *reg, int64_t now_ms, int64_t stale_after_ms, int64_t offline_after_ms, char **out,
                       size_t *out_len)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (f == NULL)
		return FL_ENOMEM;
	counter(f, "fleetlens_hub_frames_received_total", "Frames read from the ingest socket.", HUB_M_FRAMES_RECEIVED);
	counter(f, "fleetlens_hub_frames_accepted_total", "Frames committed to PostgreSQL and acknowledged.",
	        HUB_M_FRAMES_ACCEPTED);
	counter(f, "fleetlens_hub_frames_duplicate_total",
	        "Frames seen before (same spoke id, old sequence number), acknowledged and ignored.",
	        HUB_M_FRAMES_DUPLICATE);
	fprintf(f, "# HELP fleetlens_hub_frames_rejected_total Frames refused, by reason.\n"
	           "# TYPE fleetlens_hub_frames_rejected_total counter\n");
	for (size_t k = 0; k < sizeof(rejected) / sizeof(rejected[0]); k++)
		fprintf(f, "fleetlens_hub_frames_rejected_total{reason=\"%s\"} %llu\n", rejected[k].reason,
		        (unsigned long long)hub_metrics_get(rejected[k].c));
	counter(f, "fleetlens_hub_full_requested_total",
	        "Acks that asked a spoke for a full snapshot (a gap, or its first frames since the hub started).",
	        HUB_M_FULL_REQUESTED);
	counter(f, "fleetlens_hub_ingest_log_pruned_total", "ingest_log rows deleted after hub.ingest_log_retention.",
	        HUB_M_INGEST_LOG_PRUNED);
	counter(f, "fleetlens_hub_frame_bytes_total", "Bytes of frames received.", HUB_M_FRAME_BYTES);
	counter(f, "fleetlens_hub_node_rows_written_total", "Node rows upserted.", HUB_M_NODE_ROWS_WRITTEN);
	counter(f, "fleetlens_hub_db_errors_total", "Failed database statements and connection attempts.",
	        HUB_M_DB_ERRORS);
	fprintf(f,
	        "# HELP fleetlens_hub_api_requests_total API answers by status class.\n"
	        "# TYPE fleetlens_hub_api_requests_total counter\n"
	        "fleetlens_hub_api_requests_total{code=\"2xx\"} %llu\n"
	        "fleetlens_hub_api_requests_total{code=\"4xx\"} %llu\n"
	        "fleetlens_hub_api_requests_total{code=\"5xx\"} %llu\n",
	        (unsigned long long)hub_metrics_get(HUB_M_API_2XX), (unsigned long long)hub_metrics_get(HUB_M_API_4XX),
	        (unsigned long long)hub_metrics_get(HUB_M_API_5XX));

	size_t n = hub_registry_count(reg);
	hub_cluster_state *st = n > 0 ? calloc(n, sizeof(*st)) : NULL;
	if (n > 0 && st == NULL) {
		fclose(f);
		free(buf);
		return FL_ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		hub_registry_get(reg, i, &st[i]);

	/* Cluster names are [A-Za-z0-9._-] (checked at config load), so they need no label escaping. */
	fprintf(f, "# HELP fleetlens_cluster_up 1 for each cluster's current status, 0 for the others.\n"
	           "# TYPE fleetlens_cluster_up gauge\n");
	for (size_t i = 0; i < n; i++) {
		const char *cur = hub_status_of(st[i].last_frame_ms, now_ms, stale_after_ms, offline_after_ms);
		for (size_t k = 0; k < sizeof(statuses) / sizeof(statuses[0]); k++)
			fprintf(f, "fleetlens_cluster_up{cluster=\"%s\",status=\"%s\"} %d\n", hub_registry_name(reg, i),
			        statuses[k], strcmp(cur, statuses[k]) == 0);
	}
	fprintf(f, "# HELP fleetlens_cluster_last_frame_age_seconds Seconds since the cluster's last frame "
	           "(-1: never seen).\n"
	           "# TYPE fleetlens_cluster_last_frame_age_seconds gauge\n");
	for (size_t i = 0; i < n; i++) {
		double age = st[i].last_frame_ms > 0 ? (double)(now_ms - st[i].last_frame_ms) / 1000.0 : -1.0;
		fprintf(f, "fleetlens_cluster_last_frame_age_seconds{cluster=\"%s\"} %.3f\n", hub_registry_name(reg, i),
		        age);
	}
	fprintf(f, "# HELP fleetlens_cluster_gpu_nodes GPU nodes by health, from the cluster's last overview.\n"
	           "# TYPE fleetlens_cluster_gpu_nodes gauge\n");
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "fleetlens_cluster_gpu_nodes{cluster=\"%s\",state=\"healthy\"} %lld\n",
		        hub_registry_name(reg, i), (long long)st[i].healthy_nodes);
		fprintf(f, "fleetlens_cluster_gpu_nodes{cluster=\"%s\",state=\"faulty\"} %lld\n",
		        hub_registry_name(reg, i), (long long)st[i].faulty_nodes);
	}
	free(st);
	if (fclose(f) != 0 || buf == NULL) {
		free(buf);
		return FL_ENOMEM;
	}
	*out = buf;
	*out_len = len;
	return FL_OK;
}
