/* fl_proto.h — FleetLens frame format v1 (see FORMAT.md): types, limits, encode, bounded decode, JSON.
 *
 * A frame is a msgpack array [envelope, payload, signature]: the signature is HMAC-SHA256 under the
 * cluster's key over the raw bytes of envelope and payload. The hub answers each frame with an ack.
 * Decoding never allocates from a count in the input before checking it against the bytes left and
 * the limits below. No I/O happens here.
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h), err naming the field path; fl_proto_verify answers true or
 * false; the JSON views return a new json_t or NULL (out of memory). */
#ifndef FL_PROTO_H
#define FL_PROTO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fl_err.h"

#define FL_PROTO_VERSION 1

/* Hard limits; a frame that exceeds one is rejected whole. */
#define FL_PROTO_MAX_FRAME_BYTES  (64u << 20) /* also NNG_OPT_RECVMAXSZ on every socket */
#define FL_PROTO_MAX_NODES        20000u
#define FL_PROTO_MAX_GPUS         320000u
#define FL_PROTO_MAX_PODS         100000u /* GPU pods; also items in removed_pods */
#define FL_PROTO_MAX_WORKLOADS    100000u
#define FL_PROTO_MAX_RDMA         256u  /* RDMA devices in one node frame */
#define FL_PROTO_MAX_JOBS         4096u /* GPU jobs (processes) in one node frame */
#define FL_PROTO_MAX_NODE_GPUS    256u  /* GPUs in one node frame */
#define FL_PROTO_MAX_TAINTS       64u   /* per node */
#define FL_PROTO_MAX_JOB_PARAMS   64u   /* training parameters per job (3.10) */
#define FL_PROTO_MAX_JOB_ENV      32u   /* allowlisted environment variables per job (3.10) */
#define FL_PROTO_MAX_UNKNOWN      32u   /* names in the overview's unknown list */
#define FL_PROTO_MAX_UNKNOWN_KEYS 64u   /* keys a map's field table does not know, per map (FORMAT.md 3.1) */
#define FL_PROTO_MAX_DEPTH        32u
#define FL_PROTO_MAX_ELEMENTS     (16u << 20) /* msgpack objects in one frame, all levels */
#define FL_PROTO_MAX_ACK_BYTES    4096u
#define FL_PROTO_SIG_LEN          32u   /* HMAC-SHA256 */
#define FL_KEY_MIN_LEN            32u   /* a cluster key: at least 32 bytes ... */
#define FL_KEY_MAX_LEN            1024u /* ... and at most 1 KiB (FL_KEY_BUF in fl_key.h) */

/* String field sizes, including the NUL. A longer string in a frame is an error, never cut. */
#define FL_CLUSTER_LEN      64  /* cluster and spoke names: [A-Za-z0-9._-], 1..63 chars */
#define FL_NAME_LEN         254 /* Kubernetes object names (253) */
#define FL_ADDR_LEN         64
#define FL_MODEL_LEN        128
#define FL_VERSION_LEN      64
#define FL_STATUS_LEN       32
#define FL_TAINT_KEY_LEN    254
#define FL_TAINT_VALUE_LEN  64
#define FL_TAINT_EFFECT_LEN 32
#define FL_SERIAL_LEN       64
#define FL_UID_LEN          64   /* Kubernetes object uids (36) */
#define FL_NAMESPACE_LEN    64   /* Kubernetes namespaces (63) */
#define FL_KIND_LEN         64   /* object kinds: "Deployment", "PyTorchJob", ... */
#define FL_CMDLINE_LEN      1024 /* a job's command line (cut by the spoke, at a character boundary) */
#define FL_PATH_LEN         1024 /* a job's working directory */
#define FL_DEVICES_LEN      256  /* a job's GPU device files, comma-separated */
#define FL_SAFE_ID_LEN      64   /* a Kubernetes label value (63): a SaFE workload id */
#define FL_KV_KEY_LEN       64   /* a job parameter's or environment variable's name */
#define FL_KV_VALUE_LEN     256  /* its value (text) */

typedef enum fl_frame_kind {
	FL_FRAME_FULL = 1,      /* payload holds the cluster's complete state */
	FL_FRAME_DELTA = 2,     /* payload holds changed nodes/GPUs and the names of removed nodes */
	FL_FRAME_HEARTBEAT = 3, /* no payload contents; the cluster is alive */
	FL_FRAME_NODE = 4       /* one node's own devices and GPU jobs, from a spoke in the node role (3.10) */
} fl_frame_kind;

typedef struct fl_proto_envelope {
	uint32_t version; /* FL_PROTO_VERSION */
	char cluster[FL_CLUSTER_LEN];
	char spoke_id[FL_CLUSTER_LEN]; /* identifies one spoke process's sequence stream */
	uint64_t seq;                  /* 1, 2, 3 ... per spoke_id */
	int64_t sent_at_ms;            /* sender's wall clock, ms since epoch */
	fl_frame_kind kind;
} fl_proto_envelope;

typedef struct fl_proto_facts {
	char k8s_version[FL_VERSION_LEN];
	char spoke_version[FL_VERSION_LEN];
	char source[FL_STATUS_LEN]; /* "sim", "kube", ... */
} fl_proto_facts;

typedef struct fl_proto_taint {
	char key[FL_TAINT_KEY_LEN];
	char value[FL_TAINT_VALUE_LEN];
	char effect[FL_TAINT_EFFECT_LEN];
} fl_proto_taint;

/* One node row (Lens `node` columns plus what the overview rules need). */
typedef struct fl_proto_node {
	char name[FL_NAME_LEN];
	char ip[FL_ADDR_LEN];
	char gpu_name[FL_MODEL_LEN]; /* GPU product, "" for a node without GPUs */
	int64_t gpu_count;           /* allocatable GPUs */
	int64_t gpu_allocation;      /* GPUs held by pods on this node */
	double gpu_utilization;      /* 0..100, mean over the node's GPUs; valid if has_utilization */
	bool has_utilization;
	char status[FL_STATUS_LEN]; /* "Ready", "NotReady", "Unknown" (the Ready condition) */
	bool unschedulable;
	bool faulty;          /* by the overview rules, as the spoke computed them */
	int64_t cpu_millis;   /* allocatable CPU in millicores */
	int64_t memory_bytes; /* allocatable memory */
	char kubelet_version[FL_VERSION_LEN];
	char os_image[FL_MODEL_LEN];
	char kernel_version[FL_VERSION_LEN];
	char container_runtime[FL_VERSION_LEN];
	fl_proto_taint *taints; /* n_taints items, owned by the frame */
	uint32_t n_taints;
} fl_proto_node;

/* One GPU device row (Lens `gpu_device` columns). */
typedef struct fl_proto_gpu {
	char node[FL_NAME_LEN];
	int32_t gpu_id; /* index on the node, 0-based */
	char gpu_model[FL_MODEL_LEN];
	int64_t memory_mib;
	double utilization; /* 0..100; valid if has_utilization */
	bool has_utilization;
	double temperature; /* Celsius */
	double power;       /* Watts */
	char serial[FL_SERIAL_LEN];
	int32_t numa; /* -1 unknown */
	/* Optional (FORMAT.md 3.5): sent only when known, so cluster frames without them are unchanged. */
	int64_t memory_used_mib; /* accelerator memory in use; valid if has_memory_used */
	bool has_memory_used;
	char health[FL_STATUS_LEN];        /* "healthy", "warning", "unhealthy"; "" unknown */
	char health_detail[FL_STATUS_LEN]; /* why, in a few words: "ras ue 2 ce 5", "xid 79", "dcmi health 2" */
} fl_proto_gpu;

/* One pod that requests GPUs (Lens `gpu_pods`). */
typedef struct fl_proto_pod {
	char uid[FL_UID_LEN];
	char ns[FL_NAMESPACE_LEN];
	char name[FL_NAME_LEN];
	char node[FL_NAME_LEN];        /* "" while not bound to a node */
	int64_t gpus;                  /* GPUs requested (the overview rules' effective request) */
	char phase[FL_STATUS_LEN];     /* Pending, Running, Succeeded, Failed, Unknown */
	bool running;                  /* phase Running and not terminating */
	char workload_uid[FL_UID_LEN]; /* its top-level workload (a bare pod is its own) */
	double utilization;            /* 0..100; valid if has_utilization */
	bool has_utilization;
	int64_t created_ms; /* metadata.creationTimestamp, ms since the epoch; 0 unknown */
} fl_proto_pod;

/* One workload: the top-level owner of GPU pods (Lens `gpu_workload`). */
typedef struct fl_proto_workload {
	char uid[FL_UID_LEN];
	char kind[FL_KIND_LEN];         /* "Deployment", "Job", "CronJob", "StatefulSet", "PyTorchJob", "Pod" ... */
	char api_version[FL_MODEL_LEN]; /* "apps/v1", "kubeflow.org/v1", ... */
	char ns[FL_NAMESPACE_LEN];
	char name[FL_NAME_LEN];
	char status[FL_STATUS_LEN]; /* Running, Pending, Done, Failed, Deleted (FORMAT.md 3.8) */
	int64_t gpu_request;        /* GPUs requested by its live pods */
	int64_t pods;               /* its live (not terminal) pods */
	double utilization;         /* 0..100 over the GPUs its running pods hold; valid if has_utilization */
	bool has_utilization;
	int64_t created_ms; /* when it was first seen (its oldest pod), ms since the epoch */
	int64_t ended_ms;   /* when it stopped having live pods; 0 while it has some */
	/* The SaFE workload it belongs to: the value of its pods' label primus-safe.workload.id; "" for a
	 * workload SaFE did not create. Optional in the frame (FORMAT.md 3.9). */
	char safe_workload_id[FL_SAFE_ID_LEN];
} fl_proto_workload;

/* Who a node frame is about (FORMAT.md 3.10). */
typedef struct fl_proto_host {
	char node[FL_NAME_LEN];         /* the Kubernetes node name */
	char gpu_source[FL_STATUS_LEN]; /* where its GPU rows come from: "amd", "nvml", "dcmi", "none" */
} fl_proto_host;

/* One RDMA device of a node (/sys/class/infiniband/NAME). */
typedef struct fl_proto_rdma {
	char name[FL_NAMESPACE_LEN];   /* "mlx5_0" */
	char node_guid[FL_SERIAL_LEN]; /* its identity: "0c42:a103:0016:0b4e" */
	char fw_version[FL_VERSION_LEN];
	char port_state[FL_STATUS_LEN]; /* port 1's state: "ACTIVE", "DOWN", "INIT", ... */
	char link_layer[FL_STATUS_LEN]; /* "InfiniBand", "Ethernet" */
	int64_t rx_bytes, tx_bytes;     /* data counters over all ports since boot, bytes */
	double rx_rate, tx_rate;        /* bytes/s since the previous cycle; valid if has_rates */
	bool has_rates;
} fl_proto_rdma;

/* A job's training parameter (value text or number) or allowlisted environment variable (text). */
typedef struct fl_proto_kv {
	char key[FL_KV_KEY_LEN];
	char value[FL_KV_VALUE_LEN]; /* the text; "" when is_num */
	bool is_num;                 /* the value is the number num (parameters only) */
	double num;
} fl_proto_kv;

/* One process that holds GPU device files (the GPU job monitor). */
typedef struct fl_proto_job {
	int64_t pid, ppid, pgid;
	char name[FL_STATUS_LEN];     /* /proc/PID/comm */
	char cmdline[FL_CMDLINE_LEN]; /* arguments joined by spaces; values of secret-looking keys "***" */
	int64_t started_ms;           /* process start, ms since the epoch; with pid its identity */
	char cwd[FL_PATH_LEN];
	char framework[FL_STATUS_LEN]; /* "torch", "tensorflow", "jax", "mindspore", "paddle" or "" */
	char pod_uid[FL_UID_LEN];      /* from its cgroup path; "" outside a pod */
	char devices[FL_DEVICES_LEN];  /* the GPU device files it holds, comma-separated */
	/* Process metrics of this cycle (FORMAT.md 3.10). */
	char state[FL_STATUS_LEN]; /* /proc/PID/stat's state letter: "R", "S", "D", "Z", "T", ... */
	double cpu_percent;        /* CPU since the previous cycle, 100 = one core; valid if has_cpu */
	bool has_cpu;
	int64_t rss_bytes; /* resident memory */
	int64_t threads;
	int64_t fds; /* open file descriptors */
	/* Accelerators: what the driver says this process holds, and the node GPUs (gpu_id 0..255) it uses. */
	int64_t gpu_memory_bytes; /* valid if has_gpu_memory */
	bool has_gpu_memory;
	uint64_t gpu_mask[4];   /* bit i: it uses the node's GPU gpu_id i */
	double gpu_utilization; /* mean utilization of those GPUs that have a figure; valid if has_gpu_utilization */
	bool has_gpu_utilization;
	/* What it runs with, from its (redacted) command line and an allowlist of environment variables. */
	char config_path[FL_PATH_LEN]; /* the config file its command line names (the path only; never opened) */
	fl_proto_kv *params;           /* n_params items, owned by the frame */
	uint32_t n_params;
	fl_proto_kv *env; /* n_env items, owned by the frame */
	uint32_t n_env;
} fl_proto_job;

/* The cluster overview, Lens field names (ARCHITECTURE.md "Overview rules"). */
typedef struct fl_proto_overview {
	int64_t total_nodes, healthy_nodes, faulty_nodes;
	int64_t fully_idle_nodes, partially_idle_nodes, busy_nodes;
	double allocation_rate; /* 0..100 */
	double utilization;     /* 0..100 */
	int64_t gpus_allocatable, gpus_allocated;
	double total_space, used_space, usage_percentage; /* bytes, bytes, percent */
	double total_inodes, used_inodes, inodes_usage_percentage;
	double read_bandwidth, write_bandwidth; /* bytes/s */
	double total_tx, total_rx;              /* RDMA bytes/s */
	uint32_t unknown; /* FL_OV_* bits: figures nobody could measure (their value is meaningless) */
} fl_proto_overview;

/* Overview figures that may be marked unknown (a metrics source was down or slow): one bit each in
 * fl_proto_overview.unknown, sent as the overview's `unknown` list of field names (FORMAT.md 3.6). */
enum fl_overview_figure {
	FL_OV_UTILIZATION = 1u << 0,
	FL_OV_TOTAL_SPACE = 1u << 1,
	FL_OV_USED_SPACE = 1u << 2,
	FL_OV_USAGE_PERCENTAGE = 1u << 3,
	FL_OV_TOTAL_INODES = 1u << 4,
	FL_OV_USED_INODES = 1u << 5,
	FL_OV_INODES_USAGE_PERCENTAGE = 1u << 6,
	FL_OV_READ_BANDWIDTH = 1u << 7,
	FL_OV_WRITE_BANDWIDTH = 1u << 8,
	FL_OV_TOTAL_TX = 1u << 9,
	FL_OV_TOTAL_RX = 1u << 10,
};
#define FL_OV_STORAGE                                                                                                  \
	(FL_OV_TOTAL_SPACE | FL_OV_USED_SPACE | FL_OV_USAGE_PERCENTAGE | FL_OV_TOTAL_INODES | FL_OV_USED_INODES |      \
	 FL_OV_INODES_USAGE_PERCENTAGE | FL_OV_READ_BANDWIDTH | FL_OV_WRITE_BANDWIDTH)
#define FL_OV_RDMA    (FL_OV_TOTAL_TX | FL_OV_TOTAL_RX)
#define FL_OV_FIGURES 11u /* bits 0..10 */
#define FL_OV_ALL     ((1u << FL_OV_FIGURES) - 1u)

/* A node name or pod uid, as listed in a delta's removed_nodes / removed_pods. */
typedef struct fl_proto_name {
	char name[FL_NAME_LEN];
} fl_proto_name;

/* A decoded or to-be-encoded frame. nodes, gpus, each node's taints, pods, workloads and the removed
 * lists are heap arrays owned by the frame; release with fl_proto_frame_free. */
typedef struct fl_proto_frame {
	fl_proto_envelope env;
	bool has_facts;
	fl_proto_facts facts;
	fl_proto_node *nodes;
	uint32_t n_nodes;
	fl_proto_gpu *gpus;
	uint32_t n_gpus;
	bool has_overview;
	fl_proto_overview overview;
	fl_proto_name *removed_nodes; /* delta only: nodes (and their GPUs) that left the cluster */
	uint32_t n_removed_nodes;
	fl_proto_pod *pods;
	uint32_t n_pods;
	fl_proto_workload *workloads;
	uint32_t n_workloads;
	fl_proto_name *removed_pods; /* delta only: uids of GPU pods that are gone */
	uint32_t n_removed_pods;
	/* node frames only (FL_FRAME_NODE): the node, its RDMA devices and GPU jobs; its GPUs are in gpus */
	bool has_host;
	fl_proto_host host;
	fl_proto_rdma *rdma;
	uint32_t n_rdma;
	fl_proto_job *jobs;
	uint32_t n_jobs;
	/* Filled by fl_proto_decode, ignored by fl_proto_encode: the signature and where the signed
	 * bytes (envelope and payload as encoded) lie in the decoded buffer. */
	uint8_t sig[FL_PROTO_SIG_LEN];
	size_t signed_off, signed_len;
} fl_proto_frame;

typedef enum fl_ack_status {
	FL_ACK_OK = 0,        /* committed */
	FL_ACK_DUPLICATE = 1, /* seen before; ignored, nothing to resend */
	FL_ACK_REJECTED = 2,  /* refused for good (reason says why); do not resend as is */
	FL_ACK_RETRY = 3      /* the hub could not commit now (database down); resend later */
} fl_ack_status;

typedef struct fl_proto_ack {
	uint64_t seq;
	fl_ack_status status;
	bool want_full; /* the hub asks for a full snapshot next (it saw a gap, or restarted) */
	char reason[128];
} fl_proto_ack;

/* Frees the arrays a frame owns and zeroes it. Safe on a zeroed frame. */
void fl_proto_frame_free(fl_proto_frame *f);

/* The overview field name of figure bit `bit` (one FL_OV_* value): "utilization", "total_space", ...
 * (the same in the frame and in the JSON view). NULL for anything that is not exactly one known bit. */
const char *fl_proto_overview_figure_name(uint32_t bit);

/* The FL_OV_* bit of an overview field name (len bytes, need not be NUL-terminated), 0 if unknown. */
uint32_t fl_proto_overview_figure_parse(const char *name, size_t len);

/* Returns "full", "delta", "heartbeat", or NULL for an unknown kind; and the reverse (0 if unknown). */
const char *fl_proto_kind_name(fl_frame_kind kind);
fl_frame_kind fl_proto_kind_parse(const char *name, size_t len);

/* True if s is a valid cluster or spoke name: 1..63 of [A-Za-z0-9._-]. */
bool fl_proto_valid_name(const char *s);

/* qsort/bsearch comparators over arrays of pointers: fl_proto_node * by name (strcmp), and fl_proto_gpu *
 * by node name (strcmp) then gpu_id. 0 means the same key (a frame must not repeat one). */
int fl_proto_node_ptr_cmp(const void *a, const void *b);
int fl_proto_gpu_ptr_cmp(const void *a, const void *b);

/* A job's gpu_mask (FORMAT.md 3.10's `gpus`: node GPU ids 0..255, id i at bit i%64 of word i/64): whether id
 * is in it, and adding id. An id outside 0..255 is never in it, and adding one does nothing. */
bool fl_proto_gpu_mask_has(const uint64_t mask[4], int32_t id);
void fl_proto_gpu_mask_set(uint64_t mask[4], int32_t id);

/* Encodes f and signs it with key (key_len bytes, FL_KEY_MIN_LEN..FL_KEY_MAX_LEN) into a new
 * malloc'd buffer (*out, *out_len); the caller frees it with free(). Fails with FL_ELIMIT if f breaks
 * a limit (so a spoke never sends what a hub must refuse), FL_EINVAL on a bad argument or key, on a
 * field the decoder would refuse, on removed_nodes/removed_pods in a frame that is not a delta, or on a
 * removed node (pod) that the same frame also upserts (in nodes or as a GPU's node; in pods). */
int fl_proto_encode(const fl_proto_frame *f, const uint8_t *key, size_t key_len, char **out, size_t *out_len,
                    char err[FL_ERR_LEN]);

/* True if f (decoded from buf by fl_proto_decode or fl_proto_decode_head) carries a valid signature under key:
 * HMAC-SHA256 of buf[f->signed_off .. +f->signed_len], compared in constant time. False for a key outside
 * FL_KEY_MIN_LEN..FL_KEY_MAX_LEN bytes, or a region that does not lie inside buf. */
bool fl_proto_verify(const void *buf, size_t len, const fl_proto_frame *f, const uint8_t *key, size_t key_len);

/* Walks buf without allocating and checks it is one well-formed msgpack value within the limits:
 * each declared count fits in the bytes left, depth <= FL_PROTO_MAX_DEPTH, total objects <=
 * FL_PROTO_MAX_ELEMENTS, no trailing bytes. FL_OK or FL_EPROTO/FL_ELIMIT with err filled. */
int fl_proto_check(const void *buf, size_t len, char err[FL_ERR_LEN]);

/* Decodes a frame. Runs fl_proto_check first, then validates every field (types, string lengths,
 * counts, version, kind, names, removed_nodes/removed_pods only in a delta and never also upserted by
 * it) and the shape of the signature — it does NOT verify it. It allocates per item (nodes, taints, GPUs,
 * ...), so a receiver first authenticates the frame with fl_proto_decode_head and fl_proto_verify, and
 * only then decodes it (FORMAT.md 3.7, "How a hub verifies").
 * On FL_OK, *out owns heap arrays: free with fl_proto_frame_free.
 * On failure *out is left zeroed and err says which field is wrong. */
int fl_proto_decode(const void *buf, size_t len, fl_proto_frame *out, char err[FL_ERR_LEN]);

/* Reads what authenticating a frame needs, and nothing more: runs fl_proto_check, then validates the
 * outer array, the envelope (every field, as fl_proto_decode does), that the payload is a map (passed over
 * unread) and the shape of the signature; fills out->env, out->sig, out->signed_off and out->signed_len
 * and leaves everything else zero. Allocates nothing (a frame costs its own bytes and a constant), so it
 * is safe on frames from anyone: the caller looks up the key of out->env.cluster, checks
 * fl_proto_verify(buf, len, out, key, key_len), and only then calls fl_proto_decode. *out owns nothing
 * (fl_proto_frame_free is a no-op on it). FL_OK, or FL_EPROTO/FL_ELIMIT with err filled and *out zeroed.
 * A frame fl_proto_decode accepts passes here with the same envelope, signature and signed region. */
int fl_proto_decode_head(const void *buf, size_t len, fl_proto_frame *out, char err[FL_ERR_LEN]);

/* Ack encode/decode (a small msgpack map, FORMAT.md). encode: new malloc'd buffer, caller frees;
 * FL_EINVAL for a bad status, seq or unterminated reason. decode: FL_OK or FL_ELIMIT/FL_EPROTO with err
 * filled and *out zeroed; an absent "full" decodes as want_full = false. */
int fl_proto_ack_encode(const fl_proto_ack *ack, char **out, size_t *out_len);
int fl_proto_ack_decode(const void *buf, size_t len, fl_proto_ack *out, char err[FL_ERR_LEN]);

/* JSON views (jansson, new references; NULL only on allocation failure).
 * overview: the Lens field names (totalNodes, healthyNodes, ..., total_rx) plus gpusAllocatable,
 * gpusAllocated and `unknown` (an array of the field names marked unknown, each of which is null). node: the Lens node
 * row names (name ip gpu_name gpu_count gpu_allocation gpu_utilization status) plus the rest. frame:
 * {"envelope":{...},"facts":{...},"nodes":[...],
 * "gpus":[...],"overview":{...},"removed_nodes":["name",...],"pods":[...],"workloads":[...],
 * "removed_pods":["uid",...]} — what `fleetlens-spoke --once --dry-run`
 * prints (the frame before signing: no signature in it). */
json_t *fl_proto_overview_to_json(const fl_proto_overview *o);
json_t *fl_proto_node_to_json(const fl_proto_node *n);
json_t *fl_proto_gpu_to_json(const fl_proto_gpu *g);
json_t *fl_proto_pod_to_json(const fl_proto_pod *p);           /* FORMAT.md 3.8 key names */
json_t *fl_proto_workload_to_json(const fl_proto_workload *w); /* FORMAT.md 3.9 key names */
json_t *fl_proto_frame_to_json(const fl_proto_frame *f);
/* A job's gpu_mask as the JSON array of its ids, in increasing order (`gpus` of the dry-run JSON, `gpu_ids`
 * of the hub's job rows). */
json_t *fl_proto_gpu_mask_to_json(const uint64_t mask[4]);

#endif
