/* spoke_node.c — see spoke_node.h. */
#include "spoke_node.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl_log.h"

struct spoke_node_role {
	const spoke_config *cfg;
	spoke_nvml *nvml; /* NULL when NVML is not there */
	spoke_rdma_prev rdma_prev;
	spoke_node_counters counters;
	spoke_node_job_seen *seen; /* the last cycle's jobs with a framework, by pid */
	uint32_t n_seen;
};

/* Remembers the frameworks of jobs (in pid order), so the next cycle need not read their maps again. */
static void remember_frameworks(spoke_node_role *n, const fl_proto_job *jobs, uint32_t count)
{
	spoke_node_job_seen *s = count > 0 ? realloc(n->seen, count * sizeof(*s)) : NULL;
	if (count > 0 && s == NULL) {
		return; /* keep the old list: it is only a shortcut */
	}
	if (count == 0) {
		free(n->seen);
	}
	n->seen = s;
	n->n_seen = 0;
	for (uint32_t i = 0; i < count; i++) {
		if (jobs[i].framework[0] != '\0') {
			s[n->n_seen].pid = jobs[i].pid;
			s[n->n_seen].started_ms = jobs[i].started_ms;
			snprintf(s[n->n_seen].framework, sizeof(s[n->n_seen].framework), "%s", jobs[i].framework);
			n->n_seen++;
		}
	}
}

int spoke_node_open(const spoke_config *cfg, spoke_node_role **out, char err[FL_ERR_LEN])
{
	*out = NULL;
	spoke_node_role *n = calloc(1, sizeof(*n));
	if (n == NULL) {
		return fl_seterr(err, FL_ENOMEM, "out of memory");
	}
	n->cfg = cfg;
	char why[FL_ERR_LEN] = "";
	if (spoke_nvml_open(cfg->nvml_library, &n->nvml, why) == FL_OK) {
		fl_info("node %s: NVML loaded from %s: NVIDIA GPUs are read through it", cfg->node_name,
		        cfg->nvml_library);
	} else {
		n->nvml = NULL;
		fl_info("node %s: no NVML (%s): NVIDIA GPUs are not read; AMD GPUs are read from sysfs", cfg->node_name,
		        why);
	}
	*out = n;
	return FL_OK;
}

int spoke_node_collect(spoke_node_role *n, const spoke_frame_meta *meta, int64_t now_ms, fl_proto_frame *out,
                       char err[FL_ERR_LEN])
{
	const spoke_config *cfg = n->cfg;
	memset(out, 0, sizeof(*out));
	out->env.version = FL_PROTO_VERSION;
	snprintf(out->env.cluster, sizeof(out->env.cluster), "%s", meta->cluster);
	snprintf(out->env.spoke_id, sizeof(out->env.spoke_id), "%s", meta->spoke_id);
	out->env.seq = meta->seq;
	out->env.sent_at_ms = meta->sent_at_ms;
	out->env.kind = FL_FRAME_NODE;
	out->has_facts = true;
	snprintf(out->facts.spoke_version, sizeof(out->facts.spoke_version), "%s", FL_VERSION);
	snprintf(out->facts.source, sizeof(out->facts.source), "%s", meta->source);
	out->has_host = true;
	snprintf(out->host.node, sizeof(out->host.node), "%s", cfg->node_name);

	const char *source = "none";
	int rv = spoke_node_amd_gpus(cfg->host_root, cfg->node_name, &out->gpus, &out->n_gpus, &n->counters, err);
	if (rv == FL_OK && out->n_gpus > 0) {
		source = "amd";
	} else if (rv == FL_OK && n->nvml != NULL) {
		free(out->gpus);
		out->gpus = NULL;
		rv = spoke_nvml_gpus(n->nvml, cfg->host_root, cfg->node_name, &out->gpus, &out->n_gpus, &n->counters,
		                     err);
		source = rv == FL_OK && out->n_gpus > 0 ? "nvml" : "none";
	}
	snprintf(out->host.gpu_source, sizeof(out->host.gpu_source), "%s", source);
	if (rv == FL_OK) {
		rv =
		    spoke_node_rdma(cfg->host_root, now_ms, &n->rdma_prev, &out->rdma, &out->n_rdma, &n->counters, err);
	}
	if (rv == FL_OK) {
		rv = spoke_node_jobs(cfg->host_root, cfg->job_cmdline, n->seen, n->n_seen, &out->jobs, &out->n_jobs,
		                     &n->counters, err);
	}
	if (rv == FL_OK) {
		remember_frameworks(n, out->jobs, out->n_jobs);
	}
	if (rv != FL_OK) {
		fl_proto_frame_free(out);
	}
	return rv;
}

void spoke_node_get_counters(const spoke_node_role *n, spoke_node_counters *out)
{
	*out = n->counters;
}

void spoke_node_close(spoke_node_role *n)
{
	if (n == NULL) {
		return;
	}
	spoke_nvml_close(n->nvml);
	free(n->seen);
	free(n);
}
