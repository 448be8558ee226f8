/**
 * @file service.h
 * Use cases: init-db, load, count. They take ports and never name an adapter.
 */
#ifndef SCLI_SERVICE_H
#define SCLI_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scli/bucket.h"
#include "scli/event.h"
#include "scli/ledger.h"
#include "scli/types.h"

/** Create or upgrade the schema. */
int scli_service_init_db(scli_repo *repo);

/**
 * 0 when the database has the schema this build uses; SCLI_ESCHEMA otherwise
 * (missing or older: the message says to run `scli init-db`; newer: to upgrade
 * scli). A command checks once, before its first use of the database.
 */
int scli_service_check_schema(scli_repo *repo);

/** The schema version stored in the database (0 when none). */
int scli_service_schema_version(int *version_out, scli_repo *repo);

/** The four figures of a load; rows_read = inserted + duplicates + rejected. */
typedef struct scli_load_report {
	uint64_t rows_read;
	uint64_t inserted;
	uint64_t duplicates;
	uint64_t rejected;
} scli_load_report;

/**
 * Called for each rejected row; `source` and `rej` are borrowed. `load_id` is
 * the ledger id of the load that read it (0 for a load with no ledger record).
 * Return negative to stop the load.
 */
typedef int (*scli_reject_fn)(void *ctx, const char *source, int64_t load_id,
			      const scli_reject *rej);

/** Where a load stands, for a progress display. */
typedef struct scli_load_progress {
	const char *source;		/**< name of the source being read */
	const scli_load_report *so_far; /**< figures so far (committed batches and rejects) */
	uint64_t rows_pending;		/**< rows read into the batch not yet committed */
	int64_t bytes_read;		/**< bytes of the source as stored, -1 when unknown */
	int64_t bytes_total;		/**< size of the source as stored, -1 when unknown */
} scli_load_progress;

/** Called after each committed batch and every few thousand rows read. */
typedef void (*scli_progress_fn)(void *ctx, const scli_load_progress *p);

typedef struct scli_load_options {
	size_t batch_size;	  /**< events per transaction; 0 = the repository's default
				     (scli_repo_default_batch: SCLI_DEFAULT_BATCH,
				     SQLite SCLI_SQLITE_DEFAULT_BATCH) */
	scli_reject_fn on_reject; /**< may be NULL */
	void *reject_ctx;
	scli_progress_fn on_progress; /**< may be NULL */
	void *progress_ctx;
} scli_load_options;


/**
 * Read every row of `col` and store the events in batches. `*report` is
 * added to (not reset), so several sources can share one report. On a
 * failure, committed batches stay (re-running the load is exact) and the
 * batch in flight is not applied nor counted as read, so the figures still add
 * up. `opts` may be NULL.
 */
int scli_service_load(scli_load_report *report, scli_repo *repo, scli_collector *col,
		      const char *source_name, const scli_load_options *opts);

/** How one source's load ended. */
typedef enum scli_source_status {
	SCLI_SOURCE_COMPLETED,
	SCLI_SOURCE_SKIPPED, /**< the ledger has this content read by this collector */
	SCLI_SOURCE_FAILED
} scli_source_status;

/** The outcome of scli_service_load_source. */
typedef struct scli_source_outcome {
	scli_source_status status;
	int64_t load_id; /**< this load's ledger id; for SKIPPED the earlier load's; 0 if none */
	scli_load_report report;
} scli_source_outcome;

/**
 * Load one source end to end: open `path` ("-" is standard input), hash a
 * regular file, ask the ledger whether this content was loaded completely by
 * this collector before (then SKIPPED, unless `force`), record the load as
 * running, read and store every row, and record it as completed or failed.
 * A regular file is checked before each batch commits and, at the end, before
 * the last one does: if it changed while it was read (appended to, truncated,
 * copied over) the load fails with SCLI_ECHANGED, the batches committed before
 * stay (exact anyway) and the ledger says failed, so the next run loads it.
 * Returns 0 for COMPLETED and SKIPPED, the load's error otherwise (message
 * kept); `*out` is filled in every case. The caller has checked the schema
 * (scli_repo_check_schema), once for all its sources.
 */
int scli_service_load_source(scli_source_outcome *out, scli_repo *repo, const char *path,
			     const scli_collector_kind *kind, bool force,
			     const scli_load_options *opts);

/** Up to `limit` recent loads, newest first, through `cb`. */
int scli_service_list_loads(scli_repo *repo, size_t limit, scli_load_record_cb cb, void *ctx);

/** One customer's hourly series; counts[i] belongs to hour first + i hours. */
typedef struct scli_customer_series {
	char customer_id[SCLI_CUSTOMER_ID_MAX + 1];
	int64_t total;
	int64_t *counts;
} scli_customer_series;

/** The answer to a count; owned by the caller, freed with scli_count_result_free. */
typedef struct scli_count_result {
	int64_t from_us, to_us;
	int64_t first_hour_us; /**< start of bucket 0 */
	size_t nbuckets;
	size_t ncustomers;
	scli_customer_series *customers; /**< sorted by customer_id (bytewise) */
} scli_count_result;

/** A count request that passed scli_service_count_request; the customer id is borrowed. */
typedef struct scli_count_request {
	const char *customer_id; /**< NULL: every customer */
	int64_t from_us, to_us;
} scli_count_request;

/** The part of a count request that was refused, for each front end to word in its terms. */
typedef enum scli_count_refusal {
	SCLI_COUNT_ACCEPTED = 0,
	SCLI_COUNT_NO_RANGE,	 /**< from or to is missing */
	SCLI_COUNT_BAD_FROM,	 /**< from is not a timestamp */
	SCLI_COUNT_BAD_TO,	 /**< to is not a timestamp */
	SCLI_COUNT_REVERSED,	 /**< from is after to */
	SCLI_COUNT_BAD_CUSTOMER, /**< not a valid customer id */
	SCLI_COUNT_TOO_WIDE	 /**< more than SCLI_MAX_BUCKETS hours */
} scli_count_refusal;

/** Why scli_service_count_request refused a request. */
typedef struct scli_count_problem {
	scli_count_refusal what;
	const char *why; /**< static reason ("day is out of range for the month"), or NULL */
} scli_count_problem;

/**
 * Check a count request as a user typed it, before any database is touched,
 * in this order: `from_text` and `to_text` both given, each a timestamp, from
 * <= to, `customer_id` (`customer_len` bytes, which may hold a NUL; NULL for
 * every customer) a valid id, at most SCLI_MAX_BUCKETS hours. Every front end
 * (`scli count`, `scli serve`) asks this and only words `*problem` its own
 * way. 0 and `*out` filled (borrowing `customer_id`), else SCLI_EINVALID, or
 * SCLI_ERANGE for TOO_WIDE, with the message set.
 */
int scli_service_count_request(scli_count_request *out, scli_count_problem *problem,
			       const char *customer_id, size_t customer_len, const char *from_text,
			       const char *to_text);

/**
 * Count events per UTC hour in [from, to). With `customer_id` the result has
 * exactly that customer (zero counts when it has no events); with NULL, every
 * customer with at least one event in the range. The arguments are checked as
 * scli_service_count_request checks them: SCLI_EINVALID when from > to or the
 * customer id is not valid, SCLI_ERANGE beyond SCLI_MAX_BUCKETS (message set).
 */
int scli_service_count(scli_count_result **out, scli_repo *repo, const char *customer_id,
		       int64_t from_us, int64_t to_us);

/** Start of bucket `i` of `res`. */
static inline int64_t scli_count_result_bucket_start(const scli_count_result *res, size_t i)
{
	return res->first_hour_us + (int64_t)i * INT64_C(3600000000);
}

/** Free a count result (NULL-safe). */
void scli_count_result_free(scli_count_result *res);

#endif
