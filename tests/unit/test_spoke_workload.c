/* test_spoke_workload.c — pods resolve to their top-level workload, statuses follow the pods over
 * time, ended workloads are kept 15 minutes, utilization comes from pod-labelled GPUs or the node. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "spoke_sim.h"
#include "spoke_workload.h"

#define T0 1764000000000LL

static spoke_overview_rules rules;

static void owner(spoke_owner *o, const char *kind, const char *name, const char *uid)
{
	snprintf(o->kind, sizeof(o->kind), "%s", kind);
	snprintf(o->api_version, sizeof(o->api_version), "%s",
	         strcmp(kind, "PyTorchJob") == 0   ? "kubeflow.org/v1"
	         : strcmp(kind, "ReplicaSet") == 0 ? "apps/v1"
	                                           : "batch/v1");
	snprintf(o->name, sizeof(o->name), "%s", name);
	snprintf(o->uid, sizeof(o->uid), "%s", uid);
}

/* Adds a pod on node (may be "") requesting gpus nvidia.com/gpu in the given phase, owned by
 * (kind, name, uid) unless kind is NULL. */
static spoke_pod *pod(spoke_model *m, const char *uid, const char *node, const char *phase, int64_t gpus,
                      const char *kind, const char *name, const char *owner_uid)
{
	spoke_pod *p;
	assert_int_equal(spoke_model_add_pod(m, &p), FL_OK);
	snprintf(p->uid, sizeof(p->uid), "%s", uid);
	snprintf(p->ns, sizeof(p->ns), "team");
	snprintf(p->name, sizeof(p->name), "pod-%s", uid);
	snprintf(p->node_name, sizeof(p->node_name), "%s", node);
	snprintf(p->phase, sizeof(p->phase), "%s", phase);
	p->created_ms = T0 - 1000;
	assert_int_equal(spoke_pod_alloc_containers(p, 1, 0), FL_OK);
	if (gpus > 0) {
		assert_int_equal(spoke_resources_set(&p->containers[0].requests, "nvidia.com/gpu", gpus), FL_OK);
	}
	if (kind != NULL) {
		owner(&p->owner, kind, name, owner_uid);
	}
	return p;
}

static void link_to(spoke_model *m, const char *uid, const char *kind, const char *name, const char *owner_uid)
{
	spoke_owner_link *l;
	assert_int_equal(spoke_model_add_link(m, &l), FL_OK);
	snprintf(l->uid, sizeof(l->uid), "%s", uid);
	owner(&l->owner, kind, name, owner_uid);
}

/* A node with 8 GPUs whose mean utilization is util (or none when util < 0). */
static void node(spoke_model *m, const char *name, double util)
{
	spoke_node *n;
	spoke_gpu *g;
	assert_int_equal(spoke_model_add_node(m, &n), FL_OK);
	snprintf(n->name, sizeof(n->name), "%s", name);
	snprintf(n->ready, sizeof(n->ready), "True");
	assert_int_equal(spoke_resources_set(&n->allocatable, "nvidia.com/gpu", 8), FL_OK);
	assert_int_equal(spoke_model_add_gpu(m, &g), FL_OK);
	snprintf(g->node, sizeof(g->node), "%s", name);
	g->utilization = util;
	g->has_utilization = util >= 0;
}

/* Runs one cycle of t over m at now; f receives the frame's pods and workloads. m is freed. */
static void cycle(spoke_workloads *t, spoke_model *m, int64_t now, fl_proto_frame *f)
{
	spoke_overview_result ov;
	char err[FL_ERR_LEN];
	memset(&ov, 0, sizeof(ov));
	memset(f, 0, sizeof(*f));
	assert_int_equal(spoke_overview_compute(m, &rules, &ov, err), FL_OK);
	assert_int_equal(spoke_workloads_fill(t, m, &rules, &ov, now, f, err), FL_OK);
	spoke_overview_result_free(&ov);
	spoke_model_free(m);
}

static const fl_proto_workload *find(const fl_proto_frame *f, const char *uid)
{
	for (uint32_t i = 0; i < f->n_workloads; i++) {
		if (strcmp(f->workloads[i].uid, uid) == 0) {
			return &f->workloads[i];
		}
	}
	fail_msg("workload %s not in the frame", uid);
	return NULL;
}

static void test_pods_resolve_through_replicasets_and_jobs_to_the_top(void **state)
{
	(void)state;
	spoke_model m = {0};
	spoke_workloads t = {0};
	fl_proto_frame f;
	node(&m, "n1", 40);
	pod(&m, "p1", "n1", "Running", 2, "ReplicaSet", "web-7d4", "rs-1");
	pod(&m, "p2", "n1", "Running", 2, "ReplicaSet", "web-7d4", "rs-1");
	link_to(&m, "rs-1", "Deployment", "web", "dep-1");
	pod(&m, "p3", "n1", "Pending", 1, "Job", "nightly-123", "job-1");
	link_to(&m, "job-1", "CronJob", "nightly", "cron-1");
	pod(&m, "p4", "n1", "Running", 1, "PyTorchJob", "bert", "pt-1");      /* a kind nobody links further */
	pod(&m, "p5", "n1", "Running", 1, NULL, NULL, NULL);                  /* a bare pod */
	pod(&m, "p6", "n1", "Running", 1, "ReplicaSet", "orphan-rs", "rs-2"); /* its Deployment unknown */
	pod(&m, "p7", "n1", "Running", 0, "ReplicaSet", "web-7d4", "rs-1");   /* no GPUs: not tracked */
	link_to(&m, "loop-a", "Job", "b", "loop-b"); /* a cycle stops after SPOKE_OWNER_DEPTH steps */
	link_to(&m, "loop-b", "Job", "a", "loop-a");
	pod(&m, "p8", "n1", "Running", 1, "Job", "a", "loop-a");
	cycle(&t, &m, T0, &f);

	assert_int_equal(f.n_pods, 7);
	assert_int_equal(f.n_workloads, 6);
	const fl_proto_workload *w = find(&f, "dep-1");
	assert_string_equal(w->kind, "Deployment");
	assert_string_equal(w->name, "web");
	assert_string_equal(w->ns, "team");
	assert_int_equal(w->pods, 2);
	assert_int_equal(w->gpu_request, 4);
	assert_string_equal(find(&f, "cron-1")->kind, "CronJob");
	assert_string_equal(find(&f, "cron-1")->status, "Pending");
	assert_string_equal(find(&f, "pt-1")->api_version, "kubeflow.org/v1");
	assert_string_equal(find(&f, "p5")->kind, "Pod");
	assert_string_equal(find(&f, "p5")->name, "pod-p5");
	assert_string_equal(find(&f, "rs-2")->kind, "ReplicaSet");
	/* loop-a → loop-b → loop-a ...: 8 steps from loop-a end on loop-a */
	assert_string_equal(find(&f, "loop-a")->name, "a");
	for (uint32_t i = 0; i < f.n_pods; i++) {
		if (strcmp(f.pods[i].uid, "p1") == 0) {
			assert_string_equal(f.pods[i].workload_uid, "dep-1");
			assert_int_equal(f.pods[i].gpus, 2);
			assert_true(f.pods[i].running);
		}
	}
	fl_proto_frame_free(&f);
	spoke_workloads_free(&t);
}

static void test_status_follows_the_pods_and_ended_workloads_are_kept_15_minutes(void **state)
{
	(void)state;
	spoke_model m = {0};
	spoke_workloads t = {0};
	fl_proto_frame f;
	/* cycle 1: a job running, a job pending, a deployment running */
	node(&m, "n1", 10);
	pod(&m, "a1", "n1", "Running", 1, "Job", "a", "job-a");
	pod(&m, "b1", "", "Pending", 1, "Job", "b", "job-b");
	pod(&m, "c1", "n1", "Running", 1, "ReplicaSet", "c", "rs-c");
	cycle(&t, &m, T0, &f);
	assert_string_equal(find(&f, "job-a")->status, "Running");
	assert_string_equal(find(&f, "job-b")->status, "Pending");
	assert_int_equal(find(&f, "job-a")->ended_ms, 0);
	assert_int_equal(find(&f, "job-a")->created_ms, T0 - 1000);
	fl_proto_frame_free(&f);

	/* cycle 2: a succeeded, b failed, c's pods vanished without ending */
	node(&m, "n1", 10);
	pod(&m, "a1", "n1", "Succeeded", 1, "Job", "a", "job-a");
	pod(&m, "b1", "n1", "Failed", 1, "Job", "b", "job-b");
	cycle(&t, &m, T0 + 60000, &f);
	assert_int_equal(f.n_pods, 0); /* ended pods are not sent */
	assert_string_equal(find(&f, "job-a")->status, "Done");
	assert_string_equal(find(&f, "job-b")->status, "Failed");
	assert_string_equal(find(&f, "rs-c")->status, "Deleted");
	assert_int_equal(find(&f, "rs-c")->ended_ms, T0 + 60000);
	assert_int_equal(find(&f, "rs-c")->pods, 0);
	assert_int_equal(find(&f, "job-a")->pods, 0);
	assert_int_equal(find(&f, "job-a")->ended_ms, T0 + 60000);
	fl_proto_frame_free(&f);

	/* cycle 3, 10 minutes on: a's ended pod still listed, b's gone; both keep their end */
	node(&m, "n1", 10);
	pod(&m, "a1", "n1", "Succeeded", 1, "Job", "a", "job-a");
	cycle(&t, &m, T0 + 660000, &f);
	assert_int_equal(f.n_workloads, 3);
	assert_string_equal(find(&f, "job-a")->status, "Done");
	assert_int_equal(find(&f, "job-a")->ended_ms, T0 + 60000);
	assert_string_equal(find(&f, "job-b")->status, "Failed");
	assert_int_equal(find(&f, "job-b")->ended_ms, T0 + 60000);
	fl_proto_frame_free(&f);

	/* cycle 4, past 15 minutes after the end: b and c forgotten; a's pod is still listed as ended,
	 * so a stays with the end it had */
	node(&m, "n1", 10);
	pod(&m, "a1", "n1", "Succeeded", 1, "Job", "a", "job-a");
	cycle(&t, &m, T0 + 60000 + SPOKE_WORKLOAD_KEEP_MS + 1, &f);
	assert_int_equal(f.n_workloads, 1);
	assert_string_equal(f.workloads[0].uid, "job-a");
	fl_proto_frame_free(&f);

	/* cycle 5: a restarts (a new pod runs): Running again, no end */
	node(&m, "n1", 10);
	pod(&m, "a2", "n1", "Running", 1, "Job", "a", "job-a");
	cycle(&t, &m, T0 + 2000000, &f);
	assert_string_equal(find(&f, "job-a")->status, "Running");
	assert_int_equal(find(&f, "job-a")->ended_ms, 0);
	assert_int_equal(find(&f, "job-a")->created_ms, T0 - 1000);
	fl_proto_frame_free(&f);
	spoke_workloads_free(&t);
}

static void test_utilization_from_pod_labelled_gpus_else_the_node_weighted_by_gpus(void **state)
{
	(void)state;
	spoke_model m = {0};
	spoke_workloads t = {0};
	fl_proto_frame f;
	spoke_pod_gpu *pg;
	node(&m, "n1", 40);
	node(&m, "n2", -1);                                     /* no figure */
	pod(&m, "p1", "n1", "Running", 3, "Job", "j", "job-1"); /* node figure: 40 */
	pod(&m, "p2", "n1", "Running", 1, "Job", "j", "job-1"); /* labelled GPUs: (90 + 70) / 2 = 80 */
	pod(&m, "p3", "n2", "Running", 4, "Job", "j", "job-1"); /* nothing known: left out */
	pod(&m, "p4", "n1", "Pending", 4, "Job", "j", "job-1"); /* not running: left out */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(spoke_model_add_pod_gpu(&m, &pg), FL_OK);
		snprintf(pg->ns, sizeof(pg->ns), "team");
		snprintf(pg->pod, sizeof(pg->pod), "pod-p2");
		pg->utilization = i == 0 ? 90 : 70;
	}
	cycle(&t, &m, T0, &f);
	const fl_proto_workload *w = find(&f, "job-1");
	assert_true(w->has_utilization);
	assert_float_equal(w->utilization, (3 * 40.0 + 1 * 80.0) / 4, 1e-9);
	assert_int_equal(w->gpu_request, 12);
	assert_int_equal(w->pods, 4);
	for (uint32_t i = 0; i < f.n_pods; i++) {
		if (strcmp(f.pods[i].uid, "p2") == 0) {
			assert_float_equal(f.pods[i].utilization, 80, 1e-9);
		}
		if (strcmp(f.pods[i].uid, "p3") == 0 || strcmp(f.pods[i].uid, "p4") == 0) {
			assert_false(f.pods[i].has_utilization);
		}
	}
	fl_proto_frame_free(&f);
	spoke_workloads_free(&t);
}

/* A workload's safe_workload_id is its pods' SaFE label: the first non-empty one by pod uid; workloads
 * without it have none; a workload whose pods vanished (Deleted) keeps the one it had. */
static void test_safe_workload_id_comes_from_the_pods_label(void **state)
{
	(void)state;
	spoke_model m = {0};
	spoke_workloads t = {0};
	fl_proto_frame f;
	node(&m, "n1", 40);
	spoke_pod *p = pod(&m, "p2", "n1", "Running", 2, "PyTorchJob", "llm-a", "pt-1");
	snprintf(p->safe_workload_id, sizeof(p->safe_workload_id), "llm-a");
	pod(&m, "p1", "n1", "Running", 2, "PyTorchJob", "llm-a", "pt-1"); /* first by uid, but unlabelled */
	p = pod(&m, "p3", "n1", "Running", 1, "PyTorchJob", "llm-a", "pt-1");
	snprintf(p->safe_workload_id, sizeof(p->safe_workload_id), "other");
	pod(&m, "q1", "n1", "Running", 1, "ReplicaSet", "web-7d4", "rs-1"); /* not SaFE's */
	p = pod(&m, "r1", "", "Pending", 1, "Job", "queued", "job-1");
	snprintf(p->safe_workload_id, sizeof(p->safe_workload_id), "queued");
	cycle(&t, &m, T0, &f);
	assert_int_equal(f.n_workloads, 3);
	assert_string_equal(find(&f, "pt-1")->safe_workload_id, "llm-a");
	assert_string_equal(find(&f, "rs-1")->safe_workload_id, "");
	assert_string_equal(find(&f, "job-1")->safe_workload_id, "queued");
	fl_proto_frame_free(&f);

	/* the pods of job-1 vanish: Deleted, and still SaFE's "queued" */
	node(&m, "n1", 40);
	pod(&m, "p1", "n1", "Running", 2, "PyTorchJob", "llm-a", "pt-1");
	cycle(&t, &m, T0 + 60000, &f);
	assert_string_equal(find(&f, "job-1")->status, "Deleted");
	assert_string_equal(find(&f, "job-1")->safe_workload_id, "queued");
	/* pt-1's only pod left is unlabelled: it keeps the id it had */
	assert_string_equal(find(&f, "pt-1")->safe_workload_id, "llm-a");
	fl_proto_frame_free(&f);
	spoke_workloads_free(&t);
}

/* The sim's PyTorchJobs are SaFE workloads: labelled with their own name, which carries a suffix of seed
 * and cluster (SaFE's names are unique across its clusters); no other kind is labelled. */
static void test_sim_labels_its_pytorchjobs_as_safe_workloads(void **state)
{
	(void)state;
	char first[2][FL_SAFE_ID_LEN] = {"", ""};
	for (int c = 0; c < 2; c++) {
		spoke_sim_config cfg;
		spoke_sim_config_default(&cfg);
		cfg.nodes = 12;
		cfg.seed = 7;
		snprintf(cfg.cluster, sizeof(cfg.cluster), "%s", c == 0 ? "alpha" : "beta");
		spoke_model m = {0};
		spoke_workloads t = {0};
		fl_proto_frame f;
		char err[FL_ERR_LEN];
		assert_int_equal(spoke_sim_fill(&cfg, 0, &m, err), FL_OK);
		cycle(&t, &m, T0, &f);
		uint32_t safe = 0;
		for (uint32_t i = 0; i < f.n_workloads; i++) {
			const fl_proto_workload *w = &f.workloads[i];
			if (strcmp(w->kind, "PyTorchJob") != 0) {
				assert_string_equal(w->safe_workload_id, "");
				continue;
			}
			assert_string_equal(w->safe_workload_id, w->name);
			if (safe++ == 0) {
				snprintf(first[c], sizeof(first[c]), "%s", w->safe_workload_id);
			}
		}
		assert_true(safe >= 2);
		fl_proto_frame_free(&f);
		spoke_workloads_free(&t);
	}
	assert_string_not_equal(first[0], first[1]); /* the same seed in two clusters: other ids */
	assert_int_equal(strncmp(first[0], "pt-", 3) == 0 || strncmp(first[0], "queued-", 7) == 0, 1);
}

int main(void)
{
	spoke_overview_rules_default(&rules);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pods_resolve_through_replicasets_and_jobs_to_the_top),
	    cmocka_unit_test(test_status_follows_the_pods_and_ended_workloads_are_kept_15_minutes),
	    cmocka_unit_test(test_utilization_from_pod_labelled_gpus_else_the_node_weighted_by_gpus),
	    cmocka_unit_test(test_safe_workload_id_comes_from_the_pods_label),
	    cmocka_unit_test(test_sim_labels_its_pytorchjobs_as_safe_workloads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
