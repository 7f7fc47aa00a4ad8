/* test_spoke_config.c — spoke.yaml: defaults, the key file, the spool and TLS rules, and errors that name
 * FILE:LINE:COL and the key. */
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

#define KEY_TEXT "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static char tmpdir[64];
static char path[128];

/* Files the tests may create in tmpdir; teardown removes them. */
static const char *const scratch[] = {"spoke.yaml", "key", "short.key", "ca.pem", "client.pem", "client.key", NULL};

/* Writes text to <tmpdir>/name and returns its path (a static buffer, overwritten by the next call). */
static const char *write_file(const char *name, const char *text)
{
	static char p[128];
	snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	return p;
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/fl_spoke_config.XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		return -1;
	}
	write_file("key", "  " KEY_TEXT "\n"); /* surrounding whitespace is trimmed */
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char p[128];
	for (const char *const *n = scratch; *n != NULL; n++) {
		snprintf(p, sizeof(p), "%s/%s", tmpdir, *n);
		unlink(p);
	}
	return rmdir(tmpdir);
}

/* Writes text to <tmpdir>/spoke.yaml exactly as given and returns its path. */
static const char *fixture_raw(const char *text)
{
	snprintf(path, sizeof(path), "%s", write_file("spoke.yaml", text));
	return path;
}

/* Like fixture_raw, with "key_file: key" (the valid key in tmpdir) appended as the last line, so the
 * line numbers of the text stay as written. */
static const char *fixture(const char *text)
{
	char buf[2048];
	snprintf(buf, sizeof(buf), "%skey_file: key\n", text);
	return fixture_raw(buf);
}

/* Loads path and expects failure with "<path>:<where>" in the error. */
static void expect_error_at(const char *p, const char *where)
{
	spoke_config cfg;
	char err[FL_ERR_LEN] = "";
	assert_int_equal(spoke_config_load(p, &cfg, err), FL_ECONFIG);
	char want[256];
	snprintf(want, sizeof(want), "%s:%s", p, where);
	if (strstr(err, want) == NULL) {
		fail_msg("error '%s' does not contain '%s'", err, want);
	}
}

/* Loads text (with the valid key_file appended) and expects failure with "<path>:<where>" in the error. */
static void expect_error(const char *text, const char *where)
{
	expect_error_at(fixture(text), where);
}

/* Loads text as written and expects success; returns the config in *cfg. */
static void expect_ok_raw(const char *text, spoke_config *cfg)
{
	char err[FL_ERR_LEN] = "";
	if (spoke_config_load(fixture_raw(text), cfg, err) != FL_OK) {
		fail_msg("load: %s", err);
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
	/* Issue 4 keys: delivery and spool defaults. */
	assert_int_equal(cfg.heartbeat_ms, 10000);
	assert_int_equal(cfg.max_backoff_ms, 30000);
	assert_string_equal(cfg.spool_dir, "");
	assert_int_equal(cfg.spool_memory_bytes, 8u << 20);
	assert_int_equal(cfg.spool_max_bytes, 256u << 20);
	assert_true(cfg.spool_supersede);
	assert_false(cfg.tls_enabled);
	spoke_config_wipe(&cfg);
	assert_int_equal(cfg.key.len, 0);
}

static void test_spoke_config_every_key_is_read(void **state)
{
	(void)state;
	spoke_config cfg;
	char err[FL_ERR_LEN] = "";
	write_file("ca.pem", "not parsed by the config loader\n");
	const char *p = fixture("cluster: beta-1\n"
	                        "hub_url: tls+tcp://hub.example:7100\n"
	                        "tls: {ca_file: ca.pem}\n"
	                        "interval: 5s\n"
	                        "ack_timeout: 1500ms\n"
	                        "heartbeat: 2s\n"
	                        "max_backoff: 5s\n"
	                        "spool_dir: spool\n"
	                        "spool_memory_bytes: 1048576\n"
	                        "spool_max_bytes: 4194304\n"
	                        "spool_supersede: false\n"
	                        "log_level: debug\n"
	                        "gpu_resources: [example.com/npu, nvidia.com/gpu]\n"
	                        "sources:\n"
	                        "  sim: {nodes: 100000, gpus_per_node: 64, seed: 42}\n");
	if (spoke_config_load(p, &cfg, err) != FL_OK) {
		fail_msg("load: %s", err);
	}
	assert_int_equal(cfg.interval_ms, 5000);
	assert_int_equal(cfg.ack_timeout_ms, 1500);
	assert_int_equal(cfg.heartbeat_ms, 2000);
	assert_int_equal(cfg.max_backoff_ms, 5000);
	char want[256];
	snprintf(want, sizeof(want), "%s/spool", tmpdir); /* relative to the config file's folder */
	assert_string_equal(cfg.spool_dir, want);
	assert_int_equal(cfg.spool_memory_bytes, 1048576);
	assert_int_equal(cfg.spool_max_bytes, 4194304);
	assert_false(cfg.spool_supersede);
	assert_true(cfg.tls_enabled);
	snprintf(want, sizeof(want), "%s/ca.pem", tmpdir);
	assert_string_equal(cfg.tls.ca_file, want);
	assert_string_equal(cfg.tls.server_name, "");
	assert_string_equal(cfg.tls.cert_file, "");
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
	expect_error("cluster: alpha\nhub_url: tcp://127.0.0.1:7100\nsources:\n  nosuch: {}\n",
	             "4:3: key 'nosuch': unknown key");
	expect_error("cluster: alpha\nhub_url: tcp://127.0.0.1:7100\nsources:\n  kube: {kubeconfg: x}\n",
	             "4:10: key 'kubeconfg': unknown key");
	expect_error("cluster: alpha\nhub_url: tcp://127.0.0.1:7100\nsources:\n  kube: {kubeconfig: /nonexistent}\n",
	             "4:22: key 'kubeconfig': cannot read");
	expect_error("cluster: alpha\nhub_url: tcp://127.0.0.1:7100\nsources:\n  kube: {page_limit: 0}\n",
	             "4:22: key 'page_limit'");
	expect_error("cluster: alpha\nhub_url: tcp://127.0.0.1:7100\nsources:\n  sim:\n", "4:7: key 'sim'");
}

/* role: node reads the node keys (host_root absolute, default "/"; node_name from the file, else NODE_NAME;
 * job_cmdline full, redacted or none, default redacted) and no sources; the node keys are errors in the cluster role,
 * sources is one in the node role. */
static void test_spoke_config_node_role(void **state)
{
	(void)state;
	spoke_config cfg;
	setenv("NODE_NAME", "gpu-node-7", 1);
	char text[512];
	snprintf(text, sizeof(text), "cluster: alpha\nhub_url: tcp://127.0.0.1:7100\nrole: node\nkey_file: %s/key\n",
	         tmpdir);
	expect_ok_raw(text, &cfg);
	assert_int_equal(cfg.role, SPOKE_ROLE_NODE);
	assert_int_equal(cfg.source, SPOKE_SOURCE_NODE);
	assert_string_equal(spoke_config_source_name(cfg.source), "node");
	assert_string_equal(cfg.host_root, "/");
	assert_string_equal(cfg.node_name, "gpu-node-7");
	assert_string_equal(cfg.nvml_library, "libnvidia-ml.so.1");
	assert_int_equal(cfg.job_cmdline, SPOKE_CMDLINE_REDACTED);
	spoke_config_wipe(&cfg);
	snprintf(text, sizeof(text),
	         "cluster: alpha\nhub_url: tcp://127.0.0.1:7100\nrole: node\nhost_root: /host\nnode_name: n1\n"
	         "nvml_library: /opt/nvml.so\nkey_file: %s/key\n",
	         tmpdir);
	expect_ok_raw(text, &cfg);
	assert_string_equal(cfg.host_root, "/host");
	assert_string_equal(cfg.node_name, "n1");
	assert_string_equal(cfg.nvml_library, "/opt/nvml.so");
	assert_int_equal(cfg.job_cmdline, SPOKE_CMDLINE_REDACTED);
	spoke_config_wipe(&cfg);
	static const struct {
		const char *value;
		spoke_cmdline_mode mode;
	} modes[] = {{"full", SPOKE_CMDLINE_FULL}, {"redacted", SPOKE_CMDLINE_REDACTED}, {"none", SPOKE_CMDLINE_NONE}};
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		snprintf(
		    text, sizeof(text),
		    "cluster: alpha\nhub_url: tcp://127.0.0.1:7100\nrole: node\njob_cmdline: %s\nkey_file: %s/key\n",
		    modes[i].value, tmpdir);
		expect_ok_raw(text, &cfg);
		assert_int_equal(cfg.job_cmdline, modes[i].mode);
		spoke_config_wipe(&cfg);
	}
	unsetenv("NODE_NAME");
	expect_error("cluster: alpha\nhub_url: tcp://127.0.0.1:7100\nrole: gateway\n",
	             "3:7: key 'role': expected cluster or node");
	expect_error("cluster: alpha\nhub_url: tcp://127.0.0.1:7100\nrole: node\nhost_root: host\n",
	             "4:12: key 'host_root': expected an absolute path");
	expect_error("cluster: alpha\nhub_url: tcp://127.0.0.1:7100\nrole: node\nsources:\n  sim: {nodes: 1}\n",
	             "5:3: key 'sources': the node role reads its own node");
	expect_error("cluster: alpha\nhub_url: tcp://127.0.0.1:7100\nhost_root: /host\nsources:\n  sim: {nodes: 1}\n",
	             "3:12: key 'host_root': only the node role");
	expect_error("cluster: alpha\nhub_url: tcp://127.0.0.1:7100\nrole: node\njob_cmdline: partial\n",
	             "4:14: key 'job_cmdline': expected full, redacted or none, got 'partial'");
	expect_error("cluster: alpha\nhub_url: tcp://127.0.0.1:7100\njob_cmdline: none\nsources:\n  sim: {nodes: 1}\n",
	             "3:14: key 'job_cmdline': only the node role");
}

/* job_env (default the 9 placement variables; [] = none; names only, at most 32) and dcmi_library (default
 * libdcmi.so), node role keys. */
static void test_spoke_config_job_env_and_dcmi_library(void **state)
{
	(void)state;
	spoke_config cfg;
	char text[1024];
	static const char head[] = "cluster: alpha\nhub_url: tcp://127.0.0.1:7100\nrole: node\nnode_name: n1\n";
	snprintf(text, sizeof(text), "%skey_file: %s/key\n", head, tmpdir);
	expect_ok_raw(text, &cfg);
	static const char *const defaults[] = {"CUDA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES",
	                                       "ROCR_VISIBLE_DEVICES", "ASCEND_RT_VISIBLE_DEVICES",
	                                       "WORLD_SIZE",           "RANK",
	                                       "LOCAL_RANK",           "MASTER_ADDR",
	                                       "MASTER_PORT"};
	assert_int_equal(cfg.n_job_env, 9);
	for (uint32_t i = 0; i < 9; i++) {
		assert_string_equal(cfg.job_env[i], defaults[i]);
	}
	assert_string_equal(cfg.dcmi_library, "libdcmi.so");
	spoke_config_wipe(&cfg);
	snprintf(text, sizeof(text), "%sjob_env: []\ndcmi_library: /usr/local/dcmi/libdcmi.so\nkey_file: %s/key\n",
	         head, tmpdir);
	expect_ok_raw(text, &cfg);
	assert_int_equal(cfg.n_job_env, 0);
	assert_string_equal(cfg.dcmi_library, "/usr/local/dcmi/libdcmi.so");
	spoke_config_wipe(&cfg);
	snprintf(text, sizeof(text), "%sjob_env: [RANK, _X9, NCCL_SOCKET_IFNAME]\nkey_file: %s/key\n", head, tmpdir);
	expect_ok_raw(text, &cfg);
	assert_int_equal(cfg.n_job_env, 3);
	assert_string_equal(cfg.job_env[0], "RANK");
	assert_string_equal(cfg.job_env[1], "_X9");
	assert_string_equal(cfg.job_env[2], "NCCL_SOCKET_IFNAME");
	spoke_config_wipe(&cfg);

	snprintf(text, sizeof(text), "%sjob_env: [RANK, 9LIVES]\n", head);
	expect_error(text, "5:17: key 'job_env': entry 2: '9LIVES' is not an environment variable name");
	snprintf(text, sizeof(text), "%sjob_env: [A=B]\n", head);
	expect_error(text, "5:11: key 'job_env': entry 1: 'A=B' is not an environment variable name");
	snprintf(text, sizeof(text), "%sjob_env: ['']\n", head);
	expect_error(text, "5:11: key 'job_env': entry 1: expected a non-empty name");
	snprintf(text, sizeof(text), "%sjob_env: RANK\n", head);
	expect_error(text, "5:10: key 'job_env': expected a list of names");
	size_t len = (size_t)snprintf(text, sizeof(text), "%sjob_env: [", head);
	for (int i = 0; i < 33; i++) {
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%sV%d", i > 0 ? ", " : "", i);
	}
	snprintf(text + len, sizeof(text) - len, "]\n");
	expect_error(text, "5:10: key 'job_env': at most 32 entries, got 33");
	snprintf(text, sizeof(text), "%sjob_env: [V%0*d]\n", head, 64, 0);
	expect_error(text, "5:11: key 'job_env': entry 1: longer than 63 characters");
	expect_error("cluster: alpha\nhub_url: tcp://127.0.0.1:7100\njob_env: [RANK]\nsources:\n  sim: {nodes: 1}\n",
	             "3:10: key 'job_env': only the node role");
	expect_error("cluster: alpha\nhub_url: tcp://127.0.0.1:7100\ndcmi_library: x.so\nsources:\n  sim: {nodes: 1}\n",
	             "3:15: key 'dcmi_library': only the node role");
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

static void test_spoke_config_key_file_is_required(void **state)
{
	(void)state;
	expect_error_at(fixture_raw("cluster: a\nhub_url: tcp://h:1\nsources: {sim: {nodes: 1}}\n"),
	                "1:1: key 'key_file': missing");
	expect_error_at(fixture_raw("cluster: a\nhub_url: tcp://h:1\nkey_file: ''\nsources: {sim: {nodes: 1}}\n"),
	                "3:11: key 'key_file': expected a path");
}

static void test_spoke_config_key_file_is_relative_to_the_config_folder(void **state)
{
	(void)state;
	spoke_config cfg;
	expect_ok_raw("cluster: a\nhub_url: tcp://h:1\nkey_file: key\nsources: {sim: {nodes: 1}}\n", &cfg);
	char want[256];
	snprintf(want, sizeof(want), "%s/key", tmpdir);
	assert_string_equal(cfg.key_file, want);
	assert_int_equal(cfg.key.len, 64); /* trimmed */
	assert_memory_equal(cfg.key.bytes, KEY_TEXT, 64);
	spoke_config_wipe(&cfg);

	char text[512]; /* an absolute path is taken as it is */
	snprintf(text, sizeof(text), "cluster: a\nhub_url: tcp://h:1\nkey_file: %s/key\nsources: {sim: {nodes: 1}}\n",
	         tmpdir);
	expect_ok_raw(text, &cfg);
	assert_string_equal(cfg.key_file, want);
	assert_int_equal(cfg.key.len, 64);
	spoke_config_wipe(&cfg);
}

static void test_spoke_config_bad_key_file_names_line_col_and_why(void **state)
{
	(void)state;
	write_file("short.key", "tooshort\n");
	spoke_config cfg;
	char err[FL_ERR_LEN] = "";
	const char *p =
	    fixture_raw("cluster: a\nhub_url: tcp://h:1\nkey_file: short.key\nsources: {sim: {nodes: 1}}\n");
	assert_int_equal(spoke_config_load(p, &cfg, err), FL_ECONFIG);
	char want[256];
	snprintf(want, sizeof(want), "%s:3:11: key 'key_file': key file %s/short.key: 8 bytes", p, tmpdir);
	if (strstr(err, want) == NULL) {
		fail_msg("error '%s' does not contain '%s'", err, want);
	}
	assert_null(strstr(err, "tooshort")); /* never the key itself */
	assert_int_equal(cfg.key.len, 0);

	p = fixture_raw("cluster: a\nhub_url: tcp://h:1\nkey_file: nokey\nsources: {sim: {nodes: 1}}\n");
	assert_int_equal(spoke_config_load(p, &cfg, err), FL_ECONFIG);
	assert_non_null(strstr(err, ":3:11: key 'key_file': key file "));
	assert_non_null(strstr(err, "nokey: cannot open"));
}

static void test_spoke_config_spool_rules(void **state)
{
	(void)state;
	const char *head = "cluster: a\nhub_url: tcp://h:1\nsources: {sim: {nodes: 1}}\n";
	char text[512];
	snprintf(text, sizeof(text), "%sspool_max_bytes: 1048576\n", head);
	expect_error(text, "4:18: key 'spool_max_bytes': only applies with spool_dir");
	snprintf(text, sizeof(text), "%sspool_dir: /tmp/x\nspool_memory_bytes: 2097152\nspool_max_bytes: 1048576\n",
	         head);
	expect_error(text, "6:18: key 'spool_max_bytes': spool_memory_bytes (2097152) must not exceed");
	snprintf(text, sizeof(text), "%sspool_dir: /tmp/x\nspool_memory_bytes: 300000000\n", head);
	expect_error(text, "5:21: key 'spool_memory_bytes': spool_memory_bytes (300000000) must not exceed");
	snprintf(text, sizeof(text), "%sspool_memory_bytes: 1000\n", head);
	expect_error(text, "4:21: key 'spool_memory_bytes': 1000 is out of range");
	snprintf(text, sizeof(text), "%sspool_supersede: maybe\n", head);
	expect_error(text, "4:18: key 'spool_supersede'");
	snprintf(text, sizeof(text), "%smax_backoff: 100ms\n", head);
	expect_error(text, "4:14: key 'max_backoff': at least 200ms");
	snprintf(text, sizeof(text), "%sheartbeat: never\n", head);
	expect_error(text, "4:12: key 'heartbeat'");

	/* Without spool_dir a large memory spool is fine: the disk bound does not apply. */
	spoke_config cfg;
	snprintf(text, sizeof(text), "%sspool_memory_bytes: 300000000\nkey_file: key\n", head);
	expect_ok_raw(text, &cfg);
	assert_int_equal(cfg.spool_memory_bytes, 300000000);
	assert_string_equal(cfg.spool_dir, "");
}

static void test_spoke_config_tls_rules(void **state)
{
	(void)state;
	write_file("ca.pem", "x\n");
	write_file("client.pem", "x\n");
	write_file("client.key", "x\n");
	const char *src = "sources: {sim: {nodes: 1}}\n";
	char text[512];
	snprintf(text, sizeof(text), "cluster: a\nhub_url: tls+tcp://hub.example:7100\n%s", src);
	expect_error(text, "2:10: key 'hub_url': a tls+tcp:// hub needs a tls: section with ca_file");
	snprintf(text, sizeof(text), "cluster: a\nhub_url: tls+tcp://hub.example:7100\ntls: {server_name: hub}\n%s",
	         src);
	expect_error(text, "3:6: key 'ca_file': missing");
	snprintf(text, sizeof(text), "cluster: a\nhub_url: tcp://hub.example:7100\ntls: {ca_file: ca.pem}\n%s", src);
	expect_error(text, "3:6: key 'tls': only used with a tls+tcp:// hub_url");
	snprintf(text, sizeof(text), "cluster: a\nhub_url: tls+tcp://h:1\ntls:\n  ca_file: missing.pem\n%s", src);
	expect_error(text, "4:12: key 'ca_file': cannot read");
	snprintf(text, sizeof(text),
	         "cluster: a\nhub_url: tls+tcp://h:1\ntls:\n  ca_file: ca.pem\n  cert_file: client.pem\n%s", src);
	expect_error(text, "5:14: key 'cert_file': cert_file and key_file go together");
	snprintf(text, sizeof(text), "cluster: a\nhub_url: tls+tcp://h:1\ntls:\n  ca_file: ca.pem\n  cafile: x\n%s",
	         src);
	expect_error(text, "5:3: key 'cafile': unknown key");

	spoke_config cfg;
	snprintf(text, sizeof(text),
	         "cluster: a\nhub_url: tls+tcp://10.0.0.1:7100\nkey_file: key\ntls:\n  ca_file: ca.pem\n"
	         "  server_name: hub.example\n  cert_file: client.pem\n  key_file: client.key\n%s",
	         src);
	expect_ok_raw(text, &cfg);
	assert_true(cfg.tls_enabled);
	assert_string_equal(cfg.tls.server_name, "hub.example");
	char want[256];
	snprintf(want, sizeof(want), "%s/client.pem", tmpdir);
	assert_string_equal(cfg.tls.cert_file, want);
	snprintf(want, sizeof(want), "%s/client.key", tmpdir);
	assert_string_equal(cfg.tls.key_file, want);
	snprintf(want, sizeof(want), "%s/key", tmpdir); /* tls.key_file is not the cluster key */
	assert_string_equal(cfg.key_file, want);
	spoke_config_wipe(&cfg);
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
	    cmocka_unit_test(test_spoke_config_node_role),
	    cmocka_unit_test(test_spoke_config_job_env_and_dcmi_library),
	    cmocka_unit_test(test_spoke_config_bad_values_name_their_key),
	    cmocka_unit_test(test_spoke_config_key_file_is_required),
	    cmocka_unit_test(test_spoke_config_key_file_is_relative_to_the_config_folder),
	    cmocka_unit_test(test_spoke_config_bad_key_file_names_line_col_and_why),
	    cmocka_unit_test(test_spoke_config_spool_rules),
	    cmocka_unit_test(test_spoke_config_tls_rules),
	    cmocka_unit_test(test_spoke_config_unreadable_file_is_an_error),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
