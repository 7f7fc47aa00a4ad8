/* spoke_main.c — fleetlens-spoke: collect the cluster each interval and push a full frame to the hub.
 *
 *   fleetlens-spoke --config FILE [--once [--dry-run]]
 *
 * Exit codes: 0 acknowledged (or the hub already had it) / clean stop on SIGINT or SIGTERM,
 * 1 not acknowledged (hub unreachable, timed out, other errors), 2 usage or configuration error,
 * 3 refused by the hub (the reason is printed). */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fl_err.h"
#include "fl_log.h"
#include "fl_proto.h"
#include "fl_time.h"
#include "spoke_config.h"
#include "spoke_frame.h"
#include "spoke_model.h"
#include "spoke_overview.h"
#include "spoke_sender.h"
#include "spoke_sim.h"

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

/* Writes "<short hostname>-<pid>-<4 hex>" (a valid name, at most 63 characters) into id. */
static void make_spoke_id(char id[FL_CLUSTER_LEN])
{
	char host[256] = "spoke";
	if (gethostname(host, sizeof(host)) != 0) {
		snprintf(host, sizeof(host), "spoke");
	}
	host[sizeof(host) - 1] = '\0';
	host[strcspn(host, ".")] = '\0';
	for (char *c = host; *c != '\0'; c++) {
		bool ok = (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
		          *c == '_' || *c == '-';
		if (!ok) {
			*c = '-';
		}
	}
	if (host[0] == '\0') {
		snprintf(host, sizeof(host), "spoke");
	}
	unsigned short rnd = 0;
	if (getentropy(&rnd, sizeof(rnd)) != 0) {
		rnd = (unsigned short)(fl_now_ms() ^ (int64_t)getpid());
	}
	char tail[32];
	snprintf(tail, sizeof(tail), "-%ld-%04x", (long)getpid(), (unsigned)rnd);
	int room = (int)(FL_CLUSTER_LEN - 1 - strlen(tail));
	snprintf(id, FL_CLUSTER_LEN, "%.*s%s", room, host, tail);
}

/* One collected cycle: the model, its overview and the frame built from them. */
typedef struct cycle {
	spoke_model model;
	spoke_overview_result ov;
	fl_proto_frame frame;
} cycle;

static void cycle_free(cycle *c)
{
	fl_proto_frame_free(&c->frame);
	spoke_overview_result_free(&c->ov);
	spoke_model_free(&c->model);
}

/* Collects tick from the configured source and builds frame seq. On failure err says why. */
static int collect(const spoke_config *cfg, const char *spoke_id, uint64_t tick, uint64_t seq, cycle *c,
                   char err[FL_ERR_LEN])
{
	memset(c, 0, sizeof(*c));
	int rv = spoke_sim_fill(&cfg->sim, tick, &c->model, err);
	if (rv == FL_OK) {
		rv = spoke_overview_compute(&c->model, &cfg->rules, &c->ov, err);
	}
	if (rv == FL_OK) {
		spoke_frame_meta meta = {cfg->cluster, spoke_id, seq, fl_now_ms(),
		                         spoke_config_source_name(cfg->source)};
		rv = spoke_frame_build(&c->model, &c->ov, &meta, &c->frame, err);
	}
	if (rv != FL_OK) {
		cycle_free(c);
	}
	return rv;
}

static int run_dry_run(const spoke_config *cfg, const char *spoke_id)
{
	char err[FL_ERR_LEN];
	cycle c;
	if (collect(cfg, spoke_id, 0, 1, &c, err) != FL_OK) {
		fl_error("collect failed: %s", err);
		return EXIT_NOT_ACKED;
	}
	int code = EXIT_ACKED;
	char *bytes = NULL;
	size_t len = 0;
	if (fl_proto_encode(&c.frame, &bytes, &len, err) != FL_OK) {
		fl_error("frame would be refused: %s", err);
		code = EXIT_NOT_ACKED;
	}
	free(bytes);
	json_t *j = fl_proto_frame_to_json(&c.frame);
	if (j == NULL || json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) != 0 ||
	    fputc('\n', stdout) == EOF || fflush(stdout) != 0) {
		fl_error("writing the frame as JSON failed");
		code = EXIT_NOT_ACKED;
	}
	json_decref(j);
	if (code == EXIT_ACKED) {
		fl_info("dry run: seq=1 nodes=%u gpus=%u, %zu bytes encoded, nothing sent", c.frame.n_nodes,
		        c.frame.n_gpus, len);
	}
	cycle_free(&c);
	return code;
}

/* Collects, encodes and sends one frame; logs one line. Returns the exit code it means; *sent tells
 * whether the frame went to the sender (so its sequence number is used up). */
static int run_cycle(const spoke_config *cfg, const char *spoke_id, spoke_sender *sender, uint64_t tick, uint64_t seq,
                     bool *sent)
{
	*sent = false;
	char err[FL_ERR_LEN];
	int64_t t0 = fl_mono_ms();
	cycle c;
	if (collect(cfg, spoke_id, tick, seq, &c, err) != FL_OK) {
		fl_error("cycle seq=%llu: collect failed: %s", (unsigned long long)seq, err);
		return EXIT_NOT_ACKED;
	}
	uint32_t n_nodes = c.frame.n_nodes, n_gpus = c.frame.n_gpus;
	char *bytes = NULL;
	size_t len = 0;
	int rv = fl_proto_encode(&c.frame, &bytes, &len, err);
	cycle_free(&c);
	if (rv != FL_OK) {
		fl_error("cycle seq=%llu: encode failed: %s", (unsigned long long)seq, err);
		return EXIT_NOT_ACKED;
	}
	fl_proto_ack ack;
	*sent = true;
	rv = spoke_sender_send(sender, bytes, len, seq, &ack, err);
	free(bytes);
	long long ms = (long long)(fl_mono_ms() - t0);
	if (rv != FL_OK) {
		fl_warn("send seq=%llu nodes=%u gpus=%u failed after %lld ms: %s", (unsigned long long)seq, n_nodes,
		        n_gpus, ms, err);
		return EXIT_NOT_ACKED;
	}
	switch (ack.status) {
	case FL_ACK_OK:
	case FL_ACK_DUPLICATE:
		fl_info("sent seq=%llu nodes=%u gpus=%u bytes=%zu ack=%s in %lld ms", (unsigned long long)seq, n_nodes,
		        n_gpus, len, ack.status == FL_ACK_OK ? "ok" : "duplicate", ms);
		return EXIT_ACKED;
	case FL_ACK_REJECTED:
		fl_error("sent seq=%llu nodes=%u gpus=%u ack=rejected in %lld ms: %s", (unsigned long long)seq, n_nodes,
		         n_gpus, ms, ack.reason);
		return EXIT_REJECTED;
	case FL_ACK_RETRY:
	default:
		fl_warn("sent seq=%llu nodes=%u gpus=%u ack=retry in %lld ms: %s", (unsigned long long)seq, n_nodes,
		        n_gpus, ms, ack.reason);
		return EXIT_NOT_ACKED;
	}
}

/* Sleeps until the monotonic time `until` or a stop request. */
static void sleep_until(int64_t until)
{
	while (!stop_requested) {
		int64_t left = until - fl_mono_ms();
		if (left <= 0) {
			return;
		}
		if (left > 200) {
			left = 200;
		}
		struct timespec ts = {left / 1000, (left % 1000) * 1000000L};
		nanosleep(&ts, NULL);
	}
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
	char spoke_id[FL_CLUSTER_LEN];
	make_spoke_id(spoke_id);

	if (dry_run) {
		return run_dry_run(&cfg, spoke_id);
	}

	spoke_sender *sender;
	int rv = spoke_sender_open(&sender, cfg.hub_url, cfg.ack_timeout_ms, err);
	if (rv != FL_OK) {
		fprintf(stderr, PROG ": %s: %s\n", config_path, err);
		return rv == FL_EINVAL ? EXIT_CONFIG : EXIT_NOT_ACKED;
	}
	fl_info("spoke %s for cluster %s, source %s, hub %s, interval %lld ms", spoke_id, cfg.cluster,
	        spoke_config_source_name(cfg.source), cfg.hub_url, (long long)cfg.interval_ms);

	if (once) {
		bool sent;
		int code = run_cycle(&cfg, spoke_id, sender, 0, 1, &sent);
		spoke_sender_close(sender);
		return code;
	}

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	uint64_t seq = 1, tick = 0;
	int64_t next = fl_mono_ms();
	while (!stop_requested) {
		bool sent;
		run_cycle(&cfg, spoke_id, sender, tick, seq, &sent);
		tick++;
		seq += sent ? 1 : 0;
		next += cfg.interval_ms;
		int64_t now = fl_mono_ms();
		if (next < now) {
			/* The cycle overran: skip the missed slots rather than sending in a burst. */
			next = now + cfg.interval_ms - (now - next) % cfg.interval_ms;
		}
		sleep_until(next);
	}
	fl_info("stopping on signal; last seq=%llu", (unsigned long long)(seq - 1));
	spoke_sender_close(sender);
	return 0;
}
