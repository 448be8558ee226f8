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

/** How a count from files (scli_service_count_sources) reads; a zeroed struct asks for the
 *  defaults. */
typedef struct scli_count_sources_options {
	scli_reject_fn on_reject; /**< each rejected row, in the order a load reads them, from one
				     thread at a time (load_id 0); may be NULL */
	void *reject_ctx;
	size_t memory_limit; /**< bytes the identities kept may take (SCLI_ENOMEM past it);
				0: no limit but the allocator's */
	unsigned threads;    /**< threads reading and counting; 0: the online CPUs, at most 8 */
	size_t part_bytes;   /**< a file is read in parts of about this many bytes (threads > 1,
				CSV, a regular uncompressed file); 0: SCLI_COUNT_PART_BYTES */
} scli_count_sources_options;

/** Parts of about 4 MiB: a few milliseconds of reading each, and few enough to keep in memory. */
#define SCLI_COUNT_PART_BYTES (4u << 20)

/** What a count from files read. */
typedef struct scli_count_sources_report {
	uint64_t rows_read;  /**< rows of every source, rejected ones included */
	uint64_t rejected;   /**< rows that could not be read (a load would reject them too) */
	uint64_t identities; /**< distinct identities kept (of the customers asked for) */
	size_t memory_peak;  /**< the most bytes the identities took at once */
} scli_count_sources_report;

/**
 * Count a checked request (scli_service_count_request) from the sources
 * `paths[0..n)` (files or "-"; a caller expands directories and globs) read by
 * collectors of `kind`, in that order, with no repository: the answer is the
 * one `scli_service_load_source` of each path into an empty repository and
 * then scli_service_count_windows would give. The same identity read twice
 * counts once, the first one read winning (a later copy with another time or
 * event type changes nothing); rows a load would reject are reported through
 * `opts->on_reject` and not counted. Only the identities of the customers asked
 * for are kept (all when none is named): memory grows with their number and is
 * bounded by `opts->memory_limit`. A regular file that changes while it is
 * read fails with SCLI_ECHANGED. `*report` is filled in every case; `*out` is
 * the result (free with scli_count_result_free) or NULL on failure.
 */
SCLI_API int scli_service_count_sources(scli_count_result **out, scli_count_sources_report *report,
					const char *const *paths, size_t n,
					const scli_collector_kind *kind,
					const scli_count_request *req,
					const scli_count_sources_options *opts);

/** Up to `limit` recent loads, newest first, through `cb`. */
SCLI_API int scli_service_list_loads(scli_repo *repo, size_t limit, scli_load_record_cb cb,
				     void *ctx);

#endif
