/* spoke_overview.h — the overview rules (ARCHITECTURE.md "Overview rules"), in this one module.
 *
 * From a model and the rules (GPU resource names, benign taint keys) computes the cluster's
 * fl_proto_overview and, per node, whether it is a GPU node, whether it is faulty, its allocatable and
 * allocated GPUs and the mean utilization of its GPUs. Pods are matched to nodes by a sorted name index
 * (O((N + P + G) log N)), never by scanning nodes per pod.
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h) (FL_ENOMEM), err filled; bool functions answer a question. */
#ifndef SPOKE_OVERVIEW_H
#define SPOKE_OVERVIEW_H

#include <stdbool.h>
#include <stdint.h>

#include "fl_err.h"
#include "fl_proto.h"
#include "spoke_model.h"

#define SPOKE_MAX_GPU_RESOURCES 16
#define SPOKE_MAX_BENIGN_TAINTS 32 /* >= SPOKE_MAX_GPU_RESOURCES: resource names are the default taints */

typedef struct spoke_overview_rules {
	char gpu_resources[SPOKE_MAX_GPU_RESOURCES][SPOKE_RESOURCE_NAME_LEN];
	uint32_t n_gpu_resources;
	char benign_taints[SPOKE_MAX_BENIGN_TAINTS][FL_TAINT_KEY_LEN];
	uint32_t n_benign_taints;
} spoke_overview_rules;

/* Per-node results, in the model's node order. */
typedef struct spoke_node_result {
	bool is_gpu_node;         /* allocatable GPUs > 0 */
	bool faulty;              /* Ready != "True", unschedulable, or a non-benign taint (any node) */
	int64_t allocatable_gpus; /* sum of allocatable[r] over the GPU resource names */
	int64_t allocated_gpus;   /* sum of the holds of pods bound here */
	double utilization;       /* mean over this node's GPU rows that report one; 0 if none */
	bool has_utilization;
} spoke_node_result;

typedef struct spoke_overview_result {
	fl_proto_overview overview;
	spoke_node_result *nodes; /* n_nodes items, owned; free with spoke_overview_result_free */
	uint32_t n_nodes;
} spoke_overview_result;

/* Fills r with the defaults: GPU resources amd.com/gpu, nvidia.com/gpu, huawei.com/Ascend910 and the
 * same names as the benign taint keys. */
void spoke_overview_rules_default(spoke_overview_rules *r);

/* A pod's GPU request under the rules, whatever its phase: max(sum over containers, max over init
 * containers) of its GPU requests (negative requests count 0). */
int64_t spoke_overview_pod_request(const spoke_pod *p, const spoke_overview_rules *rules);

/* True when the pod's phase is terminal (Succeeded or Failed). */
bool spoke_overview_pod_ended(const spoke_pod *p);

/* A pod's GPU hold under the rules: 0 if it ended, else its request. */
int64_t spoke_overview_pod_hold(const spoke_pod *p, const spoke_overview_rules *rules);

/* Computes the overview and per-node results for m into *out (which the caller then owns and frees
 * with spoke_overview_result_free, also after a failure). FL_OK or FL_ENOMEM (err filled). */
int spoke_overview_compute(const spoke_model *m, const spoke_overview_rules *rules, spoke_overview_result *out,
                           char err[FL_ERR_LEN]);

/* Frees out->nodes and zeroes *out. Safe on a zeroed result. */
void spoke_overview_result_free(spoke_overview_result *out);

#endif
