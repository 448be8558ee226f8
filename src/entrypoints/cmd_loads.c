/* `scli loads`: the load ledger, newest first. */
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdlib.h>

#include "cli.h"
#include "options.h"
#include "scli/timestamp.h"

static const char usage[] = "usage: scli [--database URL] loads [--limit N] [--format table|json]\n"
			    "\n"
			    "List recent loads from the load ledger, newest first: id, state\n"
			    "(running, completed, failed; a killed load stays `running`), the\n"
			    "collector that read the source (empty for loads recorded before scli\n"
			    "knew it), start and end, the four figures, the source and its size.\n"
			    "\n"
			    "Options:\n"
			    "  --limit N      how many (default 20)\n"
			    "  --format F     table (default) or json\n";

typedef struct loads_args {
	size_t limit;
	int json; /* --format: 0 table, 1 json */
} loads_args;

static const cli_choice formats[] = {{"table", 0}, {"json", 1}, {NULL, 0}};

static const cli_option loads_options[] = {
    {.name = "limit",
     .kind = CLI_OPT_SIZE,
     .offset = offsetof(loads_args, limit),
     .min = 1,
     .bad = "{name} takes a positive count, not '{value}'"},
    {.name = "format",
     .kind = CLI_OPT_CHOICE,
     .offset = offsetof(loads_args, json),
     .choices = formats,
     .bad = "unknown format '{value}' (table or json)"},
    {.name = "help", .kind = CLI_OPT_HELP, .short_name = 'h'},
    {0},
};

static const cli_option_set options = {
    .command = "loads",
    .usage = usage,
    .options = loads_options,
};

/* One table row into ctx (a FILE *); the source, any length, comes last. */
static int print_load_row(void *ctx, const scli_load_record *rec)
{
	char started[SCLI_TIMESTAMP_BUFSZ], ended[SCLI_TIMESTAMP_BUFSZ] = "-";

	/* whole seconds are enough to read a ledger */
	scli_timestamp_format(started, rec->started_us - rec->started_us % 1000000);
	if (rec->ended_us)
		scli_timestamp_format(ended, rec->ended_us - rec->ended_us % 1000000);
	fprintf(ctx, "%6lld  %-9s  %-9s  %-20s  %-20s  %10llu  %10llu  %10llu  %8llu  %s%s%s\n",
		(long long)rec->id, scli_load_state_name(rec->state), rec->collector, started,
		ended, (unsigned long long)rec->rows_read, (unsigned long long)rec->inserted,
		(unsigned long long)rec->duplicates, (unsigned long long)rec->rejected, rec->source,
		rec->error[0] ? "  -- " : "", rec->error);
	return 0;
}

static int add_load_json(void *ctx, const scli_load_record *rec)
{
	cJSON *arr = ctx, *o = cJSON_CreateObject();
	char ts[SCLI_TIMESTAMP_BUFSZ];
	const scli_load_report figures = {rec->rows_read, rec->inserted, rec->duplicates,
					  rec->rejected};

	if (!o)
		return scli_error_set(SCLI_ENOMEM, "out of memory");
	cJSON_AddItemToArray(arr, o);
	scli_timestamp_format(ts, rec->started_us);
	if (!cJSON_AddNumberToObject(o, "id", (double)rec->id) ||
	    !cJSON_AddStringToObject(o, "state", scli_load_state_name(rec->state)) ||
	    !cJSON_AddStringToObject(o, "collector", rec->collector) ||
	    !cJSON_AddStringToObject(o, "source", rec->source) ||
	    !cJSON_AddNumberToObject(o, "size", (double)rec->size) ||
	    !cJSON_AddStringToObject(o, "hash", rec->hash) ||
	    !cJSON_AddStringToObject(o, "started", ts))
		return scli_error_set(SCLI_ENOMEM, "out of memory");
	if (rec->ended_us) {
		scli_timestamp_format(ts, rec->ended_us);
		if (!cJSON_AddStringToObject(o, "ended", ts))
			return scli_error_set(SCLI_ENOMEM, "out of memory");
	} else if (!cJSON_AddNullToObject(o, "ended")) {
		return scli_error_set(SCLI_ENOMEM, "out of memory");
	}
	if (!cli_json_add_report(o, &figures) || !cJSON_AddStringToObject(o, "error", rec->error))
		return scli_error_set(SCLI_ENOMEM, "out of memory");
	return 0;
}

int cli_cmd_loads(const cli_globals *g, int argc, char **argv)
{
	loads_args a = {.limit = 20};
	scli_repo *repo = NULL;
	cJSON *arr = NULL;
	FILE *table = NULL;
	char *text = NULL;
	size_t len = 0;
	int error = 0, rc;

	if ((rc = cli_options_parse(&a, NULL, &options, argc, argv)) != CLI_OPTIONS_GO)
		return rc;
	rc = EXIT_OK;
	if ((error = cli_open_repo(&repo, cli_database_url(g->database), false)) < 0)
		goto done;
	if (a.json) {
		if (!(arr = cJSON_CreateArray())) {
			error = scli_error_set(SCLI_ENOMEM, "out of memory");
			goto done;
		}
		if ((error = scli_service_list_loads(repo, a.limit, add_load_json, arr)) < 0)
			goto done;
		if (!(text = cJSON_PrintUnformatted(arr))) {
			error = scli_error_set(SCLI_ENOMEM, "out of memory");
			goto done;
		}
		puts(text);
	} else {
		/* the whole table or nothing: a failure (no schema yet) prints no header */
		if (!(table = open_memstream(&text, &len))) {
			error = scli_error_set(SCLI_ENOMEM, "out of memory");
			goto done;
		}
		fprintf(table, "%6s  %-9s  %-9s  %-20s  %-20s  %10s  %10s  %10s  %8s  %s\n", "id",
			"state", "collector", "started", "ended", "rows_read", "inserted",
			"duplicates", "rejected", "source");
		if ((error = scli_service_list_loads(repo, a.limit, print_load_row, table)) < 0)
			goto done;
		error = fclose(table) ? scli_error_set(SCLI_ENOMEM, "out of memory") : 0;
		table = NULL;
		if (error < 0)
			goto done;
		fwrite(text, 1, len, stdout);
	}
done:
	if (error < 0)
		rc = cli_fail(error);
	if (table)
		fclose(table);
	free(text);
	cJSON_Delete(arr);
	scli_repo_free(repo);
	return rc;
}
