/* Output of `count` in the three formats of SPEC.md, and a load's figures in JSON. */
#define _XOPEN_SOURCE 700 /* wcwidth */
#include <cjson/cJSON.h>
#include <locale.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "cli.h"
#include "scli/timestamp.h"

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

/* One bucket of a customer's series, as every format shows it. */
typedef struct count_row {
	int64_t start, count;
	bool partial;
} count_row;

/* What a format does along the walk; `customer` and `customer_end` may be NULL. */
typedef struct count_visitor {
	int (*customer)(void *ctx, const scli_customer_series *s); /* before its buckets */
	int (*bucket)(void *ctx, const scli_customer_series *s, const count_row *row);
	int (*customer_end)(void *ctx, const scli_customer_series *s); /* after them */
} count_visitor;

/*
 * Every customer in order, and each of its buckets that is shown (with
 * skip_empty, those with a count). A negative return stops the walk and is
 * passed on.
 */
static int walk_count(const scli_count_result *res, bool skip_empty, const count_visitor *v,
		      void *ctx)
{
	size_t c, i;
	int error;

	for (c = 0; c < res->ncustomers; c++) {
		const scli_customer_series *s = &res->customers[c];

		if (v->customer && (error = v->customer(ctx, s)) < 0)
			return error;
		for (i = 0; i < res->nbuckets; i++) {
			count_row row = {scli_count_result_bucket_start(res, i), s->counts[i],
					 false};

			if (skip_empty && row.count == 0)
				continue;
			row.partial = scli_bucket_is_partial(row.start, res->from_us, res->to_us);
			if ((error = v->bucket(ctx, s, &row)) < 0)
				return error;
		}
		if (v->customer_end && (error = v->customer_end(ctx, s)) < 0)
			return error;
	}
	return 0;
}

/* ---- table ------------------------------------------------------------------ */

typedef struct table_ctx {
	FILE *out;
	size_t width; /* of the id column */
	int pad;      /* after the current customer's id */
} table_ctx;

static int table_customer(void *ctx, const scli_customer_series *s)
{
	table_ctx *t = ctx;

	t->pad = cli_padding(s->customer_id, t->width);
	return 0;
}

static int table_bucket(void *ctx, const scli_customer_series *s, const count_row *row)
{
	table_ctx *t = ctx;
	char ts[SCLI_TIMESTAMP_BUFSZ];

	scli_timestamp_format(ts, row->start);
	fprintf(t->out, "%s%*s  %-27s  %10lld%s\n", s->customer_id, t->pad, "", ts,
		(long long)row->count, row->partial ? "  partial" : "");
	return 0;
}

static int table_total(void *ctx, const scli_customer_series *s)
{
	table_ctx *t = ctx;

	fprintf(t->out, "%s%*s  %-27s  %10lld\n", s->customer_id, t->pad, "", "total",
		(long long)s->total);
	return 0;
}

/*
 * The id column is 32 columns, the width of the usual hex ids, so the table
 * keeps its layout; an id wider than that (measured in columns, not bytes)
 * widens it for the whole table.
 */
static int print_table(FILE *out, const scli_count_result *res, bool skip_empty)
{
	static const count_visitor table = {table_customer, table_bucket, table_total};
	table_ctx t = {out, 32, 0};
	size_t c, w;

	for (c = 0; c < res->ncustomers; c++)
		if ((w = cli_display_width(res->customers[c].customer_id)) > t.width)
			t.width = w;
	fprintf(out, "%-*s  %-27s  %10s  %s\n", (int)t.width, "customer_id", "bucket_start",
		"count", "partial");
	return walk_count(res, skip_empty, &table, &t);
}

/* ---- CSV -------------------------------------------------------------------- */

static int csv_bucket(void *ctx, const scli_customer_series *s, const count_row *row)
{
	char ts[SCLI_TIMESTAMP_BUFSZ], count[24];

	scli_timestamp_format(ts, row->start);
	snprintf(count, sizeof(count), "%lld", (long long)row->count);
	cli_csv_row(
	    ctx,
	    (cli_csv_field[]){cli_csv_text(s->customer_id, CLI_CSV_QUOTE_NEEDED),
			      cli_csv_text(ts, CLI_CSV_QUOTE_NEEDED),
			      cli_csv_text(count, CLI_CSV_QUOTE_NEEDED),
			      cli_csv_text(row->partial ? "true" : "false", CLI_CSV_QUOTE_NEEDED)},
	    4);
	return 0;
}

static int print_csv(FILE *out, const scli_count_result *res, bool skip_empty)
{
	static const count_visitor csv = {NULL, csv_bucket, NULL};

	fputs("customer_id,bucket_start,count,partial\r\n", out);
	return walk_count(res, skip_empty, &csv, out);
}

/* ---- JSON ------------------------------------------------------------------- */

static cJSON *add_time(cJSON *obj, const char *key, int64_t us)
{
	char ts[SCLI_TIMESTAMP_BUFSZ];

	scli_timestamp_format(ts, us);
	return cJSON_AddStringToObject(obj, key, ts);
}

typedef struct json_ctx {
	cJSON *customers; /* the array of series */
	cJSON *buckets;	  /* the current series' */
} json_ctx;

/* -1 when out of memory (the message is set by cli_count_json). */
static int json_customer(void *ctx, const scli_customer_series *s)
{
	json_ctx *j = ctx;
	cJSON *cust = cJSON_CreateObject();

	if (!cust)
		return -1;
	cJSON_AddItemToArray(j->customers, cust);
	if (!cJSON_AddStringToObject(cust, "customer_id", s->customer_id) ||
	    !cJSON_AddNumberToObject(cust, "total", (double)s->total) ||
	    !(j->buckets = cJSON_AddArrayToObject(cust, "buckets")))
		return -1;
	return 0;
}

static int json_bucket(void *ctx, const scli_customer_series *s, const count_row *row)
{
	json_ctx *j = ctx;
	cJSON *b = cJSON_CreateObject();

	(void)s;
	if (!b)
		return -1;
	cJSON_AddItemToArray(j->buckets, b);
	if (!add_time(b, "start", row->start) ||
	    !cJSON_AddNumberToObject(b, "count", (double)row->count) ||
	    !cJSON_AddBoolToObject(b, "partial", row->partial))
		return -1;
	return 0;
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
	static const count_visitor json = {json_customer, json_bucket, NULL};
	cJSON *root = cJSON_CreateObject();
	json_ctx j = {NULL, NULL};
	char *text = NULL, *line;
	size_t len;
	int error = scli_error_set(SCLI_ENOMEM, "out of memory building JSON output");

	*out = NULL;

	if (!root || !add_time(root, "from", res->from_us) || !add_time(root, "to", res->to_us) ||
	    !cJSON_AddStringToObject(root, "window", "hour") ||
	    !(j.customers = cJSON_AddArrayToObject(root, "customers")) ||
	    walk_count(res, skip_empty, &json, &j) < 0)
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
	case FORMAT_TABLE:
	default:
		return print_table(out, res, skip_empty);
	}
}
