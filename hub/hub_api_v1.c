/* hub_api_v1.c — the /v1 routes about clusters and nodes, answered from the in-memory view (hub_view):
 * clusters, overviews, heat map, nodes, GPU allocation; a node's answer and its gpuDevices also read what
 * its node agent reported from PostgreSQL (hub_api_jobs.c, hub_node). Every list covers only the clusters
 * the caller's token sees; a cluster outside them is "not found". Handlers return the HTTP status they sent. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include "fl_log.h"
#include "fl_time.h"
#include "hub_api_cache.h"
#include "hub_api_int.h"
#include "hub_node.h"
#include "hub_json.h"
#include "hub_params.h"

#define HUB_API_MAX_ANSWER (64u << 20) /* a written answer larger than this is refused (500) */

/* --- small JSON helpers -------------------------------------------------------------------------- */

static json_t *time_or_null(int64_t ms)
{
	if (ms <= 0)
		return json_null();
	char buf[40];
	fl_format_time(ms, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *num_or_null(double x)
{
	return isfinite(x) ? json_real(x) : json_null();
}

/* --- jansson's text without jansson: the list routes write their answers directly, byte for byte what
 * json_dumps(JSON_COMPACT) gives for the same values ----------------------------------------------- */

/* s as a JSON string. Printable ASCII (the usual case) is written here, escaped as jansson does (" and \);
 * anything else goes through jansson itself (its escapes, and its refusal of text that is not UTF-8,
 * which fails the answer as building it with jansson would). */
static void put_str(hub_json *j, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p >= 0x20 && *p < 0x7f)
		p++;
	if (*p == 0) {
		hub_json_str(j, s);
		return;
	}
	json_t *o = json_string(s);
	char *t = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	json_decref(o);
	if (t == NULL)
		j->failed = true;
	else
		hub_json_raw(j, t);
	free(t);
}

static const uint64_t pow10_u64[20] = {1u,
                                       10u,
                                       100u,
                                       1000u,
                                       10000u,
                                       100000u,
                                       1000000u,
                                       10000000u,
                                       100000000u,
                                       1000000000u,
                                       10000000000u,
                                       100000000000u,
                                       1000000000000u,
                                       10000000000000u,
                                       100000000000000u,
                                       1000000000000000u,
                                       10000000000000000u,
                                       100000000000000000u,
                                       1000000000000000000u,
                                       10000000000000000000u};

/* Writes x as printf's "%.17g" does into b (at least 24 bytes) when 1e-3 <= x < 2^53: the 17 significant
 * digits of x's exact binary value, rounded half to even, trailing zeros and a bare point dropped. The
 * length, or 0 outside that range (the caller asks printf). Exact with 128-bit integers: x = m / 2^q, and
 * m * 10^(16-E) fits in 117 bits for the decimal exponents E of that range. printf spends most of a
 * microsecond per figure in multi-precision arithmetic; the answers carry thousands of figures. */
static int real17(double x, char *b)
{
	if (!(x >= 1e-3 && x < 9007199254740992.0))
		return 0;
	uint64_t bits;
	memcpy(&bits, &x, sizeof(bits)); /* x is normal: its biased exponent e, x = 1.fraction * 2^(e-1023) */
	int e2 = (int)(bits >> 52) - 1022;
	uint64_t m = (bits & ((UINT64_C(1) << 52) - 1)) | (UINT64_C(1) << 52); /* x = m / 2^q, 2^52 <= m < 2^53 */
	int q = 53 - e2;
	/* floor(log10(x)) or one less: 2^(e2-1) <= x < 2^e2, 78913 / 2^18 just under log10(2); the loop
	 * below moves E when it is off */
	int E = e2 - 1 >= 0 ? ((e2 - 1) * 78913) >> 18 : -((-(e2 - 1) * 78913 + (1 << 18) - 1) >> 18);
	E = E < -3 ? -3 : E > 15 ? 15 : E;
	if (q < 0 || q > 100)
		return 0;
	unsigned __int128 d = 0;
	for (int tries = 0; tries < 4; tries++) { /* log10 may be one off near a power of ten */
		if (16 - E < 0 || 16 - E > 19)
			return 0;
		unsigned __int128 prod = (unsigned __int128)m * pow10_u64[16 - E];
		d = prod >> q;
		if (d < pow10_u64[16]) {
			E--;
			continue;
		}
		if (d >= pow10_u64[17]) {
			E++;
			continue;
		}
		if (q > 0) {
			unsigned __int128 rem = prod & ((((unsigned __int128)1) << q) - 1),
			                  half = ((unsigned __int128)1) << (q - 1);
			if (rem > half || (rem == half && (d & 1) != 0))
				d++;
		}
		if (d == pow10_u64[17]) {
			d = pow10_u64[16];
			E++;
		}
		break;
	}
	if (d < pow10_u64[16] || d >= pow10_u64[17] || E < -4 || E >= 17)
		return 0;
	char dig[17];
	uint32_t lo = (uint32_t)((uint64_t)d % 100000000u), hi = (uint32_t)((uint64_t)d / 100000000u);
	for (int k = 16; k >= 9; k--, lo /= 10)
		dig[k] = (char)('0' + lo % 10);
	for (int k = 8; k >= 0; k--, hi /= 10)
		dig[k] = (char)('0' + hi % 10);
	int nd = 17;
	while (nd > 0 && nd > E + 1 && dig[nd - 1] == '0')
		nd--; /* trailing zeros of the fraction */
	int n = 0;
	if (E >= 0) {
		memcpy(b, dig, (size_t)E + 1);
		n = E + 1;
		if (nd > E + 1) {
			b[n++] = '.';
			memcpy(b + n, dig + E + 1, (size_t)(nd - E - 1));
			n += nd - E - 1;
		}
	} else {
		b[n++] = '0';
		b[n++] = '.';
		for (int k = 0; k < -E - 1; k++)
			b[n++] = '0';
		memcpy(b + n, dig, (size_t)nd);
		n += nd;
	}
	b[n] = '\0';
	return n;
}

/* x (finite) as jansson writes a real ("%.17g", a whole value gets ".0", the exponent loses its '+' and
 * leading zeros) into b (at least REAL_TEXT bytes). The length, or 0 when it does not fit. */
#define REAL_TEXT 48
static size_t real_text(double x, char *b)
{
	int n = x < 0 ? real17(-x, b + 1) : real17(x, b);
	if (n > 0) { /* digits and maybe a point, no exponent */
		if (x < 0) {
			b[0] = '-';
			n++;
		}
		if (memchr(b, '.', (size_t)n) == NULL) {
			memcpy(b + n, ".0", 3);
			n += 2;
		}
		return (size_t)n;
	}
	n = snprintf(b, REAL_TEXT, "%.17g", x);
	if (n <= 0 || n >= REAL_TEXT - 2)
		return 0;
	if (strchr(b, '.') == NULL && strchr(b, 'e') == NULL) {
		memcpy(b + n, ".0", 3);
		n += 2;
	}
	char *start = strchr(b, 'e');
	if (start != NULL) {
		start++;
		char *end = start + 1;
		if (*start == '-')
			start++;
		while (*end == '0')
			end++;
		if (end != start) {
			memmove(start, end, (size_t)(b + n - end) + 1);
			n -= (int)(end - start);
		}
	}
	return (size_t)n;
}

/* x as jansson writes a real (real_text), or null when x is not finite (no figure). */
static void put_real(hub_json *j, double x)
{
	if (!isfinite(x)) {
		hub_json_mem(j, "null", 4);
		return;
	}
	char b[REAL_TEXT];
	size_t n = real_text(x, b);
	if (n == 0)
		j->failed = true;
	else
		hub_json_mem(j, b, n);
}

/* Writes ms (> 0) as fl_format_time does ("2026-01-02T03:04:05.678Z") into b (at least 25 bytes) without
 * gmtime and printf: days to the civil date (H. Hinnant's algorithm, proleptic Gregorian, as gmtime).
 * False for years past 9999 (the caller asks fl_format_time). */
static bool time_text(int64_t ms, char *b)
{
	if (ms <= 0 || ms >= INT64_C(253402300800000))
		return false;
	int64_t secs = ms / 1000, z = secs / 86400 + 719468;
	int sod = (int)(secs % 86400), milli = (int)(ms % 1000);
	int64_t era = z / 146097, doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
	int d = (int)(doy - (153 * mp + 2) / 5 + 1), mo = (int)(mp < 10 ? mp + 3 : mp - 9);
	int y = (int)(yoe + era * 400 + (mo <= 2));
	/* two digits per pair of the format: century, year, month, day, hours, minutes, seconds, ms / 10 */
	const int f[8] = {y / 100, y % 100, mo, d, sod / 3600, sod / 60 % 60, sod % 60, milli / 10};
	static const char at[8] = {0, 2, 5, 8, 11, 14, 17, 20};
	static const char digits2[] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	                              "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	                              "8081828384858687888990919293949596979899";
	memcpy(b, "0000-00-00T00:00:00.000Z", 25);
	for (int k = 0; k < 8; k++)
		memcpy(b + at[(size_t)k], digits2 + 2 * f[k], 2);
	b[22] = (char)('0' + milli % 10);
	return true;
}

/* A cluster's labels as hub_config_labels_json dumps them: keys in order of first appearance, each with
 * its last value. */
static void put_labels(hub_json *j, const hub_cluster_conf *c)
{
	hub_json_mem(j, "{", 1);
	bool first = true;
	for (size_t i = 0; i < c->n_labels; i++) {
		bool seen = false;
		size_t last = i;
		for (size_t k = 0; k < c->n_labels; k++) {
			if (strcmp(c->labels[k].key, c->labels[i].key) != 0)
				continue;
			seen = seen || k < i;
			last = k > last ? k : last;
		}
		if (seen)
			continue;
		if (!first)
			hub_json_mem(j, ",", 1);
		first = false;
		put_str(j, c->labels[i].key);
		hub_json_mem(j, ":", 1);
		put_str(j, c->labels[last].value);
	}
	hub_json_mem(j, "}", 1);
}

/* Appends item (stolen) to arr; on failure frees arr and returns NULL. */
static json_t *append(json_t *arr, json_t *item)
{
	if (arr == NULL || item == NULL || json_array_append_new(arr, item) != 0) {
		json_decref(arr);
		json_decref(item);
		return NULL;
	}
	return arr;
}

static const char *status_of(hub_req *r, size_t i, int64_t now)
{
	return hub_status_of(hub_view_last_frame_ms(r->api->view, i), now, r->api->cfg->stale_after_ms,
	                     r->api->cfg->offline_after_ms);
}

/* The overview's Lens fields plus updatedAt; NULL if out of memory. */
static json_t *overview_json(const hub_view_snap *s)
{
	json_t *o = fl_proto_overview_to_json(&s->overview);
	if (o != NULL && json_object_set_new(o, "updatedAt", time_or_null(s->overview_ms)) != 0) {
		json_decref(o);
		o = NULL;
	}
	return o;
}

/* --- parameters ------------------------------------------------------------------------------------ */

/* Reads ?cluster=. *idx is the cluster's index, or -1 when the parameter is absent. Returns 0, or the
 * status it answered with (400 bad value, 404 unknown or outside the caller's scope). */
static int cluster_arg(hub_req *r, int *idx)
{
	char name[FL_CLUSTER_LEN], msg[FL_ERR_LEN];
	*idx = -1;
	if (hub_params_name(r->query, "cluster", name, sizeof(name), msg) != FL_OK)
		return hub_api_error(r, 400, "%s", msg);
	if (name[0] == '\0')
		return 0;
	int i = hub_view_find(r->api->view, name);
	if (i < 0 || !r->scope[i])
		return hub_api_error(r, 404, "cluster '%s' not found", name);
	*idx = i;
	return 0;
}

int hub_api_cluster_set(hub_req *r, bool with_labels, bool **out)
{
	*out = NULL;
	int idx, rv;
	if ((rv = cluster_arg(r, &idx)) != 0)
		return rv;
	hub_label labels[HUB_PARAM_MAX_LABELS];
	size_t n_labels = 0;
	char msg[FL_ERR_LEN];
	if (with_labels && hub_params_labels(r->query, labels, &n_labels, msg) != FL_OK)
		return hub_api_error(r, 400, "%s", msg);
	bool *set = calloc(HUB_MAX_CLUSTERS, sizeof(bool)); /* by slot: a slot a reload adds meanwhile reads false */
	if (set == NULL)
		return hub_api_error(r, 500, "out of memory");
	for (size_t i = 0; i < r->cl->n; i++)
		set[i] = r->scope[i] && (idx < 0 || (size_t)idx == i) && r->cl->conf[i] != NULL &&
		         hub_auth_labels_match(r->cl->conf[i], labels, n_labels);
	*out = set;
	return 0;
}

/* --- clusters -------------------------------------------------------------------------------------- */

/* The overview object of /v1/clusters (the Lens fields and updatedAt): snapshot s's pre-written
 * overview text without its trailing "cluster" member, closed; jansson writes it when that text is not
 * as expected. */
static void put_overview(hub_json *j, const hub_view_snap *s)
{
	static const char key[] = ",\"cluster\":\"";
	char tail[FL_CLUSTER_LEN + sizeof(key) + 2];
	size_t name_len = strlen(s->name), t = sizeof(key) + name_len; /* the key, the name, its closing quote */
	if (t >= sizeof(tail) || strpbrk(s->name, "\"\\") != NULL)
		t = SIZE_MAX;
	else {
		memcpy(tail, key, sizeof(key) - 1);
		memcpy(tail + sizeof(key) - 1, s->name, name_len);
		tail[t - 1] = '"';
	}
	if (s->overview_text != NULL && t <= s->overview_len &&
	    memcmp(s->overview_text + s->overview_len - t, tail, t) == 0) {
		hub_json_mem(j, s->overview_text, s->overview_len - t);
		hub_json_mem(j, "}", 1);
		return;
	}
	json_t *o = overview_json(s);
	char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (text == NULL)
		j->failed = true;
	else
		hub_json_raw(j, text);
	free(text);
}

enum { TEXT_CLUSTER = 2 }; /* the hub_api_cache kind of /v1/clusters items (the others: heat map rows) */

/* hub_api_text_fn of /v1/clusters: snapshot s's item but for what depends on the time of the request:
 * {"name":…,"labels":…,"status":  (*aux bytes), then the text after lastFrameAgeSeconds's value:
 * ,"k8sVersion":…,"spokeVersion":…,"overview":…} */
static int cluster_text(const hub_view_snap *s, hub_json *j, uint32_t *aux)
{
	hub_json_raw(j, "{\"name\":");
	put_str(j, s->name);
	*aux = (uint32_t)j->len; /* labels (they change on a reload, not with the snapshot) and status go here */
	const char *k8s = s->has_facts ? s->facts.k8s_version : "", *spoke = s->has_facts ? s->facts.spoke_version : "";
	hub_json_raw(j, ",\"k8sVersion\":");
	if (k8s[0] != '\0')
		put_str(j, k8s);
	else
		hub_json_mem(j, "null", 4);
	hub_json_raw(j, ",\"spokeVersion\":");
	if (spoke[0] != '\0')
		put_str(j, spoke);
	else
		hub_json_mem(j, "null", 4);
	hub_json_raw(j, ",\"overview\":");
	if (s->has_overview)
		put_overview(j, s);
	else
		hub_json_mem(j, "null", 4);
	hub_json_mem(j, "}", 1);
	return j->failed ? FL_ENOMEM : FL_OK;
}

#define ITEM_NOW_MAX 192 /* bytes an item's status, lastFrameAt and lastFrameAgeSeconds take at most */

/* Writes into p (ITEM_NOW_MAX bytes) what item i says at now: the status value, then lastFrameAt and
 * lastFrameAgeSeconds with their keys. The length, or 0 when a figure cannot be written. */
static size_t item_now(hub_req *r, size_t i, int64_t now, char *p)
{
	static const char k_at[] = ",\"lastFrameAt\":", k_age[] = ",\"lastFrameAgeSeconds\":";
	int64_t last = hub_view_last_frame_ms(r->api->view, i);
	const char *status = status_of(r, i, now);
	char t[40], age[REAL_TEXT];
	size_t n_status = strlen(status), n_t = 4, n_age = 4;
	memcpy(t, "null", 4);
	memcpy(age, "null", 4);
	if (last > 0) {
		if (!time_text(last, t + 1))
			fl_format_time(last, t + 1, sizeof(t) - 2);
		n_t = strlen(t + 1) + 2;
		t[0] = t[n_t - 1] = '"';
		if ((n_age = real_text((double)(now - last) / 1000.0, age)) == 0)
			return 0;
	}
	size_t n = n_status + 2 + sizeof(k_at) - 1 + n_t + sizeof(k_age) - 1 + n_age;
	if (n > ITEM_NOW_MAX)
		return 0;
	char *q = p;
	*q++ = '"';
	memcpy(q, status, n_status);
	q += n_status;
	*q++ = '"';
	memcpy(q, k_at, sizeof(k_at) - 1);
	q += sizeof(k_at) - 1;
	memcpy(q, t, n_t);
	q += n_t;
	memcpy(q, k_age, sizeof(k_age) - 1);
	q += sizeof(k_age) - 1;
	memcpy(q, age, n_age);
	return n;
}

/* The /v1/clusters answer for the n clusters idx from their texts: HUB_API_OK_HEAD, each item (text up to
 * its aux, the labels of the request's configuration, item_now, then the text's rest), the envelope's
 * close. Returns the status sent. */
static int send_clusters(hub_req *r, const size_t *idx, const hub_api_text **texts, size_t n, int64_t now)
{
	static const hub_cluster_conf none; /* no labels */
	hub_json j;
	size_t cap = sizeof(HUB_API_OK_HEAD) + 4, len = 0;
	for (size_t k = 0; k < n; k++)
		cap += texts[k]->len + 1 + ITEM_NOW_MAX + 64;
	hub_json_init(&j, HUB_API_MAX_ANSWER);
	hub_json_reserve(&j, cap);
	hub_json_raw(&j, HUB_API_OK_HEAD "[");
	char now_text[ITEM_NOW_MAX];
	for (size_t k = 0; k < n; k++) {
		const hub_api_text *t = texts[k];
		const hub_cluster_conf *c = hub_clusters_conf(r->cl, idx[k]);
		if (k > 0)
			hub_json_mem(&j, ",", 1);
		hub_json_mem(&j, t->text, t->aux);
		hub_json_raw(&j, ",\"labels\":");
		put_labels(&j, c != NULL ? c : &none);
		hub_json_raw(&j, ",\"status\":");
		size_t m = item_now(r, idx[k], now, now_text);
		if (m == 0) {
			free(hub_json_take(&j, &len));
			return hub_api_error(r, 500, "a cluster's figures could not be written");
		}
		hub_json_mem(&j, now_text, m);
		hub_json_mem(&j, t->text + t->aux, t->len - t->aux);
	}
	hub_json_raw(&j, "]}");
	char *text = hub_json_take(&j, &len);
	if (text == NULL)
		return hub_api_error(r, 500, "out of memory");
	int rv = hub_api_ok_text(r, text, len);
	free(text);
	return rv;
}

/* Each cluster's item is its text per snapshot (hub_api_cache; name, labels, versions and the snapshot's
 * pre-written overview) around what depends on the time of the request (status and ages). */
int hub_api_v1_clusters(hub_req *r)
{
	hub_view *v = r->api->view;
	bool *set;
	int rv = hub_api_cluster_set(r, true, &set);
	if (rv != 0)
		return rv;
	size_t count = hub_view_count(v), n = 0;
	size_t *idx = malloc((count + 1) * sizeof(*idx));
	const hub_api_text **texts = calloc(count + 1, sizeof(*texts));
	if (idx == NULL || texts == NULL) {
		free(set);
		free(idx);
		free(texts);
		return hub_api_error(r, 500, "out of memory");
	}
	for (size_t i = 0; i < count; i++)
		if (set[i])
			idx[n++] = i;
	free(set);
	int got = hub_api_cache_get_many(r->api->cache, idx, n, TEXT_CLUSTER, cluster_text, texts);
	int64_t now = fl_now_ms();
	rv = got == FL_OK ? send_clusters(r, idx, texts, n, now) : hub_api_error(r, 500, "out of memory");
	for (size_t k = 0; k < n; k++)
		hub_api_cache_put(texts[k]);
	free(texts);
	free(idx);
	return rv;
}

int hub_api_v1_overview(hub_req *r)
{
	hub_view *v = r->api->view;
	int idx, rv;
	if ((rv = cluster_arg(r, &idx)) != 0)
		return rv;
	if (idx < 0) {
		/* Left out: allowed when the caller sees exactly one cluster. */
		for (size_t i = 0; i < r->cl->n; i++) {
			if (r->scope[i] && idx >= 0)
				return hub_api_error(r, 400, "parameter 'cluster' is required");
			if (r->scope[i])
				idx = (int)i;
		}
		if (idx < 0)
			return hub_api_error(r, 400, "parameter 'cluster' is required");
	}
	int64_t now = fl_now_ms();
	hub_view_snap *s = hub_view_get(v, (size_t)idx);
	if (hub_view_last_frame_ms(v, (size_t)idx) <= 0) {
		rv = hub_api_error(r, 503, "cluster '%s' has not reported yet", s->name);
	} else if (!s->has_overview) {
		rv = hub_api_error(r, 503, "cluster '%s' has not reported an overview yet", s->name);
	} else {
		/* The snapshot's pre-written overview text, then what depends on now: status and the age of the
		 * figures. */
		hub_json j;
		hub_json_init(&j, HUB_API_MAX_ANSWER);
		hub_json_reserve(&j, sizeof(HUB_API_OK_HEAD) + s->overview_len + 96);
		hub_json_raw(&j, HUB_API_OK_HEAD);
		hub_json_mem(&j, s->overview_text, s->overview_len);
		hub_json_raw(&j, ",\"status\":");
		hub_json_str(&j, status_of(r, (size_t)idx, now));
		hub_json_raw(&j, ",\"ageSeconds\":");
		if (s->overview_ms > 0)
			hub_json_real(&j, (double)(now - s->overview_ms) / 1000.0);
		else
			hub_json_raw(&j, "null");
		hub_json_raw(&j, "}}");
		size_t len = 0;
		char *text = hub_json_take(&j, &len);
		rv = text != NULL ? hub_api_ok_text(r, text, len) : hub_api_error(r, 500, "out of memory");
		free(text);
	}
	hub_view_release(s);
	return rv;
}

int hub_api_v1_fleet_overview(hub_req *r)
{
	hub_view *v = r->api->view;
	size_t n = hub_view_count(v);
	bool *set;
	int rv = hub_api_cluster_set(r, true, &set);
	if (rv != 0)
		return rv;
	int64_t now = fl_now_ms();
	fl_proto_overview sum;
	memset(&sum, 0, sizeof(sum));
	double util_weighted = 0, util_gpus = 0;
	int64_t matched = 0, reporting = 0, by_status[4] = {0, 0, 0, 0}, oldest_ms = 0;
	uint32_t unknown_in_all = FL_OV_ALL; /* figures no reporting cluster knows */
	static const char *const statuses[4] = {"online", "stale", "offline", "never_seen"};
	for (size_t i = 0; i < n; i++) {
		if (!set[i])
			continue;
		matched++;
		const char *st = status_of(r, i, now);
		for (int k = 0; k < 4; k++)
			by_status[k] += strcmp(st, statuses[k]) == 0;
		hub_view_snap *s = hub_view_get(v, i);
		if (s->has_overview) {
			const fl_proto_overview *o = &s->overview;
			reporting++;
			sum.total_nodes += o->total_nodes;
			sum.healthy_nodes += o->healthy_nodes;
			sum.faulty_nodes += o->faulty_nodes;
			sum.fully_idle_nodes += o->fully_idle_nodes;
			sum.partially_idle_nodes += o->partially_idle_nodes;
			sum.busy_nodes += o->busy_nodes;
			sum.gpus_allocatable += o->gpus_allocatable;
			sum.gpus_allocated += o->gpus_allocated;
			sum.total_space += o->total_space;
			sum.used_space += o->used_space;
			sum.total_inodes += o->total_inodes;
			sum.used_inodes += o->used_inodes;
			sum.read_bandwidth += o->read_bandwidth;
			sum.write_bandwidth += o->write_bandwidth;
			sum.total_tx += o->total_tx;
			sum.total_rx += o->total_rx;
			unknown_in_all &= o->unknown; /* an unknown figure was sent as 0: adds nothing */
			util_weighted += o->utilization * (double)s->n_gpus_util;
			util_gpus += (double)s->n_gpus_util;
			if (oldest_ms == 0 || s->overview_ms < oldest_ms)
				oldest_ms = s->overview_ms;
		}
		hub_view_release(s);
	}
	free(set);
	/* Rates of the fleet: ratios of the sums (each cluster weighted by its GPUs), not means of rates. */
	sum.allocation_rate =
	    sum.gpus_allocatable > 0 ? 100.0 * (double)sum.gpus_allocated / (double)sum.gpus_allocatable : 0.0;
	sum.utilization = util_gpus > 0 ? util_weighted / util_gpus : 0.0;
	sum.usage_percentage = sum.total_space > 0 ? 100.0 * sum.used_space / sum.total_space : 0.0;
	sum.inodes_usage_percentage = sum.total_inodes > 0 ? 100.0 * sum.used_inodes / sum.total_inodes : 0.0;
	sum.unknown = reporting > 0 ? unknown_in_all : 0;
	json_t *data = fl_proto_overview_to_json(&sum);
	json_t *bs =
	    json_pack("{s:I,s:I,s:I,s:I}", "online", (json_int_t)by_status[0], "stale", (json_int_t)by_status[1],
	              "offline", (json_int_t)by_status[2], "never_seen", (json_int_t)by_status[3]);
	if (data == NULL || bs == NULL || json_object_set_new(data, "clusters", json_integer(matched)) ||
	    json_object_set_new(data, "clustersReporting", json_integer(reporting)) ||
	    json_object_set_new(data, "byStatus", bs) ||
	    json_object_set_new(data, "oldestUpdatedAt", time_or_null(oldest_ms))) {
		json_decref(data);
		data = NULL;
	}
	return hub_api_ok(r, data);
}

/* --- per-cluster rows: heat map and GPU allocation ------------------------------------------------- */

enum { TEXT_HEAT = 0, TEXT_ALLOCATION = 1 }; /* hub_api_cache kinds */

/* hub_api_text_fn of the heat map: s's rows (nodes with GPUs), comma-joined; *aux the most GPUs a node
 * has. */
static int heat_rows(const hub_view_snap *s, hub_json *j, uint32_t *aux)
{
	uint32_t max_gpus = 0;
	bool first = true;
	for (uint32_t k = 0; !j->failed && k < s->n_nodes; k++) {
		const hub_view_node *n = s->nodes[k];
		if (n->n_gpus == 0)
			continue;
		max_gpus = n->n_gpus > max_gpus ? n->n_gpus : max_gpus;
		hub_json_raw(j, first ? "{\"cluster_name\":" : ",{\"cluster_name\":");
		first = false;
		put_str(j, s->name);
		hub_json_raw(j, ",\"name\":");
		put_str(j, hub_view_str(n, n->name));
		hub_json_raw(j, ",\"gpu_utilization\":");
		put_real(j, n->gpu_utilization);
		hub_json_raw(j, ",\"gpu_ids\":[");
		for (uint32_t g = 0; g < n->n_gpus; g++) {
			if (g > 0)
				hub_json_mem(j, ",", 1);
			hub_json_int(j, n->gpus[g].gpu_id);
		}
		hub_json_raw(j, "],\"utilization\":[");
		for (uint32_t g = 0; g < n->n_gpus; g++) {
			if (g > 0)
				hub_json_mem(j, ",", 1);
			put_real(j, n->gpus[g].utilization);
		}
		hub_json_raw(j, "]}");
	}
	*aux = max_gpus;
	return j->failed ? FL_ENOMEM : FL_OK;
}

/* hub_api_text_fn of GPU allocation: s's rows (nodes with allocatable GPUs), comma-joined. */
static int allocation_rows(const hub_view_snap *s, hub_json *j, uint32_t *aux)
{
	bool first = true;
	for (uint32_t k = 0; !j->failed && k < s->n_nodes; k++) {
		const hub_view_node *n = s->nodes[k];
		if (n->gpu_count <= 0)
			continue;
		hub_json_raw(j, first ? "{\"name\":" : ",{\"name\":");
		first = false;
		put_str(j, hub_view_str(n, n->name));
		hub_json_raw(j, ",\"cluster_name\":");
		put_str(j, s->name);
		hub_json_raw(j, ",\"gpu_count\":");
		hub_json_int(j, n->gpu_count);
		hub_json_raw(j, ",\"gpu_allocation\":");
		hub_json_int(j, n->gpu_allocation);
		hub_json_raw(j, ",\"allocation_rate\":");
		put_real(j, 100.0 * (double)n->gpu_allocation / (double)n->gpu_count);
		hub_json_mem(j, "}", 1);
	}
	*aux = 0;
	return j->failed ? FL_ENOMEM : FL_OK;
}

/* The rows of kind for the clusters the request covers, in cluster name order, as one 200 answer:
 * HUB_API_OK_HEAD, head, the rows comma-joined, "]", tail and the envelope's closing brace; head and tail
 * are formats of one unsigned argument: the largest aux of those clusters' texts. Each cluster's rows come from the
 * text cache, written once per snapshot. Returns the status sent. */
static int send_rows(hub_req *r, int kind, hub_api_text_fn fn, const char *head, const char *tail)
{
	hub_view *v = r->api->view;
	bool *set;
	int rv = hub_api_cluster_set(r, false, &set);
	if (rv != 0)
		return rv;
	size_t n, got = 0, bytes = 0;
	const size_t *order = hub_view_order(v, &n);
	const hub_api_text **texts = calloc(n + 1, sizeof(*texts));
	uint32_t aux = 0;
	bool ok = texts != NULL;
	for (size_t k = 0; ok && k < n; k++) {
		if (!set[order[k]])
			continue;
		ok = hub_api_cache_get(r->api->cache, order[k], kind, fn, &texts[got]) == FL_OK;
		if (ok) {
			aux = texts[got]->aux > aux ? texts[got]->aux : aux;
			bytes += texts[got++]->len + 1;
		}
	}
	free(set);
	char start[64], end[64];
	snprintf(start, sizeof(start), head, aux);
	snprintf(end, sizeof(end), tail, aux);
	size_t cap = sizeof(HUB_API_OK_HEAD) + strlen(start) + bytes + strlen(end) + 4, len = 0;
	char *text = ok ? malloc(cap) : NULL;
	if (text != NULL) {
		len = (size_t)snprintf(text, cap, "%s%s", HUB_API_OK_HEAD, start);
		bool first = true;
		for (size_t k = 0; k < got; k++) {
			if (texts[k]->len == 0)
				continue;
			if (!first)
				text[len++] = ',';
			first = false;
			memcpy(text + len, texts[k]->text, texts[k]->len);
			len += texts[k]->len;
		}
		len += (size_t)snprintf(text + len, cap - len, "]%s}", end);
	}
	for (size_t k = 0; k < got; k++)
		hub_api_cache_put(texts[k]);
	free(texts);
	rv = text != NULL ? hub_api_ok_text(r, text, len) : hub_api_error(r, 500, "out of memory");
	free(text);
	return rv;
}

int hub_api_v1_heatmap(hub_req *r)
{
	return send_rows(r, TEXT_HEAT, heat_rows, "{\"maxGpus\":%u,\"rows\":[", "}");
}

/* --- nodes ----------------------------------------------------------------------------------------- */

static json_t *node_row(const hub_view_snap *s, const hub_view_node *n)
{
	return json_pack("{s:s,s:s,s:s,s:I,s:I,s:o,s:s,s:s}", "name", hub_view_str(n, n->name), "ip",
	                 hub_view_str(n, n->ip), "gpu_name", hub_view_str(n, n->gpu_name), "gpu_count",
	                 (json_int_t)n->gpu_count, "gpu_allocation", (json_int_t)n->gpu_allocation, "gpu_utilization",
	                 num_or_null(n->gpu_utilization), "status", hub_view_str(n, n->status), "cluster_name",
	                 s->name);
}

int hub_api_v1_nodes(hub_req *r)
{
	hub_view *v = r->api->view;
	hub_node_query q;
	memset(&q, 0, sizeof(q));
	char name[FL_NAME_LEN], gpu_name[FL_MODEL_LEN], statuses[HUB_PARAM_MAX + 1], msg[FL_ERR_LEN];
	bool *set;
	int rv = hub_api_cluster_set(r, false, &set);
	if (rv != 0)
		return rv;
	if (hub_params_name(r->query, "name", name, sizeof(name), msg) != FL_OK ||
	    hub_params_text(r->query, "gpu_name", gpu_name, msg) != FL_OK ||
	    hub_params_statuses(r->query, statuses, q.statuses, &q.n_statuses, msg) != FL_OK ||
	    hub_params_page(r->query, &q.page_num, &q.page_size, msg) != FL_OK ||
	    hub_params_order(r->query, &q.order, msg) != FL_OK ||
	    hub_params_bool(r->query, "desc", false, &q.desc, msg)) {
		free(set);
		return hub_api_error(r, 400, "%s", msg);
	}
	q.clusters = set;
	q.name = name;
	q.gpu_name = gpu_name;
	hub_node_page page;
	if (hub_view_query_nodes(v, &q, &page) != FL_OK) {
		free(set);
		return hub_api_error(r, 500, "out of memory");
	}
	/* The hot route: each row is the node record's pre-written text (the same fields node_row gives)
	 * and its cluster's name, copied into one buffer sized up front: the whole envelope, one write. */
	size_t need = sizeof(HUB_API_OK_HEAD) + 64;
	for (size_t k = 0; k < page.n_rows; k++)
		need += page.rows[k].node->row_len + strlen(page.rows[k].snap->name) + 4;
	hub_json j;
	hub_json_init(&j, HUB_API_MAX_ANSWER);
	hub_json_reserve(&j, need);
	hub_json_raw(&j, HUB_API_OK_HEAD "{\"data\":[");
	for (size_t k = 0; k < page.n_rows; k++) {
		const hub_view_node *n = page.rows[k].node;
		if (k > 0)
			hub_json_mem(&j, ",", 1);
		hub_json_mem(&j, hub_view_str(n, n->row), n->row_len);
		hub_json_str(&j, page.rows[k].snap->name);
		hub_json_mem(&j, "}", 1);
	}
	hub_json_raw(&j, "],\"total\":");
	hub_json_int(&j, (int64_t)page.total);
	hub_json_raw(&j, "}}");
	hub_node_page_free(&page);
	free(set);
	size_t len = 0;
	char *text = hub_json_take(&j, &len);
	if (text == NULL)
		return hub_api_error(r, 500, "out of memory");
	rv = hub_api_ok_text(r, text, len);
	free(text);
	return rv;
}

int hub_api_v1_gpu_allocation(hub_req *r)
{
	return send_rows(r, TEXT_ALLOCATION, allocation_rows, "[", "");
}

/* Finds node r->name in the view's clusters the request covers. Returns 0 (nothing sent) when one cluster
 * has it — *snap then holds a reference (release it) and *node points into it — or none does: *snap and
 * *node are then NULL. Otherwise answers 400 (in several clusters and no ?cluster=, or a bad parameter)
 * and returns that status. */
static int find_node(hub_req *r, hub_view_snap **snap, const hub_view_node **node)
{
	hub_view *v = r->api->view;
	*snap = NULL;
	*node = NULL;
	bool *set;
	int rv = hub_api_cluster_set(r, false, &set);
	if (rv != 0)
		return rv;
	char where[512] = "";
	size_t found = 0, o = 0;
	size_t n_order;
	const size_t *order = hub_view_order(v, &n_order);
	for (size_t k = 0; k < n_order; k++) {
		if (!set[order[k]])
			continue;
		hub_view_snap *s = hub_view_get(v, order[k]);
		const hub_view_node *hit = hub_view_snap_find(s, r->name);
		if (hit == NULL) {
			hub_view_release(s);
			continue;
		}
		if (o < sizeof(where) - 70)
			o += (size_t)snprintf(where + o, sizeof(where) - o, "%s%s", found ? ", " : "", s->name);
		if (found++ == 0) {
			*snap = s;
			*node = hit;
		} else {
			hub_view_release(s);
		}
	}
	free(set);
	if (found == 1)
		return 0;
	hub_view_release(*snap);
	*snap = NULL;
	*node = NULL;
	if (found == 0)
		return 0;
	return hub_api_error(r, 400, "parameter 'cluster' is required: node '%s' is in clusters %s", r->name, where);
}

/* The node agents that report node r->name in the clusters the request covers (hub_node_agents_json), as
 * a new array; NULL when the database could not tell (logged) — the answer then goes without them — or
 * when the cluster set could not be made (out of memory: find_node checked the same parameters), which
 * hub_api_cluster_set has answered: *sent is then that status, else 0. */
static json_t *node_agents(hub_req *r, int *sent)
{
	bool *set;
	if ((*sent = hub_api_cluster_set(r, false, &set)) != 0)
		return NULL;
	char err[FL_ERR_LEN] = "", *text = NULL;
	int rv = hub_api_node_agents(r, set, &text, err);
	free(set);
	json_t *a = rv == FL_OK ? json_loads(text, 0, NULL) : NULL;
	free(text);
	if (a == NULL)
		fl_warn("api: node agents of '%s' unavailable: %s", r->name, rv != FL_OK ? err : "unreadable answer");
	return a;
}

/* The agent of cluster in agents (borrowed), or NULL. */
static json_t *agent_of(json_t *agents, const char *cluster)
{
	size_t i;
	json_t *a;
	json_array_foreach(agents, i, a)
	{
		if (strcmp(json_string_value(json_object_get(a, "cluster_name")), cluster) == 0)
			return a;
	}
	return NULL;
}

/* A node only node agents know of (not in the view): its one agent's cluster into cluster, or answers
 * 404 (none), 400 (several) or 503 (agents is NULL) and returns that status. */
static int agent_only(hub_req *r, json_t *agents, const char **cluster)
{
	size_t k = json_array_size(agents);
	if (agents == NULL)
		return hub_api_error(
		    r, 503, "node '%s' is not in any cluster's last frame and node agents are unavailable", r->name);
	if (k == 0)
		return hub_api_error(r, 404, "node '%s' not found", r->name);
	if (k > 1)
		return hub_api_error(
		    r, 400, "parameter 'cluster' is required: node '%s' has node agents in %zu clusters", r->name, k);
	*cluster = json_string_value(json_object_get(json_array_get(agents, 0), "cluster_name"));
	return 0;
}

int hub_api_v1_node(hub_req *r)
{
	hub_view_snap *s;
	const hub_view_node *n;
	int rv = find_node(r, &s, &n);
	if (rv != 0)
		return rv;
	int sent;
	json_t *agents = node_agents(r, &sent);
	if (sent != 0) {
		hub_view_release(s);
		return sent;
	}
	if (n == NULL) { /* known to node agents only: its Kubernetes facts are missing */
		const char *cluster = NULL;
		if ((rv = agent_only(r, agents, &cluster)) == 0)
			rv = hub_api_ok(r, json_pack("{s:s,s:s,s:b,s:O}", "name", r->name, "cluster_name", cluster,
			                             "kubernetes", 0, "agent", json_array_get(agents, 0)));
		json_decref(agents);
		return rv;
	}
	json_t *agent = agents != NULL ? agent_of(agents, s->name) : NULL;
	json_t *taints = json_array();
	for (uint32_t t = 0; t < n->n_taints; t++)
		taints = append(taints, json_pack("{s:s,s:s,s:s}", "key", hub_view_str(n, n->taints[t].key), "value",
		                                  hub_view_str(n, n->taints[t].value), "effect",
		                                  hub_view_str(n, n->taints[t].effect)));
	json_t *o = node_row(s, n);
	if (o == NULL || taints == NULL ||
	    json_object_update_new(
	        o, json_pack("{s:b,s:b,s:O,s:I,s:I,s:s,s:s,s:s,s:s,s:I}", "unschedulable", (int)n->unschedulable,
	                     "faulty", (int)n->faulty, "taints", taints, "cpu_millis", (json_int_t)n->cpu_millis,
	                     "memory_bytes", (json_int_t)n->memory_bytes, "kubelet_version",
	                     hub_view_str(n, n->kubelet_version), "os_image", hub_view_str(n, n->os_image),
	                     "kernel_version", hub_view_str(n, n->kernel_version), "container_runtime",
	                     hub_view_str(n, n->container_runtime), "gpu_devices", (json_int_t)n->n_gpus)) != 0 ||
	    json_object_set_new(o, "kubernetes", json_true()) != 0 ||
	    json_object_set_new(o, "agent", agent != NULL ? json_incref(agent) : json_null()) != 0) {
		json_decref(o);
		o = NULL;
	}
	json_decref(taints);
	json_decref(agents);
	hub_view_release(s);
	return hub_api_ok(r, o);
}

/* The GPU rows the node agent of (cluster, r->name) reported, as a whole 200 answer; 0 (nothing sent)
 * when it reported none or the database could not tell. */
static int agent_gpus(hub_req *r, const char *cluster)
{
	char err[FL_ERR_LEN] = "", *json = NULL;
	PGconn *c = hub_api_pgconn(r, err);
	int rv = c != NULL ? hub_node_gpus_json(c, cluster, r->name, &json, err) : FL_EDB;
	if (rv != FL_OK)
		fl_warn("api: node agent GPUs of '%s' unavailable: %s", r->name, err);
	if (rv != FL_OK || strcmp(json, "[]") == 0) {
		free(json);
		return 0;
	}
	return hub_api_answer_text(r, "GPU devices", json, FL_OK, "");
}

int hub_api_v1_node_gpus(hub_req *r)
{
	hub_view_snap *s;
	const hub_view_node *n;
	int rv = find_node(r, &s, &n);
	if (rv != 0)
		return rv;
	if (n == NULL) {
		int sent;
		json_t *agents = node_agents(r, &sent);
		const char *cluster = NULL;
		if (sent != 0)
			return sent;
		if ((rv = agent_only(r, agents, &cluster)) == 0 && (rv = agent_gpus(r, cluster)) == 0)
			rv = hub_api_ok(r, json_array());
		json_decref(agents);
		return rv;
	}
	if ((rv = agent_gpus(r, s->name)) != 0) { /* the node's own view of its GPUs comes first */
		hub_view_release(s);
		return rv;
	}
	json_t *rows = json_array();
	for (uint32_t g = 0; g < n->n_gpus; g++) {
		const hub_view_gpu *d = &n->gpus[g];
		rows =
		    append(rows, json_pack("{s:s,s:s,s:i,s:s,s:I,s:o,s:o,s:o,s:s,s:i,s:s}", "cluster_name", s->name,
		                           "node_name", hub_view_str(n, n->name), "gpu_id", (int)d->gpu_id, "gpu_model",
		                           hub_view_str(n, d->model), "memory", (json_int_t)d->memory_mib,
		                           "utilization", num_or_null(d->utilization), "temperature",
		                           num_or_null(d->temperature), "power", num_or_null(d->power), "serial",
		                           hub_view_str(n, d->serial), "numa", (int)d->numa, "source", "cluster"));
	}
	hub_view_release(s);
	return hub_api_ok(r, rows);
}
