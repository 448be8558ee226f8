/*
 * The SQLite repository's load ledger (scli_loads): each change is its own
 * autocommitted statement, never part of a batch's transaction, so a row
 * survives whatever later batch fails.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "adapters/sqlite/sqlite_internal.h"

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
		return sqlite_repo_error(db, "preparing a load ledger statement");
	return 0;
}

int sqlite_repo_ledger_begin(int64_t *id_out, scli_repo *r, const scli_load_record *rec)
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
		error = sqlite_repo_error(db, "binding a load");
		goto done;
	}
	if (sqlite3_step(st) != SQLITE_DONE) {
		error = sqlite_repo_error(db, "recording the start of a load");
		goto done;
	}
	*id_out = sqlite3_last_insert_rowid(db);
done:
	sqlite3_finalize(st);
	return error;
}

int sqlite_repo_ledger_finish(scli_repo *r, const scli_load_record *rec)
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
		error = sqlite_repo_error(db, "binding a load");
		goto done;
	}
	if (sqlite3_step(st) != SQLITE_DONE) {
		error = sqlite_repo_error(db, "recording the end of a load");
		goto done;
	}
	if (sqlite3_changes(db) != 1)
		error = scli_error_set(SCLI_ENOTFOUND, "no load with id %lld", (long long)rec->id);
done:
	sqlite3_finalize(st);
	return error;
}

int sqlite_repo_ledger_find_completed(scli_load_record *rec_out, scli_repo *r, const char *hash,
				      const char *collector)
{
	sqlite3 *db = ((sqlite_repo *)r)->db;
	sqlite3_stmt *st = NULL;
	int error, rc;

	if ((error = ledger_prepare(&st, db, LEDGER_FIND_SQL)) < 0)
		goto done;
	if (sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(st, 2, collector, -1, SQLITE_STATIC)) {
		error = sqlite_repo_error(db, "binding a hash");
		goto done;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		error = read_load(rec_out, st);
	else if (rc == SQLITE_DONE)
		error = scli_error_set(SCLI_ENOTFOUND, "no completed load with that hash");
	else
		error = sqlite_repo_error(db, "looking up a load");
done:
	sqlite3_finalize(st);
	return error;
}

int sqlite_repo_ledger_list(scli_repo *r, size_t limit, scli_load_record_cb cb, void *ctx)
{
	sqlite3 *db = ((sqlite_repo *)r)->db;
	sqlite3_stmt *st = NULL;
	scli_load_record rec;
	int error, rc;

	if ((error = ledger_prepare(&st, db, LEDGER_LIST_SQL)) < 0)
		goto done;
	if (sqlite3_bind_int64(st, 1, limit > INT64_MAX ? INT64_MAX : (sqlite3_int64)limit)) {
		error = sqlite_repo_error(db, "binding a limit");
		goto done;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((error = read_load(&rec, st)) < 0 || (error = cb(ctx, &rec)) < 0)
			goto done;
	}
	if (rc != SQLITE_DONE)
		error = sqlite_repo_error(db, "listing loads");
done:
	sqlite3_finalize(st);
	return error;
}
