/*
 * Test support for the repository suites: a fresh, empty repository of each
 * kind, opened through the registry (a URL, or the table for the memory
 * repository) as scli itself opens one, never by naming a constructor; cmocka
 * setups and teardowns around it; and a runner that runs a suite once per kind.
 */
#ifndef SCLI_TEST_REPO_FACTORIES_H
#define SCLI_TEST_REPO_FACTORIES_H

#include "scli/sys/repository.h"

/* One test's repository and, for file-backed adapters, where it lives (for
 * PostgreSQL, `dir` is the test's own schema). */
typedef struct fixture {
	scli_repo *repo;
	char dir[256];
	char path[512];
} fixture;

/* How to make a fresh, empty repository of one kind. */
typedef struct repo_factory {
	const char *name; /* the registry's name for the kind */
	int (*open)(scli_repo **out, fixture *fx);
	void (*cleanup)(fixture *fx); /* NULL when there is nothing on disk */
	/* Move another (empty, initialised) database over the fixture's, as a restore
	 * does; 0 when done. NULL when a database of this kind cannot be replaced
	 * under an open handle. */
	int (*replace)(fixture *fx);
} repo_factory;

/* The adapter the running group is about (cmocka fixtures take no argument). */
extern const repo_factory *repo_factory_current;

/* cmocka setups: a fresh repository (setup_repo), also initialised
 * (setup_initialised), in a `fixture *` state; teardown_repo frees it and what
 * it left on disk. */
int setup_repo(void **state);
int setup_initialised(void **state);
int teardown_repo(void **state);

/* Run SQL as the superuser of the test run's PostgreSQL server ($SCLI_TEST_PG); 0 when it
 * succeeded. */
int pg_admin(const char *sql);

/*
 * Call `run_group` (which runs a cmocka group named `name`) once per repository
 * kind, or for the kind named `only`, with repo_factory_current set and the kind
 * named in the output. PostgreSQL needs $SCLI_TEST_PG
 * (tests/support/with-postgres.sh): without it, an explicit skip, and a failure
 * when CI=true. Returns a process exit status.
 */
int repo_factories_run(const char *suite, int (*run_group)(const char *name), const char *only);

#endif
