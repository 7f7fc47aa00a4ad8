/* hub_auth.h — who may call the API and what each caller sees: bearer tokens (held only as SHA-256,
 * compared in constant time), each token's clusters (all, the ones named, or the ones carrying given
 * labels), the CORS origin allowlist, and where the API listens when no token is configured (loopback
 * only). Read-only after hub_auth_new: thread-safe. A reload builds a new hub_auth for the new config (one
 * per hub_clusters generation, hub_registry.h); a request uses the one it took at its start.
 *
 * Scopes are indexed by cluster slot (hub_registry.h: a cluster's index for the process's life) and always
 * hold HUB_MAX_CLUSTERS flags, so a slot added by a later reload reads false rather than past the end.
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h) for what builds; hub_auth_check returns a token, never
 * an error: an index (>= 0) or HUB_AUTH_NONE or HUB_AUTH_OPEN (far below every FL_E* code, so one is never
 * taken for the other); bool functions answer a question. */
#ifndef HUB_AUTH_H
#define HUB_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fl_err.h"
#include "hub_config.h"

/* The two tokens that are not indexes (negative, outside the FL_E* range: a token, not an error). */
#define HUB_AUTH_NONE (-1000) /* hub_auth_check: no token, or not a configured one */
#define HUB_AUTH_OPEN (-1001) /* hub_auth_check: no tokens are configured; everything is visible */

typedef struct hub_auth hub_auth;

/* SHA-256 of data (len bytes) into out. */
void hub_auth_sha256(const void *data, size_t len, uint8_t out[HUB_TOKEN_HASH_LEN]);

/* Builds, for every configured token, which of cfg's clusters it sees, cluster k of cfg at slot k. cfg is
 * borrowed and must outlive the result. FL_OK and *out (free with hub_auth_free), or FL_ENOMEM. */
int hub_auth_new(const hub_config *cfg, hub_auth **out);

/* As hub_auth_new, cluster k of cfg at slot slot_of[k] (< HUB_MAX_CLUSTERS; cfg->n_clusters items, copied);
 * slots no cluster of cfg holds are seen by nobody. */
int hub_auth_new_slots(const hub_config *cfg, const size_t *slot_of, hub_auth **out);

/* Frees a. NULL is fine. */
void hub_auth_free(hub_auth *a);

/* True when tokens are configured (requests to the /v1 routes and /metrics must carry one). */
bool hub_auth_required(const hub_auth *a);

/* The token an Authorization header value ("Bearer <token>"; NULL when the header is absent) carries:
 * its index in cfg->api_tokens, HUB_AUTH_NONE, or HUB_AUTH_OPEN when no tokens are configured. The
 * presented token's SHA-256 is compared with every configured one in constant time. */
int hub_auth_check(const hub_auth *a, const char *authorization);

/* The configured name of token (an index from hub_auth_check), or "-" for HUB_AUTH_OPEN. */
const char *hub_auth_token_name(const hub_auth *a, int token);

/* The clusters token sees: HUB_MAX_CLUSTERS flags indexed by slot, owned by a. HUB_AUTH_OPEN sees every
 * cluster of the config; HUB_AUTH_NONE sees none. */
const bool *hub_auth_scope(const hub_auth *a, int token);

/* True when cluster c's labels contain every one of labels (n of them; 0 matches every cluster). */
bool hub_auth_labels_match(const hub_cluster_conf *c, const hub_label *labels, size_t n);

/* True when origin (the Origin header) is exactly one of cfg->cors_origins. */
bool hub_auth_origin_allowed(const hub_config *cfg, const char *origin);

/* The address the API listens on: api_listen ("[host:]port") as is when have_tokens or when host is
 * loopback (127.x.x.x, localhost, [::1]); otherwise 127.0.0.1 with the same port. Writes it into out
 * (outlen bytes) and returns true when it was rebound to loopback. */
bool hub_auth_listen_address(const char *api_listen, bool have_tokens, char *out, size_t outlen);

#endif
