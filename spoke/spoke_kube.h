/* spoke_kube.h — the `kube` source: nodes and pods of a Kubernetes cluster by list + watch.
 *
 * Four background threads (nodes, pods, ReplicaSets, Jobs) each list their kind in pages (`limit`,
 * `continue`), then watch from the list's resourceVersion with allowWatchBookmarks=true, applying
 * ADDED / MODIFIED / DELETED to the live model under a mutex; BOOKMARKs move the resourceVersion on.
 * A 410 Gone (HTTP status or ERROR event) relists; a dropped watch reconnects after a backoff (200 ms doubling to
 * max_backoff); a watch that ends normally (timeoutSeconds) resumes at once. Pods are asked for with
 * fieldSelector=status.phase!=Succeeded,status.phase!=Failed. In steady state no list call is made.
 * Responses are bounded: a LIST page body by max_page_bytes, a watch event line by max_object_bytes;
 * an oversized or malformed event is skipped, logged and counted, and the watch goes on.
 * The daemon takes a deep copy of the live model each cycle (spoke_kube_snapshot). A change that
 * matters (a node added or removed, Ready or unschedulable flipping, taints changing, allocatable GPUs
 * changing, a relist) marks the source urgent; spoke_kube_take_urgent says when it is due (debounced).
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h), err naming what failed; bool functions answer a question. */
#ifndef SPOKE_KUBE_H
#define SPOKE_KUBE_H

#include <stdbool.h>
#include <stdint.h>

#include "fl_err.h"
#include "spoke_kube_creds.h"
#include "spoke_model.h"
#include "spoke_overview.h"

typedef struct spoke_kube_config {
	char kubeconfig[SPOKE_KUBE_PATH_LEN]; /* "" = in-cluster */
	char sa_dir[SPOKE_KUBE_PATH_LEN];     /* in-cluster token/ca.crt folder; "" = SPOKE_KUBE_SA_DIR */
	uint32_t page_limit;                  /* LIST `limit`, default 500 */
	int64_t max_object_bytes;             /* one watch event line, default 4 MiB */
	int64_t max_page_bytes;               /* one LIST page body, default 256 MiB */
	int64_t watch_timeout_ms;             /* timeoutSeconds of a watch, default 5 min */
	int64_t sync_timeout_ms;              /* --once: how long to wait for the first lists, default 30 s */
	int64_t debounce_ms;                  /* urgent changes are pushed this long after the first, default 1 s */
	int64_t max_backoff_ms;               /* reconnect backoff ceiling, default 30 s */
} spoke_kube_config;

typedef struct spoke_kube_stats {
	uint64_t list_requests, watch_requests; /* HTTP requests made, by kind */
	uint64_t errors;                        /* failed requests (connect, HTTP status, bad body) */
	uint64_t auth_errors;                   /* of which 401/403 */
	uint64_t relists, gone;                 /* lists after the first; 410s seen */
	uint64_t events, bookmarks;             /* watch events applied */
	uint64_t malformed, oversized;          /* events (or list items) skipped */
	uint64_t bad_labels; /* pods whose SaFE workload label was not a valid label value: label dropped */
} spoke_kube_stats;

typedef struct spoke_kube spoke_kube;

/* Sets the defaults above (kubeconfig and sa_dir ""). */
void spoke_kube_config_default(spoke_kube_config *c);

/* Loads the credentials and starts the two threads. cfg and rules are copied. On FL_OK the caller owns
 * *out (spoke_kube_close); FL_ECONFIG / FL_EIO for credentials (err says which file and key),
 * FL_ENOMEM / FL_EIO when a thread or libcurl cannot start. */
int spoke_kube_open(spoke_kube **out, const spoke_kube_config *cfg, const spoke_overview_rules *rules,
                    char err[FL_ERR_LEN]);

/* True once both kinds have been listed completely at least once. */
bool spoke_kube_synced(spoke_kube *k);

/* Waits up to timeout_ms for spoke_kube_synced. FL_OK, or FL_ETIMEDOUT with the last error in err. */
int spoke_kube_wait_synced(spoke_kube *k, int64_t timeout_ms, char err[FL_ERR_LEN]);

/* Deep copies the live model into *model (zeroed or freed before; the caller owns it after FL_OK and
 * frees it with spoke_model_free). FL_OK, FL_ENOMEM, or FL_EINVAL (err) before the first sync. */
int spoke_kube_snapshot(spoke_kube *k, spoke_model *model, char err[FL_ERR_LEN]);

/* True (and the mark cleared) when an urgent change is pending and debounce_ms has passed since the
 * first one at monotonic time now_ms. */
bool spoke_kube_take_urgent(spoke_kube *k, int64_t now_ms);

/* Copies the counters since open. */
void spoke_kube_get_stats(spoke_kube *k, spoke_kube_stats *out);

/* Stops the threads (within ~100 ms), frees the model and k. Safe on NULL. */
void spoke_kube_close(spoke_kube *k);

#endif
