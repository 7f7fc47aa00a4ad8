/* hub_lens_int.h — what the Lens face's files share (hub_lens.c: dispatch, envelope, parameters, the
 * cluster; hub_lens_view.c: the routes read from the in-memory view; hub_lens_workloads.c: workloads, pods
 * and a node's workloads, read from PostgreSQL; hub_lens_stats.c: the time series and the hourly
 * statistics). The face is the Lens API exactly as ../shared/LENS_API.md gives it, mounted at /lens/v1 and
 * /api/v1. Not used outside the API.
 *
 * Return convention (as hub_api_int.h): every route and every hub_lens_* reader that may answer returns 0
 * when it answered nothing and the caller goes on, or the HTTP status it sent (always 200 for Lens's
 * handler errors, which carry their code in meta.code; 500 only where Lens itself fails with 500). */
#ifndef HUB_LENS_INT_H
#define HUB_LENS_INT_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "hub_api_int.h"

/* Lens's meta codes (LENS_API.md 1.2). */
#define HUB_LENS_OK         2000
#define HUB_LENS_BAD_PARAM  4001
#define HUB_LENS_NOT_FOUND  4004
#define HUB_LENS_UNKNOWN    5000         /* "Unknown error": a parameter that does not parse, a database failure */
#define HUB_LENS_DB_ERROR   5002         /* the gpu-aggregation routes' database failure */
#define HUB_LENS_MAX_PAGE   100000       /* Lens has no page_size ceiling; ours bounds one answer */
#define HUB_LENS_MAX_ANSWER (256u << 20) /* the most bytes of one answer written as text */

/* One Lens request. */
typedef struct hub_lens_req {
	hub_req *r;               /* the HTTP request: connection, api, raw query, token scope */
	int cluster;              /* the cluster the request is about (index in the view), -1 if none */
	const char *cluster_name; /* its name (borrowed from the config), NULL if none */
	bool cluster_given;       /* ?cluster= named it (not the default) */
	char item[FL_NAME_LEN];   /* the {name} / {uid} path segment of item routes */
	bool db_route;            /* a gpu-aggregation route: a database failure is 5002, not 5000 */
} hub_lens_req;

/* Sends data (stolen; NULL = out of memory) as 200 {"meta":{"code":2000,"message":"OK"},"data":…,
 * "tracing":null}. Returns 200. */
int hub_lens_ok(hub_lens_req *q, json_t *data);

/* Sends json (the data value as JSON text, stolen; NULL = out of memory) in the same envelope. */
int hub_lens_ok_text(hub_lens_req *q, char *json);

/* Sends 200 {"meta":{"code":code,"message":…},"data":null,"tracing":null}: Lens's handler errors. Returns
 * 200. */
int hub_lens_fail(hub_lens_req *q, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A database failure: logs what (rate-limited) and answers 5000 "Unknown error" (5002 on db_route). */
int hub_lens_db_fail(hub_lens_req *q, const char *what, const char *err);

/* --- parameters, Lens's binding rules (LENS_API.md 1.4): an empty value is absent; unknown parameters are
 * ignored; a value that does not parse as the expected int or bool answers 5000 "Unknown error". */

/* Parameter name, decoded, into out (max_len bytes with the NUL; "" when absent). A value too long, with
 * a NUL or not UTF-8 answers 4001. */
int hub_lens_str(hub_lens_req *q, const char *name, char *out, size_t max_len);

/* An int64 in decimal (an optional '-'); def when absent. Not a number: 5000. */
int hub_lens_int(hub_lens_req *q, const char *name, int64_t def, int64_t *out);

/* true/false/1/0 (Go's strconv.ParseBool words too: t, f, TRUE, …); def when absent. Else 5000. */
int hub_lens_bool(hub_lens_req *q, const char *name, bool def, bool *out);

/* page_num (default 1; < 1 means 1) and page_size (default 10; <= 0 means 10; at most HUB_LENS_MAX_PAGE). */
int hub_lens_page(hub_lens_req *q, int64_t *page_num, int64_t *page_size);

/* An RFC 3339 time parameter (gpu-aggregation's start_time/end_time) as Unix milliseconds. Absent or
 * unparsable: 4001 "Invalid <name> format". */
int hub_lens_rfc3339(hub_lens_req *q, const char *name, int64_t *out_ms);

/* The cluster a request without ?cluster= is about (index in the view): hub.lens.default_cluster when r's
 * token may see it, else the first cluster in the file it may see; -1 when it sees none. */
int hub_lens_default_cluster(const hub_req *r);

/* --- the database ----------------------------------------------------------------------------------- */

/* The API worker's connection in *c, or the failure answered (5000/5002). */
int hub_lens_db(hub_lens_req *q, PGconn **c);

/* Runs sql (n text parameters) whose answer is one row of one column: the data as JSON text, which is
 * sent in the envelope. A NULL value answers 4004 with not_found (a route's "workload not found"); NULL
 * not_found sends data null instead. */
int hub_lens_answer_sql(hub_lens_req *q, const char *what, const char *sql, int n, const char *const *v,
                        const char *not_found);

/* The routes. Each answers and returns the HTTP status it sent. */

/* hub_lens_view.c: from the in-memory view. */
int hub_lens_clusters(hub_lens_req *q);        /* /gpu-aggregation/clusters */
int hub_lens_overview(hub_lens_req *q);        /* /clusters/overview */
int hub_lens_heatmap(hub_lens_req *q);         /* /clusters/gpuHeatmap */
int hub_lens_nodes(hub_lens_req *q);           /* /nodes */
int hub_lens_node(hub_lens_req *q);            /* /nodes/{name} */
int hub_lens_node_gpus(hub_lens_req *q);       /* /nodes/{name}/gpuDevices */
int hub_lens_gpu_allocation(hub_lens_req *q);  /* /nodes/gpuAllocation */
int hub_lens_gpu_utilization(hub_lens_req *q); /* /nodes/gpuUtilization */

/* hub_lens_workloads.c: workloads, pods and a node's workloads, from PostgreSQL. */
int hub_lens_consumers(hub_lens_req *q);              /* /clusters/consumers */
int hub_lens_workloads(hub_lens_req *q);              /* /workloads */
int hub_lens_workload_meta(hub_lens_req *q);          /* /workloadMetadata */
int hub_lens_workload_tree(hub_lens_req *q);          /* /workloads/hierarchy (kind, name) */
int hub_lens_workload(hub_lens_req *q);               /* /workloads/{uid} */
int hub_lens_workload_subtree(hub_lens_req *q);       /* /workloads/{uid}/hierarchy */
int hub_lens_workload_statistic(hub_lens_req *q);     /* /workloads/statistic and /workloads/statistics */
int hub_lens_node_workloads(hub_lens_req *q);         /* /nodes/{name}/workloads */
int hub_lens_node_workloads_history(hub_lens_req *q); /* /nodes/{name}/workloadsHistory */
int hub_lens_pod(hub_lens_req *q);                    /* /pods/{pod_uid} */

/* hub_lens_stats.c: time series and hourly statistics, from PostgreSQL. */
int hub_lens_node_history(hub_lens_req *q);     /* /nodes/{name}/utilizationHistory */
int hub_lens_cluster_history(hub_lens_req *q);  /* /nodes/gpuUtilizationHistory */
int hub_lens_workload_history(hub_lens_req *q); /* /workloads/gpuUtilizationHistory */
int hub_lens_pod_history(hub_lens_req *q);      /* /pods/{pod_uid}/gpu-history */
int hub_lens_cluster_hourly(hub_lens_req *q);   /* /gpu-aggregation/cluster/hourly-stats */
int hub_lens_namespaces(hub_lens_req *q);       /* /gpu-aggregation/namespaces */
int hub_lens_workload_hourly(hub_lens_req *q);  /* /gpu-aggregation/workloads/hourly-stats */

/* hub_lens.c: the face's entry, called by hub_api.c for every path under /lens/v1/ or /api/v1/ (rest is
 * what follows the prefix, "/nodes"). Access (token, scope) is already checked. Returns the status sent. */
int hub_lens_handle(hub_req *r, const char *rest);

#endif
