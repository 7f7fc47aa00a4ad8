/* test_proto.c — frame format v1: round trips, the bounded checker, and one test per kind of bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <inttypes.h>
#include <math.h>
#include <msgpack.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fl_proto.h"
#include "fl_synth.h"

/* Every frame in these tests is signed with this key (35 bytes), unless a test says otherwise. */
static const char test_key[] = "fleetlens-unit-test-key-0123456789a";
#define TEST_KEY (const uint8_t *)test_key, sizeof(test_key) - 1

/* fl_proto_encode with the test key. */
static int encode(const fl_proto_frame *f, char **out, size_t *out_len, char err[FL_ERR_LEN])
{
	return fl_proto_encode(f, TEST_KEY, out, out_len, err);
}

/* Counts calloc calls for more items than any frame array may hold (the test binary is linked with
 * -Wl,--wrap=calloc, so this also sees the calls made inside fl_proto): a decoder that checks counts
 * before allocating never makes one. */
void *__real_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size);
static size_t g_oversized_callocs;
static size_t g_callocs; /* every call */

void *__wrap_calloc(size_t n, size_t size)
{
	g_callocs++;
	if (n > FL_PROTO_MAX_NODES && size >= sizeof(fl_proto_name)) {
		g_oversized_callocs++;
	}
	return __real_calloc(n, size);
}

/* ---- a valid frame built through the structs ------------------------------------------------- */

static void set_taint(fl_proto_taint *t, const char *k, const char *v, const char *e)
{
	snprintf(t->key, sizeof(t->key), "%s", k);
	snprintf(t->value, sizeof(t->value), "%s", v);
	snprintf(t->effect, sizeof(t->effect), "%s", e);
}

/* A full frame: 3 nodes (the first with two taints, the second without utilization), 4 GPUs (one
 * without utilization), facts and an overview. Release with fl_proto_frame_free.
 * Long on purpose: one assignment per frame field, read as a table. */
static void make_frame(fl_proto_frame *f)
{
	memset(f, 0, sizeof(*f));
	f->env.version = FL_PROTO_VERSION;
	snprintf(f->env.cluster, sizeof(f->env.cluster), "gpu-a.prod_1");
	snprintf(f->env.spoke_id, sizeof(f->env.spoke_id), "spoke-7f3a");
	f->env.seq = 42;
	f->env.sent_at_ms = 1764000000123;
	f->env.kind = FL_FRAME_FULL;
	f->has_facts = true;
	snprintf(f->facts.k8s_version, sizeof(f->facts.k8s_version), "v1.29.3");
	snprintf(f->facts.spoke_version, sizeof(f->facts.spoke_version), "0.1.0");
	snprintf(f->facts.source, sizeof(f->facts.source), "sim");

	f->n_nodes = 3;
	f->nodes = calloc(f->n_nodes, sizeof(*f->nodes));
	assert_non_null(f->nodes);
	for (uint32_t i = 0; i < f->n_nodes; i++) {
		fl_proto_node *n = &f->nodes[i];

		snprintf(n->name, sizeof(n->name), "node-%u", i);
		snprintf(n->ip, sizeof(n->ip), "10.0.0.%u", i + 1);
		snprintf(n->gpu_name, sizeof(n->gpu_name), "AMD Instinct MI300X");
		n->gpu_count = 8;
		n->gpu_allocation = (int64_t)i * 3;
		n->gpu_utilization = 12.5 * (i + 1);
		n->has_utilization = i != 1;
		snprintf(n->status, sizeof(n->status), i == 2 ? "NotReady" : "Ready");
		n->unschedulable = i == 0;
		n->faulty = i != 1;
		n->cpu_millis = 192000;
		n->memory_bytes = (int64_t)2 << 40;
		snprintf(n->kubelet_version, sizeof(n->kubelet_version), "v1.29.3");
		snprintf(n->os_image, sizeof(n->os_image), "Ubuntu 22.04.4 LTS");
		snprintf(n->kernel_version, sizeof(n->kernel_version), "5.15.0-105-generic");
		snprintf(n->container_runtime, sizeof(n->container_runtime), "containerd://1.7.2");
	}
	f->nodes[0].n_taints = 2;
	f->nodes[0].taints = calloc(2, sizeof(fl_proto_taint));
	assert_non_null(f->nodes[0].taints);
	set_taint(&f->nodes[0].taints[0], "amd.com/gpu", "present", "NoSchedule");
	set_taint(&f->nodes[0].taints[1], "node.kubernetes.io/unschedulable", "", "NoSchedule");
	f->nodes[2].n_taints = 1;
	f->nodes[2].taints = calloc(1, sizeof(fl_proto_taint));
	assert_non_null(f->nodes[2].taints);
	set_taint(&f->nodes[2].taints[0], "node.kubernetes.io/not-ready", "", "NoExecute");

	f->n_gpus = 4;
	f->gpus = calloc(f->n_gpus, sizeof(*f->gpus));
	assert_non_null(f->gpus);
	for (uint32_t i = 0; i < f->n_gpus; i++) {
		fl_proto_gpu *g = &f->gpus[i];

		snprintf(g->node, sizeof(g->node), "node-%u", i / 2);
		g->gpu_id = (int32_t)(i % 2);
		snprintf(g->gpu_model, sizeof(g->gpu_model), "MI300X");
		g->memory_mib = 196608;
		g->utilization = 33.25 + i;
		g->has_utilization = i != 3;
		g->temperature = -4.5 + 20 * i;
		g->power = 712.125;
		snprintf(g->serial, sizeof(g->serial), "SN-%04u", i);
		g->numa = i == 0 ? -1 : (int32_t)i;
	}

	f->n_pods = 2;
	f->pods = calloc(f->n_pods, sizeof(*f->pods));
	assert_non_null(f->pods);
	for (uint32_t i = 0; i < f->n_pods; i++) {
		fl_proto_pod *p = &f->pods[i];

		snprintf(p->uid, sizeof(p->uid), "5f0c8a52-0000-4000-8000-00000000000%u", i);
		snprintf(p->ns, sizeof(p->ns), "team-%u", i);
		snprintf(p->name, sizeof(p->name), "train-%u", i);
		snprintf(p->node, sizeof(p->node), i == 0 ? "node-0" : "");
		p->gpus = 4 + i;
		snprintf(p->phase, sizeof(p->phase), i == 0 ? "Running" : "Pending");
		p->running = i == 0;
		snprintf(p->workload_uid, sizeof(p->workload_uid), "w-uid-%u", i);
		p->utilization = 61.5;
		p->has_utilization = i == 0;
		p->created_ms = 1764000000000 - (int64_t)i;
	}
	f->n_workloads = 2;
	f->workloads = calloc(f->n_workloads, sizeof(*f->workloads));
	assert_non_null(f->workloads);
	for (uint32_t i = 0; i < f->n_workloads; i++) {
		fl_proto_workload *w = &f->workloads[i];

		snprintf(w->uid, sizeof(w->uid), "w-uid-%u", i);
		snprintf(w->kind, sizeof(w->kind), i == 0 ? "PyTorchJob" : "Deployment");
		snprintf(w->api_version, sizeof(w->api_version), i == 0 ? "kubeflow.org/v1" : "apps/v1");
		snprintf(w->ns, sizeof(w->ns), "team-%u", i);
		snprintf(w->name, sizeof(w->name), "wl-%u", i);
		snprintf(w->status, sizeof(w->status), i == 0 ? "Running" : "Done");
		w->gpu_request = i == 0 ? 4 : 0;
		w->pods = i == 0 ? 1 : 0;
		w->utilization = 61.5;
		w->has_utilization = i == 0;
		w->created_ms = 1763000000000;
		w->ended_ms = i == 0 ? 0 : 1764000000999;
		snprintf(w->safe_workload_id, sizeof(w->safe_workload_id), "%s", i == 0 ? "llm-pretrain-7b" : "");
	}

	f->has_overview = true;
	f->overview = (fl_proto_overview){
	    .total_nodes = 3,
	    .healthy_nodes = 1,
	    .faulty_nodes = 2,
	    .fully_idle_nodes = 0,
	    .partially_idle_nodes = 1,
	    .busy_nodes = 0,
	    .allocation_rate = 37.5,
	    .utilization = 35.75,
	    .gpus_allocatable = 24,
	    .gpus_allocated = 9,
	    .total_space = 1.5e15,
	    .used_space = 3.25e14,
	    .usage_percentage = 21.666666666666668,
	    .total_inodes = 1e9,
	    .used_inodes = 12345678,
	    .inodes_usage_percentage = 1.2345678,
	    .read_bandwidth = 1.25e9,
	    .write_bandwidth = 7.5e8,
	    .total_tx = 3.3e10,
	    .total_rx = 4.4e10,
	};
}

static void assert_double_equal(double a, double b)
{
	if (a != b) {
		fail_msg("%.17g != %.17g", a, b);
	}
}

/* Every field of a and b equal. Long on purpose: one comparison per frame field, read as a table. */
static void assert_frames_equal(const fl_proto_frame *a, const fl_proto_frame *b)
{
	assert_int_equal(a->env.version, b->env.version);
	assert_string_equal(a->env.cluster, b->env.cluster);
	assert_string_equal(a->env.spoke_id, b->env.spoke_id);
	assert_int_equal(a->env.seq, b->env.seq);
	assert_int_equal(a->env.sent_at_ms, b->env.sent_at_ms);
	assert_int_equal(a->env.kind, b->env.kind);
	assert_int_equal(a->has_facts, b->has_facts);
	assert_string_equal(a->facts.k8s_version, b->facts.k8s_version);
	assert_string_equal(a->facts.spoke_version, b->facts.spoke_version);
	assert_string_equal(a->facts.source, b->facts.source);
	assert_int_equal(a->n_nodes, b->n_nodes);
	for (uint32_t i = 0; i < a->n_nodes; i++) {
		const fl_proto_node *x = &a->nodes[i], *y = &b->nodes[i];

		assert_string_equal(x->name, y->name);
		assert_string_equal(x->ip, y->ip);
		assert_string_equal(x->gpu_name, y->gpu_name);
		assert_int_equal(x->gpu_count, y->gpu_count);
		assert_int_equal(x->gpu_allocation, y->gpu_allocation);
		assert_int_equal(x->has_utilization, y->has_utilization);
		if (x->has_utilization) {
			assert_double_equal(x->gpu_utilization, y->gpu_utilization);
		}
		assert_string_equal(x->status, y->status);
		assert_int_equal(x->unschedulable, y->unschedulable);
		assert_int_equal(x->faulty, y->faulty);
		assert_int_equal(x->cpu_millis, y->cpu_millis);
		assert_int_equal(x->memory_bytes, y->memory_bytes);
		assert_string_equal(x->kubelet_version, y->kubelet_version);
		assert_string_equal(x->os_image, y->os_image);
		assert_string_equal(x->kernel_version, y->kernel_version);
		assert_string_equal(x->container_runtime, y->container_runtime);
		assert_int_equal(x->n_taints, y->n_taints);
		for (uint32_t t = 0; t < x->n_taints; t++) {
			assert_string_equal(x->taints[t].key, y->taints[t].key);
			assert_string_equal(x->taints[t].value, y->taints[t].value);
			assert_string_equal(x->taints[t].effect, y->taints[t].effect);
		}
	}
	assert_int_equal(a->n_gpus, b->n_gpus);
	for (uint32_t i = 0; i < a->n_gpus; i++) {
		const fl_proto_gpu *x = &a->gpus[i], *y = &b->gpus[i];

		assert_string_equal(x->node, y->node);
		assert_int_equal(x->gpu_id, y->gpu_id);
		assert_string_equal(x->gpu_model, y->gpu_model);
		assert_int_equal(x->memory_mib, y->memory_mib);
		assert_int_equal(x->has_utilization, y->has_utilization);
		if (x->has_utilization) {
			assert_double_equal(x->utilization, y->utilization);
		}
		assert_double_equal(x->temperature, y->temperature);
		assert_double_equal(x->power, y->power);
		assert_string_equal(x->serial, y->serial);
		assert_int_equal(x->numa, y->numa);
	}
	assert_int_equal(a->n_pods, b->n_pods);
	for (uint32_t i = 0; i < a->n_pods; i++) {
		const fl_proto_pod *x = &a->pods[i], *y = &b->pods[i];

		assert_string_equal(x->uid, y->uid);
		assert_string_equal(x->ns, y->ns);
		assert_string_equal(x->name, y->name);
		assert_string_equal(x->node, y->node);
		assert_int_equal(x->gpus, y->gpus);
		assert_string_equal(x->phase, y->phase);
		assert_int_equal(x->running, y->running);
		assert_string_equal(x->workload_uid, y->workload_uid);
		assert_int_equal(x->has_utilization, y->has_utilization);
		if (x->has_utilization) {
			assert_double_equal(x->utilization, y->utilization);
		}
		assert_int_equal(x->created_ms, y->created_ms);
	}
	assert_int_equal(a->n_workloads, b->n_workloads);
	for (uint32_t i = 0; i < a->n_workloads; i++) {
		const fl_proto_workload *x = &a->workloads[i], *y = &b->workloads[i];

		assert_string_equal(x->uid, y->uid);
		assert_string_equal(x->kind, y->kind);
		assert_string_equal(x->api_version, y->api_version);
		assert_string_equal(x->ns, y->ns);
		assert_string_equal(x->name, y->name);
		assert_string_equal(x->status, y->status);
		assert_int_equal(x->gpu_request, y->gpu_request);
		assert_int_equal(x->pods, y->pods);
		assert_int_equal(x->has_utilization, y->has_utilization);
		if (x->has_utilization) {
			assert_double_equal(x->utilization, y->utilization);
		}
		assert_int_equal(x->created_ms, y->created_ms);
		assert_int_equal(x->ended_ms, y->ended_ms);
		assert_string_equal(x->safe_workload_id, y->safe_workload_id);
	}
	assert_int_equal(a->has_overview, b->has_overview);
	const fl_proto_overview *o = &a->overview, *p = &b->overview;
	assert_int_equal(o->total_nodes, p->total_nodes);
	assert_int_equal(o->healthy_nodes, p->healthy_nodes);
	assert_int_equal(o->faulty_nodes, p->faulty_nodes);
	assert_int_equal(o->fully_idle_nodes, p->fully_idle_nodes);
	assert_int_equal(o->partially_idle_nodes, p->partially_idle_nodes);
	assert_int_equal(o->busy_nodes, p->busy_nodes);
	assert_double_equal(o->allocation_rate, p->allocation_rate);
	assert_double_equal(o->utilization, p->utilization);
	assert_int_equal(o->gpus_allocatable, p->gpus_allocatable);
	assert_int_equal(o->gpus_allocated, p->gpus_allocated);
	assert_double_equal(o->total_space, p->total_space);
	assert_double_equal(o->used_space, p->used_space);
	assert_double_equal(o->usage_percentage, p->usage_percentage);
	assert_double_equal(o->total_inodes, p->total_inodes);
	assert_double_equal(o->used_inodes, p->used_inodes);
	assert_double_equal(o->inodes_usage_percentage, p->inodes_usage_percentage);
	assert_double_equal(o->read_bandwidth, p->read_bandwidth);
	assert_double_equal(o->write_bandwidth, p->write_bandwidth);
	assert_double_equal(o->total_tx, p->total_tx);
	assert_double_equal(o->total_rx, p->total_rx);
}

static void assert_zeroed(const fl_proto_frame *f)
{
	static const fl_proto_frame zero;

	assert_memory_equal(f, &zero, sizeof(zero));
}

/* ---- a frame written byte by byte with msgpack-c, independent of the encoder ------------------ */

enum vt { V_INT, V_F64, V_STR, V_BOOL, V_NIL, V_SUB };

struct kv {
	const char *key;
	enum vt t;
	int64_t i;
	double f;
	const char *s;
};

static const struct kv env_kv[] = {
    {"v", V_INT, 1, 0, NULL},   {"cluster", V_STR, 0, 0, "gpu-a"},       {"spoke", V_STR, 0, 0, "spoke-1"},
    {"seq", V_INT, 7, 0, NULL}, {"sent", V_INT, 1700000000000, 0, NULL}, {"kind", V_STR, 0, 0, "full"},
};
static const struct kv payload_kv[] = {
    {"facts", V_SUB, 0, 0, NULL},
    {"nodes", V_SUB, 0, 0, NULL},
    {"gpus", V_SUB, 0, 0, NULL},
    {"overview", V_SUB, 0, 0, NULL},
};
static const struct kv facts_kv[] = {
    {"k8s_version", V_STR, 0, 0, "v1.30.1"},
    {"spoke_version", V_STR, 0, 0, "0.1.0"},
    {"source", V_STR, 0, 0, "kube"},
};
static const struct kv node_kv[] = {
    {"name", V_STR, 0, 0, "node-0"},
    {"ip", V_STR, 0, 0, "10.1.2.3"},
    {"gpu_name", V_STR, 0, 0, "MI300X"},
    {"gpu_count", V_INT, 8, 0, NULL},
    {"gpu_allocation", V_INT, 4, 0, NULL},
    {"gpu_utilization", V_F64, 0, 55.5, NULL},
    {"status", V_STR, 0, 0, "Ready"},
    {"unschedulable", V_BOOL, 0, 0, NULL},
    {"faulty", V_BOOL, 1, 0, NULL},
    {"cpu_millis", V_INT, 96000, 0, NULL},
    {"memory_bytes", V_INT, 1099511627776, 0, NULL},
    {"kubelet_version", V_STR, 0, 0, "v1.30.1"},
    {"os_image", V_STR, 0, 0, "Ubuntu"},
    {"kernel_version", V_STR, 0, 0, "6.8.0"},
    {"container_runtime", V_STR, 0, 0, "containerd://1.7"},
    {"taints", V_SUB, 0, 0, NULL},
};
static const struct kv taint_kv[] = {
    {"key", V_STR, 0, 0, "amd.com/gpu"},
    {"value", V_STR, 0, 0, "present"},
    {"effect", V_STR, 0, 0, "NoSchedule"},
};
static const struct kv gpu_kv[] = {
    {"node", V_STR, 0, 0, "node-0"},        {"gpu_id", V_INT, 3, 0, NULL},      {"gpu_model", V_STR, 0, 0, "MI300X"},
    {"memory_mib", V_INT, 196608, 0, NULL}, {"utilization", V_NIL, 0, 0, NULL}, {"temperature", V_INT, 55, 0, NULL},
    {"power", V_F64, 0, 700.5, NULL},       {"serial", V_STR, 0, 0, "SN1"},     {"numa", V_INT, -1, 0, NULL},
};
static const struct kv overview_kv[] = {
    {"total_nodes", V_INT, 10, 0, NULL},
    {"healthy_nodes", V_INT, 9, 0, NULL},
    {"faulty_nodes", V_INT, 1, 0, NULL},
    {"fully_idle_nodes", V_INT, 2, 0, NULL},
    {"partially_idle_nodes", V_INT, 3, 0, NULL},
    {"busy_nodes", V_INT, 4, 0, NULL},
    {"allocation_rate", V_F64, 0, 62.5, NULL},
    {"utilization", V_F64, 0, 48.25, NULL},
    {"gpus_allocatable", V_INT, 72, 0, NULL},
    {"gpus_allocated", V_INT, 45, 0, NULL},
    {"total_space", V_F64, 0, 1e15, NULL},
    {"used_space", V_F64, 0, 2e14, NULL},
    {"usage_percentage", V_F64, 0, 20, NULL},
    {"total_inodes", V_INT, 1000000, 0, NULL},
    {"used_inodes", V_INT, 1000, 0, NULL},
    {"inodes_usage_percentage", V_F64, 0, 0.1, NULL},
    {"read_bandwidth", V_F64, 0, 1.5e9, NULL},
    {"write_bandwidth", V_F64, 0, 0.5e9, NULL},
    {"total_tx", V_F64, 0, 1e10, NULL},
    {"total_rx", V_F64, 0, 2e10, NULL},
    {"unknown", V_SUB, 0, 0, NULL},
};

/* What to break in the handmade frame: replace sec.key's value with bad(), write sec.key twice (dup),
 * leave it out (omit), or add unknown keys (n_extra copies of extra). */
static struct {
	const char *sec, *key;
	void (*bad)(msgpack_packer *);
	bool dup, omit;
	const char *extra;
	int n_extra;
	bool distinct;    /* the n_extra unknown keys are extra0, extra1, ... instead of n_extra copies of extra */
	bool repeat_last; /* ... and, after them, extra0 once more */
} g_bad;

#define NKV(a) (sizeof(a) / sizeof((a)[0]))

static void pk_str(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str(pk, strlen(s));
	msgpack_pack_str_body(pk, s, strlen(s));
}

static void write_map(msgpack_packer *pk, const char *sec, const struct kv *kvs, size_t n);

static void write_sub(msgpack_packer *pk, const char *key)
{
	if (strcmp(key, "facts") == 0) {
		write_map(pk, "facts", facts_kv, NKV(facts_kv));
	} else if (strcmp(key, "nodes") == 0) {
		msgpack_pack_array(pk, 1);
		write_map(pk, "node", node_kv, NKV(node_kv));
	} else if (strcmp(key, "taints") == 0) {
		msgpack_pack_array(pk, 1);
		write_map(pk, "taint", taint_kv, NKV(taint_kv));
	} else if (strcmp(key, "gpus") == 0) {
		msgpack_pack_array(pk, 1);
		write_map(pk, "gpu", gpu_kv, NKV(gpu_kv));
	} else if (strcmp(key, "unknown") == 0) {
		/* a figure a later version may add is ignored, not refused */
		msgpack_pack_array(pk, 3);
		pk_str(pk, "total_rx");
		pk_str(pk, "future_figure");
		pk_str(pk, "utilization");
	} else {
		write_map(pk, "overview", overview_kv, NKV(overview_kv));
	}
}

static void write_value(msgpack_packer *pk, const char *sec, const struct kv *kv)
{
	if (g_bad.bad != NULL && strcmp(g_bad.sec, sec) == 0 && strcmp(g_bad.key, kv->key) == 0) {
		g_bad.bad(pk);
		return;
	}
	switch (kv->t) {
	case V_INT: msgpack_pack_int64(pk, kv->i); break;
	case V_F64: msgpack_pack_double(pk, kv->f); break;
	case V_STR: pk_str(pk, kv->s); break;
	case V_BOOL: kv->i ? msgpack_pack_true(pk) : msgpack_pack_false(pk); break;
	case V_NIL: msgpack_pack_nil(pk); break;
	case V_SUB: write_sub(pk, kv->key); break;
	}
}

static void write_map(msgpack_packer *pk, const char *sec, const struct kv *kvs, size_t n)
{
	bool here = g_bad.sec != NULL && strcmp(g_bad.sec, sec) == 0;
	int extra = here && g_bad.extra != NULL ? g_bad.n_extra : 0;

	msgpack_pack_map(pk, n + (here && g_bad.dup) - (here && g_bad.omit) + (size_t)extra +
	                         (extra > 0 && g_bad.repeat_last));
	for (int e = 0; e < extra + (extra > 0 && g_bad.repeat_last); e++) {
		if (g_bad.distinct) {
			char k[64];
			snprintf(k, sizeof(k), "%s%d", g_bad.extra, e < extra ? e : 0);
			pk_str(pk, k);
		} else {
			pk_str(pk, g_bad.extra);
		}
		msgpack_pack_array(pk, 2); /* an unknown value with some structure, to be skipped */
		msgpack_pack_map(pk, 1);
		pk_str(pk, "x");
		msgpack_pack_nil(pk);
		msgpack_pack_int(pk, e);
	}
	for (size_t i = 0; i < n; i++) {
		if (here && g_bad.omit && strcmp(g_bad.key, kvs[i].key) == 0) {
			continue;
		}
		pk_str(pk, kvs[i].key);
		write_value(pk, sec, &kvs[i]);
		if (here && g_bad.dup && strcmp(g_bad.key, kvs[i].key) == 0) {
			pk_str(pk, kvs[i].key);
			write_value(pk, sec, &kvs[i]);
		}
	}
}

/* Appends the signature of what sb holds after its 1-byte array header, computed with OpenSSL
 * directly (not through fl_proto), under key. */
static void sign_with(msgpack_sbuffer *sb, msgpack_packer *pk, const char *key, size_t key_len)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	assert_non_null(
	    HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)sb->data + 1, sb->size - 1, mac, &n));
	assert_int_equal(n, FL_PROTO_SIG_LEN);
	msgpack_pack_bin(pk, n);
	msgpack_pack_bin_body(pk, mac, n);
}

static void sign(msgpack_sbuffer *sb, msgpack_packer *pk)
{
	sign_with(sb, pk, test_key, sizeof(test_key) - 1);
}

static void build(msgpack_sbuffer *sb)
{
	msgpack_packer pk;

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 3);
	write_map(&pk, "envelope", env_kv, NKV(env_kv));
	write_map(&pk, "payload", payload_kv, NKV(payload_kv));
	sign(sb, &pk);
}

static void bad_str(msgpack_packer *pk)
{
	pk_str(pk, "x");
}
static void bad_int(msgpack_packer *pk)
{
	msgpack_pack_int(pk, 7);
}
static void bad_minus_one(msgpack_packer *pk)
{
	msgpack_pack_int(pk, -1);
}
static void bad_minus_two(msgpack_packer *pk)
{
	msgpack_pack_int(pk, -2);
}
static void bad_zero(msgpack_packer *pk)
{
	msgpack_pack_int(pk, 0);
}
static void bad_two(msgpack_packer *pk)
{
	msgpack_pack_int(pk, 2);
}
static void bad_int32_overflow(msgpack_packer *pk)
{
	msgpack_pack_int64(pk, (int64_t)INT32_MAX + 1);
}
static void bad_uint64_max(msgpack_packer *pk)
{
	msgpack_pack_uint64(pk, UINT64_MAX);
}
static void bad_float(msgpack_packer *pk)
{
	msgpack_pack_double(pk, 1.5);
}
static void bad_nan(msgpack_packer *pk)
{
	msgpack_pack_double(pk, NAN);
}
static void bad_inf32(msgpack_packer *pk)
{
	msgpack_pack_float(pk, -INFINITY);
}
static void bad_nil(msgpack_packer *pk)
{
	msgpack_pack_nil(pk);
}
static void bad_true(msgpack_packer *pk)
{
	msgpack_pack_true(pk);
}
static void bad_map(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 0);
}
static void bad_array(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 0);
}
static void bad_bin(msgpack_packer *pk)
{
	msgpack_pack_bin(pk, 2);
	msgpack_pack_bin_body(pk, "ab", 2);
}
static void bad_empty_str(msgpack_packer *pk)
{
	pk_str(pk, "");
}
static void bad_kind(msgpack_packer *pk)
{
	pk_str(pk, "snapshot");
}
static void bad_name_chars(msgpack_packer *pk)
{
	pk_str(pk, "gpu a/../b");
}
static void bad_nul_in_str(msgpack_packer *pk)
{
	msgpack_pack_str(pk, 5);
	msgpack_pack_str_body(pk, "Re\0dy", 5);
}
static void bad_utf8(msgpack_packer *pk)
{
	pk_str(pk, "caf\xc3("); /* a lead byte without its continuation */
}
static void bad_utf8_surrogate(msgpack_packer *pk)
{
	pk_str(pk, "\xed\xa0\x80");
}
static void good_utf8(msgpack_packer *pk)
{
	pk_str(pk, "Ubuntu caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\x80");
}
static void bad_reserved_c1(msgpack_packer *pk)
{
	pk->callback(pk->data, "\xc1", 1);
}
static void bad_str_of(msgpack_packer *pk, size_t n)
{
	char *s = malloc(n);

	assert_non_null(s);
	memset(s, 'a', n);
	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
	free(s);
}
static void bad_str_63(msgpack_packer *pk)
{
	bad_str_of(pk, 63);
}
static void bad_str_64(msgpack_packer *pk)
{
	bad_str_of(pk, 64);
}
static void bad_str_253(msgpack_packer *pk)
{
	bad_str_of(pk, 253);
}
static void bad_str_254(msgpack_packer *pk)
{
	bad_str_of(pk, 254);
}

/* Builds the handmade frame with sec.key replaced by bad, decodes it and expects code and an error
 * containing want (the field path and what was expected). */
static void expect_decode_error(const char *sec, const char *key, void (*bad)(msgpack_packer *), int code,
                                const char *want)
{
	msgpack_sbuffer sb;
	fl_proto_frame f;
	char err[FL_ERR_LEN] = "";
	int rv;

	memset(&g_bad, 0, sizeof(g_bad));
	g_bad.sec = sec;
	g_bad.key = key;
	g_bad.bad = bad;
	build(&sb);
	memset(&f, 0xa5, sizeof(f));
	rv = fl_proto_decode(sb.data, sb.size, &f, err);
	msgpack_sbuffer_destroy(&sb);
	memset(&g_bad, 0, sizeof(g_bad));
	if (rv != code || strstr(err, want) == NULL) {
		fail_msg("%s.%s: got %d \"%s\", want %d \"%s\"", sec, key, rv, err, code, want);
	}
	assert_zeroed(&f);
}

/* ---- round trips ------------------------------------------------------------------------------ */

static void test_full_frame_round_trips_every_field(void **state)
{
	fl_proto_frame in, out;
	char err[FL_ERR_LEN] = "";
	char *buf = NULL;
	size_t len = 0;

	(void)state;
	make_frame(&in);
	assert_int_equal(encode(&in, &buf, &len, err), FL_OK);
	assert_non_null(buf);
	assert_true(len > 100);
	assert_int_equal(fl_proto_check(buf, len, err), FL_OK);
	assert_int_equal(fl_proto_decode(buf, len, &out, err), FL_OK);
	assert_frames_equal(&in, &out);
	assert_false(out.nodes[1].has_utilization);
	assert_false(out.gpus[3].has_utilization);
	assert_int_equal(out.nodes[0].n_taints, 2);
	assert_string_equal(out.nodes[0].taints[1].key, "node.kubernetes.io/unschedulable");
	assert_int_equal(out.nodes[1].n_taints, 0);
	assert_null(out.nodes[1].taints);
	assert_int_equal(out.gpus[0].numa, -1);
	free(buf);
	fl_proto_frame_free(&out);
	fl_proto_frame_free(&in);
	assert_zeroed(&out);
}

static void test_overview_unknown_list_round_trips_and_bad_bits_are_refused(void **state)
{
	fl_proto_frame in, out;
	char err[FL_ERR_LEN] = "";
	char *buf = NULL;
	size_t len = 0;

	(void)state;
	make_frame(&in);
	in.overview.unknown = FL_OV_UTILIZATION | FL_OV_RDMA;
	assert_int_equal(encode(&in, &buf, &len, err), FL_OK);
	assert_int_equal(fl_proto_decode(buf, len, &out, err), FL_OK);
	assert_int_equal(out.overview.unknown, FL_OV_UTILIZATION | FL_OV_TOTAL_TX | FL_OV_TOTAL_RX);
	assert_double_equal(out.overview.utilization, 0); /* an unknown figure is sent as 0 */
	assert_double_equal(out.overview.total_space, in.overview.total_space);
	free(buf);
	fl_proto_frame_free(&out);
	in.overview.unknown = 1u << FL_OV_FIGURES; /* names no figure */
	assert_int_equal(encode(&in, &buf, &len, err), FL_EINVAL);
	assert_non_null(strstr(err, "overview.unknown"));
	fl_proto_frame_free(&in);
	assert_string_equal(fl_proto_overview_figure_name(FL_OV_INODES_USAGE_PERCENTAGE), "inodes_usage_percentage");
	assert_null(fl_proto_overview_figure_name(FL_OV_TOTAL_TX | FL_OV_TOTAL_RX));
	assert_int_equal(fl_proto_overview_figure_parse("total_tx", 8), FL_OV_TOTAL_TX);
	assert_int_equal(fl_proto_overview_figure_parse("total_tx", 7), 0);
}

static void test_heartbeat_round_trips_with_empty_payload(void **state)
{
	fl_proto_frame in = {0}, out;
	char err[FL_ERR_LEN] = "";
	char *buf = NULL;
	size_t len = 0;

	(void)state;
	in.env = (fl_proto_envelope){.version = 0, .seq = 1, .sent_at_ms = -5, .kind = FL_FRAME_HEARTBEAT};
	snprintf(in.env.cluster, sizeof(in.env.cluster), "c");
	snprintf(in.env.spoke_id, sizeof(in.env.spoke_id), "s");
	assert_int_equal(encode(&in, &buf, &len, err), FL_OK);
	assert_int_equal(fl_proto_decode(buf, len, &out, err), FL_OK);
	assert_int_equal(out.env.version, FL_PROTO_VERSION); /* 0 in a frame to encode means "current" */
	assert_int_equal(out.env.kind, FL_FRAME_HEARTBEAT);
	assert_int_equal(out.env.sent_at_ms, -5);
	assert_false(out.has_facts);
	assert_false(out.has_overview);
	assert_int_equal(out.n_nodes, 0);
	assert_null(out.nodes);
	assert_int_equal(out.n_gpus, 0);
	free(buf);
	fl_proto_frame_free(&out);
}

/* A node frame with one GPU, one RDMA device and one job, as the node role builds it. */
static void make_node_frame(fl_proto_frame *f)
{
	memset(f, 0, sizeof(*f));
	f->env = (fl_proto_envelope){.seq = 7, .sent_at_ms = 1700000000123, .kind = FL_FRAME_NODE};
	snprintf(f->env.cluster, sizeof(f->env.cluster), "alpha");
	snprintf(f->env.spoke_id, sizeof(f->env.spoke_id), "node-a-1");
	f->has_host = true;
	snprintf(f->host.node, sizeof(f->host.node), "gpu-node-1");
	snprintf(f->host.gpu_source, sizeof(f->host.gpu_source), "amd");
	f->n_gpus = 1;
	f->gpus = calloc(1, sizeof(*f->gpus));
	snprintf(f->gpus[0].node, sizeof(f->gpus[0].node), "gpu-node-1");
	snprintf(f->gpus[0].serial, sizeof(f->gpus[0].serial), "SER-0");
	f->gpus[0].utilization = 42.5;
	f->gpus[0].has_utilization = true;
	f->gpus[0].numa = 1;
	f->n_rdma = 1;
	f->rdma = calloc(1, sizeof(*f->rdma));
	snprintf(f->rdma[0].name, sizeof(f->rdma[0].name), "mlx5_0");
	snprintf(f->rdma[0].node_guid, sizeof(f->rdma[0].node_guid), "0c42:a103:0016:0b4e");
	snprintf(f->rdma[0].port_state, sizeof(f->rdma[0].port_state), "ACTIVE");
	f->rdma[0].rx_bytes = 4096;
	f->rdma[0].tx_rate = 12.5;
	f->rdma[0].has_rates = true;
	f->n_jobs = 1;
	f->jobs = calloc(1, sizeof(*f->jobs));
	f->jobs[0].pid = 4242;
	f->jobs[0].ppid = 1;
	f->jobs[0].pgid = 4242;
	f->jobs[0].started_ms = 1699999999000;
	snprintf(f->jobs[0].name, sizeof(f->jobs[0].name), "python3");
	snprintf(f->jobs[0].cmdline, sizeof(f->jobs[0].cmdline), "python3 train.py --token=***");
	snprintf(f->jobs[0].framework, sizeof(f->jobs[0].framework), "torch");
	snprintf(f->jobs[0].pod_uid, sizeof(f->jobs[0].pod_uid), "0b9f1f5e-7a3c-4d1e-9a55-1b2c3d4e5f60");
	snprintf(f->jobs[0].devices, sizeof(f->jobs[0].devices), "/dev/kfd,/dev/dri/renderD128");
}

static void test_node_frame_round_trips_host_rdma_and_jobs(void **state)
{
	fl_proto_frame in, out;
	char err[FL_ERR_LEN] = "";
	char *buf = NULL;
	size_t len = 0;

	(void)state;
	make_node_frame(&in);
	assert_int_equal(encode(&in, &buf, &len, err), FL_OK);
	assert_int_equal(fl_proto_decode(buf, len, &out, err), FL_OK);
	assert_int_equal(out.env.kind, FL_FRAME_NODE);
	assert_true(out.has_host);
	assert_string_equal(out.host.node, "gpu-node-1");
	assert_string_equal(out.host.gpu_source, "amd");
	assert_int_equal(out.n_gpus, 1);
	assert_string_equal(out.gpus[0].serial, "SER-0");
	assert_int_equal(out.gpus[0].numa, 1);
	assert_int_equal(out.n_rdma, 1);
	assert_string_equal(out.rdma[0].node_guid, "0c42:a103:0016:0b4e");
	assert_string_equal(out.rdma[0].port_state, "ACTIVE");
	assert_int_equal(out.rdma[0].rx_bytes, 4096);
	assert_true(out.rdma[0].has_rates);
	assert_true(out.rdma[0].tx_rate == 12.5);
	assert_int_equal(out.n_jobs, 1);
	assert_int_equal(out.jobs[0].pid, 4242);
	assert_int_equal(out.jobs[0].pgid, 4242);
	assert_int_equal(out.jobs[0].started_ms, 1699999999000);
	assert_string_equal(out.jobs[0].cmdline, "python3 train.py --token=***");
	assert_string_equal(out.jobs[0].framework, "torch");
	assert_string_equal(out.jobs[0].devices, "/dev/kfd,/dev/dri/renderD128");
	json_t *j = fl_proto_frame_to_json(&out);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "host"), "node")), "gpu-node-1");
	assert_int_equal(json_array_size(json_object_get(j, "jobs")), 1);
	json_decref(j);
	free(buf);
	fl_proto_frame_free(&out);
	fl_proto_frame_free(&in);
}

/* A node frame without a host, with cluster rows, or with another node's GPU has no single meaning; host,
 * rdma and jobs belong to node frames only. The encoder refuses each; so does the decoder (below, on a
 * frame whose kind was changed after encoding, which the signature does not matter for). */
static void test_node_frame_rules_are_enforced_both_ways(void **state)
{
	fl_proto_frame f, out;
	char err[FL_ERR_LEN] = "";
	char *buf = NULL;
	size_t len = 0;

	(void)state;
	make_node_frame(&f);
	f.has_host = false;
	assert_int_equal(encode(&f, &buf, &len, err), FL_EINVAL);
	assert_non_null(strstr(err, "host: missing"));
	f.has_host = true;
	snprintf(f.gpus[0].node, sizeof(f.gpus[0].node), "other-node");
	assert_int_equal(encode(&f, &buf, &len, err), FL_EINVAL);
	assert_non_null(strstr(err, "is not the frame's host"));
	snprintf(f.gpus[0].node, sizeof(f.gpus[0].node), "gpu-node-1");
	f.has_overview = true;
	assert_int_equal(encode(&f, &buf, &len, err), FL_EINVAL);
	assert_non_null(strstr(err, "no cluster rows"));
	f.has_overview = false;
	f.env.kind = FL_FRAME_FULL; /* a full frame with jobs */
	assert_int_equal(encode(&f, &buf, &len, err), FL_EINVAL);
	assert_non_null(strstr(err, "only a node frame"));
	fl_proto_frame_free(&f);

	/* decoder: encode a valid node frame, then flip its kind string "node" to "full" in place */
	make_node_frame(&f);
	assert_int_equal(encode(&f, &buf, &len, err), FL_OK);
	char *k = NULL;
	for (size_t i = 0; i + 5 <= len && k == NULL; i++) {
		k = memcmp(buf + i, "\xa4" "node", 5) == 0 ? buf + i : NULL;
	}
	assert_non_null(k);
	memcpy(k, "\xa4" "full", 5);
	assert_int_equal(fl_proto_decode(buf, len, &out, err), FL_EPROTO);
	assert_non_null(strstr(err, "only a node frame may carry host"));
	free(buf);
	fl_proto_frame_free(&f);
}

/* The example in FORMAT.md section 6, byte for byte: a heartbeat signed with the 32 ASCII bytes
 * "format-md-example-key-0123456789". */
static void test_heartbeat_encodes_to_the_bytes_in_format_md(void **state)
{
	static const char key[] = "format-md-example-key-0123456789";
	static const unsigned char want[] = {
	    0x93, /* array of 3 */
	    0x86, 0xa1, 0x76, 0x01, 0xa7, 0x63, 0x6c, 0x75, 0x73, 0x74, 0x65, 0x72, 0xa1, 0x61, 0xa5, 0x73, 0x70,
	    0x6f, 0x6b, 0x65, 0xa1, 0x62, 0xa3, 0x73, 0x65, 0x71, 0x05, 0xa4, 0x73, 0x65, 0x6e, 0x74, 0x00, 0xa4,
	    0x6b, 0x69, 0x6e, 0x64, 0xa9, 0x68, 0x65, 0x61, 0x72, 0x74, 0x62, 0x65, 0x61, 0x74, /* envelope */
	    0x80,                                                                               /* payload */
	    0xc4, 0x20, 0x0d, 0x3d, 0xd3, 0x97, 0x6f, 0x73, 0x9e, 0xa5, 0x08, 0xdd, 0xc9, 0xba, 0xb9, 0x14, 0xc1,
	    0x13, 0x8d, 0x11, 0x10, 0xb9, 0x85, 0xb7, 0x19, 0x47, 0x7d, 0x68, 0x5a, 0xc0, 0x67, 0xc0, 0x6d, 0x23};
	fl_proto_frame f = {
	    .env = {.version = 1, .cluster = "a", .spoke_id = "b", .seq = 5, .kind = FL_FRAME_HEARTBEAT}};
	fl_proto_frame out;
	char err[FL_ERR_LEN];
	char *buf = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(sizeof(key) - 1, 32);
	assert_int_equal(fl_proto_encode(&f, (const uint8_t *)key, sizeof(key) - 1, &buf, &len, err), FL_OK);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	assert_int_equal(fl_proto_decode(want, sizeof(want), &out, err), FL_OK);
	assert_int_equal(out.signed_off, 1);
	assert_int_equal(out.signed_len, 49);
	assert_true(fl_proto_verify(want, sizeof(want), &out, (const uint8_t *)key, sizeof(key) - 1));
	fl_proto_frame_free(&out);
	free(buf);
}

static void test_handmade_frame_decodes_to_the_written_values(void **state)
{
	msgpack_sbuffer sb;
	fl_proto_frame f;
	char err[FL_ERR_LEN] = "";

	(void)state;
	memset(&g_bad, 0, sizeof(g_bad));
	build(&sb);
	assert_int_equal(fl_proto_decode(sb.data, sb.size, &f, err), FL_OK);
	msgpack_sbuffer_destroy(&sb);
	assert_string_equal(f.env.cluster, "gpu-a");
	assert_string_equal(f.env.spoke_id, "spoke-1");
	assert_int_equal(f.env.seq, 7);
	assert_int_equal(f.env.sent_at_ms, 1700000000000);
	assert_int_equal(f.env.kind, FL_FRAME_FULL);
	assert_string_equal(f.facts.source, "kube");
	assert_int_equal(f.n_nodes, 1);
	assert_string_equal(f.nodes[0].name, "node-0");
	assert_int_equal(f.nodes[0].gpu_allocation, 4);
	assert_true(f.nodes[0].has_utilization);
	assert_double_equal(f.nodes[0].gpu_utilization, 55.5);
	assert_false(f.nodes[0].unschedulable);
	assert_true(f.nodes[0].faulty);
	assert_int_equal(f.nodes[0].memory_bytes, 1099511627776);
	assert_int_equal(f.nodes[0].n_taints, 1);
	assert_string_equal(f.nodes[0].taints[0].effect, "NoSchedule");
	assert_int_equal(f.n_gpus, 1);
	assert_int_equal(f.gpus[0].gpu_id, 3);
	assert_false(f.gpus[0].has_utilization);
	assert_double_equal(f.gpus[0].temperature, 55); /* an integer where a float goes */
	assert_int_equal(f.gpus[0].numa, -1);
	assert_int_equal(f.overview.busy_nodes, 4);
	assert_double_equal(f.overview.total_inodes, 1000000);
	assert_double_equal(f.overview.total_rx, 2e10);
	assert_int_equal(f.overview.unknown, FL_OV_TOTAL_RX | FL_OV_UTILIZATION);
	fl_proto_frame_free(&f);
}

static void float32_55(msgpack_packer *pk)
{
	msgpack_pack_float(pk, 55.25f);
}
static void seq_as_int64(msgpack_packer *pk)
{
	/* 7 in the widest signed encoding (0xd3): still a valid unsigned value */
	pk->callback(pk->data, "\xd3\x00\x00\x00\x00\x00\x00\x00\x07", 9);
}

static void test_decode_accepts_float32_and_wide_int_encodings(void **state)
{
	msgpack_sbuffer sb;
	fl_proto_frame f;
	char err[FL_ERR_LEN] = "";

	(void)state;
	memset(&g_bad, 0, sizeof(g_bad));
	g_bad.sec = "node";
	g_bad.key = "gpu_utilization";
	g_bad.bad = float32_55;
	build(&sb);
	assert_int_equal(fl_proto_decode(sb.data, sb.size, &f, err), FL_OK);
	assert_double_equal(f.nodes[0].gpu_utilization, 55.25);
	msgpack_sbuffer_destroy(&sb);
	fl_proto_frame_free(&f);

	g_bad.sec = "envelope";
	g_bad.key = "seq";
	g_bad.bad = seq_as_int64;
	build(&sb);
	assert_int_equal(fl_proto_decode(sb.data, sb.size, &f, err), FL_OK);
	assert_int_equal(f.env.seq, 7);
	msgpack_sbuffer_destroy(&sb);
	fl_proto_frame_free(&f);
	memset(&g_bad, 0, sizeof(g_bad));
}

static void test_decode_ignores_unknown_keys(void **state)
{
	static const char *const secs[] = {"envelope", "payload", "facts", "node", "taint", "gpu", "overview"};
	msgpack_sbuffer sb;
	fl_proto_frame f;
	char err[FL_ERR_LEN] = "";

	(void)state;
	for (size_t i = 0; i < NKV(secs); i++) {
		memset(&g_bad, 0, sizeof(g_bad));
		g_bad.sec = secs[i];
		g_bad.extra = "added_in_v1_5";
		g_bad.n_extra = 1;
		build(&sb);
		if (fl_proto_decode(sb.data, sb.size, &f, err) != FL_OK) {
			fail_msg("unknown key in %s: %s", secs[i], err);
		}
		assert_string_equal(f.nodes[0].taints[0].key, "amd.com/gpu");
		assert_int_equal(f.overview.total_nodes, 10);
		msgpack_sbuffer_destroy(&sb);
		fl_proto_frame_free(&f);
	}
	memset(&g_bad, 0, sizeof(g_bad));
}

static void test_ack_round_trips_each_status(void **state)
{
	static const fl_ack_status statuses[] = {FL_ACK_OK, FL_ACK_DUPLICATE, FL_ACK_REJECTED, FL_ACK_RETRY};
	char err[FL_ERR_LEN] = "";

	(void)state;
	for (size_t i = 0; i < NKV(statuses); i++) {
		fl_proto_ack in = {.seq = 1000 + i, .status = statuses[i]}, out;
		char *buf = NULL;
		size_t len = 0;

		snprintf(in.reason, sizeof(in.reason), "reason %zu", i);
		assert_int_equal(fl_proto_ack_encode(&in, &buf, &len), FL_OK);
		assert_true(len <= FL_PROTO_MAX_ACK_BYTES);
		assert_int_equal(fl_proto_ack_decode(buf, len, &out, err), FL_OK);
		assert_int_equal(out.seq, in.seq);
		assert_int_equal(out.status, statuses[i]);
		assert_string_equal(out.reason, in.reason);
		free(buf);
	}

	/* the longest reason (127 bytes) fits */
	fl_proto_ack in = {.seq = INT64_MAX, .status = FL_ACK_REJECTED}, out;
	char *buf = NULL;
	size_t len = 0;
	memset(in.reason, 'r', sizeof(in.reason) - 1);
	assert_int_equal(fl_proto_ack_encode(&in, &buf, &len), FL_OK);
	assert_int_equal(fl_proto_ack_decode(buf, len, &out, err), FL_OK);
	assert_int_equal(strlen(out.reason), 127);
	assert_int_equal(out.seq, INT64_MAX);
	free(buf);
}

static void test_ack_encode_refuses_bad_status_and_unterminated_reason(void **state)
{
	fl_proto_ack a = {.seq = 1, .status = (fl_ack_status)9};
	char *buf = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(fl_proto_ack_encode(&a, &buf, &len), FL_EINVAL);
	assert_null(buf);
	a.status = FL_ACK_OK;
	memset(a.reason, 'x', sizeof(a.reason));
	assert_int_equal(fl_proto_ack_encode(&a, &buf, &len), FL_EINVAL);
	assert_null(buf);
}

static void test_ack_decode_rejects_unknown_status_long_reason_and_big_input(void **state)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	fl_proto_ack out;
	char err[FL_ERR_LEN] = "";
	char big[FL_PROTO_MAX_ACK_BYTES + 1];

	(void)state;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 2);
	pk_str(&pk, "seq");
	msgpack_pack_int(&pk, 3);
	pk_str(&pk, "status");
	pk_str(&pk, "maybe");
	assert_int_equal(fl_proto_ack_decode(sb.data, sb.size, &out, err), FL_EPROTO);
	assert_non_null(strstr(err, "ack.status: expected ok, duplicate, rejected or retry"));
	assert_int_equal(out.seq, 0);
	msgpack_sbuffer_clear(&sb);

	msgpack_pack_map(&pk, 3);
	pk_str(&pk, "seq");
	msgpack_pack_int(&pk, 3);
	pk_str(&pk, "status");
	pk_str(&pk, "ok");
	pk_str(&pk, "reason");
	bad_str_of(&pk, 128);
	assert_int_equal(fl_proto_ack_decode(sb.data, sb.size, &out, err), FL_ELIMIT);
	assert_non_null(strstr(err, "ack.reason: string of 128 bytes"));
	msgpack_sbuffer_clear(&sb);

	msgpack_pack_map(&pk, 1);
	pk_str(&pk, "status");
	pk_str(&pk, "ok");
	assert_int_equal(fl_proto_ack_decode(sb.data, sb.size, &out, err), FL_EPROTO);
	assert_non_null(strstr(err, "ack.seq: missing"));
	msgpack_sbuffer_destroy(&sb);

	memset(big, 0xc0, sizeof(big));
	assert_int_equal(fl_proto_ack_decode(big, sizeof(big), &out, err), FL_ELIMIT);
}

/* ---- the bounded checker ---------------------------------------------------------------------- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_decode_fails_cleanly_when_truncated_at_every_byte(void **state)
{
	fl_proto_frame in, out;
	char err[FL_ERR_LEN];
	char *buf = NULL;
	size_t len = 0;

	(void)state;
	make_frame(&in);
	assert_int_equal(encode(&in, &buf, &len, err), FL_OK);
	for (size_t k = 0; k < len; k++) {
		/* a copy of exactly k bytes, so ASan sees any read past the end */
		char *cut = malloc(k ? k : 1);

		assert_non_null(cut);
		memcpy(cut, buf, k);
		err[0] = '\0';
		memset(&out, 0x5a, sizeof(out));
		int rv = fl_proto_decode(cut, k, &out, err);
		if (rv != FL_EPROTO) {
			fail_msg("truncated to %zu of %zu bytes: got %d \"%s\"", k, len, rv, err);
		}
		assert_true(err[0] != '\0');
		assert_zeroed(&out);
		free(cut);
	}
	free(buf);
	fl_proto_frame_free(&in);
}

/* Each input declares more bytes or entries than it holds; the checker must say so at once. */
static void test_decode_rejects_array32_header_larger_than_input(void **state)
{
	static const struct {
		const char *bytes;
		size_t len;
		const char *want;
	} cases[] = {
	    {"\xdd\x01\x00\x00\x00", 5, "array of 16777216 entries does not fit"},
	    {"\xdd\xff\xff\xff\xff\xc0", 6, "array of 4294967295 entries"},
	    {"\xdc\xff\xff\xc0\xc0", 5, "array of 65535 entries"},
	    {"\xdf\x01\x00\x00\x00", 5, "map of 16777216 entries"},
	    {"\xde\x00\x02\xc0\xc0\xc0", 6, "map of 2 entries"}, /* 4 values needed, 3 present */
	    {"\x92\x81\xc0", 3, "map of 1 entries"},
	    {"\xdb\x7f\xff\xff\xff", 5, "string longer than the input left"},
	    {"\xda\xff\xff"
	     "abc",
	     6, "string longer than the input left"},
	    {"\xd9\x05"
	     "abcd",
	     6, "string longer than the input left"},
	    {"\xc6\xff\xff\xff\xff", 5, "binary longer than the input left"},
	    {"\xc9\xff\xff\xff\xff\x01", 6, "ext"},
	    {"\xd8\x01\x00", 3, "ext longer than the input left"},
	    {"\x91\xdd\x01\x00\x00\x00", 6, "array of 16777216 entries does not fit"},
	    {"\xcf\x00\x00", 3, "input ends inside a value header"},
	};
	char err[FL_ERR_LEN];
	fl_proto_frame f;

	(void)state;
	for (size_t i = 0; i < NKV(cases); i++) {
		double t0 = now_s();
		int rv = fl_proto_check(cases[i].bytes, cases[i].len, err);

		if (rv != FL_EPROTO || strstr(err, cases[i].want) == NULL) {
			fail_msg("case %zu: got %d \"%s\", want \"%s\"", i, rv, err, cases[i].want);
		}
		assert_int_equal(fl_proto_decode(cases[i].bytes, cases[i].len, &f, err), FL_EPROTO);
		assert_zeroed(&f);
		assert_true(now_s() - t0 < 0.05); /* no reservation, no walk over declared entries */
	}
}

static void test_check_rejects_nesting_deeper_than_32(void **state)
{
	unsigned char buf[FL_PROTO_MAX_DEPTH + 2];
	char err[FL_ERR_LEN];
	fl_proto_frame f;

	(void)state;
	memset(buf, 0x91, sizeof(buf)); /* [[[[ ... nil ]]]] */
	buf[FL_PROTO_MAX_DEPTH] = 0xc0;
	assert_int_equal(fl_proto_check(buf, FL_PROTO_MAX_DEPTH + 1, err), FL_OK); /* exactly 32 levels */
	buf[FL_PROTO_MAX_DEPTH] = 0x91;
	buf[FL_PROTO_MAX_DEPTH + 1] = 0xc0;
	assert_int_equal(fl_proto_check(buf, sizeof(buf), err), FL_ELIMIT);
	assert_non_null(strstr(err, "byte 32: nested deeper than 32 levels"));
	assert_int_equal(fl_proto_decode(buf, sizeof(buf), &f, err), FL_ELIMIT);
	assert_zeroed(&f);

	/* maps count as levels too: {0: {0: ... {0: nil} ... }} */
	unsigned char maps[2 * (FL_PROTO_MAX_DEPTH + 1) + 1];
	for (size_t i = 0; i <= FL_PROTO_MAX_DEPTH; i++) {
		maps[2 * i] = 0x81;
		maps[2 * i + 1] = 0x00;
	}
	maps[sizeof(maps) - 1] = 0xc0;
	assert_int_equal(fl_proto_check(maps, sizeof(maps), err), FL_ELIMIT);
	assert_int_equal(fl_proto_check(maps + 2, sizeof(maps) - 2, err), FL_OK);
}

static void put_array32(unsigned char *p, uint32_t n)
{
	p[0] = 0xdd;
	p[1] = (unsigned char)(n >> 24);
	p[2] = (unsigned char)(n >> 16);
	p[3] = (unsigned char)(n >> 8);
	p[4] = (unsigned char)n;
}

static void test_check_rejects_more_objects_than_the_element_budget(void **state)
{
	uint32_t n = FL_PROTO_MAX_ELEMENTS; /* the array itself plus n nils is one object too many */
	unsigned char *buf = malloc(5 + (size_t)n);
	char err[FL_ERR_LEN];
	int rv;

	(void)state;
	assert_non_null(buf);
	put_array32(buf, n);
	memset(buf + 5, 0xc0, n);
	rv = fl_proto_check(buf, 5 + (size_t)n, err);
	put_array32(buf, n - 1); /* exactly at the budget */
	int rv_at = fl_proto_check(buf, 5 + (size_t)n - 1, NULL);
	free(buf);
	assert_int_equal(rv, FL_ELIMIT);
	assert_non_null(strstr(err, "more than 16777216 msgpack objects"));
	assert_int_equal(rv_at, FL_OK);
}

static void test_check_rejects_input_larger_than_the_frame_limit(void **state)
{
	size_t len = (size_t)FL_PROTO_MAX_FRAME_BYTES + 1;
	char *buf = calloc(1, len); /* never touched: the size alone is refused */
	char err[FL_ERR_LEN];

	(void)state;
	assert_non_null(buf);
	int rv = fl_proto_check(buf, len, err);
	free(buf);
	assert_int_equal(rv, FL_ELIMIT);
	assert_string_equal(err, "frame: 67108865 bytes, more than the 67108864 allowed");
	assert_int_equal(fl_proto_check("", 0, err), FL_EPROTO);
	assert_int_equal(fl_proto_check(NULL, 0, err), FL_EPROTO);
}

static void test_decode_rejects_trailing_bytes(void **state)
{
	fl_proto_frame in, out;
	char err[FL_ERR_LEN];
	char *buf = NULL;
	size_t len = 0;

	(void)state;
	make_frame(&in);
	assert_int_equal(encode(&in, &buf, &len, err), FL_OK);
	char *longer = malloc(len + 1);
	assert_non_null(longer);
	memcpy(longer, buf, len);
	longer[len] = (char)0xc0;
	assert_int_equal(fl_proto_decode(longer, len + 1, &out, err), FL_EPROTO);
	assert_string_equal(err, "frame: 1 trailing bytes after the value");
	assert_zeroed(&out);
	free(longer);
	free(buf);
	fl_proto_frame_free(&in);
}

static void test_decode_rejects_reserved_byte_c1(void **state)
{
	(void)state;
	expect_decode_error("node", "ip", bad_reserved_c1, FL_EPROTO, "reserved byte 0xc1");
	assert_int_equal(fl_proto_check("\xc1", 1, NULL), FL_EPROTO);
}

/* ---- field validation ------------------------------------------------------------------------- */

static void test_decode_rejects_wrong_types_per_field(void **state)
{
	static const struct {
		const char *sec, *key;
		void (*bad)(msgpack_packer *);
		const char *want;
	} cases[] = {
	    {"envelope", "v", bad_str, "envelope.v: expected version 1"},
	    {"envelope", "cluster", bad_int, "envelope.cluster: expected a string, got integer"},
	    {"envelope", "spoke", bad_nil, "envelope.spoke: expected a string, got nil"},
	    {"envelope", "seq", bad_str, "envelope.seq: expected an integer >= 1, got string"},
	    {"envelope", "seq", bad_float, "envelope.seq: expected an integer >= 1, got float"},
	    {"envelope", "seq", bad_zero, "envelope.seq: expected an integer >= 1, got 0"},
	    {"envelope", "seq", bad_uint64_max, "envelope.seq: expected an integer >= 1, got 18446744073709551615"},
	    {"envelope", "sent", bad_true, "envelope.sent: expected an integer, got boolean"},
	    {"envelope", "sent", bad_uint64_max, "envelope.sent: expected an integer"},
	    {"envelope", "kind", bad_int, "envelope.kind: expected a string, got integer"},
	    {"payload", "facts", bad_array, "facts: expected a map, got array"},
	    {"payload", "nodes", bad_map, "nodes: expected an array, got map"},
	    {"payload", "gpus", bad_str, "gpus: expected an array, got string"},
	    {"payload", "overview", bad_nil, "overview: expected a map, got nil"},
	    {"facts", "source", bad_int, "facts.source: expected a string, got integer"},
	    {"node", "name", bad_int, "nodes[0].name: expected a string, got integer"},
	    {"node", "name", bad_empty_str, "nodes[0].name: must not be empty"},
	    {"node", "ip", bad_bin, "nodes[0].ip: expected a string, got binary"},
	    {"node", "gpu_count", bad_str, "nodes[0].gpu_count: expected a non-negative integer, got string"},
	    {"node", "gpu_count", bad_float, "nodes[0].gpu_count: expected a non-negative integer, got float"},
	    {"node", "gpu_allocation", bad_minus_one,
	     "nodes[0].gpu_allocation: expected a non-negative integer, got -1"},
	    {"node", "gpu_utilization", bad_str,
	     "nodes[0].gpu_utilization: expected a finite number or nil, got string"},
	    {"node", "gpu_utilization", bad_inf32,
	     "nodes[0].gpu_utilization: expected a finite number or nil, got infinity"},
	    {"node", "unschedulable", bad_int, "nodes[0].unschedulable: expected a boolean, got integer"},
	    {"node", "faulty", bad_nil, "nodes[0].faulty: expected a boolean, got nil"},
	    {"node", "memory_bytes", bad_uint64_max, "nodes[0].memory_bytes: expected a non-negative integer"},
	    {"node", "status", bad_nul_in_str, "nodes[0].status: string contains a NUL byte"},
	    {"node", "os_image", bad_utf8, "nodes[0].os_image: string is not valid UTF-8"},
	    {"taint", "value", bad_utf8_surrogate, "nodes[0].taints[0].value: string is not valid UTF-8"},
	    {"node", "taints", bad_map, "nodes[0].taints: expected an array, got map"},
	    {"taint", "key", bad_int, "nodes[0].taints[0].key: expected a string, got integer"},
	    {"gpu", "node", bad_empty_str, "gpus[0].node: must not be empty"},
	    {"gpu", "gpu_id", bad_minus_one, "gpus[0].gpu_id: expected a non-negative integer, got -1"},
	    {"gpu", "gpu_id", bad_int32_overflow, "gpus[0].gpu_id: expected a non-negative integer, got 2147483648"},
	    {"gpu", "utilization", bad_true, "gpus[0].utilization: expected a finite number or nil, got boolean"},
	    {"gpu", "temperature", bad_nil, "gpus[0].temperature: expected a finite number, got nil"},
	    {"gpu", "numa", bad_minus_two, "gpus[0].numa: expected an integer >= -1, got -2"},
	    {"overview", "total_nodes", bad_minus_one, "overview.total_nodes: expected a non-negative integer, got -1"},
	    {"overview", "utilization", bad_str, "overview.utilization: expected a finite number, got string"},
	    {"overview", "total_rx", bad_nan, "overview.total_rx: expected a finite number, got NaN"},
	    {"overview", "unknown", bad_map, "overview.unknown: expected an array, got map"},
	    {"overview", "unknown", bad_int, "overview.unknown: expected an array, got integer"},
	};

	(void)state;
	for (size_t i = 0; i < NKV(cases); i++) {
		expect_decode_error(cases[i].sec, cases[i].key, cases[i].bad, FL_EPROTO, cases[i].want);
	}
}

static void test_decode_rejects_missing_required_keys(void **state)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	fl_proto_frame f;
	char err[FL_ERR_LEN];

	(void)state;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 3);
	msgpack_pack_map(&pk, 5); /* no "kind" */
	for (size_t i = 0; i < 5; i++) {
		pk_str(&pk, env_kv[i].key);
		write_value(&pk, "envelope", &env_kv[i]);
	}
	msgpack_pack_map(&pk, 0);
	sign(&sb, &pk);
	assert_int_equal(fl_proto_decode(sb.data, sb.size, &f, err), FL_EPROTO);
	assert_string_equal(err, "envelope.kind: missing");
	assert_zeroed(&f);
	msgpack_sbuffer_destroy(&sb);
}

static void test_decode_rejects_bad_version(void **state)
{
	(void)state;
	expect_decode_error("envelope", "v", bad_two, FL_EPROTO,
	                    "envelope.v: expected version 1 (the only one this decoder speaks), got 2");
	expect_decode_error("envelope", "v", bad_zero, FL_EPROTO, "envelope.v: expected version 1");
}

static void test_decode_rejects_bad_kind(void **state)
{
	(void)state;
	expect_decode_error("envelope", "kind", bad_kind, FL_EPROTO,
	                    "envelope.kind: expected full, delta or heartbeat, got \"snapshot\"");
	expect_decode_error("envelope", "kind", bad_empty_str, FL_EPROTO, "envelope.kind: expected full");
}

static void test_decode_rejects_bad_cluster_name(void **state)
{
	(void)state;
	expect_decode_error("envelope", "cluster", bad_name_chars, FL_EPROTO,
	                    "envelope.cluster: expected 1..63 of [A-Za-z0-9._-], got \"gpu a/../b\"");
	expect_decode_error("envelope", "cluster", bad_empty_str, FL_EPROTO, "envelope.cluster: expected 1..63");
	expect_decode_error("envelope", "spoke", bad_str_64, FL_ELIMIT,
	                    "envelope.spoke: string of 64 bytes, longer than the 63 allowed");
}

static void expect_decode_ok(const char *sec, const char *key, void (*good)(msgpack_packer *))
{
	msgpack_sbuffer sb;
	fl_proto_frame f;
	char err[FL_ERR_LEN] = "";

	memset(&g_bad, 0, sizeof(g_bad));
	g_bad.sec = sec;
	g_bad.key = key;
	g_bad.bad = good;
	build(&sb);
	if (fl_proto_decode(sb.data, sb.size, &f, err) != FL_OK) {
		fail_msg("%s.%s: %s", sec, key, err);
	}
	msgpack_sbuffer_destroy(&sb);
	fl_proto_frame_free(&f);
	memset(&g_bad, 0, sizeof(g_bad));
}

static void test_decode_rejects_string_longer_than_its_field(void **state)
{
	(void)state;
	expect_decode_error("node", "name", bad_str_254, FL_ELIMIT,
	                    "nodes[0].name: string of 254 bytes, longer than the 253 allowed");
	expect_decode_error("taint", "value", bad_str_64, FL_ELIMIT,
	                    "nodes[0].taints[0].value: string of 64 bytes, longer than the 63 allowed");
	expect_decode_error("gpu", "serial", bad_str_64, FL_ELIMIT, "gpus[0].serial: string of 64 bytes");
	expect_decode_error("facts", "source", bad_str_64, FL_ELIMIT, "facts.source: string of 64 bytes");
	/* one byte shorter fits exactly */
	expect_decode_ok("node", "name", bad_str_253);
	expect_decode_ok("envelope", "cluster", bad_str_63);
}

static void test_decode_accepts_multibyte_utf8(void **state)
{
	(void)state;
	expect_decode_ok("node", "os_image", good_utf8);
}

static void test_decode_rejects_nan_float(void **state)
{
	(void)state;
	expect_decode_error("node", "gpu_utilization", bad_nan, FL_EPROTO,
	                    "nodes[0].gpu_utilization: expected a finite number or nil, got NaN");
	expect_decode_error("gpu", "power", bad_nan, FL_EPROTO, "gpus[0].power: expected a finite number, got NaN");
}

static void test_decode_rejects_negative_gpu_count(void **state)
{
	(void)state;
	expect_decode_error("node", "gpu_count", bad_minus_one, FL_EPROTO,
	                    "nodes[0].gpu_count: expected a non-negative integer, got -1");
}

static void expect_duplicate(const char *sec, const char *key, const char *extra, int n_extra, const char *want)
{
	msgpack_sbuffer sb;
	fl_proto_frame f;
	char err[FL_ERR_LEN] = "";

	memset(&g_bad, 0, sizeof(g_bad));
	g_bad.sec = sec;
	g_bad.key = key;
	g_bad.dup = key != NULL;
	g_bad.extra = extra;
	g_bad.n_extra = n_extra;
	build(&sb);
	int rv = fl_proto_decode(sb.data, sb.size, &f, err);
	msgpack_sbuffer_destroy(&sb);
	memset(&g_bad, 0, sizeof(g_bad));
	if (rv != FL_EPROTO || strcmp(err, want) != 0) {
		fail_msg("got %d \"%s\", want \"%s\"", rv, err, want);
	}
	assert_zeroed(&f);
}

static void test_decode_rejects_duplicate_key(void **state)
{
	(void)state;
	expect_duplicate("envelope", "seq", NULL, 0, "envelope.seq: duplicate key");
	expect_duplicate("node", "gpu_count", NULL, 0, "nodes[0].gpu_count: duplicate key");
	expect_duplicate("node", "taints", NULL, 0, "nodes[0].taints: duplicate key");
	expect_duplicate("payload", "nodes", NULL, 0, "nodes: duplicate key");
	expect_duplicate("gpu", "serial", NULL, 0, "gpus[0].serial: duplicate key");
	/* an unknown key twice is as ambiguous as a known one */
	expect_duplicate("overview", NULL, "future_metric", 2, "overview: duplicate key \"future_metric\"");
}

static void test_decode_rejects_array_of_other_length_than_three(void **state)
{
	static const char four[] = "\x94\x80\x80\xc0\xc0";
	static const char one[] = "\x91\x80";
	static const char map[] = "\x80";
	char err[FL_ERR_LEN];
	fl_proto_frame f;

	(void)state;
	assert_int_equal(fl_proto_decode(four, 5, &f, err), FL_EPROTO);
	assert_string_equal(err,
	                    "frame: expected an array of 3 elements [envelope, payload, signature], got array of 4");
	assert_int_equal(fl_proto_decode(one, 2, &f, err), FL_EPROTO);
	assert_int_equal(fl_proto_decode(map, 1, &f, err), FL_EPROTO);
	assert_string_equal(err, "frame: expected an array of 3 elements [envelope, payload, signature], got map");
	assert_zeroed(&f);
}

/* ---- limits ----------------------------------------------------------------------------------- */

static void test_encode_refuses_too_many_nodes(void **state)
{
	fl_proto_frame f;
	char err[FL_ERR_LEN];
	char *buf = (char *)1;
	size_t len = 1;

	(void)state;
	make_frame(&f);
	uint32_t real = f.n_nodes;
	f.n_nodes = FL_PROTO_MAX_NODES + 1; /* refused on the count, before any node is read */
	assert_int_equal(encode(&f, &buf, &len, err), FL_ELIMIT);
	assert_string_equal(err, "nodes: 20001 items, more than the 20000 allowed");
	assert_null(buf);
	assert_int_equal(len, 0);
	f.n_nodes = real;

	uint32_t real_gpus = f.n_gpus;
	f.n_gpus = FL_PROTO_MAX_GPUS + 1;
	assert_int_equal(encode(&f, &buf, &len, err), FL_ELIMIT);
	f.n_gpus = real_gpus;

	uint32_t real_taints = f.nodes[0].n_taints;
	f.nodes[0].n_taints = FL_PROTO_MAX_TAINTS + 1;
	assert_int_equal(encode(&f, &buf, &len, err), FL_ELIMIT);
	assert_string_equal(err, "nodes[0].taints: 65 items, more than the 64 allowed");
	assert_null(buf);
	f.nodes[0].n_taints = real_taints;
	fl_proto_frame_free(&f);
}

static void test_decode_refuses_more_nodes_than_the_limit(void **state)
{
	uint32_t n = FL_PROTO_MAX_NODES + 1;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	fl_proto_frame f;
	char err[FL_ERR_LEN];

	(void)state;
	memset(&g_bad, 0, sizeof(g_bad));
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 3);
	write_map(&pk, "envelope", env_kv, NKV(env_kv));
	msgpack_pack_map(&pk, 1);
	pk_str(&pk, "nodes");
	msgpack_pack_array(&pk, n);
	for (uint32_t i = 0; i < n; i++) {
		msgpack_pack_map(&pk, 1);
		pk_str(&pk, "name");
		pk_str(&pk, "n");
	}
	sign(&sb, &pk);
	assert_int_equal(fl_proto_check(sb.data, sb.size, err), FL_OK); /* well-formed, just too many */
	assert_int_equal(fl_proto_decode(sb.data, sb.size, &f, err), FL_ELIMIT);
	assert_string_equal(err, "nodes: 20001 items, more than the 20000 allowed");
	assert_zeroed(&f);
	msgpack_sbuffer_destroy(&sb);
}

static void test_encode_refuses_invalid_fields(void **state)
{
	fl_proto_frame f;
	char err[FL_ERR_LEN];
	char *buf = NULL;
	size_t len = 0;

	(void)state;
	make_frame(&f);
	f.nodes[2].gpu_count = -1;
	assert_int_equal(encode(&f, &buf, &len, err), FL_EINVAL);
	assert_string_equal(err, "nodes[2].gpu_count: -1 is outside 0..9223372036854775807");
	f.nodes[2].gpu_count = 8;
	f.gpus[1].power = NAN;
	assert_int_equal(encode(&f, &buf, &len, err), FL_EINVAL);
	assert_string_equal(err, "gpus[1].power: not a finite number");
	f.gpus[1].power = 1;
	snprintf(f.env.cluster, sizeof(f.env.cluster), "bad name");
	assert_int_equal(encode(&f, &buf, &len, err), FL_EINVAL);
	assert_string_equal(err, "envelope.cluster: expected 1..63 of [A-Za-z0-9._-]");
	snprintf(f.env.cluster, sizeof(f.env.cluster), "ok");
	f.env.seq = 0;
	assert_int_equal(encode(&f, &buf, &len, err), FL_EINVAL);
	f.env.seq = 1;
	f.env.kind = (fl_frame_kind)7;
	assert_int_equal(encode(&f, &buf, &len, err), FL_EINVAL);
	f.env.kind = FL_FRAME_DELTA;
	memset(f.nodes[1].os_image, 'x', sizeof(f.nodes[1].os_image));
	assert_int_equal(encode(&f, &buf, &len, err), FL_EINVAL);
	assert_string_equal(err, "nodes[1].os_image: not NUL-terminated within its 128 bytes");
	assert_null(buf);
	snprintf(f.nodes[1].os_image, sizeof(f.nodes[1].os_image), "bad \xff byte");
	assert_int_equal(encode(&f, &buf, &len, err), FL_EINVAL);
	assert_string_equal(err, "nodes[1].os_image: not valid UTF-8");
	f.nodes[1].os_image[0] = '\0';
	assert_int_equal(encode(&f, &buf, &len, err), FL_OK);
	free(buf);
	fl_proto_frame_free(&f);
}

/* ---- names and JSON --------------------------------------------------------------------------- */

static void test_kind_names_round_trip_and_names_are_checked(void **state)
{
	(void)state;
	assert_string_equal(fl_proto_kind_name(FL_FRAME_FULL), "full");
	assert_string_equal(fl_proto_kind_name(FL_FRAME_DELTA), "delta");
	assert_string_equal(fl_proto_kind_name(FL_FRAME_HEARTBEAT), "heartbeat");
	assert_null(fl_proto_kind_name((fl_frame_kind)0));
	assert_int_equal(fl_proto_kind_parse("delta", 5), FL_FRAME_DELTA);
	assert_int_equal(fl_proto_kind_parse("heartbeatX", 9), FL_FRAME_HEARTBEAT);
	assert_int_equal(fl_proto_kind_parse("ful", 3), 0);
	assert_int_equal(fl_proto_kind_parse(NULL, 0), 0);

	char longest[FL_CLUSTER_LEN];
	memset(longest, 'a', sizeof(longest));
	longest[FL_CLUSTER_LEN - 1] = '\0';
	assert_true(fl_proto_valid_name(longest));
	assert_true(fl_proto_valid_name("A-z_0.9"));
	assert_false(fl_proto_valid_name(""));
	assert_false(fl_proto_valid_name(NULL));
	assert_false(fl_proto_valid_name("a b"));
	assert_false(fl_proto_valid_name("a/b"));
	assert_false(fl_proto_valid_name("caf\xc3\xa9"));
	char too_long[FL_CLUSTER_LEN + 1];
	memset(too_long, 'a', sizeof(too_long));
	too_long[FL_CLUSTER_LEN] = '\0';
	assert_false(fl_proto_valid_name(too_long));
}

static void assert_json(json_t *j, const char *want)
{
	char *s;

	assert_non_null(j);
	s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
	assert_non_null(s);
	if (strcmp(s, want) != 0) {
		fail_msg("got  %s\nwant %s", s, want);
	}
	free(s);
	json_decref(j);
}

static void test_json_views_use_lens_names(void **state)
{
	fl_proto_frame f;

	(void)state;
	make_frame(&f);
	assert_json(fl_proto_overview_to_json(&f.overview),
	            "{\"totalNodes\":3,\"healthyNodes\":1,\"faultyNodes\":2,\"fullyIdleNodes\":0,"
	            "\"partiallyIdleNodes\":1,\"busyNodes\":0,\"allocationRate\":37.5,\"utilization\":35.75,"
	            "\"total_space\":1500000000000000.0,\"used_space\":325000000000000.0,"
	            "\"usage_percentage\":21.666666666666668,\"total_inodes\":1000000000.0,\"used_inodes\":12345678.0,"
	            "\"inodes_usage_percentage\":1.2345678,\"read_bandwidth\":1250000000.0,"
	            "\"write_bandwidth\":750000000.0,\"total_tx\":33000000000.0,\"total_rx\":44000000000.0,"
	            "\"gpusAllocatable\":24,\"gpusAllocated\":9,\"unknown\":[]}");
	f.overview.unknown = FL_OV_UTILIZATION | FL_OV_TOTAL_TX;
	assert_json(fl_proto_overview_to_json(&f.overview),
	            "{\"totalNodes\":3,\"healthyNodes\":1,\"faultyNodes\":2,\"fullyIdleNodes\":0,"
	            "\"partiallyIdleNodes\":1,\"busyNodes\":0,\"allocationRate\":37.5,\"utilization\":null,"
	            "\"total_space\":1500000000000000.0,\"used_space\":325000000000000.0,"
	            "\"usage_percentage\":21.666666666666668,\"total_inodes\":1000000000.0,\"used_inodes\":12345678.0,"
	            "\"inodes_usage_percentage\":1.2345678,\"read_bandwidth\":1250000000.0,"
	            "\"write_bandwidth\":750000000.0,\"total_tx\":null,\"total_rx\":44000000000.0,"
	            "\"gpusAllocatable\":24,\"gpusAllocated\":9,\"unknown\":[\"utilization\",\"total_tx\"]}");
	f.overview.unknown = 0;
	assert_json(fl_proto_node_to_json(&f.nodes[1]),
	            "{\"name\":\"node-1\",\"ip\":\"10.0.0.2\",\"gpu_name\":\"AMD Instinct MI300X\",\"gpu_count\":8,"
	            "\"gpu_allocation\":3,\"gpu_utilization\":null,\"status\":\"Ready\",\"unschedulable\":false,"
	            "\"faulty\":false,\"cpu_millis\":192000,\"memory_bytes\":2199023255552,"
	            "\"kubelet_version\":\"v1.29.3\",\"os_image\":\"Ubuntu 22.04.4 LTS\","
	            "\"kernel_version\":\"5.15.0-105-generic\",\"container_runtime\":\"containerd://1.7.2\","
	            "\"taints\":[]}");
	json_t *n0 = fl_proto_node_to_json(&f.nodes[0]);
	assert_non_null(n0);
	assert_true(json_real_value(json_object_get(n0, "gpu_utilization")) == 12.5);
	json_t *t = json_array_get(json_object_get(n0, "taints"), 1);
	assert_string_equal(json_string_value(json_object_get(t, "key")), "node.kubernetes.io/unschedulable");
	assert_string_equal(json_string_value(json_object_get(t, "effect")), "NoSchedule");
	json_decref(n0);
	assert_json(fl_proto_gpu_to_json(&f.gpus[3]),
	            "{\"node\":\"node-1\",\"gpu_id\":1,\"gpu_model\":\"MI300X\",\"memory_mib\":196608,"
	            "\"utilization\":null,\"temperature\":55.5,\"power\":712.125,\"serial\":\"SN-0003\",\"numa\":3}");

	json_t *j = fl_proto_frame_to_json(&f);
	assert_non_null(j);
	json_t *env = json_object_get(j, "envelope");
	assert_int_equal(json_integer_value(json_object_get(env, "version")), 1);
	assert_string_equal(json_string_value(json_object_get(env, "cluster")), "gpu-a.prod_1");
	assert_string_equal(json_string_value(json_object_get(env, "spoke")), "spoke-7f3a");
	assert_int_equal(json_integer_value(json_object_get(env, "seq")), 42);
	assert_int_equal(json_integer_value(json_object_get(env, "sent_at_ms")), 1764000000123);
	assert_string_equal(json_string_value(json_object_get(env, "kind")), "full");
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "facts"), "source")), "sim");
	assert_int_equal(json_array_size(json_object_get(j, "nodes")), 3);
	assert_int_equal(json_array_size(json_object_get(j, "gpus")), 4);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "overview"), "gpusAllocated")), 9);
	json_decref(j);

	f.has_facts = false;
	f.has_overview = false;
	j = fl_proto_frame_to_json(&f);
	assert_true(json_is_null(json_object_get(j, "facts")));
	assert_true(json_is_null(json_object_get(j, "overview")));
	json_decref(j);
	fl_proto_frame_free(&f);
}

/* ---- signatures ------------------------------------------------------------------------------- */

static const char other_key[] = "another-cluster-key-0123456789abcdef";

static void test_signed_frame_round_trips_and_verifies(void **state)
{
	fl_proto_frame in, out;
	char err[FL_ERR_LEN] = "";
	char *buf = NULL;
	size_t len = 0;
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	(void)state;
	make_frame(&in);
	assert_int_equal(encode(&in, &buf, &len, err), FL_OK);
	assert_int_equal((unsigned char)buf[0], 0x93); /* [envelope, payload, signature] */
	assert_int_equal(fl_proto_decode(buf, len, &out, err), FL_OK);
	assert_frames_equal(&in, &out);
	/* the signed bytes run from after the array header to the bin8 header of the signature */
	assert_int_equal(out.signed_off, 1);
	assert_int_equal(out.signed_len, len - 1 - 2 - FL_PROTO_SIG_LEN);
	assert_int_equal((unsigned char)buf[len - 34], 0xc4);
	assert_int_equal((unsigned char)buf[len - 33], FL_PROTO_SIG_LEN);
	assert_memory_equal(out.sig, buf + len - FL_PROTO_SIG_LEN, FL_PROTO_SIG_LEN);
	/* the signature is HMAC-SHA256 as OpenSSL computes it, independently of fl_proto */
	assert_non_null(
	    HMAC(EVP_sha256(), test_key, (int)sizeof(test_key) - 1, (unsigned char *)buf + 1, out.signed_len, mac, &n));
	assert_int_equal(n, FL_PROTO_SIG_LEN);
	assert_memory_equal(out.sig, mac, FL_PROTO_SIG_LEN);
	assert_true(fl_proto_verify(buf, len, &out, TEST_KEY));
	free(buf);
	fl_proto_frame_free(&out);
	fl_proto_frame_free(&in);
}

static void test_verify_fails_with_a_wrong_key(void **state)
{
	fl_proto_frame in, out;
	char err[FL_ERR_LEN] = "";
	char *buf = NULL;
	size_t len = 0;
	char near[sizeof(test_key)];

	(void)state;
	make_frame(&in);
	assert_int_equal(encode(&in, &buf, &len, err), FL_OK);
	assert_int_equal(fl_proto_decode(buf, len, &out, err), FL_OK);
	assert_false(fl_proto_verify(buf, len, &out, (const uint8_t *)other_key, sizeof(other_key) - 1));
	memcpy(near, test_key, sizeof(near));
	near[sizeof(near) - 2] ^= 1; /* the last key byte differs */
	assert_false(fl_proto_verify(buf, len, &out, (const uint8_t *)near, sizeof(near) - 1));
	/* the right key's first 32 bytes are another key */
	assert_false(fl_proto_verify(buf, len, &out, (const uint8_t *)test_key, 32));
	/* a key shorter than 32 bytes verifies nothing, NULL arguments neither */
	assert_false(fl_proto_verify(buf, len, &out, (const uint8_t *)test_key, 31));
	assert_false(fl_proto_verify(buf, len, &out, NULL, 0));
	assert_false(fl_proto_verify(NULL, len, &out, TEST_KEY));
	assert_false(fl_proto_verify(buf, len, NULL, TEST_KEY));
	/* a signed region that does not lie inside the buffer */
	assert_false(fl_proto_verify(buf, out.signed_len, &out, TEST_KEY));
	assert_true(fl_proto_verify(buf, len, &out, TEST_KEY));
	free(buf);
	fl_proto_frame_free(&out);
	fl_proto_frame_free(&in);
}

static void test_encode_refuses_a_key_outside_32_to_1024_bytes(void **state)
{
	fl_proto_frame f = {.env = {.cluster = "a", .spoke_id = "b", .seq = 1, .kind = FL_FRAME_HEARTBEAT}};
	static uint8_t big[FL_KEY_MAX_LEN + 1];
	char err[FL_ERR_LEN];
	char *buf = (char *)1;
	size_t len = 1;

	(void)state;
	assert_int_equal(fl_proto_encode(&f, (const uint8_t *)test_key, 31, &buf, &len, err), FL_EINVAL);
	assert_string_equal(err, "fl_proto_encode: a signing key of 32..1024 bytes is required");
	assert_null(buf);
	assert_int_equal(len, 0);
	assert_int_equal(fl_proto_encode(&f, NULL, 32, &buf, &len, err), FL_EINVAL);
	assert_int_equal(fl_proto_encode(&f, big, sizeof(big), &buf, &len, err), FL_EINVAL);
	assert_int_equal(fl_proto_encode(&f, big, FL_KEY_MAX_LEN, &buf, &len, err), FL_OK);
	free(buf);
	assert_int_equal(fl_proto_encode(&f, (const uint8_t *)test_key, 32, &buf, &len, err), FL_OK);
	free(buf);
}

/* Every single-byte change in the signed region either makes the frame undecodable or fails
 * verification; none decodes to a frame that verifies. */
static void test_verify_fails_after_flipping_any_signed_byte(void **state)
{
	fl_proto_frame in, out;
	char err[FL_ERR_LEN] = "";
	char *buf = NULL;
	size_t len = 0, decoded = 0;

	(void)state;
	make_frame(&in);
	assert_int_equal(encode(&in, &buf, &len, err), FL_OK);
	for (size_t off = 1; off < len - 2 - FL_PROTO_SIG_LEN; off++) {
		static const unsigned char flips[] = {0x01, 0x20, 0x80};

		for (size_t k = 0; k < sizeof(flips); k++) {
			buf[off] ^= (char)flips[k];
			if (fl_proto_decode(buf, len, &out, err) == FL_OK) {
				decoded++;
				if (fl_proto_verify(buf, len, &out, TEST_KEY)) {
					fail_msg("byte %zu ^ 0x%02x: a changed frame still verifies", off, flips[k]);
				}
				fl_proto_frame_free(&out);
			}
			buf[off] ^= (char)flips[k];
		}
	}
	assert_true(decoded > len / 2); /* most changes (inside strings, numbers) still decode */
	assert_int_equal(fl_proto_decode(buf, len, &out, err), FL_OK);
	assert_true(fl_proto_verify(buf, len, &out, TEST_KEY));
	fl_proto_frame_free(&out);
	free(buf);
	fl_proto_frame_free(&in);
}

static void test_verify_fails_after_flipping_a_signature_byte(void **state)
{
	fl_proto_frame in, out;
	char err[FL_ERR_LEN] = "";
	char *buf = NULL;
	size_t len = 0;

	(void)state;
	make_frame(&in);
	assert_int_equal(encode(&in, &buf, &len, err), FL_OK);
	for (size_t off = len - FL_PROTO_SIG_LEN; off < len; off++) {
		buf[off] ^= 0x01;
		assert_int_equal(fl_proto_decode(buf, len, &out, err), FL_OK);
		assert_false(fl_proto_verify(buf, len, &out, TEST_KEY));
		fl_proto_frame_free(&out);
		buf[off] ^= 0x01;
	}
	free(buf);
	fl_proto_frame_free(&in);
}

/* A frame as v1 wrote it before issue 4, [envelope, payload], is refused, and the error says why. */
static void test_decode_rejects_an_unsigned_two_element_frame(void **state)
{
	fl_proto_frame in, out;
	char err[FL_ERR_LEN] = "";
	char *buf = NULL;
	size_t len = 0;

	(void)state;
	make_frame(&in);
	assert_int_equal(encode(&in, &buf, &len, err), FL_OK);
	buf[0] = (char)0x92; /* same envelope and payload, no signature */
	len -= 2 + FL_PROTO_SIG_LEN;
	assert_int_equal(fl_proto_check(buf, len, err), FL_OK);
	memset(&out, 0x5a, sizeof(out));
	assert_int_equal(fl_proto_decode(buf, len, &out, err), FL_EPROTO);
	assert_string_equal(err, "frame: expected an array of 3 elements [envelope, payload, signature], got array of "
	                         "2 (an unsigned frame: the signature is missing)");
	assert_zeroed(&out);
	free(buf);
	fl_proto_frame_free(&in);
}

static void sig_str32(msgpack_packer *pk)
{
	bad_str_of(pk, 32);
}
static void sig_nil(msgpack_packer *pk)
{
	msgpack_pack_nil(pk);
}
static void sig_bin_of(msgpack_packer *pk, size_t n)
{
	static const char zeros[64];

	msgpack_pack_bin(pk, n);
	msgpack_pack_bin_body(pk, zeros, n);
}
static void sig_bin31(msgpack_packer *pk)
{
	sig_bin_of(pk, 31);
}
static void sig_bin33(msgpack_packer *pk)
{
	sig_bin_of(pk, 33);
}
static void sig_bin32(msgpack_packer *pk)
{
	sig_bin_of(pk, 32);
}

static void test_decode_rejects_a_signature_of_wrong_type_or_length(void **state)
{
	static const struct {
		void (*sig)(msgpack_packer *);
		const char *want;
	} cases[] = {
	    {sig_str32, "signature: expected a binary of 32 bytes (HMAC-SHA256), got string"},
	    {sig_nil, "signature: expected a binary of 32 bytes (HMAC-SHA256), got nil"},
	    {sig_bin31, "signature: expected a binary of 32 bytes (HMAC-SHA256), got one of 31 bytes"},
	    {sig_bin33, "signature: expected a binary of 32 bytes (HMAC-SHA256), got one of 33 bytes"},
	};
	msgpack_sbuffer sb;
	msgpack_packer pk;
	fl_proto_frame f;
	char err[FL_ERR_LEN];

	(void)state;
	memset(&g_bad, 0, sizeof(g_bad));
	for (size_t i = 0; i < NKV(cases); i++) {
		msgpack_sbuffer_init(&sb);
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		msgpack_pack_array(&pk, 3);
		write_map(&pk, "envelope", env_kv, NKV(env_kv));
		write_map(&pk, "payload", payload_kv, NKV(payload_kv));
		cases[i].sig(&pk);
		memset(&f, 0x5a, sizeof(f));
		int rv = fl_proto_decode(sb.data, sb.size, &f, err);
		msgpack_sbuffer_destroy(&sb);
		if (rv != FL_EPROTO || strcmp(err, cases[i].want) != 0) {
			fail_msg("case %zu: got %d \"%s\", want \"%s\"", i, rv, err, cases[i].want);
		}
		assert_zeroed(&f);
	}
	/* 32 bytes of the right type decode (the shape is right) but do not verify */
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 3);
	write_map(&pk, "envelope", env_kv, NKV(env_kv));
	write_map(&pk, "payload", payload_kv, NKV(payload_kv));
	sig_bin32(&pk);
	assert_int_equal(fl_proto_decode(sb.data, sb.size, &f, err), FL_OK);
	assert_false(fl_proto_verify(sb.data, sb.size, &f, TEST_KEY));
	fl_proto_frame_free(&f);
	msgpack_sbuffer_destroy(&sb);
}

/* The handmade frame signed under another key decodes, and verifies only under that key. */
static void test_handmade_frame_verifies_only_under_its_key(void **state)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	fl_proto_frame f;
	char err[FL_ERR_LEN];

	(void)state;
	memset(&g_bad, 0, sizeof(g_bad));
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 3);
	write_map(&pk, "envelope", env_kv, NKV(env_kv));
	write_map(&pk, "payload", payload_kv, NKV(payload_kv));
	sign_with(&sb, &pk, other_key, sizeof(other_key) - 1);
	assert_int_equal(fl_proto_decode(sb.data, sb.size, &f, err), FL_OK);
	assert_false(fl_proto_verify(sb.data, sb.size, &f, TEST_KEY));
	assert_true(fl_proto_verify(sb.data, sb.size, &f, (const uint8_t *)other_key, sizeof(other_key) - 1));
	fl_proto_frame_free(&f);
	msgpack_sbuffer_destroy(&sb);
}

/* ---- removed_nodes ---------------------------------------------------------------------------- */

/* A delta: one changed node with one GPU, and two removed nodes. Release with fl_proto_frame_free. */
static void make_delta(fl_proto_frame *f)
{
	memset(f, 0, sizeof(*f));
	f->env = (fl_proto_envelope){
	    .version = 1, .cluster = "gpu-a", .spoke_id = "s1", .seq = 9, .sent_at_ms = 1, .kind = FL_FRAME_DELTA};
	f->n_nodes = 1;
	f->nodes = calloc(1, sizeof(*f->nodes));
	assert_non_null(f->nodes);
	snprintf(f->nodes[0].name, sizeof(f->nodes[0].name), "node-7");
	snprintf(f->nodes[0].status, sizeof(f->nodes[0].status), "NotReady");
	f->n_gpus = 1;
	f->gpus = calloc(1, sizeof(*f->gpus));
	assert_non_null(f->gpus);
	snprintf(f->gpus[0].node, sizeof(f->gpus[0].node), "node-7");
	f->gpus[0].numa = -1;
	f->n_removed_nodes = 2;
	f->removed_nodes = calloc(2, sizeof(*f->removed_nodes));
	assert_non_null(f->removed_nodes);
	snprintf(f->removed_nodes[0].name, sizeof(f->removed_nodes[0].name), "node-9");
	memset(f->removed_nodes[1].name, 'r', FL_NAME_LEN - 1); /* the longest name, 253 bytes */
}

static void test_delta_round_trips_removed_nodes(void **state)
{
	fl_proto_frame in, out;
	char err[FL_ERR_LEN] = "";
	char *buf = NULL;
	size_t len = 0;

	(void)state;
	make_delta(&in);
	assert_int_equal(encode(&in, &buf, &len, err), FL_OK);
	assert_int_equal(fl_proto_decode(buf, len, &out, err), FL_OK);
	assert_true(fl_proto_verify(buf, len, &out, TEST_KEY));
	assert_frames_equal(&in, &out);
	assert_int_equal(out.env.kind, FL_FRAME_DELTA);
	assert_int_equal(out.n_removed_nodes, 2);
	assert_string_equal(out.removed_nodes[0].name, "node-9");
	assert_int_equal(strlen(out.removed_nodes[1].name), FL_NAME_LEN - 1);
	assert_string_equal(out.removed_nodes[1].name, in.removed_nodes[1].name);

	json_t *j = fl_proto_frame_to_json(&out);
	assert_non_null(j);
	json_t *r = json_object_get(j, "removed_nodes");
	assert_int_equal(json_array_size(r), 2);
	assert_string_equal(json_string_value(json_array_get(r, 0)), "node-9");
	json_decref(j);
	free(buf);
	fl_proto_frame_free(&out);

	/* a delta without removals writes no removed_nodes key, and decodes to none */
	fl_proto_frame_free(&in);
	make_delta(&in);
	in.n_removed_nodes = 0;
	assert_int_equal(encode(&in, &buf, &len, err), FL_OK);
	for (size_t i = 0; i + 13 <= len; i++) {
		assert_false(memcmp(buf + i, "removed_nodes", 13) == 0);
	}
	assert_int_equal(fl_proto_decode(buf, len, &out, err), FL_OK);
	assert_int_equal(out.n_removed_nodes, 0);
	assert_null(out.removed_nodes);
	free(buf);
	fl_proto_frame_free(&out);
	fl_proto_frame_free(&in);
}

static void test_encode_refuses_removed_nodes_outside_a_delta_and_empty_names(void **state)
{
	static const fl_frame_kind kinds[] = {FL_FRAME_FULL, FL_FRAME_HEARTBEAT};
	fl_proto_frame f;
	char err[FL_ERR_LEN];
	char *buf = NULL;
	size_t len = 0;

	(void)state;
	make_delta(&f);
	for (size_t i = 0; i < NKV(kinds); i++) {
		f.env.kind = kinds[i];
		assert_int_equal(encode(&f, &buf, &len, err), FL_EINVAL);
		assert_string_equal(err, "removed_nodes: only a delta frame may remove nodes");
		assert_null(buf);
	}
	f.env.kind = FL_FRAME_DELTA;
	f.removed_nodes[1].name[0] = '\0';
	assert_int_equal(encode(&f, &buf, &len, err), FL_EINVAL);
	assert_string_equal(err, "removed_nodes[1]: expected a node name of 1..253 bytes");
	memset(f.removed_nodes[1].name, 'r', FL_NAME_LEN); /* no terminator */
	assert_int_equal(encode(&f, &buf, &len, err), FL_EINVAL);
	assert_string_equal(err, "removed_nodes[1]: expected a node name of 1..253 bytes");
	snprintf(f.removed_nodes[1].name, FL_NAME_LEN, "bad \xff");
	assert_int_equal(encode(&f, &buf, &len, err), FL_EINVAL);
	assert_string_equal(err, "removed_nodes[1]: not valid UTF-8");
	assert_null(buf);

	uint32_t real = f.n_removed_nodes;
	f.n_removed_nodes = FL_PROTO_MAX_NODES + 1; /* refused on the count, before any name is read */
	assert_int_equal(encode(&f, &buf, &len, err), FL_ELIMIT);
	assert_string_equal(err, "removed_nodes: 20001 items, more than the 20000 allowed");
	f.n_removed_nodes = real;
	fl_proto_frame_free(&f);
}

static void test_encode_refuses_a_delta_that_removes_a_node_it_upserts(void **state)
{
	fl_proto_frame f;
	char err[FL_ERR_LEN];
	char *buf = NULL;
	size_t len = 0;

	(void)state;
	make_delta(&f);
	snprintf(f.removed_nodes[1].name, FL_NAME_LEN, "node-7");
	assert_int_equal(encode(&f, &buf, &len, err), FL_EINVAL);
	assert_string_equal(err, "removed_nodes: \"node-7\" is also upserted by nodes[0]");
	snprintf(f.nodes[0].name, sizeof(f.nodes[0].name), "node-8"); /* the GPU still names node-7 */
	assert_int_equal(encode(&f, &buf, &len, err), FL_EINVAL);
	assert_string_equal(err, "removed_nodes: \"node-7\" is also upserted by gpus[0]");
	assert_null(buf);
	snprintf(f.gpus[0].node, sizeof(f.gpus[0].node), "node-8");
	assert_int_equal(encode(&f, &buf, &len, err), FL_OK);
	free(buf);
	fl_proto_frame_free(&f);
}

/* A signed frame of the given kind whose payload is {"nodes": [{"name": upsert}] (if upsert is not
 * NULL), "removed_nodes": [n names]}; names NULL means n generated names "r0", "r1", ... */
static void build_removed(msgpack_sbuffer *sb, const char *kind, const char *upsert, const char *const *names,
                          uint32_t n)
{
	msgpack_packer pk;

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 3);
	msgpack_pack_map(&pk, NKV(env_kv));
	for (size_t i = 0; i < NKV(env_kv); i++) {
		pk_str(&pk, env_kv[i].key);
		if (strcmp(env_kv[i].key, "kind") == 0) {
			pk_str(&pk, kind);
		} else {
			write_value(&pk, "envelope", &env_kv[i]);
		}
	}
	msgpack_pack_map(&pk, upsert != NULL ? 2 : 1);
	if (upsert != NULL) {
		pk_str(&pk, "nodes");
		msgpack_pack_array(&pk, 1);
		msgpack_pack_map(&pk, 1);
		pk_str(&pk, "name");
		pk_str(&pk, upsert);
	}
	pk_str(&pk, "removed_nodes");
	msgpack_pack_array(&pk, n);
	for (uint32_t i = 0; i < n; i++) {
		char gen[16];

		snprintf(gen, sizeof(gen), "r%" PRIu32, i);
		pk_str(&pk, names != NULL ? names[i] : gen);
	}
	sign(sb, &pk);
}

static void expect_removed_error(const char *kind, const char *upsert, const char *const *names, uint32_t n, int code,
                                 const char *want)
{
	msgpack_sbuffer sb;
	fl_proto_frame f;
	char err[FL_ERR_LEN] = "";

	build_removed(&sb, kind, upsert, names, n);
	memset(&f, 0x5a, sizeof(f));
	int rv = fl_proto_decode(sb.data, sb.size, &f, err);
	msgpack_sbuffer_destroy(&sb);
	if (rv != code || strcmp(err, want) != 0) {
		fail_msg("%s with %" PRIu32 " removed: got %d \"%s\", want %d \"%s\"", kind, n, rv, err, code, want);
	}
	assert_zeroed(&f);
}

static void test_decode_rejects_removed_nodes_outside_a_delta(void **state)
{
	static const char *const one[] = {"node-1"};

	(void)state;
	expect_removed_error("full", NULL, one, 1, FL_EPROTO,
	                     "removed_nodes: only a delta frame may remove nodes, this is a full frame");
	expect_removed_error("heartbeat", NULL, one, 1, FL_EPROTO,
	                     "removed_nodes: only a delta frame may remove nodes, this is a heartbeat frame");
	/* the key itself is refused, even with nothing in it */
	expect_removed_error("full", NULL, NULL, 0, FL_EPROTO,
	                     "removed_nodes: only a delta frame may remove nodes, this is a full frame");

	msgpack_sbuffer sb;
	fl_proto_frame f;
	char err[FL_ERR_LEN];
	build_removed(&sb, "delta", NULL, NULL, 0); /* an empty list is fine in a delta */
	assert_int_equal(fl_proto_decode(sb.data, sb.size, &f, err), FL_OK);
	assert_int_equal(f.n_removed_nodes, 0);
	assert_true(fl_proto_verify(sb.data, sb.size, &f, TEST_KEY));
	fl_proto_frame_free(&f);
	msgpack_sbuffer_destroy(&sb);
}

static void test_decode_rejects_bad_removed_node_names(void **state)
{
	static const char *const empty[] = {"node-1", ""};
	static const char *const utf8[] = {"caf\xc3("};
	static const char *const both[] = {"node-2", "node-1"};

	(void)state;
	expect_removed_error("delta", NULL, empty, 2, FL_EPROTO, "removed_nodes[1]: empty node name");
	expect_removed_error("delta", NULL, utf8, 1, FL_EPROTO, "removed_nodes[0]: string is not valid UTF-8");
	expect_removed_error("delta", "node-1", both, 2, FL_EPROTO,
	                     "removed_nodes: \"node-1\" is also upserted by nodes[0]");

	/* a name of 254 bytes is one too long */
	char long_name[FL_NAME_LEN + 1];
	memset(long_name, 'n', FL_NAME_LEN);
	long_name[FL_NAME_LEN] = '\0';
	const char *const too_long[] = {long_name};
	expect_removed_error("delta", NULL, too_long, 1, FL_ELIMIT,
	                     "removed_nodes[0]: string of 254 bytes, longer than the 253 allowed");
}

static void test_decode_refuses_more_removed_nodes_than_the_limit_before_allocating(void **state)
{
	msgpack_sbuffer sb;
	fl_proto_frame f;
	char err[FL_ERR_LEN] = "";

	(void)state;
	build_removed(&sb, "delta", NULL, NULL, FL_PROTO_MAX_NODES + 1);
	assert_int_equal(fl_proto_check(sb.data, sb.size, err), FL_OK); /* well-formed, just too many */
	g_oversized_callocs = 0;
	assert_int_equal(fl_proto_decode(sb.data, sb.size, &f, err), FL_ELIMIT);
	assert_string_equal(err, "removed_nodes: 20001 items, more than the 20000 allowed");
	assert_int_equal(g_oversized_callocs, 0);
	assert_zeroed(&f);
	msgpack_sbuffer_destroy(&sb);

	/* exactly the limit decodes */
	build_removed(&sb, "delta", NULL, NULL, FL_PROTO_MAX_NODES);
	assert_int_equal(fl_proto_decode(sb.data, sb.size, &f, err), FL_OK);
	assert_int_equal(f.n_removed_nodes, FL_PROTO_MAX_NODES);
	assert_string_equal(f.removed_nodes[FL_PROTO_MAX_NODES - 1].name, "r19999");
	fl_proto_frame_free(&f);
	msgpack_sbuffer_destroy(&sb);
}

/* ---- defaults --------------------------------------------------------------------------------- */

static void test_decode_defaults_absent_numa_to_unknown(void **state)
{
	msgpack_sbuffer sb;
	fl_proto_frame f;
	char err[FL_ERR_LEN] = "";

	(void)state;
	memset(&g_bad, 0, sizeof(g_bad));
	g_bad.sec = "gpu";
	g_bad.key = "numa";
	g_bad.omit = true;
	build(&sb);
	memset(&g_bad, 0, sizeof(g_bad));
	assert_int_equal(fl_proto_decode(sb.data, sb.size, &f, err), FL_OK);
	assert_int_equal(f.gpus[0].numa, -1);
	assert_int_equal(f.gpus[0].gpu_id, 3);
	fl_proto_frame_free(&f);
	msgpack_sbuffer_destroy(&sb);
}

/* ---- ack "full" ------------------------------------------------------------------------------- */

static void test_ack_full_round_trips_and_defaults_to_false(void **state)
{
	fl_proto_ack in = {.seq = 77, .status = FL_ACK_OK, .want_full = true}, out;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	char err[FL_ERR_LEN] = "";
	char *buf = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(fl_proto_ack_encode(&in, &buf, &len), FL_OK);
	assert_int_equal(fl_proto_ack_decode(buf, len, &out, err), FL_OK);
	assert_true(out.want_full);
	assert_int_equal(out.seq, 77);
	free(buf);
	in.want_full = false;
	assert_int_equal(fl_proto_ack_encode(&in, &buf, &len), FL_OK);
	memset(&out, 0x5a, sizeof(out));
	assert_int_equal(fl_proto_ack_decode(buf, len, &out, err), FL_OK);
	assert_false(out.want_full);
	free(buf);

	/* an ack without "full" (as a hub before issue 4 wrote it) means false */
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 2);
	pk_str(&pk, "seq");
	msgpack_pack_int(&pk, 5);
	pk_str(&pk, "status");
	pk_str(&pk, "duplicate");
	memset(&out, 0x5a, sizeof(out));
	assert_int_equal(fl_proto_ack_decode(sb.data, sb.size, &out, err), FL_OK);
	assert_false(out.want_full);
	assert_int_equal(out.status, FL_ACK_DUPLICATE);
	assert_string_equal(out.reason, "");
	msgpack_sbuffer_clear(&sb);

	/* "full" must be a boolean */
	msgpack_pack_map(&pk, 3);
	pk_str(&pk, "seq");
	msgpack_pack_int(&pk, 5);
	pk_str(&pk, "status");
	pk_str(&pk, "ok");
	pk_str(&pk, "full");
	msgpack_pack_int(&pk, 1);
	assert_int_equal(fl_proto_ack_decode(sb.data, sb.size, &out, err), FL_EPROTO);
	assert_string_equal(err, "ack.full: expected a boolean, got integer");
	assert_false(out.want_full);
	msgpack_sbuffer_destroy(&sb);
}

/* ---- pods, workloads, removed_pods -------------------------------------------------------------- */

static void test_delta_round_trips_pods_and_removed_pods(void **state)
{
	fl_proto_frame in, out;
	char err[FL_ERR_LEN];
	char *buf = NULL;
	size_t len = 0;

	(void)state;
	make_frame(&in);
	in.env.kind = FL_FRAME_DELTA;
	in.n_removed_pods = 1;
	in.removed_pods = calloc(1, sizeof(*in.removed_pods));
	assert_non_null(in.removed_pods);
	snprintf(in.removed_pods[0].name, sizeof(in.removed_pods[0].name), "gone-uid");
	assert_int_equal(encode(&in, &buf, &len, err), FL_OK);
	assert_int_equal(fl_proto_decode(buf, len, &out, err), FL_OK);
	assert_frames_equal(&in, &out);
	assert_int_equal(out.n_removed_pods, 1);
	assert_string_equal(out.removed_pods[0].name, "gone-uid");

	json_t *j = fl_proto_frame_to_json(&out);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "removed_pods"), 0)), "gone-uid");
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(j, "workloads"), 0), "kind")),
	                    "PyTorchJob");
	assert_true(json_is_null(json_object_get(json_array_get(json_object_get(j, "pods"), 1), "utilization")));
	assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(j, "pods"), 1), "gpus")), 5);
	json_decref(j);
	free(buf);
	fl_proto_frame_free(&out);

	/* a pod both removed and upserted has no single meaning */
	snprintf(in.removed_pods[0].name, sizeof(in.removed_pods[0].name), "%s", in.pods[1].uid);
	assert_int_equal(encode(&in, &buf, &len, err), FL_EINVAL);
	assert_string_equal(err, "removed_pods: \"5f0c8a52-0000-4000-8000-000000000001\" is also upserted by pods[1]");
	/* removing pods is for deltas only */
	in.env.kind = FL_FRAME_FULL;
	assert_int_equal(encode(&in, &buf, &len, err), FL_EINVAL);
	assert_string_equal(err, "removed_pods: only a delta frame may remove pods");
	assert_null(buf);
	fl_proto_frame_free(&in);
}

static void test_encode_refuses_pods_and_workloads_without_identity_or_past_the_limit(void **state)
{
	fl_proto_frame f;
	char err[FL_ERR_LEN];
	char *buf = NULL;
	size_t len = 0;

	(void)state;
	make_frame(&f);
	f.pods[1].uid[0] = '\0';
	assert_int_equal(encode(&f, &buf, &len, err), FL_EINVAL);
	assert_string_equal(err, "pods[1].uid: uid and name must not be empty");
	snprintf(f.pods[1].uid, sizeof(f.pods[1].uid), "u");
	f.workloads[0].kind[0] = '\0';
	assert_int_equal(encode(&f, &buf, &len, err), FL_EINVAL);
	assert_string_equal(err, "workloads[0].uid: uid, kind and name must not be empty");
	snprintf(f.workloads[0].kind, sizeof(f.workloads[0].kind), "Job");
	uint32_t real = f.n_pods;
	f.n_pods = FL_PROTO_MAX_PODS + 1;
	assert_int_equal(encode(&f, &buf, &len, err), FL_ELIMIT);
	f.n_pods = real;
	assert_null(buf);
	assert_int_equal(encode(&f, &buf, &len, err), FL_OK);
	free(buf);
	fl_proto_frame_free(&f);
}

/* A signed full frame whose payload is {key: [one map with the given string pairs]}. */
static void build_items(msgpack_sbuffer *sb, const char *kind, const char *key, const char *const *kv, size_t n)
{
	msgpack_packer pk;

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 3);
	msgpack_pack_map(&pk, NKV(env_kv));
	for (size_t i = 0; i < NKV(env_kv); i++) {
		pk_str(&pk, env_kv[i].key);
		if (strcmp(env_kv[i].key, "kind") == 0) {
			pk_str(&pk, kind);
		} else {
			write_value(&pk, "envelope", &env_kv[i]);
		}
	}
	msgpack_pack_map(&pk, 1);
	pk_str(&pk, key);
	msgpack_pack_array(&pk, 1);
	if (strcmp(key, "removed_pods") == 0) {
		pk_str(&pk, kv[0]);
	} else {
		msgpack_pack_map(&pk, n / 2);
		for (size_t i = 0; i < n; i++) {
			pk_str(&pk, kv[i]);
		}
	}
	sign(sb, &pk);
}

static void expect_items(const char *kind, const char *key, const char *const *kv, size_t n, int code, const char *want)
{
	msgpack_sbuffer sb;
	fl_proto_frame f;
	char err[FL_ERR_LEN] = "";

	build_items(&sb, kind, key, kv, n);
	int rv = fl_proto_decode(sb.data, sb.size, &f, err);
	msgpack_sbuffer_destroy(&sb);
	if (rv != code || (want != NULL && strcmp(err, want) != 0)) {
		fail_msg("%s %s: got %d \"%s\", want %d \"%s\"", kind, key, rv, err, code, want != NULL ? want : "");
	}
	if (rv == FL_OK) {
		fl_proto_frame_free(&f);
	} else {
		assert_zeroed(&f);
	}
}

static void test_decode_checks_pods_workloads_and_removed_pods(void **state)
{
	static const char *const pod_ok[] = {"uid", "u1", "name", "p", "phase", "Running"};
	static const char *const pod_no_uid[] = {"name", "p"};
	static const char *const wl_no_kind[] = {"uid", "u1", "name", "w"};
	static const char *const wl_ok[] = {"uid", "u1", "name", "w", "kind", "Job", "status", "Done"};
	static const char *const removed[] = {"u1"};
	char long_uid[80];
	const char *pod_long_uid[] = {"uid", long_uid, "name", "p"};

	(void)state;
	memset(long_uid, 'x', 64);
	long_uid[64] = '\0';
	expect_items("full", "pods", pod_ok, NKV(pod_ok), FL_OK, NULL);
	expect_items("full", "workloads", wl_ok, NKV(wl_ok), FL_OK, NULL);
	expect_items("full", "pods", pod_no_uid, NKV(pod_no_uid), FL_EPROTO, "pods[0].uid: missing");
	expect_items("full", "workloads", wl_no_kind, NKV(wl_no_kind), FL_EPROTO,
	             "workloads[0].kind: missing");
	expect_items("full", "pods", pod_long_uid, NKV(pod_long_uid), FL_ELIMIT,
	             "pods[0].uid: string of 64 bytes, longer than the 63 allowed");
	expect_items("delta", "removed_pods", removed, 1, FL_OK, NULL);
	expect_items("full", "removed_pods", removed, 1, FL_EPROTO,
	             "removed_pods: only a delta frame may remove pods, this is a full frame");
}

/* A workload's safe_workload_id (FORMAT.md 3.9) is optional: written only when set, round-trips, is ""
 * when absent (an older spoke's frame), shows in the JSON view, and is refused past 63 bytes. */
static void test_workload_safe_workload_id_is_optional_and_bounded(void **state)
{
	fl_proto_frame in, out;
	char err[FL_ERR_LEN];
	char *buf = NULL;
	size_t len = 0;

	(void)state;
	make_frame(&in);
	assert_int_equal(encode(&in, &buf, &len, err), FL_OK);
	assert_int_equal(fl_proto_decode(buf, len, &out, err), FL_OK);
	assert_string_equal(out.workloads[0].safe_workload_id, "llm-pretrain-7b");
	assert_string_equal(out.workloads[1].safe_workload_id, "");
	/* the key is written for the SaFE workload only */
	size_t hits = 0;
	for (size_t i = 0; i + 16 <= len; i++) {
		hits += memcmp(buf + i, "safe_workload_id", 16) == 0;
	}
	assert_int_equal(hits, 1);
	json_t *j = fl_proto_frame_to_json(&out);
	assert_non_null(j);
	json_t *wl = json_object_get(j, "workloads");
	assert_string_equal(json_string_value(json_object_get(json_array_get(wl, 0), "safe_workload_id")),
	                    "llm-pretrain-7b");
	assert_string_equal(json_string_value(json_object_get(json_array_get(wl, 1), "safe_workload_id")), "");
	json_decref(j);
	fl_proto_frame_free(&out);
	free(buf);

	/* 63 bytes, the longest label value, fits; the C encoder cannot hold more than its field */
	memset(in.workloads[0].safe_workload_id, 'a', 63);
	in.workloads[0].safe_workload_id[63] = '\0';
	assert_int_equal(encode(&in, &buf, &len, err), FL_OK);
	assert_int_equal(fl_proto_decode(buf, len, &out, err), FL_OK);
	assert_int_equal(strlen(out.workloads[0].safe_workload_id), 63);
	fl_proto_frame_free(&out);
	free(buf);
	memset(in.workloads[0].safe_workload_id, 'a', sizeof(in.workloads[0].safe_workload_id));
	assert_int_equal(encode(&in, &buf, &len, err), FL_EINVAL);
	assert_string_equal(err, "workloads[0].safe_workload_id: not NUL-terminated within its 64 bytes");
	assert_null(buf);
	fl_proto_frame_free(&in);

	/* another encoder's frames: without the key (an older spoke), with it, and with 64 bytes */
	static const char *const wl_old[] = {"uid", "u1", "name", "w", "kind", "Job"};
	static const char *const wl_safe[] = {"uid", "u1", "name", "w", "kind", "Job", "safe_workload_id", "w"};
	static const char *const wl_empty[] = {"uid", "u1", "name", "w", "kind", "Job", "safe_workload_id", ""};
	char long_id[80];
	memset(long_id, 'x', 64);
	long_id[64] = '\0';
	const char *wl_long[] = {"uid", "u1", "name", "w", "kind", "Job", "safe_workload_id", long_id};
	expect_items("full", "workloads", wl_old, NKV(wl_old), FL_OK, NULL);
	expect_items("full", "workloads", wl_safe, NKV(wl_safe), FL_OK, NULL);
	expect_items("full", "workloads", wl_empty, NKV(wl_empty), FL_OK, NULL);
	expect_items("full", "workloads", wl_long, NKV(wl_long), FL_ELIMIT,
	             "workloads[0].safe_workload_id: string of 64 bytes, longer than the 63 allowed");
	msgpack_sbuffer sb;
	build_items(&sb, "full", "workloads", wl_safe, NKV(wl_safe));
	assert_int_equal(fl_proto_decode(sb.data, sb.size, &out, err), FL_OK);
	assert_string_equal(out.workloads[0].safe_workload_id, "w");
	fl_proto_frame_free(&out);
	msgpack_sbuffer_destroy(&sb);
	build_items(&sb, "full", "workloads", wl_old, NKV(wl_old));
	assert_int_equal(fl_proto_decode(sb.data, sb.size, &out, err), FL_OK);
	assert_string_equal(out.workloads[0].safe_workload_id, "");
	fl_proto_frame_free(&out);
	msgpack_sbuffer_destroy(&sb);
}

/* ---- fl_proto_decode_head: what authentication needs, nothing allocated ---------------------------- */

static void test_decode_head_reads_envelope_signature_and_signed_region_only(void **state)
{
	fl_proto_frame in, out, head;
	char err[FL_ERR_LEN] = "";
	char *buf = NULL;
	size_t len = 0;

	(void)state;
	make_frame(&in);
	assert_int_equal(encode(&in, &buf, &len, err), FL_OK);
	size_t callocs = g_callocs;
	assert_int_equal(fl_proto_decode(buf, len, &out, err), FL_OK);
	assert_true(g_callocs > callocs); /* nodes, their taints, GPUs */
	callocs = g_callocs;
	if (fl_proto_decode_head(buf, len, &head, err) != FL_OK) {
		fail_msg("decode_head: %s", err);
	}
	assert_int_equal(g_callocs, callocs); /* the head allocates nothing */
	assert_memory_equal(&head.env, &out.env, sizeof(head.env));
	assert_memory_equal(head.sig, out.sig, FL_PROTO_SIG_LEN);
	assert_int_equal(head.signed_off, out.signed_off);
	assert_int_equal(head.signed_len, out.signed_len);
	/* nothing of the payload: no arrays, no counts, no flags */
	assert_null(head.nodes);
	assert_null(head.gpus);
	assert_int_equal(head.n_nodes + head.n_gpus + head.n_pods + head.n_workloads, 0);
	assert_false(head.has_overview || head.has_facts);
	assert_true(fl_proto_verify(buf, len, &head, TEST_KEY));
	fl_proto_frame_free(&head); /* a no-op, and safe */
	free(buf);
	fl_proto_frame_free(&out);
	fl_proto_frame_free(&in);
}

static void bad_nodes_not_array(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 1); /* nodes must be an array */
	pk_str(pk, "x");
	msgpack_pack_nil(pk);
}

static void test_decode_head_passes_over_a_bad_payload_that_decode_refuses(void **state)
{
	msgpack_sbuffer sb;
	fl_proto_frame f;
	char err[FL_ERR_LEN] = "";

	(void)state;
	memset(&g_bad, 0, sizeof(g_bad));
	g_bad.sec = "payload";
	g_bad.key = "nodes";
	g_bad.bad = bad_nodes_not_array;
	build(&sb);
	memset(&g_bad, 0, sizeof(g_bad));
	/* the payload is not looked into before the frame is authenticated ... */
	if (fl_proto_decode_head(sb.data, sb.size, &f, err) != FL_OK) {
		fail_msg("decode_head: %s", err);
	}
	assert_string_equal(f.env.cluster, "gpu-a");
	assert_true(fl_proto_verify(sb.data, sb.size, &f, TEST_KEY));
	/* ... and refused when it is decoded after */
	assert_int_equal(fl_proto_decode(sb.data, sb.size, &f, err), FL_EPROTO);
	assert_string_equal(err, "nodes: expected an array, got map");
	msgpack_sbuffer_destroy(&sb);
}

static void test_decode_head_refuses_what_authentication_cannot_use(void **state)
{
	static const struct {
		const char *bytes;
		size_t len;
		int rv;
		const char *want;
	} cases[] = {
	    {"\x92\x80\x80", 3, FL_EPROTO, "(an unsigned frame: the signature is missing)"},
	    {"\x93\x80\x80\xc0", 4, FL_EPROTO, "envelope.v: missing"},
	    {"\x91\x80", 2, FL_EPROTO, "expected an array of 3 elements"},
	    {"\xdd\x01\x00\x00\x00", 5, FL_EPROTO, "does not fit in the"},
	    {"\xc1", 1, FL_EPROTO, "reserved byte 0xc1"},
	};
	fl_proto_frame f;
	char err[FL_ERR_LEN];

	(void)state;
	for (size_t i = 0; i < NKV(cases); i++) {
		err[0] = '\0';
		int rv = fl_proto_decode_head(cases[i].bytes, cases[i].len, &f, err);
		if (rv != cases[i].rv || strstr(err, cases[i].want) == NULL) {
			fail_msg("case %zu: got %d \"%s\", want \"%s\"", i, rv, err, cases[i].want);
		}
		assert_zeroed(&f);
	}
}

/* A frame whose envelope is the handmade one, with payload and signature as given (raw bytes). */
static void build_raw_tail(msgpack_sbuffer *sb, const char *tail, size_t tail_len)
{
	msgpack_packer pk;

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 3);
	write_map(&pk, "envelope", env_kv, NKV(env_kv));
	msgpack_sbuffer_write(sb, tail, tail_len);
}

static void test_decode_head_checks_payload_type_and_signature_shape(void **state)
{
	msgpack_sbuffer sb;
	fl_proto_frame f;
	char err[FL_ERR_LEN] = "";
	char sig33[2 + 33] = "\x80\xc4\x21";

	(void)state;
	build_raw_tail(&sb, "\x90\xc4\x00", 3); /* payload an array */
	assert_int_equal(fl_proto_decode_head(sb.data, sb.size, &f, err), FL_EPROTO);
	assert_string_equal(err, "payload: expected a map, got array");
	msgpack_sbuffer_destroy(&sb);
	build_raw_tail(&sb, "\x80\xa1x", 3); /* signature a str */
	assert_int_equal(fl_proto_decode_head(sb.data, sb.size, &f, err), FL_EPROTO);
	assert_string_equal(err, "signature: expected a binary of 32 bytes (HMAC-SHA256), got string");
	msgpack_sbuffer_destroy(&sb);
	memset(sig33 + 3, 'x', sizeof(sig33) - 3);
	build_raw_tail(&sb, sig33, 3 + 32); /* bin of 33 bytes declared, 32 there: not well-formed */
	assert_int_not_equal(fl_proto_decode_head(sb.data, sb.size, &f, err), FL_OK);
	msgpack_sbuffer_destroy(&sb);
}

/* ---- unknown keys cost a bounded amount ------------------------------------------------------------ */

static void test_decode_takes_64_unknown_keys_in_a_map_and_refuses_65(void **state)
{
	static const char *const secs[] = {"envelope", "payload", "node", "taint", "overview"};
	msgpack_sbuffer sb;
	fl_proto_frame f;
	char err[FL_ERR_LEN] = "";
	char want[96];

	(void)state;
	for (size_t i = 0; i < NKV(secs); i++) {
		for (int n = 64; n <= 65; n++) {
			memset(&g_bad, 0, sizeof(g_bad));
			g_bad.sec = secs[i];
			g_bad.extra = "k";
			g_bad.n_extra = n;
			g_bad.distinct = true;
			build(&sb);
			memset(&g_bad, 0, sizeof(g_bad));
			int rv = fl_proto_decode(sb.data, sb.size, &f, err);
			fl_proto_frame head;
			int rv_head = fl_proto_decode_head(sb.data, sb.size, &head, err);
			bool env = strcmp(secs[i], "envelope") == 0;
			if (n == 64 && (rv != FL_OK || rv_head != FL_OK)) {
				fail_msg("%s with 64 unknown keys: %d/%d %s", secs[i], rv, rv_head, err);
			}
			if (n == 65) {
				assert_int_equal(rv, FL_ELIMIT);
				assert_int_equal(rv_head,
				                 env ? FL_ELIMIT : FL_OK); /* the head reads only the envelope */
				assert_int_equal(fl_proto_decode(sb.data, sb.size, &f, err), FL_ELIMIT);
				snprintf(want, sizeof(want), "more than %u unknown keys in one map",
				         FL_PROTO_MAX_UNKNOWN_KEYS);
				if (strstr(err, want) == NULL) {
					fail_msg("%s: \"%s\"", secs[i], err);
				}
			}
			fl_proto_frame_free(&f);
			msgpack_sbuffer_destroy(&sb);
		}
	}
}

static void test_decode_finds_a_duplicate_among_many_unknown_keys(void **state)
{
	msgpack_sbuffer sb;
	fl_proto_frame f;
	char err[FL_ERR_LEN] = "";

	(void)state;
	/* 40 distinct unknown keys, then the first one again */
	memset(&g_bad, 0, sizeof(g_bad));
	g_bad.sec = "node";
	g_bad.extra = "k";
	g_bad.n_extra = 40;
	g_bad.distinct = true;
	g_bad.repeat_last = true;
	build(&sb);
	memset(&g_bad, 0, sizeof(g_bad));
	assert_int_equal(fl_proto_decode(sb.data, sb.size, &f, err), FL_EPROTO);
	assert_string_equal(err, "nodes[0]: duplicate key \"k0\"");
	assert_zeroed(&f);
	msgpack_sbuffer_destroy(&sb);
}

/* ---- the GPU job monitor's keys (issue 18: FORMAT.md 3.5 and 3.10) ----------------------------- */

/* make_node_frame's frame with every job monitor key set on its GPU and its job, and a second job that
 * sets none of them. */
static void make_monitor_frame(fl_proto_frame *f)
{
	make_node_frame(f);
	fl_proto_gpu *g = &f->gpus[0];
	g->memory_used_mib = 12345;
	g->has_memory_used = true;
	snprintf(g->health, sizeof(g->health), "unhealthy");
	snprintf(g->health_detail, sizeof(g->health_detail), "ras ue 2 ce 5");
	f->jobs = realloc(f->jobs, 2 * sizeof(*f->jobs));
	assert_non_null(f->jobs);
	f->n_jobs = 2;
	memset(&f->jobs[1], 0, sizeof(f->jobs[1]));
	f->jobs[1].pid = 4343;
	f->jobs[1].started_ms = 1699999999500;
	fl_proto_job *j = &f->jobs[0];
	snprintf(j->state, sizeof(j->state), "R");
	j->cpu_percent = 187.5;
	j->has_cpu = true;
	j->rss_bytes = 4294967296;
	j->threads = 17;
	j->fds = 42;
	j->gpu_memory_bytes = 8589934592;
	j->has_gpu_memory = true;
	j->gpu_mask[0] = (1u << 0) | (1u << 3);
	j->gpu_mask[1] = 1u;                /* gpu 64 */
	j->gpu_mask[3] = (uint64_t)1 << 63; /* gpu 255 */
	j->gpu_utilization = 41.25;
	j->has_gpu_utilization = true;
	snprintf(j->config_path, sizeof(j->config_path), "/cfg/train.yaml");
	j->n_params = 6;
	j->params = calloc(j->n_params, sizeof(*j->params));
	assert_non_null(j->params);
	fl_synth_kv(&j->params[0], "batch_size", "", true, 32);
	fl_synth_kv(&j->params[1], "lr", "", true, 0.001);
	fl_synth_kv(&j->params[2], "model", "llama-7b", false, 0);
	fl_synth_kv(&j->params[3], "token", "***", false, 0);
	fl_synth_kv(&j->params[4], "decay", "", true, -2.5e-3);
	fl_synth_kv(&j->params[5], "resume", "", false, 0);
	j->n_env = 3;
	j->env = calloc(j->n_env, sizeof(*j->env));
	assert_non_null(j->env);
	fl_synth_kv(&j->env[0], "CUDA_VISIBLE_DEVICES", "0,3", false, 0);
	fl_synth_kv(&j->env[1], "RANK", "1", false, 0);
	fl_synth_kv(&j->env[2], "MASTER_ADDR", "", false, 0);
}

static void assert_kv(const fl_proto_kv *kv, const char *key, const char *text, bool is_num, double num)
{
	assert_string_equal(kv->key, key);
	assert_string_equal(kv->value, text);
	assert_int_equal(kv->is_num, is_num);
	assert_double_equal(kv->num, num);
}

static void test_node_frame_round_trips_the_job_monitor_keys(void **state)
{
	fl_proto_frame in, out;
	char err[FL_ERR_LEN] = "";
	char *buf = NULL;
	size_t len = 0;

	(void)state;
	make_monitor_frame(&in);
	snprintf(in.host.gpu_source, sizeof(in.host.gpu_source), "dcmi");
	assert_int_equal(encode(&in, &buf, &len, err), FL_OK);
	assert_int_equal(fl_proto_decode(buf, len, &out, err), FL_OK);
	assert_string_equal(out.host.gpu_source, "dcmi");
	assert_true(out.gpus[0].has_memory_used);
	assert_int_equal(out.gpus[0].memory_used_mib, 12345);
	assert_string_equal(out.gpus[0].health, "unhealthy");
	assert_string_equal(out.gpus[0].health_detail, "ras ue 2 ce 5");
	assert_int_equal(out.n_jobs, 2);
	const fl_proto_job *j = &out.jobs[0];
	assert_string_equal(j->state, "R");
	assert_true(j->has_cpu);
	assert_double_equal(j->cpu_percent, 187.5);
	assert_int_equal(j->rss_bytes, 4294967296);
	assert_int_equal(j->threads, 17);
	assert_int_equal(j->fds, 42);
	assert_true(j->has_gpu_memory);
	assert_int_equal(j->gpu_memory_bytes, 8589934592);
	assert_int_equal(j->gpu_mask[0], 9);
	assert_int_equal(j->gpu_mask[1], 1);
	assert_int_equal(j->gpu_mask[2], 0);
	assert_true(j->gpu_mask[3] == (uint64_t)1 << 63);
	assert_true(j->has_gpu_utilization);
	assert_double_equal(j->gpu_utilization, 41.25);
	assert_string_equal(j->config_path, "/cfg/train.yaml");
	assert_int_equal(j->n_params, 6);
	assert_kv(&j->params[0], "batch_size", "", true, 32);
	assert_kv(&j->params[1], "lr", "", true, 0.001);
	assert_kv(&j->params[2], "model", "llama-7b", false, 0);
	assert_kv(&j->params[3], "token", "***", false, 0);
	assert_kv(&j->params[4], "decay", "", true, -2.5e-3);
	assert_kv(&j->params[5], "resume", "", false, 0);
	assert_int_equal(j->n_env, 3);
	assert_kv(&j->env[0], "CUDA_VISIBLE_DEVICES", "0,3", false, 0);
	assert_kv(&j->env[1], "RANK", "1", false, 0);
	assert_kv(&j->env[2], "MASTER_ADDR", "", false, 0);
	/* the second job set none of them: each decodes as unknown, zero or empty */
	j = &out.jobs[1];
	assert_string_equal(j->state, "");
	assert_false(j->has_cpu);
	assert_false(j->has_gpu_memory);
	assert_false(j->has_gpu_utilization);
	assert_int_equal(j->rss_bytes + j->threads + j->fds, 0);
	assert_int_equal(j->gpu_mask[0] | j->gpu_mask[1] | j->gpu_mask[2] | j->gpu_mask[3], 0);
	assert_string_equal(j->config_path, "");
	assert_int_equal(j->n_params, 0);
	assert_null(j->params);
	assert_int_equal(j->n_env, 0);
	assert_null(j->env);

	/* the --dry-run view: the frame's names, numbers as numbers, null where unknown */
	assert_json(fl_proto_gpu_to_json(&out.gpus[0]),
	            "{\"node\":\"gpu-node-1\",\"gpu_id\":0,\"gpu_model\":\"\",\"memory_mib\":0,\"utilization\":42.5,"
	            "\"temperature\":0.0,\"power\":0.0,\"serial\":\"SER-0\",\"numa\":1,\"memory_used_mib\":12345,"
	            "\"health\":\"unhealthy\",\"health_detail\":\"ras ue 2 ce 5\"}");
	json_t *fj = fl_proto_frame_to_json(&out);
	assert_non_null(fj);
	json_t *jobs = json_object_get(fj, "jobs");
	assert_json(
	    json_incref(json_array_get(jobs, 0)),
	    "{\"pid\":4242,\"ppid\":1,\"pgid\":4242,\"name\":\"python3\",\"cmdline\":\"python3 train.py "
	    "--token=***\",\"started_ms\":1699999999000,\"cwd\":\"\",\"framework\":\"torch\",\"pod_uid\":"
	    "\"0b9f1f5e-7a3c-4d1e-9a55-1b2c3d4e5f60\",\"devices\":\"/dev/kfd,/dev/dri/renderD128\",\"state\":\"R\","
	    "\"cpu\":187.5,\"rss\":4294967296,\"threads\":17,\"fds\":42,\"gpu_memory\":8589934592,"
	    "\"gpus\":[0,3,64,255],\"gpu_util\":41.25,\"config\":\"/cfg/train.yaml\",\"params\":{\"batch_size\":32,"
	    "\"lr\":0.001,\"model\":\"llama-7b\",\"token\":\"***\",\"decay\":-0.0025000000000000001,"
	    "\"resume\":\"\"},\"env\":{\"CUDA_VISIBLE_DEVICES\":\"0,3\",\"RANK\":\"1\",\"MASTER_ADDR\":\"\"}}");
	assert_json(
	    json_incref(json_array_get(jobs, 1)),
	    "{\"pid\":4343,\"ppid\":0,\"pgid\":0,\"name\":\"\",\"cmdline\":\"\",\"started_ms\":1699999999500,"
	    "\"cwd\":\"\",\"framework\":\"\",\"pod_uid\":\"\",\"devices\":\"\",\"state\":\"\",\"cpu\":null,"
	    "\"rss\":0,\"threads\":0,\"fds\":0,\"gpu_memory\":null,\"gpus\":[],\"gpu_util\":null,\"config\":\"\","
	    "\"params\":{},\"env\":{}}");
	json_decref(fj);
	free(buf);
	fl_proto_frame_free(&out);
	fl_proto_frame_free(&in);
}

/* A GPU or job that sets none of the issue-18 keys is written exactly as before them, byte for byte: the
 * lengths and signatures (HMAC over every signed byte) below are what the encoder wrote before the keys
 * existed, for make_frame (a full frame) and make_node_frame. */
static void test_frames_without_job_monitor_keys_are_byte_identical_to_before(void **state)
{
	static const unsigned char full_sig[] = {0xc1, 0xa7, 0x76, 0xd5, 0x51, 0x92, 0x18, 0x93, 0x86, 0x6c, 0xaf,
	                                         0x12, 0x6e, 0x4a, 0xf6, 0x49, 0x1a, 0xe5, 0x93, 0xf9, 0x1b, 0x04,
	                                         0x76, 0x6b, 0x4b, 0x59, 0x40, 0xdf, 0x4b, 0x58, 0x8e, 0x59};
	static const unsigned char node_sig[] = {0xfc, 0x4c, 0x53, 0xeb, 0xd9, 0x0b, 0x50, 0xac, 0xd2, 0x83, 0x81,
	                                         0xb5, 0xc6, 0x55, 0x53, 0xf3, 0x40, 0xff, 0xcf, 0xb0, 0xde, 0x79,
	                                         0x79, 0x33, 0xe6, 0x5a, 0xda, 0x25, 0x4d, 0xb2, 0x90, 0x30};
	fl_proto_frame f;
	char err[FL_ERR_LEN] = "";
	char *buf = NULL;
	size_t len = 0;

	(void)state;
	make_frame(&f);
	assert_int_equal(encode(&f, &buf, &len, err), FL_OK);
	assert_int_equal(len, 2914);
	assert_memory_equal(buf + len - 32, full_sig, 32);
	free(buf);
	fl_proto_frame_free(&f);
	make_node_frame(&f);
	assert_int_equal(encode(&f, &buf, &len, err), FL_OK);
	assert_int_equal(len, 611);
	assert_memory_equal(buf + len - 32, node_sig, 32);
	free(buf);
	fl_proto_frame_free(&f);
}

/* The encoder refuses what the decoder would: too many parameters or variables, an empty name, a number
 * for a variable, a value that is not finite, a health that is not terminated. */
static void test_encode_refuses_bad_job_monitor_keys(void **state)
{
	fl_proto_frame f;
	char err[FL_ERR_LEN] = "";
	char *buf = NULL;
	size_t len = 0;

	(void)state;
	make_monitor_frame(&f);
	fl_proto_job *j = &f.jobs[0];
	fl_proto_kv *params = j->params;
	j->params = calloc(FL_PROTO_MAX_JOB_PARAMS + 1, sizeof(*j->params));
	assert_non_null(j->params);
	for (uint32_t i = 0; i <= FL_PROTO_MAX_JOB_PARAMS; i++) {
		snprintf(j->params[i].key, sizeof(j->params[i].key), "p%u", i);
	}
	j->n_params = FL_PROTO_MAX_JOB_PARAMS + 1;
	assert_int_equal(encode(&f, &buf, &len, err), FL_ELIMIT);
	assert_string_equal(err, "jobs[0].params: 65 items, more than the 64 allowed");
	j->n_params = FL_PROTO_MAX_JOB_PARAMS;
	assert_int_equal(encode(&f, &buf, &len, err), FL_OK); /* 64 is fine */
	free(buf);
	free(j->params);
	j->params = params;
	j->n_params = 6;
	j->n_env = FL_PROTO_MAX_JOB_ENV + 1; /* only 3 allocated: refused before any is read */
	assert_int_equal(encode(&f, &buf, &len, err), FL_ELIMIT);
	assert_string_equal(err, "jobs[0].env: 33 items, more than the 32 allowed");
	j->n_env = 3;
	j->params[1].key[0] = '\0';
	assert_int_equal(encode(&f, &buf, &len, err), FL_EINVAL);
	assert_string_equal(err, "jobs[0].params[1].key: must not be empty");
	j->params[1].key[0] = 'l';
	j->params[1].num = NAN;
	assert_int_equal(encode(&f, &buf, &len, err), FL_EINVAL);
	assert_string_equal(err, "jobs[0].params[1].value: not a finite number");
	j->params[1].num = 0.001;
	j->env[1].is_num = true;
	assert_int_equal(encode(&f, &buf, &len, err), FL_EINVAL);
	assert_string_equal(err, "jobs[0].env[1].value: an environment variable's value is text, not a number");
	j->env[1].is_num = false;
	j->cpu_percent = INFINITY;
	assert_int_equal(encode(&f, &buf, &len, err), FL_EINVAL);
	assert_string_equal(err, "jobs[0].cpu: not a finite number");
	j->cpu_percent = 1;
	j->rss_bytes = -1;
	assert_int_equal(encode(&f, &buf, &len, err), FL_EINVAL);
	assert_non_null(strstr(err, "jobs[0].rss: -1 is outside 0.."));
	j->rss_bytes = 1;
	memset(f.gpus[0].health, 'x', sizeof(f.gpus[0].health));
	assert_int_equal(encode(&f, &buf, &len, err), FL_EINVAL);
	assert_string_equal(err, "gpus[0].health: not NUL-terminated within its 32 bytes");
	snprintf(f.gpus[0].health, sizeof(f.gpus[0].health), "healthy");
	assert_int_equal(encode(&f, &buf, &len, err), FL_OK);
	free(buf);
	fl_proto_frame_free(&f);
}

/* ---- node frames written byte by byte, one job monitor key replaced -------------------------------- */

static uint32_t g_count; /* items the writers below write */
static int64_t g_ids[4]; /* the GPU ids ids_writer writes (g_count of them) */

static void params_writer(msgpack_packer *pk) /* g_count parameters p0 = 0, p1 = 1, ... */
{
	msgpack_pack_array(pk, g_count);
	for (uint32_t i = 0; i < g_count; i++) {
		char k[16];

		snprintf(k, sizeof(k), "p%u", i);
		msgpack_pack_map(pk, 2);
		pk_str(pk, "key");
		pk_str(pk, k);
		pk_str(pk, "value");
		msgpack_pack_uint32(pk, i);
	}
}
static void env_writer(msgpack_packer *pk) /* g_count variables E0 = "x", ... */
{
	msgpack_pack_array(pk, g_count);
	for (uint32_t i = 0; i < g_count; i++) {
		char k[16];

		snprintf(k, sizeof(k), "E%u", i);
		msgpack_pack_map(pk, 2);
		pk_str(pk, "key");
		pk_str(pk, k);
		pk_str(pk, "value");
		pk_str(pk, "x");
	}
}
static void one_kv(msgpack_packer *pk, const char *key, void (*value)(msgpack_packer *))
{
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, (key != NULL) + (value != NULL));
	if (key != NULL) {
		pk_str(pk, "key");
		pk_str(pk, key);
	}
	if (value != NULL) {
		pk_str(pk, "value");
		value(pk);
	}
}
static void v_true(msgpack_packer *pk)
{
	msgpack_pack_true(pk);
}
static void v_array(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 0);
}
static void v_nil(msgpack_packer *pk)
{
	msgpack_pack_nil(pk);
}
static void v_int(msgpack_packer *pk)
{
	msgpack_pack_int(pk, -7);
}
static void v_float32(msgpack_packer *pk)
{
	msgpack_pack_float(pk, 0.5f);
}
static void v_long_text(msgpack_packer *pk) /* 256 bytes: one more than a value holds */
{
	char s[257];

	memset(s, 'v', 256);
	s[256] = '\0';
	pk_str(pk, s);
}
static void param_without_key(msgpack_packer *pk)
{
	one_kv(pk, NULL, v_int);
}
static void param_empty_key(msgpack_packer *pk)
{
	one_kv(pk, "", v_int);
}
static void param_bool(msgpack_packer *pk)
{
	one_kv(pk, "a", v_true);
}
static void param_array(msgpack_packer *pk)
{
	one_kv(pk, "a", v_array);
}
static void param_nil(msgpack_packer *pk)
{
	one_kv(pk, "a", v_nil);
}
static void param_without_value(msgpack_packer *pk)
{
	one_kv(pk, "a", NULL);
}
static void param_long_value(msgpack_packer *pk)
{
	one_kv(pk, "a", v_long_text);
}
static void env_number(msgpack_packer *pk)
{
	one_kv(pk, "RANK", v_int);
}
static void param_negative(msgpack_packer *pk)
{
	one_kv(pk, "a", v_int);
}
static void param_float32(msgpack_packer *pk)
{
	one_kv(pk, "a", v_float32);
}
static void param_with_unknown_key(msgpack_packer *pk) /* a later version's key in a parameter map */
{
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 3);
	pk_str(pk, "unit");
	pk_str(pk, "tokens");
	pk_str(pk, "key");
	pk_str(pk, "seq_len");
	pk_str(pk, "value");
	msgpack_pack_int(pk, 4096);
}
static void ids_writer(msgpack_packer *pk)
{
	msgpack_pack_array(pk, g_count);
	for (uint32_t i = 0; i < g_count; i++) {
		msgpack_pack_int64(pk, g_ids[i]);
	}
}
static void health_32(msgpack_packer *pk) /* 32 bytes: one more than str(31) */
{
	pk_str(pk, "unhealthy-unhealthy-unhealthy-xx");
}

/* [envelope, payload, 32 zero bytes] of a node frame: host n, one GPU {node, gpu_id 0} and one job {pid 1,
 * started 0}; sec ("gpu" or "job") gets key: value() as well, unless value is NULL. */
static void build_node(msgpack_sbuffer *sb, const char *sec, const char *key, void (*value)(msgpack_packer *))
{
	static const char zeros[32];
	msgpack_packer pk;
	bool gpu = value != NULL && strcmp(sec, "gpu") == 0, job = value != NULL && strcmp(sec, "job") == 0;

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 3);
	msgpack_pack_map(&pk, 6);
	pk_str(&pk, "v"), msgpack_pack_int(&pk, 1);
	pk_str(&pk, "cluster"), pk_str(&pk, "c");
	pk_str(&pk, "spoke"), pk_str(&pk, "s");
	pk_str(&pk, "seq"), msgpack_pack_int(&pk, 1);
	pk_str(&pk, "sent"), msgpack_pack_int(&pk, 0);
	pk_str(&pk, "kind"), pk_str(&pk, "node");
	msgpack_pack_map(&pk, 3);
	pk_str(&pk, "host");
	msgpack_pack_map(&pk, 1);
	pk_str(&pk, "node"), pk_str(&pk, "n");
	pk_str(&pk, "gpus");
	msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 2 + gpu);
	pk_str(&pk, "node"), pk_str(&pk, "n");
	pk_str(&pk, "gpu_id"), msgpack_pack_int(&pk, 0);
	if (gpu) {
		pk_str(&pk, key), value(&pk);
	}
	pk_str(&pk, "jobs");
	msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 2 + job);
	pk_str(&pk, "pid"), msgpack_pack_int(&pk, 1);
	pk_str(&pk, "started"), msgpack_pack_int(&pk, 0);
	if (job) {
		pk_str(&pk, key), value(&pk);
	}
	msgpack_pack_bin(&pk, 32);
	msgpack_pack_bin_body(&pk, zeros, 32);
}

static void test_decode_reads_job_monitor_keys_from_any_encoding(void **state)
{
	msgpack_sbuffer sb;
	fl_proto_frame f;
	char err[FL_ERR_LEN] = "";

	(void)state;
	build_node(&sb, "job", NULL, NULL); /* a node frame from before issue 18 */
	assert_int_equal(fl_proto_decode(sb.data, sb.size, &f, err), FL_OK);
	assert_false(f.gpus[0].has_memory_used);
	assert_string_equal(f.gpus[0].health, "");
	assert_false(f.jobs[0].has_cpu);
	assert_int_equal(f.jobs[0].n_params, 0);
	assert_null(f.jobs[0].params);
	fl_proto_frame_free(&f);
	msgpack_sbuffer_destroy(&sb);

	g_count = FL_PROTO_MAX_JOB_PARAMS; /* 64 parameters: the limit */
	build_node(&sb, "job", "params", params_writer);
	assert_int_equal(fl_proto_decode(sb.data, sb.size, &f, err), FL_OK);
	assert_int_equal(f.jobs[0].n_params, 64);
	assert_kv(&f.jobs[0].params[63], "p63", "", true, 63);
	fl_proto_frame_free(&f);
	msgpack_sbuffer_destroy(&sb);
	g_count = FL_PROTO_MAX_JOB_ENV;
	build_node(&sb, "job", "env", env_writer);
	assert_int_equal(fl_proto_decode(sb.data, sb.size, &f, err), FL_OK);
	assert_int_equal(f.jobs[0].n_env, 32);
	assert_kv(&f.jobs[0].env[31], "E31", "x", false, 0);
	fl_proto_frame_free(&f);
	msgpack_sbuffer_destroy(&sb);

	/* a parameter's number may be any integer or float encoding */
	build_node(&sb, "job", "params", param_negative);
	assert_int_equal(fl_proto_decode(sb.data, sb.size, &f, err), FL_OK);
	assert_kv(&f.jobs[0].params[0], "a", "", true, -7);
	fl_proto_frame_free(&f);
	msgpack_sbuffer_destroy(&sb);
	build_node(&sb, "job", "params", param_float32);
	assert_int_equal(fl_proto_decode(sb.data, sb.size, &f, err), FL_OK);
	assert_kv(&f.jobs[0].params[0], "a", "", true, 0.5);
	fl_proto_frame_free(&f);
	msgpack_sbuffer_destroy(&sb);
	build_node(&sb, "job", "params", param_with_unknown_key);
	assert_int_equal(fl_proto_decode(sb.data, sb.size, &f, err), FL_OK);
	assert_int_equal(f.jobs[0].n_params, 1);
	assert_kv(&f.jobs[0].params[0], "seq_len", "", true, 4096);
	fl_proto_frame_free(&f);
	msgpack_sbuffer_destroy(&sb);
	/* nil for the optional figures: unknown, as when absent */
	build_node(&sb, "job", "cpu", v_nil);
	assert_int_equal(fl_proto_decode(sb.data, sb.size, &f, err), FL_OK);
	assert_false(f.jobs[0].has_cpu);
	fl_proto_frame_free(&f);
	msgpack_sbuffer_destroy(&sb);
}

/* One case per kind of bad job monitor key: the decoder refuses the frame, names the field, keeps nothing. */
static void test_decode_rejects_bad_job_monitor_keys(void **state)
{
	static const struct {
		const char *sec, *key;
		void (*value)(msgpack_packer *);
		uint32_t count;
		int64_t ids[4];
		int code;
		const char *err;
	} cases[] = {
	    {"job", "params", param_without_key, 0, {0}, FL_EPROTO, "jobs[0].params[0].key: missing"},
	    {"job", "params", param_empty_key, 0, {0}, FL_EPROTO, "jobs[0].params[0].key: must not be empty"},
	    {"job",
	     "params",
	     param_bool,
	     0,
	     {0},
	     FL_EPROTO,
	     "jobs[0].params[0].value: expected a string or a finite number, got boolean"},
	    {"job",
	     "params",
	     param_array,
	     0,
	     {0},
	     FL_EPROTO,
	     "jobs[0].params[0].value: expected a string or a finite number, got array"},
	    {"job",
	     "params",
	     param_nil,
	     0,
	     {0},
	     FL_EPROTO,
	     "jobs[0].params[0].value: expected a string or a finite number, got nil"},
	    {"job", "params", param_without_value, 0, {0}, FL_EPROTO, "jobs[0].params[0].value: missing"},
	    {"job",
	     "params",
	     param_long_value,
	     0,
	     {0},
	     FL_ELIMIT,
	     "jobs[0].params[0].value: string of 256 bytes, longer than the 255 allowed"},
	    {"job", "params", params_writer, 65, {0}, FL_ELIMIT, "jobs[0].params: 65 items, more than the 64 allowed"},
	    {"job", "params", v_true, 0, {0}, FL_EPROTO, "jobs[0].params: expected an array, got boolean"},
	    {"job", "env", env_writer, 33, {0}, FL_ELIMIT, "jobs[0].env: 33 items, more than the 32 allowed"},
	    {"job", "env", env_number, 0, {0}, FL_EPROTO, "jobs[0].env[0].value: expected a string, got integer"},
	    {"job",
	     "gpus",
	     ids_writer,
	     2,
	     {1, 0},
	     FL_EPROTO,
	     "jobs[0].gpus[1]: GPU id 0 after 1: expected increasing ids, each once"},
	    {"job",
	     "gpus",
	     ids_writer,
	     3,
	     {0, 2, 2},
	     FL_EPROTO,
	     "jobs[0].gpus[2]: GPU id 2 after 2: expected increasing ids, each once"},
	    {"job", "gpus", ids_writer, 1, {256}, FL_EPROTO, "jobs[0].gpus[0]: expected a GPU id 0..255, got 256"},
	    {"job", "gpus", ids_writer, 1, {-1}, FL_EPROTO, "jobs[0].gpus[0]: expected a GPU id 0..255, got -1"},
	    {"job", "gpus", v_int, 0, {0}, FL_EPROTO, "jobs[0].gpus: expected an array, got integer"},
	    {"job",
	     "gpu_memory",
	     v_int,
	     0,
	     {0},
	     FL_EPROTO,
	     "jobs[0].gpu_memory: expected a non-negative integer, got -7"},
	    {"job",
	     "gpu_memory",
	     v_nil,
	     0,
	     {0},
	     FL_EPROTO,
	     "jobs[0].gpu_memory: expected a non-negative integer, got nil"},
	    {"job", "rss", v_float32, 0, {0}, FL_EPROTO, "jobs[0].rss: expected a non-negative integer, got float"},
	    {"job", "state", v_int, 0, {0}, FL_EPROTO, "jobs[0].state: expected a string, got integer"},
	    {"job", "cpu", v_true, 0, {0}, FL_EPROTO, "jobs[0].cpu: expected a finite number or nil, got boolean"},
	    {"gpu",
	     "health",
	     health_32,
	     0,
	     {0},
	     FL_ELIMIT,
	     "gpus[0].health: string of 32 bytes, longer than the 31 allowed"},
	    {"gpu",
	     "health_detail",
	     health_32,
	     0,
	     {0},
	     FL_ELIMIT,
	     "gpus[0].health_detail: string of 32 bytes, longer than the 31 allowed"},
	    {"gpu",
	     "memory_used_mib",
	     v_int,
	     0,
	     {0},
	     FL_EPROTO,
	     "gpus[0].memory_used_mib: expected a non-negative integer, got -7"},
	};
	msgpack_sbuffer sb;
	fl_proto_frame f;
	char err[FL_ERR_LEN] = "";

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		g_count = cases[i].count;
		memcpy(g_ids, cases[i].ids, sizeof(g_ids));
		build_node(&sb, cases[i].sec, cases[i].key, cases[i].value);
		int rv = fl_proto_decode(sb.data, sb.size, &f, err);
		msgpack_sbuffer_destroy(&sb);
		if (rv != cases[i].code || strcmp(err, cases[i].err) != 0) {
			fail_msg("case %zu: got %d \"%s\", want %d \"%s\"", i, rv, err, cases[i].code, cases[i].err);
		}
		assert_zeroed(&f);
	}
}

/* FORMAT.md section 1: at its largest (every string at its limit, 64 parameters and 32 variables each) a
 * job takes 36,084 bytes, so 4,096 of them (147,800,064 bytes) cannot fit in a 64 MiB frame: the encoder stops with
 * FL_ELIMIT as soon as the frame passes the limit. 4,096 jobs of 64 parameters of usual size do fit. */
static void test_a_node_frame_of_4096_jobs_with_64_parameters_each_fits_unless_every_string_is_full(void **state)
{
	fl_proto_frame f;
	fl_proto_kv params[FL_PROTO_MAX_JOB_PARAMS], env[FL_PROTO_MAX_JOB_ENV];
	char err[FL_ERR_LEN] = "";
	char *buf = NULL;
	size_t len = 0, one = 0;

	(void)state;
	make_node_frame(&f);
	fl_proto_job *j = &f.jobs[0];
	memset(j->name, 'n', sizeof(j->name) - 1);
	memset(j->cmdline, 'c', sizeof(j->cmdline) - 1);
	memset(j->cwd, 'w', sizeof(j->cwd) - 1);
	memset(j->config_path, 'f', sizeof(j->config_path) - 1);
	memset(j->devices, 'd', sizeof(j->devices) - 1);
	memset(j->framework, 'r', sizeof(j->framework) - 1);
	memset(j->pod_uid, 'u', sizeof(j->pod_uid) - 1);
	memset(j->state, 's', sizeof(j->state) - 1);
	j->pid = j->ppid = j->pgid = j->rss_bytes = j->threads = j->fds = j->gpu_memory_bytes = INT64_MAX;
	j->started_ms = INT64_MIN;
	j->has_cpu = j->has_gpu_memory = j->has_gpu_utilization = true;
	memset(j->gpu_mask, 0xff, sizeof(j->gpu_mask));
	for (uint32_t i = 0; i < FL_PROTO_MAX_JOB_PARAMS; i++) {
		memset(&params[i], 'p', sizeof(params[i]));
		params[i].key[sizeof(params[i].key) - 1] = params[i].value[sizeof(params[i].value) - 1] = '\0';
		params[i].is_num = false;
		if (i < FL_PROTO_MAX_JOB_ENV) {
			env[i] = params[i];
		}
	}
	j->params = params; /* shared by every job below; taken back before fl_proto_frame_free */
	j->n_params = FL_PROTO_MAX_JOB_PARAMS;
	j->env = env;
	j->n_env = FL_PROTO_MAX_JOB_ENV;
	assert_int_equal(encode(&f, &buf, &len, err), FL_OK);
	one = len;
	free(buf);
	f.n_jobs = 2;
	f.jobs = realloc(f.jobs, 2 * sizeof(*f.jobs));
	assert_non_null(f.jobs);
	f.jobs[1] = f.jobs[0];
	assert_int_equal(encode(&f, &buf, &len, err), FL_OK);
	assert_int_equal(len - one, 36084); /* one job at its largest */
	free(buf);

	f.jobs = realloc(f.jobs, FL_PROTO_MAX_JOBS * sizeof(*f.jobs));
	assert_non_null(f.jobs);
	for (uint32_t i = 1; i < FL_PROTO_MAX_JOBS; i++) {
		f.jobs[i] = f.jobs[0];
	}
	f.n_jobs = FL_PROTO_MAX_JOBS;
	assert_int_equal(encode(&f, &buf, &len, err), FL_ELIMIT);
	assert_string_equal(err, "frame: larger than 67108864 bytes");
	/* usual parameters: a 24-byte name and value each */
	for (uint32_t i = 0; i < FL_PROTO_MAX_JOB_PARAMS; i++) {
		params[i].key[24] = params[i].value[24] = '\0';
		if (i < FL_PROTO_MAX_JOB_ENV) {
			env[i] = params[i];
		}
	}
	assert_int_equal(encode(&f, &buf, &len, err), FL_OK);
	assert_true(len < FL_PROTO_MAX_FRAME_BYTES);
	free(buf);
	for (uint32_t i = 0; i < FL_PROTO_MAX_JOBS; i++) {
		f.jobs[i].params = f.jobs[i].env = NULL;
		f.jobs[i].n_params = f.jobs[i].n_env = 0;
	}
	fl_proto_frame_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_frame_round_trips_every_field),
	    cmocka_unit_test(test_workload_safe_workload_id_is_optional_and_bounded),
	    cmocka_unit_test(test_heartbeat_round_trips_with_empty_payload),
	    cmocka_unit_test(test_node_frame_round_trips_host_rdma_and_jobs),
	    cmocka_unit_test(test_node_frame_rules_are_enforced_both_ways),
	    cmocka_unit_test(test_node_frame_round_trips_the_job_monitor_keys),
	    cmocka_unit_test(test_frames_without_job_monitor_keys_are_byte_identical_to_before),
	    cmocka_unit_test(test_encode_refuses_bad_job_monitor_keys),
	    cmocka_unit_test(test_decode_reads_job_monitor_keys_from_any_encoding),
	    cmocka_unit_test(test_decode_rejects_bad_job_monitor_keys),
	    cmocka_unit_test(test_a_node_frame_of_4096_jobs_with_64_parameters_each_fits_unless_every_string_is_full),
	    cmocka_unit_test(test_heartbeat_encodes_to_the_bytes_in_format_md),
	    cmocka_unit_test(test_handmade_frame_decodes_to_the_written_values),
	    cmocka_unit_test(test_decode_accepts_float32_and_wide_int_encodings),
	    cmocka_unit_test(test_decode_ignores_unknown_keys),
	    cmocka_unit_test(test_ack_round_trips_each_status),
	    cmocka_unit_test(test_ack_encode_refuses_bad_status_and_unterminated_reason),
	    cmocka_unit_test(test_ack_decode_rejects_unknown_status_long_reason_and_big_input),
	    cmocka_unit_test(test_decode_fails_cleanly_when_truncated_at_every_byte),
	    cmocka_unit_test(test_decode_rejects_array32_header_larger_than_input),
	    cmocka_unit_test(test_check_rejects_nesting_deeper_than_32),
	    cmocka_unit_test(test_check_rejects_more_objects_than_the_element_budget),
	    cmocka_unit_test(test_check_rejects_input_larger_than_the_frame_limit),
	    cmocka_unit_test(test_decode_rejects_trailing_bytes),
	    cmocka_unit_test(test_decode_rejects_reserved_byte_c1),
	    cmocka_unit_test(test_decode_rejects_wrong_types_per_field),
	    cmocka_unit_test(test_decode_rejects_missing_required_keys),
	    cmocka_unit_test(test_decode_rejects_bad_version),
	    cmocka_unit_test(test_decode_rejects_bad_kind),
	    cmocka_unit_test(test_decode_rejects_bad_cluster_name),
	    cmocka_unit_test(test_decode_rejects_string_longer_than_its_field),
	    cmocka_unit_test(test_decode_accepts_multibyte_utf8),
	    cmocka_unit_test(test_decode_rejects_nan_float),
	    cmocka_unit_test(test_decode_rejects_negative_gpu_count),
	    cmocka_unit_test(test_decode_rejects_duplicate_key),
	    cmocka_unit_test(test_decode_head_reads_envelope_signature_and_signed_region_only),
	    cmocka_unit_test(test_decode_head_passes_over_a_bad_payload_that_decode_refuses),
	    cmocka_unit_test(test_decode_head_refuses_what_authentication_cannot_use),
	    cmocka_unit_test(test_decode_head_checks_payload_type_and_signature_shape),
	    cmocka_unit_test(test_decode_takes_64_unknown_keys_in_a_map_and_refuses_65),
	    cmocka_unit_test(test_decode_finds_a_duplicate_among_many_unknown_keys),
	    cmocka_unit_test(test_decode_rejects_array_of_other_length_than_three),
	    cmocka_unit_test(test_encode_refuses_too_many_nodes),
	    cmocka_unit_test(test_decode_refuses_more_nodes_than_the_limit),
	    cmocka_unit_test(test_encode_refuses_invalid_fields),
	    cmocka_unit_test(test_kind_names_round_trip_and_names_are_checked),
	    cmocka_unit_test(test_json_views_use_lens_names),
	    cmocka_unit_test(test_overview_unknown_list_round_trips_and_bad_bits_are_refused),
	    cmocka_unit_test(test_signed_frame_round_trips_and_verifies),
	    cmocka_unit_test(test_verify_fails_with_a_wrong_key),
	    cmocka_unit_test(test_encode_refuses_a_key_outside_32_to_1024_bytes),
	    cmocka_unit_test(test_verify_fails_after_flipping_any_signed_byte),
	    cmocka_unit_test(test_verify_fails_after_flipping_a_signature_byte),
	    cmocka_unit_test(test_decode_rejects_an_unsigned_two_element_frame),
	    cmocka_unit_test(test_decode_rejects_a_signature_of_wrong_type_or_length),
	    cmocka_unit_test(test_handmade_frame_verifies_only_under_its_key),
	    cmocka_unit_test(test_delta_round_trips_removed_nodes),
	    cmocka_unit_test(test_delta_round_trips_pods_and_removed_pods),
	    cmocka_unit_test(test_encode_refuses_pods_and_workloads_without_identity_or_past_the_limit),
	    cmocka_unit_test(test_decode_checks_pods_workloads_and_removed_pods),
	    cmocka_unit_test(test_encode_refuses_removed_nodes_outside_a_delta_and_empty_names),
	    cmocka_unit_test(test_encode_refuses_a_delta_that_removes_a_node_it_upserts),
	    cmocka_unit_test(test_decode_rejects_removed_nodes_outside_a_delta),
	    cmocka_unit_test(test_decode_rejects_bad_removed_node_names),
	    cmocka_unit_test(test_decode_refuses_more_removed_nodes_than_the_limit_before_allocating),
	    cmocka_unit_test(test_decode_defaults_absent_numa_to_unknown),
	    cmocka_unit_test(test_ack_full_round_trips_and_defaults_to_false),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
