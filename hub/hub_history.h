/* hub_history.h — node samples over time in the hub DB (sql/hub/004_history.sql, 009_samples.sql): the rows a
 * committed frame appends, and the read behind GET /v1/nodes/{name}/utilizationHistory (and
 * /v1/workloads/{uid}/utilizationHistory). Their day partitions and pruning: hub_history_maint.h.
 *
 * Connections are borrowed (libpq, not thread-safe: one per thread).
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h), err naming what failed. */
#ifndef HUB_HISTORY_H
#define HUB_HISTORY_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdint.h>

#include "fl_err.h"
#include "fl_proto.h"

#define HUB_HISTORY_MAX_POINTS 11000 /* (end - start) / step, per answer */

/* Inside the caller's open transaction on c: appends f's node samples to node_utilization_history with one
 * COPY FROM STDIN (text format, sent in 64 KiB pieces): one row per node of f->nodes at f's sent_at, with
 * its gpu_utilization (NULL without a figure), gpu_count, gpu_allocation, and one array element per GPU of
 * f->gpus on that node, ordered by gpu_id (gpu_ids, gpu_utilizations with NULL for no figure,
 * gpu_temperatures, gpu_powers). gpus: f's n_gpus GPUs sorted by (node, gpu_id), as hub_store sorts them.
 * f and gpus are borrowed and already checked by hub_store before its transaction: unique node names,
 * sent_at in 1970..9999, counts that fit int, finite figures. *rows: rows appended. FL_OK, FL_ENOMEM or
 * FL_EDB (the COPY failed: the transaction is aborted, the caller rolls back). */
int hub_history_append(PGconn *c, const fl_proto_frame *f, const fl_proto_gpu *const *gpus, int64_t *rows,
                       char err[FL_ERR_LEN]);

/* Whose history hub_history_query reads. */
typedef enum hub_history_of {
	HUB_HISTORY_NODE = 0, /* node_utilization_history; key: the node name */
	HUB_HISTORY_WORKLOAD, /* workload_utilization_history; key: the workload uid */
} hub_history_of;

/* One node's (or workload's: of, key) utilization between start_s (inclusive) and end_s (exclusive),
 * Unix seconds, averaged per step_s bucket: *out (new reference) is {"series":[{"name":"gpu_utilization","points":[[t,
 * v], ...]}], "unit":"%","start","end","step"} with t the bucket's start (Unix seconds) and v rounded to 2 decimals;
 * buckets without samples have no point. FL_OK, FL_EDB or FL_ENOMEM. */
int hub_history_query(PGconn *c, hub_history_of of, const char *cluster, const char *key, int64_t start_s,
                      int64_t end_s, int64_t step_s, json_t **out, char err[FL_ERR_LEN]);

#endif
