/* spoke_node_dcmi.c — a node's Huawei Ascend NPUs through DCMI (libdcmi.so, shipped with the Ascend
 * driver), loaded with dlopen at run time so the spoke neither links to it nor needs it on other nodes.
 *
 * Where the ABI below comes from (no real Ascend node was available here; the tests run against
 * tests/tools/fake_dcmi.c, written to the same declarations):
 *  - Function signatures and struct layouts (dcmi_chip_info, dcmi_hbm_info, dcmi_get_memory_info_stru,
 *    dcmi_pcie_info_all, dcmi_proc_mem_info, dcmi_elabel_info): Huawei's dcmi_interface_api.h as vendored
 *    in Ascend/mind-cluster (component/ascend-common/devmanager/dcmi/dcmi_interface_api.h), checked against
 *    the "Ascend 910B DCMI API" reference pages (one per function, e.g. dcmi_get_device_resource_info.md,
 *    dcmi_get_device_elabel_info.md, return_codes.md), which give the units: power in 0.1 W, temperature
 *    in °C, HBM sizes in MB, proc_mem_usage in bytes with host pids, at most 32 processes per NPU, health
 *    0 normal / 1 minor / 2 major / 3 critical alarm / 0xFFFFFFFF no such device, DCMI_ERR_CODE_NOT_SUPPORT
 *    -8255, utilization input_type 2 = AI Core.
 *  - dcmi_get_card_list is the current name of the card enumeration; older drivers export only
 *    dcmi_get_card_num_list with the same signature, so either is accepted.
 *  - Memory: on Ascend 910/910B the memory jobs use is the on-chip HBM, which dcmi_get_device_hbm_info
 *    reports (memory_size and memory_usage in MB); dcmi_get_device_memory_info_v3 describes the device's
 *    DDR (the control CPU's memory and huge pages) and is what chips without HBM (310P) answer instead.
 *    mind-cluster's npu-exporter makes the same choice (HBM for 910 series, memory info for 310 series).
 *  - The serial: dcmi_get_device_elabel_info (per NPU), optional: some drivers only have the card's label.
 * DCMI has no shutdown call; the library is opened RTLD_NODELETE so that closing the handle never unmaps
 * code a thread the library started may still run. */
#include "spoke_node_dev.h"

#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spoke_dl.h"
#include "spoke_node_read.h"

/* ---- DCMI's ABI (dcmi_interface_api.h) ---- */

#define DCMI_OK                         0
#define DCMI_ERR_NOT_SUPPORT            (-8255)
#define DCMI_ERR_NOT_SUPPORT_IN_CONTAIN (-8013)
#define DCMI_UTIL_AICORE                2   /* dcmi_get_device_utilization_rate input_type: AI Core */
#define DCMI_MAX_CHIP_NAME_LEN          32  /* MAX_CHIP_NAME_LEN */
#define DCMI_MAX_LENGTH                 256 /* MAX_LENGTH of the electronic label's fields */
#define DCMI_MAX_CARDS                  64  /* "at most 64" cards (dcmi_get_card_list) */
#define DCMI_MAX_PROCS                  32  /* "at most 32" processes (dcmi_get_device_resource_info) */
#define DCMI_HEALTH_NONE                0xFFFFFFFFu

struct dcmi_chip_info {
	unsigned char chip_type[DCMI_MAX_CHIP_NAME_LEN]; /* "Ascend" */
	unsigned char chip_name[DCMI_MAX_CHIP_NAME_LEN]; /* "910B3" */
	unsigned char chip_ver[DCMI_MAX_CHIP_NAME_LEN];
	unsigned int aicore_cnt;
};

struct dcmi_hbm_info {
	unsigned long long memory_size;  /* MB */
	unsigned int freq;               /* MHz */
	unsigned long long memory_usage; /* MB */
	int temp;
	unsigned int bandwith_util_rate;
};

struct dcmi_get_memory_info_stru {
	unsigned long long memory_size;      /* MB */
	unsigned long long memory_available; /* free + hugepages_free * hugepagesize */
	unsigned int freq;
	unsigned long hugepagesize; /* KB */
	unsigned long hugepages_total;
	unsigned long hugepages_free;
	unsigned int utiliza;
	unsigned char reserve[60];
};

struct dcmi_pcie_info_all {
	unsigned int venderid, subvenderid, deviceid, subdeviceid;
	int domain;
	unsigned int bdf_busid, bdf_deviceid, bdf_funcid;
	unsigned char reserve[32];
};

struct dcmi_proc_mem_info {
	int proc_id;                  /* host pid */
	unsigned long proc_mem_usage; /* bytes */
};

struct dcmi_elabel_info {
	char product_name[DCMI_MAX_LENGTH];
	char model[DCMI_MAX_LENGTH];
	char manufacturer[DCMI_MAX_LENGTH];
	char manufacturer_date[DCMI_MAX_LENGTH];
	char serial_number[DCMI_MAX_LENGTH];
};

struct spoke_dcmi {
	void *dl;
	int (*init)(void);
	int (*card_list)(int *card_num, int *card_list, int list_len);
	int (*card_num_list)(int *card_num, int *card_list, int list_len); /* older name of card_list */
	int (*num_in_card)(int card_id, int *device_num);
	int (*chip_info)(int card_id, int device_id, struct dcmi_chip_info *info);
	int (*hbm_info)(int card_id, int device_id, struct dcmi_hbm_info *info);
	int (*memory_v3)(int card_id, int device_id, struct dcmi_get_memory_info_stru *info);
	int (*util)(int card_id, int device_id, int input_type, unsigned int *rate);
	int (*temp)(int card_id, int device_id, int *temperature);
	int (*power)(int card_id, int device_id, int *power);
	int (*health)(int card_id, int device_id, unsigned int *health);
	int (*elabel)(int card_id, int device_id, struct dcmi_elabel_info *info);
	int (*pcie)(int card_id, int device_id, struct dcmi_pcie_info_all *info);
	int (*resource)(int card_id, int device_id, struct dcmi_proc_mem_info *info, int *proc_num);
};

static const spoke_dl_sym dcmi_syms[] = {
    {"dcmi_init", offsetof(spoke_dcmi, init), false},
    {"dcmi_get_card_list", offsetof(spoke_dcmi, card_list), true},
    {"dcmi_get_card_num_list", offsetof(spoke_dcmi, card_num_list), true},
    {"dcmi_get_device_num_in_card", offsetof(spoke_dcmi, num_in_card), false},
    {"dcmi_get_device_chip_info", offsetof(spoke_dcmi, chip_info), false},
    {"dcmi_get_device_hbm_info", offsetof(spoke_dcmi, hbm_info), true},
    {"dcmi_get_device_memory_info_v3", offsetof(spoke_dcmi, memory_v3), true},
    {"dcmi_get_device_utilization_rate", offsetof(spoke_dcmi, util), false},
    {"dcmi_get_device_temperature", offsetof(spoke_dcmi, temp), false},
    {"dcmi_get_device_power_info", offsetof(spoke_dcmi, power), false},
    {"dcmi_get_device_health", offsetof(spoke_dcmi, health), false},
    {"dcmi_get_device_elabel_info", offsetof(spoke_dcmi, elabel), true},
    {"dcmi_get_device_pcie_info_v2", offsetof(spoke_dcmi, pcie), true},
    {"dcmi_get_device_resource_info", offsetof(spoke_dcmi, resource), true},
};

/* One NPU: its (card, device) pair. */
typedef struct dcmi_npu {
	int card, device;
} dcmi_npu;

static int dcmi_open_fail(spoke_dcmi *d, char err[FL_ERR_LEN], const char *lib, const char *what, const char *sym,
                          int r)
{
	if (r != 0) {
		fl_seterr(err, FL_ENOTFOUND, "%s: %s failed: DCMI error %d", lib, what, r);
	} else {
		fl_seterr(err, FL_ENOTFOUND, "%s: no symbol %s (DCMI too old?)", lib, sym);
	}
	dlclose(d->dl);
	free(d);
	return FL_ENOTFOUND;
}

int spoke_dcmi_open(const char *lib, spoke_dcmi **out, char err[FL_ERR_LEN])
{
	*out = NULL;
	if (lib == NULL || lib[0] == '\0') {
		lib = "libdcmi.so";
	}
	spoke_dcmi *d = calloc(1, sizeof(*d));
	if (d == NULL) {
		return fl_seterr(err, FL_ENOMEM, "%s: out of memory", lib);
	}
	int rv = spoke_dl_open(lib, RTLD_NODELETE, "DCMI", d, dcmi_syms, sizeof(dcmi_syms) / sizeof(dcmi_syms[0]),
	                       &d->dl, err);
	if (rv != FL_OK) {
		free(d);
		return rv;
	}
	if (d->card_list == NULL) {
		d->card_list = d->card_num_list;
	}
	if (d->card_list == NULL) {
		return dcmi_open_fail(d, err, lib, NULL, "dcmi_get_card_list", 0);
	}
	if (d->hbm_info == NULL && d->memory_v3 == NULL) {
		return dcmi_open_fail(d, err, lib, NULL, "dcmi_get_device_hbm_info", 0);
	}
	int r = d->init();
	if (r != DCMI_OK) {
		return dcmi_open_fail(d, err, lib, "dcmi_init", NULL, r);
	}
	*out = d;
	return FL_OK;
}

/* Counts r in dcmi_errors unless it is a success or a "not supported" (a feature the chip, or this
 * container, lacks: not a failure). True on success. */
static bool dcmi_ok(int r, spoke_node_counters *c)
{
	if (r != DCMI_OK && r != DCMI_ERR_NOT_SUPPORT && r != DCMI_ERR_NOT_SUPPORT_IN_CONTAIN) {
		c->dcmi_errors++;
	}
	return r == DCMI_OK;
}

/* The NPUs in (card, device) order into npus (at most FL_PROTO_MAX_NODE_GPUS; more are counted in
 * gpu_unreadable). Returns how many. */
static uint32_t dcmi_list(spoke_dcmi *d, dcmi_npu *npus, spoke_node_counters *c)
{
	int cards[DCMI_MAX_CARDS];
	int n_cards = 0;
	if (!dcmi_ok(d->card_list(&n_cards, cards, DCMI_MAX_CARDS), c) || n_cards < 0) {
		return 0;
	}
	if (n_cards > DCMI_MAX_CARDS) {
		n_cards = DCMI_MAX_CARDS;
	}
	uint32_t n = 0;
	for (int i = 0; i < n_cards; i++) {
		int devs = 0;
		if (!dcmi_ok(d->num_in_card(cards[i], &devs), c) || devs < 0) {
			continue; /* a card that does not answer: its NPUs cannot be named */
		}
		for (int k = 0; k < devs; k++) {
			if (n == FL_PROTO_MAX_NODE_GPUS) {
				c->gpu_unreadable++;
				continue;
			}
			npus[n].card = cards[i];
			npus[n].device = k;
			n++;
		}
	}
	return n;
}

/* A fixed DCMI char array (maybe without its NUL) as a C string in buf (size > len). */
static void dcmi_str(char *buf, const void *src, size_t len)
{
	size_t n = strnlen((const char *)src, len);
	memcpy(buf, src, n);
	buf[n] = '\0';
}

/* Total and used memory (MiB): the HBM, else (a chip without HBM) the device memory. False when neither
 * answers. */
static bool dcmi_memory(spoke_dcmi *d, const dcmi_npu *p, fl_proto_gpu *g, spoke_node_counters *c)
{
	struct dcmi_hbm_info hbm;
	memset(&hbm, 0, sizeof(hbm));
	if (d->hbm_info != NULL && dcmi_ok(d->hbm_info(p->card, p->device, &hbm), c) && hbm.memory_size > 0) {
		g->memory_mib = (int64_t)hbm.memory_size;
		g->memory_used_mib =
		    (int64_t)(hbm.memory_usage <= hbm.memory_size ? hbm.memory_usage : hbm.memory_size);
		g->has_memory_used = true;
		return true;
	}
	struct dcmi_get_memory_info_stru mem;
	memset(&mem, 0, sizeof(mem));
	if (d->memory_v3 != NULL && dcmi_ok(d->memory_v3(p->card, p->device, &mem), c)) {
		g->memory_mib = (int64_t)mem.memory_size;
		if (mem.memory_available <= mem.memory_size) {
			g->memory_used_mib = (int64_t)(mem.memory_size - mem.memory_available);
			g->has_memory_used = true;
		}
		return true;
	}
	return false;
}

/* The NUMA node of the PCI device domain:bus:dev.fn from host_root's sysfs, -1 unknown. */
static int32_t dcmi_numa(const char *host_root, const struct dcmi_pcie_info_all *pci)
{
	if (pci->domain < 0) {
		return -1;
	}
	return spoke_node_read_pci_numa(host_root, (unsigned)pci->domain, pci->bdf_busid, pci->bdf_deviceid,
	                                pci->bdf_funcid);
}

/* Health from dcmi_get_device_health: 0 healthy, 1 warning, 2 and 3 unhealthy; "" when unknown. */
static void dcmi_health(spoke_dcmi *d, const dcmi_npu *p, fl_proto_gpu *g, spoke_node_counters *c)
{
	unsigned int h = DCMI_HEALTH_NONE;
	if (!dcmi_ok(d->health(p->card, p->device, &h), c) || h > 3) {
		return; /* no answer, or 0xFFFFFFFF: "no such device" */
	}
	static const char *const words[] = {"healthy", "warning", "unhealthy", "unhealthy"};
	snprintf(g->health, sizeof(g->health), "%s", words[h]);
	snprintf(g->health_detail, sizeof(g->health_detail), "dcmi health %u", h);
}

/* The readings that may fail alone: utilization, temperature, power, serial, numa, health. */
static void dcmi_readings(spoke_dcmi *d, const char *host_root, const dcmi_npu *p, fl_proto_gpu *g,
                          spoke_node_counters *c)
{
	unsigned int rate;
	if (dcmi_ok(d->util(p->card, p->device, DCMI_UTIL_AICORE, &rate), c) && rate <= 100) {
		g->utilization = rate;
		g->has_utilization = true;
	}
	int t, p01;
	if (dcmi_ok(d->temp(p->card, p->device, &t), c)) {
		g->temperature = t;
	}
	if (dcmi_ok(d->power(p->card, p->device, &p01), c) && p01 >= 0) {
		g->power = p01 / 10.0;
	}
	if (d->elabel != NULL) {
		struct dcmi_elabel_info *label = calloc(1, sizeof(*label)); /* 1280 bytes: not on the stack */
		if (label != NULL && dcmi_ok(d->elabel(p->card, p->device, label), c)) {
			char s[DCMI_MAX_LENGTH + 1];
			dcmi_str(s, label->serial_number, sizeof(label->serial_number));
			spoke_node_read_utf8(g->serial, sizeof(g->serial), s, strlen(s));
		}
		free(label);
	}
	g->numa = -1;
	struct dcmi_pcie_info_all pci;
	memset(&pci, 0, sizeof(pci));
	if (d->pcie != NULL && dcmi_ok(d->pcie(p->card, p->device, &pci), c)) {
		g->numa = dcmi_numa(host_root, &pci);
	}
	dcmi_health(d, p, g, c);
}

/* Fills g for NPU p. False when its chip info or memory cannot be read. */
static bool dcmi_read(spoke_dcmi *d, const char *host_root, const dcmi_npu *p, fl_proto_gpu *g, spoke_node_counters *c)
{
	struct dcmi_chip_info chip;
	memset(&chip, 0, sizeof(chip));
	if (!dcmi_ok(d->chip_info(p->card, p->device, &chip), c) || !dcmi_memory(d, p, g, c)) {
		return false;
	}
	char type[DCMI_MAX_CHIP_NAME_LEN + 1], name[DCMI_MAX_CHIP_NAME_LEN + 1], model[2 * DCMI_MAX_CHIP_NAME_LEN + 1];
	dcmi_str(type, chip.chip_type, sizeof(chip.chip_type));
	dcmi_str(name, chip.chip_name, sizeof(chip.chip_name));
	snprintf(model, sizeof(model), "%s%s", type, name);
	spoke_node_read_utf8(g->gpu_model, sizeof(g->gpu_model), model, strlen(model));
	dcmi_readings(d, host_root, p, g, c);
	return true;
}

int spoke_dcmi_gpus(spoke_dcmi *d, const char *host_root, const char *node, fl_proto_gpu **out, uint32_t *n,
                    spoke_node_counters *c, char err[FL_ERR_LEN])
{
	*out = NULL;
	*n = 0;
	dcmi_npu *npus = malloc(FL_PROTO_MAX_NODE_GPUS * sizeof(*npus));
	if (npus == NULL) {
		return fl_seterr(err, FL_ENOMEM, "DCMI NPUs: out of memory");
	}
	uint32_t total = dcmi_list(d, npus, c);
	fl_proto_gpu *rows = total > 0 ? calloc(total, sizeof(*rows)) : NULL;
	if (total > 0 && rows == NULL) {
		free(npus);
		return fl_seterr(err, FL_ENOMEM, "DCMI NPUs: out of memory");
	}
	uint32_t count = 0;
	for (uint32_t i = 0; i < total; i++) {
		fl_proto_gpu *g = &rows[count];
		memset(g, 0, sizeof(*g));
		if (!dcmi_read(d, host_root, &npus[i], g, c)) {
			c->gpu_unreadable++;
			continue;
		}
		g->gpu_id = (int32_t)i;
		spoke_node_read_utf8(g->node, sizeof(g->node), node, strlen(node));
		count++;
	}
	free(npus);
	if (count == 0) {
		free(rows);
		rows = NULL;
	}
	*out = rows;
	*n = count;
	return FL_OK;
}

/* Appends the processes of NPU gpu_id to *rows (capacity *cap). FL_OK or FL_ENOMEM. */
static int dcmi_proc_rows(const struct dcmi_proc_mem_info *procs, int n_procs, int32_t gpu_id,
                          spoke_node_proc_mem **rows, uint32_t *n, uint32_t *cap)
{
	for (int k = 0; k < n_procs; k++) {
		if (procs[k].proc_id <= 0) {
			continue;
		}
		if (*n == *cap) {
			uint32_t ncap = *cap == 0 ? 16 : *cap * 2;
			spoke_node_proc_mem *r = realloc(*rows, (size_t)ncap * sizeof(*r));
			if (r == NULL) {
				return FL_ENOMEM;
			}
			*rows = r;
			*cap = ncap;
		}
		(*rows)[*n].pid = procs[k].proc_id;
		(*rows)[*n].gpu_id = gpu_id;
		(*rows)[*n].bytes = procs[k].proc_mem_usage > INT64_MAX ? INT64_MAX : (int64_t)procs[k].proc_mem_usage;
		(*n)++;
	}
	return FL_OK;
}

int spoke_dcmi_proc_mem(spoke_dcmi *d, spoke_node_proc_mem **out, uint32_t *n, spoke_node_counters *c,
                        char err[FL_ERR_LEN])
{
	*out = NULL;
	*n = 0;
	if (d->resource == NULL) {
		return FL_OK; /* a driver without per-process lists: jobs keep the NPUs of their device files */
	}
	dcmi_npu *npus = malloc(FL_PROTO_MAX_NODE_GPUS * sizeof(*npus));
	if (npus == NULL) {
		return fl_seterr(err, FL_ENOMEM, "DCMI processes: out of memory");
	}
	uint32_t total = dcmi_list(d, npus, c);
	spoke_node_proc_mem *rows = NULL;
	uint32_t count = 0, cap = 0;
	for (uint32_t i = 0; i < total; i++) {
		/* The library fills at most DCMI_MAX_PROCS entries and takes no capacity: room for twice that. */
		struct dcmi_proc_mem_info procs[2 * DCMI_MAX_PROCS];
		int n_procs = 0;
		memset(procs, 0, sizeof(procs));
		if (!dcmi_ok(d->resource(npus[i].card, npus[i].device, procs, &n_procs), c) || n_procs <= 0) {
			continue;
		}
		if (n_procs > DCMI_MAX_PROCS) {
			n_procs = DCMI_MAX_PROCS;
		}
		if (dcmi_proc_rows(procs, n_procs, (int32_t)i, &rows, &count, &cap) != FL_OK) {
			free(npus);
			free(rows);
			return fl_seterr(err, FL_ENOMEM, "DCMI processes: out of memory");
		}
	}
	free(npus);
	*out = rows;
	*n = count;
	return FL_OK;
}

void spoke_dcmi_close(spoke_dcmi *d)
{
	if (d == NULL) {
		return;
	}
	dlclose(d->dl);
	free(d);
}
