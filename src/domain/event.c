/* The usage event and the rules for its text fields (SPEC.md "Event"). */
#include "scli/event.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "scli/alloc.h"
#include "scli/error.h"

enum field_problem { FIELD_OK, FIELD_EMPTY, FIELD_TOO_LONG, FIELD_CONTROL, FIELD_BAD_UTF8 };

/*
 * Whether every byte is printable ASCII (0x20..0x7E), eight at a time: the
 * common case, which needs no decoding. A word has a byte below 0x20 when
 * subtracting 0x20 from every byte borrows into the high bit of a byte that
 * did not have it, and a byte above 0x7E when adding 1 to every byte sets a
 * high bit (or one was set); both tests are exact for "some byte".
 */
static bool printable_ascii(const unsigned char *s, size_t len)
{
	const uint64_t ones = UINT64_C(0x0101010101010101), highs = UINT64_C(0x8080808080808080);
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t w;

		memcpy(&w, s + i, 8);
		if (((w - 0x20 * ones) & ~w & highs) | (((w + ones) | w) & highs))
			return false;
	}
	for (; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7E)
			return false;
	return true;
}

/* Walks the bytes once: decoding UTF-8 strictly (no overlongs, surrogates or
 * code points past U+10FFFF, no truncated sequences) and rejecting C0, DEL
 * and C1 controls, which would corrupt CSV/JSON output and terminals. */
static enum field_problem check_field(const unsigned char *s, size_t len, size_t max)
{
	size_t i = 0;

	if (len == 0)
		return FIELD_EMPTY;
	if (len > max)
		return FIELD_TOO_LONG;
	if (printable_ascii(s, len))
		return FIELD_OK;
	while (i < len) {
		unsigned c = s[i];
		unsigned cp, lo = 0x80, hi = 0xBF;
		size_t need, k;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7F)
				return FIELD_CONTROL;
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) {
			need = 1;
			cp = c & 0x1F;
		} else if (c >= 0xE0 && c <= 0xEF) {
			need = 2;
			cp = c & 0x0F;
			if (c == 0xE0)
				lo = 0xA0; /* overlong below U+0800 */
			else if (c == 0xED)
				hi = 0x9F; /* surrogates U+D800-U+DFFF */
		} else if (c >= 0xF0 && c <= 0xF4) {
			need = 3;
			cp = c & 0x07;
			if (c == 0xF0)
				lo = 0x90; /* overlong below U+10000 */
			else if (c == 0xF4)
				hi = 0x8F; /* past U+10FFFF */
		} else {
			/* stray continuation byte, C0/C1 overlong lead, or F5-FF */
			return FIELD_BAD_UTF8;
		}
		if (len - i - 1 < need)
			return FIELD_BAD_UTF8;
		for (k = 1; k <= need; k++) {
			unsigned b = s[i + k];

			/* only the first continuation byte has the narrowed range */
			if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF))
				return FIELD_BAD_UTF8;
			cp = (cp << 6) | (b & 0x3F);
		}
		if (cp >= 0x80 && cp <= 0x9F)
			return FIELD_CONTROL;
		i += need + 1;
	}
	return FIELD_OK;
}

int scli_field_validate(const char *s, size_t len, size_t max, const char **why)
{
	const char *reason;

	switch (check_field((const unsigned char *)s, len, max)) {
	case FIELD_OK:
		return 0;
	case FIELD_EMPTY:
		reason = "is empty";
		break;
	case FIELD_TOO_LONG:
		/* static strings for the limits the schema uses */
		if (max == 128)
			reason = "is longer than 128 bytes";
		else if (max == 256)
			reason = "is longer than 256 bytes";
		else
			reason = "is longer than allowed";
		break;
	case FIELD_CONTROL:
		reason = "contains a control character";
		break;
	case FIELD_BAD_UTF8:
	default:
		reason = "is not valid UTF-8";
		break;
	}
	if (why)
		*why = reason;
	return SCLI_EINVALID;
}

/* The reasons below spell out the limits. */
_Static_assert(SCLI_CUSTOMER_ID_MAX == 128, "update field_reasons");
_Static_assert(SCLI_EVENT_TYPE_MAX == 128, "update field_reasons");
_Static_assert(SCLI_TRANSACTION_ID_MAX == 256, "update field_reasons");

enum { F_CUSTOMER_ID, F_EVENT_TYPE, F_TRANSACTION_ID };

/* Whole sentences per field, so `why` stays static and callers need no buffer. */
static const char *const field_reasons[3][5] = {
    [F_CUSTOMER_ID] = {NULL, "customer_id is empty", "customer_id is longer than 128 bytes",
		       "customer_id contains a control character",
		       "customer_id is not valid UTF-8"},
    [F_EVENT_TYPE] = {NULL, "event_type is empty", "event_type is longer than 128 bytes",
		      "event_type contains a control character", "event_type is not valid UTF-8"},
    [F_TRANSACTION_ID] = {NULL, "transaction_id is empty",
			  "transaction_id is longer than 256 bytes",
			  "transaction_id contains a control character",
			  "transaction_id is not valid UTF-8"},
};

static bool set_field(char *dst, uint16_t *dst_len, int field, const char *s, size_t len,
		      size_t max, const char **why)
{
	enum field_problem p = check_field((const unsigned char *)s, len, max);

	if (p != FIELD_OK) {
		if (why)
			*why = field_reasons[field][p];
		return false;
	}
	memcpy(dst, s, len);
	dst[len] = '\0';
	*dst_len = (uint16_t)len;
	return true;
}

int scli_event_set(scli_event *ev, const char *customer_id, size_t customer_id_len,
		   const char *event_type, size_t event_type_len, const char *transaction_id,
		   size_t transaction_id_len, int64_t ts_us, const char **why)
{
	if (!set_field(ev->customer_id, &ev->customer_id_len, F_CUSTOMER_ID, customer_id,
		       customer_id_len, SCLI_CUSTOMER_ID_MAX, why) ||
	    !set_field(ev->event_type, &ev->event_type_len, F_EVENT_TYPE, event_type,
		       event_type_len, SCLI_EVENT_TYPE_MAX, why) ||
	    !set_field(ev->transaction_id, &ev->transaction_id_len, F_TRANSACTION_ID,
		       transaction_id, transaction_id_len, SCLI_TRANSACTION_ID_MAX, why))
		return SCLI_EINVALID;
	ev->ts_us = ts_us;
	return 0;
}

/* Byte order of a text field, shorter first on a common prefix (memcmp then
 * length), which is how a "C" collation orders text. */
static int text_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return (alen > blen) - (alen < blen);
}

static int identity_cmp(const scli_event *a, const scli_event *b)
{
	int c = text_cmp(a->customer_id, a->customer_id_len, b->customer_id, b->customer_id_len);

	if (c != 0)
		return c;
	return text_cmp(a->transaction_id, a->transaction_id_len, b->transaction_id,
			b->transaction_id_len);
}

/*
 * Sort keys: the first 8 bytes of each field as a big-endian integer (texts hold
 * no NUL, so zero padding orders a shorter text first), then the whole texts,
 * then the position. Comparing the prefixes first keeps the sort inside a small
 * array instead of reaching into every event: 1M events sort in a fraction of
 * the time. The order is (customer prefix, transaction prefix, customer,
 * transaction, position): a total order in which copies of one identity sit
 * together, earliest first, and which is byte order wherever customer ids
 * differ in their first 8 bytes or are equal.
 */
typedef struct order_key {
	uint64_t customer8;
	uint64_t transaction8;
	uint32_t pos;
} order_key;

static uint64_t prefix8(const char *s, size_t len)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < 8; i++)
		v = v << 8 | (i < len ? (unsigned char)s[i] : 0);
	return v;
}

/* qsort has no context argument: the batch being ordered, one per thread. */
static _Thread_local const scli_event *order_events;

static int order_cmp(const void *pa, const void *pb)
{
	const order_key *a = pa, *b = pb;
	int c;

	if (a->customer8 != b->customer8)
		return a->customer8 < b->customer8 ? -1 : 1;
	if (a->transaction8 != b->transaction8)
		return a->transaction8 < b->transaction8 ? -1 : 1;
	c = identity_cmp(&order_events[a->pos], &order_events[b->pos]);
	if (c != 0)
		return c;
	return (a->pos > b->pos) - (a->pos < b->pos); /* the earlier row first: it is kept */
}

int scli_events_order_unique(size_t *kept_out, uint32_t *order, const scli_event *events,
			     size_t n)
{
	order_key *keys;
	size_t i, kept = 0;

	*kept_out = 0;
	if (n == 0)
		return 0;
	if (n > UINT32_MAX)
		return scli_error_set(SCLI_EINVALID, "a batch of 2^32 events or more");
	keys = scli_malloc(n * sizeof(*keys));
	if (!keys)
		return scli_error_set(SCLI_ENOMEM, "out of memory ordering a batch");
	for (i = 0; i < n; i++) {
		keys[i].customer8 = prefix8(events[i].customer_id, events[i].customer_id_len);
		keys[i].transaction8 =
		    prefix8(events[i].transaction_id, events[i].transaction_id_len);
		keys[i].pos = (uint32_t)i;
	}
	order_events = events;
	qsort(keys, n, sizeof(*keys), order_cmp);
	order_events = NULL;
	for (i = 0; i < n; i++)
		if (i == 0 || keys[i].customer8 != keys[i - 1].customer8 ||
		    keys[i].transaction8 != keys[i - 1].transaction8 ||
		    identity_cmp(&events[order[kept - 1]], &events[keys[i].pos]) != 0)
			order[kept++] = keys[i].pos;
	scli_free(keys);
	*kept_out = kept;
	return 0;
}
