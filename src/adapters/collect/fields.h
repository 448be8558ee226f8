/*
 * What every collector shares (private to src/adapters/collect): the four
 * fields and the names they go by, and the one conversion of a row's fields,
 * however the format delivered them, into a validated event or the reason the
 * row is rejected. Each format finds the fields (CSV columns, JSON members);
 * the rules for their content are said once, here.
 */
#ifndef SCLI_COLLECT_FIELDS_H
#define SCLI_COLLECT_FIELDS_H

#include <stdbool.h>
#include <stddef.h>

#include "scli/event.h"

/* Room for a reject reason, in every collector. */
#define COLLECT_REASON_MAX 256

/* The four fields, in the headerless CSV order. */
typedef enum collect_field {
	COLLECT_CUSTOMER_ID,
	COLLECT_EVENT_TYPE,
	COLLECT_TRANSACTION_ID,
	COLLECT_TIMESTAMP,
	COLLECT_FIELDS
} collect_field;

/* Canonical names, for messages ("customer_id", ...). */
extern const char *const collect_field_names[COLLECT_FIELDS];

/* The field a column name or JSON key means (any case, '_' optional, so camelCase
 * matches), or -1. */
int collect_field_index(const char *s, size_t len);

/* A row's fields as the format found them, not yet checked (the texts are borrowed). */
typedef struct collect_row {
	const char *text[COLLECT_FIELDS];
	size_t len[COLLECT_FIELDS];
	bool ts_is_number; /* the timestamp is a JSON number: Unix seconds, as written */
} collect_row;

/*
 * Check the fields and fill `ev` (returns 1), or write why the row cannot be
 * read into reason[cap] (returns 0). The text fields' faults are reported
 * before the timestamp's, as they come first in a CSV row.
 */
int collect_row_to_event(scli_event *ev, char *reason, size_t cap, const collect_row *row);

/* Copy at most `max` bytes of s[0..len) into out (max + 1 bytes), safe to print:
 * whole UTF-8 sequences, controls as '?'. *cut says whether it was shortened. */
void collect_quote_text(char *out, size_t max, const char *s, size_t len, int *cut);

#endif
