/* hub_api_jobs.c — GET /v1/jobs (filtered, paged), GET /v1/jobs/{id} and GET /v1/jobs/{id}/metrics: the GPU
 * jobs node agents report, read from gpu_job and gpu_job_sample; and the node agents' part of a node's answer. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl_time.h"
#include "hub_api_int.h"
#include "hub_job.h"
#include "hub_node.h"
#include "hub_params.h"

static const char *const job_statuses[] = {"running", "lost", "ended"};
#define N_JOB_STATUSES (sizeof(job_statuses) / sizeof(job_statuses[0]))

#define MAX_PARAM_FILTERS 8
#define PARAM_KEY_CHARS   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"

/* Whether s is a number as the spoke writes one (FORMAT.md 3.10's params): JSON number syntax, and a whole
 * number within +-2^53 or at most 15 significant digits. */
static bool param_number(const char *s)
{
	const char *p = s + (*s == '-');
	if (!isdigit((unsigned char)*p) || (p[0] == '0' && isdigit((unsigned char)p[1])))
		return false;
	int sig = 0, lead = 1;
	bool whole = true;
	for (; *p != '\0'; p++) {
		if (isdigit((unsigned char)*p)) {
			lead = lead && *p == '0';
			sig += !lead;
		} else if (*p == '.' && whole && isdigit((unsigned char)p[1])) {
			whole = false;
		} else if ((*p == 'e' || *p == 'E') && p > s) {
			p += (p[1] == '+' || p[1] == '-');
			if (!isdigit((unsigned char)p[1]) || strspn(p + 1, "0123456789") != strlen(p + 1))
				return false;
			return sig <= 15;
		} else {
			return false;
		}
	}
	if (whole && sig <= 16) {
		char *end = NULL;
		long long v = strtoll(s, &end, 10);
		return v >= -9007199254740992LL && v <= 9007199254740992LL;
	}
	return sig <= 15;
}

/* Whether s holds a control character (U+0000..U+001F, U+007F). */
static bool has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* Every param=KEY=VALUE (up to MAX_PARAM_FILTERS; KEY 1..63 of PARAM_KEY_CHARS, VALUE 1..255 bytes of UTF-8
 * without control characters, a number when param_number) as one JSON object text in *out (malloc'd, NULL when
 * none). 0, or the status answered (400, 500). */
static int param_filters(hub_req *r, char **out)
{
	*out = NULL;
	json_t *o = json_object();
	char v[HUB_PARAM_MAX + 1], msg[FL_ERR_LEN];
	bool present = true;
	size_t k = 0;
	for (; o != NULL && present; k++) {
		if (hub_params_raw(r->query, "param", k, v, &present, msg) != FL_OK) {
			json_decref(o);
			return hub_api_error(r, 400, "%s", msg);
		}
		if (!present)
			break;
		char *eq = strchr(v, '=');
		size_t klen = eq != NULL ? (size_t)(eq - v) : 0, vlen = eq != NULL ? strlen(eq + 1) : 0;
		const char *why = k >= MAX_PARAM_FILTERS ? "at most 8 are allowed"
		                  : eq == NULL || klen == 0 || klen > 63
		                      ? "expected KEY=VALUE with a KEY of 1..63 characters"
		                  : strspn(v, PARAM_KEY_CHARS) != klen ? "KEY may hold only A-Z a-z 0-9 _ . -"
		                  : vlen == 0 || vlen > 255            ? "VALUE must be 1..255 bytes"
		                  : has_control(eq + 1)                ? "VALUE may not hold control characters"
		                                                       : NULL;
		if (why == NULL) {
			*eq = '\0';
			json_t *val =
			    param_number(eq + 1) ? json_loads(eq + 1, JSON_DECODE_ANY, NULL) : json_string(eq + 1);
			json_t *had = json_object_get(o, v);
			if (had != NULL && !json_equal(had, val))
				why = "a KEY given twice with two values matches no job";
			if (val == NULL && param_number(eq + 1))
				why = "VALUE is a number out of range";
			else if (why == NULL && (val == NULL || json_object_set(o, v, val) != 0)) {
				json_decref(val);
				json_decref(o);
				return hub_api_error(r, 500, "out of memory");
			}
			json_decref(val);
			*eq = '=';
		}
		if (why != NULL) {
			json_decref(o);
			return hub_api_error(r, 400, "parameter 'param' ('%.80s'): %s", v, why);
		}
	}
	if (o != NULL && json_object_size(o) > 0 &&
	    (*out = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15))) == NULL) {
		json_decref(o);
		return hub_api_error(r, 500, "out of memory");
	}
	bool oom = o == NULL;
	json_decref(o);
	return oom ? hub_api_error(r, 500, "out of memory") : 0;
}

/* ?idle=true|false and ?idle_for=DURATION (default hub.job_idle_after) into q. 0, or 400 answered. */
static int idle_filter(hub_req *r, hub_job_query *q)
{
	char v[HUB_PARAM_MAX + 1], msg[FL_ERR_LEN];
	bool present = false, idle = false;
	if (hub_params_raw(r->query, "idle", 0, v, &present, msg) != FL_OK ||
	    hub_params_bool(r->query, "idle", false, &idle, msg) != FL_OK)
		return hub_api_error(r, 400, "%s", msg);
	q->idle = !present ? HUB_JOB_IDLE_ANY : idle ? HUB_JOB_IDLE_TRUE : HUB_JOB_IDLE_FALSE;
	q->idle_for_ms = r->api->cfg->job_idle_after_ms;
	if (hub_params_raw(r->query, "idle_for", 0, v, &present, msg) != FL_OK)
		return hub_api_error(r, 400, "%s", msg);
	if (present && (fl_parse_duration(v, &q->idle_for_ms) != FL_OK || q->idle_for_ms <= 0))
		return hub_api_error(r, 400,
		                     "parameter 'idle_for': expected a duration like 30m, 2h or 1d, got '%.64s'", v);
	return 0;
}

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
	char *params = NULL;
	if ((rv = hub_api_status_list(r, job_statuses, N_JOB_STATUSES, sbuf, st, &q.n_statuses)) != 0 ||
	    (rv = idle_filter(r, &q)) != 0 || (rv = param_filters(r, &params)) != 0)
		return rv;
	if ((rv = hub_api_scope_names(r, true, &names, &q.n_clusters)) != 0) {
		free(params);
		return rv;
	}
	if (q.n_clusters == 0) {
		free(names);
		free(params);
		return hub_api_answer_text(r, "jobs", strdup("{\"data\":[],\"total\":0}"), FL_OK, "");
	}
	q.params = params;
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
	free(params);
	return hub_api_answer_text(r, "jobs", json, rv, err);
}

/* The job id of r->name into *id: 0, or 400 answered. */
static int job_id(hub_req *r, long long *id)
{
	char *end = NULL;
	*id = strtoll(r->name, &end, 10);
	if (r->name[0] < '0' || r->name[0] > '9' || *end != '\0' || *id < 1)
		return hub_api_error(r, 400, "job id '%s' is not a positive whole number", r->name);
	return 0;
}

int hub_api_job(hub_req *r)
{
	long long id;
	if (job_id(r, &id) != 0)
		return 400;
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

int hub_api_job_metrics(hub_req *r)
{
	long long id;
	int64_t start, end, step;
	int rv;
	if ((rv = job_id(r, &id)) != 0 || (rv = hub_api_time_range(r, &start, &end, &step)) != 0)
		return rv;
	size_t n = 0;
	const char **names;
	if ((rv = hub_api_scope_names(r, false, &names, &n)) != 0)
		return rv;
	char err[FL_ERR_LEN] = "";
	char *json = NULL;
	PGconn *c = n > 0 ? hub_api_pgconn(r, err) : NULL;
	rv = n == 0 ? FL_OK : c != NULL ? hub_job_metrics(c, names, n, id, start, end, step, &json, err) : FL_EDB;
	free(names);
	if (rv == FL_OK && (json == NULL || strcmp(json, "null") == 0)) {
		free(json);
		return hub_api_error(r, 404, "job %lld not found", id);
	}
	return hub_api_answer_text(r, "job metrics", json, rv, err);
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
