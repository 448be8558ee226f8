/**
 * @file adapters.h
 * Constructors of the concrete adapters. Only entry points (and tests) include
 * this; the service layer sees the ports alone.
 */
#ifndef SCLI_ADAPTERS_H
#define SCLI_ADAPTERS_H

#include "scli/sys/collector.h"
#include "scli/sys/repository.h"

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
 * session runs in UTC. Error messages never contain the password. Free with
 * scli_repo_free.
 */
int scli_repo_postgres_open(scli_repo **out, const char *conninfo);

/**
 * How many connections a load into `r` (opened by scli_repo_postgres_open) stores
 * each batch over: 2 (the default) splits every batch by (customer, hour) into
 * two transactions that run at once — faster on a server with two cores or
 * more, but a crash between their two COMMITs can leave one half stored (complete
 * with its rollup; a re-run finishes it exactly); 1 keeps each batch one
 * transaction. Other values are clamped to 1..2.
 */
void scli_repo_postgres_set_load_connections(scli_repo *r, int n);

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
