/* Shared by the SQLite repository's files (private to src/adapters/sqlite): the
 * adapter's state, its error and statement helpers (sqlite_connection.c) and the
 * ops each file implements. Not installed. */
#ifndef SCLI_ADAPTERS_SQLITE_INTERNAL_H
#define SCLI_ADAPTERS_SQLITE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <sqlite3.h>

#include "adapters/repo_keys.h"
#include "scli/sys/repository.h"

/* sqlite_windows.c's statements: each _ONE follows its _ALL. */
enum {
	SQLITE_WINDOW_CELLS_ALL,
	SQLITE_WINDOW_CELLS_ONE,
	SQLITE_WINDOW_CELL_SUM_ALL,
	SQLITE_WINDOW_CELL_SUM_ONE,
	SQLITE_WINDOW_RAW_ALL,
	SQLITE_WINDOW_RAW_ONE,
	SQLITE_WINDOW_TYPED_RAW_ALL,
	SQLITE_WINDOW_TYPED_RAW_ONE,
	SQLITE_WINDOW_STMTS
};

typedef struct sqlite_repo {
	scli_repo base; /* must be first: scli_repo * <-> sqlite_repo * */
	sqlite3 *db;
	/* Prepared lazily: the tables do not exist before init-db. */
	sqlite3_stmt *insert_key;
	sqlite3_stmt *append_event;
	sqlite3_stmt *next_event_id;
	sqlite3_stmt *probe_key;
	sqlite3_stmt *upsert_rollup;
	sqlite3_stmt *find_customer;
	sqlite3_stmt *insert_customer;
	sqlite3_stmt *find_batch;
	sqlite3_stmt *insert_batch;
	sqlite3_stmt *count_one;
	sqlite3_stmt *count_all;
	sqlite3_stmt *windows[SQLITE_WINDOW_STMTS];
	/* The identity secret (scli_meta), read once per handle before the first batch. */
	bool has_secret;
	repo_secret secret;
	/* The file this handle opened, to tell when another is moved over its path
	 * (replaced); has_identity is false when there was none (":memory:"). */
	char *path;
	bool has_identity;
	dev_t dev;
	ino_t ino;
} sqlite_repo;

/* ---- sqlite_connection.c ---- */

/* Translate the connection's last error at the boundary: SCLI_EIO for lock
 * contention and storage trouble, SCLI_ERROR otherwise. */
int sqlite_repo_error(sqlite3 *db, const char *what);
/* Run SQL without results; 0 when it succeeded. */
int sqlite_repo_exec(sqlite3 *db, const char *sql, const char *what);
/* Undo an open transaction after a failure, keeping the first error's message. */
void sqlite_repo_rollback(sqlite3 *db);
/* Prepare `sql` into *stmt, once: a statement already there is kept. */
int sqlite_repo_prepare(sqlite3_stmt **stmt, sqlite3 *db, const char *sql);

/* ---- the ops, one file each ---- */

/* sqlite_schema.c */
int sqlite_repo_init_schema(scli_repo *r);
/* The identity secret into s->secret, read from scli_meta the first time. */
int sqlite_repo_load_secret(sqlite_repo *s);
int sqlite_repo_check_schema(scli_repo *r);
int sqlite_repo_schema_version(int *version_out, scli_repo *r);
/* sqlite_load.c */
int sqlite_repo_store_batch(size_t *inserted_out, size_t *duplicates_out, scli_repo *r,
			    const scli_event *events, size_t n);
/*
 * Store `n` distinct events (no identity twice) inside the transaction the
 * caller holds, without touching the rollup or the batch ledger: init-db's
 * upgrade moves the old events with it and rebuilds the rollup from them.
 */
int sqlite_repo_store_events(size_t *inserted_out, sqlite_repo *s, const scli_event *events,
			     size_t n);
/* sqlite_count.c */
int sqlite_repo_count_hourly(scli_repo *r, const char *customer_id, int64_t from_us, int64_t to_us,
			     scli_hour_cb cb, void *ctx);
/* sqlite_windows.c */
int sqlite_repo_count_windows(scli_repo *r, const scli_window_query *q, scli_window_cb cb,
			      void *ctx);
/* sqlite_ledger.c */
int sqlite_repo_ledger_begin(int64_t *id_out, scli_repo *r, const scli_load_record *rec);
int sqlite_repo_ledger_finish(scli_repo *r, const scli_load_record *rec);
int sqlite_repo_ledger_find_completed(scli_load_record *rec_out, scli_repo *r, const char *hash,
				      const char *collector);
int sqlite_repo_ledger_list(scli_repo *r, size_t limit, scli_load_record_cb cb, void *ctx);

#endif
