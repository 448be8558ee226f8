/* `scli load`: sources in, events stored, every row accounted for. */
#include <cjson/cJSON.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "load_cli.h"
#include "options.h"

static const char usage[] =
    "usage: scli [--database URL] load --collector csv|json --config PATH [--config PATH ...]\n"
    "                 [--rejects FILE] [--max-rejects N] [--force] [--report text|json]\n"
    "                 [--batch-size N] [--connections 1|2] [--cache-mib N] [--quiet]\n"
    "\n"
    "Load events into the database. Duplicates (same customer_id and\n"
    "transaction_id) are counted once; loading a file again changes no count.\n"
    "\n"
    "A file whose content a completed earlier load read with the same collector\n"
    "is skipped as \"already loaded (load N)\" unless --force. A file that changes\n"
    "while it is read fails (exit 1) and is loaded by the next run. Prints\n"
    "rows_read, inserted, duplicates and rejected per source. Exit code 3 when\n"
    "any row was rejected.\n"
    "\n"
    "Options:\n"
    "  --collector csv|json  input format: CSV with or without a header row; JSON as\n"
    "                        an array of objects, one object, or NDJSON\n"
    "  --config PATH         a file, a directory (its *.csv / *.json / *.ndjson files,\n"
    "                        .gz too, by collector) or a glob; `-` for standard input;\n"
    "                        .gz files are read decompressed. May be repeated.\n"
    "  --rejects FILE        append every rejected row as CSV:\n"
    "                        load_id,source,line,reason,row (created with that\n"
    "                        header; never one of the inputs)\n"
    "  --max-rejects N       stop (exit 1) when more than N rows are rejected;\n"
    "                        committed batches stay\n"
    "  --force               load a file even if the ledger says it was loaded before\n"
    "  --report text|json    the final report as text (default) or JSON on stdout\n"
    "  --batch-size N        events per transaction (default 50000; SQLite 250000)\n"
    "  --connections 1|2     PostgreSQL: connections each batch is stored over\n"
    "                        (default 2: two halves by customer and hour, stored at\n"
    "                        once; 1: each batch one transaction)\n"
    "  --cache-mib N         SQLite: page cache in MiB (default 64); more keeps a\n"
    "                        larger database's key tree in memory\n"
    "  --quiet               no progress display\n";

typedef struct loaded {
	const char *name; /* as given; "<stdin>" for "-" */
	scli_source_outcome out;
} loaded;

/* Everything `scli load` was asked to do. */
typedef struct load_request {
	cli_strings configs;
	const char *collector;
	bool force, quiet;
	int json_report; /* --report: 0 text, 1 json */
	int connections;
	int64_t cache_mib; /* 0 = the adapter's default */
	rejects_file rejects;
	int64_t max_rejects; /* -1 = no limit */
	scli_load_options opts;
} load_request;

static const cli_choice connection_counts[] = {{"1", 1}, {"2", 2}, {NULL, 0}};
static const cli_choice reports[] = {{"text", 0}, {"json", 1}, {NULL, 0}};

/*
 * Every option but --force has a variable (what a CronJob sets). They are read
 * in this order, so of two bad ones the first here is named; --report after
 * --connections keeps the order scli has always read them in.
 */
static const cli_option load_options[] = {
    {.name = "collector",
     .kind = CLI_OPT_STRING,
     .offset = offsetof(load_request, collector),
     .env = "SCLI_COLLECTOR"},
    {.name = "config",
     .kind = CLI_OPT_LIST,
     .offset = offsetof(load_request, configs),
     .env = "SCLI_CONFIG"},
    {.name = "rejects",
     .kind = CLI_OPT_STRING,
     .offset = offsetof(load_request, rejects.path),
     .env = "SCLI_REJECTS"},
    {.name = "max-rejects",
     .kind = CLI_OPT_INT64,
     .offset = offsetof(load_request, max_rejects),
     .env = "SCLI_MAX_REJECTS",
     .min = 0,
     .bad = "{name} takes a count, not '{value}'"},
    {.name = "force", .kind = CLI_OPT_FLAG, .offset = offsetof(load_request, force)},
    {.name = "batch-size",
     .kind = CLI_OPT_SIZE,
     .offset = offsetof(load_request, opts.batch_size),
     .env = "SCLI_BATCH_SIZE",
     .min = 1,
     .max = 1000000,
     .bad = "{name} must be 1..1000000, not '{value}'"},
    {.name = "connections",
     .kind = CLI_OPT_CHOICE,
     .offset = offsetof(load_request, connections),
     .env = "SCLI_CONNECTIONS",
     .choices = connection_counts,
     .bad = "{name} must be 1 or 2, not '{value}'"},
    {.name = "cache-mib",
     .kind = CLI_OPT_INT64,
     .offset = offsetof(load_request, cache_mib),
     .env = "SCLI_CACHE_MIB",
     .min = 1,
     .max = 65536,
     .bad = "{name} must be 1..65536 (MiB), not '{value}'"},
    {.name = "report",
     .kind = CLI_OPT_CHOICE,
     .offset = offsetof(load_request, json_report),
     .env = "SCLI_REPORT",
     .choices = reports,
     .bad = "{name}: unknown report '{value}' (text or json)"},
    {.name = "quiet",
     .kind = CLI_OPT_FLAG,
     .offset = offsetof(load_request, quiet),
     .env = "SCLI_QUIET"},
    {.name = "help", .kind = CLI_OPT_HELP, .short_name = 'h'},
    {0},
};

static const cli_option_set options = {
    .command = "load",
    .usage = usage,
    .options = load_options,
    .bad_value_no_see_help = true,
    .unexpected = "unexpected argument '%s' (a file to load is given as --config FILE)",
};

/* What the reject callback needs. */
typedef struct reject_ctx {
	rejects_file *file;
	reject_lines lines;
	int64_t max;
} reject_ctx;

static const char *status_name(scli_source_status status)
{
	switch (status) {
	case SCLI_SOURCE_COMPLETED:
		return "completed";
	case SCLI_SOURCE_SKIPPED:
		return "skipped";
	default:
		return "failed";
	}
}

static int on_reject(void *p, const char *source, int64_t load_id, const scli_reject *rej)
{
	reject_ctx *ctx = p;
	int error;

	cli_reject_print(&ctx->lines, source, rej);
	if ((error = cli_rejects_append(ctx->file, load_id, source, rej)) < 0)
		return error;
	if (ctx->max >= 0 && ctx->lines.total > (uint64_t)ctx->max)
		return scli_error_set(SCLI_ERROR,
				      "more than %lld rows rejected (--max-rejects); load stopped, "
				      "committed batches stay",
				      (long long)ctx->max);
	return 0;
}

static void print_report(const char *label, const scli_load_report *r)
{
	printf("%s: rows_read=%llu inserted=%llu duplicates=%llu rejected=%llu\n", label,
	       (unsigned long long)r->rows_read, (unsigned long long)r->inserted,
	       (unsigned long long)r->duplicates, (unsigned long long)r->rejected);
}

static void add_report(scli_load_report *total, const scli_load_report *r)
{
	total->rows_read += r->rows_read;
	total->inserted += r->inserted;
	total->duplicates += r->duplicates;
	total->rejected += r->rejected;
}

/* The whole report as one JSON document on stdout. */
static int print_json_report(const loaded *outs, size_t n, const scli_load_report *total,
			     const char *error)
{
	cJSON *root = cJSON_CreateObject(), *sources, *s, *figures;
	char *text = NULL;
	size_t i;
	int rc = SCLI_ENOMEM; /* until the document is printed; the message is set at the end */

	if (!root || !(sources = cJSON_AddArrayToObject(root, "sources")))
		goto done;
	for (i = 0; i < n; i++) {
		if (!(s = cJSON_CreateObject()))
			goto done;
		cJSON_AddItemToArray(sources, s);
		if (!cJSON_AddStringToObject(s, "source", outs[i].name) ||
		    !cJSON_AddStringToObject(s, "status", status_name(outs[i].out.status)))
			goto done;
		if (outs[i].out.status == SCLI_SOURCE_SKIPPED) {
			if (!cJSON_AddNumberToObject(s, "already_loaded_by",
						     (double)outs[i].out.load_id))
				goto done;
			continue;
		}
		if (outs[i].out.load_id &&
		    !cJSON_AddNumberToObject(s, "load_id", (double)outs[i].out.load_id))
			goto done;
		if (!cli_json_add_report(s, &outs[i].out.report))
			goto done;
	}
	if (!(figures = cJSON_AddObjectToObject(root, "total")) ||
	    !cli_json_add_report(figures, total))
		goto done;
	if (error && !cJSON_AddStringToObject(root, "error", error))
		goto done;
	if (!(text = cJSON_PrintUnformatted(root)))
		goto done;
	puts(text);
	rc = 0;
done:
	/* only now: `error` may point at the thread's message buffer */
	if (rc < 0)
		scli_error_set(rc, "out of memory building the JSON report");
	free(text);
	cJSON_Delete(root);
	return rc;
}

/* Load every source in order; stops at the first that fails. */
static int load_all(loaded *outs, size_t *done_out, scli_load_report *total, scli_repo *repo,
		    const source_list *sources, const scli_collector_kind *kind,
		    const load_request *req, progress_line *progress)
{
	size_t i;
	int error = 0;

	for (i = 0; i < sources->n; i++) {
		loaded *l = &outs[i];

		*done_out = i + 1;
		l->name = strcmp(sources->paths[i], "-") ? sources->paths[i] : "<stdin>";
		cli_progress_start(progress, i + 1, sources->n);
		error = scli_service_load_source(&l->out, repo, sources->paths[i], kind, req->force,
						 &req->opts);
		cli_progress_clear(progress);
		add_report(total, &l->out.report);
		if (!req->json_report && l->out.status == SCLI_SOURCE_SKIPPED)
			printf("%s: already loaded (load %lld), skipped; --force loads it again\n",
			       l->name, (long long)l->out.load_id);
		else if (!req->json_report && error == 0)
			print_report(l->name, &l->out.report);
		if (error < 0)
			return error;
	}
	if (!req->json_report && sources->n > 1)
		print_report("total", total);
	return 0;
}

/* The sources the --config arguments name, and a rejects file that is none of them. */
static int resolve_inputs(source_list *sources, const load_request *req,
			  const scli_collector_kind *kind)
{
	size_t i;
	int error, rc;

	for (i = 0; i < req->configs.n; i++)
		if ((error = cli_sources_expand(sources, req->configs.items[i], kind)) < 0)
			return cli_fail(error);
	if (!req->rejects.path)
		return 0;
	if ((rc = cli_rejects_not_an_input(req->rejects.path, req->configs.items, req->configs.n,
					   sources, kind)))
		return rc;
	if ((error = cli_rejects_check_writable(req->rejects.path)) < 0)
		return cli_fail(error);
	return 0;
}

/* Checks what needs no database; the collector kind into *kind. */
static int check_request(const scli_collector_kind **kind, const load_request *req)
{
	if (!req->collector)
		return cli_usage_error("load", "%s",
				       "--collector (or SCLI_COLLECTOR) is required: csv or json");
	if (!(*kind = scli_collector_kind_find(req->collector)))
		return cli_usage_error("load", "unknown collector '%s' (csv or json)",
				       req->collector);
	if (req->configs.n == 0)
		return cli_usage_error("load", "%s",
				       "at least one --config PATH (or SCLI_CONFIG) is required");
	return 0;
}

int cli_cmd_load(const cli_globals *g, int argc, char **argv)
{
	load_request req = {.max_rejects = -1, .connections = 2, .rejects = {NULL, -1}};
	source_list sources = {0};
	loaded *outs = NULL;
	scli_load_report total = {0};
	progress_line progress = {0};
	reject_ctx rctx = {0};
	scli_repo_options ropts = {.create = false};
	const scli_collector_kind *kind = NULL;
	scli_repo *repo = NULL;
	size_t done_sources = 0;
	int error = 0, rc;

	if ((rc = cli_options_parse(&req, NULL, &options, argc, argv)) != CLI_OPTIONS_GO)
		goto done;
	if ((rc = check_request(&kind, &req)) || (rc = resolve_inputs(&sources, &req, kind)))
		goto done;
	if (sources.n && !(outs = calloc(sources.n, sizeof(*outs)))) {
		error = scli_error_set(SCLI_ENOMEM, "out of memory");
		goto done;
	}
	progress.on = !req.quiet && isatty(STDERR_FILENO);
	rctx.file = &req.rejects;
	rctx.lines.progress = &progress;
	rctx.max = req.max_rejects;
	req.opts.on_reject = on_reject;
	req.opts.reject_ctx = &rctx;
	req.opts.on_progress = progress.on ? cli_progress_show : NULL;
	req.opts.progress_ctx = &progress;
	ropts.load_connections = req.connections;
	ropts.cache_mib = (int)req.cache_mib;
	if ((error = scli_repo_open(&repo, cli_database_url(g->database), &ropts)) < 0 ||
	    (error = scli_service_check_schema(repo)) < 0)
		goto done;
	if ((error = load_all(outs, &done_sources, &total, repo, &sources, kind, &req, &progress)) <
	    0)
		goto done;
	if (req.rejects.path) {
		char tail[PATH_MAX + 16];

		snprintf(tail, sizeof(tail), "; all are in %s", req.rejects.path);
		cli_rejects_print_rest(&rctx.lines, tail);
	} else {
		cli_rejects_print_rest(&rctx.lines, " (use --rejects FILE to keep them)");
	}
	if (total.rejected)
		rc = EXIT_REJECTS;
done:
	if (cli_rejects_close(&req.rejects) < 0 && error >= 0)
		error = SCLI_EIO;
	if (req.json_report && outs) {
		/* the report carries the load's own failure; keep a copy, printing may set another
		 */
		char why[1024];

		snprintf(why, sizeof(why), "%s", error < 0 ? scli_error_last() : "");
		if (print_json_report(outs, done_sources, &total, error < 0 ? why : NULL) < 0 &&
		    error >= 0)
			error = SCLI_ENOMEM;
		else if (error < 0)
			scli_error_set(error, "%s", why);
	}
	if (error < 0)
		rc = cli_fail(error);
	scli_repo_free(repo);
	cli_sources_free(&sources);
	free(outs);
	cli_strings_free(&req.configs);
	return rc;
}
