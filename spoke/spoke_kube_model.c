/* spoke_kube_model.c — the kube source's live objects and their lookup by key through a hash index. */
#include "spoke_kube_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spoke_kube_obj.h"

int spoke_kube_grow(void **arr, uint32_t n, uint32_t *cap, size_t elem)
{
	if (n < *cap) {
		return FL_OK;
	}
	uint32_t nc = *cap == 0 ? 64 : *cap * 2;
	if (nc > UINT32_MAX / 2) {
		return FL_ELIMIT;
	}
	void *p = realloc(*arr, (size_t)nc * elem);
	if (p == NULL) {
		return FL_ENOMEM;
	}
	*arr = p;
	*cap = nc;
	return FL_OK;
}

/* ---- the index ------------------------------------------------------------------------------------- */

/* The key of item i of an array: a node's name, a pod's or link's uid. */
typedef const char *(*key_fn)(const void *arr, uint32_t i);

static const char *node_key(const void *arr, uint32_t i)
{
	return ((const spoke_node *)arr)[i].name;
}

static const char *pod_key(const void *arr, uint32_t i)
{
	return ((const spoke_pod *)arr)[i].uid;
}

static const char *link_key(const void *arr, uint32_t i)
{
	return ((const spoke_owner_link *)arr)[i].uid;
}

/* FNV-1a. */
static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s != '\0'; s++) {
		h = (h ^ (unsigned char)*s) * 16777619u;
	}
	return h;
}

/* The slot that holds key, or the empty slot where it would go. idx->cap > 0. */
static uint32_t idx_slot(const spoke_kube_index *idx, const void *arr, key_fn key, const char *k)
{
	uint32_t mask = idx->cap - 1;
	uint32_t i = hash(k) & mask;
	while (idx->slots[i] != 0 && strcmp(key(arr, idx->slots[i] - 1), k) != 0) {
		i = (i + 1) & mask;
	}
	return i;
}

/* The array position of key k, or -1. */
static int64_t idx_find(const spoke_kube_index *idx, const void *arr, key_fn key, const char *k)
{
	if (idx->cap == 0) {
		return -1;
	}
	uint32_t s = idx->slots[idx_slot(idx, arr, key, k)];
	return s == 0 ? -1 : (int64_t)s - 1;
}

/* A fresh index of the n items of arr (sized for at least n + 1) into *out. FL_OK, FL_ENOMEM, FL_ELIMIT. */
static int idx_build(spoke_kube_index *out, const void *arr, key_fn key, uint32_t n)
{
	uint32_t cap = 64;
	while (cap < 2 * (uint64_t)n + 2) {
		if (cap > UINT32_MAX / 4) {
			return FL_ELIMIT;
		}
		cap *= 2;
	}
	spoke_kube_index idx = {calloc(cap, sizeof(uint32_t)), cap};
	if (idx.slots == NULL) {
		return FL_ENOMEM;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint32_t s = idx_slot(&idx, arr, key, key(arr, i));
		if (idx.slots[s] == 0) { /* a repeated key: the first one is found, as a scan would */
			idx.slots[s] = i + 1;
		}
	}
	*out = idx;
	return FL_OK;
}

/* Makes room for one more key among n (rebuilding at twice the size when full). */
static int idx_reserve(spoke_kube_index *idx, const void *arr, key_fn key, uint32_t n)
{
	if (idx->cap != 0 && 2 * (uint64_t)(n + 1) <= idx->cap) {
		return FL_OK;
	}
	spoke_kube_index nx;
	int rv = idx_build(&nx, arr, key, n);
	if (rv == FL_OK) {
		free(idx->slots);
		*idx = nx;
	}
	return rv;
}

/* Records that item pos (already in arr, with room reserved) has key k. */
static void idx_put(spoke_kube_index *idx, const void *arr, key_fn key, const char *k, uint32_t pos)
{
	idx->slots[idx_slot(idx, arr, key, k)] = pos + 1;
}

/* Forgets key k (still readable at its position in arr), shifting later entries of its run back. */
static void idx_del(spoke_kube_index *idx, const void *arr, key_fn key, const char *k)
{
	uint32_t mask = idx->cap - 1;
	uint32_t i = idx_slot(idx, arr, key, k);
	if (idx->slots[i] == 0) {
		return;
	}
	for (uint32_t j = (i + 1) & mask; idx->slots[j] != 0; j = (j + 1) & mask) {
		uint32_t home = hash(key(arr, idx->slots[j] - 1)) & mask;
		/* the entry at j may fill the hole at i unless its home lies cyclically in (i, j] */
		bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
		if (!stays) {
			idx->slots[i] = idx->slots[j];
			i = j;
		}
	}
	idx->slots[i] = 0;
}

/* Removes item pos of an array of *n items of elem bytes: the last item moves into the hole (and its
 * index entry follows). The item at pos must already be cleared of what it owned, but keep its key. */
static void remove_at(spoke_kube_index *idx, void *arr, key_fn key, uint32_t *n, size_t elem, uint32_t pos)
{
	idx_del(idx, arr, key, key(arr, pos));
	uint32_t last = --*n;
	if (pos != last) {
		memcpy((char *)arr + (size_t)pos * elem, (char *)arr + (size_t)last * elem, elem);
		idx_put(idx, arr, key, key(arr, pos), pos);
	}
}

/* ---- nodes ----------------------------------------------------------------------------------------- */

static int64_t gpu_sum(const spoke_overview_rules *rules, const spoke_resources *r)
{
	int64_t s = 0;
	for (uint32_t i = 0; i < rules->n_gpu_resources; i++) {
		s += spoke_resources_get(r, rules->gpu_resources[i]);
	}
	return s;
}

/* A change the hub should see before the next cycle: Ready, unschedulable, taints, allocatable GPUs. */
static bool node_matters(const spoke_overview_rules *rules, const spoke_node *a, const spoke_node *b)
{
	if (strcmp(a->ready, b->ready) != 0 || a->unschedulable != b->unschedulable || a->n_taints != b->n_taints ||
	    gpu_sum(rules, &a->allocatable) != gpu_sum(rules, &b->allocatable)) {
		return true;
	}
	for (uint32_t i = 0; i < a->n_taints; i++) {
		if (strcmp(a->taints[i].key, b->taints[i].key) != 0 ||
		    strcmp(a->taints[i].effect, b->taints[i].effect) != 0) {
			return true;
		}
	}
	return false;
}

int spoke_kube_model_put_node(spoke_kube_model *m, const spoke_overview_rules *rules, spoke_node *n, bool *urgent)
{
	*urgent = false;
	int64_t i = idx_find(&m->node_idx, m->nodes, node_key, n->name);
	if (i >= 0) {
		*urgent = node_matters(rules, &m->nodes[i], n);
		spoke_kube_node_clear(&m->nodes[i]);
		m->nodes[i] = *n; /* same name: the index entry stands */
		return FL_OK;
	}
	int rv = spoke_kube_grow((void **)&m->nodes, m->n_nodes, &m->cap_nodes, sizeof(*m->nodes));
	if (rv == FL_OK) {
		rv = idx_reserve(&m->node_idx, m->nodes, node_key, m->n_nodes);
	}
	if (rv != FL_OK) {
		spoke_kube_node_clear(n);
		return rv;
	}
	m->nodes[m->n_nodes] = *n;
	idx_put(&m->node_idx, m->nodes, node_key, n->name, m->n_nodes);
	m->n_nodes++;
	*urgent = true;
	return FL_OK;
}

bool spoke_kube_model_del_node(spoke_kube_model *m, const char *name)
{
	int64_t i = idx_find(&m->node_idx, m->nodes, node_key, name);
	if (i < 0) {
		return false;
	}
	/* clear what the node owns but keep its name for the index until it is overwritten */
	spoke_node gone = m->nodes[i];
	spoke_kube_node_clear(&gone);
	remove_at(&m->node_idx, m->nodes, node_key, &m->n_nodes, sizeof(*m->nodes), (uint32_t)i);
	return true;
}

/* ---- pods ------------------------------------------------------------------------------------------ */

bool spoke_kube_pod_wants_gpus(const spoke_pod *p)
{
	for (uint32_t i = 0; i < p->n_containers; i++) {
		if (p->containers[i].requests.n > 0) {
			return true;
		}
	}
	for (uint32_t i = 0; i < p->n_init_containers; i++) {
		if (p->init_containers[i].requests.n > 0) {
			return true;
		}
	}
	return false;
}

bool spoke_kube_pod_ended(const spoke_pod *p)
{
	return strcmp(p->phase, "Succeeded") == 0 || strcmp(p->phase, "Failed") == 0;
}

void spoke_kube_model_remember_ended(spoke_kube_model *m, spoke_pod *p)
{
	if (m->n_ended >= SPOKE_KUBE_MAX_ENDED ||
	    spoke_kube_grow((void **)&m->ended, m->n_ended, &m->cap_ended, sizeof(*m->ended)) != FL_OK) {
		spoke_kube_pod_clear(p);
		return;
	}
	m->ended[m->n_ended++] = *p;
}

void spoke_kube_model_del_pod(spoke_kube_model *m, const char *uid)
{
	int64_t i = idx_find(&m->pod_idx, m->pods, pod_key, uid);
	if (i < 0) {
		return;
	}
	spoke_pod gone = m->pods[i];
	spoke_kube_pod_clear(&gone); /* m->pods[i].uid is an array in place: still the key */
	remove_at(&m->pod_idx, m->pods, pod_key, &m->n_pods, sizeof(*m->pods), (uint32_t)i);
}

int spoke_kube_model_put_pod(spoke_kube_model *m, spoke_pod *p)
{
	if (!spoke_kube_pod_wants_gpus(p)) {
		spoke_kube_model_del_pod(m, p->uid);
		spoke_kube_pod_clear(p);
		return FL_OK;
	}
	if (spoke_kube_pod_ended(p)) { /* a server without the phase field selector reports the end as a change */
		spoke_kube_model_del_pod(m, p->uid);
		spoke_kube_model_remember_ended(m, p);
		return FL_OK;
	}
	int64_t i = idx_find(&m->pod_idx, m->pods, pod_key, p->uid);
	if (i >= 0) {
		spoke_kube_pod_clear(&m->pods[i]);
		m->pods[i] = *p;
		return FL_OK;
	}
	int rv = spoke_kube_grow((void **)&m->pods, m->n_pods, &m->cap_pods, sizeof(*m->pods));
	if (rv == FL_OK) {
		rv = idx_reserve(&m->pod_idx, m->pods, pod_key, m->n_pods);
	}
	if (rv != FL_OK) {
		spoke_kube_pod_clear(p);
		return rv;
	}
	m->pods[m->n_pods] = *p;
	idx_put(&m->pod_idx, m->pods, pod_key, p->uid, m->n_pods);
	m->n_pods++;
	return FL_OK;
}

/* ---- owner links ----------------------------------------------------------------------------------- */

int spoke_kube_model_put_link(spoke_kube_model *m, int which, const spoke_owner_link *l)
{
	spoke_kube_index *idx = &m->link_idx[which];
	int64_t i = idx_find(idx, m->links[which], link_key, l->uid);
	if (i >= 0) {
		if (l->owner.uid[0] == '\0') {
			remove_at(idx, m->links[which], link_key, &m->n_links[which], sizeof(*m->links[which]),
			          (uint32_t)i);
		} else {
			m->links[which][i] = *l;
		}
		return FL_OK;
	}
	if (l->owner.uid[0] == '\0') {
		return FL_OK;
	}
	int rv = spoke_kube_grow((void **)&m->links[which], m->n_links[which], &m->cap_links[which],
	                         sizeof(*m->links[which]));
	if (rv == FL_OK) {
		rv = idx_reserve(idx, m->links[which], link_key, m->n_links[which]);
	}
	if (rv == FL_OK) {
		m->links[which][m->n_links[which]] = *l;
		idx_put(idx, m->links[which], link_key, l->uid, m->n_links[which]);
		m->n_links[which]++;
	}
	return rv;
}

/* ---- listings -------------------------------------------------------------------------------------- */

void spoke_kube_listing_free(spoke_kube_listing *l)
{
	for (uint32_t i = 0; i < l->n; i++) {
		if (l->nodes != NULL) {
			spoke_kube_node_clear(&l->nodes[i]);
		} else if (l->pods != NULL) {
			spoke_kube_pod_clear(&l->pods[i]);
		}
	}
	free(l->nodes);
	free(l->pods);
	free(l->links);
	memset(l, 0, sizeof(*l));
}

int spoke_kube_model_replace_nodes(spoke_kube_model *m, spoke_kube_listing *l)
{
	spoke_kube_index idx;
	int rv = idx_build(&idx, l->nodes, node_key, l->n);
	if (rv != FL_OK) {
		return rv;
	}
	for (uint32_t i = 0; i < m->n_nodes; i++) {
		spoke_kube_node_clear(&m->nodes[i]);
	}
	free(m->nodes);
	free(m->node_idx.slots);
	m->nodes = l->nodes;
	m->n_nodes = l->n;
	m->cap_nodes = l->cap;
	m->node_idx = idx;
	memset(l, 0, sizeof(*l));
	return FL_OK;
}

int spoke_kube_model_replace_pods(spoke_kube_model *m, spoke_kube_listing *l)
{
	spoke_kube_index idx;
	int rv = idx_build(&idx, l->pods, pod_key, l->n);
	if (rv != FL_OK) {
		return rv;
	}
	for (uint32_t i = 0; i < m->n_pods; i++) {
		spoke_kube_pod_clear(&m->pods[i]);
	}
	free(m->pods);
	free(m->pod_idx.slots);
	m->pods = l->pods;
	m->n_pods = l->n;
	m->cap_pods = l->cap;
	m->pod_idx = idx;
	memset(l, 0, sizeof(*l));
	return FL_OK;
}

int spoke_kube_model_replace_links(spoke_kube_model *m, int which, spoke_kube_listing *l)
{
	spoke_kube_index idx;
	int rv = idx_build(&idx, l->links, link_key, l->n);
	if (rv != FL_OK) {
		return rv;
	}
	free(m->links[which]);
	free(m->link_idx[which].slots);
	m->links[which] = l->links;
	m->n_links[which] = l->n;
	m->cap_links[which] = l->cap;
	m->link_idx[which] = idx;
	memset(l, 0, sizeof(*l));
	return FL_OK;
}

/* ---- snapshot and free ----------------------------------------------------------------------------- */

int spoke_kube_model_copy(spoke_kube_model *k, spoke_model *m)
{
	memset(m, 0, sizeof(*m));
	int rv = FL_OK;
	/* exact-size arrays: the live GPU pods (bound or not: the overview counts the bound ones, the
	 * workloads all), then the ones that ended since the last snapshot, once */
	uint32_t n_pods = k->n_pods + k->n_ended, n_links = k->n_links[0] + k->n_links[1];
	if ((k->n_nodes > 0 && (m->nodes = malloc((size_t)k->n_nodes * sizeof(*m->nodes))) == NULL) ||
	    (n_pods > 0 && (m->pods = malloc((size_t)n_pods * sizeof(*m->pods))) == NULL) ||
	    (n_links > 0 && (m->links = malloc((size_t)n_links * sizeof(*m->links))) == NULL)) {
		rv = FL_ENOMEM;
	}
	m->cap_nodes = k->n_nodes;
	m->cap_pods = n_pods;
	m->cap_links = n_links;
	for (uint32_t i = 0; i < k->n_nodes && rv == FL_OK; i++) {
		spoke_node *n;
		if ((rv = spoke_model_add_node(m, &n)) == FL_OK) {
			rv = spoke_kube_node_copy(n, &k->nodes[i]);
			if (rv != FL_OK) {
				m->n_nodes--;
			}
		}
	}
	for (uint32_t i = 0; i < n_pods && rv == FL_OK; i++) {
		spoke_pod *p;
		if ((rv = spoke_model_add_pod(m, &p)) == FL_OK) {
			rv = spoke_kube_pod_copy(p, i < k->n_pods ? &k->pods[i] : &k->ended[i - k->n_pods]);
			if (rv != FL_OK) {
				m->n_pods--;
			}
		}
	}
	for (int w = 0; w < 2 && rv == FL_OK; w++) {
		if (k->n_links[w] > 0) {
			memcpy(m->links + m->n_links, k->links[w], (size_t)k->n_links[w] * sizeof(*m->links));
			m->n_links += k->n_links[w];
		}
	}
	if (rv == FL_OK) {
		for (uint32_t i = 0; i < k->n_ended; i++) {
			spoke_kube_pod_clear(&k->ended[i]);
		}
		k->n_ended = 0;
	}
	if (rv == FL_OK && k->n_nodes > 0) {
		snprintf(m->k8s_version, sizeof(m->k8s_version), "%s", k->nodes[0].kubelet_version);
	}
	if (rv != FL_OK) {
		spoke_model_free(m);
	}
	return rv;
}

void spoke_kube_model_free(spoke_kube_model *m)
{
	for (uint32_t i = 0; i < m->n_nodes; i++) {
		spoke_kube_node_clear(&m->nodes[i]);
	}
	for (uint32_t i = 0; i < m->n_pods; i++) {
		spoke_kube_pod_clear(&m->pods[i]);
	}
	for (uint32_t i = 0; i < m->n_ended; i++) {
		spoke_kube_pod_clear(&m->ended[i]);
	}
	free(m->nodes);
	free(m->pods);
	free(m->ended);
	free(m->links[0]);
	free(m->links[1]);
	free(m->node_idx.slots);
	free(m->pod_idx.slots);
	free(m->link_idx[0].slots);
	free(m->link_idx[1].slots);
	memset(m, 0, sizeof(*m));
}
