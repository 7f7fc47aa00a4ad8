/* hub_ingest.h — the nng rep0 socket spokes send frames to, and what the hub does with each frame:
 * the envelope only (fl_proto_decode_head: bounded, allocates nothing) → cluster registered? → signature
 * under that cluster's key, or its node key for a node frame when it has one (the key's role) → only then
 * the whole frame (fl_proto_decode) → repeat/replay/gap rules and the write, in one transaction
 * (hub_store_write_frame) → registry update after COMMIT → ack.
 * hub.ingest_workers threads each own an nng context and a hub_store connection, so several frames
 * are in flight and one slow cluster's transaction does not hold up the others.
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h), err naming what failed; hub_ingest_port returns the port or
 * -1; hub_ingest_handle answers the frame (its ack) and returns nothing. */
#ifndef HUB_INGEST_H
#define HUB_INGEST_H

#include <stdbool.h>
#include <stdint.h>

#include "fl_err.h"
#include "fl_proto.h"
#include "hub_config.h"
#include "hub_registry.h"
#include "hub_store.h"

#define HUB_INGEST_PRUNE_EVERY_MS (10 * 60 * 1000) /* how often ingest_log is pruned */
#define HUB_INGEST_TRIM_BYTES     (1u << 20)       /* after a frame this large, free memory goes back to the OS */
#define HUB_INGEST_PRUNE_BATCH    10000            /* rows per prune; a full batch prunes again 1 s later */
#define HUB_INGEST_MAX_PEM_BYTES  (64 * 1024)      /* tls cert_file and key_file */

typedef struct hub_ingest hub_ingest;

/* Creates an ingest over reg and cfg (both borrowed: they must outlive it). No socket, thread or
 * database connection yet. NULL if out of memory. */
hub_ingest *hub_ingest_new(hub_registry *reg, const hub_config *cfg);

/* Makes every commit notify the other hubs on the database (hub_store.h HUB_STORE_CHANNEL) under this
 * hub's instance id (copied, up to 63 bytes; NULL or "" turns it off). Call before hub_ingest_start. */
void hub_ingest_set_instance(hub_ingest *ing, const char *instance);

/* Handles one frame (buf, len borrowed) received at recv_ms and fills *ack, writing through store (the
 * caller's own connection, borrowed; only frames that name a registered cluster, carry a valid signature
 * under the key of their role and then decode reach it). Rejections in the order checked: malformed or
 * oversized (the envelope, before anything is allocated), unknown_cluster, bad_signature, wrong_key_role,
 * then malformed or oversized again (the payload), replay. Counts the frame in the metrics and logs rejections
 * (rate-limited). Thread-safe as long as concurrent callers pass different stores. */
void hub_ingest_handle(hub_ingest *ing, hub_store *store, const void *buf, size_t len, int64_t recv_ms,
                       fl_proto_ack *ack);

/* Listens on cfg->ingest_url with NNG_OPT_RECVMAXSZ = FL_PROTO_MAX_FRAME_BYTES — with cfg's certificate
 * and key when it is tls+tcp:// (and client certificates required when tls.ca_file is set); a plain
 * tcp:// address that others can reach gets a warning — then starts cfg->ingest_workers workers.
 * FL_OK, or FL_EIO with err naming the url and the reason (hub_ingest_free still cleans up). */
int hub_ingest_start(hub_ingest *ing, char err[FL_ERR_LEN]);

/* The TCP port the listener is bound to (the real one when the url asked for port 0), or -1. */
int hub_ingest_port(const hub_ingest *ing);

/* False for a tcp:// url whose host others may reach: anything but localhost, 127.0.0.0/8 and ::1
 * ("tcp://0.0.0.0:7100", "tcp://:7100", "tcp://hub.example:7100"). True for those loopback hosts and
 * for urls that are not plain TCP (ipc://, inproc://, tls+tcp://). */
bool hub_ingest_url_is_private(const char *url);

/* Closes the socket, joins the workers (frames in progress finish first), closes their database
 * connections and frees ing. NULL is fine. */
void hub_ingest_free(hub_ingest *ing);

#endif
