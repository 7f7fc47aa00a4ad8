/* hub_registry.c — registered clusters and their live state behind one mutex. */
#include "hub_registry.h"

#include <stdio.h>
#include "hub_auth.h"
#include "hub_streams.h"
#include "hub_view.h"
#include <stdlib.h>
#include <string.h>

typedef struct hub_reg_entry {
	char name[FL_CLUSTER_LEN]; /* immutable once the slot is published */
	hub_cluster_state state;   /* under reg->mu */
	hub_streams streams;       /* under reg->mu: streams recorded since start-up (full: sent a full frame) */
} hub_reg_entry;

struct hub_registry {
	hub_view *view; /* borrowed; set once at start-up, before ingest starts */
	pthread_mutex_t mu;
	hub_reg_entry *entries; /* HUB_MAX_CLUSTERS */
	atomic_size_t n;        /* slots published */
	pthread_mutex_t gen_mu; /* held to load cur and take a reference, or to swap it */
	hub_clusters *cur;
};

void hub_clusters_release(hub_clusters *cs)
{
	if (cs == NULL || atomic_fetch_sub(&cs->refs, 1) != 1)
		return;
	hub_auth_free(cs->auth);
	hub_config_free(&cs->cfg); /* wipes the keys */
	free(cs);
}

static const char *slot_name_of(const hub_clusters *cs, size_t i)
{
	return cs->name[i];
}

/* A generation of cfg (copied) on slots slot_of (cfg->n_clusters items), with n slots named names. */
static hub_clusters *gen_new(const hub_config *cfg, const size_t *slot_of, size_t n, const hub_reg_entry *entries,
                             uint64_t gen)
{
	hub_clusters *cs = calloc(1, sizeof(*cs));
	if (cs == NULL || hub_config_dup(&cs->cfg, cfg) != FL_OK) {
		free(cs);
		return NULL;
	}
	atomic_init(&cs->refs, 1);
	cs->gen = gen;
	cs->n = n;
	if (hub_auth_new_slots(&cs->cfg, slot_of, &cs->auth) != FL_OK) {
		hub_clusters_release(cs);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		cs->name[i] = entries[i].name;
	for (size_t k = 0; k < cfg->n_clusters; k++)
		cs->conf[slot_of[k]] = &cs->cfg.clusters[k];
	/* Insertion sort by name: n is at most HUB_MAX_CLUSTERS and this runs once per reload. */
	for (size_t i = 0; i < n; i++) {
		size_t j = i;
		while (j > 0 && strcmp(slot_name_of(cs, cs->by_name[j - 1]), cs->name[i]) > 0) {
			cs->by_name[j] = cs->by_name[j - 1];
			j--;
		}
		cs->by_name[j] = i;
	}
	return cs;
}

int hub_registry_new(const hub_config *cfg, hub_registry **out)
{
	*out = NULL;
	hub_registry *reg = calloc(1, sizeof(*reg));
	size_t *slot_of = calloc(cfg->n_clusters + 1, sizeof(*slot_of));
	if (reg == NULL || slot_of == NULL || (reg->entries = calloc(HUB_MAX_CLUSTERS, sizeof(*reg->entries))) == NULL)
		goto nomem;
	for (size_t i = 0; i < cfg->n_clusters; i++) {
		snprintf(reg->entries[i].name, sizeof(reg->entries[i].name), "%s", cfg->clusters[i].name);
		hub_streams_init(&reg->entries[i].streams, HUB_REGISTRY_FULL_STREAMS);
		slot_of[i] = i;
	}
	if ((reg->cur = gen_new(cfg, slot_of, cfg->n_clusters, reg->entries, 1)) == NULL)
		goto nomem;
	atomic_init(&reg->n, cfg->n_clusters);
	pthread_mutex_init(&reg->mu, NULL);
	pthread_mutex_init(&reg->gen_mu, NULL);
	free(slot_of);
	*out = reg;
	return FL_OK;
nomem:
	free(slot_of);
	if (reg != NULL)
		free(reg->entries);
	free(reg);
	return FL_ENOMEM;
}

void hub_registry_free(hub_registry *reg)
{
	if (reg == NULL)
		return;
	pthread_mutex_destroy(&reg->mu);
	pthread_mutex_destroy(&reg->gen_mu);
	hub_clusters_release(reg->cur);
	free(reg->entries);
	free(reg);
}

size_t hub_registry_count(const hub_registry *reg)
{
	return atomic_load(&reg->n);
}

const char *hub_registry_name(const hub_registry *reg, size_t i)
{
	return reg->entries[i].name;
}

hub_clusters *hub_registry_clusters(hub_registry *reg)
{
	pthread_mutex_lock(&reg->gen_mu);
	hub_clusters *cs = reg->cur;
	atomic_fetch_add(&cs->refs, 1);
	pthread_mutex_unlock(&reg->gen_mu);
	return cs;
}

const hub_cluster_conf *hub_clusters_conf(const hub_clusters *cs, size_t i)
{
	return i < cs->n ? cs->conf[i] : NULL;
}

/* The slot called name among cs's n slots (removed included), or -1. */
static int find_slot(const hub_clusters *cs, const char *name)
{
	size_t lo = 0, hi = cs->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(cs->name[cs->by_name[mid]], name);
		if (c == 0)
			return (int)cs->by_name[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

int hub_clusters_find(const hub_clusters *cs, const char *name)
{
	int i = find_slot(cs, name);
	return i >= 0 && cs->conf[i] != NULL ? i : -1;
}

int hub_registry_find(hub_registry *reg, const char *name)
{
	hub_clusters *cs = hub_registry_clusters(reg);
	int i = hub_clusters_find(cs, name);
	hub_clusters_release(cs);
	return i;
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

bool hub_registry_full_seen(hub_registry *reg, size_t i, const char *spoke_id)
{
	pthread_mutex_lock(&reg->mu);
	const hub_stream *st = hub_streams_find(&reg->entries[i].streams, spoke_id);
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
	bool first;
	hub_stream *st = hub_streams_put(&e->streams, f->env.spoke_id, recv_ms, &first);
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

/* Appends "what name" to sum->text, starting a new "what" group when it changes. */
static void note(hub_reload_summary *sum, const char **last, const char *what, const char *name)
{
	size_t used = strlen(sum->text);
	if (used + 1 >= sizeof(sum->text))
		return;
	bool same = *last == what;
	snprintf(sum->text + used, sizeof(sum->text) - used, "%s%s%s",
	         same       ? ", "
	         : used > 0 ? "; "
	                    : "",
	         same ? "" : what, name);
	*last = what;
}

/* Slots for cfg's clusters into slot_of: a known name keeps its slot, a new one appends. *n becomes the new
 * slot count. FL_OK or FL_ELIMIT. */
static int map_slots(const hub_clusters *old, const hub_config *cfg, size_t *slot_of, size_t *n,
                     char names[][FL_CLUSTER_LEN], char err[FL_ERR_LEN])
{
	*n = old->n;
	for (size_t k = 0; k < cfg->n_clusters; k++) {
		int i = find_slot(old, cfg->clusters[k].name);
		if (i >= 0) {
			slot_of[k] = (size_t)i;
			continue;
		}
		if (*n >= HUB_MAX_CLUSTERS)
			return fl_seterr(
			    err, FL_ELIMIT,
			    "%s: more than %d different clusters since the hub started: restart it to add '%s'",
			    cfg->path, HUB_MAX_CLUSTERS, cfg->clusters[k].name);
		snprintf(names[*n - old->n], FL_CLUSTER_LEN, "%s", cfg->clusters[k].name);
		slot_of[k] = (*n)++;
	}
	return FL_OK;
}

/* Forgets what slot i's removed cluster was: its state, its streams and its view snapshot. */
static void disable_slot(hub_registry *reg, size_t i)
{
	pthread_mutex_lock(&reg->mu);
	memset(&reg->entries[i].state, 0, sizeof(reg->entries[i].state));
	hub_streams_init(&reg->entries[i].streams, HUB_REGISTRY_FULL_STREAMS);
	pthread_mutex_unlock(&reg->mu);
	if (reg->view != NULL)
		hub_view_clear(reg->view, i);
}

/* Fills sum from the change old → cs. */
static void summarize(const hub_clusters *old, const hub_clusters *cs, hub_reload_summary *sum)
{
	const char *last = NULL;
	for (size_t i = 0; i < cs->n; i++) {
		const hub_cluster_conf *a = i < old->n ? old->conf[i] : NULL, *b = cs->conf[i];
		if (a == NULL && b != NULL) {
			sum->activated[sum->added++] = i;
			note(sum, &last, "added ", cs->name[i]);
		}
	}
	for (size_t i = 0; i < old->n; i++)
		if (old->conf[i] != NULL && cs->conf[i] == NULL) {
			sum->removed++;
			note(sum, &last, "removed ", cs->name[i]);
		}
	for (size_t i = 0; i < old->n; i++)
		if (old->conf[i] != NULL && cs->conf[i] != NULL &&
		    memcmp(old->conf[i], cs->conf[i], sizeof(hub_cluster_conf)) != 0) {
			sum->changed++;
			note(sum, &last, "changed ", cs->name[i]);
		}
}

int hub_registry_reload(hub_registry *reg, const hub_config *cfg, hub_reload_summary *sum, char err[FL_ERR_LEN])
{
	memset(sum, 0, sizeof(*sum));
	hub_clusters *old = hub_registry_clusters(reg);
	size_t *slot_of = calloc(cfg->n_clusters + 1, sizeof(*slot_of)), n = 0;
	char(*names)[FL_CLUSTER_LEN] = calloc(cfg->n_clusters + 1, FL_CLUSTER_LEN);
	int rv = slot_of == NULL || names == NULL ? fl_seterr(err, FL_ENOMEM, "reload: out of memory")
	                                          : map_slots(old, cfg, slot_of, &n, names, err);
	/* New slots get their names (and view slots) before any generation names them. */
	for (size_t i = old->n; rv == FL_OK && i < n; i++) {
		snprintf(reg->entries[i].name, sizeof(reg->entries[i].name), "%s", names[i - old->n]);
		hub_streams_init(&reg->entries[i].streams, HUB_REGISTRY_FULL_STREAMS);
		if (reg->view != NULL && hub_view_add(reg->view, i, reg->entries[i].name) != FL_OK)
			rv = fl_seterr(err, FL_ENOMEM, "reload: cannot add '%s' to the view", reg->entries[i].name);
	}
	hub_clusters *cs = rv == FL_OK ? gen_new(cfg, slot_of, n, reg->entries, old->gen + 1) : NULL;
	if (rv == FL_OK && cs == NULL)
		rv = fl_seterr(err, FL_ENOMEM, "reload: out of memory");
	if (rv == FL_OK) {
		atomic_store(&reg->n, n);
		pthread_mutex_lock(&reg->gen_mu);
		hub_clusters *prev = reg->cur;
		reg->cur = cs;
		pthread_mutex_unlock(&reg->gen_mu);
		summarize(old, cs, sum);
		for (size_t i = 0; i < old->n; i++)
			if (old->conf[i] != NULL && cs->conf[i] == NULL)
				disable_slot(reg, i);
		hub_clusters_release(prev);
	}
	hub_clusters_release(old);
	free(slot_of);
	free(names);
	return rv;
}
