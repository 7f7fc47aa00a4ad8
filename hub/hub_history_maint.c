/* hub_history_maint.c — the hub's upkeep thread: history day partitions and retention pruning, hourly, and
 * the hourly rollups and the node agents' lost sweep it calls on every wake-up. */
#include "hub_history_maint.h"

#include <errno.h>
#include <inttypes.h>
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

/* The partitioned history tables (sql/hub/004_history.sql, 005_workloads.sql, 007_lens.sql, 010, 013), kept alike,
 * in the order a frame's transaction appends to them (hub_store_write_frame): the upkeep locks each against
 * writers while it creates a partition, so another order would let a frame and the upkeep deadlock. A node
 * frame's transaction (hub_node_apply) appends to gpu_job_sample only, and locks it before any gpu_job row, which
 * the upkeep deletes after the tables. */
static const char *const history_tables[] = {"node_utilization_history", "workload_utilization_history",
                                             "pod_utilization_history", "cluster_sample_history", "gpu_job_sample"};

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

/* --- the maintenance thread ---------------------------------------------------------------------- */

struct hub_history_maint {
	const hub_config *cfg;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	PGconn *conn;
};

/* The connection of the thread, (re)connected; NULL when the database cannot be reached (logged). */
static PGconn *thread_conn(hub_history_maint *h)
{
	if (hub_sql_connect(&h->conn, h->cfg->database_url, "fleetlens-hub-history", NULL) != FL_OK) {
		char err[FL_ERR_LEN] = "connect: out of memory";
		if (h->conn != NULL)
			hub_sql_fail(h->conn, NULL, "connect", err);
		fl_warn("history: cannot connect to the hub database: %s", err);
		return NULL;
	}
	return h->conn;
}

/* Node agents silent for node_lost_after, and their running jobs, become lost. */
static void sweep_once(hub_history_maint *h)
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

static void maintain_once(hub_history_maint *h)
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
static void rollup_once(hub_history_maint *h)
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
	hub_history_maint *h = arg;
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

int hub_history_maint_start(const hub_config *cfg, hub_history_maint **out, char err[FL_ERR_LEN])
{
	*out = NULL;
	hub_history_maint *h = calloc(1, sizeof(*h));
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

void hub_history_maint_stop(hub_history_maint *h)
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
