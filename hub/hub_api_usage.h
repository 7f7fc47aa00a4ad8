/* hub_api_usage.h — GET /v1/usage: GPU-hours allocated, used and idle per cluster, namespace,
 * workload or node over a time range, across every cluster the caller may see, read from the hourly rollups
 * (hub_rollup.h defines the figures), as JSON in the envelope or as CSV.
 *
 * Return convention: the handler returns the HTTP status it sent (hub_api_int.h). */
#ifndef HUB_API_USAGE_H
#define HUB_API_USAGE_H

#include "hub_api_int.h"

#define HUB_USAGE_CSV_MAX_ROWS 100000 /* a CSV answer holds at most this many rows (else 400: narrow it) */

/* GET /v1/usage?group_by=cluster|namespace|workload|node (required) &start&end (Unix seconds; end defaults to
 * now, start to end - 24 h; start < end, at most max(400 days, hub.rollup_retention) apart) &cluster&label
 * (the caller's scope applies, as /v1/workloads) &order_by=gpu_hours_idle|gpu_hours_allocated|gpu_hours_used|
 * idle_ratio (default gpu_hours_idle) &desc (default true) &page_num&page_size &format=json|csv.
 * The hourly rows counted are those whose hour starts in [start, end) and whose GPU-hours were measured.
 * JSON: {group_by start end idle_threshold sums{gpu_hours_allocated gpu_hours_used gpu_hours_idle idle_ratio
 * used_ratio} data[{cluster_name, namespace | namespace workload_name workload_uid kind | node_name,
 * gpu_hours_allocated gpu_hours_used gpu_hours_idle idle_ratio used_ratio hours}] total page_num page_size}:
 * GPU-hours rounded to 4 decimals, idle_ratio = idle ÷ allocated and used_ratio = used ÷ allocated (null when
 * nothing was allocated), hours = the hours with rows; rows by order_by, ties by their names.
 * CSV (format=csv, or an Accept naming text/csv without format=json): the same rows, all of them, a header
 * line first, RFC 4180 (CRLF, quoted where needed), as an attachment usage-<group_by>.csv.
 * Answers 200, 400 naming the parameter, 404 (cluster), 500 or 503; returns the status sent. */
int hub_api_usage(hub_req *r);

#endif
