/* Unit tests for hub/hub_ingest without a database: each refusal before the write (malformed, over a
 * limit, unknown cluster, bad or tampered signature, a key used outside its role) gets its ack and its
 * counter, in the order the hub checks them (envelope, cluster, signature, then the payload); which ingest urls
 * count as private; and real listeners — plain tcp:// with several requests in flight, and tls+tcp://
 * with a self-signed certificate made by openssl — answer over nng. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/tls/tls.h>

#include "fl_time.h"
#include "hub_ingest.h"
#include "hub_metrics.h"
#include "fl_proto_int.h" /* proto/'s internals: the HMAC and UTF-8 check it uses */
#include "fl_test_tmp.h"

#define KEY "0123456789abcdef0123456789abcdef0123456789abcdef"

static char tmpdir[64];
static hub_config cfg;
static hub_cluster_conf conf[1];
static hub_registry *reg;
static hub_store *nodb; /* never connected: no frame in these tests may reach the database */

static int group_setup(void **state)
{
	(void)state;
	if (fl_test_tmp_make(tmpdir, sizeof(tmpdir), "hub_ingest_test") != 0)
		return -1;
	memset(conf, 0, sizeof(conf));
	strcpy(conf[0].name, "alpha");
	memcpy(conf[0].key.bytes, KEY, strlen(KEY));
	conf[0].key.len = strlen(KEY);
	memset(&cfg, 0, sizeof(cfg));
	cfg.clusters = conf;
	cfg.n_clusters = 1;
	cfg.ingest_workers = 4;
	cfg.replay_tolerance_ms = 5000;
	cfg.ingest_log_retention_ms = 3600000;
	strcpy(cfg.database_url, "host=/nonexistent dbname=none connect_timeout=1");
	nodb = hub_store_new(cfg.database_url);
	return hub_registry_new(&cfg, &reg) == FL_OK && nodb != NULL ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	hub_registry_free(reg);
	hub_store_free(nodb);
	return fl_test_tmp_remove(tmpdir);
}

/* A signed frame of cluster (new malloc'd buffer in *buf, *len). */
static void signed_frame(const char *cluster, const char *key, char **buf, size_t *len)
{
	fl_proto_frame f;
	memset(&f, 0, sizeof(f));
	f.env.version = FL_PROTO_VERSION;
	strcpy(f.env.cluster, cluster);
	strcpy(f.env.spoke_id, "spoke-a");
	f.env.seq = 7;
	f.env.sent_at_ms = fl_now_ms();
	f.env.kind = FL_FRAME_HEARTBEAT;
	char err[FL_ERR_LEN] = "";
	if (fl_proto_encode(&f, (const uint8_t *)key, strlen(key), buf, len, err) != FL_OK)
		fail_msg("encode: %s", err);
}

static void test_refusals_before_the_database_are_acked_and_counted(void **state)
{
	(void)state;
	hub_metrics_reset();
	hub_ingest *ing = hub_ingest_new(reg, &cfg);
	assert_non_null(ing);
	fl_proto_ack ack;

	hub_ingest_handle(ing, nodb, "hello", 5, fl_now_ms(), &ack);
	assert_int_equal(ack.status, FL_ACK_REJECTED);
	assert_non_null(strstr(ack.reason, "malformed frame"));
	assert_int_equal(hub_metrics_get(HUB_M_REJECTED_MALFORMED), 1);

	/* 40 nested one-element arrays: deeper than FL_PROTO_MAX_DEPTH. */
	uint8_t deep[41];
	memset(deep, 0x91, 40);
	deep[40] = 0xc0;
	hub_ingest_handle(ing, nodb, deep, sizeof(deep), fl_now_ms(), &ack);
	assert_int_equal(ack.status, FL_ACK_REJECTED);
	assert_int_equal(hub_metrics_get(HUB_M_REJECTED_OVERSIZED), 1);

	char *buf = NULL;
	size_t len = 0;
	signed_frame("ghost", KEY, &buf, &len);
	hub_ingest_handle(ing, nodb, buf, len, fl_now_ms(), &ack);
	free(buf);
	assert_int_equal(ack.status, FL_ACK_REJECTED);
	assert_int_equal(ack.seq, 7);
	assert_string_equal(ack.reason, "unknown cluster 'ghost'");
	assert_int_equal(hub_metrics_get(HUB_M_REJECTED_UNKNOWN_CLUSTER), 1);

	signed_frame("alpha", "a key that is not alpha's key, 32+ bytes long", &buf, &len);
	hub_ingest_handle(ing, nodb, buf, len, fl_now_ms(), &ack);
	free(buf);
	assert_int_equal(ack.status, FL_ACK_REJECTED);
	assert_non_null(strstr(ack.reason, "bad signature"));
	assert_int_equal(hub_metrics_get(HUB_M_REJECTED_BAD_SIGNATURE), 1);

	/* Right key, but one byte of the envelope changed on the way: spoke-a → spoke-b. */
	signed_frame("alpha", KEY, &buf, &len);
	char *at = NULL;
	for (size_t k = 0; at == NULL && k + 7 <= len; k++)
		if (memcmp(buf + k, "spoke-a", 7) == 0)
			at = buf + k;
	assert_non_null(at);
	at[6] = 'b';
	hub_ingest_handle(ing, nodb, buf, len, fl_now_ms(), &ack);
	free(buf);
	assert_int_equal(ack.status, FL_ACK_REJECTED);
	assert_non_null(strstr(ack.reason, "spoke 'spoke-b'"));
	assert_int_equal(hub_metrics_get(HUB_M_REJECTED_BAD_SIGNATURE), 2);

	assert_int_equal(hub_metrics_get(HUB_M_FRAMES_RECEIVED), 5);
	assert_int_equal(hub_metrics_get(HUB_M_FRAMES_ACCEPTED), 0);
	assert_int_equal(hub_metrics_get(HUB_M_DB_ERRORS), 0); /* nothing reached the database */
	hub_ingest_free(ing);
}

static void put_str(uint8_t *b, size_t *n, const char *str)
{
	size_t l = strlen(str);
	assert_true(l < 32);
	b[(*n)++] = (uint8_t)(0xa0 | l);
	memcpy(b + *n, str, l);
	*n += l;
}

/* A frame of cluster and kind (as the envelope's str) with the raw payload bytes given, signed with key:
 * written byte by byte, so the payload may be anything. Returns its length in b (room for 512 bytes). */
static size_t raw_frame(uint8_t *b, const char *cluster, const char *kind, const char *payload, size_t plen,
                        const char *key)
{
	size_t n = 0;
	b[n++] = 0x93;
	b[n++] = 0x86;
	put_str(b, &n, "v");
	b[n++] = 0x01;
	put_str(b, &n, "cluster");
	put_str(b, &n, cluster);
	put_str(b, &n, "spoke");
	put_str(b, &n, "spoke-a");
	put_str(b, &n, "seq");
	b[n++] = 0x07;
	put_str(b, &n, "sent");
	b[n++] = 0x01;
	put_str(b, &n, "kind");
	put_str(b, &n, kind);
	memcpy(b + n, payload, plen);
	n += plen;
	b[n++] = 0xc4;
	b[n++] = FL_PROTO_SIG_LEN;
	assert_int_equal(fl_proto_hmac((const uint8_t *)key, strlen(key), b + 1, n - 3, b + n), FL_OK);
	return n + FL_PROTO_SIG_LEN;
}

static void test_envelope_cluster_and_signature_are_checked_before_the_payload(void **state)
{
	(void)state;
	static const char bad_payload[] = "\x81\xa5nodes\xa1x"; /* {"nodes": "x"}: nodes must be an array */
	uint8_t b[512];
	size_t n;
	fl_proto_ack ack;
	hub_metrics_reset();
	hub_ingest *ing = hub_ingest_new(reg, &cfg);
	assert_non_null(ing);

	/* a bad payload from a cluster nobody registered: refused for the cluster, the payload unread */
	n = raw_frame(b, "ghost", "full", bad_payload, sizeof(bad_payload) - 1, KEY);
	hub_ingest_handle(ing, nodb, b, n, fl_now_ms(), &ack);
	assert_string_equal(ack.reason, "unknown cluster 'ghost'");
	assert_int_equal(ack.seq, 7);
	/* ... and under a wrong key: refused for the signature */
	n = raw_frame(b, "alpha", "full", bad_payload, sizeof(bad_payload) - 1,
	              "not alpha's key, but 32 bytes long or more");
	hub_ingest_handle(ing, nodb, b, n, fl_now_ms(), &ack);
	assert_non_null(strstr(ack.reason, "bad signature"));
	/* ... and signed with the right key: now decoded, and refused for what it holds */
	n = raw_frame(b, "alpha", "full", bad_payload, sizeof(bad_payload) - 1, KEY);
	hub_ingest_handle(ing, nodb, b, n, fl_now_ms(), &ack);
	assert_int_equal(ack.status, FL_ACK_REJECTED);
	assert_string_equal(ack.reason, "malformed frame from 'alpha': nodes: expected an array, got string");
	/* an envelope that is wrong is refused before the cluster is looked up */
	n = raw_frame(b, "ghost", "bogus", "\x80", 1, KEY);
	hub_ingest_handle(ing, nodb, b, n, fl_now_ms(), &ack);
	assert_non_null(strstr(ack.reason, "malformed frame: envelope.kind"));
	assert_int_equal(ack.seq, 0);

	assert_int_equal(hub_metrics_get(HUB_M_REJECTED_UNKNOWN_CLUSTER), 1);
	assert_int_equal(hub_metrics_get(HUB_M_REJECTED_BAD_SIGNATURE), 1);
	assert_int_equal(hub_metrics_get(HUB_M_REJECTED_MALFORMED), 2);
	assert_int_equal(hub_metrics_get(HUB_M_DB_ERRORS), 0);
	hub_ingest_free(ing);
}

#define NODE_KEY  "node-role-key-of-beta-0123456789abcdef0123456789"
#define BETA_KEY  "cluster-key-of-beta-0123456789abcdef0123456789ab"
#define OTHER_KEY "some-other-key-0123456789abcdef0123456789abcdef0"

/* A signed heartbeat (kind FL_FRAME_HEARTBEAT) or node frame (FL_FRAME_NODE) of cluster, in b. */
static size_t role_frame(uint8_t *b, const char *cluster, bool node, const char *key)
{
	/* node: {"host": {"node": "n1"}}; heartbeat: {} */
	static const char host[] = "\x81\xa4host\x81\xa4node\xa2n1";
	return node ? raw_frame(b, cluster, "node", host, sizeof(host) - 1, key)
	            : raw_frame(b, cluster, "heartbeat", "\x80", 1, key);
}

static void test_a_node_key_signs_node_frames_only(void **state)
{
	(void)state;
	hub_cluster_conf cc[2];
	memset(cc, 0, sizeof(cc));
	strcpy(cc[0].name, "alpha"); /* no node key: node frames under the cluster key, as before */
	memcpy(cc[0].key.bytes, KEY, strlen(KEY));
	cc[0].key.len = strlen(KEY);
	strcpy(cc[1].name, "beta");
	memcpy(cc[1].key.bytes, BETA_KEY, strlen(BETA_KEY));
	cc[1].key.len = strlen(BETA_KEY);
	memcpy(cc[1].node_key.bytes, NODE_KEY, strlen(NODE_KEY));
	cc[1].node_key.len = strlen(NODE_KEY);
	hub_config c = cfg;
	c.clusters = cc;
	c.n_clusters = 2;
	hub_registry *r = NULL;
	assert_int_equal(hub_registry_new(&c, &r), FL_OK);
	hub_ingest *ing = hub_ingest_new(r, &c);
	assert_non_null(ing);
	hub_metrics_reset();
	uint8_t b[512];
	size_t n;
	fl_proto_ack ack;

	/* refused for the key's role: nothing reaches the database */
	n = role_frame(b, "beta", false, NODE_KEY);
	hub_ingest_handle(ing, nodb, b, n, fl_now_ms(), &ack);
	assert_int_equal(ack.status, FL_ACK_REJECTED);
	assert_string_equal(
	    ack.reason,
	    "wrong key role: heartbeat frame of cluster 'beta' spoke 'spoke-a' seq 7 signed with the node key");
	n = role_frame(b, "beta", true, BETA_KEY);
	hub_ingest_handle(ing, nodb, b, n, fl_now_ms(), &ack);
	assert_int_equal(ack.status, FL_ACK_REJECTED);
	assert_non_null(strstr(ack.reason, "wrong key role: node frame of cluster 'beta'"));
	assert_non_null(strstr(ack.reason, "signed with the cluster key"));
	assert_int_equal(hub_metrics_get(HUB_M_REJECTED_WRONG_KEY_ROLE), 2);
	assert_int_equal(hub_metrics_get(HUB_M_DB_ERRORS), 0);
	/* neither key of beta: a bad signature, whatever the kind */
	n = role_frame(b, "beta", true, OTHER_KEY);
	hub_ingest_handle(ing, nodb, b, n, fl_now_ms(), &ack);
	assert_non_null(strstr(ack.reason, "bad signature"));
	n = role_frame(b, "alpha", false, NODE_KEY); /* another cluster's node key */
	hub_ingest_handle(ing, nodb, b, n, fl_now_ms(), &ack);
	assert_non_null(strstr(ack.reason, "bad signature"));
	assert_int_equal(hub_metrics_get(HUB_M_REJECTED_BAD_SIGNATURE), 2);
	assert_int_equal(hub_metrics_get(HUB_M_DB_ERRORS), 0);

	/* accepted ones go on to the database (none here: each is answered "retry") */
	n = role_frame(b, "beta", true, NODE_KEY);
	hub_ingest_handle(ing, nodb, b, n, fl_now_ms(), &ack);
	assert_int_equal(ack.status, FL_ACK_RETRY);
	n = role_frame(b, "beta", false, BETA_KEY);
	hub_ingest_handle(ing, nodb, b, n, fl_now_ms(), &ack);
	assert_int_equal(ack.status, FL_ACK_RETRY);
	n = role_frame(b, "alpha", true, KEY);
	hub_ingest_handle(ing, nodb, b, n, fl_now_ms(), &ack);
	assert_int_equal(ack.status, FL_ACK_RETRY);
	assert_int_equal(hub_metrics_get(HUB_M_REJECTED_DB_ERROR), 3);
	assert_int_equal(hub_metrics_get(HUB_M_REJECTED_WRONG_KEY_ROLE), 2);
	hub_ingest_free(ing);
	hub_registry_free(r);
}

static void test_which_ingest_urls_count_as_private(void **state)
{
	(void)state;
	static const struct {
		const char *url;
		bool private_;
	} cases[] = {
	    {"tcp://127.0.0.1:7100", true},    {"tcp://127.1.2.3:7100", true}, {"tcp://localhost:7100", true},
	    {"tcp://[::1]:7100", true},        {"ipc:///tmp/hub.ipc", true},   {"tls+tcp://0.0.0.0:7100", true},
	    {"tcp://0.0.0.0:7100", false},     {"tcp://:7100", false},         {"tcp://10.0.0.5:7100", false},
	    {"tcp://hub.example:7100", false}, {"tcp://[::]:7100", false},     {"tcp://127.example.com:1", true},
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++)
		if (hub_ingest_url_is_private(cases[k].url) != cases[k].private_)
			fail_msg("%s: expected %s", cases[k].url,
			         cases[k].private_ ? "private" : "reachable by others");
}

/* Sends payload to url over a req0 socket (TLS client with ca as trust anchor when ca != NULL) and
 * decodes the ack. Returns the nng error of the first failing step, 0 on success. */
static int request(const char *url, const char *ca, const void *payload, size_t len, fl_proto_ack *ack)
{
	nng_socket s;
	nng_dialer d;
	nng_tls_config *tc = NULL;
	int rv;
	if ((rv = nng_req0_open(&s)) != 0)
		return rv;
	if ((rv = nng_dialer_create(&d, s, url)) == 0 && ca != NULL) {
		if ((rv = nng_tls_config_alloc(&tc, NNG_TLS_MODE_CLIENT)) == 0 &&
		    (rv = nng_tls_config_ca_file(tc, ca)) == 0 &&
		    (rv = nng_tls_config_server_name(tc, "localhost")) == 0 &&
		    (rv = nng_tls_config_auth_mode(tc, NNG_TLS_AUTH_MODE_REQUIRED)) == 0)
			rv = nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, tc);
		if (tc != NULL)
			nng_tls_config_free(tc);
	}
	if (rv == 0)
		rv = nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 5000);
	if (rv == 0)
		rv = nng_dialer_start(d, 0);
	if (rv == 0)
		rv = nng_send(s, (void *)payload, len, 0);
	nng_msg *msg = NULL;
	if (rv == 0 && (rv = nng_recvmsg(s, &msg, 0)) == 0) {
		char err[FL_ERR_LEN];
		if (fl_proto_ack_decode(nng_msg_body(msg), nng_msg_len(msg), ack, err) != FL_OK)
			rv = NNG_EINVAL;
		nng_msg_free(msg);
	}
	nng_close(s);
	return rv;
}

static void test_plain_tcp_listener_answers_several_requests(void **state)
{
	(void)state;
	hub_config c = cfg;
	strcpy(c.ingest_url, "tcp://127.0.0.1:0");
	hub_ingest *ing = hub_ingest_new(reg, &c);
	char err[FL_ERR_LEN] = "";
	if (hub_ingest_start(ing, err) != FL_OK)
		fail_msg("%s", err);
	int port = hub_ingest_port(ing);
	assert_true(port > 0);
	char url[64];
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", port);
	for (int k = 0; k < 6; k++) {
		fl_proto_ack ack;
		int rv = request(url, NULL, "not a frame", 11, &ack);
		if (rv != 0)
			fail_msg("request %d: %s", k, nng_strerror(rv));
		assert_int_equal(ack.status, FL_ACK_REJECTED);
	}
	hub_ingest_free(ing);
}

static void test_tls_listener_starts_with_a_self_signed_certificate(void **state)
{
	(void)state;
	char cmd[1024], cert[128], key[128];
	snprintf(cert, sizeof(cert), "%s/hub.crt", tmpdir);
	snprintf(key, sizeof(key), "%s/hub.key", tmpdir);
	snprintf(cmd, sizeof(cmd),
	         "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1"
	         " -subj /CN=localhost -addext subjectAltName=DNS:localhost -keyout '%s' -out '%s' 2>/dev/null",
	         key, cert);
	if (system(cmd) != 0)
		fail_msg("openssl could not make a certificate");
	hub_config c = cfg;
	strcpy(c.ingest_url, "tls+tcp://127.0.0.1:0");
	snprintf(c.tls_cert_file, sizeof(c.tls_cert_file), "%s", cert);
	snprintf(c.tls_key_file, sizeof(c.tls_key_file), "%s", key);
	hub_ingest *ing = hub_ingest_new(reg, &c);
	char err[FL_ERR_LEN] = "";
	if (hub_ingest_start(ing, err) != FL_OK)
		fail_msg("%s", err);
	int port = hub_ingest_port(ing);
	assert_true(port > 0);
	char url[64];
	snprintf(url, sizeof(url), "tls+tcp://127.0.0.1:%d", port);
	fl_proto_ack ack;
	int rv = request(url, cert, "not a frame", 11, &ack); /* the client verifies the hub's certificate */
	if (rv != 0)
		fail_msg("tls request: %s", nng_strerror(rv));
	assert_int_equal(ack.status, FL_ACK_REJECTED);
	assert_non_null(strstr(ack.reason, "malformed"));
	/* A plain client cannot talk to it. */
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", port);
	assert_int_not_equal(request(url, NULL, "x", 1, &ack), 0);
	hub_ingest_free(ing);
}

static void test_tls_listener_refuses_a_key_that_is_not_pem(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof(path), "%s/bad.key", tmpdir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("not a key\n", f);
	fclose(f);
	hub_config c = cfg;
	strcpy(c.ingest_url, "tls+tcp://127.0.0.1:0");
	snprintf(c.tls_cert_file, sizeof(c.tls_cert_file), "%s/hub.crt", tmpdir);
	snprintf(c.tls_key_file, sizeof(c.tls_key_file), "%s", path);
	hub_ingest *ing = hub_ingest_new(reg, &c);
	char err[FL_ERR_LEN] = "";
	assert_int_equal(hub_ingest_start(ing, err), FL_EIO);
	assert_non_null(strstr(err, "tls: certificate"));
	hub_ingest_free(ing);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_refusals_before_the_database_are_acked_and_counted),
	    cmocka_unit_test(test_envelope_cluster_and_signature_are_checked_before_the_payload),
	    cmocka_unit_test(test_a_node_key_signs_node_frames_only),
	    cmocka_unit_test(test_which_ingest_urls_count_as_private),
	    cmocka_unit_test(test_plain_tcp_listener_answers_several_requests),
	    cmocka_unit_test(test_tls_listener_starts_with_a_self_signed_certificate),
	    cmocka_unit_test(test_tls_listener_refuses_a_key_that_is_not_pem),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
