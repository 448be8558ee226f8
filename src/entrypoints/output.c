/* `count` as table, CSV and JSON (SPEC.md; the chart is chart.c); a load's figures in JSON. */
#define _XOPEN_SOURCE 700 /* wcwidth */
#include <cjson/cJSON.h>
#include <locale.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "cli.h"
#include "scli/zone.h"

/*
 * The columns a terminal gives a string. Ids are valid UTF-8 (checked when
 * stored) and printed as they are, whatever the user's locale, so they are
 * measured as UTF-8: in a C.UTF-8 locale object used by this thread only for
 * the measure (a process-wide setlocale would change how every ctype call
 * in the parsers and adapters reads bytes above 127). A character wcwidth
 * does not know counts 1; without C.UTF-8, every character counts 1.
 */
static locale_t utf8;
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;

static void open_utf8(void)
{
	utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

size_t cli_display_width(const char *s)
{
	locale_t saved;
	mbstate_t st = {0};
	size_t width = 0, n;
	wchar_t wc;
	int w;

	pthread_once(&utf8_once, open_utf8);
	if (!utf8) {
		for (; *s; s++)
			width += ((unsigned char)*s & 0xC0) != 0x80;
		return width;
	}
	saved = uselocale(utf8);
	while (*s) {
		n = mbrtowc(&wc, s, strlen(s), &st);
		if (n == (size_t)-1 || n == (size_t)-2) { /* not UTF-8: a byte a column */
			memset(&st, 0, sizeof(st));
			n = 1;
			w = 1;
		} else if ((w = wcwidth(wc)) < 0) {
			w = 1;
		}
		width += (size_t)w;
		s += n;
	}
	uselocale(saved);
	return width;
}

int cli_padding(const char *s, size_t width)
{
	size_t w = cli_display_width(s);

	return w < width ? (int)(width - w) : 0;
}

/* ---- the walk every format shares ------------------------------------------ */

int cli_count_walk(const scli_count_result *res, bool skip_empty, const cli_count_visitor *v,
		   void *ctx)
{
	size_t c, i;
	int error;

	for (c = 0; c < res->ncustomers; c++) {
		const scli_customer_series *s = &res->customers[c];

		if (v->series && (error = v->series(ctx, s)) < 0)
			return error;
		for (i = 0; i < res->nbuckets; i++) {
			cli_count_row row;

			if (skip_empty && s->counts[i] == 0)
				continue;
			scli_zone_format(row.start, res->zone, res->windows[i].start);
			row.count = s->counts[i];
			row.partial = res->windows[i].partial;
			if ((error = v->bucket(ctx, s, &row)) < 0)
				return error;
		}
		if (v->series_end && (error = v->series_end(ctx, s)) < 0)
			return error;
	}
	return 0;
}

/* ---- table ------------------------------------------------------------------ */

typedef struct table_ctx {
	FILE *out;
	size_t width;	   /* of the id column */
	size_t type_width; /* of the event type column; 0: none (not grouped) */
	int pad, type_pad; /* after the current series' id and type */
} table_ctx;

static int table_series(void *ctx, const scli_customer_series *s)
{
	table_ctx *t = ctx;

	t->pad = cli_padding(s->customer_id, t->width);
	t->type_pad = cli_padding(s->event_type, t->type_width);
	return 0;
}

/* The id, and with group-by the event type, each padded to its column. */
static void table_key(const table_ctx *t, const scli_customer_series *s)
{
	fprintf(t->out, "%s%*s  ", s->customer_id, t->pad, "");
	if (t->type_width)
		fprintf(t->out, "%s%*s  ", s->event_type, t->type_pad, "");
}

static int table_bucket(void *ctx, const scli_customer_series *s, const cli_count_row *row)
{
	table_ctx *t = ctx;

	table_key(t, s);
	fprintf(t->out, "%-27s  %10lld%s\n", row->start, (long long)row->count,
		row->partial ? "  partial" : "");
	return 0;
}

static int table_total(void *ctx, const scli_customer_series *s)
{
	table_ctx *t = ctx;

	table_key(t, s);
	fprintf(t->out, "%-27s  %10lld\n", "total", (long long)s->total);
	return 0;
}

/*
 * The id column is 32 columns, the width of the usual hex ids, so the table
 * keeps its layout; an id wider than that (measured in columns, not bytes)
 * widens it for the whole table. With group-by, an event type column follows,
 * as wide as its widest type.
 */
static int print_table(FILE *out, const scli_count_result *res, bool skip_empty)
{
	static const cli_count_visitor table = {table_series, table_bucket, table_total};
	table_ctx t = {out, 32, 0, 0, 0};
	size_t c, w;

	if (res->by_event_type)
		t.type_width = 10; /* "event_type" */
	for (c = 0; c < res->ncustomers; c++) {
		if ((w = cli_display_width(res->customers[c].customer_id)) > t.width)
			t.width = w;
		if (t.type_width &&
		    (w = cli_display_width(res->customers[c].event_type)) > t.type_width)
			t.type_width = w;
	}
	fprintf(out, "%-*s  ", (int)t.width, "customer_id");
	if (t.type_width)
		fprintf(out, "%-*s  ", (int)t.type_width, "event_type");
	fprintf(out, "%-27s  %10s  %s\n", "bucket_start", "count", "partial");
	return cli_count_walk(res, skip_empty, &table, &t);
}

/* ---- CSV -------------------------------------------------------------------- */

typedef struct csv_ctx {
	FILE *out;
	bool by_type;
} csv_ctx;

static int csv_bucket(void *ctx, const scli_customer_series *s, const cli_count_row *row)
{
	csv_ctx *c = ctx;
	char count[24];
	cli_csv_field f[5];
	size_t n = 0;

	snprintf(count, sizeof(count), "%lld", (long long)row->count);
	f[n++] = cli_csv_text(s->customer_id, CLI_CSV_QUOTE_NEEDED);
	if (c->by_type)
		f[n++] = cli_csv_text(s->event_type, CLI_CSV_QUOTE_NEEDED);
	f[n++] = cli_csv_text(row->start, CLI_CSV_QUOTE_NEEDED);
	f[n++] = cli_csv_text(count, CLI_CSV_QUOTE_NEEDED);
	f[n++] = cli_csv_text(row->partial ? "true" : "false", CLI_CSV_QUOTE_NEEDED);
	cli_csv_row(c->out, f, n);
	return 0;
}

/* The CSV shape of SPEC.md into `out`, header first. */
static int print_csv(FILE *out, const scli_count_result *res, bool skip_empty)
{
	static const cli_count_visitor csv = {NULL, csv_bucket, NULL};
	csv_ctx c = {out, res->by_event_type};

	fputs(res->by_event_type ? "customer_id,event_type,bucket_start,count,partial\r\n"
				 : "customer_id,bucket_start,count,partial\r\n",
	      out);
	return cli_count_walk(res, skip_empty, &csv, &c);
}

int cli_count_csv(char **out, size_t *len_out, const scli_count_result *res, bool skip_empty)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int error = scli_error_set(SCLI_ENOMEM, "out of memory building CSV output");

	*out = NULL;
	*len_out = 0;
	if (!f)
		return error;
	print_csv(f, res, skip_empty);
	if (fclose(f) != 0 || !text) {
		free(text);
		return error;
	}
	*out = text;
	*len_out = len;
	return 0;
}

/* ---- JSON ------------------------------------------------------------------- */

static cJSON *add_time(cJSON *obj, const char *key, const scli_zone *z, int64_t us)
{
	char ts[SCLI_ZONE_TIME_BUFSZ];

	scli_zone_format(ts, z, us);
	return cJSON_AddStringToObject(obj, key, ts);
}

typedef struct json_ctx {
	cJSON *customers; /* the array of series */
	cJSON *buckets;	  /* the current series' */
	bool by_type;
} json_ctx;

/* -1 when out of memory (the message is set by cli_count_json). */
static int json_series(void *ctx, const scli_customer_series *s)
{
	json_ctx *j = ctx;
	cJSON *cust = cJSON_CreateObject();

	if (!cust)
		return -1;
	cJSON_AddItemToArray(j->customers, cust);
	if (!cJSON_AddStringToObject(cust, "customer_id", s->customer_id))
		return -1;
	if (j->by_type &&
	    !(s->has_event_type ? cJSON_AddStringToObject(cust, "event_type", s->event_type)
				: cJSON_AddNullToObject(cust, "event_type")))
		return -1;
	if (!cJSON_AddNumberToObject(cust, "total", (double)s->total) ||
	    !(j->buckets = cJSON_AddArrayToObject(cust, "buckets")))
		return -1;
	return 0;
}

static int json_bucket(void *ctx, const scli_customer_series *s, const cli_count_row *row)
{
	json_ctx *j = ctx;
	cJSON *b = cJSON_CreateObject();

	(void)s;
	if (!b)
		return -1;
	cJSON_AddItemToArray(j->buckets, b);
	if (!cJSON_AddStringToObject(b, "start", row->start) ||
	    !cJSON_AddNumberToObject(b, "count", (double)row->count) ||
	    !cJSON_AddBoolToObject(b, "partial", row->partial))
		return -1;
	return 0;
}

/* "from", "to", "window", "time_zone" and, when types were named, "event_types". */
static bool json_head(cJSON *root, const scli_count_result *res)
{
	cJSON *types;
	size_t i;

	if (!add_time(root, "from", res->zone, res->from_us) ||
	    !add_time(root, "to", res->zone, res->to_us) ||
	    !cJSON_AddStringToObject(root, "window", scli_window_size_name(res->window)) ||
	    !cJSON_AddStringToObject(root, "time_zone", scli_zone_name(res->zone)))
		return false;
	if (!res->n_event_types)
		return true;
	if (!(types = cJSON_AddArrayToObject(root, "event_types")))
		return false;
	for (i = 0; i < res->n_event_types; i++) {
		cJSON *t = cJSON_CreateString(res->event_types[i]);

		if (!t)
			return false;
		cJSON_AddItemToArray(types, t);
	}
	return true;
}

bool cli_json_add_report(cJSON *o, const scli_load_report *r)
{
	return cJSON_AddNumberToObject(o, "rows_read", (double)r->rows_read) &&
	       cJSON_AddNumberToObject(o, "inserted", (double)r->inserted) &&
	       cJSON_AddNumberToObject(o, "duplicates", (double)r->duplicates) &&
	       cJSON_AddNumberToObject(o, "rejected", (double)r->rejected);
}

int cli_count_json(char **out, const scli_count_result *res, bool skip_empty)
{
	static const cli_count_visitor json = {json_series, json_bucket, NULL};
	cJSON *root = cJSON_CreateObject();
	json_ctx j = {NULL, NULL, res->by_event_type};
	char *text = NULL, *line;
	size_t len;
	int error = scli_error_set(SCLI_ENOMEM, "out of memory building JSON output");

	*out = NULL;

	if (!root || !json_head(root, res) ||
	    !(j.customers = cJSON_AddArrayToObject(root, "customers")) ||
	    cli_count_walk(res, skip_empty, &json, &j) < 0)
		goto done;
	if (!(text = cJSON_PrintUnformatted(root)))
		goto done;
	len = strlen(text);
	if (!(line = realloc(text, len + 2)))
		goto done;
	text = NULL;
	memcpy(line + len, "\n", 2);
	*out = line;
	error = 0;
done:
	free(text);
	cJSON_Delete(root);
	return error;
}

static int print_json(FILE *out, const scli_count_result *res, bool skip_empty)
{
	char *text = NULL;
	int error;

	if ((error = cli_count_json(&text, res, skip_empty)) < 0)
		return error;
	fputs(text, out);
	free(text);
	return 0;
}

int cli_print_count(FILE *out, const scli_count_result *res, cli_format format, bool skip_empty)
{
	switch (format) {
	case FORMAT_CSV:
		return print_csv(out, res, skip_empty);
	case FORMAT_JSON:
		return print_json(out, res, skip_empty);
	case FORMAT_CHART:
		return cli_print_chart(out, res, skip_empty, cli_chart_style_of(out));
	case FORMAT_TABLE:
	default:
		return print_table(out, res, skip_empty);
	}
}
