/* fl_key.h — a cluster's shared secret, read from a key file: the key frames are signed with.
 *
 * The file holds the secret as text or bytes; whitespace around it is ignored. It must hold at least
 * FL_KEY_MIN_LEN bytes and at most FL_KEY_MAX_LEN (fl_proto.h). The same file is named by the hub's
 * clusters[].key_file and the spoke's key_file.
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h), err naming the file (never key material). */
#ifndef FL_KEY_H
#define FL_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "fl_err.h"

#define FL_KEY_BUF 1024 /* == FL_KEY_MAX_LEN; common/ does not depend on proto/ */

typedef struct fl_key {
	uint8_t bytes[FL_KEY_BUF];
	size_t len; /* 0: no key loaded */
} fl_key;

/* Reads path into *out (zeroed first). FL_OK; FL_EIO when it cannot be opened or read; FL_ECONFIG when,
 * after trimming, it is shorter than 32 or longer than FL_KEY_BUF bytes (or the file is larger than
 * FL_KEY_BUF + 256 bytes); FL_EINVAL for a NULL argument. err names the file and the problem and never
 * contains key material. */
int fl_key_load(const char *path, fl_key *out, char err[FL_ERR_LEN]);

/* Overwrites the key's bytes (so a freed config does not leave the secret in memory). NULL is a no-op. */
void fl_key_wipe(fl_key *k);

#endif
