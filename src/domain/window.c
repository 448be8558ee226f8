/* Windows on a zone's wall clock (include/scli/window.h has the rules). Minutes
 * and hours are found stretch by stretch of constant offset, where the clock
 * is plain arithmetic; days and months are "the first instant the clock shows
 * this date or later", which scli_zone_first_at_or_after answers. Nothing
 * converts to local time and back, so a repeated hour is never merged. */
#include "scli/window.h"

#include <string.h>

#include "scli/alloc.h"
#include "scli/bucket.h"
#include "scli/error.h"
#include "scli/timestamp.h"
#include "zone_internal.h"

#define US_PER_MINUTE (INT64_C(60) * ZONE_US_PER_S)

static const char *const size_names[] = {"minute", "hour", "day", "month"};

int scli_window_size_parse(scli_window_size *out, const char *text)
{
	size_t i;

	for (i = 0; i < sizeof(size_names) / sizeof(size_names[0]); i++)
		if (strcmp(text, size_names[i]) == 0) {
			*out = (scli_window_size)i;
			return 0;
		}
	return SCLI_EINVALID;
}

const char *scli_window_size_name(scli_window_size size)
{
	return size_names[size];
}

static int64_t floor_mod(int64_t a, int64_t m)
{
	int64_t r = a % m;

	return r < 0 ? r + m : r;
}

static int64_t clock_at(const scli_zone_segment *seg, int64_t us)
{
	return us + seg->utoff_s * ZONE_US_PER_S;
}

/* ---- minutes and hours: wherever the clock shows a multiple of `unit` ---- */

static int64_t fixed_floor(const scli_zone *z, int64_t unit, int64_t us)
{
	scli_zone_segment seg;

	scli_zone_segment_at(&seg, z, us);
	for (;;) {
		int64_t c = us - floor_mod(clock_at(&seg, us), unit);

		if (c >= seg.start)
			return c;
		/* no whole unit on the clock since this stretch began: look before */
		us = seg.start - 1;
		scli_zone_segment_at(&seg, z, us);
	}
}

static int64_t fixed_next(const scli_zone *z, int64_t unit, int64_t start)
{
	scli_zone_segment seg;
	int64_t us = start + 1;

	scli_zone_segment_at(&seg, z, us);
	for (;;) {
		int64_t c = us + floor_mod(-clock_at(&seg, us), unit);

		if (c < seg.end)
			return c;
		us = seg.end;
		scli_zone_segment_at(&seg, z, us);
	}
}

/* ---- days and months: the first instant of a date --------------------- */

/* A clock that went back may have shown a later reading before `us` than at
 * it; the latest one shown up to `us` decides which date's window holds it.
 * Offsets differ by less than two days, so older stretches cannot matter. */
static int64_t latest_clock(const scli_zone *z, int64_t us)
{
	scli_zone_segment seg;
	int64_t latest, horizon = us - 2 * ZONE_SEARCH_US;

	scli_zone_segment_at(&seg, z, us);
	latest = clock_at(&seg, us);
	while (seg.start != INT64_MIN && seg.start > horizon) {
		int64_t before = seg.start - 1;

		scli_zone_segment_at(&seg, z, before);
		if (clock_at(&seg, before) > latest)
			latest = clock_at(&seg, before);
	}
	return latest;
}

/* Local midnight starting the day or month that holds the reading `local`. */
static int64_t period_floor(scli_window_size size, int64_t local)
{
	int64_t days = local / SCLI_US_PER_DAY - (local % SCLI_US_PER_DAY < 0), y;
	unsigned m, d;

	if (size == SCLI_WINDOW_MONTH) {
		scli_civil_from_days(&y, &m, &d, days);
		days = scli_days_from_civil(y, m, 1);
	}
	return days * SCLI_US_PER_DAY;
}

/* Local midnight starting the day or month after the one starting at `local`. */
static int64_t period_next(scli_window_size size, int64_t local)
{
	int64_t y;
	unsigned m, d;

	if (size == SCLI_WINDOW_DAY)
		return local + SCLI_US_PER_DAY;
	scli_civil_from_days(&y, &m, &d, local / SCLI_US_PER_DAY - (local % SCLI_US_PER_DAY < 0));
	return (m == 12 ? scli_days_from_civil(y + 1, 1, 1) : scli_days_from_civil(y, m + 1, 1)) *
	       SCLI_US_PER_DAY;
}

/* ---- the public functions ----------------------------------------------- */

static int64_t unit_of(scli_window_size size)
{
	return size == SCLI_WINDOW_MINUTE ? US_PER_MINUTE : SCLI_US_PER_HOUR;
}

int64_t scli_window_floor(const scli_zone *z, scli_window_size size, int64_t us)
{
	if (size == SCLI_WINDOW_MINUTE || size == SCLI_WINDOW_HOUR)
		return fixed_floor(z, unit_of(size), us);
	return scli_zone_first_at_or_after(z, period_floor(size, latest_clock(z, us)));
}

int64_t scli_window_next(const scli_zone *z, scli_window_size size, int64_t start)
{
	int64_t period;

	if (size == SCLI_WINDOW_MINUTE || size == SCLI_WINDOW_HOUR)
		return fixed_next(z, unit_of(size), start);
	/* from the date the clock shows at `start`, not the one asked for: where a
	 * whole date was skipped (Samoa, 2011-12-30) they differ */
	period = period_floor(size, latest_clock(z, start));
	return scli_zone_first_at_or_after(z, period_next(size, period));
}

static const char *too_many(scli_window_size size)
{
	static const char *const reasons[] = {
	    "the range spans more than 100000 minute windows (about 69 days)",
	    "the range spans more than 100000 hour windows (about 11 years)",
	    "the range spans more than 100000 day windows (about 273 years)",
	    "the range spans more than 100000 month windows (about 8333 years)",
	};

	return reasons[size];
}

static int grow(scli_window **list, size_t *cap, size_t need)
{
	size_t n = *cap ? *cap * 2 : 64;
	scli_window *p;

	if (need <= *cap)
		return 0;
	if (n > SCLI_MAX_BUCKETS)
		n = SCLI_MAX_BUCKETS;
	if (!(p = scli_realloc(*list, n * sizeof(*p))))
		return SCLI_ENOMEM;
	*list = p;
	*cap = n;
	return 0;
}

int scli_window_list(scli_window **out, size_t *n_out, const scli_zone *z, scli_window_size size,
		     int64_t from, int64_t to, const char **why)
{
	scli_window *list = NULL;
	size_t n = 0, cap = 0;
	int64_t start = scli_window_floor(z, size, from);
	int error = 0;

	*out = NULL;
	*n_out = 0;
	if (from > to) {
		if (why)
			*why = "--from is after --to";
		return SCLI_EINVALID;
	}
	for (; from < to && start < to; n++) {
		if (n == SCLI_MAX_BUCKETS) {
			if (why)
				*why = too_many(size);
			error = SCLI_ERANGE;
			goto done;
		}
		if ((error = grow(&list, &cap, n + 1)) < 0)
			goto done;
		list[n].start = start;
		list[n].end = scli_window_next(z, size, start);
		list[n].partial = start < from || list[n].end > to;
		start = list[n].end;
	}
done:
	if (error < 0) {
		scli_free(list);
		return error;
	}
	*out = list;
	*n_out = n;
	return 0;
}
