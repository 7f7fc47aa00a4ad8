/* Unit tests for hub/hub_config: the repo's clusters.yaml loads (with generated keys), keys and TLS files
 * are read and resolved like the other paths, and every kind of mistake is refused with FILE:LINE:COL and
 * the key in the message. */
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
#include "fl_test_tmp.h"

static char tmpdir[64];

static const char *write_fixture(const char *name, const char *text)
{
	static char path[192];
	int n = snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	assert_true(n > 0 && (size_t)n < sizeof(path));
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

#define KEY64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static int setup(void **state)
{
	(void)state;
	if (fl_test_tmp_make(tmpdir, sizeof(tmpdir), "hub_config_test") != 0)
		return -1;
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/keys' '%s/.state/keys' '%s/tls'", tmpdir, tmpdir, tmpdir);
	if (system(cmd) != 0)
		return -1;
	write_fixture("k.key", KEY64 "\n");
	write_fixture("keys/a.key", "  " KEY64 "  \n");
	write_fixture("short.key", "0123456789abcdef\n");
	write_fixture("tls/hub.crt", "-----BEGIN CERTIFICATE-----\n");
	write_fixture("tls/hub.pem", "-----BEGIN PRIVATE KEY-----\n");
	write_fixture("tls/ca.crt", "-----BEGIN CERTIFICATE-----\n");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return fl_test_tmp_remove(tmpdir);
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
	/* The demo generates .state/keys/NAME.key next to clusters.yaml; here a copy of the file gets them. */
	char cmd[512], path[192], want[192];
	snprintf(cmd, sizeof(cmd), "cp '%s/clusters.yaml' '%s/repo.yaml'", FL_SOURCE_DIR, tmpdir);
	assert_int_equal(system(cmd), 0);
	const char *names[] = {"alpha", "beta", "gamma"};
	for (int k = 0; k < 3; k++) {
		snprintf(path, sizeof(path), ".state/keys/%s.key", names[k]);
		write_fixture(path, KEY64);
	}
	snprintf(path, sizeof(path), "%s/repo.yaml", tmpdir);
	hub_config cfg;
	char err[FL_ERR_LEN] = "";
	int rv = hub_config_load(&cfg, path, NULL, err);
	if (rv != FL_OK)
		fail_msg("%s", err);
	assert_int_equal(cfg.n_clusters, 3);
	snprintf(want, sizeof(want), "%s/.state/keys/beta.key", tmpdir);
	assert_string_equal(cfg.clusters[1].key_file, want);
	assert_int_equal(cfg.clusters[1].key.len, 64);
	assert_memory_equal(cfg.clusters[1].key.bytes, KEY64, 64);
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
	snprintf(want, sizeof(want), "%s/web/dist", tmpdir);
	assert_string_equal(cfg.web_dir, want);
	snprintf(want, sizeof(want), "%s/sql/hub", tmpdir);
	assert_string_equal(cfg.migrations_dir, want);
	assert_int_equal(cfg.log_level, FL_LOG_INFO);
	assert_int_equal(cfg.ingest_workers, HUB_DEFAULT_INGEST_WORKERS);
	assert_int_equal(cfg.api_threads, HUB_DEFAULT_API_THREADS);
	assert_string_equal(cfg.tls_cert_file, ""); /* tcp:// on loopback: no TLS */
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
	                                                         "clusters:\n  - name: solo\n    key_file: k.key\n");
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
	assert_int_equal(cfg.ingest_workers, 4);
	assert_int_equal(cfg.replay_tolerance_ms, 5000);
	assert_int_equal(cfg.ingest_log_retention_ms, 7LL * 24 * 3600 * 1000);
	assert_int_equal(cfg.node_lost_after_ms, 5LL * 60 * 1000);
	assert_string_equal(cfg.tls_cert_file, "");
	assert_string_equal(cfg.tls_ca_file, "");
	hub_config_free(&cfg);
}

/* Without web_dir and migrations_dir the hub looks where cmake --install put them (FL_DATADIR). */
static void test_folders_default_to_the_installed_ones(void **state)
{
	(void)state;
	const char *path = write_fixture("installed.yaml", HUB_OK "clusters:\n  - name: solo\n    key_file: k.key\n");
	hub_config cfg;
	char err[FL_ERR_LEN] = "";
	if (hub_config_load(&cfg, path, NULL, err) != FL_OK)
		fail_msg("%s", err);
	assert_string_equal(cfg.web_dir, FL_DATADIR "/web");
	assert_string_equal(cfg.migrations_dir, FL_DATADIR "/sql/hub");
	assert_true(cfg.web_dir[0] == '/'); /* an absolute path: CMAKE_INSTALL_FULL_DATADIR */
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
	expect_error("dup.yaml",
	             HUB_OK "clusters:\n  - name: alpha\n    key_file: k.key\n  - name: beta\n    key_file: k.key\n"
	                    "  - name: alpha\n",
	             "10:11:", "key 'name': cluster 'alpha' is listed twice");
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
	/* node agents: at least a second */
	expect_error("lost.yaml", HUB_OK "  node_lost_after: 500ms\nclusters: []\n", "5:20:",
	             "key 'node_lost_after': at least 1s");
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

static void test_key_file_is_required_and_must_hold_a_key(void **state)
{
	(void)state;
	expect_error("nokey.yaml", HUB_OK "clusters:\n  - name: a\n", "6:5:", "key 'key_file': missing");
	expect_error("nokeyfile.yaml", HUB_OK "clusters:\n  - name: a\n    key_file: keys/none.key\n",
	             "7:15:", "key 'key_file': key file");
	expect_error("nokeyfile2.yaml", HUB_OK "clusters:\n  - name: a\n    key_file: keys/none.key\n",
	             "7:15:", "none.key: cannot open");
	expect_error("shortkey.yaml", HUB_OK "clusters:\n  - name: a\n    key_file: short.key\n",
	             "7:15:", "16 bytes, a key needs at least 32");
	expect_error("emptykey.yaml", HUB_OK "clusters:\n  - name: a\n    key_file: \"\"\n",
	             "7:15:", "key 'key_file': must not be empty");
	/* The second cluster's bad key is reported, and the first one's key is wiped on the way out. */
	expect_error("secondkey.yaml",
	             HUB_OK "clusters:\n  - name: a\n    key_file: k.key\n  - name: b\n    key_file: short.key\n",
	             "9:15:", "key 'key_file'");
}

static void test_key_file_resolves_against_the_config_folder(void **state)
{
	(void)state;
	char abs[192];
	snprintf(abs, sizeof(abs), "%s/k.key", tmpdir);
	char text[512];
	snprintf(text, sizeof(text),
	         HUB_OK "clusters:\n  - name: a\n    key_file: keys/a.key\n"
	                "  - name: b\n    key_file: %s\n",
	         abs);
	const char *path = write_fixture("keys.yaml", text);
	hub_config cfg;
	char err[FL_ERR_LEN] = "";
	if (hub_config_load(&cfg, path, NULL, err) != FL_OK)
		fail_msg("%s", err);
	char want[192];
	snprintf(want, sizeof(want), "%s/keys/a.key", tmpdir);
	assert_string_equal(cfg.clusters[0].key_file, want);
	assert_string_equal(cfg.clusters[1].key_file, abs);
	/* Whitespace around the secret is not part of it. */
	assert_int_equal(cfg.clusters[0].key.len, 64);
	assert_memory_equal(cfg.clusters[0].key.bytes, KEY64, 64);
	assert_int_equal(cfg.clusters[1].key.len, 64);
	hub_config_free(&cfg);
	assert_null(cfg.clusters);
	assert_int_equal(cfg.n_clusters, 0);
}

static void count_file(const char *path, void *arg)
{
	(void)path;
	(*(size_t *)arg)++;
}

static void test_node_key_file_is_optional_resolved_and_its_own_key(void **state)
{
	(void)state;
	write_fixture("keys/n.key", "node-key-0123456789abcdef0123456789abcdef\n");
	const char *path = write_fixture("nodekey.yaml", HUB_OK "clusters:\n  - name: a\n    key_file: k.key\n"
	                                                        "    node_key_file: keys/n.key\n"
	                                                        "  - name: b\n    key_file: k.key\n");
	hub_config cfg;
	char err[FL_ERR_LEN] = "";
	if (hub_config_load(&cfg, path, NULL, err) != FL_OK)
		fail_msg("%s", err);
	char want[192];
	snprintf(want, sizeof(want), "%s/keys/n.key", tmpdir);
	assert_string_equal(cfg.clusters[0].node_key_file, want);
	assert_int_equal(cfg.clusters[0].node_key.len, 41);
	assert_memory_equal(cfg.clusters[0].node_key.bytes, "node-key-0123456789abcdef0123456789abcdef", 41);
	assert_string_equal(cfg.clusters[1].node_key_file, ""); /* not set: node frames under the cluster key */
	assert_int_equal(cfg.clusters[1].node_key.len, 0);
	hub_config_free(&cfg);

	/* the same rules as key_file, and never the cluster's own key (whitespace aside) */
	expect_error("nodekey_missing.yaml",
	             HUB_OK "clusters:\n  - name: a\n    key_file: k.key\n    node_key_file: keys/none.key\n", "8:20:",
	             "none.key: cannot open");
	expect_error("nodekey_short.yaml",
	             HUB_OK "clusters:\n  - name: a\n    key_file: k.key\n    node_key_file: short.key\n", "8:20:",
	             "16 bytes, a key needs at least 32");
	expect_error("nodekey_empty.yaml",
	             HUB_OK "clusters:\n  - name: a\n    key_file: k.key\n    node_key_file: \"\"\n", "8:20:",
	             "key 'node_key_file': must not be empty");
	expect_error("nodekey_same.yaml",
	             HUB_OK "clusters:\n  - name: a\n    key_file: k.key\n    node_key_file: keys/a.key\n", "8:20:",
	             "key 'node_key_file': holds the same key as key_file");
}

static void test_next_key_files_are_optional_resolved_and_new_keys(void **state)
{
	(void)state;
	write_fixture("keys/next.key", "next-key-0123456789abcdef0123456789abcdef\n");
	write_fixture("keys/n.key", "node-key-0123456789abcdef0123456789abcdef\n");
	write_fixture("keys/n2.key", "node-key-2-0123456789abcdef0123456789abcdef\n");
	const char *path = write_fixture("nextkey.yaml", HUB_OK "clusters:\n  - name: a\n    key_file: k.key\n"
	                                                        "    next_key_file: keys/next.key\n"
	                                                        "    node_key_file: keys/n.key\n"
	                                                        "    next_node_key_file: keys/n2.key\n"
	                                                        "  - name: b\n    key_file: k.key\n");
	hub_config cfg;
	char err[FL_ERR_LEN] = "";
	if (hub_config_load(&cfg, path, NULL, err) != FL_OK)
		fail_msg("%s", err);
	char want[192];
	snprintf(want, sizeof(want), "%s/keys/next.key", tmpdir);
	assert_string_equal(cfg.clusters[0].next_key_file, want);
	assert_int_equal(cfg.clusters[0].next_key.len, 41);
	assert_memory_equal(cfg.clusters[0].next_key.bytes, "next-key-0123456789abcdef0123456789abcdef", 41);
	snprintf(want, sizeof(want), "%s/keys/n2.key", tmpdir);
	assert_string_equal(cfg.clusters[0].next_node_key_file, want);
	assert_int_equal(cfg.clusters[0].next_node_key.len, 43);
	assert_string_equal(cfg.clusters[1].next_key_file, ""); /* not set: only key_file signs */
	assert_int_equal(cfg.clusters[1].next_key.len, 0);
	assert_int_equal(cfg.clusters[1].next_node_key.len, 0);
	assert_int_equal(cfg.config_check_interval_ms, HUB_DEFAULT_CONFIG_CHECK_INTERVAL_MS);

	/* every file it read, for the watch: the config, a's four keys, b's key */
	size_t n = 0;
	hub_config_each_file(&cfg, count_file, &n);
	assert_int_equal(n, 6);

	/* a copy is its own: freeing the original leaves it whole */
	hub_config copy;
	assert_int_equal(hub_config_dup(&copy, &cfg), FL_OK);
	hub_config_free(&cfg);
	assert_memory_equal(copy.clusters[0].next_key.bytes, "next-key-0123456789abcdef0123456789abcdef", 41);
	hub_config_free(&copy);

	/* the same rules as key_file; never the key it replaces, nor the other role's key */
	expect_error("next_missing.yaml",
	             HUB_OK "clusters:\n  - name: a\n    key_file: k.key\n    next_key_file: keys/none.key\n",
	             "8:20:", "none.key: cannot open");
	expect_error("next_short.yaml",
	             HUB_OK "clusters:\n  - name: a\n    key_file: k.key\n    next_key_file: short.key\n",
	             "8:20:", "16 bytes, a key needs at least 32");
	expect_error("next_same.yaml",
	             HUB_OK "clusters:\n  - name: a\n    key_file: k.key\n    next_key_file: keys/a.key\n",
	             "8:20:", "key 'next_key_file': holds the key it is to replace");
	expect_error("next_node_role.yaml",
	             HUB_OK "clusters:\n  - name: a\n    key_file: k.key\n    node_key_file: keys/n.key\n"
	                    "    next_key_file: keys/n.key\n",
	             "9:20:", "key 'next_key_file': holds the other role's key");
	expect_error("next_node_same.yaml",
	             HUB_OK "clusters:\n  - name: a\n    key_file: k.key\n    node_key_file: keys/n.key\n"
	                    "    next_node_key_file: keys/n.key\n",
	             "9:25:", "key 'next_node_key_file': holds the key it is to replace");
	expect_error("next_node_alone.yaml",
	             HUB_OK "clusters:\n  - name: a\n    key_file: k.key\n    next_node_key_file: keys/n2.key\n",
	             "8:25:", "needs node_key_file");
}

static void test_config_check_interval_zero_is_off(void **state)
{
	(void)state;
	const char *path = write_fixture("check0.yaml", HUB_OK "  config_check_interval: 0\nclusters: []\n");
	hub_config cfg, other;
	char err[FL_ERR_LEN] = "";
	if (hub_config_load(&cfg, path, NULL, err) != FL_OK)
		fail_msg("%s", err);
	assert_int_equal(cfg.config_check_interval_ms, 0);
	path = write_fixture("check2.yaml", HUB_OK "  config_check_interval: 2s\n  ingest_workers: 7\nclusters: []\n");
	if (hub_config_load(&other, path, NULL, err) != FL_OK)
		fail_msg("%s", err);
	assert_int_equal(other.config_check_interval_ms, 2000);
	char diff[256];
	/* config_check_interval is applied by a reload; ingest_workers waits for a restart */
	assert_int_equal(hub_config_restart_diff(&cfg, &other, diff, sizeof(diff)), 1);
	assert_string_equal(diff, "hub.ingest_workers");
	hub_config_free(&cfg);
	hub_config_free(&other);
	expect_error("check_bad.yaml", HUB_OK "  config_check_interval: soon\nclusters: []\n",
	             "5:26:", "expected a duration like 10s or 1m, or 0 (off)");
}

#define HUB_TLS "hub:\n  ingest_url: tls+tcp://0.0.0.0:7100\n  api_listen: 127.0.0.1:8080\n  database_url: dbname=x\n"

static void test_tls_files_are_required_for_tls_tcp_and_resolved(void **state)
{
	(void)state;
	const char *path = write_fixture("tls.yaml", HUB_TLS "  tls:\n    cert_file: tls/hub.crt\n"
	                                                     "    key_file: tls/hub.pem\n    ca_file: tls/ca.crt\n"
	                                                     "clusters: []\n");
	hub_config cfg;
	char err[FL_ERR_LEN] = "";
	if (hub_config_load(&cfg, path, NULL, err) != FL_OK)
		fail_msg("%s", err);
	char want[192];
	snprintf(want, sizeof(want), "%s/tls/hub.crt", tmpdir);
	assert_string_equal(cfg.tls_cert_file, want);
	snprintf(want, sizeof(want), "%s/tls/hub.pem", tmpdir);
	assert_string_equal(cfg.tls_key_file, want);
	snprintf(want, sizeof(want), "%s/tls/ca.crt", tmpdir);
	assert_string_equal(cfg.tls_ca_file, want);
	hub_config_free(&cfg);

	path = write_fixture("tls_noca.yaml",
	                     HUB_TLS "  tls: {cert_file: tls/hub.crt, key_file: tls/hub.pem}\nclusters: []\n");
	if (hub_config_load(&cfg, path, NULL, err) != FL_OK)
		fail_msg("%s", err);
	assert_string_equal(cfg.tls_ca_file, "");
	hub_config_free(&cfg);

	expect_error("tls_missing.yaml", HUB_TLS "clusters: []\n", "2:3:", "key 'tls': missing");
	expect_error("tls_nokey.yaml", HUB_TLS "  tls:\n    cert_file: tls/hub.crt\nclusters: []\n",
	             "6:5:", "key 'key_file': missing");
	expect_error("tls_nofile.yaml",
	             HUB_TLS "  tls:\n    cert_file: tls/none.crt\n    key_file: tls/hub.pem\nclusters: []\n",
	             "6:16:", "key 'cert_file': ");
	expect_error("tls_nofile2.yaml",
	             HUB_TLS "  tls:\n    cert_file: tls/none.crt\n    key_file: tls/hub.pem\nclusters: []\n",
	             "6:16:", "none.crt: cannot read");
	expect_error("tls_unknown.yaml",
	             HUB_TLS "  tls:\n    cert: tls/hub.crt\n    key_file: tls/hub.pem\nclusters: []\n",
	             "6:5:", "key 'cert': unknown key");
	/* A certificate on a plain tcp:// ingest would suggest an encryption that does not happen. */
	expect_error("tls_plain.yaml", HUB_OK "  tls: {cert_file: tls/hub.crt, key_file: tls/hub.pem}\nclusters: []\n",
	             "5:8:", "key 'tls': set, but ingest_url does not start with tls+tcp://");
}

static void test_ingest_workers_range(void **state)
{
	(void)state;
	const char *path = write_fixture("w64.yaml", HUB_OK "  ingest_workers: 64\nclusters: []\n");
	hub_config cfg;
	char err[FL_ERR_LEN] = "";
	if (hub_config_load(&cfg, path, NULL, err) != FL_OK)
		fail_msg("%s", err);
	assert_int_equal(cfg.ingest_workers, 64);
	hub_config_free(&cfg);
	path = write_fixture("w1.yaml", HUB_OK "  ingest_workers: 1\nclusters: []\n");
	if (hub_config_load(&cfg, path, NULL, err) != FL_OK)
		fail_msg("%s", err);
	assert_int_equal(cfg.ingest_workers, 1);
	hub_config_free(&cfg);
	expect_error("w0.yaml", HUB_OK "  ingest_workers: 0\nclusters: []\n",
	             "5:19:", "key 'ingest_workers': 0 is out of range [1, 64]");
	expect_error("w65.yaml", HUB_OK "  ingest_workers: 65\nclusters: []\n",
	             "5:19:", "key 'ingest_workers': 65 is out of range [1, 64]");
	expect_error("wx.yaml", HUB_OK "  ingest_workers: many\nclusters: []\n", "5:19:", "key 'ingest_workers'");
}

static void test_api_threads_range(void **state)
{
	(void)state;
	const char *path = write_fixture("t1024.yaml", HUB_OK "  api_threads: 1024\nclusters: []\n");
	hub_config cfg;
	char err[FL_ERR_LEN] = "";
	if (hub_config_load(&cfg, path, NULL, err) != FL_OK)
		fail_msg("%s", err);
	assert_int_equal(cfg.api_threads, 1024);
	hub_config_free(&cfg);
	expect_error("t0.yaml", HUB_OK "  api_threads: 0\nclusters: []\n",
	             "5:16:", "key 'api_threads': 0 is out of range [1, 1024]");
	expect_error("t1025.yaml", HUB_OK "  api_threads: 1025\nclusters: []\n",
	             "5:16:", "key 'api_threads': 1025 is out of range [1, 1024]");
}

static void test_replay_tolerance_and_retention_bounds(void **state)
{
	(void)state;
	const char *path =
	    write_fixture("delivery.yaml", HUB_OK "  replay_tolerance: 2s\n  ingest_log_retention: 1h\nclusters: []\n");
	hub_config cfg;
	char err[FL_ERR_LEN] = "";
	if (hub_config_load(&cfg, path, NULL, err) != FL_OK)
		fail_msg("%s", err);
	assert_int_equal(cfg.replay_tolerance_ms, 2000);
	assert_int_equal(cfg.ingest_log_retention_ms, 3600000);
	hub_config_free(&cfg);
	expect_error("tol.yaml", HUB_OK "  replay_tolerance: 11m\nclusters: []\n",
	             "5:21:", "key 'replay_tolerance': at most 600s");
	expect_error("tol2.yaml", HUB_OK "  replay_tolerance: 0s\nclusters: []\n", "5:21:", "key 'replay_tolerance'");
	expect_error("ret.yaml", HUB_OK "  ingest_log_retention: 59m\nclusters: []\n",
	             "5:25:", "key 'ingest_log_retention': at least 1h");
}

/* hub.rollup_retention (default 400d, at least history_retention) and hub.idle_threshold (percent, default 5). */
static void test_rollup_retention_and_idle_threshold(void **state)
{
	(void)state;
	const char *path = write_fixture("rollup0.yaml", HUB_OK "clusters: []\n");
	hub_config cfg;
	char err[FL_ERR_LEN] = "";
	if (hub_config_load(&cfg, path, NULL, err) != FL_OK)
		fail_msg("%s", err);
	assert_int_equal(cfg.rollup_retention_ms, 400LL * 86400 * 1000);
	assert_true(cfg.idle_threshold == 5.0);
	hub_config_free(&cfg);
	path = write_fixture("rollup1.yaml", HUB_OK "  history_retention: 3d\n  rollup_retention: 3d\n"
	                                            "  idle_threshold: 2.5\nclusters: []\n");
	if (hub_config_load(&cfg, path, NULL, err) != FL_OK)
		fail_msg("%s", err);
	assert_int_equal(cfg.rollup_retention_ms, 3LL * 86400 * 1000);
	assert_true(cfg.idle_threshold == 2.5);
	hub_config_free(&cfg);
	path = write_fixture("rollup2.yaml", HUB_OK "  idle_threshold: 0\nclusters: []\n");
	if (hub_config_load(&cfg, path, NULL, err) != FL_OK)
		fail_msg("%s", err);
	assert_true(cfg.idle_threshold == 0.0);
	hub_config_free(&cfg);
	path = write_fixture("rollup3.yaml", HUB_OK "  idle_threshold: 100\nclusters: []\n");
	if (hub_config_load(&cfg, path, NULL, err) != FL_OK)
		fail_msg("%s", err);
	assert_true(cfg.idle_threshold == 100.0);
	hub_config_free(&cfg);
	expect_error("rr.yaml", HUB_OK "  history_retention: 10d\n  rollup_retention: 9d\nclusters: []\n", "6:21:",
	             "key 'rollup_retention': rollup_retention (216 h) must be at least history_retention (240 h)");
	expect_error("rr2.yaml", HUB_OK "  history_retention: 401d\nclusters: []\n", "5:22:",
	             "key 'history_retention': rollup_retention (9600 h, the default) must be at least history_retention");
	expect_error("rr3.yaml", HUB_OK "  rollup_retention: forever\nclusters: []\n", "5:21:",
	             "key 'rollup_retention': expected a duration");
	expect_error("it1.yaml", HUB_OK "  idle_threshold: 101\nclusters: []\n", "5:19:",
	             "key 'idle_threshold': expected a percentage from 0 to 100 (like 5 or 2.5), got '101'");
	expect_error("it2.yaml", HUB_OK "  idle_threshold: -1\nclusters: []\n", "5:19:", "got '-1'");
	expect_error("it3.yaml", HUB_OK "  idle_threshold: 5%\nclusters: []\n", "5:19:", "got '5%'");
	expect_error("it4.yaml", HUB_OK "  idle_threshold: 1.2.3\nclusters: []\n", "5:19:", "key 'idle_threshold'");
	expect_error("it5.yaml", HUB_OK "  idle_threshold: [5]\nclusters: []\n", "5:19:", "key 'idle_threshold'");
}

/* clusters[].safe_cluster_id: SaFE's id of the cluster (workload_statistic.cluster). The name when not
 * set; the key when set; the cluster label primus-safe.cluster.id over both. */
static void test_safe_cluster_id_defaults_to_the_name_and_a_label_wins(void **state)
{
	(void)state;
	const char *path =
	    write_fixture("safeid.yaml", HUB_OK "clusters:\n"
	                                        "  - name: plain\n    key_file: k.key\n"
	                                        "  - name: keyed\n    key_file: k.key\n"
	                                        "    safe_cluster_id: tw-prod-01\n"
	                                        "  - name: labelled\n    key_file: k.key\n"
	                                        "    safe_cluster_id: ignored\n"
	                                        "    labels: {region: eu, primus-safe.cluster.id: x-ams-3}\n"
	                                        "  - name: label-only\n    key_file: k.key\n"
	                                        "    labels: {primus-safe.cluster.id: only-label}\n");
	hub_config cfg;
	char err[FL_ERR_LEN] = "";
	if (hub_config_load(&cfg, path, NULL, err) != FL_OK)
		fail_msg("%s", err);
	assert_int_equal(cfg.n_clusters, 4);
	assert_string_equal(cfg.clusters[0].safe_cluster_id, "plain");
	assert_string_equal(cfg.clusters[1].safe_cluster_id, "tw-prod-01");
	assert_string_equal(cfg.clusters[2].safe_cluster_id, "x-ams-3");
	assert_string_equal(cfg.clusters[3].safe_cluster_id, "only-label");
	assert_string_equal(cfg.clusters[3].name, "label-only"); /* the name itself is unchanged */
	hub_config_free(&cfg);

	/* a value SaFE's cluster column cannot hold (64 characters) is refused, naming the key */
	expect_error("safeid_long.yaml",
	             HUB_OK "clusters:\n  - name: a\n    key_file: k.key\n    safe_cluster_id: "
	                    "a234567890123456789012345678901234567890123456789012345678901234\n",
	             "8:22:", "key 'safe_cluster_id'");
	expect_error("safeid_map.yaml",
	             HUB_OK "clusters:\n  - name: a\n    key_file: k.key\n    safe_cluster_id: {x: y}\n",
	             "8:22:", "key 'safe_cluster_id'");
}

/* A SaFE cluster id names one cluster: a label too long for SaFE's column, or a second cluster with the same
 * id, is refused, naming the key. */
static void test_safe_cluster_id_label_too_long_or_shared_is_refused(void **state)
{
	(void)state;
	expect_error("safeid_label.yaml",
	             HUB_OK "clusters:\n  - name: a\n    key_file: k.key\n    labels: {primus-safe.cluster.id: "
	                    "a234567890123456789012345678901234567890123456789012345678901234}\n",
	             "8:13:", "label 'primus-safe.cluster.id'");
	expect_error("safeid_dup.yaml",
	             HUB_OK "clusters:\n  - name: a\n    key_file: k.key\n    safe_cluster_id: x\n"
	                    "  - name: b\n    key_file: k.key\n    labels: {primus-safe.cluster.id: x}\n",
	             "", "SaFE cluster id 'x' is also cluster 'a''s");
}

/* hub.lens.default_cluster: the Lens face's cluster when a request names none. The first cluster in the
 * file when not set; a cluster that is not listed is refused. */
static void test_lens_default_cluster_is_the_first_unless_set(void **state)
{
	(void)state;
	const char *two = "clusters:\n  - name: a\n    key_file: k.key\n  - name: b\n    key_file: k.key\n";
	char text[1024];
	hub_config cfg;
	char err[FL_ERR_LEN] = "";
	snprintf(text, sizeof(text), HUB_OK "%s", two);
	if (hub_config_load(&cfg, write_fixture("lens1.yaml", text), NULL, err) != FL_OK)
		fail_msg("%s", err);
	assert_string_equal(cfg.lens_default_cluster, "a");
	hub_config_free(&cfg);
	snprintf(text, sizeof(text), HUB_OK "  lens:\n    default_cluster: b\n%s", two);
	if (hub_config_load(&cfg, write_fixture("lens2.yaml", text), NULL, err) != FL_OK)
		fail_msg("%s", err);
	assert_string_equal(cfg.lens_default_cluster, "b");
	hub_config_free(&cfg);
	snprintf(text, sizeof(text), HUB_OK "  lens:\n    default_cluster: c\n%s", two);
	expect_error("lens3.yaml", text, "6:22:", "key 'default_cluster': 'c' is not a cluster");
	snprintf(text, sizeof(text), HUB_OK "  lens:\n    default: a\n%s", two);
	expect_error("lens4.yaml", text, "6:5:", "key 'default'");
	expect_error("lens5.yaml", HUB_OK "  lens: a\nclusters: []\n", "5:9:", "key 'lens'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_repo_clusters_yaml_loads_three_clusters),
	    cmocka_unit_test(test_defaults_and_relative_paths),
	    cmocka_unit_test(test_folders_default_to_the_installed_ones),
	    cmocka_unit_test(test_env_database_url_overrides_and_makes_key_optional),
	    cmocka_unit_test(test_missing_ingest_url_names_the_key),
	    cmocka_unit_test(test_duplicate_cluster_name_is_refused),
	    cmocka_unit_test(test_bad_cluster_name_is_refused),
	    cmocka_unit_test(test_offline_after_must_exceed_stale_after),
	    cmocka_unit_test(test_unknown_key_is_refused),
	    cmocka_unit_test(test_bad_duration_is_refused),
	    cmocka_unit_test(test_bad_labels_and_log_level_are_refused),
	    cmocka_unit_test(test_key_file_is_required_and_must_hold_a_key),
	    cmocka_unit_test(test_key_file_resolves_against_the_config_folder),
	    cmocka_unit_test(test_node_key_file_is_optional_resolved_and_its_own_key),
	    cmocka_unit_test(test_next_key_files_are_optional_resolved_and_new_keys),
	    cmocka_unit_test(test_config_check_interval_zero_is_off),
	    cmocka_unit_test(test_tls_files_are_required_for_tls_tcp_and_resolved),
	    cmocka_unit_test(test_ingest_workers_range),
	    cmocka_unit_test(test_api_threads_range),
	    cmocka_unit_test(test_replay_tolerance_and_retention_bounds),
	    cmocka_unit_test(test_rollup_retention_and_idle_threshold),
	    cmocka_unit_test(test_safe_cluster_id_defaults_to_the_name_and_a_label_wins),
	    cmocka_unit_test(test_safe_cluster_id_label_too_long_or_shared_is_refused),
	    cmocka_unit_test(test_lens_default_cluster_is_the_first_unless_set),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
