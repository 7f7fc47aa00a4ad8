/* Unit tests for hub/hub_config: the repo's clusters.yaml loads, and every kind of mistake is refused
 * with FILE:LINE:COL and the key in the message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hub_config.h"

static char tmpdir[64];

static const char *write_fixture(const char *name, const char *text)
{
	static char path[128];
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
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/hub_config_test.XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Loads text from a fixture and expects failure with "<path>:<where>" and needle in the message. */
static void expect_error(const char *name, const char *text, const char *where, const char *needle)
{
	const char *path = write_fixture(name, text);
	hub_config cfg;
	char err[FL_ERR_LEN] = "";
	int rv = hub_config_load(&cfg, path, NULL, err);
	char want[256];
	snprintf(want, sizeof(want), "%s:%s", path, where);
	if (rv == FL_OK || strstr(err, want) == NULL || strstr(err, needle) == NULL)
		fail_msg("%s: rv=%d err='%s', wanted '%s' and '%s'", name, rv, err, want, needle);
	assert_int_equal(rv, FL_ECONFIG);
	assert_null(cfg.clusters);
	assert_int_equal(cfg.n_clusters, 0);
}

#define HUB_OK "hub:\n  ingest_url: tcp://127.0.0.1:7100\n  api_listen: 127.0.0.1:8080\n  database_url: dbname=x\n"

static void test_repo_clusters_yaml_loads_three_clusters(void **state)
{
	(void)state;
	hub_config cfg;
	char err[FL_ERR_LEN] = "";
	int rv = hub_config_load(&cfg, FL_SOURCE_DIR "/clusters.yaml", NULL, err);
	if (rv != FL_OK)
		fail_msg("%s", err);
	assert_int_equal(cfg.n_clusters, 3);
	assert_string_equal(cfg.clusters[0].name, "alpha");
	assert_string_equal(cfg.clusters[1].name, "beta");
	assert_string_equal(cfg.clusters[2].name, "gamma");
	assert_int_equal(cfg.clusters[0].n_labels, 2);
	assert_string_equal(cfg.clusters[0].labels[0].key, "region");
	assert_string_equal(cfg.clusters[0].labels[0].value, "us-east");
	assert_string_equal(cfg.ingest_url, "tcp://127.0.0.1:7100");
	assert_string_equal(cfg.api_listen, "127.0.0.1:8080");
	assert_int_equal(cfg.stale_after_ms, 90000);
	assert_int_equal(cfg.offline_after_ms, 600000);
	assert_string_equal(cfg.web_dir, FL_SOURCE_DIR "/web");
	assert_string_equal(cfg.migrations_dir, FL_SOURCE_DIR "/sql/hub");
	assert_int_equal(cfg.log_level, FL_LOG_INFO);
	json_t *labels = hub_config_labels_json(&cfg.clusters[2]);
	assert_non_null(labels);
	assert_string_equal(json_string_value(json_object_get(labels, "tier")), "staging");
	json_decref(labels);
	hub_config_free(&cfg);
	assert_null(cfg.clusters);
}

static void test_defaults_and_relative_paths(void **state)
{
	(void)state;
	const char *path = write_fixture("defaults.yaml", HUB_OK "  web_dir: console\n"
	                                                         "  migrations_dir: /abs/sql\n"
	                                                         "clusters:\n  - name: solo\n");
	hub_config cfg;
	char err[FL_ERR_LEN] = "";
	if (hub_config_load(&cfg, path, NULL, err) != FL_OK)
		fail_msg("%s", err);
	char want[128];
	snprintf(want, sizeof(want), "%s/console", tmpdir);
	assert_string_equal(cfg.web_dir, want);
	assert_string_equal(cfg.migrations_dir, "/abs/sql");
	assert_int_equal(cfg.stale_after_ms, HUB_DEFAULT_STALE_AFTER_MS);
	assert_int_equal(cfg.offline_after_ms, HUB_DEFAULT_OFFLINE_AFTER_MS);
	assert_int_equal(cfg.n_clusters, 1);
	assert_int_equal(cfg.clusters[0].n_labels, 0);
	assert_string_equal(cfg.database_url, "dbname=x");
	hub_config_free(&cfg);
}

static void test_env_database_url_overrides_and_makes_key_optional(void **state)
{
	(void)state;
	const char *path = write_fixture("env.yaml", HUB_OK "clusters: []\n");
	hub_config cfg;
	char err[FL_ERR_LEN] = "";
	assert_int_equal(hub_config_load(&cfg, path, "host=/tmp dbname=y", err), FL_OK);
	assert_string_equal(cfg.database_url, "host=/tmp dbname=y");
	hub_config_free(&cfg);

	path = write_fixture("nodb.yaml", "hub:\n  ingest_url: tcp://127.0.0.1:1\n  api_listen: 127.0.0.1:2\n"
	                                  "clusters: []\n");
	assert_int_equal(hub_config_load(&cfg, path, "dbname=z", err), FL_OK);
	assert_string_equal(cfg.database_url, "dbname=z");
	hub_config_free(&cfg);
	expect_error("nodb2.yaml", "hub:\n  ingest_url: tcp://127.0.0.1:1\n  api_listen: 127.0.0.1:2\nclusters: []\n",
	             "2:3:", "key 'database_url': missing");
}

static void test_missing_ingest_url_names_the_key(void **state)
{
	(void)state;
	expect_error("noingest.yaml", "hub:\n  api_listen: 127.0.0.1:8080\n  database_url: x\nclusters: []\n",
	             "2:3:", "key 'ingest_url': missing");
}

static void test_duplicate_cluster_name_is_refused(void **state)
{
	(void)state;
	expect_error("dup.yaml", HUB_OK "clusters:\n  - name: alpha\n  - name: beta\n  - name: alpha\n",
	             "8:11:", "key 'name': cluster 'alpha' is listed twice");
}

static void test_bad_cluster_name_is_refused(void **state)
{
	(void)state;
	expect_error("badname.yaml", HUB_OK "clusters:\n  - name: \"bad name!\"\n",
	             "6:11:", "key 'name': 'bad name!' is not a valid cluster name");
	expect_error("longname.yaml",
	             HUB_OK "clusters:\n  - name: "
	                    "a234567890123456789012345678901234567890123456789012345678901234\n",
	             "6:11:", "key 'name'");
}

static void test_offline_after_must_exceed_stale_after(void **state)
{
	(void)state;
	expect_error("order.yaml", HUB_OK "  stale_after: 5m\n  offline_after: 5m\nclusters: []\n",
	             "6:18:", "key 'offline_after': offline_after (300000ms) must be more than stale_after (300000ms)");
	/* Only stale_after given, beyond the 10m default: the error points at stale_after. */
	expect_error("order2.yaml", HUB_OK "  stale_after: 1h\nclusters: []\n", "5:16:", "key 'stale_after'");
}

static void test_unknown_key_is_refused(void **state)
{
	(void)state;
	expect_error("unknown.yaml", HUB_OK "  stale_afterr: 90s\nclusters: []\n",
	             "5:3:", "key 'stale_afterr': unknown key");
	expect_error("unknown2.yaml", HUB_OK "clusters:\n  - name: a\n    label: {x: y}\n",
	             "7:5:", "key 'label': unknown key");
	expect_error("unknown3.yaml", HUB_OK "cluster:\n  - name: a\n", "5:1:", "key 'cluster': unknown key");
}

static void test_bad_duration_is_refused(void **state)
{
	(void)state;
	expect_error("dur.yaml", HUB_OK "  stale_after: soon\nclusters: []\n",
	             "5:16:", "key 'stale_after': expected a duration");
	expect_error("dur2.yaml", HUB_OK "  offline_after: 10\nclusters: []\n", "5:18:", "key 'offline_after'");
}

static void test_bad_labels_and_log_level_are_refused(void **state)
{
	(void)state;
	expect_error("labels.yaml", HUB_OK "clusters:\n  - name: a\n    labels: [x]\n",
	             "7:13:", "key 'labels': expected a mapping");
	expect_error("level.yaml", HUB_OK "  log_level: loud\nclusters: []\n", "5:14:", "key 'log_level'");
	expect_error("nohub.yaml", "clusters: []\n", "1:1:", "key 'hub': missing");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_repo_clusters_yaml_loads_three_clusters),
	    cmocka_unit_test(test_defaults_and_relative_paths),
	    cmocka_unit_test(test_env_database_url_overrides_and_makes_key_optional),
	    cmocka_unit_test(test_missing_ingest_url_names_the_key),
	    cmocka_unit_test(test_duplicate_cluster_name_is_refused),
	    cmocka_unit_test(test_bad_cluster_name_is_refused),
	    cmocka_unit_test(test_offline_after_must_exceed_stale_after),
	    cmocka_unit_test(test_unknown_key_is_refused),
	    cmocka_unit_test(test_bad_duration_is_refused),
	    cmocka_unit_test(test_bad_labels_and_log_level_are_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
