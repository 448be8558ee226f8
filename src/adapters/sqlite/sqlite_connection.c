/*
 * The SQLite repository, scli's embedded default: its entry (the ops table,
 * open and free) and how SQLite's errors become scli's. Raw events are kept
 * for identity (duplicates, through a narrow tree of keyed identity hashes)
 * and for the partial edge hours of a query; the rollup of 15-minute cells,
 * maintained in the same transaction as the inserts, answers the whole hours
 * so a long range does not rescan every event. The other parts:
 * sqlite_schema.c (init-db and the version check), sqlite_load.c (batches),
 * sqlite_count.c (hourly counts), sqlite_ledger.c (the load ledger).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "adapters/sqlite/sqlite_internal.h"
#include "scli/alloc.h"
#include "scli/sys/adapters.h"

/* Waiting this long for another writer (an overlapping load) beats failing. */
#define BUSY_TIMEOUT_MS 60000

/*
 * WAL pages between automatic checkpoints (4 KiB each: a WAL of up to about
 * 400 MB while a load runs). A batch rewrites the key-tree pages it touches,
 * and a checkpoint copies only the newest copy of each page, so checkpointing
 * rarely copies each page once for many batches: at 1M random-order events,
 * 100,000 pages instead of 4,000 took the load from about 20 s to 12 s.
 */
#define CHECKPOINT_PAGES 100000

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

/*
 * The page cache, `mib` MiB. A load's random-order work is the identity key
 * tree (about 30 bytes an event): a cache that holds it saves a read per
 * insert. The default (SCLI_SQLITE_CACHE_MIB_DEFAULT) holds the tree of about
 * 2M events; beyond, the kernel's page cache serves the misses.
 */
static int set_cache(sqlite3 *db, int mib)
{
	char sql[64];

	snprintf(sql, sizeof(sql), "PRAGMA cache_size=-%lld", (long long)mib * 1024);
	return sqlite_repo_exec(db, sql, "setting the cache size");
}

/* Translate the connection's last error at the boundary. Lock contention and
 * storage trouble are I/O failures; anything else is a generic one. */
int sqlite_repo_error(sqlite3 *db, const char *what)
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

int sqlite_repo_exec(sqlite3 *db, const char *sql, const char *what)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return sqlite_repo_error(db, what);
	return 0;
}

/* Undo an open transaction after a failure, keeping the first error's message. */
void sqlite_repo_rollback(sqlite3 *db)
{
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

int sqlite_repo_prepare(sqlite3_stmt **stmt, sqlite3 *db, const char *sql)
{
	if (*stmt)
		return 0;
	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, NULL) != SQLITE_OK)
		return sqlite_repo_error(db, "prepare");
	return 0;
}

static void sqlite_free(scli_repo *r)
{
	sqlite_repo *s = (sqlite_repo *)r;
	size_t i;

	if (!s)
		return;
	sqlite3_finalize(s->insert_key);
	sqlite3_finalize(s->append_event);
	sqlite3_finalize(s->next_event_id);
	sqlite3_finalize(s->probe_key);
	sqlite3_finalize(s->upsert_rollup);
	sqlite3_finalize(s->find_customer);
	sqlite3_finalize(s->insert_customer);
	sqlite3_finalize(s->find_batch);
	sqlite3_finalize(s->insert_batch);
	sqlite3_finalize(s->count_one);
	sqlite3_finalize(s->count_all);
	for (i = 0; i < SQLITE_WINDOW_STMTS; i++)
		sqlite3_finalize(s->windows[i]);
	sqlite3_close(s->db);
	scli_free(s->path);
	scli_free(s);
}

/* The identity (device, inode) of the file at s->path now; false when there is none. */
static bool file_identity(dev_t *dev, ino_t *ino, const sqlite_repo *s)
{
	struct stat st;

	if (stat(s->path, &st) < 0)
		return false;
	*dev = st.st_dev;
	*ino = st.st_ino;
	return true;
}

/*
 * Another file at the path (a restore moved one over it), or none: this handle
 * still reads the file it opened, so the caller reopens by URL. One stat(2),
 * about a microsecond. A database that was no file (":memory:") is never
 * replaced.
 */
static bool sqlite_replaced(scli_repo *r)
{
	sqlite_repo *s = (sqlite_repo *)r;
	dev_t dev;
	ino_t ino;

	if (!s->has_identity)
		return false;
	return !file_identity(&dev, &ino, s) || dev != s->dev || ino != s->ino;
}

static const scli_repo_ops sqlite_ops = {
    .version = SCLI_REPO_OPS_VERSION,
    .name = "sqlite",
    .default_batch = SCLI_SQLITE_DEFAULT_BATCH,
    .init_schema = sqlite_repo_init_schema,
    .check_schema = sqlite_repo_check_schema,
    .store_batch = sqlite_repo_store_batch,
    .count_hourly = sqlite_repo_count_hourly,
    .free = sqlite_free,
    .schema_version = sqlite_repo_schema_version,
    .ledger_begin = sqlite_repo_ledger_begin,
    .ledger_finish = sqlite_repo_ledger_finish,
    .ledger_find_completed = sqlite_repo_ledger_find_completed,
    .ledger_list = sqlite_repo_ledger_list,
    .replaced = sqlite_replaced,
    .count_windows = sqlite_repo_count_windows,
};

int scli_repo_sqlite_open(scli_repo **out, const char *path, const scli_repo_options *opts)
{
	sqlite_repo *s = NULL;
	bool create = opts && opts->create;
	int error = 0, flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);

	*out = NULL;
	if (!(s = scli_calloc(1, sizeof(*s)))) {
		error = scli_error_set(SCLI_ENOMEM, "out of memory");
		goto done;
	}
	s->base.ops = &sqlite_ops;
	if (!(s->path = scli_strdup(path))) {
		error = scli_error_set(SCLI_ENOMEM, "out of memory");
		goto done;
	}
	/* The file's identity before the open, so that a file moved in between makes
	 * the handle look replaced (reopened once more) rather than never noticed;
	 * a file the open creates has none before it. */
	s->has_identity = file_identity(&s->dev, &s->ino, s);
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
	if ((error = sqlite_repo_exec(s->db, "PRAGMA journal_mode=WAL", "enabling WAL")) < 0 ||
	    (error = sqlite_repo_exec(s->db, "PRAGMA synchronous=NORMAL", "setting synchronous")) <
		0)
		goto done;
	if ((error = set_cache(s->db, opts && opts->cache_mib > 0
					  ? opts->cache_mib
					  : SCLI_SQLITE_CACHE_MIB_DEFAULT)) < 0 ||
	    (error =
		 sqlite_repo_exec(s->db, "PRAGMA wal_autocheckpoint=" STRINGIFY(CHECKPOINT_PAGES),
				  "setting checkpoints")) < 0)
		goto done;
	if (!s->has_identity) /* created by the open */
		s->has_identity = file_identity(&s->dev, &s->ino, s);
	*out = &s->base;
	s = NULL;
done:
	sqlite_free(s ? &s->base : NULL);
	return error;
}
