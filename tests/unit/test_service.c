/* The service layer against the in-memory repository and a scripted collector. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "scli/sys/adapters.h"
#include "scli/service.h"
#include "scli/timestamp.h"
#include "scli/zone.h"

#define H SCLI_US_PER_HOUR
#define T0 INT64_C(1614571200000000) /* 2021-03-01T04:00:00Z */

/* A scripted row: an event, a reject, or an I/O failure. */
typedef struct script_row {
	int kind; /* SCLI_NEXT_EVENT, SCLI_NEXT_REJECT, or -1 for an I/O error */
	const char *customer, *txn;
	int64_t ts;
} script_row;

typedef struct script_collector {
	scli_collector base;
	const script_row *rows;
	size_t n, pos;
} script_collector;

static int script_next(scli_event *ev, scli_reject *rej, scli_collector *c)
{
	script_collector *s = (script_collector *)c;
	const script_row *row;
	const char *why;

	if (s->pos == s->n)
		return SCLI_NEXT_END;
	row = &s->rows[s->pos++];
	if (row->kind < 0)
		return scli_error_set(SCLI_EIO, "scripted read failure");
	if (row->kind == SCLI_NEXT_REJECT) {
		rej->line = s->pos;
		rej->reason = "scripted reject";
		rej->raw = "raw";
		rej->raw_len = 3;
		return SCLI_NEXT_REJECT;
	}
	assert_int_equal(scli_event_set(ev, row->customer, strlen(row->customer), "INGEST", 6,
					row->txn, strlen(row->txn), row->ts, &why),
			 0);
	return SCLI_NEXT_EVENT;
}

static const scli_collector_ops script_ops = {SCLI_COLLECTOR_OPS_VERSION, "script", script_next,
					      NULL};

static script_collector script(const script_row *rows, size_t n)
{
	script_collector s = {{&script_ops}, rows, n, 0};
	return s;
}

static int setup(void **state)
{
	scli_repo *repo = NULL;

	assert_int_equal(scli_repo_memory_new(&repo), 0);
	assert_int_equal(scli_service_init_db(repo), 0);
	*state = repo;
	return 0;
}

static int teardown(void **state)
{
	scli_repo_free(*state);
	return 0;
}

typedef struct reject_log {
	int calls;
	uint64_t lines[8];
} reject_log;

static int log_reject(void *ctx, const char *source, int64_t load_id, const scli_reject *rej)
{
	reject_log *log = ctx;

	assert_int_equal(load_id, 0); /* scli_service_load keeps no ledger */
	assert_string_equal(source, "scripted.csv");
	log->lines[log->calls++] = rej->line;
	return 0;
}

static void load_reports_four_figures_that_add_up(void **state)
{
	static const script_row rows[] = {
	    {SCLI_NEXT_EVENT, "a", "1", T0},	 {SCLI_NEXT_EVENT, "a", "2", T0 + 1},
	    {SCLI_NEXT_REJECT, NULL, NULL, 0},	 {SCLI_NEXT_EVENT, "a", "1", T0 + 5 * H},
	    {SCLI_NEXT_EVENT, "b", "1", T0 + H}, {SCLI_NEXT_REJECT, NULL, NULL, 0},
	    {SCLI_NEXT_EVENT, "b", "2", T0 + H},
	};
	script_collector col = script(rows, sizeof(rows) / sizeof(rows[0]));
	scli_load_report rep = {0};
	reject_log log = {0};
	scli_load_options opts = {.batch_size = 2, .on_reject = log_reject, .reject_ctx = &log};

	assert_int_equal(scli_service_load(&rep, *state, &col.base, "scripted.csv", &opts), 0);
	assert_int_equal(rep.rows_read, 7);
	assert_int_equal(rep.inserted, 4);
	assert_int_equal(rep.duplicates, 1);
	assert_int_equal(rep.rejected, 2);
	assert_int_equal(rep.rows_read, rep.inserted + rep.duplicates + rep.rejected);
	assert_int_equal(log.calls, 2);
	assert_int_equal(log.lines[0], 3);
	assert_int_equal(log.lines[1], 6);
}

static void load_failure_keeps_committed_batches_only(void **state)
{
	static const script_row rows[] = {
	    {SCLI_NEXT_EVENT, "a", "1", T0},
	    {SCLI_NEXT_EVENT, "a", "2", T0},
	    {SCLI_NEXT_EVENT, "a", "3", T0}, /* in flight when the read fails */
	    {-1, NULL, NULL, 0},
	};
	script_collector col = script(rows, 4);
	scli_load_report rep = {0};
	scli_load_options opts = {.batch_size = 2};
	scli_count_result *res = NULL;

	assert_int_equal(scli_service_load(&rep, *state, &col.base, "x", &opts), SCLI_EIO);
	assert_string_equal(scli_error_last(), "scripted read failure");
	/* the event in flight was never committed: the figures still add up */
	assert_int_equal(rep.rows_read, 2);
	assert_int_equal(rep.rows_read, rep.inserted + rep.duplicates + rep.rejected);
	assert_int_equal(scli_service_count(&res, *state, "a", T0, T0 + H), 0);
	assert_int_equal(res->customers[0].total, 2);
	scli_count_result_free(res);

	/* the re-run ends exactly as one clean load would */
	col = script(rows, 3);
	memset(&rep, 0, sizeof(rep));
	assert_int_equal(scli_service_load(&rep, *state, &col.base, "x", &opts), 0);
	assert_int_equal(rep.inserted, 1);
	assert_int_equal(rep.duplicates, 2);
	assert_int_equal(scli_service_count(&res, *state, "a", T0, T0 + H), 0);
	assert_int_equal(res->customers[0].total, 3);
	scli_count_result_free(res);
}

static void load_before_init_is_refused(void **state)
{
	static const script_row rows[] = {{SCLI_NEXT_EVENT, "a", "1", T0}};
	script_collector col = script(rows, 1);
	scli_load_report rep = {0};
	scli_repo *fresh = NULL;

	(void)state;
	assert_int_equal(scli_repo_memory_new(&fresh), 0);
	assert_int_equal(scli_service_load(&rep, fresh, &col.base, "x", NULL), SCLI_ESCHEMA);
	assert_non_null(strstr(scli_error_last(), "init-db"));
	scli_repo_free(fresh);
}

static void load_rows(scli_repo *repo, const script_row *rows, size_t n)
{
	script_collector col = script(rows, n);
	scli_load_report rep = {0};

	assert_int_equal(scli_service_load(&rep, repo, &col.base, "x", NULL), 0);
}

static void count_gives_dense_series_with_partial_edges(void **state)
{
	static const script_row rows[] = {
	    {SCLI_NEXT_EVENT, "a", "1", T0 + H / 6},	     /* 04:10, before A: excluded */
	    {SCLI_NEXT_EVENT, "a", "2", T0 + H / 2},	     /* 04:30 = A: included */
	    {SCLI_NEXT_EVENT, "a", "3", T0 + H + 1},	     /* 05:00 */
	    {SCLI_NEXT_EVENT, "a", "4", T0 + 3 * H + 5},     /* 07:00 */
	    {SCLI_NEXT_EVENT, "a", "5", T0 + 3 * H + H / 2}, /* 07:30 = B: excluded */
	};
	scli_count_result *res = NULL;

	load_rows(*state, rows, 5);
	assert_int_equal(scli_service_count(&res, *state, "a", T0 + H / 2, T0 + 3 * H + H / 2), 0);
	assert_int_equal(scli_count_result_bucket_start(res, 0), T0);
	assert_int_equal(res->nbuckets, 4);
	assert_int_equal(res->ncustomers, 1);
	assert_string_equal(res->customers[0].customer_id, "a");
	assert_int_equal(res->customers[0].counts[0], 1);
	assert_int_equal(res->customers[0].counts[1], 1);
	assert_int_equal(res->customers[0].counts[2], 0);
	assert_int_equal(res->customers[0].counts[3], 1);
	assert_int_equal(res->customers[0].total, 3);
	assert_true(res->windows[0].partial);
	assert_false(res->windows[1].partial);
	assert_false(res->windows[2].partial);
	assert_true(res->windows[3].partial);
	assert_string_equal(scli_zone_name(res->zone), "UTC");
	scli_count_result_free(res);
}

static void count_all_customers_sorted_and_only_those_with_events(void **state)
{
	static const script_row rows[] = {
	    {SCLI_NEXT_EVENT, "zed", "1", T0},
	    {SCLI_NEXT_EVENT, "amy", "1", T0 + H},
	    {SCLI_NEXT_EVENT, "amy", "2", T0 + H + 7},
	    {SCLI_NEXT_EVENT, "out-of-range", "1", T0 + 10 * H},
	};
	scli_count_result *res = NULL;

	load_rows(*state, rows, 4);
	assert_int_equal(scli_service_count(&res, *state, NULL, T0, T0 + 2 * H), 0);
	assert_int_equal(res->ncustomers, 2);
	assert_string_equal(res->customers[0].customer_id, "amy");
	assert_int_equal(res->customers[0].counts[0], 0);
	assert_int_equal(res->customers[0].counts[1], 2);
	assert_string_equal(res->customers[1].customer_id, "zed");
	assert_int_equal(res->customers[1].total, 1);
	scli_count_result_free(res);
}

static void count_unknown_customer_has_zero_series(void **state)
{
	scli_count_result *res = NULL;

	assert_int_equal(scli_service_count(&res, *state, "nobody", T0, T0 + 3 * H), 0);
	assert_int_equal(res->ncustomers, 1);
	assert_int_equal(res->nbuckets, 3);
	assert_int_equal(res->customers[0].total, 0);
	assert_int_equal(res->customers[0].counts[2], 0);
	scli_count_result_free(res);
}

static void count_empty_range_has_no_buckets(void **state)
{
	scli_count_result *res = NULL;

	assert_int_equal(scli_service_count(&res, *state, NULL, T0, T0), 0);
	assert_int_equal(res->nbuckets, 0);
	assert_int_equal(res->ncustomers, 0);
	scli_count_result_free(res);
}

static void count_rejects_bad_ranges_and_ids(void **state)
{
	scli_count_result *res = NULL;

	assert_int_equal(scli_service_count(&res, *state, NULL, T0 + 1, T0), SCLI_EINVALID);
	assert_null(res);
	assert_int_equal(scli_service_count(&res, *state, NULL, T0, T0 + 100001 * H), SCLI_ERANGE);
	assert_non_null(strstr(scli_error_last(), "100000"));
	assert_int_equal(scli_service_count(&res, *state, NULL, T0, T0 + 100000 * H), 0);
	assert_int_equal(res->nbuckets, 100000);
	scli_count_result_free(res);
	res = NULL;
	assert_int_equal(scli_service_count(&res, *state, "", T0, T0 + H), SCLI_EINVALID);
	assert_int_equal(scli_service_count(&res, *state, "bad\tid", T0, T0 + H), SCLI_EINVALID);
	assert_null(res);
}

/* The front ends' zone lookup, as the CLI does it: scli_zone_load, kept in ctx. */
static int lookup(const scli_zone **out, void *ctx, const char *name)
{
	scli_zone **held = ctx;
	int error;

	scli_zone_free(*held);
	*held = NULL;
	error = scli_zone_load(held, name);
	*out = *held;
	return error;
}

typedef struct request_case {
	const char *customer; /* NULL: none */
	size_t customer_len;
	const char *from, *to, *window, *tz, *group_by, *event_type;
} request_case;

static int check(scli_count_request *req, scli_count_problem *p, scli_zone **zone,
		 const request_case *c)
{
	const char *customers[1] = {c->customer}, *types[1] = {c->event_type};
	size_t lens[1] = {c->customer_len ? c->customer_len
					  : (c->customer ? strlen(c->customer) : 0)};
	scli_count_input in = {.customers = customers,
			       .customer_lens = lens,
			       .n_customers = c->customer ? 1 : 0,
			       .event_types = types,
			       .n_event_types = c->event_type ? 1 : 0,
			       .from = c->from,
			       .to = c->to,
			       .window = c->window,
			       .tz = c->tz,
			       .group_by = c->group_by,
			       .zone_lookup = lookup,
			       .zone_ctx = zone};

	return scli_service_count_request(req, p, &in);
}

/* The one check of a count request both front ends use: each refusal, in order. */
static void count_request_is_checked_in_order(void **state)
{
	static const char id[] = "x\0y";
	static const struct {
		request_case c;
		int error;
		scli_count_refusal what;
		const char *why; /* in p.why, when not NULL */
	} refusals[] = {
	    {{"", 0, NULL, "2021-03-01", "x", NULL, NULL, NULL},
	     SCLI_EINVALID,
	     SCLI_COUNT_NO_RANGE,
	     NULL},
	    {{NULL, 0, "2021-03-01", "2021-03-02", "week", "Mars/Base", NULL, NULL},
	     SCLI_EINVALID,
	     SCLI_COUNT_BAD_WINDOW,
	     NULL},
	    {{NULL, 0, "2021-03-01", "2021-03-02", "Day", NULL, NULL, NULL},
	     SCLI_EINVALID,
	     SCLI_COUNT_BAD_WINDOW,
	     NULL},
	    {{NULL, 0, "2021-03-01", "2021-03-02", "day", "Mars/Base", "customer", NULL},
	     SCLI_EINVALID,
	     SCLI_COUNT_BAD_GROUP_BY,
	     NULL},
	    {{NULL, 0, "2021-02-29", "x", "day", "Mars/Base", NULL, NULL},
	     SCLI_EINVALID,
	     SCLI_COUNT_UNKNOWN_ZONE,
	     NULL},
	    {{"", 0, "2021-02-29", "x", NULL, NULL, NULL, NULL},
	     SCLI_EINVALID,
	     SCLI_COUNT_BAD_FROM,
	     "day is out of range for the month"},
	    {{"", 0, "2021-03-01", "x", NULL, NULL, NULL, NULL},
	     SCLI_EINVALID,
	     SCLI_COUNT_BAD_TO,
	     NULL},
	    {{"", 0, "2021-03-14T02:30", "x", NULL, "America/New_York", NULL, NULL},
	     SCLI_EINVALID,
	     SCLI_COUNT_FROM_SKIPPED,
	     "2021-03-14T02:30 does not exist in America/New_York (clocks went from 02:00 to "
	     "03:00)"},
	    {{"", 0, "2021-03-14", "2021-03-14T02:59:59", NULL, "America/New_York", NULL, NULL},
	     SCLI_EINVALID,
	     SCLI_COUNT_TO_SKIPPED,
	     NULL},
	    {{"", 0, "2021-03-02", "2021-03-01", NULL, NULL, NULL, NULL},
	     SCLI_EINVALID,
	     SCLI_COUNT_REVERSED,
	     NULL},
	    {{"", 0, "1990-01-01", "2021-03-01", NULL, NULL, NULL, ""},
	     SCLI_EINVALID,
	     SCLI_COUNT_BAD_CUSTOMER,
	     "is empty"},
	    /* a NUL inside the id (an HTTP %00) is seen, not cut off */
	    {{id, sizeof(id) - 1, "2021-03-01", "2021-03-02", NULL, NULL, NULL, NULL},
	     SCLI_EINVALID,
	     SCLI_COUNT_BAD_CUSTOMER,
	     NULL},
	    {{"a", 0, "1990-01-01", "2021-03-01", NULL, NULL, NULL, "bad\ttype"},
	     SCLI_EINVALID,
	     SCLI_COUNT_BAD_EVENT_TYPE,
	     "contains a control character"},
	    {{NULL, 0, "1990-01-01", "2021-03-01", NULL, NULL, NULL, NULL},
	     SCLI_ERANGE,
	     SCLI_COUNT_TOO_WIDE,
	     NULL},
	    {{NULL, 0, "2021-03-01", "2021-06-01", "minute", NULL, NULL, NULL},
	     SCLI_ERANGE,
	     SCLI_COUNT_TOO_WIDE,
	     NULL},
	};
	request_case ok = {
	    "a", 0, "2021-03-01T04:30:00Z", "2021-03-01T07:00:00+01:00", NULL, NULL, NULL, NULL};
	scli_zone *zone = NULL;
	scli_count_request req;
	scli_count_problem p;
	size_t i;

	(void)state;
	assert_int_equal(check(&req, &p, &zone, &ok), 0);
	assert_int_equal(p.what, SCLI_COUNT_ACCEPTED);
	assert_int_equal(req.n_customers, 1);
	assert_string_equal(req.customers[0], "a");
	assert_true(req.from_us == T0 + H / 2 && req.to_us == T0 + 2 * H);
	assert_int_equal(req.window, SCLI_WINDOW_HOUR);
	assert_string_equal(scli_zone_name(req.zone), "UTC");
	assert_false(req.by_event_type);

	/* wall-clock bounds are read in the zone; a repeated time is the earlier instant */
	ok = (request_case){NULL,	  0,	     "2021-11-07T01:30",
			    "2021-11-08", "day",     "America/New_York",
			    "event_type", "api_call"};
	assert_int_equal(check(&req, &p, &zone, &ok), 0);
	assert_true(req.from_us == INT64_C(1636263000000000)); /* 05:30Z, EDT */
	assert_true(req.to_us == INT64_C(1636347600000000));   /* 05:00Z, EST */
	assert_null(req.customers);
	assert_int_equal(req.n_event_types, 1);
	assert_true(req.by_event_type);
	assert_int_equal(req.window, SCLI_WINDOW_DAY);

	for (i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		assert_int_equal(check(&req, &p, &zone, &refusals[i].c), refusals[i].error);
		assert_int_equal(p.what, refusals[i].what);
		if (refusals[i].why)
			assert_string_equal(p.why, refusals[i].why);
	}
	assert_non_null(strstr(scli_error_last(), "100000"));
	scli_zone_free(zone);
}

/* ---- windows, zones and event types --------------------------------------- */

#define NOV7 INT64_C(1636243200000000) /* 2021-11-07T00:00:00Z; New York goes back at 06:00Z */
#define M (H / 60)

typedef struct typed_row {
	const char *customer, *txn;
	int64_t ts;
	const char *type;
} typed_row;

/* The events of the README's example, and beta's. */
static const typed_row dst_rows[] = {
    {"acme", "t1", NOV7 + 4 * H + 30 * M, "api_call"},	 /* 00:30 EDT */
    {"acme", "t2", NOV7 + 5 * H + 15 * M, "api_call"},	 /* 01:15 EDT */
    {"acme", "t3", NOV7 + 5 * H + 45 * M, "api_call"},	 /* 01:45 EDT */
    {"acme", "t4", NOV7 + 6 * H + 10 * M, "storage"},	 /* 01:10 EST */
    {"acme", "t5", NOV7 + 6 * H + 50 * M, "api_call"},	 /* 01:50 EST */
    {"acme", "t6", NOV7 + 7 * H + 20 * M, "api_call"},	 /* 02:20 EST */
    {"acme", "t7", NOV7 + 29 * H - 1000000, "api_call"}, /* 23:59:59 EST */
    {"acme", "t8", NOV7 + 29 * H, "api_call"},		 /* 00:00 on the 8th */
    {"beta", "b1", NOV7 + 6 * H + 30 * M, "storage"},	 /* 01:30 EST */
};

static void load_dst_rows(scli_repo *repo)
{
	enum { N = sizeof(dst_rows) / sizeof(dst_rows[0]) };
	static scli_event events[N];
	size_t i, inserted = 0, duplicates = 0;
	const char *why;

	for (i = 0; i < N; i++) {
		const typed_row *r = &dst_rows[i];

		assert_int_equal(scli_event_set(&events[i], r->customer, strlen(r->customer),
						r->type, strlen(r->type), r->txn, strlen(r->txn),
						r->ts, &why),
				 0);
	}
	assert_int_equal(scli_repo_store_batch(&inserted, &duplicates, repo, events, N), 0);
	assert_int_equal(inserted, N);
}

typedef struct windows_case {
	const char *customers[3];
	const char *types[3];
	const char *from, *to, *window, *tz, *group_by;
} windows_case;

/* Check and count `c` as a front end does; the caller frees `*res` and `*zone`. */
static void count_case(scli_count_result **res, scli_zone **zone, scli_repo *repo,
		       const windows_case *c)
{
	size_t nc = 0, nt = 0;
	scli_count_input in = {0};
	scli_count_request req;
	scli_count_problem p;

	while (nc < 3 && c->customers[nc])
		nc++;
	while (nt < 3 && c->types[nt])
		nt++;
	in.customers = c->customers;
	in.n_customers = nc;
	in.event_types = c->types;
	in.n_event_types = nt;
	in.from = c->from;
	in.to = c->to;
	in.window = c->window;
	in.tz = c->tz;
	in.group_by = c->group_by;
	in.zone_lookup = lookup;
	in.zone_ctx = zone;
	assert_int_equal(scli_service_count_request(&req, &p, &in), 0);
	assert_int_equal(scli_service_count_windows(res, repo, &req), 0);
}

/* Series `i` is (customer, type) with these counts. */
static void expect_series(const scli_count_result *res, size_t i, const char *customer,
			  const char *type, const int64_t *counts, size_t n)
{
	size_t j;
	int64_t total = 0;

	assert_true(i < res->ncustomers);
	assert_int_equal(res->nbuckets, n);
	assert_string_equal(res->customers[i].customer_id, customer);
	assert_int_equal(res->customers[i].has_event_type, type != NULL);
	if (type)
		assert_string_equal(res->customers[i].event_type, type);
	for (j = 0; j < n; j++) {
		assert_int_equal(res->customers[i].counts[j], counts[j]);
		total += counts[j];
	}
	assert_int_equal(res->customers[i].total, total);
}

static void count_windows_follow_new_yorks_clock(void **state)
{
	static const windows_case hours = {
	    {"acme"},		{NULL}, "2021-11-07T00:00", "2021-11-07T03:00", "hour",
	    "America/New_York", NULL};
	static const windows_case days = {
	    {NULL}, {NULL}, "2021-11-06", "2021-11-09", "day", "America/New_York", NULL};
	scli_count_result *res = NULL;
	scli_zone *zone = NULL;

	load_dst_rows(*state);
	/* the two 01:00 hours are two windows */
	count_case(&res, &zone, *state, &hours);
	expect_series(res, 0, "acme", NULL, (const int64_t[]){1, 2, 2, 1}, 4);
	assert_true(res->windows[1].start == NOV7 + 5 * H && res->windows[2].start == NOV7 + 6 * H);
	assert_int_equal(res->ncustomers, 1);
	scli_count_result_free(res);
	/* the 25-hour day; every customer with events */
	count_case(&res, &zone, *state, &days);
	assert_int_equal(res->ncustomers, 2);
	expect_series(res, 0, "acme", NULL, (const int64_t[]){0, 7, 1}, 3);
	expect_series(res, 1, "beta", NULL, (const int64_t[]){0, 1, 0}, 3);
	assert_true(res->windows[1].end - res->windows[1].start == 25 * H);
	assert_string_equal(scli_zone_name(res->zone), "America/New_York");
	scli_count_result_free(res);
	scli_zone_free(zone);
}

static void count_windows_by_event_type(void **state)
{
	static const windows_case grouped = {
	    {NULL}, {NULL}, "2021-11-07", "2021-11-08", "day", "America/New_York", "event_type"};
	static const windows_case named = {{NULL},	 {"storage", "login", "storage"},
					   "2021-11-07", "2021-11-08",
					   "day",	 "America/New_York",
					   "event_type"};
	static const windows_case filtered = {
	    {"acme", "nobody", "acme"}, {"storage"}, "2021-11-07", "2021-11-08", "day",
	    "America/New_York",		NULL};
	static const windows_case no_events = {{"nobody"}, {NULL}, "2021-11-07", "2021-11-08",
					       "day",	   NULL,   "event_type"};
	scli_count_result *res = NULL;
	scli_zone *zone = NULL;

	load_dst_rows(*state);
	count_case(&res, &zone, *state, &grouped);
	assert_int_equal(res->ncustomers, 3);
	expect_series(res, 0, "acme", "api_call", (const int64_t[]){6}, 1);
	expect_series(res, 1, "acme", "storage", (const int64_t[]){1}, 1);
	expect_series(res, 2, "beta", "storage", (const int64_t[]){1}, 1);
	assert_int_equal(res->n_event_types, 0);
	scli_count_result_free(res);
	/* named types appear for every customer found, once each, sorted */
	count_case(&res, &zone, *state, &named);
	assert_int_equal(res->ncustomers, 4);
	expect_series(res, 0, "acme", "login", (const int64_t[]){0}, 1);
	expect_series(res, 1, "acme", "storage", (const int64_t[]){1}, 1);
	expect_series(res, 2, "beta", "login", (const int64_t[]){0}, 1);
	expect_series(res, 3, "beta", "storage", (const int64_t[]){1}, 1);
	assert_int_equal(res->n_event_types, 2);
	assert_string_equal(res->event_types[0], "login");
	assert_string_equal(res->event_types[1], "storage");
	scli_count_result_free(res);
	/* a filter without grouping; customers named twice count once */
	count_case(&res, &zone, *state, &filtered);
	assert_int_equal(res->ncustomers, 2);
	expect_series(res, 0, "acme", NULL, (const int64_t[]){1}, 1);
	expect_series(res, 1, "nobody", NULL, (const int64_t[]){0}, 1);
	scli_count_result_free(res);
	/* grouped, a named customer without events: one series without a type */
	count_case(&res, &zone, *state, &no_events);
	assert_int_equal(res->ncustomers, 1);
	expect_series(res, 0, "nobody", NULL, (const int64_t[]){0}, 1);
	scli_count_result_free(res);
	scli_zone_free(zone);
}

/* ---- a repository that misbehaves on purpose ---------------------------- */

typedef struct liar_repo {
	scli_repo base;
	const char *customer; /* what count_windows reports */
	const char *event_type;
	size_t window;
	size_t store_shortfall; /* events of a batch it "forgets" */
	int store_error;	/* returned by store_batch when non-zero */
} liar_repo;

static int liar_ok(scli_repo *r)
{
	(void)r;
	return 0;
}

static int liar_store(size_t *ins, size_t *dup, scli_repo *r, const scli_event *ev, size_t n)
{
	liar_repo *l = (liar_repo *)r;

	(void)ev;
	if (l->store_error)
		return scli_error_set(l->store_error, "database went away");
	*ins = n - l->store_shortfall;
	*dup = 0;
	return 0;
}

static int liar_count(scli_repo *r, const char *customer_id, int64_t from, int64_t to,
		      scli_hour_cb cb, void *ctx)
{
	(void)r;
	(void)customer_id;
	(void)from;
	(void)to;
	(void)cb;
	(void)ctx;
	return scli_error_set(SCLI_ERROR, "the count uses count_windows");
}

/* Reports one event of its customer and type in window `window`. */
static int liar_windows(scli_repo *r, const scli_window_query *q, scli_window_cb cb, void *ctx)
{
	liar_repo *l = (liar_repo *)r;

	(void)q;
	return cb(ctx, l->customer, l->event_type, l->window, 1);
}

static const scli_repo_ops liar_ops = {.version = SCLI_REPO_OPS_VERSION,
				       .name = "liar",
				       .init_schema = liar_ok,
				       .check_schema = liar_ok,
				       .store_batch = liar_store,
				       .count_hourly = liar_count,
				       .count_windows = liar_windows};

static void count_refuses_answers_a_broken_repository_gives(void **state)
{
	liar_repo liar = {{&liar_ops}, "other", NULL, 0, 0, 0};
	const char *types[] = {"A"};
	scli_count_request req = {.event_types = types,
				  .n_event_types = 1,
				  .by_event_type = true,
				  .window = SCLI_WINDOW_HOUR,
				  .from_us = T0,
				  .to_us = T0 + H};
	scli_count_result *res = NULL;
	scli_zone *utc = NULL;

	(void)state;
	assert_int_equal(scli_zone_parse_fixed(&utc, "UTC"), 0);
	req.zone = utc;
	assert_int_equal(scli_service_count(&res, &liar.base, "asked", T0, T0 + H), SCLI_ERROR);
	assert_non_null(strstr(scli_error_last(), "another customer"));
	liar.window = 1;
	assert_int_equal(scli_service_count(&res, &liar.base, NULL, T0, T0 + H), SCLI_ERROR);
	assert_non_null(strstr(scli_error_last(), "outside the request"));
	liar.window = 0; /* by event type, but no type */
	assert_int_equal(scli_service_count_windows(&res, &liar.base, &req), SCLI_ERROR);
	liar.event_type = "B"; /* a type not asked for */
	assert_int_equal(scli_service_count_windows(&res, &liar.base, &req), SCLI_ERROR);
	assert_non_null(strstr(scli_error_last(), "another event type"));
	liar.event_type = "A";
	assert_int_equal(scli_service_count_windows(&res, &liar.base, &req), 0);
	assert_int_equal(res->ncustomers, 1);
	scli_count_result_free(res);
	res = NULL;
	scli_zone_free(utc);
}

static void load_refuses_a_batch_that_loses_events(void **state)
{
	static const script_row rows[] = {{SCLI_NEXT_EVENT, "a", "1", T0},
					  {SCLI_NEXT_EVENT, "a", "2", T0}};
	liar_repo liar = {{&liar_ops}, "a", NULL, 0, 1, 0};
	script_collector col = script(rows, 2);
	scli_load_report rep = {0};

	(void)state;
	assert_int_equal(scli_service_load(&rep, &liar.base, &col.base, "x", NULL), SCLI_ERROR);
	assert_non_null(strstr(scli_error_last(), "accounted for 1 of 2"));
}

static void load_passes_store_errors_up(void **state)
{
	static const script_row rows[] = {{SCLI_NEXT_EVENT, "a", "1", T0}};
	liar_repo liar = {{&liar_ops}, "a", NULL, 0, 0, SCLI_EIO};
	script_collector col = script(rows, 1);
	scli_load_report rep = {0};

	(void)state;
	assert_int_equal(scli_service_load(&rep, &liar.base, &col.base, "x", NULL), SCLI_EIO);
	assert_string_equal(scli_error_last(), "database went away");
	assert_int_equal(rep.inserted, 0);
}

static int stop_at_reject(void *ctx, const char *source, int64_t load_id, const scli_reject *rej)
{
	(void)ctx;
	(void)source;
	(void)load_id;
	(void)rej;
	return scli_error_set(SCLI_ERANGE, "too many rejects");
}

typedef struct progress_log {
	int calls;
	uint64_t last_rows;
} progress_log;

static void log_progress(void *ctx, const scli_load_progress *at)
{
	progress_log *log = ctx;

	log->calls++;
	log->last_rows = at->so_far->rows_read;
}

static void load_reports_progress_and_can_be_stopped_by_rejects(void **state)
{
	static const script_row rows[] = {
	    {SCLI_NEXT_EVENT, "a", "1", T0}, {SCLI_NEXT_EVENT, "a", "2", T0},
	    {SCLI_NEXT_EVENT, "a", "3", T0}, {SCLI_NEXT_REJECT, NULL, NULL, 0},
	    {SCLI_NEXT_EVENT, "a", "4", T0},
	};
	script_collector col = script(rows, 3);
	scli_load_report rep = {0};
	progress_log log = {0};
	scli_load_options opts = {
	    .batch_size = 2, .on_progress = log_progress, .progress_ctx = &log};

	/* one call per committed batch, plus the final one */
	assert_int_equal(scli_service_load(&rep, *state, &col.base, "x", &opts), 0);
	assert_int_equal(log.calls, 2);
	assert_int_equal(log.last_rows, 3);

	col = script(rows, 5);
	memset(&rep, 0, sizeof(rep));
	opts.on_reject = stop_at_reject;
	assert_int_equal(scli_service_load(&rep, *state, &col.base, "x", &opts), SCLI_ERANGE);
	assert_int_equal(rep.rejected, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(load_reports_four_figures_that_add_up, setup, teardown),
	    cmocka_unit_test_setup_teardown(load_failure_keeps_committed_batches_only, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(load_before_init_is_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(count_gives_dense_series_with_partial_edges, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(count_all_customers_sorted_and_only_those_with_events,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(count_unknown_customer_has_zero_series, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(count_empty_range_has_no_buckets, setup, teardown),
	    cmocka_unit_test_setup_teardown(count_rejects_bad_ranges_and_ids, setup, teardown),
	    cmocka_unit_test(count_request_is_checked_in_order),
	    cmocka_unit_test_setup_teardown(count_windows_follow_new_yorks_clock, setup, teardown),
	    cmocka_unit_test_setup_teardown(count_windows_by_event_type, setup, teardown),
	    cmocka_unit_test(count_refuses_answers_a_broken_repository_gives),
	    cmocka_unit_test(load_refuses_a_batch_that_loses_events),
	    cmocka_unit_test(load_passes_store_errors_up),
	    cmocka_unit_test_setup_teardown(load_reports_progress_and_can_be_stopped_by_rejects,
					    setup, teardown),
	};

	return cmocka_run_group_tests_name("service", tests, NULL, NULL);
}
