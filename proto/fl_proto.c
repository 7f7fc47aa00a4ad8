/* fl_proto.c — frame ownership, kind names, cluster/spoke name rule. */
#include "fl_proto.h"

#include <stdlib.h>
#include <string.h>

void fl_proto_frame_free(fl_proto_frame *f)
{
	if (f == NULL) {
		return;
	}
	if (f->nodes != NULL) {
		for (uint32_t i = 0; i < f->n_nodes; i++) {
			free(f->nodes[i].taints);
		}
	}
	free(f->nodes);
	free(f->gpus);
	free(f->removed_nodes);
	memset(f, 0, sizeof(*f));
}

static const struct {
	fl_frame_kind kind;
	const char *name;
} kind_names[] = {
    {FL_FRAME_FULL, "full"},
    {FL_FRAME_DELTA, "delta"},
    {FL_FRAME_HEARTBEAT, "heartbeat"},
};

const char *fl_proto_kind_name(fl_frame_kind kind)
{
	for (size_t i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++) {
		if (kind_names[i].kind == kind) {
			return kind_names[i].name;
		}
	}
	return NULL;
}

fl_frame_kind fl_proto_kind_parse(const char *name, size_t len)
{
	if (name == NULL) {
		return (fl_frame_kind)0;
	}
	for (size_t i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++) {
		if (strlen(kind_names[i].name) == len && memcmp(kind_names[i].name, name, len) == 0) {
			return kind_names[i].kind;
		}
	}
	return (fl_frame_kind)0;
}

bool fl_proto_valid_name(const char *s)
{
	if (s == NULL) {
		return false;
	}
	size_t n = 0;
	for (; s[n] != '\0'; n++) {
		char c = s[n];
		bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
		          c == '_' || c == '-';
		if (!ok || n >= FL_CLUSTER_LEN - 1) {
			return false;
		}
	}
	return n > 0;
}

/* Internal to proto/ (declared where used): true if s[0..n) is well-formed UTF-8 (no overlong forms,
 * no surrogates, nothing above U+10FFFF). Frames carry text that ends up in JSON and PostgreSQL, which
 * both refuse anything else. */
bool fl_proto_utf8_valid(const char *s, size_t n);

bool fl_proto_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;

	while (p < end) {
		unsigned c = *p++, cp, min;
		size_t more;

		if (c < 0x80) {
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			more = 1, cp = c & 0x1f, min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			more = 2, cp = c & 0x0f, min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			more = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if ((size_t)(end - p) < more) {
			return false;
		}
		for (size_t k = 0; k < more; k++) {
			if ((p[k] & 0xc0) != 0x80) {
				return false;
			}
			cp = (cp << 6) | (p[k] & 0x3f);
		}
		p += more;
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
			return false;
		}
	}
	return true;
}
