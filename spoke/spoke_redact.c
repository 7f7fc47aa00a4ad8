/* spoke_redact.c — see spoke_redact.h. Everything scans the caller's bytes in place and writes through one
 * bounded builder: no allocation, no copy of an argument. */
#include "spoke_redact.h"

#include <string.h>

#define REDACTED   "***"
#define TOKEN_USER 20 /* a URL user name this long, alone, is taken for a token */

const char *spoke_cmdline_mode_name(spoke_cmdline_mode mode)
{
	return mode == SPOKE_CMDLINE_REDACTED ? "redacted"
	       : mode == SPOKE_CMDLINE_FULL   ? "full"
	       : mode == SPOKE_CMDLINE_NONE   ? "none"
	                                      : "unknown";
}

bool spoke_cmdline_mode_parse(const char *s, spoke_cmdline_mode *out)
{
	static const spoke_cmdline_mode modes[] = {SPOKE_CMDLINE_REDACTED, SPOKE_CMDLINE_FULL, SPOKE_CMDLINE_NONE};
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (strcmp(s, spoke_cmdline_mode_name(modes[i])) == 0) {
			*out = modes[i];
			return true;
		}
	}
	return false;
}

/* ---- characters ---- */

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

static bool is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

static bool is_alnum(char c)
{
	return is_upper(c) || is_lower(c) || (c >= '0' && c <= '9');
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_quote(char c)
{
	return c == '"' || c == '\'';
}

/* ---- keys ---- */

typedef struct {
	const char *s;
	size_t n;
} span;

/* Whether s[0..n) equals the lower-case word w, ignoring case. */
static bool seg_is(span g, const char *w)
{
	size_t m = strlen(w);
	if (g.n != m) {
		return false;
	}
	for (size_t i = 0; i < m; i++) {
		if (lower(g.s[i]) != w[i]) {
			return false;
		}
	}
	return true;
}

static bool seg_in(span g, const char *const *words)
{
	for (; *words != NULL; words++) {
		if (seg_is(g, *words)) {
			return true;
		}
	}
	return false;
}

static bool seg_contains(span g, const char *w)
{
	size_t m = strlen(w);
	for (size_t i = 0; i + m <= g.n; i++) {
		if (seg_is((span){g.s + i, m}, w)) {
			return true;
		}
	}
	return false;
}

/* The segment that starts at or after *pos in k[0..n) (see spoke_redact_secret_key) into *out, *pos moved
 * past it; false when none is left. */
static bool next_segment(const char *k, size_t n, size_t *pos, span *out)
{
	size_t i = *pos;
	while (i < n && !is_alnum(k[i])) {
		i++;
	}
	if (i == n) {
		*pos = n;
		return false;
	}
	size_t a = i++;
	while (i < n && is_alnum(k[i])) {
		bool hump =
		    is_upper(k[i]) && (is_lower(k[i - 1]) || (is_upper(k[i - 1]) && i + 1 < n && is_lower(k[i + 1])));
		if (hump) {
			break;
		}
		i++;
	}
	*out = (span){k + a, i - a};
	*pos = i;
	return true;
}

bool spoke_redact_secret_key(const char *key, size_t n)
{
	static const char *const inside[] = {"password", "passwd", "secret", "credential", "passphrase", NULL};
	static const char *const whole[] = {"pass",          "pwd",         "passin",    "passout",  "auth",
	                                    "authorization", "cookie",      "creds",     "apikey",   "privatekey",
	                                    "accesskey",     "accesstoken", "authtoken", "apitoken", "refreshtoken",
	                                    "sessiontoken",  "signature",   NULL};
	static const char *const token_before[] = {"pad",   "eos", "bos",  "unk", "sep", "cls", "mask", "special",
	                                           "start", "end", "stop", "max", "min", "num", NULL};
	static const char *const token_after[] = {"id",     "ids",   "len",  "length", "limit",
	                                          "budget", "count", "size", "type",   NULL};
	static const char *const key_before[] = {"api",    "private", "access",  "signing", "encryption",
	                                         "master", "ssh",     "session", "license", "account",
	                                         "client", "auth",    "hmac",    NULL};
	span prev = {NULL, 0}, cur = {NULL, 0}, next = {NULL, 0};
	size_t pos = 0;
	bool have = next_segment(key, n, &pos, &cur);
	while (have) {
		bool more = next_segment(key, n, &pos, &next);
		for (const char *const *w = inside; *w != NULL; w++) {
			if (seg_contains(cur, *w)) {
				return true;
			}
		}
		if (seg_in(cur, whole)) {
			return true;
		}
		if (seg_is(cur, "token") && !(prev.s != NULL && seg_in(prev, token_before)) &&
		    !(more && seg_in(next, token_after))) {
			return true;
		}
		if (seg_is(cur, "key") && prev.s != NULL && seg_in(prev, key_before)) {
			return true;
		}
		prev = cur;
		cur = next;
		have = more;
	}
	return false;
}

/* ---- output ---- */

/* A bounded byte builder: what does not fit is dropped. */
typedef struct {
	char *buf;
	size_t cap, len;
} builder;

static void put(builder *b, const char *s, size_t n)
{
	if (n > b->cap - b->len) {
		n = b->cap - b->len;
	}
	if (n > 0) {
		memcpy(b->buf + b->len, s, n);
		b->len += n;
	}
}

static void put_str(builder *b, const char *s)
{
	put(b, s, strlen(s));
}

/* ---- scanning helpers ---- */

/* The index after the string that opens at s[i] (a quote), or n when it does not close. Backslash escapes
 * inside double quotes (JSON, shell). */
static size_t string_end(const char *s, size_t i, size_t n)
{
	char q = s[i++];
	while (i < n && s[i] != q) {
		i += (s[i] == '\\' && q == '"' && i + 1 < n) ? 2 : 1;
	}
	return i < n ? i + 1 : n;
}

/* The index after the bracket matching the one at s[i] ('{' or '['), strings skipped; 0 when none. */
static size_t container_end(const char *s, size_t i, size_t n)
{
	size_t depth = 0;
	while (i < n) {
		char c = s[i];
		if (is_quote(c)) {
			size_t e = string_end(s, i, n);
			if (e == n && (e == i + 1 || s[e - 1] != c)) {
				return 0;
			}
			i = e;
			continue;
		}
		if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (--depth == 0) {
				return i + 1;
			}
		}
		i++;
	}
	return 0;
}

/* Whether s[0..n) starts like a JSON object/list or a Python dict: '{' then a quote, a bare key or '}'
 * ("{ echo; }", a shell group, has a space and a word: it is not); '[' then '{' or a quote. */
static bool json_start(const char *s, size_t n)
{
	if (n < 2 || (s[0] != '{' && s[0] != '[')) {
		return false;
	}
	size_t i = 1;
	while (i < n && is_space(s[i])) {
		i++;
	}
	if (i == n) {
		return false;
	}
	if (s[0] == '[') {
		return s[i] == '{' || is_quote(s[i]);
	}
	if (is_quote(s[i]) || s[i] == '}') {
		return true;
	}
	if (i > 1) {
		return false;
	}
	while (i < n && (is_alnum(s[i]) || s[i] == '_' || s[i] == '-')) {
		i++;
	}
	return i > 1 && i < n && s[i] == ':';
}

/* Length of a "Name:" header name at s[0..n) (letters, digits, '-', '_', then ':'), or 0. */
static size_t header_name(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && (is_alnum(s[i]) || s[i] == '-' || s[i] == '_')) {
		i++;
	}
	return i > 0 && i < n && s[i] == ':' ? i : 0;
}

/* Whether s[0..n) is a header whose name is secret ("Authorization: Bearer X", "X-Api-Key:abc"). */
static bool secret_header(const char *s, size_t n)
{
	size_t h = header_name(s, n);
	return h > 0 && spoke_redact_secret_key(s, h);
}

/* Length of the KEY in a KEY=VALUE word s[0..n): optional leading '-' or '+', then letters, digits and
 * . _ - up to the '=' (so a URL's "?a=b" is not one); 0 when s is not one. */
static size_t kv_key(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && (s[i] == '-' || s[i] == '+')) {
		i++;
	}
	size_t a = i;
	while (i < n && (is_alnum(s[i]) || s[i] == '_' || s[i] == '.' || s[i] == '-')) {
		i++;
	}
	return i > a && i < n && s[i] == '=' ? i : 0;
}

/* ---- values ---- */

/* Writes s[0..n) with the credentials of the URLs in it replaced: scheme://user:***@host, a long lone
 * user name (a token) ***, and secret query parameters. The authority ends at '/', '?', '#'; the user
 * info is what comes before its last '@'. */
static void put_url(builder *b, const char *s, size_t n)
{
	size_t done = 0; /* s[0..done) is written */
	size_t p = 0;
	while (p + 3 <= n) {
		const char *hit = NULL;
		for (size_t k = p; k + 3 <= n && hit == NULL; k++) {
			if (s[k] == ':' && s[k + 1] == '/' && s[k + 2] == '/') {
				hit = s + k;
			}
		}
		if (hit == NULL) {
			break;
		}
		size_t a = (size_t)(hit - s) + 3, end = a, auth_end = a, at = 0;
		while (end < n && !is_space(s[end]) && !is_quote(s[end])) {
			end++;
		}
		while (
		    auth_end < end && s[auth_end] != '/' && s[auth_end] != '?' && s[auth_end] != '#' &&
		    !(s[auth_end] == ':' && auth_end + 2 < end && s[auth_end + 1] == '/' && s[auth_end + 2] == '/')) {
			if (s[auth_end] == '@') {
				at = auth_end;
			}
			auth_end++;
		}
		if (at > a && a >= done) {
			const char *colon = memchr(s + a, ':', at - a);
			if (colon != NULL) {
				put(b, s + done, (size_t)(colon - s) + 1 - done);
				put_str(b, REDACTED);
				done = at;
			} else if (at - a >= TOKEN_USER) {
				put(b, s + done, a - done);
				put_str(b, REDACTED);
				done = at;
			}
		}
		size_t q = auth_end;
		while (q < end && s[q] != '?' && s[q] != '#') {
			q++;
		}
		if (q < end && s[q] == '?') {
			size_t k = q + 1;
			while (k < end && s[k] != '#') {
				size_t pe = k;
				while (pe < end && s[pe] != '&' && s[pe] != ';' && s[pe] != '#') {
					pe++;
				}
				const char *eq = memchr(s + k, '=', pe - k);
				if (eq != NULL && (size_t)(eq - s) >= done &&
				    spoke_redact_secret_key(s + k, (size_t)(eq - (s + k)))) {
					put(b, s + done, (size_t)(eq - s) + 1 - done);
					put_str(b, REDACTED);
					done = pe;
				}
				k = (pe < end && s[pe] != '#') ? pe + 1 : pe;
			}
		}
		p = auth_end > p ? auth_end : p + 1;
	}
	put(b, s + done, n - done);
}

/* Writes the secret header s[0..n): "Name:", the spaces after it, the auth scheme when the value is a
 * word of letters followed by more ("Bearer X": "Bearer "), then "***". */
static void put_header(builder *b, const char *s, size_t n)
{
	size_t i = header_name(s, n) + 1;
	while (i < n && is_space(s[i])) {
		i++;
	}
	size_t w = i;
	while (w < n && (is_upper(s[w]) || is_lower(s[w]))) {
		w++;
	}
	if (w > i && w < n && is_space(s[w])) {
		while (w < n && is_space(s[w])) {
			w++;
		}
		if (w < n) {
			i = w;
		}
	}
	put(b, s, i);
	put_str(b, REDACTED);
}

/* Skips the JSON value at s[*i] and writes "***" in its place: '"***"' for a string (in its own quotes),
 * "\"***\"" for an object or a list, *** for a number or another bare word. */
static void put_json_secret(builder *b, const char *s, size_t *i, size_t n)
{
	size_t k = *i;
	if (k >= n) {
		return;
	}
	if (is_quote(s[k])) {
		size_t e = string_end(s, k, n);
		put(b, &s[k], 1);
		put_str(b, REDACTED);
		if (e > k + 1 && s[e - 1] == s[k]) {
			put(b, &s[k], 1);
		}
		*i = e;
		return;
	}
	if (s[k] == '{' || s[k] == '[') {
		size_t e = container_end(s, k, n);
		put_str(b, "\"" REDACTED "\"");
		*i = e > 0 ? e : n;
		return;
	}
	while (k < n && s[k] != ',' && s[k] != '}' && s[k] != ']' && !is_space(s[k])) {
		k++;
	}
	put_str(b, REDACTED);
	*i = k;
}

/* Writes the JSON-looking s[0..n) with the values of secret keys replaced (see put_json_secret) and URLs
 * in other strings redacted. A key is a string (either quote) or a bare word followed by ':'. */
static void put_json(builder *b, const char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		char c = s[i];
		size_t key_a = 0, key_n = 0, after = 0;
		if (is_quote(c)) {
			size_t e = string_end(s, i, n);
			size_t j = e;
			while (j < n && is_space(s[j])) {
				j++;
			}
			if (j < n && s[j] == ':' && e >= i + 2) {
				key_a = i + 1;
				key_n = e - i - 2;
				after = j + 1;
			} else {
				put(b, &s[i], 1);
				size_t inner = (e > i + 1 && s[e - 1] == c) ? e - 1 : e;
				put_url(b, s + i + 1, inner - i - 1);
				put(b, s + inner, e - inner);
				i = e;
				continue;
			}
		} else if ((is_alnum(c) || c == '_') && i > 0 &&
		           (s[i - 1] == '{' || s[i - 1] == ',' || is_space(s[i - 1]))) {
			size_t e = i;
			while (e < n && (is_alnum(s[e]) || s[e] == '_' || s[e] == '-')) {
				e++;
			}
			size_t j = e;
			while (j < n && is_space(s[j])) {
				j++;
			}
			if (j < n && s[j] == ':') {
				key_a = i;
				key_n = e - i;
				after = j + 1;
			} else {
				put(b, s + i, e - i);
				i = e;
				continue;
			}
		} else {
			put(b, &c, 1);
			i++;
			continue;
		}
		while (after < n && is_space(s[after])) {
			after++;
		}
		put(b, s + i, after - i);
		i = after;
		if (spoke_redact_secret_key(s + key_a, key_n)) {
			put_json_secret(b, s, &i, n);
		}
	}
}

/* Writes a value: quotes around it kept, then a secret header, a JSON argument, or URLs redacted. */
static void put_value(builder *b, const char *s, size_t n)
{
	if (n >= 2 && is_quote(s[0]) && s[n - 1] == s[0]) {
		put(b, s, 1);
		put_value(b, s + 1, n - 2);
		put(b, s + n - 1, 1);
	} else if (secret_header(s, n)) {
		put_header(b, s, n);
	} else if (json_start(s, n)) {
		put_json(b, s, n);
	} else {
		put_url(b, s, n);
	}
}

/* ---- clients with secret options that have no key ---- */

typedef struct {
	const char *name;
	const char *attached; /* "-p": "-pSECRET" is a secret */
	const char *separate; /* "-a": the word after it is a secret */
	bool userpass;        /* curl: -u/--user/-U/--proxy-user USER:PASSWORD */
} client;

static const client clients[] = {
    {"mysql", "-p", NULL, false},          {"mysqldump", "-p", NULL, false},    {"mysqladmin", "-p", NULL, false},
    {"mysqlimport", "-p", NULL, false},    {"mysqlshow", "-p", NULL, false},    {"mysqlcheck", "-p", NULL, false},
    {"mysqlpump", "-p", NULL, false},      {"mysqlbinlog", "-p", NULL, false},  {"mysqlslap", "-p", NULL, false},
    {"mariadb", "-p", NULL, false},        {"mariadb-dump", "-p", NULL, false}, {"mariadb-admin", "-p", NULL, false},
    {"mariadb-import", "-p", NULL, false}, {"mariadb-show", "-p", NULL, false}, {"mariadb-check", "-p", NULL, false},
    {"mariadb-binlog", "-p", NULL, false}, {"mariadb-slap", "-p", NULL, false}, {"sshpass", "-p", "-p", false},
    {"redis-cli", NULL, "-a", false},      {"curl", NULL, NULL, true},
};

static const client *client_named(const char *w, size_t n)
{
	const char *slash = NULL;
	for (size_t i = 0; i < n; i++) {
		if (w[i] == '/') {
			slash = w + i;
		}
	}
	if (slash != NULL) {
		n -= (size_t)(slash + 1 - w);
		w = slash + 1;
	}
	for (size_t i = 0; i < sizeof(clients) / sizeof(clients[0]); i++) {
		if (strlen(clients[i].name) == n && memcmp(clients[i].name, w, n) == 0) {
			return &clients[i];
		}
	}
	return NULL;
}

static bool word_is(const char *w, size_t n, const char *s)
{
	return strlen(s) == n && memcmp(w, s, n) == 0;
}

/* curl's user option: "-u", "--user", "-U", "--proxy-user". */
static bool user_flag(const char *w, size_t n)
{
	return word_is(w, n, "-u") || word_is(w, n, "--user") || word_is(w, n, "-U") || word_is(w, n, "--proxy-user");
}

/* Writes USER:PASSWORD as USER:***; a lone user stays. */
static void put_userpass(builder *b, const char *s, size_t n)
{
	const char *colon = memchr(s, ':', n);
	if (colon == NULL) {
		put(b, s, n);
		return;
	}
	put(b, s, (size_t)(colon - s) + 1);
	put_str(b, REDACTED);
}

/* ---- words and arguments ---- */

typedef enum { NEXT_KEEP, NEXT_SECRET, NEXT_USERPASS } next_kind;

typedef struct {
	next_kind next;       /* what the next word is */
	const client *client; /* the client whose options these are, or NULL */
} scan_state;

static bool long_flag(const char *w, size_t n)
{
	return n >= 2 && w[0] == '-' && w[1] == '-';
}

/* Writes the word w[0..n) (a next-marked secret is handled by the caller), quotes around it kept. */
static void put_word(scan_state *st, builder *b, const char *w, size_t n)
{
	if (n >= 2 && is_quote(w[0]) && w[n - 1] == w[0]) {
		put(b, w, 1);
		put_word(st, b, w + 1, n - 2);
		put(b, w + n - 1, 1);
		return;
	}
	const client *cl = st->client;
	if (cl != NULL && cl->attached != NULL) {
		size_t m = strlen(cl->attached);
		if (n > m && memcmp(w, cl->attached, m) == 0) {
			put(b, w, m);
			put_str(b, REDACTED);
			return;
		}
	}
	if (cl != NULL && cl->separate != NULL && word_is(w, n, cl->separate)) {
		put(b, w, n);
		st->next = NEXT_SECRET;
		return;
	}
	if (cl != NULL && cl->userpass) {
		if (user_flag(w, n)) {
			put(b, w, n);
			st->next = NEXT_USERPASS;
			return;
		}
		if (n > 2 && (w[1] == 'u' || w[1] == 'U') && w[0] == '-' && w[2] != '-') {
			put(b, w, 2);
			put_userpass(b, w + 2, n - 2);
			return;
		}
	}
	size_t k = kv_key(w, n);
	if (k > 0) {
		put(b, w, k + 1);
		if (spoke_redact_secret_key(w, k)) {
			put_str(b, REDACTED);
		} else if (cl != NULL && cl->userpass && (word_is(w, k, "--user") || word_is(w, k, "--proxy-user"))) {
			put_userpass(b, w + k + 1, n - k - 1);
		} else {
			put_value(b, w + k + 1, n - k - 1);
		}
		return;
	}
	if (n >= 2 && w[0] == '-' && !(w[1] >= '0' && w[1] <= '9') && w[1] != '.' && !secret_header(w, n)) {
		put(b, w, n);
		st->next = spoke_redact_secret_key(w, n) ? NEXT_SECRET : NEXT_KEEP;
		return;
	}
	put_value(b, w, n);
	const client *named = client_named(w, n);
	if (named != NULL) {
		st->client = named;
	}
}

/* Writes a word or a whole argument that a previous flag marked secret. A shell word keeps the ';' that
 * ends its command ("--password X;"). */
static void put_secret(scan_state *st, builder *b, const char *w, size_t n, bool shell_word)
{
	bool semi = shell_word && n > 1 && w[n - 1] == ';';
	if (st->next == NEXT_USERPASS) {
		put_userpass(b, w, semi ? n - 1 : n);
	} else {
		put_str(b, REDACTED);
	}
	if (semi) {
		put(b, ";", 1);
	}
	st->next = NEXT_KEEP;
}

/* The index after the word that starts at s[i]: it ends at whitespace outside quotes and outside a
 * JSON-looking {...} or [...] that closes within s. A quote that never closes is an ordinary character. */
static size_t word_end(const char *s, size_t i, size_t n)
{
	while (i < n && !is_space(s[i])) {
		char c = s[i];
		if (is_quote(c)) {
			size_t e = string_end(s, i, n);
			i = (e > i + 1 && s[e - 1] == c && e - 1 > i) ? e : i + 1;
			continue;
		}
		if ((c == '{' || c == '[') && json_start(s + i, n - i)) {
			size_t e = container_end(s, i, n);
			if (e > 0) {
				i = e;
				continue;
			}
		}
		i++;
	}
	return i;
}

/* Whether word w ends a shell command (so the client's options end with it). */
static bool command_end(const char *w, size_t n)
{
	return word_is(w, n, "&&") || word_is(w, n, "||") || word_is(w, n, "|") ||
	       (n > 0 && (w[n - 1] == ';' || w[n - 1] == '&'));
}

/* Writes one argument s[0..n) (one NUL-terminated string of the command line). */
static void put_arg(scan_state *st, builder *b, const char *s, size_t n)
{
	if (n == 0) {
		st->next = NEXT_KEEP;
		return;
	}
	if (st->next != NEXT_KEEP && !long_flag(s, n)) {
		put_secret(st, b, s, n, false); /* the whole argument: "--password 'two words'" */
		return;
	}
	st->next = NEXT_KEEP;
	bool spaced = false;
	for (size_t i = 0; i < n && !spaced; i++) {
		spaced = is_space(s[i]);
	}
	if (spaced) {
		/* One argument that is one value with spaces: a header (also after --header= or -H), JSON. */
		size_t k = kv_key(s, n);
		if (k > 0 && s[0] == '-' && spoke_redact_secret_key(s, k)) {
			put(b, s, k + 1); /* "--password=two words"; "TOKEN=x python ..." is a shell line: by word */
			put_str(b, REDACTED);
			return;
		}
		size_t pre = k > 0 && !spoke_redact_secret_key(s, k) ? k + 1
		             : (n > 2 && s[0] == '-' && s[1] == 'H') ? 2
		                                                     : 0;
		if (secret_header(s + pre, n - pre) || (pre == 0 && json_start(s, n))) {
			put(b, s, pre);
			put_value(b, s + pre, n - pre);
			return;
		}
	}
	size_t i = 0;
	while (i < n) {
		if (is_space(s[i])) {
			put(b, &s[i], 1);
			i++;
			continue;
		}
		size_t a = i;
		i = word_end(s, i, n);
		const char *w = s + a;
		size_t wn = i - a;
		if (st->next != NEXT_KEEP && !long_flag(w, wn)) {
			put_secret(st, b, w, wn, true);
		} else {
			st->next = NEXT_KEEP;
			put_word(st, b, w, wn);
		}
		if (command_end(w, wn)) {
			st->client = NULL;
			st->next = NEXT_KEEP;
		}
	}
}

size_t spoke_redact_cmdline(const char *raw, size_t n, spoke_cmdline_mode mode, char *out, size_t cap)
{
	builder b = {out, cap, 0};
	if (mode == SPOKE_CMDLINE_NONE) {
		return 0;
	}
	if (n > 0 && raw[n - 1] == '\0') {
		n--; /* the terminator of the last argument */
	}
	scan_state st = {NEXT_KEEP, NULL};
	size_t i = 0;
	for (;;) {
		size_t a = i;
		while (i < n && raw[i] != '\0') {
			i++;
		}
		if (mode == SPOKE_CMDLINE_FULL) {
			put(&b, raw + a, i - a);
		} else {
			put_arg(&st, &b, raw + a, i - a);
		}
		if (i >= n) {
			break;
		}
		put(&b, " ", 1);
		i++;
	}
	return b.len;
}
