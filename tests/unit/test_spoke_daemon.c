/* test_spoke_daemon.c — the delivery loop against a real nng rep0 "hub" in a thread that decodes each
 * frame and checks its signature: --once outcomes, the sequence stream across runs, frames kept in
 * spool_dir and resent in order, rejected frames dropped, backoff between retries, heartbeats when
 * idle, want_full, and a prompt stop while an ack is awaited. */
#include <dirent.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fl_time.h"
#include "spoke_config.h"
#include "spoke_daemon.h"

#define KEY      "test-cluster-key-0123456789abcdef0123456789"
#define MAX_SEEN 64

enum hub_mode { HUB_OK, HUB_SILENT, HUB_REJECT, HUB_RETRY };

typedef struct seen {
	char spoke_id[FL_CLUSTER_LEN];
	uint64_t seq;
	fl_frame_kind kind;
	uint32_t n_nodes;
	bool has_overview;
	bool signed_ok;
	int64_t at; /* monotonic ms */
} seen;

/* The hub: decodes and verifies each frame, records it, answers by mode. After `retries` requests
 * answered with retry it switches to ok; the first ok ack carries want_full if want_full_once. When
 * stop_after frames have been seen it sets *stop_flag. */
typedef struct hub {
	nng_socket sock;
	pthread_t thread;
	volatile int stop;
	int port;
	int mode;
	int retries;
	bool want_full_once;
	int stop_after;
	volatile sig_atomic_t *stop_flag;
	pthread_mutex_t mu;
	seen frames[MAX_SEEN];
	int n;
} hub;

static void *hub_run(void *arg)
{
	hub *h = arg;
	while (!h->stop) {
		char *buf = NULL;
		size_t len = 0;
		if (nng_recv(h->sock, &buf, &len, NNG_FLAG_ALLOC) != 0) {
			continue;
		}
		fl_proto_frame f;
		char err[FL_ERR_LEN];
		fl_proto_ack ack;
		memset(&ack, 0, sizeof(ack));
		pthread_mutex_lock(&h->mu);
		if (fl_proto_decode(buf, len, &f, err) == FL_OK && h->n < MAX_SEEN) {
			seen *s = &h->frames[h->n++];
			snprintf(s->spoke_id, sizeof(s->spoke_id), "%s", f.env.spoke_id);
			s->seq = f.env.seq;
			s->kind = f.env.kind;
			s->n_nodes = f.n_nodes;
			s->has_overview = f.has_overview;
			s->signed_ok = fl_proto_verify(buf, len, &f, (const uint8_t *)KEY, strlen(KEY));
			s->at = fl_mono_ms();
			ack.seq = f.env.seq;
			fl_proto_frame_free(&f);
		}
		int mode = h->mode;
		if (mode == HUB_RETRY && h->retries-- <= 0) {
			mode = h->mode = HUB_OK;
		}
		if (mode == HUB_OK && h->want_full_once) {
			ack.want_full = true;
			h->want_full_once = false;
		}
		if (h->stop_after > 0 && h->n >= h->stop_after && h->stop_flag != NULL) {
			*h->stop_flag = 1;
		}
		pthread_mutex_unlock(&h->mu);
		nng_free(buf, len);
		if (mode == HUB_SILENT) {
			continue;
		}
		ack.status = mode == HUB_REJECT ? FL_ACK_REJECTED : mode == HUB_RETRY ? FL_ACK_RETRY : FL_ACK_OK;
		if (mode == HUB_REJECT) {
			snprintf(ack.reason, sizeof(ack.reason), "unknown cluster");
		}
		char *out = NULL;
		size_t n = 0;
		if (fl_proto_ack_encode(&ack, &out, &n) == FL_OK) {
			nng_send(h->sock, out, n, 0);
		}
		free(out);
	}
	return NULL;
}

static hub H;
static char tmpdir[64];
static char spool[128];
static spoke_config cfg;
static volatile sig_atomic_t stop_flag;

static void hub_start(int mode)
{
	memset(&H, 0, sizeof(H));
	H.mode = mode;
	pthread_mutex_init(&H.mu, NULL);
	nng_listener l;
	assert_int_equal(nng_rep0_open(&H.sock), 0);
	assert_int_equal(nng_socket_set_ms(H.sock, NNG_OPT_RECVTIMEO, 50), 0);
	assert_int_equal(nng_listener_create(&l, H.sock, "tcp://127.0.0.1:0"), 0);
	assert_int_equal(nng_listener_start(l, 0), 0);
	assert_int_equal(nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &H.port), 0);
	assert_int_equal(pthread_create(&H.thread, NULL, hub_run, &H), 0);
}

static void hub_stop(void)
{
	H.stop = 1;
	pthread_join(H.thread, NULL);
	nng_close(H.sock);
	pthread_mutex_destroy(&H.mu);
}

static void rm_rf(const char *d)
{
	DIR *dir = opendir(d);
	if (dir == NULL) {
		return;
	}
	struct dirent *de;
	char p[512];
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] != '.') {
			snprintf(p, sizeof(p), "%s/%s", d, de->d_name);
			unlink(p);
		}
	}
	closedir(dir);
	rmdir(d);
}

static int count_frames_on_disk(void)
{
	DIR *dir = opendir(spool);
	if (dir == NULL) {
		return 0;
	}
	int n = 0;
	struct dirent *de;
	while ((de = readdir(dir)) != NULL) {
		size_t l = strlen(de->d_name);
		n += l > 6 && strcmp(de->d_name + l - 6, ".frame") == 0;
	}
	closedir(dir);
	return n;
}

/* Loads a config for the hub at port with the extra lines (YAML) given. */
static void load_config(int port, const char *extra)
{
	char p[128], text[1024];
	snprintf(p, sizeof(p), "%s/spoke.yaml", tmpdir);
	snprintf(text, sizeof(text),
	         "cluster: alpha\nhub_url: tcp://127.0.0.1:%d\nkey_file: key\nlog_level: warn\n%s"
	         "sources: {sim: {nodes: 4, gpus_per_node: 2, seed: 3}}\n",
	         port, extra);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	char err[FL_ERR_LEN] = "";
	if (spoke_config_load(p, &cfg, err) != FL_OK) {
		fail_msg("config: %s", err);
	}
	fl_log_init("spoke", cfg.log_level);
}

static spoke_daemon *open_daemon(void)
{
	spoke_daemon *d = NULL;
	char err[FL_ERR_LEN] = "";
	if (spoke_daemon_open(&d, &cfg, err) != FL_OK) {
		fail_msg("open: %s", err);
	}
	return d;
}

static spoke_outcome once(void)
{
	spoke_daemon *d = open_daemon();
	stop_flag = 0;
	spoke_outcome o = spoke_daemon_once(d, &stop_flag);
	spoke_daemon_close(d);
	return o;
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/fl_daemon.XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		return -1;
	}
	snprintf(spool, sizeof(spool), "%s/spool", tmpdir);
	char p[128];
	snprintf(p, sizeof(p), "%s/key", tmpdir);
	FILE *f = fopen(p, "w");
	if (f == NULL) {
		return -1;
	}
	fputs(KEY "\n", f);
	fclose(f);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rm_rf(spool);
	char p[128];
	snprintf(p, sizeof(p), "%s/key", tmpdir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/spoke.yaml", tmpdir);
	unlink(p);
	return rmdir(tmpdir);
}

static int fresh(void **state)
{
	(void)state;
	rm_rf(spool);
	return 0;
}

static void test_once_sends_signed_full_frames_and_spool_dir_continues_the_stream(void **state)
{
	(void)state;
	hub_start(HUB_OK);
	load_config(H.port, "spool_dir: spool\n");
	assert_int_equal(once(), SPOKE_ACKED);
	assert_int_equal(once(), SPOKE_ACKED);
	load_config(H.port, ""); /* without spool_dir: a new stream per process */
	assert_int_equal(once(), SPOKE_ACKED);
	assert_int_equal(once(), SPOKE_ACKED);
	hub_stop();
	assert_int_equal(H.n, 4);
	for (int i = 0; i < 4; i++) {
		assert_true(H.frames[i].signed_ok);
		assert_int_equal(H.frames[i].kind, FL_FRAME_FULL);
		assert_int_equal(H.frames[i].n_nodes, 4 + 1); /* 4 GPU nodes and one CPU-only node */
	}
	assert_int_equal(H.frames[0].seq, 1);
	assert_int_equal(H.frames[1].seq, 2); /* continued */
	assert_string_equal(H.frames[0].spoke_id, H.frames[1].spoke_id);
	assert_int_equal(H.frames[2].seq, 1);
	assert_int_equal(H.frames[3].seq, 1);
	assert_string_not_equal(H.frames[2].spoke_id, H.frames[3].spoke_id);
	assert_string_not_equal(H.frames[1].spoke_id, H.frames[2].spoke_id);
	assert_int_equal(count_frames_on_disk(), 0);
}

static void test_once_outcomes_and_unacknowledged_frames_kept_in_order(void **state)
{
	(void)state;
	hub_start(HUB_REJECT);
	load_config(H.port, "spool_dir: spool\nspool_supersede: false\nack_timeout: 400ms\n");
	assert_int_equal(once(), SPOKE_REJECTED); /* seq 1: refused for good, not kept */
	assert_int_equal(count_frames_on_disk(), 0);
	H.mode = HUB_RETRY;
	H.retries = 100;
	assert_int_equal(once(), SPOKE_NOT_ACKED); /* seq 2: kept */
	assert_int_equal(count_frames_on_disk(), 1);
	H.mode = HUB_SILENT;
	int64_t t0 = fl_mono_ms();
	assert_int_equal(once(), SPOKE_NOT_ACKED); /* seq 2 again times out; seq 3 waits behind it */
	assert_true(fl_mono_ms() - t0 < 2000);
	assert_int_equal(count_frames_on_disk(), 2);
	H.mode = HUB_OK;
	assert_int_equal(once(), SPOKE_ACKED); /* 2, 3, then its own 4 */
	assert_int_equal(count_frames_on_disk(), 0);
	hub_stop();
	static const uint64_t want[] = {1, 2, 2, 2, 3, 4};
	assert_int_equal(H.n, 6);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(H.frames[i].seq, want[i]);
		assert_true(H.frames[i].signed_ok);
	}

	/* With supersede (the default) a newer full replaces what was left: only the newest is sent. */
	hub_start(HUB_RETRY);
	H.retries = 100;
	load_config(H.port, "spool_dir: spool\n");
	assert_int_equal(once(), SPOKE_NOT_ACKED); /* seq 5 */
	H.mode = HUB_OK;
	assert_int_equal(once(), SPOKE_ACKED); /* seq 6 supersedes 5 */
	hub_stop();
	assert_int_equal(H.n, 2);
	assert_int_equal(H.frames[0].seq, 5);
	assert_int_equal(H.frames[1].seq, 6);
}

static void test_run_retries_with_growing_backoff_then_delivers(void **state)
{
	(void)state;
	hub_start(HUB_RETRY);
	H.retries = 3;
	H.stop_after = 4;
	H.stop_flag = &stop_flag;
	load_config(H.port, "interval: 1h\nheartbeat: 1h\nmax_backoff: 5s\n");
	spoke_daemon *d = open_daemon();
	stop_flag = 0;
	spoke_daemon_run(d, &stop_flag);
	spoke_daemon_stats st;
	spoke_daemon_get_stats(d, &st);
	spoke_daemon_close(d);
	hub_stop();
	assert_int_equal(H.n, 4);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(H.frames[i].seq, 1); /* the same frame, resent */
	}
	/* waits uniform in [b/2, b] for b = 200, 400, 800 ms */
	int64_t g1 = H.frames[1].at - H.frames[0].at, g2 = H.frames[2].at - H.frames[1].at,
	        g3 = H.frames[3].at - H.frames[2].at;
	if (g1 < 90 || g1 > 400 || g2 < 190 || g2 > 700 || g3 < 390 || g3 > 1200) {
		fail_msg("retry gaps %lld, %lld, %lld ms", (long long)g1, (long long)g2, (long long)g3);
	}
	assert_int_equal(st.retries, 3);
	assert_int_equal(st.acked, 1);
	assert_int_equal(st.collected, 1);
}

static void test_run_sends_heartbeats_when_idle_and_keeps_want_full(void **state)
{
	(void)state;
	hub_start(HUB_OK);
	H.want_full_once = true;
	H.stop_after = 3;
	H.stop_flag = &stop_flag;
	load_config(H.port, "interval: 1h\nheartbeat: 150ms\n");
	spoke_daemon *d = open_daemon();
	stop_flag = 0;
	spoke_daemon_run(d, &stop_flag);
	spoke_daemon_stats st;
	spoke_daemon_get_stats(d, &st);
	/* The first ack asked for a full snapshot; no frame has been collected since. */
	assert_true(spoke_daemon_want_full(d));
	spoke_daemon_close(d);
	hub_stop();
	assert_true(H.n >= 3);
	assert_int_equal(H.frames[0].kind, FL_FRAME_FULL);
	for (int i = 1; i < 3; i++) {
		assert_int_equal(H.frames[i].kind, FL_FRAME_HEARTBEAT);
		assert_int_equal(H.frames[i].seq, (uint64_t)i + 1);
		assert_int_equal(H.frames[i].n_nodes, 0);
		assert_false(H.frames[i].has_overview);
		assert_true(H.frames[i].signed_ok);
		int64_t gap = H.frames[i].at - H.frames[i - 1].at;
		if (gap < 140 || gap > 1000) {
			fail_msg("heartbeat %d came %lld ms after the frame before", i, (long long)gap);
		}
	}
	assert_int_equal(st.want_full, 1);
	assert_true(st.heartbeats >= 2);
}

static void test_run_drops_rejected_frames_and_keeps_collecting(void **state)
{
	(void)state;
	hub_start(HUB_REJECT);
	H.stop_after = 3;
	H.stop_flag = &stop_flag;
	load_config(H.port, "interval: 150ms\nheartbeat: 1h\nspool_dir: spool\n");
	spoke_daemon *d = open_daemon();
	stop_flag = 0;
	spoke_daemon_run(d, &stop_flag);
	spoke_daemon_stats st;
	spoke_daemon_get_stats(d, &st);
	spoke_daemon_close(d);
	hub_stop();
	assert_int_equal(H.frames[0].seq, 1);
	assert_int_equal(H.frames[1].seq, 2);
	assert_int_equal(H.frames[2].seq, 3);
	assert_true(st.rejected >= 3);
	assert_int_equal(st.no_ack, 0);
	assert_int_equal(count_frames_on_disk(), 0);
}

static void *stop_later(void *arg)
{
	(void)arg;
	usleep(300 * 1000);
	stop_flag = 1;
	return NULL;
}

static void test_stop_is_prompt_while_an_ack_is_awaited_and_keeps_the_frame(void **state)
{
	(void)state;
	hub_start(HUB_SILENT);
	load_config(H.port, "ack_timeout: 10s\nspool_dir: spool\n");
	spoke_daemon *d = open_daemon();
	stop_flag = 0;
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, stop_later, NULL), 0);
	int64_t t0 = fl_mono_ms();
	spoke_daemon_run(d, &stop_flag);
	int64_t took = fl_mono_ms() - t0;
	pthread_join(t, NULL);
	spoke_daemon_close(d);
	if (took > 1500) {
		fail_msg("run took %lld ms to stop", (long long)took);
	}
	assert_int_equal(count_frames_on_disk(), 1); /* seq 1, unacknowledged, written at stop */
	H.mode = HUB_OK;
	load_config(H.port, "spool_dir: spool\nspool_supersede: false\n");
	assert_int_equal(once(), SPOKE_ACKED);
	hub_stop();
	assert_int_equal(H.n, 3);
	assert_int_equal(H.frames[0].seq, 1);
	assert_int_equal(H.frames[1].seq, 1); /* resent after the restart */
	assert_int_equal(H.frames[2].seq, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_once_sends_signed_full_frames_and_spool_dir_continues_the_stream, fresh),
	    cmocka_unit_test_setup(test_once_outcomes_and_unacknowledged_frames_kept_in_order, fresh),
	    cmocka_unit_test_setup(test_run_retries_with_growing_backoff_then_delivers, fresh),
	    cmocka_unit_test_setup(test_run_sends_heartbeats_when_idle_and_keeps_want_full, fresh),
	    cmocka_unit_test_setup(test_run_drops_rejected_frames_and_keeps_collecting, fresh),
	    cmocka_unit_test_setup(test_stop_is_prompt_while_an_ack_is_awaited_and_keeps_the_frame, fresh),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
