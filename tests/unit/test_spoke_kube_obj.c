/* test_spoke_kube_obj.c — real-shaped Node and Pod JSON into model items: the facts kept, GPU
 * resources only, init containers, deletionTimestamp, unbound pods, malformed objects refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "spoke_kube_model.h"
#include "spoke_kube_obj.h"

static const char *NODE_JSON =
    "{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"gpu-a-01\",\"resourceVersion\":\"42\","
    "\"labels\":{\"kubernetes.io/hostname\":\"gpu-a-01\",\"amd.com/gpu.product-name\":\"AMD_Instinct_MI300X\"}},"
    "\"spec\":{\"unschedulable\":true,\"taints\":[{\"key\":\"amd.com/gpu\",\"value\":\"present\",\"effect\":"
    "\"NoSchedule\"},{\"key\":\"node.kubernetes.io/unschedulable\",\"effect\":\"NoSchedule\"}]},"
    "\"status\":{\"capacity\":{\"cpu\":\"192\",\"memory\":\"2113645Mi\",\"amd.com/gpu\":\"8\",\"pods\":\"110\"},"
    "\"allocatable\":{\"cpu\":\"191500m\",\"memory\":\"2113000Mi\",\"amd.com/gpu\":\"7\"},"
    "\"conditions\":[{\"type\":\"MemoryPressure\",\"status\":\"False\"},{\"type\":\"Ready\",\"status\":\"False\"}],"
    "\"addresses\":[{\"type\":\"Hostname\",\"address\":\"gpu-a-01\"},{\"type\":\"InternalIP\",\"address\":"
    "\"10.0.0.11\"}],\"nodeInfo\":{\"kubeletVersion\":\"v1.29.4\",\"osImage\":\"Ubuntu 22.04.4 LTS\","
    "\"kernelVersion\":\"5.15.0-105-generic\",\"containerRuntimeVersion\":\"containerd://1.7.13\"}}}";

static const char *POD_JSON =
    "{\"metadata\":{\"uid\":\"u-1\",\"namespace\":\"train\",\"name\":\"job-0\",\"deletionTimestamp\":"
    "\"2026-01-01T00:00:00Z\"},\"spec\":{\"nodeName\":\"gpu-a-01\",\"initContainers\":[{\"name\":\"warm\","
    "\"resources\":{\"requests\":{\"amd.com/gpu\":\"4\"}}}],\"containers\":[{\"name\":\"main\",\"resources\":"
    "{\"requests\":{\"amd.com/gpu\":\"2\",\"cpu\":\"4\"}}},{\"name\":\"side\"}]},\"status\":{\"phase\":\"Running\"}}";

static void test_kube_node_facts(void **state)
{
	(void)state;
	spoke_overview_rules rules;
	spoke_overview_rules_default(&rules);
	json_t *j = json_loads(NODE_JSON, 0, NULL);
	assert_non_null(j);
	spoke_node n;
	char err[FL_ERR_LEN];
	assert_int_equal(spoke_kube_node_from_json(j, &rules, &n, err), FL_OK);
	assert_string_equal(n.name, "gpu-a-01");
	assert_string_equal(n.internal_ip, "10.0.0.11");
	assert_string_equal(n.gpu_product, "AMD_Instinct_MI300X");
	assert_string_equal(n.ready, "False");
	assert_true(n.unschedulable);
	assert_int_equal(n.n_taints, 2);
	assert_string_equal(n.taints[0].key, "amd.com/gpu");
	assert_string_equal(n.taints[1].effect, "NoSchedule");
	assert_int_equal(spoke_resources_get(&n.capacity, "amd.com/gpu"), 8);
	assert_int_equal(spoke_resources_get(&n.allocatable, "amd.com/gpu"), 7);
	assert_int_equal(spoke_resources_get(&n.capacity, "pods"), 0); /* not a GPU resource: not kept */
	assert_int_equal(n.cpu_capacity_millis, 192000);
	assert_int_equal(n.cpu_allocatable_millis, 191500);
	assert_int_equal(n.memory_capacity_bytes, 2113645ll << 20);
	assert_string_equal(n.kubelet_version, "v1.29.4");
	assert_string_equal(n.container_runtime, "containerd://1.7.13");
	spoke_node c;
	assert_int_equal(spoke_kube_node_copy(&c, &n), FL_OK);
	spoke_kube_node_clear(&n);
	assert_string_equal(c.taints[1].key, "node.kubernetes.io/unschedulable");
	assert_int_equal(spoke_resources_get(&c.allocatable, "amd.com/gpu"), 7);
	spoke_kube_node_clear(&c);
	json_decref(j);
}

static void test_kube_node_without_ready_condition_is_unknown(void **state)
{
	(void)state;
	spoke_overview_rules rules;
	spoke_overview_rules_default(&rules);
	json_t *j = json_loads("{\"metadata\":{\"name\":\"n\"},\"status\":{}}", 0, NULL);
	spoke_node n;
	char err[FL_ERR_LEN];
	assert_int_equal(spoke_kube_node_from_json(j, &rules, &n, err), FL_OK);
	assert_string_equal(n.ready, "Unknown");
	spoke_kube_node_clear(&n);
	json_decref(j);
}

static void test_kube_pod_requests_and_init_containers(void **state)
{
	(void)state;
	spoke_overview_rules rules;
	spoke_overview_rules_default(&rules);
	json_t *j = json_loads(POD_JSON, 0, NULL);
	spoke_pod p;
	char err[FL_ERR_LEN];
	assert_int_equal(spoke_kube_pod_from_json(j, &rules, &p, err), FL_OK);
	assert_string_equal(p.uid, "u-1");
	assert_string_equal(p.ns, "train");
	assert_string_equal(p.node_name, "gpu-a-01");
	assert_string_equal(p.phase, "Running");
	assert_true(p.terminating);
	assert_int_equal(p.n_containers, 2);
	assert_int_equal(p.n_init_containers, 1);
	assert_int_equal(spoke_resources_get(&p.containers[0].requests, "amd.com/gpu"), 2);
	assert_int_equal(spoke_resources_get(&p.init_containers[0].requests, "amd.com/gpu"), 4);
	assert_int_equal(spoke_overview_pod_hold(&p, &rules), 4); /* max(sum 2, max init 4) */
	spoke_pod c;
	assert_int_equal(spoke_kube_pod_copy(&c, &p), FL_OK);
	spoke_kube_pod_clear(&p);
	assert_int_equal(spoke_overview_pod_hold(&c, &rules), 4);
	spoke_kube_pod_clear(&c);
	json_decref(j);
}

static void test_kube_malformed_objects_refused(void **state)
{
	(void)state;
	spoke_overview_rules rules;
	spoke_overview_rules_default(&rules);
	static const char *const bad_nodes[] = {
	    "[]",
	    "{\"metadata\":{}}",
	    "{\"metadata\":{\"name\":5}}",
	    "{\"metadata\":{\"name\":\"n\"},\"status\":{\"allocatable\":{\"nvidia.com/gpu\":\"eight\"}}}",
	    "{\"metadata\":{\"name\":\"n\"},\"status\":{\"allocatable\":{\"nvidia.com/gpu\":8}}}",
	    "{\"metadata\":{\"name\":\"n\"},\"spec\":{\"taints\":{}}}",
	    "{\"metadata\":{\"name\":\"n\"},\"spec\":{\"taints\":[{\"effect\":\"NoSchedule\"}]}}",
	    NULL};
	char err[FL_ERR_LEN];
	for (const char *const *b = bad_nodes; *b != NULL; b++) {
		json_t *j = json_loads(*b, 0, NULL);
		spoke_node n;
		err[0] = '\0';
		if (spoke_kube_node_from_json(j, &rules, &n, err) == FL_OK) {
			fail_msg("accepted %s", *b);
		}
		assert_true(err[0] != '\0');
		json_decref(j);
	}
	static const char *const bad_pods[] = {
	    "{\"metadata\":{\"name\":\"p\"}}",
	    "{\"metadata\":{\"uid\":\"u\",\"name\":\"p\"},\"spec\":{\"containers\":{}}}",
	    "{\"metadata\":{\"uid\":\"u\",\"name\":\"p\"},\"spec\":{\"containers\":[{\"resources\":{\"requests\":"
	    "{\"nvidia.com/gpu\":\"1Q\"}}}]}}",
	    NULL};
	for (const char *const *b = bad_pods; *b != NULL; b++) {
		json_t *j = json_loads(*b, 0, NULL);
		spoke_pod p;
		if (spoke_kube_pod_from_json(j, &rules, &p, err) == FL_OK) {
			fail_msg("accepted %s", *b);
		}
		json_decref(j);
	}
	/* a name longer than the field is refused, not cut */
	char big[600];
	snprintf(big, sizeof(big), "{\"metadata\":{\"name\":\"%0300d\"}}", 1);
	json_t *j = json_loads(big, 0, NULL);
	spoke_node n;
	assert_int_equal(spoke_kube_node_from_json(j, &rules, &n, err), FL_ELIMIT);
	json_decref(j);
}

static void test_kube_owner_references_and_creation_time(void **state)
{
	(void)state;
	spoke_overview_rules rules;
	spoke_overview_rules_default(&rules);
	char err[FL_ERR_LEN];
	json_t *j = json_loads("{\"metadata\":{\"uid\":\"u1\",\"name\":\"p\",\"namespace\":\"ns\","
	                       "\"creationTimestamp\":\"2026-11-20T09:00:00Z\",\"ownerReferences\":["
	                       "{\"kind\":\"ConfigMap\",\"name\":\"c\",\"uid\":\"c1\",\"apiVersion\":\"v1\"},"
	                       "{\"kind\":\"ReplicaSet\",\"name\":\"web-1\",\"uid\":\"rs1\",\"apiVersion\":\"apps/v1\","
	                       "\"controller\":true}]},\"spec\":{\"containers\":[]},\"status\":{\"phase\":\"Running\"}}",
	                       0, NULL);
	assert_non_null(j);
	spoke_pod p;
	assert_int_equal(spoke_kube_pod_from_json(j, &rules, &p, err), FL_OK);
	assert_string_equal(p.owner.kind, "ReplicaSet"); /* the controller, not the first reference */
	assert_string_equal(p.owner.uid, "rs1");
	assert_string_equal(p.owner.api_version, "apps/v1");
	assert_int_equal(p.created_ms, 1795165200000LL);
	spoke_kube_pod_clear(&p);
	json_decref(j);

	spoke_owner_link l;
	j = json_loads("{\"metadata\":{\"uid\":\"rs1\",\"ownerReferences\":[{\"kind\":\"Deployment\",\"name\":\"web\","
	               "\"uid\":\"d1\",\"controller\":true}]}}",
	               0, NULL);
	assert_int_equal(spoke_kube_link_from_json(j, &l, err), FL_OK);
	assert_string_equal(l.uid, "rs1");
	assert_string_equal(l.owner.kind, "Deployment");
	assert_string_equal(l.owner.name, "web");
	json_decref(j);
	j = json_loads("{\"metadata\":{\"uid\":\"rs2\",\"ownerReferences\":{}}}", 0, NULL);
	assert_int_equal(spoke_kube_link_from_json(j, &l, err), FL_EINVAL);
	json_decref(j);

	assert_int_equal(spoke_kube_time_ms("2026-11-20T09:00:00.250Z"), 1795165200250LL);
	assert_int_equal(spoke_kube_time_ms("2026-11-20T10:30:00+01:30"), 1795165200000LL);
	assert_int_equal(spoke_kube_time_ms("1970-01-01T00:00:00Z"), 0);
	assert_int_equal(spoke_kube_time_ms("2026-13-20T09:00:00Z"), 0);
	assert_int_equal(spoke_kube_time_ms("yesterday"), 0);
	assert_int_equal(spoke_kube_time_ms(NULL), 0);
}

/* Parses a pod whose labels object is the JSON text labels; returns the rv, p filled on FL_OK. */
static int pod_with_labels(const char *labels, spoke_pod *p)
{
	spoke_overview_rules rules;
	spoke_overview_rules_default(&rules);
	char err[FL_ERR_LEN], text[512];
	snprintf(text, sizeof(text),
	         "{\"metadata\":{\"uid\":\"u1\",\"name\":\"p\",\"namespace\":\"ws\",\"labels\":%s},"
	         "\"spec\":{\"containers\":[]},\"status\":{\"phase\":\"Running\"}}",
	         labels);
	json_t *j = json_loads(text, 0, NULL);
	assert_non_null(j);
	int rv = spoke_kube_pod_from_json(j, &rules, p, err);
	json_decref(j);
	return rv;
}

/* The pod's primus-safe.workload.id label is kept when it is a valid label value; otherwise it is
 * dropped and flagged, and the pod is still accepted (it holds GPUs whatever its labels say). */
static void test_kube_pod_safe_workload_label(void **state)
{
	(void)state;
	spoke_pod p;
	assert_int_equal(pod_with_labels("{\"primus-safe.workload.id\":\"llm-7b.run_2\",\"app\":\"x\"}", &p), FL_OK);
	assert_string_equal(p.safe_workload_id, "llm-7b.run_2");
	assert_false(p.safe_label_invalid);
	spoke_pod c;
	assert_int_equal(spoke_kube_pod_copy(&c, &p), FL_OK);
	assert_string_equal(c.safe_workload_id, "llm-7b.run_2");
	spoke_kube_pod_clear(&c);
	spoke_kube_pod_clear(&p);

	/* absent, null or empty: no SaFE workload, nothing wrong */
	static const char *const none[] = {"{}", "null", "{\"primus-safe.workload.id\":null}",
	                                   "{\"primus-safe.workload.id\":\"\"}",
	                                   "{\"primus-safe.workload.idx\":\"a\"}"};
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
		assert_int_equal(pod_with_labels(none[i], &p), FL_OK);
		assert_string_equal(p.safe_workload_id, "");
		assert_false(p.safe_label_invalid);
		spoke_kube_pod_clear(&p);
	}

	/* 63 characters fit; 64 (too long for a label value and for SaFE's column), a bad character, a
	 * non-alphanumeric end or a non-string are dropped and flagged */
	char label[160], v63[64], v64[65];
	memset(v63, 'a', 63);
	v63[63] = '\0';
	memset(v64, 'a', 64);
	v64[64] = '\0';
	snprintf(label, sizeof(label), "{\"primus-safe.workload.id\":\"%s\"}", v63);
	assert_int_equal(pod_with_labels(label, &p), FL_OK);
	assert_string_equal(p.safe_workload_id, v63);
	spoke_kube_pod_clear(&p);
	snprintf(label, sizeof(label), "{\"primus-safe.workload.id\":\"%s\"}", v64);
	const char *bad[] = {label,
	                     "{\"primus-safe.workload.id\":\"a b\"}",
	                     "{\"primus-safe.workload.id\":\"-ab\"}",
	                     "{\"primus-safe.workload.id\":\"ab.\"}",
	                     "{\"primus-safe.workload.id\":7}",
	                     "{\"primus-safe.workload.id\":\"x'; DROP TABLE t;--\"}"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(pod_with_labels(bad[i], &p), FL_OK);
		assert_string_equal(p.safe_workload_id, "");
		if (!p.safe_label_invalid) {
			fail_msg("labels %s: not flagged", bad[i]);
		}
		assert_string_equal(p.name, "p"); /* the rest of the pod is there */
		spoke_kube_pod_clear(&p);
	}
	assert_true(spoke_kube_label_value_valid("a"));
	assert_true(spoke_kube_label_value_valid("A-1_b.2"));
	assert_false(spoke_kube_label_value_valid(""));
	assert_false(spoke_kube_label_value_valid("_a"));
}

/* The live model's hash index finds what a linear scan found and keeps the arrays in the same order
 * (appends, and the last item moved into a removed one's place), through random puts and deletes of
 * nodes and owner links, a relist in between. */
static void test_kube_model_index_keeps_scan_order(void **state)
{
	(void)state;
	enum { KEYS = 300, OPS = 20000 };
	spoke_overview_rules rules;
	memset(&rules, 0, sizeof(rules));
	spoke_kube_model m;
	memset(&m, 0, sizeof(m));
	static char ref[KEYS][FL_UID_LEN]; /* the reference: names in array order, swap-remove */
	static uint32_t ref_owner[KEYS];
	uint32_t n_ref = 0;
	static char lref[KEYS][FL_UID_LEN];
	uint32_t n_lref = 0;
	uint64_t x = 88172645463325252ull;
	for (int op = 0; op < OPS; op++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		char key[32];
		snprintf(key, sizeof(key), "n-%u", (unsigned)(x % KEYS));
		bool del = (x >> 20) % 3 == 0;
		uint32_t at = UINT32_MAX;
		for (uint32_t i = 0; i < n_ref; i++) {
			if (strcmp(ref[i], key) == 0) {
				at = i;
			}
		}
		if (op == OPS / 2) { /* a relist: the listing's order becomes the model's */
			spoke_kube_listing l;
			memset(&l, 0, sizeof(l));
			for (uint32_t i = 0; i < n_ref; i++) {
				assert_int_equal(spoke_kube_grow((void **)&l.nodes, l.n, &l.cap, sizeof(*l.nodes)), FL_OK);
				memset(&l.nodes[l.n], 0, sizeof(*l.nodes));
				snprintf(l.nodes[l.n].name, sizeof(l.nodes[l.n].name), "%s", ref[n_ref - 1 - i]);
				l.n++;
			}
			for (uint32_t i = 0; i < n_ref / 2; i++) {
				char t[FL_UID_LEN];
				memcpy(t, ref[i], sizeof(t));
				memcpy(ref[i], ref[n_ref - 1 - i], sizeof(t));
				memcpy(ref[n_ref - 1 - i], t, sizeof(t));
			}
			assert_int_equal(spoke_kube_model_replace_nodes(&m, &l), FL_OK);
		}
		if (del) {
			assert_int_equal(spoke_kube_model_del_node(&m, key), at != UINT32_MAX);
			if (at != UINT32_MAX) {
				memcpy(ref[at], ref[--n_ref], sizeof(ref[at]));
			}
		} else {
			spoke_node n;
			memset(&n, 0, sizeof(n));
			snprintf(n.name, sizeof(n.name), "%s", key);
			bool urgent = false;
			assert_int_equal(spoke_kube_model_put_node(&m, &rules, &n, &urgent), FL_OK);
			assert_int_equal(urgent, at == UINT32_MAX);
			if (at == UINT32_MAX) {
				snprintf(ref[n_ref++], FL_UID_LEN, "%s", key);
			}
		}
		assert_int_equal(m.n_nodes, n_ref);
		for (uint32_t i = 0; i < n_ref; i++) {
			assert_string_equal(m.nodes[i].name, ref[i]);
		}
		/* owner links of ReplicaSets: put with an owner adds or replaces, without one removes */
		spoke_owner_link l;
		memset(&l, 0, sizeof(l));
		snprintf(l.uid, sizeof(l.uid), "rs-%u", (unsigned)((x >> 32) % KEYS));
		if (!del) {
			snprintf(l.owner.uid, sizeof(l.owner.uid), "d-%d", op);
		}
		at = UINT32_MAX;
		for (uint32_t i = 0; i < n_lref; i++) {
			if (strcmp(lref[i], l.uid) == 0) {
				at = i;
			}
		}
		assert_int_equal(spoke_kube_model_put_link(&m, 0, &l), FL_OK);
		if (del && at != UINT32_MAX) {
			memcpy(lref[at], lref[--n_lref], sizeof(lref[at]));
			ref_owner[at] = ref_owner[n_lref];
		} else if (!del && at == UINT32_MAX) {
			memcpy(lref[n_lref], l.uid, sizeof(l.uid));
			ref_owner[n_lref++] = (uint32_t)op;
		} else if (!del) {
			ref_owner[at] = (uint32_t)op;
		}
		assert_int_equal(m.n_links[0], n_lref);
		for (uint32_t i = 0; i < n_lref; i++) {
			char want[32];
			snprintf(want, sizeof(want), "d-%u", ref_owner[i]);
			assert_string_equal(m.links[0][i].uid, lref[i]);
			assert_string_equal(m.links[0][i].owner.uid, want);
		}
	}
	spoke_kube_model_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kube_node_facts),
	    cmocka_unit_test(test_kube_node_without_ready_condition_is_unknown),
	    cmocka_unit_test(test_kube_pod_requests_and_init_containers),
	    cmocka_unit_test(test_kube_malformed_objects_refused),
	    cmocka_unit_test(test_kube_owner_references_and_creation_time),
	    cmocka_unit_test(test_kube_pod_safe_workload_label),
	    cmocka_unit_test(test_kube_model_index_keeps_scan_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
