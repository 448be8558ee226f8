/* scli: the command-line entry point. Parses arguments, picks adapters, calls
 * the service, prints results, and maps failures to the exit codes of SPEC.md. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "options.h"
#include "scli/timestamp.h"

typedef struct command {
	const char *name;
	int (*run)(const cli_globals *g, int argc, char **argv);
	const char *summary;
} command;

static const char main_usage[] =
    "usage: scli [--database URL] COMMAND [OPTIONS]\n"
    "\n"
    "Exact hourly usage counts per customer.\n"
    "\n"
    "Commands:\n"
    "%s"
    "\n"
    "Global options:\n"
    "  --database URL  sqlite:PATH (default sqlite:scli.db), postgresql://... or\n"
    "                  a libpq key=value string; else $SCLI_DATABASE\n"
    "  --help          show this help (and `scli COMMAND --help`)\n"
    "  --version       print the version\n"
    "\n"
    "Exit codes: 0 ok, 1 runtime failure, 2 usage error, 3 some rows rejected.\n";

/* The error code of a failure, mapped to an exit code. */
int cli_exit_code_for(int error)
{
	switch (error) {
	case SCLI_EINVALID:
	case SCLI_ERANGE:
		return EXIT_USAGE;
	default:
		return EXIT_RUNTIME;
	}
}

int cli_fail(int error)
{
	cli_error("%s", scli_error_last());
	return cli_exit_code_for(error);
}

/* ---- init-db ------------------------------------------------------------ */

static const char init_usage[] =
    "usage: scli [--database URL] init-db\n"
    "\n"
    "Create the schema, or upgrade an older one. Safe to run again. Refuses a\n"
    "database whose schema is newer than this scli.\n";

static const cli_option_set init_options = {
    .command = "init-db",
    .usage = init_usage,
    .options = cli_options_help_only,
};

static int cmd_init_db(const cli_globals *g, int argc, char **argv)
{
	scli_repo *repo = NULL;
	int error, rc;

	if ((rc = cli_options_parse(NULL, NULL, &init_options, argc, argv)) != CLI_OPTIONS_GO)
		return rc;
	rc = EXIT_OK;
	if ((error = cli_open_repo(&repo, cli_database_url(g->database), true)) < 0 ||
	    (error = scli_service_init_db(repo)) < 0) {
		rc = cli_fail(error);
		goto done;
	}
	printf("database ready (schema version %d)\n", SCLI_SCHEMA_VERSION);
done:
	scli_repo_free(repo);
	return rc;
}

/* ---- count -------------------------------------------------------------- */

static const char count_usage[] =
    "usage: scli [--database URL] count [--customer ID] --from A --to B\n"
    "                                   [--format table|csv|json] [--skip-empty]\n"
    "\n"
    "Count events per UTC hour in [A, B). Without --customer, every customer\n"
    "with at least one event in the range. Timestamps: 2021-03-01T04:00:00Z,\n"
    "2021-03-01 04:00:00+00, 2021-03-01, ... (see the README).\n"
    "\n"
    "  --customer ID       one customer (listed with zero counts if it has no events)\n"
    "  --from A, --to B    the half-open range A <= t < B\n"
    "  --format F          table (default), csv or json\n"
    "  --skip-empty        leave out hours with a count of 0\n";

/* What the flags say, as typed. */
typedef struct count_args {
	const char *customer, *from, *to;
	int format; /* cli_format */
	bool skip_empty;
} count_args;

static const cli_choice formats[] = {
    {"table", FORMAT_TABLE}, {"csv", FORMAT_CSV}, {"json", FORMAT_JSON}, {NULL, 0}};

static const cli_option count_options[] = {
    {.name = "customer", .kind = CLI_OPT_STRING, .offset = offsetof(count_args, customer)},
    {.name = "from", .kind = CLI_OPT_STRING, .offset = offsetof(count_args, from)},
    {.name = "to", .kind = CLI_OPT_STRING, .offset = offsetof(count_args, to)},
    {.name = "format",
     .kind = CLI_OPT_CHOICE,
     .offset = offsetof(count_args, format),
     .choices = formats,
     .bad = "unknown format '{value}' (table, csv or json)"},
    {.name = "skip-empty", .kind = CLI_OPT_FLAG, .offset = offsetof(count_args, skip_empty)},
    {.name = "help", .kind = CLI_OPT_HELP, .short_name = 'h'},
    {0},
};

static const cli_option_set count_set = {
    .command = "count",
    .usage = count_usage,
    .options = count_options,
};

static int parse_time_arg(int64_t *out, const char *flag, const char *text)
{
	const char *why = NULL;

	if (scli_timestamp_parse(out, text, strlen(text), &why) < 0) {
		fprintf(stderr, "scli: error: %s: invalid timestamp \"%s\": %s\n", flag, text, why);
		return EXIT_USAGE;
	}
	return 0;
}

static int cmd_count(const cli_globals *g, int argc, char **argv)
{
	count_args a = {.format = FORMAT_TABLE};
	scli_repo *repo = NULL;
	scli_count_result *res = NULL;
	int64_t from = 0, to = 0;
	const char *why;
	int error = 0, rc;

	if ((rc = cli_options_parse(&a, NULL, &count_set, argc, argv)) != CLI_OPTIONS_GO)
		return rc;
	if (!a.from || !a.to)
		return cli_usage_error("count", "%s", "--from and --to are required");
	if ((rc = parse_time_arg(&from, "--from", a.from)) ||
	    (rc = parse_time_arg(&to, "--to", a.to)))
		return rc;
	if (from > to)
		return cli_usage_error("count", "%s", "--from is after --to");
	if (a.customer &&
	    scli_field_validate(a.customer, strlen(a.customer), SCLI_CUSTOMER_ID_MAX, &why) < 0) {
		fprintf(stderr, "scli: error: --customer: customer id %s\n", why);
		return EXIT_USAGE;
	}
	rc = EXIT_OK;
	if ((error = cli_open_repo(&repo, cli_database_url(g->database), false)) < 0 ||
	    (error = scli_service_count(&res, repo, a.customer, from, to)) < 0 ||
	    (error = cli_print_count(stdout, res, (cli_format)a.format, a.skip_empty)) < 0)
		goto done;
done:
	if (error < 0)
		rc = cli_fail(error);
	scli_count_result_free(res);
	scli_repo_free(repo);
	return rc;
}

/* ---- dispatch ----------------------------------------------------------- */

static const command commands[] = {
    {"init-db", cmd_init_db, "create or upgrade the database schema"},
    {"load", cli_cmd_load, "load events from files into the database"},
    {"loads", cli_cmd_loads, "list recent loads from the load ledger"},
    {"count", cmd_count, "hourly event counts per customer over [A, B)"},
    {"config", cli_cmd_config, "print the effective configuration, secrets masked"},
    {"serve", cli_cmd_serve, "HTTP API: hourly counts, health and metrics"},
};

static void print_main_usage(FILE *out)
{
	char list[512] = "";
	size_t i, len = 0;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "  %-9s %s\n",
					commands[i].name, commands[i].summary);
	fprintf(out, main_usage, list);
}

static int print_help(void)
{
	print_main_usage(stdout);
	return EXIT_OK;
}

static int print_version(void)
{
	printf("scli %s\n", SCLI_VERSION);
	return EXIT_OK;
}

/* $SCLI_DATABASE is not read here: cli_database_url() does, and `scli config`
 * tells a --database from it. */
static const cli_option global_options[] = {
    /* an empty string is an unset variable, most likely: never fall back silently */
    {.name = "database",
     .kind = CLI_OPT_STRING,
     .offset = offsetof(cli_globals, database),
     .min = 1,
     .bad = "{name} needs a URL, not an empty string"},
    {.name = "help", .kind = CLI_OPT_ACTION, .action = print_help, .short_name = 'h'},
    {.name = "version", .kind = CLI_OPT_ACTION, .action = print_version},
    {0},
};

/* The options stop at the command name; the command parses its own. */
static const cli_option_set global_set = {
    .options = global_options,
    .stop_at_command = true,
};

/* The global options, then the command. */
static int run_command(int argc, char **argv)
{
	cli_globals g = {0};
	size_t i;
	int rc, first;

	if ((rc = cli_options_parse(&g, &first, &global_set, argc, argv)) != CLI_OPTIONS_GO)
		return rc;
	if (first >= argc) {
		print_main_usage(stderr);
		return EXIT_USAGE;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(argv[first], commands[i].name)) {
			/* glibc: 0 re-initialises getopt for the new vector (serve's loop needs it)
			 */
			optind = 0;
			return commands[i].run(&g, argc - first, argv + first);
		}
	}
	return cli_usage_error(NULL, "unknown command '%s'", argv[first]);
}

/*
 * Every command's output is checked here, once: stdout is buffered, so a full
 * disk or a closed pipe often shows only at this flush. A command that
 * succeeded (or finished with rejects) without its output written has failed.
 */
int main(int argc, char **argv)
{
	int rc = run_command(argc, argv);

	errno = 0;
	if ((fflush(stdout) != 0 || ferror(stdout)) && (rc == EXIT_OK || rc == EXIT_REJECTS)) {
		cli_error("cannot write output: %s", errno ? strerror(errno) : "write error");
		rc = EXIT_RUNTIME;
	}
	return rc;
}
