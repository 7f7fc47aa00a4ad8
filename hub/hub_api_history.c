/* hub_api_history.c — GET /v1/nodes/{name}/utilizationHistory and /v1/workloads/{uid}/utilizationHistory
 * ?cluster=&start=&end=&step=: one node's or workload's GPU utilization over time from its
 * history table, averaged per step, read through the API worker's own hub_store; and the start/end/step
 * rules every time-series route shares (hub_api_time_range). */
#include <stdlib.h>

#include "fl_log.h"
#include "fl_time.h"
#include "hub_api_int.h"
#include "hub_history.h"
#include "hub_params.h"
#include "hub_store.h"

#define MAX_SPAN_S (400LL * 24 * 3600) /* longer than any retention worth having */

int hub_api_time_range(hub_req *r, int64_t *start, int64_t *end, int64_t *step)
{
	char msg[FL_ERR_LEN];
	int64_t now = fl_now_ms() / 1000;
	if (hub_params_int(r->query, "end", now, 0, 253402300799LL, end, msg) != FL_OK ||
	    hub_params_int(r->query, "start", *end - 3600 > 0 ? *end - 3600 : 0, 0, 253402300799LL, start, msg) !=
	        FL_OK ||
	    hub_params_int(r->query, "step", 60, 1, 86400, step, msg) != FL_OK)
		return hub_api_error(r, 400, "%s", msg);
	if (*start >= *end)
		return hub_api_error(r, 400, "parameter 'start' (%lld) must be before 'end' (%lld)", (long long)*start,
		                     (long long)*end);
	if (*end - *start > MAX_SPAN_S)
		return hub_api_error(r, 400, "parameter 'start': the range is longer than %lld days",
		                     MAX_SPAN_S / 86400);
	if ((*end - *start) / *step > HUB_HISTORY_MAX_POINTS)
		return hub_api_error(r, 400, "parameter 'step': %lld s gives more than %d points over the range",
		                     (long long)*step, HUB_HISTORY_MAX_POINTS);
	return 0;
}

static int history(hub_req *r, hub_history_of of)
{
	char msg[FL_ERR_LEN], cluster[FL_CLUSTER_LEN];
	if (hub_params_name(r->query, "cluster", cluster, sizeof(cluster), msg) != FL_OK)
		return hub_api_error(r, 400, "%s", msg);
	if (cluster[0] == '\0')
		return hub_api_error(r, 400, "parameter 'cluster' is required (a %s is unique only within a cluster)",
		                     of == HUB_HISTORY_NODE ? "node name" : "workload uid");
	int idx = hub_view_find(r->api->view, cluster);
	if (idx < 0 || !r->scope[idx])
		return hub_api_error(r, 404, "unknown cluster '%s'", cluster);
	int64_t start, end, step;
	int rv = hub_api_time_range(r, &start, &end, &step);
	if (rv != 0)
		return rv;
	hub_store *s = hub_api_store(r);
	char err[FL_ERR_LEN];
	PGconn *c = s != NULL ? hub_store_pgconn(s, err) : NULL;
	json_t *out = NULL;
	if (c == NULL || hub_history_query(c, of, cluster, r->name, start, end, step, &out, err) != FL_OK) {
		fl_warn("api: utilization history: %s", s == NULL ? "out of memory" : err);
		return hub_api_error(r, 503, "history is unavailable: the database did not answer");
	}
	return hub_api_ok(r, out);
}

int hub_api_history(hub_req *r)
{
	return history(r, HUB_HISTORY_NODE);
}

int hub_api_workload_history(hub_req *r)
{
	return history(r, HUB_HISTORY_WORKLOAD);
}
