/* fl_synth.c — synthetic nodes for the test and bench tools. */
#include "fl_synth.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fl_synth_overview(fl_proto_frame *f)
{
	fl_proto_overview *o = &f->overview;
	fl_proto_overview keep = *o;
	memset(o, 0, sizeof(*o));
	o->total_space = keep.total_space; /* the storage and network figures are not about nodes: kept */
	o->used_space = keep.used_space;
	o->usage_percentage = keep.usage_percentage;
	o->total_inodes = keep.total_inodes;
	o->used_inodes = keep.used_inodes;
	o->inodes_usage_percentage = keep.inodes_usage_percentage;
	o->read_bandwidth = keep.read_bandwidth;
	o->write_bandwidth = keep.write_bandwidth;
	o->total_tx = keep.total_tx;
	o->total_rx = keep.total_rx;
	double util = 0;
	uint64_t util_n = 0;
	for (uint32_t k = 0; k < f->n_gpus; k++)
		if (f->gpus[k].has_utilization) {
			util += f->gpus[k].utilization;
			util_n++;
		}
	for (uint32_t i = 0; i < f->n_nodes; i++) {
		const fl_proto_node *n = &f->nodes[i];
		if (n->gpu_count <= 0)
			continue;
		o->total_nodes++;
		if (n->faulty) {
			o->faulty_nodes++;
			continue;
		}
		o->healthy_nodes++;
		o->gpus_allocatable += n->gpu_count;
		o->gpus_allocated += n->gpu_allocation;
		if (n->gpu_allocation >= n->gpu_count)
			o->busy_nodes++;
		else if (n->gpu_allocation == 0)
			o->fully_idle_nodes++;
		else
			o->partially_idle_nodes++;
	}
	o->allocation_rate =
	    o->gpus_allocatable > 0 ? 100.0 * (double)o->gpus_allocated / (double)o->gpus_allocatable : 0.0;
	o->utilization = util_n > 0 ? util / (double)util_n : 0.0;
	if (f->n_gpus > 0 && util_n == 0)
		o->unknown |= FL_OV_UTILIZATION;
}

int fl_synth_frame(fl_proto_frame *f, uint32_t k, uint32_t g, uint32_t salt)
{
	f->nodes = k > 0 ? calloc(k, sizeof(*f->nodes)) : NULL;
	f->gpus = k * g > 0 ? calloc((size_t)k * g, sizeof(*f->gpus)) : NULL;
	if ((k > 0 && f->nodes == NULL) || (k * g > 0 && f->gpus == NULL)) {
		return FL_ENOMEM;
	}
	f->n_nodes = k;
	f->n_gpus = k * g;
	for (uint32_t i = 0; i < k; i++) {
		fl_proto_node *n = &f->nodes[i];
		double node_util = 0;

		snprintf(n->name, sizeof(n->name), "node-%05" PRIu32, i);
		snprintf(n->ip, sizeof(n->ip), "10.0.%" PRIu32 ".%" PRIu32, i / 250, i % 250 + 1);
		snprintf(n->gpu_name, sizeof(n->gpu_name), "%s", g > 0 ? "AMD Instinct MI300X" : "");
		n->gpu_count = g;
		n->gpu_allocation = i % (g + 1);
		snprintf(n->status, sizeof(n->status), "Ready");
		n->cpu_millis = 192000;
		n->memory_bytes = (int64_t)1 << 41;
		snprintf(n->kubelet_version, sizeof(n->kubelet_version), "v1.29.3");
		snprintf(n->os_image, sizeof(n->os_image), "Ubuntu 22.04.4 LTS");
		snprintf(n->kernel_version, sizeof(n->kernel_version), "5.15.0-105-generic");
		snprintf(n->container_runtime, sizeof(n->container_runtime), "containerd://1.7.2");
		for (uint32_t j = 0; j < g; j++) {
			fl_proto_gpu *d = &f->gpus[(size_t)i * g + j];

			snprintf(d->node, sizeof(d->node), "%s", n->name);
			d->gpu_id = (int32_t)j;
			snprintf(d->gpu_model, sizeof(d->gpu_model), "MI300X");
			d->memory_mib = 196608;
			d->utilization = (double)((i + j + salt) % 100);
			d->has_utilization = true;
			/* Temperature and power move with the cycle like utilization (every GPU, every salt step);
			 * salt 0 gives 40 + j °C and 500 W, the figures other tests read. */
			d->temperature = 40.0 + j + (double)((i + j + salt) % 20) - (double)((i + j) % 20);
			d->power = 500.0 + (double)((i + 3 * j + 13 * salt) % 150) - (double)((i + 3 * j) % 150);
			snprintf(d->serial, sizeof(d->serial), "SN-%" PRIu32 "-%" PRIu32, i, j);
			d->numa = (int32_t)(j * 2 / g);
			node_util += d->utilization;
		}
		n->has_utilization = g > 0;
		n->gpu_utilization = g > 0 ? node_util / g : 0;
	}
	fl_synth_overview(f);
	return FL_OK;
}

void fl_synth_kv(fl_proto_kv *kv, const char *key, const char *text, bool is_num, double num)
{
	snprintf(kv->key, sizeof(kv->key), "%s", key);
	snprintf(kv->value, sizeof(kv->value), "%s", text);
	kv->is_num = is_num;
	kv->num = num;
}
