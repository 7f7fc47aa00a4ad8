/* spoke_prom_http.c — one bounded instant query over HTTP(S) with libcurl. */
#include "spoke_prom.h"

#include <curl/curl.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The answer being received: grows up to cap bytes, then the transfer is aborted. */
struct body {
	char *data;
	size_t len, alloc, cap;
	bool too_big, nomem;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct body *b = userdata;
	size_t n = size * nmemb;
	if (n > b->cap - b->len) {
		b->too_big = true;
		return 0; /* aborts the transfer (CURLE_WRITE_ERROR) */
	}
	if (b->len + n + 1 > b->alloc) {
		size_t want = b->alloc == 0 ? 16384 : b->alloc;
		while (want < b->len + n + 1) {
			want *= 2;
		}
		if (want > b->cap + 1) {
			want = b->cap + 1;
		}
		char *p = realloc(b->data, want);
		if (p == NULL) {
			b->nomem = true;
			return 0;
		}
		b->data = p;
		b->alloc = want;
	}
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/* Reads a secret file (token or password) into out (outlen bytes), surrounding whitespace removed.
 * Read at every query, so a rotated token is picked up. FL_OK or FL_EIO with err. */
static int read_secret(const char *path, char *out, size_t outlen, char err[FL_ERR_LEN])
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		return fl_seterr(err, FL_EIO, "prometheus: cannot read %s: %s", path, strerror(errno));
	}
	size_t n = fread(out, 1, outlen - 1, f);
	bool more = n == outlen - 1 && fgetc(f) != EOF;
	fclose(f);
	if (more) {
		return fl_seterr(err, FL_EIO, "prometheus: %s is larger than %zu bytes", path, outlen - 1);
	}
	out[n] = '\0';
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' ' || out[n - 1] == '\t')) {
		out[--n] = '\0';
	}
	size_t lead = strspn(out, " \t\r\n");
	memmove(out, out + lead, n - lead + 1);
	if (out[0] == '\0' || strpbrk(out, "\r\n") != NULL) {
		return fl_seterr(err, FL_EIO, "prometheus: %s is empty or holds more than one line", path);
	}
	return FL_OK;
}

/* The outcome of a transfer c that ended with cr: on FL_OK the answer moves from b into *body / *len
 * (never NULL, caller frees) with the HTTP status in *status; otherwise an error with err filled. */
static int take_answer(CURL *c, CURLcode cr, struct body *b, const spoke_prom_config *cfg, char **body, size_t *len,
                       long *status, char err[FL_ERR_LEN])
{
	int rv = FL_OK;
	if (b->nomem) {
		rv = fl_seterr(err, FL_ENOMEM, "prometheus: out of memory for the answer");
	} else if (b->too_big || cr == CURLE_FILESIZE_EXCEEDED) {
		rv = fl_seterr(err, FL_ELIMIT, "prometheus: answer larger than max_response_bytes (%zu)", b->cap);
	} else if (cr == CURLE_OPERATION_TIMEDOUT) {
		rv = fl_seterr(err, FL_ETIMEDOUT, "prometheus: no answer from %s within %lld ms", cfg->url,
		               (long long)cfg->timeout_ms);
	} else if (cr != CURLE_OK) {
		rv = fl_seterr(err, FL_EIO, "prometheus: %s: %s", cfg->url, curl_easy_strerror(cr));
	} else {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
		if (b->data == NULL && (b->data = calloc(1, 1)) == NULL) {
			rv = fl_seterr(err, FL_ENOMEM, "prometheus: out of memory");
		} else {
			*body = b->data;
			*len = b->len;
			b->data = NULL;
		}
	}
	return rv;
}

int spoke_prom_http_query(const spoke_prom_config *cfg, const char *query, char **body, size_t *len, long *status,
                          char err[FL_ERR_LEN])
{
	*body = NULL;
	*len = 0;
	*status = 0;
	struct body b = {.cap = (size_t)cfg->max_response_bytes};
	char secret[SPOKE_PROM_SECRET_MAX + 1];
	char *auth = NULL, *url = NULL, *esc = NULL;
	struct curl_slist *headers = NULL;
	int rv = FL_OK;

	CURL *c = curl_easy_init();
	if (c == NULL) {
		return fl_seterr(err, FL_ENOMEM, "prometheus: curl_easy_init failed");
	}
	if ((esc = curl_easy_escape(c, query, 0)) == NULL) {
		rv = fl_seterr(err, FL_ENOMEM, "prometheus: out of memory escaping a query");
		goto out;
	}
	size_t ulen = strlen(cfg->url) + strlen("/api/v1/query?query=") + strlen(esc) + 1;
	if ((url = malloc(ulen)) == NULL) {
		rv = fl_seterr(err, FL_ENOMEM, "prometheus: out of memory");
		goto out;
	}
	snprintf(url, ulen, "%s/api/v1/query?query=%s", cfg->url, esc);

	if (cfg->token_file[0] != '\0') {
		if ((rv = read_secret(cfg->token_file, secret, sizeof(secret), err)) != FL_OK) {
			goto out;
		}
		size_t alen = strlen(secret) + 32;
		if ((auth = malloc(alen)) == NULL) {
			rv = fl_seterr(err, FL_ENOMEM, "prometheus: out of memory");
			goto out;
		}
		snprintf(auth, alen, "Authorization: Bearer %s", secret);
		struct curl_slist *h = curl_slist_append(NULL, auth);
		if (h == NULL) {
			rv = fl_seterr(err, FL_ENOMEM, "prometheus: out of memory");
			goto out;
		}
		headers = h;
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	} else if (cfg->username[0] != '\0') {
		if ((rv = read_secret(cfg->password_file, secret, sizeof(secret), err)) != FL_OK) {
			goto out;
		}
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERNAME, cfg->username);
		curl_easy_setopt(c, CURLOPT_PASSWORD, secret);
	}
	if (cfg->ca_file[0] != '\0') {
		curl_easy_setopt(c, CURLOPT_CAINFO, cfg->ca_file);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)cfg->timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->timeout_ms);
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, ""); /* gzip if offered; the cap applies to decoded bytes */
	curl_easy_setopt(c, CURLOPT_USERAGENT, "fleetlens-spoke");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	if (b.cap <= (size_t)INT64_MAX) {
		curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)b.cap);
	}

	rv = take_answer(c, curl_easy_perform(c), &b, cfg, body, len, status, err);
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	if (auth != NULL) {
		OPENSSL_cleanse(auth, strlen(auth));
		free(auth);
	}
	for (struct curl_slist *i = headers; i != NULL; i = i->next) {
		OPENSSL_cleanse(i->data, strlen(i->data)); /* libcurl's copy of the Authorization line */
	}
	curl_slist_free_all(headers);
	curl_free(esc);
	free(url);
	free(b.data);
	curl_easy_cleanup(c);
	return rv;
}
