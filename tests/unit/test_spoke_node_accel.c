/* test_spoke_node_accel.c — the accelerator side of the GPU job monitor (spoke_node_dev.h): GPU memory used
 * and health (AMD sysfs and RAS counters, NVML through tests/tools/fake_nvml.c), each process's accelerator
 * memory (AMD kfd, NVML's running processes), and spoke_node_jobs_attach_gpus, over fixture trees written
 * by tests/node_fixtures/make_tree.sh (its header lists every value asserted here). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fl_test_tmp.h"
#include "spoke_node_dev.h"

#define MIB (1024ll * 1024)

static char tmpdir[64];

static int setup(void **state)
{
	(void)state;
	return fl_test_tmp_make(tmpdir, sizeof(tmpdir), "fl_node_accel");
}

static int teardown(void **state)
{
	(void)state;
	return fl_test_tmp_remove(tmpdir);
}

/* Runs make_tree.sh into tmpdir/name with opts (a new tree, or --edit of one). */
static void make_tree(char root[256], const char *name, const char *opts)
{
	snprintf(root, 256, "%s/%s", tmpdir, name);
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "bash '%s/tests/node_fixtures/make_tree.sh' '%s' %s >/dev/null", FL_SOURCE_DIR, root,
	         opts);
	if (system(cmd) != 0) {
		fail_msg("make_tree.sh failed: %s", cmd);
	}
}

static void write_text(const char *root, const char *rel, const char *text)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	FILE *f = fopen(p, "w");
	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
		fail_msg("cannot write %s", p);
	}
}

static void remove_file(const char *root, const char *rel)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	if (unlink(p) != 0) {
		fail_msg("cannot remove %s", p);
	}
}

static fl_proto_gpu *amd_gpus(const char *root, uint32_t *n, spoke_node_amd_minors *minors, spoke_node_counters *c)
{
	fl_proto_gpu *g = NULL;
	char err[FL_ERR_LEN] = "";
	if (spoke_node_amd_gpus_minors(root, "node-a", &g, n, minors, c, err) != FL_OK) {
		fail_msg("spoke_node_amd_gpus_minors: %s", err);
	}
	return g;
}

/* ---- AMD ---- */

static void test_amd_memory_used_health_and_render_minors(void **state)
{
	(void)state;
	char root[256];
	make_tree(root, "amd-health", "--amd 4");
	spoke_node_counters c = {0};
	spoke_node_amd_minors minors;
	uint32_t n = 0;
	fl_proto_gpu *g = amd_gpus(root, &n, &minors, &c);
	assert_int_equal(n, 4);
	for (uint32_t i = 0; i < n; i++) {
		char detail[32];
		snprintf(detail, sizeof(detail), "ras ue 0 ce %u", i);
		assert_true(g[i].has_memory_used);
		assert_int_equal(g[i].memory_used_mib, (i + 1) * 1024);
		assert_string_equal(g[i].health, "healthy");
		assert_string_equal(g[i].health_detail, detail);
		assert_int_equal(minors.minor[i], 128 + i);
	}
	assert_int_equal(minors.minor[4], -1); /* the BMC's card4 is no AMD GPU */
	assert_int_equal(minors.minor[255], -1);
	free(g);

	/* Card 1 reports uncorrectable errors; card 3 loses its RAS counters and its memory-used file. */
	make_tree(root, "amd-health", "--edit --ras-error 1");
	remove_file(root, "sys/devices/pci0000:00/0000:13:00.0/ras/umc_err_count");
	remove_file(root, "sys/devices/pci0000:00/0000:13:00.0/mem_info_vram_used");
	write_text(root, "sys/devices/pci0000:00/0000:12:00.0/ras/gfx_err_count", "ue: 0\nce: 40\n");
	g = amd_gpus(root, &n, &minors, &c);
	assert_int_equal(n, 4);
	assert_string_equal(g[0].health, "healthy");
	assert_string_equal(g[1].health, "unhealthy");
	assert_string_equal(g[1].health_detail, "ras ue 2 ce 1");
	assert_string_equal(g[2].health, "healthy");
	assert_string_equal(g[2].health_detail, "ras ue 0 ce 42"); /* umc 2 + gfx 40 */
	assert_string_equal(g[3].health, "");                      /* only ras/features is left: unknown */
	assert_string_equal(g[3].health_detail, "");
	assert_false(g[3].has_memory_used);
	assert_int_equal(g[3].memory_used_mib, 0);
	assert_int_equal(c.gpu_unreadable, 0);
	free(g);
}

static void assert_pm(const spoke_node_proc_mem *pm, int64_t pid, int32_t gpu, int64_t bytes)
{
	assert_int_equal(pm->pid, pid);
	assert_int_equal(pm->gpu_id, gpu);
	assert_int_equal(pm->bytes, bytes);
}

static void test_amd_kfd_per_process_memory(void **state)
{
	(void)state;
	char root[256], err[FL_ERR_LEN] = "";
	make_tree(root, "amd-kfd", "--amd 4");
	spoke_node_counters c = {0};
	spoke_node_amd_minors minors;
	uint32_t n = 0, n_pm = 0;
	free(amd_gpus(root, &n, &minors, &c));
	/* An entry of a kfd GPU that is card 3, and one of a kfd id no topology node has. */
	write_text(root, "sys/class/kfd/kfd/proc/1002/vram_55039", "100\n");
	write_text(root, "sys/class/kfd/kfd/proc/1002/vram_77777", "5\n");
	spoke_node_proc_mem *pm = NULL;
	assert_int_equal(spoke_node_amd_proc_mem(root, &minors, &pm, &n_pm, &c, err), FL_OK);
	assert_int_equal(n_pm, 10);
	assert_pm(&pm[0], 999, 0, 4096);
	assert_pm(&pm[1], 1000, 0, 268435456);
	assert_pm(&pm[2], 1000, 1, 16777216);
	assert_pm(&pm[3], 1000, 2, 0);
	assert_pm(&pm[4], 1002, 2, 805306368);
	assert_pm(&pm[5], 1002, 3, 100);
	assert_pm(&pm[6], 1004, 0, 1342177280);
	assert_pm(&pm[7], 1004, 1, 83886080);
	assert_pm(&pm[8], 1004, 2, 0);
	assert_pm(&pm[9], 1006, 2, 1879048192);
	assert_int_equal(c.kfd_unreadable, 0);
	free(pm);

	/* Card 3 gone: its kfd GPU maps to no node GPU. A vram file that is garbage is counted. */
	make_tree(root, "amd-kfd", "--edit --remove-gpu 3");
	write_text(root, "sys/class/kfd/kfd/proc/1004/vram_52000", "lots\n");
	free(amd_gpus(root, &n, &minors, &c));
	assert_int_equal(n, 3);
	assert_int_equal(spoke_node_amd_proc_mem(root, &minors, &pm, &n_pm, &c, err), FL_OK);
	assert_int_equal(n_pm, 8);
	assert_pm(&pm[5], 1004, 1, 83886080);
	assert_int_equal(c.kfd_unreadable, 1);
	free(pm);

	/* No kfd at all (no AMD GPUs): none, and fine. */
	make_tree(root, "no-kfd", "--amd 0");
	free(amd_gpus(root, &n, &minors, &c));
	pm = (spoke_node_proc_mem *)1;
	assert_int_equal(spoke_node_amd_proc_mem(root, &minors, &pm, &n_pm, &c, err), FL_OK);
	assert_null(pm);
	assert_int_equal(n_pm, 0);
}

/* ---- NVML ---- */

static spoke_nvml *nvml_open(void)
{
	spoke_nvml *nv = NULL;
	char err[FL_ERR_LEN] = "";
	if (spoke_nvml_open(FL_FAKE_NVML, &nv, err) != FL_OK) {
		fail_msg("spoke_nvml_open: %s", err);
	}
	return nv;
}

static fl_proto_gpu *nvml_gpus(spoke_nvml *nv, const char *root, uint32_t *n, spoke_node_counters *c)
{
	fl_proto_gpu *g = NULL;
	char err[FL_ERR_LEN] = "";
	if (spoke_nvml_gpus(nv, root, "node-n", &g, n, c, err) != FL_OK) {
		fail_msg("spoke_nvml_gpus: %s", err);
	}
	assert_int_equal(*n, 2); /* index 2 is lost */
	return g;
}

static void test_nvml_memory_used_and_health(void **state)
{
	(void)state;
	char root[256];
	make_tree(root, "nvml-health", "--amd 0 --rdma 0 --procs 0 --gpu-procs 0");
	/* XID 13 is the program's own fault (not the GPU's); 79 (fallen off the bus) and 48 (double-bit ECC)
	 * are the GPU's: the latest one counts. */
	setenv("FAKE_NVML_XID", "0:13,1:79,1:48", 1);
	spoke_nvml *nv = nvml_open();
	unsetenv("FAKE_NVML_XID");
	spoke_node_counters c = {0};
	uint32_t n = 0;
	fl_proto_gpu *g = nvml_gpus(nv, root, &n, &c);
	for (uint32_t i = 0; i < n; i++) {
		assert_true(g[i].has_memory_used);
		assert_int_equal(g[i].memory_used_mib, 1024);
	}
	assert_string_equal(g[0].health, "healthy");
	assert_string_equal(g[0].health_detail, "");
	assert_string_equal(g[1].health, "unhealthy");
	assert_string_equal(g[1].health_detail, "xid 48");
	assert_int_equal(c.nvml_errors, 1); /* index 2's memory */
	free(g);

	static const struct {
		const char *ecc, *pending, *want0, *want1;
	} cases[] = {
	    {"0:3", NULL, "ecc ue 3", "xid 48"},         /* uncorrected ECC */
	    {NULL, "0", "pages pending", "xid 48"},      /* retired pages pending */
	    {"1:2", "0,1", "pages pending", "ecc ue 2"}, /* ECC comes first */
	    {NULL, NULL, "", "xid 48"},                  /* an XID stays until the spoke restarts */
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		if (cases[k].ecc != NULL) {
			setenv("FAKE_NVML_ECC", cases[k].ecc, 1);
		}
		if (cases[k].pending != NULL) {
			setenv("FAKE_NVML_PAGES_PENDING", cases[k].pending, 1);
		}
		c.nvml_errors = 0;
		g = nvml_gpus(nv, root, &n, &c);
		unsetenv("FAKE_NVML_ECC");
		unsetenv("FAKE_NVML_PAGES_PENDING");
		assert_string_equal(g[0].health_detail, cases[k].want0);
		assert_string_equal(g[0].health, cases[k].want0[0] != '\0' ? "unhealthy" : "healthy");
		assert_string_equal(g[1].health_detail, cases[k].want1);
		assert_string_equal(g[1].health, "unhealthy");
		assert_int_equal(c.nvml_errors, 1);
		free(g);
	}
	spoke_nvml_close(nv);
}

static void test_nvml_running_processes(void **state)
{
	(void)state;
	char root[256], err[FL_ERR_LEN] = "";
	make_tree(root, "nvml-procs", "--amd 0 --rdma 0 --procs 0 --gpu-procs 0");
	spoke_nvml *nv = nvml_open();
	spoke_node_counters c = {0};
	uint32_t n = 0, n_pm = 0;
	fl_proto_gpu *g = nvml_gpus(nv, root, &n, &c);
	/* 2003 is on the lost GPU 2, which has no row: its list is not asked for. */
	setenv("FAKE_NVML_PROCS", "2001:1:2097152,2001:0:1048576,2002:1:na,2000:0:0,2003:2:5", 1);
	spoke_node_proc_mem *pm = NULL;
	assert_int_equal(spoke_nvml_proc_mem(nv, g, n, &pm, &n_pm, &c, err), FL_OK);
	assert_int_equal(n_pm, 4);
	assert_pm(&pm[0], 2000, 0, 0);
	assert_pm(&pm[1], 2001, 0, 1048576);
	assert_pm(&pm[2], 2001, 1, 2097152);
	assert_pm(&pm[3], 2002, 1, -1); /* NVML_VALUE_NOT_AVAILABLE */
	free(pm);

	/* Forty processes on GPU 0: the size call, then the fill call. */
	char many[2048] = "";
	for (int k = 0; k < 40; k++) {
		char item[32];
		snprintf(item, sizeof(item), "%s%d:0:%d", k > 0 ? "," : "", 3000 + k, (k + 1) * 4096);
		strcat(many, item);
	}
	setenv("FAKE_NVML_PROCS", many, 1);
	assert_int_equal(spoke_nvml_proc_mem(nv, g, n, &pm, &n_pm, &c, err), FL_OK);
	assert_int_equal(n_pm, 40);
	assert_pm(&pm[39], 3039, 0, 40 * 4096);
	free(pm);

	/* Twenty of them start between the size call and the fill call: the fill call is made again. */
	setenv("FAKE_NVML_PROCS_HIDDEN", "20", 1);
	assert_int_equal(spoke_nvml_proc_mem(nv, g, n, &pm, &n_pm, &c, err), FL_OK);
	unsetenv("FAKE_NVML_PROCS_HIDDEN");
	assert_int_equal(n_pm, 40);
	assert_pm(&pm[0], 3000, 0, 4096);
	assert_pm(&pm[39], 3039, 0, 40 * 4096);
	free(pm);

	unsetenv("FAKE_NVML_PROCS");
	pm = (spoke_node_proc_mem *)1;
	assert_int_equal(spoke_nvml_proc_mem(nv, g, n, &pm, &n_pm, &c, err), FL_OK);
	assert_null(pm);
	assert_int_equal(n_pm, 0);
	assert_int_equal(c.nvml_errors, 1); /* the spoke_nvml_gpus call's lost GPU, nothing since */
	free(g);
	spoke_nvml_close(nv);
}

/* ---- attach ---- */

static fl_proto_job job(int64_t pid, const char *devices)
{
	fl_proto_job j;
	memset(&j, 0, sizeof(j));
	j.pid = pid;
	snprintf(j.devices, sizeof(j.devices), "%s", devices);
	j.gpu_mask[3] = 1; /* stale: attach clears it */
	return j;
}

static bool mask_is(const fl_proto_job *j, uint64_t word0)
{
	return j->gpu_mask[0] == word0 && j->gpu_mask[1] == 0 && j->gpu_mask[2] == 0 && j->gpu_mask[3] == 0;
}

static void test_attach_from_lists_and_device_files(void **state)
{
	(void)state;
	fl_proto_gpu gpus[4];
	memset(gpus, 0, sizeof(gpus));
	static const double util[] = {3, 10, 17, 0};
	for (int i = 0; i < 4; i++) {
		gpus[i].gpu_id = i;
		gpus[i].utilization = util[i];
		gpus[i].has_utilization = i != 3; /* GPU 3 has no utilization figure */
	}
	spoke_node_amd_minors minors;
	for (int i = 0; i < (int)FL_PROTO_MAX_NODE_GPUS; i++) {
		minors.minor[i] = i < 4 ? 128 + i : -1;
	}
	fl_proto_job jobs[] = {
	    job(1000, "/dev/dri/renderD128,/dev/kfd"), /* the list wins over its files */
	    job(1001, "/dev/dri/card1,/dev/dri/renderD129,/dev/dri/renderD131,/dev/kfd"), /* no list names it */
	    job(1002, "/dev/dri/renderD130,/dev/kfd"),              /* named, 0 bytes everywhere */
	    job(1003, "/dev/kfd"),                                  /* named, amount unknown */
	    job(1004, "/dev/dri/renderD140,/dev/nvidia1,/dev/kfd"), /* nothing of this node */
	};
	spoke_node_proc_mem pm[] = {
	    {1003, 2, -1}, {1000, 3, 300}, {1002, 1, 0}, {1000, 0, 100}, {999, 0, 7}, {1000, 1, 200}, {1002, 2, 0},
	};
	spoke_node_jobs_attach_gpus(jobs, 5, gpus, 4, "amd", &minors, pm, sizeof(pm) / sizeof(pm[0]));
	assert_int_equal(pm[0].pid, 999); /* sorted in place */

	assert_true(mask_is(&jobs[0], 0xb)); /* GPUs 0, 1, 3 */
	assert_true(jobs[0].has_gpu_memory);
	assert_int_equal(jobs[0].gpu_memory_bytes, 600);
	assert_true(jobs[0].has_gpu_utilization);
	assert_true(jobs[0].gpu_utilization == 6.5); /* (3 + 10) / 2: GPU 3 has no figure */

	assert_true(mask_is(&jobs[1], 0xa)); /* renderD129 and renderD131: GPUs 1 and 3 */
	assert_false(jobs[1].has_gpu_memory);
	assert_int_equal(jobs[1].gpu_memory_bytes, 0);
	assert_true(jobs[1].has_gpu_utilization);
	assert_true(jobs[1].gpu_utilization == 10);

	assert_true(mask_is(&jobs[2], 0));
	assert_true(jobs[2].has_gpu_memory);
	assert_int_equal(jobs[2].gpu_memory_bytes, 0);
	assert_false(jobs[2].has_gpu_utilization);

	assert_true(mask_is(&jobs[3], 0x4));
	assert_false(jobs[3].has_gpu_memory);
	assert_true(jobs[3].gpu_utilization == 17);

	assert_true(mask_is(&jobs[4], 0));
	assert_false(jobs[4].has_gpu_memory);
	assert_false(jobs[4].has_gpu_utilization);

	/* NVML and DCMI nodes: their own device files, of GPUs the rows hold; no list at all. */
	fl_proto_job nv[] = {
	    job(2000, "/dev/dri/renderD129,/dev/nvidia-uvm,/dev/nvidia1,/dev/nvidia5,/dev/nvidiactl"),
	    job(2001, "/dev/davinci0,/dev/davinci_manager,/dev/nvidia0"),
	};
	spoke_node_jobs_attach_gpus(nv, 2, gpus, 2, "nvml", NULL, NULL, 0);
	assert_true(mask_is(&nv[0], 0x2));
	assert_true(nv[0].gpu_utilization == 10);
	assert_true(mask_is(&nv[1], 0x1));
	spoke_node_jobs_attach_gpus(nv, 2, gpus, 4, "dcmi", NULL, NULL, 0);
	assert_true(mask_is(&nv[0], 0));
	assert_true(mask_is(&nv[1], 0x1));
	spoke_node_jobs_attach_gpus(nv, 2, gpus, 4, "none", NULL, NULL, 0);
	assert_true(mask_is(&nv[0], 0) && mask_is(&nv[1], 0));
}

/* GPU ids past 63 land in the mask's later words. */
static void test_attach_high_gpu_ids(void **state)
{
	(void)state;
	fl_proto_gpu gpus[3];
	memset(gpus, 0, sizeof(gpus));
	gpus[0].gpu_id = 64;
	gpus[1].gpu_id = 200;
	gpus[2].gpu_id = 255;
	for (int i = 0; i < 3; i++) {
		gpus[i].has_utilization = true;
		gpus[i].utilization = 10 * (i + 1);
	}
	fl_proto_job j = job(7, "/dev/nvidia64,/dev/nvidia255,/dev/nvidia256");
	spoke_node_jobs_attach_gpus(&j, 1, gpus, 3, "nvml", NULL, NULL, 0);
	assert_int_equal(j.gpu_mask[0], 0);
	assert_int_equal(j.gpu_mask[1], 1);
	assert_int_equal(j.gpu_mask[2], 0);
	assert_true(j.gpu_mask[3] == (uint64_t)1 << 63);
	assert_true(j.gpu_utilization == 20); /* (10 + 30) / 2 */
}

/* The whole AMD path over a fixture: the cards, kfd's list, and jobs as the tree's processes hold them
 * (--amd-jobs: every GPU process holds AMD device files; those with k%4 of 1 or 3 are not in kfd). */
static void test_attach_over_an_amd_fixture(void **state)
{
	(void)state;
	char root[256], err[FL_ERR_LEN] = "";
	make_tree(root, "amd-jobs", "--amd 4 --amd-jobs");
	spoke_node_counters c = {0};
	spoke_node_amd_minors minors;
	uint32_t n = 0, n_pm = 0;
	fl_proto_gpu *g = amd_gpus(root, &n, &minors, &c);
	spoke_node_proc_mem *pm = NULL;
	assert_int_equal(spoke_node_amd_proc_mem(root, &minors, &pm, &n_pm, &c, err), FL_OK);
	/* k = 0..3: pattern 0 holds renderD<128+k%4> and renderD<128+(k+1)%4>; pattern 2 card<k%4> and
	 * renderD<128+k%4>. */
	fl_proto_job jobs[] = {
	    job(1000, "/dev/dri/renderD128,/dev/dri/renderD129,/dev/kfd"),
	    job(1001, "/dev/dri/renderD129,/dev/dri/renderD130,/dev/kfd"),
	    job(1002, "/dev/dri/card2,/dev/dri/renderD130"),
	    job(1003, "/dev/dri/renderD128,/dev/dri/renderD131,/dev/kfd"),
	};
	spoke_node_jobs_attach_gpus(jobs, 4, g, n, "amd", &minors, pm, n_pm);
	assert_true(mask_is(&jobs[0], 0x3));
	assert_int_equal(jobs[0].gpu_memory_bytes, 268435456 + 16777216);
	assert_true(jobs[0].gpu_utilization == 6.5); /* gpu_busy_percent 3 and 10 */
	assert_true(mask_is(&jobs[1], 0x6));         /* from its device files */
	assert_false(jobs[1].has_gpu_memory);
	assert_true(jobs[1].gpu_utilization == 13.5);
	assert_true(mask_is(&jobs[2], 0x4));
	assert_int_equal(jobs[2].gpu_memory_bytes, 3 * 256 * MIB);
	assert_true(jobs[2].gpu_utilization == 17);
	assert_true(mask_is(&jobs[3], 0x9));
	assert_true(jobs[3].gpu_utilization == 13.5); /* GPUs 0 and 3: (3 + 24) / 2 */
	free(pm);
	free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_amd_memory_used_health_and_render_minors),
	    cmocka_unit_test(test_amd_kfd_per_process_memory),
	    cmocka_unit_test(test_nvml_memory_used_and_health),
	    cmocka_unit_test(test_nvml_running_processes),
	    cmocka_unit_test(test_attach_from_lists_and_device_files),
	    cmocka_unit_test(test_attach_high_gpu_ids),
	    cmocka_unit_test(test_attach_over_an_amd_fixture),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
