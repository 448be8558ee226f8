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
