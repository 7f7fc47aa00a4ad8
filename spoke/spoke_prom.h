/* spoke_prom.h — the `prometheus` source: GPU and cluster figures from a Prometheus HTTP API.
 *
 * It does not list nodes: each cycle it ENRICHES the model a node source (sim, kube) filled, with
 * instant queries (/api/v1/query) — per-GPU utilization, memory, power and temperature (so the
 * per-node mean utilization and the overview's utilization follow), and, when queries are given for
 * them, the cluster's storage (JuiceFS) and RDMA figures. A preset (amd, nvidia, ascend, lens) names
 * the exporter's metrics and labels; `queries:` overrides any of them.
 *
 * A Prometheus that is down, slow or answers nonsense costs only its figures: the model is marked
 * (spoke_model.unknown, GPU rows without utilization) and the frame still goes. Every answer is
 * bounded (max_response_bytes, SPOKE_PROM_MAX_SERIES) and parsed strictly; a series that cannot be
 * used (NaN, ±Inf, a string, a missing or bad node/GPU label, a value out of range) is skipped and
 * counted, never fatal.
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h), err naming what failed. */
#ifndef SPOKE_PROM_H
#define SPOKE_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fl_err.h"
#include "fl_proto.h"
#include "fl_yaml.h"
#include "spoke_model.h"

#define SPOKE_PROM_URL_LEN          512
#define SPOKE_PROM_PATH_LEN         1024
#define SPOKE_PROM_QUERY_LEN        1024 /* one PromQL expression */
#define SPOKE_PROM_LABEL_LEN        128
#define SPOKE_PROM_MAX_NODE_LABELS  4
#define SPOKE_PROM_MAX_SERIES       400000u     /* series in one answer; more is an error */
#define SPOKE_PROM_RESPONSE_DEFAULT (32u << 20) /* max_response_bytes */
#define SPOKE_PROM_RESPONSE_MIN     (4u << 10)
#define SPOKE_PROM_RESPONSE_MAX     (1u << 30)
#define SPOKE_PROM_TIMEOUT_DEFAULT  5000  /* ms, per query */
#define SPOKE_PROM_SECRET_MAX       16384 /* bytes of a token or password file */

/* What one query measures. The GPU figures are per series (node label + GPU index label); the
 * cluster figures are the sum of all the answer's series. */
typedef enum spoke_prom_figure {
	SPOKE_PROM_GPU_UTILIZATION = 0, /* percent, 0..100 */
	SPOKE_PROM_GPU_MEMORY_MIB,      /* total device memory, MiB */
	SPOKE_PROM_GPU_POWER,           /* Watts */
	SPOKE_PROM_GPU_TEMPERATURE,     /* Celsius */
	SPOKE_PROM_TOTAL_SPACE,         /* bytes (JuiceFS) */
	SPOKE_PROM_USED_SPACE,
	SPOKE_PROM_TOTAL_INODES,
	SPOKE_PROM_USED_INODES,
	SPOKE_PROM_READ_BANDWIDTH, /* bytes/s */
	SPOKE_PROM_WRITE_BANDWIDTH,
	SPOKE_PROM_TOTAL_TX, /* RDMA bytes/s, the cluster's sum */
	SPOKE_PROM_TOTAL_RX,
	SPOKE_PROM_FIGURES
} spoke_prom_figure;

#define SPOKE_PROM_GPU_FIGURES 4 /* figures 0..3 are per GPU */

typedef struct spoke_prom_config {
	char url[SPOKE_PROM_URL_LEN];         /* http(s)://host:port[/prefix], no trailing slash */
	char token_file[SPOKE_PROM_PATH_LEN]; /* bearer token, re-read every cycle (it may rotate); "" none */
	char username[SPOKE_PROM_LABEL_LEN];  /* basic auth, with password_file; "" none */
	char password_file[SPOKE_PROM_PATH_LEN];
	char ca_file[SPOKE_PROM_PATH_LEN]; /* PEM CA bundle for https; "" system default */
	int64_t timeout_ms;                /* per query, default 5 s */
	uint64_t max_response_bytes;       /* default 32 MiB */
	char preset[16];                   /* "amd", "nvidia", "ascend", "lens" or "" */
	char node_labels[SPOKE_PROM_MAX_NODE_LABELS][SPOKE_PROM_LABEL_LEN]; /* first one present wins */
	uint32_t n_node_labels;
	char gpu_label[SPOKE_PROM_LABEL_LEN];                   /* the GPU index label */
	char queries[SPOKE_PROM_FIGURES][SPOKE_PROM_QUERY_LEN]; /* "" = not queried */
} spoke_prom_config;

/* Counters since start (or since the caller zeroed its own struct). */
typedef struct spoke_prom_stats {
	uint64_t queries;    /* queries sent */
	uint64_t failed;     /* queries without a usable answer (down, timeout, HTTP error, bad JSON) */
	uint64_t oversized;  /* answers over max_response_bytes or SPOKE_PROM_MAX_SERIES (also in failed) */
	uint64_t bad_series; /* series skipped: NaN/Inf/non-numeric value, missing or bad label, out of range */
	uint64_t unmatched;  /* series of a node the model does not hold */
} spoke_prom_stats;

/* One usable series of a per-GPU answer. */
typedef struct spoke_prom_sample {
	char node[FL_NAME_LEN];
	int32_t gpu_id;
	double value;
	/* Utilization only: "NAMESPACE/POD" of the pod the exporter attributes the GPU to (labels
	 * exported_namespace/exported_pod, else namespace/pod — dcgm-exporter and AMD's exporter set them,
	 * and a Prometheus that scrapes them as pods renames them exported_*), malloc'd; NULL when the
	 * series names no pod. Free an array of samples with spoke_prom_samples_free. */
	char *pod;
} spoke_prom_sample;

/* Frees samples[0..n) and what each owns. NULL is fine. */
void spoke_prom_samples_free(spoke_prom_sample *samples, size_t n);

/* A figure's config key under `queries:` ("gpu_utilization", ..., "total_rx"), or NULL. */
const char *spoke_prom_config_figure_key(spoke_prom_figure f);

/* Fills cfg's labels and queries from preset (amd, nvidia, ascend, lens); the other fields are left
 * alone. FL_OK, or FL_EINVAL for an unknown preset name. */
int spoke_prom_config_preset(spoke_prom_config *cfg, const char *preset);

/* Sets the defaults (timeout 5 s, 32 MiB answers, no preset, no queries). */
void spoke_prom_config_default(spoke_prom_config *cfg);

/* Reads the sources.prometheus mapping `node` of doc into *cfg (defaults applied first; paths
 * relative to the config file's folder; token/password/CA files must be readable now). Keys: url
 * (required, http:// or https://), token_file, username + password_file, ca_file, timeout,
 * max_response_bytes, preset, node_label (a name or a list), gpu_label, queries (a map of figure
 * keys to PromQL). A preset or at least one query is required. FL_OK or FL_ECONFIG with err
 * "FILE:LINE:COL: key 'K': ..." (spoke_prom_config.c). */
int spoke_prom_config_load(fl_yaml_doc *doc, fl_yaml_node node, spoke_prom_config *cfg, char err[FL_ERR_LEN]);

/* Parses an instant-query answer (body, len bytes; need not be NUL-terminated) for figure f.
 * Per-GPU figures (f < SPOKE_PROM_GPU_FIGURES): each usable series becomes a sample in a new malloc'd
 * array *out of *n_out items (the caller frees it with spoke_prom_samples_free; NULL when none), its node taken from
 * the first of cfg->node_labels present and its GPU index from cfg->gpu_label. Cluster figures: *sum is the sum of the
 * usable series (or the scalar) and *n_out their number, *out stays NULL. Unusable series are skipped and counted in
 * st->bad_series. FL_OK; FL_EPROTO for an answer that is not a Prometheus success answer of a vector (or, for cluster
 * figures, a scalar), with err quoting Prometheus's own error when it gave one; FL_ELIMIT for more than
 * SPOKE_PROM_MAX_SERIES series; FL_ENOMEM. */
int spoke_prom_parse(const spoke_prom_config *cfg, spoke_prom_figure f, const char *body, size_t len,
                     spoke_prom_sample **out, size_t *n_out, double *sum, spoke_prom_stats *st, char err[FL_ERR_LEN]);

/* Writes the answer's figures into m: GPU rows found by (node, gpu_id), added for a node the model
 * holds but lacks the row (gpu_model from the node's product label); samples of other nodes are
 * counted in st->unmatched. Utilization replaces every row's: a row no sample names has none; and the
 * samples that name a pod replace m->pod_gpus (spoke_workload reads a pod's utilization there). */
int spoke_prom_apply_gpu(spoke_model *m, spoke_prom_figure f, const spoke_prom_sample *s, size_t n,
                         spoke_prom_stats *st, char err[FL_ERR_LEN]);

/* One cycle: runs every configured query against cfg->url and enriches m (filled by a node source)
 * with the answers. A query that fails, or whose answer has no usable series (for utilization and
 * the cluster figures: nothing measured them, which is not a 0), marks its figure unknown (m->unknown; for utilization,
 * every GPU row loses its utilization too) and is logged; when Prometheus cannot be reached or times out the remaining
 * queries are not tried. Only FL_ENOMEM is returned as an error (the cycle cannot go on); otherwise FL_OK, whatever
 * Prometheus did. Counters go to the process-wide stats. */
int spoke_prom_collect(const spoke_prom_config *cfg, spoke_model *m, char err[FL_ERR_LEN]);

/* Copies the process-wide counters of spoke_prom_collect into *out. */
void spoke_prom_get_stats(spoke_prom_stats *out);

/* HTTP GET of cfg->url + "/api/v1/query?query=<query, escaped>" with cfg's auth and timeout (spoke_prom_http.c).
 * On FL_OK *body is a new malloc'd, NUL-terminated buffer of *len bytes (the caller frees it) and
 * *status the HTTP status (any: Prometheus answers errors with JSON bodies too). FL_EIO (cannot
 * connect, TLS, or a token/password file that cannot be read), FL_ETIMEDOUT, FL_ELIMIT (answer over
 * cfg->max_response_bytes), FL_ENOMEM; err says which. */
int spoke_prom_http_query(const spoke_prom_config *cfg, const char *query, char **body, size_t *len, long *status,
                          char err[FL_ERR_LEN]);

#endif
