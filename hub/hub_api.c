/* hub_api.c — the HTTP server (civetweb): dispatch, access (tokens, scopes, CORS), answers in the
 * envelope, /healthz, /readyz, /metrics and the console files. The /v1 routes are in hub_api_v1.c. */
#include "hub_api.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fl_log.h"
#include "fl_time.h"
#include "hub_api_int.h"
#include "hub_api_usage.h"
#include "hub_lens_int.h"
#include "hub_metrics.h"
#include "hub_store.h"

#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"

/* Per worker thread (civetweb's thread pointer): its own database connection, for /readyz. */
typedef struct hub_api_slot {
	hub_store *store;
} hub_api_slot;

/* --- answers ------------------------------------------------------------------------------------- */

static void count_status(int status)
{
	hub_metrics_add(status < 400 ? HUB_M_API_2XX : status < 500 ? HUB_M_API_4XX : HUB_M_API_5XX, 1);
}

static int send_body(hub_req *r, int status, const char *type, const char *body, size_t len, const char *extra)
{
	mg_printf(r->c,
	          "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nCache-Control: no-store\r\n"
	          "X-Content-Type-Options: nosniff\r\n%s%s\r\n",
	          status, mg_get_response_code_text(r->c, status), type, len, r->headers, extra ? extra : "");
	mg_write(r->c, body, len);
	count_status(status);
	return status;
}

/* Sends {"meta":{"code":code,"message":msg},"data":data} with HTTP status; steals data (may be NULL). */
static int send_envelope(hub_req *r, int status, int code, const char *msg, json_t *data, const char *extra)
{
	json_t *env = json_pack("{s:{s:i,s:s},s:o}", "meta", "code", code, "message", msg, "data",
	                        data != NULL ? data : json_null());
	char *text = env != NULL ? json_dumps(env, JSON_COMPACT) : NULL;
	json_decref(env);
	if (text == NULL) {
		static const char oom[] = "{\"meta\":{\"code\":5000,\"message\":\"out of memory\"},\"data\":null}";
		return send_body(r, 500, "application/json", oom, sizeof(oom) - 1, NULL);
	}
	int rv = send_body(r, status, "application/json", text, strlen(text), extra);
	free(text);
	return rv;
}

int hub_api_ok(hub_req *r, json_t *data)
{
	if (data == NULL)
		return send_envelope(r, 500, 5000, "out of memory", NULL, NULL);
	return send_envelope(r, 200, 2000, "OK", data, NULL);
}

int hub_api_ok_text(hub_req *r, const char *envelope, size_t len)
{
	return send_body(r, 200, "application/json", envelope, len, NULL);
}

int hub_api_error(hub_req *r, int status, const char *fmt, ...)
{
	char msg[FL_ERR_LEN + 128];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	int code = status == 400   ? 4001
	           : status == 401 ? 4003
	           : status == 404 ? 4004
	           : status == 405 ? 4005
	           : status == 503 ? 5003
	                           : 5000;
	const char *extra = status == 405   ? "Allow: GET\r\n"
	                    : status == 401 ? "WWW-Authenticate: Bearer realm=\"fleetlens\"\r\n"
	                                    : NULL;
	return send_envelope(r, status, code, msg, NULL, extra);
}

/* --- /healthz, /readyz, /metrics ------------------------------------------------------------------- */

static hub_store *slot_store(hub_req *r)
{
	hub_api_slot *slot = mg_get_thread_pointer(r->c);
	if (slot == NULL)
		return NULL;
	if (slot->store == NULL)
		slot->store = hub_store_new(r->api->cfg->database_url);
	return slot->store;
}

hub_store *hub_api_store(hub_req *r)
{
	return slot_store(r);
}

static int route_healthz(hub_req *r)
{
	return hub_api_ok(r, json_pack("{s:s}", "status", "ok"));
}

static int route_readyz(hub_req *r)
{
	hub_store *s = slot_store(r);
	if (s == NULL)
		return hub_api_error(r, 500, "out of memory");
	char err[FL_ERR_LEN];
	if (hub_store_ready(s, r->api->migrations, err) != FL_OK) {
		if (fl_log_limit_allow(&r->api->db_log, HUB_API_DB_LOG_EVERY_MS, NULL))
			fl_warn("api: not ready: %s", err);
		/* /readyz needs no token: libpq's words (host, port, user) stay in the log. */
		return hub_api_error(r, 503, "not ready: database unavailable");
	}
	return hub_api_ok(r, json_pack("{s:s}", "status", "ready"));
}

static int route_metrics(hub_req *r)
{
	hub_api *api = r->api;
	char *text = NULL;
	size_t len = 0;
	/* Per-cluster series only for the clusters the token may see; the process-wide counters for every
	 * token (README, Access). */
	if (hub_metrics_render(api->reg, r->scope, fl_now_ms(), api->cfg->stale_after_ms, api->cfg->offline_after_ms,
	                       &text, &len) != FL_OK ||
	    hub_metrics_render_api(api->view, r->scope, &text, &len) != FL_OK) {
		free(text);
		return hub_api_error(r, 500, "out of memory");
	}
	int rv = send_body(r, 200, "text/plain; version=0.0.4; charset=utf-8", text, len, NULL);
	free(text);
	return rv;
}

/* Console files: names of [A-Za-z0-9._-] (not starting with '.') directly inside web_dir. */
static const char *content_type(const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = {{".html", "text/html; charset=utf-8"},
	             {".js", "text/javascript; charset=utf-8"},
	             {".css", "text/css; charset=utf-8"},
	             {".json", "application/json"},
	             {".svg", "image/svg+xml"},
	             {".png", "image/png"},
	             {".ico", "image/x-icon"},
	             {".txt", "text/plain; charset=utf-8"}};
	const char *dot = strrchr(name, '.');
	for (size_t i = 0; dot != NULL && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

/* Serves web_dir/name if it is a plain file there; 0 if there is no such file (caller answers 404). */
static int try_web_file(hub_req *r, const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len > 128 || name[0] == '.' || strspn(name, NAME_CHARS) != len)
		return 0;
	char path[HUB_PATH_LEN + 160];
	snprintf(path, sizeof(path), "%s/%s", r->api->cfg->web_dir, name);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	struct stat sb;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size > HUB_API_MAX_WEB_FILE) {
		close(fd);
		return 0;
	}
	char *buf = malloc((size_t)sb.st_size + 1);
	size_t got = 0;
	while (buf != NULL && got < (size_t)sb.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)sb.st_size - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (buf == NULL || got != (size_t)sb.st_size) {
		free(buf);
		return hub_api_error(r, 500, "cannot read console file '%s'", name);
	}
	int rv = send_body(r, 200, content_type(name), buf, got, NULL);
	free(buf);
	return rv;
}

/* --- dispatch ------------------------------------------------------------------------------------ */

typedef int (*route_fn)(hub_req *);

static const struct {
	const char *path;
	hub_api_route label;
	route_fn fn;
} routes[] = {
    {"/v1/clusters", HUB_ROUTE_CLUSTERS, hub_api_v1_clusters},
    {"/v1/clusters/overview", HUB_ROUTE_CLUSTERS_OVERVIEW, hub_api_v1_overview},
    {"/v1/clusters/gpuHeatmap", HUB_ROUTE_CLUSTERS_HEATMAP, hub_api_v1_heatmap},
    {"/v1/fleet/overview", HUB_ROUTE_FLEET_OVERVIEW, hub_api_v1_fleet_overview},
    {"/v1/nodes", HUB_ROUTE_NODES, hub_api_v1_nodes},
    {"/v1/nodes/gpuAllocation", HUB_ROUTE_NODES_ALLOCATION, hub_api_v1_gpu_allocation},
    {"/v1/workloads", HUB_ROUTE_WORKLOADS, hub_api_workloads},
    {"/v1/jobs", HUB_ROUTE_JOBS, hub_api_jobs},
    {"/v1/usage", HUB_ROUTE_USAGE, hub_api_usage},
    {"/v1/openapi.json", HUB_ROUTE_OPENAPI, hub_api_openapi}, /* open: no token (it holds no data) */
    {"/healthz", HUB_ROUTE_HEALTHZ, route_healthz},
    {"/readyz", HUB_ROUTE_READYZ, route_readyz},
    {"/metrics", HUB_ROUTE_METRICS, route_metrics},
};

/* Routes on one item: PREFIX{segment}SUFFIX, the segment a name of NAME_CHARS. */
static const struct {
	const char *prefix, *suffix, *segment;
	hub_api_route label;
	route_fn fn;
} item_routes[] = {
    {"/v1/nodes/", "", "name", HUB_ROUTE_NODE, hub_api_v1_node},
    {"/v1/nodes/", "/gpuDevices", "name", HUB_ROUTE_NODE_GPUS, hub_api_v1_node_gpus},
    {"/v1/nodes/", "/utilizationHistory", "name", HUB_ROUTE_NODE_HISTORY, hub_api_history},
    {"/v1/workloads/", "", "uid", HUB_ROUTE_WORKLOAD, hub_api_workload},
    {"/v1/workloads/", "/utilizationHistory", "uid", HUB_ROUTE_WORKLOAD_HISTORY, hub_api_workload_history},
    {"/v1/jobs/", "", "id", HUB_ROUTE_JOB, hub_api_job},
    {"/v1/jobs/", "/metrics", "id", HUB_ROUTE_JOB_METRICS, hub_api_job_metrics},
};

/* Finds uri's route: *fn and *label, and r->name for the item routes. *fn is NULL when no route matches;
 * *bad_segment names the item segment ("name", "uid") when it is not a name, else it is NULL. */
static void match_route(hub_req *r, const char *uri, route_fn *fn, hub_api_route *label, const char **bad_segment)
{
	*fn = NULL;
	*label = HUB_ROUTE_OTHER;
	*bad_segment = NULL;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strcmp(uri, routes[i].path) == 0) {
			*fn = routes[i].fn;
			*label = routes[i].label;
			return;
		}
	}
	for (size_t i = 0; i < sizeof(item_routes) / sizeof(item_routes[0]); i++) {
		size_t plen = strlen(item_routes[i].prefix);
		if (strncmp(uri, item_routes[i].prefix, plen) != 0)
			continue;
		const char *name = uri + plen, *slash = strchr(name, '/');
		if (strcmp(slash != NULL ? slash : "", item_routes[i].suffix) != 0)
			continue;
		size_t len = slash != NULL ? (size_t)(slash - name) : strlen(name);
		*fn = item_routes[i].fn;
		*label = item_routes[i].label;
		if (len == 0 || len >= sizeof(r->name) || strspn(name, NAME_CHARS) < len) {
			*bad_segment = item_routes[i].segment;
			return;
		}
		memcpy(r->name, name, len);
		r->name[len] = '\0';
		return;
	}
}

/* The access-controlled paths: the /v1 API and /metrics. */
static bool guarded(const char *uri)
{
	return strcmp(uri, "/v1") == 0 || strncmp(uri, "/v1/", 4) == 0 || strcmp(uri, "/metrics") == 0;
}

static int preflight(hub_req *r)
{
	mg_printf(r->c,
	          "HTTP/1.1 204 No Content\r\n%sAccess-Control-Allow-Methods: GET, OPTIONS\r\n"
	          "Access-Control-Allow-Headers: Authorization, Content-Type\r\nAccess-Control-Max-Age: 600\r\n"
	          "Content-Length: 0\r\n\r\n",
	          r->headers);
	count_status(204);
	return 204;
}

static int handle(hub_req *r, hub_api_route *label)
{
	const struct mg_request_info *ri = mg_get_request_info(r->c);
	const char *uri = ri->local_uri != NULL ? ri->local_uri : "";
	bool get = strcmp(ri->request_method, "GET") == 0;
	route_fn fn;
	const char *bad_segment;
	/* The Lens face (hub_lens.c): /lens/v1 where the Lens console's nginx sends it, /api/v1 where the SaFE
	 * apiserver's lens-compat proxy does. It answers access, methods and errors in Lens's own way. */
	static const char *const lens_prefixes[] = {"/lens/v1/", "/api/v1/"};
	for (size_t i = 0; i < sizeof(lens_prefixes) / sizeof(lens_prefixes[0]); i++) {
		size_t plen = strlen(lens_prefixes[i]);
		if (strncmp(uri, lens_prefixes[i], plen) == 0) {
			*label = HUB_ROUTE_LENS;
			return hub_lens_handle(r, uri + plen - 1);
		}
	}
	match_route(r, uri, &fn, label, &bad_segment);
	if (guarded(uri) && *label != HUB_ROUTE_OPENAPI) {
		const char *origin = mg_get_header(r->c, "Origin");
		if (origin != NULL && hub_auth_origin_allowed(&r->cl->cfg, origin)) {
			snprintf(r->headers, sizeof(r->headers), "Access-Control-Allow-Origin: %s\r\nVary: Origin\r\n",
			         origin);
			if (strcmp(ri->request_method, "OPTIONS") == 0)
				return preflight(r);
		}
		int token = hub_auth_check(r->cl->auth, mg_get_header(r->c, "Authorization"));
		if (token == HUB_AUTH_NONE)
			return hub_api_error(r, 401,
			                     "a valid bearer token is required (Authorization: Bearer <token>)");
		r->scope = hub_auth_scope(r->cl->auth, token);
	}
	if (fn != NULL) {
		if (!get)
			return hub_api_error(r, 405, "method %.16s not allowed", ri->request_method);
		if (bad_segment != NULL)
			return hub_api_error(r, 400, "path segment '%s' must be 1..%zu of A-Z a-z 0-9 . _ -",
			                     bad_segment, sizeof(r->name) - 1);
		return fn(r);
	}
	if (!guarded(uri) && uri[0] == '/' && strchr(uri + 1, '/') == NULL) {
		if (!get)
			return hub_api_error(r, 405, "method %.16s not allowed", ri->request_method);
		*label = HUB_ROUTE_CONSOLE;
		int rv = try_web_file(r, uri[1] != '\0' ? uri + 1 : "index.html");
		if (rv != 0)
			return rv;
		*label = HUB_ROUTE_OTHER;
	}
	return hub_api_error(r, 404, "no route %.200s", uri);
}

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int begin_request(struct mg_connection *c)
{
	int64_t t0 = mono_us();
	hub_req r;
	memset(&r, 0, sizeof(r));
	r.c = c;
	r.api = mg_get_user_data(mg_get_context(c));
	r.query = mg_get_request_info(c)->query_string;
	hub_api_route label = HUB_ROUTE_OTHER;
	r.cl = hub_registry_clusters(r.api->reg);
	int status = handle(&r, &label);
	hub_clusters_release(r.cl);
	hub_metrics_observe_api(label, mono_us() - t0);
	return status;
}

static void *init_thread(const struct mg_context *ctx, int thread_type)
{
	(void)ctx;
	return thread_type == 1 ? calloc(1, sizeof(hub_api_slot)) : NULL;
}

static void exit_thread(const struct mg_context *ctx, int thread_type, void *ptr)
{
	(void)ctx;
	(void)thread_type;
	hub_api_slot *slot = ptr;
	if (slot != NULL) {
		hub_store_free(slot->store);
		free(slot);
	}
}

static int log_message(const struct mg_connection *c, const char *message)
{
	(void)c;
	fl_warn("api: %s", message);
	return 1;
}

int hub_api_start(const hub_config *cfg, hub_registry *reg, hub_view *view, const json_t *migrations, hub_api **out,
                  char err[FL_ERR_LEN])
{
	*out = NULL;
	hub_api *api = calloc(1, sizeof(*api));
	if (api == NULL || hub_api_cache_new(view, HUB_API_CACHE_BUDGET, &api->cache) != FL_OK) {
		free(api);
		return fl_seterr(err, FL_ENOMEM, "api: out of memory");
	}
	api->cfg = cfg;
	api->reg = reg;
	api->view = view;
	api->migrations = migrations;
	if (hub_auth_listen_address(cfg->api_listen, cfg->n_api_tokens > 0, api->listen, sizeof(api->listen)))
		fl_warn("api: no hub.api_tokens configured: the API listens on %s only (api_listen %s asked for more)",
		        api->listen, cfg->api_listen);
	else if (cfg->n_api_tokens == 0)
		fl_warn("api: no hub.api_tokens configured: the API answers without a token, on loopback (%s) only",
		        api->listen);
	struct mg_callbacks cb;
	memset(&cb, 0, sizeof(cb));
	cb.begin_request = begin_request;
	cb.init_thread = init_thread;
	cb.exit_thread = exit_thread;
	cb.log_message = log_message;
	char threads[16];
	snprintf(threads, sizeof(threads), "%d", cfg->api_threads > 0 ? cfg->api_threads : HUB_DEFAULT_API_THREADS);
	const char *opts[] = {"listening_ports",   api->listen, "num_threads",        threads, "tcp_nodelay", "1",
	                      "enable_keep_alive", "yes",       "request_timeout_ms", "10000", NULL};
	struct mg_init_data init = {.callbacks = &cb, .user_data = api, .configuration_options = opts};
	char text[256] = "";
	unsigned code = 0;
	struct mg_error_data e = {.code = &code, .text = text, .text_buffer_size = sizeof(text)};
	api->ctx = mg_start2(&init, &e);
	if (api->ctx == NULL) {
		hub_api_cache_free(api->cache);
		free(api);
		return fl_seterr(err, FL_EIO, "api %s: cannot start: %s", cfg->api_listen,
		                 text[0] ? text : "unknown error");
	}
	*out = api;
	return FL_OK;
}

const char *hub_api_listening(const hub_api *api)
{
	return api->listen;
}

void hub_api_stop(hub_api *api)
{
	if (api == NULL)
		return;
	mg_stop(api->ctx);
	hub_api_cache_free(api->cache); /* after mg_stop: no request holds a text any more */
	free(api);
}

/* --- helpers of the routes that read PostgreSQL ------------------------------------------------- */

int hub_api_scope_names(hub_req *r, bool with_labels, const char ***names, size_t *n)
{
	*names = NULL;
	*n = 0;
	bool *set;
	int rv = hub_api_cluster_set(r, with_labels, &set);
	if (rv != 0)
		return rv;
	*names = hub_api_cluster_names(r, set, n);
	free(set);
	return *names != NULL ? 0 : hub_api_error(r, 500, "out of memory");
}

int hub_api_status_list(hub_req *r, const char *const *allowed, size_t n_allowed, char buf[HUB_PARAM_MAX + 1],
                        const char *out[HUB_QUERY_MAX_STATUSES], size_t *n)
{
	char msg[FL_ERR_LEN];
	if (hub_params_statuses(r->query, buf, out, n, msg) != FL_OK)
		return hub_api_error(r, 400, "%s", msg);
	for (size_t i = 0; i < *n; i++) {
		bool known = false;
		for (size_t k = 0; k < n_allowed; k++)
			known = known || strcmp(out[i], allowed[k]) == 0;
		if (known)
			continue;
		char list[160] = "";
		for (size_t k = 0, used = 0; k < n_allowed && used < sizeof(list); k++)
			used +=
			    (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", k > 0 ? ", " : "", allowed[k]);
		return hub_api_error(r, 400, "parameter 'status': '%s' is not one of %s", out[i], list);
	}
	return 0;
}

const char **hub_api_cluster_names(hub_req *r, const bool *set, size_t *n)
{
	hub_view *v = r->api->view;
	size_t count = hub_view_count(v);
	const char **names = calloc(count + 1, sizeof(*names));
	*n = 0;
	for (size_t i = 0; names != NULL && i < count; i++)
		if (set[i])
			names[(*n)++] = hub_view_name(v, i);
	return names;
}

int hub_api_answer_text(hub_req *r, const char *what, char *json, int rv, const char *err)
{
	if (rv != FL_OK || json == NULL) {
		free(json);
		/* FL_OK without json: the caller's strdup or dump failed, not the database. */
		if (rv == FL_ENOMEM || rv == FL_OK)
			return hub_api_error(r, 500, "out of memory");
		fl_warn("api: %s: %s", what, err);
		return hub_api_error(r, 503, "%s are unavailable: the database did not answer", what);
	}
	size_t head = strlen(HUB_API_OK_HEAD), len = strlen(json);
	char *env = malloc(head + len + 2);
	if (env == NULL) {
		free(json);
		return hub_api_error(r, 500, "out of memory");
	}
	memcpy(env, HUB_API_OK_HEAD, head);
	memcpy(env + head, json, len);
	memcpy(env + head + len, "}", 2);
	free(json);
	int status = hub_api_ok_text(r, env, head + len + 1);
	free(env);
	return status;
}

PGconn *hub_api_pgconn(hub_req *r, char err[FL_ERR_LEN])
{
	hub_store *s = hub_api_store(r);
	if (s == NULL) {
		snprintf(err, FL_ERR_LEN, "out of memory");
		return NULL;
	}
	return hub_store_pgconn(s, err);
}
