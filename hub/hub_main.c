/* hub_main.c — fleetlens-hub: load clusters.yaml, connect to PostgreSQL and migrate, then serve the
 * ingest socket and the API until SIGINT/SIGTERM.
 * Exit codes: 0 clean stop (or --check passed), 1 start-up failure (database, sockets), 2 bad
 * configuration or usage. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl_log.h"
#include "hub_api.h"
#include "hub_config.h"
#include "hub_ingest.h"
#include "hub_peers.h"
#include "hub_history.h"
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
	hub_history *history = NULL;
	hub_peers *peers = NULL;
	char instance[HUB_PEERS_INSTANCE_LEN];
	json_t *versions = NULL;
	int applied = 0;

	/* Signals go to sigwait below only: every thread started from here on inherits this mask. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (hub_registry_new(cfg, &reg) != FL_OK || (store = hub_store_new(cfg->database_url)) == NULL) {
		fl_error("out of memory");
		goto out;
	}
	if (hub_store_connect_retry(store, HUB_DB_CONNECT_MAX_MS, err) != FL_OK) {
		fl_error("database: giving up after %d s: %s", HUB_DB_CONNECT_MAX_MS / 1000, err);
		goto out;
	}
	if (hub_store_migrate(store, cfg->migrations_dir, &versions, &applied, err) != FL_OK) {
		fl_error("migrations: %s", err);
		goto out;
	}
	fl_info("database ready: %zu migrations, %d applied now", json_array_size(versions), applied);
	if (hub_store_register_clusters(store, cfg, err) != FL_OK || hub_store_load_state(store, reg, err) != FL_OK) {
		fl_error("database: %s", err);
		goto out;
	}
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
	if (hub_history_start(cfg, &history, err) != FL_OK) {
		fl_error("%s", err);
		goto out;
	}
	if (hub_safe_start(cfg, &safe, err) != FL_OK) {
		fl_error("%s", err);
		goto out;
	}
	fl_info("hub %s started: instance %s, ingest %s (%d workers), api http://%s/, %zu clusters, view %zu KiB",
	        FL_VERSION, instance, cfg->ingest_url, cfg->ingest_workers, hub_api_listening(api), cfg->n_clusters,
	        hub_view_bytes(view) / 1024);
	if (cfg->n_clusters == 0)
		fl_warn("no clusters are registered in %s: every frame will be refused", cfg->path);

	int sig = 0;
	sigwait(&sigs, &sig);
	fl_info("%s received, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
	code = 0;
out:
	hub_safe_stop(safe);
	hub_history_stop(history);
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
