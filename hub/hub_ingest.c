/* hub_ingest.c — nng rep0 listener (plain or TLS), worker threads each with a context: recv → handle → ack. */
#include "hub_ingest.h"

#include <errno.h>
#include <malloc.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/tls/tls.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fl_log.h"
#include "fl_time.h"
#include "hub_metrics.h"
#include "hub_node.h"
#include "hub_view.h"

#define HUB_LOG_EVERY_MS  10000 /* at most one line per reason per 10 s */
#define HUB_CLUSTER_LOCKS 64    /* striped locks: frames of one cluster are stored and applied one at a time */

/* Log slots: one per rejection reason, and one for "asking for a full snapshot". */
enum {
	R_MALFORMED,
	R_OVERSIZED,
	R_UNKNOWN_CLUSTER,
	R_BAD_SIGNATURE,
	R_REPLAY,
	R_DB_ERROR,
	R_WRONG_KEY_ROLE,
	R_COUNT,
	L_FULL = R_COUNT,
	L_COUNT
};
static const char *const reason_names[R_COUNT] = {"malformed", "oversized", "unknown_cluster", "bad_signature",
                                                  "replay",    "db_error",  "wrong_key_role"};
static const hub_counter reason_counters[R_COUNT] = {
    HUB_M_REJECTED_MALFORMED, HUB_M_REJECTED_OVERSIZED, HUB_M_REJECTED_UNKNOWN_CLUSTER, HUB_M_REJECTED_BAD_SIGNATURE,
    HUB_M_REJECTED_REPLAY,    HUB_M_REJECTED_DB_ERROR,  HUB_M_REJECTED_WRONG_KEY_ROLE};

/* One worker: a thread, its nng context and aio, and its own database connection. */
typedef struct hub_worker {
	hub_ingest *ing;
	nng_ctx ctx;
	bool ctx_open;
	nng_aio *aio;
	hub_store *store;
	pthread_t thread;
	bool running;
} hub_worker;

struct hub_ingest {
	hub_registry *reg;     /* borrowed */
	const hub_config *cfg; /* borrowed */
	nng_socket sock;
	bool open;
	nng_listener listener;
	bool listening;
	hub_worker *workers; /* cfg->ingest_workers */
	int n_workers;
	atomic_llong next_prune_mono; /* fl_mono_ms() at which ingest_log is pruned next */
	char instance[64];            /* this hub's instance id for commit notifications; "" none */
	fl_log_limit limits[L_COUNT]; /* one per rejection reason, and one for a full spool */
	/* Held from the transaction to the view update, so the API's view sees one cluster's frames in the
	 * order they committed (the database already serializes them with an advisory lock). */
	pthread_mutex_t cluster_mu[HUB_CLUSTER_LOCKS];
};

void hub_ingest_set_instance(hub_ingest *ing, const char *instance)
{
	snprintf(ing->instance, sizeof(ing->instance), "%s", instance != NULL ? instance : "");
}

hub_ingest *hub_ingest_new(hub_registry *reg, const hub_config *cfg)
{
	hub_ingest *ing = calloc(1, sizeof(*ing));
	if (ing == NULL)
		return NULL;
	ing->workers = calloc((size_t)cfg->ingest_workers, sizeof(*ing->workers));
	if (ing->workers == NULL) {
		free(ing);
		return NULL;
	}
	ing->reg = reg;
	ing->cfg = cfg;
	atomic_init(&ing->next_prune_mono, 0);
	for (int k = 0; k < HUB_CLUSTER_LOCKS; k++)
		pthread_mutex_init(&ing->cluster_mu[k], NULL);
	return ing;
}

/* Counts a rejection, logs it unless one for the same reason was logged in the last 10 s, and fills ack. */
static void reject(hub_ingest *ing, int reason, fl_ack_status status, fl_proto_ack *ack, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void reject(hub_ingest *ing, int reason, fl_ack_status status, fl_proto_ack *ack, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ack->reason, sizeof(ack->reason), fmt, ap);
	va_end(ap);
	ack->status = status;
	hub_metrics_add(reason_counters[reason], 1);
	uint64_t suppressed = 0;
	if (!fl_log_limit_allow(&ing->limits[reason], HUB_LOG_EVERY_MS, &suppressed))
		return;
	const char *what = status == FL_ACK_RETRY ? "not stored" : "rejected";
	if (suppressed > 0)
		fl_warn("frame %s (%s): %s (%llu more like it not logged in the last %ds)", what, reason_names[reason],
		        ack->reason, (unsigned long long)suppressed, HUB_LOG_EVERY_MS / 1000);
	else
		fl_warn("frame %s (%s): %s", what, reason_names[reason], ack->reason);
}

static const char *kind_name(fl_frame_kind k)
{
	const char *n = fl_proto_kind_name(k);
	return n != NULL ? n : "?";
}

/* A committed frame: registry, metrics, ack, log lines. */
static void accepted(hub_ingest *ing, size_t i, const fl_proto_frame *f, const hub_write_result *res, int64_t recv_ms,
                     fl_proto_ack *ack)
{
	const hub_seq_decision *d = &res->decision;
	hub_metrics_add(HUB_M_FRAMES_ACCEPTED, 1);
	hub_metrics_add(HUB_M_NODE_ROWS_WRITTEN, (uint64_t)res->node_rows);
	hub_metrics_add(HUB_M_WORKLOAD_ROWS_WRITTEN, (uint64_t)res->workload_rows);
	bool first = hub_registry_record(ing->reg, i, f, recv_ms, d->version_ms);
	hub_view_apply(hub_registry_view(ing->reg), f, recv_ms, res->rows_gen); /* the API's view, after COMMIT */
	ack->status = FL_ACK_OK;
	ack->want_full = d->want_full;
	if (first)
		fl_info("first frame from cluster=%s spoke=%s seq=%llu kind=%s nodes=%u gpus=%u", f->env.cluster,
		        f->env.spoke_id, (unsigned long long)f->env.seq, kind_name(f->env.kind), f->n_nodes, f->n_gpus);
	else
		fl_debug(
		    "frame accepted cluster=%s spoke=%s seq=%llu kind=%s nodes=%u gpus=%u written=%lld deleted=%lld",
		    f->env.cluster, f->env.spoke_id, (unsigned long long)f->env.seq, kind_name(f->env.kind), f->n_nodes,
		    f->n_gpus, (long long)(res->node_rows + res->gpu_rows), (long long)res->rows_deleted);
	if (!d->want_full)
		return;
	hub_metrics_add(HUB_M_FULL_REQUESTED, 1);
	uint64_t suppressed = 0;
	if (!fl_log_limit_allow(&ing->limits[L_FULL], HUB_LOG_EVERY_MS, &suppressed))
		return;
	char why[96];
	if (d->gap && d->last_seq > 0)
		snprintf(why, sizeof(why), "gap: seq %llu after %llu", (unsigned long long)f->env.seq,
		         (unsigned long long)d->last_seq);
	else
		snprintf(why, sizeof(why), "no full frame from this spoke since the hub started");
	if (suppressed > 0)
		fl_info("asking cluster=%s spoke=%s for a full snapshot (%s; %llu more requests not logged in the last "
		        "%ds)",
		        f->env.cluster, f->env.spoke_id, why, (unsigned long long)suppressed, HUB_LOG_EVERY_MS / 1000);
	else
		fl_info("asking cluster=%s spoke=%s for a full snapshot (%s)", f->env.cluster, f->env.spoke_id, why);
}

/* A node frame (verified): its own transaction, outside the cluster's full/delta sequence and the view. */
static void node_frame(hub_ingest *ing, hub_store *store, const fl_proto_frame *f, int64_t recv_ms, fl_proto_ack *ack)
{
	char err[FL_ERR_LEN] = "";
	hub_node_result res;
	PGconn *c = hub_store_pgconn(store, err);
	int rv = c != NULL ? hub_node_apply(c, f, recv_ms, ing->cfg->job_idle_utilization, &res, err) : FL_EDB;
	if (rv == FL_EINVAL) {
		reject(ing, R_MALFORMED, FL_ACK_REJECTED, ack, "malformed node frame from '%s' node '%s': %s",
		       f->env.cluster, f->host.node, err);
		return;
	}
	if (rv != FL_OK) {
		hub_metrics_add(HUB_M_DB_ERRORS, 1);
		reject(ing, R_DB_ERROR, FL_ACK_RETRY, ack, "database: %s", err);
		return;
	}
	if (res.verdict != HUB_NODE_APPLIED) {
		hub_metrics_add(res.verdict == HUB_NODE_STALE ? HUB_M_NODE_FRAMES_STALE : HUB_M_FRAMES_DUPLICATE, 1);
		ack->status = FL_ACK_DUPLICATE;
		snprintf(ack->reason, sizeof(ack->reason), "%s",
		         res.verdict == HUB_NODE_STALE ? "older than the node's newest frame" : "already stored");
		return;
	}
	hub_metrics_add(HUB_M_FRAMES_ACCEPTED, 1);
	hub_metrics_add(HUB_M_NODE_FRAMES_APPLIED, 1);
	hub_metrics_add(HUB_M_DEVICE_CHANGES, (uint64_t)res.changes);
	hub_metrics_add(HUB_M_JOBS_STARTED, (uint64_t)res.jobs_started);
	hub_metrics_add(HUB_M_JOBS_ENDED, (uint64_t)res.jobs_ended);
	ack->status = FL_ACK_OK;
	if (res.first || res.recovered)
		fl_info("node agent %s: cluster=%s node=%s spoke=%s gpus=%u rdma=%u jobs=%u",
		        res.first ? "first frame" : "reports again after it was lost", f->env.cluster, f->host.node,
		        f->env.spoke_id, f->n_gpus, f->n_rdma, f->n_jobs);
	if (res.changes > 0 && !res.first)
		fl_info("node %s/%s: %lld device changes logged", f->env.cluster, f->host.node, (long long)res.changes);
}

/* Refuses a frame the decoder refused (rv, err): oversized for a limit (FL_ELIMIT), else malformed. cluster
 * names the sender once the envelope was read and authenticated, else NULL. */
static void reject_undecodable(hub_ingest *ing, int rv, fl_proto_ack *ack, const char *cluster, const char *err)
{
	char from[FL_CLUSTER_LEN + 16] = "";
	if (cluster != NULL)
		snprintf(from, sizeof(from), " from '%s'", cluster);
	if (rv == FL_ELIMIT)
		reject(ing, R_OVERSIZED, FL_ACK_REJECTED, ack, "frame%s over a limit: %s", from, err);
	else
		reject(ing, R_MALFORMED, FL_ACK_REJECTED, ack, "malformed frame%s: %s", from, err);
}

/* True when head is signed with key or, when set, with next (its successor during a rotation). */
static bool signed_by(const void *buf, size_t len, const fl_proto_frame *head, const fl_key *key, const fl_key *next)
{
	return fl_proto_verify(buf, len, head, key->bytes, key->len) ||
	       (next->len > 0 && fl_proto_verify(buf, len, head, next->bytes, next->len));
}

/* Checks the signature of head (read by fl_proto_decode_head from buf) under cluster c's keys and the key's
 * role: with a node key set, it signs node frames only and the cluster key signs every other kind; without
 * one, the cluster key signs every kind. A next key (key rotation) counts as the key it follows. True when
 * the frame may be decoded; false with *ack filled. */
static bool authenticate(hub_ingest *ing, const hub_cluster_conf *c, const void *buf, size_t len,
                         const fl_proto_frame *head, fl_proto_ack *ack)
{
	const fl_proto_envelope *e = &head->env;
	bool node = e->kind == FL_FRAME_NODE, has_node_key = c->node_key.len > 0;
	if (signed_by(buf, len, head, &c->key, &c->next_key)) {
		if (!(node && has_node_key))
			return true;
		reject(ing, R_WRONG_KEY_ROLE, FL_ACK_REJECTED, ack,
		       "wrong key role: node frame of cluster '%s' spoke '%s' seq %llu signed with the cluster key, "
		       "not the node key",
		       e->cluster, e->spoke_id, (unsigned long long)e->seq);
		return false;
	}
	if (has_node_key && signed_by(buf, len, head, &c->node_key, &c->next_node_key)) {
		if (node)
			return true;
		reject(ing, R_WRONG_KEY_ROLE, FL_ACK_REJECTED, ack,
		       "wrong key role: %s frame of cluster '%s' spoke '%s' seq %llu signed with the node key",
		       kind_name(e->kind), e->cluster, e->spoke_id, (unsigned long long)e->seq);
		return false;
	}
	reject(ing, R_BAD_SIGNATURE, FL_ACK_REJECTED, ack,
	       "bad signature: cluster '%s' spoke '%s' seq %llu is not signed with the cluster's %s", e->cluster,
	       e->spoke_id, (unsigned long long)e->seq, has_node_key ? "keys" : "key");
	return false;
}

void hub_ingest_handle(hub_ingest *ing, hub_store *store, const void *buf, size_t len, int64_t recv_ms,
                       fl_proto_ack *ack)
{
	memset(ack, 0, sizeof(*ack));
	hub_metrics_add(HUB_M_FRAMES_RECEIVED, 1);
	hub_metrics_add(HUB_M_FRAME_BYTES, len);

	/* Before the frame is authenticated only its envelope is read: no allocation beyond its own bytes. */
	fl_proto_frame f;
	pthread_mutex_t *mu = NULL; /* the cluster's lock, once taken */
	char err[FL_ERR_LEN] = "";
	int rv = fl_proto_decode_head(buf, len, &f, err);
	if (rv != FL_OK) {
		reject_undecodable(ing, rv, ack, NULL, err);
		return;
	}
	ack->seq = f.env.seq;
	/* One configuration generation judges the frame (a reload meanwhile does not split the check); the slot
	 * i stays the cluster's for the process's life. */
	hub_clusters *cs = hub_registry_clusters(ing->reg);
	int i = hub_clusters_find(cs, f.env.cluster);
	bool authentic = i >= 0 && authenticate(ing, cs->conf[i], buf, len, &f, ack);
	hub_clusters_release(cs);
	if (i < 0) {
		reject(ing, R_UNKNOWN_CLUSTER, FL_ACK_REJECTED, ack, "unknown cluster '%s'", f.env.cluster);
		return;
	}
	if (!authentic)
		return;
	/* Authenticated: now the payload may cost what it declares. */
	fl_proto_envelope env = f.env; /* for the message: a failed decode zeroes f */
	rv = fl_proto_decode(buf, len, &f, err);
	if (rv != FL_OK) {
		reject_undecodable(ing, rv, ack, env.cluster, err);
		return;
	}

	if (f.env.kind == FL_FRAME_NODE) {
		node_frame(ing, store, &f, recv_ms, ack);
		goto out;
	}
	hub_write_opts opts = {.replay_tolerance_ms = ing->cfg->replay_tolerance_ms,
	                       .instance = ing->instance[0] != '\0' ? ing->instance : NULL};
	hub_write_result res;
	mu = &ing->cluster_mu[(size_t)i % HUB_CLUSTER_LOCKS];
	pthread_mutex_lock(mu);
	/* Read under the cluster's lock: another worker may be committing this stream's full frame. */
	opts.full_seen = hub_registry_full_seen(ing->reg, (size_t)i, f.env.spoke_id);
	/* The view as the baseline: taken under the cluster's lock, so no frame of this hub lands in between;
	 * another hub's frame moves the database's rows_gen, and the store then sends every row. */
	hub_view *view = hub_registry_view(ing->reg);
	hub_view_snap *snap = view != NULL ? hub_view_get(view, (size_t)i) : NULL;
	opts.view = snap;
	rv = hub_store_write_frame(store, &f, recv_ms, &opts, &res, err);
	hub_view_release(snap);
	if (rv == FL_EINVAL) {
		reject(ing, R_MALFORMED, FL_ACK_REJECTED, ack, "malformed frame from '%s': %s", f.env.cluster, err);
		goto out;
	}
	if (rv != FL_OK) {
		reject(ing, R_DB_ERROR, FL_ACK_RETRY, ack, "database: %s", err);
		goto out;
	}
	switch (res.decision.verdict) {
	case HUB_SEQ_DUPLICATE:
		hub_metrics_add(HUB_M_FRAMES_DUPLICATE, 1);
		ack->status = FL_ACK_DUPLICATE;
		snprintf(ack->reason, sizeof(ack->reason), "seq %llu of spoke '%s' already stored",
		         (unsigned long long)f.env.seq, f.env.spoke_id);
		fl_debug("duplicate frame cluster=%s spoke=%s seq=%llu", f.env.cluster, f.env.spoke_id,
		         (unsigned long long)f.env.seq);
		break;
	case HUB_SEQ_REPLAY:
		reject(
		    ing, R_REPLAY, FL_ACK_REJECTED, ack,
		    "replay: cluster '%s' spoke '%s' seq %llu was sent more than %lld ms before the cluster's newest "
		    "frame, from another spoke",
		    f.env.cluster, f.env.spoke_id, (unsigned long long)f.env.seq,
		    (long long)ing->cfg->replay_tolerance_ms);
		break;
	case HUB_SEQ_NEW: accepted(ing, (size_t)i, &f, &res, recv_ms, ack); break;
	}
out:
	if (mu != NULL)
		pthread_mutex_unlock(mu);
	fl_proto_frame_free(&f);
}

/* Sends ack as the reply to the request in msg (reused; freed here on any failure). Returns the nng
 * result of the send (0, NNG_ECLOSED when the socket is closing, ...). */
static int reply(hub_worker *w, nng_msg *msg, const fl_proto_ack *ack)
{
	char *out = NULL;
	size_t out_len = 0;
	nng_msg_clear(msg);
	if (fl_proto_ack_encode(ack, &out, &out_len) != FL_OK || nng_msg_append(msg, out, out_len) != 0) {
		fl_error("ingest: cannot build the ack for seq %llu", (unsigned long long)ack->seq);
		free(out);
		nng_msg_free(msg);
		return 0;
	}
	free(out);
	nng_aio_set_msg(w->aio, msg);
	nng_ctx_send(w->ctx, w->aio);
	nng_aio_wait(w->aio);
	int rv = nng_aio_result(w->aio);
	if (rv != 0) {
		nng_msg_free(msg); /* on failure the message is still ours */
		if (rv != NNG_ECLOSED)
			fl_warn("ingest: sending the ack for seq %llu failed: %s", (unsigned long long)ack->seq,
			        nng_strerror(rv));
	}
	return rv;
}

/* Deletes old ingest_log rows when due; one worker at a time (whoever wins the compare-and-swap). */
static void maybe_prune(hub_worker *w)
{
	hub_ingest *ing = w->ing;
	long long now = fl_mono_ms();
	long long due = atomic_load(&ing->next_prune_mono);
	if (now < due || !atomic_compare_exchange_strong(&ing->next_prune_mono, &due, now + HUB_INGEST_PRUNE_EVERY_MS))
		return;
	int64_t deleted = 0;
	char err[FL_ERR_LEN];
	if (hub_store_prune_ingest_log(w->store, fl_now_ms() - ing->cfg->ingest_log_retention_ms,
	                               HUB_INGEST_PRUNE_BATCH, &deleted, err) != FL_OK) {
		fl_warn("ingest_log: pruning failed (next try in %d s): %s", HUB_INGEST_PRUNE_EVERY_MS / 1000, err);
		return;
	}
	hub_metrics_add(HUB_M_INGEST_LOG_PRUNED, (uint64_t)deleted);
	if (deleted >= HUB_INGEST_PRUNE_BATCH)
		atomic_store(&ing->next_prune_mono, now + 1000); /* more to delete: again soon, a batch at a time */
	if (deleted > 0)
		fl_info("ingest_log: %lld rows older than the retention deleted", (long long)deleted);
}

static void *worker_main(void *arg)
{
	hub_worker *w = arg;
	for (;;) {
		nng_ctx_recv(w->ctx, w->aio);
		nng_aio_wait(w->aio);
		int rv = nng_aio_result(w->aio);
		if (rv == NNG_ECLOSED || rv == NNG_ECANCELED)
			break;
		if (rv != 0) {
			fl_warn("ingest: receive failed: %s", nng_strerror(rv));
			struct timespec ts = {.tv_sec = 0,
			                      .tv_nsec = 100 * 1000000}; /* no busy loop on a lasting error */
			nanosleep(&ts, NULL);
			continue;
		}
		nng_msg *msg = nng_aio_get_msg(w->aio);
		fl_proto_ack ack;
		size_t len = nng_msg_len(msg);
		hub_ingest_handle(w->ing, w->store, nng_msg_body(msg), len, fl_now_ms(), &ack);
		if (reply(w, msg, &ack) == NNG_ECLOSED)
			break;
		/* A large frame's decoded copy and statement texts are freed by now, but glibc keeps the pages
		 * in this thread's arena: hand them back, or the hub's RSS stays at its storm peak. */
		if (len >= HUB_INGEST_TRIM_BYTES)
			malloc_trim(0);
		if (ack.status == FL_ACK_OK) /* ingest_log only grows with accepted frames */
			maybe_prune(w);
	}
	return NULL;
}

/* Reads a PEM file of at most HUB_INGEST_MAX_PEM_BYTES into a new NUL-terminated buffer (*out, *len). */
static int read_pem(const char *path, char **out, size_t *len, char err[FL_ERR_LEN])
{
	*out = NULL;
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return fl_seterr(err, FL_EIO, "%s: cannot open: %s", path, strerror(errno));
	char *buf = malloc(HUB_INGEST_MAX_PEM_BYTES + 1);
	size_t n = buf != NULL ? fread(buf, 1, HUB_INGEST_MAX_PEM_BYTES + 1, f) : 0;
	int bad = buf == NULL || ferror(f);
	fclose(f);
	if (bad || n > HUB_INGEST_MAX_PEM_BYTES) {
		free(buf);
		return fl_seterr(err, bad ? FL_EIO : FL_ELIMIT, "%s: %s", path,
		                 bad ? "cannot read" : "larger than 64 KiB, not a PEM certificate or key");
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return FL_OK;
}

static void wipe_free(char *p, size_t n)
{
	if (p == NULL)
		return;
	volatile char *v = p;
	for (size_t i = 0; i < n; i++)
		v[i] = 0;
	free(p);
}

/* Gives the listener a server TLS configuration: cfg's certificate and key, client certificates
 * required (and checked against ca_file) when tls.ca_file is set. */
static int tls_setup(hub_ingest *ing, char err[FL_ERR_LEN])
{
	const hub_config *cfg = ing->cfg;
	char *cert = NULL, *key = NULL;
	size_t cert_len = 0, key_len = 0;
	nng_tls_config *tc = NULL;
	int rv = read_pem(cfg->tls_cert_file, &cert, &cert_len, err);
	if (rv == FL_OK)
		rv = read_pem(cfg->tls_key_file, &key, &key_len, err);
	int nrv = 0;
	if (rv == FL_OK && (nrv = nng_tls_config_alloc(&tc, NNG_TLS_MODE_SERVER)) != 0)
		rv = fl_seterr(err, FL_EIO, "tls: %s", nng_strerror(nrv));
	if (rv == FL_OK && (nrv = nng_tls_config_own_cert(tc, cert, key, NULL)) != 0)
		rv = fl_seterr(err, FL_EIO, "tls: certificate %s with key %s: %s", cfg->tls_cert_file,
		               cfg->tls_key_file, nng_strerror(nrv));
	if (rv == FL_OK && cfg->tls_ca_file[0] != '\0' &&
	    ((nrv = nng_tls_config_ca_file(tc, cfg->tls_ca_file)) != 0 ||
	     (nrv = nng_tls_config_auth_mode(tc, NNG_TLS_AUTH_MODE_REQUIRED)) != 0))
		rv = fl_seterr(err, FL_EIO, "tls: ca_file %s: %s", cfg->tls_ca_file, nng_strerror(nrv));
	/* The listener takes its own reference to tc. */
	if (rv == FL_OK && (nrv = nng_listener_set_ptr(ing->listener, NNG_OPT_TLS_CONFIG, tc)) != 0)
		rv = fl_seterr(err, FL_EIO, "tls: %s", nng_strerror(nrv));
	if (tc != NULL)
		nng_tls_config_free(tc);
	wipe_free(key, key_len);
	free(cert);
	return rv;
}

bool hub_ingest_url_is_private(const char *url)
{
	static const char scheme[] = "tcp://";
	if (strncmp(url, scheme, sizeof(scheme) - 1) != 0)
		return true;
	const char *host = url + sizeof(scheme) - 1;
	const char *colon = strrchr(host, ':');
	size_t n = colon != NULL ? (size_t)(colon - host) : strlen(host);
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		host++;
		n -= 2;
	}
	if ((n == 9 && strncmp(host, "localhost", 9) == 0) || (n == 3 && strncmp(host, "::1", 3) == 0))
		return true;
	return n > 4 && strncmp(host, "127.", 4) == 0;
}

static int start_worker(hub_ingest *ing, hub_worker *w, char err[FL_ERR_LEN])
{
	int rv;
	w->ing = ing;
	if ((w->store = hub_store_new(ing->cfg->database_url)) == NULL)
		return fl_seterr(err, FL_ENOMEM, "ingest: out of memory");
	if ((rv = nng_aio_alloc(&w->aio, NULL, NULL)) != 0)
		return fl_seterr(err, FL_EIO, "ingest: %s", nng_strerror(rv));
	if ((rv = nng_ctx_open(&w->ctx, ing->sock)) != 0)
		return fl_seterr(err, FL_EIO, "ingest: cannot open a context: %s", nng_strerror(rv));
	w->ctx_open = true;
	if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
		return fl_seterr(err, FL_EIO, "ingest: cannot start a worker thread");
	w->running = true;
	return FL_OK;
}

int hub_ingest_start(hub_ingest *ing, char err[FL_ERR_LEN])
{
	const char *url = ing->cfg->ingest_url;
	int rv;
	if ((rv = nng_rep0_open(&ing->sock)) != 0)
		return fl_seterr(err, FL_EIO, "ingest: cannot open socket: %s", nng_strerror(rv));
	ing->open = true;
	if ((rv = nng_listener_create(&ing->listener, ing->sock, url)) != 0)
		return fl_seterr(err, FL_EIO, "ingest %s: %s", url, nng_strerror(rv));
	/* Unlimited by default, and the TCP transport allocates whatever a peer declares (PITFALLS). */
	if ((rv = nng_listener_set_size(ing->listener, NNG_OPT_RECVMAXSZ, FL_PROTO_MAX_FRAME_BYTES)) != 0)
		return fl_seterr(err, FL_EIO, "ingest %s: cannot set the frame size limit: %s", url, nng_strerror(rv));
	if (hub_config_is_tls_url(url)) {
		char why[FL_ERR_LEN];
		if (tls_setup(ing, why) != FL_OK)
			return fl_seterr(err, FL_EIO, "ingest %s: %s", url, why);
	}
	if ((rv = nng_listener_start(ing->listener, 0)) != 0)
		return fl_seterr(err, FL_EIO, "ingest %s: cannot listen: %s", url, nng_strerror(rv));
	ing->listening = true;
	if (!hub_ingest_url_is_private(url))
		fl_warn("ingest %s: frames are signed but not encrypted; use tls+tcp:// with hub.tls.cert_file and "
		        "hub.tls.key_file where others can read the network",
		        url);
	for (int k = 0; k < ing->cfg->ingest_workers; k++) {
		ing->n_workers = k + 1;
		if ((rv = start_worker(ing, &ing->workers[k], err)) != FL_OK)
			return rv;
	}
	return FL_OK;
}

int hub_ingest_port(const hub_ingest *ing)
{
	int port = -1;
	if (!ing->listening || nng_listener_get_int(ing->listener, NNG_OPT_TCP_BOUND_PORT, &port) != 0)
		return -1;
	return port;
}

void hub_ingest_free(hub_ingest *ing)
{
	if (ing == NULL)
		return;
	/* Closing the socket ends every context's pending receive with NNG_ECLOSED. */
	if (ing->open)
		nng_close(ing->sock);
	for (int k = 0; k < ing->n_workers; k++) {
		hub_worker *w = &ing->workers[k];
		if (w->running)
			pthread_join(w->thread, NULL);
		if (w->aio != NULL)
			nng_aio_free(w->aio);
		hub_store_free(w->store);
	}
	for (int k = 0; k < HUB_CLUSTER_LOCKS; k++)
		pthread_mutex_destroy(&ing->cluster_mu[k]);
	free(ing->workers);
	free(ing);
}
