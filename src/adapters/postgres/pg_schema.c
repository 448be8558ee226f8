/*
 * The PostgreSQL repository's schema: creating and upgrading it (init-db, one
 * transaction under an advisory lock) and checking its version before use.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/postgres/pg_internal.h"
#include "adapters/repo_schema.h"

/* Identity leads with customer_id so the tables can be distributed by it later.
 * Text columns use the "C" collation: byte order, whatever the server locale. */
static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS scli_meta ("
    "  key text COLLATE \"C\" PRIMARY KEY, value text NOT NULL);"
    "CREATE TABLE IF NOT EXISTS scli_events ("
    "  customer_id text COLLATE \"C\" NOT NULL,"
    "  transaction_id text COLLATE \"C\" NOT NULL,"
    "  event_type text NOT NULL,"
    "  ts timestamptz NOT NULL,"
    "  PRIMARY KEY (customer_id, transaction_id));"
    "CREATE INDEX IF NOT EXISTS scli_events_customer_ts ON scli_events (customer_id, ts);"
    "CREATE TABLE IF NOT EXISTS scli_hourly ("
    "  customer_id text COLLATE \"C\" NOT NULL,"
    "  hour timestamptz NOT NULL,"
    "  count bigint NOT NULL,"
    "  PRIMARY KEY (customer_id, hour));"
    /* version 2: the load ledger; only completed loads are ever looked up by hash */
    "CREATE TABLE IF NOT EXISTS scli_loads ("
    "  id bigserial PRIMARY KEY,"
    "  source text NOT NULL,"
    "  size bigint NOT NULL,"
    "  hash text COLLATE \"C\" NOT NULL,"
    "  state text NOT NULL CHECK (state IN ('running', 'completed', 'failed')),"
    "  started timestamptz NOT NULL,"
    "  ended timestamptz,"
    "  rows_read bigint NOT NULL DEFAULT 0,"
    "  inserted bigint NOT NULL DEFAULT 0,"
    "  duplicates bigint NOT NULL DEFAULT 0,"
    "  rejected bigint NOT NULL DEFAULT 0,"
    "  error text NOT NULL DEFAULT '');"
    /* version 3: a load is known by its content and the collector that read it;
     * version-2 rows keep "", which matches no collector (read once more) */
    "ALTER TABLE scli_loads ADD COLUMN IF NOT EXISTS collector text COLLATE \"C\" NOT NULL"
    "  DEFAULT '';"
    "DROP INDEX IF EXISTS scli_loads_completed_hash;"
    "CREATE INDEX IF NOT EXISTS scli_loads_completed_key ON scli_loads (hash, collector)"
    "  WHERE state = 'completed';";

/* The stored schema version, 0 when the database was never initialised. */
static int read_version(int *version, pg_repo *r)
{
	PGresult *res = PQexec(r->conn, "SELECT to_regclass('scli_meta') IS NOT NULL");
	int error = 0;

	*version = 0;
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		error = pg_repo_fail(r, res, "reading the schema version");
		goto done;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "t"))
		goto done;
	PQclear(res);
	res = PQexec(r->conn, "SELECT value::int FROM scli_meta WHERE key = 'schema_version'");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		error = pg_repo_fail(r, res, "reading the schema version");
		goto done;
	}
	*version = PQntuples(res) == 0 || PQgetisnull(res, 0, 0) ? 0 : atoi(PQgetvalue(res, 0, 0));
done:
	PQclear(res);
	return error;
}

int pg_repo_schema_version(int *version_out, scli_repo *base)
{
	return read_version(version_out, (pg_repo *)base);
}

int pg_repo_check_schema(scli_repo *base)
{
	pg_repo *r = (pg_repo *)base;
	int version = 0, error;

	/* Checked once per connection: two round trips per count would halve an API's
	 * throughput. A schema cannot move under a live connection except by a newer
	 * init-db, which only adds; any error clears the flag. */
	if (r->schema_ok)
		return 0;
	if ((error = read_version(&version, r)) < 0)
		return error;
	if ((error = repo_schema_check_version(version)) < 0)
		return error;
	r->schema_ok = true;
	return 0;
}

int pg_repo_init_schema(scli_repo *base)
{
	pg_repo *r = (pg_repo *)base;
	char version_sql[160];
	int version = 0, error;

	/* The advisory lock serialises concurrent init-db runs (CronJob + Job). */
	if ((error = pg_repo_exec(r, "BEGIN", "init-db")) < 0 ||
	    (error = pg_repo_exec(r, "SELECT pg_advisory_xact_lock(5316627)", "init-db")) < 0 ||
	    (error = read_version(&version, r)) < 0)
		goto done;
	if (version > SCLI_SCHEMA_VERSION) {
		error = repo_schema_too_new(version);
		goto done;
	}
	/* Every statement of schema_sql is IF NOT EXISTS, so one pass creates a fresh
	 * database and upgrades a version-1 one (which lacks only the ledger) or a
	 * version-2 one (whose ledger lacks the collector) alike;
	 * the version is raised in the same transaction, so an upgrade is all or
	 * nothing. SCLI_SCHEMA_VERSION is a compile-time constant, not user data. */
	snprintf(version_sql, sizeof(version_sql),
		 "INSERT INTO scli_meta (key, value) VALUES ('schema_version', '%d')"
		 " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
		 SCLI_SCHEMA_VERSION);
	if ((error = pg_repo_exec(r, schema_sql, "creating the schema")) < 0 ||
	    (error = pg_repo_exec(r, version_sql, "recording the schema version")) < 0 ||
	    (error = pg_repo_exec(r, "COMMIT", "init-db")) < 0)
		goto done;
done:
	if (error < 0)
		pg_repo_rollback(r);
	return error;
}
