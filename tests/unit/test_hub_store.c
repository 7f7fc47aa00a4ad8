/* Database-backed tests for hub/hub_store's frame transaction and hub_ingest_handle's accept path:
 * exactly-once via ingest_log (also across a "restart"), row versions (an older frame never overwrites
 * a newer one's rows; a full frame deletes only older rows), removed nodes, replays, heartbeats, gaps,
 * pruning, two writers of one cluster at once, and — through a real socket and two workers — one cluster
 * waiting for its lock while another's frame is committed.
 *
 * Needs a PostgreSQL database it may write: FL_TEST_DATABASE_URL (tests/integration/hub_store_test.sh
 * starts a private server and runs this). Without it every test is skipped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>

#include "fl_time.h"
#include "hub_ingest.h"
#include "hub_metrics.h"
#include "hub_migrate.h"
#include "hub_store.h"
#include "hub_view.h"

#define T   1700000000000LL /* a spoke's clock */
#define TOL 5000
#define KEY "0123456789abcdef0123456789abcdef0123456789abcdef"

static const char *url;
static hub_store *store;
static PGconn *db; /* the test's own connection, for assertions */
static hub_config cfg;
static hub_cluster_conf conf[2];

/* --- helpers ------------------------------------------------------------------------------------- */

static void sql_ok(const char *q)
{
	PGresult *r = PQexec(db, q);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", q, PQerrorMessage(db));
	PQclear(r);
}

/* The first column of the first row of q as an integer (-1 when NULL or no row). */
static long long sql_int(const char *q)
{
	PGresult *r = PQexec(db, q);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", q, PQerrorMessage(db));
	long long v = PQntuples(r) > 0 && !PQgetisnull(r, 0, 0) ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : -1;
	PQclear(r);
	return v;
}

/* The first column of the first row of q as text, into a static buffer ("" when NULL or no row). */
static const char *sql_text(const char *q)
{
	static char out[512];
	PGresult *r = PQexec(db, q);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", q, PQerrorMessage(db));
	snprintf(out, sizeof(out), "%s", PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	return out;
}

static fl_proto_frame frame(const char *spoke, uint64_t seq, int64_t sent, fl_frame_kind kind)
{
	fl_proto_frame f;
	memset(&f, 0, sizeof(f));
	f.env.version = FL_PROTO_VERSION;
	strcpy(f.env.cluster, "alpha");
	snprintf(f.env.spoke_id, sizeof(f.env.spoke_id), "%s", spoke);
	f.env.seq = seq;
	f.env.sent_at_ms = sent;
	f.env.kind = kind;
	return f;
}

/* Adds node name with gpu_allocation alloc and two GPUs (ids 0, 1) at utilization alloc. */
static void add_node(fl_proto_frame *f, const char *name, int alloc)
{
	f->nodes = realloc(f->nodes, (f->n_nodes + 1) * sizeof(*f->nodes));
	f->gpus = realloc(f->gpus, (f->n_gpus + 2) * sizeof(*f->gpus));
	assert_non_null(f->nodes);
	assert_non_null(f->gpus);
	fl_proto_node *n = &f->nodes[f->n_nodes++];
	memset(n, 0, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "%s", name);
	strcpy(n->ip, "10.0.0.1");
	strcpy(n->gpu_name, "MI300X");
	strcpy(n->status, "Ready");
	n->gpu_count = 2;
	n->gpu_allocation = alloc;
	for (int id = 0; id < 2; id++) {
		fl_proto_gpu *g = &f->gpus[f->n_gpus++];
		memset(g, 0, sizeof(*g));
		snprintf(g->node, sizeof(g->node), "%s", name);
		g->gpu_id = id;
		g->utilization = alloc;
		g->has_utilization = true;
		g->numa = -1;
	}
}

static void add_removed(fl_proto_frame *f, const char *name)
{
	f->removed_nodes = realloc(f->removed_nodes, (f->n_removed_nodes + 1) * sizeof(*f->removed_nodes));
	assert_non_null(f->removed_nodes);
	snprintf(f->removed_nodes[f->n_removed_nodes++].name, FL_NAME_LEN, "%s", name);
}

/* Writes f through the store (at receive time T + 100000) and frees it; fails the test on an error. */
static hub_write_result write_frame(fl_proto_frame *f, bool full_seen)
{
	hub_write_opts opts = {.replay_tolerance_ms = TOL, .full_seen = full_seen};
	hub_write_result res;
	char err[FL_ERR_LEN] = "";
	int rv = hub_store_write_frame(store, f, T + 100000, &opts, &res, err);
	fl_proto_frame_free(f);
	if (rv != FL_OK)
		fail_msg("write_frame: %s (%d)", err, rv);
	return res;
}

/* Adds pod uid of workload wl (1 GPU, Running) and, unless wl is already in f, the workload itself
 * (Running, utilization util). */
static void add_pod(fl_proto_frame *f, const char *uid, const char *wl, double util)
{
	f->pods = realloc(f->pods, (f->n_pods + 1) * sizeof(*f->pods));
	assert_non_null(f->pods);
	fl_proto_pod *p = &f->pods[f->n_pods++];
	memset(p, 0, sizeof(*p));
	snprintf(p->uid, sizeof(p->uid), "%s", uid);
	snprintf(p->name, sizeof(p->name), "pod-%s", uid);
	strcpy(p->ns, "team");
	strcpy(p->phase, "Running");
	p->running = true;
	p->gpus = 1;
	snprintf(p->workload_uid, sizeof(p->workload_uid), "%s", wl);
	for (uint32_t i = 0; i < f->n_workloads; i++)
		if (strcmp(f->workloads[i].uid, wl) == 0)
			return;
	f->workloads = realloc(f->workloads, (f->n_workloads + 1) * sizeof(*f->workloads));
	assert_non_null(f->workloads);
	fl_proto_workload *w = &f->workloads[f->n_workloads++];
	memset(w, 0, sizeof(*w));
	snprintf(w->uid, sizeof(w->uid), "%s", wl);
	strcpy(w->kind, "Job");
	strcpy(w->ns, "team");
	snprintf(w->name, sizeof(w->name), "job-%s", wl);
	strcpy(w->status, "Running");
	w->gpu_request = 1;
	w->pods = 1;
	w->utilization = util;
	w->has_utilization = true;
	w->created_ms = T;
}

static void add_removed_pod(fl_proto_frame *f, const char *uid)
{
	f->removed_pods = realloc(f->removed_pods, (f->n_removed_pods + 1) * sizeof(*f->removed_pods));
	assert_non_null(f->removed_pods);
	snprintf(f->removed_pods[f->n_removed_pods++].name, FL_NAME_LEN, "%s", uid);
}

static long long alloc_of(const char *node)
{
	char q[256];
	snprintf(q, sizeof(q), "SELECT gpu_allocation FROM node WHERE cluster_name = 'alpha' AND name = '%s'", node);
	return sql_int(q);
}

static const char *nodes_of_alpha(void)
{
	return sql_text(
	    "SELECT coalesce(string_agg(name, ',' ORDER BY name), '') FROM node WHERE cluster_name = 'alpha'");
}

/* --- fixtures ------------------------------------------------------------------------------------ */

static int group_setup(void **state)
{
	(void)state;
	url = getenv("FL_TEST_DATABASE_URL");
	if (url == NULL || url[0] == '\0')
		return 0;
	memset(conf, 0, sizeof(conf));
	strcpy(conf[0].name, "alpha");
	strcpy(conf[1].name, "beta");
	for (int k = 0; k < 2; k++) {
		memcpy(conf[k].key.bytes, KEY, strlen(KEY));
		conf[k].key.len = strlen(KEY);
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.clusters = conf;
	cfg.n_clusters = 2;
	cfg.ingest_workers = 1;
	cfg.replay_tolerance_ms = TOL;
	cfg.ingest_log_retention_ms = 3600000;
	snprintf(cfg.database_url, sizeof(cfg.database_url), "%s", url);
	store = hub_store_new(url);
	json_t *versions = NULL;
	int applied = 0;
	char err[FL_ERR_LEN];
	if (store == NULL || hub_migrate_apply(store, FL_SOURCE_DIR "/sql/hub", &versions, &applied, err) != FL_OK ||
	    hub_store_register_clusters(store, &cfg, err) != FL_OK) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	json_decref(versions);
	db = PQconnectdb(url);
	return PQstatus(db) == CONNECTION_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	hub_store_free(store);
	if (db != NULL)
		PQfinish(db);
	return 0;
}

/* Each test starts from registered clusters with no frames. */
static int setup(void **state)
{
	(void)state;
	if (url == NULL || url[0] == '\0')
		return 0;
	sql_ok("TRUNCATE ingest_log, node, gpu_device, cluster_overview_cache, gpu_pod, gpu_workload,"
	       " workload_utilization_history, node_utilization_history");
	sql_ok("UPDATE cluster SET rows_gen = 0, spoke_id = NULL, last_seq = NULL, src_sent_ms = NULL, src_seq = NULL,"
	       " full_sent_ms = NULL, full_seq = NULL, last_frame_at = NULL, last_sent_at = NULL, k8s_version = NULL");
	hub_metrics_reset();
	return 0;
}

#define NEED_DB()                                                                                                      \
	do {                                                                                                           \
		if (url == NULL || url[0] == '\0')                                                                     \
			skip();                                                                                        \
	} while (0)

/* --- tests --------------------------------------------------------------------------------------- */

static void test_new_full_frame_writes_rows_versions_and_ingest_log(void **state)
{
	(void)state;
	NEED_DB();
	fl_proto_frame f = frame("s1", 1, T, FL_FRAME_FULL);
	add_node(&f, "n1", 1);
	add_node(&f, "n0", 2);
	f.has_overview = true;
	f.overview.total_nodes = 2;
	f.overview.healthy_nodes = 2;
	hub_write_result res = write_frame(&f, false);
	assert_int_equal(res.decision.verdict, HUB_SEQ_NEW);
	assert_false(res.decision.want_full);
	assert_int_equal(res.node_rows, 2);
	assert_int_equal(res.gpu_rows, 4);
	assert_string_equal(nodes_of_alpha(), "n0,n1");
	assert_int_equal(sql_int("SELECT count(*) FROM node WHERE src_sent_ms = 1700000000000 AND src_seq = 1"), 2);
	assert_int_equal(sql_int("SELECT count(*) FROM gpu_device WHERE src_sent_ms = 1700000000000 AND src_seq = 1"),
	                 4);
	assert_int_equal(sql_int("SELECT src_seq FROM cluster_overview_cache WHERE cluster_name = 'alpha'"), 1);
	assert_string_equal(sql_text("SELECT spoke_id || ':' || last_seq || ':' || src_sent_ms FROM cluster"
	                             " WHERE name = 'alpha'"),
	                    "s1:1:1700000000000");
	assert_string_equal(sql_text("SELECT spoke_id || ':' || seq || ':' || kind || ':' || node_rows || ':'"
	                             " || version_ms FROM ingest_log"),
	                    "s1:1:full:2:1700000000000");
	assert_int_equal(sql_int("SELECT (extract(epoch FROM received_at) * 1000)::bigint FROM ingest_log"),
	                 T + 100000);
}

static void test_repeat_is_duplicate_even_after_a_restart(void **state)
{
	(void)state;
	NEED_DB();
	fl_proto_frame f = frame("s1", 1, T, FL_FRAME_FULL);
	add_node(&f, "n1", 1);
	assert_int_equal(write_frame(&f, false).decision.verdict, HUB_SEQ_NEW);
	/* A new connection stands for a restarted hub, or a second hub on the same database. */
	hub_store_free(store);
	store = hub_store_new(url);
	f = frame("s1", 1, T, FL_FRAME_FULL);
	add_node(&f, "n1", 9);
	hub_write_result res = write_frame(&f, false);
	assert_int_equal(res.decision.verdict, HUB_SEQ_DUPLICATE);
	assert_false(res.decision.want_full);
	assert_int_equal(alloc_of("n1"), 1);
	assert_int_equal(sql_int("SELECT count(*) FROM ingest_log"), 1);
	/* An older seq of the same stream is a repeat too. */
	f = frame("s1", 2, T + 1000, FL_FRAME_DELTA);
	write_frame(&f, true);
	f = frame("s1", 1, T + 5000, FL_FRAME_DELTA);
	add_node(&f, "n1", 7);
	assert_int_equal(write_frame(&f, true).decision.verdict, HUB_SEQ_DUPLICATE);
	assert_int_equal(alloc_of("n1"), 1);
}

static void test_ingest_log_alone_makes_a_repeat(void **state)
{
	(void)state;
	NEED_DB();
	/* The stream is not the cluster's newest: only ingest_log knows its seq. */
	sql_ok("INSERT INTO ingest_log VALUES ('alpha', 'old', 7, 'delta', now(), 1700000000000, now(), 0)");
	fl_proto_frame f = frame("old", 7, T, FL_FRAME_DELTA);
	add_node(&f, "n1", 1);
	assert_int_equal(write_frame(&f, true).decision.verdict, HUB_SEQ_DUPLICATE);
	assert_string_equal(nodes_of_alpha(), "");
}

static void test_older_frame_never_overwrites_rows_of_a_newer_one(void **state)
{
	(void)state;
	NEED_DB();
	fl_proto_frame f = frame("s1", 1, T, FL_FRAME_FULL);
	add_node(&f, "n1", 1);
	add_node(&f, "n2", 1);
	write_frame(&f, false);
	/* A second spoke stream (rolling update) commits a newer delta first ... */
	f = frame("s2", 1, T + 2000, FL_FRAME_DELTA);
	add_node(&f, "n1", 5);
	assert_int_equal(write_frame(&f, false).decision.verdict, HUB_SEQ_NEW);
	/* ... then the first stream's older delta (within the replay tolerance) commits. */
	f = frame("s1", 2, T + 1000, FL_FRAME_DELTA);
	add_node(&f, "n1", 3);
	add_node(&f, "n2", 7);
	f.has_overview = true;
	f.overview.total_nodes = 99;
	hub_write_result res = write_frame(&f, true);
	assert_int_equal(res.decision.verdict, HUB_SEQ_NEW);
	assert_int_equal(res.node_rows, 1); /* n2 only */
	assert_int_equal(alloc_of("n1"), 5);
	assert_int_equal(alloc_of("n2"), 7);
	/* The figures are the newest sample's: s2's, measured after s1's. */
	assert_int_equal(sql_int("SELECT gpu_utilizations[1] FROM node_utilization_history WHERE node_name = 'n1'"
	                         " ORDER BY sampled_at DESC LIMIT 1"),
	                 5);
	/* The cluster's newest frame is still s2's; the overview (none before) takes s1's. */
	assert_string_equal(sql_text("SELECT spoke_id || ':' || last_seq FROM cluster WHERE name = 'alpha'"), "s2:1");
	assert_int_equal(sql_int("SELECT total_nodes FROM cluster_overview_cache WHERE cluster_name = 'alpha'"), 99);
	/* Both frames are logged once. */
	assert_int_equal(sql_int("SELECT count(*) FROM ingest_log"), 3);
}

static void test_full_frame_deletes_only_older_unlisted_rows(void **state)
{
	(void)state;
	NEED_DB();
	fl_proto_frame f = frame("s1", 1, T, FL_FRAME_FULL);
	add_node(&f, "a", 1);
	add_node(&f, "b", 1);
	add_node(&f, "c", 1);
	write_frame(&f, false);
	f = frame("s2", 1, T + 3000, FL_FRAME_DELTA);
	add_node(&f, "d", 4);
	write_frame(&f, false);
	/* s1's full snapshot was taken before d appeared: it lists only a. */
	f = frame("s1", 2, T + 1000, FL_FRAME_FULL);
	add_node(&f, "a", 2);
	hub_write_result res = write_frame(&f, true);
	assert_int_equal(res.decision.verdict, HUB_SEQ_NEW);
	assert_int_equal(res.rows_deleted, 2 + 4); /* b and c with their GPUs */
	assert_string_equal(nodes_of_alpha(), "a,d");
	assert_int_equal(sql_int("SELECT count(*) FROM gpu_device WHERE cluster_name = 'alpha'"), 4);
	assert_int_equal(alloc_of("a"), 2);
	/* The other cluster's rows are never touched. */
	assert_int_equal(sql_int("SELECT count(*) FROM node WHERE cluster_name = 'beta'"), 0);
}

static void test_delta_removes_nodes_and_their_gpus_where_older(void **state)
{
	(void)state;
	NEED_DB();
	fl_proto_frame f = frame("s1", 1, T, FL_FRAME_FULL);
	add_node(&f, "a", 1);
	add_node(&f, "b", 1);
	write_frame(&f, false);
	f = frame("s2", 1, T + 3000, FL_FRAME_DELTA);
	add_node(&f, "a", 6); /* a is now newer than anything s1 sends below */
	write_frame(&f, false);
	f = frame("s1", 2, T + 1000, FL_FRAME_DELTA);
	add_removed(&f, "a");
	add_removed(&f, "b");
	add_removed(&f, "never-there");
	hub_write_result res = write_frame(&f, true);
	assert_int_equal(res.decision.verdict, HUB_SEQ_NEW);
	assert_int_equal(res.rows_deleted, 1 + 2);
	assert_string_equal(nodes_of_alpha(), "a");
	assert_int_equal(sql_int("SELECT count(*) FROM gpu_device WHERE node_name = 'b'"), 0);
	assert_int_equal(sql_int("SELECT count(*) FROM gpu_device WHERE node_name = 'a'"), 2);
}

static void test_older_delta_cannot_bring_back_a_node_a_newer_full_removed(void **state)
{
	(void)state;
	NEED_DB();
	fl_proto_frame f = frame("s1", 1, T, FL_FRAME_FULL);
	add_node(&f, "a", 1);
	add_node(&f, "b", 1);
	write_frame(&f, false);
	/* A new spoke stream's full snapshot: b is gone. */
	f = frame("s2", 1, T + 2000, FL_FRAME_FULL);
	add_node(&f, "a", 2);
	write_frame(&f, false);
	assert_string_equal(nodes_of_alpha(), "a");
	/* The old stream's last delta, sent before that snapshot, still mentions b: logged and acked, no rows. */
	f = frame("s1", 2, T + 1000, FL_FRAME_DELTA);
	add_node(&f, "a", 9);
	add_node(&f, "b", 9);
	hub_write_result res = write_frame(&f, true);
	assert_int_equal(res.decision.verdict, HUB_SEQ_NEW);
	assert_true(res.decision.superseded);
	assert_int_equal(res.node_rows, 0);
	assert_string_equal(nodes_of_alpha(), "a");
	assert_int_equal(alloc_of("a"), 2);
	assert_int_equal(sql_int("SELECT count(*) FROM ingest_log WHERE spoke_id = 's1' AND seq = 2"), 1);
	assert_string_equal(sql_text("SELECT full_sent_ms || ':' || full_seq FROM cluster WHERE name = 'alpha'"),
	                    "1700000002000:1");
}

/* Writes one full frame of cluster in a thread, so the test can watch it wait for a lock. */
struct bg_write {
	const char *cluster;
	volatile int done;
	int rv;
};

static void *bg_write_main(void *arg)
{
	struct bg_write *w = arg;
	hub_store *s = hub_store_new(url);
	fl_proto_frame f = frame("s1", 1, T, FL_FRAME_FULL);
	strcpy(f.env.cluster, w->cluster);
	hub_write_opts opts = {.replay_tolerance_ms = TOL};
	hub_write_result res;
	char err[FL_ERR_LEN];
	w->rv = hub_store_write_frame(s, &f, T, &opts, &res, err);
	fl_proto_frame_free(&f);
	hub_store_free(s);
	w->done = 1;
	return NULL;
}

static void test_writers_of_one_cluster_wait_for_its_lock_only(void **state)
{
	(void)state;
	NEED_DB();
	/* Hold alpha's write lock from another session, as a second hub in mid-transaction would. */
	sql_ok("SELECT pg_advisory_lock(1179411319, hashtext('alpha'))");
	struct bg_write wa = {.cluster = "alpha"}, wb = {.cluster = "beta"};
	pthread_t ta, tb;
	assert_int_equal(pthread_create(&ta, NULL, bg_write_main, &wa), 0);
	assert_int_equal(pthread_create(&tb, NULL, bg_write_main, &wb), 0);
	pthread_join(tb, NULL); /* beta does not wait for alpha */
	assert_int_equal(wb.rv, FL_OK);
	struct timespec ts = {.tv_sec = 0, .tv_nsec = 300 * 1000000};
	nanosleep(&ts, NULL);
	assert_int_equal(wa.done, 0);
	sql_ok("SELECT pg_advisory_unlock(1179411319, hashtext('alpha'))");
	pthread_join(ta, NULL);
	assert_int_equal(wa.rv, FL_OK);
	assert_int_equal(sql_int("SELECT count(*) FROM ingest_log"), 2);
}

static void test_node_both_sent_and_removed_is_malformed(void **state)
{
	(void)state;
	NEED_DB();
	fl_proto_frame f = frame("s1", 1, T, FL_FRAME_DELTA);
	add_node(&f, "a", 1);
	add_removed(&f, "a");
	hub_write_opts opts = {.replay_tolerance_ms = TOL};
	hub_write_result res;
	char err[FL_ERR_LEN] = "";
	assert_int_equal(hub_store_write_frame(store, &f, T, &opts, &res, err), FL_EINVAL);
	assert_non_null(strstr(err, "node 'a' is both sent and removed"));
	fl_proto_frame_free(&f);
	f = frame("s1", 1, -1, FL_FRAME_FULL);
	assert_int_equal(hub_store_write_frame(store, &f, T, &opts, &res, err), FL_EINVAL);
	assert_non_null(strstr(err, "sent_at"));
	assert_int_equal(sql_int("SELECT count(*) FROM ingest_log"), 0);
}

static void test_replay_from_another_stream_is_refused_and_writes_nothing(void **state)
{
	(void)state;
	NEED_DB();
	fl_proto_frame f = frame("s1", 1, T, FL_FRAME_FULL);
	add_node(&f, "a", 1);
	write_frame(&f, false);
	f = frame("s0", 1, T - TOL - 1, FL_FRAME_FULL);
	add_node(&f, "z", 1);
	assert_int_equal(write_frame(&f, false).decision.verdict, HUB_SEQ_REPLAY);
	assert_string_equal(nodes_of_alpha(), "a");
	assert_int_equal(sql_int("SELECT count(*) FROM ingest_log"), 1);
	assert_int_equal(sql_int("SELECT (extract(epoch FROM last_frame_at) * 1000)::bigint FROM cluster"
	                         " WHERE name = 'alpha'"),
	                 T + 100000);
}

static void test_heartbeat_touches_only_the_cluster_row_and_the_log(void **state)
{
	(void)state;
	NEED_DB();
	fl_proto_frame f = frame("s1", 1, T, FL_FRAME_FULL);
	add_node(&f, "a", 1);
	write_frame(&f, false);
	f = frame("s1", 2, T + 30000, FL_FRAME_HEARTBEAT);
	hub_write_opts opts = {.replay_tolerance_ms = TOL, .full_seen = true};
	hub_write_result res;
	char err[FL_ERR_LEN] = "";
	assert_int_equal(hub_store_write_frame(store, &f, T + 200000, &opts, &res, err), FL_OK);
	assert_int_equal(res.decision.verdict, HUB_SEQ_NEW);
	assert_false(res.decision.want_full);
	assert_int_equal(res.node_rows + res.gpu_rows + res.rows_deleted, 0);
	assert_int_equal(sql_int("SELECT src_seq FROM node WHERE name = 'a'"), 1);
	assert_string_equal(sql_text("SELECT kind || ':' || node_rows FROM ingest_log WHERE seq = 2"), "heartbeat:0");
	assert_int_equal(sql_int("SELECT (extract(epoch FROM last_frame_at) * 1000)::bigint FROM cluster"
	                         " WHERE name = 'alpha'"),
	                 T + 200000);
	assert_int_equal(sql_int("SELECT last_seq FROM cluster WHERE name = 'alpha'"), 2);
}

static void test_gap_and_unseen_full_ask_for_a_full_snapshot_but_still_write(void **state)
{
	(void)state;
	NEED_DB();
	fl_proto_frame f = frame("s1", 1, T, FL_FRAME_FULL);
	add_node(&f, "a", 1);
	write_frame(&f, false);
	f = frame("s1", 3, T + 1000, FL_FRAME_DELTA); /* seq 2 never arrived */
	add_node(&f, "a", 3);
	hub_write_result res = write_frame(&f, true);
	assert_int_equal(res.decision.verdict, HUB_SEQ_NEW);
	assert_true(res.decision.gap);
	assert_true(res.decision.want_full);
	assert_int_equal(res.decision.last_seq, 1);
	assert_int_equal(alloc_of("a"), 3);
	/* In order, but this hub process has no full frame from the stream (it restarted). */
	f = frame("s1", 4, T + 2000, FL_FRAME_DELTA);
	res = write_frame(&f, false);
	assert_false(res.decision.gap);
	assert_true(res.decision.want_full);
	f = frame("s1", 5, T + 3000, FL_FRAME_DELTA);
	res = write_frame(&f, true);
	assert_false(res.decision.want_full);
}

static void test_prune_deletes_only_entries_older_than_the_cutoff(void **state)
{
	(void)state;
	NEED_DB();
	sql_ok("INSERT INTO ingest_log SELECT 'alpha', 'old', g, 'delta', now(), 0, now() - interval '8 days', 0"
	       " FROM generate_series(1, 25) g");
	sql_ok("INSERT INTO ingest_log SELECT 'alpha', 'new', g, 'delta', now(), 0, now() - interval '1 hour', 0"
	       " FROM generate_series(1, 5) g");
	int64_t cutoff = fl_now_ms() - 7LL * 24 * 3600 * 1000, deleted = 0;
	char err[FL_ERR_LEN] = "";
	assert_int_equal(hub_store_prune_ingest_log(store, cutoff, 10, &deleted, err), FL_OK);
	assert_int_equal(deleted, 10); /* bounded batch */
	assert_int_equal(hub_store_prune_ingest_log(store, cutoff, 100, &deleted, err), FL_OK);
	assert_int_equal(deleted, 15);
	assert_int_equal(hub_store_prune_ingest_log(store, cutoff, 100, &deleted, err), FL_OK);
	assert_int_equal(deleted, 0);
	assert_string_equal(sql_text("SELECT string_agg(DISTINCT spoke_id, ',') FROM ingest_log"), "new");
}

/* Two writers (two hubs, or two workers) push interleaved frames of one cluster, each touching every
 * node in its own order of arrival: the cluster lock and sorted upserts must let all of them commit. */
struct writer {
	const char *spoke;
	int frames;
	int committed;
	char err[FL_ERR_LEN];
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	hub_store *s = hub_store_new(url);
	for (int k = 1; k <= w->frames; k++) {
		fl_proto_frame f = frame(w->spoke, (uint64_t)k, T + k * 10, k == 1 ? FL_FRAME_FULL : FL_FRAME_DELTA);
		for (int n = 0; n < 20; n++) {
			char name[16];
			snprintf(name, sizeof(name), "n%02d", (n * 7 + k) % 20); /* a different order each frame */
			add_node(&f, name, k);
		}
		hub_write_opts opts = {.replay_tolerance_ms = TOL, .full_seen = true};
		hub_write_result res;
		if (hub_store_write_frame(s, &f, T + 100000, &opts, &res, w->err) == FL_OK &&
		    res.decision.verdict == HUB_SEQ_NEW)
			w->committed++;
		fl_proto_frame_free(&f);
	}
	hub_store_free(s);
	return NULL;
}

static void test_two_writers_of_one_cluster_all_commit(void **state)
{
	(void)state;
	NEED_DB();
	struct writer a = {.spoke = "wa", .frames = 40}, b = {.spoke = "wb", .frames = 40};
	pthread_t ta, tb;
	assert_int_equal(pthread_create(&ta, NULL, writer_main, &a), 0);
	assert_int_equal(pthread_create(&tb, NULL, writer_main, &b), 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	if (a.committed != 40 || b.committed != 40)
		fail_msg("committed %d and %d of 40; last errors '%s' '%s'", a.committed, b.committed, a.err, b.err);
	assert_int_equal(sql_int("SELECT count(*) FROM ingest_log"), 80);
	/* Every node ends at the newest version any writer sent: (T + 400, 40). */
	assert_int_equal(sql_int("SELECT count(*) FROM node WHERE src_sent_ms = 1700000000400 AND src_seq = 40"), 20);
	assert_int_equal(sql_int("SELECT count(*) FROM node"), 20);
}

/* hub_ingest_handle end to end on one process: signature checked with the cluster's key, ack after
 * COMMIT, want_full after a "restart" (a new registry). */
static void handle_signed(hub_ingest *ing, fl_proto_frame *f, const char *key, fl_proto_ack *ack)
{
	char *buf = NULL;
	size_t len = 0;
	char err[FL_ERR_LEN] = "";
	if (fl_proto_encode(f, (const uint8_t *)key, strlen(key), &buf, &len, err) != FL_OK)
		fail_msg("encode: %s", err);
	fl_proto_frame_free(f);
	hub_ingest_handle(ing, store, buf, len, fl_now_ms(), ack);
	free(buf);
}

static void test_handle_signed_frames_acks_and_asks_for_full_after_restart(void **state)
{
	(void)state;
	NEED_DB();
	hub_registry *reg = NULL;
	assert_int_equal(hub_registry_new(&cfg, &reg), FL_OK);
	hub_ingest *ing = hub_ingest_new(reg, &cfg);
	assert_non_null(ing);
	fl_proto_ack ack;
	int64_t now = fl_now_ms();

	fl_proto_frame f = frame("s1", 1, now, FL_FRAME_FULL);
	add_node(&f, "a", 1);
	handle_signed(ing, &f, KEY, &ack);
	assert_int_equal(ack.status, FL_ACK_OK);
	assert_int_equal(ack.seq, 1);
	assert_false(ack.want_full);
	f = frame("s1", 2, now + 1, FL_FRAME_DELTA);
	handle_signed(ing, &f, KEY, &ack);
	assert_int_equal(ack.status, FL_ACK_OK);
	assert_false(ack.want_full);
	f = frame("s1", 2, now + 1, FL_FRAME_DELTA);
	handle_signed(ing, &f, KEY, &ack);
	assert_int_equal(ack.status, FL_ACK_DUPLICATE);
	assert_int_equal(hub_metrics_get(HUB_M_FRAMES_DUPLICATE), 1);

	/* Wrong key: refused before the database. */
	f = frame("s1", 3, now + 2, FL_FRAME_DELTA);
	add_node(&f, "a", 9);
	handle_signed(ing, &f, "another key of at least thirty-two bytes......", &ack);
	assert_int_equal(ack.status, FL_ACK_REJECTED);
	assert_non_null(strstr(ack.reason, "bad signature"));
	assert_int_equal(hub_metrics_get(HUB_M_REJECTED_BAD_SIGNATURE), 1);
	assert_int_equal(alloc_of("a"), 1);

	/* Replay of an old frame under another stream. */
	f = frame("s0", 1, now - 60000, FL_FRAME_FULL);
	handle_signed(ing, &f, KEY, &ack);
	assert_int_equal(ack.status, FL_ACK_REJECTED);
	assert_non_null(strstr(ack.reason, "replay"));
	assert_int_equal(hub_metrics_get(HUB_M_REJECTED_REPLAY), 1);

	/* The hub restarts: same database, fresh registry. The next delta is stored and asks for a full. */
	hub_ingest_free(ing);
	hub_registry_free(reg);
	assert_int_equal(hub_registry_new(&cfg, &reg), FL_OK);
	ing = hub_ingest_new(reg, &cfg);
	f = frame("s1", 3, now + 3, FL_FRAME_DELTA);
	add_node(&f, "a", 3);
	handle_signed(ing, &f, KEY, &ack);
	assert_int_equal(ack.status, FL_ACK_OK);
	assert_true(ack.want_full);
	assert_int_equal(alloc_of("a"), 3);
	assert_int_equal(hub_metrics_get(HUB_M_FULL_REQUESTED), 1);
	f = frame("s1", 4, now + 4, FL_FRAME_FULL);
	add_node(&f, "a", 4);
	handle_signed(ing, &f, KEY, &ack);
	assert_false(ack.want_full);
	f = frame("s1", 5, now + 5, FL_FRAME_HEARTBEAT);
	handle_signed(ing, &f, KEY, &ack);
	assert_int_equal(ack.status, FL_ACK_OK);
	assert_false(ack.want_full);
	assert_int_equal(hub_metrics_get(HUB_M_FRAMES_ACCEPTED), 5);
	hub_cluster_state st;
	hub_registry_get(reg, 0, &st);
	assert_int_equal(st.last_seq, 5);
	hub_ingest_free(ing);
	hub_registry_free(reg);
}

/* Sends a signed frame of cluster over a new req0 socket to url; the caller receives the ack. */
static nng_socket send_signed(const char *url, const char *cluster, uint64_t seq)
{
	nng_socket sock;
	assert_int_equal(nng_req0_open(&sock), 0);
	assert_int_equal(nng_dial(sock, url, NULL, 0), 0);
	fl_proto_frame f = frame("s1", seq, fl_now_ms(), FL_FRAME_FULL);
	strcpy(f.env.cluster, cluster);
	add_node(&f, "a", 1);
	char *buf = NULL, err[FL_ERR_LEN];
	size_t len = 0;
	if (fl_proto_encode(&f, (const uint8_t *)KEY, strlen(KEY), &buf, &len, err) != FL_OK)
		fail_msg("encode: %s", err);
	fl_proto_frame_free(&f);
	assert_int_equal(nng_send(sock, buf, len, 0), 0);
	free(buf);
	return sock;
}

/* Receives one ack within timeout_ms: its status, or -1 on time-out (which also cancels the request). */
static int recv_ack(nng_socket sock, int timeout_ms)
{
	nng_socket_set_ms(sock, NNG_OPT_RECVTIMEO, timeout_ms);
	nng_msg *msg = NULL;
	if (nng_recvmsg(sock, &msg, 0) != 0)
		return -1;
	fl_proto_ack ack;
	char err[FL_ERR_LEN];
	int rv = fl_proto_ack_decode(nng_msg_body(msg), nng_msg_len(msg), &ack, err);
	nng_msg_free(msg);
	return rv == FL_OK ? (int)ack.status : -2;
}

static void test_a_blocked_cluster_does_not_hold_up_the_others(void **state)
{
	(void)state;
	NEED_DB();
	hub_config c = cfg;
	c.ingest_workers = 2;
	strcpy(c.ingest_url, "tcp://127.0.0.1:0");
	hub_registry *r = NULL;
	assert_int_equal(hub_registry_new(&c, &r), FL_OK);
	hub_ingest *ing = hub_ingest_new(r, &c);
	char err[FL_ERR_LEN] = "";
	if (hub_ingest_start(ing, err) != FL_OK)
		fail_msg("%s", err);
	char url[64];
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", hub_ingest_port(ing));

	sql_ok("SELECT pg_advisory_lock(1179411319, hashtext('alpha'))"); /* alpha's writer will wait */
	nng_socket sa = send_signed(url, "alpha", 1);
	nng_socket sb = send_signed(url, "beta", 1);
	assert_int_equal(recv_ack(sb, 5000), FL_ACK_OK); /* beta is committed by the other worker */
	struct timespec ts = {.tv_sec = 0, .tv_nsec = 300 * 1000000};
	nanosleep(&ts, NULL); /* (a receive time-out would cancel the req0 request, so look at the database) */
	assert_int_equal(sql_int("SELECT count(*) FROM ingest_log WHERE cluster_name = 'alpha'"), 0);
	sql_ok("SELECT pg_advisory_unlock(1179411319, hashtext('alpha'))");
	assert_int_equal(recv_ack(sa, 5000), FL_ACK_OK);
	nng_close(sa);
	nng_close(sb);
	hub_ingest_free(ing);
	hub_registry_free(r);
	assert_int_equal(sql_int("SELECT count(*) FROM ingest_log"), 2);
}

/* A workload's figure: its newest sample (010_workload_samples.sql), as SQL over the gpu_workload row w. */
#define W_UTIL(w)                                                                                                      \
	"(SELECT h.gpu_utilization FROM workload_utilization_history h WHERE h.cluster_name =" w ".cluster_name"       \
	" AND h.workload_uid =" w ".uid ORDER BY h.sampled_at DESC LIMIT 1)"

static void test_pods_and_workloads_follow_full_frames_and_deltas(void **state)
{
	(void)state;
	NEED_DB();
	fl_proto_frame f = frame("s1", 1, T, FL_FRAME_FULL);
	add_node(&f, "a", 1);
	add_pod(&f, "p1", "w1", 40);
	add_pod(&f, "p2", "w1", 40);
	add_pod(&f, "p3", "w2", 60);
	hub_write_result res = write_frame(&f, false);
	assert_int_equal(res.workload_rows, 3 + 2);
	assert_string_equal(sql_text("SELECT string_agg(uid || '=' || workload_uid, ',' ORDER BY uid) FROM gpu_pod"),
	                    "p1=w1,p2=w1,p3=w2");
	assert_string_equal(
	    sql_text("SELECT string_agg(uid || '=' || status || '/' || " W_UTIL(
	        " w") " || '/' ||"
	              " (extract(epoch FROM created_at) * 1000)::bigint, ',' ORDER BY uid) FROM gpu_workload w"),
	    "w1=Running/40/1700000000000,w2=Running/60/1700000000000");
	assert_int_equal(sql_int("SELECT count(*) FROM workload_utilization_history"), 2);

	/* A delta removes p2 and brings w2 to 70 %; an older delta from another stream changes nothing. */
	f = frame("s1", 2, T + 1000, FL_FRAME_DELTA);
	add_removed_pod(&f, "p2");
	add_removed_pod(&f, "never-there");
	add_pod(&f, "p3", "w2", 70);
	res = write_frame(&f, true);
	assert_int_equal(res.rows_deleted, 1);
	assert_string_equal(sql_text("SELECT string_agg(uid, ',' ORDER BY uid) FROM gpu_pod"), "p1,p3");
	assert_int_equal(sql_int("SELECT " W_UTIL(" w") " FROM gpu_workload w WHERE uid = 'w2'"), 70);
	f = frame("s0", 9, T + 500, FL_FRAME_DELTA);
	add_pod(&f, "p3", "w2", 10);
	write_frame(&f, true);
	assert_int_equal(sql_int("SELECT " W_UTIL(" w") " FROM gpu_workload w WHERE uid = 'w2'"), 70);

	/* A full frame without w1: its pods go, it is Deleted at the frame's time; w2 stays Running. */
	f = frame("s1", 3, T + 2000, FL_FRAME_FULL);
	add_node(&f, "a", 1);
	add_pod(&f, "p3", "w2", 80);
	res = write_frame(&f, true);
	assert_string_equal(sql_text("SELECT string_agg(uid, ',' ORDER BY uid) FROM gpu_pod"), "p3");
	assert_string_equal(
	    sql_text("SELECT string_agg(uid || '=' || status || '/' || pods || '/' ||"
	             " coalesce((extract(epoch FROM ended_at) * 1000)::bigint::text, '-'), ',' ORDER BY uid)"
	             " FROM gpu_workload"),
	    "w1=Deleted/0/1700000002000,w2=Running/1/-");
	/* A later full frame leaves the Deleted one as it is. */
	f = frame("s1", 4, T + 3000, FL_FRAME_FULL);
	add_node(&f, "a", 1);
	add_pod(&f, "p3", "w2", 80);
	write_frame(&f, true);
	assert_string_equal(
	    sql_text("SELECT (extract(epoch FROM ended_at) * 1000)::bigint FROM gpu_workload WHERE uid = 'w1'"),
	    "1700000002000");
	/* Every committed frame's sample is history, the older stream's too (a measurement at its time). */
	assert_int_equal(sql_int("SELECT count(*) FROM workload_utilization_history WHERE workload_uid = 'w2'"), 5);
}

static void test_unstorable_pods_and_workloads_are_malformed(void **state)
{
	(void)state;
	NEED_DB();
	hub_write_opts opts = {.replay_tolerance_ms = TOL};
	hub_write_result res;
	char err[FL_ERR_LEN] = "";
	fl_proto_frame f = frame("s1", 1, T, FL_FRAME_FULL);
	add_pod(&f, "p1", "w1", 10);
	add_pod(&f, "p1", "w1", 10);
	assert_int_equal(hub_store_write_frame(store, &f, T, &opts, &res, err), FL_EINVAL);
	assert_non_null(strstr(err, "pod uid 'p1' appears twice"));
	fl_proto_frame_free(&f);

	f = frame("s1", 1, T, FL_FRAME_DELTA);
	add_pod(&f, "p1", "w1", 10);
	add_removed_pod(&f, "p1");
	assert_int_equal(hub_store_write_frame(store, &f, T, &opts, &res, err), FL_EINVAL);
	assert_non_null(strstr(err, "pod uid 'p1' is both sent and removed"));
	fl_proto_frame_free(&f);

	f = frame("s1", 1, T, FL_FRAME_FULL);
	add_pod(&f, "p1", "w1", 10);
	f.workloads[0].ended_ms = 300000000000000LL; /* year 11476 */
	assert_int_equal(hub_store_write_frame(store, &f, T, &opts, &res, err), FL_EINVAL);
	assert_non_null(strstr(err, "created or ended is out of range"));
	fl_proto_frame_free(&f);

	f = frame("s1", 1, T, FL_FRAME_FULL);
	add_pod(&f, "p1", "w1", 10);
	strcpy(f.pods[0].name, "bad-\xff");
	assert_int_equal(hub_store_write_frame(store, &f, T, &opts, &res, err), FL_EINVAL);
	assert_non_null(strstr(err, "not UTF-8"));
	fl_proto_frame_free(&f);
	assert_int_equal(sql_int("SELECT count(*) FROM ingest_log"), 0);
	assert_int_equal(sql_int("SELECT count(*) FROM gpu_pod"), 0);
}

/* --- facts apart from samples (issue 13) --------------------------------------------------------- */

/* Writes f with opts (view and all) and frees it; fails the test on an error. */
static hub_write_result write_opts(fl_proto_frame *f, const hub_write_opts *opts)
{
	hub_write_result res;
	char err[FL_ERR_LEN] = "";
	int rv = hub_store_write_frame(store, f, T + 100000, opts, &res, err);
	if (rv != FL_OK)
		fail_msg("write_opts: %s (%d)", err, rv);
	return res;
}

static void test_samples_alone_write_no_fact_row_and_one_sample_per_node(void **state)
{
	(void)state;
	NEED_DB();
	fl_proto_frame f = frame("s1", 1, T, FL_FRAME_FULL);
	add_node(&f, "a", 1);
	add_node(&f, "b", 1);
	hub_write_result res = write_frame(&f, false);
	assert_int_equal(res.node_rows, 2);
	assert_int_equal(res.gpu_rows, 4);
	assert_int_equal(res.sample_rows, 2);
	char before[128];
	snprintf(before, sizeof(before), "%s",
	         sql_text("SELECT string_agg(xmin::text, ',' ORDER BY node_name, gpu_id) FROM gpu_device"));
	long long node_xmin = sql_int("SELECT sum(xmin::text::bigint) FROM node");

	/* Only the samples move (node figure, GPU figures, temperature, power), in a delta and a full frame. */
	f = frame("s1", 2, T + 30000, FL_FRAME_DELTA);
	add_node(&f, "a", 1);
	f.nodes[0].has_utilization = true;
	f.nodes[0].gpu_utilization = 77.5;
	f.gpus[0].utilization = 70;
	f.gpus[1].has_utilization = false;
	f.gpus[0].temperature = 55.25;
	f.gpus[1].power = 300;
	res = write_frame(&f, true);
	assert_int_equal(res.decision.verdict, HUB_SEQ_NEW);
	assert_int_equal(res.node_rows, 0);
	assert_int_equal(res.gpu_rows, 0);
	assert_int_equal(res.sample_rows, 1);
	f = frame("s1", 3, T + 60000, FL_FRAME_FULL);
	add_node(&f, "a", 1);
	add_node(&f, "b", 1);
	res = write_frame(&f, true);
	assert_int_equal(res.node_rows + res.gpu_rows + res.rows_deleted, 0);
	assert_int_equal(res.sample_rows, 2);
	assert_int_equal(sql_int("SELECT sum(xmin::text::bigint) FROM node"), node_xmin);
	assert_string_equal(sql_text("SELECT string_agg(xmin::text, ',' ORDER BY node_name, gpu_id) FROM gpu_device"),
	                    before);
	assert_int_equal(sql_int("SELECT src_sent_ms - 1700000000000 FROM node WHERE name = 'a'"), 0);

	/* One row per carried node per frame, with its exact figures. */
	assert_int_equal(sql_int("SELECT count(*) FROM node_utilization_history"), 5);
	assert_string_equal(
	    sql_text("SELECT concat_ws('|', gpu_utilization, gpu_count, gpu_allocation, gpu_ids, gpu_utilizations,"
	             " gpu_temperatures, gpu_powers) FROM node_utilization_history WHERE node_name = 'a'"
	             " AND sampled_at = to_timestamp(1700000030)"),
	    "77.5|2|1|{0,1}|{70,NULL}|{55.25,0}|{0,300}");
	assert_string_equal(sql_text("SELECT concat_ws('|', coalesce(gpu_utilization::text, 'null'), gpu_ids)"
	                             " FROM node_utilization_history WHERE node_name = 'b' ORDER BY sampled_at DESC"
	                             " LIMIT 1"),
	                    "null|{0,1}");

	/* A fact changes: exactly that row is written, and its version moves. */
	f = frame("s1", 4, T + 90000, FL_FRAME_DELTA);
	add_node(&f, "b", 2);
	strcpy(f.gpus[1].serial, "SN-1");
	res = write_frame(&f, true);
	assert_int_equal(res.node_rows, 1);
	assert_int_equal(res.gpu_rows, 1);
	assert_int_equal(sql_int("SELECT count(*) FROM node WHERE src_sent_ms = 1700000090000"), 1);
	assert_int_equal(alloc_of("b"), 2);
	assert_string_equal(sql_text("SELECT serial FROM gpu_device WHERE node_name = 'b' AND gpu_id = 1"), "SN-1");
}

static void test_full_frame_keeps_the_gpus_of_an_unlisted_newer_node(void **state)
{
	(void)state;
	NEED_DB();
	fl_proto_frame f = frame("s1", 1, T, FL_FRAME_FULL);
	add_node(&f, "a", 1);
	add_node(&f, "b", 1);
	write_frame(&f, false);
	/* Another stream's newer delta changes b's node row only (its GPUs' facts hold: their rows stay at T). */
	f = frame("s2", 1, T + 3000, FL_FRAME_DELTA);
	add_node(&f, "b", 5);
	write_frame(&f, false);
	/* s1's older full frame no longer lists b: b is newer and stays, and so do its GPUs. */
	f = frame("s1", 2, T + 1000, FL_FRAME_FULL);
	add_node(&f, "a", 1);
	hub_write_result res = write_frame(&f, true);
	assert_int_equal(res.rows_deleted, 0);
	assert_string_equal(nodes_of_alpha(), "a,b");
	assert_int_equal(sql_int("SELECT count(*) FROM gpu_device WHERE node_name = 'b'"), 2);
	/* A newer full frame without b deletes it with its GPUs, and a's unlisted GPU 1. */
	f = frame("s1", 3, T + 5000, FL_FRAME_FULL);
	add_node(&f, "a", 1);
	f.n_gpus = 1;
	res = write_frame(&f, true);
	assert_int_equal(res.rows_deleted, 1 + 2 + 1);
	assert_string_equal(nodes_of_alpha(), "a");
	assert_int_equal(sql_int("SELECT count(*) FROM gpu_device"), 1);
	assert_int_equal(res.rows_gen, 4);
}

static void test_view_at_the_database_generation_is_the_baseline(void **state)
{
	(void)state;
	NEED_DB();
	hub_view *view = NULL;
	char err[FL_ERR_LEN] = "";
	assert_int_equal(hub_view_new(&cfg, &view), FL_OK);
	fl_proto_frame f = frame("s1", 1, T, FL_FRAME_FULL);
	add_node(&f, "a", 1);
	add_node(&f, "b", 1);
	hub_write_opts opts = {.replay_tolerance_ms = TOL};
	hub_write_result res = write_opts(&f, &opts);
	fl_proto_frame_free(&f);
	assert_int_equal(res.rows_gen, 1);
	assert_int_equal(sql_int("SELECT rows_gen FROM cluster WHERE name = 'alpha'"), 1);
	assert_int_equal(hub_store_load_view(store, view, err), FL_OK);
	hub_view_snap *snap = hub_view_get(view, 0);
	assert_int_equal(snap->rows_gen, 1);

	/* At the view's generation only what differs from it is sent: b's allocation. */
	f = frame("s1", 2, T + 1000, FL_FRAME_DELTA);
	add_node(&f, "a", 1);
	add_node(&f, "b", 2);
	opts.view = snap;
	opts.full_seen = true;
	res = write_opts(&f, &opts);
	assert_int_equal(res.nodes_sent, 1);
	assert_int_equal(res.node_rows, 1);
	assert_int_equal(res.sample_rows, 2);
	assert_int_equal(res.rows_gen, 2);
	assert_int_equal(hub_view_apply(view, &f, T + 100000, res.rows_gen), FL_OK);
	fl_proto_frame_free(&f);
	hub_view_release(snap);
	snap = hub_view_get(view, 0);
	assert_int_equal(snap->rows_gen, 2);
	assert_true(hub_view_snap_find(snap, "b")->gpu_allocation == 2);

	/* Another writer (another hub) moves the database on: the stale view is no baseline, all is sent. */
	f = frame("s1", 3, T + 2000, FL_FRAME_DELTA);
	add_node(&f, "a", 3);
	opts.view = NULL;
	res = write_opts(&f, &opts);
	fl_proto_frame_free(&f);
	assert_int_equal(res.rows_gen, 3);
	f = frame("s1", 4, T + 3000, FL_FRAME_DELTA);
	add_node(&f, "a", 1);
	add_node(&f, "b", 2);
	opts.view = snap;
	res = write_opts(&f, &opts);
	assert_int_equal(res.nodes_sent, 2);
	assert_int_equal(res.node_rows, 1); /* a goes back to 1; b holds (the SQL guard) */
	assert_int_equal(alloc_of("a"), 1);
	/* Applied over a view that missed generation 3, the view's generation is unknown. */
	assert_int_equal(hub_view_apply(view, &f, T + 100000, res.rows_gen), FL_OK);
	fl_proto_frame_free(&f);
	hub_view_release(snap);
	snap = hub_view_get(view, 0);
	assert_int_equal(snap->rows_gen, -1);
	hub_view_release(snap);

	/* A heartbeat writes no rows: the generation stays; reloading gives the database's. */
	f = frame("s1", 5, T + 4000, FL_FRAME_HEARTBEAT);
	opts.view = NULL;
	res = write_opts(&f, &opts);
	fl_proto_frame_free(&f);
	assert_int_equal(res.rows_gen, -1);
	assert_int_equal(sql_int("SELECT rows_gen FROM cluster WHERE name = 'alpha'"), 4);
	assert_int_equal(hub_store_load_view(store, view, err), FL_OK);
	snap = hub_view_get(view, 0);
	assert_int_equal(snap->rows_gen, 4);
	hub_view_release(snap);
	hub_view_free(view);
}

static void test_load_reads_each_nodes_newest_sample(void **state)
{
	(void)state;
	NEED_DB();
	fl_proto_frame f = frame("s1", 1, T, FL_FRAME_FULL);
	add_node(&f, "a", 10);
	add_node(&f, "b", 20);
	write_frame(&f, false);
	f = frame("s1", 2, T + 2000, FL_FRAME_DELTA);
	add_node(&f, "a", 10);
	f.nodes[0].has_utilization = true;
	f.nodes[0].gpu_utilization = 12.5;
	f.gpus[1].temperature = 61;
	f.gpus[1].power = 250.5;
	write_frame(&f, true);
	/* An older frame's samples (another stream, within the tolerance) do not win: the newest sample does. */
	f = frame("s0", 1, T + 1000, FL_FRAME_DELTA);
	add_node(&f, "a", 10);
	f.nodes[0].has_utilization = true;
	f.nodes[0].gpu_utilization = 99;
	f.gpus[1].temperature = 99;
	assert_int_equal(write_frame(&f, false).sample_rows, 1);
	fl_proto_frame r;
	hub_cluster_read cr;
	char err[FL_ERR_LEN] = "";
	assert_int_equal(hub_store_read_cluster(store, "alpha", &r, &cr, err), FL_OK);
	assert_int_equal(cr.rows_gen, 3);
	assert_int_equal(r.n_nodes, 2);
	assert_string_equal(r.nodes[0].name, "a");
	assert_true(r.nodes[0].has_utilization && r.nodes[0].gpu_utilization == 12.5);
	assert_false(r.nodes[1].has_utilization);
	assert_int_equal(r.n_gpus, 4);
	int seen = 0;
	for (uint32_t k = 0; k < r.n_gpus; k++) {
		const fl_proto_gpu *g = &r.gpus[k];
		if (strcmp(g->node, "a") == 0 && g->gpu_id == 1) {
			assert_true(g->has_utilization && g->utilization == 10 && g->temperature == 61 &&
			            g->power == 250.5);
			seen++;
		}
		if (strcmp(g->node, "b") == 0 && g->gpu_id == 0) {
			assert_true(g->has_utilization && g->utilization == 20);
			seen++;
		}
	}
	assert_int_equal(seen, 2);
	fl_proto_frame_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_new_full_frame_writes_rows_versions_and_ingest_log, setup),
	    cmocka_unit_test_setup(test_repeat_is_duplicate_even_after_a_restart, setup),
	    cmocka_unit_test_setup(test_ingest_log_alone_makes_a_repeat, setup),
	    cmocka_unit_test_setup(test_older_frame_never_overwrites_rows_of_a_newer_one, setup),
	    cmocka_unit_test_setup(test_full_frame_deletes_only_older_unlisted_rows, setup),
	    cmocka_unit_test_setup(test_delta_removes_nodes_and_their_gpus_where_older, setup),
	    cmocka_unit_test_setup(test_older_delta_cannot_bring_back_a_node_a_newer_full_removed, setup),
	    cmocka_unit_test_setup(test_writers_of_one_cluster_wait_for_its_lock_only, setup),
	    cmocka_unit_test_setup(test_node_both_sent_and_removed_is_malformed, setup),
	    cmocka_unit_test_setup(test_pods_and_workloads_follow_full_frames_and_deltas, setup),
	    cmocka_unit_test_setup(test_unstorable_pods_and_workloads_are_malformed, setup),
	    cmocka_unit_test_setup(test_replay_from_another_stream_is_refused_and_writes_nothing, setup),
	    cmocka_unit_test_setup(test_heartbeat_touches_only_the_cluster_row_and_the_log, setup),
	    cmocka_unit_test_setup(test_gap_and_unseen_full_ask_for_a_full_snapshot_but_still_write, setup),
	    cmocka_unit_test_setup(test_prune_deletes_only_entries_older_than_the_cutoff, setup),
	    cmocka_unit_test_setup(test_two_writers_of_one_cluster_all_commit, setup),
	    cmocka_unit_test_setup(test_handle_signed_frames_acks_and_asks_for_full_after_restart, setup),
	    cmocka_unit_test_setup(test_a_blocked_cluster_does_not_hold_up_the_others, setup),
	    cmocka_unit_test_setup(test_samples_alone_write_no_fact_row_and_one_sample_per_node, setup),
	    cmocka_unit_test_setup(test_full_frame_keeps_the_gpus_of_an_unlisted_newer_node, setup),
	    cmocka_unit_test_setup(test_view_at_the_database_generation_is_the_baseline, setup),
	    cmocka_unit_test_setup(test_load_reads_each_nodes_newest_sample, setup),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
