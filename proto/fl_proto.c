/* fl_proto.c — frame ownership, kind names, cluster/spoke name rule, node/GPU key order, and the checks
 * encoder and decoder share (UTF-8, node frames, removed_nodes against upserts). */
#include "fl_proto.h"
#include "fl_proto_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

void fl_proto_frame_free(fl_proto_frame *f)
{
	if (f == NULL) {
		return;
	}
	if (f->nodes != NULL) {
		for (uint32_t i = 0; i < f->n_nodes; i++) {
			free(f->nodes[i].taints);
		}
	}
	free(f->nodes);
	free(f->gpus);
	free(f->removed_nodes);
	free(f->pods);
	free(f->workloads);
	free(f->removed_pods);
	free(f->rdma);
	if (f->jobs != NULL) {
		for (uint32_t i = 0; i < f->n_jobs; i++) {
			free(f->jobs[i].params);
			free(f->jobs[i].env);
		}
	}
	free(f->jobs);
	memset(f, 0, sizeof(*f));
}

static const struct {
	fl_frame_kind kind;
	const char *name;
} kind_names[] = {
    {FL_FRAME_FULL, "full"},
    {FL_FRAME_DELTA, "delta"},
    {FL_FRAME_HEARTBEAT, "heartbeat"},
    {FL_FRAME_NODE, "node"},
};

const char *fl_proto_kind_name(fl_frame_kind kind)
{
	for (size_t i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++) {
		if (kind_names[i].kind == kind) {
			return kind_names[i].name;
		}
	}
	return NULL;
}

fl_frame_kind fl_proto_kind_parse(const char *name, size_t len)
{
	if (name == NULL) {
		return (fl_frame_kind)0;
	}
	for (size_t i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++) {
		if (strlen(kind_names[i].name) == len && memcmp(kind_names[i].name, name, len) == 0) {
			return kind_names[i].kind;
		}
	}
	return (fl_frame_kind)0;
}

/* Overview figures that can be unknown, in FL_OV_* bit order (bit i is figure_names[i]). */
static const char *const figure_names[FL_OV_FIGURES] = {
    "utilization",
    "total_space",
    "used_space",
    "usage_percentage",
    "total_inodes",
    "used_inodes",
    "inodes_usage_percentage",
    "read_bandwidth",
    "write_bandwidth",
    "total_tx",
    "total_rx",
};

const char *fl_proto_overview_figure_name(uint32_t bit)
{
	for (uint32_t i = 0; i < FL_OV_FIGURES; i++) {
		if (bit == (1u << i)) {
			return figure_names[i];
		}
	}
	return NULL;
}

uint32_t fl_proto_overview_figure_parse(const char *name, size_t len)
{
	for (uint32_t i = 0; name != NULL && i < FL_OV_FIGURES; i++) {
		if (strlen(figure_names[i]) == len && memcmp(figure_names[i], name, len) == 0) {
			return 1u << i;
		}
	}
	return 0;
}

int fl_proto_node_ptr_cmp(const void *a, const void *b)
{
	return strcmp((*(const fl_proto_node *const *)a)->name, (*(const fl_proto_node *const *)b)->name);
}

int fl_proto_gpu_ptr_cmp(const void *a, const void *b)
{
	const fl_proto_gpu *x = *(const fl_proto_gpu *const *)a, *y = *(const fl_proto_gpu *const *)b;
	int c = strcmp(x->node, y->node);
	return c != 0 ? c : (x->gpu_id > y->gpu_id) - (x->gpu_id < y->gpu_id);
}

bool fl_proto_gpu_mask_has(const uint64_t mask[4], int32_t id)
{
	return id >= 0 && id < (int32_t)FL_PROTO_MAX_NODE_GPUS && ((mask[id / 64] >> (id % 64)) & 1u) != 0;
}

void fl_proto_gpu_mask_set(uint64_t mask[4], int32_t id)
{
	if (id >= 0 && id < (int32_t)FL_PROTO_MAX_NODE_GPUS) {
		mask[id / 64] |= (uint64_t)1 << (id % 64);
	}
}

bool fl_proto_valid_name(const char *s)
{
	if (s == NULL) {
		return false;
	}
	size_t n = 0;
	for (; s[n] != '\0'; n++) {
		char c = s[n];
		bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
		          c == '_' || c == '-';
		if (!ok || n >= FL_CLUSTER_LEN - 1) {
			return false;
		}
	}
	return n > 0;
}

/* Internal to proto/: declared in fl_proto_int.h. */
bool fl_proto_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;

	while (p < end) {
		unsigned c = *p++, cp, min;
		size_t more;

		if (c < 0x80) {
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			more = 1, cp = c & 0x1f, min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			more = 2, cp = c & 0x0f, min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			more = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if ((size_t)(end - p) < more) {
			return false;
		}
		for (size_t k = 0; k < more; k++) {
			if ((p[k] & 0xc0) != 0x80) {
				return false;
			}
			cp = (cp << 6) | (p[k] & 0x3f);
		}
		p += more;
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
			return false;
		}
	}
	return true;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static const char *find_sorted(const char *key, const char **sorted, uint32_t n)
{
	return bsearch(&key, sorted, n, sizeof(*sorted), name_cmp) != NULL ? key : NULL;
}

/* Checks that no node a delta removes is also upserted by it, in f->nodes or as the node of an entry
 * in f->gpus, and that no pod it removes is also in f->pods (such a delta has no single meaning). */
static int check_removed(const fl_proto_frame *f, int code, char err[FL_ERR_LEN])
{
	const char **sorted, *hit = NULL, *where = "", *list = "removed_nodes";
	uint32_t at = 0, n = f->n_removed_nodes > f->n_removed_pods ? f->n_removed_nodes : f->n_removed_pods;

	if (n == 0 || (f->n_nodes == 0 && f->n_gpus == 0 && f->n_pods == 0)) {
		return FL_OK;
	}
	if ((sorted = malloc(n * sizeof(*sorted))) == NULL) {
		return fl_seterr(err, FL_ENOMEM, "removed: out of memory");
	}
	for (uint32_t i = 0; i < f->n_removed_nodes; i++) {
		sorted[i] = f->removed_nodes[i].name;
	}
	qsort(sorted, f->n_removed_nodes, sizeof(*sorted), name_cmp);
	for (uint32_t i = 0; i < f->n_nodes && hit == NULL && f->n_removed_nodes > 0; i++) {
		hit = find_sorted(f->nodes[i].name, sorted, f->n_removed_nodes), where = "nodes", at = i;
	}
	for (uint32_t i = 0; i < f->n_gpus && hit == NULL && f->n_removed_nodes > 0; i++) {
		hit = find_sorted(f->gpus[i].node, sorted, f->n_removed_nodes), where = "gpus", at = i;
	}
	if (hit == NULL && f->n_removed_pods > 0) {
		list = "removed_pods";
		for (uint32_t i = 0; i < f->n_removed_pods; i++) {
			sorted[i] = f->removed_pods[i].name;
		}
		qsort(sorted, f->n_removed_pods, sizeof(*sorted), name_cmp);
		for (uint32_t i = 0; i < f->n_pods && hit == NULL; i++) {
			hit = find_sorted(f->pods[i].uid, sorted, f->n_removed_pods), where = "pods", at = i;
		}
	}
	free(sorted);
	if (hit != NULL) {
		return fl_seterr(err, code, "%s: \"%.64s\" is also upserted by %s[%" PRIu32 "]", list, hit, where, at);
	}
	return FL_OK;
}

/* Node frames (FORMAT.md 3.10): a host is required, cluster rows are not allowed, and every GPU is the
 * host's; the node-frame keys are allowed nowhere else. */
static int check_node_frame(const fl_proto_frame *f, int code, char err[FL_ERR_LEN])
{
	if (f->env.kind != FL_FRAME_NODE) {
		if (f->has_host || f->n_rdma > 0 || f->n_jobs > 0) {
			return fl_seterr(err, code,
			                 "%s: only a node frame may carry host, rdma or jobs, this is a %s frame",
			                 f->has_host     ? "host"
			                 : f->n_rdma > 0 ? "rdma"
			                                 : "jobs",
			                 fl_proto_kind_name(f->env.kind));
		}
		return FL_OK;
	}
	if (!f->has_host) {
		return fl_seterr(err, code, "host: missing (a node frame names its node)");
	}
	if (f->n_nodes > 0 || f->has_overview || f->n_pods > 0 || f->n_workloads > 0) {
		return fl_seterr(err, code, "%s: a node frame carries no cluster rows",
		                 f->n_nodes > 0    ? "nodes"
		                 : f->has_overview ? "overview"
		                 : f->n_pods > 0   ? "pods"
		                                   : "workloads");
	}
	if (f->n_gpus > FL_PROTO_MAX_NODE_GPUS) {
		return fl_seterr(err, FL_ELIMIT, "gpus: %" PRIu32 " items, more than the %u a node frame allows",
		                 f->n_gpus, FL_PROTO_MAX_NODE_GPUS);
	}
	for (uint32_t i = 0; i < f->n_gpus; i++) {
		if (strcmp(f->gpus[i].node, f->host.node) != 0) {
			return fl_seterr(err, code,
			                 "gpus[%" PRIu32 "].node: \"%.64s\" is not the frame's host \"%.64s\"", i,
			                 f->gpus[i].node, f->host.node);
		}
	}
	return FL_OK;
}

/* Internal to proto/: declared in fl_proto_int.h. */
int fl_proto_check_shape(const fl_proto_frame *f, int code, char err[FL_ERR_LEN])
{
	int rv = check_node_frame(f, code, err);
	return rv != FL_OK ? rv : check_removed(f, code, err);
}
