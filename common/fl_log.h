/* fl_log.h — one line per significant event, to stderr:
 *   2026-11-24T15:30:51.123Z INFO hub: frame accepted cluster=a seq=4
 * Thread-safe (each line is written with a single write).
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h) (fl_log_level_parse); logging returns nothing. */
#ifndef FL_LOG_H
#define FL_LOG_H

enum fl_log_level { FL_LOG_DEBUG = 0, FL_LOG_INFO, FL_LOG_WARN, FL_LOG_ERROR };

/* Sets the process name printed on every line ("hub", "spoke") and the minimum level. */
void fl_log_init(const char *who, enum fl_log_level min_level);

/* Parses "debug", "info", "warn" or "error" into *out. FL_OK, or FL_EINVAL for anything else. */
int fl_log_level_parse(const char *s, enum fl_log_level *out);

/* Writes one line at level; lines longer than 2 KiB are cut and end in "...". */
void fl_log(enum fl_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define fl_info(...)  fl_log(FL_LOG_INFO, __VA_ARGS__)
#define fl_warn(...)  fl_log(FL_LOG_WARN, __VA_ARGS__)
#define fl_error(...) fl_log(FL_LOG_ERROR, __VA_ARGS__)
#define fl_debug(...) fl_log(FL_LOG_DEBUG, __VA_ARGS__)

#endif
