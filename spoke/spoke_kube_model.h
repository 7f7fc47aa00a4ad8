/* spoke_kube_model.h — the kube source's live objects (nodes, GPU pods, ended pods, owner links), each
 * kind found by its key (node name, uid) through a hash index in O(1).
 *
 * Items sit in arrays in the order they arrived; a removal moves the last item into the hole, exactly as
 * the arrays did before they had an index, so a snapshot's order (nodes[0] gives k8s_version, frames and
 * deltas follow model order) is unchanged. Not thread-safe: spoke_kube holds its mutex around every call.
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h); bool functions answer a question. */
#ifndef SPOKE_KUBE_MODEL_H
#define SPOKE_KUBE_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "fl_err.h"
#include "spoke_model.h"
#include "spoke_overview.h"

/* Ended pods remembered until the next snapshot; past it the pod is dropped (its workload reads Deleted). */
#define SPOKE_KUBE_MAX_ENDED 10000

/* Open-addressing (linear probing) table of array positions, keyed by a string of the item. */
typedef struct spoke_kube_index {
	uint32_t *slots; /* position + 1; 0 = empty */
	uint32_t cap;    /* a power of two, at least twice the items; 0 = none yet */
} spoke_kube_index;

/* A list of one kind, built off the lock and swapped in whole (spoke_kube_model_replace_*). */
typedef struct spoke_kube_listing {
	spoke_node *nodes;
	spoke_pod *pods;
	spoke_owner_link *links;
	uint32_t n, cap;
	uint32_t skipped; /* items not kept (pods without GPU requests, objects without a controller) */
} spoke_kube_listing;

typedef struct spoke_kube_model {
	spoke_node *nodes;
	uint32_t n_nodes, cap_nodes;
	spoke_kube_index node_idx; /* by name */
	spoke_pod *pods;
	uint32_t n_pods, cap_pods;
	spoke_kube_index pod_idx; /* by uid */
	spoke_pod *ended;         /* pods that ended (Succeeded/Failed) since the last snapshot: their workload's end */
	uint32_t n_ended, cap_ended;
	spoke_owner_link *links[2]; /* [0] ReplicaSets, [1] Jobs: objects that have a controller */
	uint32_t n_links[2], cap_links[2];
	spoke_kube_index link_idx[2]; /* by uid */
} spoke_kube_model;

/* Grows *arr (elements of elem bytes, *cap of them) so that it holds n + 1. FL_OK, FL_ENOMEM, FL_ELIMIT. */
int spoke_kube_grow(void **arr, uint32_t n, uint32_t *cap, size_t elem);

/* True when some container or init container requests a GPU resource: only such pods can hold GPUs,
 * so only they are kept (GPU requests cannot change on a live pod). */
bool spoke_kube_pod_wants_gpus(const spoke_pod *p);

/* True for a pod in phase Succeeded or Failed. */
bool spoke_kube_pod_ended(const spoke_pod *p);

/* Adds or replaces the node of n's name, taking ownership of *n (cleared on failure). *urgent is set when
 * the node is new or its Ready, unschedulable, taints or allocatable GPUs (rules' resources) changed.
 * FL_OK, FL_ENOMEM, FL_ELIMIT. */
int spoke_kube_model_put_node(spoke_kube_model *m, const spoke_overview_rules *rules, spoke_node *n, bool *urgent);

/* Removes the node of that name; true if there was one. */
bool spoke_kube_model_del_node(spoke_kube_model *m, const char *name);

/* Adds or replaces the pod of p's uid, taking ownership of *p. A pod without GPU requests removes the
 * uid's pod instead; an ended one removes it and is remembered until the next snapshot.
 * FL_OK, FL_ENOMEM, FL_ELIMIT (p cleared). */
int spoke_kube_model_put_pod(spoke_kube_model *m, spoke_pod *p);

/* Removes the pod of that uid (nothing if none). */
void spoke_kube_model_del_pod(spoke_kube_model *m, const char *uid);

/* Keeps the ended pod *p (taken over) until the next snapshot; past SPOKE_KUBE_MAX_ENDED, or without
 * memory, it is dropped (cleared). */
void spoke_kube_model_remember_ended(spoke_kube_model *m, spoke_pod *p);

/* Sets the link of owner kind `which` (0 ReplicaSets, 1 Jobs) for l->uid, or removes it when l has no
 * owner. FL_OK, FL_ENOMEM, FL_ELIMIT. */
int spoke_kube_model_put_link(spoke_kube_model *m, int which, const spoke_owner_link *l);

/* Swap a complete listing in for the kind's objects, taking over l's arrays (l is zeroed), and index it.
 * FL_OK, or FL_ENOMEM / FL_ELIMIT for the index: then the model is as it was and l still the caller's. */
int spoke_kube_model_replace_nodes(spoke_kube_model *m, spoke_kube_listing *l);
int spoke_kube_model_replace_pods(spoke_kube_model *m, spoke_kube_listing *l);
int spoke_kube_model_replace_links(spoke_kube_model *m, int which, spoke_kube_listing *l);

/* Frees what a listing holds and zeroes it. */
void spoke_kube_listing_free(spoke_kube_listing *l);

/* Deep copies the model into *out (zeroed here; on FL_OK the caller owns it, spoke_model_free): nodes,
 * live pods then ended pods, links of both kinds, k8s_version from the first node. On FL_OK the ended
 * pods are forgotten (each reaches one snapshot). FL_OK or FL_ENOMEM (out freed). */
int spoke_kube_model_copy(spoke_kube_model *m, spoke_model *out);

/* Frees everything the model holds and zeroes it. */
void spoke_kube_model_free(spoke_kube_model *m);

#endif
