/**
 * @file sys/repository.h
 * The repository port, for adapter authors. An adapter defines a `const
 * scli_repo_ops` table and a struct whose first member is `scli_repo`.
 * Callers use the static inline wrappers below, never `r->ops->x` directly;
 * opening, naming and freeing are public (include/scli/repository.h).
 */
#ifndef SCLI_SYS_REPOSITORY_H
#define SCLI_SYS_REPOSITORY_H

#ifdef SCLI_PUBLIC_API_ONLY
#error "include/scli/sys/ is for adapter authors; entry points and programs use include/scli/*.h"
#endif

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scli/error.h"
#include "scli/event.h"
#include "scli/ledger.h"
#include "scli/repository.h"
#include "scli/types.h"

#define SCLI_REPO_OPS_VERSION 1


/**
 * Called once per (customer, hour) with a non-zero count. `customer_id` is
 * borrowed for the duration of the call. Return 0 to go on, negative to stop
 * (that value is then returned by count_hourly).
 */
typedef int (*scli_hour_cb)(void *ctx, const char *customer_id, int64_t hour_start_us,
			    int64_t count);

/**
 * A count over consecutive windows (issue 15): which events, and where the
 * windows start and end. Window i is [bounds[i], bounds[i + 1]); the caller
 * has already cut the first and last windows to the asked range, so every
 * counted event has bounds[0] <= ts < bounds[n_windows]. Bounds may fall
 * anywhere (minute windows, a zone with an odd offset): an adapter answers
 * whole rollup cells that lie inside one window from the rollup and the rest
 * from raw events (scli_cell_plan, include/scli/cell_plan.h).
 */
typedef struct scli_window_query {
	const char *const *customers;	/**< n_customers ids; NULL / 0: every customer */
	size_t n_customers;
	const char *const *event_types; /**< n_event_types types; NULL / 0: every type */
	size_t n_event_types;
	bool by_event_type;		/**< report per event type (else event_type is NULL) */
	const int64_t *bounds;		/**< n_windows + 1 strictly increasing instants */
	size_t n_windows;		/**< 1 .. SCLI_MAX_BUCKETS */
} scli_window_query;

/**
 * Called with a count of events of `customer_id` (and `event_type` when the
 * query is by event type, else NULL) in window `window`. The same key may be
 * reported more than once (the caller adds them up); a zero count may or may
 * not be reported. Strings are borrowed for the call. Return 0 to go on,
 * negative to stop (that value is then returned by count_windows).
 */
typedef int (*scli_window_cb)(void *ctx, const char *customer_id, const char *event_type,
			      size_t window, int64_t count);

typedef struct scli_repo_ops {
	int version;	  /**< SCLI_REPO_OPS_VERSION */
	const char *name; /**< "memory", "sqlite", "postgres" */

	/* required */

	/** Create the schema, or upgrade an older one; idempotent. SCLI_ESCHEMA if newer than this
	 * build. */
	int (*init_schema)(scli_repo *r);
	/** 0 when the schema is present and current; SCLI_ESCHEMA otherwise (missing or older:
	 *  the message says to run init-db; newer: to upgrade scli). */
	int (*check_schema)(scli_repo *r);
	/**
	 * Store `n` events in one all-or-nothing transaction. An event whose identity
	 * (customer_id, transaction_id) is already stored, or appears earlier in the
	 * same batch, is a duplicate: not stored, counted in `*duplicates_out`; the
	 * first one stored wins. The hourly rollup is updated in the same transaction
	 * by exactly the inserted events. On failure nothing of the batch remains —
	 * with one exception, which the error message names: an adapter that splits
	 * a batch over several transactions (PostgreSQL, two connections) and loses
	 * a connection between their COMMITs keeps the part committed, complete with
	 * its rollup; running the load again finishes the batch exactly.
	 */
	int (*store_batch)(size_t *inserted_out, size_t *duplicates_out, scli_repo *r,
			   const scli_event *events, size_t n);
	/**
	 * Report per-(customer, hour) counts of events with from <= ts < to, for one
	 * customer (`customer_id` not NULL) or all. Hours with no events are not
	 * reported. Order is unspecified. Hour starts are UTC hour floors.
	 */
	int (*count_hourly)(scli_repo *r, const char *customer_id, int64_t from_us, int64_t to_us,
			    scli_hour_cb cb, void *ctx);
	/** Close and free; NULL-safe at the wrapper. */
	void (*free)(scli_repo *r);

	/* optional (NULL = unsupported) */

	/** Schema version stored in the database (0 when none). */
	int (*schema_version)(int *version_out, scli_repo *r);

	/* the load ledger (optional in the table; every shipped adapter has it) */

	/**
	 * Record the start of a load, in its own committed transaction, from
	 * rec->source, size, hash, collector and started_us; state RUNNING. Sets `*id_out`.
	 */
	int (*ledger_begin)(int64_t *id_out, scli_repo *r, const scli_load_record *rec);
	/** Record the end of load rec->id: state, ended_us, the four figures, error.
	 *  SCLI_ENOTFOUND for an unknown id. Ledger ops need a current schema (check_schema). */
	int (*ledger_finish)(scli_repo *r, const scli_load_record *rec);
	/** The newest COMPLETED load of this content hash by this collector into `*rec_out`;
	 *  SCLI_ENOTFOUND when none. */
	int (*ledger_find_completed)(scli_load_record *rec_out, scli_repo *r, const char *hash,
				     const char *collector);
	/** Up to `limit` loads, newest (highest id) first. */
	int (*ledger_list)(scli_repo *r, size_t limit, scli_load_record_cb cb, void *ctx);

	/* for long-lived handles (serve) */

	/**
	 * True when the database this handle opened has been replaced underneath it
	 * (SQLite: another file, or none, is now at its path, as a restore leaves it);
	 * the handle still reads the old one, so the caller frees it and reopens by
	 * URL. Cheap enough to ask before every request. NULL: cannot be replaced
	 * (PostgreSQL, memory).
	 */
	bool (*replaced)(scli_repo *r);

	/**
	 * Events per batch when the caller names none (0: SCLI_DEFAULT_BATCH). An
	 * adapter whose cost per commit grows with the database (SQLite rewrites
	 * every key-tree page a batch touches) asks for larger batches.
	 */
	size_t default_batch;

	/**
	 * Count the query's events per (customer, [event type,] window), exactly:
	 * equal to counting the stored events one by one. An unknown customer or
	 * event type counts nothing (no error).
	 */
	int (*count_windows)(scli_repo *r, const scli_window_query *q, scli_window_cb cb,
			     void *ctx);
} scli_repo_ops;

/** Base struct every repository adapter embeds first. */
struct scli_repo {
	const scli_repo_ops *ops;
};

static inline int scli_repo_init_schema(scli_repo *r)
{
	assert(r && r->ops && r->ops->init_schema);
	return r->ops->init_schema(r);
}

static inline int scli_repo_check_schema(scli_repo *r)
{
	assert(r && r->ops && r->ops->check_schema);
	return r->ops->check_schema(r);
}

static inline int scli_repo_store_batch(size_t *inserted_out, size_t *duplicates_out, scli_repo *r,
					const scli_event *events, size_t n)
{
	assert(r && r->ops && r->ops->store_batch);
	return r->ops->store_batch(inserted_out, duplicates_out, r, events, n);
}

static inline int scli_repo_count_hourly(scli_repo *r, const char *customer_id, int64_t from_us,
					 int64_t to_us, scli_hour_cb cb, void *ctx)
{
	assert(r && r->ops && r->ops->count_hourly);
	return r->ops->count_hourly(r, customer_id, from_us, to_us, cb, ctx);
}

static inline int scli_repo_count_windows(scli_repo *r, const scli_window_query *q,
					  scli_window_cb cb, void *ctx)
{
	assert(r && r->ops && q && q->bounds && q->n_windows > 0);
	if (!r->ops->count_windows)
		return scli_error_set(SCLI_EUNSUPPORTED, "%s repository cannot count windows",
				      r->ops->name);
	return r->ops->count_windows(r, q, cb, ctx);
}

/** The adapter's preferred batch size (SCLI_DEFAULT_BATCH unless it names one). */
static inline size_t scli_repo_default_batch(const scli_repo *r)
{
	assert(r && r->ops);
	return r->ops->default_batch ? r->ops->default_batch : SCLI_DEFAULT_BATCH;
}

static inline int scli_repo_schema_version(int *version_out, scli_repo *r)
{
	assert(r && r->ops);
	if (!r->ops->schema_version)
		return scli_error_set(SCLI_EUNSUPPORTED,
				      "%s repository cannot report its schema version",
				      r->ops->name);
	return r->ops->schema_version(version_out, r);
}

static inline int scli_repo_no_ledger(const scli_repo *r)
{
	return scli_error_set(SCLI_EUNSUPPORTED, "%s repository has no load ledger", r->ops->name);
}

static inline int scli_repo_ledger_begin(int64_t *id_out, scli_repo *r, const scli_load_record *rec)
{
	assert(r && r->ops);
	return r->ops->ledger_begin ? r->ops->ledger_begin(id_out, r, rec) : scli_repo_no_ledger(r);
}

static inline int scli_repo_ledger_finish(scli_repo *r, const scli_load_record *rec)
{
	assert(r && r->ops);
	return r->ops->ledger_finish ? r->ops->ledger_finish(r, rec) : scli_repo_no_ledger(r);
}

static inline int scli_repo_ledger_find_completed(scli_load_record *rec_out, scli_repo *r,
						  const char *hash, const char *collector)
{
	assert(r && r->ops && hash && collector);
	return r->ops->ledger_find_completed
		   ? r->ops->ledger_find_completed(rec_out, r, hash, collector)
		   : scli_repo_no_ledger(r);
}

static inline int scli_repo_ledger_list(scli_repo *r, size_t limit, scli_load_record_cb cb,
					void *ctx)
{
	assert(r && r->ops);
	return r->ops->ledger_list ? r->ops->ledger_list(r, limit, cb, ctx)
				   : scli_repo_no_ledger(r);
}

#endif
