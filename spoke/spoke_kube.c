/* spoke_kube.c — the list/watch state machine of each kind (nodes, pods, ReplicaSets, Jobs): one thread
 * per kind lists, watches, relists on 410 and backs off, applying what it reads to the live model
 * (spoke_kube_model) under a mutex. The transport is spoke_kube_http, the JSON → item checks spoke_kube_obj. */
#include "spoke_kube.h"

#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fl_log.h"
#include "fl_time.h"
#include "spoke_kube_http.h"
#include "spoke_kube_model.h"
#include "spoke_kube_obj.h"
#include "spoke_stats.h"

#define BACKOFF_MIN_MS 200
#define RV_LEN         128
#define CONT_LEN       4096
#define POD_SELECTOR   "status.phase%21%3DSucceeded%2Cstatus.phase%21%3DFailed"

enum kind { KIND_NODES = 0, KIND_PODS = 1, KIND_REPLICASETS = 2, KIND_JOBS = 3 };
#define N_KINDS     4
#define IS_OWNER(k) ((k) >= KIND_REPLICASETS) /* kinds kept only as owner links */

struct spoke_kube;

/* One kind's stream: its thread and its transport. */
typedef struct stream {
	struct spoke_kube *k;
	enum kind kind;
	pthread_t thread;
	bool started;
	spoke_kube_http http;
	char rv[RV_LEN]; /* resourceVersion to watch from */
	bool synced;     /* listed at least once */
} stream;

struct spoke_kube {
	spoke_kube_config cfg;
	spoke_overview_rules rules;
	spoke_kube_creds creds;
	atomic_bool stop;
	pthread_mutex_t mu;    /* guards everything below */
	pthread_cond_t cv;     /* signalled when a kind syncs */
	spoke_kube_model live; /* links[kind - KIND_REPLICASETS] */
	bool synced[N_KINDS];
	bool unavailable[2];  /* an owner kind the server refused (403/404): pods resolve to it as it is */
	int64_t urgent_since; /* monotonic ms of the first pending urgent change, 0 = none */
	char last_error[FL_ERR_LEN];
	spoke_kube_stats st;
	stream streams[N_KINDS];
};

static const char *const kind_name[N_KINDS] = {"nodes", "pods", "replicasets", "jobs"};
static const char *const kind_path[N_KINDS] = {"/api/v1/nodes", "/api/v1/pods", "/apis/apps/v1/replicasets",
                                               "/apis/batch/v1/jobs"};

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

/* ---- the urgent mark (callers hold k->mu) ------------------------------------------------------ */

static void mark_urgent(spoke_kube *k)
{
	if (k->urgent_since == 0) {
		k->urgent_since = fl_mono_ms();
	}
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

static bool handle_event_line(void *arg, const char *line, size_t len);

/* A pod whose SaFE workload label was dropped (spoke_kube_pod_from_json): counted and logged. */
static void bad_label(spoke_kube *k, const spoke_pod *p)
{
	count(k, &k->st.bad_labels);
	fl_warn("kube: pod %s/%s: label " SPOKE_SAFE_WORKLOAD_LABEL
	        " is not a label value of 1-63 characters [A-Za-z0-9._-]: ignored, the pod belongs to no SaFE workload",
	        p->ns, p->name);
}

static void on_oversized(void *arg)
{
	stream *s = arg;
	count(s->k, &s->k->st.oversized);
}

/* GET path on s's transport, counting the request. */
static long http_get(stream *s, const char *path, bool watch, char err[FL_ERR_LEN])
{
	spoke_kube *k = s->k;
	count(k, watch ? &k->st.watch_requests : &k->st.list_requests);
	if (!watch) {
		spoke_stats_kube(spoke_stats_global(), SPOKE_KUBE_LIST_CALL, (unsigned)s->kind);
	}
	return spoke_kube_http_get(&s->http, path, watch, err);
}

/* ---- watch events ----------------------------------------------------------------------------------- */

/* Applies one ADDED, MODIFIED or DELETED (del) object of s's kind to the live model: FL_OK, or an error
 * code with err filled. */
static int apply_event(stream *s, json_t *obj, bool del, char err[FL_ERR_LEN])
{
	spoke_kube *k = s->k;
	int rc = FL_OK;
	if (s->kind == KIND_NODES) {
		spoke_node n;
		rc = spoke_kube_node_from_json(obj, &k->rules, &n, err);
		if (rc == FL_OK) {
			pthread_mutex_lock(&k->mu);
			bool urgent;
			if (del) {
				urgent = spoke_kube_model_del_node(&k->live, n.name);
				spoke_kube_node_clear(&n);
			} else {
				rc = spoke_kube_model_put_node(&k->live, &k->rules, &n, &urgent);
			}
			if (urgent) {
				mark_urgent(k);
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
				spoke_kube_model_del_pod(&k->live, p.uid);
				if (spoke_kube_pod_ended(&p) &&
				    spoke_kube_pod_wants_gpus(&p)) { /* left the phase selector */
					spoke_kube_model_remember_ended(&k->live, &p);
				} else {
					spoke_kube_pod_clear(&p);
				}
			} else {
				rc = spoke_kube_model_put_pod(&k->live, &p);
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
			rc = spoke_kube_model_put_link(&k->live, s->kind - KIND_REPLICASETS, &l);
			k->st.events++;
			pthread_mutex_unlock(&k->mu);
		}
	}
	return rc;
}

/* One watch event line (spoke_kube_http's on_line): applied to the live model. True for a 410 ERROR. */
static bool handle_event_line(void *arg, const char *line, size_t len)
{
	stream *s = arg;
	spoke_kube *k = s->k;
	bool gone = false;
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ')) {
		len--;
	}
	if (len == 0) {
		return false;
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
		return false;
	}
	const char *rv = spoke_kube_obj_meta(obj, "resourceVersion");
	if (strcmp(type, "ERROR") == 0) {
		json_int_t code = json_integer_value(json_object_get(obj, "code"));
		if (code == 410) {
			gone = true;
		} else {
			const char *msg = json_string_value(json_object_get(obj, "message"));
			note_error(k, false, "%s watch: ERROR event %lld: %.160s", kind_name[s->kind], (long long)code,
			           msg != NULL ? msg : "");
		}
		json_decref(ev);
		return gone;
	}
	if (strcmp(type, "BOOKMARK") == 0) {
		if (rv != NULL && strlen(rv) < RV_LEN) {
			snprintf(s->rv, sizeof(s->rv), "%s", rv);
		}
		count(k, &k->st.bookmarks);
		json_decref(ev);
		return false;
	}
	bool del = strcmp(type, "DELETED") == 0;
	if (!del && strcmp(type, "ADDED") != 0 && strcmp(type, "MODIFIED") != 0) {
		count(k, &k->st.malformed);
		fl_warn("kube: %s watch: unknown event type '%.32s' skipped", kind_name[s->kind], type);
		json_decref(ev);
		return false;
	}
	char err[FL_ERR_LEN];
	int rc = apply_event(s, obj, del, err);
	if (rc != FL_OK) {
		count(k, &k->st.malformed);
		fl_warn("kube: %s watch: %s event skipped: %s", kind_name[s->kind], type, err);
	}
	if (rv != NULL && strlen(rv) < RV_LEN) {
		snprintf(s->rv, sizeof(s->rv), "%s", rv);
	}
	json_decref(ev);
	return false;
}

/* ---- list -------------------------------------------------------------------------------------------- */

/* Adds the items of one page to l; returns the continue token (or "") in cont. */
static int take_page(stream *s, spoke_kube_listing *l, char *cont, char err[FL_ERR_LEN])
{
	spoke_kube *k = s->k;
	json_error_t je;
	json_t *page = json_loadb(s->http.buf, s->http.len, JSON_REJECT_DUPLICATES, &je);
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
		int rc = s->kind == KIND_NODES  ? spoke_kube_grow((void **)&l->nodes, l->n, &l->cap, sizeof(*l->nodes))
		         : s->kind == KIND_PODS ? spoke_kube_grow((void **)&l->pods, l->n, &l->cap, sizeof(*l->pods))
		                                : spoke_kube_grow((void **)&l->links, l->n, &l->cap, sizeof(*l->links));
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
		if (rc == FL_OK && s->kind == KIND_PODS &&
		    (!spoke_kube_pod_wants_gpus(&l->pods[l->n]) || spoke_kube_pod_ended(&l->pods[l->n]))) {
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
	spoke_kube_listing l;
	memset(&l, 0, sizeof(l));
	char cont[CONT_LEN] = "", path[CONT_LEN + 256], err[FL_ERR_LEN];
	long status = 200;
	do {
		char *esc = curl_easy_escape(s->http.curl, cont, 0);
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
				spoke_kube_http_status_text(&s->http, status, st, sizeof(st));
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
		spoke_kube_listing_free(&l);
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
		spoke_kube_listing_free(&l);
		return status;
	}
	uint32_t listed = l.n + l.skipped;
	pthread_mutex_lock(&k->mu);
	int rc = IS_OWNER(s->kind)       ? spoke_kube_model_replace_links(&k->live, s->kind - KIND_REPLICASETS, &l)
	         : s->kind == KIND_NODES ? spoke_kube_model_replace_nodes(&k->live, &l)
	                                 : spoke_kube_model_replace_pods(&k->live, &l);
	if (rc != FL_OK) {
		pthread_mutex_unlock(&k->mu);
		spoke_kube_listing_free(&l);
		note_error(k, false, "%s list: %u items: %s", kind_name[s->kind], listed, fl_strerror(rc));
		return -1;
	}
	if (IS_OWNER(s->kind)) {
		k->unavailable[s->kind - KIND_REPLICASETS] = false;
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
	fl_info("kube: listed %u %s at resourceVersion %s", listed, kind_name[s->kind], s->rv);
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
					spoke_kube_http_status_text(&s->http, status, st, sizeof(st));
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
		s->http.creds = &k->creds;
		s->http.stop = &k->stop;
		s->http.what = kind_name[i];
		s->http.max_page_bytes = cfg->max_page_bytes;
		s->http.max_object_bytes = cfg->max_object_bytes;
		s->http.watch_timeout_ms = cfg->watch_timeout_ms;
		s->http.on_line = handle_event_line;
		s->http.on_oversized = on_oversized;
		s->http.arg = s;
		if (spoke_kube_http_init(&s->http) != FL_OK) {
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
	rv = spoke_kube_model_copy(&k->live, m);
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
	bool due = k->urgent_since != 0 && all_synced(k) && now_ms - k->urgent_since >= k->cfg.debounce_ms;
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
		spoke_kube_http_free(&s->http);
	}
	spoke_kube_model_free(&k->live);
	spoke_kube_creds_free(&k->creds);
	pthread_cond_destroy(&k->cv);
	pthread_mutex_destroy(&k->mu);
	free(k);
}
