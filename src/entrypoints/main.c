/* scli: the command-line entry point. Parses arguments, picks adapters, calls
 * the service, prints results, and maps failures to the exit codes of SPEC.md. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "scli/adapters.h"
#include "scli/timestamp.h"

typedef struct command {
	const char *name;
	int (*run)(const cli_globals *g, int argc, char **argv);
	const char *summary;
	const char *usage;
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

static const char init_usage[] =
    "usage: scli [--database URL] init-db\n"
    "\n"
    "Create the schema, or upgrade an older one. Safe to run again. Refuses a\n"
    "database whose schema is newer than this scli.\n";

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

int cli_usage_error(const char *cmd, const char *fmt, const char *arg)
{
	fputs("scli: error: ", stderr);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n(see `scli %s%s--help`)\n", cmd ? cmd : "", cmd ? " " : "");
	return EXIT_USAGE;
}

/*
 * The option as typed, without any `=value`: a mistyped `--databse=postgresql://
 * user:secret@...` must not put the password on the screen.
 */
static const char *option_name(const char *arg)
{
	static char name[64];
	size_t len = strcspn(arg, "=");

	if (len >= sizeof(name))
		len = sizeof(name) - 1;
	memcpy(name, arg, len);
	name[len] = '\0';
	return name;
}

/* Optimal string alignment distance: Levenshtein, plus a swap of two neighbours. */
static size_t edit_distance(const char *a, size_t n, const char *b)
{
	enum { MAX = 64 };
	size_t rows[3][MAX + 1], *prev2 = rows[0], *prev = rows[1], *cur = rows[2], *t;
	size_t m = strlen(b), i, j;

	if (n > MAX || m > MAX)
		return (size_t)-1;
	for (j = 0; j <= m; j++)
		prev[j] = j;
	for (i = 1; i <= n; i++) {
		cur[0] = i;
		for (j = 1; j <= m; j++) {
			size_t cost = a[i - 1] != b[j - 1], d = prev[j - 1] + cost;

			if (prev[j] + 1 < d)
				d = prev[j] + 1;
			if (cur[j - 1] + 1 < d)
				d = cur[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    prev2[j - 2] + 1 < d)
				d = prev2[j - 2] + 1;
			cur[j] = d;
		}
		t = prev2, prev2 = prev, prev = cur, cur = t;
	}
	return prev[m];
}

/*
 * The real option a mistyped one most likely meant: the nearest by edit
 * distance when it is close (one edit for short names, two for longer ones),
 * else the only option the name begins (`--skip` for `--skip-empty`); NULL if
 * none fits.
 */
static const char *closest_option(const char *typed, size_t len, const struct option *opts)
{
	const struct option *o, *best = NULL, *prefix_of = NULL;
	size_t best_d = len <= 4 ? 1 : 2, d;
	int prefixes = 0;

	for (o = opts; o->name; o++) {
		if ((d = edit_distance(typed, len, o->name)) <= best_d && (!best || d < best_d))
			best = o, best_d = d;
		if (len && !strncmp(o->name, typed, len))
			prefix_of = o, prefixes++;
	}
	if (best)
		return best->name;
	return prefixes == 1 ? prefix_of->name : NULL;
}

/*
 * glibc's getopt_long takes any unambiguous prefix of a long option, so a
 * mistyped `--form` silently became `--format`. Before getopt_long reads a
 * vector, every long option in it must be a whole name: read the vector as
 * getopt_long will (a required value is the next element unless given with
 * '='; `stop_at_command` stops at the first non-option, like a leading '+'),
 * and report the first that is not, with a suggestion. 0, or -2 once reported.
 */
static int check_long_options(int argc, char **argv, const struct option *opts,
			      bool stop_at_command, const char *cmd)
{
	char msg[160];
	const struct option *o;
	const char *arg, *near;
	size_t len;
	int k;

	for (k = 1; k < argc && strcmp(argv[k], "--"); k++) {
		arg = argv[k];
		if (arg[0] != '-' || arg[1] == '\0') {
			if (stop_at_command)
				break;
			continue;
		}
		if (arg[1] != '-') /* short options: getopt_long checks them, none takes a value */
			continue;
		len = strcspn(arg + 2, "=");
		for (o = opts; o->name; o++)
			if (strlen(o->name) == len && !strncmp(o->name, arg + 2, len))
				break;
		if (!o->name) {
			near = closest_option(arg + 2, len, opts);
			snprintf(msg, sizeof(msg), "unknown option '%s'%s%s%s", option_name(arg),
				 near ? " (did you mean --" : "", near ? near : "",
				 near ? "?)" : "");
			return cli_usage_error(cmd, "%s", msg), -2;
		}
		if (arg[2 + len] == '=' && o->has_arg == no_argument)
			return cli_usage_error(cmd, "option '%s' takes no value", option_name(arg)),
			       -2;
		if (arg[2 + len] != '=' && o->has_arg == required_argument)
			k++;
	}
	return 0;
}

/*
 * getopt_long, whole option names only (check_long_options, once per vector),
 * and every problem reported as a usage error: -1 at the end, -2 once reported.
 */
static int next_option(int argc, char **argv, const char *optstring, const struct option *opts,
		       const char *cmd)
{
	static char **checked;
	char short_opt[3] = "-?";
	int c;

	if (argv != checked) {
		checked = argv;
		if (check_long_options(argc, argv, opts, optstring[0] == '+', cmd) < 0)
			return -2;
	}
	c = getopt_long(argc, argv, optstring, opts, NULL);
	if (c == '?') { /* long options were checked: an unknown short one */
		short_opt[1] = (char)optopt;
		return cli_usage_error(cmd, "unknown option '%s'",
				       optopt ? short_opt : option_name(argv[optind - 1])),
		       -2;
	}
	if (c == ':')
		return cli_usage_error(cmd, "option '%s' needs a value",
				       option_name(argv[optind - 1])),
		       -2;
	return c;
}

int cli_next_option(int argc, char **argv, const struct option *opts, const char *cmd)
{
	return next_option(argc, argv, ":h", opts, cmd);
}

/* ---- init-db ------------------------------------------------------------ */

static int cmd_init_db(const cli_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
	scli_repo *repo = NULL;
	int c, error, rc = EXIT_OK;

	while ((c = cli_next_option(argc, argv, opts, "init-db")) != -1) {
		if (c == -2)
			return EXIT_USAGE;
		if (c == 'h')
			return fputs(init_usage, stdout), EXIT_OK;
	}
	if (optind < argc)
		return cli_usage_error("init-db", "unexpected argument '%s'", argv[optind]);
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

/* A count request the service refused, in the CLI's words; returns the exit code. */
static int count_refused(const scli_count_problem *p, int error, const char *from_text,
			 const char *to_text)
{
	switch (p->what) {
	case SCLI_COUNT_NO_RANGE:
		return cli_usage_error("count", "%s", "--from and --to are required");
	case SCLI_COUNT_BAD_FROM:
	case SCLI_COUNT_BAD_TO:
		fprintf(stderr, "scli: error: %s: invalid timestamp \"%s\": %s\n",
			p->what == SCLI_COUNT_BAD_FROM ? "--from" : "--to",
			p->what == SCLI_COUNT_BAD_FROM ? from_text : to_text, p->why);
		return EXIT_USAGE;
	case SCLI_COUNT_REVERSED:
		return cli_usage_error("count", "%s", "--from is after --to");
	case SCLI_COUNT_BAD_CUSTOMER:
		fprintf(stderr, "scli: error: --customer: customer id %s\n", p->why);
		return EXIT_USAGE;
	default: /* too wide: the service's message */
		return cli_fail(error);
	}
}

static int cmd_count(const cli_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {{"customer", required_argument, NULL, 'c'},
					     {"from", required_argument, NULL, 'f'},
					     {"to", required_argument, NULL, 't'},
					     {"format", required_argument, NULL, 'F'},
					     {"skip-empty", no_argument, NULL, 's'},
					     {"help", no_argument, NULL, 'h'},
					     {0}};
	const char *customer = NULL, *from_text = NULL, *to_text = NULL;
	cli_format format = FORMAT_TABLE;
	bool skip_empty = false;
	scli_repo *repo = NULL;
	scli_count_result *res = NULL;
	scli_count_request req;
	scli_count_problem problem;
	int c, error = 0, rc = EXIT_OK;

	while ((c = cli_next_option(argc, argv, opts, "count")) != -1) {
		switch (c) {
		case 'c':
			customer = optarg;
			break;
		case 'f':
			from_text = optarg;
			break;
		case 't':
			to_text = optarg;
			break;
		case 'F':
			if (!strcmp(optarg, "table"))
				format = FORMAT_TABLE;
			else if (!strcmp(optarg, "csv"))
				format = FORMAT_CSV;
			else if (!strcmp(optarg, "json"))
				format = FORMAT_JSON;
			else
				return cli_usage_error(
				    "count", "unknown format '%s' (table, csv or json)", optarg);
			break;
		case 's':
			skip_empty = true;
			break;
		case 'h':
			return fputs(count_usage, stdout), EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cli_usage_error("count", "unexpected argument '%s'", argv[optind]);
	if ((error = scli_service_count_request(&req, &problem, customer,
						customer ? strlen(customer) : 0, from_text,
						to_text)) < 0)
		return count_refused(&problem, error, from_text, to_text);
	if ((error = cli_open_repo(&repo, cli_database_url(g->database), false)) < 0 ||
	    (error = scli_service_count(&res, repo, req.customer_id, req.from_us, req.to_us)) < 0 ||
	    (error = cli_print_count(stdout, res, format, skip_empty)) < 0)
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
    {"init-db", cmd_init_db, "create or upgrade the database schema", init_usage},
    {"load", cli_cmd_load, "load events from files into the database", cli_load_usage},
    {"loads", cli_cmd_loads, "list recent loads from the load ledger", cli_loads_usage},
    {"count", cmd_count, "hourly event counts per customer over [A, B)", count_usage},
    {"config", cli_cmd_config, "print the effective configuration, secrets masked",
     cli_config_usage},
    {"serve", cli_cmd_serve, "HTTP API: hourly counts, health and metrics", cli_serve_usage},
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

/* The global options, then the command. */
static int run_command(int argc, char **argv)
{
	static const struct option opts[] = {{"database", required_argument, NULL, 'd'},
					     {"help", no_argument, NULL, 'h'},
					     {"version", no_argument, NULL, 'V'},
					     {0}};
	cli_globals g = {0};
	size_t i;
	int c;

	/* '+': stop at the command name; its options are parsed by the command. */
	while ((c = next_option(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (!*optarg) /* an unset variable, most likely: never fall back silently */
				return cli_usage_error(
				    NULL, "%s", "--database needs a URL, not an empty string");
			g.database = optarg;
			break;
		case 'h':
			print_main_usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("scli %s\n", SCLI_VERSION);
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		print_main_usage(stderr);
		return EXIT_USAGE;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(argv[optind], commands[i].name)) {
			int sub_argc = argc - optind;
			char **sub_argv = argv + optind;

			optind = 0; /* glibc: 0 re-initialises getopt for the new vector */
			return commands[i].run(&g, sub_argc, sub_argv);
		}
	}
	return cli_usage_error(NULL, "unknown command '%s'", argv[optind]);
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
