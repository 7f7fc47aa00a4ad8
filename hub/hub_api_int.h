/* hub_api_int.h — what hub_api.c (server, dispatch, access, answers) shares with the files of the routes
 * (hub_api_v1.c, hub_api_jobs.c, hub_api_workloads.c, hub_api_history.c, hub_api_usage.c, hub_api_openapi.c,
 * and the Lens face through hub_lens_int.h). Not used outside the API.
 *
 * Return convention: a route handler returns the HTTP status it sent; a helper that may answer (hub_api_cluster_set,
 * hub_api_scope_names, hub_api_status_list) returns 0 when it answered nothing and the caller goes on, or the status
 * it sent; hub_api_node_agents, which answers nothing, returns FL_OK or a negative FL_E* (fl_err.h). */
#ifndef HUB_API_INT_H
#define HUB_API_INT_H

#include <civetweb.h>
#include <libpq-fe.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "fl_log.h"
#include "hub_api.h"
#include "hub_api_cache.h"
#include "hub_auth.h"
#include "hub_params.h"
#include "hub_view.h"

struct hub_api {
	struct mg_context *ctx;
	const hub_config *cfg; /* borrowed */
	hub_registry *reg;     /* borrowed */
	hub_view *view;        /* borrowed */
	/* Tokens, scopes, CORS and cluster labels come from the registry's current generation, which each request
	 * takes at its start (hub_req.cl); cfg is the start-up config, for the settings a reload does not change. */
	hub_api_cache
	    *cache; /* owned: per-snapshot answer text (heat map and GPU allocation rows, /v1/clusters items) */
	const json_t *migrations; /* borrowed */
	fl_log_limit db_log;      /* database failures: one line per 10 s (HUB_API_DB_LOG_EVERY_MS) */
	char listen[HUB_URL_LEN]; /* what civetweb listens on (loopback when no tokens) */
};

/* One request being answered. */
typedef struct hub_req {
	struct mg_connection *c;
	hub_api *api;
	const char *query;                  /* the raw query string, or NULL */
	hub_clusters *cl;                   /* the cluster configuration this request is answered under (a reference) */
	const bool *scope;                  /* by slot, HUB_MAX_CLUSTERS flags: the clusters the caller may see */
	char name[FL_NAME_LEN];             /* {name} of /v1/nodes/{name}... and {uid} of /v1/workloads/{uid} */
	char headers[HUB_ORIGIN_LEN + 128]; /* extra response headers (CORS), "" for none */
} hub_req;

/* Sends data (stolen; NULL means out of memory → 500) in the envelope with 200/2000. Returns 200. */
int hub_api_ok(hub_req *r, json_t *data);

/* The start of every 200 envelope; a caller writing its own answer text follows it with the data and "}". */
/* The least time between two log lines about a failing database (fl_log_limit). */
#define HUB_API_DB_LOG_EVERY_MS 10000

#define HUB_API_OK_HEAD "{\"meta\":{\"code\":2000,\"message\":\"OK\"},\"data\":"

/* Sends envelope (len bytes: a whole 200 answer the caller wrote, HUB_API_OK_HEAD + data + "}") with
 * status 200, in one write after the headers. Returns 200. envelope stays the caller's. */
int hub_api_ok_text(hub_req *r, const char *envelope, size_t len);

/* Sends an error envelope: status 400/4001, 401/4003, 404/4004, 405/4005, 500/5000 or 503/5003, message from fmt.
 * Returns status. */
int hub_api_error(hub_req *r, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The /v1 routes (hub_api_v1.c). Each answers and returns the HTTP status it sent. */
int hub_api_v1_clusters(hub_req *r);
int hub_api_v1_overview(hub_req *r);
int hub_api_v1_fleet_overview(hub_req *r);
int hub_api_v1_heatmap(hub_req *r);
int hub_api_v1_nodes(hub_req *r);
int hub_api_v1_gpu_allocation(hub_req *r);
int hub_api_v1_node(hub_req *r);
int hub_api_v1_node_gpus(hub_req *r);

/* Reads ?cluster= and (with_labels) every ?label= into *out, a new array of HUB_MAX_CLUSTERS flags by slot
 * (caller frees) with out[i] true
 * for each cluster the request covers (in scope, the one named if any, carrying every label). Returns 0,
 * or the status answered (400, 404, 500) with *out NULL. */
int hub_api_cluster_set(hub_req *r, bool with_labels, bool **out);

/* The names of the clusters set[] marks (borrowed from the view), *n of them, in a new array
 * (caller frees). NULL only when out of memory. */
const char **hub_api_cluster_names(hub_req *r, const bool *set, size_t *n);

/* The clusters the request covers (hub_api_cluster_set, with its ?label= when with_labels) as names in
 * *names (a new array, caller frees; *n of them, maybe 0). 0, or the status answered (400, 404, 500) with
 * *names NULL. */
int hub_api_scope_names(hub_req *r, bool with_labels, const char ***names, size_t *n);

/* ?status=: a comma list (hub_params_statuses) whose every word is one of allowed[0..n_allowed) into out,
 * pointing into buf; *n is 0 when absent. 0, or 400 answered naming the word and the allowed ones. */
int hub_api_status_list(hub_req *r, const char *const *allowed, size_t n_allowed, char buf[HUB_PARAM_MAX + 1],
                        const char *out[HUB_QUERY_MAX_STATUSES], size_t *n);

/* Sends json (a whole data value as JSON text, stolen) in the 200 envelope. When rv is not FL_OK or json is
 * NULL: 500 "out of memory" for FL_ENOMEM and for FL_OK with json NULL (the caller's strdup failed), else
 * 503 "<what> are unavailable: the database did not answer" (err logged). */
int hub_api_answer_text(hub_req *r, const char *what, char *json, int rv, const char *err);

/* The API worker's own connection to the hub DB, or NULL (err says why). */
PGconn *hub_api_pgconn(hub_req *r, char err[FL_ERR_LEN]);

/* GET /v1/openapi.json (hub_api_openapi.c): hub/openapi.json as embedded at build time, 200
 * application/json. Needs no token. Returns 200. */
int hub_api_openapi(hub_req *r);

/* GET /v1/jobs, GET /v1/jobs/{id}, GET /v1/jobs/{id}/metrics (hub_api_jobs.c), from gpu_job and gpu_job_sample. */
int hub_api_jobs(hub_req *r);
int hub_api_job(hub_req *r);
int hub_api_job_metrics(hub_req *r);

/* The node agents' view of node r->name (hub_api_jobs.c): a JSON array text (see hub_node_agents_json) for
 * the clusters set[] marks, in *json (caller frees). FL_OK or an FL_E* code with err. */
int hub_api_node_agents(hub_req *r, const bool *set, char **json, char err[FL_ERR_LEN]);

/* GET /v1/workloads and GET /v1/workloads/{uid} (hub_api_workloads.c), read from PostgreSQL. */
int hub_api_workloads(hub_req *r);
int hub_api_workload(hub_req *r);

/* GET /v1/nodes/{name}/utilizationHistory and /v1/workloads/{uid}/utilizationHistory (hub_api_history.c). */
int hub_api_history(hub_req *r);
int hub_api_workload_history(hub_req *r);

/* ?start=&end=&step= (Unix seconds; defaults: the last hour, 60 s) of every time-series route, checked: start
 * before end, at most 400 days, at most HUB_HISTORY_MAX_POINTS buckets. 0, or the 400 it answered. */
int hub_api_time_range(hub_req *r, int64_t *start, int64_t *end, int64_t *step);

/* The calling API worker thread's own hub_store (connected on first use; owned by the thread's slot),
 * or NULL if out of memory. */
struct hub_store *hub_api_store(hub_req *r);

#endif
