/* test_spoke_node_dev.c — the node role's collectors (spoke_node_dev.h) over fixture host trees written
 * by tests/node_fixtures/make_tree.sh (its header lists every value asserted here), NVML through
 * tests/tools/fake_nvml.c, and the UTF-8 field cut they share (spoke_node_read.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "spoke_node_dev.h"
#include "spoke_node_read.h"
#include "fl_proto_int.h" /* proto/'s internals: the HMAC and UTF-8 check it uses */
#include "fl_test_tmp.h"

static char tmpdir[64];
static const spoke_node_jobs_opts redacted = {.cmdline = SPOKE_CMDLINE_REDACTED}; /* jobs: no environ read */

/* ---- fixture helpers ---- */

/* Runs make_tree.sh into tmpdir/name with opts; returns the tree's path (static buffer per call site
 * is not needed: the caller copies it into root). */
static void make_tree(char root[256], const char *name, const char *opts)
{
	snprintf(root, 256, "%s/%s", tmpdir, name);
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "bash '%s/tests/node_fixtures/make_tree.sh' '%s' %s", FL_SOURCE_DIR, root, opts);
	if (system(cmd) != 0) {
		fail_msg("make_tree.sh failed: %s", cmd);
	}
}

static void write_bytes(const char *root, const char *rel, const char *data, size_t len)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	FILE *f = fopen(p, "wb");
	if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		fail_msg("cannot write %s", p);
	}
}

static void write_text(const char *root, const char *rel, const char *text)
{
	write_bytes(root, rel, text, strlen(text));
}

static void make_dir(const char *root, const char *rel)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	if (mkdir(p, 0755) != 0) {
		fail_msg("mkdir %s failed", p);
	}
}

static void make_link(const char *root, const char *target, const char *rel)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	if (symlink(target, p) != 0) {
		fail_msg("symlink %s failed", p);
	}
}

static void remove_path(const char *root, const char *rel)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	if (unlink(p) != 0 && rmdir(p) != 0) {
		fail_msg("cannot remove %s", p);
	}
}

static void uid_of(int k, char out[FL_UID_LEN])
{
	snprintf(out, FL_UID_LEN, "5e1f%04d-aaaa-4bbb-8ccc-%012d", k, k);
}

static int64_t started_ms_of(int k)
{
	long tck = sysconf(_SC_CLK_TCK);
	int64_t ticks = 100000 + 1000 * k;
	return 1700000000000LL + ticks / tck * 1000 + ticks % tck * 1000 / tck;
}

static void assert_utf8(const char *s)
{
	assert_true(fl_proto_utf8_valid(s, strlen(s)));
}

static int setup(void **state)
{
	(void)state;
	return fl_test_tmp_make(tmpdir, sizeof(tmpdir), "fl_node_dev");
}

static int teardown(void **state)
{
	(void)state;
	return fl_test_tmp_remove(tmpdir);
}

/* ---- AMD ---- */

static fl_proto_gpu *amd_ok(const char *root, uint32_t *n, spoke_node_counters *c)
{
	fl_proto_gpu *g = NULL;
	char err[FL_ERR_LEN] = "";
	if (spoke_node_amd_gpus(root, "node-a", &g, n, c, err) != FL_OK) {
		fail_msg("spoke_node_amd_gpus: %s", err);
	}
	return g;
}

static void test_amd_gpus_read_every_field_in_card_order(void **state)
{
	(void)state;
	char root[256];
	make_tree(root, "amd4", "--amd 4");
	spoke_node_counters c = {0};
	uint32_t n = 0;
	fl_proto_gpu *g = amd_ok(root, &n, &c);
	assert_int_equal(n, 4); /* not the connector, renderD128 or the BMC's card4 */
	static const char *const serial[] = {"a1b2c3d400000000", "a1b2c3d400000001", "a1b2c3d400000002", "6922510003"};
	static const int numa[] = {0, 0, 1, -1};
	for (int i = 0; i < 4; i++) {
		assert_string_equal(g[i].node, "node-a");
		assert_int_equal(g[i].gpu_id, i);
		assert_string_equal(g[i].gpu_model, i < 3 ? "AMD Instinct MI300X" : "AMD GPU 0x74a1");
		assert_int_equal(g[i].memory_mib, 196592 + i);
		assert_true(g[i].has_utilization);
		assert_true(g[i].utilization == 7 * i + 3);
		assert_true(g[i].temperature == 40.5 + i);
		assert_true(g[i].power == 300.25 + i); /* power1_input on the last card */
		assert_string_equal(g[i].serial, serial[i]);
		assert_int_equal(g[i].numa, numa[i]);
	}
	assert_int_equal(c.gpu_unreadable, 0);
	free(g);
}

static void test_amd_cards_are_in_numeric_order(void **state)
{
	(void)state;
	char root[256];
	make_tree(root, "amd12", "--amd 12");
	spoke_node_counters c = {0};
	uint32_t n = 0;
	fl_proto_gpu *g = amd_ok(root, &n, &c);
	assert_int_equal(n, 12);
	for (int i = 0; i < 12; i++) { /* card10 and card11 after card9, not after card1 */
		assert_int_equal(g[i].gpu_id, i);
		assert_true(g[i].utilization == 7 * i + 3);
		assert_int_equal(g[i].memory_mib, 196592 + i);
	}
	assert_string_equal(g[10].serial, "a1b2c3d40000000a");
	free(g);
}

static void test_node_without_gpus_has_no_rows(void **state)
{
	(void)state;
	char root[256], missing[300];
	make_tree(root, "amd0", "--amd 0 --rdma 0 --procs 3 --gpu-procs 0");
	spoke_node_counters c = {0};
	uint32_t n = 7;
	fl_proto_gpu *g = amd_ok(root, &n, &c); /* only the BMC's VGA card */
	assert_int_equal(n, 0);
	assert_null(g);
	snprintf(missing, sizeof(missing), "%s/no-such-root", tmpdir);
	g = amd_ok(missing, &n, &c);
	assert_int_equal(n, 0);
	assert_null(g);
	assert_int_equal(c.gpu_unreadable, 0);

	fl_proto_job *j = NULL;
	char err[FL_ERR_LEN] = "";
	assert_int_equal(spoke_node_jobs(root, &redacted, NULL, 0, &j, NULL, &n, &c, err), FL_OK);
	assert_int_equal(n, 0);
	assert_null(j);
	assert_int_equal(c.proc_unreadable, 1); /* proc/999 */
}

static void test_amd_gpu_that_vanishes_leaves_one_row_fewer(void **state)
{
	(void)state;
	char root[256];
	make_tree(root, "vanish", "--amd 3");
	spoke_node_counters c = {0};
	uint32_t n = 0;
	fl_proto_gpu *g = amd_ok(root, &n, &c);
	assert_int_equal(n, 3);
	free(g);
	remove_path(root, "sys/class/drm/card1");
	g = amd_ok(root, &n, &c);
	assert_int_equal(n, 2);
	assert_int_equal(g[0].gpu_id, 0);
	assert_string_equal(g[0].serial, "a1b2c3d400000000");
	assert_int_equal(g[1].gpu_id, 1);
	assert_string_equal(g[1].serial, "6922510002"); /* card2 */
	assert_true(g[1].utilization == 17);
	assert_int_equal(c.gpu_unreadable, 0);
	free(g);
}

static void test_amd_card_that_cannot_be_read_is_skipped_and_counted(void **state)
{
	(void)state;
	char root[256];
	make_tree(root, "amdbad", "--amd 2");
	/* A read error (EISDIR), not an absent file: the card is not reported half. */
	remove_path(root, "sys/devices/pci0000:00/0000:10:00.0/gpu_busy_percent");
	make_dir(root, "sys/devices/pci0000:00/0000:10:00.0/gpu_busy_percent");
	spoke_node_counters c = {0};
	uint32_t n = 0;
	fl_proto_gpu *g = amd_ok(root, &n, &c);
	assert_int_equal(n, 1);
	assert_int_equal(g[0].gpu_id, 1); /* still card1's position */
	assert_string_equal(g[0].serial, "6922510001");
	assert_int_equal(c.gpu_unreadable, 1);
	free(g);
}

/* ---- RDMA ---- */

static fl_proto_rdma *rdma_ok(const char *root, int64_t now, spoke_rdma_prev *prev, uint32_t *n, spoke_node_counters *c)
{
	fl_proto_rdma *r = NULL;
	char err[FL_ERR_LEN] = "";
	if (spoke_node_rdma(root, now, prev, &r, n, c, err) != FL_OK) {
		fail_msg("spoke_node_rdma: %s", err);
	}
	return r;
}

#define MLX0_P1 "sys/class/infiniband/mlx5_0/ports/1/counters/"

static void test_rdma_devices_counters_and_rates(void **state)
{
	(void)state;
	char root[256];
	make_tree(root, "rdma", "--amd 0 --rdma 2 --procs 0 --gpu-procs 0");
	spoke_rdma_prev *prev = calloc(1, sizeof(*prev));
	spoke_node_counters c = {0};
	uint32_t n = 0;
	const int64_t t0 = 1700000000000LL;

	fl_proto_rdma *r = rdma_ok(root, t0, prev, &n, &c);
	assert_int_equal(n, 2);
	assert_string_equal(r[0].name, "mlx5_0");
	assert_string_equal(r[0].node_guid, "0c42:a103:0000:0b4e");
	assert_string_equal(r[0].fw_version, "28.39.1002");
	assert_string_equal(r[0].port_state, "ACTIVE"); /* from "4: ACTIVE" */
	assert_string_equal(r[0].link_layer, "InfiniBand");
	assert_int_equal(r[0].rx_bytes, (1000000 + 500) * 4); /* both ports, words * 4 */
	assert_int_equal(r[0].tx_bytes, (2000000 + 700) * 4);
	assert_false(r[0].has_rates);
	assert_string_equal(r[1].name, "mlx5_1");
	assert_string_equal(r[1].node_guid, "0c42:a103:0001:0b4e");
	assert_string_equal(r[1].port_state, "DOWN");
	assert_string_equal(r[1].link_layer, "Ethernet");
	assert_int_equal(r[1].rx_bytes, 2000000 * 4);
	assert_int_equal(r[1].tx_bytes, 4000000 * 4);
	assert_false(r[1].has_rates);
	assert_int_equal(prev->n, 2);
	assert_int_equal(prev->at_ms, t0);
	free(r);

	/* 2 s later mlx5_0 moved 250000 words in and 500000 out; mlx5_1 nothing. */
	write_text(root, MLX0_P1 "port_rcv_data", "1250000\n");
	write_text(root, MLX0_P1 "port_xmit_data", "2500000\n");
	r = rdma_ok(root, t0 + 2000, prev, &n, &c);
	assert_int_equal(n, 2);
	assert_true(r[0].has_rates);
	assert_true(r[0].rx_rate == 500000.0);
	assert_true(r[0].tx_rate == 1000000.0);
	assert_int_equal(r[0].rx_bytes, (1250000 + 500) * 4);
	assert_true(r[1].has_rates);
	assert_true(r[1].rx_rate == 0.0 && r[1].tx_rate == 0.0);
	free(r);

	/* A counter reset (the adapter was reset): no rate this cycle, rates again the next. */
	write_text(root, MLX0_P1 "port_rcv_data", "10\n");
	r = rdma_ok(root, t0 + 4000, prev, &n, &c);
	assert_false(r[0].has_rates);
	assert_true(r[1].has_rates);
	free(r);
	write_text(root, MLX0_P1 "port_rcv_data", "1010\n");
	r = rdma_ok(root, t0 + 6000, prev, &n, &c);
	assert_true(r[0].has_rates);
	assert_true(r[0].rx_rate == 2000.0); /* 1000 words * 4 / 2 s */
	assert_true(r[0].tx_rate == 0.0);
	free(r);

	/* The clock did not move forward: no rates. */
	r = rdma_ok(root, t0 + 6000, prev, &n, &c);
	assert_false(r[0].has_rates);
	assert_false(r[1].has_rates);
	free(r);
	assert_int_equal(c.rdma_unreadable, 0);
	free(prev);
}

static void test_rdma_device_without_counters_is_skipped_and_counted(void **state)
{
	(void)state;
	char root[256];
	make_tree(root, "rdmabad", "--amd 0 --rdma 1 --procs 0 --gpu-procs 0");
	make_dir(root, "sys/class/infiniband/mlx5_9");
	write_text(root, "sys/class/infiniband/mlx5_9/node_guid", "0c42:a103:0009:0b4e\n");
	spoke_rdma_prev *prev = calloc(1, sizeof(*prev));
	spoke_node_counters c = {0};
	uint32_t n = 0;
	fl_proto_rdma *r = rdma_ok(root, 1000, prev, &n, &c);
	assert_int_equal(n, 1);
	assert_string_equal(r[0].name, "mlx5_0");
	assert_int_equal(c.rdma_unreadable, 1);
	free(r);

	/* No infiniband folder at all: none, FL_OK. */
	remove_path(root, "sys/class/infiniband/mlx5_0");
	remove_path(root, "sys/class/infiniband/mlx5_9/node_guid");
	remove_path(root, "sys/class/infiniband/mlx5_9");
	remove_path(root, "sys/class/infiniband");
	r = rdma_ok(root, 2000, prev, &n, &c);
	assert_int_equal(n, 0);
	assert_null(r);
	assert_int_equal(prev->n, 0);
	free(prev);
}

/* ---- jobs ---- */

static fl_proto_job *jobs_ok(const char *root, uint32_t *n, spoke_node_counters *c)
{
	fl_proto_job *j = NULL;
	char err[FL_ERR_LEN] = "";
	if (spoke_node_jobs(root, &redacted, NULL, 0, &j, NULL, n, c, err) != FL_OK) {
		fail_msg("spoke_node_jobs: %s", err);
	}
	for (uint32_t i = 0; i < *n; i++) {
		assert_utf8(j[i].name);
		assert_utf8(j[i].cmdline);
		assert_utf8(j[i].cwd);
		assert_utf8(j[i].pod_uid);
		assert_utf8(j[i].devices);
	}
	return j;
}

/* A framework found in an earlier cycle's maps is taken for the same process (pid and start time) without
 * reading its maps again; another start time of that pid is a new process and is looked at afresh. */
static void test_jobs_reuse_a_framework_seen_before(void **state)
{
	(void)state;
	char root[256], maps[320];
	make_tree(root, "seen", "--procs 8 --gpu-procs 8");
	spoke_node_counters c = {0};
	uint32_t n = 0;
	fl_proto_job *j = jobs_ok(root, &n, &c);
	uint32_t k = 0;
	while (k < n && j[k].pid != 1007) {
		k++;
	}
	assert_true(k < n);
	assert_string_equal(j[k].framework, "torch"); /* "python3 worker.py --rank 7 ...", libtorch in its maps */
	spoke_node_job_seen seen = {.pid = 1007, .started_ms = j[k].started_ms, .framework = "paddle"};
	snprintf(maps, sizeof(maps), "%s/proc/1007/maps", root);
	FILE *f = fopen(maps, "w"); /* its maps now name no framework library */
	assert_non_null(f);
	fclose(f);
	spoke_node_jobs_free(j, n);

	char err[FL_ERR_LEN] = "";
	assert_int_equal(spoke_node_jobs(root, &redacted, &seen, 1, &j, NULL, &n, &c, err), FL_OK);
	for (k = 0; k < n && j[k].pid != 1007; k++) {
	}
	assert_true(k < n);
	assert_string_equal(j[k].framework, "paddle"); /* from seen: the maps (now naming none) were not read */
	spoke_node_jobs_free(j, n);
	seen.started_ms += 1; /* the pid now belongs to another process */
	assert_int_equal(spoke_node_jobs(root, &redacted, &seen, 1, &j, NULL, &n, &c, err), FL_OK);
	for (k = 0; k < n && j[k].pid != 1007; k++) {
	}
	assert_true(k < n);
	assert_string_equal(j[k].framework, ""); /* read afresh: nothing names one */
	spoke_node_jobs_free(j, n);
}

static void test_jobs_are_the_gpu_processes_with_their_fields(void **state)
{
	(void)state;
	char root[256], uid[FL_UID_LEN], cwd[64];
	make_tree(root, "jobs", "");
	spoke_node_counters c = {0};
	uint32_t n = 0;
	fl_proto_job *j = jobs_ok(root, &n, &c);

	/* GPU processes 0..7 but 6 (no stat); not the four plain ones, not proc/999. */
	static const struct {
		int k;
		const char *name, *cmdline, *framework, *devices;
		bool pod;
	} want[] = {
	    {0, "python3", "python3 train.py --token=*** --epochs 3", "torch",
	     "/dev/dri/renderD128,/dev/dri/renderD129,/dev/kfd", true},
	    {1, "torchrun", "torchrun --nproc_per_node=8 --password *** main.py", "torch",
	     "/dev/nvidia-uvm,/dev/nvidia1,/dev/nvidiactl", true},
	    {2, "pt (main) 2", "env API_KEY=*** python -m jax_job.train", "jax", "/dev/dri/card2,/dev/dri/renderD130",
	     false},
	    {3, "python3", "python3 caf? ?? --secret-file ***", "tensorflow", "/dev/davinci3,/dev/davinci_manager",
	     true},
	    {4, "python3", NULL, "paddle", "/dev/dri/renderD132,/dev/dri/renderD133,/dev/kfd", true},
	    {5, "python3", "python3 serve.py --client-secret=*** --passwd ***", "mindspore",
	     "/dev/nvidia-uvm,/dev/nvidia5,/dev/nvidiactl", true},
	    {7, "python3",
	     "python3 worker.py --rank 7 --lr=0.001 batch_size=32 --config /workspace/job7/config.yaml --fp16", "torch",
	     "/dev/davinci7,/dev/davinci_manager", true},
	};
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
	for (uint32_t i = 0; i < n; i++) {
		int k = want[i].k;
		assert_int_equal(j[i].pid, 1000 + k);
		assert_int_equal(j[i].ppid, 900 + k);
		assert_int_equal(j[i].pgid, 1000 + k - k % 2);
		assert_int_equal(j[i].started_ms, started_ms_of(k));
		assert_string_equal(j[i].name, want[i].name);
		if (want[i].cmdline != NULL) {
			assert_string_equal(j[i].cmdline, want[i].cmdline);
		}
		snprintf(cwd, sizeof(cwd), "/workspace/job%d", k);
		assert_string_equal(j[i].cwd, cwd);
		assert_string_equal(j[i].framework, want[i].framework);
		uid_of(k, uid);
		assert_string_equal(j[i].pod_uid, want[i].pod ? uid : "");
		assert_string_equal(j[i].devices, want[i].devices);
		static const char *const secrets[] = {"abc123", "hunter2", "sk-live", "zzz", "leak", "/etc/s", "pw"};
		for (size_t s = 0; s < sizeof(secrets) / sizeof(secrets[0]); s++) {
			assert_null(strstr(j[i].cmdline, secrets[s]));
		}
	}
	/* The too-long one: "python3 " and as many whole "é" as fit 1023 bytes (507: 1014 bytes). */
	char long_cmd[FL_CMDLINE_LEN];
	strcpy(long_cmd, "python3 ");
	for (int e = 0; e < 507; e++) {
		strcat(long_cmd, "\xc3\xa9");
	}
	assert_int_equal(strlen(j[4].cmdline), 1022);
	assert_string_equal(j[4].cmdline, long_cmd);
	assert_int_equal(c.proc_unreadable, 2); /* proc/999 (no fd/), proc/1006 (no stat) */
	assert_int_equal(c.jobs_dropped, 0);
	spoke_node_jobs_free(j, n);
}

static void test_jobs_on_a_node_without_nvidia(void **state)
{
	(void)state;
	char root[256];
	make_tree(root, "jobsamd", "--nvidia-less --procs 3 --gpu-procs 2");
	spoke_node_counters c = {0};
	uint32_t n = 0;
	fl_proto_job *j = jobs_ok(root, &n, &c);
	assert_int_equal(n, 2);
	assert_string_equal(j[1].devices, "/dev/dri/renderD129,/dev/dri/renderD130,/dev/kfd");
	spoke_node_jobs_free(j, n);
}

/* Adds proc/<pid> holding /dev/kfd, with the given cmdline bytes. */
static void add_proc(const char *root, int pid, const char *cmdline, size_t len)
{
	char rel[128], stat[256];
	snprintf(rel, sizeof(rel), "proc/%d", pid);
	make_dir(root, rel);
	snprintf(rel, sizeof(rel), "proc/%d/fd", pid);
	make_dir(root, rel);
	snprintf(rel, sizeof(rel), "proc/%d/fd/7", pid);
	make_link(root, "/dev/kfd", rel);
	snprintf(rel, sizeof(rel), "proc/%d/cwd", pid);
	make_link(root, "/", rel);
	snprintf(rel, sizeof(rel), "proc/%d/stat", pid);
	snprintf(stat, sizeof(stat), "%d (x) R 1 %d %d 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 500 0 0\n", pid, pid, pid);
	write_text(root, rel, stat);
	snprintf(rel, sizeof(rel), "proc/%d/comm", pid);
	write_text(root, rel, "x\n");
	snprintf(rel, sizeof(rel), "proc/%d/cgroup", pid);
	write_text(root, rel, "0::/\n");
	snprintf(rel, sizeof(rel), "proc/%d/maps", pid);
	write_text(root, rel, "");
	snprintf(rel, sizeof(rel), "proc/%d/cmdline", pid);
	write_bytes(root, rel, cmdline, len);
}

#define RAW(s) s, sizeof(s) - 1

static void test_jobs_cmdline_redaction(void **state)
{
	(void)state;
	static const struct {
		const char *raw;
		size_t len;
		const char *want;
	} cases[] = {
	    {RAW("a\0--token=X\0"), "a --token=***"},
	    {RAW("a\0--password\0X\0b\0"), "a --password *** b"},
	    {RAW("API_KEY=X\0python\0"), "API_KEY=*** python"},
	    {RAW("run\0--Secret-Key\0--verbose\0"), "run --Secret-Key --verbose"}, /* a flag is not a value */
	    {RAW("a\0-p\0--db-passwd\0-x\0"), "a -p --db-passwd ***"},
	    {RAW("sh\0-c\0python x.py --password hunter2 --n 1\0"), "sh -c python x.py --password *** --n 1"},
	    {RAW("a\0--passwd\0"), "a --passwd"},
	    {RAW("a\0token=x=y\0--password=\0"), "a token=*** --password=***"},
	    {RAW("a\0--tokenizer=bert\0--lr=0.1\0"), "a --tokenizer=bert --lr=0.1"}, /* a word, not a part */
	    {RAW("curl\0-H\0Authorization: Bearer X\0postgres://u:pw@h/db\0"),
	     "curl -H Authorization: Bearer *** postgres://u:***@h/db"},
	    {RAW("mysql\0-pX\0--auth\0X\0{\"password\": \"X\"}\0"), "mysql -p*** --auth *** {\"password\": \"***\"}"},
	    {RAW("nginx: worker process"), "nginx: worker process"}, /* no NUL at all */
	    {RAW("a\0\0b\0"), "a  b"},
	    {RAW(""), ""},
	};
	size_t nc = sizeof(cases) / sizeof(cases[0]);
	char root[256];
	make_tree(root, "redact", "--amd 0 --rdma 0 --procs 0 --gpu-procs 0");
	for (size_t i = 0; i < nc; i++) {
		add_proc(root, 2000 + (int)i, cases[i].raw, cases[i].len);
	}
	spoke_node_counters c = {0};
	uint32_t n = 0;
	fl_proto_job *j = jobs_ok(root, &n, &c);
	assert_int_equal(n, nc);
	for (size_t i = 0; i < nc; i++) {
		assert_int_equal(j[i].pid, 2000 + (int)i);
		assert_string_equal(j[i].cmdline, cases[i].want);
		assert_string_equal(j[i].devices, "/dev/kfd");
		assert_string_equal(j[i].framework, "");
	}
	spoke_node_jobs_free(j, n);
}

/* job_cmdline: full sends the arguments as they are, none an empty command line (the framework still
 * found in it); a command line longer than the read loses its cut last word, not a cut secret. */
static void test_jobs_cmdline_modes_and_cut(void **state)
{
	(void)state;
	char root[256];
	make_tree(root, "cmdmode", "--amd 0 --rdma 0 --procs 0 --gpu-procs 0");
	static const char raw[] = "python\0torch_run.py\0--password\0hunter2\0";
	add_proc(root, 3000, raw, sizeof(raw) - 1);
	/* Of "a --password yyy...y postgres://u:hunter2@host" 4095 bytes are read, cut before the '@'; the
	 * redacted password leaves room for the URL in the field. */
	static const char url[] = "postgres://u:hunter2@host";
	static char long_raw[4200];
	memset(long_raw, 'y', sizeof(long_raw));
	memcpy(long_raw, "a\0--password\0", 13);
	size_t at = 4095 - (sizeof(url) - 1 - 5); /* the URL's '@' is the first byte not read */
	long_raw[at - 1] = '\0';
	memcpy(long_raw + at, url, sizeof(url) - 1);
	long_raw[at + sizeof(url) - 1] = '\0';
	add_proc(root, 3001, long_raw, at + sizeof(url));
	static const struct {
		spoke_cmdline_mode mode;
		const char *want;
	} modes[] = {
	    {SPOKE_CMDLINE_FULL, "python torch_run.py --password hunter2"},
	    {SPOKE_CMDLINE_REDACTED, "python torch_run.py --password ***"},
	    {SPOKE_CMDLINE_NONE, ""},
	};
	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		spoke_node_counters c = {0};
		fl_proto_job *j = NULL;
		uint32_t n = 0;
		char err[FL_ERR_LEN] = "";
		assert_int_equal(spoke_node_jobs(root, &(spoke_node_jobs_opts){.cmdline = modes[m].mode}, NULL, 0, &j,
		                                 NULL, &n, &c, err),
		                 FL_OK);
		assert_int_equal(n, 2);
		assert_string_equal(j[0].cmdline, modes[m].want);
		assert_string_equal(j[0].framework, "torch");
		assert_null(strstr(j[1].cmdline, "hunter2"));
		if (modes[m].mode == SPOKE_CMDLINE_REDACTED) {
			assert_string_equal(j[1].cmdline, "a --password ***");
		}
		spoke_node_jobs_free(j, n);
	}
}

static void test_jobs_without_proc_is_an_io_error(void **state)
{
	(void)state;
	char root[300], err[FL_ERR_LEN] = "";
	snprintf(root, sizeof(root), "%s/empty-root", tmpdir);
	make_dir(tmpdir, "empty-root");
	spoke_node_counters c = {0};
	fl_proto_job *j = NULL;
	uint32_t n = 3;
	assert_int_equal(spoke_node_jobs(root, &redacted, NULL, 0, &j, NULL, &n, &c, err), FL_EIO);
	assert_null(j);
	assert_int_equal(n, 0);
	assert_non_null(strstr(err, "empty-root/proc"));
}

/* ---- NVML ---- */

static void test_nvml_absent_is_not_found_naming_the_library(void **state)
{
	(void)state;
	spoke_nvml *nv = (spoke_nvml *)1;
	char err[FL_ERR_LEN] = "";
	assert_int_equal(spoke_nvml_open("/nonexistent/libnvidia-ml.so.1", &nv, err), FL_ENOTFOUND);
	assert_null(nv);
	assert_non_null(strstr(err, "/nonexistent/libnvidia-ml.so.1"));

	/* The default library: absent on this machine (where it is there, it must open). */
	err[0] = '\0';
	int rv = spoke_nvml_open(NULL, &nv, err);
	if (rv == FL_OK) {
		spoke_nvml_close(nv);
	} else {
		assert_int_equal(rv, FL_ENOTFOUND);
		assert_null(nv);
		assert_non_null(strstr(err, "libnvidia-ml.so.1"));
	}
	spoke_nvml_close(NULL);
}

static void test_nvml_gpus_from_the_fake_library(void **state)
{
	(void)state;
	char root[256], err[FL_ERR_LEN] = "";
	make_tree(root, "nvml", "--amd 0 --rdma 0 --procs 0 --gpu-procs 0");
	spoke_nvml *nv = NULL;
	if (spoke_nvml_open(FL_FAKE_NVML, &nv, err) != FL_OK) {
		fail_msg("spoke_nvml_open: %s", err);
	}
	spoke_node_counters c = {0};
	fl_proto_gpu *g = NULL;
	uint32_t n = 0;
	assert_int_equal(spoke_nvml_gpus(nv, root, "node-n", &g, &n, &c, err), FL_OK);
	assert_int_equal(n, 2); /* index 2 is lost */
	for (int i = 0; i < 2; i++) {
		assert_string_equal(g[i].node, "node-n");
		assert_int_equal(g[i].gpu_id, i);
		assert_string_equal(g[i].gpu_model, "NVIDIA H100 80GB HBM3");
		assert_int_equal(g[i].memory_mib, 81559);
		assert_true(g[i].has_utilization);
		assert_int_equal(g[i].numa, i); /* from sys/bus/pci/devices/0000:3b:00.0, 0000:86:00.0 */
	}
	assert_true(g[0].utilization == 37 && g[1].utilization == 0);
	assert_true(g[0].temperature == 41 && g[1].temperature == 35);
	assert_true(g[0].power == 312.5);
	assert_true(g[1].power == 0); /* not supported: no error counted */
	assert_string_equal(g[0].serial, "1650523012345");
	assert_string_equal(g[1].serial, "1650523012346");
	assert_int_equal(c.nvml_errors, 1); /* index 2's memory: GPU is lost */
	assert_int_equal(c.gpu_unreadable, 1);
	free(g);

	/* Without the PCI devices in sysfs the NUMA node is unknown. */
	make_tree(root, "nvml-less", "--nvidia-less --amd 0 --rdma 0 --procs 0 --gpu-procs 0");
	assert_int_equal(spoke_nvml_gpus(nv, root, "node-n", &g, &n, &c, err), FL_OK);
	assert_int_equal(n, 2);
	assert_int_equal(g[0].numa, -1);
	assert_int_equal(g[1].numa, -1);
	free(g);
	spoke_nvml_close(nv);
}

static void test_nvml_init_failure_is_not_found(void **state)
{
	(void)state;
	char err[FL_ERR_LEN] = "";
	spoke_nvml *nv = NULL;
	setenv("FAKE_NVML_INIT_ERROR", "9", 1);
	int rv = spoke_nvml_open(FL_FAKE_NVML, &nv, err);
	unsetenv("FAKE_NVML_INIT_ERROR");
	assert_int_equal(rv, FL_ENOTFOUND);
	assert_null(nv);
	assert_non_null(strstr(err, "nvmlInit_v2"));
	assert_non_null(strstr(err, "Driver Not Loaded"));
	assert_non_null(strstr(err, FL_FAKE_NVML));
}

/* ---- the UTF-8 field cut ---- */

static void test_utf8_field_cut(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		size_t len, size;
		const char *want;
	} cases[] = {
	    {RAW("plain"), 16, "plain"},
	    {RAW("plain"), 4, "pla"},
	    {RAW("caf\xc3\xa9"), 16, "caf\xc3\xa9"},
	    {RAW("caf\xc3\xa9"), 5, "caf"},                       /* é does not fit whole */
	    {RAW("\xe2\x82\xac\xe2\x82\xac"), 6, "\xe2\x82\xac"}, /* € € in 5 bytes */
	    {RAW("\xf0\x9f\x98\x80!"), 6, "\xf0\x9f\x98\x80!"},   /* 4-byte character */
	    {RAW("caf\xe9!"), 16, "caf?!"},                       /* Latin-1 */
	    {RAW("\xc0\xaf"), 16, "??"},                          /* overlong '/' */
	    {RAW("\xed\xa0\x80"), 16, "???"},                     /* a surrogate */
	    {RAW("\xf4\x90\x80\x80"), 16, "????"},                /* above U+10FFFF */
	    {RAW("ab\xe2\x82"), 16, "ab??"},                      /* cut short */
	    {RAW("a\0b"), 16, "a?b"},                             /* an embedded NUL */
	    {RAW("\xff\xfe"), 2, "?"},
	    {RAW("x"), 1, ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[32];
		memset(out, 'Z', sizeof(out));
		size_t w = spoke_node_read_utf8(out, cases[i].size, cases[i].in, cases[i].len);
		assert_string_equal(out, cases[i].want);
		assert_int_equal(w, strlen(cases[i].want));
		assert_utf8(out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_amd_gpus_read_every_field_in_card_order),
	    cmocka_unit_test(test_amd_cards_are_in_numeric_order),
	    cmocka_unit_test(test_node_without_gpus_has_no_rows),
	    cmocka_unit_test(test_amd_gpu_that_vanishes_leaves_one_row_fewer),
	    cmocka_unit_test(test_amd_card_that_cannot_be_read_is_skipped_and_counted),
	    cmocka_unit_test(test_rdma_devices_counters_and_rates),
	    cmocka_unit_test(test_rdma_device_without_counters_is_skipped_and_counted),
	    cmocka_unit_test(test_jobs_are_the_gpu_processes_with_their_fields),
	    cmocka_unit_test(test_jobs_reuse_a_framework_seen_before),
	    cmocka_unit_test(test_jobs_on_a_node_without_nvidia),
	    cmocka_unit_test(test_jobs_cmdline_redaction),
	    cmocka_unit_test(test_jobs_cmdline_modes_and_cut),
	    cmocka_unit_test(test_jobs_without_proc_is_an_io_error),
	    cmocka_unit_test(test_nvml_absent_is_not_found_naming_the_library),
	    cmocka_unit_test(test_nvml_gpus_from_the_fake_library),
	    cmocka_unit_test(test_nvml_init_failure_is_not_found),
	    cmocka_unit_test(test_utf8_field_cut),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
