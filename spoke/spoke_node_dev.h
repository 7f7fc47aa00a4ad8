/* spoke_node_dev.h — the node role's collectors: what one node's own sysfs, NVML and /proc say about
 * its GPUs, RDMA devices and GPU jobs. Every path is read under host_root ("/" on a plain host, the
 * host's root mounted read-only in a DaemonSet, a fixture tree in tests). No network, no Kubernetes.
 *
 * Each collector fills a heap array the caller owns (free()), bounded by the frame format's limits;
 * a device or process that cannot be read whole is skipped and counted in spoke_node_counters, never
 * half-reported. Strings are cut to their field (at a UTF-8 boundary) and bytes that are not valid
 * UTF-8 become '?', so a frame built from them always encodes.
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h), err naming what failed. */
#ifndef SPOKE_NODE_DEV_H
#define SPOKE_NODE_DEV_H

#include <stdint.h>

#include "fl_err.h"
#include "fl_proto.h"
#include "spoke_redact.h"

/* What the collectors skipped, summed across cycles (the daemon logs them in its stats line). */
typedef struct spoke_node_counters {
	uint64_t gpu_unreadable;  /* an amdgpu card whose gpu_busy_percent / vram total is there but cannot be
	                           * read, an NVML device whose handle, name or memory cannot be read, or a GPU
	                           * beyond FL_PROTO_MAX_NODE_GPUS */
	uint64_t rdma_unreadable; /* an infiniband device without readable counters (or beyond FL_PROTO_MAX_RDMA,
	                           * or with a name that does not fit its field) */
	uint64_t proc_unreadable; /* a /proc/PID that vanished or could not be read (normal churn) */
	uint64_t jobs_dropped;    /* GPU jobs beyond FL_PROTO_MAX_JOBS */
	uint64_t nvml_errors;     /* NVML calls that failed */
} spoke_node_counters;

/* One driver's word on one process's accelerator memory on one GPU of the node: AMD's kfd, NVML's running
 * processes, DCMI's resource info. Lists of these are turned into each job's gpu_mask and gpu_memory_bytes. */
typedef struct spoke_node_proc_mem {
	int64_t pid;    /* in the host's pid namespace, as /proc under host_root lists it */
	int32_t gpu_id; /* the node GPU's index (fl_proto_gpu.gpu_id) */
	int64_t bytes;  /* memory it holds there */
} spoke_node_proc_mem;

/* AMD GPUs from host_root/sys/class/drm/card<N>/device (N numeric; "card0-DP-1" connectors skipped),
 * in N order; only cards whose device folder has gpu_busy_percent or mem_info_vram_total (amdgpu) count.
 * Per GPU: gpu_id = its position in that order, gpu_model from product_name (else "AMD GPU <device id>"),
 * memory_mib = mem_info_vram_total / MiB, utilization = gpu_busy_percent, temperature from
 * hwmon/hwmon*\/temp1_input (milli-degrees), power from hwmon power1_average or power1_input (µW),
 * serial = unique_id (else serial_number), numa = numa_node (-1 when absent). node is copied into each row.
 * A card whose gpu_busy_percent or mem_info_vram_total is there but cannot be read is skipped and counted
 * (the others keep their gpu_id); at most FL_PROTO_MAX_NODE_GPUS rows.
 * *out (malloc'd, caller frees; NULL when none) and *n. FL_OK (none is fine), FL_ENOMEM. */
int spoke_node_amd_gpus(const char *host_root, const char *node, fl_proto_gpu **out, uint32_t *n,
                        spoke_node_counters *c, char err[FL_ERR_LEN]);

/* NVIDIA GPUs through NVML loaded at run time. */
typedef struct spoke_nvml spoke_nvml;

/* dlopen(lib) (NULL: "libnvidia-ml.so.1") and nvmlInit_v2. FL_OK with *out (close with spoke_nvml_close),
 * or FL_ENOTFOUND when the library is absent, lacks one of the entry points used, or init fails (err names
 * the library and says which: normal on a node without NVIDIA GPUs); FL_ENOMEM. */
int spoke_nvml_open(const char *lib, spoke_nvml **out, char err[FL_ERR_LEN]);

/* The GPUs NVML sees, as rows for node (gpu_id = NVML index, model from nvmlDeviceGetName, memory,
 * utilization.gpu, temperature, power (mW → W), serial, numa from the PCI bus id under host_root/sys).
 * A device whose handle, name or memory cannot be read is skipped and counted (gpu_unreadable); a reading
 * that fails leaves its field empty (has_utilization false, 0, "", numa -1). Failed calls are counted in
 * nvml_errors, except "not supported" (a feature the GPU lacks). *out (caller frees; NULL when none) and
 * *n, at most FL_PROTO_MAX_NODE_GPUS. FL_OK or FL_ENOMEM. */
int spoke_nvml_gpus(spoke_nvml *nv, const char *host_root, const char *node, fl_proto_gpu **out, uint32_t *n,
                    spoke_node_counters *c, char err[FL_ERR_LEN]);

/* nvmlShutdown and dlclose. NULL is fine. */
void spoke_nvml_close(spoke_nvml *nv);

/* The previous cycle's RDMA counters, to turn them into rates. Zero it before the first call. */
typedef struct spoke_rdma_prev {
	struct {
		char name[FL_NAMESPACE_LEN];
		int64_t rx_bytes, tx_bytes;
	} dev[FL_PROTO_MAX_RDMA];
	uint32_t n;
	int64_t at_ms; /* 0: no previous cycle */
} spoke_rdma_prev;

/* RDMA devices from host_root/sys/class/infiniband/<name>: node_guid, fw_ver, ports/1/state (the part
 * after "N: "), ports/1/link_layer, and port_rcv_data / port_xmit_data of every port (in 4-byte words, as
 * the InfiniBand counters count) summed to bytes. Rates are (now - previous) / elapsed for a device seen in
 * prev, has_rates false otherwise, when a counter went back (reset) or when now_ms is not after prev's;
 * prev is then updated to this cycle. Devices in name order (strcmp), at most FL_PROTO_MAX_RDMA.
 * *out (caller frees; NULL when none) and *n. FL_OK or FL_ENOMEM. */
int spoke_node_rdma(const char *host_root, int64_t now_ms, spoke_rdma_prev *prev, fl_proto_rdma **out, uint32_t *n,
                    spoke_node_counters *c, char err[FL_ERR_LEN]);

/* A GPU job's framework as an earlier cycle found it in the job's maps (its command line names none). */
typedef struct spoke_node_job_seen {
	int64_t pid, started_ms;
	char framework[FL_STATUS_LEN];
} spoke_node_job_seen;

/* GPU jobs: processes under host_root/proc with an open fd whose link target is /dev/kfd, /dev/dri/...,
 * /dev/nvidia... or /dev/davinci... Per job: pid, ppid and pgid and start time from stat (start ticks /
 * CLK_TCK after /proc/stat's btime), name from comm, cmdline as spoke_redact_cmdline makes it in the
 * given mode (REDACTED: secret values "***"; FULL: as it is; NONE: ""; a command line longer than the 4 KiB
 * read loses its cut last word first; it is read in every mode, for the framework), cwd from
 * the cwd link, framework (torch, tensorflow, jax, mindspore, paddle) from the command line, else from the
 * libraries in maps, pod_uid from cgroup ("pod<uid>" in the path; systemd's "pod<uid with _>.slice" turned
 * back into dashes), devices (the distinct GPU device files, sorted, comma-separated, as many whole ones
 * as fit the field). Environment variables are never read, nor anything but the fd folder of a process that
 * holds no GPU device file.
 * seen[0..n_seen) (sorted by pid; NULL when none): frameworks found earlier; a job with the same pid and
 * start time whose command line names none takes that one instead of reading its maps again (a maps of a
 * real PyTorch process is thousands of lines). Only a framework found is remembered, so a job that has
 * not loaded one yet is looked at again next time.
 * Jobs in pid order, at most FL_PROTO_MAX_JOBS (the rest counted in jobs_dropped). *out (caller frees;
 * NULL when none) and *n. FL_OK, FL_ENOMEM, or FL_EIO when host_root/proc itself cannot be read. */
int spoke_node_jobs(const char *host_root, spoke_cmdline_mode cmdline, const spoke_node_job_seen *seen, uint32_t n_seen,
                    fl_proto_job **out, uint32_t *n, spoke_node_counters *c, char err[FL_ERR_LEN]);

#endif
