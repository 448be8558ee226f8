/* `scli count`: hourly counts per customer over [A, B). */
#include <stddef.h>
#include <string.h>

#include "cli.h"
#include "options.h"

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

int cli_cmd_count(const cli_globals *g, int argc, char **argv)
{
	count_args a = {.format = FORMAT_TABLE};
	scli_repo *repo = NULL;
	scli_count_result *res = NULL;
	scli_count_request req;
	scli_count_problem problem;
	int error = 0, rc;

	if ((rc = cli_options_parse(&a, NULL, &options, argc, argv)) != CLI_OPTIONS_GO)
		return rc;
	if ((error = scli_service_count_request(&req, &problem, a.customer,
						a.customer ? strlen(a.customer) : 0, a.from,
						a.to)) < 0)
		return count_refused(&problem, error, a.from, a.to);
	rc = EXIT_OK;
	if ((error = cli_open_repo(&repo, cli_database_url(g->database), false)) < 0 ||
	    (error = scli_service_count(&res, repo, req.customer_id, req.from_us, req.to_us)) < 0 ||
	    (error = cli_print_count(stdout, res, (cli_format)a.format, a.skip_empty)) < 0)
		goto done;
done:
	if (error < 0)
		rc = cli_fail(error);
	scli_count_result_free(res);
	scli_repo_free(repo);
	return rc;
}
