/* Shared by the count use case's files (count_request.c, count.c, count_series.c); not installed.
 */
#ifndef SCLI_COUNT_INTERNAL_H
#define SCLI_COUNT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "scli/count.h"

/* Note what was refused and return `error` (its message already set). */
int scli_count_refused(scli_count_problem *problem, scli_count_refusal what, const char *why,
		       int error);

/*
 * What a request must hold whichever way it came: from <= to, each customer id
 * (lengths in `customer_lens`, NULL: strlen) and event type valid, at most
 * SCLI_MAX_BUCKETS windows. The windows go to `*windows_out` (scli_free; NULL
 * when there are none, or when `windows_out` is NULL).
 */
int scli_count_check_request(scli_count_problem *problem, scli_window **windows_out,
			     size_t *nwindows_out, const scli_count_request *req,
			     const size_t *customer_lens);

/*
 * A count being built, whatever answers it (a repository, or files read by
 * count_files.c): start checks the request and lists the windows; prepare
 * sorts the customers and types asked for and makes the series that appear
 * whatever the events; add (a scli_window_cb) adds a count of (customer,
 * event type or NULL, window), under the same checks for every source of
 * counts; finish hands the dense, sorted result over. `who` names the source
 * of counts in messages. Freed with scli_count_build_free (NULL-safe).
 */
typedef struct scli_count_build scli_count_build;
int scli_count_build_start(scli_count_build **out, const scli_count_request *req, const char *who);
int scli_count_build_prepare(scli_count_build *b, const scli_count_request *req);
/* After prepare: window i is [bounds[i], bounds[i + 1]) (NULL when there are no windows). */
const int64_t *scli_count_build_bounds(const scli_count_build *b, size_t *nwindows);
/* After prepare: the customers and event types asked for, sorted bytewise, each once (none:
 * every one); borrowed from the build. */
void scli_count_build_names(const scli_count_build *b, const char *const **customers,
			    size_t *ncustomers, const char *const **types, size_t *ntypes);
int scli_count_build_add(void *b, const char *customer_id, const char *event_type, size_t window,
			 int64_t count);
int scli_count_build_finish(scli_count_result **out, scli_count_build *b);
void scli_count_build_free(scli_count_build *b);

/* The series of a count being built: found by (customer, event type) in a hash table. */
typedef struct scli_series_table scli_series_table;

/* A table for series of `nbuckets` counts; `by_type` says whether keys carry an event type. */
int scli_series_table_new(scli_series_table **out, size_t nbuckets, bool by_type);
void scli_series_table_free(scli_series_table *t);

/* The series of (customer, event_type), created with zero counts if new (event_type NULL:
 * none); the pointer is good until the next get. */
int scli_series_table_get(scli_customer_series **out, scli_series_table *t, const char *customer,
			  const char *event_type);

/* How many series the table holds. */
size_t scli_series_table_size(const scli_series_table *t);

/* Hand the series over, sorted by (customer_id, event_type); the table is left empty. */
void scli_series_table_take(scli_customer_series **series_out, size_t *n_out, scli_series_table *t);

#endif
