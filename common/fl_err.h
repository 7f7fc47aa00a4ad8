/* fl_err.h — the one error-code enum shared by hub, spoke and proto.
 *
 * Every fallible function returns FL_OK (0) or a negative FL_E* code; where the caller needs words it
 * also fills a caller-owned `char err[FL_ERR_LEN]` naming what failed and why. */
#ifndef FL_ERR_H
#define FL_ERR_H

#define FL_ERR_LEN 256

enum fl_err {
	FL_OK = 0,
	FL_EINVAL = -1,    /* bad argument or malformed input */
	FL_ENOMEM = -2,    /* allocation failed */
	FL_EIO = -3,       /* file or socket I/O failed */
	FL_ELIMIT = -4,    /* a hard limit (size, count, depth) was reached */
	FL_EPROTO = -5,    /* a frame or reply does not follow the format */
	FL_EDB = -6,       /* the database refused or is unreachable */
	FL_ETIMEDOUT = -7, /* no answer in time */
	FL_ENOTFOUND = -8, /* no such cluster, node, file, ... */
	FL_ECONFIG = -9,   /* configuration is wrong */
	FL_EREJECTED = -10 /* the peer refused what we sent */
};

/* Returns a static, human-readable name for an FL_E* code (never NULL). */
const char *fl_strerror(int code);

/* Formats into err (FL_ERR_LEN bytes, always NUL-terminated, truncated if long) and returns code.
 * err may be NULL, in which case only code is returned. */
int fl_seterr(char *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
