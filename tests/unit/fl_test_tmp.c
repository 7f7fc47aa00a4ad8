/* fl_test_tmp.c — the unit tests' scratch folders (fl_test_tmp.h). */
#include "fl_test_tmp.h"

#include <stdio.h>
#include <stdlib.h>

int fl_test_tmp_make(char *dir, size_t n, const char *prefix)
{
	int w = snprintf(dir, n, "/tmp/%s.XXXXXX", prefix);
	if (w < 0 || (size_t)w >= n) {
		return -1;
	}
	return mkdtemp(dir) == NULL ? -1 : 0;
}

int fl_test_tmp_remove(const char *dir)
{
	char cmd[512];
	int w = snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (w < 0 || (size_t)w >= sizeof(cmd)) {
		return -1;
	}
	return system(cmd) == 0 ? 0 : -1;
}
