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
	assert_int_equal(res->first_hour_us, T0);
	assert_int_equal(res->nbuckets, 4);
	assert_int_equal(res->ncustomers, 1);
	assert_string_equal(res->customers[0].customer_id, "a");
	assert_int_equal(res->customers[0].counts[0], 1);
	assert_int_equal(res->customers[0].counts[1], 1);
	assert_int_equal(res->customers[0].counts[2], 0);
	assert_int_equal(res->customers[0].counts[3], 1);
	assert_int_equal(res->customers[0].total, 3);
	assert_true(scli_bucket_is_partial(scli_count_result_bucket_start(res, 0), res->from_us,
					   res->to_us));
	assert_false(scli_bucket_is_partial(scli_count_result_bucket_start(res, 1), res->from_us,
					    res->to_us));
	assert_true(scli_bucket_is_partial(scli_count_result_bucket_start(res, 3), res->from_us,
					   res->to_us));
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

/* The one check of a count request both front ends use: each refusal, in order. */
static void count_request_is_checked_in_order(void **state)
{
	static const char id[] = "x\0y";
	scli_count_request req;
	scli_count_problem p;

	(void)state;
	assert_int_equal(scli_service_count_request(&req, &p, "a", 1, "2021-03-01T04:30:00Z",
						    "2021-03-01T07:00:00+01:00"),
			 0);
	assert_int_equal(p.what, SCLI_COUNT_ACCEPTED);
	assert_string_equal(req.customer_id, "a");
	assert_true(req.from_us == T0 + H / 2 && req.to_us == T0 + 2 * H);
	assert_int_equal(scli_service_count_request(&req, &p, NULL, 0, "2021-03-01", "2021-03-01"),
			 0);
	assert_null(req.customer_id);

	assert_int_equal(scli_service_count_request(&req, &p, "", 0, NULL, "2021-03-01"),
			 SCLI_EINVALID);
	assert_int_equal(p.what, SCLI_COUNT_NO_RANGE);
	assert_int_equal(scli_service_count_request(&req, &p, "", 0, "2021-02-29", "x"),
			 SCLI_EINVALID);
	assert_int_equal(p.what, SCLI_COUNT_BAD_FROM);
	assert_string_equal(p.why, "day is out of range for the month");
	assert_int_equal(scli_service_count_request(&req, &p, "", 0, "2021-03-01", "x"),
			 SCLI_EINVALID);
	assert_int_equal(p.what, SCLI_COUNT_BAD_TO);
	assert_int_equal(scli_service_count_request(&req, &p, "", 0, "2021-03-02", "2021-03-01"),
			 SCLI_EINVALID);
	assert_int_equal(p.what, SCLI_COUNT_REVERSED);
	assert_int_equal(scli_service_count_request(&req, &p, "", 0, "1990-01-01", "2021-03-01"),
			 SCLI_EINVALID);
	assert_int_equal(p.what, SCLI_COUNT_BAD_CUSTOMER);
	assert_string_equal(p.why, "is empty");
	/* a NUL inside the id (an HTTP %00) is seen, not cut off */
	assert_int_equal(
	    scli_service_count_request(&req, &p, id, sizeof(id) - 1, "2021-03-01", "2021-03-02"),
	    SCLI_EINVALID);
	assert_int_equal(p.what, SCLI_COUNT_BAD_CUSTOMER);
	assert_int_equal(scli_service_count_request(&req, &p, NULL, 0, "1990-01-01", "2021-03-01"),
			 SCLI_ERANGE);
	assert_int_equal(p.what, SCLI_COUNT_TOO_WIDE);
	assert_non_null(strstr(scli_error_last(), "100000"));
	assert_null(req.customer_id);
}

/* ---- a repository that misbehaves on purpose ---------------------------- */

typedef struct liar_repo {
	scli_repo base;
	const char *customer; /* what count_hourly reports */
	int64_t hour;
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
	liar_repo *l = (liar_repo *)r;

	(void)customer_id;
	(void)from;
	(void)to;
	return cb(ctx, l->customer, l->hour, 1);
}

static const scli_repo_ops liar_ops = {.version = SCLI_REPO_OPS_VERSION,
				       .name = "liar",
				       .init_schema = liar_ok,
				       .check_schema = liar_ok,
				       .store_batch = liar_store,
				       .count_hourly = liar_count};

static void count_refuses_answers_a_broken_repository_gives(void **state)
{
	liar_repo liar = {{&liar_ops}, "other", T0, 0, 0};
	scli_count_result *res = NULL;

	(void)state;
	assert_int_equal(scli_service_count(&res, &liar.base, "asked", T0, T0 + H), SCLI_ERROR);
	assert_non_null(strstr(scli_error_last(), "another customer"));
	liar.hour = T0 + 5 * H;
	assert_int_equal(scli_service_count(&res, &liar.base, NULL, T0, T0 + H), SCLI_ERROR);
	assert_non_null(strstr(scli_error_last(), "outside the range"));
	liar.hour = T0 + 1; /* not an hour start */
	assert_int_equal(scli_service_count(&res, &liar.base, NULL, T0, T0 + H), SCLI_ERROR);
	assert_null(res);
}

static void load_refuses_a_batch_that_loses_events(void **state)
{
	static const script_row rows[] = {{SCLI_NEXT_EVENT, "a", "1", T0},
					  {SCLI_NEXT_EVENT, "a", "2", T0}};
	liar_repo liar = {{&liar_ops}, "a", T0, 1, 0};
	script_collector col = script(rows, 2);
	scli_load_report rep = {0};

	(void)state;
	assert_int_equal(scli_service_load(&rep, &liar.base, &col.base, "x", NULL), SCLI_ERROR);
	assert_non_null(strstr(scli_error_last(), "accounted for 1 of 2"));
}

static void load_passes_store_errors_up(void **state)
{
	static const script_row rows[] = {{SCLI_NEXT_EVENT, "a", "1", T0}};
	liar_repo liar = {{&liar_ops}, "a", T0, 0, SCLI_EIO};
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
	    cmocka_unit_test(count_refuses_answers_a_broken_repository_gives),
	    cmocka_unit_test(load_refuses_a_batch_that_loses_events),
	    cmocka_unit_test(load_passes_store_errors_up),
	    cmocka_unit_test_setup_teardown(load_reports_progress_and_can_be_stopped_by_rejects,
					    setup, teardown),
	};

	return cmocka_run_group_tests_name("service", tests, NULL, NULL);
}
