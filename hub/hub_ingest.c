/* hub_ingest.c — nng rep0 listener, one worker: recv → handle → ack. */
#include "hub_ingest.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl_log.h"
#include "fl_time.h"
#include "hub_metrics.h"
#include "hub_view.h"

#define HUB_LOG_EVERY_MS 10000 /* at most one rejection line per reason per 10 s */

enum { R_MALFORMED, R_UNKNOWN_CLUSTER, R_DB_ERROR, R_COUNT };
static const char *const reason_names[R_COUNT] = {"malformed", "unknown_cluster", "db_error"};
static const hub_counter reason_counters[R_COUNT] = {HUB_M_REJECTED_MALFORMED, HUB_M_REJECTED_UNKNOWN_CLUSTER,
                                                     HUB_M_REJECTED_DB_ERROR};

typedef struct hub_log_limit {
	int64_t last_mono_ms; /* when the last line for this reason was written; 0 = never */
	uint64_t suppressed;  /* rejections not logged since */
} hub_log_limit;

struct hub_ingest {
	hub_registry *reg; /* borrowed */
	hub_store *store;  /* borrowed */
	nng_socket sock;
	bool open;
	pthread_t thread;
	bool running;
	hub_log_limit limits[R_COUNT]; /* worker only */
};

hub_ingest *hub_ingest_new(hub_registry *reg, hub_store *store)
{
	hub_ingest *ing = calloc(1, sizeof(*ing));
	if (ing != NULL) {
		ing->reg = reg;
		ing->store = store;
	}
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

	hub_log_limit *l = &ing->limits[reason];
	int64_t now = fl_mono_ms();
	if (l->last_mono_ms != 0 && now - l->last_mono_ms < HUB_LOG_EVERY_MS) {
		l->suppressed++;
		return;
	}
	if (l->suppressed > 0)
		fl_warn("frame %s (%s): %s (%llu more like it not logged in the last %ds)",
		        status == FL_ACK_RETRY ? "not stored" : "rejected", reason_names[reason], ack->reason,
		        (unsigned long long)l->suppressed, HUB_LOG_EVERY_MS / 1000);
	else
		fl_warn("frame %s (%s): %s", status == FL_ACK_RETRY ? "not stored" : "rejected", reason_names[reason],
		        ack->reason);
	l->last_mono_ms = now;
	l->suppressed = 0;
}

void hub_ingest_handle(hub_ingest *ing, const void *buf, size_t len, int64_t recv_ms, fl_proto_ack *ack)
{
	memset(ack, 0, sizeof(*ack));
	hub_metrics_add(HUB_M_FRAMES_RECEIVED, 1);
	hub_metrics_add(HUB_M_FRAME_BYTES, len);

	fl_proto_frame f;
	char err[FL_ERR_LEN] = "";
	if (fl_proto_decode(buf, len, &f, err) != FL_OK) {
		reject(ing, R_MALFORMED, FL_ACK_REJECTED, ack, "malformed frame: %s", err);
		return;
	}
	ack->seq = f.env.seq;
	int i = hub_registry_find(ing->reg, f.env.cluster);
	if (i < 0) {
		reject(ing, R_UNKNOWN_CLUSTER, FL_ACK_REJECTED, ack, "unknown cluster '%s'", f.env.cluster);
		goto out;
	}
	if (hub_registry_is_duplicate(ing->reg, (size_t)i, f.env.spoke_id, f.env.seq)) {
		hub_metrics_add(HUB_M_FRAMES_DUPLICATE, 1);
		ack->status = FL_ACK_DUPLICATE;
		snprintf(ack->reason, sizeof(ack->reason), "seq %llu of spoke '%s' already stored",
		         (unsigned long long)f.env.seq, f.env.spoke_id);
		fl_debug("duplicate frame cluster=%s spoke=%s seq=%llu", f.env.cluster, f.env.spoke_id,
		         (unsigned long long)f.env.seq);
		goto out;
	}

	hub_write_result res;
	int rv = hub_store_write_frame(ing->store, &f, recv_ms, &res, err);
	if (rv == FL_EINVAL) {
		reject(ing, R_MALFORMED, FL_ACK_REJECTED, ack, "malformed frame from '%s': %s", f.env.cluster, err);
		goto out;
	}
	if (rv != FL_OK) {
		reject(ing, R_DB_ERROR, FL_ACK_RETRY, ack, "database: %s", err);
		goto out;
	}
	if (res.stale) {
		/* Another writer (or an earlier run of this hub) already stored this sequence number. */
		hub_metrics_add(HUB_M_FRAMES_DUPLICATE, 1);
		ack->status = FL_ACK_DUPLICATE;
		snprintf(ack->reason, sizeof(ack->reason), "seq %llu of spoke '%s' already stored",
		         (unsigned long long)f.env.seq, f.env.spoke_id);
		goto out;
	}
	hub_metrics_add(HUB_M_FRAMES_ACCEPTED, 1);
	hub_metrics_add(HUB_M_NODE_ROWS_WRITTEN, (uint64_t)res.node_rows);
	bool first = hub_registry_record(ing->reg, (size_t)i, &f, recv_ms);
	hub_view_apply(hub_registry_view(ing->reg), &f, recv_ms); /* the API's view, after COMMIT */
	ack->status = FL_ACK_OK;
	if (first)
		fl_info("first frame from cluster=%s spoke=%s seq=%llu kind=%s nodes=%u gpus=%u", f.env.cluster,
		        f.env.spoke_id, (unsigned long long)f.env.seq,
		        fl_proto_kind_name(f.env.kind) ? fl_proto_kind_name(f.env.kind) : "?", f.n_nodes, f.n_gpus);
	else
		fl_debug("frame accepted cluster=%s spoke=%s seq=%llu kind=%s nodes=%u gpus=%u deleted=%lld",
		         f.env.cluster, f.env.spoke_id, (unsigned long long)f.env.seq,
		         fl_proto_kind_name(f.env.kind) ? fl_proto_kind_name(f.env.kind) : "?", f.n_nodes, f.n_gpus,
		         (long long)res.rows_deleted);
out:
	fl_proto_frame_free(&f);
}

static void *worker(void *arg)
{
	hub_ingest *ing = arg;
	for (;;) {
		nng_msg *msg = NULL;
		int rv = nng_recvmsg(ing->sock, &msg, 0);
		if (rv == NNG_ECLOSED)
			break;
		if (rv != 0) {
			fl_warn("ingest: receive failed: %s", nng_strerror(rv));
			continue;
		}
		int64_t recv_ms = fl_now_ms();
		fl_proto_ack ack;
		hub_ingest_handle(ing, nng_msg_body(msg), nng_msg_len(msg), recv_ms, &ack);
		char *out = NULL;
		size_t out_len = 0;
		nng_msg_clear(msg);
		if (fl_proto_ack_encode(&ack, &out, &out_len) != FL_OK || nng_msg_append(msg, out, out_len) != 0) {
			fl_error("ingest: cannot build the ack for seq %llu", (unsigned long long)ack.seq);
			free(out);
			nng_msg_free(msg);
			continue;
		}
		free(out);
		/* On success the socket owns msg; on failure we still do. */
		if ((rv = nng_sendmsg(ing->sock, msg, 0)) != 0) {
			nng_msg_free(msg);
			if (rv == NNG_ECLOSED)
				break;
			fl_warn("ingest: sending the ack for seq %llu failed: %s", (unsigned long long)ack.seq,
			        nng_strerror(rv));
		}
	}
	return NULL;
}

int hub_ingest_start(hub_ingest *ing, const char *url, char err[FL_ERR_LEN])
{
	int rv;
	nng_listener l;
	if ((rv = nng_rep0_open(&ing->sock)) != 0)
		return fl_seterr(err, FL_EIO, "ingest: cannot open socket: %s", nng_strerror(rv));
	ing->open = true;
	if ((rv = nng_listener_create(&l, ing->sock, url)) != 0)
		return fl_seterr(err, FL_EIO, "ingest %s: %s", url, nng_strerror(rv));
	/* Unlimited by default, and the TCP transport allocates whatever a peer declares (PITFALLS). */
	if ((rv = nng_listener_set_size(l, NNG_OPT_RECVMAXSZ, FL_PROTO_MAX_FRAME_BYTES)) != 0)
		return fl_seterr(err, FL_EIO, "ingest %s: cannot set the frame size limit: %s", url, nng_strerror(rv));
	if ((rv = nng_listener_start(l, 0)) != 0)
		return fl_seterr(err, FL_EIO, "ingest %s: cannot listen: %s", url, nng_strerror(rv));
	if ((rv = pthread_create(&ing->thread, NULL, worker, ing)) != 0)
		return fl_seterr(err, FL_EIO, "ingest: cannot start the worker thread");
	ing->running = true;
	return FL_OK;
}

void hub_ingest_free(hub_ingest *ing)
{
	if (ing == NULL)
		return;
	if (ing->open)
		nng_close(ing->sock);
	if (ing->running)
		pthread_join(ing->thread, NULL);
	free(ing);
}
