/* spoke_state.h — the spoke's sequence stream: its spoke_id and the last sequence number it used.
 *
 * Without a folder the stream lives in memory: a fresh spoke_id per process and seq from 1. With a
 * folder (spool_dir) it lives in <dir>/state, rewritten atomically before each new seq is handed out,
 * so after a restart the spoke keeps its spoke_id and continues after the last seq that could have
 * been sent; a seq is never reused. <dir>/lock is held (flock) while the state is open, so two spokes
 * cannot share one folder.
 *
 * State file (text): "fleetlens-spoke-state 1\ncluster NAME\nspoke_id NAME\nlast_seq N\n".
 * A state file that cannot be parsed is moved aside to <dir>/state.corrupt, logged, and a new stream
 * starts (new spoke_id, seq from 1): safe, because the hub keeps sequences per spoke_id. A state file
 * of another cluster is an error (that folder's spooled frames belong to the other cluster).
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h), err naming what failed. */
#ifndef SPOKE_STATE_H
#define SPOKE_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "fl_err.h"
#include "fl_proto.h"

#define SPOKE_STATE_DIR_LEN 1024

typedef struct spoke_state {
	char spoke_id[FL_CLUSTER_LEN];
	uint64_t last_seq; /* 0: none used yet */
	char cluster[FL_CLUSTER_LEN];
	char dir[SPOKE_STATE_DIR_LEN]; /* "" when in memory */
	int lock_fd;                   /* -1 when in memory */
	bool recovered;                /* a corrupt state file was set aside at open */
} spoke_state;

/* Writes "<short hostname>-<pid>-<4 hex>" (a valid name, at most 63 characters) into id. */
void spoke_state_make_id(char id[FL_CLUSTER_LEN]);

/* Opens the stream of cluster. dir NULL or "": in memory (fresh spoke_id, last_seq 0). Otherwise
 * creates dir if needed (one level), takes its lock, and reads or creates dir/state as described
 * above. FL_OK, or: FL_EIO (folder or file unusable, or locked by another spoke), FL_ECONFIG (the state
 * belongs to another cluster), with err. On failure nothing needs closing. */
int spoke_state_open(spoke_state *st, const char *dir, const char *cluster, char err[FL_ERR_LEN]);

/* Reserves the next sequence number: persists it first (with a folder), then sets *seq and last_seq.
 * FL_OK, or FL_EIO with err when it could not be persisted (the seq is then not used). */
int spoke_state_next(spoke_state *st, uint64_t *seq, char err[FL_ERR_LEN]);

/* Releases the lock. Safe on a closed or zeroed-and-failed state. */
void spoke_state_close(spoke_state *st);

#endif
