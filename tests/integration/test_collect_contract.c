/*
 * The collector contract: one suite, run against every collector the
 * registry has (CSV, JSON), as the repository contract runs against every
 * repository. A case is written once, as rows of field values; each
 * collector's factory (tests/support/collector_factories.c) writes them in
 * its format, and the expected transcript is built beside the input, so line
 * numbers and raw texts follow from what was written. What only one format
 * has (CSV quoting and headers, JSON shapes, numbers and nesting) is in
 * test_collect_csv.c and test_collect_json.c; the byte source in test_source.c.
 *
 * A transcript is one line per result (support/transcript.h):
 *   E cust|type|tx|2021-03-01T04:00:00Z     an event
 *   R<line> reason | raw                     a reject (raw with \n, \r escaped)
 *   END  or  ERR <code> <message>            how it stopped
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scli/sys/adapters.h"
#include "support/collector_factories.h"
#include "support/tmpdir.h"
#include "support/transcript.h"

#define TS "2021-03-01T04:00:00Z"
/* A row's four values, in the default layout's order. */
#define ROW(c, e, t, ts) ((const char *const[]){c, e, t, ts})
#define ROW1 ROW("c1", "INGEST", "t1", TS)
#define ROW2 ROW("c2", "QUERY", "t2", "2021-03-01 05:30:00.5+00")
#define ROW2_TS "2021-03-01T05:30:00.5Z"
#define EV1 "c1|INGEST|t1|2021-03-01T04:00:00Z"

/* The collector the running group is about (cmocka tests take no argument). */
static const collector_factory *current;

/* ---- an input and the transcript it must give ---------------------------- */

typedef struct input {
	const collector_layout *lay;
	const char *eol; /* written after every row */
	strbuf in, want;
	uint64_t line; /* where the next row starts */
} input;

static void count_lines(input *x, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		x->line += s[i] == '\n';
}

/* Start an input laid out as `lay` (the format's head, e.g. a CSV header, first). */
static void start_as(input *x, const collector_layout *lay, const char *eol)
{
	memset(x, 0, sizeof(*x));
	x->lay = lay;
	x->eol = eol;
	x->line = 1;
	sb_add(&x->in, "", 0);
	sb_add(&x->want, "", 0);
	if (current->write_head(&x->in, lay)) {
		sb_add(&x->in, eol, strlen(eol));
		count_lines(x, eol, strlen(eol));
	}
}

static void start(input *x, const char *eol)
{
	start_as(x, &collector_default_layout, eol);
}

/* Bytes that every format reads alike: a BOM, blank lines. */
static void text(input *x, const char *s)
{
	sb_add(&x->in, s, strlen(s));
	count_lines(x, s, strlen(s));
}

/* Write a row and its terminator; *at is where its text starts in x->in, *len how long. */
static void put_row(input *x, const char *const *value, size_t *at, size_t *len)
{
	*at = x->in.len;
	current->write_row(&x->in, x->lay, value);
	*len = x->in.len - *at;
	sb_add(&x->in, x->eol, strlen(x->eol));
	count_lines(x, x->in.p + *at, x->in.len - *at);
}

/* A row that must read as the event `ev` ("cust|type|tx|timestamp as printed"). */
static void event_as(input *x, const char *const *value, const char *ev)
{
	size_t at, len;

	put_row(x, value, &at, &len);
	sb_printf(&x->want, "E %s\n", ev);
}

/* A row in the default layout that must read as its own values at timestamp `ts`. */
static void event(input *x, const char *const *value, const char *ts)
{
	char ev[1024];

	snprintf(ev, sizeof(ev), "%s|%s|%s|%s", value[0], value[1], value[2], ts);
	event_as(x, value, ev);
}

static void want_reject(input *x, uint64_t line, const char *reason, size_t at, size_t len)
{
	sb_printf(&x->want, "R%llu %s | ", (unsigned long long)line, reason);
	sb_raw(&x->want, x->in.p + at, len);
	sb_add(&x->want, S("\n"));
}

/* A row that must be rejected for `reason`, on the line it starts on, with its text. */
static void reject(input *x, const char *const *value, const char *reason)
{
	uint64_t line = x->line;
	size_t at, len;

	put_row(x, value, &at, &len);
	want_reject(x, line, reason, at, len);
}

/* The format's own row that carries no event (collector_factory.malformed). */
static void malformed(input *x)
{
	uint64_t line = x->line;
	size_t at = x->in.len;

	text(x, current->malformed);
	text(x, x->eol);
	want_reject(x, line, current->malformed_reason, at, strlen(current->malformed));
}

static char *run(input *x)
{
	return collector_transcript_mem(current, x->in.p, x->in.len);
}

static void input_free(input *x)
{
	free(x->in.p);
	free(x->want.p);
}

/* Run the input through the collector: its transcript must be what was wanted, then END. */
static void check(input *x)
{
	char *t = run(x);

	sb_add(&x->want, S("END"));
	assert_string_equal(t, x->want.p);
	free(t);
	input_free(x);
}

/* ---- the contract ---------------------------------------------------------- */

static void valid_rows(void **state)
{
	input x;

	(void)state;
	start(&x, "\n");
	event(&x, ROW1, TS);
	event(&x, ROW2, ROW2_TS);
	check(&x);
	start(&x, "\r\n");
	event(&x, ROW1, TS);
	event(&x, ROW2, ROW2_TS);
	check(&x);
	/* no terminator on the last row */
	start(&x, "\n");
	event(&x, ROW1, TS);
	x.eol = "";
	event(&x, ROW2, ROW2_TS);
	check(&x);
}

static void empty_input(void **state)
{
	input x;

	(void)state;
	start(&x, "\n");
	check(&x);
	start(&x, "\n");
	text(&x, "\n\n");
	check(&x);
	start(&x, "\n");
	text(&x, "\xEF\xBB\xBF");
	check(&x);
}

/* A BOM, blank lines and CRLF are fine, and line numbers count every line. */
static void bom_blank_lines_and_crlf(void **state)
{
	input x;

	(void)state;
	start(&x, "\n");
	text(&x, "\xEF\xBB\xBF");
	event(&x, ROW1, TS);
	event(&x, ROW2, ROW2_TS);
	check(&x);
	start(&x, "\n");
	text(&x, "\n\n");
	event(&x, ROW1, TS);
	text(&x, "\r\n\n");
	event(&x, ROW2, ROW2_TS);
	text(&x, "\n\n");
	check(&x);
	start(&x, "\r\n");
	text(&x, "\r\n\r\n");
	event(&x, ROW1, TS);
	text(&x, "\r\n\r\n");
	event(&x, ROW2, ROW2_TS);
	check(&x);
	/* a row that cannot be read is reported on its line, blank lines and CRLF counted */
	start(&x, "\r\n");
	text(&x, "\r\n");
	event(&x, ROW1, TS);
	text(&x, "\r\n");
	malformed(&x);
	event(&x, ROW2, ROW2_TS);
	check(&x);
}

/* Ids are their text as written: big numbers, spaces, quotes, any UTF-8. */
static void ids_as_written(void **state)
{
	input x;

	(void)state;
	start(&x, "\n");
	/* the real data's shape: a transaction id that is itself a date, with its space */
	event(&x, ROW("b4f9", "INGEST", "2021-03-01 04:01:07", "2021-03-01 04:01:07.45+00"),
	      "2021-03-01T04:01:07.45Z");
	event(&x, ROW("c1", "INGEST", "9007199254740993", TS), TS);
	event(&x, ROW("c1", "INGEST", "123456789012345678901234567890", TS), TS);
	event(&x, ROW("-7", "007", "0x1F", TS), TS);
	event(&x, ROW("  c 1  ", "IN\"GEST", "t\\1,2", TS), TS);
	event(&x, ROW("c\xC3\xA9", "IN/GEST", "t\xF0\x9F\x98\x80", TS), TS);
	check(&x);
}

/* A collector hands out every row; duplicates are the repository's to count. */
static void duplicates_are_rows(void **state)
{
	input x;

	(void)state;
	start(&x, "\n");
	event(&x, ROW1, TS);
	event(&x, ROW1, TS);
	event(&x, ROW("c1", "INGEST", "t1", "2021-03-01T05:00:00Z"), "2021-03-01T05:00:00Z");
	event(&x, ROW1, TS);
	check(&x);
}

static void empty_fields(void **state)
{
	input x;

	(void)state;
	start(&x, "\n");
	reject(&x, ROW("", "", "", ""), "customer_id is empty");
	reject(&x, ROW("c1", "", "t1", TS), "event_type is empty");
	reject(&x, ROW("c1", "INGEST", "", TS), "transaction_id is empty");
	reject(&x, ROW("c1", "INGEST", "t1", ""), "timestamp is empty");
	reject(&x, ROW("", "INGEST", "t1", "2021-03-01"), "customer_id is empty");
	/* the text fields' faults are reported before the timestamp's */
	reject(&x, ROW("", "INGEST", "t1", "bad"), "customer_id is empty");
	event(&x, ROW1, TS);
	check(&x);
}

static void timestamp_spellings(void **state)
{
	static const char *const cases[][2] = {
	    {"2021-03-01T04:01:07Z", "2021-03-01T04:01:07Z"},
	    {"2021-03-01t04:01:07z", "2021-03-01T04:01:07Z"},
	    {"2021-03-01 04:01:07.45+00", "2021-03-01T04:01:07.45Z"},
	    {"2021-03-01T04:01:07.450000Z", "2021-03-01T04:01:07.45Z"},
	    {"2021-03-01T04:01:07.123456789Z", "2021-03-01T04:01:07.123456Z"},
	    {"2021-03-01T04:01", "2021-03-01T04:01:00Z"},
	    {"2021-03-01T04:01:07", "2021-03-01T04:01:07Z"},
	    {"2021-03-01T05:01:07+01", "2021-03-01T04:01:07Z"},
	    {"2021-03-01T05:31:07+0130", "2021-03-01T04:01:07Z"},
	    {"2021-03-01T02:31:07-01:30", "2021-03-01T04:01:07Z"},
	    {"2021-03-01", "2021-03-01T00:00:00Z"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		input x;

		start(&x, "\n");
		event(&x, ROW("c1", "INGEST", "t1", cases[i][0]), cases[i][1]);
		check(&x);
	}
}

static void bad_timestamps(void **state)
{
	char long_ts[201], prefix[300];
	input x;
	size_t at, len;
	char *t;

	(void)state;
	start(&x, "\n");
	reject(&x, ROW("c1", "INGEST", "t1", "2021-02-29 00:00"),
	       "timestamp \"2021-02-29 00:00\": day is out of range for the month");
	reject(&x, ROW("c1", "INGEST", "t1", "yesterday"),
	       "timestamp \"yesterday\": expected YYYY-MM-DD");
	reject(&x, ROW("c1", "INGEST", "t1", ""), "timestamp is empty");
	/* a control character is quoted as '?' */
	reject(&x, ROW("c1", "INGEST", "t1", "2021-03-01\n"),
	       "timestamp \"2021-03-01?\": trailing whitespace is not allowed");
	event(&x, ROW1, TS);
	check(&x);

	/* a long bad timestamp is quoted only in part */
	memset(long_ts, '9', 200);
	long_ts[200] = '\0';
	start(&x, "\n");
	put_row(&x, ROW("c1", "INGEST", "t1", long_ts), &at, &len);
	t = run(&x);
	snprintf(prefix, sizeof(prefix), "R1 timestamp \"%.64s...\": ", long_ts);
	assert_memory_equal(t, prefix, strlen(prefix));
	assert_non_null(strstr(t, long_ts)); /* the raw text is whole */
	assert_true(strlen(t) < len + 150);  /* and the reason is not */
	free(t);
	input_free(&x);
}

static void bad_text_fields(void **state)
{
	input x;

	(void)state;
	start(&x, "\n");
	reject(&x, ROW("c\x01", "INGEST", "t1", TS), "customer_id contains a control character");
	reject(&x, ROW("c1", "IN\xFFGEST", "t1", TS), "event_type is not valid UTF-8");
	event(&x, ROW1, TS);
	check(&x);
}

/* Fields over their limits (128, 128, 256 bytes), and exactly at them. */
static void long_fields(void **state)
{
	char c129[130], e128[129], t256[257], t257[258], ev[600];
	input x;

	(void)state;
	memset(c129, 'x', 129);
	c129[129] = '\0';
	memset(e128, 'x', 128);
	e128[128] = '\0';
	memset(t256, 'x', 256);
	t256[256] = '\0';
	memset(t257, 'x', 257);
	t257[257] = '\0';
	start(&x, "\n");
	reject(&x, ROW("c1", "INGEST", t257, TS), "transaction_id is longer than 256 bytes");
	reject(&x, ROW(c129, "INGEST", "t1", "bad"), "customer_id is longer than 128 bytes");
	reject(&x, ROW(c129, "INGEST", "t1", "2021-03-01"), "customer_id is longer than 128 bytes");
	snprintf(ev, sizeof(ev), "%s|%s|%s|2021-03-01T00:00:00Z", e128, e128, t256);
	event_as(&x, ROW(e128, e128, t256, "2021-03-01"), ev);
	check(&x);
}

/* Fields go by their names (a CSV header, JSON keys): any case, '_' optional,
 * in any order, with other fields beside them ignored. */
static void field_names(void **state)
{
	static const char *const spellings[][4] = {
	    {"customer_id", "event_type", "transaction_id", "timestamp"},
	    {"CUSTOMER_ID", "EVENT_TYPE", "TRANSACTION_ID", "TIMESTAMP"},
	    {"Customer_Id", "Event_Type", "Transaction_Id", "TimeStamp"},
	    {"customerId", "eventType", "transactionId", "timestamp"},
	    {"CustomerID", "EventType", "TransactionID", "Timestamp"},
	    {"CUSTOMER_ID", "EventType", "TransactionID", "TimeStamp"},
	};
	static const char *const reordered[] = {"timestamp", "transaction_id", "customer_id",
						"event_type"};
	static const char *const extra[] = {"region",	 "eventType",	   "notes", "customer_id",
					    "timestamp", "transaction_id", "more"};
	const collector_layout by_order = {reordered, 4}, with_extra = {extra, 7};
	input x;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(spellings) / sizeof(spellings[0]); i++) {
		const collector_layout lay = {spellings[i], 4};

		start_as(&x, &lay, "\r\n");
		event(&x, ROW1, TS);
		check(&x);
	}
	start_as(&x, &by_order, "\n");
	event_as(&x, ROW(TS, "t1", "c1", "INGEST"), EV1);
	check(&x);
	start_as(&x, &with_extra, "\n");
	event_as(&x, (const char *const[]){"eu", "INGEST", "x,y", "c1", TS, "t1", ""}, EV1);
	check(&x);
}

/* A long input through the public loop: counts, and the line of every reject. */
static void many_rows(void **state)
{
	const unsigned rows = 200000;
	strbuf in = {0};
	scli_source *src = NULL;
	scli_collector *col = NULL;
	scli_event ev, last;
	scli_reject rej;
	unsigned i, events = 0, rejects = 0;
	int kind;

	(void)state;
	for (i = 0; i < rows; i++) {
		char c[16], t[16], ts[32];

		snprintf(c, sizeof(c), "cust%u", i % 7);
		snprintf(t, sizeof(t), "tx%u", i);
		if (i % 1000 == 999) {
			current->write_row(&in, &collector_default_layout,
					   ROW(c, "INGEST", t, "2021-13-01"));
			sb_add(&in, S("\n"));
		} else {
			snprintf(ts, sizeof(ts), "2021-03-01T04:%02u:%02u.%03uZ", i / 60 % 60,
				 i % 60, i % 1000);
			current->write_row(&in, &collector_default_layout, ROW(c, "INGEST", t, ts));
			sb_add(&in, S("\r\n"));
		}
	}
	assert_int_equal(scli_source_from_memory(&src, in.p, in.len, "gen"), 0);
	free(in.p);
	assert_int_equal(collector_factory_open(&col, current, src), 0);
	while ((kind = scli_collector_next(&ev, &rej, col)) > 0) {
		if (kind == SCLI_NEXT_EVENT) {
			events++;
			last = ev; /* ev is unspecified after a reject */
		} else {
			rejects++;
			assert_int_equal(rej.line % 1000, 0);
		}
	}
	assert_int_equal(kind, SCLI_NEXT_END);
	assert_int_equal(events, rows - rows / 1000);
	assert_int_equal(rejects, rows / 1000);
	assert_string_equal(last.customer_id, "cust1");
	assert_string_equal(last.transaction_id, "tx199998");
	scli_collector_free(col);
	scli_source_free(src);
}

/* ---- files ---------------------------------------------------------------- */

/* `rows` rows c<i>,INGEST,t<i>,... in `lay`, the i-th value of an extra column being i * a big odd
 * number (text that compresses badly). */
static void numbered_rows(strbuf *in, const collector_layout *lay, unsigned rows)
{
	unsigned i;

	for (i = 0; i < rows; i++) {
		char c[16], t[16], n[16];

		snprintf(c, sizeof(c), "c%u", i);
		snprintf(t, sizeof(t), "t%u", i);
		snprintf(n, sizeof(n), "%u", i * 2654435761u);
		current->write_row(in, lay, (const char *const[]){c, "INGEST", t, TS, n});
		sb_add(in, S("\n"));
	}
}

static void gzip_file(void **state)
{
	char path[600];
	strbuf in = {0}, tail = {0};
	char *t;

	(void)state;
	/* bigger than both the zlib and the collector buffers */
	numbered_rows(&in, &collector_default_layout, 30000);
	sb_add(&in, current->malformed, strlen(current->malformed));
	sb_add(&in, S("\n"));
	snprintf(path, sizeof(path), "%s/events-%s.gz", test_tmpdir, current->name);
	test_write_gzip(path, in.p, in.len);
	free(in.p);
	t = collector_transcript_file(current, path);
	assert_prefix(t, "E c0|INGEST|t0|2021-03-01T04:00:00Z\n");
	sb_printf(&tail, "E c29999|INGEST|t29999|2021-03-01T04:00:00Z\nR30001 %s | %s\nEND",
		  current->malformed_reason, current->malformed);
	assert_non_null(strstr(t, tail.p));
	free(tail.p);
	free(t);
}

/* An I/O error mid-file stops the collector with the source's message. */
static void io_error_stops_collector(void **state)
{
	static const char *const names[] = {"customer_id", "event_type", "transaction_id",
					    "timestamp", "n"};
	const collector_layout with_n = {names, 5};
	char path[600];
	strbuf in = {0};
	FILE *f;
	long size;
	char *t;

	(void)state;
	numbered_rows(&in, &with_n, 20000);
	snprintf(path, sizeof(path), "%s/cut-events-%s.gz", test_tmpdir, current->name);
	test_write_gzip(path, in.p, in.len);
	free(in.p);
	f = fopen(path, "r+b");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	assert_int_equal(ftruncate(fileno(f), size - 20), 0);
	fclose(f);
	t = collector_transcript_file(current, path);
	assert_non_null(strstr(t, "ERR -4 cannot read "));
	free(t);
}

static const struct CMUnitTest contract_tests[] = {
    cmocka_unit_test(valid_rows),
    cmocka_unit_test(empty_input),
    cmocka_unit_test(bom_blank_lines_and_crlf),
    cmocka_unit_test(ids_as_written),
    cmocka_unit_test(duplicates_are_rows),
    cmocka_unit_test(empty_fields),
    cmocka_unit_test(timestamp_spellings),
    cmocka_unit_test(bad_timestamps),
    cmocka_unit_test(bad_text_fields),
    cmocka_unit_test(long_fields),
    cmocka_unit_test(field_names),
    cmocka_unit_test(many_rows),
    cmocka_unit_test(gzip_file),
    cmocka_unit_test(io_error_stops_collector),
};

int main(void)
{
	char name[64];
	size_t i;
	int failed = 0;

	/* every collector the registry has runs the contract: a new one needs a factory */
	for (i = 0; scli_collector_kinds[i]; i++) {
		current = collector_factory_find(scli_collector_kinds[i]->name);
		if (!current) {
			printf("# collector: %s has no factory in "
			       "tests/support/collector_factories.c\n",
			       scli_collector_kinds[i]->name);
			failed++;
			continue;
		}
		snprintf(name, sizeof(name), "collector contract [%s]", current->name);
		/* cmocka 1.1 does not print group names; say which collector runs */
		printf("# collector: %s\n", current->name);
		failed += cmocka_run_group_tests_name(name, contract_tests, test_tmpdir_make,
						      test_tmpdir_remove);
	}
	return failed ? 1 : 0;
}
