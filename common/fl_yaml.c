/* fl_yaml.c — config files through libyaml's document API, with FILE:LINE:COL errors. */
#include "fl_yaml.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fl_time.h"

static yaml_node_t *node_at(fl_yaml_doc *doc, fl_yaml_node n)
{
	if (doc == NULL || !doc->loaded || n <= 0)
		return NULL;
	return yaml_document_get_node(&doc->doc, n);
}

/* Reads a whole file (at most FL_YAML_MAX_FILE_BYTES) into a new buffer; the caller frees it. */
static int read_file(const char *path, unsigned char **out, size_t *out_len, char err[FL_ERR_LEN])
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return fl_seterr(err, FL_EIO, "%s: cannot open: %s", path, strerror(errno));
	unsigned char *buf = malloc(FL_YAML_MAX_FILE_BYTES + 1);
	if (buf == NULL) {
		fclose(f);
		return fl_seterr(err, FL_ENOMEM, "%s: out of memory", path);
	}
	size_t len = fread(buf, 1, FL_YAML_MAX_FILE_BYTES + 1, f);
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		free(buf);
		return fl_seterr(err, FL_EIO, "%s: read error", path);
	}
	if (len > FL_YAML_MAX_FILE_BYTES) {
		free(buf);
		return fl_seterr(err, FL_ECONFIG, "%s: larger than %d bytes", path, FL_YAML_MAX_FILE_BYTES);
	}
	*out = buf;
	*out_len = len;
	return FL_OK;
}

int fl_yaml_open(fl_yaml_doc *doc, const char *path, char err[FL_ERR_LEN])
{
	memset(doc, 0, sizeof(*doc));
	snprintf(doc->path, sizeof(doc->path), "%s", path);
	unsigned char *buf = NULL;
	size_t len = 0;
	int rv = read_file(path, &buf, &len, err);
	if (rv != FL_OK)
		return rv;

	yaml_parser_t parser;
	if (!yaml_parser_initialize(&parser)) {
		free(buf);
		return fl_seterr(err, FL_ENOMEM, "%s: cannot initialize YAML parser", path);
	}
	yaml_parser_set_input_string(&parser, buf, len);
	if (!yaml_parser_load(&parser, &doc->doc)) {
		rv = fl_seterr(err, FL_ECONFIG, "%s:%zu:%zu: %s%s%s", path, parser.problem_mark.line + 1,
		               parser.problem_mark.column + 1, parser.problem ? parser.problem : "YAML syntax error",
		               parser.context ? " " : "", parser.context ? parser.context : "");
		yaml_parser_delete(&parser);
		free(buf);
		return rv;
	}
	yaml_parser_delete(&parser);
	free(buf);
	doc->loaded = 1;

	yaml_node_t *root = yaml_document_get_root_node(&doc->doc);
	if (root == NULL) {
		fl_yaml_close(doc);
		return fl_seterr(err, FL_ECONFIG, "%s:1:1: the file is empty", path);
	}
	if (root->type != YAML_MAPPING_NODE) {
		rv = fl_seterr(err, FL_ECONFIG, "%s:%zu:%zu: the top level must be a mapping of keys", path,
		               root->start_mark.line + 1, root->start_mark.column + 1);
		fl_yaml_close(doc);
		return rv;
	}
	return FL_OK;
}

void fl_yaml_close(fl_yaml_doc *doc)
{
	if (doc != NULL && doc->loaded) {
		yaml_document_delete(&doc->doc);
		doc->loaded = 0;
	}
}

fl_yaml_node fl_yaml_root(fl_yaml_doc *doc)
{
	if (doc == NULL || !doc->loaded || yaml_document_get_root_node(&doc->doc) == NULL)
		return 0;
	return 1; /* libyaml numbers nodes from 1 and the root is the first */
}

bool fl_yaml_is_map(fl_yaml_doc *doc, fl_yaml_node n)
{
	yaml_node_t *p = node_at(doc, n);
	return p != NULL && p->type == YAML_MAPPING_NODE;
}

bool fl_yaml_is_seq(fl_yaml_doc *doc, fl_yaml_node n)
{
	yaml_node_t *p = node_at(doc, n);
	return p != NULL && p->type == YAML_SEQUENCE_NODE;
}

bool fl_yaml_is_scalar(fl_yaml_doc *doc, fl_yaml_node n)
{
	yaml_node_t *p = node_at(doc, n);
	return p != NULL && p->type == YAML_SCALAR_NODE;
}

const char *fl_yaml_scalar(fl_yaml_doc *doc, fl_yaml_node n)
{
	yaml_node_t *p = node_at(doc, n);
	if (p == NULL || p->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *)p->data.scalar.value;
}

size_t fl_yaml_map_len(fl_yaml_doc *doc, fl_yaml_node map)
{
	yaml_node_t *p = node_at(doc, map);
	if (p == NULL || p->type != YAML_MAPPING_NODE)
		return 0;
	return (size_t)(p->data.mapping.pairs.top - p->data.mapping.pairs.start);
}

const char *fl_yaml_map_key(fl_yaml_doc *doc, fl_yaml_node map, size_t i)
{
	if (i >= fl_yaml_map_len(doc, map))
		return NULL;
	return fl_yaml_scalar(doc, node_at(doc, map)->data.mapping.pairs.start[i].key);
}

fl_yaml_node fl_yaml_map_value(fl_yaml_doc *doc, fl_yaml_node map, size_t i)
{
	if (i >= fl_yaml_map_len(doc, map))
		return 0;
	return node_at(doc, map)->data.mapping.pairs.start[i].value;
}

fl_yaml_node fl_yaml_get(fl_yaml_doc *doc, fl_yaml_node map, const char *key)
{
	size_t n = fl_yaml_map_len(doc, map);
	for (size_t i = 0; i < n; i++) {
		const char *k = fl_yaml_map_key(doc, map, i);
		if (k != NULL && strcmp(k, key) == 0)
			return fl_yaml_map_value(doc, map, i);
	}
	return 0;
}

size_t fl_yaml_seq_len(fl_yaml_doc *doc, fl_yaml_node seq)
{
	yaml_node_t *p = node_at(doc, seq);
	if (p == NULL || p->type != YAML_SEQUENCE_NODE)
		return 0;
	return (size_t)(p->data.sequence.items.top - p->data.sequence.items.start);
}

fl_yaml_node fl_yaml_seq_item(fl_yaml_doc *doc, fl_yaml_node seq, size_t i)
{
	if (i >= fl_yaml_seq_len(doc, seq))
		return 0;
	return node_at(doc, seq)->data.sequence.items.start[i];
}

int fl_yaml_error(fl_yaml_doc *doc, fl_yaml_node n, const char *key, char err[FL_ERR_LEN], const char *fmt, ...)
{
	char msg[FL_ERR_LEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	yaml_node_t *p = node_at(doc, n);
	size_t line = p ? p->start_mark.line + 1 : 1, col = p ? p->start_mark.column + 1 : 1;
	if (key != NULL)
		return fl_seterr(err, FL_ECONFIG, "%s:%zu:%zu: key '%s': %s", doc->path, line, col, key, msg);
	return fl_seterr(err, FL_ECONFIG, "%s:%zu:%zu: %s", doc->path, line, col, msg);
}

int fl_yaml_check_keys(fl_yaml_doc *doc, fl_yaml_node map, const char *const *allowed, char err[FL_ERR_LEN])
{
	yaml_node_t *p = node_at(doc, map);
	if (p == NULL || p->type != YAML_MAPPING_NODE)
		return fl_yaml_error(doc, map, NULL, err, "expected a mapping of keys");
	size_t n = fl_yaml_map_len(doc, map);
	for (size_t i = 0; i < n; i++) {
		fl_yaml_node kn = p->data.mapping.pairs.start[i].key;
		const char *k = fl_yaml_scalar(doc, kn);
		if (k == NULL)
			return fl_yaml_error(doc, kn, NULL, err, "keys must be plain strings");
		bool known = false;
		for (const char *const *a = allowed; *a != NULL && !known; a++)
			known = strcmp(*a, k) == 0;
		if (!known)
			return fl_yaml_error(doc, kn, k, err, "unknown key");
		for (size_t j = 0; j < i; j++) {
			const char *prev = fl_yaml_scalar(doc, p->data.mapping.pairs.start[j].key);
			if (prev != NULL && strcmp(prev, k) == 0)
				return fl_yaml_error(doc, kn, k, err, "given twice");
		}
	}
	return FL_OK;
}

/* Shared start of the typed getters: finds map[key] as a scalar. Returns FL_OK with *value NULL when
 * the key is absent and not required. */
static int get_scalar(fl_yaml_doc *doc, fl_yaml_node map, const char *key, bool required, fl_yaml_node *node,
                      const char **value, char err[FL_ERR_LEN])
{
	*value = NULL;
	*node = fl_yaml_get(doc, map, key);
	if (*node == 0) {
		if (required)
			return fl_yaml_error(doc, map, key, err, "missing (required)");
		return FL_OK;
	}
	*value = fl_yaml_scalar(doc, *node);
	if (*value == NULL)
		return fl_yaml_error(doc, *node, key, err, "expected a single value, not a list or mapping");
	return FL_OK;
}

int fl_yaml_get_str(fl_yaml_doc *doc, fl_yaml_node map, const char *key, bool required, char *out, size_t outlen,
                    char err[FL_ERR_LEN])
{
	fl_yaml_node n;
	const char *v;
	int rv = get_scalar(doc, map, key, required, &n, &v, err);
	if (rv != FL_OK || v == NULL)
		return rv;
	size_t len = strlen(v);
	if (len >= outlen)
		return fl_yaml_error(doc, n, key, err, "longer than %zu characters", outlen - 1);
	memcpy(out, v, len + 1);
	return FL_OK;
}

int fl_yaml_get_int(fl_yaml_doc *doc, fl_yaml_node map, const char *key, bool required, int64_t min, int64_t max,
                    int64_t *out, char err[FL_ERR_LEN])
{
	fl_yaml_node n;
	const char *v;
	int rv = get_scalar(doc, map, key, required, &n, &v, err);
	if (rv != FL_OK || v == NULL)
		return rv;
	errno = 0;
	char *end;
	long long x = strtoll(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0')
		return fl_yaml_error(doc, n, key, err, "expected a whole number, got '%.64s'", v);
	if (x < min || x > max)
		return fl_yaml_error(doc, n, key, err, "%lld is out of range [%lld, %lld]", x, (long long)min,
		                     (long long)max);
	*out = x;
	return FL_OK;
}

int fl_yaml_get_duration(fl_yaml_doc *doc, fl_yaml_node map, const char *key, bool required, int64_t *out_ms,
                         char err[FL_ERR_LEN])
{
	fl_yaml_node n;
	const char *v;
	int rv = get_scalar(doc, map, key, required, &n, &v, err);
	if (rv != FL_OK || v == NULL)
		return rv;
	int64_t ms;
	if (fl_parse_duration(v, &ms) != FL_OK || ms <= 0)
		return fl_yaml_error(doc, n, key, err, "expected a duration like 30s, 500ms, 5m or 1h, got '%.64s'", v);
	*out_ms = ms;
	return FL_OK;
}

int fl_yaml_get_bool(fl_yaml_doc *doc, fl_yaml_node map, const char *key, bool required, bool *out,
                     char err[FL_ERR_LEN])
{
	static const char *yes[] = {"true", "yes", "on"}, *no[] = {"false", "no", "off"};
	fl_yaml_node n;
	const char *v;
	int rv = get_scalar(doc, map, key, required, &n, &v, err);
	if (rv != FL_OK || v == NULL)
		return rv;
	for (size_t i = 0; i < 3; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return FL_OK;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return FL_OK;
		}
	}
	return fl_yaml_error(doc, n, key, err, "expected true or false, got '%.64s'", v);
}
