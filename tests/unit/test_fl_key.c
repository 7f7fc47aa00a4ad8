/* test_fl_key.c — key files: trimming, length bounds, I/O errors, and errors that never show the key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fl_key.h"

static char g_dir[] = "/tmp/test_fl_key.XXXXXX";
static char g_path[sizeof(g_dir) + 32];

static int make_dir(void **state)
{
	(void)state;
	if (mkdtemp(g_dir) == NULL) {
		return -1;
	}
	snprintf(g_path, sizeof(g_path), "%s/key", g_dir);
	return 0;
}

static int remove_dir(void **state)
{
	(void)state;
	unlink(g_path);
	return rmdir(g_dir);
}

/* Writes n bytes of data to the test's key file and returns its path. */
static const char *key_file(const void *data, size_t n)
{
	FILE *f = fopen(g_path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
	return g_path;
}

/* A key of n bytes made of a recognizable secret pattern ("S3cr3t-" repeated), so an error that
 * quotes any of it is caught. */
static void secret(char *buf, size_t n)
{
	static const char pat[] = "S3cr3t-";

	for (size_t i = 0; i < n; i++) {
		buf[i] = pat[i % (sizeof(pat) - 1)];
	}
}

/* Fails if err contains any 6 consecutive bytes of key[0..n). */
static void assert_no_key_material(const char *err, const char *key, size_t n)
{
	char piece[7];

	for (size_t i = 0; i + 6 <= n; i++) {
		memcpy(piece, key + i, 6);
		piece[6] = '\0';
		if (strstr(err, piece) != NULL) {
			fail_msg("error shows key bytes \"%s\": %s", piece, err);
		}
	}
}

static void test_key_file_is_trimmed_of_surrounding_whitespace(void **state)
{
	static const char text[] = " \t\n0123456789abcdef 0123456789abcdef\r\n\n  ";
	fl_key k;
	char err[FL_ERR_LEN] = "";

	(void)state;
	assert_int_equal(fl_key_load(key_file(text, sizeof(text) - 1), &k, err), FL_OK);
	assert_int_equal(k.len, 33); /* the inner space is part of the key */
	assert_memory_equal(k.bytes, "0123456789abcdef 0123456789abcdef", 33);
	assert_int_equal(k.bytes[33], 0);
	fl_key_wipe(&k);
	assert_int_equal(k.len, 0);
	for (size_t i = 0; i < sizeof(k.bytes); i++) {
		assert_int_equal(k.bytes[i], 0);
	}
	fl_key_wipe(NULL);
}

static void test_key_of_31_bytes_is_refused_and_32_accepted(void **state)
{
	char key[40];
	fl_key k;
	char err[FL_ERR_LEN] = "";

	(void)state;
	secret(key, sizeof(key));
	key[31] = '\n'; /* 31 bytes and a newline */
	memset(&k, 0x5a, sizeof(k));
	assert_int_equal(fl_key_load(key_file(key, 32), &k, err), FL_ECONFIG);
	assert_non_null(strstr(err, g_path));
	assert_non_null(strstr(err, "31 bytes, a key needs at least 32"));
	assert_no_key_material(err, key, 31);
	assert_int_equal(k.len, 0);
	assert_int_equal(k.bytes[0], 0);

	secret(key, sizeof(key));
	assert_int_equal(fl_key_load(key_file(key, 32), &k, err), FL_OK);
	assert_int_equal(k.len, 32);
	assert_memory_equal(k.bytes, key, 32);

	/* only whitespace: nothing left */
	assert_int_equal(fl_key_load(key_file(" \n\t\n", 4), &k, err), FL_ECONFIG);
	assert_non_null(strstr(err, "0 bytes, a key needs at least 32"));
	/* an empty file */
	assert_int_equal(fl_key_load(key_file("", 0), &k, err), FL_ECONFIG);
	assert_int_equal(k.len, 0);
}

static void test_key_longer_than_1024_bytes_is_refused(void **state)
{
	static char key[4096];
	fl_key k;
	char err[FL_ERR_LEN] = "";

	(void)state;
	secret(key, sizeof(key));
	assert_int_equal(fl_key_load(key_file(key, FL_KEY_BUF), &k, err), FL_OK);
	assert_int_equal(k.len, FL_KEY_BUF);
	assert_memory_equal(k.bytes, key, FL_KEY_BUF);

	memset(&k, 0x5a, sizeof(k));
	assert_int_equal(fl_key_load(key_file(key, FL_KEY_BUF + 1), &k, err), FL_ECONFIG);
	assert_non_null(strstr(err, "1025 bytes, a key is at most 1024"));
	assert_no_key_material(err, key, FL_KEY_BUF + 1);
	assert_int_equal(k.len, 0);
	assert_int_equal(k.bytes[0], 0);

	/* a file far larger than any key is refused without reading it all */
	assert_int_equal(fl_key_load(key_file(key, sizeof(key)), &k, err), FL_ECONFIG);
	assert_non_null(strstr(err, "a key is at most 1024"));
	assert_no_key_material(err, key, sizeof(key));
	assert_int_equal(k.len, 0);

	/* 1024 bytes of key with whitespace around them still fit */
	char *padded = malloc(FL_KEY_BUF + 8);
	assert_non_null(padded);
	memcpy(padded, "\n\n  ", 4);
	memcpy(padded + 4, key, FL_KEY_BUF);
	memcpy(padded + 4 + FL_KEY_BUF, " \n\n\n", 4);
	assert_int_equal(fl_key_load(key_file(padded, FL_KEY_BUF + 8), &k, err), FL_OK);
	assert_int_equal(k.len, FL_KEY_BUF);
	free(padded);
}

static void test_missing_or_unreadable_key_file_is_an_io_error(void **state)
{
	char path[sizeof(g_dir) + 32];
	fl_key k;
	char err[FL_ERR_LEN] = "";

	(void)state;
	snprintf(path, sizeof(path), "%s/no-such-key", g_dir);
	memset(&k, 0x5a, sizeof(k));
	assert_int_equal(fl_key_load(path, &k, err), FL_EIO);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "cannot open"));
	assert_int_equal(k.len, 0);

	/* a directory opens but cannot be read */
	assert_int_equal(fl_key_load(g_dir, &k, err), FL_EIO);
	assert_non_null(strstr(err, g_dir));

	assert_int_equal(fl_key_load(NULL, &k, err), FL_EINVAL);
	assert_int_equal(fl_key_load(path, NULL, err), FL_EINVAL);
	assert_int_equal(fl_key_load(path, &k, NULL), FL_EIO); /* err may be NULL */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_key_file_is_trimmed_of_surrounding_whitespace),
	    cmocka_unit_test(test_key_of_31_bytes_is_refused_and_32_accepted),
	    cmocka_unit_test(test_key_longer_than_1024_bytes_is_refused),
	    cmocka_unit_test(test_missing_or_unreadable_key_file_is_an_io_error),
	};

	return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
