/* spoke_workload.c — GPU pods → top-level workloads, and workload status over time (spoke_workload.h). */
#include "spoke_workload.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One GPU pod of this cycle with what the frame needs of it. */
struct pod_item {
	const spoke_pod *p;
	spoke_owner top;
	int64_t request; /* GPUs requested, whatever the phase */
	bool ended;      /* Succeeded or Failed */
	double util;
	bool has_util;
};

static int link_cmp(const void *a, const void *b)
{
	return strcmp((*(const spoke_owner_link *const *)a)->uid, (*(const spoke_owner_link *const *)b)->uid);
}

static int node_cmp(const void *a, const void *b)
{
	return strcmp((*(const spoke_node *const *)a)->name, (*(const spoke_node *const *)b)->name);
}

static int pod_gpu_cmp(const void *a, const void *b)
{
	const spoke_pod_gpu *x = *(const spoke_pod_gpu *const *)a, *y = *(const spoke_pod_gpu *const *)b;
	int c = strcmp(x->ns, y->ns);
	return c != 0 ? c : strcmp(x->pod, y->pod);
}

static int item_cmp(const void *a, const void *b)
{
	const struct pod_item *x = a, *y = b;
	int c = strcmp(x->top.uid, y->top.uid);
	return c != 0 ? c : strcmp(x->p->uid, y->p->uid);
}

static int workload_cmp(const void *a, const void *b)
{
	return strcmp(((const fl_proto_workload *)a)->uid, ((const fl_proto_workload *)b)->uid);
}

/* Sorted views of the model that the per-pod lookups search. */
struct index {
	const spoke_owner_link **links;
	const spoke_node **nodes;
	const spoke_pod_gpu **pod_gpus;
};

static void index_free(struct index *x)
{
	free(x->links);
	free(x->nodes);
	free(x->pod_gpus);
}

/* Fills *out with n pointers to the items of arr (each sz bytes), sorted by cmp. NULL out for n == 0. */
static int sorted_view(const void *arr, uint32_t n, size_t sz, int (*cmp)(const void *, const void *), void *out)
{
	const void **v = NULL;
	if (n > 0) {
		if ((v = malloc((size_t)n * sizeof(*v))) == NULL) {
			return FL_ENOMEM;
		}
		for (uint32_t i = 0; i < n; i++) {
			v[i] = (const char *)arr + (size_t)i * sz;
		}
		qsort(v, n, sizeof(*v), cmp);
	}
	memcpy(out, &v, sizeof(v));
	return FL_OK;
}

static void resolve(const spoke_model *m, const struct index *x, const spoke_pod *p, spoke_owner *top)
{
	if (p->owner.uid[0] == '\0') {
		memset(top, 0, sizeof(*top));
		snprintf(top->kind, sizeof(top->kind), "Pod");
		snprintf(top->api_version, sizeof(top->api_version), "v1");
		snprintf(top->name, sizeof(top->name), "%s", p->name);
		snprintf(top->uid, sizeof(top->uid), "%s", p->uid);
		return;
	}
	*top = p->owner;
	for (int d = 0; d < SPOKE_OWNER_DEPTH && m->n_links > 0; d++) {
		spoke_owner_link key;
		const spoke_owner_link *kp = &key, **hit;
		snprintf(key.uid, sizeof(key.uid), "%s", top->uid);
		hit = bsearch(&kp, x->links, m->n_links, sizeof(*x->links), link_cmp);
		if (hit == NULL || (*hit)->owner.uid[0] == '\0') {
			break;
		}
		*top = (*hit)->owner;
	}
}

/* The pod's utilization: the mean of the GPUs an exporter attributes to it, else its node's mean. */
static void pod_util(const spoke_model *m, const spoke_overview_result *ov, const struct index *x, const spoke_pod *p,
                     double *util, bool *has)
{
	*has = false;
	if (m->n_pod_gpus > 0) {
		spoke_pod_gpu key;
		const spoke_pod_gpu *kp = &key, **hit;
		snprintf(key.ns, sizeof(key.ns), "%s", p->ns);
		snprintf(key.pod, sizeof(key.pod), "%s", p->name);
		hit = bsearch(&kp, x->pod_gpus, m->n_pod_gpus, sizeof(*x->pod_gpus), pod_gpu_cmp);
		if (hit != NULL) {
			while (hit > x->pod_gpus && pod_gpu_cmp(hit - 1, &kp) == 0) {
				hit--;
			}
			double sum = 0;
			uint32_t n = 0;
			for (; hit < x->pod_gpus + m->n_pod_gpus && pod_gpu_cmp(hit, &kp) == 0; hit++, n++) {
				sum += (*hit)->utilization;
			}
			*util = sum / n;
			*has = true;
			return;
		}
	}
	if (p->node_name[0] != '\0' && m->n_nodes > 0) {
		spoke_node key;
		const spoke_node *kp = &key, **hit;
		snprintf(key.name, sizeof(key.name), "%s", p->node_name);
		hit = bsearch(&kp, x->nodes, m->n_nodes, sizeof(*x->nodes), node_cmp);
		if (hit != NULL) {
			const spoke_node_result *r = &ov->nodes[*hit - m->nodes];
			*util = r->utilization;
			*has = r->has_utilization;
		}
	}
}

/* This cycle's figures for the group items[0..n) (one workload): status, counts, utilization. */
static void summarize(const struct pod_item *items, uint32_t n, int64_t now_ms, fl_proto_workload *w)
{
	int64_t live = 0, running = 0, request = 0, created = 0;
	double weighted = 0, weight = 0;
	bool succeeded = false;
	memset(w, 0, sizeof(*w));
	snprintf(w->uid, sizeof(w->uid), "%s", items[0].top.uid);
	snprintf(w->kind, sizeof(w->kind), "%s", items[0].top.kind);
	snprintf(w->api_version, sizeof(w->api_version), "%s", items[0].top.api_version);
	snprintf(w->ns, sizeof(w->ns), "%s", items[0].p->ns);
	snprintf(w->name, sizeof(w->name), "%s", items[0].top.name);
	for (uint32_t i = 0; i < n; i++) {
		const struct pod_item *it = &items[i];
		if (w->safe_workload_id[0] == '\0') { /* the first pod (by uid) that names one */
			snprintf(w->safe_workload_id, sizeof(w->safe_workload_id), "%s", it->p->safe_workload_id);
		}
		if (it->p->created_ms > 0 && (created == 0 || it->p->created_ms < created)) {
			created = it->p->created_ms;
		}
		if (it->ended) {
			succeeded |= strcmp(it->p->phase, "Succeeded") == 0;
			continue;
		}
		live++;
		request += it->request;
		if (strcmp(it->p->phase, "Running") == 0) {
			running++;
			if (it->has_util && it->request > 0) {
				weighted += it->util * (double)it->request;
				weight += (double)it->request;
			}
		}
	}
	w->pods = live;
	w->gpu_request = request;
	w->created_ms = created > 0 ? created : now_ms;
	if (weight > 0) {
		w->utilization = weighted / weight;
		w->has_utilization = true;
	}
	snprintf(w->status, sizeof(w->status), "%s",
	         running > 0 ? "Running"
	         : live > 0  ? "Pending"
	         : succeeded ? "Done"
	                     : "Failed");
	w->ended_ms = live > 0 ? 0 : now_ms;
}

static bool is_live(const fl_proto_workload *w)
{
	return strcmp(w->status, "Running") == 0 || strcmp(w->status, "Pending") == 0;
}

/* Builds t's next generation into *next (sorted by uid): this cycle's workloads, merged with what t
 * remembers, the vanished ones Deleted, the ones ended long ago dropped. */
static int next_generation(const spoke_workloads *t, const struct pod_item *items, uint32_t n_items, int64_t now_ms,
                           spoke_workloads *next)
{
	uint32_t cap = t->n + n_items + 1;
	bool *seen = calloc(t->n + 1, sizeof(bool));
	memset(next, 0, sizeof(*next));
	next->items = malloc((size_t)cap * sizeof(*next->items));
	if (seen == NULL || next->items == NULL) {
		free(seen);
		free(next->items);
		next->items = NULL;
		return FL_ENOMEM;
	}
	next->cap = cap;
	for (uint32_t i = 0; i < n_items;) {
		uint32_t j = i + 1;
		while (j < n_items && strcmp(items[j].top.uid, items[i].top.uid) == 0) {
			j++;
		}
		fl_proto_workload w;
		summarize(&items[i], j - i, now_ms, &w);
		const fl_proto_workload *old = t->n > 0 ? bsearch(&w, t->items, t->n, sizeof(*t->items), workload_cmp)
		                                        : NULL; /* items NULL at 0 */
		if (old != NULL) {
			seen[old - t->items] = true;
			if (old->created_ms > 0 && old->created_ms < w.created_ms) {
				w.created_ms = old->created_ms;
			}
			if (w.ended_ms != 0 && old->ended_ms != 0) {
				w.ended_ms = old->ended_ms; /* it ended earlier and its ended pods are still listed */
			}
			if (w.safe_workload_id[0] == '\0') {
				memcpy(w.safe_workload_id, old->safe_workload_id, sizeof(w.safe_workload_id));
			}
		}
		next->items[next->n++] = w;
		i = j;
	}
	for (uint32_t k = 0; k < t->n; k++) {
		fl_proto_workload w = t->items[k];
		if (seen[k]) {
			continue;
		}
		if (is_live(&w)) { /* every pod vanished without ending: deleted */
			snprintf(w.status, sizeof(w.status), "Deleted");
			w.ended_ms = now_ms;
			w.pods = 0;
			w.gpu_request = 0;
			w.has_utilization = false;
			w.utilization = 0;
		}
		if (w.ended_ms != 0 && now_ms - w.ended_ms > SPOKE_WORKLOAD_KEEP_MS) {
			continue;
		}
		next->items[next->n++] = w;
	}
	free(seen);
	qsort(next->items, next->n, sizeof(*next->items), workload_cmp);
	return FL_OK;
}

/* Collects m's GPU pods with their workload and utilization into a new array sorted by workload. */
static int collect_items(const spoke_model *m, const spoke_overview_rules *rules, const spoke_overview_result *ov,
                         struct pod_item **out, uint32_t *n_out)
{
	struct index x = {0};
	struct pod_item *items = NULL;
	uint32_t n = 0;
	int rv = FL_ENOMEM;
	*out = NULL;
	*n_out = 0;
	if (sorted_view(m->links, m->n_links, sizeof(*m->links), link_cmp, &x.links) != FL_OK ||
	    sorted_view(m->nodes, m->n_nodes, sizeof(*m->nodes), node_cmp, &x.nodes) != FL_OK ||
	    sorted_view(m->pod_gpus, m->n_pod_gpus, sizeof(*m->pod_gpus), pod_gpu_cmp, &x.pod_gpus) != FL_OK ||
	    (m->n_pods > 0 && (items = calloc(m->n_pods, sizeof(*items))) == NULL)) {
		goto out;
	}
	for (uint32_t i = 0; i < m->n_pods; i++) {
		const spoke_pod *p = &m->pods[i];
		int64_t request = spoke_overview_pod_request(p, rules);
		if (request <= 0 || p->uid[0] == '\0' || p->name[0] == '\0') {
			continue;
		}
		struct pod_item *it = &items[n++];
		it->p = p;
		it->request = request;
		it->ended = spoke_overview_pod_ended(p);
		resolve(m, &x, p, &it->top);
		pod_util(m, ov, &x, p, &it->util, &it->has_util);
	}
	if (n > 1) {
		qsort(items, n, sizeof(*items), item_cmp);
	}
	*out = items;
	*n_out = n;
	items = NULL;
	rv = FL_OK;
out:
	free(items);
	index_free(&x);
	return rv;
}

int spoke_workloads_fill(spoke_workloads *t, const spoke_model *m, const spoke_overview_rules *rules,
                         const spoke_overview_result *ov, int64_t now_ms, fl_proto_frame *f, char err[FL_ERR_LEN])
{
	struct pod_item *items = NULL;
	uint32_t n_items = 0, n_live = 0;
	spoke_workloads next;
	if (ov->n_nodes != m->n_nodes || f->n_pods != 0 || f->n_workloads != 0) {
		return fl_seterr(err, FL_EINVAL,
		                 "workloads: overview and model disagree, or the frame has pods already");
	}
	if (collect_items(m, rules, ov, &items, &n_items) != FL_OK ||
	    next_generation(t, items, n_items, now_ms, &next) != FL_OK) {
		free(items);
		return fl_seterr(err, FL_ENOMEM, "workloads: out of memory for %u pods", m->n_pods);
	}
	for (uint32_t i = 0; i < n_items; i++) {
		n_live += !items[i].ended;
	}
	/* Past the frame's limits the rest is left out (counted) rather than the whole frame refused. */
	uint32_t n_wl = next.n;
	if (n_live > FL_PROTO_MAX_PODS || n_wl > FL_PROTO_MAX_WORKLOADS) {
		t->left_out += (n_live > FL_PROTO_MAX_PODS ? n_live - FL_PROTO_MAX_PODS : 0) +
		               (n_wl > FL_PROTO_MAX_WORKLOADS ? n_wl - FL_PROTO_MAX_WORKLOADS : 0);
		n_live = n_live > FL_PROTO_MAX_PODS ? FL_PROTO_MAX_PODS : n_live;
		n_wl = n_wl > FL_PROTO_MAX_WORKLOADS ? FL_PROTO_MAX_WORKLOADS : n_wl;
	}
	fl_proto_pod *pods = n_live > 0 ? calloc(n_live, sizeof(*pods)) : NULL;
	fl_proto_workload *wl = n_wl > 0 ? malloc((size_t)n_wl * sizeof(*wl)) : NULL;
	if ((n_live > 0 && pods == NULL) || (n_wl > 0 && wl == NULL)) {
		free(pods);
		free(wl);
		free(items);
		spoke_workloads_free(&next);
		return fl_seterr(err, FL_ENOMEM, "workloads: out of memory for %u pods", m->n_pods);
	}
	uint32_t k = 0;
	for (uint32_t i = 0; i < n_items && k < n_live; i++) {
		const struct pod_item *it = &items[i];
		if (it->ended) {
			continue;
		}
		fl_proto_pod *o = &pods[k++];
		/* model and frame strings have the same field sizes, so nothing is cut */
		snprintf(o->uid, sizeof(o->uid), "%s", it->p->uid);
		snprintf(o->ns, sizeof(o->ns), "%s", it->p->ns);
		snprintf(o->name, sizeof(o->name), "%s", it->p->name);
		snprintf(o->node, sizeof(o->node), "%s", it->p->node_name);
		o->gpus = it->request;
		snprintf(o->phase, sizeof(o->phase), "%s", it->p->phase);
		o->running = strcmp(it->p->phase, "Running") == 0 && !it->p->terminating;
		snprintf(o->workload_uid, sizeof(o->workload_uid), "%s", it->top.uid);
		o->utilization = it->util;
		o->has_utilization = it->has_util && strcmp(it->p->phase, "Running") == 0;
		o->created_ms = it->p->created_ms;
	}
	if (n_wl > 0) {
		memcpy(wl, next.items, (size_t)n_wl * sizeof(*wl));
	}
	free(items);
	next.left_out = t->left_out;
	spoke_workloads_free(t);
	*t = next;
	f->pods = pods;
	f->n_pods = n_live;
	f->workloads = wl;
	f->n_workloads = n_wl;
	return FL_OK;
}

void spoke_workloads_free(spoke_workloads *t)
{
	if (t == NULL) {
		return;
	}
	free(t->items);
	t->items = NULL;
	t->n = t->cap = 0;
}
