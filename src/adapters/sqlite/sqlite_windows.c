/*
 * Counting events per (customer, [event type,] window) in SQLite, for windows
 * with any bounds (issue 15): the cells that lie inside one window come from
 * the rollup, the rest of the range from raw events (scli_cell_plan). Each
 * span is one range scan per customer of the (customer_key, cell_us) and
 * (customer_key, ts_us) keys; the rows come in customer, then time order, so
 * C maps each to its window (scli_window_index) and sums runs of one
 * (customer, window) before reporting them: few callbacks, no table of
 * counts. When the counts are not by type and windows hold many cells (days,
 * months), SQLite sums each window's cells itself, one statement per window:
 * at 30 days of day windows for one customer (5,760 cells) 0.7 ms against
 * 1.5 ms streamed. All spans are read in one read transaction, so a load
 * committing meanwhile is seen by none of them or by all.
 */
#include <stdbool.h>
#include <string.h>

#include <sqlite3.h>

#include "adapters/sqlite/sqlite_internal.h"
#include "scli/alloc.h"
#include "scli/cell_plan.h"

/* ?1, ?2 the span; ?3 the customer id in the _ONE statements. The customers
 * are the outer loop (CROSS JOIN keeps that order), so each customer's rows
 * come from one range scan. Every statement gives (customer key, customer id,
 * event type or NULL, instant, count). */
#define CELLS_SQL(where)                                                                           \
	"SELECT c.customer_key, c.customer_id, r.event_type, r.cell_us, r.count"                   \
	" FROM scli_customers AS c CROSS JOIN scli_rollup AS r ON r.customer_key = c.customer_key" \
	" WHERE " where " r.cell_us >= ?1 AND r.cell_us < ?2"
/* One window's cells of each customer summed: the piece's start stands for the
 * window. Customers come in key order, so the GROUP BY needs no sorting. */
#define CELL_SUM_SQL(where)                                                                        \
	"SELECT c.customer_key, c.customer_id, NULL, ?1, sum(r.count)"                             \
	" FROM scli_customers AS c CROSS JOIN scli_rollup AS r ON r.customer_key = c.customer_key" \
	" WHERE " where " r.cell_us >= ?1 AND r.cell_us < ?2 GROUP BY c.customer_key"
/* Without the event type the (customer_key, ts_us) index answers alone. */
#define RAW_SQL(type, where)                                                                       \
	"SELECT c.customer_key, c.customer_id, " type ", e.ts_us, 1"                               \
	" FROM scli_customers AS c CROSS JOIN scli_events AS e ON e.customer_key = c.customer_key" \
	" WHERE " where " e.ts_us >= ?1 AND e.ts_us < ?2"
#define ONE "c.customer_id = ?3 AND"

static const char *const WINDOW_SQL[SQLITE_WINDOW_STMTS] = {
    [SQLITE_WINDOW_CELLS_ALL] = CELLS_SQL(""),
    [SQLITE_WINDOW_CELLS_ONE] = CELLS_SQL(ONE),
    [SQLITE_WINDOW_CELL_SUM_ALL] = CELL_SUM_SQL(""),
    [SQLITE_WINDOW_CELL_SUM_ONE] = CELL_SUM_SQL(ONE),
    [SQLITE_WINDOW_RAW_ALL] = RAW_SQL("NULL", ""),
    [SQLITE_WINDOW_RAW_ONE] = RAW_SQL("NULL", ONE),
    [SQLITE_WINDOW_TYPED_RAW_ALL] = RAW_SQL("e.event_type", ""),
    [SQLITE_WINDOW_TYPED_RAW_ONE] = RAW_SQL("e.event_type", ONE),
};

/* One event type's count in the current run. */
typedef struct type_count {
	char type[SCLI_EVENT_TYPE_MAX + 1];
	int64_t count;
} type_count;

/* The run being summed: one customer's count in one window, by type when
 * the query is by type (else one entry with an empty type). */
typedef struct run {
	const scli_window_query *q;
	scli_window_cb cb;
	void *ctx;
	bool open;
	int64_t customer_key;
	char customer_id[SCLI_CUSTOMER_ID_MAX + 1];
	size_t window;
	type_count *types;
	size_t ntypes, cap;
} run;

/* Report the run and start none. */
static int run_flush(run *u)
{
	size_t i;
	int error;

	for (i = 0; i < u->ntypes; i++)
		if (u->types[i].count &&
		    (error = u->cb(u->ctx, u->customer_id,
				   u->q->by_event_type ? u->types[i].type : NULL, u->window,
				   u->types[i].count)) < 0)
			return error;
	u->ntypes = 0;
	u->open = false;
	return 0;
}

/* The entry for `type` in the run, added when new (types are few: a linear search). */
static int run_slot(type_count **out, run *u, const char *type)
{
	size_t i;

	for (i = 0; i < u->ntypes; i++)
		if (!strcmp(u->types[i].type, type)) {
			*out = &u->types[i];
			return 0;
		}
	if (u->ntypes == u->cap) {
		size_t cap = u->cap ? u->cap * 2 : 8;
		type_count *types = scli_realloc(u->types, cap * sizeof(*types));

		if (!types)
			return scli_error_set(SCLI_ENOMEM, "out of memory counting windows");
		u->types = types;
		u->cap = cap;
	}
	*out = &u->types[u->ntypes++];
	strcpy((*out)->type, type);
	(*out)->count = 0;
	return 0;
}

static bool type_wanted(const scli_window_query *q, const char *type)
{
	size_t i;

	if (!q->n_event_types)
		return true;
	for (i = 0; i < q->n_event_types; i++)
		if (!strcmp(q->event_types[i], type))
			return true;
	return false;
}

/* One row of a statement into the run. */
static int run_add(run *u, sqlite3_stmt *st)
{
	const scli_window_query *q = u->q;
	int64_t key = sqlite3_column_int64(st, 0);
	size_t w = scli_window_index(q->bounds, q->n_windows, sqlite3_column_int64(st, 3));
	const char *type = "";
	type_count *slot = NULL;
	int error;

	if (w == q->n_windows)
		return scli_error_set(SCLI_ERROR, "sqlite: a counted row lies outside the windows");
	if (q->by_event_type || q->n_event_types) {
		type = (const char *)sqlite3_column_text(st, 2);
		if (!type || strlen(type) > SCLI_EVENT_TYPE_MAX)
			return scli_error_set(SCLI_ERROR, "sqlite: an unreadable event type");
		if (!type_wanted(q, type))
			return 0;
		if (!q->by_event_type)
			type = "";
	}
	if (!u->open || key != u->customer_key || w != u->window) {
		const char *id = (const char *)sqlite3_column_text(st, 1);

		if ((error = run_flush(u)) < 0)
			return error;
		if (!id || strlen(id) > SCLI_CUSTOMER_ID_MAX)
			return scli_error_set(SCLI_ERROR, "sqlite: an unreadable customer id");
		strcpy(u->customer_id, id);
		u->customer_key = key;
		u->window = w;
		u->open = true;
	}
	if ((error = run_slot(&slot, u, type)) < 0)
		return error;
	slot->count += sqlite3_column_int64(st, 4);
	return 0;
}

/* Run statement `which` over each span (for customer `id` in a _ONE statement). */
static int read_spans(run *u, sqlite_repo *s, int which, const char *id, const scli_span *spans,
		      size_t n)
{
	sqlite3_stmt *st = NULL;
	size_t i;
	int error = 0, rc;

	if ((error = sqlite_repo_prepare(&s->windows[which], s->db, WINDOW_SQL[which])) < 0)
		return error;
	st = s->windows[which];
	if (id && sqlite3_bind_text(st, 3, id, -1, SQLITE_STATIC)) {
		error = sqlite_repo_error(s->db, "binding a customer id");
		goto done;
	}
	for (i = 0; i < n && !error; i++) {
		if (sqlite3_bind_int64(st, 1, spans[i].from) ||
		    sqlite3_bind_int64(st, 2, spans[i].to)) {
			error = sqlite_repo_error(s->db, "binding a span");
			goto done;
		}
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			if ((error = run_add(u, st)) < 0)
				goto done;
		if (rc != SQLITE_DONE)
			error = sqlite_repo_error(s->db, "counting windows");
		sqlite3_reset(st);
	}
done:
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return error;
}

/* True when the customer id at `i` was named earlier in the list too. */
static bool named_before(const scli_window_query *q, size_t i)
{
	size_t j;

	for (j = 0; j < i; j++)
		if (!strcmp(q->customers[j], q->customers[i]))
			return true;
	return false;
}

/* What to read: spans of cells and of raw events, each with its statement
 * (an _ALL one; the _ONE follows it). */
typedef struct read_plan {
	scli_span *cells, *raw;
	size_t ncells, nraw;
	int cells_stmt, raw_stmt;
} read_plan;

/* Every span for one customer (`id`) or all (`id` NULL). */
static int read_customer(run *u, sqlite_repo *s, const char *id, const read_plan *p)
{
	int one = id ? 1 : 0;
	int error;

	if ((error = read_spans(u, s, p->cells_stmt + one, id, p->cells, p->ncells)) < 0)
		return error;
	return read_spans(u, s, p->raw_stmt + one, id, p->raw, p->nraw);
}

/* Fewer cells than this per window on average: streaming them is cheaper than
 * a statement per window. */
#define CELLS_PER_SUM 16

/*
 * When the counts are not by type or filtered by it, and the windows hold
 * many cells, replace the cell spans by their pieces in each window, to be
 * summed by SQLite (a cell span's inner bounds fall on cell edges).
 */
static int plan_cell_sums(read_plan *p, const scli_window_query *q)
{
	scli_span *pieces;
	size_t i, n = 0, w;
	int64_t cells = 0, from, to;

	if (q->by_event_type || q->n_event_types || !p->ncells)
		return 0;
	if (!(pieces = scli_malloc((p->ncells + q->n_windows) * sizeof(*pieces))))
		return scli_error_set(SCLI_ENOMEM, "out of memory counting windows");
	for (i = 0; i < p->ncells; i++) {
		cells += (p->cells[i].to - p->cells[i].from) / SCLI_CELL_US;
		w = scli_window_index(q->bounds, q->n_windows, p->cells[i].from);
		for (from = p->cells[i].from; from < p->cells[i].to; from = to, w++) {
			to = q->bounds[w + 1] < p->cells[i].to ? q->bounds[w + 1] : p->cells[i].to;
			pieces[n].from = from;
			pieces[n++].to = to;
		}
	}
	if (cells < (int64_t)n * CELLS_PER_SUM) {
		scli_free(pieces);
		return 0;
	}
	scli_free(p->cells);
	p->cells = pieces;
	p->ncells = n;
	p->cells_stmt = SQLITE_WINDOW_CELL_SUM_ALL;
	return 0;
}

int sqlite_repo_count_windows(scli_repo *r, const scli_window_query *q, scli_window_cb cb,
			      void *ctx)
{
	sqlite_repo *s = (sqlite_repo *)r;
	read_plan p = {.cells_stmt = SQLITE_WINDOW_CELLS_ALL, .raw_stmt = SQLITE_WINDOW_RAW_ALL};
	run u = {.q = q, .cb = cb, .ctx = ctx};
	bool in_transaction = false;
	size_t i;
	int error;

	if (q->by_event_type || q->n_event_types)
		p.raw_stmt = SQLITE_WINDOW_TYPED_RAW_ALL;
	if ((error = scli_cell_plan(&p.cells, &p.ncells, &p.raw, &p.nraw, q->bounds, q->n_windows,
				    SCLI_CELL_US)) < 0 ||
	    (error = plan_cell_sums(&p, q)) < 0)
		goto done;
	if ((error = sqlite_repo_exec(s->db, "BEGIN", "starting a read")) < 0)
		goto done;
	in_transaction = true;
	if (!q->n_customers)
		error = read_customer(&u, s, NULL, &p);
	for (i = 0; i < q->n_customers && !error; i++)
		if (!named_before(q, i))
			error = read_customer(&u, s, q->customers[i], &p);
	if (error < 0 || (error = run_flush(&u)) < 0)
		goto done;
	in_transaction = false;
	error = sqlite_repo_exec(s->db, "COMMIT", "ending a read");
done:
	if (in_transaction)
		sqlite_repo_rollback(s->db);
	scli_free(u.types);
	scli_free(p.cells);
	scli_free(p.raw);
	return error;
}
