/**
 * @file repository.h
 * Open a database of events by its URL, through the adapters' registry, and
 * close it. A program never names a concrete adapter.
 */
#ifndef SCLI_REPOSITORY_H
#define SCLI_REPOSITORY_H

#include "scli/export.h"

#include <stdbool.h>

#include "scli/types.h"

/**
 * Schema version this build creates and understands. 1: events, hourly rollup,
 * meta. 2: adds the load ledger. 3: the ledger keys a load by content hash and
 * collector (loads recorded before have collector "", which matches none).
 * 4: events keyed by a customer dictionary and a keyed 128-bit identity hash,
 * a rollup of 15-minute cells by event type, a per-batch ledger; every table
 * named scli_… (older events are moved over, the rollup rebuilt). init_schema upgrades older
 * versions in place; check_schema refuses older ones ("run `scli init-db` to upgrade") and newer
 * ones.
 */
#define SCLI_SCHEMA_VERSION 4

/*
 * Events per load batch (one transaction each) when the caller names none.
 * PostgreSQL: 50k-event batches took 1M events in 17.5 s against 21 s with
 * 10k (schema 3; fewer rollup upserts of the same cells), and keep a load's
 * peak RSS under 64 MiB (a batch is 50k x 536 bytes).
 * SQLite (schema 4): every commit rewrites each key-tree page its batch
 * touches, and random identity keys touch nearly all of them, so the WAL a
 * load writes grows with events x batches. 10M events: 452 s with 50k batches,
 * 117 s with 250k (peak RSS 250 MiB), 89 s with 500k (427 MiB); 1M: 7.7 s with
 * 50k, 8.8 s with 250k. SQLite's default is 250k: a laptop's 10M-event load in
 * two minutes rather than seven and a half, for a second more at 1M.
 */
#define SCLI_DEFAULT_BATCH 50000
#define SCLI_SQLITE_DEFAULT_BATCH 250000

/** How to open a repository; a zeroed struct, or NULL, asks for the defaults. */
typedef struct scli_repo_options {
	bool create;	      /**< create a missing database file (init-db) */
	int load_connections; /**< PostgreSQL: connections a load stores each batch over, 1..2;
				 0 = the adapter's default (2) */
	int cache_mib;	      /**< SQLite: the page cache of the handle in MiB, at least 1;
				 0 = the adapter's default (SCLI_SQLITE_CACHE_MIB_DEFAULT) */
} scli_repo_options;

/** The SQLite page cache a handle gets unless scli_repo_options.cache_mib says otherwise. */
#define SCLI_SQLITE_CACHE_MIB_DEFAULT 64

/**
 * Open the repository `url` names, through the registry; `opts` may be NULL.
 * `sqlite:PATH` is a SQLite file; `postgresql://...`, `postgres://...` or a libpq
 * `key=value` string is PostgreSQL. Anything else is SCLI_EINVALID, whose
 * message never echoes a URL that may hold a password. On failure `*out` is
 * NULL. Free with scli_repo_free.
 */
SCLI_API int scli_repo_open(scli_repo **out, const char *url, const scli_repo_options *opts);

/** The name of the kind of repository `url` names ("sqlite", "postgres"), NULL for none. */
SCLI_API const char *scli_repo_url_kind(const char *url);

/** The adapter's name: "sqlite", "postgres", "memory" (static storage). */
SCLI_API const char *scli_repo_name(const scli_repo *r);

/**
 * Whether the database `r` opened has been replaced underneath it (a SQLite
 * file restored over its path); the caller frees `r` and opens the URL again.
 * False for databases that cannot be replaced (PostgreSQL).
 */
SCLI_API bool scli_repo_replaced(scli_repo *r);

/** Close and free a repository (NULL-safe). */
SCLI_API void scli_repo_free(scli_repo *r);

#endif
