/* spoke_http.h — the spoke's small HTTP server (civetweb) for metrics_listen.
 *
 *   GET /healthz  200 "ok\n", or 503 with a one-line reason (spoke_stats_health): readiness, alerts
 *   GET /livez    the same for liveness (spoke_stats_live): 503 only when the collection loop is stuck
 *   GET /metrics  spoke_stats_render, text/plain; version=0.0.4
 *   anything else 404; a method other than GET or HEAD 405.
 * Two worker threads; the answers read only the stats' atomics and mutex.
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h), err naming what failed; bool functions answer a question. */
#ifndef SPOKE_HTTP_H
#define SPOKE_HTTP_H

#include <stdbool.h>

#include "fl_err.h"
#include "spoke_stats.h"

typedef struct spoke_http spoke_http;

/* True when listen is "IPv4:port" or "[IPv6]:port" with a port of 1-65535 (what metrics_listen takes). */
bool spoke_http_listen_ok(const char *listen);

/* Starts serving stats (borrowed; must outlive the server) on listen ("0.0.0.0:9101", "[::1]:9101").
 * On FL_OK the caller owns *out (spoke_http_stop); FL_EINVAL for a bad address, FL_EIO when the server
 * cannot start (port taken), FL_ENOMEM; err says why. */
int spoke_http_start(const char *listen, spoke_stats *stats, spoke_http **out, char err[FL_ERR_LEN]);

/* Stops the server (waits for requests in progress) and frees h. Safe on NULL. */
void spoke_http_stop(spoke_http *h);

#endif
