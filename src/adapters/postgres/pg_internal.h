/* Shared by the PostgreSQL repository's files (private to src/adapters/postgres):
 * the adapter's state, its connection and error helpers (pg_connection.c) and
 * the ops each file implements. Not installed. */
#ifndef SCLI_ADAPTERS_PG_INTERNAL_H
#define SCLI_ADAPTERS_PG_INTERNAL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adapters/repo_keys.h"
#include "scli/sys/repository.h"

/* One distinct event of a batch on its way to scli_events: its position in the
 * batch, its customer's key and its identity key at `variant` (see pg_load.c). */
typedef struct pg_keyed {
	unsigned char key[REPO_ID_KEY_BYTES];
	int32_t customer_key;
	uint32_t ev;
	uint32_t variant;
} pg_keyed;

typedef struct pg_repo {
	scli_repo base;
	PGconn *conn;
	char *password; /* scrubbed from every message; never printed */
	bool schema_ok; /* check_schema passed on this connection: count and load skip it */
	bool secret_ok; /* `secret` read from scli_meta (it never changes once made) */
	repo_secret secret;
	/* The load's two connections: load[0] is conn; load[1] is opened by the first
	 * batch (conninfo kept for it; it may hold a password, wiped on free). */
	PGconn *load[2];
	bool load_prepared[2]; /* staging table and load statement exist in that session */
	char *conninfo;
	bool lock_timed_out; /* the last failure was a lock_timeout (SQLSTATE 55P03) */
	int load_links;	     /* connections a load uses: 1 or 2 */
	bool count_one_prepared, count_all_prepared; /* count statements in this session */
	bool windows_list_prepared, windows_all_prepared; /* pg_windows.c's, likewise */
	char *copybuf;				     /* COPY data of one batch */
	size_t copycap;
	uint32_t *order; /* one batch's distinct events in identity order */
	size_t ordercap;
	pg_keyed *keyed; /* the distinct events keyed, then each link's share, then the */
	size_t keyedcap; /* next round's (4 lists of up to `keyedcap` each) */
	unsigned char *collided; /* per event of the batch: its key was another identity's */
	size_t collidedcap;
} pg_repo;

/* timestamptz on the wire (binary COPY, binary results): microseconds since
 * 2000-01-01, this many after the Unix epoch. */
#define PG_EPOCH_OFFSET_US INT64_C(946684800000000)

/* A big-endian unsigned integer of `bytes` bytes (a binary result's int4, int8). */
static inline uint64_t pg_get_be(const char *p, int bytes)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < bytes; i++)
		v = v << 8 | (unsigned char)p[i];
	return v;
}

/* ---- pg_connection.c: errors (scrubbed of the password) and statements ---- */

/* Set the thread error from a connection/result; SCLI_EIO when the connection is gone. */
int pg_repo_fail_on(pg_repo *r, PGconn *conn, const PGresult *res, const char *what);
/* The same on the session's own connection. */
int pg_repo_fail(pg_repo *r, const PGresult *res, const char *what);
/* Run a statement without parameters; 0 when it succeeded. */
int pg_repo_exec_on(pg_repo *r, PGconn *conn, const char *sql, const char *what);
int pg_repo_exec(pg_repo *r, const char *sql, const char *what);
/* Undo the open transaction after a failure, keeping the first error's message. */
void pg_repo_rollback_on(PGconn *conn);
void pg_repo_rollback(pg_repo *r);
/* Prepare statement `name` on `conn`. */
int pg_repo_prepare_on(pg_repo *r, PGconn *conn, const char *name, const char *sql,
		       const char *what);
/* Set up a new connection's session (UTC, ISO dates, no notices). */
int pg_repo_session_start(pg_repo *r, PGconn *conn);

/* ---- the ops, one file each ---- */

/* pg_schema.c */
int pg_repo_init_schema(scli_repo *base);
int pg_repo_check_schema(scli_repo *base);
int pg_repo_schema_version(int *version_out, scli_repo *base);
/* pg_load.c */
/* The identity secret into r->secret, once per handle. */
int pg_repo_read_secret(pg_repo *r);
/*
 * Store keyed events on the session's connection inside the transaction the
 * caller holds (init-db's upgrade): collisions resolved by variant rounds, the
 * rollup left to the caller. `keyed` is reordered and its variants raised.
 */
int pg_repo_keyed_room(pg_repo *r, size_t n); /* room for n in r->keyed, first */
int pg_repo_store_keyed(size_t *inserted_out, pg_repo *r, const scli_event *events,
			pg_keyed *keyed, size_t n);
int pg_repo_store_batch(size_t *inserted_out, size_t *duplicates_out, scli_repo *base,
			const scli_event *events, size_t n);
/* pg_count.c */
int pg_repo_count_hourly(scli_repo *base, const char *customer_id, int64_t from_us, int64_t to_us,
			 scli_hour_cb cb, void *ctx);
/* pg_windows.c */
int pg_repo_count_windows(scli_repo *base, const scli_window_query *q, scli_window_cb cb,
			  void *ctx);
/* pg_ledger.c */
int pg_repo_ledger_begin(int64_t *id_out, scli_repo *base, const scli_load_record *rec);
int pg_repo_ledger_finish(scli_repo *base, const scli_load_record *rec);
int pg_repo_ledger_find_completed(scli_load_record *rec_out, scli_repo *base, const char *hash,
				  const char *collector);
int pg_repo_ledger_list(scli_repo *base, size_t limit, scli_load_record_cb cb, void *ctx);

#endif
