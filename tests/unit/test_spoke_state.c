/* test_spoke_state.c — the sequence stream: in memory, persisted in spool_dir across restarts, locked,
 * and a corrupt state file set aside for a fresh stream. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "spoke_file.h"
#include "spoke_state.h"

static char tmpdir[64];
static char dir[128]; /* the spool_dir under test: <tmpdir>/spool, created by spoke_state_open */

static void rm_dir(const char *d)
{
	static const char *const names[] = {"state", "state.tmp", "state.corrupt", "lock", NULL};
	char p[256];
	for (const char *const *n = names; *n != NULL; n++) {
		snprintf(p, sizeof(p), "%s/%s", d, *n);
		unlink(p);
	}
	rmdir(d);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/fl_spoke_state.XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s/spool", tmpdir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rm_dir(dir);
	return rmdir(tmpdir);
}

/* Each test starts without the spool folder. */
static int fresh(void **state)
{
	(void)state;
	rm_dir(dir);
	return 0;
}

static char *read_text(const char *name)
{
	char p[256], err[FL_ERR_LEN];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	char *text = NULL;
	size_t len = 0;
	if (spoke_file_read(p, 4096, &text, &len, err) != FL_OK) {
		fail_msg("%s", err);
	}
	return text;
}

static void write_text(const char *name, const char *text)
{
	char err[FL_ERR_LEN];
	struct iovec iov = {(void *)text, strlen(text)};
	if (spoke_file_write_atomic(dir, name, &iov, 1, err) != FL_OK) {
		fail_msg("%s", err);
	}
}

static void open_ok(spoke_state *st, const char *d, const char *cluster)
{
	char err[FL_ERR_LEN] = "";
	if (spoke_state_open(st, d, cluster, err) != FL_OK) {
		fail_msg("open: %s", err);
	}
}

static uint64_t next_ok(spoke_state *st)
{
	char err[FL_ERR_LEN] = "";
	uint64_t seq = 0;
	if (spoke_state_next(st, &seq, err) != FL_OK) {
		fail_msg("next: %s", err);
	}
	return seq;
}

static void test_state_in_memory_is_a_fresh_stream_from_seq_1(void **state)
{
	(void)state;
	spoke_state a, b;
	open_ok(&a, NULL, "alpha");
	open_ok(&b, "", "alpha");
	assert_true(fl_proto_valid_name(a.spoke_id));
	assert_int_equal(a.last_seq, 0);
	assert_int_equal(next_ok(&a), 1);
	assert_int_equal(next_ok(&a), 2);
	assert_int_equal(next_ok(&b), 1);
	char pid[32];
	snprintf(pid, sizeof(pid), "-%ld-", (long)getpid());
	assert_non_null(strstr(a.spoke_id, pid)); /* host-pid-hex */
	spoke_state_close(&a);
	spoke_state_close(&b);
}

static void test_state_restart_keeps_spoke_id_and_continues_seq(void **state)
{
	(void)state;
	spoke_state st;
	open_ok(&st, dir, "alpha"); /* creates the folder and a state with last_seq 0 */
	char id[FL_CLUSTER_LEN];
	memcpy(id, st.spoke_id, sizeof(id));
	char want[256];
	snprintf(want, sizeof(want), "fleetlens-spoke-state 1\ncluster alpha\nspoke_id %s\nlast_seq 0\n", id);
	char *text = read_text("state");
	assert_string_equal(text, want);
	free(text);
	assert_int_equal(next_ok(&st), 1);
	assert_int_equal(next_ok(&st), 2);
	assert_int_equal(next_ok(&st), 3);
	spoke_state_close(&st);

	open_ok(&st, dir, "alpha");
	assert_string_equal(st.spoke_id, id);
	assert_int_equal(st.last_seq, 3);
	assert_false(st.recovered);
	assert_int_equal(next_ok(&st), 4);
	spoke_state_close(&st);
	snprintf(want, sizeof(want), "fleetlens-spoke-state 1\ncluster alpha\nspoke_id %s\nlast_seq 4\n", id);
	text = read_text("state");
	assert_string_equal(text, want);
	free(text);
}

static void test_state_folder_is_locked_while_open(void **state)
{
	(void)state;
	spoke_state a, b;
	open_ok(&a, dir, "alpha");
	char err[FL_ERR_LEN] = "";
	assert_int_equal(spoke_state_open(&b, dir, "alpha", err), FL_EIO);
	assert_non_null(strstr(err, "in use by another fleetlens-spoke"));
	spoke_state_close(&a);
	open_ok(&b, dir, "alpha");
	spoke_state_close(&b);
}

static void test_state_corrupt_file_is_set_aside_for_a_new_stream(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "garbage\n",
	    "fleetlens-spoke-state 1\ncluster alpha\nspoke_id old-1-abcd\n",               /* truncated */
	    "fleetlens-spoke-state 1\ncluster alpha\nspoke_id old-1-abcd\nlast_seq 12x\n", /* bad number */
	    "fleetlens-spoke-state 1\ncluster alpha\nspoke_id bad/id\nlast_seq 12\n",      /* bad name */
	    "fleetlens-spoke-state 1\ncluster alpha\nspoke_id old-1-abcd\nlast_seq -1\n",  /* negative */
	    "fleetlens-spoke-state 1\ncluster alpha\nspoke_id old-1-abcd\nlast_seq 9223372036854775808\n", /* > int64 */
	    "fleetlens-spoke-state 2\ncluster alpha\nspoke_id old-1-abcd\nlast_seq 12\n", /* other version */
	    "fleetlens-spoke-state 1\ncluster alpha\nspoke_id old-1-abcd\nlast_seq 12\nextra 1\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rm_dir(dir);
		assert_int_equal(mkdir(dir, 0700), 0);
		write_text("state", bad[i]);
		spoke_state st;
		open_ok(&st, dir, "alpha");
		assert_true(st.recovered);
		assert_int_equal(st.last_seq, 0);
		assert_string_not_equal(st.spoke_id, "old-1-abcd");
		char *aside = read_text("state.corrupt");
		assert_string_equal(aside, bad[i]); /* kept for a human to look at */
		free(aside);
		assert_int_equal(next_ok(&st), 1);
		spoke_state_close(&st);
		open_ok(&st, dir, "alpha"); /* the new stream was written and reads back */
		assert_false(st.recovered);
		assert_int_equal(st.last_seq, 1);
		spoke_state_close(&st);
	}
	/* A file that parses is taken as it is, including a large seq. */
	rm_dir(dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	write_text("state",
	           "fleetlens-spoke-state 1\ncluster alpha\nspoke_id old-1-abcd\nlast_seq 9223372036854775806\n");
	spoke_state st;
	open_ok(&st, dir, "alpha");
	assert_string_equal(st.spoke_id, "old-1-abcd");
	assert_int_equal(next_ok(&st), 9223372036854775807ull);
	char err[FL_ERR_LEN] = "";
	uint64_t seq = 0;
	assert_int_equal(spoke_state_next(&st, &seq, err), FL_ELIMIT);
	spoke_state_close(&st);
}

static void test_state_of_another_cluster_is_an_error(void **state)
{
	(void)state;
	spoke_state st;
	open_ok(&st, dir, "alpha");
	spoke_state_close(&st);
	char err[FL_ERR_LEN] = "";
	assert_int_equal(spoke_state_open(&st, dir, "beta", err), FL_ECONFIG);
	assert_non_null(strstr(err, "belongs to cluster 'alpha'"));
	/* The lock was released on failure: alpha can still open it. */
	open_ok(&st, dir, "alpha");
	spoke_state_close(&st);
}

static void test_state_seq_not_used_when_it_cannot_be_persisted(void **state)
{
	(void)state;
	spoke_state st;
	open_ok(&st, dir, "alpha");
	assert_int_equal(next_ok(&st), 1);
	rm_dir(dir); /* the folder disappears under the spoke */
	char err[FL_ERR_LEN] = "";
	uint64_t seq = 0;
	assert_int_equal(spoke_state_next(&st, &seq, err), FL_EIO);
	assert_int_equal(seq, 0);
	assert_int_equal(st.last_seq, 1);
	spoke_state_close(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_state_in_memory_is_a_fresh_stream_from_seq_1, fresh),
	    cmocka_unit_test_setup(test_state_restart_keeps_spoke_id_and_continues_seq, fresh),
	    cmocka_unit_test_setup(test_state_folder_is_locked_while_open, fresh),
	    cmocka_unit_test_setup(test_state_corrupt_file_is_set_aside_for_a_new_stream, fresh),
	    cmocka_unit_test_setup(test_state_of_another_cluster_is_an_error, fresh),
	    cmocka_unit_test_setup(test_state_seq_not_used_when_it_cannot_be_persisted, fresh),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
