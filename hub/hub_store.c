/* hub_store.c — PostgreSQL through libpq: migrations, cluster rows, frame writes, API reads. */
#include "hub_store.h"

#include <dirent.h>
#include <errno.h>
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
#include "hub_workload.h"

/* Any constant works; every hub uses the same one ("FlLens" in ASCII). */
#define HUB_MIGRATION_LOCK_KEY "77409586147443"
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

/* libpq messages span lines ("...\n\tIs the server running..."); err gets them on one line. */
static int db_err(char err[FL_ERR_LEN], const char *what, const char *pqmsg)
{
	char flat[FL_ERR_LEN];
	size_t o = 0;
	for (const char *p = pqmsg; *p != '\0' && o + 1 < sizeof(flat); p++) {
		bool space = *p == '\n' || *p == '\t' || *p == ' ';
		if (space && (o == 0 || flat[o - 1] == ' '))
			continue;
		flat[o++] = space ? ' ' : *p;
	}
	while (o > 0 && flat[o - 1] == ' ')
		o--;
	flat[o] = '\0';
	return fl_seterr(err, FL_EDB, "%s: %s", what, flat);
}

int hub_store_connect(hub_store *s, char err[FL_ERR_LEN])
{
	if (s->conn == NULL) {
		/* connect_timeout and application_name come first so the configured conninfo can override them. */
		const char *keys[] = {"connect_timeout", "application_name", "dbname", NULL};
		const char *vals[] = {"10", "fleetlens-hub", s->conninfo, NULL};
		s->conn = PQconnectdbParams(keys, vals, 1);
		if (s->conn == NULL)
			return fl_seterr(err, FL_EDB, "connect: out of memory");
		PQsetNoticeProcessor(s->conn, notice_to_log, NULL);
	} else if (PQstatus(s->conn) != CONNECTION_OK) {
		PQreset(s->conn);
	}
	if (PQstatus(s->conn) != CONNECTION_OK) {
		hub_metrics_add(HUB_M_DB_ERRORS, 1);
		return db_err(err, "connect", PQerrorMessage(s->conn));
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

/* Runs one parameterized statement; on a result other than want fills err (naming what), counts the
 * error and returns FL_EDB. On FL_OK *out (if non-NULL) holds the result for the caller to PQclear. */
static int run(hub_store *s, const char *what, const char *sql, int n, const char *const *vals, ExecStatusType want,
               PGresult **out, char err[FL_ERR_LEN])
{
	if (out != NULL)
		*out = NULL;
	PGresult *r = PQexecParams(s->conn, sql, n, NULL, vals, NULL, NULL, 0);
	if (r == NULL || PQresultStatus(r) != want) {
		int rv = db_err(err, what, r != NULL ? PQresultErrorMessage(r) : PQerrorMessage(s->conn));
		PQclear(r);
		hub_metrics_add(HUB_M_DB_ERRORS, 1);
		return rv;
	}
	if (out != NULL)
		*out = r;
	else
		PQclear(r);
	return FL_OK;
}

static int cmd(hub_store *s, const char *what, const char *sql, int n, const char *const *vals, char err[FL_ERR_LEN])
{
	return run(s, what, sql, n, vals, PGRES_COMMAND_OK, NULL, err);
}

/* Ends a failed transaction; the error that caused it is already in err. */
static void rollback(hub_store *s)
{
	if (PQtransactionStatus(s->conn) == PQTRANS_IDLE || PQstatus(s->conn) != CONNECTION_OK)
		return;
	PGresult *r = PQexec(s->conn, "ROLLBACK");
	PQclear(r);
}

/* --- migrations ---------------------------------------------------------------------------------- */

static int is_migration_name(const struct dirent *d)
{
	const char *n = d->d_name;
	size_t len = strlen(n);
	if (len < 9 || len >= 200)
		return 0;
	for (int i = 0; i < 3; i++)
		if (n[i] < '0' || n[i] > '9')
			return 0;
	if (n[3] != '_' || strcmp(n + len - 4, ".sql") != 0)
		return 0;
	return 1;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int read_small_file(const char *path, char **out, char err[FL_ERR_LEN])
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return fl_seterr(err, FL_EIO, "%s: cannot open: %s", path, strerror(errno));
	char *buf = malloc(HUB_STORE_MAX_MIGRATION_BYTES + 1);
	if (buf == NULL) {
		fclose(f);
		return fl_seterr(err, FL_ENOMEM, "%s: out of memory", path);
	}
	size_t n = fread(buf, 1, HUB_STORE_MAX_MIGRATION_BYTES + 1, f);
	int bad = ferror(f);
	fclose(f);
	if (bad || n > HUB_STORE_MAX_MIGRATION_BYTES) {
		free(buf);
		return fl_seterr(err, bad ? FL_EIO : FL_ELIMIT, "%s: %s", path,
		                 bad ? "read error" : "larger than 1 MiB");
	}
	buf[n] = '\0';
	*out = buf;
	return FL_OK;
}

/* Applies one migration file if it is not recorded yet; *ran says whether it was. */
static int apply_one(hub_store *s, const char *path, const char *version, bool *ran, char err[FL_ERR_LEN])
{
	char *sql = NULL;
	int rv = read_small_file(path, &sql, err);
	if (rv != FL_OK)
		return rv;
	const char *v[] = {version};
	PGresult *r = NULL;
	*ran = false;
	if ((rv = cmd(s, "BEGIN", "BEGIN", 0, NULL, err)) != FL_OK)
		goto out;
	if ((rv = run(s, "migration lock", "SELECT pg_advisory_xact_lock(" HUB_MIGRATION_LOCK_KEY ")", 0, NULL,
	              PGRES_TUPLES_OK, NULL, err)) != FL_OK)
		goto out;
	if ((rv = cmd(s, "schema_migrations",
	              "CREATE TABLE IF NOT EXISTS schema_migrations ("
	              "version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
	              0, NULL, err)) != FL_OK)
		goto out;
	if ((rv = run(s, "schema_migrations", "SELECT 1 FROM schema_migrations WHERE version = $1", 1, v,
	              PGRES_TUPLES_OK, &r, err)) != FL_OK)
		goto out;
	bool done = PQntuples(r) > 0;
	PQclear(r);
	if (!done) {
		/* The migration file is ours, not input: it may hold several statements, so no parameters. */
		PGresult *m = PQexec(s->conn, sql);
		if (m == NULL || PQresultStatus(m) != PGRES_COMMAND_OK) {
			rv = db_err(err, path, m != NULL ? PQresultErrorMessage(m) : PQerrorMessage(s->conn));
			hub_metrics_add(HUB_M_DB_ERRORS, 1);
			PQclear(m);
			goto out;
		}
		PQclear(m);
		if ((rv = cmd(s, "schema_migrations", "INSERT INTO schema_migrations (version) VALUES ($1)", 1, v,
		              err)) != FL_OK)
			goto out;
		*ran = true;
	}
	rv = cmd(s, "COMMIT", "COMMIT", 0, NULL, err);
out:
	if (rv != FL_OK) {
		rollback(s);
		*ran = false;
	}
	free(sql);
	return rv;
}

int hub_store_migrate(hub_store *s, const char *dir, json_t **versions, int *applied, char err[FL_ERR_LEN])
{
	*versions = NULL;
	*applied = 0;
	int rv = hub_store_connect(s, err);
	if (rv != FL_OK)
		return rv;
	struct dirent **list = NULL;
	int n = scandir(dir, &list, is_migration_name, by_name);
	if (n < 0)
		return fl_seterr(err, FL_EIO, "%s: cannot read migrations folder: %s", dir, strerror(errno));
	json_t *vers = json_array();
	if (n == 0)
		rv = fl_seterr(err, FL_EIO, "%s: no migrations (NNN_name.sql) found", dir);
	else if (n > HUB_STORE_MAX_MIGRATIONS)
		rv = fl_seterr(err, FL_ELIMIT, "%s: more than %d migrations", dir, HUB_STORE_MAX_MIGRATIONS);
	else if (vers == NULL)
		rv = fl_seterr(err, FL_ENOMEM, "out of memory");
	for (int i = 0; i < n && rv == FL_OK; i++) {
		char path[HUB_PATH_LEN + 256], version[200];
		snprintf(path, sizeof(path), "%s/%s", dir, list[i]->d_name);
		snprintf(version, sizeof(version), "%.*s", (int)(strlen(list[i]->d_name) - 4), list[i]->d_name);
		bool ran = false;
		rv = apply_one(s, path, version, &ran, err);
		if (rv == FL_OK && json_array_append_new(vers, json_string(version)) != 0)
			rv = fl_seterr(err, FL_ENOMEM, "out of memory");
		if (ran) {
			fl_info("migration %s applied", version);
			(*applied)++;
		}
	}
	for (int i = 0; i < n; i++)
		free(list[i]);
	free(list);
	if (rv != FL_OK) {
		json_decref(vers);
		return rv;
	}
	*versions = vers;
	return FL_OK;
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
	rv = run(s, "readiness",
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
	rv = run(s, "load cluster state",
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

static int cmp_node(const void *a, const void *b)
{
	return strcmp((*(const fl_proto_node *const *)a)->name, (*(const fl_proto_node *const *)b)->name);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_gpu(const void *a, const void *b)
{
	const fl_proto_gpu *x = *(const fl_proto_gpu *const *)a, *y = *(const fl_proto_gpu *const *)b;
	int c = strcmp(x->node, y->node);
	return c != 0 ? c : (x->gpu_id > y->gpu_id) - (x->gpu_id < y->gpu_id);
}

/* Adds key: string to o; -1 if s is not valid UTF-8 (or memory ran out). */
static int put_str(json_t *o, const char *key, const char *s)
{
	json_t *v = json_string(s);
	return v == NULL ? -1 : json_object_set_new(o, key, v);
}

/* Adds key: number (or null when !has); -1 if x is not finite. */
static int put_real(json_t *o, const char *key, double x, bool has)
{
	if (!has)
		return json_object_set_new(o, key, json_null());
	json_t *v = json_real(x);
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

/* Builds the node rows of f as a JSON array sorted by name (so concurrent writers lock rows in the same
 * order). FL_EINVAL names the node when a name repeats or a value cannot be stored. */
static int nodes_json(const fl_proto_frame *f, char **out, char err[FL_ERR_LEN])
{
	const fl_proto_node **ix = f->n_nodes > 0 ? malloc(f->n_nodes * sizeof(*ix)) : NULL;
	if (f->n_nodes > 0 && ix == NULL)
		return fl_seterr(err, FL_ENOMEM, "out of memory");
	for (uint32_t i = 0; i < f->n_nodes; i++)
		ix[i] = &f->nodes[i];
	if (f->n_nodes > 1)
		qsort(ix, f->n_nodes, sizeof(*ix), cmp_node);
	int rv = FL_OK;
	json_t *arr = json_array();
	if (arr == NULL)
		rv = fl_seterr(err, FL_ENOMEM, "out of memory");
	for (uint32_t i = 0; i < f->n_nodes && rv == FL_OK; i++) {
		const fl_proto_node *n = ix[i];
		if (i > 0 && strcmp(ix[i - 1]->name, n->name) == 0) {
			rv = fl_seterr(err, FL_EINVAL, "node '%s' appears twice in the frame", n->name);
			break;
		}
		if (!fits_int32(n->gpu_count) || !fits_int32(n->gpu_allocation)) {
			rv = fl_seterr(err, FL_EINVAL, "node '%s': gpu_count/gpu_allocation out of range", n->name);
			break;
		}
		json_t *taints = json_array();
		for (uint32_t t = 0; taints != NULL && t < n->n_taints; t++) {
			json_t *tj = json_object();
			if (tj == NULL || put_str(tj, "key", n->taints[t].key) ||
			    put_str(tj, "value", n->taints[t].value) || put_str(tj, "effect", n->taints[t].effect) ||
			    json_array_append_new(taints, tj)) {
				json_decref(tj);
				json_decref(taints);
				taints = NULL;
			}
		}
		json_t *o = json_object();
		if (taints == NULL || o == NULL || put_str(o, "name", n->name) || put_str(o, "address", n->ip) ||
		    put_str(o, "gpu_name", n->gpu_name) || put_int(o, "gpu_count", n->gpu_count) ||
		    put_int(o, "gpu_allocation", n->gpu_allocation) ||
		    put_real(o, "gpu_utilization", n->gpu_utilization, n->has_utilization) ||
		    put_str(o, "status", n->status) ||
		    json_object_set_new(o, "unschedulable", json_boolean(n->unschedulable)) ||
		    json_object_set_new(o, "faulty", json_boolean(n->faulty)) || json_object_set(o, "taints", taints) ||
		    put_int(o, "cpu_millis", n->cpu_millis) || put_int(o, "memory_bytes", n->memory_bytes) ||
		    put_str(o, "kubelet_version", n->kubelet_version) || put_str(o, "os_image", n->os_image) ||
		    put_str(o, "kernel_version", n->kernel_version) ||
		    put_str(o, "container_runtime", n->container_runtime) || json_array_append(arr, o)) {
			rv = fl_seterr(err, FL_EINVAL,
			               "node '%.200s': a text field is not UTF-8 or a number is not finite", n->name);
		}
		json_decref(taints);
		json_decref(o);
	}
	free(ix);
	if (rv == FL_OK && (*out = json_dumps(arr, JSON_COMPACT)) == NULL)
		rv = fl_seterr(err, FL_ENOMEM, "out of memory");
	json_decref(arr);
	return rv;
}

/* Builds the GPU rows of f as a JSON array sorted by (node, gpu_id); FL_EINVAL on a repeated key. */
static int gpus_json(const fl_proto_frame *f, char **out, char err[FL_ERR_LEN])
{
	const fl_proto_gpu **ix = f->n_gpus > 0 ? malloc(f->n_gpus * sizeof(*ix)) : NULL;
	if (f->n_gpus > 0 && ix == NULL)
		return fl_seterr(err, FL_ENOMEM, "out of memory");
	for (uint32_t i = 0; i < f->n_gpus; i++)
		ix[i] = &f->gpus[i];
	if (f->n_gpus > 1)
		qsort(ix, f->n_gpus, sizeof(*ix), cmp_gpu);
	int rv = FL_OK;
	json_t *arr = json_array();
	if (arr == NULL)
		rv = fl_seterr(err, FL_ENOMEM, "out of memory");
	for (uint32_t i = 0; i < f->n_gpus && rv == FL_OK; i++) {
		const fl_proto_gpu *g = ix[i];
		if (i > 0 && cmp_gpu(&ix[i - 1], &ix[i]) == 0) {
			rv = fl_seterr(err, FL_EINVAL, "GPU %d of node '%s' appears twice in the frame", (int)g->gpu_id,
			               g->node);
			break;
		}
		json_t *o = json_object();
		if (o == NULL || put_str(o, "node_name", g->node) || put_int(o, "gpu_id", g->gpu_id) ||
		    put_str(o, "gpu_model", g->gpu_model) || put_int(o, "memory", g->memory_mib) ||
		    put_real(o, "utilization", g->utilization, g->has_utilization) ||
		    put_real(o, "temperature", g->temperature, true) || put_real(o, "power", g->power, true) ||
		    put_str(o, "serial", g->serial) || put_int(o, "numa", g->numa) || json_array_append(arr, o))
			rv = fl_seterr(err, FL_EINVAL,
			               "GPU %d of node '%.200s': a text field is not UTF-8 or a number is not finite",
			               (int)g->gpu_id, g->node);
		json_decref(o);
	}
	free(ix);
	if (rv == FL_OK && (*out = json_dumps(arr, JSON_COMPACT)) == NULL)
		rv = fl_seterr(err, FL_ENOMEM, "out of memory");
	json_decref(arr);
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
    "SELECT c.spoke_id, c.last_seq, c.src_sent_ms, c.src_seq, l.seq, l.version_ms, c.full_sent_ms, c.full_seq"
    " FROM cluster c"
    " LEFT JOIN LATERAL (SELECT seq, version_ms FROM ingest_log WHERE cluster_name = c.name AND spoke_id = $2"
    " ORDER BY seq DESC LIMIT 1) l ON true WHERE c.name = $1";

/* A frame older than the cluster's newest only moves last_frame_at (the cluster is alive). */
static const char SQL_CLUSTER_ALIVE[] =
    "UPDATE cluster SET last_frame_at = GREATEST(last_frame_at, to_timestamp($2::bigint / 1000.0)) WHERE name = $1";

/* The cluster's newest frame: its stream, version and facts. */
static const char SQL_CLUSTER_NEWEST[] =
    "UPDATE cluster SET k8s_version = coalesce($2, k8s_version), spoke_version = coalesce($3, spoke_version),"
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

/* $3, $4: the frame's version. A row is changed only where its stored version is older. */
static const char SQL_NODES[] =
    "INSERT INTO node (cluster_name, name, address, gpu_name, gpu_count, gpu_allocation, gpu_utilization, status,"
    " unschedulable, faulty, taints, cpu_millis, memory_bytes, kubelet_version, os_image, kernel_version,"
    " container_runtime, src_sent_ms, src_seq)"
    " SELECT $1, x.*, $3::bigint, $4::bigint FROM jsonb_to_recordset($2::jsonb) AS x(name text, address text,"
    " gpu_name text, gpu_count int, gpu_allocation int, gpu_utilization double precision, status text,"
    " unschedulable boolean, faulty boolean, taints jsonb, cpu_millis bigint, memory_bytes bigint,"
    " kubelet_version text, os_image text, kernel_version text, container_runtime text)"
    " ON CONFLICT (cluster_name, name) DO UPDATE SET address = EXCLUDED.address, gpu_name = EXCLUDED.gpu_name,"
    " gpu_count = EXCLUDED.gpu_count, gpu_allocation = EXCLUDED.gpu_allocation,"
    " gpu_utilization = EXCLUDED.gpu_utilization, status = EXCLUDED.status,"
    " unschedulable = EXCLUDED.unschedulable, faulty = EXCLUDED.faulty, taints = EXCLUDED.taints,"
    " cpu_millis = EXCLUDED.cpu_millis, memory_bytes = EXCLUDED.memory_bytes,"
    " kubelet_version = EXCLUDED.kubelet_version, os_image = EXCLUDED.os_image,"
    " kernel_version = EXCLUDED.kernel_version, container_runtime = EXCLUDED.container_runtime,"
    " src_sent_ms = EXCLUDED.src_sent_ms, src_seq = EXCLUDED.src_seq, updated_at = now()"
    " WHERE (node.src_sent_ms, node.src_seq) < (EXCLUDED.src_sent_ms, EXCLUDED.src_seq)";

static const char SQL_GPUS[] =
    "INSERT INTO gpu_device (cluster_name, node_name, gpu_id, gpu_model, memory, utilization, temperature, power,"
    " serial, numa, src_sent_ms, src_seq)"
    " SELECT $1, x.*, $3::bigint, $4::bigint FROM jsonb_to_recordset($2::jsonb) AS x(node_name text, gpu_id int,"
    " gpu_model text, memory bigint, utilization double precision, temperature double precision,"
    " power double precision, serial text, numa int)"
    " ON CONFLICT (cluster_name, node_name, gpu_id) DO UPDATE SET gpu_model = EXCLUDED.gpu_model,"
    " memory = EXCLUDED.memory, utilization = EXCLUDED.utilization, temperature = EXCLUDED.temperature,"
    " power = EXCLUDED.power, serial = EXCLUDED.serial, numa = EXCLUDED.numa,"
    " src_sent_ms = EXCLUDED.src_sent_ms, src_seq = EXCLUDED.src_seq, updated_at = now()"
    " WHERE (gpu_device.src_sent_ms, gpu_device.src_seq) < (EXCLUDED.src_sent_ms, EXCLUDED.src_seq)";

/* A full frame, AFTER its upserts: every row it lists now has its version or a newer one, so "older than
 * the frame" is exactly "not listed, and not written by a newer frame". */
static const char SQL_NODES_DELETE_OLDER[] =
    "DELETE FROM node WHERE cluster_name = $1 AND (src_sent_ms, src_seq) < ($2::bigint, $3::bigint)";
static const char SQL_GPUS_DELETE_OLDER[] =
    "DELETE FROM gpu_device WHERE cluster_name = $1 AND (src_sent_ms, src_seq) < ($2::bigint, $3::bigint)";

/* A delta's removed_nodes ($2, a JSON array of names): the nodes and their GPUs, where older. */
static const char SQL_NODES_REMOVE[] =
    "DELETE FROM node WHERE cluster_name = $1 AND name IN (SELECT jsonb_array_elements_text($2::jsonb))"
    " AND (src_sent_ms, src_seq) < ($3::bigint, $4::bigint)";
static const char SQL_GPUS_REMOVE[] =
    "DELETE FROM gpu_device WHERE cluster_name = $1 AND node_name IN (SELECT jsonb_array_elements_text($2::jsonb))"
    " AND (src_sent_ms, src_seq) < ($3::bigint, $4::bigint)";

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
static int read_prior(hub_store *s, const fl_proto_frame *f, hub_seq_prior *p, int64_t *newest_seq,
                      char err[FL_ERR_LEN])
{
	const char *v[] = {f->env.cluster, f->env.spoke_id};
	PGresult *r = NULL;
	int rv = run(s, "read cluster state", SQL_PRIOR, 2, v, PGRES_TUPLES_OK, &r, err);
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
	/* The cluster row also remembers its newest stream, should its ingest_log rows have been pruned. */
	uint64_t cluster_seq = (uint64_t)int_or(r, 0, 1, 0);
	if (strcmp(p->newest_spoke, f->env.spoke_id) == 0 && cluster_seq > p->spoke_last_seq) {
		p->spoke_last_seq = cluster_seq;
		p->spoke_version_ms = p->newest_version_ms;
	}
	PQclear(r);
	return FL_OK;
}

/* Upserts f's nodes, GPUs and overview at version (ver, seq) and deletes what it removes. */
static int write_rows(hub_store *s, const fl_proto_frame *f, const char *nodes, const char *gpus, const char *removed,
                      char ov[20][32], const char *ver, const char *seq, hub_write_result *res, char err[FL_ERR_LEN])
{
	const char *nv[] = {f->env.cluster, nodes, ver, seq};
	const char *gv[] = {f->env.cluster, gpus, ver, seq};
	const char *rmv[] = {f->env.cluster, removed, ver, seq};
	const char *dv[] = {f->env.cluster, ver, seq};
	PGresult *r = NULL;
	int rv;
	if ((rv = run(s, "upsert nodes", SQL_NODES, 4, nv, PGRES_COMMAND_OK, &r, err)) != FL_OK)
		return rv;
	res->node_rows = affected(r);
	PQclear(r);
	if ((rv = run(s, "upsert gpus", SQL_GPUS, 4, gv, PGRES_COMMAND_OK, &r, err)) != FL_OK)
		return rv;
	res->gpu_rows = affected(r);
	PQclear(r);
	const char *del[2] = {NULL, NULL};
	const char *const *dvals = dv;
	int dn = 3;
	if (f->env.kind == FL_FRAME_FULL) {
		del[0] = SQL_NODES_DELETE_OLDER;
		del[1] = SQL_GPUS_DELETE_OLDER;
	} else if (f->n_removed_nodes > 0) {
		del[0] = SQL_NODES_REMOVE;
		del[1] = SQL_GPUS_REMOVE;
		dvals = rmv;
		dn = 4;
	}
	for (int k = 0; k < 2 && del[k] != NULL; k++) {
		if ((rv = run(s, k == 0 ? "delete nodes" : "delete gpus", del[k], dn, dvals, PGRES_COMMAND_OK, &r,
		              err)) != FL_OK)
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
 * (hub_history.c), node, workload, then cluster samples, so the two never deadlock. */
static int write_cluster_sample(hub_store *s, const fl_proto_frame *f, char ov[20][32], const char *ver,
                                char err[FL_ERR_LEN])
{
	if (!f->has_overview)
		return FL_OK;
	const char *util = (f->overview.unknown & FL_OV_UTILIZATION) != 0 ? NULL : ov[7];
	const char *sv[] = {f->env.cluster, ov[8], ov[9], ov[6], util, ver};
	return cmd(s, "cluster sample", SQL_CLUSTER_SAMPLE, 6, sv, err);
}

/* sent_at must fit PostgreSQL's timestamptz and mean something: 1970 .. 9999. */
#define HUB_MAX_SENT_MS 253402300799999LL

/* Issue 5: the frame's node figures appended to node_utilization_history at its sent_at, in the frame's
 * transaction (the same nodes JSON the upsert used). */
static int write_history(hub_store *s, const fl_proto_frame *f, const char *nodes, char err[FL_ERR_LEN])
{
	int64_t rows = 0;
	if (f->n_nodes == 0)
		return FL_OK;
	int rv = hub_history_append(s->conn, f->env.cluster, nodes, f->env.sent_at_ms, &rows, err);
	if (rv != FL_OK)
		hub_metrics_add(HUB_M_DB_ERRORS, 1);
	return rv;
}

PGconn *hub_store_pgconn(hub_store *s, char err[FL_ERR_LEN])
{
	return hub_store_connect(s, err) == FL_OK ? s->conn : NULL;
}

int hub_store_write_frame(hub_store *s, const fl_proto_frame *f, int64_t recv_ms, const hub_write_opts *opts,
                          hub_write_result *res, char err[FL_ERR_LEN])
{
	memset(res, 0, sizeof(*res));
	if (f->env.seq > (uint64_t)INT64_MAX)
		return fl_seterr(err, FL_EINVAL, "seq %" PRIu64 " is out of range", f->env.seq);
	if (f->env.sent_at_ms < 0 || f->env.sent_at_ms > HUB_MAX_SENT_MS)
		return fl_seterr(err, FL_EINVAL, "sent_at %" PRId64 " ms is out of range", f->env.sent_at_ms);
	bool rows = f->env.kind == FL_FRAME_FULL || f->env.kind == FL_FRAME_DELTA;
	char *nodes = NULL, *gpus = NULL, *removed = NULL;
	char ov[20][32];
	int rv = FL_OK;
	/* Everything that can make the frame unstorable is checked before the transaction starts. */
	hub_workload_rows wl = {NULL, NULL, NULL};
	if (rows &&
	    ((rv = nodes_json(f, &nodes, err)) != FL_OK || (rv = gpus_json(f, &gpus, err)) != FL_OK ||
	     (rv = removed_json(f, &removed, err)) != FL_OK || (rv = hub_workload_prepare(f, &wl, err)) != FL_OK))
		goto out;
	if (rows && f->has_overview && (rv = overview_params(&f->overview, ov, err)) != FL_OK)
		goto out;
	if ((rv = hub_store_connect(s, err)) != FL_OK)
		goto out;

	const char *lv[] = {f->env.cluster};
	hub_seq_prior prior;
	memset(&prior, 0, sizeof(prior));
	prior.full_seen = opts->full_seen;
	int64_t newest_seq = 0;
	if ((rv = cmd(s, "BEGIN", "BEGIN", 0, NULL, err)) != FL_OK ||
	    (rv = run(s, "cluster lock", SQL_CLUSTER_LOCK, 1, lv, PGRES_TUPLES_OK, NULL, err)) != FL_OK ||
	    (rv = read_prior(s, f, &prior, &newest_seq, err)) != FL_OK)
		goto out;
	hub_sequence_decide(&prior, &f->env, opts->replay_tolerance_ms, &res->decision);
	if (res->decision.verdict != HUB_SEQ_NEW) {
		rollback(s);
		goto out;
	}

	char seq[24], recv[24], sent[24], ver[24], node_rows[24];
	snprintf(seq, sizeof(seq), "%" PRIu64, f->env.seq);
	snprintf(recv, sizeof(recv), "%" PRId64, recv_ms);
	snprintf(sent, sizeof(sent), "%" PRId64, f->env.sent_at_ms);
	snprintf(ver, sizeof(ver), "%" PRId64, res->decision.version_ms);
	hub_workload_counts wc;
	if (rows && !res->decision.superseded &&
	    ((rv = write_rows(s, f, nodes, gpus, removed, ov, ver, seq, res, err)) != FL_OK ||
	     (rv = write_history(s, f, nodes, err)) != FL_OK ||
	     (rv = hub_workload_write(s->conn, f, &wl, ver, seq, &wc, err)) != FL_OK ||
	     (rv = write_cluster_sample(s, f, ov, ver, err)) != FL_OK))
		goto out;
	if (rows && !res->decision.superseded) {
		res->workload_rows = wc.pod_rows + wc.workload_rows;
		res->rows_deleted += wc.pods_deleted;
	}
	const char *fv[] = {f->env.cluster, ver, seq};
	if (f->env.kind == FL_FRAME_FULL && !res->decision.superseded &&
	    (rv = cmd(s, "update cluster", SQL_CLUSTER_FULL, 3, fv, err)) != FL_OK)
		goto out;

	int64_t v = res->decision.version_ms;
	bool newest = !prior.cluster_seen || v > prior.newest_version_ms ||
	              (v == prior.newest_version_ms && (int64_t)f->env.seq > newest_seq);
	const char *cv[] = {f->env.cluster,
	                    f->has_facts ? f->facts.k8s_version : NULL,
	                    f->has_facts ? f->facts.spoke_version : NULL,
	                    f->has_facts ? f->facts.source : NULL,
	                    f->env.spoke_id,
	                    seq,
	                    recv,
	                    sent,
	                    ver};
	const char *av[] = {f->env.cluster, recv};
	if ((rv = newest ? cmd(s, "update cluster", SQL_CLUSTER_NEWEST, 9, cv, err)
	                 : cmd(s, "update cluster", SQL_CLUSTER_ALIVE, 2, av, err)) != FL_OK)
		goto out;

	snprintf(node_rows, sizeof(node_rows), "%" PRId64, res->node_rows);
	const char *kind = fl_proto_kind_name(f->env.kind);
	const char *logv[] = {f->env.cluster, f->env.spoke_id, seq, kind != NULL ? kind : "?", sent, ver,
	                      recv,           node_rows};
	PGresult *r = NULL;
	if ((rv = run(s, "ingest_log", SQL_INGEST_LOG, 8, logv, PGRES_COMMAND_OK, &r, err)) != FL_OK)
		goto out;
	bool logged = affected(r) == 1;
	PQclear(r);
	if (!logged) {
		/* Cannot happen under the cluster lock unless the rules above miss a repeat; the key still holds. */
		rollback(s);
		memset(res, 0, sizeof(*res));
		res->decision.verdict = HUB_SEQ_DUPLICATE;
		goto out;
	}
	if (opts->instance != NULL) {
		char payload[FL_CLUSTER_LEN + 160];
		snprintf(payload, sizeof(payload), "%s\t%.100s\t%s\t%s", f->env.cluster, opts->instance,
		         kind != NULL ? kind : "?", recv);
		const char *nv[] = {payload};
		if ((rv = run(s, "notify", "SELECT pg_notify('" HUB_STORE_CHANNEL "', $1)", 1, nv, PGRES_TUPLES_OK,
		              NULL, err)) != FL_OK)
			goto out;
	}
	rv = cmd(s, "COMMIT", "COMMIT", 0, NULL, err);
out:
	/* Any error, not only FL_EDB: a transaction left open would hold the cluster lock for every hub. */
	if (rv != FL_OK)
		rollback(s);
	free(nodes);
	free(gpus);
	free(removed);
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
	if ((rv = run(s, "prune ingest_log", SQL_PRUNE, 2, v, PGRES_COMMAND_OK, &r, err)) != FL_OK)
		return rv;
	*deleted = affected(r);
	PQclear(r);
	return FL_OK;
}

/* --- reads for the API --------------------------------------------------------------------------- */

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
	if ((rv = run(s, "read overview", sql, 1, v, PGRES_TUPLES_OK, &r, err)) != FL_OK)
		return rv;
	if (PQntuples(r) == 1) {
		overview_from_row(r, 0, out, updated_ms);
		*found = true;
	}
	PQclear(r);
	return FL_OK;
}

int hub_store_read_overviews(hub_store *s, json_t **out, char err[FL_ERR_LEN])
{
	*out = NULL;
	int rv = hub_store_connect(s, err);
	if (rv != FL_OK)
		return rv;
	PGresult *r = NULL;
	if ((rv = run(s, "read overviews", SQL_READ_OVERVIEW, 0, NULL, PGRES_TUPLES_OK, &r, err)) != FL_OK)
		return rv;
	json_t *all = json_object();
	for (int row = 0; all != NULL && row < PQntuples(r); row++) {
		fl_proto_overview o;
		int64_t updated_ms;
		char when[40];
		overview_from_row(r, row, &o, &updated_ms);
		fl_format_time(updated_ms, when, sizeof(when));
		json_t *j = fl_proto_overview_to_json(&o);
		if (j == NULL || json_object_set_new(j, "updatedAt", json_string(when)) != 0 ||
		    json_object_set_new(all, PQgetvalue(r, row, 21), j) != 0) {
			json_decref(all);
			all = NULL;
		}
	}
	PQclear(r);
	if (all == NULL)
		return fl_seterr(err, FL_ENOMEM, "out of memory");
	*out = all;
	return FL_OK;
}

int hub_store_read_nodes(hub_store *s, const char *cluster, int64_t limit, int64_t offset, json_t **rows,
                         int64_t *total, char err[FL_ERR_LEN])
{
	*rows = NULL;
	*total = 0;
	int rv = hub_store_connect(s, err);
	if (rv != FL_OK)
		return rv;
	char lim[32], off[32];
	snprintf(lim, sizeof(lim), "%" PRId64, limit);
	snprintf(off, sizeof(off), "%" PRId64, offset);
	const char *v[] = {lim, off, cluster};
	int n = cluster != NULL ? 3 : 2;
	const char *page_sql =
	    cluster != NULL ? "SELECT name, address, gpu_name, gpu_count, gpu_allocation, gpu_utilization, status,"
	                      " cluster_name FROM node WHERE cluster_name = $3 ORDER BY cluster_name, name"
	                      " LIMIT $1 OFFSET $2"
	                    : "SELECT name, address, gpu_name, gpu_count, gpu_allocation, gpu_utilization, status,"
	                      " cluster_name FROM node ORDER BY cluster_name, name LIMIT $1 OFFSET $2";
	const char *count_sql =
	    cluster != NULL ? "SELECT count(*) FROM node WHERE cluster_name = $1" : "SELECT count(*) FROM node";
	PGresult *r = NULL;
	if ((rv = run(s, "count nodes", count_sql, cluster != NULL ? 1 : 0, cluster != NULL ? &v[2] : NULL,
	              PGRES_TUPLES_OK, &r, err)) != FL_OK)
		return rv;
	*total = int_or(r, 0, 0, 0);
	PQclear(r);
	if ((rv = run(s, "read nodes", page_sql, n, v, PGRES_TUPLES_OK, &r, err)) != FL_OK)
		return rv;
	json_t *arr = json_array();
	for (int row = 0; arr != NULL && row < PQntuples(r); row++) {
		json_t *util = PQgetisnull(r, row, 5) ? json_null() : json_real(strtod(PQgetvalue(r, row, 5), NULL));
		json_t *o = json_pack("{s:s,s:s,s:s,s:I,s:I,s:o,s:s,s:s}", "name", PQgetvalue(r, row, 0), "ip",
		                      PQgetvalue(r, row, 1), "gpu_name", PQgetvalue(r, row, 2), "gpu_count",
		                      (json_int_t)int_or(r, row, 3, 0), "gpu_allocation",
		                      (json_int_t)int_or(r, row, 4, 0), "gpu_utilization", util, "status",
		                      PQgetvalue(r, row, 6), "cluster_name", PQgetvalue(r, row, 7));
		if (o == NULL || json_array_append_new(arr, o) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	PQclear(r);
	if (arr == NULL)
		return fl_seterr(err, FL_ENOMEM, "out of memory");
	*rows = arr;
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

static const char SQL_VIEW_NODES[] =
    "SELECT name, address, gpu_name, gpu_count, gpu_allocation, gpu_utilization, status, unschedulable, faulty,"
    " taints::text, cpu_millis, memory_bytes, kubelet_version, os_image, kernel_version, container_runtime"
    " FROM node WHERE cluster_name = $1";

static const char SQL_VIEW_GPUS[] = "SELECT node_name, gpu_id, gpu_model, memory, utilization, temperature, power,"
                                    " serial, numa FROM gpu_device WHERE cluster_name = $1";

/* Reads cluster's node and GPU rows into f (its nodes and gpus arrays, owned by f). */
static int load_rows(hub_store *s, const char *cluster, fl_proto_frame *f, char err[FL_ERR_LEN])
{
	const char *v[] = {cluster};
	PGresult *r = NULL;
	int rv = run(s, "load nodes", SQL_VIEW_NODES, 1, v, PGRES_TUPLES_OK, &r, err);
	if (rv != FL_OK)
		return rv;
	int n = PQntuples(r);
	if (n > 0 && (f->nodes = calloc((size_t)n, sizeof(*f->nodes))) == NULL) {
		PQclear(r);
		return fl_seterr(err, FL_ENOMEM, "out of memory");
	}
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
		if (!PQgetisnull(r, row, 9) && taints_from_json(PQgetvalue(r, row, 9), d) != FL_OK) {
			PQclear(r);
			return fl_seterr(err, FL_ENOMEM, "out of memory");
		}
		d->cpu_millis = int_or(r, row, 10, 0);
		d->memory_bytes = int_or(r, row, 11, 0);
		copy_col(d->kubelet_version, sizeof(d->kubelet_version), r, row, 12);
		copy_col(d->os_image, sizeof(d->os_image), r, row, 13);
		copy_col(d->kernel_version, sizeof(d->kernel_version), r, row, 14);
		copy_col(d->container_runtime, sizeof(d->container_runtime), r, row, 15);
	}
	PQclear(r);
	if ((rv = run(s, "load gpus", SQL_VIEW_GPUS, 1, v, PGRES_TUPLES_OK, &r, err)) != FL_OK)
		return rv;
	n = PQntuples(r);
	if (n > 0 && (f->gpus = calloc((size_t)n, sizeof(*f->gpus))) == NULL) {
		PQclear(r);
		return fl_seterr(err, FL_ENOMEM, "out of memory");
	}
	for (int row = 0; row < n; row++) {
		fl_proto_gpu *g = &f->gpus[f->n_gpus++];
		copy_col(g->node, sizeof(g->node), r, row, 0);
		g->gpu_id = (int32_t)int_or(r, row, 1, 0);
		copy_col(g->gpu_model, sizeof(g->gpu_model), r, row, 2);
		g->memory_mib = int_or(r, row, 3, 0);
		g->has_utilization = !PQgetisnull(r, row, 4);
		g->utilization = real_or(r, row, 4, 0);
		g->temperature = real_or(r, row, 5, 0);
		g->power = real_or(r, row, 6, 0);
		copy_col(g->serial, sizeof(g->serial), r, row, 7);
		g->numa = (int32_t)int_or(r, row, 8, -1);
	}
	PQclear(r);
	return FL_OK;
}

static const char SQL_VIEW_CLUSTER[] =
    "SELECT (extract(epoch FROM last_frame_at) * 1000)::bigint, spoke_id, last_seq,"
    " (extract(epoch FROM last_sent_at) * 1000)::bigint, k8s_version, spoke_version, source, src_sent_ms"
    " FROM cluster WHERE name = $1";

/* Inside the snapshot transaction: the cluster row, its overview and its rows. */
static int read_cluster_locked(hub_store *s, const char *cluster, fl_proto_frame *f, hub_cluster_read *out,
                               char err[FL_ERR_LEN])
{
	const char *v[] = {cluster};
	PGresult *cr = NULL;
	int rv = run(s, "load cluster", SQL_VIEW_CLUSTER, 1, v, PGRES_TUPLES_OK, &cr, err);
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
		rollback(s);
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
		rv = hub_store_read_cluster(s, hub_view_conf(view, i)->name, &f, &cr, err);
		if (rv == FL_OK && hub_view_load(view, i, &f, cr.last_frame_ms, cr.overview_ms) != FL_OK)
			rv = fl_seterr(err, FL_ENOMEM, "view of cluster %s: out of memory", f.env.cluster);
		fl_proto_frame_free(&f);
	}
	return rv;
}
