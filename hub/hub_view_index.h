/* hub_view_index.h — the indexes one cluster's snapshot carries so that GET /v1/nodes filters, orders and
 * searches without scanning every node (hub_view_query.c reads them; hub_view.c builds one per snapshot).
 *
 * Classes: nodes are grouped by (status, gpu_name, gpu_count > 0), the only fields the status, gpu_name
 * (exact or substring) and gpu_only filters read, so every such filter selects whole classes and its count
 * is a sum of class sizes. Each order array lists every node once, grouped by class; inside a class it is
 * in the order's own sequence (node index, which is name order, or (key, node index)). A class's slice of
 * an order array is therefore both the posting list of that class and already sorted for the order.
 *
 * Names: every node name packed in one buffer (a substring under three bytes scans it, memory in a row
 * instead of a node record each), and every distinct three-byte piece of the names with the sorted indexes
 * of the nodes whose name holds it. They depend on names only, so they are shared (reference-counted) with
 * the next snapshot while the cluster's node names stay the same.
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h) (FL_ENOMEM); the readers return values and cannot fail. */
#ifndef HUB_VIEW_INDEX_H
#define HUB_VIEW_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "hub_view.h"

/* The numeric orders' keys, as by_key indexes them. */
enum { HUB_IX_GPU_COUNT = 0, HUB_IX_GPU_ALLOCATION, HUB_IX_GPU_UTILIZATION, HUB_IX_N_KEYS };

typedef struct hub_view_tri hub_view_tri;
typedef struct hub_view_search_cache hub_view_search_cache;

struct hub_view_index {
	uint32_t n_nodes, n_classes;
	const uint32_t *cls_of;   /* n_nodes: each node's class */
	const uint32_t *cls_off;  /* n_classes + 1: class c holds positions [cls_off[c], cls_off[c + 1]) of each
	                           * order array below */
	const uint32_t *cls_rep;  /* n_classes: a member of each class (its status, gpu_name and gpu_count > 0
	                           * are the class's) */
	const uint32_t *by_class; /* n_nodes: by class, then node index */
	const uint32_t *by_key[HUB_IX_N_KEYS]; /* n_nodes: by class, then (key, node index) */
	hub_view_tri *tri;                     /* packed names and trigram lists; shared */
	size_t own_bytes;                      /* this index's allocations, the shared trigrams apart */
};

/* The key the numeric order `key` (HUB_IX_*) sorts node n by: gpu_count, gpu_allocation, or
 * gpu_utilization with -1 for a node without one (the lowest). */
double hub_view_index_key(const hub_view_node *n, int key);

/* The index of nodes[0..n) (ordered by name). prev (may be NULL) is the snapshot being replaced: its
 * trigrams are shared when its node names are exactly these. FL_OK and *out (NULL when n is 0; free with
 * hub_view_index_free) with *bytes the memory it newly holds (its own plus trigrams not shared), or
 * FL_ENOMEM. */
int hub_view_index_build(hub_view_node *const *nodes, uint32_t n, const hub_view_snap *prev, hub_view_index **out,
                         size_t *bytes);

/* Frees ix (NULL is fine) and drops its trigram reference. Returns the bytes released (its own, plus the
 * trigrams' when this was their last holder). */
size_t hub_view_index_free(hub_view_index *ix);

/* Bytes ix holds: its own and its trigrams' (shared or not). 0 for NULL. */
size_t hub_view_index_bytes(const hub_view_index *ix);

/* The sorted node indexes whose name holds the three bytes t[0..2], or NULL (and *n 0) when none does. */
const uint32_t *hub_view_index_tri(const hub_view_index *ix, const char *t, uint32_t *n);

/* The cache of name searches kept with ix's names (shared by the snapshots sharing them; hub_view_search.h). */
hub_view_search_cache *hub_view_index_search_cache(const hub_view_index *ix);

/* Node j's name from the packed names (the same text as its record's). */
const char *hub_view_index_name(const hub_view_index *ix, uint32_t j);

/* Writes to hits (room for n_nodes), ascending, the nodes whose name holds sub (not empty), by a scan of
 * the packed names; returns how many. */
uint32_t hub_view_index_scan(const hub_view_index *ix, const char *sub, uint32_t *hits);

#endif
