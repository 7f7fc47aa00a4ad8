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
 * FAKE_NVML_INIT_ERROR=N in the environment makes nvmlInit_v2 answer N (9: driver not loaded). Calls
 * before nvmlInit_v2 or after nvmlShutdown answer NVML_ERROR_UNINITIALIZED. Test use only. */
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

enum {
	NVML_SUCCESS = 0,
	NVML_ERROR_UNINITIALIZED = 1,
	NVML_ERROR_INVALID_ARGUMENT = 2,
	NVML_ERROR_NOT_SUPPORTED = 3,
	NVML_ERROR_INSUFFICIENT_SIZE = 7,
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
