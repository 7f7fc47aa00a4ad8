/* Unit tests for hub/hub_registry: cluster status at exact boundaries, which spoke streams sent a full
 * frame since start-up, and what recording a frame changes (newest frame wins, whatever the order). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hub_registry.h"

#define STALE   90000
#define OFFLINE 600000
#define T0      1700000000000LL /* a frame's receive time */

static hub_registry *three_clusters(void)
{
	static hub_cluster_conf cl[3];
	memset(cl, 0, sizeof(cl));
	strcpy(cl[0].name, "alpha");
	strcpy(cl[1].name, "beta");
	strcpy(cl[2].name, "gamma");
	cl[1].n_labels = 1;
	strcpy(cl[1].labels[0].key, "region");
	strcpy(cl[1].labels[0].value, "us-west");
	hub_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.clusters = cl;
	cfg.n_clusters = 3;
	hub_registry *reg = NULL;
	assert_int_equal(hub_registry_new(&cfg, &reg), FL_OK);
	return reg;
}

static fl_proto_frame frame(const char *cluster, const char *spoke, uint64_t seq)
{
	fl_proto_frame f;
	memset(&f, 0, sizeof(f));
	strcpy(f.env.cluster, cluster);
	strcpy(f.env.spoke_id, spoke);
	f.env.seq = seq;
	f.env.kind = FL_FRAME_FULL;
	return f;
}

static void test_status_never_seen_without_a_frame(void **state)
{
	(void)state;
	assert_string_equal(hub_status_of(0, T0, STALE, OFFLINE), "never_seen");
	assert_string_equal(hub_status_of(-5, T0, STALE, OFFLINE), "never_seen");
	hub_registry *reg = three_clusters();
	for (size_t i = 0; i < 3; i++)
		assert_string_equal(hub_registry_status(reg, i, T0, STALE, OFFLINE), "never_seen");
	hub_registry_free(reg);
}

static void test_status_online_until_stale_after_exactly(void **state)
{
	(void)state;
	assert_string_equal(hub_status_of(T0, T0, STALE, OFFLINE), "online");
	assert_string_equal(hub_status_of(T0, T0 + STALE - 1, STALE, OFFLINE), "online");
	assert_string_equal(hub_status_of(T0, T0 + STALE, STALE, OFFLINE), "stale");
	/* A clock that went back still counts as a fresh frame. */
	assert_string_equal(hub_status_of(T0, T0 - 1000, STALE, OFFLINE), "online");
}

static void test_status_stale_until_offline_after_exactly(void **state)
{
	(void)state;
	assert_string_equal(hub_status_of(T0, T0 + STALE + 1, STALE, OFFLINE), "stale");
	assert_string_equal(hub_status_of(T0, T0 + OFFLINE - 1, STALE, OFFLINE), "stale");
	assert_string_equal(hub_status_of(T0, T0 + OFFLINE, STALE, OFFLINE), "offline");
	assert_string_equal(hub_status_of(T0, T0 + 100LL * OFFLINE, STALE, OFFLINE), "offline");
}

static void test_registry_status_follows_recorded_frames(void **state)
{
	(void)state;
	hub_registry *reg = three_clusters();
	fl_proto_frame f = frame("beta", "s1", 1);
	hub_registry_record(reg, 1, &f, T0, T0);
	assert_string_equal(hub_registry_status(reg, 1, T0 + STALE - 1, STALE, OFFLINE), "online");
	assert_string_equal(hub_registry_status(reg, 1, T0 + STALE, STALE, OFFLINE), "stale");
	assert_string_equal(hub_registry_status(reg, 1, T0 + OFFLINE, STALE, OFFLINE), "offline");
	assert_string_equal(hub_registry_status(reg, 0, T0 + STALE, STALE, OFFLINE), "never_seen");
	/* A new frame brings it back online. */
	f.env.seq = 2;
	hub_registry_record(reg, 1, &f, T0 + OFFLINE, T0 + OFFLINE);
	assert_string_equal(hub_registry_status(reg, 1, T0 + OFFLINE, STALE, OFFLINE), "online");
	hub_registry_free(reg);
}

static void test_find_names_and_labels(void **state)
{
	(void)state;
	hub_registry *reg = three_clusters();
	assert_int_equal(hub_registry_count(reg), 3);
	assert_int_equal(hub_registry_find(reg, "gamma"), 2);
	assert_int_equal(hub_registry_find(reg, "ghost"), -1);
	assert_int_equal(hub_registry_find(reg, ""), -1);
	assert_string_equal(hub_registry_name(reg, 0), "alpha");
	hub_clusters *cs = hub_registry_clusters(reg);
	assert_string_equal(hub_clusters_conf(cs, 1)->labels[0].value, "us-west");
	assert_int_equal(hub_clusters_find(cs, "beta"), 1);
	assert_int_equal(cs->by_name[0], 0);
	assert_int_equal(cs->by_name[2], 2);
	hub_clusters_release(cs);
	hub_registry_free(reg);
}

/* A config of the named clusters (labels region=<region>), in that order. */
static void config_of(hub_config *cfg, hub_cluster_conf *cl, const char *const *names, size_t n, const char *region)
{
	memset(cfg, 0, sizeof(*cfg));
	memset(cl, 0, n * sizeof(*cl));
	for (size_t i = 0; i < n; i++) {
		snprintf(cl[i].name, sizeof(cl[i].name), "%s", names[i]);
		cl[i].n_labels = 1;
		strcpy(cl[i].labels[0].key, "region");
		snprintf(cl[i].labels[0].value, sizeof(cl[i].labels[0].value), "%s", region);
	}
	snprintf(cfg->path, sizeof(cfg->path), "clusters.yaml");
	cfg->clusters = cl;
	cfg->n_clusters = n;
}

static void test_reload_keeps_slots_disables_removed_and_reuses_a_returning_name(void **state)
{
	(void)state;
	hub_registry *reg = three_clusters();
	fl_proto_frame f = frame("beta", "s1", 1);
	hub_registry_record(reg, 1, &f, T0, T0);
	hub_clusters *before = hub_registry_clusters(reg); /* a reader holding the old generation */

	hub_cluster_conf cl[3];
	hub_config cfg;
	const char *const next[] = {"gamma", "delta", "alpha"}; /* beta removed, delta added, order changed */
	config_of(&cfg, cl, next, 3, "eu");
	hub_reload_summary sum;
	char err[FL_ERR_LEN];
	assert_int_equal(hub_registry_reload(reg, &cfg, &sum, err), FL_OK);
	assert_int_equal(sum.added, 1);
	assert_int_equal(sum.removed, 1);
	assert_int_equal(sum.changed, 2); /* alpha and gamma got a label */
	assert_int_equal(sum.activated[0], 3);
	assert_string_equal(sum.text, "added delta; removed beta; changed alpha, gamma");
	assert_int_equal(hub_registry_count(reg), 4);
	assert_int_equal(hub_registry_find(reg, "alpha"), 0);
	assert_int_equal(hub_registry_find(reg, "beta"), -1);
	assert_int_equal(hub_registry_find(reg, "gamma"), 2);
	assert_int_equal(hub_registry_find(reg, "delta"), 3);
	hub_cluster_state st;
	hub_registry_get(reg, 1, &st);
	assert_int_equal(st.last_frame_ms, 0); /* the removed cluster's state is dropped */
	assert_false(hub_registry_full_seen(reg, 1, "s1"));

	/* The old generation is intact for its holder: beta active, no label on alpha. */
	assert_int_equal(hub_clusters_find(before, "beta"), 1);
	assert_int_equal(hub_clusters_conf(before, 0)->n_labels, 0);
	assert_int_equal(before->n, 3);
	hub_clusters_release(before);

	hub_clusters *cs = hub_registry_clusters(reg);
	assert_int_equal(cs->gen, 2);
	assert_null(hub_clusters_conf(cs, 1));
	assert_string_equal(hub_clusters_conf(cs, 0)->labels[0].value, "eu");
	assert_int_equal(cs->by_name[0], 0); /* alpha, beta, delta, gamma */
	assert_int_equal(cs->by_name[1], 1);
	assert_int_equal(cs->by_name[2], 3);
	assert_int_equal(cs->by_name[3], 2);
	hub_clusters_release(cs);

	const char *const back[] = {"beta"}; /* beta returns to its slot; the others go */
	config_of(&cfg, cl, back, 1, "eu");
	assert_int_equal(hub_registry_reload(reg, &cfg, &sum, err), FL_OK);
	assert_int_equal(sum.added, 1);
	assert_int_equal(sum.activated[0], 1);
	assert_int_equal(sum.removed, 3);
	assert_int_equal(hub_registry_find(reg, "beta"), 1);
	assert_int_equal(hub_registry_count(reg), 4);
	hub_registry_free(reg);
}

static void test_reload_beyond_the_slot_capacity_is_refused_whole(void **state)
{
	(void)state;
	hub_registry *reg = three_clusters();
	hub_cluster_conf *cl = calloc(HUB_MAX_CLUSTERS, sizeof(*cl));
	assert_non_null(cl);
	hub_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.path, sizeof(cfg.path), "clusters.yaml");
	for (size_t i = 0; i < HUB_MAX_CLUSTERS; i++) /* 1024 new names: 3 + 1024 slots would be needed */
		snprintf(cl[i].name, sizeof(cl[i].name), "c%zu", i);
	cfg.clusters = cl;
	cfg.n_clusters = HUB_MAX_CLUSTERS;
	hub_reload_summary sum;
	char err[FL_ERR_LEN];
	assert_int_equal(hub_registry_reload(reg, &cfg, &sum, err), FL_ELIMIT);
	assert_non_null(strstr(err, "restart it to add"));
	assert_int_equal(hub_registry_count(reg), 3);
	assert_int_equal(hub_registry_find(reg, "beta"), 1);
	free(cl);
	hub_registry_free(reg);
}

static void test_full_seen_only_after_a_full_frame_of_that_stream(void **state)
{
	(void)state;
	hub_registry *reg = three_clusters();
	assert_false(hub_registry_full_seen(reg, 0, "s1")); /* a fresh process has seen nothing */
	fl_proto_frame d = frame("alpha", "s1", 1);
	d.env.kind = FL_FRAME_DELTA;
	hub_registry_record(reg, 0, &d, T0, T0);
	assert_false(hub_registry_full_seen(reg, 0, "s1")); /* a delta is not a full snapshot */
	fl_proto_frame f = frame("alpha", "s1", 2);
	hub_registry_record(reg, 0, &f, T0 + 1, T0 + 1);
	assert_true(hub_registry_full_seen(reg, 0, "s1"));
	assert_false(hub_registry_full_seen(reg, 0, "s2")); /* another stream */
	assert_false(hub_registry_full_seen(reg, 1, "s1")); /* another cluster */
	hub_registry_free(reg);
}

static void test_full_seen_remembers_the_last_few_streams(void **state)
{
	(void)state;
	hub_registry *reg = three_clusters();
	char id[16];
	for (int k = 0; k <= HUB_REGISTRY_FULL_STREAMS; k++) {
		snprintf(id, sizeof(id), "s%d", k);
		fl_proto_frame f = frame("alpha", id, 1);
		assert_true(hub_registry_record(reg, 0, &f, T0 + k, T0 + k));
	}
	assert_false(hub_registry_full_seen(reg, 0, "s0")); /* the oldest slot was reused */
	for (int k = 1; k <= HUB_REGISTRY_FULL_STREAMS; k++) {
		snprintf(id, sizeof(id), "s%d", k);
		assert_true(hub_registry_full_seen(reg, 0, id));
	}
	hub_registry_free(reg);
}

static void test_record_out_of_order_keeps_the_newest_frame(void **state)
{
	(void)state;
	hub_registry *reg = three_clusters();
	fl_proto_frame newer = frame("alpha", "s1", 6);
	newer.has_overview = true;
	newer.overview.healthy_nodes = 6;
	fl_proto_frame older = frame("alpha", "s1", 5);
	older.has_overview = true;
	older.overview.healthy_nodes = 5;
	/* Two workers committed 5 then 6 but record 6 first (receive times in the same order as seq). */
	hub_registry_record(reg, 0, &newer, T0 + 20, T0 + 10);
	hub_registry_record(reg, 0, &older, T0 + 30, T0 + 9);
	hub_cluster_state st;
	hub_registry_get(reg, 0, &st);
	assert_int_equal(st.last_seq, 6);
	assert_int_equal(st.version_ms, T0 + 10);
	assert_int_equal(st.healthy_nodes, 6);
	assert_int_equal(st.last_frame_ms, T0 + 30); /* the cluster was alive at the later receive */
	/* Same version time: seq decides. */
	fl_proto_frame same = frame("alpha", "s1", 7);
	same.has_overview = true;
	same.overview.healthy_nodes = 7;
	hub_registry_record(reg, 0, &same, T0 + 31, T0 + 10);
	hub_registry_get(reg, 0, &st);
	assert_int_equal(st.last_seq, 7);
	assert_int_equal(st.healthy_nodes, 7);
	assert_int_equal(st.last_frame_ms, T0 + 31);
	hub_registry_free(reg);
}

static void test_record_keeps_versions_overview_and_flags_new_streams(void **state)
{
	(void)state;
	hub_registry *reg = three_clusters();
	fl_proto_frame f = frame("alpha", "s1", 1);
	f.has_facts = true;
	strcpy(f.facts.k8s_version, "v1.29.3");
	strcpy(f.facts.spoke_version, "0.1.0");
	f.has_overview = true;
	f.overview.healthy_nodes = 10;
	f.overview.faulty_nodes = 2;
	assert_true(hub_registry_record(reg, 0, &f, T0, T0));
	hub_cluster_state st;
	hub_registry_get(reg, 0, &st);
	assert_int_equal(st.last_frame_ms, T0);
	assert_int_equal(st.last_seq, 1);
	assert_string_equal(st.spoke_id, "s1");
	assert_string_equal(st.k8s_version, "v1.29.3");
	assert_string_equal(st.spoke_version, "0.1.0");
	assert_true(st.has_overview);
	assert_int_equal(st.healthy_nodes, 10);
	assert_int_equal(st.faulty_nodes, 2);

	/* A heartbeat (no facts, no overview) moves time and seq but keeps the rest. */
	fl_proto_frame hb = frame("alpha", "s1", 2);
	hb.env.kind = FL_FRAME_HEARTBEAT;
	assert_false(hub_registry_record(reg, 0, &hb, T0 + 1000, T0 + 1000));
	hub_registry_get(reg, 0, &st);
	assert_int_equal(st.last_frame_ms, T0 + 1000);
	assert_int_equal(st.last_seq, 2);
	assert_string_equal(st.k8s_version, "v1.29.3");
	assert_int_equal(st.healthy_nodes, 10);

	fl_proto_frame again = frame("alpha", "s2", 1);
	assert_true(hub_registry_record(reg, 0, &again, T0 + 2000, T0 + 2000));
	hub_registry_free(reg);
}

static void test_state_loaded_at_start_counts_as_seen(void **state)
{
	(void)state;
	hub_registry *reg = three_clusters();
	hub_cluster_state st;
	memset(&st, 0, sizeof(st));
	st.last_frame_ms = T0;
	st.last_seq = 9;
	strcpy(st.spoke_id, "s9");
	hub_registry_set(reg, 2, &st);
	assert_string_equal(hub_registry_status(reg, 2, T0 + 1, STALE, OFFLINE), "online");
	/* Loaded state is not a full frame this process received: the hub will ask for one. */
	assert_false(hub_registry_full_seen(reg, 2, "s9"));
	/* The first frame after a restart is still worth an INFO line. */
	fl_proto_frame f = frame("gamma", "s9", 10);
	assert_true(hub_registry_record(reg, 2, &f, T0 + 2, T0 + 2));
	hub_registry_free(reg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_status_never_seen_without_a_frame),
	    cmocka_unit_test(test_status_online_until_stale_after_exactly),
	    cmocka_unit_test(test_status_stale_until_offline_after_exactly),
	    cmocka_unit_test(test_registry_status_follows_recorded_frames),
	    cmocka_unit_test(test_find_names_and_labels),
	    cmocka_unit_test(test_reload_keeps_slots_disables_removed_and_reuses_a_returning_name),
	    cmocka_unit_test(test_reload_beyond_the_slot_capacity_is_refused_whole),
	    cmocka_unit_test(test_full_seen_only_after_a_full_frame_of_that_stream),
	    cmocka_unit_test(test_full_seen_remembers_the_last_few_streams),
	    cmocka_unit_test(test_record_out_of_order_keeps_the_newest_frame),
	    cmocka_unit_test(test_record_keeps_versions_overview_and_flags_new_streams),
	    cmocka_unit_test(test_state_loaded_at_start_counts_as_seen),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
