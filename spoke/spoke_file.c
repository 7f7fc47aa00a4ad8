/* spoke_file.c — atomic, durable small-file writes and bounded reads (POSIX). */
#include "spoke_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PATH_BUF 1280

/* Writes all n buffers to fd, restarting after short writes and EINTR. 0 or -1 with errno. */
static int write_all(int fd, const struct iovec *iov, int n)
{
	for (int i = 0; i < n; i++) {
		const char *p = iov[i].iov_base;
		size_t left = iov[i].iov_len;
		while (left > 0) {
			ssize_t w = write(fd, p, left);
			if (w < 0) {
				if (errno == EINTR) {
					continue;
				}
				return -1;
			}
			p += w;
			left -= (size_t)w;
		}
	}
	return 0;
}

int spoke_file_write_atomic(const char *dir, const char *name, const struct iovec *iov, int n, char err[FL_ERR_LEN])
{
	char path[PATH_BUF], tmp[PATH_BUF];
	int a = snprintf(path, sizeof(path), "%s/%s", dir, name);
	int b = snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, name);
	if (a < 0 || b < 0 || (size_t)b >= sizeof(tmp)) {
		return fl_seterr(err, FL_EINVAL, "%s/%s: path too long", dir, name);
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		return fl_seterr(err, FL_EIO, "%s: cannot create: %s", tmp, strerror(errno));
	}
	const char *what = NULL;
	if (write_all(fd, iov, n) != 0) {
		what = "write";
	} else if (fsync(fd) != 0) {
		what = "fsync";
	}
	int saved = errno;
	if (close(fd) != 0 && what == NULL) {
		what = "close";
		saved = errno;
	}
	if (what == NULL && rename(tmp, path) != 0) {
		what = "rename";
		saved = errno;
	}
	if (what != NULL) {
		unlink(tmp);
		return fl_seterr(err, FL_EIO, "%s: %s failed: %s", path, what, strerror(saved));
	}
	/* The rename is durable only once the folder's entry is on disk. */
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) != 0) {
		saved = errno;
		if (dfd >= 0) {
			close(dfd);
		}
		return fl_seterr(err, FL_EIO, "%s: fsync of the folder failed: %s", dir, strerror(saved));
	}
	close(dfd);
	return FL_OK;
}

int spoke_file_read(const char *path, size_t max, char **out, size_t *len, char err[FL_ERR_LEN])
{
	*out = NULL;
	*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int code = errno == ENOENT ? FL_ENOTFOUND : FL_EIO;
		return fl_seterr(err, code, "%s: cannot open: %s", path, strerror(errno));
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fl_seterr(err, FL_EIO, "%s: not a regular file", path);
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		return fl_seterr(err, FL_ELIMIT, "%s: %lld bytes, more than the %zu allowed", path,
		                 (long long)st.st_size, max);
	}
	size_t size = (size_t)st.st_size;
	char *buf = malloc(size + 1);
	if (buf == NULL) {
		close(fd);
		return fl_seterr(err, FL_ENOMEM, "%s: out of memory for %zu bytes", path, size);
	}
	size_t got = 0;
	while (got < size) {
		ssize_t r = read(fd, buf + got, size - got);
		if (r < 0 && errno == EINTR) {
			continue;
		}
		if (r <= 0) {
			int saved = errno;
			free(buf);
			close(fd);
			return fl_seterr(err, FL_EIO, "%s: read failed: %s", path,
			                 r == 0 ? "file shrank" : strerror(saved));
		}
		got += (size_t)r;
	}
	close(fd);
	buf[size] = '\0';
	*out = buf;
	*len = size;
	return FL_OK;
}

int spoke_file_mkdir(const char *dir, char err[FL_ERR_LEN])
{
	if (mkdir(dir, 0700) == 0 || errno == EEXIST) {
		struct stat st;
		if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
			return FL_OK;
		}
		return fl_seterr(err, FL_EIO, "%s: exists and is not a folder", dir);
	}
	return fl_seterr(err, FL_EIO, "%s: cannot create the folder: %s", dir, strerror(errno));
}
