/* hub_safe_sql.c — one SaFE sync cycle's SQL: reads the wanted nodes and workloads from the hub DB and makes
 * SaFE's node_statistic and workload_statistic match them in one transaction of batched unnest statements. */
#include "hub_safe.h"
#include "hub_sql.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- array literals for unnest($n::type[]) ------------------------------------------------------- */

/* The ceiling of one array literal. A batch is HUB_SAFE_BATCH_ROWS elements of at most HUB_SAFE_NODE_MAX
 * bytes (the widest column written), each at most 2 * 128 + 3 bytes quoted and escaped: under 13 MB. */
#define BUF_MAX ((size_t)16 << 20)

/* A growing text buffer of at most BUF_MAX bytes; on a failed allocation (or the ceiling) it stays failed
 * (ok = false, too_big for the ceiling) and the caller checks once (buf_error). */
typedef struct buf {
	char *p;
	size_t len, cap;
	bool ok, too_big;
} buf;

/* Room for n more bytes and a terminator: where they go, or NULL with b failed. */
static char *buf_room(buf *b, size_t n)
{
	if (!b->ok)
		return NULL;
	if (n >= BUF_MAX || b->len + n + 1 > BUF_MAX) {
		b->ok = false;
		b->too_big = true;
		return NULL;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (p == NULL) {
			b->ok = false;
			return NULL;
		}
		b->p = p;
		b->cap = cap;
	}
	return b->p + b->len;
}

/* Ends the n bytes just written at buf_room's pointer. */
static void buf_wrote(buf *b, size_t n)
{
	b->len += n;
	b->p[b->len] = '\0';
}

static void buf_put(buf *b, const char *s, size_t n)
{
	char *w = buf_room(b, n);
	if (w == NULL)
		return;
	memcpy(w, s, n);
	buf_wrote(b, n);
}

/* For a failed buffer among b[0..n): FL_ELIMIT when one reached BUF_MAX, else FL_ENOMEM, err naming what. */
static int buf_error(const buf *b, size_t n, const char *what, char err[FL_ERR_LEN])
{
	for (size_t k = 0; k < n; k++)
		if (b[k].too_big)
			return fl_seterr(err, FL_ELIMIT, "%s: an array parameter passed %zu MiB (a batch of %d rows)",
			                 what, BUF_MAX >> 20, HUB_SAFE_BATCH_ROWS);
	return fl_seterr(err, FL_ENOMEM, "out of memory building %s", what);
}

static void buf_reset(buf *b)
{
	b->len = 0;
	if (b->p != NULL)
		b->p[0] = '\0';
}

/* Appends s as a quoted array element ("a\"b", hub_sql_array_elem). */
static void buf_elem_str(buf *b, const char *s)
{
	if (b->len > 1)
		buf_put(b, ",", 1);
	size_t n = hub_sql_array_elem(NULL, s);
	char *w = buf_room(b, n);
	if (w == NULL)
		return;
	hub_sql_array_elem(w, s);
	buf_wrote(b, n);
}

static void buf_elem_raw(buf *b, const char *s)
{
	if (b->len > 1)
		buf_put(b, ",", 1);
	buf_put(b, s, strlen(s));
}

static void centi_text(int centi, char *out, size_t len)
{
	if (centi < 0)
		snprintf(out, len, "NULL");
	else
		snprintf(out, len, "%d.%02d", centi / 100, centi % 100);
}

/* --- statements ---------------------------------------------------------------------------------- */

/* Runs sql on c, its one parameter the text[] "{"a","b"}" of the n cluster names; *out: the rows (the
 * caller clears them). FL_OK, FL_EDB (err names what), FL_ENOMEM. */
static int select_clusters(PGconn *c, const char *sql, const char *const *names, size_t n, const char *what,
                           PGresult **out, char err[FL_ERR_LEN])
{
	*out = NULL;
	char *arr = hub_sql_text_array(names, n);
	if (arr == NULL)
		return fl_seterr(err, FL_ENOMEM, "out of memory");
	const char *p1[1] = {arr};
	int rv = hub_sql_exec(c, sql, 1, p1, PGRES_TUPLES_OK, out, what, err);
	free(arr);
	return rv;
}

static const char sql_have[] =
    "SELECT id, cluster, node_name,"
    " CASE WHEN gpu_utilization IS NULL THEN -1 ELSE round(gpu_utilization * 100)::int END,"
    " deleted_at IS NOT NULL FROM node_statistic"
    " WHERE cluster IN (SELECT unnest($1::text[]))"; /* a hash semi-join: "= ANY" compares every name per row */

static const char sql_update[] =
    "UPDATE node_statistic AS t SET"
    " gpu_utilization = CASE WHEN u.del THEN t.gpu_utilization ELSE u.v END,"
    " deleted_at = CASE WHEN u.del THEN now() ELSE NULL END,"
    " updated_at = now()"
    " FROM unnest($1::int[], $2::numeric[], $3::bool[]) AS u(id, v, del) WHERE t.id = u.id";

static const char sql_insert[] =
    "INSERT INTO node_statistic (cluster, node_name, gpu_utilization, created_at, updated_at)"
    " SELECT u.c, u.n, u.v, now(), now() FROM unnest($1::text[], $2::text[], $3::numeric[]) AS u(c, n, v)";

static int write_updates(PGconn *c, const hub_safe_plan *p, buf b[3], char err[FL_ERR_LEN])
{
	char num[32];
	for (size_t start = 0; start < p->n_upd; start += HUB_SAFE_BATCH_ROWS) {
		size_t end = start + HUB_SAFE_BATCH_ROWS < p->n_upd ? start + HUB_SAFE_BATCH_ROWS : p->n_upd;
		for (int k = 0; k < 3; k++) {
			buf_reset(&b[k]);
			buf_put(&b[k], "{", 1);
		}
		for (size_t i = start; i < end; i++) {
			snprintf(num, sizeof(num), "%lld", (long long)p->upd[i].id);
			buf_elem_raw(&b[0], num);
			centi_text(p->upd[i].centi, num, sizeof(num));
			buf_elem_raw(&b[1], num);
			buf_elem_raw(&b[2], p->upd[i].op == HUB_SAFE_DELETE ? "t" : "f");
		}
		for (int k = 0; k < 3; k++)
			buf_put(&b[k], "}", 1);
		if (!b[0].ok || !b[1].ok || !b[2].ok)
			return buf_error(b, 3, "node_statistic updates", err);
		const char *params[3] = {b[0].p, b[1].p, b[2].p};
		int rv = hub_sql_exec(c, sql_update, 3, params, PGRES_COMMAND_OK, NULL, "UPDATE node_statistic", err);
		if (rv != FL_OK)
			return rv;
	}
	return FL_OK;
}

static int write_inserts(PGconn *c, const hub_safe_plan *p, buf b[3], char err[FL_ERR_LEN])
{
	char num[32];
	for (size_t start = 0; start < p->n_ins; start += HUB_SAFE_BATCH_ROWS) {
		size_t end = start + HUB_SAFE_BATCH_ROWS < p->n_ins ? start + HUB_SAFE_BATCH_ROWS : p->n_ins;
		for (int k = 0; k < 3; k++) {
			buf_reset(&b[k]);
			buf_put(&b[k], "{", 1);
		}
		for (size_t i = start; i < end; i++) {
			buf_elem_str(&b[0], p->ins[i].cluster);
			buf_elem_str(&b[1], p->ins[i].node);
			centi_text(p->ins[i].centi, num, sizeof(num));
			buf_elem_raw(&b[2], num);
		}
		for (int k = 0; k < 3; k++)
			buf_put(&b[k], "}", 1);
		if (!b[0].ok || !b[1].ok || !b[2].ok)
			return buf_error(b, 3, "node_statistic inserts", err);
		const char *params[3] = {b[0].p, b[1].p, b[2].p};
		int rv =
		    hub_sql_exec(c, sql_insert, 3, params, PGRES_COMMAND_OK, NULL, "INSERT INTO node_statistic", err);
		if (rv != FL_OK)
			return rv;
	}
	return FL_OK;
}

/* Advances updated_at of the rows ids[0..n) (sorted) of the table sql names, in batches of
 * HUB_SAFE_BATCH_ROWS: one statement per cycle up to that many rows. b: one buffer. */
static int write_touch(PGconn *c, const char *sql, const int64_t *ids, size_t n, buf *b, const char *what,
                       char err[FL_ERR_LEN])
{
	char num[32];
	for (size_t start = 0; start < n; start += HUB_SAFE_BATCH_ROWS) {
		size_t end = start + HUB_SAFE_BATCH_ROWS < n ? start + HUB_SAFE_BATCH_ROWS : n;
		buf_reset(b);
		buf_put(b, "{", 1);
		for (size_t i = start; i < end; i++) {
			snprintf(num, sizeof(num), "%lld", (long long)ids[i]);
			buf_elem_raw(b, num);
		}
		buf_put(b, "}", 1);
		if (!b->ok)
			return buf_error(b, 1, what, err);
		const char *params[1] = {b->p};
		int rv = hub_sql_exec(c, sql, 1, params, PGRES_COMMAND_OK, NULL, what, err);
		if (rv != FL_OK)
			return rv;
	}
	return FL_OK;
}

/* The rows a cycle confirmed without changing them: only updated_at moves (it says when the row was last
 * known right; the SaFE adapter rewrote every row every cycle). */
static const char sql_touch[] = "UPDATE node_statistic AS t SET updated_at = now()"
                                " FROM unnest($1::int[]) AS u(id) WHERE t.id = u.id";
static const char sql_wl_touch[] = "UPDATE workload_statistic AS t SET updated_at = now()"
                                   " FROM unnest($1::int[]) AS u(id) WHERE t.id = u.id";

/* --- workload_statistic ------------------------------------------------------------------------------ */

/* The rows of the wanted SaFE workloads ($1: their workload_ids), as SaFE's adapter found them: by
 * (workload_id, statistic_type '3h'), whatever their cluster. */
static const char sql_wl_have[] =
    "SELECT id, workload_id, coalesce(workload_uid, ''), coalesce(cluster, ''), coalesce(workspace, ''),"
    " CASE WHEN avg_gpu_usage_3h IS NULL THEN -1 ELSE round(avg_gpu_usage_3h * 100)::int END,"
    " CASE WHEN max_gpu_usage_3h IS NULL THEN -1 ELSE round(max_gpu_usage_3h * 100)::int END,"
    " coalesce(data_points_count, -1) FROM workload_statistic"
    " WHERE statistic_type = '3h' AND workload_id IN (SELECT unnest($1::text[]))";

static const char sql_wl_update[] =
    "UPDATE workload_statistic AS t SET workload_uid = u.uid, cluster = u.c, workspace = u.ws,"
    " avg_gpu_usage_3h = u.a, max_gpu_usage_3h = u.m, data_points_count = u.n, updated_at = now()"
    " FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::numeric[], $6::numeric[], $7::int[])"
    " AS u(id, uid, c, ws, a, m, n) WHERE t.id = u.id";

static const char sql_wl_insert[] =
    "INSERT INTO workload_statistic (workload_id, workload_uid, cluster, workspace, statistic_type,"
    " avg_gpu_usage_3h, max_gpu_usage_3h, data_points_count, created_at, updated_at)"
    " SELECT u.wid, u.uid, u.c, u.ws, '3h', u.a, u.m, u.n, now(), now()"
    " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::numeric[], $6::numeric[], $7::int[])"
    " AS u(wid, uid, c, ws, a, m, n)";

/* Writes rows[0..n) of the plan in batches: updates (first column the id) when update, else inserts (first
 * column the workload_id); then uid (NULL when the write has none), cluster, workspace, figures. b: 7
 * buffers. */
static int wl_write(PGconn *c, const hub_safe_wl_write *rows, size_t n, bool update, buf b[7], char err[FL_ERR_LEN])
{
	char num[32];
	for (size_t start = 0; start < n; start += HUB_SAFE_BATCH_ROWS) {
		size_t end = start + HUB_SAFE_BATCH_ROWS < n ? start + HUB_SAFE_BATCH_ROWS : n;
		for (int k = 0; k < 7; k++) {
			buf_reset(&b[k]);
			buf_put(&b[k], "{", 1);
		}
		for (size_t i = start; i < end; i++) {
			const hub_safe_wl_write *w = &rows[i];
			if (update) {
				snprintf(num, sizeof(num), "%lld", (long long)w->id);
				buf_elem_raw(&b[0], num);
			} else {
				buf_elem_str(&b[0], w->want->workload_id);
			}
			if (w->uid != NULL)
				buf_elem_str(&b[1], w->uid);
			else
				buf_elem_raw(&b[1], "NULL");
			buf_elem_str(&b[2], w->want->cluster);
			buf_elem_str(&b[3], w->want->ns);
			centi_text(w->avg, num, sizeof(num));
			buf_elem_raw(&b[4], num);
			centi_text(w->max, num, sizeof(num));
			buf_elem_raw(&b[5], num);
			snprintf(num, sizeof(num), "%lld",
			         (long long)(w->want->hours < INT32_MAX ? w->want->hours : INT32_MAX));
			buf_elem_raw(&b[6], num);
		}
		bool ok = true;
		for (int k = 0; k < 7; k++) {
			buf_put(&b[k], "}", 1);
			ok = ok && b[k].ok;
		}
		if (!ok)
			return buf_error(b, 7, "workload_statistic writes", err);
		const char *params[7] = {b[0].p, b[1].p, b[2].p, b[3].p, b[4].p, b[5].p, b[6].p};
		int rv = hub_sql_exec(c, update ? sql_wl_update : sql_wl_insert, 7, params, PGRES_COMMAND_OK, NULL,
		                      update ? "UPDATE workload_statistic" : "INSERT INTO workload_statistic", err);
		if (rv != FL_OK)
			return rv;
	}
	return FL_OK;
}

/* Inside the cycle's transaction: the workload_statistic rows of the wanted SaFE workloads made to match
 * wl (hub_safe_wl_diff). */
static int wl_apply_locked(PGconn *c, hub_safe_wl_want *wl, size_t n_wl, hub_safe_stats *st, char err[FL_ERR_LEN])
{
	const char **ids = malloc((n_wl > 0 ? n_wl : 1) * sizeof(*ids));
	if (ids == NULL)
		return fl_seterr(err, FL_ENOMEM, "out of memory (%zu workloads)", n_wl);
	for (size_t i = 0; i < n_wl; i++)
		ids[i] = wl[i].workload_id;
	PGresult *r;
	int rv = select_clusters(c, sql_wl_have, ids, n_wl, "SELECT workload_statistic", &r, err);
	free(ids);
	if (rv != FL_OK)
		return rv;
	size_t n_have = (size_t)PQntuples(r);
	hub_safe_wl_have *have = calloc(n_have > 0 ? n_have : 1, sizeof(*have));
	if (have == NULL) {
		PQclear(r);
		return fl_seterr(err, FL_ENOMEM, "out of memory (%zu workload_statistic rows)", n_have);
	}
	for (size_t i = 0; i < n_have; i++) {
		int row = (int)i;
		have[i].id = strtoll(PQgetvalue(r, row, 0), NULL, 10);
		have[i].workload_id = PQgetvalue(r, row, 1);
		have[i].uid = PQgetvalue(r, row, 2);
		have[i].cluster = PQgetvalue(r, row, 3);
		have[i].workspace = PQgetvalue(r, row, 4);
		have[i].avg = atoi(PQgetvalue(r, row, 5));
		have[i].max = atoi(PQgetvalue(r, row, 6));
		have[i].points = strtoll(PQgetvalue(r, row, 7), NULL, 10);
	}
	hub_safe_wl_plan plan;
	rv = hub_safe_wl_diff(wl, n_wl, have, n_have, &plan);
	free(have);
	PQclear(r);
	if (rv != FL_OK)
		return fl_seterr(err, rv, "out of memory deciding workload_statistic writes");
	buf b[7];
	for (int k = 0; k < 7; k++)
		b[k] = (buf){.ok = true};
	rv = wl_write(c, plan.upd, plan.n_upd, true, b, err);
	if (rv == FL_OK)
		rv = wl_write(c, plan.ins, plan.n_ins, false, b, err);
	if (rv == FL_OK)
		rv = write_touch(c, sql_wl_touch, plan.touch, plan.n_touch, &b[0], "touch workload_statistic", err);
	for (int k = 0; k < 7; k++)
		free(b[k].p);
	if (rv == FL_OK) {
		st->wl_insert = plan.n_ins;
		st->wl_update = plan.n_upd;
		st->wl_touch = plan.n_touch;
		st->wl_skipped = plan.n_skipped;
		st->wl_unchanged = plan.n_unchanged;
		st->duplicates += plan.n_duplicates;
	}
	hub_safe_wl_plan_free(&plan);
	return rv;
}

/* Inside the transaction: lock, read, decide, write. */
static int apply_locked(PGconn *c, hub_safe_want *want, size_t n_want, hub_safe_wl_want *wl, size_t n_wl,
                        const char *const *clusters, size_t n_clusters, hub_safe_stats *st, buf b[3],
                        char err[FL_ERR_LEN])
{
	int rv;
	char lock_sql[128];
	snprintf(lock_sql, sizeof(lock_sql), "SELECT pg_advisory_xact_lock(%d, %d)", HUB_SAFE_LOCK_CLASS,
	         HUB_SAFE_LOCK_KEY);
	PGresult *r = NULL;
	if ((rv = hub_sql_exec(c, lock_sql, 0, NULL, PGRES_TUPLES_OK, NULL, "pg_advisory_xact_lock", err)) != FL_OK)
		return rv;

	if ((rv = select_clusters(c, sql_have, clusters, n_clusters, "SELECT node_statistic", &r, err)) != FL_OK)
		return rv;
	size_t n_have = (size_t)PQntuples(r);
	hub_safe_have *have = calloc(n_have > 0 ? n_have : 1, sizeof(*have));
	if (have == NULL) {
		PQclear(r);
		return fl_seterr(err, FL_ENOMEM, "out of memory (%zu node_statistic rows)", n_have);
	}
	for (size_t i = 0; i < n_have; i++) {
		int row = (int)i;
		have[i].id = strtoll(PQgetvalue(r, row, 0), NULL, 10);
		have[i].cluster = PQgetvalue(r, row, 1);
		have[i].node = PQgetvalue(r, row, 2);
		have[i].centi = atoi(PQgetvalue(r, row, 3));
		have[i].deleted = PQgetvalue(r, row, 4)[0] == 't';
	}
	hub_safe_plan plan;
	rv = hub_safe_diff(want, n_want, have, n_have, &plan);
	if (rv != FL_OK) {
		free(have);
		PQclear(r);
		return fl_seterr(err, rv, "out of memory deciding node_statistic writes");
	}
	/* plan.upd holds ids only; plan.ins points into want: have and r may go now. */
	free(have);
	PQclear(r);
	if ((rv = write_updates(c, &plan, b, err)) == FL_OK)
		rv = write_inserts(c, &plan, b, err);
	if (rv == FL_OK)
		rv = write_touch(c, sql_touch, plan.touch, plan.n_touch, &b[0], "touch node_statistic", err);
	if (rv == FL_OK) {
		st->insert = plan.n_ins;
		st->touch = plan.n_touch;
		st->update = plan.n_update;
		st->revive = plan.n_revive;
		st->del = plan.n_delete;
		st->skipped = plan.n_skipped;
		st->duplicates = plan.n_duplicates;
		st->unchanged = plan.n_unchanged;
	}
	hub_safe_plan_free(&plan);
	if (rv == FL_OK && wl != NULL)
		rv = wl_apply_locked(c, wl, n_wl, st, err);
	return rv;
}

int hub_safe_apply(PGconn *safe, hub_safe_want *want, size_t n_want, hub_safe_wl_want *wl, size_t n_wl,
                   const char *const *clusters, size_t n_clusters, hub_safe_stats *st, char err[FL_ERR_LEN])
{
	hub_safe_stats zero = {.clusters = n_clusters};
	*st = zero;
	buf b[3] = {{.ok = true}, {.ok = true}, {.ok = true}};
	int rv = hub_sql_exec(safe, "BEGIN", 0, NULL, PGRES_COMMAND_OK, NULL, "BEGIN", err);
	if (rv == FL_OK) {
		hub_safe_stats got = zero;
		rv = apply_locked(safe, want, n_want, wl, n_wl, clusters, n_clusters, &got, b, err);
		if (rv == FL_OK)
			rv = hub_sql_exec(safe, "COMMIT", 0, NULL, PGRES_COMMAND_OK, NULL, "COMMIT", err);
		else
			PQclear(PQexec(safe, "ROLLBACK"));
		if (rv == FL_OK)
			*st = got;
	}
	for (int k = 0; k < 3; k++)
		free(b[k].p);
	return rv;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Nodes (gpu_count > 0) of the named clusters that have a committed full frame, with their newest sample's
 * figure (node_latest_sample, 009_samples.sql: the node rows hold facts only); LEFT JOIN so a synced
 * cluster with no GPU node still appears (its SaFE rows are then all soft-deleted). */
static const char sql_want[] = "SELECT c.name, n.name, n.gpu_utilization FROM cluster c"
                               " LEFT JOIN node_latest_sample n ON n.cluster_name = c.name AND n.gpu_count > 0"
                               " WHERE c.name IN (SELECT unnest($1::text[])) AND c.full_sent_ms IS NOT NULL";

/* The live SaFE workloads of the synced clusters ($1: names, $2: SaFE's ids of those clusters, in step):
 * per (cluster, primus-safe.workload.id) whose objects include a Running or Pending one, the namespace and
 * the uid of a live object (the one named after the SaFE workload first, then the newest), with the
 * hourly rollups (workload_hourly_stats) of the last three hours of every object carrying that id, live
 * or not (an earlier dispatch counts, as the adapter's by-name lookup did): the mean of the hourly
 * averages and the largest hourly maximum, each clamped to 0..100, and the hours. A SaFE workload without
 * hourly rows is not returned: it gets no row. Hub DB clock. */
static const char sql_wl_want[] =
    "WITH m AS (SELECT * FROM unnest($1::text[], $2::text[]) AS m(name, safe_id)),"
    " s AS (SELECT w.cluster_name, w.safe_workload_id AS wid, min(w.namespace) AS ns,"
    " (array_agg(w.uid ORDER BY (w.name = w.safe_workload_id) DESC, w.created_at DESC NULLS LAST, w.uid))[1]"
    " AS uid FROM gpu_workload w WHERE w.cluster_name IN (SELECT name FROM m) AND w.safe_workload_id <> ''"
    " AND w.status IN ('Running', 'Pending') GROUP BY w.cluster_name, w.safe_workload_id)"
    " SELECT m.safe_id, s.wid, s.uid, s.ns, h.a, h.mx, h.n FROM s JOIN m ON m.name = s.cluster_name"
    " CROSS JOIN LATERAL (SELECT avg(LEAST(GREATEST(x.avg_utilization, 0), 100)) AS a,"
    " max(LEAST(GREATEST(x.max_utilization, 0), 100)) AS mx, count(DISTINCT x.stat_hour) AS n"
    " FROM gpu_workload o JOIN workload_hourly_stats x ON x.cluster_name = o.cluster_name"
    " AND x.workload_uid = o.uid WHERE o.cluster_name = s.cluster_name AND o.safe_workload_id = s.wid"
    " AND x.stat_hour >= now() - interval '3 hours' AND x.stat_hour <= now()"
    " AND x.avg_utilization IS NOT NULL) h WHERE h.n > 0";

/* Reads the wanted workload_statistic rows of the clusters named (safe_ids[i]: SaFE's id of clusters[i]):
 * *wl (malloc'd; strings point into *res, which the caller clears after use). */
static int read_workloads(PGconn *hub, const char *const *clusters, const char *const *safe_ids, size_t n,
                          PGresult **res, hub_safe_wl_want **wl, size_t *n_wl, char err[FL_ERR_LEN])
{
	*res = NULL;
	*wl = NULL;
	*n_wl = 0;
	char *names = hub_sql_text_array(clusters, n), *ids = hub_sql_text_array(safe_ids, n);
	PGresult *r = NULL;
	int rv = FL_ENOMEM;
	if (names == NULL || ids == NULL) {
		fl_seterr(err, FL_ENOMEM, "out of memory");
	} else {
		const char *v[2] = {names, ids};
		rv = hub_sql_exec(hub, sql_wl_want, 2, v, PGRES_TUPLES_OK, &r, "hub database: SELECT SaFE workloads",
		                  err);
	}
	free(names);
	free(ids);
	if (rv != FL_OK)
		return rv;
	size_t rows = (size_t)PQntuples(r);
	hub_safe_wl_want *w = calloc(rows > 0 ? rows : 1, sizeof(*w));
	if (w == NULL) {
		PQclear(r);
		return fl_seterr(err, FL_ENOMEM, "out of memory (%zu workloads)", rows);
	}
	for (size_t i = 0; i < rows; i++) {
		int row = (int)i;
		w[i].cluster = PQgetvalue(r, row, 0);
		w[i].workload_id = PQgetvalue(r, row, 1);
		w[i].uid = PQgetvalue(r, row, 2);
		w[i].ns = PQgetvalue(r, row, 3);
		w[i].avg = strtod(PQgetvalue(r, row, 4), NULL);
		w[i].max = strtod(PQgetvalue(r, row, 5), NULL);
		w[i].hours = strtoll(PQgetvalue(r, row, 6), NULL, 10);
	}
	*res = r;
	*wl = w;
	*n_wl = rows;
	return FL_OK;
}

/* SaFE's id of cluster name (safe_ids[i] belongs to clusters[i]); the name itself if it is not listed. */
static const char *safe_id_of(const char *name, const char *const *clusters, const char *const *safe_ids, size_t n)
{
	for (size_t c = 0; c < n; c++)
		if (strcmp(clusters[c], name) == 0)
			return safe_ids[c];
	return name;
}

int hub_safe_sync_once(PGconn *hub, PGconn *safe, const char *const *clusters, const char *const *safe_ids,
                       size_t n_clusters, hub_safe_stats *st, char err[FL_ERR_LEN])
{
	memset(st, 0, sizeof(*st));
	PGresult *r;
	int rv = select_clusters(hub, sql_want, clusters, n_clusters, "hub database: SELECT node", &r, err);
	if (rv != FL_OK)
		return rv;
	size_t n = (size_t)PQntuples(r);
	hub_safe_want *want = calloc(n > 0 ? n : 1, sizeof(*want));
	const char **synced = calloc(n > 0 ? n : 1, sizeof(*synced));
	if (want == NULL || synced == NULL) {
		free(want);
		free(synced);
		PQclear(r);
		return fl_seterr(err, FL_ENOMEM, "out of memory (%zu nodes)", n);
	}
	size_t n_want = 0, n_synced = 0;
	const char *cl_id = NULL; /* SaFE's id of the cluster of the previous row (rows come grouped by cluster) */
	for (size_t i = 0; i < n; i++) {
		int row = (int)i;
		const char *cl = PQgetvalue(r, row, 0);
		/* Rows of one cluster mostly arrive together; repeats left by any other order go below. */
		if (n_synced == 0 || strcmp(synced[n_synced - 1], cl) != 0) {
			synced[n_synced++] = cl;
			cl_id = safe_id_of(cl, clusters, safe_ids, n_clusters);
		}
		if (PQgetisnull(r, row, 1))
			continue;
		hub_safe_want *w = &want[n_want++];
		w->cluster = cl_id; /* node_statistic.cluster is SaFE's id of the cluster */
		w->node = PQgetvalue(r, row, 1);
		w->has_value = !PQgetisnull(r, row, 2);
		w->value = w->has_value ? strtod(PQgetvalue(r, row, 2), NULL) : 0.0;
	}
	if (n_synced > 1) {
		qsort(synced, n_synced, sizeof(*synced), str_cmp);
		size_t u = 1;
		for (size_t k = 1; k < n_synced; k++)
			if (strcmp(synced[k], synced[u - 1]) != 0)
				synced[u++] = synced[k];
		n_synced = u;
	}
	/* SaFE's id of each synced cluster (a synced cluster is one of clusters: the query selects by them). */
	const char **synced_ids = calloc(n_synced > 0 ? n_synced : 1, sizeof(*synced_ids));
	if (synced_ids == NULL)
		rv = fl_seterr(err, FL_ENOMEM, "out of memory (%zu clusters)", n_synced);
	for (size_t k = 0; k < n_synced && rv == FL_OK; k++)
		synced_ids[k] = safe_id_of(synced[k], clusters, safe_ids, n_clusters);
	PGresult *wr = NULL;
	hub_safe_wl_want *wl = NULL;
	size_t n_wl = 0;
	if (rv == FL_OK && n_synced > 0)
		rv = read_workloads(hub, synced, synced_ids, n_synced, &wr, &wl, &n_wl, err);
	if (rv == FL_OK && n_synced > 0)
		rv = hub_safe_apply(safe, want, n_want, wl, n_wl, synced_ids, n_synced, st, err);
	free(wl);
	PQclear(wr);
	free(synced_ids);
	free(want);
	free(synced);
	PQclear(r);
	return rv;
}
