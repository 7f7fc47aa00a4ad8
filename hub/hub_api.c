/* hub_api.c — routes, envelopes, query-string checks and console files over civetweb. */
#include "hub_api.h"

#include <civetweb.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fl_log.h"
#include "fl_time.h"
#include "hub_metrics.h"
#include "hub_store.h"

struct hub_api {
	struct mg_context *ctx;
	const hub_config *cfg;     /* borrowed */
	hub_registry *reg;         /* borrowed */
	const json_t *migrations;  /* borrowed */
	_Atomic int64_t db_log_ms; /* last time a database failure was logged (rate limit) */
};

/* Per worker thread (civetweb's thread pointer): its own database connection. */
typedef struct hub_api_slot {
	hub_store *store;
} hub_api_slot;

/* --- answers ------------------------------------------------------------------------------------- */

static void count_status(int status)
{
	hub_metrics_add(status < 400 ? HUB_M_API_2XX : status < 500 ? HUB_M_API_4XX : HUB_M_API_5XX, 1);
}

static int send_body(struct mg_connection *c, int status, const char *type, const char *body, size_t len,
                     const char *extra_headers)
{
	mg_printf(c,
	          "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nCache-Control: no-store\r\n"
	          "X-Content-Type-Options: nosniff\r\n%s\r\n",
	          status, mg_get_response_code_text(c, status), type, len, extra_headers ? extra_headers : "");
	mg_write(c, body, len);
	count_status(status);
	return status;
}

/* Sends {"meta":{"code":code,"message":msg},"data":data} with HTTP status; steals data (may be NULL). */
static int send_envelope(struct mg_connection *c, int status, int code, const char *msg, json_t *data,
                         const char *extra_headers)
{
	json_t *env = json_pack("{s:{s:i,s:s},s:o}", "meta", "code", code, "message", msg, "data",
	                        data != NULL ? data : json_null());
	char *text = env != NULL ? json_dumps(env, JSON_COMPACT) : NULL;
	json_decref(env);
	if (text == NULL) {
		static const char oom[] = "{\"meta\":{\"code\":5000,\"message\":\"out of memory\"},\"data\":null}";
		return send_body(c, 500, "application/json", oom, sizeof(oom) - 1, NULL);
	}
	int rv = send_body(c, status, "application/json", text, strlen(text), extra_headers);
	free(text);
	return rv;
}

static int send_ok(struct mg_connection *c, json_t *data)
{
	if (data == NULL)
		return send_envelope(c, 500, 5000, "out of memory", NULL, NULL);
	return send_envelope(c, 200, 2000, "OK", data, NULL);
}

static int send_error(struct mg_connection *c, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int send_error(struct mg_connection *c, int status, const char *fmt, ...)
{
	char msg[FL_ERR_LEN + 128];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	int code = status == 400 ? 4001 : status == 404 ? 4004 : status == 405 ? 4005 : status == 503 ? 5003 : 5000;
	return send_envelope(c, status, code, msg, NULL, status == 405 ? "Allow: GET\r\n" : NULL);
}

/* A database failure: 503 to the client, one log line per 10 s at most. */
static int send_db_error(struct mg_connection *c, hub_api *api, const char *err)
{
	int64_t now = fl_mono_ms(), last = atomic_load(&api->db_log_ms);
	if (now - last >= 10000 && atomic_compare_exchange_strong(&api->db_log_ms, &last, now))
		fl_warn("api: %s", err);
	return send_error(c, 503, "database unavailable: %s", err);
}

/* --- query strings ------------------------------------------------------------------------------- */

enum { P_ABSENT = 0, P_OK = 1, P_TOO_LONG = -1, P_BAD = -2 };

/* Decodes query parameter name into buf (HUB_API_MAX_PARAM + 1 bytes). An empty value counts as
 * absent; a value longer than HUB_API_MAX_PARAM is P_TOO_LONG; one that decodes to a NUL is P_BAD. */
static int get_param(const struct mg_request_info *ri, const char *name, char buf[HUB_API_MAX_PARAM + 1])
{
	buf[0] = '\0';
	if (ri->query_string == NULL)
		return P_ABSENT;
	int n = mg_get_var(ri->query_string, strlen(ri->query_string), name, buf, HUB_API_MAX_PARAM + 1);
	if (n == -1 || n == 0)
		return P_ABSENT;
	if (n < 0)
		return P_TOO_LONG;
	if ((size_t)n != strlen(buf))
		return P_BAD;
	return P_OK;
}

static bool valid_name_chars(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '.' ||
		      *s == '_' || *s == '-'))
			return false;
	return true;
}

/* Reads the `cluster` parameter. Returns 0 with *idx = registry index (or -1 when absent), or the HTTP
 * status it already answered with. */
static int cluster_param(struct mg_connection *c, hub_api *api, int *idx)
{
	char v[HUB_API_MAX_PARAM + 1];
	int p = get_param(mg_get_request_info(c), "cluster", v);
	*idx = -1;
	if (p == P_TOO_LONG)
		return send_error(c, 400, "parameter 'cluster' is longer than %d bytes", HUB_API_MAX_PARAM);
	if (p == P_ABSENT)
		return 0;
	if (p == P_BAD || !valid_name_chars(v) || strlen(v) >= FL_CLUSTER_LEN)
		return send_error(c, 400, "parameter 'cluster' must be 1..63 of A-Z a-z 0-9 . _ -");
	*idx = hub_registry_find(api->reg, v);
	if (*idx < 0)
		return send_error(c, 404, "cluster '%s' not found", v);
	return 0;
}

/* Reads a whole-number parameter in [min, max] (def when absent). 0, or the HTTP status answered. */
static int int_param(struct mg_connection *c, const char *name, int64_t def, int64_t min, int64_t max, int64_t *out)
{
	char v[HUB_API_MAX_PARAM + 1];
	int p = get_param(mg_get_request_info(c), name, v);
	*out = def;
	if (p == P_ABSENT)
		return 0;
	if (p == P_TOO_LONG)
		return send_error(c, 400, "parameter '%s' is longer than %d bytes", name, HUB_API_MAX_PARAM);
	bool digits = p == P_OK && strlen(v) <= 12;
	for (const char *s = v; digits && *s; s++)
		digits = *s >= '0' && *s <= '9';
	int64_t x = digits ? strtoll(v, NULL, 10) : 0;
	if (!digits || x < min || x > max)
		return send_error(c, 400, "parameter '%s' must be a whole number from %" PRId64 " to %" PRId64, name,
		                  min, max);
	*out = x;
	return 0;
}

/* --- routes -------------------------------------------------------------------------------------- */

static hub_store *slot_store(struct mg_connection *c, hub_api *api)
{
	hub_api_slot *slot = mg_get_thread_pointer(c);
	if (slot == NULL)
		return NULL;
	if (slot->store == NULL)
		slot->store = hub_store_new(api->cfg->database_url);
	return slot->store;
}

static json_t *time_or_null(int64_t ms)
{
	if (ms <= 0)
		return json_null();
	char buf[40];
	fl_format_time(ms, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *str_or_null(const char *s)
{
	return s[0] != '\0' ? json_string(s) : json_null();
}

static json_t *age_or_null(int64_t last_ms, int64_t now_ms)
{
	return last_ms > 0 ? json_real((double)(now_ms - last_ms) / 1000.0) : json_null();
}

static int route_clusters(struct mg_connection *c, hub_api *api)
{
	hub_store *s = slot_store(c, api);
	if (s == NULL)
		return send_error(c, 500, "out of memory");
	char err[FL_ERR_LEN];
	json_t *ovs = NULL;
	if (hub_store_read_overviews(s, &ovs, err) != FL_OK)
		return send_db_error(c, api, err);
	int64_t now = fl_now_ms();
	json_t *arr = json_array();
	for (size_t i = 0; arr != NULL && i < hub_registry_count(api->reg); i++) {
		hub_cluster_state st;
		hub_registry_get(api->reg, i, &st);
		const char *name = hub_registry_name(api->reg, i);
		json_t *ov = json_object_get(ovs, name);
		json_t *o = json_pack(
		    "{s:s,s:o,s:s,s:o,s:o,s:o,s:o,s:O}", "name", name, "labels",
		    hub_config_labels_json(hub_registry_conf(api->reg, i)), "status",
		    hub_status_of(st.last_frame_ms, now, api->cfg->stale_after_ms, api->cfg->offline_after_ms),
		    "lastFrameAt", time_or_null(st.last_frame_ms), "lastFrameAgeSeconds",
		    age_or_null(st.last_frame_ms, now), "k8sVersion", str_or_null(st.k8s_version), "spokeVersion",
		    str_or_null(st.spoke_version), "overview", ov != NULL ? ov : json_null());
		if (o == NULL || json_array_append_new(arr, o) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	json_decref(ovs);
	return send_ok(c, arr);
}

static int route_overview(struct mg_connection *c, hub_api *api)
{
	int idx, rv;
	if ((rv = cluster_param(c, api, &idx)) != 0)
		return rv;
	if (idx < 0) {
		if (hub_registry_count(api->reg) != 1)
			return send_error(c, 400, "parameter 'cluster' is required");
		idx = 0;
	}
	const char *name = hub_registry_name(api->reg, (size_t)idx);
	int64_t now = fl_now_ms();
	hub_cluster_state st;
	hub_registry_get(api->reg, (size_t)idx, &st);
	const char *status = hub_status_of(st.last_frame_ms, now, api->cfg->stale_after_ms, api->cfg->offline_after_ms);
	if (st.last_frame_ms <= 0)
		return send_error(c, 503, "cluster '%s' has not reported yet", name);

	hub_store *s = slot_store(c, api);
	if (s == NULL)
		return send_error(c, 500, "out of memory");
	char err[FL_ERR_LEN];
	fl_proto_overview ov;
	int64_t updated_ms = 0;
	bool found = false;
	if (hub_store_read_overview(s, name, &ov, &updated_ms, &found, err) != FL_OK)
		return send_db_error(c, api, err);
	if (!found)
		return send_error(c, 503, "cluster '%s' has not reported an overview yet", name);
	json_t *data = fl_proto_overview_to_json(&ov);
	/* ageSeconds is the age of the figures served (when the overview was stored). */
	if (data == NULL || json_object_set_new(data, "cluster", json_string(name)) ||
	    json_object_set_new(data, "updatedAt", time_or_null(updated_ms)) ||
	    json_object_set_new(data, "status", json_string(status)) ||
	    json_object_set_new(data, "ageSeconds", age_or_null(updated_ms, now))) {
		json_decref(data);
		data = NULL;
	}
	return send_ok(c, data);
}

static int route_nodes(struct mg_connection *c, hub_api *api)
{
	int idx, rv;
	int64_t page_num, page_size;
	if ((rv = cluster_param(c, api, &idx)) != 0)
		return rv;
	if ((rv = int_param(c, "page_num", 1, 1, HUB_API_MAX_PAGE_NUM, &page_num)) != 0)
		return rv;
	if ((rv = int_param(c, "page_size", 10, 1, HUB_API_MAX_PAGE_SIZE, &page_size)) != 0)
		return rv;
	hub_store *s = slot_store(c, api);
	if (s == NULL)
		return send_error(c, 500, "out of memory");
	char err[FL_ERR_LEN];
	json_t *rows = NULL;
	int64_t total = 0;
	if (hub_store_read_nodes(s, idx >= 0 ? hub_registry_name(api->reg, (size_t)idx) : NULL, page_size,
	                         (page_num - 1) * page_size, &rows, &total, err) != FL_OK)
		return send_db_error(c, api, err);
	return send_ok(c, json_pack("{s:o,s:I}", "data", rows, "total", (json_int_t)total));
}

static int route_readyz(struct mg_connection *c, hub_api *api)
{
	hub_store *s = slot_store(c, api);
	if (s == NULL)
		return send_error(c, 500, "out of memory");
	char err[FL_ERR_LEN];
	if (hub_store_ready(s, api->migrations, err) != FL_OK)
		return send_error(c, 503, "not ready: %s", err);
	return send_ok(c, json_pack("{s:s}", "status", "ready"));
}

static int route_metrics(struct mg_connection *c, hub_api *api)
{
	char *text = NULL;
	size_t len = 0;
	if (hub_metrics_render(api->reg, fl_now_ms(), api->cfg->stale_after_ms, api->cfg->offline_after_ms, &text,
	                       &len) != FL_OK)
		return send_error(c, 500, "out of memory");
	mg_printf(c,
	          "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
	          "Content-Length: %zu\r\nCache-Control: no-store\r\n\r\n",
	          len);
	mg_write(c, text, len);
	free(text);
	count_status(200);
	return 200;
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
static int try_web_file(struct mg_connection *c, hub_api *api, const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len > 128 || name[0] == '.' || !valid_name_chars(name))
		return 0;
	char path[HUB_PATH_LEN + 160];
	snprintf(path, sizeof(path), "%s/%s", api->cfg->web_dir, name);
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
		return send_error(c, 500, "cannot read console file '%s'", name);
	}
	int rv = send_body(c, 200, content_type(name), buf, got, NULL);
	free(buf);
	return rv;
}

typedef int (*route_fn)(struct mg_connection *, hub_api *);

static int route_healthz(struct mg_connection *c, hub_api *api)
{
	(void)api;
	return send_ok(c, json_pack("{s:s}", "status", "ok"));
}

static const struct {
	const char *path;
	route_fn fn;
} routes[] = {
    {"/v1/clusters", route_clusters}, {"/v1/clusters/overview", route_overview},
    {"/v1/nodes", route_nodes},       {"/healthz", route_healthz},
    {"/readyz", route_readyz},        {"/metrics", route_metrics},
};

static int begin_request(struct mg_connection *c)
{
	hub_api *api = mg_get_user_data(mg_get_context(c));
	const struct mg_request_info *ri = mg_get_request_info(c);
	const char *uri = ri->local_uri != NULL ? ri->local_uri : "";
	bool get = strcmp(ri->request_method, "GET") == 0;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strcmp(uri, routes[i].path) == 0)
			return get ? routes[i].fn(c, api)
			           : send_error(c, 405, "method %.16s not allowed", ri->request_method);
	}
	if (uri[0] == '/' && strchr(uri + 1, '/') == NULL) {
		const char *name = uri[1] != '\0' ? uri + 1 : "index.html";
		if (!get)
			return send_error(c, 405, "method %.16s not allowed", ri->request_method);
		int rv = try_web_file(c, api, name);
		if (rv != 0)
			return rv;
	}
	return send_error(c, 404, "no route %.200s", uri);
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

int hub_api_start(const hub_config *cfg, hub_registry *reg, const json_t *migrations, hub_api **out,
                  char err[FL_ERR_LEN])
{
	*out = NULL;
	hub_api *api = calloc(1, sizeof(*api));
	if (api == NULL)
		return fl_seterr(err, FL_ENOMEM, "api: out of memory");
	api->cfg = cfg;
	api->reg = reg;
	api->migrations = migrations;
	struct mg_callbacks cb;
	memset(&cb, 0, sizeof(cb));
	cb.begin_request = begin_request;
	cb.init_thread = init_thread;
	cb.exit_thread = exit_thread;
	cb.log_message = log_message;
	const char *opts[] = {"listening_ports",   cfg->api_listen, "num_threads",        "16",    "tcp_nodelay", "1",
	                      "enable_keep_alive", "yes",           "request_timeout_ms", "10000", NULL};
	struct mg_init_data init = {.callbacks = &cb, .user_data = api, .configuration_options = opts};
	char text[256] = "";
	unsigned code = 0;
	struct mg_error_data e = {.code = &code, .text = text, .text_buffer_size = sizeof(text)};
	api->ctx = mg_start2(&init, &e);
	if (api->ctx == NULL) {
		free(api);
		return fl_seterr(err, FL_EIO, "api %s: cannot start: %s", cfg->api_listen,
		                 text[0] ? text : "unknown error");
	}
	*out = api;
	return FL_OK;
}

void hub_api_stop(hub_api *api)
{
	if (api == NULL)
		return;
	mg_stop(api->ctx);
	free(api);
}
