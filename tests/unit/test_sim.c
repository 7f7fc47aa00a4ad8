/* test_sim.c — the sim source: deterministic, changes over time, exercises every overview rule and
 * never breaks the cluster invariants (allocation within allocatable, unique names, `nodes` GPU nodes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "spoke_model.h"
#include "spoke_overview.h"
#include "spoke_sim.h"

static void fill(uint32_t nodes, uint32_t gpus, uint64_t seed, uint64_t tick, spoke_model *m)
{
	spoke_sim_config cfg;
	spoke_sim_config_default(&cfg);
	cfg.nodes = nodes;
	cfg.gpus_per_node = gpus;
	cfg.seed = seed;
	char err[FL_ERR_LEN] = "";
	int rv = spoke_sim_fill(&cfg, tick, m, err);
	if (rv != FL_OK) {
		fail_msg("spoke_sim_fill: %s", err);
	}
}

static void overview(const spoke_model *m, spoke_overview_result *r)
{
	spoke_overview_rules rules;
	spoke_overview_rules_default(&rules);
	char err[FL_ERR_LEN];
	assert_int_equal(spoke_overview_compute(m, &rules, r, err), FL_OK);
}

static bool resources_equal(const spoke_resources *a, const spoke_resources *b)
{
	if (a->n != b->n) {
		return false;
	}
	for (uint32_t i = 0; i < a->n; i++) {
		if (strcmp(a->items[i].name, b->items[i].name) != 0 || a->items[i].value != b->items[i].value) {
			return false;
		}
	}
	return true;
}

static bool containers_equal(const spoke_container *a, const spoke_container *b, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		if (strcmp(a[i].name, b[i].name) != 0 || !resources_equal(&a[i].requests, &b[i].requests)) {
			return false;
		}
	}
	return true;
}

static bool models_equal(const spoke_model *a, const spoke_model *b)
{
	if (a->n_nodes != b->n_nodes || a->n_pods != b->n_pods || a->n_gpus != b->n_gpus ||
	    strcmp(a->k8s_version, b->k8s_version) != 0 || memcmp(&a->storage, &b->storage, sizeof(a->storage)) != 0) {
		return false;
	}
	for (uint32_t i = 0; i < a->n_nodes; i++) {
		const spoke_node *x = &a->nodes[i], *y = &b->nodes[i];
		if (strcmp(x->name, y->name) != 0 || strcmp(x->internal_ip, y->internal_ip) != 0 ||
		    strcmp(x->gpu_product, y->gpu_product) != 0 || strcmp(x->ready, y->ready) != 0 ||
		    x->unschedulable != y->unschedulable || x->n_taints != y->n_taints ||
		    !resources_equal(&x->capacity, &y->capacity) ||
		    !resources_equal(&x->allocatable, &y->allocatable) ||
		    x->cpu_allocatable_millis != y->cpu_allocatable_millis ||
		    x->memory_allocatable_bytes != y->memory_allocatable_bytes) {
			return false;
		}
		for (uint32_t t = 0; t < x->n_taints; t++) {
			if (strcmp(x->taints[t].key, y->taints[t].key) != 0 ||
			    strcmp(x->taints[t].value, y->taints[t].value) != 0 ||
			    strcmp(x->taints[t].effect, y->taints[t].effect) != 0) {
				return false;
			}
		}
	}
	for (uint32_t i = 0; i < a->n_pods; i++) {
		const spoke_pod *x = &a->pods[i], *y = &b->pods[i];
		if (strcmp(x->uid, y->uid) != 0 || strcmp(x->ns, y->ns) != 0 || strcmp(x->name, y->name) != 0 ||
		    strcmp(x->node_name, y->node_name) != 0 || strcmp(x->phase, y->phase) != 0 ||
		    x->terminating != y->terminating || x->n_containers != y->n_containers ||
		    x->n_init_containers != y->n_init_containers ||
		    !containers_equal(x->containers, y->containers, x->n_containers) ||
		    !containers_equal(x->init_containers, y->init_containers, x->n_init_containers)) {
			return false;
		}
	}
	for (uint32_t i = 0; i < a->n_gpus; i++) {
		const spoke_gpu *x = &a->gpus[i], *y = &b->gpus[i];
		if (strcmp(x->node, y->node) != 0 || x->gpu_id != y->gpu_id ||
		    strcmp(x->gpu_model, y->gpu_model) != 0 || x->memory_mib != y->memory_mib ||
		    x->has_utilization != y->has_utilization || x->utilization != y->utilization ||
		    x->temperature != y->temperature || x->power != y->power || strcmp(x->serial, y->serial) != 0 ||
		    x->numa != y->numa) {
			return false;
		}
	}
	return true;
}

static void test_sim_same_seed_and_tick_give_identical_model(void **state)
{
	(void)state;
	spoke_model a, b;
	fill(50, 8, 7, 3, &a);
	fill(50, 8, 7, 3, &b);
	assert_true(models_equal(&a, &b));
	spoke_model_free(&b);
	fill(50, 8, 8, 3, &b); /* another seed: another cluster */
	assert_false(models_equal(&a, &b));
	spoke_model_free(&a);
	spoke_model_free(&b);
}

static void test_sim_different_tick_changes_the_model(void **state)
{
	(void)state;
	spoke_model a, b;
	fill(50, 8, 1, 0, &a);
	fill(50, 8, 1, 1, &b);
	assert_false(models_equal(&a, &b));
	/* Utilization moves every tick. */
	uint32_t changed = 0;
	assert_int_equal(a.n_gpus, b.n_gpus);
	for (uint32_t i = 0; i < a.n_gpus; i++) {
		changed += a.gpus[i].utilization != b.gpus[i].utilization;
	}
	assert_true(changed > a.n_gpus / 2);
	spoke_model_free(&b);

	/* Node conditions move too, on a slower clock. */
	fill(50, 8, 1, 100, &b);
	uint32_t ready_changed = 0;
	for (uint32_t i = 0; i < a.n_nodes; i++) {
		ready_changed += strcmp(a.nodes[i].ready, b.nodes[i].ready) != 0;
	}
	assert_true(ready_changed > 0);
	spoke_model_free(&a);
	spoke_model_free(&b);
}

static bool has_taint(const spoke_node *n, const char *key)
{
	for (uint32_t t = 0; t < n->n_taints; t++) {
		if (strcmp(n->taints[t].key, key) == 0) {
			return true;
		}
	}
	return false;
}

static void test_sim_every_condition_appears_at_200_nodes(void **state)
{
	(void)state;
	spoke_model m;
	fill(200, 8, 1, 0, &m);
	spoke_overview_rules rules;
	spoke_overview_rules_default(&rules);
	spoke_overview_result r;
	overview(&m, &r);

	uint32_t not_ready = 0, unknown = 0, cordoned = 0, fault_taint = 0, benign_taint = 0, gpu_lost = 0, amd = 0,
	         nvidia = 0, cpu_only = 0, mi300x = 0, h100 = 0;
	for (uint32_t i = 0; i < m.n_nodes; i++) {
		const spoke_node *n = &m.nodes[i];
		if (!r.nodes[i].is_gpu_node) {
			cpu_only++;
			assert_int_equal(n->gpu_product[0], '\0');
			continue;
		}
		not_ready += strcmp(n->ready, "False") == 0;
		unknown += strcmp(n->ready, "Unknown") == 0;
		cordoned += n->unschedulable;
		bool ok = strcmp(n->ready, "True") == 0 && !n->unschedulable;
		fault_taint += ok && has_taint(n, "fleetlens.io/gpu-fault") && r.nodes[i].faulty;
		benign_taint +=
		    ok && (has_taint(n, "amd.com/gpu") || has_taint(n, "nvidia.com/gpu")) && !r.nodes[i].faulty;
		int64_t cap = spoke_resources_get(&n->capacity, "amd.com/gpu") +
		              spoke_resources_get(&n->capacity, "nvidia.com/gpu");
		gpu_lost += r.nodes[i].allocatable_gpus < cap;
		amd += spoke_resources_get(&n->allocatable, "amd.com/gpu") > 0;
		nvidia += spoke_resources_get(&n->allocatable, "nvidia.com/gpu") > 0;
		mi300x += strcmp(n->gpu_product, "AMD Instinct MI300X") == 0;
		h100 += strcmp(n->gpu_product, "NVIDIA H100 80GB HBM3") == 0;
	}
	/* Each faulty kind takes 1 in 20 GPU nodes: 10 of 200. */
	assert_int_equal(not_ready, 10);
	assert_int_equal(unknown, 10);
	assert_int_equal(cordoned, 10);
	assert_int_equal(fault_taint, 10);
	assert_int_equal(benign_taint, 20);
	assert_int_equal(gpu_lost, 10);
	assert_true(amd > 50 && nvidia > 50);
	assert_int_equal(amd + nvidia, 200);
	assert_int_equal(mi300x, amd);
	assert_int_equal(h100, nvidia);
	assert_int_equal(cpu_only, 20);

	uint32_t running = 0, pending_bound = 0, pending_unbound = 0, succeeded = 0, failed = 0, terminating = 0,
	         init_larger = 0;
	for (uint32_t p = 0; p < m.n_pods; p++) {
		const spoke_pod *pod = &m.pods[p];
		running += strcmp(pod->phase, "Running") == 0;
		pending_bound += strcmp(pod->phase, "Pending") == 0 && pod->node_name[0] != '\0';
		pending_unbound += strcmp(pod->phase, "Pending") == 0 && pod->node_name[0] == '\0';
		succeeded += strcmp(pod->phase, "Succeeded") == 0;
		failed += strcmp(pod->phase, "Failed") == 0;
		terminating += pod->terminating;
		int64_t sum = 0, init = 0;
		for (uint32_t c = 0; c < pod->n_containers; c++) {
			sum += spoke_resources_get(&pod->containers[c].requests, "amd.com/gpu") +
			       spoke_resources_get(&pod->containers[c].requests, "nvidia.com/gpu");
		}
		for (uint32_t c = 0; c < pod->n_init_containers; c++) {
			int64_t v = spoke_resources_get(&pod->init_containers[c].requests, "amd.com/gpu") +
			            spoke_resources_get(&pod->init_containers[c].requests, "nvidia.com/gpu");
			init = v > init ? v : init;
		}
		init_larger += init > sum && spoke_overview_pod_hold(pod, &rules) == init && init > 0;
	}
	assert_true(running > 0);
	assert_true(pending_bound > 0);
	assert_true(pending_unbound > 0);
	assert_true(succeeded > 0);
	assert_true(failed > 0);
	assert_true(terminating > 0);
	assert_true(init_larger > 0);
	assert_true(m.n_pods >= 3 * m.n_nodes && m.n_pods <= 10 * m.n_nodes);

	uint32_t no_util = 0;
	for (uint32_t g = 0; g < m.n_gpus; g++) {
		no_util += !m.gpus[g].has_utilization;
	}
	assert_true(no_util > 0 && no_util < m.n_gpus / 5);

	const fl_proto_overview *o = &r.overview;
	assert_int_equal(o->total_nodes, 200);
	assert_int_equal(o->faulty_nodes, 40);
	assert_true(o->fully_idle_nodes > 0 && o->partially_idle_nodes > 0 && o->busy_nodes > 0);
	assert_true(o->allocation_rate > 0 && o->allocation_rate < 100);
	assert_true(o->utilization > 0 && o->utilization < 100);
	assert_true(o->total_space > 0 && o->used_space > 0 && o->used_space < o->total_space);
	assert_true(o->total_inodes > 0 && o->used_inodes > 0);
	assert_true(o->read_bandwidth > 0 && o->write_bandwidth > 0 && o->total_tx > 0 && o->total_rx > 0);
	spoke_overview_result_free(&r);
	spoke_model_free(&m);
}

static void test_sim_small_cluster_has_faulty_and_healthy_nodes(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 20; seed++) {
		for (uint64_t tick = 0; tick < 100; tick += 20) {
			spoke_model m;
			fill(10, 8, seed, tick, &m);
			spoke_overview_result r;
			overview(&m, &r);
			assert_true(r.overview.faulty_nodes >= 1);
			assert_true(r.overview.healthy_nodes >= 5);
			spoke_overview_result_free(&r);
			spoke_model_free(&m);
		}
	}
}

static void test_sim_allocation_never_exceeds_allocatable(void **state)
{
	(void)state;
	static const uint32_t gpus[] = {1, 2, 3, 8, 64};
	for (size_t g = 0; g < sizeof(gpus) / sizeof(gpus[0]); g++) {
		for (uint64_t tick = 0; tick < 40; tick += 3) {
			spoke_model m;
			fill(60, gpus[g], 5 + g, tick, &m);
			spoke_overview_result r;
			overview(&m, &r);
			for (uint32_t i = 0; i < m.n_nodes; i++) {
				assert_true(r.nodes[i].allocated_gpus <= r.nodes[i].allocatable_gpus);
				assert_true(r.nodes[i].allocated_gpus >= 0);
			}
			spoke_overview_result_free(&r);
			spoke_model_free(&m);
		}
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void test_sim_node_names_unique(void **state)
{
	(void)state;
	spoke_model m;
	fill(2000, 2, 3, 0, &m);
	const char **names = malloc(m.n_nodes * sizeof(*names));
	assert_non_null(names);
	for (uint32_t i = 0; i < m.n_nodes; i++) {
		names[i] = m.nodes[i].name;
	}
	qsort(names, m.n_nodes, sizeof(*names), cmp_str);
	for (uint32_t i = 1; i < m.n_nodes; i++) {
		assert_true(strcmp(names[i - 1], names[i]) != 0);
	}
	free(names);
	spoke_model_free(&m);
}

static void test_sim_exactly_nodes_gpu_nodes(void **state)
{
	(void)state;
	static const uint32_t sizes[] = {1, 9, 10, 123};
	static const uint32_t gpus[] = {1, 8};
	for (size_t s = 0; s < 4; s++) {
		for (size_t g = 0; g < 2; g++) {
			spoke_model m;
			fill(sizes[s], gpus[g], 1, 40, &m);
			spoke_overview_result r;
			overview(&m, &r);
			uint32_t cpu = sizes[s] / 10 > 0 ? sizes[s] / 10 : 1;
			assert_int_equal(r.overview.total_nodes, sizes[s]);
			assert_int_equal(m.n_nodes, sizes[s] + cpu);
			/* Device rows match allocatable: a lost GPU has no row. */
			int64_t alloc = 0;
			for (uint32_t i = 0; i < m.n_nodes; i++) {
				alloc += r.nodes[i].allocatable_gpus;
			}
			assert_int_equal(m.n_gpus, alloc);
			spoke_overview_result_free(&r);
			spoke_model_free(&m);
		}
	}
}

static void test_sim_rejects_config_out_of_range(void **state)
{
	(void)state;
	spoke_sim_config cfg;
	spoke_sim_config_default(&cfg);
	spoke_model m;
	char err[FL_ERR_LEN];
	cfg.nodes = 0;
	assert_int_equal(spoke_sim_fill(&cfg, 0, &m, err), FL_EINVAL);
	assert_non_null(strstr(err, "nodes"));
	cfg.nodes = SPOKE_SIM_MAX_NODES + 1;
	assert_int_equal(spoke_sim_fill(&cfg, 0, &m, err), FL_EINVAL);
	cfg.nodes = 4;
	cfg.gpus_per_node = 65;
	assert_int_equal(spoke_sim_fill(&cfg, 0, &m, err), FL_EINVAL);
	assert_non_null(strstr(err, "gpus_per_node"));
	assert_int_equal(m.n_nodes, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sim_same_seed_and_tick_give_identical_model),
	    cmocka_unit_test(test_sim_different_tick_changes_the_model),
	    cmocka_unit_test(test_sim_every_condition_appears_at_200_nodes),
	    cmocka_unit_test(test_sim_small_cluster_has_faulty_and_healthy_nodes),
	    cmocka_unit_test(test_sim_allocation_never_exceeds_allocatable),
	    cmocka_unit_test(test_sim_node_names_unique),
	    cmocka_unit_test(test_sim_exactly_nodes_gpu_nodes),
	    cmocka_unit_test(test_sim_rejects_config_out_of_range),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
