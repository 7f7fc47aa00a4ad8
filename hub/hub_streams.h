/* hub_streams.h — the spoke streams (spoke ids) a cluster was recently heard from, a few at most, with what
 * each sent last: the view keeps the newest applied (seq, sent) per stream to refuse an older frame
 * (hub_view.c), the registry whether a stream sent this process a full frame (hub_registry.c). One table,
 * one rule for forgetting: when it is full, the stream heard from longest ago makes room.
 *
 * Not thread-safe: the owner's lock guards a table. No allocation; a table is a plain value (zero it, then
 * hub_streams_init).
 *
 * Return convention: pointers into the table (NULL: not there); no error codes. */
#ifndef HUB_STREAMS_H
#define HUB_STREAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fl_proto.h"

#define HUB_STREAMS_MAX 8 /* the largest table any owner keeps */

/* One stream. The owner reads and writes seq, sent_ms and full; heard_ms is the table's. */
typedef struct hub_stream {
	char id[FL_CLUSTER_LEN];
	int64_t heard_ms; /* when it was last heard from, on the owner's clock: what forgetting goes by */
	uint64_t seq;     /* the owner's: the view's last applied seq */
	int64_t sent_ms;  /* the owner's: the view's last applied sent */
	bool full;        /* the owner's: the registry's "sent a full frame" */
} hub_stream;

typedef struct hub_streams {
	hub_stream s[HUB_STREAMS_MAX];
	size_t n;   /* streams held */
	size_t cap; /* at most this many (1..HUB_STREAMS_MAX) */
} hub_streams;

/* Empties t and sets how many streams it holds at most (cap, clamped to 1..HUB_STREAMS_MAX). */
void hub_streams_init(hub_streams *t, size_t cap);

/* The stream id in t, or NULL. */
hub_stream *hub_streams_find(hub_streams *t, const char *id);

/* The stream id, added when it is not there (then zeroed but for id; *added true), making room by forgetting
 * the stream with the smallest heard_ms (the first of equals) when t is full; its heard_ms becomes heard_ms
 * when that is later (or it was just added). Never NULL. */
hub_stream *hub_streams_put(hub_streams *t, const char *id, int64_t heard_ms, bool *added);

#endif
