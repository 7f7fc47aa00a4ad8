/* test_spoke_sender.c — the sender against a real nng rep0 "hub" in a thread (tcp and tls+tcp on
 * loopback): acks decoded and matched to their seq, timeouts when the hub is down or silent, polling
 * that never blocks longer than asked, and a cancel that does not wait out the ack timeout. */
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/tls/tls.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fl_time.h"
#include "spoke_sender.h"
#include "fl_test_tmp.h"

enum hub_mode { HUB_OK, HUB_SILENT, HUB_WRONG_SEQ, HUB_REJECT_WANT_FULL };

/* A minimal hub: answers each request (its body is the seq in decimal) according to mode. */
typedef struct hub {
	nng_socket sock;
	nng_listener l;
	pthread_t thread;
	volatile int mode;
	volatile int stop;
	volatile int received;
	int port;
} hub;

static void *hub_run(void *arg)
{
	hub *h = arg;
	while (!h->stop) {
		char *buf = NULL;
		size_t n = 0;
		if (nng_recv(h->sock, &buf, &n, NNG_FLAG_ALLOC) != 0) {
			continue; /* receive timeout: look at stop again */
		}
		char text[32];
		snprintf(text, sizeof(text), "%.*s", (int)(n < 31 ? n : 31), buf);
		nng_free(buf, n);
		h->received++;
		fl_proto_ack ack;
		memset(&ack, 0, sizeof(ack));
		ack.seq = strtoull(text, NULL, 10);
		switch (h->mode) {
		case HUB_SILENT: continue;
		case HUB_WRONG_SEQ: ack.seq++; break;
		case HUB_REJECT_WANT_FULL:
			ack.status = FL_ACK_REJECTED;
			ack.want_full = true;
			snprintf(ack.reason, sizeof(ack.reason), "bad signature");
			break;
		default: ack.status = FL_ACK_OK;
		}
		char *out = NULL;
		size_t len = 0;
		assert_int_equal(fl_proto_ack_encode(&ack, &out, &len), FL_OK);
		nng_send(h->sock, out, len, 0);
		free(out);
	}
	return NULL;
}

/* Starts a hub listening on url (port 0: any), with tls (a server config) if not NULL. */
static void hub_start(hub *h, const char *url, nng_tls_config *tls)
{
	memset(h, 0, sizeof(*h));
	assert_int_equal(nng_rep0_open(&h->sock), 0);
	assert_int_equal(nng_socket_set_ms(h->sock, NNG_OPT_RECVTIMEO, 50), 0);
	assert_int_equal(nng_listener_create(&h->l, h->sock, url), 0);
	if (tls != NULL) {
		assert_int_equal(nng_listener_set_ptr(h->l, NNG_OPT_TLS_CONFIG, tls), 0);
	}
	assert_int_equal(nng_listener_start(h->l, 0), 0);
	assert_int_equal(nng_listener_get_int(h->l, NNG_OPT_TCP_BOUND_PORT, &h->port), 0);
	assert_int_equal(pthread_create(&h->thread, NULL, hub_run, h), 0);
}

static void hub_stop(hub *h)
{
	h->stop = 1;
	pthread_join(h->thread, NULL);
	nng_close(h->sock);
}

static spoke_sender *open_sender(const char *url, int64_t ack_timeout_ms, const spoke_tls_config *tls)
{
	spoke_sender *s = NULL;
	char err[FL_ERR_LEN] = "";
	if (spoke_sender_open(&s, url, ack_timeout_ms, tls, err) != FL_OK) {
		fail_msg("open: %s", err);
	}
	return s;
}

/* Sends seq and polls (in 20 ms slices) until the outcome; returns it and the ack. */
static int send_wait(spoke_sender *s, uint64_t seq, fl_proto_ack *ack, char err[FL_ERR_LEN])
{
	char body[32];
	int n = snprintf(body, sizeof(body), "%llu", (unsigned long long)seq);
	assert_int_equal(spoke_sender_start(s, body, (size_t)n, seq, err), FL_OK);
	for (;;) {
		bool done = false;
		int rv = spoke_sender_poll(s, 20, &done, ack, err);
		if (done) {
			return rv;
		}
		assert_int_equal(rv, FL_OK);
	}
}

static void tcp_url(char *url, size_t len, int port)
{
	snprintf(url, len, "tcp://127.0.0.1:%d", port);
}

static void test_sender_gets_the_ack_for_its_seq(void **state)
{
	(void)state;
	hub h;
	hub_start(&h, "tcp://127.0.0.1:0", NULL);
	char url[64], err[FL_ERR_LEN] = "";
	tcp_url(url, sizeof(url), h.port);
	spoke_sender *s = open_sender(url, 5000, NULL);
	fl_proto_ack ack;
	for (uint64_t seq = 1; seq <= 3; seq++) {
		assert_int_equal(send_wait(s, seq, &ack, err), FL_OK);
		assert_int_equal(ack.seq, seq);
		assert_int_equal(ack.status, FL_ACK_OK);
		assert_false(ack.want_full);
	}
	h.mode = HUB_REJECT_WANT_FULL;
	assert_int_equal(send_wait(s, 4, &ack, err), FL_OK);
	assert_int_equal(ack.status, FL_ACK_REJECTED);
	assert_true(ack.want_full);
	assert_string_equal(ack.reason, "bad signature");
	h.mode = HUB_WRONG_SEQ;
	assert_int_equal(send_wait(s, 5, &ack, err), FL_EPROTO);
	assert_non_null(strstr(err, "ack for seq 6, expected 5"));
	spoke_sender_close(s);
	hub_stop(&h);
}

static void test_sender_times_out_when_the_hub_is_down_or_silent(void **state)
{
	(void)state;
	hub h;
	hub_start(&h, "tcp://127.0.0.1:0", NULL);
	char url[64], err[FL_ERR_LEN] = "";
	tcp_url(url, sizeof(url), h.port);
	h.mode = HUB_SILENT;
	spoke_sender *s = open_sender(url, 300, NULL);
	fl_proto_ack ack;
	int64_t t0 = fl_mono_ms();
	assert_int_equal(send_wait(s, 1, &ack, err), FL_ETIMEDOUT);
	int64_t took = fl_mono_ms() - t0;
	assert_true(took >= 280 && took < 2000);
	assert_int_equal(h.received, 1);
	spoke_sender_close(s);
	hub_stop(&h); /* now nothing listens on that port */

	s = open_sender(url, 300, NULL);
	t0 = fl_mono_ms();
	assert_int_equal(send_wait(s, 1, &ack, err), FL_ETIMEDOUT);
	took = fl_mono_ms() - t0;
	assert_true(took >= 280 && took < 2000);
	spoke_sender_close(s);
}

static void test_sender_poll_waits_no_longer_than_asked(void **state)
{
	(void)state;
	hub h;
	hub_start(&h, "tcp://127.0.0.1:0", NULL);
	h.mode = HUB_SILENT;
	char url[64], err[FL_ERR_LEN] = "";
	tcp_url(url, sizeof(url), h.port);
	spoke_sender *s = open_sender(url, 10000, NULL);
	bool done = true;
	fl_proto_ack ack;
	assert_int_equal(spoke_sender_poll(s, 0, &done, &ack, err), FL_EINVAL); /* nothing started */
	assert_true(done);
	assert_int_equal(spoke_sender_start(s, "1", 1, 1, err), FL_OK);
	assert_int_equal(spoke_sender_start(s, "2", 1, 2, err), FL_EINVAL); /* one at a time */
	int64_t t0 = fl_mono_ms();
	assert_int_equal(spoke_sender_poll(s, 0, &done, &ack, err), FL_OK);
	assert_false(done);
	assert_int_equal(spoke_sender_poll(s, 100, &done, &ack, err), FL_OK);
	assert_false(done);
	int64_t took = fl_mono_ms() - t0;
	assert_true(took >= 90 && took < 1000);

	/* Cancel returns at once, not after the 10 s ack timeout, and leaves the sender idle. */
	t0 = fl_mono_ms();
	spoke_sender_cancel(s);
	assert_true(fl_mono_ms() - t0 < 500);
	h.mode = HUB_OK;
	assert_int_equal(send_wait(s, 7, &ack, err), FL_OK);
	assert_int_equal(ack.seq, 7);
	spoke_sender_close(s);
	hub_stop(&h);
}

static void test_sender_refuses_bad_urls_and_tls_without_ca(void **state)
{
	(void)state;
	spoke_sender *s = NULL;
	char err[FL_ERR_LEN] = "";
	assert_int_equal(spoke_sender_open(&s, "nope://x", 1000, NULL, err), FL_EINVAL);
	assert_null(s);
	assert_int_equal(spoke_sender_open(&s, "tls+tcp://127.0.0.1:1", 1000, NULL, err), FL_EINVAL);
	assert_non_null(strstr(err, "tls.ca_file"));
	spoke_tls_config tls;
	memset(&tls, 0, sizeof(tls));
	snprintf(tls.ca_file, sizeof(tls.ca_file), "/nonexistent/ca.pem");
	assert_int_equal(spoke_sender_open(&s, "tls+tcp://127.0.0.1:1", 1000, &tls, err), FL_EINVAL);
	assert_non_null(strstr(err, "/nonexistent/ca.pem"));
	assert_int_equal(spoke_sender_open(&s, "tcp://127.0.0.1:1", 0, NULL, err), FL_EINVAL);
}

/* TLS: a CA, a hub certificate for hub.test and a client certificate, made with the openssl tool. */
static char tlsdir[64];
static bool have_certs;

static int tls_setup(void **state)
{
	(void)state;
	if (fl_test_tmp_make(tlsdir, sizeof(tlsdir), "fl_sender_tls") != 0) {
		return -1;
	}
	char cmd[2048];
	snprintf(cmd, sizeof(cmd),
	         "(cd %s && ec='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes' && "
	         "openssl req -x509 $ec -keyout ca.key -out ca.pem -days 2 -subj /CN=fl-test-ca && "
	         "openssl req $ec -keyout hub.key -out hub.csr -subj /CN=hub.test && "
	         "printf 'subjectAltName=DNS:hub.test\\n' > hub.ext && "
	         "openssl x509 -req -in hub.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile hub.ext "
	         "-out hub.pem && cat hub.pem hub.key > hub.both && "
	         "openssl req $ec -keyout client.key -out client.csr -subj /CN=spoke && "
	         "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -out client.pem) "
	         ">/dev/null 2>&1",
	         tlsdir);
	have_certs = system(cmd) == 0;
	if (!have_certs) {
		fprintf(stderr, "openssl could not make test certificates: TLS tests skipped\n");
	}
	return 0;
}

static int tls_teardown(void **state)
{
	(void)state;
	return fl_test_tmp_remove(tlsdir);
}

static nng_tls_config *hub_tls(bool require_client_cert)
{
	char p[128];
	nng_tls_config *c = NULL;
	assert_int_equal(nng_tls_config_alloc(&c, NNG_TLS_MODE_SERVER), 0);
	snprintf(p, sizeof(p), "%s/hub.both", tlsdir);
	assert_int_equal(nng_tls_config_cert_key_file(c, p, NULL), 0);
	if (require_client_cert) {
		snprintf(p, sizeof(p), "%s/ca.pem", tlsdir);
		assert_int_equal(nng_tls_config_ca_file(c, p), 0);
		assert_int_equal(nng_tls_config_auth_mode(c, NNG_TLS_AUTH_MODE_REQUIRED), 0);
	}
	return c;
}

static void test_sender_speaks_tls_with_a_client_certificate(void **state)
{
	(void)state;
	if (!have_certs) {
		skip();
	}
	nng_tls_config *c = hub_tls(true);
	hub h;
	hub_start(&h, "tls+tcp://127.0.0.1:0", c);
	nng_tls_config_free(c);
	char url[64], err[FL_ERR_LEN] = "";
	snprintf(url, sizeof(url), "tls+tcp://127.0.0.1:%d", h.port);
	spoke_tls_config tls;
	memset(&tls, 0, sizeof(tls));
	snprintf(tls.ca_file, sizeof(tls.ca_file), "%s/ca.pem", tlsdir);
	snprintf(tls.server_name, sizeof(tls.server_name), "hub.test");
	snprintf(tls.cert_file, sizeof(tls.cert_file), "%s/client.pem", tlsdir);
	snprintf(tls.key_file, sizeof(tls.key_file), "%s/client.key", tlsdir);
	spoke_sender *s = open_sender(url, 5000, &tls);
	fl_proto_ack ack;
	if (send_wait(s, 42, &ack, err) != FL_OK) {
		fail_msg("tls send: %s", err);
	}
	assert_int_equal(ack.seq, 42);
	assert_int_equal(ack.status, FL_ACK_OK);
	spoke_sender_close(s);
	hub_stop(&h);
}

static void test_sender_refuses_a_hub_certificate_for_another_name(void **state)
{
	(void)state;
	if (!have_certs) {
		skip();
	}
	nng_tls_config *c = hub_tls(false);
	hub h;
	hub_start(&h, "tls+tcp://127.0.0.1:0", c);
	nng_tls_config_free(c);
	char url[64], err[FL_ERR_LEN] = "";
	snprintf(url, sizeof(url), "tls+tcp://127.0.0.1:%d", h.port);
	spoke_tls_config tls;
	memset(&tls, 0, sizeof(tls));
	snprintf(tls.ca_file, sizeof(tls.ca_file), "%s/ca.pem", tlsdir);
	snprintf(tls.server_name, sizeof(tls.server_name), "other.test");
	spoke_sender *s = open_sender(url, 700, &tls);
	fl_proto_ack ack;
	assert_int_equal(send_wait(s, 1, &ack, err), FL_ETIMEDOUT);
	assert_int_equal(h.received, 0); /* the handshake failed: no frame reached the hub */
	spoke_sender_close(s);
	hub_stop(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sender_gets_the_ack_for_its_seq),
	    cmocka_unit_test(test_sender_times_out_when_the_hub_is_down_or_silent),
	    cmocka_unit_test(test_sender_poll_waits_no_longer_than_asked),
	    cmocka_unit_test(test_sender_refuses_bad_urls_and_tls_without_ca),
	    cmocka_unit_test(test_sender_speaks_tls_with_a_client_certificate),
	    cmocka_unit_test(test_sender_refuses_a_hub_certificate_for_another_name),
	};
	return cmocka_run_group_tests(tests, tls_setup, tls_teardown);
}
