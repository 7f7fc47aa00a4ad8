/* hub_main.c — fleetlens-hub: load clusters.yaml, connect to PostgreSQL and migrate, then serve the
 * ingest socket and the API until SIGINT/SIGTERM. SIGHUP, or a change of the config file or of a file it
 * names (checked every hub.config_check_interval), reloads clusters.yaml: see reload().
 * Exit codes: 0 clean stop (or --check passed), 1 start-up failure (database, sockets), 2 bad
 * configuration or usage. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "fl_log.h"
#include "fl_time.h"
#include "hub_api.h"
#include "hub_config.h"
#include "hub_ingest.h"
#include "hub_peers.h"
#include "hub_history_maint.h"
#include "hub_metrics.h"
#include "hub_migrate.h"
#include "hub_registry.h"
#include "hub_safe.h"
#include "hub_store.h"
#include "hub_view.h"

#define HUB_DB_CONNECT_MAX_MS 30000

static void usage(FILE *to)
{
	fprintf(to, "usage: fleetlens-hub --config FILE [--check]\n"
	            "  --config FILE  clusters.yaml: the hub's settings and registered clusters\n"
	            "  --check        validate FILE, print 'FILE: ok (N clusters)' and exit\n"
	            "environment: FLEETLENS_DATABASE_URL overrides hub.database_url,\n"
	            "  FLEETLENS_SAFE_DATABASE_URL (when set, even empty) hub.safe_database_url\n");
}

/* --- reload ----------------------------------------------------------------------------------------- */

typedef struct reloader {
	const hub_config *boot; /* the start-up config: the settings a reload does not change */
	hub_registry *reg;
	uint64_t seen; /* fingerprint of the files as the running config (or the last refused try) found them */
} reloader;

/* Mixes one file's identity (stat follows symlinks, as ConfigMap and Secret volumes swap them) into *arg. */
static void fingerprint_file(const char *path, void *arg)
{
	uint64_t *h = arg;
	struct stat st;
	bool ok = stat(path, &st) == 0;
	uint64_t parts[] = {ok,
	                    ok ? (uint64_t)st.st_dev : 0,
	                    ok ? (uint64_t)st.st_ino : 0,
	                    ok ? (uint64_t)st.st_size : 0,
	                    ok ? (uint64_t)st.st_mtim.tv_sec : 0,
	                    ok ? (uint64_t)st.st_mtim.tv_nsec : 0};
	for (const char *c = path; *c != '\0'; c++)
		*h = (*h ^ (uint8_t)*c) * 1099511628211ull;
	for (size_t k = 0; k < sizeof(parts) / sizeof(parts[0]); k++)
		*h = (*h ^ parts[k]) * 1099511628211ull;
}

/* Fingerprint of the current generation's files (config file, key files, token files). */
static uint64_t fingerprint(hub_registry *reg)
{
	uint64_t h = 14695981039346656037ull;
	hub_clusters *cs = hub_registry_clusters(reg);
	hub_config_each_file(&cs->cfg, fingerprint_file, &h);
	hub_clusters_release(cs);
	return h;
}

/* Reads the clusters that a reload made active back from the database into the view and the registry (a
 * re-added cluster's rows, or none for a new one). */
static void load_activated(hub_registry *reg, hub_store *store, const hub_reload_summary *sum)
{
	hub_view *view = hub_registry_view(reg);
	for (size_t k = 0; view != NULL && k < sum->added; k++) {
		size_t i = sum->activated[k];
		fl_proto_frame f;
		hub_cluster_read cr;
		char err[FL_ERR_LEN];
		if (hub_store_read_cluster(store, hub_registry_name(reg, i), &f, &cr, err) != FL_OK) {
			fl_warn("config reload: cluster %s: its stored rows stay unread until its next full frame: %s",
			        hub_registry_name(reg, i), err);
			continue;
		}
		if (hub_view_refresh(view, i, &f, cr.last_frame_ms, cr.overview_ms, cr.rows_gen) == FL_OK)
			hub_registry_observe(reg, i, &f, cr.last_frame_ms, cr.version_ms);
		fl_proto_frame_free(&f);
	}
}

/* Checks what cfg may not change in a running hub; FL_OK or FL_ECONFIG with err. */
static int reload_allowed(const reloader *rl, const hub_config *cfg, char err[FL_ERR_LEN])
{
	if (rl->boot->n_api_tokens > 0 && cfg->n_api_tokens == 0)
		return fl_seterr(err, FL_ECONFIG,
		                 "%s: hub.api_tokens: removing every token needs a restart (the API listens on %s "
		                 "for token holders; without tokens it serves loopback only)",
		                 cfg->path, rl->boot->api_listen);
	return FL_OK;
}

/* Registers cfg's clusters in the database and makes cfg the registry's current generation. */
static int reload_apply(reloader *rl, const hub_config *cfg, hub_reload_summary *sum, char err[FL_ERR_LEN])
{
	hub_store *store = hub_store_new(rl->boot->database_url);
	if (store == NULL)
		return fl_seterr(err, FL_ENOMEM, "out of memory");
	int rv = hub_store_register_clusters(store, cfg, err);
	if (rv == FL_OK)
		rv = hub_registry_reload(rl->reg, cfg, sum, err);
	if (rv == FL_OK)
		load_activated(rl->reg, store, sum);
	hub_store_free(store);
	return rv;
}

/* Re-reads clusters.yaml all or nothing: the new file is loaded and checked whole (hub_config_load) and its
 * clusters registered in the database before anything changes; a refused file leaves the running config. */
static void reload(reloader *rl, const char *why)
{
	char err[FL_ERR_LEN];
	hub_config cfg;
	hub_reload_summary *sum = malloc(sizeof(*sum));
	rl->seen = fingerprint(rl->reg); /* a refused file is tried again only once it changes again */
	int rv = sum == NULL ? fl_seterr(err, FL_ENOMEM, "out of memory")
	                     : hub_config_load(&cfg, rl->boot->path, getenv("FLEETLENS_DATABASE_URL"), err);
	if (rv == FL_OK) {
		if ((rv = reload_allowed(rl, &cfg, err)) == FL_OK)
			rv = reload_apply(rl, &cfg, sum, err);
		if (rv == FL_OK) {
			char restart[512];
			hub_clusters *cs = hub_registry_clusters(rl->reg);
			fl_info("config reloaded (%s): %s; %zu clusters, %zu api tokens, %zu cors origins", why,
			        sum->text[0] != '\0' ? sum->text : "no cluster changed", cfg.n_clusters,
			        cfg.n_api_tokens, cfg.n_cors_origins);
			if (hub_config_restart_diff(rl->boot, &cs->cfg, restart, sizeof(restart)) > 0)
				fl_warn("config reload: %s changed in %s; applied the rest, these wait for a restart",
				        restart, rl->boot->path);
			hub_clusters_release(cs);
		}
		hub_config_free(&cfg);
	}
	free(sum);
	if (rv != FL_OK) {
		hub_metrics_add(HUB_M_CONFIG_RELOADS_FAILED, 1);
		hub_metrics_set_config_failed();
		fl_error("config reload (%s) refused, the running configuration stays: %s", why, err);
		return;
	}
	hub_metrics_add(HUB_M_CONFIG_RELOADS_OK, 1);
	hub_metrics_set_config_success(fl_now_ms());
	rl->seen = fingerprint(rl->reg);
}

/* The running configuration's hub.config_check_interval (a reload may change it). */
static int64_t check_interval(hub_registry *reg)
{
	hub_clusters *cs = hub_registry_clusters(reg);
	int64_t ms = cs->cfg.config_check_interval_ms;
	hub_clusters_release(cs);
	return ms;
}

/* Waits for SIGINT/SIGTERM (returned), reloading on SIGHUP and, every config_check_interval, when a file the
 * running config was read from changed. */
static int serve(reloader *rl, const sigset_t *sigs)
{
	rl->seen = fingerprint(rl->reg);
	for (;;) {
		int64_t every = check_interval(rl->reg);
		struct timespec ts = {.tv_sec = every > 0 ? every / 1000 : 3600,
		                      .tv_nsec = every > 0 ? (every % 1000) * 1000000 : 0};
		int sig = sigtimedwait(sigs, NULL, &ts);
		if (sig == SIGINT || sig == SIGTERM)
			return sig;
		if (sig == SIGHUP)
			reload(rl, "SIGHUP");
		else if (sig < 0 && every > 0 && fingerprint(rl->reg) != rl->seen)
			reload(rl, "a watched file changed");
	}
}

/* Signals go to sigwait (serve) only: every thread started after this inherits the mask in *sigs. */
static void block_signals(sigset_t *sigs)
{
	sigemptyset(sigs);
	sigaddset(sigs, SIGINT);
	sigaddset(sigs, SIGTERM);
	sigaddset(sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Connects (retrying), applies the migrations (their versions in *versions, caller frees), registers the
 * configured clusters and loads their state into reg. FL_OK, or an error code after logging what failed. */
static int open_database(const hub_config *cfg, hub_store *store, hub_registry *reg, json_t **versions)
{
	char err[FL_ERR_LEN];
	int applied = 0;
	int rc;
	if ((rc = hub_store_connect_retry(store, HUB_DB_CONNECT_MAX_MS, err)) != FL_OK) {
		fl_error("database: giving up after %d s: %s", HUB_DB_CONNECT_MAX_MS / 1000, err);
		return rc;
	}
	if ((rc = hub_migrate_apply(store, cfg->migrations_dir, versions, &applied, err)) != FL_OK) {
		fl_error("migrations: %s", err);
		return rc;
	}
	fl_info("database ready: %zu migrations, %d applied now", json_array_size(*versions), applied);
	if ((rc = hub_store_register_clusters(store, cfg, err)) != FL_OK ||
	    (rc = hub_store_load_state(store, reg, err)) != FL_OK) {
		fl_error("database: %s", err);
		return rc;
	}
	return FL_OK;
}

/* Everything after configuration; returns the exit code. */
static int run(const hub_config *cfg)
{
	char err[FL_ERR_LEN];
	int code = 1;
	hub_registry *reg = NULL;
	hub_store *store = NULL;
	hub_ingest *ing = NULL;
	hub_api *api = NULL;
	hub_view *view = NULL;
	hub_safe *safe = NULL;
	hub_history_maint *history = NULL;
	hub_peers *peers = NULL;
	char instance[HUB_PEERS_INSTANCE_LEN];
	json_t *versions = NULL;
	sigset_t sigs;
	block_signals(&sigs);

	if (hub_registry_new(cfg, &reg) != FL_OK || (store = hub_store_new(cfg->database_url)) == NULL) {
		fl_error("out of memory");
		goto out;
	}
	if (open_database(cfg, store, reg, &versions) != FL_OK)
		goto out;
	if (hub_view_new(cfg, &view) != FL_OK) {
		fl_error("out of memory");
		goto out;
	}
	/* Listening before the view is read: what other hubs commit from now on reaches this hub's view. */
	if (hub_peers_instance_id(instance, err) != FL_OK ||
	    hub_peers_new(cfg, reg, view, instance, &peers, err) != FL_OK) {
		fl_error("%s", err);
		goto out;
	}
	if (hub_store_load_view(store, view, err) != FL_OK) {
		fl_error("database: loading the API's view: %s", err);
		goto out;
	}
	hub_registry_set_view(reg, view);
	/* From here on each ingest worker and API thread uses its own connection. */
	hub_store_free(store);
	store = NULL;
	if ((ing = hub_ingest_new(reg, cfg)) == NULL) {
		fl_error("out of memory");
		goto out;
	}
	hub_ingest_set_instance(ing, instance);
	if (hub_peers_start(peers, err) != FL_OK) {
		fl_error("%s", err);
		goto out;
	}
	if (hub_ingest_start(ing, err) != FL_OK) {
		fl_error("%s", err);
		goto out;
	}
	if (hub_api_start(cfg, reg, view, versions, &api, err) != FL_OK) {
		fl_error("%s", err);
		goto out;
	}
	if (hub_history_maint_start(cfg, &history, err) != FL_OK) {
		fl_error("%s", err);
		goto out;
	}
	if (hub_safe_start(cfg, reg, &safe, err) != FL_OK) {
		fl_error("%s", err);
		goto out;
	}
	fl_info("hub %s started: instance %s, ingest %s (%d workers), api http://%s/, %zu clusters, view %zu KiB",
	        FL_VERSION, instance, cfg->ingest_url, cfg->ingest_workers, hub_api_listening(api), cfg->n_clusters,
	        hub_view_bytes(view) / 1024);
	if (cfg->n_clusters == 0)
		fl_warn("no clusters are registered in %s: every frame will be refused", cfg->path);

	hub_metrics_set_config_success(fl_now_ms());
	reloader rl = {.boot = cfg, .reg = reg};
	int sig = serve(&rl, &sigs);
	fl_info("%s received, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
	code = 0;
out:
	hub_safe_stop(safe);
	hub_history_maint_stop(history);
	hub_api_stop(api);
	hub_ingest_free(ing);
	hub_peers_stop(peers);
	hub_store_free(store);
	hub_registry_free(reg);
	hub_view_free(view);
	json_decref(versions);
	if (code == 0)
		fl_info("stopped");
	return code;
}

int main(int argc, char **argv)
{
	/* A SIGHUP (systemctl reload) while the config loads stays pending and becomes a reload once the hub
	 * serves, instead of ending the process by default. */
	sigset_t hup;
	sigemptyset(&hup);
	sigaddset(&hup, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &hup, NULL);
	const char *path = NULL;
	int check = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			path = argv[++i];
		} else if (strcmp(argv[i], "--check") == 0) {
			check = 1;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "fleetlens-hub: unknown argument '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (path == NULL) {
		usage(stderr);
		return 2;
	}
	hub_config cfg;
	char err[FL_ERR_LEN];
	if (hub_config_load(&cfg, path, getenv("FLEETLENS_DATABASE_URL"), err) != FL_OK) {
		fprintf(stderr, "fleetlens-hub: %s\n", err);
		return 2;
	}
	if (check) {
		printf("%s: ok (%zu clusters)\n", path, cfg.n_clusters);
		hub_config_free(&cfg);
		return 0;
	}
	fl_log_init("hub", cfg.log_level);
	int code = run(&cfg);
	hub_config_free(&cfg);
	return code;
}
