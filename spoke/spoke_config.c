/* spoke_config.c — spoke.yaml through fl_yaml, validated key by key. */
#include "spoke_config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fl_yaml.h"
#include "spoke_http.h"

const char *spoke_config_source_name(spoke_source_kind kind)
{
	return kind == SPOKE_SOURCE_SIM    ? "sim"
	       : kind == SPOKE_SOURCE_KUBE ? "kube"
	       : kind == SPOKE_SOURCE_NODE ? "node"
	                                   : "unknown";
}

/* Reads the list at map[key] (if present) into names (max entries of len bytes each, *n set).
 * Every item must be a non-empty string that fits. */
static int get_name_list(fl_yaml_doc *doc, fl_yaml_node map, const char *key, char *names, size_t len, uint32_t max,
                         uint32_t *n, char err[FL_ERR_LEN])
{
	fl_yaml_node seq = fl_yaml_get(doc, map, key);
	if (seq == 0) {
		return FL_OK;
	}
	if (!fl_yaml_is_seq(doc, seq)) {
		return fl_yaml_error(doc, seq, key, err, "expected a list of names");
	}
	size_t count = fl_yaml_seq_len(doc, seq);
	if (count > max) {
		return fl_yaml_error(doc, seq, key, err, "at most %u entries, got %zu", max, count);
	}
	for (size_t i = 0; i < count; i++) {
		fl_yaml_node item = fl_yaml_seq_item(doc, seq, i);
		const char *v = fl_yaml_scalar(doc, item);
		if (v == NULL || v[0] == '\0') {
			return fl_yaml_error(doc, item, key, err, "entry %zu: expected a non-empty name", i + 1);
		}
		if (strlen(v) >= len) {
			return fl_yaml_error(doc, item, key, err, "entry %zu: longer than %zu characters", i + 1,
			                     len - 1);
		}
		snprintf(names + i * len, len, "%s", v);
	}
	*n = (uint32_t)count;
	return FL_OK;
}

/* True for "<scheme>://<rest>" with a transport nng has here and a non-empty rest. */
static bool hub_url_ok(const char *url)
{
	static const char *const schemes[] = {"tcp://", "tcp4://",   "tcp6://", "tls+tcp://",
	                                      "ipc://", "inproc://", NULL};
	for (const char *const *s = schemes; *s != NULL; s++) {
		size_t n = strlen(*s);
		if (strncmp(url, *s, n) == 0 && url[n] != '\0') {
			return true;
		}
	}
	return false;
}

/* Reads the path at map[key] (if present; `required` as for fl_yaml_get_str) into out, resolved
 * against the folder of the config file (doc->path) unless absolute. With must_read, the file must be
 * readable now, so that a wrong path is reported with its line rather than at first use. */
static int get_path(fl_yaml_doc *doc, fl_yaml_node map, const char *key, bool required, bool must_read, char *out,
                    size_t outlen, char err[FL_ERR_LEN])
{
	char raw[SPOKE_PATH_LEN] = "";
	int rv = fl_yaml_get_str(doc, map, key, required, raw, sizeof(raw), err);
	if (rv != FL_OK || raw[0] == '\0') {
		if (rv == FL_OK && fl_yaml_get(doc, map, key) != 0) {
			return fl_yaml_error(doc, fl_yaml_get(doc, map, key), key, err, "expected a path, got ''");
		}
		return rv;
	}
	fl_yaml_node node = fl_yaml_get(doc, map, key);
	const char *slash = strrchr(doc->path, '/');
	int n;
	if (raw[0] == '/' || slash == NULL) {
		n = snprintf(out, outlen, "%s", raw);
	} else {
		n = snprintf(out, outlen, "%.*s/%s", (int)(slash - doc->path), doc->path, raw);
	}
	if (n < 0 || (size_t)n >= outlen) {
		out[0] = '\0';
		return fl_yaml_error(doc, node, key, err, "path longer than %zu characters", outlen - 1);
	}
	if (must_read && access(out, R_OK) != 0) {
		return fl_yaml_error(doc, node, key, err, "cannot read %s: %s", out, strerror(errno));
	}
	return FL_OK;
}

/* key_file: required; the key is loaded here so a bad key stops the spoke at start with its line. */
static int load_key(fl_yaml_doc *doc, fl_yaml_node root, spoke_config *out, char err[FL_ERR_LEN])
{
	int rv = get_path(doc, root, "key_file", true, false, out->key_file, sizeof(out->key_file), err);
	if (rv != FL_OK) {
		return rv;
	}
	char kerr[FL_ERR_LEN];
	if (fl_key_load(out->key_file, &out->key, kerr) != FL_OK) {
		return fl_yaml_error(doc, fl_yaml_get(doc, root, "key_file"), "key_file", err, "%s", kerr);
	}
	return FL_OK;
}

/* spool_dir, spool_memory_bytes, spool_max_bytes, spool_supersede. */
static int load_spool(fl_yaml_doc *doc, fl_yaml_node root, spoke_config *out, char err[FL_ERR_LEN])
{
	int64_t mem = (int64_t)out->spool_memory_bytes, max = (int64_t)out->spool_max_bytes;
	int rv;
	if ((rv = get_path(doc, root, "spool_dir", false, false, out->spool_dir, sizeof(out->spool_dir), err)) !=
	        FL_OK ||
	    (rv = fl_yaml_get_int(doc, root, "spool_memory_bytes", false, (int64_t)SPOKE_SPOOL_BYTES_MIN,
	                          (int64_t)SPOKE_SPOOL_BYTES_MAX, &mem, err)) != FL_OK ||
	    (rv = fl_yaml_get_int(doc, root, "spool_max_bytes", false, (int64_t)SPOKE_SPOOL_BYTES_MIN,
	                          (int64_t)SPOKE_SPOOL_BYTES_MAX, &max, err)) != FL_OK ||
	    (rv = fl_yaml_get_bool(doc, root, "spool_supersede", false, &out->spool_supersede, err)) != FL_OK) {
		return rv;
	}
	fl_yaml_node max_node = fl_yaml_get(doc, root, "spool_max_bytes");
	if (max_node != 0 && out->spool_dir[0] == '\0') {
		return fl_yaml_error(doc, max_node, "spool_max_bytes", err,
		                     "only applies with spool_dir (without it the spool is memory only, "
		                     "bounded by spool_memory_bytes)");
	}
	if (out->spool_dir[0] != '\0' && mem > max) {
		return fl_yaml_error(
		    doc, fl_yaml_get(doc, root, max_node != 0 ? "spool_max_bytes" : "spool_memory_bytes"),
		    max_node != 0 ? "spool_max_bytes" : "spool_memory_bytes", err,
		    "spool_memory_bytes (%lld) must not exceed spool_max_bytes (%lld)", (long long)mem, (long long)max);
	}
	out->spool_memory_bytes = (uint64_t)mem;
	out->spool_max_bytes = (uint64_t)max;
	return FL_OK;
}

/* tls: { ca_file, server_name, cert_file, key_file }, required exactly when hub_url is tls+tcp://. */
static int load_tls(fl_yaml_doc *doc, fl_yaml_node root, spoke_config *out, char err[FL_ERR_LEN])
{
	static const char *const keys[] = {"ca_file", "server_name", "cert_file", "key_file", NULL};
	out->tls_enabled = strncmp(out->hub_url, "tls+tcp://", 10) == 0;
	fl_yaml_node tls = fl_yaml_get(doc, root, "tls");
	if (tls == 0) {
		if (out->tls_enabled) {
			return fl_yaml_error(doc, fl_yaml_get(doc, root, "hub_url"), "hub_url", err,
			                     "a tls+tcp:// hub needs a tls: section with ca_file");
		}
		return FL_OK;
	}
	if (!out->tls_enabled) {
		return fl_yaml_error(doc, tls, "tls", err, "only used with a tls+tcp:// hub_url");
	}
	if (!fl_yaml_is_map(doc, tls)) {
		return fl_yaml_error(doc, tls, "tls", err,
		                     "expected a mapping with ca_file (and server_name, "
		                     "cert_file, key_file)");
	}
	spoke_tls_config *t = &out->tls;
	int rv;
	if ((rv = fl_yaml_check_keys(doc, tls, keys, err)) != FL_OK ||
	    (rv = get_path(doc, tls, "ca_file", true, true, t->ca_file, sizeof(t->ca_file), err)) != FL_OK ||
	    (rv = fl_yaml_get_str(doc, tls, "server_name", false, t->server_name, sizeof(t->server_name), err)) !=
	        FL_OK ||
	    (rv = get_path(doc, tls, "cert_file", false, true, t->cert_file, sizeof(t->cert_file), err)) != FL_OK ||
	    (rv = get_path(doc, tls, "key_file", false, true, t->key_file, sizeof(t->key_file), err)) != FL_OK) {
		return rv;
	}
	if ((t->cert_file[0] == '\0') != (t->key_file[0] == '\0')) {
		const char *given = t->cert_file[0] != '\0' ? "cert_file" : "key_file";
		return fl_yaml_error(doc, fl_yaml_get(doc, tls, given), given, err,
		                     "cert_file and key_file go together (a client certificate and its key)");
	}
	return FL_OK;
}

static int load_sim(fl_yaml_doc *doc, fl_yaml_node sim, spoke_sim_config *cfg, char err[FL_ERR_LEN])
{
	static const char *const keys[] = {"nodes", "gpus_per_node", "seed", NULL};
	if (!fl_yaml_is_map(doc, sim)) {
		return fl_yaml_error(doc, sim, "sim", err, "expected a mapping with nodes, gpus_per_node, seed");
	}
	int rv = fl_yaml_check_keys(doc, sim, keys, err);
	if (rv != FL_OK) {
		return rv;
	}
	spoke_sim_config_default(cfg);
	int64_t nodes = 0, gpus = cfg->gpus_per_node, seed = (int64_t)cfg->seed;
	if ((rv = fl_yaml_get_int(doc, sim, "nodes", true, 1, SPOKE_SIM_MAX_NODES, &nodes, err)) != FL_OK ||
	    (rv = fl_yaml_get_int(doc, sim, "gpus_per_node", false, 1, SPOKE_SIM_MAX_GPUS_PER_NODE, &gpus, err)) !=
	        FL_OK ||
	    (rv = fl_yaml_get_int(doc, sim, "seed", false, 0, INT64_MAX, &seed, err)) != FL_OK) {
		return rv;
	}
	cfg->nodes = (uint32_t)nodes;
	cfg->gpus_per_node = (uint32_t)gpus;
	cfg->seed = (uint64_t)seed;
	return FL_OK;
}

/* sources.prometheus (optional, beside a node source): spoke_prom_config.c reads it. */
static int load_prometheus(fl_yaml_doc *doc, fl_yaml_node src, spoke_config *out, char err[FL_ERR_LEN])
{
	fl_yaml_node prom = fl_yaml_get(doc, src, "prometheus");
	out->has_prom = prom != 0;
	return prom != 0 ? spoke_prom_config_load(doc, prom, &out->prom, err) : FL_OK;
}

/* sources.kube: { kubeconfig, serviceaccount_dir, page_limit, max_object_bytes, max_page_bytes,
 * watch_timeout, sync_timeout, debounce } (spoke/README.md). */
static int load_kube(fl_yaml_doc *doc, fl_yaml_node kube, spoke_kube_config *cfg, char err[FL_ERR_LEN])
{
	static const char *const keys[] = {"kubeconfig",       "serviceaccount_dir", "page_limit",
	                                   "max_object_bytes", "max_page_bytes",     "watch_timeout",
	                                   "sync_timeout",     "debounce",           NULL};
	spoke_kube_config_default(cfg);
	if (fl_yaml_is_scalar(doc, kube) &&
	    (fl_yaml_scalar(doc, kube) == NULL || fl_yaml_scalar(doc, kube)[0] == '\0')) {
		return FL_OK; /* `kube:` alone: in-cluster with the defaults */
	}
	if (!fl_yaml_is_map(doc, kube)) {
		return fl_yaml_error(doc, kube, "kube", err, "expected a mapping (kubeconfig, page_limit, ...)");
	}
	int64_t limit = cfg->page_limit, obj = cfg->max_object_bytes, page = cfg->max_page_bytes;
	int rv;
	if ((rv = fl_yaml_check_keys(doc, kube, keys, err)) != FL_OK ||
	    (rv = get_path(doc, kube, "kubeconfig", false, true, cfg->kubeconfig, sizeof(cfg->kubeconfig), err)) !=
	        FL_OK ||
	    (rv = get_path(doc, kube, "serviceaccount_dir", false, false, cfg->sa_dir, sizeof(cfg->sa_dir), err)) !=
	        FL_OK ||
	    (rv = fl_yaml_get_int(doc, kube, "page_limit", false, 1, 10000, &limit, err)) != FL_OK ||
	    (rv = fl_yaml_get_int(doc, kube, "max_object_bytes", false, 4096, 256 << 20, &obj, err)) != FL_OK ||
	    (rv = fl_yaml_get_int(doc, kube, "max_page_bytes", false, 65536, 1ll << 32, &page, err)) != FL_OK ||
	    (rv = fl_yaml_get_duration(doc, kube, "watch_timeout", false, &cfg->watch_timeout_ms, err)) != FL_OK ||
	    (rv = fl_yaml_get_duration(doc, kube, "sync_timeout", false, &cfg->sync_timeout_ms, err)) != FL_OK ||
	    (rv = fl_yaml_get_duration(doc, kube, "debounce", false, &cfg->debounce_ms, err)) != FL_OK) {
		return rv;
	}
	if (cfg->watch_timeout_ms < 1000 || cfg->watch_timeout_ms > 3600000) {
		return fl_yaml_error(doc, fl_yaml_get(doc, kube, "watch_timeout"), "watch_timeout", err,
		                     "expected 1s to 1h");
	}
	if (cfg->debounce_ms > 60000) {
		return fl_yaml_error(doc, fl_yaml_get(doc, kube, "debounce"), "debounce", err, "at most 60s");
	}
	cfg->page_limit = (uint32_t)limit;
	cfg->max_object_bytes = obj;
	cfg->max_page_bytes = page;
	return FL_OK;
}

static int load_sources(fl_yaml_doc *doc, fl_yaml_node root, spoke_config *out, char err[FL_ERR_LEN])
{
	static const char *const keys[] = {"sim", "kube", "prometheus", NULL};
	fl_yaml_node src = fl_yaml_get(doc, root, "sources");
	if (src == 0) {
		return fl_yaml_error(doc, root, "sources", err,
		                     "missing (required): configure exactly one source, e.g. sim");
	}
	if (!fl_yaml_is_map(doc, src)) {
		return fl_yaml_error(doc, src, "sources", err,
		                     "expected a mapping with exactly one source (sim, kube)");
	}
	int rv = fl_yaml_check_keys(doc, src, keys, err);
	if (rv != FL_OK) {
		return rv;
	}
	if ((rv = load_prometheus(doc, src, out, err)) != FL_OK) {
		return rv;
	}
	size_t node_sources = fl_yaml_map_len(doc, src) - (out->has_prom ? 1 : 0);
	if (node_sources != 1) {
		return fl_yaml_error(doc, src, "sources", err,
		                     "configure exactly one node source (sim or kube), got %zu%s", node_sources,
		                     out->has_prom ? " (prometheus only adds figures to a node source's nodes)" : "");
	}
	if (fl_yaml_get(doc, src, "kube") != 0) {
		out->source = SPOKE_SOURCE_KUBE;
		rv = load_kube(doc, fl_yaml_get(doc, src, "kube"), &out->kube, err);
		out->kube.max_backoff_ms = out->max_backoff_ms;
		return rv;
	}
	out->source = SPOKE_SOURCE_SIM;
	rv = load_sim(doc, fl_yaml_get(doc, src, "sim"), &out->sim, err);
	if (rv == FL_OK) {
		memcpy(out->sim.cluster, out->cluster, sizeof(out->sim.cluster)); /* names its SaFE workloads */
	}
	return rv;
}

/* Whether s is an environment variable name: [A-Za-z_][A-Za-z0-9_]*. */
static bool env_name_ok(const char *s)
{
	for (size_t i = 0; s[i] != '\0'; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
		      (i > 0 && c >= '0' && c <= '9'))) {
			return false;
		}
	}
	return s[0] != '\0';
}

/* job_env: the environment variables of GPU jobs the node role keeps (default: where a job runs in a
 * distributed run and which accelerators it sees; none of them carries a secret). [] = environ never read. */
static int load_job_env(fl_yaml_doc *doc, fl_yaml_node root, spoke_config *out, char err[FL_ERR_LEN])
{
	static const char *const defaults[] = {"CUDA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES",
	                                       "ROCR_VISIBLE_DEVICES", "ASCEND_RT_VISIBLE_DEVICES",
	                                       "WORLD_SIZE",           "RANK",
	                                       "LOCAL_RANK",           "MASTER_ADDR",
	                                       "MASTER_PORT"};
	fl_yaml_node list = fl_yaml_get(doc, root, "job_env");
	if (list == 0) {
		for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
			snprintf(out->job_env[i], sizeof(out->job_env[i]), "%s", defaults[i]);
		}
		out->n_job_env = (uint32_t)(sizeof(defaults) / sizeof(defaults[0]));
		return FL_OK;
	}
	int rv = get_name_list(doc, root, "job_env", &out->job_env[0][0], sizeof(out->job_env[0]), SPOKE_MAX_JOB_ENV,
	                       &out->n_job_env, err);
	for (uint32_t i = 0; rv == FL_OK && i < out->n_job_env; i++) {
		if (!env_name_ok(out->job_env[i])) {
			rv =
			    fl_yaml_error(doc, fl_yaml_seq_item(doc, list, i), "job_env", err,
			                  "entry %u: '%s' is not an environment variable name ([A-Za-z_][A-Za-z0-9_]*)",
			                  i + 1, out->job_env[i]);
		}
	}
	return rv;
}

/* role: cluster (default) or node. The node role's keys (host_root, node_name, nvml_library, dcmi_library,
 * job_cmdline, job_env) are errors in the cluster role, and sources is one in the node role. */
static int load_role(fl_yaml_doc *doc, fl_yaml_node root, spoke_config *out, char err[FL_ERR_LEN])
{
	static const char *const node_keys[] = {"host_root",    "node_name",   "nvml_library",
	                                        "dcmi_library", "job_cmdline", "job_env"};
	char role[16] = "cluster";
	int rv = fl_yaml_get_str(doc, root, "role", false, role, sizeof(role), err);
	if (rv != FL_OK) {
		return rv;
	}
	if (strcmp(role, "node") != 0) {
		if (strcmp(role, "cluster") != 0) {
			return fl_yaml_error(doc, fl_yaml_get(doc, root, "role"), "role", err,
			                     "expected cluster or node, got '%s'", role);
		}
		for (size_t i = 0; i < sizeof(node_keys) / sizeof(node_keys[0]); i++) {
			if (fl_yaml_get(doc, root, node_keys[i]) != 0) {
				return fl_yaml_error(doc, fl_yaml_get(doc, root, node_keys[i]), node_keys[i], err,
				                     "only the node role (role: node) reads it");
			}
		}
		return FL_OK;
	}
	out->role = SPOKE_ROLE_NODE;
	out->source = SPOKE_SOURCE_NODE;
	if (fl_yaml_get(doc, root, "sources") != 0) {
		return fl_yaml_error(doc, fl_yaml_get(doc, root, "sources"), "sources", err,
		                     "the node role reads its own node (host_root), not a source: remove sources");
	}
	snprintf(out->host_root, sizeof(out->host_root), "/");
	if ((rv = fl_yaml_get_str(doc, root, "host_root", false, out->host_root, sizeof(out->host_root), err)) !=
	    FL_OK) {
		return rv;
	}
	if (out->host_root[0] != '/') {
		return fl_yaml_error(doc, fl_yaml_get(doc, root, "host_root"), "host_root", err,
		                     "expected an absolute path (where the host's / is mounted), got '%.64s'",
		                     out->host_root);
	}
	snprintf(out->nvml_library, sizeof(out->nvml_library), "libnvidia-ml.so.1");
	if ((rv = fl_yaml_get_str(doc, root, "nvml_library", false, out->nvml_library, sizeof(out->nvml_library),
	                          err)) != FL_OK) {
		return rv;
	}
	snprintf(out->dcmi_library, sizeof(out->dcmi_library), "libdcmi.so");
	if ((rv = fl_yaml_get_str(doc, root, "dcmi_library", false, out->dcmi_library, sizeof(out->dcmi_library),
	                          err)) != FL_OK ||
	    (rv = load_job_env(doc, root, out, err)) != FL_OK) {
		return rv;
	}
	char mode[16] = "redacted";
	if ((rv = fl_yaml_get_str(doc, root, "job_cmdline", false, mode, sizeof(mode), err)) != FL_OK) {
		return rv;
	}
	if (!spoke_cmdline_mode_parse(mode, &out->job_cmdline)) {
		return fl_yaml_error(doc, fl_yaml_get(doc, root, "job_cmdline"), "job_cmdline", err,
		                     "expected full, redacted or none, got '%s'", mode);
	}
	if ((rv = fl_yaml_get_str(doc, root, "node_name", false, out->node_name, sizeof(out->node_name), err)) !=
	    FL_OK) {
		return rv;
	}
	const char *env = getenv("NODE_NAME");
	if (out->node_name[0] == '\0' && env != NULL && strlen(env) < sizeof(out->node_name)) {
		snprintf(out->node_name, sizeof(out->node_name), "%s", env);
	}
	if (out->node_name[0] == '\0' && gethostname(out->node_name, sizeof(out->node_name) - 1) != 0) {
		out->node_name[0] = '\0';
	}
	if (out->node_name[0] == '\0') {
		return fl_yaml_error(doc, root, "node_name", err,
		                     "not set, no NODE_NAME in the environment and no host name: set node_name");
	}
	return FL_OK;
}

/* metrics_listen: absent or empty = off; else an address spoke_http can listen on. */
static int load_metrics_listen(fl_yaml_doc *doc, fl_yaml_node root, spoke_config *out, char err[FL_ERR_LEN])
{
	int rv =
	    fl_yaml_get_str(doc, root, "metrics_listen", false, out->metrics_listen, sizeof(out->metrics_listen), err);
	if (rv != FL_OK || out->metrics_listen[0] == '\0' || spoke_http_listen_ok(out->metrics_listen)) {
		return rv;
	}
	return fl_yaml_error(doc, fl_yaml_get(doc, root, "metrics_listen"), "metrics_listen", err,
	                     "expected IPv4:port or [IPv6]:port (e.g. 0.0.0.0:9101), port 1-65535, got '%.64s'",
	                     out->metrics_listen);
}

/* cluster (a valid name) and hub_url (an nng address). */
static int load_cluster_and_hub(fl_yaml_doc *doc, fl_yaml_node root, spoke_config *out, char err[FL_ERR_LEN])
{
	int rv;
	if ((rv = fl_yaml_get_str(doc, root, "cluster", true, out->cluster, sizeof(out->cluster), err)) != FL_OK) {
		return rv;
	}
	if (!fl_proto_valid_name(out->cluster)) {
		return fl_yaml_error(doc, fl_yaml_get(doc, root, "cluster"), "cluster", err,
		                     "expected 1-63 characters of A-Z a-z 0-9 . _ -, got '%.64s'", out->cluster);
	}
	if ((rv = fl_yaml_get_str(doc, root, "hub_url", true, out->hub_url, sizeof(out->hub_url), err)) != FL_OK) {
		return rv;
	}
	if (!hub_url_ok(out->hub_url)) {
		return fl_yaml_error(
		    doc, fl_yaml_get(doc, root, "hub_url"), "hub_url", err,
		    "expected an nng address like tcp://hub.example:7100 (tcp, tls+tcp, ipc), got '%.64s'",
		    out->hub_url);
	}
	return FL_OK;
}

/* gpu_resources (at least one) and benign_taints (default: the GPU resource names). */
static int load_rules(fl_yaml_doc *doc, fl_yaml_node root, spoke_config *out, char err[FL_ERR_LEN])
{
	int rv;
	spoke_overview_rules *r = &out->rules;
	if ((rv = get_name_list(doc, root, "gpu_resources", &r->gpu_resources[0][0], sizeof(r->gpu_resources[0]),
	                        SPOKE_MAX_GPU_RESOURCES, &r->n_gpu_resources, err)) != FL_OK) {
		return rv;
	}
	if (r->n_gpu_resources == 0) {
		return fl_yaml_error(doc, fl_yaml_get(doc, root, "gpu_resources"), "gpu_resources", err,
		                     "name at least one GPU resource");
	}
	if (fl_yaml_get(doc, root, "benign_taints") != 0) {
		r->n_benign_taints = 0;
		if ((rv =
		         get_name_list(doc, root, "benign_taints", &r->benign_taints[0][0], sizeof(r->benign_taints[0]),
		                       SPOKE_MAX_BENIGN_TAINTS, &r->n_benign_taints, err)) != FL_OK) {
			return rv;
		}
	} else if (fl_yaml_get(doc, root, "gpu_resources") != 0) {
		/* Default benign taints: the configured GPU resource names. */
		memset(r->benign_taints, 0, sizeof(r->benign_taints));
		for (uint32_t i = 0; i < r->n_gpu_resources; i++) {
			/* A resource name (< 128 bytes) always fits a taint key (254 bytes). */
			size_t n = strnlen(r->gpu_resources[i], sizeof(r->gpu_resources[i]) - 1);
			memcpy(r->benign_taints[i], r->gpu_resources[i], n);
			r->benign_taints[i][n] = '\0';
		}
		r->n_benign_taints = r->n_gpu_resources;
	}
	return FL_OK;
}

static int load(fl_yaml_doc *doc, spoke_config *out, char err[FL_ERR_LEN])
{
	static const char *const keys[] = {"cluster",
	                                   "hub_url",
	                                   "key_file",
	                                   "interval",
	                                   "ack_timeout",
	                                   "heartbeat",
	                                   "max_backoff",
	                                   "log_level",
	                                   "spool_dir",
	                                   "spool_memory_bytes",
	                                   "spool_max_bytes",
	                                   "spool_supersede",
	                                   "tls",
	                                   "gpu_resources",
	                                   "benign_taints",
	                                   "sources",
	                                   "role",
	                                   "host_root",
	                                   "node_name",
	                                   "nvml_library",
	                                   "dcmi_library",
	                                   "job_cmdline",
	                                   "job_env",
	                                   "metrics_listen",
	                                   NULL};
	fl_yaml_node root = fl_yaml_root(doc);
	int rv = fl_yaml_check_keys(doc, root, keys, err);
	if (rv != FL_OK) {
		return rv;
	}
	if ((rv = load_cluster_and_hub(doc, root, out, err)) != FL_OK) {
		return rv;
	}
	if ((rv = load_tls(doc, root, out, err)) != FL_OK || (rv = load_key(doc, root, out, err)) != FL_OK) {
		return rv;
	}
	if ((rv = fl_yaml_get_duration(doc, root, "interval", false, &out->interval_ms, err)) != FL_OK ||
	    (rv = fl_yaml_get_duration(doc, root, "ack_timeout", false, &out->ack_timeout_ms, err)) != FL_OK ||
	    (rv = fl_yaml_get_duration(doc, root, "heartbeat", false, &out->heartbeat_ms, err)) != FL_OK ||
	    (rv = fl_yaml_get_duration(doc, root, "max_backoff", false, &out->max_backoff_ms, err)) != FL_OK) {
		return rv;
	}
	if (out->ack_timeout_ms > INT32_MAX) {
		return fl_yaml_error(doc, fl_yaml_get(doc, root, "ack_timeout"), "ack_timeout", err, "too long");
	}
	if (out->max_backoff_ms < SPOKE_BACKOFF_MIN_MS) {
		return fl_yaml_error(doc, fl_yaml_get(doc, root, "max_backoff"), "max_backoff", err,
		                     "at least %dms (the first retry waits that long)", SPOKE_BACKOFF_MIN_MS);
	}
	if ((rv = load_spool(doc, root, out, err)) != FL_OK) {
		return rv;
	}
	char level[16] = "info";
	if ((rv = fl_yaml_get_str(doc, root, "log_level", false, level, sizeof(level), err)) != FL_OK) {
		return rv;
	}
	if (fl_log_level_parse(level, &out->log_level) != FL_OK) {
		return fl_yaml_error(doc, fl_yaml_get(doc, root, "log_level"), "log_level", err,
		                     "expected debug, info, warn or error, got '%s'", level);
	}

	if ((rv = load_metrics_listen(doc, root, out, err)) != FL_OK) {
		return rv;
	}

	if ((rv = load_rules(doc, root, out, err)) != FL_OK) {
		return rv;
	}
	if ((rv = load_role(doc, root, out, err)) != FL_OK || out->role == SPOKE_ROLE_NODE) {
		return rv;
	}
	return load_sources(doc, root, out, err);
}

int spoke_config_load(const char *path, spoke_config *out, char err[FL_ERR_LEN])
{
	memset(out, 0, sizeof(*out));
	out->interval_ms = 30000;
	out->ack_timeout_ms = 10000;
	out->heartbeat_ms = 10000;
	out->max_backoff_ms = 30000;
	out->spool_memory_bytes = SPOKE_SPOOL_MEMORY_DEFAULT;
	out->spool_max_bytes = SPOKE_SPOOL_MAX_DEFAULT;
	out->spool_supersede = true;
	out->log_level = FL_LOG_INFO;
	spoke_overview_rules_default(&out->rules);

	fl_yaml_doc doc;
	int rv = fl_yaml_open(&doc, path, err);
	if (rv != FL_OK) {
		return rv;
	}
	rv = load(&doc, out, err);
	fl_yaml_close(&doc);
	if (rv != FL_OK) {
		spoke_config_wipe(out);
	}
	return rv;
}

void spoke_config_wipe(spoke_config *cfg)
{
	fl_key_wipe(&cfg->key);
}

int spoke_config_get_path(fl_yaml_doc *doc, fl_yaml_node map, const char *key, bool required, bool must_read, char *out,
                          size_t outlen, char err[FL_ERR_LEN])
{
	return get_path(doc, map, key, required, must_read, out, outlen, err);
}
