/*
 * The PostgreSQL repository beyond the contract: schemas written by older and
 * newer scli, triggers that fail a batch, overlong ledger text written by
 * someone else, and connection failures whose messages never show the password.
 * Needs the test run's server (tests/support/with-postgres.sh); without it the
 * suite is an explicit skip.
 */
#include <libpq-fe.h>
#include <stdbool.h>

#include "adapters/repo_keys.h"
#include "scli/sys/adapters.h"
#include "support/repo_checks.h"
#include "support/repo_factories.h"
#include "support/repo_helpers.h"

static void pg_too_new_schema_refused(void **state)
{
	fixture *fx = *state;
	char sql[400];

	snprintf(sql, sizeof(sql),
		 "UPDATE %s.scli_meta SET value = '99' WHERE key = 'schema_version'", fx->dir);
	assert_int_equal(pg_admin(sql), 0);
	assert_int_equal(scli_repo_check_schema(fx->repo), SCLI_ESCHEMA);
	assert_non_null(strstr(scli_error_last(), "newer"));
	assert_int_equal(scli_repo_init_schema(fx->repo), SCLI_ESCHEMA);
	assert_non_null(strstr(scli_error_last(), "newer"));
}

static void pg_connection_refused_is_io_error_without_password(void **state)
{
	scli_repo *repo = NULL;
	char conninfo[600];

	(void)state;
	snprintf(conninfo, sizeof(conninfo), "%s port=1 dbname=postgres password=sekrit-pw-123",
		 getenv("SCLI_TEST_PG"));
	assert_int_equal(scli_repo_open(&repo, conninfo, NULL), SCLI_EIO);
	assert_null(repo);
	assert_non_null(strstr(scli_error_last(), "cannot connect"));
	assert_null(strstr(scli_error_last(), "sekrit"));
	assert_null(strchr(scli_error_last(), '\n'));
}

/*
 * Turn the fixture's fresh schema-4 database into the tables an older scli
 * wrote, keeping its events: version 1 (events by their texts, an hourly
 * rollup, no ledger), 2 (plus version 2's ledger, with one completed load) or
 * 3 (that ledger with its collector).
 */
static void pg_make_old(fixture *fx, int version)
{
	char sql[4096];
	int n;

	n = snprintf(sql, sizeof(sql),
		     "SET search_path = %s;"
		     "CREATE TABLE old AS SELECT c.customer_id, e.transaction_id, e.event_type, e.ts"
		     " FROM scli_events e JOIN scli_customers c USING (customer_key);"
		     "DROP TABLE scli_events, scli_rollup, scli_customers, scli_batches, scli_loads;"
		     "DELETE FROM scli_meta WHERE key = 'identity_secret';"
		     "CREATE TABLE scli_events (customer_id text COLLATE \"C\" NOT NULL,"
		     " transaction_id text COLLATE \"C\" NOT NULL, event_type text NOT NULL,"
		     " ts timestamptz NOT NULL, PRIMARY KEY (customer_id, transaction_id));"
		     "CREATE INDEX scli_events_customer_ts ON scli_events (customer_id, ts);"
		     "CREATE TABLE scli_hourly (customer_id text COLLATE \"C\" NOT NULL,"
		     " hour timestamptz NOT NULL, count bigint NOT NULL,"
		     " PRIMARY KEY (customer_id, hour));"
		     "INSERT INTO scli_events SELECT * FROM old;"
		     "INSERT INTO scli_hourly SELECT customer_id, date_trunc('hour', ts, 'UTC'),"
		     " count(*) FROM old GROUP BY 1, 2;"
		     "DROP TABLE old;",
		     fx->dir);
	if (version >= 2)
		n += snprintf(sql + n, sizeof(sql) - (size_t)n,
			      "CREATE TABLE scli_loads (id bigserial PRIMARY KEY,"
			      " source text NOT NULL, size bigint NOT NULL,"
			      " hash text COLLATE \"C\" NOT NULL, state text NOT NULL"
			      " CHECK (state IN ('running', 'completed', 'failed')),"
			      " started timestamptz NOT NULL, ended timestamptz,"
			      " rows_read bigint NOT NULL DEFAULT 0, inserted bigint NOT NULL DEFAULT 0,"
			      " duplicates bigint NOT NULL DEFAULT 0, rejected bigint NOT NULL DEFAULT 0,"
			      " error text NOT NULL DEFAULT '');"
			      "CREATE INDEX scli_loads_completed_hash ON scli_loads (hash)"
			      " WHERE state = 'completed';"
			      "INSERT INTO scli_loads (source, size, hash, state, started, ended,"
			      " rows_read, inserted) VALUES ('old.csv', 10, '" HASH_A "', 'completed',"
			      " now(), now(), 1, 1);");
	if (version >= 3)
		n += snprintf(sql + n, sizeof(sql) - (size_t)n,
			      "ALTER TABLE scli_loads ADD COLUMN collector text COLLATE \"C\""
			      " NOT NULL DEFAULT '';"
			      "DROP INDEX scli_loads_completed_hash;"
			      "CREATE INDEX scli_loads_completed_key ON scli_loads (hash, collector)"
			      " WHERE state = 'completed';");
	snprintf(sql + n, sizeof(sql) - (size_t)n,
		 "UPDATE scli_meta SET value = '%d' WHERE key = 'schema_version'", version);
	assert_int_equal(pg_admin(sql), 0);
}

static void pg_downgrade(fixture *fx)
{
	pg_make_old(fx, 1);
}

static void pg_upgrade_from_version_1(void **state)
{
	upgrade_from_version_1(*state, pg_downgrade);
}

static void pg_downgrade_to_2(fixture *fx)
{
	pg_make_old(fx, 2);
}

static void pg_upgrade_from_version_2(void **state)
{
	upgrade_from_version_2(*state, pg_downgrade_to_2);
}

/* One value of a query run in the test's schema, as text ("" on no row). */
static void pg_value(char *out, size_t cap, fixture *fx, const char *query)
{
	char conninfo[700];
	PGconn *conn;
	PGresult *res;

	snprintf(conninfo, sizeof(conninfo), "%s dbname=postgres options='-csearch_path=%s'",
		 getenv("SCLI_TEST_PG"), fx->dir);
	conn = PQconnectdb(conninfo);
	res = PQexec(conn, query);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", query, PQerrorMessage(conn));
	snprintf(out, cap, "%s", PQntuples(res) ? PQgetvalue(res, 0, 0) : "");
	PQclear(res);
	PQfinish(conn);
}

/*
 * A version-3 database with many events over many hours and customers, some
 * keys forced to collide (3-bit keys): the upgrade keeps every event, answers
 * every count as before, and a re-load finds every event already there.
 */
static void pg_upgrade_from_version_3_many(void **state)
{
	fixture *fx = *state;
	scli_event *evs = calloc(3000, sizeof(*evs));
	char name[32], tx[32], got[64];
	tally *before, *after;
	size_t i;

	assert_non_null(evs);
	for (i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "cust-%zu", i % 7);
		snprintf(tx, sizeof(tx), "t%zu", i);
		event_fill(&evs[i], name, tx, AT(0, 0) + (int64_t)(i * 7919 % 4000) * MIN);
	}
	store(fx->repo, 3000, 0, evs, 3000);
	before = count(fx->repo, NULL, AT(0, 0), AT(80, 0));
	pg_make_old(fx, 3);
	repo_keys_test_weaken(3);
	assert_int_equal(scli_repo_init_schema(fx->repo), 0);
	assert_int_equal(scli_repo_check_schema(fx->repo), 0);
	after = count(fx->repo, NULL, AT(0, 0), AT(80, 0));
	assert_int_equal(after->n, before->n);
	for (i = 0; i < before->n; i++)
		assert_int_equal(at(after, before->rows[i].customer_id, before->rows[i].hour),
				 before->rows[i].count);
	/* a re-load in other batches than the first load's: every event probed, none new */
	store(fx->repo, 0, 1000, evs + 1000, 1000);
	store(fx->repo, 0, 2000, evs, 2000);
	repo_keys_test_weaken(0);
	pg_value(got, sizeof(got), fx,
		 "SELECT (SELECT count(*) FROM scli_events) || ' ' ||"
		 " (SELECT sum(count) FROM scli_rollup) || ' ' ||"
		 " (SELECT count(*) FROM scli_events WHERE id_key::text LIKE '00000000-%')");
	assert_string_equal(got, "3000 3000 3000"); /* and the keys were the weak ones */
	free(before);
	free(after);
	free(evs);
}

/* A small xorshift generator: the same events on every run. */
static uint64_t next_random(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * Identity keys cut to 3 bits: nearly every identity shares its key with
 * others. Batches of every size (so over one connection and two), with repeats
 * inside and across batches: inserted, duplicates and every hour's count equal
 * a brute-force reckoning, first copy wins.
 */
static void pg_forced_collisions_exact(void **state)
{
	enum { CUSTOMERS = 3, IDS = 150, BATCHES = 60 };
	fixture *fx = *state;
	static int64_t stored_at[CUSTOMERS][IDS]; /* 0: not stored */
	int64_t want[CUSTOMERS][24];
	scli_event evs[64];
	uint64_t seed = 88172645463325252u;
	char name[16], tx[16];
	size_t b, i, j;
	tally *t;

	memset(stored_at, 0, sizeof(stored_at));
	memset(want, 0, sizeof(want));
	repo_keys_test_weaken(3);
	for (b = 0; b < BATCHES; b++) {
		size_t n = 1 + (size_t)(next_random(&seed) % (b % 3 == 0 ? 3 : 64));
		size_t want_inserted = 0;
		bool in_batch[CUSTOMERS][IDS] = {{false}};

		for (i = 0; i < n; i++) {
			int c = (int)(next_random(&seed) % CUSTOMERS);
			int id = (int)(next_random(&seed) % IDS);
			int64_t ts = AT(0, 0) + (int64_t)(next_random(&seed) % (24 * 60)) * MIN;

			snprintf(name, sizeof(name), "c%d", c);
			snprintf(tx, sizeof(tx), "tx-%d", id);
			event_fill(&evs[i], name, tx, ts);
			if (!stored_at[c][id] && !in_batch[c][id]) {
				in_batch[c][id] = true;
				want_inserted++;
			}
		}
		store(fx->repo, want_inserted, n - want_inserted, evs, n);
		for (i = 0; i < n; i++) { /* the first copy in the batch wins */
			int c = evs[i].customer_id[1] - '0';
			int id = atoi(evs[i].transaction_id + 3);

			if (!stored_at[c][id]) {
				stored_at[c][id] = evs[i].ts_us;
				want[c][(evs[i].ts_us - AT(0, 0)) / H]++;
			}
		}
	}
	repo_keys_test_weaken(0);
	for (i = 0; i < CUSTOMERS; i++) {
		snprintf(name, sizeof(name), "c%zu", i);
		t = count(fx->repo, name, AT(0, 0), AT(24, 0));
		for (j = 0; j < 24; j++)
			assert_int_equal(at(t, name, AT(j, 0)), want[i][j]);
		free(t);
		/* and an edge that cuts hours, read from raw events */
		t = count(fx->repo, name, AT(3, 17), AT(9, 41));
		for (j = 3; j <= 9; j++) {
			int64_t w = 0;
			size_t id;

			for (id = 0; id < IDS; id++)
				if (stored_at[i][id] >= AT(3, 17) && stored_at[i][id] < AT(9, 41) &&
				    (stored_at[i][id] - AT(0, 0)) / H == (int64_t)j)
					w++;
			assert_int_equal(at(t, name, AT(j, 0)), w);
		}
		free(t);
	}
}

/*
 * The per-batch ledger: a batch stored again is recognised whole by its digest
 * (all duplicates, without a probe: an event removed behind scli's back is not
 * noticed), and a batch that differs in one event is probed row by row.
 */
static void pg_batch_digest(void **state)
{
	fixture *fx = *state;
	scli_event evs[20];
	char tx[16], got[64], sql[400];
	size_t i;

	for (i = 0; i < 20; i++) {
		snprintf(tx, sizeof(tx), "d%zu", i);
		event_fill(&evs[i], i % 2 ? "c1" : "c2", tx, AT(4, (int64_t)i * 3));
	}
	store(fx->repo, 20, 0, evs, 20);
	store(fx->repo, 0, 20, evs, 20);
	pg_value(got, sizeof(got), fx, "SELECT count(*) || ' ' || sum(events) || ' ' ||"
				       " sum(inserted) FROM scli_batches");
	assert_string_equal(got, "1 20 20");

	snprintf(sql, sizeof(sql), "DELETE FROM %s.scli_events WHERE transaction_id = 'd0'",
		 fx->dir);
	assert_int_equal(pg_admin(sql), 0);
	store(fx->repo, 0, 20, evs, 20); /* skipped whole: d0 is not probed */

	snprintf(evs[19].transaction_id, sizeof(evs[19].transaction_id), "other");
	evs[19].transaction_id_len = 5;
	store(fx->repo, 2, 18, evs, 20); /* probed: "other" and d0 are new */
	pg_value(got, sizeof(got), fx,
		 "SELECT count(*) || ' ' || sum(inserted) FROM scli_batches");
	assert_string_equal(got, "2 22");
	store(fx->repo, 0, 20, evs, 20);
	/* a batch of the same events in another order is another batch: probed */
	store(fx->repo, 0, 19, evs + 1, 19);
	pg_value(got, sizeof(got), fx, "SELECT count(*) FROM scli_batches");
	assert_string_equal(got, "3");
}

static void pg_failed_batch_keeps_ledger_row(void **state)
{
	fixture *fx = *state;
	char sql[1400];

	snprintf(sql, sizeof(sql),
		 "CREATE FUNCTION %s.boom() RETURNS trigger LANGUAGE plpgsql AS $$"
		 " BEGIN IF NEW.transaction_id = 'boom' THEN RAISE EXCEPTION 'boom'; END IF;"
		 " RETURN NEW; END $$;"
		 "CREATE TRIGGER boom BEFORE INSERT ON %s.scli_events"
		 " FOR EACH ROW EXECUTE FUNCTION %s.boom()",
		 fx->dir, fx->dir, fx->dir);
	assert_int_equal(pg_admin(sql), 0);
	failed_batch_keeps_ledger_row(fx);
}

static void pg_overwrite_overlong(fixture *fx)
{
	char sql[1024];

	snprintf(sql, sizeof(sql),
		 "UPDATE %s.scli_loads SET source = repeat('\xc3\xa9', 1000),"
		 " hash = repeat('0', 80), error = repeat('\xc3\xa9', 200)",
		 fx->dir);
	assert_int_equal(pg_admin(sql), 0);
}

static void pg_overlong_strings_are_cut(void **state)
{
	overlong_strings_are_cut(*state, pg_overwrite_overlong);
}

static const struct CMUnitTest postgres_tests[] = {
    cmocka_unit_test_setup_teardown(pg_too_new_schema_refused, setup_initialised, teardown_repo),
    cmocka_unit_test_setup_teardown(pg_upgrade_from_version_1, setup_initialised, teardown_repo),
    cmocka_unit_test_setup_teardown(pg_upgrade_from_version_2, setup_initialised, teardown_repo),
    cmocka_unit_test_setup_teardown(pg_upgrade_from_version_3_many, setup_initialised,
				    teardown_repo),
    cmocka_unit_test_setup_teardown(pg_forced_collisions_exact, setup_initialised, teardown_repo),
    cmocka_unit_test_setup_teardown(pg_batch_digest, setup_initialised, teardown_repo),
    cmocka_unit_test_setup_teardown(pg_failed_batch_keeps_ledger_row, setup_initialised,
				    teardown_repo),
    cmocka_unit_test_setup_teardown(pg_overlong_strings_are_cut, setup_initialised, teardown_repo),
    cmocka_unit_test(pg_connection_refused_is_io_error_without_password),
};

static int run_group(const char *name)
{
	return cmocka_run_group_tests_name(name, postgres_tests, NULL, NULL);
}

int main(void)
{
	return repo_factories_run("repo postgres-specific", run_group, "postgres");
}
