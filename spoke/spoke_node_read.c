/* spoke_node_read.c — bounded small-file reads, numeric names and the UTF-8 cut of the node collectors. */
#include "spoke_node_read.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* read(2) that retries when a signal interrupts it: bytes read, 0 at the end, -errno on an error. */
static ssize_t read_retry(int fd, void *buf, size_t n)
{
	for (;;) {
		ssize_t r = read(fd, buf, n);
		if (r >= 0 || errno != EINTR) {
			return r >= 0 ? r : -errno;
		}
	}
}

int spoke_node_read_open_dir(const char *host_root, const char *sub)
{
	char path[PATH_MAX];
	size_t rl = strlen(host_root);
	const char *sep = (rl > 0 && host_root[rl - 1] == '/') ? "" : "/";
	int w = snprintf(path, sizeof(path), "%s%s%s", host_root, sep, sub);
	if (w < 0 || (size_t)w >= sizeof(path)) {
		return -ENAMETOOLONG;
	}
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd >= 0 ? fd : -errno;
}

int spoke_node_read_file(int dirfd, const char *path, char *buf, size_t cap, size_t *len)
{
	size_t got = 0;
	buf[0] = '\0';
	if (len != NULL) {
		*len = 0;
	}
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		return -errno;
	}
	int rv = 0;
	while (got < cap - 1) {
		ssize_t r = read_retry(fd, buf + got, cap - 1 - got);
		if (r <= 0) {
			rv = (int)r;
			break;
		}
		got += (size_t)r;
	}
	close(fd);
	if (rv != 0) {
		buf[0] = '\0';
		return rv;
	}
	buf[got] = '\0';
	if (len != NULL) {
		*len = got;
	}
	return 0;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

char *spoke_node_read_trim(char *s)
{
	size_t n = strlen(s), a = 0;
	while (n > 0 && is_space(s[n - 1])) {
		n--;
	}
	while (a < n && is_space(s[a])) {
		a++;
	}
	memmove(s, s + a, n - a);
	s[n - a] = '\0';
	return s;
}

int spoke_node_read_str(int dirfd, const char *path, char *buf, size_t cap)
{
	int rv = spoke_node_read_file(dirfd, path, buf, cap, NULL);
	if (rv == 0) {
		spoke_node_read_trim(buf);
	}
	return rv;
}

int spoke_node_read_i64(int dirfd, const char *path, int64_t *v)
{
	char buf[64];
	int rv = spoke_node_read_str(dirfd, path, buf, sizeof(buf));
	if (rv != 0) {
		return rv;
	}
	char *end = NULL;
	errno = 0;
	long long x = strtoll(buf, &end, 10);
	if (buf[0] == '\0' || *end != '\0' || errno != 0) {
		return -EINVAL;
	}
	*v = (int64_t)x;
	return 0;
}

int spoke_node_read_lines(int dirfd, const char *path, size_t max_bytes, int (*fn)(void *ctx, char *line, size_t len),
                          void *ctx)
{
	char buf[SPOKE_NODE_LINE_MAX + 1];
	size_t have = 0;   /* bytes of the current line in buf */
	bool skip = false; /* the current line was already passed cut: drop the rest of it */
	size_t total = 0;
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		return -errno;
	}
	int rv = 0;
	for (;;) {
		char chunk[4096];
		size_t want = sizeof(chunk);
		if (max_bytes - total < want) {
			want = max_bytes - total;
		}
		if (want == 0) {
			break;
		}
		ssize_t r = read_retry(fd, chunk, want);
		if (r <= 0) {
			rv = (int)r;
			break;
		}
		total += (size_t)r;
		for (ssize_t i = 0; i < r; i++) {
			char c = chunk[i];
			if (c == '\n') {
				if (!skip) {
					buf[have] = '\0';
					if (fn(ctx, buf, have) != 0) {
						close(fd);
						return 0;
					}
				}
				have = 0;
				skip = false;
			} else if (!skip) {
				buf[have++] = c;
				if (have == SPOKE_NODE_LINE_MAX) {
					buf[have] = '\0';
					if (fn(ctx, buf, have) != 0) {
						close(fd);
						return 0;
					}
					have = 0;
					skip = true;
				}
			}
		}
	}
	close(fd);
	if (rv == 0 && have > 0 && !skip) {
		buf[have] = '\0';
		fn(ctx, buf, have);
	}
	return rv;
}

int32_t spoke_node_read_pci_numa(const char *host_root, unsigned dom, unsigned bus, unsigned dev, unsigned fn)
{
	if (bus > 0xff || dev > 0x1f || fn > 7) {
		return -1;
	}
	char sub[96];
	snprintf(sub, sizeof(sub), "sys/bus/pci/devices/%04x:%02x:%02x.%x", dom, bus, dev, fn);
	int fd = spoke_node_read_open_dir(host_root, sub);
	if (fd < 0) {
		return -1;
	}
	int64_t v;
	int32_t numa = -1;
	if (spoke_node_read_i64(fd, "numa_node", &v) == 0 && v >= -1 && v <= INT32_MAX) {
		numa = (int32_t)v;
	}
	close(fd);
	return numa;
}

bool spoke_node_read_num(const char *s, uint64_t max, uint64_t *v)
{
	uint64_t x = 0;
	if (s[0] == '\0') {
		return false;
	}
	for (const char *p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9') {
			return false;
		}
		unsigned d = (unsigned)(*p - '0');
		if (x > (max - d) / 10) {
			return false;
		}
		x = x * 10 + d;
	}
	if (v != NULL) {
		*v = x;
	}
	return true;
}

/* The length of the well-formed UTF-8 character at p (end - p > 0 bytes), or 0 when the byte at p does
 * not start one. */
static size_t utf8_char_len(const unsigned char *p, const unsigned char *end)
{
	unsigned c = p[0], cp, min;
	size_t len;
	if (c < 0x80) {
		return c == 0 ? 0 : 1;
	} else if (c >= 0xc2 && c <= 0xdf) {
		len = 2, cp = c & 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3, cp = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4, cp = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if ((size_t)(end - p) < len) {
		return 0;
	}
	for (size_t k = 1; k < len; k++) {
		if ((p[k] & 0xc0) != 0x80) {
			return 0;
		}
		cp = (cp << 6) | (p[k] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
		return 0;
	}
	return len;
}

size_t spoke_node_read_utf8(char *dst, size_t dst_size, const char *src, size_t n)
{
	const unsigned char *p = (const unsigned char *)src, *end = p + n;
	size_t w = 0;
	while (p < end) {
		size_t len = utf8_char_len(p, end);
		size_t out = len == 0 ? 1 : len;
		if (w + out > dst_size - 1) {
			break;
		}
		if (len == 0) {
			dst[w] = '?';
		} else {
			memcpy(dst + w, p, len);
		}
		w += out;
		p += out;
	}
	dst[w] = '\0';
	return w;
}
