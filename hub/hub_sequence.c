/* hub_sequence.c — repeat, replay and gap rules for one frame. */
#include "hub_sequence.h"

#include <string.h>

void hub_sequence_decide(const hub_seq_prior *prior, const fl_proto_envelope *env, int64_t tolerance_ms,
                         hub_seq_decision *out)
{
	memset(out, 0, sizeof(*out));
	out->last_seq = prior->spoke_last_seq;
	if (prior->spoke_last_seq > 0 && env->seq <= prior->spoke_last_seq) {
		out->verdict = HUB_SEQ_DUPLICATE;
		return;
	}
	/* newest - tolerance, saturated so that no value near INT64_MIN overflows (tolerance_ms >= 0). */
	int64_t floor_ms =
	    prior->newest_version_ms >= INT64_MIN + tolerance_ms ? prior->newest_version_ms - tolerance_ms : INT64_MIN;
	if (prior->cluster_seen && strcmp(env->spoke_id, prior->newest_spoke) != 0 && env->sent_at_ms < floor_ms) {
		out->verdict = HUB_SEQ_REPLAY;
		return;
	}
	out->verdict = HUB_SEQ_NEW;
	out->version_ms = env->sent_at_ms;
	if (prior->spoke_last_seq > 0 && prior->spoke_version_ms > out->version_ms)
		out->version_ms = prior->spoke_version_ms;
	out->gap = env->seq != prior->spoke_last_seq + 1;
	out->superseded =
	    prior->full_known && (out->version_ms < prior->full_version_ms ||
	                          (out->version_ms == prior->full_version_ms && env->seq < prior->full_seq));
	out->want_full = env->kind != FL_FRAME_FULL && (out->gap || !prior->full_seen);
}

const char *hub_sequence_verdict_name(hub_seq_verdict v)
{
	switch (v) {
	case HUB_SEQ_NEW: return "new";
	case HUB_SEQ_DUPLICATE: return "duplicate";
	case HUB_SEQ_REPLAY: return "replay";
	}
	return "?";
}
