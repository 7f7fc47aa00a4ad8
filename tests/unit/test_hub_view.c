/* Unit tests for hub/hub_view: frames applied (full, delta, heartbeat, older ones ignored), snapshots
 * that stay valid while newer ones are published, memory per node (its indexes included), the pre-written answer texts,
 * and node queries (filters, every order, desc, pagination edges, pages while frames land). Frames are built in C, as
 * the ingest hands them over. */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "hub_view.h"
#include "hub_view_index.h"

static hub_config cfg;
static hub_cluster_conf confs[3];

static int setup(void **state)
{
	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	memset(confs, 0, sizeof(confs));
	/* Config order differs from name order on purpose. */
	snprintf(confs[0].name, sizeof(confs[0].name), "zeta");
	snprintf(confs[1].name, sizeof(confs[1].name), "alpha");
	snprintf(confs[2].name, sizeof(confs[2].name), "mid");
	cfg.clusters = confs;
	cfg.n_clusters = 3;
	return 0;
}

/* A frame for cluster with n_nodes node slots and n_gpus GPU slots, zeroed. */
static void frame_init(fl_proto_frame *f, const char *cluster, const char *spoke, uint64_t seq, int64_t sent_ms,
                       fl_frame_kind kind, uint32_t n_nodes, uint32_t n_gpus)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->env.cluster, sizeof(f->env.cluster), "%s", cluster);
	snprintf(f->env.spoke_id, sizeof(f->env.spoke_id), "%s", spoke);
	f->env.seq = seq;
	f->env.sent_at_ms = sent_ms;
	f->env.kind = kind;
	f->nodes = n_nodes > 0 ? calloc(n_nodes, sizeof(*f->nodes)) : NULL;
	f->n_nodes = n_nodes;
	f->gpus = n_gpus > 0 ? calloc(n_gpus, sizeof(*f->gpus)) : NULL;
	f->n_gpus = n_gpus;
}

static void set_node(fl_proto_node *n, const char *name, int64_t count, int64_t alloc, double util, const char *status)
{
	snprintf(n->name, sizeof(n->name), "%s", name);
	snprintf(n->ip, sizeof(n->ip), "10.0.0.%d", (int)(strlen(name) % 200));
	snprintf(n->gpu_name, sizeof(n->gpu_name), "AMD Instinct MI300X");
	snprintf(n->status, sizeof(n->status), "%s", status);
	n->gpu_count = count;
	n->gpu_allocation = alloc;
	n->gpu_utilization = util;
	n->has_utilization = util >= 0;
	n->cpu_millis = 192000;
	n->memory_bytes = 2LL << 40;
	snprintf(n->kubelet_version, sizeof(n->kubelet_version), "v1.29.3");
	snprintf(n->os_image, sizeof(n->os_image), "Ubuntu 22.04.4 LTS");
	snprintf(n->kernel_version, sizeof(n->kernel_version), "5.15.0-105-generic");
	snprintf(n->container_runtime, sizeof(n->container_runtime), "containerd://1.7.13");
}

static void set_gpu(fl_proto_gpu *g, const char *node, int id, double util)
{
	snprintf(g->node, sizeof(g->node), "%s", node);
	g->gpu_id = id;
	snprintf(g->gpu_model, sizeof(g->gpu_model), "AMD Instinct MI300X");
	g->memory_mib = 196608;
	g->utilization = util;
	g->has_utilization = util >= 0;
	g->temperature = 40 + id;
	g->power = 300.5;
	snprintf(g->serial, sizeof(g->serial), "SN-%.40s-%d", node, id);
	g->numa = id / 4;
}

static const char *nname(const hub_view_node *n)
{
	return hub_view_str(n, n->name);
}

/* alpha: full frame with b (2 GPUs), a (1 GPU), c (none), and an overview. */
static void apply_alpha_full(hub_view *v, uint64_t seq, int64_t sent)
{
	fl_proto_frame f;
	frame_init(&f, "alpha", "s1", seq, sent, FL_FRAME_FULL, 3, 4);
	set_node(&f.nodes[0], "b", 8, 4, 50, "Ready");
	set_node(&f.nodes[1], "a", 8, 8, -1, "NotReady");
	set_node(&f.nodes[2], "c", 0, 0, -1, "Ready");
	snprintf(f.nodes[2].gpu_name, sizeof(f.nodes[2].gpu_name), "%s", "");
	set_gpu(&f.gpus[0], "b", 1, 60);
	set_gpu(&f.gpus[1], "b", 0, 40);
	set_gpu(&f.gpus[2], "a", 0, -1);
	set_gpu(&f.gpus[3], "ghost", 0, 10); /* GPU of a node the frame does not have: dropped */
	f.has_overview = true;
	f.overview.total_nodes = 2;
	f.overview.gpus_allocatable = 16;
	f.has_facts = true;
	snprintf(f.facts.k8s_version, sizeof(f.facts.k8s_version), "v1.29.3");
	assert_int_equal(hub_view_apply(v, &f, 1000, -1), FL_OK);
	fl_proto_frame_free(&f);
}

/* Reloads (hub_registry.h): a slot appended keeps the others' indexes and joins the name order; a removed
 * cluster's slot is emptied while a reader's snapshot stays whole. */
static void test_slots_added_and_cleared(void **state)
{
	(void)state;
	hub_view *v;
	assert_int_equal(hub_view_new(&cfg, &v), FL_OK);
	apply_alpha_full(v, 1, 500);
	size_t n;
	const size_t *before = hub_view_order(v, &n);
	assert_int_equal(n, 3);
	assert_int_equal(hub_view_add(v, 4, "aardvark"), FL_EINVAL); /* only the next slot */
	assert_int_equal(hub_view_add(v, 3, "aardvark"), FL_OK);
	assert_int_equal(hub_view_add(v, 3, "aardvark"), FL_OK);  /* already there */
	assert_int_equal(hub_view_add(v, 3, "zebra"), FL_EINVAL); /* slot 3 is aardvark's */
	const size_t *order = hub_view_order(v, &n);
	assert_int_equal(n, 4);
	assert_int_equal(order[0], 3); /* aardvark first by name */
	assert_int_equal(order[1], before[0]);
	assert_int_equal(hub_view_find(v, "aardvark"), 3);
	assert_int_equal(hub_view_find(v, "alpha"), 1);
	assert_string_equal(hub_view_name(v, 3), "aardvark");
	assert_int_equal(hub_view_node_count(v, 3), 0);

	hub_view_snap *held = hub_view_get(v, 1);
	hub_view_clear(v, 1);
	assert_int_equal(hub_view_node_count(v, 1), 0);
	assert_int_equal(hub_view_last_frame_ms(v, 1), 0);
	assert_int_equal(held->n_nodes, 3); /* the reader's snapshot is intact */
	hub_view_release(held);
	/* the same frame applies again after the clear: no version is remembered */
	apply_alpha_full(v, 1, 500);
	assert_int_equal(hub_view_node_count(v, 1), 3);
	hub_view_free(v);
}

static void test_full_frame_replaces_nodes_and_groups_gpus(void **state)
{
	(void)state;
	hub_view *v;
	assert_int_equal(hub_view_new(&cfg, &v), FL_OK);
	assert_int_equal(hub_view_find(v, "alpha"), 1);
	assert_int_equal(hub_view_find(v, "nope"), -1);
	assert_int_equal(hub_view_last_frame_ms(v, 1), 0);
	apply_alpha_full(v, 1, 500);

	hub_view_snap *s = hub_view_get(v, 1);
	assert_string_equal(s->name, "alpha");
	assert_int_equal(s->n_nodes, 3);
	assert_string_equal(nname(s->nodes[0]), "a");
	assert_string_equal(nname(s->nodes[1]), "b");
	assert_string_equal(nname(s->nodes[2]), "c");
	const hub_view_node *b = s->nodes[1];
	assert_int_equal(b->gpu_count, 8);
	assert_int_equal(b->gpu_allocation, 4);
	assert_true(b->gpu_utilization == 50.0);
	assert_true(isnan(s->nodes[0]->gpu_utilization));
	assert_string_equal(hub_view_str(b, b->status), "Ready");
	assert_string_equal(hub_view_str(b, b->os_image), "Ubuntu 22.04.4 LTS");
	assert_int_equal(b->n_gpus, 2);
	assert_int_equal(b->gpus[0].gpu_id, 0); /* ordered by gpu_id */
	assert_true(b->gpus[0].utilization == 40.0);
	assert_int_equal(b->gpus[1].gpu_id, 1);
	assert_string_equal(hub_view_str(b, b->gpus[1].serial), "SN-b-1");
	assert_string_equal(hub_view_str(b, b->gpus[1].model), "AMD Instinct MI300X");
	assert_int_equal(b->gpus[1].model, b->gpu_name); /* shared text */
	assert_int_equal(b->gpus[1].numa, 0);
	assert_string_equal(hub_view_str(s->nodes[2], s->nodes[2]->gpu_name), "");
	assert_int_equal(s->n_gpus, 3);
	assert_int_equal(s->n_gpus_util, 2);
	assert_true(s->has_overview);
	assert_int_equal(s->overview.gpus_allocatable, 16);
	assert_int_equal(s->overview_ms, 1000);
	assert_string_equal(s->facts.k8s_version, "v1.29.3");
	assert_int_equal(hub_view_last_frame_ms(v, 1), 1000);
	hub_view_release(s);

	/* A second full frame without "a" and without an overview: a is gone, the overview stays. */
	fl_proto_frame f;
	frame_init(&f, "alpha", "s1", 2, 600, FL_FRAME_FULL, 1, 0);
	set_node(&f.nodes[0], "b", 4, 1, 10, "Ready");
	assert_int_equal(hub_view_apply(v, &f, 2000, -1), FL_OK);
	fl_proto_frame_free(&f);
	s = hub_view_get(v, 1);
	assert_int_equal(s->n_nodes, 1);
	assert_int_equal(s->nodes[0]->gpu_count, 4);
	assert_int_equal(s->nodes[0]->n_gpus, 0); /* a full frame replaces GPUs too */
	assert_true(s->has_overview);
	assert_int_equal(s->overview_ms, 1000);
	hub_view_release(s);
	hub_view_free(v);
}

static void test_delta_upserts_keeps_gpus_and_removes_nodes(void **state)
{
	(void)state;
	hub_view *v;
	assert_int_equal(hub_view_new(&cfg, &v), FL_OK);
	apply_alpha_full(v, 1, 500);
	hub_view_snap *before = hub_view_get(v, 1);

	fl_proto_frame f;
	frame_init(&f, "alpha", "s1", 2, 600, FL_FRAME_DELTA, 2, 2);
	set_node(&f.nodes[0], "b", 8, 7, 99, "Ready"); /* node fields change, no GPUs listed: keeps its GPUs */
	set_node(&f.nodes[1], "d", 2, 0, -1, "Unknown");
	set_gpu(&f.gpus[0], "a", 3, 77); /* GPU only, for a node not in nodes: node a keeps its fields */
	set_gpu(&f.gpus[1], "a", 0, 5);  /* replaces a's GPU 0 */
	f.removed_nodes = calloc(1, sizeof(*f.removed_nodes));
	f.n_removed_nodes = 1;
	snprintf(f.removed_nodes[0].name, sizeof(f.removed_nodes[0].name), "c");
	assert_int_equal(hub_view_apply(v, &f, 3000, -1), FL_OK);
	fl_proto_frame_free(&f);

	hub_view_snap *s = hub_view_get(v, 1);
	assert_int_equal(s->n_nodes, 3);
	assert_string_equal(nname(s->nodes[0]), "a");
	assert_string_equal(nname(s->nodes[1]), "b");
	assert_string_equal(nname(s->nodes[2]), "d");
	const hub_view_node *a = s->nodes[0], *b = s->nodes[1];
	assert_int_equal(a->gpu_allocation, 8);
	assert_string_equal(hub_view_str(a, a->status), "NotReady");
	assert_int_equal(a->n_gpus, 2);
	assert_int_equal(a->gpus[0].gpu_id, 0);
	assert_true(a->gpus[0].utilization == 5.0);
	assert_int_equal(a->gpus[1].gpu_id, 3);
	assert_int_equal(b->gpu_allocation, 7);
	assert_true(b->gpu_utilization == 99.0);
	assert_int_equal(b->n_gpus, 2);
	assert_string_equal(hub_view_str(b, b->gpus[1].serial), "SN-b-1");
	assert_true(s->has_overview); /* the delta carried none: the old one stays */
	assert_int_equal(s->overview.total_nodes, 2);
	assert_int_equal(s->n_gpus, 4);

	/* The reader's earlier snapshot is untouched. */
	assert_int_equal(before->n_nodes, 3);
	assert_string_equal(nname(before->nodes[2]), "c");
	assert_int_equal(before->nodes[1]->gpu_allocation, 4);
	hub_view_release(before);
	hub_view_release(s);
	hub_view_free(v);
}

static void test_heartbeat_moves_time_only(void **state)
{
	(void)state;
	hub_view *v;
	assert_int_equal(hub_view_new(&cfg, &v), FL_OK);
	apply_alpha_full(v, 1, 500);
	hub_view_snap *s1 = hub_view_get(v, 1);
	fl_proto_frame f;
	frame_init(&f, "alpha", "s1", 2, 700, FL_FRAME_HEARTBEAT, 0, 0);
	assert_int_equal(hub_view_apply(v, &f, 9000, -1), FL_OK);
	hub_view_snap *s2 = hub_view_get(v, 1);
	assert_ptr_equal(s1, s2);
	assert_int_equal(hub_view_last_frame_ms(v, 1), 9000);
	/* seq 2 is now applied: a delta with seq 2 is older. */
	frame_init(&f, "alpha", "s1", 2, 700, FL_FRAME_DELTA, 1, 0);
	set_node(&f.nodes[0], "z", 1, 1, 1, "Ready");
	assert_int_equal(hub_view_apply(v, &f, 9500, -1), HUB_VIEW_OLDER);
	fl_proto_frame_free(&f);
	hub_view_release(s1);
	hub_view_release(s2);
	hub_view_free(v);
}

/* Issue 13: the rows generation a snapshot reflects, and the facts a frame's rows are compared on. */
static void test_rows_generation_chains_and_facts_compare(void **state)
{
	(void)state;
	hub_view *v;
	assert_int_equal(hub_view_new(&cfg, &v), FL_OK);
	hub_view_snap *s = hub_view_get(v, 1);
	assert_int_equal(s->rows_gen, -1); /* never loaded */
	hub_view_release(s);
	fl_proto_frame f;
	frame_init(&f, "alpha", "s1", 1, 100, FL_FRAME_FULL, 1, 1);
	set_node(&f.nodes[0], "a", 8, 4, 50, "Ready");
	set_gpu(&f.gpus[0], "a", 0, 40);
	assert_int_equal(hub_view_load(v, 1, &f, 100, 0, 7), FL_OK);
	s = hub_view_get(v, 1);
	assert_int_equal(s->rows_gen, 7);
	const hub_view_node *a = hub_view_snap_find(s, "a");
	/* Samples are not facts; every fact is. */
	f.nodes[0].gpu_utilization = 99;
	f.gpus[0].utilization = 1;
	f.gpus[0].temperature = 90;
	f.gpus[0].power = 1;
	assert_true(hub_view_node_facts_equal(a, &f.nodes[0]));
	assert_true(hub_view_gpu_facts_equal(a, &f.gpus[0]));
	f.nodes[0].gpu_allocation = 5;
	assert_false(hub_view_node_facts_equal(a, &f.nodes[0]));
	f.nodes[0].gpu_allocation = 4;
	fl_proto_taint taint = {"k", "v", "NoSchedule"};
	f.nodes[0].taints = &taint;
	f.nodes[0].n_taints = 1;
	assert_false(hub_view_node_facts_equal(a, &f.nodes[0]));
	f.nodes[0].n_taints = 0;
	f.nodes[0].taints = NULL;
	snprintf(f.gpus[0].serial, sizeof(f.gpus[0].serial), "other");
	assert_false(hub_view_gpu_facts_equal(a, &f.gpus[0]));
	f.gpus[0].gpu_id = 3;
	assert_false(hub_view_gpu_facts_equal(a, &f.gpus[0]));
	hub_view_release(s);
	fl_proto_frame_free(&f);

	/* A delta committed at generation 8 over a view at 7 chains; one at 10 over 8 does not. */
	frame_init(&f, "alpha", "s1", 2, 200, FL_FRAME_DELTA, 1, 0);
	set_node(&f.nodes[0], "a", 8, 2, 10, "Ready");
	assert_int_equal(hub_view_apply(v, &f, 200, 8), FL_OK);
	fl_proto_frame_free(&f);
	s = hub_view_get(v, 1);
	assert_int_equal(s->rows_gen, 8);
	hub_view_release(s);
	frame_init(&f, "alpha", "s1", 3, 300, FL_FRAME_DELTA, 1, 0);
	set_node(&f.nodes[0], "a", 8, 3, 10, "Ready");
	assert_int_equal(hub_view_apply(v, &f, 300, 10), FL_OK);
	fl_proto_frame_free(&f);
	s = hub_view_get(v, 1);
	assert_int_equal(s->rows_gen, -1);
	hub_view_release(s);
	/* The database's rows not exactly the frame's (-1): unknown, even over a known generation. */
	frame_init(&f, "alpha", "s1", 4, 400, FL_FRAME_FULL, 1, 0);
	set_node(&f.nodes[0], "a", 8, 3, 10, "Ready");
	assert_int_equal(hub_view_apply(v, &f, 400, -1), FL_OK);
	fl_proto_frame_free(&f);
	/* A full frame's rows are the whole set: its generation holds whatever the view held before. */
	frame_init(&f, "alpha", "s1", 5, 500, FL_FRAME_FULL, 1, 0);
	set_node(&f.nodes[0], "a", 8, 3, 10, "Ready");
	assert_int_equal(hub_view_apply(v, &f, 500, 12), FL_OK);
	fl_proto_frame_free(&f);
	s = hub_view_get(v, 1);
	assert_int_equal(s->rows_gen, 12);
	hub_view_release(s);
	/* An older frame changes nothing, its generation included. */
	frame_init(&f, "alpha", "s1", 5, 500, FL_FRAME_DELTA, 1, 0);
	set_node(&f.nodes[0], "a", 8, 1, 10, "Ready");
	assert_int_equal(hub_view_apply(v, &f, 600, 13), HUB_VIEW_OLDER);
	fl_proto_frame_free(&f);
	s = hub_view_get(v, 1);
	assert_int_equal(s->rows_gen, 12);
	hub_view_release(s);
	hub_view_free(v);
}

static void test_older_frames_do_not_overwrite_newer_rows(void **state)
{
	(void)state;
	hub_view *v;
	assert_int_equal(hub_view_new(&cfg, &v), FL_OK);
	apply_alpha_full(v, 5, 5000);
	fl_proto_frame f;

	/* Same spoke, lower seq (a late frame): ignored, but the frame time still moves. */
	frame_init(&f, "alpha", "s1", 4, 4000, FL_FRAME_FULL, 1, 0);
	set_node(&f.nodes[0], "old", 1, 1, 1, "Ready");
	assert_int_equal(hub_view_apply(v, &f, 7000, -1), HUB_VIEW_OLDER);
	fl_proto_frame_free(&f);
	assert_int_equal(hub_view_last_frame_ms(v, 1), 7000);

	/* Another spoke whose frame was sent before the newest applied one: ignored. */
	frame_init(&f, "alpha", "s0", 99, 4999, FL_FRAME_FULL, 1, 0);
	set_node(&f.nodes[0], "old", 1, 1, 1, "Ready");
	assert_int_equal(hub_view_apply(v, &f, 6000, -1), HUB_VIEW_OLDER);
	fl_proto_frame_free(&f);
	assert_int_equal(hub_view_last_frame_ms(v, 1), 7000); /* never goes back */

	hub_view_snap *s = hub_view_get(v, 1);
	assert_int_equal(s->n_nodes, 3);
	hub_view_release(s);

	/* A new spoke (restarted) sending later: applied, even with seq 1. */
	frame_init(&f, "alpha", "s2", 1, 5001, FL_FRAME_FULL, 1, 0);
	set_node(&f.nodes[0], "new", 1, 1, 1, "Ready");
	assert_int_equal(hub_view_apply(v, &f, 8000, -1), FL_OK);
	fl_proto_frame_free(&f);
	/* Now s1 (seq 6, sent before s2's frame) is older too. */
	frame_init(&f, "alpha", "s1", 6, 5000, FL_FRAME_DELTA, 1, 0);
	set_node(&f.nodes[0], "late", 1, 1, 1, "Ready");
	assert_int_equal(hub_view_apply(v, &f, 8100, -1), HUB_VIEW_OLDER);
	fl_proto_frame_free(&f);
	s = hub_view_get(v, 1);
	assert_int_equal(s->n_nodes, 1);
	assert_string_equal(nname(s->nodes[0]), "new");
	hub_view_release(s);

	frame_init(&f, "ghost", "s1", 1, 1, FL_FRAME_FULL, 0, 0);
	assert_int_equal(hub_view_apply(v, &f, 1, -1), FL_ENOTFOUND);
	assert_int_equal(hub_view_apply(NULL, &f, 1, -1), FL_OK);
	hub_view_free(v);
}

static void test_load_seeds_rows_time_and_version(void **state)
{
	(void)state;
	hub_view *v;
	assert_int_equal(hub_view_new(&cfg, &v), FL_OK);
	fl_proto_frame f;
	frame_init(&f, "mid", "s9", 40, 4000, FL_FRAME_HEARTBEAT, 1, 1);
	set_node(&f.nodes[0], "m1", 8, 2, 12.5, "Ready");
	set_gpu(&f.gpus[0], "m1", 0, 12.5);
	f.has_overview = true;
	f.overview.gpus_allocated = 2;
	assert_int_equal(hub_view_load(v, 2, &f, 4100, 3900, -1), FL_OK);
	fl_proto_frame_free(&f);
	hub_view_snap *s = hub_view_get(v, 2);
	assert_int_equal(s->n_nodes, 1);
	assert_int_equal(s->nodes[0]->n_gpus, 1);
	assert_int_equal(s->overview_ms, 3900);
	assert_false(s->has_facts);
	assert_int_equal(hub_view_last_frame_ms(v, 2), 4100);
	hub_view_release(s);
	frame_init(&f, "mid", "s9", 40, 4000, FL_FRAME_FULL, 0, 0);
	assert_int_equal(hub_view_apply(v, &f, 5000, -1), HUB_VIEW_OLDER);
	f.env.seq = 41;
	assert_int_equal(hub_view_apply(v, &f, 5000, -1), FL_OK);
	fl_proto_frame_free(&f);
	hub_view_free(v);
}

/* Realistic strings (sim-like names, 8 GPUs with serials): what one node costs in the view, its indexes
 * included (the budget is 1.2 KiB; the record alone stays under 1 KiB). */
static void test_node_with_8_gpus_and_its_indexes_cost_under_1_2_kib(void **state)
{
	(void)state;
	hub_view *v;
	assert_int_equal(hub_view_new(&cfg, &v), FL_OK);
	size_t empty = hub_view_bytes(v);
	enum { N = 5000 };
	fl_proto_frame f;
	frame_init(&f, "zeta", "s1", 1, 1, FL_FRAME_FULL, N, N * 8);
	for (int i = 0; i < N; i++) {
		char name[64];
		snprintf(name, sizeof(name), "zeta-gpu-node-%05d", i);
		set_node(&f.nodes[i], name, 8, i % 9, (i % 100) + 0.5, i % 10 == 0 ? "NotReady" : "Ready");
		for (int g = 0; g < 8; g++)
			set_gpu(&f.gpus[i * 8 + g], name, g, g * 10.0);
	}
	assert_int_equal(hub_view_apply(v, &f, 1, -1), FL_OK);
	size_t per_node = (hub_view_bytes(v) - empty) / N;
	hub_view_snap *s = hub_view_get(v, 0);
	size_t ix_per_node = hub_view_index_bytes(s->ix) / N;
	hub_view_release(s);
	print_message("view bytes per node (8 GPUs): %zu, of which indexes %zu\n", per_node, ix_per_node);
	assert_true(per_node < 1229);
	assert_true(per_node - ix_per_node < 1024);
	assert_true(ix_per_node < 128);

	/* A delta touching one node shares the other 4,999 records and the name trigrams; its classes and
	 * order arrays are its own. */
	fl_proto_frame d;
	frame_init(&d, "zeta", "s1", 2, 2, FL_FRAME_DELTA, 1, 0);
	set_node(&d.nodes[0], f.nodes[17].name, 8, 8, 1, "Ready");
	hub_view_snap *held = hub_view_get(v, 0); /* a reader keeps the old snapshot alive */
	size_t before = hub_view_bytes(v);
	assert_int_equal(hub_view_apply(v, &d, 2, -1), FL_OK);
	s = hub_view_get(v, 0);
	size_t own = s->ix->own_bytes;
	hub_view_release(s);
	assert_true(own < N * 24 + 256);
	assert_true(hub_view_bytes(v) - before < 2 * 1024 + N * sizeof(void *) + own + 256);
	hub_view_release(held);
	fl_proto_frame_free(&d);
	fl_proto_frame_free(&f);
	hub_view_free(v);
}

/* --- queries -------------------------------------------------------------------------------------- */

static hub_view *query_fixture(void)
{
	hub_view *v;
	assert_int_equal(hub_view_new(&cfg, &v), FL_OK);
	fl_proto_frame f;
	frame_init(&f, "zeta", "s", 1, 1, FL_FRAME_FULL, 3, 0);
	set_node(&f.nodes[0], "n1", 8, 2, 30, "Ready");
	set_node(&f.nodes[1], "n2", 4, 4, -1, "NotReady");
	set_node(&f.nodes[2], "gpu-x", 8, 0, 90, "Unknown");
	snprintf(f.nodes[2].gpu_name, sizeof(f.nodes[2].gpu_name), "NVIDIA H100");
	assert_int_equal(hub_view_apply(v, &f, 1, -1), FL_OK);
	fl_proto_frame_free(&f);
	frame_init(&f, "alpha", "s", 1, 1, FL_FRAME_FULL, 2, 0);
	set_node(&f.nodes[0], "n2", 8, 8, 10, "Ready");
	set_node(&f.nodes[1], "n1", 2, 1, 50, "Ready");
	assert_int_equal(hub_view_apply(v, &f, 1, -1), FL_OK);
	fl_proto_frame_free(&f);
	return v;
}

static const bool all3[3] = {true, true, true};

/* "cluster/node" of each row, comma-separated. */
static const char *page_str(const hub_node_page *p)
{
	static char buf[512];
	size_t o = 0;
	buf[0] = '\0';
	for (size_t k = 0; k < p->n_rows; k++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s/%s", k ? "," : "", p->rows[k].snap->name,
		                      nname(p->rows[k].node));
	return buf;
}

static void expect_page(hub_view *v, hub_node_query q, size_t total, const char *rows)
{
	hub_node_page p;
	assert_int_equal(hub_view_query_nodes(v, &q, &p), FL_OK);
	assert_int_equal(p.total, total);
	assert_string_equal(page_str(&p), rows);
	hub_node_page_free(&p);
}

static void test_query_default_order_is_cluster_then_name(void **state)
{
	(void)state;
	hub_view *v = query_fixture();
	hub_node_query q = {.clusters = all3, .page_num = 1, .page_size = 10};
	expect_page(v, q, 5, "alpha/n1,alpha/n2,zeta/gpu-x,zeta/n1,zeta/n2");
	q.desc = true;
	expect_page(v, q, 5, "zeta/n2,zeta/n1,zeta/gpu-x,alpha/n2,alpha/n1");
	bool only_zeta[3] = {true, false, false};
	q.clusters = only_zeta;
	q.desc = false;
	expect_page(v, q, 3, "zeta/gpu-x,zeta/n1,zeta/n2");
	hub_view_free(v);
}

static void test_query_pagination_edges(void **state)
{
	(void)state;
	hub_view *v = query_fixture();
	hub_node_query q = {.clusters = all3, .page_num = 2, .page_size = 2};
	expect_page(v, q, 5, "zeta/gpu-x,zeta/n1");
	q.page_num = 3; /* the last page is partial */
	expect_page(v, q, 5, "zeta/n2");
	q.page_num = 4; /* beyond the end: empty, total still right */
	expect_page(v, q, 5, "");
	q.page_num = 10000000;
	q.page_size = 1000;
	expect_page(v, q, 5, "");
	q.page_num = 3;
	q.page_size = 2;
	q.desc = true;
	expect_page(v, q, 5, "alpha/n1");
	q.page_num = 1;
	q.page_size = 1;
	expect_page(v, q, 5, "zeta/n2");
	bool none[3] = {false, false, false};
	q.clusters = none;
	expect_page(v, q, 0, "");
	hub_view_free(v);
}

static void test_query_filters(void **state)
{
	(void)state;
	hub_view *v = query_fixture();
	hub_node_query q = {.clusters = all3, .page_num = 1, .page_size = 10, .name = "n"};
	expect_page(v, q, 4, "alpha/n1,alpha/n2,zeta/n1,zeta/n2");
	q.desc = true; /* filtered, reversed, paged: desc order is zeta/n2,zeta/n1,alpha/n2,alpha/n1 */
	q.page_size = 3;
	q.page_num = 2;
	expect_page(v, q, 4, "alpha/n1");
	q.page_num = 1;
	expect_page(v, q, 4, "zeta/n2,zeta/n1,alpha/n2");
	q.desc = false;
	q.page_size = 10;
	q.name = "2";
	expect_page(v, q, 2, "alpha/n2,zeta/n2");
	q.name = "gpu-";
	expect_page(v, q, 1, "zeta/gpu-x");
	q.name = NULL;
	q.gpu_name = "NVIDIA H100";
	expect_page(v, q, 1, "zeta/gpu-x");
	q.gpu_name = "NVIDIA"; /* exact, not a prefix */
	expect_page(v, q, 0, "");
	q.gpu_name = NULL;
	q.statuses[0] = "NotReady";
	q.statuses[1] = "Unknown";
	q.n_statuses = 2;
	expect_page(v, q, 2, "zeta/gpu-x,zeta/n2");
	q.statuses[0] = "Ready";
	q.n_statuses = 1;
	q.name = "1";
	expect_page(v, q, 2, "alpha/n1,zeta/n1");
	hub_view_free(v);
}

static void test_query_every_order(void **state)
{
	(void)state;
	hub_view *v = query_fixture();
	hub_node_query q = {.clusters = all3, .page_num = 1, .page_size = 10, .order = HUB_ORDER_NAME};
	expect_page(v, q, 5, "zeta/gpu-x,alpha/n1,zeta/n1,alpha/n2,zeta/n2");
	q.order = HUB_ORDER_GPU_COUNT; /* 2:a/n1 4:z/n2 8:a/n2 z/gpu-x z/n1 */
	expect_page(v, q, 5, "alpha/n1,zeta/n2,alpha/n2,zeta/gpu-x,zeta/n1");
	q.desc = true;
	expect_page(v, q, 5, "zeta/n1,zeta/gpu-x,alpha/n2,zeta/n2,alpha/n1");
	q.desc = false;
	q.order = HUB_ORDER_GPU_ALLOCATION; /* 0:z/gpu-x 1:a/n1 2:z/n1 4:z/n2 8:a/n2 */
	expect_page(v, q, 5, "zeta/gpu-x,alpha/n1,zeta/n1,zeta/n2,alpha/n2");
	q.order = HUB_ORDER_GPU_UTILIZATION; /* none:z/n2 10:a/n2 30:z/n1 50:a/n1 90:z/gpu-x */
	expect_page(v, q, 5, "zeta/n2,alpha/n2,zeta/n1,alpha/n1,zeta/gpu-x");
	q.order = HUB_ORDER_STATUS; /* NotReady < Ready < Unknown */
	expect_page(v, q, 5, "zeta/n2,alpha/n1,alpha/n2,zeta/n1,zeta/gpu-x");
	q.order = HUB_ORDER_STATUS;
	q.page_num = 2;
	q.page_size = 3;
	q.desc = true;
	expect_page(v, q, 5, "alpha/n1,zeta/n2");
	hub_view_free(v);
}

/* The text a node record and a snapshot carry for the API is what the routes would write. */
static void test_answer_texts_are_written_once_per_record(void **state)
{
	(void)state;
	hub_view *v = query_fixture();
	hub_node_query q = {.clusters = all3, .page_num = 1, .page_size = 10};
	hub_node_page p;
	assert_int_equal(hub_view_query_nodes(v, &q, &p), FL_OK);
	const char *want[5] = {
	    "{\"name\":\"n1\",\"ip\":\"10.0.0.2\",\"gpu_name\":\"AMD Instinct "
	    "MI300X\",\"gpu_count\":2,\"gpu_allocation\":1,"
	    "\"gpu_utilization\":50.0,\"status\":\"Ready\",\"cluster_name\":",
	    "{\"name\":\"n2\",\"ip\":\"10.0.0.2\",\"gpu_name\":\"AMD Instinct "
	    "MI300X\",\"gpu_count\":8,\"gpu_allocation\":8,"
	    "\"gpu_utilization\":10.0,\"status\":\"Ready\",\"cluster_name\":",
	    "{\"name\":\"gpu-x\",\"ip\":\"10.0.0.5\",\"gpu_name\":\"NVIDIA H100\",\"gpu_count\":8,\"gpu_allocation\":0,"
	    "\"gpu_utilization\":90.0,\"status\":\"Unknown\",\"cluster_name\":",
	    NULL,
	    "{\"name\":\"n2\",\"ip\":\"10.0.0.2\",\"gpu_name\":\"AMD Instinct "
	    "MI300X\",\"gpu_count\":4,\"gpu_allocation\":4,"
	    "\"gpu_utilization\":null,\"status\":\"NotReady\",\"cluster_name\":"};
	assert_int_equal(p.n_rows, 5);
	for (size_t k = 0; k < 5; k++) {
		const hub_view_node *n = p.rows[k].node;
		assert_int_equal(strlen(hub_view_str(n, n->row)), n->row_len);
		if (want[k] != NULL)
			assert_string_equal(hub_view_str(n, n->row), want[k]);
	}
	hub_node_page_free(&p);

	/* Strings are escaped once, in the record. */
	fl_proto_frame f;
	frame_init(&f, "mid", "s", 1, 1, FL_FRAME_FULL, 1, 0);
	set_node(&f.nodes[0], "q", 1, 0, 12.25, "Ready");
	snprintf(f.nodes[0].gpu_name, sizeof(f.nodes[0].gpu_name), "say \"hi\" \\ \x01");
	f.has_overview = true;
	f.overview.total_nodes = 1;
	f.overview.allocation_rate = 12.5;
	assert_int_equal(hub_view_apply(v, &f, 1500, -1), FL_OK);
	fl_proto_frame_free(&f);
	hub_view_snap *s = hub_view_get(v, 2);
	assert_string_equal(
	    hub_view_str(s->nodes[0], s->nodes[0]->row),
	    "{\"name\":\"q\",\"ip\":\"10.0.0.1\",\"gpu_name\":\"say \\\"hi\\\" \\\\ \\u0001\",\"gpu_count\":1,"
	    "\"gpu_allocation\":0,\"gpu_utilization\":12.25,\"status\":\"Ready\",\"cluster_name\":");
	/* The overview answer without its closing brace: Lens fields, updatedAt (the hub time it arrived), cluster. */
	assert_non_null(s->overview_text);
	assert_int_equal(strlen(s->overview_text), s->overview_len + 1);
	assert_int_equal(s->overview_text[s->overview_len], '}');
	assert_true(strncmp(s->overview_text, "{\"totalNodes\":1,", 15) == 0);
	assert_non_null(strstr(s->overview_text, "\"allocationRate\":12.5,"));
	const char *tail = ",\"updatedAt\":\"1970-01-01T00:00:01.500Z\",\"cluster\":\"mid\"}";
	assert_string_equal(s->overview_text + strlen(s->overview_text) - strlen(tail), tail);
	hub_view_release(s);
	s = hub_view_get(v, 0); /* zeta: no overview, no text */
	assert_null(s->overview_text);
	hub_view_release(s);
	hub_view_free(v);
}

/* Full frames that switch alpha between 3 and 5 nodes while another thread reads pages in the default
 * order: every page must be one of the two consistent answers (its rows and total from one snapshot of
 * alpha), never a mix. */
typedef struct flip_ctx {
	hub_view *v;
	_Atomic int stop;
	_Atomic int frames;
} flip_ctx;

static void *flip_alpha(void *arg)
{
	flip_ctx *c = arg;
	static const char *const names[5] = {"a1", "a2", "a3", "a4", "a5"};
	for (uint64_t seq = 2; !atomic_load(&c->stop); seq++) {
		uint32_t n = seq % 2 ? 5 : 3;
		fl_proto_frame f;
		frame_init(&f, "alpha", "flip", seq, (int64_t)seq, FL_FRAME_FULL, n, 0);
		for (uint32_t k = 0; k < n; k++)
			set_node(&f.nodes[k], names[k], 8, 1, 20, "Ready");
		if (hub_view_apply(c->v, &f, (int64_t)seq, -1) == FL_OK)
			atomic_fetch_add(&c->frames, 1);
		fl_proto_frame_free(&f);
	}
	return NULL;
}

static void test_query_pages_stay_consistent_while_frames_land(void **state)
{
	(void)state;
	hub_view *v;
	assert_int_equal(hub_view_new(&cfg, &v), FL_OK);
	fl_proto_frame f;
	frame_init(&f, "zeta", "s", 1, 1, FL_FRAME_FULL, 3, 0);
	set_node(&f.nodes[0], "n1", 8, 2, 30, "Ready");
	set_node(&f.nodes[1], "n2", 4, 4, -1, "NotReady");
	set_node(&f.nodes[2], "gpu-x", 8, 0, 90, "Unknown");
	assert_int_equal(hub_view_apply(v, &f, 1, -1), FL_OK);
	fl_proto_frame_free(&f);
	frame_init(&f, "alpha", "flip", 1, 1, FL_FRAME_FULL, 3, 0);
	for (int k = 0; k < 3; k++)
		set_node(&f.nodes[k], (const char *[]){"a1", "a2", "a3"}[k], 8, 1, 20, "Ready");
	assert_int_equal(hub_view_apply(v, &f, 1, -1), FL_OK);
	fl_proto_frame_free(&f);
	flip_ctx c = {.v = v};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, flip_alpha, &c), 0);
	/* (page_num, desc) → the page when alpha has 3 nodes, and when it has 5 (page_size 2). */
	static const struct {
		int64_t page;
		bool desc;
		const char *three, *five;
	} cases[] = {
	    {2, false, "alpha/a3,zeta/gpu-x", "alpha/a3,alpha/a4"},
	    {3, false, "zeta/n1,zeta/n2", "alpha/a5,zeta/gpu-x"},
	    {2, true, "zeta/gpu-x,alpha/a3", "zeta/gpu-x,alpha/a5"},
	    {4, true, "", "alpha/a2,alpha/a1"},
	};
	int seen[2] = {0, 0};
	/* At least 20,000 pages, and on until the writer has landed a few frames (on a loaded machine it may
	 * not have run yet): bounded by a count, not a clock. */
	for (long r = 0; r < 20000 || (atomic_load(&c.frames) < 4 && r < 200000000L); r++) {
		hub_node_query q = {
		    .clusters = all3, .page_num = cases[r % 4].page, .page_size = 2, .desc = cases[r % 4].desc};
		hub_node_page p;
		assert_int_equal(hub_view_query_nodes(v, &q, &p), FL_OK);
		if (p.total != 6 && p.total != 8)
			fail_msg("total %zu", p.total);
		const char *want = p.total == 6 ? cases[r % 4].three : cases[r % 4].five;
		if (strcmp(page_str(&p), want) != 0)
			fail_msg("page %d desc %d total %zu: '%s', want '%s'", (int)q.page_num, (int)q.desc, p.total,
			         page_str(&p), want);
		seen[p.total == 8]++;
		hub_node_page_free(&p);
	}
	atomic_store(&c.stop, 1);
	pthread_join(t, NULL);
	print_message("pages read: %d with 3 alpha nodes, %d with 5; %d frames applied meanwhile\n", seen[0], seen[1],
	              atomic_load(&c.frames));
	assert_true(atomic_load(&c.frames) > 0);
	hub_view_free(v);
}

/* 100 clusters x 60 nodes = 6,000 rows sorted per request: how long it takes. */
static void test_query_sorting_6000_rows_is_fast(void **state)
{
	(void)state;
	enum { C = 100, N = 60 };
	hub_config big;
	memset(&big, 0, sizeof(big));
	big.clusters = calloc(C, sizeof(*big.clusters));
	big.n_clusters = C;
	for (int c = 0; c < C; c++)
		snprintf(big.clusters[c].name, sizeof(big.clusters[c].name), "cluster-%03d", (c * 37) % C);
	hub_view *v;
	assert_int_equal(hub_view_new(&big, &v), FL_OK);
	for (int c = 0; c < C; c++) {
		fl_proto_frame f;
		frame_init(&f, big.clusters[c].name, "s", 1, 1, FL_FRAME_FULL, N, 0);
		for (int i = 0; i < N; i++) {
			char name[64];
			snprintf(name, sizeof(name), "node-%04d", (i * 7919) % 1000);
			set_node(&f.nodes[i], name, 8, (i * 31 + c) % 9, ((i * 13 + c) % 1000) / 10.0, "Ready");
		}
		assert_int_equal(hub_view_apply(v, &f, 1, -1), FL_OK);
		fl_proto_frame_free(&f);
	}
	bool *all = calloc(C, sizeof(bool));
	for (int c = 0; c < C; c++)
		all[c] = true;
	const hub_node_order orders[] = {HUB_ORDER_CLUSTER_NAME, HUB_ORDER_NAME, HUB_ORDER_GPU_UTILIZATION,
	                                 HUB_ORDER_GPU_ALLOCATION};
	for (size_t o = 0; o < sizeof(orders) / sizeof(orders[0]); o++) {
		hub_node_query q = {.clusters = all, .page_num = 3, .page_size = 100, .order = orders[o], .desc = true};
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		enum { R = 200 };
		for (int r = 0; r < R; r++) {
			hub_node_page p;
			assert_int_equal(hub_view_query_nodes(v, &q, &p), FL_OK);
			assert_int_equal(p.total, C * N);
			assert_int_equal(p.n_rows, 100);
			for (size_t k = 1; orders[o] == HUB_ORDER_GPU_UTILIZATION && k < p.n_rows; k++)
				assert_true(p.rows[k - 1].node->gpu_utilization >= p.rows[k].node->gpu_utilization);
			hub_node_page_free(&p);
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		double us = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / 1e3 / R;
		print_message("query over %d rows, order %d: %.0f us per request\n", C * N, (int)orders[o], us);
		assert_true(us < 20000); /* generous: sanitizer builds are slow; the plain figure is printed */

		/* The heap path (page 11 of 100: 1,100 rows needed) equals the full sort (page 2 of 1,000). */
		hub_node_page heap, full;
		q.page_num = 11;
		assert_int_equal(hub_view_query_nodes(v, &q, &heap), FL_OK);
		q.page_num = 2;
		q.page_size = 1000;
		assert_int_equal(hub_view_query_nodes(v, &q, &full), FL_OK);
		assert_int_equal(heap.n_rows, 100);
		for (size_t k = 0; k < heap.n_rows; k++) {
			assert_ptr_equal(heap.rows[k].node, full.rows[k].node);
			assert_ptr_equal(heap.rows[k].snap, full.rows[k].snap);
		}
		hub_node_page_free(&heap);
		hub_node_page_free(&full);
	}
	free(all);
	hub_view_free(v);
	free(big.clusters);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_frame_replaces_nodes_and_groups_gpus),
	    cmocka_unit_test(test_slots_added_and_cleared),
	    cmocka_unit_test(test_delta_upserts_keeps_gpus_and_removes_nodes),
	    cmocka_unit_test(test_heartbeat_moves_time_only),
	    cmocka_unit_test(test_older_frames_do_not_overwrite_newer_rows),
	    cmocka_unit_test(test_load_seeds_rows_time_and_version),
	    cmocka_unit_test(test_node_with_8_gpus_and_its_indexes_cost_under_1_2_kib),
	    cmocka_unit_test(test_query_default_order_is_cluster_then_name),
	    cmocka_unit_test(test_query_pagination_edges),
	    cmocka_unit_test(test_query_filters),
	    cmocka_unit_test(test_query_every_order),
	    cmocka_unit_test(test_answer_texts_are_written_once_per_record),
	    cmocka_unit_test(test_query_pages_stay_consistent_while_frames_land),
	    cmocka_unit_test(test_query_sorting_6000_rows_is_fast),
	    cmocka_unit_test(test_rows_generation_chains_and_facts_compare),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
