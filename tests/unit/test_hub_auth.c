/* Unit tests for hub/hub_auth and the API keys of hub/hub_config: tokens read from files and held as
 * SHA-256, bearer headers checked, scopes by cluster names and by labels, CORS origins, the
 * loopback-only rule, and config mistakes named by FILE:LINE:COL and key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hub_auth.h"
#include "fl_test_tmp.h"

static char tmpdir[64];

static const char *write_file(const char *name, const char *text)
{
	static char path[160];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static int setup(void **state)
{
	(void)state;
	if (fl_test_tmp_make(tmpdir, sizeof(tmpdir), "hub_auth_test") != 0)
		return -1;
	write_file("cluster.key", "cluster-key-for-the-auth-tests-0123456789\n");
	write_file("ops.token", "  ops-token-0123456789abcdef\n");
	write_file("east.token", "east-token-0123456789abcdef");
	write_file("beta.token", "beta-token-0123456789abcdef");
	write_file("short.token", "tooshort");
	write_file("spacey.token", "has a space inside 0123456789");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return fl_test_tmp_remove(tmpdir);
}

#define HUB_OK "hub:\n  ingest_url: tcp://127.0.0.1:7100\n  api_listen: 0.0.0.0:8080\n  database_url: dbname=x\n"
#define CLUSTERS                                                                                                       \
	"clusters:\n"                                                                                                  \
	"  - name: alpha\n    labels: {region: us-east, tier: prod}\n    key_file: cluster.key\n"                         \
	"  - name: beta\n    labels: {region: us-west, tier: prod}\n    key_file: cluster.key\n"                          \
	"  - name: gamma\n    labels: {region: us-east, tier: staging}\n    key_file: cluster.key\n"

static const char GOOD[] = HUB_OK "  api_tokens:\n"
                                  "    - name: ops\n      token_file: ops.token\n"
                                  "    - name: east-prod\n      token_file: east.token\n"
                                  "      cluster_labels: {region: us-east, tier: prod}\n"
                                  "    - name: beta-only\n      token_file: beta.token\n      clusters: [beta]\n"
                                  "  cors_origins: [https://ops.example.com, http://localhost:3000]\n" CLUSTERS;

static void load(hub_config *cfg, const char *text)
{
	char err[FL_ERR_LEN] = "";
	int rv = hub_config_load(cfg, write_file("good.yaml", text), NULL, err);
	if (rv != FL_OK)
		fail_msg("%s", err);
}

static void test_tokens_are_held_as_sha256_only(void **state)
{
	(void)state;
	hub_config cfg;
	load(&cfg, GOOD);
	assert_int_equal(cfg.n_api_tokens, 3);
	assert_string_equal(cfg.api_tokens[0].name, "ops");
	uint8_t want[HUB_TOKEN_HASH_LEN];
	hub_auth_sha256("ops-token-0123456789abcdef", 26, want); /* whitespace around it is not part of it */
	assert_memory_equal(cfg.api_tokens[0].sha256, want, sizeof(want));
	/* SHA-256("abc"), the FIPS 180-2 example. */
	static const uint8_t abc[32] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
	                                0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
	                                0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
	hub_auth_sha256("abc", 3, want);
	assert_memory_equal(want, abc, sizeof(abc));
	assert_int_equal(cfg.n_cors_origins, 2);
	assert_string_equal(cfg.cors_origins[1], "http://localhost:3000");
	hub_config_free(&cfg);
}

static void test_bearer_header_picks_the_token(void **state)
{
	(void)state;
	hub_config cfg;
	load(&cfg, GOOD);
	hub_auth *a;
	assert_int_equal(hub_auth_new(&cfg, &a), FL_OK);
	assert_true(hub_auth_required(a));
	assert_int_equal(hub_auth_check(a, "Bearer ops-token-0123456789abcdef"), 0);
	assert_int_equal(hub_auth_check(a, "bearer  east-token-0123456789abcdef "), 1);
	assert_int_equal(hub_auth_check(a, "Bearer beta-token-0123456789abcdef"), 2);
	assert_string_equal(hub_auth_token_name(a, 2), "beta-only");
	assert_int_equal(hub_auth_check(a, NULL), HUB_AUTH_NONE);
	assert_int_equal(hub_auth_check(a, ""), HUB_AUTH_NONE);
	assert_int_equal(hub_auth_check(a, "Basic b3BzOnBhc3M="), HUB_AUTH_NONE);
	assert_int_equal(hub_auth_check(a, "Bearer ops-token-0123456789abcdeF"), HUB_AUTH_NONE);
	assert_int_equal(hub_auth_check(a, "Bearer ops-token-0123456789abcde"), HUB_AUTH_NONE);
	assert_int_equal(hub_auth_check(a, "Bearer short"), HUB_AUTH_NONE);
	char *huge = malloc(HUB_TOKEN_MAX_LEN + 100);
	memset(huge, 'x', HUB_TOKEN_MAX_LEN + 99);
	memcpy(huge, "Bearer ", 7);
	huge[HUB_TOKEN_MAX_LEN + 99] = '\0';
	assert_int_equal(hub_auth_check(a, huge), HUB_AUTH_NONE);
	free(huge);
	hub_auth_free(a);
	hub_config_free(&cfg);
}

static void test_scopes_by_names_and_labels(void **state)
{
	(void)state;
	hub_config cfg;
	load(&cfg, GOOD);
	hub_auth *a;
	assert_int_equal(hub_auth_new(&cfg, &a), FL_OK);
	const bool *ops = hub_auth_scope(a, 0), *east = hub_auth_scope(a, 1), *beta = hub_auth_scope(a, 2);
	assert_true(ops[0] && ops[1] && ops[2]);
	assert_true(east[0]);  /* alpha: us-east, prod */
	assert_false(east[1]); /* beta: us-west */
	assert_false(east[2]); /* gamma: us-east but staging */
	assert_true(!beta[0] && beta[1] && !beta[2]);
	const bool *none = hub_auth_scope(a, HUB_AUTH_NONE);
	assert_true(!none[0] && !none[1] && !none[2]);
	hub_label l[2] = {{"region", "us-east"}, {"tier", "staging"}};
	assert_true(hub_auth_labels_match(&cfg.clusters[2], l, 2));
	assert_false(hub_auth_labels_match(&cfg.clusters[0], l, 2));
	assert_true(hub_auth_labels_match(&cfg.clusters[0], l, 0));
	hub_auth_free(a);
	hub_config_free(&cfg);
}

static void test_no_tokens_means_open_and_loopback_only(void **state)
{
	(void)state;
	hub_config cfg;
	load(&cfg, HUB_OK CLUSTERS);
	hub_auth *a;
	assert_int_equal(hub_auth_new(&cfg, &a), FL_OK);
	assert_false(hub_auth_required(a));
	assert_int_equal(hub_auth_check(a, NULL), HUB_AUTH_OPEN);
	assert_true(hub_auth_scope(a, HUB_AUTH_OPEN)[2]);
	hub_auth_free(a);
	hub_config_free(&cfg);

	char out[64];
	assert_true(hub_auth_listen_address("0.0.0.0:8080", false, out, sizeof(out)));
	assert_string_equal(out, "127.0.0.1:8080");
	assert_true(hub_auth_listen_address("8080", false, out, sizeof(out)));
	assert_string_equal(out, "127.0.0.1:8080");
	assert_true(hub_auth_listen_address("[::]:9000", false, out, sizeof(out)));
	assert_string_equal(out, "127.0.0.1:9000");
	assert_true(hub_auth_listen_address("10.1.2.3:80", false, out, sizeof(out)));
	assert_string_equal(out, "127.0.0.1:80");
	assert_false(hub_auth_listen_address("127.0.0.1:8080", false, out, sizeof(out)));
	assert_string_equal(out, "127.0.0.1:8080");
	assert_false(hub_auth_listen_address("localhost:81", false, out, sizeof(out)));
	assert_false(hub_auth_listen_address("[::1]:82", false, out, sizeof(out)));
	assert_false(hub_auth_listen_address("0.0.0.0:8080", true, out, sizeof(out)));
	assert_string_equal(out, "0.0.0.0:8080");
}

static void test_cors_origin_is_an_exact_match(void **state)
{
	(void)state;
	hub_config cfg;
	load(&cfg, GOOD);
	assert_true(hub_auth_origin_allowed(&cfg, "https://ops.example.com"));
	assert_false(hub_auth_origin_allowed(&cfg, "https://ops.example.com.evil.net"));
	assert_false(hub_auth_origin_allowed(&cfg, "http://ops.example.com"));
	assert_false(hub_auth_origin_allowed(&cfg, NULL));
	hub_config_free(&cfg);
}

static void expect_error(const char *text, const char *where, const char *needle)
{
	const char *path = write_file("bad.yaml", text);
	hub_config cfg;
	char err[FL_ERR_LEN] = "";
	int rv = hub_config_load(&cfg, path, NULL, err);
	char want[256];
	snprintf(want, sizeof(want), "%s:%s", path, where);
	if (rv == FL_OK || strstr(err, want) == NULL || strstr(err, needle) == NULL)
		fail_msg("rv=%d err='%s', wanted '%s' and '%s'", rv, err, want, needle);
	assert_null(cfg.api_tokens);
}

static void test_config_mistakes_name_file_line_col_and_key(void **state)
{
	(void)state;
	expect_error(HUB_OK "  api_tokens:\n    - name: a\n      token_file: nope.token\n" CLUSTERS,
	             "7:19:", "key 'token_file'");
	expect_error(HUB_OK "  api_tokens:\n    - name: a\n      token_file: short.token\n" CLUSTERS,
	             "7:19:", "key 'token_file'");
	expect_error(HUB_OK "  api_tokens:\n    - name: a\n      token_file: spacey.token\n" CLUSTERS,
	             "7:19:", "visible ASCII");
	expect_error(HUB_OK "  api_tokens:\n    - name: a\n" CLUSTERS, "6:7:", "key 'token_file': missing");
	expect_error(
	    HUB_OK
	    "  api_tokens:\n    - name: a\n      token_file: ops.token\n      clusters: [alpha, nope]\n" CLUSTERS,
	    "8:25:", "key 'clusters': 'nope' is not a registered cluster");
	expect_error(HUB_OK "  api_tokens:\n    - name: a\n      token_file: ops.token\n      clusters: [alpha]\n"
	                    "      cluster_labels: {tier: prod}\n" CLUSTERS,
	             "9:23:", "not both");
	expect_error(HUB_OK "  api_tokens:\n    - name: a\n      token_file: ops.token\n"
	                    "    - name: b\n      token_file: ops.token\n" CLUSTERS,
	             "9:19:", "the same token as token 'a'");
	expect_error(HUB_OK "  api_tokens:\n    - name: a\n      token_file: ops.token\n"
	                    "    - name: a\n      token_file: east.token\n" CLUSTERS,
	             "8:13:", "token 'a' is listed twice");
	expect_error(HUB_OK "  api_tokens:\n    - name: a\n      token_file: ops.token\n      scope: all\n" CLUSTERS,
	             "8:7:", "key 'scope': unknown key");
	expect_error(HUB_OK "  cors_origins: ['*']\n" CLUSTERS, "5:18:", "key 'cors_origins'");
	expect_error(HUB_OK "  cors_origins: [https://a.example/path]\n" CLUSTERS, "5:18:", "key 'cors_origins'");
	expect_error(HUB_OK "  cors_origins: https://a.example\n" CLUSTERS, "5:17:", "expected a list");
	expect_error(HUB_OK "  api_token: []\n" CLUSTERS, "5:3:", "key 'api_token': unknown key");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tokens_are_held_as_sha256_only),
	    cmocka_unit_test(test_bearer_header_picks_the_token),
	    cmocka_unit_test(test_scopes_by_names_and_labels),
	    cmocka_unit_test(test_no_tokens_means_open_and_loopback_only),
	    cmocka_unit_test(test_cors_origin_is_an_exact_match),
	    cmocka_unit_test(test_config_mistakes_name_file_line_col_and_key),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
