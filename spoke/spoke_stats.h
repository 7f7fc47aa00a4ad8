/* spoke_stats.h — the spoke's counters and gauges, its health verdict and their Prometheus text.
 *
 * One process-wide instance (spoke_stats_global) is updated where things happen: spoke_sender (frames
 * sent, acked, refused by reason), spoke_spool (queued frames and bytes), spoke_kube (list calls, watch
 * restarts, relists per resource), spoke_prom (query failures), spoke_daemon (collect and encode time,
 * the source's failures, key reloads). Counters are atomics, so any thread may update them; the last
 * source error is kept under a mutex. spoke_http serves the verdict and the text.
 *
 * Health: unhealthy when no frame was acknowledged (ok or duplicate) for 3 × interval (counted from
 * spoke_stats_init while none was), or the source has failed for as long: what readiness and alerts want.
 * Liveness is narrower: the collection loop ended a cycle (ok or failed) within 3 × interval + 60 s, so a
 * restart is asked for only when the loop itself is stuck, never because the hub or the source is away
 * (restarting would not bring either back). Times are monotonic ms passed in by the caller, so tests drive
 * the clock.
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h) (the renderer: FL_OK or FL_ENOMEM); bool functions answer a
 * question with a reason; the counters return nothing. */
#ifndef SPOKE_STATS_H
#define SPOKE_STATS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fl_err.h"

/* The hub's rejection reasons, as in fleetlens_hub_frames_rejected_total{reason}, then "other". */
typedef enum spoke_refused_reason {
	SPOKE_REFUSED_MALFORMED = 0,
	SPOKE_REFUSED_OVERSIZED,
	SPOKE_REFUSED_UNKNOWN_CLUSTER,
	SPOKE_REFUSED_BAD_SIGNATURE,
	SPOKE_REFUSED_REPLAY,
	SPOKE_REFUSED_DB_ERROR,
	SPOKE_REFUSED_WRONG_KEY_ROLE,
	SPOKE_REFUSED_OTHER,
	SPOKE_REFUSED_N
} spoke_refused_reason;

/* The kube source's resources, in spoke_kube's stream order. */
enum { SPOKE_KUBE_RESOURCES = 4 };

typedef enum spoke_kube_event {
	SPOKE_KUBE_LIST_CALL = 0, /* one LIST request (a page) */
	SPOKE_KUBE_WATCH_RESTART, /* a watch ended (timeout, 410, error) and is started again */
	SPOKE_KUBE_RELIST,        /* a kind listed again after its first sync */
	SPOKE_KUBE_EVENTS
} spoke_kube_event;

/* Plain counters (spoke_stats_count). */
typedef enum spoke_counter {
	SPOKE_C_SENT = 0,
	SPOKE_C_PROM_FAILURES,
	SPOKE_C_KEY_RELOAD_OK,
	SPOKE_C_KEY_RELOAD_FAILED,
	SPOKE_C_N
} spoke_counter;

typedef enum spoke_timer { SPOKE_T_COLLECT = 0, SPOKE_T_ENCODE, SPOKE_T_N } spoke_timer;

typedef struct spoke_stats {
	char cluster[64];
	char role[16];
	int64_t limit_ms; /* 3 × interval */
	int64_t start_ms;
	_Atomic uint64_t counters[SPOKE_C_N];
	_Atomic uint64_t acked;
	_Atomic uint64_t refused[SPOKE_REFUSED_N];
	_Atomic uint64_t kube[SPOKE_KUBE_EVENTS][SPOKE_KUBE_RESOURCES];
	_Atomic uint64_t timer_us[SPOKE_T_N], timer_count[SPOKE_T_N];
	_Atomic uint64_t spool_frames, spool_bytes;
	_Atomic int64_t last_ack_ms;      /* 0: never */
	_Atomic int64_t failing_since_ms; /* 0: the last collection succeeded */
	_Atomic int64_t last_cycle_ms;    /* when the last collection ended, ok or not (start until then) */
	pthread_mutex_t mu;               /* guards last_error */
	char last_error[FL_ERR_LEN];
} spoke_stats;

/* The process-wide instance (zeroed until spoke_stats_init; updates before that are counted too). */
spoke_stats *spoke_stats_global(void);

/* Resets s: cluster and role ("cluster", "node") label fleetlens_spoke_info, interval_ms sets the
 * health limit (3 × interval), now_ms (monotonic) starts the no-ack clock. Call once before threads use
 * s (the mutex of an instance other than the global one is initialized here; the global one keeps what
 * was counted before). */
void spoke_stats_init(spoke_stats *s, const char *cluster, const char *role, int64_t interval_ms, int64_t now_ms);

/* Adds n to counter c. */
void spoke_stats_count(spoke_stats *s, spoke_counter c, uint64_t n);

/* An ok or duplicate ack at now_ms (monotonic). */
void spoke_stats_acked(spoke_stats *s, int64_t now_ms);

/* The hub's ack reason text → the hub's reason word ("bad signature: ..." → bad_signature). */
spoke_refused_reason spoke_stats_reason_of(const char *ack_reason);

/* The reason word of r ("malformed", ..., "other"). */
const char *spoke_stats_reason_name(spoke_refused_reason r);

/* A rejected or retry ack whose reason text is ack_reason (may be NULL or empty: "other"). */
void spoke_stats_refused(spoke_stats *s, const char *ack_reason);

/* One kube event for resource index res (0 nodes, 1 pods, 2 replicasets, 3 jobs; others ignored). */
void spoke_stats_kube(spoke_stats *s, spoke_kube_event ev, unsigned res);

/* Sets the spool gauges. */
void spoke_stats_spool(spoke_stats *s, uint64_t frames, uint64_t bytes);

/* Adds one observation of us microseconds to timer t. */
void spoke_stats_time(spoke_stats *s, spoke_timer t, uint64_t us);

/* The outcome of one collection at now_ms: ok clears the failure; a failure keeps the time of the first
 * one in a row and err (copied, may be NULL) as the last error. */
void spoke_stats_source(spoke_stats *s, bool ok, const char *err, int64_t now_ms);

/* Grace on top of 3 × interval before a loop that ended no cycle counts as stuck (a slow list or query). */
#define SPOKE_STATS_LIVE_GRACE_MS 60000

/* The liveness verdict at now_ms: true while a collection ended within 3 × interval +
 * SPOKE_STATS_LIVE_GRACE_MS (since start while none has); else false with "no collection ended for 151 s
 * (limit 150 s)" in reason. */
bool spoke_stats_live(spoke_stats *s, int64_t now_ms, char *reason, size_t len);

/* The verdict at now_ms: true when healthy; else false with a one-line reason in reason (no newline):
 * "no ack for 37 s (limit 30 s)" or "source failing for 31 s: <last error>". */
bool spoke_stats_health(spoke_stats *s, int64_t now_ms, char *reason, size_t len);

/* Renders every metric in the Prometheus text format (HELP and TYPE lines) at now_ms into a malloc'd
 * *out of *out_len bytes (NUL-terminated; the caller frees it). FL_OK or FL_ENOMEM. */
int spoke_stats_render(spoke_stats *s, int64_t now_ms, char **out, size_t *out_len);

#endif
