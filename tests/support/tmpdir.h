/* Test support: one private temporary directory per test program, as cmocka group
 * setup/teardown. Under $SCLI_TEST_TMP when set (ctest sets it), else /tmp. */
#ifndef SCLI_TEST_TMPDIR_H
#define SCLI_TEST_TMPDIR_H

#include <stddef.h>

extern char test_tmpdir[512];

int test_tmpdir_make(void **state);
int test_tmpdir_remove(void **state);

/* Write data[0..len) gzip-compressed to `path` (a failure fails the test). */
void test_write_gzip(const char *path, const void *data, size_t len);

#endif
