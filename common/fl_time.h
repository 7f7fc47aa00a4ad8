/* fl_time.h — wall and monotonic clocks in milliseconds, durations in config.
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h) (fl_parse_duration); the clocks return milliseconds. */
#ifndef FL_TIME_H
#define FL_TIME_H

#include <stddef.h>
#include <stdint.h>

/* The latest time the hub stores or shows, 9999-12-31T23:59:59.999Z in ms since the epoch: what PostgreSQL's
 * timestamptz and RFC 3339 years of four digits hold. */
#define FL_MAX_TIME_MS 253402300799999LL

/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t fl_now_ms(void);

/* Milliseconds from an arbitrary fixed point (CLOCK_MONOTONIC); for intervals and deadlines. */
int64_t fl_mono_ms(void);

/* Parses a duration such as "30s", "500ms", "5m", "2h", "14d" (one number, one unit; units ms s m h d) into
 * milliseconds. Returns FL_OK, or FL_EINVAL for anything else (no unit, negative, overflow). */
int fl_parse_duration(const char *s, int64_t *out_ms);

/* Writes ms-since-epoch as RFC 3339 UTC with milliseconds ("2026-11-24T15:30:51.123Z") into buf. */
void fl_format_time(int64_t epoch_ms, char *buf, size_t len);

#endif
