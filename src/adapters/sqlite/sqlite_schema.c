/*
 * The SQLite repository's schema: creating and upgrading it (init-db, one
 * IMMEDIATE transaction) and checking its version before use. Version 4 keys
 * events by (customer key, 16-byte identity key) instead of the texts; an
 * older database's `events` are moved into it (keys computed in C, exactly as a
 * load computes them) and its rollup rebuilt from them, in the same
 * transaction that records the version.
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "adapters/repo_schema.h"
#include "adapters/sqlite/sqlite_internal.h"
#include "scli/alloc.h"

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

/* The first schema whose events are keyed; older ones keep theirs in `events`. */
#define FIRST_KEYED_VERSION 4

/* Old events move over in chunks this size: bounded memory at any size. */
#define UPGRADE_CHUNK 50000

/*
 * Every unique key leads with the customer key. The identity keys live in a
 * narrow WITHOUT ROWID tree of their own (about 30 bytes an event), the only
 * random-order index a load writes; the events are appended to a rowid table
 * (event_id), so the wide rows are written once. At 1M random-order events
 * this beat one WITHOUT ROWID events table keyed (customer_key, id_key),
 * whose random-order leaves hold the whole rows (12.9 s against 11.4 s, and
 * its tree is three times as large, which tells more as it outgrows the
 * cache). (customer_key, ts_us) serves the raw edges of a count; each batch
 * appends in that order. The rollup's cells are 15 minutes (sqlite_load.c).
 */
static const char *const SCHEMA_SQL =
    "CREATE TABLE IF NOT EXISTS scli_customers ("
    " customer_key INTEGER PRIMARY KEY,"
    " customer_id TEXT NOT NULL UNIQUE);"
    "CREATE TABLE IF NOT EXISTS scli_events ("
    " event_id INTEGER PRIMARY KEY,"
    " customer_key INTEGER NOT NULL,"
    " transaction_id TEXT NOT NULL,"
    " event_type TEXT NOT NULL,"
    " ts_us INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS scli_event_keys ("
    " customer_key INTEGER NOT NULL,"
    " id_key BLOB NOT NULL,"
    " event_id INTEGER NOT NULL,"
    " PRIMARY KEY (customer_key, id_key)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS scli_events_customer_ts ON scli_events(customer_key, ts_us);"
    "CREATE TABLE IF NOT EXISTS scli_rollup ("
    " customer_key INTEGER NOT NULL,"
    " cell_us INTEGER NOT NULL,"
    " event_type TEXT NOT NULL,"
    " count INTEGER NOT NULL,"
    " PRIMARY KEY (customer_key, cell_us, event_type)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS scli_batches ("
    " digest BLOB PRIMARY KEY,"
    " events INTEGER NOT NULL,"
    " inserted INTEGER NOT NULL,"
    " stored_us INTEGER NOT NULL) WITHOUT ROWID;";

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

/* The stored schema version, 0 when there is no scli_meta table or no row. */
static int read_version(int *version_out, sqlite3 *db)
{
	sqlite3_stmt *stmt = NULL;
	int error = 0, rc;

	*version_out = 0;
	if (sqlite3_prepare_v2(
		db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'scli_meta'", -1,
		&stmt, NULL) != SQLITE_OK) {
		error = sqlite_repo_error(db, "reading the schema");
		goto done;
	}
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_DONE)
		goto done;
	if (rc != SQLITE_ROW) {
		error = sqlite_repo_error(db, "reading the schema");
		goto done;
	}
	sqlite3_finalize(stmt);
	stmt = NULL;
	if (sqlite3_prepare_v2(db, "SELECT value FROM scli_meta WHERE key = 'schema_version'", -1,
			       &stmt, NULL) != SQLITE_OK) {
		error = sqlite_repo_error(db, "reading the schema version");
		goto done;
	}
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*version_out = sqlite3_column_int(stmt, 0);
	else if (rc != SQLITE_DONE)
		error = sqlite_repo_error(db, "reading the schema version");
done:
	sqlite3_finalize(stmt);
	return error;
}

/* One integer a query returns (count(*), sum()). */
static int query_int64(int64_t *out, sqlite3 *db, const char *sql, const char *what)
{
	sqlite3_stmt *st = NULL;
	int error = 0;

	*out = 0;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW)
		error = sqlite_repo_error(db, what);
	else
		*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return error;
}

/* The secret from scli_meta into s->secret; SCLI_ESCHEMA when there is none. */
static int read_secret(sqlite_repo *s)
{
	sqlite3_stmt *st = NULL;
	int error = 0, rc;

	if (sqlite3_prepare_v2(s->db,
			       "SELECT value FROM scli_meta WHERE key = '" REPO_SECRET_META_KEY "'",
			       -1, &st, NULL) != SQLITE_OK) {
		error = sqlite_repo_error(s->db, "reading the identity secret");
		goto done;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		error = scli_error_set(SCLI_ESCHEMA, "the database has no identity secret "
						     "(scli_meta '" REPO_SECRET_META_KEY
						     "'); run `scli init-db`");
	else if (rc != SQLITE_ROW)
		error = sqlite_repo_error(s->db, "reading the identity secret");
	else if ((error =
		      repo_secret_parse(&s->secret, (const char *)sqlite3_column_text(st, 0))) == 0)
		s->has_secret = true;
done:
	sqlite3_finalize(st);
	return error;
}

int sqlite_repo_load_secret(sqlite_repo *s)
{
	return s->has_secret ? 0 : read_secret(s);
}

/* A fresh secret when the database has none (a new or an older database). */
static int ensure_secret(sqlite_repo *s)
{
	char hex[REPO_SECRET_HEX_LEN + 1];
	sqlite3_stmt *st = NULL;
	int error;

	if ((error = repo_secret_generate(hex)) < 0)
		return error;
	if (sqlite3_prepare_v2(s->db,
			       "INSERT INTO scli_meta (key, value) VALUES ('" REPO_SECRET_META_KEY
			       "', ?1) ON CONFLICT (key) DO NOTHING",
			       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC) || sqlite3_step(st) != SQLITE_DONE)
		error = sqlite_repo_error(s->db, "recording the identity secret");
	sqlite3_finalize(st);
	if (error < 0)
		return error;
	/* what is stored now, whether just made or kept from before */
	s->has_secret = false;
	return read_secret(s);
}

/* Copy an old row's text column into an event field of at most `max` bytes. */
static int copy_field(char *dst, uint16_t *len_out, sqlite3_stmt *st, int col, size_t max)
{
	const char *src = (const char *)sqlite3_column_text(st, col);
	size_t len = src ? (size_t)sqlite3_column_bytes(st, col) : 0;

	if (!src || len == 0 || len > max)
		return scli_error_set(SCLI_ERROR,
				      "sqlite: an old event has an empty or overlong field; "
				      "the upgrade changed nothing");
	memcpy(dst, src, len);
	dst[len] = '\0';
	*len_out = (uint16_t)len;
	return 0;
}

/*
 * Move a version-1..3 database's `events` into scli_events, chunk by chunk, with
 * the keys a load would give them; rebuild scli_rollup from what arrived; check
 * that nothing was lost; drop the old tables. The caller holds the transaction,
 * so any failure leaves the old database as it was.
 */
static int migrate_old_events(sqlite_repo *s)
{
	sqlite3_stmt *st = NULL;
	scli_event *chunk = NULL;
	int64_t old_count = 0, new_count = 0, rollup_sum = 0;
	size_t n = 0, inserted, total = 0;
	int error = 0, rc = SQLITE_ROW;

	if ((error = query_int64(&old_count, s->db, "SELECT count(*) FROM events",
				 "counting the old events")) < 0)
		goto done;
	if (!(chunk = scli_malloc(UPGRADE_CHUNK * sizeof(*chunk)))) {
		error = scli_error_set(SCLI_ENOMEM, "out of memory upgrading the database");
		goto done;
	}
	if (sqlite3_prepare_v2(s->db,
			       "SELECT customer_id, transaction_id, event_type, ts_us FROM events",
			       -1, &st, NULL) != SQLITE_OK) {
		error = sqlite_repo_error(s->db, "reading the old events");
		goto done;
	}
	while (rc == SQLITE_ROW) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			scli_event *ev = &chunk[n];

			if ((error = copy_field(ev->customer_id, &ev->customer_id_len, st, 0,
						SCLI_CUSTOMER_ID_MAX)) < 0 ||
			    (error = copy_field(ev->transaction_id, &ev->transaction_id_len, st, 1,
						SCLI_TRANSACTION_ID_MAX)) < 0 ||
			    (error = copy_field(ev->event_type, &ev->event_type_len, st, 2,
						SCLI_EVENT_TYPE_MAX)) < 0)
				goto done;
			ev->ts_us = sqlite3_column_int64(st, 3);
			if (++n < UPGRADE_CHUNK)
				continue;
		} else if (rc != SQLITE_DONE) {
			error = sqlite_repo_error(s->db, "reading the old events");
			goto done;
		}
		/* The old primary key made each identity unique: all of them go in. */
		if ((error = sqlite_repo_store_events(&inserted, s, chunk, n)) < 0)
			goto done;
		total += inserted;
		n = 0;
	}
	if ((error = sqlite_repo_exec(
		 s->db,
		 "DELETE FROM scli_rollup;"
		 "INSERT INTO scli_rollup (customer_key, cell_us, event_type, count)"
		 " SELECT customer_key,"
		 " ts_us - (((ts_us % 900000000) + 900000000) % 900000000) AS cell, event_type,"
		 " count(*) FROM scli_events GROUP BY 1, 2, 3",
		 "rebuilding the rollup")) < 0 ||
	    (error = query_int64(&new_count, s->db, "SELECT count(*) FROM scli_events",
				 "counting the moved events")) < 0 ||
	    (error =
		 query_int64(&rollup_sum, s->db, "SELECT coalesce(sum(count), 0) FROM scli_rollup",
			     "summing the rollup")) < 0)
		goto done;
	if (new_count != old_count || rollup_sum != old_count || (int64_t)total != old_count) {
		error = scli_error_set(SCLI_ERROR,
				       "sqlite: the upgrade would keep %lld of %lld events; "
				       "it changed nothing",
				       (long long)new_count, (long long)old_count);
		goto done;
	}
	error = sqlite_repo_exec(s->db, "DROP TABLE events; DROP TABLE IF EXISTS hourly",
				 "dropping the old tables");
done:
	sqlite3_finalize(st);
	scli_free(chunk);
	return error;
}

int sqlite_repo_init_schema(scli_repo *r)
{
	sqlite_repo *s = (sqlite_repo *)r;
	sqlite3 *db = s->db;
	int error, version;

	/* IMMEDIATE: two concurrent init-db runs serialise instead of racing. */
	if ((error = sqlite_repo_exec(db, "BEGIN IMMEDIATE", "starting init-db")) < 0)
		goto done;
	if ((error = read_version(&version, db)) < 0)
		goto done;
	if (version > SCLI_SCHEMA_VERSION) {
		error = repo_schema_too_new(version);
		goto done;
	}
	if ((error = sqlite_repo_exec(db,
				      "CREATE TABLE IF NOT EXISTS scli_meta ("
				      " key TEXT PRIMARY KEY, value TEXT NOT NULL)",
				      "creating the schema")) < 0)
		goto done;
	/* Every step is IF NOT EXISTS, so one pass creates a fresh database and
	 * upgrades an older one alike: version 1 lacks the ledger, version 2 its
	 * collector column, versions 1..3 the keyed tables. The version is raised
	 * last, in the same transaction, so an upgrade is all or nothing. */
	if ((error = sqlite_repo_exec(db, SCHEMA_SQL, "creating the schema")) < 0 ||
	    (version == 2 && (error = sqlite_repo_exec(db, LEDGER_V3_COLUMN_SQL,
						       "upgrading the load ledger")) < 0) ||
	    (error = sqlite_repo_exec(db, LEDGER_SQL, "creating the load ledger")) < 0 ||
	    (error = sqlite_repo_exec(db, LEDGER_V3_INDEX_SQL, "indexing the load ledger")) < 0 ||
	    (error = ensure_secret(s)) < 0)
		goto done;
	/* Only an older scli's own `events` move: at version 0 a table of that name
	 * belongs to whoever else shares the file. */
	if (version >= 1 && version < FIRST_KEYED_VERSION && (error = migrate_old_events(s)) < 0)
		goto done;
	if (version < SCLI_SCHEMA_VERSION &&
	    (error = sqlite_repo_exec(
		 db,
		 "INSERT INTO scli_meta (key, value)"
		 " VALUES ('schema_version', '" STRINGIFY(
		     SCLI_SCHEMA_VERSION) "')"
					  " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
		 "recording the schema version")) < 0)
		goto done;
	error = sqlite_repo_exec(db, "COMMIT", "committing init-db");
done:
	if (error < 0) {
		sqlite_repo_rollback(db);
		/* a secret read inside the rolled-back transaction may be gone */
		s->has_secret = false;
	}
	return error;
}

int sqlite_repo_check_schema(scli_repo *r)
{
	sqlite_repo *s = (sqlite_repo *)r;
	int error, version;

	if ((error = read_version(&version, s->db)) < 0 ||
	    (error = repo_schema_check_version(version)) < 0)
		return error;
	/* Read once per handle, here where the schema is known good. */
	return sqlite_repo_load_secret(s);
}

int sqlite_repo_schema_version(int *version_out, scli_repo *r)
{
	return read_version(version_out, ((sqlite_repo *)r)->db);
}
