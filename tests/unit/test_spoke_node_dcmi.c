/* test_spoke_node_dcmi.c — Ascend NPUs through DCMI (spoke_dcmi_* of spoke_node_dev.h) against
 * tests/tools/fake_dcmi.c, whose opening comment lists every value asserted here, and the node role's
 * cycle (spoke_node.h) taking its GPUs from DCMI on a fixture tree (tests/node_fixtures/make_tree.sh)
 * without AMD or NVIDIA GPUs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "spoke_node.h"
#include "spoke_node_dev.h"
#include "fl_test_tmp.h"

static char tmpdir[64];

static int setup(void **state)
{
	(void)state;
	return fl_test_tmp_make(tmpdir, sizeof(tmpdir), "fl_node_dcmi");
}

static int teardown(void **state)
{
	(void)state;
	return fl_test_tmp_remove(tmpdir);
}

/* Makes host_root/sys/bus/pci/devices/<bdf>/numa_node holding numa (mkdir -p). */
static void write_numa(const char *root, const char *bdf, const char *numa)
{
	char p[512];
	const char *parts[] = {"sys", "sys/bus", "sys/bus/pci", "sys/bus/pci/devices"};
	mkdir(root, 0755);
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", root, parts[i]);
		mkdir(p, 0755);
	}
	snprintf(p, sizeof(p), "%s/sys/bus/pci/devices/%s", root, bdf);
	if (mkdir(p, 0755) != 0) {
		fail_msg("mkdir %s failed", p);
	}
	snprintf(p, sizeof(p), "%s/sys/bus/pci/devices/%s/numa_node", root, bdf);
	FILE *f = fopen(p, "w");
	if (f == NULL || fputs(numa, f) < 0 || fclose(f) != 0) {
		fail_msg("cannot write %s", p);
	}
}

static spoke_dcmi *open_fake(void)
{
	spoke_dcmi *d = NULL;
	char err[FL_ERR_LEN] = "";
	if (spoke_dcmi_open(FL_FAKE_DCMI, &d, err) != FL_OK) {
		fail_msg("spoke_dcmi_open: %s", err);
	}
	return d;
}

static void test_dcmi_absent_is_not_found_naming_the_library(void **state)
{
	(void)state;
	spoke_dcmi *d = (spoke_dcmi *)1;
	char err[FL_ERR_LEN] = "";
	assert_int_equal(spoke_dcmi_open("/nonexistent/libdcmi.so", &d, err), FL_ENOTFOUND);
	assert_null(d);
	assert_non_null(strstr(err, "/nonexistent/libdcmi.so"));

	/* The default library: absent on this machine (where it is there, it must open). */
	err[0] = '\0';
	int rv = spoke_dcmi_open(NULL, &d, err);
	if (rv == FL_OK) {
		spoke_dcmi_close(d);
	} else {
		assert_int_equal(rv, FL_ENOTFOUND);
		assert_null(d);
		assert_non_null(strstr(err, "libdcmi.so"));
	}
	spoke_dcmi_close(NULL);
}

static void test_dcmi_init_failure_is_not_found(void **state)
{
	(void)state;
	char err[FL_ERR_LEN] = "";
	spoke_dcmi *d = (spoke_dcmi *)1;
	setenv("FAKE_DCMI_INIT_ERROR", "-8008", 1);
	int rv = spoke_dcmi_open(FL_FAKE_DCMI, &d, err);
	unsetenv("FAKE_DCMI_INIT_ERROR");
	assert_int_equal(rv, FL_ENOTFOUND);
	assert_null(d);
	assert_non_null(strstr(err, FL_FAKE_DCMI));
	assert_non_null(strstr(err, "dcmi_init failed: DCMI error -8008"));
}

static void test_dcmi_npus_from_the_fake_library(void **state)
{
	(void)state;
	char root[256], err[FL_ERR_LEN] = "";
	snprintf(root, sizeof(root), "%s/npu", tmpdir);
	write_numa(root, "0000:c1:00.0", "1\n"); /* NPU 0's; NPU 1's 0000:01:00.0 is not there */
	spoke_dcmi *d = open_fake();
	spoke_node_counters c = {0};
	fl_proto_gpu *g = NULL;
	uint32_t n = 0;
	assert_int_equal(spoke_dcmi_gpus(d, root, "node-h", &g, &n, &c, err), FL_OK);
	assert_int_equal(n, 2); /* NPU 2 is lost */
	for (int i = 0; i < 2; i++) {
		assert_string_equal(g[i].node, "node-h");
		assert_int_equal(g[i].gpu_id, i);
		assert_string_equal(g[i].gpu_model, "Ascend910B3");
		assert_int_equal(g[i].memory_mib, 65536); /* the HBM, not the 15360 MB of DDR */
		assert_true(g[i].has_memory_used);
		assert_int_equal(g[i].memory_used_mib, 1024 * (i + 1));
		assert_true(g[i].has_utilization);
		assert_true(g[i].utilization == 40 + i); /* AI core */
		assert_true(g[i].temperature == 45 + i);
		assert_string_equal(g[i].health, "healthy");
		assert_string_equal(g[i].health_detail, "dcmi health 0");
	}
	assert_true(g[0].power == 91.5);
	assert_true(g[1].power == 0); /* not supported: no error counted */
	assert_string_equal(g[0].serial, "102400000001");
	assert_string_equal(g[1].serial, "102400000002");
	assert_int_equal(g[0].numa, 1);
	assert_int_equal(g[1].numa, -1);
	assert_int_equal(c.gpu_unreadable, 1);
	assert_int_equal(c.dcmi_errors, 1); /* NPU 2's chip info: device does not exist */
	assert_int_equal(c.nvml_errors, 0);
	free(g);
	spoke_dcmi_close(d);
}

static void test_dcmi_health_alarm_is_unhealthy(void **state)
{
	(void)state;
	char err[FL_ERR_LEN] = "";
	spoke_dcmi *d = open_fake();
	spoke_node_counters c = {0};
	fl_proto_gpu *g = NULL;
	uint32_t n = 0;
	setenv("FAKE_DCMI_UNHEALTHY", "1", 1);
	int rv = spoke_dcmi_gpus(d, tmpdir, "node-h", &g, &n, &c, err);
	unsetenv("FAKE_DCMI_UNHEALTHY");
	assert_int_equal(rv, FL_OK);
	assert_int_equal(n, 2);
	assert_string_equal(g[0].health, "healthy");
	assert_string_equal(g[0].health_detail, "dcmi health 0");
	assert_string_equal(g[1].health, "unhealthy");
	assert_string_equal(g[1].health_detail, "dcmi health 2");
	free(g);
	spoke_dcmi_close(d);
}

static void test_dcmi_without_hbm_reads_device_memory(void **state)
{
	(void)state;
	char err[FL_ERR_LEN] = "";
	spoke_dcmi *d = open_fake();
	spoke_node_counters c = {0};
	fl_proto_gpu *g = NULL;
	uint32_t n = 0;
	setenv("FAKE_DCMI_NO_HBM", "1", 1);
	int rv = spoke_dcmi_gpus(d, tmpdir, "node-h", &g, &n, &c, err);
	unsetenv("FAKE_DCMI_NO_HBM");
	assert_int_equal(rv, FL_OK);
	assert_int_equal(n, 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(g[i].memory_mib, 15360);
		assert_true(g[i].has_memory_used);
		assert_int_equal(g[i].memory_used_mib, 3072);
	}
	assert_int_equal(c.dcmi_errors, 1); /* only the lost NPU; "not supported" is not an error */
	free(g);
	spoke_dcmi_close(d);
}

static void test_dcmi_process_memory(void **state)
{
	(void)state;
	char err[FL_ERR_LEN] = "";
	spoke_dcmi *d = open_fake();
	spoke_node_counters c = {0};
	spoke_node_proc_mem *p = (spoke_node_proc_mem *)1;
	uint32_t n = 99;

	unsetenv("FAKE_DCMI_PROCS");
	assert_int_equal(spoke_dcmi_proc_mem(d, &p, &n, &c, err), FL_OK);
	assert_null(p);
	assert_int_equal(n, 0);
	assert_int_equal(c.dcmi_errors, 1); /* the lost NPU */

	/* NPU 2 is lost (its process is not listed); NPU 7 does not exist. */
	setenv("FAKE_DCMI_PROCS", "4242:1:3221225472,4242:0:1048576,5151:0:8589934592,6161:2:1,7171:7:1", 1);
	c = (spoke_node_counters){0};
	int rv = spoke_dcmi_proc_mem(d, &p, &n, &c, err);
	unsetenv("FAKE_DCMI_PROCS");
	assert_int_equal(rv, FL_OK);
	assert_int_equal(n, 3);
	static const spoke_node_proc_mem want[] = {
	    {4242, 0, 1048576},
	    {5151, 0, 8589934592LL},
	    {4242, 1, 3221225472LL},
	};
	for (uint32_t i = 0; i < 3; i++) {
		assert_int_equal(p[i].pid, want[i].pid);
		assert_int_equal(p[i].gpu_id, want[i].gpu_id);
		assert_int_equal(p[i].bytes, want[i].bytes);
	}
	assert_int_equal(c.dcmi_errors, 1);
	free(p);
	spoke_dcmi_close(d);
}

static void test_node_role_takes_its_gpus_from_dcmi(void **state)
{
	(void)state;
	char root[256], cmd[1024], err[FL_ERR_LEN] = "";
	snprintf(root, sizeof(root), "%s/node", tmpdir);
	snprintf(cmd, sizeof(cmd), "bash '%s/tests/node_fixtures/make_tree.sh' '%s' %s >/dev/null", FL_SOURCE_DIR, root,
	         "--amd 0 --nvidia-less --rdma 0 --procs 2 --gpu-procs 1");
	assert_int_equal(system(cmd), 0);
	static spoke_config cfg; /* large: not on the stack */
	memset(&cfg, 0, sizeof(cfg));
	cfg.role = SPOKE_ROLE_NODE;
	cfg.source = SPOKE_SOURCE_NODE;
	cfg.job_cmdline = SPOKE_CMDLINE_REDACTED;
	snprintf(cfg.cluster, sizeof(cfg.cluster), "alpha");
	snprintf(cfg.host_root, sizeof(cfg.host_root), "%s", root);
	snprintf(cfg.node_name, sizeof(cfg.node_name), "npu-node-1");
	snprintf(cfg.nvml_library, sizeof(cfg.nvml_library), "/nonexistent/libnvidia-ml.so.1");
	snprintf(cfg.dcmi_library, sizeof(cfg.dcmi_library), "%s", FL_FAKE_DCMI);
	spoke_node_role *n = NULL;
	assert_int_equal(spoke_node_open(&cfg, &n, err), FL_OK);
	spoke_frame_meta meta = {"alpha", "npu-node-1", 1, 1700000000000LL, "node"};
	fl_proto_frame f;
	setenv("FAKE_DCMI_PROCS", "1000:1:2147483648,1000:0:1048576", 1);
	int rv = spoke_node_collect(n, &meta, 1700000000000LL, &f, err);
	unsetenv("FAKE_DCMI_PROCS");
	if (rv != FL_OK) {
		fail_msg("spoke_node_collect: %s", err);
	}
	assert_string_equal(f.host.gpu_source, "dcmi");
	assert_int_equal(f.n_gpus, 2);
	assert_string_equal(f.gpus[1].gpu_model, "Ascend910B3");
	assert_string_equal(f.gpus[1].node, "npu-node-1");
	assert_int_equal(f.n_jobs, 1); /* pid 1000, the fixture's one GPU process */
	assert_int_equal(f.jobs[0].pid, 1000);
	assert_true(f.jobs[0].gpu_mask[0] == 3 && f.jobs[0].gpu_mask[1] == 0); /* NPUs 0 and 1, from DCMI's list */
	assert_true(f.jobs[0].has_gpu_memory);
	assert_int_equal(f.jobs[0].gpu_memory_bytes, 2147483648LL + 1048576);
	spoke_node_counters c;
	spoke_node_get_counters(n, &c);
	assert_int_equal(c.gpu_unreadable, 1); /* the lost NPU, once per cycle */
	fl_proto_frame_free(&f);
	spoke_node_close(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dcmi_absent_is_not_found_naming_the_library),
	    cmocka_unit_test(test_dcmi_init_failure_is_not_found),
	    cmocka_unit_test(test_dcmi_npus_from_the_fake_library),
	    cmocka_unit_test(test_dcmi_health_alarm_is_unhealthy),
	    cmocka_unit_test(test_dcmi_without_hbm_reads_device_memory),
	    cmocka_unit_test(test_dcmi_process_memory),
	    cmocka_unit_test(test_node_role_takes_its_gpus_from_dcmi),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
