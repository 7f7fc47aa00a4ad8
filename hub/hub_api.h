/* hub_api.h — the hub's HTTP API and console (civetweb): the Lens-compatible /v1 routes (README "API"),
 * /healthz, /readyz, /metrics, and the web_dir files at / . Answers are JSON in the envelope
 * {"meta":{"code":2000,"message":"OK"},"data":...}; errors carry real HTTP status codes. The cluster,
 * overview and node routes answer from the in-memory view (hub_view); workloads, jobs, usage, utilization history,
 * a node's agent and /readyz query PostgreSQL, each worker thread through its own hub_store. With hub.api_tokens, /v1
 * and /metrics need a bearer token and each token sees its clusters only; without, the API listens on loopback only.
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h), err naming what failed; the route handlers behind it return
 * the HTTP status they sent (hub_api_int.h). */
#ifndef HUB_API_H
#define HUB_API_H

#include <jansson.h>

#include "fl_err.h"
#include "hub_config.h"
#include "hub_registry.h"
#include "hub_view.h"

#define HUB_API_MAX_WEB_FILE (4 << 20) /* console files above 4 MiB are not served */

typedef struct hub_api hub_api;

/* Starts the HTTP server on cfg->api_listen (rebound to 127.0.0.1 with the same port, and a warning
 * logged, when no tokens are configured and it names another address). cfg, reg, view and migrations
 * (the JSON array of migration versions /readyz checks) are borrowed and must outlive the server.
 * FL_OK and *out (stop with hub_api_stop), FL_ENOMEM, or FL_EIO with err naming the address and why. */
int hub_api_start(const hub_config *cfg, hub_registry *reg, hub_view *view, const json_t *migrations, hub_api **out,
                  char err[FL_ERR_LEN]);

/* The address the server listens on ("127.0.0.1:8080"), valid until hub_api_stop. */
const char *hub_api_listening(const hub_api *api);

/* Stops the server (waits for requests in progress), closes the workers' database connections and
 * frees api. NULL is fine. */
void hub_api_stop(hub_api *api);

#endif
