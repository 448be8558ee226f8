/*
 * The byte source every collector reads (src/io/source.c): memory sources,
 * gzip read to a clean end or failing with a message when cut, and files
 * that cannot be opened. Reading files through the collectors is in
 * test_collect_contract.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "scli/sys/collector.h"
#include "support/tmpdir.h"

static void test_memory_source(void **state)
{
	char data[] = "abc";
	char out[8];
	scli_source *src = NULL;

	(void)state;
	assert_int_equal(scli_source_from_memory(&src, data, 3, "name"), 0);
	data[0] = 'X'; /* the source holds a copy */
	assert_string_equal(scli_source_name(src), "name");
	assert_int_equal(scli_source_read(src, out, 2), 2);
	assert_int_equal(scli_source_read(src, out + 2, 8), 1);
	assert_memory_equal(out, "abc", 3);
	assert_int_equal(scli_source_read(src, out, 8), 0);
	scli_source_free(src);
	scli_source_free(NULL);
	assert_int_equal(scli_source_from_memory(&src, NULL, 0, "empty"), 0);
	assert_int_equal(scli_source_read(src, out, 8), 0);
	scli_source_free(src);
}

static void test_truncated_gzip_is_an_error(void **state)
{
	char path[600], data[4096], msg[700];
	scli_source *src = NULL;
	long got = 1, total = 0;
	FILE *f;
	long size;
	unsigned i;

	(void)state;
	/* random-looking text so the compressed stream is long enough to cut */
	for (i = 0; i < sizeof(data); i++)
		data[i] = (char)('a' + (i * 7919u) % 26);
	snprintf(path, sizeof(path), "%s/cut.csv.gz", test_tmpdir);
	test_write_gzip(path, data, sizeof(data));
	f = fopen(path, "r+b");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	assert_int_equal(ftruncate(fileno(f), size / 2), 0);
	fclose(f);

	assert_int_equal(scli_source_open(&src, path), 0);
	while (got > 0) {
		got = scli_source_read(src, data, sizeof(data));
		if (got > 0)
			total += got;
	}
	assert_int_equal(got, SCLI_EIO);
	assert_true(total < (long)sizeof(data));
	snprintf(msg, sizeof(msg), "cannot read %s: ", path);
	assert_memory_equal(scli_error_last(), msg, strlen(msg));
	scli_source_free(src);
}

static void test_missing_file(void **state)
{
	char path[600], msg[700];
	scli_source *src = (scli_source *)&src; /* must be reset to NULL */

	(void)state;
	snprintf(path, sizeof(path), "%s/no-such.csv", test_tmpdir);
	assert_int_equal(scli_source_open(&src, path), SCLI_EIO);
	assert_null(src);
	snprintf(msg, sizeof(msg), "cannot open %s: No such file or directory", path);
	assert_string_equal(scli_error_last(), msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_memory_source),
	    cmocka_unit_test(test_truncated_gzip_is_an_error),
	    cmocka_unit_test(test_missing_file),
	};

	return cmocka_run_group_tests(tests, test_tmpdir_make, test_tmpdir_remove);
}
