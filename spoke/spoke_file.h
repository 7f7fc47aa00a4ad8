/* spoke_file.h — small files the spoke keeps in spool_dir, written so a crash never leaves half a file.
 *
 * A write goes to "<name>.tmp", is fsync'd, renamed over "<name>", and the folder is fsync'd, so after
 * a crash the file holds either the old or the new contents. Reads are bounded.
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h), err naming the file and the failing call. */
#ifndef SPOKE_FILE_H
#define SPOKE_FILE_H

#include <stddef.h>
#include <sys/uio.h>

#include "fl_err.h"

/* Writes the n buffers of iov, in order, as the new contents of dir/name, atomically and durably (see
 * above). FL_OK, or FL_EIO / FL_EINVAL (path too long) with err naming the file and the failing call;
 * on failure the old file (if any) is untouched and the temporary file is removed. */
int spoke_file_write_atomic(const char *dir, const char *name, const struct iovec *iov, int n, char err[FL_ERR_LEN]);

/* Reads the whole of path into a new malloc'd buffer (*out, *len; the caller frees it), refusing files
 * larger than max bytes. FL_OK; FL_ENOTFOUND when it does not exist; FL_ELIMIT when larger than max;
 * FL_EIO / FL_ENOMEM otherwise; err says which file and why. One extra NUL byte follows the contents. */
int spoke_file_read(const char *path, size_t max, char **out, size_t *len, char err[FL_ERR_LEN]);

/* Creates dir (one level, mode 0700) if it does not exist. FL_OK, or FL_EIO with err. */
int spoke_file_mkdir(const char *dir, char err[FL_ERR_LEN]);

#endif
