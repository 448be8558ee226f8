/*
 * Zones as data (src/domain/zone.c, zone_rule.c), without the tz database:
 * POSIX TZ rules, zones built from changes, fixed offsets, formatting, and
 * scli_timestamp_parse_wall.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "domain/zone_internal.h"
#include "scli/error.h"
#include "scli/sys/zone_source.h"
#include "scli/timestamp.h"
#include "scli/zone.h"

#define S INT64_C(1000000)

static int64_t utc(const char *text)
{
	int64_t t = 0;

	assert_int_equal(scli_timestamp_parse(&t, text, strlen(text), NULL), 0);
	return t;
}

static void test_rule_parse(void **state)
{
	scli_tz_rule r;

	(void)state;
	assert_int_equal(scli_tz_rule_parse(&r, "EST5EDT,M3.2.0,M11.1.0"), 0);
	assert_int_equal(r.std_utoff, -5 * 3600);
	assert_int_equal(r.dst_utoff, -4 * 3600);
	assert_true(r.has_dst);
	assert_int_equal(r.start.kind, 'M');
	assert_int_equal(r.start.month, 3);
	assert_int_equal(r.start.week, 2);
	assert_int_equal(r.start.weekday, 0);
	assert_int_equal(r.start.time_s, 7200);
	assert_int_equal(r.end.month, 11);

	assert_int_equal(scli_tz_rule_parse(&r, "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0"), 0);
	assert_int_equal(r.std_utoff, 37800);
	assert_int_equal(r.dst_utoff, 39600);

	assert_int_equal(scli_tz_rule_parse(&r, "<-02>2<-01>,M3.5.0/-1,M10.5.0/0"), 0);
	assert_int_equal(r.start.time_s, -3600);
	assert_int_equal(r.end.time_s, 0);

	assert_int_equal(scli_tz_rule_parse(&r, "EET-2EEST,M3.4.4/50,M10.4.4/50"), 0);
	assert_int_equal(r.start.time_s, 50 * 3600);
	assert_int_equal(scli_tz_rule_parse(&r, "XXX3XXY,J60/-167:59:59,300/167"), 0);
	assert_int_equal(r.start.kind, 'J');
	assert_int_equal(r.start.day, 60);
	assert_int_equal(r.start.time_s, -(167 * 3600 + 59 * 60 + 59));
	assert_int_equal(r.end.kind, 'n');
	assert_int_equal(r.end.day, 300);

	assert_int_equal(scli_tz_rule_parse(&r, "IST-5:30"), 0);
	assert_false(r.has_dst);
	assert_int_equal(r.std_utoff, 19800);
	assert_int_equal(scli_tz_rule_parse(&r, "NST3:30NDT,M3.2.0,M11.1.0"), 0);
	assert_int_equal(r.std_utoff, -12600);
	assert_int_equal(r.dst_utoff, -9000);
	/* DST named without dates: tzcode's US default */
	assert_int_equal(scli_tz_rule_parse(&r, "CET-1CEST"), 0);
	assert_int_equal(r.start.month, 3);
	assert_int_equal(r.end.month, 11);
	assert_int_equal(r.dst_utoff, 7200);
	assert_int_equal(scli_tz_rule_parse(&r, "ABC+1DEF+3,0,365"), 0);
	assert_int_equal(r.dst_utoff, -3 * 3600);
}

static void test_rule_parse_refuses(void **state)
{
	static const char *const bad[] = {
	    "",
	    "ES5",
	    "EST",
	    "<AB>5",
	    "<ABC5",
	    "EST5EDT,M13.1.0,M11.1.0",
	    "EST5EDT,M3.6.0,M11.1.0",
	    "EST5EDT,M3.0.0,M11.1.0",
	    "EST5EDT,M3.2.7,M11.1.0",
	    "EST5EDT,J0,J365",
	    "EST5EDT,J366,J1",
	    "EST5EDT,366,1",
	    "EST5EDT,M3.2.0/168,M11.1.0",
	    "EST5EDT,M3.2.0/1:60,M11.1.0",
	    "EST5EDT,M3.2.0",
	    "EST5EDT,M3.2.0,M11.1.0x",
	    "EST5EDT,M3.2.0,",
	    "EST25",
	    "EST5:",
	    "EST5,M3.2.0,M11.1.0",
	    "EST5EDT;M3.2.0,M11.1.0",
	};
	scli_tz_rule r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (scli_tz_rule_parse(&r, bad[i]) == 0)
			fail_msg("accepted \"%s\"", bad[i]);
}

static void test_rule_years(void **state)
{
	scli_tz_rule r;
	int64_t start, end;

	(void)state;
	assert_int_equal(scli_tz_rule_parse(&r, "EST5EDT,M3.2.0,M11.1.0"), 0);
	scli_tz_rule_year(&start, &end, &r, 2040);
	assert_int_equal(start, utc("2040-03-11T07:00:00Z"));
	assert_int_equal(end, utc("2040-11-04T06:00:00Z"));
	/* Gaza: the last Thursday of March (M3.4.4 = the 4th) at 50:00, i.e. Saturday 02:00 */
	assert_int_equal(scli_tz_rule_parse(&r, "EET-2EEST,M3.4.4/50,M10.4.4/50"), 0);
	scli_tz_rule_year(&start, &end, &r, 2040);
	assert_int_equal(start, utc("2040-03-24T00:00:00Z"));
	assert_int_equal(end, utc("2040-10-26T23:00:00Z")); /* Sat Oct 27 02:00 EEST */
	/* J60 is March 1 in every year; 59 (zero-based) is Feb 29 in a leap year */
	assert_int_equal(scli_tz_rule_parse(&r, "AAA0BBB,J60/0,59/0"), 0);
	scli_tz_rule_year(&start, &end, &r, 2040);
	assert_int_equal(start, utc("2040-03-01T00:00:00Z"));
	/* Feb 29 00:00 on the DST clock (+01:00) */
	assert_int_equal(end, utc("2040-02-28T23:00:00Z"));
	/* week 5 means the last: March 2040 has four Sundays, the 25th is the last */
	assert_int_equal(scli_tz_rule_parse(&r, "CET-1CEST,M3.5.0,M10.5.0/3"), 0);
	scli_tz_rule_year(&start, &end, &r, 2040);
	assert_int_equal(start, utc("2040-03-25T01:00:00Z"));
	assert_int_equal(end, utc("2040-10-28T01:00:00Z"));
}

static scli_zone *rule_zone(const char *rule)
{
	scli_zone *z = NULL;
	const char *why = NULL;

	if (scli_zone_new(&z, "test", NULL, NULL, 0, 0, rule, &why) < 0)
		fail_msg("%s: %s", rule, why);
	return z;
}

static void test_zone_from_rule_only(void **state)
{
	scli_zone *z;
	scli_zone_segment seg;

	(void)state;
	z = rule_zone("EST5EDT,M3.2.0,M11.1.0");
	assert_int_equal(scli_zone_offset_at(z, utc("2040-03-11T06:59:59.999999Z")), -18000);
	assert_int_equal(scli_zone_offset_at(z, utc("2040-03-11T07:00:00Z")), -14400);
	assert_int_equal(scli_zone_offset_at(z, utc("2040-11-04T05:59:59Z")), -14400);
	assert_int_equal(scli_zone_offset_at(z, utc("2040-11-04T06:00:00Z")), -18000);
	assert_int_equal(scli_zone_offset_at(z, utc("2041-01-01T03:00:00Z")), -18000);
	scli_zone_segment_at(&seg, z, utc("2041-01-01T03:00:00Z"));
	assert_int_equal(seg.start, utc("2040-11-04T06:00:00Z"));
	assert_int_equal(seg.end, utc("2041-03-10T07:00:00Z"));
	assert_false(scli_zone_is_utc(z));
	scli_zone_free(z);

	/* southern hemisphere: DST spans the new year */
	z = rule_zone("<+1030>-10:30<+11>-11,M10.1.0,M4.1.0");
	scli_zone_segment_at(&seg, z, utc("2041-01-01T00:00:00Z"));
	assert_int_equal(seg.utoff_s, 39600);
	assert_int_equal(seg.start, utc("2040-10-07T02:00:00+10:30"));
	assert_int_equal(seg.end, utc("2041-04-07T02:00:00+11:00"));
	scli_zone_free(z);

	/* DST all year (RFC 8536's example): the change out and the next in coincide */
	z = rule_zone("EST5EDT4,0/0,J365/25");
	assert_int_equal(scli_zone_offset_at(z, utc("2040-01-01T05:00:00Z")), -14400);
	assert_int_equal(scli_zone_offset_at(z, utc("2040-12-31T23:00:00Z")), -14400);
	assert_int_equal(scli_zone_offset_at(z, utc("2041-01-01T04:59:59Z")), -14400);
	assert_int_equal(scli_zone_offset_at(z, utc("2041-01-01T05:00:00Z")), -14400);
	scli_zone_free(z);
}

static void test_zone_changes_then_rule(void **state)
{
	/* two listed changes, then the rule from the last of them on */
	const int64_t at_s[] = {0, 1000000};
	const int32_t off[] = {3600, -18000};
	scli_zone *z = NULL;
	scli_zone_segment seg;
	const char *why = NULL;

	(void)state;
	assert_int_equal(scli_zone_new(&z, "x", at_s, off, 2, 7200, "EST5EDT,M3.2.0,M11.1.0", &why),
			 0);
	assert_int_equal(scli_zone_offset_at(z, -1), 7200);
	assert_int_equal(scli_zone_offset_at(z, 0), 3600);
	assert_int_equal(scli_zone_offset_at(z, 999999 * S), 3600);
	scli_zone_segment_at(&seg, z, 1000000 * S + 1);
	assert_int_equal(seg.utoff_s, -18000);
	assert_int_equal(seg.start, 1000000 * S); /* not the rule's own earlier change */
	assert_int_equal(scli_zone_offset_at(z, utc("1970-06-01T00:00:00Z")), -14400);
	scli_zone_free(z);
}

static void test_zone_new_refuses(void **state)
{
	const int64_t unordered[] = {10, 10};
	const int32_t off[] = {0, 3600};
	const int32_t huge[] = {0, 26 * 3600};
	scli_zone *z = (scli_zone *)&z;
	const char *why = NULL;

	(void)state;
	assert_int_equal(scli_zone_new(&z, "x", unordered, off, 2, 0, NULL, &why), SCLI_EINVALID);
	assert_null(z);
	assert_string_equal(why, "the changes are not in order");
	assert_int_equal(scli_zone_new(&z, "x", (const int64_t[]){1, 2}, huge, 2, 0, NULL, &why),
			 SCLI_EINVALID);
	assert_string_equal(why, "a UTC offset is beyond ±26 hours");
	assert_int_equal(scli_zone_new(&z, "x", NULL, NULL, 0, 0, "EST5EDT,", &why), SCLI_EINVALID);
	assert_string_equal(why, "the POSIX TZ rule does not parse");
	assert_int_equal(scli_zone_new(&z, "x", NULL, NULL, 0, -93600, NULL, &why), SCLI_EINVALID);
}

/* TZif files open with a change at -2^59 s; it must not overflow µs. */
static void test_zone_far_changes(void **state)
{
	const int64_t at_s[] = {-(INT64_C(1) << 59), 0, INT64_C(1) << 40};
	const int32_t off[] = {-17762, -18000, 3600};
	scli_zone *z = NULL;

	(void)state;
	assert_int_equal(scli_zone_new(&z, "x", at_s, off, 3, 0, NULL, NULL), 0);
	assert_int_equal(scli_zone_offset_at(z, SCLI_TIMESTAMP_MIN), -17762);
	assert_int_equal(scli_zone_offset_at(z, SCLI_TIMESTAMP_MAX), -18000);
	scli_zone_free(z);
}

static void test_fixed(void **state)
{
	static const struct {
		const char *text, *name;
		int32_t off;
	} ok[] = {
	    {"+05:30", "+05:30", 19800},
	    {"-0330", "-03:30", -12600},
	    {"+05", "+05:00", 18000},
	    {"-23:59", "-23:59", -86340},
	    {"UTC", "UTC", 0},
	    {"utc", "UTC", 0},
	    {"Z", "UTC", 0},
	    {"z", "UTC", 0},
	    {"+00:00", "UTC", 0},
	    {"-00", "UTC", 0},
	};
	static const char *const not_fixed[] = {"",	  "+24:00", "+05:60",	    "+5:30",
						"05:30",  "UTCx",   "+05:3",	    "+05:30:00",
						"+0530x", "GMT",    "Europe/Berlin"};
	scli_zone *z = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(scli_zone_parse_fixed(&z, ok[i].text), 0);
		assert_string_equal(scli_zone_name(z), ok[i].name);
		assert_int_equal(scli_zone_offset_at(z, 0), ok[i].off);
		assert_int_equal(scli_zone_is_utc(z), ok[i].off == 0);
		scli_zone_free(z);
	}
	for (i = 0; i < sizeof(not_fixed) / sizeof(not_fixed[0]); i++) {
		assert_int_equal(scli_zone_parse_fixed(&z, not_fixed[i]), SCLI_ENOTFOUND);
		assert_null(z);
	}
	scli_zone_free(NULL);
}

static void test_format(void **state)
{
	const int64_t at_s[] = {0};
	const int32_t off[] = {0};
	scli_zone *z = NULL;
	char buf[SCLI_ZONE_TIME_BUFSZ];

	(void)state;
	assert_int_equal(scli_zone_parse_fixed(&z, "UTC"), 0);
	assert_int_equal(scli_zone_format(buf, z, utc("2021-03-01T04:00:00Z")), 20);
	assert_string_equal(buf, "2021-03-01T04:00:00Z");
	scli_zone_free(z);
	assert_int_equal(scli_zone_parse_fixed(&z, "-03:30"), 0);
	assert_int_equal(scli_zone_format(buf, z, utc("2021-03-01T04:00:00.25Z")), 28);
	assert_string_equal(buf, "2021-03-01T00:30:00.25-03:30");
	scli_zone_free(z);
	/* a zone at UTC only some of the time says +00:00, not Z */
	assert_int_equal(scli_zone_new(&z, "London-ish", at_s, off, 1, 3600, NULL, NULL), 0);
	assert_false(scli_zone_is_utc(z));
	scli_zone_format(buf, z, 0);
	assert_string_equal(buf, "1970-01-01T00:00:00+00:00");
	scli_zone_format(buf, z, -1);
	assert_string_equal(buf, "1970-01-01T00:59:59.999999+01:00");
	scli_zone_free(z);
	/* offsets with seconds keep them */
	assert_int_equal(scli_zone_new(&z, "LMT", NULL, NULL, 0, -17762, NULL, NULL), 0);
	assert_int_equal(scli_zone_format(buf, z, 0), 28);
	assert_string_equal(buf, "1969-12-31T19:03:58-04:56:02");
	scli_zone_free(z);
	/* far ends of the calendar */
	assert_int_equal(scli_zone_parse_fixed(&z, "+23:59"), 0);
	scli_zone_format(buf, z, SCLI_TIMESTAMP_MAX);
	assert_string_equal(buf, "10000-01-01T23:58:59.999999+23:59");
	scli_zone_free(z);
}

static void test_local_to_instant(void **state)
{
	/* +1 h until 1000 s, then +2 h (a gap), then +1 h from 10000 s (a fold) */
	const int64_t at_s[] = {1000, 10000};
	const int32_t off[] = {7200, 3600};
	scli_zone *z = NULL;
	scli_zone_gap gap;
	int64_t t = 42;
	char why[SCLI_ZONE_WHY_BUFSZ];

	(void)state;
	assert_int_equal(scli_zone_new(&z, "Test/Zone", at_s, off, 2, 3600, NULL, NULL), 0);
	assert_int_equal(scli_zone_local_to_instant(&t, &gap, z, (3600 + 999) * S), 0);
	assert_int_equal(t, 999 * S);
	assert_int_equal(scli_zone_local_to_instant(&t, &gap, z, (3600 + 1000) * S), SCLI_EINVALID);
	assert_int_equal(t, 999 * S);
	assert_int_equal(gap.at, 1000 * S);
	assert_int_equal(gap.from_local, (3600 + 1000) * S);
	assert_int_equal(gap.to_local, (7200 + 1000) * S);
	assert_int_equal(scli_zone_local_to_instant(&t, NULL, z, (7200 + 1000) * S - 1),
			 SCLI_EINVALID);
	assert_int_equal(scli_zone_local_to_instant(&t, &gap, z, (7200 + 1000) * S), 0);
	assert_int_equal(t, 1000 * S);
	assert_int_equal(scli_zone_first_at_or_after(z, (3600 + 1500) * S), 1000 * S);
	/* shown twice: the earlier */
	assert_int_equal(scli_zone_local_to_instant(&t, &gap, z, (3600 + 10000) * S), 0);
	assert_int_equal(t, 10000 * S - 3600 * S);
	assert_int_equal(scli_zone_first_at_or_after(z, (3600 + 10000) * S), 10000 * S - 3600 * S);
	scli_zone_gap_describe(why, sizeof(why), z, (3600 + 1000) * S, &(scli_zone_gap){0, 0, 0});
	assert_string_equal(why, "1970-01-01T01:16:40 does not exist in Test/Zone (clocks went "
				 "from 00:00 to 00:00)");
	scli_zone_gap_describe(why, 1, z, 0, &gap);
	assert_string_equal(why, "");
	scli_zone_free(z);
}

static void test_timestamp_parse_wall(void **state)
{
	int64_t t = 0;
	scli_timestamp_kind kind = SCLI_TIMESTAMP_INSTANT;
	const char *why = NULL;

	(void)state;
	assert_int_equal(scli_timestamp_parse_wall(&t, &kind, "2021-03-01T04:00+05:30", 22, &why),
			 0);
	assert_int_equal(kind, SCLI_TIMESTAMP_INSTANT);
	assert_int_equal(t, utc("2021-02-28T22:30:00Z"));
	assert_int_equal(scli_timestamp_parse_wall(&t, &kind, "2021-03-01T04:00z", 17, &why), 0);
	assert_int_equal(kind, SCLI_TIMESTAMP_INSTANT);
	assert_int_equal(scli_timestamp_parse_wall(&t, &kind, "2021-03-01 04:00:01.5", 21, &why),
			 0);
	assert_int_equal(kind, SCLI_TIMESTAMP_WALL);
	assert_int_equal(t, utc("2021-03-01T04:00:01.5Z"));
	assert_int_equal(scli_timestamp_parse_wall(&t, &kind, "2021-03-01", 10, &why), 0);
	assert_int_equal(kind, SCLI_TIMESTAMP_DATE);
	assert_int_equal(t, utc("2021-03-01T00:00:00Z"));
	assert_int_equal(scli_timestamp_parse_wall(&t, NULL, "2021-03-01", 10, &why), 0);
	assert_int_equal(scli_timestamp_parse_wall(&t, &kind, "2021-03-01T04:00x", 17, &why),
			 SCLI_EINVALID);
	assert_string_equal(why, "unexpected text after the timestamp");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rule_parse),
	    cmocka_unit_test(test_rule_parse_refuses),
	    cmocka_unit_test(test_rule_years),
	    cmocka_unit_test(test_zone_from_rule_only),
	    cmocka_unit_test(test_zone_changes_then_rule),
	    cmocka_unit_test(test_zone_new_refuses),
	    cmocka_unit_test(test_zone_far_changes),
	    cmocka_unit_test(test_fixed),
	    cmocka_unit_test(test_format),
	    cmocka_unit_test(test_local_to_instant),
	    cmocka_unit_test(test_timestamp_parse_wall),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
