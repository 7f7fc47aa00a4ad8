/* spoke_delta.h — turning a full frame into a delta against what the hub was last sent.
 *
 * Keeps a copy of the node, pod and workload rows of the last frame queued (full or delta, after
 * applying it). A delta holds the nodes whose row changed in any field (taints included) or are new,
 * the GPU rows of those nodes, the names of nodes that are gone (`removed_nodes`), the pods and
 * workloads that changed or are new, the uids of pods that are gone (`removed_pods`), and the full
 * overview and facts (proto/FORMAT.md 3.2). Owned by the daemon; not thread-safe.
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h). */
#ifndef SPOKE_DELTA_H
#define SPOKE_DELTA_H

#include <stdbool.h>
#include <stdint.h>

#include "fl_err.h"
#include "fl_proto.h"

typedef struct spoke_delta {
	fl_proto_node *prev; /* sorted by name, taints owned */
	uint32_t n_prev;
	fl_proto_pod *prev_pods; /* sorted by uid */
	uint32_t n_prev_pods;
	fl_proto_workload *prev_workloads; /* sorted by uid */
	uint32_t n_prev_workloads;
	bool have; /* prev holds what the hub was sent (a delta can be made) */
} spoke_delta;

/* Remembers the node rows of the full frame f (copied; f is unchanged). FL_OK or FL_ENOMEM (then
 * have is false, so the next frame must be a full one). */
int spoke_delta_remember(spoke_delta *d, const fl_proto_frame *f);

/* Turns the full frame f into a delta against the remembered rows, in place (f stays owned by the
 * caller), and remembers f's full rows for the next one. d->have must be true. FL_OK, FL_EINVAL
 * (nothing remembered, or f is not a full frame), FL_ENOMEM (f is left a full frame, d->have false). */
int spoke_delta_make(spoke_delta *d, fl_proto_frame *f, char err[FL_ERR_LEN]);

/* Forgets the remembered rows (the next frame must be a full one). */
void spoke_delta_reset(spoke_delta *d);

#endif
