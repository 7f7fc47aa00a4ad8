/* test_spoke_delta.c — deltas hold exactly the changed/new nodes, their GPUs and the removed names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "spoke_delta.h"

/* A full frame with nodes n0..n(k-1), one taint on each, one GPU per node. */
static void make_full(fl_proto_frame *f, uint32_t k)
{
	memset(f, 0, sizeof(*f));
	f->env.kind = FL_FRAME_FULL;
	f->nodes = calloc(k, sizeof(*f->nodes));
	f->gpus = calloc(k, sizeof(*f->gpus));
	assert_non_null(f->nodes);
	for (uint32_t i = 0; i < k; i++) {
		snprintf(f->nodes[i].name, sizeof(f->nodes[i].name), "n%u", i);
		snprintf(f->nodes[i].status, sizeof(f->nodes[i].status), "Ready");
		f->nodes[i].gpu_count = 8;
		f->nodes[i].taints = calloc(1, sizeof(fl_proto_taint));
		f->nodes[i].n_taints = 1;
		snprintf(f->nodes[i].taints[0].key, sizeof(f->nodes[i].taints[0].key), "nvidia.com/gpu");
		snprintf(f->gpus[i].node, sizeof(f->gpus[i].node), "n%u", i);
	}
	f->n_nodes = f->n_gpus = k;
}

static void test_delta_holds_changed_new_and_removed(void **state)
{
	(void)state;
	spoke_delta d;
	memset(&d, 0, sizeof(d));
	fl_proto_frame f;
	make_full(&f, 4);
	assert_int_equal(spoke_delta_remember(&d, &f), FL_OK);
	fl_proto_frame_free(&f);

	make_full(&f, 4);
	snprintf(f.nodes[1].status, sizeof(f.nodes[1].status), "NotReady");                /* changed */
	snprintf(f.nodes[2].taints[0].key, sizeof(f.nodes[2].taints[0].key), "gpu.fault"); /* taint changed */
	snprintf(f.nodes[3].name, sizeof(f.nodes[3].name), "n9");                          /* n3 removed, n9 new */
	snprintf(f.gpus[3].node, sizeof(f.gpus[3].node), "n9");
	char err[FL_ERR_LEN];
	assert_int_equal(spoke_delta_make(&d, &f, err), FL_OK);
	assert_int_equal(f.env.kind, FL_FRAME_DELTA);
	assert_int_equal(f.n_nodes, 3);
	assert_string_equal(f.nodes[0].name, "n1");
	assert_string_equal(f.nodes[1].name, "n2");
	assert_string_equal(f.nodes[2].name, "n9");
	assert_int_equal(f.n_gpus, 3);
	assert_string_equal(f.gpus[2].node, "n9");
	assert_int_equal(f.n_removed_nodes, 1);
	assert_string_equal(f.removed_nodes[0].name, "n3");
	fl_proto_frame_free(&f);

	/* the same state again: an empty delta; and n3 is not removed twice */
	make_full(&f, 4);
	snprintf(f.nodes[1].status, sizeof(f.nodes[1].status), "NotReady");
	snprintf(f.nodes[2].taints[0].key, sizeof(f.nodes[2].taints[0].key), "gpu.fault");
	snprintf(f.nodes[3].name, sizeof(f.nodes[3].name), "n9");
	snprintf(f.gpus[3].node, sizeof(f.gpus[3].node), "n9");
	assert_int_equal(spoke_delta_make(&d, &f, err), FL_OK);
	assert_int_equal(f.n_nodes, 0);
	assert_int_equal(f.n_gpus, 0);
	assert_int_equal(f.n_removed_nodes, 0);
	fl_proto_frame_free(&f);
	spoke_delta_reset(&d);
}

static void test_delta_needs_a_remembered_state(void **state)
{
	(void)state;
	spoke_delta d;
	memset(&d, 0, sizeof(d));
	fl_proto_frame f;
	make_full(&f, 2);
	char err[FL_ERR_LEN];
	assert_int_equal(spoke_delta_make(&d, &f, err), FL_EINVAL);
	assert_int_equal(f.env.kind, FL_FRAME_FULL);
	assert_int_equal(f.n_nodes, 2);
	fl_proto_frame_free(&f);
}

/* A full frame without nodes, with pods u0..u(k-1) (workload w0) and workloads w0, w1. */
static void make_pods(fl_proto_frame *f, uint32_t k)
{
	memset(f, 0, sizeof(*f));
	f->env.kind = FL_FRAME_FULL;
	f->pods = calloc(k, sizeof(*f->pods));
	f->workloads = calloc(2, sizeof(*f->workloads));
	assert_non_null(f->pods);
	assert_non_null(f->workloads);
	for (uint32_t i = 0; i < k; i++) {
		snprintf(f->pods[i].uid, sizeof(f->pods[i].uid), "u%u", i);
		snprintf(f->pods[i].name, sizeof(f->pods[i].name), "p%u", i);
		snprintf(f->pods[i].phase, sizeof(f->pods[i].phase), "Running");
		snprintf(f->pods[i].workload_uid, sizeof(f->pods[i].workload_uid), "w0");
		f->pods[i].gpus = 1;
	}
	for (uint32_t i = 0; i < 2; i++) {
		snprintf(f->workloads[i].uid, sizeof(f->workloads[i].uid), "w%u", i);
		snprintf(f->workloads[i].kind, sizeof(f->workloads[i].kind), "Job");
		snprintf(f->workloads[i].name, sizeof(f->workloads[i].name), "j%u", i);
		snprintf(f->workloads[i].status, sizeof(f->workloads[i].status), "Running");
	}
	f->n_pods = k;
	f->n_workloads = 2;
}

static void test_delta_holds_changed_pods_workloads_and_removed_pod_uids(void **state)
{
	(void)state;
	spoke_delta d;
	char err[FL_ERR_LEN];
	memset(&d, 0, sizeof(d));
	fl_proto_frame f;
	make_pods(&f, 3);
	assert_int_equal(spoke_delta_remember(&d, &f), FL_OK);
	fl_proto_frame_free(&f);

	make_pods(&f, 3);
	snprintf(f.pods[2].uid, sizeof(f.pods[2].uid), "u7");               /* u2 gone, u7 new */
	snprintf(f.pods[0].phase, sizeof(f.pods[0].phase), "Pending");       /* u0 changed */
	snprintf(f.workloads[1].status, sizeof(f.workloads[1].status), "Done"); /* w1 changed */
	assert_int_equal(spoke_delta_make(&d, &f, err), FL_OK);
	assert_int_equal(f.n_pods, 2);
	assert_string_equal(f.pods[0].uid, "u0");
	assert_string_equal(f.pods[1].uid, "u7");
	assert_int_equal(f.n_removed_pods, 1);
	assert_string_equal(f.removed_pods[0].name, "u2");
	assert_int_equal(f.n_workloads, 1);
	assert_string_equal(f.workloads[0].uid, "w1");
	fl_proto_frame_free(&f);

	/* the next delta is against what was just sent: nothing changed, nothing in it */
	make_pods(&f, 3);
	snprintf(f.pods[2].uid, sizeof(f.pods[2].uid), "u7");
	snprintf(f.pods[0].phase, sizeof(f.pods[0].phase), "Pending");
	snprintf(f.workloads[1].status, sizeof(f.workloads[1].status), "Done");
	assert_int_equal(spoke_delta_make(&d, &f, err), FL_OK);
	assert_int_equal(f.n_pods, 0);
	assert_int_equal(f.n_removed_pods, 0);
	assert_int_equal(f.n_workloads, 0);
	fl_proto_frame_free(&f);

	/* a workload whose SaFE label appears is a change too */
	make_pods(&f, 3);
	snprintf(f.pods[2].uid, sizeof(f.pods[2].uid), "u7");
	snprintf(f.pods[0].phase, sizeof(f.pods[0].phase), "Pending");
	snprintf(f.workloads[1].status, sizeof(f.workloads[1].status), "Done");
	snprintf(f.workloads[0].safe_workload_id, sizeof(f.workloads[0].safe_workload_id), "j0");
	assert_int_equal(spoke_delta_make(&d, &f, err), FL_OK);
	assert_int_equal(f.n_pods, 0);
	assert_int_equal(f.n_workloads, 1);
	assert_string_equal(f.workloads[0].uid, "w0");
	assert_string_equal(f.workloads[0].safe_workload_id, "j0");
	fl_proto_frame_free(&f);
	spoke_delta_reset(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_delta_holds_changed_new_and_removed),
	    cmocka_unit_test(test_delta_needs_a_remembered_state),
	    cmocka_unit_test(test_delta_holds_changed_pods_workloads_and_removed_pod_uids),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
