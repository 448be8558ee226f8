/**
 * @file window.h
 * Count windows on a zone's wall clock: minutes, hours, days and months.
 *
 * A window starts at every instant at which the zone's clock, with the offset
 * in effect at that instant (at a change, the new one), shows
 * - minute: a whole minute;
 * - hour: a whole hour — so the hour repeated when clocks go back is two
 *   windows, and the hour a change cuts into lasts longer or shorter: in
 *   Australia/Lord_Howe (30-minute changes) the clock shows 01:00 and then
 *   02:00 1.5 hours later on both change days (a 01:00-01:59 hour of which half
 *   an hour is repeated or skipped), and every other hour lasts one hour;
 * - day: a date it has not shown before — local midnight, or where a change
 *   skips midnight the first instant of the date. A midnight shown twice
 *   (America/Havana, 01:00 back to 00:00) starts one day, not two: a day
 *   is a date, and it lasts 23, 24 or 25 hours;
 * - month: the first instant of the 1st of a month, by the same rule.
 * A window ends where the next one starts.
 */
#ifndef SCLI_WINDOW_H
#define SCLI_WINDOW_H

#include "scli/export.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scli/zone.h"

typedef enum scli_window_size {
	SCLI_WINDOW_MINUTE,
	SCLI_WINDOW_HOUR,
	SCLI_WINDOW_DAY,
	SCLI_WINDOW_MONTH
} scli_window_size;

/** "minute", "hour", "day" or "month" to a size: 0, or SCLI_EINVALID for anything else. */
SCLI_API int scli_window_size_parse(scli_window_size *out, const char *text);

/** The size's name as scli_window_size_parse reads it (static). */
SCLI_API const char *scli_window_size_name(scli_window_size size);

/** Start of the window holding instant `us`. */
SCLI_API int64_t scli_window_floor(const scli_zone *z, scli_window_size size, int64_t us);

/** Start of the window after the one starting at `start` (a window start). */
SCLI_API int64_t scli_window_next(const scli_zone *z, scli_window_size size, int64_t start);

/** One window of a count: [start, end), `partial` when [from, to) cuts it. */
typedef struct scli_window {
	int64_t start, end;
	bool partial;
} scli_window;

/**
 * The windows overlapping [from, to): from the one holding `from` to the last
 * starting before `to`, in order; from == to gives none (`*out` NULL). The
 * caller frees `*out` with scli_free. SCLI_EINVALID if from > to, SCLI_ERANGE
 * beyond SCLI_MAX_BUCKETS (include/scli/bucket.h) windows, `*why` (when not
 * NULL) then pointing at a static reason; SCLI_ENOMEM. Nothing allocated on
 * failure. Does not touch the thread error.
 */
SCLI_API int scli_window_list(scli_window **out, size_t *n_out, const scli_zone *z,
			      scli_window_size size, int64_t from, int64_t to, const char **why);

#endif
