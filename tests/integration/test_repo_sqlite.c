/*
 * The SQLite repository beyond the contract: its file (missing, not a
 * database, reopened), other writers (locks, triggers that fail a batch half-way,
 * schemas written by older and newer scli), each through a raw second
 * connection to the same file.
 */
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "adapters/repo_keys.h"
#include "scli/sys/adapters.h"
#include "support/repo_checks.h"
#include "support/repo_factories.h"
#include "support/repo_helpers.h"

/* Open the SQLite file at `path` as load and count do: by URL, never creating it. */
static int open_existing(scli_repo **out, const char *path)
{
	char url[600];

	snprintf(url, sizeof(url), "sqlite:%s", path);
	return scli_repo_open(out, url, NULL);
}

/* Run SQL on the test's database through a second, raw connection. */
static void raw_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	char *msg = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("raw sql failed: %s", msg ? msg : "?");
	sqlite3_close(db);
}

static void sqlite_too_new_schema(void **state)
{
	fixture *fx = *state;
	int version = 0;

	raw_exec(fx->path, "UPDATE scli_meta SET value = '99' WHERE key = 'schema_version'");
	scli_error_clear();
	assert_int_equal(scli_repo_init_schema(fx->repo), SCLI_ESCHEMA);
	assert_error_contains("newer");
	assert_error_contains("99");
	scli_error_clear();
	assert_int_equal(scli_repo_check_schema(fx->repo), SCLI_ESCHEMA);
	assert_error_contains("newer");
	assert_int_equal(scli_repo_schema_version(&version, fx->repo), 0);
	assert_int_equal(version, 99);
}

static void sqlite_too_new_schema_on_fresh_meta(void **state)
{
	fixture *fx = *state;

	/* someone else's newer scli created only its meta table */
	raw_exec(fx->path, "CREATE TABLE scli_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
			   "INSERT INTO scli_meta VALUES ('schema_version', '99');");
	assert_int_equal(scli_repo_init_schema(fx->repo), SCLI_ESCHEMA);
	assert_error_contains("newer");
	raw_exec(fx->path, "SELECT 1"); /* the rollback left the file usable */
}

static void sqlite_open_missing_without_create(void **state)
{
	fixture *fx = *state;
	scli_repo *r = (scli_repo *)0x1;
	char missing[512];

	snprintf(missing, sizeof(missing), "%s/missing.db", fx->dir);
	scli_error_clear();
	assert_int_equal(open_existing(&r, missing), SCLI_ENOTFOUND);
	assert_null(r);
	assert_error_contains("does not exist");
	assert_error_contains("scli init-db");
	assert_int_equal(access(missing, F_OK), -1);
	/* the existing one opens fine without create */
	assert_int_equal(open_existing(&r, fx->path), 0);
	assert_int_equal(scli_repo_check_schema(r), 0);
	scli_repo_free(r);
}

static void sqlite_open_not_a_database(void **state)
{
	fixture *fx = *state;
	scli_repo *r = NULL;
	char bogus[512];
	FILE *f;

	snprintf(bogus, sizeof(bogus), "%s/bogus.db", fx->dir);
	assert_non_null(f = fopen(bogus, "w"));
	fputs("this is not an sqlite database, just some text long enough for a header...\n", f);
	fclose(f);
	if (open_existing(&r, bogus) == 0) {
		/* SQLite may defer reading the header; the first real use must fail. */
		assert_true(scli_repo_check_schema(r) < 0);
		scli_repo_free(r);
	} else {
		assert_null(r);
	}
	assert_true(!strncmp(scli_error_last(), "sqlite: ", 8));
	unlink(bogus);
}

static void sqlite_persists_across_reopen(void **state)
{
	fixture *fx = *state;
	scli_event evs[3];
	tally *t;

	event_fill(&evs[0], "c1", "a", AT(4, 10));
	event_fill(&evs[1], "c1", "b", AT(5, 10));
	event_fill(&evs[2], "c1", "c", AT(5, 20));
	store(fx->repo, 3, 0, evs, 3);
	scli_repo_free(fx->repo);
	fx->repo = NULL;

	assert_int_equal(open_existing(&fx->repo, fx->path), 0);
	assert_int_equal(scli_repo_check_schema(fx->repo), 0);
	store(fx->repo, 0, 3, evs, 3);
	t = count(fx->repo, "c1", AT(4, 30), AT(6, 0));
	assert_int_equal(at(t, "c1", AT(4, 0)), 0);
	assert_int_equal(at(t, "c1", AT(5, 0)), 2);
	free(t);
}

/* A trigger makes one insert fail after others in the same batch succeeded. */
static void failed_batch_leaves_nothing(fixture *fx, const char *trigger)
{
	scli_event evs[4];
	size_t inserted = 9, duplicates = 9;
	tally *t;

	store1(fx->repo, "c1", "before", AT(4, 5));
	raw_exec(fx->path, trigger);

	event_fill(&evs[0], "c1", "a", AT(4, 10));
	event_fill(&evs[1], "c1", "b", AT(5, 10));
	event_fill(&evs[2], "c1", "boom", AT(5, 20));
	event_fill(&evs[3], "c1", "c", AT(6, 10));
	scli_error_clear();
	assert_true(scli_repo_store_batch(&inserted, &duplicates, fx->repo, evs, 4) < 0);
	assert_int_equal(inserted, 0);
	assert_int_equal(duplicates, 0);
	assert_error_contains("sqlite: ");
	assert_error_contains("boom");

	/* neither raw events (edge path) nor the rollup (whole hours) kept anything */
	t = count(fx->repo, "c1", AT(4, 0), AT(7, 0));
	assert_int_equal(total(t), 1);
	free(t);
	t = count(fx->repo, "c1", AT(4, 1), AT(6, 59));
	assert_int_equal(total(t), 1);
	free(t);

	/* the same batch goes in whole once the cause is gone: nothing was left behind */
	raw_exec(fx->path, "DROP TRIGGER boom");
	store(fx->repo, 4, 0, evs, 4);
	t = count(fx->repo, "c1", AT(4, 0), AT(7, 0));
	assert_int_equal(total(t), 5);
	free(t);
}

static void sqlite_batch_failing_on_event_rolls_back(void **state)
{
	failed_batch_leaves_nothing(*state, "CREATE TRIGGER boom BEFORE INSERT ON scli_events"
					    " WHEN NEW.transaction_id = 'boom'"
					    " BEGIN SELECT RAISE(ABORT, 'boom'); END");
}

static void sqlite_batch_failing_on_rollup_rolls_back(void **state)
{
	/* fails after every event row went in, while updating the rollup */
	failed_batch_leaves_nothing(*state, "CREATE TRIGGER boom BEFORE INSERT ON scli_rollup"
					    " WHEN NEW.cell_us = 1614574800000000"
					    " BEGIN SELECT RAISE(ABORT, 'boom'); END");
}

/* Another writer holds the lock for a moment: the batch waits, then lands. */
static void sqlite_concurrent_writer_waits(void **state)
{
	fixture *fx = *state;
	int fds[2], status = 0;
	char ready;
	pid_t pid;
	tally *t;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct timespec hold = {0, 300000000};
		sqlite3 *db = NULL;
		int ok;

		close(fds[0]);
		ok = sqlite3_open(fx->path, &db) == SQLITE_OK &&
		     sqlite3_exec(
			 db,
			 "BEGIN IMMEDIATE;"
			 " INSERT INTO scli_customers VALUES (1000, 'other');"
			 " INSERT INTO scli_rollup VALUES (1000, 0, 'click', 1);"
			 " INSERT INTO scli_events VALUES (1000, zeroblob(16), 'x', 'click', 1);",
			 NULL, NULL, NULL) == SQLITE_OK;
		if (write(fds[1], "r", 1) != 1)
			ok = 0;
		nanosleep(&hold, NULL);
		ok = ok && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK;
		sqlite3_close(db);
		_exit(ok ? 0 : 1);
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &ready, 1), 1);
	close(fds[0]);
	store1(fx->repo, "c1", "a", AT(4, 10));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	t = count(fx->repo, NULL, 0, AT(24, 0));
	assert_int_equal(at(t, "other", 0), 1);
	assert_int_equal(at(t, "c1", AT(4, 0)), 1);
	free(t);
}

/* The tables of versions 1..3 exactly as they were, holding the events the
 * version-4 tables hold (and nothing of version 4 left). */
#define SQLITE_OLD_TABLES                                                                          \
	"CREATE TABLE events (customer_id TEXT NOT NULL, transaction_id TEXT NOT NULL,"            \
	" event_type TEXT NOT NULL, ts_us INTEGER NOT NULL,"                                       \
	" PRIMARY KEY (customer_id, transaction_id)) WITHOUT ROWID;"                               \
	"CREATE INDEX events_customer_ts ON events(customer_id, ts_us);"                           \
	"CREATE TABLE hourly (customer_id TEXT NOT NULL, hour_us INTEGER NOT NULL,"                \
	" count INTEGER NOT NULL, PRIMARY KEY (customer_id, hour_us)) WITHOUT ROWID;"              \
	"INSERT INTO events SELECT c.customer_id, e.transaction_id, e.event_type, e.ts_us"         \
	" FROM scli_events e JOIN scli_customers c USING (customer_key);"                          \
	"INSERT INTO hourly SELECT customer_id, ts_us - (((ts_us % 3600000000) + 3600000000)"      \
	" % 3600000000), count(*) FROM events GROUP BY 1, 2;"                                      \
	"DROP TABLE scli_events; DROP TABLE scli_rollup; DROP TABLE scli_customers;"               \
	"DROP TABLE scli_batches; DROP TABLE scli_event_keys;"                                     \
	"DELETE FROM scli_meta WHERE key = 'identity_secret';"

static void sqlite_downgrade(fixture *fx)
{
	raw_exec(fx->path,
		 SQLITE_OLD_TABLES "DROP TABLE scli_loads;"
				   "UPDATE scli_meta SET value = '1' WHERE key = 'schema_version'");
}

static void sqlite_upgrade_from_version_1(void **state)
{
	upgrade_from_version_1(*state, sqlite_downgrade);
}

/* Version 2's ledger exactly as version 2 created it, with one completed load. */
static void sqlite_downgrade_to_2(fixture *fx)
{
	raw_exec(fx->path, SQLITE_OLD_TABLES
		 "DROP TABLE scli_loads;"
		 "CREATE TABLE scli_loads (id INTEGER PRIMARY KEY AUTOINCREMENT,"
		 " source TEXT NOT NULL, size INTEGER NOT NULL, hash TEXT NOT NULL,"
		 " state TEXT NOT NULL CHECK (state IN ('running', 'completed', 'failed')),"
		 " started_us INTEGER NOT NULL, ended_us INTEGER NOT NULL DEFAULT 0,"
		 " rows_read INTEGER NOT NULL DEFAULT 0, inserted INTEGER NOT NULL DEFAULT 0,"
		 " duplicates INTEGER NOT NULL DEFAULT 0, rejected INTEGER NOT NULL DEFAULT 0,"
		 " error TEXT NOT NULL DEFAULT '');"
		 "CREATE INDEX scli_loads_hash_state ON scli_loads(hash, state);"
		 "INSERT INTO scli_loads (source, size, hash, state, started_us, ended_us,"
		 " rows_read, inserted) VALUES ('old.csv', 10, '" HASH_A "', 'completed', 1, 2,"
		 " 1, 1);"
		 "UPDATE scli_meta SET value = '2' WHERE key = 'schema_version'");
}

static void sqlite_upgrade_from_version_2(void **state)
{
	upgrade_from_version_2(*state, sqlite_downgrade_to_2);
}

/* An upgrade that fails half-way leaves the database at version 1. */
static void sqlite_failed_upgrade_changes_nothing(void **state)
{
	fixture *fx = *state;
	int version = 0;

	sqlite_downgrade(fx);
	/* a view in the ledger's place: creating its index fails */
	raw_exec(fx->path, "CREATE VIEW scli_loads AS SELECT 1 AS hash, 2 AS state");
	assert_true(scli_repo_init_schema(fx->repo) < 0);
	assert_error_contains("sqlite: ");
	assert_int_equal(scli_repo_schema_version(&version, fx->repo), 0);
	assert_int_equal(version, 1);
	assert_int_equal(scli_repo_check_schema(fx->repo), SCLI_ESCHEMA);
	assert_error_contains("to upgrade");
	raw_exec(fx->path, "DROP VIEW scli_loads");
	assert_int_equal(scli_repo_init_schema(fx->repo), 0);
	assert_int_equal(scli_repo_check_schema(fx->repo), 0);
}

static void sqlite_failed_batch_keeps_ledger_row(void **state)
{
	fixture *fx = *state;
	load_list *l;

	raw_exec(fx->path, "CREATE TRIGGER boom BEFORE INSERT ON scli_events"
			   " WHEN NEW.transaction_id = 'boom'"
			   " BEGIN SELECT RAISE(ABORT, 'boom'); END");
	failed_batch_keeps_ledger_row(fx);

	/* and it is on disk, not just in this connection */
	scli_repo_free(fx->repo);
	fx->repo = NULL;
	assert_int_equal(open_existing(&fx->repo, fx->path), 0);
	l = list_loads(fx->repo, 10);
	assert_int_equal(l->n, 2);
	assert_int_equal(l->recs[0].state, SCLI_LOAD_RUNNING);
	assert_int_equal(l->recs[1].state, SCLI_LOAD_FAILED);
	free(l);
}

static void sqlite_overwrite_overlong(fixture *fx)
{
	/* hex(zeroblob(n)) is 2n zeros; each pair of them becomes one "é" */
	raw_exec(fx->path, "UPDATE scli_loads SET"
			   " source = replace(hex(zeroblob(1000)), '00', '\xc3\xa9'),"
			   " hash = hex(zeroblob(40)),"
			   " error = replace(hex(zeroblob(200)), '00', '\xc3\xa9')");
}

static void sqlite_overlong_strings_are_cut(void **state)
{
	overlong_strings_are_cut(*state, sqlite_overwrite_overlong);
}

/*
 * A restore: another database moved over the path. The open handle says it was
 * replaced and still reads the old file; reopened by URL, the new one is read,
 * and that handle is not replaced. The handle has only read, as serve's do: one
 * that wrote would leave its WAL beside the path when closed (SQLite does not
 * checkpoint into a moved file), and the next open would replay it.
 */
static void sqlite_replaced_file_is_noticed(void **state)
{
	fixture *fx = *state;
	tally *t;

	store1(fx->repo, "c1", "old", AT(4, 10));
	scli_repo_free(fx->repo);
	assert_int_equal(open_existing(&fx->repo, fx->path), 0);
	assert_false(scli_repo_replaced(fx->repo));
	assert_int_equal(repo_factory_current->replace(fx), 0);
	assert_true(scli_repo_replaced(fx->repo));
	t = count(fx->repo, "c1", AT(0, 0), AT(24, 0));
	assert_int_equal(total(t), 1);
	free(t);

	scli_repo_free(fx->repo);
	fx->repo = NULL;
	assert_int_equal(open_existing(&fx->repo, fx->path), 0);
	assert_false(scli_repo_replaced(fx->repo));
	assert_int_equal(scli_repo_check_schema(fx->repo), 0);
	t = count(fx->repo, "c1", AT(0, 0), AT(24, 0));
	assert_int_equal(t->n, 0);
	free(t);
}

/* A file renamed away is replaced (by nothing, as when removed); renamed back,
 * it is the same file again. */
static void sqlite_file_moved_away_and_back(void **state)
{
	fixture *fx = *state;
	char away[600];

	snprintf(away, sizeof(away), "%s.away", fx->path);
	assert_int_equal(rename(fx->path, away), 0);
	assert_true(scli_repo_replaced(fx->repo));
	assert_int_equal(rename(away, fx->path), 0);
	assert_false(scli_repo_replaced(fx->repo));
}

/* An in-memory SQLite database has no file to replace. */
static void sqlite_memory_database_is_never_replaced(void **state)
{
	static const scli_repo_options create = {.create = true};
	scli_repo *r = NULL;

	(void)state;
	assert_int_equal(scli_repo_open(&r, "sqlite::memory:", &create), 0);
	assert_false(scli_repo_replaced(r));
	assert_int_equal(scli_repo_init_schema(r), 0);
	assert_false(scli_repo_replaced(r));
	scli_repo_free(r);
}

/* One integer a raw query returns. */
static int64_t raw_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

enum { COLLIDE_CUSTOMERS = 3, COLLIDE_IDS = 400, COLLIDE_HOURS = 6 };

/* Identity i of customer c: its transaction id and its (first) timestamp. */
static void collide_event(scli_event *ev, int c, int i, int64_t shift)
{
	char cust[16], tx[32];

	snprintf(cust, sizeof(cust), "cust-%d", c);
	snprintf(tx, sizeof(tx), "tx-%d", i);
	event_fill(ev, cust, tx, AT(i % COLLIDE_HOURS, (i * 7) % 60) + shift);
}

/*
 * Identity keys cut to 3 bits: nearly every identity shares its key with
 * others, in the same batch and across batches. Every distinct identity is
 * stored once, every repeat (same identity, other timestamp) is a duplicate,
 * and the counts equal a brute-force tally of first copies.
 */
static void sqlite_forced_collisions_are_exact(void **state)
{
	enum { N = COLLIDE_CUSTOMERS * COLLIDE_IDS };
	fixture *fx = *state;
	scli_event *evs = calloc(2 * N, sizeof(*evs));
	int64_t want[COLLIDE_CUSTOMERS][COLLIDE_HOURS] = {{0}};
	size_t n = 0, half;
	char cust[16];
	int c, i, h;
	tally *t;

	assert_non_null(evs);
	repo_keys_test_weaken(3);
	/* the first half of each customer's identities, each twice in the batch */
	for (c = 0; c < COLLIDE_CUSTOMERS; c++)
		for (i = 0; i < COLLIDE_IDS / 2; i++) {
			collide_event(&evs[n++], c, i, 0);
			collide_event(&evs[n++], c, i, 30 * MIN); /* a repeat: not counted */
			want[c][i % COLLIDE_HOURS]++;
		}
	half = n;
	store(fx->repo, half / 2, half / 2, evs, half);
	/* then all of them: the first half again (duplicates), the second half new */
	n = 0;
	for (c = 0; c < COLLIDE_CUSTOMERS; c++)
		for (i = 0; i < COLLIDE_IDS; i++) {
			collide_event(&evs[n++], c, i, i < COLLIDE_IDS / 2 ? 10 * MIN : 0);
			if (i >= COLLIDE_IDS / 2)
				want[c][i % COLLIDE_HOURS]++;
		}
	store(fx->repo, N / 2, N / 2, evs, N);
	store(fx->repo, 0, N, evs, N);		   /* the same batch: skipped by its digest */
	store(fx->repo, 0, N - 1, evs + 1, N - 1); /* another batch: probed, all there */

	t = count(fx->repo, NULL, AT(0, 0), AT(COLLIDE_HOURS + 1, 0));
	assert_int_equal(total(t), N);
	for (c = 0; c < COLLIDE_CUSTOMERS; c++) {
		snprintf(cust, sizeof(cust), "cust-%d", c);
		for (h = 0; h < COLLIDE_HOURS; h++)
			assert_int_equal(at(t, cust, AT(h, 0)), want[c][h]);
	}
	free(t);
	/* the keys did collide: most identities sit at a variant above 0, so far
	 * fewer than N keys have the 3-bit shape of variant 0 */
	assert_int_equal(raw_int(fx->path, "SELECT count(*) FROM scli_event_keys"), N);
	assert_true(raw_int(fx->path,
			    "SELECT count(*) FROM scli_event_keys"
			    " WHERE substr(id_key, 1, 15) = zeroblob(15)"
			    " AND unicode(substr(id_key, 16)) < 8") <= COLLIDE_CUSTOMERS * 8);
	repo_keys_test_weaken(0);
	free(evs);
}

/*
 * A batch whose digest the ledger holds is skipped whole: inserted 0,
 * duplicates n, and no key is even tried (a trigger that fails any key insert
 * stays silent). The same events in another batch are probed row by row.
 */
static void sqlite_stored_batch_is_skipped_by_digest(void **state)
{
	fixture *fx = *state;
	scli_event evs[5];
	size_t inserted = 9, duplicates = 9;

	event_fill(&evs[0], "c1", "a", AT(4, 10));
	event_fill(&evs[1], "c1", "b", AT(4, 20));
	event_fill(&evs[2], "c1", "a", AT(4, 30)); /* repeat inside the batch */
	event_fill(&evs[3], "c2", "a", AT(5, 10));
	event_fill(&evs[4], "c2", "c", AT(5, 50));
	store(fx->repo, 4, 1, evs, 5);
	assert_int_equal(raw_int(fx->path, "SELECT count(*) FROM scli_batches"), 1);
	assert_int_equal(raw_int(fx->path, "SELECT events FROM scli_batches"), 5);
	assert_int_equal(raw_int(fx->path, "SELECT inserted FROM scli_batches"), 4);
	assert_int_equal(raw_int(fx->path, "SELECT length(digest) FROM scli_batches"), 32);

	raw_exec(fx->path, "CREATE TRIGGER boom BEFORE INSERT ON scli_event_keys"
			   " BEGIN SELECT RAISE(ABORT, 'boom'); END");
	store(fx->repo, 0, 5, evs, 5);
	/* the same events in another order: another digest, so each is probed */
	scli_error_clear();
	assert_true(scli_repo_store_batch(&inserted, &duplicates, fx->repo, evs + 1, 4) < 0);
	assert_error_contains("boom");
	raw_exec(fx->path, "DROP TRIGGER boom");
	store(fx->repo, 0, 4, evs + 1, 4);
	assert_int_equal(raw_int(fx->path, "SELECT count(*) FROM scli_batches"), 2);
	assert_int_equal(raw_int(fx->path, "SELECT count(*) FROM scli_events"), 4);
}

/* A version-3 database upgraded with colliding keys: every old event moves
 * over (the variants sort them out), counts stay, and a re-load finds all. */
static void sqlite_upgrade_from_version_3_with_collisions(void **state)
{
	enum { N = 300 };
	fixture *fx = *state;
	scli_event evs[N];
	char tx[32];
	int i;
	tally *t;

	for (i = 0; i < N; i++) {
		snprintf(tx, sizeof(tx), "tx-%d", i);
		event_fill(&evs[i], i % 2 ? "c1" : "c2", tx, AT(i % 5, i % 60));
	}
	store(fx->repo, N, 0, evs, N);
	raw_exec(fx->path, SQLITE_OLD_TABLES "UPDATE scli_meta SET value = '3'"
					     " WHERE key = 'schema_version'");
	assert_int_equal(raw_int(fx->path, "SELECT count(*) FROM events"), N);
	repo_keys_test_weaken(3);
	if (scli_repo_init_schema(fx->repo) < 0)
		fail_msg("init-db: %s", scli_error_last());
	assert_int_equal(scli_repo_check_schema(fx->repo), 0);
	assert_int_equal(raw_int(fx->path, "SELECT count(*) FROM sqlite_master"
					   " WHERE name IN ('events', 'hourly')"),
			 0);
	t = count(fx->repo, NULL, AT(0, 0), AT(6, 0));
	assert_int_equal(total(t), N);
	free(t);
	t = count(fx->repo, "c1", AT(0, 30), AT(4, 30)); /* edges from raw events */
	assert_int_equal(total(t), 120);
	free(t);
	store(fx->repo, 0, N - 1, evs + 1, N - 1);
	repo_keys_test_weaken(0);
}

static const struct CMUnitTest sqlite_tests[] = {
    cmocka_unit_test_setup_teardown(sqlite_too_new_schema, setup_initialised, teardown_repo),
    cmocka_unit_test_setup_teardown(sqlite_too_new_schema_on_fresh_meta, setup_repo, teardown_repo),
    cmocka_unit_test_setup_teardown(sqlite_open_missing_without_create, setup_initialised,
				    teardown_repo),
    cmocka_unit_test_setup_teardown(sqlite_open_not_a_database, setup_repo, teardown_repo),
    cmocka_unit_test_setup_teardown(sqlite_persists_across_reopen, setup_initialised,
				    teardown_repo),
    cmocka_unit_test_setup_teardown(sqlite_batch_failing_on_event_rolls_back, setup_initialised,
				    teardown_repo),
    cmocka_unit_test_setup_teardown(sqlite_batch_failing_on_rollup_rolls_back, setup_initialised,
				    teardown_repo),
    cmocka_unit_test_setup_teardown(sqlite_concurrent_writer_waits, setup_initialised,
				    teardown_repo),
    cmocka_unit_test_setup_teardown(sqlite_upgrade_from_version_2, setup_initialised,
				    teardown_repo),
    cmocka_unit_test_setup_teardown(sqlite_upgrade_from_version_1, setup_initialised,
				    teardown_repo),
    cmocka_unit_test_setup_teardown(sqlite_failed_upgrade_changes_nothing, setup_initialised,
				    teardown_repo),
    cmocka_unit_test_setup_teardown(sqlite_failed_batch_keeps_ledger_row, setup_initialised,
				    teardown_repo),
    cmocka_unit_test_setup_teardown(sqlite_overlong_strings_are_cut, setup_initialised,
				    teardown_repo),
    cmocka_unit_test_setup_teardown(sqlite_replaced_file_is_noticed, setup_initialised,
				    teardown_repo),
    cmocka_unit_test_setup_teardown(sqlite_file_moved_away_and_back, setup_initialised,
				    teardown_repo),
    cmocka_unit_test(sqlite_memory_database_is_never_replaced),
    cmocka_unit_test_setup_teardown(sqlite_forced_collisions_are_exact, setup_initialised,
				    teardown_repo),
    cmocka_unit_test_setup_teardown(sqlite_stored_batch_is_skipped_by_digest, setup_initialised,
				    teardown_repo),
    cmocka_unit_test_setup_teardown(sqlite_upgrade_from_version_3_with_collisions,
				    setup_initialised, teardown_repo),
};

static int run_group(const char *name)
{
	return cmocka_run_group_tests_name(name, sqlite_tests, NULL, NULL);
}

int main(void)
{
	return repo_factories_run("repo sqlite-specific", run_group, "sqlite");
}
