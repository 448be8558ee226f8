/*
 * The PostgreSQL repository (libpq). Each batch is one transaction: COPY into a
 * session-private staging table, then one set-based statement inserts the new
 * events (those whose identity is not stored yet) and adds exactly those to the
 * hourly rollup. The merges of loads running at once take turns on an advisory
 * lock, and rollup rows are upserted in (customer_id, hour) order, so they can
 * neither count an event twice nor deadlock. The load ledger (scli_loads) is
 * written outside the batches, each change committed alone.
 */
#include <assert.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "scli/adapters.h"
#include "scli/bucket.h"
#include "scli/timestamp.h"

typedef struct pg_repo {
	scli_repo base;
	PGconn *conn;
	char *password; /* scrubbed from every message; never printed */
	bool schema_ok; /* check_schema passed on this connection: count and load skip it */
	/* The load's two connections: load[0] is conn; load[1] is opened by the first
	 * batch (conninfo kept for it; it may hold a password, wiped on free). */
	PGconn *load[2];
	bool load_prepared[2]; /* staging table and load statement exist in that session */
	char *conninfo;
	bool lock_timed_out; /* the last failure was a lock_timeout (SQLSTATE 55P03) */
	int load_links;	     /* connections a load uses: 1 or 2 */
	bool count_one_prepared, count_all_prepared; /* count statements in this session */
	char *copybuf;				     /* COPY data of one batch */
	size_t copycap;
	uint32_t *order; /* one batch's distinct events in identity order, then each link's */
	size_t ordercap; /* share of them (3 lists of up to `ordercap` each) */
} pg_repo;

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

/* Times leave the server as exact microseconds (extract gives numeric since
 * PostgreSQL 14); a running load has no end time, reported as 0. */
#define LOAD_COLUMNS                                                                               \
	"id, source, size, hash, state, (extract(epoch FROM started) * 1000000)::int8,"            \
	" coalesce((extract(epoch FROM ended) * 1000000)::int8, 0), rows_read, inserted,"          \
	" duplicates, rejected, error, collector"

static const char ledger_begin_sql[] =
    "INSERT INTO scli_loads (source, size, hash, state, started, collector)"
    " VALUES ($1, $2::int8, $3, 'running', $4::timestamptz, $5) RETURNING id";

static const char ledger_finish_sql[] =
    "UPDATE scli_loads SET state = $2, ended = $3::timestamptz, rows_read = $4::int8,"
    " inserted = $5::int8, duplicates = $6::int8, rejected = $7::int8, error = $8"
    " WHERE id = $1::int8";

static const char ledger_find_sql[] = "SELECT " LOAD_COLUMNS " FROM scli_loads"
				      " WHERE hash = $1 AND collector = $2 AND state = 'completed'"
				      " ORDER BY id DESC LIMIT 1";

static const char ledger_list_sql[] =
    "SELECT " LOAD_COLUMNS " FROM scli_loads ORDER BY id DESC LIMIT $1::int8";

static const char stage_sql[] =
    "CREATE TEMP TABLE IF NOT EXISTS scli_stage ("
    "  ord int NOT NULL, customer_id text COLLATE \"C\" NOT NULL,"
    "  transaction_id text COLLATE \"C\" NOT NULL, event_type text NOT NULL,"
    "  ts timestamptz NOT NULL) ON COMMIT DELETE ROWS";

/*
 * The batch arrives deduplicated and in identity order (scli_events_order_unique
 * in the client: the first copy in the file wins), so the server sorts nothing:
 * it probes the primary key for each staged event in key order and inserts the
 * new ones with a plain INSERT. That is cheaper than ON CONFLICT's speculative
 * insertion (measured on 1M events: 9.0 s against 12.7 s for the insert alone),
 * and exact because merges are serialised by an advisory lock (merge_begin_sql):
 * no other loader can insert between the probe and the insert. Were one to do so
 * anyway (an older scli), the primary key rejects the batch; nothing is counted
 * twice.
 */
static const char merge_sql[] =
    "WITH ins AS ("
    "  INSERT INTO scli_events (customer_id, transaction_id, event_type, ts)"
    "  SELECT customer_id, transaction_id, event_type, ts FROM scli_stage s"
    "  WHERE NOT EXISTS (SELECT 1 FROM scli_events e"
    "    WHERE e.customer_id = s.customer_id AND e.transaction_id = s.transaction_id)"
    "  RETURNING customer_id, ts),"
    " up AS ("
    "  INSERT INTO scli_hourly AS h (customer_id, hour, count)"
    "  SELECT customer_id, date_trunc('hour', ts, 'UTC'), count(*) FROM ins"
    "  GROUP BY 1, 2 ORDER BY 1, 2"
    "  ON CONFLICT (customer_id, hour) DO UPDATE SET count = h.count + EXCLUDED.count)"
    " SELECT count(*) FROM ins";

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

/*
 * Edge hours from raw events, whole hours from the rollup; $2..$7 are the plan's
 * ranges, which never share an hour, so each branch's hours are its own.
 * An edge hour may instead be counted as its rollup total less the raw events
 * of the hour's other side ($8..$12; NULL when unused), which reads fewer raw
 * events when the range covers most of that hour: an edge read from raw events
 * costs about a microsecond per event on a big table (each index entry points at
 * a different heap page). Results come back in binary (hour as timestamptz
 * microseconds, counts as int8).
 */
#define EDGE_SQL(where_events, where_hourly, from, to, hour, minus_from, minus_to)                 \
	"SELECT customer_id, hour, sum(n)::int8 FROM ("                                            \
	" SELECT customer_id, date_trunc('hour', ts, 'UTC') AS hour, count(*) AS n"                \
	" FROM scli_events WHERE " where_events " ts >= " from "::timestamptz"                     \
	" AND ts < " to "::timestamptz GROUP BY 1, 2"                                              \
	" UNION ALL"                                                                               \
	" SELECT customer_id, hour, count FROM scli_hourly"                                        \
	" WHERE " where_hourly " hour = " hour "::timestamptz"                                     \
	" UNION ALL"                                                                               \
	" SELECT customer_id, date_trunc('hour', ts, 'UTC'), -count(*)"                            \
	" FROM scli_events WHERE " where_events " ts >= " minus_from "::timestamptz"               \
	" AND ts < " minus_to "::timestamptz GROUP BY 1, 2"                                        \
	") e GROUP BY 1, 2"

#define COUNT_SQL(where_events, where_hourly)                                                      \
	EDGE_SQL(where_events, where_hourly, "$2", "$3", "$8", "$8", "$9")                         \
	" UNION ALL"                                                                               \
	" SELECT customer_id, hour, count FROM scli_hourly WHERE " where_hourly                    \
	" hour >= $4::timestamptz AND hour < $5::timestamptz"                                      \
	" UNION ALL " EDGE_SQL(where_events, where_hourly, "$6", "$7", "$10", "$11", "$12")

static const char count_one_sql[] = COUNT_SQL("customer_id = $1 AND", "customer_id = $1 AND");
/* $1 is unused here but keeps one parameter list for both statements. */
static const char count_all_sql[] = COUNT_SQL("$1::text IS NULL AND", "$1::text IS NULL AND");

/* Replace every occurrence of the password by "***" and fold lines into one. */
/*
 * Fold the message into one line. Should it hold the password anywhere (libpq
 * quotes parts of a connection string it cannot parse), withhold it whole:
 * masking only the password would still show its length and, for a short one,
 * its letters.
 */
static void scrub(char *msg, size_t cap, const char *password)
{
	char *p;
	size_t len;

	if (password && *password && strstr(msg, password)) {
		snprintf(msg, cap, "(details withheld: they would show the password)");
		return;
	}
	for (p = msg; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	len = strlen(msg);
	while (len && msg[len - 1] == ' ')
		msg[--len] = '\0';
}

/*
 * Whether a failure means the server is gone (SCLI_EIO: retry later, reconnect)
 * rather than a statement failing: a dead connection, an error made by libpq
 * itself (no SQLSTATE: "server closed the connection unexpectedly"), class 08
 * (connection exception) or 57P (the server shutting down).
 */
static bool pg_connection_lost(PGconn *conn, const PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	if (!conn || PQstatus(conn) != CONNECTION_OK)
		return true;
	if (!res || !state)
		return true;
	return !strncmp(state, "08", 2) || !strncmp(state, "57P", 3);
}

/* Set the thread error from a connection/result; SCLI_EIO when the connection is gone. */
static int pg_fail_on(pg_repo *r, PGconn *conn, const PGresult *res, const char *what)
{
	char msg[768];
	/* the primary message alone: the statement text and caret lines are noise here */
	const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	if (!detail || !*detail)
		detail = conn ? PQerrorMessage(conn) : "out of memory";
	snprintf(msg, sizeof(msg), "%s", detail);
	scrub(msg, sizeof(msg), r->password);
	r->lock_timed_out = res && PQresultErrorField(res, PG_DIAG_SQLSTATE) &&
			    !strcmp(PQresultErrorField(res, PG_DIAG_SQLSTATE), "55P03");
	r->schema_ok = false; /* whatever happened, look again next time */
	return scli_error_set(pg_connection_lost(conn, res) ? SCLI_EIO : SCLI_ERROR,
			      "postgres: %s: %s", what, msg);
}

static int pg_fail(pg_repo *r, const PGresult *res, const char *what)
{
	return pg_fail_on(r, r->conn, res, what);
}

/* Run a statement without parameters; 0 when it succeeded. */
static int pg_exec_on(pg_repo *r, PGconn *conn, const char *sql, const char *what)
{
	PGresult *res = PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(res);
	int error = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		error = pg_fail_on(r, conn, res, what);
	PQclear(res);
	return error;
}

static int pg_exec(pg_repo *r, const char *sql, const char *what)
{
	return pg_exec_on(r, r->conn, sql, what);
}

/*
 * Undo the open transaction after a failure, keeping the first error's message.
 * A ROLLBACK that fails because the server is gone may fail on the write, which
 * leaves libpq saying CONNECTION_OK and "in a transaction" until it reads the end
 * of the stream (seen when a batch's other connection failed first and this one
 * sat idle in its transaction): read now, so a lost connection shows as lost.
 */
static void pg_rollback_on(PGconn *conn)
{
	PGresult *res;

	if (!conn || PQstatus(conn) != CONNECTION_OK || PQtransactionStatus(conn) == PQTRANS_IDLE)
		return;
	res = PQexec(conn, "ROLLBACK");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		PQconsumeInput(conn);
	PQclear(res);
}

static void pg_rollback(pg_repo *r)
{
	pg_rollback_on(r->conn);
}

/* The stored schema version, 0 when the database was never initialised. */
static int read_version(int *version, pg_repo *r)
{
	PGresult *res = PQexec(r->conn, "SELECT to_regclass('scli_meta') IS NOT NULL");
	int error = 0;

	*version = 0;
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		error = pg_fail(r, res, "reading the schema version");
		goto done;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "t"))
		goto done;
	PQclear(res);
	res = PQexec(r->conn, "SELECT value::int FROM scli_meta WHERE key = 'schema_version'");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		error = pg_fail(r, res, "reading the schema version");
		goto done;
	}
	*version = PQntuples(res) == 0 || PQgetisnull(res, 0, 0) ? 0 : atoi(PQgetvalue(res, 0, 0));
done:
	PQclear(res);
	return error;
}

static int too_old(int version)
{
	return scli_error_set(SCLI_ESCHEMA,
			      "database schema version %d is older than this scli (%d); "
			      "run `scli init-db` to upgrade",
			      version, SCLI_SCHEMA_VERSION);
}

static int too_new(int version)
{
	return scli_error_set(
	    SCLI_ESCHEMA,
	    "database schema version %d is newer than this scli understands (%d); "
	    "upgrade scli",
	    version, SCLI_SCHEMA_VERSION);
}

static int pg_schema_version(int *version_out, scli_repo *base)
{
	return read_version(version_out, (pg_repo *)base);
}

static int pg_check_schema(scli_repo *base)
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
	if (version == 0)
		return scli_error_set(SCLI_ESCHEMA,
				      "database is not initialised; run `scli init-db` first");
	if (version < SCLI_SCHEMA_VERSION)
		return too_old(version);
	if (version > SCLI_SCHEMA_VERSION)
		return too_new(version);
	r->schema_ok = true;
	return 0;
}

static int pg_init_schema(scli_repo *base)
{
	pg_repo *r = (pg_repo *)base;
	char version_sql[160];
	int version = 0, error;

	/* The advisory lock serialises concurrent init-db runs (CronJob + Job). */
	if ((error = pg_exec(r, "BEGIN", "init-db")) < 0 ||
	    (error = pg_exec(r, "SELECT pg_advisory_xact_lock(5316627)", "init-db")) < 0 ||
	    (error = read_version(&version, r)) < 0)
		goto done;
	if (version > SCLI_SCHEMA_VERSION) {
		error = too_new(version);
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
	if ((error = pg_exec(r, schema_sql, "creating the schema")) < 0 ||
	    (error = pg_exec(r, version_sql, "recording the schema version")) < 0 ||
	    (error = pg_exec(r, "COMMIT", "init-db")) < 0)
		goto done;
done:
	if (error < 0)
		pg_rollback(r);
	return error;
}

static int pg_prepare_on(pg_repo *r, PGconn *conn, const char *name, const char *sql,
			 const char *what)
{
	PGresult *res = PQprepare(conn, name, sql, 0, NULL);
	int error = 0;

	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		error = pg_fail_on(r, conn, res, what);
	PQclear(res);
	return error;
}

/* Staging table and load statement, once per session (not inside a batch's transaction). */
static int pg_prepare_load(pg_repo *r, int link)
{
	PGconn *conn = r->load[link];
	int error;

	if (r->load_prepared[link])
		return 0;
	if ((error = pg_exec_on(r, conn, stage_sql, "creating the staging table")) < 0 ||
	    (error = pg_prepare_on(r, conn, "scli_merge", merge_sql,
				   "preparing the load statement")) < 0)
		return error;
	r->load_prepared[link] = true;
	return 0;
}

/* Count statements only, each prepared when first needed: a read-only role or a
 * standby can count without temp tables, and a one-off count prepares one. */
static int pg_prepare_count(pg_repo *r, bool all)
{
	int error;

	if (all ? r->count_all_prepared : r->count_one_prepared)
		return 0;
	if ((error = pg_prepare_on(r, r->conn, all ? "scli_count_all" : "scli_count_one",
				   all ? count_all_sql : count_one_sql,
				   "preparing the count statement")) < 0)
		return error;
	*(all ? &r->count_all_prepared : &r->count_one_prepared) = true;
	return 0;
}

/* Binary COPY: big-endian integers, text fields as raw bytes, timestamptz as
 * microseconds since 2000-01-01 — the server parses nothing. Measured against
 * text COPY on 1M events: the same within noise on a first load (~16 s, the
 * unique-index merge dominates), slightly faster on a re-load; kept because it
 * needs no escaping and carries the microseconds exactly. */
#define PG_EPOCH_OFFSET_US INT64_C(946684800000000)

static char *put_be(char *p, uint64_t v, int bytes)
{
	int i;

	for (i = bytes - 1; i >= 0; i--)
		*p++ = (char)(v >> (8 * i) & 0xff);
	return p;
}

static uint64_t get_be64(const char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | (unsigned char)p[i];
	return v;
}

static char *put_bin_text(char *p, const char *s, size_t len)
{
	p = put_be(p, len, 4);
	memcpy(p, s, len);
	return p + len;
}

static int build_copy(size_t *len_out, pg_repo *r, const scli_event *events, const uint32_t *order,
		      size_t n)
{
	static const char signature[11] = "PGCOPY\n\377\r\n";
	size_t need = 19 + 2 +
		      n * (2 + 5 * 4 + 4 + 8 + SCLI_CUSTOMER_ID_MAX + SCLI_TRANSACTION_ID_MAX +
			   SCLI_EVENT_TYPE_MAX);
	size_t i;
	char *p;

	if (need > r->copycap) {
		char *buf = realloc(r->copybuf, need);

		if (!buf)
			return scli_error_set(SCLI_ENOMEM, "out of memory building a COPY batch");
		r->copybuf = buf;
		r->copycap = need;
	}
	p = r->copybuf;
	memcpy(p, signature, sizeof(signature)); /* includes the trailing NUL byte */
	p = put_be(p + sizeof(signature), 0, 4); /* flags */
	p = put_be(p, 0, 4);			 /* header extension length */
	for (i = 0; i < n; i++) {
		const scli_event *ev = &events[order[i]];

		p = put_be(p, 5, 2);
		p = put_be(put_be(p, 4, 4), (uint64_t)i, 4);
		p = put_bin_text(p, ev->customer_id, ev->customer_id_len);
		p = put_bin_text(p, ev->transaction_id, ev->transaction_id_len);
		p = put_bin_text(p, ev->event_type, ev->event_type_len);
		p = put_be(put_be(p, 8, 4), (uint64_t)(ev->ts_us - PG_EPOCH_OFFSET_US), 8);
	}
	p = put_be(p, 0xffff, 2); /* trailer: -1 */
	*len_out = (size_t)(p - r->copybuf);
	return 0;
}

static int pg_copy(pg_repo *r, PGconn *conn, size_t len)
{
	PGresult *res = PQexec(conn, "COPY scli_stage (ord, customer_id, transaction_id,"
				     " event_type, ts) FROM STDIN (FORMAT binary)");
	size_t off = 0;
	int error = 0;

	if (PQresultStatus(res) != PGRES_COPY_IN) {
		error = pg_fail_on(r, conn, res, "starting COPY");
		PQclear(res);
		return error;
	}
	PQclear(res);
	while (off < len) {
		size_t chunk = len - off > (1 << 20) ? (1 << 20) : len - off;

		if (PQputCopyData(conn, r->copybuf + off, (int)chunk) != 1) {
			error = pg_fail_on(r, conn, NULL, "sending COPY data");
			break;
		}
		off += chunk;
	}
	if (PQputCopyEnd(conn, error < 0 ? "aborted" : NULL) != 1 && error == 0)
		error = pg_fail_on(r, conn, NULL, "ending COPY");
	while ((res = PQgetResult(conn))) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && error == 0)
			error = pg_fail_on(r, conn, res, "COPY into the staging table");
		PQclear(res);
	}
	return error;
}

/* Room for one batch's order and each link's share; the batch is ordered and
 * deduplicated here. */
static int order_batch(size_t *kept_out, pg_repo *r, const scli_event *events, size_t n)
{
	if (n > r->ordercap) {
		uint32_t *order = n > SIZE_MAX / (3 * sizeof(*order))
				      ? NULL
				      : realloc(r->order, 3 * n * sizeof(*order));

		if (!order)
			return scli_error_set(SCLI_ENOMEM, "out of memory ordering a batch");
		r->order = order;
		r->ordercap = n;
	}
	return scli_events_order_unique(kept_out, r->order, events, n);
}

/*
 * Which load connection stores an event: a hash of (customer_id, hour), so the
 * two never write the same rollup row (nor, as a batch holds each identity once,
 * the same event), and one heavy customer is still spread over both.
 */
static int link_of(const scli_event *ev)
{
	return (int)(XXH3_64bits_withSeed(ev->customer_id, ev->customer_id_len,
					  (XXH64_hash_t)scli_hour_floor(ev->ts_us)) &
		     1);
}

static const char session_sql[] = "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD';"
				  "SET client_min_messages = warning";

/* Server notices ("relation already exists, skipping") are not the user's business. */
static void ignore_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* The second load connection, opened by the first batch that needs it. */
static int pg_open_link(pg_repo *r)
{
	int error;

	if (r->load[1])
		return 0;
	r->load[1] = PQconnectdb(r->conninfo);
	if (!r->load[1] || PQstatus(r->load[1]) != CONNECTION_OK)
		error = pg_fail_on(r, r->load[1], NULL, "opening a second load connection");
	else {
		PQsetNoticeProcessor(r->load[1], ignore_notice, NULL);
		error = pg_exec_on(r, r->load[1], session_sql, "setting up the session");
	}
	if (error < 0) {
		PQfinish(r->load[1]);
		r->load[1] = NULL;
		r->load_prepared[1] = false;
	}
	return error;
}

/*
 * A batch over two connections (two server processes, so both cores work): the
 * distinct events are split by link_of, each share is COPYed and merged in its
 * own transaction, and the two merges run at the same time. Connection 0 takes
 * the merge lock before connection 1 begins, and commits last, so the next
 * loader (waiting for the lock) sees both halves. Either merge failing rolls
 * both back. Only a connection lost (or the process killed) between the two
 * COMMITs can leave half a batch stored — complete (events with their rollup),
 * and finished exactly by running the load again.
 *
 * While the client waits for one connection, the other may sit idle in its
 * transaction; should a third session then queue for a table lock behind it
 * (DDL, LOCK TABLE) and the first connection queue behind that session, no
 * server would see the cycle. So in this mode every lock wait after the merge
 * lock is bounded (lock_timeout), and a batch that times out is rolled back and
 * stored again over one connection, where a wait is only a wait.
 */
static int store_links(size_t *inserted_out, pg_repo *r, const scli_event *events, size_t kept,
		       bool two)
{
	size_t len = 0, count[2] = {0, 0}, inserted = 0, i;
	uint32_t *part[2];
	const uint32_t *list[2];
	bool used[2] = {true, false}, sent[2] = {false, false};
	int error = 0, l;

	part[0] = r->order + r->ordercap;
	part[1] = part[0] + r->ordercap;
	for (i = 0; two && i < kept; i++) {
		l = link_of(&events[r->order[i]]);
		part[l][count[l]++] = r->order[i];
	}
	list[0] = part[0];
	list[1] = part[1];
	/* one connection when asked, when a share is empty or a second one cannot be had */
	if (!two || (count[1] > 0 && (count[0] == 0 || pg_open_link(r) < 0))) {
		list[0] = r->order;
		count[0] = kept;
		count[1] = 0;
	}
	used[1] = count[1] > 0;
	for (l = 0; l < 2 && error == 0; l++)
		if (used[l] && (error = pg_prepare_load(r, l)) == 0)
			error = pg_exec_on(r, r->load[l],
					   l == 1    ? merge_join_sql
					   : used[1] ? merge_begin_bounded_sql
						     : merge_begin_sql,
					   "starting a batch");
	for (l = 0; l < 2 && error == 0; l++) {
		if (!used[l] || count[l] == 0)
			continue;
		if ((error = build_copy(&len, r, events, list[l], count[l])) < 0 ||
		    (error = pg_copy(r, r->load[l], len)) < 0)
			break;
		if (!PQsendQueryPrepared(r->load[l], "scli_merge", 0, NULL, NULL, NULL, 0)) {
			error = pg_fail_on(r, r->load[l], NULL, "storing a batch");
			break;
		}
		sent[l] = true;
	}
	/* Collect every result sent, even after a failure, so both connections are idle. */
	for (l = 0; l < 2; l++) {
		PGresult *res;

		while (sent[l] && (res = PQgetResult(r->load[l]))) {
			if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
				inserted += (size_t)strtoull(PQgetvalue(res, 0, 0), NULL, 10);
			else if (error == 0)
				error = pg_fail_on(r, r->load[l], res, "storing a batch");
			PQclear(res);
		}
	}
	if (error == 0 && used[1] &&
	    (error = pg_exec_on(r, r->load[1], "COMMIT", "committing a batch")) < 0)
		goto done;
	/* Connection 1 has committed: nothing waits on the client any more, so
	 * connection 0's COMMIT (which empties its staging table, taking a lock)
	 * may wait as long as it needs rather than leave half the batch behind. */
	if (error == 0 &&
	    (error = pg_exec_on(r, r->load[0],
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
			pg_rollback_on(r->load[l]);
	return error;
}

static int pg_store_batch(size_t *inserted_out, size_t *duplicates_out, scli_repo *base,
			  const scli_event *events, size_t n)
{
	pg_repo *r = (pg_repo *)base;
	size_t kept = 0, inserted = 0;
	int error;

	*inserted_out = *duplicates_out = 0;
	if (n == 0)
		return 0;
	if ((error = order_batch(&kept, r, events, n)) < 0)
		return error;
	r->lock_timed_out = false;
	error = store_links(&inserted, r, events, kept, r->load_links > 1);
	if (error < 0 && r->lock_timed_out) /* rolled back whole: try again on one connection */
		error = store_links(&inserted, r, events, kept, false);
	if (error < 0)
		return error;
	*inserted_out = inserted;
	*duplicates_out = n - inserted;
	return 0;
}

/* Statement parameter $n (1-based) as a timestamp, formatted into its own slot. */
static void set_bound(const char **params, char (*bounds)[SCLI_TIMESTAMP_BUFSZ], int n, int64_t us)
{
	scli_timestamp_format(bounds[n - 1], us);
	params[n - 1] = bounds[n - 1];
}

static int pg_count_hourly(scli_repo *base, const char *customer_id, int64_t from_us, int64_t to_us,
			   scli_hour_cb cb, void *ctx)
{
	pg_repo *r = (pg_repo *)base;
	char bounds[12][SCLI_TIMESTAMP_BUFSZ];
	const char *params[12];
	scli_count_plan plan;
	PGresult *res = NULL;
	int64_t head_hour, tail_hour;
	bool head_rest, tail_rest;
	int error, i, rows;

	if ((error = pg_prepare_count(r, customer_id == NULL)) < 0)
		return error;
	scli_count_plan_make(&plan, from_us, to_us);
	/* Which edges to count as rollup total less the other side (one customer only:
	 * for all customers neither side has an index to read from). */
	head_hour = scli_hour_floor(plan.head_from);
	tail_hour = plan.tail_from;
	head_rest = customer_id && plan.head_from < plan.head_to &&
		    plan.head_to == head_hour + SCLI_US_PER_HOUR &&
		    plan.head_from - head_hour < plan.head_to - plan.head_from;
	tail_rest = customer_id && plan.tail_from < plan.tail_to &&
		    scli_hour_floor(plan.tail_from) == plan.tail_from &&
		    plan.tail_to - plan.tail_from > tail_hour + SCLI_US_PER_HOUR - plan.tail_to;
	params[0] = customer_id;
	for (i = 1; i < 12; i++)
		params[i] = NULL;
	if (head_rest) { /* [hour, head_from) subtracted from the hour's total */
		set_bound(params, bounds, 8, head_hour);
		set_bound(params, bounds, 9, plan.head_from);
	} else {
		set_bound(params, bounds, 2, plan.head_from);
		set_bound(params, bounds, 3, plan.head_to);
	}
	set_bound(params, bounds, 4, plan.rollup_from);
	set_bound(params, bounds, 5, plan.rollup_to);
	if (tail_rest) { /* [tail_to, hour end) subtracted from the hour's total */
		set_bound(params, bounds, 10, tail_hour);
		set_bound(params, bounds, 11, plan.tail_to);
		set_bound(params, bounds, 12, tail_hour + SCLI_US_PER_HOUR);
	} else {
		set_bound(params, bounds, 6, plan.tail_from);
		set_bound(params, bounds, 7, plan.tail_to);
	}
	res = PQexecPrepared(r->conn, customer_id ? "scli_count_one" : "scli_count_all", 12, params,
			     NULL, NULL, 1);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		error = pg_fail(r, res, "counting");
		goto done;
	}
	if (PQnfields(res) != 3 || PQfsize(res, 1) != 8 || PQfsize(res, 2) != 8) {
		error = scli_error_set(SCLI_ERROR, "unexpected count result from PostgreSQL");
		goto done;
	}
	rows = PQntuples(res);
	for (i = 0; i < rows; i++) {
		/* binary: timestamptz is int8 microseconds since 2000-01-01, counts int8;
		 * libpq ends every value, binary ones too, with a NUL byte */
		int64_t hour = (int64_t)get_be64(PQgetvalue(res, i, 1)) + PG_EPOCH_OFFSET_US;
		int64_t count = (int64_t)get_be64(PQgetvalue(res, i, 2));

		if (PQgetlength(res, i, 0) != (int)strlen(PQgetvalue(res, i, 0))) {
			error =
			    scli_error_set(SCLI_ERROR, "unexpected customer id from PostgreSQL");
			goto done;
		}
		if (count > 0 && (error = cb(ctx, PQgetvalue(res, i, 0), hour, count)) < 0)
			goto done;
	}
	error = 0;
done:
	PQclear(res);
	return error;
}

/* ---- the load ledger ---- */

static int load_state_parse(scli_load_state *out, const char *name)
{
	if (scli_load_state_parse(out, name) < 0)
		return scli_error_set(SCLI_ERROR, "postgres: unknown load state \"%s\"",
				      name ? name : "(null)");
	return 0;
}

/* Length of the well-formed UTF-8 sequence at p[0..n), as PostgreSQL checks it
 * (no overlongs, surrogates or code points past U+10FFFF); 0 when ill-formed. */
static size_t utf8_sequence(const unsigned char *p, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

/* A record's string field (at most cap - 1 bytes, NUL or not) as a text
 * parameter. The server refuses ill-formed UTF-8, and a file name or an error
 * message cut at a fixed length may well hold some: each such byte becomes
 * '?', so the load is recorded rather than lost. `dst` holds `cap` bytes. */
static const char *text_param(char *dst, const char *field, size_t cap)
{
	const unsigned char *src = (const unsigned char *)field;
	size_t n = strnlen(field, cap - 1), i = 0, len;

	while (i < n) {
		if ((len = utf8_sequence(src + i, n - i)) == 0) {
			dst[i++] = '?';
			continue;
		}
		memcpy(dst + i, src + i, len);
		i += len;
	}
	dst[n] = '\0';
	return dst;
}

/* Copy a text value into a record's fixed buffer of `cap` bytes. Someone
 * else's writer may have stored more than fits: cut it, and not inside a UTF-8
 * character, so the record still holds whole characters. */
static void copy_value(char *dst, size_t cap, const PGresult *res, int row, int col)
{
	const char *src = PQgetvalue(res, row, col);
	size_t len = (size_t)PQgetlength(res, row, col);

	if (len > cap - 1) {
		len = cap - 1;
		while (len > 0 && ((unsigned char)src[len] & 0xc0) == 0x80)
			len--;
	}
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* Row `row` of a LOAD_COLUMNS query. */
static int read_load(scli_load_record *rec, const PGresult *res, int row)
{
	memset(rec, 0, sizeof(*rec));
	rec->id = strtoll(PQgetvalue(res, row, 0), NULL, 10);
	copy_value(rec->source, sizeof(rec->source), res, row, 1);
	rec->size = strtoll(PQgetvalue(res, row, 2), NULL, 10);
	copy_value(rec->hash, sizeof(rec->hash), res, row, 3);
	rec->started_us = strtoll(PQgetvalue(res, row, 5), NULL, 10);
	rec->ended_us = strtoll(PQgetvalue(res, row, 6), NULL, 10);
	rec->rows_read = strtoull(PQgetvalue(res, row, 7), NULL, 10);
	rec->inserted = strtoull(PQgetvalue(res, row, 8), NULL, 10);
	rec->duplicates = strtoull(PQgetvalue(res, row, 9), NULL, 10);
	rec->rejected = strtoull(PQgetvalue(res, row, 10), NULL, 10);
	copy_value(rec->error, sizeof(rec->error), res, row, 11);
	copy_value(rec->collector, sizeof(rec->collector), res, row, 12);
	return load_state_parse(&rec->state, PQgetvalue(res, row, 4));
}

/* The ledger commits each change on its own, never inside a batch's transaction
 * (a macro, as it is only used in asserts). */
#define NO_OPEN_TRANSACTION(conn)                                                                  \
	(PQtransactionStatus(conn) != PQTRANS_INTRANS &&                                           \
	 PQtransactionStatus(conn) != PQTRANS_INERROR)

static int pg_ledger_begin(int64_t *id_out, scli_repo *base, const scli_load_record *rec)
{
	pg_repo *r = (pg_repo *)base;
	char source[sizeof(rec->source)], hash[sizeof(rec->hash)], size[24];
	char started[SCLI_TIMESTAMP_BUFSZ], collector[sizeof(rec->collector)];
	const char *params[5];
	PGresult *res;
	int error = 0;

	*id_out = 0;
	assert(NO_OPEN_TRANSACTION(r->conn));
	snprintf(size, sizeof(size), "%" PRId64, rec->size);
	scli_timestamp_format(started, rec->started_us);
	params[0] = text_param(source, rec->source, sizeof(source));
	params[1] = size;
	params[2] = text_param(hash, rec->hash, sizeof(hash));
	params[3] = started;
	params[4] = text_param(collector, rec->collector, sizeof(collector));
	/* No BEGIN: one statement in autocommit is its own committed transaction. */
	res = PQexecParams(r->conn, ledger_begin_sql, 5, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		error = pg_fail(r, res, "recording the start of a load");
	else
		*id_out = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return error;
}

static int pg_ledger_finish(scli_repo *base, const scli_load_record *rec)
{
	pg_repo *r = (pg_repo *)base;
	char id[24], figures[4][24], ended[SCLI_TIMESTAMP_BUFSZ], why[sizeof(rec->error)];
	const char *params[8];
	PGresult *res;
	int error = 0;

	assert(NO_OPEN_TRANSACTION(r->conn));
	snprintf(id, sizeof(id), "%" PRId64, rec->id);
	snprintf(figures[0], sizeof(figures[0]), "%" PRIu64, rec->rows_read);
	snprintf(figures[1], sizeof(figures[1]), "%" PRIu64, rec->inserted);
	snprintf(figures[2], sizeof(figures[2]), "%" PRIu64, rec->duplicates);
	snprintf(figures[3], sizeof(figures[3]), "%" PRIu64, rec->rejected);
	params[0] = id;
	params[1] = scli_load_state_name(rec->state);
	/* 0 means "no end time" in the record, NULL in the table */
	params[2] = NULL;
	if (rec->ended_us) {
		scli_timestamp_format(ended, rec->ended_us);
		params[2] = ended;
	}
	params[3] = figures[0];
	params[4] = figures[1];
	params[5] = figures[2];
	params[6] = figures[3];
	params[7] = text_param(why, rec->error, sizeof(why));
	res = PQexecParams(r->conn, ledger_finish_sql, 8, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		error = pg_fail(r, res, "recording the end of a load");
	else if (strcmp(PQcmdTuples(res), "1"))
		error = scli_error_set(SCLI_ENOTFOUND, "no load with id %" PRId64, rec->id);
	PQclear(res);
	return error;
}

static int pg_ledger_find_completed(scli_load_record *rec_out, scli_repo *base, const char *hash,
				    const char *collector)
{
	pg_repo *r = (pg_repo *)base;
	const char *params[2] = {hash, collector};
	PGresult *res;
	int error;

	res = PQexecParams(r->conn, ledger_find_sql, 2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		error = pg_fail(r, res, "looking up a load");
	else if (PQntuples(res) == 0)
		error = scli_error_set(SCLI_ENOTFOUND, "no completed load with that hash");
	else
		error = read_load(rec_out, res, 0);
	PQclear(res);
	return error;
}

static int pg_ledger_list(scli_repo *base, size_t limit, scli_load_record_cb cb, void *ctx)
{
	pg_repo *r = (pg_repo *)base;
	char limit_text[24];
	const char *params[1] = {limit_text};
	scli_load_record rec;
	PGresult *res;
	int error = 0, i, rows;

	snprintf(limit_text, sizeof(limit_text), "%" PRId64,
		 limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
	res = PQexecParams(r->conn, ledger_list_sql, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		error = pg_fail(r, res, "listing loads");
		goto done;
	}
	rows = PQntuples(res);
	for (i = 0; i < rows; i++)
		if ((error = read_load(&rec, res, i)) < 0 || (error = cb(ctx, &rec)) < 0)
			goto done;
done:
	PQclear(res);
	return error;
}

static void pg_free(scli_repo *base)
{
	pg_repo *r = (pg_repo *)base;

	if (!r)
		return;
	PQfinish(r->conn);
	PQfinish(r->load[1]);
	if (r->conninfo) {
		memset(r->conninfo, 0, strlen(r->conninfo));
		free(r->conninfo);
	}
	if (r->password) {
		memset(r->password, 0, strlen(r->password));
		free(r->password);
	}
	free(r->copybuf);
	free(r->order);
	free(r);
}

static const scli_repo_ops pg_ops = {
    .version = SCLI_REPO_OPS_VERSION,
    .name = "postgres",
    .init_schema = pg_init_schema,
    .check_schema = pg_check_schema,
    .store_batch = pg_store_batch,
    .count_hourly = pg_count_hourly,
    .free = pg_free,
    .schema_version = pg_schema_version,
    .ledger_begin = pg_ledger_begin,
    .ledger_finish = pg_ledger_finish,
    .ledger_find_completed = pg_ledger_find_completed,
    .ledger_list = pg_ledger_list,
};

/* The password the connection string names, if any, so messages can be scrubbed of it. */
static char *conninfo_password(const char *conninfo)
{
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL), *o;
	char *pw = NULL;

	for (o = opts; o && o->keyword; o++)
		if (!strcmp(o->keyword, "password") && o->val && *o->val)
			pw = strdup(o->val);
	PQconninfoFree(opts);
	return pw;
}

static bool conninfo_parses(const char *conninfo)
{
	char *errmsg = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo, &errmsg);

	PQfreemem(errmsg);
	PQconninfoFree(opts);
	return opts != NULL;
}

int scli_repo_postgres_open(scli_repo **out, const char *conninfo)
{
	pg_repo *r = NULL;
	int error = 0;

	*out = NULL;
	/* libpq's parse errors quote the text they could not parse, password and all */
	if (!conninfo_parses(conninfo))
		return scli_error_set(
		    SCLI_EINVALID, "postgres: cannot parse the database connection string "
				   "(check its quoting and %%-escapes; it is not shown here as it "
				   "may hold a password)");
	if (!(r = calloc(1, sizeof(*r))))
		return scli_error_set(SCLI_ENOMEM, "out of memory");
	r->base.ops = &pg_ops;
	r->load_links = 2;
	if (!(r->conninfo = strdup(conninfo))) {
		error = scli_error_set(SCLI_ENOMEM, "out of memory");
		goto done;
	}
	r->password = conninfo_password(conninfo);
	r->conn = PQconnectdb(conninfo);
	r->load[0] = r->conn; /* the first load connection is the session itself */
	if (!r->password && r->conn && PQpass(r->conn) && *PQpass(r->conn))
		r->password = strdup(PQpass(r->conn)); /* from PGPASSWORD or ~/.pgpass */
	if (!r->conn || PQstatus(r->conn) != CONNECTION_OK) {
		error = pg_fail(r, NULL, "cannot connect");
		goto done;
	}
	PQsetNoticeProcessor(r->conn, ignore_notice, NULL);
	if ((error = pg_exec(r, session_sql, "setting up the session")) < 0)
		goto done;
	*out = &r->base;
	r = NULL;
done:
	pg_free(r ? &r->base : NULL);
	return error;
}

void scli_repo_postgres_set_load_connections(scli_repo *base, int n)
{
	pg_repo *r = (pg_repo *)base;

	assert(base && base->ops == &pg_ops);
	r->load_links = n < 2 ? 1 : 2;
}
