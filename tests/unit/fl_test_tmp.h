/* fl_test_tmp.h — the unit tests' scratch folders: made under /tmp with a unique name, removed whole. */
#ifndef FL_TEST_TMP_H
#define FL_TEST_TMP_H

#include <stddef.h>

/* Makes the folder /tmp/<prefix>.XXXXXX (mkdtemp) and writes its path into dir (n bytes).
 * 0, or -1 when the path does not fit or the folder cannot be made. */
int fl_test_tmp_make(char *dir, size_t n, const char *prefix);

/* Removes dir and everything under it (rm -rf). 0, or -1 when that fails. */
int fl_test_tmp_remove(const char *dir);

#endif
