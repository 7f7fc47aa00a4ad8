/* spoke_delta.c — changed nodes, their GPUs and removed names, from two sets of node rows. */
#include "spoke_delta.h"

#include <stdlib.h>
#include <string.h>

static int by_name(const void *a, const void *b)
{
	return strcmp(((const fl_proto_node *)a)->name, ((const fl_proto_node *)b)->name);
}

static void rows_free(fl_proto_node *rows, uint32_t n)
{
	for (uint32_t i = 0; rows != NULL && i < n; i++) {
		free(rows[i].taints);
	}
	free(rows);
}

/* A sorted deep copy of f's node rows. */
static int rows_copy(const fl_proto_frame *f, fl_proto_node **out)
{
	*out = NULL;
	if (f->n_nodes == 0) {
		return FL_OK;
	}
	fl_proto_node *rows = calloc(f->n_nodes, sizeof(*rows));
	if (rows == NULL) {
		return FL_ENOMEM;
	}
	for (uint32_t i = 0; i < f->n_nodes; i++) {
		rows[i] = f->nodes[i];
		rows[i].taints = NULL;
		if (f->nodes[i].n_taints > 0) {
			rows[i].taints = malloc(f->nodes[i].n_taints * sizeof(*rows[i].taints));
			if (rows[i].taints == NULL) {
				rows_free(rows, i);
				return FL_ENOMEM;
			}
			memcpy(rows[i].taints, f->nodes[i].taints, f->nodes[i].n_taints * sizeof(*rows[i].taints));
		}
	}
	qsort(rows, f->n_nodes, sizeof(*rows), by_name);
	*out = rows;
	return FL_OK;
}

static int pod_by_uid(const void *a, const void *b)
{
	return strcmp(((const fl_proto_pod *)a)->uid, ((const fl_proto_pod *)b)->uid);
}

static int workload_by_uid(const void *a, const void *b)
{
	return strcmp(((const fl_proto_workload *)a)->uid, ((const fl_proto_workload *)b)->uid);
}

/* A sorted copy of n items of size sz (NULL for none). */
static int sorted_copy(const void *items, uint32_t n, size_t sz, int (*cmp)(const void *, const void *), void *out)
{
	void *c = NULL;
	if (n > 0) {
		if ((c = malloc((size_t)n * sz)) == NULL) {
			return FL_ENOMEM;
		}
		memcpy(c, items, (size_t)n * sz);
		qsort(c, n, sz, cmp);
	}
	memcpy(out, &c, sizeof(c));
	return FL_OK;
}

void spoke_delta_reset(spoke_delta *d)
{
	rows_free(d->prev, d->n_prev);
	free(d->prev_pods);
	free(d->prev_workloads);
	memset(d, 0, sizeof(*d));
}

int spoke_delta_remember(spoke_delta *d, const fl_proto_frame *f)
{
	fl_proto_node *rows;
	spoke_delta_reset(d);
	if (rows_copy(f, &rows) != FL_OK) {
		return FL_ENOMEM;
	}
	d->prev = rows;
	d->n_prev = f->n_nodes;
	if (sorted_copy(f->pods, f->n_pods, sizeof(*f->pods), pod_by_uid, &d->prev_pods) != FL_OK ||
	    sorted_copy(f->workloads, f->n_workloads, sizeof(*f->workloads), workload_by_uid, &d->prev_workloads) !=
	        FL_OK) {
		spoke_delta_reset(d);
		return FL_ENOMEM;
	}
	d->n_prev_pods = f->n_pods;
	d->n_prev_workloads = f->n_workloads;
	d->have = true;
	return FL_OK;
}

static bool same_pod(const fl_proto_pod *a, const fl_proto_pod *b)
{
	return strcmp(a->ns, b->ns) == 0 && strcmp(a->name, b->name) == 0 && strcmp(a->node, b->node) == 0 &&
	       a->gpus == b->gpus && strcmp(a->phase, b->phase) == 0 && a->running == b->running &&
	       strcmp(a->workload_uid, b->workload_uid) == 0 && a->has_utilization == b->has_utilization &&
	       (!a->has_utilization || a->utilization == b->utilization) && a->created_ms == b->created_ms;
}

static bool same_workload(const fl_proto_workload *a, const fl_proto_workload *b)
{
	return strcmp(a->kind, b->kind) == 0 && strcmp(a->api_version, b->api_version) == 0 &&
	       strcmp(a->ns, b->ns) == 0 && strcmp(a->name, b->name) == 0 && strcmp(a->status, b->status) == 0 &&
	       a->gpu_request == b->gpu_request && a->pods == b->pods && a->has_utilization == b->has_utilization &&
	       (!a->has_utilization || a->utilization == b->utilization) && a->created_ms == b->created_ms &&
	       a->ended_ms == b->ended_ms && strcmp(a->safe_workload_id, b->safe_workload_id) == 0;
}

/* True when pod p is not in f's pods (sorted by uid). */
static bool pod_gone(const fl_proto_pod *p, const fl_proto_frame *f)
{
	return f->n_pods == 0 || bsearch(p, f->pods, f->n_pods, sizeof(*f->pods), pod_by_uid) == NULL;
}

/* Turns f's pods and workloads into the changed ones and the removed pod uids, against d's. On
 * FL_ENOMEM f is unchanged. */
static int pods_delta(const spoke_delta *d, fl_proto_frame *f)
{
	uint32_t n_removed = 0;
	for (uint32_t i = 0; i < d->n_prev_pods; i++) {
		n_removed += pod_gone(&d->prev_pods[i], f);
	}
	fl_proto_name *removed = n_removed > 0 ? calloc(n_removed, sizeof(*removed)) : NULL;
	if (n_removed > 0 && removed == NULL) {
		return FL_ENOMEM;
	}
	for (uint32_t i = 0, j = 0; i < d->n_prev_pods; i++) {
		if (pod_gone(&d->prev_pods[i], f)) {
			memcpy(removed[j++].name, d->prev_pods[i].uid, sizeof(d->prev_pods[i].uid));
		}
	}
	uint32_t kept = 0;
	for (uint32_t i = 0; i < f->n_pods; i++) {
		const fl_proto_pod *old = d->n_prev_pods == 0 ? NULL
		                                              : bsearch(&f->pods[i], d->prev_pods, d->n_prev_pods,
		                                                        sizeof(*d->prev_pods), pod_by_uid);
		if (old == NULL || !same_pod(old, &f->pods[i])) {
			f->pods[kept++] = f->pods[i];
		}
	}
	f->n_pods = kept;
	kept = 0;
	for (uint32_t i = 0; i < f->n_workloads; i++) {
		const fl_proto_workload *old =
		    d->n_prev_workloads == 0 ? NULL
		                             : bsearch(&f->workloads[i], d->prev_workloads, d->n_prev_workloads,
		                                       sizeof(*d->prev_workloads), workload_by_uid);
		if (old == NULL || !same_workload(old, &f->workloads[i])) {
			f->workloads[kept++] = f->workloads[i];
		}
	}
	f->n_workloads = kept;
	f->removed_pods = removed;
	f->n_removed_pods = n_removed;
	return FL_OK;
}

static bool same_row(const fl_proto_node *a, const fl_proto_node *b)
{
	if (strcmp(a->ip, b->ip) != 0 || strcmp(a->gpu_name, b->gpu_name) != 0 || a->gpu_count != b->gpu_count ||
	    a->gpu_allocation != b->gpu_allocation || a->has_utilization != b->has_utilization ||
	    (a->has_utilization && a->gpu_utilization != b->gpu_utilization) || strcmp(a->status, b->status) != 0 ||
	    a->unschedulable != b->unschedulable || a->faulty != b->faulty || a->cpu_millis != b->cpu_millis ||
	    a->memory_bytes != b->memory_bytes || strcmp(a->kubelet_version, b->kubelet_version) != 0 ||
	    strcmp(a->os_image, b->os_image) != 0 || strcmp(a->kernel_version, b->kernel_version) != 0 ||
	    strcmp(a->container_runtime, b->container_runtime) != 0 || a->n_taints != b->n_taints) {
		return false;
	}
	for (uint32_t i = 0; i < a->n_taints; i++) {
		if (strcmp(a->taints[i].key, b->taints[i].key) != 0 ||
		    strcmp(a->taints[i].value, b->taints[i].value) != 0 ||
		    strcmp(a->taints[i].effect, b->taints[i].effect) != 0) {
			return false;
		}
	}
	return true;
}

static const fl_proto_node *find(const fl_proto_node *rows, uint32_t n, const char *name)
{
	fl_proto_node key;
	memcpy(key.name, name, strnlen(name, sizeof(key.name) - 1));
	key.name[strnlen(name, sizeof(key.name) - 1)] = '\0';
	return n == 0 ? NULL : bsearch(&key, rows, n, sizeof(*rows), by_name);
}

int spoke_delta_make(spoke_delta *d, fl_proto_frame *f, char err[FL_ERR_LEN])
{
	if (!d->have || f->env.kind != FL_FRAME_FULL) {
		return fl_seterr(err, FL_EINVAL, "delta: no previous state or not a full frame");
	}
	fl_proto_node *now;
	fl_proto_pod *now_pods = NULL;
	fl_proto_workload *now_workloads = NULL;
	uint32_t n_now = f->n_nodes, n_now_pods = f->n_pods, n_now_workloads = f->n_workloads;
	if (f->n_pods > 0) {
		qsort(f->pods, f->n_pods, sizeof(*f->pods), pod_by_uid);
	}
	if (f->n_workloads > 0) {
		qsort(f->workloads, f->n_workloads, sizeof(*f->workloads), workload_by_uid);
	}
	if (rows_copy(f, &now) != FL_OK) {
		spoke_delta_reset(d);
		return fl_seterr(err, FL_ENOMEM, "delta: out of memory");
	}
	if (sorted_copy(f->pods, f->n_pods, sizeof(*f->pods), pod_by_uid, &now_pods) != FL_OK ||
	    sorted_copy(f->workloads, f->n_workloads, sizeof(*f->workloads), workload_by_uid, &now_workloads) !=
	        FL_OK ||
	    pods_delta(d, f) != FL_OK) {
		rows_free(now, f->n_nodes);
		free(now_pods);
		free(now_workloads);
		spoke_delta_reset(d);
		return fl_seterr(err, FL_ENOMEM, "delta: out of memory");
	}
	uint32_t n_removed = 0;
	for (uint32_t i = 0; i < d->n_prev; i++) {
		n_removed += find(now, f->n_nodes, d->prev[i].name) == NULL;
	}
	fl_proto_name *removed = n_removed > 0 ? calloc(n_removed, sizeof(*removed)) : NULL;
	if (n_removed > 0 && removed == NULL) {
		rows_free(now, f->n_nodes);
		spoke_delta_reset(d);
		return fl_seterr(err, FL_ENOMEM, "delta: out of memory");
	}
	for (uint32_t i = 0, j = 0; i < d->n_prev; i++) {
		if (find(now, f->n_nodes, d->prev[i].name) == NULL) {
			memcpy(removed[j++].name, d->prev[i].name, sizeof(removed[0].name));
		}
	}
	/* keep the changed or new nodes, in place */
	uint32_t kept = 0;
	for (uint32_t i = 0; i < f->n_nodes; i++) {
		const fl_proto_node *old = find(d->prev, d->n_prev, f->nodes[i].name);
		if (old != NULL && same_row(old, &f->nodes[i])) {
			free(f->nodes[i].taints);
			continue;
		}
		f->nodes[kept++] = f->nodes[i];
	}
	f->n_nodes = kept;
	/* the GPU rows of the kept nodes (f->nodes is unsorted: look names up in a sorted copy of kept) */
	uint32_t g = 0;
	for (uint32_t i = 0; i < f->n_gpus; i++) {
		bool keep = false;
		for (uint32_t j = 0; j < kept && !keep; j++) {
			keep = strcmp(f->nodes[j].name, f->gpus[i].node) == 0;
		}
		if (keep) {
			f->gpus[g++] = f->gpus[i];
		}
	}
	f->n_gpus = g;
	f->removed_nodes = removed;
	f->n_removed_nodes = n_removed;
	f->env.kind = FL_FRAME_DELTA;
	rows_free(d->prev, d->n_prev);
	d->prev = now;
	d->n_prev = n_now;
	free(d->prev_pods);
	free(d->prev_workloads);
	d->prev_pods = now_pods;
	d->n_prev_pods = n_now_pods;
	d->prev_workloads = now_workloads;
	d->n_prev_workloads = n_now_workloads;
	return FL_OK;
}
