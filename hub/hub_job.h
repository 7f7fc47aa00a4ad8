/* hub_job.h — the GPU jobs the node agents reported (gpu_job, written by hub_node_write), read for /v1/jobs.
 *
 * Connections are borrowed (one per thread); the JSON is built by PostgreSQL.
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h), err naming what failed (FL_EDB for the database). */
#ifndef HUB_JOB_H
#define HUB_JOB_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "fl_err.h"

/* GET /v1/jobs: clusters (non-empty) and optional filters ("" or 0 items: any). */
typedef struct hub_job_query {
	const char *const *clusters;
	size_t n_clusters;
	const char *node;            /* exact node name */
	const char *framework;       /* exact framework */
	const char *const *statuses; /* running, lost, ended */
	size_t n_statuses;
	int64_t limit, offset;
} hub_job_query;

/* JSON text {"data":[job...],"total":N}, newest first (first_seen, then id, descending). A job: id,
 * cluster_name, node_name, pid, ppid, pgid, name, cmdline, cwd, framework, pod_uid, devices, status,
 * started_at, first_seen, last_seen, ended_at. FL_OK, FL_EDB, FL_ENOMEM. */
int hub_job_list(PGconn *c, const hub_job_query *q, char **json, char err[FL_ERR_LEN]);

/* JSON text of job id as above, or "null" when no job of that id is in clusters[0..n). */
int hub_job_get(PGconn *c, const char *const *clusters, size_t n, int64_t id, char **json, char err[FL_ERR_LEN]);

#endif
