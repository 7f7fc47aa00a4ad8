/* spoke_sim.h — the `sim` source: a deterministic synthetic GPU cluster.
 *
 * spoke_sim_fill builds the model for one cycle purely from (seed, tick, config): node i's state at
 * tick t comes from a splitmix64 hash keyed on (seed, i, t) and never from other nodes. The cluster
 * exercises every overview rule: AMD and NVIDIA GPU nodes plus max(1, nodes/10) CPU-only nodes;
 * NotReady, Unknown, cordoned, fault-tainted and benign-tainted nodes; nodes that lost a GPU; pods
 * Running, Pending (bound and unbound), Succeeded, Failed and terminating, some with init containers
 * larger than their containers; GPUs with and without utilization; storage and RDMA figures. Pods
 * belong to Deployments (through ReplicaSets), Jobs, CronJobs and PyTorchJobs; the PyTorchJobs are SaFE
 * workloads: named as SaFE names them (pt-NNNNN-EPOCH-SUFFIX, SUFFIX 5 hex digits from seed and cluster),
 * their pods labelled with that name (spoke_pod.safe_workload_id); the others' pods are not labelled.
 * Node conditions move every 20 ticks, pods every 5, utilization and storage figures every tick.
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h), err naming what failed. */
#ifndef SPOKE_SIM_H
#define SPOKE_SIM_H

#include <stdint.h>

#include "fl_err.h"
#include "spoke_model.h"

#define SPOKE_SIM_MAX_NODES         100000u
#define SPOKE_SIM_MAX_GPUS_PER_NODE 64u
#define SPOKE_SIM_K8S_VERSION       "v1.30.0-sim"

typedef struct spoke_sim_config {
	uint32_t nodes;         /* GPU nodes, 1..SPOKE_SIM_MAX_NODES */
	uint32_t gpus_per_node; /* 1..SPOKE_SIM_MAX_GPUS_PER_NODE, default 8 */
	uint64_t seed;          /* default 1 */
	/* The cluster it stands for (the spoke's `cluster`; "" by default): with the seed it picks the
	 * 5-hex-digit suffix of the SaFE workloads' names, which SaFE makes unique across its clusters. */
	char cluster[FL_CLUSTER_LEN];
} spoke_sim_config;

/* Sets the defaults (nodes 0 — the caller must set it —, gpus_per_node 8, seed 1, cluster ""). */
void spoke_sim_config_default(spoke_sim_config *cfg);

/* The number of CPU-only nodes the simulator adds for cfg: max(1, nodes / 10). */
uint32_t spoke_sim_cpu_nodes(const spoke_sim_config *cfg);

/* Builds the model for cycle `tick` (0 for the first cycle). *model must be zeroed (or freed); on
 * FL_OK the caller owns it and frees it with spoke_model_free. On failure (FL_EINVAL for a config out
 * of range, FL_ENOMEM) err says why and *model is left zeroed. */
int spoke_sim_fill(const spoke_sim_config *cfg, uint64_t tick, spoke_model *model, char err[FL_ERR_LEN]);

#endif
