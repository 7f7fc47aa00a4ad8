/* spoke_spool.c — FIFO of unacknowledged frames: memory first, then one file per frame. */
#include "spoke_spool.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include "fl_log.h"
#include "fl_time.h"
#include "spoke_file.h"
#include "spoke_stats.h"

/* Spool file: a fixed header, then the frame's bytes.
 *   0 magic "FLSPOOL1" | 8 seq u64 | 16 kind u32 | 20 zero u32 | 24 len u64 | 32 queued_ms i64
 *   40 spoke_id, 64 bytes NUL-padded | 104 SHA-256 of the frame bytes | 136 frame bytes
 * Integers little-endian. Named "<seq, 20 digits>-<spoke_id>.frame". */
#define MAGIC      "FLSPOOL1"
#define HEADER_LEN 136u
#define SUFFIX     ".frame"
#define NAME_BUF   (20 + 1 + FL_CLUSTER_LEN + sizeof(SUFFIX))
#define SHA_LEN    32u
#define DIR_BUF    1024
#define PATH_BUF   (DIR_BUF + 258) /* folder, "/", a file name of up to 255 bytes */

typedef struct entry {
	TAILQ_ENTRY(entry) link;
	char spoke_id[FL_CLUSTER_LEN];
	uint64_t seq;
	fl_frame_kind kind;
	size_t len;
	int64_t queued_ms; /* wall clock when first queued (orders streams at load) */
	int64_t order_ms;  /* at load: when the entry's stream started queuing */
	char *bytes;       /* the frame in memory, or NULL when it is in its file */
} entry;

TAILQ_HEAD(entry_list, entry);

struct spoke_spool {
	struct entry_list q;
	char dir[DIR_BUF]; /* "" = memory only */
	uint64_t memory_max, total_max;
	bool supersede;
	bool head_busy;
	char *head_buf; /* the head's bytes read back from disk */
	size_t head_len;
	const entry *head_buf_of;
	spoke_spool_stats st; /* frames..disk_bytes kept current */
};

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++) {
		p[i] = (uint8_t)(v >> (8 * i));
	}
}

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		p[i] = (uint8_t)(v >> (8 * i));
	}
}

static uint32_t get_u32(const uint8_t *p)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--) {
		v = (v << 8) | p[i];
	}
	return v;
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--) {
		v = (v << 8) | p[i];
	}
	return v;
}

static bool sha256(const void *data, size_t len, uint8_t out[SHA_LEN])
{
	unsigned int n = 0;
	return EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) == 1 && n == SHA_LEN;
}

static void file_name(const entry *e, char name[NAME_BUF])
{
	snprintf(name, NAME_BUF, "%020" PRIu64 "-%s" SUFFIX, e->seq, e->spoke_id);
}

static const char *kind_name(fl_frame_kind k)
{
	const char *n = fl_proto_kind_name(k);
	return n != NULL ? n : "?";
}

static void account(spoke_spool *sp, const entry *e, int sign)
{
	uint64_t n = (uint64_t)e->len;
	if (sign > 0) {
		sp->st.frames++;
		sp->st.bytes += n;
	} else {
		sp->st.frames--;
		sp->st.bytes -= n;
	}
	if (e->bytes != NULL) {
		sp->st.memory_frames += sign > 0 ? 1 : (uint64_t)-1;
		sp->st.memory_bytes += sign > 0 ? n : (uint64_t)0 - n;
	} else {
		sp->st.disk_frames += sign > 0 ? 1 : (uint64_t)-1;
		sp->st.disk_bytes += sign > 0 ? n : (uint64_t)0 - n;
	}
	spoke_stats_spool(spoke_stats_global(), sp->st.frames, sp->st.bytes); /* the gauges of /metrics */
}

/* Unlinks e's file (if it has one), unqueues and frees e. */
static void remove_entry(spoke_spool *sp, entry *e)
{
	if (e == TAILQ_FIRST(&sp->q)) {
		sp->head_busy = false;
	}
	if (sp->head_buf_of == e) {
		free(sp->head_buf);
		sp->head_buf = NULL;
		sp->head_buf_of = NULL;
	}
	if (e->bytes == NULL && sp->dir[0] != '\0') {
		char name[NAME_BUF], path[PATH_BUF];
		file_name(e, name);
		snprintf(path, sizeof(path), "%s/%s", sp->dir, name);
		if (unlink(path) != 0 && errno != ENOENT) {
			fl_warn("spool: cannot remove %s: %s", path, strerror(errno));
		}
	}
	account(sp, e, -1);
	TAILQ_REMOVE(&sp->q, e, link);
	free(e->bytes);
	free(e);
}

/* Writes e (bytes in memory) to its file. */
static int write_entry(spoke_spool *sp, const entry *e, char err[FL_ERR_LEN])
{
	uint8_t h[HEADER_LEN];
	memset(h, 0, sizeof(h));
	memcpy(h, MAGIC, 8);
	put_u64(h + 8, e->seq);
	put_u32(h + 16, (uint32_t)e->kind);
	put_u64(h + 24, (uint64_t)e->len);
	put_u64(h + 32, (uint64_t)e->queued_ms);
	memcpy(h + 40, e->spoke_id, strnlen(e->spoke_id, FL_CLUSTER_LEN - 1));
	if (!sha256(e->bytes, e->len, h + 104)) {
		return fl_seterr(err, FL_EIO, "spool: SHA-256 failed");
	}
	char name[NAME_BUF];
	file_name(e, name);
	struct iovec iov[2] = {{h, sizeof(h)}, {e->bytes, e->len}};
	return spoke_file_write_atomic(sp->dir, name, iov, 2, err);
}

/* Checks a spool file's contents (buf, len) and fills e from its header. NULL, or why it is bad. */
static const char *parse_file(const char *name, const uint8_t *buf, size_t len, entry *e)
{
	if (len < HEADER_LEN || memcmp(buf, MAGIC, 8) != 0) {
		return "no spool header";
	}
	e->seq = get_u64(buf + 8);
	uint32_t kind = get_u32(buf + 16);
	uint64_t flen = get_u64(buf + 24);
	e->queued_ms = (int64_t)get_u64(buf + 32);
	memcpy(e->spoke_id, buf + 40, FL_CLUSTER_LEN);
	if (e->spoke_id[FL_CLUSTER_LEN - 1] != '\0' || !fl_proto_valid_name(e->spoke_id)) {
		return "bad spoke id in header";
	}
	if (kind < FL_FRAME_FULL || kind > FL_FRAME_NODE || e->seq == 0 || get_u32(buf + 20) != 0) {
		return "bad header fields";
	}
	e->kind = (fl_frame_kind)kind;
	if (flen != len - HEADER_LEN || flen == 0) {
		return "truncated (length does not match the header)";
	}
	e->len = (size_t)flen;
	uint8_t sum[SHA_LEN];
	if (!sha256(buf + HEADER_LEN, e->len, sum) || memcmp(sum, buf + 104, SHA_LEN) != 0) {
		return "checksum mismatch";
	}
	char want[NAME_BUF];
	file_name(e, want);
	if (strcmp(want, name) != 0) {
		return "file name does not match its header";
	}
	return NULL;
}

/* Reads dir/name fully; on success *buf holds the whole file. */
static int read_file(const spoke_spool *sp, const char *name, char **buf, size_t *len, char err[FL_ERR_LEN])
{
	char path[PATH_BUF];
	snprintf(path, sizeof(path), "%s/%s", sp->dir, name);
	return spoke_file_read(path, HEADER_LEN + (size_t)FL_PROTO_MAX_FRAME_BYTES, buf, len, err);
}

static void corrupt(spoke_spool *sp, const char *name, const char *why)
{
	char path[PATH_BUF];
	snprintf(path, sizeof(path), "%s/%s", sp->dir, name);
	sp->st.corrupt++;
	fl_error("spool: %s: %s; removed and skipped (%" PRIu64 " corrupt so far)", path, why, sp->st.corrupt);
	unlink(path);
}

static int cmp_stream_seq(const void *a, const void *b)
{
	const entry *x = *(entry *const *)a, *y = *(entry *const *)b;
	int c = strcmp(x->spoke_id, y->spoke_id);
	if (c != 0) {
		return c;
	}
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int cmp_load_order(const void *a, const void *b)
{
	const entry *x = *(entry *const *)a, *y = *(entry *const *)b;
	if (x->order_ms != y->order_ms) {
		return x->order_ms < y->order_ms ? -1 : 1;
	}
	return cmp_stream_seq(a, b);
}

/* Loads the frames in the folder, in (stream, seq) order. */
static int load(spoke_spool *sp, char err[FL_ERR_LEN])
{
	DIR *d = opendir(sp->dir);
	if (d == NULL) {
		return fl_seterr(err, FL_EIO, "spool: cannot list %s: %s", sp->dir, strerror(errno));
	}
	entry **v = NULL;
	size_t n = 0, cap = 0;
	int rv = FL_OK;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		const char *name = de->d_name;
		size_t nl = strlen(name);
		size_t tl = strlen(SUFFIX ".tmp");
		if (nl > tl && strcmp(name + nl - tl, SUFFIX ".tmp") == 0) {
			char path[PATH_BUF];
			snprintf(path, sizeof(path), "%s/%s", sp->dir, name);
			unlink(path); /* a write cut short by a crash; its frame was never queued */
			continue;
		}
		if (nl <= strlen(SUFFIX) || strcmp(name + nl - strlen(SUFFIX), SUFFIX) != 0) {
			continue;
		}
		if (n == SPOKE_SPOOL_MAX_FRAMES) {
			fl_warn("spool: more than %u frames in %s; the rest stay there unread", SPOKE_SPOOL_MAX_FRAMES,
			        sp->dir);
			break;
		}
		char *buf = NULL;
		size_t len = 0;
		char rerr[FL_ERR_LEN];
		int r = read_file(sp, name, &buf, &len, rerr);
		if (r == FL_ENOMEM) {
			rv = fl_seterr(err, r, "%s", rerr);
			break;
		}
		entry *e = calloc(1, sizeof(*e));
		if (e == NULL) {
			free(buf);
			rv = fl_seterr(err, FL_ENOMEM, "spool: out of memory");
			break;
		}
		const char *why = r != FL_OK ? rerr : parse_file(name, (const uint8_t *)buf, len, e);
		free(buf);
		if (why != NULL) {
			corrupt(sp, name, why);
			free(e);
			continue;
		}
		if (n == cap) {
			size_t nc = cap == 0 ? 64 : cap * 2;
			entry **nv = realloc(v, nc * sizeof(*v));
			if (nv == NULL) {
				free(e);
				rv = fl_seterr(err, FL_ENOMEM, "spool: out of memory");
				break;
			}
			v = nv;
			cap = nc;
		}
		v[n++] = e;
	}
	closedir(d);
	if (n > 0) {
		/* Group by stream, find when each stream started queuing, then order streams by that. */
		qsort(v, n, sizeof(*v), cmp_stream_seq);
		for (size_t i = 0, j; i < n; i = j) {
			int64_t first = v[i]->queued_ms;
			for (j = i; j < n && strcmp(v[j]->spoke_id, v[i]->spoke_id) == 0; j++) {
				first = v[j]->queued_ms < first ? v[j]->queued_ms : first;
			}
			for (size_t k = i; k < j; k++) {
				v[k]->order_ms = first;
			}
		}
		qsort(v, n, sizeof(*v), cmp_load_order);
	}
	for (size_t i = 0; i < n; i++) {
		if (rv != FL_OK) {
			free(v[i]);
			continue;
		}
		TAILQ_INSERT_TAIL(&sp->q, v[i], link);
		account(sp, v[i], +1);
		sp->st.loaded++;
	}
	free(v);
	if (rv == FL_OK && n > 0) {
		fl_info("spool: %zu frames (%" PRIu64 " bytes) found in %s will be sent first", n, sp->st.bytes,
		        sp->dir);
	}
	return rv;
}

static uint64_t bound(const spoke_spool *sp)
{
	return sp->dir[0] != '\0' ? sp->total_max : sp->memory_max;
}

/* The frame to drop to make room (policy step 2), or NULL. incoming_full: the frame being pushed is a
 * full snapshot (so every queued full is older than the newest). */
/* A full frame, or a node frame (the whole state of one node): a newer one makes older ones moot. */
static bool snapshot(fl_frame_kind kind)
{
	return kind == FL_FRAME_FULL || kind == FL_FRAME_NODE;
}

static entry *victim(spoke_spool *sp, bool incoming_full)
{
	entry *first_full = NULL, *last_full = NULL;
	entry *e;
	TAILQ_FOREACH(e, &sp->q, link)
	{
		if (e == TAILQ_FIRST(&sp->q) && sp->head_busy) {
			continue;
		}
		if (!snapshot(e->kind)) {
			return e;
		}
		if (first_full == NULL) {
			first_full = e;
		}
	}
	TAILQ_FOREACH_REVERSE(e, &sp->q, entry_list, link)
	{
		if (snapshot(e->kind)) {
			last_full = e;
			break;
		}
	}
	if (first_full == NULL || (!incoming_full && first_full == last_full)) {
		return NULL;
	}
	return first_full;
}

static void drop(spoke_spool *sp, entry *e, uint64_t need)
{
	sp->st.dropped++;
	sp->st.dropped_bytes += e->len;
	fl_warn("spool: dropped %s seq=%" PRIu64 " (%zu bytes) to stay within %" PRIu64 " bytes / %u frames "
	        "(need %" PRIu64 " more); dropped so far: %" PRIu64 " frames, %" PRIu64 " bytes",
	        kind_name(e->kind), e->seq, e->len, bound(sp), SPOKE_SPOOL_MAX_FRAMES, need, sp->st.dropped,
	        sp->st.dropped_bytes);
	remove_entry(sp, e);
}

static bool fits(const spoke_spool *sp, size_t len)
{
	return sp->st.bytes + len <= bound(sp) && sp->st.frames < SPOKE_SPOOL_MAX_FRAMES;
}

int spoke_spool_push(spoke_spool *sp, const char *spoke_id, uint64_t seq, fl_frame_kind kind, void *bytes, size_t len,
                     char err[FL_ERR_LEN])
{
	if (bytes == NULL || len == 0 || seq == 0 || spoke_id == NULL || !fl_proto_valid_name(spoke_id) ||
	    fl_proto_kind_name(kind) == NULL) {
		free(bytes);
		return fl_seterr(err, FL_EINVAL, "spool: bad frame (spoke id, seq, kind or length)");
	}
	entry *e = calloc(1, sizeof(*e));
	if (e == NULL) {
		free(bytes);
		return fl_seterr(err, FL_ENOMEM, "spool: out of memory");
	}
	snprintf(e->spoke_id, sizeof(e->spoke_id), "%s", spoke_id);
	e->seq = seq;
	e->kind = kind;
	e->len = len;
	e->queued_ms = fl_now_ms();
	e->bytes = bytes;

	/* 1. A full snapshot supersedes what is queued before it (but not the frame in flight). */
	if (snapshot(kind) && sp->supersede) {
		uint64_t n = 0, b = 0;
		entry *x, *next;
		for (x = TAILQ_FIRST(&sp->q); x != NULL; x = next) {
			next = TAILQ_NEXT(x, link);
			if (x == TAILQ_FIRST(&sp->q) && sp->head_busy) {
				continue;
			}
			n++;
			b += x->len;
			remove_entry(sp, x);
		}
		if (n > 0) {
			sp->st.superseded += n;
			sp->st.superseded_bytes += b;
			fl_info("spool: %s seq=%" PRIu64 " supersedes %" PRIu64 " queued frames (%" PRIu64
			        " bytes); superseded so far: %" PRIu64 " frames",
			        kind_name(kind), seq, n, b, sp->st.superseded);
		}
	}
	/* 2. Make room: oldest deltas first, then older fulls; never the newest full or the frame in flight. */
	entry *v;
	while (!fits(sp, len) && (v = victim(sp, snapshot(kind))) != NULL) {
		drop(sp, v, sp->st.bytes + len > bound(sp) ? sp->st.bytes + len - bound(sp) : 0);
	}
	/* 3. Still no room: a full is kept over the bound, a delta or heartbeat is dropped. */
	if (!fits(sp, len)) {
		if (!snapshot(kind)) {
			sp->st.dropped++;
			sp->st.dropped_bytes += len;
			free(e->bytes);
			free(e);
			fl_warn("spool: dropped new %s seq=%" PRIu64 " (%zu bytes): no room within %" PRIu64
			        " bytes; dropped so far: %" PRIu64 " frames, %" PRIu64 " bytes",
			        kind_name(kind), seq, len, bound(sp), sp->st.dropped, sp->st.dropped_bytes);
			return fl_seterr(err, FL_ELIMIT, "spool full: %s seq=%" PRIu64 " dropped", kind_name(kind),
			                 seq);
		}
		fl_warn("spool: full seq=%" PRIu64 " (%zu bytes) kept although the spool then holds %" PRIu64
		        " bytes, more than its bound of %" PRIu64,
		        seq, len, sp->st.bytes + len, bound(sp));
	}
	/* Memory first; what does not fit in memory goes to its file. */
	if (sp->dir[0] != '\0' && sp->st.memory_bytes + len > sp->memory_max) {
		char werr[FL_ERR_LEN];
		if (write_entry(sp, e, werr) == FL_OK) {
			free(e->bytes);
			e->bytes = NULL;
		} else {
			sp->st.write_errors++;
			fl_error("spool: %s; seq=%" PRIu64 " kept in memory (%" PRIu64 " write errors so far)", werr,
			         seq, sp->st.write_errors);
		}
	}
	TAILQ_INSERT_TAIL(&sp->q, e, link);
	account(sp, e, +1);
	sp->st.pushed++;
	return FL_OK;
}

bool spoke_spool_head(const spoke_spool *sp, spoke_spool_item *out)
{
	const entry *e = TAILQ_FIRST(&sp->q);
	if (e == NULL) {
		return false;
	}
	memcpy(out->spoke_id, e->spoke_id, sizeof(out->spoke_id));
	out->seq = e->seq;
	out->kind = e->kind;
	out->len = e->len;
	out->on_disk = e->bytes == NULL;
	return true;
}

int spoke_spool_head_bytes(spoke_spool *sp, const void **bytes, size_t *len, char err[FL_ERR_LEN])
{
	*bytes = NULL;
	*len = 0;
	entry *e = TAILQ_FIRST(&sp->q);
	if (e == NULL) {
		return fl_seterr(err, FL_ENOTFOUND, "spool: empty");
	}
	if (e->bytes != NULL) {
		*bytes = e->bytes;
		*len = e->len;
		return FL_OK;
	}
	if (sp->head_buf_of != e) {
		free(sp->head_buf);
		sp->head_buf = NULL;
		sp->head_buf_of = NULL;
		char name[NAME_BUF], rerr[FL_ERR_LEN];
		file_name(e, name);
		char *buf = NULL;
		size_t n = 0;
		int rv = read_file(sp, name, &buf, &n, rerr);
		if (rv == FL_ENOMEM) {
			return fl_seterr(err, rv, "%s", rerr);
		}
		entry check;
		memset(&check, 0, sizeof(check));
		const char *why = rv != FL_OK ? rerr : parse_file(name, (const uint8_t *)buf, n, &check);
		if (why == NULL && (check.len != e->len || check.kind != e->kind)) {
			why = "changed on disk";
		}
		if (why != NULL) {
			free(buf);
			uint64_t seq = e->seq;
			corrupt(sp, name, why);
			remove_entry(sp, e);
			return fl_seterr(err, FL_EPROTO, "spool: frame seq=%" PRIu64 " unreadable: %s", seq, why);
		}
		memmove(buf, buf + HEADER_LEN, e->len);
		sp->head_buf = buf;
		sp->head_len = e->len;
		sp->head_buf_of = e;
	}
	*bytes = sp->head_buf;
	*len = sp->head_len;
	return FL_OK;
}

void spoke_spool_set_busy(spoke_spool *sp, bool busy)
{
	sp->head_busy = busy && !TAILQ_EMPTY(&sp->q);
}

void spoke_spool_pop(spoke_spool *sp)
{
	entry *e = TAILQ_FIRST(&sp->q);
	if (e != NULL) {
		sp->st.removed++;
		remove_entry(sp, e);
	}
}

int spoke_spool_flush(spoke_spool *sp, char err[FL_ERR_LEN])
{
	if (sp->dir[0] == '\0') {
		return FL_OK;
	}
	int rv = FL_OK;
	entry *e;
	TAILQ_FOREACH(e, &sp->q, link)
	{
		if (e->bytes == NULL) {
			continue;
		}
		char werr[FL_ERR_LEN];
		if (write_entry(sp, e, werr) != FL_OK) {
			if (rv == FL_OK) {
				rv = fl_seterr(err, FL_EIO, "%s", werr);
			}
			continue;
		}
		account(sp, e, -1);
		free(e->bytes);
		e->bytes = NULL;
		account(sp, e, +1);
	}
	return rv;
}

void spoke_spool_get_stats(const spoke_spool *sp, spoke_spool_stats *out)
{
	*out = sp->st;
}

int spoke_spool_open(spoke_spool **out, const spoke_spool_opts *o, char err[FL_ERR_LEN])
{
	*out = NULL;
	bool has_dir = o->dir != NULL && o->dir[0] != '\0';
	if (o->memory_bytes == 0 || (has_dir && o->max_bytes < o->memory_bytes)) {
		return fl_seterr(err, FL_EINVAL, "spool: memory_bytes must be > 0 and <= max_bytes");
	}
	if (has_dir && strlen(o->dir) >= DIR_BUF) {
		return fl_seterr(err, FL_EINVAL, "spool: folder name too long");
	}
	spoke_spool *sp = calloc(1, sizeof(*sp));
	if (sp == NULL) {
		return fl_seterr(err, FL_ENOMEM, "spool: out of memory");
	}
	TAILQ_INIT(&sp->q);
	sp->memory_max = o->memory_bytes;
	sp->total_max = has_dir ? o->max_bytes : o->memory_bytes;
	sp->supersede = o->supersede;
	if (has_dir) {
		snprintf(sp->dir, sizeof(sp->dir), "%s", o->dir);
		int rv;
		if ((rv = spoke_file_mkdir(sp->dir, err)) != FL_OK || (rv = load(sp, err)) != FL_OK) {
			spoke_spool_close(sp);
			return rv;
		}
		/* A smaller bound than last time: apply the policy to what was loaded. */
		entry *v;
		while (sp->st.bytes > bound(sp) && (v = victim(sp, false)) != NULL) {
			drop(sp, v, sp->st.bytes - bound(sp));
		}
	}
	*out = sp;
	return FL_OK;
}

void spoke_spool_close(spoke_spool *sp)
{
	if (sp == NULL) {
		return;
	}
	entry *e;
	while ((e = TAILQ_FIRST(&sp->q)) != NULL) {
		TAILQ_REMOVE(&sp->q, e, link);
		free(e->bytes);
		free(e);
	}
	free(sp->head_buf);
	free(sp);
}
