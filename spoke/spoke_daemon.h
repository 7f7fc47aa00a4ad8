/* spoke_daemon.h — the spoke's delivery loop: collect each interval, queue in the spool, send the
 * spool's head, act on the ack.
 *
 * Each `interval` a frame is collected, signed with the cluster key, given the next seq of the stream
 * (spoke_state) and queued (spoke_spool). The head of the spool is sent (spoke_sender) while
 * collection goes on; its ack decides:
 *   ok, duplicate  → removed from the spool;
 *   rejected       → logged with the hub's reason, removed (resending it cannot help), counted;
 *   retry, no ack  → kept; retried after a backoff of 200 ms doubling to max_backoff, with jitter
 *                    (each wait is uniform in [b/2, b]); any ack resets it.
 * An ack with want_full makes the next collected frame a full snapshot. When nothing has been
 * acknowledged for `heartbeat` and the spool is empty, a heartbeat frame (empty payload) is queued so
 * a quiet cluster stays online. A stats line is logged every 5 minutes and at stop.
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h), err naming what failed; spoke_daemon_once returns the
 * frame's spoke_outcome; bool functions answer a question. */
#ifndef SPOKE_DAEMON_H
#define SPOKE_DAEMON_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "fl_err.h"
#include "fl_proto.h"
#include "spoke_config.h"
#include "spoke_frame.h"

typedef struct spoke_daemon spoke_daemon;

/* What became of the frame `spoke_daemon_once` collected. */
typedef enum spoke_outcome {
	SPOKE_ACKED = 0,     /* ok or duplicate */
	SPOKE_NOT_ACKED = 1, /* no ack, retry, or it could not be collected/queued */
	SPOKE_REJECTED = 3   /* refused by the hub (reason logged) */
} spoke_outcome;

typedef struct spoke_daemon_stats {
	uint64_t collected, collect_errors, heartbeats;
	uint64_t acked, duplicates, rejected, retries, no_ack;
	uint64_t want_full; /* acks that asked for a full snapshot */
} spoke_daemon_stats;

/* Collects cycle `tick` from the configured source and builds its frame with meta (a full snapshot:
 * the sim source has no deltas). On FL_OK the caller owns *out (fl_proto_frame_free); on failure err
 * says why and *out is zeroed. Used by the loop and by --dry-run. */
int spoke_daemon_collect(const spoke_config *cfg, uint64_t tick, const spoke_frame_meta *meta, fl_proto_frame *out,
                         char err[FL_ERR_LEN]);

/* Opens the stream state and the spool (in cfg->spool_dir when set; frames found there are queued
 * first) and the sender. cfg is borrowed and must outlive the daemon. On FL_OK the caller owns *out
 * (spoke_daemon_close). FL_ECONFIG / FL_EINVAL: a configuration problem (spool_dir of another
 * cluster, bad TLS files or URL); FL_EIO, FL_ENOMEM otherwise; err says why. */
int spoke_daemon_open(spoke_daemon **out, const spoke_config *cfg, char err[FL_ERR_LEN]);

/* The spoke_id of this spoke's sequence stream (owned by d). */
const char *spoke_daemon_spoke_id(const spoke_daemon *d);

/* True when an ack asked for a full snapshot that has not been collected yet. */
bool spoke_daemon_want_full(const spoke_daemon *d);

/* Runs the loop until *stop becomes non-zero (checked at least every 100 ms, also while waiting for an
 * ack). Then abandons the send in flight, writes the spool to spool_dir (when set) and logs stats. */
void spoke_daemon_run(spoke_daemon *d, volatile sig_atomic_t *stop);

/* --once: collects one frame (cycle 0) and queues it after anything loaded from spool_dir, then sends
 * the queue in order, one attempt per frame, until that frame's ack (or the first failure, or *stop).
 * What is left stays in the spool (written to spool_dir at close). Returns the frame's outcome. */
spoke_outcome spoke_daemon_once(spoke_daemon *d, volatile sig_atomic_t *stop);

/* Copies the delivery counters since open into *out (the spool's own are in spoke_spool_stats). */
void spoke_daemon_get_stats(const spoke_daemon *d, spoke_daemon_stats *out);

/* Abandons a send in flight, writes the spool to spool_dir (when set), releases the state's lock and
 * frees d. Safe on NULL. */
void spoke_daemon_close(spoke_daemon *d);

#endif
