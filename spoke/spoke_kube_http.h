/* spoke_kube_http.h — the kube source's transport: one libcurl GET to the API server with the cluster's
 * credentials, a LIST body kept whole up to max_page_bytes or a watch cut into event lines of at most
 * max_object_bytes, interruptible through a stop flag.
 *
 * One spoke_kube_http per stream thread; not shared between threads.
 * Return convention: spoke_kube_http_get answers the HTTP status (or -1 with err); the rest FL_OK or a
 * negative FL_E* (fl_err.h). */
#ifndef SPOKE_KUBE_HTTP_H
#define SPOKE_KUBE_HTTP_H

#include <curl/curl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fl_err.h"
#include "spoke_kube_creds.h"

typedef struct spoke_kube_http {
	/* set by the owner before the first request */
	const spoke_kube_creds *creds;
	atomic_bool *stop; /* true aborts a request in flight (within ~1 s of libcurl progress) */
	const char *what;  /* the kind, for log lines ("nodes") */
	int64_t max_page_bytes, max_object_bytes, watch_timeout_ms;
	/* A watch event line (without its newline); returns true when the event says the resourceVersion is
	 * gone: the transfer ends and spoke_kube_http_get answers 410. */
	bool (*on_line)(void *arg, const char *line, size_t len);
	/* An event line over max_object_bytes was skipped, or a LIST body went over max_page_bytes. */
	void (*on_oversized)(void *arg);
	void *arg;
	/* owned here */
	CURL *curl;
	char *buf;            /* a LIST response's body: buf[0..len) after spoke_kube_http_get */
	size_t len, cap, max; /* max: the ceiling for one page / one event line */
	bool want_watch;      /* a watch request: events are handled line by line once the status is 200 */
	bool watching;        /* events are handled line by line */
	bool started_body;    /* on_body has looked at the status */
	bool overflow;        /* a list page hit max (the transfer is aborted) */
	bool skipping;        /* an event line hit max: drop bytes to the next newline */
	bool gone;            /* on_line said the resourceVersion is gone */
} spoke_kube_http;

/* Creates h's curl handle (libcurl's global state once per process). FL_OK or FL_EIO. */
int spoke_kube_http_init(spoke_kube_http *h);

/* GET creds->server + path (list: the whole body into buf; watch: line by line to on_line). The bearer
 * token is re-read per request and wiped from memory after. Returns the HTTP status (410 when on_line
 * said gone; 200 for a watch that ran into its time-out), or -1 on a transport error, a body over
 * max_page_bytes or no memory (err filled). */
long spoke_kube_http_get(spoke_kube_http *h, const char *path, bool watch, char err[FL_ERR_LEN]);

/* "HTTP 401 (Unauthorized: ...)" from the Status body of the last (list) response, bounded. */
void spoke_kube_http_status_text(const spoke_kube_http *h, long status, char *out, size_t len);

/* Frees the curl handle and the body buffer. Safe on a zeroed h. */
void spoke_kube_http_free(spoke_kube_http *h);

#endif
