/* hub_api_cache.h — per-cluster answer text of the view-backed list routes (the heat map's and GPU
 * allocation's rows, a cluster's /v1/clusters item but for its status and ages), written once per cluster snapshot and
 * handed to every request until the cluster's snapshot changes.
 *
 * An entry holds a reference on the snapshot it was written from, so its key (the snapshot's address)
 * cannot be reused while it lives; it is replaced when a request sees a newer snapshot, and every lookup
 * first drops the entries whose snapshot is no longer current (at most once a second), so a superseded
 * snapshot stays alive only until the next lookup. Retained text is bounded by a byte budget: past it
 * the least recently used entries go, and an answer larger than the whole budget is written per request.
 * Concurrent requests for the same snapshot wait for one writer instead of each writing it.
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h) (FL_ENOMEM, FL_EINVAL). */
#ifndef HUB_API_CACHE_H
#define HUB_API_CACHE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "hub_json.h"
#include "hub_view.h"

#define HUB_API_CACHE_KINDS  3           /* answer kinds a cache holds per cluster (ids 0..KINDS-1) */
#define HUB_API_CACHE_BUDGET (32u << 20) /* default: retained text of every entry together, bytes */

/* Writes kind's text of snapshot s into j (which the caller set up) and, in *aux, a figure of the text
 * the route needs beside it (the heat map's widest node, where /v1/clusters splits an item). FL_OK, or FL_ENOMEM (j
 * failed). */
typedef int (*hub_api_text_fn)(const hub_view_snap *s, hub_json *j, uint32_t *aux);

/* One cluster's text of one kind, written from snap. Read-only for the caller; release it with
 * hub_api_cache_put. */
typedef struct hub_api_text {
	atomic_int refs;
	hub_view_snap *snap; /* reference held */
	char *text;          /* len bytes (NUL-terminated); "" when the cluster has no rows of this kind */
	size_t len;
	uint32_t aux;
	uint64_t used; /* last lookup (the cache's clock), for eviction */
} hub_api_text;

typedef struct hub_api_cache hub_api_cache;

/* A cache for view v's clusters (borrowed: v must outlive the cache) retaining at most budget bytes of
 * text. FL_OK and *out (free with hub_api_cache_free), or FL_ENOMEM. */
int hub_api_cache_new(hub_view *v, size_t budget, hub_api_cache **out);

/* Releases every entry (and the snapshot references they hold) and the cache. No text from it may be
 * held any more. NULL is fine. */
void hub_api_cache_free(hub_api_cache *c);

/* The text of kind (< HUB_API_CACHE_KINDS) for cluster i's current snapshot: the retained entry when it
 * was written from that snapshot, else written now by fn (fn is the same for a kind on every call).
 * FL_OK and *out (release with hub_api_cache_put), or FL_ENOMEM. Thread-safe. */
int hub_api_cache_get(hub_api_cache *c, size_t i, int kind, hub_api_text_fn fn, const hub_api_text **out);

/* hub_api_cache_get for each of the n clusters idx[0..n-1] (indexes below the view's count) with one
 * lock of the cache for the texts it retains: FL_OK and out[k] the text of cluster idx[k]'s current
 * snapshot (release each with hub_api_cache_put), or FL_ENOMEM or FL_EINVAL with every out[k] NULL.
 * Thread-safe. */
int hub_api_cache_get_many(hub_api_cache *c, const size_t *idx, size_t n, int kind, hub_api_text_fn fn,
                           const hub_api_text **out);

/* Releases a text from hub_api_cache_get or hub_api_cache_get_many. NULL is fine. */
void hub_api_cache_put(const hub_api_text *t);

/* Bytes of text (and entry records) the cache retains right now. */
size_t hub_api_cache_bytes(hub_api_cache *c);

#endif
