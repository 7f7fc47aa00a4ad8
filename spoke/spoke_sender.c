/* spoke_sender.c — nng req0 client for frames and acks. */
#include "spoke_sender.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <stdlib.h>
#include <string.h>

#include "fl_time.h"

#define SPOKE_RECONNECT_MIN_MS 100
#define SPOKE_RECONNECT_MAX_MS 5000
#define SPOKE_REQ_RESEND_MS    (3600 * 1000) /* effectively never: we resend ourselves */

struct spoke_sender {
	nng_socket sock;
	nng_dialer dialer;
	int64_t ack_timeout_ms;
};

static int nng_fail(char *err, int code, const char *what, int rv)
{
	return fl_seterr(err, code, "%s: %s", what, nng_strerror(rv));
}

int spoke_sender_open(spoke_sender **out, const char *url, int64_t ack_timeout_ms, char err[FL_ERR_LEN])
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
	int rv;
	if ((rv = nng_req0_open(&s->sock)) != 0) {
		free(s);
		return nng_fail(err, FL_EIO, "sender: nng_req0_open", rv);
	}
	nng_duration t = (nng_duration)ack_timeout_ms;
	/* Socket options first: they are also the defaults for the dialer created below. */
	if ((rv = nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ, FL_PROTO_MAX_ACK_BYTES)) != 0 ||
	    (rv = nng_socket_set_ms(s->sock, NNG_OPT_RECONNMINT, SPOKE_RECONNECT_MIN_MS)) != 0 ||
	    (rv = nng_socket_set_ms(s->sock, NNG_OPT_RECONNMAXT, SPOKE_RECONNECT_MAX_MS)) != 0 ||
	    (rv = nng_socket_set_ms(s->sock, NNG_OPT_SENDTIMEO, t)) != 0 ||
	    (rv = nng_socket_set_ms(s->sock, NNG_OPT_RECVTIMEO, t)) != 0 ||
	    (rv = nng_socket_set_ms(s->sock, NNG_OPT_REQ_RESENDTIME, SPOKE_REQ_RESEND_MS)) != 0) {
		nng_close(s->sock);
		free(s);
		return nng_fail(err, FL_EIO, "sender: setting socket options", rv);
	}
	if ((rv = nng_dialer_create(&s->dialer, s->sock, url)) != 0) {
		nng_close(s->sock);
		free(s);
		return fl_seterr(err, rv == NNG_EADDRINVAL || rv == NNG_ENOTSUP ? FL_EINVAL : FL_EIO,
		                 "sender: hub_url '%s': %s", url, nng_strerror(rv));
	}
	if ((rv = nng_dialer_set_size(s->dialer, NNG_OPT_RECVMAXSZ, FL_PROTO_MAX_ACK_BYTES)) != 0 ||
	    (rv = nng_dialer_set_ms(s->dialer, NNG_OPT_RECONNMINT, SPOKE_RECONNECT_MIN_MS)) != 0 ||
	    (rv = nng_dialer_set_ms(s->dialer, NNG_OPT_RECONNMAXT, SPOKE_RECONNECT_MAX_MS)) != 0 ||
	    (rv = nng_dialer_start(s->dialer, NNG_FLAG_NONBLOCK)) != 0) {
		nng_close(s->sock);
		free(s);
		return nng_fail(err, FL_EIO, "sender: starting the dialer", rv);
	}
	*out = s;
	return FL_OK;
}

int spoke_sender_send(spoke_sender *s, const void *bytes, size_t len, uint64_t seq, fl_proto_ack *ack,
                      char err[FL_ERR_LEN])
{
	memset(ack, 0, sizeof(*ack));
	int64_t deadline = fl_mono_ms() + s->ack_timeout_ms;
	int rv;
	/* A new request abandons any earlier one still waiting; its late ack is dropped by nng. */
	if ((rv = nng_send(s->sock, (void *)bytes, len, 0)) != 0) {
		return nng_fail(err, rv == NNG_ETIMEDOUT ? FL_ETIMEDOUT : FL_EIO, "sending the frame", rv);
	}
	int64_t left = deadline - fl_mono_ms();
	if (left < 1) {
		left = 1;
	}
	if ((rv = nng_socket_set_ms(s->sock, NNG_OPT_RECVTIMEO, (nng_duration)left)) != 0) {
		return nng_fail(err, FL_EIO, "setting the ack timeout", rv);
	}
	char *buf = NULL;
	size_t n = 0;
	if ((rv = nng_recv(s->sock, &buf, &n, NNG_FLAG_ALLOC)) != 0) {
		if (rv == NNG_ETIMEDOUT) {
			return fl_seterr(err, FL_ETIMEDOUT, "no ack within %lld ms (hub down or slow?)",
			                 (long long)s->ack_timeout_ms);
		}
		return nng_fail(err, FL_EIO, "waiting for the ack", rv);
	}
	char derr[FL_ERR_LEN];
	rv = fl_proto_ack_decode(buf, n, ack, derr);
	nng_free(buf, n);
	if (rv != FL_OK) {
		memset(ack, 0, sizeof(*ack));
		return fl_seterr(err, FL_EPROTO, "bad ack: %s", derr);
	}
	if (ack->seq != seq) {
		return fl_seterr(err, FL_EPROTO, "ack for seq %llu, expected %llu", (unsigned long long)ack->seq,
		                 (unsigned long long)seq);
	}
	return FL_OK;
}

void spoke_sender_close(spoke_sender *s)
{
	if (s == NULL) {
		return;
	}
	nng_close(s->sock);
	free(s);
}
