/**
 * @file adapters.h
 * The adapter registries and the concrete adapters' constructors. Only entry
 * points (and tests) include this; the service layer sees the ports alone.
 * Entry points open a repository by its URL (scli_repo_open) and a collector by
 * its name (scli_collector_kind_find), never by naming a constructor.
 */
#ifndef SCLI_ADAPTERS_H
#define SCLI_ADAPTERS_H

#include <stdbool.h>

#include "scli/sys/collector.h"
#include "scli/sys/repository.h"

/** How to open a repository; a zeroed struct, or NULL, asks for the defaults. */
typedef struct scli_repo_options {
	bool create;	      /**< create a missing database file (init-db) */
	int load_connections; /**< PostgreSQL: connections a load stores each batch over, 1..2;
				 0 = the adapter's default (2) */
} scli_repo_options;

/**
 * Open the repository `url` names, through the registry; `opts` may be NULL.
 * `sqlite:PATH` is a SQLite file; `postgresql://...`, `postgres://...` or a libpq
 * `key=value` string is PostgreSQL. Anything else is SCLI_EINVALID, whose
 * message never echoes a URL that may hold a password. On failure `*out` is
 * NULL. Free with scli_repo_free.
 */
int scli_repo_open(scli_repo **out, const char *url, const scli_repo_options *opts);

/**
 * A kind of repository, as the registry lists it: its name, which URLs name one
 * of its databases, and how to open one.
 */
typedef struct scli_repo_kind {
	const char *name; /**< "sqlite", "postgres", "memory" */
	/** Whether `url` names a database of this kind. NULL: never chosen by URL (the
	 *  memory repository, which tests open through the table). */
	bool (*recognises)(const char *url);
	/** Open what `url` names (a URL this kind recognises); `opts` may be NULL. */
	int (*open)(scli_repo **out, const char *url, const scli_repo_options *opts);
} scli_repo_kind;

/** Every repository kind scli has, NULL-terminated, in the order URLs are tried. */
extern const scli_repo_kind *const scli_repo_kinds[];

/** The repository kind called `name`, or NULL. */
const scli_repo_kind *scli_repo_kind_find(const char *name);

/* The concrete repositories behind the registry. */

/** A new, empty in-memory repository (for tests). Free with scli_repo_free. */
int scli_repo_memory_new(scli_repo **out);

/**
 * Open the SQLite database at `path`. When `create` is non-zero a missing file
 * is created (init-db); otherwise a missing file is an SCLI_ENOTFOUND error
 * whose message says to run `scli init-db`. WAL mode, a busy timeout so
 * concurrent loads wait rather than fail. Free with scli_repo_free.
 */
int scli_repo_sqlite_open(scli_repo **out, const char *path, int create);

/**
 * Connect to PostgreSQL. `conninfo` is a `postgresql://` / `postgres://` URL or a
 * libpq `key=value` string; the standard PG* variables and ~/.pgpass apply. The
 * session runs in UTC. Error messages never contain the password. `opts` may be
 * NULL; of it only `load_connections` applies: how many connections a load
 * stores each batch over. 2 (the default) splits every batch by (customer, hour)
 * into two transactions that run at once — faster on a server with two cores or
 * more, but a crash between their two COMMITs can leave one half stored
 * (complete with its rollup; a re-run finishes it exactly); 1 keeps each batch
 * one transaction. Other values are clamped to 1..2. Free with scli_repo_free.
 */
int scli_repo_postgres_open(scli_repo **out, const char *conninfo, const scli_repo_options *opts);

/**
 * A CSV collector reading `src` (borrowed: it must outlive the collector).
 * Streaming, constant memory; header detection as in SPEC.md.
 */
int scli_collector_csv_new(scli_collector **out, scli_source *src);

/**
 * A JSON collector reading `src` (borrowed: it must outlive the collector): a
 * top-level array of objects, a single object, or NDJSON, detected by itself.
 * Streaming: memory does not grow with the size of the input.
 */
int scli_collector_json_new(scli_collector **out, scli_source *src);

/** Every collector kind scli has, NULL-terminated (the collector registry). */
extern const scli_collector_kind *const scli_collector_kinds[];

/** The collector kind called `name`, or NULL. */
const scli_collector_kind *scli_collector_kind_find(const char *name);

#endif
