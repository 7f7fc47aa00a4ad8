/* spoke_frame.c — model + overview → full frame. */
#include "spoke_frame.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FL_VERSION
#define FL_VERSION "0.0.0"
#endif

const char *spoke_frame_node_status(const char *ready)
{
	if (strcmp(ready, "True") == 0) {
		return "Ready";
	}
	if (strcmp(ready, "False") == 0) {
		return "NotReady";
	}
	return "Unknown";
}

int spoke_frame_build(const spoke_model *m, const spoke_overview_result *ov, const spoke_frame_meta *meta,
                      fl_proto_frame *out, char err[FL_ERR_LEN])
{
	memset(out, 0, sizeof(*out));
	if (!fl_proto_valid_name(meta->cluster) || !fl_proto_valid_name(meta->spoke_id) || meta->seq == 0) {
		return fl_seterr(err, FL_EINVAL, "frame: bad cluster, spoke id or sequence number");
	}
	if (ov->n_nodes != m->n_nodes) {
		return fl_seterr(err, FL_EINVAL, "frame: overview has %u nodes, model %u", ov->n_nodes, m->n_nodes);
	}

	fl_proto_envelope *e = &out->env;
	e->version = FL_PROTO_VERSION;
	snprintf(e->cluster, sizeof(e->cluster), "%s", meta->cluster);
	snprintf(e->spoke_id, sizeof(e->spoke_id), "%s", meta->spoke_id);
	e->seq = meta->seq;
	e->sent_at_ms = meta->sent_at_ms;
	e->kind = FL_FRAME_FULL;

	out->has_facts = true;
	snprintf(out->facts.k8s_version, sizeof(out->facts.k8s_version), "%s", m->k8s_version);
	snprintf(out->facts.spoke_version, sizeof(out->facts.spoke_version), "%s", FL_VERSION);
	snprintf(out->facts.source, sizeof(out->facts.source), "%s", meta->source);

	out->has_overview = true;
	out->overview = ov->overview;

	if (m->n_nodes > 0 && (out->nodes = calloc(m->n_nodes, sizeof(*out->nodes))) == NULL) {
		goto nomem;
	}
	out->n_nodes = m->n_nodes;
	for (uint32_t i = 0; i < m->n_nodes; i++) {
		const spoke_node *n = &m->nodes[i];
		const spoke_node_result *r = &ov->nodes[i];
		fl_proto_node *row = &out->nodes[i];
		/* Model and frame strings have the same field sizes, so nothing is cut here. */
		snprintf(row->name, sizeof(row->name), "%s", n->name);
		snprintf(row->ip, sizeof(row->ip), "%s", n->internal_ip);
		snprintf(row->gpu_name, sizeof(row->gpu_name), "%s", n->gpu_product);
		row->gpu_count = r->allocatable_gpus;
		row->gpu_allocation = r->allocated_gpus;
		row->gpu_utilization = r->utilization;
		row->has_utilization = r->has_utilization;
		snprintf(row->status, sizeof(row->status), "%s", spoke_frame_node_status(n->ready));
		row->unschedulable = n->unschedulable;
		row->faulty = r->faulty;
		row->cpu_millis = n->cpu_allocatable_millis;
		row->memory_bytes = n->memory_allocatable_bytes;
		snprintf(row->kubelet_version, sizeof(row->kubelet_version), "%s", n->kubelet_version);
		snprintf(row->os_image, sizeof(row->os_image), "%s", n->os_image);
		snprintf(row->kernel_version, sizeof(row->kernel_version), "%s", n->kernel_version);
		snprintf(row->container_runtime, sizeof(row->container_runtime), "%s", n->container_runtime);
		if (n->n_taints > 0) {
			if ((row->taints = malloc(n->n_taints * sizeof(*row->taints))) == NULL) {
				goto nomem;
			}
			memcpy(row->taints, n->taints, n->n_taints * sizeof(*row->taints));
			row->n_taints = n->n_taints;
		}
	}

	if (m->n_gpus > 0) {
		if ((out->gpus = malloc((size_t)m->n_gpus * sizeof(*out->gpus))) == NULL) {
			goto nomem;
		}
		memcpy(out->gpus, m->gpus, (size_t)m->n_gpus * sizeof(*out->gpus));
		out->n_gpus = m->n_gpus;
	}
	return FL_OK;

nomem:
	fl_proto_frame_free(out);
	return fl_seterr(err, FL_ENOMEM, "frame: out of memory for %u nodes and %u GPUs", m->n_nodes, m->n_gpus);
}
