/* node_bench.c — fl-node-bench: what one cycle of the spoke's node role costs (issue 7), beside a baseline
 * measured the same way in the same process: a `ps`-style pass over the same /proc (read every process's
 * stat and comm), the least any per-process collector does.
 *
 * usage: fl-node-bench --host-root DIR [--cycles N] [--node NAME]
 * DIR is a host tree (tests/node_fixtures/make_tree.sh; scripts/bench.d/node.sh makes one of 8 GPUs, 2
 * RDMA devices and 200 processes). Each node-role cycle is what the daemon does per interval: collect
 * (spoke_node_collect: GPUs, RDMA, jobs) and encode and sign the frame. CPU is user + system time from
 * getrusage over N cycles; peak RSS is this process's ru_maxrss after them. Prints one JSON object. */
#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "fl_time.h"
#include "spoke_node.h"

static const char bench_key[] = "fl-node-bench-signing-key-0123456789abcdef";

static double cpu_ms(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static long peak_kib(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* Reads up to 4 KiB of path; 1 if it could be read. */
static int slurp(const char *path)
{
	char buf[4096];
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	return n > 0;
}

/* The baseline: every process's stat and comm, as ps does. Returns the processes read. */
static int ps_pass(const char *root)
{
	char dir[1100], path[1400];
	snprintf(dir, sizeof(dir), "%s/proc", root);
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *e;
	while (d != NULL && (e = readdir(d)) != NULL) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "%s/%s/stat", dir, e->d_name);
		n += slurp(path);
		snprintf(path, sizeof(path), "%s/%s/comm", dir, e->d_name);
		slurp(path);
	}
	if (d != NULL)
		closedir(d);
	return n;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"host-root", required_argument, NULL, 'r'},
	                                     {"cycles", required_argument, NULL, 'n'},
	                                     {"node", required_argument, NULL, 'N'},
	                                     {NULL, 0, NULL, 0}};
	spoke_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.cluster, sizeof(cfg.cluster), "bench");
	snprintf(cfg.node_name, sizeof(cfg.node_name), "bench-node");
	snprintf(cfg.nvml_library, sizeof(cfg.nvml_library), "libnvidia-ml.so.1");
	snprintf(cfg.dcmi_library, sizeof(cfg.dcmi_library), "libdcmi.so");
	/* The default job_env (spoke_config.c), so each cycle reads the GPU jobs' environ as a deployed spoke does. */
	static const char *const env[] = {"CUDA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES",
	                                  "ROCR_VISIBLE_DEVICES", "ASCEND_RT_VISIBLE_DEVICES",
	                                  "WORLD_SIZE",           "RANK",
	                                  "LOCAL_RANK",           "MASTER_ADDR",
	                                  "MASTER_PORT"};
	for (size_t i = 0; i < sizeof(env) / sizeof(env[0]); i++) {
		snprintf(cfg.job_env[cfg.n_job_env++], sizeof(cfg.job_env[0]), "%s", env[i]);
	}
	cfg.role = SPOKE_ROLE_NODE;
	cfg.source = SPOKE_SOURCE_NODE;
	long cycles = 500;
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'r')
			snprintf(cfg.host_root, sizeof(cfg.host_root), "%s", optarg);
		else if (c == 'n')
			cycles = strtol(optarg, NULL, 10);
		else if (c == 'N')
			snprintf(cfg.node_name, sizeof(cfg.node_name), "%s", optarg);
		else
			return 2;
	}
	if (cfg.host_root[0] == '\0' || cycles < 1) {
		fprintf(stderr, "usage: fl-node-bench --host-root DIR [--cycles N] [--node NAME]\n");
		return 2;
	}
	fl_log_init("node-bench", FL_LOG_WARN);
	char err[FL_ERR_LEN];
	spoke_node_role *n = NULL;
	if (spoke_node_open(&cfg, &n, err) != FL_OK) {
		fprintf(stderr, "fl-node-bench: %s\n", err);
		return 1;
	}
	uint32_t gpus = 0, rdma = 0, jobs = 0;
	size_t bytes = 0;
	double t0 = cpu_ms();
	for (long i = 0; i < cycles; i++) {
		spoke_frame_meta meta = {cfg.cluster, "bench-spoke", (uint64_t)i + 1, fl_now_ms(), "node"};
		fl_proto_frame f;
		char *buf = NULL;
		if (spoke_node_collect(n, &meta, fl_now_ms(), &f, err) != FL_OK ||
		    fl_proto_encode(&f, (const uint8_t *)bench_key, sizeof(bench_key) - 1, &buf, &bytes, err) !=
		        FL_OK) {
			fprintf(stderr, "fl-node-bench: cycle %ld: %s\n", i, err);
			return 1;
		}
		gpus = f.n_gpus, rdma = f.n_rdma, jobs = f.n_jobs;
		free(buf);
		fl_proto_frame_free(&f);
	}
	double node_ms = (cpu_ms() - t0) / (double)cycles;
	long rss = peak_kib();
	spoke_node_close(n);
	int procs = 0;
	t0 = cpu_ms();
	for (long i = 0; i < cycles; i++)
		procs = ps_pass(cfg.host_root);
	double ps_ms = (cpu_ms() - t0) / (double)cycles;
	printf("{\"cycles\":%ld,\"gpus\":%u,\"rdma\":%u,\"jobs\":%u,\"processes\":%d,\"frame_bytes\":%zu,"
	       "\"node_cpu_ms_per_cycle\":%.3f,\"ps_cpu_ms_per_cycle\":%.3f,\"ratio\":%.2f,\"peak_rss_kib\":%ld}\n",
	       cycles, gpus, rdma, jobs, procs, bytes, node_ms, ps_ms, ps_ms > 0 ? node_ms / ps_ms : 0.0, rss);
	return 0;
}
