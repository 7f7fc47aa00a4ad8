/* hub_workload.c — what a frame writes about GPU pods and workloads: their fact rows and utilization samples. */
#include "hub_workload.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fl_time.h"
#include "hub_sql.h"

/* Times must fit PostgreSQL's timestamptz and mean something: 1970 .. 9999 (as hub_store's sent_at). */

/* --- building the rows ------------------------------------------------------------------------------ */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool time_ok(int64_t ms)
{
	return ms >= 0 && ms <= FL_MAX_TIME_MS;
}

/* key: string (0), or -1 when s is not UTF-8 or memory ran out. */
static int put_str(json_t *o, const char *key, const char *s)
{
	json_t *v = json_string(s);
	return v == NULL ? -1 : json_object_set_new(o, key, v);
}

static int put_int(json_t *o, const char *key, int64_t x)
{
	return json_object_set_new(o, key, json_integer((json_int_t)x));
}

/* key: number, or null when !has; -1 when x is not finite. */
static int put_real(json_t *o, const char *key, double x, bool has)
{
	if (!has)
		return json_object_set_new(o, key, json_null());
	json_t *v = json_real(x);
	return v == NULL ? -1 : json_object_set_new(o, key, v);
}

static int dump(json_t *arr, char **out, char err[FL_ERR_LEN])
{
	if ((*out = json_dumps(arr, JSON_COMPACT)) == NULL)
		return fl_seterr(err, FL_ENOMEM, "out of memory");
	return FL_OK;
}

/* Builds the row object of one pod or workload into *o; FL_EINVAL (err names it) when it cannot be stored. */
typedef int (*row_fn)(const void *item, json_t **o, char err[FL_ERR_LEN]);

/* The n items of arr (sz bytes each, their uid string at uid_off) as the JSON array text *out, one row
 * each (row), sorted by uid. FL_EINVAL when a uid repeats (what: "pod", "workload") or a row fails. */
static int rows_by_uid(const void *arr, uint32_t n, size_t sz, size_t uid_off, const char *what, row_fn row, char **out,
                       char err[FL_ERR_LEN])
{
	const char **uids = n > 0 ? malloc((size_t)n * sizeof(*uids)) : NULL;
	json_t *a = json_array();
	int rv = (n > 0 && uids == NULL) || a == NULL ? fl_seterr(err, FL_ENOMEM, "out of memory") : FL_OK;
	for (uint32_t i = 0; i < n && rv == FL_OK; i++)
		uids[i] = (const char *)arr + (size_t)i * sz + uid_off;
	if (rv == FL_OK && n > 1)
		qsort(uids, n, sizeof(*uids), cmp_str);
	for (uint32_t i = 0; i < n && rv == FL_OK; i++) {
		if (i > 0 && strcmp(uids[i - 1], uids[i]) == 0) {
			rv = fl_seterr(err, FL_EINVAL, "%s uid '%s' appears twice in the frame", what, uids[i]);
			break;
		}
		json_t *o = NULL;
		if ((rv = row(uids[i] - uid_off, &o, err)) == FL_OK && json_array_append_new(a, o) != 0)
			rv = fl_seterr(err, FL_ENOMEM, "out of memory");
	}
	free(uids);
	if (rv == FL_OK)
		rv = dump(a, out, err);
	json_decref(a);
	return rv;
}

static int pod_row(const void *item, json_t **out, char err[FL_ERR_LEN])
{
	const fl_proto_pod *p = item;
	if (!time_ok(p->created_ms))
		return fl_seterr(err, FL_EINVAL, "pod '%.200s': created %" PRId64 " ms is out of range", p->name,
		                 p->created_ms);
	json_t *o = json_object();
	if (o == NULL || put_str(o, "uid", p->uid) || put_str(o, "namespace", p->ns) || put_str(o, "name", p->name) ||
	    put_str(o, "node_name", p->node) || put_int(o, "gpus", p->gpus) || put_str(o, "phase", p->phase) ||
	    json_object_set_new(o, "running", json_boolean(p->running)) ||
	    put_str(o, "workload_uid", p->workload_uid) ||
	    put_real(o, "gpu_utilization", p->utilization, p->has_utilization) ||
	    put_int(o, "created", p->created_ms)) {
		json_decref(o);
		return fl_seterr(err, FL_EINVAL, "pod '%.200s': a text field is not UTF-8 or a number is not finite",
		                 p->name);
	}
	*out = o;
	return FL_OK;
}

static int workload_row(const void *item, json_t **out, char err[FL_ERR_LEN])
{
	const fl_proto_workload *w = item;
	if (!time_ok(w->created_ms) || !time_ok(w->ended_ms))
		return fl_seterr(err, FL_EINVAL, "workload %.60s '%.200s': created or ended is out of range", w->kind,
		                 w->name);
	json_t *o = json_object();
	if (o == NULL || put_str(o, "uid", w->uid) || put_str(o, "kind", w->kind) ||
	    put_str(o, "api_version", w->api_version) || put_str(o, "namespace", w->ns) ||
	    put_str(o, "name", w->name) || put_str(o, "status", w->status) ||
	    put_int(o, "gpu_request", w->gpu_request) || put_int(o, "pods", w->pods) ||
	    put_real(o, "gpu_utilization", w->utilization, w->has_utilization) ||
	    put_int(o, "created", w->created_ms) || put_int(o, "ended", w->ended_ms) ||
	    put_str(o, "safe_workload_id", w->safe_workload_id)) {
		json_decref(o);
		return fl_seterr(err, FL_EINVAL,
		                 "workload '%.200s': a text field is not UTF-8 or a number is not finite", w->name);
	}
	*out = o;
	return FL_OK;
}

/* The removed pod uids, sorted; FL_EINVAL when the frame also sends one of them. */
static int removed_json(const fl_proto_frame *f, char **out, char err[FL_ERR_LEN])
{
	uint32_t n = f->n_removed_pods;
	const char **uids = n > 0 ? malloc(n * sizeof(*uids)) : NULL;
	if (n > 0 && uids == NULL)
		return fl_seterr(err, FL_ENOMEM, "out of memory");
	for (uint32_t i = 0; i < n; i++)
		uids[i] = f->removed_pods[i].name;
	if (n > 1)
		qsort(uids, n, sizeof(*uids), cmp_str);
	int rv = FL_OK;
	for (uint32_t i = 0; i < f->n_pods && n > 0 && rv == FL_OK; i++) {
		const char *key = f->pods[i].uid;
		if (bsearch(&key, uids, n, sizeof(*uids), cmp_str) != NULL)
			rv = fl_seterr(err, FL_EINVAL, "pod uid '%.100s' is both sent and removed", key);
	}
	json_t *arr = rv == FL_OK ? json_array() : NULL;
	if (rv == FL_OK && arr == NULL)
		rv = fl_seterr(err, FL_ENOMEM, "out of memory");
	for (uint32_t i = 0; i < n && rv == FL_OK; i++) {
		json_t *v = json_string(uids[i]);
		if (v == NULL || json_array_append_new(arr, v) != 0)
			rv = fl_seterr(err, FL_EINVAL, "removed pod uid '%.100s': not UTF-8", uids[i]);
	}
	free(uids);
	if (rv == FL_OK)
		rv = dump(arr, out, err);
	json_decref(arr);
	return rv;
}

int hub_workload_prepare(const fl_proto_frame *f, hub_workload_rows *out, char err[FL_ERR_LEN])
{
	memset(out, 0, sizeof(*out));
	int rv = rows_by_uid(f->pods, f->n_pods, sizeof(*f->pods), offsetof(fl_proto_pod, uid), "pod", pod_row,
	                     &out->pods, err);
	if (rv == FL_OK)
		rv = rows_by_uid(f->workloads, f->n_workloads, sizeof(*f->workloads), offsetof(fl_proto_workload, uid),
		                 "workload", workload_row, &out->workloads, err);
	if (rv == FL_OK)
		rv = removed_json(f, &out->removed, err);
	if (rv != FL_OK)
		hub_workload_rows_free(out);
	return rv;
}

void hub_workload_rows_free(hub_workload_rows *rows)
{
	if (rows == NULL)
		return;
	free(rows->pods);
	free(rows->workloads);
	free(rows->removed);
	memset(rows, 0, sizeof(*rows));
}

/* --- writing ------------------------------------------------------------------------------------------ */

/* $3, $4: the frame's version. A stored row is changed only where its version is older and a fact differs
 * (utilization is a sample, not a fact); created_at keeps the earlier of the stored and the sent time. */
static const char SQL_PODS[] =
    "INSERT INTO gpu_pod (cluster_name, uid, namespace, name, node_name, gpus, phase, running, workload_uid,"
    " created_at, src_sent_ms, src_seq)"
    " SELECT $1, x.uid, x.namespace, x.name, x.node_name, x.gpus, x.phase, x.running, x.workload_uid,"
    " CASE WHEN x.created > 0 THEN to_timestamp(x.created / 1000.0) END, $3::bigint, $4::bigint"
    " FROM jsonb_to_recordset($2::jsonb) AS x(uid text, namespace text, name text, node_name text, gpus bigint,"
    " phase text, running boolean, workload_uid text, created bigint)"
    " ON CONFLICT (cluster_name, uid) DO UPDATE SET namespace = EXCLUDED.namespace, name = EXCLUDED.name,"
    " node_name = EXCLUDED.node_name, gpus = EXCLUDED.gpus, phase = EXCLUDED.phase, running = EXCLUDED.running,"
    " workload_uid = EXCLUDED.workload_uid, created_at = least(gpu_pod.created_at, EXCLUDED.created_at),"
    " src_sent_ms = EXCLUDED.src_sent_ms, src_seq = EXCLUDED.src_seq, updated_at = now()"
    " WHERE (gpu_pod.src_sent_ms, gpu_pod.src_seq) < (EXCLUDED.src_sent_ms, EXCLUDED.src_seq)"
    " AND (gpu_pod.namespace, gpu_pod.name, gpu_pod.node_name, gpu_pod.gpus, gpu_pod.phase, gpu_pod.running,"
    " gpu_pod.workload_uid, gpu_pod.created_at) IS DISTINCT FROM (EXCLUDED.namespace, EXCLUDED.name,"
    " EXCLUDED.node_name, EXCLUDED.gpus, EXCLUDED.phase, EXCLUDED.running, EXCLUDED.workload_uid,"
    " least(gpu_pod.created_at, EXCLUDED.created_at))";

/* A workload's start and end as the rows keep them: a restarted spoke reports its own first sight of a
 * workload (created) and of its end (ended), so the earlier of the stored and the sent time stays; the end
 * only while the status is the same (a workload that runs again and ends anew gets the new end). */
#define WL_CREATED "least(gpu_workload.created_at, EXCLUDED.created_at)"
#define WL_ENDED                                                                                                       \
	"CASE WHEN gpu_workload.status = EXCLUDED.status THEN least(gpu_workload.ended_at, EXCLUDED.ended_at)"         \
	" ELSE EXCLUDED.ended_at END"

/* safe_workload_id: '' when the frame has none (008_safe_workload.sql). As SQL_PODS, with WL_CREATED and
 * WL_ENDED. */
static const char SQL_WORKLOADS[] =
    "INSERT INTO gpu_workload (cluster_name, uid, kind, api_version, namespace, name, status, gpu_request, pods,"
    " created_at, ended_at, safe_workload_id, src_sent_ms, src_seq)"
    " SELECT $1, x.uid, x.kind, x.api_version, x.namespace, x.name, x.status, x.gpu_request, x.pods,"
    " CASE WHEN x.created > 0 THEN to_timestamp(x.created / 1000.0) END,"
    " CASE WHEN x.ended > 0 THEN to_timestamp(x.ended / 1000.0) END, x.safe_workload_id, $3::bigint, $4::bigint"
    " FROM jsonb_to_recordset($2::jsonb) AS x(uid text, kind text, api_version text, namespace text, name text,"
    " status text, gpu_request bigint, pods bigint, created bigint, ended bigint, safe_workload_id text)"
    " ON CONFLICT (cluster_name, uid) DO UPDATE SET kind = EXCLUDED.kind, api_version = EXCLUDED.api_version,"
    " namespace = EXCLUDED.namespace, name = EXCLUDED.name, status = EXCLUDED.status,"
    " gpu_request = EXCLUDED.gpu_request, pods = EXCLUDED.pods, created_at = " WL_CREATED ","
    " ended_at = " WL_ENDED ", safe_workload_id = EXCLUDED.safe_workload_id, src_sent_ms = EXCLUDED.src_sent_ms,"
    " src_seq = EXCLUDED.src_seq, updated_at = now()"
    " WHERE (gpu_workload.src_sent_ms, gpu_workload.src_seq) < (EXCLUDED.src_sent_ms, EXCLUDED.src_seq)"
    " AND (gpu_workload.kind, gpu_workload.api_version, gpu_workload.namespace, gpu_workload.name,"
    " gpu_workload.status, gpu_workload.gpu_request, gpu_workload.pods, gpu_workload.created_at,"
    " gpu_workload.ended_at, gpu_workload.safe_workload_id) IS DISTINCT FROM (EXCLUDED.kind,"
    " EXCLUDED.api_version, EXCLUDED.namespace, EXCLUDED.name, EXCLUDED.status, EXCLUDED.gpu_request,"
    " EXCLUDED.pods, " WL_CREATED ", " WL_ENDED ", EXCLUDED.safe_workload_id)";

/* A full frame, after its upserts: the rows it does not list ($4, text[] of uids; an anti-join, so a
 * large frame costs one hash) and older than it. A listed row keeps its older version when its facts did
 * not change, hence the list. */
static const char SQL_PODS_DELETE_OLDER[] =
    "DELETE FROM gpu_pod p WHERE p.cluster_name = $1 AND (p.src_sent_ms, p.src_seq) < ($2::bigint, $3::bigint)"
    " AND NOT EXISTS (SELECT 1 FROM unnest($4::text[]) AS k(uid) WHERE k.uid = p.uid)";
static const char SQL_WORKLOADS_END_OLDER[] =
    "UPDATE gpu_workload w SET status = 'Deleted', ended_at = to_timestamp($2::bigint / 1000.0), pods = 0,"
    " gpu_request = 0, src_sent_ms = $2::bigint, src_seq = $3::bigint, updated_at = now()"
    " WHERE w.cluster_name = $1 AND w.status IN ('Running', 'Pending')"
    " AND (w.src_sent_ms, w.src_seq) < ($2::bigint, $3::bigint)"
    " AND NOT EXISTS (SELECT 1 FROM unnest($4::text[]) AS k(uid) WHERE k.uid = w.uid)";

/* A delta's removed_pods ($2, a JSON array of uids), where older. */
static const char SQL_PODS_REMOVE[] =
    "DELETE FROM gpu_pod WHERE cluster_name = $1 AND uid IN (SELECT jsonb_array_elements_text($2::jsonb))"
    " AND (src_sent_ms, src_seq) < ($3::bigint, $4::bigint)";

/* The samples at the frame's sent_at ($2, ms): every Running workload carried (NULL figure allowed), with
 * its request and pod count (the rollups read them); every pod carried in phase Running (the spoke
 * measures a pod only then). */
static const char SQL_WORKLOAD_SAMPLES[] =
    "INSERT INTO workload_utilization_history (cluster_name, workload_uid, sampled_at, gpu_utilization, gpu_request,"
    " pods) SELECT $1, x.uid, to_timestamp($2::bigint / 1000.0), x.gpu_utilization, x.gpu_request, x.pods"
    " FROM jsonb_to_recordset($3::jsonb) AS x(uid text, status text, gpu_utilization double precision,"
    " gpu_request bigint, pods bigint)"
    " WHERE x.status = 'Running'";
static const char SQL_POD_SAMPLES[] =
    "INSERT INTO pod_utilization_history (cluster_name, pod_uid, sampled_at, gpu_utilization)"
    " SELECT $1, x.uid, to_timestamp($2::bigint / 1000.0), x.gpu_utilization"
    " FROM jsonb_to_recordset($3::jsonb) AS x(uid text, phase text, gpu_utilization double precision)"
    " WHERE x.phase = 'Running'";

/* Runs a command (hub_sql_exec); *rows: the rows it touched. */
static int exec_count(PGconn *c, const char *sql, int n, const char *const *v, const char *what, int64_t *rows,
                      char err[FL_ERR_LEN])
{
	PGresult *r = NULL;
	int rv = hub_sql_exec(c, sql, n, v, PGRES_COMMAND_OK, &r, what, err);
	if (rv != FL_OK)
		return rv;
	*rows = strtoll(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return FL_OK;
}

/* The text[] literal of the uid strings of the n items of arr (sz bytes each, uid at uid_off), into *out
 * (malloc'd). FL_OK or FL_ENOMEM. */
static int uid_array(const void *arr, uint32_t n, size_t sz, size_t uid_off, char **out, char err[FL_ERR_LEN])
{
	const char **uids = malloc((n > 0 ? n : 1) * sizeof(*uids));
	*out = NULL;
	if (uids != NULL) {
		for (uint32_t i = 0; i < n; i++)
			uids[i] = (const char *)arr + (size_t)i * sz + uid_off;
		*out = hub_sql_text_array(uids, n);
		free(uids);
	}
	return *out != NULL ? FL_OK : fl_seterr(err, FL_ENOMEM, "out of memory");
}

/* A full frame: deletes the pods it does not list and ends the live workloads it does not list, where
 * older than (ver, seq). */
static int end_unlisted(PGconn *c, const fl_proto_frame *f, const char *ver, const char *seq, hub_workload_counts *out,
                        char err[FL_ERR_LEN])
{
	char *pods = NULL, *wls = NULL;
	int rv = uid_array(f->pods, f->n_pods, sizeof(*f->pods), offsetof(fl_proto_pod, uid), &pods, err);
	if (rv == FL_OK)
		rv = uid_array(f->workloads, f->n_workloads, sizeof(*f->workloads), offsetof(fl_proto_workload, uid),
		               &wls, err);
	const char *pv[] = {f->env.cluster, ver, seq, pods};
	const char *wv[] = {f->env.cluster, ver, seq, wls};
	if (rv == FL_OK)
		rv = exec_count(c, SQL_PODS_DELETE_OLDER, 4, pv, "delete gpu_pod", &out->pods_deleted, err);
	if (rv == FL_OK)
		rv = exec_count(c, SQL_WORKLOADS_END_OLDER, 4, wv, "end gpu_workload", &out->workloads_ended, err);
	free(pods);
	free(wls);
	return rv;
}

int hub_workload_write(PGconn *c, const fl_proto_frame *f, const hub_workload_rows *rows, const char *ver,
                       const char *seq, hub_workload_counts *out, char err[FL_ERR_LEN])
{
	memset(out, 0, sizeof(*out));
	const char *cl = f->env.cluster;
	const char *pv[] = {cl, rows->pods, ver, seq};
	const char *wv[] = {cl, rows->workloads, ver, seq};
	const char *rv4[] = {cl, rows->removed, ver, seq};
	int rv = FL_OK;
	if (f->n_pods > 0)
		rv = exec_count(c, SQL_PODS, 4, pv, "upsert gpu_pod", &out->pod_rows, err);
	if (rv == FL_OK && f->n_workloads > 0)
		rv = exec_count(c, SQL_WORKLOADS, 4, wv, "upsert gpu_workload", &out->workload_rows, err);
	if (rv == FL_OK && f->env.kind == FL_FRAME_FULL)
		rv = end_unlisted(c, f, ver, seq, out, err);
	else if (rv == FL_OK && f->n_removed_pods > 0)
		rv = exec_count(c, SQL_PODS_REMOVE, 4, rv4, "delete gpu_pod", &out->pods_deleted, err);
	char ms[24];
	snprintf(ms, sizeof(ms), "%" PRId64, f->env.sent_at_ms);
	const char *hv[] = {cl, ms, rows->workloads};
	const char *sv[] = {cl, ms, rows->pods};
	/* Workload samples first, then pods: the order hub_history_maint's upkeep locks the history tables in. */
	if (rv == FL_OK && f->n_workloads > 0)
		rv = exec_count(c, SQL_WORKLOAD_SAMPLES, 3, hv, "workload samples", &out->history_rows, err);
	if (rv == FL_OK && f->n_pods > 0)
		rv = exec_count(c, SQL_POD_SAMPLES, 3, sv, "pod samples", &out->pod_samples, err);
	return rv;
}
