/* spoke_workload.h — GPU pods, the top-level workloads that own them, and each workload's status over
 * time (proto/FORMAT.md 3.8, 3.9).
 *
 * A pod's workload is found by following controller ownerReferences: the pod's own owner, then, while
 * the model knows that owner's controller (spoke_model.links: ReplicaSet → Deployment, Job → CronJob),
 * that one, at most SPOKE_OWNER_DEPTH steps. A kind the spoke does not watch (StatefulSet, DaemonSet,
 * PyTorchJob, ...) is the top as it is. A pod without a controller is its own workload (kind "Pod").
 *
 * Status, from the workload's GPU pods this cycle: one runs → Running; some live, none running →
 * Pending; only ended pods → Done if one succeeded, else Failed; no pods at all any more while it was
 * Running or Pending → Deleted. An ended workload is kept in the frames for SPOKE_WORKLOAD_KEEP_MS
 * after its end, then forgotten (the hub keeps it as history).
 *
 * SaFE: a workload's safe_workload_id is the first non-empty spoke_pod.safe_workload_id among its pods
 * this cycle (by pod uid), else the one it had before (so an ended or vanished workload keeps it).
 *
 * Utilization: a pod's is the mean of the GPUs an exporter attributes to it (spoke_model.pod_gpus),
 * else its node's mean; a workload's is the mean over its running pods weighted by their GPUs.
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h), err filled. */
#ifndef SPOKE_WORKLOAD_H
#define SPOKE_WORKLOAD_H

#include <stdint.h>

#include "fl_err.h"
#include "fl_proto.h"
#include "spoke_model.h"
#include "spoke_overview.h"

#define SPOKE_OWNER_DEPTH      8
#define SPOKE_WORKLOAD_KEEP_MS (15 * 60 * 1000)

/* The workloads a spoke has seen and not yet forgotten. Owned by the caller; not thread-safe. */
typedef struct spoke_workloads {
	fl_proto_workload *items; /* sorted by uid */
	uint32_t n, cap;
	uint64_t left_out; /* pods and workloads past the frame's limits, left out of frames (ever) */
} spoke_workloads;

/* Updates t from this cycle's model (m, and ov computed from it) at now_ms, then fills f->pods with
 * m's live GPU pods and f->workloads with every workload t holds. f->pods and f->workloads must be
 * empty; on FL_OK f owns the new arrays. FL_ENOMEM (f's arrays left empty, t unchanged in meaning:
 * a later call recovers) with err filled. */
int spoke_workloads_fill(spoke_workloads *t, const spoke_model *m, const spoke_overview_rules *rules,
                         const spoke_overview_result *ov, int64_t now_ms, fl_proto_frame *f, char err[FL_ERR_LEN]);

/* Frees what t holds and empties it (left_out stays). Safe on a zeroed tracker. */
void spoke_workloads_free(spoke_workloads *t);

#endif
