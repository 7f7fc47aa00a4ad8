/* spoke_http.c — /healthz, /livez and /metrics over civetweb. */
#include "spoke_http.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl_log.h"
#include "fl_time.h"

struct spoke_http {
	struct mg_context *ctx;
	spoke_stats *stats;
};

bool spoke_http_listen_ok(const char *listen)
{
	if (listen == NULL) {
		return false;
	}
	const char *colon = strrchr(listen, ':');
	if (colon == NULL || colon == listen || colon[1] == '\0' || strlen(colon + 1) > 5) {
		return false;
	}
	long port = 0;
	for (const char *p = colon + 1; *p != '\0'; p++) {
		if (*p < '0' || *p > '9') {
			return false;
		}
		port = port * 10 + (*p - '0');
	}
	if (port < 1 || port > 65535) {
		return false;
	}
	char host[64];
	size_t n = (size_t)(colon - listen);
	if (n >= sizeof(host)) {
		return false;
	}
	memcpy(host, listen, n);
	host[n] = '\0';
	unsigned char addr[16];
	if (host[0] == '[') {
		if (n < 3 || host[n - 1] != ']') {
			return false;
		}
		host[n - 1] = '\0';
		return inet_pton(AF_INET6, host + 1, addr) == 1;
	}
	return inet_pton(AF_INET, host, addr) == 1;
}

static void answer(struct mg_connection *c, int status, const char *type, const char *body, size_t len, bool head)
{
	mg_printf(c,
	          "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nCache-Control: no-store\r\n"
	          "Connection: close\r\n\r\n",
	          status, mg_get_response_code_text(c, status), type, len);
	if (!head) {
		mg_write(c, body, len);
	}
}

static void serve_metrics(struct mg_connection *c, spoke_stats *st, bool head)
{
	char *text = NULL;
	size_t len = 0;
	if (spoke_stats_render(st, fl_mono_ms(), &text, &len) != FL_OK) {
		static const char oom[] = "out of memory\n";
		answer(c, 500, "text/plain", oom, sizeof(oom) - 1, head);
		return;
	}
	answer(c, 200, "text/plain; version=0.0.4; charset=utf-8", text, len, head);
	free(text);
}

static int begin_request(struct mg_connection *c)
{
	spoke_http *h = mg_get_user_data(mg_get_context(c));
	const struct mg_request_info *ri = mg_get_request_info(c);
	const char *uri = ri->local_uri != NULL ? ri->local_uri : "";
	bool head = strcmp(ri->request_method, "HEAD") == 0;
	if (!head && strcmp(ri->request_method, "GET") != 0) {
		static const char body[] = "method not allowed\n";
		answer(c, 405, "text/plain", body, sizeof(body) - 1, false);
		return 405;
	}
	bool live = strcmp(uri, "/livez") == 0;
	if (live || strcmp(uri, "/healthz") == 0) {
		char line[FL_ERR_LEN + 64];
		if (live ? spoke_stats_live(h->stats, fl_mono_ms(), line, sizeof(line) - 1)
		         : spoke_stats_health(h->stats, fl_mono_ms(), line, sizeof(line) - 1)) {
			answer(c, 200, "text/plain", "ok\n", 3, head);
			return 200;
		}
		size_t n = strlen(line);
		line[n++] = '\n';
		answer(c, 503, "text/plain", line, n, head);
		return 503;
	}
	if (strcmp(uri, "/metrics") == 0) {
		serve_metrics(c, h->stats, head);
		return 200;
	}
	static const char nf[] = "not found: /healthz, /livez and /metrics only\n";
	answer(c, 404, "text/plain", nf, sizeof(nf) - 1, head);
	return 404;
}

static int log_message(const struct mg_connection *c, const char *message)
{
	(void)c;
	fl_warn("metrics_listen: %s", message);
	return 1;
}

int spoke_http_start(const char *listen, spoke_stats *stats, spoke_http **out, char err[FL_ERR_LEN])
{
	*out = NULL;
	if (!spoke_http_listen_ok(listen)) {
		return fl_seterr(err, FL_EINVAL, "metrics_listen '%.64s': expected IPv4:port or [IPv6]:port",
		                 listen != NULL ? listen : "");
	}
	spoke_http *h = calloc(1, sizeof(*h));
	if (h == NULL) {
		return fl_seterr(err, FL_ENOMEM, "metrics_listen: out of memory");
	}
	h->stats = stats;
	struct mg_callbacks cb;
	memset(&cb, 0, sizeof(cb));
	cb.begin_request = begin_request;
	cb.log_message = log_message;
	const char *opts[] = {"listening_ports", listen, "num_threads", "2", "request_timeout_ms", "10000", NULL};
	struct mg_init_data init = {.callbacks = &cb, .user_data = h, .configuration_options = opts};
	char text[256] = "";
	unsigned code = 0;
	struct mg_error_data e = {.code = &code, .text = text, .text_buffer_size = sizeof(text)};
	h->ctx = mg_start2(&init, &e);
	if (h->ctx == NULL) {
		free(h);
		return fl_seterr(err, FL_EIO, "metrics_listen %s: cannot start: %s", listen,
		                 text[0] != '\0' ? text : "unknown error");
	}
	*out = h;
	return FL_OK;
}

void spoke_http_stop(spoke_http *h)
{
	if (h == NULL) {
		return;
	}
	mg_stop(h->ctx);
	free(h);
}
