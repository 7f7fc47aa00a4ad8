/* spoke_state.c — spoke_id and last seq, in memory or in <spool_dir>/state. */
#include "spoke_state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "fl_log.h"
#include "fl_time.h"
#include "spoke_file.h"

#define STATE_NAME     "state"
#define STATE_MAGIC    "fleetlens-spoke-state 1"
#define STATE_MAX_SIZE 4096

void spoke_state_make_id(char id[FL_CLUSTER_LEN])
{
	char host[256] = "spoke";
	if (gethostname(host, sizeof(host)) != 0) {
		snprintf(host, sizeof(host), "spoke");
	}
	host[sizeof(host) - 1] = '\0';
	host[strcspn(host, ".")] = '\0';
	for (char *c = host; *c != '\0'; c++) {
		bool ok = (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
		          *c == '_' || *c == '-';
		if (!ok) {
			*c = '-';
		}
	}
	if (host[0] == '\0') {
		snprintf(host, sizeof(host), "spoke");
	}
	unsigned short rnd = 0;
	if (getentropy(&rnd, sizeof(rnd)) != 0) {
		rnd = (unsigned short)(fl_now_ms() ^ (int64_t)getpid());
	}
	char tail[32];
	snprintf(tail, sizeof(tail), "-%ld-%04x", (long)getpid(), (unsigned)rnd);
	int room = (int)(FL_CLUSTER_LEN - 1 - strlen(tail));
	snprintf(id, FL_CLUSTER_LEN, "%.*s%s", room, host, tail);
}

/* Copies the value of line "<key> <value>" into out (len bytes). False if the line has another key,
 * no value, or a value that does not fit. */
static bool parse_line(const char *line, const char *key, char *out, size_t len)
{
	size_t k = strlen(key);
	if (strncmp(line, key, k) != 0 || line[k] != ' ') {
		return false;
	}
	const char *v = line + k + 1;
	size_t n = strlen(v);
	if (n == 0 || n >= len) {
		return false;
	}
	memcpy(out, v, n + 1);
	return true;
}

/* Parses the state file text (NUL-terminated) into cluster, spoke_id and last_seq. False if malformed. */
static bool parse_state(char *text, char cluster[FL_CLUSTER_LEN], char id[FL_CLUSTER_LEN], uint64_t *last_seq)
{
	char *lines[5];
	int n = 0;
	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save)) {
		if (n == 5) {
			return false;
		}
		lines[n++] = l;
	}
	char seq[24];
	if (n != 4 || strcmp(lines[0], STATE_MAGIC) != 0 || !parse_line(lines[1], "cluster", cluster, FL_CLUSTER_LEN) ||
	    !parse_line(lines[2], "spoke_id", id, FL_CLUSTER_LEN) ||
	    !parse_line(lines[3], "last_seq", seq, sizeof(seq)) || !fl_proto_valid_name(cluster) ||
	    !fl_proto_valid_name(id)) {
		return false;
	}
	if (seq[0] < '0' || seq[0] > '9') {
		return false;
	}
	errno = 0;
	char *end;
	unsigned long long v = strtoull(seq, &end, 10);
	if (errno != 0 || *end != '\0' || v > (unsigned long long)INT64_MAX) {
		return false;
	}
	*last_seq = v;
	return true;
}

/* Writes st as the state file with last_seq = seq. */
static int save(const spoke_state *st, uint64_t seq, char err[FL_ERR_LEN])
{
	char text[256];
	int n = snprintf(text, sizeof(text), STATE_MAGIC "\ncluster %s\nspoke_id %s\nlast_seq %llu\n", st->cluster,
	                 st->spoke_id, (unsigned long long)seq);
	struct iovec iov = {text, (size_t)n};
	return spoke_file_write_atomic(st->dir, STATE_NAME, &iov, 1, err);
}

/* Takes dir/lock (created if missing). */
static int lock_dir(spoke_state *st, char err[FL_ERR_LEN])
{
	char path[SPOKE_STATE_DIR_LEN + 16];
	snprintf(path, sizeof(path), "%s/lock", st->dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		return fl_seterr(err, FL_EIO, "%s: cannot open: %s", path, strerror(errno));
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int saved = errno;
		close(fd);
		if (saved == EWOULDBLOCK) {
			return fl_seterr(err, FL_EIO, "spool_dir %s is in use by another fleetlens-spoke", st->dir);
		}
		return fl_seterr(err, FL_EIO, "%s: flock failed: %s", path, strerror(saved));
	}
	st->lock_fd = fd;
	return FL_OK;
}

/* Reads dir/state into st, or starts a new stream (absent or corrupt file). Lock held. */
static int load(spoke_state *st, char err[FL_ERR_LEN])
{
	char path[SPOKE_STATE_DIR_LEN + 16];
	snprintf(path, sizeof(path), "%s/" STATE_NAME, st->dir);
	char *text = NULL;
	size_t len = 0;
	char rerr[FL_ERR_LEN];
	int rv = spoke_file_read(path, STATE_MAX_SIZE, &text, &len, rerr);
	if (rv == FL_ENOTFOUND) {
		return save(st, 0, err); /* a new stream, written before any seq is handed out */
	}
	char cluster[FL_CLUSTER_LEN], id[FL_CLUSTER_LEN];
	uint64_t last = 0;
	bool ok = rv == FL_OK && strlen(text) == len && parse_state(text, cluster, id, &last);
	free(text);
	if (rv == FL_EIO || rv == FL_ENOMEM) {
		return fl_seterr(err, rv, "%s", rerr);
	}
	if (!ok) {
		char aside[SPOKE_STATE_DIR_LEN + 32];
		snprintf(aside, sizeof(aside), "%s.corrupt", path);
		if (rename(path, aside) != 0) {
			return fl_seterr(err, FL_EIO, "%s: unreadable state, and moving it aside failed: %s", path,
			                 strerror(errno));
		}
		fl_error("state file %s is corrupt (kept as %s): starting a new sequence stream as spoke %s", path,
		         aside, st->spoke_id);
		st->recovered = true;
		return save(st, 0, err);
	}
	if (strcmp(cluster, st->cluster) != 0) {
		return fl_seterr(err, FL_ECONFIG,
		                 "spool_dir %s belongs to cluster '%s', this spoke is for '%s': use another spool_dir",
		                 st->dir, cluster, st->cluster);
	}
	memcpy(st->spoke_id, id, sizeof(st->spoke_id));
	st->last_seq = last;
	return FL_OK;
}

int spoke_state_open(spoke_state *st, const char *dir, const char *cluster, char err[FL_ERR_LEN])
{
	memset(st, 0, sizeof(*st));
	st->lock_fd = -1;
	if (!fl_proto_valid_name(cluster)) {
		return fl_seterr(err, FL_EINVAL, "state: bad cluster name");
	}
	snprintf(st->cluster, sizeof(st->cluster), "%s", cluster);
	spoke_state_make_id(st->spoke_id);
	if (dir == NULL || dir[0] == '\0') {
		return FL_OK;
	}
	if (strlen(dir) >= sizeof(st->dir)) {
		return fl_seterr(err, FL_EINVAL, "state: folder name too long");
	}
	snprintf(st->dir, sizeof(st->dir), "%s", dir);
	int rv;
	if ((rv = spoke_file_mkdir(dir, err)) != FL_OK || (rv = lock_dir(st, err)) != FL_OK) {
		return rv;
	}
	if ((rv = load(st, err)) != FL_OK) {
		spoke_state_close(st);
	}
	return rv;
}

int spoke_state_next(spoke_state *st, uint64_t *seq, char err[FL_ERR_LEN])
{
	if (st->last_seq >= (uint64_t)INT64_MAX) {
		return fl_seterr(err, FL_ELIMIT, "state: sequence numbers exhausted");
	}
	uint64_t next = st->last_seq + 1;
	if (st->dir[0] != '\0') {
		int rv = save(st, next, err);
		if (rv != FL_OK) {
			return rv;
		}
	}
	st->last_seq = next;
	*seq = next;
	return FL_OK;
}

void spoke_state_close(spoke_state *st)
{
	if (st->lock_fd >= 0) {
		close(st->lock_fd); /* releases the flock */
		st->lock_fd = -1;
	}
}
