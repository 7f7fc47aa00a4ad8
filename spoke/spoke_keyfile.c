/* spoke_keyfile.c — stat, compare, re-read the key file. */
#include "spoke_keyfile.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fl_log.h"

static spoke_keyfile_id identity(const char *path)
{
	spoke_keyfile_id id;
	memset(&id, 0, sizeof(id));
	struct stat st;
	if (stat(path, &st) != 0) {
		id.error = errno;
		return id;
	}
	id.dev = st.st_dev;
	id.ino = st.st_ino;
	id.size = st.st_size;
	id.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	id.valid = true;
	return id;
}

static bool same(const spoke_keyfile_id *a, const spoke_keyfile_id *b)
{
	if (!a->valid || !b->valid) {
		return a->valid == b->valid;
	}
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size && a->mtime_ns == b->mtime_ns;
}

void spoke_keyfile_init(spoke_keyfile *kf, const char *path, const fl_key *key)
{
	memset(kf, 0, sizeof(*kf));
	snprintf(kf->path, sizeof(kf->path), "%s", path);
	kf->key = *key;
	kf->seen = identity(path);
}

bool spoke_keyfile_check(spoke_keyfile *kf, spoke_stats *stats)
{
	spoke_keyfile_id now = identity(kf->path);
	if (same(&now, &kf->seen)) {
		return false;
	}
	kf->seen = now; /* one attempt (and at most one warning) per change */
	char err[FL_ERR_LEN];
	fl_key next;
	memset(&next, 0, sizeof(next));
	int rv = now.valid ? fl_key_load(kf->path, &next, err)
	                   : fl_seterr(err, FL_EIO, "%s: %s", kf->path, strerror(now.error));
	if (rv != FL_OK) {
		fl_key_wipe(&next);
		spoke_stats_count(stats, SPOKE_C_KEY_RELOAD_FAILED, 1);
		fl_warn("key_file changed but cannot be used: %s; still signing with the previous key", err);
		return false;
	}
	bool changed = next.len != kf->key.len || memcmp(next.bytes, kf->key.bytes, next.len) != 0;
	fl_key_wipe(&kf->key);
	kf->key = next;
	fl_key_wipe(&next);
	spoke_stats_count(stats, SPOKE_C_KEY_RELOAD_OK, 1);
	fl_info("key_file %s re-read: %s", kf->path,
	        changed ? "signing with the new key from now on" : "same key as before");
	return true;
}

void spoke_keyfile_wipe(spoke_keyfile *kf)
{
	fl_key_wipe(&kf->key);
}
