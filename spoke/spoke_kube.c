/* spoke_kube.c — list + watch of nodes, pods, ReplicaSets and Jobs over libcurl, JSON by jansson, a
 * live model under a mutex. One thread and one curl easy handle per kind. ReplicaSets and Jobs are
 * kept only as links to their controller (a Deployment, a CronJob) so pods resolve to workloads. */
#include "spoke_kube.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fl_log.h"
#include "fl_time.h"
#include "spoke_kube_obj.h"
#include "spoke_stats.h"

#define BACKOFF_MIN_MS 200
#define RV_LEN         128
#define CONT_LEN       4096
#define POD_SELECTOR   "status.phase%21%3DSucceeded%2Cstatus.phase%21%3DFailed"

enum kind { KIND_NODES = 0, KIND_PODS = 1, KIND_REPLICASETS = 2, KIND_JOBS = 3 };
#define N_KINDS      4
#define IS_OWNER(k)  ((k) >= KIND_REPLICASETS) /* kinds kept only as owner links */
#define MAX_ENDED    10000                     /* ended pods remembered until the next snapshot */

/* A stream keeps at most this much body buffer between responses and between watch events. */
#define KEEP_BUF (1u << 20)

struct spoke_kube;

/* One kind's stream: its thread, curl handle and the body being read. */
typedef struct stream {
	struct spoke_kube *k;
	enum kind kind;
	pthread_t thread;
	bool started;
	CURL *curl;
	char rv[RV_LEN]; /* resourceVersion to watch from */
	bool synced;     /* listed at least once */
	/* the response being read */
	char *buf;
	size_t len, cap, max; /* max: the ceiling for one page / one event line */
	bool want_watch;      /* a watch request: events are handled line by line once the status is 200 */
	bool watching;        /* events are handled line by line */
	bool started_body;    /* on_body has looked at the status */
	bool overflow;        /* a list page hit max (the transfer is aborted) */
	bool skipping;        /* an event line hit max: drop bytes to the next newline */
	bool gone;            /* a 410 ERROR event arrived */
	bool changed;         /* an event on this stream marked the model urgent */
} stream;

struct spoke_kube {
	spoke_kube_config cfg;
	spoke_overview_rules rules;
	spoke_kube_creds creds;
	atomic_bool stop;
	pthread_mutex_t mu; /* guards everything below */
	pthread_cond_t cv;  /* signalled when a kind syncs */
	spoke_node *nodes;
	uint32_t n_nodes, cap_nodes;
	spoke_pod *pods;
	uint32_t n_pods, cap_pods;
	spoke_pod *ended; /* pods that ended (Succeeded/Failed) since the last snapshot: their workload's end */
	uint32_t n_ended, cap_ended;
	spoke_owner_link *links[2]; /* by kind - KIND_REPLICASETS: objects that have a controller */
	uint32_t n_links[2], cap_links[2];
	bool synced[N_KINDS];
	bool unavailable[2]; /* an owner kind the server refused (403/404): pods resolve to it as it is */
	int64_t urgent_since; /* monotonic ms of the first pending urgent change, 0 = none */
	char last_error[FL_ERR_LEN];
	spoke_kube_stats st;
	stream streams[N_KINDS];
};

static const char *const kind_name[N_KINDS] = {"nodes", "pods", "replicasets", "jobs"};
static const char *const kind_path[N_KINDS] = {"/api/v1/nodes", "/api/v1/pods", "/apis/apps/v1/replicasets",
                                               "/apis/batch/v1/jobs"};
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void spoke_kube_config_default(spoke_kube_config *c)
{
	memset(c, 0, sizeof(*c));
	c->page_limit = 500;
	c->max_object_bytes = 4 << 20;
	c->max_page_bytes = 256 << 20;
	c->watch_timeout_ms = 300000;
	c->sync_timeout_ms = 30000;
	c->debounce_ms = 1000;
	c->max_backoff_ms = 30000;
}

/* ---- the live model (callers hold k->mu) ------------------------------------------------------- */

static int grow(void **arr, uint32_t n, uint32_t *cap, size_t elem)
{
	if (n < *cap) {
		return FL_OK;
	}
	uint32_t nc = *cap == 0 ? 64 : *cap * 2;
	if (nc > UINT32_MAX / 2) {
		return FL_ELIMIT;
	}
	void *p = realloc(*arr, (size_t)nc * elem);
	if (p == NULL) {
		return FL_ENOMEM;
	}
	*arr = p;
	*cap = nc;
	return FL_OK;
}

static void mark_urgent(spoke_kube *k)
{
	if (k->urgent_since == 0) {
		k->urgent_since = fl_mono_ms();
	}
}

static int64_t gpu_sum(const spoke_kube *k, const spoke_resources *r)
{
	int64_t s = 0;
	for (uint32_t i = 0; i < k->rules.n_gpu_resources; i++) {
		s += spoke_resources_get(r, k->rules.gpu_resources[i]);
	}
	return s;
}

/* A change the hub should see before the next cycle: Ready, unschedulable, taints, allocatable GPUs. */
static bool node_matters(const spoke_kube *k, const spoke_node *a, const spoke_node *b)
{
	if (strcmp(a->ready, b->ready) != 0 || a->unschedulable != b->unschedulable || a->n_taints != b->n_taints ||
	    gpu_sum(k, &a->allocatable) != gpu_sum(k, &b->allocatable)) {
		return true;
	}
	for (uint32_t i = 0; i < a->n_taints; i++) {
		if (strcmp(a->taints[i].key, b->taints[i].key) != 0 ||
		    strcmp(a->taints[i].effect, b->taints[i].effect) != 0) {
			return true;
		}
	}
	return false;
}

/* Takes ownership of *n. */
static int upsert_node(spoke_kube *k, spoke_node *n)
{
	for (uint32_t i = 0; i < k->n_nodes; i++) {
		if (strcmp(k->nodes[i].name, n->name) == 0) {
			if (node_matters(k, &k->nodes[i], n)) {
				mark_urgent(k);
			}
			spoke_kube_node_clear(&k->nodes[i]);
			k->nodes[i] = *n;
			return FL_OK;
		}
	}
	int rv = grow((void **)&k->nodes, k->n_nodes, &k->cap_nodes, sizeof(*k->nodes));
	if (rv != FL_OK) {
		spoke_kube_node_clear(n);
		return rv;
	}
	k->nodes[k->n_nodes++] = *n;
	mark_urgent(k);
	return FL_OK;
}

static void delete_node(spoke_kube *k, const char *name)
{
	for (uint32_t i = 0; i < k->n_nodes; i++) {
		if (strcmp(k->nodes[i].name, name) == 0) {
			spoke_kube_node_clear(&k->nodes[i]);
			k->nodes[i] = k->nodes[--k->n_nodes];
			mark_urgent(k);
			return;
		}
	}
}

/* True when some container or init container requests a GPU resource: only such pods can hold GPUs,
 * so only they are kept (GPU requests cannot change on a live pod). */
static bool pod_wants_gpus(const spoke_pod *p)
{
	for (uint32_t i = 0; i < p->n_containers; i++) {
		if (p->containers[i].requests.n > 0) {
			return true;
		}
	}
	for (uint32_t i = 0; i < p->n_init_containers; i++) {
		if (p->init_containers[i].requests.n > 0) {
			return true;
		}
	}
	return false;
}

static void delete_pod(spoke_kube *k, const char *uid);

/* Keeps the ended pod p (taken over) until the next snapshot, so its workload learns how it ended.
 * Past MAX_ENDED the pod is dropped: its workload then reads as Deleted rather than Done/Failed. */
static void remember_ended(spoke_kube *k, spoke_pod *p)
{
	if (k->n_ended >= MAX_ENDED || grow((void **)&k->ended, k->n_ended, &k->cap_ended, sizeof(*k->ended)) != FL_OK) {
		spoke_kube_pod_clear(p);
		return;
	}
	k->ended[k->n_ended++] = *p;
}

static bool pod_ended(const spoke_pod *p)
{
	return strcmp(p->phase, "Succeeded") == 0 || strcmp(p->phase, "Failed") == 0;
}

static int upsert_pod(spoke_kube *k, spoke_pod *p)
{
	if (!pod_wants_gpus(p)) {
		delete_pod(k, p->uid);
		spoke_kube_pod_clear(p);
		return FL_OK;
	}
	if (pod_ended(p)) { /* a server without the phase field selector reports the end as a change */
		delete_pod(k, p->uid);
		remember_ended(k, p);
		return FL_OK;
	}
	for (uint32_t i = 0; i < k->n_pods; i++) {
		if (strcmp(k->pods[i].uid, p->uid) == 0) {
			spoke_kube_pod_clear(&k->pods[i]);
			k->pods[i] = *p;
			return FL_OK;
		}
	}
	int rv = grow((void **)&k->pods, k->n_pods, &k->cap_pods, sizeof(*k->pods));
	if (rv != FL_OK) {
		spoke_kube_pod_clear(p);
		return rv;
	}
	k->pods[k->n_pods++] = *p;
	return FL_OK;
}

static void delete_pod(spoke_kube *k, const char *uid)
{
	for (uint32_t i = 0; i < k->n_pods; i++) {
		if (strcmp(k->pods[i].uid, uid) == 0) {
			spoke_kube_pod_clear(&k->pods[i]);
			k->pods[i] = k->pods[--k->n_pods];
			return;
		}
	}
}

/* Sets (or, for an object without a controller, removes) the link of owner kind `which`. */
static int upsert_link(spoke_kube *k, int which, const spoke_owner_link *l)
{
	for (uint32_t i = 0; i < k->n_links[which]; i++) {
		if (strcmp(k->links[which][i].uid, l->uid) == 0) {
			if (l->owner.uid[0] == '\0') {
				k->links[which][i] = k->links[which][--k->n_links[which]];
			} else {
				k->links[which][i] = *l;
			}
			return FL_OK;
		}
	}
	if (l->owner.uid[0] == '\0') {
		return FL_OK;
	}
	int rv = grow((void **)&k->links[which], k->n_links[which], &k->cap_links[which], sizeof(*k->links[which]));
	if (rv == FL_OK) {
		k->links[which][k->n_links[which]++] = *l;
	}
	return rv;
}

/* A list of one kind, built off the lock and swapped in whole. */
typedef struct listing {
	spoke_node *nodes;
	spoke_pod *pods;
	spoke_owner_link *links;
	uint32_t n, cap;
	uint32_t skipped; /* pods without GPU requests, not kept */
} listing;

static void listing_free(listing *l)
{
	for (uint32_t i = 0; i < l->n; i++) {
		if (l->nodes != NULL) {
			spoke_kube_node_clear(&l->nodes[i]);
		} else if (l->pods != NULL) {
			spoke_kube_pod_clear(&l->pods[i]);
		}
	}
	free(l->nodes);
	free(l->pods);
	free(l->links);
	memset(l, 0, sizeof(*l));
}

/* ---- HTTP ------------------------------------------------------------------------------------------ */

static void note_error(spoke_kube *k, bool auth, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void note_error(spoke_kube *k, bool auth, const char *fmt, ...)
{
	char msg[FL_ERR_LEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&k->mu);
	k->st.errors++;
	if (auth) {
		k->st.auth_errors++;
	}
	snprintf(k->last_error, sizeof(k->last_error), "%s", msg);
	uint64_t n = k->st.errors;
	pthread_mutex_unlock(&k->mu);
	fl_error("kube: %s (%" PRIu64 " errors so far)", msg, n);
}

static void count(spoke_kube *k, uint64_t *field)
{
	pthread_mutex_lock(&k->mu);
	(*field)++;
	pthread_mutex_unlock(&k->mu);
}

static void handle_event_line(stream *s, const char *line, size_t len);

/* A pod whose SaFE workload label was dropped (spoke_kube_pod_from_json): counted and logged. */
static void bad_label(spoke_kube *k, const spoke_pod *p)
{
	count(k, &k->st.bad_labels);
	fl_warn("kube: pod %s/%s: label " SPOKE_SAFE_WORKLOAD_LABEL
	        " is not a label value of 1-63 characters [A-Za-z0-9._-]: ignored, the pod belongs to no SaFE workload",
	        p->ns, p->name);
}

/* Gives back a body buffer that a huge page or event grew past KEEP_BUF, once its bytes are used: the
 * stream thread lives as long as the spoke, and one 200 MiB page must not stay resident until it exits. */
static void buf_trim(stream *s)
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
	stream *s = arg;
	size_t n = size * nmemb;
	if (!s->started_body) {
		long code = 0;
		curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &code);
		s->started_body = true;
		s->watching = s->want_watch && code == 200;
		if (!s->watching) {
			s->max = (size_t)s->k->cfg.max_page_bytes;
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
			count(s->k, &s->k->st.oversized);
			fl_warn("kube: %s watch: an event larger than %lld bytes was skipped", kind_name[s->kind],
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
				handle_event_line(s, s->buf, s->len);
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
	stream *s = arg;
	return atomic_load(&s->k->stop) ? 1 : 0;
}

/* GET server+path into s (list: whole body; watch: line by line). Returns the HTTP status, or -1 on a
 * transport error (err filled). */
static long http_get(stream *s, const char *path, bool watch, char err[FL_ERR_LEN])
{
	spoke_kube *k = s->k;
	const spoke_kube_creds *c = &k->creds;
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
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(watch ? k->cfg.watch_timeout_ms + 30000 : 120000));
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
	s->max = (size_t)(watch ? k->cfg.max_object_bytes : k->cfg.max_page_bytes);
	count(k, watch ? &k->st.watch_requests : &k->st.list_requests);
	if (!watch) {
		spoke_stats_kube(spoke_stats_global(), SPOKE_KUBE_LIST_CALL, (unsigned)s->kind);
	}
	CURLcode cc = curl_easy_perform(e);
	headers_free(h);
	long status = 0;
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	if (s->gone) {
		return 410;
	}
	if (cc != CURLE_OK && !(watch && cc == CURLE_OPERATION_TIMEDOUT && status == 200)) {
		if (s->overflow) {
			count(k, &k->st.oversized);
			fl_seterr(err, FL_ELIMIT, "GET %s: body larger than %lld bytes", path,
			          (long long)k->cfg.max_page_bytes);
		} else {
			fl_seterr(err, FL_EIO, "GET %s: %s", path, curl_easy_strerror(cc));
		}
		return -1;
	}
	return status;
}

/* "HTTP 401 (Unauthorized: ...)" from a Status body, bounded. */
static void status_text(stream *s, long status, char *out, size_t len)
{
	json_t *j = s->watching ? NULL : json_loadb(s->buf, s->len, 0, NULL);
	const char *msg = json_string_value(json_object_get(j, "message"));
	snprintf(out, len, "HTTP %ld%s%.160s%s", status, msg != NULL ? " (" : "", msg != NULL ? msg : "",
	         msg != NULL ? ")" : "");
	json_decref(j);
}

/* ---- watch events ----------------------------------------------------------------------------------- */

static void handle_event_line(stream *s, const char *line, size_t len)
{
	spoke_kube *k = s->k;
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ')) {
		len--;
	}
	if (len == 0) {
		return;
	}
	json_error_t je;
	json_t *ev = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
	const char *type = json_string_value(json_object_get(ev, "type"));
	json_t *obj = json_object_get(ev, "object");
	if (ev == NULL || type == NULL || !json_is_object(obj)) {
		count(k, &k->st.malformed);
		fl_warn("kube: %s watch: malformed event skipped (%s)", kind_name[s->kind],
		        ev == NULL ? je.text : "no type or object");
		json_decref(ev);
		return;
	}
	const char *rv = spoke_kube_obj_meta(obj, "resourceVersion");
	if (strcmp(type, "ERROR") == 0) {
		json_int_t code = json_integer_value(json_object_get(obj, "code"));
		if (code == 410) {
			s->gone = true;
		} else {
			const char *msg = json_string_value(json_object_get(obj, "message"));
			note_error(k, false, "%s watch: ERROR event %lld: %.160s", kind_name[s->kind], (long long)code,
			           msg != NULL ? msg : "");
		}
		json_decref(ev);
		return;
	}
	if (strcmp(type, "BOOKMARK") == 0) {
		if (rv != NULL && strlen(rv) < RV_LEN) {
			snprintf(s->rv, sizeof(s->rv), "%s", rv);
		}
		count(k, &k->st.bookmarks);
		json_decref(ev);
		return;
	}
	bool del = strcmp(type, "DELETED") == 0;
	if (!del && strcmp(type, "ADDED") != 0 && strcmp(type, "MODIFIED") != 0) {
		count(k, &k->st.malformed);
		fl_warn("kube: %s watch: unknown event type '%.32s' skipped", kind_name[s->kind], type);
		json_decref(ev);
		return;
	}
	char err[FL_ERR_LEN];
	int rc = FL_OK;
	if (s->kind == KIND_NODES) {
		spoke_node n;
		rc = spoke_kube_node_from_json(obj, &k->rules, &n, err);
		if (rc == FL_OK) {
			pthread_mutex_lock(&k->mu);
			if (del) {
				delete_node(k, n.name);
				spoke_kube_node_clear(&n);
			} else {
				rc = upsert_node(k, &n);
			}
			k->st.events++;
			pthread_mutex_unlock(&k->mu);
		}
	} else if (s->kind == KIND_PODS) {
		spoke_pod p;
		rc = spoke_kube_pod_from_json(obj, &k->rules, &p, err);
		if (rc == FL_OK && p.safe_label_invalid) {
			bad_label(k, &p);
		}
		if (rc == FL_OK) {
			pthread_mutex_lock(&k->mu);
			if (del) {
				delete_pod(k, p.uid);
				if (pod_ended(&p) && pod_wants_gpus(&p)) { /* left the phase selector: it ended */
					remember_ended(k, &p);
				} else {
					spoke_kube_pod_clear(&p);
				}
			} else {
				rc = upsert_pod(k, &p);
			}
			k->st.events++;
			pthread_mutex_unlock(&k->mu);
		}
	} else {
		spoke_owner_link l;
		rc = spoke_kube_link_from_json(obj, &l, err);
		if (rc == FL_OK) {
			if (del) {
				l.owner.uid[0] = '\0';
			}
			pthread_mutex_lock(&k->mu);
			rc = upsert_link(k, s->kind - KIND_REPLICASETS, &l);
			k->st.events++;
			pthread_mutex_unlock(&k->mu);
		}
	}
	if (rc != FL_OK) {
		count(k, &k->st.malformed);
		fl_warn("kube: %s watch: %s event skipped: %s", kind_name[s->kind], type, err);
	}
	if (rv != NULL && strlen(rv) < RV_LEN) {
		snprintf(s->rv, sizeof(s->rv), "%s", rv);
	}
	json_decref(ev);
}

/* ---- list -------------------------------------------------------------------------------------------- */

/* Adds the items of one page to l; returns the continue token (or "") in cont. */
static int take_page(stream *s, listing *l, char *cont, char err[FL_ERR_LEN])
{
	spoke_kube *k = s->k;
	json_error_t je;
	json_t *page = json_loadb(s->buf, s->len, JSON_REJECT_DUPLICATES, &je);
	json_t *items = json_object_get(page, "items");
	const char *rv = json_string_value(json_object_get(json_object_get(page, "metadata"), "resourceVersion"));
	const char *c = json_string_value(json_object_get(json_object_get(page, "metadata"), "continue"));
	if (page == NULL || !json_is_array(items) || rv == NULL || strlen(rv) >= RV_LEN ||
	    (c != NULL && strlen(c) >= CONT_LEN)) {
		json_decref(page);
		static const char *const list_kind[N_KINDS] = {"NodeList", "PodList", "ReplicaSetList", "JobList"};
		return fl_seterr(err, FL_EPROTO, "%s list: not a %s page (%s)", kind_name[s->kind], list_kind[s->kind],
		                 page == NULL ? je.text : "fields");
	}
	snprintf(s->rv, sizeof(s->rv), "%s", rv);
	snprintf(cont, CONT_LEN, "%s", c != NULL ? c : "");
	size_t i;
	json_t *obj;
	json_array_foreach(items, i, obj)
	{
		char oerr[FL_ERR_LEN];
		int rc = s->kind == KIND_NODES  ? grow((void **)&l->nodes, l->n, &l->cap, sizeof(*l->nodes))
		         : s->kind == KIND_PODS ? grow((void **)&l->pods, l->n, &l->cap, sizeof(*l->pods))
		                                : grow((void **)&l->links, l->n, &l->cap, sizeof(*l->links));
		if (rc != FL_OK) {
			json_decref(page);
			return fl_seterr(err, rc, "%s list: %u items: %s", kind_name[s->kind], l->n, fl_strerror(rc));
		}
		rc = s->kind == KIND_NODES  ? spoke_kube_node_from_json(obj, &k->rules, &l->nodes[l->n], oerr)
		     : s->kind == KIND_PODS ? spoke_kube_pod_from_json(obj, &k->rules, &l->pods[l->n], oerr)
		                            : spoke_kube_link_from_json(obj, &l->links[l->n], oerr);
		if (rc == FL_OK && s->kind == KIND_PODS && l->pods[l->n].safe_label_invalid) {
			bad_label(k, &l->pods[l->n]);
		}
		if (rc == FL_OK && s->kind == KIND_PODS && (!pod_wants_gpus(&l->pods[l->n]) || pod_ended(&l->pods[l->n]))) {
			spoke_kube_pod_clear(&l->pods[l->n]); /* holds no GPUs: counted in the log line only */
			l->skipped++;
		} else if (rc == FL_OK && IS_OWNER(s->kind) && l->links[l->n].owner.uid[0] == '\0') {
			l->skipped++; /* no controller: it is a workload itself, nothing to link */
		} else if (rc == FL_OK) {
			l->n++;
		}
		if (rc != FL_OK) {
			count(k, &k->st.malformed);
			fl_warn("kube: %s list: item %zu skipped: %s", kind_name[s->kind], i, oerr);
		}
	}
	json_decref(page);
	return FL_OK;
}

/* Lists the kind completely and swaps it into the live model. Returns the HTTP status of the failing
 * page (410 for Gone), 200 on success, -1 on other failures (logged and counted). */
static long do_list(stream *s)
{
	spoke_kube *k = s->k;
	listing l;
	memset(&l, 0, sizeof(l));
	char cont[CONT_LEN] = "", path[CONT_LEN + 256], err[FL_ERR_LEN];
	long status = 200;
	do {
		char *esc = curl_easy_escape(s->curl, cont, 0);
		snprintf(path, sizeof(path), "%s?limit=%u%s%s%s", kind_path[s->kind], k->cfg.page_limit,
		         s->kind == KIND_PODS ? "&fieldSelector=" POD_SELECTOR : "",
		         cont[0] != '\0' ? "&continue=" : "", cont[0] != '\0' && esc != NULL ? esc : "");
		curl_free(esc);
		status = http_get(s, path, false, err);
		if (status == 410) {
			break;
		}
		if (status != 200) {
			char st[FL_ERR_LEN];
			if (status >= 0) {
				status_text(s, status, st, sizeof(st));
			}
			if (IS_OWNER(s->kind) && (status == 403 || status == 404)) {
				break; /* handled below: this kind is unavailable */
			}
			note_error(k, status == 401 || status == 403, "LIST %s: %s%s", kind_name[s->kind],
			           status < 0 ? err : st,
			           status == 401 || status == 403 ? " — check the token or client certificate" : "");
			status = -1;
			break;
		}
		if (take_page(s, &l, cont, err) != FL_OK) {
			note_error(k, false, "%s", err);
			status = -1;
			break;
		}
	} while (cont[0] != '\0' && !atomic_load(&k->stop));
	if (IS_OWNER(s->kind) && (status == 403 || status == 404)) {
		listing_free(&l);
		pthread_mutex_lock(&k->mu);
		if (!k->unavailable[s->kind - KIND_REPLICASETS]) {
			fl_warn("kube: cannot list %s (HTTP %ld): pods they own count as their own workloads; grant "
			        "get/list/watch on %s to resolve them further (deploy/ has the ClusterRole)",
			        kind_name[s->kind], status, kind_name[s->kind]);
		}
		k->unavailable[s->kind - KIND_REPLICASETS] = true;
		k->synced[s->kind] = true;
		pthread_cond_broadcast(&k->cv);
		pthread_mutex_unlock(&k->mu);
		return status;
	}
	if (status != 200 || atomic_load(&k->stop)) {
		listing_free(&l);
		return status;
	}
	pthread_mutex_lock(&k->mu);
	if (IS_OWNER(s->kind)) {
		int w = s->kind - KIND_REPLICASETS;
		free(k->links[w]);
		k->links[w] = l.links;
		k->n_links[w] = l.n;
		k->cap_links[w] = l.cap;
		k->unavailable[w] = false;
	} else if (s->kind == KIND_NODES) {
		for (uint32_t i = 0; i < k->n_nodes; i++) {
			spoke_kube_node_clear(&k->nodes[i]);
		}
		free(k->nodes);
		k->nodes = l.nodes;
		k->n_nodes = l.n;
		k->cap_nodes = l.cap;
	} else {
		for (uint32_t i = 0; i < k->n_pods; i++) {
			spoke_kube_pod_clear(&k->pods[i]);
		}
		free(k->pods);
		k->pods = l.pods;
		k->n_pods = l.n;
		k->cap_pods = l.cap;
	}
	if (s->synced) {
		k->st.relists++;
		spoke_stats_kube(spoke_stats_global(), SPOKE_KUBE_RELIST, (unsigned)s->kind);
	}
	s->synced = true;
	k->synced[s->kind] = true;
	if (!IS_OWNER(s->kind)) { /* owner links change no figure that is urgent */
		mark_urgent(k);
	}
	pthread_cond_broadcast(&k->cv);
	pthread_mutex_unlock(&k->mu);
	fl_info("kube: listed %u %s at resourceVersion %s", l.n + l.skipped, kind_name[s->kind], s->rv);
	return 200;
}

/* ---- the stream's thread ------------------------------------------------------------------------------ */

static void pause_ms(spoke_kube *k, int64_t ms)
{
	int64_t until = fl_mono_ms() + ms;
	while (!atomic_load(&k->stop) && fl_mono_ms() < until) {
		struct timespec ts = {0, 50 * 1000000L};
		nanosleep(&ts, NULL);
	}
}

static void *stream_main(void *arg)
{
	stream *s = arg;
	spoke_kube *k = s->k;
	bool need_list = true, fresh = false; /* fresh: no watch has run since the last list */
	int64_t backoff = 0;
	char path[512], err[FL_ERR_LEN];
	while (!atomic_load(&k->stop)) {
		long status;
		if (need_list) {
			status = do_list(s);
			if (status == 200) {
				need_list = false;
				fresh = true;
				continue;
			}
			if (status == 410) {
				count(k, &k->st.gone);
				continue; /* a stale continue token: start over */
			}
		} else {
			snprintf(path, sizeof(path),
			         "%s?watch=1&allowWatchBookmarks=true&timeoutSeconds=%lld&resourceVersion=%s%s",
			         kind_path[s->kind], (long long)(k->cfg.watch_timeout_ms / 1000), s->rv,
			         s->kind == KIND_PODS ? "&fieldSelector=" POD_SELECTOR : "");
			status = http_get(s, path, true, err);
			if (atomic_load(&k->stop)) {
				break;
			}
			spoke_stats_kube(spoke_stats_global(), SPOKE_KUBE_WATCH_RESTART, (unsigned)s->kind);
			bool was_fresh = fresh;
			fresh = false;
			if (status == 410) {
				count(k, &k->st.gone);
				fl_info("kube: %s watch: resourceVersion %s is gone (410), relisting",
				        kind_name[s->kind], s->rv);
				need_list = true;
				if (!was_fresh) {
					backoff = 0;
					continue;
				}
				/* gone right after a list: the server is compacting faster than we list; back off */
			} else if (status == 200) {
				backoff = 0; /* ended by timeoutSeconds or the server: resume from the last rv */
				continue;
			}
			if (status != 410) {
				char st[FL_ERR_LEN];
				if (status >= 0) {
					status_text(s, status, st, sizeof(st));
				}
				note_error(k, status == 401 || status == 403, "WATCH %s: %s", kind_name[s->kind],
				           status < 0 ? err : st);
			}
		}
		backoff = backoff == 0 ? BACKOFF_MIN_MS : backoff * 2;
		if (backoff > k->cfg.max_backoff_ms) {
			backoff = k->cfg.max_backoff_ms;
		}
		pause_ms(k, backoff / 2 + rand() % (backoff / 2 + 1));
	}
	return NULL;
}

/* ---- public ------------------------------------------------------------------------------------------- */

int spoke_kube_open(spoke_kube **out, const spoke_kube_config *cfg, const spoke_overview_rules *rules,
                    char err[FL_ERR_LEN])
{
	*out = NULL;
	pthread_once(&curl_once, curl_init);
	spoke_kube *k = calloc(1, sizeof(*k));
	if (k == NULL) {
		return fl_seterr(err, FL_ENOMEM, "out of memory");
	}
	k->cfg = *cfg;
	k->rules = *rules;
	int rv = spoke_kube_creds_load(cfg->kubeconfig, cfg->sa_dir, &k->creds, err);
	if (rv != FL_OK) {
		free(k);
		return rv;
	}
	pthread_mutex_init(&k->mu, NULL);
	pthread_cond_init(&k->cv, NULL);
	for (int i = 0; i < N_KINDS; i++) {
		stream *s = &k->streams[i];
		s->k = k;
		s->kind = (enum kind)i;
		if ((s->curl = curl_easy_init()) == NULL) {
			spoke_kube_close(k);
			return fl_seterr(err, FL_EIO, "curl_easy_init failed");
		}
	}
	for (int i = 0; i < N_KINDS; i++) {
		stream *s = &k->streams[i];
		if (pthread_create(&s->thread, NULL, stream_main, s) != 0) {
			spoke_kube_close(k);
			return fl_seterr(err, FL_EIO, "cannot start the %s thread", kind_name[i]);
		}
		s->started = true;
	}
	fl_info("kube: watching %s (%s)", k->creds.server, k->creds.origin);
	*out = k;
	return FL_OK;
}

/* Every kind listed once (an owner kind the server refuses counts as listed). Under k->mu. */
static bool all_synced(const spoke_kube *k)
{
	for (int i = 0; i < N_KINDS; i++) {
		if (!k->synced[i]) {
			return false;
		}
	}
	return true;
}

bool spoke_kube_synced(spoke_kube *k)
{
	pthread_mutex_lock(&k->mu);
	bool s = all_synced(k);
	pthread_mutex_unlock(&k->mu);
	return s;
}

int spoke_kube_wait_synced(spoke_kube *k, int64_t timeout_ms, char err[FL_ERR_LEN])
{
	int64_t until = fl_mono_ms() + timeout_ms;
	int rv = FL_OK;
	pthread_mutex_lock(&k->mu);
	while (!all_synced(k)) {
		int64_t left = until - fl_mono_ms();
		if (left <= 0) {
			rv = fl_seterr(err, FL_ETIMEDOUT, "kube: not synced after %lld ms; last error: %s",
			               (long long)timeout_ms, k->last_error[0] != '\0' ? k->last_error : "none");
			break;
		}
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		int64_t step = left < 100 ? left : 100;
		ts.tv_nsec += step * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&k->cv, &k->mu, &ts);
	}
	pthread_mutex_unlock(&k->mu);
	return rv;
}

int spoke_kube_snapshot(spoke_kube *k, spoke_model *m, char err[FL_ERR_LEN])
{
	memset(m, 0, sizeof(*m));
	int rv = FL_OK;
	pthread_mutex_lock(&k->mu);
	if (!all_synced(k)) {
		rv = fl_seterr(err, FL_EINVAL, "kube: not synced yet (last error: %s)",
		               k->last_error[0] != '\0' ? k->last_error : "none");
		goto out;
	}
	/* exact-size arrays: the live GPU pods (bound or not: the overview counts the bound ones, the
	 * workloads all), then the ones that ended since the last snapshot, once */
	uint32_t n_pods = k->n_pods + k->n_ended, n_links = k->n_links[0] + k->n_links[1];
	if ((k->n_nodes > 0 && (m->nodes = malloc((size_t)k->n_nodes * sizeof(*m->nodes))) == NULL) ||
	    (n_pods > 0 && (m->pods = malloc((size_t)n_pods * sizeof(*m->pods))) == NULL) ||
	    (n_links > 0 && (m->links = malloc((size_t)n_links * sizeof(*m->links))) == NULL)) {
		rv = FL_ENOMEM;
	}
	m->cap_nodes = k->n_nodes;
	m->cap_pods = n_pods;
	m->cap_links = n_links;
	for (uint32_t i = 0; i < k->n_nodes && rv == FL_OK; i++) {
		spoke_node *n;
		if ((rv = spoke_model_add_node(m, &n)) == FL_OK) {
			rv = spoke_kube_node_copy(n, &k->nodes[i]);
			if (rv != FL_OK) {
				m->n_nodes--;
			}
		}
	}
	for (uint32_t i = 0; i < n_pods && rv == FL_OK; i++) {
		spoke_pod *p;
		if ((rv = spoke_model_add_pod(m, &p)) == FL_OK) {
			rv = spoke_kube_pod_copy(p, i < k->n_pods ? &k->pods[i] : &k->ended[i - k->n_pods]);
			if (rv != FL_OK) {
				m->n_pods--;
			}
		}
	}
	for (int w = 0; w < 2 && rv == FL_OK; w++) {
		if (k->n_links[w] > 0) {
			memcpy(m->links + m->n_links, k->links[w], (size_t)k->n_links[w] * sizeof(*m->links));
			m->n_links += k->n_links[w];
		}
	}
	if (rv == FL_OK) {
		for (uint32_t i = 0; i < k->n_ended; i++) {
			spoke_kube_pod_clear(&k->ended[i]);
		}
		k->n_ended = 0;
	}
	if (rv == FL_OK && k->n_nodes > 0) {
		snprintf(m->k8s_version, sizeof(m->k8s_version), "%s", k->nodes[0].kubelet_version);
	}
	if (rv != FL_OK) {
		fl_seterr(err, rv, "kube: snapshot: %s", fl_strerror(rv));
	}
out:
	pthread_mutex_unlock(&k->mu);
	if (rv != FL_OK) {
		spoke_model_free(m);
	}
	return rv;
}

bool spoke_kube_take_urgent(spoke_kube *k, int64_t now_ms)
{
	pthread_mutex_lock(&k->mu);
	bool due =
	    k->urgent_since != 0 && all_synced(k) && now_ms - k->urgent_since >= k->cfg.debounce_ms;
	if (due) {
		k->urgent_since = 0;
	}
	pthread_mutex_unlock(&k->mu);
	return due;
}

void spoke_kube_get_stats(spoke_kube *k, spoke_kube_stats *out)
{
	pthread_mutex_lock(&k->mu);
	*out = k->st;
	pthread_mutex_unlock(&k->mu);
}

void spoke_kube_close(spoke_kube *k)
{
	if (k == NULL) {
		return;
	}
	atomic_store(&k->stop, true);
	for (int i = 0; i < N_KINDS; i++) {
		stream *s = &k->streams[i];
		if (s->started) {
			pthread_join(s->thread, NULL);
		}
		if (s->curl != NULL) {
			curl_easy_cleanup(s->curl);
		}
		free(s->buf);
	}
	for (uint32_t i = 0; i < k->n_nodes; i++) {
		spoke_kube_node_clear(&k->nodes[i]);
	}
	for (uint32_t i = 0; i < k->n_pods; i++) {
		spoke_kube_pod_clear(&k->pods[i]);
	}
	for (uint32_t i = 0; i < k->n_ended; i++) {
		spoke_kube_pod_clear(&k->ended[i]);
	}
	free(k->nodes);
	free(k->pods);
	free(k->ended);
	free(k->links[0]);
	free(k->links[1]);
	spoke_kube_creds_free(&k->creds);
	pthread_cond_destroy(&k->cv);
	pthread_mutex_destroy(&k->mu);
	free(k);
}
