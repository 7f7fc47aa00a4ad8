/* spoke_model.h — the in-memory cluster model that sources fill and the overview reads.
 *
 * Shaped on Kubernetes objects (Node, Pod) plus GPU device rows and cluster-wide storage/RDMA
 * figures, so the sim source and a later list+watch source fill the same thing. Every array is a
 * heap array with a count, owned by the model; spoke_model_free releases everything.
 * Pointers returned by the spoke_model_add_* functions stay valid only until the next add of the
 * same kind (the array may move).
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h) (FL_ENOMEM, FL_ELIMIT, FL_EINVAL). */
#ifndef SPOKE_MODEL_H
#define SPOKE_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "fl_proto.h"

#define SPOKE_RESOURCE_NAME_LEN  128 /* "nvidia.com/gpu"; longer names are refused */
#define SPOKE_MAX_RESOURCES      32  /* entries in one capacity/allocatable/requests list */
#define SPOKE_MAX_CONTAINERS     64  /* containers (and, separately, init containers) per pod */
#define SPOKE_CONTAINER_NAME_LEN 64
#define SPOKE_NAMESPACE_LEN      64
#define SPOKE_UID_LEN            64
#define SPOKE_PHASE_LEN          16
#define SPOKE_READY_LEN          16

/* The label SaFE puts on the objects it creates and on their pods: the SaFE workload's name (its id). */
#define SPOKE_SAFE_WORKLOAD_LABEL "primus-safe.workload.id"

/* One {resource name, integer quantity} pair, e.g. {"nvidia.com/gpu", 8}. */
typedef struct spoke_quantity {
	char name[SPOKE_RESOURCE_NAME_LEN];
	int64_t value;
} spoke_quantity;

/* A small resource list (extended resources of capacity/allocatable, container requests). */
typedef struct spoke_resources {
	spoke_quantity *items;
	uint32_t n, cap;
} spoke_resources;

/* A node taint; the same shape as the frame's taint. */
typedef fl_proto_taint spoke_taint;

typedef struct spoke_node {
	char name[FL_NAME_LEN];
	char internal_ip[FL_ADDR_LEN];
	char gpu_product[FL_MODEL_LEN]; /* GPU product label value, "" if none */
	char ready[SPOKE_READY_LEN];    /* Ready condition status: "True", "False" or "Unknown" */
	bool unschedulable;             /* spec.unschedulable */
	spoke_taint *taints;
	uint32_t n_taints, cap_taints;
	spoke_resources capacity, allocatable; /* extended resources (amd.com/gpu, ...) */
	int64_t cpu_capacity_millis, cpu_allocatable_millis;
	int64_t memory_capacity_bytes, memory_allocatable_bytes;
	char kubelet_version[FL_VERSION_LEN];
	char os_image[FL_MODEL_LEN];
	char kernel_version[FL_VERSION_LEN];
	char container_runtime[FL_VERSION_LEN];
} spoke_node;

typedef struct spoke_container {
	char name[SPOKE_CONTAINER_NAME_LEN];
	spoke_resources requests;
} spoke_container;

/* A controller ownerReference: who owns an object (uid "" when nobody does). */
typedef struct spoke_owner {
	char kind[FL_KIND_LEN];
	char api_version[FL_MODEL_LEN];
	char name[FL_NAME_LEN];
	char uid[FL_UID_LEN];
} spoke_owner;

/* An object between a pod and its workload (a ReplicaSet, a Job) and its own controller: a ReplicaSet's
 * Deployment, a Job's CronJob. */
typedef struct spoke_owner_link {
	char uid[FL_UID_LEN]; /* the ReplicaSet's / Job's uid */
	spoke_owner owner;
} spoke_owner_link;

/* The utilization of one GPU that an exporter attributes to a pod (its namespace and pod labels). */
typedef struct spoke_pod_gpu {
	char ns[SPOKE_NAMESPACE_LEN];
	char pod[FL_NAME_LEN];
	double utilization;
} spoke_pod_gpu;

typedef struct spoke_pod {
	char uid[SPOKE_UID_LEN];
	char ns[SPOKE_NAMESPACE_LEN]; /* metadata.namespace */
	char name[FL_NAME_LEN];
	char node_name[FL_NAME_LEN]; /* spec.nodeName, "" while unbound */
	char phase[SPOKE_PHASE_LEN]; /* Pending, Running, Succeeded, Failed, Unknown */
	bool terminating;            /* metadata.deletionTimestamp is set */
	spoke_container *containers;
	uint32_t n_containers;
	spoke_container *init_containers;
	uint32_t n_init_containers;
	spoke_owner owner;  /* its controller ownerReference; uid "" for a bare pod */
	int64_t created_ms; /* metadata.creationTimestamp, ms since the epoch; 0 unknown */
	/* Its label SPOKE_SAFE_WORKLOAD_LABEL, a valid label value (1..63 of A-Z a-z 0-9 . _ -, alphanumeric
	 * at both ends); "" when absent. safe_label_invalid: it was there but not such a value, so it was
	 * dropped (the pod is kept: it still holds GPUs). */
	char safe_workload_id[FL_SAFE_ID_LEN];
	bool safe_label_invalid;
} spoke_pod;

/* A GPU device row; the same shape as the frame's GPU row. */
typedef fl_proto_gpu spoke_gpu;

/* Cluster-wide storage (JuiceFS) and RDMA figures. */
typedef struct spoke_storage {
	double total_space, used_space; /* bytes */
	double total_inodes, used_inodes;
	double read_bandwidth, write_bandwidth; /* bytes/s */
	double rdma_tx, rdma_rx;                /* bytes/s, summed over the cluster */
} spoke_storage;

typedef struct spoke_model {
	char k8s_version[FL_VERSION_LEN];
	spoke_node *nodes;
	uint32_t n_nodes, cap_nodes;
	spoke_pod *pods;
	uint32_t n_pods, cap_pods;
	spoke_gpu *gpus;
	uint32_t n_gpus, cap_gpus;
	spoke_owner_link *links; /* ReplicaSet → Deployment, Job → CronJob, ... (see spoke_workload.h) */
	uint32_t n_links, cap_links;
	spoke_pod_gpu *pod_gpus; /* GPU utilization by pod, from exporters that label it */
	uint32_t n_pod_gpus, cap_pod_gpus;
	spoke_storage storage;
	uint32_t unknown; /* FL_OV_* figures no source could measure this cycle (e.g. Prometheus was down) */
} spoke_model;

/* Frees every array the model owns and zeroes it. Safe on a zeroed model. */
void spoke_model_free(spoke_model *m);

/* Append a zeroed node / pod / GPU row and return it through *out (valid until the next add of the
 * same kind). FL_OK, FL_ENOMEM, or FL_ELIMIT past UINT32_MAX/2 items. */
int spoke_model_add_node(spoke_model *m, spoke_node **out);
int spoke_model_add_pod(spoke_model *m, spoke_pod **out);
int spoke_model_add_gpu(spoke_model *m, spoke_gpu **out);
int spoke_model_add_link(spoke_model *m, spoke_owner_link **out);
int spoke_model_add_pod_gpu(spoke_model *m, spoke_pod_gpu **out);

/* Appends a taint (strings copied). FL_OK, FL_EINVAL if a string does not fit its field,
 * FL_ELIMIT past FL_PROTO_MAX_TAINTS, FL_ENOMEM. */
int spoke_node_add_taint(spoke_node *n, const char *key, const char *value, const char *effect);

/* Allocates the pod's containers and init containers arrays (zeroed), replacing none: the pod must
 * have none yet. FL_OK, FL_ELIMIT above SPOKE_MAX_CONTAINERS, FL_ENOMEM. */
int spoke_pod_alloc_containers(spoke_pod *p, uint32_t n_containers, uint32_t n_init_containers);

/* Sets name=value in r (replacing an existing entry of that name). FL_OK, FL_EINVAL if the name is
 * empty or longer than SPOKE_RESOURCE_NAME_LEN-1, FL_ELIMIT past SPOKE_MAX_RESOURCES, FL_ENOMEM. */
int spoke_resources_set(spoke_resources *r, const char *name, int64_t value);

/* The quantity of name in r, or 0 when absent. */
int64_t spoke_resources_get(const spoke_resources *r, const char *name);

/* Frees r's items and zeroes it. */
void spoke_resources_free(spoke_resources *r);

#endif
