/**
 * @file cell_plan.h
 * How a repository answers a count over windows with arbitrary bounds from a
 * rollup of fixed UTC cells (15 minutes in schema 4) and raw events.
 *
 * A cell can be read from the rollup when it lies wholly inside one window and
 * inside [bounds[0], bounds[n]); every other instant of the range is read from
 * raw events. For hour, day and month windows in any real zone (every UTC
 * offset since 1900 is a multiple of 15 minutes) the raw part is at most the
 * two cut cells at the ends; for minute windows it is the whole range.
 */
#ifndef SCLI_CELL_PLAN_H
#define SCLI_CELL_PLAN_H

#include "scli/export.h"

#include <stddef.h>
#include <stdint.h>

/** The rollup's cell width in schema version 4: 15 minutes. */
#define SCLI_CELL_US INT64_C(900000000)

/** A half-open range [from, to) of instants, from < to. */
typedef struct scli_span {
	int64_t from, to;
} scli_span;

/**
 * Split [bounds[0], bounds[n]) (n >= 1, bounds strictly increasing) into
 * `*cells` (cell-aligned spans, read from the rollup: each of their cells lies
 * in one window) and `*raw` (spans read from raw events). Both lists are in
 * order, disjoint, not adjacent within a list, and together cover the range
 * exactly. The caller frees both with scli_free. 0, or SCLI_ENOMEM (nothing
 * allocated). `cell_us` > 0 is the rollup's cell width.
 */
SCLI_API int scli_cell_plan(scli_span **cells, size_t *ncells, scli_span **raw, size_t *nraw,
			    const int64_t *bounds, size_t n, int64_t cell_us);

/** The window i with bounds[i] <= t < bounds[i + 1], by binary search; n if none. */
SCLI_API size_t scli_window_index(const int64_t *bounds, size_t n, int64_t t);

#endif
