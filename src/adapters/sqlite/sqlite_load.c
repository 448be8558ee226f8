/*
 * Storing a batch in SQLite: one IMMEDIATE transaction inserts the batch's
 * distinct events in primary-key order and adds the inserted ones to the
 * hourly rollup, one upsert per (customer, hour).
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "adapters/sqlite/sqlite_internal.h"
#include "scli/alloc.h"
#include "scli/bucket.h"
#include "scli/timestamp.h"

static const char *const INSERT_EVENT_SQL =
    "INSERT INTO events (customer_id, transaction_id, event_type, ts_us)"
    " VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING";

static const char *const UPSERT_HOURLY_SQL =
    "INSERT INTO hourly (customer_id, hour_us, count) VALUES (?1, ?2, ?3)"
    " ON CONFLICT (customer_id, hour_us) DO UPDATE SET count = count + excluded.count";

/* An inserted event's (customer, hour), tallied in C before touching `hourly`. */
typedef struct hour_key {
	const char *customer_id;
	int customer_id_len;
	int64_t hour;
} hour_key;

static int compare_hour_keys(const void *a, const void *b)
{
	const hour_key *x = a, *y = b;
	int n = x->customer_id_len < y->customer_id_len ? x->customer_id_len : y->customer_id_len;
	int c = memcmp(x->customer_id, y->customer_id, (size_t)n);

	if (c)
		return c;
	if (x->customer_id_len != y->customer_id_len)
		return x->customer_id_len - y->customer_id_len;
	return (x->hour > y->hour) - (x->hour < y->hour);
}

/* Insert one event; *inserted_out says whether it was new (else a duplicate). */
static int insert_event(int *inserted_out, sqlite_repo *s, const scli_event *ev)
{
	sqlite3_stmt *st = s->insert_event;
	int error = 0;

	*inserted_out = 0;
	/* SQLITE_STATIC: the event outlives the step; no copy needed. */
	if (sqlite3_bind_text(st, 1, ev->customer_id, ev->customer_id_len, SQLITE_STATIC) ||
	    sqlite3_bind_text(st, 2, ev->transaction_id, ev->transaction_id_len, SQLITE_STATIC) ||
	    sqlite3_bind_text(st, 3, ev->event_type, ev->event_type_len, SQLITE_STATIC) ||
	    sqlite3_bind_int64(st, 4, ev->ts_us)) {
		error = sqlite_repo_error(s->db, "binding an event");
		goto done;
	}
	if (sqlite3_step(st) != SQLITE_DONE) {
		error = sqlite_repo_error(s->db, "inserting an event");
		goto done;
	}
	*inserted_out = sqlite3_changes(s->db) == 1;
done:
	sqlite3_reset(st);
	return error;
}

static int upsert_hour(sqlite_repo *s, const hour_key *key, int64_t count)
{
	sqlite3_stmt *st = s->upsert_hourly;
	int error = 0;

	if (sqlite3_bind_text(st, 1, key->customer_id, key->customer_id_len, SQLITE_STATIC) ||
	    sqlite3_bind_int64(st, 2, key->hour) || sqlite3_bind_int64(st, 3, count)) {
		error = sqlite_repo_error(s->db, "binding an hourly count");
		goto done;
	}
	if (sqlite3_step(st) != SQLITE_DONE)
		error = sqlite_repo_error(s->db, "updating the hourly rollup");
done:
	sqlite3_reset(st);
	return error;
}

int sqlite_repo_store_batch(size_t *inserted_out, size_t *duplicates_out, scli_repo *r,
			    const scli_event *events, size_t n)
{
	sqlite_repo *s = (sqlite_repo *)r;
	hour_key *keys = NULL;
	uint32_t *order = NULL;
	size_t i, nkeys = 0, kept = 0;
	int error = 0, inserted;

	*inserted_out = *duplicates_out = 0;
	if (!n)
		goto done;
	if ((error = sqlite_repo_prepare(&s->insert_event, s->db, INSERT_EVENT_SQL)) < 0 ||
	    (error = sqlite_repo_prepare(&s->upsert_hourly, s->db, UPSERT_HOURLY_SQL)) < 0)
		goto done;
	if (!(keys = scli_malloc(n * sizeof(*keys))) ||
	    !(order = scli_malloc(n * sizeof(*order)))) {
		error = scli_error_set(SCLI_ENOMEM, "out of memory for a batch of %zu events", n);
		goto done;
	}
	/* Copies of one identity inside the batch are dropped here (the first one in
	 * the file wins) and the rest inserted in primary-key order, which walks the
	 * B-tree forward instead of jumping around it. */
	if ((error = scli_events_order_unique(&kept, order, events, n)) < 0)
		goto done;
	/* IMMEDIATE takes the write lock now, so a concurrent load waits here (busy
	 * timeout) rather than failing later on a lock upgrade. */
	if ((error = sqlite_repo_exec(s->db, "BEGIN IMMEDIATE", "starting a batch")) < 0)
		goto done;
	for (i = 0; i < kept; i++) {
		const scli_event *ev = &events[order[i]];

		if ((error = insert_event(&inserted, s, ev)) < 0)
			goto done;
		if (!inserted)
			continue;
		keys[nkeys].customer_id = ev->customer_id;
		keys[nkeys].customer_id_len = ev->customer_id_len;
		keys[nkeys].hour = scli_hour_floor(ev->ts_us);
		nkeys++;
	}
	/* One upsert per (customer, hour), not per event: sort, then sum runs. */
	qsort(keys, nkeys, sizeof(*keys), compare_hour_keys);
	for (i = 0; i < nkeys;) {
		size_t j = i + 1;

		while (j < nkeys && !compare_hour_keys(&keys[i], &keys[j]))
			j++;
		if ((error = upsert_hour(s, &keys[i], (int64_t)(j - i))) < 0)
			goto done;
		i = j;
	}
	if ((error = sqlite_repo_exec(s->db, "COMMIT", "committing a batch")) < 0)
		goto done;
	*inserted_out = nkeys;
	*duplicates_out = n - nkeys;
done:
	if (error < 0)
		sqlite_repo_rollback(s->db);
	scli_free(keys);
	scli_free(order);
	return error;
}
