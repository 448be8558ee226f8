/*
 * Storing a batch in PostgreSQL (schema 4): the batch is ordered and
 * deduplicated in the client, its customers resolved to their dictionary keys,
 * each event given its keyed identity key (repo_id_key) and the batch ordered by
 * (customer_key, id_key), so the identity index is walked forward. Under the
 * merge lock a batch whose digest scli_batches holds is skipped whole; any other
 * is sent by binary COPY into a session-private staging table and merged by one
 * statement that inserts the new events and adds exactly those to the rollup;
 * over two connections at once when asked (see store_links). The merges of
 * loads running at once take turns on an advisory lock, and rollup rows are
 * upserted in key order, so they can neither count an event twice nor deadlock.
 */
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "adapters/postgres/pg_internal.h"
#include "scli/alloc.h"
#include "scli/bucket.h"
#include "scli/timestamp.h"

/* The rollup's cell: 15 minutes, so that a window in any real UTC offset (all
 * multiples of 15 minutes) is whole cells. */
#define PG_CELL_US (INT64_C(15) * 60 * SCLI_US_PER_SECOND)

/* Variants an identity may try before its store fails (see store_rounds). */
#define PG_MAX_VARIANT 64

static const char stage_sql[] =
    "CREATE TEMP TABLE IF NOT EXISTS scli_stage ("
    "  ord int NOT NULL, customer_key int NOT NULL, id_key uuid NOT NULL,"
    "  transaction_id text COLLATE \"C\" NOT NULL, event_type text COLLATE \"C\" NOT NULL,"
    "  ts timestamptz NOT NULL, cell timestamptz NOT NULL) ON COMMIT DELETE ROWS";

/*
 * The staged events arrive distinct, each key once, in (customer_key, id_key)
 * order, so the server sorts nothing: it probes the identity key for each one
 * in key order and inserts the new ones with a plain INSERT. That is cheaper than
 * ON CONFLICT's speculative insertion, and exact because merges are serialised
 * by an advisory lock (merge_begin_sql): no other loader can insert between the
 * probe and the insert. Were one to do so anyway (an older scli), the primary
 * key rejects the batch; nothing is counted twice.
 *
 * A stored row with the same key and another transaction id is a collision, not
 * a duplicate: its `ord` comes back, and the client moves that event to the next
 * variant of its key (store_rounds). The probe is materialised once: the insert,
 * the rollup and the result read it.
 */
#define MERGE_PROBE                                                                                \
	"WITH p AS MATERIALIZED ("                                                                 \
	"  SELECT s.ord, s.customer_key, s.id_key, s.transaction_id, s.event_type, s.ts, s.cell,"  \
	"   e.transaction_id AS had FROM scli_stage s LEFT JOIN scli_events e"                     \
	"   ON e.customer_key = s.customer_key AND e.id_key = s.id_key),"                          \
	" ins AS (INSERT INTO scli_events (customer_key, id_key, transaction_id, event_type, ts)"  \
	"  SELECT customer_key, id_key, transaction_id, event_type, ts FROM p WHERE had IS NULL)"
#define MERGE_RESULT                                                                               \
	" SELECT count(*) FILTER (WHERE had IS NULL)::int8,"                                       \
	" coalesce(array_agg(ord) FILTER (WHERE had <> transaction_id), '{}') FROM p"
static const char merge_sql[] =
    MERGE_PROBE ","
    " up AS (INSERT INTO scli_rollup AS r (customer_key, cell, event_type, count)"
    "  SELECT customer_key, cell, event_type, count(*) FROM p WHERE had IS NULL"
    "  GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    "  ON CONFLICT (customer_key, cell, event_type) DO UPDATE SET count = r.count + EXCLUDED.count)"
    MERGE_RESULT;
/* init-db's upgrade rebuilds the rollup from the events afterwards, in one statement. */
static const char merge_bare_sql[] = MERGE_PROBE MERGE_RESULT;

/* The per-batch ledger: looked up under the merge lock, written before COMMIT. */
static const char batch_seen_sql[] = "SELECT 1 FROM scli_batches WHERE digest = $1";
static const char batch_done_sql[] =
    "INSERT INTO scli_batches (digest, events, inserted) VALUES ($1, $2::int8, $3::int8)";

/* The customer dictionary: the batch's distinct customer ids as a binary text[]. */
static const char customers_find_sql[] =
    "SELECT u.i::int4, c.customer_key FROM unnest($1::text[]) WITH ORDINALITY AS u(id, i)"
    " JOIN scli_customers c ON c.customer_id = u.id COLLATE \"C\"";
/* In id order, so two loaders adding the same new customers lock them in one order. */
static const char customers_add_sql[] =
    "INSERT INTO scli_customers (customer_id)"
    " SELECT DISTINCT id COLLATE \"C\" FROM unnest($1::text[]) AS u(id) ORDER BY 1"
    " ON CONFLICT (customer_id) DO NOTHING";

/*
 * Each batch's transaction: the merge lock first (held to COMMIT; a second
 * loader waits here, then its merge sees what the first one committed), index
 * probes rather than a hash join that would read all of scli_events per batch
 * (the staging table has no statistics), and room to aggregate a batch in memory.
 */
#define MERGE_SETTINGS                                                                             \
	" SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off;"                      \
	" SET LOCAL work_mem = '64MB'"
static const char merge_begin_sql[] =
    "BEGIN; SELECT pg_advisory_xact_lock(5316628);" MERGE_SETTINGS;
/* With two connections (see store_links): lock waits after the merge lock bounded. */
#define LOCK_TIMEOUT " SET LOCAL lock_timeout = '5s';"
static const char merge_begin_bounded_sql[] =
    "BEGIN; SELECT pg_advisory_xact_lock(5316628);" LOCK_TIMEOUT MERGE_SETTINGS;
/* The second connection's share of a batch, begun once the first holds the lock. */
static const char merge_join_sql[] = "BEGIN;" LOCK_TIMEOUT MERGE_SETTINGS;

/* Staging table and load statements, once per session (not inside a batch's transaction). */
static int pg_prepare_load(pg_repo *r, int link)
{
	PGconn *conn = r->load[link];
	int error;

	if (r->load_prepared[link])
		return 0;
	if ((error = pg_repo_exec_on(r, conn, stage_sql, "creating the staging table")) < 0 ||
	    (error = pg_repo_prepare_on(r, conn, "scli_merge", merge_sql,
					"preparing the load statement")) < 0)
		return error;
	if (link == 0 &&
	    ((error = pg_repo_prepare_on(r, conn, "scli_batch_seen", batch_seen_sql,
					 "preparing the load statement")) < 0 ||
	     (error = pg_repo_prepare_on(r, conn, "scli_batch_done", batch_done_sql,
					 "preparing the load statement")) < 0))
		return error;
	r->load_prepared[link] = true;
	return 0;
}

/* Binary COPY: big-endian integers, text fields as raw bytes, timestamptz as
 * microseconds since 2000-01-01, uuid as its 16 bytes — the server parses
 * nothing, and needs no escaping. */
static char *put_be(char *p, uint64_t v, int bytes)
{
	int i;

	for (i = bytes - 1; i >= 0; i--)
		*p++ = (char)(v >> (8 * i) & 0xff);
	return p;
}

static char *put_bin_text(char *p, const char *s, size_t len)
{
	p = put_be(p, len, 4);
	memcpy(p, s, len);
	return p + len;
}

/* The 15-minute UTC floor of `ts_us` (also before 1970). */
static int64_t cell_of(int64_t ts_us)
{
	int64_t rem = ts_us % PG_CELL_US;

	return ts_us - (rem < 0 ? rem + PG_CELL_US : rem);
}

static int copy_room(pg_repo *r, size_t need)
{
	char *buf;

	if (need <= r->copycap)
		return 0;
	if (!(buf = scli_realloc(r->copybuf, need)))
		return scli_error_set(SCLI_ENOMEM, "out of memory building a COPY batch");
	r->copybuf = buf;
	r->copycap = need;
	return 0;
}

static int build_copy(size_t *len_out, pg_repo *r, const scli_event *events, const pg_keyed *list,
		      size_t n)
{
	static const char signature[11] = "PGCOPY\n\377\r\n";
	size_t need = 19 + 2 +
		      n * (2 + 7 * 4 + 4 + 4 + REPO_ID_KEY_BYTES + 8 + 8 + SCLI_TRANSACTION_ID_MAX +
			   SCLI_EVENT_TYPE_MAX);
	size_t i;
	char *p;
	int error;

	if ((error = copy_room(r, need)) < 0)
		return error;
	p = r->copybuf;
	memcpy(p, signature, sizeof(signature)); /* includes the trailing NUL byte */
	p = put_be(p + sizeof(signature), 0, 4); /* flags */
	p = put_be(p, 0, 4);			 /* header extension length */
	for (i = 0; i < n; i++) {
		const scli_event *ev = &events[list[i].ev];

		p = put_be(p, 7, 2);
		p = put_be(put_be(p, 4, 4), list[i].ev, 4);
		p = put_be(put_be(p, 4, 4), (uint32_t)list[i].customer_key, 4);
		p = put_be(p, REPO_ID_KEY_BYTES, 4);
		memcpy(p, list[i].key, REPO_ID_KEY_BYTES);
		p += REPO_ID_KEY_BYTES;
		p = put_bin_text(p, ev->transaction_id, ev->transaction_id_len);
		p = put_bin_text(p, ev->event_type, ev->event_type_len);
		p = put_be(put_be(p, 8, 4), (uint64_t)(ev->ts_us - PG_EPOCH_OFFSET_US), 8);
		p = put_be(put_be(p, 8, 4), (uint64_t)(cell_of(ev->ts_us) - PG_EPOCH_OFFSET_US), 8);
	}
	p = put_be(p, 0xffff, 2); /* trailer: -1 */
	*len_out = (size_t)(p - r->copybuf);
	return 0;
}

static int pg_copy(pg_repo *r, PGconn *conn, size_t len)
{
	PGresult *res = PQexec(conn, "COPY scli_stage (ord, customer_key, id_key, transaction_id,"
				     " event_type, ts, cell) FROM STDIN (FORMAT binary)");
	size_t off = 0;
	int error = 0;

	if (PQresultStatus(res) != PGRES_COPY_IN) {
		error = pg_repo_fail_on(r, conn, res, "starting COPY");
		PQclear(res);
		return error;
	}
	PQclear(res);
	while (off < len) {
		size_t chunk = len - off > (1 << 20) ? (1 << 20) : len - off;

		if (PQputCopyData(conn, r->copybuf + off, (int)chunk) != 1) {
			error = pg_repo_fail_on(r, conn, NULL, "sending COPY data");
			break;
		}
		off += chunk;
	}
	if (PQputCopyEnd(conn, error < 0 ? "aborted" : NULL) != 1 && error == 0)
		error = pg_repo_fail_on(r, conn, NULL, "ending COPY");
	while ((res = PQgetResult(conn))) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && error == 0)
			error = pg_repo_fail_on(r, conn, res, "COPY into the staging table");
		PQclear(res);
	}
	return error;
}

/* Room for one batch: its order, its keyed events (the batch, each link's share
 * or one round's, and the next round's), and a collision mark per event. */
static int batch_room(pg_repo *r, size_t n)
{
	if (n > r->ordercap) {
		uint32_t *order = n > SIZE_MAX / sizeof(*order)
				      ? NULL
				      : scli_realloc(r->order, n * sizeof(*order));

		if (!order)
			return scli_error_set(SCLI_ENOMEM, "out of memory ordering a batch");
		r->order = order;
		r->ordercap = n;
	}
	if (n > r->keyedcap) {
		pg_keyed *keyed = n > SIZE_MAX / (3 * sizeof(*keyed))
				      ? NULL
				      : scli_realloc(r->keyed, 3 * n * sizeof(*keyed));

		if (!keyed)
			return scli_error_set(SCLI_ENOMEM, "out of memory keying a batch");
		r->keyed = keyed;
		r->keyedcap = n;
	}
	if (n > r->collidedcap) {
		unsigned char *collided = scli_realloc(r->collided, n);

		if (!collided)
			return scli_error_set(SCLI_ENOMEM, "out of memory keying a batch");
		r->collided = collided;
		r->collidedcap = n;
	}
	return 0;
}

/* (customer_key, id_key): the identity index's order. */
static int keyed_cmp(const void *pa, const void *pb)
{
	const pg_keyed *a = pa, *b = pb;

	if (a->customer_key != b->customer_key)
		return a->customer_key < b->customer_key ? -1 : 1;
	return repo_id_key_cmp(a->key, b->key);
}

/* ---- the customer dictionary ------------------------------------------------------------ */

/* Distinct customer ids of a batch, by an open-addressing table over the events. */
typedef struct customer_set {
	uint32_t *slot;	 /* 0 = empty, else distinct index + 1 */
	uint32_t *first; /* per distinct id: an event that carries it */
	int32_t *key;	 /* per distinct id: its customer_key, -1 until resolved */
	uint32_t *which; /* per keyed event: its distinct id */
	size_t mask, n;
} customer_set;

static bool same_customer(const scli_event *a, const scli_event *b)
{
	return a->customer_id_len == b->customer_id_len &&
	       !memcmp(a->customer_id, b->customer_id, a->customer_id_len);
}

static int customer_set_make(customer_set *set, const scli_event *events, const pg_keyed *keyed,
			     size_t kept)
{
	size_t cap = 16, i;

	while (cap < 2 * kept)
		cap *= 2;
	memset(set, 0, sizeof(*set));
	set->slot = scli_calloc(cap, sizeof(*set->slot));
	set->first = scli_malloc(kept * sizeof(*set->first));
	set->key = scli_malloc(kept * sizeof(*set->key));
	set->which = scli_malloc(kept * sizeof(*set->which));
	if (!set->slot || !set->first || !set->key || !set->which)
		return scli_error_set(SCLI_ENOMEM, "out of memory resolving customers");
	set->mask = cap - 1;
	for (i = 0; i < kept; i++) {
		const scli_event *ev = &events[keyed[i].ev];
		size_t h = (size_t)XXH3_64bits(ev->customer_id, ev->customer_id_len) & set->mask;

		/* batches are grouped by customer: most events repeat the one before */
		if (i > 0 && same_customer(ev, &events[keyed[i - 1].ev])) {
			set->which[i] = set->which[i - 1];
			continue;
		}
		while (set->slot[h] && !same_customer(ev, &events[set->first[set->slot[h] - 1]]))
			h = (h + 1) & set->mask;
		if (!set->slot[h]) {
			set->first[set->n] = keyed[i].ev;
			set->key[set->n] = -1;
			set->slot[h] = (uint32_t)++set->n;
		}
		set->which[i] = set->slot[h] - 1;
	}
	return 0;
}

static void customer_set_free(customer_set *set)
{
	scli_free(set->slot);
	scli_free(set->first);
	scli_free(set->key);
	scli_free(set->which);
}

/* The distinct ids still without a key as a binary text[] into r->copybuf; their
 * indexes in `idx` (1-based positions in the array). */
static int customers_array(size_t *len_out, size_t *count_out, uint32_t *idx, pg_repo *r,
			   const scli_event *events, const customer_set *set)
{
	size_t need = 20 + set->n * (4 + SCLI_CUSTOMER_ID_MAX), count = 0, i;
	char *p;
	int error;

	if ((error = copy_room(r, need)) < 0)
		return error;
	p = r->copybuf + 20;
	for (i = 0; i < set->n; i++) {
		const scli_event *ev = &events[set->first[i]];

		if (set->key[i] >= 0)
			continue;
		idx[count++] = (uint32_t)i;
		p = put_bin_text(p, ev->customer_id, ev->customer_id_len);
	}
	/* one dimension, no NULLs, element type text (OID 25), lower bound 1 */
	put_be(put_be(put_be(put_be(put_be(r->copybuf, 1, 4), 0, 4), 25, 4), count, 4), 1, 4);
	*len_out = (size_t)(p - r->copybuf);
	*count_out = count;
	return 0;
}

/* Ask for the keys of the ids still without one; `add` first inserts them. */
static int customers_ask(pg_repo *r, const scli_event *events, customer_set *set, uint32_t *idx,
			 bool add)
{
	static const Oid types[1] = {1009}; /* text[] */
	static const int formats[1] = {1};
	size_t len = 0, count = 0;
	const char *values[1];
	int lengths[1], error, i, rows;
	PGresult *res;

	if ((error = customers_array(&len, &count, idx, r, events, set)) < 0)
		return error;
	if (count == 0)
		return 0;
	values[0] = r->copybuf;
	lengths[0] = (int)len;
	if (add) {
		res = PQexecParams(r->conn, customers_add_sql, 1, types, values, lengths, formats, 0);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			error = pg_repo_fail(r, res, "adding customers");
		PQclear(res);
		if (error < 0)
			return error;
	}
	res = PQexecParams(r->conn, customers_find_sql, 1, types, values, lengths, formats, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		error = pg_repo_fail(r, res, "looking up customers");
		PQclear(res);
		return error;
	}
	rows = PQntuples(res);
	for (i = 0; i < rows; i++) {
		long pos = strtol(PQgetvalue(res, i, 0), NULL, 10);

		if (pos >= 1 && (size_t)pos <= count)
			set->key[idx[pos - 1]] = (int32_t)strtol(PQgetvalue(res, i, 1), NULL, 10);
	}
	PQclear(res);
	return 0;
}

/*
 * Each distinct event's customer_key, from the dictionary. Outside the batch's
 * transaction, each statement committed on its own: a customer added stays
 * (the dictionary only grows), and a loader adding the same new customer at the
 * same time waits on the unique index, then finds it in the second lookup.
 */
static int resolve_customers(pg_repo *r, const scli_event *events, pg_keyed *keyed, size_t kept)
{
	customer_set set;
	uint32_t *idx = NULL;
	size_t i;
	int error;

	if ((error = customer_set_make(&set, events, keyed, kept)) < 0)
		goto done;
	if (!(idx = scli_malloc((set.n ? set.n : 1) * sizeof(*idx)))) {
		error = scli_error_set(SCLI_ENOMEM, "out of memory resolving customers");
		goto done;
	}
	if ((error = customers_ask(r, events, &set, idx, false)) < 0 ||
	    (error = customers_ask(r, events, &set, idx, true)) < 0)
		goto done;
	for (i = 0; i < set.n; i++)
		if (set.key[i] < 0) {
			error = scli_error_set(SCLI_ERROR, "postgres: a customer was not added to "
							   "scli_customers");
			goto done;
		}
	for (i = 0; i < kept; i++)
		keyed[i].customer_key = set.key[set.which[i]];
done:
	customer_set_free(&set);
	scli_free(idx);
	return error;
}

/* ---- merging ------------------------------------------------------------------------------ */

/*
 * The result of a merge: the events inserted, and each one whose key another
 * identity holds marked in r->collided. Collect every result sent, even after a
 * failure, so the connection is idle.
 */
static int merge_result(size_t *inserted, size_t *collisions, pg_repo *r, PGconn *conn, int error)
{
	PGresult *res;

	while ((res = PQgetResult(conn))) {
		if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
		    PQnfields(res) == 2) {
			const char *p = PQgetvalue(res, 0, 1);
			char *end;

			*inserted += (size_t)strtoull(PQgetvalue(res, 0, 0), NULL, 10);
			while (*p && *p != '}') { /* "{3,17}": the stage's ord, an event's position */
				unsigned long ord = strtoul(p + 1, &end, 10);

				if (end == p + 1)
					break;
				if (ord < r->collidedcap && !r->collided[ord]) {
					r->collided[ord] = 1;
					++*collisions;
				}
				p = end;
			}
		} else if (error == 0) {
			error = pg_repo_fail_on(r, conn, res, "storing a batch");
		}
		PQclear(res);
	}
	return error;
}

/* COPY `list` into the link's staging table and send the merge (not waiting for it). */
static int merge_send(pg_repo *r, PGconn *conn, const scli_event *events, const pg_keyed *list,
		      size_t n, bool prepared)
{
	size_t len = 0;
	int error;

	if ((error = build_copy(&len, r, events, list, n)) < 0 ||
	    (error = pg_copy(r, conn, len)) < 0)
		return error;
	if (!(prepared ? PQsendQueryPrepared(conn, "scli_merge", 0, NULL, NULL, NULL, 0)
		       : PQsendQueryParams(conn, merge_bare_sql, 0, NULL, NULL, NULL, NULL, 0)))
		return pg_repo_fail_on(r, conn, NULL, "storing a batch");
	return 0;
}

/*
 * Identity collisions (the rule that does not bend: a key match whose texts
 * differ is never merged). `pending` (sorted by key) is stored in rounds on one
 * connection inside its transaction: each round takes one event per key (a
 * second event of the batch with the same key waits for the next round, where it
 * meets the first as a stored row), and an event whose key another identity
 * already holds moves to the next variant of its key for the next round, until
 * it finds its own row (a duplicate) or a free slot. Slots are never freed, so
 * every identity always probes the same variants in the same order: exact. With
 * 128-bit keys a second round never happens outside tests.
 */
static int store_rounds(size_t *inserted_out, pg_repo *r, PGconn *conn, const scli_event *events,
			pg_keyed *pending, size_t n, bool prepared, bool stage_dirty)
{
	pg_keyed *round = pending + r->keyedcap, *next = round + r->keyedcap;
	size_t inserted = 0, count, later, collisions, i;
	int error = 0;

	while (n > 0) {
		count = later = collisions = 0;
		for (i = 0; i < n; i++)
			if (i > 0 && !keyed_cmp(&pending[i], &pending[i - 1]))
				next[later++] = pending[i];
			else
				round[count++] = pending[i];
		if (stage_dirty &&
		    (error = pg_repo_exec_on(r, conn, "TRUNCATE scli_stage", "storing a batch")) < 0)
			break;
		stage_dirty = true;
		error = merge_send(r, conn, events, round, count, prepared);
		if ((error = merge_result(&inserted, &collisions, r, conn, error)) < 0)
			break;
		for (i = 0; collisions > 0 && i < count; i++)
			if (r->collided[round[i].ev]) {
				r->collided[round[i].ev] = 0;
				/* 128-bit keys never get here; a key function that cannot
				 * separate two identities must not loop for ever */
				if (++round[i].variant > PG_MAX_VARIANT) {
					error = scli_error_set(SCLI_ERROR,
							       "postgres: identity keys still "
							       "collide after %d variants",
							       PG_MAX_VARIANT);
					break;
				}
				repo_id_key(round[i].key, &r->secret, &events[round[i].ev],
					    round[i].variant);
				next[later++] = round[i];
			}
		if (error < 0)
			break;
		memcpy(pending, next, later * sizeof(*next));
		qsort(pending, later, sizeof(*pending), keyed_cmp);
		n = later;
	}
	*inserted_out += inserted;
	return error;
}

int pg_repo_store_keyed(size_t *inserted_out, pg_repo *r, const scli_event *events,
			pg_keyed *keyed, size_t n)
{
	int error;

	*inserted_out = 0;
	if (keyed != r->keyed || n > r->keyedcap || n > r->collidedcap)
		return scli_error_set(SCLI_EINVALID, "postgres: keyed events outside the batch room");
	memset(r->collided, 0, n);
	/* in the caller's transaction: a staging table made here goes if it rolls back */
	if ((error = pg_repo_exec(r, stage_sql, "creating the staging table")) < 0)
		return error;
	qsort(keyed, n, sizeof(*keyed), keyed_cmp);
	return store_rounds(inserted_out, r, r->conn, events, keyed, n, false, true);
}

/* Room for `n` keyed events in r->keyed (init-db's upgrade fills them itself). */
int pg_repo_keyed_room(pg_repo *r, size_t n)
{
	return batch_room(r, n);
}

/*
 * Which load connection stores an event: a hash of (customer_key, cell), so the
 * two never write the same rollup row (nor, as a batch holds each identity and
 * each key once, the same event), and one heavy customer is still spread over both.
 */
static int link_of(const pg_keyed *k, const scli_event *ev)
{
	return (int)(XXH3_64bits_withSeed(&k->customer_key, sizeof(k->customer_key),
					  (XXH64_hash_t)cell_of(ev->ts_us)) &
		     1);
}

/* The second load connection, opened by the first batch that needs it. */
static int pg_open_link(pg_repo *r)
{
	int error;

	if (r->load[1])
		return 0;
	r->load[1] = PQconnectdb(r->conninfo);
	if (!r->load[1] || PQstatus(r->load[1]) != CONNECTION_OK)
		error = pg_repo_fail_on(r, r->load[1], NULL, "opening a second load connection");
	else
		error = pg_repo_session_start(r, r->load[1]);
	if (error < 0) {
		PQfinish(r->load[1]);
		r->load[1] = NULL;
		r->load_prepared[1] = false;
	}
	return error;
}

/* Whether the batch's digest is in scli_batches (asked under the merge lock). */
static int batch_seen(bool *seen, pg_repo *r, const unsigned char *digest)
{
	const char *values[1] = {(const char *)digest};
	const int lengths[1] = {REPO_BATCH_DIGEST_BYTES}, formats[1] = {1};
	PGresult *res =
	    PQexecPrepared(r->load[0], "scli_batch_seen", 1, values, lengths, formats, 0);
	int error = 0;

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		error = pg_repo_fail_on(r, r->load[0], res, "looking up a batch");
	else
		*seen = PQntuples(res) > 0;
	PQclear(res);
	return error;
}

static int batch_record(pg_repo *r, const unsigned char *digest, size_t n, size_t inserted)
{
	char events[24], ins[24];
	const char *values[3] = {(const char *)digest, events, ins};
	const int lengths[3] = {REPO_BATCH_DIGEST_BYTES, 0, 0}, formats[3] = {1, 0, 0};
	PGresult *res;
	int error = 0;

	snprintf(events, sizeof(events), "%zu", n);
	snprintf(ins, sizeof(ins), "%zu", inserted);
	res = PQexecPrepared(r->load[0], "scli_batch_done", 3, values, lengths, formats, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		error = pg_repo_fail_on(r, r->load[0], res, "recording a batch");
	PQclear(res);
	return error;
}

/* One batch on its way: its keyed distinct events and its digest. */
typedef struct pg_batch {
	const scli_event *events;
	size_t n;    /* events handed in */
	size_t kept; /* distinct ones, keyed in r->keyed */
	bool clash;  /* two of them share a key: stored in rounds, over one connection */
	unsigned char digest[REPO_BATCH_DIGEST_BYTES];
} pg_batch;

/*
 * A batch over two connections (two server processes, so both cores work): the
 * distinct events are split by link_of, each share is COPYed and merged in its
 * own transaction, and the two merges run at the same time. Connection 0 takes
 * the merge lock before connection 1 begins, looks the batch's digest up, and
 * commits last (with the digest row), so the next loader (waiting for the lock)
 * sees both halves and the digest only when both are there. Either merge failing
 * rolls both back. Only a connection lost (or the process killed) between the
 * two COMMITs can leave half a batch stored — complete (events with their
 * rollup), without its digest, and finished exactly by running the load again.
 *
 * While the client waits for one connection, the other may sit idle in its
 * transaction; should a third session then queue for a table lock behind it
 * (DDL, LOCK TABLE) and the first connection queue behind that session, no
 * server would see the cycle. So in this mode every lock wait after the merge
 * lock is bounded (lock_timeout), and a batch that times out is rolled back and
 * stored again over one connection, where a wait is only a wait. So is a batch
 * in which a key collision shows: its rounds need one transaction that sees
 * every row the batch stored.
 */
static int store_links(size_t *inserted_out, bool *skipped, bool *again, pg_repo *r,
		       const pg_batch *b, bool two)
{
	size_t count[2] = {0, 0}, inserted = 0, collisions = 0, i;
	pg_keyed *part[2];
	bool used[2] = {true, false}, sent[2] = {false, false}, seen = false;
	int error = 0, l;

	*skipped = *again = false;
	part[0] = r->keyed + r->keyedcap;
	part[1] = part[0] + r->keyedcap;
	two = two && !b->clash;
	for (i = 0; two && i < b->kept; i++) {
		l = link_of(&r->keyed[i], &b->events[r->keyed[i].ev]);
		part[l][count[l]++] = r->keyed[i];
	}
	/* one connection when asked, when a share is empty or a second one cannot be had */
	if (!two || (count[1] > 0 && (count[0] == 0 || pg_open_link(r) < 0))) {
		count[0] = count[1] = 0;
		two = false;
	}
	used[1] = count[1] > 0;
	for (l = 0; l < 2 && error == 0; l++)
		if (used[l])
			error = pg_prepare_load(r, l);
	if (error == 0)
		error = pg_repo_exec_on(r, r->load[0],
					used[1] ? merge_begin_bounded_sql : merge_begin_sql,
					"starting a batch");
	if (error == 0 && (error = batch_seen(&seen, r, b->digest)) == 0 && seen) {
		/* every event of this very batch is stored: a killed load's committed
		 * batch, or the same file again */
		*skipped = true;
		goto done;
	}
	if (error == 0 && used[1])
		error = pg_repo_exec_on(r, r->load[1], merge_join_sql, "starting a batch");
	if (error == 0)
		memset(r->collided, 0, b->n);
	if (error == 0 && !two) {
		/* the rounds use the two lists after r->keyed (the shares') as scratch */
		error = store_rounds(&inserted, r, r->load[0], b->events, r->keyed, b->kept, true,
				     false);
	}
	for (l = 0; two && l < 2 && error == 0; l++) {
		if (!used[l] || count[l] == 0)
			continue;
		if ((error = merge_send(r, r->load[l], b->events, part[l], count[l], true)) == 0)
			sent[l] = true;
	}
	for (l = 0; l < 2; l++)
		if (sent[l])
			error = merge_result(&inserted, &collisions, r, r->load[l], error);
	if (error == 0 && collisions > 0) {
		*again = true;
		error = scli_error_set(SCLI_ERROR, "postgres: identity key collision: the batch is "
						   "stored again over one connection");
		goto done;
	}
	if (error == 0)
		error = batch_record(r, b->digest, b->n, inserted);
	if (error == 0 && used[1] &&
	    (error = pg_repo_exec_on(r, r->load[1], "COMMIT", "committing a batch")) < 0)
		goto done;
	/* Connection 1 has committed: nothing waits on the client any more, so
	 * connection 0's COMMIT (which empties its staging table, taking a lock)
	 * may wait as long as it needs rather than leave half the batch behind. */
	if (error == 0 &&
	    (error = pg_repo_exec_on(r, r->load[0],
				     used[1] ? "SET LOCAL lock_timeout = 0; COMMIT" : "COMMIT",
				     "committing a batch")) < 0) {
		if (used[1]) {
			char first[512];

			/* Connection 1's half is committed: storing the batch again would
			 * count that half as duplicates. Report the failure instead (even a
			 * lock timeout: COMMIT empties the staging table, which takes a lock). */
			r->lock_timed_out = false;

			snprintf(first, sizeof(first), "%s", scli_error_last());
			error = scli_error_set(error,
					       "%s (the half of this batch stored through the "
					       "second connection stays; run the load again "
					       "to finish it)",
					       first);
		}
		goto done;
	}
	*inserted_out = inserted;
done:
	for (l = 0; l < 2; l++)
		if (used[l])
			pg_repo_rollback_on(r->load[l]);
	return error;
}

int pg_repo_read_secret(pg_repo *r)
{
	const char *params[1] = {REPO_SECRET_META_KEY};
	PGresult *res;
	int error;

	if (r->secret_ok)
		return 0;
	res = PQexecParams(r->conn, "SELECT value FROM scli_meta WHERE key = $1", 1, NULL, params,
			   NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		error = pg_repo_fail(r, res, "reading the identity secret");
	else
		error = repo_secret_parse(&r->secret,
					  PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : NULL);
	PQclear(res);
	r->secret_ok = error == 0;
	return error;
}

/* Order, dedupe, resolve and key a batch into r->keyed; digest it. */
static int prepare_batch(pg_batch *b, pg_repo *r, const scli_event *events, size_t n)
{
	size_t i;
	int error;

	memset(b, 0, sizeof(*b));
	b->events = events;
	b->n = n;
	if ((error = batch_room(r, n)) < 0 ||
	    (error = scli_events_order_unique(&b->kept, r->order, events, n)) < 0)
		return error;
	for (i = 0; i < b->kept; i++) {
		r->keyed[i].ev = r->order[i];
		r->keyed[i].variant = 0;
	}
	if ((error = resolve_customers(r, events, r->keyed, b->kept)) < 0)
		return error;
	for (i = 0; i < b->kept; i++)
		repo_id_key(r->keyed[i].key, &r->secret, &events[r->keyed[i].ev], 0);
	qsort(r->keyed, b->kept, sizeof(*r->keyed), keyed_cmp);
	for (i = 1; i < b->kept && !b->clash; i++)
		b->clash = !keyed_cmp(&r->keyed[i], &r->keyed[i - 1]);
	return repo_batch_digest(b->digest, &r->secret, events, n);
}

int pg_repo_store_batch(size_t *inserted_out, size_t *duplicates_out, scli_repo *base,
			const scli_event *events, size_t n)
{
	pg_repo *r = (pg_repo *)base;
	size_t inserted = 0;
	bool skipped = false, again = false;
	pg_batch b;
	int error;

	*inserted_out = *duplicates_out = 0;
	if (n == 0)
		return 0;
	if ((error = pg_repo_read_secret(r)) < 0 || (error = prepare_batch(&b, r, events, n)) < 0)
		return error;
	r->lock_timed_out = false;
	error = store_links(&inserted, &skipped, &again, r, &b, r->load_links > 1);
	if (error < 0 && (r->lock_timed_out || again)) /* rolled back whole: again on one link */
		error = store_links(&inserted, &skipped, &again, r, &b, false);
	if (error < 0)
		return error;
	*inserted_out = skipped ? 0 : inserted;
	*duplicates_out = n - *inserted_out;
	return 0;
}
