/* spoke_config.h — loading spoke.yaml (keys in spoke/README.md).
 *
 * Every error names FILE:LINE:COL and the key ("spoke.yaml:3:1: key 'intervall': unknown key");
 * unknown keys are errors, exactly one source must be configured. */
#ifndef SPOKE_CONFIG_H
#define SPOKE_CONFIG_H

#include <stdint.h>

#include "fl_err.h"
#include "fl_log.h"
#include "fl_proto.h"
#include "spoke_overview.h"
#include "spoke_sim.h"

#define SPOKE_URL_LEN 256

typedef enum spoke_source_kind {
	SPOKE_SOURCE_SIM = 1,
} spoke_source_kind;

typedef struct spoke_config {
	char cluster[FL_CLUSTER_LEN];
	char hub_url[SPOKE_URL_LEN];
	int64_t interval_ms;    /* default 30 s */
	int64_t ack_timeout_ms; /* default 10 s */
	enum fl_log_level log_level;
	spoke_overview_rules rules; /* gpu_resources and benign_taints */
	spoke_source_kind source;
	spoke_sim_config sim; /* when source == SPOKE_SOURCE_SIM */
} spoke_config;

/* The source's name as it appears in config and in frame facts ("sim"). */
const char *spoke_config_source_name(spoke_source_kind kind);

/* Reads path into *out (fully overwritten, defaults applied). FL_OK, or FL_ECONFIG / FL_EIO with err
 * "FILE:LINE:COL: key 'K': ..." (or "FILE: cannot open: ..."). Nothing to free. */
int spoke_config_load(const char *path, spoke_config *out, char err[FL_ERR_LEN]);

#endif
