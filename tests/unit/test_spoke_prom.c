/* test_spoke_prom.c — the prometheus source without a network: parsing instant-query answers
 * (good, NaN/Inf/strings, missing labels, malformed, errors, scalars), applying them to a model,
 * the unknown marks, and the sources.prometheus config section. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spoke_config.h"
#include "spoke_prom.h"

static spoke_prom_config amd_cfg(void)
{
	spoke_prom_config c;
	spoke_prom_config_default(&c);
	snprintf(c.url, sizeof(c.url), "http://127.0.0.1:9");
	assert_int_equal(spoke_prom_config_preset(&c, "amd"), FL_OK);
	return c;
}

/* Parses text as an answer to figure f; returns the code, the samples in *out (caller frees). */
static int parse(const spoke_prom_config *c, spoke_prom_figure f, const char *text, spoke_prom_sample **out, size_t *n,
                 double *sum, spoke_prom_stats *st, char err[FL_ERR_LEN])
{
	return spoke_prom_parse(c, f, text, strlen(text), out, n, sum, st, err);
}

#define SERIES(labels, value) "{\"metric\":{" labels "},\"value\":[1700000000.123,\"" value "\"]}"
#define VECTOR(...)           "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[" __VA_ARGS__ "]}}"

static void test_prom_parse_reads_node_gpu_and_value_of_each_series(void **state)
{
	(void)state;
	spoke_prom_config c = amd_cfg();
	spoke_prom_stats st = {0};
	spoke_prom_sample *s = NULL;
	size_t n = 0;
	double sum = 0;
	char err[FL_ERR_LEN] = "";
	const char *text =
	    VECTOR(SERIES("\"__name__\":\"gpu_gfx_activity\",\"gpu_id\":\"0\",\"hostname\":\"gpu-1\"",
	                  "12.5") "," SERIES("\"gpu_id\":\"7\",\"hostname\":\"gpu-2\",\"job\":\"amd\"", "100"));
	assert_int_equal(parse(&c, SPOKE_PROM_GPU_UTILIZATION, text, &s, &n, &sum, &st, err), FL_OK);
	assert_int_equal(n, 2);
	assert_string_equal(s[0].node, "gpu-1");
	assert_int_equal(s[0].gpu_id, 0);
	assert_true(s[0].value == 12.5);
	assert_string_equal(s[1].node, "gpu-2");
	assert_int_equal(s[1].gpu_id, 7);
	assert_true(s[1].value == 100);
	assert_int_equal(st.bad_series, 0);
	spoke_prom_samples_free(s, n);
}

static void test_prom_parse_skips_and_counts_unusable_series(void **state)
{
	(void)state;
	spoke_prom_config c = amd_cfg();
	spoke_prom_stats st = {0};
	spoke_prom_sample *s = NULL;
	size_t n = 0;
	double sum = 0;
	char err[FL_ERR_LEN] = "";
	const char *text = VECTOR(
	    SERIES("\"gpu_id\":\"0\",\"hostname\":\"a\"", "NaN") ","  /* NaN */
	    SERIES("\"gpu_id\":\"1\",\"hostname\":\"a\"", "+Inf") "," /* infinity */
	    SERIES("\"gpu_id\":\"2\",\"hostname\":\"a\"", "-Inf") "," SERIES("\"gpu_id\":\"3\",\"hostname\":\"a\"",
	                                                                     "busy") "," /* not a number */
	    SERIES("\"gpu_id\":\"4\",\"hostname\":\"a\"", "12abc") ","                   /* trailing garbage */
	    SERIES("\"gpu_id\":\"5\",\"hostname\":\"a\"", "101") ","                     /* utilization out of range */
	    SERIES("\"gpu_id\":\"6\"", "5") ","                                          /* no node label */
	    SERIES("\"gpu_id\":\"x\",\"hostname\":\"a\"", "5") ","                       /* GPU index not a number */
	    SERIES("\"gpu_id\":\"-1\",\"hostname\":\"a\"", "5") "," SERIES(
	        "\"gpu_id\":\"99999999999\",\"hostname\":\"a\"",
	        "5") "," SERIES("\"gpu_id\":\"1\",\"hostname\":\"\"",
	                        "5") "," /* empty node */
	                             "{\"metric\":{\"gpu_id\":\"1\",\"hostname\":\"a\"},\"value\":[1,5]}," /* value not
	                                                                                                      a string
	                                                                                                    */
	                             "{\"metric\":{\"gpu_id\":\"1\",\"hostname\":\"a\"},\"value\":[1]},"   /* value too
	                                                                                                      short */
	                             "{\"metric\":[],\"value\":[1,\"5\"]},"
	                             "7," /* not a series */
	    SERIES("\"gpu_id\":\"3\",\"hostname\":\"b\"", "1e1"));
	assert_int_equal(parse(&c, SPOKE_PROM_GPU_UTILIZATION, text, &s, &n, &sum, &st, err), FL_OK);
	assert_int_equal(n, 1);
	assert_string_equal(s[0].node, "b");
	assert_true(s[0].value == 10);
	assert_int_equal(st.bad_series, 15);
	spoke_prom_samples_free(s, n);
}

static void test_prom_parse_nvidia_reads_both_hostname_spellings(void **state)
{
	(void)state;
	spoke_prom_config c;
	spoke_prom_config_default(&c);
	assert_int_equal(spoke_prom_config_preset(&c, "nvidia"), FL_OK);
	assert_string_equal(c.gpu_label, "gpu");
	spoke_prom_stats st = {0};
	spoke_prom_sample *s = NULL;
	size_t n = 0;
	double sum = 0;
	char err[FL_ERR_LEN] = "";
	const char *text = VECTOR(SERIES("\"gpu\":\"0\",\"Hostname\":\"n1\"", "50") "," SERIES(
	    "\"gpu\":\"1\",\"hostname\":\"n2\"",
	    "60") "," SERIES("\"gpu\":\"2\",\"Hostname\":\"n3\",\"hostname\":\"ignored\"", "70"));
	assert_int_equal(parse(&c, SPOKE_PROM_GPU_UTILIZATION, text, &s, &n, &sum, &st, err), FL_OK);
	assert_int_equal(n, 3);
	assert_string_equal(s[0].node, "n1");
	assert_string_equal(s[1].node, "n2");
	assert_string_equal(s[2].node, "n3"); /* Hostname comes first */
	spoke_prom_samples_free(s, n);
}

static void test_prom_parse_refuses_malformed_and_failed_answers(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		int code;
		const char *want;
	} cases[] = {
	    {"", FL_EPROTO, "not JSON"},
	    {"{\"status\":\"success\"", FL_EPROTO, "not JSON"},
	    {"<html>502 Bad Gateway</html>", FL_EPROTO, "not JSON"},
	    {"[1,2]", FL_EPROTO, "not 'success'"},
	    {"{\"status\":\"success\",\"status\":\"success\"}", FL_EPROTO, "not JSON"}, /* duplicate key */
	    {"{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"parse error at char 6\"}", FL_EPROTO,
	     "query failed: bad_data: parse error at char 6"},
	    {"{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[]}}", FL_EPROTO, "got matrix"},
	    {"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":{}}}", FL_EPROTO, "vector"},
	    {"{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1,\"5\"]}}", FL_EPROTO,
	     "got scalar"}, /* a scalar has no GPUs */
	};
	spoke_prom_config c = amd_cfg();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		spoke_prom_stats st = {0};
		spoke_prom_sample *s = (spoke_prom_sample *)&st; /* must come back NULL */
		size_t n = 9;
		double sum = 9;
		char err[FL_ERR_LEN] = "";
		assert_int_equal(parse(&c, SPOKE_PROM_GPU_UTILIZATION, cases[i].text, &s, &n, &sum, &st, err),
		                 cases[i].code);
		if (strstr(err, cases[i].want) == NULL) {
			fail_msg("case %zu: error '%s' does not contain '%s'", i, err, cases[i].want);
		}
		assert_null(s);
		assert_int_equal(n, 0);
	}
}

static void test_prom_parse_sums_cluster_figures_and_accepts_scalars(void **state)
{
	(void)state;
	spoke_prom_config c = amd_cfg();
	spoke_prom_stats st = {0};
	spoke_prom_sample *s = NULL;
	size_t n = 0;
	double sum = 0;
	char err[FL_ERR_LEN] = "";
	const char *text =
	    VECTOR(SERIES("\"device\":\"mlx5_0\"", "1.5e9") "," SERIES("\"device\":\"mlx5_1\"", "0.5e9") "," SERIES(
	        "\"device\":\"mlx5_2\"", "NaN") "," SERIES("\"device\":\"mlx5_3\"", "-5"));
	assert_int_equal(parse(&c, SPOKE_PROM_TOTAL_TX, text, &s, &n, &sum, &st, err), FL_OK);
	assert_null(s);
	assert_true(sum == 2e9);
	assert_int_equal(n, 2);             /* usable series: none would mean unknown, not 0 */
	assert_int_equal(st.bad_series, 2); /* NaN, and a negative byte rate */
	assert_int_equal(parse(&c, SPOKE_PROM_TOTAL_SPACE,
	                       "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1,\"42\"]}}",
	                       &s, &n, &sum, &st, err),
	                 FL_OK);
	assert_true(sum == 42);
}

/* A model of two nodes: n1 with GPU rows 0 and 1 (utilization 5), n2 without rows, product "MI300X". */
static void small_model(spoke_model *m)
{
	memset(m, 0, sizeof(*m));
	spoke_node *node;
	assert_int_equal(spoke_model_add_node(m, &node), FL_OK);
	snprintf(node->name, sizeof(node->name), "n1");
	assert_int_equal(spoke_model_add_node(m, &node), FL_OK);
	snprintf(node->name, sizeof(node->name), "n2");
	snprintf(node->gpu_product, sizeof(node->gpu_product), "MI300X");
	for (int i = 0; i < 2; i++) {
		spoke_gpu *g;
		assert_int_equal(spoke_model_add_gpu(m, &g), FL_OK);
		snprintf(g->node, sizeof(g->node), "n1");
		g->gpu_id = i;
		g->utilization = 5;
		g->has_utilization = true;
		g->numa = -1;
	}
}

static void test_prom_apply_sets_rows_adds_missing_ones_and_counts_strangers(void **state)
{
	(void)state;
	spoke_model m;
	small_model(&m);
	spoke_prom_stats st = {0};
	char err[FL_ERR_LEN] = "";
	const spoke_prom_sample util[] = {
	    {"n1", 1, 80, NULL}, {"n2", 3, 40, NULL}, {"n2", 3, 41, NULL}, {"ghost", 0, 10, NULL}};
	assert_int_equal(spoke_prom_apply_gpu(&m, SPOKE_PROM_GPU_UTILIZATION, util, 4, &st, err), FL_OK);
	assert_int_equal(m.n_gpus, 3);           /* n2's GPU 3 added once */
	assert_false(m.gpus[0].has_utilization); /* n1/0: Prometheus did not report it */
	assert_true(m.gpus[1].has_utilization);
	assert_true(m.gpus[1].utilization == 80);
	assert_string_equal(m.gpus[2].node, "n2");
	assert_int_equal(m.gpus[2].gpu_id, 3);
	assert_string_equal(m.gpus[2].gpu_model, "MI300X");
	assert_int_equal(m.gpus[2].numa, -1);
	assert_true(m.gpus[2].utilization == 41); /* the last of two series of one GPU */
	assert_int_equal(st.unmatched, 1);
	const spoke_prom_sample mem[] = {{"n1", 0, 65536.4, NULL}};
	assert_int_equal(spoke_prom_apply_gpu(&m, SPOKE_PROM_GPU_MEMORY_MIB, mem, 1, &st, err), FL_OK);
	assert_int_equal(m.gpus[0].memory_mib, 65536);
	assert_true(m.gpus[1].utilization == 80); /* other figures keep theirs */

	spoke_overview_rules rules;
	spoke_overview_rules_default(&rules);
	spoke_overview_result ov;
	assert_int_equal(spoke_overview_compute(&m, &rules, &ov, err), FL_OK);
	assert_true(ov.overview.utilization == (80.0 + 41.0) / 2);
	assert_int_equal(ov.overview.unknown, 0);
	spoke_overview_result_free(&ov);
	spoke_model_free(&m);
}

static void test_prom_apply_fills_a_model_without_gpu_rows_at_scale(void **state)
{
	(void)state;
	enum { NODES = 5000, GPUS = 8 };
	spoke_model m;
	memset(&m, 0, sizeof(m));
	for (int i = 0; i < NODES; i++) { /* a kube-like model: nodes, no GPU rows */
		spoke_node *node;
		assert_int_equal(spoke_model_add_node(&m, &node), FL_OK);
		snprintf(node->name, sizeof(node->name), "node-%05d", NODES - 1 - i);
	}
	spoke_prom_sample *s = calloc((size_t)NODES * GPUS * 2, sizeof(*s));
	assert_non_null(s);
	size_t n = 0;
	for (int r = 0; r < 2; r++) { /* every GPU named twice (two scrape jobs) */
		for (int i = 0; i < NODES; i++) {
			for (int g = 0; g < GPUS; g++, n++) {
				snprintf(s[n].node, sizeof(s[n].node), "node-%05d", i);
				s[n].gpu_id = g;
				s[n].value = (double)((i + g) % 100);
			}
		}
	}
	spoke_prom_stats st = {0};
	char err[FL_ERR_LEN] = "";
	assert_int_equal(spoke_prom_apply_gpu(&m, SPOKE_PROM_GPU_UTILIZATION, s, n, &st, err), FL_OK);
	assert_int_equal(m.n_gpus, NODES * GPUS);
	assert_int_equal(st.unmatched, 0);
	for (uint32_t i = 0; i < m.n_gpus; i++) {
		int node_i = atoi(m.gpus[i].node + 5);
		assert_true(m.gpus[i].has_utilization);
		assert_true(m.gpus[i].utilization == (double)((node_i + m.gpus[i].gpu_id) % 100));
	}
	free(s);
	spoke_model_free(&m);
}

static void test_prom_utilization_series_naming_a_pod_feed_the_pod_figures(void **state)
{
	(void)state;
	spoke_prom_config c = amd_cfg();
	spoke_prom_stats st = {0};
	spoke_prom_sample *s = NULL;
	size_t n = 0;
	double sum = 0;
	char err[FL_ERR_LEN] = "";
	/* exported_* (a Prometheus that scraped the exporter as a pod) wins over the exporter pod's own
	 * labels; plain pod/namespace are read when there is nothing else; a GPU no pod holds names none. */
	const char *text = VECTOR(
	    SERIES("\"gpu_id\":\"0\",\"hostname\":\"g1\",\"pod\":\"amd-exporter-x\",\"namespace\":\"kube-amd\","
	           "\"exported_pod\":\"train-0\",\"exported_namespace\":\"ml\"",
	           "80") "," SERIES("\"gpu_id\":\"1\",\"hostname\":\"g1\",\"pod\":\"train-0\",\"namespace\":\"ml\"",
	                            "60") "," SERIES("\"gpu_id\":\"2\",\"hostname\":\"g1\",\"pod\":\"\"", "5"));
	assert_int_equal(parse(&c, SPOKE_PROM_GPU_UTILIZATION, text, &s, &n, &sum, &st, err), FL_OK);
	assert_int_equal(n, 3);
	assert_string_equal(s[0].pod, "ml/train-0");
	assert_string_equal(s[1].pod, "ml/train-0");
	assert_null(s[2].pod);
	spoke_model m;
	memset(&m, 0, sizeof(m));
	spoke_node *node;
	assert_int_equal(spoke_model_add_node(&m, &node), FL_OK);
	snprintf(node->name, sizeof(node->name), "g1");
	assert_int_equal(spoke_prom_apply_gpu(&m, SPOKE_PROM_GPU_UTILIZATION, s, n, &st, err), FL_OK);
	assert_int_equal(m.n_pod_gpus, 2);
	assert_string_equal(m.pod_gpus[0].ns, "ml");
	assert_string_equal(m.pod_gpus[0].pod, "train-0");
	assert_true(m.pod_gpus[0].utilization == 80 && m.pod_gpus[1].utilization == 60);
	/* The next answer replaces them; a memory answer leaves them alone. */
	spoke_prom_sample again[] = {{"g1", 0, 10, NULL}};
	assert_int_equal(spoke_prom_apply_gpu(&m, SPOKE_PROM_GPU_MEMORY_MIB, again, 1, &st, err), FL_OK);
	assert_int_equal(m.n_pod_gpus, 2);
	assert_int_equal(spoke_prom_apply_gpu(&m, SPOKE_PROM_GPU_UTILIZATION, again, 1, &st, err), FL_OK);
	assert_int_equal(m.n_pod_gpus, 0);
	spoke_prom_samples_free(s, n);
	spoke_model_free(&m);
}

static void test_prom_unreachable_marks_utilization_unknown_not_zero(void **state)
{
	(void)state;
	spoke_model m;
	small_model(&m);
	spoke_prom_config c = amd_cfg(); /* port 9 (discard) on loopback: nothing listens */
	snprintf(c.queries[SPOKE_PROM_USED_SPACE], sizeof(c.queries[0]), "juicefs_used_space");
	c.timeout_ms = 2000;
	char err[FL_ERR_LEN] = "";
	spoke_prom_stats before, after;
	spoke_prom_get_stats(&before);
	assert_int_equal(spoke_prom_collect(&c, &m, err), FL_OK);
	spoke_prom_get_stats(&after);
	assert_int_equal(after.queries - before.queries, 1); /* the rest are skipped */
	assert_int_equal(after.failed - before.failed, 1);
	assert_int_equal(m.unknown, FL_OV_UTILIZATION | FL_OV_USED_SPACE);
	assert_false(m.gpus[0].has_utilization);
	assert_false(m.gpus[1].has_utilization);

	spoke_overview_rules rules;
	spoke_overview_rules_default(&rules);
	spoke_overview_result ov;
	assert_int_equal(spoke_overview_compute(&m, &rules, &ov, err), FL_OK);
	assert_int_equal(ov.overview.unknown, FL_OV_UTILIZATION | FL_OV_USED_SPACE | FL_OV_USAGE_PERCENTAGE);
	assert_false(ov.nodes[0].has_utilization);
	spoke_overview_result_free(&ov);
	spoke_model_free(&m);
}

/* --- the config section ------------------------------------------------------------------------- */

static char tmpdir[64];

static const char *write_file(const char *name, const char *text)
{
	static char p[160];
	snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	return p;
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/fl_spoke_prom.XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		return -1;
	}
	write_file("key", "0123456789abcdef0123456789abcdef0123456789\n");
	write_file("token", "  secret-token\n");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	static const char *const names[] = {"key", "token", "spoke.yaml"};
	char p[160];
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", tmpdir, names[i]);
		unlink(p);
	}
	return rmdir(tmpdir);
}

#define HEAD "cluster: a\nhub_url: tcp://127.0.0.1:1\nkey_file: key\nsources:\n  sim: {nodes: 2}\n  prometheus:\n"

/* Loads HEAD + the prometheus lines; returns the code and fills cfg / err. */
static int load(const char *prom_lines, spoke_config *cfg, char err[FL_ERR_LEN])
{
	char text[2048];
	snprintf(text, sizeof(text), HEAD "%s", prom_lines);
	return spoke_config_load(write_file("spoke.yaml", text), cfg, err);
}

static void test_prom_config_preset_queries_override_and_labels(void **state)
{
	(void)state;
	spoke_config cfg;
	char err[FL_ERR_LEN] = "";
	int rv = load("    url: http://prom.example:9090/\n"
	              "    preset: nvidia\n"
	              "    token_file: token\n"
	              "    timeout: 2s\n"
	              "    node_label: [node_name, Hostname]\n"
	              "    queries:\n"
	              "      gpu_power_watts: DCGM_FI_DEV_POWER_USAGE * 2\n"
	              "      total_tx: sum(rate(node_infiniband_port_data_transmitted_bytes_total[1m]))\n",
	              &cfg, err);
	if (rv != FL_OK) {
		fail_msg("load: %s", err);
	}
	assert_true(cfg.has_prom);
	assert_string_equal(cfg.prom.url, "http://prom.example:9090");
	assert_int_equal(cfg.prom.timeout_ms, 2000);
	assert_int_equal(cfg.prom.max_response_bytes, SPOKE_PROM_RESPONSE_DEFAULT);
	assert_non_null(strstr(cfg.prom.token_file, "/token"));
	assert_string_equal(cfg.prom.queries[SPOKE_PROM_GPU_UTILIZATION], "DCGM_FI_DEV_GPU_UTIL");
	assert_string_equal(cfg.prom.queries[SPOKE_PROM_GPU_MEMORY_MIB], "DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE");
	assert_string_equal(cfg.prom.queries[SPOKE_PROM_GPU_POWER], "DCGM_FI_DEV_POWER_USAGE * 2");
	assert_string_equal(cfg.prom.queries[SPOKE_PROM_TOTAL_TX],
	                    "sum(rate(node_infiniband_port_data_transmitted_bytes_total[1m]))");
	assert_string_equal(cfg.prom.queries[SPOKE_PROM_TOTAL_SPACE], "");
	assert_int_equal(cfg.prom.n_node_labels, 2);
	assert_string_equal(cfg.prom.node_labels[0], "node_name");
	assert_string_equal(cfg.prom.gpu_label, "gpu");
	spoke_config_wipe(&cfg);

	spoke_prom_config lens;
	spoke_prom_config_default(&lens);
	assert_int_equal(spoke_prom_config_preset(&lens, "lens"), FL_OK);
	assert_string_equal(lens.queries[SPOKE_PROM_GPU_UTILIZATION], "gpu_utilization");
	assert_string_equal(lens.node_labels[0], "primus_lens_node_name");
	assert_string_equal(lens.queries[SPOKE_PROM_USED_SPACE], "sum(avg by (vol_name) (juicefs_used_space))");
	assert_string_equal(lens.queries[SPOKE_PROM_TOTAL_RX], "sum(rate(rdma_stat_rx_bytes[1m]))");
	assert_int_equal(spoke_prom_config_preset(&lens, "amd"), FL_OK); /* a preset replaces every query */
	assert_string_equal(lens.queries[SPOKE_PROM_TOTAL_RX], "");
}

static void test_prom_config_errors_name_the_key(void **state)
{
	(void)state;
	static const struct {
		const char *lines, *want;
	} cases[] = {
	    {"    preset: amd\n", "key 'url': missing"},
	    {"    url: prom:9090\n    preset: amd\n", "key 'url': expected http(s)://"},
	    {"    url: http://p:9090\n    preset: intel\n", "key 'preset': expected amd, nvidia, ascend or lens"},
	    {"    url: http://p:9090\n", "nothing to query"},
	    {"    url: http://p:9090\n    queries: {gpu_utilization: up}\n", "need node_label and gpu_label"},
	    {"    url: http://p:9090\n    preset: amd\n    queries: {gpu_util: up}\n", "key 'gpu_util'"},
	    {"    url: http://p:9090\n    preset: amd\n    node_label: 'host-name'\n", "key 'node_label'"},
	    {"    url: http://p:9090\n    preset: amd\n    token_file: nope\n", "key 'token_file': cannot read"},
	    {"    url: http://p:9090\n    preset: amd\n    username: u\n", "go together"},
	    {"    url: http://p:9090\n    preset: amd\n    max_response_bytes: 10\n", "key 'max_response_bytes'"},
	    {"    url: http://p:9090\n    preset: amd\n    timeout: 1h\n", "key 'timeout': at most 10m"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		spoke_config cfg;
		char err[FL_ERR_LEN] = "";
		assert_int_equal(load(cases[i].lines, &cfg, err), FL_ECONFIG);
		if (strstr(err, cases[i].want) == NULL) {
			fail_msg("case %zu: error '%s' does not contain '%s'", i, err, cases[i].want);
		}
	}
	/* prometheus alone is not a node source */
	spoke_config cfg;
	char err[FL_ERR_LEN] = "";
	assert_int_equal(spoke_config_load(write_file("spoke.yaml", "cluster: a\nhub_url: tcp://127.0.0.1:1\n"
	                                                            "key_file: key\nsources:\n  prometheus:\n"
	                                                            "    url: http://p:9090\n    preset: amd\n"),
	                                   &cfg, err),
	                 FL_ECONFIG);
	assert_non_null(strstr(err, "exactly one node source"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_prom_parse_reads_node_gpu_and_value_of_each_series),
	    cmocka_unit_test(test_prom_parse_skips_and_counts_unusable_series),
	    cmocka_unit_test(test_prom_parse_nvidia_reads_both_hostname_spellings),
	    cmocka_unit_test(test_prom_parse_refuses_malformed_and_failed_answers),
	    cmocka_unit_test(test_prom_parse_sums_cluster_figures_and_accepts_scalars),
	    cmocka_unit_test(test_prom_apply_sets_rows_adds_missing_ones_and_counts_strangers),
	    cmocka_unit_test(test_prom_apply_fills_a_model_without_gpu_rows_at_scale),
	    cmocka_unit_test(test_prom_utilization_series_naming_a_pod_feed_the_pod_figures),
	    cmocka_unit_test(test_prom_unreachable_marks_utilization_unknown_not_zero),
	    cmocka_unit_test(test_prom_config_preset_queries_override_and_labels),
	    cmocka_unit_test(test_prom_config_errors_name_the_key),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
