/* `scli count`: hourly counts per customer over [A, B). */
#include <stddef.h>
#include <string.h>

#include "cli.h"
#include "options.h"
#include "scli/timestamp.h"

static const char usage[] =
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

static const cli_option_set options = {
    .command = "count",
    .usage = usage,
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

int cli_cmd_count(const cli_globals *g, int argc, char **argv)
{
	count_args a = {.format = FORMAT_TABLE};
	scli_repo *repo = NULL;
	scli_count_result *res = NULL;
	int64_t from = 0, to = 0;
	const char *why;
	int error = 0, rc;

	if ((rc = cli_options_parse(&a, NULL, &options, argc, argv)) != CLI_OPTIONS_GO)
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
