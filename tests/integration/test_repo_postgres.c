/*
 * The PostgreSQL repository beyond the contract: schemas written by older and
 * newer scli, triggers that fail a batch, overlong ledger text written by
 * someone else, and connection failures whose messages never show the password.
 * Needs the test run's server (tests/support/with-postgres.sh); without it the
 * suite is an explicit skip.
 */
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

static void pg_downgrade(fixture *fx)
{
	char sql[1024];

	snprintf(sql, sizeof(sql),
		 "DROP TABLE %s.scli_loads;"
		 "UPDATE %s.scli_meta SET value = '1' WHERE key = 'schema_version'",
		 fx->dir, fx->dir);
	assert_int_equal(pg_admin(sql), 0);
}

static void pg_upgrade_from_version_1(void **state)
{
	upgrade_from_version_1(*state, pg_downgrade);
}

/* Version 2's ledger as version 2 created it, with one completed load. */
static void pg_downgrade_to_2(fixture *fx)
{
	char sql[2048];

	snprintf(sql, sizeof(sql),
		 "SET search_path = %s;"
		 "DROP INDEX scli_loads_completed_key;"
		 "ALTER TABLE scli_loads DROP COLUMN collector;"
		 "CREATE INDEX scli_loads_completed_hash ON scli_loads (hash)"
		 "  WHERE state = 'completed';"
		 "INSERT INTO scli_loads (source, size, hash, state, started, ended, rows_read,"
		 " inserted) VALUES ('old.csv', 10, '" HASH_A "', 'completed', now(), now(), 1, 1);"
		 "UPDATE scli_meta SET value = '2' WHERE key = 'schema_version'",
		 fx->dir);
	assert_int_equal(pg_admin(sql), 0);
}

static void pg_upgrade_from_version_2(void **state)
{
	upgrade_from_version_2(*state, pg_downgrade_to_2);
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
