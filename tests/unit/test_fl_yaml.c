/* Unit tests for common/: YAML config reading (errors name FILE:LINE:COL and key), durations, log levels. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fl_log.h"
#include "fl_time.h"
#include "fl_yaml.h"
#include "fl_test_tmp.h"

static char tmpdir[64];

static const char *write_fixture(const char *name, const char *text)
{
	static char path[128];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static int setup(void **state)
{
	(void)state;
	return fl_test_tmp_make(tmpdir, sizeof(tmpdir), "fl_yaml_test");
}

static int teardown(void **state)
{
	(void)state;
	return fl_test_tmp_remove(tmpdir);
}

static void test_duration_units(void **state)
{
	(void)state;
	int64_t ms = 0;
	assert_int_equal(fl_parse_duration("30s", &ms), FL_OK);
	assert_int_equal(ms, 30000);
	assert_int_equal(fl_parse_duration("500ms", &ms), FL_OK);
	assert_int_equal(ms, 500);
	assert_int_equal(fl_parse_duration("5m", &ms), FL_OK);
	assert_int_equal(ms, 300000);
	assert_int_equal(fl_parse_duration("2h", &ms), FL_OK);
	assert_int_equal(ms, 7200000);
}

static void test_duration_rejects_missing_unit_sign_and_overflow(void **state)
{
	(void)state;
	int64_t ms = 7;
	assert_int_equal(fl_parse_duration("30", &ms), FL_EINVAL);
	assert_int_equal(fl_parse_duration("-1s", &ms), FL_EINVAL);
	assert_int_equal(fl_parse_duration("1.5s", &ms), FL_EINVAL);
	assert_int_equal(fl_parse_duration("s", &ms), FL_EINVAL);
	assert_int_equal(fl_parse_duration("99999999999999999h", &ms), FL_EINVAL);
	assert_int_equal(fl_parse_duration("3 s", &ms), FL_EINVAL);
	assert_int_equal(ms, 7);
}

static void test_typed_getters_read_values_and_keep_defaults(void **state)
{
	(void)state;
	const char *p = write_fixture("ok.yaml", "name: alpha\ncount: 12\nevery: 45s\non: yes\nlist: [a, b]\n");
	fl_yaml_doc doc;
	char err[FL_ERR_LEN] = "";
	assert_int_equal(fl_yaml_open(&doc, p, err), FL_OK);
	fl_yaml_node root = fl_yaml_root(&doc);
	char name[16] = "";
	int64_t count = 0, every = 0, absent = 99;
	bool on = false;
	assert_int_equal(fl_yaml_get_str(&doc, root, "name", true, name, sizeof(name), err), FL_OK);
	assert_string_equal(name, "alpha");
	assert_int_equal(fl_yaml_get_int(&doc, root, "count", true, 0, 100, &count, err), FL_OK);
	assert_int_equal(count, 12);
	assert_int_equal(fl_yaml_get_duration(&doc, root, "every", false, &every, err), FL_OK);
	assert_int_equal(every, 45000);
	assert_int_equal(fl_yaml_get_bool(&doc, root, "on", false, &on, err), FL_OK);
	assert_true(on);
	assert_int_equal(fl_yaml_get_int(&doc, root, "absent", false, 0, 100, &absent, err), FL_OK);
	assert_int_equal(absent, 99);
	fl_yaml_node list = fl_yaml_get(&doc, root, "list");
	assert_int_equal(fl_yaml_seq_len(&doc, list), 2);
	assert_string_equal(fl_yaml_scalar(&doc, fl_yaml_seq_item(&doc, list, 1)), "b");
	fl_yaml_close(&doc);
}

static void test_errors_name_file_line_column_and_key(void **state)
{
	(void)state;
	const char *p = write_fixture("bad.yaml", "a: 1\nsection:\n  count: lots\n  every: 30\n");
	fl_yaml_doc doc;
	char err[FL_ERR_LEN] = "", want[FL_ERR_LEN];
	assert_int_equal(fl_yaml_open(&doc, p, err), FL_OK);
	fl_yaml_node sec = fl_yaml_get(&doc, fl_yaml_root(&doc), "section");
	int64_t v;
	assert_int_equal(fl_yaml_get_int(&doc, sec, "count", true, 0, 9, &v, err), FL_ECONFIG);
	snprintf(want, sizeof(want), "%s:3:10: key 'count': expected a whole number", p);
	assert_non_null(strstr(err, want));
	assert_int_equal(fl_yaml_get_duration(&doc, sec, "every", true, &v, err), FL_ECONFIG);
	snprintf(want, sizeof(want), "%s:4:10: key 'every': expected a duration", p);
	assert_non_null(strstr(err, want));
	assert_int_equal(fl_yaml_get_str(&doc, sec, "name", true, (char[8]){0}, 8, err), FL_ECONFIG);
	snprintf(want, sizeof(want), "%s:3:3: key 'name': missing", p);
	assert_non_null(strstr(err, want));
	fl_yaml_close(&doc);
}

static void test_unknown_and_repeated_keys_are_errors(void **state)
{
	(void)state;
	static const char *const allowed[] = {"cluster", "interval", NULL};
	const char *p = write_fixture("keys.yaml", "cluster: a\nintreval: 5s\n");
	fl_yaml_doc doc;
	char err[FL_ERR_LEN] = "";
	assert_int_equal(fl_yaml_open(&doc, p, err), FL_OK);
	assert_int_equal(fl_yaml_check_keys(&doc, fl_yaml_root(&doc), allowed, err), FL_ECONFIG);
	assert_non_null(strstr(err, ":2:1: key 'intreval': unknown key"));
	fl_yaml_close(&doc);
	p = write_fixture("twice.yaml", "cluster: a\ncluster: b\n");
	assert_int_equal(fl_yaml_open(&doc, p, err), FL_OK);
	assert_int_equal(fl_yaml_check_keys(&doc, fl_yaml_root(&doc), allowed, err), FL_ECONFIG);
	assert_non_null(strstr(err, ":2:1: key 'cluster': given twice"));
	fl_yaml_close(&doc);
}

static void test_open_reports_syntax_errors_empty_files_and_non_maps(void **state)
{
	(void)state;
	fl_yaml_doc doc;
	char err[FL_ERR_LEN] = "";
	const char *p = write_fixture("syntax.yaml", "a: [1, 2\nb: 3\n");
	assert_int_equal(fl_yaml_open(&doc, p, err), FL_ECONFIG);
	assert_non_null(strstr(err, "syntax.yaml:"));
	p = write_fixture("empty.yaml", "");
	assert_int_equal(fl_yaml_open(&doc, p, err), FL_ECONFIG);
	assert_non_null(strstr(err, "empty"));
	p = write_fixture("list.yaml", "- a\n- b\n");
	assert_int_equal(fl_yaml_open(&doc, p, err), FL_ECONFIG);
	assert_non_null(strstr(err, "list.yaml:1:1: the top level must be a mapping"));
	assert_int_equal(fl_yaml_open(&doc, "/nonexistent/x.yaml", err), FL_EIO);
	assert_non_null(strstr(err, "/nonexistent/x.yaml: cannot open"));
}

static void test_files_over_one_mebibyte_are_refused(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof(path), "%s/big.yaml", tmpdir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < (FL_YAML_MAX_FILE_BYTES / 16) + 1; i++)
		fputs("# padding line.\n", f);
	fclose(f);
	fl_yaml_doc doc;
	char err[FL_ERR_LEN] = "";
	assert_int_equal(fl_yaml_open(&doc, path, err), FL_ECONFIG);
	assert_non_null(strstr(err, "larger than"));
}

static void test_log_level_names(void **state)
{
	(void)state;
	enum fl_log_level l = FL_LOG_ERROR;
	assert_int_equal(fl_log_level_parse("debug", &l), FL_OK);
	assert_int_equal(l, FL_LOG_DEBUG);
	assert_int_equal(fl_log_level_parse("warn", &l), FL_OK);
	assert_int_equal(l, FL_LOG_WARN);
	assert_int_equal(fl_log_level_parse("verbose", &l), FL_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_duration_units),
	    cmocka_unit_test(test_duration_rejects_missing_unit_sign_and_overflow),
	    cmocka_unit_test(test_typed_getters_read_values_and_keep_defaults),
	    cmocka_unit_test(test_errors_name_file_line_column_and_key),
	    cmocka_unit_test(test_unknown_and_repeated_keys_are_errors),
	    cmocka_unit_test(test_open_reports_syntax_errors_empty_files_and_non_maps),
	    cmocka_unit_test(test_files_over_one_mebibyte_are_refused),
	    cmocka_unit_test(test_log_level_names),
	};
	return cmocka_run_group_tests_name("fl_common", tests, setup, teardown);
}
