/* `scli count`: event counts per customer (and event type) per window over [A, B). */
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "load_cli.h"
#include "options.h"

static const char usage[] =
    "usage: scli [--database URL] count [--customer ID ...] --from A --to B\n"
    "                                   [--window minute|hour|day|month] [--tz ZONE]\n"
    "                                   [--event-type T ...] [--group-by event_type]\n"
    "                                   [--format table|csv|json|chart] [--skip-empty]\n"
    "                                   [--collector csv|json --config PATH ...]\n"
    "                                   [--threads N] [--memory-mib N]\n"
    "\n"
    "Count events per window in [A, B). Without --customer, every customer with\n"
    "at least one event in the range.\n"
    "\n"
    "The quickest way to an answer: with --collector and --config, count reads\n"
    "the files themselves, as `scli load` would, and answers from them; no\n"
    "database is opened or created. Every answer is the one a load and a count\n"
    "would give: duplicates count once (the first read wins), rows load would\n"
    "reject are printed on stderr (the first 20) and give exit code 3, with the\n"
    "counts still printed.\n"
    "\n"
    "Timestamps: 2021-03-01T04:00:00Z,\n"
    "2021-03-01 04:00:00+00, 2021-03-01, 2021-03-01 04:01 (a fraction of 1-9\n"
    "digits; offsets Z, +HH, +HHMM, +HH:MM); without an offset they are\n"
    "wall-clock times in --tz.\n"
    "\n"
    "Options:\n"
    "  --customer ID       a customer (repeatable; each is listed, with zero counts\n"
    "                      if it has no events)\n"
    "  --from A, --to B    the half-open range A <= t < B\n"
    "  --window W          minute, hour (default), day or month, on the zone's clock\n"
    "  --tz ZONE           an IANA zone (America/New_York) or an offset (+05:30);\n"
    "                      default UTC\n"
    "  --event-type T      count only events of type T (repeatable)\n"
    "  --group-by event_type  one series per customer and event type\n"
    "  --format F          table (default), csv, json, or chart: a bar per window\n"
    "                      for people (width $COLUMNS or the terminal's, colour\n"
    "                      unless $NO_COLOR; not for scripts)\n"
    "  --skip-empty        leave out windows with a count of 0\n"
    "  --collector csv|json  count from files of this format (with --config)\n"
    "  --config PATH       a file, a directory (its *.csv / *.json / *.ndjson files,\n"
    "                      .gz too, by collector), a glob, or `-` for standard\n"
    "                      input, read in order as `scli load` reads them; may be\n"
    "                      repeated\n"
    "  --threads N         threads reading the files (default: the CPUs, at most 8)\n"
    "  --memory-mib N      the most memory the identities of the events read may\n"
    "                      take, in MiB (default: half the RAM); only those of the\n"
    "                      customers asked for are kept\n";

/* What the flags say, as typed. */
typedef struct count_args {
	cli_strings customers, event_types;
	const char *from, *to, *window, *tz, *group_by;
	int format; /* cli_format */
	bool skip_empty;
	const char *collector; /* with configs: count from files */
	cli_strings configs;
	int64_t threads, memory_mib; /* 0: the defaults */
} count_args;

static const cli_choice formats[] = {
    {"table", FORMAT_TABLE}, {"csv", FORMAT_CSV}, {"json", FORMAT_JSON},
    {"chart", FORMAT_CHART}, {NULL, 0},
};

static const cli_option count_options[] = {
    {.name = "customer", .kind = CLI_OPT_LIST, .offset = offsetof(count_args, customers)},
    {.name = "from", .kind = CLI_OPT_STRING, .offset = offsetof(count_args, from)},
    {.name = "to", .kind = CLI_OPT_STRING, .offset = offsetof(count_args, to)},
    {.name = "window", .kind = CLI_OPT_STRING, .offset = offsetof(count_args, window)},
    {.name = "tz", .kind = CLI_OPT_STRING, .offset = offsetof(count_args, tz)},
    {.name = "event-type", .kind = CLI_OPT_LIST, .offset = offsetof(count_args, event_types)},
    {.name = "group-by", .kind = CLI_OPT_STRING, .offset = offsetof(count_args, group_by)},
    {.name = "format",
     .kind = CLI_OPT_CHOICE,
     .offset = offsetof(count_args, format),
     .choices = formats,
     .bad = "unknown format '{value}' (table, csv, json or chart)"},
    {.name = "skip-empty", .kind = CLI_OPT_FLAG, .offset = offsetof(count_args, skip_empty)},
    {.name = "collector", .kind = CLI_OPT_STRING, .offset = offsetof(count_args, collector)},
    {.name = "config", .kind = CLI_OPT_LIST, .offset = offsetof(count_args, configs)},
    {.name = "threads",
     .kind = CLI_OPT_INT64,
     .offset = offsetof(count_args, threads),
     .min = 1,
     .max = 64,
     .bad = "{name} must be 1..64, not '{value}'"},
    {.name = "memory-mib",
     .kind = CLI_OPT_INT64,
     .offset = offsetof(count_args, memory_mib),
     .min = 1,
     .max = 1048576,
     .bad = "{name} must be 1..1048576 (MiB), not '{value}'"},
    {.name = "help", .kind = CLI_OPT_HELP, .short_name = 'h'},
    {0},
};

static const cli_option_set options = {
    .command = "count",
    .usage = usage,
    .options = count_options,
};

int cli_zone_load(const scli_zone **out, void *ctx, const char *name)
{
	scli_zone **held = ctx;
	int error;

	scli_zone_free(*held);
	*held = NULL;
	error = scli_zone_load(held, name);
	*out = *held;
	return error;
}

/* A count request the service refused, in the CLI's words; returns the exit code. */
static int count_refused(const scli_count_problem *p, int error, const count_args *a)
{
	switch (p->what) {
	case SCLI_COUNT_NO_RANGE:
		return cli_usage_error("count", "%s", "--from and --to are required");
	case SCLI_COUNT_BAD_WINDOW:
		return cli_usage_error("count", "unknown window '%s' (minute, hour, day or month)",
				       a->window);
	case SCLI_COUNT_BAD_GROUP_BY:
		return cli_usage_error("count", "unknown --group-by '%s' (event_type)",
				       a->group_by);
	case SCLI_COUNT_UNKNOWN_ZONE:
		fprintf(stderr, "scli: error: --tz: %s\n", p->why);
		return EXIT_USAGE;
	case SCLI_COUNT_BAD_FROM:
	case SCLI_COUNT_BAD_TO:
		fprintf(stderr, "scli: error: %s: invalid timestamp \"%s\": %s\n",
			p->what == SCLI_COUNT_BAD_FROM ? "--from" : "--to",
			p->what == SCLI_COUNT_BAD_FROM ? a->from : a->to, p->why);
		return EXIT_USAGE;
	case SCLI_COUNT_FROM_SKIPPED:
	case SCLI_COUNT_TO_SKIPPED:
		fprintf(stderr, "scli: error: %s: %s\n",
			p->what == SCLI_COUNT_FROM_SKIPPED ? "--from" : "--to", p->why);
		return EXIT_USAGE;
	case SCLI_COUNT_REVERSED:
		return cli_usage_error("count", "%s", "--from is after --to");
	case SCLI_COUNT_BAD_CUSTOMER:
		fprintf(stderr, "scli: error: --customer: customer id %s\n", p->why);
		return EXIT_USAGE;
	case SCLI_COUNT_BAD_EVENT_TYPE:
		fprintf(stderr, "scli: error: --event-type: event type %s\n", p->why);
		return EXIT_USAGE;
	default: /* too wide, or the zone could not be read: the service's message */
		return cli_fail(error);
	}
}

/* Rejected rows of a count from files, on stderr as load prints them. */
static int print_reject(void *ctx, const char *source, int64_t load_id, const scli_reject *rej)
{
	(void)load_id;
	cli_reject_print(ctx, source, rej);
	return 0;
}

/* Half the RAM: a count from files fails with a message rather than being killed. */
static size_t default_memory_limit(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);

	if (pages <= 0 || size <= 0)
		return 0;
	return (size_t)pages / 2 * (size_t)size;
}

/* `count --collector K --config PATH...`: the request answered from the files, no database. */
static int count_files(scli_count_result **res, const count_args *a, const scli_count_request *req)
{
	const scli_collector_kind *kind;
	source_list sources = {0};
	scli_count_sources_options opts = {0};
	scli_count_sources_report report;
	reject_lines lines = {0};
	size_t i;
	int error, rc = EXIT_OK;

	if (!a->collector || !a->configs.n)
		return cli_usage_error("count", "%s",
				       a->collector
					   ? "--collector needs --config PATH (the files to count)"
					   : "--config needs --collector csv|json");
	if (!(kind = scli_collector_kind_find(a->collector)))
		return cli_usage_error("count", "unknown collector '%s' (csv or json)",
				       a->collector);
	for (i = 0; i < a->configs.n; i++)
		if ((error = cli_sources_expand(&sources, a->configs.items[i], kind)) < 0) {
			rc = cli_fail(error);
			goto done;
		}
	opts.on_reject = print_reject;
	opts.reject_ctx = &lines;
	opts.threads = (unsigned)a->threads;
	opts.memory_limit = a->memory_mib ? (size_t)a->memory_mib << 20 : default_memory_limit();
	error = scli_service_count_sources(res, &report, (const char *const *)sources.paths,
					   sources.n, kind, req, &opts);
	cli_rejects_print_rest(&lines, " (`scli load --rejects FILE` keeps them all)");
	if (error == SCLI_ENOMEM && opts.memory_limit) {
		cli_error("%s; allow more with --memory-mib, name fewer customers with --customer, "
			  "or load the files (scli load) and count from the database",
			  scli_error_last());
		rc = cli_exit_code_for(error);
	} else if (error < 0) {
		rc = cli_fail(error);
	} else if (report.rejected) {
		rc = EXIT_REJECTS;
	}
done:
	cli_sources_free(&sources);
	return rc;
}

int cli_cmd_count(const cli_globals *g, int argc, char **argv)
{
	count_args a = {.format = FORMAT_TABLE};
	scli_repo *repo = NULL;
	scli_zone *zone = NULL;
	scli_count_result *res = NULL;
	scli_count_input in = {0};
	scli_count_request req;
	scli_count_problem problem;
	int error = 0, rc;

	if ((rc = cli_options_parse(&a, NULL, &options, argc, argv)) != CLI_OPTIONS_GO)
		goto done;
	in.customers = a.customers.items;
	in.n_customers = a.customers.n;
	in.event_types = a.event_types.items;
	in.n_event_types = a.event_types.n;
	in.from = a.from;
	in.to = a.to;
	in.window = a.window;
	in.tz = a.tz;
	in.group_by = a.group_by;
	in.zone_lookup = cli_zone_load;
	in.zone_ctx = &zone;
	if ((error = scli_service_count_request(&req, &problem, &in)) < 0) {
		rc = count_refused(&problem, error, &a);
		error = 0;
		goto done;
	}
	rc = EXIT_OK;
	if (a.collector || a.configs.n) {
		/* from files: no database is opened, whatever --database says */
		if ((rc = count_files(&res, &a, &req)) != EXIT_OK && rc != EXIT_REJECTS)
			goto done;
	} else if ((error = cli_open_repo(&repo, cli_database_url(g->database), false)) < 0 ||
		   (error = scli_service_count_windows(&res, repo, &req)) < 0) {
		goto done;
	}
	if ((error = cli_print_count(stdout, res, (cli_format)a.format, a.skip_empty)) < 0)
		goto done;
done:
	if (error < 0)
		rc = cli_fail(error);
	scli_count_result_free(res);
	scli_repo_free(repo);
	scli_zone_free(zone);
	cli_strings_free(&a.customers);
	cli_strings_free(&a.event_types);
	cli_strings_free(&a.configs);
	return rc;
}
