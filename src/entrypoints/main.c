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

typedef struct cli_globals {
	const char *database; /* --database, or NULL */
} cli_globals;

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

static const char load_usage[] =
    "usage: scli [--database URL] load --collector csv --config PATH [--config PATH ...]\n"
    "                                  [--rejects FILE] [--batch-size N] [--quiet]\n"
    "\n"
    "Load events into the database. Duplicates (same customer_id and\n"
    "transaction_id) are counted once; loading a file again changes no count.\n"
    "\n"
    "  --collector csv   input format (CSV with or without a header row)\n"
    "  --config PATH     input file; `-` for standard input; .gz read decompressed\n"
    "  --rejects FILE    write each rejected row (source,line,reason,row) as CSV\n"
    "  --batch-size N    events per transaction (default 10000)\n"
    "  --quiet           no progress display\n"
    "\n"
    "Prints rows_read, inserted, duplicates and rejected for each source.\n"
    "Exit code 3 when any row was rejected.\n";

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
static int exit_code_for(int error)
{
	switch (error) {
	case SCLI_EINVALID:
	case SCLI_ERANGE:
		return EXIT_USAGE;
	default:
		return EXIT_RUNTIME;
	}
}

static int fail(int error)
{
	cli_error("%s", scli_error_last());
	return exit_code_for(error);
}

static int usage_error(const char *cmd, const char *fmt, const char *arg)
{
	fputs("scli: error: ", stderr);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n(see `scli %s%s--help`)\n", cmd ? cmd : "", cmd ? " " : "");
	return EXIT_USAGE;
}

/* getopt_long over a sub-command's arguments; reports bad options as usage errors. */
static int next_option(int argc, char **argv, const struct option *opts, const char *cmd)
{
	int c = getopt_long(argc, argv, ":h", opts, NULL);

	if (c == '?')
		return usage_error(cmd, "unknown option '%s'", argv[optind - 1]), -2;
	if (c == ':')
		return usage_error(cmd, "option '%s' needs a value", argv[optind - 1]), -2;
	return c;
}

/* ---- init-db ------------------------------------------------------------ */

static int cmd_init_db(const cli_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
	scli_repo *repo = NULL;
	int c, error, rc = EXIT_OK;

	while ((c = next_option(argc, argv, opts, "init-db")) != -1) {
		if (c == -2)
			return EXIT_USAGE;
		if (c == 'h')
			return fputs(init_usage, stdout), EXIT_OK;
	}
	if (optind < argc)
		return usage_error("init-db", "unexpected argument '%s'", argv[optind]);
	if ((error = cli_open_repo(&repo, cli_database_url(g->database), true)) < 0 ||
	    (error = scli_service_init_db(repo)) < 0) {
		rc = fail(error);
		goto done;
	}
	printf("database ready (schema version %d)\n", SCLI_SCHEMA_VERSION);
done:
	scli_repo_free(repo);
	return rc;
}

/* ---- load --------------------------------------------------------------- */

#define MAX_PRINTED_REJECTS 20

typedef struct load_ctx {
	FILE *rejects;		  /* --rejects file, or NULL */
	const char *rejects_path; /* for messages */
	uint64_t printed;	  /* rejects reported on stderr so far */
	uint64_t total_rejects;
	bool progress; /* a live progress line on stderr */
} load_ctx;

/* RFC 4180 field for the rejects file: always quoted, quotes doubled. */
static void write_quoted(FILE *f, const char *s, size_t len)
{
	size_t i;

	fputc('"', f);
	for (i = 0; i < len; i++) {
		if (s[i] == '"')
			fputc('"', f);
		fputc(s[i], f);
	}
	fputc('"', f);
}

static int on_reject(void *p, const char *source, const scli_reject *rej)
{
	load_ctx *ctx = p;

	ctx->total_rejects++;
	if (ctx->printed < MAX_PRINTED_REJECTS) {
		if (ctx->progress)
			fputs("\r\033[K", stderr);
		cli_error("%s:%llu: %s", source, (unsigned long long)rej->line, rej->reason);
		ctx->printed++;
	}
	if (ctx->rejects) {
		write_quoted(ctx->rejects, source, strlen(source));
		fprintf(ctx->rejects, ",%llu,", (unsigned long long)rej->line);
		write_quoted(ctx->rejects, rej->reason, strlen(rej->reason));
		fputc(',', ctx->rejects);
		write_quoted(ctx->rejects, rej->raw, rej->raw_len);
		fputs("\r\n", ctx->rejects);
		if (ferror(ctx->rejects))
			return scli_error_set(SCLI_EIO, "cannot write %s: %s", ctx->rejects_path,
					      strerror(errno));
	}
	return 0;
}

static void on_progress(void *p, const char *source, const scli_load_report *r)
{
	(void)p;
	fprintf(stderr, "\r\033[Kloading %s: %llu rows", source, (unsigned long long)r->rows_read);
}

static void print_report(const char *label, const scli_load_report *r)
{
	printf("%s: rows_read=%llu inserted=%llu duplicates=%llu rejected=%llu\n", label,
	       (unsigned long long)r->rows_read, (unsigned long long)r->inserted,
	       (unsigned long long)r->duplicates, (unsigned long long)r->rejected);
}

static int load_one(scli_load_report *total, scli_repo *repo, const char *path, size_t batch,
		    load_ctx *ctx)
{
	scli_source *src = NULL;
	scli_collector *col = NULL;
	scli_load_report report = {0};
	scli_load_options opts = {.batch_size = batch,
				  .on_reject = on_reject,
				  .reject_ctx = ctx,
				  .on_progress = ctx->progress ? on_progress : NULL};
	int error;

	if ((error = scli_source_open(&src, path)) < 0 ||
	    (error = scli_collector_csv_new(&col, src)) < 0 ||
	    (error = scli_service_load(&report, repo, col, scli_source_name(src), &opts)) < 0)
		goto done;
	if (ctx->progress)
		fputs("\r\033[K", stderr);
	print_report(scli_source_name(src), &report);
	total->rows_read += report.rows_read;
	total->inserted += report.inserted;
	total->duplicates += report.duplicates;
	total->rejected += report.rejected;
done:
	if (error < 0 && ctx->progress)
		fputs("\r\033[K", stderr);
	scli_collector_free(col);
	scli_source_free(src);
	return error;
}

static int cmd_load(const cli_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {{"collector", required_argument, NULL, 'c'},
					     {"config", required_argument, NULL, 'f'},
					     {"rejects", required_argument, NULL, 'r'},
					     {"batch-size", required_argument, NULL, 'b'},
					     {"quiet", no_argument, NULL, 'q'},
					     {"help", no_argument, NULL, 'h'},
					     {0}};
	const char **paths = NULL;
	const char *collector = NULL;
	scli_load_report total = {0};
	load_ctx ctx = {0};
	scli_repo *repo = NULL;
	size_t npaths = 0, batch = 0, i;
	bool quiet = false;
	int c, error = 0, rc = EXIT_OK;
	char *end;

	if (!(paths = calloc((size_t)argc, sizeof(*paths)))) {
		cli_error("out of memory");
		return EXIT_RUNTIME;
	}
	while ((c = next_option(argc, argv, opts, "load")) != -1) {
		switch (c) {
		case 'c':
			collector = optarg;
			break;
		case 'f':
			paths[npaths++] = optarg;
			break;
		case 'r':
			ctx.rejects_path = optarg;
			break;
		case 'b':
			errno = 0;
			batch = (size_t)strtoull(optarg, &end, 10);
			if (errno || *end || optarg[0] == '-' || batch == 0 || batch > 1000000) {
				rc = usage_error(
				    "load", "--batch-size must be 1..1000000, not '%s'", optarg);
				goto done;
			}
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			fputs(load_usage, stdout);
			goto done;
		default:
			rc = EXIT_USAGE;
			goto done;
		}
	}
	if (optind < argc) {
		rc = usage_error("load", "unexpected argument '%s'", argv[optind]);
		goto done;
	}
	if (!collector) {
		rc = usage_error("load", "%s", "--collector is required (csv)");
		goto done;
	}
	if (strcmp(collector, "csv")) {
		rc = usage_error("load", "unknown collector '%s' (available: csv)", collector);
		goto done;
	}
	if (npaths == 0) {
		rc = usage_error("load", "%s", "at least one --config PATH is required");
		goto done;
	}
	ctx.progress = !quiet && isatty(STDERR_FILENO);
	if ((error = cli_open_repo(&repo, cli_database_url(g->database), false)) < 0 ||
	    (error = scli_repo_check_schema(repo)) < 0)
		goto done;
	if (ctx.rejects_path && !(ctx.rejects = fopen(ctx.rejects_path, "w"))) {
		error = scli_error_set(SCLI_EIO, "cannot write %s: %s", ctx.rejects_path,
				       strerror(errno));
		goto done;
	}
	if (ctx.rejects)
		fputs("source,line,reason,row\r\n", ctx.rejects);
	for (i = 0; i < npaths; i++)
		if ((error = load_one(&total, repo, paths[i], batch, &ctx)) < 0)
			goto done;
	if (npaths > 1)
		print_report("total", &total);
	if (ctx.total_rejects > ctx.printed)
		cli_error("%llu more rejected rows not shown%s%s",
			  (unsigned long long)(ctx.total_rejects - ctx.printed),
			  ctx.rejects ? "; all are in " : " (use --rejects FILE to keep them)",
			  ctx.rejects ? ctx.rejects_path : "");
	if (total.rejected)
		rc = EXIT_REJECTS;
done:
	if (ctx.rejects && fclose(ctx.rejects) && error >= 0)
		error = scli_error_set(SCLI_EIO, "cannot write %s: %s", ctx.rejects_path,
				       strerror(errno));
	if (error < 0)
		rc = fail(error);
	scli_repo_free(repo);
	free(paths);
	return rc;
}

/* ---- count -------------------------------------------------------------- */

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
	int64_t from = 0, to = 0;
	const char *why;
	int c, error = 0, rc = EXIT_OK;

	while ((c = next_option(argc, argv, opts, "count")) != -1) {
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
				return usage_error(
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
		return usage_error("count", "unexpected argument '%s'", argv[optind]);
	if (!from_text || !to_text)
		return usage_error("count", "%s", "--from and --to are required");
	if ((rc = parse_time_arg(&from, "--from", from_text)) ||
	    (rc = parse_time_arg(&to, "--to", to_text)))
		return rc;
	if (from > to)
		return usage_error("count", "%s", "--from is after --to");
	if (customer &&
	    scli_field_validate(customer, strlen(customer), SCLI_CUSTOMER_ID_MAX, &why) < 0) {
		fprintf(stderr, "scli: error: --customer: customer id %s\n", why);
		return EXIT_USAGE;
	}
	if ((error = cli_open_repo(&repo, cli_database_url(g->database), false)) < 0 ||
	    (error = scli_service_count(&res, repo, customer, from, to)) < 0 ||
	    (error = cli_print_count(stdout, res, format, skip_empty)) < 0)
		goto done;
	if (fflush(stdout) || ferror(stdout))
		error = scli_error_set(SCLI_EIO, "cannot write output: %s", strerror(errno));
done:
	if (error < 0)
		rc = fail(error);
	scli_count_result_free(res);
	scli_repo_free(repo);
	return rc;
}

/* ---- dispatch ----------------------------------------------------------- */

static const command commands[] = {
    {"init-db", cmd_init_db, "create or upgrade the database schema", init_usage},
    {"load", cmd_load, "load events from files into the database", load_usage},
    {"count", cmd_count, "hourly event counts per customer over [A, B)", count_usage},
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

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"database", required_argument, NULL, 'd'},
					     {"help", no_argument, NULL, 'h'},
					     {"version", no_argument, NULL, 'V'},
					     {0}};
	cli_globals g = {0};
	size_t i;
	int c;

	/* '+': stop at the command name; its options are parsed by the command. */
	while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			g.database = optarg;
			break;
		case 'h':
			print_main_usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("scli %s\n", SCLI_VERSION);
			return EXIT_OK;
		case ':':
			return usage_error(NULL, "option '%s' needs a value", argv[optind - 1]);
		default:
			return usage_error(NULL, "unknown option '%s'", argv[optind - 1]);
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
	return usage_error(NULL, "unknown command '%s'", argv[optind]);
}
