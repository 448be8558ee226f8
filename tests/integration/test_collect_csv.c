/*
 * What only the CSV collector has: header detection and its errors, quoting
 * (quoted line breaks, stray and unterminated quotes), field counts, lone-CR
 * line endings, row limits, and the shared sample data. What every collector
 * promises is in test_collect_contract.c, run against CSV too.
 *
 * Most cases run an input through the collector and compare a transcript,
 * one line per result, so a failure shows the whole picture at once:
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

#include "support/collector_factories.h"
#include "support/tmpdir.h"
#include "support/transcript.h"

/* The CSV collector, from the registry. */
static const collector_factory *csv;

static char *transcript(const char *data, size_t len)
{
	return collector_transcript_mem(csv, data, len);
}

#define EXPECT(input, expected) EXPECT_TRANSCRIPT(csv, input, expected)

#define ROW1 "c1,INGEST,t1,2021-03-01T04:00:00Z"
#define ROW2 "c2,QUERY,t2,2021-03-01 05:30:00.5+00"
#define EV1 "E c1|INGEST|t1|2021-03-01T04:00:00Z\n"
#define EV2 "E c2|QUERY|t2|2021-03-01T05:30:00.5Z\n"

/* Header names quoted, or with spaces around them (the spellings every collector
 * knows are in the contract's field_names). */
static void test_header_spellings(void **state)
{
	static const char *const headers[] = {
	    "\"customer_id\",\"event_type\",\"transaction_id\",\"timestamp\"",
	    " customer_id , event_type , transaction_id , timestamp ",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
		char input[256];
		char *t;

		snprintf(input, sizeof(input), "%s\r\n" ROW1 "\r\n", headers[i]);
		t = transcript(input, strlen(input));
		assert_string_equal(t, EV1 "END");
		free(t);
	}
}

/* Columns in any order and extra ones: the contract's field_names; here rows
 * that do not have the header's field count. */
static void test_header_reordered_and_extra_columns(void **state)
{
	(void)state;
	EXPECT("region,eventType,notes,customer_id,timestamp,transaction_id,more\n"
	       "eu,INGEST,\"x,y\",c1,2021-03-01T04:00:00Z,t1,\n"
	       "eu,INGEST,x,c1,2021-03-01T04:00:00Z,t1\n"
	       "eu,INGEST,x,c1,2021-03-01T04:00:00Z,t1,,\n",
	       EV1
	       "R3 expected 7 fields (header), found 6 | eu,INGEST,x,c1,2021-03-01T04:00:00Z,t1\n"
	       "R4 expected 7 fields (header), found 8 | eu,INGEST,x,c1,2021-03-01T04:00:00Z,t1,,\n"
	       "END");
	/* a header after blank lines and a BOM is still the first row */
	EXPECT("\xEF\xBB\xBF\n\ncustomer_id,event_type,transaction_id,timestamp\n" ROW1 "\n",
	       EV1 "END");
	/* a first row holding a timestamp is data, whatever else it holds */
	EXPECT("customer_id,event_type,t1,2021-03-01T04:00:00Z\n",
	       "E customer_id|event_type|t1|2021-03-01T04:00:00Z\nEND");
}

static void test_header_errors(void **state)
{
	(void)state;
	EXPECT("customer_id,event_type,timestamp\n" ROW1 "\n",
	       "ERR -1 mem:1: header lacks column transaction_id");
	EXPECT("\n\nCustomerId,EVENT_TYPE,transaction_id,extra\n" ROW1 "\n",
	       "ERR -1 mem:3: header lacks column timestamp");
	EXPECT("customer_id,event_type,transaction_id,timestamp,customerId\n",
	       "ERR -1 mem:1: header has column customer_id twice");
}

static void test_quoting(void **state)
{
	(void)state;
	EXPECT("\"c,1\",\"IN\"\"GEST\",\"t1\",\"2021-03-01T04:00:00Z\"\n",
	       "E c,1|IN\"GEST|t1|2021-03-01T04:00:00Z\nEND");
	/* a quoted line break: the row starts on line 1, is a reject (a newline is a control
	 * character), keeps its text, and the next row is still on line 3 */
	EXPECT("c1,INGEST,\"t\n1\",2021-03-01T04:00:00Z\n" ROW2 "\n",
	       "R1 transaction_id contains a control character | "
	       "c1,INGEST,\"t\\n1\",2021-03-01T04:00:00Z\n" EV2 "END");
	EXPECT("c1,INGEST,\"t\r\n\r\n1\",2021-03-01T04:00:00Z\r\n\r\n" ROW2 "\r\n",
	       "R1 transaction_id contains a control character | "
	       "c1,INGEST,\"t\\r\\n\\r\\n1\",2021-03-01T04:00:00Z\n" EV2 "END");
	/* a line break in quotes right at the end of the row */
	EXPECT("\n\"c1\",INGEST,t1,\"2021-03-01T04:00:00Z\n\"\n" ROW2,
	       "R2 timestamp \"2021-03-01T04:00:00Z?\": " /* reason follows */
	       "trailing whitespace is not allowed | "
	       "\"c1\",INGEST,t1,\"2021-03-01T04:00:00Z\\n\"\n" EV2 "END");
	/* spaces around unquoted fields are dropped, inner ones kept */
	EXPECT(" c1 ,\tINGEST\t, t 1 , 2021-03-01T04:00:00Z \n",
	       "E c1|INGEST|t 1|2021-03-01T04:00:00Z\nEND");
	/* a stray quote inside an unquoted field is taken literally */
	EXPECT("c\"1,INGEST,t1,2021-03-01T04:00:00Z\n",
	       "E c\"1|INGEST|t1|2021-03-01T04:00:00Z\nEND");
}

/*
 * Quote-free lines take a fast path that bypasses libcsv; a last line without
 * terminator always goes through libcsv. Both must read the same fields.
 */
static void test_fast_path_matches_libcsv(void **state)
{
	static const char *const lines[] = {
	    ROW1,
	    "  c1  ,\tINGEST\t,\t t1 \t, 2021-03-01T04:00:00Z  ",
	    "c 1,IN GEST,t 1,2021-03-01 04:00",
	    "c1,INGEST,t1,2021-03-01T04:00:00Z,",
	    ",,,",
	    " , , , ",
	    "c1,,t1,2021",
	    "   ",
	    "\t",
	    "x",
	    "customer_id,event_type,transaction_id,timestamp",
	    " timestamp , customer_id,event_type ,transaction_id",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		char input[256];
		char *fast, *slow;
		size_t n;

		/* the line twice: as the header candidate, then as a data row */
		n = (size_t)snprintf(input, sizeof(input), "%s\n%s\n", lines[i], lines[i]);
		fast = transcript(input, n);
		slow = transcript(input, n - 1);
		assert_string_equal(fast, slow);
		free(fast);
		free(slow);
	}
}

/* CRLF, a BOM, blank lines and a last row without terminator: the contract's
 * valid_rows and bom_blank_lines_and_crlf; here what only CSV reads so. */
static void test_line_endings_bom_blank_lines(void **state)
{
	(void)state;
	EXPECT("\xEF\xBB", "R1 expected 4 fields, found 1 | \xEF\xBB\nEND");
	EXPECT(ROW1 "\r\n" ROW2 "\r", EV1 EV2 "END");
	/* old Mac: a lone CR ends a line, and counts as one */
	EXPECT(ROW1 "\r\rbad\r" ROW2 "\r", EV1 "R3 expected 4 fields, found 1 | bad\n" EV2 "END");
	/* a line of spaces is not blank: it is a row, and a bad one */
	EXPECT(ROW1 "\n  \n" ROW2 "\n", EV1 "R2 expected 4 fields, found 1 |   \n" EV2 "END");
}

/* Rows with too few or too many fields; a quoted empty field is empty (the
 * other empty fields are the contract's empty_fields). */
static void test_field_counts_and_quoted_empty(void **state)
{
	(void)state;
	EXPECT("c1,INGEST,t1\n"
	       "c1,INGEST,t1,2021-03-01T04:00:00Z,x\n"
	       "\n"
	       "c1\r\n"
	       "c1,INGEST,\"\",2021-03-01T04:00:00Z\n" ROW1,
	       "R1 expected 4 fields, found 3 | c1,INGEST,t1\n"
	       "R2 expected 4 fields, found 5 | c1,INGEST,t1,2021-03-01T04:00:00Z,x\n"
	       "R4 expected 4 fields, found 1 | c1\n"
	       "R5 transaction_id is empty | c1,INGEST,\"\",2021-03-01T04:00:00Z\n" EV1 "END");
}

#define RESUMES "; reading resumes at the next line"

static void test_unterminated_quote(void **state)
{
	(void)state;
	/* open to the end of the input: the row is its first line, the lines after it are rows */
	EXPECT(ROW1 "\n\nc1,INGEST,\"t1,2021-03-01T04:00:00Z\n" ROW2 "\n",
	       EV1 "R3 unterminated quoted field" RESUMES
		   " | c1,INGEST,\"t1,2021-03-01T04:00:00Z\n" EV2 "END");
	/* the same without a final line break, with CRLF, and with blank lines after it */
	EXPECT("c1,INGEST,\"t1,2021-03-01T04:00:00Z\r\n\r\n" ROW2 "\r\n\r\n" ROW1,
	       "R1 unterminated quoted field" RESUMES
	       " | c1,INGEST,\"t1,2021-03-01T04:00:00Z\n" EV2 EV1 "END");
	/* a second stray quote in the lines read again: the same rule, line numbers still right */
	EXPECT("c1,INGEST,\"t1,2021-03-01T04:00:00Z\n" ROW2 "\nc3,INGEST,\"t3,2021-03-01\n\n" ROW1
	       "\n",
	       "R1 unterminated quoted field" RESUMES " | c1,INGEST,\"t1,2021-03-01T04:00:00Z\n" EV2
	       "R3 unterminated quoted field" RESUMES " | c3,INGEST,\"t3,2021-03-01\n" EV1 "END");
	/* a quoted line break that closes is one row, as before */
	EXPECT("c1,INGEST,\"t\n1\",2021-03-01T04:00:00Z\n" ROW2 "\n",
	       "R1 transaction_id contains a control character | c1,INGEST,\"t\\n1\","
	       "2021-03-01T04:00:00Z\n" EV2 "END");
	/* a stray quote on the first line of a file with a header: the header still counts */
	EXPECT("timestamp,customer_id,event_type,transaction_id\n"
	       "2021-03-01T04:00:00Z,c1,INGEST,\"t1\n"
	       "2021-03-01T04:00:00Z,c1,INGEST,t1\n",
	       "R2 unterminated quoted field" RESUMES " | 2021-03-01T04:00:00Z,c1,INGEST,\"t1\n" EV1
	       "END");
	EXPECT(ROW1 "\n\"c2", EV1 "R2 unterminated quoted field | \"c2\nEND");
	/* a closing quote as the very last byte is not unterminated */
	EXPECT("c1,INGEST,t1,\"2021-03-01T04:00:00Z\"", EV1 "END");
}

/* Rows around the 1 MiB limit, and lines longer than the collector's read buffer. */
static void test_long_rows(void **state)
{
	const size_t max = 1024 * 1024;
	size_t big = max + 1000, n = 0;
	char *input = malloc(3 * max + 200);
	char *t;

	(void)state;
	assert_non_null(input);
	/* line 1: exactly 1 MiB, too long a customer but not too long a row */
	memcpy(input + n, S(ROW1 "\n"));
	n += sizeof(ROW1);
	memset(input + n, 'a', max - sizeof(",INGEST,t1,2021"));
	n += max - sizeof(",INGEST,t1,2021");
	memcpy(input + n, S(",INGEST,t1,2021\n"));
	n += sizeof(",INGEST,t1,2021\n") - 1;
	/* line 3: over 1 MiB, holding a quoted line break and a quoted quote */
	memcpy(input + n, S("\"x\"\"\n"));
	n += 5;
	memset(input + n, 'b', big);
	n += big;
	memcpy(input + n, S("\",INGEST,t1,2021\n" ROW2));
	n += sizeof("\",INGEST,t1,2021\n" ROW2) - 1;

	/* its quoted field is still open at the limit: line 3 alone is the reject, and
	 * line 4 is read again, itself a row over the limit */
	t = transcript(input, n);
	assert_prefix(t, EV1 "R2 customer_id is longer than 128 bytes | aaaa");
	assert_non_null(strstr(t, "aaaa,INGEST,t1,2021\nR3 quoted field still open after 1048576 "
				  "bytes (a stray quote?)" RESUMES " | \"x\"\"\n"
				  "R4 row is longer than 1048576 bytes | bbbb"));
	assert_non_null(strstr(t, "bbbb\n" EV2 "END"));
	free(t);

	/* one line over the limit that never closes its quote: rejected to its end */
	input[0] = '"';
	memset(input + 1, 'c', big);
	memcpy(input + big + 1, S("\n" ROW1 "\n"));
	t = transcript(input, big + 2 + sizeof(ROW1));
	assert_prefix(t, "R1 row is longer than 1048576 bytes | \"ccc");
	assert_non_null(strstr(t, "ccc\n" EV1 "END"));
	free(t);
	free(input);
}

/*
 * A stray quote, then many good rows (over 1 MiB of them): the stray line is
 * the one reject, every row after it loads, and line numbers stay right
 * across the text put back and the reads after it (rejects at known lines).
 */
static void stray_quote_then_rows(const char *eol, int header)
{
	const unsigned rows = 100000;
	unsigned first = header ? 2 : 1, i, events = 0, rejects = 0;
	uint64_t lines[4];
	strbuf in = {0};
	scli_source *src = NULL;
	scli_collector *col = NULL;
	scli_event ev;
	scli_reject rej;
	int kind;

	if (header)
		sb_printf(&in, "customer_id,event_type,transaction_id,timestamp%s", eol);
	sb_printf(&in, "c1,e,\"t0,2021-03-01T00:00:00Z%s", eol);
	for (i = 1; i <= rows; i++) {
		if (i == 30000 || i == rows)
			sb_printf(&in, "c%u,e,t%u,2021-02-30%s", i % 7, i, eol);
		else
			sb_printf(&in, "c%u,e,t%u,2021-03-01T04:00:00Z%s", i % 7, i, eol);
	}
	assert_int_equal(scli_source_from_memory(&src, in.p, in.len, "gen"), 0);
	free(in.p);
	assert_int_equal(collector_factory_open(&col, csv, src), 0);
	while ((kind = scli_collector_next(&ev, &rej, col)) > 0) {
		if (kind == SCLI_NEXT_EVENT) {
			events++;
			continue;
		}
		assert_true(rejects < 3);
		lines[rejects++] = rej.line;
		if (rejects == 1) {
			assert_string_equal(rej.reason,
					    "quoted field still open after 1048576 bytes "
					    "(a stray quote?)" RESUMES);
			assert_string_equal(rej.raw, "c1,e,\"t0,2021-03-01T00:00:00Z");
		}
	}
	assert_int_equal(kind, SCLI_NEXT_END);
	assert_int_equal(rejects, 3);
	assert_int_equal(lines[0], first);
	assert_int_equal(lines[1], first + 30000);
	assert_int_equal(lines[2], first + rows);
	assert_int_equal(events, rows - 2);
	scli_collector_free(col);
	scli_source_free(src);
}

static void test_stray_quote_resumes(void **state)
{
	(void)state;
	stray_quote_then_rows("\n", 0);
	stray_quote_then_rows("\r\n", 1);
	stray_quote_then_rows("\r", 0);
}

/* ---- files ---------------------------------------------------------- */

static void test_plain_file(void **state)
{
	char path[600];
	FILE *f;
	char *t;

	(void)state;
	snprintf(path, sizeof(path), "%s/plain.csv", test_tmpdir);
	f = fopen(path, "wb");
	assert_non_null(f);
	fputs("\xEF\xBB\xBFtransactionId,customerId,eventType,timestamp\r\n"
	      "t1,c1,INGEST,2021-03-01T04:00:00Z\r\nt2,c2\r\n",
	      f);
	fclose(f);
	t = collector_transcript_file(csv, path);
	assert_string_equal(t, EV1 "R3 expected 4 fields (header), found 2 | t2,c2\nEND");
	free(t);
}

/* The reference implementation's test input: blank lines, an empty customer and timestamp. */
static void test_shared_sample(void **state)
{
	const char *dir = getenv("SCLI_SHARED_DATA");
	char path[1024];
	scli_source *src = NULL;
	scli_collector *col = NULL;
	scli_event ev;
	scli_reject rej;
	unsigned events = 0, rejects = 0;
	int kind;

	(void)state;
	if (!dir || !*dir) {
		skip();
		return;
	}
	snprintf(path, sizeof(path), "%s/metronome/supriya-simpleAggregator_test_events.csv", dir);
	if (access(path, R_OK) != 0) {
		skip();
		return;
	}
	assert_int_equal(scli_source_open(&src, path), 0);
	assert_int_equal(collector_factory_open(&col, csv, src), 0);
	while ((kind = scli_collector_next(&ev, &rej, col)) > 0) {
		if (kind == SCLI_NEXT_EVENT) {
			if (events++ == 0) {
				assert_string_equal(ev.customer_id,
						    "b4f9279a0196e40632e947dd1a88e857");
				assert_string_equal(ev.transaction_id,
						    "401938ed-f16c-407a-9c99-e7132856e7bf");
				assert_true(ev.ts_us == INT64_C(1614556871055000));
			}
			continue;
		}
		rejects++;
		if (rej.line == 18) {
			assert_string_equal(rej.reason, "customer_id is empty");
			assert_string_equal(rej.raw, "\"\",INGEST,6db4bce4-ed78-42e5-b201-"
						     "f11c5074d6dc,2021-03-01 02:07:31.628+00");
		} else {
			assert_int_equal(rej.line, 19);
			assert_string_equal(rej.reason, "timestamp is empty");
		}
	}
	assert_int_equal(kind, SCLI_NEXT_END);
	assert_int_equal(events, 17);
	assert_int_equal(rejects, 2);
	scli_collector_free(col);
	scli_source_free(src);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_header_spellings),
	    cmocka_unit_test(test_header_reordered_and_extra_columns),
	    cmocka_unit_test(test_header_errors),
	    cmocka_unit_test(test_quoting),
	    cmocka_unit_test(test_fast_path_matches_libcsv),
	    cmocka_unit_test(test_line_endings_bom_blank_lines),
	    cmocka_unit_test(test_field_counts_and_quoted_empty),
	    cmocka_unit_test(test_unterminated_quote),
	    cmocka_unit_test(test_stray_quote_resumes),
	    cmocka_unit_test(test_long_rows),
	    cmocka_unit_test(test_plain_file),
	    cmocka_unit_test(test_shared_sample),
	};

	if (!(csv = collector_factory_find("csv")))
		return 1;
	return cmocka_run_group_tests(tests, test_tmpdir_make, test_tmpdir_remove);
}
