/* hub_metrics.h — the hub's counters (process-wide, lock-free atomics) and their Prometheus text
 * rendering for GET /metrics, together with per-cluster gauges read from the registry.
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h) (the renderers: FL_OK or FL_ENOMEM); the counters return
 * nothing. */
#ifndef HUB_METRICS_H
#define HUB_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fl_err.h"
#include "hub_registry.h"
#include "hub_view.h"

typedef enum hub_counter {
	HUB_M_FRAMES_RECEIVED = 0,
	HUB_M_FRAMES_ACCEPTED,
	HUB_M_FRAMES_DUPLICATE,
	HUB_M_REJECTED_MALFORMED,
	HUB_M_REJECTED_OVERSIZED,
	HUB_M_REJECTED_UNKNOWN_CLUSTER,
	HUB_M_REJECTED_BAD_SIGNATURE,
	HUB_M_REJECTED_REPLAY,
	HUB_M_REJECTED_DB_ERROR,
	HUB_M_REJECTED_WRONG_KEY_ROLE, /* a node key on another kind, or a node frame under the cluster key */
	HUB_M_FULL_REQUESTED,
	HUB_M_INGEST_LOG_PRUNED,
	HUB_M_FRAME_BYTES,
	HUB_M_NODE_ROWS_WRITTEN,
	HUB_M_WORKLOAD_ROWS_WRITTEN,
	HUB_M_DB_ERRORS,
	HUB_M_API_2XX,
	HUB_M_API_4XX,
	HUB_M_API_5XX,
	HUB_M_NODE_FRAMES_APPLIED, /* node frames (the node role) stored */
	HUB_M_NODE_FRAMES_STALE,   /* node frames older than the node's newest: acknowledged, not stored */
	HUB_M_DEVICE_CHANGES,      /* node_device_changelog rows written */
	HUB_M_JOBS_STARTED,
	HUB_M_JOBS_ENDED,
	HUB_M_AGENTS_LOST,           /* node agents marked lost by the sweep */
	HUB_M_JOBS_LOST,             /* running jobs marked lost with their agent */
	HUB_M_ROLLUP_HOURS,          /* completed hours rolled up into the hourly statistics (hub_rollup) */
	HUB_M_LENS_4001,             /* Lens face answers with meta.code 4001 (a bad parameter) */
	HUB_M_LENS_4004,             /* ... 4004 (an unknown cluster, node, workload or pod) */
	HUB_M_LENS_5000,             /* ... 5000 (a value that does not parse, the database unavailable) */
	HUB_M_LENS_5002,             /* ... 5002 (the database unavailable on a gpu-aggregation route) */
	HUB_M_CONFIG_RELOADS_OK,     /* clusters.yaml reloads applied (SIGHUP or the file watch) */
	HUB_M_CONFIG_RELOADS_FAILED, /* ... refused (the file did not load; the running config stayed) */
	HUB_M_COUNT
} hub_counter;

/* Adds n to counter c. Thread-safe. */
void hub_metrics_add(hub_counter c, uint64_t n);

/* Current value of counter c. */
uint64_t hub_metrics_get(hub_counter c);

/* Records the wall-clock time (ms) of the last applied configuration (start or reload): the gauge
 * fleetlens_hub_config_last_reload_success_timestamp_seconds, and fleetlens_hub_config_last_reload_successful 1. */
void hub_metrics_set_config_success(int64_t unix_ms);

/* Records a refused reload: fleetlens_hub_config_last_reload_successful 0 until the next applied one. */
void hub_metrics_set_config_failed(void);

/* Zeroes every counter (tests). */
void hub_metrics_reset(void);

/* Renders every metric, with # HELP and # TYPE, as Prometheus text format 0.0.4 into a new malloc'd
 * NUL-terminated buffer (*out, *out_len; the caller frees it). Cluster gauges come from reg at now_ms, one
 * series per cluster that scope marks (hub_registry_count flags in config order, as hub_auth_scope gives
 * them; NULL: every cluster); the process-wide counters are always all there. FL_OK or FL_ENOMEM. */
int hub_metrics_render(hub_registry *reg, const bool *scope, int64_t now_ms, int64_t stale_after_ms,
                       int64_t offline_after_ms, char **out, size_t *out_len);

/* API routes, as labels of the latency histogram. */
typedef enum hub_api_route {
	HUB_ROUTE_CLUSTERS = 0,
	HUB_ROUTE_CLUSTERS_OVERVIEW,
	HUB_ROUTE_CLUSTERS_HEATMAP,
	HUB_ROUTE_FLEET_OVERVIEW,
	HUB_ROUTE_NODES,
	HUB_ROUTE_NODES_ALLOCATION,
	HUB_ROUTE_NODE,
	HUB_ROUTE_NODE_GPUS,
	HUB_ROUTE_NODE_HISTORY,
	HUB_ROUTE_WORKLOADS,
	HUB_ROUTE_WORKLOAD,
	HUB_ROUTE_WORKLOAD_HISTORY,
	HUB_ROUTE_JOBS,
	HUB_ROUTE_JOB,
	HUB_ROUTE_JOB_METRICS,
	HUB_ROUTE_USAGE,
	HUB_ROUTE_OPENAPI, /* /v1/openapi.json, the API's contract (hub/openapi.json) */
	HUB_ROUTE_HEALTHZ,
	HUB_ROUTE_READYZ,
	HUB_ROUTE_METRICS,
	HUB_ROUTE_LENS,    /* every route of the Lens face (/lens/v1, /api/v1) */
	HUB_ROUTE_CONSOLE, /* console files */
	HUB_ROUTE_OTHER,   /* unknown paths, preflights, refused requests */
	HUB_ROUTE_COUNT
} hub_api_route;

/* The route's label: its path pattern ("/v1/nodes/{name}"), "console" or "other". */
const char *hub_metrics_route_name(hub_api_route r);

/* Records one API answer of route r that took micros microseconds. Thread-safe, lock-free. */
void hub_metrics_observe_api(hub_api_route r, int64_t micros);

/* Renders the API latency histograms (fleetlens_hub_api_request_duration_seconds{route}) and, from
 * view, the per-cluster overview gauges of the clusters scope marks (hub_view_count flags; NULL: every
 * cluster) and the view's size, as Prometheus text appended to the malloc'd buffer *buf of *len bytes
 * (NULL/0 to start one; the caller frees it). FL_OK or FL_ENOMEM. */
int hub_metrics_render_api(hub_view *view, const bool *scope, char **buf, size_t *len);

#endif
