/* `scli load`: sources in, events stored, every row accounted for. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "scli/adapters.h"
#include "scli/timestamp.h"

const char cli_load_usage[] =
    "usage: scli [--database URL] load --collector csv|json --config PATH [--config PATH ...]\n"
    "                 [--rejects FILE] [--max-rejects N] [--force] [--report text|json]\n"
    "                 [--batch-size N] [--connections 1|2] [--quiet]\n"
    "\n"
    "Load events into the database. Duplicates (same customer_id and\n"
    "transaction_id) are counted once; loading a file again changes no count.\n"
    "\n"
    "  --collector csv|json  input format: CSV with or without a header row; JSON as\n"
    "                        an array of objects, one object, or NDJSON\n"
    "  --config PATH         a file, a directory (its *.csv / *.json / *.ndjson files,\n"
    "                        .gz too, by collector) or a glob; `-` for standard input;\n"
    "                        .gz files are read decompressed. May be repeated.\n"
    "  --rejects FILE        write every rejected row as CSV: source,line,reason,row\n"
    "  --max-rejects N       stop (exit 1) when more than N rows are rejected;\n"
    "                        committed batches stay\n"
    "  --force               load a file even if the ledger says it was loaded before\n"
    "  --report text|json    the final report as text (default) or JSON on stdout\n"
    "  --batch-size N        events per transaction (default 50000)\n"
    "  --connections 1|2     PostgreSQL: connections each batch is stored over\n"
    "                        (default 2: two halves by customer and hour, stored at\n"
    "                        once; 1: each batch one transaction)\n"
    "  --quiet               no progress display\n"
    "\n"
    "A file whose content hash matches a completed earlier load is skipped as\n"
    "\"already loaded (load N)\" unless --force. Prints rows_read, inserted,\n"
    "duplicates and rejected per source. Exit code 3 when any row was rejected.\n";

#define MAX_PRINTED_REJECTS 20

typedef enum { COLLECTOR_CSV, COLLECTOR_JSON } collector_kind;

/* The expanded list of sources to load, in order. */
typedef struct source_list {
	char **paths;
	size_t n, cap;
} source_list;

/* One source's outcome, for the report. */
typedef struct source_outcome {
	const char *name;
	const char *status; /* "completed", "skipped", "failed" */
	int64_t load_id;    /* this load, or the earlier one that made it skip */
	scli_load_report report;
} source_outcome;

typedef struct load_ctx {
	FILE *rejects;		  /* --rejects file, or NULL */
	const char *rejects_path; /* for messages */
	uint64_t printed;	  /* rejects reported on stderr so far */
	uint64_t total_rejects;
	int64_t max_rejects; /* -1 = no limit */
	bool progress;	     /* a live progress line on stderr */
	scli_source *src;    /* the source being loaded, for progress */
	struct timespec started;
} load_ctx;

static int list_add(source_list *l, const char *path)
{
	char *copy;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		char **paths = realloc(l->paths, cap * sizeof(*paths));

		if (!paths)
			return scli_error_set(SCLI_ENOMEM, "out of memory");
		l->paths = paths;
		l->cap = cap;
	}
	if (!(copy = strdup(path)))
		return scli_error_set(SCLI_ENOMEM, "out of memory");
	l->paths[l->n++] = copy;
	return 0;
}

static void list_free(source_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->paths[i]);
	free(l->paths);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

/* Whether a file in a --config directory belongs to the collector. */
static bool wanted_in_directory(const char *name, collector_kind kind)
{
	static const char *const csv[] = {".csv", ".csv.gz", NULL};
	static const char *const json[] = {".json", ".json.gz", ".ndjson", ".ndjson.gz", NULL};
	const char *const *ext;

	if (name[0] == '.')
		return false;
	for (ext = kind == COLLECTOR_CSV ? csv : json; *ext; ext++)
		if (ends_with(name, *ext))
			return true;
	return false;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A directory's matching regular files, sorted by name so loads are repeatable. */
static int expand_directory(source_list *l, const char *dir, collector_kind kind)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	source_list found = {0};
	size_t i;
	int error = 0;

	if (!d)
		return scli_error_set(SCLI_EIO, "cannot read directory %s: %s", dir,
				      strerror(errno));
	while ((e = readdir(d))) {
		char path[4096];
		struct stat st;

		if (!wanted_in_directory(e->d_name, kind))
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s%s%s", dir,
				     ends_with(dir, "/") ? "" : "/", e->d_name) >= sizeof(path))
			continue;
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
		    (error = list_add(&found, path)) < 0)
			goto done;
	}
	if (found.n == 0)
		fprintf(stderr, "scli: note: no %s files in %s\n",
			kind == COLLECTOR_CSV ? "*.csv" : "*.json/*.ndjson", dir);
	qsort(found.paths, found.n, sizeof(*found.paths), compare_names);
	for (i = 0; i < found.n; i++)
		if ((error = list_add(l, found.paths[i])) < 0)
			goto done;
done:
	closedir(d);
	list_free(&found);
	return error;
}

/* --config PATH: `-`, a directory, a glob, or a file (a missing file fails when opened). */
static int expand_config(source_list *l, const char *arg, collector_kind kind)
{
	struct stat st;
	glob_t g;
	size_t i;
	int error = 0, rc;

	if (!strcmp(arg, "-"))
		return list_add(l, arg);
	if (stat(arg, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return expand_directory(l, arg, kind);
		return list_add(l, arg);
	}
	if (!strpbrk(arg, "*?["))
		return list_add(l, arg);
	rc = glob(arg, 0, NULL, &g);
	if (rc == GLOB_NOMATCH)
		return scli_error_set(SCLI_EIO, "no file matches %s", arg);
	if (rc != 0)
		return scli_error_set(SCLI_EIO, "cannot expand %s", arg);
	for (i = 0; i < g.gl_pathc && error == 0; i++)
		error = list_add(l, g.gl_pathv[i]);
	globfree(&g);
	return error;
}

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

static void clear_progress(const load_ctx *ctx)
{
	if (ctx->progress)
		fputs("\r\033[K", stderr);
}

static int on_reject(void *p, const char *source, const scli_reject *rej)
{
	load_ctx *ctx = p;

	ctx->total_rejects++;
	if (ctx->printed < MAX_PRINTED_REJECTS) {
		clear_progress(ctx);
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
	if (ctx->max_rejects >= 0 && ctx->total_rejects > (uint64_t)ctx->max_rejects)
		return scli_error_set(SCLI_ERROR,
				      "more than %lld rows rejected (--max-rejects); load stopped, "
				      "committed batches stay",
				      (long long)ctx->max_rejects);
	return 0;
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static void on_progress(void *p, const char *source, const scli_load_report *r)
{
	load_ctx *ctx = p;
	double secs = seconds_since(&ctx->started);
	int64_t size = ctx->src ? scli_source_size(ctx->src) : -1;

	fprintf(stderr, "\r\033[Kloading %s: %llu rows, %.0f rows/s", source,
		(unsigned long long)r->rows_read, secs > 0 ? (double)r->rows_read / secs : 0.0);
	if (size > 0)
		fprintf(stderr, ", %.0f%%",
			100.0 * (double)scli_source_offset(ctx->src) / (double)size);
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

static int open_collector(scli_collector **out, scli_source *src, collector_kind kind)
{
	return kind == COLLECTOR_CSV ? scli_collector_csv_new(out, src)
				     : scli_collector_json_new(out, src);
}

/* Load one source (or skip it when the ledger has it), filling `out`. */
static int load_one(source_outcome *out, scli_repo *repo, const char *path, collector_kind kind,
		    const scli_load_options *base_opts, bool force, load_ctx *ctx)
{
	char hash[SCLI_HASH_HEX_LEN + 1] = "";
	int64_t previous = 0;
	scli_source *src = NULL;
	scli_collector *col = NULL;
	scli_load_options opts = *base_opts;
	scli_source_info info;
	int error, found;

	out->status = "failed";
	/* one open: the hash (regular files only) covers exactly the bytes loaded */
	if ((error = scli_source_open_hashed(&src, hash, path)) < 0)
		goto done;
	if (hash[0]) {
		if ((found = scli_service_find_loaded(&previous, repo, hash)) < 0) {
			error = found;
			goto done;
		}
		if (found && !force) {
			out->status = "skipped";
			out->load_id = previous;
			error = 0;
			goto done;
		}
	}
	if ((error = open_collector(&col, src, kind)) < 0)
		goto done;
	info.name = scli_source_name(src);
	info.size = scli_source_size(src);
	info.hash = hash;
	ctx->src = src;
	clock_gettime(CLOCK_MONOTONIC, &ctx->started);
	opts.reject_ctx = ctx;
	opts.progress_ctx = ctx;
	error = scli_service_load_recorded(&out->load_id, &out->report, repo, col, &info, &opts);
	if (error == 0)
		out->status = "completed";
done:
	clear_progress(ctx);
	ctx->src = NULL;
	/* the name must outlive the source: keep the path we were given */
	out->name = strcmp(path, "-") ? path : "<stdin>";
	scli_collector_free(col);
	scli_source_free(src);
	return error;
}

static cJSON *report_json(const scli_load_report *r)
{
	cJSON *o = cJSON_CreateObject();

	if (o && (!cJSON_AddNumberToObject(o, "rows_read", (double)r->rows_read) ||
		  !cJSON_AddNumberToObject(o, "inserted", (double)r->inserted) ||
		  !cJSON_AddNumberToObject(o, "duplicates", (double)r->duplicates) ||
		  !cJSON_AddNumberToObject(o, "rejected", (double)r->rejected))) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* The whole report as one JSON document on stdout. */
static int print_json_report(const source_outcome *outs, size_t n, const scli_load_report *total,
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
		    !cJSON_AddStringToObject(s, "status", outs[i].status))
			goto done;
		if (!strcmp(outs[i].status, "skipped")) {
			if (!cJSON_AddNumberToObject(s, "already_loaded_by",
						     (double)outs[i].load_id))
				goto done;
			continue;
		}
		if (outs[i].load_id &&
		    !cJSON_AddNumberToObject(s, "load_id", (double)outs[i].load_id))
			goto done;
		if (!(figures = report_json(&outs[i].report)))
			goto done;
		for (cJSON *f = figures->child; f;) {
			cJSON *next = f->next;

			cJSON_AddItemToObject(s, f->string, cJSON_DetachItemViaPointer(figures, f));
			f = next;
		}
		cJSON_Delete(figures);
	}
	if (!(figures = report_json(total)))
		goto done;
	cJSON_AddItemToObject(root, "total", figures);
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

/* Option values from a flag or its environment variable, checked the same way. */
static int parse_max_rejects(int64_t *out, const char *what, const char *text)
{
	char *end;

	errno = 0;
	*out = (int64_t)strtoll(text, &end, 10);
	if (errno || *end || !*text || *out < 0) {
		fprintf(stderr, "scli: error: %s takes a count, not '%s'\n", what, text);
		return EXIT_USAGE;
	}
	return 0;
}

static int parse_batch_size(size_t *out, const char *what, const char *text)
{
	char *end;

	errno = 0;
	*out = (size_t)strtoull(text, &end, 10);
	if (errno || *end || !*text || text[0] == '-' || *out == 0 || *out > 1000000) {
		fprintf(stderr, "scli: error: %s must be 1..1000000, not '%s'\n", what, text);
		return EXIT_USAGE;
	}
	return 0;
}

static int parse_connections(int *out, const char *what, const char *text)
{
	if (strcmp(text, "1") && strcmp(text, "2")) {
		fprintf(stderr, "scli: error: %s must be 1 or 2, not '%s'\n", what, text);
		return EXIT_USAGE;
	}
	*out = text[0] - '0';
	return 0;
}

static int parse_report(bool *json, const char *what, const char *text)
{
	if (strcmp(text, "text") && strcmp(text, "json")) {
		fprintf(stderr, "scli: error: %s: unknown report '%s' (text or json)\n", what,
			text);
		return EXIT_USAGE;
	}
	*json = !strcmp(text, "json");
	return 0;
}

int cli_cmd_load(const cli_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {{"collector", required_argument, NULL, 'c'},
					     {"config", required_argument, NULL, 'f'},
					     {"rejects", required_argument, NULL, 'r'},
					     {"max-rejects", required_argument, NULL, 'm'},
					     {"force", no_argument, NULL, 'F'},
					     {"report", required_argument, NULL, 'R'},
					     {"batch-size", required_argument, NULL, 'b'},
					     {"connections", required_argument, NULL, 'n'},
					     {"quiet", no_argument, NULL, 'q'},
					     {"help", no_argument, NULL, 'h'},
					     {0}};
	const char **configs = NULL, *collector = NULL, *env_configs, *text;
	char *env_copy = NULL;
	source_list sources = {0};
	source_outcome *outs = NULL;
	scli_load_report total = {0};
	load_ctx ctx = {.max_rejects = -1};
	scli_load_options load_opts = {0};
	scli_repo *repo = NULL;
	collector_kind kind = COLLECTOR_CSV;
	size_t nconfigs = 0, i, done_sources = 0;
	bool quiet = false, force = false, json_report = false;
	int c, error = 0, rc = EXIT_OK, connections = 2;

	/* room for every --config, or for every entry of $SCLI_CONFIG */
	env_configs = getenv("SCLI_CONFIG");
	if (!(configs = calloc((size_t)argc + (env_configs ? strlen(env_configs) : 0) + 1,
			       sizeof(*configs))) ||
	    (env_configs && !(env_copy = strdup(env_configs)))) {
		cli_error("out of memory");
		rc = EXIT_RUNTIME;
		goto done;
	}
	/* The environment first (what a CronJob sets), then the flags, which win. */
	collector = cli_env("SCLI_COLLECTOR");
	ctx.rejects_path = cli_env("SCLI_REJECTS");
	quiet = cli_env_flag("SCLI_QUIET");
	if ((text = cli_env("SCLI_MAX_REJECTS")) &&
	    (rc = parse_max_rejects(&ctx.max_rejects, "SCLI_MAX_REJECTS", text)))
		goto done;
	if ((text = cli_env("SCLI_BATCH_SIZE")) &&
	    (rc = parse_batch_size(&load_opts.batch_size, "SCLI_BATCH_SIZE", text)))
		goto done;
	if ((text = cli_env("SCLI_CONNECTIONS")) &&
	    (rc = parse_connections(&connections, "SCLI_CONNECTIONS", text)))
		goto done;
	if ((text = cli_env("SCLI_REPORT")) &&
	    (rc = parse_report(&json_report, "SCLI_REPORT", text)))
		goto done;
	while ((c = cli_next_option(argc, argv, opts, "load")) != -1) {
		switch (c) {
		case 'c':
			collector = optarg;
			break;
		case 'f':
			configs[nconfigs++] = optarg;
			break;
		case 'r':
			ctx.rejects_path = optarg;
			break;
		case 'm':
			if ((rc = parse_max_rejects(&ctx.max_rejects, "--max-rejects", optarg)))
				goto done;
			break;
		case 'F':
			force = true;
			break;
		case 'R':
			if ((rc = parse_report(&json_report, "--report", optarg)))
				goto done;
			break;
		case 'b':
			if ((rc = parse_batch_size(&load_opts.batch_size, "--batch-size", optarg)))
				goto done;
			break;
		case 'n':
			if ((rc = parse_connections(&connections, "--connections", optarg)))
				goto done;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			fputs(cli_load_usage, stdout);
			goto done;
		default:
			rc = EXIT_USAGE;
			goto done;
		}
	}
	/* $SCLI_CONFIG: one or more paths separated by ':' (like PATH), when no --config */
	if (nconfigs == 0 && env_copy) {
		char *save = NULL, *tok;

		for (tok = strtok_r(env_copy, ":", &save); tok; tok = strtok_r(NULL, ":", &save))
			configs[nconfigs++] = tok;
	}
	if (optind < argc) {
		rc = cli_usage_error("load", "unexpected argument '%s'", argv[optind]);
		goto done;
	}
	if (!collector) {
		rc = cli_usage_error("load", "%s",
				     "--collector (or SCLI_COLLECTOR) is required: csv or json");
		goto done;
	}
	if (!strcmp(collector, "json")) {
		kind = COLLECTOR_JSON;
	} else if (strcmp(collector, "csv")) {
		rc = cli_usage_error("load", "unknown collector '%s' (csv or json)", collector);
		goto done;
	}
	if (nconfigs == 0) {
		rc = cli_usage_error("load", "%s",
				     "at least one --config PATH (or SCLI_CONFIG) is required");
		goto done;
	}
	for (i = 0; i < nconfigs; i++)
		if ((error = expand_config(&sources, configs[i], kind)) < 0)
			goto done;
	if (sources.n && !(outs = calloc(sources.n, sizeof(*outs)))) {
		error = scli_error_set(SCLI_ENOMEM, "out of memory");
		goto done;
	}
	ctx.progress = !quiet && isatty(STDERR_FILENO);
	load_opts.on_reject = on_reject;
	load_opts.on_progress = ctx.progress ? on_progress : NULL;
	if ((error = cli_open_repo(&repo, cli_database_url(g->database), false)) < 0 ||
	    (error = scli_repo_check_schema(repo)) < 0)
		goto done;
	if (!strcmp(scli_repo_name(repo), "postgres"))
		scli_repo_postgres_set_load_connections(repo, connections);
	if (ctx.rejects_path && !(ctx.rejects = fopen(ctx.rejects_path, "w"))) {
		error = scli_error_set(SCLI_EIO, "cannot write %s: %s", ctx.rejects_path,
				       strerror(errno));
		goto done;
	}
	if (ctx.rejects)
		fputs("source,line,reason,row\r\n", ctx.rejects);
	for (i = 0; i < sources.n; i++) {
		source_outcome *out = &outs[i];

		done_sources = i + 1;
		error = load_one(out, repo, sources.paths[i], kind, &load_opts, force, &ctx);
		add_report(&total, &out->report);
		if (!json_report && !strcmp(out->status, "skipped"))
			printf("%s: already loaded (load %lld), skipped; --force loads it again\n",
			       out->name, (long long)out->load_id);
		else if (!json_report && error == 0)
			print_report(out->name, &out->report);
		if (error < 0)
			goto done;
	}
	if (!json_report && sources.n > 1)
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
	if (json_report && outs) {
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
	list_free(&sources);
	free(outs);
	free(configs);
	free(env_copy);
	return rc;
}
