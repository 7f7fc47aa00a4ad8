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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_delta_holds_changed_new_and_removed),
	    cmocka_unit_test(test_delta_needs_a_remembered_state),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
