/* spoke_prom_config.c — the sources.prometheus section: presets, keys, validation. */
#include "spoke_prom.h"

#include <stdio.h>
#include <string.h>

#include "spoke_config.h"

static const char *const figure_keys[SPOKE_PROM_FIGURES] = {
    "gpu_utilization", "gpu_memory_mib", "gpu_power_watts", "gpu_temperature_celsius", "total_space", "used_space",
    "total_inodes",    "used_inodes",    "read_bandwidth",  "write_bandwidth",         "total_tx",    "total_rx",
};

const char *spoke_prom_config_figure_key(spoke_prom_figure f)
{
	return (unsigned)f < SPOKE_PROM_FIGURES ? figure_keys[f] : NULL;
}

/* The exporters' metric names and labels. Units: the exporters report device memory in MiB (MB),
 * power in Watts, temperature in Celsius and utilization in percent, which is what the model keeps. */
static const struct preset {
	const char *name;
	const char *node_labels[SPOKE_PROM_MAX_NODE_LABELS];
	const char *gpu_label;
	const char *gpu_queries[SPOKE_PROM_GPU_FIGURES]; /* utilization, memory MiB, power, temperature */
	bool lens_cluster; /* also the storage and RDMA queries Lens computes its overview with */
} presets[] = {
    /* AMD device-metrics-exporter */
    {"amd",
     {"hostname"},
     "gpu_id",
     {"gpu_gfx_activity", "gpu_total_vram", "gpu_package_power", "gpu_junction_temperature"},
     false},
    /* NVIDIA dcgm-exporter: the node label is Hostname in its default config, hostname in others */
    {"nvidia",
     {"Hostname", "hostname"},
     "gpu",
     {"DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE", "DCGM_FI_DEV_POWER_USAGE",
      "DCGM_FI_DEV_GPU_TEMP"},
     false},
    /* Huawei npu-exporter: it labels chips by id; the node comes from the scrape config's relabelling */
    {"ascend",
     {"node", "hostname"},
     "id",
     {"npu_chip_info_utilization", "npu_chip_info_hbm_total_memory", "npu_chip_info_power",
      "npu_chip_info_temperature"},
     false},
    /* Primus Lens's own recording of GPU utilization */
    {"lens", {"primus_lens_node_name"}, "gpu_id", {"gpu_utilization", "", "", ""}, true},
};

/* Lens's storage and RDMA figures: JuiceFS's per-volume gauges averaged over the clients reporting a
 * volume, then added over volumes (Lens asks per volume with avg(...{vol_name=V})); byte rates over
 * the last minute. Lens writes the RDMA ones as rate(sum(x[1m])), which PromQL refuses: summed rates. */
static const char *const lens_cluster_queries[SPOKE_PROM_FIGURES - SPOKE_PROM_GPU_FIGURES] = {
    "sum(avg by (vol_name) (juicefs_total_space))",
    "sum(avg by (vol_name) (juicefs_used_space))",
    "sum(avg by (vol_name) (juicefs_total_inodes))",
    "sum(avg by (vol_name) (juicefs_used_inodes))",
    "sum(rate(juicefs_fuse_read_size_bytes_sum[1m]))",
    "sum(rate(juicefs_fuse_write_size_bytes_sum[1m]))",
    "sum(rate(rdma_stat_tx_bytes[1m]))",
    "sum(rate(rdma_stat_rx_bytes[1m]))",
};

void spoke_prom_config_default(spoke_prom_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->timeout_ms = SPOKE_PROM_TIMEOUT_DEFAULT;
	cfg->max_response_bytes = SPOKE_PROM_RESPONSE_DEFAULT;
}

int spoke_prom_config_preset(spoke_prom_config *cfg, const char *preset)
{
	for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]); i++) {
		const struct preset *p = &presets[i];
		if (strcmp(p->name, preset) != 0) {
			continue;
		}
		snprintf(cfg->preset, sizeof(cfg->preset), "%s", p->name);
		cfg->n_node_labels = 0;
		for (uint32_t k = 0; k < SPOKE_PROM_MAX_NODE_LABELS && p->node_labels[k] != NULL; k++) {
			snprintf(cfg->node_labels[k], sizeof(cfg->node_labels[k]), "%s", p->node_labels[k]);
			cfg->n_node_labels = k + 1;
		}
		snprintf(cfg->gpu_label, sizeof(cfg->gpu_label), "%s", p->gpu_label);
		for (int f = 0; f < SPOKE_PROM_GPU_FIGURES; f++) {
			snprintf(cfg->queries[f], sizeof(cfg->queries[f]), "%s", p->gpu_queries[f]);
		}
		for (int f = SPOKE_PROM_GPU_FIGURES; f < SPOKE_PROM_FIGURES; f++) {
			snprintf(cfg->queries[f], sizeof(cfg->queries[f]), "%s",
			         p->lens_cluster ? lens_cluster_queries[f - SPOKE_PROM_GPU_FIGURES] : "");
		}
		return FL_OK;
	}
	return FL_EINVAL;
}

/* True for a Prometheus label name: [a-zA-Z_][a-zA-Z0-9_]*. */
static bool label_name_ok(const char *s)
{
	if (s[0] == '\0' || (s[0] >= '0' && s[0] <= '9')) {
		return false;
	}
	for (; *s != '\0'; s++) {
		char c = *s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) {
			return false;
		}
	}
	return true;
}

/* node_label: one label name or a list of them (the first one a series carries names its node). */
static int load_node_labels(fl_yaml_doc *doc, fl_yaml_node map, spoke_prom_config *cfg, char err[FL_ERR_LEN])
{
	fl_yaml_node n = fl_yaml_get(doc, map, "node_label");
	if (n == 0) {
		return FL_OK;
	}
	size_t count = fl_yaml_is_seq(doc, n) ? fl_yaml_seq_len(doc, n) : 1;
	if (count == 0 || count > SPOKE_PROM_MAX_NODE_LABELS) {
		return fl_yaml_error(doc, n, "node_label", err, "expected a label name or a list of 1-%d of them",
		                     SPOKE_PROM_MAX_NODE_LABELS);
	}
	for (size_t i = 0; i < count; i++) {
		fl_yaml_node item = fl_yaml_is_seq(doc, n) ? fl_yaml_seq_item(doc, n, i) : n;
		const char *v = fl_yaml_scalar(doc, item);
		if (v == NULL || strlen(v) >= SPOKE_PROM_LABEL_LEN || !label_name_ok(v)) {
			return fl_yaml_error(doc, item, "node_label", err,
			                     "expected a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*), got '%.64s'",
			                     v != NULL ? v : "(not a string)");
		}
		snprintf(cfg->node_labels[i], sizeof(cfg->node_labels[i]), "%s", v);
	}
	cfg->n_node_labels = (uint32_t)count;
	return FL_OK;
}

/* queries: {figure key: PromQL}; each replaces the preset's query of that figure ("" turns it off). */
static int load_queries(fl_yaml_doc *doc, fl_yaml_node map, spoke_prom_config *cfg, char err[FL_ERR_LEN])
{
	fl_yaml_node q = fl_yaml_get(doc, map, "queries");
	if (q == 0) {
		return FL_OK;
	}
	if (!fl_yaml_is_map(doc, q)) {
		return fl_yaml_error(doc, q, "queries", err, "expected a mapping of figure names to PromQL");
	}
	const char *keys[SPOKE_PROM_FIGURES + 1];
	for (int f = 0; f < SPOKE_PROM_FIGURES; f++) {
		keys[f] = figure_keys[f];
	}
	keys[SPOKE_PROM_FIGURES] = NULL;
	int rv = fl_yaml_check_keys(doc, q, keys, err);
	for (int f = 0; rv == FL_OK && f < SPOKE_PROM_FIGURES; f++) {
		rv = fl_yaml_get_str(doc, q, figure_keys[f], false, cfg->queries[f], sizeof(cfg->queries[f]), err);
	}
	return rv;
}

int spoke_prom_config_load(fl_yaml_doc *doc, fl_yaml_node map, spoke_prom_config *cfg, char err[FL_ERR_LEN])
{
	static const char *const keys[] = {
	    "url",    "token_file", "username",  "password_file", "ca_file", "timeout", "max_response_bytes",
	    "preset", "node_label", "gpu_label", "queries",       NULL};
	spoke_prom_config_default(cfg);
	if (!fl_yaml_is_map(doc, map)) {
		return fl_yaml_error(doc, map, "prometheus", err, "expected a mapping with url and preset or queries");
	}
	int rv = fl_yaml_check_keys(doc, map, keys, err);
	if (rv != FL_OK || (rv = fl_yaml_get_str(doc, map, "url", true, cfg->url, sizeof(cfg->url), err)) != FL_OK) {
		return rv;
	}
	size_t ulen = strlen(cfg->url);
	while (ulen > 0 && cfg->url[ulen - 1] == '/') {
		cfg->url[--ulen] = '\0';
	}
	bool http = strncmp(cfg->url, "http://", 7) == 0 && ulen > 7;
	bool https = strncmp(cfg->url, "https://", 8) == 0 && ulen > 8;
	if ((!http && !https) || strpbrk(cfg->url, " ?#\t\r\n") != NULL) {
		return fl_yaml_error(doc, fl_yaml_get(doc, map, "url"), "url", err,
		                     "expected http(s)://host:port[/path] of the Prometheus server, got '%.64s'",
		                     cfg->url);
	}
	char preset[32] = "";
	int64_t max_bytes = (int64_t)cfg->max_response_bytes;
	if ((rv = spoke_config_get_path(doc, map, "token_file", false, true, cfg->token_file, sizeof(cfg->token_file),
	                                err)) != FL_OK ||
	    (rv = fl_yaml_get_str(doc, map, "username", false, cfg->username, sizeof(cfg->username), err)) != FL_OK ||
	    (rv = spoke_config_get_path(doc, map, "password_file", false, true, cfg->password_file,
	                                sizeof(cfg->password_file), err)) != FL_OK ||
	    (rv = spoke_config_get_path(doc, map, "ca_file", false, true, cfg->ca_file, sizeof(cfg->ca_file), err)) !=
	        FL_OK ||
	    (rv = fl_yaml_get_duration(doc, map, "timeout", false, &cfg->timeout_ms, err)) != FL_OK ||
	    (rv = fl_yaml_get_int(doc, map, "max_response_bytes", false, SPOKE_PROM_RESPONSE_MIN,
	                          SPOKE_PROM_RESPONSE_MAX, &max_bytes, err)) != FL_OK ||
	    (rv = fl_yaml_get_str(doc, map, "preset", false, preset, sizeof(preset), err)) != FL_OK) {
		return rv;
	}
	cfg->max_response_bytes = (uint64_t)max_bytes;
	if (cfg->timeout_ms > 600000) {
		return fl_yaml_error(doc, fl_yaml_get(doc, map, "timeout"), "timeout", err, "at most 10m");
	}
	if ((cfg->username[0] != '\0') != (cfg->password_file[0] != '\0')) {
		const char *given = cfg->username[0] != '\0' ? "username" : "password_file";
		return fl_yaml_error(doc, fl_yaml_get(doc, map, given), given, err,
		                     "username and password_file go together (basic auth)");
	}
	if (cfg->username[0] != '\0' && cfg->token_file[0] != '\0') {
		return fl_yaml_error(doc, fl_yaml_get(doc, map, "token_file"), "token_file", err,
		                     "use either a bearer token (token_file) or basic auth (username), not both");
	}
	if (fl_yaml_get(doc, map, "preset") != 0 && spoke_prom_config_preset(cfg, preset) != FL_OK) {
		return fl_yaml_error(doc, fl_yaml_get(doc, map, "preset"), "preset", err,
		                     "expected amd, nvidia, ascend or lens, got '%.31s'", preset);
	}
	if ((rv = load_node_labels(doc, map, cfg, err)) != FL_OK ||
	    (rv = fl_yaml_get_str(doc, map, "gpu_label", false, cfg->gpu_label, sizeof(cfg->gpu_label), err)) !=
	        FL_OK ||
	    (rv = load_queries(doc, map, cfg, err)) != FL_OK) {
		return rv;
	}
	bool any = false, gpu = false;
	for (int f = 0; f < SPOKE_PROM_FIGURES; f++) {
		any |= cfg->queries[f][0] != '\0';
		gpu |= f < SPOKE_PROM_GPU_FIGURES && cfg->queries[f][0] != '\0';
	}
	if (!any) {
		return fl_yaml_error(doc, map, "prometheus", err,
		                     "nothing to query: set preset (amd, nvidia, ascend, lens) or queries");
	}
	if (gpu && (cfg->n_node_labels == 0 || !label_name_ok(cfg->gpu_label))) {
		return fl_yaml_error(doc, map, "prometheus", err,
		                     "per-GPU queries need node_label and gpu_label (or a preset that sets them)");
	}
	return FL_OK;
}
