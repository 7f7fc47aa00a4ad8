/* fl_yaml.h — reading a YAML config file with errors that name file:line:column and key.
 *
 * Loads the whole file with libyaml's document API and hands out node handles (indexes into the
 * document). Every getter that fails writes "FILE:LINE:COL: key 'K': what was expected" into err and
 * returns FL_ECONFIG. Line and column are 1-based.
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h); lookups return node 0 when absent, and bool functions
 * answer a question. */
#ifndef FL_YAML_H
#define FL_YAML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "fl_err.h"

#define FL_YAML_MAX_FILE_BYTES (1 << 20) /* config files above 1 MiB are refused */

typedef struct fl_yaml_doc {
	char path[512];
	yaml_document_t doc;
	int loaded;
} fl_yaml_doc;

/* A node handle: 0 means "absent"; otherwise an index valid for the document's life. */
typedef int fl_yaml_node;

/* Parses path into doc. On success doc must be released with fl_yaml_close. On failure (unreadable,
 * too large, syntax error, empty) fills err ("FILE:LINE:COL: ...") and needs no close.
 * The root must be a mapping. */
int fl_yaml_open(fl_yaml_doc *doc, const char *path, char err[FL_ERR_LEN]);

/* Frees the document. Safe on a zeroed or already-closed doc. */
void fl_yaml_close(fl_yaml_doc *doc);

/* The root mapping. */
fl_yaml_node fl_yaml_root(fl_yaml_doc *doc);

/* Looks up key in mapping map; returns 0 when the key is absent (or map is 0). */
fl_yaml_node fl_yaml_get(fl_yaml_doc *doc, fl_yaml_node map, const char *key);

/* Checks that every key of map is one of allowed (a NULL-terminated list); an unknown key is an
 * error naming it and its position (a typo in config must not be silently ignored). */
int fl_yaml_check_keys(fl_yaml_doc *doc, fl_yaml_node map, const char *const *allowed, char err[FL_ERR_LEN]);

/* Node kind tests. */
bool fl_yaml_is_map(fl_yaml_doc *doc, fl_yaml_node n);
bool fl_yaml_is_seq(fl_yaml_doc *doc, fl_yaml_node n);
bool fl_yaml_is_scalar(fl_yaml_doc *doc, fl_yaml_node n);

/* Sequence access: number of items and the i-th item (0-based). */
size_t fl_yaml_seq_len(fl_yaml_doc *doc, fl_yaml_node seq);
fl_yaml_node fl_yaml_seq_item(fl_yaml_doc *doc, fl_yaml_node seq, size_t i);

/* Mapping iteration: number of pairs; i-th key (as a NUL-terminated scalar or NULL if not a scalar) and
 * value node. */
size_t fl_yaml_map_len(fl_yaml_doc *doc, fl_yaml_node map);
const char *fl_yaml_map_key(fl_yaml_doc *doc, fl_yaml_node map, size_t i);
fl_yaml_node fl_yaml_map_value(fl_yaml_doc *doc, fl_yaml_node map, size_t i);

/* The scalar's text (NUL-terminated, owned by doc) or NULL if n is not a scalar. */
const char *fl_yaml_scalar(fl_yaml_doc *doc, fl_yaml_node n);

/* Writes "FILE:LINE:COL: key 'key': <msg>" for node n into err; returns FL_ECONFIG. */
int fl_yaml_error(fl_yaml_doc *doc, fl_yaml_node n, const char *key, char err[FL_ERR_LEN], const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Typed getters for map[key]. When the key is absent: `required` → error "missing", else out is left
 * unchanged (so callers set defaults first) and FL_OK is returned.
 *  - str: copies into out (outlen bytes); longer than outlen-1 → error. Empty string allowed.
 *  - int: decimal integer within [min, max].
 *  - duration: fl_parse_duration syntax, > 0.
 *  - bool: true/false/yes/no/on/off. */
int fl_yaml_get_str(fl_yaml_doc *doc, fl_yaml_node map, const char *key, bool required, char *out, size_t outlen,
                    char err[FL_ERR_LEN]);
int fl_yaml_get_int(fl_yaml_doc *doc, fl_yaml_node map, const char *key, bool required, int64_t min, int64_t max,
                    int64_t *out, char err[FL_ERR_LEN]);
int fl_yaml_get_duration(fl_yaml_doc *doc, fl_yaml_node map, const char *key, bool required, int64_t *out_ms,
                         char err[FL_ERR_LEN]);
int fl_yaml_get_bool(fl_yaml_doc *doc, fl_yaml_node map, const char *key, bool required, bool *out,
                     char err[FL_ERR_LEN]);

#endif
