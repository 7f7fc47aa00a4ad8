/* spoke_spool.h — the FIFO of encoded, signed frames the hub has not acknowledged yet.
 *
 * Frames are kept in memory up to memory_bytes; with a folder, the frames that do not fit go to files
 * there (one per frame, written atomically and fsync'd), and memory + files stay within max_bytes.
 * Without a folder the spool is memory only and bounded by memory_bytes. Byte counts are the frames'
 * encoded lengths (file headers and the read buffer of the head are not counted). At most
 * SPOKE_SPOOL_MAX_FRAMES frames are queued.
 *
 * Policy when a frame is pushed (each step logged, with running totals, and counted):
 *  1. supersede (if enabled) — a full snapshot replaces everything queued before it except the frame
 *     in flight: those frames are dropped as "superseded" (the hub's state stays right: the full
 *     replaces the cluster's rows).
 *  2. bound — while the new frame does not fit, drop a queued frame (never the one in flight): the
 *     oldest delta or heartbeat first; when only full snapshots remain, the oldest full that is not the
 *     newest full (the new frame counts as newest if it is a full). The newest full is never dropped.
 *  3. If it still does not fit, a new full is queued anyway (the bound is exceeded by that one frame,
 *     logged); a new delta or heartbeat is dropped itself.
 * A dropped delta leaves a gap in the sequence; the hub answers it with want_full.
 *
 * On open, the frames found in the folder are loaded (their bytes stay on disk) and come first, in
 * (stream, seq) order: streams in the order they started queuing, each in seq order. A file that is
 * truncated or does not match its checksum is logged, counted as corrupt, removed and skipped.
 * spoke_spool_flush writes the frames still in memory to the folder (at shutdown).
 *
 * Not thread-safe: one thread drives a spool.
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h), err naming what failed; bool functions answer a question. */
#ifndef SPOKE_SPOOL_H
#define SPOKE_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fl_err.h"
#include "fl_proto.h"

#define SPOKE_SPOOL_MAX_FRAMES 100000u

typedef struct spoke_spool spoke_spool;

typedef struct spoke_spool_opts {
	const char *dir;       /* NULL or "": memory only */
	uint64_t memory_bytes; /* frames held in memory */
	uint64_t max_bytes;    /* memory + files, with dir (>= memory_bytes); ignored without dir */
	bool supersede;        /* step 1 of the policy */
} spoke_spool_opts;

/* What the head of the queue is. */
typedef struct spoke_spool_item {
	char spoke_id[FL_CLUSTER_LEN];
	uint64_t seq;
	fl_frame_kind kind;
	size_t len;
	bool on_disk;
} spoke_spool_item;

typedef struct spoke_spool_stats {
	/* now */
	uint64_t frames, bytes;
	uint64_t memory_frames, memory_bytes;
	uint64_t disk_frames, disk_bytes;
	/* totals since open */
	uint64_t pushed, loaded, removed;
	uint64_t dropped, dropped_bytes;       /* by the bound (step 2 and 3) */
	uint64_t superseded, superseded_bytes; /* by a newer full (step 1) */
	uint64_t corrupt;                      /* files skipped at load or when read back */
	uint64_t write_errors;                 /* frames kept in memory because their file could not be written */
} spoke_spool_stats;

/* Creates a spool; with o->dir, creates the folder if needed (one level) and loads the frames found
 * there (see above). On FL_OK the caller owns *out (spoke_spool_close). FL_EINVAL for bad options,
 * FL_EIO when the folder cannot be created or listed, FL_ENOMEM; err says why. */
int spoke_spool_open(spoke_spool **out, const spoke_spool_opts *o, char err[FL_ERR_LEN]);

/* Queues one encoded frame at the tail, applying the policy above. Takes ownership of bytes (a malloc'd
 * buffer of len bytes, len >= 1) in every case. FL_OK when queued; FL_ELIMIT when the frame itself was
 * dropped (step 3); FL_EINVAL for a bad argument (bytes freed, nothing queued). err says why. */
int spoke_spool_push(spoke_spool *sp, const char *spoke_id, uint64_t seq, fl_frame_kind kind, void *bytes, size_t len,
                     char err[FL_ERR_LEN]);

/* True and *out filled when the queue is not empty. */
bool spoke_spool_head(const spoke_spool *sp, spoke_spool_item *out);

/* The head's bytes (read back from its file if on disk), valid until the next call on sp. FL_OK;
 * FL_ENOTFOUND when empty; FL_EPROTO when its file is corrupt or gone — that frame is then removed
 * (logged, counted as corrupt) and the caller simply asks for the new head; FL_ENOMEM. */
int spoke_spool_head_bytes(spoke_spool *sp, const void **bytes, size_t *len, char err[FL_ERR_LEN]);

/* Marks the head as in flight (true) or not: a frame in flight is never dropped or superseded. */
void spoke_spool_set_busy(spoke_spool *sp, bool busy);

/* Removes the head (and its file), e.g. once acknowledged. No-op when empty. */
void spoke_spool_pop(spoke_spool *sp);

/* Writes every frame held in memory to the folder (a no-op without one), so a restart resends them.
 * FL_OK, or FL_EIO with err for the first that failed (the others are still tried). */
int spoke_spool_flush(spoke_spool *sp, char err[FL_ERR_LEN]);

/* Copies the spool's current sizes and its totals since open into *out. */
void spoke_spool_get_stats(const spoke_spool *sp, spoke_spool_stats *out);

/* Frees the spool and its memory frames; files stay on disk. Does not flush. Safe on NULL. */
void spoke_spool_close(spoke_spool *sp);

#endif
