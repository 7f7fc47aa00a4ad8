/* hub_view_search.h — which of one cluster's nodes have a name holding a substring (GET /v1/nodes?name=),
 * from the cluster index's trigram lists, remembering the last few answers.
 *
 * An answer depends on the node names only, so it is kept with the names (hub_view_index's trigrams), which
 * every snapshot of the cluster shares while its names stay the same: a search repeated by a console's
 * refresh, a next page or another user is answered without looking at a name again, across frames that
 * change figures, statuses or classes. At most HUB_VIEW_SEARCH_CACHED answers per set of names are kept,
 * the least recently used dropped first: at most that many times (4 + 1/8) bytes per node.
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h) (FL_ENOMEM). */
#ifndef HUB_VIEW_SEARCH_H
#define HUB_VIEW_SEARCH_H

#include <stdint.h>

#include "hub_view_index.h"

#define HUB_VIEW_SEARCH_CACHED 4

/* One answer: immutable, reference-counted. */
typedef struct hub_view_hits {
	uint32_t n;            /* matching nodes */
	const uint32_t *nodes; /* their indexes, ascending */
	const uint64_t *bits;  /* the same nodes as a bitmap over the cluster's nodes (bit j of word j / 64) */
} hub_view_hits;

typedef struct hub_view_search_cache hub_view_search_cache;

/* An empty cache for one set of names, or NULL out of memory. */
hub_view_search_cache *hub_view_search_cache_new(void);

/* Frees the cache and drops its answers (each freed once no search holds it). NULL is fine. */
void hub_view_search_cache_free(hub_view_search_cache *c);

/* The nodes of ix whose name holds sub (not empty): the cached answer when there is one, else computed
 * (trigram lists intersected, then each candidate checked; a substring under three bytes scans the packed
 * names) and cached. FL_OK and *out, which the caller holds until hub_view_hits_release; or FL_ENOMEM. */
int hub_view_search(const hub_view_index *ix, const char *sub, const hub_view_hits **out);

/* Drops the caller's hold on h (from hub_view_search). NULL is fine. */
void hub_view_hits_release(const hub_view_hits *h);

#endif
