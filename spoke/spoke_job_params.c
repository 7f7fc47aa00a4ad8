/* spoke_job_params.c — see spoke_job_params.h. One pass over the arguments: each is first made what the
 * hub would see of it (redacted), then read as a parameter, a config path or neither. */
#include "spoke_job_params.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spoke_node_read.h"

#define SENT_MAX     2048 /* of one argument as sent: a key, '=' and a path field's worth, with room */
#define NUM_MAX      64   /* a number longer than this has more than 15 significant digits or is text */
#define INT_DIGITS   16   /* 2^53 = 9007199254740992 */
#define SIG_DIGITS   15
#define SECRET_VALUE "***"

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Digits from s[*i]; returns how many. */
static size_t digits(const char *s, size_t n, size_t *i)
{
	size_t start = *i;
	while (*i < n && is_digit(s[*i])) {
		(*i)++;
	}
	return *i - start;
}

bool spoke_job_params_number(const char *s, size_t n, double *out)
{
	size_t i = 0, sig = 0;
	bool seen_nonzero = false, plain = true;
	if (i < n && s[i] == '-') {
		i++;
	}
	size_t int_start = i;
	if (i >= n || !is_digit(s[i]) || (s[i] == '0' && i + 1 < n && is_digit(s[i + 1]))) {
		return false; /* "", "-", "+1", ".5", "007" */
	}
	size_t n_int = digits(s, n, &i);
	size_t frac_start = i, n_frac = 0;
	if (i < n && s[i] == '.') {
		i++;
		frac_start = i;
		if ((n_frac = digits(s, n, &i)) == 0) {
			return false; /* "1." */
		}
		plain = false;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-')) {
			i++;
		}
		if (digits(s, n, &i) == 0) {
			return false;
		}
		plain = false;
	}
	if (i != n || n >= NUM_MAX) {
		return false;
	}
	for (size_t k = 0; k < n_int + n_frac; k++) { /* the mantissa's digits from the first non-zero one */
		char c = k < n_int ? s[int_start + k] : s[frac_start + k - n_int];
		seen_nonzero = seen_nonzero || c != '0';
		sig += seen_nonzero ? 1 : 0;
	}
	char buf[NUM_MAX];
	memcpy(buf, s, n);
	buf[n] = '\0';
	double v = strtod(buf, NULL);
	if (plain) {
		uint64_t mag = 0;
		for (size_t k = 0; k < n_int && n_int <= INT_DIGITS; k++) {
			mag = mag * 10 + (uint64_t)(s[int_start + k] - '0');
		}
		if (n_int > INT_DIGITS || mag > (UINT64_C(1) << 53)) {
			return false;
		}
	} else if (sig > SIG_DIGITS || !isfinite(v) || (v == 0.0 && seen_nonzero)) {
		return false;
	}
	if (out != NULL) {
		*out = v;
	}
	return true;
}

/* ---- what is collected ---- */

typedef struct {
	fl_proto_kv *kv;
	uint32_t n, cap;
	bool oom;
	char config[FL_PATH_LEN];  /* from a config flag */
	char guessed[FL_PATH_LEN]; /* the first argument with a config file's extension */
} collected;

static bool key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || strchr("_.+~/@-", c) != NULL;
}

static bool key_ok(const char *k, size_t n)
{
	if (n == 0 || n >= FL_KV_KEY_LEN) {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (!key_char(k[i])) {
			return false;
		}
	}
	return true;
}

static bool config_key(const char *k, size_t n)
{
	static const char *const names[] = {"config",      "config-file",      "config_file",     "cfg",
	                                    "config-path", "deepspeed_config", "deepspeed-config"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strlen(names[i]) == n && memcmp(names[i], k, n) == 0) {
			return true;
		}
	}
	return false;
}

static bool has_config_ext(const char *s, size_t n)
{
	static const char *const exts[] = {".yaml", ".yml", ".json", ".toml", ".ini", ".cfg", ".conf"};
	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		size_t m = strlen(exts[i]);
		if (n > m) {
			size_t k = 0;
			while (k < m && (s[n - m + k] | 0x20) == exts[i][k]) {
				k++;
			}
			if (k == m) {
				return true;
			}
		}
	}
	return false;
}

/* A parameter: a new key appended (while there is room), a known one given the later value. */
static void add_param(collected *co, const char *key, size_t kn, const char *val, size_t vn, bool dashed)
{
	if (!key_ok(key, kn)) {
		return;
	}
	if (dashed && co->config[0] == '\0' && config_key(key, kn)) {
		spoke_node_read_utf8(co->config, sizeof(co->config), val, vn);
	}
	fl_proto_kv *p = NULL;
	for (uint32_t i = 0; i < co->n && p == NULL; i++) {
		p = strlen(co->kv[i].key) == kn && memcmp(co->kv[i].key, key, kn) == 0 ? &co->kv[i] : NULL;
	}
	if (p == NULL) {
		if (co->n == FL_PROTO_MAX_JOB_PARAMS || co->oom) {
			return;
		}
		if (co->n == co->cap) {
			uint32_t ncap = co->cap == 0 ? 8 : co->cap * 2;
			ncap = ncap < FL_PROTO_MAX_JOB_PARAMS ? ncap : FL_PROTO_MAX_JOB_PARAMS;
			fl_proto_kv *grown = realloc(co->kv, ncap * sizeof(*grown));
			if (grown == NULL) {
				co->oom = true;
				return;
			}
			co->kv = grown;
			co->cap = ncap;
		}
		p = &co->kv[co->n++];
		memset(p, 0, sizeof(*p));
		memcpy(p->key, key, kn);
		p->key[kn] = '\0';
	}
	p->is_num = spoke_job_params_number(val, vn, &p->num);
	if (p->is_num) {
		p->value[0] = '\0';
	} else {
		p->num = 0;
		spoke_node_read_utf8(p->value, sizeof(p->value), val, vn);
	}
}

/* ---- arguments ---- */

/* Whether an argument can be the value of the --key before it. */
static bool value_like(const char *s, size_t n)
{
	return n == 0 || s[0] != '-' || (n > 1 && s[1] != '-' && spoke_job_params_number(s, n, NULL));
}

/* Whether raw argument a is a --key or -key flag (no '=') whose key is secret: the redactor sends the
 * word after it as "***". */
static bool secret_flag(const char *a, size_t n)
{
	if (n < 2 || a[0] != '-' || memchr(a, '=', n) != NULL) {
		return false;
	}
	size_t d = 0;
	while (d < n && a[d] == '-') {
		d++;
	}
	return d < n && spoke_redact_secret_key(a + d, n - d);
}

/* Argument a as sent, into out; its length. */
static size_t as_sent(const char *a, size_t n, spoke_cmdline_mode mode, bool after_secret, char out[SENT_MAX])
{
	if (mode == SPOKE_CMDLINE_REDACTED && after_secret && !(n >= 2 && a[0] == '-' && a[1] == '-')) {
		memcpy(out, SECRET_VALUE, sizeof(SECRET_VALUE));
		return sizeof(SECRET_VALUE) - 1;
	}
	if (mode == SPOKE_CMDLINE_REDACTED) {
		return spoke_redact_cmdline(a, n, mode, out, SENT_MAX);
	}
	size_t len = n < SENT_MAX ? n : SENT_MAX;
	memcpy(out, a, len);
	return len;
}

/* Reads one argument as sent (s[0..n)); pending holds a --key waiting for its value ("" when none). */
static void take(collected *co, const char *s, size_t n, char pending[FL_KV_KEY_LEN])
{
	const char *eq = memchr(s, '=', n);
	bool is_value = false;
	if (pending[0] != '\0') {
		is_value = value_like(s, n);
		if (is_value) {
			add_param(co, pending, strlen(pending), s, n, true);
		}
		pending[0] = '\0';
	}
	if (!is_value && n > 2 && s[0] == '-' && s[1] == '-') {
		size_t d = 2;
		while (d < n && s[d] == '-') {
			d++;
		}
		if (eq != NULL) {
			add_param(co, s + d, (size_t)(eq - s) - d, eq + 1, n - (size_t)(eq + 1 - s), true);
		} else if (key_ok(s + d, n - d)) {
			memcpy(pending, s + d, n - d);
			pending[n - d] = '\0';
		}
	} else if (!is_value && n > 0 && s[0] != '-' && eq != NULL) {
		add_param(co, s, (size_t)(eq - s), eq + 1, n - (size_t)(eq + 1 - s), false);
	}
	const char *v = eq != NULL && !is_value ? eq + 1 : s; /* a key=value's value, else the argument */
	size_t vn = n - (size_t)(v - s);
	if (co->guessed[0] == '\0' && has_config_ext(v, vn)) {
		spoke_node_read_utf8(co->guessed, sizeof(co->guessed), v, vn);
	}
}

int spoke_job_params(const char *raw, size_t n, spoke_cmdline_mode mode, fl_proto_kv **params, uint32_t *n_params,
                     char config_path[FL_PATH_LEN])
{
	*params = NULL;
	*n_params = 0;
	config_path[0] = '\0';
	if (mode == SPOKE_CMDLINE_NONE) {
		return FL_OK;
	}
	collected co = {0};
	char pending[FL_KV_KEY_LEN] = "", sent[SENT_MAX];
	bool after_secret = false;
	for (size_t at = 0, idx = 0; at < n; idx++) {
		const char *a = raw + at, *end = memchr(a, '\0', n - at);
		size_t len = end != NULL ? (size_t)(end - a) : n - at;
		at += len + 1;
		if (idx > 0) {
			size_t sl = as_sent(a, len, mode, after_secret, sent);
			take(&co, sent, sl, pending);
		}
		after_secret = secret_flag(a, len);
	}
	if (co.oom) {
		free(co.kv);
		return FL_ENOMEM;
	}
	snprintf(config_path, FL_PATH_LEN, "%s", co.config[0] != '\0' ? co.config : co.guessed);
	*params = co.n > 0 ? co.kv : NULL;
	if (co.n == 0) {
		free(co.kv);
	}
	*n_params = co.n;
	return FL_OK;
}
