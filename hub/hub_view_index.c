/* hub_view_index.c — builds the per-snapshot node indexes (classes, order arrays, shared name trigrams). */
#include "hub_view_index.h"
#include "hub_view_search.h"

#include <math.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct hub_view_tri {
	atomic_uint refs; /* indexes holding it */
	uint32_t n_keys;
	size_t bytes;
	const char *text;             /* every node name, each ended by '\0', in node order */
	const uint32_t *at;           /* n_nodes + 1: node j's name is text + at[j] */
	const uint32_t *keys;         /* n_keys trigram codes (b0 << 16 | b1 << 8 | b2), ascending */
	const uint32_t *off;          /* n_keys + 1: code k's nodes are post[off[k] .. off[k + 1]) */
	const uint32_t *post;         /* node indexes, ascending per code */
	hub_view_search_cache *cache; /* recent name searches' answers (hub_view_search.h) */
};

double hub_view_index_key(const hub_view_node *n, int key)
{
	switch (key) {
	case HUB_IX_GPU_COUNT: return (double)n->gpu_count;
	case HUB_IX_GPU_ALLOCATION: return (double)n->gpu_allocation;
	default: return isnan(n->gpu_utilization) ? -1.0 : n->gpu_utilization;
	}
}

/* --- stable radix sort of (64-bit key, node index) pairs ----------------------------------------------- */

typedef struct kv {
	uint64_t k;
	uint32_t v;
} kv;

/* An unsigned integer ordered as the double d compares (d is never NaN; -0 equals 0, as for <). */
static uint64_t ordered_bits(double d)
{
	if (d == 0)
		d = 0.0;
	uint64_t b;
	memcpy(&b, &d, sizeof(b));
	return (b >> 63) != 0 ? ~b : b | (1ULL << 63);
}

/* Sorts a[0..n) by k, keeping the order of equal keys, with tmp (n items) as room. Bytes of the key in
 * which every item agrees are skipped. Returns where the sorted items are (a or tmp). */
static kv *radix_sort(kv *a, kv *tmp, size_t n, int lo_byte, int hi_byte)
{
	size_t count[256];
	for (int b = lo_byte; b < hi_byte; b++) {
		int shift = 8 * b;
		memset(count, 0, sizeof(count));
		for (size_t i = 0; i < n; i++)
			count[(a[i].k >> shift) & 0xff]++;
		if (n == 0 || count[(a[0].k >> shift) & 0xff] == n)
			continue;
		size_t sum = 0;
		for (int d = 0; d < 256; d++) {
			size_t c = count[d];
			count[d] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			tmp[count[(a[i].k >> shift) & 0xff]++] = a[i];
		kv *t = a;
		a = tmp;
		tmp = t;
	}
	return a;
}

/* --- classes --------------------------------------------------------------------------------------- */

static uint64_t hash_str(uint64_t h, const char *s)
{
	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h * 1099511628211ULL;
}

static bool same_class(const hub_view_node *a, const hub_view_node *b)
{
	return (a->gpu_count > 0) == (b->gpu_count > 0) &&
	       strcmp(hub_view_str(a, a->status), hub_view_str(b, b->status)) == 0 &&
	       strcmp(hub_view_str(a, a->gpu_name), hub_view_str(b, b->gpu_name)) == 0;
}

/* Assigns cls_of[j] for every node and fills rep (room for n) with one member per class, in order of
 * first appearance. Returns the number of classes, or 0 out of memory (n > 0). */
static uint32_t classify(hub_view_node *const *nodes, uint32_t n, uint32_t *cls_of, uint32_t *rep)
{
	size_t cap = 16;
	while (cap < 2 * (size_t)n)
		cap *= 2;
	uint32_t *slot = calloc(cap, sizeof(*slot)); /* class + 1, 0 empty */
	if (slot == NULL)
		return 0;
	uint32_t nc = 0;
	for (uint32_t j = 0; j < n; j++) {
		const hub_view_node *x = nodes[j];
		if (j > 0 && same_class(nodes[j - 1], x)) { /* neighbours often share a class */
			cls_of[j] = cls_of[j - 1];
			continue;
		}
		uint64_t h =
		    hash_str(hash_str(14695981039346656037ULL + (x->gpu_count > 0), hub_view_str(x, x->status)),
		             hub_view_str(x, x->gpu_name));
		size_t at = (size_t)(h ^ (h >> 29)) & (cap - 1);
		while (slot[at] != 0 && !same_class(nodes[rep[slot[at] - 1]], x))
			at = (at + 1) & (cap - 1);
		if (slot[at] == 0) {
			rep[nc] = j;
			slot[at] = ++nc;
		}
		cls_of[j] = slot[at] - 1;
	}
	free(slot);
	return nc;
}

/* --- trigrams -------------------------------------------------------------------------------------- */

static uint32_t tri_code(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	return (uint32_t)u[0] << 16 | (uint32_t)u[1] << 8 | u[2];
}

/* Node names the same, node for node: the previous snapshot's trigrams still hold. */
static bool same_names(hub_view_node *const *nodes, uint32_t n, const hub_view_snap *prev)
{
	if (prev == NULL || prev->ix == NULL || prev->n_nodes != n)
		return false;
	for (uint32_t j = 0; j < n; j++)
		if (nodes[j] != prev->nodes[j] && strcmp(hub_view_str(nodes[j], nodes[j]->name),
		                                         hub_view_str(prev->nodes[j], prev->nodes[j]->name)) != 0)
			return false;
	return true;
}

/* The distinct trigrams of s into codes (room for strlen(s)), ascending; returns how many. */
static uint32_t name_trigrams(const char *s, uint32_t *codes)
{
	size_t len = strlen(s);
	uint32_t m = 0;
	for (size_t i = 0; i + 3 <= len; i++) {
		uint32_t c = tri_code(s + i), at = m++;
		while (at > 0 && codes[at - 1] > c) { /* insertion: names are short */
			codes[at] = codes[at - 1];
			at--;
		}
		codes[at] = c;
	}
	uint32_t d = 0;
	for (uint32_t i = 0; i < m; i++)
		if (d == 0 || codes[d - 1] != codes[i])
			codes[d++] = codes[i];
	return d;
}

/* The packed names and trigram lists of nodes[0..n) (n > 0): FL_OK and *out, or FL_ENOMEM. */
static int tri_build(hub_view_node *const *nodes, uint32_t n, hub_view_tri **out)
{
	*out = NULL;
	size_t pairs = 0, longest = 0, text = 0;
	for (uint32_t j = 0; j < n; j++) {
		size_t len = strlen(hub_view_str(nodes[j], nodes[j]->name));
		pairs += len >= 3 ? len - 2 : 0;
		longest = len > longest ? len : longest;
		text += len + 1;
	}
	if (text > UINT32_MAX)
		return FL_ENOMEM;
	kv *a = malloc((pairs + 1) * sizeof(*a)), *tmp = malloc((pairs + 1) * sizeof(*tmp));
	uint32_t *codes = malloc((longest + 1) * sizeof(*codes));
	if (a == NULL || tmp == NULL || codes == NULL) {
		free(a);
		free(tmp);
		free(codes);
		return FL_ENOMEM;
	}
	size_t m = 0;
	for (uint32_t j = 0; j < n; j++) {
		uint32_t d = name_trigrams(hub_view_str(nodes[j], nodes[j]->name), codes);
		for (uint32_t i = 0; i < d; i++)
			a[m++] = (kv){codes[i], j};
	}
	kv *s = radix_sort(a, tmp, m, 0, 3); /* stable: node indexes stay ascending per code */
	uint32_t nk = 0;
	for (size_t i = 0; i < m; i++)
		nk += i == 0 || s[i].k != s[i - 1].k;
	size_t bytes = sizeof(hub_view_tri) + ((size_t)2 * nk + 1 + m + n + 1) * sizeof(uint32_t) + text;
	hub_view_tri *t = malloc(bytes);
	hub_view_search_cache *cache = hub_view_search_cache_new();
	free(codes);
	if (t == NULL || cache == NULL) {
		free(t);
		hub_view_search_cache_free(cache);
		free(a);
		free(tmp);
		return FL_ENOMEM;
	}
	uint32_t *keys = (uint32_t *)(t + 1), *off = keys + nk, *post = off + nk + 1, *at = post + m;
	char *tx = (char *)(at + n + 1);
	at[0] = 0;
	for (uint32_t j = 0; j < n; j++) {
		const char *name = hub_view_str(nodes[j], nodes[j]->name);
		size_t len = strlen(name) + 1;
		memcpy(tx + at[j], name, len);
		at[j + 1] = at[j] + (uint32_t)len;
	}
	uint32_t k = 0;
	for (size_t i = 0; i < m; i++) {
		if (i == 0 || s[i].k != s[i - 1].k) {
			keys[k] = (uint32_t)s[i].k;
			off[k++] = (uint32_t)i;
		}
		post[i] = s[i].v;
	}
	off[nk] = (uint32_t)m;
	atomic_init(&t->refs, 1);
	t->n_keys = nk;
	t->bytes = bytes;
	t->keys = keys;
	t->off = off;
	t->post = post;
	t->text = tx;
	t->at = at;
	t->cache = cache;
	free(a);
	free(tmp);
	*out = t;
	return FL_OK;
}

const uint32_t *hub_view_index_tri(const hub_view_index *ix, const char *t, uint32_t *n)
{
	*n = 0;
	const hub_view_tri *tr = ix->tri;
	uint32_t c = tri_code(t), lo = 0, hi = tr->n_keys;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (tr->keys[mid] < c)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == tr->n_keys || tr->keys[lo] != c)
		return NULL;
	*n = tr->off[lo + 1] - tr->off[lo];
	return tr->post + tr->off[lo];
}

hub_view_search_cache *hub_view_index_search_cache(const hub_view_index *ix)
{
	return ix->tri->cache;
}

const char *hub_view_index_name(const hub_view_index *ix, uint32_t j)
{
	return ix->tri->text + ix->tri->at[j];
}

uint32_t hub_view_index_scan(const hub_view_index *ix, const char *sub, uint32_t *hits)
{
	const char *text = ix->tri->text, *p = text, *end = text + ix->tri->at[ix->n_nodes];
	const uint32_t *at = ix->tri->at;
	size_t len = strlen(sub);
	uint32_t m = 0, j = 0;
	while (len > 0 && (size_t)(end - p) >= len &&
	       (p = memchr(p, sub[0], (size_t)(end - p - (ptrdiff_t)len + 1))) != NULL) {
		if (memcmp(p, sub, len) != 0) {
			p++;
			continue;
		}
		/* The node whose name holds p: the last j with at[j] <= p - text (binary search from j on). */
		uint32_t off = (uint32_t)(p - text), lo = j, hi = ix->n_nodes;
		while (hi - lo > 1) {
			uint32_t mid = lo + (hi - lo) / 2;
			if (at[mid] <= off)
				lo = mid;
			else
				hi = mid;
		}
		hits[m++] = lo;
		j = lo + 1;
		p = text + at[j]; /* one hit per node: on to the next name */
	}
	return m;
}

/* --- the index ------------------------------------------------------------------------------------- */

/* Fills by_key[key]: nodes by class, then (key, node index); pairs and tmp have room for n. */
static void order_by_key(hub_view_index *ix, hub_view_node *const *nodes, int key, kv *pairs, kv *tmp, uint32_t *next,
                         uint32_t *dst)
{
	uint32_t n = ix->n_nodes;
	for (uint32_t j = 0; j < n; j++)
		pairs[j] = (kv){ordered_bits(hub_view_index_key(nodes[j], key)), j};
	const kv *s = radix_sort(pairs, tmp, n, 0, 8);
	memcpy(next, ix->cls_off, (size_t)ix->n_classes * sizeof(*next));
	for (uint32_t i = 0; i < n; i++) /* a stable pass by class over the key order */
		dst[next[ix->cls_of[s[i].v]]++] = s[i].v;
	ix->by_key[key] = dst;
}

int hub_view_index_build(hub_view_node *const *nodes, uint32_t n, const hub_view_snap *prev, hub_view_index **out,
                         size_t *bytes)
{
	*out = NULL;
	*bytes = 0;
	if (n == 0)
		return FL_OK;
	uint32_t *cls_of = malloc((size_t)n * sizeof(*cls_of)), *rep = malloc((size_t)n * sizeof(*rep));
	uint32_t nc = cls_of != NULL && rep != NULL ? classify(nodes, n, cls_of, rep) : 0;
	/* One block: the record, cls_of, cls_off, cls_rep, by_class, by_key[3]. */
	size_t own = sizeof(hub_view_index) + ((size_t)n * (2 + HUB_IX_N_KEYS) + 2 * (size_t)nc + 1) * sizeof(uint32_t);
	hub_view_index *ix = nc > 0 ? malloc(own) : NULL;
	kv *pairs = malloc((size_t)n * sizeof(*pairs)), *tmp = malloc((size_t)n * sizeof(*tmp));
	uint32_t *next = malloc(((size_t)nc + 1) * sizeof(*next));
	int rv = FL_ENOMEM;
	if (ix == NULL || pairs == NULL || tmp == NULL || next == NULL)
		goto out;
	memset(ix, 0, sizeof(*ix));
	uint32_t *p = (uint32_t *)(ix + 1), *off = p + n, *reps = off + nc + 1, *by_class = reps + nc;
	memcpy(p, cls_of, (size_t)n * sizeof(*p));
	memcpy(reps, rep, (size_t)nc * sizeof(*reps));
	ix->n_nodes = n;
	ix->n_classes = nc;
	ix->cls_of = p;
	ix->cls_off = off;
	ix->cls_rep = reps;
	ix->own_bytes = own;
	memset(off, 0, ((size_t)nc + 1) * sizeof(*off));
	for (uint32_t j = 0; j < n; j++)
		off[p[j] + 1]++;
	for (uint32_t c = 0; c < nc; c++)
		off[c + 1] += off[c];
	memcpy(next, off, (size_t)nc * sizeof(*next));
	for (uint32_t j = 0; j < n; j++)
		by_class[next[p[j]]++] = j;
	ix->by_class = by_class;
	for (int k = 0; k < HUB_IX_N_KEYS; k++)
		order_by_key(ix, nodes, k, pairs, tmp, next, by_class + (size_t)n * (1 + (size_t)k));
	*bytes = own;
	if (same_names(nodes, n, prev)) {
		ix->tri = prev->ix->tri;
		atomic_fetch_add(&ix->tri->refs, 1);
	} else if (tri_build(nodes, n, &ix->tri) != FL_OK) {
		goto out;
	} else {
		*bytes += ix->tri->bytes;
	}
	*out = ix;
	ix = NULL;
	rv = FL_OK;
out:
	free(ix);
	free(cls_of);
	free(rep);
	free(pairs);
	free(tmp);
	free(next);
	if (rv != FL_OK)
		*bytes = 0;
	return rv;
}

size_t hub_view_index_bytes(const hub_view_index *ix)
{
	return ix == NULL ? 0 : ix->own_bytes + (ix->tri != NULL ? ix->tri->bytes : 0);
}

size_t hub_view_index_free(hub_view_index *ix)
{
	if (ix == NULL)
		return 0;
	size_t freed = ix->own_bytes;
	if (ix->tri != NULL && atomic_fetch_sub(&ix->tri->refs, 1) == 1) {
		freed += ix->tri->bytes;
		hub_view_search_cache_free(ix->tri->cache);
		free(ix->tri);
	}
	free(ix);
	return freed;
}
