/* hub_registry.h — the registered clusters (from config) and what the hub knows of each right now:
 * when its last frame arrived, the spoke stream and sequence number of its newest frame, its versions
 * and GPU node health, and which spoke streams sent this hub process a full frame since it started.
 * Thread-safe: the live state sits behind one mutex; names, labels and keys never change after
 * creation, so they may be read without locking. The database, not the registry, decides whether a
 * frame is new (hub_store_write_frame): with several hubs on one database this copy may lag. */
#ifndef HUB_REGISTRY_H
#define HUB_REGISTRY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fl_err.h"
#include "fl_proto.h"
#include "hub_config.h"

/* What the hub knows of one cluster at a moment (a copy; see hub_registry_get). */
typedef struct hub_cluster_state {
	int64_t last_frame_ms; /* hub's wall clock when the last accepted frame arrived; 0 = never */
	uint64_t last_seq;     /* seq, spoke_id and version_ms of the cluster's newest frame */
	char spoke_id[FL_CLUSTER_LEN];
	int64_t version_ms; /* the newest frame's row version time (hub_sequence.h) */
	char k8s_version[FL_VERSION_LEN];
	char spoke_version[FL_VERSION_LEN];
	bool has_overview;
	int64_t healthy_nodes; /* GPU nodes, from the last overview */
	int64_t faulty_nodes;
} hub_cluster_state;

typedef struct hub_registry hub_registry;
typedef struct hub_view hub_view;

/* Recent spoke streams per cluster remembered as having sent a full frame to this process. */
#define HUB_REGISTRY_FULL_STREAMS 4

/* Builds a registry of cfg's clusters (copied, keys included: cfg may be freed afterwards; the copies
 * are wiped by hub_registry_free), every one never seen.
 * FL_OK and *out (free with hub_registry_free), or FL_ENOMEM. */
int hub_registry_new(const hub_config *cfg, hub_registry **out);

/* Frees the registry. NULL is fine. */
void hub_registry_free(hub_registry *reg);

/* Number of registered clusters; indexes run 0..count-1 in config order. */
size_t hub_registry_count(const hub_registry *reg);

/* The i-th cluster's name and config (labels, key); valid for the registry's life. */
const char *hub_registry_name(const hub_registry *reg, size_t i);
const hub_cluster_conf *hub_registry_conf(const hub_registry *reg, size_t i);

/* Index of the cluster called name, or -1 if it is not registered. */
int hub_registry_find(const hub_registry *reg, const char *name);

/* Copies cluster i's live state into *out. */
void hub_registry_get(hub_registry *reg, size_t i, hub_cluster_state *out);

/* Replaces cluster i's live state (used when loading it from the database at start-up). */
void hub_registry_set(hub_registry *reg, size_t i, const hub_cluster_state *st);

/* True when this process recorded a full frame of cluster i from spoke_id (among the last
 * HUB_REGISTRY_FULL_STREAMS streams that sent one). False after a restart: the hub then asks the
 * spoke for a full snapshot. */
bool hub_registry_full_seen(hub_registry *reg, size_t i, const char *spoke_id);

/* Records a committed frame f of cluster i, received at recv_ms (hub wall clock), whose rows carry
 * version (version_ms, f->env.seq). last_frame_ms only moves forward; the newest-frame fields, versions
 * (facts) and GPU node health (overview) are replaced only when f's version is newer than the one held,
 * so workers recording out of commit order leave the newest frame's state. A full frame marks
 * (cluster, spoke_id) as full_seen.
 * Returns true if this is the first frame this registry has recorded for (cluster, spoke_id) — a new
 * spoke stream worth one INFO line. */
bool hub_registry_record(hub_registry *reg, size_t i, const fl_proto_frame *f, int64_t recv_ms, int64_t version_ms);

/* What another hub committed for cluster i, as read back from the database (hub_peers): f's envelope
 * is the cluster's newest frame, version_ms its row version (f's facts and overview as stored; f may
 * carry no rows). Updates the state as hub_registry_record does, without touching the full-frame
 * streams of this process. */
void hub_registry_observe(hub_registry *reg, size_t i, const fl_proto_frame *f, int64_t last_frame_ms,
                          int64_t version_ms);

/* Status by age (ARCHITECTURE "Cluster status"): last_frame_ms <= 0 → "never_seen"; otherwise with
 * age = now_ms - last_frame_ms: age < stale_after_ms → "online", age < offline_after_ms → "stale",
 * else "offline". A negative age (clock went back) counts as online. Returns a static string. */
const char *hub_status_of(int64_t last_frame_ms, int64_t now_ms, int64_t stale_after_ms, int64_t offline_after_ms);

/* hub_status_of for cluster i's current state. */
const char *hub_registry_status(hub_registry *reg, size_t i, int64_t now_ms, int64_t stale_after_ms,
                                int64_t offline_after_ms);

/* Attaches the API's view (borrowed; it must outlive the registry's use), so the ingest can hand it
 * each committed frame (hub_view_apply). */
void hub_registry_set_view(hub_registry *reg, hub_view *view);

/* The attached view, or NULL. */
hub_view *hub_registry_view(hub_registry *reg);

#endif
