/* fl_log.h — one line per significant event, to stderr:
 *   2026-11-24T15:30:51.123Z INFO hub: frame accepted cluster=a seq=4
 * Thread-safe (each line is written with a single write).
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h) (fl_log_level_parse); logging returns nothing. */
#ifndef FL_LOG_H
#define FL_LOG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

enum fl_log_level { FL_LOG_DEBUG = 0, FL_LOG_INFO, FL_LOG_WARN, FL_LOG_ERROR };

/* Sets the process name printed on every line ("hub", "spoke") and the minimum level. */
void fl_log_init(const char *who, enum fl_log_level min_level);

/* Parses "debug", "info", "warn" or "error" into *out. FL_OK, or FL_EINVAL for anything else. */
int fl_log_level_parse(const char *s, enum fl_log_level *out);

/* Writes one line at level; lines longer than 2 KiB are cut and end in "...". */
void fl_log(enum fl_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A rate limit for one kind of line: zero-initialise it (static, calloc or = {0}); it needs no free. */
typedef struct fl_log_limit {
	_Atomic int64_t last_ms;     /* fl_mono_ms() of the last line allowed; 0 = never */
	_Atomic uint64_t suppressed; /* events refused since that line */
} fl_log_limit;

/* Whether a line of kind l may be written now: the first time, and then when every_ms have passed since
 * the last one allowed. When it may, *suppressed (if not NULL) gets the events refused since that line and
 * the count starts again; when not, the event is counted. Thread-safe (lock-free): of callers racing for
 * one moment, one is allowed. */
bool fl_log_limit_allow(fl_log_limit *l, int64_t every_ms, uint64_t *suppressed);

#define fl_info(...)  fl_log(FL_LOG_INFO, __VA_ARGS__)
#define fl_warn(...)  fl_log(FL_LOG_WARN, __VA_ARGS__)
#define fl_error(...) fl_log(FL_LOG_ERROR, __VA_ARGS__)
#define fl_debug(...) fl_log(FL_LOG_DEBUG, __VA_ARGS__)

#endif
