/* Test support: see repo_checks.h. */
#include "support/repo_checks.h"
#include "support/repo_helpers.h"

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

/*
 * A database written by scli with schema version 1 (`downgrade` turns the
 * fixture's fresh version-2 database into one): refused until init-db, then
 * upgraded in place with its events intact and a working ledger.
 */
void upgrade_from_version_1(fixture *fx, void (*downgrade)(fixture *fx))
{
	scli_load_record rec;
	scli_event evs[2];
	int version = 0;
	int64_t id = 0;
	load_list *l;
	tally *t;

	event_fill(&evs[0], "c1", "a", AT(4, 10));
	event_fill(&evs[1], "c1", "b", AT(5, 10));
	store(fx->repo, 2, 0, evs, 2);
	downgrade(fx);

	scli_error_clear();
	assert_int_equal(scli_repo_check_schema(fx->repo), SCLI_ESCHEMA);
	assert_error_contains("database schema version 1 is older than this scli (" STRINGIFY(
	    SCLI_SCHEMA_VERSION) ")");
	assert_error_contains("run `scli init-db` to upgrade");
	assert_int_equal(scli_repo_schema_version(&version, fx->repo), 0);
	assert_int_equal(version, 1);
	load_fill(&rec, "events.csv", 10, HASH_A, AT(6, 0));
	assert_true(scli_repo_ledger_begin(&id, fx->repo, &rec) < 0);

	assert_int_equal(scli_repo_init_schema(fx->repo), 0);
	assert_int_equal(scli_repo_check_schema(fx->repo), 0);
	assert_int_equal(scli_repo_schema_version(&version, fx->repo), 0);
	assert_int_equal(version, SCLI_SCHEMA_VERSION);

	/* what was loaded before the upgrade still counts, and still deduplicates */
	t = count(fx->repo, "c1", AT(0, 0), AT(24, 0));
	assert_int_equal(t->n, 2);
	assert_int_equal(total(t), 2);
	free(t);
	store(fx->repo, 0, 2, evs, 2);

	id = begin_load(fx->repo, "events.csv", HASH_A, AT(6, 0));
	finish_load(fx->repo, id, SCLI_LOAD_COMPLETED, "");
	assert_int_equal(scli_repo_ledger_find_completed(&rec, fx->repo, HASH_A, "csv"), 0);
	assert_int_equal(rec.id, id);

	/* and init-db on the upgraded database is a no-op */
	assert_int_equal(scli_repo_init_schema(fx->repo), 0);
	l = list_loads(fx->repo, 10);
	assert_int_equal(l->n, 1);
	assert_int_equal(l->recs[0].id, id);
	free(l);
}

/*
 * A database written by scli with schema version 2 (`downgrade` gives the
 * fixture's fresh database version 2's ledger, with one completed load and no
 * collector column): refused until init-db, then upgraded in place, its events
 * and ledger row kept. The old row names no collector, so it makes no
 * collector skip the file: the next load reads it once more.
 */
void upgrade_from_version_2(fixture *fx, void (*downgrade)(fixture *fx))
{
	scli_load_record rec;
	scli_event evs[1];
	int version = 0;
	load_list *l;
	tally *t;

	event_fill(&evs[0], "c1", "a", AT(4, 10));
	store(fx->repo, 1, 0, evs, 1);
	downgrade(fx);

	scli_error_clear();
	assert_int_equal(scli_repo_check_schema(fx->repo), SCLI_ESCHEMA);
	assert_error_contains("database schema version 2 is older than this scli (" STRINGIFY(
	    SCLI_SCHEMA_VERSION) ")");
	assert_int_equal(scli_repo_init_schema(fx->repo), 0);
	assert_int_equal(scli_repo_check_schema(fx->repo), 0);
	assert_int_equal(scli_repo_schema_version(&version, fx->repo), 0);
	assert_int_equal(version, SCLI_SCHEMA_VERSION);

	l = list_loads(fx->repo, 10);
	assert_int_equal(l->n, 1);
	assert_string_equal(l->recs[0].source, "old.csv");
	assert_string_equal(l->recs[0].hash, HASH_A);
	assert_int_equal(l->recs[0].state, SCLI_LOAD_COMPLETED);
	assert_string_equal(l->recs[0].collector, "");
	free(l);
	assert_int_equal(scli_repo_ledger_find_completed(&rec, fx->repo, HASH_A, "csv"),
			 SCLI_ENOTFOUND);
	store(fx->repo, 0, 1, evs, 1);
	t = count(fx->repo, "c1", AT(0, 0), AT(24, 0));
	assert_int_equal(total(t), 1);
	free(t);
	/* init-db again is a no-op */
	assert_int_equal(scli_repo_init_schema(fx->repo), 0);
	l = list_loads(fx->repo, 10);
	assert_int_equal(l->n, 1);
	free(l);
}

/* With a trigger installed that fails on transaction id "boom": the batch
 * fails and leaves nothing, the ledger row written before it stays. */
void failed_batch_keeps_ledger_row(fixture *fx)
{
	size_t inserted = 9, duplicates = 9;
	scli_event evs[2];
	int64_t id, next;
	load_list *l;
	tally *t;

	id = begin_load(fx->repo, "events.csv", HASH_A, AT(4, 0));
	event_fill(&evs[0], "c1", "a", AT(4, 10));
	event_fill(&evs[1], "c1", "boom", AT(4, 20));
	scli_error_clear();
	assert_true(scli_repo_store_batch(&inserted, &duplicates, fx->repo, evs, 2) < 0);
	assert_error_contains("boom");

	l = list_loads(fx->repo, 10);
	assert_int_equal(l->n, 1);
	assert_int_equal(l->recs[0].id, id);
	assert_int_equal(l->recs[0].state, SCLI_LOAD_RUNNING);
	free(l);

	/* the failed batch left no transaction open behind the ledger's back */
	finish_load(fx->repo, id, SCLI_LOAD_FAILED, "boom");
	next = begin_load(fx->repo, "events.csv", HASH_A, AT(5, 0));
	assert_true(next > id);
	l = list_loads(fx->repo, 10);
	assert_int_equal(l->n, 2);
	assert_int_equal(l->recs[1].state, SCLI_LOAD_FAILED);
	assert_string_equal(l->recs[1].error, "boom");
	free(l);
	t = count(fx->repo, "c1", AT(0, 0), AT(24, 0));
	assert_int_equal(t->n, 0);
	free(t);
}

/* Someone else's writer stored longer strings than a record holds: 1000 "é"
 * as source, 80 "0" as hash, 200 "é" as error (see overlong_sql below). */
static void check_overlong_load(const scli_load_record *rec)
{
	size_t i;

	assert_int_equal(strlen(rec->source), 1024); /* 512 whole characters */
	for (i = 0; i < 1024; i += 2)
		assert_memory_equal(rec->source + i, "\xc3\xa9", 2);
	assert_int_equal(strlen(rec->hash), SCLI_HASH_HEX_LEN);
	assert_int_equal(strspn(rec->hash, "0"), SCLI_HASH_HEX_LEN);
	/* 255 bytes would cut the 128th character: 127 whole ones are kept */
	assert_int_equal(strlen(rec->error), 254);
	for (i = 0; i < 254; i += 2)
		assert_memory_equal(rec->error + i, "\xc3\xa9", 2);
}

void overlong_strings_are_cut(fixture *fx, void (*overwrite)(fixture *fx))
{
	char long_hash[81];
	scli_load_record rec;
	load_list *l;

	finish_load(fx->repo, begin_load(fx->repo, "a.csv", HASH_A, AT(4, 0)), SCLI_LOAD_COMPLETED,
		    "");
	overwrite(fx);
	l = list_loads(fx->repo, 10);
	assert_int_equal(l->n, 1);
	check_overlong_load(&l->recs[0]);
	free(l);
	memset(long_hash, '0', 80);
	long_hash[80] = '\0';
	assert_int_equal(scli_repo_ledger_find_completed(&rec, fx->repo, long_hash, "csv"), 0);
	check_overlong_load(&rec);
}
