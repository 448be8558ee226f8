/* Test support: see collector_factories.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "scli/sys/adapters.h"
#include "support/collector_factories.h"

static const char *const default_names[] = {"customer_id", "event_type", "transaction_id",
					    "timestamp"};

const collector_layout collector_default_layout = {default_names, 4};

/* ---- CSV ------------------------------------------------------------------ */

/* A value is quoted when it must be (a comma, a quote, a line break) or would
 * lose its spaces (libcsv trims them around unquoted fields). */
static bool csv_needs_quotes(const char *v)
{
	size_t n = strlen(v);

	return strpbrk(v, ",\"\r\n") ||
	       (n > 0 && (v[0] == ' ' || v[0] == '\t' || v[n - 1] == ' ' || v[n - 1] == '\t'));
}

static void csv_write_value(strbuf *in, const char *v)
{
	const char *q;

	if (!csv_needs_quotes(v)) {
		sb_add(in, v, strlen(v));
		return;
	}
	sb_add(in, S("\""));
	while ((q = strchr(v, '"')) != NULL) {
		sb_add(in, v, (size_t)(q - v) + 1);
		sb_add(in, S("\""));
		v = q + 1;
	}
	sb_add(in, v, strlen(v));
	sb_add(in, S("\""));
}

static void csv_write_row(strbuf *in, const collector_layout *lay, const char *const *value)
{
	size_t i;

	for (i = 0; i < lay->n; i++) {
		if (i)
			sb_add(in, S(","));
		csv_write_value(in, value[i]);
	}
}

static bool csv_write_head(strbuf *in, const collector_layout *lay)
{
	if (lay == &collector_default_layout)
		return false;
	csv_write_row(in, lay, lay->names);
	return true;
}

/* ---- JSON ----------------------------------------------------------------- */

static void json_write_string(strbuf *in, const char *v)
{
	sb_add(in, S("\""));
	for (; *v; v++) {
		unsigned char ch = (unsigned char)*v;

		if (ch == '"' || ch == '\\') {
			sb_add(in, S("\\"));
			sb_add(in, v, 1);
		} else if (ch == '\n') {
			sb_add(in, S("\\n"));
		} else if (ch == '\r') {
			sb_add(in, S("\\r"));
		} else if (ch == '\t') {
			sb_add(in, S("\\t"));
		} else if (ch < 0x20) {
			sb_printf(in, "\\u%04x", ch);
		} else {
			sb_add(in, v, 1);
		}
	}
	sb_add(in, S("\""));
}

/* NDJSON, one object a line, no spaces: {"customer_id":"c1",...}. */
static void json_write_row(strbuf *in, const collector_layout *lay, const char *const *value)
{
	size_t i;

	sb_add(in, S("{"));
	for (i = 0; i < lay->n; i++) {
		if (i)
			sb_add(in, S(","));
		json_write_string(in, lay->names[i]);
		sb_add(in, S(":"));
		json_write_string(in, value[i]);
	}
	sb_add(in, S("}"));
}

static bool json_write_head(strbuf *in, const collector_layout *lay)
{
	(void)in;
	(void)lay;
	return false;
}

/* ---- the factories ---------------------------------------------------------- */

const collector_factory collector_factories[] = {
    {"csv", csv_write_head, csv_write_row, "bad", "expected 4 fields, found 1"},
    {"json", json_write_head, json_write_row, "{}", "customer_id is missing"},
};
const size_t collector_factories_count =
    sizeof(collector_factories) / sizeof(collector_factories[0]);

const collector_factory *collector_factory_find(const char *name)
{
	size_t i;

	for (i = 0; i < collector_factories_count; i++)
		if (!strcmp(collector_factories[i].name, name))
			return &collector_factories[i];
	return NULL;
}

int collector_factory_open(scli_collector **out, const collector_factory *f, scli_source *src)
{
	const scli_collector_kind *kind = scli_collector_kind_find(f->name);

	assert_non_null(kind);
	return kind->open(out, src);
}

char *collector_transcript_of(const collector_factory *f, scli_source *src)
{
	scli_collector *col = NULL;

	assert_int_equal(collector_factory_open(&col, f, src), 0);
	return collector_transcript(col);
}

char *collector_transcript_mem(const collector_factory *f, const char *data, size_t len)
{
	scli_source *src = NULL;
	char *t;

	assert_int_equal(scli_source_from_memory(&src, data, len, "mem"), 0);
	t = collector_transcript_of(f, src);
	scli_source_free(src);
	return t;
}

char *collector_transcript_file(const collector_factory *f, const char *path)
{
	scli_source *src = NULL;
	char *t;

	assert_int_equal(scli_source_open(&src, path), 0);
	assert_string_equal(scli_source_name(src), path);
	t = collector_transcript_of(f, src);
	scli_source_free(src);
	return t;
}
