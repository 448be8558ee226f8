/* Test support: one private temporary directory per test program, as cmocka group
 * setup/teardown. Under $SCLI_TEST_TMP when set (ctest sets it), else /tmp. */
#ifndef SCLI_TEST_TMPDIR_H
#define SCLI_TEST_TMPDIR_H

extern char test_tmpdir[512];

int test_tmpdir_make(void **state);
int test_tmpdir_remove(void **state);

#endif
