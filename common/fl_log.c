/* fl_log.c — one timestamped line per event on stderr, written with a single write(2). */
#include "fl_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fl_err.h"
#include "fl_time.h"

#define FL_LOG_LINE_MAX 2048

static char log_who[32] = "fleetlens";
static enum fl_log_level log_min = FL_LOG_INFO;

void fl_log_init(const char *who, enum fl_log_level min_level)
{
	snprintf(log_who, sizeof(log_who), "%s", who);
	log_min = min_level;
}

int fl_log_level_parse(const char *s, enum fl_log_level *out)
{
	static const char *names[] = {"debug", "info", "warn", "error"};
	for (int i = 0; i < 4; i++) {
		if (s != NULL && strcmp(s, names[i]) == 0) {
			*out = (enum fl_log_level)i;
			return FL_OK;
		}
	}
	return FL_EINVAL;
}

void fl_log(enum fl_log_level level, const char *fmt, ...)
{
	static const char *names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
	char line[FL_LOG_LINE_MAX];
	char ts[40];
	if (level < log_min || level > FL_LOG_ERROR)
		return;
	fl_format_time(fl_now_ms(), ts, sizeof(ts));
	int n = snprintf(line, sizeof(line), "%s %s %s: ", ts, names[level], log_who);
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	size_t len = (size_t)n + (size_t)(m < 0 ? 0 : m);
	if (len > sizeof(line) - 2) { /* cut: say so */
		len = sizeof(line) - 2;
		memcpy(line + len - 3, "...", 3);
	}
	line[len++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w;
}

bool fl_log_limit_allow(fl_log_limit *l, int64_t every_ms, uint64_t *suppressed)
{
	int64_t now = fl_mono_ms(), last = atomic_load(&l->last_ms);
	if ((last != 0 && now - last < every_ms) || !atomic_compare_exchange_strong(&l->last_ms, &last, now)) {
		atomic_fetch_add(&l->suppressed, 1);
		return false;
	}
	uint64_t n = atomic_exchange(&l->suppressed, 0);
	if (suppressed != NULL)
		*suppressed = n;
	return true;
}
