/**
 * @file timestamp.h
 * Timestamps: int64 microseconds since 1970-01-01T00:00:00Z, proleptic
 * Gregorian calendar, no leap seconds, years 0001-9999. Pure functions: no
 * time zone database, no locale, no mktime.
 */
#ifndef SCLI_TIMESTAMP_H
#define SCLI_TIMESTAMP_H

#include "scli/export.h"

#include <stddef.h>
#include <stdint.h>

#define SCLI_US_PER_SECOND INT64_C(1000000)
#define SCLI_US_PER_HOUR INT64_C(3600000000)
#define SCLI_US_PER_DAY INT64_C(86400000000)

/** Buffer size that always holds scli_timestamp_format's output with its NUL. */
#define SCLI_TIMESTAMP_BUFSZ 32

/**
 * Parse `text[0..len)` (see SPEC.md: `YYYY-MM-DD[T| ]HH:MM[:SS[.f{1,9}]][Z|±HH|±HHMM|±HH:MM]`,
 * or `YYYY-MM-DD` alone = midnight UTC; `T`/`Z` case-insensitive; fraction truncated
 * to microseconds). On success returns 0 and stores UTC microseconds in `*out`.
 * On failure returns SCLI_EINVALID, leaves `*out` untouched and, when `why` is not
 * NULL, points `*why` at a static, human-readable reason such as "day is out of
 * range for the month". Does not touch the thread error.
 */
SCLI_API int scli_timestamp_parse(int64_t *out, const char *text, size_t len, const char **why);

/** What scli_timestamp_parse_wall read. */
typedef enum scli_timestamp_kind {
	SCLI_TIMESTAMP_INSTANT, /**< an offset or `Z` was given: `*out` is the instant */
	SCLI_TIMESTAMP_WALL,	/**< date and time without an offset: a wall-clock reading */
	SCLI_TIMESTAMP_DATE	/**< a date alone: the wall-clock reading of its midnight */
} scli_timestamp_kind;

/**
 * Parse as scli_timestamp_parse, but apply no default offset: for a text
 * without one, `*out` is the wall-clock reading counted as if it were UTC
 * (what include/scli/zone.h calls a local value), for the caller to place in a
 * time zone. `*kind_out` (when not NULL) says which of the three was read.
 */
SCLI_API int scli_timestamp_parse_wall(int64_t *out, scli_timestamp_kind *kind_out,
				       const char *text, size_t len, const char **why);

/**
 * Convert Unix seconds with an optional fraction (as found in JSON numbers) to
 * microseconds. A double cannot hold most decimal fractions exactly, so a
 * product within a few ulps of a whole microsecond snaps to it (1614571267.45 →
 * ...267450000); anything else is truncated toward negative infinity. Returns
 * SCLI_EINVALID (with `*why`) for NaN/inf or a result outside years 0001-9999.
 */
SCLI_API int scli_timestamp_from_unix_seconds(int64_t *out, double seconds, const char **why);

/**
 * Format `us` as UTC `YYYY-MM-DDTHH:MM:SSZ`, with `.ffffff` (trailing zeros
 * trimmed) only when the fraction is non-zero. `buf` must hold
 * SCLI_TIMESTAMP_BUFSZ bytes. Returns the length written (without NUL).
 */
SCLI_API size_t scli_timestamp_format(char *buf, int64_t us);

/** Days since 1970-01-01 of a proleptic Gregorian civil date (y, m 1-12, d 1-31). */
SCLI_API int64_t scli_days_from_civil(int64_t y, unsigned m, unsigned d);

/** Inverse of scli_days_from_civil. */
SCLI_API void scli_civil_from_days(int64_t *y, unsigned *m, unsigned *d, int64_t days);

/** Start of the UTC hour containing `us` (floor division, correct for negative values). */
SCLI_API int64_t scli_hour_floor(int64_t us);

/** Smallest hour start >= `us`. */
SCLI_API int64_t scli_hour_ceil(int64_t us);

/** Inclusive bounds of the representable range: 0001-01-01T00:00:00Z ..
 * 9999-12-31T23:59:59.999999Z. */
#define SCLI_TIMESTAMP_MIN INT64_C(-62135596800000000)
#define SCLI_TIMESTAMP_MAX INT64_C(253402300799999999)

#endif
