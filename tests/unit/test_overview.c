/* test_overview.c — one test per overview rule (ARCHITECTURE.md "Overview rules"), each on a small
 * hand-built model with hand-computed expected values. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "spoke_model.h"
#include "spoke_overview.h"

#define assert_near(a, b) assert_true(fabs((double)(a) - (double)(b)) < 1e-9)

#define AMD "amd.com/gpu"
#define NV  "nvidia.com/gpu"

/* A Ready, schedulable, untainted node with `gpus` of resource res allocatable (and in capacity). */
static spoke_node *add_node(spoke_model *m, const char *name, const char *res, int64_t gpus)
{
	spoke_node *n;
	assert_int_equal(spoke_model_add_node(m, &n), FL_OK);
	snprintf(n->name, sizeof(n->name), "%s", name);
	snprintf(n->ready, sizeof(n->ready), "True");
	n->cpu_allocatable_millis = 64000;
	if (res != NULL) {
		assert_int_equal(spoke_resources_set(&n->capacity, res, gpus), FL_OK);
		assert_int_equal(spoke_resources_set(&n->allocatable, res, gpus), FL_OK);
	}
	assert_int_equal(spoke_resources_set(&n->allocatable, "cpu", 64000), FL_OK);
	return n;
}

/* A pod on node (NULL or "" = unbound) whose containers request c[0..nc) and init containers
 * i[0..ni) of res (a 0 entry requests only cpu). */
static spoke_pod *add_pod(spoke_model *m, const char *node, const char *phase, const char *res, const int64_t *c,
                          uint32_t nc, const int64_t *init, uint32_t ni)
{
	static unsigned serial;
	spoke_pod *p;
	assert_int_equal(spoke_model_add_pod(m, &p), FL_OK);
	snprintf(p->uid, sizeof(p->uid), "uid-%u", serial);
	snprintf(p->ns, sizeof(p->ns), "default");
	snprintf(p->name, sizeof(p->name), "pod-%u", serial++);
	snprintf(p->node_name, sizeof(p->node_name), "%s", node == NULL ? "" : node);
	snprintf(p->phase, sizeof(p->phase), "%s", phase);
	assert_int_equal(spoke_pod_alloc_containers(p, nc, ni), FL_OK);
	for (uint32_t k = 0; k < nc; k++) {
		assert_int_equal(spoke_resources_set(&p->containers[k].requests, "cpu", 1000), FL_OK);
		if (c[k] > 0) {
			assert_int_equal(spoke_resources_set(&p->containers[k].requests, res, c[k]), FL_OK);
		}
	}
	for (uint32_t k = 0; k < ni; k++) {
		if (init[k] > 0) {
			assert_int_equal(spoke_resources_set(&p->init_containers[k].requests, res, init[k]), FL_OK);
		}
	}
	return p;
}

/* A Running pod with one container requesting gpus of res on node. */
static spoke_pod *add_simple_pod(spoke_model *m, const char *node, const char *res, int64_t gpus)
{
	int64_t c[1] = {gpus};
	return add_pod(m, node, "Running", res, c, 1, NULL, 0);
}

static void add_gpu(spoke_model *m, const char *node, int32_t id, bool has, double util)
{
	spoke_gpu *g;
	assert_int_equal(spoke_model_add_gpu(m, &g), FL_OK);
	snprintf(g->node, sizeof(g->node), "%s", node);
	g->gpu_id = id;
	g->has_utilization = has;
	g->utilization = util;
}

static void compute(const spoke_model *m, spoke_overview_result *out)
{
	spoke_overview_rules rules;
	spoke_overview_rules_default(&rules);
	char err[FL_ERR_LEN];
	assert_int_equal(spoke_overview_compute(m, &rules, out, err), FL_OK);
	assert_int_equal(out->n_nodes, m->n_nodes);
}

static void test_overview_counts_init_container_requests(void **state)
{
	(void)state;
	spoke_model m = {0};
	add_node(&m, "a", AMD, 8);
	int64_t c1[2] = {1, 1}, i1[2] = {4, 2}; /* max(1+1, max(4,2)) = 4 */
	int64_t c2[1] = {3}, i2[1] = {1};       /* max(3, 1) = 3 */
	int64_t c3[2] = {2, 2}, i3[1] = {3};    /* max(2+2, 3) = 4 */
	spoke_overview_rules rules;
	spoke_overview_rules_default(&rules);
	assert_int_equal(spoke_overview_pod_hold(add_pod(&m, "a", "Running", AMD, c1, 2, i1, 2), &rules), 4);
	assert_int_equal(spoke_overview_pod_hold(add_pod(&m, "a", "Running", AMD, c2, 1, i2, 1), &rules), 3);
	assert_int_equal(spoke_overview_pod_hold(add_pod(&m, "a", "Pending", AMD, c3, 2, i3, 1), &rules), 4);
	spoke_overview_result r;
	compute(&m, &r);
	/* 4 + 3 + 4 = 11 on an 8-GPU node: busy, and the sum is not clamped. */
	assert_int_equal(r.nodes[0].allocated_gpus, 11);
	assert_int_equal(r.overview.gpus_allocated, 11);
	assert_int_equal(r.overview.busy_nodes, 1);
	spoke_overview_result_free(&r);
	spoke_model_free(&m);
}

static void test_overview_terminating_pod_still_holds_gpus(void **state)
{
	(void)state;
	spoke_model m = {0};
	add_node(&m, "a", NV, 8);
	add_simple_pod(&m, "a", NV, 2)->terminating = true;
	add_simple_pod(&m, "a", NV, 1);
	spoke_overview_result r;
	compute(&m, &r);
	assert_int_equal(r.nodes[0].allocated_gpus, 3);
	assert_int_equal(r.overview.gpus_allocated, 3);
	assert_near(r.overview.allocation_rate, 100.0 * 3 / 8);
	spoke_overview_result_free(&r);
	spoke_model_free(&m);
}

static void test_overview_succeeded_and_failed_pods_hold_nothing(void **state)
{
	(void)state;
	spoke_model m = {0};
	add_node(&m, "a", AMD, 8);
	int64_t four[1] = {4};
	add_pod(&m, "a", "Succeeded", AMD, four, 1, NULL, 0);
	add_pod(&m, "a", "Failed", AMD, four, 1, four, 1);
	add_pod(&m, "a", "Failed", AMD, four, 1, NULL, 0)->terminating = true;
	add_pod(&m, "a", "Unknown", AMD, four, 1, NULL, 0); /* neither Succeeded nor Failed: holds */
	add_simple_pod(&m, "a", AMD, 1);
	spoke_overview_result r;
	compute(&m, &r);
	assert_int_equal(r.nodes[0].allocated_gpus, 5);
	assert_int_equal(r.overview.partially_idle_nodes, 1);
	spoke_overview_result_free(&r);
	spoke_model_free(&m);
}

static void test_overview_unbound_pod_holds_nothing(void **state)
{
	(void)state;
	spoke_model m = {0};
	add_node(&m, "a", AMD, 8);
	int64_t eight[1] = {8};
	add_pod(&m, "", "Pending", AMD, eight, 1, NULL, 0);
	add_pod(&m, NULL, "Running", AMD, eight, 1, NULL, 0);
	add_simple_pod(&m, "gone-node", AMD, 8); /* bound to a node not in the model */
	spoke_overview_result r;
	compute(&m, &r);
	assert_int_equal(r.nodes[0].allocated_gpus, 0);
	assert_int_equal(r.overview.gpus_allocated, 0);
	assert_int_equal(r.overview.fully_idle_nodes, 1);
	assert_near(r.overview.allocation_rate, 0);
	spoke_overview_result_free(&r);
	spoke_model_free(&m);
}

static void test_overview_benign_taint_is_not_a_fault(void **state)
{
	(void)state;
	spoke_model m = {0};
	assert_int_equal(spoke_node_add_taint(add_node(&m, "a", AMD, 8), AMD, "present", "NoSchedule"), FL_OK);
	/* Any of the GPU resource names is benign, not only the node's own. */
	assert_int_equal(spoke_node_add_taint(add_node(&m, "b", NV, 8), "huawei.com/Ascend910", "", "NoSchedule"),
	                 FL_OK);
	spoke_overview_result r;
	compute(&m, &r);
	assert_false(r.nodes[0].faulty);
	assert_false(r.nodes[1].faulty);
	assert_int_equal(r.overview.total_nodes, 2);
	assert_int_equal(r.overview.healthy_nodes, 2);
	assert_int_equal(r.overview.faulty_nodes, 0);
	spoke_overview_result_free(&r);
	spoke_model_free(&m);
}

static void test_overview_fault_taint_makes_node_faulty(void **state)
{
	(void)state;
	spoke_model m = {0};
	spoke_node *n = add_node(&m, "a", AMD, 8);
	assert_int_equal(spoke_node_add_taint(n, AMD, "present", "NoSchedule"), FL_OK);
	assert_int_equal(spoke_node_add_taint(n, "fleetlens.io/gpu-fault", "xid-79", "NoSchedule"), FL_OK);
	assert_int_equal(
	    spoke_node_add_taint(add_node(&m, "b", AMD, 8), "node.kubernetes.io/unreachable", "", "NoExecute"), FL_OK);
	add_node(&m, "c", AMD, 8);
	spoke_overview_result r;
	compute(&m, &r);
	assert_true(r.nodes[0].faulty);
	assert_true(r.nodes[1].faulty);
	assert_false(r.nodes[2].faulty);
	assert_int_equal(r.overview.faulty_nodes, 2);
	assert_int_equal(r.overview.healthy_nodes, 1);
	spoke_overview_result_free(&r);
	spoke_model_free(&m);
}

static void test_overview_unschedulable_is_faulty(void **state)
{
	(void)state;
	spoke_model m = {0};
	add_node(&m, "a", NV, 8)->unschedulable = true;
	add_node(&m, "b", NV, 8);
	spoke_overview_result r;
	compute(&m, &r);
	assert_true(r.nodes[0].faulty);
	assert_false(r.nodes[1].faulty);
	assert_int_equal(r.overview.total_nodes, 2);
	assert_int_equal(r.overview.faulty_nodes, 1);
	spoke_overview_result_free(&r);
	spoke_model_free(&m);
}

static void test_overview_not_ready_and_unknown_are_faulty(void **state)
{
	(void)state;
	spoke_model m = {0};
	snprintf(add_node(&m, "a", AMD, 8)->ready, SPOKE_READY_LEN, "False");
	snprintf(add_node(&m, "b", AMD, 8)->ready, SPOKE_READY_LEN, "Unknown");
	snprintf(add_node(&m, "c", AMD, 8)->ready, SPOKE_READY_LEN, "%s", ""); /* no Ready condition */
	add_node(&m, "d", AMD, 8);
	spoke_overview_result r;
	compute(&m, &r);
	assert_true(r.nodes[0].faulty);
	assert_true(r.nodes[1].faulty);
	assert_true(r.nodes[2].faulty);
	assert_false(r.nodes[3].faulty);
	assert_int_equal(r.overview.total_nodes, 4);
	assert_int_equal(r.overview.faulty_nodes, 3);
	assert_int_equal(r.overview.healthy_nodes, 1);
	spoke_overview_result_free(&r);
	spoke_model_free(&m);
}

static void test_overview_non_gpu_node_not_counted(void **state)
{
	(void)state;
	spoke_model m = {0};
	snprintf(add_node(&m, "cpu", NULL, 0)->ready, SPOKE_READY_LEN, "False");
	spoke_node *zero = add_node(&m, "zero", NV, 0); /* allocatable 0 even with capacity 8 */
	assert_int_equal(spoke_resources_set(&zero->capacity, NV, 8), FL_OK);
	add_node(&m, "other", "example.com/fpga", 4); /* not a configured GPU resource */
	add_node(&m, "gpu", AMD, 4);
	add_simple_pod(&m, "cpu", AMD, 2); /* a GPU pod on a CPU node does not count either */
	spoke_overview_result r;
	compute(&m, &r);
	assert_false(r.nodes[0].is_gpu_node);
	assert_true(r.nodes[0].faulty); /* faulty is still reported for the row */
	assert_false(r.nodes[1].is_gpu_node);
	assert_false(r.nodes[2].is_gpu_node);
	assert_true(r.nodes[3].is_gpu_node);
	assert_int_equal(r.overview.total_nodes, 1);
	assert_int_equal(r.overview.faulty_nodes, 0);
	assert_int_equal(r.overview.gpus_allocatable, 4);
	assert_int_equal(r.overview.gpus_allocated, 0);
	spoke_overview_result_free(&r);
	spoke_model_free(&m);
}

static void test_overview_allocation_rate_over_healthy_nodes_only(void **state)
{
	(void)state;
	spoke_model m = {0};
	add_node(&m, "a", AMD, 8);
	add_node(&m, "b", NV, 4);
	snprintf(add_node(&m, "c", AMD, 8)->ready, SPOKE_READY_LEN, "False");
	add_simple_pod(&m, "a", AMD, 2);
	add_simple_pod(&m, "b", NV, 4);
	add_simple_pod(&m, "c", AMD, 8); /* faulty node: neither numerator nor denominator */
	spoke_overview_result r;
	compute(&m, &r);
	assert_int_equal(r.nodes[2].allocated_gpus, 8);
	assert_int_equal(r.overview.gpus_allocatable, 12);
	assert_int_equal(r.overview.gpus_allocated, 6);
	assert_near(r.overview.allocation_rate, 50.0);
	spoke_overview_result_free(&r);
	spoke_model_free(&m);
}

static void test_overview_idle_buckets(void **state)
{
	(void)state;
	spoke_model m = {0};
	add_node(&m, "idle", AMD, 8);
	add_node(&m, "part", AMD, 8);
	add_node(&m, "full", AMD, 8);
	add_node(&m, "over", NV, 4);
	add_node(&m, "sick", AMD, 8)->unschedulable = true; /* idle but faulty: in no bucket */
	add_simple_pod(&m, "part", AMD, 3);
	add_simple_pod(&m, "full", AMD, 8);
	add_simple_pod(&m, "over", NV, 4);
	add_simple_pod(&m, "over", NV, 1);
	spoke_overview_result r;
	compute(&m, &r);
	assert_int_equal(r.overview.fully_idle_nodes, 1);
	assert_int_equal(r.overview.partially_idle_nodes, 1);
	assert_int_equal(r.overview.busy_nodes, 2);
	assert_int_equal(r.overview.healthy_nodes, 4);
	assert_int_equal(r.overview.faulty_nodes, 1);
	spoke_overview_result_free(&r);
	spoke_model_free(&m);
}

static void test_overview_utilization_mean_over_reporting_gpus(void **state)
{
	(void)state;
	spoke_model m = {0};
	add_node(&m, "a", AMD, 2);
	add_node(&m, "b", AMD, 2);
	snprintf(add_node(&m, "c", AMD, 2)->ready, SPOKE_READY_LEN, "False");
	add_gpu(&m, "a", 0, true, 10);
	add_gpu(&m, "a", 1, true, 20);
	add_gpu(&m, "b", 0, true, 60);
	add_gpu(&m, "b", 1, false, 99); /* no utilization: ignored even though a value is there */
	add_gpu(&m, "c", 0, true, 50);  /* a faulty node's GPU still counts */
	add_gpu(&m, "c", 1, false, 0);
	spoke_overview_result r;
	compute(&m, &r);
	assert_near(r.overview.utilization, (10 + 20 + 60 + 50) / 4.0);
	assert_near(r.nodes[0].utilization, 15);
	assert_true(r.nodes[0].has_utilization);
	assert_near(r.nodes[1].utilization, 60);
	assert_near(r.nodes[2].utilization, 50);
	spoke_overview_result_free(&r);

	/* A node whose GPUs report nothing has no utilization. */
	m.gpus[0].has_utilization = m.gpus[1].has_utilization = false;
	compute(&m, &r);
	assert_false(r.nodes[0].has_utilization);
	assert_near(r.nodes[0].utilization, 0);
	assert_near(r.overview.utilization, (60 + 50) / 2.0);
	spoke_overview_result_free(&r);
	spoke_model_free(&m);
}

static void test_overview_no_gpu_nodes_gives_zero_rates(void **state)
{
	(void)state;
	spoke_model m = {0};
	spoke_overview_result r;
	compute(&m, &r); /* empty model */
	assert_int_equal(r.overview.total_nodes, 0);
	assert_near(r.overview.allocation_rate, 0);
	assert_near(r.overview.utilization, 0);
	assert_near(r.overview.usage_percentage, 0);
	assert_near(r.overview.inodes_usage_percentage, 0);
	spoke_overview_result_free(&r);

	add_node(&m, "cpu", NULL, 0);
	snprintf(add_node(&m, "sick", AMD, 8)->ready, SPOKE_READY_LEN, "Unknown"); /* GPU node, none healthy */
	add_simple_pod(&m, "sick", AMD, 8);
	compute(&m, &r);
	assert_int_equal(r.overview.total_nodes, 1);
	assert_int_equal(r.overview.healthy_nodes, 0);
	assert_int_equal(r.overview.gpus_allocatable, 0);
	assert_near(r.overview.allocation_rate, 0);
	assert_near(r.overview.utilization, 0);
	spoke_overview_result_free(&r);
	spoke_model_free(&m);
}

static void test_overview_allocatable_below_capacity_uses_allocatable(void **state)
{
	(void)state;
	spoke_model m = {0};
	spoke_node *n = add_node(&m, "a", AMD, 7);
	assert_int_equal(spoke_resources_set(&n->capacity, AMD, 8), FL_OK); /* one GPU lost */
	add_simple_pod(&m, "a", AMD, 4);
	add_simple_pod(&m, "a", AMD, 3);
	spoke_overview_result r;
	compute(&m, &r);
	assert_int_equal(r.nodes[0].allocatable_gpus, 7);
	assert_int_equal(r.overview.gpus_allocatable, 7);
	assert_int_equal(r.overview.busy_nodes, 1);
	assert_near(r.overview.allocation_rate, 100.0);
	spoke_overview_result_free(&r);
	spoke_model_free(&m);
}

static void test_overview_custom_gpu_resource_names(void **state)
{
	(void)state;
	spoke_overview_rules rules = {0};
	snprintf(rules.gpu_resources[0], sizeof(rules.gpu_resources[0]), "example.com/npu");
	snprintf(rules.gpu_resources[1], sizeof(rules.gpu_resources[1]), "example.com/tpu");
	rules.n_gpu_resources = 2;
	snprintf(rules.benign_taints[0], sizeof(rules.benign_taints[0]), "dedicated");
	rules.n_benign_taints = 1;

	spoke_model m = {0};
	spoke_node *a = add_node(&m, "a", "example.com/npu", 4);
	assert_int_equal(spoke_resources_set(&a->allocatable, "example.com/tpu", 2), FL_OK); /* sums: 6 */
	assert_int_equal(spoke_node_add_taint(a, "dedicated", "ml", "NoSchedule"), FL_OK);
	add_node(&m, "b", NV, 8); /* not a GPU node under these rules */
	spoke_node *c = add_node(&m, "c", "example.com/npu", 4);
	assert_int_equal(spoke_node_add_taint(c, "example.com/npu", "", "NoSchedule"), FL_OK); /* not benign now */
	add_simple_pod(&m, "a", "example.com/npu", 3);
	add_simple_pod(&m, "a", NV, 2); /* not a GPU request under these rules */

	spoke_overview_result r;
	char err[FL_ERR_LEN];
	assert_int_equal(spoke_overview_compute(&m, &rules, &r, err), FL_OK);
	assert_true(r.nodes[0].is_gpu_node);
	assert_false(r.nodes[0].faulty);
	assert_int_equal(r.nodes[0].allocatable_gpus, 6);
	assert_int_equal(r.nodes[0].allocated_gpus, 3);
	assert_false(r.nodes[1].is_gpu_node);
	assert_true(r.nodes[2].faulty);
	assert_int_equal(r.overview.total_nodes, 2);
	assert_int_equal(r.overview.healthy_nodes, 1);
	assert_near(r.overview.allocation_rate, 50.0);
	spoke_overview_result_free(&r);
	spoke_model_free(&m);
}

static void test_overview_storage_and_rdma_figures(void **state)
{
	(void)state;
	spoke_model m = {0};
	m.storage = (spoke_storage){.total_space = 1000,
	                            .used_space = 250,
	                            .total_inodes = 400,
	                            .used_inodes = 100,
	                            .read_bandwidth = 7,
	                            .write_bandwidth = 8,
	                            .rdma_tx = 9,
	                            .rdma_rx = 10};
	spoke_overview_result r;
	compute(&m, &r);
	assert_near(r.overview.total_space, 1000);
	assert_near(r.overview.used_space, 250);
	assert_near(r.overview.usage_percentage, 25);
	assert_near(r.overview.inodes_usage_percentage, 25);
	assert_near(r.overview.read_bandwidth, 7);
	assert_near(r.overview.write_bandwidth, 8);
	assert_near(r.overview.total_tx, 9);
	assert_near(r.overview.total_rx, 10);
	spoke_overview_result_free(&r);
	spoke_model_free(&m);
}

/* Pods find their nodes by name whatever order the nodes come in (the sorted index). */
static void test_overview_pods_matched_to_nodes_by_name(void **state)
{
	(void)state;
	spoke_model m = {0};
	char name[32];
	for (int i = 999; i >= 0; i--) {
		snprintf(name, sizeof(name), "n%d", i);
		add_node(&m, name, AMD, 8);
	}
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		add_simple_pod(&m, name, AMD, i % 9);
	}
	spoke_overview_result r;
	compute(&m, &r);
	int64_t want = 0;
	for (uint32_t k = 0; k < m.n_nodes; k++) {
		int i = 999 - (int)k;
		assert_int_equal(r.nodes[k].allocated_gpus, i % 9);
		want += i % 9;
	}
	assert_int_equal(r.overview.gpus_allocated, want);
	spoke_overview_result_free(&r);
	spoke_model_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_overview_counts_init_container_requests),
	    cmocka_unit_test(test_overview_terminating_pod_still_holds_gpus),
	    cmocka_unit_test(test_overview_succeeded_and_failed_pods_hold_nothing),
	    cmocka_unit_test(test_overview_unbound_pod_holds_nothing),
	    cmocka_unit_test(test_overview_benign_taint_is_not_a_fault),
	    cmocka_unit_test(test_overview_fault_taint_makes_node_faulty),
	    cmocka_unit_test(test_overview_unschedulable_is_faulty),
	    cmocka_unit_test(test_overview_not_ready_and_unknown_are_faulty),
	    cmocka_unit_test(test_overview_non_gpu_node_not_counted),
	    cmocka_unit_test(test_overview_allocation_rate_over_healthy_nodes_only),
	    cmocka_unit_test(test_overview_idle_buckets),
	    cmocka_unit_test(test_overview_utilization_mean_over_reporting_gpus),
	    cmocka_unit_test(test_overview_no_gpu_nodes_gives_zero_rates),
	    cmocka_unit_test(test_overview_allocatable_below_capacity_uses_allocatable),
	    cmocka_unit_test(test_overview_custom_gpu_resource_names),
	    cmocka_unit_test(test_overview_storage_and_rdma_figures),
	    cmocka_unit_test(test_overview_pods_matched_to_nodes_by_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
