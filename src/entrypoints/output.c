/* Output of `count` in the three formats of SPEC.md. */
#define _XOPEN_SOURCE 700 /* wcwidth */
#include <cjson/cJSON.h>
#include <locale.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "cli.h"
#include "scli/timestamp.h"

static bool bucket_shown(const scli_customer_series *s, size_t i, bool skip_empty)
{
	return !skip_empty || s->counts[i] != 0;
}

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

/*
 * The id column is 32 columns, the width of the usual hex ids, so the table
 * keeps its layout; an id wider than that (measured in columns, not bytes)
 * widens it for the whole table.
 */
static int print_table(FILE *out, const scli_count_result *res, bool skip_empty)
{
	char ts[SCLI_TIMESTAMP_BUFSZ];
	size_t c, i, width = 32, w;

	for (c = 0; c < res->ncustomers; c++)
		if ((w = cli_display_width(res->customers[c].customer_id)) > width)
			width = w;
	fprintf(out, "%-*s  %-27s  %10s  %s\n", (int)width, "customer_id", "bucket_start", "count",
		"partial");
	for (c = 0; c < res->ncustomers; c++) {
		const scli_customer_series *s = &res->customers[c];
		int pad = cli_padding(s->customer_id, width);

		for (i = 0; i < res->nbuckets; i++) {
			int64_t start = scli_count_result_bucket_start(res, i);

			if (!bucket_shown(s, i, skip_empty))
				continue;
			scli_timestamp_format(ts, start);
			fprintf(out, "%s%*s  %-27s  %10lld%s\n", s->customer_id, pad, "", ts,
				(long long)s->counts[i],
				scli_bucket_is_partial(start, res->from_us, res->to_us)
				    ? "  partial"
				    : "");
		}
		fprintf(out, "%s%*s  %-27s  %10lld\n", s->customer_id, pad, "", "total",
			(long long)s->total);
	}
	return 0;
}

static int print_csv(FILE *out, const scli_count_result *res, bool skip_empty)
{
	char ts[SCLI_TIMESTAMP_BUFSZ], count[24];
	size_t c, i;

	fputs("customer_id,bucket_start,count,partial\r\n", out);
	for (c = 0; c < res->ncustomers; c++) {
		const scli_customer_series *s = &res->customers[c];

		for (i = 0; i < res->nbuckets; i++) {
			int64_t start = scli_count_result_bucket_start(res, i);
			const char *partial =
			    scli_bucket_is_partial(start, res->from_us, res->to_us) ? "true"
										    : "false";

			if (!bucket_shown(s, i, skip_empty))
				continue;
			scli_timestamp_format(ts, start);
			snprintf(count, sizeof(count), "%lld", (long long)s->counts[i]);
			cli_csv_row(
			    out,
			    (cli_csv_field[]){cli_csv_text(s->customer_id, CLI_CSV_QUOTE_NEEDED),
					      cli_csv_text(ts, CLI_CSV_QUOTE_NEEDED),
					      cli_csv_text(count, CLI_CSV_QUOTE_NEEDED),
					      cli_csv_text(partial, CLI_CSV_QUOTE_NEEDED)},
			    4);
		}
	}
	return 0;
}

static cJSON *add_time(cJSON *obj, const char *key, int64_t us)
{
	char ts[SCLI_TIMESTAMP_BUFSZ];

	scli_timestamp_format(ts, us);
	return cJSON_AddStringToObject(obj, key, ts);
}

int cli_count_json(char **out, const scli_count_result *res, bool skip_empty)
{
	cJSON *root = cJSON_CreateObject(), *customers, *cust, *buckets, *b;
	char *text = NULL, *line;
	size_t c, i, len;
	int error = scli_error_set(SCLI_ENOMEM, "out of memory building JSON output");

	*out = NULL;

	if (!root || !add_time(root, "from", res->from_us) || !add_time(root, "to", res->to_us) ||
	    !cJSON_AddStringToObject(root, "window", "hour") ||
	    !(customers = cJSON_AddArrayToObject(root, "customers")))
		goto done;
	for (c = 0; c < res->ncustomers; c++) {
		const scli_customer_series *s = &res->customers[c];

		if (!(cust = cJSON_CreateObject()))
			goto done;
		cJSON_AddItemToArray(customers, cust);
		if (!cJSON_AddStringToObject(cust, "customer_id", s->customer_id) ||
		    !cJSON_AddNumberToObject(cust, "total", (double)s->total) ||
		    !(buckets = cJSON_AddArrayToObject(cust, "buckets")))
			goto done;
		for (i = 0; i < res->nbuckets; i++) {
			int64_t start = scli_count_result_bucket_start(res, i);

			if (!bucket_shown(s, i, skip_empty))
				continue;
			if (!(b = cJSON_CreateObject()))
				goto done;
			cJSON_AddItemToArray(buckets, b);
			if (!add_time(b, "start", start) ||
			    !cJSON_AddNumberToObject(b, "count", (double)s->counts[i]) ||
			    !cJSON_AddBoolToObject(
				b, "partial",
				scli_bucket_is_partial(start, res->from_us, res->to_us)))
				goto done;
		}
	}
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
