/* Hour arithmetic and the bucket series over [from, to). */
#include "scli/bucket.h"

#include "scli/error.h"
#include "scli/timestamp.h"

int64_t scli_hour_floor(int64_t us)
{
	int64_t q = us / SCLI_US_PER_HOUR;

	/* C division truncates toward zero; buckets need floor for pre-1970 times. */
	if (us % SCLI_US_PER_HOUR < 0)
		q--;
	return q * SCLI_US_PER_HOUR;
}

int64_t scli_hour_ceil(int64_t us)
{
	int64_t f = scli_hour_floor(us);

	return f == us ? f : f + SCLI_US_PER_HOUR;
}

int scli_bucket_span(int64_t *first_out, size_t *count_out, int64_t from, int64_t to,
		     const char **why)
{
	int64_t first, n;

	if (from > to) {
		if (why)
			*why = "--from is after --to";
		return SCLI_EINVALID;
	}
	if (from == to) {
		*first_out = scli_hour_floor(from);
		*count_out = 0;
		return 0;
	}
	first = scli_hour_floor(from);
	/* hours whose start is before `to`: ceil((to - first) / 1h) */
	n = (scli_hour_ceil(to) - first) / SCLI_US_PER_HOUR;
	if (n > SCLI_MAX_BUCKETS) {
		if (why)
			*why = "the range spans more than 100000 hourly buckets (about 11 years)";
		return SCLI_ERANGE;
	}
	*first_out = first;
	*count_out = (size_t)n;
	return 0;
}

bool scli_bucket_is_partial(int64_t start, int64_t from, int64_t to)
{
	return start < from || start + SCLI_US_PER_HOUR > to;
}

void scli_count_plan_make(scli_count_plan *plan, int64_t from, int64_t to)
{
	int64_t whole_from = scli_hour_ceil(from);
	int64_t whole_to = scli_hour_floor(to);

	if (whole_from >= whole_to) {
		/* no whole hour inside: everything is read from raw events */
		plan->head_from = from;
		plan->head_to = to;
		plan->rollup_from = plan->rollup_to = to;
		plan->tail_from = plan->tail_to = to;
		return;
	}
	plan->head_from = from;
	plan->head_to = whole_from;
	plan->rollup_from = whole_from;
	plan->rollup_to = whole_to;
	plan->tail_from = whole_to;
	plan->tail_to = to;
}
