/* hub_lens.c — the Lens face's entry: access in Lens's words, dispatch of /lens/v1 and /api/v1 paths, the
 * cluster each request is about, Lens's envelope and error codes, and Lens's parameter binding. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fl_log.h"
#include "hub_lens_int.h"
#include "hub_metrics.h"
#include "hub_sql.h"

#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"

/* The envelope around data; Lens always sends "tracing" (null without a Jaeger span). */
#define LENS_HEAD "{\"meta\":{\"code\":2000,\"message\":\"OK\"},\"data\":"
#define LENS_TAIL ",\"tracing\":null}"

/* --- answers -------------------------------------------------------------------------------------- */

int hub_lens_ok_text(hub_lens_req *q, char *json)
{
	/* json NULL: the caller's strdup or dump failed. Lens's code for it (5000), our words. */
	if (json == NULL)
		return hub_lens_fail(q, HUB_LENS_UNKNOWN, "out of memory");
	size_t head = strlen(LENS_HEAD), len = strlen(json), tail = strlen(LENS_TAIL);
	char *env = malloc(head + len + tail + 1);
	if (env == NULL) {
		free(json);
		return hub_lens_fail(q, HUB_LENS_UNKNOWN, "out of memory");
	}
	memcpy(env, LENS_HEAD, head);
	memcpy(env + head, json, len);
	memcpy(env + head + len, LENS_TAIL, tail + 1);
	free(json);
	int status = hub_api_ok_text(q->r, env, head + len + tail);
	free(env);
	return status;
}

int hub_lens_ok(hub_lens_req *q, json_t *data)
{
	char *text = data != NULL ? json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	json_decref(data);
	return hub_lens_ok_text(q, text);
}

int hub_lens_fail(hub_lens_req *q, int code, const char *fmt, ...)
{
	char msg[FL_ERR_LEN + 128];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	hub_metrics_add(code == HUB_LENS_BAD_PARAM   ? HUB_M_LENS_4001
	                : code == HUB_LENS_NOT_FOUND ? HUB_M_LENS_4004
	                : code == HUB_LENS_DB_ERROR  ? HUB_M_LENS_5002
	                                             : HUB_M_LENS_5000,
	                1);
	json_t *env = json_pack("{s:{s:i,s:s},s:n,s:n}", "meta", "code", code, "message", msg, "data", "tracing");
	char *text = env != NULL ? json_dumps(env, JSON_COMPACT) : NULL;
	json_decref(env);
	static const char oom[] =
	    "{\"meta\":{\"code\":5000,\"message\":\"out of memory\"},\"data\":null,\"tracing\":null}";
	int status = hub_api_ok_text(q->r, text != NULL ? text : oom, text != NULL ? strlen(text) : sizeof(oom) - 1);
	free(text);
	return status;
}

int hub_lens_db_fail(hub_lens_req *q, const char *what, const char *err)
{
	hub_api *api = q->r->api;
	if (fl_log_limit_allow(&api->db_log, HUB_API_DB_LOG_EVERY_MS, NULL))
		fl_warn("api: lens %s: %s", what, err);
	return q->db_route ? hub_lens_fail(q, HUB_LENS_DB_ERROR, "failed to query %s", what)
	                   : hub_lens_fail(q, HUB_LENS_UNKNOWN, "Unknown error");
}

/* Sends a bare status with an optional plain-text body (Lens's router answers, outside the envelope). */
static int send_plain(hub_req *r, int status, const char *type, const char *body)
{
	size_t len = strlen(body);
	mg_printf(r->c,
	          "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nCache-Control: no-store\r\n"
	          "X-Content-Type-Options: nosniff\r\n%s\r\n",
	          status, mg_get_response_code_text(r->c, status), type, len, r->headers);
	mg_write(r->c, body, len);
	hub_metrics_add(status < 400 ? HUB_M_API_2XX : status < 500 ? HUB_M_API_4XX : HUB_M_API_5XX, 1);
	return status;
}

/* --- parameters --------------------------------------------------------------------------------- */

/* Parameter name into v, decoded; *present false when absent or empty. FL_OK, or FL_EINVAL with msg. */
static int raw(hub_lens_req *q, const char *name, char v[HUB_PARAM_MAX + 1], bool *present, char msg[FL_ERR_LEN])
{
	return hub_params_raw(q->r->query, name, 0, v, present, msg);
}

int hub_lens_str(hub_lens_req *q, const char *name, char *out, size_t max_len)
{
	char v[HUB_PARAM_MAX + 1], msg[FL_ERR_LEN];
	bool present;
	out[0] = '\0';
	if (raw(q, name, v, &present, msg) != FL_OK)
		return hub_lens_fail(q, HUB_LENS_BAD_PARAM, "%s", msg);
	if (!present)
		return 0;
	if (strlen(v) >= max_len)
		return hub_lens_fail(q, HUB_LENS_BAD_PARAM, "parameter '%s' is longer than %zu bytes", name,
		                     max_len - 1);
	memcpy(out, v, strlen(v) + 1);
	return 0;
}

int hub_lens_int(hub_lens_req *q, const char *name, int64_t def, int64_t *out)
{
	char v[HUB_PARAM_MAX + 1], msg[FL_ERR_LEN];
	bool present;
	*out = def;
	if (raw(q, name, v, &present, msg) != FL_OK)
		return hub_lens_fail(q, HUB_LENS_UNKNOWN, "Unknown error");
	if (!present)
		return 0;
	char *end;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	if (errno != 0 || *end != '\0' || end == v || isspace((unsigned char)v[0]) || v[0] == '+')
		return hub_lens_fail(q, HUB_LENS_UNKNOWN, "Unknown error");
	*out = n;
	return 0;
}

int hub_lens_bool(hub_lens_req *q, const char *name, bool def, bool *out)
{
	static const char *const yes[] = {"1", "t", "T", "true", "TRUE", "True"};
	static const char *const no[] = {"0", "f", "F", "false", "FALSE", "False"};
	char v[HUB_PARAM_MAX + 1], msg[FL_ERR_LEN];
	bool present;
	*out = def;
	if (raw(q, name, v, &present, msg) != FL_OK)
		return hub_lens_fail(q, HUB_LENS_UNKNOWN, "Unknown error");
	if (!present)
		return 0;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcmp(v, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcmp(v, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return hub_lens_fail(q, HUB_LENS_UNKNOWN, "Unknown error");
}

int hub_lens_page(hub_lens_req *q, int64_t *page_num, int64_t *page_size)
{
	int rv;
	if ((rv = hub_lens_int(q, "page_num", 1, page_num)) != 0 ||
	    (rv = hub_lens_int(q, "page_size", 10, page_size)) != 0)
		return rv;
	if (*page_num < 1)
		*page_num = 1;
	if (*page_size <= 0)
		*page_size = 10;
	if (*page_size > HUB_LENS_MAX_PAGE)
		return hub_lens_fail(q, HUB_LENS_BAD_PARAM, "page_size must be at most %d", HUB_LENS_MAX_PAGE);
	if (*page_num > INT64_MAX / *page_size)
		*page_num = INT64_MAX / *page_size;
	return 0;
}

/* Parses RFC 3339 ("2026-12-07T10:00:00Z", "…T10:00:00.5+08:00") into Unix ms. false if it is not one. */
static bool parse_rfc3339(const char *s, int64_t *ms)
{
	int y, mo, d, h, mi, sec, used = 0;
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &used) != 6 || used != 19 ||
	    (s[10] != 'T' && s[10] != 't'))
		return false;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return false;
	const char *p = s + used;
	int64_t frac_ms = 0;
	if (*p == '.') {
		int digits = 0;
		for (p++; isdigit((unsigned char)*p); p++, digits++)
			if (digits < 3)
				frac_ms = frac_ms * 10 + (*p - '0');
		if (digits == 0)
			return false;
		for (; digits < 3; digits++)
			frac_ms *= 10;
	}
	int64_t off_s = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om, n = 0;
		if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &n) != 2 || n != 5 || oh > 23 || om > 59)
			return false;
		off_s = (*p == '-' ? -1 : 1) * (int64_t)(oh * 3600 + om * 60);
		p += 6;
	} else {
		return false;
	}
	if (*p != '\0')
		return false;
	struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = sec};
	time_t t = timegm(&tm);
	*ms = ((int64_t)t - off_s) * 1000 + frac_ms;
	return true;
}

int hub_lens_rfc3339(hub_lens_req *q, const char *name, int64_t *out_ms)
{
	char v[HUB_PARAM_MAX + 1], msg[FL_ERR_LEN];
	bool present;
	if (raw(q, name, v, &present, msg) != FL_OK || !present || !parse_rfc3339(v, out_ms))
		return hub_lens_fail(q, HUB_LENS_BAD_PARAM, "Invalid %s format", name);
	return 0;
}

/* --- the database ----------------------------------------------------------------------------------- */

int hub_lens_db(hub_lens_req *q, PGconn **c)
{
	char err[FL_ERR_LEN] = "";
	*c = hub_api_pgconn(q->r, err);
	return *c != NULL ? 0 : hub_lens_db_fail(q, "the database", err);
}

int hub_lens_answer_sql(hub_lens_req *q, const char *what, const char *sql, int n, const char *const *v,
                        const char *not_found)
{
	PGconn *c;
	int rv = hub_lens_db(q, &c);
	if (rv != 0)
		return rv;
	char err[FL_ERR_LEN];
	PGresult *res = NULL;
	if (hub_sql_exec(c, sql, n, v, PGRES_TUPLES_OK, &res, what, err) != FL_OK)
		return hub_lens_db_fail(q, what, err);
	if (PQntuples(res) != 1 || PQnfields(res) != 1) {
		PQclear(res);
		return hub_lens_db_fail(q, what, "the answer is not one value");
	}
	if (PQgetisnull(res, 0, 0)) {
		PQclear(res);
		return not_found != NULL ? hub_lens_fail(q, HUB_LENS_NOT_FOUND, "%s", not_found)
		                         : hub_lens_ok_text(q, strdup("null"));
	}
	char *json = strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return hub_lens_ok_text(q, json);
}

/* --- dispatch ----------------------------------------------------------------------------------- */

typedef int (*lens_fn)(hub_lens_req *);

enum {
	NO_CLUSTER = 1 << 0, /* the route is about no cluster (/gpu-aggregation/clusters) */
	DB_ROUTE = 1 << 1,   /* a gpu-aggregation route: database failures are 5002 */
};

static const struct {
	const char *path;
	lens_fn fn;
	int flags;
} routes[] = {
    {"/gpu-aggregation/clusters", hub_lens_clusters, NO_CLUSTER},
    {"/clusters/overview", hub_lens_overview, 0},
    {"/clusters/consumers", hub_lens_consumers, 0},
    {"/clusters/gpuHeatmap", hub_lens_heatmap, 0},
    {"/nodes", hub_lens_nodes, 0},
    {"/nodes/gpuAllocation", hub_lens_gpu_allocation, 0},
    {"/nodes/gpuUtilization", hub_lens_gpu_utilization, 0},
    {"/nodes/gpuUtilizationHistory", hub_lens_cluster_history, 0},
    {"/workloads", hub_lens_workloads, 0},
    {"/workloadMetadata", hub_lens_workload_meta, 0},
    {"/workloads/hierarchy", hub_lens_workload_tree, 0},
    {"/workloads/gpuUtilizationHistory", hub_lens_workload_history, 0},
    {"/workloads/statistic", hub_lens_workload_statistic, 0},
    {"/workloads/statistics", hub_lens_workload_statistic, 0},
    {"/gpu-aggregation/cluster/hourly-stats", hub_lens_cluster_hourly, DB_ROUTE},
    {"/gpu-aggregation/namespaces", hub_lens_namespaces, DB_ROUTE},
    {"/gpu-aggregation/workloads/hourly-stats", hub_lens_workload_hourly, DB_ROUTE},
};

/* Routes on one item: PREFIX{segment}SUFFIX; not_found answers a segment that cannot name anything. */
static const struct {
	const char *prefix, *suffix, *not_found;
	lens_fn fn;
} item_routes[] = {
    {"/nodes/", "", "node not found", hub_lens_node},
    {"/nodes/", "/gpuDevices", "node not found", hub_lens_node_gpus},
    {"/nodes/", "/workloads", "node not found", hub_lens_node_workloads},
    {"/nodes/", "/workloadsHistory", "node not found", hub_lens_node_workloads_history},
    {"/nodes/", "/utilizationHistory", "node not found", hub_lens_node_history},
    {"/workloads/", "", "workload not found", hub_lens_workload},
    {"/workloads/", "/hierarchy", "workload not found", hub_lens_workload_subtree},
    {"/pods/", "", "pod not found", hub_lens_pod},
    {"/pods/", "/gpu-history", "pod not found", hub_lens_pod_history},
};

int hub_lens_default_cluster(const hub_req *r)
{
	const hub_clusters *cl = r->cl; /* the request's configuration: file order and the default may be reloaded */
	int i = hub_clusters_find(cl, cl->cfg.lens_default_cluster);
	for (size_t k = 0; (i < 0 || !r->scope[i]) && k < cl->cfg.n_clusters; k++)
		i = hub_clusters_find(cl, cl->cfg.clusters[k].name);
	return i >= 0 && r->scope[i] ? i : -1;
}

/* Resolves the cluster (LENS_API.md 1.3): ?cluster= names one the caller may see, else 4004; left out,
 * hub.lens.default_cluster when the caller may see it, else the first cluster in the file it may see;
 * none at all is Lens's panic (500, empty). */
static int resolve_cluster(hub_lens_req *q)
{
	hub_view *v = q->r->api->view;
	char name[FL_CLUSTER_LEN + 1];
	int rv = hub_lens_str(q, "cluster", name, sizeof(name));
	if (rv != 0)
		return rv;
	if (name[0] != '\0') {
		int i = strspn(name, NAME_CHARS) == strlen(name) ? hub_view_find(v, name) : -1;
		if (i < 0 || !q->r->scope[i])
			return hub_lens_fail(q, HUB_LENS_NOT_FOUND, "ClientSet for cluster %s not found",
			                     strspn(name, NAME_CHARS) == strlen(name) ? name : "(invalid name)");
		q->cluster = i;
		q->cluster_given = true;
	} else {
		q->cluster = hub_lens_default_cluster(q->r);
		if (q->cluster < 0)
			return send_plain(q->r, 500, "text/plain; charset=utf-8", "");
	}
	q->cluster_name = hub_view_name(v, (size_t)q->cluster);
	return 0;
}

static int dispatch(hub_lens_req *q, const char *rest)
{
	lens_fn fn = NULL;
	int flags = 0;
	const char *not_found = NULL;
	bool bad_segment = false;
	for (size_t i = 0; fn == NULL && i < sizeof(routes) / sizeof(routes[0]); i++)
		if (strcmp(rest, routes[i].path) == 0) {
			fn = routes[i].fn;
			flags = routes[i].flags;
		}
	for (size_t i = 0; fn == NULL && i < sizeof(item_routes) / sizeof(item_routes[0]); i++) {
		size_t plen = strlen(item_routes[i].prefix);
		if (strncmp(rest, item_routes[i].prefix, plen) != 0)
			continue;
		const char *seg = rest + plen, *slash = strchr(seg, '/');
		if (strcmp(slash != NULL ? slash : "", item_routes[i].suffix) != 0)
			continue;
		size_t len = slash != NULL ? (size_t)(slash - seg) : strlen(seg);
		if (len == 0)
			continue; /* "/nodes/" is no route in Lens's router either */
		fn = item_routes[i].fn;
		not_found = item_routes[i].not_found;
		bad_segment = len >= sizeof(q->item) || strspn(seg, NAME_CHARS) < len;
		if (!bad_segment) {
			memcpy(q->item, seg, len);
			q->item[len] = '\0';
		}
	}
	if (fn == NULL)
		return send_plain(q->r, 404, "text/plain; charset=utf-8", "404 page not found");
	q->db_route = (flags & DB_ROUTE) != 0;
	int rv;
	if ((flags & NO_CLUSTER) == 0 && (rv = resolve_cluster(q)) != 0)
		return rv;
	if (bad_segment)
		return hub_lens_fail(q, HUB_LENS_NOT_FOUND, "%s", not_found);
	return fn(q);
}

int hub_lens_handle(hub_req *r, const char *rest)
{
	const struct mg_request_info *ri = mg_get_request_info(r->c);
	const char *origin = mg_get_header(r->c, "Origin");
	if (origin != NULL && hub_auth_origin_allowed(&r->cl->cfg, origin))
		snprintf(
		    r->headers, sizeof(r->headers),
		    "Access-Control-Allow-Origin: %s\r\nAccess-Control-Allow-Credentials: true\r\nVary: Origin\r\n",
		    origin);
	if (strcmp(ri->request_method, "OPTIONS") == 0) {
		mg_printf(
		    r->c,
		    "HTTP/1.1 204 No Content\r\n%sAccess-Control-Allow-Methods: GET, OPTIONS\r\n"
		    "Access-Control-Allow-Headers: Authorization, Content-Type\r\nAccess-Control-Max-Age: 600\r\n\r\n",
		    r->headers);
		hub_metrics_add(HUB_M_API_2XX, 1);
		return 204;
	}
	/* Lens's own auth middleware answers 401 with its own body; the console then logs its user out. */
	const char *authz = mg_get_header(r->c, "Authorization");
	int token = hub_auth_check(r->cl->auth, authz);
	if (token == HUB_AUTH_NONE)
		return send_plain(r, 401, "application/json",
		                  authz == NULL ? "{\"code\":401,\"message\":\"authentication required\"}"
		                                : "{\"code\":401,\"message\":\"authentication failed\"}");
	r->scope = hub_auth_scope(r->cl->auth, token);
	if (strcmp(ri->request_method, "GET") != 0)
		return send_plain(r, 404, "text/plain; charset=utf-8", "404 page not found");
	hub_lens_req q;
	memset(&q, 0, sizeof(q));
	q.r = r;
	q.cluster = -1;
	return dispatch(&q, rest);
}
