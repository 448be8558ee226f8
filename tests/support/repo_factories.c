/* Test support: see repo_factories.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "scli/sys/adapters.h"
#include "support/repo_factories.h"

/* No URL names the memory repository: the registry's table opens it by name. */
static int open_memory(scli_repo **out, fixture *fx)
{
	(void)fx;
	return scli_repo_kind_find("memory")->open(out, "", NULL);
}

/* A fresh directory per test, so tests never see each other's databases. */
static int make_temp_dir(fixture *fx)
{
	const char *base = getenv("SCLI_TEST_TMP");

	if (!base || !*base)
		base = "/tmp";
	if (mkdir(base, 0777) < 0 && errno != EEXIST) {
		char cmd[512];

		/* a nested SCLI_TEST_TMP: let the shell do mkdir -p */
		snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", base);
		if (system(cmd) != 0)
			return -1;
	}
	snprintf(fx->dir, sizeof(fx->dir), "%s/repo-contract-XXXXXX", base);
	if (!mkdtemp(fx->dir))
		return -1;
	snprintf(fx->path, sizeof(fx->path), "%s/scli.db", fx->dir);
	return 0;
}

static int open_sqlite(scli_repo **out, fixture *fx)
{
	static const scli_repo_options create = {.create = true};
	char url[600];

	if (make_temp_dir(fx) < 0)
		return -1;
	snprintf(url, sizeof(url), "sqlite:%s", fx->path);
	return scli_repo_open(out, url, &create);
}

static void cleanup_dir(fixture *fx)
{
	static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
	char path[600];
	size_t i;

	if (!fx->dir[0])
		return;
	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", fx->path, suffixes[i]);
		unlink(path);
	}
	rmdir(fx->dir);
}

/*
 * PostgreSQL: the test run's private server ($SCLI_TEST_PG, set by
 * tests/support/with-postgres.sh). Each test gets a schema of its own, made the
 * connection's search_path, so tests never see each other's tables.
 */
int pg_admin(const char *sql)
{
	char conninfo[600];
	PGconn *conn;
	PGresult *res;
	int ok;

	snprintf(conninfo, sizeof(conninfo), "%s dbname=postgres", getenv("SCLI_TEST_PG"));
	conn = PQconnectdb(conninfo);
	res = PQexec(conn, sql);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok)
		fprintf(stderr, "%s: %s\n", sql, PQerrorMessage(conn));
	PQclear(res);
	PQfinish(conn);
	return ok ? 0 : -1;
}

static int open_postgres(scli_repo **out, fixture *fx)
{
	static unsigned seq;
	char sql[400], conninfo[700];

	snprintf(fx->dir, sizeof(fx->dir), "contract_%ld_%u", (long)getpid(), seq++);
	snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", fx->dir);
	if (pg_admin(sql) < 0)
		return -1;
	snprintf(conninfo, sizeof(conninfo), "%s dbname=postgres options='-csearch_path=%s'",
		 getenv("SCLI_TEST_PG"), fx->dir);
	return scli_repo_open(out, conninfo, NULL);
}

static void cleanup_postgres(fixture *fx)
{
	char sql[400];

	snprintf(sql, sizeof(sql), "DROP SCHEMA %s CASCADE", fx->dir);
	pg_admin(sql);
}

/* A restore: another SQLite database, initialised and empty, moved over the fixture's. */
static int replace_sqlite(fixture *fx)
{
	static const scli_repo_options create = {.create = true};
	char other[600], url[620];
	scli_repo *r = NULL;
	int error;

	snprintf(other, sizeof(other), "%s/other.db", fx->dir);
	snprintf(url, sizeof(url), "sqlite:%s", other);
	if ((error = scli_repo_open(&r, url, &create)) == 0)
		error = scli_repo_init_schema(r);
	scli_repo_free(r); /* the last connection: its -wal and -shm go with it */
	if (error == 0 && rename(other, fx->path) < 0)
		error = -1;
	return error;
}

static const repo_factory factories[] = {
    {"memory", open_memory, NULL, NULL},
    {"sqlite", open_sqlite, cleanup_dir, replace_sqlite},
    {"postgres", open_postgres, cleanup_postgres, NULL},
};

const repo_factory *repo_factory_current;

int setup_repo(void **state)
{
	fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	if (repo_factory_current->open(&fx->repo, fx) < 0) {
		fprintf(stderr, "cannot open %s repository: %s\n", repo_factory_current->name,
			scli_error_last());
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

int setup_initialised(void **state)
{
	fixture *fx;

	if (setup_repo(state) < 0)
		return -1;
	fx = *state;
	if (scli_repo_init_schema(fx->repo) < 0) {
		fprintf(stderr, "init_schema: %s\n", scli_error_last());
		return -1;
	}
	return 0;
}

int teardown_repo(void **state)
{
	fixture *fx = *state;

	if (!fx)
		return 0;
	scli_repo_free(fx->repo);
	if (repo_factory_current->cleanup)
		repo_factory_current->cleanup(fx);
	free(fx);
	return 0;
}

int repo_factories_run(const char *suite, int (*run_group)(const char *name), const char *only)
{
	char name[96];
	size_t i;
	int failed = 0;

	for (i = 0; i < sizeof(factories) / sizeof(factories[0]); i++) {
		repo_factory_current = &factories[i];
		if (only && strcmp(repo_factory_current->name, only))
			continue;
		if (!strcmp(repo_factory_current->name, "postgres") && !getenv("SCLI_TEST_PG")) {
			/* An explicit skip, never a silent one; CI must have the server. */
			printf("# adapter: postgres SKIPPED: SCLI_TEST_PG is not set "
			       "(run under tests/support/with-postgres.sh)\n");
			if (getenv("CI") && !strcmp(getenv("CI"), "true"))
				failed++;
			continue;
		}
		snprintf(name, sizeof(name), "%s [%s]", suite, repo_factory_current->name);
		/* cmocka 1.1 does not print group names; say which adapter runs */
		printf("# adapter: %s\n", repo_factory_current->name);
		failed += run_group(name);
	}
	return failed ? 1 : 0;
}
