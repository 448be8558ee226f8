/* The domain's view inside a zone: the POSIX TZ rule and the stretches of
 * constant offset that the window arithmetic walks. Not for adapters (they
 * build zones with scli_zone_new) nor for programs. */
#ifndef SCLI_DOMAIN_ZONE_INTERNAL_H
#define SCLI_DOMAIN_ZONE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "scli/zone.h"

#define ZONE_US_PER_S INT64_C(1000000)

/* Every offset a zone may have is within this many seconds of UTC (RFC 8536
 * asks for -89999..93599), so the clock shows `local` somewhere within
 * ZONE_SEARCH_US of the instant `local` read as UTC. */
#define ZONE_MAX_OFFSET_S 93600
#define ZONE_SEARCH_US (INT64_C(27) * 3600 * ZONE_US_PER_S)

/* One day of a POSIX rule: `Mm.w.d`, `Jn` or `n`, and the wall-clock time of
 * the change in seconds (may be negative or past 24 hours). */
typedef struct scli_tz_rule_day {
	char kind;	  /* 'M', 'J' or 'n' */
	unsigned month;	  /* M: 1-12 */
	unsigned week;	  /* M: 1-5, 5 = the last */
	unsigned weekday; /* M: 0 = Sunday */
	unsigned day;	  /* J: 1-365 without Feb 29; n: 0-365 */
	int32_t time_s;	  /* default 02:00:00 */
} scli_tz_rule_day;

/* `std offset [dst [offset] [,start[/time],end[/time]]]`, offsets east. */
typedef struct scli_tz_rule {
	int32_t std_utoff, dst_utoff;
	bool has_dst;
	scli_tz_rule_day start, end; /* into DST (std time), out of it (DST time) */
} scli_tz_rule;

/* Parse a POSIX TZ string (a TZif footer) into `*out`: 0, or -1 if it is not one. */
int scli_tz_rule_parse(scli_tz_rule *out, const char *text);

/* The instants (µs) at which year `y`'s DST starts and ends under `r` (has_dst). */
void scli_tz_rule_year(int64_t *start_us, int64_t *end_us, const scli_tz_rule *r, int64_t y);

/* A stretch [start, end) of constant offset; INT64_MIN / INT64_MAX when unbounded. */
typedef struct scli_zone_segment {
	int64_t start, end;
	int32_t utoff_s;
} scli_zone_segment;

/* The stretch of constant offset holding instant `us`. */
void scli_zone_segment_at(scli_zone_segment *seg, const scli_zone *z, int64_t us);

#endif
