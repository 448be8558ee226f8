/* Shared by the collectors (private to src/adapters): the field names both
 * formats accept, and bounded, printable quoting of bad input in reasons. */
#ifndef SCLI_COLLECT_COMMON_H
#define SCLI_COLLECT_COMMON_H

#include <stddef.h>

/* The four fields, in the headerless CSV order. */
enum {
	COLLECT_CUSTOMER_ID,
	COLLECT_EVENT_TYPE,
	COLLECT_TRANSACTION_ID,
	COLLECT_TIMESTAMP,
	COLLECT_FIELDS
};

/* Canonical names, for messages ("customer_id", ...). */
extern const char *const collect_field_names[COLLECT_FIELDS];

/* The field a column name or JSON key means (any case, '_' optional, so camelCase
 * matches), or -1. */
int collect_field_index(const char *s, size_t len);

/* Copy at most `max` bytes of s[0..len) into out (max + 1 bytes), safe to print:
 * whole UTF-8 sequences, controls as '?'. *cut says whether it was shortened. */
void collect_quote_text(char *out, size_t max, const char *s, size_t len, int *cut);

/* `timestamp "<text>": <why>` into reason[cap], the text quoted as above (64 bytes). */
void collect_reason_timestamp(char *reason, size_t cap, const char *ts, size_t len,
			      const char *why);

#endif
