/* hub_api.h — the hub's HTTP API and console (civetweb): /v1/clusters, /v1/clusters/overview,
 * /v1/nodes, /healthz, /readyz, /metrics, and the web_dir files at / . Answers are JSON in the envelope
 * {"meta":{"code":2000,"message":"OK"},"data":...}; errors carry real HTTP status codes. Each worker
 * thread reads PostgreSQL through its own hub_store, connected on first use. */
#ifndef HUB_API_H
#define HUB_API_H

#include <jansson.h>

#include "fl_err.h"
#include "hub_config.h"
#include "hub_registry.h"

#define HUB_API_MAX_PARAM     256 /* a query value longer than this is a 400 */
#define HUB_API_MAX_PAGE_SIZE 1000
#define HUB_API_MAX_PAGE_NUM  10000000
#define HUB_API_MAX_WEB_FILE  (4 << 20) /* console files above 4 MiB are not served */

typedef struct hub_api hub_api;

/* Starts the HTTP server on cfg->api_listen. cfg, reg and migrations (the JSON array of migration
 * versions /readyz checks) are borrowed and must outlive the server. FL_OK and *out (stop with
 * hub_api_stop), or FL_EIO with err naming the listen address and the reason. */
int hub_api_start(const hub_config *cfg, hub_registry *reg, const json_t *migrations, hub_api **out,
                  char err[FL_ERR_LEN]);

/* Stops the server (waits for requests in progress), closes the workers' database connections and
 * frees api. NULL is fine. */
void hub_api_stop(hub_api *api);

#endif
