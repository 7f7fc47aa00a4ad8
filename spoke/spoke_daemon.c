/* spoke_daemon.c — collect, queue, send, act on acks; heartbeats, backoff, stats. */
#include "spoke_daemon.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fl_log.h"
#include "fl_time.h"
#include "spoke_delta.h"
#include "spoke_keyfile.h"
#include "spoke_kube.h"
#include "spoke_model.h"
#include "spoke_overview.h"
#include "spoke_prom.h"
#include "spoke_sender.h"
#include "spoke_sim.h"
#include "spoke_spool.h"
#include "spoke_node.h"
#include "spoke_state.h"
#include "spoke_stats.h"
#include "spoke_workload.h"

#define SLICE_MS       100 /* longest wait before looking at the stop flag again */
#define STATS_EVERY_MS (5 * 60 * 1000)

struct spoke_daemon {
	const spoke_config *cfg;
	spoke_state state;
	spoke_spool *spool;
	spoke_sender *sender;
	uint64_t tick;
	bool want_full; /* the next collected frame must be a full snapshot */
	/* the request in flight */
	bool in_flight;
	uint64_t flight_seq;
	fl_frame_kind flight_kind;
	size_t flight_len;
	int64_t flight_start;
	/* retries */
	int64_t backoff_ms;  /* 0: no failure since the last ack */
	int64_t retry_at;    /* monotonic ms before which the head is not resent */
	int64_t last_answer; /* monotonic ms of the last ack that ended a frame: ok, duplicate or rejected (or of
	                      * the start); a heartbeat is due heartbeat_ms after it, so a spoke the hub refuses
	                      * (a removed cluster, a wrong key) sends one per heartbeat_ms, not one per ack */
	uint64_t rng;
	spoke_daemon_stats st;
	bool closed_spool;         /* the spool was written out already */
	bool once;                 /* --once: no retries, a failed frame just stays queued */
	spoke_kube *kube;          /* the kube source's watchers (source kube), else NULL */
	spoke_delta delta;         /* kube: node rows the hub was last sent */
	bool delta_next;           /* kube: the collect in progress is an out-of-cycle one (a delta if it can be) */
	spoke_workloads workloads; /* workloads seen, ended ones kept a while (spoke_workload.h) */
	spoke_node_role *node;     /* the node role's collectors (source node), else NULL */
	spoke_keyfile keyf;        /* the key frames are signed with, re-read when key_file changes */
};

/* Monotonic microseconds, for the collect and encode timers. */
static uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The model of this cycle: from the sim, or a snapshot of the kube source's live model (kube given),
 * or for kube without a running source (--dry-run) a one-shot list of the cluster. */
static int collect_model(const spoke_config *cfg, spoke_kube *kube, uint64_t tick, spoke_model *model,
                         char err[FL_ERR_LEN])
{
	if (cfg->source != SPOKE_SOURCE_KUBE) {
		return spoke_sim_fill(&cfg->sim, tick, model, err);
	}
	if (kube != NULL) {
		(void)spoke_kube_take_urgent(kube, INT64_MAX); /* this snapshot carries what was pending */
		return spoke_kube_snapshot(kube, model, err);
	}
	int rv = spoke_kube_open(&kube, &cfg->kube, &cfg->rules, err);
	if (rv == FL_OK && (rv = spoke_kube_wait_synced(kube, cfg->kube.sync_timeout_ms, err)) == FL_OK) {
		rv = spoke_kube_snapshot(kube, model, err);
	}
	spoke_kube_close(kube);
	return rv;
}

/* The node role's frame, from node (NULL: a one-shot handle, for --dry-run). */
static int collect_node(const spoke_config *cfg, spoke_node_role *node, const spoke_frame_meta *meta,
                        fl_proto_frame *out, char err[FL_ERR_LEN])
{
	spoke_node_role *once = NULL;
	int rv = node == NULL ? spoke_node_open(cfg, &once, err) : FL_OK;
	if (rv == FL_OK) {
		rv = spoke_node_collect(node != NULL ? node : once, meta, fl_now_ms(), out, err);
	}
	spoke_node_close(once);
	return rv;
}

/* One cycle's full frame (or node frame). wl remembers workloads across cycles (ended ones,
 * spoke_workload.h); NULL uses a fresh one, for a one-shot collect. */
static int collect_from(const spoke_config *cfg, spoke_kube *kube, spoke_workloads *wl, uint64_t tick,
                        const spoke_frame_meta *meta, fl_proto_frame *out, char err[FL_ERR_LEN])
{
	spoke_workloads once = {0};
	spoke_model model;
	spoke_overview_result ov;
	memset(&model, 0, sizeof(model));
	memset(&ov, 0, sizeof(ov));
	memset(out, 0, sizeof(*out));
	int rv = collect_model(cfg, kube, tick, &model, err);
	if (rv == FL_OK && cfg->source == SPOKE_SOURCE_KUBE) {
		/* The Kubernetes API has no utilization, storage or RDMA figures: unknown unless measured below. */
		model.unknown |= FL_OV_UTILIZATION | FL_OV_STORAGE | FL_OV_RDMA;
	}
	if (rv == FL_OK && cfg->has_prom) {
		rv = spoke_prom_collect(&cfg->prom, &model, err); /* only out of memory fails the cycle */
	}
	if (rv == FL_OK) {
		rv = spoke_overview_compute(&model, &cfg->rules, &ov, err);
	}
	if (rv == FL_OK) {
		rv = spoke_frame_build(&model, &ov, meta, out, err);
	}
	if (rv == FL_OK) {
		rv =
		    spoke_workloads_fill(wl != NULL ? wl : &once, &model, &cfg->rules, &ov, meta->sent_at_ms, out, err);
		if (rv != FL_OK) {
			fl_proto_frame_free(out);
		}
	}
	spoke_workloads_free(&once);
	spoke_overview_result_free(&ov);
	spoke_model_free(&model);
	return rv;
}

int spoke_daemon_collect(const spoke_config *cfg, uint64_t tick, const spoke_frame_meta *meta, fl_proto_frame *out,
                         char err[FL_ERR_LEN])
{
	if (cfg->source == SPOKE_SOURCE_NODE) {
		return collect_node(cfg, NULL, meta, out, err);
	}
	return collect_from(cfg, NULL, NULL, tick, meta, out, err);
}

const char *spoke_daemon_spoke_id(const spoke_daemon *d)
{
	return d->state.spoke_id;
}

bool spoke_daemon_want_full(const spoke_daemon *d)
{
	return d->want_full;
}

void spoke_daemon_get_stats(const spoke_daemon *d, spoke_daemon_stats *out)
{
	*out = d->st;
}

/* xorshift64*: jitter only, not security. */
static uint64_t next_rand(spoke_daemon *d)
{
	d->rng ^= d->rng >> 12;
	d->rng ^= d->rng << 25;
	d->rng ^= d->rng >> 27;
	return d->rng * 2685821657736338717ull;
}

/* After a failed attempt: the next wait is 200 ms, then double the last, at most max_backoff; the
 * actual wait is uniform in [b/2, b]. */
static void back_off(spoke_daemon *d, int64_t now)
{
	int64_t b = d->backoff_ms == 0 ? SPOKE_BACKOFF_MIN_MS : d->backoff_ms * 2;
	if (b > d->cfg->max_backoff_ms) {
		b = d->cfg->max_backoff_ms;
	}
	d->backoff_ms = b;
	d->retry_at = now + b / 2 + (int64_t)(next_rand(d) % (uint64_t)(b / 2 + 1));
}

/* Signs f with the cluster key, gives it the next seq and queues it. f is consumed. Failures are
 * logged here (a frame the spool had no room for is logged by the spool) and counted. */
static int queue_frame(spoke_daemon *d, fl_proto_frame *f)
{
	char err[FL_ERR_LEN];
	fl_frame_kind kind = f->env.kind;
	uint64_t seq = 0;
	int rv = spoke_state_next(&d->state, &seq, err);
	if (rv != FL_OK) {
		fl_proto_frame_free(f);
		d->st.collect_errors++;
		fl_error("%s frame not queued: no sequence number: %s", fl_proto_kind_name(kind), err);
		return rv;
	}
	f->env.seq = seq;
	char *bytes = NULL;
	size_t len = 0;
	uint32_t nodes = f->n_nodes, gpus = f->n_gpus;
	spoke_keyfile_check(&d->keyf, spoke_stats_global()); /* a rotated key signs from this frame on */
	uint64_t t0 = mono_us();
	rv = fl_proto_encode(f, d->keyf.key.bytes, d->keyf.key.len, &bytes, &len, err);
	spoke_stats_time(spoke_stats_global(), SPOKE_T_ENCODE, mono_us() - t0);
	fl_proto_frame_free(f);
	if (rv != FL_OK) {
		d->st.collect_errors++;
		fl_error("%s seq=%" PRIu64 " not queued: encode failed: %s", fl_proto_kind_name(kind), seq, err);
		return rv;
	}
	fl_debug("queued seq=%" PRIu64 " kind=%s nodes=%u gpus=%u bytes=%zu", seq, fl_proto_kind_name(kind), nodes,
	         gpus, len);
	rv = spoke_spool_push(d->spool, d->state.spoke_id, seq, kind, bytes, len, err);
	if (rv != FL_OK && rv != FL_ELIMIT) {
		d->st.collect_errors++;
		fl_error("%s seq=%" PRIu64 " not queued: %s", fl_proto_kind_name(kind), seq, err);
	}
	return rv;
}

static spoke_frame_meta meta_of(const spoke_daemon *d)
{
	/* seq 1 is a placeholder: queue_frame sets the real one once the frame is built. */
	spoke_frame_meta m = {d->cfg->cluster, d->state.spoke_id, 1, fl_now_ms(),
	                      spoke_config_source_name(d->cfg->source)};
	return m;
}

/* kube: an out-of-cycle collect becomes a delta against what was sent last, unless the hub asked for a
 * full snapshot or nothing is remembered; a full frame is remembered for the next delta. */
static void make_delta_or_remember(spoke_daemon *d, fl_proto_frame *f)
{
	char err[FL_ERR_LEN];
	bool delta = d->delta_next && !d->want_full && d->delta.have;
	d->delta_next = false;
	if (delta && spoke_delta_make(&d->delta, f, err) == FL_OK) {
		return;
	}
	if (delta) {
		fl_warn("sending a full frame instead of a delta: %s", err);
	}
	if (spoke_delta_remember(&d->delta, f) != FL_OK) {
		fl_warn("out of memory remembering the sent nodes: the next frame is a full one");
	}
}

/* Counts one collection (started at t0 us) and its outcome for /healthz: a failed collect, or a
 * Prometheus query that failed in it (prom0: the failures counted before), keeps the source failing. */
static void note_source(int rv, const char *err, uint64_t t0, uint64_t prom0)
{
	spoke_stats *st = spoke_stats_global();
	spoke_stats_time(st, SPOKE_T_COLLECT, mono_us() - t0);
	uint64_t prom = atomic_load(&st->counters[SPOKE_C_PROM_FAILURES]) - prom0;
	char why[FL_ERR_LEN];
	if (rv == FL_OK && prom > 0) {
		snprintf(why, sizeof(why), "%llu Prometheus quer%s failed (see the log)", (unsigned long long)prom,
		         prom == 1 ? "y" : "ies");
	}
	spoke_stats_source(st, rv == FL_OK && prom == 0, rv != FL_OK ? err : why, fl_mono_ms());
}

/* Collects the next cycle and queues it. The sim and node sources produce only full snapshots, which
 * also answer a want_full; the kube source's deltas become full frames while d->want_full is set
 * (make_delta_or_remember). */
static int collect_and_queue(spoke_daemon *d)
{
	char err[FL_ERR_LEN];
	spoke_frame_meta meta = meta_of(d);
	fl_proto_frame f;
	if (d->kube != NULL && d->once) {
		int w = spoke_kube_wait_synced(d->kube, d->cfg->kube.sync_timeout_ms, err);
		if (w != FL_OK) {
			d->st.collect_errors++;
			fl_error("collect failed: %s", err);
			return w;
		}
	}
	uint64_t t0 = mono_us(), prom0 = atomic_load(&spoke_stats_global()->counters[SPOKE_C_PROM_FAILURES]);
	int rv = d->node != NULL ? collect_node(d->cfg, d->node, &meta, &f, err)
	                         : collect_from(d->cfg, d->kube, &d->workloads, d->tick, &meta, &f, err);
	d->tick++;
	note_source(rv, err, t0, prom0);
	if (rv != FL_OK) {
		d->st.collect_errors++;
		fl_error("cycle %" PRIu64 ": collect failed: %s", d->tick - 1, err);
		return rv;
	}
	if (d->kube != NULL) {
		make_delta_or_remember(d, &f);
	}
	bool full = f.env.kind == FL_FRAME_FULL;
	rv = queue_frame(d, &f);
	if (rv != FL_OK && d->kube != NULL) {
		spoke_delta_reset(&d->delta); /* the hub may lack what was remembered: next time a full frame */
	}
	if (rv == FL_OK) {
		d->st.collected++;
		if (full) {
			d->want_full = false;
		}
	}
	return rv;
}

static void queue_heartbeat(spoke_daemon *d)
{
	fl_proto_frame f;
	memset(&f, 0, sizeof(f));
	f.env.version = FL_PROTO_VERSION;
	snprintf(f.env.cluster, sizeof(f.env.cluster), "%s", d->cfg->cluster);
	snprintf(f.env.spoke_id, sizeof(f.env.spoke_id), "%s", d->state.spoke_id);
	f.env.sent_at_ms = fl_now_ms();
	f.env.kind = FL_FRAME_HEARTBEAT;
	if (queue_frame(d, &f) == FL_OK) {
		d->st.heartbeats++;
	}
}

/* Starts sending the spool's head. False when there is nothing to send or it could not start. */
static bool start_head(spoke_daemon *d, int64_t now)
{
	char err[FL_ERR_LEN];
	spoke_spool_item it;
	const void *bytes;
	size_t len;
	for (;;) {
		if (!spoke_spool_head(d->spool, &it)) {
			return false;
		}
		int rv = spoke_spool_head_bytes(d->spool, &bytes, &len, err);
		if (rv == FL_EPROTO) {
			continue; /* its file went bad: logged and removed by the spool; try the next one */
		}
		if (rv != FL_OK) {
			fl_error("reading queued seq=%" PRIu64 ": %s", it.seq, err);
			back_off(d, now);
			return false;
		}
		break;
	}
	int rv = spoke_sender_start(d->sender, bytes, len, it.seq, err);
	if (rv != FL_OK) {
		fl_error("sending seq=%" PRIu64 ": %s", it.seq, err);
		back_off(d, now);
		return false;
	}
	spoke_spool_set_busy(d->spool, true);
	d->in_flight = true;
	d->flight_seq = it.seq;
	d->flight_kind = it.kind;
	d->flight_len = it.len;
	d->flight_start = now;
	return true;
}

/* "retry in N ms", or what --once does instead. */
static const char *next_try(const spoke_daemon *d, int64_t now, char *buf, size_t len)
{
	if (d->once) {
		return "kept in the spool";
	}
	snprintf(buf, len, "retry in %lld ms", (long long)(d->retry_at - now));
	return buf;
}

/* Acts on the outcome of the request in flight (rv and ack from spoke_sender_poll). */
static spoke_outcome finish_flight(spoke_daemon *d, int rv, const fl_proto_ack *ack, const char *err)
{
	char when[48];
	int64_t now = fl_mono_ms();
	long long ms = (long long)(now - d->flight_start);
	const char *kind = fl_proto_kind_name(d->flight_kind);
	uint64_t seq = d->flight_seq;
	d->in_flight = false;
	spoke_spool_set_busy(d->spool, false);
	spoke_outcome out = SPOKE_NOT_ACKED;
	if (rv != FL_OK) {
		d->st.no_ack++;
		back_off(d, now);
		fl_warn("send seq=%" PRIu64 " kind=%s bytes=%zu failed after %lld ms: %s; %s", seq, kind, d->flight_len,
		        ms, err, next_try(d, now, when, sizeof(when)));
		return out;
	}
	switch (ack->status) {
	case FL_ACK_OK:
	case FL_ACK_DUPLICATE:
		spoke_spool_pop(d->spool);
		if (ack->status == FL_ACK_OK) {
			d->st.acked++;
		} else {
			d->st.duplicates++;
		}
		d->backoff_ms = 0;
		d->retry_at = now;
		d->last_answer = now;
		/* Heartbeats are routine: their acks only show at debug level. */
		fl_log(d->flight_kind == FL_FRAME_HEARTBEAT ? FL_LOG_DEBUG : FL_LOG_INFO,
		       "sent seq=%" PRIu64 " kind=%s bytes=%zu ack=%s in %lld ms", seq, kind, d->flight_len,
		       ack->status == FL_ACK_OK ? "ok" : "duplicate", ms);
		out = SPOKE_ACKED;
		break;
	case FL_ACK_REJECTED:
		spoke_spool_pop(d->spool);
		d->st.rejected++;
		d->backoff_ms = 0;
		d->retry_at = now;
		d->last_answer = now;
		fl_error("sent seq=%" PRIu64 " kind=%s bytes=%zu ack=rejected in %lld ms: %s (dropped; %" PRIu64
		         " rejected so far)",
		         seq, kind, d->flight_len, ms, ack->reason[0] != '\0' ? ack->reason : "(no reason given)",
		         d->st.rejected);
		out = SPOKE_REJECTED;
		break;
	case FL_ACK_RETRY:
	default:
		d->st.retries++;
		back_off(d, now);
		fl_warn("sent seq=%" PRIu64 " kind=%s bytes=%zu ack=retry in %lld ms: %s; %s", seq, kind, d->flight_len,
		        ms, ack->reason[0] != '\0' ? ack->reason : "(no reason given)",
		        next_try(d, now, when, sizeof(when)));
		break;
	}
	if (ack->want_full) {
		d->st.want_full++;
		if (!d->want_full) {
			fl_info("the hub asks for a full snapshot (ack of seq=%" PRIu64 ")", seq);
		}
		d->want_full = true;
	}
	return out;
}

/* Waits up to wait_ms for the request in flight; acts on it when it is over. True when it finished,
 * with its outcome in *out. */
static bool poll_flight(spoke_daemon *d, int64_t wait_ms, spoke_outcome *out)
{
	char err[FL_ERR_LEN] = "";
	fl_proto_ack ack;
	bool done = false;
	int rv = spoke_sender_poll(d->sender, wait_ms, &done, &ack, err);
	if (!done) {
		return false;
	}
	*out = finish_flight(d, rv, &ack, err);
	return true;
}

static void sleep_ms(int64_t ms)
{
	if (ms <= 0) {
		return;
	}
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL); /* a signal cuts it short, which is what we want */
}

/* The kube source's request and event counters, beside the delivery stats. */
static void log_kube_stats(spoke_daemon *d, const char *when)
{
	if (d->kube == NULL) {
		return;
	}
	spoke_kube_stats k;
	spoke_kube_get_stats(d->kube, &k);
	fl_info("kube stats%s: list_requests=%" PRIu64 " watch_requests=%" PRIu64 " errors=%" PRIu64
	        " auth_errors=%" PRIu64 " relists=%" PRIu64 " gone=%" PRIu64 " events=%" PRIu64 " bookmarks=%" PRIu64
	        " malformed=%" PRIu64 " oversized=%" PRIu64 " bad_labels=%" PRIu64,
	        when, k.list_requests, k.watch_requests, k.errors, k.auth_errors, k.relists, k.gone, k.events,
	        k.bookmarks, k.malformed, k.oversized, k.bad_labels);
}

static void log_stats(spoke_daemon *d, const char *when)
{
	spoke_spool_stats s;
	spoke_spool_get_stats(d->spool, &s);
	const spoke_daemon_stats *t = &d->st;
	fl_info("stats%s: queued=%" PRIu64 " frames/%" PRIu64 " bytes (memory %" PRIu64 ", disk %" PRIu64
	        ") collected=%" PRIu64 " heartbeats=%" PRIu64 " acked=%" PRIu64 " duplicate=%" PRIu64
	        " rejected=%" PRIu64 " retry=%" PRIu64 " no_ack=%" PRIu64 " want_full=%" PRIu64 " dropped=%" PRIu64
	        " frames/%" PRIu64 " bytes superseded=%" PRIu64 " frames/%" PRIu64 " bytes corrupt=%" PRIu64
	        " write_errors=%" PRIu64 " collect_errors=%" PRIu64 " last_seq=%" PRIu64,
	        when, s.frames, s.bytes, s.memory_bytes, s.disk_bytes, t->collected, t->heartbeats, t->acked,
	        t->duplicates, t->rejected, t->retries, t->no_ack, t->want_full, s.dropped, s.dropped_bytes,
	        s.superseded, s.superseded_bytes, s.corrupt, s.write_errors, t->collect_errors, d->state.last_seq);
	log_kube_stats(d, when);
	if (d->node != NULL) {
		spoke_node_counters c;
		spoke_node_get_counters(d->node, &c);
		fl_info("node stats%s: gpu_unreadable=%" PRIu64 " rdma_unreadable=%" PRIu64 " proc_unreadable=%" PRIu64
		        " jobs_dropped=%" PRIu64 " nvml_errors=%" PRIu64 " kfd_unreadable=%" PRIu64
		        " dcmi_errors=%" PRIu64,
		        when, c.gpu_unreadable, c.rdma_unreadable, c.proc_unreadable, c.jobs_dropped, c.nvml_errors,
		        c.kfd_unreadable, c.dcmi_errors);
	}
}

/* Abandons the request in flight (it stays queued) and writes the spool out. */
static void wind_down(spoke_daemon *d)
{
	if (d->in_flight) {
		spoke_sender_cancel(d->sender);
		d->in_flight = false;
		spoke_spool_set_busy(d->spool, false);
	}
	if (d->closed_spool) {
		return;
	}
	d->closed_spool = true;
	spoke_spool_stats s;
	spoke_spool_get_stats(d->spool, &s);
	if (s.frames == 0) {
		return;
	}
	if (d->cfg->spool_dir[0] == '\0') {
		fl_warn("%" PRIu64 " unacknowledged frames (%" PRIu64 " bytes) are lost: no spool_dir", s.frames,
		        s.bytes);
		return;
	}
	char err[FL_ERR_LEN];
	if (spoke_spool_flush(d->spool, err) != FL_OK) {
		fl_error("writing the spool: %s", err);
	} else {
		fl_info("%" PRIu64 " unacknowledged frames (%" PRIu64 " bytes) kept in %s for the next start", s.frames,
		        s.bytes, d->cfg->spool_dir);
	}
}

/* The kube source: before its first sync a cycle waits (the first frame goes as soon as it is
 * synced); a change that matters (debounced by the source) is collected at once, out of cycle.
 * True when it collected. */
static bool kube_cycle(spoke_daemon *d, int64_t now, int64_t *next_collect)
{
	if (d->kube == NULL) {
		return false;
	}
	if (!spoke_kube_synced(d->kube)) {
		if (now >= *next_collect) {
			*next_collect = now + SLICE_MS; /* not yet: look again shortly */
		}
		return false;
	}
	if (spoke_kube_take_urgent(d->kube, now) && now < *next_collect) {
		fl_debug("kube: a change that matters: collecting now");
		d->delta_next = true;
		collect_and_queue(d);
		d->delta_next = false;
		return true;
	}
	return false;
}

void spoke_daemon_run(spoke_daemon *d, volatile sig_atomic_t *stop)
{
	const spoke_config *cfg = d->cfg;
	int64_t now = fl_mono_ms();
	int64_t next_collect = now, next_stats = now + STATS_EVERY_MS;
	d->last_answer = now;
	while (!*stop) {
		now = fl_mono_ms();
		if (kube_cycle(d, now, &next_collect)) {
			now = fl_mono_ms();
		}
		if (now >= next_collect) {
			collect_and_queue(d);
			next_collect += cfg->interval_ms;
			now = fl_mono_ms();
			if (next_collect <= now) {
				/* The cycle overran: skip the missed slots rather than collecting in a burst. */
				next_collect = now + cfg->interval_ms - (now - next_collect) % cfg->interval_ms;
			}
		}
		if (!d->in_flight && now >= d->retry_at) {
			spoke_spool_item it;
			/* a node frame is its node's heartbeat: the node role sends no others */
			if (d->node == NULL && !spoke_spool_head(d->spool, &it) &&
			    now - d->last_answer >= cfg->heartbeat_ms) {
				queue_heartbeat(d);
			}
			start_head(d, now);
		}
		int64_t wait = next_collect - now;
		if (wait > SLICE_MS) {
			wait = SLICE_MS;
		}
		if (d->in_flight) {
			spoke_outcome o;
			poll_flight(d, wait, &o);
		} else {
			sleep_ms(wait);
		}
		if (fl_mono_ms() >= next_stats) {
			log_stats(d, "");
			next_stats += STATS_EVERY_MS;
		}
	}
	fl_info("stopping on signal; last seq=%" PRIu64, d->state.last_seq);
	wind_down(d);
	log_stats(d, " at stop");
}

spoke_outcome spoke_daemon_once(spoke_daemon *d, volatile sig_atomic_t *stop)
{
	d->once = true;
	if (collect_and_queue(d) != FL_OK) {
		return SPOKE_NOT_ACKED;
	}
	char id[FL_CLUSTER_LEN];
	snprintf(id, sizeof(id), "%s", d->state.spoke_id);
	uint64_t target = d->state.last_seq;
	spoke_outcome result = SPOKE_NOT_ACKED;
	while (!*stop) {
		if (!d->in_flight) {
			spoke_spool_item it;
			if (!spoke_spool_head(d->spool, &it) || !start_head(d, fl_mono_ms())) {
				break; /* nothing left (the frame was dropped), or it could not be sent */
			}
		}
		uint64_t seq = d->flight_seq;
		spoke_spool_item head;
		bool ours = spoke_spool_head(d->spool, &head) && strcmp(head.spoke_id, id) == 0 && seq == target;
		spoke_outcome o;
		if (!poll_flight(d, SLICE_MS, &o)) {
			continue;
		}
		if (ours) {
			result = o;
			break;
		}
		if (o == SPOKE_NOT_ACKED) {
			break; /* an older frame got no ack: ours would not either; both stay queued */
		}
	}
	wind_down(d);
	return result;
}

int spoke_daemon_open(spoke_daemon **out, const spoke_config *cfg, char err[FL_ERR_LEN])
{
	*out = NULL;
	spoke_daemon *d = calloc(1, sizeof(*d));
	if (d == NULL) {
		return fl_seterr(err, FL_ENOMEM, "out of memory");
	}
	d->cfg = cfg;
	d->want_full = true; /* the hub has nothing from this process yet */
	spoke_stats_init(spoke_stats_global(), cfg->cluster, cfg->role == SPOKE_ROLE_NODE ? "node" : "cluster",
	                 cfg->interval_ms, fl_mono_ms());
	spoke_keyfile_init(&d->keyf, cfg->key_file, &cfg->key);
	if (getentropy(&d->rng, sizeof(d->rng)) != 0 || d->rng == 0) {
		d->rng = (uint64_t)fl_now_ms() ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ull;
	}
	int rv = spoke_state_open(&d->state, cfg->spool_dir, cfg->cluster, err);
	if (rv != FL_OK) {
		free(d);
		return rv;
	}
	spoke_spool_opts o = {cfg->spool_dir, cfg->spool_memory_bytes, cfg->spool_max_bytes, cfg->spool_supersede};
	if ((rv = spoke_spool_open(&d->spool, &o, err)) != FL_OK ||
	    (rv = spoke_sender_open(&d->sender, cfg->hub_url, cfg->ack_timeout_ms, cfg->tls_enabled ? &cfg->tls : NULL,
	                            err)) != FL_OK) {
		d->closed_spool = true;
		spoke_daemon_close(d);
		return rv;
	}
	if (cfg->source == SPOKE_SOURCE_KUBE &&
	    (rv = spoke_kube_open(&d->kube, &cfg->kube, &cfg->rules, err)) != FL_OK) {
		d->closed_spool = true;
		spoke_daemon_close(d);
		return rv;
	}
	if (cfg->source == SPOKE_SOURCE_NODE && (rv = spoke_node_open(cfg, &d->node, err)) != FL_OK) {
		d->closed_spool = true;
		spoke_daemon_close(d);
		return rv;
	}
	d->retry_at = fl_mono_ms();
	*out = d;
	return FL_OK;
}

void spoke_daemon_close(spoke_daemon *d)
{
	if (d == NULL) {
		return;
	}
	if (d->spool != NULL && d->sender != NULL) {
		wind_down(d);
	}
	spoke_kube_close(d->kube);
	spoke_node_close(d->node);
	spoke_delta_reset(&d->delta);
	spoke_workloads_free(&d->workloads);
	spoke_sender_close(d->sender);
	spoke_spool_close(d->spool);
	spoke_state_close(&d->state);
	spoke_keyfile_wipe(&d->keyf);
	free(d);
}
