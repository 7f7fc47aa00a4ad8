/* hub_api_v1.c — the Lens-compatible /v1 routes, answered from the in-memory view (hub_view). Every
 * list covers only the clusters the caller's token sees; a cluster outside them is "not found". */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl_log.h"
#include "fl_time.h"
#include "hub_api_int.h"
#include "hub_node.h"
#include "hub_json.h"
#include "hub_params.h"

#define HUB_API_MAX_ANSWER (64u << 20) /* a written answer larger than this is refused (500) */

/* --- small JSON helpers -------------------------------------------------------------------------- */

static json_t *time_or_null(int64_t ms)
{
	if (ms <= 0)
		return json_null();
	char buf[40];
	fl_format_time(ms, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *age_or_null(int64_t last_ms, int64_t now_ms)
{
	return last_ms > 0 ? json_real((double)(now_ms - last_ms) / 1000.0) : json_null();
}

static json_t *str_or_null(const char *s)
{
	return s[0] != '\0' ? json_string(s) : json_null();
}

static json_t *num_or_null(double x)
{
	return isfinite(x) ? json_real(x) : json_null();
}

/* Appends item (stolen) to arr; on failure frees arr and returns NULL. */
static json_t *append(json_t *arr, json_t *item)
{
	if (arr == NULL || item == NULL || json_array_append_new(arr, item) != 0) {
		json_decref(arr);
		json_decref(item);
		return NULL;
	}
	return arr;
}

static const char *status_of(hub_req *r, size_t i, int64_t now)
{
	return hub_status_of(hub_view_last_frame_ms(r->api->view, i), now, r->api->cfg->stale_after_ms,
	                     r->api->cfg->offline_after_ms);
}

/* The overview's Lens fields plus updatedAt; NULL if out of memory. */
static json_t *overview_json(const hub_view_snap *s)
{
	json_t *o = fl_proto_overview_to_json(&s->overview);
	if (o != NULL && json_object_set_new(o, "updatedAt", time_or_null(s->overview_ms)) != 0) {
		json_decref(o);
		o = NULL;
	}
	return o;
}

/* --- parameters ------------------------------------------------------------------------------------ */

/* Reads ?cluster=. *idx is the cluster's index, or -1 when the parameter is absent. Returns 0, or the
 * status it answered with (400 bad value, 404 unknown or outside the caller's scope). */
static int cluster_arg(hub_req *r, int *idx)
{
	char name[FL_CLUSTER_LEN], msg[FL_ERR_LEN];
	*idx = -1;
	if (hub_params_name(r->query, "cluster", name, sizeof(name), msg) != FL_OK)
		return hub_api_error(r, 400, "%s", msg);
	if (name[0] == '\0')
		return 0;
	int i = hub_view_find(r->api->view, name);
	if (i < 0 || !r->scope[i])
		return hub_api_error(r, 404, "cluster '%s' not found", name);
	*idx = i;
	return 0;
}

int hub_api_cluster_set(hub_req *r, bool with_labels, bool **out)
{
	*out = NULL;
	int idx, rv;
	if ((rv = cluster_arg(r, &idx)) != 0)
		return rv;
	hub_label labels[HUB_PARAM_MAX_LABELS];
	size_t n_labels = 0;
	char msg[FL_ERR_LEN];
	if (with_labels && hub_params_labels(r->query, labels, &n_labels, msg) != FL_OK)
		return hub_api_error(r, 400, "%s", msg);
	hub_view *v = r->api->view;
	bool *set = calloc(hub_view_count(v) + 1, sizeof(bool));
	if (set == NULL)
		return hub_api_error(r, 500, "out of memory");
	for (size_t i = 0; i < hub_view_count(v); i++)
		set[i] = r->scope[i] && (idx < 0 || (size_t)idx == i) &&
		         hub_auth_labels_match(hub_view_conf(v, i), labels, n_labels);
	*out = set;
	return 0;
}

/* --- clusters -------------------------------------------------------------------------------------- */

int hub_api_v1_clusters(hub_req *r)
{
	hub_view *v = r->api->view;
	bool *set;
	int rv = hub_api_cluster_set(r, true, &set);
	if (rv != 0)
		return rv;
	int64_t now = fl_now_ms();
	json_t *arr = json_array();
	for (size_t i = 0; arr != NULL && i < hub_view_count(v); i++) {
		if (!set[i])
			continue;
		hub_view_snap *s = hub_view_get(v, i);
		int64_t last = hub_view_last_frame_ms(v, i);
		arr = append(arr,
		             json_pack("{s:s,s:o,s:s,s:o,s:o,s:o,s:o,s:o}", "name", s->name, "labels",
		                       hub_config_labels_json(hub_view_conf(v, i)), "status", status_of(r, i, now),
		                       "lastFrameAt", time_or_null(last), "lastFrameAgeSeconds", age_or_null(last, now),
		                       "k8sVersion", str_or_null(s->has_facts ? s->facts.k8s_version : ""),
		                       "spokeVersion", str_or_null(s->has_facts ? s->facts.spoke_version : ""),
		                       "overview", s->has_overview ? overview_json(s) : json_null()));
		hub_view_release(s);
	}
	free(set);
	return hub_api_ok(r, arr);
}

int hub_api_v1_overview(hub_req *r)
{
	hub_view *v = r->api->view;
	int idx, rv;
	if ((rv = cluster_arg(r, &idx)) != 0)
		return rv;
	if (idx < 0) {
		/* Left out: allowed when the caller sees exactly one cluster. */
		for (size_t i = 0; i < hub_view_count(v); i++) {
			if (r->scope[i] && idx >= 0)
				return hub_api_error(r, 400, "parameter 'cluster' is required");
			if (r->scope[i])
				idx = (int)i;
		}
		if (idx < 0)
			return hub_api_error(r, 400, "parameter 'cluster' is required");
	}
	int64_t now = fl_now_ms();
	hub_view_snap *s = hub_view_get(v, (size_t)idx);
	if (hub_view_last_frame_ms(v, (size_t)idx) <= 0) {
		rv = hub_api_error(r, 503, "cluster '%s' has not reported yet", s->name);
	} else if (!s->has_overview) {
		rv = hub_api_error(r, 503, "cluster '%s' has not reported an overview yet", s->name);
	} else {
		/* The snapshot's pre-written overview text, then what depends on now: status and the age of the
		 * figures. */
		hub_json j;
		hub_json_init(&j, HUB_API_MAX_ANSWER);
		hub_json_reserve(&j, sizeof(HUB_API_OK_HEAD) + s->overview_len + 96);
		hub_json_raw(&j, HUB_API_OK_HEAD);
		hub_json_mem(&j, s->overview_text, s->overview_len);
		hub_json_raw(&j, ",\"status\":");
		hub_json_str(&j, status_of(r, (size_t)idx, now));
		hub_json_raw(&j, ",\"ageSeconds\":");
		if (s->overview_ms > 0)
			hub_json_real(&j, (double)(now - s->overview_ms) / 1000.0);
		else
			hub_json_raw(&j, "null");
		hub_json_raw(&j, "}}");
		size_t len = 0;
		char *text = hub_json_take(&j, &len);
		rv = text != NULL ? hub_api_ok_text(r, text, len) : hub_api_error(r, 500, "out of memory");
		free(text);
	}
	hub_view_release(s);
	return rv;
}

int hub_api_v1_fleet_overview(hub_req *r)
{
	hub_view *v = r->api->view;
	size_t n = hub_view_count(v);
	bool *set;
	int rv = hub_api_cluster_set(r, true, &set);
	if (rv != 0)
		return rv;
	int64_t now = fl_now_ms();
	fl_proto_overview sum;
	memset(&sum, 0, sizeof(sum));
	double util_weighted = 0, util_gpus = 0;
	int64_t matched = 0, reporting = 0, by_status[4] = {0, 0, 0, 0}, oldest_ms = 0;
	uint32_t unknown_in_all = FL_OV_ALL; /* figures no reporting cluster knows */
	static const char *const statuses[4] = {"online", "stale", "offline", "never_seen"};
	for (size_t i = 0; i < n; i++) {
		if (!set[i])
			continue;
		matched++;
		const char *st = status_of(r, i, now);
		for (int k = 0; k < 4; k++)
			by_status[k] += strcmp(st, statuses[k]) == 0;
		hub_view_snap *s = hub_view_get(v, i);
		if (s->has_overview) {
			const fl_proto_overview *o = &s->overview;
			reporting++;
			sum.total_nodes += o->total_nodes;
			sum.healthy_nodes += o->healthy_nodes;
			sum.faulty_nodes += o->faulty_nodes;
			sum.fully_idle_nodes += o->fully_idle_nodes;
			sum.partially_idle_nodes += o->partially_idle_nodes;
			sum.busy_nodes += o->busy_nodes;
			sum.gpus_allocatable += o->gpus_allocatable;
			sum.gpus_allocated += o->gpus_allocated;
			sum.total_space += o->total_space;
			sum.used_space += o->used_space;
			sum.total_inodes += o->total_inodes;
			sum.used_inodes += o->used_inodes;
			sum.read_bandwidth += o->read_bandwidth;
			sum.write_bandwidth += o->write_bandwidth;
			sum.total_tx += o->total_tx;
			sum.total_rx += o->total_rx;
			unknown_in_all &= o->unknown; /* an unknown figure was sent as 0: adds nothing */
			util_weighted += o->utilization * (double)s->n_gpus_util;
			util_gpus += (double)s->n_gpus_util;
			if (oldest_ms == 0 || s->overview_ms < oldest_ms)
				oldest_ms = s->overview_ms;
		}
		hub_view_release(s);
	}
	free(set);
	/* Rates of the fleet: ratios of the sums (each cluster weighted by its GPUs), not means of rates. */
	sum.allocation_rate =
	    sum.gpus_allocatable > 0 ? 100.0 * (double)sum.gpus_allocated / (double)sum.gpus_allocatable : 0.0;
	sum.utilization = util_gpus > 0 ? util_weighted / util_gpus : 0.0;
	sum.usage_percentage = sum.total_space > 0 ? 100.0 * sum.used_space / sum.total_space : 0.0;
	sum.inodes_usage_percentage = sum.total_inodes > 0 ? 100.0 * sum.used_inodes / sum.total_inodes : 0.0;
	sum.unknown = reporting > 0 ? unknown_in_all : 0;
	json_t *data = fl_proto_overview_to_json(&sum);
	json_t *bs =
	    json_pack("{s:I,s:I,s:I,s:I}", "online", (json_int_t)by_status[0], "stale", (json_int_t)by_status[1],
	              "offline", (json_int_t)by_status[2], "never_seen", (json_int_t)by_status[3]);
	if (data == NULL || bs == NULL || json_object_set_new(data, "clusters", json_integer(matched)) ||
	    json_object_set_new(data, "clustersReporting", json_integer(reporting)) ||
	    json_object_set_new(data, "byStatus", bs) ||
	    json_object_set_new(data, "oldestUpdatedAt", time_or_null(oldest_ms))) {
		json_decref(data);
		data = NULL;
	}
	return hub_api_ok(r, data);
}

int hub_api_v1_heatmap(hub_req *r)
{
	hub_view *v = r->api->view;
	bool *set;
	int rv = hub_api_cluster_set(r, false, &set);
	if (rv != 0)
		return rv;
	json_t *rows = json_array();
	uint32_t max_gpus = 0;
	const size_t *order = hub_view_by_name(v);
	for (size_t k = 0; rows != NULL && k < hub_view_count(v); k++) {
		if (!set[order[k]])
			continue;
		hub_view_snap *s = hub_view_get(v, order[k]);
		for (uint32_t j = 0; rows != NULL && j < s->n_nodes; j++) {
			const hub_view_node *n = s->nodes[j];
			if (n->n_gpus == 0)
				continue;
			max_gpus = n->n_gpus > max_gpus ? n->n_gpus : max_gpus;
			json_t *ids = json_array(), *utils = json_array();
			for (uint32_t g = 0; g < n->n_gpus; g++) {
				ids = append(ids, json_integer(n->gpus[g].gpu_id));
				utils = append(utils, num_or_null(n->gpus[g].utilization));
			}
			rows = append(rows, ids == NULL || utils == NULL
			                        ? (json_decref(ids), json_decref(utils), NULL)
			                        : json_pack("{s:s,s:s,s:o,s:o,s:o}", "cluster_name", s->name, "name",
			                                    hub_view_str(n, n->name), "gpu_utilization",
			                                    num_or_null(n->gpu_utilization), "gpu_ids", ids,
			                                    "utilization", utils));
		}
		hub_view_release(s);
	}
	free(set);
	return hub_api_ok(r,
	                  rows != NULL ? json_pack("{s:I,s:o}", "maxGpus", (json_int_t)max_gpus, "rows", rows) : NULL);
}

/* --- nodes ----------------------------------------------------------------------------------------- */

static json_t *node_row(const hub_view_snap *s, const hub_view_node *n)
{
	return json_pack("{s:s,s:s,s:s,s:I,s:I,s:o,s:s,s:s}", "name", hub_view_str(n, n->name), "ip",
	                 hub_view_str(n, n->ip), "gpu_name", hub_view_str(n, n->gpu_name), "gpu_count",
	                 (json_int_t)n->gpu_count, "gpu_allocation", (json_int_t)n->gpu_allocation, "gpu_utilization",
	                 num_or_null(n->gpu_utilization), "status", hub_view_str(n, n->status), "cluster_name",
	                 s->name);
}

int hub_api_v1_nodes(hub_req *r)
{
	hub_view *v = r->api->view;
	hub_node_query q;
	memset(&q, 0, sizeof(q));
	char name[FL_NAME_LEN], gpu_name[FL_MODEL_LEN], statuses[HUB_PARAM_MAX + 1], msg[FL_ERR_LEN];
	bool *set;
	int rv = hub_api_cluster_set(r, false, &set);
	if (rv != 0)
		return rv;
	if (hub_params_name(r->query, "name", name, sizeof(name), msg) != FL_OK ||
	    hub_params_text(r->query, "gpu_name", gpu_name, msg) != FL_OK ||
	    hub_params_statuses(r->query, statuses, q.statuses, &q.n_statuses, msg) != FL_OK ||
	    hub_params_page(r->query, &q.page_num, &q.page_size, msg) != FL_OK ||
	    hub_params_order(r->query, &q.order, msg) != FL_OK ||
	    hub_params_bool(r->query, "desc", false, &q.desc, msg)) {
		free(set);
		return hub_api_error(r, 400, "%s", msg);
	}
	q.clusters = set;
	q.name = name;
	q.gpu_name = gpu_name;
	hub_node_page page;
	if (hub_view_query_nodes(v, &q, &page) != FL_OK) {
		free(set);
		return hub_api_error(r, 500, "out of memory");
	}
	/* The hot route: each row is the node record's pre-written text (the same fields node_row gives)
	 * and its cluster's name, copied into one buffer sized up front: the whole envelope, one write. */
	size_t need = sizeof(HUB_API_OK_HEAD) + 64;
	for (size_t k = 0; k < page.n_rows; k++)
		need += page.rows[k].node->row_len + strlen(page.rows[k].snap->name) + 4;
	hub_json j;
	hub_json_init(&j, HUB_API_MAX_ANSWER);
	hub_json_reserve(&j, need);
	hub_json_raw(&j, HUB_API_OK_HEAD "{\"data\":[");
	for (size_t k = 0; k < page.n_rows; k++) {
		const hub_view_node *n = page.rows[k].node;
		if (k > 0)
			hub_json_mem(&j, ",", 1);
		hub_json_mem(&j, hub_view_str(n, n->row), n->row_len);
		hub_json_str(&j, page.rows[k].snap->name);
		hub_json_mem(&j, "}", 1);
	}
	hub_json_raw(&j, "],\"total\":");
	hub_json_int(&j, (int64_t)page.total);
	hub_json_raw(&j, "}}");
	hub_node_page_free(&page);
	free(set);
	size_t len = 0;
	char *text = hub_json_take(&j, &len);
	if (text == NULL)
		return hub_api_error(r, 500, "out of memory");
	rv = hub_api_ok_text(r, text, len);
	free(text);
	return rv;
}

int hub_api_v1_gpu_allocation(hub_req *r)
{
	hub_view *v = r->api->view;
	bool *set;
	int rv = hub_api_cluster_set(r, false, &set);
	if (rv != 0)
		return rv;
	json_t *rows = json_array();
	const size_t *order = hub_view_by_name(v);
	for (size_t k = 0; rows != NULL && k < hub_view_count(v); k++) {
		if (!set[order[k]])
			continue;
		hub_view_snap *s = hub_view_get(v, order[k]);
		for (uint32_t j = 0; rows != NULL && j < s->n_nodes; j++) {
			const hub_view_node *n = s->nodes[j];
			if (n->gpu_count <= 0)
				continue;
			rows =
			    append(rows, json_pack("{s:s,s:s,s:I,s:I,s:f}", "name", hub_view_str(n, n->name),
			                           "cluster_name", s->name, "gpu_count", (json_int_t)n->gpu_count,
			                           "gpu_allocation", (json_int_t)n->gpu_allocation, "allocation_rate",
			                           100.0 * (double)n->gpu_allocation / (double)n->gpu_count));
		}
		hub_view_release(s);
	}
	free(set);
	return hub_api_ok(r, rows);
}

#define NOT_IN_VIEW (-1) /* find_node: the view has no such node (nothing answered) */

/* Finds node r->name in the view's clusters the request covers. On success (0) *snap holds a reference
 * (release it) and *node points into it; NOT_IN_VIEW when no cluster has it; otherwise answers 400 (in
 * several clusters and no ?cluster=, or a bad parameter) and returns that status. */
static int find_node(hub_req *r, hub_view_snap **snap, const hub_view_node **node)
{
	hub_view *v = r->api->view;
	*snap = NULL;
	*node = NULL;
	bool *set;
	int rv = hub_api_cluster_set(r, false, &set);
	if (rv != 0)
		return rv;
	char where[512] = "";
	size_t found = 0, o = 0;
	const size_t *order = hub_view_by_name(v);
	for (size_t k = 0; k < hub_view_count(v); k++) {
		if (!set[order[k]])
			continue;
		hub_view_snap *s = hub_view_get(v, order[k]);
		const hub_view_node *hit = hub_view_snap_find(s, r->name);
		if (hit == NULL) {
			hub_view_release(s);
			continue;
		}
		if (o < sizeof(where) - 70)
			o += (size_t)snprintf(where + o, sizeof(where) - o, "%s%s", found ? ", " : "", s->name);
		if (found++ == 0) {
			*snap = s;
			*node = hit;
		} else {
			hub_view_release(s);
		}
	}
	free(set);
	if (rv != 0)
		return rv;
	if (found == 1)
		return 0;
	hub_view_release(*snap);
	*snap = NULL;
	if (found == 0)
		return NOT_IN_VIEW;
	return hub_api_error(r, 400, "parameter 'cluster' is required: node '%s' is in clusters %s", r->name, where);
}

/* The node agents that report node r->name in the clusters the request covers (hub_node_agents_json), as
 * a new array; NULL when the database could not tell (logged) — the answer then goes without them. */
static json_t *node_agents(hub_req *r)
{
	bool *set;
	if (hub_api_cluster_set(r, false, &set) != 0)
		return NULL; /* cannot happen: find_node checked the same parameters */
	char err[FL_ERR_LEN] = "", *text = NULL;
	int rv = hub_api_node_agents(r, set, &text, err);
	free(set);
	json_t *a = rv == FL_OK ? json_loads(text, 0, NULL) : NULL;
	free(text);
	if (a == NULL)
		fl_warn("api: node agents of '%s' unavailable: %s", r->name, rv != FL_OK ? err : "unreadable answer");
	return a;
}

/* The agent of cluster in agents (borrowed), or NULL. */
static json_t *agent_of(json_t *agents, const char *cluster)
{
	size_t i;
	json_t *a;
	json_array_foreach(agents, i, a)
	{
		if (strcmp(json_string_value(json_object_get(a, "cluster_name")), cluster) == 0)
			return a;
	}
	return NULL;
}

/* A node only node agents know of (not in the view): its one agent's cluster into cluster, or answers
 * 404 (none), 400 (several) or 503 (agents is NULL) and returns that status. */
static int agent_only(hub_req *r, json_t *agents, const char **cluster)
{
	size_t k = json_array_size(agents);
	if (agents == NULL)
		return hub_api_error(
		    r, 503, "node '%s' is not in any cluster's last frame and node agents are unavailable", r->name);
	if (k == 0)
		return hub_api_error(r, 404, "node '%s' not found", r->name);
	if (k > 1)
		return hub_api_error(
		    r, 400, "parameter 'cluster' is required: node '%s' has node agents in %zu clusters", r->name, k);
	*cluster = json_string_value(json_object_get(json_array_get(agents, 0), "cluster_name"));
	return 0;
}

int hub_api_v1_node(hub_req *r)
{
	hub_view_snap *s;
	const hub_view_node *n;
	int rv = find_node(r, &s, &n);
	if (rv > 0)
		return rv;
	json_t *agents = node_agents(r);
	if (rv == NOT_IN_VIEW) { /* known to node agents only: its Kubernetes facts are missing */
		const char *cluster = NULL;
		if ((rv = agent_only(r, agents, &cluster)) == 0)
			rv = hub_api_ok(r, json_pack("{s:s,s:s,s:b,s:O}", "name", r->name, "cluster_name", cluster,
			                             "kubernetes", 0, "agent", json_array_get(agents, 0)));
		json_decref(agents);
		return rv;
	}
	json_t *agent = agents != NULL ? agent_of(agents, s->name) : NULL;
	json_t *taints = json_array();
	for (uint32_t t = 0; t < n->n_taints; t++)
		taints = append(taints, json_pack("{s:s,s:s,s:s}", "key", hub_view_str(n, n->taints[t].key), "value",
		                                  hub_view_str(n, n->taints[t].value), "effect",
		                                  hub_view_str(n, n->taints[t].effect)));
	json_t *o = node_row(s, n);
	if (o == NULL || taints == NULL ||
	    json_object_update_new(
	        o, json_pack("{s:b,s:b,s:O,s:I,s:I,s:s,s:s,s:s,s:s,s:I}", "unschedulable", (int)n->unschedulable,
	                     "faulty", (int)n->faulty, "taints", taints, "cpu_millis", (json_int_t)n->cpu_millis,
	                     "memory_bytes", (json_int_t)n->memory_bytes, "kubelet_version",
	                     hub_view_str(n, n->kubelet_version), "os_image", hub_view_str(n, n->os_image),
	                     "kernel_version", hub_view_str(n, n->kernel_version), "container_runtime",
	                     hub_view_str(n, n->container_runtime), "gpu_devices", (json_int_t)n->n_gpus)) != 0 ||
	    json_object_set_new(o, "kubernetes", json_true()) != 0 ||
	    json_object_set_new(o, "agent", agent != NULL ? json_incref(agent) : json_null()) != 0) {
		json_decref(o);
		o = NULL;
	}
	json_decref(taints);
	json_decref(agents);
	hub_view_release(s);
	return hub_api_ok(r, o);
}

/* The GPU rows the node agent of (cluster, r->name) reported, as a whole 200 answer; 0 (nothing sent)
 * when it reported none or the database could not tell. */
static int agent_gpus(hub_req *r, const char *cluster)
{
	char err[FL_ERR_LEN] = "", *json = NULL;
	PGconn *c = hub_api_pgconn(r, err);
	int rv = c != NULL ? hub_node_gpus_json(c, cluster, r->name, &json, err) : FL_EDB;
	if (rv != FL_OK)
		fl_warn("api: node agent GPUs of '%s' unavailable: %s", r->name, err);
	if (rv != FL_OK || strcmp(json, "[]") == 0) {
		free(json);
		return 0;
	}
	return hub_api_answer_text(r, "GPU devices", json, FL_OK, "");
}

int hub_api_v1_node_gpus(hub_req *r)
{
	hub_view_snap *s;
	const hub_view_node *n;
	int rv = find_node(r, &s, &n);
	if (rv > 0)
		return rv;
	if (rv == NOT_IN_VIEW) {
		json_t *agents = node_agents(r);
		const char *cluster = NULL;
		if ((rv = agent_only(r, agents, &cluster)) == 0 && (rv = agent_gpus(r, cluster)) == 0)
			rv = hub_api_ok(r, json_array());
		json_decref(agents);
		return rv;
	}
	if ((rv = agent_gpus(r, s->name)) != 0) { /* the node's own view of its GPUs comes first */
		hub_view_release(s);
		return rv;
	}
	json_t *rows = json_array();
	for (uint32_t g = 0; g < n->n_gpus; g++) {
		const hub_view_gpu *d = &n->gpus[g];
		rows =
		    append(rows, json_pack("{s:s,s:s,s:i,s:s,s:I,s:o,s:o,s:o,s:s,s:i,s:s}", "cluster_name", s->name,
		                           "node_name", hub_view_str(n, n->name), "gpu_id", (int)d->gpu_id, "gpu_model",
		                           hub_view_str(n, d->model), "memory", (json_int_t)d->memory_mib,
		                           "utilization", num_or_null(d->utilization), "temperature",
		                           num_or_null(d->temperature), "power", num_or_null(d->power), "serial",
		                           hub_view_str(n, d->serial), "numa", (int)d->numa, "source", "cluster"));
	}
	hub_view_release(s);
	return hub_api_ok(r, rows);
}
