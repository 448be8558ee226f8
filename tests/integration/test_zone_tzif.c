/*
 * The TZif zone source (src/adapters/tz/tzif.c) and scli_zone_load: the
 * system's zones, names that would leave the database, and files that are
 * not zones, are cut short, are version 1 only, or carry a bad footer
 * (written to this program's temporary directory from a copy of New York).
 * Skipped without the system's tz database.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scli/error.h"
#include "scli/sys/zone_source.h"
#include "scli/timestamp.h"
#include "scli/zone.h"
#include "support/tmpdir.h"

#define NEW_YORK SCLI_ZONEINFO_DIR "/America/New_York"

static unsigned char ny[64 * 1024];
static size_t ny_len;

static int64_t utc(const char *text)
{
	int64_t t = 0;

	assert_int_equal(scli_timestamp_parse(&t, text, strlen(text), NULL), 0);
	return t;
}

static void write_file(const char *name, const void *data, size_t len)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", test_tmpdir, name);
	assert_non_null(f = fopen(path, "wb"));
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Load `name` from the temporary directory. */
static int load_tmp(scli_zone **out, const char *name)
{
	scli_zone_source *src = NULL;
	int error;

	assert_int_equal(scli_zone_source_tzif_new(&src, test_tmpdir), 0);
	error = scli_zone_source_load(out, src, name);
	scli_zone_source_free(src);
	return error;
}

static void test_system_zones(void **state)
{
	scli_zone *z = NULL;

	(void)state;
	assert_int_equal(scli_zone_load(&z, "America/New_York"), 0);
	assert_string_equal(scli_zone_name(z), "America/New_York");
	assert_int_equal(scli_zone_offset_at(z, utc("2021-03-14T06:59:59Z")), -18000);
	assert_int_equal(scli_zone_offset_at(z, utc("2021-03-14T07:00:00Z")), -14400);
	assert_int_equal(scli_zone_offset_at(z, utc("2040-07-01T00:00:00Z")), -14400);
	assert_int_equal(scli_zone_offset_at(z, utc("1800-01-01T00:00:00Z")), -17762);
	assert_false(scli_zone_is_utc(z));
	scli_zone_free(z);
	assert_int_equal(scli_zone_load(&z, "Etc/UTC"), 0);
	assert_true(scli_zone_is_utc(z));
	scli_zone_free(z);
	assert_int_equal(scli_zone_load(&z, "Europe/London"), 0);
	assert_false(scli_zone_is_utc(z));
	scli_zone_free(z);
	assert_int_equal(scli_zone_load(&z, "+05:30"), 0);
	assert_string_equal(scli_zone_name(z), "+05:30");
	scli_zone_free(z);
	assert_int_equal(scli_zone_load(&z, "UTC"), 0);
	assert_true(scli_zone_is_utc(z));
	scli_zone_free(z);
}

static void test_unknown_names(void **state)
{
	static const char *const names[] = {
	    "Mars/Olympus_Mons",
	    "../../../etc/passwd",
	    "/etc/passwd",
	    "America/../Europe/Berlin",
	    "America/./New_York",
	    "America//New_York",
	    "America/",
	    ".hidden",
	    "",
	    "America",
	    "a b",
	    "America/New_York\\",
	    "zone1970.tab",
	};
	scli_zone *z = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (scli_zone_load(&z, names[i]) != SCLI_EINVALID)
			fail_msg("\"%s\" was not refused", names[i]);
		assert_null(z);
		assert_non_null(strstr(scli_error_last(), "unknown time zone \""));
	}
}

static void test_version_1_only(void **state)
{
	unsigned char v1[sizeof(ny)];
	scli_zone *z = NULL;

	(void)state;
	memcpy(v1, ny, ny_len);
	v1[4] = '\0'; /* the 32-bit data alone, no footer: the last change's offset stays */
	write_file("V1", v1, ny_len);
	assert_int_equal(load_tmp(&z, "V1"), 0);
	assert_int_equal(scli_zone_offset_at(z, utc("2021-03-14T07:00:00Z")), -14400);
	assert_int_equal(scli_zone_offset_at(z, utc("2021-11-07T06:00:00Z")), -18000);
	assert_int_equal(scli_zone_offset_at(z, utc("2040-07-01T00:00:00Z")), -18000);
	scli_zone_free(z);
}

static void test_damaged_files(void **state)
{
	unsigned char buf[sizeof(ny)];
	scli_zone *z = NULL;
	size_t len;

	(void)state;
	write_file("Text", "# not a zone\n", 13);
	assert_int_equal(load_tmp(&z, "Text"), SCLI_EINVALID);
	assert_non_null(strstr(scli_error_last(), "unknown time zone"));

	/* the footer's rule does not parse */
	memcpy(buf, ny, ny_len);
	len = ny_len;
	assert_memory_equal(buf + len - 24, "\nEST5EDT,M3.2.0,M11.1.0\n", 24);
	memcpy(buf + len - 24, "\nEST5EDT,M3.2.0,M13.1.0\n", 24);
	write_file("BadRule", buf, len);
	assert_int_equal(load_tmp(&z, "BadRule"), SCLI_EIO);
	assert_non_null(strstr(scli_error_last(), "damaged: the POSIX TZ rule does not parse"));
	/* no footer at all */
	write_file("NoFooter", ny, ny_len - 24);
	assert_int_equal(load_tmp(&z, "NoFooter"), SCLI_EIO);
	assert_non_null(strstr(scli_error_last(), "footer"));
	assert_null(z);
}

/* Prefixes of a real file: an error, never a crash or a zone. Every length
 * in the first and last 100 bytes (first header, footer), every 11th between. */
static void test_truncations(void **state)
{
	scli_zone *z = NULL;
	size_t len;

	(void)state;
	for (len = 0; len < ny_len - 1; len += len < 100 || len > ny_len - 100 ? 1 : 11) {
		write_file("Cut", ny, len);
		if (load_tmp(&z, "Cut") == 0)
			fail_msg("a file cut to %zu bytes loaded", len);
		assert_null(z);
	}
	write_file("Whole", ny, ny_len);
	assert_int_equal(load_tmp(&z, "Whole"), 0);
	scli_zone_free(z);
}

/* Corrupt bytes anywhere: whatever the verdict, no crash (run under ASan). */
static void test_corrupt_bytes(void **state)
{
	unsigned char buf[sizeof(ny)];
	uint32_t seed = 12345;
	scli_zone *z = NULL;
	int i, k;

	(void)state;
	for (i = 0; i < 300; i++) {
		memcpy(buf, ny, ny_len);
		for (k = 0; k < 4; k++) {
			seed = seed * 1103515245u + 12345u;
			buf[(seed >> 8) % ny_len] = (unsigned char)(seed >> 24);
		}
		write_file("Corrupt", buf, ny_len);
		if (load_tmp(&z, "Corrupt") == 0) {
			(void)scli_zone_offset_at(z, utc("2021-03-14T07:00:00Z"));
			scli_zone_free(z);
			z = NULL;
		}
	}
}

static int setup(void **state)
{
	FILE *f = fopen(NEW_YORK, "rb");

	if (!f)
		return 0;
	ny_len = fread(ny, 1, sizeof(ny), f);
	fclose(f);
	return test_tmpdir_make(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_system_zones),   cmocka_unit_test(test_unknown_names),
	    cmocka_unit_test(test_version_1_only), cmocka_unit_test(test_damaged_files),
	    cmocka_unit_test(test_truncations),	   cmocka_unit_test(test_corrupt_bytes),
	};

	if (access(NEW_YORK, R_OK) != 0) {
		fprintf(stderr, "skipped: no tz database at %s\n", SCLI_ZONEINFO_DIR);
		return 77;
	}
	return cmocka_run_group_tests(tests, setup, test_tmpdir_remove);
}
