/* spoke_prom.c — the prometheus source: strict parsing of instant-query answers and the enrichment
 * of the model with them. HTTP is in spoke_prom_http.c, the config section in spoke_prom_config.c. */
#include "spoke_prom.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl_log.h"
#include "spoke_stats.h"

static spoke_prom_stats g_stats; /* the daemon collects from one thread */

void spoke_prom_get_stats(spoke_prom_stats *out)
{
	*out = g_stats;
}

/* The overview figure a cluster query feeds (0 for the per-GPU ones). */
static uint32_t overview_bit(spoke_prom_figure f)
{
	switch (f) {
	case SPOKE_PROM_GPU_UTILIZATION: return FL_OV_UTILIZATION;
	case SPOKE_PROM_TOTAL_SPACE: return FL_OV_TOTAL_SPACE;
	case SPOKE_PROM_USED_SPACE: return FL_OV_USED_SPACE;
	case SPOKE_PROM_TOTAL_INODES: return FL_OV_TOTAL_INODES;
	case SPOKE_PROM_USED_INODES: return FL_OV_USED_INODES;
	case SPOKE_PROM_READ_BANDWIDTH: return FL_OV_READ_BANDWIDTH;
	case SPOKE_PROM_WRITE_BANDWIDTH: return FL_OV_WRITE_BANDWIDTH;
	case SPOKE_PROM_TOTAL_TX: return FL_OV_TOTAL_TX;
	case SPOKE_PROM_TOTAL_RX: return FL_OV_TOTAL_RX;
	default: return 0;
	}
}

/* A sample value as Prometheus writes it (a JSON string: "12.5", "1e+09", "NaN", "+Inf"). True and
 * *out for a finite number within the figure's range. */
static bool parse_value(const json_t *v, spoke_prom_figure f, double *out)
{
	const char *s = json_string_value(v);
	if (s == NULL || s[0] == '\0' || json_string_length(v) > 64) {
		return false;
	}
	char *end = NULL;
	errno = 0;
	double d = strtod(s, &end);
	if (end == s || *end != '\0' || errno == ERANGE || !isfinite(d)) {
		return false;
	}
	switch (f) {
	case SPOKE_PROM_GPU_UTILIZATION: return (*out = d) >= 0 && d <= 100;
	case SPOKE_PROM_GPU_TEMPERATURE: return (*out = d) >= -273.15 && d <= 1000;
	case SPOKE_PROM_GPU_MEMORY_MIB: return (*out = d) >= 0 && d <= 1e12; /* fits int64 MiB */
	default: return (*out = d) >= 0;
	}
}

/* The node of a series: the value of the first of cfg's node labels it carries. */
static const char *series_node(const spoke_prom_config *cfg, const json_t *metric)
{
	for (uint32_t i = 0; i < cfg->n_node_labels; i++) {
		const char *v = json_string_value(json_object_get(metric, cfg->node_labels[i]));
		if (v != NULL) {
			return v[0] != '\0' && strlen(v) < FL_NAME_LEN ? v : NULL;
		}
	}
	return NULL;
}

/* The GPU index of a series: its gpu_label, a decimal 0..INT32_MAX. */
static bool series_gpu(const spoke_prom_config *cfg, const json_t *metric, int32_t *out)
{
	const char *v = json_string_value(json_object_get(metric, cfg->gpu_label));
	if (v == NULL || v[0] == '\0' || strlen(v) > 10 || strspn(v, "0123456789") != strlen(v)) {
		return false;
	}
	long long x = strtoll(v, NULL, 10);
	if (x > INT32_MAX) {
		return false;
	}
	*out = (int32_t)x;
	return true;
}

/* The value of the first of labels[] that metric carries non-empty, or NULL. */
static const char *first_label(const json_t *metric, const char *const *labels, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *v = json_string_value(json_object_get(metric, labels[i]));
		if (v != NULL && v[0] != '\0') {
			return v;
		}
	}
	return NULL;
}

/* "NAMESPACE/POD" of a utilization series that names its pod (malloc'd), NULL when it names none or the
 * names do not fit the model's fields; *oom when memory ran out. */
static char *series_pod(const json_t *metric, bool *oom)
{
	static const char *const pods[] = {"exported_pod", "pod"}, *const nss[] = {"exported_namespace", "namespace"};
	const char *pod = first_label(metric, pods, 2), *ns = first_label(metric, nss, 2);
	*oom = false;
	if (pod == NULL || ns == NULL || strlen(pod) >= FL_NAME_LEN || strlen(ns) >= SPOKE_NAMESPACE_LEN) {
		return NULL;
	}
	size_t len = strlen(ns) + strlen(pod) + 2;
	char *out = malloc(len);
	if (out == NULL) {
		*oom = true;
		return NULL;
	}
	snprintf(out, len, "%s/%s", ns, pod);
	return out;
}

void spoke_prom_samples_free(spoke_prom_sample *samples, size_t n)
{
	for (size_t i = 0; samples != NULL && i < n; i++) {
		free(samples[i].pod);
	}
	free(samples);
}

/* Prometheus's own words for a failed query ("bad_data: parse error at char 5: ..."), into err. */
static int prom_error(const json_t *root, char err[FL_ERR_LEN])
{
	const char *type = json_string_value(json_object_get(root, "errorType"));
	const char *msg = json_string_value(json_object_get(root, "error"));
	const char *status = json_string_value(json_object_get(root, "status"));
	if (msg != NULL) {
		return fl_seterr(err, FL_EPROTO, "prometheus: query failed: %.32s: %.160s",
		                 type != NULL ? type : "error", msg);
	}
	return fl_seterr(err, FL_EPROTO, "prometheus: answer status is '%.32s', not 'success'",
	                 status != NULL ? status : "(missing)");
}

int spoke_prom_parse(const spoke_prom_config *cfg, spoke_prom_figure f, const char *body, size_t len,
                     spoke_prom_sample **out, size_t *n_out, double *sum, spoke_prom_stats *st, char err[FL_ERR_LEN])
{
	*out = NULL;
	*n_out = 0;
	*sum = 0;
	bool per_gpu = (int)f < SPOKE_PROM_GPU_FIGURES;
	json_error_t je;
	json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		return fl_seterr(err, FL_EPROTO, "prometheus: answer is not JSON: %.120s (at byte %d)", je.text,
		                 je.position);
	}
	int rv = FL_OK;
	const char *status = json_string_value(json_object_get(root, "status"));
	json_t *data = json_object_get(root, "data");
	const char *type = json_string_value(json_object_get(data, "resultType"));
	json_t *result = json_object_get(data, "result");
	if (!json_is_object(root) || status == NULL || strcmp(status, "success") != 0) {
		rv = prom_error(root, err);
		goto out;
	}
	if (type != NULL && strcmp(type, "scalar") == 0 && !per_gpu) {
		double v;
		if (!json_is_array(result) || json_array_size(result) != 2 ||
		    !parse_value(json_array_get(result, 1), f, &v)) {
			rv = fl_seterr(err, FL_EPROTO, "prometheus: scalar answer is not [time, \"number\"]");
		} else {
			*sum = v;
			*n_out = 1;
		}
		goto out;
	}
	if (type == NULL || strcmp(type, "vector") != 0 || !json_is_array(result)) {
		rv = fl_seterr(err, FL_EPROTO, "prometheus: expected a vector answer (an instant query), got %.16s",
		               type != NULL ? type : "no resultType");
		goto out;
	}
	size_t n = json_array_size(result);
	if (n > SPOKE_PROM_MAX_SERIES) {
		rv = fl_seterr(err, FL_ELIMIT, "prometheus: %zu series, more than the %u allowed", n,
		               SPOKE_PROM_MAX_SERIES);
		goto out;
	}
	if (per_gpu && n > 0 && (*out = malloc(n * sizeof(**out))) == NULL) {
		rv = fl_seterr(err, FL_ENOMEM, "prometheus: out of memory for %zu series", n);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *item = json_array_get(result, i);
		json_t *metric = json_object_get(item, "metric");
		json_t *value = json_object_get(item, "value");
		double v;
		if (!json_is_object(metric) || !json_is_array(value) || json_array_size(value) != 2 ||
		    !json_is_number(json_array_get(value, 0)) || !parse_value(json_array_get(value, 1), f, &v)) {
			st->bad_series++;
			continue;
		}
		if (!per_gpu) {
			*sum += v;
			(*n_out)++;
			continue;
		}
		const char *node = series_node(cfg, metric);
		int32_t gpu;
		if (node == NULL || !series_gpu(cfg, metric, &gpu)) {
			st->bad_series++;
			continue;
		}
		spoke_prom_sample *s = &(*out)[(*n_out)++];
		snprintf(s->node, sizeof(s->node), "%s", node);
		s->gpu_id = gpu;
		s->value = v;
		s->pod = NULL;
		bool oom = false;
		if (f == SPOKE_PROM_GPU_UTILIZATION && (s->pod = series_pod(metric, &oom)) == NULL && oom) {
			rv = fl_seterr(err, FL_ENOMEM, "prometheus: out of memory for %zu series", n);
			break;
		}
	}
	if (!isfinite(*sum)) {
		rv = fl_seterr(err, FL_EPROTO, "prometheus: the series add up to more than a double holds");
	}
out:
	json_decref(root);
	if (rv != FL_OK) {
		spoke_prom_samples_free(*out, *n_out);
		*out = NULL;
		*n_out = 0;
		*sum = 0;
	}
	return rv;
}

/* --- applying per-GPU samples to the model ------------------------------------------------------- */

/* Nodes sorted by name. */
static int cmp_node_ptr(const void *a, const void *b)
{
	return strcmp((*(const spoke_node *const *)a)->name, (*(const spoke_node *const *)b)->name);
}

/* The model's node called name (through the sorted array byname), or NULL. */
static const spoke_node *find_node(const spoke_node *const *byname, uint32_t n, const char *name)
{
	spoke_node key;
	const spoke_node *kp = &key;
	snprintf(key.name, sizeof(key.name), "%s", name);
	const spoke_node *const *hit = n > 0 ? bsearch(&kp, byname, n, sizeof(*byname), cmp_node_ptr) : NULL;
	return hit != NULL ? *hit : NULL;
}

/* Samples sorted by (node, gpu_id). */
static int cmp_sample_ptr(const void *a, const void *b)
{
	const spoke_prom_sample *x = *(const spoke_prom_sample *const *)a, *y = *(const spoke_prom_sample *const *)b;
	int c = strcmp(x->node, y->node);
	return c != 0 ? c : (x->gpu_id > y->gpu_id) - (x->gpu_id < y->gpu_id);
}

/* GPU rows sorted by (node, gpu_id); the index holds row numbers so it survives the array moving. */
static const spoke_model *g_sort_model; /* qsort has no context argument; set only around the sort */

static int gpu_key_cmp(const char *na, int32_t ia, const char *nb, int32_t ib)
{
	int c = strcmp(na, nb);
	return c != 0 ? c : (ia > ib) - (ia < ib);
}

static int cmp_gpu_row(const void *a, const void *b)
{
	const spoke_gpu *x = &g_sort_model->gpus[*(const uint32_t *)a], *y = &g_sort_model->gpus[*(const uint32_t *)b];
	return gpu_key_cmp(x->node, x->gpu_id, y->node, y->gpu_id);
}

/* The row of (node, gpu) in the sorted index ix (n items), or -1. */
static int64_t find_gpu(const spoke_model *m, const uint32_t *ix, uint32_t n, const char *node, int32_t gpu)
{
	uint32_t lo = 0, hi = n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		const spoke_gpu *g = &m->gpus[ix[mid]];
		int c = gpu_key_cmp(g->node, g->gpu_id, node, gpu);
		if (c == 0) {
			return ix[mid];
		}
		if (c < 0) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return -1;
}

static int build_gpu_index(const spoke_model *m, uint32_t **ix)
{
	*ix = NULL;
	if (m->n_gpus == 0) {
		return FL_OK;
	}
	if ((*ix = malloc((size_t)m->n_gpus * sizeof(**ix))) == NULL) {
		return FL_ENOMEM;
	}
	for (uint32_t i = 0; i < m->n_gpus; i++) {
		(*ix)[i] = i;
	}
	g_sort_model = m;
	qsort(*ix, m->n_gpus, sizeof(**ix), cmp_gpu_row);
	g_sort_model = NULL;
	return FL_OK;
}

/* Utilization only: clears every GPU's figure (Prometheus is the one source of utilization now) and
 * rebuilds the pod GPU rows from the samples that name a namespace/pod. FL_OK, or an error with err filled. */
static int reset_utilization(spoke_model *m, const spoke_prom_sample *s, size_t n, char err[FL_ERR_LEN])
{
	int rv;
	for (uint32_t g = 0; g < m->n_gpus; g++) {
		m->gpus[g].has_utilization = false; /* Prometheus is the one source of utilization now */
		m->gpus[g].utilization = 0;
	}
	m->n_pod_gpus = 0;
	for (size_t i = 0; i < n; i++) {
		spoke_pod_gpu *pg;
		const char *slash = s[i].pod != NULL ? strchr(s[i].pod, '/') : NULL;
		if (slash == NULL) {
			continue;
		}
		if ((rv = spoke_model_add_pod_gpu(m, &pg)) != FL_OK) {
			return fl_seterr(err, rv, "prometheus: out of memory for pod GPU figures");
		}
		snprintf(pg->ns, sizeof(pg->ns), "%.*s", (int)(slash - s[i].pod), s[i].pod);
		snprintf(pg->pod, sizeof(pg->pod), "%s", slash + 1);
		pg->utilization = s[i].value;
	}
	return FL_OK;
}

/* Pass 2 of spoke_prom_apply_gpu: each sample's value into its GPU row (ix: build_gpu_index's order);
 * samples with no row count as unmatched. */
static void apply_values(spoke_model *m, const uint32_t *ix, spoke_prom_figure f, const spoke_prom_sample *s, size_t n,
                         spoke_prom_stats *st)
{
	for (size_t i = 0; i < n; i++) {
		int64_t row = find_gpu(m, ix, m->n_gpus, s[i].node, s[i].gpu_id);
		if (row < 0) {
			st->unmatched++;
			continue;
		}
		spoke_gpu *g = &m->gpus[row];
		switch (f) {
		case SPOKE_PROM_GPU_UTILIZATION:
			g->utilization = s[i].value;
			g->has_utilization = true;
			break;
		case SPOKE_PROM_GPU_MEMORY_MIB: g->memory_mib = (int64_t)llround(s[i].value); break;
		case SPOKE_PROM_GPU_POWER: g->power = s[i].value; break;
		case SPOKE_PROM_GPU_TEMPERATURE: g->temperature = s[i].value; break;
		default: break;
		}
	}
}

int spoke_prom_apply_gpu(spoke_model *m, spoke_prom_figure f, const spoke_prom_sample *s, size_t n,
                         spoke_prom_stats *st, char err[FL_ERR_LEN])
{
	const spoke_node **byname = NULL;
	const spoke_prom_sample **missing = NULL;
	uint32_t *ix = NULL;
	size_t n_missing = 0;
	int rv = FL_OK;
	if ((m->n_nodes > 0 && (byname = malloc((size_t)m->n_nodes * sizeof(*byname))) == NULL) ||
	    (n > 0 && (missing = malloc(n * sizeof(*missing))) == NULL)) {
		free(byname);
		return fl_seterr(err, FL_ENOMEM, "prometheus: out of memory for %u nodes", m->n_nodes);
	}
	for (uint32_t i = 0; i < m->n_nodes; i++) {
		byname[i] = &m->nodes[i];
	}
	if (m->n_nodes > 0) {
		qsort(byname, m->n_nodes, sizeof(*byname), cmp_node_ptr);
	}
	if (f == SPOKE_PROM_GPU_UTILIZATION && (rv = reset_utilization(m, s, n, err)) != FL_OK) {
		free(byname);
		free(missing);
		return rv;
	}
	/* Pass 1: rows for GPUs of known nodes that the node source did not list (a kube model has none),
	 * each added once however often the answer names it; O((G + S) log(G + S)). */
	if ((rv = build_gpu_index(m, &ix)) != FL_OK) {
		goto nomem;
	}
	for (size_t i = 0; i < n; i++) {
		if (find_node(byname, m->n_nodes, s[i].node) != NULL &&
		    find_gpu(m, ix, m->n_gpus, s[i].node, s[i].gpu_id) < 0) {
			missing[n_missing++] = &s[i];
		}
	}
	if (n_missing > 0) {
		qsort(missing, n_missing, sizeof(*missing), cmp_sample_ptr);
	}
	for (size_t i = 0; i < n_missing; i++) {
		if (i > 0 && cmp_sample_ptr(&missing[i - 1], &missing[i]) == 0) {
			continue;
		}
		char model[FL_MODEL_LEN];
		snprintf(model, sizeof(model), "%s", find_node(byname, m->n_nodes, missing[i]->node)->gpu_product);
		spoke_gpu *g;
		if ((rv = spoke_model_add_gpu(m, &g)) != FL_OK) {
			fl_seterr(err, rv, "prometheus: cannot add a GPU row for %.64s/%d", missing[i]->node,
			          (int)missing[i]->gpu_id);
			free(byname);
			free(missing);
			free(ix);
			return rv;
		}
		snprintf(g->node, sizeof(g->node), "%s", missing[i]->node);
		g->gpu_id = missing[i]->gpu_id;
		snprintf(g->gpu_model, sizeof(g->gpu_model), "%s", model);
		g->numa = -1;
	}
	/* Pass 2: the values. */
	free(ix);
	if ((rv = build_gpu_index(m, &ix)) != FL_OK) {
		goto nomem;
	}
	apply_values(m, ix, f, s, n, st);
	free(byname);
	free(missing);
	free(ix);
	return FL_OK;
nomem:
	free(byname);
	free(missing);
	free(ix);
	return fl_seterr(err, FL_ENOMEM, "prometheus: out of memory for %u GPU rows", m->n_gpus);
}

/* --- one cycle ------------------------------------------------------------------------------------ */

/* Figure f could not be had this cycle: say so in the model. */
static void mark_unknown(spoke_model *m, spoke_prom_figure f)
{
	m->unknown |= overview_bit(f);
	if (f == SPOKE_PROM_GPU_UTILIZATION) {
		for (uint32_t g = 0; g < m->n_gpus; g++) {
			m->gpus[g].has_utilization = false;
			m->gpus[g].utilization = 0;
		}
		m->n_pod_gpus = 0;
	}
}

static void set_cluster_figure(spoke_model *m, spoke_prom_figure f, double v)
{
	spoke_storage *s = &m->storage;
	switch (f) {
	case SPOKE_PROM_TOTAL_SPACE: s->total_space = v; break;
	case SPOKE_PROM_USED_SPACE: s->used_space = v; break;
	case SPOKE_PROM_TOTAL_INODES: s->total_inodes = v; break;
	case SPOKE_PROM_USED_INODES: s->used_inodes = v; break;
	case SPOKE_PROM_READ_BANDWIDTH: s->read_bandwidth = v; break;
	case SPOKE_PROM_WRITE_BANDWIDTH: s->write_bandwidth = v; break;
	case SPOKE_PROM_TOTAL_TX: s->rdma_tx = v; break;
	case SPOKE_PROM_TOTAL_RX: s->rdma_rx = v; break;
	default: break;
	}
}

/* One query: fetch, parse, apply. FL_ENOMEM stops the cycle; FL_EIO/FL_ETIMEDOUT mean Prometheus
 * cannot be reached; other failures concern this query only. err says what went wrong. */
static int run_query(const spoke_prom_config *cfg, spoke_prom_figure f, spoke_model *m, char err[FL_ERR_LEN])
{
	char *body = NULL;
	size_t len = 0;
	long status = 0;
	spoke_prom_sample *samples = NULL;
	size_t n = 0;
	double sum = 0;
	g_stats.queries++;
	int rv = spoke_prom_http_query(cfg, cfg->queries[f], &body, &len, &status, err);
	if (rv == FL_OK) {
		rv = spoke_prom_parse(cfg, f, body, len, &samples, &n, &sum, &g_stats, err);
		if (rv == FL_OK && status != 200) {
			rv = fl_seterr(err, FL_EPROTO, "prometheus: HTTP %ld with a success answer", status);
		} else if (rv != FL_OK && status != 200) {
			char inner[FL_ERR_LEN];
			snprintf(inner, sizeof(inner), "%s", err);
			fl_seterr(err, rv, "HTTP %ld: %s", status, inner);
		}
	}
	free(body);
	if (rv == FL_OK && n == 0 && overview_bit(f) != 0) {
		/* nothing measured it: Lens would report 0, we say unknown */
		rv = fl_seterr(err, FL_ENOTFOUND, "prometheus: no usable series in the answer");
	}
	if (rv == FL_OK) {
		if ((int)f < SPOKE_PROM_GPU_FIGURES) {
			rv = spoke_prom_apply_gpu(m, f, samples, n, &g_stats, err);
		} else {
			set_cluster_figure(m, f, sum);
		}
	}
	if (rv == FL_OK) {
		m->unknown &= ~overview_bit(f); /* measured now, whatever the node source could not say */
	}
	spoke_prom_samples_free(samples, n);
	if (rv != FL_OK && rv != FL_ENOMEM) {
		g_stats.failed++;
		spoke_stats_count(spoke_stats_global(), SPOKE_C_PROM_FAILURES, 1);
		g_stats.oversized += rv == FL_ELIMIT;
	}
	return rv;
}

int spoke_prom_collect(const spoke_prom_config *cfg, spoke_model *m, char err[FL_ERR_LEN])
{
	bool reachable = true;
	uint64_t bad0 = g_stats.bad_series, unmatched0 = g_stats.unmatched;
	for (int i = 0; i < SPOKE_PROM_FIGURES; i++) {
		spoke_prom_figure f = (spoke_prom_figure)i;
		if (cfg->queries[f][0] == '\0') {
			continue;
		}
		if (!reachable) {
			mark_unknown(m, f);
			continue;
		}
		char qerr[FL_ERR_LEN];
		int rv = run_query(cfg, f, m, qerr);
		if (rv == FL_ENOMEM) {
			return fl_seterr(err, rv, "%s", qerr);
		}
		if (rv != FL_OK) {
			mark_unknown(m, f);
			reachable = rv != FL_EIO && rv != FL_ETIMEDOUT;
			fl_warn("prometheus %s: %s%s", spoke_prom_config_figure_key(f), qerr,
			        reachable ? "" : "; the other queries are skipped this cycle");
		}
	}
	if (g_stats.bad_series > bad0 || g_stats.unmatched > unmatched0) {
		fl_warn("prometheus: skipped %llu unusable series (NaN, Inf, bad or missing labels, out of range) and "
		        "%llu of nodes the model does not hold this cycle",
		        (unsigned long long)(g_stats.bad_series - bad0),
		        (unsigned long long)(g_stats.unmatched - unmatched0));
	}
	return FL_OK;
}
