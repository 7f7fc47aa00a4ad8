/* spoke_kube_obj.c — Node/Pod JSON → spoke_node/spoke_pod, with every field checked. */
#include "spoke_kube_obj.h"

#include <stdlib.h>
#include <string.h>

#include "spoke_quantity.h"

static json_t *path2(json_t *o, const char *a, const char *b)
{
	json_t *x = json_object_get(o, a);
	return b == NULL ? x : json_object_get(x, b);
}

/* Copies the string at o[key] into out (len bytes). Absent or null → "" unless required. */
static int get_str(json_t *o, const char *key, bool required, char *out, size_t len, const char *what,
                   char err[FL_ERR_LEN])
{
	json_t *v = json_object_get(o, key);
	out[0] = '\0';
	if (v == NULL || json_is_null(v)) {
		return required ? fl_seterr(err, FL_EINVAL, "%s.%s missing", what, key) : FL_OK;
	}
	if (!json_is_string(v)) {
		return fl_seterr(err, FL_EINVAL, "%s.%s: expected a string", what, key);
	}
	if (json_string_length(v) >= len) {
		return fl_seterr(err, FL_ELIMIT, "%s.%s: longer than %zu characters", what, key, len - 1);
	}
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return FL_OK;
}

const char *spoke_kube_obj_meta(json_t *obj, const char *field)
{
	return json_string_value(path2(obj, "metadata", field));
}

static bool is_gpu_resource(const spoke_overview_rules *r, const char *name)
{
	for (uint32_t i = 0; i < r->n_gpu_resources; i++) {
		if (strcmp(r->gpu_resources[i], name) == 0) {
			return true;
		}
	}
	return false;
}

/* A resource list (capacity, allocatable, requests): GPU resources into res, cpu (millicores) and
 * memory (bytes) into the optional pointers. */
static int get_resources(json_t *list, const spoke_overview_rules *rules, spoke_resources *res, int64_t *cpu_m,
                         int64_t *mem, const char *what, char err[FL_ERR_LEN])
{
	if (list == NULL || json_is_null(list)) {
		return FL_OK;
	}
	if (!json_is_object(list)) {
		return fl_seterr(err, FL_EINVAL, "%s: expected an object", what);
	}
	const char *name;
	json_t *v;
	json_object_foreach(list, name, v)
	{
		bool gpu = is_gpu_resource(rules, name);
		bool cpu = cpu_m != NULL && strcmp(name, "cpu") == 0;
		bool memory = mem != NULL && strcmp(name, "memory") == 0;
		if (!gpu && !cpu && !memory) {
			continue;
		}
		if (!json_is_string(v)) {
			return fl_seterr(err, FL_EINVAL, "%s[%s]: expected a quantity string", what, name);
		}
		int64_t q = 0;
		char qerr[FL_ERR_LEN];
		int rv = spoke_quantity_parse(json_string_value(v), cpu, &q, qerr);
		if (rv != FL_OK) {
			return fl_seterr(err, rv, "%s[%s]: %s", what, name, qerr);
		}
		if (cpu) {
			*cpu_m = q;
		} else if (memory) {
			*mem = q;
		} else if ((rv = spoke_resources_set(res, name, q)) != FL_OK) {
			return fl_seterr(err, rv, "%s[%s]: cannot keep it (%s)", what, name, fl_strerror(rv));
		}
	}
	return FL_OK;
}

static int node_fill(json_t *obj, const spoke_overview_rules *rules, spoke_node *n, char err[FL_ERR_LEN])
{
	if (!json_is_object(obj)) {
		return fl_seterr(err, FL_EINVAL, "node: expected an object");
	}
	json_t *meta = json_object_get(obj, "metadata"), *spec = json_object_get(obj, "spec"),
	       *status = json_object_get(obj, "status");
	int rv = get_str(meta, "name", true, n->name, sizeof(n->name), "node metadata", err);
	if (rv != FL_OK) {
		return rv;
	}
	json_t *labels = json_object_get(meta, "labels");
	static const char *const product[] = SPOKE_KUBE_PRODUCT_LABELS;
	for (const char *const *k = product; *k != NULL && n->gpu_product[0] == '\0'; k++) {
		if ((rv = get_str(labels, *k, false, n->gpu_product, sizeof(n->gpu_product), "node labels", err)) !=
		    FL_OK) {
			return rv;
		}
	}
	json_t *unsched = json_object_get(spec, "unschedulable");
	n->unschedulable = json_is_true(unsched);
	json_t *taints = json_object_get(spec, "taints");
	if (taints != NULL && !json_is_null(taints) && !json_is_array(taints)) {
		return fl_seterr(err, FL_EINVAL, "node %s: spec.taints: expected a list", n->name);
	}
	size_t i;
	json_t *t;
	json_array_foreach(taints, i, t)
	{
		char key[FL_TAINT_KEY_LEN], value[FL_TAINT_VALUE_LEN], effect[FL_TAINT_EFFECT_LEN];
		if ((rv = get_str(t, "key", true, key, sizeof(key), "taint", err)) != FL_OK ||
		    (rv = get_str(t, "value", false, value, sizeof(value), "taint", err)) != FL_OK ||
		    (rv = get_str(t, "effect", false, effect, sizeof(effect), "taint", err)) != FL_OK) {
			return rv;
		}
		if ((rv = spoke_node_add_taint(n, key, value, effect)) != FL_OK) {
			return fl_seterr(err, rv, "node %s: taint %zu: %s", n->name, i, fl_strerror(rv));
		}
	}
	snprintf(n->ready, sizeof(n->ready), "Unknown"); /* no Ready condition yet */
	json_t *conds = json_object_get(status, "conditions"), *c;
	json_array_foreach(conds, i, c)
	{
		const char *type = json_string_value(json_object_get(c, "type"));
		if (type != NULL && strcmp(type, "Ready") == 0) {
			if ((rv = get_str(c, "status", true, n->ready, sizeof(n->ready), "Ready condition", err)) !=
			    FL_OK) {
				return rv;
			}
		}
	}
	json_t *addrs = json_object_get(status, "addresses"), *a;
	json_array_foreach(addrs, i, a)
	{
		const char *type = json_string_value(json_object_get(a, "type"));
		if (type != NULL && strcmp(type, "InternalIP") == 0 && n->internal_ip[0] == '\0') {
			if ((rv = get_str(a, "address", true, n->internal_ip, sizeof(n->internal_ip), "address",
			                  err)) != FL_OK) {
				return rv;
			}
		}
	}
	if ((rv = get_resources(json_object_get(status, "capacity"), rules, &n->capacity, &n->cpu_capacity_millis,
	                        &n->memory_capacity_bytes, "status.capacity", err)) != FL_OK ||
	    (rv = get_resources(json_object_get(status, "allocatable"), rules, &n->allocatable,
	                        &n->cpu_allocatable_millis, &n->memory_allocatable_bytes, "status.allocatable", err)) !=
	        FL_OK) {
		return rv;
	}
	json_t *info = json_object_get(status, "nodeInfo");
	if ((rv = get_str(info, "kubeletVersion", false, n->kubelet_version, sizeof(n->kubelet_version), "nodeInfo",
	                  err)) != FL_OK ||
	    (rv = get_str(info, "osImage", false, n->os_image, sizeof(n->os_image), "nodeInfo", err)) != FL_OK ||
	    (rv = get_str(info, "kernelVersion", false, n->kernel_version, sizeof(n->kernel_version), "nodeInfo",
	                  err)) != FL_OK ||
	    (rv = get_str(info, "containerRuntimeVersion", false, n->container_runtime, sizeof(n->container_runtime),
	                  "nodeInfo", err)) != FL_OK) {
		return rv;
	}
	return FL_OK;
}

int spoke_kube_node_from_json(json_t *obj, const spoke_overview_rules *rules, spoke_node *n, char err[FL_ERR_LEN])
{
	memset(n, 0, sizeof(*n));
	int rv = node_fill(obj, rules, n, err);
	if (rv != FL_OK) {
		spoke_kube_node_clear(n);
	}
	return rv;
}

static int containers_fill(json_t *list, const spoke_overview_rules *rules, spoke_container *c, const char *what,
                           char err[FL_ERR_LEN])
{
	size_t i;
	json_t *x;
	json_array_foreach(list, i, x)
	{
		int rv = get_str(x, "name", false, c[i].name, sizeof(c[i].name), what, err);
		if (rv == FL_OK) {
			rv = get_resources(path2(x, "resources", "requests"), rules, &c[i].requests, NULL, NULL, what,
			                   err);
		}
		if (rv != FL_OK) {
			return rv;
		}
	}
	return FL_OK;
}

/* Days from 1970-01-01 to the civil date y-m-d (proleptic Gregorian; Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int64_t spoke_kube_time_ms(const char *s)
{
	int y, mo, d, h, mi, sec, n = 0;
	if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 || n != 19 ||
	    mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || y < 1970) {
		return 0;
	}
	const char *p = s + n;
	int64_t ms = 0;
	if (*p == '.') { /* fractional seconds: the first three digits are milliseconds */
		int digits = 0;
		for (p++; *p >= '0' && *p <= '9'; p++, digits++) {
			if (digits < 3) {
				ms = ms * 10 + (*p - '0');
			}
		}
		for (; digits < 3; digits++) {
			ms *= 10;
		}
	}
	int64_t offset_s = 0;
	if (*p == '+' || *p == '-') {
		int oh, om;
		if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2) {
			return 0;
		}
		offset_s = (*p == '+' ? 1 : -1) * (oh * 3600 + om * 60);
		p += 6;
	} else if (*p == 'Z' || *p == 'z') {
		p++;
	}
	if (*p != '\0') {
		return 0;
	}
	int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset_s;
	return t * 1000 + ms;
}

/* The entry of meta.ownerReferences with controller: true into *o (zeroed when there is none). */
static int controller_of(json_t *meta, spoke_owner *o, const char *what, char err[FL_ERR_LEN])
{
	json_t *refs = json_object_get(meta, "ownerReferences"), *ref;
	size_t i;
	memset(o, 0, sizeof(*o));
	if (refs != NULL && !json_is_null(refs) && !json_is_array(refs)) {
		return fl_seterr(err, FL_EINVAL, "%s.ownerReferences: expected a list", what);
	}
	json_array_foreach(refs, i, ref)
	{
		if (!json_is_true(json_object_get(ref, "controller"))) {
			continue;
		}
		int rv;
		if ((rv = get_str(ref, "uid", true, o->uid, sizeof(o->uid), what, err)) != FL_OK ||
		    (rv = get_str(ref, "kind", true, o->kind, sizeof(o->kind), what, err)) != FL_OK ||
		    (rv = get_str(ref, "name", true, o->name, sizeof(o->name), what, err)) != FL_OK ||
		    (rv = get_str(ref, "apiVersion", false, o->api_version, sizeof(o->api_version), what, err)) != FL_OK) {
			memset(o, 0, sizeof(*o));
			return rv;
		}
		break;
	}
	return FL_OK;
}

int spoke_kube_link_from_json(json_t *obj, spoke_owner_link *l, char err[FL_ERR_LEN])
{
	memset(l, 0, sizeof(*l));
	if (!json_is_object(obj)) {
		return fl_seterr(err, FL_EINVAL, "object: expected an object");
	}
	json_t *meta = json_object_get(obj, "metadata");
	int rv = get_str(meta, "uid", true, l->uid, sizeof(l->uid), "metadata", err);
	if (rv == FL_OK) {
		rv = controller_of(meta, &l->owner, "metadata", err);
	}
	if (rv != FL_OK) {
		memset(l, 0, sizeof(*l));
	}
	return rv;
}

static bool label_char(char c, bool edge)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (!edge && (c == '-' || c == '_' || c == '.'));
}

bool spoke_kube_label_value_valid(const char *s)
{
	size_t n = strnlen(s, FL_SAFE_ID_LEN);
	if (n == 0 || n >= FL_SAFE_ID_LEN) {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (!label_char(s[i], i == 0 || i == n - 1)) {
			return false;
		}
	}
	return true;
}

/* The pod's SaFE workload label into p (see spoke_kube_pod_from_json): never an error. */
static void safe_label(json_t *meta, spoke_pod *p)
{
	json_t *v = json_object_get(json_object_get(meta, "labels"), SPOKE_SAFE_WORKLOAD_LABEL);
	if (v == NULL || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0)) {
		return;
	}
	if (!json_is_string(v) || json_string_length(v) >= sizeof(p->safe_workload_id) ||
	    !spoke_kube_label_value_valid(json_string_value(v))) {
		p->safe_label_invalid = true;
		return;
	}
	memcpy(p->safe_workload_id, json_string_value(v), json_string_length(v) + 1);
}

static int pod_fill(json_t *obj, const spoke_overview_rules *rules, spoke_pod *p, char err[FL_ERR_LEN])
{
	if (!json_is_object(obj)) {
		return fl_seterr(err, FL_EINVAL, "pod: expected an object");
	}
	json_t *meta = json_object_get(obj, "metadata"), *spec = json_object_get(obj, "spec"),
	       *status = json_object_get(obj, "status");
	int rv;
	if ((rv = get_str(meta, "uid", true, p->uid, sizeof(p->uid), "pod metadata", err)) != FL_OK ||
	    (rv = get_str(meta, "namespace", false, p->ns, sizeof(p->ns), "pod metadata", err)) != FL_OK ||
	    (rv = get_str(meta, "name", true, p->name, sizeof(p->name), "pod metadata", err)) != FL_OK ||
	    (rv = get_str(spec, "nodeName", false, p->node_name, sizeof(p->node_name), "pod spec", err)) != FL_OK ||
	    (rv = get_str(status, "phase", false, p->phase, sizeof(p->phase), "pod status", err)) != FL_OK) {
		return rv;
	}
	json_t *del = json_object_get(meta, "deletionTimestamp");
	p->terminating = del != NULL && !json_is_null(del);
	p->created_ms = spoke_kube_time_ms(json_string_value(json_object_get(meta, "creationTimestamp")));
	if ((rv = controller_of(meta, &p->owner, "pod metadata", err)) != FL_OK) {
		return rv;
	}
	safe_label(meta, p);
	json_t *cs = json_object_get(spec, "containers"), *ics = json_object_get(spec, "initContainers");
	if ((cs != NULL && !json_is_array(cs)) || (ics != NULL && !json_is_null(ics) && !json_is_array(ics))) {
		return fl_seterr(err, FL_EINVAL, "pod %s/%s: containers: expected a list", p->ns, p->name);
	}
	size_t nc = json_array_size(cs), ni = json_array_size(ics);
	if (nc > SPOKE_MAX_CONTAINERS || ni > SPOKE_MAX_CONTAINERS) {
		return fl_seterr(err, FL_ELIMIT, "pod %s/%s: more than %d containers", p->ns, p->name,
		                 SPOKE_MAX_CONTAINERS);
	}
	if ((rv = spoke_pod_alloc_containers(p, (uint32_t)nc, (uint32_t)ni)) != FL_OK) {
		return fl_seterr(err, rv, "pod %s/%s: %s", p->ns, p->name, fl_strerror(rv));
	}
	if ((rv = containers_fill(cs, rules, p->containers, "container", err)) != FL_OK ||
	    (rv = containers_fill(ics, rules, p->init_containers, "initContainer", err)) != FL_OK) {
		return rv;
	}
	return FL_OK;
}

int spoke_kube_pod_from_json(json_t *obj, const spoke_overview_rules *rules, spoke_pod *p, char err[FL_ERR_LEN])
{
	memset(p, 0, sizeof(*p));
	int rv = pod_fill(obj, rules, p, err);
	if (rv != FL_OK) {
		spoke_kube_pod_clear(p);
	}
	return rv;
}

void spoke_kube_node_clear(spoke_node *n)
{
	free(n->taints);
	spoke_resources_free(&n->capacity);
	spoke_resources_free(&n->allocatable);
	memset(n, 0, sizeof(*n));
}

static void containers_free(spoke_container *c, uint32_t n)
{
	for (uint32_t i = 0; c != NULL && i < n; i++) {
		spoke_resources_free(&c[i].requests);
	}
	free(c);
}

void spoke_kube_pod_clear(spoke_pod *p)
{
	containers_free(p->containers, p->n_containers);
	containers_free(p->init_containers, p->n_init_containers);
	memset(p, 0, sizeof(*p));
}

static int resources_copy(spoke_resources *dst, const spoke_resources *src)
{
	memset(dst, 0, sizeof(*dst));
	for (uint32_t i = 0; i < src->n; i++) {
		int rv = spoke_resources_set(dst, src->items[i].name, src->items[i].value);
		if (rv != FL_OK) {
			return rv;
		}
	}
	return FL_OK;
}

int spoke_kube_node_copy(spoke_node *dst, const spoke_node *src)
{
	*dst = *src;
	dst->taints = NULL;
	dst->n_taints = dst->cap_taints = 0;
	memset(&dst->capacity, 0, sizeof(dst->capacity));
	memset(&dst->allocatable, 0, sizeof(dst->allocatable));
	if (src->n_taints > 0) {
		dst->taints = malloc(src->n_taints * sizeof(*src->taints));
		if (dst->taints == NULL) {
			spoke_kube_node_clear(dst);
			return FL_ENOMEM;
		}
		memcpy(dst->taints, src->taints, src->n_taints * sizeof(*src->taints));
		dst->n_taints = dst->cap_taints = src->n_taints;
	}
	if (resources_copy(&dst->capacity, &src->capacity) != FL_OK ||
	    resources_copy(&dst->allocatable, &src->allocatable) != FL_OK) {
		spoke_kube_node_clear(dst);
		return FL_ENOMEM;
	}
	return FL_OK;
}

int spoke_kube_pod_copy(spoke_pod *dst, const spoke_pod *src)
{
	*dst = *src;
	dst->containers = dst->init_containers = NULL;
	dst->n_containers = dst->n_init_containers = 0;
	if (spoke_pod_alloc_containers(dst, src->n_containers, src->n_init_containers) != FL_OK) {
		spoke_kube_pod_clear(dst);
		return FL_ENOMEM;
	}
	for (uint32_t i = 0; i < src->n_containers + src->n_init_containers; i++) {
		bool init = i >= src->n_containers;
		uint32_t j = init ? i - src->n_containers : i;
		spoke_container *d = init ? &dst->init_containers[j] : &dst->containers[j];
		const spoke_container *s = init ? &src->init_containers[j] : &src->containers[j];
		memcpy(d->name, s->name, sizeof(d->name));
		if (resources_copy(&d->requests, &s->requests) != FL_OK) {
			spoke_kube_pod_clear(dst);
			return FL_ENOMEM;
		}
	}
	return FL_OK;
}
