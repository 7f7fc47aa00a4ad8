/* hub_params.h — the API's query-string parameters, decoded (civetweb's form decoding) and validated.
 * Each reader returns FL_OK with the value (or its default when the parameter is absent or empty), or
 * FL_EINVAL with msg saying "parameter 'NAME' ..." and what it accepts. Values longer than
 * HUB_PARAM_MAX bytes, holding a NUL (%00), not UTF-8, or with characters outside the parameter's set
 * are refused. Parameters a route does not read are ignored. No allocation. */
#ifndef HUB_PARAMS_H
#define HUB_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fl_err.h"
#include "hub_config.h"
#include "hub_view.h"

#define HUB_PARAM_MAX        256 /* bytes of one decoded value */
#define HUB_PARAM_MAX_LABELS 8   /* label= parameters in one request */

/* True when s (NUL-terminated) is well-formed UTF-8 (no overlong forms, no surrogates, <= U+10FFFF). */
bool hub_params_utf8(const char *s);

/* Occurrence occ (0 = first) of parameter name in query string qs (NULL = none) into out, decoded.
 * *present is false when it is absent or empty. FL_OK, or FL_EINVAL (too long, a NUL, not UTF-8). */
int hub_params_raw(const char *qs, const char *name, size_t occ, char out[HUB_PARAM_MAX + 1], bool *present,
                   char msg[FL_ERR_LEN]);

/* A whole number in [min, max] written in decimal digits only; def when absent. */
int hub_params_int(const char *qs, const char *name, int64_t def, int64_t min, int64_t max, int64_t *out,
                   char msg[FL_ERR_LEN]);

#define HUB_PARAM_MAX_PAGE_SIZE 1000
#define HUB_PARAM_MAX_PAGE_NUM  10000000

/* The list routes' paging: page_num (default 1, 1..HUB_PARAM_MAX_PAGE_NUM) and page_size (default 10,
 * 1..HUB_PARAM_MAX_PAGE_SIZE), each as hub_params_int. */
int hub_params_page(const char *qs, int64_t *page_num, int64_t *page_size, char msg[FL_ERR_LEN]);

/* "true" or "false"; def when absent. */
int hub_params_bool(const char *qs, const char *name, bool def, bool *out, char msg[FL_ERR_LEN]);

/* A name of 1..max_len-1 characters of [A-Za-z0-9._-] (clusters, nodes, substrings of node names);
 * out is "" when absent. */
int hub_params_name(const char *qs, const char *name, char *out, size_t max_len, char msg[FL_ERR_LEN]);

/* Free text such as a GPU product ("AMD Instinct MI300X"): UTF-8 without control characters, quotes,
 * backslashes or angle brackets, at most FL_MODEL_LEN-1 bytes; "" when absent. */
int hub_params_text(const char *qs, const char *name, char out[FL_MODEL_LEN], char msg[FL_ERR_LEN]);

/* status: a comma list of 1..HUB_QUERY_MAX_STATUSES words of [A-Za-z] (Ready,NotReady,Unknown). The
 * words point into buf. *n is 0 when absent. */
int hub_params_statuses(const char *qs, char buf[HUB_PARAM_MAX + 1], const char *items[HUB_QUERY_MAX_STATUSES],
                        size_t *n, char msg[FL_ERR_LEN]);

/* order_by: name, gpu_count, gpu_allocation, gpu_utilization, status or cluster_name (the default). */
int hub_params_order(const char *qs, hub_node_order *out, char msg[FL_ERR_LEN]);

/* Every label=KEY=VALUE parameter (up to HUB_PARAM_MAX_LABELS; KEY and VALUE of
 * [A-Za-z0-9._/-], VALUE may be empty) into out; *n is 0 when there are none. */
int hub_params_labels(const char *qs, hub_label out[HUB_PARAM_MAX_LABELS], size_t *n, char msg[FL_ERR_LEN]);

#endif
