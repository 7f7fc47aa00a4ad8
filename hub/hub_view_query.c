/* hub_view_query.c — GET /v1/nodes: finds, orders and pages a query's nodes from the snapshots' indexes.
 *
 * Why per cluster: a frame changes one cluster, so each snapshot carries its own indexes, built with it
 * (hub_view_index.h; 5,000 nodes take well under a millisecond per order) and never patched; a global index
 * would have to be patched under every frame and could not stay consistent with the snapshots a reader
 * holds. A query merges the selected clusters at read time:
 *
 * - Counting: the status, gpu_name (exact or substring) and gpu_only filters read only a node's class
 *   (status, gpu_name, gpu_count > 0), so each is decided once per class and the total is a sum of class
 *   sizes. A name substring is the cluster's search answer (hub_view_search.h: trigram lists, and a cache
 *   of recent answers kept with the names), of which the nodes of kept classes count.
 * - Ordering: a class's slice of an order array is already sorted for that order, so every cluster
 *   contributes a few sorted runs (its kept classes; or its whole name order when no class is left out)
 *   and a heap merges them by (key, cluster rank by name, node index): exactly the documented order, with
 *   desc reading every run from its far end. Only page_num * page_size rows are taken from the heap; in
 *   the default order whole clusters before the page are skipped by their counts. Name matches make one
 *   run in name order, or, for the other orders, a run sorted on the spot when few (64 or fewer), else the
 *   answer's bitmap over the class runs of the order array (skipping non-matches as the merge reads).
 * The default page without filters never takes the snapshots it does not show (query_default_page). */
#include "hub_view.h"

#include <stdlib.h>
#include <string.h>

#include "hub_view_index.h"
#include "hub_view_search.h"

/* The default order without filters, from the clusters' node counts: only the clusters the page covers
 * have their snapshot taken, not every cluster's (with 100 clusters that was most of a page's cost in
 * locks and reference counts, and the tail latency of threads preempted holding a cluster's mutex).
 * A count is that of the cluster's snapshot current at the moment it is read (publish stores both under
 * the mutex); when a snapshot taken for the page holds another count (a frame landed meanwhile), its
 * count replaces the one read and the page is worked out again. So the rows and the total agree as if
 * every cluster's snapshot had been taken, one cluster at a time. */
static int query_default_page(hub_view *v, const hub_node_query *q, hub_node_page *out)
{
	size_t nc;
	const size_t *by_name = hub_view_order(v, &nc);
	struct pick {
		size_t i;
		uint64_t count;
		hub_view_snap *snap;
	} *p = calloc(nc + 1, sizeof(*p));
	out->snaps = calloc(nc + 1, sizeof(*out->snaps));
	if (p == NULL || out->snaps == NULL) {
		free(p);
		free(out->snaps);
		out->snaps = NULL;
		return FL_ENOMEM;
	}
	size_t n_sel = 0;
	for (size_t k = 0; k < nc; k++) {
		size_t i = by_name[k];
		if (q->clusters[i])
			p[n_sel++] = (struct pick){.i = i, .count = hub_view_node_count(v, i)};
	}
	uint64_t total, lo, n;
	for (bool again = true; again;) {
		again = false;
		total = 0;
		for (size_t k = 0; k < n_sel; k++)
			total += p[k].count;
		uint64_t start = (uint64_t)(q->page_num - 1) * (uint64_t)q->page_size;
		n = start >= total ? 0
		                   : (total - start < (uint64_t)q->page_size ? total - start : (uint64_t)q->page_size);
		/* Positions [lo, lo + n) of the ascending order hold the page (reversed when desc). */
		lo = n == 0 ? 0 : q->desc ? total - start - n : start;
		uint64_t pos = 0;
		for (size_t k = 0; k < n_sel && pos < lo + n && !again; pos += p[k].count, k++) {
			if (pos + p[k].count <= lo || p[k].snap != NULL)
				continue;
			out->snaps[out->n_snaps++] = p[k].snap = hub_view_get(v, p[k].i);
			again = p[k].snap->n_nodes != p[k].count;
			p[k].count = p[k].snap->n_nodes;
		}
	}
	if ((out->rows = malloc(((size_t)n + 1) * sizeof(*out->rows))) == NULL) {
		free(p);
		hub_node_page_free(out);
		return FL_ENOMEM;
	}
	uint64_t pos = 0;
	for (size_t k = 0; k < n_sel && pos < lo + n; pos += p[k].count, k++) {
		for (uint64_t j = pos < lo ? lo - pos : 0; j < p[k].count && pos + j < lo + n; j++) {
			uint64_t at = q->desc ? n - 1 - (pos + j - lo) : pos + j - lo;
			out->rows[at] = (hub_node_row){
			    .snap = p[k].snap, .node = p[k].snap->nodes[j], .pos = (uint64_t)k << 32 | j};
		}
	}
	out->total = (size_t)total;
	out->n_rows = (size_t)n;
	free(p);
	return FL_OK;
}

/* --- filters --------------------------------------------------------------------------------------- */

static bool has_name_filter(const hub_node_query *q)
{
	return q->name != NULL && q->name[0] != '\0';
}

static bool has_class_filter(const hub_node_query *q)
{
	return q->gpu_only || (q->gpu_name != NULL && q->gpu_name[0] != '\0') || q->n_statuses > 0;
}

/* The status, gpu_name and gpu_only filters on node n (what its class decides). */
static bool class_matches(const hub_view_node *n, const hub_node_query *q)
{
	if (q->gpu_only && n->gpu_count <= 0)
		return false;
	if (q->gpu_name != NULL && q->gpu_name[0] != '\0' &&
	    (q->gpu_name_substring ? strstr(hub_view_str(n, n->gpu_name), q->gpu_name) == NULL
	                           : strcmp(hub_view_str(n, n->gpu_name), q->gpu_name) != 0))
		return false;
	if (q->n_statuses == 0)
		return true;
	for (size_t k = 0; k < q->n_statuses; k++)
		if (strcmp(hub_view_str(n, n->status), q->statuses[k]) == 0)
			return true;
	return false;
}

/* One selected cluster's part of a query. */
typedef struct part {
	const hub_view_snap *snap;
	const hub_view_index *ix;   /* NULL: no nodes */
	uint32_t rank;              /* among the selected clusters by name */
	bool *cls_ok;               /* n_classes: the classes the filters keep; NULL: every class */
	const hub_view_hits *found; /* name search: the cluster's answer, held until part_free */
	const uint32_t *hits;       /* name search: matching nodes of kept classes (n_hits), ascending unless
	                             * sorted for the order; found's own list, or own_hits; NULL without one */
	uint32_t n_hits;
	uint32_t *own_hits; /* hits when some class is left out, or when sorted for the order */
	size_t count;       /* matching nodes */
	bool in_page;       /* contributes runs to the page */
} part;

static void part_free(part *p)
{
	free(p->cls_ok);
	hub_view_hits_release(p->found);
	free(p->own_hits);
}

static bool kept(const part *p, uint32_t j)
{
	return p->cls_ok == NULL || p->cls_ok[p->ix->cls_of[j]];
}

/* p->hits: the nodes of kept classes whose name holds q->name, from the cluster's search answer (the whole
 * answer when every class is kept). FL_OK or FL_ENOMEM. */
static int name_search(part *p, const hub_node_query *q)
{
	if (hub_view_search(p->ix, q->name, &p->found) != FL_OK)
		return FL_ENOMEM;
	if (p->cls_ok == NULL) {
		p->hits = p->found->nodes;
		p->n_hits = p->found->n;
		return FL_OK;
	}
	if ((p->own_hits = malloc(((size_t)p->found->n + 1) * sizeof(*p->own_hits))) == NULL)
		return FL_ENOMEM;
	for (uint32_t k = 0; k < p->found->n; k++)
		if (kept(p, p->found->nodes[k]))
			p->own_hits[p->n_hits++] = p->found->nodes[k];
	p->hits = p->own_hits;
	return FL_OK;
}

/* Decides p's classes and name matches, and counts its matching nodes. FL_OK or FL_ENOMEM. */
static int part_prepare(part *p, const hub_node_query *q)
{
	const hub_view_index *ix = p->ix;
	if (ix == NULL)
		return FL_OK;
	p->count = ix->n_nodes;
	if (has_class_filter(q)) {
		if ((p->cls_ok = malloc(ix->n_classes * sizeof(*p->cls_ok))) == NULL)
			return FL_ENOMEM;
		p->count = 0;
		for (uint32_t c = 0; c < ix->n_classes; c++) {
			const hub_view_node *rep = p->snap->nodes[ix->cls_rep[c]];
			if ((p->cls_ok[c] = class_matches(rep, q)))
				p->count += ix->cls_off[c + 1] - ix->cls_off[c];
		}
		if (p->count == ix->n_nodes) { /* every class kept: as if unfiltered */
			free(p->cls_ok);
			p->cls_ok = NULL;
		}
	}
	if (has_name_filter(q) && p->count > 0) {
		if (name_search(p, q) != FL_OK)
			return FL_ENOMEM;
		p->count = p->n_hits;
	}
	return FL_OK;
}

/* --- the merge ------------------------------------------------------------------------------------- */

typedef struct order_ctx {
	hub_node_order order;
	int key;  /* HUB_IX_* for numeric orders, -1 otherwise */
	int sign; /* 1 ascending, -1 desc */
} order_ctx;

/* A sorted stretch of one cluster's nodes in the query's order, read from its near end (ascending) or
 * far end (desc). */
typedef struct run {
	const uint32_t *a;    /* node indexes; NULL: the indexes lo..hi-1 themselves */
	uint32_t lo, hi;      /* the positions not read yet */
	const uint64_t *keep; /* when set, only nodes whose bit is set */
	const part *p;
	uint32_t head;    /* the run's current node */
	double key;       /* its key (numeric orders) */
	const char *skey; /* its key (name and status orders) */
} run;

/* Moves r to its next node in the query's direction; false when none is left. */
static bool run_next(const order_ctx *o, run *r)
{
	for (;;) {
		if (r->lo >= r->hi)
			return false;
		uint32_t at = o->sign > 0 ? r->lo++ : --r->hi;
		uint32_t j = r->a != NULL ? r->a[at] : at;
		if (r->keep != NULL && (r->keep[j >> 6] >> (j & 63) & 1) == 0)
			continue;
		const hub_view_node *n = r->p->snap->nodes[j];
		r->head = j;
		if (o->key >= 0)
			r->key = hub_view_index_key(n, o->key);
		else if (o->order == HUB_ORDER_NAME)
			r->skey = hub_view_str(n, n->name);
		else if (o->order == HUB_ORDER_STATUS)
			r->skey = hub_view_str(n, n->status);
		return true;
	}
}

/* Which of two runs' current nodes comes first: negative x, positive y. */
static int run_cmp(const order_ctx *o, const run *x, const run *y)
{
	int c = 0;
	if (o->key >= 0)
		c = (x->key > y->key) - (x->key < y->key);
	else if (o->order != HUB_ORDER_CLUSTER_NAME)
		c = strcmp(x->skey, y->skey);
	if (c == 0)
		c = (x->p->rank > y->p->rank) - (x->p->rank < y->p->rank);
	if (c == 0)
		c = (x->head > y->head) - (x->head < y->head);
	return o->sign * c;
}

static void heap_down(const order_ctx *o, run **h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, best = i;
		if (l < n && run_cmp(o, h[l], h[best]) < 0)
			best = l;
		if (r < n && run_cmp(o, h[r], h[best]) < 0)
			best = r;
		if (best == i)
			return;
		run *t = h[i];
		h[i] = h[best];
		h[best] = t;
		i = best;
	}
}

/* A node and its sort key, for sorting a few name matches on the spot. */
typedef struct keyed {
	double key;
	const char *skey;
	uint32_t j;
} keyed;

static int cmp_keyed_num(const void *x, const void *y)
{
	const keyed *a = x, *b = y;
	int c = (a->key > b->key) - (a->key < b->key);
	return c != 0 ? c : (a->j > b->j) - (a->j < b->j);
}

static int cmp_keyed_text(const void *x, const void *y)
{
	const keyed *a = x, *b = y;
	int c = strcmp(a->skey, b->skey);
	return c != 0 ? c : (a->j > b->j) - (a->j < b->j);
}

/* Sorts p's name matches by (key, node index) for a key or status order. FL_OK or FL_ENOMEM. */
static int sort_hits(part *p, const order_ctx *o)
{
	keyed *k = malloc(((size_t)p->n_hits + 1) * sizeof(*k));
	if (k != NULL && p->own_hits == NULL &&
	    (p->own_hits = malloc(((size_t)p->n_hits + 1) * sizeof(*p->own_hits))) == NULL) {
		free(k);
		k = NULL;
	}
	if (k == NULL)
		return FL_ENOMEM;
	for (uint32_t i = 0; i < p->n_hits; i++) {
		const hub_view_node *n = p->snap->nodes[p->hits[i]];
		k[i] = (keyed){.j = p->hits[i]};
		if (o->key >= 0)
			k[i].key = hub_view_index_key(n, o->key);
		else
			k[i].skey = hub_view_str(n, n->status);
	}
	qsort(k, p->n_hits, sizeof(*k), o->key >= 0 ? cmp_keyed_num : cmp_keyed_text);
	for (uint32_t i = 0; i < p->n_hits; i++)
		p->own_hits[i] = k[i].j;
	p->hits = p->own_hits;
	free(k);
	return FL_OK;
}

/* Appends p's runs for order o to runs (room for max(1, n_classes)). FL_OK or FL_ENOMEM. */
static int part_runs(part *p, const order_ctx *o, run *runs, size_t *n_runs)
{
	const hub_view_index *ix = p->ix;
	bool by_index = o->order == HUB_ORDER_CLUSTER_NAME || o->order == HUB_ORDER_NAME;
	const uint32_t *arr = o->key >= 0 ? ix->by_key[o->key] : ix->by_class;
	const uint64_t *keep = NULL;
	if (p->hits != NULL) {
		if (by_index || p->n_hits <= 64) {
			if (!by_index && sort_hits(p, o) != FL_OK)
				return FL_ENOMEM;
			runs[(*n_runs)++] = (run){.a = p->hits, .hi = p->n_hits, .p = p};
			return FL_OK;
		}
		/* The kept classes' runs of the order array, skipping nodes whose name does not match: each run
		 * reads past non-matches only until the page is full, where sorting the matches would read every
		 * match's record. The runs leave out the other classes, so the whole answer's bitmap serves. */
		keep = p->found->bits;
	} else if (by_index && p->cls_ok == NULL) {
		runs[(*n_runs)++] = (run){.a = NULL, .hi = ix->n_nodes, .p = p}; /* the whole name order */
		return FL_OK;
	}
	for (uint32_t c = 0; c < ix->n_classes; c++)
		if (p->cls_ok == NULL || p->cls_ok[c])
			runs[(*n_runs)++] =
			    (run){.a = arr, .lo = ix->cls_off[c], .hi = ix->cls_off[c + 1], .keep = keep, .p = p};
	return FL_OK;
}

/* Marks the parts the page draws from. In the default order, whole clusters before the page (in the
 * query's direction) are passed over by their counts, which lowers *skip. */
static void pick_parts(part *parts, size_t np, const hub_node_query *q, size_t *skip, size_t n)
{
	if (q->order != HUB_ORDER_CLUSTER_NAME) {
		for (size_t k = 0; k < np; k++)
			parts[k].in_page = parts[k].count > 0;
		return;
	}
	size_t seen = 0;
	for (size_t i = 0; i < np && seen < *skip + n; i++) {
		part *p = &parts[q->desc ? np - 1 - i : i];
		if (p->count == 0)
			continue;
		if (seen == 0 && p->count <= *skip) {
			*skip -= p->count;
			continue;
		}
		p->in_page = true;
		seen += p->count;
	}
}

/* Fills rows with positions [start, start + n) of the query's order over parts. Returns the rows written
 * (n, unless out of memory: then (size_t)-1). */
static size_t page_rows(part *parts, size_t np, const hub_node_query *q, size_t start, size_t n, hub_node_row *rows)
{
	order_ctx o = {.order = q->order, .key = -1, .sign = q->desc ? -1 : 1};
	if (q->order == HUB_ORDER_GPU_COUNT)
		o.key = HUB_IX_GPU_COUNT;
	else if (q->order == HUB_ORDER_GPU_ALLOCATION)
		o.key = HUB_IX_GPU_ALLOCATION;
	else if (q->order == HUB_ORDER_GPU_UTILIZATION)
		o.key = HUB_IX_GPU_UTILIZATION;
	size_t skip = start, max_runs = 0;
	pick_parts(parts, np, q, &skip, n);
	for (size_t k = 0; k < np; k++)
		if (parts[k].in_page)
			max_runs += parts[k].ix->n_classes > 0 ? parts[k].ix->n_classes : 1;
	run *runs = malloc((max_runs + 1) * sizeof(*runs));
	run **heap = malloc((max_runs + 1) * sizeof(*heap));
	size_t n_runs = 0, hn = 0, got = (size_t)-1;
	if (runs == NULL || heap == NULL)
		goto out;
	for (size_t k = 0; k < np; k++)
		if (parts[k].in_page && part_runs(&parts[k], &o, runs, &n_runs) != FL_OK)
			goto out;
	for (size_t r = 0; r < n_runs; r++)
		if (run_next(&o, &runs[r]))
			heap[hn++] = &runs[r];
	for (size_t i = hn / 2; i-- > 0;)
		heap_down(&o, heap, hn, i);
	got = 0;
	for (size_t t = 0; t < skip + n && hn > 0; t++) {
		run *r = heap[0];
		if (t >= skip)
			rows[got++] = (hub_node_row){.snap = r->p->snap,
			                             .node = r->p->snap->nodes[r->head],
			                             .pos = (uint64_t)r->p->rank << 32 | r->head};
		if (!run_next(&o, r))
			heap[0] = heap[--hn];
		heap_down(&o, heap, hn, 0);
	}
out:
	free(runs);
	free(heap);
	return got;
}

int hub_view_query_nodes(hub_view *v, const hub_node_query *q, hub_node_page *out)
{
	memset(out, 0, sizeof(*out));
	if (q->order == HUB_ORDER_CLUSTER_NAME && !has_class_filter(q) && !has_name_filter(q))
		return query_default_page(v, q, out);
	size_t nc;
	const size_t *by_name = hub_view_order(v, &nc);
	part *parts = calloc(nc + 1, sizeof(*parts));
	out->snaps = calloc(nc + 1, sizeof(*out->snaps));
	int rv = FL_ENOMEM;
	if (parts == NULL || out->snaps == NULL)
		goto out;
	size_t total = 0;
	for (size_t k = 0; k < nc; k++) {
		if (!q->clusters[by_name[k]])
			continue;
		hub_view_snap *s = hub_view_get(v, by_name[k]);
		part *p = &parts[out->n_snaps];
		*p = (part){.snap = s, .ix = s->ix, .rank = (uint32_t)out->n_snaps};
		out->snaps[out->n_snaps++] = s;
		if (part_prepare(p, q) != FL_OK)
			goto out;
		total += p->count;
	}
	uint64_t start = (uint64_t)(q->page_num - 1) * (uint64_t)q->page_size;
	size_t n = start >= total
	               ? 0
	               : (size_t)(total - start < (uint64_t)q->page_size ? total - start : (uint64_t)q->page_size);
	if ((out->rows = malloc((n + 1) * sizeof(*out->rows))) == NULL)
		goto out;
	out->total = total;
	out->n_rows = n > 0 ? page_rows(parts, out->n_snaps, q, (size_t)start, n, out->rows) : 0;
	rv = out->n_rows == (size_t)-1 ? FL_ENOMEM : FL_OK;
out:
	for (size_t k = 0; parts != NULL && k < out->n_snaps; k++)
		part_free(&parts[k]);
	free(parts);
	if (rv != FL_OK)
		hub_node_page_free(out);
	return rv;
}

void hub_node_page_free(hub_node_page *p)
{
	for (size_t k = 0; k < p->n_snaps; k++)
		hub_view_release(p->snaps[k]);
	free(p->snaps);
	free(p->rows);
	memset(p, 0, sizeof(*p));
}

int hub_node_order_parse(const char *word, hub_node_order *out)
{
	static const char *const words[] = {[HUB_ORDER_CLUSTER_NAME] = "cluster_name",
	                                    [HUB_ORDER_NAME] = "name",
	                                    [HUB_ORDER_GPU_COUNT] = "gpu_count",
	                                    [HUB_ORDER_GPU_ALLOCATION] = "gpu_allocation",
	                                    [HUB_ORDER_GPU_UTILIZATION] = "gpu_utilization",
	                                    [HUB_ORDER_STATUS] = "status"};
	for (size_t k = 0; k < sizeof(words) / sizeof(words[0]); k++)
		if (strcmp(word, words[k]) == 0) {
			*out = (hub_node_order)k;
			return FL_OK;
		}
	return FL_EINVAL;
}
