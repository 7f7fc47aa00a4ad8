/* test_spoke_config.c — spoke.yaml: defaults, and errors that name FILE:LINE:COL and the key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "spoke_config.h"

static char tmpdir[64];
static char path[128];

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/fl_spoke_config.XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return rmdir(tmpdir);
}

/* Writes text to <tmpdir>/spoke.yaml and returns its path. */
static const char *fixture(const char *text)
{
	snprintf(path, sizeof(path), "%s/spoke.yaml", tmpdir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	return path;
}

/* Loads text and expects failure with "<path>:<where>" in the error. */
static void expect_error(const char *text, const char *where)
{
	spoke_config cfg;
	char err[FL_ERR_LEN] = "";
	const char *p = fixture(text);
	assert_int_equal(spoke_config_load(p, &cfg, err), FL_ECONFIG);
	char want[256];
	snprintf(want, sizeof(want), "%s:%s", p, where);
	if (strstr(err, want) == NULL) {
		fail_msg("error '%s' does not contain '%s'", err, want);
	}
}

static void test_spoke_config_valid_file_loads_with_defaults(void **state)
{
	(void)state;
	spoke_config cfg;
	char err[FL_ERR_LEN] = "";
	const char *p = fixture("cluster: alpha\n"
	                        "hub_url: tcp://127.0.0.1:7100\n"
	                        "sources:\n"
	                        "  sim:\n"
	                        "    nodes: 12\n");
	if (spoke_config_load(p, &cfg, err) != FL_OK) {
		fail_msg("load: %s", err);
	}
	assert_string_equal(cfg.cluster, "alpha");
	assert_string_equal(cfg.hub_url, "tcp://127.0.0.1:7100");
	assert_int_equal(cfg.interval_ms, 30000);
	assert_int_equal(cfg.ack_timeout_ms, 10000);
	assert_int_equal(cfg.log_level, FL_LOG_INFO);
	assert_int_equal(cfg.rules.n_gpu_resources, 3);
	assert_string_equal(cfg.rules.gpu_resources[0], "amd.com/gpu");
	assert_string_equal(cfg.rules.gpu_resources[1], "nvidia.com/gpu");
	assert_string_equal(cfg.rules.gpu_resources[2], "huawei.com/Ascend910");
	assert_int_equal(cfg.rules.n_benign_taints, 3);
	assert_string_equal(cfg.rules.benign_taints[1], "nvidia.com/gpu");
	assert_int_equal(cfg.source, SPOKE_SOURCE_SIM);
	assert_int_equal(cfg.sim.nodes, 12);
	assert_int_equal(cfg.sim.gpus_per_node, 8);
	assert_int_equal(cfg.sim.seed, 1);
}

static void test_spoke_config_every_key_is_read(void **state)
{
	(void)state;
	spoke_config cfg;
	char err[FL_ERR_LEN] = "";
	const char *p = fixture("cluster: beta-1\n"
	                        "hub_url: tls+tcp://hub.example:7100\n"
	                        "interval: 5s\n"
	                        "ack_timeout: 1500ms\n"
	                        "log_level: debug\n"
	                        "gpu_resources: [example.com/npu, nvidia.com/gpu]\n"
	                        "sources:\n"
	                        "  sim: {nodes: 100000, gpus_per_node: 64, seed: 42}\n");
	if (spoke_config_load(p, &cfg, err) != FL_OK) {
		fail_msg("load: %s", err);
	}
	assert_int_equal(cfg.interval_ms, 5000);
	assert_int_equal(cfg.ack_timeout_ms, 1500);
	assert_int_equal(cfg.log_level, FL_LOG_DEBUG);
	assert_int_equal(cfg.rules.n_gpu_resources, 2);
	assert_string_equal(cfg.rules.gpu_resources[0], "example.com/npu");
	/* benign_taints defaults to the configured GPU resources. */
	assert_int_equal(cfg.rules.n_benign_taints, 2);
	assert_string_equal(cfg.rules.benign_taints[0], "example.com/npu");
	assert_string_equal(cfg.rules.benign_taints[1], "nvidia.com/gpu");
	assert_int_equal(cfg.sim.nodes, 100000);
	assert_int_equal(cfg.sim.gpus_per_node, 64);
	assert_int_equal(cfg.sim.seed, 42);

	p = fixture("cluster: c\nhub_url: ipc:///tmp/hub.ipc\nbenign_taints: []\nsources: {sim: {nodes: 1}}\n");
	if (spoke_config_load(p, &cfg, err) != FL_OK) {
		fail_msg("load: %s", err);
	}
	assert_int_equal(cfg.rules.n_benign_taints, 0);
	assert_int_equal(cfg.rules.n_gpu_resources, 3);
}

static void test_spoke_config_missing_cluster_names_key(void **state)
{
	(void)state;
	expect_error("hub_url: tcp://127.0.0.1:7100\nsources:\n  sim:\n    nodes: 2\n", "1:1: key 'cluster': missing");
}

static void test_spoke_config_bad_duration_names_line_col_and_key(void **state)
{
	(void)state;
	expect_error("cluster: alpha\nhub_url: tcp://127.0.0.1:7100\ninterval: soon\nsources:\n  sim:\n    nodes: 2\n",
	             "3:11: key 'interval'");
	expect_error("cluster: alpha\nhub_url: tcp://127.0.0.1:7100\nack_timeout: 10\nsources:\n  sim:\n    nodes: 2\n",
	             "3:14: key 'ack_timeout'");
}

static void test_spoke_config_unknown_key_names_line_col_and_key(void **state)
{
	(void)state;
	expect_error("cluster: alpha\nhub_url: tcp://127.0.0.1:1\nintervall: 30s\nsources:\n  sim: {nodes: 2}\n",
	             "3:1: key 'intervall': unknown key");
	expect_error("cluster: alpha\nhub_url: tcp://127.0.0.1:1\nsources:\n  sim:\n    nodes: 2\n    gpus: 4\n",
	             "6:5: key 'gpus': unknown key");
}

static void test_spoke_config_bad_sim_nodes_names_line_col_and_key(void **state)
{
	(void)state;
	const char *head = "cluster: alpha\nhub_url: tcp://127.0.0.1:7100\nsources:\n  sim:\n";
	char text[512];
	snprintf(text, sizeof(text), "%s    nodes: 0\n", head);
	expect_error(text, "5:12: key 'nodes'");
	snprintf(text, sizeof(text), "%s    nodes: 100001\n", head);
	expect_error(text, "5:12: key 'nodes'");
	snprintf(text, sizeof(text), "%s    nodes: many\n", head);
	expect_error(text, "5:12: key 'nodes'");
	snprintf(text, sizeof(text), "%s    gpus_per_node: 8\n", head); /* nodes is required */
	expect_error(text, "5:5: key 'nodes': missing");
	snprintf(text, sizeof(text), "%s    nodes: 4\n    gpus_per_node: 65\n", head);
	expect_error(text, "6:20: key 'gpus_per_node'");
}

static void test_spoke_config_exactly_one_known_source(void **state)
{
	(void)state;
	expect_error("cluster: alpha\nhub_url: tcp://127.0.0.1:7100\n", "1:1: key 'sources': missing");
	expect_error("cluster: alpha\nhub_url: tcp://127.0.0.1:7100\nsources: {}\n", "3:10: key 'sources'");
	expect_error("cluster: alpha\nhub_url: tcp://127.0.0.1:7100\nsources:\n  kube: {}\n",
	             "4:3: key 'kube': unknown key");
	expect_error("cluster: alpha\nhub_url: tcp://127.0.0.1:7100\nsources:\n  sim:\n", "4:7: key 'sim'");
}

static void test_spoke_config_bad_values_name_their_key(void **state)
{
	(void)state;
	expect_error("cluster: 'no spaces'\nhub_url: tcp://127.0.0.1:1\nsources: {sim: {nodes: 1}}\n",
	             "1:10: key 'cluster'");
	expect_error("cluster: a\nhub_url: http://x\nsources: {sim: {nodes: 1}}\n", "2:10: key 'hub_url'");
	expect_error("cluster: a\nhub_url: tcp://h:1\nlog_level: loud\nsources: {sim: {nodes: 1}}\n",
	             "3:12: key 'log_level'");
	expect_error("cluster: a\nhub_url: tcp://h:1\ngpu_resources: []\nsources: {sim: {nodes: 1}}\n",
	             "3:16: key 'gpu_resources'");
	expect_error("cluster: a\nhub_url: tcp://h:1\nbenign_taints: [ok, '']\nsources: {sim: {nodes: 1}}\n",
	             "3:21: key 'benign_taints'");
}

static void test_spoke_config_unreadable_file_is_an_error(void **state)
{
	(void)state;
	spoke_config cfg;
	char err[FL_ERR_LEN] = "";
	assert_int_not_equal(spoke_config_load("/nonexistent/spoke.yaml", &cfg, err), FL_OK);
	assert_non_null(strstr(err, "/nonexistent/spoke.yaml"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_spoke_config_valid_file_loads_with_defaults),
	    cmocka_unit_test(test_spoke_config_every_key_is_read),
	    cmocka_unit_test(test_spoke_config_missing_cluster_names_key),
	    cmocka_unit_test(test_spoke_config_bad_duration_names_line_col_and_key),
	    cmocka_unit_test(test_spoke_config_unknown_key_names_line_col_and_key),
	    cmocka_unit_test(test_spoke_config_bad_sim_nodes_names_line_col_and_key),
	    cmocka_unit_test(test_spoke_config_exactly_one_known_source),
	    cmocka_unit_test(test_spoke_config_bad_values_name_their_key),
	    cmocka_unit_test(test_spoke_config_unreadable_file_is_an_error),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
