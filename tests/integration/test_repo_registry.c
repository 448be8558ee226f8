/*
 * The repository registry (src/adapters/registry.c): which kind a database URL
 * names, what scli_repo_open says about one it cannot use (never a password),
 * and the options reaching the adapter. The adapters themselves are held to
 * the contract in test_repo_contract.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "scli/sys/adapters.h"
#include "support/tmpdir.h"

/* The kind the registry picks for `url`: the first that recognises it, or NULL. */
static const scli_repo_kind *kind_of(const char *url)
{
	size_t i;

	for (i = 0; scli_repo_kinds[i]; i++)
		if (scli_repo_kinds[i]->recognises && scli_repo_kinds[i]->recognises(url))
			return scli_repo_kinds[i];
	return NULL;
}

static void assert_error_contains(const char *needle)
{
	if (!strstr(scli_error_last(), needle))
		fail_msg("error \"%s\" does not contain \"%s\"", scli_error_last(), needle);
}

static void every_kind_is_listed_once(void **state)
{
	static const char *const names[] = {"sqlite", "postgres", "memory"};
	size_t i, j, n = 0;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const scli_repo_kind *k = scli_repo_kind_find(names[i]);

		assert_non_null(k);
		assert_string_equal(k->name, names[i]);
		assert_non_null(k->open);
	}
	for (i = 0; scli_repo_kinds[i]; i++, n++)
		for (j = 0; j < i; j++)
			assert_string_not_equal(scli_repo_kinds[i]->name, scli_repo_kinds[j]->name);
	assert_int_equal(n, 3);
	assert_null(scli_repo_kind_find("mysql"));
	assert_null(scli_repo_kind_find(""));
	/* no URL opens the memory repository: a typo must not load into thin air */
	assert_null(scli_repo_kind_find("memory")->recognises);
}

static void urls_pick_their_kind(void **state)
{
	static const struct {
		const char *url, *kind; /* NULL: no kind */
	} cases[] = {
	    {"sqlite:/var/lib/scli/scli.db", "sqlite"},
	    {"sqlite:relative.db", "sqlite"},
	    {"sqlite:a=b.db", "sqlite"}, /* a path holding '=' is still a path */
	    {"sqlite:", "sqlite"},	 /* recognised, then refused as naming no file */
	    {"postgresql://scli@db.example/scli", "postgres"},
	    {"postgres://db.example/scli", "postgres"},
	    {"host=/tmp dbname=scli", "postgres"},
	    {"dbname=scli", "postgres"},
	    {"/var/lib/scli/scli.db", NULL},
	    {"scli.db", NULL},
	    {"mysql://u:pw@db.example/scli", NULL},
	    {"memory:", NULL},
	    {"SQLITE:x.db", NULL},
	    {"", NULL},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const scli_repo_kind *k = kind_of(cases[i].url);

		if (!cases[i].kind && k)
			fail_msg("\"%s\" picked %s, want none", cases[i].url, k->name);
		if (cases[i].kind && (!k || strcmp(k->name, cases[i].kind)))
			fail_msg("\"%s\" picked %s, want %s", cases[i].url, k ? k->name : "none",
				 cases[i].kind);
	}
}

static void unrecognised_urls_are_usage_errors(void **state)
{
	scli_repo *r = (scli_repo *)0x1;

	(void)state;
	/* a bare path gets the hint, echoed */
	assert_int_equal(scli_repo_open(&r, "/var/lib/scli.db", NULL), SCLI_EINVALID);
	assert_null(r);
	assert_error_contains("unrecognised database URL \"/var/lib/scli.db\": for a SQLite file, "
			      "write sqlite:/var/lib/scli.db");
	/* anything with a scheme or an '@' may hold a password: never echoed */
	r = (scli_repo *)0x1;
	assert_int_equal(scli_repo_open(&r, "mysql://scli:sekrit-pw@db/scli", NULL), SCLI_EINVALID);
	assert_null(r);
	assert_error_contains("unrecognised database URL (expected sqlite:PATH, postgresql://..., "
			      "postgres://... or a key=value connection string)");
	assert_null(strstr(scli_error_last(), "sekrit"));
	assert_int_equal(scli_repo_open(&r, "scli:sekrit-pw@db", NULL), SCLI_EINVALID);
	assert_null(strstr(scli_error_last(), "sekrit"));
	assert_int_equal(scli_repo_open(&r, "sqlite:", NULL), SCLI_EINVALID);
	assert_null(r);
	assert_error_contains("database URL \"sqlite:\" names no file");
}

static void sqlite_url_and_create(void **state)
{
	scli_repo_options create = {.create = true};
	scli_repo *r = (scli_repo *)0x1;
	char url[600];

	(void)state;
	snprintf(url, sizeof(url), "sqlite:%s/registry.db", test_tmpdir);
	/* count and load never create a file: that is init-db's */
	assert_int_equal(scli_repo_open(&r, url, NULL), SCLI_ENOTFOUND);
	assert_null(r);
	assert_error_contains("run `scli init-db` first");
	assert_int_equal(access(url + 7, F_OK), -1);
	assert_int_equal(scli_repo_open(&r, url, &create), 0);
	assert_string_equal(scli_repo_name(r), "sqlite");
	assert_int_equal(access(url + 7, F_OK), 0);
	scli_repo_free(r);
	assert_int_equal(scli_repo_open(&r, url, NULL), 0);
	scli_repo_free(r);
}

/* libpq's parse errors quote the string, password and all; no server is needed to see that
 * none of it is shown. */
static void postgres_unparseable_never_echoes_password(void **state)
{
	scli_repo *r = (scli_repo *)0x1;

	(void)state;
	assert_int_equal(
	    scli_repo_open(&r, "host=db password=sekrit-pw dbname='never closed", NULL),
	    SCLI_EINVALID);
	assert_null(r);
	assert_error_contains("postgres: cannot parse the database connection string");
	assert_null(strstr(scli_error_last(), "sekrit"));
	assert_int_equal(scli_repo_open(&r, "postgresql://scli:sekrit-pw@db/x?nosuch=1", NULL),
			 SCLI_EINVALID);
	assert_null(strstr(scli_error_last(), "sekrit"));
}

static void memory_opens_by_name(void **state)
{
	scli_repo *r = NULL;

	(void)state;
	assert_int_equal(scli_repo_kind_find("memory")->open(&r, "", NULL), 0);
	assert_string_equal(scli_repo_name(r), "memory");
	assert_int_equal(scli_repo_init_schema(r), 0);
	scli_repo_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(every_kind_is_listed_once),
	    cmocka_unit_test(urls_pick_their_kind),
	    cmocka_unit_test(unrecognised_urls_are_usage_errors),
	    cmocka_unit_test(sqlite_url_and_create),
	    cmocka_unit_test(postgres_unparseable_never_echoes_password),
	    cmocka_unit_test(memory_opens_by_name),
	};

	return cmocka_run_group_tests_name("repository registry", tests, test_tmpdir_make,
					   test_tmpdir_remove);
}
