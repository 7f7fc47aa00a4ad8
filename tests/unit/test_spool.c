/* test_spool.c — the spool of unacknowledged frames, without a network: FIFO order, memory then
 * files, the drop policy (oldest deltas first, the newest full kept), supersede, reload in order,
 * corrupt files skipped, and exact byte accounting. */
#include <dirent.h>
#include <fcntl.h>
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

#include "spoke_spool.h"

#define F FL_FRAME_FULL
#define D FL_FRAME_DELTA
#define H FL_FRAME_HEARTBEAT

static char dir[64];

static void clear_dir(void)
{
	DIR *d = opendir(dir);
	if (d == NULL) {
		return;
	}
	struct dirent *de;
	char p[512];
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
			unlink(p);
		}
	}
	closedir(d);
}

static int count_files(const char *suffix)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		size_t nl = strlen(de->d_name), sl = strlen(suffix);
		n += nl > sl && strcmp(de->d_name + nl - sl, suffix) == 0;
	}
	closedir(d);
	return n;
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/fl_spool.XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	clear_dir();
	return rmdir(dir);
}

static int fresh(void **state)
{
	(void)state;
	clear_dir();
	return 0;
}

static spoke_spool *open_spool(const char *d, uint64_t memory, uint64_t max, bool supersede)
{
	spoke_spool_opts o = {d, memory, max, supersede};
	spoke_spool *sp = NULL;
	char err[FL_ERR_LEN] = "";
	if (spoke_spool_open(&sp, &o, err) != FL_OK) {
		fail_msg("open: %s", err);
	}
	return sp;
}

/* Pushes a frame of len bytes, each byte (seq & 0xff), expecting want. */
static void push_expect(spoke_spool *sp, const char *id, uint64_t seq, fl_frame_kind kind, size_t len, int want)
{
	char *b = malloc(len);
	assert_non_null(b);
	memset(b, (int)(seq & 0xff), len);
	char err[FL_ERR_LEN] = "";
	int rv = spoke_spool_push(sp, id, seq, kind, b, len, err);
	if (rv != want) {
		fail_msg("push seq=%llu: got %d, want %d (%s)", (unsigned long long)seq, rv, want, err);
	}
}

static void push(spoke_spool *sp, uint64_t seq, fl_frame_kind kind, size_t len)
{
	push_expect(sp, "spoke-a", seq, kind, len, FL_OK);
}

/* Checks the head is seq (of kind, len bytes) with the right contents, then pops it. */
static void pop_expect(spoke_spool *sp, uint64_t seq, fl_frame_kind kind, size_t len)
{
	spoke_spool_item it;
	assert_true(spoke_spool_head(sp, &it));
	if (it.seq != seq) {
		fail_msg("head seq=%llu, want %llu", (unsigned long long)it.seq, (unsigned long long)seq);
	}
	assert_int_equal(it.kind, kind);
	assert_int_equal(it.len, len);
	const void *b = NULL;
	size_t n = 0;
	char err[FL_ERR_LEN] = "";
	if (spoke_spool_head_bytes(sp, &b, &n, err) != FL_OK) {
		fail_msg("head_bytes: %s", err);
	}
	assert_int_equal(n, len);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(((const unsigned char *)b)[i], seq & 0xff);
	}
	spoke_spool_pop(sp);
}

/* The head's seq, 0 when empty. */
static uint64_t head_seq(spoke_spool *sp)
{
	spoke_spool_item it;
	return spoke_spool_head(sp, &it) ? it.seq : 0;
}

static void expect_stats(spoke_spool *sp, uint64_t frames, uint64_t bytes, uint64_t mem_bytes, uint64_t disk_bytes)
{
	spoke_spool_stats st;
	spoke_spool_get_stats(sp, &st);
	assert_int_equal(st.frames, frames);
	assert_int_equal(st.bytes, bytes);
	assert_int_equal(st.memory_bytes, mem_bytes);
	assert_int_equal(st.disk_bytes, disk_bytes);
	assert_int_equal(st.memory_frames + st.disk_frames, frames);
	assert_int_equal(st.memory_bytes + st.disk_bytes, bytes);
}

static void test_spool_is_fifo_with_exact_byte_counts(void **state)
{
	(void)state;
	spoke_spool *sp = open_spool(NULL, 1000, 0, false);
	spoke_spool_item it;
	assert_false(spoke_spool_head(sp, &it));
	push(sp, 1, F, 100);
	push(sp, 2, D, 10);
	push(sp, 3, H, 1);
	push(sp, 4, D, 33);
	expect_stats(sp, 4, 144, 144, 0);
	pop_expect(sp, 1, F, 100);
	expect_stats(sp, 3, 44, 44, 0);
	pop_expect(sp, 2, D, 10);
	pop_expect(sp, 3, H, 1);
	pop_expect(sp, 4, D, 33);
	expect_stats(sp, 0, 0, 0, 0);
	assert_false(spoke_spool_head(sp, &it));
	spoke_spool_pop(sp); /* no-op when empty */
	spoke_spool_stats st;
	spoke_spool_get_stats(sp, &st);
	assert_int_equal(st.pushed, 4);
	assert_int_equal(st.removed, 4);
	assert_int_equal(st.dropped, 0);
	spoke_spool_close(sp);
}

static void test_spool_rejects_bad_frames(void **state)
{
	(void)state;
	spoke_spool *sp = open_spool(NULL, 1000, 0, false);
	push_expect(sp, "bad id", 1, D, 5, FL_EINVAL);
	push_expect(sp, "spoke-a", 0, D, 5, FL_EINVAL);
	push_expect(sp, "spoke-a", 1, (fl_frame_kind)9, 5, FL_EINVAL);
	char err[FL_ERR_LEN];
	assert_int_equal(spoke_spool_push(sp, "spoke-a", 1, D, NULL, 5, err), FL_EINVAL);
	expect_stats(sp, 0, 0, 0, 0);
	spoke_spool_close(sp);
	spoke_spool_opts o = {dir, 100, 50, false}; /* memory above the total bound */
	assert_int_equal(spoke_spool_open(&sp, &o, err), FL_EINVAL);
	assert_null(sp);
}

static void test_spool_overflows_from_memory_to_files(void **state)
{
	(void)state;
	spoke_spool *sp = open_spool(dir, 100, 1000, false);
	push(sp, 1, F, 40);
	push(sp, 2, D, 40);
	push(sp, 3, D, 40); /* 120 > 100 in memory: to its file */
	push(sp, 4, D, 20); /* memory holds 80: 80 + 20 fits; the queue, not the medium, keeps the order */
	expect_stats(sp, 4, 140, 100, 40);
	assert_int_equal(count_files(".frame"), 1);
	char name[256];
	snprintf(name, sizeof(name), "%s/00000000000000000003-spoke-a.frame", dir);
	struct stat st;
	assert_int_equal(stat(name, &st), 0);
	assert_int_equal(st.st_size, 136 + 40); /* header + frame */

	spoke_spool_item it;
	pop_expect(sp, 1, F, 40);
	pop_expect(sp, 2, D, 40);
	assert_true(spoke_spool_head(sp, &it));
	assert_true(it.on_disk);
	pop_expect(sp, 3, D, 40); /* read back from its file, then the file is removed */
	assert_int_equal(count_files(".frame"), 0);
	pop_expect(sp, 4, D, 20);
	expect_stats(sp, 0, 0, 0, 0);
	assert_int_equal(count_files(".tmp"), 0);
	spoke_spool_close(sp);
}

static void test_spool_drops_oldest_deltas_first_and_keeps_the_newest_full(void **state)
{
	(void)state;
	spoke_spool *sp = open_spool(NULL, 100, 0, false); /* memory only: the bound is 100 bytes */
	push(sp, 1, F, 30);
	push(sp, 2, D, 20);
	push(sp, 3, D, 20);
	push(sp, 4, F, 20);
	expect_stats(sp, 4, 90, 90, 0);
	push(sp, 5, D, 20); /* 110: drops delta 2 → F1 D3 F4 D5 = 90 */
	push(sp, 6, D, 30); /* 120: drops delta 3 → F1 F4 D5 D6 = 100 */
	push(sp, 7, D, 40); /* 140: drops D5 (120), D6 (90) → F1 F4 D7 = 90 */
	expect_stats(sp, 3, 90, 90, 0);
	push(sp, 8, D, 60); /* 150: drops D7 (110); only fulls left: F1, not F4 (newest) → F4 D8 = 80 */
	expect_stats(sp, 2, 80, 80, 0);
	spoke_spool_stats st;
	spoke_spool_get_stats(sp, &st);
	assert_int_equal(st.dropped, 6);
	assert_int_equal(st.dropped_bytes, 20 + 20 + 20 + 30 + 40 + 30);
	assert_int_equal(head_seq(sp), 4);

	/* A delta that cannot fit next to the newest full is dropped itself. */
	push_expect(sp, "spoke-a", 9, D, 90, FL_ELIMIT); /* drops D8 first (20+90 > 100), then itself */
	expect_stats(sp, 1, 20, 20, 0);
	spoke_spool_get_stats(sp, &st);
	assert_int_equal(st.dropped, 8);
	assert_int_equal(st.dropped_bytes, 160 + 60 + 90);

	/* A full larger than the bound replaces the older full and is kept over the bound. */
	push(sp, 10, F, 120);
	expect_stats(sp, 1, 120, 120, 0);
	spoke_spool_get_stats(sp, &st);
	assert_int_equal(st.dropped, 9);
	assert_int_equal(st.dropped_bytes, 310 + 20);
	pop_expect(sp, 10, F, 120);
	spoke_spool_close(sp);
}

static void test_spool_never_drops_the_frame_in_flight(void **state)
{
	(void)state;
	spoke_spool *sp = open_spool(NULL, 100, 0, false);
	push(sp, 1, D, 60);
	spoke_spool_set_busy(sp, true);
	push_expect(sp, "spoke-a", 2, D, 50, FL_ELIMIT); /* D1 is in flight: D2 has no room */
	push(sp, 3, F, 50);                              /* a full is kept over the bound */
	expect_stats(sp, 2, 110, 110, 0);
	push_expect(sp, "spoke-a", 4, D, 10, FL_ELIMIT); /* nothing droppable (D1 in flight, F3 newest full) */
	expect_stats(sp, 2, 110, 110, 0);
	pop_expect(sp, 1, D, 60); /* popping clears the in-flight mark */
	push(sp, 5, F, 60);       /* F3 is now an older full: dropped for room */
	expect_stats(sp, 1, 60, 60, 0);
	pop_expect(sp, 5, F, 60);
	spoke_spool_close(sp);
}

static void test_spool_full_supersedes_queued_frames_but_not_the_one_in_flight(void **state)
{
	(void)state;
	spoke_spool *sp = open_spool(NULL, 1000, 0, true);
	push(sp, 1, D, 10);
	push(sp, 2, H, 5);
	push(sp, 3, F, 100);
	expect_stats(sp, 1, 100, 100, 0);
	spoke_spool_stats st;
	spoke_spool_get_stats(sp, &st);
	assert_int_equal(st.superseded, 2);
	assert_int_equal(st.superseded_bytes, 15);
	assert_int_equal(st.dropped, 0);

	spoke_spool_set_busy(sp, true); /* F3 is being sent */
	push(sp, 4, D, 10);
	push(sp, 5, F, 200);
	expect_stats(sp, 2, 300, 300, 0);
	spoke_spool_get_stats(sp, &st);
	assert_int_equal(st.superseded, 3);
	assert_int_equal(st.superseded_bytes, 25);
	pop_expect(sp, 3, F, 100);
	pop_expect(sp, 5, F, 200);
	spoke_spool_close(sp);
}

static void test_spool_reloads_files_in_seq_order(void **state)
{
	(void)state;
	spoke_spool *sp = open_spool(dir, 64 << 10, 1 << 20, false);
	push(sp, 1, F, 100);
	push(sp, 2, D, 300);
	push(sp, 3, D, 7);
	push(sp, 4, H, 1);
	char err[FL_ERR_LEN] = "";
	assert_int_equal(count_files(".frame"), 0); /* all in memory */
	assert_int_equal(spoke_spool_flush(sp, err), FL_OK);
	assert_int_equal(count_files(".frame"), 4);
	expect_stats(sp, 4, 408, 0, 408);
	spoke_spool_close(sp); /* files stay */

	sp = open_spool(dir, 64 << 10, 1 << 20, false);
	expect_stats(sp, 4, 408, 0, 408);
	spoke_spool_stats st;
	spoke_spool_get_stats(sp, &st);
	assert_int_equal(st.loaded, 4);
	assert_int_equal(st.corrupt, 0);
	push(sp, 5, D, 11); /* new frames go after the loaded ones */
	pop_expect(sp, 1, F, 100);
	pop_expect(sp, 2, D, 300);
	pop_expect(sp, 3, D, 7);
	pop_expect(sp, 4, H, 1);
	pop_expect(sp, 5, D, 11);
	assert_int_equal(count_files(".frame"), 0);
	spoke_spool_close(sp);
}

static void test_spool_reload_orders_streams_by_when_they_started(void **state)
{
	(void)state;
	spoke_spool *sp = open_spool(dir, 64 << 10, 1 << 20, false);
	/* An older stream "zz-old" (before a state reset), then the current stream "aa-new". */
	push_expect(sp, "zz-old", 10, D, 5, FL_OK);
	usleep(3000);
	push_expect(sp, "aa-new", 1, D, 6, FL_OK);
	usleep(3000);
	push_expect(sp, "zz-old", 11, D, 7, FL_OK);
	push_expect(sp, "aa-new", 2, D, 8, FL_OK);
	char err[FL_ERR_LEN] = "";
	assert_int_equal(spoke_spool_flush(sp, err), FL_OK);
	spoke_spool_close(sp);

	sp = open_spool(dir, 64 << 10, 1 << 20, false);
	static const struct {
		const char *id;
		uint64_t seq;
	} want[] = {{"zz-old", 10}, {"zz-old", 11}, {"aa-new", 1}, {"aa-new", 2}};
	for (size_t i = 0; i < 4; i++) {
		spoke_spool_item it;
		assert_true(spoke_spool_head(sp, &it));
		assert_string_equal(it.spoke_id, want[i].id);
		assert_int_equal(it.seq, want[i].seq);
		spoke_spool_pop(sp);
	}
	spoke_spool_close(sp);
}

/* Overwrites len bytes at off in the spool file of seq (stream spoke-a). */
static void damage(uint64_t seq, off_t off, const char *bytes, size_t len)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%020llu-spoke-a.frame", dir, (unsigned long long)seq);
	int fd = open(p, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, bytes, len, off), (ssize_t)len);
	close(fd);
}

static void test_spool_skips_corrupt_and_truncated_files(void **state)
{
	(void)state;
	spoke_spool *sp = open_spool(dir, 64 << 10, 1 << 20, false);
	for (uint64_t s = 1; s <= 5; s++) {
		push(sp, s, D, 50);
	}
	char err[FL_ERR_LEN] = "";
	assert_int_equal(spoke_spool_flush(sp, err), FL_OK);
	spoke_spool_close(sp);

	char p[256];
	snprintf(p, sizeof(p), "%s/00000000000000000002-spoke-a.frame", dir);
	assert_int_equal(truncate(p, 136 + 20), 0); /* truncated frame */
	damage(3, 136 + 10, "X", 1);                /* a flipped payload byte: checksum mismatch */
	damage(4, 0, "NOTSPOOL", 8);                /* not a spool file */
	snprintf(p, sizeof(p), "%s/00000000000000000009-spoke-a.frame", dir);
	FILE *f = fopen(p, "w"); /* a short file */
	assert_non_null(f);
	fputs("FLSPOOL1", f);
	fclose(f);
	snprintf(p, sizeof(p), "%s/00000000000000000010-spoke-a.frame.tmp", dir);
	f = fopen(p, "w"); /* a write cut short by a crash */
	assert_non_null(f);
	fclose(f);
	snprintf(p, sizeof(p), "%s/state", dir);
	f = fopen(p, "w"); /* not the spool's: left alone */
	assert_non_null(f);
	fclose(f);

	sp = open_spool(dir, 64 << 10, 1 << 20, false);
	spoke_spool_stats st;
	spoke_spool_get_stats(sp, &st);
	assert_int_equal(st.loaded, 2);
	assert_int_equal(st.corrupt, 4);
	expect_stats(sp, 2, 100, 0, 100);
	assert_int_equal(count_files(".frame"), 2); /* the bad ones are removed */
	assert_int_equal(count_files(".tmp"), 0);
	snprintf(p, sizeof(p), "%s/state", dir);
	assert_int_equal(access(p, F_OK), 0);

	/* A file that goes bad after loading is caught when read back for sending. */
	damage(1, 136, "Z", 1);
	const void *b;
	size_t n;
	assert_int_equal(spoke_spool_head_bytes(sp, &b, &n, err), FL_EPROTO);
	spoke_spool_get_stats(sp, &st);
	assert_int_equal(st.corrupt, 5);
	expect_stats(sp, 1, 50, 0, 50);
	pop_expect(sp, 5, D, 50);
	spoke_spool_close(sp);
}

static void test_spool_applies_a_smaller_bound_to_loaded_frames(void **state)
{
	(void)state;
	spoke_spool *sp = open_spool(dir, 64 << 10, 1 << 20, false);
	push(sp, 1, F, 40000);
	push(sp, 2, D, 40000);
	push(sp, 3, D, 40000);
	char err[FL_ERR_LEN] = "";
	assert_int_equal(spoke_spool_flush(sp, err), FL_OK);
	spoke_spool_close(sp);
	sp = open_spool(dir, 64 << 10, 100000, false); /* 120000 loaded > 100000: the oldest delta goes */
	expect_stats(sp, 2, 80000, 0, 80000);
	pop_expect(sp, 1, F, 40000);
	pop_expect(sp, 3, D, 40000);
	spoke_spool_close(sp);
}

static void test_spool_bounds_the_number_of_frames(void **state)
{
	(void)state;
	spoke_spool *sp = open_spool(NULL, 1 << 30, 0, false);
	for (uint64_t s = 1; s <= SPOKE_SPOOL_MAX_FRAMES + 2; s++) {
		push(sp, s, H, 1);
	}
	expect_stats(sp, SPOKE_SPOOL_MAX_FRAMES, SPOKE_SPOOL_MAX_FRAMES, SPOKE_SPOOL_MAX_FRAMES, 0);
	spoke_spool_stats st;
	spoke_spool_get_stats(sp, &st);
	assert_int_equal(st.dropped, 2);
	pop_expect(sp, 3, H, 1); /* 1 and 2 were the oldest */
	spoke_spool_close(sp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_spool_is_fifo_with_exact_byte_counts, fresh),
	    cmocka_unit_test_setup(test_spool_rejects_bad_frames, fresh),
	    cmocka_unit_test_setup(test_spool_overflows_from_memory_to_files, fresh),
	    cmocka_unit_test_setup(test_spool_drops_oldest_deltas_first_and_keeps_the_newest_full, fresh),
	    cmocka_unit_test_setup(test_spool_never_drops_the_frame_in_flight, fresh),
	    cmocka_unit_test_setup(test_spool_full_supersedes_queued_frames_but_not_the_one_in_flight, fresh),
	    cmocka_unit_test_setup(test_spool_reloads_files_in_seq_order, fresh),
	    cmocka_unit_test_setup(test_spool_reload_orders_streams_by_when_they_started, fresh),
	    cmocka_unit_test_setup(test_spool_skips_corrupt_and_truncated_files, fresh),
	    cmocka_unit_test_setup(test_spool_applies_a_smaller_bound_to_loaded_frames, fresh),
	    cmocka_unit_test_setup(test_spool_bounds_the_number_of_frames, fresh),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
