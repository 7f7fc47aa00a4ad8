/* hub_node.h — node frames (FORMAT.md 3.10) in the hub DB (sql/hub/006_node_agents.sql): the node agent,
 * its GPUs and RDMA devices, the device change log and the GPU jobs and their samples; the sweep that marks silent
 * agents and their jobs lost; and the reads behind /v1/nodes/{name} (agent) and .../gpuDevices (the jobs are read for
 * /v1/jobs by hub_job.h).
 *
 * Connections are borrowed (one per thread). Each write is one transaction under the agent row's lock,
 * so replicas and concurrent frames of one node are applied one at a time, newest wins.
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h), err naming what failed (FL_EDB for the database). */
#ifndef HUB_NODE_H
#define HUB_NODE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fl_err.h"
#include "fl_proto.h"

typedef enum hub_node_verdict {
	HUB_NODE_APPLIED = 0,   /* stored */
	HUB_NODE_DUPLICATE = 1, /* same spoke stream, seq already applied: nothing written */
	HUB_NODE_STALE = 2      /* older than the node's newest frame from another stream: nothing written */
} hub_node_verdict;

typedef struct hub_node_result {
	hub_node_verdict verdict;
	bool first;           /* the node's first frame ever */
	bool recovered;       /* its agent had been marked lost */
	int64_t changes;      /* node_device_changelog rows written */
	int64_t jobs_started; /* jobs not known before */
	int64_t jobs_ended;   /* known live jobs the frame no longer lists */
} hub_node_result;

/* Applies node frame f (decoded, signature verified, kind FL_FRAME_NODE) received at recv_ms (hub clock:
 * last_seen, first_seen, ended_at and changed_at use it). Newer means: from the same spoke stream, a
 * higher seq; from another stream, sent >= the newest applied frame's sent. A newer frame replaces the
 * node's GPU and RDMA rows (memory_used, health and health_detail included), logs each GPU (by index) or
 * RDMA device (by name) that appeared, disappeared or changed identity (serial, node GUID) and each GPU
 * whose health changed (change "health", old and new health, detail the new health_detail), upserts its
 * jobs as running (params, env, config_path, gpu_ids; idle_since: kept, or the frame's sent, while the job
 * holds accelerator memory at under job_idle_utilization percent, else NULL), appends one gpu_job_sample
 * per job at the frame's sent, ends the node's live jobs it does not list, and marks the agent ok. FL_OK
 * with *res; FL_EINVAL when the frame cannot be stored (a GPU index, RDMA name or job (pid, started)
 * listed twice, a start time outside 1970..9999; err says which); FL_ENOMEM; FL_EDB (rolled back). */
int hub_node_apply(PGconn *c, const fl_proto_frame *f, int64_t recv_ms, double job_idle_utilization,
                   hub_node_result *res, char err[FL_ERR_LEN]);

/* Marks every ok agent whose last frame arrived before cutoff_ms lost, and their running jobs lost.
 * *agents / *jobs: how many; names: up to ~200 bytes of "cluster/node, ..." of the agents marked (for the
 * log; "" when none). FL_OK or FL_EDB. */
int hub_node_sweep(PGconn *c, int64_t cutoff_ms, int64_t *agents, int64_t *jobs, char names[256], char err[FL_ERR_LEN]);

/* JSON text (malloc'd, caller frees) of an array with one agent object per cluster in clusters[0..n)
 * that has an agent for node: cluster_name, status, spoke_id, gpu_source, spoke_version, first_seen,
 * last_seen, lost_at, gpus (count), running_jobs, lost_jobs, rdma_devices [...], device_changes (the
 * newest 20; each with detail, null but for health changes). "[]" when none. FL_OK, FL_EDB, FL_ENOMEM. */
int hub_node_agents_json(PGconn *c, const char *const *clusters, size_t n, const char *node, char **json,
                         char err[FL_ERR_LEN]);

/* JSON text of the GPU rows the node agent of (cluster, node) reported, in gpu_id order, with the Lens
 * gpu_device keys (cluster_name, node_name, gpu_id, gpu_model, memory, utilization, temperature, power,
 * serial, numa), memory_used (MiB, null unknown), health, health_detail, and "source":"node". "[]" when it reported
 * none. FL_OK, FL_EDB, FL_ENOMEM. */
int hub_node_gpus_json(PGconn *c, const char *cluster, const char *node, char **json, char err[FL_ERR_LEN]);

#endif
