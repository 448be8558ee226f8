/*
 * The cell plan (src/domain/cell_plan.c): which parts of a windowed count come
 * from the rollup's 15-minute cells and which from raw events. Hand-checked
 * cases (aligned hours, :30 and :45-style bounds, minutes, an odd offset,
 * a range inside one cell, cut ends, instants before 1970), then random
 * bounds checked cell by cell against the definition.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "scli/alloc.h"
#include "scli/cell_plan.h"
#include "scli/timestamp.h"

#define C SCLI_CELL_US
#define M INT64_C(60000000) /* a minute */
#define S INT64_C(1000000)  /* a second */
#define H (60 * M)
#define T0 INT64_C(1614571200000000) /* 2021-03-01T04:00:00Z, a cell start */
#define MAXW 16

/* One hand-checked plan: the bounds, and the spans expected (-1 ends a list). */
typedef struct plan_case {
	const char *name;
	int64_t bounds[MAXW + 1];
	size_t n;
	scli_span cells[MAXW];
	size_t ncells;
	scli_span raw[MAXW + 1];
	size_t nraw;
} plan_case;

static void check_case(const plan_case *pc)
{
	scli_span *cells = NULL, *raw = NULL;
	size_t ncells = 99, nraw = 99, i;

	print_message("%s\n", pc->name);
	assert_int_equal(scli_cell_plan(&cells, &ncells, &raw, &nraw, pc->bounds, pc->n, C), 0);
	assert_int_equal(ncells, pc->ncells);
	assert_int_equal(nraw, pc->nraw);
	for (i = 0; i < ncells; i++) {
		assert_int_equal(cells[i].from, pc->cells[i].from);
		assert_int_equal(cells[i].to, pc->cells[i].to);
	}
	for (i = 0; i < nraw; i++) {
		assert_int_equal(raw[i].from, pc->raw[i].from);
		assert_int_equal(raw[i].to, pc->raw[i].to);
	}
	scli_free(cells);
	scli_free(raw);
}

static void test_plan_cases(void **state)
{
	/* An offset of +05:17:30 puts local whole hours at UTC :42:30. */
	static const int64_t odd = 42 * M + 30 * S;
	static const plan_case cases[] = {
	    {"hours on cell bounds: all rollup, one span",
	     {T0, T0 + H, T0 + 2 * H, T0 + 3 * H},
	     3,
	     {{T0, T0 + 3 * H}},
	     1,
	     {{0, 0}},
	     0},
	    {"Asia/Kolkata hours (:30 UTC): still whole cells",
	     {T0 + 30 * M, T0 + 90 * M, T0 + 150 * M},
	     2,
	     {{T0 + 30 * M, T0 + 150 * M}},
	     1,
	     {{0, 0}},
	     0},
	    {"Kolkata hours cut at both ends by the range",
	     {T0 + 10 * M, T0 + 30 * M, T0 + 90 * M, T0 + 100 * M},
	     3,
	     {{T0 + 15 * M, T0 + 90 * M}},
	     1,
	     {{T0 + 10 * M, T0 + 15 * M}, {T0 + 90 * M, T0 + 100 * M}},
	     2},
	    {"minute windows: no cell lies in one window, one raw span",
	     {T0, T0 + M, T0 + 2 * M, T0 + 3 * M, T0 + 4 * M, T0 + 5 * M},
	     5,
	     {{0, 0}},
	     0,
	     {{T0, T0 + 5 * M}},
	     1},
	    {"an offset of +05:17:30: each hour's cut cells at both ends are raw",
	     {T0 + odd, T0 + odd + H, T0 + odd + 2 * H},
	     2,
	     {{T0 + 45 * M, T0 + 90 * M}, {T0 + 105 * M, T0 + 150 * M}},
	     2,
	     {{T0 + odd, T0 + 45 * M},
	      {T0 + 90 * M, T0 + 105 * M},
	      {T0 + 150 * M, T0 + odd + 2 * H}},
	     3},
	    {"one window inside one cell",
	     {T0 + M, T0 + 2 * M},
	     1,
	     {{0, 0}},
	     0,
	     {{T0 + M, T0 + 2 * M}},
	     1},
	    {"one window that is exactly one cell",
	     {T0, T0 + C},
	     1,
	     {{T0, T0 + C}},
	     1,
	     {{0, 0}},
	     0},
	    {"one window across two cells, neither whole",
	     {T0 + 5 * M, T0 + 20 * M},
	     1,
	     {{0, 0}},
	     0,
	     {{T0 + 5 * M, T0 + 20 * M}},
	     1},
	    {"one long window cut at both ends",
	     {T0 + 7 * M, T0 + 3 * H + 8 * M},
	     1,
	     {{T0 + 15 * M, T0 + 3 * H}},
	     1,
	     {{T0 + 7 * M, T0 + 15 * M}, {T0 + 3 * H, T0 + 3 * H + 8 * M}},
	     2},
	    {"before and across 1970: floors of negative instants",
	     {-40 * M, -10 * M, 20 * M},
	     2,
	     {{-30 * M, -15 * M}, {0, 15 * M}},
	     2,
	     {{-40 * M, -30 * M}, {-15 * M, 0}, {15 * M, 20 * M}},
	     3},
	    {"1900, an hour of +05:30 cut to the minute",
	     {INT64_C(-2208988800000000) - 31 * M, INT64_C(-2208988800000000) + 29 * M},
	     1,
	     {{INT64_C(-2208988800000000) - 30 * M, INT64_C(-2208988800000000) + 15 * M}},
	     1,
	     {{INT64_C(-2208988800000000) - 31 * M, INT64_C(-2208988800000000) - 30 * M},
	      {INT64_C(-2208988800000000) + 15 * M, INT64_C(-2208988800000000) + 29 * M}},
	     2},
	    {"a microsecond each side of a cell",
	     {T0 - 1, T0 + C + 1},
	     1,
	     {{T0, T0 + C}},
	     1,
	     {{T0 - 1, T0}, {T0 + C, T0 + C + 1}},
	     2},
	    {"a window boundary inside a cell splits it into raw",
	     {T0, T0 + 20 * M, T0 + 45 * M},
	     2,
	     {{T0, T0 + 15 * M}, {T0 + 30 * M, T0 + 45 * M}},
	     2,
	     {{T0 + 15 * M, T0 + 30 * M}},
	     1},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_case(&cases[i]);
}

static void test_window_index(void **state)
{
	static const int64_t b[] = {-20, -10, 0, 10, 30};
	static const struct {
		int64_t t;
		size_t want;
	} cases[] = {
	    {INT64_MIN, 4}, {-21, 4}, {-20, 0}, {-11, 0}, {-10, 1}, {-1, 1},
	    {0, 2},	    {9, 2},   {10, 3},	{29, 3},  {30, 4},  {INT64_MAX, 4},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(scli_window_index(b, 4, cases[i].t), cases[i].want);
	assert_int_equal(scli_window_index(b, 1, -20), 0);
	assert_int_equal(scli_window_index(b, 1, -10), 1);
}

static uint64_t rng_state = UINT64_C(0x9e3779b97f4a7c15);

static uint64_t rng(void)
{
	/* xorshift64*: deterministic, so a failure repeats */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

/* A window length: minutes, odd seconds, whole or half hours, days, or a few
 * microseconds, so bounds land on and off cell edges. */
static int64_t random_step(void)
{
	switch (rng() % 6) {
	case 0:
		return M * (int64_t)(1 + rng() % 3);
	case 1:
		return S * (int64_t)(1 + rng() % 5000);
	case 2:
		return 30 * M * (int64_t)(1 + rng() % 4);
	case 3:
		return 24 * H + (int64_t)(rng() % 3) * H - H;
	case 4:
		return (int64_t)(1 + rng() % 1000);
	default:
		return C * (int64_t)(1 + rng() % 3);
	}
}

/* A cell [k, k + C) must come from the rollup exactly when it lies inside one
 * window; every instant of the range is in exactly one span of the two lists. */
static void check_against_definition(const int64_t *bounds, size_t n)
{
	scli_span *cells = NULL, *raw = NULL;
	size_t ncells, nraw, i, ci = 0, ri = 0;
	int64_t k, at;

	assert_int_equal(scli_cell_plan(&cells, &ncells, &raw, &nraw, bounds, n, C), 0);
	/* each list in order, non-empty spans, neither overlapping nor touching */
	for (i = 0; i < ncells; i++) {
		assert_true(cells[i].from < cells[i].to);
		assert_true(cells[i].from % C == 0 && cells[i].to % C == 0);
		if (i)
			assert_true(cells[i - 1].to < cells[i].from);
	}
	for (i = 0; i < nraw; i++) {
		assert_true(raw[i].from < raw[i].to);
		if (i)
			assert_true(raw[i - 1].to < raw[i].from);
	}
	/* together they tile [bounds[0], bounds[n]) */
	for (at = bounds[0]; ci < ncells || ri < nraw;) {
		if (ci < ncells && cells[ci].from == at)
			at = cells[ci++].to;
		else if (ri < nraw && raw[ri].from == at)
			at = raw[ri++].to;
		else
			fail_msg("a gap or an overlap at %lld", (long long)at);
	}
	assert_int_equal(at, bounds[n]);
	/* cell by cell, against the definition */
	ci = 0;
	for (k = bounds[0] - C - bounds[0] % C; k < bounds[n]; k += C) {
		size_t w = scli_window_index(bounds, n, k);
		bool whole = w < n && scli_window_index(bounds, n, k + C - 1) == w;
		bool in_cells;

		/* k only grows: walk the cell spans along with it */
		while (ci < ncells && cells[ci].to <= k)
			ci++;
		in_cells = ci < ncells && cells[ci].from <= k && k + C <= cells[ci].to;
		assert_int_equal(in_cells, whole);
	}
	scli_free(cells);
	scli_free(raw);
}

static void test_plan_random(void **state)
{
	int64_t bounds[200];
	size_t round, n, i;

	(void)state;
	for (round = 0; round < 2000; round++) {
		n = 1 + (size_t)(rng() % 40);
		/* around 1970 half of the time, so floors of negative instants are tried */
		bounds[0] = (round % 2 ? T0 : -3 * H) + (int64_t)(rng() % (uint64_t)(2 * H));
		for (i = 1; i <= n; i++)
			bounds[i] = bounds[i - 1] + random_step();
		check_against_definition(bounds, n);
	}
}

static void test_window_index_random(void **state)
{
	int64_t bounds[64];
	size_t round, n, i, j;

	(void)state;
	for (round = 0; round < 500; round++) {
		n = 1 + (size_t)(rng() % 60);
		bounds[0] = -1000 + (int64_t)(rng() % 2000);
		for (i = 1; i <= n; i++)
			bounds[i] = bounds[i - 1] + 1 + (int64_t)(rng() % 50);
		for (j = 0; j < 100; j++) {
			int64_t t = bounds[0] - 10 +
				    (int64_t)(rng() % (uint64_t)(bounds[n] - bounds[0] + 20));
			size_t want = n;

			for (i = 0; i < n; i++)
				if (bounds[i] <= t && t < bounds[i + 1])
					want = i;
			assert_int_equal(scli_window_index(bounds, n, t), want);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plan_cases),
	    cmocka_unit_test(test_window_index),
	    cmocka_unit_test(test_plan_random),
	    cmocka_unit_test(test_window_index_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
