/* fl_frame_tool.c — fl-frame-tool: makes signed frames with synthetic nodes and sends raw frame files
 * to a hub over nng req0, for integration tests (good frames, wrong keys, replays, raw bad bytes, frames
 * shaped to cost a decoder as much memory as possible). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "fl_key.h"
#include "fl_proto.h"
#include "fl_synth.h"
#include "fl_proto_int.h" /* proto/'s internals: the HMAC and UTF-8 check it uses */

#define SEND_WAIT_MS   5000                                   /* the whole send: connect, send, ack */
#define MAX_FILE_BYTES (4 * (size_t)FL_PROTO_MAX_FRAME_BYTES) /* send: files up to 4x the hub's limit */
#define MAX_REMOVE     FL_PROTO_MAX_NODES

/* Signs frames when no --key-file is given. Never configure a real hub with it. */
static const char default_key[] = "fl-frame-tool-default-test-key-0123456789";

static const char usage[] =
    "usage:\n"
    "  fl-frame-tool send URL FILE\n"
    "      Sends the bytes of FILE (at most 256 MiB, sent as they are, even past the hub's 64 MiB limit)\n"
    "      as one nng req0 message to URL (e.g. tcp://127.0.0.1:7450) and waits up to 5 s in all for the\n"
    "      hub's ack. Prints the ack as one line of JSON:\n"
    "        {\"seq\":N,\"status\":\"ok|duplicate|rejected|retry\",\"full\":true|false,\"reason\":\"...\"}\n"
    "      Exit 0 when an ack came; 1 when none did (no connection, time-out, the hub dropped an oversized\n"
    "      message, or the reply was not an ack), with the reason on stderr; 2 on a usage error.\n"
    "  fl-frame-tool make --cluster C --spoke S --seq N [--kind full|delta|heartbeat] [--nodes K]\n"
    "                     [--gpus-per-node G] [--sent-ms T] [--key-file F] [--remove NAME]... -o FILE\n"
    "      Writes one signed frame to FILE. Kind defaults to full, K and G to 0, T to the current time\n"
    "      (ms since the epoch). F is a key file as the hub reads it (32..1024 bytes after trimming);\n"
    "      without it the frame is signed with the built-in test key\n"
    "      \"fl-frame-tool-default-test-key-0123456789\". --remove (delta only, repeatable) lists removed\n"
    "      nodes. Nodes are named node-00000, node-00001, ...; node i is Ready and schedulable, with\n"
    "      ip 10.0.<i/250>.<i%250+1>, gpu_count G, gpu_allocation i%(G+1), G GPUs (gpu_id 0..G-1,\n"
    "      utilization (i+j)%100, serial SN-<i>-<j>), and the frame carries the overview those imply.\n"
    "      --kind node --host NAME [--jobs J] [--dup-gpu] [--job-monitor]: a node frame of NAME instead,\n"
    "      with G GPUs (gpu_id 0..G-1, serial SN-NAME-<j>; --dup-gpu makes the second one repeat gpu_id 0)\n"
    "      and J jobs (pid 1000+i, started 1700000000000+i, framework torch). --job-monitor adds the GPU\n"
    "      job monitor's keys: GPU memory used and health, and per job process figures, GPU, config,\n"
    "      parameters and environment (FORMAT.md 3.5, 3.10; values: fl_frame_tool.c, make_job_monitor).\n"
    "      Exit 0 when written, 1 on an error (message on stderr), 2 on a usage error.\n"
    "  fl-frame-tool bomb --cluster C [--nodes K] [--taints T] [--unknown-keys U] [--kind KIND]\n"
    "                     [--key-file F] -o FILE\n"
    "      Writes one signed frame shaped to cost a decoder as much memory as its bytes allow: K nodes\n"
    "      (default 20000) that are all named \"a\", each with T empty taints (default 64), and a payload\n"
    "      with U distinct unknown keys k0, k1, ... (default 0) whose values are nil. Spoke \"bomb\", seq 1,\n"
    "      kind full (or KIND, as written: it is not checked), sent now. Exit codes as for make.\n";

static int die_usage(const char *msg)
{
	fprintf(stderr, "fl-frame-tool: %s (see fl-frame-tool --help)\n", msg);
	return 2;
}

/* Parses a decimal integer in [min, max] into *out; false if s is not one. */
static bool parse_int(const char *s, long long min, long long max, long long *out)
{
	char *end = NULL;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		return false;
	}
	*out = v;
	return true;
}

/* ---- make and bomb: options and key -------------------------------------------------------------- */

static int write_file(const char *path, const char *buf, size_t len)
{
	FILE *fp = fopen(path, "wb");

	if (fp == NULL) {
		fprintf(stderr, "fl-frame-tool: %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (fwrite(buf, 1, len, fp) != len || fclose(fp) != 0) {
		fprintf(stderr, "fl-frame-tool: %s: write failed: %s\n", path, strerror(errno));
		return 1;
	}
	return 0;
}

/* Loads key_file into *key, or the built-in test key when key_file is NULL. 0, or 1 with the message on
 * stderr. */
static int load_key(const char *key_file, fl_key *key)
{
	char err[FL_ERR_LEN];

	if (key_file != NULL && fl_key_load(key_file, key, err) != FL_OK) {
		fprintf(stderr, "fl-frame-tool: %s\n", err);
		return 1;
	}
	if (key_file == NULL) {
		key->len = sizeof(default_key) - 1;
		memcpy(key->bytes, default_key, key->len);
	}
	return 0;
}

/* ---- make --------------------------------------------------------------------------------------- */

/* make's options besides the envelope's fields, which go straight into the frame. */
struct make_args {
	const char *out, *key_file, *host;
	const char *removed[MAX_REMOVE];
	uint32_t n_removed;
	long long nodes, gpus, jobs;
	bool have_seq, dup_gpu, job_monitor;
};

/* Applies one make option c (with optarg) to f's envelope or a. -1 to go on, or the exit code. */
static int make_option(int c, fl_proto_frame *f, struct make_args *a)
{
	long long v;

	switch (c) {
	case 'c':
	case 's':
		if (!fl_proto_valid_name(optarg)) {
			return die_usage("--cluster and --spoke take 1..63 of [A-Za-z0-9._-]");
		}
		snprintf(c == 'c' ? f->env.cluster : f->env.spoke_id, FL_CLUSTER_LEN, "%s", optarg);
		break;
	case 'n':
		if (!parse_int(optarg, 1, INT64_MAX, &v)) {
			return die_usage("--seq takes an integer >= 1");
		}
		f->env.seq = (uint64_t)v;
		a->have_seq = true;
		break;
	case 'k':
		if ((f->env.kind = fl_proto_kind_parse(optarg, strlen(optarg))) == 0) {
			return die_usage("--kind takes full, delta, heartbeat or node");
		}
		break;
	case 'N':
	case 'G':
		if (!parse_int(optarg, 0, c == 'N' ? FL_PROTO_MAX_NODES : FL_PROTO_MAX_GPUS, &v)) {
			return die_usage(c == 'N' ? "--nodes takes 0..20000" : "--gpus-per-node takes 0..320000");
		}
		*(c == 'N' ? &a->nodes : &a->gpus) = v;
		break;
	case 't':
		if (!parse_int(optarg, INT64_MIN, INT64_MAX, &v)) {
			return die_usage("--sent-ms takes an integer (ms since the epoch)");
		}
		f->env.sent_at_ms = v;
		break;
	case 'K': a->key_file = optarg; break;
	case 'r':
		if (a->n_removed == MAX_REMOVE) {
			return die_usage("more than 20000 --remove");
		}
		a->removed[a->n_removed++] = optarg;
		break;
	case 'H': a->host = optarg; break;
	case 'J':
		if (!parse_int(optarg, 0, FL_PROTO_MAX_JOBS, &v)) {
			return die_usage("--jobs takes 0..4096");
		}
		a->jobs = v;
		break;
	case 'D': a->dup_gpu = true; break;
	case 'M': a->job_monitor = true; break;
	case 'o': a->out = optarg; break;
	case 'h': return fputs(usage, stdout) == EOF;
	default: return die_usage("unknown option");
	}
	return -1;
}

/* Parses make's command line into f's envelope (kind full and sent now unless given) and a. -1 to go
 * on, or the exit code (2 on a usage error, the --help result for --help). */
static int make_parse(int argc, char **argv, fl_proto_frame *f, struct make_args *a)
{
	static const struct option opts[] = {
	    {"cluster", required_argument, NULL, 'c'},
	    {"spoke", required_argument, NULL, 's'},
	    {"seq", required_argument, NULL, 'n'},
	    {"kind", required_argument, NULL, 'k'},
	    {"nodes", required_argument, NULL, 'N'},
	    {"gpus-per-node", required_argument, NULL, 'G'},
	    {"sent-ms", required_argument, NULL, 't'},
	    {"key-file", required_argument, NULL, 'K'},
	    {"remove", required_argument, NULL, 'r'},
	    {"host", required_argument, NULL, 'H'},
	    {"jobs", required_argument, NULL, 'J'},
	    {"dup-gpu", no_argument, NULL, 'D'},
	    {"job-monitor", no_argument, NULL, 'M'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct timespec now;
	int c, rc;

	clock_gettime(CLOCK_REALTIME, &now);
	f->env.version = FL_PROTO_VERSION;
	f->env.kind = FL_FRAME_FULL;
	f->env.sent_at_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		if ((rc = make_option(c, f, a)) >= 0) {
			return rc;
		}
	}
	if (f->env.cluster[0] == '\0' || f->env.spoke_id[0] == '\0' || !a->have_seq || a->out == NULL ||
	    optind != argc) {
		return die_usage("make needs --cluster, --spoke, --seq and -o FILE, and no other arguments");
	}
	if (a->nodes * a->gpus > FL_PROTO_MAX_GPUS) {
		return die_usage("--nodes x --gpus-per-node is more than 320000 GPUs");
	}
	return -1;
}

/* A node frame of host: G GPUs (gpu_id 0..G-1, serial SN-<host>-<j>, utilization 10*j % 100; with dup the
 * second GPU repeats gpu_id 0) and J jobs (pid 1000+i, started 1700000000000+i, framework torch). Non-zero
 * when out of memory. */
static int make_node(fl_proto_frame *f, const char *host, uint32_t g, uint32_t j, bool dup)
{
	f->has_host = true;
	snprintf(f->host.node, sizeof(f->host.node), "%s", host);
	snprintf(f->host.gpu_source, sizeof(f->host.gpu_source), "amd");
	f->gpus = g > 0 ? calloc(g, sizeof(*f->gpus)) : NULL;
	f->jobs = j > 0 ? calloc(j, sizeof(*f->jobs)) : NULL;
	if ((g > 0 && f->gpus == NULL) || (j > 0 && f->jobs == NULL)) {
		return 1;
	}
	f->n_gpus = g;
	f->n_jobs = j;
	for (uint32_t i = 0; i < g; i++) {
		fl_proto_gpu *x = &f->gpus[i];
		snprintf(x->node, sizeof(x->node), "%s", host);
		x->gpu_id = dup && i == 1 ? 0 : (int32_t)i;
		snprintf(x->gpu_model, sizeof(x->gpu_model), "AMD Instinct MI300X");
		snprintf(x->serial, sizeof(x->serial), "SN-%.40s-%" PRIu32, host, i);
		x->utilization = (double)(10 * i % 100);
		x->has_utilization = true;
		x->numa = -1;
	}
	for (uint32_t i = 0; i < j; i++) {
		f->jobs[i].pid = 1000 + i;
		f->jobs[i].started_ms = 1700000000000LL + i;
		snprintf(f->jobs[i].name, sizeof(f->jobs[i].name), "python3");
		snprintf(f->jobs[i].framework, sizeof(f->jobs[i].framework), "torch");
	}
	return 0;
}

/* --job-monitor: the keys of FORMAT.md 3.5 and 3.10 added for the GPU job monitor, on node frame f made by
 * make_node. GPU j: memory_used_mib 1024*(j+1), health healthy (unhealthy, "ras ue 1 ce 0", for j 1). Job
 * i: state S, cpu 50.5, rss 2^30+i, threads 8, fds 64, gpu_memory 2^31 on GPU i%G (none without GPUs),
 * gpu_util that GPU's utilization, config /cfg/job-<i>.yaml, params batch_size=32+i, lr=0.001,
 * model="resnet50", env RANK=<i>, WORLD_SIZE=<J>. Non-zero when out of memory. */
static int make_job_monitor(fl_proto_frame *f)
{
	for (uint32_t k = 0; k < f->n_gpus; k++) {
		fl_proto_gpu *x = &f->gpus[k];
		x->memory_used_mib = 1024 * (int64_t)(k + 1);
		x->has_memory_used = true;
		snprintf(x->health, sizeof(x->health), "%s", k == 1 ? "unhealthy" : "healthy");
		snprintf(x->health_detail, sizeof(x->health_detail), "%s", k == 1 ? "ras ue 1 ce 0" : "ras ue 0 ce 0");
	}
	for (uint32_t i = 0; i < f->n_jobs; i++) {
		fl_proto_job *j = &f->jobs[i];
		char n[24];

		j->params = calloc(3, sizeof(*j->params));
		j->env = calloc(2, sizeof(*j->env));
		if (j->params == NULL || j->env == NULL) {
			return 1;
		}
		snprintf(j->state, sizeof(j->state), "S");
		j->cpu_percent = 50.5;
		j->has_cpu = true;
		j->rss_bytes = (1LL << 30) + i;
		j->threads = 8;
		j->fds = 64;
		if (f->n_gpus > 0) {
			j->gpu_memory_bytes = 1LL << 31;
			j->has_gpu_memory = true;
			fl_proto_gpu_mask_set(j->gpu_mask, f->gpus[i % f->n_gpus].gpu_id);
			j->gpu_utilization = f->gpus[i % f->n_gpus].utilization;
			j->has_gpu_utilization = true;
		}
		snprintf(j->config_path, sizeof(j->config_path), "/cfg/job-%" PRIu32 ".yaml", i);
		j->n_params = 3;
		fl_synth_kv(&j->params[0], "batch_size", "", true, 32 + i);
		fl_synth_kv(&j->params[1], "lr", "", true, 0.001);
		fl_synth_kv(&j->params[2], "model", "resnet50", false, 0);
		j->n_env = 2;
		snprintf(n, sizeof(n), "%" PRIu32, i);
		fl_synth_kv(&j->env[0], "RANK", n, false, 0);
		snprintf(n, sizeof(n), "%" PRIu32, f->n_jobs);
		fl_synth_kv(&j->env[1], "WORLD_SIZE", n, false, 0);
	}
	return 0;
}

/* Copies a's --remove names into f's removed nodes. 0, or 1 with the message on stderr. */
static int make_removed(fl_proto_frame *f, const struct make_args *a)
{
	if (a->n_removed == 0) {
		return 0;
	}
	if ((f->removed_nodes = calloc(a->n_removed, sizeof(*f->removed_nodes))) == NULL) {
		fprintf(stderr, "fl-frame-tool: out of memory\n");
		return 1;
	}
	f->n_removed_nodes = a->n_removed;
	for (uint32_t i = 0; i < a->n_removed; i++) {
		if (strlen(a->removed[i]) >= FL_NAME_LEN) {
			fprintf(stderr, "fl-frame-tool: --remove %.32s...: longer than %d bytes\n", a->removed[i],
			        FL_NAME_LEN - 1);
			return 1;
		}
		snprintf(f->removed_nodes[i].name, FL_NAME_LEN, "%s", a->removed[i]);
	}
	return 0;
}

/* Fills f's body as a asks: a node frame of a->host, or facts, overview and synthetic nodes (none for a
 * heartbeat), then the removed nodes. -1 when done, or the exit code (message on stderr). */
static int make_body(fl_proto_frame *f, const struct make_args *a)
{
	if (f->env.kind == FL_FRAME_NODE) {
		if (a->host == NULL || strlen(a->host) >= FL_NAME_LEN || a->gpus > FL_PROTO_MAX_NODE_GPUS) {
			return die_usage("--kind node needs --host NAME (and at most 256 --gpus-per-node)");
		}
		if (make_node(f, a->host, (uint32_t)a->gpus, (uint32_t)a->jobs, a->dup_gpu) != 0 ||
		    (a->job_monitor && make_job_monitor(f) != 0)) {
			fprintf(stderr, "fl-frame-tool: out of memory\n");
			return 1;
		}
	} else if (f->env.kind != FL_FRAME_HEARTBEAT) {
		f->has_facts = true;
		snprintf(f->facts.k8s_version, sizeof(f->facts.k8s_version), "v1.29.3");
		snprintf(f->facts.spoke_version, sizeof(f->facts.spoke_version), "fl-frame-tool");
		snprintf(f->facts.source, sizeof(f->facts.source), "tool");
		f->has_overview = true;
	}
	if (f->env.kind != FL_FRAME_NODE && fl_synth_frame(f, (uint32_t)a->nodes, (uint32_t)a->gpus, 0) != FL_OK) {
		fprintf(stderr, "fl-frame-tool: out of memory for %lld nodes\n", a->nodes);
		return 1;
	}
	return make_removed(f, a) != 0 ? 1 : -1;
}

static int cmd_make(int argc, char **argv)
{
	static struct make_args a; /* static: 20000 --remove pointers */
	fl_proto_frame f = {0};
	fl_key key = {0};
	char err[FL_ERR_LEN];
	char *buf = NULL;
	size_t len = 0;
	int rc;

	memset(&a, 0, sizeof(a));
	if ((rc = make_parse(argc, argv, &f, &a)) >= 0) {
		return rc;
	}
	if (load_key(a.key_file, &key) != 0) {
		return 1;
	}
	if ((rc = make_body(&f, &a)) < 0) {
		rc = 1;
		if (fl_proto_encode(&f, key.bytes, key.len, &buf, &len, err) != FL_OK) {
			fprintf(stderr, "fl-frame-tool: cannot encode the frame: %s\n", err);
		} else {
			rc = write_file(a.out, buf, len);
		}
	}
	fl_key_wipe(&key);
	free(buf);
	fl_proto_frame_free(&f);
	return rc;
}

/* ---- bomb --------------------------------------------------------------------------------------- */

struct raw {
	uint8_t *b;
	size_t n;
};

static void raw_byte(struct raw *r, uint8_t x)
{
	r->b[r->n++] = x;
}

static void raw_be(struct raw *r, uint64_t x, int bytes)
{
	for (int k = bytes - 1; k >= 0; k--) {
		raw_byte(r, (uint8_t)(x >> (8 * k)));
	}
}

static void raw_str(struct raw *r, const char *s)
{
	size_t l = strlen(s); /* < 256 here */

	if (l < 32) {
		raw_byte(r, (uint8_t)(0xa0 | l));
	} else {
		raw_byte(r, 0xd9);
		raw_byte(r, (uint8_t)l);
	}
	memcpy(r->b + r->n, s, l);
	r->n += l;
}

/* A map or array header of n entries (map: 0x80/0xde/0xdf, array: 0x90/0xdc/0xdd). */
static void raw_hdr(struct raw *r, bool map, uint32_t n)
{
	if (n < 16) {
		raw_byte(r, (uint8_t)((map ? 0x80 : 0x90) | n));
	} else if (n <= 0xffff) {
		raw_byte(r, map ? 0xde : 0xdc);
		raw_be(r, n, 2);
	} else {
		raw_byte(r, map ? 0xdf : 0xdd);
		raw_be(r, n, 4);
	}
}

/* bomb's options. */
struct bomb_args {
	const char *cluster, *out, *key_file, *kind;
	long long nodes, taints, unknown;
};

/* Parses bomb's command line into a (defaults: kind full, 20000 nodes, 64 taints, no unknown keys). -1
 * to go on, or the exit code (2 on a usage error, the --help result for --help). */
static int bomb_parse(int argc, char **argv, struct bomb_args *a)
{
	static const struct option opts[] = {
	    {"cluster", required_argument, NULL, 'c'}, {"nodes", required_argument, NULL, 'N'},
	    {"taints", required_argument, NULL, 'T'},  {"unknown-keys", required_argument, NULL, 'U'},
	    {"kind", required_argument, NULL, 'k'},    {"key-file", required_argument, NULL, 'K'},
	    {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
	};
	int c;

	*a = (struct bomb_args){.kind = "full", .nodes = FL_PROTO_MAX_NODES, .taints = FL_PROTO_MAX_TAINTS};
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': a->cluster = optarg; break;
		case 'k': a->kind = optarg; break;
		case 'K': a->key_file = optarg; break;
		case 'o': a->out = optarg; break;
		case 'N':
		case 'T':
		case 'U': {
			long long v;
			if (!parse_int(optarg, 0, 4000000, &v)) {
				return die_usage("--nodes, --taints and --unknown-keys take 0..4000000");
			}
			*(c == 'N' ? &a->nodes : c == 'T' ? &a->taints : &a->unknown) = v;
			break;
		}
		case 'h': return fputs(usage, stdout) == EOF;
		default: return die_usage("unknown option");
		}
	}
	if (a->cluster == NULL || a->out == NULL || optind != argc || strlen(a->cluster) >= 32 ||
	    strlen(a->kind) >= 32) {
		return die_usage("bomb needs --cluster (under 32 bytes) and -o FILE, and no other arguments");
	}
	return -1;
}

/* Writes the bomb's unsigned frame into r (which has room for it): the array header, the envelope map
 * (spoke "bomb", seq 1, sent now) and the payload map. */
static void bomb_body(struct raw *r, const struct bomb_args *a)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	raw_byte(r, 0x93);
	raw_hdr(r, true, 6);
	raw_str(r, "v");
	raw_byte(r, 0x01);
	raw_str(r, "cluster");
	raw_str(r, a->cluster);
	raw_str(r, "spoke");
	raw_str(r, "bomb");
	raw_str(r, "seq");
	raw_byte(r, 0x01);
	raw_str(r, "sent");
	raw_byte(r, 0xcf);
	raw_be(r, (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000, 8);
	raw_str(r, "kind");
	raw_str(r, a->kind);
	raw_hdr(r, true, (uint32_t)(1 + a->unknown));
	raw_str(r, "nodes");
	raw_hdr(r, false, (uint32_t)a->nodes);
	for (long long i = 0; i < a->nodes; i++) {
		raw_hdr(r, true, 2);
		raw_str(r, "name");
		raw_str(r, "a");
		raw_str(r, "taints");
		raw_hdr(r, false, (uint32_t)a->taints);
		memset(r->b + r->n, 0x80, (size_t)a->taints); /* {} */
		r->n += (size_t)a->taints;
	}
	for (long long i = 0; i < a->unknown; i++) {
		char k[24];
		snprintf(k, sizeof(k), "k%lld", i);
		raw_str(r, k);
		raw_byte(r, 0xc0);
	}
}

static int cmd_bomb(int argc, char **argv)
{
	struct bomb_args a;
	fl_key key = {0};
	struct raw r = {0};
	int rc;

	if ((rc = bomb_parse(argc, argv, &a)) >= 0) {
		return rc;
	}
	if (load_key(a.key_file, &key) != 0) {
		return 1;
	}
	rc = 1;
	/* node: 1 + 5 + 2 + 7 + 5 + T bytes; unknown key: up to 9 + 1 bytes; envelope and signature: < 200 */
	size_t cap = 256 + (size_t)a.nodes * (20 + (size_t)a.taints) + (size_t)a.unknown * 10;
	if ((r.b = malloc(cap)) == NULL) {
		fprintf(stderr, "fl-frame-tool: out of memory\n");
		goto done;
	}
	bomb_body(&r, &a);
	raw_byte(&r, 0xc4);
	raw_byte(&r, FL_PROTO_SIG_LEN);
	if (fl_proto_hmac(key.bytes, key.len, r.b + 1, r.n - 3, r.b + r.n) != FL_OK) {
		fprintf(stderr, "fl-frame-tool: cannot sign\n");
		goto done;
	}
	r.n += FL_PROTO_SIG_LEN;
	rc = write_file(a.out, (const char *)r.b, r.n);
done:
	fl_key_wipe(&key);
	free(r.b);
	return rc;
}

/* ---- send --------------------------------------------------------------------------------------- */

/* Reads all of path (a regular file of at most MAX_FILE_BYTES) into a new buffer. */
static int read_file(const char *path, char **out, size_t *out_len)
{
	FILE *fp = fopen(path, "rb");
	struct stat st;
	char *buf = NULL;
	int rc = 1;

	if (fp == NULL || fstat(fileno(fp), &st) != 0) {
		fprintf(stderr, "fl-frame-tool: %s: %s\n", path, strerror(errno));
	} else if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > MAX_FILE_BYTES) {
		fprintf(stderr, "fl-frame-tool: %s: not a regular file of at most %zu bytes\n", path, MAX_FILE_BYTES);
	} else if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		fprintf(stderr, "fl-frame-tool: %s: out of memory\n", path);
	} else if (fread(buf, 1, (size_t)st.st_size, fp) != (size_t)st.st_size) {
		fprintf(stderr, "fl-frame-tool: %s: short read\n", path);
	} else {
		*out = buf;
		*out_len = (size_t)st.st_size;
		buf = NULL;
		rc = 0;
	}
	free(buf);
	if (fp != NULL) {
		fclose(fp);
	}
	return rc;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Prints ack as the one line of JSON --help describes. */
static int print_ack(const fl_proto_ack *ack)
{
	static const char *const names[] = {"ok", "duplicate", "rejected", "retry"};
	json_t *j = json_pack("{s:I, s:s, s:b, s:s}", "seq", (json_int_t)ack->seq, "status", names[ack->status], "full",
	                      (int)ack->want_full, "reason", ack->reason);
	char *s = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	int rc = s != NULL && puts(s) != EOF ? 0 : 1;

	free(s);
	json_decref(j);
	return rc;
}

static int cmd_send(const char *url, const char *path)
{
	nng_socket sock = NNG_SOCKET_INITIALIZER;
	nng_dialer dialer;
	fl_proto_ack ack;
	char err[FL_ERR_LEN];
	char *buf = NULL, *reply = NULL;
	size_t len = 0, reply_len = 0;
	int64_t t0 = mono_ms(), left;
	const char *what = "";
	int rv, rc = 1;

	if (read_file(path, &buf, &len) != 0) {
		return 1;
	}
	/* one request, sent once: no resend before the 5 s are up; replies bounded like a spoke's */
	if ((what = "nng_req0_open", rv = nng_req0_open(&sock)) != 0 ||
	    (what = "set send timeout", rv = nng_socket_set_ms(sock, NNG_OPT_SENDTIMEO, SEND_WAIT_MS)) != 0 ||
	    (what = "set resend time", rv = nng_socket_set_ms(sock, NNG_OPT_REQ_RESENDTIME, 2 * SEND_WAIT_MS)) != 0 ||
	    (what = "set receive limit", rv = nng_socket_set_size(sock, NNG_OPT_RECVMAXSZ, FL_PROTO_MAX_ACK_BYTES)) !=
	        0 ||
	    (what = "nng_dialer_create", rv = nng_dialer_create(&dialer, sock, url)) != 0 ||
	    (what = "set receive limit", rv = nng_dialer_set_size(dialer, NNG_OPT_RECVMAXSZ, FL_PROTO_MAX_ACK_BYTES)) !=
	        0 ||
	    (what = "set reconnect time", rv = nng_dialer_set_ms(dialer, NNG_OPT_RECONNMINT, 100)) != 0 ||
	    (what = "set reconnect time", rv = nng_dialer_set_ms(dialer, NNG_OPT_RECONNMAXT, 1000)) != 0 ||
	    (what = "dial", rv = nng_dialer_start(dialer, NNG_FLAG_NONBLOCK)) != 0 ||
	    (what = "send", rv = nng_send(sock, buf, len, 0)) != 0) {
		fprintf(stderr, "fl-frame-tool: no ack from %s: %s: %s%s\n", url, what, nng_strerror(rv),
		        rv == NNG_ETIMEDOUT ? " (no connection within 5 s: is the hub listening there?)" : "");
		goto done;
	}
	left = SEND_WAIT_MS - (mono_ms() - t0);
	if ((rv = nng_socket_set_ms(sock, NNG_OPT_RECVTIMEO, (nng_duration)(left > 0 ? left : 1))) != 0 ||
	    (rv = nng_recv(sock, &reply, &reply_len, NNG_FLAG_ALLOC)) != 0) {
		fprintf(stderr, "fl-frame-tool: no ack from %s within %d ms: %s\n", url, SEND_WAIT_MS,
		        rv == NNG_ETIMEDOUT ? "timed out (is the hub up? was the message larger than its limit?)"
		                            : nng_strerror(rv));
		goto done;
	}
	if (fl_proto_ack_decode(reply, reply_len, &ack, err) != FL_OK) {
		fprintf(stderr, "fl-frame-tool: the reply from %s is not an ack: %s\n", url, err);
		goto done;
	}
	rc = print_ack(&ack);
	nng_close(sock);
done:
	/* Without an ack the socket is left to process exit: after a peer drops an oversized message,
	 * nng 1.5.2's nng_close was seen to block indefinitely (req0, message over the peer's limit). */
	if (reply != NULL) {
		nng_free(reply, reply_len);
	}
	free(buf);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		return fputs(usage, stdout) == EOF;
	}
	if (argc >= 2 && strcmp(argv[1], "send") == 0) {
		if (argc != 4) {
			return die_usage("send needs URL and FILE");
		}
		return cmd_send(argv[2], argv[3]);
	}
	if (argc >= 2 && strcmp(argv[1], "make") == 0) {
		return cmd_make(argc - 1, argv + 1);
	}
	if (argc >= 2 && strcmp(argv[1], "bomb") == 0) {
		return cmd_bomb(argc - 1, argv + 1);
	}
	return die_usage(argc < 2 ? "no command" : "unknown command");
}
