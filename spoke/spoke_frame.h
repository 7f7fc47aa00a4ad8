/* spoke_frame.h — turning a model and its overview into a full fl_proto_frame.
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h), err naming what failed. */
#ifndef SPOKE_FRAME_H
#define SPOKE_FRAME_H

#include <stdint.h>

#include "fl_err.h"
#include "fl_proto.h"
#include "spoke_model.h"
#include "spoke_overview.h"

/* Who sends the frame and when. Strings are borrowed for the call. */
typedef struct spoke_frame_meta {
	const char *cluster;  /* valid name (fl_proto_valid_name) */
	const char *spoke_id; /* valid name */
	uint64_t seq;         /* >= 1 */
	int64_t sent_at_ms;   /* wall clock */
	const char *source;   /* "sim", ... */
} spoke_frame_meta;

/* The node row's status for a Ready condition status: "True" → "Ready", "False" → "NotReady",
 * anything else → "Unknown". Static string. */
const char *spoke_frame_node_status(const char *ready);

/* Builds a FL_FRAME_FULL frame into *out: envelope from meta, facts {model's k8s version,
 * FL_VERSION, meta->source}, one row per model node (gpu_count = allocatable GPUs, gpu_allocation and
 * utilization and faulty from ov), the model's GPU rows, and ov's overview. ov must have been computed
 * from m. On FL_OK the caller owns *out and frees it with fl_proto_frame_free; on failure (FL_EINVAL
 * for bad meta or mismatched ov, FL_ENOMEM) *out is left zeroed and err says why. */
int spoke_frame_build(const spoke_model *m, const spoke_overview_result *ov, const spoke_frame_meta *meta,
                      fl_proto_frame *out, char err[FL_ERR_LEN]);

#endif
