/* spoke_main.c — fleetlens-spoke: flags, configuration, signals and exit codes around spoke_daemon.
 *
 *   fleetlens-spoke --config FILE [--once [--dry-run]]
 *
 * Exit codes: 0 acknowledged (or the hub already had it) / clean stop on SIGINT or SIGTERM,
 * 1 not acknowledged (hub unreachable, timed out, retry, other errors), 2 usage or configuration
 * error, 3 refused by the hub (the reason is printed). */
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl_err.h"
#include "fl_log.h"
#include "fl_proto.h"
#include "fl_time.h"
#include "spoke_config.h"
#include "spoke_daemon.h"
#include "spoke_http.h"
#include "spoke_state.h"

#define PROG "fleetlens-spoke"

enum { EXIT_ACKED = 0, EXIT_NOT_ACKED = 1, EXIT_CONFIG = 2, EXIT_REJECTED = 3 };

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void usage(FILE *to)
{
	fprintf(to, "usage: " PROG " --config FILE [--once [--dry-run]]\n"
	            "  --config FILE  spoke configuration (YAML; keys in spoke/README.md)\n"
	            "  --once         collect one cycle, send it, wait for the ack, exit\n"
	            "  --dry-run      with --once: print the frame as JSON, send nothing\n"
	            "  --version      print the version\n"
	            "  --help         this text\n"
	            "exit codes: 0 acknowledged, 1 not acknowledged, 2 configuration error, 3 refused by the hub\n");
}

/* Prints cycle 0 as JSON, with a fresh spoke id and seq 1; touches neither spool_dir nor the network.
 * The frame is encoded and signed too, to check it stays within the format's limits. */
static int run_dry_run(const spoke_config *cfg)
{
	char err[FL_ERR_LEN], spoke_id[FL_CLUSTER_LEN];
	spoke_state_make_id(spoke_id);
	spoke_frame_meta meta = {cfg->cluster, spoke_id, 1, fl_now_ms(), spoke_config_source_name(cfg->source)};
	fl_proto_frame f;
	if (spoke_daemon_collect(cfg, 0, &meta, &f, err) != FL_OK) {
		fl_error("collect failed: %s", err);
		return EXIT_NOT_ACKED;
	}
	int code = EXIT_ACKED;
	char *bytes = NULL;
	size_t len = 0;
	if (fl_proto_encode(&f, cfg->key.bytes, cfg->key.len, &bytes, &len, err) != FL_OK) {
		fl_error("frame would be refused: %s", err);
		code = EXIT_NOT_ACKED;
	}
	free(bytes);
	json_t *j = fl_proto_frame_to_json(&f);
	if (j == NULL || json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) != 0 ||
	    fputc('\n', stdout) == EOF || fflush(stdout) != 0) {
		fl_error("writing the frame as JSON failed");
		code = EXIT_NOT_ACKED;
	}
	json_decref(j);
	if (code == EXIT_ACKED) {
		fl_info("dry run: seq=1 nodes=%u gpus=%u, %zu bytes encoded and signed, nothing sent", f.n_nodes,
		        f.n_gpus, len);
	}
	fl_proto_frame_free(&f);
	return code;
}

/* The loop, with /healthz and /metrics on metrics_listen when it is set (not for --once). */
static int run_daemon(spoke_daemon *d, const spoke_config *cfg)
{
	spoke_http *http = NULL;
	char err[FL_ERR_LEN];
	if (cfg->metrics_listen[0] != '\0') {
		int rv = spoke_http_start(cfg->metrics_listen, spoke_stats_global(), &http, err);
		if (rv != FL_OK) {
			fl_error("%s", err);
			return rv == FL_EINVAL ? EXIT_CONFIG : EXIT_NOT_ACKED;
		}
		fl_info("serving /healthz and /metrics on %s", cfg->metrics_listen);
	}
	spoke_daemon_run(d, &stop_requested);
	spoke_http_stop(http);
	return EXIT_ACKED;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'}, {"once", no_argument, NULL, 'o'},
	    {"dry-run", no_argument, NULL, 'd'},      {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	const char *config_path = NULL;
	bool once = false, dry_run = false;
	int opt;
	while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': config_path = optarg; break;
		case 'o': once = true; break;
		case 'd': dry_run = true; break;
		case 'V': printf(PROG " %s\n", FL_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EXIT_CONFIG;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return EXIT_CONFIG;
	}
	if (config_path == NULL) {
		fprintf(stderr, PROG ": --config FILE is required\n");
		usage(stderr);
		return EXIT_CONFIG;
	}
	if (dry_run && !once) {
		fprintf(stderr, PROG ": --dry-run only goes with --once\n");
		return EXIT_CONFIG;
	}

	spoke_config cfg;
	char err[FL_ERR_LEN];
	if (spoke_config_load(config_path, &cfg, err) != FL_OK) {
		fprintf(stderr, PROG ": %s\n", err);
		return EXIT_CONFIG;
	}
	fl_log_init("spoke", cfg.log_level);
	if (dry_run) {
		int code = run_dry_run(&cfg);
		spoke_config_wipe(&cfg);
		return code;
	}

	/* Signals are caught before the daemon opens, so even --once stops promptly (and keeps its spool). */
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	spoke_daemon *d;
	int rv = spoke_daemon_open(&d, &cfg, err);
	if (rv != FL_OK) {
		fprintf(stderr, PROG ": %s: %s\n", config_path, err);
		spoke_config_wipe(&cfg);
		return rv == FL_EINVAL || rv == FL_ECONFIG ? EXIT_CONFIG : EXIT_NOT_ACKED;
	}
	fl_info("spoke %s for cluster %s, source %s, hub %s, interval %lld ms, spool %s", spoke_daemon_spoke_id(d),
	        cfg.cluster, spoke_config_source_name(cfg.source), cfg.hub_url, (long long)cfg.interval_ms,
	        cfg.spool_dir[0] != '\0' ? cfg.spool_dir : "in memory only");

	int code = EXIT_ACKED;
	if (once) {
		spoke_outcome o = spoke_daemon_once(d, &stop_requested);
		code = o == SPOKE_ACKED ? EXIT_ACKED : o == SPOKE_REJECTED ? EXIT_REJECTED : EXIT_NOT_ACKED;
	} else {
		code = run_daemon(d, &cfg);
	}
	spoke_daemon_close(d);
	spoke_config_wipe(&cfg);
	return code;
}
