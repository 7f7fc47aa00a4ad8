/* hub_store.c — the hub's rows in PostgreSQL: cluster rows, the frame transaction, the reads behind the view. */
#include "hub_store.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fl_log.h"
#include "fl_time.h"
#include "hub_history.h"
#include "hub_metrics.h"
#include "hub_sql.h"
#include "hub_workload.h"

/* First key of the per-cluster write lock (two-int4 form, "FLcw"); the second is hashtext(cluster). */
#define HUB_CLUSTER_LOCK_CLASS "1179411319"

struct hub_store {
	PGconn *conn;
	char conninfo[HUB_DBURL_LEN];
};

static void notice_to_log(void *arg, const char *message)
{
	(void)arg;
	size_t n = strlen(message);
	fl_debug("postgres: %.*s", (int)(n > 0 && message[n - 1] == '\n' ? n - 1 : n), message);
}

hub_store *hub_store_new(const char *conninfo)
{
	if (strlen(conninfo) >= HUB_DBURL_LEN)
		return NULL;
	hub_store *s = calloc(1, sizeof(*s));
	if (s != NULL)
		snprintf(s->conninfo, sizeof(s->conninfo), "%s", conninfo);
	return s;
}

void hub_store_free(hub_store *s)
{
	if (s == NULL)
		return;
	if (s->conn != NULL)
		PQfinish(s->conn);
	free(s);
}

int hub_store_connect(hub_store *s, char err[FL_ERR_LEN])
{
	bool fresh = s->conn == NULL;
	int rv = hub_sql_connect(&s->conn, s->conninfo, "fleetlens-hub", NULL);
	if (rv == FL_ENOMEM)
		return fl_seterr(err, FL_EDB, "connect: out of memory");
	if (fresh)
		PQsetNoticeProcessor(s->conn, notice_to_log, NULL);
	if (rv != FL_OK) {
		hub_metrics_add(HUB_M_DB_ERRORS, 1);
		return hub_sql_fail(s->conn, NULL, "connect", err);
	}
	return FL_OK;
}

int hub_store_connect_retry(hub_store *s, int64_t max_ms, char err[FL_ERR_LEN])
{
	int64_t deadline = fl_mono_ms() + max_ms;
	int64_t delay = 500;
	for (int attempt = 1;; attempt++) {
		int rv = hub_store_connect(s, err);
		if (rv == FL_OK)
			return FL_OK;
		int64_t left = deadline - fl_mono_ms();
		if (left <= 0)
			return rv;
		fl_warn("database: attempt %d failed (%s); retrying in %lld ms", attempt, err,
		        (long long)(delay < left ? delay : left));
		int64_t d = delay < left ? delay : left;
		struct timespec ts = {.tv_sec = d / 1000, .tv_nsec = (d % 1000) * 1000000};
		nanosleep(&ts, NULL);
		delay = delay * 2 > 5000 ? 5000 : delay * 2;
	}
}

int hub_store_exec(hub_store *s, const char *what, const char *sql, int n, const char *const *vals, ExecStatusType want,
                   PGresult **out, char err[FL_ERR_LEN])
{
	if (out != NULL)
		*out = NULL;
	PGresult *r = PQexecParams(s->conn, sql, n, NULL, vals, NULL, NULL, 0);
	if (r == NULL || PQresultStatus(r) != want) {
		hub_metrics_add(HUB_M_DB_ERRORS, 1);
		return hub_sql_fail(s->conn, r, what, err);
	}
	if (out != NULL)
		*out = r;
	else
		PQclear(r);
	return FL_OK;
}

int hub_store_exec_script(hub_store *s, const char *what, const char *sql, char err[FL_ERR_LEN])
{
	PGresult *r = PQexec(s->conn, sql);
	if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK) {
		hub_metrics_add(HUB_M_DB_ERRORS, 1);
		return hub_sql_fail(s->conn, r, what, err);
	}
	PQclear(r);
	return FL_OK;
}

static int cmd(hub_store *s, const char *what, const char *sql, int n, const char *const *vals, char err[FL_ERR_LEN])
{
	return hub_store_exec(s, what, sql, n, vals, PGRES_COMMAND_OK, NULL, err);
}

void hub_store_rollback(hub_store *s)
{
	if (PQtransactionStatus(s->conn) == PQTRANS_IDLE || PQstatus(s->conn) != CONNECTION_OK)
		return;
	PGresult *r = PQexec(s->conn, "ROLLBACK");
	PQclear(r);
}

int hub_store_ready(hub_store *s, const json_t *versions, char err[FL_ERR_LEN])
{
	int rv = hub_store_connect(s, err);
	if (rv != FL_OK)
		return rv;
	char *text = json_dumps(versions, JSON_COMPACT);
	if (text == NULL)
		return fl_seterr(err, FL_ENOMEM, "out of memory");
	const char *v[] = {text};
	PGresult *r = NULL;
	rv = hub_store_exec(s, "readiness",
	                    "SELECT (SELECT count(*) FROM schema_migrations"
	                    " WHERE version IN (SELECT jsonb_array_elements_text($1::jsonb)))"
	                    " = jsonb_array_length($1::jsonb)",
	                    1, v, PGRES_TUPLES_OK, &r, err);
	free(text);
	if (rv != FL_OK)
		return rv;
	bool ok = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	return ok ? FL_OK : fl_seterr(err, FL_EDB, "migrations are not all applied");
}

/* --- cluster rows -------------------------------------------------------------------------------- */

int hub_store_register_clusters(hub_store *s, const hub_config *cfg, char err[FL_ERR_LEN])
{
	int rv = hub_store_connect(s, err);
	if (rv != FL_OK)
		return rv;
	json_t *rows = json_array();
	for (size_t i = 0; rows != NULL && i < cfg->n_clusters; i++) {
		json_t *labels = hub_config_labels_json(&cfg->clusters[i]);
		if (labels == NULL || json_array_append_new(rows, json_pack("{s:s,s:o}", "name", cfg->clusters[i].name,
		                                                            "labels", labels)) != 0) {
			json_decref(rows);
			rows = NULL;
		}
	}
	char *text = rows != NULL ? json_dumps(rows, JSON_COMPACT) : NULL;
	json_decref(rows);
	if (text == NULL)
		return fl_seterr(err, FL_ENOMEM, "out of memory");
	const char *v[] = {text};
	rv = cmd(
	    s, "register clusters",
	    "INSERT INTO cluster (name, labels)"
	    " SELECT x.name, coalesce(x.labels, '{}') FROM jsonb_to_recordset($1::jsonb) AS x(name text, labels jsonb)"
	    " ON CONFLICT (name) DO UPDATE SET labels = EXCLUDED.labels, updated_at = now()"
	    " WHERE cluster.labels IS DISTINCT FROM EXCLUDED.labels",
	    1, v, err);
	free(text);
	return rv;
}

static int64_t int_or(PGresult *r, int row, int col, int64_t def)
{
	return PQgetisnull(r, row, col) ? def : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

int hub_store_load_state(hub_store *s, hub_registry *reg, char err[FL_ERR_LEN])
{
	int rv = hub_store_connect(s, err);
	if (rv != FL_OK)
		return rv;
	PGresult *r = NULL;
	rv = hub_store_exec(
	    s, "load cluster state",
	    "SELECT c.name, (extract(epoch FROM c.last_frame_at) * 1000)::bigint, c.spoke_id, c.last_seq,"
	    " c.k8s_version, c.spoke_version, o.healthy_nodes, o.faulty_nodes, o.cluster_name IS NOT NULL,"
	    " c.src_sent_ms"
	    " FROM cluster c LEFT JOIN cluster_overview_cache o ON o.cluster_name = c.name",
	    0, NULL, PGRES_TUPLES_OK, &r, err);
	if (rv != FL_OK)
		return rv;
	for (int row = 0; row < PQntuples(r); row++) {
		int i = hub_registry_find(reg, PQgetvalue(r, row, 0));
		if (i < 0)
			continue;
		hub_cluster_state st;
		memset(&st, 0, sizeof(st));
		st.last_frame_ms = int_or(r, row, 1, 0);
		snprintf(st.spoke_id, sizeof(st.spoke_id), "%s", PQgetvalue(r, row, 2));
		st.last_seq = (uint64_t)int_or(r, row, 3, 0);
		snprintf(st.k8s_version, sizeof(st.k8s_version), "%s", PQgetvalue(r, row, 4));
		snprintf(st.spoke_version, sizeof(st.spoke_version), "%s", PQgetvalue(r, row, 5));
		st.healthy_nodes = int_or(r, row, 6, 0);
		st.faulty_nodes = int_or(r, row, 7, 0);
		st.has_overview = strcmp(PQgetvalue(r, row, 8), "t") == 0;
		st.version_ms = int_or(r, row, 9, 0);
		hub_registry_set(reg, (size_t)i, &st);
	}
	PQclear(r);
	return FL_OK;
}

/* --- writing a frame ----------------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Adds key: string to o; -1 if s is not valid UTF-8 (or memory ran out). */
static int put_str(json_t *o, const char *key, const char *s)
{
	json_t *v = json_string(s);
	return v == NULL ? -1 : json_object_set_new(o, key, v);
}

/* Appends string s to array a; -1 if s is not valid UTF-8 (or memory ran out). */
static int put_str_item(json_t *a, const char *s)
{
	json_t *v = json_string(s);
	return v == NULL ? -1 : json_array_append_new(a, v);
}

static int put_int(json_t *o, const char *key, int64_t x)
{
	return json_object_set_new(o, key, json_integer((json_int_t)x));
}

static bool fits_int32(int64_t x)
{
	return x >= 0 && x <= INT32_MAX;
}

/* f's nodes sorted by name and GPUs by (node, gpu_id): the order concurrent writers lock rows in. */
typedef struct sorted_rows {
	const fl_proto_node **nodes; /* f->n_nodes */
	const fl_proto_gpu **gpus;   /* f->n_gpus */
} sorted_rows;

static void sorted_free(sorted_rows *x)
{
	free(x->nodes);
	free(x->gpus);
}

/* Sorts f's rows into x; FL_EINVAL names a node or GPU key that repeats, or a count beyond int. */
static int sort_rows(const fl_proto_frame *f, sorted_rows *x, char err[FL_ERR_LEN])
{
	x->nodes = malloc(((size_t)f->n_nodes + 1) * sizeof(*x->nodes));
	x->gpus = malloc(((size_t)f->n_gpus + 1) * sizeof(*x->gpus));
	if (x->nodes == NULL || x->gpus == NULL)
		return fl_seterr(err, FL_ENOMEM, "out of memory");
	for (uint32_t i = 0; i < f->n_nodes; i++)
		x->nodes[i] = &f->nodes[i];
	for (uint32_t i = 0; i < f->n_gpus; i++)
		x->gpus[i] = &f->gpus[i];
	qsort(x->nodes, f->n_nodes, sizeof(*x->nodes), fl_proto_node_ptr_cmp);
	qsort(x->gpus, f->n_gpus, sizeof(*x->gpus), fl_proto_gpu_ptr_cmp);
	for (uint32_t i = 0; i < f->n_nodes; i++) {
		const fl_proto_node *n = x->nodes[i];
		if (i > 0 && strcmp(x->nodes[i - 1]->name, n->name) == 0)
			return fl_seterr(err, FL_EINVAL, "node '%s' appears twice in the frame", n->name);
		if (!fits_int32(n->gpu_count) || !fits_int32(n->gpu_allocation))
			return fl_seterr(err, FL_EINVAL, "node '%s': gpu_count/gpu_allocation out of range", n->name);
	}
	for (uint32_t i = 1; i < f->n_gpus; i++)
		if (fl_proto_gpu_ptr_cmp(&x->gpus[i - 1], &x->gpus[i]) == 0)
			return fl_seterr(err, FL_EINVAL, "GPU %d of node '%s' appears twice in the frame",
			                 (int)x->gpus[i]->gpu_id, x->gpus[i]->node);
	return FL_OK;
}

/* The facts of node n as a JSON object (the SQL_NODES record), or NULL (a text field is not UTF-8, or
 * memory ran out). */
static json_t *node_facts(const fl_proto_node *n)
{
	json_t *taints = json_array();
	for (uint32_t t = 0; taints != NULL && t < n->n_taints; t++) {
		json_t *tj = json_object();
		if (tj == NULL || put_str(tj, "key", n->taints[t].key) || put_str(tj, "value", n->taints[t].value) ||
		    put_str(tj, "effect", n->taints[t].effect) || json_array_append_new(taints, tj)) {
			json_decref(tj);
			json_decref(taints);
			taints = NULL;
		}
	}
	json_t *o = json_object();
	if (taints == NULL || o == NULL || put_str(o, "name", n->name) || put_str(o, "address", n->ip) ||
	    put_str(o, "gpu_name", n->gpu_name) || put_int(o, "gpu_count", n->gpu_count) ||
	    put_int(o, "gpu_allocation", n->gpu_allocation) || put_str(o, "status", n->status) ||
	    json_object_set_new(o, "unschedulable", json_boolean(n->unschedulable)) ||
	    json_object_set_new(o, "faulty", json_boolean(n->faulty)) || json_object_set(o, "taints", taints) ||
	    put_int(o, "cpu_millis", n->cpu_millis) || put_int(o, "memory_bytes", n->memory_bytes) ||
	    put_str(o, "kubelet_version", n->kubelet_version) || put_str(o, "os_image", n->os_image) ||
	    put_str(o, "kernel_version", n->kernel_version) || put_str(o, "container_runtime", n->container_runtime)) {
		json_decref(o);
		o = NULL;
	}
	json_decref(taints);
	return o;
}

/* The node rows to upsert as a JSON array in name order: every node of x, or with view only those whose
 * facts differ from the view's record (a node the view lacks included). *sent counts them. */
static int nodes_json(const sorted_rows *x, uint32_t n, const hub_view_snap *view, char **out, int64_t *sent,
                      char err[FL_ERR_LEN])
{
	*sent = 0;
	json_t *arr = json_array();
	int rv = arr != NULL ? FL_OK : fl_seterr(err, FL_ENOMEM, "out of memory");
	for (uint32_t i = 0; i < n && rv == FL_OK; i++) {
		const fl_proto_node *nd = x->nodes[i];
		const hub_view_node *vn = view != NULL ? hub_view_snap_find(view, nd->name) : NULL;
		if (vn != NULL && hub_view_node_facts_equal(vn, nd))
			continue;
		json_t *o = node_facts(nd);
		if (o == NULL || json_array_append_new(arr, o) != 0)
			rv = fl_seterr(err, FL_EINVAL, "node '%.200s': a text field is not UTF-8", nd->name);
		(*sent)++;
	}
	if (rv == FL_OK && (*out = json_dumps(arr, JSON_COMPACT)) == NULL)
		rv = fl_seterr(err, FL_ENOMEM, "out of memory");
	json_decref(arr);
	return rv;
}

/* The GPU rows to upsert as a JSON array in (node, gpu_id) order: every GPU of x, or with view only those
 * whose facts differ from the view's (a GPU or node the view lacks included). */
static int gpus_json(const sorted_rows *x, uint32_t n, const hub_view_snap *view, char **out, char err[FL_ERR_LEN])
{
	json_t *arr = json_array();
	int rv = arr != NULL ? FL_OK : fl_seterr(err, FL_ENOMEM, "out of memory");
	const hub_view_node *vn = NULL; /* the view's record of x->gpus[i]->node (GPUs come grouped by node) */
	for (uint32_t i = 0; i < n && rv == FL_OK; i++) {
		const fl_proto_gpu *g = x->gpus[i];
		if (view != NULL && (i == 0 || strcmp(x->gpus[i - 1]->node, g->node) != 0))
			vn = hub_view_snap_find(view, g->node);
		if (vn != NULL && hub_view_gpu_facts_equal(vn, g))
			continue;
		json_t *o = json_object();
		if (o == NULL || put_str(o, "node_name", g->node) || put_int(o, "gpu_id", g->gpu_id) ||
		    put_str(o, "gpu_model", g->gpu_model) || put_int(o, "memory", g->memory_mib) ||
		    put_str(o, "serial", g->serial) || put_int(o, "numa", g->numa) || json_array_append(arr, o))
			rv = fl_seterr(err, FL_EINVAL, "GPU %d of node '%.200s': a text field is not UTF-8",
			               (int)g->gpu_id, g->node);
		json_decref(o);
	}
	if (rv == FL_OK && (*out = json_dumps(arr, JSON_COMPACT)) == NULL)
		rv = fl_seterr(err, FL_ENOMEM, "out of memory");
	json_decref(arr);
	return rv;
}

/* A full frame's keys: *names the JSON array of its node names, *gpus that of its GPUs' {node_name,
 * gpu_id}; what its clean-up keeps. */
static int listed_json(const sorted_rows *x, const fl_proto_frame *f, char **names, char **gpus, char err[FL_ERR_LEN])
{
	json_t *na = json_array(), *ga = json_array();
	int rv = na != NULL && ga != NULL ? FL_OK : fl_seterr(err, FL_ENOMEM, "out of memory");
	for (uint32_t i = 0; i < f->n_nodes && rv == FL_OK; i++)
		if (put_str_item(na, x->nodes[i]->name) != 0)
			rv = fl_seterr(err, FL_EINVAL, "node '%.200s': not UTF-8", x->nodes[i]->name);
	for (uint32_t i = 0; i < f->n_gpus && rv == FL_OK; i++) {
		json_t *o = json_object();
		if (o == NULL || put_str(o, "node_name", x->gpus[i]->node) ||
		    put_int(o, "gpu_id", x->gpus[i]->gpu_id) || json_array_append(ga, o) != 0)
			rv = fl_seterr(err, FL_EINVAL, "GPU of node '%.200s': not UTF-8", x->gpus[i]->node);
		json_decref(o);
	}
	if (rv == FL_OK &&
	    ((*names = json_dumps(na, JSON_COMPACT)) == NULL || (*gpus = json_dumps(ga, JSON_COMPACT)) == NULL))
		rv = fl_seterr(err, FL_ENOMEM, "out of memory");
	json_decref(na);
	json_decref(ga);
	return rv;
}

/* Builds the removed node names of f as a JSON array of strings sorted by name, and checks the frame does
 * not also carry a node or GPU it removes (FL_EINVAL: which one wins would depend on statement order). */
static int removed_json(const fl_proto_frame *f, char **out, char err[FL_ERR_LEN])
{
	*out = NULL;
	uint32_t n = f->n_removed_nodes;
	const char **names = n > 0 ? malloc(n * sizeof(*names)) : NULL;
	if (n > 0 && names == NULL)
		return fl_seterr(err, FL_ENOMEM, "out of memory");
	for (uint32_t i = 0; i < n; i++)
		names[i] = f->removed_nodes[i].name;
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_str);
	int rv = FL_OK;
	for (uint32_t i = 0; i < f->n_nodes && rv == FL_OK && n > 0; i++) {
		const char *key = f->nodes[i].name;
		if (bsearch(&key, names, n, sizeof(*names), cmp_str) != NULL)
			rv = fl_seterr(err, FL_EINVAL, "node '%.200s' is both sent and removed", key);
	}
	for (uint32_t i = 0; i < f->n_gpus && rv == FL_OK && n > 0; i++) {
		const char *key = f->gpus[i].node;
		if (bsearch(&key, names, n, sizeof(*names), cmp_str) != NULL)
			rv = fl_seterr(err, FL_EINVAL, "GPU %d of node '%.200s' is sent, but the node is removed",
			               (int)f->gpus[i].gpu_id, key);
	}
	json_t *arr = rv == FL_OK ? json_array() : NULL;
	if (rv == FL_OK && arr == NULL)
		rv = fl_seterr(err, FL_ENOMEM, "out of memory");
	for (uint32_t i = 0; i < n && rv == FL_OK; i++)
		if (put_str_item(arr, names[i]) != 0)
			rv = fl_seterr(err, FL_EINVAL, "removed node '%.200s': not UTF-8", names[i]);
	free(names);
	if (rv == FL_OK && (*out = json_dumps(arr, JSON_COMPACT)) == NULL)
		rv = fl_seterr(err, FL_ENOMEM, "out of memory");
	json_decref(arr);
	return rv;
}

static int64_t affected(PGresult *r)
{
	return strtoll(PQcmdTuples(r), NULL, 10);
}

/* Serializes the writers of one cluster (every hub, every worker) until COMMIT or ROLLBACK: the two-int
 * form of the advisory lock, so it never meets the migration lock's bigint key. */
static const char SQL_CLUSTER_LOCK[] = "SELECT pg_advisory_xact_lock(" HUB_CLUSTER_LOCK_CLASS ", hashtext($1))";

/* The cluster's newest frame and the highest committed seq of the frame's spoke stream. */
static const char SQL_PRIOR[] =
    "SELECT c.spoke_id, c.last_seq, c.src_sent_ms, c.src_seq, l.seq, l.version_ms, c.full_sent_ms, c.full_seq,"
    " c.rows_gen FROM cluster c"
    " LEFT JOIN LATERAL (SELECT seq, version_ms FROM ingest_log WHERE cluster_name = c.name AND spoke_id = $2"
    " ORDER BY seq DESC LIMIT 1) l ON true WHERE c.name = $1";

/* A frame older than the cluster's newest only moves last_frame_at (the cluster is alive), and rows_gen
 * by $3 (1 when it wrote rows). */
static const char SQL_CLUSTER_ALIVE[] =
    "UPDATE cluster SET last_frame_at = GREATEST(last_frame_at, to_timestamp($2::bigint / 1000.0)),"
    " rows_gen = rows_gen + $3::int WHERE name = $1";

/* The cluster's newest frame: its stream, version and facts; rows_gen moves by $10 (1 when it wrote rows). */
static const char SQL_CLUSTER_NEWEST[] =
    "UPDATE cluster SET rows_gen = rows_gen + $10::int,"
    " k8s_version = coalesce($2, k8s_version), spoke_version = coalesce($3, spoke_version),"
    " source = coalesce($4, source), spoke_id = $5, last_seq = $6::bigint, src_seq = $6::bigint,"
    " last_frame_at = GREATEST(last_frame_at, to_timestamp($7::bigint / 1000.0)),"
    " last_sent_at = to_timestamp($8::bigint / 1000.0), src_sent_ms = $9::bigint, updated_at = now()"
    " WHERE name = $1";

/* A full frame newer than the cluster's newest full frame (decided under the lock). */
static const char SQL_CLUSTER_FULL[] =
    "UPDATE cluster SET full_sent_ms = $2::bigint, full_seq = $3::bigint WHERE name = $1";

static const char SQL_INGEST_LOG[] =
    "INSERT INTO ingest_log (cluster_name, spoke_id, seq, kind, sent_at, version_ms, received_at, node_rows)"
    " VALUES ($1, $2, $3::bigint, $4, to_timestamp($5::bigint / 1000.0), $6::bigint,"
    " to_timestamp($7::bigint / 1000.0), $8::int) ON CONFLICT DO NOTHING";

/* The facts of a node and of a GPU row: what a write compares; everything else in them is key or version. */
#define NODE_FACTS(t)                                                                                                  \
	t "address, " t "gpu_name, " t "gpu_count, " t "gpu_allocation, " t "status, " t "unschedulable, " t           \
	  "faulty, " t "taints, " t "cpu_millis, " t "memory_bytes, " t "kubelet_version, " t "os_image, " t           \
	  "kernel_version, " t "container_runtime"
#define GPU_FACTS(t) t "gpu_model, " t "memory, " t "serial, " t "numa"

/* $3, $4: the frame's version. A row is changed only where its stored version is older and a fact
 * differs: a node sent needlessly writes nothing, and keeps its version. */
static const char SQL_NODES[] = "INSERT INTO node (cluster_name, name, " NODE_FACTS(
    "") ", src_sent_ms, src_seq)"
        " SELECT $1, x.*, $3::bigint, $4::bigint FROM jsonb_to_recordset($2::jsonb) AS x(name text, address text,"
        " gpu_name text, gpu_count int, gpu_allocation int, status text,"
        " unschedulable boolean, faulty boolean, taints jsonb, cpu_millis bigint, memory_bytes bigint,"
        " kubelet_version text, os_image text, kernel_version text, container_runtime text)"
        " ON CONFLICT (cluster_name, name) DO UPDATE SET (" NODE_FACTS(
            "") ", src_sent_ms, src_seq, updated_at)"
                " = (" NODE_FACTS(
                    "EXCLUDED.") ", EXCLUDED.src_sent_ms, EXCLUDED.src_seq, now())"
                                 " WHERE (node.src_sent_ms, node.src_seq) < (EXCLUDED.src_sent_ms, EXCLUDED.src_seq)"
                                 " AND (" NODE_FACTS("node.") ") IS DISTINCT FROM (" NODE_FACTS("EXCLUDED.") ")";

static const char SQL_GPUS[] = "INSERT INTO gpu_device (cluster_name, node_name, gpu_id, " GPU_FACTS(
    "") ", src_sent_ms, src_seq)"
        " SELECT $1, x.*, $3::bigint, $4::bigint FROM jsonb_to_recordset($2::jsonb) AS x(node_name text, gpu_id int,"
        " gpu_model text, memory bigint, serial text, numa int)"
        " ON CONFLICT (cluster_name, node_name, gpu_id) DO UPDATE SET (" GPU_FACTS(
            "") ", src_sent_ms, src_seq,"
                " updated_at) = (" GPU_FACTS(
                    "EXCLUDED.") ", EXCLUDED.src_sent_ms, EXCLUDED.src_seq, now())"
                                 " WHERE (gpu_device.src_sent_ms, gpu_device.src_seq) < (EXCLUDED.src_sent_ms, "
                                 "EXCLUDED.src_seq)"
                                 " AND (" GPU_FACTS("gpu_device.") ") IS DISTINCT FROM (" GPU_FACTS("EXCLUDED.") ")";

/* A full frame ($2: the JSON array of the node names it lists, or of its GPUs' {node_name, gpu_id}): the
 * cluster's rows it does not list, where older than the frame (a row a newer frame wrote stays). A row
 * whose facts did not change keeps its older version, so "older" alone no longer means "not listed"; and
 * a GPU goes only with its node (this frame lists the node, or the node's row is gone): an unlisted node
 * a newer frame wrote keeps its GPUs, however old their facts. Run after the node delete; $5 the names. */
static const char SQL_NODES_DELETE_UNLISTED[] =
    "DELETE FROM node WHERE cluster_name = $1 AND (src_sent_ms, src_seq) < ($3::bigint, $4::bigint)"
    " AND name NOT IN (SELECT jsonb_array_elements_text($2::jsonb))";
static const char SQL_GPUS_DELETE_UNLISTED[] =
    "DELETE FROM gpu_device g WHERE g.cluster_name = $1 AND (g.src_sent_ms, g.src_seq) < ($3::bigint, $4::bigint)"
    " AND NOT EXISTS (SELECT 1 FROM jsonb_to_recordset($2::jsonb) AS x(node_name text, gpu_id int)"
    " WHERE x.node_name = g.node_name AND x.gpu_id = g.gpu_id)"
    " AND (g.node_name IN (SELECT jsonb_array_elements_text($5::jsonb))"
    " OR NOT EXISTS (SELECT 1 FROM node n WHERE n.cluster_name = $1 AND n.name = g.node_name))";

/* A delta's removed_nodes ($2, a JSON array of names): the nodes where older, then the GPUs of those names
 * whose node row is gone, where older. */
static const char SQL_NODES_REMOVE[] =
    "DELETE FROM node WHERE cluster_name = $1 AND name IN (SELECT jsonb_array_elements_text($2::jsonb))"
    " AND (src_sent_ms, src_seq) < ($3::bigint, $4::bigint)";
static const char SQL_GPUS_REMOVE[] =
    "DELETE FROM gpu_device g WHERE g.cluster_name = $1 AND g.node_name IN (SELECT "
    "jsonb_array_elements_text($2::jsonb))"
    " AND (g.src_sent_ms, g.src_seq) < ($3::bigint, $4::bigint)"
    " AND NOT EXISTS (SELECT 1 FROM node n WHERE n.cluster_name = $1 AND n.name = g.node_name)";

#define OVERVIEW_COLUMNS                                                                                               \
	"total_nodes, healthy_nodes, faulty_nodes, fully_idle_nodes, partially_idle_nodes, busy_nodes,"                \
	" allocation_rate, utilization, gpus_allocatable, gpus_allocated, total_space, used_space,"                    \
	" usage_percentage, total_inodes, used_inodes, inodes_usage_percentage, read_bandwidth, write_bandwidth,"      \
	" total_tx, total_rx"

static const char SQL_OVERVIEW[] =
    "INSERT INTO cluster_overview_cache (cluster_name, " OVERVIEW_COLUMNS ", src_sent_ms, src_seq, unknown)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,"
    " $22::bigint, $23::bigint, $24::text[])"
    " ON CONFLICT (cluster_name) DO UPDATE SET total_nodes = EXCLUDED.total_nodes,"
    " healthy_nodes = EXCLUDED.healthy_nodes, faulty_nodes = EXCLUDED.faulty_nodes,"
    " fully_idle_nodes = EXCLUDED.fully_idle_nodes, partially_idle_nodes = EXCLUDED.partially_idle_nodes,"
    " busy_nodes = EXCLUDED.busy_nodes, allocation_rate = EXCLUDED.allocation_rate,"
    " utilization = EXCLUDED.utilization, gpus_allocatable = EXCLUDED.gpus_allocatable,"
    " gpus_allocated = EXCLUDED.gpus_allocated, total_space = EXCLUDED.total_space,"
    " used_space = EXCLUDED.used_space, usage_percentage = EXCLUDED.usage_percentage,"
    " total_inodes = EXCLUDED.total_inodes, used_inodes = EXCLUDED.used_inodes,"
    " inodes_usage_percentage = EXCLUDED.inodes_usage_percentage, read_bandwidth = EXCLUDED.read_bandwidth,"
    " write_bandwidth = EXCLUDED.write_bandwidth, total_tx = EXCLUDED.total_tx, total_rx = EXCLUDED.total_rx,"
    " src_sent_ms = EXCLUDED.src_sent_ms, src_seq = EXCLUDED.src_seq, unknown = EXCLUDED.unknown,"
    " updated_at = now()"
    " WHERE (cluster_overview_cache.src_sent_ms, cluster_overview_cache.src_seq)"
    " < (EXCLUDED.src_sent_ms, EXCLUDED.src_seq)";

/* One cluster_sample_history row: $2 allocatable, $3 allocated, $4 rate, $5 utilization (NULL when unknown),
 * at the frame's sent_at ($6, ms). */
static const char SQL_CLUSTER_SAMPLE[] =
    "INSERT INTO cluster_sample_history (cluster_name, sampled_at, gpus_allocatable, gpus_allocated,"
    " allocation_rate, utilization) VALUES ($1, to_timestamp($6::bigint / 1000.0), $2, $3, $4, $5)";

/* Deletes at most $2 ingest_log rows received before $1 (ms), oldest first by the received_at index. */
static const char SQL_PRUNE[] =
    "DELETE FROM ingest_log l USING (SELECT cluster_name, spoke_id, seq FROM ingest_log"
    " WHERE received_at < to_timestamp($1::bigint / 1000.0) ORDER BY received_at LIMIT $2::int) o"
    " WHERE l.cluster_name = o.cluster_name AND l.spoke_id = o.spoke_id AND l.seq = o.seq";

/* The overview's 20 values as text parameters, in OVERVIEW_COLUMNS order. */
static int overview_params(const fl_proto_overview *o, char txt[20][32], char err[FL_ERR_LEN])
{
	const int64_t ints[] = {o->total_nodes,      o->healthy_nodes,        o->faulty_nodes,
	                        o->fully_idle_nodes, o->partially_idle_nodes, o->busy_nodes};
	const double reals[] = {o->total_space,    o->used_space,      o->usage_percentage,
	                        o->total_inodes,   o->used_inodes,     o->inodes_usage_percentage,
	                        o->read_bandwidth, o->write_bandwidth, o->total_tx,
	                        o->total_rx};
	for (int i = 0; i < 6; i++) {
		if (!fits_int32(ints[i]))
			return fl_seterr(err, FL_EINVAL, "overview: a node count is out of range");
		snprintf(txt[i], 32, "%" PRId64, ints[i]);
	}
	if (!isfinite(o->allocation_rate) || !isfinite(o->utilization) || !fits_int32(o->gpus_allocatable) ||
	    !fits_int32(o->gpus_allocated))
		return fl_seterr(err, FL_EINVAL, "overview: a rate or GPU count is out of range");
	snprintf(txt[6], 32, "%.17g", o->allocation_rate);
	snprintf(txt[7], 32, "%.17g", o->utilization);
	snprintf(txt[8], 32, "%" PRId64, o->gpus_allocatable);
	snprintf(txt[9], 32, "%" PRId64, o->gpus_allocated);
	for (int i = 0; i < 10; i++) {
		if (!isfinite(reals[i]))
			return fl_seterr(err, FL_EINVAL, "overview: a storage or network figure is not finite");
		snprintf(txt[10 + i], 32, "%.17g", reals[i]);
	}
	return FL_OK;
}

/* The OVERVIEW_COLUMNS index (0-based) of unknown figure bit i (fl_proto.h FL_OV_*): utilization is
 * column 7, total_space .. total_rx are columns 10 .. 19 in figure order. */
static int unknown_column(uint32_t i)
{
	return i == 0 ? 7 : 9 + (int)i;
}

/* The overview's unknown figures as a PostgreSQL text[] literal ("{utilization,total_tx}") into out,
 * and NULL (no value) for each of them in params (the 20 OVERVIEW_COLUMNS parameters). */
static void overview_unknown_params(const fl_proto_overview *o, const char *params[20], char out[320])
{
	size_t at = 0;
	out[at++] = '{';
	for (uint32_t i = 0; i < FL_OV_FIGURES; i++) {
		if (((o->unknown >> i) & 1u) == 0)
			continue;
		/* 11 names of at most 23 bytes and their commas fit 320 bytes */
		at += (size_t)snprintf(out + at, 320 - at, "%s%s", at > 1 ? "," : "",
		                       fl_proto_overview_figure_name(1u << i));
		params[unknown_column(i)] = NULL;
	}
	snprintf(out + at, 320 - at, "}");
}

/* Reads the unknown list (column `col`, "a,b" from array_to_string) of an overview row into o. */
static void overview_unknown_from_row(PGresult *r, int row, int col, fl_proto_overview *o)
{
	if (col >= PQnfields(r) || PQgetisnull(r, row, col))
		return;
	const char *p = PQgetvalue(r, row, col);
	while (*p != '\0') {
		size_t n = strcspn(p, ",");
		o->unknown |= fl_proto_overview_figure_parse(p, n);
		p += n + (p[n] == ',');
	}
}

/* Reads what the database knows before f (under the cluster lock) into *p; full_seen is the caller's.
 * FL_OK, or FL_EDB (also when the cluster has no row: it was not registered by this configuration). */
static int read_prior(hub_store *s, const fl_proto_frame *f, hub_seq_prior *p, int64_t *newest_seq, int64_t *rows_gen,
                      char err[FL_ERR_LEN])
{
	const char *v[] = {f->env.cluster, f->env.spoke_id};
	PGresult *r = NULL;
	int rv = hub_store_exec(s, "read cluster state", SQL_PRIOR, 2, v, PGRES_TUPLES_OK, &r, err);
	if (rv != FL_OK)
		return rv;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return fl_seterr(err, FL_EDB, "cluster '%s' has no row in the database", f->env.cluster);
	}
	p->cluster_seen = !PQgetisnull(r, 0, 2);
	snprintf(p->newest_spoke, sizeof(p->newest_spoke), "%s", PQgetvalue(r, 0, 0));
	p->newest_version_ms = int_or(r, 0, 2, 0);
	*newest_seq = int_or(r, 0, 3, 0);
	p->spoke_last_seq = (uint64_t)int_or(r, 0, 4, 0);
	p->spoke_version_ms = int_or(r, 0, 5, 0);
	p->full_known = !PQgetisnull(r, 0, 6);
	p->full_version_ms = int_or(r, 0, 6, 0);
	p->full_seq = (uint64_t)int_or(r, 0, 7, 0);
	*rows_gen = int_or(r, 0, 8, 0);
	/* The cluster row also remembers its newest stream, should its ingest_log rows have been pruned. */
	uint64_t cluster_seq = (uint64_t)int_or(r, 0, 1, 0);
	if (strcmp(p->newest_spoke, f->env.spoke_id) == 0 && cluster_seq > p->spoke_last_seq) {
		p->spoke_last_seq = cluster_seq;
		p->spoke_version_ms = p->newest_version_ms;
	}
	PQclear(r);
	return FL_OK;
}

/* What a frame sends besides its overview: the rows to upsert, what a full frame lists, what a delta
 * removes (JSON texts, malloc'd). */
typedef struct frame_rows {
	char *nodes, *gpus;               /* rows to upsert: all, or those whose facts differ from the view */
	char *listed_nodes, *listed_gpus; /* a full frame's keys */
	char *removed;                    /* a delta's removed_nodes */
	bool diffed;                      /* nodes and gpus hold only what differs from opts->view */
	int64_t nodes_sent;
} frame_rows;

static void frame_rows_free(frame_rows *fr)
{
	free(fr->nodes);
	free(fr->gpus);
	free(fr->listed_nodes);
	free(fr->listed_gpus);
	free(fr->removed);
}

/* (Re)builds the rows to upsert: against view (diffed) or all of them (view NULL). */
static int build_upserts(const fl_proto_frame *f, const sorted_rows *x, const hub_view_snap *view, frame_rows *fr,
                         char err[FL_ERR_LEN])
{
	free(fr->nodes);
	free(fr->gpus);
	fr->nodes = fr->gpus = NULL;
	fr->diffed = view != NULL;
	int rv = nodes_json(x, f->n_nodes, view, &fr->nodes, &fr->nodes_sent, err);
	return rv != FL_OK ? rv : gpus_json(x, f->n_gpus, view, &fr->gpus, err);
}

/* Upserts f's nodes, GPUs and overview at version (ver, seq) and deletes what it removes. */
static int write_rows(hub_store *s, const fl_proto_frame *f, const frame_rows *fr, char ov[20][32], const char *ver,
                      const char *seq, hub_write_result *res, char err[FL_ERR_LEN])
{
	const char *nv[] = {f->env.cluster, fr->nodes, ver, seq};
	const char *gv[] = {f->env.cluster, fr->gpus, ver, seq};
	PGresult *r = NULL;
	int rv;
	if ((rv = hub_store_exec(s, "upsert nodes", SQL_NODES, 4, nv, PGRES_COMMAND_OK, &r, err)) != FL_OK)
		return rv;
	res->node_rows = affected(r);
	PQclear(r);
	if ((rv = hub_store_exec(s, "upsert gpus", SQL_GPUS, 4, gv, PGRES_COMMAND_OK, &r, err)) != FL_OK)
		return rv;
	res->gpu_rows = affected(r);
	PQclear(r);
	const char *del[2] = {NULL, NULL}, *keys[2] = {NULL, NULL};
	if (f->env.kind == FL_FRAME_FULL) {
		del[0] = SQL_NODES_DELETE_UNLISTED;
		del[1] = SQL_GPUS_DELETE_UNLISTED;
		keys[0] = fr->listed_nodes;
		keys[1] = fr->listed_gpus;
	} else if (f->n_removed_nodes > 0) {
		del[0] = SQL_NODES_REMOVE;
		del[1] = SQL_GPUS_REMOVE;
		keys[0] = keys[1] = fr->removed;
	}
	for (int k = 0; k < 2 && del[k] != NULL; k++) {
		const char *dv[] = {f->env.cluster, keys[k], ver, seq, fr->listed_nodes};
		int n = del[k] == SQL_GPUS_DELETE_UNLISTED ? 5 : 4;
		if ((rv = hub_store_exec(s, k == 0 ? "delete nodes" : "delete gpus", del[k], n, dv, PGRES_COMMAND_OK,
		                         &r, err)) != FL_OK)
			return rv;
		res->rows_deleted += affected(r);
		PQclear(r);
	}
	if (f->has_overview) {
		const char *ovv[24] = {f->env.cluster}, *vals[20];
		char unknown[320];
		for (int i = 0; i < 20; i++)
			vals[i] = ov[i];
		overview_unknown_params(&f->overview, vals, unknown);
		for (int i = 0; i < 20; i++)
			ovv[i + 1] = vals[i];
		ovv[21] = ver;
		ovv[22] = seq;
		ovv[23] = unknown;
		if ((rv = cmd(s, "upsert overview", SQL_OVERVIEW, 24, ovv, err)) != FL_OK)
			return rv;
	}
	return FL_OK;
}

/* The overview's allocation and utilization as a cluster sample (007_lens.sql), the last history row of
 * the frame: a frame appends to the history tables in the order the partition upkeep locks them
 * (hub_history_maint.c), node, workload, then cluster samples, so the two never deadlock. */
static int write_cluster_sample(hub_store *s, const fl_proto_frame *f, char ov[20][32], const char *ver,
                                char err[FL_ERR_LEN])
{
	if (!f->has_overview)
		return FL_OK;
	const char *util = (f->overview.unknown & FL_OV_UTILIZATION) != 0 ? NULL : ov[7];
	const char *sv[] = {f->env.cluster, ov[8], ov[9], ov[6], util, ver};
	return cmd(s, "cluster sample", SQL_CLUSTER_SAMPLE, 6, sv, err);
}

/* Samples apart from facts: one sample row per node the frame carries, appended to node_utilization_history
 * at its sent_at in the frame's transaction (one COPY). */
static int write_samples(hub_store *s, const fl_proto_frame *f, const sorted_rows *x, hub_write_result *res,
                         char err[FL_ERR_LEN])
{
	int rv = hub_history_append(s->conn, f, x->gpus, &res->sample_rows, err);
	if (rv != FL_OK)
		hub_metrics_add(HUB_M_DB_ERRORS, 1);
	return rv;
}

/* Everything that can make f unstorable, checked before the transaction starts; builds what it sends. */
static int prepare_rows(const fl_proto_frame *f, const hub_write_opts *opts, sorted_rows *x, frame_rows *fr,
                        hub_workload_rows *wl, char ov[20][32], char err[FL_ERR_LEN])
{
	int rv;
	/* A view that never was at a database generation cannot be the baseline: send everything at once. */
	const hub_view_snap *view = opts->view != NULL && opts->view->rows_gen >= 0 ? opts->view : NULL;
	if ((rv = sort_rows(f, x, err)) != FL_OK || (rv = build_upserts(f, x, view, fr, err)) != FL_OK ||
	    (rv = removed_json(f, &fr->removed, err)) != FL_OK || (rv = hub_workload_prepare(f, wl, err)) != FL_OK)
		return rv;
	if (f->env.kind == FL_FRAME_FULL && (rv = listed_json(x, f, &fr->listed_nodes, &fr->listed_gpus, err)) != FL_OK)
		return rv;
	if (f->has_overview && (rv = overview_params(&f->overview, ov, err)) != FL_OK)
		return rv;
	/* The sample rows' numbers: a figure COPY would refuse would abort the transaction instead. */
	for (uint32_t i = 0; i < f->n_nodes; i++)
		if (f->nodes[i].has_utilization && !isfinite(f->nodes[i].gpu_utilization))
			return fl_seterr(err, FL_EINVAL, "node '%.200s': a number is not finite", f->nodes[i].name);
	for (uint32_t i = 0; i < f->n_gpus; i++) {
		const fl_proto_gpu *g = &f->gpus[i];
		if ((g->has_utilization && !isfinite(g->utilization)) || !isfinite(g->temperature) ||
		    !isfinite(g->power))
			return fl_seterr(err, FL_EINVAL, "GPU %d of node '%.200s': a number is not finite",
			                 (int)g->gpu_id, g->node);
	}
	return FL_OK;
}

PGconn *hub_store_pgconn(hub_store *s, char err[FL_ERR_LEN])
{
	return hub_store_connect(s, err) == FL_OK ? s->conn : NULL;
}

/* Inside the transaction, the frame's verdict NEW: its rows (unless superseded), samples, the cluster
 * row (rows_gen moves when rows were written) and res->rows_gen. */
static int write_new(hub_store *s, const fl_proto_frame *f, int64_t recv_ms, const hub_seq_prior *prior,
                     int64_t newest_seq, int64_t db_gen, const hub_write_opts *opts, const sorted_rows *x,
                     frame_rows *fr, hub_workload_rows *wl, char ov[20][32], hub_write_result *res,
                     char err[FL_ERR_LEN])
{
	char seq[24], recv[24], sent[24], ver[24];
	snprintf(seq, sizeof(seq), "%" PRIu64, f->env.seq);
	snprintf(recv, sizeof(recv), "%" PRId64, recv_ms);
	snprintf(sent, sizeof(sent), "%" PRId64, f->env.sent_at_ms);
	snprintf(ver, sizeof(ver), "%" PRId64, res->decision.version_ms);
	bool rows = (f->env.kind == FL_FRAME_FULL || f->env.kind == FL_FRAME_DELTA) && !res->decision.superseded;
	int rv = FL_OK;
	/* The view diffed against is the database's rows only at the generation it reflects. */
	if (rows && fr->diffed && opts->view->rows_gen != db_gen && (rv = build_upserts(f, x, NULL, fr, err)) != FL_OK)
		return rv;
	hub_workload_counts wc;
	if (rows && ((rv = write_rows(s, f, fr, ov, ver, seq, res, err)) != FL_OK ||
	             (rv = write_samples(s, f, x, res, err)) != FL_OK ||
	             (rv = hub_workload_write(s->conn, f, wl, ver, seq, &wc, err)) != FL_OK ||
	             (rv = write_cluster_sample(s, f, ov, ver, err)) != FL_OK))
		return rv;
	if (rows) {
		res->workload_rows = wc.pod_rows + wc.workload_rows;
		res->rows_deleted += wc.pods_deleted;
		res->nodes_sent = fr->nodes_sent;
	}
	const char *fv[] = {f->env.cluster, ver, seq};
	if (f->env.kind == FL_FRAME_FULL && !res->decision.superseded &&
	    (rv = cmd(s, "update cluster", SQL_CLUSTER_FULL, 3, fv, err)) != FL_OK)
		return rv;

	int64_t v = res->decision.version_ms;
	bool newest = !prior->cluster_seen || v > prior->newest_version_ms ||
	              (v == prior->newest_version_ms && (int64_t)f->env.seq > newest_seq);
	/* The newest frame's version is above every row's: each row it sent was written, each it removes went,
	 * so the rows are now exactly the frame applied to those before. */
	res->rows_gen = rows && newest ? db_gen + 1 : -1;
	const char *more = rows ? "1" : "0";
	const char *cv[] = {f->env.cluster,
	                    f->has_facts ? f->facts.k8s_version : NULL,
	                    f->has_facts ? f->facts.spoke_version : NULL,
	                    f->has_facts ? f->facts.source : NULL,
	                    f->env.spoke_id,
	                    seq,
	                    recv,
	                    sent,
	                    ver,
	                    more};
	const char *av[] = {f->env.cluster, recv, more};
	if ((rv = newest ? cmd(s, "update cluster", SQL_CLUSTER_NEWEST, 10, cv, err)
	                 : cmd(s, "update cluster", SQL_CLUSTER_ALIVE, 3, av, err)) != FL_OK)
		return rv;

	char node_rows[24];
	snprintf(node_rows, sizeof(node_rows), "%" PRId64, res->node_rows);
	const char *kind = fl_proto_kind_name(f->env.kind);
	const char *logv[] = {f->env.cluster, f->env.spoke_id, seq, kind != NULL ? kind : "?", sent, ver,
	                      recv,           node_rows};
	PGresult *r = NULL;
	if ((rv = hub_store_exec(s, "ingest_log", SQL_INGEST_LOG, 8, logv, PGRES_COMMAND_OK, &r, err)) != FL_OK)
		return rv;
	bool logged = affected(r) == 1;
	PQclear(r);
	if (!logged) {
		/* Cannot happen under the cluster lock unless the rules above miss a repeat; the key still holds. */
		hub_store_rollback(s);
		memset(res, 0, sizeof(*res));
		res->decision.verdict = HUB_SEQ_DUPLICATE;
		res->rows_gen = -1;
		return FL_OK;
	}
	if (opts->instance != NULL) {
		char payload[FL_CLUSTER_LEN + 160];
		snprintf(payload, sizeof(payload), "%s\t%.100s\t%s\t%s", f->env.cluster, opts->instance,
		         kind != NULL ? kind : "?", recv);
		const char *nv[] = {payload};
		if ((rv = hub_store_exec(s, "notify", "SELECT pg_notify('" HUB_STORE_CHANNEL "', $1)", 1, nv,
		                         PGRES_TUPLES_OK, NULL, err)) != FL_OK)
			return rv;
	}
	return cmd(s, "COMMIT", "COMMIT", 0, NULL, err);
}

int hub_store_write_frame(hub_store *s, const fl_proto_frame *f, int64_t recv_ms, const hub_write_opts *opts,
                          hub_write_result *res, char err[FL_ERR_LEN])
{
	memset(res, 0, sizeof(*res));
	res->rows_gen = -1;
	if (f->env.seq > (uint64_t)INT64_MAX)
		return fl_seterr(err, FL_EINVAL, "seq %" PRIu64 " is out of range", f->env.seq);
	if (f->env.sent_at_ms < 0 || f->env.sent_at_ms > FL_MAX_TIME_MS) /* 1970 .. 9999 */
		return fl_seterr(err, FL_EINVAL, "sent_at %" PRId64 " ms is out of range", f->env.sent_at_ms);
	bool rows = f->env.kind == FL_FRAME_FULL || f->env.kind == FL_FRAME_DELTA;
	sorted_rows x = {NULL, NULL};
	frame_rows fr;
	memset(&fr, 0, sizeof(fr));
	char ov[20][32];
	hub_workload_rows wl = {NULL, NULL, NULL};
	int rv = FL_OK;
	if (rows && (rv = prepare_rows(f, opts, &x, &fr, &wl, ov, err)) != FL_OK)
		goto out;
	if ((rv = hub_store_connect(s, err)) != FL_OK)
		goto out;

	const char *lv[] = {f->env.cluster};
	hub_seq_prior prior;
	memset(&prior, 0, sizeof(prior));
	prior.full_seen = opts->full_seen;
	int64_t newest_seq = 0, db_gen = 0;
	if ((rv = cmd(s, "BEGIN", "BEGIN", 0, NULL, err)) != FL_OK ||
	    (rv = hub_store_exec(s, "cluster lock", SQL_CLUSTER_LOCK, 1, lv, PGRES_TUPLES_OK, NULL, err)) != FL_OK ||
	    (rv = read_prior(s, f, &prior, &newest_seq, &db_gen, err)) != FL_OK)
		goto out;
	hub_sequence_decide(&prior, &f->env, opts->replay_tolerance_ms, &res->decision);
	if (res->decision.verdict != HUB_SEQ_NEW) {
		hub_store_rollback(s);
		goto out;
	}
	rv = write_new(s, f, recv_ms, &prior, newest_seq, db_gen, opts, &x, &fr, &wl, ov, res, err);
out:
	/* Any error, not only FL_EDB: a transaction left open would hold the cluster lock for every hub. */
	if (rv != FL_OK)
		hub_store_rollback(s);
	sorted_free(&x);
	frame_rows_free(&fr);
	hub_workload_rows_free(&wl);
	return rv;
}

int hub_store_prune_ingest_log(hub_store *s, int64_t before_ms, int limit, int64_t *deleted, char err[FL_ERR_LEN])
{
	*deleted = 0;
	int rv = hub_store_connect(s, err);
	if (rv != FL_OK)
		return rv;
	char before[24], lim[24];
	snprintf(before, sizeof(before), "%" PRId64, before_ms);
	snprintf(lim, sizeof(lim), "%d", limit);
	const char *v[] = {before, lim};
	PGresult *r = NULL;
	if ((rv = hub_store_exec(s, "prune ingest_log", SQL_PRUNE, 2, v, PGRES_COMMAND_OK, &r, err)) != FL_OK)
		return rv;
	*deleted = affected(r);
	PQclear(r);
	return FL_OK;
}

/* Each node's newest sample (node_utilization_history_node_idx, newest first in every day partition). */
#define LATEST_SAMPLE(n)                                                                                               \
	" LEFT JOIN LATERAL (SELECT h.gpu_utilization, h.gpu_ids, h.gpu_utilizations, h.gpu_temperatures,"             \
	" h.gpu_powers FROM node_utilization_history h WHERE h.cluster_name = " n ".cluster_name"                      \
	" AND h.node_name = " n ".name ORDER BY h.sampled_at DESC LIMIT 1) s ON true"

/* --- the overview read (part of the view load; the round-trip benchmark calls it alone) --------------------- */

static const char SQL_READ_OVERVIEW[] = "SELECT " OVERVIEW_COLUMNS ", (extract(epoch FROM updated_at) * 1000)::bigint,"
                                        " cluster_name, array_to_string(unknown, ',') FROM cluster_overview_cache";

static void overview_from_row(PGresult *r, int row, fl_proto_overview *o, int64_t *updated_ms)
{
	double d[20];
	for (int c = 0; c < 20; c++)
		d[c] = PQgetisnull(r, row, c) ? 0.0 : strtod(PQgetvalue(r, row, c), NULL);
	memset(o, 0, sizeof(*o));
	o->total_nodes = (int64_t)d[0];
	o->healthy_nodes = (int64_t)d[1];
	o->faulty_nodes = (int64_t)d[2];
	o->fully_idle_nodes = (int64_t)d[3];
	o->partially_idle_nodes = (int64_t)d[4];
	o->busy_nodes = (int64_t)d[5];
	o->allocation_rate = d[6];
	o->utilization = d[7];
	o->gpus_allocatable = (int64_t)d[8];
	o->gpus_allocated = (int64_t)d[9];
	o->total_space = d[10];
	o->used_space = d[11];
	o->usage_percentage = d[12];
	o->total_inodes = d[13];
	o->used_inodes = d[14];
	o->inodes_usage_percentage = d[15];
	o->read_bandwidth = d[16];
	o->write_bandwidth = d[17];
	o->total_tx = d[18];
	o->total_rx = d[19];
	*updated_ms = int_or(r, row, 20, 0);
	overview_unknown_from_row(r, row, 22, o);
}

int hub_store_read_overview(hub_store *s, const char *cluster, fl_proto_overview *out, int64_t *updated_ms, bool *found,
                            char err[FL_ERR_LEN])
{
	*found = false;
	int rv = hub_store_connect(s, err);
	if (rv != FL_OK)
		return rv;
	char sql[sizeof(SQL_READ_OVERVIEW) + 64];
	snprintf(sql, sizeof(sql), "%s WHERE cluster_name = $1", SQL_READ_OVERVIEW);
	const char *v[] = {cluster};
	PGresult *r = NULL;
	if ((rv = hub_store_exec(s, "read overview", sql, 1, v, PGRES_TUPLES_OK, &r, err)) != FL_OK)
		return rv;
	if (PQntuples(r) == 1) {
		overview_from_row(r, 0, out, updated_ms);
		*found = true;
	}
	PQclear(r);
	return FL_OK;
}

/* --- loading the API's view ---------------------------------------------------------------------- */

static void copy_col(char *dst, size_t size, PGresult *r, int row, int col)
{
	snprintf(dst, size, "%s", PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col));
}

static double real_or(PGresult *r, int row, int col, double def)
{
	return PQgetisnull(r, row, col) ? def : strtod(PQgetvalue(r, row, col), NULL);
}

/* The taints column (a JSON array of {key, value, effect}) into n's heap array; bad JSON → none. */
static int taints_from_json(const char *text, fl_proto_node *n)
{
	json_t *arr = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	size_t len = json_is_array(arr) ? json_array_size(arr) : 0;
	if (len > FL_PROTO_MAX_TAINTS)
		len = FL_PROTO_MAX_TAINTS;
	if (len > 0 && (n->taints = calloc(len, sizeof(*n->taints))) == NULL) {
		json_decref(arr);
		return FL_ENOMEM;
	}
	for (size_t t = 0; t < len; t++) {
		json_t *o = json_array_get(arr, t);
		const char *k = json_string_value(json_object_get(o, "key"));
		const char *v = json_string_value(json_object_get(o, "value"));
		const char *e = json_string_value(json_object_get(o, "effect"));
		fl_proto_taint *d = &n->taints[n->n_taints];
		if (k == NULL)
			continue;
		snprintf(d->key, sizeof(d->key), "%s", k);
		snprintf(d->value, sizeof(d->value), "%s", v != NULL ? v : "");
		snprintf(d->effect, sizeof(d->effect), "%s", e != NULL ? e : "");
		n->n_taints++;
	}
	json_decref(arr);
	return FL_OK;
}

/* Ordered by name in byte order, as strcmp: load_rows finds a GPU's node by binary search. */
static const char SQL_VIEW_NODES[] =
    "SELECT n.name, n.address, n.gpu_name, n.gpu_count, n.gpu_allocation, s.gpu_utilization, n.status,"
    " n.unschedulable, n.faulty, n.taints::text, n.cpu_millis, n.memory_bytes, n.kubelet_version, n.os_image,"
    " n.kernel_version, n.container_runtime, s.gpu_ids::text, s.gpu_utilizations::text,"
    " s.gpu_temperatures::text, s.gpu_powers::text FROM node n" LATEST_SAMPLE(
        "n") " WHERE n.cluster_name = $1 ORDER BY n.name COLLATE \"C\"";

/* The sample arrays' columns in SQL_VIEW_NODES: gpu_ids, then the figures in this order. */
enum { COL_IDS = 16, COL_UTILS, COL_TEMPS, COL_POWERS };

static const char SQL_VIEW_GPUS[] = "SELECT node_name, gpu_id, gpu_model, memory, serial, numa"
                                    " FROM gpu_device WHERE cluster_name = $1";

/* Element k (0-based) of a one-dimensional number array's text ("{1,NULL,2.5}"): false when the array is
 * shorter or the element is NULL. */
static bool array_elem(const char *arr, size_t k, double *out)
{
	if (arr[0] != '{')
		return false;
	const char *p = arr + 1;
	for (size_t i = 0; i < k; i++) {
		p = strchr(p, ',');
		if (p == NULL)
			return false;
		p++;
	}
	if (*p == '}' || strncmp(p, "NULL", 4) == 0)
		return false;
	char *end;
	*out = strtod(p, &end);
	return end != p;
}

/* Gives g the figures of its node's newest sample (row `row` of the nodes result r): the element at g's
 * gpu_id's position in gpu_ids. Without one the figures are unknown (NaN; utilization absent). */
static void gpu_figures(PGresult *r, int row, fl_proto_gpu *g)
{
	g->has_utilization = false;
	g->utilization = 0;
	g->temperature = g->power = NAN;
	if (row < 0 || PQgetisnull(r, row, COL_IDS))
		return;
	const char *ids = PQgetvalue(r, row, COL_IDS);
	double id;
	for (size_t k = 0; array_elem(ids, k, &id); k++) {
		if ((int32_t)id != g->gpu_id)
			continue;
		g->has_utilization = array_elem(PQgetvalue(r, row, COL_UTILS), k, &g->utilization);
		if (!array_elem(PQgetvalue(r, row, COL_TEMPS), k, &g->temperature))
			g->temperature = NAN;
		if (!array_elem(PQgetvalue(r, row, COL_POWERS), k, &g->power))
			g->power = NAN;
		return;
	}
}

/* The row of the nodes result r (n rows, ordered by name in byte order) for node name, or -1. */
static int node_row(PGresult *r, int n, const char *name)
{
	int lo = 0, hi = n;
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		int c = strcmp(PQgetvalue(r, mid, 0), name);
		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Reads the node rows of result r into f->nodes (owned by f). */
static int nodes_from_rows(PGresult *r, fl_proto_frame *f, char err[FL_ERR_LEN])
{
	int n = PQntuples(r);
	if (n > 0 && (f->nodes = calloc((size_t)n, sizeof(*f->nodes))) == NULL)
		return fl_seterr(err, FL_ENOMEM, "out of memory");
	for (int row = 0; row < n; row++) {
		fl_proto_node *d = &f->nodes[row];
		f->n_nodes++;
		copy_col(d->name, sizeof(d->name), r, row, 0);
		copy_col(d->ip, sizeof(d->ip), r, row, 1);
		copy_col(d->gpu_name, sizeof(d->gpu_name), r, row, 2);
		d->gpu_count = int_or(r, row, 3, 0);
		d->gpu_allocation = int_or(r, row, 4, 0);
		d->has_utilization = !PQgetisnull(r, row, 5);
		d->gpu_utilization = real_or(r, row, 5, 0);
		copy_col(d->status, sizeof(d->status), r, row, 6);
		d->unschedulable = strcmp(PQgetvalue(r, row, 7), "t") == 0;
		d->faulty = strcmp(PQgetvalue(r, row, 8), "t") == 0;
		if (!PQgetisnull(r, row, 9) && taints_from_json(PQgetvalue(r, row, 9), d) != FL_OK)
			return fl_seterr(err, FL_ENOMEM, "out of memory");
		d->cpu_millis = int_or(r, row, 10, 0);
		d->memory_bytes = int_or(r, row, 11, 0);
		copy_col(d->kubelet_version, sizeof(d->kubelet_version), r, row, 12);
		copy_col(d->os_image, sizeof(d->os_image), r, row, 13);
		copy_col(d->kernel_version, sizeof(d->kernel_version), r, row, 14);
		copy_col(d->container_runtime, sizeof(d->container_runtime), r, row, 15);
	}
	return FL_OK;
}

/* Reads cluster's node and GPU rows into f (its nodes and gpus arrays, owned by f), with each node's
 * newest sample for the figures. */
static int load_rows(hub_store *s, const char *cluster, fl_proto_frame *f, char err[FL_ERR_LEN])
{
	const char *v[] = {cluster};
	PGresult *nr = NULL, *r = NULL;
	int rv = hub_store_exec(s, "load nodes", SQL_VIEW_NODES, 1, v, PGRES_TUPLES_OK, &nr, err);
	if (rv != FL_OK)
		return rv;
	if ((rv = nodes_from_rows(nr, f, err)) != FL_OK ||
	    (rv = hub_store_exec(s, "load gpus", SQL_VIEW_GPUS, 1, v, PGRES_TUPLES_OK, &r, err)) != FL_OK) {
		PQclear(nr);
		return rv;
	}
	int n = PQntuples(r);
	if (n > 0 && (f->gpus = calloc((size_t)n, sizeof(*f->gpus))) == NULL) {
		PQclear(r);
		PQclear(nr);
		return fl_seterr(err, FL_ENOMEM, "out of memory");
	}
	for (int row = 0; row < n; row++) {
		fl_proto_gpu *g = &f->gpus[f->n_gpus++];
		copy_col(g->node, sizeof(g->node), r, row, 0);
		g->gpu_id = (int32_t)int_or(r, row, 1, 0);
		copy_col(g->gpu_model, sizeof(g->gpu_model), r, row, 2);
		g->memory_mib = int_or(r, row, 3, 0);
		copy_col(g->serial, sizeof(g->serial), r, row, 4);
		g->numa = (int32_t)int_or(r, row, 5, -1);
		gpu_figures(nr, node_row(nr, PQntuples(nr), g->node), g);
	}
	PQclear(r);
	PQclear(nr);
	return FL_OK;
}

static const char SQL_VIEW_CLUSTER[] =
    "SELECT (extract(epoch FROM last_frame_at) * 1000)::bigint, spoke_id, last_seq,"
    " (extract(epoch FROM last_sent_at) * 1000)::bigint, k8s_version, spoke_version, source, src_sent_ms, rows_gen"
    " FROM cluster WHERE name = $1";

/* Inside the snapshot transaction: the cluster row, its overview and its rows. */
static int read_cluster_locked(hub_store *s, const char *cluster, fl_proto_frame *f, hub_cluster_read *out,
                               char err[FL_ERR_LEN])
{
	const char *v[] = {cluster};
	PGresult *cr = NULL;
	int rv = hub_store_exec(s, "load cluster", SQL_VIEW_CLUSTER, 1, v, PGRES_TUPLES_OK, &cr, err);
	if (rv != FL_OK)
		return rv;
	if (PQntuples(cr) != 1) {
		PQclear(cr);
		return fl_seterr(err, FL_EDB, "cluster '%s' has no row in the database", cluster);
	}
	f->env.kind = FL_FRAME_FULL;
	snprintf(f->env.cluster, sizeof(f->env.cluster), "%s", cluster);
	copy_col(f->env.spoke_id, sizeof(f->env.spoke_id), cr, 0, 1);
	f->env.seq = (uint64_t)int_or(cr, 0, 2, 0);
	f->env.sent_at_ms = int_or(cr, 0, 3, 0);
	f->has_facts = !PQgetisnull(cr, 0, 4) || !PQgetisnull(cr, 0, 5);
	copy_col(f->facts.k8s_version, sizeof(f->facts.k8s_version), cr, 0, 4);
	copy_col(f->facts.spoke_version, sizeof(f->facts.spoke_version), cr, 0, 5);
	copy_col(f->facts.source, sizeof(f->facts.source), cr, 0, 6);
	out->last_frame_ms = int_or(cr, 0, 0, 0);
	out->version_ms = int_or(cr, 0, 7, 0);
	out->rows_gen = int_or(cr, 0, 8, 0);
	PQclear(cr);
	if ((rv = hub_store_read_overview(s, cluster, &f->overview, &out->overview_ms, &f->has_overview, err)) != FL_OK)
		return rv;
	if (!f->has_overview)
		out->overview_ms = 0;
	return load_rows(s, cluster, f, err);
}

int hub_store_read_cluster(hub_store *s, const char *cluster, fl_proto_frame *f, hub_cluster_read *out,
                           char err[FL_ERR_LEN])
{
	memset(f, 0, sizeof(*f));
	memset(out, 0, sizeof(*out));
	int rv = hub_store_connect(s, err);
	if (rv != FL_OK)
		return rv;
	/* One snapshot: the version read is the version of the rows read. */
	if ((rv = cmd(s, "BEGIN", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL, err)) != FL_OK)
		return rv;
	rv = read_cluster_locked(s, cluster, f, out, err);
	if (rv == FL_OK)
		rv = cmd(s, "COMMIT", "COMMIT", 0, NULL, err);
	if (rv != FL_OK) {
		hub_store_rollback(s);
		fl_proto_frame_free(f);
		memset(f, 0, sizeof(*f));
	}
	return rv;
}

int hub_store_load_view(hub_store *s, hub_view *view, char err[FL_ERR_LEN])
{
	int rv = FL_OK;
	for (size_t i = 0; i < hub_view_count(view) && rv == FL_OK; i++) {
		fl_proto_frame f;
		hub_cluster_read cr;
		rv = hub_store_read_cluster(s, hub_view_name(view, i), &f, &cr, err);
		if (rv == FL_OK && hub_view_load(view, i, &f, cr.last_frame_ms, cr.overview_ms, cr.rows_gen) != FL_OK)
			rv = fl_seterr(err, FL_ENOMEM, "view of cluster %s: out of memory", f.env.cluster);
		fl_proto_frame_free(&f);
	}
	return rv;
}
