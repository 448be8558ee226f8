/**
 * @file bucket.h
 * Fixed one-hour UTC buckets over a half-open range [from, to).
 */
#ifndef SCLI_BUCKET_H
#define SCLI_BUCKET_H

#include "scli/export.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Most buckets one query may span (SPEC.md). */
#define SCLI_MAX_BUCKETS 100000

/**
 * The hours overlapping [from, to): first bucket start and bucket count.
 * from == to gives 0 buckets. Returns SCLI_EINVALID if from > to, SCLI_ERANGE if
 * more than SCLI_MAX_BUCKETS; `*why` (when not NULL) then points at a static reason.
 */
SCLI_API int scli_bucket_span(int64_t *first_out, size_t *count_out, int64_t from, int64_t to,
			      const char **why);

/** True when the hour starting at `start` is cut by `from` or `to`. */
SCLI_API bool scli_bucket_is_partial(int64_t start, int64_t from, int64_t to);

/**
 * How a repository answers a count over [from, to): whole hours [rollup_from,
 * rollup_to) from the hourly rollup, and at most two edge ranges from raw events.
 * An empty range has from == to. The three ranges are disjoint and their union
 * is exactly [from, to).
 */
typedef struct scli_count_plan {
	int64_t head_from, head_to;	/**< raw events, before the first whole hour */
	int64_t rollup_from, rollup_to; /**< whole hours, from the rollup */
	int64_t tail_from, tail_to;	/**< raw events, after the last whole hour */
} scli_count_plan;

/** Split [from, to) (from <= to) into the plan above. */
SCLI_API void scli_count_plan_make(scli_count_plan *plan, int64_t from, int64_t to);

#endif
