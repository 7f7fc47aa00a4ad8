/* hub_history.c — utilization history: the COPY that appends a frame's node samples, and the bucketed read of node or
 * workload samples. */
#include "hub_history.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hub_sql.h"

/* The sample table's columns in the order the COPY rows carry them (009_samples.sql). */
static const char SQL_COPY[] =
    "COPY node_utilization_history (cluster_name, node_name, sampled_at, gpu_utilization, gpu_count, gpu_allocation,"
    " gpu_ids, gpu_utilizations, gpu_temperatures, gpu_powers) FROM STDIN";

#define COPY_CHUNK (64u << 10) /* bytes handed to PQputCopyData at a time */

/* COPY text-format data, sent in COPY_CHUNK pieces as it fills: memory stays bounded whatever the frame. */
typedef struct copy_out {
	PGconn *c;
	char buf[COPY_CHUNK];
	size_t len;
	bool failed; /* PQputCopyData refused: the rest is dropped and the COPY ends with an error */
} copy_out;

static void copy_flush(copy_out *o)
{
	if (!o->failed && o->len > 0 && PQputCopyData(o->c, o->buf, (int)o->len) != 1)
		o->failed = true;
	o->len = 0;
}

static void copy_put(copy_out *o, const char *s, size_t n)
{
	while (n > 0) {
		if (o->len == sizeof(o->buf))
			copy_flush(o);
		size_t k = sizeof(o->buf) - o->len < n ? sizeof(o->buf) - o->len : n;
		memcpy(o->buf + o->len, s, k);
		o->len += k;
		s += k;
		n -= k;
	}
}

static void copy_str(copy_out *o, const char *s)
{
	copy_put(o, s, strlen(s));
}

/* A text value, escaped for the COPY text format (backslash, and the row and column delimiters). */
static void copy_text(copy_out *o, const char *s)
{
	for (const char *p = s; *p != '\0';) {
		size_t n = strcspn(p, "\\\n\r\t");
		copy_put(o, p, n);
		p += n;
		if (*p == '\0')
			break;
		const char *esc = *p == '\\' ? "\\\\" : *p == '\n' ? "\\n" : *p == '\r' ? "\\r" : "\\t";
		copy_put(o, esc, 2);
		p++;
	}
}

/* A float8 (shortest exact form), or NULL as COPY's \N (in a field) or NULL (in an array literal). */
static void copy_real(copy_out *o, double x, bool has, bool in_array)
{
	char num[40];
	if (!has) {
		copy_str(o, in_array ? "NULL" : "\\N");
		return;
	}
	snprintf(num, sizeof(num), "%.17g", x);
	copy_str(o, num);
}

static void copy_int(copy_out *o, int64_t x)
{
	char num[24];
	snprintf(num, sizeof(num), "%" PRId64, x);
	copy_str(o, num);
}

/* Which figure of a GPU an array column holds. */
enum { FIG_ID, FIG_UTIL, FIG_TEMP, FIG_POWER };

/* One array literal ({a,b,...}) of figure fig over the node's GPUs g[0..n). */
static void copy_gpu_array(copy_out *o, const fl_proto_gpu *const *g, size_t n, int fig)
{
	copy_str(o, "{");
	for (size_t k = 0; k < n; k++) {
		if (k > 0)
			copy_str(o, ",");
		if (fig == FIG_ID)
			copy_int(o, g[k]->gpu_id);
		else
			copy_real(o,
			          fig == FIG_UTIL   ? g[k]->utilization
			          : fig == FIG_TEMP ? g[k]->temperature
			                            : g[k]->power,
			          fig != FIG_UTIL || g[k]->has_utilization, true);
	}
	copy_str(o, "}");
}

/* The first of gpus[0..n) (sorted by node, gpu_id) that belongs to node, or n. */
static size_t first_gpu_of(const fl_proto_gpu *const *gpus, size_t n, const char *node)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(gpus[mid]->node, node) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The COPY rows of f into o: one per node, its GPUs found in gpus (n, sorted by node and gpu_id). */
static void copy_rows(copy_out *o, const fl_proto_frame *f, const fl_proto_gpu *const *gpus, size_t n,
                      const char *stamp)
{
	for (uint32_t i = 0; i < f->n_nodes; i++) {
		const fl_proto_node *nd = &f->nodes[i];
		size_t a = first_gpu_of(gpus, n, nd->name), b = a;
		while (b < n && strcmp(gpus[b]->node, nd->name) == 0)
			b++;
		copy_text(o, f->env.cluster);
		copy_str(o, "\t");
		copy_text(o, nd->name);
		copy_str(o, "\t");
		copy_str(o, stamp);
		copy_str(o, "\t");
		copy_real(o, nd->gpu_utilization, nd->has_utilization, false);
		copy_str(o, "\t");
		copy_int(o, nd->gpu_count);
		copy_str(o, "\t");
		copy_int(o, nd->gpu_allocation);
		for (int fig = FIG_ID; fig <= FIG_POWER; fig++) {
			copy_str(o, "\t");
			copy_gpu_array(o, gpus + a, b - a, fig);
		}
		copy_str(o, "\n");
	}
}

/* Sends the COPY of f's sample rows, stamped with stamp; *rows from the server's "COPY n". */
static int copy_send(PGconn *c, const fl_proto_frame *f, const fl_proto_gpu *const *gpus, const char *stamp,
                     int64_t *rows, char err[FL_ERR_LEN])
{
	PGresult *r = PQexec(c, SQL_COPY);
	if (PQresultStatus(r) != PGRES_COPY_IN)
		return hub_sql_fail(c, r, "samples: COPY", err);
	PQclear(r);
	copy_out *o = malloc(sizeof(*o));
	bool oom = o == NULL;
	if (o != NULL) {
		o->c = c;
		o->len = 0;
		o->failed = false;
		copy_rows(o, f, gpus, f->n_gpus, stamp);
		copy_flush(o);
	}
	bool failed = oom || o->failed;
	free(o);
	/* An aborted COPY fails the transaction: the caller rolls back. */
	if (PQputCopyEnd(c, oom ? "out of memory" : NULL) != 1)
		failed = true;
	int rv = FL_OK;
	while ((r = PQgetResult(c)) != NULL) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			if (rv == FL_OK)
				rv = hub_sql_fail(c, r, "samples: COPY", err);
			else
				PQclear(r);
			continue;
		}
		*rows = strtoll(PQcmdTuples(r), NULL, 10);
		PQclear(r);
	}
	if (rv == FL_OK && failed)
		rv = oom ? fl_seterr(err, FL_ENOMEM, "samples: out of memory")
		         : hub_sql_fail(c, NULL, "samples: COPY", err);
	return rv;
}

int hub_history_append(PGconn *c, const fl_proto_frame *f, const fl_proto_gpu *const *gpus, int64_t *rows,
                       char err[FL_ERR_LEN])
{
	*rows = 0;
	if (f->n_nodes == 0)
		return FL_OK;
	time_t t = (time_t)(f->env.sent_at_ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	char stamp[48];
	snprintf(stamp, sizeof(stamp), "%04d-%02d-%02d %02d:%02d:%02d.%03d+00", tm.tm_year + 1900, tm.tm_mon + 1,
	         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(f->env.sent_at_ms % 1000));
	return copy_send(c, f, gpus, stamp, rows, err);
}

/* Samples without a figure (NULL: the frame carried the node without one) make no point. */
#define SQL_QUERY(table, key)                                                                                          \
	"SELECT (floor(extract(epoch FROM sampled_at) / $5::bigint) * $5::bigint)::bigint AS t,"                       \
	" round(avg(gpu_utilization)::numeric, 2)::float8 FROM " table " WHERE cluster_name = $1 AND " key " = $2"     \
	" AND sampled_at >= to_timestamp($3::bigint) AND sampled_at < to_timestamp($4::bigint)"                        \
	" AND gpu_utilization IS NOT NULL GROUP BY 1 ORDER BY 1"

static const char *const query_sql[] = {
    [HUB_HISTORY_NODE] = SQL_QUERY("node_utilization_history", "node_name"),
    [HUB_HISTORY_WORKLOAD] = SQL_QUERY("workload_utilization_history", "workload_uid"),
};

int hub_history_query(PGconn *c, hub_history_of of, const char *cluster, const char *key, int64_t start_s,
                      int64_t end_s, int64_t step_s, json_t **out, char err[FL_ERR_LEN])
{
	if ((unsigned)of > HUB_HISTORY_WORKLOAD)
		return fl_seterr(err, FL_EINVAL, "unknown history");
	char a[24], b[24], st[24];
	snprintf(a, sizeof(a), "%" PRId64, start_s);
	snprintf(b, sizeof(b), "%" PRId64, end_s);
	snprintf(st, sizeof(st), "%" PRId64, step_s);
	const char *v[] = {cluster, key, a, b, st};
	PGresult *r = NULL;
	int rv = hub_sql_exec(c, query_sql[of], 5, v, PGRES_TUPLES_OK, &r, "history", err);
	if (rv != FL_OK)
		return rv;
	json_t *points = json_array();
	for (int i = 0; i < PQntuples(r) && points != NULL; i++) {
		json_t *p = json_pack("[I,f]", (json_int_t)strtoll(PQgetvalue(r, i, 0), NULL, 10),
		                      strtod(PQgetvalue(r, i, 1), NULL));
		if (p == NULL || json_array_append_new(points, p) != 0) {
			json_decref(points);
			points = NULL;
		}
	}
	PQclear(r);
	*out = points != NULL ? json_pack("{s:[{s:s,s:o}],s:s,s:I,s:I,s:I}", "series", "name", "gpu_utilization",
	                                  "points", points, "unit", "%", "start", (json_int_t)start_s, "end",
	                                  (json_int_t)end_s, "step", (json_int_t)step_s)
	                      : NULL;
	return *out != NULL ? FL_OK : fl_seterr(err, FL_ENOMEM, "out of memory");
}
