/* Unit tests for hub/hub_params: every query parameter reader, table-driven over good and hostile
 * values (quotes, %00, too long, not UTF-8, out of range); a refusal names the parameter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hub_params.h"

/* err must name the parameter. */
static void expect_named(int rv, const char *msg, const char *param)
{
	char want[64];
	snprintf(want, sizeof(want), "parameter '%s'", param);
	assert_int_equal(rv, FL_EINVAL);
	if (strstr(msg, want) == NULL)
		fail_msg("'%s' does not name %s", msg, want);
}

static void test_utf8(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		bool ok;
	} cases[] = {{"", true},
	             {"plain", true},
	             {"caf\xc3\xa9", true},
	             {"\xe2\x82\xac", true},
	             {"\xf0\x9f\x9a\x80", true},
	             {"\xff", false},
	             {"\xc3\x28", false},
	             {"\xc0\xaf", false},
	             {"\xe0\x80\xaf", false},
	             {"\xed\xa0\x80", false},
	             {"\xf4\x90\x80\x80", false},
	             {"\xe2\x82", false}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (hub_params_utf8(cases[i].s) != cases[i].ok)
			fail_msg("case %zu: expected %d", i, cases[i].ok);
}

static void test_int_bounds_and_defaults(void **state)
{
	(void)state;
	char msg[FL_ERR_LEN];
	int64_t x;
	assert_int_equal(hub_params_int(NULL, "page_size", 10, 1, 1000, &x, msg), FL_OK);
	assert_int_equal(x, 10);
	assert_int_equal(hub_params_int("page_size=", "page_size", 10, 1, 1000, &x, msg), FL_OK);
	assert_int_equal(x, 10); /* empty counts as absent */
	assert_int_equal(hub_params_int("a=1&page_size=1000", "page_size", 10, 1, 1000, &x, msg), FL_OK);
	assert_int_equal(x, 1000);
	const char *bad[] = {"page_size=1001",          "page_size=0",   "page_size=-1",
	                     "page_size=1e3",           "page_size=+5",  "page_size=5x",
	                     "page_size=9999999999999", "page_size=%00", "page_size=1%200"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_named(hub_params_int(bad[i], "page_size", 10, 1, 1000, &x, msg), msg, "page_size");
}

static void test_bool(void **state)
{
	(void)state;
	char msg[FL_ERR_LEN];
	bool b;
	assert_int_equal(hub_params_bool("desc=true", "desc", false, &b, msg), FL_OK);
	assert_true(b);
	assert_int_equal(hub_params_bool("desc=false", "desc", true, &b, msg), FL_OK);
	assert_false(b);
	assert_int_equal(hub_params_bool("x=1", "desc", true, &b, msg), FL_OK);
	assert_true(b);
	expect_named(hub_params_bool("desc=1", "desc", false, &b, msg), msg, "desc");
	expect_named(hub_params_bool("desc=TRUE", "desc", false, &b, msg), msg, "desc");
}

static void test_names_refuse_hostile_values(void **state)
{
	(void)state;
	char msg[FL_ERR_LEN], out[FL_CLUSTER_LEN];
	assert_int_equal(hub_params_name("cluster=us-east_1.a", "cluster", out, sizeof(out), msg), FL_OK);
	assert_string_equal(out, "us-east_1.a");
	assert_int_equal(hub_params_name("other=x", "cluster", out, sizeof(out), msg), FL_OK);
	assert_string_equal(out, "");
	char longq[400] = "cluster=";
	memset(longq + 8, 'a', 300);
	longq[308] = '\0';
	const char *bad[] = {"cluster=%27%3B%20DROP%20TABLE%20node%3B--",
	                     "cluster=a%00b",
	                     "cluster=%FF",
	                     "cluster=a+b",
	                     "cluster=a/b",
	                     "cluster=%22x%22",
	                     "cluster=a234567890123456789012345678901234567890123456789012345678901234",
	                     longq};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_named(hub_params_name(bad[i], "cluster", out, sizeof(out), msg), msg, "cluster");
}

static void test_text_allows_products_refuses_markup(void **state)
{
	(void)state;
	char msg[FL_ERR_LEN], out[FL_MODEL_LEN];
	assert_int_equal(hub_params_text("gpu_name=AMD+Instinct+MI300X", "gpu_name", out, msg), FL_OK);
	assert_string_equal(out, "AMD Instinct MI300X");
	assert_int_equal(hub_params_text("gpu_name=NVIDIA%20H100%20(80GB)", "gpu_name", out, msg), FL_OK);
	assert_string_equal(out, "NVIDIA H100 (80GB)");
	const char *bad[] = {"gpu_name=%22", "gpu_name=%27", "gpu_name=%3Cscript%3E", "gpu_name=a%5Cb",
	                     "gpu_name=%0A", "gpu_name=%00", "gpu_name=%C3%28"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_named(hub_params_text(bad[i], "gpu_name", out, msg), msg, "gpu_name");
}

static void test_statuses_comma_list(void **state)
{
	(void)state;
	char msg[FL_ERR_LEN], buf[HUB_PARAM_MAX + 1];
	const char *items[HUB_QUERY_MAX_STATUSES];
	size_t n;
	assert_int_equal(hub_params_statuses("status=Ready,NotReady,Unknown", buf, items, &n, msg), FL_OK);
	assert_int_equal(n, 3);
	assert_string_equal(items[0], "Ready");
	assert_string_equal(items[2], "Unknown");
	assert_int_equal(hub_params_statuses(NULL, buf, items, &n, msg), FL_OK);
	assert_int_equal(n, 0);
	const char *bad[] = {"status=Ready,", "status=,Ready", "status=Ready;x", "status=Ready%20",
	                     "status=a,b,c,d,e,f,g,h,i"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_named(hub_params_statuses(bad[i], buf, items, &n, msg), msg, "status");
}

static void test_order_by(void **state)
{
	(void)state;
	char msg[FL_ERR_LEN];
	hub_node_order o;
	assert_int_equal(hub_params_order(NULL, &o, msg), FL_OK);
	assert_int_equal(o, HUB_ORDER_CLUSTER_NAME);
	assert_int_equal(hub_params_order("order_by=gpu_utilization", &o, msg), FL_OK);
	assert_int_equal(o, HUB_ORDER_GPU_UTILIZATION);
	assert_int_equal(hub_params_order("order_by=status", &o, msg), FL_OK);
	assert_int_equal(o, HUB_ORDER_STATUS);
	expect_named(hub_params_order("order_by=ip", &o, msg), msg, "order_by");
	expect_named(hub_params_order("order_by=name;drop", &o, msg), msg, "order_by");
}

static void test_labels_repeat(void **state)
{
	(void)state;
	char msg[FL_ERR_LEN];
	hub_label l[HUB_PARAM_MAX_LABELS];
	size_t n;
	assert_int_equal(hub_params_labels("label=region=us-east&x=1&label=tier=prod", l, &n, msg), FL_OK);
	assert_int_equal(n, 2);
	assert_string_equal(l[0].key, "region");
	assert_string_equal(l[0].value, "us-east");
	assert_string_equal(l[1].key, "tier");
	assert_int_equal(hub_params_labels("label=&label=k8s.io/role=", l, &n, msg), FL_OK);
	assert_int_equal(n, 1);
	assert_string_equal(l[0].key, "k8s.io/role");
	assert_string_equal(l[0].value, "");
	const char *bad[] = {
	    "label=region",
	    "label==x",
	    "label=a=b=c",
	    "label=a=%27",
	    "label=a%00=b",
	    "label=a=1&label=b=1&label=c=1&label=d=1&label=e=1&label=f=1&label=g=1&label=h=1&label=i=1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_named(hub_params_labels(bad[i], l, &n, msg), msg, "label");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_utf8),
	    cmocka_unit_test(test_int_bounds_and_defaults),
	    cmocka_unit_test(test_bool),
	    cmocka_unit_test(test_names_refuse_hostile_values),
	    cmocka_unit_test(test_text_allows_products_refuses_markup),
	    cmocka_unit_test(test_statuses_comma_list),
	    cmocka_unit_test(test_order_by),
	    cmocka_unit_test(test_labels_repeat),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
