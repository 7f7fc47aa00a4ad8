/* fake_dcmi.c — a stand-in for libdcmi.so (Huawei's DCMI, shipped with the Ascend NPU driver), which
 * cannot be installed here. Built as the module libfake_dcmi.so, it exports the DCMI entry points
 * spoke_dcmi_* resolves, with dcmi_interface_api.h's ABI (the few structs are declared below, as
 * spoke/spoke_node_dcmi.c declares them), and fixed answers. Cards {0, 3}; card 0 holds NPUs 0 and 1,
 * card 3 holds NPU 2 (positions in (card, device) order):
 *
 *   NPU 0 (card 0, device 0): chip "Ascend" + "910B3", HBM 65536 MB of which 1024 MB used, AI core 40 %,
 *         45 °C, power 915 (0.1 W: 91.5 W), serial "102400000001", PCIe 0000:c1:00.0, health 0
 *   NPU 1 (card 0, device 1): chip "Ascend" + "910B3", HBM 65536 MB of which 2048 MB used, AI core 41 %,
 *         46 °C, power DCMI_ERR_CODE_NOT_SUPPORT (-8255), serial "102400000002", PCIe 0000:01:00.0,
 *         health 0, or 2 (major alarm) when FAKE_DCMI_UNHEALTHY=1
 *   NPU 2 (card 3, device 0): lost: every per-device call answers DCMI_ERR_CODE_DEVICE_NOT_EXIST (-8008)
 *
 * dcmi_get_device_memory_info_v3 (the DDR) answers 15360 MB with 12288 MB available; FAKE_DCMI_NO_HBM=1
 * makes dcmi_get_device_hbm_info answer -8255 (as a chip without HBM does). dcmi_get_device_resource_info
 * lists the processes of FAKE_DCMI_PROCS="pid:npu:bytes,..." whose npu is the NPU's position (at most 32
 * per NPU). FAKE_DCMI_INIT_ERROR=N makes dcmi_init answer N (e.g. -8008). Calls before dcmi_init answer
 * DCMI_ERR_CODE_NOT_REDAY (-8012). Only dcmi_get_card_list is exported (not the older
 * dcmi_get_card_num_list). Test use only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CHIP_NAME_LEN 32
#define MAX_LENGTH        256

struct dcmi_chip_info {
	unsigned char chip_type[MAX_CHIP_NAME_LEN];
	unsigned char chip_name[MAX_CHIP_NAME_LEN];
	unsigned char chip_ver[MAX_CHIP_NAME_LEN];
	unsigned int aicore_cnt;
};
struct dcmi_hbm_info {
	unsigned long long memory_size;
	unsigned int freq;
	unsigned long long memory_usage;
	int temp;
	unsigned int bandwith_util_rate;
};
struct dcmi_get_memory_info_stru {
	unsigned long long memory_size;
	unsigned long long memory_available;
	unsigned int freq;
	unsigned long hugepagesize;
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
	int proc_id;
	unsigned long proc_mem_usage;
};
struct dcmi_elabel_info {
	char product_name[MAX_LENGTH];
	char model[MAX_LENGTH];
	char manufacturer[MAX_LENGTH];
	char manufacturer_date[MAX_LENGTH];
	char serial_number[MAX_LENGTH];
};

enum {
	DCMI_OK = 0,
	DCMI_ERR_CODE_INVALID_PARAMETER = -8001,
	DCMI_ERR_CODE_DEVICE_NOT_EXIST = -8008,
	DCMI_ERR_CODE_NOT_REDAY = -8012,
	DCMI_ERR_CODE_NOT_SUPPORT = -8255,
};

static const struct npu {
	int card, device;
	unsigned long long hbm_used;
	unsigned int aicore, bus;
	int temp, power; /* power < 0: not supported */
	const char *serial;
	int lost;
} npus[] = {
    {0, 0, 1024, 40, 0xc1, 45, 915, "102400000001", 0},
    {0, 1, 2048, 41, 0x01, 46, -1, "102400000002", 0},
    {3, 0, 0, 0, 0, 0, 0, "", 1},
};
#define N_NPUS (int)(sizeof(npus) / sizeof(npus[0]))

static int initialized;

int dcmi_init(void);
int dcmi_get_card_list(int *card_num, int *card_list, int list_len);
int dcmi_get_device_num_in_card(int card_id, int *device_num);
int dcmi_get_device_chip_info(int card_id, int device_id, struct dcmi_chip_info *chip_info);
int dcmi_get_device_hbm_info(int card_id, int device_id, struct dcmi_hbm_info *hbm_info);
int dcmi_get_device_memory_info_v3(int card_id, int device_id, struct dcmi_get_memory_info_stru *memory_info);
int dcmi_get_device_utilization_rate(int card_id, int device_id, int input_type, unsigned int *utilization_rate);
int dcmi_get_device_temperature(int card_id, int device_id, int *temperature);
int dcmi_get_device_power_info(int card_id, int device_id, int *power);
int dcmi_get_device_health(int card_id, int device_id, unsigned int *health);
int dcmi_get_device_elabel_info(int card_id, int device_id, struct dcmi_elabel_info *elabel_info);
int dcmi_get_device_pcie_info_v2(int card_id, int device_id, struct dcmi_pcie_info_all *pcie_info);
int dcmi_get_device_resource_info(int card_id, int device_id, struct dcmi_proc_mem_info *proc_info, int *proc_num);

int dcmi_init(void)
{
	const char *e = getenv("FAKE_DCMI_INIT_ERROR");
	if (e != NULL && atoi(e) != 0) {
		return atoi(e);
	}
	initialized = 1;
	return DCMI_OK;
}

int dcmi_get_card_list(int *card_num, int *card_list, int list_len)
{
	if (!initialized) {
		return DCMI_ERR_CODE_NOT_REDAY;
	}
	if (list_len < 2) {
		return DCMI_ERR_CODE_INVALID_PARAMETER;
	}
	card_list[0] = 0;
	card_list[1] = 3;
	*card_num = 2;
	return DCMI_OK;
}

int dcmi_get_device_num_in_card(int card_id, int *device_num)
{
	if (!initialized) {
		return DCMI_ERR_CODE_NOT_REDAY;
	}
	if (card_id != 0 && card_id != 3) {
		return DCMI_ERR_CODE_INVALID_PARAMETER;
	}
	*device_num = card_id == 0 ? 2 : 1;
	return DCMI_OK;
}

/* The NPU (card, device) and its position in *pos; DCMI_OK, or the error the call answers. */
static int find(int card, int device, const struct npu **out, int *pos)
{
	if (!initialized) {
		return DCMI_ERR_CODE_NOT_REDAY;
	}
	for (int i = 0; i < N_NPUS; i++) {
		if (npus[i].card == card && npus[i].device == device) {
			*out = &npus[i];
			if (pos != NULL) {
				*pos = i;
			}
			return npus[i].lost ? DCMI_ERR_CODE_DEVICE_NOT_EXIST : DCMI_OK;
		}
	}
	return DCMI_ERR_CODE_INVALID_PARAMETER;
}

int dcmi_get_device_chip_info(int card_id, int device_id, struct dcmi_chip_info *chip_info)
{
	const struct npu *p;
	int r = find(card_id, device_id, &p, NULL);
	if (r != DCMI_OK) {
		return r;
	}
	memset(chip_info, 0, sizeof(*chip_info));
	memcpy(chip_info->chip_type, "Ascend", 6);
	memcpy(chip_info->chip_name, "910B3", 5);
	memcpy(chip_info->chip_ver, "V1", 2);
	chip_info->aicore_cnt = 20;
	return DCMI_OK;
}

int dcmi_get_device_hbm_info(int card_id, int device_id, struct dcmi_hbm_info *hbm_info)
{
	const struct npu *p;
	int r = find(card_id, device_id, &p, NULL);
	if (r != DCMI_OK) {
		return r;
	}
	const char *e = getenv("FAKE_DCMI_NO_HBM");
	if (e != NULL && strcmp(e, "1") == 0) {
		return DCMI_ERR_CODE_NOT_SUPPORT;
	}
	hbm_info->memory_size = 65536;
	hbm_info->freq = 1600;
	hbm_info->memory_usage = p->hbm_used;
	hbm_info->temp = 38;
	hbm_info->bandwith_util_rate = 3;
	return DCMI_OK;
}

int dcmi_get_device_memory_info_v3(int card_id, int device_id, struct dcmi_get_memory_info_stru *memory_info)
{
	const struct npu *p;
	int r = find(card_id, device_id, &p, NULL);
	if (r != DCMI_OK) {
		return r;
	}
	memset(memory_info, 0, sizeof(*memory_info));
	memory_info->memory_size = 15360;
	memory_info->memory_available = 12288;
	memory_info->freq = 3200;
	memory_info->hugepagesize = 2048;
	memory_info->utiliza = 20;
	return DCMI_OK;
}

int dcmi_get_device_utilization_rate(int card_id, int device_id, int input_type, unsigned int *utilization_rate)
{
	const struct npu *p;
	int r = find(card_id, device_id, &p, NULL);
	if (r != DCMI_OK) {
		return r;
	}
	if (input_type != 2) {
		*utilization_rate = 99; /* any other type is a wrong figure for the tests */
		return DCMI_OK;
	}
	*utilization_rate = p->aicore;
	return DCMI_OK;
}

int dcmi_get_device_temperature(int card_id, int device_id, int *temperature)
{
	const struct npu *p;
	int r = find(card_id, device_id, &p, NULL);
	if (r == DCMI_OK) {
		*temperature = p->temp;
	}
	return r;
}

int dcmi_get_device_power_info(int card_id, int device_id, int *power)
{
	const struct npu *p;
	int r = find(card_id, device_id, &p, NULL);
	if (r != DCMI_OK) {
		return r;
	}
	if (p->power < 0) {
		return DCMI_ERR_CODE_NOT_SUPPORT;
	}
	*power = p->power;
	return DCMI_OK;
}

int dcmi_get_device_health(int card_id, int device_id, unsigned int *health)
{
	const struct npu *p;
	int pos = 0;
	int r = find(card_id, device_id, &p, &pos);
	if (r != DCMI_OK) {
		return r;
	}
	const char *e = getenv("FAKE_DCMI_UNHEALTHY");
	*health = pos == 1 && e != NULL && strcmp(e, "1") == 0 ? 2 : 0;
	return DCMI_OK;
}

int dcmi_get_device_elabel_info(int card_id, int device_id, struct dcmi_elabel_info *elabel_info)
{
	const struct npu *p;
	int r = find(card_id, device_id, &p, NULL);
	if (r != DCMI_OK) {
		return r;
	}
	memset(elabel_info, 0, sizeof(*elabel_info));
	snprintf(elabel_info->product_name, MAX_LENGTH, "%s", "Atlas 800T A2");
	snprintf(elabel_info->model, MAX_LENGTH, "%s", "IT21PDDA01");
	snprintf(elabel_info->manufacturer, MAX_LENGTH, "%s", "Huawei");
	snprintf(elabel_info->serial_number, MAX_LENGTH, "%s", p->serial);
	return DCMI_OK;
}

int dcmi_get_device_pcie_info_v2(int card_id, int device_id, struct dcmi_pcie_info_all *pcie_info)
{
	const struct npu *p;
	int r = find(card_id, device_id, &p, NULL);
	if (r != DCMI_OK) {
		return r;
	}
	memset(pcie_info, 0, sizeof(*pcie_info));
	pcie_info->venderid = 0x19e5;
	pcie_info->deviceid = 0xd802;
	pcie_info->domain = 0;
	pcie_info->bdf_busid = p->bus;
	return DCMI_OK;
}

int dcmi_get_device_resource_info(int card_id, int device_id, struct dcmi_proc_mem_info *proc_info, int *proc_num)
{
	const struct npu *p;
	int pos = 0;
	int r = find(card_id, device_id, &p, &pos);
	if (r != DCMI_OK) {
		return r;
	}
	*proc_num = 0;
	const char *list = getenv("FAKE_DCMI_PROCS");
	while (list != NULL && *list != '\0' && *proc_num < 32) {
		int pid = 0, npu = -1;
		unsigned long bytes = 0;
		if (sscanf(list, "%d:%d:%lu", &pid, &npu, &bytes) == 3 && npu == pos) {
			proc_info[*proc_num].proc_id = pid;
			proc_info[*proc_num].proc_mem_usage = bytes;
			(*proc_num)++;
		}
		list = strchr(list, ',');
		list = list != NULL ? list + 1 : NULL;
	}
	return DCMI_OK;
}
