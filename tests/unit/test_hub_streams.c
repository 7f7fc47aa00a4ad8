/* Unit tests for hub/hub_streams: find and add, the owner's fields kept, heard_ms only moving forward, and
 * which stream a full table forgets (the one heard from longest ago, the first of equals). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hub_streams.h"

static void test_put_adds_once_and_keeps_the_owners_fields(void **state)
{
	(void)state;
	hub_streams t;
	hub_streams_init(&t, 3);
	bool added;
	assert_null(hub_streams_find(&t, "a"));
	hub_stream *a = hub_streams_put(&t, "a", 100, &added);
	assert_true(added);
	assert_string_equal(a->id, "a");
	assert_int_equal(a->seq, 0);
	assert_false(a->full);
	a->seq = 7;
	a->full = true;
	hub_stream *again = hub_streams_put(&t, "a", 50, &added);
	assert_false(added);
	assert_ptr_equal(again, a);
	assert_int_equal(again->seq, 7);
	assert_true(again->full);
	assert_int_equal(again->heard_ms, 100); /* an earlier time does not move it back */
	hub_streams_put(&t, "a", 150, &added);
	assert_int_equal(a->heard_ms, 150);
	assert_int_equal(t.n, 1);
}

static void test_a_full_table_forgets_the_stream_heard_from_longest_ago(void **state)
{
	(void)state;
	hub_streams t;
	hub_streams_init(&t, 3);
	bool added;
	hub_streams_put(&t, "a", 100, &added);
	hub_streams_put(&t, "b", 200, &added);
	hub_streams_put(&t, "c", 300, &added);
	hub_streams_put(&t, "a", 400, &added); /* a heard again: b is now the oldest */
	hub_stream *d = hub_streams_put(&t, "d", 500, &added);
	assert_true(added);
	assert_int_equal(d->seq, 0);
	assert_int_equal(t.n, 3);
	assert_null(hub_streams_find(&t, "b"));
	assert_non_null(hub_streams_find(&t, "a"));
	assert_non_null(hub_streams_find(&t, "c"));
	assert_non_null(hub_streams_find(&t, "d"));
}

static void test_equal_times_forget_the_first_and_caps_are_clamped(void **state)
{
	(void)state;
	hub_streams t;
	hub_streams_init(&t, 2);
	bool added;
	hub_streams_put(&t, "a", 100, &added);
	hub_streams_put(&t, "b", 100, &added);
	hub_streams_put(&t, "c", 100, &added);
	assert_null(hub_streams_find(&t, "a"));
	assert_non_null(hub_streams_find(&t, "b"));
	hub_streams_init(&t, 0);
	assert_int_equal(t.cap, 1);
	hub_streams_init(&t, 99);
	assert_int_equal(t.cap, HUB_STREAMS_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_put_adds_once_and_keeps_the_owners_fields),
	    cmocka_unit_test(test_a_full_table_forgets_the_stream_heard_from_longest_ago),
	    cmocka_unit_test(test_equal_times_forget_the_first_and_caps_are_clamped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
