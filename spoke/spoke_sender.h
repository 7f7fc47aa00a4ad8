/* spoke_sender.h — sending frames to the hub over nng req/rep and waiting for its ack, without blocking.
 *
 * One req0 socket with one dialer started non-blocking, so a hub that is down at start-up is not an
 * error: the dialer reconnects in the background with backoff (100 ms doubling to 5 s). nng's own
 * request resend is pushed out to an hour: the daemon decides what to resend and when. Replies above
 * FL_PROTO_MAX_ACK_BYTES are refused by nng (NNG_OPT_RECVMAXSZ on the socket and the dialer).
 * With a tls+tcp:// URL the dialer verifies the hub's certificate against tls->ca_file, for
 * tls->server_name (default: the URL's host), and presents tls->cert_file/key_file when given.
 *
 * One request at a time: spoke_sender_start hands it to nng; the send and the wait for the ack run in
 * nng's threads, bounded together by the ack timeout; spoke_sender_poll collects the outcome, waiting
 * at most as long as the caller allows (so the caller's loop stays responsive). Not thread-safe: one
 * thread drives a sender.
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h), err naming what failed. */
#ifndef SPOKE_SENDER_H
#define SPOKE_SENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fl_err.h"
#include "fl_proto.h"
#include "spoke_config.h"

typedef struct spoke_sender spoke_sender;

/* Opens the socket and starts dialing url (tcp://host:port, ipc://..., tls+tcp://...). ack_timeout_ms
 * bounds each request. tls: the tls: section, required for tls+tcp:// and ignored (may be NULL)
 * otherwise. On FL_OK *out is owned by the caller (spoke_sender_close); on failure (FL_EINVAL bad URL
 * or TLS files, FL_EIO, FL_ENOMEM) err says why. */
int spoke_sender_open(spoke_sender **out, const char *url, int64_t ack_timeout_ms, const spoke_tls_config *tls,
                      char err[FL_ERR_LEN]);

/* Starts sending one encoded frame (bytes are copied; the caller keeps ownership) whose ack must
 * carry seq. FL_OK; FL_EINVAL if a request is still in progress (poll it to completion or cancel it
 * first); FL_ENOMEM. */
int spoke_sender_start(spoke_sender *s, const void *bytes, size_t len, uint64_t seq, char err[FL_ERR_LEN]);

/* Waits up to wait_ms (0: just look) for the outcome of the request started last. *done false: still
 * in progress, FL_OK returned. *done true: the request is over and the sender idle again; returns
 * FL_OK when an ack for its seq arrived (decoded into *ack; the caller reads ack->status),
 * FL_ETIMEDOUT when none came within the ack timeout (hub down or slow), FL_EPROTO when the reply is
 * not an ack for that seq, FL_EIO on other transport errors, with err. With no request started:
 * *done true and FL_EINVAL. */
int spoke_sender_poll(spoke_sender *s, int64_t wait_ms, bool *done, fl_proto_ack *ack, char err[FL_ERR_LEN]);

/* Abandons the request in progress, if any (a late ack is dropped by nng), and returns once nng has
 * let go of it; the sender is idle afterwards. Quick: it does not wait for the ack timeout. */
void spoke_sender_cancel(spoke_sender *s);

/* Cancels what is in progress, closes the socket and frees s. Safe on NULL. */
void spoke_sender_close(spoke_sender *s);

#endif
