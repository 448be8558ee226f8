/* Timestamps: the SPEC.md grammar, Unix seconds, formatting and the calendar. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scli/error.h"
#include "scli/timestamp.h"

/* Expected values computed independently (Python's datetime). */
static const struct {
	const char *text;
	int64_t us;
} valid[] = {
    {"2021-03-01T04:00:00Z", INT64_C(1614571200000000)},
    {"2021-03-01t04:00:00z", INT64_C(1614571200000000)},
    {"2021-03-01 04:00:00Z", INT64_C(1614571200000000)},
    {"2021-03-01T04:00:00", INT64_C(1614571200000000)},
    {"2021-03-01T04:00", INT64_C(1614571200000000)},
    {"2021-03-01T04:00Z", INT64_C(1614571200000000)},
    {"2021-03-01", INT64_C(1614556800000000)},
    {"1970-01-01", INT64_C(0)},
    {"1970-01-01T00:00:00Z", INT64_C(0)},
    {"2021-03-01 04:01:07.45+00", INT64_C(1614571267450000)},
    {"2021-03-01T04:01:07.450000Z", INT64_C(1614571267450000)},
    {"2021-03-01T04:01:07.4Z", INT64_C(1614571267400000)},
    {"2021-03-01T04:01:07.45Z", INT64_C(1614571267450000)},
    {"2021-03-01T04:01:07.456Z", INT64_C(1614571267456000)},
    {"2021-03-01T04:01:07.4567Z", INT64_C(1614571267456700)},
    {"2021-03-01T04:01:07.45678Z", INT64_C(1614571267456780)},
    {"2021-03-01T04:01:07.456789Z", INT64_C(1614571267456789)},
    {"2021-03-01T04:01:07.4567891Z", INT64_C(1614571267456789)},
    {"2021-03-01T04:01:07.45678919Z", INT64_C(1614571267456789)},
    {"2021-03-01T04:01:07.456789999Z", INT64_C(1614571267456789)},
    {"2021-03-01T04:01:07.000000999Z", INT64_C(1614571267000000)},
    {"2021-03-01T04:01:07.999999999", INT64_C(1614571267999999)},
    {"2021-03-01T04:01:07.0Z", INT64_C(1614571267000000)},
    {"2021-03-01T04:01:07.000001Z", INT64_C(1614571267000001)},
    {"2021-03-01T05:00:00+01", INT64_C(1614571200000000)},
    {"2021-03-01T05:00:00+01:00", INT64_C(1614571200000000)},
    {"2021-03-01T05:00:00+0100", INT64_C(1614571200000000)},
    {"2021-03-01T05:30:00+01:30", INT64_C(1614571200000000)},
    {"2021-03-01T05:30:00+0130", INT64_C(1614571200000000)},
    {"2021-03-01T02:00:00-02", INT64_C(1614571200000000)},
    {"2021-03-01T02:00:00-02:00", INT64_C(1614571200000000)},
    {"2021-03-01T02:15:00-0145", INT64_C(1614571200000000)},
    {"2021-03-01T04:00:00+00:00", INT64_C(1614571200000000)},
    {"2021-03-01T04:00:00-00:00", INT64_C(1614571200000000)},
    {"2021-03-01T04:00:00-00", INT64_C(1614571200000000)},
    {"2021-03-01 04:01:07.45-05:30", INT64_C(1614591067450000)},
    {"2021-03-01T04:00+01:00", INT64_C(1614567600000000)},
    {"2021-03-01T04:00+23:59", INT64_C(1614484860000000)},
    {"2021-03-01T04:00-23:59", INT64_C(1614657540000000)},
    {"2021-01-01T00:30:00+01:00", INT64_C(1609457400000000)},
    {"2020-12-31T23:30:00-01:00", INT64_C(1609461000000000)},
    {"2021-03-01T00:00:00+00:01", INT64_C(1614556740000000)},
    {"2024-02-29T23:00:00-02:00", INT64_C(1709254800000000)},
    {"2024-03-01T00:30:00+01:00", INT64_C(1709249400000000)},
    {"2000-02-29", INT64_C(951782400000000)},
    {"2024-02-29", INT64_C(1709164800000000)},
    {"1600-02-29", INT64_C(-11670998400000000)},
    {"2021-02-28T23:59:59.999999Z", INT64_C(1614556799999999)},
    {"2021-12-31", INT64_C(1640908800000000)},
    {"2021-04-30", INT64_C(1619740800000000)},
    {"1969-12-31T23:59:59.5Z", INT64_C(-500000)},
    {"1969-12-31T23:59:59.999999Z", INT64_C(-1)},
    {"1969-12-31T23:59:59.9999999Z", INT64_C(-1)},
    {"1969-12-31T23:00:00Z", INT64_C(-3600000000)},
    {"1900-01-01", INT64_C(-2208988800000000)},
    {"1066-10-14T09:00:00+00:00", INT64_C(-28502722800000000)},
    {"0001-01-01", INT64_C(-62135596800000000)},
    {"0001-01-01T00:00:00Z", INT64_C(-62135596800000000)},
    {"0001-01-01T00:00:00-00:01", INT64_C(-62135596740000000)},
    {"0001-01-01T23:59:00+23:59", INT64_C(-62135596800000000)},
    {"9999-12-31T23:59:59Z", INT64_C(253402300799000000)},
    {"9999-12-31T23:59:59.999999Z", INT64_C(253402300799999999)},
    {"9999-12-31T23:59:59.999999999Z", INT64_C(253402300799999999)},
    {"9999-12-31T00:00:00-23:59", INT64_C(253402300740000000)},
    {"9999-12-31T23:59:59.999999+01:00", INT64_C(253402297199999999)},
    {"2021-03-01T04:01:07.45+05", INT64_C(1614553267450000)},
};

static const struct {
	const char *text;
	const char *why; /* the exact reason; the CLI shows it to users */
} invalid[] = {
    {"", "the text is empty"},
    {" 2021-03-01", "leading whitespace is not allowed"},
    {"\t2021-03-01T04:00Z", "leading whitespace is not allowed"},
    {"2021-03-01 ", "trailing whitespace is not allowed"},
    {"2021-03-01\n", "trailing whitespace is not allowed"},
    {"2021-03-01T04:00:00Z ", "trailing whitespace is not allowed"},
    {"2021-03-01T04:00:00 ", "trailing whitespace is not allowed"},
    {"2021-03-01T04:00:00Z\r\n", "trailing whitespace is not allowed"},
    {"2021-02-29", "day is out of range for the month"},
    {"2021-04-31", "day is out of range for the month"},
    {"1900-02-29", "day is out of range for the month"},
    {"2100-02-29T00:00Z", "day is out of range for the month"},
    {"2021-01-32", "day is out of range for the month"},
    {"2021-01-00", "day is out of range for the month"},
    {"2021-00-10", "month must be 01-12"},
    {"2021-13-01", "month must be 01-12"},
    {"0000-01-01", "year must be 0001-9999"},
    {"10000-01-01", "year must be 0001-9999"},
    {"-2021-01-01", "expected YYYY-MM-DD"},
    {"+2021-01-01", "expected YYYY-MM-DD"},
    {"21-03-01", "expected YYYY-MM-DD"},
    {"2021-3-01", "expected YYYY-MM-DD"},
    {"2021-03-1", "expected YYYY-MM-DD"},
    {"2021/03/01", "expected YYYY-MM-DD"},
    {"20210301", "expected YYYY-MM-DD"},
    {"2021-03", "expected YYYY-MM-DD"},
    {"2021", "expected YYYY-MM-DD"},
    {"now", "expected YYYY-MM-DD"},
    {"1614571200", "expected YYYY-MM-DD"},
    {"99999-01-01T00:00Z", "year must be 0001-9999"},
    {"2021-03-01_04:00", "expected 'T' or a space after the date"},
    {"2021-03-01\t04:00", "expected 'T' or a space after the date"},
    {"2021-03-01Z", "an offset needs a time (YYYY-MM-DDTHH:MM)"},
    {"2021-03-01+01:00", "an offset needs a time (YYYY-MM-DDTHH:MM)"},
    {"2021-03-01T", "expected HH:MM after the date"},
    {"2021-03-01T04", "expected HH:MM after the date"},
    {"2021-03-01T04Z", "expected HH:MM after the date"},
    {"2021-03-01T4:00", "expected HH:MM after the date"},
    {"2021-03-01T04:0", "expected HH:MM after the date"},
    {"2021-03-01T0400", "expected HH:MM after the date"},
    {"2021-03-01  04:00", "expected HH:MM after the date"},
    {"2021-03-01T24:00:00Z", "hour must be 00-23"},
    {"2021-03-01T99:00", "hour must be 00-23"},
    {"2021-03-01T23:60", "minute must be 00-59"},
    {"2021-03-01T23:59:60Z", "second must be 00-59"},
    {"2021-03-01T23:59:61", "second must be 00-59"},
    {"2021-03-01T04:00:", "expected 2-digit seconds after HH:MM:"},
    {"2021-03-01T04:00:7", "expected 2-digit seconds after HH:MM:"},
    {"2021-03-01T04:00:07.", "fraction must have 1-9 digits"},
    {"2021-03-01T04:00:07.Z", "fraction must have 1-9 digits"},
    {"2021-03-01T04:00:07.1234567890Z", "fraction must have 1-9 digits"},
    {"2021-03-01T04:00.5", "a fraction needs seconds (HH:MM:SS.fraction)"},
    {"2021-03-01T04:00:07,5", "unexpected text after the timestamp"},
    {"2021-03-01T04:00:00+24:00", "offset is beyond ±23:59"},
    {"2021-03-01T04:00:00-24", "offset is beyond ±23:59"},
    {"2021-03-01T04:00:00+99", "offset is beyond ±23:59"},
    {"2021-03-01T04:00:00+01:60", "offset minutes must be 00-59"},
    {"2021-03-01T04:00:00+0160", "offset minutes must be 00-59"},
    {"2021-03-01T04:00:00+", "offset must be Z, +HH, +HHMM or +HH:MM (or -)"},
    {"2021-03-01T04:00:00+1", "offset must be Z, +HH, +HHMM or +HH:MM (or -)"},
    {"2021-03-01T04:00:00+01:", "offset must be Z, +HH, +HHMM or +HH:MM (or -)"},
    {"2021-03-01T04:00:00+01:0", "offset must be Z, +HH, +HHMM or +HH:MM (or -)"},
    {"2021-03-01T04:00:00+010", "offset must be Z, +HH, +HHMM or +HH:MM (or -)"},
    {"2021-03-01T04:00:00+01:000", "unexpected text after the timestamp"},
    {"2021-03-01T04:00:00+01000", "unexpected text after the timestamp"},
    {"2021-03-01T04:00:00ZZ", "unexpected text after the timestamp"},
    {"2021-03-01T04:00:00Z+01", "unexpected text after the timestamp"},
    {"2021-03-01T04:00:00UTC", "unexpected text after the timestamp"},
    {"2021-03-01T04:00:00 UTC", "unexpected text after the timestamp"},
    {"2021-03-01T04:00:00 +01:00", "unexpected text after the timestamp"},
    {"2021-03-01T04:00:00.5x", "unexpected text after the timestamp"},
    {"2021-03-01T04:00:00:00", "unexpected text after the timestamp"},
    {"2021-03-01T04:00:00Zjunk", "unexpected text after the timestamp"},
    {"0001-01-01T00:00:00+00:01", "the offset moves the timestamp outside years 0001-9999"},
    {"0001-01-01T00:30+01", "the offset moves the timestamp outside years 0001-9999"},
    {"9999-12-31T23:59:59-00:01", "the offset moves the timestamp outside years 0001-9999"},
    {"9999-12-31T23:00-01", "the offset moves the timestamp outside years 0001-9999"},
};

/* A heap copy without a NUL: ASan flags any read past `len`. */
static int parse_exact(int64_t *out, const char *text, const char **why)
{
	size_t len = strlen(text);
	char *copy = malloc(len ? len : 1);
	int rc;

	assert_non_null(copy);
	memcpy(copy, text, len);
	rc = scli_timestamp_parse(out, copy, len, why);
	free(copy);
	return rc;
}

static void test_parse_valid(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		int64_t us = -42;
		const char *why = NULL;
		int rc = parse_exact(&us, valid[i].text, &why);

		if (rc != 0 || us != valid[i].us)
			fail_msg("\"%s\": rc=%d why=%s us=%lld want %lld", valid[i].text, rc,
				 why ? why : "(null)", (long long)us, (long long)valid[i].us);
		/* a NULL `why` is allowed */
		assert_int_equal(
		    scli_timestamp_parse(&us, valid[i].text, strlen(valid[i].text), NULL), 0);
	}
}

static void test_parse_invalid(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		int64_t us = 12345;
		const char *why = NULL;
		int rc = parse_exact(&us, invalid[i].text, &why);

		if (rc != SCLI_EINVALID)
			fail_msg("\"%s\": accepted (rc=%d us=%lld)", invalid[i].text, rc,
				 (long long)us);
		assert_non_null(why);
		assert_true(why[0] != '\0');
		if (strcmp(why, invalid[i].why) != 0)
			fail_msg("\"%s\": why \"%s\", want \"%s\"", invalid[i].text, why,
				 invalid[i].why);
		/* *out untouched on failure */
		assert_int_equal(us, 12345);
		assert_int_equal(
		    scli_timestamp_parse(&us, invalid[i].text, strlen(invalid[i].text), NULL),
		    SCLI_EINVALID);
	}
}

static void test_parse_stops_at_len(void **state)
{
	const char *text = "2021-03-01T04:00:00Z garbage";
	int64_t us;
	char nul_inside[] = "2021-03-01T04:00:00Z\0";

	(void)state;
	assert_int_equal(scli_timestamp_parse(&us, text, 20, NULL), 0);
	assert_int_equal(us, INT64_C(1614571200000000));
	/* date only: the next byte (T) is beyond len */
	assert_int_equal(scli_timestamp_parse(&us, text, 10, NULL), 0);
	assert_int_equal(us, INT64_C(1614556800000000));
	/* a truncated field is rejected, not completed from the bytes after it */
	assert_int_equal(scli_timestamp_parse(&us, text, 15, NULL), SCLI_EINVALID);
	assert_int_equal(scli_timestamp_parse(&us, text, 0, NULL), SCLI_EINVALID);
	/* an embedded NUL is text like any other */
	assert_int_equal(scli_timestamp_parse(&us, nul_inside, sizeof(nul_inside) - 1, NULL),
			 SCLI_EINVALID);
}

/* Every prefix of a valid timestamp is parsed in an exact-size buffer. */
static void test_parse_prefixes(void **state)
{
	const char *text = "2021-03-01T04:01:07.123456789+05:30";
	size_t n;

	(void)state;
	for (n = 0; n <= strlen(text); n++) {
		char *copy = malloc(n ? n : 1);
		int64_t us;
		const char *why = NULL;
		int rc;

		assert_non_null(copy);
		memcpy(copy, text, n);
		rc = scli_timestamp_parse(&us, copy, n, &why);
		if (rc != 0) {
			assert_int_equal(rc, SCLI_EINVALID);
			assert_non_null(why);
		}
		free(copy);
	}
}

static void test_anchors(void **state)
{
	int64_t us;

	(void)state;
	assert_int_equal(scli_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(scli_days_from_civil(2021, 3, 1) * 86400 + 4 * 3600, 1614571200);
	assert_int_equal(scli_days_from_civil(1, 1, 1) * 86400, INT64_C(-62135596800));
	assert_int_equal(scli_days_from_civil(9999, 12, 31) * 86400 + 86399, INT64_C(253402300799));
	assert_int_equal(scli_days_from_civil(1969, 12, 31), -1);
	assert_int_equal(scli_days_from_civil(2000, 3, 1), 11017);
	assert_int_equal(scli_days_from_civil(0, 3, 1), -719468);
	assert_int_equal(scli_days_from_civil(-1, 12, 31), -719529);
	assert_int_equal(SCLI_TIMESTAMP_MIN, scli_days_from_civil(1, 1, 1) * SCLI_US_PER_DAY);
	assert_int_equal(SCLI_TIMESTAMP_MAX,
			 scli_days_from_civil(10000, 1, 1) * SCLI_US_PER_DAY - 1);
	assert_int_equal(scli_timestamp_parse(&us, "2021-03-01T04:00:00Z", 20, NULL), 0);
	assert_int_equal(us, INT64_C(1614571200) * SCLI_US_PER_SECOND);
}

static int days_in_month(int64_t y, unsigned m)
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : mdays[m - 1];
}

/* Walks every day of years 0001..9999 (and a few before year 1 and after
 * 9999), checking that days are consecutive and the two functions invert. */
static void test_civil_every_day(void **state)
{
	int64_t y, expect = scli_days_from_civil(-401, 1, 1);
	unsigned m, d;

	(void)state;
	for (y = -401; y <= 10400; y++) {
		for (m = 1; m <= 12; m++) {
			for (d = 1; d <= (unsigned)days_in_month(y < 0 ? -y : y, m); d++) {
				int64_t days = scli_days_from_civil(y, m, d), yy;
				unsigned mm, dd;

				if (days != expect)
					fail_msg("%lld-%u-%u: %lld want %lld", (long long)y, m, d,
						 (long long)days, (long long)expect);
				scli_civil_from_days(&yy, &mm, &dd, days);
				if (yy != y || mm != m || dd != d)
					fail_msg("%lld: got %lld-%u-%u want %lld-%u-%u",
						 (long long)days, (long long)yy, mm, dd,
						 (long long)y, m, d);
				expect++;
			}
		}
	}
}

/* Round trip through the text format, for each day of years 1..9999 at a
 * pseudo-random time of day, with the expected text built independently. */
static void test_round_trip_every_day(void **state)
{
	uint64_t seed = 0x9E3779B97F4A7C15u;
	int64_t days;

	(void)state;
	for (days = scli_days_from_civil(1, 1, 1); days <= scli_days_from_civil(9999, 12, 31);
	     days++) {
		char buf[SCLI_TIMESTAMP_BUFSZ], want[64];
		int64_t us, y, tod, back;
		unsigned m, d, frac;
		size_t n;
		const char *why = NULL;

		/* xorshift64: deterministic, no libc rand state */
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		tod = (int64_t)(seed % (uint64_t)SCLI_US_PER_DAY);
		if (seed % 5 == 0)
			tod -= tod % SCLI_US_PER_SECOND; /* exercise the no-fraction form */
		us = days * SCLI_US_PER_DAY + tod;
		scli_civil_from_days(&y, &m, &d, days);
		frac = (unsigned)(tod % SCLI_US_PER_SECOND);
		if (frac) {
			char f[16];
			int k;

			snprintf(f, sizeof(f), "%06u", frac);
			for (k = 5; f[k] == '0'; k--)
				f[k] = '\0';
			snprintf(want, sizeof(want), "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%sZ",
				 (long long)y, m, d, (long long)(tod / SCLI_US_PER_HOUR),
				 (long long)(tod / 60000000 % 60), (long long)(tod / 1000000 % 60),
				 f);
		} else {
			snprintf(want, sizeof(want), "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ",
				 (long long)y, m, d, (long long)(tod / SCLI_US_PER_HOUR),
				 (long long)(tod / 60000000 % 60), (long long)(tod / 1000000 % 60));
		}
		n = scli_timestamp_format(buf, us);
		assert_int_equal(n, strlen(buf));
		if (strcmp(buf, want) != 0)
			fail_msg("%lld: \"%s\" want \"%s\"", (long long)us, buf, want);
		if (scli_timestamp_parse(&back, buf, n, &why) != 0 || back != us)
			fail_msg("\"%s\": %s", buf, why ? why : "parsed to a different instant");
	}
}

static void test_format(void **state)
{
	static const struct {
		int64_t us;
		const char *text;
	} cases[] = {
	    {0, "1970-01-01T00:00:00Z"},
	    {INT64_C(1614571200000000), "2021-03-01T04:00:00Z"},
	    {INT64_C(1614571267450000), "2021-03-01T04:01:07.45Z"},
	    {INT64_C(1614571267000001), "2021-03-01T04:01:07.000001Z"},
	    {INT64_C(1614571267100000), "2021-03-01T04:01:07.1Z"},
	    {INT64_C(1614571267123456), "2021-03-01T04:01:07.123456Z"},
	    {INT64_C(1614571267120000), "2021-03-01T04:01:07.12Z"},
	    {INT64_C(-500000), "1969-12-31T23:59:59.5Z"},
	    {INT64_C(-1), "1969-12-31T23:59:59.999999Z"},
	    {INT64_C(-1000000), "1969-12-31T23:59:59Z"},
	    {-SCLI_US_PER_DAY, "1969-12-31T00:00:00Z"},
	    {-SCLI_US_PER_DAY - 1, "1969-12-30T23:59:59.999999Z"},
	    {INT64_C(951782400000000), "2000-02-29T00:00:00Z"},
	    {SCLI_TIMESTAMP_MIN, "0001-01-01T00:00:00Z"},
	    {SCLI_TIMESTAMP_MAX, "9999-12-31T23:59:59.999999Z"},
	    {INT64_C(253402300799000000), "9999-12-31T23:59:59Z"},
	    /* outside the range: still unambiguous, and within the buffer */
	    {SCLI_TIMESTAMP_MAX + 1, "10000-01-01T00:00:00Z"},
	    {SCLI_TIMESTAMP_MIN - SCLI_US_PER_DAY, "0000-12-31T00:00:00Z"},
	    {INT64_MAX, "294247-01-10T04:00:54.775807Z"},
	    {INT64_MIN, "-290308-12-21T19:59:05.224192Z"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[SCLI_TIMESTAMP_BUFSZ];
		size_t n;

		memset(buf, 'x', sizeof(buf));
		n = scli_timestamp_format(buf, cases[i].us);
		assert_true(n < SCLI_TIMESTAMP_BUFSZ);
		assert_int_equal(buf[n], '\0');
		assert_string_equal(buf, cases[i].text);
	}
}

/* Every valid spelling formats to its canonical form, which parses back. */
static void test_parse_format_round_trip(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		char buf[SCLI_TIMESTAMP_BUFSZ];
		int64_t back;
		size_t n = scli_timestamp_format(buf, valid[i].us);

		assert_int_equal(scli_timestamp_parse(&back, buf, n, NULL), 0);
		assert_int_equal(back, valid[i].us);
	}
}

static void test_from_unix_seconds(void **state)
{
	static const struct {
		double seconds;
		int64_t us;
	} cases[] = {
	    {0.0, 0},
	    {-0.0, 0},
	    {1614571200.0, INT64_C(1614571200000000)},
	    /* decimals not exact as doubles land on the intended microsecond */
	    {1614571267.45, INT64_C(1614571267450000)},
	    {1614571267.1, INT64_C(1614571267100000)},
	    {1614571267.3, INT64_C(1614571267300000)},
	    {1614571267.7, INT64_C(1614571267700000)},
	    {1614571267.9, INT64_C(1614571267900000)},
	    {1614571267.000001, INT64_C(1614571267000001)},
	    {1614571267.999999, INT64_C(1614571267999999)},
	    {0.1, 100000},
	    {0.7, 700000},
	    {1e-6, 1},
	    {-1e-6, -1},
	    {-0.5, -500000},
	    {-1.45, -1450000},
	    /* sub-microsecond parts floor (toward negative infinity) */
	    {0.0000015, 1},
	    {0.0000009, 0},
	    {-0.0000005, -1},
	    {-0.0000015, -2},
	    {-62135596800.0, SCLI_TIMESTAMP_MIN},
	    {253402300799.0, INT64_C(253402300799000000)},
	    {253402300799.5, INT64_C(253402300799500000)},
	};
	static const double bad[] = {
	    -62135596800.001, -62135596801.0, 253402300800.0, 1e300, -1e300, 9.3e12, -9.3e12,
	};
	size_t i;
	int64_t us;
	const char *why;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		us = -42;
		why = NULL;
		if (scli_timestamp_from_unix_seconds(&us, cases[i].seconds, &why) != 0 ||
		    us != cases[i].us)
			fail_msg("%.9f: got %lld want %lld (%s)", cases[i].seconds, (long long)us,
				 (long long)cases[i].us, why ? why : "ok");
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		us = 7;
		why = NULL;
		assert_int_equal(scli_timestamp_from_unix_seconds(&us, bad[i], &why),
				 SCLI_EINVALID);
		assert_non_null(why);
		assert_true(why[0] != '\0');
		assert_int_equal(us, 7);
	}
	why = NULL;
	assert_int_equal(scli_timestamp_from_unix_seconds(&us, NAN, &why), SCLI_EINVALID);
	assert_non_null(why);
	assert_int_equal(scli_timestamp_from_unix_seconds(&us, INFINITY, &why), SCLI_EINVALID);
	assert_int_equal(scli_timestamp_from_unix_seconds(&us, -INFINITY, NULL), SCLI_EINVALID);
}

/* Every millisecond value written with 3 decimals lands exactly, over years. */
static void test_from_unix_seconds_milliseconds(void **state)
{
	int64_t ms;

	(void)state;
	for (ms = INT64_C(1614571200000); ms < INT64_C(1614571200000) + 200000; ms += 7) {
		char text[32];
		int64_t us;

		snprintf(text, sizeof(text), "%lld.%03lld", (long long)(ms / 1000),
			 (long long)(ms % 1000));
		assert_int_equal(scli_timestamp_from_unix_seconds(&us, strtod(text, NULL), NULL),
				 0);
		if (us != ms * 1000)
			fail_msg("%s: %lld", text, (long long)us);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_valid),
	    cmocka_unit_test(test_parse_invalid),
	    cmocka_unit_test(test_parse_stops_at_len),
	    cmocka_unit_test(test_parse_prefixes),
	    cmocka_unit_test(test_anchors),
	    cmocka_unit_test(test_civil_every_day),
	    cmocka_unit_test(test_round_trip_every_day),
	    cmocka_unit_test(test_format),
	    cmocka_unit_test(test_parse_format_round_trip),
	    cmocka_unit_test(test_from_unix_seconds),
	    cmocka_unit_test(test_from_unix_seconds_milliseconds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
