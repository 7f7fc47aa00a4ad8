/* hub_lens_view.c — the Lens face's routes that the in-memory view answers: the cluster picker, the
 * overview, the heat map, nodes, a node and its GPUs, GPU allocation and utilization. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hub_json.h"
#include "hub_lens_int.h"
#include "hub_params.h"

/* A figure, or 0 when there is none (NaN), as Lens answers: the Lens console formats every figure with
 * toFixed and shows NaN or fails on null. /v1 says null (README "Lens API", differences). */
static json_t *real_or_zero(double x)
{
	return json_real(isfinite(x) ? x : 0.0);
}

/* Appends item (stolen) to arr; on failure frees both and returns NULL. */
static json_t *append(json_t *arr, json_t *item)
{
	if (arr == NULL || item == NULL || json_array_append_new(arr, item) != 0) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

/* Lens's colours of a node's Ready condition (LENS_API.md 3). */
static const char *node_color(const char *status)
{
	return strcmp(status, "Ready") == 0 ? "green" : strcmp(status, "NotReady") == 0 ? "red" : "yellow";
}

/* The answer of a route about cluster q->cluster's overview when it has none yet. */
static int no_overview(hub_lens_req *q)
{
	return hub_lens_fail(q, HUB_LENS_UNKNOWN, "cluster %s has not reported an overview yet", q->cluster_name);
}

/* The clusters the caller may see, by name, except that the caller's default cluster comes last: the Lens
 * console picks the last one when nothing is selected, and its first calls go out without ?cluster=
 * before the picker has loaded, so both then mean the same cluster. Lens itself answers in Go map order. */
int hub_lens_clusters(hub_lens_req *q)
{
	hub_view *v = q->r->api->view;
	size_t n;
	const size_t *order = hub_view_order(v, &n);
	int def = hub_lens_default_cluster(q->r);
	json_t *arr = json_array();
	for (size_t k = 0; arr != NULL && k < n; k++) {
		const char *name = hub_view_name(v, order[k]);
		if (q->r->scope[order[k]] && (int)order[k] != def && strcmp(name, "default") != 0)
			arr = append(arr, json_string(name));
	}
	if (arr != NULL && def >= 0 && strcmp(hub_view_name(v, (size_t)def), "default") != 0)
		arr = append(arr, json_string(hub_view_name(v, (size_t)def)));
	return hub_lens_ok(q, arr);
}

int hub_lens_overview(hub_lens_req *q)
{
	hub_view_snap *s = hub_view_get(q->r->api->view, (size_t)q->cluster);
	if (!s->has_overview) {
		hub_view_release(s);
		return no_overview(q);
	}
	json_t *o = fl_proto_overview_to_json(&s->overview);
	hub_view_release(s);
	if (o != NULL) {
		json_object_del(o, "gpusAllocatable");
		json_object_del(o, "gpusAllocated");
		json_object_del(o, "unknown");
		const char *key;
		json_t *value;
		json_object_foreach(o, key, value)
		{
			if (json_is_null(value) && json_object_set_new(o, key, json_real(0)) != 0) {
				json_decref(o);
				return hub_lens_ok(q, NULL);
			}
		}
	}
	return hub_lens_ok(q, o);
}

int hub_lens_gpu_utilization(hub_lens_req *q)
{
	hub_view_snap *s = hub_view_get(q->r->api->view, (size_t)q->cluster);
	if (!s->has_overview) {
		hub_view_release(s);
		return no_overview(q);
	}
	bool known = (s->overview.unknown & FL_OV_UTILIZATION) == 0;
	json_t *o = json_pack("{s:f,s:f}", "allocationRate", s->overview.allocation_rate, "utilization",
	                      known ? s->overview.utilization : 0.0);
	hub_view_release(s);
	return hub_lens_ok(q, o);
}

/* --- heat map ----------------------------------------------------------------------------------- */

enum { HEAT_UTILIZATION, HEAT_POWER, HEAT_TEMPERATURE, HEAT_KINDS };
#define HEAT_TOP_NODES 5

static double gpu_value(const hub_view_gpu *g, int kind)
{
	return kind == HEAT_UTILIZATION ? g->utilization : kind == HEAT_POWER ? g->power : g->temperature;
}

/* Mean of kind over the node's GPUs that have it; NaN when none does. */
static double node_mean(const hub_view_node *n, int kind)
{
	double sum = 0;
	int count = 0;
	for (uint32_t k = 0; k < n->n_gpus; k++)
		if (isfinite(gpu_value(&n->gpus[k], kind))) {
			sum += gpu_value(&n->gpus[k], kind);
			count++;
		}
	return count > 0 ? sum / count : NAN;
}

/* One tab of the heat map: the HEAT_TOP_NODES nodes with the highest mean (ties by name), each GPU's value. */
static json_t *heat_tab(const hub_view_snap *s, int kind)
{
	static const struct {
		int serial;
		const char *unit;
		int min, max;
	} tab[HEAT_KINDS] = {{1, "%", 0, 100}, {2, "W", 0, 850}, {3, "\u2103", 20, 110}};
	const hub_view_node *top[HEAT_TOP_NODES];
	double top_mean[HEAT_TOP_NODES];
	int n_top = 0;
	for (uint32_t i = 0; i < s->n_nodes; i++) {
		double m = node_mean(s->nodes[i], kind);
		if (!isfinite(m))
			continue;
		int at = n_top;
		while (at > 0 && top_mean[at - 1] < m)
			at--;
		if (at >= HEAT_TOP_NODES)
			continue;
		int last = n_top < HEAT_TOP_NODES ? n_top : HEAT_TOP_NODES - 1;
		for (int k = last; k > at; k--) {
			top[k] = top[k - 1];
			top_mean[k] = top_mean[k - 1];
		}
		top[at] = s->nodes[i];
		top_mean[at] = m;
		if (n_top < HEAT_TOP_NODES)
			n_top++;
	}
	json_t *data = json_array();
	for (int i = 0; data != NULL && i < n_top; i++)
		for (uint32_t k = 0; data != NULL && k < top[i]->n_gpus; k++) {
			double x = gpu_value(&top[i]->gpus[k], kind);
			if (isfinite(x))
				data = append(data, json_pack("{s:s,s:i,s:f}", "node_name",
				                              hub_view_str(top[i], top[i]->name), "gpu_id",
				                              (int)top[i]->gpus[k].gpu_id, "value", x));
		}
	if (data == NULL)
		return NULL;
	return json_pack("{s:i,s:s,s:i,s:i,s:o}", "serial", tab[kind].serial, "unit", tab[kind].unit, "yaxis_max",
	                 tab[kind].max, "yaxis_min", tab[kind].min, "Data", data);
}

int hub_lens_heatmap(hub_lens_req *q)
{
	hub_view_snap *s = hub_view_get(q->r->api->view, (size_t)q->cluster);
	json_t *o = json_pack("{s:o,s:o,s:o}", "utilization", heat_tab(s, HEAT_UTILIZATION), "power",
	                      heat_tab(s, HEAT_POWER), "temperature", heat_tab(s, HEAT_TEMPERATURE));
	hub_view_release(s);
	return hub_lens_ok(q, o);
}

/* --- nodes -------------------------------------------------------------------------------------- */

/* order_by as Lens takes it (a node-table column): the words of hub_node_order_parse but cluster_name (Lens
 * orders one cluster's nodes), default name. Another word is a column Lens's SQL would refuse or FleetLens
 * does not keep: 5000, as Lens answers a bad column. */
static int order_arg(hub_lens_req *q, hub_node_order *out)
{
	char v[32];
	int rv = hub_lens_str(q, "order_by", v, sizeof(v));
	*out = HUB_ORDER_NAME;
	if (rv != 0 || v[0] == '\0')
		return rv;
	hub_node_order o;
	if (hub_node_order_parse(v, &o) == FL_OK && o != HUB_ORDER_CLUSTER_NAME) {
		*out = o;
		return 0;
	}
	return hub_lens_fail(q, HUB_LENS_UNKNOWN, "Unknown error");
}

/* Appends node n's /nodes row: the page is the console's hot call, so it is written as text (hub_json), not
 * built as a tree. */
static void node_row(hub_json *j, const hub_view_node *n)
{
	const char *status = hub_view_str(n, n->status);
	hub_json_raw(j, "{\"name\":");
	hub_json_str(j, hub_view_str(n, n->name));
	hub_json_raw(j, ",\"ip\":");
	hub_json_str(j, hub_view_str(n, n->ip));
	hub_json_raw(j, ",\"gpu_name\":");
	hub_json_str(j, hub_view_str(n, n->gpu_name));
	hub_json_raw(j, ",\"gpu_count\":");
	hub_json_int(j, n->gpu_count);
	hub_json_raw(j, ",\"gpu_allocation\":");
	hub_json_int(j, n->gpu_allocation);
	hub_json_raw(j, ",\"gpu_utilization\":");
	hub_json_real(j, isfinite(n->gpu_utilization) ? n->gpu_utilization : 0.0);
	hub_json_raw(j, ",\"status\":");
	hub_json_str(j, status);
	hub_json_raw(j, ",\"status_color\":");
	hub_json_str(j, node_color(status));
	hub_json_raw(j, "}");
}

int hub_lens_nodes(hub_lens_req *q)
{
	hub_view *v = q->r->api->view;
	char name[FL_NAME_LEN], gpu_name[FL_MODEL_LEN], sbuf[HUB_PARAM_MAX + 1], msg[FL_ERR_LEN];
	hub_node_query nq;
	memset(&nq, 0, sizeof(nq));
	int rv;
	if ((rv = hub_lens_str(q, "name", name, sizeof(name))) != 0 ||
	    (rv = hub_lens_str(q, "gpu_name", gpu_name, sizeof(gpu_name))) != 0 ||
	    (rv = order_arg(q, &nq.order)) != 0 || (rv = hub_lens_bool(q, "desc", false, &nq.desc)) != 0 ||
	    (rv = hub_lens_page(q, &nq.page_num, &nq.page_size)) != 0)
		return rv;
	if (hub_params_statuses(q->r->query, sbuf, nq.statuses, &nq.n_statuses, msg) != FL_OK)
		return hub_lens_fail(q, HUB_LENS_BAD_PARAM, "%s", msg);
	bool *set = calloc(HUB_MAX_CLUSTERS, sizeof(bool)); /* by slot (hub_node_query.clusters) */
	if (set == NULL)
		return hub_lens_fail(q, HUB_LENS_UNKNOWN, "Unknown error");
	set[q->cluster] = true;
	nq.clusters = set;
	nq.name = name;
	nq.gpu_name = gpu_name;
	nq.gpu_name_substring = true;
	nq.gpu_only = true;
	hub_node_page page;
	memset(&page, 0, sizeof(page));
	rv = hub_view_query_nodes(v, &nq, &page);
	free(set);
	hub_json j;
	hub_json_init(&j, HUB_LENS_MAX_ANSWER);
	hub_json_raw(&j, "{\"data\":[");
	for (size_t i = 0; rv == FL_OK && i < page.n_rows; i++) {
		if (i > 0)
			hub_json_raw(&j, ",");
		node_row(&j, page.rows[i].node);
	}
	hub_json_raw(&j, "],\"total\":");
	hub_json_int(&j, (int64_t)page.total);
	hub_json_raw(&j, ",\"cluster_name\":");
	hub_json_str(&j, q->cluster_name);
	hub_json_raw(&j, "}");
	size_t len;
	char *text = hub_json_take(&j, &len);
	if (rv != FL_OK) {
		free(text);
		text = NULL;
	}
	hub_node_page_free(&page);
	return hub_lens_ok_text(q, text);
}

int hub_lens_node(hub_lens_req *q)
{
	hub_view_snap *s = hub_view_get(q->r->api->view, (size_t)q->cluster);
	const hub_view_node *n = hub_view_snap_find(s, q->item);
	if (n == NULL) {
		hub_view_release(s);
		return hub_lens_fail(q, HUB_LENS_NOT_FOUND, "node not found");
	}
	/* Lens writes "<cores> X <model>" and never fills the model; FleetLens gives the cores it knows. */
	char cpu[48], memory[48], gpus[FL_MODEL_LEN + 32];
	snprintf(cpu, sizeof(cpu), "%lld", (long long)(n->cpu_millis / 1000));
	snprintf(memory, sizeof(memory), "%lldKi", (long long)(n->memory_bytes / 1024));
	snprintf(gpus, sizeof(gpus), "%lld X %s", (long long)n->gpu_count, hub_view_str(n, n->gpu_name));
	const char *status = hub_view_str(n, n->status);
	json_t *o =
	    json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "name", hub_view_str(n, n->name), "health", status,
	              "cpu", cpu, "memory", memory, "os", hub_view_str(n, n->os_image), "gpu_driver_version", "",
	              "static_gpu_details", gpus, "kubelet_version", hub_view_str(n, n->kubelet_version),
	              "containerd_version", hub_view_str(n, n->container_runtime), "cluster_name", q->cluster_name);
	hub_view_release(s);
	return hub_lens_ok(q, o);
}

int hub_lens_node_gpus(hub_lens_req *q)
{
	hub_view_snap *s = hub_view_get(q->r->api->view, (size_t)q->cluster);
	const hub_view_node *n = hub_view_snap_find(s, q->item);
	if (n == NULL) {
		hub_view_release(s);
		return hub_lens_fail(q, HUB_LENS_NOT_FOUND, "node not found");
	}
	json_t *devices = json_array();
	for (uint32_t k = 0; devices != NULL && k < n->n_gpus; k++) {
		const hub_view_gpu *g = &n->gpus[k];
		char memory[32];
		snprintf(memory, sizeof(memory), "%lldGB", (long long)(g->memory_mib / 1024));
		devices = append(devices, json_pack("{s:i,s:s,s:s,s:o,s:o,s:o}", "deviceId", (int)g->gpu_id, "model",
		                                    hub_view_str(n, g->model), "memory", memory, "utilization",
		                                    real_or_zero(g->utilization), "temperature",
		                                    real_or_zero(g->temperature), "power", real_or_zero(g->power)));
	}
	json_t *o = devices != NULL ? json_pack("{s:s,s:s,s:o}", "node_name", hub_view_str(n, n->name), "cluster_name",
	                                        q->cluster_name, "devices", devices)
	                            : NULL;
	hub_view_release(s);
	return hub_lens_ok(q, o);
}

/* The vendor of a GPU product name, as Lens's "vendor" field ("amd" for every Lens node). */
static const char *vendor_of(const char *gpu_name)
{
	static const struct {
		const char *needle, *vendor;
	} vendors[] = {{"AMD", "amd"},      {"Instinct", "amd"},  {"Radeon", "amd"},   {"NVIDIA", "nvidia"},
	               {"Tesla", "nvidia"}, {"Ascend", "huawei"}, {"Huawei", "huawei"}};
	for (size_t i = 0; i < sizeof(vendors) / sizeof(vendors[0]); i++)
		if (strstr(gpu_name, vendors[i].needle) != NULL)
			return vendors[i].vendor;
	return "";
}

int hub_lens_gpu_allocation(hub_lens_req *q)
{
	hub_view_snap *s = hub_view_get(q->r->api->view, (size_t)q->cluster);
	json_t *arr = json_array();
	for (uint32_t i = 0; arr != NULL && i < s->n_nodes; i++) {
		const hub_view_node *n = s->nodes[i];
		if (n->gpu_count <= 0)
			continue;
		arr = append(arr, json_pack("{s:s,s:s,s:I,s:I,s:f}", "node", hub_view_str(n, n->name), "vendor",
		                            vendor_of(hub_view_str(n, n->gpu_name)), "capacity",
		                            (json_int_t)n->gpu_count, "allocated", (json_int_t)n->gpu_allocation,
		                            "allocationRate", (double)n->gpu_allocation / (double)n->gpu_count));
	}
	hub_view_release(s);
	return hub_lens_ok(q, arr);
}
