/* POSIX TZ rules (POSIX.1-2017 8.3, with RFC 8536's extensions: hours -167..167
 * in the time of a change), as TZif footers carry them: the offsets a zone
 * keeps after its last listed transition, which is how a 2040 date is placed. */
#include <stddef.h>

#include "scli/timestamp.h"
#include "zone_internal.h"

/* tzcode's default when a rule names DST but not when it starts and ends. */
#define DEFAULT_RULE ",M3.2.0,M11.1.0"

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* Reads 1 to `maxdigits` digits as a number <= `max`. */
static bool take_num(unsigned *out, const char **p, unsigned maxdigits, unsigned max)
{
	unsigned v = 0, n = 0;

	while (is_digit(**p) && n < maxdigits) {
		v = v * 10 + (unsigned)(**p - '0');
		(*p)++;
		n++;
	}
	if (n == 0 || v > max || is_digit(**p))
		return false;
	*out = v;
	return true;
}

/* A zone abbreviation: 3+ letters, or <...> of 3+ letters, digits, + and -. */
static bool take_name(const char **p)
{
	const char *s = *p;

	if (*s == '<') {
		for (s++; is_alpha(*s) || is_digit(*s) || *s == '+' || *s == '-'; s++)
			;
		if (*s != '>' || s - *p < 4)
			return false;
		*p = s + 1;
		return true;
	}
	while (is_alpha(*s))
		s++;
	if (s - *p < 3)
		return false;
	*p = s;
	return true;
}

/* `[+|-]hh[:mm[:ss]]` with hh <= `maxh`, as signed seconds. */
static bool take_hms(int32_t *out, const char **p, unsigned maxh)
{
	unsigned h, m = 0, s = 0;
	int32_t sign = 1;

	if (**p == '+' || **p == '-')
		sign = *(*p)++ == '-' ? -1 : 1;
	if (!take_num(&h, p, 3, maxh))
		return false;
	if (**p == ':') {
		(*p)++;
		if (!take_num(&m, p, 2, 59))
			return false;
		if (**p == ':') {
			(*p)++;
			if (!take_num(&s, p, 2, 59))
				return false;
		}
	}
	*out = sign * (int32_t)(h * 3600 + m * 60 + s);
	return true;
}

/* POSIX offsets count hours west of Greenwich; ours count seconds east. */
static bool take_offset(int32_t *out, const char **p)
{
	int32_t west;

	if (!take_hms(&west, p, 24))
		return false;
	*out = -west;
	return true;
}

static bool take_rule_day(scli_tz_rule_day *d, const char **p)
{
	d->time_s = 7200;
	if (**p == 'M') {
		(*p)++;
		d->kind = 'M';
		if (!take_num(&d->month, p, 2, 12) || d->month < 1 || *(*p)++ != '.' ||
		    !take_num(&d->week, p, 1, 5) || d->week < 1 || *(*p)++ != '.' ||
		    !take_num(&d->weekday, p, 1, 6))
			return false;
	} else if (**p == 'J') {
		(*p)++;
		d->kind = 'J';
		if (!take_num(&d->day, p, 3, 365) || d->day < 1)
			return false;
	} else {
		d->kind = 'n';
		if (!take_num(&d->day, p, 3, 365))
			return false;
	}
	if (**p == '/') {
		(*p)++;
		return take_hms(&d->time_s, p, 167);
	}
	return true;
}

static bool take_rule_days(scli_tz_rule *r, const char **p)
{
	if (*(*p)++ != ',' || !take_rule_day(&r->start, p))
		return false;
	return *(*p)++ == ',' && take_rule_day(&r->end, p);
}

int scli_tz_rule_parse(scli_tz_rule *out, const char *text)
{
	scli_tz_rule r = {0};
	const char *p = text, *rules;

	if (!take_name(&p) || !take_offset(&r.std_utoff, &p))
		return -1;
	r.dst_utoff = r.std_utoff;
	if (*p != '\0') {
		if (!take_name(&p))
			return -1;
		r.has_dst = true;
		r.dst_utoff = r.std_utoff + 3600;
		if (*p != ',' && *p != '\0' && !take_offset(&r.dst_utoff, &p))
			return -1;
		rules = *p == '\0' ? DEFAULT_RULE : p;
		if (!take_rule_days(&r, &rules) || *rules != '\0')
			return -1;
	}
	*out = r;
	return 0;
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days since 1970-01-01 of the rule's day in year `y`. */
static int64_t rule_day(const scli_tz_rule_day *d, int64_t y)
{
	int64_t jan1 = scli_days_from_civil(y, 1, 1), first, day, next_month;
	int64_t weekday;

	if (d->kind == 'J') /* Feb 29 is never counted: J60 is always March 1 */
		return jan1 + d->day - 1 + (is_leap(y) && d->day >= 60);
	if (d->kind == 'n')
		return jan1 + d->day;
	first = scli_days_from_civil(y, d->month, 1);
	next_month = d->month == 12 ? scli_days_from_civil(y + 1, 1, 1)
				    : scli_days_from_civil(y, d->month + 1, 1);
	weekday = ((first + 4) % 7 + 7) % 7; /* 1970-01-01 was a Thursday */
	day = first + ((int64_t)d->weekday - weekday + 7) % 7 + 7 * (int64_t)(d->week - 1);
	while (day >= next_month) /* week 5: the last such weekday */
		day -= 7;
	return day;
}

void scli_tz_rule_year(int64_t *start_us, int64_t *end_us, const scli_tz_rule *r, int64_t y)
{
	/* DST starts at a time on the standard clock and ends at one on the DST clock */
	int64_t start_s = rule_day(&r->start, y) * 86400 + r->start.time_s - r->std_utoff;
	int64_t end_s = rule_day(&r->end, y) * 86400 + r->end.time_s - r->dst_utoff;

	*start_us = start_s * ZONE_US_PER_S;
	*end_us = end_s * ZONE_US_PER_S;
}
