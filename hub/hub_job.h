/* hub_job.h — the GPU jobs the node agents reported (gpu_job and gpu_job_sample, written by hub_node_apply), read
 * for /v1/jobs, /v1/jobs/{id} and /v1/jobs/{id}/metrics.
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

typedef enum hub_job_idle {
	HUB_JOB_IDLE_ANY = 0,
	HUB_JOB_IDLE_TRUE,  /* running, and idle since at least idle_for_ms ago */
	HUB_JOB_IDLE_FALSE, /* every other job */
} hub_job_idle;

/* GET /v1/jobs: clusters (non-empty) and optional filters ("" or 0 items: any). */
typedef struct hub_job_query {
	const char *const *clusters;
	size_t n_clusters;
	const char *node;            /* exact node name */
	const char *framework;       /* exact framework */
	const char *const *statuses; /* running, lost, ended */
	size_t n_statuses;
	const char *params; /* a JSON object the job's params must contain ({"batch_size":32}); NULL or "" any */
	hub_job_idle idle;
	int64_t idle_for_ms; /* with idle: how long a job has been idle at least (now is the database's clock) */
	int64_t limit, offset;
} hub_job_query;

/* JSON text {"data":[job...],"total":N}, newest first (first_seen, then id, descending). A job: id,
 * cluster_name, node_name, pid, ppid, pgid, name, cmdline, cwd, framework, pod_uid, devices, status,
 * started_at, first_seen, last_seen, ended_at; its newest sample's state, cpu_percent, rss_bytes, threads, fds,
 * gpu_memory_bytes, gpu_utilization and sampled_at (null each without one); gpu_ids, params, env, config_path
 * and idle_since (null: not idle). FL_OK, FL_EDB, FL_ENOMEM. */
int hub_job_list(PGconn *c, const hub_job_query *q, char **json, char err[FL_ERR_LEN]);

/* JSON text of job id as above, or "null" when no job of that id is in clusters[0..n). */
int hub_job_get(PGconn *c, const char *const *clusters, size_t n, int64_t id, char **json, char err[FL_ERR_LEN]);

/* JSON text {"series":[{"name","unit","points":[[t,v],...]}...],"start","end","step"} of job id's samples with
 * start_s <= sampled_at < end_s, averaged per step_s bucket (t: the bucket's start, Unix seconds; v rounded to 2
 * decimals; a bucket without a figure has no point), series cpu_percent (%), rss_bytes (bytes),
 * gpu_memory_bytes (bytes), gpu_utilization (%), threads (count), fds (count); or "null" when no job of that id
 * is in clusters[0..n). FL_OK, FL_EDB, FL_ENOMEM. */
int hub_job_metrics(PGconn *c, const char *const *clusters, size_t n, int64_t id, int64_t start_s, int64_t end_s,
                    int64_t step_s, char **json, char err[FL_ERR_LEN]);

#endif
