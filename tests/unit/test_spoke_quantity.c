/* test_spoke_quantity.c — Kubernetes quantity strings, table-driven: every suffix, fractions,
 * exponents, rounding up, and hostile input refused with an error (never a crash or a wrong number). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "spoke_quantity.h"

struct qcase {
	const char *in;
	bool milli;
	int rv;
	int64_t out;
};

static void test_quantity_table(void **state)
{
	(void)state;
	static const struct qcase cases[] = {
	    {"8", false, FL_OK, 8},
	    {"0", false, FL_OK, 0},
	    {"191500m", true, FL_OK, 191500},
	    {"191500m", false, FL_OK, 192}, /* 191.5 cores rounded up, like Value() */
	    {"2", true, FL_OK, 2000},
	    {"0.5", true, FL_OK, 500},
	    {"100m", false, FL_OK, 1},
	    {"2113645Mi", false, FL_OK, 2113645ll << 20},
	    {"1Ti", false, FL_OK, 1ll << 40},
	    {"1Ki", false, FL_OK, 1024},
	    {"1.5Gi", false, FL_OK, 3ll << 29},
	    {"1Ei", false, FL_OK, 1ll << 60},
	    {"1e3", false, FL_OK, 1000},
	    {"1E3", false, FL_OK, 1000},
	    {"1e-3", true, FL_OK, 1},
	    {"12e+2", false, FL_OK, 1200},
	    {"1k", false, FL_OK, 1000},
	    {"64G", false, FL_OK, 64000000000ll},
	    {"1P", false, FL_OK, 1000000000000000ll},
	    {"500u", true, FL_OK, 1},
	    {"1n", false, FL_OK, 1},
	    {"+3", false, FL_OK, 3},
	    {"-3", false, FL_OK, -3},
	    {".5", true, FL_OK, 500},
	    {"000012", false, FL_OK, 12},
	    {"9223372036854775807", false, FL_OK, INT64_MAX},
	    {"", false, FL_EINVAL, 0},
	    {"abc", false, FL_EINVAL, 0},
	    {"1.2.3", false, FL_EINVAL, 0},
	    {"1Xi", false, FL_EINVAL, 0},
	    {"1 Mi", false, FL_EINVAL, 0},
	    {"1e", false, FL_EINVAL, 0},
	    {"1e9999999", false, FL_EINVAL, 0},
	    {"Mi", false, FL_EINVAL, 0},
	    {"9223372036854775808", false, FL_ELIMIT, 0},
	    {"16Ei", false, FL_ELIMIT, 0},
	    {"1e19", false, FL_ELIMIT, 0},
	    {"9223372036854775807", true, FL_ELIMIT, 0},
	    {"1111111111111111111111111111111111111111", false, FL_ELIMIT, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t v = 77;
		char err[FL_ERR_LEN] = "";
		int rv = spoke_quantity_parse(cases[i].in, cases[i].milli, &v, err);
		if (rv != cases[i].rv || v != cases[i].out) {
			fail_msg("'%s' milli=%d: rv %d (want %d) value %lld (want %lld) err '%s'", cases[i].in,
			         cases[i].milli, rv, cases[i].rv, (long long)v, (long long)cases[i].out, err);
		}
		if (rv != FL_OK) {
			assert_true(err[0] != '\0');
		}
	}
}

static void test_quantity_too_long_refused(void **state)
{
	(void)state;
	char big[200];
	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	int64_t v;
	char err[FL_ERR_LEN];
	assert_int_equal(spoke_quantity_parse(big, false, &v, err), FL_ELIMIT);
	assert_non_null(strstr(err, "longer"));
	assert_int_equal(spoke_quantity_parse(NULL, false, &v, err), FL_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_quantity_table),
	    cmocka_unit_test(test_quantity_too_long_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
