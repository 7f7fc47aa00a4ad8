/* spoke_stats.c — atomic counters, the health verdict, the Prometheus text. */
#include "spoke_stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FL_VERSION
#define FL_VERSION "unknown"
#endif

static spoke_stats g_stats = {.mu = PTHREAD_MUTEX_INITIALIZER};

static const char *const reason_names[SPOKE_REFUSED_N] = {"malformed", "oversized", "unknown_cluster", "bad_signature",
                                                          "replay",    "db_error",  "wrong_key_role",  "other"};

static const char *const resource_names[SPOKE_KUBE_RESOURCES] = {"nodes", "pods", "replicasets", "jobs"};

spoke_stats *spoke_stats_global(void)
{
	return &g_stats;
}

void spoke_stats_init(spoke_stats *s, const char *cluster, const char *role, int64_t interval_ms, int64_t now_ms)
{
	if (s != &g_stats) { /* the global one is zeroed statically: what was counted before init stays */
		memset(s, 0, sizeof(*s));
		pthread_mutex_init(&s->mu, NULL);
	}
	snprintf(s->cluster, sizeof(s->cluster), "%s", cluster != NULL ? cluster : "");
	snprintf(s->role, sizeof(s->role), "%s", role != NULL ? role : "");
	s->limit_ms = 3 * interval_ms;
	s->start_ms = now_ms;
	atomic_store(&s->last_cycle_ms, now_ms);
}

void spoke_stats_count(spoke_stats *s, spoke_counter c, uint64_t n)
{
	if ((int)c >= 0 && c < SPOKE_C_N) {
		atomic_fetch_add(&s->counters[c], n);
	}
}

void spoke_stats_acked(spoke_stats *s, int64_t now_ms)
{
	atomic_fetch_add(&s->acked, 1);
	atomic_store(&s->last_ack_ms, now_ms);
}

/* What the hub's ack reasons start with (hub_ingest.c), in the order they are tried. */
static const struct {
	const char *prefix;
	spoke_refused_reason r;
} prefixes[] = {
    {"malformed", SPOKE_REFUSED_MALFORMED},         {"unknown cluster", SPOKE_REFUSED_UNKNOWN_CLUSTER},
    {"bad signature", SPOKE_REFUSED_BAD_SIGNATURE}, {"replay", SPOKE_REFUSED_REPLAY},
    {"database", SPOKE_REFUSED_DB_ERROR},           {"wrong key role", SPOKE_REFUSED_WRONG_KEY_ROLE},
};

spoke_refused_reason spoke_stats_reason_of(const char *ack_reason)
{
	if (ack_reason == NULL) {
		return SPOKE_REFUSED_OTHER;
	}
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		if (strncmp(ack_reason, prefixes[i].prefix, strlen(prefixes[i].prefix)) == 0) {
			return prefixes[i].r;
		}
	}
	/* "frame over a limit: ..." or "frame from 'c' over a limit: ..." */
	if (strncmp(ack_reason, "frame", 5) == 0 && strstr(ack_reason, " over a limit") != NULL) {
		return SPOKE_REFUSED_OVERSIZED;
	}
	return SPOKE_REFUSED_OTHER;
}

const char *spoke_stats_reason_name(spoke_refused_reason r)
{
	return (int)r >= 0 && r < SPOKE_REFUSED_N ? reason_names[r] : "other";
}

void spoke_stats_refused(spoke_stats *s, const char *ack_reason)
{
	atomic_fetch_add(&s->refused[spoke_stats_reason_of(ack_reason)], 1);
}

void spoke_stats_kube(spoke_stats *s, spoke_kube_event ev, unsigned res)
{
	if ((int)ev >= 0 && ev < SPOKE_KUBE_EVENTS && res < SPOKE_KUBE_RESOURCES) {
		atomic_fetch_add(&s->kube[ev][res], 1);
	}
}

void spoke_stats_spool(spoke_stats *s, uint64_t frames, uint64_t bytes)
{
	atomic_store(&s->spool_frames, frames);
	atomic_store(&s->spool_bytes, bytes);
}

void spoke_stats_time(spoke_stats *s, spoke_timer t, uint64_t us)
{
	if ((int)t >= 0 && t < SPOKE_T_N) {
		atomic_fetch_add(&s->timer_us[t], us);
		atomic_fetch_add(&s->timer_count[t], 1);
	}
}

void spoke_stats_source(spoke_stats *s, bool ok, const char *err, int64_t now_ms)
{
	atomic_store(&s->last_cycle_ms, now_ms);
	if (ok) {
		atomic_store(&s->failing_since_ms, 0);
		return;
	}
	pthread_mutex_lock(&s->mu);
	snprintf(s->last_error, sizeof(s->last_error), "%s", err != NULL && err[0] != '\0' ? err : "(no detail)");
	pthread_mutex_unlock(&s->mu);
	int64_t zero = 0;
	atomic_compare_exchange_strong(&s->failing_since_ms, &zero, now_ms > 0 ? now_ms : 1);
}

/* Milliseconds since the last ack (since start while there was none). */
static int64_t since_ack_ms(spoke_stats *s, int64_t now_ms)
{
	int64_t last = atomic_load(&s->last_ack_ms);
	int64_t d = now_ms - (last != 0 ? last : s->start_ms);
	return d > 0 ? d : 0;
}

/* Milliseconds the source has been failing, 0 when it is not. */
static int64_t failing_ms(spoke_stats *s, int64_t now_ms)
{
	int64_t since = atomic_load(&s->failing_since_ms);
	return since == 0 || now_ms < since ? 0 : now_ms - since;
}

bool spoke_stats_live(spoke_stats *s, int64_t now_ms, char *reason, size_t len)
{
	int64_t idle = now_ms - atomic_load(&s->last_cycle_ms), limit = s->limit_ms + SPOKE_STATS_LIVE_GRACE_MS;
	if (idle > limit) {
		snprintf(reason, len, "no collection ended for %lld s (limit %lld s)", (long long)(idle / 1000),
		         (long long)(limit / 1000));
		return false;
	}
	if (len > 0) {
		reason[0] = '\0';
	}
	return true;
}

bool spoke_stats_health(spoke_stats *s, int64_t now_ms, char *reason, size_t len)
{
	int64_t no_ack = since_ack_ms(s, now_ms), failing = failing_ms(s, now_ms);
	if (no_ack >= s->limit_ms) {
		snprintf(reason, len, "no ack for %lld s (limit %lld s)", (long long)(no_ack / 1000),
		         (long long)(s->limit_ms / 1000));
		return false;
	}
	if (atomic_load(&s->failing_since_ms) != 0 && failing >= s->limit_ms) {
		pthread_mutex_lock(&s->mu);
		snprintf(reason, len, "source failing for %lld s: %s", (long long)(failing / 1000), s->last_error);
		pthread_mutex_unlock(&s->mu);
		for (char *p = reason; *p != '\0'; p++) {
			if (*p == '\n' || *p == '\r') {
				*p = ' '; /* one line */
			}
		}
		return false;
	}
	if (len > 0) {
		reason[0] = '\0';
	}
	return true;
}

static void header(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void counter(FILE *f, const char *name, const char *help, uint64_t v)
{
	header(f, name, "counter", help);
	fprintf(f, "%s %llu\n", name, (unsigned long long)v);
}

static void gauge(FILE *f, const char *name, const char *help, double v)
{
	header(f, name, "gauge", help);
	fprintf(f, "%s %.3f\n", name, v);
}

static void kube_family(FILE *f, spoke_stats *s, spoke_kube_event ev, const char *name, const char *help)
{
	header(f, name, "counter", help);
	for (unsigned r = 0; r < SPOKE_KUBE_RESOURCES; r++) {
		fprintf(f, "%s{resource=\"%s\"} %llu\n", name, resource_names[r],
		        (unsigned long long)atomic_load(&s->kube[ev][r]));
	}
}

static void summary(FILE *f, spoke_stats *s, spoke_timer t, const char *name, const char *help)
{
	header(f, name, "summary", help);
	fprintf(f, "%s_sum %.6f\n%s_count %llu\n", name, (double)atomic_load(&s->timer_us[t]) / 1e6, name,
	        (unsigned long long)atomic_load(&s->timer_count[t]));
}

/* Delivery: info, frames sent/acked/refused, spool, last ack, health. */
static void render_delivery(FILE *f, spoke_stats *s, int64_t now_ms)
{
	header(f, "fleetlens_spoke_info", "gauge", "The spoke's cluster, role and version (always 1).");
	fprintf(f, "fleetlens_spoke_info{cluster=\"%s\",role=\"%s\",version=\"%s\"} 1\n", s->cluster, s->role,
	        FL_VERSION);
	counter(f, "fleetlens_spoke_frames_sent_total", "Frames sent to the hub (resends included).",
	        atomic_load(&s->counters[SPOKE_C_SENT]));
	counter(f, "fleetlens_spoke_frames_acked_total", "Frames the hub acknowledged (ok or duplicate).",
	        atomic_load(&s->acked));
	header(f, "fleetlens_spoke_frames_refused_total", "counter",
	       "Frames the hub refused (rejected, or retry), by the hub's reason.");
	for (int r = 0; r < SPOKE_REFUSED_N; r++) {
		fprintf(f, "fleetlens_spoke_frames_refused_total{reason=\"%s\"} %llu\n", reason_names[r],
		        (unsigned long long)atomic_load(&s->refused[r]));
	}
	header(f, "fleetlens_spoke_spool_frames", "gauge", "Frames queued and not acknowledged yet.");
	fprintf(f, "fleetlens_spoke_spool_frames %llu\n", (unsigned long long)atomic_load(&s->spool_frames));
	header(f, "fleetlens_spoke_spool_bytes", "gauge", "Encoded bytes of the queued frames.");
	fprintf(f, "fleetlens_spoke_spool_bytes %llu\n", (unsigned long long)atomic_load(&s->spool_bytes));
	gauge(f, "fleetlens_spoke_seconds_since_last_ack",
	      "Seconds since the hub last acknowledged a frame (since start when it never did).",
	      (double)since_ack_ms(s, now_ms) / 1000.0);
	char reason[8];
	header(f, "fleetlens_spoke_healthy", "gauge", "1 when /healthz answers 200, else 0.");
	fprintf(f, "fleetlens_spoke_healthy %d\n", spoke_stats_health(s, now_ms, reason, sizeof(reason)) ? 1 : 0);
}

/* Sources: kube, prometheus, failing time, collect/encode time, key reloads. */
static void render_sources(FILE *f, spoke_stats *s, int64_t now_ms)
{
	kube_family(f, s, SPOKE_KUBE_LIST_CALL, "fleetlens_spoke_kube_list_calls_total",
	            "LIST requests (pages) to the Kubernetes API, by resource.");
	kube_family(f, s, SPOKE_KUBE_WATCH_RESTART, "fleetlens_spoke_kube_watch_restarts_total",
	            "Watches that ended (timeout, 410 Gone, error) and were started again, by resource.");
	kube_family(f, s, SPOKE_KUBE_RELIST, "fleetlens_spoke_kube_relists_total",
	            "Resources listed again after their first sync (410 Gone), by resource.");
	counter(f, "fleetlens_spoke_prometheus_query_failures_total", "Prometheus instant queries that failed.",
	        atomic_load(&s->counters[SPOKE_C_PROM_FAILURES]));
	gauge(f, "fleetlens_spoke_source_failing_seconds",
	      "Seconds the source's collection has been failing (0 when the last one succeeded).",
	      (double)failing_ms(s, now_ms) / 1000.0);
	summary(f, s, SPOKE_T_COLLECT, "fleetlens_spoke_collect_seconds", "Time spent collecting a cycle.");
	summary(f, s, SPOKE_T_ENCODE, "fleetlens_spoke_encode_seconds", "Time spent encoding and signing a frame.");
	header(f, "fleetlens_spoke_key_reloads_total", "counter",
	       "Re-reads of key_file after it changed, by result (failed: the old key stays in use).");
	fprintf(f, "fleetlens_spoke_key_reloads_total{result=\"ok\"} %llu\n",
	        (unsigned long long)atomic_load(&s->counters[SPOKE_C_KEY_RELOAD_OK]));
	fprintf(f, "fleetlens_spoke_key_reloads_total{result=\"failed\"} %llu\n",
	        (unsigned long long)atomic_load(&s->counters[SPOKE_C_KEY_RELOAD_FAILED]));
}

int spoke_stats_render(spoke_stats *s, int64_t now_ms, char **out, size_t *out_len)
{
	*out = NULL;
	*out_len = 0;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (f == NULL) {
		return FL_ENOMEM;
	}
	render_delivery(f, s, now_ms);
	render_sources(f, s, now_ms);
	if (ferror(f) != 0) {
		fclose(f);
		free(buf);
		return FL_ENOMEM;
	}
	if (fclose(f) != 0) {
		free(buf);
		return FL_ENOMEM;
	}
	*out = buf;
	*out_len = len;
	return FL_OK;
}
