/*
 * The SQLite repository, scli's embedded default. Raw events are kept for
 * identity (duplicates) and for the partial edge hours of a query; the hourly
 * rollup, maintained in the same transaction as the inserts, answers the whole
 * hours so a long range does not rescan every event. The load ledger
 * (scli_loads) is written outside the batches, each change committed alone.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "scli/adapters.h"
#include "scli/bucket.h"
#include "scli/timestamp.h"

#define NOT_INITIALISED_MSG "database is not initialised; run `scli init-db` first"

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

/* Waiting this long for another writer (an overlapping load) beats failing. */
#define BUSY_TIMEOUT_MS 60000

/* Hour floor of ts_us in SQL. SQLite's % truncates toward zero like C's, so the
 * double modulo keeps pre-1970 events in the hour that contains them. */
#define HOUR_OF_TS "(ts_us - (((ts_us % 3600000000) + 3600000000) % 3600000000))"

static const char *const SCHEMA_SQL =
    "CREATE TABLE IF NOT EXISTS events ("
    " customer_id TEXT NOT NULL,"
    " transaction_id TEXT NOT NULL,"
    " event_type TEXT NOT NULL,"
    " ts_us INTEGER NOT NULL,"
    " PRIMARY KEY (customer_id, transaction_id)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS events_customer_ts ON events(customer_id, ts_us);"
    "CREATE TABLE IF NOT EXISTS hourly ("
    " customer_id TEXT NOT NULL,"
    " hour_us INTEGER NOT NULL,"
    " count INTEGER NOT NULL,"
    " PRIMARY KEY (customer_id, hour_us)) WITHOUT ROWID;";

/* Schema version 2, with version 3's collector column. AUTOINCREMENT: an id
 * is never handed out twice, so a ledger id printed by one load always names
 * that load. */
static const char *const LEDGER_SQL =
    "CREATE TABLE IF NOT EXISTS scli_loads ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " source TEXT NOT NULL,"
    " size INTEGER NOT NULL,"
    " hash TEXT NOT NULL,"
    " state TEXT NOT NULL CHECK (state IN ('running', 'completed', 'failed')),"
    " started_us INTEGER NOT NULL,"
    " ended_us INTEGER NOT NULL DEFAULT 0,"
    " rows_read INTEGER NOT NULL DEFAULT 0,"
    " inserted INTEGER NOT NULL DEFAULT 0,"
    " duplicates INTEGER NOT NULL DEFAULT 0,"
    " rejected INTEGER NOT NULL DEFAULT 0,"
    " error TEXT NOT NULL DEFAULT '',"
    " collector TEXT NOT NULL DEFAULT '');";

/* Version 3: a load is known by its content and the collector that read it.
 * A version-2 ledger gets the column (its rows keep "", which matches no
 * collector: those files are read once more, and find every event there). */
static const char *const LEDGER_V3_COLUMN_SQL =
    "ALTER TABLE scli_loads ADD COLUMN collector TEXT NOT NULL DEFAULT ''";
static const char *const LEDGER_V3_INDEX_SQL =
    "DROP INDEX IF EXISTS scli_loads_hash_state;"
    "CREATE INDEX IF NOT EXISTS scli_loads_hash_collector_state"
    " ON scli_loads(hash, collector, state);";

#define LOAD_COLUMNS                                                                               \
	"id, source, size, hash, state, started_us, ended_us, rows_read, inserted, duplicates,"    \
	" rejected, error, collector"

static const char *const LEDGER_BEGIN_SQL =
    "INSERT INTO scli_loads (source, size, hash, state, started_us, collector)"
    " VALUES (?1, ?2, ?3, 'running', ?4, ?5)";

static const char *const LEDGER_FINISH_SQL =
    "UPDATE scli_loads SET state = ?2, ended_us = ?3, rows_read = ?4, inserted = ?5,"
    " duplicates = ?6, rejected = ?7, error = ?8 WHERE id = ?1";

static const char *const LEDGER_FIND_SQL =
    "SELECT " LOAD_COLUMNS " FROM scli_loads"
    " WHERE hash = ?1 AND collector = ?2 AND state = 'completed'"
    " ORDER BY id DESC LIMIT 1";

static const char *const LEDGER_LIST_SQL =
    "SELECT " LOAD_COLUMNS " FROM scli_loads ORDER BY id DESC LIMIT ?1";

static const char *const INSERT_EVENT_SQL =
    "INSERT INTO events (customer_id, transaction_id, event_type, ts_us)"
    " VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING";

static const char *const UPSERT_HOURLY_SQL =
    "INSERT INTO hourly (customer_id, hour_us, count) VALUES (?1, ?2, ?3)"
    " ON CONFLICT (customer_id, hour_us) DO UPDATE SET count = count + excluded.count";

/* Head and tail edges from raw events, whole hours from the rollup; the outer
 * GROUP BY merges them so each (customer, hour) comes out once. ?1 customer,
 * ?2..?7 the plan's head, rollup and tail ranges. */
#define COUNT_SQL(CUSTOMER_FILTER)                                                                 \
	"SELECT customer_id, hour_us, SUM(n) FROM ("                                               \
	" SELECT customer_id, " HOUR_OF_TS " AS hour_us, 1 AS n FROM events"                       \
	"  WHERE " CUSTOMER_FILTER " ts_us >= ?2 AND ts_us < ?3"                                   \
	" UNION ALL"                                                                               \
	" SELECT customer_id, hour_us, count AS n FROM hourly"                                     \
	"  WHERE " CUSTOMER_FILTER " hour_us >= ?4 AND hour_us < ?5"                               \
	" UNION ALL"                                                                               \
	" SELECT customer_id, " HOUR_OF_TS " AS hour_us, 1 AS n FROM events"                       \
	"  WHERE " CUSTOMER_FILTER " ts_us >= ?6 AND ts_us < ?7"                                   \
	") GROUP BY customer_id, hour_us HAVING SUM(n) > 0"

static const char *const COUNT_ONE_SQL = COUNT_SQL("customer_id = ?1 AND");
static const char *const COUNT_ALL_SQL = COUNT_SQL("");

typedef struct sqlite_repo {
	scli_repo base; /* must be first: scli_repo * <-> sqlite_repo * */
	sqlite3 *db;
	/* Prepared lazily: the tables do not exist before init-db. */
	sqlite3_stmt *insert_event;
	sqlite3_stmt *upsert_hourly;
	sqlite3_stmt *count_one;
	sqlite3_stmt *count_all;
} sqlite_repo;

/* An inserted event's (customer, hour), tallied in C before touching `hourly`. */
typedef struct hour_key {
	const char *customer_id;
	int customer_id_len;
	int64_t hour;
} hour_key;

/* Translate the connection's last error at the boundary. Lock contention and
 * storage trouble are I/O failures; anything else is a generic one. */
static int db_error(sqlite3 *db, const char *what)
{
	int rc = sqlite3_errcode(db), code;

	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
	case SQLITE_FULL:
	case SQLITE_READONLY:
	case SQLITE_PROTOCOL:
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
		code = SCLI_EIO;
		break;
	default:
		code = SCLI_ERROR;
		break;
	}
	return scli_error_set(code, "sqlite: %s: %s", what, sqlite3_errmsg(db));
}

static int exec(sqlite3 *db, const char *sql, const char *what)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_error(db, what);
	return 0;
}

/* Undo an open transaction after a failure, keeping the first error's message. */
static void rollback(sqlite3 *db)
{
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

static int prepare(sqlite3_stmt **stmt, sqlite3 *db, const char *sql)
{
	if (*stmt)
		return 0;
	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, NULL) != SQLITE_OK)
		return db_error(db, "prepare");
	return 0;
}

static int too_old_error(int version)
{
	return scli_error_set(SCLI_ESCHEMA,
			      "database schema version %d is older than this scli (%d); "
			      "run `scli init-db` to upgrade",
			      version, SCLI_SCHEMA_VERSION);
}

static int too_new_error(int version)
{
	return scli_error_set(
	    SCLI_ESCHEMA,
	    "database schema version %d is newer than this scli understands (%d); "
	    "upgrade scli",
	    version, SCLI_SCHEMA_VERSION);
}

/* The stored schema version, 0 when there is no scli_meta table or no row. */
static int read_version(int *version_out, sqlite3 *db)
{
	sqlite3_stmt *stmt = NULL;
	int error = 0, rc;

	*version_out = 0;
	if (sqlite3_prepare_v2(
		db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'scli_meta'", -1,
		&stmt, NULL) != SQLITE_OK) {
		error = db_error(db, "reading the schema");
		goto done;
	}
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_DONE)
		goto done;
	if (rc != SQLITE_ROW) {
		error = db_error(db, "reading the schema");
		goto done;
	}
	sqlite3_finalize(stmt);
	stmt = NULL;
	if (sqlite3_prepare_v2(db, "SELECT value FROM scli_meta WHERE key = 'schema_version'", -1,
			       &stmt, NULL) != SQLITE_OK) {
		error = db_error(db, "reading the schema version");
		goto done;
	}
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*version_out = sqlite3_column_int(stmt, 0);
	else if (rc != SQLITE_DONE)
		error = db_error(db, "reading the schema version");
done:
	sqlite3_finalize(stmt);
	return error;
}

static int sqlite_init_schema(scli_repo *r)
{
	sqlite3 *db = ((sqlite_repo *)r)->db;
	int error, version;

	/* IMMEDIATE: two concurrent init-db runs serialise instead of racing. */
	if ((error = exec(db, "BEGIN IMMEDIATE", "starting init-db")) < 0)
		goto done;
	if ((error = read_version(&version, db)) < 0)
		goto done;
	if (version > SCLI_SCHEMA_VERSION) {
		error = too_new_error(version);
		goto done;
	}
	if ((error = exec(db,
			  "CREATE TABLE IF NOT EXISTS scli_meta ("
			  " key TEXT PRIMARY KEY, value TEXT NOT NULL)",
			  "creating the schema")) < 0)
		goto done;
	/* Every step is IF NOT EXISTS, so one pass creates a fresh database and
	 * upgrades a version-1 one (which lacks only the ledger) alike; a version-2
	 * ledger gets the collector column. The version
	 * is raised last, in the same transaction, so an upgrade is all or nothing. */
	if ((error = exec(db, SCHEMA_SQL, "creating the schema")) < 0 ||
	    (version == 2 &&
	     (error = exec(db, LEDGER_V3_COLUMN_SQL, "upgrading the load ledger")) < 0) ||
	    (error = exec(db, LEDGER_SQL, "creating the load ledger")) < 0 ||
	    (error = exec(db, LEDGER_V3_INDEX_SQL, "indexing the load ledger")) < 0)
		goto done;
	if (version < SCLI_SCHEMA_VERSION &&
	    (error = exec(
		 db,
		 "INSERT INTO scli_meta (key, value)"
		 " VALUES ('schema_version', '" STRINGIFY(
		     SCLI_SCHEMA_VERSION) "')"
					  " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
		 "recording the schema version")) < 0)
		goto done;
	error = exec(db, "COMMIT", "committing init-db");
done:
	if (error < 0)
		rollback(db);
	return error;
}

static int sqlite_check_schema(scli_repo *r)
{
	int error, version;

	if ((error = read_version(&version, ((sqlite_repo *)r)->db)) < 0)
		return error;
	if (version == 0)
		return scli_error_set(SCLI_ESCHEMA, NOT_INITIALISED_MSG);
	if (version < SCLI_SCHEMA_VERSION)
		return too_old_error(version);
	if (version > SCLI_SCHEMA_VERSION)
		return too_new_error(version);
	return 0;
}

static int sqlite_schema_version(int *version_out, scli_repo *r)
{
	return read_version(version_out, ((sqlite_repo *)r)->db);
}

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
		error = db_error(s->db, "binding an event");
		goto done;
	}
	if (sqlite3_step(st) != SQLITE_DONE) {
		error = db_error(s->db, "inserting an event");
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
		error = db_error(s->db, "binding an hourly count");
		goto done;
	}
	if (sqlite3_step(st) != SQLITE_DONE)
		error = db_error(s->db, "updating the hourly rollup");
done:
	sqlite3_reset(st);
	return error;
}

static int sqlite_store_batch(size_t *inserted_out, size_t *duplicates_out, scli_repo *r,
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
	if ((error = prepare(&s->insert_event, s->db, INSERT_EVENT_SQL)) < 0 ||
	    (error = prepare(&s->upsert_hourly, s->db, UPSERT_HOURLY_SQL)) < 0)
		goto done;
	if (!(keys = malloc(n * sizeof(*keys))) || !(order = malloc(n * sizeof(*order)))) {
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
	if ((error = exec(s->db, "BEGIN IMMEDIATE", "starting a batch")) < 0)
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
	if ((error = exec(s->db, "COMMIT", "committing a batch")) < 0)
		goto done;
	*inserted_out = nkeys;
	*duplicates_out = n - nkeys;
done:
	if (error < 0)
		rollback(s->db);
	free(keys);
	free(order);
	return error;
}

static int sqlite_count_hourly(scli_repo *r, const char *customer_id, int64_t from_us,
			       int64_t to_us, scli_hour_cb cb, void *ctx)
{
	sqlite_repo *s = (sqlite_repo *)r;
	sqlite3_stmt *st = NULL;
	scli_count_plan plan;
	int error = 0, rc;

	if (from_us >= to_us)
		goto done;
	scli_count_plan_make(&plan, from_us, to_us);
	if (customer_id) {
		if ((error = prepare(&s->count_one, s->db, COUNT_ONE_SQL)) < 0)
			goto done;
		st = s->count_one;
		if (sqlite3_bind_text(st, 1, customer_id, -1, SQLITE_STATIC)) {
			error = db_error(s->db, "binding the customer id");
			goto done;
		}
	} else {
		if ((error = prepare(&s->count_all, s->db, COUNT_ALL_SQL)) < 0)
			goto done;
		st = s->count_all;
	}
	if (sqlite3_bind_int64(st, 2, plan.head_from) || sqlite3_bind_int64(st, 3, plan.head_to) ||
	    sqlite3_bind_int64(st, 4, plan.rollup_from) ||
	    sqlite3_bind_int64(st, 5, plan.rollup_to) ||
	    sqlite3_bind_int64(st, 6, plan.tail_from) || sqlite3_bind_int64(st, 7, plan.tail_to)) {
		error = db_error(s->db, "binding the range");
		goto done;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *cust = (const char *)sqlite3_column_text(st, 0);

		if (!cust) {
			error = db_error(s->db, "reading a customer id");
			goto done;
		}
		if ((error = cb(ctx, cust, sqlite3_column_int64(st, 1),
				sqlite3_column_int64(st, 2))) < 0)
			goto done;
	}
	if (rc != SQLITE_DONE)
		error = db_error(s->db, "counting events");
done:
	if (st) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
	return error;
}

/* ---- the load ledger ---- */

static int load_state_parse(scli_load_state *out, const char *name)
{
	if (scli_load_state_parse(out, name) < 0)
		return scli_error_set(SCLI_ERROR, "sqlite: unknown load state \"%s\"",
				      name ? name : "(null)");
	return 0;
}

/* Copy a column into a record's fixed buffer of `cap` bytes. Someone else's
 * writer may have stored more than fits: cut it, and not inside a UTF-8
 * character, so the record still holds whole characters. */
static void copy_column(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
	const char *src = (const char *)sqlite3_column_text(st, col);
	size_t len = src ? (size_t)sqlite3_column_bytes(st, col) : 0;

	if (len > cap - 1) {
		len = cap - 1;
		while (len > 0 && ((unsigned char)src[len] & 0xc0) == 0x80)
			len--;
	}
	if (len)
		memcpy(dst, src, len);
	dst[len] = '\0';
}

/* The current row of a LOAD_COLUMNS query. */
static int read_load(scli_load_record *rec, sqlite3_stmt *st)
{
	memset(rec, 0, sizeof(*rec));
	rec->id = sqlite3_column_int64(st, 0);
	copy_column(rec->source, sizeof(rec->source), st, 1);
	rec->size = sqlite3_column_int64(st, 2);
	copy_column(rec->hash, sizeof(rec->hash), st, 3);
	rec->started_us = sqlite3_column_int64(st, 5);
	rec->ended_us = sqlite3_column_int64(st, 6);
	rec->rows_read = (uint64_t)sqlite3_column_int64(st, 7);
	rec->inserted = (uint64_t)sqlite3_column_int64(st, 8);
	rec->duplicates = (uint64_t)sqlite3_column_int64(st, 9);
	rec->rejected = (uint64_t)sqlite3_column_int64(st, 10);
	copy_column(rec->error, sizeof(rec->error), st, 11);
	copy_column(rec->collector, sizeof(rec->collector), st, 12);
	return load_state_parse(&rec->state, (const char *)sqlite3_column_text(st, 4));
}

/* A record's string field, bounded: the record is not trusted to hold a NUL. */
static int bind_field(sqlite3_stmt *st, int param, const char *field, size_t cap)
{
	return sqlite3_bind_text(st, param, field, (int)strnlen(field, cap - 1), SQLITE_STATIC);
}

static int ledger_prepare(sqlite3_stmt **stmt, sqlite3 *db, const char *sql)
{
	/* Not cached: a ledger statement runs a few times per load. */
	if (sqlite3_prepare_v2(db, sql, -1, stmt, NULL) != SQLITE_OK)
		return db_error(db, "preparing a load ledger statement");
	return 0;
}

static int sqlite_ledger_begin(int64_t *id_out, scli_repo *r, const scli_load_record *rec)
{
	sqlite3 *db = ((sqlite_repo *)r)->db;
	sqlite3_stmt *st = NULL;
	int error;

	*id_out = 0;
	/* Autocommit, so the row survives whatever later batch fails. */
	assert(sqlite3_get_autocommit(db));
	if ((error = ledger_prepare(&st, db, LEDGER_BEGIN_SQL)) < 0)
		goto done;
	if (bind_field(st, 1, rec->source, sizeof(rec->source)) ||
	    sqlite3_bind_int64(st, 2, rec->size) ||
	    bind_field(st, 3, rec->hash, sizeof(rec->hash)) ||
	    sqlite3_bind_int64(st, 4, rec->started_us) ||
	    bind_field(st, 5, rec->collector, sizeof(rec->collector))) {
		error = db_error(db, "binding a load");
		goto done;
	}
	if (sqlite3_step(st) != SQLITE_DONE) {
		error = db_error(db, "recording the start of a load");
		goto done;
	}
	*id_out = sqlite3_last_insert_rowid(db);
done:
	sqlite3_finalize(st);
	return error;
}

static int sqlite_ledger_finish(scli_repo *r, const scli_load_record *rec)
{
	sqlite3 *db = ((sqlite_repo *)r)->db;
	sqlite3_stmt *st = NULL;
	int error;

	assert(sqlite3_get_autocommit(db));
	if ((error = ledger_prepare(&st, db, LEDGER_FINISH_SQL)) < 0)
		goto done;
	if (sqlite3_bind_int64(st, 1, rec->id) ||
	    sqlite3_bind_text(st, 2, scli_load_state_name(rec->state), -1, SQLITE_STATIC) ||
	    sqlite3_bind_int64(st, 3, rec->ended_us) ||
	    sqlite3_bind_int64(st, 4, (sqlite3_int64)rec->rows_read) ||
	    sqlite3_bind_int64(st, 5, (sqlite3_int64)rec->inserted) ||
	    sqlite3_bind_int64(st, 6, (sqlite3_int64)rec->duplicates) ||
	    sqlite3_bind_int64(st, 7, (sqlite3_int64)rec->rejected) ||
	    bind_field(st, 8, rec->error, sizeof(rec->error))) {
		error = db_error(db, "binding a load");
		goto done;
	}
	if (sqlite3_step(st) != SQLITE_DONE) {
		error = db_error(db, "recording the end of a load");
		goto done;
	}
	if (sqlite3_changes(db) != 1)
		error = scli_error_set(SCLI_ENOTFOUND, "no load with id %lld", (long long)rec->id);
done:
	sqlite3_finalize(st);
	return error;
}

static int sqlite_ledger_find_completed(scli_load_record *rec_out, scli_repo *r, const char *hash,
					const char *collector)
{
	sqlite3 *db = ((sqlite_repo *)r)->db;
	sqlite3_stmt *st = NULL;
	int error, rc;

	if ((error = ledger_prepare(&st, db, LEDGER_FIND_SQL)) < 0)
		goto done;
	if (sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(st, 2, collector, -1, SQLITE_STATIC)) {
		error = db_error(db, "binding a hash");
		goto done;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		error = read_load(rec_out, st);
	else if (rc == SQLITE_DONE)
		error = scli_error_set(SCLI_ENOTFOUND, "no completed load with that hash");
	else
		error = db_error(db, "looking up a load");
done:
	sqlite3_finalize(st);
	return error;
}

static int sqlite_ledger_list(scli_repo *r, size_t limit, scli_load_record_cb cb, void *ctx)
{
	sqlite3 *db = ((sqlite_repo *)r)->db;
	sqlite3_stmt *st = NULL;
	scli_load_record rec;
	int error, rc;

	if ((error = ledger_prepare(&st, db, LEDGER_LIST_SQL)) < 0)
		goto done;
	if (sqlite3_bind_int64(st, 1, limit > INT64_MAX ? INT64_MAX : (sqlite3_int64)limit)) {
		error = db_error(db, "binding a limit");
		goto done;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((error = read_load(&rec, st)) < 0 || (error = cb(ctx, &rec)) < 0)
			goto done;
	}
	if (rc != SQLITE_DONE)
		error = db_error(db, "listing loads");
done:
	sqlite3_finalize(st);
	return error;
}

static void sqlite_free(scli_repo *r)
{
	sqlite_repo *s = (sqlite_repo *)r;

	sqlite3_finalize(s->insert_event);
	sqlite3_finalize(s->upsert_hourly);
	sqlite3_finalize(s->count_one);
	sqlite3_finalize(s->count_all);
	sqlite3_close(s->db);
	free(s);
}

static const scli_repo_ops sqlite_ops = {
    .version = SCLI_REPO_OPS_VERSION,
    .name = "sqlite",
    .init_schema = sqlite_init_schema,
    .check_schema = sqlite_check_schema,
    .store_batch = sqlite_store_batch,
    .count_hourly = sqlite_count_hourly,
    .free = sqlite_free,
    .schema_version = sqlite_schema_version,
    .ledger_begin = sqlite_ledger_begin,
    .ledger_finish = sqlite_ledger_finish,
    .ledger_find_completed = sqlite_ledger_find_completed,
    .ledger_list = sqlite_ledger_list,
};

int scli_repo_sqlite_open(scli_repo **out, const char *path, int create)
{
	sqlite_repo *s = NULL;
	int error = 0, flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);

	*out = NULL;
	if (!(s = calloc(1, sizeof(*s)))) {
		error = scli_error_set(SCLI_ENOMEM, "out of memory");
		goto done;
	}
	s->base.ops = &sqlite_ops;
	if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
		/* Without CREATE a missing file is the user's "forgot init-db" case. */
		if (!create && access(path, F_OK) < 0 && errno == ENOENT)
			error = scli_error_set(
			    SCLI_ENOTFOUND,
			    "database \"%s\" does not exist; run `scli init-db` first", path);
		else
			error = scli_error_set(SCLI_EIO, "sqlite: cannot open \"%s\": %s", path,
					       s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto done;
	}
	sqlite3_extended_result_codes(s->db, 0);
	/* Before the pragmas: switching to WAL itself may have to wait for a lock. */
	sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
	if ((error = exec(s->db, "PRAGMA journal_mode=WAL", "enabling WAL")) < 0 ||
	    (error = exec(s->db, "PRAGMA synchronous=NORMAL", "setting synchronous")) < 0)
		goto done;
	/* Random transaction ids touch most index pages in every batch: a larger
	 * cache and rarer checkpoints cut the load of the real 147k-row file from
	 * about 1.5 s to about 1 s, for at most 32 MiB of RAM and a 16 MiB WAL. */
	if ((error = exec(s->db, "PRAGMA cache_size=-16384", "setting the cache size")) < 0 ||
	    (error = exec(s->db, "PRAGMA wal_autocheckpoint=4000", "setting checkpoints")) < 0)
		goto done;
	*out = &s->base;
	s = NULL;
done:
	if (s) {
		sqlite3_close(s->db);
		free(s);
	}
	return error;
}
