/*
 * Counting events per (customer, [event type,] window) in PostgreSQL, for
 * windows with any bounds (issue 15): the cells that lie inside one window
 * come from the rollup, the rest of the range from raw events
 * (scli_cell_plan), and the server sums both per window with width_bucket
 * over the bounds, so the answer is a few rows per customer whatever the
 * number of cells or events. One prepared statement per customer filter; all
 * lists go as binary array parameters; results come back in binary.
 */
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "adapters/postgres/pg_internal.h"
#include "scli/alloc.h"
#include "scli/cell_plan.h"

/* Type OIDs (pg_type.dat), for the binary arrays' headers. */
#define PG_TEXT_OID 25
#define PG_TIMESTAMPTZ_OID 1184

/*
 * $1 text[] customer ids (NULL in the "all" statement), $2 text[] event types
 * (NULL: every type), $3 by event type, $4 the window bounds; $5, $6 where the
 * first cell span starts and the last ends, $7 every cell span's start and end
 * in turn (NULL when there is one span); $8/$9 the raw spans' starts and ends.
 * Customers are the outer loop, so each customer's cells are one range scan of
 * the (customer_key, cell) key, whether one customer is asked for or all. The
 * cells of that range outside the cell spans (odd-offset windows cut cells
 * everywhere) are dropped by their bucket in $7: the spans' insides are the odd
 * ones; one scan beats a loop per span, which the planner may run over the
 * customer's whole rollup each time. Raw spans are few and short except for
 * minute windows, so each is a range scan of (customer_key, ts). A customer
 * named twice in $1 is still one row of scli_customers. A cell span holds
 * whole cells of one window each, so a cell's start finds its window; the
 * window of width_bucket is 1-based.
 */
#define WINDOWS_SQL(customer_filter)                                                               \
	"SELECT c.customer_id, x.et, x.w, x.n FROM scli_customers c CROSS JOIN LATERAL ("          \
	" SELECT et, w, sum(n)::int8 AS n FROM ("                                                  \
	"  SELECT CASE WHEN $3::boolean THEN r.event_type END AS et,"                              \
	"   width_bucket(r.cell, $4::timestamptz[]) AS w, r.count AS n"                            \
	"  FROM scli_rollup r WHERE r.customer_key = c.customer_key"                               \
	"   AND r.cell >= $5::timestamptz AND r.cell < $6::timestamptz"                            \
	"   AND ($7::timestamptz[] IS NULL OR width_bucket(r.cell, $7::timestamptz[]) % 2 = 1)"    \
	"   AND ($2::text[] IS NULL OR r.event_type = ANY ($2::text[]))"                           \
	"  UNION ALL"                                                                              \
	"  SELECT CASE WHEN $3::boolean THEN e.event_type END,"                                    \
	"   width_bucket(e.ts, $4::timestamptz[]), 1"                                              \
	"  FROM unnest($8::timestamptz[], $9::timestamptz[]) AS s(f, t)"                           \
	"  JOIN scli_events e ON e.customer_key = c.customer_key AND e.ts >= s.f AND e.ts < s.t"   \
	"  WHERE $2::text[] IS NULL OR e.event_type = ANY ($2::text[])"                            \
	" ) u GROUP BY 1, 2) x WHERE " customer_filter

static const char windows_list_sql[] = WINDOWS_SQL("c.customer_id = ANY ($1::text[])");
/* $1 is unused here but keeps one parameter list for both statements. */
static const char windows_all_sql[] = WINDOWS_SQL("$1::text[] IS NULL");

enum { NPARAMS = 9 };

/* A one-dimensional array in PostgreSQL's binary format (array_recv): header,
 * then each element as its length and bytes. */
typedef struct pg_array {
	char *buf;
	size_t len, cap;
} pg_array;

static int array_put(pg_array *a, const void *p, size_t n)
{
	if (a->len + n > a->cap) {
		size_t cap = a->cap ? a->cap : 256;
		char *buf;

		while (cap < a->len + n)
			cap *= 2;
		if (!(buf = scli_realloc(a->buf, cap)))
			return scli_error_set(SCLI_ENOMEM, "out of memory");
		a->buf = buf;
		a->cap = cap;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
	return 0;
}

static int array_put_be32(pg_array *a, uint32_t v)
{
	unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
			      (unsigned char)(v >> 8), (unsigned char)v};

	return array_put(a, b, 4);
}

static int array_put_be64(pg_array *a, uint64_t v)
{
	int error;

	if ((error = array_put_be32(a, (uint32_t)(v >> 32))) < 0)
		return error;
	return array_put_be32(a, (uint32_t)v);
}

/* The header for `n` elements of type `oid` (an empty array has no dimension). */
static int array_begin(pg_array *a, uint32_t oid, size_t n)
{
	int error;

	a->len = 0;
	if (n > INT32_MAX)
		return scli_error_set(SCLI_ERANGE, "too many values for one PostgreSQL array");
	if ((error = array_put_be32(a, n ? 1 : 0)) < 0 || (error = array_put_be32(a, 0)) < 0 ||
	    (error = array_put_be32(a, oid)) < 0)
		return error;
	if (n &&
	    ((error = array_put_be32(a, (uint32_t)n)) < 0 || (error = array_put_be32(a, 1)) < 0))
		return error;
	return 0;
}

/* timestamptz on the wire: int8 microseconds since 2000-01-01. */
static int array_put_timestamp(pg_array *a, int64_t us)
{
	int error;

	if ((error = array_put_be32(a, 8)) < 0)
		return error;
	return array_put_be64(a, (uint64_t)(us - PG_EPOCH_OFFSET_US));
}

static int array_of_texts(pg_array *a, const char *const *texts, size_t n)
{
	size_t i, len;
	int error;

	if ((error = array_begin(a, PG_TEXT_OID, n)) < 0)
		return error;
	for (i = 0; i < n; i++) {
		len = strlen(texts[i]);
		if ((error = array_put_be32(a, (uint32_t)len)) < 0 ||
		    (error = array_put(a, texts[i], len)) < 0)
			return error;
	}
	return 0;
}

static int array_of_bounds(pg_array *a, const int64_t *bounds, size_t n)
{
	size_t i;
	int error;

	if ((error = array_begin(a, PG_TIMESTAMPTZ_OID, n)) < 0)
		return error;
	for (i = 0; i < n; i++)
		if ((error = array_put_timestamp(a, bounds[i])) < 0)
			return error;
	return 0;
}

/* One timestamptz, not an array. */
static int scalar_timestamp(pg_array *a, int64_t us)
{
	a->len = 0;
	return array_put_be64(a, (uint64_t)(us - PG_EPOCH_OFFSET_US));
}

/* The cell spans' range into `lo` and `hi` (empty when there are none), and
 * their edges in turn into `edges` when there is more than one. */
static int cell_params(pg_array *lo, pg_array *hi, pg_array *edges, const scli_span *spans,
		       size_t n, int64_t none)
{
	size_t i;
	int error;

	if ((error = scalar_timestamp(lo, n ? spans[0].from : none)) < 0 ||
	    (error = scalar_timestamp(hi, n ? spans[n - 1].to : none)) < 0)
		return error;
	if (n < 2)
		return 0;
	if (n > INT32_MAX / 2)
		return scli_error_set(SCLI_ERANGE, "too many spans for one PostgreSQL array");
	if ((error = array_begin(edges, PG_TIMESTAMPTZ_OID, 2 * n)) < 0)
		return error;
	for (i = 0; i < n; i++)
		if ((error = array_put_timestamp(edges, spans[i].from)) < 0 ||
		    (error = array_put_timestamp(edges, spans[i].to)) < 0)
			return error;
	return 0;
}

/* Two arrays: the spans' starts into `from`, their ends into `to`. */
static int arrays_of_spans(pg_array *from, pg_array *to, const scli_span *spans, size_t n)
{
	size_t i;
	int error;

	if ((error = array_begin(from, PG_TIMESTAMPTZ_OID, n)) < 0 ||
	    (error = array_begin(to, PG_TIMESTAMPTZ_OID, n)) < 0)
		return error;
	for (i = 0; i < n; i++)
		if ((error = array_put_timestamp(from, spans[i].from)) < 0 ||
		    (error = array_put_timestamp(to, spans[i].to)) < 0)
			return error;
	return 0;
}

/* Each statement prepared once per session, when first needed. */
static int prepare_windows(pg_repo *r, bool all)
{
	bool *prepared = all ? &r->windows_all_prepared : &r->windows_list_prepared;
	int error;

	if (*prepared)
		return 0;
	if ((error = pg_repo_prepare_on(r, r->conn, all ? "scli_windows_all" : "scli_windows_list",
					all ? windows_all_sql : windows_list_sql,
					"preparing the window count statement")) < 0)
		return error;
	*prepared = true;
	return 0;
}

/* Hand each row of the answer to the callback. */
static int report_rows(const PGresult *res, const scli_window_query *q, scli_window_cb cb,
		       void *ctx)
{
	int i, rows = PQntuples(res);
	int error;

	if (PQnfields(res) != 4 || PQfsize(res, 2) != 4 || PQfsize(res, 3) != 8)
		return scli_error_set(SCLI_ERROR, "unexpected window count result from PostgreSQL");
	for (i = 0; i < rows; i++) {
		/* libpq ends every value, binary ones too, with a NUL byte */
		const char *customer = PQgetvalue(res, i, 0);
		const char *type = PQgetisnull(res, i, 1) ? NULL : PQgetvalue(res, i, 1);
		int64_t w = (int32_t)pg_get_be(PQgetvalue(res, i, 2), 4);
		int64_t n = (int64_t)pg_get_be(PQgetvalue(res, i, 3), 8);

		if (PQgetlength(res, i, 0) != (int)strlen(customer) ||
		    (type && PQgetlength(res, i, 1) != (int)strlen(type)) || w < 1 ||
		    (uint64_t)w > q->n_windows || (q->by_event_type && !type))
			return scli_error_set(SCLI_ERROR,
					      "unexpected window count row from PostgreSQL");
		if (n && (error = cb(ctx, customer, type, (size_t)(w - 1), n)) < 0)
			return error;
	}
	return 0;
}

int pg_repo_count_windows(scli_repo *base, const scli_window_query *q, scli_window_cb cb, void *ctx)
{
	pg_repo *r = (pg_repo *)base;
	pg_array par[NPARAMS] = {{0}};
	const char *values[NPARAMS] = {NULL};
	int lengths[NPARAMS] = {0}, formats[NPARAMS] = {0};
	scli_span *cells = NULL, *raw = NULL;
	size_t ncells, nraw, i;
	bool all = !q->n_customers;
	char by_type = q->by_event_type ? 1 : 0;
	PGresult *res = NULL;
	int error;

	if ((error = prepare_windows(r, all)) < 0)
		goto done;
	if ((error = scli_cell_plan(&cells, &ncells, &raw, &nraw, q->bounds, q->n_windows,
				    SCLI_CELL_US)) < 0)
		goto done;
	if ((!all && (error = array_of_texts(&par[0], q->customers, q->n_customers)) < 0) ||
	    (q->n_event_types &&
	     (error = array_of_texts(&par[1], q->event_types, q->n_event_types)) < 0) ||
	    (error = array_of_bounds(&par[3], q->bounds, q->n_windows + 1)) < 0)
		goto done;
	if ((error = cell_params(&par[4], &par[5], &par[6], cells, ncells, q->bounds[0])) < 0 ||
	    (error = arrays_of_spans(&par[7], &par[8], raw, nraw)) < 0)
		goto done;
	for (i = 0; i < NPARAMS; i++) {
		formats[i] = 1;
		if (par[i].buf) {
			values[i] = par[i].buf;
			lengths[i] = (int)par[i].len;
		}
	}
	values[2] = &by_type;
	lengths[2] = 1;
	res = PQexecPrepared(r->conn, all ? "scli_windows_all" : "scli_windows_list", NPARAMS,
			     values, lengths, formats, 1);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		error = pg_repo_fail(r, res, "counting windows");
		goto done;
	}
	error = report_rows(res, q, cb, ctx);
done:
	PQclear(res);
	for (i = 0; i < NPARAMS; i++)
		scli_free(par[i].buf);
	scli_free(cells);
	scli_free(raw);
	return error;
}
