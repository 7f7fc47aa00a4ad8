/* hub_job.c — the GPU jobs the node agents reported, read from gpu_job for /v1/jobs. */
#include "hub_job.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "hub_sql.h"

#define RFC HUB_SQL_RFC3339

/* clang-format off */
#define JOB_ROW                                                                                                        \
	"json_build_object('id', j.id, 'cluster_name', j.cluster_name, 'node_name', j.node_name, 'pid', j.pid, 'ppid',"\
	" j.ppid, 'pgid', j.pgid, 'name', j.name, 'cmdline', j.cmdline, 'cwd', j.cwd, 'framework', j.framework,"       \
	" 'pod_uid', j.pod_uid, 'devices', j.devices, 'status', j.status,"                                             \
	" 'started_at', " RFC("to_timestamp(j.started_ms / 1000.0)") ","                                               \
	" 'first_seen', " RFC("j.first_seen") ", 'last_seen', " RFC("j.last_seen") ", 'ended_at', " RFC("j.ended_at") ")"
/* clang-format on */

/* m is not materialized, so the page walks an index in its order (gpu_job_seen_idx, 012_list_indexes.sql)
 * and stops at LIMIT, and the count is planned on its own; the clusters as "= ANY" reach the indexes. */
static const char SQL_JOB_LIST[] =
    "WITH m AS NOT MATERIALIZED (SELECT * FROM gpu_job j WHERE j.cluster_name = ANY ($1::text[])"
    " AND ($2 = '' OR j.node_name = $2) AND ($3 = '' OR j.framework = $3)"
    " AND (cardinality($4::text[]) = 0 OR j.status = ANY ($4::text[])))"
    " SELECT json_build_object('data', (SELECT coalesce(json_agg(" JOB_ROW " ORDER BY j.first_seen DESC, j.id DESC),"
    " '[]') FROM (SELECT * FROM m ORDER BY first_seen DESC, id DESC LIMIT $5::bigint OFFSET $6::bigint) j),"
    " 'total', (SELECT count(*) FROM m))::text";

static const char SQL_JOB_GET[] = "SELECT coalesce((SELECT " JOB_ROW "::text FROM gpu_job j WHERE j.id = $1::bigint"
                                  " AND j.cluster_name IN (SELECT unnest($2::text[]))), 'null')";

int hub_job_list(PGconn *c, const hub_job_query *q, char **json, char err[FL_ERR_LEN])
{
	*json = NULL;
	char *clusters = hub_sql_text_array(q->clusters, q->n_clusters);
	char *statuses = hub_sql_text_array(q->statuses, q->n_statuses);
	char limit[24], offset[24];
	snprintf(limit, sizeof(limit), "%" PRId64, q->limit);
	snprintf(offset, sizeof(offset), "%" PRId64, q->offset);
	int rv;
	if (clusters == NULL || statuses == NULL) {
		rv = fl_seterr(err, FL_ENOMEM, "out of memory");
	} else {
		const char *v[] = {clusters, q->node, q->framework, statuses, limit, offset};
		rv = hub_sql_one_text(c, SQL_JOB_LIST, 6, v, "list jobs", json, err);
	}
	free(clusters);
	free(statuses);
	return rv;
}

int hub_job_get(PGconn *c, const char *const *clusters, size_t n, int64_t id, char **json, char err[FL_ERR_LEN])
{
	char ids[24];
	snprintf(ids, sizeof(ids), "%" PRId64, id);
	return hub_sql_one_text_in(c, SQL_JOB_GET, ids, clusters, n, "read job", json, err);
}
