/* spoke_node.c — see spoke_node.h. */
#include "spoke_node.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl_log.h"

struct spoke_node_role {
	const spoke_config *cfg;
	spoke_nvml *nvml; /* NULL when NVML is not there */
	spoke_dcmi *dcmi; /* NULL when DCMI is not there */
	spoke_rdma_prev rdma_prev;
	spoke_node_counters counters;
	spoke_node_job_seen *seen; /* what the last cycle saw of its jobs, by pid */
	uint32_t n_seen;
};

/* Keeps what this cycle saw of its jobs (spoke_node_jobs' now: count entries in pid order; taken) as the next
 * cycle's seen: their frameworks, so their maps need not be read again, and their CPU time and the uptime,
 * so the next cycle has their cpu_percent. */
static void remember_jobs(spoke_node_role *n, spoke_node_job_seen *now, uint32_t count)
{
	free(n->seen);
	n->seen = now;
	n->n_seen = now != NULL ? count : 0;
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
	why[0] = '\0';
	if (spoke_dcmi_open(cfg->dcmi_library, &n->dcmi, why) == FL_OK) {
		fl_info("node %s: DCMI loaded from %s: Ascend NPUs are read through it", cfg->node_name,
		        cfg->dcmi_library[0] != '\0' ? cfg->dcmi_library : "libdcmi.so");
	} else {
		n->dcmi = NULL;
		fl_info("node %s: no DCMI (%s): Ascend NPUs are not read", cfg->node_name, why);
	}
	*out = n;
	return FL_OK;
}

/* The per-process accelerator memory list of the driver that gave the frame's GPUs (source): kfd for
 * "amd", NVML's for "nvml", DCMI's for "dcmi"; none otherwise. *pm (caller frees). FL_OK or FL_ENOMEM. */
static int collect_proc_mem(spoke_node_role *n, const char *source, const fl_proto_frame *f,
                            const spoke_node_amd_minors *minors, spoke_node_proc_mem **pm, uint32_t *n_pm,
                            char err[FL_ERR_LEN])
{
	*pm = NULL;
	*n_pm = 0;
	if (strcmp(source, "amd") == 0) {
		return spoke_node_amd_proc_mem(n->cfg->host_root, minors, pm, n_pm, &n->counters, err);
	}
	if (strcmp(source, "nvml") == 0 && n->nvml != NULL) {
		return spoke_nvml_proc_mem(n->nvml, f->gpus, f->n_gpus, pm, n_pm, &n->counters, err);
	}
	if (strcmp(source, "dcmi") == 0 && n->dcmi != NULL) {
		return spoke_dcmi_proc_mem(n->dcmi, pm, n_pm, &n->counters, err);
	}
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
	spoke_node_amd_minors minors;
	int rv = spoke_node_amd_gpus_minors(cfg->host_root, cfg->node_name, &out->gpus, &out->n_gpus, &minors,
	                                    &n->counters, err);
	if (rv == FL_OK && out->n_gpus > 0) {
		source = "amd";
	} else if (rv == FL_OK && n->nvml != NULL) {
		free(out->gpus);
		out->gpus = NULL;
		rv = spoke_nvml_gpus(n->nvml, cfg->host_root, cfg->node_name, &out->gpus, &out->n_gpus, &n->counters,
		                     err);
		source = rv == FL_OK && out->n_gpus > 0 ? "nvml" : "none";
	}
	if (rv == FL_OK && out->n_gpus == 0 && n->dcmi != NULL) {
		free(out->gpus);
		out->gpus = NULL;
		rv = spoke_dcmi_gpus(n->dcmi, cfg->host_root, cfg->node_name, &out->gpus, &out->n_gpus, &n->counters,
		                     err);
		source = rv == FL_OK && out->n_gpus > 0 ? "dcmi" : "none";
	}
	snprintf(out->host.gpu_source, sizeof(out->host.gpu_source), "%s", source);
	spoke_node_proc_mem *pm = NULL; /* what the GPUs' driver says each process holds */
	uint32_t n_pm = 0;
	if (rv == FL_OK) {
		rv = collect_proc_mem(n, source, out, &minors, &pm, &n_pm, err);
	}
	if (rv == FL_OK) {
		rv =
		    spoke_node_rdma(cfg->host_root, now_ms, &n->rdma_prev, &out->rdma, &out->n_rdma, &n->counters, err);
	}
	if (rv == FL_OK) {
		spoke_node_jobs_opts jo = {
		    .cmdline = cfg->job_cmdline, .env_names = cfg->job_env, .n_env_names = cfg->n_job_env};
		spoke_node_job_seen *now = NULL;
		rv = spoke_node_jobs(cfg->host_root, &jo, n->seen, n->n_seen, &out->jobs, &now, &out->n_jobs,
		                     &n->counters, err);
		if (rv == FL_OK) {
			remember_jobs(n, now, out->n_jobs);
		}
	}
	if (rv == FL_OK) {
		spoke_node_jobs_attach_gpus(out->jobs, out->n_jobs, out->gpus, out->n_gpus, source, &minors, pm, n_pm);
	}
	free(pm);
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
	spoke_dcmi_close(n->dcmi);
	free(n->seen);
	free(n);
}
