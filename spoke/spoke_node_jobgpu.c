/* spoke_node_jobgpu.c — which of the node's GPUs each GPU job uses, with how much accelerator memory and
 * at what utilization, from the drivers' per-process lists or, where none names the job, its device files. */
#include "spoke_node_dev.h"

#include <stdlib.h>
#include <string.h>

#include "spoke_node_read.h"

static int pm_cmp(const void *a, const void *b)
{
	const spoke_node_proc_mem *x = a, *y = b;
	if (x->pid != y->pid) {
		return (x->pid > y->pid) - (x->pid < y->pid);
	}
	return (x->gpu_id > y->gpu_id) - (x->gpu_id < y->gpu_id);
}

/* The node's GPUs by gpu_id: which exist, and the utilization of those that have one. */
typedef struct gpu_index {
	uint64_t exists[4];
	bool has_util[FL_PROTO_MAX_NODE_GPUS];
	double util[FL_PROTO_MAX_NODE_GPUS];
} gpu_index;

/* The first entry of pm[0..n) (sorted) with pid, n when none. */
static uint32_t pm_first(const spoke_node_proc_mem *pm, uint32_t n, int64_t pid)
{
	uint32_t lo = 0, hi = n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (pm[mid].pid < pid) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return lo < n && pm[lo].pid == pid ? lo : n;
}

/* The gpu_id a device file names for gpu_source, -1 when it names none of them. */
static int32_t device_gpu(const char *dev, size_t len, const char *gpu_source, const spoke_node_amd_minors *minors)
{
	static const struct {
		const char *source, *prefix;
	} kinds[] = {{"nvml", "/dev/nvidia"}, {"dcmi", "/dev/davinci"}, {"amd", "/dev/dri/renderD"}};
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		size_t pl = strlen(kinds[k].prefix);
		char num[16];
		uint64_t v;
		if (strcmp(gpu_source, kinds[k].source) != 0 || len <= pl || len - pl >= sizeof(num) ||
		    strncmp(dev, kinds[k].prefix, pl) != 0) {
			continue;
		}
		memcpy(num, dev + pl, len - pl);
		num[len - pl] = '\0';
		if (!spoke_node_read_num(num, 1u << 20, &v)) {
			return -1; /* /dev/nvidiactl, /dev/nvidia-uvm, /dev/davinci_manager */
		}
		if (strcmp(kinds[k].source, "amd") != 0) {
			return v < FL_PROTO_MAX_NODE_GPUS ? (int32_t)v : -1;
		}
		for (int32_t g = 0; minors != NULL && g < (int32_t)FL_PROTO_MAX_NODE_GPUS; g++) {
			if (minors->minor[g] == (int32_t)v) {
				return g;
			}
		}
		return -1;
	}
	return -1;
}

/* gpu_mask from the job's devices field ("a,b,c"). */
static void mask_from_devices(fl_proto_job *j, const gpu_index *ix, const char *gpu_source,
                              const spoke_node_amd_minors *minors)
{
	const char *p = j->devices;
	while (*p != '\0') {
		const char *end = strchr(p, ',');
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
		int32_t g = device_gpu(p, len, gpu_source, minors);
		if (fl_proto_gpu_mask_has(ix->exists, g)) {
			fl_proto_gpu_mask_set(j->gpu_mask, g);
		}
		p += len;
		if (*p == ',') {
			p++;
		}
	}
}

/* gpu_mask and gpu_memory_bytes from pm[first..) (the job's entries). */
static void mask_from_list(fl_proto_job *j, const gpu_index *ix, const spoke_node_proc_mem *pm, uint32_t n,
                           uint32_t first)
{
	for (uint32_t k = first; k < n && pm[k].pid == j->pid; k++) {
		if (!fl_proto_gpu_mask_has(ix->exists, pm[k].gpu_id)) {
			continue;
		}
		if (pm[k].bytes != 0) {
			fl_proto_gpu_mask_set(j->gpu_mask, pm[k].gpu_id);
		}
		if (pm[k].bytes >= 0) {
			j->gpu_memory_bytes += pm[k].bytes;
			j->has_gpu_memory = true;
		}
	}
}

void spoke_node_jobs_attach_gpus(fl_proto_job *jobs, uint32_t n_jobs, const fl_proto_gpu *gpus, uint32_t n_gpus,
                                 const char *gpu_source, const spoke_node_amd_minors *minors, spoke_node_proc_mem *pm,
                                 uint32_t n_pm)
{
	gpu_index ix;
	memset(&ix, 0, sizeof(ix));
	for (uint32_t i = 0; i < n_gpus; i++) {
		int32_t id = gpus[i].gpu_id;
		if (id >= 0 && id < (int32_t)FL_PROTO_MAX_NODE_GPUS) {
			fl_proto_gpu_mask_set(ix.exists, id);
			ix.has_util[id] = gpus[i].has_utilization;
			ix.util[id] = gpus[i].utilization;
		}
	}
	if (pm == NULL) {
		n_pm = 0;
	}
	if (n_pm > 1) {
		qsort(pm, n_pm, sizeof(*pm), pm_cmp);
	}
	for (uint32_t i = 0; i < n_jobs; i++) {
		fl_proto_job *j = &jobs[i];
		memset(j->gpu_mask, 0, sizeof(j->gpu_mask));
		j->gpu_memory_bytes = 0;
		j->has_gpu_memory = false;
		j->gpu_utilization = 0;
		j->has_gpu_utilization = false;
		uint32_t first = pm_first(pm, n_pm, j->pid);
		if (first < n_pm) {
			mask_from_list(j, &ix, pm, n_pm, first);
		} else {
			mask_from_devices(j, &ix, gpu_source != NULL ? gpu_source : "none", minors);
		}
		double sum = 0;
		uint32_t with = 0;
		for (int32_t g = 0; g < (int32_t)FL_PROTO_MAX_NODE_GPUS; g++) {
			if (fl_proto_gpu_mask_has(j->gpu_mask, g) && ix.has_util[g]) {
				sum += ix.util[g];
				with++;
			}
		}
		if (with > 0) {
			j->gpu_utilization = sum / with;
			j->has_gpu_utilization = true;
		}
	}
}
