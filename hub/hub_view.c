/* hub_view.c — per-cluster immutable snapshots of the hub's data, swapped under a short lock. Node queries
 * over them are hub_view_query.c's; each snapshot's indexes are built here (hub_view_index.c) when the
 * snapshot is finished, before it is published. */
#include "hub_view.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl_log.h"
#include "fl_time.h"
#include "hub_json.h"
#include "hub_streams.h"
#include "hub_view_index.h"

typedef struct hub_view_slot {
	pthread_mutex_t mu;       /* guards snap: held only to take a reference or swap the pointer */
	pthread_mutex_t write_mu; /* serializes writers of this cluster; guards everything below snap */
	hub_view_snap *snap;      /* the slot's reference */
	_Atomic uint32_t n_nodes; /* snap->n_nodes, stored with the pointer: read without the mutex */
	_Atomic int64_t last_frame_ms;
	hub_streams streams; /* the last applied (seq, sent) of each recent spoke stream (heard_ms = sent) */
	bool any;            /* a version has been recorded */
	char newest_spoke[FL_CLUSTER_LEN]; /* stream of the newest applied frame */
	int64_t newest_sent_ms;
	char name[FL_CLUSTER_LEN]; /* the slot's cluster; immutable once the slot is in an order */
} hub_view_slot;

/* The slots known at one moment, ordered by name. Immutable once published; replaced (not freed) when a
 * slot is added: retired orders are freed with the view (at most one per slot ever added). */
typedef struct view_order {
	struct view_order *prev; /* the order this one replaced */
	size_t n;                /* slots 0..n-1 */
	size_t by_name[];        /* n slot indexes */
} view_order;

struct hub_view {
	hub_view_slot *slots;        /* HUB_MAX_CLUSTERS, allocated at once: never moved */
	_Atomic(view_order *) order; /* the current order; never NULL */
	atomic_size_t bytes;
};

/* --- node records -------------------------------------------------------------------------------- */

static void node_release(hub_view *v, hub_view_node *n)
{
	if (n != NULL && atomic_fetch_sub(&n->refs, 1) == 1) {
		atomic_fetch_sub(&v->bytes, n->bytes);
		free(n);
	}
}

/* Packs strings behind a node record; offset 0 is the empty string. */
typedef struct text_w {
	char *buf;
	uint32_t len;
} text_w;

static uint32_t put_s(text_w *w, const char *s)
{
	if (s[0] == '\0')
		return 0;
	uint32_t off = w->len;
	size_t n = strlen(s) + 1;
	memcpy(w->buf + off, s, n);
	w->len += (uint32_t)n;
	return off;
}

/* Where a GPU's figures come from: the frame (f) or the node's previous record (o of on). */
typedef struct gpu_src {
	const fl_proto_gpu *f;
	const hub_view_gpu *o;
} gpu_src;

/* A node's strings in the order a record stores them: name, ip, gpu_name, status, kubelet_version,
 * os_image, kernel_version, container_runtime. */
#define NODE_STRS 8

/* The fields of the node a record is built from, read from the frame's node fn or, when fn is NULL, from
 * the previous record on: one place that knows which of the two it is. */
typedef struct node_src {
	const fl_proto_node *fn;
	const hub_view_node *on;
	const char *s[NODE_STRS];
	uint32_t n_taints;
	int64_t gpu_count, gpu_allocation, cpu_millis, memory_bytes;
	double gpu_utilization; /* NaN when none */
	bool unschedulable, faulty;
} node_src;

static void node_src_init(node_src *src, const fl_proto_node *fn, const hub_view_node *on)
{
	src->fn = fn;
	src->on = on;
	if (fn != NULL) {
		const char *f[NODE_STRS] = {fn->name,
		                            fn->ip,
		                            fn->gpu_name,
		                            fn->status,
		                            fn->kubelet_version,
		                            fn->os_image,
		                            fn->kernel_version,
		                            fn->container_runtime};
		memcpy(src->s, f, sizeof(src->s));
		src->n_taints = fn->n_taints;
		src->gpu_count = fn->gpu_count;
		src->gpu_allocation = fn->gpu_allocation;
		src->gpu_utilization = fn->has_utilization ? fn->gpu_utilization : NAN;
		src->cpu_millis = fn->cpu_millis;
		src->memory_bytes = fn->memory_bytes;
		src->unschedulable = fn->unschedulable;
		src->faulty = fn->faulty;
		return;
	}
	const uint32_t o[NODE_STRS] = {on->name,
	                               on->ip,
	                               on->gpu_name,
	                               on->status,
	                               on->kubelet_version,
	                               on->os_image,
	                               on->kernel_version,
	                               on->container_runtime};
	for (int k = 0; k < NODE_STRS; k++)
		src->s[k] = hub_view_str(on, o[k]);
	src->n_taints = on->n_taints;
	src->gpu_count = on->gpu_count;
	src->gpu_allocation = on->gpu_allocation;
	src->gpu_utilization = on->gpu_utilization;
	src->cpu_millis = on->cpu_millis;
	src->memory_bytes = on->memory_bytes;
	src->unschedulable = on->unschedulable;
	src->faulty = on->faulty;
}

/* Taint t's key, value and effect. */
static void taint_strs(const node_src *src, uint32_t t, const char *out[3])
{
	if (src->fn != NULL) {
		out[0] = src->fn->taints[t].key;
		out[1] = src->fn->taints[t].value;
		out[2] = src->fn->taints[t].effect;
	} else {
		const hub_view_taint *ot = &src->on->taints[t];
		out[0] = hub_view_str(src->on, ot->key);
		out[1] = hub_view_str(src->on, ot->value);
		out[2] = hub_view_str(src->on, ot->effect);
	}
}

/* GPU g's model and serial (entries with o point into on). */
static void gpu_strs(const hub_view_node *on, const gpu_src *g, const char **model, const char **serial)
{
	*model = g->f != NULL ? g->f->gpu_model : hub_view_str(on, g->o->model);
	*serial = g->f != NULL ? g->f->serial : hub_view_str(on, g->o->serial);
}

/* Upper bound of a record's text without its row; GPU models equal to the node's gpu_name are not written
 * again, so the record usually needs less. */
static size_t node_text_bound(const node_src *src, const gpu_src *gs, uint32_t ng)
{
	const char *ts[3], *model, *serial;
	size_t text = 1;

	for (int k = 0; k < NODE_STRS; k++)
		text += strlen(src->s[k]) + 1;
	for (uint32_t t = 0; t < src->n_taints; t++) {
		taint_strs(src, t, ts);
		text += strlen(ts[0]) + strlen(ts[1]) + strlen(ts[2]) + 3;
	}
	for (uint32_t g = 0; g < ng; g++) {
		gpu_strs(src->on, &gs[g], &model, &serial);
		text += strlen(model) + strlen(serial) + 2;
	}
	return text;
}

/* The node's row of GET /v1/nodes up to the cluster name's value, written once per record: the hot route
 * copies it instead of formatting numbers and escaping strings per request. NULL if out of memory. */
static char *node_row(const node_src *src, size_t *row_len)
{
	hub_json rj;

	hub_json_init(&rj, HUB_VIEW_MAX_ROW);
	hub_json_raw(&rj, "{\"name\":");
	hub_json_str(&rj, src->s[0]);
	hub_json_raw(&rj, ",\"ip\":");
	hub_json_str(&rj, src->s[1]);
	hub_json_raw(&rj, ",\"gpu_name\":");
	hub_json_str(&rj, src->s[2]);
	hub_json_raw(&rj, ",\"gpu_count\":");
	hub_json_int(&rj, src->gpu_count);
	hub_json_raw(&rj, ",\"gpu_allocation\":");
	hub_json_int(&rj, src->gpu_allocation);
	hub_json_raw(&rj, ",\"gpu_utilization\":");
	hub_json_real(&rj, src->gpu_utilization);
	hub_json_raw(&rj, ",\"status\":");
	hub_json_str(&rj, src->s[3]);
	hub_json_raw(&rj, ",\"cluster_name\":");
	return hub_json_take(&rj, row_len);
}

/* Writes GPU g into d: figures from the frame or a copy of the previous record's, the model written
 * once per run of equal models (or shared with the node's gpu_name), the serial always. */
static void gpu_put(text_w *w, const hub_view_node *on, const gpu_src *g, hub_view_gpu *d, uint32_t gpu_name_off,
                    const char *gpu_name, const char **prev_model, uint32_t *prev_off)
{
	const char *model, *serial;

	if (g->f != NULL) {
		d->gpu_id = g->f->gpu_id;
		d->numa = g->f->numa;
		d->memory_mib = g->f->memory_mib;
		d->utilization = g->f->has_utilization ? g->f->utilization : NAN;
		d->temperature = g->f->temperature;
		d->power = g->f->power;
	} else {
		*d = *g->o;
	}
	gpu_strs(on, g, &model, &serial);
	if (strcmp(model, gpu_name) == 0)
		d->model = gpu_name_off;
	else if (*prev_model != NULL && strcmp(model, *prev_model) == 0)
		d->model = *prev_off;
	else
		d->model = put_s(w, model);
	*prev_model = model;
	*prev_off = d->model;
	d->serial = put_s(w, serial);
}

/* A node record from fn (the frame's node) or, when fn is NULL, from on's fields, with the GPUs gs
 * (ng, ordered by gpu_id; entries with o point into on). One block: the record, its GPUs, its taints and
 * its text. NULL if out of memory. */
static hub_view_node *node_build(hub_view *v, const fl_proto_node *fn, const hub_view_node *on, const gpu_src *gs,
                                 uint32_t ng)
{
	node_src src;
	node_src_init(&src, fn, on);
	uint32_t nt = src.n_taints;
	size_t text = node_text_bound(&src, gs, ng);
	size_t row_len = 0;
	char *row = node_row(&src, &row_len);
	if (row == NULL)
		return NULL;
	text += row_len + 1;
	size_t fixed = sizeof(hub_view_node) + (size_t)ng * sizeof(hub_view_gpu) + (size_t)nt * sizeof(hub_view_taint);
	hub_view_node *n = fixed + text <= UINT32_MAX ? malloc(fixed + text) : NULL;
	if (n == NULL) {
		free(row);
		return NULL;
	}
	hub_view_gpu *gpus = (hub_view_gpu *)(n + 1);
	hub_view_taint *taints = (hub_view_taint *)(gpus + ng);
	char *tb = (char *)(taints + nt);
	text_w w = {tb, 1};
	tb[0] = '\0';

	uint32_t *const str_off[NODE_STRS] = {&n->name,
	                                      &n->ip,
	                                      &n->gpu_name,
	                                      &n->status,
	                                      &n->kubelet_version,
	                                      &n->os_image,
	                                      &n->kernel_version,
	                                      &n->container_runtime};
	for (int k = 0; k < NODE_STRS; k++)
		*str_off[k] = put_s(&w, src.s[k]);
	n->row = put_s(&w, row);
	n->row_len = (uint32_t)row_len;
	free(row);
	for (uint32_t t = 0; t < nt; t++) {
		const char *ts[3];
		taint_strs(&src, t, ts);
		taints[t].key = put_s(&w, ts[0]);
		taints[t].value = put_s(&w, ts[1]);
		taints[t].effect = put_s(&w, ts[2]);
	}
	const char *prev_model = NULL;
	uint32_t prev_off = 0;
	for (uint32_t g = 0; g < ng; g++)
		gpu_put(&w, on, &gs[g], &gpus[g], n->gpu_name, src.s[2], &prev_model, &prev_off);
	n->gpu_count = src.gpu_count;
	n->gpu_allocation = src.gpu_allocation;
	n->gpu_utilization = src.gpu_utilization;
	n->cpu_millis = src.cpu_millis;
	n->memory_bytes = src.memory_bytes;
	n->unschedulable = src.unschedulable;
	n->faulty = src.faulty;
	n->n_gpus = ng;
	n->n_taints = nt;
	size_t size = fixed + w.len;
	hub_view_node *shrunk = realloc(n, size); /* give back what model sharing saved */
	if (shrunk != NULL)
		n = shrunk;
	n->gpus = (const hub_view_gpu *)(n + 1);
	n->taints = (const hub_view_taint *)(n->gpus + ng);
	n->text = (const char *)(n->taints + nt);
	n->bytes = (uint32_t)size;
	atomic_init(&n->refs, 1);
	atomic_fetch_add(&v->bytes, size);
	return n;
}

/* --- snapshots ----------------------------------------------------------------------------------- */

static hub_view_snap *snap_new(hub_view *v, size_t i, uint32_t cap)
{
	hub_view_snap *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	if (cap > 0 && (s->nodes = malloc((size_t)cap * sizeof(*s->nodes))) == NULL) {
		free(s);
		return NULL;
	}
	atomic_init(&s->refs, 1);
	s->rows_gen = -1;
	s->view = v;
	s->cluster = i;
	s->name = v->slots[i].name;
	atomic_fetch_add(&v->bytes, sizeof(*s) + (size_t)cap * sizeof(*s->nodes));
	return s;
}

static void snap_free(hub_view_snap *s, uint32_t cap)
{
	for (uint32_t k = 0; k < s->n_nodes; k++)
		node_release(s->view, s->nodes[k]);
	atomic_fetch_sub(&s->view->bytes,
	                 sizeof(*s) + (size_t)cap * sizeof(*s->nodes) + s->overview_len + hub_view_index_free(s->ix));
	free(s->nodes);
	free(s->overview_text);
	free(s);
}

/* Writes s->overview_text once s's overview and overview_ms are final (see hub_view_snap). FL_OK or
 * FL_ENOMEM. */
static int snap_overview_text(hub_view_snap *s)
{
	if (!s->has_overview)
		return FL_OK;
	char when[40] = "";
	if (s->overview_ms > 0)
		fl_format_time(s->overview_ms, when, sizeof(when));
	json_t *o = fl_proto_overview_to_json(&s->overview);
	if (o == NULL || json_object_set_new(o, "updatedAt", when[0] ? json_string(when) : json_null()) != 0 ||
	    json_object_set_new(o, "cluster", json_string(s->name)) != 0 ||
	    (s->overview_text = json_dumps(o, JSON_COMPACT)) == NULL) {
		json_decref(o);
		return FL_ENOMEM;
	}
	json_decref(o);
	s->overview_len = strlen(s->overview_text) - 1; /* without the closing brace */
	atomic_fetch_add(&s->view->bytes, s->overview_len);
	return FL_OK;
}

void hub_view_release(hub_view_snap *s)
{
	if (s != NULL && atomic_fetch_sub(&s->refs, 1) == 1)
		snap_free(s, s->n_nodes);
}

/* Shrinks the node array to n_nodes (so snap_free's accounting matches), sums the GPU counts and builds
 * the node indexes (sharing prev's name trigrams when its names are the same). FL_OK or FL_ENOMEM. */
static int snap_finish(hub_view_snap *s, uint32_t cap, const hub_view_snap *prev)
{
	if (s->n_nodes < cap) {
		atomic_fetch_sub(&s->view->bytes, (size_t)(cap - s->n_nodes) * sizeof(*s->nodes));
		if (s->n_nodes == 0) {
			free(s->nodes);
			s->nodes = NULL;
		} else {
			hub_view_node **n = realloc(s->nodes, (size_t)s->n_nodes * sizeof(*n));
			if (n != NULL)
				s->nodes = n;
		}
	}
	for (uint32_t k = 0; k < s->n_nodes; k++) {
		s->n_gpus += s->nodes[k]->n_gpus;
		for (uint32_t g = 0; g < s->nodes[k]->n_gpus; g++)
			s->n_gpus_util += !isnan(s->nodes[k]->gpus[g].utilization);
	}
	size_t bytes = 0;
	int rv = hub_view_index_build(s->nodes, s->n_nodes, prev, &s->ix, &bytes);
	atomic_fetch_add(&s->view->bytes, bytes);
	return rv;
}

static int cmp_name_ptr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

hub_view_node *hub_view_snap_find(const hub_view_snap *s, const char *name)
{
	size_t lo = 0, hi = s->n_nodes;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(hub_view_str(s->nodes[mid], s->nodes[mid]->name), name);
		if (c == 0)
			return s->nodes[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static bool same_str(const hub_view_node *n, uint32_t off, const char *s)
{
	return strcmp(hub_view_str(n, off), s) == 0;
}

bool hub_view_node_facts_equal(const hub_view_node *n, const fl_proto_node *f)
{
	if (!same_str(n, n->ip, f->ip) || !same_str(n, n->gpu_name, f->gpu_name) || n->gpu_count != f->gpu_count ||
	    n->gpu_allocation != f->gpu_allocation || !same_str(n, n->status, f->status) ||
	    n->unschedulable != f->unschedulable || n->faulty != f->faulty || n->cpu_millis != f->cpu_millis ||
	    n->memory_bytes != f->memory_bytes || !same_str(n, n->kubelet_version, f->kubelet_version) ||
	    !same_str(n, n->os_image, f->os_image) || !same_str(n, n->kernel_version, f->kernel_version) ||
	    !same_str(n, n->container_runtime, f->container_runtime) || n->n_taints != f->n_taints)
		return false;
	for (uint32_t t = 0; t < n->n_taints; t++)
		if (!same_str(n, n->taints[t].key, f->taints[t].key) ||
		    !same_str(n, n->taints[t].value, f->taints[t].value) ||
		    !same_str(n, n->taints[t].effect, f->taints[t].effect))
			return false;
	return true;
}

bool hub_view_gpu_facts_equal(const hub_view_node *n, const fl_proto_gpu *g)
{
	size_t lo = 0, hi = n->n_gpus;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const hub_view_gpu *d = &n->gpus[mid];
		if (d->gpu_id == g->gpu_id)
			return d->memory_mib == g->memory_mib && d->numa == g->numa &&
			       same_str(n, d->model, g->gpu_model) && same_str(n, d->serial, g->serial);
		if (d->gpu_id < g->gpu_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* f's nodes and GPUs as pointer arrays ordered by name and by (node, gpu_id), repeats dropped. */
typedef struct frame_ix {
	const fl_proto_node **nodes;
	uint32_t n_nodes;
	const fl_proto_gpu **gpus;
	uint32_t n_gpus;
	gpu_src *scratch; /* room for one node's GPUs */
} frame_ix;

static void ix_free(frame_ix *x)
{
	free(x->nodes);
	free(x->gpus);
	free(x->scratch);
}

static int ix_build(const fl_proto_frame *f, uint32_t max_old_gpus, frame_ix *x)
{
	memset(x, 0, sizeof(*x));
	x->nodes = malloc(((size_t)f->n_nodes + 1) * sizeof(*x->nodes));
	x->gpus = malloc(((size_t)f->n_gpus + 1) * sizeof(*x->gpus));
	x->scratch = malloc(((size_t)f->n_gpus + max_old_gpus + 1) * sizeof(*x->scratch));
	if (x->nodes == NULL || x->gpus == NULL || x->scratch == NULL) {
		ix_free(x);
		return FL_ENOMEM;
	}
	for (uint32_t k = 0; k < f->n_nodes; k++)
		x->nodes[k] = &f->nodes[k];
	for (uint32_t k = 0; k < f->n_gpus; k++)
		x->gpus[k] = &f->gpus[k];
	qsort(x->nodes, f->n_nodes, sizeof(*x->nodes), fl_proto_node_ptr_cmp);
	qsort(x->gpus, f->n_gpus, sizeof(*x->gpus), fl_proto_gpu_ptr_cmp);
	for (uint32_t k = 0; k < f->n_nodes; k++)
		if (x->n_nodes == 0 || fl_proto_node_ptr_cmp(&x->nodes[x->n_nodes - 1], &x->nodes[k]) != 0)
			x->nodes[x->n_nodes++] = x->nodes[k];
	for (uint32_t k = 0; k < f->n_gpus; k++)
		if (x->n_gpus == 0 || fl_proto_gpu_ptr_cmp(&x->gpus[x->n_gpus - 1], &x->gpus[k]) != 0)
			x->gpus[x->n_gpus++] = x->gpus[k];
	return FL_OK;
}

/* The GPUs of one node: the old record's (unless replace) merged by gpu_id with the frame's gpus[a..b). */
static uint32_t merge_gpus(const hub_view_node *on, bool replace, const fl_proto_gpu *const *fg, uint32_t nf,
                           gpu_src *out)
{
	uint32_t no = on != NULL && !replace ? on->n_gpus : 0, i = 0, j = 0, n = 0;
	while (i < no || j < nf) {
		if (j == nf || (i < no && on->gpus[i].gpu_id < fg[j]->gpu_id)) {
			out[n++] = (gpu_src){NULL, &on->gpus[i++]};
		} else {
			if (i < no && on->gpus[i].gpu_id == fg[j]->gpu_id)
				i++;
			out[n++] = (gpu_src){fg[j++], NULL};
		}
	}
	return n;
}

/* The new node records a frame brings, ordered by name: for each node named in f's nodes or GPUs,
 * built from the frame's node (or the old record's fields, delta only) and GPUs. */
static int build_changes(hub_view *v, const hub_view_snap *old, bool full, const frame_ix *x, hub_view_node ***out,
                         uint32_t *n_out)
{
	hub_view_node **ch = malloc(((size_t)x->n_nodes + x->n_gpus + 1) * sizeof(*ch));
	if (ch == NULL)
		return FL_ENOMEM;
	uint32_t n = 0, i = 0, j = 0;
	while (i < x->n_nodes || j < x->n_gpus) {
		const char *name = i < x->n_nodes ? x->nodes[i]->name : x->gpus[j]->node;
		if (j < x->n_gpus && strcmp(x->gpus[j]->node, name) < 0)
			name = x->gpus[j]->node;
		const fl_proto_node *fn = i < x->n_nodes && strcmp(x->nodes[i]->name, name) == 0 ? x->nodes[i++] : NULL;
		uint32_t a = j;
		while (j < x->n_gpus && strcmp(x->gpus[j]->node, name) == 0)
			j++;
		const hub_view_node *on = full || old == NULL ? NULL : hub_view_snap_find(old, name);
		if (fn == NULL && on == NULL)
			continue; /* GPUs of a node the cluster does not have */
		uint32_t ng = merge_gpus(on, full, x->gpus + a, j - a, x->scratch);
		hub_view_node *nn = node_build(v, fn, on, x->scratch, ng);
		if (nn == NULL) {
			while (n > 0)
				node_release(v, ch[--n]);
			free(ch);
			return FL_ENOMEM;
		}
		ch[n++] = nn;
	}
	*out = ch;
	*n_out = n;
	return FL_OK;
}

static bool is_removed(const char *const *removed, uint32_t n_removed, const char *name)
{
	return n_removed > 0 && bsearch(&name, removed, n_removed, sizeof(*removed), cmp_name_ptr) != NULL;
}

/* The snapshot after frame f (full or delta) over old. NULL if out of memory. */
static hub_view_snap *snap_after(hub_view *v, size_t i, const hub_view_snap *old, const fl_proto_frame *f)
{
	bool full = f->env.kind == FL_FRAME_FULL;
	uint32_t max_old_gpus = 0;
	for (uint32_t k = 0; !full && k < old->n_nodes; k++)
		if (old->nodes[k]->n_gpus > max_old_gpus)
			max_old_gpus = old->nodes[k]->n_gpus;
	frame_ix x;
	if (ix_build(f, max_old_gpus, &x) != FL_OK)
		return NULL;
	hub_view_node **ch = NULL;
	uint32_t n_ch = 0;
	const char **removed = NULL;
	hub_view_snap *s = NULL;
	if (build_changes(v, old, full, &x, &ch, &n_ch) != FL_OK)
		goto out;
	uint32_t n_removed = full ? 0 : f->n_removed_nodes;
	if (n_removed > 0) {
		if ((removed = malloc(n_removed * sizeof(*removed))) == NULL)
			goto out;
		for (uint32_t k = 0; k < n_removed; k++)
			removed[k] = f->removed_nodes[k].name;
		qsort(removed, n_removed, sizeof(*removed), cmp_name_ptr);
	}
	uint32_t n_old = full ? 0 : old->n_nodes;
	uint32_t cap = n_old + n_ch;
	if ((s = snap_new(v, i, cap)) == NULL)
		goto out;
	/* Merge the old records (kept by reference) with the new ones (which win), minus removed_nodes. */
	uint32_t a = 0, b = 0;
	while (a < n_old || b < n_ch) {
		int c = a == n_old  ? 1
		        : b == n_ch ? -1
		                    : strcmp(hub_view_str(old->nodes[a], old->nodes[a]->name),
		                             hub_view_str(ch[b], ch[b]->name));
		hub_view_node *pick;
		if (c < 0) {
			pick = old->nodes[a++];
			atomic_fetch_add(&pick->refs, 1);
		} else {
			if (c == 0)
				a++;
			pick = ch[b];
			ch[b++] = NULL; /* the snapshot owns it now */
		}
		if (is_removed(removed, n_removed, hub_view_str(pick, pick->name)))
			node_release(v, pick);
		else
			s->nodes[s->n_nodes++] = pick;
	}
	s->has_overview = f->has_overview || old->has_overview;
	s->overview = f->has_overview ? f->overview : old->overview;
	s->overview_ms = old->overview_ms;
	s->has_facts = f->has_facts || old->has_facts;
	s->facts = f->has_facts ? f->facts : old->facts;
	if (snap_finish(s, cap, old) != FL_OK) {
		hub_view_release(s);
		s = NULL;
	}
out:
	for (uint32_t k = 0; ch != NULL && k < n_ch; k++)
		node_release(v, ch[k]);
	free(ch);
	free(removed);
	ix_free(&x);
	return s;
}

/* --- the view ------------------------------------------------------------------------------------ */

/* Sets up slot i (named name) with an empty snapshot. FL_OK or FL_ENOMEM. */
static int slot_init(hub_view *v, size_t i, const char *name)
{
	hub_view_slot *sl = &v->slots[i];
	snprintf(sl->name, sizeof(sl->name), "%s", name);
	if ((sl->snap = snap_new(v, i, 0)) == NULL)
		return FL_ENOMEM;
	pthread_mutex_init(&sl->mu, NULL);
	pthread_mutex_init(&sl->write_mu, NULL);
	atomic_init(&sl->last_frame_ms, 0);
	hub_streams_init(&sl->streams, HUB_VIEW_MAX_SPOKES);
	return FL_OK;
}

/* Publishes an order of n slots: prev's with slot n-1 inserted by name (prev NULL: slot 0 alone). */
static int order_grow(hub_view *v, view_order *prev, size_t n)
{
	view_order *o = malloc(sizeof(*o) + n * sizeof(o->by_name[0]));
	if (o == NULL)
		return FL_ENOMEM;
	o->prev = prev;
	o->n = n;
	size_t k = 0, add = n - 1;
	for (size_t j = 0;
	     prev != NULL && j < prev->n && strcmp(v->slots[prev->by_name[j]].name, v->slots[add].name) < 0; j++)
		o->by_name[k++] = prev->by_name[j];
	o->by_name[k] = add;
	for (size_t j = k; prev != NULL && j < prev->n; j++)
		o->by_name[j + 1] = prev->by_name[j];
	atomic_store(&v->order, o);
	return FL_OK;
}

int hub_view_add(hub_view *v, size_t i, const char *name)
{
	view_order *o = atomic_load(&v->order);
	if (i < o->n) /* added by a reload that then failed: the same name may take it, no other */
		return strcmp(v->slots[i].name, name) == 0 ? FL_OK : FL_EINVAL;
	if (i != o->n || i >= HUB_MAX_CLUSTERS)
		return FL_EINVAL;
	int rv = slot_init(v, i, name);
	if (rv == FL_OK && (rv = order_grow(v, o, i + 1)) != FL_OK) {
		hub_view_release(v->slots[i].snap);
		pthread_mutex_destroy(&v->slots[i].mu);
		pthread_mutex_destroy(&v->slots[i].write_mu);
	}
	return rv;
}

int hub_view_new(const hub_config *cfg, hub_view **out)
{
	*out = NULL;
	hub_view *v = calloc(1, sizeof(*v));
	view_order *empty = calloc(1, sizeof(*empty));
	if (v == NULL || empty == NULL || (v->slots = calloc(HUB_MAX_CLUSTERS, sizeof(*v->slots))) == NULL) {
		free(empty);
		free(v);
		return FL_ENOMEM;
	}
	atomic_init(&v->order, empty);
	for (size_t i = 0; i < cfg->n_clusters; i++) {
		if (hub_view_add(v, i, cfg->clusters[i].name) != FL_OK) {
			hub_view_free(v);
			return FL_ENOMEM;
		}
	}
	*out = v;
	return FL_OK;
}

void hub_view_free(hub_view *v)
{
	if (v == NULL)
		return;
	view_order *o = atomic_load(&v->order);
	for (size_t i = 0; i < o->n; i++) {
		hub_view_release(v->slots[i].snap);
		pthread_mutex_destroy(&v->slots[i].mu);
		pthread_mutex_destroy(&v->slots[i].write_mu);
	}
	while (o != NULL) {
		view_order *prev = o->prev;
		free(o);
		o = prev;
	}
	free(v->slots);
	free(v);
}

size_t hub_view_count(const hub_view *v)
{
	return atomic_load(&v->order)->n;
}

const char *hub_view_name(const hub_view *v, size_t i)
{
	return v->slots[i].name;
}

int hub_view_find(const hub_view *v, const char *name)
{
	const view_order *o = atomic_load(&v->order);
	size_t lo = 0, hi = o->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(v->slots[o->by_name[mid]].name, name);
		if (c == 0)
			return (int)o->by_name[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

const size_t *hub_view_order(const hub_view *v, size_t *n)
{
	const view_order *o = atomic_load(&v->order);
	*n = o->n;
	return o->by_name;
}

const size_t *hub_view_by_name(const hub_view *v)
{
	return atomic_load(&v->order)->by_name;
}

hub_view_snap *hub_view_get(hub_view *v, size_t i)
{
	hub_view_slot *sl = &v->slots[i];
	pthread_mutex_lock(&sl->mu);
	hub_view_snap *s = sl->snap;
	atomic_fetch_add(&s->refs, 1);
	pthread_mutex_unlock(&sl->mu);
	return s;
}

int64_t hub_view_last_frame_ms(const hub_view *v, size_t i)
{
	return atomic_load(&v->slots[i].last_frame_ms);
}

uint32_t hub_view_node_count(const hub_view *v, size_t i)
{
	return atomic_load(&v->slots[i].n_nodes);
}

size_t hub_view_bytes(const hub_view *v)
{
	return atomic_load(&v->bytes);
}

/* Makes s the slot's snapshot and drops the slot's reference to the old one. Caller holds write_mu. */
static void publish(hub_view_slot *sl, hub_view_snap *s)
{
	pthread_mutex_lock(&sl->mu);
	hub_view_snap *old = sl->snap;
	sl->snap = s;
	atomic_store(&sl->n_nodes, s->n_nodes);
	pthread_mutex_unlock(&sl->mu);
	hub_view_release(old);
}

static void raise_last_frame(hub_view_slot *sl, int64_t ms)
{
	int64_t cur = atomic_load(&sl->last_frame_ms);
	while (ms > cur && !atomic_compare_exchange_weak(&sl->last_frame_ms, &cur, ms))
		;
}

/* True when env is older than what the slot applied (see hub_view_apply). Caller holds write_mu. */
static bool is_older(hub_view_slot *sl, const fl_proto_envelope *env)
{
	const hub_stream *st = hub_streams_find(&sl->streams, env->spoke_id);
	if (st != NULL && env->seq <= st->seq)
		return true;
	return sl->any && strcmp(sl->newest_spoke, env->spoke_id) != 0 && env->sent_at_ms < sl->newest_sent_ms;
}

/* Records env as applied. With every entry in use, the stream heard from longest ago is forgotten. */
static void record_version(hub_view_slot *sl, const char *spoke_id, uint64_t seq, int64_t sent_ms)
{
	bool added;
	hub_stream *st = hub_streams_put(&sl->streams, spoke_id, sent_ms, &added);
	st->heard_ms = sent_ms; /* as sent: a stream's older frame applied later is what it was last heard at */
	st->seq = seq;
	st->sent_ms = sent_ms;
	bool same = sl->any && strcmp(sl->newest_spoke, spoke_id) == 0;
	if (!sl->any || same || sent_ms >= sl->newest_sent_ms) {
		if (!same || sent_ms > sl->newest_sent_ms)
			sl->newest_sent_ms = sent_ms;
		snprintf(sl->newest_spoke, sizeof(sl->newest_spoke), "%s", spoke_id);
		sl->any = true;
	}
}

int hub_view_apply(hub_view *v, const fl_proto_frame *f, int64_t recv_ms, int64_t rows_gen)
{
	if (v == NULL)
		return FL_OK;
	int i = hub_view_find(v, f->env.cluster);
	if (i < 0)
		return FL_ENOTFOUND;
	hub_view_slot *sl = &v->slots[i];
	pthread_mutex_lock(&sl->write_mu);
	raise_last_frame(sl, recv_ms);
	int rv = FL_OK;
	if (is_older(sl, &f->env)) {
		rv = HUB_VIEW_OLDER;
	} else if (f->env.kind == FL_FRAME_FULL || f->env.kind == FL_FRAME_DELTA) {
		hub_view_snap *s = snap_after(v, (size_t)i, sl->snap, f);
		if (s != NULL && f->has_overview)
			s->overview_ms = recv_ms;
		/* A full frame's rows are the cluster's whole set: the view then holds what the database holds
		 * whatever it held before, so the chain of generations may start again there. */
		bool chained = f->env.kind == FL_FRAME_FULL || sl->snap->rows_gen == rows_gen - 1;
		if (s != NULL)
			s->rows_gen = rows_gen > 0 && chained ? rows_gen : -1;
		if (s != NULL && snap_overview_text(s) != FL_OK) {
			hub_view_release(s);
			s = NULL;
		}
		if (s == NULL) {
			rv = FL_ENOMEM;
			fl_warn(
			    "view: out of memory applying seq %llu of cluster %s: the API shows older rows until the "
			    "next full frame",
			    (unsigned long long)f->env.seq, f->env.cluster);
		} else {
			publish(sl, s);
		}
	}
	if (rv == FL_OK)
		record_version(sl, f->env.spoke_id, f->env.seq, f->env.sent_at_ms);
	pthread_mutex_unlock(&sl->write_mu);
	return rv;
}

/* Cluster i's rows, overview and facts replaced by f's (as stored; f->env.kind ignored), published.
 * Caller holds the slot's write_mu. FL_OK or FL_ENOMEM (nothing changed). */
static int replace_locked(hub_view *v, size_t i, const fl_proto_frame *f, int64_t overview_ms, int64_t rows_gen)
{
	hub_view_slot *sl = &v->slots[i];
	fl_proto_frame full = *f;
	full.env.kind = FL_FRAME_FULL;
	hub_view_snap *s = snap_after(v, i, sl->snap, &full);
	if (s == NULL)
		return FL_ENOMEM;
	s->overview_ms = f->has_overview ? overview_ms : 0;
	s->has_overview = f->has_overview;
	s->has_facts = f->has_facts;
	s->rows_gen = rows_gen;
	if (snap_overview_text(s) != FL_OK) {
		hub_view_release(s);
		return FL_ENOMEM;
	}
	publish(sl, s);
	return FL_OK;
}

int hub_view_load(hub_view *v, size_t i, const fl_proto_frame *f, int64_t last_frame_ms, int64_t overview_ms,
                  int64_t rows_gen)
{
	hub_view_slot *sl = &v->slots[i];
	pthread_mutex_lock(&sl->write_mu);
	int rv = replace_locked(v, i, f, overview_ms, rows_gen);
	if (rv == FL_OK) {
		atomic_store(&sl->last_frame_ms, last_frame_ms);
		if (f->env.spoke_id[0] != '\0')
			record_version(sl, f->env.spoke_id, f->env.seq, f->env.sent_at_ms);
	}
	pthread_mutex_unlock(&sl->write_mu);
	return rv;
}

int hub_view_refresh(hub_view *v, size_t i, const fl_proto_frame *f, int64_t last_frame_ms, int64_t overview_ms,
                     int64_t rows_gen)
{
	hub_view_slot *sl = &v->slots[i];
	pthread_mutex_lock(&sl->write_mu);
	raise_last_frame(sl, last_frame_ms);
	int rv = HUB_VIEW_OLDER; /* nothing stored yet, or this view shows that frame or a newer one already */
	if (f->env.spoke_id[0] != '\0' && !is_older(sl, &f->env) &&
	    (rv = replace_locked(v, i, f, overview_ms, rows_gen)) == FL_OK)
		record_version(sl, f->env.spoke_id, f->env.seq, f->env.sent_at_ms);
	pthread_mutex_unlock(&sl->write_mu);
	return rv;
}

void hub_view_touch(hub_view *v, size_t i, int64_t last_frame_ms)
{
	raise_last_frame(&v->slots[i], last_frame_ms);
}

void hub_view_clear(hub_view *v, size_t i)
{
	hub_view_slot *sl = &v->slots[i];
	hub_view_snap *empty = snap_new(v, i, 0);
	pthread_mutex_lock(&sl->write_mu);
	if (empty != NULL)
		publish(sl, empty);
	atomic_store(&sl->last_frame_ms, 0);
	hub_streams_init(&sl->streams, HUB_VIEW_MAX_SPOKES);
	sl->any = false;
	sl->newest_spoke[0] = '\0';
	sl->newest_sent_ms = 0;
	pthread_mutex_unlock(&sl->write_mu);
}
