/* hub_json.c — append-only JSON text with a ceiling. */
#include "hub_json.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hub_json_init(hub_json *j, size_t max)
{
	memset(j, 0, sizeof(*j));
	j->max = max;
}

/* Grows the buffer to hold n more bytes and the NUL; false (and failed) at the ceiling or out of memory. */
static bool grow(hub_json *j, size_t n)
{
	if (j->failed)
		return false;
	if (j->len + n + 1 > j->cap) {
		size_t cap = j->cap > 0 ? j->cap : 4096;
		while (cap < j->len + n + 1)
			cap *= 2;
		if (cap > j->max + 1)
			cap = j->max + 1;
		char *b = j->len + n + 1 <= cap ? realloc(j->buf, cap) : NULL;
		if (b == NULL) {
			j->failed = true;
			return false;
		}
		j->buf = b;
		j->cap = cap;
	}
	return true;
}

static void put(hub_json *j, const char *s, size_t n)
{
	if (!grow(j, n))
		return;
	memcpy(j->buf + j->len, s, n);
	j->len += n;
	j->buf[j->len] = '\0';
}

void hub_json_raw(hub_json *j, const char *s)
{
	put(j, s, strlen(s));
}

void hub_json_mem(hub_json *j, const char *s, size_t n)
{
	put(j, s, n);
}

void hub_json_reserve(hub_json *j, size_t n)
{
	if (j->len + n + 1 > j->max + 1)
		n = j->max - j->len;
	grow(j, n);
}

void hub_json_str(hub_json *j, const char *s)
{
	put(j, "\"", 1);
	const char *run = s;
	for (const unsigned char *p = (const unsigned char *)s; *p != 0; p++) {
		if (*p >= 0x20 && *p != '"' && *p != '\\')
			continue;
		put(j, run, (size_t)((const char *)p - run));
		char esc[8];
		if (*p == '"' || *p == '\\')
			snprintf(esc, sizeof(esc), "\\%c", *p);
		else
			snprintf(esc, sizeof(esc), "\\u%04x", *p);
		put(j, esc, strlen(esc));
		run = (const char *)p + 1;
	}
	put(j, run, strlen(run));
	put(j, "\"", 1);
}

void hub_json_int(hub_json *j, int64_t x)
{
	char b[32];
	put(j, b, (size_t)snprintf(b, sizeof(b), "%" PRId64, x));
}

void hub_json_real(hub_json *j, double x)
{
	if (!isfinite(x)) {
		put(j, "null", 4);
		return;
	}
	char b[40];
	int n = 0;
	for (int prec = 15; prec <= 17; prec++) {
		n = snprintf(b, sizeof(b), "%.*g", prec, x);
		if (strtod(b, NULL) == x)
			break;
	}
	if (strpbrk(b, ".eEn") == NULL) /* whole value: keep it a real, as jansson writes it */
		n += snprintf(b + n, sizeof(b) - (size_t)n, ".0");
	put(j, b, (size_t)n);
}

char *hub_json_take(hub_json *j, size_t *len)
{
	if (j->failed || j->buf == NULL) {
		free(j->buf);
		hub_json_init(j, j->max);
		return NULL;
	}
	char *b = j->buf;
	*len = j->len;
	j->buf = NULL;
	return b;
}
