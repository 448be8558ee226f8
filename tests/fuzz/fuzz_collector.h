/*
 * Shared by fuzz_csv.c and fuzz_json.c: run arbitrary bytes through a collector
 * to the end and check what every collector promises. Every reject has a line
 * >= 1 and a non-empty reason that is safe to print (valid UTF-8, no control
 * characters: it goes to terminals and the rejects file); every event holds
 * valid fields and an in-range timestamp; the number of rows is bounded by the
 * input (no row from nothing, no endless loop). A failure that stops the load
 * (a CSV header naming no usable columns) ends it with a printable message.
 *
 * Line numbers never decrease, with one exception: the last row may be a
 * reject found at end of input for something opened earlier (a JSON array never
 * closed is reported on the line of its '['), since a row's line is where it
 * starts.
 */
#ifndef SCLI_FUZZ_COLLECTOR_H
#define SCLI_FUZZ_COLLECTOR_H

#include <string.h>

#include "scli/sys/adapters.h"
#include "scli/error.h"
#include "scli/event.h"
#include "scli/sys/collector.h"
#include "scli/timestamp.h"

#include "fuzz.h"

#define FUZZ_REASON_MAX 4096

typedef int (*fuzz_collector_new_fn)(scli_collector **out, scli_source *src);

static inline void fuzz_check_field(const char *name, const char *s, size_t len, size_t max,
				    const uint8_t *data, size_t size)
{
	const char *why = NULL;

	FUZZ_CHECK(len == strlen(s), data, size, "event %s: length %zu, strlen %zu", name, len,
		   strlen(s));
	FUZZ_CHECK(scli_field_validate(s, len, max, &why) == 0, data, size,
		   "event %s \"%s\" is invalid: %s", name, s, why);
}

static inline void fuzz_collector_drain(fuzz_collector_new_fn new_collector, const char *name,
					const uint8_t *data, size_t size)
{
	scli_source *src = NULL;
	scli_collector *c = NULL;
	uint64_t last_line = 0, rows = 0;
	int got, went_back = 0;

	if (scli_source_from_memory(&src, data, size, name) < 0 || new_collector(&c, src) < 0)
		goto done; /* out of memory: nothing to check */
	for (;;) {
		scli_event ev;
		scli_reject rej;

		memset(&rej, 0, sizeof(rej));
		got = scli_collector_next(&ev, &rej, c);
		if (got == SCLI_NEXT_END)
			break;
		if (got < 0) {
			const char *msg = scli_error_last();

			FUZZ_CHECK(
			    msg && *msg &&
				scli_field_validate(msg, strlen(msg), FUZZ_REASON_MAX, NULL) == 0,
			    data, size, "next failed (%d) with an unprintable message: \"%s\"", got,
			    msg ? msg : "(null)");
			break;
		}
		FUZZ_CHECK(got == SCLI_NEXT_EVENT || got == SCLI_NEXT_REJECT, data, size,
			   "next returned %d", got);
		FUZZ_CHECK(!went_back, data, size, "a row after a reject on an earlier line");
		rows++;
		FUZZ_CHECK(rows <= size + 1, data, size, "%llu rows from %zu bytes",
			   (unsigned long long)rows, size);
		if (got == SCLI_NEXT_EVENT) {
			fuzz_check_field("customer_id", ev.customer_id, ev.customer_id_len,
					 SCLI_CUSTOMER_ID_MAX, data, size);
			fuzz_check_field("event_type", ev.event_type, ev.event_type_len,
					 SCLI_EVENT_TYPE_MAX, data, size);
			fuzz_check_field("transaction_id", ev.transaction_id, ev.transaction_id_len,
					 SCLI_TRANSACTION_ID_MAX, data, size);
			FUZZ_CHECK(ev.ts_us >= SCLI_TIMESTAMP_MIN && ev.ts_us <= SCLI_TIMESTAMP_MAX,
				   data, size, "event timestamp %lld out of range",
				   (long long)ev.ts_us);
			continue;
		}
		FUZZ_CHECK(rej.line >= 1, data, size, "reject on line 0");
		went_back = rej.line < last_line;
		last_line = rej.line;
		FUZZ_CHECK(rej.reason && *rej.reason, data, size, "reject without a reason");
		FUZZ_CHECK(
		    scli_field_validate(rej.reason, strlen(rej.reason), FUZZ_REASON_MAX, NULL) == 0,
		    data, size, "reject reason unsafe to print: \"%s\"", rej.reason);
		FUZZ_CHECK(rej.raw || rej.raw_len == 0, data, size, "reject raw NULL, raw_len %zu",
			   rej.raw_len);
		/* the raw text is the input's own bytes: touch them all (ASan checks the range) */
		if (rej.raw_len) {
			volatile unsigned char sum = 0;
			size_t i;

			FUZZ_CHECK(rej.raw_len <= size, data, size, "raw_len %zu > input %zu",
				   rej.raw_len, size);
			for (i = 0; i < rej.raw_len; i++)
				sum ^= (unsigned char)rej.raw[i];
			(void)sum;
		}
	}
done:
	scli_collector_free(c);
	scli_source_free(src);
}

#endif
