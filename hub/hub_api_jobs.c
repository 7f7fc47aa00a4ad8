/* hub_api_jobs.c — GET /v1/jobs (filtered, paged) and GET /v1/jobs/{id}: the GPU jobs node agents report,
 * read from gpu_job; and the node agents' part of a node's answer. */
#include <stdlib.h>
#include <string.h>

#include "hub_api_int.h"
#include "hub_job.h"
#include "hub_node.h"
#include "hub_params.h"

static const char *const job_statuses[] = {"running", "lost", "ended"};
#define N_JOB_STATUSES (sizeof(job_statuses) / sizeof(job_statuses[0]))

int hub_api_jobs(hub_req *r)
{
	char msg[FL_ERR_LEN], node[FL_NAME_LEN], framework[FL_STATUS_LEN], sbuf[HUB_PARAM_MAX + 1];
	const char *st[HUB_QUERY_MAX_STATUSES];
	hub_job_query q;
	memset(&q, 0, sizeof(q));
	int64_t page_num, page_size;
	int rv;
	if (hub_params_name(r->query, "node", node, sizeof(node), msg) != FL_OK ||
	    hub_params_name(r->query, "framework", framework, sizeof(framework), msg) != FL_OK ||
	    hub_params_page(r->query, &page_num, &page_size, msg) != FL_OK)
		return hub_api_error(r, 400, "%s", msg);
	const char **names;
	if ((rv = hub_api_status_list(r, job_statuses, N_JOB_STATUSES, sbuf, st, &q.n_statuses)) != 0 ||
	    (rv = hub_api_scope_names(r, true, &names, &q.n_clusters)) != 0)
		return rv;
	if (q.n_clusters == 0) {
		free(names);
		return hub_api_answer_text(r, "jobs", strdup("{\"data\":[],\"total\":0}"), FL_OK, "");
	}
	q.clusters = names;
	q.node = node;
	q.framework = framework;
	q.statuses = st;
	q.limit = page_size;
	q.offset = (page_num - 1) * page_size;
	char err[FL_ERR_LEN] = "";
	char *json = NULL;
	PGconn *c = hub_api_pgconn(r, err);
	rv = c != NULL ? hub_job_list(c, &q, &json, err) : FL_EDB;
	free(names);
	return hub_api_answer_text(r, "jobs", json, rv, err);
}

int hub_api_job(hub_req *r)
{
	char *end = NULL;
	long long id = strtoll(r->name, &end, 10);
	if (r->name[0] < '0' || r->name[0] > '9' || *end != '\0' || id < 1)
		return hub_api_error(r, 400, "job id '%s' is not a positive whole number", r->name);
	size_t n = 0;
	const char **names;
	int rv = hub_api_scope_names(r, false, &names, &n);
	if (rv != 0)
		return rv;
	char err[FL_ERR_LEN] = "";
	char *json = NULL;
	PGconn *c = n > 0 ? hub_api_pgconn(r, err) : NULL;
	rv = n == 0 ? FL_OK : c != NULL ? hub_job_get(c, names, n, id, &json, err) : FL_EDB;
	free(names);
	if (rv == FL_OK && (json == NULL || strcmp(json, "null") == 0)) {
		free(json);
		return hub_api_error(r, 404, "job %lld not found", id);
	}
	return hub_api_answer_text(r, "jobs", json, rv, err);
}

int hub_api_node_agents(hub_req *r, const bool *set, char **json, char err[FL_ERR_LEN])
{
	*json = NULL;
	size_t n = 0;
	const char **names = hub_api_cluster_names(r, set, &n);
	if (names == NULL)
		return fl_seterr(err, FL_ENOMEM, "out of memory");
	PGconn *c = n > 0 ? hub_api_pgconn(r, err) : NULL;
	int rv = n == 0 ? FL_OK : c != NULL ? hub_node_agents_json(c, names, n, r->name, json, err) : FL_EDB;
	free(names);
	if (rv == FL_OK && *json == NULL && (*json = strdup("[]")) == NULL)
		rv = fl_seterr(err, FL_ENOMEM, "out of memory");
	return rv;
}
