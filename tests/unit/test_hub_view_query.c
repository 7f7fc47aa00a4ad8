/* Unit tests for hub/hub_view_query: node queries answered from the snapshots' indexes give exactly what a
 * plain scan gives (filter every node, sort by the documented order, cut the page) over many random frames
 * and queries, with fixed seeds. With FL_VIEW_BENCH=1 it also times each query shape over 100 clusters x
 * 5,000 nodes (500,000) and prints CPU microseconds per query (FL_VIEW_BENCH_ONLY=text: the shapes whose label
 * holds text). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "hub_view.h"

/* --- a small deterministic generator (xorshift64*) -------------------------------------------------- */

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 2685821657736338717ULL) >> 33) % n;
}

/* --- random frames ---------------------------------------------------------------------------------- */

static const char *const statuses[] = {"Ready", "NotReady", "Unknown"};
static const char *const products[] = {"", "NVIDIA H100 80GB HBM3", "NVIDIA A100-SXM4-80GB", "AMD Instinct MI300X"};
static const double utils[] = {-1, 0, 12.5, 50, 50, 99.5, 100};

/* A random node name: short ones, and many sharing substrings (few letters, repeated pieces). */
static void random_name(char *out, size_t size)
{
	static const char *const pieces[] = {"gpu-", "node", "-0", "01", "a", "b", "ab", "x", "1", "00", "-", "pu"};
	size_t len = 0;
	uint32_t n = 1 + rnd(rnd(4) == 0 ? 2 : 5);
	out[0] = '\0';
	for (uint32_t k = 0; k < n && len + 8 < size; k++)
		len += (size_t)snprintf(out + len, size - len, "%s", pieces[rnd(sizeof(pieces) / sizeof(pieces[0]))]);
}

static void random_node(fl_proto_node *n, const char *name)
{
	memset(n, 0, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "%s", name);
	snprintf(n->ip, sizeof(n->ip), "10.0.%u.%u", rnd(4), rnd(250));
	snprintf(n->gpu_name, sizeof(n->gpu_name), "%s", products[rnd(4)]);
	snprintf(n->status, sizeof(n->status), "%s", statuses[rnd(10) < 6 ? 0 : 1 + rnd(2)]);
	n->gpu_count = n->gpu_name[0] != '\0' || rnd(4) == 0 ? (int64_t)rnd(9) : 0;
	n->gpu_allocation = n->gpu_count > 0 ? (int64_t)rnd((uint32_t)n->gpu_count + 1) : 0;
	double u = utils[rnd(sizeof(utils) / sizeof(utils[0]))];
	n->has_utilization = u >= 0;
	n->gpu_utilization = n->has_utilization ? u : 0;
	n->cpu_millis = 1000;
	n->memory_bytes = 1 << 30;
}

/* Applies a random full or delta frame to cluster c (named cname). */
static void random_frame(hub_view *v, const char *cname, uint64_t seq)
{
	bool full = rnd(4) == 0;
	uint32_t n = full ? (rnd(8) == 0 ? 300 + rnd(1200) : rnd(60)) : rnd(rnd(5) == 0 ? 200 : 12);
	fl_proto_frame f;
	memset(&f, 0, sizeof(f));
	snprintf(f.env.cluster, sizeof(f.env.cluster), "%s", cname);
	snprintf(f.env.spoke_id, sizeof(f.env.spoke_id), "s");
	f.env.seq = seq;
	f.env.sent_at_ms = (int64_t)seq;
	f.env.kind = full ? FL_FRAME_FULL : FL_FRAME_DELTA;
	f.nodes = calloc(n + 1, sizeof(*f.nodes));
	f.n_nodes = n;
	for (uint32_t k = 0; k < n; k++) {
		char name[64];
		random_name(name, sizeof(name));
		random_node(&f.nodes[k], name);
	}
	if (!full && rnd(2) == 0) {
		hub_view_snap *s = hub_view_get(v, (size_t)hub_view_find(v, cname));
		uint32_t r = s->n_nodes > 0 ? rnd(4) : 0;
		f.removed_nodes = calloc(r + 1, sizeof(*f.removed_nodes));
		for (uint32_t k = 0; k < r; k++) {
			const hub_view_node *gone = s->nodes[rnd(s->n_nodes)];
			snprintf(f.removed_nodes[k].name, sizeof(f.removed_nodes[k].name), "%s",
			         rnd(5) == 0 ? "never-there" : hub_view_str(gone, gone->name));
		}
		f.n_removed_nodes = r;
		hub_view_release(s);
	}
	assert_int_equal(hub_view_apply(v, &f, (int64_t)seq, -1), FL_OK);
	fl_proto_frame_free(&f);
}

/* --- the reference: a plain scan ------------------------------------------------------------------- */

typedef struct ref_row {
	const hub_view_snap *snap;
	const hub_view_node *node;
	size_t rank; /* the cluster's rank among the selected clusters by name */
	uint32_t idx;
	hub_node_order order;
} ref_row;

static double num_key(const hub_view_node *n, hub_node_order o)
{
	switch (o) {
	case HUB_ORDER_GPU_COUNT: return (double)n->gpu_count;
	case HUB_ORDER_GPU_ALLOCATION: return (double)n->gpu_allocation;
	case HUB_ORDER_GPU_UTILIZATION: return isnan(n->gpu_utilization) ? -1.0 : n->gpu_utilization;
	default: return 0;
	}
}

/* The documented order: the key, then cluster name, then node name. */
static int ref_cmp(const void *a, const void *b)
{
	const ref_row *x = a, *y = b;
	int c = 0;
	switch (x->order) {
	case HUB_ORDER_CLUSTER_NAME: break;
	case HUB_ORDER_NAME:
		c = strcmp(hub_view_str(x->node, x->node->name), hub_view_str(y->node, y->node->name));
		break;
	case HUB_ORDER_STATUS:
		c = strcmp(hub_view_str(x->node, x->node->status), hub_view_str(y->node, y->node->status));
		break;
	default: {
		double p = num_key(x->node, x->order), q = num_key(y->node, y->order);
		c = (p > q) - (p < q);
	}
	}
	if (c == 0)
		c = strcmp(x->snap->name, y->snap->name);
	if (c == 0)
		c = strcmp(hub_view_str(x->node, x->node->name), hub_view_str(y->node, y->node->name));
	return c;
}

static bool ref_matches(const hub_view_node *n, const hub_node_query *q)
{
	const char *name = hub_view_str(n, n->name), *gpu = hub_view_str(n, n->gpu_name);
	if (q->gpu_only && n->gpu_count <= 0)
		return false;
	if (q->name != NULL && strstr(name, q->name) == NULL)
		return false;
	if (q->gpu_name != NULL && q->gpu_name[0] != '\0' &&
	    (q->gpu_name_substring ? strstr(gpu, q->gpu_name) == NULL : strcmp(gpu, q->gpu_name) != 0))
		return false;
	bool any = q->n_statuses == 0;
	for (size_t k = 0; k < q->n_statuses; k++)
		any = any || strcmp(hub_view_str(n, n->status), q->statuses[k]) == 0;
	return any;
}

/* Compares hub_view_query_nodes(q) with the plain scan; fails with the query's description otherwise. */
static void check_query(hub_view *v, const hub_node_query *q, const char *what)
{
	size_t nc = hub_view_count(v);
	const size_t *by_name = hub_view_by_name(v);
	hub_view_snap **snaps = calloc(nc + 1, sizeof(*snaps));
	size_t all = 0, n_snaps = 0;
	for (size_t k = 0; k < nc; k++)
		if (q->clusters[by_name[k]]) {
			snaps[n_snaps] = hub_view_get(v, by_name[k]);
			all += snaps[n_snaps++]->n_nodes;
		}
	ref_row *rows = calloc(all + 1, sizeof(*rows));
	size_t m = 0;
	for (size_t k = 0; k < n_snaps; k++)
		for (uint32_t j = 0; j < snaps[k]->n_nodes; j++)
			if (ref_matches(snaps[k]->nodes[j], q))
				rows[m++] = (ref_row){snaps[k], snaps[k]->nodes[j], k, j, q->order};
	qsort(rows, m, sizeof(*rows), ref_cmp);
	hub_node_page p;
	assert_int_equal(hub_view_query_nodes(v, q, &p), FL_OK);
	if (p.total != m)
		fail_msg("%s: total %zu, want %zu", what, p.total, m);
	size_t start = (size_t)(q->page_num - 1) * (size_t)q->page_size;
	size_t want_n = start >= m ? 0 : (m - start < (size_t)q->page_size ? m - start : (size_t)q->page_size);
	if (p.n_rows != want_n)
		fail_msg("%s: %zu rows, want %zu (total %zu)", what, p.n_rows, want_n, m);
	for (size_t k = 0; k < want_n; k++) {
		const ref_row *r = &rows[q->desc ? m - 1 - (start + k) : start + k];
		if (p.rows[k].node != r->node || p.rows[k].snap != r->snap ||
		    p.rows[k].pos != ((uint64_t)r->rank << 32 | r->idx))
			fail_msg("%s: row %zu is %s/%s, want %s/%s", what, k, p.rows[k].snap->name,
			         hub_view_str(p.rows[k].node, p.rows[k].node->name), r->snap->name,
			         hub_view_str(r->node, r->node->name));
	}
	hub_node_page_free(&p);
	for (size_t k = 0; k < n_snaps; k++)
		hub_view_release(snaps[k]);
	free(snaps);
	free(rows);
}

/* --- random queries --------------------------------------------------------------------------------- */

/* A random substring source: a piece of some node's name, or a few random characters. */
static void random_substring(hub_view *v, char *out, size_t size)
{
	static const char chars[] = "gpu-node01abx";
	uint32_t len = rnd(7);
	hub_view_snap *s = hub_view_get(v, rnd((uint32_t)hub_view_count(v)));
	if (s->n_nodes > 0 && rnd(3) != 0) {
		const hub_view_node *n = s->nodes[rnd(s->n_nodes)];
		const char *name = hub_view_str(n, n->name);
		size_t nl = strlen(name), at = nl > 0 ? rnd((uint32_t)nl) : 0;
		snprintf(out, size, "%.*s", (int)len, name + at);
	} else {
		for (uint32_t k = 0; k < len && k + 1 < size; k++)
			out[k] = chars[rnd(sizeof(chars) - 1)];
		out[len < size ? len : size - 1] = '\0';
	}
	hub_view_release(s);
}

static void random_query(hub_view *v, hub_node_query *q, bool *set, char *name, char *gpu, char *what, size_t wsize)
{
	size_t nc = hub_view_count(v);
	memset(q, 0, sizeof(*q));
	bool any = false;
	for (size_t i = 0; i < nc; i++)
		any |= set[i] = rnd(3) != 0;
	if (!any)
		set[rnd((uint32_t)nc)] = true;
	q->clusters = set;
	q->order = (hub_node_order)rnd(6);
	q->desc = rnd(2) == 0;
	if (rnd(2) == 0) {
		random_substring(v, name, 16);
		q->name = name;
	}
	if (rnd(3) == 0) {
		q->gpu_name_substring = rnd(2) == 0;
		if (q->gpu_name_substring) {
			static const char *const subs[] = {"NVIDIA", "A100", "H", "MI300X", "Z", ""};
			snprintf(gpu, 32, "%s", subs[rnd(6)]);
		} else {
			snprintf(gpu, 32, "%s", products[rnd(4)]);
		}
		q->gpu_name = gpu;
	}
	q->gpu_only = rnd(4) == 0;
	static const char *const asked[] = {"Ready", "NotReady", "Unknown", "Bogus"};
	q->n_statuses = rnd(3) == 0 ? 1 + rnd(3) : 0;
	for (size_t k = 0; k < q->n_statuses; k++)
		q->statuses[k] = asked[rnd(4)];
	static const int64_t sizes[] = {1, 2, 3, 7, 10, 50, 500};
	q->page_size = sizes[rnd(7)];
	q->page_num = 1 + (rnd(2) == 0 ? 0 : rnd(rnd(3) == 0 ? 400 : 8));
	snprintf(what, wsize, "order %d desc %d name '%s' gpu '%s'%s%s statuses %zu page %lld x %lld", (int)q->order,
	         (int)q->desc, q->name != NULL ? q->name : "(null)", q->gpu_name != NULL ? q->gpu_name : "(null)",
	         q->gpu_name_substring ? " (substring)" : "", q->gpu_only ? " gpu_only" : "", q->n_statuses,
	         (long long)q->page_num, (long long)q->page_size);
}

static hub_config rcfg;
static hub_cluster_conf rconfs[6];

static hub_view *random_view_new(void)
{
	memset(&rcfg, 0, sizeof(rcfg));
	memset(rconfs, 0, sizeof(rconfs));
	static const char *const names[] = {"zeta", "alpha", "mid", "beta", "omega", "kappa"}; /* not in name order */
	for (size_t i = 0; i < 6; i++)
		snprintf(rconfs[i].name, sizeof(rconfs[i].name), "%s", names[i]);
	rcfg.clusters = rconfs;
	rcfg.n_clusters = 6;
	hub_view *v;
	assert_int_equal(hub_view_new(&rcfg, &v), FL_OK);
	return v;
}

/* Many random frames over six clusters, and after each batch many random queries compared with the scan. */
static void test_indexed_answers_equal_a_plain_scan(void **state)
{
	(void)state;
	static const uint64_t seeds[] = {0x9e3779b97f4a7c15ULL, 42, 20240517};
	size_t queries = 0;
	for (size_t si = 0; si < sizeof(seeds) / sizeof(seeds[0]); si++) {
		rng_state = seeds[si];
		hub_view *v = random_view_new();
		uint64_t seq = 1;
		bool set[6];
		char name[16], gpu[32], what[256];
		hub_node_query q;
		for (int batch = 0; batch < 40; batch++) {
			for (int k = 0, nf = 1 + (int)rnd(6); k < nf; k++)
				random_frame(v, rconfs[rnd(6)].name, seq++);
			if (batch > 0) { /* the last query again, over new snapshots (a name search from the cache
				          * while the names stayed, computed again where they changed) */
				check_query(v, &q, what);
				queries++;
			}
			for (int k = 0; k < 60; k++) {
				random_query(v, &q, set, name, gpu, what, sizeof(what));
				check_query(v, &q, what);
				queries++;
				if (rnd(4) == 0) { /* at once again: the same name search from the cache */
					check_query(v, &q, what);
					queries++;
				}
			}
		}
		hub_view_free(v);
	}
	print_message("%zu random queries answered exactly as the scan\n", queries);
	assert_true(queries >= 7000);
}

/* Fixed cases around the edges: empty clusters, the empty name, past the end, short and missing trigrams. */
static void test_edge_queries_equal_a_plain_scan(void **state)
{
	(void)state;
	rng_state = 7;
	hub_view *v = random_view_new();
	bool set[6] = {true, true, true, true, true, true};
	static const char *const names[] = {"", "a", "ab", "gpu", "gpu-", "zzz", "node-0", "b-", "-0", "abab"};
	for (int r = 0; r < 3; r++) {
		for (size_t o = 0; o < 6; o++)
			for (int d = 0; d < 2; d++)
				for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
					for (int64_t page = 1; page <= 4; page++) {
						hub_node_query q = {.clusters = set,
						                    .name = names[k],
						                    .order = (hub_node_order)o,
						                    .desc = d,
						                    .page_num = page * page,
						                    .page_size = 3};
						char what[128];
						snprintf(what, sizeof(what),
						         "round %d order %zu desc %d name '%s' page %lld", r, o, d,
						         names[k], (long long)q.page_num);
						check_query(v, &q, what);
					}
		for (int k = 0; k < 8; k++)
			random_frame(v, rconfs[rnd(6)].name, (uint64_t)(100 * r + k + 1));
	}
	hub_view_free(v);
}

/* --- the benchmark (FL_VIEW_BENCH=1) --------------------------------------------------------------- */

/* CPU time of this thread: the machine may be shared, and wall time would count other processes. */
static double now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

/* One sim-like cluster of n nodes named gpu-00000.. with 8 GPUs each. */
/* Three products, one per cluster, a quarter of clusters mixing two (as fl-load-bench --variety). */
static const char *const bench_products[] = {"AMD Instinct MI300X", "NVIDIA H100 80GB HBM3", "AMD Instinct MI250X"};

static void bench_frame(fl_proto_frame *f, const char *cluster, uint32_t n, uint32_t c)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->env.cluster, sizeof(f->env.cluster), "%s", cluster);
	snprintf(f->env.spoke_id, sizeof(f->env.spoke_id), "s");
	f->env.seq = 1;
	f->env.sent_at_ms = 1;
	f->env.kind = FL_FRAME_FULL;
	f->nodes = calloc(n, sizeof(*f->nodes));
	f->gpus = calloc((size_t)n * 8, sizeof(*f->gpus));
	f->n_nodes = n;
	f->n_gpus = n * 8;
	for (uint32_t i = 0; i < n; i++) {
		fl_proto_node *d = &f->nodes[i];
		snprintf(d->name, sizeof(d->name), "node-%05u-c%03u", i, c); /* as fl-load-bench --variety names them */
		snprintf(d->ip, sizeof(d->ip), "10.%u.%u.%u", c, i / 250, i % 250);
		snprintf(d->gpu_name, sizeof(d->gpu_name), "%s", bench_products[(c + (c % 4 == 3 && i % 4 == 0)) % 3]);
		uint32_t h = (i * 2654435761u) ^ (c * 40503u);
		snprintf(d->status, sizeof(d->status), "%s",
		         h % 100 < 2   ? "NotReady"
		         : h % 100 < 3 ? "Unknown"
		                       : "Ready");
		d->gpu_count = 8;
		d->gpu_allocation = (h >> 8) % 9;
		d->has_utilization = (h >> 4) % 16 != 0;
		d->gpu_utilization = (double)((h >> 12) % 10000) / 100.0;
		d->cpu_millis = 192000;
		d->memory_bytes = 2LL << 40;
		snprintf(d->kubelet_version, sizeof(d->kubelet_version), "v1.29.3");
		snprintf(d->os_image, sizeof(d->os_image), "Ubuntu 22.04.4 LTS");
		snprintf(d->kernel_version, sizeof(d->kernel_version), "5.15.0-105-generic");
		snprintf(d->container_runtime, sizeof(d->container_runtime), "containerd://1.7.13");
		for (int g = 0; g < 8; g++) {
			fl_proto_gpu *x = &f->gpus[i * 8 + (uint32_t)g];
			snprintf(x->node, sizeof(x->node), "%s", d->name);
			x->gpu_id = g;
			snprintf(x->gpu_model, sizeof(x->gpu_model), "%s", d->gpu_name);
			x->memory_mib = 81920;
			x->has_utilization = true;
			x->utilization = g * 10.0;
			x->temperature = 40;
			x->power = 300;
			snprintf(x->serial, sizeof(x->serial), "SN-%u-%u-%d", c, i, g);
			x->numa = g / 4;
		}
	}
}

/* A benchmark as one linear script (build a big view, then time each query shape): long on purpose. */
static void test_bench_query_shapes(void **state)
{
	(void)state;
	const char *on = getenv("FL_VIEW_BENCH");
	if (on == NULL || strcmp(on, "1") != 0) {
		print_message("benchmark skipped (FL_VIEW_BENCH=1 runs it)\n");
		return;
	}
	enum { C = 100, N = 5000 };
	hub_config big;
	memset(&big, 0, sizeof(big));
	big.clusters = calloc(C, sizeof(*big.clusters));
	big.n_clusters = C;
	for (int c = 0; c < C; c++)
		snprintf(big.clusters[c].name, sizeof(big.clusters[c].name), "cluster-%03d", (c * 37) % C);
	hub_view *v;
	assert_int_equal(hub_view_new(&big, &v), FL_OK);
	size_t empty = hub_view_bytes(v);
	double apply_us = 0;
	for (int c = 0; c < C; c++) {
		fl_proto_frame f;
		bench_frame(&f, big.clusters[c].name, N, (uint32_t)c);
		double t0 = now_us();
		assert_int_equal(hub_view_apply(v, &f, 1, -1), FL_OK);
		apply_us += now_us() - t0;
		fl_proto_frame_free(&f);
	}
	print_message("bench: %d nodes, %.0f bytes per node, full frame of %d nodes applied in %.0f us\n", C * N,
	              (double)(hub_view_bytes(v) - empty) / (C * N), N, apply_us / C);
	bool *all = calloc(C, sizeof(bool));
	for (int c = 0; c < C; c++)
		all[c] = true;
	static const struct {
		const char *label;
		hub_node_order order;
		bool desc;
		const char *name, *gpu, *status;
		int64_t page;
	} shapes[] = {
	    {"default", HUB_ORDER_CLUSTER_NAME, false, NULL, NULL, NULL, 1},
	    {"order_by=name", HUB_ORDER_NAME, false, NULL, NULL, NULL, 1},
	    {"order_by=name desc", HUB_ORDER_NAME, true, NULL, NULL, NULL, 1},
	    {"order_by=gpu_count", HUB_ORDER_GPU_COUNT, false, NULL, NULL, NULL, 1},
	    {"order_by=gpu_count desc", HUB_ORDER_GPU_COUNT, true, NULL, NULL, NULL, 1},
	    {"order_by=gpu_allocation", HUB_ORDER_GPU_ALLOCATION, false, NULL, NULL, NULL, 1},
	    {"order_by=gpu_allocation desc", HUB_ORDER_GPU_ALLOCATION, true, NULL, NULL, NULL, 1},
	    {"order_by=gpu_utilization", HUB_ORDER_GPU_UTILIZATION, false, NULL, NULL, NULL, 1},
	    {"order_by=gpu_utilization desc", HUB_ORDER_GPU_UTILIZATION, true, NULL, NULL, NULL, 1},
	    {"order_by=status", HUB_ORDER_STATUS, false, NULL, NULL, NULL, 1},
	    {"order_by=status desc", HUB_ORDER_STATUS, true, NULL, NULL, NULL, 1},
	    {"status=NotReady", HUB_ORDER_CLUSTER_NAME, false, NULL, NULL, "NotReady", 1},
	    {"status=Ready", HUB_ORDER_CLUSTER_NAME, false, NULL, NULL, "Ready", 1},
	    {"gpu_name=AMD Instinct MI250X", HUB_ORDER_CLUSTER_NAME, false, NULL, "AMD Instinct MI250X", NULL, 1},
	    {"name=node-0001", HUB_ORDER_CLUSTER_NAME, false, "node-0001", NULL, NULL, 1},
	    {"name=node-04300-c050", HUB_ORDER_CLUSTER_NAME, false, "node-04300-c050", NULL, NULL, 1},
	    {"name=node (every node)", HUB_ORDER_CLUSTER_NAME, false, "node", NULL, NULL, 1},
	    {"name=node-00&gpu_name=MI250X&order_by=gpu_allocation", HUB_ORDER_GPU_ALLOCATION, false, "node-00",
	     "AMD Instinct MI250X", NULL, 1},
	    {"name=9 (short)", HUB_ORDER_CLUSTER_NAME, false, "9", NULL, NULL, 1},
	    {"status=NotReady&order_by=gpu_utilization desc", HUB_ORDER_GPU_UTILIZATION, true, NULL, NULL, "NotReady",
	     1},
	    {"name=node-0001&order_by=gpu_utilization desc", HUB_ORDER_GPU_UTILIZATION, true, "node-0001", NULL, NULL,
	     1},
	    {"order_by=gpu_utilization desc page 50", HUB_ORDER_GPU_UTILIZATION, true, NULL, NULL, NULL, 50},
	    {"default page 4000", HUB_ORDER_CLUSTER_NAME, false, NULL, NULL, NULL, 4000},
	};
	const char *only = getenv("FL_VIEW_BENCH_ONLY"); /* a piece of the labels to time; all when unset */
	for (size_t k = 0; k < sizeof(shapes) / sizeof(shapes[0]); k++) {
		if (only != NULL && strstr(shapes[k].label, only) == NULL)
			continue;
		hub_node_query q = {.clusters = all,
		                    .order = shapes[k].order,
		                    .desc = shapes[k].desc,
		                    .name = shapes[k].name,
		                    .gpu_name = shapes[k].gpu,
		                    .page_num = shapes[k].page,
		                    .page_size = 100};
		if (shapes[k].status != NULL) {
			q.statuses[0] = shapes[k].status;
			q.n_statuses = 1;
		}
		int reps = 0;
		double t0 = now_us(), t1 = t0, first = 0;
		size_t total = 0;
		while (reps < 3 || (t1 - t0 < 300000 && reps < 2000)) {
			hub_node_page p;
			assert_int_equal(hub_view_query_nodes(v, &q, &p), FL_OK);
			total = p.total;
			hub_node_page_free(&p);
			reps++;
			t1 = now_us();
			if (reps == 1)
				first = t1 -
				        t0; /* a name search's first time computes its answers; later ones reuse them */
		}
		print_message("bench: %-48s %9.1f us per query, first %9.1f us (total %zu)\n", shapes[k].label,
		              (t1 - t0) / reps, first, total);
	}
	free(all);
	hub_view_free(v);
	free(big.clusters);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_indexed_answers_equal_a_plain_scan),
	    cmocka_unit_test(test_edge_queries_equal_a_plain_scan),
	    cmocka_unit_test(test_bench_query_shapes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
