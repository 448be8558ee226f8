/**
 * @file service.h
 * Use cases: init-db, load, count (count.h). They take ports and never name an adapter.
 */
#ifndef SCLI_SERVICE_H
#define SCLI_SERVICE_H

#include "scli/export.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scli/bucket.h"
#include "scli/count.h"
#include "scli/event.h"
#include "scli/ledger.h"
#include "scli/types.h"

/** Create or upgrade the schema. */
SCLI_API int scli_service_init_db(scli_repo *repo);

/**
 * 0 when the database has the schema this build uses; SCLI_ESCHEMA otherwise
 * (missing or older: the message says to run `scli init-db`; newer: to upgrade
 * scli). A command checks once, before its first use of the database.
 */
SCLI_API int scli_service_check_schema(scli_repo *repo);

/** The schema version stored in the database (0 when none). */
SCLI_API int scli_service_schema_version(int *version_out, scli_repo *repo);

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
SCLI_API int scli_service_load(scli_load_report *report, scli_repo *repo, scli_collector *col,
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
SCLI_API int scli_service_load_source(scli_source_outcome *out, scli_repo *repo, const char *path,
				      const scli_collector_kind *kind, bool force,
				      const scli_load_options *opts);

/** Up to `limit` recent loads, newest first, through `cb`. */
SCLI_API int scli_service_list_loads(scli_repo *repo, size_t limit, scli_load_record_cb cb,
				     void *ctx);

#endif
