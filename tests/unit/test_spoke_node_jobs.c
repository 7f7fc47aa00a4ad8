/* test_spoke_node_jobs.c — what spoke_node_jobs (spoke_node_dev.h) says a GPU job is doing and runs with, over
 * fixture trees written by tests/node_fixtures/make_tree.sh (its header lists every value asserted here):
 * process metrics, cpu% across two cycles (the tree edited between them, no sleeping), parameters and config
 * path, the allowlisted environment, and the secrets planted in environ and a config file appearing nowhere
 * (inotify shows those files are not even opened where they must not be). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cmocka.h>

#include "spoke_node_dev.h"
#include "fl_test_tmp.h"

static char tmpdir[64];

/* The default job_env (spoke_config.c), in its order. */
static const char env_names[9][FL_KV_KEY_LEN] = {"CUDA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES",
                                                 "ROCR_VISIBLE_DEVICES", "ASCEND_RT_VISIBLE_DEVICES",
                                                 "WORLD_SIZE",           "RANK",
                                                 "LOCAL_RANK",           "MASTER_ADDR",
                                                 "MASTER_PORT"};

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

static fl_proto_job *jobs_ok(const char *root, const spoke_node_jobs_opts *o, const spoke_node_job_seen *seen,
                             uint32_t n_seen, spoke_node_job_seen **now, uint32_t *n)
{
	fl_proto_job *j = NULL;
	spoke_node_counters c = {0};
	char err[FL_ERR_LEN] = "";
	if (spoke_node_jobs(root, o, seen, n_seen, &j, now, n, &c, err) != FL_OK) {
		fail_msg("spoke_node_jobs: %s", err);
	}
	return j;
}

static const fl_proto_job *job(const fl_proto_job *j, uint32_t n, int64_t pid)
{
	for (uint32_t i = 0; i < n; i++) {
		if (j[i].pid == pid) {
			return &j[i];
		}
	}
	fail_msg("no job %lld", (long long)pid);
	return NULL;
}

/* The fixture's GPU processes that are jobs (6 has no stat). */
static const int ks[] = {0, 1, 2, 3, 4, 5, 7};
#define N_KS (sizeof(ks) / sizeof(ks[0]))

static void test_process_metrics(void **state)
{
	(void)state;
	char root[256];
	make_tree(root, "metrics", "");
	spoke_node_jobs_opts o = {.cmdline = SPOKE_CMDLINE_REDACTED};
	uint32_t n = 0;
	fl_proto_job *j = jobs_ok(root, &o, NULL, 0, NULL, &n);
	assert_int_equal(n, N_KS);
	static const int fds_by_pattern[] = {9, 8, 7, 7}; /* 0..4, and 4, 3, 2, 2 GPU device fds */
	long page = sysconf(_SC_PAGESIZE);
	for (size_t i = 0; i < N_KS; i++) {
		int k = ks[i];
		const fl_proto_job *x = job(j, n, 1000 + k);
		assert_string_equal(x->state, k % 4 == 0 ? "R" : "S");
		assert_int_equal(x->threads, 4 + k);
		assert_int_equal(x->rss_bytes, (500 + 100 * k) * (int64_t)page);
		assert_int_equal(x->fds, fds_by_pattern[k % 4]);
		assert_false(x->has_cpu); /* no previous cycle */
		assert_false(x->has_gpu_memory);
		assert_false(x->has_gpu_utilization);
	}
	spoke_node_jobs_free(j, n);
}

/* cpu%: ticks between two cycles over the uptime between them, exact: make_tree.sh --advance 10 gives
 * process k 10*(k%8+1)+5 % (with USER_HZ 100, what CLK_TCK is on Linux). */
static void test_cpu_percent_across_cycles(void **state)
{
	(void)state;
	char root[256], cmd[512];
	assert_int_equal(sysconf(_SC_CLK_TCK), 100);
	make_tree(root, "cpu", "");
	spoke_node_jobs_opts o = {.cmdline = SPOKE_CMDLINE_REDACTED};
	spoke_node_job_seen *now1 = NULL, *now2 = NULL, *now3 = NULL;
	uint32_t n1 = 0, n2 = 0, n3 = 0;
	fl_proto_job *j1 = jobs_ok(root, &o, NULL, 0, &now1, &n1);
	assert_int_equal(n1, N_KS);
	for (uint32_t i = 0; i < n1; i++) {
		assert_int_equal(now1[i].pid, j1[i].pid);
		assert_int_equal(now1[i].started_ms, j1[i].started_ms);
		assert_int_equal(now1[i].uptime_cs, 1234567);
		assert_int_equal(now1[i].cpu_ticks, 5 + (j1[i].pid - 1000) + 3);
	}
	/* Again without time passing: uptime did not advance, no figure. */
	fl_proto_job *j2 = jobs_ok(root, &o, now1, n1, &now2, &n2);
	for (uint32_t i = 0; i < n2; i++) {
		assert_false(j2[i].has_cpu);
	}
	snprintf(cmd, sizeof(cmd), "bash '%s/tests/node_fixtures/make_tree.sh' '%s' --edit --advance 10", FL_SOURCE_DIR,
	         root);
	assert_int_equal(system(cmd), 0);
	now2[1].started_ms += 1; /* pid 1001 is another process now: no figure for it */
	fl_proto_job *j3 = jobs_ok(root, &o, now2, n2, &now3, &n3);
	assert_int_equal(n3, N_KS);
	for (uint32_t i = 0; i < n3; i++) {
		int k = (int)(j3[i].pid - 1000);
		assert_int_equal(now3[i].uptime_cs, 1235567);
		if (k == 1) {
			assert_false(j3[i].has_cpu);
			continue;
		}
		assert_true(j3[i].has_cpu);
		if (j3[i].cpu_percent != 10.0 * (k % 8 + 1) + 5.0) {
			fail_msg("job %d: cpu %.17g%%, want %d%%", k, j3[i].cpu_percent, 10 * (k % 8 + 1) + 5);
		}
	}
	spoke_node_jobs_free(j1, n1);
	spoke_node_jobs_free(j2, n2);
	spoke_node_jobs_free(j3, n3);
	free(now1);
	free(now2);
	free(now3);
}

/* Parameters and config path from the fixture's command lines, as sent (redacted). */
static void test_parameters_and_config_path(void **state)
{
	(void)state;
	char root[256];
	make_tree(root, "params", "");
	spoke_node_jobs_opts o = {.cmdline = SPOKE_CMDLINE_REDACTED};
	uint32_t n = 0;
	fl_proto_job *j = jobs_ok(root, &o, NULL, 0, NULL, &n);
	static const struct {
		int k;
		uint32_t n;
		const char *keys[4], *texts[4]; /* text NULL: the number nums[i] */
		double nums[4];
		const char *config;
	} want[] = {
	    {0, 2, {"token", "epochs"}, {"***", NULL}, {0, 3}, ""},
	    {1, 2, {"nproc_per_node", "password"}, {NULL, "***"}, {8, 0}, ""},
	    {2, 1, {"API_KEY"}, {"***"}, {0}, ""},
	    {3, 1, {"secret-file"}, {"***"}, {0}, ""},
	    {4, 0, {NULL}, {NULL}, {0}, ""}, /* its --api-key=leak is past the read and dropped */
	    {5, 2, {"client-secret", "passwd"}, {"***", "***"}, {0, 0}, ""},
	    {7,
	     4,
	     {"rank", "lr", "batch_size", "config"},
	     {NULL, NULL, NULL, "/workspace/job7/config.yaml"},
	     {7, 0.001, 32, 0},
	     "/workspace/job7/config.yaml"},
	};
	for (size_t w = 0; w < sizeof(want) / sizeof(want[0]); w++) {
		const fl_proto_job *x = job(j, n, 1000 + want[w].k);
		assert_int_equal(x->n_params, want[w].n);
		for (uint32_t i = 0; i < x->n_params; i++) {
			assert_string_equal(x->params[i].key, want[w].keys[i]);
			if (want[w].texts[i] != NULL) {
				assert_false(x->params[i].is_num);
				assert_string_equal(x->params[i].value, want[w].texts[i]);
			} else {
				assert_true(x->params[i].is_num);
				assert_true(x->params[i].num == want[w].nums[i]);
			}
		}
		assert_string_equal(x->config_path, want[w].config);
	}
	spoke_node_jobs_free(j, n);

	o.cmdline = SPOKE_CMDLINE_FULL; /* as it is */
	j = jobs_ok(root, &o, NULL, 0, NULL, &n);
	assert_string_equal(job(j, n, 1000)->params[0].value, "abc123");
	spoke_node_jobs_free(j, n);
	o.cmdline = SPOKE_CMDLINE_NONE; /* nothing of the command line */
	j = jobs_ok(root, &o, NULL, 0, NULL, &n);
	for (uint32_t i = 0; i < n; i++) {
		assert_int_equal(j[i].n_params, 0);
		assert_null(j[i].params);
		assert_string_equal(j[i].config_path, "");
	}
	spoke_node_jobs_free(j, n);
}

/* An inotify watch for opens of root/rel. */
static int watch_opens(int in, const char *root, const char *rel)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	int wd = inotify_add_watch(in, p, IN_OPEN);
	if (wd < 0) {
		fail_msg("inotify_add_watch %s failed", p);
	}
	return wd;
}

/* How many opens each watch saw since the last call, into count[wd]. */
static void drain_opens(int in, int count[64])
{
	memset(count, 0, 64 * sizeof(int));
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t r;
	while ((r = read(in, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + r;) {
			struct inotify_event *e = (struct inotify_event *)p;
			if (e->wd >= 0 && e->wd < 64 && (e->mask & IN_OPEN) != 0) {
				count[e->wd]++;
			}
			p += sizeof(*e) + e->len;
		}
	}
}

static bool has_secret(const char *s)
{
	static const char *const secrets[] = {"do-not-read", "hf_secret_value", "cfg_secret_value", "hccl", "/root",
	                                      "abc123",      "hunter2",         "sk-live",          "leak"};
	for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
		if (strstr(s, secrets[i]) != NULL) {
			return true;
		}
	}
	return false;
}

/* job_env: the allowlisted variables, in environ order, nothing else; environ opened only for GPU jobs and
 * only with a non-empty list; the config file a job names never opened; no planted secret anywhere. */
static void test_environment_allowlist_and_nothing_else(void **state)
{
	(void)state;
	char root[256];
	make_tree(root, "env", "");
	int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC), count[64];
	assert_true(in >= 0);
	int w_gpu = watch_opens(in, root, "proc/1007/environ"), w_plain = watch_opens(in, root, "proc/1008/environ");
	int w_cfg = watch_opens(in, root, "workspace/job7/config.yaml");
	assert_true(w_gpu < 64 && w_plain < 64 && w_cfg < 64);

	spoke_node_jobs_opts o = {.cmdline = SPOKE_CMDLINE_REDACTED, .env_names = env_names, .n_env_names = 9};
	uint32_t n = 0;
	fl_proto_job *j = jobs_ok(root, &o, NULL, 0, NULL, &n);
	drain_opens(in, count);
	assert_int_equal(count[w_gpu], 1);
	assert_int_equal(count[w_plain], 0); /* not a GPU job */
	assert_int_equal(count[w_cfg], 0);
	static const char *const vis[] = {"HIP_VISIBLE_DEVICES", "CUDA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES",
	                                  "ASCEND_RT_VISIBLE_DEVICES"};
	for (size_t i = 0; i < N_KS; i++) {
		int k = ks[i];
		const fl_proto_job *x = job(j, n, 1000 + k);
		char v_k8[16], v_k[16];
		snprintf(v_k8, sizeof(v_k8), "%d", k % 8);
		snprintf(v_k, sizeof(v_k), "%d", k);
		const char *keys[] = {vis[k % 4], "WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"};
		const char *vals[] = {v_k8, "8", v_k, v_k8, "10.0.0.1", "29500"};
		assert_int_equal(x->n_env, 6);
		for (uint32_t e = 0; e < 6; e++) {
			assert_string_equal(x->env[e].key, keys[e]);
			assert_string_equal(x->env[e].value, vals[e]);
			assert_false(x->env[e].is_num);
		}
		assert_false(has_secret(x->cmdline));
		assert_false(has_secret(x->config_path));
		for (uint32_t p = 0; p < x->n_params; p++) {
			assert_false(has_secret(x->params[p].key) || has_secret(x->params[p].value));
		}
	}
	spoke_node_jobs_free(j, n);

	o.n_env_names = 0; /* job_env: [] */
	j = jobs_ok(root, &o, NULL, 0, NULL, &n);
	drain_opens(in, count);
	assert_int_equal(count[w_gpu], 0);
	assert_int_equal(count[w_cfg], 0);
	for (uint32_t i = 0; i < n; i++) {
		assert_int_equal(j[i].n_env, 0);
		assert_null(j[i].env);
	}
	spoke_node_jobs_free(j, n);
	close(in);
}

/* An environ's value is cut to its field, a name given twice keeps its first value, a variable past the
 * 128 KiB read is not there, and one cut by the read is left out (not sent cut). */
static void test_environ_limits(void **state)
{
	(void)state;
	char root[256], p[512];
	make_tree(root, "envlim", "--procs 1 --gpu-procs 1");
	static char env[140000];
	size_t len = 0;
	len += (size_t)sprintf(env + len, "RANK=%0300d", 0) + 1;
	len += (size_t)sprintf(env + len, "RANK=2") + 1;
	len += (size_t)sprintf(env + len, "A=");
	memset(env + len, 'a', 130741);
	len += 130741;
	env[len++] = '\0';
	/* MASTER_PORT=29500 starts at 306 + 7 + 2 + 130741 + 1 = 131057: of the 131071 bytes read, its last 14 are
	 * "MASTER_PORT=29". */
	len += (size_t)sprintf(env + len, "MASTER_PORT=29500") + 1;
	len += (size_t)sprintf(env + len, "WORLD_SIZE=8") + 1;
	snprintf(p, sizeof(p), "%s/proc/1000/environ", root);
	FILE *f = fopen(p, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(env, 1, len, f), len);
	fclose(f);
	spoke_node_jobs_opts o = {.cmdline = SPOKE_CMDLINE_REDACTED, .env_names = env_names, .n_env_names = 9};
	uint32_t n = 0;
	fl_proto_job *j = jobs_ok(root, &o, NULL, 0, NULL, &n);
	assert_int_equal(n, 1);
	assert_int_equal(j[0].n_env, 1);
	assert_string_equal(j[0].env[0].key, "RANK");
	assert_int_equal(strlen(j[0].env[0].value), FL_KV_VALUE_LEN - 1);
	spoke_node_jobs_free(j, n);
}

static int setup(void **state)
{
	(void)state;
	return fl_test_tmp_make(tmpdir, sizeof(tmpdir), "fl_node_jobs");
}

static int teardown(void **state)
{
	(void)state;
	return fl_test_tmp_remove(tmpdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_process_metrics),
	    cmocka_unit_test(test_cpu_percent_across_cycles),
	    cmocka_unit_test(test_parameters_and_config_path),
	    cmocka_unit_test(test_environment_allowlist_and_nothing_else),
	    cmocka_unit_test(test_environ_limits),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
