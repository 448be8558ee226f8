/*
 * Storing a batch in SQLite (schema version 4). The client does the thinking:
 * it drops the batch's repeats, maps customer ids to the dictionary's integer
 * keys, computes each event's 16-byte identity key and the batch's digest, and
 * sums the rollup per (customer, 15-minute cell, event type). One IMMEDIATE
 * transaction then checks the per-batch ledger (a batch already stored whole is
 * skipped without a probe), inserts the identity keys in key order into the
 * narrow key tree (the one random-order index; walked forward), appends the new
 * events in (customer, time) order so that the (customer_key, ts_us) index is
 * walked forward too, upserts each rollup cell once and records the digest.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "adapters/sqlite/sqlite_internal.h"
#include "scli/alloc.h"

/* The rollup's cell: 15 minutes, so that a window in any real UTC offset (all
 * are multiples of 15 minutes) is made of whole cells. */
#define CELL_US (15 * 60 * INT64_C(1000000))

static const char *const INSERT_KEY_SQL =
    "INSERT INTO scli_event_keys (customer_key, id_key, event_id) VALUES (?1, ?2, ?3)"
    " ON CONFLICT DO NOTHING";

static const char *const APPEND_EVENT_SQL =
    "INSERT INTO scli_events (event_id, customer_key, transaction_id, event_type, ts_us)"
    " VALUES (?1, ?2, ?3, ?4, ?5)";

/* The event holding a key; its row is missing when it is this batch's own, not
 * yet appended. */
static const char *const PROBE_KEY_SQL =
    "SELECT k.event_id, e.transaction_id FROM scli_event_keys AS k"
    " LEFT JOIN scli_events AS e ON e.event_id = k.event_id"
    " WHERE k.customer_key = ?1 AND k.id_key = ?2";

static const char *const NEXT_EVENT_ID_SQL =
    "SELECT coalesce(max(event_id), 0) + 1 FROM scli_events";

static const char *const UPSERT_ROLLUP_SQL =
    "INSERT INTO scli_rollup (customer_key, cell_us, event_type, count) VALUES (?1, ?2, ?3, ?4)"
    " ON CONFLICT (customer_key, cell_us, event_type) DO UPDATE SET count = count + excluded.count";

static const char *const FIND_CUSTOMER_SQL =
    "SELECT customer_key FROM scli_customers WHERE customer_id = ?1";

static const char *const INSERT_CUSTOMER_SQL =
    "INSERT INTO scli_customers (customer_id) VALUES (?1)";

static const char *const FIND_BATCH_SQL = "SELECT 1 FROM scli_batches WHERE digest = ?1";

static const char *const INSERT_BATCH_SQL =
    "INSERT INTO scli_batches (digest, events, inserted, stored_us) VALUES (?1, ?2, ?3, ?4)";

/* One distinct event on its way in: where it is in the batch, its customer's
 * key, the id it gets if it is new, and its identity key at the variant it is
 * trying. */
typedef struct keyed_event {
	int64_t customer_key;
	int64_t event_id;
	unsigned char id_key[REPO_ID_KEY_BYTES];
	uint32_t pos;
	uint32_t variant;
	bool retry; /* its key holds another identity: next variant, next round */
} keyed_event;

/*
 * What the batch's two orders sort: a customer key and two unsigned words
 * (the identity key as two big-endian halves, so that integer order is the
 * index's memcmp order; or the time and the position), and the keyed event
 * it stands for. 32 bytes and no pointer to follow: sorting 50,000 of them
 * costs a fraction of sorting the keyed events by reaching into the batch.
 */
typedef struct sort_key {
	int64_t customer_key;
	uint64_t a, b;
	uint32_t index;
} sort_key;

static int compare_sort_keys(const void *pa, const void *pb)
{
	const sort_key *x = pa, *y = pb;

	if (x->customer_key != y->customer_key)
		return x->customer_key < y->customer_key ? -1 : 1;
	if (x->a != y->a)
		return x->a < y->a ? -1 : 1;
	return (x->b > y->b) - (x->b < y->b);
}

static uint64_t be64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* An event found new: appended by event id, then summed into its rollup cell
 * (the event type is read through `pos`). */
typedef struct new_event {
	int64_t customer_key;
	int64_t event_id;
	int64_t cell;
	uint32_t pos;
} new_event;

/* qsort has no context argument: the batch being sorted, one per thread. */
static _Thread_local const scli_event *sort_events;

static int compare_event_ids(const void *a, const void *b)
{
	const new_event *x = a, *y = b;

	return (x->event_id > y->event_id) - (x->event_id < y->event_id);
}

static int compare_cells(const void *a, const void *b)
{
	const new_event *x = a, *y = b;
	const scli_event *ex, *ey;
	int c;

	if (x->customer_key != y->customer_key)
		return x->customer_key < y->customer_key ? -1 : 1;
	if (x->cell != y->cell)
		return x->cell < y->cell ? -1 : 1;
	ex = &sort_events[x->pos];
	ey = &sort_events[y->pos];
	c = memcmp(ex->event_type, ey->event_type,
		   ex->event_type_len < ey->event_type_len ? ex->event_type_len
							   : ey->event_type_len);
	if (c)
		return c;
	return (ex->event_type_len > ey->event_type_len) -
	       (ex->event_type_len < ey->event_type_len);
}

/* The 15-minute floor, toward minus infinity so that pre-1970 events land in
 * the cell that contains them. */
static int64_t cell_floor(int64_t ts_us)
{
	int64_t r = ts_us % CELL_US;

	return ts_us - (r < 0 ? r + CELL_US : r);
}

static int step_done(sqlite3_stmt *st, sqlite3 *db, const char *what)
{
	int error = 0;

	if (sqlite3_step(st) != SQLITE_DONE)
		error = sqlite_repo_error(db, what);
	sqlite3_reset(st);
	return error;
}

/* The customer's key in the dictionary, adding the customer when it is new.
 * Runs under the batch's write lock, so nobody adds it in between. */
static int customer_key(int64_t *key_out, sqlite_repo *s, const scli_event *ev)
{
	sqlite3_stmt *st = s->find_customer;
	int error = 0, rc;

	if (sqlite3_bind_text(st, 1, ev->customer_id, ev->customer_id_len, SQLITE_STATIC)) {
		error = sqlite_repo_error(s->db, "binding a customer id");
		goto done;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*key_out = sqlite3_column_int64(st, 0);
		goto done;
	}
	if (rc != SQLITE_DONE) {
		error = sqlite_repo_error(s->db, "looking up a customer");
		goto done;
	}
	st = s->insert_customer;
	if (sqlite3_bind_text(st, 1, ev->customer_id, ev->customer_id_len, SQLITE_STATIC)) {
		error = sqlite_repo_error(s->db, "binding a customer id");
		goto done;
	}
	if ((error = step_done(st, s->db, "adding a customer")) < 0)
		goto done;
	*key_out = sqlite3_last_insert_rowid(s->db);
done:
	sqlite3_reset(st);
	sqlite3_reset(s->find_customer);
	return error;
}

static uint32_t customer_hash(const scli_event *ev)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	size_t i;

	for (i = 0; i < ev->customer_id_len; i++)
		h = (h ^ (unsigned char)ev->customer_id[i]) * 16777619u;
	return h;
}

static int same_customer(const scli_event *a, const scli_event *b)
{
	return a->customer_id_len == b->customer_id_len &&
	       !memcmp(a->customer_id, b->customer_id, a->customer_id_len);
}

/*
 * Fill keyed[i] (customer key, identity key at variant 0, position) for each of
 * the `kept` distinct events order[] names. A batch holds few customers and the
 * ordered batch has each one's events in long runs, so the dictionary is asked
 * once per customer per batch: a run reuses its predecessor's key, and a small
 * hash table remembers the customers met in this batch.
 */
static int key_events(keyed_event *keyed, sqlite_repo *s, const scli_event *events,
		      const uint32_t *order, size_t kept)
{
	/* slots hold 1 + the index in keyed[] of a customer's first event; 0 is empty */
	uint32_t *slots = NULL;
	size_t cap = 16, i, slot;
	int error = 0;

	while (cap < 2 * kept)
		cap *= 2;
	if (!(slots = scli_calloc(cap, sizeof(*slots)))) {
		error = scli_error_set(SCLI_ENOMEM, "out of memory for a batch's customers");
		goto done;
	}
	for (i = 0; i < kept; i++) {
		const scli_event *ev = &events[order[i]];

		keyed[i].pos = order[i];
		keyed[i].variant = 0;
		keyed[i].retry = false;
		repo_id_key(keyed[i].id_key, &s->secret, ev, 0);
		if (i > 0 && same_customer(ev, &events[keyed[i - 1].pos])) {
			keyed[i].customer_key = keyed[i - 1].customer_key;
			continue;
		}
		for (slot = customer_hash(ev) & (cap - 1); slots[slot];
		     slot = (slot + 1) & (cap - 1))
			if (same_customer(ev, &events[keyed[slots[slot] - 1].pos]))
				break;
		if (slots[slot]) {
			keyed[i].customer_key = keyed[slots[slot] - 1].customer_key;
			continue;
		}
		if ((error = customer_key(&keyed[i].customer_key, s, ev)) < 0)
			goto done;
		slots[slot] = (uint32_t)i + 1;
	}
done:
	scli_free(slots);
	return error;
}

/* What one pass of inserts needs besides the statements: the batch, and its
 * events in event-id order (to tell who holds a key taken in this batch). */
typedef struct batch_ids {
	const scli_event *events;
	int64_t first_id;
	uint32_t *by_id; /* position of the event with id first_id + i */
	sort_key *order; /* room for every keyed event */
	size_t n;
} batch_ids;

/* Give the `kept` keyed events the ids they get if they are new: consecutive
 * from the next free one, in (customer, time) order, so that appending them
 * walks the (customer_key, ts_us) index forward. An event found to be a
 * duplicate leaves its id unused. */
static int assign_event_ids(batch_ids *ids, sqlite_repo *s, keyed_event *keyed, size_t kept)
{
	sqlite3_stmt *st = s->next_event_id;
	size_t i;
	int error = 0;

	if (sqlite3_step(st) != SQLITE_ROW) {
		error = sqlite_repo_error(s->db, "reading the last event id");
		goto done;
	}
	ids->first_id = sqlite3_column_int64(st, 0);
	for (i = 0; i < kept; i++) {
		/* the sign bit flipped: unsigned order is the times' order */
		ids->order[i].customer_key = keyed[i].customer_key;
		ids->order[i].a = (uint64_t)ids->events[keyed[i].pos].ts_us ^ UINT64_C(1) << 63;
		ids->order[i].b = keyed[i].pos;
		ids->order[i].index = (uint32_t)i;
	}
	qsort(ids->order, kept, sizeof(*ids->order), compare_sort_keys);
	for (i = 0; i < kept; i++) {
		keyed_event *k = &keyed[ids->order[i].index];

		k->event_id = ids->first_id + (int64_t)i;
		ids->by_id[i] = k->pos;
	}
	ids->n = kept;
done:
	sqlite3_reset(st);
	return error;
}

/* Who holds the key `k` tried: compare that event's transaction id with k's.
 * *own_out: 1 the same identity (a duplicate), 0 another one (a collision). */
static int key_holder_is_own(int *own_out, sqlite_repo *s, const batch_ids *ids,
			     const keyed_event *k)
{
	sqlite3_stmt *st = s->probe_key;
	const scli_event *ev = &ids->events[k->pos];
	const char *stored;
	size_t len;
	int64_t holder;
	int error = 0, rc;

	*own_out = 0;
	if (sqlite3_bind_int64(st, 1, k->customer_key) ||
	    sqlite3_bind_blob(st, 2, k->id_key, REPO_ID_KEY_BYTES, SQLITE_STATIC)) {
		error = sqlite_repo_error(s->db, "binding an identity key");
		goto done;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		error = rc == SQLITE_DONE
			    ? scli_error_set(SCLI_ERROR, "sqlite: an identity key vanished in the "
							 "batch's own transaction")
			    : sqlite_repo_error(s->db, "probing an identity key");
		goto done;
	}
	holder = sqlite3_column_int64(st, 0);
	if (holder >= ids->first_id && holder - ids->first_id < (int64_t)ids->n) {
		/* taken moments ago by an event of this batch, not appended yet */
		const scli_event *other = &ids->events[ids->by_id[holder - ids->first_id]];

		stored = other->transaction_id;
		len = other->transaction_id_len;
	} else {
		stored = (const char *)sqlite3_column_text(st, 1);
		len = (size_t)sqlite3_column_bytes(st, 1);
		if (!stored) {
			error = sqlite3_errcode(s->db) == SQLITE_NOMEM
				    ? sqlite_repo_error(s->db, "probing an identity key")
				    : scli_error_set(SCLI_ERROR,
						     "sqlite: identity key of a missing event %lld",
						     (long long)holder);
			goto done;
		}
	}
	*own_out = len == ev->transaction_id_len && !memcmp(stored, ev->transaction_id, len);
done:
	sqlite3_reset(st);
	return error;
}

/* Try one event's key; *outcome_out: 1 the key was free (taken now), 0 a
 * duplicate (its own identity holds the key), -1 another identity holds it. */
static int insert_key(int *outcome_out, sqlite_repo *s, const batch_ids *ids, const keyed_event *k)
{
	sqlite3_stmt *st = s->insert_key;
	int error = 0, own;

	*outcome_out = 0;
	/* SQLITE_STATIC: the key outlives the step; no copy needed. */
	if (sqlite3_bind_int64(st, 1, k->customer_key) ||
	    sqlite3_bind_blob(st, 2, k->id_key, REPO_ID_KEY_BYTES, SQLITE_STATIC) ||
	    sqlite3_bind_int64(st, 3, k->event_id)) {
		error = sqlite_repo_error(s->db, "binding an identity key");
		sqlite3_reset(st);
		return error;
	}
	if ((error = step_done(st, s->db, "inserting an identity key")) < 0)
		return error;
	if (sqlite3_changes(s->db) == 1) {
		*outcome_out = 1;
		return 0;
	}
	/* The key is taken: by this identity (a duplicate) or, rarely, another one. */
	if ((error = key_holder_is_own(&own, s, ids, k)) < 0)
		return error;
	*outcome_out = own ? 0 : -1;
	return 0;
}

/*
 * Insert the keys of the `nk` keyed events (distinct identities), appending
 * each new event to fresh[] (*nfresh_out of them). Each round goes through its
 * events in key order; an event whose key holds another identity tries its
 * next variant in the next round, until it meets either its own identity (a
 * duplicate) or a free slot. Slots are never freed, so the first free slot of
 * the chain is where no copy of it can be stored. Two identities of one batch
 * sharing a key are handled the same way: the second meets the first, whose
 * key went in moments before.
 */
static int insert_keys(size_t *nfresh_out, new_event *fresh, sqlite_repo *s, const batch_ids *ids,
		       keyed_event *keyed, size_t nk)
{
	size_t i, next, nfresh = 0;
	int error = 0, outcome;

	while (nk) {
		for (i = 0; i < nk; i++) {
			ids->order[i].customer_key = keyed[i].customer_key;
			ids->order[i].a = be64(keyed[i].id_key);
			ids->order[i].b = be64(keyed[i].id_key + 8);
			ids->order[i].index = (uint32_t)i;
		}
		qsort(ids->order, nk, sizeof(*ids->order), compare_sort_keys);
		for (i = 0; i < nk; i++) {
			keyed_event *k = &keyed[ids->order[i].index];

			if ((error = insert_key(&outcome, s, ids, k)) < 0)
				goto done;
			k->retry = outcome < 0;
			if (outcome > 0) {
				fresh[nfresh].customer_key = k->customer_key;
				fresh[nfresh].event_id = k->event_id;
				fresh[nfresh++].pos = k->pos;
			}
		}
		for (i = next = 0; i < nk; i++) {
			if (!keyed[i].retry)
				continue;
			if (keyed[i].variant == UINT32_MAX) {
				error = scli_error_set(SCLI_ERROR,
						       "sqlite: no free identity key variant");
				goto done;
			}
			keyed[next] = keyed[i];
			keyed[next].variant++;
			repo_id_key(keyed[next].id_key, &s->secret, &ids->events[keyed[next].pos],
				    keyed[next].variant);
			next++;
		}
		nk = next;
	}
done:
	*nfresh_out = nfresh;
	return error;
}

/* Append the new events in event-id order: (customer, time). */
static int append_events(sqlite_repo *s, const scli_event *events, new_event *fresh, size_t nfresh)
{
	sqlite3_stmt *st = s->append_event;
	size_t i;
	int error = 0;

	qsort(fresh, nfresh, sizeof(*fresh), compare_event_ids);
	for (i = 0; i < nfresh && !error; i++) {
		const scli_event *ev = &events[fresh[i].pos];

		if (sqlite3_bind_int64(st, 1, fresh[i].event_id) ||
		    sqlite3_bind_int64(st, 2, fresh[i].customer_key) ||
		    sqlite3_bind_text(st, 3, ev->transaction_id, ev->transaction_id_len,
				      SQLITE_STATIC) ||
		    sqlite3_bind_text(st, 4, ev->event_type, ev->event_type_len, SQLITE_STATIC) ||
		    sqlite3_bind_int64(st, 5, ev->ts_us)) {
			error = sqlite_repo_error(s->db, "binding an event");
			sqlite3_reset(st);
		} else {
			error = step_done(st, s->db, "appending an event");
		}
	}
	return error;
}

static int prepare_store(sqlite_repo *s)
{
	int error;

	if ((error = sqlite_repo_prepare(&s->insert_key, s->db, INSERT_KEY_SQL)) < 0 ||
	    (error = sqlite_repo_prepare(&s->append_event, s->db, APPEND_EVENT_SQL)) < 0 ||
	    (error = sqlite_repo_prepare(&s->next_event_id, s->db, NEXT_EVENT_ID_SQL)) < 0 ||
	    (error = sqlite_repo_prepare(&s->probe_key, s->db, PROBE_KEY_SQL)) < 0 ||
	    (error = sqlite_repo_prepare(&s->find_customer, s->db, FIND_CUSTOMER_SQL)) < 0 ||
	    (error = sqlite_repo_prepare(&s->insert_customer, s->db, INSERT_CUSTOMER_SQL)) < 0)
		return error;
	return sqlite_repo_load_secret(s);
}

/* A batch's working memory, room for n events each. */
typedef struct batch_work {
	uint32_t *order;
	uint32_t *by_id;
	sort_key *sort;
	keyed_event *keyed;
	new_event *fresh;
} batch_work;

static int batch_work_alloc(batch_work *w, size_t n)
{
	memset(w, 0, sizeof(*w));
	if (!(w->order = scli_malloc(n * sizeof(*w->order))) ||
	    !(w->by_id = scli_malloc(n * sizeof(*w->by_id))) ||
	    !(w->sort = scli_malloc(n * sizeof(*w->sort))) ||
	    !(w->keyed = scli_malloc(n * sizeof(*w->keyed))) ||
	    !(w->fresh = scli_malloc(n * sizeof(*w->fresh))))
		return scli_error_set(SCLI_ENOMEM, "out of memory for a batch of %zu events", n);
	return 0;
}

static void batch_work_free(batch_work *w)
{
	scli_free(w->order);
	scli_free(w->by_id);
	scli_free(w->sort);
	scli_free(w->keyed);
	scli_free(w->fresh);
}

/* Store the `kept` distinct events w->order names, inside the caller's
 * transaction; the new ones end in w->fresh (*nfresh_out of them), in event-id
 * order. */
static int store_distinct(size_t *nfresh_out, batch_work *w, sqlite_repo *s,
			  const scli_event *events, size_t kept)
{
	batch_ids ids = {.events = events, .by_id = w->by_id, .order = w->sort};
	int error;

	*nfresh_out = 0;
	if (!kept)
		return 0;
	if ((error = key_events(w->keyed, s, events, w->order, kept)) < 0 ||
	    (error = assign_event_ids(&ids, s, w->keyed, kept)) < 0 ||
	    (error = insert_keys(nfresh_out, w->fresh, s, &ids, w->keyed, kept)) < 0)
		return error;
	return append_events(s, events, w->fresh, *nfresh_out);
}

int sqlite_repo_store_events(size_t *inserted_out, sqlite_repo *s, const scli_event *events,
			     size_t n)
{
	batch_work w = {0};
	size_t i;
	int error = 0;

	*inserted_out = 0;
	if (!n)
		goto done;
	if ((error = prepare_store(s)) < 0 || (error = batch_work_alloc(&w, n)) < 0)
		goto done;
	for (i = 0; i < n; i++)
		w.order[i] = (uint32_t)i;
	error = store_distinct(inserted_out, &w, s, events, n);
done:
	batch_work_free(&w);
	return error;
}

/* Add the `nfresh` new events to the rollup: summed per (customer, cell, event
 * type) in C, then one upsert per cell rather than one per event. */
static int update_rollup(sqlite_repo *s, const scli_event *events, new_event *fresh, size_t nfresh)
{
	sqlite3_stmt *st = s->upsert_rollup;
	size_t i, j;
	int error = 0;

	for (i = 0; i < nfresh; i++)
		fresh[i].cell = cell_floor(events[fresh[i].pos].ts_us);
	sort_events = events;
	qsort(fresh, nfresh, sizeof(*fresh), compare_cells);
	for (i = 0; i < nfresh; i = j) {
		const scli_event *ev = &events[fresh[i].pos];

		for (j = i + 1; j < nfresh && !compare_cells(&fresh[i], &fresh[j]); j++)
			;
		if (sqlite3_bind_int64(st, 1, fresh[i].customer_key) ||
		    sqlite3_bind_int64(st, 2, fresh[i].cell) ||
		    sqlite3_bind_text(st, 3, ev->event_type, ev->event_type_len, SQLITE_STATIC) ||
		    sqlite3_bind_int64(st, 4, (sqlite3_int64)(j - i))) {
			error = sqlite_repo_error(s->db, "binding a rollup cell");
			sqlite3_reset(st);
			break;
		}
		if ((error = step_done(st, s->db, "updating the rollup")) < 0)
			break;
	}
	sort_events = NULL;
	return error;
}

/* Whether scli_batches holds `digest`: the whole batch is stored already. */
static int batch_stored(int *stored_out, sqlite_repo *s,
			const unsigned char digest[REPO_BATCH_DIGEST_BYTES])
{
	sqlite3_stmt *st = s->find_batch;
	int error = 0, rc;

	*stored_out = 0;
	if (sqlite3_bind_blob(st, 1, digest, REPO_BATCH_DIGEST_BYTES, SQLITE_STATIC)) {
		error = sqlite_repo_error(s->db, "binding a batch digest");
		goto done;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*stored_out = 1;
	else if (rc != SQLITE_DONE)
		error = sqlite_repo_error(s->db, "looking up a batch");
done:
	sqlite3_reset(st);
	return error;
}

static int record_batch(sqlite_repo *s, const unsigned char digest[REPO_BATCH_DIGEST_BYTES],
			size_t n, size_t inserted)
{
	sqlite3_stmt *st = s->insert_batch;
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	if (sqlite3_bind_blob(st, 1, digest, REPO_BATCH_DIGEST_BYTES, SQLITE_STATIC) ||
	    sqlite3_bind_int64(st, 2, (sqlite3_int64)n) ||
	    sqlite3_bind_int64(st, 3, (sqlite3_int64)inserted) ||
	    sqlite3_bind_int64(st, 4, (sqlite3_int64)now.tv_sec * 1000000 + now.tv_nsec / 1000)) {
		sqlite3_reset(st);
		return sqlite_repo_error(s->db, "binding a batch");
	}
	return step_done(st, s->db, "recording a batch");
}

int sqlite_repo_store_batch(size_t *inserted_out, size_t *duplicates_out, scli_repo *r,
			    const scli_event *events, size_t n)
{
	sqlite_repo *s = (sqlite_repo *)r;
	unsigned char digest[REPO_BATCH_DIGEST_BYTES];
	batch_work w = {0};
	size_t kept = 0, nfresh = 0;
	int error = 0, stored;

	*inserted_out = *duplicates_out = 0;
	if (!n)
		goto done;
	if ((error = prepare_store(s)) < 0 ||
	    (error = sqlite_repo_prepare(&s->upsert_rollup, s->db, UPSERT_ROLLUP_SQL)) < 0 ||
	    (error = sqlite_repo_prepare(&s->find_batch, s->db, FIND_BATCH_SQL)) < 0 ||
	    (error = sqlite_repo_prepare(&s->insert_batch, s->db, INSERT_BATCH_SQL)) < 0 ||
	    (error = batch_work_alloc(&w, n)) < 0)
		goto done;
	/* The digest covers the batch as handed in (all n events, file order). */
	if ((error = repo_batch_digest(digest, &s->secret, events, n)) < 0)
		goto done;
	/* Copies of one identity inside the batch are dropped here, the first one
	 * in the file kept. */
	if ((error = scli_events_order_unique(&kept, w.order, events, n)) < 0)
		goto done;
	/* IMMEDIATE takes the write lock now, so a concurrent load waits here (busy
	 * timeout) rather than failing later on a lock upgrade, and the digest
	 * checked next cannot be recorded by another loader before this commits. */
	if ((error = sqlite_repo_exec(s->db, "BEGIN IMMEDIATE", "starting a batch")) < 0 ||
	    (error = batch_stored(&stored, s, digest)) < 0)
		goto done;
	if (stored) {
		/* A killed load's committed batch, or the same file again. */
		if ((error = sqlite_repo_exec(s->db, "ROLLBACK", "skipping a stored batch")) < 0)
			goto done;
		*duplicates_out = n;
		goto done;
	}
	if ((error = store_distinct(&nfresh, &w, s, events, kept)) < 0 ||
	    (error = update_rollup(s, events, w.fresh, nfresh)) < 0 ||
	    (error = record_batch(s, digest, n, nfresh)) < 0 ||
	    (error = sqlite_repo_exec(s->db, "COMMIT", "committing a batch")) < 0)
		goto done;
	*inserted_out = nfresh;
	*duplicates_out = n - nfresh;
done:
	if (error < 0)
		sqlite_repo_rollback(s->db);
	batch_work_free(&w);
	return error;
}
