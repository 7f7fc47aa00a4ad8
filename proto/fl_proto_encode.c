/* fl_proto_encode.c — frame and ack encoding with msgpack-c's packer (format: FORMAT.md).
 *
 * The encoder checks what it writes against the same rules the decoder enforces (names, string
 * terminators, finite floats, non-negative counts, limits), so a spoke never sends what a hub refuses. */
#include "fl_proto.h"

#include <inttypes.h>
#include <math.h>
#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl_proto_int.h"

/* Encoder state. The first error sticks in rv; every helper is a no-op once rv != FL_OK. */
struct enc {
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int rv;
	uint64_t elements; /* msgpack objects written, as fl_proto_check counts them */
	char *err;
};

static void enc_fail(struct enc *e, int code, const char *path, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void enc_fail(struct enc *e, int code, const char *path, const char *key, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	if (e->rv != FL_OK) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	e->rv = fl_seterr(e->err, code, "%s%s%s: %s", path, (*path != '\0' && *key != '\0') ? "." : "", key, msg);
}

/* Records a packer failure (the sbuffer could not grow). */
static void enc_check(struct enc *e, int pack_rv)
{
	if (pack_rv != 0 && e->rv == FL_OK) {
		e->rv = fl_seterr(e->err, FL_ENOMEM, "frame: out of memory while encoding");
	}
}

static void put_str(struct enc *e, const char *s, size_t n)
{
	if (e->rv != FL_OK) {
		return;
	}
	e->elements++;
	enc_check(e, msgpack_pack_str(&e->pk, n));
	if (n > 0) {
		enc_check(e, msgpack_pack_str_body(&e->pk, s, n));
	}
}

static void put_map(struct enc *e, uint32_t n)
{
	if (e->rv == FL_OK) {
		e->elements++;
		enc_check(e, msgpack_pack_map(&e->pk, n));
	}
}

static void put_array(struct enc *e, uint32_t n)
{
	if (e->rv == FL_OK) {
		e->elements++;
		enc_check(e, msgpack_pack_array(&e->pk, n));
	}
}

static void kv_key(struct enc *e, const char *key)
{
	put_str(e, key, strlen(key));
}

/* key: string field of cap bytes (must be NUL-terminated inside it). */
static void kv_str(struct enc *e, const char *path, const char *key, const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);

	if (n == cap) {
		enc_fail(e, FL_EINVAL, path, key, "not NUL-terminated within its %zu bytes", cap);
		return;
	}
	if (!fl_proto_utf8_valid(s, n)) {
		enc_fail(e, FL_EINVAL, path, key, "not valid UTF-8");
		return;
	}
	kv_key(e, key);
	put_str(e, s, n);
}

/* key: integer within [min, max]. */
static void kv_int(struct enc *e, const char *path, const char *key, int64_t v, int64_t min, int64_t max)
{
	if (v < min || v > max) {
		enc_fail(e, FL_EINVAL, path, key, "%" PRId64 " is outside %" PRId64 "..%" PRId64, v, min, max);
		return;
	}
	kv_key(e, key);
	if (e->rv == FL_OK) {
		e->elements++;
		enc_check(e, msgpack_pack_int64(&e->pk, v));
	}
}

static void kv_count(struct enc *e, const char *path, const char *key, int64_t v)
{
	kv_int(e, path, key, v, 0, INT64_MAX);
}

/* key: finite float64, or nil when has is false. */
static void kv_opt_f64(struct enc *e, const char *path, const char *key, bool has, double v)
{
	if (has && !isfinite(v)) {
		enc_fail(e, FL_EINVAL, path, key, "not a finite number");
		return;
	}
	kv_key(e, key);
	if (e->rv == FL_OK) {
		e->elements++;
		enc_check(e, has ? msgpack_pack_double(&e->pk, v) : msgpack_pack_nil(&e->pk));
	}
}

static void kv_f64(struct enc *e, const char *path, const char *key, double v)
{
	kv_opt_f64(e, path, key, true, v);
}

static void kv_bool(struct enc *e, const char *key, bool v)
{
	kv_key(e, key);
	if (e->rv == FL_OK) {
		e->elements++;
		enc_check(e, v ? msgpack_pack_true(&e->pk) : msgpack_pack_false(&e->pk));
	}
}

/* One entry of removed_nodes (a node name, cap FL_NAME_LEN) or removed_pods (a uid, FL_UID_LEN). */
static void put_name(struct enc *e, const char *list, const char *name, size_t cap, uint32_t idx)
{
	char path[48];
	size_t n = strnlen(name, cap);

	snprintf(path, sizeof(path), "%s[%" PRIu32 "]", list, idx);
	if (n == 0 || n == cap) {
		enc_fail(e, FL_EINVAL, path, "", "expected a %s of 1..%zu bytes",
		         cap == FL_UID_LEN ? "pod uid" : "node name", cap - 1);
	} else if (!fl_proto_utf8_valid(name, n)) {
		enc_fail(e, FL_EINVAL, path, "", "not valid UTF-8");
	} else {
		put_str(e, name, n);
	}
}

static void put_removed_node(struct enc *e, const fl_proto_frame *f, uint32_t idx)
{
	put_name(e, "removed_nodes", f->removed_nodes[idx].name, FL_NAME_LEN, idx);
}

static void put_removed_pod(struct enc *e, const fl_proto_frame *f, uint32_t idx)
{
	put_name(e, "removed_pods", f->removed_pods[idx].name, FL_UID_LEN, idx);
}

static void put_envelope(struct enc *e, const fl_proto_envelope *env)
{
	const char *kind = fl_proto_kind_name(env->kind);

	if (env->version != 0 && env->version != FL_PROTO_VERSION) {
		enc_fail(e, FL_EINVAL, "envelope", "v", "version %" PRIu32 " is not %d", env->version,
		         FL_PROTO_VERSION);
	}
	if (!fl_proto_valid_name(env->cluster)) {
		enc_fail(e, FL_EINVAL, "envelope", "cluster", "expected 1..63 of [A-Za-z0-9._-]");
	}
	if (!fl_proto_valid_name(env->spoke_id)) {
		enc_fail(e, FL_EINVAL, "envelope", "spoke", "expected 1..63 of [A-Za-z0-9._-]");
	}
	if (env->seq < 1 || env->seq > (uint64_t)INT64_MAX) {
		enc_fail(e, FL_EINVAL, "envelope", "seq", "expected 1..2^63-1");
	}
	if (kind == NULL) {
		enc_fail(e, FL_EINVAL, "envelope", "kind", "unknown kind %d", (int)env->kind);
	}
	put_map(e, 6);
	kv_int(e, "envelope", "v", FL_PROTO_VERSION, 0, INT64_MAX);
	kv_str(e, "envelope", "cluster", env->cluster, sizeof(env->cluster));
	kv_str(e, "envelope", "spoke", env->spoke_id, sizeof(env->spoke_id));
	kv_int(e, "envelope", "seq", (int64_t)env->seq, 1, INT64_MAX);
	kv_int(e, "envelope", "sent", env->sent_at_ms, INT64_MIN, INT64_MAX);
	if (kind != NULL) {
		kv_key(e, "kind");
		put_str(e, kind, strlen(kind));
	}
}

static void put_facts(struct enc *e, const fl_proto_facts *fa)
{
	put_map(e, 3);
	kv_str(e, "facts", "k8s_version", fa->k8s_version, sizeof(fa->k8s_version));
	kv_str(e, "facts", "spoke_version", fa->spoke_version, sizeof(fa->spoke_version));
	kv_str(e, "facts", "source", fa->source, sizeof(fa->source));
}

static void put_node(struct enc *e, const fl_proto_frame *f, uint32_t idx)
{
	const fl_proto_node *n = &f->nodes[idx];
	char path[48];

	snprintf(path, sizeof(path), "nodes[%" PRIu32 "]", idx);
	if (strnlen(n->name, sizeof(n->name)) == 0) {
		enc_fail(e, FL_EINVAL, path, "name", "must not be empty");
	}
	if (n->n_taints > FL_PROTO_MAX_TAINTS) {
		enc_fail(e, FL_ELIMIT, path, "taints", "%" PRIu32 " items, more than the %u allowed", n->n_taints,
		         FL_PROTO_MAX_TAINTS);
	}
	if (n->n_taints > 0 && n->taints == NULL) {
		enc_fail(e, FL_EINVAL, path, "taints", "NULL with n_taints %" PRIu32, n->n_taints);
	}
	put_map(e, 16);
	kv_str(e, path, "name", n->name, sizeof(n->name));
	kv_str(e, path, "ip", n->ip, sizeof(n->ip));
	kv_str(e, path, "gpu_name", n->gpu_name, sizeof(n->gpu_name));
	kv_count(e, path, "gpu_count", n->gpu_count);
	kv_count(e, path, "gpu_allocation", n->gpu_allocation);
	kv_opt_f64(e, path, "gpu_utilization", n->has_utilization, n->gpu_utilization);
	kv_str(e, path, "status", n->status, sizeof(n->status));
	kv_bool(e, "unschedulable", n->unschedulable);
	kv_bool(e, "faulty", n->faulty);
	kv_count(e, path, "cpu_millis", n->cpu_millis);
	kv_count(e, path, "memory_bytes", n->memory_bytes);
	kv_str(e, path, "kubelet_version", n->kubelet_version, sizeof(n->kubelet_version));
	kv_str(e, path, "os_image", n->os_image, sizeof(n->os_image));
	kv_str(e, path, "kernel_version", n->kernel_version, sizeof(n->kernel_version));
	kv_str(e, path, "container_runtime", n->container_runtime, sizeof(n->container_runtime));
	kv_key(e, "taints");
	put_array(e, n->n_taints);
	for (uint32_t i = 0; i < n->n_taints && e->rv == FL_OK; i++) {
		const fl_proto_taint *t = &n->taints[i];
		char tpath[80];

		snprintf(tpath, sizeof(tpath), "%s.taints[%" PRIu32 "]", path, i);
		put_map(e, 3);
		kv_str(e, tpath, "key", t->key, sizeof(t->key));
		kv_str(e, tpath, "value", t->value, sizeof(t->value));
		kv_str(e, tpath, "effect", t->effect, sizeof(t->effect));
	}
}

static void put_gpu(struct enc *e, const fl_proto_frame *f, uint32_t idx)
{
	const fl_proto_gpu *g = &f->gpus[idx];
	char path[48];

	snprintf(path, sizeof(path), "gpus[%" PRIu32 "]", idx);
	if (strnlen(g->node, sizeof(g->node)) == 0) {
		enc_fail(e, FL_EINVAL, path, "node", "must not be empty");
	}
	/* the keys added for issue 18 only when set, so frames without them stay byte for byte as before */
	bool health = g->health[0] != '\0', detail = g->health_detail[0] != '\0';
	put_map(e, 9 + (uint32_t)g->has_memory_used + health + detail);
	kv_str(e, path, "node", g->node, sizeof(g->node));
	kv_int(e, path, "gpu_id", g->gpu_id, 0, INT32_MAX);
	kv_str(e, path, "gpu_model", g->gpu_model, sizeof(g->gpu_model));
	kv_count(e, path, "memory_mib", g->memory_mib);
	kv_opt_f64(e, path, "utilization", g->has_utilization, g->utilization);
	kv_f64(e, path, "temperature", g->temperature);
	kv_f64(e, path, "power", g->power);
	kv_str(e, path, "serial", g->serial, sizeof(g->serial));
	kv_int(e, path, "numa", g->numa, -1, INT32_MAX);
	if (g->has_memory_used) {
		kv_count(e, path, "memory_used_mib", g->memory_used_mib);
	}
	if (health) {
		kv_str(e, path, "health", g->health, sizeof(g->health));
	}
	if (detail) {
		kv_str(e, path, "health_detail", g->health_detail, sizeof(g->health_detail));
	}
}

static void put_pod(struct enc *e, const fl_proto_frame *f, uint32_t idx)
{
	const fl_proto_pod *p = &f->pods[idx];
	char path[48];

	snprintf(path, sizeof(path), "pods[%" PRIu32 "]", idx);
	if (strnlen(p->uid, sizeof(p->uid)) == 0 || strnlen(p->name, sizeof(p->name)) == 0) {
		enc_fail(e, FL_EINVAL, path, "uid", "uid and name must not be empty");
	}
	put_map(e, 10);
	kv_str(e, path, "uid", p->uid, sizeof(p->uid));
	kv_str(e, path, "namespace", p->ns, sizeof(p->ns));
	kv_str(e, path, "name", p->name, sizeof(p->name));
	kv_str(e, path, "node", p->node, sizeof(p->node));
	kv_count(e, path, "gpus", p->gpus);
	kv_str(e, path, "phase", p->phase, sizeof(p->phase));
	kv_bool(e, "running", p->running);
	kv_str(e, path, "workload_uid", p->workload_uid, sizeof(p->workload_uid));
	kv_opt_f64(e, path, "utilization", p->has_utilization, p->utilization);
	kv_int(e, path, "created", p->created_ms, INT64_MIN, INT64_MAX);
}

static void put_workload(struct enc *e, const fl_proto_frame *f, uint32_t idx)
{
	const fl_proto_workload *w = &f->workloads[idx];
	char path[48];

	snprintf(path, sizeof(path), "workloads[%" PRIu32 "]", idx);
	if (strnlen(w->uid, sizeof(w->uid)) == 0 || strnlen(w->kind, sizeof(w->kind)) == 0 ||
	    strnlen(w->name, sizeof(w->name)) == 0) {
		enc_fail(e, FL_EINVAL, path, "uid", "uid, kind and name must not be empty");
	}
	bool safe = strnlen(w->safe_workload_id, sizeof(w->safe_workload_id)) > 0; /* written only when set */
	put_map(e, safe ? 12 : 11);
	kv_str(e, path, "uid", w->uid, sizeof(w->uid));
	kv_str(e, path, "kind", w->kind, sizeof(w->kind));
	kv_str(e, path, "api_version", w->api_version, sizeof(w->api_version));
	kv_str(e, path, "namespace", w->ns, sizeof(w->ns));
	kv_str(e, path, "name", w->name, sizeof(w->name));
	kv_str(e, path, "status", w->status, sizeof(w->status));
	kv_count(e, path, "gpu_request", w->gpu_request);
	kv_count(e, path, "pods", w->pods);
	kv_opt_f64(e, path, "utilization", w->has_utilization, w->utilization);
	kv_int(e, path, "created", w->created_ms, INT64_MIN, INT64_MAX);
	kv_int(e, path, "ended", w->ended_ms, INT64_MIN, INT64_MAX);
	if (safe) {
		kv_str(e, path, "safe_workload_id", w->safe_workload_id, sizeof(w->safe_workload_id));
	}
}

/* The figures o marks unknown, set to 0 in a copy (FORMAT.md 3.6: their values carry nothing). */
static void put_host(struct enc *e, const fl_proto_host *h)
{
	if (strnlen(h->node, sizeof(h->node)) == 0) {
		enc_fail(e, FL_EINVAL, "host", "node", "must not be empty");
	}
	put_map(e, 2);
	kv_str(e, "host", "node", h->node, sizeof(h->node));
	kv_str(e, "host", "gpu_source", h->gpu_source, sizeof(h->gpu_source));
}

static void put_rdma(struct enc *e, const fl_proto_frame *f, uint32_t idx)
{
	const fl_proto_rdma *r = &f->rdma[idx];
	char path[48];

	snprintf(path, sizeof(path), "rdma[%" PRIu32 "]", idx);
	if (strnlen(r->name, sizeof(r->name)) == 0) {
		enc_fail(e, FL_EINVAL, path, "name", "must not be empty");
	}
	put_map(e, 9);
	kv_str(e, path, "name", r->name, sizeof(r->name));
	kv_str(e, path, "node_guid", r->node_guid, sizeof(r->node_guid));
	kv_str(e, path, "fw_version", r->fw_version, sizeof(r->fw_version));
	kv_str(e, path, "port_state", r->port_state, sizeof(r->port_state));
	kv_str(e, path, "link_layer", r->link_layer, sizeof(r->link_layer));
	kv_count(e, path, "rx_bytes", r->rx_bytes);
	kv_count(e, path, "tx_bytes", r->tx_bytes);
	kv_opt_f64(e, path, "rx_rate", r->has_rates, r->rx_rate);
	kv_opt_f64(e, path, "tx_rate", r->has_rates, r->tx_rate);
}

/* Writes key and a job's n parameters (params) or environment variables: maps {key, value}, the key
 * non-empty, a parameter's value a string or a finite number, a variable's a string. */
static void put_kvs(struct enc *e, const char *path, const char *key, const fl_proto_kv *kv, uint32_t n, bool params)
{
	uint32_t max = params ? FL_PROTO_MAX_JOB_PARAMS : FL_PROTO_MAX_JOB_ENV;

	if (n > max) {
		enc_fail(e, FL_ELIMIT, path, key, "%" PRIu32 " items, more than the %" PRIu32 " allowed", n, max);
	} else if (kv == NULL) {
		enc_fail(e, FL_EINVAL, path, key, "NULL with %" PRIu32 " items", n);
	}
	kv_key(e, key);
	put_array(e, n);
	for (uint32_t i = 0; i < n && e->rv == FL_OK; i++) {
		char ipath[80];

		snprintf(ipath, sizeof(ipath), "%s.%s[%" PRIu32 "]", path, key, i);
		if (strnlen(kv[i].key, sizeof(kv[i].key)) == 0) {
			enc_fail(e, FL_EINVAL, ipath, "key", "must not be empty");
		} else if (kv[i].is_num && !params) {
			enc_fail(e, FL_EINVAL, ipath, "value", "an environment variable's value is text, not a number");
		}
		put_map(e, 2);
		kv_str(e, ipath, "key", kv[i].key, sizeof(kv[i].key));
		if (kv[i].is_num) {
			kv_f64(e, ipath, "value", kv[i].num);
		} else {
			kv_str(e, ipath, "value", kv[i].value, sizeof(kv[i].value));
		}
	}
}

/* Writes "gpus": the ids of the bits set in mask, in increasing order (n of them). */
static void put_gpu_mask(struct enc *e, const uint64_t mask[4], uint32_t n)
{
	kv_key(e, "gpus");
	put_array(e, n);
	for (int32_t id = 0; id < (int32_t)FL_PROTO_MAX_NODE_GPUS && e->rv == FL_OK; id++) {
		if (fl_proto_gpu_mask_has(mask, id)) {
			e->elements++;
			enc_check(e, msgpack_pack_uint32(&e->pk, (uint32_t)id));
		}
	}
}

/* How many of a job's optional keys (FORMAT.md 3.10, issue 18) are set, and so written. */
static uint32_t job_optional_keys(const fl_proto_job *j, uint32_t *n_gpus)
{
	*n_gpus = 0;
	for (int32_t id = 0; id < (int32_t)FL_PROTO_MAX_NODE_GPUS; id++) {
		*n_gpus += fl_proto_gpu_mask_has(j->gpu_mask, id);
	}
	return (uint32_t)(j->state[0] != '\0') + j->has_cpu + (j->rss_bytes != 0) + (j->threads != 0) + (j->fds != 0) +
	       j->has_gpu_memory + (*n_gpus > 0) + j->has_gpu_utilization + (j->config_path[0] != '\0') +
	       (j->n_params > 0) + (j->n_env > 0);
}

/* The keys added for issue 18, each only when set: a job without them is written byte for byte as before. */
static void put_job_monitor(struct enc *e, const char *path, const fl_proto_job *j, uint32_t n_gpus)
{
	if (j->state[0] != '\0') {
		kv_str(e, path, "state", j->state, sizeof(j->state));
	}
	if (j->has_cpu) {
		kv_f64(e, path, "cpu", j->cpu_percent);
	}
	if (j->rss_bytes != 0) {
		kv_count(e, path, "rss", j->rss_bytes);
	}
	if (j->threads != 0) {
		kv_count(e, path, "threads", j->threads);
	}
	if (j->fds != 0) {
		kv_count(e, path, "fds", j->fds);
	}
	if (j->has_gpu_memory) {
		kv_count(e, path, "gpu_memory", j->gpu_memory_bytes);
	}
	if (n_gpus > 0) {
		put_gpu_mask(e, j->gpu_mask, n_gpus);
	}
	if (j->has_gpu_utilization) {
		kv_f64(e, path, "gpu_util", j->gpu_utilization);
	}
	if (j->config_path[0] != '\0') {
		kv_str(e, path, "config", j->config_path, sizeof(j->config_path));
	}
	if (j->n_params > 0) {
		put_kvs(e, path, "params", j->params, j->n_params, true);
	}
	if (j->n_env > 0) {
		put_kvs(e, path, "env", j->env, j->n_env, false);
	}
}

static void put_job(struct enc *e, const fl_proto_frame *f, uint32_t idx)
{
	const fl_proto_job *j = &f->jobs[idx];
	char path[48];
	uint32_t n_gpus = 0, optional = job_optional_keys(j, &n_gpus);

	snprintf(path, sizeof(path), "jobs[%" PRIu32 "]", idx);
	put_map(e, 10 + optional);
	kv_count(e, path, "pid", j->pid);
	kv_count(e, path, "ppid", j->ppid);
	kv_count(e, path, "pgid", j->pgid);
	kv_str(e, path, "name", j->name, sizeof(j->name));
	kv_str(e, path, "cmdline", j->cmdline, sizeof(j->cmdline));
	kv_int(e, path, "started", j->started_ms, INT64_MIN, INT64_MAX);
	kv_str(e, path, "cwd", j->cwd, sizeof(j->cwd));
	kv_str(e, path, "framework", j->framework, sizeof(j->framework));
	kv_str(e, path, "pod_uid", j->pod_uid, sizeof(j->pod_uid));
	kv_str(e, path, "devices", j->devices, sizeof(j->devices));
	put_job_monitor(e, path, j, n_gpus);
}

static fl_proto_overview zero_unknown(const fl_proto_overview *o)
{
	fl_proto_overview c = *o;
	double *fig[FL_OV_FIGURES] = {&c.utilization,
	                              &c.total_space,
	                              &c.used_space,
	                              &c.usage_percentage,
	                              &c.total_inodes,
	                              &c.used_inodes,
	                              &c.inodes_usage_percentage,
	                              &c.read_bandwidth,
	                              &c.write_bandwidth,
	                              &c.total_tx,
	                              &c.total_rx};
	for (uint32_t i = 0; i < FL_OV_FIGURES; i++) {
		if ((o->unknown >> i) & 1u) {
			*fig[i] = 0.0;
		}
	}
	return c;
}

static void put_overview(struct enc *e, const fl_proto_overview *in)
{
	const char *p = "overview";
	const fl_proto_overview copy = zero_unknown(in), *o = &copy;

	uint32_t n_unknown = 0;

	if ((o->unknown & ~FL_OV_ALL) != 0) {
		enc_fail(e, FL_EINVAL, p, "unknown", "bits 0x%" PRIx32 " name no overview figure",
		         o->unknown & ~FL_OV_ALL);
		return;
	}
	for (uint32_t i = 0; i < FL_OV_FIGURES; i++) {
		n_unknown += (o->unknown >> i) & 1u;
	}
	put_map(e, 20 + (n_unknown > 0));
	kv_count(e, p, "total_nodes", o->total_nodes);
	kv_count(e, p, "healthy_nodes", o->healthy_nodes);
	kv_count(e, p, "faulty_nodes", o->faulty_nodes);
	kv_count(e, p, "fully_idle_nodes", o->fully_idle_nodes);
	kv_count(e, p, "partially_idle_nodes", o->partially_idle_nodes);
	kv_count(e, p, "busy_nodes", o->busy_nodes);
	kv_f64(e, p, "allocation_rate", o->allocation_rate);
	kv_f64(e, p, "utilization", o->utilization);
	kv_count(e, p, "gpus_allocatable", o->gpus_allocatable);
	kv_count(e, p, "gpus_allocated", o->gpus_allocated);
	kv_f64(e, p, "total_space", o->total_space);
	kv_f64(e, p, "used_space", o->used_space);
	kv_f64(e, p, "usage_percentage", o->usage_percentage);
	kv_f64(e, p, "total_inodes", o->total_inodes);
	kv_f64(e, p, "used_inodes", o->used_inodes);
	kv_f64(e, p, "inodes_usage_percentage", o->inodes_usage_percentage);
	kv_f64(e, p, "read_bandwidth", o->read_bandwidth);
	kv_f64(e, p, "write_bandwidth", o->write_bandwidth);
	kv_f64(e, p, "total_tx", o->total_tx);
	kv_f64(e, p, "total_rx", o->total_rx);
	if (n_unknown > 0) {
		kv_key(e, "unknown");
		put_array(e, n_unknown);
		for (uint32_t i = 0; i < FL_OV_FIGURES; i++) {
			if ((o->unknown >> i) & 1u) {
				const char *name = fl_proto_overview_figure_name(1u << i);
				put_str(e, name, strlen(name));
			}
		}
	}
}

/* Stops a frame that grows past the byte limit before the buffer grows much further. */
static void check_size(struct enc *e)
{
	if (e->rv == FL_OK && e->sb.size > FL_PROTO_MAX_FRAME_BYTES) {
		e->rv = fl_seterr(e->err, FL_ELIMIT, "frame: larger than %u bytes", FL_PROTO_MAX_FRAME_BYTES);
	}
}

/* Checks what fl_proto_encode cannot write at all: counts over their limits, NULL arrays with items,
 * removals outside a delta frame, a missing or badly sized key. FL_OK, or the error with err filled. */
static int check_frame(const fl_proto_frame *f, const uint8_t *key, size_t key_len, char err[FL_ERR_LEN])
{
	if (f->n_nodes > FL_PROTO_MAX_NODES) {
		return fl_seterr(err, FL_ELIMIT, "nodes: %" PRIu32 " items, more than the %u allowed", f->n_nodes,
		                 FL_PROTO_MAX_NODES);
	}
	if (f->n_gpus > FL_PROTO_MAX_GPUS) {
		return fl_seterr(err, FL_ELIMIT, "gpus: %" PRIu32 " items, more than the %u allowed", f->n_gpus,
		                 FL_PROTO_MAX_GPUS);
	}
	if (f->n_removed_nodes > FL_PROTO_MAX_NODES) {
		return fl_seterr(err, FL_ELIMIT, "removed_nodes: %" PRIu32 " items, more than the %u allowed",
		                 f->n_removed_nodes, FL_PROTO_MAX_NODES);
	}
	if (f->n_pods > FL_PROTO_MAX_PODS || f->n_removed_pods > FL_PROTO_MAX_PODS ||
	    f->n_workloads > FL_PROTO_MAX_WORKLOADS) {
		return fl_seterr(
		    err, FL_ELIMIT,
		    "pods: %" PRIu32 " (removed %" PRIu32 "), workloads: %" PRIu32 ", more than the %u / %u allowed",
		    f->n_pods, f->n_removed_pods, f->n_workloads, FL_PROTO_MAX_PODS, FL_PROTO_MAX_WORKLOADS);
	}
	if (f->n_rdma > FL_PROTO_MAX_RDMA || f->n_jobs > FL_PROTO_MAX_JOBS) {
		return fl_seterr(err, FL_ELIMIT, "rdma: %" PRIu32 ", jobs: %" PRIu32 ", more than the %u / %u allowed",
		                 f->n_rdma, f->n_jobs, FL_PROTO_MAX_RDMA, FL_PROTO_MAX_JOBS);
	}
	if ((f->n_rdma > 0 && f->rdma == NULL) || (f->n_jobs > 0 && f->jobs == NULL) ||
	    (f->n_nodes > 0 && f->nodes == NULL) || (f->n_gpus > 0 && f->gpus == NULL) ||
	    (f->n_removed_nodes > 0 && f->removed_nodes == NULL) || (f->n_pods > 0 && f->pods == NULL) ||
	    (f->n_workloads > 0 && f->workloads == NULL) || (f->n_removed_pods > 0 && f->removed_pods == NULL)) {
		return fl_seterr(err, FL_EINVAL, "fl_proto_encode: a NULL array with a non-zero count");
	}
	if ((f->n_removed_nodes > 0 || f->n_removed_pods > 0) && f->env.kind != FL_FRAME_DELTA) {
		return fl_seterr(err, FL_EINVAL, "%s: only a delta frame may remove %s",
		                 f->n_removed_nodes > 0 ? "removed_nodes" : "removed_pods",
		                 f->n_removed_nodes > 0 ? "nodes" : "pods");
	}
	if (key == NULL || key_len < FL_KEY_MIN_LEN || key_len > FL_KEY_MAX_LEN) {
		return fl_seterr(err, FL_EINVAL, "fl_proto_encode: a signing key of %u..%u bytes is required",
		                 FL_KEY_MIN_LEN, FL_KEY_MAX_LEN);
	}
	return FL_OK;
}

/* Writes item idx of one of f's arrays. */
typedef void put_item_fn(struct enc *e, const fl_proto_frame *f, uint32_t idx);

/* Writes key and the array of f's n items put writes; bounded: checks the frame size after each item. */
static void put_list(struct enc *e, const fl_proto_frame *f, const char *key, uint32_t n, put_item_fn *put,
                     bool bounded)
{
	kv_key(e, key);
	put_array(e, n);
	for (uint32_t i = 0; i < n && e->rv == FL_OK; i++) {
		put(e, f, i);
		if (bounded) {
			check_size(e);
		}
	}
}

/* Writes the payload map in FORMAT.md's order. An empty array is written only where its absence would say
 * something else: a full frame always lists nodes, gpus, pods and workloads (absent means "none"), and a
 * node frame always writes host, gpus, rdma and jobs. */
static void put_payload(struct enc *e, const fl_proto_frame *f)
{
	const bool full = f->env.kind == FL_FRAME_FULL, node = f->env.kind == FL_FRAME_NODE;
	const bool with_nodes = f->n_nodes > 0 || full, with_gpus = f->n_gpus > 0 || full || node,
	           with_removed = f->n_removed_nodes > 0, with_pods = f->n_pods > 0 || full,
	           with_workloads = f->n_workloads > 0 || full, with_removed_pods = f->n_removed_pods > 0,
	           with_host = f->has_host || node, with_rdma = f->n_rdma > 0 || node,
	           with_jobs = f->n_jobs > 0 || node;

	put_map(e, (uint32_t)f->has_facts + with_nodes + with_gpus + f->has_overview + with_removed + with_pods +
	               with_workloads + with_removed_pods + with_host + with_rdma + with_jobs);
	if (f->has_facts) {
		kv_key(e, "facts");
		put_facts(e, &f->facts);
	}
	if (with_nodes) {
		put_list(e, f, "nodes", f->n_nodes, put_node, true);
	}
	if (with_gpus) {
		put_list(e, f, "gpus", f->n_gpus, put_gpu, true);
	}
	if (f->has_overview) {
		kv_key(e, "overview");
		put_overview(e, &f->overview);
	}
	if (with_removed) {
		put_list(e, f, "removed_nodes", f->n_removed_nodes, put_removed_node, false);
	}
	if (with_pods) {
		put_list(e, f, "pods", f->n_pods, put_pod, true);
	}
	if (with_workloads) {
		put_list(e, f, "workloads", f->n_workloads, put_workload, true);
	}
	if (with_removed_pods) {
		put_list(e, f, "removed_pods", f->n_removed_pods, put_removed_pod, false);
	}
	if (with_host) {
		kv_key(e, "host");
		put_host(e, &f->host);
	}
	if (with_rdma) {
		put_list(e, f, "rdma", f->n_rdma, put_rdma, false);
	}
	if (with_jobs) {
		put_list(e, f, "jobs", f->n_jobs, put_job, true);
	}
}

/* Appends the signature over envelope and payload as written: everything after the 1-byte array header. */
static void put_signature(struct enc *e, const uint8_t *key, size_t key_len)
{
	uint8_t sig[FL_PROTO_SIG_LEN];

	if (e->rv == FL_OK && fl_proto_hmac(key, key_len, e->sb.data + 1, e->sb.size - 1, sig) != FL_OK) {
		e->rv = fl_seterr(e->err, FL_EINVAL, "frame: libcrypto could not compute the signature");
	}
	if (e->rv == FL_OK) {
		e->elements++;
		enc_check(e, msgpack_pack_bin(&e->pk, FL_PROTO_SIG_LEN));
		enc_check(e, msgpack_pack_bin_body(&e->pk, sig, FL_PROTO_SIG_LEN));
	}
}

int fl_proto_encode(const fl_proto_frame *f, const uint8_t *key, size_t key_len, char **out, size_t *out_len,
                    char err[FL_ERR_LEN])
{
	struct enc e = {.rv = FL_OK, .err = err};

	if (out == NULL || out_len == NULL) {
		return fl_seterr(err, FL_EINVAL, "fl_proto_encode: NULL output");
	}
	*out = NULL;
	*out_len = 0;
	if (f == NULL) {
		return fl_seterr(err, FL_EINVAL, "fl_proto_encode: NULL frame");
	}
	if ((e.rv = check_frame(f, key, key_len, err)) != FL_OK) {
		return e.rv;
	}
	msgpack_sbuffer_init(&e.sb);
	msgpack_packer_init(&e.pk, &e.sb, msgpack_sbuffer_write);
	put_array(&e, 3); /* one byte (fixarray): the signed bytes start at offset 1 */
	put_envelope(&e, &f->env);
	put_payload(&e, f);
	if (e.rv == FL_OK) { /* every name is checked and terminated by now */
		e.rv = fl_proto_check_shape(f, FL_EINVAL, err);
	}
	put_signature(&e, key, key_len);
	check_size(&e);
	if (e.rv == FL_OK && e.elements > FL_PROTO_MAX_ELEMENTS) {
		e.rv = fl_seterr(err, FL_ELIMIT, "frame: %" PRIu64 " msgpack objects, more than the %u allowed",
		                 e.elements, FL_PROTO_MAX_ELEMENTS);
	}
	if (e.rv != FL_OK) {
		msgpack_sbuffer_destroy(&e.sb);
		return e.rv;
	}
	*out_len = e.sb.size;
	*out = msgpack_sbuffer_release(&e.sb);
	return FL_OK;
}

int fl_proto_ack_encode(const fl_proto_ack *ack, char **out, size_t *out_len)
{
	static const char *const status_names[] = {"ok", "duplicate", "rejected", "retry"};
	struct enc e = {.rv = FL_OK, .err = NULL};
	const char *status;

	if (out == NULL || out_len == NULL) {
		return FL_EINVAL;
	}
	*out = NULL;
	*out_len = 0;
	if (ack == NULL || (unsigned)ack->status > FL_ACK_RETRY || ack->seq > (uint64_t)INT64_MAX ||
	    strnlen(ack->reason, sizeof(ack->reason)) == sizeof(ack->reason)) {
		return FL_EINVAL;
	}
	status = status_names[ack->status];
	msgpack_sbuffer_init(&e.sb);
	msgpack_packer_init(&e.pk, &e.sb, msgpack_sbuffer_write);
	put_map(&e, 4);
	kv_int(&e, "ack", "seq", (int64_t)ack->seq, 0, INT64_MAX);
	kv_key(&e, "status");
	put_str(&e, status, strlen(status));
	kv_bool(&e, "full", ack->want_full);
	kv_str(&e, "ack", "reason", ack->reason, sizeof(ack->reason));
	if (e.rv != FL_OK) {
		msgpack_sbuffer_destroy(&e.sb);
		return e.rv;
	}
	*out_len = e.sb.size;
	*out = msgpack_sbuffer_release(&e.sb);
	return FL_OK;
}
