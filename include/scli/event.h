/**
 * @file event.h
 * The usage event: the one thing scli counts.
 */
#ifndef SCLI_EVENT_H
#define SCLI_EVENT_H

#include "scli/export.h"

#include <stddef.h>
#include <stdint.h>

#define SCLI_CUSTOMER_ID_MAX 128
#define SCLI_EVENT_TYPE_MAX 128
#define SCLI_TRANSACTION_ID_MAX 256

/**
 * An event. Text fields are NUL-terminated copies held inline (the struct owns
 * them; no heap), so an array of events is a self-contained batch.
 * Identity is (customer_id, transaction_id).
 */
typedef struct scli_event {
	int64_t ts_us; /**< microseconds since the Unix epoch, UTC */
	uint16_t customer_id_len;
	uint16_t event_type_len;
	uint16_t transaction_id_len;
	char customer_id[SCLI_CUSTOMER_ID_MAX + 1];
	char event_type[SCLI_EVENT_TYPE_MAX + 1];
	char transaction_id[SCLI_TRANSACTION_ID_MAX + 1];
} scli_event;

/**
 * Check that `s[0..len)` is a valid value for a text field of at most `max`
 * bytes: 1..max bytes, valid UTF-8, no control characters (C0, DEL, C1).
 * Returns 0 or SCLI_EINVALID with `*why` (when not NULL) pointing at a static
 * reason such as "is empty", "is longer than 128 bytes", "contains a control
 * character", "is not valid UTF-8".
 */
SCLI_API int scli_field_validate(const char *s, size_t len, size_t max, const char **why);

/**
 * Fill `ev` from the given fields after validating each. On failure returns
 * SCLI_EINVALID; `*why` points at a static reason naming the field (e.g.
 * "customer_id is empty", "transaction_id is longer than 256 bytes"); `ev` is
 * left in an unspecified state. The timestamp must already be parsed.
 */
SCLI_API int scli_event_set(scli_event *ev, const char *customer_id, size_t customer_id_len,
			    const char *event_type, size_t event_type_len,
			    const char *transaction_id, size_t transaction_id_len, int64_t ts_us,
			    const char **why);

/**
 * Keep the first copy of each identity in a batch, grouped for an index: fills
 * `order` (room for `n` indexes) with the positions in `events` of the first
 * event of every distinct (customer_id, transaction_id) and sets `*kept_out` to
 * how many. "First" is the lowest position, so a batch read in file order keeps
 * the first row of the file. Exact: identities are compared as whole texts,
 * never as hashes. The order is close to byte order of (customer_id,
 * transaction_id) — exactly that when customer ids differ in their first 8
 * bytes — so inserting in it walks an index on those columns forward.
 * Returns 0, SCLI_ENOMEM, or SCLI_EINVALID when `n` is 2^32 or more.
 */
SCLI_API int scli_events_order_unique(size_t *kept_out, uint32_t *order, const scli_event *events,
				      size_t n);

#endif
