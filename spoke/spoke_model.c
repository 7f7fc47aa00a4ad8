/* spoke_model.c — growing arrays of nodes, pods and GPU rows, and small resource lists. */
#include "spoke_model.h"

#include <stdlib.h>
#include <string.h>

#define SPOKE_MODEL_MAX_ITEMS (UINT32_MAX / 2)

/* Makes room for one more item of size elem in the array *arr (count n, capacity *cap): starts at
 * initial items, then doubles. arr points at the caller's typed pointer, passed through a void * so
 * the store below uses memcpy rather than a type-punned write. */
static int grow(void *arr, uint32_t n, uint32_t *cap, size_t elem, uint32_t initial)
{
	if (n < *cap) {
		return FL_OK;
	}
	if (n >= SPOKE_MODEL_MAX_ITEMS) {
		return FL_ELIMIT;
	}
	uint32_t ncap = *cap == 0 ? initial : *cap * 2;
	if (ncap > SPOKE_MODEL_MAX_ITEMS) {
		ncap = SPOKE_MODEL_MAX_ITEMS;
	}
	void *old;
	memcpy(&old, arr, sizeof(old));
	void *p = realloc(old, (size_t)ncap * elem);
	if (p == NULL) {
		return FL_ENOMEM;
	}
	memcpy(arr, &p, sizeof(p));
	*cap = ncap;
	return FL_OK;
}

void spoke_resources_free(spoke_resources *r)
{
	free(r->items);
	memset(r, 0, sizeof(*r));
}

int spoke_resources_set(spoke_resources *r, const char *name, int64_t value)
{
	size_t len = strlen(name);
	if (len == 0 || len >= SPOKE_RESOURCE_NAME_LEN) {
		return FL_EINVAL;
	}
	for (uint32_t i = 0; i < r->n; i++) {
		if (strcmp(r->items[i].name, name) == 0) {
			r->items[i].value = value;
			return FL_OK;
		}
	}
	if (r->n >= SPOKE_MAX_RESOURCES) {
		return FL_ELIMIT;
	}
	if (r->n == r->cap) {
		uint32_t ncap = r->cap == 0 ? 2 : r->cap * 2;
		spoke_quantity *p = realloc(r->items, ncap * sizeof(*p));
		if (p == NULL) {
			return FL_ENOMEM;
		}
		r->items = p;
		r->cap = ncap;
	}
	memcpy(r->items[r->n].name, name, len + 1);
	r->items[r->n].value = value;
	r->n++;
	return FL_OK;
}

int64_t spoke_resources_get(const spoke_resources *r, const char *name)
{
	for (uint32_t i = 0; i < r->n; i++) {
		if (strcmp(r->items[i].name, name) == 0) {
			return r->items[i].value;
		}
	}
	return 0;
}

static void free_containers(spoke_container *c, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		spoke_resources_free(&c[i].requests);
	}
	free(c);
}

void spoke_model_free(spoke_model *m)
{
	if (m == NULL) {
		return;
	}
	for (uint32_t i = 0; i < m->n_nodes; i++) {
		free(m->nodes[i].taints);
		spoke_resources_free(&m->nodes[i].capacity);
		spoke_resources_free(&m->nodes[i].allocatable);
	}
	for (uint32_t i = 0; i < m->n_pods; i++) {
		free_containers(m->pods[i].containers, m->pods[i].n_containers);
		free_containers(m->pods[i].init_containers, m->pods[i].n_init_containers);
	}
	free(m->nodes);
	free(m->pods);
	free(m->gpus);
	free(m->links);
	free(m->pod_gpus);
	memset(m, 0, sizeof(*m));
}

int spoke_model_add_node(spoke_model *m, spoke_node **out)
{
	int rv = grow(&m->nodes, m->n_nodes, &m->cap_nodes, sizeof(*m->nodes), 64);
	if (rv != FL_OK) {
		return rv;
	}
	*out = &m->nodes[m->n_nodes++];
	memset(*out, 0, sizeof(**out));
	return FL_OK;
}

int spoke_model_add_pod(spoke_model *m, spoke_pod **out)
{
	int rv = grow(&m->pods, m->n_pods, &m->cap_pods, sizeof(*m->pods), 256);
	if (rv != FL_OK) {
		return rv;
	}
	*out = &m->pods[m->n_pods++];
	memset(*out, 0, sizeof(**out));
	return FL_OK;
}

int spoke_model_add_gpu(spoke_model *m, spoke_gpu **out)
{
	int rv = grow(&m->gpus, m->n_gpus, &m->cap_gpus, sizeof(*m->gpus), 256);
	if (rv != FL_OK) {
		return rv;
	}
	*out = &m->gpus[m->n_gpus++];
	memset(*out, 0, sizeof(**out));
	return FL_OK;
}

int spoke_model_add_link(spoke_model *m, spoke_owner_link **out)
{
	int rv = grow(&m->links, m->n_links, &m->cap_links, sizeof(*m->links), 64);
	if (rv != FL_OK) {
		return rv;
	}
	*out = &m->links[m->n_links++];
	memset(*out, 0, sizeof(**out));
	return FL_OK;
}

int spoke_model_add_pod_gpu(spoke_model *m, spoke_pod_gpu **out)
{
	int rv = grow(&m->pod_gpus, m->n_pod_gpus, &m->cap_pod_gpus, sizeof(*m->pod_gpus), 64);
	if (rv != FL_OK) {
		return rv;
	}
	*out = &m->pod_gpus[m->n_pod_gpus++];
	memset(*out, 0, sizeof(**out));
	return FL_OK;
}

/* Copies s into dst (size len); FL_EINVAL if it does not fit. */
static int copy_str(char *dst, size_t len, const char *s)
{
	size_t n = strlen(s);
	if (n >= len) {
		return FL_EINVAL;
	}
	memcpy(dst, s, n + 1);
	return FL_OK;
}

int spoke_node_add_taint(spoke_node *n, const char *key, const char *value, const char *effect)
{
	if (n->n_taints >= FL_PROTO_MAX_TAINTS) {
		return FL_ELIMIT;
	}
	if (strlen(key) >= FL_TAINT_KEY_LEN || strlen(value) >= FL_TAINT_VALUE_LEN ||
	    strlen(effect) >= FL_TAINT_EFFECT_LEN) {
		return FL_EINVAL;
	}
	int rv = grow(&n->taints, n->n_taints, &n->cap_taints, sizeof(*n->taints), 2);
	if (rv != FL_OK) {
		return rv;
	}
	spoke_taint *t = &n->taints[n->n_taints++];
	copy_str(t->key, sizeof(t->key), key);
	copy_str(t->value, sizeof(t->value), value);
	copy_str(t->effect, sizeof(t->effect), effect);
	return FL_OK;
}

int spoke_pod_alloc_containers(spoke_pod *p, uint32_t n_containers, uint32_t n_init_containers)
{
	if (n_containers > SPOKE_MAX_CONTAINERS || n_init_containers > SPOKE_MAX_CONTAINERS) {
		return FL_ELIMIT;
	}
	if (p->containers != NULL || p->init_containers != NULL) {
		return FL_EINVAL;
	}
	if (n_containers > 0 && (p->containers = calloc(n_containers, sizeof(*p->containers))) == NULL) {
		return FL_ENOMEM;
	}
	if (n_init_containers > 0 &&
	    (p->init_containers = calloc(n_init_containers, sizeof(*p->init_containers))) == NULL) {
		free(p->containers);
		p->containers = NULL;
		return FL_ENOMEM;
	}
	p->n_containers = n_containers;
	p->n_init_containers = n_init_containers;
	return FL_OK;
}
