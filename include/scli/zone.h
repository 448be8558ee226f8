/**
 * @file zone.h
 * Time zones as data: the instants at which a zone's UTC offset changes, and
 * the POSIX TZ rule (the TZif footer) for instants after the last of them.
 * Everything here but scli_zone_load is pure: no TZ variable, no localtime, no
 * process-global state, so one zone may serve many threads at once.
 *
 * "Local" values below are wall-clock readings counted like timestamps:
 * microseconds since 1970-01-01T00:00 on the zone's clock (what
 * scli_timestamp_parse gives for a text without an offset).
 */
#ifndef SCLI_ZONE_H
#define SCLI_ZONE_H

#include "scli/export.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** A time zone; scli_zone_load or scli_zone_parse_fixed, scli_zone_free. Immutable. */
typedef struct scli_zone scli_zone;

/** The system's time zone database, read by scli_zone_load. */
#define SCLI_ZONEINFO_DIR "/usr/share/zoneinfo"

/** Buffer size that always holds scli_zone_format's output with its NUL. */
#define SCLI_ZONE_TIME_BUFSZ 40

/** Buffer size that holds any reason from scli_zone_parse_time or scli_zone_gap_describe for a
 *  zone whose name has at most 255 bytes (all that scli_zone_load accepts). */
#define SCLI_ZONE_WHY_BUFSZ 512

/**
 * Load the zone `name`: a fixed offset (scli_zone_parse_fixed) or an IANA name
 * from the system's database (SCLI_ZONEINFO_DIR). An unknown name, or one with
 * `..` or a leading `/`, is SCLI_EINVALID with the message "unknown time zone
 * …"; a damaged or unreadable file is SCLI_EIO. The caller frees `*out` with
 * scli_zone_free. Implemented by the adapters (src/adapters/tz/), not the domain.
 */
SCLI_API int scli_zone_load(scli_zone **out, const char *name);

/**
 * A fixed-offset zone from `UTC`, `Z`, `±HH`, `±HHMM` or `±HH:MM` (up to
 * ±23:59; `UTC`/`Z` in any case). Any offset of zero is the zone "UTC", whose
 * instants print with `Z`; others are named `±HH:MM`. SCLI_ENOTFOUND (no
 * message) when `text` is not of that form, so callers can try a zone name
 * next. The caller frees `*out` with scli_zone_free.
 */
SCLI_API int scli_zone_parse_fixed(scli_zone **out, const char *text);

/** Free a zone (NULL-safe). */
SCLI_API void scli_zone_free(scli_zone *z);

/** The zone's name as loaded ("America/New_York", "+05:30", "UTC"); borrowed from `z`. */
SCLI_API const char *scli_zone_name(const scli_zone *z);

/** True when the zone is UTC at every instant (its instants print with `Z`). */
SCLI_API bool scli_zone_is_utc(const scli_zone *z);

/** UTC offset in seconds east of Greenwich in effect at instant `us` (at a change, the new one). */
SCLI_API int32_t scli_zone_offset_at(const scli_zone *z, int64_t us);

/**
 * A skipped stretch of wall-clock time: at instant `at` the clock jumped from
 * `from_local` to `to_local` (both local values, from < to).
 */
typedef struct scli_zone_gap {
	int64_t at;
	int64_t from_local, to_local;
} scli_zone_gap;

/**
 * The instant at which the zone's clock shows `local`. When it shows it twice
 * (clocks went back), the earlier instant. When it never does (clocks jumped
 * over it), returns SCLI_EINVALID and fills `*gap` (when not NULL) with the
 * jump; `*out` is then untouched. Does not touch the thread error.
 */
SCLI_API int scli_zone_local_to_instant(int64_t *out, scli_zone_gap *gap, const scli_zone *z,
					int64_t local);

/**
 * The earliest instant at which the zone's clock shows `local` or later: where
 * the clock jumped over `local`, the instant of the jump. The start of a local
 * day or month is this of its midnight.
 */
SCLI_API int64_t scli_zone_first_at_or_after(const scli_zone *z, int64_t local);

/**
 * Write "2021-03-14T02:30 does not exist in America/New_York (clocks went from
 * 02:00 to 03:00)" for `local` inside `gap` into `buf` (`size` bytes, NUL
 * always written, truncated if short; SCLI_ZONE_WHY_BUFSZ is enough). Seconds
 * appear only when not zero; the jump's ends carry their date when it differs.
 */
SCLI_API void scli_zone_gap_describe(char *buf, size_t size, const scli_zone *z, int64_t local,
				     const scli_zone_gap *gap);

/**
 * Format instant `us` as RFC 3339 on the zone's clock: `YYYY-MM-DDTHH:MM:SS`,
 * `.ffffff` (trailing zeros trimmed) only when the fraction is not zero, then
 * `Z` in a UTC zone or the offset at that instant as `±HH:MM` (`+00:00` in a
 * zone that is at UTC only some of the time, such as Europe/London in winter).
 * An offset with seconds (local mean time before ~1900: New York's -4:56:02)
 * prints as `±HH:MM:SS`, as Python's isoformat does, so the text still names
 * the exact instant. `buf` holds SCLI_ZONE_TIME_BUFSZ bytes; returns the length.
 */
SCLI_API size_t scli_zone_format(char *buf, const scli_zone *z, int64_t us);

/**
 * Parse a `--from`/`--to` value: a timestamp with an offset or `Z` is that
 * instant; one without is a wall-clock time in `z` (a repeated one means the
 * earlier instant); a date alone is the start of that date in `z` (its local
 * midnight, or where a clock change skips midnight, the first instant of the
 * date). On failure returns SCLI_EINVALID and writes the reason into `why`
 * (`why_size` bytes; SCLI_ZONE_WHY_BUFSZ is enough): the timestamp grammar's,
 * or scli_zone_gap_describe's for a skipped time. Does not touch the thread error.
 */
SCLI_API int scli_zone_parse_time(int64_t *out, char *why, size_t why_size, const scli_zone *z,
				  const char *text, size_t len);

#endif
