/* spoke_node_rdma.c — a node's RDMA devices from /sys/class/infiniband, with rates against the previous
 * cycle's counters. */
#include "spoke_node_dev.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spoke_node_read.h"

#define MAX_PORTS 64u /* ports/N folders looked at per device */

static int name_cmp(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

/* Adds one counter file (4-byte words) of a port to *sum as bytes. False when unreadable or overflowing. */
static bool add_words(int portfd, const char *file, int64_t *sum)
{
	int64_t words, bytes;
	if (spoke_node_read_i64(portfd, file, &words) != 0 || words < 0 ||
	    __builtin_mul_overflow(words, (int64_t)4, &bytes) || __builtin_add_overflow(*sum, bytes, sum)) {
		return false;
	}
	return true;
}

/* rx/tx bytes summed over every port of the device folder devfd. False when it has no port, or a port's
 * data counters cannot be read. */
static bool rdma_counters(int devfd, fl_proto_rdma *r)
{
	int pfd = openat(devfd, "ports", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = pfd >= 0 ? fdopendir(pfd) : NULL;
	if (d == NULL) {
		if (pfd >= 0) {
			close(pfd);
		}
		return false;
	}
	unsigned ports = 0;
	bool ok = true;
	struct dirent *e;
	while (ok && (e = readdir(d)) != NULL) {
		uint64_t port;
		if (!spoke_node_read_num(e->d_name, 65535, &port)) {
			continue;
		}
		if (++ports > MAX_PORTS) {
			break;
		}
		char p[64];
		snprintf(p, sizeof(p), "%u/counters/port_rcv_data", (unsigned)port);
		ok = add_words(dirfd(d), p, &r->rx_bytes);
		snprintf(p, sizeof(p), "%u/counters/port_xmit_data", (unsigned)port);
		ok = ok && add_words(dirfd(d), p, &r->tx_bytes);
	}
	closedir(d);
	return ok && ports > 0;
}

/* Fills r from the device folder devfd (named name). False when its counters cannot be read. */
static bool rdma_read(int devfd, const char *name, fl_proto_rdma *r)
{
	char buf[128];
	memset(r, 0, sizeof(*r));
	memcpy(r->name, name, strlen(name) + 1); /* checked to fit and be UTF-8 */
	if (!rdma_counters(devfd, r)) {
		return false;
	}
	if (spoke_node_read_str(devfd, "node_guid", buf, sizeof(buf)) == 0) {
		spoke_node_read_utf8(r->node_guid, sizeof(r->node_guid), buf, strlen(buf));
	}
	if (spoke_node_read_str(devfd, "fw_ver", buf, sizeof(buf)) == 0) {
		spoke_node_read_utf8(r->fw_version, sizeof(r->fw_version), buf, strlen(buf));
	}
	if (spoke_node_read_str(devfd, "ports/1/state", buf, sizeof(buf)) == 0) {
		const char *s = strstr(buf, ": "); /* "4: ACTIVE" */
		s = s != NULL ? s + 2 : buf;
		spoke_node_read_utf8(r->port_state, sizeof(r->port_state), s, strlen(s));
	}
	if (spoke_node_read_str(devfd, "ports/1/link_layer", buf, sizeof(buf)) == 0) {
		spoke_node_read_utf8(r->link_layer, sizeof(r->link_layer), buf, strlen(buf));
	}
	return true;
}

/* Sets r's rates against prev (sorted by name, as this function leaves it), when r is in it, time went
 * forward and neither counter went back. *j is the merge position in prev. */
static void rdma_rates(fl_proto_rdma *r, const spoke_rdma_prev *prev, int64_t now_ms, uint32_t *j)
{
	if (prev->at_ms == 0 || now_ms <= prev->at_ms) {
		return;
	}
	while (*j < prev->n && strcmp(prev->dev[*j].name, r->name) < 0) {
		(*j)++;
	}
	if (*j == prev->n || strcmp(prev->dev[*j].name, r->name) != 0) {
		return;
	}
	int64_t drx = r->rx_bytes - prev->dev[*j].rx_bytes, dtx = r->tx_bytes - prev->dev[*j].tx_bytes;
	if (drx < 0 || dtx < 0) {
		return; /* a counter reset: no rate this cycle */
	}
	double secs = (double)(now_ms - prev->at_ms) / 1000.0;
	r->rx_rate = (double)drx / secs;
	r->tx_rate = (double)dtx / secs;
	r->has_rates = true;
}

int spoke_node_rdma(const char *host_root, int64_t now_ms, spoke_rdma_prev *prev, fl_proto_rdma **out, uint32_t *n,
                    spoke_node_counters *c, char err[FL_ERR_LEN])
{
	*out = NULL;
	*n = 0;
	/* The device names first, sorted, so rows and prev are in name order. */
	char(*names)[FL_NAMESPACE_LEN] = NULL;
	uint32_t n_names = 0;
	int ib = spoke_node_read_open_dir(host_root, "sys/class/infiniband");
	DIR *d = ib >= 0 ? fdopendir(ib) : NULL;
	if (d == NULL) {
		if (ib >= 0) {
			close(ib);
		}
		prev->n = 0;
		prev->at_ms = now_ms;
		return FL_OK; /* no RDMA devices */
	}
	names = malloc((size_t)FL_PROTO_MAX_RDMA * sizeof(*names));
	if (names == NULL) {
		closedir(d);
		return fl_seterr(err, FL_ENOMEM, "RDMA devices: out of memory");
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.') {
			continue;
		}
		/* A name that does not fit the field, or is not UTF-8, cannot be reported as itself. */
		if (n_names == FL_PROTO_MAX_RDMA ||
		    spoke_node_read_utf8(names[n_names], sizeof(names[n_names]), e->d_name, strlen(e->d_name)) !=
		        strlen(e->d_name) ||
		    strcmp(names[n_names], e->d_name) != 0) {
			c->rdma_unreadable++;
			continue;
		}
		n_names++;
	}
	qsort(names, n_names, sizeof(*names), name_cmp);

	fl_proto_rdma *rows = n_names > 0 ? calloc(n_names, sizeof(*rows)) : NULL;
	if (n_names > 0 && rows == NULL) {
		free(names);
		closedir(d);
		return fl_seterr(err, FL_ENOMEM, "RDMA devices: out of memory");
	}
	uint32_t count = 0, j = 0;
	for (uint32_t i = 0; i < n_names; i++) {
		int devfd = openat(dirfd(d), names[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (devfd < 0 || !rdma_read(devfd, names[i], &rows[count])) {
			c->rdma_unreadable++;
			if (devfd >= 0) {
				close(devfd);
			}
			continue;
		}
		close(devfd);
		rdma_rates(&rows[count], prev, now_ms, &j);
		count++;
	}
	closedir(d);
	free(names);

	for (uint32_t i = 0; i < count; i++) {
		memcpy(prev->dev[i].name, rows[i].name, sizeof(prev->dev[i].name));
		prev->dev[i].rx_bytes = rows[i].rx_bytes;
		prev->dev[i].tx_bytes = rows[i].tx_bytes;
	}
	prev->n = count;
	prev->at_ms = now_ms;
	if (count == 0) {
		free(rows);
		rows = NULL;
	}
	*out = rows;
	*n = count;
	return FL_OK;
}
