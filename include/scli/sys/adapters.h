/**
 * @file sys/adapters.h
 * The registries' tables and the concrete adapters' constructors, for the
 * registry (src/adapters/registry.c) and for tests that exercise one adapter.
 * Entry points and programs open repositories by URL (include/scli/repository.h)
 * and collectors by name (include/scli/collector.h).
 */
#ifndef SCLI_SYS_ADAPTERS_H
#define SCLI_SYS_ADAPTERS_H

#ifdef SCLI_PUBLIC_API_ONLY
#error "include/scli/sys/ is for adapter authors; entry points and programs use include/scli/*.h"
#endif

#include <stdbool.h>

#include "scli/collector.h"
#include "scli/repository.h"
#include "scli/sys/collector.h"
#include "scli/sys/repository.h"

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
 * Open the SQLite database at `path`. With `opts->create` a missing file is
 * created (init-db); otherwise a missing file is an SCLI_ENOTFOUND error whose
 * message says to run `scli init-db`. `opts` may be NULL; `opts->cache_mib`
 * sizes the page cache (0: SCLI_SQLITE_CACHE_MIB_DEFAULT). WAL mode, a busy
 * timeout so concurrent loads wait rather than fail. Free with scli_repo_free.
 */
int scli_repo_sqlite_open(scli_repo **out, const char *path, const scli_repo_options *opts);

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

/** The CSV kind's part_lines: lines in a part without a quote, -1 when it has one. */
int64_t scli_collector_csv_part_lines(const char *data, size_t len);

/** The CSV kind's open_part: a CSV collector over a part, with `head`'s header. */
int scli_collector_csv_open_part(scli_collector **out, scli_source *src, const scli_collector *head,
				 uint64_t first_line);

/**
 * A JSON collector reading `src` (borrowed: it must outlive the collector): a
 * top-level array of objects, a single object, or NDJSON, detected by itself.
 * Streaming: memory does not grow with the size of the input.
 */
int scli_collector_json_new(scli_collector **out, scli_source *src);

#endif
