/* fl_proto_json.c — JSON views of frames, nodes, GPUs and overviews (jansson), Lens field names. */
#include "fl_proto.h"

#include <math.h>

/* A JSON number for v, or null when v is absent or not finite (JSON has no NaN or infinity). */
static json_t *real_or_null(bool has, double v)
{
	return (has && isfinite(v)) ? json_real(v) : json_null();
}

json_t *fl_proto_overview_to_json(const fl_proto_overview *o)
{
	uint32_t u = o->unknown;
#define KNOWN(bit) ((u & (bit)) == 0)
	json_t *j =
	    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, "
	              "s:I, s:I, s:[]}",
	              "totalNodes", (json_int_t)o->total_nodes, "healthyNodes", (json_int_t)o->healthy_nodes,
	              "faultyNodes", (json_int_t)o->faulty_nodes, "fullyIdleNodes", (json_int_t)o->fully_idle_nodes,
	              "partiallyIdleNodes", (json_int_t)o->partially_idle_nodes, "busyNodes", (json_int_t)o->busy_nodes,
	              "allocationRate", real_or_null(true, o->allocation_rate), "utilization",
	              real_or_null(KNOWN(FL_OV_UTILIZATION), o->utilization), "total_space",
	              real_or_null(KNOWN(FL_OV_TOTAL_SPACE), o->total_space), "used_space",
	              real_or_null(KNOWN(FL_OV_USED_SPACE), o->used_space), "usage_percentage",
	              real_or_null(KNOWN(FL_OV_USAGE_PERCENTAGE), o->usage_percentage), "total_inodes",
	              real_or_null(KNOWN(FL_OV_TOTAL_INODES), o->total_inodes), "used_inodes",
	              real_or_null(KNOWN(FL_OV_USED_INODES), o->used_inodes), "inodes_usage_percentage",
	              real_or_null(KNOWN(FL_OV_INODES_USAGE_PERCENTAGE), o->inodes_usage_percentage), "read_bandwidth",
	              real_or_null(KNOWN(FL_OV_READ_BANDWIDTH), o->read_bandwidth), "write_bandwidth",
	              real_or_null(KNOWN(FL_OV_WRITE_BANDWIDTH), o->write_bandwidth), "total_tx",
	              real_or_null(KNOWN(FL_OV_TOTAL_TX), o->total_tx), "total_rx",
	              real_or_null(KNOWN(FL_OV_TOTAL_RX), o->total_rx), "gpusAllocatable",
	              (json_int_t)o->gpus_allocatable, "gpusAllocated", (json_int_t)o->gpus_allocated, "unknown");
#undef KNOWN
	json_t *list = j != NULL ? json_object_get(j, "unknown") : NULL;
	for (uint32_t i = 0; list != NULL && i < FL_OV_FIGURES; i++) {
		if (((u >> i) & 1u) &&
		    json_array_append_new(list, json_string(fl_proto_overview_figure_name(1u << i))) != 0) {
			json_decref(j);
			return NULL;
		}
	}
	return j;
}

json_t *fl_proto_node_to_json(const fl_proto_node *n)
{
	json_t *taints = json_array();

	if (taints == NULL) {
		return NULL;
	}
	for (uint32_t i = 0; i < n->n_taints; i++) {
		const fl_proto_taint *t = &n->taints[i];

		if (json_array_append_new(taints, json_pack("{s:s, s:s, s:s}", "key", t->key, "value", t->value,
		                                            "effect", t->effect)) != 0) {
			json_decref(taints);
			return NULL;
		}
	}
	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:o, s:s, s:b, s:b, s:I, s:I, s:s, s:s, s:s, s:s, s:o}", "name",
	                 n->name, "ip", n->ip, "gpu_name", n->gpu_name, "gpu_count", (json_int_t)n->gpu_count,
	                 "gpu_allocation", (json_int_t)n->gpu_allocation, "gpu_utilization",
	                 real_or_null(n->has_utilization, n->gpu_utilization), "status", n->status, "unschedulable",
	                 (int)n->unschedulable, "faulty", (int)n->faulty, "cpu_millis", (json_int_t)n->cpu_millis,
	                 "memory_bytes", (json_int_t)n->memory_bytes, "kubelet_version", n->kubelet_version, "os_image",
	                 n->os_image, "kernel_version", n->kernel_version, "container_runtime", n->container_runtime,
	                 "taints", taints);
}

json_t *fl_proto_gpu_to_json(const fl_proto_gpu *g)
{
	json_t *j = json_pack("{s:s, s:i, s:s, s:I, s:o, s:o, s:o, s:s, s:i}", "node", g->node, "gpu_id",
	                      (int)g->gpu_id, "gpu_model", g->gpu_model, "memory_mib", (json_int_t)g->memory_mib,
	                      "utilization", real_or_null(g->has_utilization, g->utilization), "temperature",
	                      real_or_null(true, g->temperature), "power", real_or_null(true, g->power), "serial",
	                      g->serial, "numa", (int)g->numa);

	/* FORMAT.md 3.5's optional keys, like the frame: only when set */
	if (j != NULL &&
	    ((g->has_memory_used &&
	      json_object_set_new(j, "memory_used_mib", json_integer((json_int_t)g->memory_used_mib)) != 0) ||
	     (g->health[0] != '\0' && json_object_set_new(j, "health", json_string(g->health)) != 0) ||
	     (g->health_detail[0] != '\0' &&
	      json_object_set_new(j, "health_detail", json_string(g->health_detail)) != 0))) {
		json_decref(j);
		return NULL;
	}
	return j;
}

json_t *fl_proto_pod_to_json(const fl_proto_pod *p)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:b, s:s, s:o, s:I}", "uid", p->uid, "namespace", p->ns,
	                 "name", p->name, "node", p->node, "gpus", (json_int_t)p->gpus, "phase", p->phase, "running",
	                 (int)p->running, "workload_uid", p->workload_uid, "utilization",
	                 real_or_null(p->has_utilization, p->utilization), "created", (json_int_t)p->created_ms);
}

json_t *fl_proto_workload_to_json(const fl_proto_workload *w)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:o, s:I, s:I, s:s}", "uid", w->uid, "kind", w->kind,
	                 "api_version", w->api_version, "namespace", w->ns, "name", w->name, "status", w->status,
	                 "gpu_request", (json_int_t)w->gpu_request, "pods", (json_int_t)w->pods, "utilization",
	                 real_or_null(w->has_utilization, w->utilization), "created", (json_int_t)w->created_ms,
	                 "ended", (json_int_t)w->ended_ms, "safe_workload_id", w->safe_workload_id);
}

/* Appends to a new array each of n items (size sz each, at items) as to_json turns it; NULL on failure. */
static json_t *json_list(const void *items, uint32_t n, size_t sz, json_t *(*to_json)(const void *))
{
	json_t *a = json_array();

	for (uint32_t i = 0; a != NULL && i < n; i++) {
		if (json_array_append_new(a, to_json((const char *)items + i * sz)) != 0) {
			json_decref(a);
			a = NULL;
		}
	}
	return a;
}

static json_t *pod_json(const void *p)
{
	return fl_proto_pod_to_json(p);
}
static json_t *workload_json(const void *w)
{
	return fl_proto_workload_to_json(w);
}
static json_t *name_json(const void *n)
{
	return json_string(((const fl_proto_name *)n)->name);
}

static json_t *opt_num(bool has, double v)
{
	return has ? json_real(v) : json_null();
}

static json_t *rdma_json(const void *p)
{
	const fl_proto_rdma *r = p;
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:o, s:o}", "name", r->name, "node_guid", r->node_guid,
	                 "fw_version", r->fw_version, "port_state", r->port_state, "link_layer", r->link_layer,
	                 "rx_bytes", (json_int_t)r->rx_bytes, "tx_bytes", (json_int_t)r->tx_bytes, "rx_rate",
	                 opt_num(r->has_rates, r->rx_rate), "tx_rate", opt_num(r->has_rates, r->tx_rate));
}

/* A parameter's number as JSON: an integer when it is one (within +-2^53), else a real. */
static json_t *num_json(double v)
{
	if (isfinite(v) && v == floor(v) && fabs(v) <= 9007199254740992.0) {
		return json_integer((json_int_t)v);
	}
	return real_or_null(true, v);
}

/* A job's parameters or environment variables as one object {key: value}; NULL on failure. */
static json_t *kvs_json(const fl_proto_kv *kv, uint32_t n)
{
	json_t *o = json_object();

	for (uint32_t i = 0; o != NULL && i < n; i++) {
		if (json_object_set_new(o, kv[i].key, kv[i].is_num ? num_json(kv[i].num) : json_string(kv[i].value)) !=
		    0) {
			json_decref(o);
			o = NULL;
		}
	}
	return o;
}

json_t *fl_proto_gpu_mask_to_json(const uint64_t mask[4])
{
	json_t *a = json_array();

	for (int32_t id = 0; a != NULL && id < (int32_t)FL_PROTO_MAX_NODE_GPUS; id++) {
		if (fl_proto_gpu_mask_has(mask, id) && json_array_append_new(a, json_integer(id)) != 0) {
			json_decref(a);
			a = NULL;
		}
	}
	return a;
}

static json_t *job_json(const void *p)
{
	const fl_proto_job *j = p;
	return json_pack("{s:I, s:I, s:I, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:o, s:I, s:I, s:I, s:o, s:o, s:o, "
	                 "s:s, s:o, s:o}",
	                 "pid", (json_int_t)j->pid, "ppid", (json_int_t)j->ppid, "pgid", (json_int_t)j->pgid, "name",
	                 j->name, "cmdline", j->cmdline, "started_ms", (json_int_t)j->started_ms, "cwd", j->cwd,
	                 "framework", j->framework, "pod_uid", j->pod_uid, "devices", j->devices, "state", j->state,
	                 "cpu", real_or_null(j->has_cpu, j->cpu_percent), "rss", (json_int_t)j->rss_bytes, "threads",
	                 (json_int_t)j->threads, "fds", (json_int_t)j->fds, "gpu_memory",
	                 j->has_gpu_memory ? json_integer((json_int_t)j->gpu_memory_bytes) : json_null(), "gpus",
	                 fl_proto_gpu_mask_to_json(j->gpu_mask), "gpu_util",
	                 real_or_null(j->has_gpu_utilization, j->gpu_utilization), "config", j->config_path, "params",
	                 kvs_json(j->params, j->n_params), "env", kvs_json(j->env, j->n_env));
}

/* A node frame's own keys, added to its JSON view j (stolen; NULL on failure). */
static json_t *with_node_keys(json_t *j, const fl_proto_frame *f)
{
	if (j == NULL || f->env.kind != FL_FRAME_NODE) {
		return j;
	}
	json_t *host = json_pack("{s:s, s:s}", "node", f->host.node, "gpu_source", f->host.gpu_source);
	json_t *rdma = json_list(f->rdma, f->n_rdma, sizeof(fl_proto_rdma), rdma_json);
	json_t *jobs = json_list(f->jobs, f->n_jobs, sizeof(fl_proto_job), job_json);
	if (json_object_set_new(j, "host", host) != 0 || json_object_set_new(j, "rdma", rdma) != 0 ||
	    json_object_set_new(j, "jobs", jobs) != 0) {
		json_decref(j);
		return NULL;
	}
	return j;
}

json_t *fl_proto_frame_to_json(const fl_proto_frame *f)
{
	const char *kind = fl_proto_kind_name(f->env.kind);
	json_t *nodes = json_array(), *gpus = json_array(), *removed = json_array(), *facts = NULL, *overview = NULL;

	if (nodes == NULL || gpus == NULL || removed == NULL) {
		goto fail;
	}
	for (uint32_t i = 0; i < f->n_nodes; i++) {
		if (json_array_append_new(nodes, fl_proto_node_to_json(&f->nodes[i])) != 0) {
			goto fail;
		}
	}
	for (uint32_t i = 0; i < f->n_gpus; i++) {
		if (json_array_append_new(gpus, fl_proto_gpu_to_json(&f->gpus[i])) != 0) {
			goto fail;
		}
	}
	for (uint32_t i = 0; i < f->n_removed_nodes; i++) {
		if (json_array_append_new(removed, json_string(f->removed_nodes[i].name)) != 0) {
			goto fail;
		}
	}
	facts = f->has_facts ? json_pack("{s:s, s:s, s:s}", "k8s_version", f->facts.k8s_version, "spoke_version",
	                                 f->facts.spoke_version, "source", f->facts.source)
	                     : json_null();
	overview = f->has_overview ? fl_proto_overview_to_json(&f->overview) : json_null();
	if (facts == NULL || overview == NULL) {
		goto fail;
	}
	/* "o" steals the references, also when json_pack fails (NULL from json_list included) */
	return with_node_keys(
	    json_pack("{s:{s:i, s:s, s:s, s:I, s:I, s:s?}, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "envelope",
	              "version", (int)f->env.version, "cluster", f->env.cluster, "spoke", f->env.spoke_id, "seq",
	              (json_int_t)f->env.seq, "sent_at_ms", (json_int_t)f->env.sent_at_ms, "kind", kind, "facts", facts,
	              "nodes", nodes, "gpus", gpus, "overview", overview, "removed_nodes", removed, "pods",
	              json_list(f->pods, f->n_pods, sizeof(fl_proto_pod), pod_json), "workloads",
	              json_list(f->workloads, f->n_workloads, sizeof(fl_proto_workload), workload_json), "removed_pods",
	              json_list(f->removed_pods, f->n_removed_pods, sizeof(fl_proto_name), name_json)),
	    f);
fail:
	json_decref(nodes);
	json_decref(gpus);
	json_decref(removed);
	json_decref(facts);
	json_decref(overview);
	return NULL;
}
