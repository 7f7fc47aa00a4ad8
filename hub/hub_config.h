/* hub_config.h — the hub's settings and its registry of clusters, read from clusters.yaml.
 *
 * Every error names FILE:LINE:COL and the key ("clusters.yaml:4:16: key 'stale_after': ..."); unknown
 * keys are errors. Relative paths (web_dir, migrations_dir, key_file, node_key_file, tls.*) resolve against
 * the config file's folder. Each cluster's key (and node key) is read from its key_file (node_key_file) at
 * load time and held only in memory; hub_config_free wipes it.
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h), err naming FILE:LINE:COL and key; hub_config_restart_diff
 * returns a count. */
#ifndef HUB_CONFIG_H
#define HUB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fl_err.h"
#include "fl_key.h"
#include "fl_log.h"
#include "fl_proto.h"

#define HUB_MAX_CLUSTERS 1024 /* clusters in one config */
#define HUB_MAX_LABELS   32   /* labels per cluster */
#define HUB_LABEL_LEN    128  /* label key or value, including the NUL */
#define HUB_URL_LEN      256  /* ingest_url, api_listen */
#define HUB_DBURL_LEN    1024 /* database_url */
#define HUB_PATH_LEN     1024 /* file and folder paths */

#define HUB_DEFAULT_STALE_AFTER_MS          (90 * 1000)
#define HUB_DEFAULT_OFFLINE_AFTER_MS        (10 * 60 * 1000)
#define HUB_DEFAULT_INGEST_WORKERS          4
#define HUB_MAX_INGEST_WORKERS              64
#define HUB_DEFAULT_REPLAY_TOLERANCE_MS     5000
#define HUB_MAX_REPLAY_TOLERANCE_MS         (10 * 60 * 1000) /* more would make the replay check meaningless */
#define HUB_DEFAULT_INGEST_LOG_RETENTION_MS (7LL * 24 * 3600 * 1000)
#define HUB_MIN_INGEST_LOG_RETENTION_MS     (3600LL * 1000) /* a spoke may still resend a frame this old */
#define HUB_DEFAULT_SAFE_SYNC_INTERVAL_MS   (60 * 1000)
#define HUB_MIN_SAFE_SYNC_INTERVAL_MS       1000
#define HUB_MAX_SAFE_SYNC_INTERVAL_MS       (24LL * 3600 * 1000)
#define HUB_DEFAULT_HISTORY_RETENTION_MS    (14LL * 24 * 3600 * 1000)
#define HUB_MIN_HISTORY_RETENTION_MS        (24LL * 3600 * 1000)       /* whole days: partitions are days */
#define HUB_DEFAULT_ROLLUP_RETENTION_MS     (400LL * 24 * 3600 * 1000) /* >= history_retention */
#define HUB_DEFAULT_IDLE_THRESHOLD          5.0                        /* percent */
#define HUB_DEFAULT_JOB_IDLE_UTILIZATION    5.0                        /* percent */
#define HUB_DEFAULT_JOB_IDLE_AFTER_MS       (30LL * 60 * 1000)
#define HUB_DEFAULT_NODE_LOST_AFTER_MS      (5LL * 60 * 1000)
#define HUB_MIN_NODE_LOST_AFTER_MS          1000LL

/* hub.web_dir and hub.migrations_dir default to where `cmake --install` (and the fleetlens-hub package)
 * put the console and the migrations: FL_DATADIR, the configured prefix's share/fleetlens, defined by
 * cmake/FleetLensInstall.cmake (e.g. /usr/share/fleetlens for -DCMAKE_INSTALL_PREFIX=/usr). */
#ifndef FL_DATADIR
#error "FL_DATADIR is not defined: it comes from cmake/FleetLensInstall.cmake (hub_lib's compile definitions)"
#endif
#define HUB_DEFAULT_WEB_DIR        FL_DATADIR "/web"
#define HUB_DEFAULT_MIGRATIONS_DIR FL_DATADIR "/sql/hub"

/* civetweb gives each open connection a worker thread until it closes (keep-alive included): a client
 * beyond api_threads waits for a connection to close. */
#define HUB_DEFAULT_API_THREADS 64
#define HUB_MAX_API_THREADS     1024

#define HUB_SAFE_CLUSTER_LABEL "primus-safe.cluster.id" /* a cluster label naming its SaFE cluster id */

typedef struct hub_label {
	char key[HUB_LABEL_LEN];
	char value[HUB_LABEL_LEN];
} hub_label;

/* API access: hub.api_tokens and hub.cors_origins. */
#define HUB_MAX_API_TOKENS   256
#define HUB_TOKEN_NAME_LEN   64 /* 1..63 of [A-Za-z0-9._-] */
#define HUB_TOKEN_MIN_LEN    16 /* bytes of a token, after trimming whitespace */
#define HUB_TOKEN_MAX_LEN    4096
#define HUB_TOKEN_HASH_LEN   32 /* SHA-256 */
#define HUB_MAX_TOKEN_LABELS 8
#define HUB_MAX_CORS_ORIGINS 32
#define HUB_ORIGIN_LEN       256

typedef enum hub_token_scope {
	HUB_SCOPE_ALL = 0,  /* neither clusters nor cluster_labels given: every cluster */
	HUB_SCOPE_CLUSTERS, /* the clusters named */
	HUB_SCOPE_LABELS    /* the clusters whose labels contain every one of labels */
} hub_token_scope;

/* One hub.api_tokens item. The token itself is never kept: only its SHA-256. */
typedef struct hub_api_token_conf {
	char name[HUB_TOKEN_NAME_LEN];
	char token_file[HUB_PATH_LEN];      /* resolved */
	uint8_t sha256[HUB_TOKEN_HASH_LEN]; /* of the file's contents, surrounding whitespace removed */
	hub_token_scope scope;
	uint8_t clusters[HUB_MAX_CLUSTERS / 8]; /* HUB_SCOPE_CLUSTERS: bit i set = cluster i (config order) */
	hub_label labels[HUB_MAX_TOKEN_LABELS]; /* HUB_SCOPE_LABELS */
	size_t n_labels;
} hub_api_token_conf;

typedef struct hub_cluster_conf {
	char name[FL_CLUSTER_LEN]; /* fl_proto_valid_name */
	hub_label labels[HUB_MAX_LABELS];
	size_t n_labels;
	char key_file[HUB_PATH_LEN]; /* resolved path the key was read from */
	/* SaFE's cluster id for this cluster (workload_statistic.cluster): the label HUB_SAFE_CLUSTER_LABEL when
	 * set, else safe_cluster_id, else the name. */
	char safe_cluster_id[FL_CLUSTER_LEN];
	fl_key key; /* the cluster's HMAC key (FL_KEY_MIN_LEN..FL_KEY_MAX_LEN bytes); secret */
	/* clusters[].node_key_file: the node role's own key. When set (node_key.len > 0) it signs node frames
	 * and nothing else, and key no longer signs node frames; "" / len 0: node frames are signed with key. */
	char node_key_file[HUB_PATH_LEN]; /* resolved path the node key was read from; "" none */
	fl_key node_key;                  /* secret; differs from key */
	/* Key rotation (clusters[].next_key_file, next_node_key_file): a frame signed with the next key is
	 * accepted as one signed with the key it follows. Read and checked as key_file / node_key_file are; the
	 * next key differs from the one it replaces. "" / len 0: none. */
	char next_key_file[HUB_PATH_LEN];
	fl_key next_key;                       /* secret */
	char next_node_key_file[HUB_PATH_LEN]; /* only with node_key_file */
	fl_key next_node_key;                  /* secret */
} hub_cluster_conf;

typedef struct hub_config {
	char path[HUB_PATH_LEN];           /* the file it was read from */
	char ingest_url[HUB_URL_LEN];      /* nng listen address */
	char api_listen[HUB_URL_LEN];      /* civetweb listening_ports */
	char database_url[HUB_DBURL_LEN];  /* libpq conninfo; the env override already applied */
	int64_t stale_after_ms;            /* > 0 */
	int64_t offline_after_ms;          /* > stale_after_ms */
	char web_dir[HUB_PATH_LEN];        /* resolved; default HUB_DEFAULT_WEB_DIR */
	char migrations_dir[HUB_PATH_LEN]; /* resolved; default HUB_DEFAULT_MIGRATIONS_DIR */
	enum fl_log_level log_level;
	int ingest_workers;               /* 1..HUB_MAX_INGEST_WORKERS */
	int64_t replay_tolerance_ms;      /* 1..HUB_MAX_REPLAY_TOLERANCE_MS */
	int64_t ingest_log_retention_ms;  /* >= HUB_MIN_INGEST_LOG_RETENTION_MS */
	char tls_cert_file[HUB_PATH_LEN]; /* resolved; set (and required) iff ingest_url is tls+tcp:// */
	char tls_key_file[HUB_PATH_LEN];  /* resolved; as tls_cert_file */
	char tls_ca_file[HUB_PATH_LEN];   /* resolved; "" = spokes need no client certificate */
	hub_cluster_conf *clusters;       /* n_clusters items in file order, owned by the config */
	size_t n_clusters;
	hub_api_token_conf *api_tokens; /* n_api_tokens items, owned by the config; none = API on loopback only */
	size_t n_api_tokens;
	char cors_origins[HUB_MAX_CORS_ORIGINS][HUB_ORIGIN_LEN]; /* "https://host[:port]" allowed to call the API */
	size_t n_cors_origins;
	char safe_database_url[HUB_DBURL_LEN]; /* SaFE DB conninfo; FLEETLENS_SAFE_DATABASE_URL applied; "" = no sync */
	int64_t safe_sync_interval_ms;         /* HUB_MIN_..HUB_MAX_SAFE_SYNC_INTERVAL_MS */
	int64_t history_retention_ms;          /* >= HUB_MIN_HISTORY_RETENTION_MS */
	int64_t rollup_retention_ms;           /* hourly rollups kept this long; >= history_retention_ms */
	double idle_threshold;                 /* percent, 0..100: a GPU-hour under it is idle (hub_rollup.h) */
	int64_t node_lost_after_ms;            /* a node agent without a frame this long is lost; >= 1 s */
	/* The GPU job monitor (restart-only, like idle_threshold): a job sample is idle when the job holds
	 * accelerator memory at under job_idle_utilization percent (0..100); /v1/jobs?idle=true lists the
	 * running jobs idle for at least job_idle_after (>= 1 s) unless the request says idle_for. */
	double job_idle_utilization;
	int64_t job_idle_after_ms;
	int api_threads; /* civetweb worker threads, 1..HUB_MAX_API_THREADS: the most connections served at once */
	/* hub.lens.default_cluster: the cluster a /lens/v1 request without ?cluster= is about; the first
	 * cluster in the file when not set; "" only when no cluster is listed. */
	char lens_default_cluster[FL_CLUSTER_LEN];
	/* hub.config_check_interval: how often the hub stats this file and every file it read (keys, tokens)
	 * and reloads when one changed; 0 = never (SIGHUP still reloads). */
	int64_t config_check_interval_ms;
} hub_config;

#define HUB_DEFAULT_CONFIG_CHECK_INTERVAL_MS (10 * 1000)

/* Reads path into cfg (zeroed first). The SaFE settings: hub.safe_database_url, replaced by the
 * environment's FLEETLENS_SAFE_DATABASE_URL whenever that is set (set but empty turns the sync off), and
 * hub.safe_sync_interval; hub.history_retention; hub.node_lost_after; hub.rollup_retention (default 400d, at
 * least history_retention) and hub.idle_threshold (percent 0..100, default 5); hub.job_idle_utilization (percent
 * 0..100, default 5) and hub.job_idle_after (default 30m, at least 1s). Then, including every cluster's
 * key file (a missing, unreadable, short or long key is an error at that cluster's key_file; likewise node_key_file,
 * which must also hold another key than key_file) and checks the TLS files can be read. env_database_url, when non-NULL
 * and non-empty (the caller passes getenv("FLEETLENS_DATABASE_URL")), overrides hub.database_url, which is then
 * optional. FL_OK, or FL_ECONFIG/FL_EIO/FL_ENOMEM with err filled ("FILE:LINE:COL: key 'K': ..."); on failure cfg holds
 * nothing to free. On success release with hub_config_free. */
int hub_config_load(hub_config *cfg, const char *path, const char *env_database_url, char err[FL_ERR_LEN]);

/* Copies src into *dst deeply (clusters, tokens and keys): dst is released with hub_config_free on its own.
 * FL_OK or FL_ENOMEM (dst then holds nothing to free). */
int hub_config_dup(hub_config *dst, const hub_config *src);

/* The settings that only take effect at start (listen addresses, database URLs, workers, TLS, folders,
 * retention, intervals...; everything but the clusters, tokens, CORS origins, hub.lens.default_cluster and
 * hub.config_check_interval) whose values differ between a and b, as a comma list of their clusters.yaml
 * keys written into out (outlen bytes; "" when none). Returns how many differ. */
int hub_config_restart_diff(const hub_config *a, const hub_config *b, char *out, size_t outlen);

/* Calls fn(path, arg) for every file cfg was read from: the config file, each cluster's key files (key,
 * node, next, next node) and each API token file. */
void hub_config_each_file(const hub_config *cfg, void (*fn)(const char *path, void *arg), void *arg);

/* Wipes every cluster key, frees what cfg owns and zeroes it. Safe on a zeroed config. */
void hub_config_free(hub_config *cfg);

/* True when url uses nng's TLS transport (starts with "tls+tcp://"). */
bool hub_config_is_tls_url(const char *url);

/* The labels of cluster c as a new JSON object ({"region":"us-east"}); NULL only if out of memory. */
json_t *hub_config_labels_json(const hub_cluster_conf *c);

#endif
