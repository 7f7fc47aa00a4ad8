/* spoke_sender.c — nng req0 client for frames and acks, driven by one aio (send, then receive). */
#include "spoke_sender.h"

#include <errno.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/tls/tls.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fl_time.h"
#include "spoke_file.h"
#include "spoke_stats.h"

#define SPOKE_RECONNECT_MIN_MS 100
#define SPOKE_RECONNECT_MAX_MS 5000
#define SPOKE_REQ_RESEND_MS    (3600 * 1000) /* effectively never: we resend ourselves */
#define SPOKE_PEM_MAX          (256 << 10)   /* a client certificate chain or key file */
#define SPOKE_CANCEL_WAIT_MS   2000

enum req_state { IDLE, SENDING, RECEIVING, DONE };

struct spoke_sender {
	nng_socket sock;
	nng_dialer dialer;
	nng_aio *aio;
	int64_t ack_timeout_ms;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* signalled when state becomes DONE */
	/* guarded by mu: */
	enum req_state state;
	bool cancel;
	int rv;         /* nng result of the request (0 with a reply) */
	nng_msg *reply; /* owned while DONE */
	uint64_t seq;
	int64_t deadline; /* monotonic ms */
};

static int nng_fail(char *err, int code, const char *what, int rv)
{
	return fl_seterr(err, code, "%s: %s", what, nng_strerror(rv));
}

/* Called with mu held. */
static void finish(spoke_sender *s, int rv)
{
	s->rv = rv;
	s->state = DONE;
	pthread_cond_broadcast(&s->cv);
}

/* The aio's callback (an nng thread): after the send, start the receive; after the receive, done. */
static void on_aio(void *arg)
{
	spoke_sender *s = arg;
	int rv = nng_aio_result(s->aio);
	pthread_mutex_lock(&s->mu);
	if (s->state == SENDING) {
		if (rv != 0) {
			nng_msg *m = nng_aio_get_msg(s->aio); /* a failed send leaves the message with us */
			if (m != NULL) {
				nng_msg_free(m);
				nng_aio_set_msg(s->aio, NULL);
			}
			finish(s, rv);
		} else if (s->cancel) {
			finish(s, NNG_ECANCELED);
		} else {
			int64_t left = s->deadline - fl_mono_ms();
			nng_aio_set_timeout(s->aio, (nng_duration)(left < 1 ? 1 : left));
			s->state = RECEIVING;
			pthread_mutex_unlock(&s->mu);
			nng_recv_aio(s->sock, s->aio);
			/* A cancel that came between the unlock and the submission missed the receive. */
			pthread_mutex_lock(&s->mu);
			bool cancel = s->cancel && s->state == RECEIVING;
			pthread_mutex_unlock(&s->mu);
			if (cancel) {
				nng_aio_cancel(s->aio);
			}
			return;
		}
	} else if (s->state == RECEIVING) {
		if (rv == 0) {
			s->reply = nng_aio_get_msg(s->aio);
			nng_aio_set_msg(s->aio, NULL);
		}
		finish(s, rv);
	}
	pthread_mutex_unlock(&s->mu);
}

/* Copies the host of "tls+tcp://host:port" (or "[v6]:port") into out. */
static void url_host(const char *url, char *out, size_t len)
{
	const char *h = strstr(url, "://");
	h = h != NULL ? h + 3 : url;
	size_t n;
	if (*h == '[') {
		h++;
		n = strcspn(h, "]");
	} else {
		n = strcspn(h, ":/");
	}
	snprintf(out, len, "%.*s", (int)n, h);
}

/* Builds the dialer's TLS configuration from the tls: section. */
static int setup_tls(spoke_sender *s, const char *url, const spoke_tls_config *tls, char err[FL_ERR_LEN])
{
	if (tls == NULL || tls->ca_file[0] == '\0') {
		return fl_seterr(err, FL_EINVAL, "sender: a tls+tcp:// hub needs tls.ca_file");
	}
	nng_tls_config *c = NULL;
	char *cert = NULL, *key = NULL;
	size_t n;
	char host[256];
	const char *name = tls->server_name;
	if (name[0] == '\0') {
		url_host(url, host, sizeof(host));
		name = host;
	}
	int code = FL_EINVAL, rv;
	const char *what = NULL;
	if ((rv = nng_tls_config_alloc(&c, NNG_TLS_MODE_CLIENT)) != 0) {
		code = FL_ENOMEM;
		what = "nng_tls_config_alloc";
	} else if ((rv = nng_tls_config_auth_mode(c, NNG_TLS_AUTH_MODE_REQUIRED)) != 0) {
		what = "tls auth mode";
	} else if ((rv = nng_tls_config_ca_file(c, tls->ca_file)) != 0) {
		what = tls->ca_file;
	} else if ((rv = nng_tls_config_server_name(c, name)) != 0) {
		what = "tls server name";
	}
	if (what == NULL && tls->cert_file[0] != '\0') {
		char ferr[FL_ERR_LEN];
		if (spoke_file_read(tls->cert_file, SPOKE_PEM_MAX, &cert, &n, ferr) != FL_OK ||
		    spoke_file_read(tls->key_file, SPOKE_PEM_MAX, &key, &n, ferr) != FL_OK) {
			nng_tls_config_free(c);
			free(cert);
			return fl_seterr(err, FL_EINVAL, "sender: tls: %s", ferr);
		}
		if ((rv = nng_tls_config_own_cert(c, cert, key, NULL)) != 0) {
			what = "tls.cert_file/key_file";
		}
		memset(key, 0, n);
		free(key);
		free(cert);
	}
	if (what == NULL && (rv = nng_dialer_set_ptr(s->dialer, NNG_OPT_TLS_CONFIG, c)) != 0) {
		code = FL_EIO;
		what = "setting the dialer's TLS configuration";
	}
	if (c != NULL) {
		nng_tls_config_free(c); /* the dialer holds its own reference */
	}
	if (what != NULL) {
		return fl_seterr(err, code, "sender: %s: %s", what, nng_strerror(rv));
	}
	return FL_OK;
}

int spoke_sender_open(spoke_sender **out, const char *url, int64_t ack_timeout_ms, const spoke_tls_config *tls,
                      char err[FL_ERR_LEN])
{
	*out = NULL;
	if (ack_timeout_ms <= 0 || ack_timeout_ms > INT32_MAX) {
		return fl_seterr(err, FL_EINVAL, "sender: ack timeout %lld ms out of range", (long long)ack_timeout_ms);
	}
	spoke_sender *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		return fl_seterr(err, FL_ENOMEM, "sender: out of memory");
	}
	s->ack_timeout_ms = ack_timeout_ms;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&s->mu, NULL);
	int rv;
	if ((rv = nng_aio_alloc(&s->aio, on_aio, s)) != 0) {
		pthread_cond_destroy(&s->cv);
		pthread_mutex_destroy(&s->mu);
		free(s);
		return nng_fail(err, FL_ENOMEM, "sender: nng_aio_alloc", rv);
	}
	if ((rv = nng_req0_open(&s->sock)) != 0) {
		spoke_sender_close(s);
		return nng_fail(err, FL_EIO, "sender: nng_req0_open", rv);
	}
	/* Socket options first: they are also the defaults for the dialer created below. */
	if ((rv = nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ, FL_PROTO_MAX_ACK_BYTES)) != 0 ||
	    (rv = nng_socket_set_ms(s->sock, NNG_OPT_RECONNMINT, SPOKE_RECONNECT_MIN_MS)) != 0 ||
	    (rv = nng_socket_set_ms(s->sock, NNG_OPT_RECONNMAXT, SPOKE_RECONNECT_MAX_MS)) != 0 ||
	    (rv = nng_socket_set_ms(s->sock, NNG_OPT_REQ_RESENDTIME, SPOKE_REQ_RESEND_MS)) != 0) {
		spoke_sender_close(s);
		return nng_fail(err, FL_EIO, "sender: setting socket options", rv);
	}
	if ((rv = nng_dialer_create(&s->dialer, s->sock, url)) != 0) {
		spoke_sender_close(s);
		return fl_seterr(err, rv == NNG_EADDRINVAL || rv == NNG_ENOTSUP ? FL_EINVAL : FL_EIO,
		                 "sender: hub_url '%s': %s", url, nng_strerror(rv));
	}
	if (strncmp(url, "tls+tcp://", 10) == 0 && (rv = setup_tls(s, url, tls, err)) != FL_OK) {
		spoke_sender_close(s);
		return rv;
	}
	if ((rv = nng_dialer_set_size(s->dialer, NNG_OPT_RECVMAXSZ, FL_PROTO_MAX_ACK_BYTES)) != 0 ||
	    (rv = nng_dialer_set_ms(s->dialer, NNG_OPT_RECONNMINT, SPOKE_RECONNECT_MIN_MS)) != 0 ||
	    (rv = nng_dialer_set_ms(s->dialer, NNG_OPT_RECONNMAXT, SPOKE_RECONNECT_MAX_MS)) != 0 ||
	    (rv = nng_dialer_start(s->dialer, NNG_FLAG_NONBLOCK)) != 0) {
		spoke_sender_close(s);
		return nng_fail(err, FL_EIO, "sender: starting the dialer", rv);
	}
	*out = s;
	return FL_OK;
}

int spoke_sender_start(spoke_sender *s, const void *bytes, size_t len, uint64_t seq, char err[FL_ERR_LEN])
{
	pthread_mutex_lock(&s->mu);
	bool idle = s->state == IDLE;
	pthread_mutex_unlock(&s->mu);
	if (!idle) {
		return fl_seterr(err, FL_EINVAL, "sender: a request is still in progress");
	}
	nng_msg *m;
	int rv = nng_msg_alloc(&m, len);
	if (rv != 0) {
		return nng_fail(err, FL_ENOMEM, "sender: nng_msg_alloc", rv);
	}
	memcpy(nng_msg_body(m), bytes, len);
	pthread_mutex_lock(&s->mu);
	s->state = SENDING;
	s->cancel = false;
	s->rv = 0;
	s->seq = seq;
	s->deadline = fl_mono_ms() + s->ack_timeout_ms;
	pthread_mutex_unlock(&s->mu);
	nng_aio_set_msg(s->aio, m);
	nng_aio_set_timeout(s->aio, (nng_duration)s->ack_timeout_ms);
	nng_send_aio(s->sock, s->aio);
	spoke_stats_count(spoke_stats_global(), SPOKE_C_SENT, 1);
	return FL_OK;
}

/* Turns a finished request into the poll result; the sender is idle afterwards. Called with mu held. */
static int collect(spoke_sender *s, fl_proto_ack *ack, char err[FL_ERR_LEN])
{
	nng_msg *m = s->reply;
	int rv = s->rv;
	s->reply = NULL;
	s->state = IDLE;
	if (rv != 0) {
		if (rv == NNG_ETIMEDOUT) {
			return fl_seterr(err, FL_ETIMEDOUT, "no ack within %lld ms (hub down or slow?)",
			                 (long long)s->ack_timeout_ms);
		}
		return nng_fail(err, FL_EIO, "sending the frame or waiting for the ack", rv);
	}
	char derr[FL_ERR_LEN];
	rv = fl_proto_ack_decode(nng_msg_body(m), nng_msg_len(m), ack, derr);
	nng_msg_free(m);
	if (rv != FL_OK) {
		memset(ack, 0, sizeof(*ack));
		return fl_seterr(err, FL_EPROTO, "bad ack: %s", derr);
	}
	if (ack->seq != s->seq) {
		return fl_seterr(err, FL_EPROTO, "ack for seq %llu, expected %llu", (unsigned long long)ack->seq,
		                 (unsigned long long)s->seq);
	}
	if (ack->status == FL_ACK_OK || ack->status == FL_ACK_DUPLICATE) {
		spoke_stats_acked(spoke_stats_global(), fl_mono_ms());
	} else {
		spoke_stats_refused(spoke_stats_global(), ack->reason); /* rejected, or retry (db_error) */
	}
	return FL_OK;
}

int spoke_sender_poll(spoke_sender *s, int64_t wait_ms, bool *done, fl_proto_ack *ack, char err[FL_ERR_LEN])
{
	memset(ack, 0, sizeof(*ack));
	*done = false;
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	int64_t ns = until.tv_nsec + (wait_ms > 0 ? wait_ms : 0) % 1000 * 1000000;
	until.tv_sec += (wait_ms > 0 ? wait_ms : 0) / 1000 + ns / 1000000000;
	until.tv_nsec = ns % 1000000000;
	pthread_mutex_lock(&s->mu);
	if (s->state == IDLE) {
		pthread_mutex_unlock(&s->mu);
		*done = true;
		return fl_seterr(err, FL_EINVAL, "sender: no request in progress");
	}
	while (s->state != DONE) {
		if (pthread_cond_timedwait(&s->cv, &s->mu, &until) == ETIMEDOUT) {
			break;
		}
	}
	int rv = FL_OK;
	if (s->state == DONE) {
		*done = true;
		rv = collect(s, ack, err);
	}
	pthread_mutex_unlock(&s->mu);
	return rv;
}

void spoke_sender_cancel(spoke_sender *s)
{
	pthread_mutex_lock(&s->mu);
	if (s->state == IDLE) {
		pthread_mutex_unlock(&s->mu);
		return;
	}
	s->cancel = true;
	pthread_mutex_unlock(&s->mu);
	nng_aio_cancel(s->aio);
	bool done;
	fl_proto_ack ack;
	spoke_sender_poll(s, SPOKE_CANCEL_WAIT_MS, &done, &ack, NULL);
}

void spoke_sender_close(spoke_sender *s)
{
	if (s == NULL) {
		return;
	}
	if (s->aio != NULL) {
		spoke_sender_cancel(s);
	}
	nng_close(s->sock); /* fails whatever is left with NNG_ECLOSED */
	if (s->aio != NULL) {
		nng_aio_free(s->aio); /* waits for a callback still running */
	}
	if (s->reply != NULL) {
		nng_msg_free(s->reply);
	}
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}
