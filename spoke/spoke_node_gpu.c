/* spoke_node_gpu.c — a node's GPUs and what their drivers say each process holds on them: AMD from sysfs
 * (amdgpu's files under /sys/class/drm/cardN/device, kfd's under /sys/class/kfd), NVIDIA through NVML,
 * which is loaded with dlopen at run time so the spoke neither links to it nor needs it on nodes without
 * NVIDIA GPUs. */
#include "spoke_node_dev.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spoke_dl.h"
#include "spoke_node_read.h"

#define MIB (1024 * 1024)

/* Appends a zeroed row to *rows (capacity *cap, FL_PROTO_MAX_NODE_GPUS at most). NULL on ENOMEM. */
static fl_proto_gpu *gpu_row(fl_proto_gpu **rows, uint32_t n, uint32_t *cap)
{
	if (n == *cap) {
		uint32_t ncap = *cap == 0 ? 8 : *cap * 2;
		if (ncap > FL_PROTO_MAX_NODE_GPUS) {
			ncap = FL_PROTO_MAX_NODE_GPUS;
		}
		fl_proto_gpu *r = realloc(*rows, (size_t)ncap * sizeof(*r));
		if (r == NULL) {
			return NULL;
		}
		*rows = r;
		*cap = ncap;
	}
	memset(&(*rows)[n], 0, sizeof((*rows)[n]));
	return &(*rows)[n];
}

static void set_text(char *dst, size_t size, const char *src)
{
	spoke_node_read_utf8(dst, size, src, strlen(src));
}

/* Appends e to *list (capacity *cap). Beyond SPOKE_NODE_MAX_PROC_MEM entries e is dropped. False on ENOMEM. */
static bool pm_push(spoke_node_proc_mem **list, uint32_t *n, uint32_t *cap, spoke_node_proc_mem e)
{
	if (*n == SPOKE_NODE_MAX_PROC_MEM) {
		return true;
	}
	if (*n == *cap) {
		uint32_t ncap = *cap == 0 ? 64 : *cap * 2;
		if (ncap > SPOKE_NODE_MAX_PROC_MEM) {
			ncap = SPOKE_NODE_MAX_PROC_MEM;
		}
		spoke_node_proc_mem *l = realloc(*list, (size_t)ncap * sizeof(*l));
		if (l == NULL) {
			return false;
		}
		*list = l;
		*cap = ncap;
	}
	(*list)[(*n)++] = e;
	return true;
}

static int pm_cmp(const void *a, const void *b)
{
	const spoke_node_proc_mem *x = a, *y = b;
	if (x->pid != y->pid) {
		return (x->pid > y->pid) - (x->pid < y->pid);
	}
	return (x->gpu_id > y->gpu_id) - (x->gpu_id < y->gpu_id);
}

/* Hands the list out sorted (NULL when empty). */
static void pm_finish(spoke_node_proc_mem *list, uint32_t count, spoke_node_proc_mem **out, uint32_t *n)
{
	if (count == 0) {
		free(list);
		list = NULL;
	}
	if (count > 1) {
		qsort(list, count, sizeof(*list), pm_cmp);
	}
	*out = list;
	*n = count;
}

/* ---- AMD ---- */

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/* Temperature (°C) and power (W) from the first hwmon folder of dev that has temp1_input; 0 when none. */
static void amd_hwmon(int devfd, fl_proto_gpu *g)
{
	int hfd = openat(devfd, "hwmon", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = hfd >= 0 ? fdopendir(hfd) : NULL;
	if (d == NULL) {
		if (hfd >= 0) {
			close(hfd);
		}
		return;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "hwmon", 5) != 0 || strlen(e->d_name) > 64) {
			continue;
		}
		char p[sizeof(e->d_name) + 32]; /* a hwmon name (at most 64 bytes, checked above) and a file name */
		int64_t v;
		snprintf(p, sizeof(p), "%s/temp1_input", e->d_name);
		if (spoke_node_read_i64(dirfd(d), p, &v) != 0) {
			continue;
		}
		g->temperature = (double)v / 1000.0;
		snprintf(p, sizeof(p), "%s/power1_average", e->d_name);
		if (spoke_node_read_i64(dirfd(d), p, &v) == 0) {
			g->power = (double)v / 1e6;
		} else {
			snprintf(p, sizeof(p), "%s/power1_input", e->d_name);
			if (spoke_node_read_i64(dirfd(d), p, &v) == 0) {
				g->power = (double)v / 1e6;
			}
		}
		break;
	}
	closedir(d);
}

/* The largest RAS count added up: a garbled file cannot overflow the sums. */
#define RAS_MAX 1000000000000LL

/* The "ue: N" and "ce: M" lines of one ras/<block>_err_count file added to *ue and *ce. False when it
 * holds neither. */
static bool ras_parse(char *text, int64_t *ue, int64_t *ce)
{
	bool any = false;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		long long v;
		char kind[3], tail;
		if (sscanf(line, " %2[a-z]: %lld %c", kind, &v, &tail) != 2 || v < 0 || v > RAS_MAX) {
			continue;
		}
		if (strcmp(kind, "ue") == 0) {
			*ue += v;
			any = true;
		} else if (strcmp(kind, "ce") == 0) {
			*ce += v;
			any = true;
		}
	}
	return any;
}

/* health and health_detail from devfd's ras/<block>_err_count files; left "" when there are none. */
static void amd_health(int devfd, fl_proto_gpu *g)
{
	int rfd = openat(devfd, "ras", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = rfd >= 0 ? fdopendir(rfd) : NULL;
	if (d == NULL) {
		if (rfd >= 0) {
			close(rfd);
		}
		return;
	}
	int64_t ue = 0, ce = 0;
	bool any = false;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		static const char suffix[] = "_err_count";
		if (len <= sizeof(suffix) - 1 || strcmp(e->d_name + len - (sizeof(suffix) - 1), suffix) != 0) {
			continue; /* "features" */
		}
		char buf[256];
		if (spoke_node_read_file(dirfd(d), e->d_name, buf, sizeof(buf), NULL) == 0 && ue < RAS_MAX &&
		    ce < RAS_MAX) {
			any = ras_parse(buf, &ue, &ce) || any;
		}
	}
	closedir(d);
	if (any) {
		char detail[64];
		snprintf(detail, sizeof(detail), "ras ue %lld ce %lld", (long long)ue, (long long)ce);
		set_text(g->health, sizeof(g->health), ue > 0 ? "unhealthy" : "healthy");
		set_text(g->health_detail, sizeof(g->health_detail), detail);
	}
}

/* M of the renderD<M> in devfd's drm/ folder; -1 when there is none. */
static int32_t amd_render_minor(int devfd)
{
	int dfd = openat(devfd, "drm", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (d == NULL) {
		if (dfd >= 0) {
			close(dfd);
		}
		return -1;
	}
	int32_t minor = -1;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		uint64_t m;
		if (strncmp(e->d_name, "renderD", 7) == 0 && spoke_node_read_num(e->d_name + 7, 1u << 20, &m)) {
			minor = (int32_t)m;
			break;
		}
	}
	closedir(d);
	return minor;
}

/* Whether devfd's folder is an amdgpu device (has gpu_busy_percent or mem_info_vram_total). */
static bool amd_is_amdgpu(int devfd)
{
	return faccessat(devfd, "gpu_busy_percent", F_OK, 0) == 0 ||
	       faccessat(devfd, "mem_info_vram_total", F_OK, 0) == 0;
}

/* Fills g from the amdgpu device folder devfd. False when a file that is there cannot be read. */
static bool amd_read(int devfd, fl_proto_gpu *g)
{
	char buf[256];
	int64_t v;
	int rv = spoke_node_read_i64(devfd, "gpu_busy_percent", &v);
	if (rv == 0) {
		g->utilization = (double)v;
		g->has_utilization = true;
	} else if (rv != -ENOENT) {
		return false;
	}
	rv = spoke_node_read_i64(devfd, "mem_info_vram_total", &v);
	if (rv == 0) {
		g->memory_mib = v / MIB;
	} else if (rv != -ENOENT) {
		return false;
	}
	if (spoke_node_read_i64(devfd, "mem_info_vram_used", &v) == 0 && v >= 0) {
		g->memory_used_mib = v / MIB;
		g->has_memory_used = true;
	}
	if (spoke_node_read_str(devfd, "product_name", buf, sizeof(buf)) == 0 && buf[0] != '\0') {
		set_text(g->gpu_model, sizeof(g->gpu_model), buf);
	} else {
		char id[32];
		if (spoke_node_read_str(devfd, "device", id, sizeof(id)) != 0) {
			id[0] = '\0';
		}
		snprintf(buf, sizeof(buf), "AMD GPU%s%s", id[0] != '\0' ? " " : "", id);
		set_text(g->gpu_model, sizeof(g->gpu_model), buf);
	}
	if ((spoke_node_read_str(devfd, "unique_id", buf, sizeof(buf)) == 0 && buf[0] != '\0') ||
	    spoke_node_read_str(devfd, "serial_number", buf, sizeof(buf)) == 0) {
		set_text(g->serial, sizeof(g->serial), buf);
	}
	g->numa = -1;
	if (spoke_node_read_i64(devfd, "numa_node", &v) == 0 && v >= -1 && v <= INT32_MAX) {
		g->numa = (int32_t)v;
	}
	amd_hwmon(devfd, g);
	amd_health(devfd, g);
	return true;
}

int spoke_node_amd_gpus(const char *host_root, const char *node, fl_proto_gpu **out, uint32_t *n,
                        spoke_node_counters *c, char err[FL_ERR_LEN])
{
	spoke_node_amd_minors minors;
	return spoke_node_amd_gpus_minors(host_root, node, out, n, &minors, c, err);
}

int spoke_node_amd_gpus_minors(const char *host_root, const char *node, fl_proto_gpu **out, uint32_t *n,
                               spoke_node_amd_minors *minors, spoke_node_counters *c, char err[FL_ERR_LEN])
{
	*out = NULL;
	*n = 0;
	for (uint32_t i = 0; i < FL_PROTO_MAX_NODE_GPUS; i++) {
		minors->minor[i] = -1;
	}
	int drm = spoke_node_read_open_dir(host_root, "sys/class/drm");
	if (drm < 0) {
		return FL_OK; /* no DRM devices at all */
	}
	DIR *d = fdopendir(drm);
	if (d == NULL) {
		close(drm);
		return FL_OK;
	}
	/* The card numbers, sorted: "card10" comes after "card9". */
	uint32_t cards[FL_PROTO_MAX_NODE_GPUS * 2];
	uint32_t n_cards = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		uint64_t num;
		if (strncmp(e->d_name, "card", 4) != 0 || !spoke_node_read_num(e->d_name + 4, 1u << 20, &num)) {
			continue; /* "card0-DP-1", "renderD128", "version" */
		}
		if (n_cards == sizeof(cards) / sizeof(cards[0])) {
			c->gpu_unreadable++;
			continue;
		}
		cards[n_cards++] = (uint32_t)num;
	}
	qsort(cards, n_cards, sizeof(cards[0]), u32_cmp);

	fl_proto_gpu *rows = NULL;
	uint32_t cap = 0, count = 0;
	int32_t pos = 0; /* position among amdgpu cards: the gpu_id */
	for (uint32_t i = 0; i < n_cards; i++) {
		char p[64];
		snprintf(p, sizeof(p), "card%u/device", cards[i]);
		int devfd = openat(dirfd(d), p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (devfd < 0) {
			continue; /* went away, or not a device (a virtual card) */
		}
		if (!amd_is_amdgpu(devfd)) {
			close(devfd);
			continue; /* another driver's card (a BMC's VGA) */
		}
		int32_t id = pos++;
		if (count == FL_PROTO_MAX_NODE_GPUS) {
			c->gpu_unreadable++;
			close(devfd);
			continue;
		}
		fl_proto_gpu *g = gpu_row(&rows, count, &cap);
		if (g == NULL) {
			close(devfd);
			closedir(d);
			free(rows);
			return fl_seterr(err, FL_ENOMEM, "AMD GPUs: out of memory");
		}
		bool ok = amd_read(devfd, g);
		int32_t minor = ok ? amd_render_minor(devfd) : -1;
		close(devfd);
		if (!ok) {
			c->gpu_unreadable++;
			continue;
		}
		g->gpu_id = id;
		if (id < (int32_t)FL_PROTO_MAX_NODE_GPUS) {
			minors->minor[id] = minor;
		}
		set_text(g->node, sizeof(g->node), node);
		count++;
	}
	closedir(d);
	if (count == 0) {
		free(rows);
		rows = NULL;
	}
	*out = rows;
	*n = count;
	return FL_OK;
}

/* ---- AMD kfd: each process's VRAM ---- */

/* A kfd gpu id and the node GPU it is. */
typedef struct kfd_gpu {
	uint64_t kfd_id;
	int32_t gpu_id;
} kfd_gpu;

/* spoke_node_read_lines callback: "drm_render_minor M" of a topology node's properties into *ctx. */
static int kfd_minor_line(void *ctx, char *line, size_t len)
{
	(void)len;
	static const char key[] = "drm_render_minor ";
	uint64_t m;
	if (strncmp(line, key, sizeof(key) - 1) == 0 &&
	    spoke_node_read_num(spoke_node_read_trim(line + sizeof(key) - 1), 1u << 20, &m)) {
		*(int64_t *)ctx = (int64_t)m;
		return 1;
	}
	return 0;
}

/* The node GPU of topology node nfd (by its drm_render_minor), -1 when it is a CPU node or no GPU of ours. */
static int32_t kfd_node_gpu(int nfd, const spoke_node_amd_minors *minors, uint64_t *kfd_id, spoke_node_counters *c)
{
	int64_t id;
	int rv = spoke_node_read_i64(nfd, "gpu_id", &id);
	if (rv == -ENOENT || (rv == 0 && id == 0)) {
		return -1; /* a CPU node */
	}
	int64_t minor = -1;
	if (rv != 0 || id < 0 || spoke_node_read_lines(nfd, "properties", 65536, kfd_minor_line, &minor) != 0) {
		c->kfd_unreadable++;
		return -1;
	}
	for (int32_t g = 0; g < (int32_t)FL_PROTO_MAX_NODE_GPUS && minor >= 0; g++) {
		if (minors->minor[g] == minor) {
			*kfd_id = (uint64_t)id;
			return g;
		}
	}
	return -1;
}

/* The kfd gpu ids of the node's GPUs from host_root's kfd topology, into map (at most
 * FL_PROTO_MAX_NODE_GPUS). Returns how many. */
static uint32_t kfd_topology(const char *host_root, const spoke_node_amd_minors *minors, kfd_gpu *map,
                             spoke_node_counters *c)
{
	int fd = spoke_node_read_open_dir(host_root, "sys/class/kfd/kfd/topology/nodes");
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d == NULL) {
		if (fd >= 0) {
			close(fd);
		}
		return 0;
	}
	uint32_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL && n < FL_PROTO_MAX_NODE_GPUS) {
		if (!spoke_node_read_num(e->d_name, 1u << 20, NULL)) {
			continue;
		}
		int nfd = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (nfd < 0) {
			continue;
		}
		uint64_t kfd_id = 0;
		int32_t g = kfd_node_gpu(nfd, minors, &kfd_id, c);
		close(nfd);
		if (g >= 0) {
			map[n].kfd_id = kfd_id;
			map[n].gpu_id = g;
			n++;
		}
	}
	closedir(d);
	return n;
}

/* Appends process pid's vram_<kfd id> files (folder pfd) to the list. False on ENOMEM. */
static bool kfd_proc(int pfd, int64_t pid, const kfd_gpu *map, uint32_t n_map, spoke_node_proc_mem **list, uint32_t *n,
                     uint32_t *cap, spoke_node_counters *c)
{
	DIR *d = fdopendir(pfd);
	if (d == NULL) {
		close(pfd);
		return true;
	}
	bool ok = true;
	struct dirent *e;
	while (ok && (e = readdir(d)) != NULL) {
		uint64_t kfd_id;
		if (strncmp(e->d_name, "vram_", 5) != 0 || !spoke_node_read_num(e->d_name + 5, UINT32_MAX, &kfd_id)) {
			continue;
		}
		for (uint32_t i = 0; i < n_map; i++) {
			if (map[i].kfd_id != kfd_id) {
				continue;
			}
			int64_t bytes;
			int rv = spoke_node_read_i64(dirfd(d), e->d_name, &bytes);
			if (rv == 0 && bytes >= 0) {
				ok = pm_push(list, n, cap, (spoke_node_proc_mem){pid, map[i].gpu_id, bytes});
			} else if (rv != -ENOENT && rv != -ESRCH) {
				c->kfd_unreadable++; /* not a process that just went away */
			}
			break;
		}
	}
	closedir(d);
	return ok;
}

int spoke_node_amd_proc_mem(const char *host_root, const spoke_node_amd_minors *minors, spoke_node_proc_mem **out,
                            uint32_t *n, spoke_node_counters *c, char err[FL_ERR_LEN])
{
	*out = NULL;
	*n = 0;
	kfd_gpu map[FL_PROTO_MAX_NODE_GPUS];
	uint32_t n_map = kfd_topology(host_root, minors, map, c);
	if (n_map == 0) {
		return FL_OK; /* no kfd, or none of its GPUs is one of ours */
	}
	int fd = spoke_node_read_open_dir(host_root, "sys/class/kfd/kfd/proc");
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d == NULL) {
		if (fd >= 0) {
			close(fd);
		}
		return FL_OK;
	}
	spoke_node_proc_mem *list = NULL;
	uint32_t count = 0, cap = 0;
	bool ok = true;
	struct dirent *e;
	while (ok && (e = readdir(d)) != NULL) {
		uint64_t pid;
		if (!spoke_node_read_num(e->d_name, INT32_MAX, &pid)) {
			continue;
		}
		int pfd = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (pfd >= 0) {
			ok = kfd_proc(pfd, (int64_t)pid, map, n_map, &list, &count, &cap, c);
		}
	}
	closedir(d);
	if (!ok) {
		free(list);
		return fl_seterr(err, FL_ENOMEM, "AMD kfd processes: out of memory");
	}
	pm_finish(list, count, out, n);
	return FL_OK;
}

/* ---- NVML ---- */

/* The few NVML types used here, declared to match nvml.h's ABI (x86-64 and aarch64 layouts asserted). */
typedef int nvmlReturn_t; /* an enum in nvml.h: 0 is NVML_SUCCESS */
typedef struct nvmlDevice_st *nvmlDevice_t;
typedef struct nvmlEventSet_st *nvmlEventSet_t;
typedef struct {
	unsigned long long total, free, used; /* bytes */
} nvmlMemory_t;
typedef struct {
	unsigned int gpu, memory; /* percent over the last sample period */
} nvmlUtilization_t;
typedef struct {
	char busIdLegacy[16]; /* NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE */
	unsigned int domain, bus, device, pciDeviceId, pciSubSystemId;
	char busId[32]; /* NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE: "00000000:3B:00.0" */
} nvmlPciInfo_t;
typedef struct { /* nvmlProcessInfo_t (= _v2_t), what the _v2 and _v3 running-process calls fill */
	unsigned int pid;
	unsigned long long usedGpuMemory; /* bytes, or NVML_VALUE_NOT_AVAILABLE */
	unsigned int gpuInstanceId, computeInstanceId;
} nvmlProcessInfo_t;
typedef struct { /* what nvmlEventSetWait_v2 fills */
	nvmlDevice_t device;
	unsigned long long eventType;
	unsigned long long eventData; /* the XID, for nvmlEventTypeXidCriticalError (999: unknown) */
	unsigned int gpuInstanceId, computeInstanceId;
} nvmlEventData_t;

_Static_assert(sizeof(nvmlProcessInfo_t) == 24 && offsetof(nvmlProcessInfo_t, usedGpuMemory) == 8,
               "nvmlProcessInfo_t layout");
_Static_assert(sizeof(nvmlEventData_t) == 32 && offsetof(nvmlEventData_t, eventData) == 16, "nvmlEventData_t layout");

#define NVML_SUCCESS                       0
#define NVML_ERROR_NOT_SUPPORTED           3
#define NVML_ERROR_INSUFFICIENT_SIZE       7
#define NVML_ERROR_TIMEOUT                 10
#define NVML_TEMPERATURE_GPU               0
#define NVML_MEMORY_ERROR_TYPE_UNCORRECTED 1
#define NVML_VOLATILE_ECC                  0
#define NVML_FEATURE_ENABLED               1
#define NVML_VALUE_NOT_AVAILABLE           0xffffffffffffffffull
#define nvmlEventTypeXidCriticalError      0x0000000000000008ull
#define NVML_NAME_BUF                      96    /* NVML_DEVICE_NAME_V2_BUFFER_SIZE */
#define NVML_SERIAL_BUF                    64    /* NVML_DEVICE_SERIAL_BUFFER_SIZE is 30 */
#define NVML_MAX_PROCS                     4096u /* processes read per GPU per cycle */
#define NVML_MAX_EVENTS                    4096  /* events drained per cycle */

typedef nvmlReturn_t (*nvml_procs_fn)(nvmlDevice_t, unsigned int *, nvmlProcessInfo_t *);

struct spoke_nvml {
	void *dl;
	nvmlReturn_t (*init)(void);
	nvmlReturn_t (*shutdown)(void);
	nvmlReturn_t (*count)(unsigned int *);
	nvmlReturn_t (*handle)(unsigned int, nvmlDevice_t *);
	nvmlReturn_t (*name)(nvmlDevice_t, char *, unsigned int);
	nvmlReturn_t (*memory)(nvmlDevice_t, nvmlMemory_t *);
	nvmlReturn_t (*util)(nvmlDevice_t, nvmlUtilization_t *);
	nvmlReturn_t (*temp)(nvmlDevice_t, int, unsigned int *);
	nvmlReturn_t (*power)(nvmlDevice_t, unsigned int *);
	nvmlReturn_t (*serial)(nvmlDevice_t, char *, unsigned int);
	nvmlReturn_t (*pci)(nvmlDevice_t, nvmlPciInfo_t *);
	/* optional: NULL when the library lacks them */
	const char *(*error_string)(nvmlReturn_t);
	nvmlReturn_t (*ecc)(nvmlDevice_t, int, int, unsigned long long *);
	nvmlReturn_t (*pages_pending)(nvmlDevice_t, int *);
	nvml_procs_fn procs_v3, procs_v2;
	nvmlReturn_t (*event_create)(nvmlEventSet_t *);
	nvmlReturn_t (*event_register)(nvmlDevice_t, unsigned long long, nvmlEventSet_t);
	nvmlReturn_t (*event_wait)(nvmlEventSet_t, nvmlEventData_t *, unsigned int);
	nvmlReturn_t (*event_free)(nvmlEventSet_t);
	/* XID events: the set (NULL: none), the device registered at each index (NULL: not), and the latest
	 * critical XID seen on it since open (0: none). */
	nvmlEventSet_t events;
	nvmlDevice_t xid_dev[FL_PROTO_MAX_NODE_GPUS];
	unsigned long long xid[FL_PROTO_MAX_NODE_GPUS];
};

static const spoke_dl_sym nvml_syms[] = {
    {"nvmlInit_v2", offsetof(spoke_nvml, init), false},
    {"nvmlShutdown", offsetof(spoke_nvml, shutdown), false},
    {"nvmlDeviceGetCount_v2", offsetof(spoke_nvml, count), false},
    {"nvmlDeviceGetHandleByIndex_v2", offsetof(spoke_nvml, handle), false},
    {"nvmlDeviceGetName", offsetof(spoke_nvml, name), false},
    {"nvmlDeviceGetMemoryInfo", offsetof(spoke_nvml, memory), false},
    {"nvmlDeviceGetUtilizationRates", offsetof(spoke_nvml, util), false},
    {"nvmlDeviceGetTemperature", offsetof(spoke_nvml, temp), false},
    {"nvmlDeviceGetPowerUsage", offsetof(spoke_nvml, power), false},
    {"nvmlDeviceGetSerial", offsetof(spoke_nvml, serial), false},
    {"nvmlDeviceGetPciInfo_v3", offsetof(spoke_nvml, pci), false},
    {"nvmlErrorString", offsetof(spoke_nvml, error_string), true},
    {"nvmlDeviceGetTotalEccErrors", offsetof(spoke_nvml, ecc), true},
    {"nvmlDeviceGetRetiredPagesPendingStatus", offsetof(spoke_nvml, pages_pending), true},
    {"nvmlDeviceGetComputeRunningProcesses_v3", offsetof(spoke_nvml, procs_v3), true},
    {"nvmlDeviceGetComputeRunningProcesses_v2", offsetof(spoke_nvml, procs_v2), true},
    {"nvmlEventSetCreate", offsetof(spoke_nvml, event_create), true},
    {"nvmlDeviceRegisterEvents", offsetof(spoke_nvml, event_register), true},
    {"nvmlEventSetWait_v2", offsetof(spoke_nvml, event_wait), true},
    {"nvmlEventSetFree", offsetof(spoke_nvml, event_free), true},
};

static const char *nvml_strerror(const spoke_nvml *nv, nvmlReturn_t r)
{
	const char *s = nv->error_string != NULL ? nv->error_string(r) : NULL;
	return s != NULL ? s : "NVML error";
}

/* Creates the XID event set and registers every device for critical XID errors, when the library has the
 * four event calls. A device that cannot be registered is left out (its XIDs are not seen). */
static void nvml_events_open(spoke_nvml *nv)
{
	if (nv->event_create == NULL || nv->event_register == NULL || nv->event_wait == NULL ||
	    nv->event_free == NULL || nv->event_create(&nv->events) != NVML_SUCCESS) {
		nv->events = NULL;
		return;
	}
	unsigned int total = 0;
	if (nv->count(&total) != NVML_SUCCESS) {
		total = 0;
	}
	bool any = false;
	for (unsigned int i = 0; i < total && i < FL_PROTO_MAX_NODE_GPUS; i++) {
		nvmlDevice_t h = NULL;
		if (nv->handle(i, &h) == NVML_SUCCESS && h != NULL &&
		    nv->event_register(h, nvmlEventTypeXidCriticalError, nv->events) == NVML_SUCCESS) {
			nv->xid_dev[i] = h;
			any = true;
		}
	}
	if (!any) {
		nv->event_free(nv->events);
		nv->events = NULL;
	}
}

int spoke_nvml_open(const char *lib, spoke_nvml **out, char err[FL_ERR_LEN])
{
	*out = NULL;
	if (lib == NULL) {
		lib = "libnvidia-ml.so.1";
	}
	spoke_nvml *nv = calloc(1, sizeof(*nv));
	if (nv == NULL) {
		return fl_seterr(err, FL_ENOMEM, "%s: out of memory", lib);
	}
	int rv = spoke_dl_open(lib, 0, "NVML", nv, nvml_syms, sizeof(nvml_syms) / sizeof(nvml_syms[0]), &nv->dl, err);
	if (rv != FL_OK) {
		free(nv);
		return rv;
	}
	nvmlReturn_t r = nv->init();
	if (r != NVML_SUCCESS) {
		fl_seterr(err, FL_ENOTFOUND, "%s: nvmlInit_v2 failed: %s (%d)", lib, nvml_strerror(nv, r), r);
		dlclose(nv->dl);
		free(nv);
		return FL_ENOTFOUND;
	}
	nvml_events_open(nv);
	*out = nv;
	return FL_OK;
}

/* Counts r in nvml_errors unless it is a success or a "not supported" (a feature the GPU lacks, not
 * a failure). True on success. */
static bool nvml_ok(nvmlReturn_t r, spoke_node_counters *c)
{
	if (r != NVML_SUCCESS && r != NVML_ERROR_NOT_SUPPORTED) {
		c->nvml_errors++;
	}
	return r == NVML_SUCCESS;
}

/* Whether xid is one NVIDIA documents as the application's own fault (an illegal address, a page fault
 * or a kill in the program), not the GPU's: NVIDIA's device plugin skips the same ones. */
static bool nvml_xid_is_app(unsigned long long xid)
{
	return xid == 13 || xid == 31 || xid == 43 || xid == 45 || xid == 68 || xid == 109;
}

/* Takes the XID events queued since the last cycle, keeping each device's latest critical one. */
static void nvml_drain_xid(spoke_nvml *nv, spoke_node_counters *c)
{
	if (nv->events == NULL) {
		return;
	}
	for (int i = 0; i < NVML_MAX_EVENTS; i++) {
		nvmlEventData_t ev;
		memset(&ev, 0, sizeof(ev));
		nvmlReturn_t r = nv->event_wait(nv->events, &ev, 0);
		if (r == NVML_ERROR_TIMEOUT || !nvml_ok(r, c)) {
			return; /* none left (or the set failed: try again next cycle) */
		}
		if ((ev.eventType & nvmlEventTypeXidCriticalError) == 0 || nvml_xid_is_app(ev.eventData) ||
		    ev.device == NULL) {
			continue;
		}
		for (uint32_t d = 0; d < FL_PROTO_MAX_NODE_GPUS; d++) {
			if (nv->xid_dev[d] == ev.device) {
				nv->xid[d] = ev.eventData != 0 ? ev.eventData : 999;
				break;
			}
		}
	}
}

/* health and health_detail of device h (NVML index i) from ECC, retired pages and XID events. */
static void nvml_health(spoke_nvml *nv, nvmlDevice_t h, unsigned int i, fl_proto_gpu *g, spoke_node_counters *c)
{
	char detail[64] = "";
	bool answered = false;
	unsigned long long ue = 0;
	if (nv->ecc != NULL && nvml_ok(nv->ecc(h, NVML_MEMORY_ERROR_TYPE_UNCORRECTED, NVML_VOLATILE_ECC, &ue), c)) {
		answered = true;
		if (ue > 0) {
			snprintf(detail, sizeof(detail), "ecc ue %llu", ue);
		}
	}
	int pending = 0;
	if (nv->pages_pending != NULL && nvml_ok(nv->pages_pending(h, &pending), c)) {
		answered = true;
		if (pending == NVML_FEATURE_ENABLED && detail[0] == '\0') {
			snprintf(detail, sizeof(detail), "pages pending");
		}
	}
	if (i < FL_PROTO_MAX_NODE_GPUS && nv->events != NULL && nv->xid_dev[i] == h) {
		answered = true;
		if (nv->xid[i] != 0 && detail[0] == '\0') {
			snprintf(detail, sizeof(detail), "xid %llu", nv->xid[i]);
		}
	}
	if (answered) {
		set_text(g->health, sizeof(g->health), detail[0] != '\0' ? "unhealthy" : "healthy");
		set_text(g->health_detail, sizeof(g->health_detail), detail);
	}
}

/* The NUMA node of the PCI device bus_id ("00000000:3B:00.0") from host_root's sysfs, -1 unknown. */
static int32_t nvml_numa(const char *host_root, const char *bus_id)
{
	unsigned dom, bus, dev, fn;
	char tail;
	if (sscanf(bus_id, "%x:%x:%x.%x%c", &dom, &bus, &dev, &fn, &tail) != 4) {
		return -1;
	}
	return spoke_node_read_pci_numa(host_root, dom, bus, dev, fn);
}

/* The readings of device h (NVML index i) that may fail alone: utilization, temperature, power, serial,
 * NUMA node, health. */
static void nvml_readings(spoke_nvml *nv, const char *host_root, nvmlDevice_t h, unsigned int i, fl_proto_gpu *g,
                          spoke_node_counters *c)
{
	nvmlUtilization_t u;
	if (nvml_ok(nv->util(h, &u), c)) {
		g->utilization = u.gpu;
		g->has_utilization = true;
	}
	unsigned int t, mw;
	if (nvml_ok(nv->temp(h, NVML_TEMPERATURE_GPU, &t), c)) {
		g->temperature = t;
	}
	if (nvml_ok(nv->power(h, &mw), c)) {
		g->power = mw / 1000.0;
	}
	char serial[NVML_SERIAL_BUF] = "";
	if (nvml_ok(nv->serial(h, serial, sizeof(serial)), c)) {
		serial[sizeof(serial) - 1] = '\0';
		set_text(g->serial, sizeof(g->serial), serial);
	}
	nvmlPciInfo_t pci;
	memset(&pci, 0, sizeof(pci));
	g->numa = -1;
	if (nvml_ok(nv->pci(h, &pci), c)) {
		pci.busId[sizeof(pci.busId) - 1] = '\0';
		g->numa = nvml_numa(host_root, pci.busId);
	}
	nvml_health(nv, h, i, g, c);
}

int spoke_nvml_gpus(spoke_nvml *nv, const char *host_root, const char *node, fl_proto_gpu **out, uint32_t *n,
                    spoke_node_counters *c, char err[FL_ERR_LEN])
{
	*out = NULL;
	*n = 0;
	nvml_drain_xid(nv, c);
	unsigned int total = 0;
	if (!nvml_ok(nv->count(&total), c)) {
		return FL_OK;
	}
	if (total > FL_PROTO_MAX_NODE_GPUS) {
		c->gpu_unreadable += total - FL_PROTO_MAX_NODE_GPUS;
		total = FL_PROTO_MAX_NODE_GPUS;
	}
	fl_proto_gpu *rows = NULL;
	uint32_t cap = 0, count = 0;
	for (unsigned int i = 0; i < total; i++) {
		nvmlDevice_t h = NULL;
		char name[NVML_NAME_BUF] = "";
		nvmlMemory_t mem = {0};
		if (!nvml_ok(nv->handle(i, &h), c) || !nvml_ok(nv->name(h, name, sizeof(name)), c) ||
		    !nvml_ok(nv->memory(h, &mem), c)) {
			c->gpu_unreadable++;
			continue;
		}
		fl_proto_gpu *g = gpu_row(&rows, count, &cap);
		if (g == NULL) {
			free(rows);
			return fl_seterr(err, FL_ENOMEM, "NVML GPUs: out of memory");
		}
		name[sizeof(name) - 1] = '\0';
		set_text(g->node, sizeof(g->node), node);
		g->gpu_id = (int32_t)i;
		set_text(g->gpu_model, sizeof(g->gpu_model), name);
		g->memory_mib = (int64_t)(mem.total / MIB);
		g->memory_used_mib = (int64_t)(mem.used / MIB);
		g->has_memory_used = true;
		nvml_readings(nv, host_root, h, i, g, c);
		count++;
	}
	if (count == 0) {
		free(rows);
		rows = NULL;
	}
	*out = rows;
	*n = count;
	return FL_OK;
}

/* Appends the compute processes NVML lists on device h (node GPU gpu_id): a size call, then a fill call
 * with room for a few more (processes start in between), retried once. False on ENOMEM. */
static bool nvml_dev_procs(nvml_procs_fn fn, nvmlDevice_t h, int32_t gpu_id, spoke_node_proc_mem **list, uint32_t *n,
                           uint32_t *cap, spoke_node_counters *c)
{
	unsigned int want = 0;
	nvmlReturn_t r = fn(h, &want, NULL);
	for (int attempt = 0; attempt < 2 && r == NVML_ERROR_INSUFFICIENT_SIZE; attempt++) {
		unsigned int room = want + 8 < NVML_MAX_PROCS ? want + 8 : NVML_MAX_PROCS;
		nvmlProcessInfo_t *infos = calloc(room, sizeof(*infos));
		if (infos == NULL) {
			return false;
		}
		unsigned int got = room;
		r = fn(h, &got, infos);
		bool ok = true;
		for (unsigned int k = 0; r == NVML_SUCCESS && k < got && k < room && ok; k++) {
			int64_t bytes =
			    infos[k].usedGpuMemory == NVML_VALUE_NOT_AVAILABLE || infos[k].usedGpuMemory > INT64_MAX
			        ? -1
			        : (int64_t)infos[k].usedGpuMemory;
			ok = pm_push(list, n, cap, (spoke_node_proc_mem){(int64_t)infos[k].pid, gpu_id, bytes});
		}
		free(infos);
		if (!ok) {
			return false;
		}
		want = got;
	}
	nvml_ok(r, c); /* a list still too large after the retry counts as NVML_ERROR_INSUFFICIENT_SIZE */
	return true;
}

int spoke_nvml_proc_mem(spoke_nvml *nv, const fl_proto_gpu *gpus, uint32_t n_gpus, spoke_node_proc_mem **out,
                        uint32_t *n, spoke_node_counters *c, char err[FL_ERR_LEN])
{
	*out = NULL;
	*n = 0;
	nvml_procs_fn fn = nv->procs_v3 != NULL ? nv->procs_v3 : nv->procs_v2;
	if (fn == NULL) {
		return FL_OK;
	}
	spoke_node_proc_mem *list = NULL;
	uint32_t count = 0, cap = 0;
	for (uint32_t i = 0; i < n_gpus; i++) {
		nvmlDevice_t h = NULL;
		if (gpus[i].gpu_id < 0 || !nvml_ok(nv->handle((unsigned int)gpus[i].gpu_id, &h), c)) {
			continue;
		}
		if (!nvml_dev_procs(fn, h, gpus[i].gpu_id, &list, &count, &cap, c)) {
			free(list);
			return fl_seterr(err, FL_ENOMEM, "NVML processes: out of memory");
		}
	}
	pm_finish(list, count, out, n);
	return FL_OK;
}

void spoke_nvml_close(spoke_nvml *nv)
{
	if (nv == NULL) {
		return;
	}
	if (nv->events != NULL) {
		nv->event_free(nv->events);
	}
	nv->shutdown();
	dlclose(nv->dl);
	free(nv);
}
