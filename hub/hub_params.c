/* hub_params.c — decoding and validating the API's query parameters. */
#include "hub_params.h"

#include <civetweb.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool hub_params_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p != 0) {
		unsigned c = *p;
		size_t n = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : 9;
		if (n == 9 || (n == 1 && c < 0xc2))
			return false;
		uint32_t cp = n == 0 ? c : c & (0x3fu >> n);
		for (size_t k = 1; k <= n; k++) {
			if ((p[k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[k] & 0x3fu);
		}
		if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
		p += n + 1;
	}
	return true;
}

int hub_params_raw(const char *qs, const char *name, size_t occ, char out[HUB_PARAM_MAX + 1], bool *present,
                   char msg[FL_ERR_LEN])
{
	out[0] = '\0';
	*present = false;
	if (qs == NULL)
		return FL_OK;
	int n = mg_get_var2(qs, strlen(qs), name, out, HUB_PARAM_MAX + 1, occ);
	if (n == -1 || n == 0) {
		out[0] = '\0';
		return FL_OK;
	}
	if (n < 0)
		return fl_seterr(msg, FL_EINVAL, "parameter '%s' is longer than %d bytes", name, HUB_PARAM_MAX);
	if ((size_t)n != strlen(out))
		return fl_seterr(msg, FL_EINVAL, "parameter '%s' holds a NUL character", name);
	if (!hub_params_utf8(out))
		return fl_seterr(msg, FL_EINVAL, "parameter '%s' is not UTF-8", name);
	*present = true;
	return FL_OK;
}

int hub_params_int(const char *qs, const char *name, int64_t def, int64_t min, int64_t max, int64_t *out,
                   char msg[FL_ERR_LEN])
{
	char v[HUB_PARAM_MAX + 1];
	bool present;
	*out = def;
	int rv = hub_params_raw(qs, name, 0, v, &present, msg);
	if (rv != FL_OK || !present)
		return rv;
	size_t len = strlen(v);
	bool digits = len > 0 && len <= 12 && strspn(v, "0123456789") == len;
	int64_t x = digits ? strtoll(v, NULL, 10) : 0;
	if (!digits || x < min || x > max)
		return fl_seterr(msg, FL_EINVAL, "parameter '%s' must be a whole number from %" PRId64 " to %" PRId64,
		                 name, min, max);
	*out = x;
	return FL_OK;
}

int hub_params_page(const char *qs, int64_t *page_num, int64_t *page_size, char msg[FL_ERR_LEN])
{
	int rv = hub_params_int(qs, "page_num", 1, 1, HUB_PARAM_MAX_PAGE_NUM, page_num, msg);
	return rv != FL_OK ? rv : hub_params_int(qs, "page_size", 10, 1, HUB_PARAM_MAX_PAGE_SIZE, page_size, msg);
}

int hub_params_bool(const char *qs, const char *name, bool def, bool *out, char msg[FL_ERR_LEN])
{
	char v[HUB_PARAM_MAX + 1];
	bool present;
	*out = def;
	int rv = hub_params_raw(qs, name, 0, v, &present, msg);
	if (rv != FL_OK || !present)
		return rv;
	if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
		return fl_seterr(msg, FL_EINVAL, "parameter '%s' must be true or false", name);
	*out = strcmp(v, "true") == 0;
	return FL_OK;
}

static bool name_chars(const char *s)
{
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == strlen(s);
}

int hub_params_name(const char *qs, const char *name, char *out, size_t max_len, char msg[FL_ERR_LEN])
{
	char v[HUB_PARAM_MAX + 1];
	bool present;
	out[0] = '\0';
	int rv = hub_params_raw(qs, name, 0, v, &present, msg);
	if (rv != FL_OK || !present)
		return rv;
	if (!name_chars(v) || strlen(v) >= max_len)
		return fl_seterr(msg, FL_EINVAL, "parameter '%s' must be 1..%zu of A-Z a-z 0-9 . _ -", name,
		                 max_len - 1);
	memcpy(out, v, strlen(v) + 1);
	return FL_OK;
}

int hub_params_text(const char *qs, const char *name, char out[FL_MODEL_LEN], char msg[FL_ERR_LEN])
{
	char v[HUB_PARAM_MAX + 1];
	bool present;
	out[0] = '\0';
	int rv = hub_params_raw(qs, name, 0, v, &present, msg);
	if (rv != FL_OK || !present)
		return rv;
	bool ok = strlen(v) < FL_MODEL_LEN;
	for (const unsigned char *p = (const unsigned char *)v; ok && *p != 0; p++)
		ok = *p >= 0x20 && *p != 0x7f && strchr("\"'\\<>`", *p) == NULL;
	if (!ok)
		return fl_seterr(msg, FL_EINVAL,
		                 "parameter '%s' must be at most %d bytes of text without control characters, quotes, "
		                 "backslashes or angle brackets",
		                 name, FL_MODEL_LEN - 1);
	memcpy(out, v, strlen(v) + 1);
	return FL_OK;
}

int hub_params_statuses(const char *qs, char buf[HUB_PARAM_MAX + 1], const char *items[HUB_QUERY_MAX_STATUSES],
                        size_t *n, char msg[FL_ERR_LEN])
{
	bool present;
	*n = 0;
	int rv = hub_params_raw(qs, "status", 0, buf, &present, msg);
	if (rv != FL_OK || !present)
		return rv;
	for (char *p = buf;;) {
		char *comma = strchr(p, ',');
		if (comma != NULL)
			*comma = '\0';
		size_t len = strlen(p);
		if (len == 0 || len >= FL_STATUS_LEN ||
		    strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") != len ||
		    *n == HUB_QUERY_MAX_STATUSES)
			return fl_seterr(
			    msg, FL_EINVAL,
			    "parameter 'status' must be a comma list of 1..%d words like Ready,NotReady,Unknown",
			    HUB_QUERY_MAX_STATUSES);
		items[(*n)++] = p;
		if (comma == NULL)
			return FL_OK;
		p = comma + 1;
	}
}

int hub_params_order(const char *qs, hub_node_order *out, char msg[FL_ERR_LEN])
{
	char v[HUB_PARAM_MAX + 1];
	bool present;
	*out = HUB_ORDER_CLUSTER_NAME;
	int rv = hub_params_raw(qs, "order_by", 0, v, &present, msg);
	if (rv != FL_OK || !present || hub_node_order_parse(v, out) == FL_OK)
		return rv;
	return fl_seterr(
	    msg, FL_EINVAL,
	    "parameter 'order_by' must be one of name, gpu_count, gpu_allocation, gpu_utilization, status, "
	    "cluster_name");
}

static bool label_chars(const char *s)
{
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/-") == strlen(s);
}

int hub_params_labels(const char *qs, hub_label out[HUB_PARAM_MAX_LABELS], size_t *n, char msg[FL_ERR_LEN])
{
	*n = 0;
	for (size_t occ = 0;; occ++) {
		char v[HUB_PARAM_MAX + 1];
		bool present;
		int rv = hub_params_raw(qs, "label", occ, v, &present, msg);
		if (rv != FL_OK)
			return rv;
		if (!present) {
			/* An empty label= is skipped; a later one may still follow. */
			char probe[2];
			if (qs == NULL || mg_get_var2(qs, strlen(qs), "label", probe, sizeof(probe), occ) == -1)
				return FL_OK;
			continue;
		}
		char *eq = strchr(v, '=');
		if (eq == NULL || eq == v || !label_chars(eq + 1) || (*eq = '\0', !label_chars(v)) ||
		    strlen(v) >= HUB_LABEL_LEN || strlen(eq + 1) >= HUB_LABEL_LEN)
			return fl_seterr(
			    msg, FL_EINVAL,
			    "parameter 'label' must be KEY=VALUE of A-Z a-z 0-9 . _ / - (like region=us-east)");
		if (*n == HUB_PARAM_MAX_LABELS)
			return fl_seterr(msg, FL_EINVAL, "parameter 'label' is given more than %d times",
			                 HUB_PARAM_MAX_LABELS);
		memcpy(out[*n].key, v, strlen(v) + 1);
		memcpy(out[*n].value, eq + 1, strlen(eq + 1) + 1);
		(*n)++;
	}
}
