/* hub_workload.h — GPU workloads and their pods in the hub DB (sql/hub/005_workloads.sql, 010): the fact
 * rows a committed frame writes when a fact changes (inside hub_store_write_frame's transaction) and the
 * utilization samples it appends (workload_utilization_history, pod_utilization_history). Their reads:
 * hub_workload_read.h.
 *
 * Connections are borrowed (libpq: one per thread). Every statement is parameterized.
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h), err naming what failed (FL_EDB for the database). */
#ifndef HUB_WORKLOAD_H
#define HUB_WORKLOAD_H

#include <libpq-fe.h>
#include <stdint.h>

#include "fl_err.h"
#include "fl_proto.h"

/* A frame's pods, workloads and removed pod uids as the JSON arrays the statements take (sorted by uid,
 * so concurrent writers lock rows in one order), each pod and workload with its utilization (the sample).
 * Owned; free with hub_workload_rows_free. */
typedef struct hub_workload_rows {
	char *pods, *workloads, *removed;
} hub_workload_rows;

/* What hub_workload_write did. */
typedef struct hub_workload_counts {
	int64_t pod_rows;        /* gpu_pod rows inserted, or updated because a fact changed */
	int64_t workload_rows;   /* gpu_workload rows inserted, or updated because a fact changed */
	int64_t pods_deleted;    /* gpu_pod rows deleted (full frame: not listed; delta: removed_pods) */
	int64_t workloads_ended; /* Running/Pending workloads a full frame did not list, now Deleted */
	int64_t history_rows;    /* workload_utilization_history rows appended (one per Running workload) */
	int64_t pod_samples;     /* pod_utilization_history rows appended (one per pod in phase Running) */
} hub_workload_counts;

/* Builds out from f (borrowed). Checked here, before any transaction, so a frame the database would
 * refuse is refused as malformed instead of retried: a uid twice, a pod both sent and removed, a time
 * (created, ended) outside 1970..9999, a count beyond bigint, text that is not UTF-8. FL_OK, FL_EINVAL
 * (err names the pod or workload) or FL_ENOMEM; out holds nothing unless FL_OK. */
int hub_workload_prepare(const fl_proto_frame *f, hub_workload_rows *out, char err[FL_ERR_LEN]);

/* Frees what rows owns and zeroes it. NULL is fine. */
void hub_workload_rows_free(hub_workload_rows *rows);

/* Inside the caller's open transaction on c (the cluster's write lock held), for frame f at version
 * (ver, seq) (decimal text, as hub_store writes node rows):
 *  - upserts the pods and workloads (a workload with its safe_workload_id, 008_safe_workload.sql): a new
 *    row is inserted; a stored one is updated only where its stored version is older AND a fact differs
 *    (everything but utilization), so its version, updated_at and tuple move only when it changes.
 *    created_at never moves later: the earlier of the stored and the sent time is kept (a restarted spoke
 *    reports its own first-seen time), and keeping the stored one is no change; so is ended_at while the
 *    status stays the same (a restarted spoke reports its own first sight of the end);
 *  - full frame: deletes the cluster's pods it does not list and older than it, and marks its Running or
 *    Pending workloads it does not list and older than it Deleted (ended_at = the version time, pods and
 *    GPUs 0);
 *  - delta: deletes the removed_pods older than the frame;
 *  - appends, at f's sent_at, one workload_utilization_history row per Running workload it carries (its
 *    figure, NULL without one; its gpu_request and pods), then one pod_utilization_history row per pod in
 *    phase Running it carries: one statement per table, in that order (the history upkeep's lock order).
 * FL_OK (counts in *out), FL_ENOMEM, or FL_EDB (err names the statement); the caller rolls back on error. */
int hub_workload_write(PGconn *c, const fl_proto_frame *f, const hub_workload_rows *rows, const char *ver,
                       const char *seq, hub_workload_counts *out, char err[FL_ERR_LEN]);

#endif
