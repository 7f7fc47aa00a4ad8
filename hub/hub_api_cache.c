/* hub_api_cache.c — per-cluster answer text written once per snapshot, reused until the snapshot changes
 * (see hub_api_cache.h). */
#include "hub_api_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fl_time.h"

#define SWEEP_EVERY_MS 1000              /* how often a lookup drops the entries of superseded snapshots */
#define MAX_TEXT       ((size_t)1 << 30) /* one cluster's text of one kind */

typedef struct slot {
	hub_api_text *e;            /* retained entry, or NULL */
	const hub_view_snap *build; /* snapshot a request is writing this slot's text from, or NULL */
} slot;

struct hub_api_cache {
	hub_view *view;
	size_t n_clusters, budget;
	pthread_mutex_t mu; /* guards everything below; held for pointer work only, never while writing */
	pthread_cond_t built;
	slot *slots; /* n_clusters * HUB_API_CACHE_KINDS, cluster-major */
	size_t bytes;
	uint64_t clock;
	int64_t swept_ms;
};

static size_t entry_bytes(const hub_api_text *e)
{
	return sizeof(*e) + e->len + 1;
}

void hub_api_cache_put(const hub_api_text *t)
{
	hub_api_text *e = (hub_api_text *)t;
	if (e == NULL || atomic_fetch_sub(&e->refs, 1) != 1)
		return;
	hub_view_release(e->snap);
	free(e->text);
	free(e);
}

int hub_api_cache_new(hub_view *v, size_t budget, hub_api_cache **out)
{
	*out = NULL;
	hub_api_cache *c = calloc(1, sizeof(*c));
	size_t n = HUB_MAX_CLUSTERS; /* every slot a reload may add (hub_registry.h): never reallocated */
	if (c == NULL || (c->slots = calloc(n * HUB_API_CACHE_KINDS + 1, sizeof(slot))) == NULL) {
		free(c);
		return FL_ENOMEM;
	}
	c->view = v;
	c->n_clusters = n;
	c->budget = budget;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->built, NULL);
	*out = c;
	return FL_OK;
}

void hub_api_cache_free(hub_api_cache *c)
{
	if (c == NULL)
		return;
	for (size_t k = 0; k < c->n_clusters * HUB_API_CACHE_KINDS; k++)
		hub_api_cache_put(c->slots[k].e);
	pthread_cond_destroy(&c->built);
	pthread_mutex_destroy(&c->mu);
	free(c->slots);
	free(c);
}

size_t hub_api_cache_bytes(hub_api_cache *c)
{
	pthread_mutex_lock(&c->mu);
	size_t b = c->bytes;
	pthread_mutex_unlock(&c->mu);
	return b;
}

/* Takes entry k out of the cache (c->mu held); the caller puts it once the mutex is released. */
static hub_api_text *unhook(hub_api_cache *c, size_t k)
{
	hub_api_text *e = c->slots[k].e;
	c->slots[k].e = NULL;
	if (e != NULL)
		c->bytes -= entry_bytes(e);
	return e;
}

/* Drops the entries whose snapshot is no longer their cluster's current one, at most once per
 * SWEEP_EVERY_MS; the snapshots are released outside the mutex. */
static void sweep(hub_api_cache *c)
{
	int64_t now = fl_mono_ms();
	pthread_mutex_lock(&c->mu);
	bool due = now - c->swept_ms >= SWEEP_EVERY_MS;
	if (due)
		c->swept_ms = now;
	pthread_mutex_unlock(&c->mu);
	if (!due)
		return;
	for (size_t i = 0, n = hub_view_count(c->view); i < n; i++) { /* the slots that exist */
		hub_view_snap *cur = hub_view_get(c->view, i);
		hub_api_text *gone[HUB_API_CACHE_KINDS] = {NULL};
		pthread_mutex_lock(&c->mu);
		for (int kind = 0; kind < HUB_API_CACHE_KINDS; kind++) {
			size_t k = i * HUB_API_CACHE_KINDS + (size_t)kind;
			if (c->slots[k].e != NULL && c->slots[k].e->snap != cur)
				gone[kind] = unhook(c, k);
		}
		pthread_mutex_unlock(&c->mu);
		for (int kind = 0; kind < HUB_API_CACHE_KINDS; kind++)
			hub_api_cache_put(gone[kind]);
		hub_view_release(cur);
	}
}

/* Makes room for need more bytes by unhooking least recently used entries (c->mu held) into gone (at
 * most max of them; *n_gone counts them). True when the budget then holds need more bytes. */
static bool make_room(hub_api_cache *c, size_t need, hub_api_text **gone, size_t max, size_t *n_gone)
{
	while (c->bytes + need > c->budget && *n_gone < max) {
		size_t lru = SIZE_MAX;
		for (size_t k = 0; k < c->n_clusters * HUB_API_CACHE_KINDS; k++)
			if (c->slots[k].e != NULL && (lru == SIZE_MAX || c->slots[k].e->used < c->slots[lru].e->used))
				lru = k;
		if (lru == SIZE_MAX)
			break;
		gone[(*n_gone)++] = unhook(c, lru);
	}
	return c->bytes + need <= c->budget;
}

/* Writes kind's text of s (a reference the new entry takes over) with fn: a new entry with one reference
 * (the caller's), or NULL when out of memory (then s is released). */
static hub_api_text *write_entry(hub_view_snap *s, hub_api_text_fn fn)
{
	hub_api_text *e = calloc(1, sizeof(*e));
	hub_json j;
	hub_json_init(&j, MAX_TEXT);
	uint32_t aux = 0;
	int rv = e != NULL ? fn(s, &j, &aux) : FL_ENOMEM;
	size_t len = 0;
	bool empty = rv == FL_OK && !j.failed && j.buf == NULL; /* nothing written: no rows */
	char *text = rv != FL_OK ? NULL : empty ? calloc(1, 1) : hub_json_take(&j, &len);
	if (text == NULL) {
		free(hub_json_take(&j, &len));
		free(e);
		hub_view_release(s);
		return NULL;
	}
	atomic_init(&e->refs, 1);
	e->snap = s;
	e->text = text;
	e->len = len;
	e->aux = aux;
	return e;
}

/* True when s is cluster i's current snapshot. */
static bool is_current(hub_api_cache *c, size_t i, const hub_view_snap *s)
{
	hub_view_snap *cur = hub_view_get(c->view, i);
	bool yes = cur == s;
	hub_view_release(cur);
	return yes;
}

/* Retains e in slot k unless the budget cannot hold it (c->mu held); the entries it replaces or evicts go
 * into gone (*n_gone counts them, at most max). */
static void retain(hub_api_cache *c, size_t k, hub_api_text *e, hub_api_text **gone, size_t max, size_t *n_gone)
{
	if (c->slots[k].e != NULL)
		gone[(*n_gone)++] = unhook(c, k);
	if (!make_room(c, entry_bytes(e), gone, max, n_gone))
		return;
	atomic_fetch_add(&e->refs, 1);
	c->slots[k].e = e;
	c->bytes += entry_bytes(e);
}

int hub_api_cache_get(hub_api_cache *c, size_t i, int kind, hub_api_text_fn fn, const hub_api_text **out)
{
	*out = NULL;
	if (i >= hub_view_count(c->view) || kind < 0 || kind >= HUB_API_CACHE_KINDS)
		return FL_EINVAL;
	sweep(c);
	size_t k = i * HUB_API_CACHE_KINDS + (size_t)kind;
	hub_view_snap *s = hub_view_get(c->view, i);
	pthread_mutex_lock(&c->mu);
	for (;;) {
		hub_api_text *e = c->slots[k].e;
		if (e != NULL && e->snap == s) {
			atomic_fetch_add(&e->refs, 1);
			e->used = ++c->clock;
			pthread_mutex_unlock(&c->mu);
			hub_view_release(s);
			*out = e;
			return FL_OK;
		}
		if (c->slots[k].build != s)
			break;
		pthread_cond_wait(&c->built, &c->mu); /* another request is writing this very text */
	}
	bool builder = c->slots[k].build == NULL;
	if (builder)
		c->slots[k].build = s;
	pthread_mutex_unlock(&c->mu);

	hub_api_text *e = write_entry(s, fn);
	bool keep = e != NULL && is_current(c, i, e->snap); /* else a newer snapshot came meanwhile */
	hub_api_text *gone[HUB_API_CACHE_KINDS * 64 + 1];
	size_t n_gone = 0;
	pthread_mutex_lock(&c->mu);
	if (builder) {
		c->slots[k].build = NULL;
		pthread_cond_broadcast(&c->built);
	}
	if (keep) {
		e->used = ++c->clock;
		retain(c, k, e, gone, sizeof(gone) / sizeof(gone[0]) - 1, &n_gone);
	}
	pthread_mutex_unlock(&c->mu);
	for (size_t g = 0; g < n_gone; g++)
		hub_api_cache_put(gone[g]);
	*out = e;
	return e != NULL ? FL_OK : FL_ENOMEM;
}

#define MANY_CHUNK 64 /* clusters hub_api_cache_get_many looks up per lock of the cache */

/* hub_api_cache_get_many for at most MANY_CHUNK clusters: the retained texts under one lock, the others
 * through hub_api_cache_get. FL_OK, or an error with the texts this call got released and out NULLed. */
static int get_chunk(hub_api_cache *c, const size_t *idx, size_t n, int kind, hub_api_text_fn fn,
                     const hub_api_text **out)
{
	hub_view_snap *snap[MANY_CHUNK];
	for (size_t k = 0; k < n; k++)
		snap[k] = hub_view_get(c->view, idx[k]);
	pthread_mutex_lock(&c->mu);
	for (size_t k = 0; k < n; k++) {
		hub_api_text *e = c->slots[idx[k] * HUB_API_CACHE_KINDS + (size_t)kind].e;
		out[k] = NULL;
		if (e != NULL && e->snap == snap[k]) {
			atomic_fetch_add(&e->refs, 1);
			e->used = ++c->clock;
			out[k] = e;
		}
	}
	pthread_mutex_unlock(&c->mu);
	int rv = FL_OK;
	for (size_t k = 0; k < n; k++) {
		hub_view_release(snap[k]);
		if (out[k] == NULL && rv == FL_OK)
			rv = hub_api_cache_get(c, idx[k], kind, fn, &out[k]);
	}
	if (rv != FL_OK)
		for (size_t k = 0; k < n; k++) {
			hub_api_cache_put(out[k]);
			out[k] = NULL;
		}
	return rv;
}

int hub_api_cache_get_many(hub_api_cache *c, const size_t *idx, size_t n, int kind, hub_api_text_fn fn,
                           const hub_api_text **out)
{
	for (size_t k = 0; k < n; k++) {
		out[k] = NULL;
		if (idx[k] >= hub_view_count(c->view))
			return FL_EINVAL;
	}
	if (kind < 0 || kind >= HUB_API_CACHE_KINDS)
		return FL_EINVAL;
	sweep(c);
	for (size_t k = 0; k < n; k += MANY_CHUNK) {
		int rv = get_chunk(c, idx + k, n - k < MANY_CHUNK ? n - k : MANY_CHUNK, kind, fn, out + k);
		if (rv != FL_OK) {
			for (size_t d = 0; d < k; d++) {
				hub_api_cache_put(out[d]);
				out[d] = NULL;
			}
			return rv;
		}
	}
	return FL_OK;
}
