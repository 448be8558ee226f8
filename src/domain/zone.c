/* Time zones as data: the offset at an instant, wall-clock readings back to
 * instants, and RFC 3339 text on a zone's clock. A zone is a sorted list of
 * offset changes plus a POSIX rule for the time after them; everything else
 * here walks the stretches of constant offset between changes. */
#include <string.h>

#include "scli/alloc.h"
#include "scli/error.h"
#include "scli/sys/zone_source.h"
#include "scli/timestamp.h"
#include "zone_internal.h"

struct scli_zone {
	char *name;
	bool utc;
	size_t n;
	int64_t *at;	 /* µs, strictly increasing */
	int32_t *utoff;	 /* in effect from at[i] */
	int32_t initial; /* before at[0] */
	bool has_rule;
	scli_tz_rule rule; /* from at[n - 1] on */
};

/* Changes this far outside years 0001-9999 cannot matter to any timestamp,
 * and dropping them keeps µs arithmetic far from int64 overflow (TZif files
 * start with a change at -2^59 seconds). */
#define EDGE_S (INT64_C(3) * 86400)
#define FIRST_S (SCLI_TIMESTAMP_MIN / ZONE_US_PER_S - EDGE_S)
#define LAST_S (SCLI_TIMESTAMP_MAX / ZONE_US_PER_S + EDGE_S)

static bool offset_ok(int32_t s)
{
	return s > -ZONE_MAX_OFFSET_S && s < ZONE_MAX_OFFSET_S;
}

static bool rule_ok(const scli_tz_rule *r)
{
	return offset_ok(r->std_utoff) && offset_ok(r->dst_utoff);
}

static bool all_utc(const scli_zone *z)
{
	size_t i;

	if (z->initial != 0 || (z->has_rule && (z->rule.has_dst || z->rule.std_utoff != 0)))
		return false;
	for (i = 0; i < z->n; i++)
		if (z->utoff[i] != 0)
			return false;
	return true;
}

/* Copies the changes inside the representable years; the last one dropped
 * before them becomes the initial offset. */
static const char *copy_changes(scli_zone *z, const int64_t *at_s, const int32_t *utoff_s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!offset_ok(utoff_s[i]))
			return "a UTC offset is beyond ±26 hours";
		if (i > 0 && at_s[i] <= at_s[i - 1])
			return "the changes are not in order";
		if (at_s[i] < FIRST_S)
			z->initial = utoff_s[i];
		else if (at_s[i] <= LAST_S) {
			z->at[z->n] = at_s[i] * ZONE_US_PER_S;
			z->utoff[z->n++] = utoff_s[i];
		}
	}
	return NULL;
}

static const char *build(scli_zone *z, const int64_t *at_s, const int32_t *utoff_s, size_t n,
			 int32_t initial, const char *rule)
{
	if (!offset_ok(initial))
		return "a UTC offset is beyond ±26 hours";
	z->initial = initial;
	if (rule && *rule) {
		if (scli_tz_rule_parse(&z->rule, rule) < 0)
			return "the POSIX TZ rule does not parse";
		if (!rule_ok(&z->rule))
			return "a UTC offset is beyond ±26 hours";
		z->has_rule = true;
	}
	return copy_changes(z, at_s, utoff_s, n);
}

int scli_zone_new(scli_zone **out, const char *name, const int64_t *at_s, const int32_t *utoff_s,
		  size_t n, int32_t initial_utoff_s, const char *rule, const char **why)
{
	scli_zone *z = scli_calloc(1, sizeof(*z));
	const char *reason;

	*out = NULL;
	if (!z || !(z->name = scli_strdup(name)) ||
	    !(z->at = scli_calloc(n + 1, sizeof(int64_t))) ||
	    !(z->utoff = scli_calloc(n + 1, sizeof(int32_t)))) {
		scli_zone_free(z);
		return SCLI_ENOMEM;
	}
	if ((reason = build(z, at_s, utoff_s, n, initial_utoff_s, rule)) != NULL) {
		if (why)
			*why = reason;
		scli_zone_free(z);
		return SCLI_EINVALID;
	}
	z->utc = all_utc(z);
	*out = z;
	return 0;
}

void scli_zone_free(scli_zone *z)
{
	if (!z)
		return;
	scli_free(z->name);
	scli_free(z->at);
	scli_free(z->utoff);
	scli_free(z);
}

const char *scli_zone_name(const scli_zone *z)
{
	return z->name;
}

bool scli_zone_is_utc(const scli_zone *z)
{
	return z->utc;
}

/* ---- fixed offsets ------------------------------------------------------ */

static bool same_ci(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = *a >= 'a' && *a <= 'z' ? (char)(*a - 32) : *a;

		if (x != *b)
			return false;
	}
	return *a == *b;
}

static bool two_digits(unsigned *v, const char *s)
{
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
		return false;
	*v = (unsigned)(s[0] - '0') * 10 + (unsigned)(s[1] - '0');
	return true;
}

/* `±HH`, `±HHMM`, `±HH:MM` up to ±23:59 (the timestamp grammar's offsets). */
static bool fixed_offset(int32_t *out, const char *s)
{
	unsigned h, m = 0;
	size_t len = strlen(s);
	int32_t sign = s[0] == '-' ? -1 : 1;

	if ((s[0] != '+' && s[0] != '-') || !two_digits(&h, s + 1))
		return false;
	if (len == 6 && s[3] == ':') {
		if (!two_digits(&m, s + 4))
			return false;
	} else if (len == 5) {
		if (!two_digits(&m, s + 3))
			return false;
	} else if (len != 3) {
		return false;
	}
	if (h > 23 || m > 59)
		return false;
	*out = sign * (int32_t)(h * 3600 + m * 60);
	return true;
}

static void offset_text(char *buf, int32_t utoff_s);

int scli_zone_parse_fixed(scli_zone **out, const char *text)
{
	char name[16] = "UTC";
	int32_t off = 0;

	*out = NULL;
	if (!same_ci(text, "UTC") && !same_ci(text, "Z") && !fixed_offset(&off, text))
		return SCLI_ENOTFOUND;
	if (off != 0)
		offset_text(name, off);
	return scli_zone_new(out, name, NULL, NULL, 0, off, NULL, NULL);
}

/* ---- stretches of constant offset ------------------------------------- */

/* Index of the last change at or before `us`, or -1. */
static ptrdiff_t last_change(const scli_zone *z, int64_t us)
{
	size_t lo = 0, hi = z->n; /* answer + 1 is in [lo, hi] */

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (z->at[mid] <= us)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (ptrdiff_t)lo - 1;
}

typedef struct change {
	int64_t at;
	int32_t utoff;
} change;

/* The rule's changes for the years around `y`, in time order. When DST lasts
 * all year a change out and the next one in fall on the same instant; the
 * stable order keeps the one listed later (the new year's) in force. */
static size_t rule_changes(change *c, const scli_tz_rule *r, int64_t y)
{
	size_t n = 0, i, j;
	int64_t yy;

	for (yy = y - 2; yy <= y + 1; yy++) {
		scli_tz_rule_year(&c[n].at, &c[n + 1].at, r, yy);
		c[n].utoff = r->dst_utoff;
		c[n + 1].utoff = r->std_utoff;
		n += 2;
	}
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && c[j - 1].at > c[j].at; j--) {
			change t = c[j];

			c[j] = c[j - 1];
			c[j - 1] = t;
		}
	return n;
}

static int64_t year_of(int64_t us)
{
	int64_t days = us / SCLI_US_PER_DAY - (us % SCLI_US_PER_DAY < 0), y;
	unsigned m, d;

	scli_civil_from_days(&y, &m, &d, days);
	return y;
}

static void rule_segment(scli_zone_segment *seg, const scli_tz_rule *r, int64_t us)
{
	change c[8];
	size_t n, i;

	seg->start = INT64_MIN;
	seg->end = INT64_MAX;
	seg->utoff_s = r->std_utoff;
	if (!r->has_dst)
		return;
	n = rule_changes(c, r, year_of(us));
	for (i = 0; i < n; i++) {
		if (c[i].at <= us) {
			seg->start = c[i].at;
			seg->utoff_s = c[i].utoff;
		} else if (seg->end == INT64_MAX) {
			seg->end = c[i].at;
		}
	}
}

void scli_zone_segment_at(scli_zone_segment *seg, const scli_zone *z, int64_t us)
{
	ptrdiff_t i = last_change(z, us);

	if (z->has_rule && i == (ptrdiff_t)z->n - 1) {
		rule_segment(seg, &z->rule, us);
		if (i >= 0 && seg->start < z->at[i])
			seg->start = z->at[i];
		return;
	}
	seg->start = i < 0 ? INT64_MIN : z->at[i];
	seg->end = (size_t)(i + 1) < z->n ? z->at[i + 1] : INT64_MAX;
	seg->utoff_s = i < 0 ? z->initial : z->utoff[i];
}

int32_t scli_zone_offset_at(const scli_zone *z, int64_t us)
{
	scli_zone_segment seg;

	scli_zone_segment_at(&seg, z, us);
	return seg.utoff_s;
}

/* ---- wall clock to instant -------------------------------------------- */

int64_t scli_zone_first_at_or_after(const scli_zone *z, int64_t local)
{
	scli_zone_segment seg;

	/* no instant before this one shows `local` or later on any clock */
	scli_zone_segment_at(&seg, z, local - ZONE_SEARCH_US);
	for (;;) {
		int64_t c = local - seg.utoff_s * ZONE_US_PER_S;

		if (c < seg.start)
			c = seg.start; /* the clock jumped past `local` here */
		if (c < seg.end)
			return c;
		scli_zone_segment_at(&seg, z, seg.end);
	}
}

int scli_zone_local_to_instant(int64_t *out, scli_zone_gap *gap, const scli_zone *z, int64_t local)
{
	scli_zone_segment seg;
	int64_t at;

	/* stretches in time order, so the first that shows `local` is the earlier */
	scli_zone_segment_at(&seg, z, local - ZONE_SEARCH_US);
	for (;;) {
		int64_t c = local - seg.utoff_s * ZONE_US_PER_S;

		if (c >= seg.start && c < seg.end) {
			*out = c;
			return 0;
		}
		if (seg.end > local + ZONE_SEARCH_US)
			break;
		scli_zone_segment_at(&seg, z, seg.end);
	}
	at = scli_zone_first_at_or_after(z, local);
	if (gap) {
		gap->at = at;
		gap->from_local = at + scli_zone_offset_at(z, at - 1) * ZONE_US_PER_S;
		gap->to_local = at + scli_zone_offset_at(z, at) * ZONE_US_PER_S;
	}
	return SCLI_EINVALID;
}

/* ---- text ---------------------------------------------------------------- */

static void put2(char *buf, unsigned v)
{
	buf[0] = (char)('0' + v / 10 % 10);
	buf[1] = (char)('0' + v % 10);
}

/* `±HH:MM`, or `±HH:MM:SS` when the offset has seconds; NUL-terminated. */
static void offset_text(char *buf, int32_t utoff_s)
{
	unsigned a = (unsigned)(utoff_s < 0 ? -utoff_s : utoff_s);
	size_t n = 6;

	buf[0] = utoff_s < 0 ? '-' : '+';
	put2(buf + 1, a / 3600);
	buf[3] = ':';
	put2(buf + 4, a / 60 % 60);
	if (a % 60 != 0) {
		buf[6] = ':';
		put2(buf + 7, a % 60);
		n = 9;
	}
	buf[n] = '\0';
}

size_t scli_zone_format(char *buf, const scli_zone *z, int64_t us)
{
	int32_t off;
	size_t n;

	if (z->utc)
		return scli_timestamp_format(buf, us);
	off = scli_zone_offset_at(z, us);
	n = scli_timestamp_format(buf, us + off * ZONE_US_PER_S) - 1; /* over its 'Z' */
	offset_text(buf + n, off);
	return n + strlen(buf + n);
}

/* Bounded appending into a caller's buffer: never past `size`, always NUL-terminated. */
typedef struct sink {
	char *buf;
	size_t size, len;
} sink;

static void put(sink *s, const char *text, size_t n)
{
	for (; n > 0 && *text && s->len + 1 < s->size; n--, text++)
		s->buf[s->len++] = *text;
	s->buf[s->len] = '\0';
}

/* A local reading as `YYYY-MM-DDTHH:MM[:SS[.f]]` (from `date_from` on: 11
 * drops the date), seconds only when they are not zero. */
static void put_local(sink *s, int64_t local, size_t date_from)
{
	char t[SCLI_TIMESTAMP_BUFSZ];
	size_t n = scli_timestamp_format(t, local) - 1; /* without 'Z' */

	if (n == 19 && t[17] == '0' && t[18] == '0')
		n = 16;
	put(s, t + date_from, n - date_from);
}

static int64_t day_of(int64_t local)
{
	return local / SCLI_US_PER_DAY - (local % SCLI_US_PER_DAY < 0);
}

void scli_zone_gap_describe(char *buf, size_t size, const scli_zone *z, int64_t local,
			    const scli_zone_gap *gap)
{
	sink s = {buf, size, 0};
	size_t ends = day_of(gap->from_local) == day_of(gap->to_local) ? 11 : 0;

	if (size == 0)
		return;
	buf[0] = '\0';
	put_local(&s, local, 0);
	put(&s, " does not exist in ", SIZE_MAX);
	put(&s, z->name, SIZE_MAX);
	put(&s, " (clocks went from ", SIZE_MAX);
	put_local(&s, gap->from_local, ends);
	put(&s, " to ", SIZE_MAX);
	put_local(&s, gap->to_local, ends);
	put(&s, ")", SIZE_MAX);
}

static int refuse(char *why, size_t why_size, const char *reason)
{
	sink s = {why, why_size, 0};

	if (why_size > 0)
		put(&s, reason, SIZE_MAX);
	return SCLI_EINVALID;
}

int scli_zone_parse_time(int64_t *out, char *why, size_t why_size, const scli_zone *z,
			 const char *text, size_t len)
{
	scli_timestamp_kind kind;
	scli_zone_gap gap;
	const char *reason = NULL;
	int64_t v, t;

	if (scli_timestamp_parse_wall(&v, &kind, text, len, &reason) < 0)
		return refuse(why, why_size, reason);
	if (kind == SCLI_TIMESTAMP_INSTANT)
		t = v;
	else if (kind == SCLI_TIMESTAMP_DATE)
		t = scli_zone_first_at_or_after(z, v);
	else if (scli_zone_local_to_instant(&t, &gap, z, v) < 0) {
		if (why_size > 0)
			scli_zone_gap_describe(why, why_size, z, v, &gap);
		return SCLI_EINVALID;
	}
	if (t < SCLI_TIMESTAMP_MIN || t > SCLI_TIMESTAMP_MAX)
		return refuse(why, why_size,
			      "the time zone moves the timestamp outside years 0001-9999");
	*out = t;
	return 0;
}
