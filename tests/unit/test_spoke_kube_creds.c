/* test_spoke_kube_creds.c — kubeconfig current-context resolution, *-data decoding, relative paths,
 * in-cluster credentials from an overridden service-account folder, token rotation, clear errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "spoke_kube_creds.h"
#include "fl_test_tmp.h"

static char dir[256];

static int setup(void **state)
{
	(void)state;
	return fl_test_tmp_make(dir, sizeof(dir), "fl_kube_creds");
}

static int teardown(void **state)
{
	(void)state;
	return fl_test_tmp_remove(dir);
}

static const char *write_file(const char *name, const char *text)
{
	static char path[2][512];
	static int which;
	char *p = path[which++ % 2];
	snprintf(p, 512, "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return p;
}

static void test_kubeconfig_current_context(void **state)
{
	(void)state;
	write_file("tok", "rotating-1\n");
	/* "LS0tLS1CRUdJTg==" is base64 of "-----BEGIN" */
	const char *kc =
	    write_file("kubeconfig", "apiVersion: v1\nkind: Config\ncurrent-context: prod\n"
	                             "clusters:\n"
	                             "- name: dev\n  cluster: {server: https://dev:6443}\n"
	                             "- name: prod\n  cluster:\n    server: https://prod.example:6443/\n"
	                             "    certificate-authority-data: LS0tLS1CRUdJTg==\n"
	                             "contexts:\n- name: dev\n  context: {cluster: dev, user: dev}\n"
	                             "- name: prod\n  context: {cluster: prod, user: ops}\n"
	                             "users:\n- name: dev\n  user: {token: devtoken}\n"
	                             "- name: ops\n  user:\n    tokenFile: tok\n    client-certificate: certs/c.pem\n");
	spoke_kube_creds c;
	char err[FL_ERR_LEN] = "";
	if (spoke_kube_creds_load(kc, NULL, &c, err) != FL_OK) {
		fail_msg("load: %s", err);
	}
	assert_string_equal(c.server, "https://prod.example:6443");
	assert_int_equal(c.ca_pem_len, 10);
	assert_memory_equal(c.ca_pem, "-----BEGIN", 10);
	char want[600];
	snprintf(want, sizeof(want), "%s/certs/c.pem", dir);
	assert_string_equal(c.cert_file, want);
	char tok[SPOKE_KUBE_TOKEN_MAX];
	assert_int_equal(spoke_kube_creds_token(&c, tok, sizeof(tok), err), FL_OK);
	assert_string_equal(tok, "rotating-1");
	write_file("tok", "rotating-2");
	assert_int_equal(spoke_kube_creds_token(&c, tok, sizeof(tok), err), FL_OK);
	assert_string_equal(tok, "rotating-2"); /* re-read: service-account tokens rotate */
	spoke_kube_creds_free(&c);
}

static void test_kubeconfig_absent_keys_stay_unset(void **state)
{
	(void)state;
	const char *kc =
	    write_file("plain", "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\n"
	                        "clusters:\n- name: c\n  cluster: {server: https://h:6443}\n"
	                        "users:\n- name: u\n  user: {token: literal}\n");
	spoke_kube_creds c;
	char err[FL_ERR_LEN] = "";
	if (spoke_kube_creds_load(kc, NULL, &c, err) != FL_OK) {
		fail_msg("load: %s", err);
	}
	assert_string_equal(c.token_file, "");
	assert_string_equal(c.cert_file, "");
	assert_string_equal(c.key_file, "");
	assert_string_equal(c.ca_file, "");
	assert_null(c.ca_pem);
	char tok[SPOKE_KUBE_TOKEN_MAX];
	assert_int_equal(spoke_kube_creds_token(&c, tok, sizeof(tok), err), FL_OK);
	assert_string_equal(tok, "literal");
	spoke_kube_creds_free(&c);
}

static void test_kubeconfig_errors_name_the_key(void **state)
{
	(void)state;
	static const struct {
		const char *text, *want;
	} cases[] = {
	    {"current-context: x\ncontexts: []\n", "no context named 'x'"},
	    {"current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\nclusters: []\n",
	     "no cluster named 'c'"},
	    {"current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\nclusters:\n- name: c\n  cluster: "
	     "{server: ftp://h}\n",
	     "key 'server'"},
	    {"current-context: x\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\nclusters:\n- name: c\n  "
	     "cluster: {server: https://h}\nusers:\n- name: u\n  user: {exec: {command: aws}}\n",
	     "credential plugins are not supported"},
	    {"current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\nclusters:\n- name: c\n  cluster: "
	     "{server: https://h, certificate-authority-data: '***'}\n",
	     "key 'certificate-authority-data'"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *kc = write_file("bad", cases[i].text);
		spoke_kube_creds c;
		char err[FL_ERR_LEN] = "";
		assert_int_not_equal(spoke_kube_creds_load(kc, NULL, &c, err), FL_OK);
		if (strstr(err, cases[i].want) == NULL) {
			fail_msg("case %zu: '%s' lacks '%s'", i, err, cases[i].want);
		}
	}
}

static void test_in_cluster_from_overridden_folder(void **state)
{
	(void)state;
	write_file("token", "sa-token\n");
	write_file("ca.crt", "PEM");
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	spoke_kube_creds c;
	char err[FL_ERR_LEN] = "";
	if (spoke_kube_creds_load("", dir, &c, err) != FL_OK) {
		fail_msg("load: %s", err);
	}
	assert_string_equal(c.server, "https://10.96.0.1:443");
	char want[600];
	snprintf(want, sizeof(want), "%s/ca.crt", dir);
	assert_string_equal(c.ca_file, want);
	char tok[SPOKE_KUBE_TOKEN_MAX];
	assert_int_equal(spoke_kube_creds_token(&c, tok, sizeof(tok), err), FL_OK);
	assert_string_equal(tok, "sa-token");
	spoke_kube_creds_free(&c);

	unsetenv("KUBERNETES_SERVICE_HOST");
	assert_int_equal(spoke_kube_creds_load("", dir, &c, err), FL_ECONFIG);
	assert_non_null(strstr(err, "KUBERNETES_SERVICE_HOST"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kubeconfig_current_context),
	    cmocka_unit_test(test_kubeconfig_absent_keys_stay_unset),
	    cmocka_unit_test(test_kubeconfig_errors_name_the_key),
	    cmocka_unit_test(test_in_cluster_from_overridden_folder),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
