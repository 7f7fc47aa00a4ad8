/* hub_job.c — the GPU jobs the node agents reported, read for /v1/jobs: from gpu_job with their newest
 * gpu_job_sample, and one job's samples averaged per step. */
#include "hub_job.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "hub_sql.h"

#define RFC HUB_SQL_RFC3339

/* A job row j with its newest sample s (NULLs when none). */
/* clang-format off */
#define JOB_ROW                                                                                                        \
	"json_build_object('id', j.id, 'cluster_name', j.cluster_name, 'node_name', j.node_name, 'pid', j.pid, 'ppid',"\
	" j.ppid, 'pgid', j.pgid, 'name', j.name, 'cmdline', j.cmdline, 'cwd', j.cwd, 'framework', j.framework,"       \
	" 'pod_uid', j.pod_uid, 'devices', j.devices, 'status', j.status,"                                             \
	" 'started_at', " RFC("to_timestamp(j.started_ms / 1000.0)") ","                                               \
	" 'first_seen', " RFC("j.first_seen") ", 'last_seen', " RFC("j.last_seen") ", 'ended_at', " RFC("j.ended_at") "," \
	" 'state', s.state, 'cpu_percent', s.cpu_percent, 'rss_bytes', s.rss_bytes, 'threads', s.threads, 'fds', s.fds,"\
	" 'gpu_memory_bytes', s.gpu_memory_bytes, 'gpu_ids', to_json(j.gpu_ids), 'gpu_utilization', s.gpu_utilization," \
	" 'sampled_at', " RFC("s.sampled_at") ", 'params', j.params, 'env', j.env, 'config_path', j.config_path,"       \
	" 'idle_since', " RFC("j.idle_since") ")"
/* clang-format on */

/* The newest sample of job j: one probe of gpu_job_sample_idx per partition. */
#define NEWEST_SAMPLE                                                                                                  \
	" LEFT JOIN LATERAL (SELECT x.state, x.cpu_percent, x.rss_bytes, x.threads, x.fds, x.gpu_memory_bytes,"        \
	" x.gpu_utilization, x.sampled_at FROM gpu_job_sample x WHERE x.job_id = j.id ORDER BY x.sampled_at DESC"      \
	" LIMIT 1) s ON true"

/* Idle (running, idle since at least $9 ms ago). */
#define IDLE "j.status = 'running' AND j.idle_since <= now() - $9::bigint * interval '1 millisecond'"

/* m is not materialized, so the page walks an index in its order (gpu_job_seen_idx, 012_list_indexes.sql)
 * and stops at LIMIT, and the count is planned on its own; the clusters as "= ANY" reach the indexes. The
 * statement is planned with the request's values, so an unused filter ('{}', '') folds away and a used one
 * reads its index: params @> the GIN gpu_job_params_idx, idle=true the partial gpu_job_idle_idx (013). */
static const char SQL_JOB_LIST[] =
    "WITH m AS NOT MATERIALIZED (SELECT * FROM gpu_job j WHERE j.cluster_name = ANY ($1::text[])"
    " AND ($2 = '' OR j.node_name = $2) AND ($3 = '' OR j.framework = $3)"
    " AND (cardinality($4::text[]) = 0 OR j.status = ANY ($4::text[]))"
    " AND ($7::jsonb = '{}' OR j.params @> $7::jsonb)"
    " AND ($8 = '' OR ($8 = 'true' AND " IDLE ") OR ($8 = 'false' AND NOT (j.idle_since IS NOT NULL AND " IDLE ")))"
    ")"
    " SELECT json_build_object('data', (SELECT coalesce(json_agg(" JOB_ROW " ORDER BY j.first_seen DESC, j.id DESC),"
    " '[]') FROM (SELECT * FROM m ORDER BY first_seen DESC, id DESC LIMIT $5::bigint OFFSET $6::bigint) j" NEWEST_SAMPLE
    "), 'total', (SELECT count(*) FROM m))::text";

static const char SQL_JOB_GET[] = "SELECT coalesce((SELECT " JOB_ROW "::text FROM gpu_job j" NEWEST_SAMPLE
                                  " WHERE j.id = $1::bigint AND j.cluster_name IN (SELECT unnest($2::text[]))),"
                                  " 'null')";

int hub_job_list(PGconn *c, const hub_job_query *q, char **json, char err[FL_ERR_LEN])
{
	*json = NULL;
	hub_sql_page_args a;
	int rv = hub_sql_page_args_init(&a, q->clusters, q->n_clusters, q->statuses, q->n_statuses, q->limit, q->offset,
	                                err);
	if (rv != FL_OK)
		return rv;
	char idle_for[24];
	snprintf(idle_for, sizeof(idle_for), "%" PRId64, q->idle_for_ms);
	const char *idle = q->idle == HUB_JOB_IDLE_TRUE ? "true" : q->idle == HUB_JOB_IDLE_FALSE ? "false" : "";
	const char *params = q->params != NULL && q->params[0] != '\0' ? q->params : "{}";
	const char *v[] = {a.clusters, q->node, q->framework, a.statuses, a.limit, a.offset, params, idle, idle_for};
	rv = hub_sql_one_text(c, SQL_JOB_LIST, 9, v, "list jobs", json, err);
	hub_sql_page_args_free(&a);
	return rv;
}

int hub_job_get(PGconn *c, const char *const *clusters, size_t n, int64_t id, char **json, char err[FL_ERR_LEN])
{
	char ids[24];
	snprintf(ids, sizeof(ids), "%" PRId64, id);
	return hub_sql_one_text_in(c, SQL_JOB_GET, ids, clusters, n, "read job", json, err);
}

/* --- /v1/jobs/{id}/metrics --------------------------------------------------------------------------- */

/* One series of the answer: its points from the buckets b where the column has a figure. */
#define SERIES(name, unit)                                                                                             \
	"json_build_object('name', '" name "', 'unit', '" unit                                                         \
	"', 'points', coalesce((SELECT json_agg(json_build_array("                                                     \
	"t, " name ") ORDER BY t) FROM b WHERE " name " IS NOT NULL), '[]'))"

#define AVG(col) "round(avg(" col ")::numeric, 2)::float8 AS " col

/* $1 the job id, $2 the clusters the caller may see (text[]), $3 start, $4 end (Unix s), $5 step (s). The job's
 * samples are one range of gpu_job_sample_idx. */
/* clang-format off */
static const char SQL_METRICS[] =
    "WITH j AS (SELECT id FROM gpu_job WHERE id = $1::bigint AND cluster_name = ANY ($2::text[])),"
    " b AS (SELECT (floor(extract(epoch FROM sampled_at) / $5::bigint) * $5::bigint)::bigint AS t,"
    " " AVG("cpu_percent") ", " AVG("rss_bytes") ", " AVG("gpu_memory_bytes") ", " AVG("gpu_utilization") ","
    " " AVG("threads") ", " AVG("fds") " FROM gpu_job_sample WHERE job_id = (SELECT id FROM j)"
    " AND sampled_at >= to_timestamp($3::bigint) AND sampled_at < to_timestamp($4::bigint) GROUP BY 1)"
    " SELECT CASE WHEN EXISTS (SELECT 1 FROM j) THEN json_build_object('series', json_build_array("
    SERIES("cpu_percent", "%") ", " SERIES("rss_bytes", "bytes") ", " SERIES("gpu_memory_bytes", "bytes") ", "
    SERIES("gpu_utilization", "%") ", " SERIES("threads", "count") ", " SERIES("fds", "count") "),"
    " 'start', $3::bigint, 'end', $4::bigint, 'step', $5::bigint)::text ELSE 'null' END";
/* clang-format on */

int hub_job_metrics(PGconn *c, const char *const *clusters, size_t n, int64_t id, int64_t start_s, int64_t end_s,
                    int64_t step_s, char **json, char err[FL_ERR_LEN])
{
	*json = NULL;
	char ids[24], a[24], b[24], st[24];
	snprintf(ids, sizeof(ids), "%" PRId64, id);
	snprintf(a, sizeof(a), "%" PRId64, start_s);
	snprintf(b, sizeof(b), "%" PRId64, end_s);
	snprintf(st, sizeof(st), "%" PRId64, step_s);
	char *cl = hub_sql_text_array(clusters, n);
	if (cl == NULL)
		return fl_seterr(err, FL_ENOMEM, "out of memory");
	const char *v[] = {ids, cl, a, b, st};
	int rv = hub_sql_one_text(c, SQL_METRICS, 5, v, "job metrics", json, err);
	free(cl);
	return rv;
}
