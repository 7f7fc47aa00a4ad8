/* fake_nvml.c — a stand-in for libnvidia-ml.so.1 (NVIDIA's NVML), which cannot be installed here (it
 * ships with the NVIDIA driver). Built as the module libfake_nvml.so, it exports the NVML entry points
 * spoke_nvml_* resolves, with nvml.h's ABI (the few types are declared below), and fixed answers:
 *
 *   index 0: "NVIDIA H100 80GB HBM3", 81559 MiB (+ 512 KiB), utilization 37 %, 41 °C, 312500 mW,
 *            serial "1650523012345", bus id "00000000:3B:00.0"
 *   index 1: "NVIDIA H100 80GB HBM3", 81559 MiB, utilization 0 %, 35 °C, power NOT_SUPPORTED,
 *            serial "1650523012346", bus id "00000000:86:00.0"
 *   index 2: lost: nvmlDeviceGetMemoryInfo answers NVML_ERROR_GPU_IS_LOST
 *
 *   every device: memory used 1024 MiB (1 GiB); volatile uncorrected ECC count 0 and no retired pages
 *   pending unless the environment says otherwise (below); no running processes unless it says so.
 *
 * FAKE_NVML_INIT_ERROR=N in the environment makes nvmlInit_v2 answer N (9: driver not loaded). Calls
 * before nvmlInit_v2 or after nvmlShutdown answer NVML_ERROR_UNINITIALIZED. Read at each call:
 *   FAKE_NVML_ECC="gpu:count,..."        nvmlDeviceGetTotalEccErrors(UNCORRECTED, VOLATILE) of those GPUs
 *   FAKE_NVML_PAGES_PENDING="gpu,..."    those GPUs have retired pages pending
 *   FAKE_NVML_PROCS="pid:gpu:bytes,..."  nvmlDeviceGetComputeRunningProcesses_v3's lists (bytes "na":
 *                                        NVML_VALUE_NOT_AVAILABLE); there is no _v2
 *   FAKE_NVML_PROCS_HIDDEN=N             a size call (no buffer) counts N fewer of them: processes that
 *                                        start between the size call and the fill call
 * Read by nvmlEventSetCreate: FAKE_NVML_XID="gpu:xid,..." queues those critical XID events, delivered in
 * order by nvmlEventSetWait_v2 (timeout ignored; NVML_ERROR_TIMEOUT once none is left) to a set the GPU
 * is registered with. Test use only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int nvmlReturn_t;
typedef struct nvmlDevice_st *nvmlDevice_t;
typedef struct {
	unsigned long long total, free, used;
} nvmlMemory_t;
typedef struct {
	unsigned int gpu, memory;
} nvmlUtilization_t;
typedef struct {
	char busIdLegacy[16];
	unsigned int domain, bus, device, pciDeviceId, pciSubSystemId;
	char busId[32];
} nvmlPciInfo_t;

typedef struct nvmlEventSet_st *nvmlEventSet_t;
typedef struct {
	unsigned int pid;
	unsigned long long usedGpuMemory;
	unsigned int gpuInstanceId, computeInstanceId;
} nvmlProcessInfo_t;
typedef struct {
	nvmlDevice_t device;
	unsigned long long eventType, eventData;
	unsigned int gpuInstanceId, computeInstanceId;
} nvmlEventData_t;

enum {
	NVML_SUCCESS = 0,
	NVML_ERROR_UNINITIALIZED = 1,
	NVML_ERROR_INVALID_ARGUMENT = 2,
	NVML_ERROR_NOT_SUPPORTED = 3,
	NVML_ERROR_INSUFFICIENT_SIZE = 7,
	NVML_ERROR_TIMEOUT = 10,
	NVML_ERROR_GPU_IS_LOST = 15,
};

struct nvmlDevice_st {
	const char *name, *serial, *bus_id;
	unsigned long long mem_total;
	unsigned int util, temp, power_mw;
	unsigned int bus;
	int power_supported, lost;
};

static struct nvmlDevice_st devices[] = {
    {"NVIDIA H100 80GB HBM3", "1650523012345", "00000000:3B:00.0", 81559ull * 1048576 + 524288, 37, 41, 312500, 0x3b, 1,
     0},
    {"NVIDIA H100 80GB HBM3", "1650523012346", "00000000:86:00.0", 81559ull * 1048576, 0, 35, 0, 0x86, 0, 0},
    {"NVIDIA H100 80GB HBM3", "1650523012347", "00000000:C1:00.0", 81559ull * 1048576, 0, 30, 100000, 0xc1, 1, 1},
};
#define N_DEVICES (sizeof(devices) / sizeof(devices[0]))

static int initialized;

nvmlReturn_t nvmlInit_v2(void);
nvmlReturn_t nvmlShutdown(void);
const char *nvmlErrorString(nvmlReturn_t r);
nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count);
nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device);
nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length);
nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *memory);
nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t device, nvmlUtilization_t *utilization);
nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t device, int sensor, unsigned int *temp);
nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int *power);
nvmlReturn_t nvmlDeviceGetSerial(nvmlDevice_t device, char *serial, unsigned int length);
nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t device, nvmlPciInfo_t *pci);
nvmlReturn_t nvmlDeviceGetTotalEccErrors(nvmlDevice_t device, int type, int counter, unsigned long long *count);
nvmlReturn_t nvmlDeviceGetRetiredPagesPendingStatus(nvmlDevice_t device, int *pending);
nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t device, unsigned int *count,
                                                     nvmlProcessInfo_t *infos);
nvmlReturn_t nvmlEventSetCreate(nvmlEventSet_t *set);
nvmlReturn_t nvmlDeviceRegisterEvents(nvmlDevice_t device, unsigned long long types, nvmlEventSet_t set);
nvmlReturn_t nvmlEventSetWait_v2(nvmlEventSet_t set, nvmlEventData_t *data, unsigned int timeoutms);
nvmlReturn_t nvmlEventSetFree(nvmlEventSet_t set);

nvmlReturn_t nvmlInit_v2(void)
{
	const char *e = getenv("FAKE_NVML_INIT_ERROR");
	if (e != NULL && atoi(e) != 0) {
		return atoi(e);
	}
	initialized = 1;
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlShutdown(void)
{
	if (!initialized) {
		return NVML_ERROR_UNINITIALIZED;
	}
	initialized = 0;
	return NVML_SUCCESS;
}

const char *nvmlErrorString(nvmlReturn_t r)
{
	switch (r) {
	case NVML_SUCCESS: return "Success";
	case NVML_ERROR_UNINITIALIZED: return "Uninitialized";
	case NVML_ERROR_NOT_SUPPORTED: return "Not Supported";
	case 9: return "Driver Not Loaded";
	case NVML_ERROR_GPU_IS_LOST: return "GPU is lost";
	default: return "Unknown Error";
	}
}

/* NVML_SUCCESS when initialized and dev is one of ours. */
static nvmlReturn_t check(nvmlDevice_t dev)
{
	if (!initialized) {
		return NVML_ERROR_UNINITIALIZED;
	}
	if (dev < devices || dev >= devices + N_DEVICES) {
		return NVML_ERROR_INVALID_ARGUMENT;
	}
	return NVML_SUCCESS;
}

/* Copies s into buf (len bytes) as NVML does: INSUFFICIENT_SIZE when it does not fit. */
static nvmlReturn_t copy_out(const char *s, char *buf, unsigned int len)
{
	if (buf == NULL || strlen(s) + 1 > len) {
		return NVML_ERROR_INSUFFICIENT_SIZE;
	}
	memcpy(buf, s, strlen(s) + 1);
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count)
{
	if (!initialized) {
		return NVML_ERROR_UNINITIALIZED;
	}
	*count = N_DEVICES;
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device)
{
	if (!initialized) {
		return NVML_ERROR_UNINITIALIZED;
	}
	if (index >= N_DEVICES) {
		return NVML_ERROR_INVALID_ARGUMENT;
	}
	*device = &devices[index];
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length)
{
	nvmlReturn_t r = check(device);
	return r != NVML_SUCCESS ? r : copy_out(device->name, name, length);
}

nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *memory)
{
	nvmlReturn_t r = check(device);
	if (r != NVML_SUCCESS) {
		return r;
	}
	if (device->lost) {
		return NVML_ERROR_GPU_IS_LOST;
	}
	memory->total = device->mem_total;
	memory->used = 1048576ull * 1024;
	memory->free = device->mem_total - memory->used;
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t device, nvmlUtilization_t *utilization)
{
	nvmlReturn_t r = check(device);
	if (r == NVML_SUCCESS) {
		utilization->gpu = device->util;
		utilization->memory = device->util / 2;
	}
	return r;
}

nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t device, int sensor, unsigned int *temp)
{
	nvmlReturn_t r = check(device);
	if (r != NVML_SUCCESS) {
		return r;
	}
	if (sensor != 0) {
		return NVML_ERROR_INVALID_ARGUMENT;
	}
	*temp = device->temp;
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int *power)
{
	nvmlReturn_t r = check(device);
	if (r != NVML_SUCCESS) {
		return r;
	}
	if (!device->power_supported) {
		return NVML_ERROR_NOT_SUPPORTED;
	}
	*power = device->power_mw;
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetSerial(nvmlDevice_t device, char *serial, unsigned int length)
{
	nvmlReturn_t r = check(device);
	return r != NVML_SUCCESS ? r : copy_out(device->serial, serial, length);
}

nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t device, nvmlPciInfo_t *pci)
{
	nvmlReturn_t r = check(device);
	if (r != NVML_SUCCESS) {
		return r;
	}
	memset(pci, 0, sizeof(*pci));
	snprintf(pci->busIdLegacy, sizeof(pci->busIdLegacy), "0000:%02X:00.0", device->bus);
	pci->bus = device->bus;
	pci->pciDeviceId = 0x233010de;
	pci->pciSubSystemId = 0x16c110de;
	snprintf(pci->busId, sizeof(pci->busId), "%s", device->bus_id);
	return NVML_SUCCESS;
}

/* The index of dev among devices. */
static unsigned int index_of(nvmlDevice_t dev)
{
	return (unsigned int)(dev - devices);
}

/* Walks the environment list name ("a:b:c,a:b:c"): fn(ctx, fields, n) for each item of up to 3 fields
 * separated by ':' (a field that is not a number is -1, "na" is -2). */
static void env_items(const char *name, void (*fn)(void *ctx, const long long *f, int n), void *ctx)
{
	const char *e = getenv(name);
	char buf[4096];
	if (e == NULL || strlen(e) >= sizeof(buf)) {
		return;
	}
	strcpy(buf, e);
	char *save = NULL;
	for (char *item = strtok_r(buf, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
		long long f[3];
		int n = 0;
		char *save2 = NULL;
		for (char *t = strtok_r(item, ":", &save2); t != NULL && n < 3; t = strtok_r(NULL, ":", &save2)) {
			char *end;
			f[n] = strtoll(t, &end, 10);
			if (strcmp(t, "na") == 0) {
				f[n] = -2;
			} else if (*end != '\0' || end == t) {
				f[n] = -1;
			}
			n++;
		}
		fn(ctx, f, n);
	}
}

struct find_ctx {
	unsigned int gpu;
	long long value;
	int found;
};

static void find_gpu(void *ctx, const long long *f, int n)
{
	struct find_ctx *x = ctx;
	if (n >= 1 && f[0] == (long long)x->gpu) {
		x->found = 1;
		x->value = n >= 2 ? f[1] : 0;
	}
}

nvmlReturn_t nvmlDeviceGetTotalEccErrors(nvmlDevice_t device, int type, int counter, unsigned long long *count)
{
	nvmlReturn_t r = check(device);
	if (r != NVML_SUCCESS) {
		return r;
	}
	if (type != 1 || counter != 0) {
		return NVML_ERROR_INVALID_ARGUMENT; /* only UNCORRECTED, VOLATILE is faked */
	}
	struct find_ctx x = {index_of(device), 0, 0};
	env_items("FAKE_NVML_ECC", find_gpu, &x);
	*count = x.found && x.value > 0 ? (unsigned long long)x.value : 0;
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetRetiredPagesPendingStatus(nvmlDevice_t device, int *pending)
{
	nvmlReturn_t r = check(device);
	if (r != NVML_SUCCESS) {
		return r;
	}
	struct find_ctx x = {index_of(device), 0, 0};
	env_items("FAKE_NVML_PAGES_PENDING", find_gpu, &x);
	*pending = x.found ? 1 : 0;
	return NVML_SUCCESS;
}

struct procs_ctx {
	unsigned int gpu, n, cap;
	nvmlProcessInfo_t *out;
};

static void add_proc(void *ctx, const long long *f, int n)
{
	struct procs_ctx *x = ctx;
	if (n != 3 || f[1] != (long long)x->gpu) {
		return;
	}
	if (x->out != NULL && x->n < x->cap) {
		x->out[x->n].pid = (unsigned int)f[0];
		x->out[x->n].usedGpuMemory = f[2] == -2 ? 0xffffffffffffffffull : (unsigned long long)f[2];
		x->out[x->n].gpuInstanceId = 0xffffffffu;
		x->out[x->n].computeInstanceId = 0xffffffffu;
	}
	x->n++;
}

nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t device, unsigned int *count, nvmlProcessInfo_t *infos)
{
	nvmlReturn_t r = check(device);
	if (r != NVML_SUCCESS) {
		return r;
	}
	struct procs_ctx x = {index_of(device), 0, infos != NULL ? *count : 0, infos};
	env_items("FAKE_NVML_PROCS", add_proc, &x);
	unsigned int room = infos != NULL ? *count : 0;
	const char *hidden = getenv("FAKE_NVML_PROCS_HIDDEN");
	unsigned int h = hidden != NULL ? (unsigned int)atoi(hidden) : 0;
	*count = infos == NULL && h < x.n ? x.n - h : x.n;
	return x.n > room ? NVML_ERROR_INSUFFICIENT_SIZE : NVML_SUCCESS;
}

/* The one event set: the XIDs queued at its creation and the devices registered with it. */
static struct nvmlEventSet_st {
	struct {
		unsigned int gpu;
		unsigned long long xid;
	} queue[64];
	unsigned int n, next;
	int registered[N_DEVICES];
	int open;
} the_set;

static void queue_xid(void *ctx, const long long *f, int n)
{
	(void)ctx;
	if (n == 2 && f[0] >= 0 && f[1] >= 0 && the_set.n < 64) {
		the_set.queue[the_set.n].gpu = (unsigned int)f[0];
		the_set.queue[the_set.n].xid = (unsigned long long)f[1];
		the_set.n++;
	}
}

nvmlReturn_t nvmlEventSetCreate(nvmlEventSet_t *set)
{
	if (!initialized) {
		return NVML_ERROR_UNINITIALIZED;
	}
	memset(&the_set, 0, sizeof(the_set));
	the_set.open = 1;
	env_items("FAKE_NVML_XID", queue_xid, NULL);
	*set = &the_set;
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceRegisterEvents(nvmlDevice_t device, unsigned long long types, nvmlEventSet_t set)
{
	nvmlReturn_t r = check(device);
	if (r != NVML_SUCCESS) {
		return r;
	}
	if (set != &the_set || !the_set.open || types != 8) {
		return NVML_ERROR_INVALID_ARGUMENT; /* only nvmlEventTypeXidCriticalError is faked */
	}
	the_set.registered[index_of(device)] = 1;
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlEventSetWait_v2(nvmlEventSet_t set, nvmlEventData_t *data, unsigned int timeoutms)
{
	(void)timeoutms;
	if (!initialized) {
		return NVML_ERROR_UNINITIALIZED;
	}
	if (set != &the_set || !the_set.open) {
		return NVML_ERROR_INVALID_ARGUMENT;
	}
	while (the_set.next < the_set.n) {
		unsigned int i = the_set.next++;
		unsigned int gpu = the_set.queue[i].gpu;
		if (gpu < N_DEVICES && the_set.registered[gpu]) {
			memset(data, 0, sizeof(*data));
			data->device = &devices[gpu];
			data->eventType = 8;
			data->eventData = the_set.queue[i].xid;
			data->gpuInstanceId = 0xffffffffu;
			data->computeInstanceId = 0xffffffffu;
			return NVML_SUCCESS;
		}
	}
	return NVML_ERROR_TIMEOUT;
}

nvmlReturn_t nvmlEventSetFree(nvmlEventSet_t set)
{
	if (set != &the_set || !the_set.open) {
		return NVML_ERROR_INVALID_ARGUMENT;
	}
	the_set.open = 0;
	return NVML_SUCCESS;
}
