/* Timestamps: parsing the SPEC.md grammar, Unix seconds, formatting, and the
 * proleptic Gregorian calendar. Pure C: no locale, no time zone database, no
 * stdio, so results never depend on the environment. */
#include "scli/timestamp.h"

#include <math.h>
#include <stdbool.h>

#include "scli/error.h"

#define US_PER_MINUTE INT64_C(60000000)

/* Howard Hinnant's days_from_civil: eras of 400 years (146097 days) with
 * March as the first month, so the leap day is the last day of the year.
 * The era is computed with floor division so negative years work too. */
int64_t scli_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (int64_t)(m > 2 ? m - 3 : m + 9) + 2) / 5 + (int64_t)d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void scli_civil_from_days(int64_t *y, unsigned *m, unsigned *d, int64_t days)
{
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	unsigned month = (unsigned)(mp < 10 ? mp + 3 : mp - 9);

	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = month;
	*y = yoe + era * 400 + (month <= 2);
}

static bool is_leap(unsigned y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(unsigned y, unsigned m)
{
	static const unsigned char mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && is_leap(y) ? 29 : mdays[m - 1];
}

/* isdigit() depends on the locale; the grammar is ASCII only. */
static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool only_space(const char *text, size_t pos, size_t len)
{
	for (; pos < len; pos++)
		if (!is_space(text[pos]))
			return false;
	return true;
}

/* Reads exactly `n` digits at text[*pos] without passing `len`; false (and
 * *pos unchanged) if any is missing. */
static bool take_digits(unsigned *out, const char *text, size_t len, size_t *pos, size_t n)
{
	unsigned v = 0;
	size_t i;

	if (len - *pos < n)
		return false;
	for (i = 0; i < n; i++) {
		char c = text[*pos + i];

		if (!is_digit(c))
			return false;
		v = v * 10 + (unsigned)(c - '0');
	}
	*pos += n;
	*out = v;
	return true;
}

static bool take_char(const char *text, size_t len, size_t *pos, char c)
{
	if (*pos < len && text[*pos] == c) {
		(*pos)++;
		return true;
	}
	return false;
}

/* Parses `YYYY-MM-DD`, validating the calendar date. */
static const char *parse_date(int64_t *days, const char *text, size_t len, size_t *pos)
{
	unsigned y = 0, m = 0, d = 0; /* set by take_digits; zeroed for -O2 flow analysis */
	size_t run = 0;

	while (run < len && is_digit(text[run]))
		run++;
	/* 10000-01-01 is a year problem; a bare number (Unix seconds) is not */
	if (run > 4 && run < len && text[run] == '-')
		return "year must be 0001-9999";
	if (!take_digits(&y, text, len, pos, 4) || !take_char(text, len, pos, '-') ||
	    !take_digits(&m, text, len, pos, 2) || !take_char(text, len, pos, '-') ||
	    !take_digits(&d, text, len, pos, 2))
		return "expected YYYY-MM-DD";
	if (y == 0)
		return "year must be 0001-9999";
	if (m < 1 || m > 12)
		return "month must be 01-12";
	if (d < 1 || d > days_in_month(y, m))
		return "day is out of range for the month";
	*days = scli_days_from_civil(y, m, d);
	return NULL;
}

/* Parses `HH:MM[:SS[.fraction]]` into microseconds since midnight. */
static const char *parse_time(int64_t *us, const char *text, size_t len, size_t *pos)
{
	unsigned h, mi, s = 0, frac = 0, ndigits = 0;

	if (!take_digits(&h, text, len, pos, 2) || !take_char(text, len, pos, ':') ||
	    !take_digits(&mi, text, len, pos, 2))
		return "expected HH:MM after the date";
	if (h > 23)
		return "hour must be 00-23";
	if (mi > 59)
		return "minute must be 00-59";
	if (take_char(text, len, pos, ':')) {
		if (!take_digits(&s, text, len, pos, 2))
			return "expected 2-digit seconds after HH:MM:";
		if (s > 59)
			return "second must be 00-59";
		if (take_char(text, len, pos, '.')) {
			/* Digits past the sixth are truncated, not rounded: a
			 * timestamp never moves into the next microsecond. */
			while (*pos < len && is_digit(text[*pos])) {
				if (ndigits < 6)
					frac = frac * 10 + (unsigned)(text[*pos] - '0');
				ndigits++;
				(*pos)++;
			}
			if (ndigits < 1 || ndigits > 9)
				return "fraction must have 1-9 digits";
			for (; ndigits < 6; ndigits++)
				frac *= 10;
		}
	} else if (*pos < len && text[*pos] == '.') {
		return "a fraction needs seconds (HH:MM:SS.fraction)";
	}
	*us = h * SCLI_US_PER_HOUR + mi * US_PER_MINUTE + s * SCLI_US_PER_SECOND + frac;
	return NULL;
}

/* Parses `Z`, `±HH`, `±HHMM`, `±HH:MM` or nothing into microseconds east of UTC. */
static const char *parse_offset(int64_t *us, const char *text, size_t len, size_t *pos)
{
	unsigned oh, om = 0;
	int64_t sign;

	*us = 0;
	if (*pos == len)
		return NULL;
	if (text[*pos] == 'Z' || text[*pos] == 'z') {
		(*pos)++;
		return NULL;
	}
	if (text[*pos] != '+' && text[*pos] != '-')
		return NULL; /* the caller reports the leftover text */
	sign = text[*pos] == '-' ? -1 : 1;
	(*pos)++;
	if (!take_digits(&oh, text, len, pos, 2))
		return "offset must be Z, +HH, +HHMM or +HH:MM (or -)";
	if (take_char(text, len, pos, ':')) {
		if (!take_digits(&om, text, len, pos, 2))
			return "offset must be Z, +HH, +HHMM or +HH:MM (or -)";
	} else if (*pos < len && is_digit(text[*pos])) {
		if (!take_digits(&om, text, len, pos, 2))
			return "offset must be Z, +HH, +HHMM or +HH:MM (or -)";
	}
	if (oh > 23)
		return "offset is beyond ±23:59";
	if (om > 59)
		return "offset minutes must be 00-59";
	*us = sign * (oh * SCLI_US_PER_HOUR + om * US_PER_MINUTE);
	return NULL;
}

/* `*kind` says whether the text had an offset (an instant) or not (a
 * wall-clock reading, which is then returned as if it were UTC). */
static const char *parse(int64_t *out, scli_timestamp_kind *kind, const char *text, size_t len)
{
	int64_t days, tod = 0, offset = 0, utc;
	size_t pos = 0, mark;
	const char *why;

	if (len == 0)
		return "the text is empty";
	if (is_space(text[0]))
		return "leading whitespace is not allowed";
	if ((why = parse_date(&days, text, len, &pos)) != NULL)
		return why;
	*kind = SCLI_TIMESTAMP_DATE;
	if (pos < len) {
		char sep = text[pos];

		if (only_space(text, pos, len))
			return "trailing whitespace is not allowed";
		if (sep != 'T' && sep != 't' && sep != ' ') {
			if (sep == '+' || sep == '-' || sep == 'Z' || sep == 'z')
				return "an offset needs a time (YYYY-MM-DDTHH:MM)";
			return "expected 'T' or a space after the date";
		}
		pos++;
		if ((why = parse_time(&tod, text, len, &pos)) != NULL)
			return why;
		*kind = SCLI_TIMESTAMP_WALL;
		mark = pos;
		if ((why = parse_offset(&offset, text, len, &pos)) != NULL)
			return why;
		if (pos != mark)
			*kind = SCLI_TIMESTAMP_INSTANT;
	}
	if (pos < len)
		return only_space(text, pos, len) ? "trailing whitespace is not allowed"
						  : "unexpected text after the timestamp";
	utc = days * SCLI_US_PER_DAY + tod - offset;
	if (utc < SCLI_TIMESTAMP_MIN || utc > SCLI_TIMESTAMP_MAX)
		return "the offset moves the timestamp outside years 0001-9999";
	*out = utc;
	return NULL;
}

int scli_timestamp_parse_wall(int64_t *out, scli_timestamp_kind *kind_out, const char *text,
			      size_t len, const char **why)
{
	scli_timestamp_kind kind = SCLI_TIMESTAMP_DATE;
	const char *reason = parse(out, &kind, text, len);

	if (reason == NULL) {
		if (kind_out)
			*kind_out = kind;
		return 0;
	}
	if (why)
		*why = reason;
	return SCLI_EINVALID;
}

int scli_timestamp_parse(int64_t *out, const char *text, size_t len, const char **why)
{
	/* without an offset the wall clock is UTC's, so the reading is the instant */
	return scli_timestamp_parse_wall(out, NULL, text, len, why);
}

int scli_timestamp_from_unix_seconds(int64_t *out, double seconds, const char **why)
{
	double us, nearest, tolerance;

	if (isnan(seconds) || isinf(seconds)) {
		if (why)
			*why = "seconds must be a finite number";
		return SCLI_EINVALID;
	}
	us = seconds * 1e6;
	/* A JSON decimal such as 1614571267.45 is not exact as a double, and
	 * the product is off by up to a few ulps either way; flooring that
	 * would turn ...267.450000 into ...267.449999. Within the double's own
	 * precision (never less than a nanosecond) take the nearest
	 * microsecond; otherwise floor, as the header promises. */
	nearest = round(us);
	tolerance = fabs(us) * 0x1p-50; /* 4 ulps (DBL_EPSILON is 0x1p-52) */
	if (tolerance < 1e-3)
		tolerance = 1e-3;
	us = fabs(us - nearest) <= tolerance ? nearest : floor(us);
	/* Compare as doubles first: converting an out-of-range double to
	 * int64_t is undefined. Both bounds are exact to within 32 us here. */
	if (us < (double)SCLI_TIMESTAMP_MIN - 1024.0 || us > (double)SCLI_TIMESTAMP_MAX + 1024.0)
		goto out_of_range;
	if ((int64_t)us < SCLI_TIMESTAMP_MIN || (int64_t)us > SCLI_TIMESTAMP_MAX)
		goto out_of_range;
	*out = (int64_t)us;
	return 0;
out_of_range:
	if (why)
		*why = "seconds are outside years 0001-9999";
	return SCLI_EINVALID;
}

/* Writes `v` with at least `width` digits, zero-padded; returns the length. */
static size_t put_uint(char *buf, uint64_t v, size_t width)
{
	char tmp[24];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n < width)
		tmp[n++] = '0';
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	return n;
}

size_t scli_timestamp_format(char *buf, int64_t us)
{
	int64_t days = us / SCLI_US_PER_DAY;
	int64_t tod = us % SCLI_US_PER_DAY;
	int64_t y;
	unsigned m, d, frac, width = 6;
	size_t n = 0;

	/* floor division: the time of day of a pre-1970 instant is positive */
	if (tod < 0) {
		tod += SCLI_US_PER_DAY;
		days--;
	}
	scli_civil_from_days(&y, &m, &d, days);
	/* Only reachable outside SCLI_TIMESTAMP_MIN..MAX; kept unambiguous. */
	if (y < 0) {
		buf[n++] = '-';
		n += put_uint(buf + n, (uint64_t)-y, 4);
	} else {
		n += put_uint(buf + n, (uint64_t)y, 4);
	}
	buf[n++] = '-';
	n += put_uint(buf + n, m, 2);
	buf[n++] = '-';
	n += put_uint(buf + n, d, 2);
	buf[n++] = 'T';
	n += put_uint(buf + n, (uint64_t)(tod / SCLI_US_PER_HOUR), 2);
	buf[n++] = ':';
	n += put_uint(buf + n, (uint64_t)(tod / US_PER_MINUTE % 60), 2);
	buf[n++] = ':';
	n += put_uint(buf + n, (uint64_t)(tod / SCLI_US_PER_SECOND % 60), 2);
	frac = (unsigned)(tod % SCLI_US_PER_SECOND);
	if (frac != 0) {
		while (frac % 10 == 0) {
			frac /= 10;
			width--;
		}
		buf[n++] = '.';
		n += put_uint(buf + n, frac, width);
	}
	buf[n++] = 'Z';
	buf[n] = '\0';
	return n;
}
