/*
 * Counting events per (customer, hour) in PostgreSQL: whole hours from the
 * rollup's 15-minute cells, edge hours from raw events (or as the hour's total
 * less the other side), in one prepared statement whose results come back in
 * binary.
 */
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "adapters/postgres/pg_internal.h"
#include "scli/bucket.h"
#include "scli/timestamp.h"

/*
 * Edge hours from raw events, whole hours from the rollup (the sum of the hour's
 * four 15-minute cells over every event type); $2..$7 are the plan's ranges,
 * which never share an hour, so each branch's hours are its own.
 * An edge hour may instead be counted as its rollup total less the raw events
 * of the hour's other side ($8..$12; NULL when unused), which reads fewer raw
 * events when the range covers most of that hour: an edge read from raw events
 * costs about a microsecond per event on a big table (each index entry points at
 * a different heap page). Counted by customer_key; the ids are joined on last,
 * for the few rows of the answer. Results come back in binary (hour as
 * timestamptz microseconds, counts as int8).
 */
#define EDGE_SQL(where, from, to, hour, minus_from, minus_to)                                      \
	" SELECT customer_key, date_trunc('hour', ts, 'UTC') AS hour, count(*) AS n"               \
	" FROM scli_events WHERE " where " ts >= " from "::timestamptz"                            \
	" AND ts < " to "::timestamptz GROUP BY 1, 2"                                              \
	" UNION ALL"                                                                               \
	" SELECT customer_key, " hour "::timestamptz, sum(count) FROM scli_rollup"                 \
	" WHERE " where " cell >= " hour "::timestamptz"                                           \
	" AND cell < " hour "::timestamptz + interval '1 hour' GROUP BY 1"                         \
	" UNION ALL"                                                                               \
	" SELECT customer_key, date_trunc('hour', ts, 'UTC'), -count(*)"                           \
	" FROM scli_events WHERE " where " ts >= " minus_from "::timestamptz"                      \
	" AND ts < " minus_to "::timestamptz GROUP BY 1, 2"

#define COUNT_SQL(where)                                                                           \
	"SELECT c.customer_id, x.hour, x.n FROM ("                                                 \
	" SELECT customer_key, hour, sum(n)::int8 AS n FROM ("                                     \
	EDGE_SQL(where, "$2", "$3", "$8", "$8", "$9")                                              \
	" UNION ALL"                                                                               \
	EDGE_SQL(where, "$6", "$7", "$10", "$11", "$12")                                           \
	" ) e GROUP BY 1, 2"                                                                       \
	" UNION ALL"                                                                               \
	" SELECT customer_key, date_trunc('hour', cell, 'UTC'), sum(count)::int8"                  \
	" FROM scli_rollup WHERE " where " cell >= $4::timestamptz AND cell < $5::timestamptz"     \
	" GROUP BY 1, 2"                                                                           \
	") x JOIN scli_customers c ON c.customer_key = x.customer_key"

/* An unknown customer id has no key: the subquery is NULL, which matches no row. */
static const char count_one_sql[] = COUNT_SQL(
    "customer_key = (SELECT customer_key FROM scli_customers WHERE customer_id = $1) AND");
/* $1 is unused here but keeps one parameter list for both statements. */
static const char count_all_sql[] = COUNT_SQL("$1::text IS NULL AND");

/* Count statements only, each prepared when first needed: a read-only role or a
 * standby can count without temp tables, and a one-off count prepares one. */
static int pg_prepare_count(pg_repo *r, bool all)
{
	int error;

	if (all ? r->count_all_prepared : r->count_one_prepared)
		return 0;
	if ((error = pg_repo_prepare_on(r, r->conn, all ? "scli_count_all" : "scli_count_one",
					all ? count_all_sql : count_one_sql,
					"preparing the count statement")) < 0)
		return error;
	*(all ? &r->count_all_prepared : &r->count_one_prepared) = true;
	return 0;
}

/* Statement parameter $n (1-based) as a timestamp, formatted into its own slot. */
static void set_bound(const char **params, char (*bounds)[SCLI_TIMESTAMP_BUFSZ], int n, int64_t us)
{
	scli_timestamp_format(bounds[n - 1], us);
	params[n - 1] = bounds[n - 1];
}

int pg_repo_count_hourly(scli_repo *base, const char *customer_id, int64_t from_us, int64_t to_us,
			 scli_hour_cb cb, void *ctx)
{
	pg_repo *r = (pg_repo *)base;
	char bounds[12][SCLI_TIMESTAMP_BUFSZ];
	const char *params[12];
	scli_count_plan plan;
	PGresult *res = NULL;
	int64_t head_hour, tail_hour;
	bool head_rest, tail_rest;
	int error, i, rows;

	if ((error = pg_prepare_count(r, customer_id == NULL)) < 0)
		return error;
	scli_count_plan_make(&plan, from_us, to_us);
	/* Which edges to count as rollup total less the other side (one customer only:
	 * for all customers neither side has an index to read from). */
	head_hour = scli_hour_floor(plan.head_from);
	tail_hour = plan.tail_from;
	head_rest = customer_id && plan.head_from < plan.head_to &&
		    plan.head_to == head_hour + SCLI_US_PER_HOUR &&
		    plan.head_from - head_hour < plan.head_to - plan.head_from;
	tail_rest = customer_id && plan.tail_from < plan.tail_to &&
		    scli_hour_floor(plan.tail_from) == plan.tail_from &&
		    plan.tail_to - plan.tail_from > tail_hour + SCLI_US_PER_HOUR - plan.tail_to;
	params[0] = customer_id;
	for (i = 1; i < 12; i++)
		params[i] = NULL;
	if (head_rest) { /* [hour, head_from) subtracted from the hour's total */
		set_bound(params, bounds, 8, head_hour);
		set_bound(params, bounds, 9, plan.head_from);
	} else {
		set_bound(params, bounds, 2, plan.head_from);
		set_bound(params, bounds, 3, plan.head_to);
	}
	set_bound(params, bounds, 4, plan.rollup_from);
	set_bound(params, bounds, 5, plan.rollup_to);
	if (tail_rest) { /* [tail_to, hour end) subtracted from the hour's total */
		set_bound(params, bounds, 10, tail_hour);
		set_bound(params, bounds, 11, plan.tail_to);
		set_bound(params, bounds, 12, tail_hour + SCLI_US_PER_HOUR);
	} else {
		set_bound(params, bounds, 6, plan.tail_from);
		set_bound(params, bounds, 7, plan.tail_to);
	}
	res = PQexecPrepared(r->conn, customer_id ? "scli_count_one" : "scli_count_all", 12, params,
			     NULL, NULL, 1);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		error = pg_repo_fail(r, res, "counting");
		goto done;
	}
	if (PQnfields(res) != 3 || PQfsize(res, 1) != 8 || PQfsize(res, 2) != 8) {
		error = scli_error_set(SCLI_ERROR, "unexpected count result from PostgreSQL");
		goto done;
	}
	rows = PQntuples(res);
	for (i = 0; i < rows; i++) {
		/* binary: timestamptz is int8 microseconds since 2000-01-01, counts int8;
		 * libpq ends every value, binary ones too, with a NUL byte */
		int64_t hour = (int64_t)pg_get_be(PQgetvalue(res, i, 1), 8) + PG_EPOCH_OFFSET_US;
		int64_t count = (int64_t)pg_get_be(PQgetvalue(res, i, 2), 8);

		if (PQgetlength(res, i, 0) != (int)strlen(PQgetvalue(res, i, 0))) {
			error =
			    scli_error_set(SCLI_ERROR, "unexpected customer id from PostgreSQL");
			goto done;
		}
		if (count > 0 && (error = cb(ctx, PQgetvalue(res, i, 0), hour, count)) < 0)
			goto done;
	}
	error = 0;
done:
	PQclear(res);
	return error;
}
