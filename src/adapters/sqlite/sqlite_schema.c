/*
 * The SQLite repository's schema: creating and upgrading it (init-db, one
 * IMMEDIATE transaction) and checking its version before use.
 */
#include <sqlite3.h>

#include "adapters/repo_schema.h"
#include "adapters/sqlite/sqlite_internal.h"

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

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

int sqlite_repo_init_schema(scli_repo *r)
{
	sqlite3 *db = ((sqlite_repo *)r)->db;
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
	 * upgrades a version-1 one (which lacks only the ledger) alike; a version-2
	 * ledger gets the collector column. The version
	 * is raised last, in the same transaction, so an upgrade is all or nothing. */
	if ((error = sqlite_repo_exec(db, SCHEMA_SQL, "creating the schema")) < 0 ||
	    (version == 2 && (error = sqlite_repo_exec(db, LEDGER_V3_COLUMN_SQL,
						       "upgrading the load ledger")) < 0) ||
	    (error = sqlite_repo_exec(db, LEDGER_SQL, "creating the load ledger")) < 0 ||
	    (error = sqlite_repo_exec(db, LEDGER_V3_INDEX_SQL, "indexing the load ledger")) < 0)
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
	if (error < 0)
		sqlite_repo_rollback(db);
	return error;
}

int sqlite_repo_check_schema(scli_repo *r)
{
	int error, version;

	if ((error = read_version(&version, ((sqlite_repo *)r)->db)) < 0)
		return error;
	return repo_schema_check_version(version);
}

int sqlite_repo_schema_version(int *version_out, scli_repo *r)
{
	return read_version(version_out, ((sqlite_repo *)r)->db);
}
