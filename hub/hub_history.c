/* hub_history.c — node samples: the COPY append, day partitions, the read, the maintenance thread. */
#include "hub_history.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fl_log.h"
#include "fl_time.h"
#include "hub_metrics.h"
#include "hub_node.h"
#include "hub_rollup.h"
#include "hub_sql.h"

#define DAY_MS       (86400LL * 1000)
#define ROLLUP_HOURS 6 /* hours rolled up per wake-up at most */

/* The partitioned history tables (sql/hub/004_history.sql, 005_workloads.sql, 007_lens.sql, 010), kept alike, in
 * the order a frame's transaction appends to them (hub_store_write_frame): the upkeep locks each against
 * writers while it creates a partition, so another order would let a frame and the upkeep deadlock. */
static const char *const history_tables[] = {"node_utilization_history", "workload_utilization_history",
                                             "pod_utilization_history", "cluster_sample_history"};

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

/* "YYYYMMDD" and "YYYY-MM-DD" of the UTC day holding ms (years 1970..9999: the hub's clock). */
static void day_names(int64_t ms, char compact[16], char iso[16])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	unsigned y = (unsigned)(tm.tm_year + 1900) % 10000u, m = (unsigned)(tm.tm_mon + 1) % 100u,
	         d = (unsigned)tm.tm_mday % 100u;
	snprintf(compact, 16, "%04u%02u%02u", y, m, d);
	snprintf(iso, 16, "%04u-%02u-%02u", y, m, d);
}

/* base's day partition of day_ms (00:00 UTC), created with its rows moved out of DEFAULT. Names and
 * bounds are constants and digits we formatted: DDL cannot take parameters. */
static int create_day(PGconn *c, const char *base, int64_t day_ms, bool *made, char err[FL_ERR_LEN])
{
	char d[16], iso[16], nd[16], niso[16], sql[1024];
	day_names(day_ms, d, iso);
	day_names(day_ms + DAY_MS, nd, niso);
	*made = false;
	snprintf(sql, sizeof(sql), "SELECT to_regclass('%s_%s') IS NULL", base, d);
	PGresult *r = NULL;
	int rv = hub_sql_exec(c, sql, 0, NULL, PGRES_TUPLES_OK, &r, "history partitions", err);
	if (rv != FL_OK)
		return rv;
	bool missing = PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	if (!missing)
		return FL_OK;
	/* ATTACH PARTITION lets inserts go on (it takes only SHARE UPDATE EXCLUSIVE on the parent), and an
	 * insert routed to DEFAULT just before it then fails its partition check ("violates partition
	 * constraint"): a frame committing at that moment was refused. So writers wait for this transaction
	 * (SHARE ROW EXCLUSIVE conflicts with their ROW EXCLUSIVE), once a day per table. */
	snprintf(sql, sizeof(sql),
	         "LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE;"
	         " CREATE TABLE %s_%s (LIKE %s);"
	         " WITH moved AS (DELETE FROM %s_default WHERE sampled_at >= '%s 00:00:00+00'"
	         " AND sampled_at < '%s 00:00:00+00' RETURNING *) INSERT INTO %s_%s SELECT * FROM moved;"
	         " ALTER TABLE %s ATTACH PARTITION %s_%s FOR VALUES FROM ('%s 00:00:00+00') TO ('%s 00:00:00+00')",
	         base, base, d, base, base, iso, niso, base, d, base, base, d, iso, niso);
	PGresult *x = PQexec(c, sql);
	if (PQresultStatus(x) != PGRES_COMMAND_OK)
		return hub_sql_fail(c, x, "creating a history partition", err);
	PQclear(x);
	*made = true;
	return FL_OK;
}

static const char SQL_PARTS[] = "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                                " WHERE i.inhparent = $1::regclass";

/* Inside the transaction, for one history table: create ahead, drop old, prune DEFAULT. */
static int maintain_table(PGconn *c, const char *base, int64_t now_ms, int64_t retention_ms, int *created, int *dropped,
                          char err[FL_ERR_LEN])
{
	int rv;
	int64_t today = now_ms - ((now_ms % DAY_MS) + DAY_MS) % DAY_MS;
	for (int k = 0; k <= HUB_HISTORY_DAYS_AHEAD; k++) {
		bool made;
		if ((rv = create_day(c, base, today + k * DAY_MS, &made, err)) != FL_OK)
			return rv;
		*created += made;
	}
	int64_t cutoff = now_ms - retention_ms;
	char cut_d[16], cut_iso[16];
	day_names(cutoff, cut_d, cut_iso);
	PGresult *r = NULL;
	const char *pv[] = {base};
	if ((rv = hub_sql_exec(c, SQL_PARTS, 1, pv, PGRES_TUPLES_OK, &r, "listing history partitions", err)) != FL_OK)
		return rv;
	size_t blen = strlen(base);
	for (int i = 0; i < PQntuples(r) && rv == FL_OK; i++) {
		const char *name = PQgetvalue(r, i, 0);
		const char *day = name + blen + 1;
		if (strncmp(name, base, blen) != 0 || name[blen] != '_' || strlen(day) != 8 ||
		    strspn(day, "0123456789") != 8)
			continue;
		/* The partition of day D ends at D+1 00:00; it goes when that is at or before the cutoff, i.e.
		 * D < the cutoff's day (YYYYMMDD strings order like dates). */
		if (strcmp(day, cut_d) >= 0)
			continue;
		char sql[128];
		snprintf(sql, sizeof(sql), "DROP TABLE %s_%s", base, day);
		PGresult *x = PQexec(c, sql);
		if (PQresultStatus(x) != PGRES_COMMAND_OK) {
			rv = hub_sql_fail(c, x, "dropping a history partition", err);
			break;
		}
		PQclear(x);
		(*dropped)++;
	}
	PQclear(r);
	if (rv != FL_OK)
		return rv;
	char ms[24], sql[160];
	snprintf(ms, sizeof(ms), "%" PRId64, cutoff);
	snprintf(sql, sizeof(sql), "DELETE FROM %s_default WHERE sampled_at < to_timestamp($1::bigint / 1000.0)", base);
	const char *v[] = {ms};
	return hub_sql_exec(c, sql, 1, v, PGRES_COMMAND_OK, NULL, "pruning the default history partition", err);
}

/* Inside the transaction: every history table, then the workloads that ended before the cutoff. */
static int maintain_locked(PGconn *c, int64_t now_ms, int64_t retention_ms, int *created, int *dropped,
                           char err[FL_ERR_LEN])
{
	int rv = FL_OK;
	for (size_t t = 0; t < sizeof(history_tables) / sizeof(history_tables[0]) && rv == FL_OK; t++)
		rv = maintain_table(c, history_tables[t], now_ms, retention_ms, created, dropped, err);
	if (rv != FL_OK)
		return rv;
	char ms[24];
	snprintf(ms, sizeof(ms), "%" PRId64, now_ms - retention_ms);
	const char *v[] = {ms};
	rv = hub_sql_exec(c,
	                  "DELETE FROM gpu_workload WHERE status NOT IN ('Running', 'Pending')"
	                  " AND ended_at < to_timestamp($1::bigint / 1000.0)",
	                  1, v, PGRES_COMMAND_OK, NULL, "pruning ended workloads", err);
	if (rv == FL_OK)
		rv = hub_sql_exec(
		    c, "DELETE FROM gpu_job WHERE status = 'ended' AND ended_at < to_timestamp($1::bigint / 1000.0)", 1,
		    v, PGRES_COMMAND_OK, NULL, "pruning ended jobs", err);
	if (rv == FL_OK)
		rv = hub_sql_exec(
		    c, "DELETE FROM node_device_changelog WHERE changed_at < to_timestamp($1::bigint / 1000.0)", 1, v,
		    PGRES_COMMAND_OK, NULL, "pruning the device change log", err);
	/* The Lens face's pod history (007_lens.sql); the hourly rollups keep hub.rollup_retention instead
	 * (hub_rollup_prune, from rollup_once). */
	static const char *const pruned[][2] = {{"gpu_pod_history", "ended_at"}};
	for (size_t t = 0; t < sizeof(pruned) / sizeof(pruned[0]) && rv == FL_OK; t++) {
		char sql[128];
		snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE %s < to_timestamp($1::bigint / 1000.0)", pruned[t][0],
		         pruned[t][1]);
		rv = hub_sql_exec(c, sql, 1, v, PGRES_COMMAND_OK, NULL, pruned[t][0], err);
	}
	return rv;
}

int hub_history_maintain(PGconn *c, int64_t now_ms, int64_t retention_ms, int *created, int *dropped,
                         char err[FL_ERR_LEN])
{
	*created = 0;
	*dropped = 0;
	char lock[96];
	snprintf(lock, sizeof(lock), "SELECT pg_advisory_xact_lock(%d, 2)", HUB_HISTORY_LOCK_CLASS);
	int rv = hub_sql_exec(c, "BEGIN", 0, NULL, PGRES_COMMAND_OK, NULL, "BEGIN", err);
	if (rv != FL_OK)
		return rv;
	if ((rv = hub_sql_exec(c, lock, 0, NULL, PGRES_TUPLES_OK, NULL, "history lock", err)) == FL_OK &&
	    (rv = maintain_locked(c, now_ms, retention_ms, created, dropped, err)) == FL_OK)
		rv = hub_sql_exec(c, "COMMIT", 0, NULL, PGRES_COMMAND_OK, NULL, "COMMIT", err);
	if (rv != FL_OK) {
		PQclear(PQexec(c, "ROLLBACK"));
		*created = *dropped = 0;
	}
	return rv;
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

/* --- the maintenance thread ---------------------------------------------------------------------- */

struct hub_history {
	const hub_config *cfg;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	PGconn *conn;
};

/* The connection of the thread, (re)connected; NULL when the database cannot be reached (logged). */
static PGconn *thread_conn(hub_history *h)
{
	if (hub_sql_connect(&h->conn, h->cfg->database_url, "fleetlens-hub-history", NULL) != FL_OK) {
		fl_warn("history: cannot connect to the hub database: %s",
		        h->conn != NULL ? PQerrorMessage(h->conn) : "out of memory");
		return NULL;
	}
	return h->conn;
}

/* Node agents silent for node_lost_after, and their running jobs, become lost. */
static void sweep_once(hub_history *h)
{
	char err[FL_ERR_LEN], names[256];
	int64_t agents = 0, jobs = 0;
	if (thread_conn(h) == NULL)
		return;
	if (hub_node_sweep(h->conn, fl_now_ms() - h->cfg->node_lost_after_ms, &agents, &jobs, names, err) != FL_OK) {
		fl_warn("node agents: lost sweep failed (retried next time): %s", err);
		return;
	}
	hub_metrics_add(HUB_M_AGENTS_LOST, (uint64_t)agents);
	hub_metrics_add(HUB_M_JOBS_LOST, (uint64_t)jobs);
	if (agents > 0)
		fl_warn("node agents lost (no frame for %lld s): %lld (%s); %lld running jobs marked lost",
		        (long long)(h->cfg->node_lost_after_ms / 1000), (long long)agents, names, (long long)jobs);
}

static void maintain_once(hub_history *h)
{
	char err[FL_ERR_LEN];
	if (thread_conn(h) == NULL)
		return;
	int created = 0, dropped = 0;
	if (hub_history_maintain(h->conn, fl_now_ms(), h->cfg->history_retention_ms, &created, &dropped, err) != FL_OK)
		fl_warn("history: partition upkeep failed (retried in an hour): %s", err);
	else if (created + dropped > 0)
		fl_info("history: %d day partitions created, %d dropped (retention %lld h)", created, dropped,
		        (long long)(h->cfg->history_retention_ms / 3600000));
}

/* The completed hours not rolled up yet, a few per wake-up (a new hub catches up over the retention). */
static void rollup_once(hub_history *h)
{
	char err[FL_ERR_LEN];
	int hours = 0;
	if (thread_conn(h) == NULL)
		return;
	/* Hours are rolled up while their samples are kept (history_retention); the rows stay rollup_retention,
	 * pruned whenever this hub rolled up an hour (hourly, and when it catches up after a start). */
	int rv = hub_rollup_run(h->conn, fl_now_ms(), h->cfg->history_retention_ms, h->cfg->idle_threshold,
	                        ROLLUP_HOURS, &hours, err);
	hub_metrics_add(HUB_M_ROLLUP_HOURS, (uint64_t)hours);
	if (rv != FL_OK)
		fl_warn("history: hourly rollup failed (retried next time): %s", err);
	if (hours > 0)
		fl_info("history: rolled up %d hour%s into the hourly statistics", hours, hours == 1 ? "" : "s");
	int64_t pruned = 0;
	if (hours > 0 && hub_rollup_prune(h->conn, fl_now_ms(), h->cfg->rollup_retention_ms, &pruned, err) != FL_OK)
		fl_warn("history: pruning the hourly statistics failed (retried next hour): %s", err);
	else if (pruned > 0)
		fl_info("history: %lld hourly statistics rows older than %lld days deleted", (long long)pruned,
		        (long long)(h->cfg->rollup_retention_ms / 86400000));
}

/* How often the lost sweep runs: a quarter of node_lost_after, 250 ms .. 30 s. */
static int64_t sweep_every_ms(const hub_config *cfg)
{
	int64_t ms = cfg->node_lost_after_ms / 4;
	return ms < 250 ? 250 : ms > 30000 ? 30000 : ms;
}

static void *run(void *arg)
{
	hub_history *h = arg;
	int64_t next_maintain = 0;
	pthread_mutex_lock(&h->mu);
	while (!h->stop) {
		pthread_mutex_unlock(&h->mu);
		if (fl_mono_ms() >= next_maintain) {
			maintain_once(h);
			next_maintain = fl_mono_ms() + HUB_HISTORY_MAINTAIN_MS;
		}
		rollup_once(h);
		sweep_once(h);
		pthread_mutex_lock(&h->mu);
		struct timespec dl;
		clock_gettime(CLOCK_MONOTONIC, &dl);
		int64_t wait = sweep_every_ms(h->cfg);
		dl.tv_sec += wait / 1000;
		dl.tv_nsec += (wait % 1000) * 1000000;
		if (dl.tv_nsec >= 1000000000) {
			dl.tv_sec++;
			dl.tv_nsec -= 1000000000;
		}
		while (!h->stop && pthread_cond_timedwait(&h->cv, &h->mu, &dl) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

int hub_history_start(const hub_config *cfg, hub_history **out, char err[FL_ERR_LEN])
{
	*out = NULL;
	hub_history *h = calloc(1, sizeof(*h));
	if (h == NULL)
		return fl_seterr(err, FL_ENOMEM, "history: out of memory");
	h->cfg = cfg;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&h->mu, NULL);
	if (pthread_create(&h->thread, NULL, run, h) != 0) {
		pthread_cond_destroy(&h->cv);
		pthread_mutex_destroy(&h->mu);
		free(h);
		return fl_seterr(err, FL_EIO, "history: cannot start its thread");
	}
	*out = h;
	return FL_OK;
}

void hub_history_stop(hub_history *h)
{
	if (h == NULL)
		return;
	pthread_mutex_lock(&h->mu);
	h->stop = true;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
	pthread_join(h->thread, NULL);
	PQfinish(h->conn);
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mu);
	free(h);
}
