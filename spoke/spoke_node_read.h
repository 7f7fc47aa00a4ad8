/* spoke_node_read.h — what the node collectors (spoke_node_gpu.c, spoke_node_rdma.c, spoke_node_jobs.c)
 * share: bounded reads of small sysfs and /proc files relative to a folder's fd, numeric names, and the
 * one UTF-8 sanitize-and-cut that puts outside text into a fixed frame field. Nothing here allocates.
 *
 * Return convention: this layer is errno-based and never mixed with FL_E*: the readers return 0 or a negative
 * errno (-ENOENT, -EISDIR, ...), so a caller tells an absent file from a failing one; spoke_node_read_open_dir
 * returns an fd or a negative errno; bool functions answer a question. The values overlap FL_E* codes (-ENOENT
 * is FL_ENOMEM's -2), so a caller compares them only with -E* constants and, where its own convention is FL_E*,
 * returns an FL_E* of its choosing (strerror(-rv) for the words), never the errno itself. */
#ifndef SPOKE_NODE_READ_H
#define SPOKE_NODE_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest line spoke_node_read_lines passes whole; longer ones are passed cut to this length. */
#define SPOKE_NODE_LINE_MAX 8192

/* Opens host_root/sub (sub relative, e.g. "sys/class/drm") as a folder. The fd (the caller closes it),
 * or -errno: -ENOENT when absent, -ENAMETOOLONG when the path does not fit PATH_MAX. */
int spoke_node_read_open_dir(const char *host_root, const char *sub);

/* Reads at most cap - 1 bytes of dirfd/path (path relative to the folder dirfd, or AT_FDCWD) into buf
 * and NUL-terminates it; *len (may be NULL) gets the bytes read. A file larger than that is read in
 * part, which the caller sees as *len == cap - 1. 0, or -errno of the failing open/read (-ENOENT when
 * the file is absent, -ESRCH when its process went away, -EISDIR ...). cap must be at least 1. */
int spoke_node_read_file(int dirfd, const char *path, char *buf, size_t cap, size_t *len);

/* spoke_node_read_file, then leading and trailing whitespace removed (in buf). Same returns. */
int spoke_node_read_str(int dirfd, const char *path, char *buf, size_t cap);

/* A small file holding one decimal integer (whitespace around it allowed) into *v: 0, -errno of the
 * read, or -EINVAL when the contents are not exactly one integer that fits int64_t. */
int spoke_node_read_i64(int dirfd, const char *path, int64_t *v);

/* Calls fn(ctx, line, len) for each line of dirfd/path, in order: line is NUL-terminated, without its
 * '\n', and cut to SPOKE_NODE_LINE_MAX bytes if longer. Reads at most max_bytes of the file. Stops
 * early, returning 0, when fn returns nonzero. 0, or -errno of the failing open/read. */
int spoke_node_read_lines(int dirfd, const char *path, size_t max_bytes, int (*fn)(void *ctx, char *line, size_t len),
                          void *ctx);

/* The NUMA node of PCI device dom:bus:dev.fn from host_root/sys/bus/pci/devices/<DDDD:bb:dd.f>/numa_node
 * (NVIDIA GPUs and Ascend NPUs, whose libraries give their bus ids); -1 when unknown or out of range. */
int32_t spoke_node_read_pci_numa(const char *host_root, unsigned dom, unsigned bus, unsigned dev, unsigned fn);

/* Removes leading and trailing ASCII whitespace from s in place; returns s. */
char *spoke_node_read_trim(char *s);

/* True if s is a non-empty string of decimal digits with a value at most max (then *v gets it; v may
 * be NULL): the names of /proc/PID, /proc/PID/fd/N, ports/N. */
bool spoke_node_read_num(const char *s, uint64_t max, uint64_t *v);

/* Copies src[0..n) into the field dst (dst_size >= 1 bytes, always NUL-terminated): well-formed UTF-8
 * (no overlong forms, surrogates or code points above U+10FFFF) is kept, every other byte and every NUL
 * becomes '?', and the copy stops before the first character that does not fit whole. Returns the
 * bytes written (without the NUL). */
size_t spoke_node_read_utf8(char *dst, size_t dst_size, const char *src, size_t n);

#endif
