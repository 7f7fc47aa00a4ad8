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
	uint64_t kfd_unreadable;  /* an AMD kfd per-process vram file or topology node that is there but cannot be
	                           * read (a process that exits while being read is not counted) */
	uint64_t dcmi_errors;     /* DCMI calls that failed (not counting "not supported") */
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
 * memory_used_mib = mem_info_vram_used / MiB (has_memory_used; absent: unknown). health from the RAS
 * counters ras/<block>_err_count ("ue: N" and "ce: M" lines): "unhealthy" when any ue > 0, else "healthy",
 * health_detail "ras ue U ce C" (sums over the blocks); "" and "" when no such file is there or readable.
 * A card whose gpu_busy_percent or mem_info_vram_total is there but cannot be read is skipped and counted
 * (the others keep their gpu_id); at most FL_PROTO_MAX_NODE_GPUS rows.
 * *out (malloc'd, caller frees; NULL when none) and *n. FL_OK (none is fine), FL_ENOMEM. */
int spoke_node_amd_gpus(const char *host_root, const char *node, fl_proto_gpu **out, uint32_t *n,
                        spoke_node_counters *c, char err[FL_ERR_LEN]);

/* The render minor of each AMD GPU by gpu_id: M of the renderD<M> in its card's device/drm/ folder (the
 * /dev/dri/renderD<M> a process opens, and kfd topology's drm_render_minor); -1 when it has none or is no
 * AMD GPU of this node. */
typedef struct spoke_node_amd_minors {
	int32_t minor[FL_PROTO_MAX_NODE_GPUS];
} spoke_node_amd_minors;

/* spoke_node_amd_gpus, and minors (caller's) filled for the rows it returns (every other entry -1). */
int spoke_node_amd_gpus_minors(const char *host_root, const char *node, fl_proto_gpu **out, uint32_t *n,
                               spoke_node_amd_minors *minors, spoke_node_counters *c, char err[FL_ERR_LEN]);

/* The most driver per-process entries one collector returns in a cycle (the rest are dropped). */
#define SPOKE_NODE_MAX_PROC_MEM 65536u

/* AMD's per-process VRAM: host_root/sys/class/kfd/kfd/proc/<pid>/vram_<kfd gpu id> (bytes). A kfd gpu id
 * is the gpu_id file of a host_root/sys/class/kfd/kfd/topology/nodes/<n> folder (CPU nodes have none or
 * 0), mapped to the node GPU whose render minor (minors) equals that node's properties
 * "drm_render_minor"; a vram file of a kfd gpu id that maps to no node GPU is left out. Only a process's
 * files are read, never its memory. No kfd folder: none. Sorted by (pid, gpu_id); at most
 * SPOKE_NODE_MAX_PROC_MEM. *out (caller frees; NULL when none) and *n. FL_OK or FL_ENOMEM. */
int spoke_node_amd_proc_mem(const char *host_root, const spoke_node_amd_minors *minors, spoke_node_proc_mem **out,
                            uint32_t *n, spoke_node_counters *c, char err[FL_ERR_LEN]);

/* NVIDIA GPUs through NVML loaded at run time. */
typedef struct spoke_nvml spoke_nvml;

/* dlopen(lib) (NULL: "libnvidia-ml.so.1") and nvmlInit_v2; when the library has the event calls, an event
 * set with every device registered for critical XID errors (see spoke_nvml_gpus). FL_OK with *out (close
 * with spoke_nvml_close), or FL_ENOTFOUND when the library is absent, lacks one of the entry points used,
 * or init fails (err names the library and says which: normal on a node without NVIDIA GPUs); FL_ENOMEM. */
int spoke_nvml_open(const char *lib, spoke_nvml **out, char err[FL_ERR_LEN]);

/* The GPUs NVML sees, as rows for node (gpu_id = NVML index, model from nvmlDeviceGetName, memory,
 * utilization.gpu, temperature, power (mW → W), serial, numa from the PCI bus id under host_root/sys).
 * A device whose handle, name or memory cannot be read is skipped and counted (gpu_unreadable); a reading
 * that fails leaves its field empty (has_utilization false, 0, "", numa -1). Failed calls are counted in
 * nvml_errors, except "not supported" (a feature the GPU lacks). memory_used_mib = memory used / MiB.
 * health (each call optional in the library): "unhealthy" when the volatile uncorrected ECC count is > 0
 * (detail "ecc ue N"), else when retired pages are pending ("pages pending"), else when a critical XID
 * other than an application's own (13, 31, 43, 45, 68, 109) was seen since open ("xid N", the latest);
 * "healthy" (detail "") when at least one of those answered; "" unknown otherwise. The XID events
 * queued since the last call are drained first (wait with timeout 0). *out (caller frees; NULL when none) and
 * *n, at most FL_PROTO_MAX_NODE_GPUS. FL_OK or FL_ENOMEM. */
int spoke_nvml_gpus(spoke_nvml *nv, const char *host_root, const char *node, fl_proto_gpu **out, uint32_t *n,
                    spoke_node_counters *c, char err[FL_ERR_LEN]);

/* The processes NVML lists on each of gpus[0..n_gpus) (rows spoke_nvml_gpus returned: gpu_id = NVML
 * index) through nvmlDeviceGetComputeRunningProcesses_v3 (else _v2; neither in the library: none), with
 * usedGpuMemory as bytes (-1 when NVML says "not available"). pid as the driver gives it (the host's).
 * Failed calls counted in nvml_errors (that GPU's list is then left out). Sorted by (pid, gpu_id), at most
 * SPOKE_NODE_MAX_PROC_MEM. *out (caller frees; NULL when none) and *n. FL_OK or FL_ENOMEM. */
int spoke_nvml_proc_mem(spoke_nvml *nv, const fl_proto_gpu *gpus, uint32_t n_gpus, spoke_node_proc_mem **out,
                        uint32_t *n, spoke_node_counters *c, char err[FL_ERR_LEN]);

/* nvmlShutdown and dlclose. NULL is fine. */
void spoke_nvml_close(spoke_nvml *nv);

/* Fills each job's accelerator fields from the driver's per-process lists pm[0..n_pm) (sorted here in
 * place by (pid, gpu_id); NULL when none) and the node's GPU rows gpus[0..n_gpus):
 * - a job some entry of pm names (same pid): gpu_mask = the node GPUs where it holds memory (bytes > 0, or
 *   -1: an amount the driver does not say); gpu_memory_bytes = the sum of the known amounts
 *   (has_gpu_memory when at least one is known, 0 bytes included);
 * - a job no entry names: gpu_mask from its devices field, for the device files of gpu_source's kind
 *   ("nvml": /dev/nvidia<N> → N; "dcmi": /dev/davinci<N> → N; "amd": /dev/dri/renderD<M> → the GPU whose
 *   render minor in minors (NULL: none) is M); has_gpu_memory false;
 * - bits only for gpu_ids the rows hold; gpu_utilization = the mean utilization of the mask's GPUs that
 *   have one (has_gpu_utilization false when none has).
 * The jobs' other fields are untouched. Cannot fail. */
void spoke_node_jobs_attach_gpus(fl_proto_job *jobs, uint32_t n_jobs, const fl_proto_gpu *gpus, uint32_t n_gpus,
                                 const char *gpu_source, const spoke_node_amd_minors *minors, spoke_node_proc_mem *pm,
                                 uint32_t n_pm);

/* Huawei Ascend NPUs through DCMI (libdcmi.so, the driver's device management library) loaded at run
 * time. An NPU is one (card, device) pair of dcmi_get_card_list x dcmi_get_device_num_in_card; its gpu_id
 * is its position in (card, device) order, the same in spoke_dcmi_gpus and spoke_dcmi_proc_mem. */
typedef struct spoke_dcmi spoke_dcmi;

/* dlopen(lib) (NULL or "": "libdcmi.so") and dcmi_init. FL_OK with *out (close with spoke_dcmi_close), or
 * FL_ENOTFOUND when the library is absent, lacks one of the entry points used, or dcmi_init fails (err
 * names the library and says which: normal on a node without Ascend NPUs); FL_ENOMEM. */
int spoke_dcmi_open(const char *lib, spoke_dcmi **out, char err[FL_ERR_LEN]);

/* The NPUs DCMI sees, as rows for node: gpu_model = chip_type + chip_name ("Ascend910B3"), memory_mib and
 * memory_used_mib from the HBM (dcmi_get_device_hbm_info; dcmi_get_device_memory_info_v3 on chips without
 * HBM), utilization = AI-core usage, temperature (°C), power (0.1 W units → W), serial from the device's
 * electronic label, numa from the PCIe bus id under host_root/sys (-1 unknown), health from
 * dcmi_get_device_health (0 healthy, 1 warning, 2 and 3 unhealthy, detail "dcmi health N"; "" when it
 * does not answer). An NPU whose chip info or memory cannot be read is skipped and counted
 * (gpu_unreadable; the others keep their gpu_id); a reading that fails leaves its field empty. Failed
 * calls are counted in dcmi_errors, except "not supported". *out (caller frees; NULL when none) and *n, at
 * most FL_PROTO_MAX_NODE_GPUS. FL_OK or FL_ENOMEM. */
int spoke_dcmi_gpus(spoke_dcmi *d, const char *host_root, const char *node, fl_proto_gpu **out, uint32_t *n,
                    spoke_node_counters *c, char err[FL_ERR_LEN]);

/* The processes holding NPU memory, from dcmi_get_device_resource_info on every NPU (host pids, bytes):
 * one row per (process, NPU), in NPU order. An NPU that does not answer is left out (dcmi_errors unless
 * "not supported"). *out (caller frees; NULL when none) and *n. FL_OK or FL_ENOMEM. */
int spoke_dcmi_proc_mem(spoke_dcmi *d, spoke_node_proc_mem **out, uint32_t *n, spoke_node_counters *c,
                        char err[FL_ERR_LEN]);

/* dlclose (DCMI has no shutdown call). NULL is fine. */
void spoke_dcmi_close(spoke_dcmi *d);

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

/* What one cycle saw of a GPU job, for the next cycle (spoke_node_jobs' seen and now, in pid order). */
typedef struct spoke_node_job_seen {
	int64_t pid, started_ms;       /* the job's identity */
	char framework[FL_STATUS_LEN]; /* as found (command line, else maps); "" when none yet */
	int64_t cpu_ticks;             /* utime + stime from its stat, in clock ticks */
	int64_t uptime_cs;             /* host_root/proc/uptime's first number then, in 1/100 s; -1 unknown */
} spoke_node_job_seen;

/* What of a job spoke_node_jobs sends, from the spoke config. */
typedef struct spoke_node_jobs_opts {
	spoke_cmdline_mode cmdline; /* job_cmdline: the command line, and so the parameters and config path */
	const char (*env_names)[FL_KV_KEY_LEN]; /* job_env: the environment variables kept (names, exact) */
	uint32_t n_env_names;                   /* 0: no job's environ is ever opened */
} spoke_node_jobs_opts;

/* GPU jobs: processes under host_root/proc with an open fd whose link target is /dev/kfd, /dev/dri/...,
 * /dev/nvidia... or /dev/davinci... Per job: pid, ppid and pgid and start time from stat (start ticks /
 * CLK_TCK after /proc/stat's btime), name from comm, cmdline as spoke_redact_cmdline makes it in
 * opts->cmdline (REDACTED: secret values "***"; FULL: as it is; NONE: ""; a command line longer than the
 * 4 KiB read loses its cut last word first; it is read in every mode, for the framework), cwd from
 * the cwd link, framework (torch, tensorflow, jax, mindspore, paddle) from the command line, else from the
 * libraries in maps, pod_uid from cgroup ("pod<uid>" in the path; systemd's "pod<uid with _>.slice" turned
 * back into dashes), devices (the distinct GPU device files, sorted, comma-separated, as many whole ones
 * as fit the field).
 * Process metrics: state (stat field 3), threads (field 20), rss_bytes (field 24 pages * page size), fds
 * (the numeric entries of fd/, at most 65536 looked at), cpu_percent (has_cpu) = utime+stime ticks since the
 * previous cycle / CLK_TCK / the seconds host_root/proc/uptime advanced * 100, for a job in seen with the
 * same pid and start time; none on a job's first cycle, when uptime did not advance or cannot be read.
 * params and config_path from the command line as sent (spoke_job_params; none in NONE mode); env: the
 * variables of /proc/PID/environ (its first 128 KiB) named in opts->env_names, in environ order, at most
 * FL_PROTO_MAX_JOB_ENV, values cut to their field. Nothing else of environ is kept, and it is opened only
 * for GPU jobs and only when env_names is not empty; config files are never opened. Nothing but the fd
 * folder of a process that holds no GPU device file is read. gpu_mask, gpu_memory and gpu_utilization are
 * left empty (spoke_node_jobs_attach_gpus fills them).
 * seen[0..n_seen) (sorted by pid; NULL when none): the previous cycle's now. A job with the same pid and
 * start time whose command line names no framework takes the one found earlier instead of reading its
 * maps again (a maps of a real PyTorch process is thousands of lines).
 * Jobs in pid order, at most FL_PROTO_MAX_JOBS (the rest counted in jobs_dropped). *out and each job's
 * params and env arrays are the caller's (spoke_node_jobs_free, or fl_proto_frame_free once in a frame);
 * NULL when none. now (may be NULL): *now gets a malloc'd array parallel to *out (n entries; NULL when
 * none), the seen of the next call. FL_OK, FL_ENOMEM, or FL_EIO when host_root/proc itself cannot be read. */
int spoke_node_jobs(const char *host_root, const spoke_node_jobs_opts *opts, const spoke_node_job_seen *seen,
                    uint32_t n_seen, fl_proto_job **out, spoke_node_job_seen **now, uint32_t *n, spoke_node_counters *c,
                    char err[FL_ERR_LEN]);

/* Frees jobs[0..n) with each one's params and env arrays. NULL is fine. */
void spoke_node_jobs_free(fl_proto_job *jobs, uint32_t n);

#endif
