/* hub_view_search.c — node-name substring search over one cluster's trigram lists, with a cache of recent
 * answers kept beside the names. */
#include "hub_view_search.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fl_err.h"

/* A cached answer: the public part first, so a hub_view_hits pointer is the entry's. One block holds the
 * entry, its substring (padded to 8 bytes), its bitmap and, last so that the block can shrink, its node list. */
typedef struct entry {
	hub_view_hits pub;
	atomic_uint refs; /* the cache's hold and each search's */
	uint64_t used;    /* the cache's tick when last asked for (under the cache's lock) */
	const char *sub;
} entry;

struct hub_view_search_cache {
	pthread_mutex_t mu;
	uint64_t tick;
	entry *e[HUB_VIEW_SEARCH_CACHED]; /* NULL: free slot */
};

hub_view_search_cache *hub_view_search_cache_new(void)
{
	hub_view_search_cache *c = calloc(1, sizeof(*c));
	if (c != NULL && pthread_mutex_init(&c->mu, NULL) != 0) {
		free(c);
		c = NULL;
	}
	return c;
}

void hub_view_hits_release(const hub_view_hits *h)
{
	entry *e = (entry *)h;
	if (e != NULL && atomic_fetch_sub(&e->refs, 1) == 1)
		free(e);
}

void hub_view_search_cache_free(hub_view_search_cache *c)
{
	if (c == NULL)
		return;
	for (int k = 0; k < HUB_VIEW_SEARCH_CACHED; k++)
		hub_view_hits_release(c->e[k] != NULL ? &c->e[k]->pub : NULL);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

/* The size of an entry's block for a substring of len bytes (with its NUL) over n_nodes nodes and cap nodes. */
static size_t entry_size(size_t len, uint32_t n_nodes, uint32_t cap)
{
	size_t words = ((size_t)n_nodes + 63) / 64;
	return sizeof(entry) + (len + 7) / 8 * 8 + words * sizeof(uint64_t) + (size_t)cap * sizeof(uint32_t);
}

/* Points e's substring, bitmap and node list into its block (after it moved). */
static void entry_place(entry *e, size_t len, uint32_t n_nodes)
{
	char *s = (char *)(e + 1);
	uint64_t *bits = (uint64_t *)(s + (len + 7) / 8 * 8);
	e->sub = s;
	e->pub.bits = bits;
	e->pub.nodes = (uint32_t *)(bits + ((size_t)n_nodes + 63) / 64);
}

/* An entry for sub with room for up to `cap` nodes over n_nodes nodes, refs 1, no node yet. */
static entry *entry_new(const char *sub, uint32_t cap, uint32_t n_nodes)
{
	size_t len = strlen(sub) + 1;
	entry *e = malloc(entry_size(len, n_nodes, cap));
	if (e == NULL)
		return NULL;
	*e = (entry){.pub = {.n = 0}};
	entry_place(e, len, n_nodes);
	memcpy((char *)e->sub, sub, len);
	memset((uint64_t *)e->pub.bits, 0, ((size_t)n_nodes + 63) / 64 * sizeof(uint64_t));
	atomic_init(&e->refs, 1);
	return e;
}

static void entry_add(entry *e, uint32_t j)
{
	((uint32_t *)e->pub.nodes)[e->pub.n++] = j;
	((uint64_t *)e->pub.bits)[j >> 6] |= 1ULL << (j & 63);
}

/* --- computing an answer -------------------------------------------------------------------------- */

typedef struct tri_list {
	const uint32_t *a;
	uint32_t n;
} tri_list;

static int cmp_list_len(const void *x, const void *y)
{
	uint32_t a = ((const tri_list *)x)->n, b = ((const tri_list *)y)->n;
	return (a > b) - (a < b);
}

/* The first position at or after `at` in a[0..n) whose value is >= want (a ascending): galloping. */
static uint32_t gallop(const uint32_t *a, uint32_t n, uint32_t at, uint32_t want)
{
	uint32_t step = 1, hi = at;
	while (hi < n && a[hi] < want) {
		at = hi + 1;
		hi = step >= n - hi ? n : hi + step;
		step *= 2;
	}
	while (at < hi) {
		uint32_t mid = at + (hi - at) / 2;
		if (a[mid] < want)
			at = mid + 1;
		else
			hi = mid;
	}
	return at;
}

/* A substring of three bytes or more: the shortest trigram list, intersected with the others (galloping;
 * a list every name is on, such as a shared "node-" prefix's, filters nothing and is skipped), then each
 * survivor's name checked (exact: a list is the answer itself for a three-byte substring). */
static entry *search_trigrams(const hub_view_index *ix, const char *sub, size_t len)
{
	tri_list *l = malloc((len - 2) * sizeof(*l));
	if (l == NULL)
		return NULL;
	size_t nl = 0;
	tri_list every = {NULL, 0}; /* a list every name is on */
	for (size_t i = 0; i + 3 <= len; i++) {
		l[nl].a = hub_view_index_tri(ix, sub + i, &l[nl].n);
		if (l[nl].n == 0) { /* a trigram no name holds: nothing matches */
			free(l);
			return entry_new(sub, 0, ix->n_nodes);
		}
		if (l[nl].n < ix->n_nodes)
			nl++;
		else
			every = l[nl];
	}
	if (nl == 0)
		l[nl++] = every;
	qsort(l, nl, sizeof(*l), cmp_list_len);
	uint32_t *cand = malloc(((size_t)l[0].n + 1) * sizeof(*cand));
	entry *e = cand != NULL ? entry_new(sub, l[0].n, ix->n_nodes) : NULL;
	if (e == NULL) {
		free(cand);
		free(l);
		return NULL;
	}
	uint32_t m = l[0].n;
	memcpy(cand, l[0].a, (size_t)m * sizeof(*cand));
	for (size_t i = 1; i < nl && m > 0; i++) {
		if (l[i].a == l[i - 1].a)
			continue; /* the same trigram again */
		uint32_t at = 0, w = 0;
		for (uint32_t k = 0; k < m && at < l[i].n; k++) {
			at = gallop(l[i].a, l[i].n, at, cand[k]);
			if (at < l[i].n && l[i].a[at] == cand[k])
				cand[w++] = cand[k];
		}
		m = w;
	}
	for (uint32_t k = 0; k < m; k++) /* the trigrams say "maybe" from four bytes on: check each name */
		if (len == 3 || strstr(hub_view_index_name(ix, cand[k]), sub) != NULL)
			entry_add(e, cand[k]);
	free(cand);
	free(l);
	return e;
}

/* The answer for sub, computed: an entry with refs 1, or NULL out of memory. */
static entry *compute(const hub_view_index *ix, const char *sub)
{
	size_t len = strlen(sub);
	if (len >= 3)
		return search_trigrams(ix, sub, len);
	/* Under three bytes: a scan, straight into an answer with room for every node, then shrunk to the hits
	 * (the node list is the block's last part, so nothing else moves within it). */
	entry *e = entry_new(sub, ix->n_nodes, ix->n_nodes);
	if (e == NULL)
		return NULL;
	uint32_t *nodes = (uint32_t *)e->pub.nodes, m = hub_view_index_scan(ix, sub, nodes);
	uint64_t *bits = (uint64_t *)e->pub.bits;
	for (uint32_t k = 0; k < m; k++)
		bits[nodes[k] >> 6] |= 1ULL << (nodes[k] & 63);
	e->pub.n = m;
	entry *small = realloc(e, entry_size(len + 1, ix->n_nodes, m));
	if (small == NULL)
		return e; /* keeps the larger block: still a whole answer */
	entry_place(small, len + 1, ix->n_nodes);
	return small;
}

/* --- the cache ------------------------------------------------------------------------------------ */

/* The cached entry for sub with one more hold, or NULL. Called with c->mu held. */
static entry *lookup(hub_view_search_cache *c, const char *sub)
{
	for (int k = 0; k < HUB_VIEW_SEARCH_CACHED; k++)
		if (c->e[k] != NULL && strcmp(c->e[k]->sub, sub) == 0) {
			atomic_fetch_add(&c->e[k]->refs, 1);
			c->e[k]->used = ++c->tick;
			return c->e[k];
		}
	return NULL;
}

int hub_view_search(const hub_view_index *ix, const char *sub, const hub_view_hits **out)
{
	*out = NULL;
	hub_view_search_cache *c = hub_view_index_search_cache(ix);
	pthread_mutex_lock(&c->mu);
	entry *e = lookup(c, sub);
	pthread_mutex_unlock(&c->mu);
	if (e != NULL) {
		*out = &e->pub;
		return FL_OK;
	}
	if ((e = compute(ix, sub)) == NULL) /* outside the lock: other searches go on meanwhile */
		return FL_ENOMEM;
	entry *old = NULL;
	pthread_mutex_lock(&c->mu);
	entry *raced = lookup(c, sub); /* another search computed the same answer meanwhile */
	if (raced == NULL) {
		int slot = 0;
		for (int k = 1; k < HUB_VIEW_SEARCH_CACHED && c->e[slot] != NULL; k++)
			if (c->e[k] == NULL || c->e[k]->used < c->e[slot]->used)
				slot = k;
		old = c->e[slot];
		atomic_fetch_add(&e->refs, 1); /* the cache's hold */
		e->used = ++c->tick;
		c->e[slot] = e;
	}
	pthread_mutex_unlock(&c->mu);
	if (raced != NULL) {
		hub_view_hits_release(&e->pub);
		e = raced;
	}
	hub_view_hits_release(old != NULL ? &old->pub : NULL);
	*out = &e->pub;
	return FL_OK;
}
