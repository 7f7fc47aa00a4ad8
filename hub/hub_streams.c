/* hub_streams.c — see hub_streams.h. */
#include "hub_streams.h"

#include <stdio.h>
#include <string.h>

void hub_streams_init(hub_streams *t, size_t cap)
{
	memset(t, 0, sizeof(*t));
	t->cap = cap < 1 ? 1 : cap > HUB_STREAMS_MAX ? HUB_STREAMS_MAX : cap;
}

hub_stream *hub_streams_find(hub_streams *t, const char *id)
{
	for (size_t k = 0; k < t->n; k++)
		if (strcmp(t->s[k].id, id) == 0)
			return &t->s[k];
	return NULL;
}

hub_stream *hub_streams_put(hub_streams *t, const char *id, int64_t heard_ms, bool *added)
{
	hub_stream *st = hub_streams_find(t, id);
	*added = st == NULL;
	if (st == NULL) {
		size_t k = t->n;
		if (t->n < t->cap) {
			t->n++;
		} else {
			k = 0;
			for (size_t j = 1; j < t->n; j++)
				if (t->s[j].heard_ms < t->s[k].heard_ms)
					k = j;
		}
		st = &t->s[k];
		memset(st, 0, sizeof(*st));
		snprintf(st->id, sizeof(st->id), "%s", id);
		st->heard_ms = heard_ms;
	} else if (heard_ms > st->heard_ms) {
		st->heard_ms = heard_ms;
	}
	return st;
}
