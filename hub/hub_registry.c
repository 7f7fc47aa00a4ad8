/* hub_registry.c — registered clusters and their live state behind one mutex. */
#include "hub_registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A spoke stream this process recorded a frame from. */
typedef struct hub_stream {
	char spoke_id[FL_CLUSTER_LEN]; /* "" = free slot */
	bool full;                     /* it sent a full frame */
} hub_stream;

typedef struct hub_reg_entry {
	hub_cluster_conf conf;                         /* immutable after hub_registry_new */
	hub_cluster_state state;                       /* under reg->mu */
	hub_stream streams[HUB_REGISTRY_FULL_STREAMS]; /* under reg->mu: streams seen since start-up */
	unsigned next_stream;                          /* under reg->mu: slot to reuse next */
} hub_reg_entry;

struct hub_registry {
	hub_view *view; /* borrowed; set once at start-up, before ingest starts */
	pthread_mutex_t mu;
	hub_reg_entry *entries;
	size_t n;
};

int hub_registry_new(const hub_config *cfg, hub_registry **out)
{
	*out = NULL;
	hub_registry *reg = calloc(1, sizeof(*reg));
	if (reg == NULL)
		return FL_ENOMEM;
	if (cfg->n_clusters > 0) {
		reg->entries = calloc(cfg->n_clusters, sizeof(*reg->entries));
		if (reg->entries == NULL) {
			free(reg);
			return FL_ENOMEM;
		}
	}
	for (size_t i = 0; i < cfg->n_clusters; i++)
		reg->entries[i].conf = cfg->clusters[i];
	reg->n = cfg->n_clusters;
	pthread_mutex_init(&reg->mu, NULL);
	*out = reg;
	return FL_OK;
}

void hub_registry_free(hub_registry *reg)
{
	if (reg == NULL)
		return;
	pthread_mutex_destroy(&reg->mu);
	for (size_t i = 0; i < reg->n; i++) {
		fl_key_wipe(&reg->entries[i].conf.key);
		fl_key_wipe(&reg->entries[i].conf.node_key);
	}
	free(reg->entries);
	free(reg);
}

size_t hub_registry_count(const hub_registry *reg)
{
	return reg->n;
}

const char *hub_registry_name(const hub_registry *reg, size_t i)
{
	return reg->entries[i].conf.name;
}

const hub_cluster_conf *hub_registry_conf(const hub_registry *reg, size_t i)
{
	return &reg->entries[i].conf;
}

int hub_registry_find(const hub_registry *reg, const char *name)
{
	for (size_t i = 0; i < reg->n; i++)
		if (strcmp(reg->entries[i].conf.name, name) == 0)
			return (int)i;
	return -1;
}

void hub_registry_get(hub_registry *reg, size_t i, hub_cluster_state *out)
{
	pthread_mutex_lock(&reg->mu);
	*out = reg->entries[i].state;
	pthread_mutex_unlock(&reg->mu);
}

void hub_registry_set(hub_registry *reg, size_t i, const hub_cluster_state *st)
{
	pthread_mutex_lock(&reg->mu);
	reg->entries[i].state = *st;
	pthread_mutex_unlock(&reg->mu);
}

/* The slot of spoke_id among e's streams, or NULL. Under reg->mu. */
static hub_stream *find_stream(hub_reg_entry *e, const char *spoke_id)
{
	for (size_t k = 0; k < HUB_REGISTRY_FULL_STREAMS; k++)
		if (strcmp(e->streams[k].spoke_id, spoke_id) == 0)
			return &e->streams[k];
	return NULL;
}

bool hub_registry_full_seen(hub_registry *reg, size_t i, const char *spoke_id)
{
	pthread_mutex_lock(&reg->mu);
	hub_stream *st = find_stream(&reg->entries[i], spoke_id);
	bool full = st != NULL && st->full;
	pthread_mutex_unlock(&reg->mu);
	return full;
}

/* The state part of recording a frame; caller holds reg->mu. */
static void observe_locked(hub_cluster_state *s, const fl_proto_frame *f, int64_t recv_ms, int64_t version_ms)
{
	if (recv_ms > s->last_frame_ms)
		s->last_frame_ms = recv_ms;
	bool newer = version_ms > s->version_ms || (version_ms == s->version_ms && f->env.seq > s->last_seq);
	if (f->env.spoke_id[0] == '\0' || !newer)
		return;
	s->version_ms = version_ms;
	s->last_seq = f->env.seq;
	snprintf(s->spoke_id, sizeof(s->spoke_id), "%s", f->env.spoke_id);
	if (f->has_facts) {
		snprintf(s->k8s_version, sizeof(s->k8s_version), "%s", f->facts.k8s_version);
		snprintf(s->spoke_version, sizeof(s->spoke_version), "%s", f->facts.spoke_version);
	}
	if (f->has_overview) {
		s->has_overview = true;
		s->healthy_nodes = f->overview.healthy_nodes;
		s->faulty_nodes = f->overview.faulty_nodes;
	}
}

bool hub_registry_record(hub_registry *reg, size_t i, const fl_proto_frame *f, int64_t recv_ms, int64_t version_ms)
{
	pthread_mutex_lock(&reg->mu);
	hub_reg_entry *e = &reg->entries[i];
	hub_stream *st = find_stream(e, f->env.spoke_id);
	bool first = st == NULL;
	if (first) {
		st = &e->streams[e->next_stream];
		e->next_stream = (e->next_stream + 1) % HUB_REGISTRY_FULL_STREAMS;
		snprintf(st->spoke_id, sizeof(st->spoke_id), "%s", f->env.spoke_id);
		st->full = false;
	}
	if (f->env.kind == FL_FRAME_FULL)
		st->full = true;
	observe_locked(&e->state, f, recv_ms, version_ms);
	pthread_mutex_unlock(&reg->mu);
	return first;
}

void hub_registry_observe(hub_registry *reg, size_t i, const fl_proto_frame *f, int64_t last_frame_ms,
                          int64_t version_ms)
{
	pthread_mutex_lock(&reg->mu);
	observe_locked(&reg->entries[i].state, f, last_frame_ms, version_ms);
	pthread_mutex_unlock(&reg->mu);
}

const char *hub_status_of(int64_t last_frame_ms, int64_t now_ms, int64_t stale_after_ms, int64_t offline_after_ms)
{
	if (last_frame_ms <= 0)
		return "never_seen";
	int64_t age = now_ms - last_frame_ms;
	if (age < stale_after_ms)
		return "online";
	if (age < offline_after_ms)
		return "stale";
	return "offline";
}

const char *hub_registry_status(hub_registry *reg, size_t i, int64_t now_ms, int64_t stale_after_ms,
                                int64_t offline_after_ms)
{
	pthread_mutex_lock(&reg->mu);
	int64_t last = reg->entries[i].state.last_frame_ms;
	pthread_mutex_unlock(&reg->mu);
	return hub_status_of(last, now_ms, stale_after_ms, offline_after_ms);
}

void hub_registry_set_view(hub_registry *reg, hub_view *view)
{
	reg->view = view;
}

hub_view *hub_registry_view(hub_registry *reg)
{
	return reg->view;
}
