/* test_spoke_stats.c — the spoke's health rule (no ack for 3 × interval, a source failing as long), the
 * hub's ack reasons mapped to its reason words, the Prometheus text of /metrics with its values, the
 * metrics_listen address check, and the key file re-read on rotation (spoke_keyfile). Clock driven. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "spoke_http.h"
#include "spoke_keyfile.h"
#include "spoke_stats.h"

#define T0 1000000 /* the monotonic ms the stats start at */

static void health_no_ack(void **state)
{
	(void)state;
	spoke_stats s;
	char why[256];
	spoke_stats_init(&s, "alpha", "cluster", 10000, T0);
	assert_true(spoke_stats_health(&s, T0 + 29999, why, sizeof(why)));
	assert_string_equal(why, "");
	assert_false(spoke_stats_health(&s, T0 + 37000, why, sizeof(why)));
	assert_string_equal(why, "no ack for 37 s (limit 30 s)");
	spoke_stats_acked(&s, T0 + 37000);
	assert_true(spoke_stats_health(&s, T0 + 37000 + 29999, why, sizeof(why)));
	assert_false(spoke_stats_health(&s, T0 + 37000 + 30000, why, sizeof(why)));
	assert_string_equal(why, "no ack for 30 s (limit 30 s)");
}

static void health_source_failing(void **state)
{
	(void)state;
	spoke_stats s;
	char why[256];
	spoke_stats_init(&s, "alpha", "cluster", 10000, T0);
	spoke_stats_acked(&s, T0);
	spoke_stats_source(&s, false, "kube: first\nerror", T0 + 1000);
	spoke_stats_acked(&s, T0 + 20000);
	spoke_stats_source(&s, false, "kube: connection refused", T0 + 20000); /* keeps the first failure's time */
	assert_true(spoke_stats_health(&s, T0 + 30999, why, sizeof(why)));
	spoke_stats_acked(&s, T0 + 30000);
	assert_false(spoke_stats_health(&s, T0 + 32000, why, sizeof(why)));
	assert_string_equal(why, "source failing for 31 s: kube: connection refused");
	spoke_stats_source(&s, false, "line one\nline two", T0 + 32000);
	assert_false(spoke_stats_health(&s, T0 + 32000, why, sizeof(why)));
	assert_string_equal(why, "source failing for 31 s: line one line two");
	spoke_stats_source(&s, true, NULL, T0 + 33000);
	assert_true(spoke_stats_health(&s, T0 + 33000, why, sizeof(why)));
	/* no ack is checked first */
	spoke_stats_source(&s, false, "x", T0 + 34000);
	assert_false(spoke_stats_health(&s, T0 + 70000, why, sizeof(why)));
	assert_string_equal(why, "no ack for 40 s (limit 30 s)");
}

/* Liveness: only a loop that ends no cycle for 3 x interval + 60 s; no ack and a failing source stay live. */
static void live_stuck_loop_only(void **state)
{
	(void)state;
	spoke_stats s;
	char why[256];
	spoke_stats_init(&s, "alpha", "cluster", 10000, T0);
	assert_true(spoke_stats_live(&s, T0 + 90000, why, sizeof(why))); /* never acked, no cycle yet: 90 s */
	assert_string_equal(why, "");
	assert_false(spoke_stats_live(&s, T0 + 90001, why, sizeof(why)));
	assert_string_equal(why, "no collection ended for 90 s (limit 90 s)");
	spoke_stats_source(&s, false, "hub and kube away", T0 + 100000); /* a failed cycle still is a cycle */
	assert_true(spoke_stats_live(&s, T0 + 180000, why, sizeof(why)));
	assert_false(spoke_stats_health(&s, T0 + 180000, why, sizeof(why))); /* while /healthz says 503 */
	spoke_stats_source(&s, true, NULL, T0 + 180000);
	assert_false(spoke_stats_live(&s, T0 + 270001, why, sizeof(why)));
	assert_string_equal(why, "no collection ended for 90 s (limit 90 s)");
}

static void reasons(void **state)
{
	(void)state;
	static const struct {
		const char *ack, *word;
	} cases[] = {
	    {"malformed frame from 'a': bad map", "malformed"},
	    {"malformed node frame from 'a' node 'n': x", "malformed"},
	    {"frame over a limit: 20001 nodes", "oversized"},
	    {"frame from 'alpha' over a limit: too many GPUs", "oversized"},
	    {"unknown cluster 'ghost'", "unknown_cluster"},
	    {"bad signature: cluster 'a' spoke 's' seq 3 is not signed with the cluster's key", "bad_signature"},
	    {"replay: cluster 'a' spoke 's' seq 1 was sent more than 60000 ms before", "replay"},
	    {"database: connection lost", "db_error"},
	    {"wrong key role: node frame of cluster 'a' ...", "wrong_key_role"},
	    {"the hub is shutting down", "other"},
	    {"", "other"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_string_equal(spoke_stats_reason_name(spoke_stats_reason_of(cases[i].ack)), cases[i].word);
	}
	assert_string_equal(spoke_stats_reason_name(spoke_stats_reason_of(NULL)), "other");
}

/* The value of the sample line that starts with `series ` in text, or -1. */
static double value(const char *text, const char *series)
{
	size_t n = strlen(series);
	for (const char *p = text; p != NULL && *p != '\0';) {
		if (strncmp(p, series, n) == 0 && p[n] == ' ') {
			return strtod(p + n + 1, NULL);
		}
		p = strchr(p, '\n');
		p = p != NULL ? p + 1 : NULL;
	}
	return -1;
}

/* Every sample line's family has a TYPE line before it. */
static void assert_typed(const char *text)
{
	char family[128] = "";
	for (const char *p = text; *p != '\0';) {
		const char *end = strchr(p, '\n');
		assert_non_null(end);
		if (strncmp(p, "# TYPE ", 7) == 0) {
			size_t n = strcspn(p + 7, " ");
			snprintf(family, sizeof(family), "%.*s", (int)n, p + 7);
		} else if (p[0] != '#') {
			assert_true(family[0] != '\0');
			assert_memory_equal(p, family, strlen(family));
		}
		p = end + 1;
	}
}

static void render(void **state)
{
	(void)state;
	spoke_stats s;
	spoke_stats_init(&s, "alpha", "node", 1000, T0);
	for (int i = 0; i < 3; i++) {
		spoke_stats_count(&s, SPOKE_C_SENT, 1);
	}
	spoke_stats_acked(&s, T0 + 500);
	spoke_stats_acked(&s, T0 + 1000);
	spoke_stats_refused(&s, "bad signature: x");
	spoke_stats_refused(&s, "database: y");
	spoke_stats_refused(&s, NULL);
	spoke_stats_spool(&s, 4, 1000);
	spoke_stats_kube(&s, SPOKE_KUBE_LIST_CALL, 1);
	spoke_stats_kube(&s, SPOKE_KUBE_LIST_CALL, 1);
	spoke_stats_kube(&s, SPOKE_KUBE_WATCH_RESTART, 3);
	spoke_stats_kube(&s, SPOKE_KUBE_RELIST, 0);
	spoke_stats_kube(&s, SPOKE_KUBE_RELIST, 9); /* no such resource: ignored */
	spoke_stats_count(&s, SPOKE_C_PROM_FAILURES, 1);
	spoke_stats_time(&s, SPOKE_T_COLLECT, 1500);
	spoke_stats_time(&s, SPOKE_T_COLLECT, 500);
	spoke_stats_time(&s, SPOKE_T_ENCODE, 250);
	spoke_stats_count(&s, SPOKE_C_KEY_RELOAD_OK, 1);
	spoke_stats_count(&s, SPOKE_C_KEY_RELOAD_FAILED, 2);
	spoke_stats_source(&s, false, "boom", T0 + 1500);
	char *text = NULL;
	size_t len = 0;
	assert_int_equal(spoke_stats_render(&s, T0 + 3500, &text, &len), FL_OK);
	assert_int_equal(strlen(text), len);
	assert_typed(text);
	assert_non_null(strstr(text, "# HELP fleetlens_spoke_frames_sent_total "));
	assert_true(value(text, "fleetlens_spoke_info{cluster=\"alpha\",role=\"node\",version=\"" FL_VERSION "\"}") ==
	            1);
	assert_true(value(text, "fleetlens_spoke_frames_sent_total") == 3);
	assert_true(value(text, "fleetlens_spoke_frames_acked_total") == 2);
	assert_true(value(text, "fleetlens_spoke_frames_refused_total{reason=\"bad_signature\"}") == 1);
	assert_true(value(text, "fleetlens_spoke_frames_refused_total{reason=\"db_error\"}") == 1);
	assert_true(value(text, "fleetlens_spoke_frames_refused_total{reason=\"other\"}") == 1);
	assert_true(value(text, "fleetlens_spoke_frames_refused_total{reason=\"replay\"}") == 0);
	assert_true(value(text, "fleetlens_spoke_spool_frames") == 4);
	assert_true(value(text, "fleetlens_spoke_spool_bytes") == 1000);
	assert_true(value(text, "fleetlens_spoke_seconds_since_last_ack") == 2.5);
	assert_true(value(text, "fleetlens_spoke_healthy") == 1);
	assert_true(value(text, "fleetlens_spoke_kube_list_calls_total{resource=\"pods\"}") == 2);
	assert_true(value(text, "fleetlens_spoke_kube_list_calls_total{resource=\"nodes\"}") == 0);
	assert_true(value(text, "fleetlens_spoke_kube_watch_restarts_total{resource=\"jobs\"}") == 1);
	assert_true(value(text, "fleetlens_spoke_kube_relists_total{resource=\"nodes\"}") == 1);
	assert_true(value(text, "fleetlens_spoke_prometheus_query_failures_total") == 1);
	assert_true(value(text, "fleetlens_spoke_source_failing_seconds") == 2);
	assert_true(value(text, "fleetlens_spoke_collect_seconds_sum") == 0.002);
	assert_true(value(text, "fleetlens_spoke_collect_seconds_count") == 2);
	assert_true(value(text, "fleetlens_spoke_encode_seconds_sum") == 0.00025);
	assert_true(value(text, "fleetlens_spoke_encode_seconds_count") == 1);
	assert_true(value(text, "fleetlens_spoke_key_reloads_total{result=\"ok\"}") == 1);
	assert_true(value(text, "fleetlens_spoke_key_reloads_total{result=\"failed\"}") == 2);
	free(text);
	/* 3 s without an ack at interval 1s: unhealthy, and the gauge says so */
	assert_int_equal(spoke_stats_render(&s, T0 + 4000, &text, &len), FL_OK);
	assert_true(value(text, "fleetlens_spoke_healthy") == 0);
	assert_true(value(text, "fleetlens_spoke_seconds_since_last_ack") == 3);
	free(text);
}

static void listen_addresses(void **state)
{
	(void)state;
	assert_true(spoke_http_listen_ok("0.0.0.0:9101"));
	assert_true(spoke_http_listen_ok("127.0.0.1:1"));
	assert_true(spoke_http_listen_ok("[::]:65535"));
	assert_true(spoke_http_listen_ok("[::1]:9101"));
	assert_false(spoke_http_listen_ok("9101"));
	assert_false(spoke_http_listen_ok(":9101"));
	assert_false(spoke_http_listen_ok("0.0.0.0:0"));
	assert_false(spoke_http_listen_ok("0.0.0.0:65536"));
	assert_false(spoke_http_listen_ok("0.0.0.0:91a"));
	assert_false(spoke_http_listen_ok("localhost:9101"));
	assert_false(spoke_http_listen_ok("::1:9101"));
	assert_false(spoke_http_listen_ok("0.0.0.0:"));
	assert_false(spoke_http_listen_ok(NULL));
}

/* Writes text to path through a temporary file and a rename (a new inode, as a Secret swap gives). */
static void put(const char *path, const char *text)
{
	char tmp[300];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(rename(tmp, path), 0);
}

static void key_rotation(void **state)
{
	(void)state;
	static const char k1[] = "1111111111111111111111111111111111111111111111111111111111111111";
	static const char k2[] = "2222222222222222222222222222222222222222222222222222222222222222";
	char dir[] = "/tmp/fl_spoke_key.XXXXXX", path[256], err[FL_ERR_LEN];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/alpha.key", dir);
	put(path, k1);
	fl_key key;
	assert_int_equal(fl_key_load(path, &key, err), FL_OK);
	spoke_stats s;
	spoke_stats_init(&s, "alpha", "cluster", 1000, T0);
	spoke_keyfile kf;
	spoke_keyfile_init(&kf, path, &key);
	assert_false(spoke_keyfile_check(&kf, &s));
	put(path, k2);
	assert_true(spoke_keyfile_check(&kf, &s));
	assert_memory_equal(kf.key.bytes, k2, 64);
	assert_int_equal(atomic_load(&s.counters[SPOKE_C_KEY_RELOAD_OK]), 1);
	assert_false(spoke_keyfile_check(&kf, &s)); /* unchanged: not read again */
	put(path, "garbage");                       /* too short to be a key */
	assert_false(spoke_keyfile_check(&kf, &s));
	assert_false(spoke_keyfile_check(&kf, &s)); /* one failure per change */
	assert_memory_equal(kf.key.bytes, k2, 64);
	assert_int_equal(atomic_load(&s.counters[SPOKE_C_KEY_RELOAD_FAILED]), 1);
	assert_int_equal(unlink(path), 0);
	assert_false(spoke_keyfile_check(&kf, &s));
	assert_false(spoke_keyfile_check(&kf, &s));
	assert_int_equal(atomic_load(&s.counters[SPOKE_C_KEY_RELOAD_FAILED]), 2);
	put(path, k1);
	assert_true(spoke_keyfile_check(&kf, &s));
	assert_memory_equal(kf.key.bytes, k1, 64);
	assert_int_equal(atomic_load(&s.counters[SPOKE_C_KEY_RELOAD_OK]), 2);
	spoke_keyfile_wipe(&kf);
	fl_key_wipe(&key);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(health_no_ack),
	    cmocka_unit_test(health_source_failing),
	    cmocka_unit_test(live_stuck_loop_only),
	    cmocka_unit_test(reasons),
	    cmocka_unit_test(render),
	    cmocka_unit_test(listen_addresses),
	    cmocka_unit_test(key_rotation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
