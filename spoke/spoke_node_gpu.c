/* spoke_node_gpu.c — a node's GPUs: AMD from sysfs (amdgpu's files under /sys/class/drm/cardN/device),
 * NVIDIA through NVML, which is loaded with dlopen at run time so the spoke neither links to it nor needs
 * it on nodes without NVIDIA GPUs. */
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
	return true;
}

int spoke_node_amd_gpus(const char *host_root, const char *node, fl_proto_gpu **out, uint32_t *n,
                        spoke_node_counters *c, char err[FL_ERR_LEN])
{
	*out = NULL;
	*n = 0;
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
		close(devfd);
		if (!ok) {
			c->gpu_unreadable++;
			continue;
		}
		g->gpu_id = id;
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

/* ---- NVML ---- */

/* The few NVML types used here, declared to match nvml.h's ABI. */
typedef int nvmlReturn_t; /* an enum in nvml.h: 0 is NVML_SUCCESS */
typedef struct nvmlDevice_st *nvmlDevice_t;
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

#define NVML_SUCCESS             0
#define NVML_ERROR_NOT_SUPPORTED 3
#define NVML_TEMPERATURE_GPU     0
#define NVML_NAME_BUF            96 /* NVML_DEVICE_NAME_V2_BUFFER_SIZE */
#define NVML_SERIAL_BUF          64 /* NVML_DEVICE_SERIAL_BUFFER_SIZE is 30 */

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
	const char *(*error_string)(nvmlReturn_t); /* optional */
};

static const struct {
	const char *sym;
	size_t off;
	bool optional;
} nvml_syms[] = {
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
};

static const char *nvml_strerror(const spoke_nvml *nv, nvmlReturn_t r)
{
	const char *s = nv->error_string != NULL ? nv->error_string(r) : NULL;
	return s != NULL ? s : "NVML error";
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
	nv->dl = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	if (nv->dl == NULL) {
		const char *why = dlerror();
		fl_seterr(err, FL_ENOTFOUND, "%s: cannot load: %s", lib, why != NULL ? why : "dlopen failed");
		free(nv);
		return FL_ENOTFOUND;
	}
	for (size_t i = 0; i < sizeof(nvml_syms) / sizeof(nvml_syms[0]); i++) {
		void *sym = dlsym(nv->dl, nvml_syms[i].sym);
		if (sym == NULL && !nvml_syms[i].optional) {
			fl_seterr(err, FL_ENOTFOUND, "%s: no symbol %s (NVML too old?)", lib, nvml_syms[i].sym);
			dlclose(nv->dl);
			free(nv);
			return FL_ENOTFOUND;
		}
		/* A function pointer the size of void *, as POSIX dlsym requires. */
		memcpy((char *)nv + nvml_syms[i].off, &sym, sizeof(sym));
	}
	nvmlReturn_t r = nv->init();
	if (r != NVML_SUCCESS) {
		fl_seterr(err, FL_ENOTFOUND, "%s: nvmlInit_v2 failed: %s (%d)", lib, nvml_strerror(nv, r), r);
		dlclose(nv->dl);
		free(nv);
		return FL_ENOTFOUND;
	}
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

/* The NUMA node of the PCI device bus_id ("00000000:3B:00.0") from host_root's sysfs, -1 unknown. */
static int32_t nvml_numa(const char *host_root, const char *bus_id)
{
	unsigned dom, bus, dev, fn;
	char tail;
	if (sscanf(bus_id, "%x:%x:%x.%x%c", &dom, &bus, &dev, &fn, &tail) != 4) {
		return -1;
	}
	char sub[96];
	snprintf(sub, sizeof(sub), "sys/bus/pci/devices/%04x:%02x:%02x.%x", dom, bus, dev, fn);
	int fd = spoke_node_read_open_dir(host_root, sub);
	if (fd < 0) {
		return -1;
	}
	int64_t v;
	int32_t numa = -1;
	if (spoke_node_read_i64(fd, "numa_node", &v) == 0 && v >= -1 && v <= INT32_MAX) {
		numa = (int32_t)v;
	}
	close(fd);
	return numa;
}

int spoke_nvml_gpus(spoke_nvml *nv, const char *host_root, const char *node, fl_proto_gpu **out, uint32_t *n,
                    spoke_node_counters *c, char err[FL_ERR_LEN])
{
	*out = NULL;
	*n = 0;
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

void spoke_nvml_close(spoke_nvml *nv)
{
	if (nv == NULL) {
		return;
	}
	nv->shutdown();
	dlclose(nv->dl);
	free(nv);
}
