/* scli: the command-line entry point. The global options, the command table,
 * and the exit codes of SPEC.md; each command is a file of its own. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "options.h"

typedef struct command {
	const char *name;
	int (*run)(const cli_globals *g, int argc, char **argv);
	const char *summary;
} command;

static const char main_usage[] =
    "usage: scli [--database URL] COMMAND [OPTIONS]\n"
    "\n"
    "Exact usage counts per customer and window (minute, hour, day or month, on\n"
    "any time zone's clock).\n"
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

/* ---- dispatch ----------------------------------------------------------- */

static const command commands[] = {
    {"init-db", cli_cmd_init_db, "create or upgrade the database schema"},
    {"load", cli_cmd_load, "load events from files into the database"},
    {"loads", cli_cmd_loads, "list recent loads from the load ledger"},
    {"count", cli_cmd_count, "event counts per customer and window over [A, B)"},
    {"config", cli_cmd_config, "print the effective configuration, secrets masked"},
    {"serve", cli_cmd_serve, "HTTP API: counts, health and metrics"},
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
	cli_print_manual_pointer(stdout, NULL);
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
		if (!strcmp(argv[first], commands[i].name))
			return commands[i].run(&g, argc - first, argv + first);
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
