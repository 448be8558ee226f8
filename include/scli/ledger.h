/**
 * @file ledger.h
 * The load ledger as a program reads it: one record per load of one source,
 * with its state and four figures (scli_service_list_loads).
 */
#ifndef SCLI_LEDGER_H
#define SCLI_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "scli/error.h"

/** State of one load in the ledger. A killed load stays RUNNING forever; only COMPLETED counts. */
typedef enum scli_load_state {
	SCLI_LOAD_RUNNING = 0,
	SCLI_LOAD_COMPLETED = 1,
	SCLI_LOAD_FAILED = 2
} scli_load_state;

/** The state's name as stored and shown: "running", "completed", "failed". */
static inline const char *scli_load_state_name(scli_load_state state)
{
	switch (state) {
	case SCLI_LOAD_COMPLETED:
		return "completed";
	case SCLI_LOAD_FAILED:
		return "failed";
	case SCLI_LOAD_RUNNING:
	default:
		return "running";
	}
}

/** Inverse of scli_load_state_name: 0, or SCLI_EINVALID (no message set) for any other text. */
static inline int scli_load_state_parse(scli_load_state *out, const char *name)
{
	static const scli_load_state all[] = {SCLI_LOAD_RUNNING, SCLI_LOAD_COMPLETED,
					      SCLI_LOAD_FAILED};
	size_t i;

	for (i = 0; name && i < sizeof(all) / sizeof(all[0]); i++) {
		const char *n = scli_load_state_name(all[i]), *a = name;

		while (*n && *n == *a)
			n++, a++;
		if (!*n && !*a) {
			*out = all[i];
			return 0;
		}
	}
	return SCLI_EINVALID;
}

#define SCLI_SOURCE_NAME_MAX 1024
#define SCLI_HASH_HEX_LEN 32
#define SCLI_LOAD_ERROR_MAX 255
#define SCLI_COLLECTOR_NAME_MAX 31

/** One load of one source, as the ledger keeps it. Plain data, owned by whoever holds it. */
typedef struct scli_load_record {
	int64_t id; /**< ledger id, assigned by ledger_begin */
	scli_load_state state;
	char source[SCLI_SOURCE_NAME_MAX + 1]; /**< path as given, or "<stdin>" */
	int64_t size;			       /**< bytes of the source, -1 when unknown */
	char hash[SCLI_HASH_HEX_LEN +
		  1]; /**< XXH3-128 of the source's bytes, hex; "" when unknown */
	char collector[SCLI_COLLECTOR_NAME_MAX + 1]; /**< "csv", "json"; "" before schema 3 */
	int64_t started_us;			     /**< UTC microseconds */
	int64_t ended_us;			     /**< 0 while running */
	uint64_t rows_read, inserted, duplicates, rejected;
	char error[SCLI_LOAD_ERROR_MAX + 1]; /**< why it failed; "" otherwise */
} scli_load_record;

/** Called for each listed load; return negative to stop (returned by ledger_list). */
typedef int (*scli_load_record_cb)(void *ctx, const scli_load_record *rec);

#endif
