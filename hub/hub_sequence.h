/* hub_sequence.h — the delivery rules, as one pure function: is a frame new, a repeat of one already
 * committed, or a replay; which version its rows get; whether the hub asks the spoke for a full snapshot.
 * No I/O, no locks: hub_store_write_frame feeds it what the database holds (read under the cluster's
 * advisory lock) plus what this process remembers, and acts on the answer.
 *
 * A row version is the pair (version_ms, seq) compared lexicographically. version_ms is the frame's
 * sent_at, raised to the previous frame's version_ms of the same spoke stream when the spoke's clock
 * went back, so a spoke's frames are always in seq order; across streams sent_at orders them.
 *
 * Return convention: hub_sequence_decide fills a decision and returns nothing (it cannot fail). */
#ifndef HUB_SEQUENCE_H
#define HUB_SEQUENCE_H

#include <stdbool.h>
#include <stdint.h>

#include "fl_proto.h"

/* What is known before deciding on one frame of a cluster. */
typedef struct hub_seq_prior {
	bool cluster_seen;                 /* a frame of the cluster has been committed (by any hub) */
	char newest_spoke[FL_CLUSTER_LEN]; /* spoke_id of the cluster's newest committed frame */
	int64_t newest_version_ms;         /* that frame's version_ms */
	uint64_t spoke_last_seq;           /* highest seq committed from the frame's spoke_id; 0 = none known */
	int64_t spoke_version_ms;          /* version_ms of that frame; meaningful when spoke_last_seq > 0 */
	bool full_known;                   /* a full frame of the cluster has been committed */
	int64_t full_version_ms;           /* the newest committed full frame's version (ms, seq) */
	uint64_t full_seq;
	bool full_seen; /* this hub process committed a full frame from the frame's spoke_id since it started */
} hub_seq_prior;

typedef enum hub_seq_verdict {
	HUB_SEQ_NEW = 0,       /* write it */
	HUB_SEQ_DUPLICATE = 1, /* same spoke_id, seq <= spoke_last_seq: acknowledge, write nothing */
	HUB_SEQ_REPLAY = 2     /* another stream's frame older than the cluster's newest minus the tolerance: refuse */
} hub_seq_verdict;

typedef struct hub_seq_decision {
	hub_seq_verdict verdict;
	int64_t version_ms; /* NEW: the version time the frame's rows get */
	bool gap;           /* NEW: seq != spoke_last_seq + 1 (frames of this stream are missing or unknown) */
	uint64_t last_seq;  /* the stream's highest committed seq before this frame (prior->spoke_last_seq) */
	bool superseded;    /* NEW: older than the cluster's newest full frame, which already holds a later
	                     * complete state: its rows are not written (a deleted node must not come back) */
	bool want_full;     /* NEW: ask for a full snapshot (the ack's want_full) */
} hub_seq_decision;

/* Decides on a frame with envelope env, given prior and the replay tolerance (ms). In this order:
 *  1. env->seq <= prior->spoke_last_seq                                  → DUPLICATE
 *  2. cluster_seen, env->spoke_id != newest_spoke and
 *     env->sent_at_ms < newest_version_ms - tolerance_ms                 → REPLAY
 *  3. otherwise NEW, with version_ms = max(sent_at_ms, spoke_version_ms if the stream is known),
 *     gap = seq != spoke_last_seq + 1, want_full = the frame is not full and (gap or !full_seen), and
 *     superseded = full_known and (version_ms, seq) < (full_version_ms, full_seq).
 * Fills *out; want_full and gap are false unless NEW. */
void hub_sequence_decide(const hub_seq_prior *prior, const fl_proto_envelope *env, int64_t tolerance_ms,
                         hub_seq_decision *out);

/* "new", "duplicate" or "replay". */
const char *hub_sequence_verdict_name(hub_seq_verdict v);

#endif
