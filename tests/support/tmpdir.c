/* Test support: see tmpdir.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <zlib.h>

#include "support/tmpdir.h"

char test_tmpdir[512];

int test_tmpdir_make(void **state)
{
	const char *base = getenv("SCLI_TEST_TMP");

	(void)state;
	if (base && *base) {
		mkdir(base, 0777);
		snprintf(test_tmpdir, sizeof(test_tmpdir), "%s/scli-test.XXXXXX", base);
	} else {
		snprintf(test_tmpdir, sizeof(test_tmpdir), "/tmp/scli-test.XXXXXX");
	}
	return mkdtemp(test_tmpdir) ? 0 : -1;
}

int test_tmpdir_remove(void **state)
{
	char cmd[600];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", test_tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

void test_write_gzip(const char *path, const void *data, size_t len)
{
	gzFile gz = gzopen(path, "wb");

	assert_non_null(gz);
	assert_int_equal(gzwrite(gz, data, (unsigned)len), (int)len);
	assert_int_equal(gzclose(gz), Z_OK);
}
