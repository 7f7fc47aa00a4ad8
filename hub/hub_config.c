/* hub_config.c — clusters.yaml → hub_config, through fl_yaml (errors name FILE:LINE:COL and key). */
#include "hub_config.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl_time.h"
#include "fl_yaml.h"
#include "hub_auth.h"

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
                                       "config_check_interval",
                                       NULL};
static const char *const tls_keys[] = {"cert_file", "key_file", "ca_file", NULL};
static const char *const cluster_keys[] = {"name",          "labels",          "key_file",           "node_key_file",
                                           "next_key_file", "safe_cluster_id", "next_node_key_file", NULL};

#define TLS_SCHEME "tls+tcp://"
/* Read by load_api_access, after the clusters (token scopes name them). */
static const char *const api_keys[] = {"api_tokens", "cors_origins", "api_threads", "lens", NULL};
static const char *const lens_keys[] = {"default_cluster", NULL};
/* Read by load_safe and load_rollup: the SaFE sync, history, node agents' and rollup settings. */
static const char *const safe_keys[] = {"safe_database_url",    "safe_sync_interval", "history_retention",
                                        "node_lost_after",      "rollup_retention",   "idle_threshold",
                                        "job_idle_utilization", "job_idle_after",     NULL};
static const char *const token_keys[] = {"name", "token_file", "clusters", "cluster_labels", NULL};

/* hub's keys are hub_keys plus api_keys. */
static int check_hub_keys(fl_yaml_doc *doc, fl_yaml_node hub, char err[FL_ERR_LEN])
{
	const char *all[64];
	size_t n = 0;
	for (size_t i = 0; hub_keys[i] != NULL && n < 62; i++)
		all[n++] = hub_keys[i];
	for (size_t i = 0; api_keys[i] != NULL && n < 63; i++)
		all[n++] = api_keys[i];
	for (size_t i = 0; safe_keys[i] != NULL && n < 63; i++)
		all[n++] = safe_keys[i];
	all[n] = NULL;
	return fl_yaml_check_keys(doc, hub, all, err);
}

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

/* hub.config_check_interval: a duration, or 0 (off); default HUB_DEFAULT_CONFIG_CHECK_INTERVAL_MS. */
static int load_check_interval(hub_config *cfg, fl_yaml_doc *doc, fl_yaml_node hub, char err[FL_ERR_LEN])
{
	char v[32] = "";
	cfg->config_check_interval_ms = HUB_DEFAULT_CONFIG_CHECK_INTERVAL_MS;
	int rv = fl_yaml_get_str(doc, hub, "config_check_interval", false, v, sizeof(v), err);
	if (rv != FL_OK || v[0] == '\0')
		return rv;
	int64_t ms = -1;
	if (strcmp(v, "0") != 0 && (fl_parse_duration(v, &ms) != FL_OK || ms < 0))
		return fl_yaml_error(doc, fl_yaml_get(doc, hub, "config_check_interval"), "config_check_interval", err,
		                     "expected a duration like 10s or 1m, or 0 (off), got '%s'", v);
	cfg->config_check_interval_ms = strcmp(v, "0") == 0 ? 0 : ms;
	return FL_OK;
}

static int load_hub(hub_config *cfg, fl_yaml_doc *doc, fl_yaml_node hub, const char *env_db, char err[FL_ERR_LEN])
{
	int rv;
	if ((rv = check_hub_keys(doc, hub, err)) != FL_OK)
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
	/* Defaults: where `cmake --install` put the console and migrations (cmake/FleetLensInstall.cmake). */
	if ((rv = get_path(doc, hub, "web_dir", HUB_DEFAULT_WEB_DIR, cfg->web_dir, sizeof(cfg->web_dir), err)) != FL_OK)
		return rv;
	if ((rv = get_path(doc, hub, "migrations_dir", HUB_DEFAULT_MIGRATIONS_DIR, cfg->migrations_dir,
	                   sizeof(cfg->migrations_dir), err)) != FL_OK)
		return rv;

	if ((rv = load_delivery(cfg, doc, hub, err)) != FL_OK || (rv = load_tls(cfg, doc, hub, err)) != FL_OK)
		return rv;

	if ((rv = load_check_interval(cfg, doc, hub, err)) != FL_OK)
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

/* clusters[].node_key_file (optional): read as key_file is, and it must hold another key than key_file (a node
 * key equal to the cluster key would let a node agent sign cluster frames after all). */
static int load_node_key(hub_cluster_conf *c, fl_yaml_doc *doc, fl_yaml_node item, char err[FL_ERR_LEN])
{
	int rv = get_path(doc, item, "node_key_file", "", c->node_key_file, sizeof(c->node_key_file), err);
	if (rv != FL_OK || c->node_key_file[0] == '\0')
		return rv;
	fl_yaml_node at = fl_yaml_get(doc, item, "node_key_file");
	char why[FL_ERR_LEN];
	if (fl_key_load(c->node_key_file, &c->node_key, why) != FL_OK)
		return fl_yaml_error(doc, at, "node_key_file", err, "%s", why);
	if (c->node_key.len == c->key.len && CRYPTO_memcmp(c->node_key.bytes, c->key.bytes, c->key.len) == 0)
		return fl_yaml_error(doc, at, "node_key_file", err,
		                     "holds the same key as key_file: the node role needs a key of its own");
	return FL_OK;
}

static bool same_key(const fl_key *a, const fl_key *b)
{
	return a->len == b->len && CRYPTO_memcmp(a->bytes, b->bytes, a->len) == 0;
}

/* One of clusters[].next_key_file / next_node_key_file (optional): read as key_file is into *key and path; it
 * must hold another key than cur (the key it is to replace) and than other (the other role's key). */
static int load_next_key(fl_yaml_doc *doc, fl_yaml_node item, const char *name, const fl_key *cur, const fl_key *other,
                         char path[HUB_PATH_LEN], fl_key *key, char err[FL_ERR_LEN])
{
	int rv = get_path(doc, item, name, "", path, HUB_PATH_LEN, err);
	if (rv != FL_OK || path[0] == '\0')
		return rv;
	fl_yaml_node at = fl_yaml_get(doc, item, name);
	char why[FL_ERR_LEN];
	if (fl_key_load(path, key, why) != FL_OK)
		return fl_yaml_error(doc, at, name, err, "%s", why);
	if (same_key(key, cur))
		return fl_yaml_error(doc, at, name, err,
		                     "holds the key it is to replace: a next key must be a new one");
	if (other != NULL && other->len > 0 && same_key(key, other))
		return fl_yaml_error(doc, at, name, err,
		                     "holds the other role's key: each role needs a key of its own");
	return FL_OK;
}

/* clusters[].next_key_file and next_node_key_file (key rotation). */
static int load_next_keys(hub_cluster_conf *c, fl_yaml_doc *doc, fl_yaml_node item, char err[FL_ERR_LEN])
{
	int rv = load_next_key(doc, item, "next_key_file", &c->key, &c->node_key, c->next_key_file, &c->next_key, err);
	if (rv != FL_OK)
		return rv;
	fl_yaml_node nn = fl_yaml_get(doc, item, "next_node_key_file");
	if (nn != 0 && c->node_key.len == 0)
		return fl_yaml_error(doc, nn, "next_node_key_file", err,
		                     "needs node_key_file (the key it is to replace)");
	return load_next_key(doc, item, "next_node_key_file", &c->node_key, &c->key, c->next_node_key_file,
	                     &c->next_node_key, err);
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
		if ((rv = load_node_key(c, doc, item, err)) != FL_OK ||
		    (rv = load_next_keys(c, doc, item, err)) != FL_OK)
			return rv;
		if ((rv = fl_yaml_get_str(doc, item, "safe_cluster_id", false, c->safe_cluster_id,
		                          sizeof(c->safe_cluster_id), err)) != FL_OK)
			return rv;
		if (c->safe_cluster_id[0] == '\0')
			snprintf(c->safe_cluster_id, sizeof(c->safe_cluster_id), "%s", c->name);
		for (size_t k = 0; k < c->n_labels; k++) {
			if (strcmp(c->labels[k].key, HUB_SAFE_CLUSTER_LABEL) != 0)
				continue;
			if (strlen(c->labels[k].value) >= sizeof(c->safe_cluster_id))
				return fl_yaml_error(doc, labels, "labels", err,
				                     "label '%s' (SaFE's cluster id) is longer than %zu characters",
				                     HUB_SAFE_CLUSTER_LABEL, sizeof(c->safe_cluster_id) - 1);
			memcpy(c->safe_cluster_id, c->labels[k].value, strlen(c->labels[k].value) + 1);
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(cfg->clusters[j].safe_cluster_id, c->safe_cluster_id) == 0)
				return fl_yaml_error(
				    doc, item, "safe_cluster_id", err,
				    "SaFE cluster id '%s' is also cluster '%s''s: each cluster needs its own",
				    c->safe_cluster_id, cfg->clusters[j].name);
	}
	return FL_OK;
}

/* hub.lens: {default_cluster: NAME}, a registered cluster; without it the first cluster in the file. */
static int load_lens(hub_config *cfg, fl_yaml_doc *doc, fl_yaml_node hub, char err[FL_ERR_LEN])
{
	fl_yaml_node lens = fl_yaml_get(doc, hub, "lens");
	int rv;
	if (lens != 0) {
		if (!fl_yaml_is_map(doc, lens))
			return fl_yaml_error(doc, lens, "lens", err, "expected a mapping {default_cluster: NAME}");
		if ((rv = fl_yaml_check_keys(doc, lens, lens_keys, err)) != FL_OK ||
		    (rv = fl_yaml_get_str(doc, lens, "default_cluster", false, cfg->lens_default_cluster,
		                          sizeof(cfg->lens_default_cluster), err)) != FL_OK)
			return rv;
		bool known = cfg->lens_default_cluster[0] == '\0';
		for (size_t i = 0; !known && i < cfg->n_clusters; i++)
			known = strcmp(cfg->clusters[i].name, cfg->lens_default_cluster) == 0;
		if (!known)
			return fl_yaml_error(doc, fl_yaml_get(doc, lens, "default_cluster"), "default_cluster", err,
			                     "'%s' is not a cluster listed under clusters", cfg->lens_default_cluster);
	}
	if (cfg->lens_default_cluster[0] == '\0' && cfg->n_clusters > 0)
		snprintf(cfg->lens_default_cluster, sizeof(cfg->lens_default_cluster), "%s", cfg->clusters[0].name);
	return FL_OK;
}

/* --- API access: hub.api_tokens and hub.cors_origins ----------------------------------------------- */

/* Reads the token file at path, trims surrounding whitespace and stores only its SHA-256 in t. The
 * token must be HUB_TOKEN_MIN_LEN..HUB_TOKEN_MAX_LEN visible ASCII characters (it travels in a header).
 * The bytes read are wiped. Errors name the key; never the token. */
static int load_token_file(fl_yaml_doc *doc, fl_yaml_node item, hub_api_token_conf *t, char err[FL_ERR_LEN])
{
	fl_yaml_node at = fl_yaml_get(doc, item, "token_file");
	FILE *f = fopen(t->token_file, "rb");
	if (f == NULL)
		return fl_yaml_error(doc, at, "token_file", err, "%s: cannot read: %s", t->token_file, strerror(errno));
	char buf[HUB_TOKEN_MAX_LEN + 64];
	size_t n = fread(buf, 1, sizeof(buf), f);
	bool bad = ferror(f) != 0;
	fclose(f);
	size_t a = 0, b = n;
	while (a < b && isspace((unsigned char)buf[a]))
		a++;
	while (b > a && isspace((unsigned char)buf[b - 1]))
		b--;
	bool visible = true;
	for (size_t i = a; i < b; i++)
		visible = visible && buf[i] > 0x20 && buf[i] < 0x7f;
	int rv = FL_OK;
	if (bad)
		rv = fl_yaml_error(doc, at, "token_file", err, "%s: read error", t->token_file);
	else if (n == sizeof(buf) || b - a > HUB_TOKEN_MAX_LEN || b - a < HUB_TOKEN_MIN_LEN || !visible)
		rv = fl_yaml_error(doc, at, "token_file", err,
		                   "%s: the token must be %d..%d visible ASCII characters (no spaces inside)",
		                   t->token_file, HUB_TOKEN_MIN_LEN, HUB_TOKEN_MAX_LEN);
	else
		hub_auth_sha256(buf + a, b - a, t->sha256);
	OPENSSL_cleanse(buf, sizeof(buf));
	return rv;
}

/* clusters: [names] (each registered) into t's bit set. */
static int load_token_clusters(const hub_config *cfg, fl_yaml_doc *doc, fl_yaml_node list, hub_api_token_conf *t,
                               char err[FL_ERR_LEN])
{
	if (!fl_yaml_is_seq(doc, list) || fl_yaml_seq_len(doc, list) == 0)
		return fl_yaml_error(doc, list, "clusters", err, "expected a non-empty list of cluster names");
	for (size_t k = 0; k < fl_yaml_seq_len(doc, list); k++) {
		fl_yaml_node it = fl_yaml_seq_item(doc, list, k);
		const char *name = fl_yaml_scalar(doc, it);
		size_t i = 0;
		while (name != NULL && i < cfg->n_clusters && strcmp(cfg->clusters[i].name, name) != 0)
			i++;
		if (name == NULL || i == cfg->n_clusters)
			return fl_yaml_error(doc, it, "clusters", err, "'%.64s' is not a registered cluster",
			                     name != NULL ? name : "(not a name)");
		t->clusters[i / 8] |= (uint8_t)(1u << (i % 8));
	}
	t->scope = HUB_SCOPE_CLUSTERS;
	return FL_OK;
}

/* cluster_labels: {key: value, ...} into t->labels. */
static int load_token_labels(fl_yaml_doc *doc, fl_yaml_node map, hub_api_token_conf *t, char err[FL_ERR_LEN])
{
	size_t n = fl_yaml_is_map(doc, map) ? fl_yaml_map_len(doc, map) : 0;
	if (n == 0)
		return fl_yaml_error(doc, map, "cluster_labels", err,
		                     "expected a non-empty mapping like {region: us-east}");
	if (n > HUB_MAX_TOKEN_LABELS)
		return fl_yaml_error(doc, map, "cluster_labels", err, "more than %d labels", HUB_MAX_TOKEN_LABELS);
	for (size_t i = 0; i < n; i++) {
		const char *k = fl_yaml_map_key(doc, map, i);
		const char *v = fl_yaml_scalar(doc, fl_yaml_map_value(doc, map, i));
		if (k == NULL || v == NULL || k[0] == '\0' || strlen(k) >= HUB_LABEL_LEN || strlen(v) >= HUB_LABEL_LEN)
			return fl_yaml_error(doc, map, "cluster_labels", err,
			                     "keys and values must be plain strings of at most %d characters",
			                     HUB_LABEL_LEN - 1);
		snprintf(t->labels[i].key, sizeof(t->labels[i].key), "%s", k);
		snprintf(t->labels[i].value, sizeof(t->labels[i].value), "%s", v);
	}
	t->n_labels = n;
	t->scope = HUB_SCOPE_LABELS;
	return FL_OK;
}

static int load_token(hub_config *cfg, fl_yaml_doc *doc, fl_yaml_node item, hub_api_token_conf *t, char err[FL_ERR_LEN])
{
	int rv;
	if (!fl_yaml_is_map(doc, item))
		return fl_yaml_error(doc, item, "api_tokens", err,
		                     "each item must be a mapping with name and token_file");
	if ((rv = fl_yaml_check_keys(doc, item, token_keys, err)) != FL_OK ||
	    (rv = fl_yaml_get_str(doc, item, "name", true, t->name, sizeof(t->name), err)) != FL_OK)
		return rv;
	if (!fl_proto_valid_name(t->name))
		return fl_yaml_error(doc, fl_yaml_get(doc, item, "name"), "name", err,
		                     "'%s' is not a valid token name (1..63 of A-Z a-z 0-9 . _ -)", t->name);
	for (size_t j = 0; j < cfg->n_api_tokens; j++)
		if (strcmp(cfg->api_tokens[j].name, t->name) == 0)
			return fl_yaml_error(doc, fl_yaml_get(doc, item, "name"), "name", err,
			                     "token '%s' is listed twice", t->name);
	if (fl_yaml_get(doc, item, "token_file") == 0)
		return fl_yaml_error(doc, item, "token_file", err, "missing (required)");
	if ((rv = get_path(doc, item, "token_file", "", t->token_file, sizeof(t->token_file), err)) != FL_OK)
		return rv;
	if ((rv = load_token_file(doc, item, t, err)) != FL_OK)
		return rv;
	for (size_t j = 0; j < cfg->n_api_tokens; j++)
		if (memcmp(cfg->api_tokens[j].sha256, t->sha256, sizeof(t->sha256)) == 0)
			return fl_yaml_error(doc, fl_yaml_get(doc, item, "token_file"), "token_file", err,
			                     "the same token as token '%s'", cfg->api_tokens[j].name);
	fl_yaml_node names = fl_yaml_get(doc, item, "clusters"), labels = fl_yaml_get(doc, item, "cluster_labels");
	if (names != 0 && labels != 0)
		return fl_yaml_error(doc, labels, "cluster_labels", err, "give clusters or cluster_labels, not both");
	if (names != 0)
		return load_token_clusters(cfg, doc, names, t, err);
	if (labels != 0)
		return load_token_labels(doc, labels, t, err);
	return FL_OK;
}

/* An origin as browsers send it: http(s)://host[:port], nothing after. */
static bool valid_origin(const char *o)
{
	const char *h = strncmp(o, "https://", 8) == 0 ? o + 8 : strncmp(o, "http://", 7) == 0 ? o + 7 : NULL;
	if (h == NULL || *h == '\0' || strlen(o) >= HUB_ORIGIN_LEN)
		return false;
	const char *colon = strchr(h, ':');
	for (const char *p = h; *p != '\0' && p != colon; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-')
			return false;
	if (colon == h)
		return false;
	if (colon != NULL) {
		size_t digits = strspn(colon + 1, "0123456789");
		if (digits == 0 || digits > 5 || colon[1 + digits] != '\0')
			return false;
	}
	return true;
}

static int load_cors(hub_config *cfg, fl_yaml_doc *doc, fl_yaml_node list, char err[FL_ERR_LEN])
{
	if (!fl_yaml_is_seq(doc, list))
		return fl_yaml_error(doc, list, "cors_origins", err, "expected a list like [https://ops.example.com]");
	size_t n = fl_yaml_seq_len(doc, list);
	if (n > HUB_MAX_CORS_ORIGINS)
		return fl_yaml_error(doc, list, "cors_origins", err, "more than %d origins", HUB_MAX_CORS_ORIGINS);
	for (size_t i = 0; i < n; i++) {
		fl_yaml_node it = fl_yaml_seq_item(doc, list, i);
		const char *o = fl_yaml_scalar(doc, it);
		if (o == NULL || !valid_origin(o))
			return fl_yaml_error(
			    doc, it, "cors_origins", err,
			    "'%.80s' is not an origin like https://ops.example.com[:port] (no path, no '*')",
			    o != NULL ? o : "(not a string)");
		snprintf(cfg->cors_origins[i], sizeof(cfg->cors_origins[i]), "%s", o);
		cfg->n_cors_origins = i + 1;
	}
	return FL_OK;
}

/* hub.api_tokens and hub.cors_origins; both optional. */
static int load_api_access(hub_config *cfg, fl_yaml_doc *doc, fl_yaml_node hub, char err[FL_ERR_LEN])
{
	fl_yaml_node tokens = fl_yaml_get(doc, hub, "api_tokens"), cors = fl_yaml_get(doc, hub, "cors_origins");
	int64_t threads = HUB_DEFAULT_API_THREADS;
	int rv = fl_yaml_get_int(doc, hub, "api_threads", false, 1, HUB_MAX_API_THREADS, &threads, err);
	if (rv != FL_OK)
		return rv;
	cfg->api_threads = (int)threads;
	if (cors != 0 && (rv = load_cors(cfg, doc, cors, err)) != FL_OK)
		return rv;
	if (tokens == 0)
		return FL_OK;
	if (!fl_yaml_is_seq(doc, tokens))
		return fl_yaml_error(doc, tokens, "api_tokens", err, "expected a list of {name: ..., token_file: ...}");
	size_t n = fl_yaml_seq_len(doc, tokens);
	if (n > HUB_MAX_API_TOKENS)
		return fl_yaml_error(doc, tokens, "api_tokens", err, "more than %d tokens", HUB_MAX_API_TOKENS);
	if (n == 0)
		return FL_OK;
	if ((cfg->api_tokens = calloc(n, sizeof(*cfg->api_tokens))) == NULL)
		return fl_seterr(err, FL_ENOMEM, "%s: out of memory", doc->path);
	for (size_t i = 0; i < n; i++) {
		if ((rv = load_token(cfg, doc, fl_yaml_seq_item(doc, tokens, i), &cfg->api_tokens[i], err)) != FL_OK)
			return rv;
		cfg->n_api_tokens = i + 1;
	}
	return FL_OK;
}

/* hub.KEY as a percentage 0..100 (decimals allowed) into *out; def when absent. FL_OK or FL_ECONFIG. */
static int get_percent(fl_yaml_doc *doc, fl_yaml_node hub, const char *key, double def, double *out,
                       char err[FL_ERR_LEN])
{
	*out = def;
	fl_yaml_node n = fl_yaml_get(doc, hub, key);
	if (n == 0)
		return FL_OK;
	const char *v = fl_yaml_scalar(doc, n);
	char *end = NULL;
	errno = 0;
	double x = v != NULL && v[0] != '\0' && strspn(v, "0123456789.") == strlen(v) ? strtod(v, &end) : -1;
	if (errno != 0 || end == NULL || *end != '\0' || !(x >= 0 && x <= 100))
		return fl_yaml_error(doc, n, key, err,
		                     "expected a percentage from 0 to 100 (like 5 or 2.5), got '%.64s'",
		                     v != NULL ? v : "");
	*out = x;
	return FL_OK;
}

/* The GPU job monitor's settings: job_idle_utilization (a percentage) and job_idle_after (a duration, at
 * least 1s). */
static int load_jobs(hub_config *cfg, fl_yaml_doc *doc, fl_yaml_node hub, char err[FL_ERR_LEN])
{
	int rv = get_percent(doc, hub, "job_idle_utilization", HUB_DEFAULT_JOB_IDLE_UTILIZATION,
	                     &cfg->job_idle_utilization, err);
	if (rv != FL_OK)
		return rv;
	cfg->job_idle_after_ms = HUB_DEFAULT_JOB_IDLE_AFTER_MS;
	if ((rv = fl_yaml_get_duration(doc, hub, "job_idle_after", false, &cfg->job_idle_after_ms, err)) != FL_OK)
		return rv;
	if (cfg->job_idle_after_ms < 1000)
		return fl_yaml_error(doc, fl_yaml_get(doc, hub, "job_idle_after"), "job_idle_after", err,
		                     "at least 1s");
	return FL_OK;
}

/* The rollups' settings, after history_retention: rollup_retention (>= history_retention: the rollups are made
 * from the samples) and idle_threshold (a percentage, decimals allowed). */
static int load_rollup(hub_config *cfg, fl_yaml_doc *doc, fl_yaml_node hub, char err[FL_ERR_LEN])
{
	cfg->rollup_retention_ms = HUB_DEFAULT_ROLLUP_RETENTION_MS;
	int rv = fl_yaml_get_duration(doc, hub, "rollup_retention", false, &cfg->rollup_retention_ms, err);
	if (rv != FL_OK)
		return rv;
	if (cfg->rollup_retention_ms < cfg->history_retention_ms) {
		fl_yaml_node n = fl_yaml_get(doc, hub, "rollup_retention");
		const char *key = n != 0 ? "rollup_retention" : "history_retention";
		return fl_yaml_error(doc, n != 0 ? n : fl_yaml_get(doc, hub, "history_retention"), key, err,
		                     "rollup_retention (%lld h%s) must be at least history_retention (%lld h): the "
		                     "hourly rollups are made "
		                     "from the samples",
		                     (long long)(cfg->rollup_retention_ms / 3600000), n != 0 ? "" : ", the default",
		                     (long long)(cfg->history_retention_ms / 3600000));
	}
	if ((rv = get_percent(doc, hub, "idle_threshold", HUB_DEFAULT_IDLE_THRESHOLD, &cfg->idle_threshold, err)) !=
	    FL_OK)
		return rv;
	return load_jobs(cfg, doc, hub, err);
}

/* The SaFE sync's and history's settings: safe_database_url (FLEETLENS_SAFE_DATABASE_URL, when set,
 * replaces it; empty = off), safe_sync_interval and history_retention; the node agents' node_lost_after;
 * then load_rollup's. */
static int load_safe(hub_config *cfg, fl_yaml_doc *doc, fl_yaml_node hub, char err[FL_ERR_LEN])
{
	int rv = fl_yaml_get_str(doc, hub, "safe_database_url", false, cfg->safe_database_url,
	                         sizeof(cfg->safe_database_url), err);
	if (rv != FL_OK)
		return rv;
	const char *env = getenv("FLEETLENS_SAFE_DATABASE_URL");
	if (env != NULL && snprintf(cfg->safe_database_url, sizeof(cfg->safe_database_url), "%s", env) >=
	                       (int)sizeof(cfg->safe_database_url))
		return fl_seterr(err, FL_ECONFIG, "FLEETLENS_SAFE_DATABASE_URL: longer than %zu characters",
		                 sizeof(cfg->safe_database_url) - 1);
	cfg->safe_sync_interval_ms = HUB_DEFAULT_SAFE_SYNC_INTERVAL_MS;
	if ((rv = fl_yaml_get_duration(doc, hub, "safe_sync_interval", false, &cfg->safe_sync_interval_ms, err)) !=
	    FL_OK)
		return rv;
	if (cfg->safe_sync_interval_ms < HUB_MIN_SAFE_SYNC_INTERVAL_MS ||
	    cfg->safe_sync_interval_ms > HUB_MAX_SAFE_SYNC_INTERVAL_MS)
		return fl_yaml_error(doc, fl_yaml_get(doc, hub, "safe_sync_interval"), "safe_sync_interval", err,
		                     "expected 1s..24h");
	cfg->history_retention_ms = HUB_DEFAULT_HISTORY_RETENTION_MS;
	if ((rv = fl_yaml_get_duration(doc, hub, "history_retention", false, &cfg->history_retention_ms, err)) != FL_OK)
		return rv;
	if (cfg->history_retention_ms < HUB_MIN_HISTORY_RETENTION_MS)
		return fl_yaml_error(doc, fl_yaml_get(doc, hub, "history_retention"), "history_retention", err,
		                     "at least 1d (history is kept in day partitions)");
	cfg->node_lost_after_ms = HUB_DEFAULT_NODE_LOST_AFTER_MS;
	if ((rv = fl_yaml_get_duration(doc, hub, "node_lost_after", false, &cfg->node_lost_after_ms, err)) != FL_OK)
		return rv;
	if (cfg->node_lost_after_ms < HUB_MIN_NODE_LOST_AFTER_MS)
		return fl_yaml_error(doc, fl_yaml_get(doc, hub, "node_lost_after"), "node_lost_after", err,
		                     "at least 1s");
	return load_rollup(cfg, doc, hub, err);
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
	if ((rv = load_api_access(cfg, &doc, hub, err)) != FL_OK)
		goto fail;
	if ((rv = load_safe(cfg, &doc, hub, err)) != FL_OK)
		goto fail;
	if ((rv = load_lens(cfg, &doc, hub, err)) != FL_OK)
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
	for (size_t i = 0; i < cfg->n_clusters; i++) {
		fl_key_wipe(&cfg->clusters[i].key);
		fl_key_wipe(&cfg->clusters[i].node_key);
		fl_key_wipe(&cfg->clusters[i].next_key);
		fl_key_wipe(&cfg->clusters[i].next_node_key);
	}
	free(cfg->clusters);
	free(cfg->api_tokens);
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

int hub_config_dup(hub_config *dst, const hub_config *src)
{
	*dst = *src;
	dst->clusters = NULL;
	dst->api_tokens = NULL;
	if (src->n_clusters > 0 && (dst->clusters = malloc(src->n_clusters * sizeof(*src->clusters))) == NULL)
		goto nomem;
	if (src->n_api_tokens > 0 && (dst->api_tokens = malloc(src->n_api_tokens * sizeof(*src->api_tokens))) == NULL)
		goto nomem;
	if (src->n_clusters > 0)
		memcpy(dst->clusters, src->clusters, src->n_clusters * sizeof(*src->clusters));
	if (src->n_api_tokens > 0)
		memcpy(dst->api_tokens, src->api_tokens, src->n_api_tokens * sizeof(*src->api_tokens));
	return FL_OK;
nomem:
	free(dst->clusters);
	memset(dst, 0, sizeof(*dst));
	return FL_ENOMEM;
}

/* Appends key to out (a comma list) when differ. */
static int differs(bool differ, const char *key, char *out, size_t outlen)
{
	size_t used = strlen(out);
	if (!differ)
		return 0;
	if (used < outlen)
		snprintf(out + used, outlen - used, "%s%s", used > 0 ? ", " : "", key);
	return 1;
}

int hub_config_restart_diff(const hub_config *a, const hub_config *b, char *out, size_t outlen)
{
	int n = 0;
	out[0] = '\0';
#define STR_DIFF(f, key) n += differs(strcmp(a->f, b->f) != 0, key, out, outlen)
#define NUM_DIFF(f, key) n += differs(a->f != b->f, key, out, outlen)
	STR_DIFF(ingest_url, "hub.ingest_url");
	STR_DIFF(api_listen, "hub.api_listen");
	STR_DIFF(database_url, "hub.database_url");
	NUM_DIFF(stale_after_ms, "hub.stale_after");
	NUM_DIFF(offline_after_ms, "hub.offline_after");
	STR_DIFF(web_dir, "hub.web_dir");
	STR_DIFF(migrations_dir, "hub.migrations_dir");
	NUM_DIFF(log_level, "hub.log_level");
	NUM_DIFF(ingest_workers, "hub.ingest_workers");
	NUM_DIFF(replay_tolerance_ms, "hub.replay_tolerance");
	NUM_DIFF(ingest_log_retention_ms, "hub.ingest_log_retention");
	n += differs(strcmp(a->tls_cert_file, b->tls_cert_file) != 0 || strcmp(a->tls_key_file, b->tls_key_file) != 0 ||
	                 strcmp(a->tls_ca_file, b->tls_ca_file) != 0,
	             "hub.tls", out, outlen);
	STR_DIFF(safe_database_url, "hub.safe_database_url");
	NUM_DIFF(safe_sync_interval_ms, "hub.safe_sync_interval");
	NUM_DIFF(history_retention_ms, "hub.history_retention");
	NUM_DIFF(rollup_retention_ms, "hub.rollup_retention");
	NUM_DIFF(idle_threshold, "hub.idle_threshold");
	NUM_DIFF(job_idle_utilization, "hub.job_idle_utilization");
	NUM_DIFF(job_idle_after_ms, "hub.job_idle_after");
	NUM_DIFF(node_lost_after_ms, "hub.node_lost_after");
	NUM_DIFF(api_threads, "hub.api_threads");
#undef STR_DIFF
#undef NUM_DIFF
	return n;
}

void hub_config_each_file(const hub_config *cfg, void (*fn)(const char *path, void *arg), void *arg)
{
	fn(cfg->path, arg);
	for (size_t i = 0; i < cfg->n_clusters; i++) {
		const hub_cluster_conf *c = &cfg->clusters[i];
		const char *files[] = {c->key_file, c->node_key_file, c->next_key_file, c->next_node_key_file};
		for (size_t k = 0; k < sizeof(files) / sizeof(files[0]); k++)
			if (files[k][0] != '\0')
				fn(files[k], arg);
	}
	for (size_t t = 0; t < cfg->n_api_tokens; t++)
		fn(cfg->api_tokens[t].token_file, arg);
}
