/**
 * @file count.h
 * The count use case: events per window per customer (and event type) over
 * [from, to), on a zone's wall clock (SPEC.md, "Counting" and "Windows, time
 * zones and event types"). Every front end hands the request as typed to
 * scli_service_count_request, words its refusals, and calls
 * scli_service_count_windows with what it accepted. Included by service.h.
 */
#ifndef SCLI_COUNT_H
#define SCLI_COUNT_H

#include "scli/export.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scli/bucket.h"
#include "scli/event.h"
#include "scli/types.h"
#include "scli/window.h"
#include "scli/zone.h"

/**
 * How the service gets the zone a request names: 0 and `*out`, borrowed from
 * the front end, which keeps it at least until the count's result is freed;
 * SCLI_EINVALID for a zone that does not exist, another error (SCLI_EIO) when
 * one could not be read; message set either way. The service names no
 * adapter: the front end passes scli_zone_load behind this, or a cache of it.
 */
typedef int (*scli_zone_lookup_fn)(const scli_zone **out, void *ctx, const char *name);

/** A count request as a user typed it; every pointer is borrowed. */
typedef struct scli_count_input {
	const char *const *customers; /**< n_customers ids; none: every customer */
	const size_t *customer_lens;  /**< their lengths (an id from a URL may hold a NUL);
					 NULL: each is NUL-terminated */
	size_t n_customers;
	const char *const *event_types; /**< n_event_types types; none: every type */
	size_t n_event_types;
	const char *from, *to; /**< NULL when not given */
	const char *window;    /**< "minute", "hour", "day", "month"; NULL: hour */
	const char *tz;	       /**< an IANA name or a fixed offset; NULL: UTC */
	const char *group_by;  /**< "event_type"; NULL: no grouping */
	scli_zone_lookup_fn zone_lookup;
	void *zone_ctx;
} scli_count_input;

/**
 * A request that passed scli_service_count_request. The lists are borrowed
 * from the input, the zone from the lookup.
 */
typedef struct scli_count_request {
	const char *const *customers; /**< NULL / 0: every customer with events */
	size_t n_customers;
	const char *const *event_types; /**< NULL / 0: every type */
	size_t n_event_types;
	bool by_event_type;
	scli_window_size window;
	const scli_zone *zone;
	int64_t from_us, to_us;
} scli_count_request;

/** The part of a count request that was refused, for each front end to word in its terms. */
typedef enum scli_count_refusal {
	SCLI_COUNT_ACCEPTED = 0,
	SCLI_COUNT_NO_RANGE,	   /**< from or to is missing */
	SCLI_COUNT_BAD_WINDOW,	   /**< not minute, hour, day or month */
	SCLI_COUNT_BAD_GROUP_BY,   /**< not event_type */
	SCLI_COUNT_UNKNOWN_ZONE,   /**< no such time zone (why: the lookup's message) */
	SCLI_COUNT_ZONE_FAILED,	   /**< the zone could not be read: not the request's fault */
	SCLI_COUNT_BAD_FROM,	   /**< from is not a timestamp */
	SCLI_COUNT_BAD_TO,	   /**< to is not a timestamp */
	SCLI_COUNT_FROM_SKIPPED,   /**< from is a wall-clock time the zone skips (why: the gap) */
	SCLI_COUNT_TO_SKIPPED,	   /**< to is a wall-clock time the zone skips (why: the gap) */
	SCLI_COUNT_REVERSED,	   /**< from is after to */
	SCLI_COUNT_BAD_CUSTOMER,   /**< not a valid customer id (which: its index) */
	SCLI_COUNT_BAD_EVENT_TYPE, /**< not a valid event type (which: its index) */
	SCLI_COUNT_TOO_WIDE	   /**< more than SCLI_MAX_BUCKETS windows */
} scli_count_refusal;

/** Why scli_service_count_request refused a request. */
typedef struct scli_count_problem {
	scli_count_refusal what;
	const char *why; /**< the reason ("day is out of range for the month", the gap), or NULL;
			    points into `why_buf` or at static text */
	size_t which;	 /**< BAD_CUSTOMER, BAD_EVENT_TYPE: the index of the value refused */
	char why_buf[SCLI_ZONE_WHY_BUFSZ];
} scli_count_problem;

/**
 * Check a count request as a user typed it, before any database is touched,
 * in this order: from and to both given, the window, group_by, the zone
 * (looked up through `in->zone_lookup`), from and to (instants, or wall-clock
 * times in the zone: a skipped one is refused naming the gap), from <= to,
 * each customer id, each event type, at most SCLI_MAX_BUCKETS windows. Every
 * front end (`scli count`, `scli serve`) asks this and only words `*problem`
 * its own way. 0 and `*out` filled, else SCLI_EINVALID, or SCLI_ERANGE for
 * TOO_WIDE, with the message set; for ZONE_FAILED the lookup's error.
 */
SCLI_API int scli_service_count_request(scli_count_request *out, scli_count_problem *problem,
					const scli_count_input *in);

/** One series: a customer's (and with by_event_type, one event type's) counts per window. */
typedef struct scli_customer_series {
	char customer_id[SCLI_CUSTOMER_ID_MAX + 1];
	char event_type[SCLI_EVENT_TYPE_MAX + 1]; /**< "" when not grouped (or no type to show) */
	bool has_event_type;			  /**< false: the series is not by event type */
	int64_t total;
	int64_t *counts; /**< nbuckets counts; counts[i] belongs to windows[i] */
} scli_customer_series;

/** The answer to a count; owned by the caller, freed with scli_count_result_free. */
typedef struct scli_count_result {
	int64_t from_us, to_us;
	scli_window_size window;
	const scli_zone *zone; /**< the request's: keep it until the result is freed */
	bool by_event_type;
	char **event_types; /**< the types asked for, sorted bytewise, each once (copies) */
	size_t n_event_types;
	size_t nbuckets;
	scli_window *windows; /**< nbuckets windows, `partial` set where [from, to) cuts one */
	size_t ncustomers;    /**< the number of series */
	scli_customer_series *customers; /**< sorted by (customer_id, event_type), bytewise */
	scli_zone *owned_zone;		 /**< freed with the result (scli_service_count's UTC) */
} scli_count_result;

/**
 * Count a checked request: the windows of `req->window` in `req->zone` over
 * [from, to), asked of the repository once, as dense series. Without customers,
 * one series per customer with at least one event in the range; each customer
 * named appears (once, however often named), with zeros if need be. With
 * by_event_type, one series per (customer, event type) with an event, and per
 * (named customer, named type); a named customer that would have no series at
 * all (no events, no type named) gets one with no event type, so it still
 * appears. SCLI_EINVALID / SCLI_ERANGE for a request that
 * scli_service_count_request would refuse; repository errors as they come.
 */
SCLI_API int scli_service_count_windows(scli_count_result **out, scli_repo *repo,
					const scli_count_request *req);

/**
 * Count events per UTC hour in [from, to) for one customer (`customer_id`) or
 * all (NULL): scli_service_count_windows with hour windows in UTC.
 */
SCLI_API int scli_service_count(scli_count_result **out, scli_repo *repo, const char *customer_id,
				int64_t from_us, int64_t to_us);

/** Start of bucket `i` of `res`. */
static inline int64_t scli_count_result_bucket_start(const scli_count_result *res, size_t i)
{
	return res->windows[i].start;
}

/** Free a count result (NULL-safe); the zone it borrows stays. */
SCLI_API void scli_count_result_free(scli_count_result *res);

#endif
