/* The usage event and the rules for its text fields (SPEC.md "Event"). */
#include "scli/event.h"

#include <stdbool.h>
#include <string.h>

#include "scli/error.h"

enum field_problem { FIELD_OK, FIELD_EMPTY, FIELD_TOO_LONG, FIELD_CONTROL, FIELD_BAD_UTF8 };

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
