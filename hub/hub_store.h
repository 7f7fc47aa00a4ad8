/* hub_store.h — the hub's rows in PostgreSQL (libpq): cluster rows, writing a frame in one transaction, and the
 * reads that load and refresh the view (hub_store_load_view, hub_store_read_cluster). The schema itself is
 * hub_migrate's. Every statement that carries values is parameterized (PQexecParams).
 *
 * One hub_store is one connection and is NOT thread-safe: the ingest worker owns one, and each API
 * worker thread owns its own. A broken connection is re-established (PQreset) by the next call. Each
 * failed statement or connection attempt adds to fleetlens_hub_db_errors_total.
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h), err naming what failed (FL_EDB for the database). */
#ifndef HUB_STORE_H
#define HUB_STORE_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fl_err.h"
#include "fl_proto.h"
#include "hub_config.h"
#include "hub_registry.h"
#include "hub_sequence.h"
#include "hub_view.h"

typedef struct hub_store hub_store;

/* A new, unconnected store for conninfo (a libpq conninfo string or URI; copied). NULL if out of
 * memory or conninfo is longer than HUB_DBURL_LEN-1. Connects on first use. */
hub_store *hub_store_new(const char *conninfo);

/* The store's libpq connection, connected (hub_store_connect) — for modules with their own statements
 * (hub_history's read); still owned by s. NULL (err says why) when it cannot connect. */
PGconn *hub_store_pgconn(hub_store *s, char err[FL_ERR_LEN]);

/* Closes the connection and frees the store. NULL is fine. */
void hub_store_free(hub_store *s);

/* Makes sure the connection is up: connects if never connected, PQreset if it broke.
 * FL_OK, or FL_EDB with err naming libpq's reason. */
int hub_store_connect(hub_store *s, char err[FL_ERR_LEN]);

/* hub_store_connect, retried with backoff (0.5 s doubling to 5 s) for up to max_ms, logging each
 * failure as a warning. FL_OK or FL_EDB (err: the last failure). */
int hub_store_connect_retry(hub_store *s, int64_t max_ms, char err[FL_ERR_LEN]);

/* Runs one parameterized statement on the store's connection (connected: hub_store_connect first). On a
 * result other than want: FL_EDB, err worded by hub_sql_error ("what: primary (DETAIL: ...; HINT: ...)", one
 * line), fleetlens_hub_db_errors_total counted. On FL_OK *out (if non-NULL) holds the
 * result for the caller to PQclear; on failure *out is NULL. */
int hub_store_exec(hub_store *s, const char *what, const char *sql, int n, const char *const *vals, ExecStatusType want,
                   PGresult **out, char err[FL_ERR_LEN]);

/* hub_store_exec for trusted SQL text that may hold several statements (PQexec, no parameters), expecting
 * PGRES_COMMAND_OK: the migration files. Same errors and counting. */
int hub_store_exec_script(hub_store *s, const char *what, const char *sql, char err[FL_ERR_LEN]);

/* Ends the failed transaction on the store's connection, if one is open (the error is already in err). */
void hub_store_rollback(hub_store *s);

/* Readiness: the database answers and every version in versions (a JSON array, as
 * hub_migrate_apply returned) is in schema_migrations. FL_OK, or FL_EDB with err saying why. */
int hub_store_ready(hub_store *s, const json_t *versions, char err[FL_ERR_LEN]);

/* Inserts a cluster row for every configured cluster, or updates its labels. FL_OK or FL_EDB. */
int hub_store_register_clusters(hub_store *s, const hub_config *cfg, char err[FL_ERR_LEN]);

/* Loads each registered cluster's last frame time, newest frame (spoke_id, last_seq, version), versions
 * and GPU node health
 * from the database into reg (rows of unregistered clusters are ignored). FL_OK or FL_EDB. */
int hub_store_load_state(hub_store *s, hub_registry *reg, char err[FL_ERR_LEN]);

/* What hub_store_write_frame needs besides the frame. */
typedef struct hub_write_opts {
	int64_t replay_tolerance_ms; /* hub.replay_tolerance */
	bool full_seen;              /* this process committed a full frame from the frame's spoke_id */
	const char *instance;        /* this hub's instance id: the commit notifies the other hubs on
	                              * HUB_STORE_CHANNEL (hub_peers); NULL: no notification */
	const hub_view_snap *view;   /* the cluster's view snapshot (borrowed; the caller holds a reference), or
	                              * NULL: while its rows_gen equals the database's cluster.rows_gen under the
	                              * cluster lock, only the nodes and GPUs whose facts differ from it are sent */
} hub_write_opts;

/* The LISTEN/NOTIFY channel of committed frames. Payload: "CLUSTER\tINSTANCE\tKIND\tRECV_MS", KIND as
 * fl_proto_kind_name, RECV_MS the committing hub's receive time (ms since the epoch). */
#define HUB_STORE_CHANNEL "fleetlens_frames"

/* What hub_store_write_frame did (valid when it returns FL_OK). */
typedef struct hub_write_result {
	hub_seq_decision decision; /* NEW: committed; DUPLICATE or REPLAY: rolled back, nothing written */
	int64_t node_rows;         /* node rows inserted or updated (rows holding a newer version are left) */
	int64_t gpu_rows;          /* gpu_device rows inserted or updated */
	int64_t rows_deleted;      /* node, gpu_device and gpu_pod rows deleted (full frames, removed_*) */
	int64_t workload_rows;     /* gpu_workload + gpu_pod rows inserted or updated (hub_workload_write) */
	int64_t sample_rows;       /* node_utilization_history rows appended (one per node the frame carries) */
	int64_t nodes_sent;        /* node rows sent to the upsert: all, or those whose facts differ from the view */
	int64_t rows_gen;          /* cluster.rows_gen after the frame when the cluster's node and GPU rows are now
	                            * exactly the frame applied to the rows before (the frame is the cluster's
	                            * newest and wrote rows); else -1. For hub_view_apply. */
} hub_write_result;

/* Writes frame f of a registered cluster (f borrowed; its signature already verified) in ONE transaction:
 *  1. pg_advisory_xact_lock on the cluster name: every writer of one cluster, in any hub, in turn;
 *  2. reads the cluster's newest frame and the highest committed seq of f's spoke stream (ingest_log)
 *     and lets hub_sequence_decide rule; DUPLICATE or REPLAY → ROLLBACK, FL_OK, nothing written;
 *  3. full and delta: upserts nodes and GPUs (one statement each, sorted by key) and the overview, each
 *     row only where its stored version (src_sent_ms, src_seq) is older than the frame's AND one of its
 *     facts differs (samples are not facts: a row whose facts hold is not written, and keeps its version);
 *     with opts->view at the database's rows_gen only the nodes and GPUs whose facts differ from the view
 *     are sent at all. A full frame then deletes the cluster's nodes and GPUs it does not list and that
 *     are older than itself, a delta the nodes it removes (and their GPUs) where older; each node the
 *     frame carries appends one sample row (hub_history_append, one COPY); a heartbeat writes no rows, and
 *     neither does a frame older than the cluster's newest full frame (decision.superseded); pods and
 *     workloads likewise (hub_workload_write), then the workload and cluster samples; cluster.rows_gen
 *     counts the frames that wrote rows;
 *  4. the cluster row: last_frame_at = max(last_frame_at, recv_ms); stream, version and facts when f is
 *     the cluster's newest frame;
 *  5. an ingest_log row (cluster, spoke_id, seq): a key conflict means a repeat → ROLLBACK, DUPLICATE;
 *  6. with opts->instance, pg_notify(HUB_STORE_CHANNEL, ...), delivered to listeners at COMMIT only;
 *  7. COMMIT.
 * FL_OK (see res->decision), FL_EINVAL when f cannot be stored as sent (duplicate node names, GPU keys or
 * pod/workload uids, a node or pod both sent and removed, a pod or workload time out of range, a count beyond int, a
 * non-finite number, seq or sent_at out of range: the frame is malformed), or FL_EDB (rolled back; the caller asks the
 * spoke to retry). err says what. */
int hub_store_write_frame(hub_store *s, const fl_proto_frame *f, int64_t recv_ms, const hub_write_opts *opts,
                          hub_write_result *res, char err[FL_ERR_LEN]);

/* Deletes at most limit ingest_log rows received before before_ms (hub clock, ms), oldest first, in
 * its own statement (outside any frame's transaction). *deleted: how many. FL_OK or FL_EDB. */
int hub_store_prune_ingest_log(hub_store *s, int64_t before_ms, int limit, int64_t *deleted, char err[FL_ERR_LEN]);

/* Reads cluster's overview row into *out and its updated_at into *updated_ms (part of hub_store_read_cluster;
 * the round-trip benchmark calls it alone). *found is false (and FL_OK returned) when the cluster has no
 * overview row yet. FL_OK or FL_EDB. */
int hub_store_read_overview(hub_store *s, const char *cluster, fl_proto_overview *out, int64_t *updated_ms, bool *found,
                            char err[FL_ERR_LEN]);

/* What hub_store_read_cluster read besides the rows. */
typedef struct hub_cluster_read {
	int64_t last_frame_ms; /* cluster.last_frame_at (hub clock), 0 never */
	int64_t overview_ms;   /* the overview row's updated_at, 0 without one */
	int64_t version_ms;    /* the newest committed frame's row version (src_sent_ms), 0 none */
	int64_t rows_gen;      /* cluster.rows_gen: the rows generation the rows read are */
} hub_cluster_read;

/* Reads one registered cluster as stored, in one REPEATABLE READ snapshot: *f (zeroed first; the caller
 * frees it with fl_proto_frame_free) gets its nodes and GPUs (facts from their rows, figures from each
 * node's newest node_utilization_history sample; none without one), overview and facts, and as envelope the
 * cluster's newest committed frame (spoke_id, seq, sent_at; kind FULL); *out the times. FL_OK or FL_EDB
 * (f holds nothing). */
int hub_store_read_cluster(hub_store *s, const char *cluster, fl_proto_frame *f, hub_cluster_read *out,
                           char err[FL_ERR_LEN]);

/* Loads every registered cluster's stored rows into view (hub_view_load): nodes, GPUs, overview (with
 * its updated_at), facts, last frame time and the last stored (spoke_id, seq, sent_at). Rows of
 * unregistered clusters are ignored. Run at start-up, before ingest starts. FL_OK, FL_EDB or FL_ENOMEM. */
int hub_store_load_view(hub_store *s, hub_view *view, char err[FL_ERR_LEN]);

#endif
