/* hub_config.c — clusters.yaml → hub_config, through fl_yaml (errors name FILE:LINE:COL and key). */
#include "hub_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl_time.h"
#include "fl_yaml.h"

static const char *const top_keys[] = {"hub", "clusters", NULL};
static const char *const hub_keys[] = {"ingest_url",
                                       "api_listen",
                                       "database_url",
                                       "stale_after",
                                       "offline_after",
                                       "web_dir",
                                       "migrations_dir",
                                       "log_level",
                                       "ingest_workers",
                                       "replay_tolerance",
                                       "ingest_log_retention",
                                       "tls",
                                       NULL};
static const char *const tls_keys[] = {"cert_file", "key_file", "ca_file", NULL};
static const char *const cluster_keys[] = {"name", "labels", "key_file", NULL};

#define TLS_SCHEME "tls+tcp://"

/* Writes dir/rel into out unless rel is absolute; dir is the config file's folder. */
static int resolve_path(const char *cfg_path, const char *rel, char *out, size_t outlen)
{
	if (rel[0] == '/')
		return snprintf(out, outlen, "%s", rel) < (int)outlen ? FL_OK : FL_ELIMIT;
	const char *slash = strrchr(cfg_path, '/');
	int n;
	if (slash == NULL)
		n = snprintf(out, outlen, "%s", rel);
	else if (slash == cfg_path)
		n = snprintf(out, outlen, "/%s", rel);
	else
		n = snprintf(out, outlen, "%.*s/%s", (int)(slash - cfg_path), cfg_path, rel);
	return n >= 0 && (size_t)n < outlen ? FL_OK : FL_ELIMIT;
}

/* Reads a path key of map, resolved against the config's folder. def NULL: the key is required;
 * def "": optional, out stays "" when absent; otherwise the default path. */
static int get_path(fl_yaml_doc *doc, fl_yaml_node map, const char *key, const char *def, char *out, size_t outlen,
                    char err[FL_ERR_LEN])
{
	char raw[HUB_PATH_LEN];
	snprintf(raw, sizeof(raw), "%s", def != NULL ? def : "");
	int rv = fl_yaml_get_str(doc, map, key, def == NULL, raw, sizeof(raw), err);
	if (rv != FL_OK)
		return rv;
	if (raw[0] == '\0' && fl_yaml_get(doc, map, key) == 0)
		return FL_OK; /* optional and absent */
	if (raw[0] == '\0')
		return fl_yaml_error(doc, fl_yaml_get(doc, map, key), key, err, "must not be empty");
	if (resolve_path(doc->path, raw, out, outlen) != FL_OK)
		return fl_yaml_error(doc, fl_yaml_get(doc, map, key), key, err, "path too long once resolved");
	return FL_OK;
}

/* An error at map[key] unless the file at path can be opened for reading. */
static int check_readable(fl_yaml_doc *doc, fl_yaml_node map, const char *key, const char *path, char err[FL_ERR_LEN])
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return fl_yaml_error(doc, fl_yaml_get(doc, map, key), key, err, "%s: cannot read: %s", path,
		                     strerror(errno));
	fclose(f);
	return FL_OK;
}

bool hub_config_is_tls_url(const char *url)
{
	return strncmp(url, TLS_SCHEME, strlen(TLS_SCHEME)) == 0;
}

/* hub.tls: required (cert_file and key_file) when ingest_url is tls+tcp://, refused otherwise (a
 * certificate that is never used would suggest the ingest is encrypted when it is not). */
static int load_tls(hub_config *cfg, fl_yaml_doc *doc, fl_yaml_node hub, char err[FL_ERR_LEN])
{
	fl_yaml_node tls = fl_yaml_get(doc, hub, "tls");
	bool want = hub_config_is_tls_url(cfg->ingest_url);
	if (tls == 0 && !want)
		return FL_OK;
	if (tls == 0)
		return fl_yaml_error(doc, hub, "tls", err,
		                     "missing: ingest_url %s needs tls.cert_file and tls.key_file", TLS_SCHEME);
	if (!want)
		return fl_yaml_error(doc, tls, "tls", err, "set, but ingest_url does not start with %s", TLS_SCHEME);
	if (!fl_yaml_is_map(doc, tls))
		return fl_yaml_error(doc, tls, "tls", err, "expected a mapping {cert_file: ..., key_file: ...}");
	int rv;
	if ((rv = fl_yaml_check_keys(doc, tls, tls_keys, err)) != FL_OK ||
	    (rv = get_path(doc, tls, "cert_file", NULL, cfg->tls_cert_file, sizeof(cfg->tls_cert_file), err)) !=
	        FL_OK ||
	    (rv = get_path(doc, tls, "key_file", NULL, cfg->tls_key_file, sizeof(cfg->tls_key_file), err)) != FL_OK ||
	    (rv = get_path(doc, tls, "ca_file", "", cfg->tls_ca_file, sizeof(cfg->tls_ca_file), err)) != FL_OK)
		return rv;
	if ((rv = check_readable(doc, tls, "cert_file", cfg->tls_cert_file, err)) != FL_OK ||
	    (rv = check_readable(doc, tls, "key_file", cfg->tls_key_file, err)) != FL_OK)
		return rv;
	if (cfg->tls_ca_file[0] != '\0' && (rv = check_readable(doc, tls, "ca_file", cfg->tls_ca_file, err)) != FL_OK)
		return rv;
	return FL_OK;
}

/* The delivery settings: ingest_workers, replay_tolerance, ingest_log_retention. */
static int load_delivery(hub_config *cfg, fl_yaml_doc *doc, fl_yaml_node hub, char err[FL_ERR_LEN])
{
	int64_t workers = HUB_DEFAULT_INGEST_WORKERS;
	int rv = fl_yaml_get_int(doc, hub, "ingest_workers", false, 1, HUB_MAX_INGEST_WORKERS, &workers, err);
	if (rv != FL_OK)
		return rv;
	cfg->ingest_workers = (int)workers;
	cfg->replay_tolerance_ms = HUB_DEFAULT_REPLAY_TOLERANCE_MS;
	if ((rv = fl_yaml_get_duration(doc, hub, "replay_tolerance", false, &cfg->replay_tolerance_ms, err)) != FL_OK)
		return rv;
	if (cfg->replay_tolerance_ms > HUB_MAX_REPLAY_TOLERANCE_MS)
		return fl_yaml_error(doc, fl_yaml_get(doc, hub, "replay_tolerance"), "replay_tolerance", err,
		                     "at most %ds (a longer window lets old frames be replayed)",
		                     HUB_MAX_REPLAY_TOLERANCE_MS / 1000);
	cfg->ingest_log_retention_ms = HUB_DEFAULT_INGEST_LOG_RETENTION_MS;
	if ((rv = fl_yaml_get_duration(doc, hub, "ingest_log_retention", false, &cfg->ingest_log_retention_ms, err)) !=
	    FL_OK)
		return rv;
	if (cfg->ingest_log_retention_ms < HUB_MIN_INGEST_LOG_RETENTION_MS)
		return fl_yaml_error(doc, fl_yaml_get(doc, hub, "ingest_log_retention"), "ingest_log_retention", err,
		                     "at least 1h (spokes may still resend frames that old)");
	return FL_OK;
}

static int load_hub(hub_config *cfg, fl_yaml_doc *doc, fl_yaml_node hub, const char *env_db, char err[FL_ERR_LEN])
{
	int rv;
	if ((rv = fl_yaml_check_keys(doc, hub, hub_keys, err)) != FL_OK)
		return rv;
	if ((rv = fl_yaml_get_str(doc, hub, "ingest_url", true, cfg->ingest_url, sizeof(cfg->ingest_url), err)) != 0)
		return rv;
	if (cfg->ingest_url[0] == '\0')
		return fl_yaml_error(doc, fl_yaml_get(doc, hub, "ingest_url"), "ingest_url", err, "must not be empty");
	if ((rv = fl_yaml_get_str(doc, hub, "api_listen", true, cfg->api_listen, sizeof(cfg->api_listen), err)) != 0)
		return rv;
	if (cfg->api_listen[0] == '\0')
		return fl_yaml_error(doc, fl_yaml_get(doc, hub, "api_listen"), "api_listen", err, "must not be empty");
	if ((rv = fl_yaml_get_str(doc, hub, "database_url", false, cfg->database_url, sizeof(cfg->database_url),
	                          err)) != FL_OK)
		return rv;

	cfg->stale_after_ms = HUB_DEFAULT_STALE_AFTER_MS;
	cfg->offline_after_ms = HUB_DEFAULT_OFFLINE_AFTER_MS;
	if ((rv = fl_yaml_get_duration(doc, hub, "stale_after", false, &cfg->stale_after_ms, err)) != FL_OK)
		return rv;
	if ((rv = fl_yaml_get_duration(doc, hub, "offline_after", false, &cfg->offline_after_ms, err)) != FL_OK)
		return rv;
	if (cfg->offline_after_ms <= cfg->stale_after_ms) {
		fl_yaml_node n = fl_yaml_get(doc, hub, "offline_after");
		const char *key = "offline_after";
		if (n == 0) {
			n = fl_yaml_get(doc, hub, "stale_after");
			key = "stale_after";
		}
		return fl_yaml_error(doc, n, key, err, "offline_after (%lldms) must be more than stale_after (%lldms)",
		                     (long long)cfg->offline_after_ms, (long long)cfg->stale_after_ms);
	}
	if ((rv = get_path(doc, hub, "web_dir", "web", cfg->web_dir, sizeof(cfg->web_dir), err)) != FL_OK)
		return rv;
	if ((rv = get_path(doc, hub, "migrations_dir", "sql/hub", cfg->migrations_dir, sizeof(cfg->migrations_dir),
	                   err)) != FL_OK)
		return rv;

	if ((rv = load_delivery(cfg, doc, hub, err)) != FL_OK || (rv = load_tls(cfg, doc, hub, err)) != FL_OK)
		return rv;

	char level[16] = "info";
	if ((rv = fl_yaml_get_str(doc, hub, "log_level", false, level, sizeof(level), err)) != FL_OK)
		return rv;
	if (fl_log_level_parse(level, &cfg->log_level) != FL_OK)
		return fl_yaml_error(doc, fl_yaml_get(doc, hub, "log_level"), "log_level", err,
		                     "expected debug, info, warn or error, got '%s'", level);

	/* Last, so a config without database_url still reports its other mistakes first. */
	if (env_db != NULL && env_db[0] != '\0') {
		if (snprintf(cfg->database_url, sizeof(cfg->database_url), "%s", env_db) >=
		    (int)sizeof(cfg->database_url))
			return fl_seterr(err, FL_ECONFIG, "FLEETLENS_DATABASE_URL: longer than %zu characters",
			                 sizeof(cfg->database_url) - 1);
	} else if (cfg->database_url[0] == '\0') {
		return fl_yaml_error(doc, hub, "database_url", err,
		                     "missing (required unless FLEETLENS_DATABASE_URL is set)");
	}
	return FL_OK;
}

static int load_labels(hub_cluster_conf *c, fl_yaml_doc *doc, fl_yaml_node labels, char err[FL_ERR_LEN])
{
	if (!fl_yaml_is_map(doc, labels))
		return fl_yaml_error(doc, labels, "labels", err, "expected a mapping like {region: us-east}");
	size_t n = fl_yaml_map_len(doc, labels);
	if (n > HUB_MAX_LABELS)
		return fl_yaml_error(doc, labels, "labels", err, "more than %d labels", HUB_MAX_LABELS);
	for (size_t i = 0; i < n; i++) {
		const char *k = fl_yaml_map_key(doc, labels, i);
		fl_yaml_node vn = fl_yaml_map_value(doc, labels, i);
		const char *v = fl_yaml_scalar(doc, vn);
		if (k == NULL || k[0] == '\0' || strlen(k) >= HUB_LABEL_LEN)
			return fl_yaml_error(doc, labels, "labels", err, "label keys must be 1..%d characters",
			                     HUB_LABEL_LEN - 1);
		if (v == NULL)
			return fl_yaml_error(doc, vn, k, err, "label values must be plain strings");
		if (strlen(v) >= HUB_LABEL_LEN)
			return fl_yaml_error(doc, vn, k, err, "longer than %d characters", HUB_LABEL_LEN - 1);
		for (size_t j = 0; j < i; j++)
			if (strcmp(c->labels[j].key, k) == 0)
				return fl_yaml_error(doc, vn, k, err, "label given twice");
		snprintf(c->labels[i].key, sizeof(c->labels[i].key), "%s", k);
		snprintf(c->labels[i].value, sizeof(c->labels[i].value), "%s", v);
	}
	c->n_labels = n;
	return FL_OK;
}

static int load_clusters(hub_config *cfg, fl_yaml_doc *doc, fl_yaml_node seq, char err[FL_ERR_LEN])
{
	if (seq == 0)
		return fl_yaml_error(doc, fl_yaml_root(doc), "clusters", err, "missing (required)");
	if (!fl_yaml_is_seq(doc, seq))
		return fl_yaml_error(doc, seq, "clusters", err,
		                     "expected a list of {name: ..., key_file: ..., labels: {...}}");
	size_t n = fl_yaml_seq_len(doc, seq);
	if (n > HUB_MAX_CLUSTERS)
		return fl_yaml_error(doc, seq, "clusters", err, "more than %d clusters", HUB_MAX_CLUSTERS);
	if (n == 0)
		return FL_OK;
	cfg->clusters = calloc(n, sizeof(*cfg->clusters));
	if (cfg->clusters == NULL)
		return fl_seterr(err, FL_ENOMEM, "%s: out of memory", doc->path);
	for (size_t i = 0; i < n; i++) {
		fl_yaml_node item = fl_yaml_seq_item(doc, seq, i);
		hub_cluster_conf *c = &cfg->clusters[i];
		int rv;
		if (!fl_yaml_is_map(doc, item))
			return fl_yaml_error(doc, item, "clusters", err,
			                     "each item must be a mapping with 'name' and 'key_file'");
		if ((rv = fl_yaml_check_keys(doc, item, cluster_keys, err)) != FL_OK)
			return rv;
		if ((rv = fl_yaml_get_str(doc, item, "name", true, c->name, sizeof(c->name), err)) != FL_OK)
			return rv;
		fl_yaml_node name_node = fl_yaml_get(doc, item, "name");
		if (!fl_proto_valid_name(c->name))
			return fl_yaml_error(doc, name_node, "name", err,
			                     "'%s' is not a valid cluster name (1..63 of A-Z a-z 0-9 . _ -)", c->name);
		for (size_t j = 0; j < i; j++)
			if (strcmp(cfg->clusters[j].name, c->name) == 0)
				return fl_yaml_error(doc, name_node, "name", err, "cluster '%s' is listed twice",
				                     c->name);
		cfg->n_clusters = i + 1; /* from here on hub_config_free wipes this item's key */
		fl_yaml_node labels = fl_yaml_get(doc, item, "labels");
		if (labels != 0 && (rv = load_labels(c, doc, labels, err)) != FL_OK)
			return rv;
		if ((rv = get_path(doc, item, "key_file", NULL, c->key_file, sizeof(c->key_file), err)) != FL_OK)
			return rv;
		char why[FL_ERR_LEN];
		if (fl_key_load(c->key_file, &c->key, why) != FL_OK)
			return fl_yaml_error(doc, fl_yaml_get(doc, item, "key_file"), "key_file", err, "%s", why);
	}
	return FL_OK;
}

int hub_config_load(hub_config *cfg, const char *path, const char *env_database_url, char err[FL_ERR_LEN])
{
	memset(cfg, 0, sizeof(*cfg));
	if (snprintf(cfg->path, sizeof(cfg->path), "%s", path) >= (int)sizeof(cfg->path))
		return fl_seterr(err, FL_ECONFIG, "%.64s...: path too long", path);
	fl_yaml_doc doc;
	int rv = fl_yaml_open(&doc, path, err);
	if (rv != FL_OK)
		return rv;
	fl_yaml_node root = fl_yaml_root(&doc);
	if ((rv = fl_yaml_check_keys(&doc, root, top_keys, err)) != FL_OK)
		goto fail;
	fl_yaml_node hub = fl_yaml_get(&doc, root, "hub");
	if (hub == 0) {
		rv = fl_yaml_error(&doc, root, "hub", err, "missing (required)");
		goto fail;
	}
	if (!fl_yaml_is_map(&doc, hub)) {
		rv = fl_yaml_error(&doc, hub, "hub", err, "expected a mapping of settings");
		goto fail;
	}
	if ((rv = load_hub(cfg, &doc, hub, env_database_url, err)) != FL_OK)
		goto fail;
	if ((rv = load_clusters(cfg, &doc, fl_yaml_get(&doc, root, "clusters"), err)) != FL_OK)
		goto fail;
	fl_yaml_close(&doc);
	return FL_OK;
fail:
	fl_yaml_close(&doc);
	hub_config_free(cfg);
	return rv;
}

void hub_config_free(hub_config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < cfg->n_clusters; i++)
		fl_key_wipe(&cfg->clusters[i].key);
	free(cfg->clusters);
	memset(cfg, 0, sizeof(*cfg));
}

json_t *hub_config_labels_json(const hub_cluster_conf *c)
{
	json_t *o = json_object();
	if (o == NULL)
		return NULL;
	for (size_t i = 0; i < c->n_labels; i++) {
		if (json_object_set_new(o, c->labels[i].key, json_string(c->labels[i].value)) != 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}
