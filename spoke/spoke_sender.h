/* spoke_sender.h — sending frames to the hub over nng req/rep and waiting for its ack.
 *
 * One req0 socket with one dialer started non-blocking, so a hub that is down at start-up is not an
 * error: the dialer reconnects in the background with backoff (100 ms doubling to 5 s). nng's own
 * request resend is pushed out to an hour: the daemon decides what to resend (a new full frame each
 * cycle). Replies above FL_PROTO_MAX_ACK_BYTES are refused by nng. One request at a time. */
#ifndef SPOKE_SENDER_H
#define SPOKE_SENDER_H

#include <stddef.h>
#include <stdint.h>

#include "fl_err.h"
#include "fl_proto.h"

typedef struct spoke_sender spoke_sender;

/* Opens the socket and starts dialing url (tcp://host:port, ipc://..., tls+tcp://...). ack_timeout_ms
 * bounds each spoke_sender_send. On FL_OK *out is owned by the caller (spoke_sender_close); on failure
 * (FL_EINVAL bad URL, FL_EIO, FL_ENOMEM) err says why. */
int spoke_sender_open(spoke_sender **out, const char *url, int64_t ack_timeout_ms, char err[FL_ERR_LEN]);

/* Sends one encoded frame (bytes are copied; the caller keeps ownership) and waits up to the ack
 * timeout for the hub's ack, which is decoded into *ack. Returns FL_OK when an ack for `seq` arrived
 * (whatever its status: the caller reads ack->status), FL_ETIMEDOUT when none came in time (hub down
 * or slow), FL_EPROTO when the reply is not an ack for seq, FL_EIO on other transport errors. */
int spoke_sender_send(spoke_sender *s, const void *bytes, size_t len, uint64_t seq, fl_proto_ack *ack,
                      char err[FL_ERR_LEN]);

/* Closes the socket and frees s. Safe on NULL. */
void spoke_sender_close(spoke_sender *s);

#endif
