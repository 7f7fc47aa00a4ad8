/* spoke_overview.c — the single implementation of the overview rules. */
#include "spoke_overview.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Adds without overflowing: quantities come from outside, the sums must not wrap. */
static int64_t sat_add(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b) {
		return INT64_MAX;
	}
	return a + b;
}

void spoke_overview_rules_default(spoke_overview_rules *r)
{
	static const char *const names[] = {"amd.com/gpu", "nvidia.com/gpu", "huawei.com/Ascend910"};
	memset(r, 0, sizeof(*r));
	for (uint32_t i = 0; i < 3; i++) {
		snprintf(r->gpu_resources[i], sizeof(r->gpu_resources[i]), "%s", names[i]);
		snprintf(r->benign_taints[i], sizeof(r->benign_taints[i]), "%s", names[i]);
	}
	r->n_gpu_resources = 3;
	r->n_benign_taints = 3;
}

/* Sum over the GPU resource names of the quantities in list (negative entries count 0). */
static int64_t gpu_quantity(const spoke_resources *list, const spoke_overview_rules *rules)
{
	int64_t sum = 0;
	for (uint32_t i = 0; i < rules->n_gpu_resources; i++) {
		int64_t v = spoke_resources_get(list, rules->gpu_resources[i]);
		if (v > 0) {
			sum = sat_add(sum, v);
		}
	}
	return sum;
}

bool spoke_overview_pod_ended(const spoke_pod *p)
{
	return strcmp(p->phase, "Succeeded") == 0 || strcmp(p->phase, "Failed") == 0;
}

int64_t spoke_overview_pod_hold(const spoke_pod *p, const spoke_overview_rules *rules)
{
	return spoke_overview_pod_ended(p) ? 0 : spoke_overview_pod_request(p, rules);
}

int64_t spoke_overview_pod_request(const spoke_pod *p, const spoke_overview_rules *rules)
{
	int64_t sum = 0, init_max = 0;
	for (uint32_t i = 0; i < p->n_containers; i++) {
		sum = sat_add(sum, gpu_quantity(&p->containers[i].requests, rules));
	}
	for (uint32_t i = 0; i < p->n_init_containers; i++) {
		int64_t v = gpu_quantity(&p->init_containers[i].requests, rules);
		if (v > init_max) {
			init_max = v;
		}
	}
	return sum > init_max ? sum : init_max;
}

static bool node_faulty(const spoke_node *n, const spoke_overview_rules *rules)
{
	if (strcmp(n->ready, "True") != 0 || n->unschedulable) {
		return true;
	}
	for (uint32_t t = 0; t < n->n_taints; t++) {
		bool benign = false;
		for (uint32_t b = 0; b < rules->n_benign_taints && !benign; b++) {
			benign = strcmp(n->taints[t].key, rules->benign_taints[b]) == 0;
		}
		if (!benign) {
			return true;
		}
	}
	return false;
}

/* The node name index: (name, model index), sorted by name. */
typedef struct name_index {
	const char *name;
	uint32_t idx;
} name_index;

static int name_index_cmp(const void *a, const void *b)
{
	return strcmp(((const name_index *)a)->name, ((const name_index *)b)->name);
}

/* The model index of node `name`, or -1. */
static int64_t find_node(const name_index *ix, uint32_t n, const char *name)
{
	if (name[0] == '\0') {
		return -1;
	}
	name_index key = {name, 0};
	const name_index *hit = bsearch(&key, ix, n, sizeof(*ix), name_index_cmp);
	return hit == NULL ? -1 : (int64_t)hit->idx;
}

static double percent(double part, double whole)
{
	return whole > 0 ? 100.0 * part / whole : 0.0;
}

/* The overview's unknown figures for a model whose sources could not measure `unknown`: a percentage
 * is unknown when either of its parts is. */
static uint32_t overview_unknown(uint32_t unknown)
{
	if (unknown & (FL_OV_TOTAL_SPACE | FL_OV_USED_SPACE)) {
		unknown |= FL_OV_USAGE_PERCENTAGE;
	}
	if (unknown & (FL_OV_TOTAL_INODES | FL_OV_USED_INODES)) {
		unknown |= FL_OV_INODES_USAGE_PERCENTAGE;
	}
	return unknown & FL_OV_ALL;
}

void spoke_overview_result_free(spoke_overview_result *out)
{
	if (out == NULL) {
		return;
	}
	free(out->nodes);
	memset(out, 0, sizeof(*out));
}

/* Each node's mean GPU utilization (from util_sum / util_n, per node) and the overview's node and GPU counts. */
static void tally_nodes(spoke_overview_result *out, const double *util_sum, const uint32_t *util_n)
{
	fl_proto_overview *o = &out->overview;
	for (uint32_t i = 0; i < out->n_nodes; i++) {
		spoke_node_result *r = &out->nodes[i];
		if (util_n[i] > 0) {
			r->utilization = util_sum[i] / util_n[i];
			r->has_utilization = true;
		}
		if (!r->is_gpu_node) {
			continue;
		}
		o->total_nodes++;
		if (r->faulty) {
			o->faulty_nodes++;
			continue;
		}
		o->healthy_nodes++;
		o->gpus_allocatable = sat_add(o->gpus_allocatable, r->allocatable_gpus);
		o->gpus_allocated = sat_add(o->gpus_allocated, r->allocated_gpus);
		if (r->allocated_gpus >= r->allocatable_gpus) {
			o->busy_nodes++;
		} else if (r->allocated_gpus == 0) {
			o->fully_idle_nodes++;
		} else {
			o->partially_idle_nodes++;
		}
	}
}

/* The overview's storage and RDMA figures, as the model holds them. */
static void copy_storage(fl_proto_overview *o, const spoke_storage *s)
{
	o->total_space = s->total_space;
	o->used_space = s->used_space;
	o->usage_percentage = percent(s->used_space, s->total_space);
	o->total_inodes = s->total_inodes;
	o->used_inodes = s->used_inodes;
	o->inodes_usage_percentage = percent(s->used_inodes, s->total_inodes);
	o->read_bandwidth = s->read_bandwidth;
	o->write_bandwidth = s->write_bandwidth;
	o->total_tx = s->rdma_tx;
	o->total_rx = s->rdma_rx;
}

int spoke_overview_compute(const spoke_model *m, const spoke_overview_rules *rules, spoke_overview_result *out,
                           char err[FL_ERR_LEN])
{
	memset(out, 0, sizeof(*out));
	uint32_t nn = m->n_nodes;
	name_index *ix = NULL;
	double *util_sum = NULL;
	uint32_t *util_n = NULL;
	if (nn > 0) {
		out->nodes = calloc(nn, sizeof(*out->nodes));
		ix = malloc((size_t)nn * sizeof(*ix));
		util_sum = calloc(nn, sizeof(*util_sum));
		util_n = calloc(nn, sizeof(*util_n));
		if (out->nodes == NULL || ix == NULL || util_sum == NULL || util_n == NULL) {
			free(ix);
			free(util_sum);
			free(util_n);
			return fl_seterr(err, FL_ENOMEM, "overview: out of memory for %u nodes", nn);
		}
	}
	out->n_nodes = nn;

	for (uint32_t i = 0; i < nn; i++) {
		const spoke_node *n = &m->nodes[i];
		spoke_node_result *r = &out->nodes[i];
		r->allocatable_gpus = gpu_quantity(&n->allocatable, rules);
		r->is_gpu_node = r->allocatable_gpus > 0;
		r->faulty = node_faulty(n, rules);
		ix[i].name = n->name;
		ix[i].idx = i;
	}
	if (nn > 0) {
		qsort(ix, nn, sizeof(*ix), name_index_cmp);
	}

	for (uint32_t p = 0; p < m->n_pods; p++) {
		int64_t hold = spoke_overview_pod_hold(&m->pods[p], rules);
		if (hold == 0) {
			continue;
		}
		int64_t at = find_node(ix, nn, m->pods[p].node_name);
		if (at >= 0) {
			out->nodes[at].allocated_gpus = sat_add(out->nodes[at].allocated_gpus, hold);
		}
	}

	double cluster_util = 0;
	uint64_t cluster_util_n = 0;
	for (uint32_t g = 0; g < m->n_gpus; g++) {
		const spoke_gpu *gpu = &m->gpus[g];
		if (!gpu->has_utilization) {
			continue;
		}
		cluster_util += gpu->utilization;
		cluster_util_n++;
		int64_t at = find_node(ix, nn, gpu->node);
		if (at >= 0) {
			util_sum[at] += gpu->utilization;
			util_n[at]++;
		}
	}

	fl_proto_overview *o = &out->overview;
	tally_nodes(out, util_sum, util_n);
	o->allocation_rate = percent((double)o->gpus_allocated, (double)o->gpus_allocatable);
	o->utilization = cluster_util_n > 0 ? cluster_util / (double)cluster_util_n : 0.0;

	copy_storage(o, &m->storage);
	o->unknown = overview_unknown(m->unknown);

	free(ix);
	free(util_sum);
	free(util_n);
	return FL_OK;
}
