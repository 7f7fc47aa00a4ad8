/* hub_json.h — a small JSON writer for the API's hot answers (node pages): appends to one growing
 * buffer with a ceiling, escaping strings, without building a tree. Reaching the ceiling or running out
 * of memory marks the writer failed; hub_json_take then returns NULL. */
#ifndef HUB_JSON_H
#define HUB_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hub_json {
	char *buf;
	size_t len, cap, max; /* max: the most bytes the text may grow to */
	bool failed;
} hub_json;

/* Starts an empty text of at most max bytes. */
void hub_json_init(hub_json *j, size_t max);

/* Appends s as is (JSON punctuation, keys written by the caller). */
void hub_json_raw(hub_json *j, const char *s);

/* Appends the n bytes at s as is (JSON text written before). */
void hub_json_mem(hub_json *j, const char *s, size_t n);

/* Makes room for n more bytes now, so the appends that follow need no copy (a hint: nothing fails if
 * they outgrow it). */
void hub_json_reserve(hub_json *j, size_t n);

/* Appends s as a JSON string: quoted, with ", \ and control characters escaped. */
void hub_json_str(hub_json *j, const char *s);

/* Appends a whole number. */
void hub_json_int(hub_json *j, int64_t x);

/* Appends a number as jansson writes it (shortest form that reads back the same, ".0" on whole
 * values), or null when x is not finite (NaN: no figure). */
void hub_json_real(hub_json *j, double x);

/* The text, NUL-terminated (caller frees; *len its length), or NULL when the writer failed (then the
 * buffer is freed). */
char *hub_json_take(hub_json *j, size_t *len);

#endif
