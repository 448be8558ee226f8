/* Hour arithmetic, the bucket series over [from, to) and the count plan. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "scli/bucket.h"
#include "scli/error.h"
#include "scli/timestamp.h"

#define H SCLI_US_PER_HOUR
#define T0 INT64_C(1614571200000000) /* 2021-03-01T04:00:00Z, an hour start */

static void test_hour_floor_ceil(void **state)
{
	static const struct {
		int64_t us, floor, ceil;
	} cases[] = {
	    {0, 0, 0},
	    {1, 0, H},
	    {H - 1, 0, H},
	    {H, H, H},
	    {H + 1, H, 2 * H},
	    {-1, -H, 0},
	    {-H + 1, -H, 0},
	    {-H, -H, -H},
	    {-H - 1, -2 * H, -H},
	    {T0, T0, T0},
	    {T0 + 67450000, T0, T0 + H},
	    {T0 - 1, T0 - H, T0},
	    {SCLI_TIMESTAMP_MIN, SCLI_TIMESTAMP_MIN, SCLI_TIMESTAMP_MIN},
	    {SCLI_TIMESTAMP_MIN + 1, SCLI_TIMESTAMP_MIN, SCLI_TIMESTAMP_MIN + H},
	    {SCLI_TIMESTAMP_MAX, SCLI_TIMESTAMP_MAX + 1 - H, SCLI_TIMESTAMP_MAX + 1},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(scli_hour_floor(cases[i].us), cases[i].floor);
		assert_int_equal(scli_hour_ceil(cases[i].us), cases[i].ceil);
	}
}

/* floor <= us < floor + 1h, and ceil is the smallest hour start >= us,
 * across the epoch, in steps that are not a divisor of an hour. */
static void test_hour_floor_ceil_properties(void **state)
{
	int64_t us;

	(void)state;
	for (us = -50 * H - 7; us < 50 * H; us += 123456789) {
		int64_t f = scli_hour_floor(us), c = scli_hour_ceil(us);

		assert_true(f <= us && us < f + H);
		assert_int_equal(f % H, 0);
		assert_true(c >= us && c - us < H);
		assert_int_equal(c % H, 0);
		assert_int_equal(c, f == us ? f : f + H);
	}
}

static void test_span(void **state)
{
	static const struct {
		int64_t from, to, first;
		size_t count;
	} cases[] = {
	    {T0, T0 + H, T0, 1},
	    {T0, T0 + 24 * H, T0, 24},
	    {T0, T0 + 1, T0, 1},
	    {T0 + 1, T0 + 2, T0, 1},
	    {T0 + 30 * 60000000LL, T0 + H, T0, 1},
	    {T0 + 30 * 60000000LL, T0 + H + 1, T0, 2},
	    {T0 - 1, T0 + 1, T0 - H, 2},
	    {T0 + 1, T0 + 3 * H - 1, T0, 3},
	    {T0 + 1, T0 + 3 * H, T0, 3},
	    {T0 + 1, T0 + 3 * H + 1, T0, 4},
	    {-1, 1, -H, 2},
	    {-H, 0, -H, 1},
	    {-2 * H - 5, -H + 5, -3 * H, 3},
	    {SCLI_TIMESTAMP_MIN, SCLI_TIMESTAMP_MIN + H, SCLI_TIMESTAMP_MIN, 1},
	    {SCLI_TIMESTAMP_MAX - H, SCLI_TIMESTAMP_MAX, SCLI_TIMESTAMP_MAX + 1 - 2 * H, 2},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t first = 42;
		size_t count = 42;
		const char *why = NULL;

		assert_int_equal(scli_bucket_span(&first, &count, cases[i].from, cases[i].to, &why),
				 0);
		assert_int_equal(first, cases[i].first);
		assert_int_equal(count, cases[i].count);
		/* first bucket contains from, last bucket starts before to */
		assert_true(first <= cases[i].from && cases[i].from < first + H);
		assert_true(first + (int64_t)(count - 1) * H < cases[i].to);
		assert_true(first + (int64_t)count * H >= cases[i].to);
	}
}

static void test_span_empty_and_backwards(void **state)
{
	int64_t first;
	size_t count = 42;
	const char *why = NULL;

	(void)state;
	assert_int_equal(scli_bucket_span(&first, &count, T0 + 5, T0 + 5, &why), 0);
	assert_int_equal(count, 0);
	assert_int_equal(scli_bucket_span(&first, &count, -5, -5, NULL), 0);
	assert_int_equal(count, 0);

	assert_int_equal(scli_bucket_span(&first, &count, T0 + 1, T0, &why), SCLI_EINVALID);
	assert_non_null(why);
	assert_true(why[0] != '\0');
	assert_int_equal(scli_bucket_span(&first, &count, T0 + H, T0, NULL), SCLI_EINVALID);
}

static void test_span_limit(void **state)
{
	int64_t first;
	size_t count;
	const char *why = NULL;

	(void)state;
	/* aligned: exactly the limit, then one more hour */
	assert_int_equal(scli_bucket_span(&first, &count, T0, T0 + SCLI_MAX_BUCKETS * H, &why), 0);
	assert_int_equal(count, SCLI_MAX_BUCKETS);
	assert_int_equal(first, T0);
	assert_int_equal(
	    scli_bucket_span(&first, &count, T0, T0 + (SCLI_MAX_BUCKETS + 1) * H, &why),
	    SCLI_ERANGE);
	assert_non_null(why);
	assert_true(why[0] != '\0');
	/* a single microsecond past the limit opens bucket 100001 */
	why = NULL;
	assert_int_equal(scli_bucket_span(&first, &count, T0, T0 + SCLI_MAX_BUCKETS * H + 1, &why),
			 SCLI_ERANGE);
	assert_non_null(why);
	/* unaligned: 100000 buckets cut at both ends are still OK */
	assert_int_equal(
	    scli_bucket_span(&first, &count, T0 + 1, T0 + (SCLI_MAX_BUCKETS - 1) * H + 1, NULL), 0);
	assert_int_equal(count, SCLI_MAX_BUCKETS);
	assert_int_equal(
	    scli_bucket_span(&first, &count, T0 + 1, T0 + SCLI_MAX_BUCKETS * H + 1, NULL),
	    SCLI_ERANGE);
	/* the whole representable range */
	assert_int_equal(
	    scli_bucket_span(&first, &count, SCLI_TIMESTAMP_MIN, SCLI_TIMESTAMP_MAX, NULL),
	    SCLI_ERANGE);
}

static void test_partial(void **state)
{
	(void)state;
	/* aligned range: no bucket is partial */
	assert_false(scli_bucket_is_partial(T0, T0, T0 + 2 * H));
	assert_false(scli_bucket_is_partial(T0 + H, T0, T0 + 2 * H));
	/* cut by from */
	assert_true(scli_bucket_is_partial(T0, T0 + 1, T0 + 2 * H));
	assert_false(scli_bucket_is_partial(T0 + H, T0 + 1, T0 + 2 * H));
	/* cut by to */
	assert_false(scli_bucket_is_partial(T0, T0, T0 + 2 * H - 1));
	assert_true(scli_bucket_is_partial(T0 + H, T0, T0 + 2 * H - 1));
	/* one bucket cut by both */
	assert_true(scli_bucket_is_partial(T0, T0 + 10, T0 + 20));
	/* negative times */
	assert_true(scli_bucket_is_partial(-H, -1, 0));
	assert_false(scli_bucket_is_partial(-H, -H, 0));
}

/* The plan's three ranges are well-formed, disjoint, and cover [from, to);
 * the rollup range is whole hours. */
static void check_plan(int64_t from, int64_t to)
{
	scli_count_plan p;

	scli_count_plan_make(&p, from, to);
	assert_true(p.head_from <= p.head_to);
	assert_true(p.rollup_from <= p.rollup_to);
	assert_true(p.tail_from <= p.tail_to);
	if (p.rollup_from < p.rollup_to) {
		assert_int_equal(p.rollup_from % H, 0);
		assert_int_equal(p.rollup_to % H, 0);
		/* head and tail are each shorter than an hour */
		assert_true(p.head_to - p.head_from < H);
		assert_true(p.tail_to - p.tail_from < H);
		/* contiguous: head, rollup, tail */
		assert_int_equal(p.head_from, from);
		assert_int_equal(p.head_to, p.rollup_from);
		assert_int_equal(p.rollup_to, p.tail_from);
		assert_int_equal(p.tail_to, to);
	} else {
		/* no whole hour: the non-empty ranges alone cover [from, to) */
		int64_t covered = (p.head_to - p.head_from) + (p.tail_to - p.tail_from);

		assert_int_equal(covered, to - from);
		if (p.head_from < p.head_to && p.tail_from < p.tail_to)
			assert_true(p.head_to <= p.tail_from || p.tail_to <= p.head_from);
		if (p.head_from < p.head_to)
			assert_true(p.head_from >= from && p.head_to <= to);
		if (p.tail_from < p.tail_to)
			assert_true(p.tail_from >= from && p.tail_to <= to);
	}
	/* total length equals the range: together with the above, an exact cover */
	assert_int_equal((p.head_to - p.head_from) + (p.rollup_to - p.rollup_from) +
			     (p.tail_to - p.tail_from),
			 to - from);
}

static void test_count_plan_cases(void **state)
{
	scli_count_plan p;

	(void)state;
	/* aligned: everything from the rollup */
	scli_count_plan_make(&p, T0, T0 + 3 * H);
	assert_int_equal(p.head_from, p.head_to);
	assert_int_equal(p.rollup_from, T0);
	assert_int_equal(p.rollup_to, T0 + 3 * H);
	assert_int_equal(p.tail_from, p.tail_to);

	/* unaligned at both ends */
	scli_count_plan_make(&p, T0 + 5, T0 + 3 * H + 7);
	assert_int_equal(p.head_from, T0 + 5);
	assert_int_equal(p.head_to, T0 + H);
	assert_int_equal(p.rollup_from, T0 + H);
	assert_int_equal(p.rollup_to, T0 + 3 * H);
	assert_int_equal(p.tail_from, T0 + 3 * H);
	assert_int_equal(p.tail_to, T0 + 3 * H + 7);

	/* inside one hour: all raw */
	scli_count_plan_make(&p, T0 + 5, T0 + 10);
	assert_int_equal(p.rollup_from, p.rollup_to);
	check_plan(T0 + 5, T0 + 10);

	/* adjacent hours, cut on both sides: no whole hour in between */
	scli_count_plan_make(&p, T0 + 5, T0 + H + 10);
	assert_int_equal(p.rollup_from, p.rollup_to);
	check_plan(T0 + 5, T0 + H + 10);

	/* exactly one whole hour */
	scli_count_plan_make(&p, T0, T0 + H);
	assert_int_equal(p.rollup_from, T0);
	assert_int_equal(p.rollup_to, T0 + H);

	/* empty range */
	scli_count_plan_make(&p, T0 + 5, T0 + 5);
	assert_int_equal(p.head_from, p.head_to);
	assert_int_equal(p.rollup_from, p.rollup_to);
	assert_int_equal(p.tail_from, p.tail_to);
}

static void test_count_plan_properties(void **state)
{
	static const int64_t offsets[] = {0,	     1,	    59 * 60000000LL, H - 1,	 H, H + 1,
					  2 * H - 1, 2 * H, 2 * H + 1,	     5 * H + 123};
	static const int64_t bases[] = {T0, 0, -H, -7 * H - 3, SCLI_TIMESTAMP_MIN};
	size_t b, i, j;

	(void)state;
	for (b = 0; b < sizeof(bases) / sizeof(bases[0]); b++)
		for (i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++)
			for (j = i; j < sizeof(offsets) / sizeof(offsets[0]); j++)
				check_plan(bases[b] + offsets[i], bases[b] + offsets[j]);
	check_plan(SCLI_TIMESTAMP_MAX - 3 * H, SCLI_TIMESTAMP_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hour_floor_ceil),
	    cmocka_unit_test(test_hour_floor_ceil_properties),
	    cmocka_unit_test(test_span),
	    cmocka_unit_test(test_span_empty_and_backwards),
	    cmocka_unit_test(test_span_limit),
	    cmocka_unit_test(test_partial),
	    cmocka_unit_test(test_count_plan_cases),
	    cmocka_unit_test(test_count_plan_properties),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
