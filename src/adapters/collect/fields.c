/*
 * The fields every collector reads, and the one conversion of a row's fields
 * into an event or a reject reason (fields.h).
 *
 * A timestamp comes as text (SPEC's formats, parsed by scli_timestamp_parse)
 * or, in JSON, as a number of Unix seconds. The number is read from its digits
 * as written, exactly to the microsecond like a text timestamp's fraction
 * (extra digits truncated), where cJSON's double would be off by microseconds
 * far from 1970.
 */
#include "fields.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "scli/error.h"
#include "scli/timestamp.h"

/* How much of a bad text timestamp a reason quotes. */
#define REASON_QUOTE_MAX 64
/* ...and of a bad numeric one (a number needs no more to be recognised). */
#define NUMBER_QUOTE_MAX 20

const char *const collect_field_names[COLLECT_FIELDS] = {"customer_id", "event_type",
							 "transaction_id", "timestamp"};
/* Names as compared: lowercased, without '_'. */
static const char *const field_keys[COLLECT_FIELDS] = {"customerid", "eventtype", "transactionid",
						       "timestamp"};

int collect_field_index(const char *s, size_t len)
{
	char key[32];
	size_t i, n = 0;
	int k;

	for (i = 0; i < len; i++) {
		char ch = s[i];

		if (ch == '_')
			continue;
		if (n + 1 >= sizeof(key))
			return -1;
		key[n++] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
	}
	key[n] = '\0';
	for (k = 0; k < COLLECT_FIELDS; k++)
		if (strcmp(key, field_keys[k]) == 0)
			return k;
	return -1;
}

void collect_quote_text(char *out, size_t max, const char *s, size_t len, int *cut)
{
	size_t n = len, i;

	*cut = 0;
	if (n > max) {
		n = max;
		/* do not split a UTF-8 sequence */
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
		*cut = 1;
	}
	memcpy(out, s, n);
	out[n] = '\0';
	if (n && scli_field_validate(out, n, max, NULL) != 0)
		for (i = 0; i < n; i++)
			if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] >= 0x7F)
				out[i] = '?';
}

/* Saturating decimal digits: enough for an exponent, which only needs to be "huge". */
static long digits_value(const char **p, const char *end)
{
	long v = 0;

	for (; *p < end && **p >= '0' && **p <= '9'; (*p)++)
		if (v < 100000000)
			v = v * 10 + (**p - '0');
	return v;
}

/*
 * Unix seconds as written in JSON (`-?digits[.digits][e[+-]digits]`) to
 * microseconds, exactly: the digits shifted by the exponent, the fraction
 * below a microsecond dropped toward negative infinity (as a text timestamp's
 * extra digits are). Returns 0, or SCLI_EINVALID with *why.
 */
static int timestamp_from_number(int64_t *out, const char *num, size_t len, const char **why)
{
	const char *p = num, *end = num + len, *int_start, *frac = NULL;
	size_t int_len, frac_len = 0, i, ndig;
	long point, exp10 = 0;
	int neg = p < end && *p == '-', rest = 0, big = 0;
	uint64_t us = 0;

	p += neg;
	int_start = p;
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	int_len = (size_t)(p - int_start);
	if (p < end && *p == '.') {
		frac = ++p;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
		frac_len = (size_t)(p - frac);
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		int eneg = ++p < end && *p == '-';

		p += p < end && (*p == '-' || *p == '+');
		exp10 = digits_value(&p, end);
		exp10 = eneg ? -exp10 : exp10;
	}
	if (p != end || int_len + frac_len == 0) {
		*why = "not a number";
		return SCLI_EINVALID;
	}
	/* the value is 0.DIGITS x 10^(int_len + exp10), DIGITS the integer then the
	 * fraction digits: the first `point` of them are whole microseconds */
	point = (long)int_len + exp10 + 6;
	ndig = int_len + frac_len;
	for (i = 0; i < ndig; i++) {
		char d = i < int_len ? int_start[i] : frac[i - int_len];

		if ((long)i >= point) {
			rest |= d != '0';
		} else if (!big) {
			us = us * 10 + (uint64_t)(d - '0');
			big = us > (uint64_t)SCLI_TIMESTAMP_MAX + 1;
		}
	}
	for (; (long)i < point && us != 0 && !big; i++) {
		us *= 10;
		big = us > (uint64_t)SCLI_TIMESTAMP_MAX + 1;
	}
	if (big)
		goto out_of_range;
	/* us <= MAX + 1, so the negation and the floor fit in int64_t */
	*out = neg ? -(int64_t)us - rest : (int64_t)us;
	if (*out < SCLI_TIMESTAMP_MIN || *out > SCLI_TIMESTAMP_MAX)
		goto out_of_range;
	return 0;
out_of_range:
	*why = "seconds are outside years 0001-9999";
	return SCLI_EINVALID;
}

/* Parse the row's timestamp. Returns 0, or SCLI_EINVALID with *why. */
static int timestamp_parse(int64_t *out, const collect_row *row, const char **why)
{
	const char *ts = row->text[COLLECT_TIMESTAMP];
	size_t len = row->len[COLLECT_TIMESTAMP];

	if (row->ts_is_number)
		return timestamp_from_number(out, ts, len, why);
	if (len == 0) {
		*why = "timestamp is empty";
		return SCLI_EINVALID;
	}
	return scli_timestamp_parse(out, ts, len, why);
}

/* Why the timestamp was refused, quoting it (in part, printably) when there is one. */
static void reason_timestamp(char *reason, size_t cap, const collect_row *row, const char *why)
{
	const char *ts = row->text[COLLECT_TIMESTAMP];
	size_t len = row->len[COLLECT_TIMESTAMP];
	char quoted[REASON_QUOTE_MAX + 1];
	int cut;

	if (row->ts_is_number) {
		collect_quote_text(quoted, NUMBER_QUOTE_MAX, ts, len, &cut);
		snprintf(reason, cap, "timestamp %s%s: %s", quoted, cut ? "..." : "", why);
	} else if (len == 0) {
		snprintf(reason, cap, "%s", why);
	} else {
		collect_quote_text(quoted, REASON_QUOTE_MAX, ts, len, &cut);
		snprintf(reason, cap, "timestamp \"%s%s\": %s", quoted, cut ? "..." : "", why);
	}
}

int collect_row_to_event(scli_event *ev, char *reason, size_t cap, const collect_row *row)
{
	const char *const *s = row->text;
	const size_t *n = row->len;
	const char *why = NULL, *ts_why = NULL;
	int64_t ts = 0;
	int ts_ok = timestamp_parse(&ts, row, &ts_why) == 0;

	if (scli_event_set(ev, s[COLLECT_CUSTOMER_ID], n[COLLECT_CUSTOMER_ID],
			   s[COLLECT_EVENT_TYPE], n[COLLECT_EVENT_TYPE], s[COLLECT_TRANSACTION_ID],
			   n[COLLECT_TRANSACTION_ID], ts, &why) != 0) {
		snprintf(reason, cap, "%s", why);
		return 0;
	}
	if (!ts_ok) {
		reason_timestamp(reason, cap, row, ts_why);
		return 0;
	}
	return 1;
}
