/* hub_registry.h — the registered clusters (from config) and what the hub knows of each right now:
 * when its last frame arrived, the spoke stream and sequence number of its newest frame, its versions
 * and GPU node health, and which spoke streams sent this hub process a full frame since it started.
 * The database, not the registry, decides whether a frame is new (hub_store_write_frame): with several
 * hubs on one database this copy may lag.
 *
 * Slots and generations (reload without a restart). Every cluster the process has known holds a
 * slot: an index fixed for the process's life, the same in the registry, the view (hub_view.h), API scopes
 * (hub_auth.h) and the peers. Slots are never freed or moved: a reload appends a slot for each new name
 * (up to HUB_MAX_CLUSTERS over the process's life; beyond it the reload is refused and a restart needed), a
 * removed cluster's slot is disabled, and a name that comes back gets its old slot again. Slot arrays are
 * allocated at their full capacity at start, so readers never see a realloc, and a slot's name never
 * changes. The count of slots only grows.
 *
 * What may change — labels, keys, safe ids, which slots are active, tokens, scopes, CORS, the Lens default
 * cluster — lives in a generation (hub_clusters): an immutable, reference-counted object built whole from a
 * loaded config and published by one pointer swap. A reader (an ingest worker per frame, an API request for
 * its whole life, a SaFE cycle) takes a reference with hub_registry_clusters (a mutex held for a pointer load
 * and an increment), reads without locks and releases it; the last reference wipes the generation's keys and
 * frees it. A frame or request is thus judged by one configuration from start to end, whichever it took.
 *
 * Thread-safety: the live state sits behind one mutex; slot names are immutable once the slot count that
 * covers them is published. Reloads (hub_registry_reload) must be serialized by the caller.
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h) for what allocates or reloads; lookups (hub_registry_find,
 * hub_clusters_find) return a slot or -1, which is not an FL_E* code. */
#ifndef HUB_REGISTRY_H
#define HUB_REGISTRY_H

#include <pthread.h>
#include <stdatomic.h>
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

/* One generation of the cluster configuration (see the top of this file). Immutable once published. */
typedef struct hub_clusters {
	atomic_int refs;
	uint64_t gen;                                   /* 1 at start, one more per applied reload */
	hub_config cfg;                                 /* owned: the configuration this generation applies */
	struct hub_auth *auth;                          /* owned: tokens and scopes (by slot) of cfg */
	size_t n;                                       /* slots 0..n-1 exist */
	const hub_cluster_conf *conf[HUB_MAX_CLUSTERS]; /* slot → its entry of cfg.clusters; NULL: removed */
	const char *name[HUB_MAX_CLUSTERS];             /* slot → its name (the registry's; valid for its life) */
	size_t by_name[HUB_MAX_CLUSTERS];               /* the n slots ordered by name (strcmp) */
} hub_clusters;

/* The current generation with a reference taken (never NULL); release it with hub_clusters_release. */
hub_clusters *hub_registry_clusters(hub_registry *reg);

/* Drops a reference; the last one wipes the generation's keys and frees it. NULL is fine. */
void hub_clusters_release(hub_clusters *cs);

/* Slot i's config in cs, or NULL when i is removed in cs or not a slot of cs. */
const hub_cluster_conf *hub_clusters_conf(const hub_clusters *cs, size_t i);

/* The slot of the active cluster called name in cs, or -1. */
int hub_clusters_find(const hub_clusters *cs, const char *name);

/* What hub_registry_reload changed. */
typedef struct hub_reload_summary {
	size_t added, removed, changed;     /* clusters */
	size_t activated[HUB_MAX_CLUSTERS]; /* slots active now that were not before (added or re-added) */
	char text[1024];                    /* "added a, b; removed c; changed d" (cut when long); "" none */
} hub_reload_summary;

/* Makes cfg (copied; borrowed) the current generation: slots for new names appended (and in the attached
 * view, hub_view_add), removed clusters' slots disabled (their live state, full-frame streams and view
 * snapshot dropped), a re-added name back on its old slot. Frames and requests holding the previous
 * generation finish with it. Callers serialize reloads. FL_OK with *sum filled, FL_ELIMIT (more than
 * HUB_MAX_CLUSTERS names over the process's life; nothing changed) or FL_ENOMEM (nothing changed), err set. */
int hub_registry_reload(hub_registry *reg, const hub_config *cfg, hub_reload_summary *sum, char err[FL_ERR_LEN]);

/* Spoke streams per cluster whose frames this process remembers (whether each sent a full frame); beyond that,
 * the one heard from longest ago is forgotten (hub_streams.h). */
#define HUB_REGISTRY_FULL_STREAMS 4

/* Builds a registry of cfg's clusters (copied, keys included: cfg may be freed afterwards; the copies
 * are wiped when the generation goes), every one never seen, cluster k of cfg on slot k.
 * FL_OK and *out (free with hub_registry_free), or FL_ENOMEM. */
int hub_registry_new(const hub_config *cfg, hub_registry **out);

/* Frees the registry. NULL is fine. */
void hub_registry_free(hub_registry *reg);

/* Number of slots (removed clusters' included); slots run 0..count-1. Only grows. */
size_t hub_registry_count(const hub_registry *reg);

/* Slot i's cluster name; valid for the registry's life. */
const char *hub_registry_name(const hub_registry *reg, size_t i);

/* Slot of the cluster called name, active in the current generation, or -1. */
int hub_registry_find(hub_registry *reg, const char *name);

/* Copies cluster i's live state into *out. */
void hub_registry_get(hub_registry *reg, size_t i, hub_cluster_state *out);

/* Replaces cluster i's live state (used when loading it from the database at start-up). */
void hub_registry_set(hub_registry *reg, size_t i, const hub_cluster_state *st);

/* True when this process recorded a full frame of cluster i from spoke_id (among the
 * HUB_REGISTRY_FULL_STREAMS streams heard from most recently). False after a restart: the hub then asks the
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
