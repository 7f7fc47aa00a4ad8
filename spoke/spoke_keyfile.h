/* spoke_keyfile.h — the cluster key in use, re-read when its key_file changes (key rotation).
 *
 * spoke_keyfile_check compares the file's identity (stat, which follows symlinks as a Kubernetes
 * Secret volume swaps them: device, inode, size, modification time) with the one last seen, and
 * re-reads the file when it changed. A good key replaces the one in use (logged at info, counted
 * result="ok"); a file that cannot be read or holds no valid key keeps the old key, logs one warning
 * and counts result="failed" once per change of the file, not on every check.
 *
 * Return convention: bool functions answer a question; the others return nothing. */
#ifndef SPOKE_KEYFILE_H
#define SPOKE_KEYFILE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "fl_key.h"
#include "spoke_config.h"
#include "spoke_stats.h"

typedef struct spoke_keyfile_id {
	dev_t dev;
	ino_t ino;
	off_t size;
	int64_t mtime_ns;
	bool valid; /* false: the file could not be stat'ed */
	int error;  /* then its errno */
} spoke_keyfile_id;

typedef struct spoke_keyfile {
	char path[SPOKE_PATH_LEN];
	fl_key key; /* the key in use */
	spoke_keyfile_id seen;
} spoke_keyfile;

/* Starts with key (the one the config loaded, copied) read from path, and the file's identity now. */
void spoke_keyfile_init(spoke_keyfile *kf, const char *path, const fl_key *key);

/* Re-reads the key when the file changed since the last check (see above); counts in stats. Returns
 * true when a new key was loaded. */
bool spoke_keyfile_check(spoke_keyfile *kf, spoke_stats *stats);

/* Overwrites the key held. */
void spoke_keyfile_wipe(spoke_keyfile *kf);

#endif
