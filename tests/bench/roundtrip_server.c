/* roundtrip_server.c — fl-bench-server, the two baselines ./scripts/bench measures the hub's API against.
 * Not a product: built with the project (target fl-bench-server), never installed.
 *
 *   --mode roundtrip  the design FleetLens replaces: every request asks PostgreSQL (hub_store, one
 *                     connection per civetweb worker) and answers from the rows it gets back —
 *                     GET /v1/clusters/overview?cluster=C  hub_store_read_overview (one statement)
 *                     GET /v1/nodes?[cluster=C&]page_size=N&page_num=P  roundtrip_read_nodes (a count and
 *                     a page: two statements), rows ordered by cluster and name as the hub's default
 *   --mode fixed      the ceiling: every request gets the same bytes (the file --body names, e.g. the
 *                     hub's own overview answer), with the hub's headers; no work at all.
 *
 * Both use civetweb as the hub does (tcp_nodelay, keep-alive, one worker thread per connection).
 * Usage: fl-bench-server --mode roundtrip|fixed --listen ADDR:PORT [--threads N] [--database CONNINFO]
 *        [--body FILE]. Runs until SIGINT or SIGTERM. */
#include <civetweb.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fl_log.h"
#include "fl_proto.h"
#include "fl_time.h"
#include "hub_store.h"
#include "roundtrip_reads.h"

#define MAX_BODY (32u << 20) /* a heat map of 5,000 nodes is ~1 MB */

static const char *database;
static char *fixed_body;
static size_t fixed_len;
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int send_json(struct mg_connection *c, int status, const char *body, size_t len)
{
	mg_printf(
	    c,
	    "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\nCache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n\r\n",
	    status, mg_get_response_code_text(c, status), len);
	mg_write(c, body, len);
	return status;
}

/* Sends {"meta":{"code":code,"message":msg},"data":data}; steals data. */
static int send_envelope(struct mg_connection *c, int status, int code, const char *msg, json_t *data)
{
	json_t *env = json_pack("{s:{s:i,s:s},s:o}", "meta", "code", code, "message", msg, "data",
	                        data != NULL ? data : json_null());
	char *text = env != NULL ? json_dumps(env, JSON_COMPACT) : NULL;
	json_decref(env);
	if (text == NULL)
		return send_json(c, 500, "{}", 2);
	int rv = send_json(c, status, text, strlen(text));
	free(text);
	return rv;
}

static long long query_int(const char *qs, const char *name, long long def)
{
	char buf[32];
	if (qs == NULL || mg_get_var(qs, strlen(qs), name, buf, sizeof(buf)) <= 0)
		return def;
	return strtoll(buf, NULL, 10);
}

static int roundtrip(struct mg_connection *c, void *cbdata)
{
	(void)cbdata;
	const struct mg_request_info *ri = mg_get_request_info(c);
	hub_store **slot = mg_get_thread_pointer(c);
	if (slot == NULL)
		return send_envelope(c, 500, 5000, "no worker slot", NULL);
	if (*slot == NULL && (*slot = hub_store_new(database)) == NULL)
		return send_envelope(c, 500, 5000, "out of memory", NULL);
	const char *qs = ri->query_string;
	char cluster[FL_CLUSTER_LEN] = "", err[FL_ERR_LEN];
	if (qs != NULL)
		mg_get_var(qs, strlen(qs), "cluster", cluster, sizeof(cluster));
	if (strcmp(ri->local_uri, "/v1/clusters/overview") == 0) {
		fl_proto_overview o;
		int64_t updated_ms;
		bool found;
		if (hub_store_read_overview(*slot, cluster, &o, &updated_ms, &found, err) != FL_OK)
			return send_envelope(c, 503, 5003, err, NULL);
		if (!found)
			return send_envelope(c, 404, 4004, "cluster not found", NULL);
		char when[40];
		fl_format_time(updated_ms, when, sizeof(when));
		json_t *data = fl_proto_overview_to_json(&o);
		if (data != NULL) {
			json_object_set_new(data, "updatedAt", json_string(when));
			json_object_set_new(data, "cluster", json_string(cluster));
		}
		return send_envelope(c, 200, 2000, "OK", data);
	}
	if (strcmp(ri->local_uri, "/v1/nodes") == 0) {
		long long size = query_int(qs, "page_size", 10), page = query_int(qs, "page_num", 1);
		if (size < 1 || size > 1000 || page < 1 || page > 10000000)
			return send_envelope(c, 400, 4001, "parameter 'page_size' or 'page_num' out of range", NULL);
		json_t *rows;
		int64_t total;
		if (roundtrip_read_nodes(*slot, cluster[0] ? cluster : NULL, size, (page - 1) * size, &rows, &total,
		                         err) != FL_OK)
			return send_envelope(c, 503, 5003, err, NULL);
		return send_envelope(c, 200, 2000, "OK",
		                     json_pack("{s:o,s:I}", "data", rows, "total", (json_int_t)total));
	}
	return send_envelope(c, 404, 4004, "no route", NULL);
}

static int fixed(struct mg_connection *c, void *cbdata)
{
	(void)cbdata;
	return send_json(c, 200, fixed_body, fixed_len);
}

static void *init_thread(const struct mg_context *ctx, int thread_type)
{
	(void)ctx;
	return thread_type == 1 ? calloc(1, sizeof(hub_store *)) : NULL;
}

static void exit_thread(const struct mg_context *ctx, int thread_type, void *ptr)
{
	(void)ctx;
	(void)thread_type;
	hub_store **slot = ptr;
	if (slot != NULL) {
		hub_store_free(*slot);
		free(slot);
	}
}

static int usage(void)
{
	fprintf(stderr, "usage: fl-bench-server --mode roundtrip|fixed --listen ADDR:PORT [--threads N] "
	                "[--database CONNINFO] [--body FILE]\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *mode = NULL, *listen = NULL, *threads = "64", *body = NULL;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--mode") == 0)
			mode = argv[i + 1];
		else if (strcmp(argv[i], "--listen") == 0)
			listen = argv[i + 1];
		else if (strcmp(argv[i], "--threads") == 0)
			threads = argv[i + 1];
		else if (strcmp(argv[i], "--database") == 0)
			database = argv[i + 1];
		else if (strcmp(argv[i], "--body") == 0)
			body = argv[i + 1];
		else
			return usage();
	}
	if (argc % 2 != 1 || mode == NULL || listen == NULL)
		return usage();
	mg_request_handler handler;
	if (strcmp(mode, "roundtrip") == 0 && database != NULL) {
		handler = roundtrip;
	} else if (strcmp(mode, "fixed") == 0 && body != NULL) {
		FILE *f = fopen(body, "rb");
		fixed_body = malloc(MAX_BODY);
		if (f == NULL || fixed_body == NULL) {
			fprintf(stderr, "fl-bench-server: cannot read %s\n", body);
			return 2;
		}
		fixed_len = fread(fixed_body, 1, MAX_BODY, f);
		bool whole = feof(f) && !ferror(f);
		fclose(f);
		if (!whole) {
			fprintf(stderr, "fl-bench-server: %s: unreadable or over %u bytes\n", body, MAX_BODY);
			return 2;
		}
		handler = fixed;
	} else {
		return usage();
	}
	fl_log_init("bench", FL_LOG_WARN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	struct mg_callbacks cb;
	memset(&cb, 0, sizeof(cb));
	cb.init_thread = init_thread;
	cb.exit_thread = exit_thread;
	const char *opts[] = {"listening_ports",   listen, "num_threads",        threads, "tcp_nodelay", "1",
	                      "enable_keep_alive", "yes",  "request_timeout_ms", "10000", NULL};
	struct mg_context *ctx = mg_start(&cb, NULL, opts);
	if (ctx == NULL) {
		fprintf(stderr, "fl-bench-server: cannot listen on %s\n", listen);
		return 1;
	}
	mg_set_request_handler(ctx, "/", handler, NULL);
	fprintf(stderr, "fl-bench-server: %s on %s, %s threads\n", mode, listen, threads);
	while (!stop)
		pause();
	mg_stop(ctx);
	free(fixed_body);
	return 0;
}
