/* Shared by the scli entry point's files: exit codes, messages, adapters by URL. */
#ifndef SCLI_CLI_H
#define SCLI_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "scli/service.h"

/* Exit codes (SPEC.md). */
enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2, EXIT_REJECTS = 3 };

#define SCLI_DEFAULT_DATABASE "sqlite:scli.db"

/* Print `scli: error: <fmt>` on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The database URL in force: --database, else $SCLI_DATABASE, else the default (borrowed). */
const char *cli_database_url(const char *flag);

/*
 * Open the repository a database URL names. `create` lets init-db create a
 * missing SQLite file. The thread error is set on failure; it never contains a
 * password.
 */
int cli_open_repo(scli_repo **out, const char *url, bool create);

/* Output formats of `count`. */
typedef enum { FORMAT_TABLE, FORMAT_CSV, FORMAT_JSON } cli_format;

/* Print a count result in `format`; `skip_empty` leaves zero-count buckets out. */
int cli_print_count(FILE *out, const scli_count_result *res, cli_format format, bool skip_empty);

#endif
