/*
 * The PostgreSQL repository's entry and its connections: the ops table, open
 * and free, and how a failure becomes scli's message. Every message goes
 * through scrub(): none ever shows the password, wherever libpq found it
 * (the connection string, PGPASSWORD, ~/.pgpass). The other parts: pg_schema.c
 * (init-db and the version check), pg_load.c (batches over one or two
 * connections), pg_count.c (hourly counts), pg_ledger.c (the load ledger).
 */
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "adapters/postgres/pg_internal.h"
#include "scli/sys/adapters.h"
#include "scli/alloc.h"

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
int pg_repo_fail_on(pg_repo *r, PGconn *conn, const PGresult *res, const char *what)
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

int pg_repo_fail(pg_repo *r, const PGresult *res, const char *what)
{
	return pg_repo_fail_on(r, r->conn, res, what);
}

/* Run a statement without parameters; 0 when it succeeded. */
int pg_repo_exec_on(pg_repo *r, PGconn *conn, const char *sql, const char *what)
{
	PGresult *res = PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(res);
	int error = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		error = pg_repo_fail_on(r, conn, res, what);
	PQclear(res);
	return error;
}

int pg_repo_exec(pg_repo *r, const char *sql, const char *what)
{
	return pg_repo_exec_on(r, r->conn, sql, what);
}

/*
 * Undo the open transaction after a failure, keeping the first error's message.
 * A ROLLBACK that fails because the server is gone may fail on the write, which
 * leaves libpq saying CONNECTION_OK and "in a transaction" until it reads the end
 * of the stream (seen when a batch's other connection failed first and this one
 * sat idle in its transaction): read now, so a lost connection shows as lost.
 */
void pg_repo_rollback_on(PGconn *conn)
{
	PGresult *res;

	if (!conn || PQstatus(conn) != CONNECTION_OK || PQtransactionStatus(conn) == PQTRANS_IDLE)
		return;
	res = PQexec(conn, "ROLLBACK");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		PQconsumeInput(conn);
	PQclear(res);
}

void pg_repo_rollback(pg_repo *r)
{
	pg_repo_rollback_on(r->conn);
}

int pg_repo_prepare_on(pg_repo *r, PGconn *conn, const char *name, const char *sql,
		       const char *what)
{
	PGresult *res = PQprepare(conn, name, sql, 0, NULL);
	int error = 0;

	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		error = pg_repo_fail_on(r, conn, res, what);
	PQclear(res);
	return error;
}

static const char session_sql[] = "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD';"
				  "SET client_min_messages = warning";

/* Server notices ("relation already exists, skipping") are not the user's business. */
static void ignore_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

int pg_repo_session_start(pg_repo *r, PGconn *conn)
{
	PQsetNoticeProcessor(conn, ignore_notice, NULL);
	return pg_repo_exec_on(r, conn, session_sql, "setting up the session");
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
		scli_free(r->conninfo);
	}
	if (r->password) {
		memset(r->password, 0, strlen(r->password));
		scli_free(r->password);
	}
	scli_free(r->copybuf);
	scli_free(r->order);
	scli_free(r->keyed);
	scli_free(r->collided);
	scli_free(r);
}

static const scli_repo_ops pg_ops = {
    .version = SCLI_REPO_OPS_VERSION,
    .name = "postgres",
    .init_schema = pg_repo_init_schema,
    .check_schema = pg_repo_check_schema,
    .store_batch = pg_repo_store_batch,
    .count_hourly = pg_repo_count_hourly,
    .free = pg_free,
    .schema_version = pg_repo_schema_version,
    .ledger_begin = pg_repo_ledger_begin,
    .ledger_finish = pg_repo_ledger_finish,
    .ledger_find_completed = pg_repo_ledger_find_completed,
    .ledger_list = pg_repo_ledger_list,
    .count_windows = pg_repo_count_windows,
};

/* Keep a copy of `password` in r->password, so messages can be scrubbed of it. Out of
 * memory is an error, not a password forgotten: a message might then show it. */
static int keep_password(pg_repo *r, const char *password)
{
	if (r->password || !password || !*password)
		return 0;
	if (!(r->password = scli_strdup(password)))
		return scli_error_set(SCLI_ENOMEM, "out of memory");
	return 0;
}

/* The password the connection string names, if any, into r->password. */
static int conninfo_password(pg_repo *r, const char *conninfo)
{
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL), *o;
	int error = 0;

	/* it parsed a moment ago (conninfo_parses): NULL now is libpq out of memory */
	if (!opts)
		return scli_error_set(SCLI_ENOMEM, "out of memory");
	for (o = opts; o->keyword && error == 0; o++)
		if (!strcmp(o->keyword, "password"))
			error = keep_password(r, o->val);
	PQconninfoFree(opts);
	return error;
}

static bool conninfo_parses(const char *conninfo)
{
	char *errmsg = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo, &errmsg);

	PQfreemem(errmsg);
	PQconninfoFree(opts);
	return opts != NULL;
}

int scli_repo_postgres_open(scli_repo **out, const char *conninfo, const scli_repo_options *opts)
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
	if (!(r = scli_calloc(1, sizeof(*r))))
		return scli_error_set(SCLI_ENOMEM, "out of memory");
	r->base.ops = &pg_ops;
	r->load_links = !opts || opts->load_connections == 0 ? 2
			: opts->load_connections < 2	     ? 1
							     : 2;
	if (!(r->conninfo = scli_strdup(conninfo))) {
		error = scli_error_set(SCLI_ENOMEM, "out of memory");
		goto done;
	}
	if ((error = conninfo_password(r, conninfo)) < 0)
		goto done;
	r->conn = PQconnectdb(conninfo);
	r->load[0] = r->conn; /* the first load connection is the session itself */
	/* from PGPASSWORD or ~/.pgpass */
	if (r->conn && (error = keep_password(r, PQpass(r->conn))) < 0)
		goto done;
	if (!r->conn || PQstatus(r->conn) != CONNECTION_OK) {
		error = pg_repo_fail(r, NULL, "cannot connect");
		goto done;
	}
	if ((error = pg_repo_session_start(r, r->conn)) < 0)
		goto done;
	*out = &r->base;
	r = NULL;
done:
	pg_free(r ? &r->base : NULL);
	return error;
}
