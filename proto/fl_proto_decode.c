/* fl_proto_decode.c — the bounded checker and the frame/ack decoder (format: FORMAT.md).
 *
 * fl_proto_check walks the raw bytes without allocating: every declared length or element count must
 * fit in the bytes left, nesting is capped at FL_PROTO_MAX_DEPTH and the total number of objects at
 * FL_PROTO_MAX_ELEMENTS. The decoder then reads the checked bytes directly (no msgpack_unpack, so no
 * object tree is built) and fills the structs through per-map field tables, validating each field. */
#include "fl_proto.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl_proto_int.h"

/* ---- one msgpack header ---------------------------------------------------------------------- */

enum mp_type { MP_NIL, MP_BOOL, MP_UINT, MP_NINT, MP_FLOAT, MP_STR, MP_BIN, MP_EXT, MP_ARRAY, MP_MAP };

struct mp_val {
	enum mp_type type;
	bool b;              /* MP_BOOL */
	uint64_t u;          /* MP_UINT: any integer >= 0, whatever its encoding */
	int64_t i;           /* MP_NINT: any integer < 0 */
	double f;            /* MP_FLOAT (float32 widened) */
	const uint8_t *data; /* MP_STR, MP_BIN, MP_EXT: payload inside the input */
	uint32_t len;        /* payload bytes, or MP_ARRAY/MP_MAP entry count */
};

static const char *const mp_type_names[] = {"nil",    "boolean", "integer", "integer", "float",
                                            "string", "binary",  "ext",     "array",   "map"};

static uint64_t be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t k = 0; k < n; k++) {
		v = (v << 8) | p[k];
	}
	return v;
}

/* What follows a type byte 0xc0..0xdf: the value's type, the width in bytes of the big-endian number after
 * the type byte, and what that number is. */
enum mp_num {
	NUM_NONE,       /* nothing follows: nil, false, true (and the reserved 0xc1, refused before) */
	NUM_LENGTH,     /* a payload or entry count */
	NUM_EXT_LENGTH, /* ext 8/16/32: the data's length; a type byte and the data follow */
	NUM_FIXEXT,     /* fixext 1..16: the "number" is the type byte, the first of 1 + (1 << (t - 0xd4)) */
	NUM_UNSIGNED,
	NUM_SIGNED,
	NUM_FLOAT32,
	NUM_FLOAT64,
};

static const struct mp_hdr {
	uint8_t type, width, num;
} mp_hdrs[32] = {
    {MP_NIL, 0, NUM_NONE},       /* c0 nil */
    {MP_NIL, 0, NUM_NONE},       /* c1 reserved */
    {MP_BOOL, 0, NUM_NONE},      /* c2 false */
    {MP_BOOL, 0, NUM_NONE},      /* c3 true */
    {MP_BIN, 1, NUM_LENGTH},     /* c4 bin 8 */
    {MP_BIN, 2, NUM_LENGTH},     /* c5 bin 16 */
    {MP_BIN, 4, NUM_LENGTH},     /* c6 bin 32 */
    {MP_EXT, 1, NUM_EXT_LENGTH}, /* c7 ext 8 */
    {MP_EXT, 2, NUM_EXT_LENGTH}, /* c8 ext 16 */
    {MP_EXT, 4, NUM_EXT_LENGTH}, /* c9 ext 32 */
    {MP_FLOAT, 4, NUM_FLOAT32},  /* ca float 32 */
    {MP_FLOAT, 8, NUM_FLOAT64},  /* cb float 64 */
    {MP_UINT, 1, NUM_UNSIGNED},  /* cc uint 8 */
    {MP_UINT, 2, NUM_UNSIGNED},  /* cd uint 16 */
    {MP_UINT, 4, NUM_UNSIGNED},  /* ce uint 32 */
    {MP_UINT, 8, NUM_UNSIGNED},  /* cf uint 64 */
    {MP_UINT, 1, NUM_SIGNED},    /* d0 int 8 (MP_NINT when negative) */
    {MP_UINT, 2, NUM_SIGNED},    /* d1 int 16 */
    {MP_UINT, 4, NUM_SIGNED},    /* d2 int 32 */
    {MP_UINT, 8, NUM_SIGNED},    /* d3 int 64 */
    {MP_EXT, 1, NUM_FIXEXT},     /* d4 fixext 1 */
    {MP_EXT, 1, NUM_FIXEXT},     /* d5 fixext 2 */
    {MP_EXT, 1, NUM_FIXEXT},     /* d6 fixext 4 */
    {MP_EXT, 1, NUM_FIXEXT},     /* d7 fixext 8 */
    {MP_EXT, 1, NUM_FIXEXT},     /* d8 fixext 16 */
    {MP_STR, 1, NUM_LENGTH},     /* d9 str 8 */
    {MP_STR, 2, NUM_LENGTH},     /* da str 16 */
    {MP_STR, 4, NUM_LENGTH},     /* db str 32 */
    {MP_ARRAY, 2, NUM_LENGTH},   /* dc array 16 */
    {MP_ARRAY, 4, NUM_LENGTH},   /* dd array 32 */
    {MP_MAP, 2, NUM_LENGTH},     /* de map 16 */
    {MP_MAP, 4, NUM_LENGTH},     /* df map 32 */
};

/* Fills v from type byte t (0xc0..0xdf, not 0xc1) and the number x read after it; *hdr is the header's
 * size so far (1 + width), shortened for a fixext whose type byte counts as payload. 0, or -1 with *why. */
static int mp_read_typed(uint8_t t, uint64_t x, struct mp_val *v, size_t *hdr, const char **why)
{
	const struct mp_hdr *h = &mp_hdrs[t - 0xc0];

	v->type = (enum mp_type)h->type;
	switch ((enum mp_num)h->num) {
	case NUM_NONE: v->b = t == 0xc3; break;
	case NUM_LENGTH: v->len = (uint32_t)x; break;
	case NUM_EXT_LENGTH:
		v->len = (uint32_t)x + 1;
		if (v->len == 0) { /* 0xffffffff + 1 */
			*why = "ext length larger than the input";
			return -1;
		}
		break;
	case NUM_FIXEXT:
		v->len = 1 + (1u << (t - 0xd4));
		*hdr = 1;
		break;
	case NUM_UNSIGNED: v->u = x; break;
	case NUM_SIGNED: {
		int64_t s;

		if (h->width == 8) {
			memcpy(&s, &x, sizeof(s));
		} else { /* sign-extend from width bytes */
			uint64_t sign = (uint64_t)1 << (8 * h->width - 1);
			s = (x & sign) ? (int64_t)(x | ~((sign << 1) - 1)) : (int64_t)x;
		}
		if (s >= 0) {
			v->u = (uint64_t)s;
		} else {
			v->type = MP_NINT;
			v->i = s;
		}
		break;
	}
	case NUM_FLOAT32: {
		uint32_t bits = (uint32_t)x;
		float f;

		memcpy(&f, &bits, sizeof(f));
		v->f = f;
		break;
	}
	case NUM_FLOAT64: memcpy(&v->f, &x, sizeof(v->f)); break;
	}
	return 0;
}

/* Reads the value header at *pp (and the payload of a str/bin/ext) into v and advances *pp past it.
 * Containers are not entered: their entries follow. Returns 0, or -1 with *why set if the bytes end
 * too early or hold the reserved byte 0xc1. Never reads at or past end. */
static int mp_read(const uint8_t **pp, const uint8_t *end, struct mp_val *v, const char **why)
{
	const uint8_t *p = *pp;
	size_t left = (size_t)(end - p);
	size_t hdr = 1; /* header bytes, including the type byte */
	uint8_t t;

	if (left == 0) {
		*why = "input ends where a value should start";
		return -1;
	}
	t = p[0];
	memset(v, 0, sizeof(*v));
	if (t <= 0x7f) {
		v->type = MP_UINT;
		v->u = t;
	} else if (t <= 0x8f) {
		v->type = MP_MAP;
		v->len = t & 0x0f;
	} else if (t <= 0x9f) {
		v->type = MP_ARRAY;
		v->len = t & 0x0f;
	} else if (t <= 0xbf) {
		v->type = MP_STR;
		v->len = t & 0x1f;
	} else if (t >= 0xe0) {
		v->type = MP_NINT;
		v->i = (int8_t)t;
	} else {
		size_t w = mp_hdrs[t - 0xc0].width;

		if (t == 0xc1) {
			*why = "reserved byte 0xc1";
			return -1;
		}
		if (w >= left) {
			*why = "input ends inside a value header";
			return -1;
		}
		hdr = 1 + w;
		if (mp_read_typed(t, be(p + 1, w), v, &hdr, why) != 0) {
			return -1;
		}
	}
	if (v->type == MP_STR || v->type == MP_BIN || v->type == MP_EXT) {
		if (v->len > left - hdr) {
			*why = v->type == MP_STR ? "string longer than the input left"
			                         : (v->type == MP_BIN ? "binary longer than the input left"
			                                              : "ext longer than the input left");
			return -1;
		}
		v->data = p + hdr;
		*pp = p + hdr + v->len;
	} else {
		*pp = p + hdr;
	}
	return 0;
}

/* ---- the checker ----------------------------------------------------------------------------- */

int fl_proto_check(const void *buf, size_t len, char err[FL_ERR_LEN])
{
	const uint8_t *base = buf, *p = buf, *end;
	uint64_t left[FL_PROTO_MAX_DEPTH + 1]; /* entries still to read at each open level; [0] = top */
	uint64_t pending = 1;                  /* sum of left[] */
	uint64_t elements = 0;
	size_t depth = 0;

	if (buf == NULL || len == 0) {
		return fl_seterr(err, FL_EPROTO, "frame: empty input");
	}
	if (len > FL_PROTO_MAX_FRAME_BYTES) {
		return fl_seterr(err, FL_ELIMIT, "frame: %zu bytes, more than the %u allowed", len,
		                 FL_PROTO_MAX_FRAME_BYTES);
	}
	end = base + len;
	left[0] = 1;
	while (pending > 0) {
		size_t off = (size_t)(p - base);
		struct mp_val v;
		const char *why = NULL;

		while (left[depth] == 0) {
			depth--;
		}
		if (mp_read(&p, end, &v, &why) != 0) {
			return fl_seterr(err, FL_EPROTO, "frame: byte %zu: %s", off, why);
		}
		left[depth]--;
		pending--;
		if (++elements > FL_PROTO_MAX_ELEMENTS) {
			return fl_seterr(err, FL_ELIMIT, "frame: byte %zu: more than %u msgpack objects", off,
			                 FL_PROTO_MAX_ELEMENTS);
		}
		if (v.type == MP_ARRAY || v.type == MP_MAP) {
			uint64_t n = v.type == MP_MAP ? 2 * (uint64_t)v.len : v.len;

			if (depth >= FL_PROTO_MAX_DEPTH) {
				return fl_seterr(err, FL_ELIMIT, "frame: byte %zu: nested deeper than %u levels", off,
				                 FL_PROTO_MAX_DEPTH);
			}
			/* every entry takes at least one byte, so all that is still owed must fit in what is left */
			if (pending + n > (uint64_t)(end - p)) {
				return fl_seterr(err, FL_EPROTO,
				                 "frame: byte %zu: %s of %" PRIu32
				                 " entries does not fit in the %zu bytes left",
				                 off, mp_type_names[v.type], v.len, (size_t)(end - p));
			}
			left[++depth] = n;
			pending += n;
		}
	}
	if (p != end) {
		return fl_seterr(err, FL_EPROTO, "frame: %zu trailing bytes after the value", (size_t)(end - p));
	}
	return FL_OK;
}

/* ---- the decoder ----------------------------------------------------------------------------- */

struct keyref {
	const uint8_t *s;
	uint32_t n;
};

/* Unknown keys of the maps being read, kept for the duplicate check: at most FL_PROTO_MAX_UNKNOWN_KEYS per map,
 * and the schema nests at most DEC_MAP_LEVELS maps read at once (payload, node, taint; payload, job, parameter),
 * so a fixed array holds them all and an unknown key costs no allocation. */
#define DEC_MAP_LEVELS 4

struct dec {
	const uint8_t *p, *end;
	char *err;
	struct keyref unk[DEC_MAP_LEVELS * FL_PROTO_MAX_UNKNOWN_KEYS]; /* per open map: sorted by keyref_cmp */
	size_t n_unk;
};

enum ftype {
	FT_STR,        /* char[size]; required means present and non-empty */
	FT_COUNT,      /* int64_t >= 0 */
	FT_INT64,      /* int64_t */
	FT_INDEX32,    /* int32_t >= 0 */
	FT_NUMA,       /* int32_t >= -1 */
	FT_F64,        /* double, finite; integers accepted */
	FT_F64_OPT,    /* double or nil; bool at has_off */
	FT_BOOL,       /* bool */
	FT_VERSION,    /* uint32_t == FL_PROTO_VERSION */
	FT_NAME,       /* char[FL_CLUSTER_LEN], fl_proto_valid_name */
	FT_SEQ,        /* uint64_t in 1..INT64_MAX */
	FT_ACK_SEQ,    /* uint64_t in 0..INT64_MAX */
	FT_KIND,       /* fl_frame_kind */
	FT_ACK_STATUS, /* fl_ack_status */
	FT_TAINTS,     /* base is an fl_proto_node */
	FT_FACTS,      /* base is an fl_proto_frame */
	FT_NODES,
	FT_GPUS,
	FT_OVERVIEW,
	FT_REMOVED, /* base is an fl_proto_frame: array of node names */
	FT_PODS,
	FT_WORKLOADS,
	FT_REMOVED_PODS, /* base is an fl_proto_frame: array of pod uids */
	FT_UNKNOWN,      /* uint32_t FL_OV_* bits, from an array of overview field names */
	FT_HOST,         /* base is an fl_proto_frame: the node frame's host map */
	FT_RDMA,
	FT_JOBS,
	FT_COUNT_OPT,   /* int64_t >= 0; bool at has_off set when present (absent: unknown) */
	FT_TEXT,        /* char[size]; required means present, "" allowed */
	FT_PARAM_VALUE, /* base is an fl_proto_kv: a str(255) into value, or a finite number into num, is_num */
	FT_GPU_MASK,    /* uint64_t[4] bits from an array of GPU ids 0..255, sorted, unique */
	FT_PARAMS,      /* base is an fl_proto_job: array of parameter maps */
	FT_ENV,         /* base is an fl_proto_job: array of environment maps */
};

struct field {
	const char *key;
	enum ftype type;
	size_t off, size, has_off;
	bool required;
};

#define F(S, k, t, m, req)                                                                                             \
	{                                                                                                              \
		k, t, offsetof(S, m), sizeof(((S *)0)->m), 0, req                                                      \
	}
#define F_OPT(S, k, m, has)                                                                                            \
	{                                                                                                              \
		k, FT_F64_OPT, offsetof(S, m), sizeof(double), offsetof(S, has), false                                 \
	}
#define F_COUNT_OPT(S, k, m, has)                                                                                      \
	{                                                                                                              \
		k, FT_COUNT_OPT, offsetof(S, m), sizeof(int64_t), offsetof(S, has), false                              \
	}
#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))

static const struct field envelope_fields[] = {
    F(fl_proto_envelope, "v", FT_VERSION, version, true),     F(fl_proto_envelope, "cluster", FT_NAME, cluster, true),
    F(fl_proto_envelope, "spoke", FT_NAME, spoke_id, true),   F(fl_proto_envelope, "seq", FT_SEQ, seq, true),
    F(fl_proto_envelope, "sent", FT_INT64, sent_at_ms, true), F(fl_proto_envelope, "kind", FT_KIND, kind, true),
};

static const struct field payload_fields[] = {
    F(fl_proto_frame, "facts", FT_FACTS, facts, false),
    F(fl_proto_frame, "nodes", FT_NODES, nodes, false),
    F(fl_proto_frame, "gpus", FT_GPUS, gpus, false),
    F(fl_proto_frame, "overview", FT_OVERVIEW, overview, false),
    F(fl_proto_frame, "removed_nodes", FT_REMOVED, removed_nodes, false),
    F(fl_proto_frame, "pods", FT_PODS, pods, false),
    F(fl_proto_frame, "workloads", FT_WORKLOADS, workloads, false),
    F(fl_proto_frame, "removed_pods", FT_REMOVED_PODS, removed_pods, false),
    F(fl_proto_frame, "host", FT_HOST, host, false),
    F(fl_proto_frame, "rdma", FT_RDMA, rdma, false),
    F(fl_proto_frame, "jobs", FT_JOBS, jobs, false),
};

static const struct field host_fields[] = {
    F(fl_proto_host, "node", FT_STR, node, true),
    F(fl_proto_host, "gpu_source", FT_STR, gpu_source, false),
};

static const struct field rdma_fields[] = {
    F(fl_proto_rdma, "name", FT_STR, name, true),
    F(fl_proto_rdma, "node_guid", FT_STR, node_guid, false),
    F(fl_proto_rdma, "fw_version", FT_STR, fw_version, false),
    F(fl_proto_rdma, "port_state", FT_STR, port_state, false),
    F(fl_proto_rdma, "link_layer", FT_STR, link_layer, false),
    F(fl_proto_rdma, "rx_bytes", FT_COUNT, rx_bytes, false),
    F(fl_proto_rdma, "tx_bytes", FT_COUNT, tx_bytes, false),
    F_OPT(fl_proto_rdma, "rx_rate", rx_rate, has_rates),
    F_OPT(fl_proto_rdma, "tx_rate", tx_rate, has_rates),
};

static const struct field job_fields[] = {
    F(fl_proto_job, "pid", FT_COUNT, pid, true),
    F(fl_proto_job, "ppid", FT_COUNT, ppid, false),
    F(fl_proto_job, "pgid", FT_COUNT, pgid, false),
    F(fl_proto_job, "name", FT_STR, name, false),
    F(fl_proto_job, "cmdline", FT_STR, cmdline, false),
    F(fl_proto_job, "started", FT_INT64, started_ms, true),
    F(fl_proto_job, "cwd", FT_STR, cwd, false),
    F(fl_proto_job, "framework", FT_STR, framework, false),
    F(fl_proto_job, "pod_uid", FT_STR, pod_uid, false),
    F(fl_proto_job, "devices", FT_STR, devices, false),
    F(fl_proto_job, "state", FT_STR, state, false),
    F_OPT(fl_proto_job, "cpu", cpu_percent, has_cpu),
    F(fl_proto_job, "rss", FT_COUNT, rss_bytes, false),
    F(fl_proto_job, "threads", FT_COUNT, threads, false),
    F(fl_proto_job, "fds", FT_COUNT, fds, false),
    F_COUNT_OPT(fl_proto_job, "gpu_memory", gpu_memory_bytes, has_gpu_memory),
    F(fl_proto_job, "gpus", FT_GPU_MASK, gpu_mask, false),
    F_OPT(fl_proto_job, "gpu_util", gpu_utilization, has_gpu_utilization),
    F(fl_proto_job, "config", FT_STR, config_path, false),
    F(fl_proto_job, "params", FT_PARAMS, params, false),
    F(fl_proto_job, "env", FT_ENV, env, false),
};

/* A job's parameter: a name and a text or number; its allowlisted environment variable: a name and a text. */
static const struct field param_fields[] = {
    F(fl_proto_kv, "key", FT_STR, key, true),
    F(fl_proto_kv, "value", FT_PARAM_VALUE, value, true),
};

static const struct field env_fields[] = {
    F(fl_proto_kv, "key", FT_STR, key, true),
    F(fl_proto_kv, "value", FT_TEXT, value, true),
};

static const struct field facts_fields[] = {
    F(fl_proto_facts, "k8s_version", FT_STR, k8s_version, false),
    F(fl_proto_facts, "spoke_version", FT_STR, spoke_version, false),
    F(fl_proto_facts, "source", FT_STR, source, false),
};

static const struct field taint_fields[] = {
    F(fl_proto_taint, "key", FT_STR, key, false),
    F(fl_proto_taint, "value", FT_STR, value, false),
    F(fl_proto_taint, "effect", FT_STR, effect, false),
};

static const struct field node_fields[] = {
    F(fl_proto_node, "name", FT_STR, name, true),
    F(fl_proto_node, "ip", FT_STR, ip, false),
    F(fl_proto_node, "gpu_name", FT_STR, gpu_name, false),
    F(fl_proto_node, "gpu_count", FT_COUNT, gpu_count, false),
    F(fl_proto_node, "gpu_allocation", FT_COUNT, gpu_allocation, false),
    F_OPT(fl_proto_node, "gpu_utilization", gpu_utilization, has_utilization),
    F(fl_proto_node, "status", FT_STR, status, false),
    F(fl_proto_node, "unschedulable", FT_BOOL, unschedulable, false),
    F(fl_proto_node, "faulty", FT_BOOL, faulty, false),
    F(fl_proto_node, "cpu_millis", FT_COUNT, cpu_millis, false),
    F(fl_proto_node, "memory_bytes", FT_COUNT, memory_bytes, false),
    F(fl_proto_node, "kubelet_version", FT_STR, kubelet_version, false),
    F(fl_proto_node, "os_image", FT_STR, os_image, false),
    F(fl_proto_node, "kernel_version", FT_STR, kernel_version, false),
    F(fl_proto_node, "container_runtime", FT_STR, container_runtime, false),
    F(fl_proto_node, "taints", FT_TAINTS, taints, false),
};

static const struct field gpu_fields[] = {
    F(fl_proto_gpu, "node", FT_STR, node, true),
    F(fl_proto_gpu, "gpu_id", FT_INDEX32, gpu_id, true),
    F(fl_proto_gpu, "gpu_model", FT_STR, gpu_model, false),
    F(fl_proto_gpu, "memory_mib", FT_COUNT, memory_mib, false),
    F_OPT(fl_proto_gpu, "utilization", utilization, has_utilization),
    F(fl_proto_gpu, "temperature", FT_F64, temperature, false),
    F(fl_proto_gpu, "power", FT_F64, power, false),
    F(fl_proto_gpu, "serial", FT_STR, serial, false),
    F(fl_proto_gpu, "numa", FT_NUMA, numa, false),
    F_COUNT_OPT(fl_proto_gpu, "memory_used_mib", memory_used_mib, has_memory_used),
    F(fl_proto_gpu, "health", FT_STR, health, false),
    F(fl_proto_gpu, "health_detail", FT_STR, health_detail, false),
};

static const struct field pod_fields[] = {
    F(fl_proto_pod, "uid", FT_STR, uid, true),
    F(fl_proto_pod, "namespace", FT_STR, ns, false),
    F(fl_proto_pod, "name", FT_STR, name, true),
    F(fl_proto_pod, "node", FT_STR, node, false),
    F(fl_proto_pod, "gpus", FT_COUNT, gpus, false),
    F(fl_proto_pod, "phase", FT_STR, phase, false),
    F(fl_proto_pod, "running", FT_BOOL, running, false),
    F(fl_proto_pod, "workload_uid", FT_STR, workload_uid, false),
    F_OPT(fl_proto_pod, "utilization", utilization, has_utilization),
    F(fl_proto_pod, "created", FT_INT64, created_ms, false),
};

static const struct field workload_fields[] = {
    F(fl_proto_workload, "uid", FT_STR, uid, true),
    F(fl_proto_workload, "kind", FT_STR, kind, true),
    F(fl_proto_workload, "api_version", FT_STR, api_version, false),
    F(fl_proto_workload, "namespace", FT_STR, ns, false),
    F(fl_proto_workload, "name", FT_STR, name, true),
    F(fl_proto_workload, "status", FT_STR, status, false),
    F(fl_proto_workload, "gpu_request", FT_COUNT, gpu_request, false),
    F(fl_proto_workload, "pods", FT_COUNT, pods, false),
    F_OPT(fl_proto_workload, "utilization", utilization, has_utilization),
    F(fl_proto_workload, "created", FT_INT64, created_ms, false),
    F(fl_proto_workload, "ended", FT_INT64, ended_ms, false),
    F(fl_proto_workload, "safe_workload_id", FT_STR, safe_workload_id, false),
};

static const struct field overview_fields[] = {
    F(fl_proto_overview, "total_nodes", FT_COUNT, total_nodes, false),
    F(fl_proto_overview, "healthy_nodes", FT_COUNT, healthy_nodes, false),
    F(fl_proto_overview, "faulty_nodes", FT_COUNT, faulty_nodes, false),
    F(fl_proto_overview, "fully_idle_nodes", FT_COUNT, fully_idle_nodes, false),
    F(fl_proto_overview, "partially_idle_nodes", FT_COUNT, partially_idle_nodes, false),
    F(fl_proto_overview, "busy_nodes", FT_COUNT, busy_nodes, false),
    F(fl_proto_overview, "allocation_rate", FT_F64, allocation_rate, false),
    F(fl_proto_overview, "utilization", FT_F64, utilization, false),
    F(fl_proto_overview, "gpus_allocatable", FT_COUNT, gpus_allocatable, false),
    F(fl_proto_overview, "gpus_allocated", FT_COUNT, gpus_allocated, false),
    F(fl_proto_overview, "total_space", FT_F64, total_space, false),
    F(fl_proto_overview, "used_space", FT_F64, used_space, false),
    F(fl_proto_overview, "usage_percentage", FT_F64, usage_percentage, false),
    F(fl_proto_overview, "total_inodes", FT_F64, total_inodes, false),
    F(fl_proto_overview, "used_inodes", FT_F64, used_inodes, false),
    F(fl_proto_overview, "inodes_usage_percentage", FT_F64, inodes_usage_percentage, false),
    F(fl_proto_overview, "read_bandwidth", FT_F64, read_bandwidth, false),
    F(fl_proto_overview, "write_bandwidth", FT_F64, write_bandwidth, false),
    F(fl_proto_overview, "total_tx", FT_F64, total_tx, false),
    F(fl_proto_overview, "total_rx", FT_F64, total_rx, false),
    F(fl_proto_overview, "unknown", FT_UNKNOWN, unknown, false),
};

static const struct field ack_fields[] = {
    F(fl_proto_ack, "seq", FT_ACK_SEQ, seq, true),
    F(fl_proto_ack, "status", FT_ACK_STATUS, status, true),
    F(fl_proto_ack, "full", FT_BOOL, want_full, false),
    F(fl_proto_ack, "reason", FT_STR, reason, false),
};

/* Fills err with "path.key: message" and returns code. */
static int ferr(struct dec *d, int code, const char *path, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int ferr(struct dec *d, int code, const char *path, const char *key, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (*path == '\0' && *key == '\0') {
		path = "payload"; /* the payload map's own children are named without a prefix */
	}
	return fl_seterr(d->err, code, "%s%s%s: %s", path, (*path != '\0' && *key != '\0') ? "." : "", key, msg);
}

static int next(struct dec *d, struct mp_val *v, const char *path, const char *key)
{
	const char *why = NULL;

	if (mp_read(&d->p, d->end, v, &why) != 0) {
		return ferr(d, FL_EPROTO, path, key, "%s", why);
	}
	return FL_OK;
}

/* Skips one value and everything inside it (the input has passed fl_proto_check, so this ends). */
static int skip(struct dec *d, const char *path, const char *key)
{
	uint64_t n = 1;

	while (n > 0) {
		struct mp_val v;
		int rv = next(d, &v, path, key);

		if (rv != FL_OK) {
			return rv;
		}
		n--;
		if (v.type == MP_ARRAY) {
			n += v.len;
		} else if (v.type == MP_MAP) {
			n += 2 * (uint64_t)v.len;
		}
	}
	return FL_OK;
}

static int read_int(struct dec *d, const char *path, const char *key, int64_t min, int64_t max, const char *expect,
                    int64_t *out)
{
	struct mp_val v;
	int rv = next(d, &v, path, key);

	if (rv != FL_OK) {
		return rv;
	}
	if (v.type == MP_UINT && v.u <= (uint64_t)max && (int64_t)v.u >= min) {
		*out = (int64_t)v.u;
	} else if (v.type == MP_NINT && v.i >= min && v.i <= max) {
		*out = v.i;
	} else if (v.type == MP_UINT || v.type == MP_NINT) {
		char num[24];

		if (v.type == MP_UINT) {
			snprintf(num, sizeof(num), "%" PRIu64, v.u);
		} else {
			snprintf(num, sizeof(num), "%" PRId64, v.i);
		}
		return ferr(d, FL_EPROTO, path, key, "expected %s, got %s", expect, num);
	} else {
		return ferr(d, FL_EPROTO, path, key, "expected %s, got %s", expect, mp_type_names[v.type]);
	}
	return FL_OK;
}

/* A finite number; has (if not NULL) allows nil and says whether a number was there. */
static int read_f64(struct dec *d, const char *path, const char *key, double *out, bool *has)
{
	struct mp_val v;
	int rv = next(d, &v, path, key);
	const char *expect = has != NULL ? "a finite number or nil" : "a finite number";

	if (rv != FL_OK) {
		return rv;
	}
	if (has != NULL) {
		*has = v.type != MP_NIL;
		if (v.type == MP_NIL) {
			*out = 0;
			return FL_OK;
		}
	}
	switch (v.type) {
	case MP_UINT: *out = (double)v.u; break;
	case MP_NINT: *out = (double)v.i; break;
	case MP_FLOAT:
		if (!isfinite(v.f)) {
			return ferr(d, FL_EPROTO, path, key, "expected %s, got %s", expect,
			            isnan(v.f) ? "NaN" : "infinity");
		}
		*out = v.f;
		break;
	default: return ferr(d, FL_EPROTO, path, key, "expected %s, got %s", expect, mp_type_names[v.type]);
	}
	return FL_OK;
}

/* A string that fits in cap bytes with its NUL; returns its bytes through *s, *n (not terminated). */
static int read_str(struct dec *d, const char *path, const char *key, size_t cap, const uint8_t **s, uint32_t *n)
{
	struct mp_val v;
	int rv = next(d, &v, path, key);

	if (rv != FL_OK) {
		return rv;
	}
	if (v.type != MP_STR) {
		return ferr(d, FL_EPROTO, path, key, "expected a string, got %s", mp_type_names[v.type]);
	}
	if (v.len >= cap) {
		return ferr(d, FL_ELIMIT, path, key, "string of %" PRIu32 " bytes, longer than the %zu allowed", v.len,
		            cap - 1);
	}
	if (memchr(v.data, '\0', v.len) != NULL) {
		return ferr(d, FL_EPROTO, path, key, "string contains a NUL byte");
	}
	if (!fl_proto_utf8_valid((const char *)v.data, v.len)) {
		return ferr(d, FL_EPROTO, path, key, "string is not valid UTF-8");
	}
	*s = v.data;
	*n = v.len;
	return FL_OK;
}

static int read_map(struct dec *d, const char *path, const struct field *fields, size_t nf, void *base);

/* Reads an array header for path.key and checks its count against max. */
static int read_array(struct dec *d, const char *path, const char *key, uint32_t max, uint32_t *n)
{
	struct mp_val v;
	int rv = next(d, &v, path, key);

	if (rv != FL_OK) {
		return rv;
	}
	if (v.type != MP_ARRAY) {
		return ferr(d, FL_EPROTO, path, key, "expected an array, got %s", mp_type_names[v.type]);
	}
	if (v.len > max) {
		return ferr(d, FL_ELIMIT, path, key, "%" PRIu32 " items, more than the %" PRIu32 " allowed", v.len,
		            max);
	}
	*n = v.len;
	return FL_OK;
}

/* Reads an array of maps into a new calloc'd array of n items of size sz, stored at *items / *count
 * before the items are read (so a failure part-way leaves something fl_proto_frame_free releases).
 * Each item starts as a copy of tmpl (sz bytes: the defaults of absent keys), or zeroed if NULL. */
static int read_items(struct dec *d, const char *path, const char *key, uint32_t max, size_t sz,
                      const struct field *fields, size_t nf, const void *tmpl, void **items, uint32_t *count)
{
	char ipath[96];
	uint32_t n = 0;
	int rv = read_array(d, path, key, max, &n);

	if (rv != FL_OK) {
		return rv;
	}
	if (n == 0) {
		return FL_OK;
	}
	*items = calloc(n, sz);
	if (*items == NULL) {
		return ferr(d, FL_ENOMEM, path, key, "out of memory for %" PRIu32 " items", n);
	}
	*count = n;
	for (uint32_t i = 0; i < n; i++) {
		snprintf(ipath, sizeof(ipath), "%s%s%s[%" PRIu32 "]", path, *path != '\0' ? "." : "", key, i);
		if (tmpl != NULL) {
			memcpy((char *)*items + i * sz, tmpl, sz);
		}
		rv = read_map(d, ipath, fields, nf, (char *)*items + i * sz);
		if (rv != FL_OK) {
			return rv;
		}
	}
	return FL_OK;
}

/* The integer field types: the range a value must be in, what the error says is expected, and how many
 * bytes the field holds (8: int64_t or uint64_t; 4: int32_t or uint32_t, every allowed value fits both). */
struct int_rule {
	int64_t min, max;
	const char *expect; /* NULL: not an integer type */
	size_t width;
};

static const struct int_rule int_rules[] = {
    [FT_COUNT] = {0, INT64_MAX, "a non-negative integer", sizeof(int64_t)},
    [FT_INT64] = {INT64_MIN, INT64_MAX, "an integer", sizeof(int64_t)},
    [FT_INDEX32] = {0, INT32_MAX, "a non-negative integer", sizeof(int32_t)},
    [FT_NUMA] = {-1, INT32_MAX, "an integer >= -1", sizeof(int32_t)},
    [FT_SEQ] = {1, INT64_MAX, "an integer >= 1", sizeof(uint64_t)},
    [FT_ACK_SEQ] = {0, INT64_MAX, "a non-negative integer", sizeof(uint64_t)},
    [FT_VERSION] = {FL_PROTO_VERSION, FL_PROTO_VERSION, "version 1 (the only one this decoder speaks)",
                    sizeof(uint32_t)},
};

static const fl_proto_gpu gpu_defaults = {.numa = -1}; /* FORMAT.md 3.1: numa defaults to unknown */

/* The array-of-maps field types (read_items): the field holds the items pointer; the count sits at
 * count_off in the same struct (an fl_proto_node for taints, the fl_proto_frame for the rest). */
struct items_rule {
	const struct field *fields; /* NULL: not an array-of-maps type */
	size_t nf;
	uint32_t max;
	size_t size;
	const void *tmpl; /* each item's defaults, or NULL for zeroes */
	size_t count_off;
};

#define ITEMS(fields, max, T, S, count)                                                                                \
	{                                                                                                              \
		fields, NFIELDS(fields), max, sizeof(T), NULL, offsetof(S, count)                                      \
	}

static const struct items_rule items_rules[] = {
    [FT_TAINTS] = ITEMS(taint_fields, FL_PROTO_MAX_TAINTS, fl_proto_taint, fl_proto_node, n_taints),
    [FT_NODES] = ITEMS(node_fields, FL_PROTO_MAX_NODES, fl_proto_node, fl_proto_frame, n_nodes),
    [FT_GPUS] = {gpu_fields, NFIELDS(gpu_fields), FL_PROTO_MAX_GPUS, sizeof(fl_proto_gpu), &gpu_defaults,
                 offsetof(fl_proto_frame, n_gpus)},
    [FT_PODS] = ITEMS(pod_fields, FL_PROTO_MAX_PODS, fl_proto_pod, fl_proto_frame, n_pods),
    [FT_WORKLOADS] = ITEMS(workload_fields, FL_PROTO_MAX_WORKLOADS, fl_proto_workload, fl_proto_frame, n_workloads),
    [FT_RDMA] = ITEMS(rdma_fields, FL_PROTO_MAX_RDMA, fl_proto_rdma, fl_proto_frame, n_rdma),
    [FT_JOBS] = ITEMS(job_fields, FL_PROTO_MAX_JOBS, fl_proto_job, fl_proto_frame, n_jobs),
    [FT_PARAMS] = ITEMS(param_fields, FL_PROTO_MAX_JOB_PARAMS, fl_proto_kv, fl_proto_job, n_params),
    [FT_ENV] = ITEMS(env_fields, FL_PROTO_MAX_JOB_ENV, fl_proto_kv, fl_proto_job, n_env),
};

/* The nested-map field types of a frame: the field holds the struct, has_off its presence flag. The map's
 * own path is its key (they sit at the payload's top level). */
struct map_rule {
	const struct field *fields; /* NULL: not a nested-map type */
	size_t nf;
	size_t has_off;
};

static const struct map_rule map_rules[] = {
    [FT_FACTS] = {facts_fields, NFIELDS(facts_fields), offsetof(fl_proto_frame, has_facts)},
    [FT_OVERVIEW] = {overview_fields, NFIELDS(overview_fields), offsetof(fl_proto_frame, has_overview)},
    [FT_HOST] = {host_fields, NFIELDS(host_fields), offsetof(fl_proto_frame, has_host)},
};

/* FT_STR (at most f->size - 1 bytes; non-empty when required) or FT_NAME (fl_proto_valid_name). */
static int read_str_field(struct dec *d, const char *path, const struct field *f, char *at)
{
	const uint8_t *s = NULL;
	uint32_t n = 0;
	int rv = read_str(d, path, f->key, f->size, &s, &n);

	if (rv != FL_OK) {
		return rv;
	}
	if (f->type == FT_STR && f->required && n == 0) {
		return ferr(d, FL_EPROTO, path, f->key, "must not be empty");
	}
	memcpy(at, s, n);
	at[n] = '\0';
	if (f->type == FT_NAME && !fl_proto_valid_name(at)) {
		return ferr(d, FL_EPROTO, path, f->key, "expected 1..63 of [A-Za-z0-9._-], got \"%.*s\"", (int)n, at);
	}
	return FL_OK;
}

/* FT_KIND (fl_frame_kind) or FT_ACK_STATUS (fl_ack_status): a name of at most 31 bytes. */
static int read_enum_field(struct dec *d, const char *path, const struct field *f, char *at)
{
	static const char *const statuses[] = {"ok", "duplicate", "rejected", "retry"};
	const uint8_t *s = NULL;
	uint32_t n = 0;
	int rv = read_str(d, path, f->key, 32, &s, &n);

	if (rv != FL_OK) {
		return rv;
	}
	if (f->type == FT_KIND) {
		fl_frame_kind k = fl_proto_kind_parse((const char *)s, n);

		if (k == 0) {
			return ferr(d, FL_EPROTO, path, f->key, "expected full, delta or heartbeat, got \"%.*s\"",
			            (int)n, (const char *)s);
		}
		*(fl_frame_kind *)(void *)at = k;
		return FL_OK;
	}
	size_t k = 0;

	while (k < NFIELDS(statuses) && !(strlen(statuses[k]) == n && memcmp(statuses[k], s, n) == 0)) {
		k++;
	}
	if (k == NFIELDS(statuses)) {
		return ferr(d, FL_EPROTO, path, f->key, "expected ok, duplicate, rejected or retry, got \"%.*s\"",
		            (int)n, (const char *)s);
	}
	*(fl_ack_status *)(void *)at = (fl_ack_status)k;
	return FL_OK;
}

/* An integer field under rule r, stored in r->width bytes at at. */
static int read_int_field(struct dec *d, const char *path, const char *key, const struct int_rule *r, char *at)
{
	int64_t x = 0;
	int rv = read_int(d, path, key, r->min, r->max, r->expect, &x);

	if (rv != FL_OK) {
		return rv;
	}
	if (r->width == sizeof(int64_t)) {
		memcpy(at, &x, sizeof(x));
	} else {
		int32_t y = (int32_t)x;
		memcpy(at, &y, sizeof(y));
	}
	return FL_OK;
}

static int read_bool_field(struct dec *d, const char *path, const char *key, bool *at)
{
	struct mp_val v;
	int rv = next(d, &v, path, key);

	if (rv != FL_OK) {
		return rv;
	}
	if (v.type != MP_BOOL) {
		return ferr(d, FL_EPROTO, path, key, "expected a boolean, got %s", mp_type_names[v.type]);
	}
	*at = v.b;
	return FL_OK;
}

/* FT_UNKNOWN: an array of overview figure names, stored as FL_OV_* bits (names of later figures: ignored). */
static int read_unknown_field(struct dec *d, const char *path, const char *key, char *at)
{
	const uint8_t *s = NULL;
	uint32_t n = 0, count = 0, bits = 0;
	int rv = read_array(d, path, key, FL_PROTO_MAX_UNKNOWN, &count);

	if (rv != FL_OK) {
		return rv;
	}
	for (uint32_t i = 0; i < count; i++) {
		char ipath[48];

		snprintf(ipath, sizeof(ipath), "%s.unknown[%" PRIu32 "]", path, i);
		if ((rv = read_str(d, ipath, "", 32, &s, &n)) != FL_OK) {
			return rv;
		}
		bits |= fl_proto_overview_figure_parse((const char *)s, n);
	}
	memcpy(at, &bits, sizeof(bits));
	return FL_OK;
}

/* FT_REMOVED (node names) or FT_REMOVED_PODS (pod uids) of frame fr: allowed in a delta frame only. */
static int read_removed_field(struct dec *d, const char *path, const struct field *f, fl_proto_frame *fr)
{
	bool pods = f->type == FT_REMOVED_PODS;
	fl_proto_name **list = pods ? &fr->removed_pods : &fr->removed_nodes;
	uint32_t n = 0, count = 0, *n_list = pods ? &fr->n_removed_pods : &fr->n_removed_nodes;
	const uint8_t *s = NULL;
	int rv;

	/* the envelope (read first) decides whether the key may be here at all, empty or not */
	if (fr->env.kind != FL_FRAME_DELTA) {
		return ferr(d, FL_EPROTO, path, f->key, "only a delta frame may remove %s, this is a %s frame",
		            pods ? "pods" : "nodes", fl_proto_kind_name(fr->env.kind));
	}
	if ((rv = read_array(d, path, f->key, pods ? FL_PROTO_MAX_PODS : FL_PROTO_MAX_NODES, &count)) != FL_OK ||
	    count == 0) {
		return rv;
	}
	if ((*list = calloc(count, sizeof(fl_proto_name))) == NULL) {
		return ferr(d, FL_ENOMEM, path, f->key, "out of memory for %" PRIu32 " items", count);
	}
	*n_list = count;
	for (uint32_t i = 0; i < count; i++) {
		char ipath[48];

		snprintf(ipath, sizeof(ipath), "%s[%" PRIu32 "]", f->key, i);
		if ((rv = read_str(d, ipath, "", pods ? FL_UID_LEN : FL_NAME_LEN, &s, &n)) != FL_OK) {
			return rv;
		}
		if (n == 0) {
			return ferr(d, FL_EPROTO, ipath, "", pods ? "empty pod uid" : "empty node name");
		}
		memcpy((*list)[i].name, s, n);
	}
	return FL_OK;
}

/* FT_PARAM_VALUE of the parameter at kv: a string (at most 255 bytes, may be empty) into value, or a finite
 * number (any integer or float encoding) into num with is_num set. */
static int read_param_value(struct dec *d, const char *path, const struct field *f, fl_proto_kv *kv)
{
	const uint8_t *start = d->p;
	struct mp_val v;
	int rv = next(d, &v, path, f->key);

	if (rv != FL_OK) {
		return rv;
	}
	if (v.type == MP_STR) {
		const struct field text = {f->key, FT_TEXT, f->off, f->size, 0, true};

		d->p = start; /* read it again as text: length, NUL and UTF-8 checks */
		kv->is_num = false;
		return read_str_field(d, path, &text, kv->value);
	}
	if (v.type == MP_UINT || v.type == MP_NINT || v.type == MP_FLOAT) {
		d->p = start;
		kv->value[0] = '\0';
		kv->is_num = true;
		return read_f64(d, path, f->key, &kv->num, NULL);
	}
	return ferr(d, FL_EPROTO, path, f->key, "expected a string or a finite number, got %s", mp_type_names[v.type]);
}

/* FT_GPU_MASK: an array (at most FL_PROTO_MAX_NODE_GPUS) of GPU ids 0..255 in increasing order, each once,
 * stored as the bits of a uint64_t[4]. */
static int read_gpu_mask(struct dec *d, const char *path, const char *key, uint64_t *mask)
{
	uint32_t count = 0;
	int64_t prev = -1;
	int rv = read_array(d, path, key, FL_PROTO_MAX_NODE_GPUS, &count);

	if (rv != FL_OK) {
		return rv;
	}
	memset(mask, 0, 4 * sizeof(*mask));
	for (uint32_t i = 0; i < count; i++) {
		char ipath[112];
		int64_t id = 0;

		snprintf(ipath, sizeof(ipath), "%s.%s[%" PRIu32 "]", path, key, i);
		if ((rv = read_int(d, ipath, "", 0, 255, "a GPU id 0..255", &id)) != FL_OK) {
			return rv;
		}
		if (id <= prev) {
			return ferr(d, FL_EPROTO, ipath, "",
			            "GPU id %" PRId64 " after %" PRId64 ": expected increasing ids, each once", id,
			            prev);
		}
		fl_proto_gpu_mask_set(mask, (int32_t)id);
		prev = id;
	}
	return FL_OK;
}

/* FT_COUNT_OPT: a count; its presence flag (at has_off in base) says it was sent. */
static int read_count_opt(struct dec *d, const char *path, const struct field *f, void *base)
{
	int rv = read_int_field(d, path, f->key, &int_rules[FT_COUNT], (char *)base + f->off);

	if (rv == FL_OK) {
		*(bool *)(void *)((char *)base + f->has_off) = true;
	}
	return rv;
}

/* Reads the value of field f of the struct at base. Integers, arrays of maps and nested maps go by the
 * rule tables above; the other types each have a reader. */
static int read_field(struct dec *d, const char *path, const struct field *f, void *base)
{
	char *at = (char *)base + f->off;

	if (f->type < NFIELDS(int_rules) && int_rules[f->type].expect != NULL) {
		return read_int_field(d, path, f->key, &int_rules[f->type], at);
	}
	if (f->type < NFIELDS(items_rules) && items_rules[f->type].fields != NULL) {
		const struct items_rule *r = &items_rules[f->type];

		return read_items(d, path, f->key, r->max, r->size, r->fields, r->nf, r->tmpl, (void **)(void *)at,
		                  (uint32_t *)(void *)((char *)base + r->count_off));
	}
	if (f->type < NFIELDS(map_rules) && map_rules[f->type].fields != NULL) {
		const struct map_rule *r = &map_rules[f->type];

		*(bool *)(void *)((char *)base + r->has_off) = true;
		return read_map(d, f->key, r->fields, r->nf, at);
	}
	switch (f->type) {
	case FT_STR:
	case FT_TEXT:
	case FT_NAME: return read_str_field(d, path, f, at);
	case FT_COUNT_OPT: return read_count_opt(d, path, f, base);
	case FT_PARAM_VALUE: return read_param_value(d, path, f, base);
	case FT_GPU_MASK: return read_gpu_mask(d, path, f->key, (uint64_t *)(void *)at);
	case FT_KIND:
	case FT_ACK_STATUS: return read_enum_field(d, path, f, at);
	case FT_F64: return read_f64(d, path, f->key, (double *)(void *)at, NULL);
	case FT_F64_OPT: return read_f64(d, path, f->key, (double *)(void *)at, (bool *)((char *)base + f->has_off));
	case FT_BOOL: return read_bool_field(d, path, f->key, (bool *)(void *)at);
	case FT_UNKNOWN: return read_unknown_field(d, path, f->key, at);
	case FT_REMOVED:
	case FT_REMOVED_PODS: return read_removed_field(d, path, f, base);
	default: break;
	}
	return ferr(d, FL_EPROTO, path, f->key, "unhandled field type");
}

static int keyref_cmp(const void *a, const void *b)
{
	const struct keyref *x = a, *y = b;

	if (x->n != y->n) {
		return x->n < y->n ? -1 : 1;
	}
	return memcmp(x->s, y->s, x->n);
}

/* Records unknown key k of the map whose unknown keys start at d->unk[unk0] (kept sorted: a binary search
 * and a move of at most FL_PROTO_MAX_UNKNOWN_KEYS entries, no allocation). FL_EPROTO for a key seen before
 * in this map, FL_ELIMIT for one unknown key too many. */
static int add_unknown(struct dec *d, const char *path, size_t unk0, const struct mp_val *k)
{
	struct keyref key = {k->data, k->len};
	size_t lo = unk0, hi = d->n_unk;

	if (d->n_unk - unk0 >= FL_PROTO_MAX_UNKNOWN_KEYS) {
		return ferr(d, FL_ELIMIT, path, "", "more than %u unknown keys in one map", FL_PROTO_MAX_UNKNOWN_KEYS);
	}
	if (d->n_unk >= NFIELDS(d->unk)) { /* only a schema nested deeper than DEC_MAP_LEVELS gets here */
		return ferr(d, FL_ELIMIT, path, "", "too many unknown keys in nested maps");
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = keyref_cmp(&d->unk[mid], &key);

		if (c == 0) {
			return ferr(d, FL_EPROTO, path, "", "duplicate key \"%.*s\"", (int)(key.n > 64 ? 64 : key.n),
			            (const char *)key.s);
		}
		if (c < 0) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	memmove(&d->unk[lo + 1], &d->unk[lo], (d->n_unk - lo) * sizeof(d->unk[0]));
	d->unk[lo] = key;
	d->n_unk++;
	return FL_OK;
}

/* Reads a map whose keys are looked up in fields (at most 64) and whose values land in base.
 * Unknown keys (at most FL_PROTO_MAX_UNKNOWN_KEYS) are skipped without allocating; a key seen twice, known or
 * not, is an error; so is a missing required key. */
static int read_map(struct dec *d, const char *path, const struct field *fields, size_t nf, void *base)
{
	size_t unk0 = d->n_unk;
	uint64_t seen = 0;
	struct mp_val v;
	int rv = next(d, &v, path, "");

	if (rv != FL_OK) {
		return rv;
	}
	if (v.type != MP_MAP) {
		return ferr(d, FL_EPROTO, path, "", "expected a map, got %s", mp_type_names[v.type]);
	}
	for (uint32_t i = 0; i < v.len; i++) {
		struct mp_val k;
		size_t j = 0;

		if ((rv = next(d, &k, path, "")) != FL_OK) {
			return rv;
		}
		if (k.type != MP_STR) {
			return ferr(d, FL_EPROTO, path, "", "map key %" PRIu32 " is a %s, not a string", i,
			            mp_type_names[k.type]);
		}
		while (j < nf && !(strlen(fields[j].key) == k.len && memcmp(fields[j].key, k.data, k.len) == 0)) {
			j++;
		}
		if (j == nf) { /* unknown: check it against this map's other unknown keys, skip its value */
			if ((rv = add_unknown(d, path, unk0, &k)) != FL_OK || (rv = skip(d, path, "")) != FL_OK) {
				return rv;
			}
			continue;
		}
		if (seen & ((uint64_t)1 << j)) {
			return ferr(d, FL_EPROTO, path, fields[j].key, "duplicate key");
		}
		seen |= (uint64_t)1 << j;
		if ((rv = read_field(d, path, &fields[j], base)) != FL_OK) {
			return rv;
		}
	}
	for (size_t j = 0; j < nf; j++) {
		if (fields[j].required && !(seen & ((uint64_t)1 << j))) {
			return ferr(d, FL_EPROTO, path, fields[j].key, "missing");
		}
	}
	d->n_unk = unk0;
	return FL_OK;
}

/* Reads the outer array header ([envelope, payload, signature]) and records where the signed bytes start. */
static int read_frame_header(struct dec *d, const void *buf, fl_proto_frame *out)
{
	struct mp_val v;
	int rv = next(d, &v, "frame", "");

	if (rv == FL_OK && (v.type != MP_ARRAY || v.len != 3)) {
		char got[32];

		if (v.type == MP_ARRAY) {
			snprintf(got, sizeof(got), "array of %" PRIu32, v.len);
		} else {
			snprintf(got, sizeof(got), "%s", mp_type_names[v.type]);
		}
		rv = ferr(d, FL_EPROTO, "frame", "",
		          "expected an array of 3 elements [envelope, payload, signature], got %s%s", got,
		          v.type == MP_ARRAY && v.len == 2 ? " (an unsigned frame: the signature is missing)" : "");
	}
	out->signed_off = (size_t)(d->p - (const uint8_t *)buf);
	return rv;
}

/* Reads the signature (a bin of FL_PROTO_SIG_LEN bytes) into out->sig; the signed bytes end where it starts. */
static int read_signature(struct dec *d, const void *buf, fl_proto_frame *out)
{
	size_t end_signed = (size_t)(d->p - (const uint8_t *)buf);
	struct mp_val v;
	int rv = next(d, &v, "signature", "");

	if (rv == FL_OK && v.type != MP_BIN) {
		rv = ferr(d, FL_EPROTO, "signature", "", "expected a binary of %u bytes (HMAC-SHA256), got %s",
		          FL_PROTO_SIG_LEN, mp_type_names[v.type]);
	} else if (rv == FL_OK && v.len != FL_PROTO_SIG_LEN) {
		rv = ferr(d, FL_EPROTO, "signature", "",
		          "expected a binary of %u bytes (HMAC-SHA256), got one of %" PRIu32 " bytes", FL_PROTO_SIG_LEN,
		          v.len);
	}
	if (rv == FL_OK) {
		memcpy(out->sig, v.data, FL_PROTO_SIG_LEN);
		out->signed_len = end_signed - out->signed_off;
	}
	return rv;
}

int fl_proto_decode(const void *buf, size_t len, fl_proto_frame *out, char err[FL_ERR_LEN])
{
	struct dec d = {.err = err};
	int rv;

	if (out == NULL) {
		return fl_seterr(err, FL_EINVAL, "fl_proto_decode: NULL output");
	}
	memset(out, 0, sizeof(*out));
	if ((rv = fl_proto_check(buf, len, err)) != FL_OK) {
		return rv;
	}
	d.p = buf;
	d.end = d.p + len;
	rv = read_frame_header(&d, buf, out); /* v1 is exactly [envelope, payload, signature] */
	if (rv == FL_OK) {
		rv = read_map(&d, "envelope", envelope_fields, NFIELDS(envelope_fields), &out->env);
	}
	if (rv == FL_OK) {
		rv = read_map(&d, "", payload_fields, NFIELDS(payload_fields), out);
	}
	if (rv == FL_OK) {
		rv = fl_proto_check_shape(out, FL_EPROTO, err);
	}
	if (rv == FL_OK) {
		rv = read_signature(&d, buf, out);
	}
	if (rv != FL_OK) {
		fl_proto_frame_free(out);
	}
	return rv;
}

int fl_proto_decode_head(const void *buf, size_t len, fl_proto_frame *out, char err[FL_ERR_LEN])
{
	struct dec d = {.err = err};
	struct mp_val v;
	int rv;

	if (out == NULL) {
		return fl_seterr(err, FL_EINVAL, "fl_proto_decode_head: NULL output");
	}
	memset(out, 0, sizeof(*out));
	if ((rv = fl_proto_check(buf, len, err)) != FL_OK) {
		return rv;
	}
	d.p = buf;
	d.end = d.p + len;
	rv = read_frame_header(&d, buf, out);
	if (rv == FL_OK) {
		rv = read_map(&d, "envelope", envelope_fields, NFIELDS(envelope_fields), &out->env);
	}
	if (rv == FL_OK) { /* the payload: a map, passed over unread */
		const uint8_t *payload = d.p;

		rv = next(&d, &v, "payload", "");
		if (rv == FL_OK && v.type != MP_MAP) {
			rv = ferr(&d, FL_EPROTO, "payload", "", "expected a map, got %s", mp_type_names[v.type]);
		}
		if (rv == FL_OK) {
			d.p = payload;
			rv = skip(&d, "payload", "");
		}
	}
	if (rv == FL_OK) {
		rv = read_signature(&d, buf, out);
	}
	if (rv != FL_OK) {
		memset(out, 0, sizeof(*out));
	}
	return rv;
}

int fl_proto_ack_decode(const void *buf, size_t len, fl_proto_ack *out, char err[FL_ERR_LEN])
{
	struct dec d = {.err = err};
	int rv;

	if (out == NULL) {
		return fl_seterr(err, FL_EINVAL, "fl_proto_ack_decode: NULL output");
	}
	memset(out, 0, sizeof(*out));
	if (len > FL_PROTO_MAX_ACK_BYTES) {
		return fl_seterr(err, FL_ELIMIT, "ack: %zu bytes, more than the %u allowed", len,
		                 FL_PROTO_MAX_ACK_BYTES);
	}
	if ((rv = fl_proto_check(buf, len, err)) != FL_OK) {
		return rv;
	}
	d.p = buf;
	d.end = d.p + len;
	rv = read_map(&d, "ack", ack_fields, NFIELDS(ack_fields), out);
	if (rv != FL_OK) {
		memset(out, 0, sizeof(*out));
	}
	return rv;
}
