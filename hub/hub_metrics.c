/* hub_metrics.c — atomic counters and the /metrics text. */
#include "hub_metrics.h"

#include "hub_peers.h"
#include "hub_safe.h"

#include <math.h>
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

static _Atomic int64_t config_success_ms;
static _Atomic int config_last_ok = 1; /* the start-up config loaded, or the process would not run */

void hub_metrics_set_config_success(int64_t unix_ms)
{
	atomic_store(&config_success_ms, unix_ms);
	atomic_store(&config_last_ok, 1);
}

void hub_metrics_set_config_failed(void)
{
	atomic_store(&config_last_ok, 0);
}

/* The configuration reload metrics. */
static void config_metrics(FILE *f)
{
	fprintf(
	    f,
	    "# HELP fleetlens_hub_config_reloads_total clusters.yaml reloads (SIGHUP or a changed file), by result.\n"
	    "# TYPE fleetlens_hub_config_reloads_total counter\n"
	    "fleetlens_hub_config_reloads_total{result=\"ok\"} %llu\n"
	    "fleetlens_hub_config_reloads_total{result=\"failed\"} %llu\n"
	    "# HELP fleetlens_hub_config_last_reload_success_timestamp_seconds When the running configuration was "
	    "loaded (start or the last applied reload).\n"
	    "# TYPE fleetlens_hub_config_last_reload_success_timestamp_seconds gauge\n"
	    "fleetlens_hub_config_last_reload_success_timestamp_seconds %.3f\n"
	    "# HELP fleetlens_hub_config_last_reload_successful 1 when the last load of the configuration (start or "
	    "reload) was applied, 0 when it was refused.\n"
	    "# TYPE fleetlens_hub_config_last_reload_successful gauge\n"
	    "fleetlens_hub_config_last_reload_successful %d\n",
	    (unsigned long long)hub_metrics_get(HUB_M_CONFIG_RELOADS_OK),
	    (unsigned long long)hub_metrics_get(HUB_M_CONFIG_RELOADS_FAILED),
	    (double)atomic_load(&config_success_ms) / 1000.0, atomic_load(&config_last_ok));
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
                {"db_error", HUB_M_REJECTED_DB_ERROR},
                {"wrong_key_role", HUB_M_REJECTED_WRONG_KEY_ROLE}};

/* The Lens face's error answers (HTTP 200 with the code in meta), by code. */
static const struct {
	const char *code;
	hub_counter c;
} lens_errors[] = {
    {"4001", HUB_M_LENS_4001}, {"4004", HUB_M_LENS_4004}, {"5000", HUB_M_LENS_5000}, {"5002", HUB_M_LENS_5002}};

static const char *const statuses[] = {"online", "stale", "offline", "never_seen"};

/* The hub-wide counters, in exposition order. */
static void write_counters(FILE *f)
{
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
	counter(f, "fleetlens_hub_workload_rows_written_total", "GPU workload and GPU pod rows upserted.",
	        HUB_M_WORKLOAD_ROWS_WRITTEN);
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

	counter(f, "fleetlens_hub_node_frames_applied_total", "Node frames (spokes in the node role) stored.",
	        HUB_M_NODE_FRAMES_APPLIED);
	counter(f, "fleetlens_hub_node_frames_stale_total",
	        "Node frames older than the node's newest one (another spoke stream): acknowledged, not stored.",
	        HUB_M_NODE_FRAMES_STALE);
	counter(f, "fleetlens_hub_device_changes_total",
	        "GPU and RDMA devices that appeared, disappeared or were replaced (node_device_changelog rows).",
	        HUB_M_DEVICE_CHANGES);
	counter(f, "fleetlens_hub_jobs_started_total", "GPU jobs seen for the first time.", HUB_M_JOBS_STARTED);
	counter(f, "fleetlens_hub_jobs_ended_total", "GPU jobs no longer listed by their node.", HUB_M_JOBS_ENDED);
	counter(f, "fleetlens_hub_node_agents_lost_total",
	        "Node agents marked lost (no frame for hub.node_lost_after).", HUB_M_AGENTS_LOST);
	counter(f, "fleetlens_hub_jobs_lost_total", "Running GPU jobs marked lost because their node agent was.",
	        HUB_M_JOBS_LOST);
	counter(f, "fleetlens_hub_rollup_hours_total",
	        "Completed hours this hub rolled up into the hourly statistics (cluster, namespace, workload).",
	        HUB_M_ROLLUP_HOURS);
	fprintf(f,
	        "# HELP fleetlens_hub_lens_errors_total Lens API answers that carried an error code in meta (HTTP 200, "
	        "as Lens answers), by code.\n# TYPE fleetlens_hub_lens_errors_total counter\n");
	for (size_t k = 0; k < sizeof(lens_errors) / sizeof(lens_errors[0]); k++)
		fprintf(f, "fleetlens_hub_lens_errors_total{code=\"%s\"} %llu\n", lens_errors[k].code,
		        (unsigned long long)hub_metrics_get(lens_errors[k].c));
}

/* The per-cluster gauges for the n clusters in st (those scope allows; every one when scope is NULL). */
static void write_cluster_gauges(FILE *f, hub_registry *reg, const hub_cluster_state *st, size_t n, const bool *scope,
                                 int64_t now_ms, int64_t stale_after_ms, int64_t offline_after_ms)
{
	/* Cluster names are [A-Za-z0-9._-] (checked at config load), so they need no label escaping. A
	 * scoped token sees only its clusters' series (README, Access). */
	fprintf(f, "# HELP fleetlens_cluster_up 1 for each cluster's current status, 0 for the others.\n"
	           "# TYPE fleetlens_cluster_up gauge\n");
	for (size_t i = 0; i < n; i++) {
		if (scope != NULL && !scope[i])
			continue;
		const char *cur = hub_status_of(st[i].last_frame_ms, now_ms, stale_after_ms, offline_after_ms);
		for (size_t k = 0; k < sizeof(statuses) / sizeof(statuses[0]); k++)
			fprintf(f, "fleetlens_cluster_up{cluster=\"%s\",status=\"%s\"} %d\n", hub_registry_name(reg, i),
			        statuses[k], strcmp(cur, statuses[k]) == 0);
	}
	fprintf(f, "# HELP fleetlens_cluster_last_frame_age_seconds Seconds since the cluster's last frame "
	           "(-1: never seen).\n"
	           "# TYPE fleetlens_cluster_last_frame_age_seconds gauge\n");
	for (size_t i = 0; i < n; i++) {
		if (scope != NULL && !scope[i])
			continue;
		double age = st[i].last_frame_ms > 0 ? (double)(now_ms - st[i].last_frame_ms) / 1000.0 : -1.0;
		fprintf(f, "fleetlens_cluster_last_frame_age_seconds{cluster=\"%s\"} %.3f\n", hub_registry_name(reg, i),
		        age);
	}
	fprintf(f, "# HELP fleetlens_cluster_gpu_nodes GPU nodes by health, from the cluster's last overview.\n"
	           "# TYPE fleetlens_cluster_gpu_nodes gauge\n");
	for (size_t i = 0; i < n; i++) {
		if (scope != NULL && !scope[i])
			continue;
		fprintf(f, "fleetlens_cluster_gpu_nodes{cluster=\"%s\",state=\"healthy\"} %lld\n",
		        hub_registry_name(reg, i), (long long)st[i].healthy_nodes);
		fprintf(f, "fleetlens_cluster_gpu_nodes{cluster=\"%s\",state=\"faulty\"} %lld\n",
		        hub_registry_name(reg, i), (long long)st[i].faulty_nodes);
	}
}

int hub_metrics_render(hub_registry *reg, const bool *scope, int64_t now_ms, int64_t stale_after_ms,
                       int64_t offline_after_ms, char **out, size_t *out_len)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (f == NULL)
		return FL_ENOMEM;
	write_counters(f);
	hub_safe_metrics_write(f);
	hub_peers_metrics_write(f);
	config_metrics(f);

	size_t n = hub_registry_count(reg);
	hub_cluster_state *st = n > 0 ? calloc(n, sizeof(*st)) : NULL;
	if (n > 0 && st == NULL) {
		fclose(f);
		free(buf);
		return FL_ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		hub_registry_get(reg, i, &st[i]);
	write_cluster_gauges(f, reg, st, n, scope, now_ms, stale_after_ms, offline_after_ms);
	free(st);
	if (fclose(f) != 0 || buf == NULL) {
		free(buf);
		return FL_ENOMEM;
	}
	*out = buf;
	*out_len = len;
	return FL_OK;
}

/* --- API latency and overview gauges -------------------------------------------------------------- */

static const char *const route_names[HUB_ROUTE_COUNT] = {"/v1/clusters",
                                                         "/v1/clusters/overview",
                                                         "/v1/clusters/gpuHeatmap",
                                                         "/v1/fleet/overview",
                                                         "/v1/nodes",
                                                         "/v1/nodes/gpuAllocation",
                                                         "/v1/nodes/{name}",
                                                         "/v1/nodes/{name}/gpuDevices",
                                                         "/v1/nodes/{name}/utilizationHistory",
                                                         "/v1/workloads",
                                                         "/v1/workloads/{uid}",
                                                         "/v1/workloads/{uid}/utilizationHistory",
                                                         "/v1/jobs",
                                                         "/v1/jobs/{id}",
                                                         "/v1/jobs/{id}/metrics",
                                                         "/v1/usage",
                                                         "/v1/openapi.json",
                                                         "/healthz",
                                                         "/readyz",
                                                         "/metrics",
                                                         "/lens/v1",
                                                         "console",
                                                         "other"};

/* Upper bounds in microseconds; the last bucket (+Inf) has none. */
static const int64_t bucket_us[] = {100, 250, 500, 1000, 2500, 5000, 10000, 50000, 250000, 1000000};
#define N_BUCKETS (sizeof(bucket_us) / sizeof(bucket_us[0]) + 1)

static atomic_uint_fast64_t api_buckets[HUB_ROUTE_COUNT][N_BUCKETS]; /* not cumulative */
static atomic_uint_fast64_t api_sum_us[HUB_ROUTE_COUNT];

const char *hub_metrics_route_name(hub_api_route r)
{
	return r >= 0 && r < HUB_ROUTE_COUNT ? route_names[r] : "other";
}

void hub_metrics_observe_api(hub_api_route r, int64_t micros)
{
	if (r < 0 || r >= HUB_ROUTE_COUNT)
		r = HUB_ROUTE_OTHER;
	if (micros < 0)
		micros = 0;
	size_t b = 0;
	while (b < N_BUCKETS - 1 && micros > bucket_us[b])
		b++;
	atomic_fetch_add_explicit(&api_buckets[r][b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&api_sum_us[r], (uint_fast64_t)micros, memory_order_relaxed);
}

int hub_metrics_render_api(hub_view *view, const bool *scope, char **buf, size_t *len)
{
	char *text = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&text, &n);
	if (f == NULL)
		return FL_ENOMEM;
	if (*buf != NULL)
		fwrite(*buf, 1, *len, f);
	fprintf(f, "# HELP fleetlens_hub_api_request_duration_seconds Time to answer an API request, by route.\n"
	           "# TYPE fleetlens_hub_api_request_duration_seconds histogram\n");
	for (int r = 0; r < HUB_ROUTE_COUNT; r++) {
		uint64_t cum = 0;
		for (size_t b = 0; b < N_BUCKETS; b++) {
			cum += atomic_load_explicit(&api_buckets[r][b], memory_order_relaxed);
			if (b < N_BUCKETS - 1)
				fprintf(
				    f,
				    "fleetlens_hub_api_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
				    route_names[r], (double)bucket_us[b] / 1e6, (unsigned long long)cum);
			else
				fprintf(f,
				        "fleetlens_hub_api_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} "
				        "%llu\n",
				        route_names[r], (unsigned long long)cum);
		}
		fprintf(f, "fleetlens_hub_api_request_duration_seconds_sum{route=\"%s\"} %.6f\n", route_names[r],
		        (double)atomic_load_explicit(&api_sum_us[r], memory_order_relaxed) / 1e6);
		fprintf(f, "fleetlens_hub_api_request_duration_seconds_count{route=\"%s\"} %llu\n", route_names[r],
		        (unsigned long long)cum);
	}
	fprintf(f,
	        "# HELP fleetlens_hub_view_bytes Memory held by the API's in-memory view of every cluster.\n"
	        "# TYPE fleetlens_hub_view_bytes gauge\nfleetlens_hub_view_bytes %zu\n",
	        hub_view_bytes(view));
	size_t nc = hub_view_count(view);
	hub_view_snap **snaps = calloc(nc + 1, sizeof(*snaps));
	if (snaps == NULL) {
		fclose(f);
		free(text);
		return FL_ENOMEM;
	}
	/* Out of scope clusters stay NULL and print nothing. */
	for (size_t i = 0; i < nc; i++)
		if (scope == NULL || scope[i])
			snaps[i] = hub_view_get(view, i);
	/* Cluster names are [A-Za-z0-9._-] (checked at config load): no label escaping needed. */
	fprintf(f, "# HELP fleetlens_cluster_gpus GPUs on healthy GPU nodes from the cluster's last overview.\n"
	           "# TYPE fleetlens_cluster_gpus gauge\n");
	for (size_t i = 0; i < nc; i++)
		if (snaps[i] != NULL && snaps[i]->has_overview)
			fprintf(f,
			        "fleetlens_cluster_gpus{cluster=\"%s\",state=\"allocatable\"} %lld\n"
			        "fleetlens_cluster_gpus{cluster=\"%s\",state=\"allocated\"} %lld\n",
			        snaps[i]->name, (long long)snaps[i]->overview.gpus_allocatable, snaps[i]->name,
			        (long long)snaps[i]->overview.gpus_allocated);
	fprintf(f,
	        "# HELP fleetlens_cluster_allocation_rate Percent of allocatable GPUs held by pods (last overview).\n"
	        "# TYPE fleetlens_cluster_allocation_rate gauge\n");
	for (size_t i = 0; i < nc; i++)
		if (snaps[i] != NULL && snaps[i]->has_overview)
			fprintf(f, "fleetlens_cluster_allocation_rate{cluster=\"%s\"} %.17g\n", snaps[i]->name,
			        snaps[i]->overview.allocation_rate);
	fprintf(f, "# HELP fleetlens_cluster_gpu_utilization Mean GPU utilization in percent (last overview; "
	           "absent while the cluster could not measure it).\n"
	           "# TYPE fleetlens_cluster_gpu_utilization gauge\n");
	for (size_t i = 0; i < nc; i++)
		if (snaps[i] != NULL && snaps[i]->has_overview && (snaps[i]->overview.unknown & FL_OV_UTILIZATION) == 0)
			fprintf(f, "fleetlens_cluster_gpu_utilization{cluster=\"%s\"} %.17g\n", snaps[i]->name,
			        snaps[i]->overview.utilization);
	fprintf(f, "# HELP fleetlens_cluster_view_nodes Nodes of the cluster in the API's view.\n"
	           "# TYPE fleetlens_cluster_view_nodes gauge\n");
	for (size_t i = 0; i < nc; i++)
		if (snaps[i] != NULL)
			fprintf(f, "fleetlens_cluster_view_nodes{cluster=\"%s\"} %u\n", snaps[i]->name,
			        snaps[i]->n_nodes);
	for (size_t i = 0; i < nc; i++)
		if (snaps[i] != NULL)
			hub_view_release(snaps[i]);
	free(snaps);
	if (fclose(f) != 0 || text == NULL) {
		free(text);
		return FL_ENOMEM;
	}
	free(*buf);
	*buf = text;
	*len = n;
	return FL_OK;
}
