/* Unit tests for hub/hub_sequence: repeat vs replay vs new, the version a frame's rows get, and when the
 * hub asks for a full snapshot — table-driven, no database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hub_sequence.h"

#define T   1700000000000LL /* the cluster's newest frame's version time */
#define TOL 5000            /* replay tolerance */

enum { FULL = FL_FRAME_FULL, DELTA = FL_FRAME_DELTA, HB = FL_FRAME_HEARTBEAT };
enum { NEW = HUB_SEQ_NEW, DUP = HUB_SEQ_DUPLICATE, REPLAY = HUB_SEQ_REPLAY };

struct seq_case {
	const char *what;
	/* prior */
	bool seen;
	const char *newest_spoke;
	int64_t newest_ms;
	uint64_t spoke_last_seq;
	int64_t spoke_ms;
	bool full_seen;
	/* frame */
	const char *spoke;
	uint64_t seq;
	int64_t sent_ms;
	int kind;
	/* expected */
	int verdict;
	int64_t version_ms; /* checked when NEW */
	bool gap, want_full;
};

/* clang-format off */
static const struct seq_case cases[] = {
    /* what                                        seen newest  newest_ms last  spoke_ms  fullseen spoke seq sent       kind   verdict version  gap    want_full */
    {"first frame ever, full",                     false, "",   0,        0,    0,        false,   "s1", 1,  T,         FULL,  NEW,    T,       false, false},
    {"first frame ever, delta: ask for a full",    false, "",   0,        0,    0,        false,   "s1", 1,  T,         DELTA, NEW,    T,       false, true},
    {"next delta in order after a full",           true,  "s1", T,        4,    T,        true,    "s1", 5,  T + 1000,  DELTA, NEW,    T + 1000, false, false},
    {"heartbeat in order",                         true,  "s1", T,        4,    T,        true,    "s1", 5,  T + 1000,  HB,    NEW,    T + 1000, false, false},
    {"exact repeat of the last frame",             true,  "s1", T,        5,    T,        true,    "s1", 5,  T,         DELTA, DUP,    0,       false, false},
    {"older seq of the same stream",               true,  "s1", T,        5,    T,        true,    "s1", 2,  T - 9000,  FULL,  DUP,    0,       false, false},
    {"repeat even when very old (not a replay)",   true,  "s2", T,        5,    T - 60000, true,   "s1", 3,  T - 90000, DELTA, DUP,    0,       false, false},
    {"gap in seq: still written, ask for a full",  true,  "s1", T,        5,    T,        true,    "s1", 8,  T + 1000,  DELTA, NEW,    T + 1000, true,  true},
    {"gap on a heartbeat asks too",                true,  "s1", T,        5,    T,        true,    "s1", 7,  T + 1000,  HB,    NEW,    T + 1000, true,  true},
    {"gap on a full frame: nothing to ask",        true,  "s1", T,        5,    T,        true,    "s1", 9,  T + 1000,  FULL,  NEW,    T + 1000, true,  false},
    {"hub restarted: in order, no full seen",      true,  "s1", T,        5,    T,        false,   "s1", 6,  T + 1000,  DELTA, NEW,    T + 1000, false, true},
    {"hub restarted: heartbeat asks too",          true,  "s1", T,        5,    T,        false,   "s1", 6,  T + 1000,  HB,    NEW,    T + 1000, false, true},
    {"hub restarted: a full frame needs nothing",  true,  "s1", T,        5,    T,        false,   "s1", 6,  T + 1000,  FULL,  NEW,    T + 1000, false, false},
    {"new spoke stream, newer clock",              true,  "s1", T,        0,    0,        false,   "s2", 1,  T + 2000,  FULL,  NEW,    T + 2000, false, false},
    {"new stream within tolerance",                true,  "s1", T,        0,    0,        false,   "s2", 1,  T - TOL,   FULL,  NEW,    T - TOL, false, false},
    {"new stream 1 ms beyond tolerance: replay",   true,  "s1", T,        0,    0,        false,   "s2", 1,  T - TOL - 1, FULL, REPLAY, 0,      false, false},
    {"old stream's late frame: replay",            true,  "s2", T,        40,   T - 60000, false,  "s1", 41, T - 59000, DELTA, REPLAY, 0,       false, false},
    {"captured frame under a made-up stream",      true,  "s1", T,        0,    0,        false,   "zz", 7,  T - 3600000, DELTA, REPLAY, 0,    false, false},
    {"newest stream is never a replay of itself",  true,  "s1", T,        5,    T,        true,    "s1", 6,  T - 30000, DELTA, NEW,    T,       false, false},
    {"clock went back: version stays monotone",    true,  "s1", T,        5,    T,        true,    "s1", 6,  T - 2000,  DELTA, NEW,    T,       false, false},
    {"other known stream, in order, within tol.",  true,  "s2", T,        9,    T - 1000, true,    "s1", 10, T - 500,   DELTA, NEW,    T - 500, false, false},
    {"unseen cluster: old sent_at is fine",        false, "",   0,        0,    0,        false,   "s1", 1,  1000,      FULL,  NEW,    1000,    false, false},
};
/* clang-format on */

static void test_table_of_repeat_replay_gap_rules(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct seq_case *c = &cases[k];
		hub_seq_prior p;
		memset(&p, 0, sizeof(p));
		p.cluster_seen = c->seen;
		snprintf(p.newest_spoke, sizeof(p.newest_spoke), "%s", c->newest_spoke);
		p.newest_version_ms = c->newest_ms;
		p.spoke_last_seq = c->spoke_last_seq;
		p.spoke_version_ms = c->spoke_ms;
		p.full_seen = c->full_seen;
		fl_proto_envelope env;
		memset(&env, 0, sizeof(env));
		snprintf(env.spoke_id, sizeof(env.spoke_id), "%s", c->spoke);
		env.seq = c->seq;
		env.sent_at_ms = c->sent_ms;
		env.kind = (fl_frame_kind)c->kind;
		hub_seq_decision d;
		hub_sequence_decide(&p, &env, TOL, &d);
		if ((int)d.verdict != c->verdict || d.gap != c->gap || d.want_full != c->want_full || d.superseded ||
		    (c->verdict == NEW && d.version_ms != c->version_ms) || d.last_seq != c->spoke_last_seq)
			fail_msg(
			    "%s: got verdict=%s version=%lld gap=%d want_full=%d last_seq=%llu; want %s %lld %d %d",
			    c->what, hub_sequence_verdict_name(d.verdict), (long long)d.version_ms, d.gap, d.want_full,
			    (unsigned long long)d.last_seq, hub_sequence_verdict_name((hub_seq_verdict)c->verdict),
			    (long long)c->version_ms, c->gap, c->want_full);
	}
}

static void test_frames_older_than_the_newest_full_frame_are_superseded(void **state)
{
	(void)state;
	hub_seq_prior p;
	memset(&p, 0, sizeof(p));
	p.cluster_seen = true;
	strcpy(p.newest_spoke, "s2");
	p.newest_version_ms = T;
	p.full_known = true;
	p.full_version_ms = T; /* s2's full frame (T, 3) */
	p.full_seq = 3;
	fl_proto_envelope env;
	memset(&env, 0, sizeof(env));
	strcpy(env.spoke_id, "s1");
	env.kind = FL_FRAME_DELTA;
	hub_seq_decision d;
	static const struct {
		int64_t sent;
		uint64_t seq;
		bool superseded;
	} rows[] = {{T - 1, 9, true}, {T, 2, true}, {T, 3, false}, {T, 4, false}, {T + 1, 1, false}};
	for (size_t k = 0; k < sizeof(rows) / sizeof(rows[0]); k++) {
		env.sent_at_ms = rows[k].sent;
		env.seq = rows[k].seq;
		hub_sequence_decide(&p, &env, TOL, &d);
		assert_int_equal(d.verdict, HUB_SEQ_NEW);
		if (d.superseded != rows[k].superseded)
			fail_msg("row %zu: superseded=%d", k, d.superseded);
	}
	p.full_known = false; /* no full frame yet: nothing is superseded */
	env.sent_at_ms = T - 1;
	hub_sequence_decide(&p, &env, TOL, &d);
	assert_false(d.superseded);
}

static void test_extreme_times_do_not_overflow(void **state)
{
	(void)state;
	hub_seq_prior p;
	memset(&p, 0, sizeof(p));
	p.cluster_seen = true;
	strcpy(p.newest_spoke, "s1");
	p.newest_version_ms = INT64_MIN + 10; /* newest - tolerance would overflow */
	fl_proto_envelope env;
	memset(&env, 0, sizeof(env));
	strcpy(env.spoke_id, "s2");
	env.seq = 1;
	env.sent_at_ms = INT64_MIN;
	env.kind = FL_FRAME_FULL;
	hub_seq_decision d;
	hub_sequence_decide(&p, &env, TOL, &d);
	assert_int_equal(d.verdict, HUB_SEQ_NEW);
	p.newest_version_ms = INT64_MAX;
	hub_sequence_decide(&p, &env, TOL, &d);
	assert_int_equal(d.verdict, HUB_SEQ_REPLAY);
}

static void test_verdict_names(void **state)
{
	(void)state;
	assert_string_equal(hub_sequence_verdict_name(HUB_SEQ_NEW), "new");
	assert_string_equal(hub_sequence_verdict_name(HUB_SEQ_DUPLICATE), "duplicate");
	assert_string_equal(hub_sequence_verdict_name(HUB_SEQ_REPLAY), "replay");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table_of_repeat_replay_gap_rules),
	    cmocka_unit_test(test_frames_older_than_the_newest_full_frame_are_superseded),
	    cmocka_unit_test(test_extreme_times_do_not_overflow),
	    cmocka_unit_test(test_verdict_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
