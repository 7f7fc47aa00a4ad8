/* hub_api_usage.c — GET /v1/usage: GPU-hours per cluster, namespace, workload or node from the hourly rollups,
 * as JSON or CSV, read through the API worker's own connection. */
#include "hub_api_usage.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fl_log.h"
#include "fl_time.h"
#include "hub_metrics.h"
#include "hub_params.h"
#include "hub_sql.h"

#define DAY_S      ((int64_t)86400)
#define MIN_SPAN_S (400 * DAY_S) /* the longest range is the longer of this and hub.rollup_retention */
#define MAX_TIME_S ((int64_t)253402300799)
#define SQL_MAX    6144

/* The statements are laid out by clause, which clang-format would scatter. */
/* clang-format off */

/* A figure rounded to 4 decimals (GPU-hours, ratios). */
#define R4(x) "round((" x ")::numeric, 4)::float8"

/* A text field of a CSV row: quoted (quotes doubled) when it holds a comma, quote, CR or LF (RFC 4180). */
#define CSVQ(x) \
	"CASE WHEN " x " ~ '[\",]' OR strpos(" x ", chr(10)) > 0 OR strpos(" x ", chr(13)) > 0" \
	" THEN '\"' || replace(" x ", '\"', '\"\"') || '\"' ELSE coalesce(" x ", '') END"

/* A number of a CSV row; empty when unknown. */
#define CSVN(x) "coalesce((" x ")::text, '')"

/* A group's sums over the measured hourly rows of the range: al, us, id (GPU-hours); hr (hours with rows)
 * follows. */
#define SUMS " sum(gpu_hours_allocated) AS al, sum(gpu_hours_used) AS us, sum(gpu_hours_idle) AS id,"

/* $1 the clusters (text[]), $2 start, $3 end (Unix seconds). */
#define IN_RANGE \
	" WHERE cluster_name = ANY ($1::text[]) AND stat_hour >= to_timestamp($2::bigint)" \
	" AND stat_hour < to_timestamp($3::bigint) AND gpu_hours_allocated IS NOT NULL"

#define ROW_FIGURES \
	"'gpu_hours_allocated', " R4("al") ", 'gpu_hours_used', " R4("us") ", 'gpu_hours_idle', " R4("id") "," \
	" 'idle_ratio', " R4("ir") ", 'used_ratio', " R4("ur") ", 'hours', hr"

#define CSV_FIGURES \
	CSVN(R4("al")) ", " CSVN(R4("us")) ", " CSVN(R4("id")) ", " CSVN(R4("ir")) ", " CSVN(R4("ur")) ", hr::text"

#define CSV_FIGURES_HEAD "gpu_hours_allocated,gpu_hours_used,gpu_hours_idle,idle_ratio,used_ratio,hours"

/* One group_by: where its rows come from and what names a row. */
typedef struct usage_group {
	const char *name;
	const char *g;     /* the CTE g: the key columns, SUMS and hr, FROM, IN_RANGE, GROUP BY */
	const char *json;  /* a row's key fields as json_build_object arguments */
	const char *csv;   /* a row's key fields as concat_ws arguments */
	const char *head;  /* the CSV header's key names */
	const char *ties;  /* the key columns ordering rows of equal figures */
} usage_group;

static const usage_group groups[] = {
	/* A cluster is the sum of its nodes (so a cluster whose hour had no overview sample still counts). */
	{"cluster",
	 "SELECT cluster_name," SUMS " count(DISTINCT stat_hour) AS hr FROM node_hourly_stats" IN_RANGE
	 " GROUP BY cluster_name",
	 "'cluster_name', cluster_name", CSVQ("cluster_name"), "cluster_name", "cluster_name"},
	{"namespace",
	 "SELECT cluster_name, namespace," SUMS " count(*) AS hr FROM namespace_hourly_stats" IN_RANGE
	 " GROUP BY cluster_name, namespace",
	 "'cluster_name', cluster_name, 'namespace', namespace", CSVQ("cluster_name") ", " CSVQ("namespace"),
	 "cluster_name,namespace", "cluster_name, namespace"},
	/* A workload's names and kind: those of its newest hour. */
	{"workload",
	 "SELECT cluster_name, workload_uid, (array_agg(namespace ORDER BY stat_hour DESC))[1] AS namespace,"
	 " (array_agg(workload_name ORDER BY stat_hour DESC))[1] AS workload_name,"
	 " (array_agg(workload_type ORDER BY stat_hour DESC))[1] AS kind," SUMS " count(*) AS hr"
	 " FROM workload_hourly_stats" IN_RANGE " GROUP BY cluster_name, workload_uid",
	 "'cluster_name', cluster_name, 'namespace', namespace, 'workload_name', workload_name,"
	 " 'workload_uid', workload_uid, 'kind', kind",
	 CSVQ("cluster_name") ", " CSVQ("namespace") ", " CSVQ("workload_name") ", " CSVQ("workload_uid") ", "
	 CSVQ("kind"),
	 "cluster_name,namespace,workload_name,workload_uid,kind", "cluster_name, namespace, workload_name, workload_uid"},
	{"node",
	 "SELECT cluster_name, node_name," SUMS " count(*) AS hr FROM node_hourly_stats" IN_RANGE
	 " GROUP BY cluster_name, node_name",
	 "'cluster_name', cluster_name, 'node_name', node_name", CSVQ("cluster_name") ", " CSVQ("node_name"),
	 "cluster_name,node_name", "cluster_name, node_name"},
};

/* order_by: its word and the column of r (below) it sorts by. */
static const struct {
	const char *name, *col;
} orders[] = {{"gpu_hours_idle", "id"}, {"gpu_hours_allocated", "al"}, {"gpu_hours_used", "us"}, {"idle_ratio", "ir"}};

/* The rows: g with ir and ur, the idle and used GPU-hours per allocated one (NULL when none was allocated). */
#define WITH_R "WITH g AS (%s), r AS (SELECT *, id / nullif(al, 0) AS ir, us / nullif(al, 0) AS ur FROM g)"

/* JSON: $4 limit, $5 offset, $6 group_by, $7 idle threshold, $8 page_num. Formats: g, the row's keys, the
 * order (twice). */
static const char SQL_JSON[] =
	WITH_R
	" SELECT json_build_object('group_by', $6::text, 'start', $2::bigint, 'end', $3::bigint,"
	"  'idle_threshold', $7::float8,"
	"  'sums', (SELECT json_build_object('gpu_hours_allocated', " R4("coalesce(sum(al), 0)") ","
	"   'gpu_hours_used', " R4("coalesce(sum(us), 0)") ", 'gpu_hours_idle', " R4("coalesce(sum(id), 0)") ","
	"   'idle_ratio', " R4("sum(id) / nullif(sum(al), 0)") ", 'used_ratio', " R4("sum(us) / nullif(sum(al), 0)") ")"
	"   FROM r),"
	"  'data', (SELECT coalesce(json_agg(json_build_object(%s, " ROW_FIGURES ") ORDER BY %s), '[]')"
	"   FROM (SELECT * FROM r ORDER BY %s LIMIT $4::bigint OFFSET $5::bigint) r),"
	"  'total', (SELECT count(*) FROM r), 'page_num', $8::bigint, 'page_size', $4::bigint)::text";

/* CSV: $4 the most rows. Answers the row count and, when within $4, the text. Formats: g, the header's keys,
 * the row's keys, the order. */
static const char SQL_CSV[] =
	WITH_R
	" SELECT (SELECT count(*) FROM r), CASE WHEN (SELECT count(*) FROM r) <= $4::bigint THEN"
	"  '%s," CSV_FIGURES_HEAD "' || chr(13) || chr(10) ||"
	"  coalesce((SELECT string_agg(concat_ws(',', %s, " CSV_FIGURES "), chr(13) || chr(10) ORDER BY %s) FROM r)"
	"   || chr(13) || chr(10), '') END";

/* clang-format on */

/* The query: group_by, range, order, paging and format, read and checked. */
typedef struct usage_query {
	const usage_group *group;
	int64_t start, end, page_num, page_size;
	char order[160]; /* ORDER BY text: the figure, then the group's keys */
	bool csv;
} usage_query;

/* Reads and checks the parameters into q. 0, or the status answered (400). */
static int read_query(hub_req *r, usage_query *q)
{
	char v[HUB_PARAM_MAX + 1], msg[FL_ERR_LEN];
	bool present, desc;
	if (hub_params_raw(r->query, "group_by", 0, v, &present, msg) != FL_OK)
		return hub_api_error(r, 400, "%s", msg);
	q->group = NULL;
	for (size_t k = 0; present && k < sizeof(groups) / sizeof(groups[0]); k++)
		if (strcmp(v, groups[k].name) == 0)
			q->group = &groups[k];
	if (q->group == NULL)
		return hub_api_error(r, 400, "parameter 'group_by' %s one of cluster, namespace, workload, node",
		                     present ? "must be" : "is required:");
	int64_t now = fl_now_ms() / 1000;
	if (hub_params_int(r->query, "end", now, 0, MAX_TIME_S, &q->end, msg) != FL_OK ||
	    hub_params_int(r->query, "start", q->end > DAY_S ? q->end - DAY_S : 0, 0, MAX_TIME_S, &q->start, msg) !=
	        FL_OK ||
	    hub_params_page(r->query, &q->page_num, &q->page_size, msg) != FL_OK ||
	    hub_params_bool(r->query, "desc", true, &desc, msg) != FL_OK)
		return hub_api_error(r, 400, "%s", msg);
	if (q->start >= q->end)
		return hub_api_error(r, 400, "parameter 'start' (%" PRId64 ") must be before 'end' (%" PRId64 ")",
		                     q->start, q->end);
	int64_t span = r->api->cfg->rollup_retention_ms / 1000;
	span = span > MIN_SPAN_S ? span : MIN_SPAN_S;
	if (q->end - q->start > span)
		return hub_api_error(r, 400, "parameter 'start': the range is longer than %" PRId64 " days",
		                     span / DAY_S);
	const char *col = NULL;
	if (hub_params_raw(r->query, "order_by", 0, v, &present, msg) != FL_OK)
		return hub_api_error(r, 400, "%s", msg);
	for (size_t k = 0; k < sizeof(orders) / sizeof(orders[0]); k++)
		if (strcmp(present ? v : "gpu_hours_idle", orders[k].name) == 0)
			col = orders[k].col;
	if (col == NULL)
		return hub_api_error(r, 400,
		                     "parameter 'order_by' must be one of gpu_hours_idle, gpu_hours_allocated, "
		                     "gpu_hours_used, idle_ratio");
	snprintf(q->order, sizeof(q->order), "%s %s, %s", col, desc ? "DESC NULLS LAST" : "ASC NULLS FIRST",
	         q->group->ties);
	if (hub_params_raw(r->query, "format", 0, v, &present, msg) != FL_OK)
		return hub_api_error(r, 400, "%s", msg);
	if (present && strcmp(v, "csv") != 0 && strcmp(v, "json") != 0)
		return hub_api_error(r, 400, "parameter 'format' must be json or csv");
	const char *accept = mg_get_header(r->c, "Accept");
	bool accept_csv = false;
	for (const char *p = accept; p != NULL && *p != '\0' && !accept_csv; p++)
		accept_csv = strncasecmp(p, "text/csv", 8) == 0;
	q->csv = present ? strcmp(v, "csv") == 0 : accept_csv;
	return 0;
}

/* Sends body (len bytes of CSV) as the attachment usage-<group>.csv. Returns 200. */
static int send_csv(hub_req *r, const char *group, const char *body, size_t len)
{
	mg_printf(r->c,
	          "HTTP/1.1 200 OK\r\nContent-Type: text/csv; charset=utf-8\r\nContent-Length: %zu\r\n"
	          "Content-Disposition: attachment; filename=\"usage-%s.csv\"\r\nCache-Control: no-store\r\n"
	          "X-Content-Type-Options: nosniff\r\n%s\r\n",
	          len, group, r->headers);
	mg_write(r->c, body, len);
	hub_metrics_add(HUB_M_API_2XX, 1);
	return 200;
}

/* The CSV answer of q over the clusters (text[] literal). Returns the status sent. */
static int answer_csv(hub_req *r, PGconn *c, const usage_query *q, const char *clusters, const char *start,
                      const char *end)
{
	char sql[SQL_MAX], max[24], err[FL_ERR_LEN] = "";
	snprintf(max, sizeof(max), "%d", HUB_USAGE_CSV_MAX_ROWS);
	if (snprintf(sql, sizeof(sql), SQL_CSV, q->group->g, q->group->head, q->group->csv, q->order) >=
	    (int)sizeof(sql))
		return hub_api_error(r, 500, "usage: statement too long");
	const char *v[] = {clusters, start, end, max};
	PGresult *res = NULL;
	int rv = c != NULL ? hub_sql_exec(c, sql, 4, v, PGRES_TUPLES_OK, &res, "usage csv", err) : FL_EDB;
	if (rv != FL_OK || PQntuples(res) != 1) {
		PQclear(res);
		return hub_api_answer_text(r, "usage figures", NULL, rv != FL_OK ? rv : FL_EDB, err);
	}
	int status;
	if (PQgetisnull(res, 0, 1))
		status = hub_api_error(
		    r, 400, "the CSV would hold %s rows, more than %d: narrow 'start'..'end' or pick a 'cluster'",
		    PQgetvalue(res, 0, 0), HUB_USAGE_CSV_MAX_ROWS);
	else
		status = send_csv(r, q->group->name, PQgetvalue(res, 0, 1), (size_t)PQgetlength(res, 0, 1));
	PQclear(res);
	return status;
}

int hub_api_usage(hub_req *r)
{
	usage_query q;
	memset(&q, 0, sizeof(q));
	int rv = read_query(r, &q);
	const char **names = NULL;
	size_t n = 0;
	if (rv != 0 || (rv = hub_api_scope_names(r, true, &names, &n)) != 0)
		return rv;
	char *clusters = hub_sql_text_array(names, n);
	free(names);
	if (clusters == NULL)
		return hub_api_error(r, 500, "out of memory");
	char start[24], end[24], limit[24], offset[24], page[24], thr[32], err[FL_ERR_LEN] = "";
	snprintf(start, sizeof(start), "%" PRId64, q.start);
	snprintf(end, sizeof(end), "%" PRId64, q.end);
	snprintf(limit, sizeof(limit), "%" PRId64, q.page_size);
	snprintf(offset, sizeof(offset), "%" PRId64, (q.page_num - 1) * q.page_size);
	snprintf(page, sizeof(page), "%" PRId64, q.page_num);
	snprintf(thr, sizeof(thr), "%.17g", r->api->cfg->idle_threshold);
	PGconn *c = hub_api_pgconn(r, err);
	if (q.csv) {
		rv = answer_csv(r, c, &q, clusters, start, end);
		free(clusters);
		return rv;
	}
	char sql[SQL_MAX], *json = NULL;
	if (snprintf(sql, sizeof(sql), SQL_JSON, q.group->g, q.group->json, q.order, q.order) >= (int)sizeof(sql)) {
		free(clusters);
		return hub_api_error(r, 500, "usage: statement too long");
	}
	const char *v[] = {clusters, start, end, limit, offset, q.group->name, thr, page};
	rv = c != NULL ? hub_sql_one_text(c, sql, 8, v, "usage", &json, err) : FL_EDB;
	free(clusters);
	return hub_api_answer_text(r, "usage figures", json, rv, err);
}
