/* hub_safe.c — the SaFE sync thread: one cycle (hub_safe_sync_once) every hub.safe_sync_interval on its own
 * connections to the hub and SaFE databases, failures counted and logged at most once a minute. */
#include "hub_safe.h"
#include "hub_safe_metrics.h"
#include "hub_sql.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fl_log.h"
#include "fl_time.h"

#define ERROR_LOG_EVERY_MS (60 * 1000)

/* --- the thread ---------------------------------------------------------------------------------- */

struct hub_safe {
	const hub_config *cfg;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	PGconn *hub, *safe;
	PGcancel *cancel_hub, *cancel_safe; /* of the cycle in progress, under mu: hub_safe_stop cancels it */
	hub_registry *reg;                  /* borrowed: each cycle's clusters come from its current generation */
	const char **clusters;              /* HUB_MAX_CLUSTERS: the cycle's clusters' names ... */
	const char **safe_ids;              /* ... and SaFE's id of each (hub_cluster_conf.safe_cluster_id) */
	fl_log_limit error_log;             /* failed cycles: one line per ERROR_LOG_EVERY_MS, cleared on recovery */
	uint64_t failures;                  /* consecutive failed cycles */
};

/* Connects *c to url (hub_sql_connect; statement_timeout 10 min unless the URL sets it: a cycle never
 * hangs for good on a lock someone holds) or resets a broken connection. */
static int ensure_conn(PGconn **c, const char *url, const char *what, char err[FL_ERR_LEN])
{
	int rv = hub_sql_connect(c, url, "fleetlens-hub-safe", "-c statement_timeout=600000");
	if (rv == FL_ENOMEM)
		return fl_seterr(err, FL_ENOMEM, "%s: out of memory", what);
	if (rv != FL_OK)
		return hub_sql_fail(*c, NULL, what, err);
	return FL_OK;
}

static void cycle(hub_safe *s)
{
	char err[FL_ERR_LEN];
	hub_safe_stats st;
	int64_t t0 = fl_mono_ms();
	int rv = ensure_conn(&s->hub, s->cfg->database_url, "hub database", err);
	if (rv == FL_OK)
		rv = ensure_conn(&s->safe, s->cfg->safe_database_url, "SaFE database", err);
	if (rv == FL_OK) {
		pthread_mutex_lock(&s->mu);
		bool stopping = s->stop;
		s->cancel_hub = PQgetCancel(s->hub);
		s->cancel_safe = PQgetCancel(s->safe);
		pthread_mutex_unlock(&s->mu);
		if (!stopping) {
			hub_clusters *cs = hub_registry_clusters(s->reg); /* names and ids stay valid while held */
			size_t n = 0;
			for (size_t i = 0; i < cs->n; i++) {
				if (cs->conf[i] == NULL)
					continue;
				s->clusters[n] = cs->conf[i]->name;
				s->safe_ids[n++] = cs->conf[i]->safe_cluster_id;
			}
			rv = hub_safe_sync_once(s->hub, s->safe, s->clusters, s->safe_ids, n, &st, err);
			hub_clusters_release(cs);
		}
		pthread_mutex_lock(&s->mu);
		PQfreeCancel(s->cancel_hub);
		PQfreeCancel(s->cancel_safe);
		s->cancel_hub = s->cancel_safe = NULL;
		pthread_mutex_unlock(&s->mu);
		if (stopping)
			return;
	}
	if (rv != FL_OK) {
		hub_safe_metrics_cycle_failed();
		s->failures++;
		uint64_t suppressed;
		if (fl_log_limit_allow(&s->error_log, ERROR_LOG_EVERY_MS, &suppressed))
			fl_warn(
			    "safe sync failed (retrying every %llds; %llu failures not logged since the last line): %s",
			    (long long)(s->cfg->safe_sync_interval_ms / 1000), (unsigned long long)suppressed, err);
		return;
	}
	hub_safe_metrics_cycle_ok(&st);
	if (s->failures > 0)
		fl_info("safe sync recovered after %llu failed cycles", (unsigned long long)s->failures);
	s->failures = 0;
	atomic_store(&s->error_log.last_ms, 0); /* the next failure is logged at once */
	atomic_store(&s->error_log.suppressed, 0);
	/* Touching confirmed rows happens every cycle: only other writes make the line INFO. */
	bool wrote = st.insert + st.update + st.revive + st.del + st.wl_insert + st.wl_update > 0;
	fl_log(wrote ? FL_LOG_INFO : FL_LOG_DEBUG,
	       "safe sync: %zu clusters; nodes: %zu inserted, %zu updated, %zu revived, %zu deleted, %zu touched "
	       "(value unchanged), %zu skipped; SaFE workloads: %zu inserted, %zu updated, %zu touched, %zu skipped; "
	       "%zu duplicate rows left alone, %lld ms",
	       st.clusters, st.insert, st.update, st.revive, st.del, st.touch, st.skipped, st.wl_insert, st.wl_update,
	       st.wl_touch, st.wl_skipped, st.duplicates, (long long)(fl_mono_ms() - t0));
}

static void *run(void *arg)
{
	hub_safe *s = arg;
	pthread_mutex_lock(&s->mu);
	while (!s->stop) {
		pthread_mutex_unlock(&s->mu);
		cycle(s);
		pthread_mutex_lock(&s->mu);
		struct timespec dl;
		clock_gettime(CLOCK_MONOTONIC, &dl);
		int64_t ns = dl.tv_nsec + (s->cfg->safe_sync_interval_ms % 1000) * 1000000;
		dl.tv_sec += s->cfg->safe_sync_interval_ms / 1000 + ns / 1000000000;
		dl.tv_nsec = ns % 1000000000;
		while (!s->stop && pthread_cond_timedwait(&s->cv, &s->mu, &dl) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

int hub_safe_start(const hub_config *cfg, hub_registry *reg, hub_safe **out, char err[FL_ERR_LEN])
{
	*out = NULL;
	if (cfg->safe_database_url[0] == '\0')
		return FL_OK;
	hub_safe *s = calloc(1, sizeof(*s));
	if (s == NULL || (s->clusters = calloc(HUB_MAX_CLUSTERS, sizeof(*s->clusters))) == NULL ||
	    (s->safe_ids = calloc(HUB_MAX_CLUSTERS, sizeof(*s->safe_ids))) == NULL) {
		if (s != NULL)
			free(s->clusters);
		free(s);
		return fl_seterr(err, FL_ENOMEM, "safe sync: out of memory");
	}
	s->cfg = cfg;
	s->reg = reg;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&s->mu, NULL);
	if (pthread_create(&s->thread, NULL, run, s) != 0) {
		pthread_cond_destroy(&s->cv);
		pthread_mutex_destroy(&s->mu);
		free(s->clusters);
		free(s->safe_ids);
		free(s);
		return fl_seterr(err, FL_EIO, "safe sync: cannot start its thread");
	}
	hub_safe_metrics_set_enabled(1);
	fl_info("safe sync started: every %lld ms, %zu clusters", (long long)cfg->safe_sync_interval_ms,
	        cfg->n_clusters);
	*out = s;
	return FL_OK;
}

void hub_safe_stop(hub_safe *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_signal(&s->cv);
	char buf[256]; /* a cycle in progress (waiting on a lock, a slow database) is cancelled */
	if (s->cancel_hub != NULL)
		PQcancel(s->cancel_hub, buf, sizeof(buf));
	if (s->cancel_safe != NULL)
		PQcancel(s->cancel_safe, buf, sizeof(buf));
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	hub_safe_metrics_set_enabled(0);
	PQfinish(s->hub);
	PQfinish(s->safe);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s->clusters);
	free(s->safe_ids);
	free(s);
}
