/* hub_view.h — the hub's in-memory view of every registered cluster: its overview, facts, last frame
 * time, nodes and GPUs. The cluster, overview and node-list routes read only this, so they never touch
 * the database (a node's own answer adds its node agent's rows, read from PostgreSQL). Loaded from
 * PostgreSQL at start (hub_store_load_view), then kept in step by one call the ingest makes after each
 * committed frame (hub_view_apply).
 *
 * Concurrency: each cluster's data is an immutable, reference-counted snapshot (hub_view_snap). A
 * reader takes a reference under the cluster's mutex (held for a pointer load and an increment), reads
 * without any lock, and releases it. A writer builds the next snapshot outside that mutex (serialized
 * per cluster by a second, writer-only mutex), swaps the pointer under the short mutex and drops the old
 * snapshot's reference; the last reader to release it frees it. Node records are immutable too and
 * shared between consecutive snapshots, so a delta copies pointers, not nodes. Readers never wait for a
 * snapshot to be built; writers never wait for readers to finish.
 *
 * Memory: a node and its GPUs are one block with their strings packed behind them (a GPU's model shares
 * the node's gpu_name text when equal) and the node's /v1/nodes row already written as JSON; about
 * 1 KiB for a node with 8 GPUs. Each snapshot's node indexes (hub_view_index.h) add about 20 bytes a node
 * plus the packed names and their trigram lists (shared between snapshots while the names stay), some
 * 60-120 bytes a node; test_hub_view measures both.
 *
 * Clusters are slots (hub_registry.h): an index and a name fixed for the process's life, the same as the
 * registry's. The slot array is allocated at its full capacity (HUB_MAX_CLUSTERS) at start; a reload appends
 * slots (hub_view_add) and empties a removed cluster's slot (hub_view_clear). The set of slots and their
 * name order is one immutable object swapped when a slot is added: hub_view_order returns a count and an
 * order that agree; hub_view_count and hub_view_by_name read it separately and agree only while no slot is
 * being added (start-up, tests). Which clusters a reader may show is the caller's (hub_auth scopes).
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h), with one exception: hub_view_apply and
 * hub_view_refresh may also return HUB_VIEW_OLDER (1, positive: a success that applied the time only, not an
 * error; test rv < 0 for a failure). hub_view_find returns a slot (an index, not a code) or -1. */
#ifndef HUB_VIEW_H
#define HUB_VIEW_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fl_err.h"
#include "fl_proto.h"
#include "hub_config.h"

#define HUB_VIEW_MAX_SPOKES 8           /* spoke streams whose last (sent_at, seq) is kept per cluster */
#define HUB_VIEW_OLDER      1           /* hub_view_apply/refresh: the frame is older than what was applied */
#define HUB_VIEW_MAX_ROW    (64u << 10) /* the most bytes a node's pre-written /v1/nodes row may take */

/* One GPU of a node. Strings are offsets into the node's text (hub_view_str). */
typedef struct hub_view_gpu {
	int32_t gpu_id;
	int32_t numa; /* -1 unknown */
	int64_t memory_mib;
	double utilization; /* 0..100; NaN when the GPU reports none */
	double temperature; /* Celsius */
	double power;       /* Watts */
	uint32_t model, serial;
} hub_view_gpu;

typedef struct hub_view_taint {
	uint32_t key, value, effect; /* offsets into the node's text */
} hub_view_taint;

/* One node: immutable once built, shared by the snapshots that list it. Strings are offsets into text. */
typedef struct hub_view_node {
	atomic_uint refs; /* snapshots holding this node */
	uint32_t bytes;   /* size of the block (this record, its GPUs, taints and text) */
	uint32_t n_gpus, n_taints;
	uint32_t name, ip, gpu_name, status, kubelet_version, os_image, kernel_version, container_runtime;
	uint32_t row, row_len;  /* this node's /v1/nodes row as JSON text, up to the cluster name's value:
	                         * {"name":…,"ip":…,…,"status":…,"cluster_name":  (row_len bytes) */
	int64_t gpu_count;      /* allocatable GPUs */
	int64_t gpu_allocation; /* GPUs held by pods */
	int64_t cpu_millis, memory_bytes;
	double gpu_utilization; /* 0..100; NaN when none */
	bool unschedulable, faulty;
	const hub_view_gpu *gpus; /* n_gpus, ordered by gpu_id */
	const hub_view_taint *taints;
	const char *text;
} hub_view_node;

/* The string at offset off of node n's text. */
static inline const char *hub_view_str(const hub_view_node *n, uint32_t off)
{
	return n->text + off;
}

/* A snapshot's node indexes (hub_view_index.h): built with the snapshot, read by node queries. */
typedef struct hub_view_index hub_view_index;

/* One cluster's data at one moment. Immutable; hold a reference (hub_view_get) while reading it. */
typedef struct hub_view_snap {
	atomic_int refs;
	struct hub_view *view; /* the view it belongs to */
	size_t cluster;        /* index, as in the config and the registry */
	const char *name;      /* the cluster's name (owned by the view) */
	bool has_overview;
	fl_proto_overview overview;
	int64_t overview_ms; /* hub time the overview arrived (or was stored); 0 = none */
	/* The overview as /v1/clusters/overview answers it, written once per snapshot: JSON text of the
	 * Lens fields, updatedAt and cluster, without the closing brace (the route adds status and age).
	 * NULL when !has_overview. */
	char *overview_text;
	size_t overview_len;
	bool has_facts;
	fl_proto_facts facts;
	hub_view_node **nodes; /* n_nodes, ordered by name (strcmp) */
	uint32_t n_nodes;
	hub_view_index *ix; /* the nodes' indexes; NULL when n_nodes is 0 */
	/* The cluster's rows generation (cluster.rows_gen, 009_samples.sql) whose node and GPU facts these rows
	 * are, exactly: hub_store_write_frame diffs a frame against this snapshot only while the database's
	 * generation is still this one. -1: unknown (never loaded, or a frame applied that the database may
	 * have stored otherwise). */
	int64_t rows_gen;
	int64_t n_gpus;      /* GPU devices over all nodes */
	int64_t n_gpus_util; /* ... of which report a utilization */
} hub_view_snap;

typedef struct hub_view hub_view;

/* A view of cfg's clusters (names copied; cluster k on slot k), each empty and never seen.
 * FL_OK and *out (free with hub_view_free), or FL_ENOMEM. */
int hub_view_new(const hub_config *cfg, hub_view **out);

/* Adds slot i called name (copied), empty and never seen: i must be hub_view_count (FL_OK and nothing done
 * when slot i exists already with that name; FL_EINVAL with another). Adders are serialized by the caller;
 * readers may run. FL_OK, FL_EINVAL or FL_ENOMEM. */
int hub_view_add(hub_view *v, size_t i, const char *name);

/* Empties slot i (a cluster removed by a reload): no nodes, no overview, never seen, no applied versions.
 * Readers holding the old snapshot keep it until they release it. Thread-safe. */
void hub_view_clear(hub_view *v, size_t i);

/* The slots ordered by name and their count (*n), read together (one immutable order). */
const size_t *hub_view_order(const hub_view *v, size_t *n);

/* Slot i's cluster name; valid for the view's life. */
const char *hub_view_name(const hub_view *v, size_t i);

/* Frees the view and every snapshot. No reader may hold a snapshot any more. NULL is fine. */
void hub_view_free(hub_view *v);

/* Number of slots (removed clusters' included); indexes 0..count-1. Only grows. */
size_t hub_view_count(const hub_view *v);

/* Slot of the cluster called name (removed or not), or -1. */
int hub_view_find(const hub_view *v, const char *name);

/* The slots ordered by name (strcmp): hub_view_count items, owned by the view (see hub_view_order). */
const size_t *hub_view_by_name(const hub_view *v);

/* The node count of cluster i's current snapshot, read without taking it (it may change at once). */
uint32_t hub_view_node_count(const hub_view *v, size_t i);

/* Cluster i's current snapshot with a reference taken (never NULL); release it with hub_view_release.
 * Never blocks on a writer building the next snapshot. */
hub_view_snap *hub_view_get(hub_view *v, size_t i);

/* The node called name in snapshot s (its nodes are ordered by name: a binary search), or NULL. The node
 * lives as long as the caller's reference on s. */
hub_view_node *hub_view_snap_find(const hub_view_snap *s, const char *name);

/* True when node record n holds exactly the facts of frame node f (everything but its samples: address,
 * GPU model, count and allocation, status, unschedulable, faulty, taints in order, CPU, memory, versions);
 * the name is the caller's match. */
bool hub_view_node_facts_equal(const hub_view_node *n, const fl_proto_node *f);

/* True when node record n has a GPU with g's gpu_id holding exactly g's facts (model, memory, serial,
 * NUMA node; not its samples). */
bool hub_view_gpu_facts_equal(const hub_view_node *n, const fl_proto_gpu *g);

/* Drops a reference from hub_view_get; frees the snapshot when it was the last. NULL is fine. */
void hub_view_release(hub_view_snap *s);

/* Hub wall-clock time of cluster i's last committed frame (any kind), 0 when never seen. */
int64_t hub_view_last_frame_ms(const hub_view *v, size_t i);

/* Applies committed frame f (borrowed) received at recv_ms. The last frame time becomes the later of
 * the current one and recv_ms, whatever the frame. Rows: a full frame replaces the cluster's nodes and
 * GPUs; a delta upserts its nodes (keeping a node's GPUs unless the frame lists them) and GPUs, and
 * removes removed_nodes with their GPUs; overview and facts are replaced when the frame carries them; a
 * heartbeat changes no rows. GPUs of a node the cluster does not have are dropped.
 * rows_gen: the cluster's rows generation the frame's commit left (hub_write_result.rows_gen; -1 when the
 * database's rows are not exactly the frame applied to the rows before). The new snapshot's rows_gen is
 * rows_gen when f is a full frame (its rows are the cluster's whole set) or the snapshot it replaces had
 * rows_gen - 1, else -1; a heartbeat or an older frame keeps the snapshot.
 * Ordering: a frame whose spoke_id was applied before with seq >= f's, or from another spoke with a
 * sent_at_ms before the newest applied frame's, is older: its rows are not applied.
 * FL_OK (applied), HUB_VIEW_OLDER (time only), FL_ENOTFOUND (cluster not registered), or FL_ENOMEM (rows
 * not applied; logged). Thread-safe; frames of one cluster are applied one at a time. */
int hub_view_apply(hub_view *v, const fl_proto_frame *f, int64_t recv_ms, int64_t rows_gen);

/* Replaces cluster i's rows with f's nodes, GPUs, facts and overview (as stored; f->env.kind is
 * ignored), sets its last frame time to last_frame_ms, its overview time to overview_ms and its rows
 * generation to rows_gen (read in the same snapshot as the rows), and records (f->env.spoke_id, seq,
 * sent_at_ms) as the newest applied version when spoke_id is not empty. Used at start-up, before frames
 * arrive. FL_OK or FL_ENOMEM. */
int hub_view_load(hub_view *v, size_t i, const fl_proto_frame *f, int64_t last_frame_ms, int64_t overview_ms,
                  int64_t rows_gen);

/* Brings cluster i up to f, its rows as stored by any hub (hub_store_read_cluster: f's envelope is the
 * cluster's newest committed frame, rows_gen the rows generation read with them): unless the view already
 * applied that frame or a newer one (the hub_view_apply ordering), its rows, overview (overview_ms), facts
 * and rows_gen replace the cluster's and f's version is recorded. The last frame time becomes the later of
 * the current one and last_frame_ms either way. FL_OK (replaced), HUB_VIEW_OLDER (time only) or
 * FL_ENOMEM. Thread-safe. */
int hub_view_refresh(hub_view *v, size_t i, const fl_proto_frame *f, int64_t last_frame_ms, int64_t overview_ms,
                     int64_t rows_gen);

/* Raises cluster i's last frame time to last_frame_ms (a frame another hub committed). Thread-safe. */
void hub_view_touch(hub_view *v, size_t i, int64_t last_frame_ms);

/* Bytes held by node records, snapshot arrays and the snapshots' indexes right now. */
size_t hub_view_bytes(const hub_view *v);

/* --- node queries (GET /v1/nodes) ---------------------------------------------------------------- */

typedef enum hub_node_order {
	HUB_ORDER_CLUSTER_NAME = 0, /* cluster name, then node name (the default) */
	HUB_ORDER_NAME,
	HUB_ORDER_GPU_COUNT,
	HUB_ORDER_GPU_ALLOCATION,
	HUB_ORDER_GPU_UTILIZATION, /* nodes without a figure sort as the lowest */
	HUB_ORDER_STATUS
} hub_node_order;

/* The order a word names: "cluster_name", "name", "gpu_count", "gpu_allocation", "gpu_utilization" or
 * "status" (the words of /v1/nodes?order_by=). FL_OK, or FL_EINVAL for any other word (*out untouched). */
int hub_node_order_parse(const char *word, hub_node_order *out);

#define HUB_QUERY_MAX_STATUSES 8

typedef struct hub_node_query {
	const bool *clusters;                         /* by slot, HUB_MAX_CLUSTERS items: which clusters to include */
	const char *name;                             /* substring of the node name; NULL or "" = any */
	const char *gpu_name;                         /* exact GPU product; NULL or "" = any */
	bool gpu_name_substring;                      /* gpu_name matches a substring instead (the Lens face) */
	bool gpu_only;                                /* only nodes with allocatable GPUs (the Lens face) */
	const char *statuses[HUB_QUERY_MAX_STATUSES]; /* exact Ready condition values; n_statuses 0 = any */
	size_t n_statuses;
	hub_node_order order;
	bool desc;
	int64_t page_num;  /* 1-based */
	int64_t page_size; /* >= 1 */
} hub_node_query;

typedef struct hub_node_row {
	const hub_view_snap *snap; /* cluster (name: snap->name) */
	const hub_view_node *node;
	uint64_t pos;     /* position in (cluster name, node name) order: cluster rank << 32 | node index */
	double key;       /* sort key of numeric orders (internal) */
	const char *skey; /* sort key of text orders (internal) */
} hub_node_row;

/* A page of matching nodes. Holds a reference on each snapshot its rows point into. */
typedef struct hub_node_page {
	hub_node_row *rows; /* n_rows items: the requested page, in order */
	size_t n_rows;
	size_t total; /* rows matching over all pages */
	hub_view_snap **snaps;
	size_t n_snaps;
} hub_node_page;

/* Finds the nodes matching q, orders them by q->order (ties: cluster name, then node name; desc
 * reverses the whole order) and cuts page q->page_num of q->page_size rows (empty past the end).
 * FL_OK and *out (release with hub_node_page_free), or FL_ENOMEM. */
int hub_view_query_nodes(hub_view *v, const hub_node_query *q, hub_node_page *out);

/* Releases the page's snapshots and arrays; safe on a zeroed page. */
void hub_node_page_free(hub_node_page *p);

#endif
