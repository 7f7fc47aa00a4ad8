/* spoke_config.h — loading spoke.yaml (keys in spoke/README.md).
 *
 * Every error names FILE:LINE:COL and the key ("spoke.yaml:3:1: key 'intervall': unknown key");
 * unknown keys are errors; in the cluster role (the default) exactly one node source must be configured
 * (plus, optionally, prometheus); in the node role (role: node) no source is, and host_root, node_name,
 * nvml_library, dcmi_library, job_cmdline and job_env apply. Paths in the file
 * (key_file, spool_dir, tls.*) are relative to the config file's folder. The cluster key is read at load time.
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h), err naming FILE:LINE:COL and key. */
#ifndef SPOKE_CONFIG_H
#define SPOKE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "fl_err.h"
#include "fl_key.h"
#include "fl_log.h"
#include "fl_proto.h"
#include "fl_yaml.h"
#include "spoke_overview.h"
#include "spoke_prom.h"
#include "spoke_redact.h"
#include "spoke_kube.h"
#include "spoke_sim.h"

#define SPOKE_URL_LEN  256
#define SPOKE_PATH_LEN 1024

#define SPOKE_SPOOL_MEMORY_DEFAULT (8ull << 20)   /* spool_memory_bytes */
#define SPOKE_SPOOL_MAX_DEFAULT    (256ull << 20) /* spool_max_bytes */
#define SPOKE_SPOOL_BYTES_MIN      (64ull << 10)
#define SPOKE_SPOOL_BYTES_MAX      (1ull << 40)
#define SPOKE_BACKOFF_MIN_MS       200 /* first retry after a failed send; doubles up to max_backoff */
#define SPOKE_MAX_JOB_ENV          32u /* job_env names (FL_PROTO_MAX_JOB_ENV) */

typedef enum spoke_source_kind {
	SPOKE_SOURCE_SIM = 1,
	SPOKE_SOURCE_KUBE = 2,
	SPOKE_SOURCE_NODE = 3, /* role: node — the node's own devices and GPU jobs (spoke_node.h) */
} spoke_source_kind;

typedef enum spoke_role {
	SPOKE_ROLE_CLUSTER = 0, /* one per cluster (a Deployment): nodes, pods, overview from a source */
	SPOKE_ROLE_NODE = 1     /* one per node (a DaemonSet): node frames of that node's devices and jobs */
} spoke_role;

/* The tls: section, used when hub_url is tls+tcp://. Empty strings mean "not set". */
typedef struct spoke_tls_config {
	char ca_file[SPOKE_PATH_LEN];   /* required for tls+tcp:// */
	char server_name[256];          /* default: the host of hub_url */
	char cert_file[SPOKE_PATH_LEN]; /* client certificate (PEM); with key_file */
	char key_file[SPOKE_PATH_LEN];  /* its private key (PEM); with cert_file */
} spoke_tls_config;

typedef struct spoke_config {
	char cluster[FL_CLUSTER_LEN];
	char hub_url[SPOKE_URL_LEN];
	char key_file[SPOKE_PATH_LEN];  /* resolved path of the cluster key */
	fl_key key;                     /* its contents; wipe with spoke_config_wipe */
	int64_t interval_ms;            /* default 30 s */
	int64_t ack_timeout_ms;         /* default 10 s */
	int64_t heartbeat_ms;           /* default 10 s */
	int64_t max_backoff_ms;         /* default 30 s */
	char spool_dir[SPOKE_PATH_LEN]; /* "" = no spool on disk, no state across restarts */
	uint64_t spool_memory_bytes;    /* default 8 MiB */
	uint64_t spool_max_bytes;       /* default 256 MiB; memory + disk; only with spool_dir */
	bool spool_supersede;           /* default true: a queued full frame replaces older queued frames */
	bool tls_enabled;               /* hub_url is tls+tcp:// */
	spoke_tls_config tls;
	enum fl_log_level log_level;
	spoke_overview_rules rules; /* gpu_resources and benign_taints */
	spoke_source_kind source;
	spoke_sim_config sim;              /* when source == SPOKE_SOURCE_SIM */
	bool has_prom;                     /* sources.prometheus: enriches the node source's model each cycle */
	spoke_prom_config prom;            /* when has_prom */
	spoke_kube_config kube;            /* when source == SPOKE_SOURCE_KUBE */
	spoke_role role;                   /* role:, default cluster; node sets source to SPOKE_SOURCE_NODE */
	char host_root[SPOKE_PATH_LEN];    /* role node: where the host's / is mounted (default "/") */
	char node_name[FL_NAME_LEN];       /* role node: node_name:, else $NODE_NAME, else the host name */
	char nvml_library[SPOKE_PATH_LEN]; /* role node: NVML to dlopen (default "libnvidia-ml.so.1") */
	char dcmi_library[SPOKE_PATH_LEN]; /* role node: Huawei's DCMI to dlopen (default "libdcmi.so") */
	spoke_cmdline_mode job_cmdline;    /* role node: GPU jobs' command lines full, redacted (default), none */
	char job_env[SPOKE_MAX_JOB_ENV][FL_KV_KEY_LEN]; /* role node: environment variables kept of GPU jobs */
	uint32_t n_job_env;      /* default the 9 placement variables (spoke_config.c); 0 = environ never read */
	char metrics_listen[64]; /* "IPv4:port" or "[IPv6]:port" for /healthz and /metrics; "" = off */
} spoke_config;

/* The source's name as it appears in config and in frame facts ("sim", "kube"). */
const char *spoke_config_source_name(spoke_source_kind kind);

/* Reads path into *out (fully overwritten, defaults applied) and loads the key named by key_file.
 * FL_OK, or FL_ECONFIG / FL_EIO with err "FILE:LINE:COL: key 'K': ..." (or "FILE: cannot open: ...").
 * Nothing is allocated; call spoke_config_wipe when done so the key does not linger in memory. */
int spoke_config_load(const char *path, spoke_config *out, char err[FL_ERR_LEN]);

/* Reads the path at map[key] (when present; `required` as fl_yaml_get_str) into out, resolved against
 * the folder of the config file unless absolute; with must_read the file must be readable now. For
 * sources' sections (spoke_prom_config.c). FL_OK or FL_ECONFIG with err naming file, line and key. */
int spoke_config_get_path(fl_yaml_doc *doc, fl_yaml_node map, const char *key, bool required, bool must_read, char *out,
                          size_t outlen, char err[FL_ERR_LEN]);

/* Overwrites the key held in cfg. Safe to call more than once. */
void spoke_config_wipe(spoke_config *cfg);

#endif
