/* hub_ingest.h — the nng rep0 socket spokes send frames to, and what the hub does with each frame:
 * decode (bounded), check the cluster is registered, drop repeats, write in one transaction, update
 * the registry after COMMIT, and answer with an ack. One worker thread; frames are handled in order. */
#ifndef HUB_INGEST_H
#define HUB_INGEST_H

#include <stdint.h>

#include "fl_err.h"
#include "fl_proto.h"
#include "hub_registry.h"
#include "hub_store.h"

typedef struct hub_ingest hub_ingest;

/* Creates an ingest handler over reg and store (both borrowed: they must outlive it; store is used
 * only by this ingest from now on). No socket yet. NULL if out of memory. */
hub_ingest *hub_ingest_new(hub_registry *reg, hub_store *store);

/* Handles one frame (buf, len borrowed) received at recv_ms and fills *ack. Counts it in the metrics
 * and logs rejections (rate-limited). Not thread-safe: one caller at a time (the worker). */
void hub_ingest_handle(hub_ingest *ing, const void *buf, size_t len, int64_t recv_ms, fl_proto_ack *ack);

/* Listens on url (an nng address such as tcp://0.0.0.0:7100) with NNG_OPT_RECVMAXSZ =
 * FL_PROTO_MAX_FRAME_BYTES and starts the worker thread. FL_OK, or FL_EIO with err naming the url. */
int hub_ingest_start(hub_ingest *ing, const char *url, char err[FL_ERR_LEN]);

/* Closes the socket, joins the worker (a frame in progress finishes first) and frees ing. NULL is fine. */
void hub_ingest_free(hub_ingest *ing);

#endif
