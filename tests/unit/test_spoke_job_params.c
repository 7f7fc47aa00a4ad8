/* test_spoke_job_params.c — spoke_job_params (spoke_job_params.h): a job's training parameters and config path
 * from command lines in each job_cmdline mode, the number rule, the limits, and secrets staying "***". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "spoke_job_params.h"

/* A /proc/PID/cmdline literal: arguments separated (and ended) by NULs, with its length. */
#define RAW(s) s, sizeof(s) - 1

/* One expected parameter: text (num_text NULL) or a number. */
typedef struct {
	const char *key, *text;
	double num;
} want_kv;

#define T(k, v)                                                                                                        \
	{                                                                                                              \
		k, v, 0                                                                                                \
	}
#define N(k, v)                                                                                                        \
	{                                                                                                              \
		k, NULL, v                                                                                             \
	}

static void check(const char *raw, size_t len, spoke_cmdline_mode mode, const want_kv *want, uint32_t n_want,
                  const char *want_config)
{
	fl_proto_kv *p = NULL;
	uint32_t n = 99;
	char config[FL_PATH_LEN];
	assert_int_equal(spoke_job_params(raw, len, mode, &p, &n, config), FL_OK);
	if (n != n_want) {
		for (uint32_t i = 0; i < n; i++) {
			print_message("  got %s = %s%g\n", p[i].key, p[i].is_num ? "" : p[i].value, p[i].num);
		}
		fail_msg("%u parameters, want %u", n, n_want);
	}
	for (uint32_t i = 0; i < n; i++) {
		assert_string_equal(p[i].key, want[i].key);
		if (want[i].text != NULL) {
			assert_false(p[i].is_num);
			assert_string_equal(p[i].value, want[i].text);
		} else {
			assert_true(p[i].is_num);
			assert_string_equal(p[i].value, "");
			assert_true(p[i].num == want[i].num);
		}
	}
	if (n == 0) {
		assert_null(p);
	}
	assert_string_equal(config, want_config);
	free(p);
}

static void test_the_three_forms_and_numbers(void **state)
{
	(void)state;
	static const char raw[] = "python3\0train.py\0--batch_size\0"
	                          "32\0--lr=0.001\0epochs=3\0--name\0run-7\0"
	                          "--fp16\0--warmup\0-0.5\0--seed\0"
	                          "007\0--tag\0v1.2\0--beta=1e-3\0";
	static const want_kv want[] = {N("batch_size", 32), N("lr", 0.001),   N("epochs", 3),   T("name", "run-7"),
	                               N("warmup", -0.5),   T("seed", "007"), T("tag", "v1.2"), N("beta", 1e-3)};
	check(RAW(raw), SPOKE_CMDLINE_REDACTED, want, 8, "");
}

/* Argument 0 and the script are not parameters, nor single-dash flags, nor a --flag without a value. */
static void test_what_is_not_a_parameter(void **state)
{
	(void)state;
	static const char raw[] = "a=1\0-m\0pkg.train\0-k\0v\0-x=1\0--verbose\0--dry-run\0--\0=x\0--=y\0"
	                          "http://h/p?q=1\0--bad key=1\0--last\0";
	check(RAW(raw), SPOKE_CMDLINE_FULL, NULL, 0, "");
	static const char torchrun[] = "torchrun\0--standalone\0--nproc_per_node=8\0main.py\0--lr\0-v\0";
	static const want_kv want[] = {N("nproc_per_node", 8)};
	check(RAW(torchrun), SPOKE_CMDLINE_FULL, want, 1, ""); /* "-v" is a flag, not --lr's value */
}

static void test_number_rule(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		bool num;
		double v;
	} cases[] = {
	    {"0", true, 0},
	    {"-12", true, -12},
	    {"9007199254740992", true, 9007199254740992.0},
	    {"-9007199254740992", true, -9007199254740992.0},
	    {"9007199254740993", false, 0}, /* past 2^53 */
	    {"12345678901234567", false, 0},
	    {"0.001", true, 0.001},
	    {"123456789012345.0", false, 0},              /* 16 significant digits as written */
	    {"1.23456789012345", true, 1.23456789012345}, /* 15 significant digits */
	    {"1.234567890123456", false, 0},              /* 16 */
	    {"0.000000000000000000001", true, 1e-21},     /* leading zeros are not significant */
	    {"1e3", true, 1000},
	    {"2.5E-2", true, 0.025},
	    {"1e400", false, 0},  /* not finite */
	    {"1e-400", false, 0}, /* flushed to zero */
	    {"007", false, 0},
	    {"+1", false, 0},
	    {".5", false, 0},
	    {"1.", false, 0},
	    {"0x10", false, 0},
	    {"1e", false, 0},
	    {"-", false, 0},
	    {"", false, 0},
	    {"true", false, 0},
	    {"1_000", false, 0},
	    {"NaN", false, 0},
	    {"inf", false, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		double v = -1;
		bool got = spoke_job_params_number(cases[i].s, strlen(cases[i].s), &v);
		if (got != cases[i].num || (got && v != cases[i].v)) {
			fail_msg("'%s': %s %g", cases[i].s, got ? "number" : "text", v);
		}
	}
}

/* Redacted mode: every secret the command line redacts is "***" here too, in every form. */
static void test_secrets_stay_redacted(void **state)
{
	(void)state;
	static const char raw[] = "python\0x.py\0--token=abc123\0--password\0hunter2\0API_KEY=sk-live-1\0"
	                          "--db\0postgres://u:pw1@h/db\0--extra\0{\"password\": \"pw2\"}\0-password\0pw3\0"
	                          "--client-secret\0-x\0--pad_token_id\0"
	                          "0\0";
	static const want_kv want[] = {T("token", "***"),
	                               T("password", "***"),
	                               T("API_KEY", "***"),
	                               T("db", "postgres://u:***@h/db"),
	                               T("extra", "{\"password\": \"***\"}"),
	                               T("client-secret", "***"), /* sent as "--client-secret ***" */
	                               N("pad_token_id", 0)};
	check(RAW(raw), SPOKE_CMDLINE_REDACTED, want, 7, "");
	static const want_kv full[] = {T("token", "abc123"),
	                               T("password", "hunter2"),
	                               T("API_KEY", "sk-live-1"),
	                               T("db", "postgres://u:pw1@h/db"),
	                               T("extra", "{\"password\": \"pw2\"}"),
	                               N("pad_token_id", 0)};
	check(RAW(raw), SPOKE_CMDLINE_FULL, full, 6, "");
	check(RAW(raw), SPOKE_CMDLINE_NONE, NULL, 0, "");
}

static void test_config_path(void **state)
{
	(void)state;
	static const struct {
		const char *raw;
		size_t len;
		const char *want;
	} cases[] = {
	    {RAW("python\0train.py\0--config\0/w/c.yaml\0"), "/w/c.yaml"},
	    {RAW("python\0train.py\0--config-file=a.toml\0"), "a.toml"},
	    {RAW("deepspeed\0t.py\0--deepspeed_config\0ds.json\0--cfg\0b.cfg\0"), "ds.json"}, /* the first */
	    {RAW("python\0t.py\0--out\0o.json\0--config_path\0x\0--config-path\0/p/c.ini\0"),
	     "/p/c.ini"},                                                        /* flag wins */
	    {RAW("python\0t.py\0data=d.txt\0model=m.YAML\0x.conf\0"), "m.YAML"}, /* else the first with the ending */
	    {RAW("python\0t.py\0hparams.yml\0"), "hparams.yml"},
	    {RAW("/opt/run.yaml\0--n\0"
	         "1\0"),
	     ""}, /* the program is not its config */
	    {RAW("python\0t.py\0--deepspeed-config\0"
	         "\xff.json\0"),
	     "?.json"},
	    {RAW("python\0t.py\0.yaml\0"), ""}, /* an ending alone is no file name */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fl_proto_kv *p = NULL;
		uint32_t n = 0;
		char config[FL_PATH_LEN];
		assert_int_equal(spoke_job_params(cases[i].raw, cases[i].len, SPOKE_CMDLINE_REDACTED, &p, &n, config),
		                 FL_OK);
		if (strcmp(config, cases[i].want) != 0) {
			fail_msg("case %zu: config '%s', want '%s'", i, config, cases[i].want);
		}
		free(p);
	}
}

/* A key given again takes the later value in its first place; at most 64 keys, the first ones; keys and
 * values cut and cleaned to their fields; Hydra's override keys kept as written. */
static void test_limits_repeats_and_odd_keys(void **state)
{
	(void)state;
	static char raw[8192];
	size_t len = 0;
	len += (size_t)snprintf(raw + len, sizeof(raw) - len, "python") + 1;
	for (int i = 0; i < 70; i++) {
		len += (size_t)snprintf(raw + len, sizeof(raw) - len, "--k%d=%d", i, i) + 1;
	}
	len += (size_t)snprintf(raw + len, sizeof(raw) - len, "--k1=again") + 1;
	fl_proto_kv *p = NULL;
	uint32_t n = 0;
	char config[FL_PATH_LEN];
	assert_int_equal(spoke_job_params(raw, len, SPOKE_CMDLINE_FULL, &p, &n, config), FL_OK);
	assert_int_equal(n, FL_PROTO_MAX_JOB_PARAMS);
	assert_string_equal(p[0].key, "k0");
	assert_string_equal(p[1].key, "k1");
	assert_false(p[1].is_num);
	assert_string_equal(p[1].value, "again");
	assert_string_equal(p[63].key, "k63");
	assert_true(p[63].is_num && p[63].num == 63);
	free(p);

	char longv[400], key63[80], key64[80];
	memset(longv, 'v', sizeof(longv));
	memcpy(longv, "x=", 2);
	longv[sizeof(longv) - 1] = '\0';
	snprintf(key63, sizeof(key63), "--%063d=1", 0); /* the longest key */
	snprintf(key64, sizeof(key64), "--%064d=1", 0);
	const char *args[] = {"p",   "+model.lr=0.1", "++trainer.max_epochs=10", "db@backup=my", longv,
	                      key63, key64,           "--caf\xc3\xa9=1",         "n=caf\xe9"};
	len = 0;
	for (size_t i = 0; i < sizeof(args) / sizeof(args[0]); i++) {
		len += (size_t)snprintf(raw + len, sizeof(raw) - len, "%s", args[i]) + 1;
	}
	assert_int_equal(spoke_job_params(raw, len, SPOKE_CMDLINE_FULL, &p, &n, config), FL_OK);
	assert_int_equal(n, 6);
	assert_string_equal(p[0].key, "+model.lr");
	assert_true(p[0].is_num && p[0].num == 0.1);
	assert_string_equal(p[1].key, "++trainer.max_epochs");
	assert_string_equal(p[2].key, "db@backup");
	assert_string_equal(p[3].key, "x");
	assert_int_equal(strlen(p[3].value), FL_KV_VALUE_LEN - 1);
	assert_int_equal(strlen(p[4].key), FL_KV_KEY_LEN - 1);
	assert_string_equal(p[5].key, "n");
	assert_string_equal(p[5].value, "caf?");
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_the_three_forms_and_numbers),
	    cmocka_unit_test(test_what_is_not_a_parameter),
	    cmocka_unit_test(test_number_rule),
	    cmocka_unit_test(test_secrets_stay_redacted),
	    cmocka_unit_test(test_config_path),
	    cmocka_unit_test(test_limits_repeats_and_odd_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
