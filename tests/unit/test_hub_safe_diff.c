/* Unit tests for hub/hub_safe_diff: rounding and clamping of a utilization figure for node_statistic,
 * the diff that decides insert / update / revive / delete / touch, and the workload_statistic diff keyed
 * by workload_id — table-driven, no database. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hub_safe_diff.h"

struct centi_case {
	double v;
	bool has;
	int rv;
	int centi;
};

static void test_values_are_clamped_rounded_and_nan_refused(void **state)
{
	(void)state;
	static const struct centi_case cases[] = {
	    {42.0, true, FL_OK, 4200},       {42.344, true, FL_OK, 4234},      {42.345, true, FL_OK, 4235},
	    {42.346, true, FL_OK, 4235},     {0.004, true, FL_OK, 0},          {0.005, true, FL_OK, 1},
	    {99.999, true, FL_OK, 10000},    {100.0, true, FL_OK, 10000},      {100.01, true, FL_OK, 10000},
	    {1e9, true, FL_OK, 10000},       {-3.2, true, FL_OK, 0},           {-1e300, true, FL_OK, 0},
	    {0.0, true, FL_OK, 0},           {0.0, false, FL_EINVAL, -7},      {NAN, true, FL_EINVAL, -7},
	    {INFINITY, true, FL_EINVAL, -7}, {-INFINITY, true, FL_EINVAL, -7},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int centi = -7;
		int rv = hub_safe_centi(cases[i].v, cases[i].has, &centi);
		if (rv != cases[i].rv || centi != cases[i].centi)
			fail_msg("case %zu (%g): rv %d centi %d, want rv %d centi %d", i, cases[i].v, rv, centi,
			         cases[i].rv, cases[i].centi);
	}
}

static const hub_safe_upd *find_upd(const hub_safe_plan *p, int64_t id)
{
	for (size_t i = 0; i < p->n_upd; i++)
		if (p->upd[i].id == id)
			return &p->upd[i];
	return NULL;
}

static void test_diff_inserts_updates_revives_and_soft_deletes(void **state)
{
	(void)state;
	hub_safe_want want[] = {
	    {"b", "n-new", 10.0, true},   /* no row → insert */
	    {"a", "same", 50.0, true},    /* equal → touch (updated_at only) */
	    {"a", "changed", 51.5, true}, /* 50.00 stored → update */
	    {"a", "back", 7.0, true},     /* deleted row → revive */
	    {"a", "nullrow", 3.0, true},  /* stored NULL → update */
	    {"a", "nan", NAN, true},      /* skipped: row kept as is, not deleted */
	    {"a", "none", 0.0, false},    /* skipped, no row → nothing */
	};
	hub_safe_have have[] = {
	    {9, "a", "gone", 20, false}, /* no want → delete */
	    {1, "a", "same", 5000, false},  {2, "a", "changed", 5000, false}, {3, "a", "back", 700, true},
	    {4, "a", "nullrow", -1, false}, {5, "a", "nan", 1234, false},     {6, "a", "stilldead", 100, true},
	};
	hub_safe_plan p;
	assert_int_equal(hub_safe_diff(want, 7, have, 7, &p), FL_OK);
	assert_int_equal(p.n_ins, 1);
	assert_string_equal(p.ins[0].cluster, "b");
	assert_string_equal(p.ins[0].node, "n-new");
	assert_int_equal(p.ins[0].centi, 1000);
	assert_int_equal(p.n_update, 2);
	assert_int_equal(p.n_revive, 1);
	assert_int_equal(p.n_delete, 1);
	assert_int_equal(p.n_upd, 4);
	assert_int_equal(p.n_skipped, 2);
	assert_int_equal(p.n_unchanged, 2); /* same, stilldead */
	assert_int_equal(p.n_touch, 1);     /* same: confirmed; stilldead stays as it was */
	assert_int_equal(p.touch[0], 1);
	assert_int_equal(p.n_duplicates, 0);
	assert_int_equal(find_upd(&p, 2)->op, HUB_SAFE_UPDATE);
	assert_int_equal(find_upd(&p, 2)->centi, 5150);
	assert_int_equal(find_upd(&p, 3)->op, HUB_SAFE_REVIVE);
	assert_int_equal(find_upd(&p, 3)->centi, 700);
	assert_int_equal(find_upd(&p, 4)->op, HUB_SAFE_UPDATE);
	assert_int_equal(find_upd(&p, 9)->op, HUB_SAFE_DELETE);
	assert_null(find_upd(&p, 1));
	assert_null(find_upd(&p, 5));
	assert_null(find_upd(&p, 6));
	for (size_t i = 1; i < p.n_upd; i++) /* sorted by id: concurrent writers lock rows in one order */
		assert_true(p.upd[i - 1].id < p.upd[i].id);
	hub_safe_plan_free(&p);
}

static void test_duplicate_rows_update_only_the_lowest_id(void **state)
{
	(void)state;
	hub_safe_want want[] = {{"a", "n1", 30.0, true}};
	hub_safe_have have[] = {
	    {40, "a", "n1", 100, false}, {12, "a", "n1", 200, false}, {33, "a", "n1", 300, true},
	    {50, "a", "n2", 100, false}, {51, "a", "n2", 100, false},
	};
	hub_safe_plan p;
	assert_int_equal(hub_safe_diff(want, 1, have, 5, &p), FL_OK);
	assert_int_equal(p.n_duplicates, 3);
	assert_int_equal(p.n_upd, 2);
	assert_int_equal(p.upd[0].id, 12); /* n1: lowest id updated */
	assert_int_equal(p.upd[0].op, HUB_SAFE_UPDATE);
	assert_int_equal(p.upd[0].centi, 3000);
	assert_int_equal(p.upd[1].id, 50); /* n2 left: its lowest id soft-deleted, 51 left alone */
	assert_int_equal(p.upd[1].op, HUB_SAFE_DELETE);
	assert_int_equal(p.n_ins, 0);
	assert_int_equal(p.n_touch, 0);
	hub_safe_plan_free(&p);
}

/* Every live row whose node the hub has with an equal value is touched, once, in id order; a duplicate
 * row, a deleted row and a skipped node's row are not. */
static void test_equal_values_are_touched_in_id_order(void **state)
{
	(void)state;
	hub_safe_want want[] = {
	    {"a", "n3", 30.0, true}, {"a", "n1", 10.0, true}, {"b", "n2", 20.0, true},
	    {"a", "n4", NAN, true},  {"a", "n5", 5.0, true},
	};
	hub_safe_have have[] = {
	    {70, "a", "n3", 3000, false}, {20, "a", "n1", 1000, false}, {21, "a", "n1", 1000, false},
	    {5, "b", "n2", 2000, false},  {8, "a", "n4", 4000, false},  {9, "a", "n5", 500, true},
	};
	hub_safe_plan p;
	assert_int_equal(hub_safe_diff(want, 5, have, 6, &p), FL_OK);
	assert_int_equal(p.n_touch, 3);
	assert_int_equal(p.touch[0], 5);
	assert_int_equal(p.touch[1], 20);
	assert_int_equal(p.touch[2], 70);
	assert_int_equal(p.n_revive, 1);  /* n5 */
	assert_int_equal(p.n_skipped, 1); /* n4: its row keeps its old updated_at */
	assert_int_equal(p.n_duplicates, 1);
	hub_safe_plan_free(&p);
}

static void test_names_too_long_for_safe_are_skipped_and_repeats_written_once(void **state)
{
	(void)state;
	char longname[200];
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	hub_safe_want want[] = {
	    {"a", longname, 10.0, true}, {"a", "ok", 10.0, true}, {"a", "ok", 20.0, true}, {"a", "", 1.0, true}};
	hub_safe_plan p;
	assert_int_equal(hub_safe_diff(want, 4, NULL, 0, &p), FL_OK);
	assert_int_equal(p.n_ins, 1);
	assert_string_equal(p.ins[0].node, "ok");
	assert_int_equal(p.n_skipped, 3);
	hub_safe_plan_free(&p);
}

static void test_empty_inputs_plan_nothing(void **state)
{
	(void)state;
	hub_safe_plan p;
	assert_int_equal(hub_safe_diff(NULL, 0, NULL, 0, &p), FL_OK);
	assert_int_equal(p.n_ins + p.n_upd + p.n_skipped + p.n_duplicates, 0);
	hub_safe_plan_free(&p);
	hub_safe_plan_free(NULL);
}

static void test_workload_diff_keys_by_workload_id_and_touches_what_is_right(void **state)
{
	(void)state;
	/* {workload_id, cluster, uid, ns, avg, max, hours} */
	hub_safe_wl_want want[] = {
	    {"job-new", "c1", "u-new", "ws", 10.0, 20.0, 3},     /* no row: insert */
	    {"job-same", "c1", "u-same", "ws", 12.344, 50.0, 2}, /* equal after rounding: touch */
	    {"job-more", "c1", "u-more", "ws", 30.0, 40.0, 3},   /* one more hour: update */
	    {"job-moved", "c2", "u-m2", "ws2", 1.0, 1.0, 1},     /* other cluster, uid, workspace: update */
	    {"job-nouid", "c1", "", "ws", 1.0, 1.0, 1},          /* NULL uid stored, none wanted: touch */
	    {"job-old", "c1", "u-x", "ws", 1.0, 1.0, 0},         /* no hourly rows: nothing, not counted */
	};
	/* {id, workload_id, uid, cluster, workspace, avg, max, points} */
	hub_safe_wl_have have[] = {
	    {7, "job-more", "u-more", "c1", "ws", 3000, 4000, 2},
	    {3, "job-same", "u-same", "c1", "ws", 1234, 5000, 2},
	    {9, "job-gone", "u-gone", "c1", "ws", 100, 100, 1}, /* not wanted: left alone */
	    {5, "job-moved", "u-m1", "c1", "ws", 100, 100, 1},
	    {8, "job-same", "u-same", "c1", "ws", 0, 0, 0}, /* a duplicate: left alone */
	    {2, "job-nouid", "", "c1", "ws", 100, 100, 1},
	    {1, "job-old", "u-x", "c1", "ws", 100, 100, 2}, /* keeps its last figures */
	};
	hub_safe_wl_plan p;
	assert_int_equal(hub_safe_wl_diff(want, 6, have, 7, &p), FL_OK);
	assert_int_equal(p.n_ins, 1);
	assert_string_equal(p.ins[0].want->workload_id, "job-new");
	assert_string_equal(p.ins[0].uid, "u-new");
	assert_int_equal(p.ins[0].avg, 1000);
	assert_int_equal(p.ins[0].max, 2000);
	assert_int_equal(p.n_upd, 2);
	assert_int_equal(p.upd[0].id, 5); /* sorted by id */
	assert_string_equal(p.upd[0].want->cluster, "c2");
	assert_string_equal(p.upd[0].uid, "u-m2");
	assert_int_equal(p.upd[1].id, 7);
	assert_int_equal(p.upd[1].avg, 3000);
	assert_int_equal(p.n_touch, 2);
	assert_int_equal(p.touch[0], 2);
	assert_int_equal(p.touch[1], 3); /* the lowest id of job-same */
	assert_int_equal(p.n_unchanged, 2);
	assert_int_equal(p.n_duplicates, 1);
	assert_int_equal(p.n_skipped, 0);
	hub_safe_wl_plan_free(&p);
}

static void test_workload_diff_skips_what_safe_cannot_hold(void **state)
{
	(void)state;
	char long_id[80], long_ns[80];
	memset(long_id, 'n', 65);
	long_id[65] = '\0';
	memset(long_ns, 's', 65);
	long_ns[65] = '\0';
	hub_safe_wl_want want[] = {
	    {long_id, "c1", "u1", "ws", 1, 1, 1},
	    {"w-uid", "c1", "0123456789012345678901234567890123456", "ws", 1, 1, 1}, /* 37 chars: NULL uid */
	    {"", "c1", "u3", "ws", 1, 1, 1},
	    {"w-nocluster", "", "u3", "ws", 1, 1, 1},
	    {"w-ns", "c1", "u3", long_ns, 1, 1, 1},
	    {"w-nan", "c1", "u4", "ws", NAN, NAN, 1}, /* not a number: no figures, still written */
	    {"w-two", "c2", "u6", "ws", 2, 2, 1},
	    {"w-two", "c1", "u5", "ws", 1, 1, 1}, /* the same SaFE workload in a second cluster */
	};
	hub_safe_wl_plan p;
	assert_int_equal(hub_safe_wl_diff(want, 8, NULL, 0, &p), FL_OK);
	assert_int_equal(p.n_skipped, 5);
	assert_int_equal(p.n_ins, 3);
	assert_string_equal(p.ins[0].want->workload_id, "w-nan");
	assert_int_equal(p.ins[0].avg, -1);
	assert_int_equal(p.ins[0].max, -1);
	assert_string_equal(p.ins[1].want->workload_id, "w-two");
	assert_string_equal(p.ins[1].want->cluster, "c1"); /* the first cluster by name */
	assert_int_equal(p.ins[1].avg, 100);
	assert_string_equal(p.ins[2].want->workload_id, "w-uid");
	assert_null(p.ins[2].uid);
	hub_safe_wl_plan_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_values_are_clamped_rounded_and_nan_refused),
	    cmocka_unit_test(test_diff_inserts_updates_revives_and_soft_deletes),
	    cmocka_unit_test(test_duplicate_rows_update_only_the_lowest_id),
	    cmocka_unit_test(test_names_too_long_for_safe_are_skipped_and_repeats_written_once),
	    cmocka_unit_test(test_empty_inputs_plan_nothing),
	    cmocka_unit_test(test_equal_values_are_touched_in_id_order),
	    cmocka_unit_test(test_workload_diff_keys_by_workload_id_and_touches_what_is_right),
	    cmocka_unit_test(test_workload_diff_skips_what_safe_cannot_hold),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
