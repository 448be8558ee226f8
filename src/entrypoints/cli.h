/* Shared by the scli entry point's files: exit codes, messages, adapters by URL. */
#ifndef SCLI_CLI_H
#define SCLI_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "scli/collector.h"
#include "scli/repository.h"
#include "scli/service.h"
#include "scli/source.h"
#include "scli/zone.h"

/* Exit codes (SPEC.md). */
enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2, EXIT_REJECTS = 3 };

#define SCLI_DEFAULT_DATABASE "sqlite:scli.db"

/* Options that come before the command name. */
typedef struct cli_globals {
	const char *database; /* --database, or NULL */
} cli_globals;

/* The exit code for a failure's error code. */
int cli_exit_code_for(int error);

/* Print the thread error as `scli: error: ...` and return its exit code. */
int cli_fail(int error);

/* Print a usage error (fmt takes one %s) and a pointer to --help; returns EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, const char *arg);

/* The commands, one file each (cmd_*.c): the exit code. */
int cli_cmd_init_db(const cli_globals *g, int argc, char **argv);
int cli_cmd_load(const cli_globals *g, int argc, char **argv);
int cli_cmd_loads(const cli_globals *g, int argc, char **argv);
int cli_cmd_count(const cli_globals *g, int argc, char **argv);
int cli_cmd_config(const cli_globals *g, int argc, char **argv);

/* Any password in a database URL or key=value string becomes *** (cmd_config.c). */
void cli_mask_database_url(char *out, size_t cap, const char *url);

/*
 * The last line of every --help: where the manual page is (`man scli`, or
 * `man scli-COMMAND` for a command). The man pages are made from the --help
 * text (cmake/docs.cmake), which drops this line from them.
 */
void cli_print_manual_pointer(FILE *out, const char *command);

/* Print `scli: error: <fmt>` on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* $NAME when set and not empty, else NULL (borrowed). */
const char *cli_env(const char *name);

/* Whether $NAME says yes: 1, true, yes or on (any case). */
bool cli_env_flag(const char *name);

/* The database URL in force: --database, else $SCLI_DATABASE, else the default (borrowed). */
const char *cli_database_url(const char *flag);

/*
 * Open the repository a database URL names. `create` lets init-db create a
 * missing SQLite file. The thread error is set on failure; it never contains a
 * password.
 */
int cli_open_repo(scli_repo **out, const char *url, bool create);

/*
 * The columns a terminal gives a UTF-8 string (wcwidth), not its bytes, and
 * the spaces that pad it to `width` columns (0 when it is wider).
 */
size_t cli_display_width(const char *s);
int cli_padding(const char *s, size_t width);

/* How a CSV field is quoted: only when it holds a comma, quote or line break, or always. */
typedef enum { CLI_CSV_QUOTE_NEEDED, CLI_CSV_QUOTE_ALWAYS } cli_csv_quoting;

typedef struct cli_csv_field {
	const char *s;
	size_t len; /* the bytes of s, any of them NUL */
	cli_csv_quoting quote;
} cli_csv_field;

/* A field of a NUL-terminated string. */
static inline cli_csv_field cli_csv_text(const char *s, cli_csv_quoting quote)
{
	return (cli_csv_field){s, strlen(s), quote};
}

/* One RFC 4180 record: the fields, comma-separated, quotes doubled, then CRLF (csv_write.c). */
void cli_csv_row(FILE *out, const cli_csv_field *fields, size_t n);

/* Output formats of `count`. */
typedef enum { FORMAT_TABLE, FORMAT_CSV, FORMAT_JSON, FORMAT_CHART } cli_format;

/* One bucket of a series, as every format shows it; `start` is printed in the count's zone. */
typedef struct cli_count_row {
	char start[SCLI_ZONE_TIME_BUFSZ];
	int64_t count;
	bool partial;
} cli_count_row;

/* What a format does along the walk; `series` and `series_end` may be NULL. */
typedef struct cli_count_visitor {
	int (*series)(void *ctx, const scli_customer_series *s); /* before its buckets */
	int (*bucket)(void *ctx, const scli_customer_series *s, const cli_count_row *row);
	int (*series_end)(void *ctx, const scli_customer_series *s); /* after them */
} cli_count_visitor;

/*
 * Every series of a count in order, and each of its buckets that is shown
 * (with skip_empty, those with a count), the walk every format shares
 * (output.c). A negative return stops the walk and is passed on.
 */
int cli_count_walk(const scli_count_result *res, bool skip_empty, const cli_count_visitor *v,
		   void *ctx);

/* How `count --format chart` is drawn. */
typedef struct cli_chart_style {
	int width;   /* the terminal's columns */
	bool colour; /* escape sequences allowed */
} cli_chart_style;

/*
 * The style for a chart printed on `out`: the width is $COLUMNS when it is a
 * positive number, else the terminal's when `out` is one, else 80; colour
 * only on a terminal, and never when $NO_COLOR is set and not empty
 * (no-color.org).
 */
cli_chart_style cli_chart_style_of(FILE *out);

/*
 * `count --format chart` (chart.c): per series a header, a bar per shown
 * bucket scaled to the largest count of the whole result, and a total.
 */
int cli_print_chart(FILE *out, const scli_count_result *res, bool skip_empty,
		    cli_chart_style style);

/* Print a count result in `format`; `skip_empty` leaves zero-count buckets out. */
int cli_print_count(FILE *out, const scli_count_result *res, cli_format format, bool skip_empty);

/*
 * The count as `count --format json` prints it, newline included, into a
 * malloc'd string the caller frees (`scli serve` sends exactly these bytes).
 */
int cli_count_json(char **out, const scli_count_result *res, bool skip_empty);

/* The count as `count --format csv` prints it, into a malloc'd buffer of `*len_out` bytes. */
int cli_count_csv(char **out, size_t *len_out, const scli_count_result *res, bool skip_empty);

/*
 * A scli_zone_lookup_fn that loads the zone (scli_zone_load) into `*(scli_zone
 * **)ctx`, which the caller frees with scli_zone_free after the count.
 */
int cli_zone_load(const scli_zone **out, void *ctx, const char *name);

/* A load's four figures (rows_read, inserted, duplicates, rejected) added to a
 * JSON object, for `load --report json` and `loads --format json`; false when
 * out of memory. */
struct cJSON;
bool cli_json_add_report(struct cJSON *o, const scli_load_report *r);

/* The serve command (http/cmd_serve.c). */
extern const char cli_serve_usage[];
int cli_cmd_serve(const cli_globals *g, int argc, char **argv);

#endif
