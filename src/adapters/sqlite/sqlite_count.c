/*
 * Counting events per (customer, hour) in SQLite: head and tail edges from raw
 * events, whole hours from the rollup's 15-minute cells (all event types), in
 * one statement over customer keys; customer ids are joined in at the end.
 */
#include <sqlite3.h>

#include "adapters/sqlite/sqlite_internal.h"
#include "scli/bucket.h"

/* Hour floor of a microsecond column in SQL. SQLite's % truncates toward zero
 * like C's, so the double modulo keeps pre-1970 events in the hour that
 * contains them. */
#define HOUR_OF(col) "(" col " - (((" col " % 3600000000) + 3600000000) % 3600000000))"

/* Head and tail edges from raw events, whole hours from the rollup; the outer
 * GROUP BY merges them (and a whole hour's cells) so each (customer, hour)
 * comes out once. An unknown customer id finds no key and counts nothing.
 * ?1 customer, ?2..?7 the plan's head, rollup and tail ranges (hour-aligned
 * rollup bounds, so whole cells). */
#define COUNT_SQL(CUSTOMER_FILTER)                                                                 \
	"SELECT c.customer_id, x.hour_us, SUM(x.n) FROM ("                                         \
	" SELECT customer_key, " HOUR_OF(                                                          \
	    "ts_us") " AS hour_us, 1 AS n FROM scli_events"                                        \
		     "  WHERE " CUSTOMER_FILTER " ts_us >= ?2 AND ts_us < ?3"                      \
		     " UNION ALL"                                                                  \
		     " SELECT customer_key, " HOUR_OF(                                             \
			 "cell_us") " AS hour_us, count AS n FROM scli_rollup"                     \
				    "  WHERE " CUSTOMER_FILTER " cell_us >= ?4 AND cell_us < ?5"   \
				    " UNION ALL"                                                   \
				    " SELECT customer_key, " HOUR_OF(                              \
					"ts_us") " AS hour_us, 1 AS n FROM scli_events"            \
						 "  WHERE " CUSTOMER_FILTER                        \
						 " ts_us >= ?6 AND ts_us < ?7"                     \
						 ") AS x JOIN scli_customers AS c ON "             \
						 "c.customer_key = x.customer_key"                 \
						 " GROUP BY x.customer_key, x.hour_us HAVING "     \
						 "SUM(x.n) > 0"

#define ONE_CUSTOMER                                                                               \
	"customer_key = (SELECT customer_key FROM scli_customers WHERE customer_id = ?1) AND"

static const char *const COUNT_ONE_SQL = COUNT_SQL(ONE_CUSTOMER);
static const char *const COUNT_ALL_SQL = COUNT_SQL("");

int sqlite_repo_count_hourly(scli_repo *r, const char *customer_id, int64_t from_us, int64_t to_us,
			     scli_hour_cb cb, void *ctx)
{
	sqlite_repo *s = (sqlite_repo *)r;
	sqlite3_stmt *st = NULL;
	scli_count_plan plan;
	int error = 0, rc;

	if (from_us >= to_us)
		goto done;
	scli_count_plan_make(&plan, from_us, to_us);
	if (customer_id) {
		if ((error = sqlite_repo_prepare(&s->count_one, s->db, COUNT_ONE_SQL)) < 0)
			goto done;
		st = s->count_one;
		if (sqlite3_bind_text(st, 1, customer_id, -1, SQLITE_STATIC)) {
			error = sqlite_repo_error(s->db, "binding the customer id");
			goto done;
		}
	} else {
		if ((error = sqlite_repo_prepare(&s->count_all, s->db, COUNT_ALL_SQL)) < 0)
			goto done;
		st = s->count_all;
	}
	if (sqlite3_bind_int64(st, 2, plan.head_from) || sqlite3_bind_int64(st, 3, plan.head_to) ||
	    sqlite3_bind_int64(st, 4, plan.rollup_from) ||
	    sqlite3_bind_int64(st, 5, plan.rollup_to) ||
	    sqlite3_bind_int64(st, 6, plan.tail_from) || sqlite3_bind_int64(st, 7, plan.tail_to)) {
		error = sqlite_repo_error(s->db, "binding the range");
		goto done;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *cust = (const char *)sqlite3_column_text(st, 0);

		if (!cust) {
			error = sqlite_repo_error(s->db, "reading a customer id");
			goto done;
		}
		if ((error = cb(ctx, cust, sqlite3_column_int64(st, 1),
				sqlite3_column_int64(st, 2))) < 0)
			goto done;
	}
	if (rc != SQLITE_DONE)
		error = sqlite_repo_error(s->db, "counting events");
done:
	if (st) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
	return error;
}
