/* load_bench.c — fl-load-bench: many simulated spokes in one process against one hub (issue 8's scale
 * benchmark, scripts/bench.d/scale.sh), and the per-row baseline beside it.
 *
 *   fl-load-bench load --url URL --clusters N --nodes K --gpus G --key-dir DIR [--cycles C]
 *                      [--interval-ms I] [--changed PCT] [--variety] [--no-reconnect]
 *     Cluster c is load-CCC (key DIR/load-CCC.key). Three phases, one JSON line each on stdout:
 *       storm    every cluster sends a full frame of K nodes x G GPUs at the same moment (one thread
 *                and one nng req0 connection per cluster, released together); timed from the first
 *                send to the last ack;
 *       steady   C cycles of I ms: each cluster sends one delta per cycle at its own offset in the
 *                cycle (spread evenly), carrying PCT % of its nodes (default 100: in a busy GPU cluster
 *                every GPU's utilization, power and temperature move every cycle), spread evenly over
 *                the node list and shifted each cycle, with their GPUs and the cycle's new figures
 *                (fl_synth_frame's salt);
 *       reconnect every cluster again at once with a new spoke id (spokes restarted): full frames.
 *     Each line: phase, frames, acks_ok, acks_other, node_rows, gpu_rows, seconds, node_rows_per_s,
 *     gpu_rows_per_s, latency p50_ms / p99_ms / max_ms (send to ack), frame_bytes (one frame); the steady
 *     line also cycles, interval_ms, changed_pct and offered_node_rows_per_s (node_rows over cycles × I:
 *     its node_rows_per_s is over the time from the first send to the last ack, shorter than that).
 *     Frames are encoded and signed before the clock starts. Exit 0 when every frame was acknowledged.
 *     --variety makes the fleet look like a real one for the API benchmark (scripts/bench.d/api.sh): the
 *     synthetic frame (fl_synth_frame, whose output tests rely on, is not changed) is reworked so that
 *     node i of cluster c is named node-IIIII-cCCC, ~2 % of nodes are NotReady and ~1 % Unknown (half of
 *     the NotReady and a few Ready ones cordoned), clusters carry one of three GPU products (every fourth
 *     cluster a second product on a quarter of its nodes), allocation and utilization are spread 0..8
 *     and 0..100 by a hash, ~3 % of nodes (and every Unknown one) report no utilization, and the overview
 *     is worked out again from those nodes by the spoke's rules. Deterministic: the same cluster and salt
 *     give the same frame. --no-reconnect skips the reconnect phase (the frames stay as the storm and
 *     steady phases left them).
 *
 *   fl-load-bench baseline --db CONNINFO --rows R [--gpus G]
 *     The design FleetLens replaces wrote rows one statement at a time (a per-row upsert, each its own
 *     transaction: the Lens jobs' node and gpu_devices writes). Upserts R node rows and G GPU rows per
 *     node that way into scratch tables shaped like the node and gpu_device rows of that design
 *     (sql/hub/001_init.sql: facts and figures in one row; created and dropped here) and prints
 *     {"baseline_rows":R,"gpus_per_node":G,"seconds":S,"rows_per_s":X} (X: node rows, each with its
 *     GPUs, per second). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <math.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fl_key.h"
#include "fl_proto.h"
#include "fl_synth.h"

#define MAX_CLUSTERS 1000
#define ACK_WAIT_MS  (10 * 60 * 1000) /* a storm on a small machine can queue for minutes */

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One simulated spoke. */
typedef struct spoke {
	char cluster[FL_CLUSTER_LEN], spoke_id[FL_CLUSTER_LEN];
	fl_key key;
	uint64_t seq;
	nng_socket sock;
	char *frame; /* the next frame, encoded and signed */
	size_t len;
	double delay_s;   /* wait this long after the release before sending */
	double latency_s; /* send to ack */
	bool ok;
} spoke;

static struct {
	const char *url;
	uint32_t clusters, nodes, gpus, cycles, changed_pct;
	int64_t interval_ms;
	bool variety, reconnect;
	spoke *spokes;
	pthread_barrier_t go;
	double release_s;
} g;

/* Whether node i is one of the changed_pct % a delta of cycle salt carries: exactly
 * floor(nodes * pct / 100) give or take one, spread evenly over the node list and shifted by the cycle
 * (every node at 100 %, every tenth at 10 %, none at 0). */
static bool changed(uint32_t i, uint32_t salt)
{
	uint64_t k = (uint64_t)i + salt;
	return (k + 1) * g.changed_pct / 100 > k * g.changed_pct / 100;
}

/* --- --variety ----------------------------------------------------------------------------------------- */

static const char *const products[][2] = {
    {"AMD Instinct MI300X", "MI300X"},
    {"NVIDIA H100 80GB HBM3", "H100"},
    {"AMD Instinct MI250X", "MI250X"},
};
#define N_PRODUCTS (sizeof(products) / sizeof(products[0]))

/* A 64-bit mix of a, b and c (splitmix64's finalizer over their combination). */
static uint64_t mix(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t x =
	    a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull) * 0xBF58476D1CE4E5B9ull ^ (c << 32 | c >> 32);
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
	return x ^ (x >> 31);
}

/* Reworks the synthetic frame of cluster c (cycle salt) as --variety describes. Node i's GPUs are
 * f->gpus[i * g .. i * g + g - 1] (fl_synth_frame's layout); names, statuses and products depend on c and
 * i only, allocation and utilization on the salt too. */
static void vary(fl_proto_frame *f, uint32_t c, uint32_t salt)
{
	for (uint32_t i = 0; i < f->n_nodes; i++) {
		fl_proto_node *n = &f->nodes[i];
		uint64_t h = mix(c, i, 0), hs = mix(c, i, (uint64_t)salt + 1);
		uint32_t st = (uint32_t)(h % 1000);
		snprintf(n->name, sizeof(n->name), "node-%05" PRIu32 "-c%03" PRIu32, i, c);
		snprintf(n->status, sizeof(n->status), "%s", st < 20 ? "NotReady" : st < 30 ? "Unknown" : "Ready");
		n->unschedulable = (st < 20 && (h >> 20) % 2 == 0) || st >= 995;
		n->faulty = st < 30 || n->unschedulable;
		const char *const *prod = products[(c + (c % 4 == 3 && (h >> 24) % 4 == 0)) % N_PRODUCTS];
		snprintf(n->gpu_name, sizeof(n->gpu_name), "%s", n->gpu_count > 0 ? prod[0] : "");
		n->gpu_allocation = n->gpu_count > 0 ? (int64_t)(hs % (uint64_t)(n->gpu_count + 1)) : 0;
		bool has_util = n->gpu_count > 0 && (h >> 32) % 100 >= 3 && strcmp(n->status, "Unknown") != 0;
		int64_t base = (int64_t)((hs >> 16) % 101);
		double sum = 0;
		for (int64_t j = 0; j < n->gpu_count; j++) {
			fl_proto_gpu *d = &f->gpus[(size_t)i * (size_t)n->gpu_count + (size_t)j];
			snprintf(d->node, sizeof(d->node), "%s", n->name);
			snprintf(d->gpu_model, sizeof(d->gpu_model), "%s", prod[1]);
			int64_t u = base + (int64_t)(mix(hs, (uint64_t)j, 7) % 31) - 15;
			d->utilization = (double)(u < 0 ? 0 : u > 100 ? 100 : u);
			d->has_utilization = has_util;
			sum += d->utilization;
		}
		n->has_utilization = has_util;
		n->gpu_utilization = has_util ? sum / (double)n->gpu_count : 0;
	}
	fl_synth_overview(f);
}

/* Encodes spoke s's next frame: a full frame of every node, or a delta of changed_pct % of them with the
 * figures of cycle salt. */
static int build(spoke *s, fl_frame_kind kind, uint32_t salt)
{
	fl_proto_frame f;
	memset(&f, 0, sizeof(f));
	f.env.version = FL_PROTO_VERSION;
	f.env.kind = kind;
	f.env.seq = ++s->seq;
	f.env.sent_at_ms = now_ms();
	snprintf(f.env.cluster, sizeof(f.env.cluster), "%s", s->cluster);
	snprintf(f.env.spoke_id, sizeof(f.env.spoke_id), "%s", s->spoke_id);
	f.has_facts = true;
	snprintf(f.facts.k8s_version, sizeof(f.facts.k8s_version), "v1.29.3");
	snprintf(f.facts.spoke_version, sizeof(f.facts.spoke_version), "fl-load-bench");
	snprintf(f.facts.source, sizeof(f.facts.source), "bench");
	f.has_overview = true;
	char err[FL_ERR_LEN];
	if (fl_synth_frame(&f, g.nodes, g.gpus, salt) != FL_OK) {
		fl_proto_frame_free(&f);
		return FL_ENOMEM;
	}
	if (g.variety)
		vary(&f, (uint32_t)(s - g.spokes), salt);
	if (kind == FL_FRAME_DELTA) {
		/* Keep the changed nodes and their GPUs. */
		uint32_t kept = 0, kept_g = 0;
		for (uint32_t i = 0; i < f.n_nodes; i++) {
			if (!changed(i, salt))
				continue;
			f.nodes[kept] = f.nodes[i];
			for (uint32_t j = 0; j < g.gpus; j++)
				f.gpus[kept_g++] = f.gpus[(size_t)i * g.gpus + j];
			kept++;
		}
		f.n_nodes = kept;
		f.n_gpus = kept_g;
	}
	free(s->frame);
	s->frame = NULL;
	int rv = fl_proto_encode(&f, s->key.bytes, s->key.len, &s->frame, &s->len, err);
	if (rv != FL_OK)
		fprintf(stderr, "fl-load-bench: %s: cannot encode: %s\n", s->cluster, err);
	fl_proto_frame_free(&f);
	return rv;
}

static void *send_one(void *arg)
{
	spoke *s = arg;
	pthread_barrier_wait(&g.go);
	double wait = g.release_s + s->delay_s - mono_s();
	if (wait > 0)
		usleep((useconds_t)(wait * 1e6));
	double t0 = mono_s();
	nng_msg *m = NULL;
	s->ok = false;
	if (nng_msg_alloc(&m, 0) == 0 && nng_msg_append(m, s->frame, s->len) == 0 && nng_sendmsg(s->sock, m, 0) == 0) {
		nng_msg *reply = NULL;
		if (nng_recvmsg(s->sock, &reply, 0) == 0) {
			fl_proto_ack ack;
			char err[FL_ERR_LEN];
			s->ok = fl_proto_ack_decode(nng_msg_body(reply), nng_msg_len(reply), &ack, err) == FL_OK &&
			        ack.status == FL_ACK_OK;
			nng_msg_free(reply);
		}
	} else if (m != NULL) {
		nng_msg_free(m);
	}
	s->latency_s = mono_s() - t0;
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Sends every spoke's frame (each after its delay_s) and prints the phase's line. */
static int round_of(const char *phase, uint64_t node_rows, uint64_t gpu_rows, bool print, double *lat, size_t *n_lat)
{
	pthread_t *th = calloc(g.clusters, sizeof(*th));
	if (th == NULL)
		return 1;
	pthread_barrier_init(&g.go, NULL, g.clusters + 1);
	for (uint32_t c = 0; c < g.clusters; c++)
		pthread_create(&th[c], NULL, send_one, &g.spokes[c]);
	g.release_s = mono_s() + 0.05;
	pthread_barrier_wait(&g.go);
	double t0 = mono_s(), end = t0;
	uint32_t ok = 0;
	for (uint32_t c = 0; c < g.clusters; c++) {
		pthread_join(th[c], NULL);
		spoke *s = &g.spokes[c];
		ok += s->ok;
		lat[(*n_lat)++] = s->latency_s;
		double done = g.release_s + s->delay_s + s->latency_s;
		if (done > end)
			end = done;
	}
	pthread_barrier_destroy(&g.go);
	free(th);
	if (print) {
		double secs = end - g.release_s;
		qsort(lat, *n_lat, sizeof(*lat), cmp_double);
		double p50 = lat[(*n_lat - 1) / 2], p99 = lat[(size_t)floor(0.99 * (double)(*n_lat - 1))];
		printf("{\"phase\":\"%s\",\"frames\":%zu,\"acks_ok\":%u,\"acks_other\":%u,\"node_rows\":%" PRIu64
		       ",\"gpu_rows\":%" PRIu64 ",\"seconds\":%.3f,\"node_rows_per_s\":%.0f,\"gpu_rows_per_s\":%.0f,"
		       "\"p50_ms\":%.1f,\"p99_ms\":%.1f,\"max_ms\":%.1f,\"frame_bytes\":%zu}\n",
		       phase, *n_lat, ok, g.clusters - ok, node_rows, gpu_rows, secs, (double)node_rows / secs,
		       (double)gpu_rows / secs, p50 * 1000, p99 * 1000, lat[*n_lat - 1] * 1000, g.spokes[0].len);
		fflush(stdout);
	}
	return ok == g.clusters ? 0 : 1;
}

/* A phase of full frames from every cluster at once. */
static int storm(const char *phase, uint32_t salt)
{
	for (uint32_t c = 0; c < g.clusters; c++) {
		g.spokes[c].delay_s = 0;
		if (build(&g.spokes[c], FL_FRAME_FULL, salt) != FL_OK)
			return 1;
	}
	double *lat = calloc(g.clusters, sizeof(double));
	size_t n = 0;
	uint64_t rows = (uint64_t)g.clusters * g.nodes;
	int rc = lat != NULL ? round_of(phase, rows, rows * g.gpus, true, lat, &n) : 1;
	free(lat);
	return rc;
}

/* cycles of deltas, each cluster at its offset in the cycle. */
static int steady(void)
{
	double *lat = calloc((size_t)g.clusters * (g.cycles + 1), sizeof(double));
	size_t n = 0;
	int rc = lat == NULL;
	uint64_t node_rows = 0;
	double t0 = mono_s();
	for (uint32_t cy = 0; cy < g.cycles && rc == 0; cy++) {
		double cycle_start = mono_s();
		for (uint32_t c = 0; c < g.clusters && rc == 0; c++) {
			g.spokes[c].delay_s = (double)g.interval_ms / 1000.0 * c / g.clusters;
			rc = build(&g.spokes[c], FL_FRAME_DELTA, cy + 1) != FL_OK;
		}
		uint32_t per = 0;
		for (uint32_t i = 0; i < g.nodes; i++)
			per += changed(i, cy + 1);
		node_rows += (uint64_t)per * g.clusters;
		if (rc == 0)
			rc = round_of("steady", 0, 0, false, lat, &n);
		double left = (double)g.interval_ms / 1000.0 - (mono_s() - cycle_start);
		if (left > 0 && cy + 1 < g.cycles)
			usleep((useconds_t)(left * 1e6));
	}
	if (rc == 0 && n > 0) {
		double secs = mono_s() - t0;
		qsort(lat, n, sizeof(*lat), cmp_double);
		printf("{\"phase\":\"steady\",\"frames\":%zu,\"cycles\":%u,\"interval_ms\":%" PRId64
		       ",\"changed_pct\":%u,"
		       "\"node_rows\":%" PRIu64 ",\"gpu_rows\":%" PRIu64 ",\"seconds\":%.3f,\"node_rows_per_s\":%.0f,"
		       "\"offered_node_rows_per_s\":%.0f,"
		       "\"p50_ms\":%.1f,\"p99_ms\":%.1f,\"max_ms\":%.1f,\"frame_bytes\":%zu}\n",
		       n, g.cycles, g.interval_ms, g.changed_pct, node_rows, node_rows * g.gpus, secs,
		       (double)node_rows / secs,
		       (double)node_rows * 1000.0 / ((double)g.cycles * (double)g.interval_ms), lat[(n - 1) / 2] * 1000,
		       lat[(size_t)floor(0.99 * (double)(n - 1))] * 1000, lat[n - 1] * 1000, g.spokes[0].len);
		fflush(stdout);
	}
	free(lat);
	return rc;
}

static int open_socket(spoke *s)
{
	int rv;
	if ((rv = nng_req0_open(&s->sock)) != 0 ||
	    (rv = nng_socket_set_ms(s->sock, NNG_OPT_RECVTIMEO, ACK_WAIT_MS)) != 0 ||
	    (rv = nng_socket_set_ms(s->sock, NNG_OPT_REQ_RESENDTIME, ACK_WAIT_MS)) != 0 ||
	    (rv = nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ, 1 << 20)) != 0 ||
	    (rv = nng_dial(s->sock, g.url, NULL, 0)) != 0) {
		fprintf(stderr, "fl-load-bench: %s: %s\n", g.url, nng_strerror(rv));
		return 1;
	}
	return 0;
}

static int load(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"url", required_argument, NULL, 'u'},
	    {"clusters", required_argument, NULL, 'c'},
	    {"nodes", required_argument, NULL, 'n'},
	    {"gpus", required_argument, NULL, 'g'},
	    {"key-dir", required_argument, NULL, 'k'},
	    {"cycles", required_argument, NULL, 'C'},
	    {"interval-ms", required_argument, NULL, 'i'},
	    {"changed", required_argument, NULL, 'p'},
	    {"variety", no_argument, NULL, 'v'},
	    {"no-reconnect", no_argument, NULL, 'R'},
	    {NULL, 0, NULL, 0},
	};
	const char *key_dir = NULL;
	g.cycles = 2;
	g.interval_ms = 30000;
	g.changed_pct = 100;
	g.variety = false;
	g.reconnect = true;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'u': g.url = optarg; break;
		case 'c': g.clusters = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'n': g.nodes = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'g': g.gpus = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'k': key_dir = optarg; break;
		case 'C': g.cycles = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'i': g.interval_ms = strtoll(optarg, NULL, 10); break;
		case 'p': g.changed_pct = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'v': g.variety = true; break;
		case 'R': g.reconnect = false; break;
		default: return 2;
		}
	}
	if (g.url == NULL || key_dir == NULL || g.clusters == 0 || g.clusters > MAX_CLUSTERS || g.nodes == 0 ||
	    g.nodes > FL_PROTO_MAX_NODES || (uint64_t)g.nodes * g.gpus > FL_PROTO_MAX_GPUS || g.changed_pct > 100 ||
	    g.interval_ms <= 0) {
		fprintf(stderr,
		        "fl-load-bench load: --url, --key-dir, --clusters 1..%d, --nodes and --gpus within the "
		        "frame limits, --changed 0..100 are required\n",
		        MAX_CLUSTERS);
		return 2;
	}
	if ((g.spokes = calloc(g.clusters, sizeof(*g.spokes))) == NULL)
		return 1;
	for (uint32_t i = 0; i < g.clusters; i++) {
		spoke *s = &g.spokes[i];
		char path[1024], err[FL_ERR_LEN];
		snprintf(s->cluster, sizeof(s->cluster), "load-%03u", i);
		snprintf(s->spoke_id, sizeof(s->spoke_id), "load-%03u-a", i);
		snprintf(path, sizeof(path), "%s/%s.key", key_dir, s->cluster);
		if (fl_key_load(path, &s->key, err) != FL_OK) {
			fprintf(stderr, "fl-load-bench: %s\n", err);
			return 1;
		}
		if (open_socket(s) != 0)
			return 1;
	}
	int rc = storm("storm", 0);
	if (rc == 0 && g.cycles > 0)
		rc = steady();
	for (uint32_t i = 0; rc == 0 && i < g.clusters; i++) {
		snprintf(g.spokes[i].spoke_id, sizeof(g.spokes[i].spoke_id), "load-%03u-b", i);
		g.spokes[i].seq = 0;
	}
	if (rc == 0 && g.reconnect)
		rc = storm("reconnect", 7);
	for (uint32_t i = 0; i < g.clusters; i++) {
		nng_close(g.spokes[i].sock);
		free(g.spokes[i].frame);
		fl_key_wipe(&g.spokes[i].key);
	}
	free(g.spokes);
	return rc;
}

/* --- the per-row baseline --------------------------------------------------------------------------- */

static void quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* The node and gpu_device rows of the design replaced (sql/hub/001_init.sql without the cluster
 * reference): facts and figures in one row, the same keys and indexes. */
static const char baseline_tables[] =
    "CREATE TABLE baseline_node (id bigserial PRIMARY KEY, cluster_name text NOT NULL, name text NOT NULL,"
    " address text, gpu_name text, gpu_count int NOT NULL DEFAULT 0, gpu_allocation int NOT NULL DEFAULT 0,"
    " gpu_utilization double precision, status text, unschedulable boolean, faulty boolean, taints jsonb,"
    " cpu_millis bigint, memory_bytes bigint, kubelet_version text, os_image text, kernel_version text,"
    " container_runtime text, created_at timestamptz NOT NULL DEFAULT now(),"
    " updated_at timestamptz NOT NULL DEFAULT now(), UNIQUE (cluster_name, name));"
    " CREATE TABLE baseline_gpu (id bigserial PRIMARY KEY, cluster_name text NOT NULL, node_name text NOT NULL,"
    " gpu_id int NOT NULL, gpu_model text, memory bigint, utilization double precision,"
    " temperature double precision, power double precision, serial text, numa int,"
    " created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(),"
    " UNIQUE (cluster_name, node_name, gpu_id))";

static int baseline(int argc, char **argv)
{
	const char *db = NULL;
	long rows = 0, gpus = 8;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--db") == 0)
			db = argv[i + 1];
		else if (strcmp(argv[i], "--rows") == 0)
			rows = strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--gpus") == 0)
			gpus = strtol(argv[i + 1], NULL, 10);
	}
	if (db == NULL || rows <= 0) {
		fprintf(stderr, "fl-load-bench baseline: --db CONNINFO --rows R are required\n");
		return 2;
	}
	PGconn *c = PQconnectdb(db);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "fl-load-bench: %s", PQerrorMessage(c));
		PQfinish(c);
		return 1;
	}
	PQsetNoticeProcessor(c, quiet, NULL);
	PQclear(PQexec(c, "DROP TABLE IF EXISTS baseline_node, baseline_gpu"));
	PGresult *r = PQexec(c, baseline_tables);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		fprintf(stderr, "fl-load-bench: %s", PQerrorMessage(c));
		PQclear(r);
		PQfinish(c);
		return 1;
	}
	PQclear(r);
	static const char sql[] =
	    "INSERT INTO baseline_node (cluster_name, name, address, gpu_name, gpu_count, gpu_allocation,"
	    " gpu_utilization, status, unschedulable, faulty) VALUES ($1, $2, $3, 'AMD Instinct MI300X', 8, $4, $5,"
	    " 'Ready', false, false) ON CONFLICT (cluster_name, name) DO UPDATE SET address = EXCLUDED.address,"
	    " gpu_allocation = EXCLUDED.gpu_allocation, gpu_utilization = EXCLUDED.gpu_utilization, updated_at = now()";
	static const char gsql[] =
	    "INSERT INTO baseline_gpu (cluster_name, node_name, gpu_id, gpu_model, memory, utilization, temperature,"
	    " power, serial, numa) VALUES ($1, $2, $3, 'MI300X', 196608, $4, 45, 500, $5, 0)"
	    " ON CONFLICT (cluster_name, node_name, gpu_id) DO UPDATE SET utilization = EXCLUDED.utilization,"
	    " serial = EXCLUDED.serial, updated_at = now()";
	double t0 = mono_s();
	long done = 0, gdone = 0;
	for (long i = 0; i < rows; i++) {
		char cl[32], name[32], ip[32], alloc[16], util[16];
		snprintf(cl, sizeof(cl), "load-%03ld", i / 5000);
		snprintf(name, sizeof(name), "node-%05ld", i % 5000);
		snprintf(ip, sizeof(ip), "10.0.%ld.%ld", (i % 5000) / 250, i % 250 + 1);
		snprintf(alloc, sizeof(alloc), "%ld", i % 9);
		snprintf(util, sizeof(util), "%ld", i % 100);
		const char *v[] = {cl, name, ip, alloc, util};
		r = PQexecParams(c, sql, 5, NULL, v, NULL, NULL, 0);
		done += PQresultStatus(r) == PGRES_COMMAND_OK;
		PQclear(r);
		for (long j = 0; j < gpus; j++) {
			char id[24], serial[64];
			snprintf(id, sizeof(id), "%ld", j);
			snprintf(util, sizeof(util), "%ld", (i + j) % 100);
			snprintf(serial, sizeof(serial), "SN-%ld-%ld", i, j);
			const char *gv[] = {cl, name, id, util, serial};
			r = PQexecParams(c, gsql, 5, NULL, gv, NULL, NULL, 0);
			gdone += PQresultStatus(r) == PGRES_COMMAND_OK;
			PQclear(r);
		}
	}
	double secs = mono_s() - t0;
	PQclear(PQexec(c, "DROP TABLE baseline_node, baseline_gpu"));
	PQfinish(c);
	printf("{\"baseline_rows\":%ld,\"gpus_per_node\":%ld,\"written\":%ld,\"seconds\":%.3f,\"rows_per_s\":%.0f}\n",
	       rows, gpus, done, secs, (double)rows / secs);
	return done == rows && gdone == rows * gpus ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "load") == 0)
		return load(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "baseline") == 0)
		return baseline(argc - 1, argv + 1);
	fprintf(stderr, "usage: fl-load-bench load|baseline ... (see bench/load_bench.c)\n");
	return 2;
}
