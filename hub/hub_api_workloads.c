/* hub_api_workloads.c — GET /v1/workloads (filtered, paged, ordered) and GET /v1/workloads/{uid} with
 * its pods, read from gpu_workload / gpu_pod and their newest utilization samples (hub_workload)
 * through the API worker's own hub_store. */
#include <stdlib.h>
#include <string.h>

#include "fl_log.h"
#include "hub_api_int.h"
#include "hub_params.h"
#include "hub_store.h"
#include "hub_workload_read.h"

static const char *const statuses[HUB_WORKLOAD_MAX_STATUSES] = {"Running", "Pending", "Done", "Failed", "Deleted"};

/* ?order_by=: one of hub_workload_order_names. 0, or the status answered. */
static int order_arg(hub_req *r, hub_workload_order *out)
{
	char v[HUB_PARAM_MAX + 1], msg[FL_ERR_LEN];
	bool present;
	*out = HUB_WL_ORDER_CLUSTER_NAME;
	if (hub_params_raw(r->query, "order_by", 0, v, &present, msg) != FL_OK)
		return hub_api_error(r, 400, "%s", msg);
	if (!present)
		return 0;
	for (int k = 0; k < HUB_WL_ORDER_COUNT; k++)
		if (strcmp(v, hub_workload_order_names[k]) == 0) {
			*out = (hub_workload_order)k;
			return 0;
		}
	return hub_api_error(r, 400,
	                     "parameter 'order_by' must be one of cluster_name, name, namespace, kind, status, "
	                     "gpu_request, gpu_utilization, created_at, ended_at");
}

int hub_api_workloads(hub_req *r)
{
	char msg[FL_ERR_LEN], ns[FL_NAMESPACE_LEN], kind[FL_KIND_LEN], name[FL_NAME_LEN], sbuf[HUB_PARAM_MAX + 1];
	const char *st[HUB_QUERY_MAX_STATUSES];
	hub_workload_query q;
	memset(&q, 0, sizeof(q));
	int64_t page_num, page_size;
	int rv;
	if (hub_params_name(r->query, "namespace", ns, sizeof(ns), msg) != FL_OK ||
	    hub_params_name(r->query, "kind", kind, sizeof(kind), msg) != FL_OK ||
	    hub_params_name(r->query, "name", name, sizeof(name), msg) != FL_OK ||
	    hub_params_page(r->query, &page_num, &page_size, msg) != FL_OK ||
	    hub_params_bool(r->query, "desc", false, &q.desc, msg) != FL_OK)
		return hub_api_error(r, 400, "%s", msg);
	const char **names;
	if ((rv = hub_api_status_list(r, statuses, HUB_WORKLOAD_MAX_STATUSES, sbuf, st, &q.n_statuses)) != 0 ||
	    (rv = order_arg(r, &q.order)) != 0 || (rv = hub_api_scope_names(r, true, &names, &q.n_clusters)) != 0)
		return rv;
	if (q.n_clusters == 0) {
		free(names);
		return hub_api_answer_text(r, "workloads", strdup("{\"data\":[],\"total\":0}"), FL_OK, "");
	}
	q.clusters = names;
	q.ns = ns;
	q.kind = kind;
	q.name = name;
	q.statuses = st;
	q.limit = page_size;
	q.offset = (page_num - 1) * page_size;
	char err[FL_ERR_LEN] = "";
	char *json = NULL;
	PGconn *c = hub_api_pgconn(r, err);
	rv = c != NULL ? hub_workload_list(c, &q, &json, err) : FL_EDB;
	free(names);
	return hub_api_answer_text(r, "workloads", json, rv, err);
}

int hub_api_workload(hub_req *r)
{
	size_t n = 0;
	const char **names;
	int rv = hub_api_scope_names(r, false, &names, &n);
	if (rv != 0)
		return rv;
	char err[FL_ERR_LEN] = "";
	char *json = NULL;
	PGconn *c = n > 0 ? hub_api_pgconn(r, err) : NULL;
	rv = n == 0 ? FL_OK : c != NULL ? hub_workload_get(c, names, n, r->name, &json, err) : FL_EDB;
	free(names);
	if (rv != FL_OK || n == 0) {
		free(json);
		return n == 0 ? hub_api_error(r, 404, "workload '%s' not found", r->name)
		              : hub_api_answer_text(r, "workloads", NULL, rv, err);
	}
	/* json is an array, one entry per cluster that has the uid (normally one). */
	json_error_t jerr;
	json_t *arr = json_loads(json, 0, &jerr);
	free(json);
	size_t found = json_array_size(arr);
	if (arr == NULL || found == 0) {
		json_decref(arr);
		return arr == NULL ? hub_api_error(r, 500, "unreadable answer from the database")
		                   : hub_api_error(r, 404, "workload '%s' not found", r->name);
	}
	if (found > 1) {
		char list[256] = "";
		for (size_t i = 0; i < found; i++) {
			const char *cl = json_string_value(json_object_get(json_array_get(arr, i), "cluster_name"));
			size_t used = strlen(list);
			snprintf(list + used, sizeof(list) - used, "%s%s", i > 0 ? ", " : "", cl != NULL ? cl : "?");
		}
		json_decref(arr);
		return hub_api_error(r, 400,
		                     "workload '%s' is in several clusters (%s): parameter 'cluster' is required",
		                     r->name, list);
	}
	json_t *one = json_incref(json_array_get(arr, 0));
	json_decref(arr);
	return hub_api_ok(r, one);
}
