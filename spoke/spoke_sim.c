/* spoke_sim.c — the deterministic synthetic cluster (see spoke_sim.h for what it exercises). */
#include "spoke_sim.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Salts keep the hash streams for different aspects of one node independent. */
enum {
	SALT_VENDOR = 1,
	SALT_SHIFT,
	SALT_LOST,
	SALT_PODS,
	SALT_GPU,
	SALT_SERIAL,
	SALT_CPU_NODE,
	SALT_STORAGE,
	SALT_UID,
	SALT_OWNER,
	SALT_SAFE,
};

/* Sim workloads: the first kinds of owner key5(seed, SALT_OWNER, kind, a, b). */
enum { OWNER_DEPLOYMENT = 1, OWNER_REPLICASET, OWNER_PYTORCHJOB, OWNER_JOB, OWNER_CRONJOB };
#define SIM_DEPLOYMENTS 5 /* inference pods belong to one of 5 long-lived Deployments, by node */

#define COND_EPOCH_TICKS 20 /* node conditions hold for this many cycles */
#define POD_EPOCH_TICKS  5  /* pods are re-planned every this many cycles */
#define COND_SLOTS       20 /* each condition kind takes 1 (or 2) of 20 slots: 5% (10%) of GPU nodes */

/* Condition kinds by slot; nodes are spread over slots by (i * 7 + shift) % COND_SLOTS, a permutation
 * of every 20 consecutive nodes, so each kind shows up once per 20 nodes and often in smaller
 * clusters. */
enum cond {
	COND_HEALTHY,
	COND_NOT_READY,
	COND_UNKNOWN,
	COND_CORDONED,
	COND_FAULT_TAINT,
	COND_BENIGN_TAINT,
	COND_GPU_LOST,
};

static enum cond cond_of_slot(uint32_t slot)
{
	switch (slot) {
	case 0: return COND_NOT_READY;
	case 5: return COND_UNKNOWN;
	case 10: return COND_CORDONED;
	case 15: return COND_FAULT_TAINT;
	case 3:
	case 13: return COND_BENIGN_TAINT;
	case 8: return COND_GPU_LOST;
	default: return COND_HEALTHY;
	}
}

/* splitmix64's finalizer: a good 64-bit mix of x. */
static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* A hash of (seed, salt, a, b, c). */
static uint64_t key5(uint64_t seed, uint64_t salt, uint64_t a, uint64_t b, uint64_t c)
{
	return mix64(mix64(mix64(mix64(seed ^ mix64(salt)) ^ a) ^ b) ^ c);
}

/* A splitmix64 stream for draws that need several numbers. */
typedef struct rng {
	uint64_t state;
} rng;

static uint64_t rng_next(rng *r)
{
	r->state += 0x9e3779b97f4a7c15ULL;
	uint64_t z = r->state;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform-enough integer in [0, n) (n > 0). */
static uint32_t rng_below(rng *r, uint32_t n)
{
	return (uint32_t)(rng_next(r) % n);
}

typedef struct vendor {
	const char *resource;
	const char *product;
	int64_t memory_mib;
} vendor;

static const vendor vendors[] = {
    {"amd.com/gpu", "AMD Instinct MI300X", 196608},
    {"nvidia.com/gpu", "NVIDIA H100 80GB HBM3", 81559},
};

void spoke_sim_config_default(spoke_sim_config *cfg)
{
	cfg->nodes = 0;
	cfg->gpus_per_node = 8;
	cfg->seed = 1;
	cfg->cluster[0] = '\0';
}

/* The suffix of the sim's SaFE workload names: 20 bits of (seed, cluster) (FNV-1a of the name). */
static unsigned safe_suffix(const spoke_sim_config *cfg)
{
	uint64_t h = 14695981039346656037ULL;
	for (const char *c = cfg->cluster; *c != '\0'; c++) {
		h = (h ^ (unsigned char)*c) * 1099511628211ULL;
	}
	return (unsigned)(key5(cfg->seed, SALT_SAFE, h, 0, 0) & 0xfffffu);
}

uint32_t spoke_sim_cpu_nodes(const spoke_sim_config *cfg)
{
	return cfg->nodes / 10 > 0 ? cfg->nodes / 10 : 1;
}

#define TRY(expr)                                                                                                      \
	do {                                                                                                           \
		int try_rv_ = (expr);                                                                                  \
		if (try_rv_ != FL_OK)                                                                                  \
			return try_rv_;                                                                                \
	} while (0)

/* Sets the InternalIP (10.<subnet + i/65536>.x.y) and the node's software versions. */
static void set_address_and_versions(spoke_node *n, uint32_t i, uint32_t subnet)
{
	snprintf(n->internal_ip, sizeof(n->internal_ip), "10.%u.%u.%u", subnet + i / 65536u, (i / 256u) % 256u,
	         i % 256u);
	snprintf(n->kubelet_version, sizeof(n->kubelet_version), "v1.30.0");
	snprintf(n->os_image, sizeof(n->os_image), "Ubuntu 22.04.4 LTS");
	snprintf(n->kernel_version, sizeof(n->kernel_version), "5.15.0-105-generic");
	snprintf(n->container_runtime, sizeof(n->container_runtime), "containerd://1.7.13");
}

/* Writes a uid-shaped string for key (8-4-4-4-12 hex digits) into dst. */
static void format_uid(char *dst, size_t len, uint64_t key)
{
	snprintf(dst, len, "%08x-%04x-4%03x-8%03x-%012llx", (unsigned)(key >> 32), (unsigned)(key >> 16) & 0xffffu,
	         (unsigned)(key >> 4) & 0xfffu, (unsigned)key & 0xfffu,
	         (unsigned long long)(mix64(key) & 0xffffffffffffULL));
}

static void set_owner(spoke_owner *o, const char *kind, const char *api_version, const char *name, uint64_t key)
{
	snprintf(o->kind, sizeof(o->kind), "%s", kind);
	snprintf(o->api_version, sizeof(o->api_version), "%s", api_version);
	snprintf(o->name, sizeof(o->name), "%s", name);
	format_uid(o->uid, sizeof(o->uid), key);
}

/* Gives the pod added last a controller of the given kind; with parent_kind (a CronJob), that
 * controller is in turn owned by parent, recorded as a model link. */
static int own_last_pod(spoke_model *m, const char *kind, const char *api_version, const char *name, uint64_t key,
                        const char *parent_kind, const char *parent_name, uint64_t parent_key)
{
	spoke_pod *p = &m->pods[m->n_pods - 1];
	set_owner(&p->owner, kind, api_version, name, key);
	if (parent_kind == NULL) {
		return FL_OK;
	}
	spoke_owner_link *l;
	TRY(spoke_model_add_link(m, &l));
	snprintf(l->uid, sizeof(l->uid), "%s", p->owner.uid);
	set_owner(&l->owner, parent_kind, "batch/v1", parent_name, parent_key); /* only CronJobs here */
	return FL_OK;
}

/* Labels the pod added last as SaFE's workload id (the data-plane object is named after the SaFE
 * workload, as SaFE does). */
static int safe_label_last_pod(spoke_model *m, const char *id)
{
	spoke_pod *p = &m->pods[m->n_pods - 1];
	size_t len = strnlen(id, sizeof(p->safe_workload_id));
	if (len >= sizeof(p->safe_workload_id))
		return FL_EINVAL; /* the sim's names are far shorter than a label value's 63 characters */
	memcpy(p->safe_workload_id, id, len + 1);
	return FL_OK;
}

/* The sim's owner of GPU pod k of node i in pod epoch pe, by namespace: inference pods belong to a
 * ReplicaSet of one of SIM_DEPLOYMENTS Deployments; training pods to a PyTorchJob spanning 4 nodes for
 * one epoch, a SaFE workload (labelled with its name); research pods to a Job of their own. */
static int own_job_pod(spoke_model *m, const spoke_sim_config *cfg, const char *ns, uint32_t i, uint64_t pe)
{
	char name[FL_NAME_LEN];
	if (strcmp(ns, "inference") == 0) {
		uint32_t g = i % SIM_DEPLOYMENTS;
		uint64_t rs = key5(cfg->seed, SALT_OWNER, OWNER_REPLICASET, g, 0);
		snprintf(name, sizeof(name), "infer-%u-%06x", g, (unsigned)(rs & 0xffffffu));
		return own_last_pod(m, "ReplicaSet", "apps/v1", name, rs, NULL, NULL, 0); /* links: add_deployments */
	}
	if (strcmp(ns, "training") == 0) {
		snprintf(name, sizeof(name), "pt-%05u-%llu-%05x", i / 4, (unsigned long long)pe, safe_suffix(cfg));
		TRY(own_last_pod(m, "PyTorchJob", "kubeflow.org/v1", name,
		                 key5(cfg->seed, SALT_OWNER, OWNER_PYTORCHJOB, i / 4, pe), NULL, NULL, 0));
		return safe_label_last_pod(m, name);
	}
	snprintf(name, sizeof(name), "research-%05u-%llu", i, (unsigned long long)pe);
	return own_last_pod(m, "Job", "batch/v1", name, key5(cfg->seed, SALT_OWNER, OWNER_JOB, i, pe), NULL, NULL, 0);
}

/* The links ReplicaSet → Deployment of the sim's inference Deployments. */
static int add_deployments(spoke_model *m, const spoke_sim_config *cfg)
{
	for (uint32_t g = 0; g < SIM_DEPLOYMENTS; g++) {
		uint64_t rs = key5(cfg->seed, SALT_OWNER, OWNER_REPLICASET, g, 0);
		char name[FL_NAME_LEN];
		spoke_owner_link *l;
		TRY(spoke_model_add_link(m, &l));
		format_uid(l->uid, sizeof(l->uid), rs);
		snprintf(name, sizeof(name), "infer-%u", g);
		set_owner(&l->owner, "Deployment", "apps/v1", name, key5(cfg->seed, SALT_OWNER, OWNER_DEPLOYMENT, g, 0));
	}
	return FL_OK;
}

/* Adds a pod with one container (requests gpus of resource, plus cpu millis and memory bytes) and,
 * when init_gpus >= 0, one init container requesting init_gpus. */
static int add_pod(spoke_model *m, const char *ns, const char *name, uint64_t uid_key, const char *node,
                   const char *phase, bool terminating, const char *resource, const int64_t *gpus, uint32_t n_gpus,
                   int64_t init_gpus)
{
	spoke_pod *p;
	TRY(spoke_model_add_pod(m, &p));
	format_uid(p->uid, sizeof(p->uid), uid_key);
	snprintf(p->ns, sizeof(p->ns), "%s", ns);
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->node_name, sizeof(p->node_name), "%s", node);
	snprintf(p->phase, sizeof(p->phase), "%s", phase);
	p->terminating = terminating;
	TRY(spoke_pod_alloc_containers(p, n_gpus == 0 ? 1 : n_gpus, init_gpus >= 0 ? 1 : 0));
	for (uint32_t c = 0; c < p->n_containers; c++) {
		spoke_container *ct = &p->containers[c];
		if (c == 0) {
			snprintf(ct->name, sizeof(ct->name), "main");
		} else {
			snprintf(ct->name, sizeof(ct->name), "sidecar-%u", c);
		}
		TRY(spoke_resources_set(&ct->requests, "cpu", c == 0 ? 4000 : 500));
		TRY(spoke_resources_set(&ct->requests, "memory", (int64_t)(c == 0 ? 64 : 4) << 30));
		if (c < n_gpus && gpus[c] > 0) {
			TRY(spoke_resources_set(&ct->requests, resource, gpus[c]));
		}
	}
	if (init_gpus >= 0) {
		spoke_container *ct = &p->init_containers[0];
		snprintf(ct->name, sizeof(ct->name), "warmup");
		TRY(spoke_resources_set(&ct->requests, "cpu", 1000));
		if (init_gpus > 0) {
			TRY(spoke_resources_set(&ct->requests, resource, init_gpus));
		}
	}
	return FL_OK;
}

/* Adds the pods of GPU node i: holders adding up to `target` GPUs, then pods that hold nothing. */
static int add_gpu_node_pods(spoke_model *m, const spoke_sim_config *cfg, uint64_t tick, uint32_t i, const char *node,
                             const vendor *v, int64_t target)
{
	static const char *const namespaces[] = {"training", "inference", "research"};
	static const int64_t sizes[] = {1, 2, 4, 8};
	uint64_t pe = tick / POD_EPOCH_TICKS;
	rng r = {key5(cfg->seed, SALT_PODS, i, pe, 0)};
	char name[FL_NAME_LEN];
	uint32_t k = 0;

	for (int64_t left = target; left > 0; k++) {
		int64_t h = sizes[rng_below(&r, 4)];
		if (h > left) {
			h = left;
		}
		left -= h;
		uint32_t shape = rng_below(&r, 5);
		bool terminating = rng_below(&r, 6) == 0;
		const char *ns = namespaces[rng_below(&r, 3)];
		uint64_t uid = key5(cfg->seed, SALT_UID, i, pe, k);
		snprintf(name, sizeof(name), "job-%05u-%02u-%06x", i, k, (unsigned)(uid & 0xffffffu));
		int64_t split[2] = {h / 2, h - h / 2};
		int64_t one[1] = {h};
		int64_t less[1] = {h - 1};
		switch (shape) {
		case 0: /* one container */
			TRY(add_pod(m, ns, name, uid, node, "Running", terminating, v->resource, one, 1, -1));
			break;
		case 1: /* two containers sharing the hold */
			TRY(add_pod(m, ns, name, uid, node, "Running", terminating, v->resource, split, 2, -1));
			break;
		case 2: /* an init container larger than the containers: holds max(init) */
			TRY(add_pod(m, ns, name, uid, node, "Running", terminating, v->resource, less, 1, h));
			break;
		case 3: /* a smaller init container: holds the containers' sum */
			TRY(add_pod(m, ns, name, uid, node, "Running", terminating, v->resource, one, 1, 1));
			break;
		default: /* bound but not started yet: still holds */
			TRY(add_pod(m, ns, name, uid, node, "Pending", false, v->resource, one, 1, -1));
			break;
		}
		TRY(own_job_pod(m, cfg, ns, i, pe));
	}

	/* Pods that hold nothing on this node. */
	int64_t all[1] = {cfg->gpus_per_node};
	if (rng_below(&r, 10) < 4) {
		uint64_t uid = key5(cfg->seed, SALT_UID, i, pe, k++);
		snprintf(name, sizeof(name), "eval-%05u-%06x", i, (unsigned)(uid & 0xffffffu));
		TRY(add_pod(m, "batch", name, uid, node, "Succeeded", false, v->resource, all, 1, -1));
		char job[FL_NAME_LEN];
		snprintf(job, sizeof(job), "nightly-eval-%05u-%llu", i, (unsigned long long)pe);
		TRY(own_last_pod(m, "Job", "batch/v1", job, key5(cfg->seed, SALT_OWNER, OWNER_JOB, i, pe + (1ull << 40)),
		                 "CronJob", "nightly-eval", key5(cfg->seed, SALT_OWNER, OWNER_CRONJOB, 0, 0)));
	}
	if (rng_below(&r, 10) < 2) {
		uint64_t uid = key5(cfg->seed, SALT_UID, i, pe, k++);
		snprintf(name, sizeof(name), "crash-%05u-%06x", i, (unsigned)(uid & 0xffffffu));
		TRY(add_pod(m, "batch", name, uid, node, "Failed", false, v->resource, all, 1, 2));
		char job[FL_NAME_LEN];
		snprintf(job, sizeof(job), "crash-%05u-%llu", i, (unsigned long long)pe);
		TRY(own_last_pod(m, "Job", "batch/v1", job, key5(cfg->seed, SALT_OWNER, OWNER_JOB, i, pe + (2ull << 40)),
		                 NULL, NULL, 0));
	}
	if (rng_below(&r, 10) < 2) {
		uint64_t uid = key5(cfg->seed, SALT_UID, i, pe, k++);
		snprintf(name, sizeof(name), "queued-%05u-%06x", i, (unsigned)(uid & 0xffffffu));
		TRY(add_pod(m, "training", name, uid, "", "Pending", false, v->resource, all, 1, -1));
		char job[FL_NAME_LEN];
		snprintf(job, sizeof(job), "queued-%05u-%llu-%05x", i, (unsigned long long)pe, safe_suffix(cfg));
		TRY(own_last_pod(m, "PyTorchJob", "kubeflow.org/v1", job,
		                 key5(cfg->seed, SALT_OWNER, OWNER_PYTORCHJOB, i, pe + (1ull << 40)), NULL, NULL, 0));
		TRY(safe_label_last_pod(m, job));
	}
	uint64_t uid = key5(cfg->seed, SALT_UID, i, pe, k);
	snprintf(name, sizeof(name), "node-exporter-%.64s", node);
	return add_pod(m, "kube-system", name, uid, node, "Running", false, v->resource, NULL, 0, -1);
}

static int add_gpu_node(spoke_model *m, const spoke_sim_config *cfg, uint64_t tick, uint32_t i)
{
	uint64_t ce = tick / COND_EPOCH_TICKS;
	uint32_t shift = (uint32_t)(key5(cfg->seed, SALT_SHIFT, ce, 0, 0) % COND_SLOTS);
	enum cond cond = cond_of_slot((uint32_t)(((uint64_t)i * 7u + shift) % COND_SLOTS));
	const vendor *v = &vendors[key5(cfg->seed, SALT_VENDOR, i, 0, 0) % 2];
	int64_t capacity = cfg->gpus_per_node;
	int64_t lost = -1; /* index of the lost GPU, if any */
	if (cond == COND_GPU_LOST && capacity >= 2) {
		lost = (int64_t)(key5(cfg->seed, SALT_LOST, i, ce, 0) % (uint64_t)capacity);
	}
	int64_t allocatable = lost >= 0 ? capacity - 1 : capacity;

	spoke_node *n;
	TRY(spoke_model_add_node(m, &n));
	char name[FL_NAME_LEN];
	snprintf(name, sizeof(name), "gpu-%05u", i);
	snprintf(n->name, sizeof(n->name), "%s", name);
	set_address_and_versions(n, i, 1);
	snprintf(n->gpu_product, sizeof(n->gpu_product), "%s", v->product);
	snprintf(n->ready, sizeof(n->ready), "True");
	n->cpu_capacity_millis = 192000;
	n->cpu_allocatable_millis = 190000;
	n->memory_capacity_bytes = (int64_t)2048 << 30;
	n->memory_allocatable_bytes = (int64_t)2032 << 30;
	TRY(spoke_resources_set(&n->capacity, v->resource, capacity));
	TRY(spoke_resources_set(&n->allocatable, v->resource, allocatable));
	TRY(spoke_resources_set(&n->capacity, "rdma/hca", 8));
	TRY(spoke_resources_set(&n->allocatable, "rdma/hca", 8));
	switch (cond) {
	case COND_NOT_READY:
		snprintf(n->ready, sizeof(n->ready), "False");
		TRY(spoke_node_add_taint(n, "node.kubernetes.io/not-ready", "", "NoExecute"));
		break;
	case COND_UNKNOWN:
		snprintf(n->ready, sizeof(n->ready), "Unknown");
		TRY(spoke_node_add_taint(n, "node.kubernetes.io/unreachable", "", "NoExecute"));
		break;
	case COND_CORDONED:
		n->unschedulable = true;
		TRY(spoke_node_add_taint(n, "node.kubernetes.io/unschedulable", "", "NoSchedule"));
		break;
	case COND_FAULT_TAINT: TRY(spoke_node_add_taint(n, "fleetlens.io/gpu-fault", "xid-79", "NoSchedule")); break;
	case COND_BENIGN_TAINT: TRY(spoke_node_add_taint(n, v->resource, "present", "NoSchedule")); break;
	case COND_HEALTHY:
	case COND_GPU_LOST: break;
	}

	/* How much of the node pods hold: a quarter idle, a quarter full, the rest in between. */
	rng r = {key5(cfg->seed, SALT_PODS, i, tick / POD_EPOCH_TICKS, 1)};
	uint32_t roll = rng_below(&r, 100);
	int64_t target = roll < 25                      ? 0
	                 : roll < 50 || allocatable < 2 ? allocatable
	                                                : 1 + rng_below(&r, (uint32_t)(allocatable - 1));
	TRY(add_gpu_node_pods(m, cfg, tick, i, name, v, target));

	/* Device rows: the lost GPU has none; the first `target` present GPUs are the busy ones. */
	int64_t ordinal = 0;
	for (int64_t d = 0; d < capacity; d++) {
		if (d == lost) {
			continue;
		}
		bool in_use = ordinal++ < target;
		uint64_t h = key5(cfg->seed, SALT_GPU, i, (uint64_t)d, tick);
		spoke_gpu *g;
		TRY(spoke_model_add_gpu(m, &g));
		snprintf(g->node, sizeof(g->node), "%s", name);
		g->gpu_id = (int32_t)d;
		snprintf(g->gpu_model, sizeof(g->gpu_model), "%s", v->product);
		g->memory_mib = v->memory_mib;
		g->has_utilization = cond != COND_UNKNOWN && h % 25 != 0;
		if (g->has_utilization) {
			g->utilization = in_use ? 35.0 + (double)((h >> 8) % 130) * 0.5 : (double)((h >> 8) % 7) * 0.5;
		}
		g->temperature = in_use ? 55.0 + (double)((h >> 20) % 25) : 32.0 + (double)((h >> 20) % 8);
		g->power = in_use ? 400.0 + (double)((h >> 28) % 300) : 90.0 + (double)((h >> 28) % 40);
		snprintf(g->serial, sizeof(g->serial), "SIM%016llX",
		         (unsigned long long)key5(cfg->seed, SALT_SERIAL, i, (uint64_t)d, 0));
		g->numa = capacity >= 2 ? (int32_t)(d / ((capacity + 1) / 2)) : 0;
	}
	return FL_OK;
}

static int add_cpu_node(spoke_model *m, const spoke_sim_config *cfg, uint64_t tick, uint32_t j)
{
	spoke_node *n;
	TRY(spoke_model_add_node(m, &n));
	char name[FL_NAME_LEN];
	snprintf(name, sizeof(name), "cpu-%05u", j);
	snprintf(n->name, sizeof(n->name), "%s", name);
	set_address_and_versions(n, j, 250);
	bool not_ready = key5(cfg->seed, SALT_CPU_NODE, j, tick / COND_EPOCH_TICKS, 0) % 10 == 0;
	snprintf(n->ready, sizeof(n->ready), "%s", not_ready ? "False" : "True");
	n->cpu_capacity_millis = 64000;
	n->cpu_allocatable_millis = 63000;
	n->memory_capacity_bytes = (int64_t)256 << 30;
	n->memory_allocatable_bytes = (int64_t)250 << 30;
	uint64_t uid = key5(cfg->seed, SALT_UID, SPOKE_SIM_MAX_NODES + j, tick / POD_EPOCH_TICKS, 0);
	char pod[FL_NAME_LEN];
	snprintf(pod, sizeof(pod), "node-exporter-%.64s", name);
	TRY(add_pod(m, "kube-system", pod, uid, name, "Running", false, "", NULL, 0, -1));
	snprintf(pod, sizeof(pod), "api-%05u-%06x", j, (unsigned)(uid >> 40));
	return add_pod(m, "inference", pod, mix64(uid), name, "Running", false, "", NULL, 0, -1);
}

/* Cluster-wide figures; all whole numbers, so they survive any round trip exactly. */
static void fill_storage(spoke_model *m, const spoke_sim_config *cfg, uint64_t tick)
{
	uint64_t h = key5(cfg->seed, SALT_STORAGE, tick, 0, 0);
	const uint64_t pb = 1000000000000000ULL, gib = 1ULL << 30;
	spoke_storage *s = &m->storage;
	s->total_space = (double)(2 * pb); /* 2 PB: 1% of it is a whole number, so percentages come out exact */
	s->used_space = (double)(2 * pb / 100 * (40 + h % 30));
	s->total_inodes = 1000000000.0;
	s->used_inodes = 10000000.0 * (double)(20 + (h >> 8) % 40);
	s->read_bandwidth = (double)(gib * (2 + (h >> 16) % 8));
	s->write_bandwidth = (double)(gib * (1 + (h >> 24) % 4));
	s->rdma_tx = (double)cfg->nodes * 1e9 * (double)(1 + (h >> 32) % 12);
	s->rdma_rx = (double)cfg->nodes * 1e9 * (double)(1 + (h >> 40) % 12);
}

int spoke_sim_fill(const spoke_sim_config *cfg, uint64_t tick, spoke_model *model, char err[FL_ERR_LEN])
{
	memset(model, 0, sizeof(*model));
	if (cfg->nodes < 1 || cfg->nodes > SPOKE_SIM_MAX_NODES) {
		return fl_seterr(err, FL_EINVAL, "sim: nodes %u out of range [1, %u]", cfg->nodes, SPOKE_SIM_MAX_NODES);
	}
	if (cfg->gpus_per_node < 1 || cfg->gpus_per_node > SPOKE_SIM_MAX_GPUS_PER_NODE) {
		return fl_seterr(err, FL_EINVAL, "sim: gpus_per_node %u out of range [1, %u]", cfg->gpus_per_node,
		                 SPOKE_SIM_MAX_GPUS_PER_NODE);
	}
	snprintf(model->k8s_version, sizeof(model->k8s_version), "%s", SPOKE_SIM_K8S_VERSION);
	int rv = add_deployments(model, cfg);
	for (uint32_t i = 0; i < cfg->nodes && rv == FL_OK; i++) {
		rv = add_gpu_node(model, cfg, tick, i);
	}
	uint32_t cpu = spoke_sim_cpu_nodes(cfg);
	for (uint32_t j = 0; j < cpu && rv == FL_OK; j++) {
		rv = add_cpu_node(model, cfg, tick, j);
	}
	if (rv != FL_OK) {
		spoke_model_free(model);
		return fl_seterr(err, rv, "sim: building tick %llu: %s", (unsigned long long)tick, fl_strerror(rv));
	}
	fill_storage(model, cfg, tick);
	return FL_OK;
}
