/* roundtrip_reads.h — the node read fl-bench-server's round-trip mode answers GET /v1/nodes with: the one-query-per-
 * request design the hub's view replaced, kept here (not in hub_store) because only the benchmark uses it. The
 * overview it answers with hub_store_read_overview, a read the hub itself uses too.
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h), err naming what failed. */
#ifndef ROUNDTRIP_READS_H
#define ROUNDTRIP_READS_H

#include <jansson.h>
#include <stdint.h>

#include "fl_err.h"
#include "hub_store.h"

/* One page of node rows ordered by cluster_name, name: cluster NULL means every cluster. *rows (new
 * reference) is an array of {name ip gpu_name gpu_count gpu_allocation gpu_utilization status
 * cluster_name}, gpu_utilization from the node's newest sample (null without a figure); *total counts all
 * matching rows. Two statements on s (hub_store_exec). FL_OK, FL_EDB or FL_ENOMEM. */
int roundtrip_read_nodes(hub_store *s, const char *cluster, int64_t limit, int64_t offset, json_t **rows,
                         int64_t *total, char err[FL_ERR_LEN]);

#endif
