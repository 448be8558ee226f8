/*
 * Windows on a zone's wall clock (src/domain/window.c), hand-checked: the days
 * of the clock changes, zones with 30- and 45-minute offsets and 30-minute
 * changes, changes that skip or repeat midnight, local mean time, fixed
 * offsets, months across DST and 2040 (the POSIX rule). Every expected start
 * below was worked out from the tz database's changes and checked against
 * Python's zoneinfo; tests/integration/test_window_oracle.c compares whole
 * ranges mechanically. The zones come from the system's database: without it
 * these tests are skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "scli/alloc.h"
#include "scli/bucket.h"
#include "scli/error.h"
#include "scli/timestamp.h"
#include "scli/window.h"
#include "scli/zone.h"

#define MIN INT64_C(60000000)

/* One expected window: its printed start, its length in minutes, partial. */
typedef struct want {
	const char *start;
	int64_t minutes;
	bool partial;
} want;

static scli_zone *zone(const char *name)
{
	scli_zone *z = NULL;
	char path[256];

	if (name[0] != '+' && name[0] != '-' && strcmp(name, "UTC") != 0) {
		snprintf(path, sizeof(path), "%s/%s", SCLI_ZONEINFO_DIR, name);
		if (access(path, R_OK) != 0)
			skip(); /* no tz database on this machine */
	}
	if (scli_zone_load(&z, name) < 0)
		fail_msg("%s: %s", name, scli_error_last());
	return z;
}

static int64_t at(const scli_zone *z, const char *text)
{
	char why[SCLI_ZONE_WHY_BUFSZ];
	int64_t t = 0;

	if (scli_zone_parse_time(&t, why, sizeof(why), z, text, strlen(text)) < 0)
		fail_msg("%s: %s", text, why);
	return t;
}

static void check_windows(const char *name, scli_window_size size, const char *from, const char *to,
			  const want *w, size_t n)
{
	scli_zone *z = zone(name);
	scli_window *list = NULL;
	size_t got = 0, i;
	const char *why = NULL;
	char buf[SCLI_ZONE_TIME_BUFSZ];

	assert_int_equal(scli_window_list(&list, &got, z, size, at(z, from), at(z, to), &why), 0);
	for (i = 0; i < got && i < n; i++) {
		scli_zone_format(buf, z, list[i].start);
		if (strcmp(buf, w[i].start) != 0 ||
		    list[i].end - list[i].start != w[i].minutes * MIN ||
		    list[i].partial != w[i].partial)
			fail_msg(
			    "%s %s window %zu: got %s, %lld min, partial %d; want %s, %lld, %d",
			    name, scli_window_size_name(size), i, buf,
			    (long long)((list[i].end - list[i].start) / MIN), list[i].partial,
			    w[i].start, (long long)w[i].minutes, w[i].partial);
		/* the window list and floor/next agree */
		assert_int_equal(scli_window_floor(z, size, list[i].start), list[i].start);
		assert_int_equal(scli_window_floor(z, size, list[i].end - 1), list[i].start);
		assert_int_equal(scli_window_next(z, size, list[i].start), list[i].end);
	}
	assert_int_equal(got, n);
	scli_free(list);
	scli_zone_free(z);
}

#define CHECK(zone, size, from, to, ...)                                                           \
	do {                                                                                       \
		static const want w_[] = {__VA_ARGS__};                                            \
		check_windows(zone, size, from, to, w_, sizeof(w_) / sizeof(w_[0]));               \
	} while (0)

static void test_new_york(void **state)
{
	(void)state;
	/* 2021-03-14: 02:00 EST -> 03:00 EDT, a 23-hour day */
	CHECK("America/New_York", SCLI_WINDOW_DAY, "2021-03-13", "2021-03-16",
	      {"2021-03-13T00:00:00-05:00", 1440, false},
	      {"2021-03-14T00:00:00-05:00", 1380, false},
	      {"2021-03-15T00:00:00-04:00", 1440, false});
	CHECK("America/New_York", SCLI_WINDOW_HOUR, "2021-03-14T01:00", "2021-03-14T04:00",
	      {"2021-03-14T01:00:00-05:00", 60, false}, {"2021-03-14T03:00:00-04:00", 60, false});
	/* 2021-11-07: 02:00 EDT -> 01:00 EST, a 25-hour day with two 01:00 hours */
	CHECK("America/New_York", SCLI_WINDOW_DAY, "2021-11-07", "2021-11-08",
	      {"2021-11-07T00:00:00-04:00", 1500, false});
	CHECK("America/New_York", SCLI_WINDOW_HOUR, "2021-11-07T00:00", "2021-11-07T03:00",
	      {"2021-11-07T00:00:00-04:00", 60, false}, {"2021-11-07T01:00:00-04:00", 60, false},
	      {"2021-11-07T01:00:00-05:00", 60, false}, {"2021-11-07T02:00:00-05:00", 60, false});
	/* an instant in the second 01:00 hour lies in that window, not the first */
	CHECK("America/New_York", SCLI_WINDOW_HOUR, "2021-11-07T06:20:00Z", "2021-11-07T06:40:00Z",
	      {"2021-11-07T01:00:00-05:00", 60, true});
}

static void test_berlin(void **state)
{
	(void)state;
	CHECK("Europe/Berlin", SCLI_WINDOW_HOUR, "2021-03-28T01:00", "2021-03-28T04:00",
	      {"2021-03-28T01:00:00+01:00", 60, false}, {"2021-03-28T03:00:00+02:00", 60, false});
	CHECK("Europe/Berlin", SCLI_WINDOW_HOUR, "2021-10-31T01:00", "2021-10-31T04:00",
	      {"2021-10-31T01:00:00+02:00", 60, false}, {"2021-10-31T02:00:00+02:00", 60, false},
	      {"2021-10-31T02:00:00+01:00", 60, false}, {"2021-10-31T03:00:00+01:00", 60, false});
	CHECK("Europe/Berlin", SCLI_WINDOW_DAY, "2021-10-31", "2021-11-01",
	      {"2021-10-31T00:00:00+02:00", 1500, false});
}

/* Lord Howe moves its clocks by 30 minutes. An hour window starts where the
 * clock shows a whole hour, so the hour the change falls in lasts 90 minutes
 * both times: in April 01:00-02:00 (+11) then 01:30-02:00 again (+10:30); in
 * October 01:00-02:00 (+10:30) and, the clock jumping from 02:00 to 02:30,
 * 02:30-03:00 (+11). */
static void test_lord_howe(void **state)
{
	(void)state;
	CHECK("Australia/Lord_Howe", SCLI_WINDOW_HOUR, "2021-04-04T00:00", "2021-04-04T03:00",
	      {"2021-04-04T00:00:00+11:00", 60, false}, {"2021-04-04T01:00:00+11:00", 90, false},
	      {"2021-04-04T02:00:00+10:30", 60, false});
	CHECK("Australia/Lord_Howe", SCLI_WINDOW_HOUR, "2021-10-03T00:00", "2021-10-03T04:00",
	      {"2021-10-03T00:00:00+10:30", 60, false}, {"2021-10-03T01:00:00+10:30", 90, false},
	      {"2021-10-03T03:00:00+11:00", 60, false});
	CHECK("Australia/Lord_Howe", SCLI_WINDOW_DAY, "2021-04-04", "2021-04-05",
	      {"2021-04-04T00:00:00+11:00", 1470, false});
	CHECK("Australia/Lord_Howe", SCLI_WINDOW_DAY, "2021-10-03", "2021-10-04",
	      {"2021-10-03T00:00:00+10:30", 1410, false});
	/* minutes go on one by one through the repeated half hour */
	CHECK("Australia/Lord_Howe", SCLI_WINDOW_MINUTE, "2021-04-03T14:59:00Z",
	      "2021-04-03T15:01:00Z", {"2021-04-04T01:59:00+11:00", 1, false},
	      {"2021-04-04T01:30:00+10:30", 1, false});
}

static void test_half_and_quarter_hour_zones(void **state)
{
	(void)state;
	/* +05:30: hours start at :30 UTC */
	CHECK("Asia/Kolkata", SCLI_WINDOW_HOUR, "2021-03-01T04:00:00Z", "2021-03-01T06:00:00Z",
	      {"2021-03-01T09:00:00+05:30", 60, true}, {"2021-03-01T10:00:00+05:30", 60, false},
	      {"2021-03-01T11:00:00+05:30", 60, true});
	/* +05:45: at :15 UTC */
	CHECK("Asia/Kathmandu", SCLI_WINDOW_HOUR, "2021-03-01T04:00:00Z", "2021-03-01T06:00:00Z",
	      {"2021-03-01T09:00:00+05:45", 60, true}, {"2021-03-01T10:00:00+05:45", 60, false},
	      {"2021-03-01T11:00:00+05:45", 60, true});
	/* -03:30 with DST: 02:00 NST -> 03:00 NDT */
	CHECK("America/St_Johns", SCLI_WINDOW_HOUR, "2021-03-14T01:00", "2021-03-14T04:00",
	      {"2021-03-14T01:00:00-03:30", 60, false}, {"2021-03-14T03:00:00-02:30", 60, false});
	CHECK("America/St_Johns", SCLI_WINDOW_DAY, "2021-11-07", "2021-11-08",
	      {"2021-11-07T00:00:00-02:30", 1500, false});
}

static void test_midnight_skipped_or_repeated(void **state)
{
	(void)state;
	/* Santiago 2021-09-05: 24:00 (-04) -> 01:00 (-03); the day starts at 01:00 */
	CHECK("America/Santiago", SCLI_WINDOW_DAY, "2021-09-04", "2021-09-06",
	      {"2021-09-04T00:00:00-04:00", 1440, false},
	      {"2021-09-05T01:00:00-03:00", 1380, false});
	/* Havana 2021-03-14: 00:00 (-05) -> 01:00 (-04), as a month's first day too */
	CHECK("America/Havana", SCLI_WINDOW_DAY, "2021-03-14", "2021-03-15",
	      {"2021-03-14T01:00:00-04:00", 1380, false});
	/* Havana 2021-11-07: 01:00 (-04) -> 00:00 (-05): midnight is shown twice,
	 * which makes two 00:00 hours but one day */
	CHECK("America/Havana", SCLI_WINDOW_DAY, "2021-11-07", "2021-11-08",
	      {"2021-11-07T00:00:00-04:00", 1500, false});
	CHECK("America/Havana", SCLI_WINDOW_HOUR, "2021-11-07", "2021-11-07T01:00",
	      {"2021-11-07T00:00:00-04:00", 60, false}, {"2021-11-07T00:00:00-05:00", 60, false});
	/* Samoa skipped 2011-12-30 altogether: no window for it */
	CHECK("Pacific/Apia", SCLI_WINDOW_DAY, "2011-12-29", "2012-01-01",
	      {"2011-12-29T00:00:00-10:00", 1440, false},
	      {"2011-12-31T00:00:00+14:00", 1440, false});
}

/* St John's until 2011 ended DST at 00:01, putting the clock back to 23:01 of
 * the day before: that date was already shown, so it is still 2010-11-07's
 * window (25 hours long), even for an instant in the repeated hour. */
static void test_clock_back_across_midnight(void **state)
{
	(void)state;
	CHECK("America/St_Johns", SCLI_WINDOW_DAY, "2010-11-07", "2010-11-08",
	      {"2010-11-07T00:00:00-02:30", 1500, false});
	CHECK("America/St_Johns", SCLI_WINDOW_DAY, "2010-11-07T03:00:00Z", "2010-11-07T03:01:00Z",
	      {"2010-11-07T00:00:00-02:30", 1500, true});
}

/* New York kept local mean time (-4:56:02) until 1883-11-18 12:03:58, when the
 * clock went back to 12:00 EST: 12:00 shows twice, once for 3 min 58 s. */
static void test_local_mean_time(void **state)
{
	static const char *const starts[] = {"1883-11-18T11:00:00-04:56:02",
					     "1883-11-18T12:00:00-04:56:02",
					     "1883-11-18T12:00:00-05:00"};
	static const int64_t seconds[] = {3600, 3 * 60 + 58, 3600};
	scli_zone *z;
	scli_window *list = NULL;
	size_t n = 0, i;
	char buf[SCLI_ZONE_TIME_BUFSZ];

	(void)state;
	z = zone("America/New_York");
	scli_zone_format(buf, z, at(z, "1880-01-01T12:00:00Z"));
	assert_string_equal(buf, "1880-01-01T07:03:58-04:56:02");
	assert_int_equal(scli_window_list(&list, &n, z, SCLI_WINDOW_HOUR,
					  at(z, "1883-11-18T16:00:00Z"),
					  at(z, "1883-11-18T18:00:00Z"), NULL),
			 0);
	assert_int_equal(n, 3);
	for (i = 0; i < n; i++) {
		scli_zone_format(buf, z, list[i].start);
		assert_string_equal(buf, starts[i]);
		assert_int_equal(list[i].end - list[i].start, seconds[i] * INT64_C(1000000));
	}
	assert_true(list[0].partial);
	scli_free(list);
	scli_zone_free(z);
}

static void test_fixed_offsets(void **state)
{
	(void)state;
	CHECK("+05:30", SCLI_WINDOW_DAY, "2021-03-01", "2021-03-03",
	      {"2021-03-01T00:00:00+05:30", 1440, false},
	      {"2021-03-02T00:00:00+05:30", 1440, false});
	CHECK("-03:30", SCLI_WINDOW_HOUR, "2021-03-01T04:00:00Z", "2021-03-01T05:00:00Z",
	      {"2021-03-01T00:00:00-03:30", 60, true}, {"2021-03-01T01:00:00-03:30", 60, true});
	CHECK("UTC", SCLI_WINDOW_HOUR, "2021-03-01T04:00:00Z", "2021-03-01T06:30:00Z",
	      {"2021-03-01T04:00:00Z", 60, false}, {"2021-03-01T05:00:00Z", 60, false},
	      {"2021-03-01T06:00:00Z", 60, true});
}

static void test_months(void **state)
{
	(void)state;
	CHECK("America/New_York", SCLI_WINDOW_MONTH, "2021-03-01", "2021-05-01",
	      {"2021-03-01T00:00:00-05:00", 31 * 1440 - 60, false},
	      {"2021-04-01T00:00:00-04:00", 30 * 1440, false});
	CHECK("Australia/Lord_Howe", SCLI_WINDOW_MONTH, "2021-04-15", "2021-05-15",
	      {"2021-04-01T00:00:00+11:00", 30 * 1440 + 30, true},
	      {"2021-05-01T00:00:00+10:30", 31 * 1440, true});
	CHECK("Asia/Kolkata", SCLI_WINDOW_MONTH, "2021-02-01", "2021-03-01",
	      {"2021-02-01T00:00:00+05:30", 28 * 1440, false});
}

/* After 2037 the tz files list no changes: the footer's POSIX rule decides. */
static void test_2040_by_rule(void **state)
{
	(void)state;
	/* second Sunday of March 2040 is the 11th, first Sunday of November the 4th */
	CHECK("America/New_York", SCLI_WINDOW_DAY, "2040-03-11", "2040-03-12",
	      {"2040-03-11T00:00:00-05:00", 1380, false});
	CHECK("America/New_York", SCLI_WINDOW_HOUR, "2040-11-04T01:00", "2040-11-04T02:00",
	      {"2040-11-04T01:00:00-04:00", 60, false}, {"2040-11-04T01:00:00-05:00", 60, false});
	/* first Sunday of April 2040 is the 1st */
	CHECK("Australia/Lord_Howe", SCLI_WINDOW_DAY, "2040-04-01", "2040-04-02",
	      {"2040-04-01T00:00:00+11:00", 1470, false});
	/* Santiago's rule changes at 24:00 on a Saturday: M9.1.6/24 */
	CHECK("America/Santiago", SCLI_WINDOW_DAY, "2040-09-02", "2040-09-03",
	      {"2040-09-02T01:00:00-03:00", 1380, false});
}

static void test_wall_clock_times(void **state)
{
	char why[SCLI_ZONE_WHY_BUFSZ];
	int64_t t;
	scli_zone *ny, *z;

	(void)state;
	ny = zone("America/New_York");
	/* a time shown twice is the earlier instant */
	assert_int_equal(at(ny, "2021-11-07T01:30"), at(ny, "2021-11-07T05:30:00Z"));
	/* with an offset it is that instant, whatever the zone's clock did */
	assert_int_equal(at(ny, "2021-11-07T01:30-05:00"), at(ny, "2021-11-07T06:30:00Z"));
	assert_int_equal(at(ny, "2021-03-14T02:30-05:00"), at(ny, "2021-03-14T07:30:00Z"));
	assert_int_equal(scli_zone_parse_time(&t, why, sizeof(why), ny, "2021-03-14T02:30", 16),
			 SCLI_EINVALID);
	assert_string_equal(why, "2021-03-14T02:30 does not exist in America/New_York (clocks "
				 "went from 02:00 to 03:00)");
	assert_int_equal(
	    scli_zone_parse_time(&t, why, sizeof(why), ny, "2021-03-14 02:00:00.5", 21),
	    SCLI_EINVALID);
	assert_string_equal(why, "2021-03-14T02:00:00.5 does not exist in America/New_York (clocks "
				 "went from 02:00 to 03:00)");
	assert_int_equal(scli_zone_parse_time(&t, why, sizeof(why), ny, "2021-02-29", 10),
			 SCLI_EINVALID);
	assert_string_equal(why, "day is out of range for the month");
	/* a short buffer truncates, always terminated */
	assert_int_equal(scli_zone_parse_time(&t, why, 11, ny, "2021-03-14T02:30", 16),
			 SCLI_EINVALID);
	assert_string_equal(why, "2021-03-14");
	scli_zone_free(ny);

	z = zone("America/Santiago");
	assert_int_equal(scli_zone_parse_time(&t, why, sizeof(why), z, "2021-09-05T00:30", 16),
			 SCLI_EINVALID);
	assert_string_equal(why, "2021-09-05T00:30 does not exist in America/Santiago (clocks went "
				 "from 00:00 to 01:00)");
	/* a date alone is the start of that date, even where its midnight is skipped */
	assert_int_equal(at(z, "2021-09-05"), at(z, "2021-09-05T04:00:00Z"));
	scli_zone_free(z);

	z = zone("Australia/Lord_Howe");
	assert_int_equal(scli_zone_parse_time(&t, why, sizeof(why), z, "2021-10-03T02:15", 16),
			 SCLI_EINVALID);
	assert_string_equal(why, "2021-10-03T02:15 does not exist in Australia/Lord_Howe (clocks "
				 "went from 02:00 to 02:30)");
	scli_zone_free(z);

	z = zone("Pacific/Apia");
	assert_int_equal(scli_zone_parse_time(&t, why, sizeof(why), z, "2011-12-30T12:00", 16),
			 SCLI_EINVALID);
	assert_string_equal(why, "2011-12-30T12:00 does not exist in Pacific/Apia (clocks went "
				 "from 2011-12-30T00:00 to 2011-12-31T00:00)");
	scli_zone_free(z);

	z = zone("+14:00");
	assert_int_equal(scli_zone_parse_time(&t, why, sizeof(why), z, "0001-01-01", 10),
			 SCLI_EINVALID);
	assert_string_equal(why, "the time zone moves the timestamp outside years 0001-9999");
	scli_zone_free(z);
}

static void test_limits(void **state)
{
	scli_zone *z;
	scli_window *list = NULL;
	size_t n = 7;
	const char *why = NULL;

	(void)state;
	z = zone("UTC");
	assert_int_equal(scli_window_list(&list, &n, z, SCLI_WINDOW_MINUTE, 0, 100000 * MIN, &why),
			 0);
	assert_int_equal(n, SCLI_MAX_BUCKETS);
	assert_int_equal(list[n - 1].start, 99999 * MIN);
	scli_free(list);
	assert_int_equal(
	    scli_window_list(&list, &n, z, SCLI_WINDOW_MINUTE, 0, 100000 * MIN + 1, &why),
	    SCLI_ERANGE);
	assert_null(list);
	assert_int_equal(n, 0);
	assert_string_equal(why, "the range spans more than 100000 minute windows (about 69 days)");
	assert_int_equal(scli_window_list(&list, &n, z, SCLI_WINDOW_DAY, 1, 0, &why),
			 SCLI_EINVALID);
	assert_string_equal(why, "--from is after --to");
	assert_int_equal(scli_window_list(&list, &n, z, SCLI_WINDOW_DAY, 5, 5, &why), 0);
	assert_int_equal(n, 0);
	assert_null(list);
	/* the whole calendar in months is within the limit; in days it is not */
	assert_int_equal(scli_window_list(&list, &n, z, SCLI_WINDOW_MONTH, SCLI_TIMESTAMP_MIN,
					  SCLI_TIMESTAMP_MAX, &why),
			 SCLI_ERANGE);
	assert_int_equal(scli_window_list(&list, &n, z, SCLI_WINDOW_MONTH, SCLI_TIMESTAMP_MIN,
					  at(z, "8000-01-01"), &why),
			 0);
	assert_int_equal(n, 7999 * 12);
	scli_free(list);
	scli_zone_free(z);
}

static void test_size_names(void **state)
{
	scli_window_size s;

	(void)state;
	assert_int_equal(scli_window_size_parse(&s, "month"), 0);
	assert_int_equal(s, SCLI_WINDOW_MONTH);
	assert_string_equal(scli_window_size_name(SCLI_WINDOW_MINUTE), "minute");
	assert_int_equal(scli_window_size_parse(&s, "week"), SCLI_EINVALID);
	assert_int_equal(scli_window_size_parse(&s, "Hour"), SCLI_EINVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_new_york),
	    cmocka_unit_test(test_berlin),
	    cmocka_unit_test(test_lord_howe),
	    cmocka_unit_test(test_half_and_quarter_hour_zones),
	    cmocka_unit_test(test_midnight_skipped_or_repeated),
	    cmocka_unit_test(test_clock_back_across_midnight),
	    cmocka_unit_test(test_local_mean_time),
	    cmocka_unit_test(test_fixed_offsets),
	    cmocka_unit_test(test_months),
	    cmocka_unit_test(test_2040_by_rule),
	    cmocka_unit_test(test_wall_clock_times),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_size_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
