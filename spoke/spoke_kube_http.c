/* spoke_kube_http.c — one bounded, interruptible GET to the Kubernetes API server over libcurl. */
#include "spoke_kube_http.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fl_log.h"

#define CONT_LEN 4096 /* a LIST continue token (the path's longest part) */

/* A stream keeps at most this much body buffer between responses and between watch events. */
#define KEEP_BUF (1u << 20)

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

int spoke_kube_http_init(spoke_kube_http *h)
{
	pthread_once(&curl_once, curl_init);
	h->curl = curl_easy_init();
	return h->curl != NULL ? FL_OK : FL_EIO;
}

void spoke_kube_http_free(spoke_kube_http *h)
{
	if (h->curl != NULL) {
		curl_easy_cleanup(h->curl);
		h->curl = NULL;
	}
	free(h->buf);
	h->buf = NULL;
	h->len = h->cap = 0;
}

/* Gives back a body buffer that a huge page or event grew past KEEP_BUF, once its bytes are used: the
 * stream thread lives as long as the spoke, and one 200 MiB page must not stay resident until it exits. */
static void buf_trim(spoke_kube_http *s)
{
	if (s->cap > KEEP_BUF) {
		free(s->buf);
		s->buf = NULL;
		s->cap = 0;
		s->len = 0;
	}
}

/* Appends to the body (list) or cuts it into event lines (watch). */
static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	spoke_kube_http *s = arg;
	size_t n = size * nmemb;
	if (!s->started_body) {
		long code = 0;
		curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &code);
		s->started_body = true;
		s->watching = s->want_watch && code == 200;
		if (!s->watching) {
			s->max = (size_t)s->max_page_bytes;
		}
	}
	if (!s->watching) {
		if (s->len + n > s->max) {
			s->overflow = true;
			return 0; /* aborts the transfer */
		}
	}
	size_t off = 0;
	while (off < n) {
		const char *nl = s->watching ? memchr(data + off, '\n', n - off) : NULL;
		size_t take = nl != NULL ? (size_t)(nl - (data + off)) : n - off;
		if (s->skipping) {
			if (nl != NULL) {
				s->skipping = false;
			}
		} else if (s->len + take > s->max) {
			s->skipping = nl == NULL;
			s->len = 0;
			s->on_oversized(s->arg);
			fl_warn("kube: %s watch: an event larger than %lld bytes was skipped", s->what,
			        (long long)s->max);
		} else {
			if (s->len + take + 1 > s->cap) {
				size_t nc = s->cap == 0 ? 65536 : s->cap;
				while (nc < s->len + take + 1) {
					nc *= 2;
				}
				char *p = realloc(s->buf, nc);
				if (p == NULL) {
					return 0;
				}
				s->buf = p;
				s->cap = nc;
			}
			memcpy(s->buf + s->len, data + off, take);
			s->len += take;
			if (nl != NULL) {
				s->gone = s->on_line(s->arg, s->buf, s->len);
				s->len = 0;
				buf_trim(s);
				if (s->gone) {
					return 0;
				}
			}
		}
		off += take + (nl != NULL ? 1 : 0);
	}
	return n;
}

/* Frees a header list, first wiping libcurl's copies of the lines (one holds the bearer token). */
static void headers_free(struct curl_slist *h)
{
	for (struct curl_slist *i = h; i != NULL; i = i->next) {
		OPENSSL_cleanse(i->data, strlen(i->data));
	}
	curl_slist_free_all(h);
}

static int on_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	(void)a, (void)b, (void)c, (void)d;
	spoke_kube_http *s = arg;
	return atomic_load(s->stop) ? 1 : 0;
}

long spoke_kube_http_get(spoke_kube_http *s, const char *path, bool watch, char err[FL_ERR_LEN])
{
	const spoke_kube_creds *c = s->creds;
	char url[SPOKE_KUBE_URL_LEN + CONT_LEN + 256];
	snprintf(url, sizeof(url), "%s%s", c->server, path);
	char tok[SPOKE_KUBE_TOKEN_MAX];
	char terr[FL_ERR_LEN];
	if (spoke_kube_creds_token(c, tok, sizeof(tok), terr) != FL_OK) {
		OPENSSL_cleanse(tok, sizeof(tok)); /* a file too long still filled it */
		fl_seterr(err, FL_EIO, "token: %s", terr);
		return -1;
	}
	/* A failed append must fail the request: it would otherwise go out without its Authorization. */
	struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");
	if (h != NULL && tok[0] != '\0') {
		char auth[SPOKE_KUBE_TOKEN_MAX + 32];
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
		struct curl_slist *ha = curl_slist_append(h, auth);
		OPENSSL_cleanse(auth, sizeof(auth));
		if (ha == NULL) {
			headers_free(h);
		}
		h = ha;
	}
	OPENSSL_cleanse(tok, sizeof(tok));
	if (h == NULL) {
		fl_seterr(err, FL_ENOMEM, "GET %s: out of memory for the request headers", path);
		return -1;
	}
	buf_trim(s); /* the previous response is used by now */
	CURL *e = s->curl;
	curl_easy_reset(e);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(e, CURLOPT_XFERINFODATA, s);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(watch ? s->watch_timeout_ms + 30000 : 120000));
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	if (c->ca_file[0] != '\0') {
		curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
	}
	if (c->ca_pem != NULL) {
		struct curl_blob b = {c->ca_pem, c->ca_pem_len, CURL_BLOB_NOCOPY};
		curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &b);
	}
	if (c->insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (c->cert_file[0] != '\0') {
		curl_easy_setopt(e, CURLOPT_SSLCERT, c->cert_file);
	}
	if (c->key_file[0] != '\0') {
		curl_easy_setopt(e, CURLOPT_SSLKEY, c->key_file);
	}
	if (c->cert_pem != NULL) {
		struct curl_blob b = {c->cert_pem, c->cert_pem_len, CURL_BLOB_NOCOPY};
		curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &b);
	}
	if (c->key_pem != NULL) {
		struct curl_blob b = {c->key_pem, c->key_pem_len, CURL_BLOB_NOCOPY};
		curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &b);
	}
	s->len = 0;
	s->overflow = s->skipping = s->gone = false;
	s->want_watch = watch;
	s->watching = s->started_body = false;
	s->max = (size_t)(watch ? s->max_object_bytes : s->max_page_bytes);
	CURLcode cc = curl_easy_perform(e);
	headers_free(h);
	long status = 0;
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	if (s->gone) {
		return 410;
	}
	if (cc != CURLE_OK && !(watch && cc == CURLE_OPERATION_TIMEDOUT && status == 200)) {
		if (s->overflow) {
			s->on_oversized(s->arg);
			fl_seterr(err, FL_ELIMIT, "GET %s: body larger than %lld bytes", path,
			          (long long)s->max_page_bytes);
		} else {
			fl_seterr(err, FL_EIO, "GET %s: %s", path, curl_easy_strerror(cc));
		}
		return -1;
	}
	return status;
}

void spoke_kube_http_status_text(const spoke_kube_http *s, long status, char *out, size_t len)
{
	json_t *j = s->watching ? NULL : json_loadb(s->buf, s->len, 0, NULL);
	const char *msg = json_string_value(json_object_get(j, "message"));
	snprintf(out, len, "HTTP %ld%s%.160s%s", status, msg != NULL ? " (" : "", msg != NULL ? msg : "",
	         msg != NULL ? ")" : "");
	json_decref(j);
}
