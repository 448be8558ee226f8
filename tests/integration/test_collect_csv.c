/*
 * The byte source and the CSV collector: header detection, quoting, line
 * numbers and raw text of rejects, limits, files (plain and gzip), and the
 * shared sample data.
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

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "scli/adapters.h"
#include "support/tmpdir.h"
#include "support/transcript.h"
#include "scli/timestamp.h"

/* Run a collector to its end and describe every result. The caller frees. */
static char *transcript_of(scli_source *src)
{
	scli_collector *col = NULL;

	assert_int_equal(scli_collector_csv_new(&col, src), 0);
	return collector_transcript(col);
}

static char *transcript(const char *data, size_t len)
{
	scli_source *src = NULL;
	char *t;

	assert_int_equal(scli_source_from_memory(&src, data, len, "mem"), 0);
	t = transcript_of(src);
	scli_source_free(src);
	return t;
}

#define EXPECT(input, expected)                                                                    \
	do {                                                                                       \
		char *t_ = transcript(S(input));                                                   \
		assert_string_equal(t_, expected);                                                 \
		free(t_);                                                                          \
	} while (0)

#define ROW1 "c1,INGEST,t1,2021-03-01T04:00:00Z"
#define ROW2 "c2,QUERY,t2,2021-03-01 05:30:00.5+00"
#define EV1 "E c1|INGEST|t1|2021-03-01T04:00:00Z\n"
#define EV2 "E c2|QUERY|t2|2021-03-01T05:30:00.5Z\n"

static void test_headerless_default_order(void **state)
{
	(void)state;
	EXPECT(ROW1 "\n" ROW2 "\n", EV1 EV2 "END");
	EXPECT("", "END");
	EXPECT("\n\n", "END");
	/* the real data's shape: a transaction id that is itself a date, with its space */
	EXPECT("b4f9,INGEST,2021-03-01 04:01:07,2021-03-01 04:01:07.45+00\n",
	       "E b4f9|INGEST|2021-03-01 04:01:07|2021-03-01T04:01:07.45Z\nEND");
}

static void test_header_spellings(void **state)
{
	static const char *const headers[] = {
	    "customer_id,event_type,transaction_id,timestamp",
	    "CUSTOMER_ID,EVENT_TYPE,TRANSACTION_ID,TIMESTAMP",
	    "Customer_Id,Event_Type,Transaction_Id,TimeStamp",
	    "customerId,eventType,transactionId,timestamp",
	    "CustomerID,EventType,TransactionID,Timestamp",
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

static void test_header_reordered_and_extra_columns(void **state)
{
	(void)state;
	EXPECT("timestamp,transaction_id,customer_id,event_type\n"
	       "2021-03-01T04:00:00Z,t1,c1,INGEST\n",
	       EV1 "END");
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

static void test_line_endings_bom_blank_lines(void **state)
{
	(void)state;
	EXPECT(ROW1 "\r\n" ROW2 "\r\n", EV1 EV2 "END");
	EXPECT("\xEF\xBB\xBF" ROW1 "\n", EV1 "END");
	EXPECT("\xEF\xBB\xBF", "END");
	EXPECT("\xEF\xBB", "R1 expected 4 fields, found 1 | \xEF\xBB\nEND");
	EXPECT("\n\n" ROW1 "\n\r\n\n" ROW2 "\n\n\n", EV1 EV2 "END");
	/* no terminator on the last row */
	EXPECT(ROW1 "\n" ROW2, EV1 EV2 "END");
	EXPECT(ROW1 "\r\n" ROW2 "\r", EV1 EV2 "END");
	/* old Mac: a lone CR ends a line, and counts as one */
	EXPECT(ROW1 "\r\rbad\r" ROW2 "\r", EV1 "R3 expected 4 fields, found 1 | bad\n" EV2 "END");
	/* a line of spaces is not blank: it is a row, and a bad one */
	EXPECT(ROW1 "\n  \n" ROW2 "\n", EV1 "R2 expected 4 fields, found 1 |   \n" EV2 "END");
}

static void test_field_counts_and_empty_fields(void **state)
{
	(void)state;
	EXPECT("c1,INGEST,t1\n"
	       "c1,INGEST,t1,2021-03-01T04:00:00Z,x\n"
	       "\n"
	       "c1\r\n"
	       ",,,\n"
	       "c1,,t1,2021-03-01T04:00:00Z\n"
	       "c1,INGEST,\"\",2021-03-01T04:00:00Z\n"
	       "c1,INGEST,t1,\n"
	       ",INGEST,t1,bad\n" ROW1,
	       "R1 expected 4 fields, found 3 | c1,INGEST,t1\n"
	       "R2 expected 4 fields, found 5 | c1,INGEST,t1,2021-03-01T04:00:00Z,x\n"
	       "R4 expected 4 fields, found 1 | c1\n"
	       "R5 customer_id is empty | ,,,\n"
	       "R6 event_type is empty | c1,,t1,2021-03-01T04:00:00Z\n"
	       "R7 transaction_id is empty | c1,INGEST,\"\",2021-03-01T04:00:00Z\n"
	       "R8 timestamp is empty | c1,INGEST,t1,\n"
	       "R9 customer_id is empty | ,INGEST,t1,bad\n" EV1 "END");
}

static void test_bad_timestamps(void **state)
{
	char long_ts[300], input[400], expected[600];
	char *t;

	(void)state;
	EXPECT("c1,INGEST,t1,2021-02-29 00:00\n"
	       "c1,INGEST,t1,yesterday\n" ROW1 "\n",
	       "R1 timestamp \"2021-02-29 00:00\": day is out of range for the month | "
	       "c1,INGEST,t1,2021-02-29 00:00\n"
	       "R2 timestamp \"yesterday\": expected YYYY-MM-DD | "
	       "c1,INGEST,t1,yesterday\n" EV1 "END");

	/* a long bad timestamp is quoted only in part */
	memset(long_ts, '9', 200);
	long_ts[200] = '\0';
	snprintf(input, sizeof(input), "c1,INGEST,t1,%s\n", long_ts);
	t = transcript(input, strlen(input));
	snprintf(expected, sizeof(expected), "R1 timestamp \"%.64s...\": ", long_ts);
	assert_memory_equal(t, expected, strlen(expected));
	assert_non_null(strstr(t, long_ts));	 /* the raw text is whole */
	assert_true(strlen(t) < 200 + 64 + 100); /* and the reason is not */
	free(t);
}

static void test_bad_text_fields(void **state)
{
	char input[700], expected[1400], big[300];
	char *t;

	(void)state;
	EXPECT(
	    "c\x01,INGEST,t1,2021-03-01T04:00:00Z\n"
	    "c1,IN\xFFGEST,t1,2021-03-01T04:00:00Z\n" ROW1 "\n",
	    "R1 customer_id contains a control character | c\x01,INGEST,t1,2021-03-01T04:00:00Z\n"
	    "R2 event_type is not valid UTF-8 | c1,IN\xFFGEST,t1,2021-03-01T04:00:00Z\n" EV1 "END");

	memset(big, 'x', 257);
	big[257] = '\0';
	snprintf(input, sizeof(input), "c1,INGEST,%s,2021-03-01T04:00:00Z\n%.129s,INGEST,t1,bad\n",
		 big, big);
	snprintf(expected, sizeof(expected),
		 "R1 transaction_id is longer than 256 bytes | c1,INGEST,%s,2021-03-01T04:00:00Z\n"
		 "R2 customer_id is longer than 128 bytes | %.129s,INGEST,t1,bad\nEND",
		 big, big);
	t = transcript(input, strlen(input));
	assert_string_equal(t, expected);
	free(t);
	/* exactly at the limit is fine */
	snprintf(input, sizeof(input), "%.128s,%.128s,%.256s,2021-03-01T04:00:00Z\n", big, big,
		 big);
	t = transcript(input, strlen(input));
	assert_memory_equal(t, "E xxx", 5);
	free(t);
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
	assert_int_equal(scli_collector_csv_new(&col, src), 0);
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

/* A long input through the public loop: counts, and the last line number. */
static void test_many_rows(void **state)
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
		if (i % 1000 == 999)
			sb_printf(&in, "cust%u,INGEST,tx%u,2021-13-01\n", i % 7, i);
		else
			sb_printf(&in, "cust%u,INGEST,tx%u,2021-03-01T04:%02u:%02u.%03uZ\r\n",
				  i % 7, i, i / 60 % 60, i % 60, i % 1000);
	}
	assert_int_equal(scli_source_from_memory(&src, in.p, in.len, "gen"), 0);
	free(in.p);
	assert_int_equal(scli_collector_csv_new(&col, src), 0);
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

/* ---- files ---------------------------------------------------------- */

static char *file_transcript(const char *path)
{
	scli_source *src = NULL;
	char *t;

	assert_int_equal(scli_source_open(&src, path), 0);
	assert_string_equal(scli_source_name(src), path);
	t = transcript_of(src);
	scli_source_free(src);
	return t;
}

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
	t = file_transcript(path);
	assert_string_equal(t, EV1 "R3 expected 4 fields (header), found 2 | t2,c2\nEND");
	free(t);
}

static void write_gzip(const char *path, const char *data, size_t len)
{
	gzFile gz = gzopen(path, "wb");

	assert_non_null(gz);
	assert_int_equal(gzwrite(gz, data, (unsigned)len), (int)len);
	assert_int_equal(gzclose(gz), Z_OK);
}

static void test_gzip_file(void **state)
{
	char path[600];
	strbuf in = {0};
	char *t;
	unsigned i;

	(void)state;
	/* bigger than both the zlib and the collector buffers */
	for (i = 0; i < 30000; i++)
		sb_printf(&in, "c%u,INGEST,t%u,2021-03-01T04:00:00Z\n", i, i);
	sb_add(&in, S("bad\n"));
	snprintf(path, sizeof(path), "%s/events.csv.gz", test_tmpdir);
	write_gzip(path, in.p, in.len);
	free(in.p);
	t = file_transcript(path);
	assert_prefix(t, "E c0|INGEST|t0|2021-03-01T04:00:00Z\n");
	assert_non_null(strstr(t, "E c29999|INGEST|t29999|2021-03-01T04:00:00Z\n"
				  "R30001 expected 4 fields, found 1 | bad\nEND"));
	free(t);
}

static void test_truncated_gzip_is_an_error(void **state)
{
	char path[600], data[4096], msg[700];
	scli_source *src = NULL;
	long got = 1, total = 0;
	FILE *f;
	long size;
	unsigned i;

	(void)state;
	/* random-looking text so the compressed stream is long enough to cut */
	for (i = 0; i < sizeof(data); i++)
		data[i] = (char)('a' + (i * 7919u) % 26);
	snprintf(path, sizeof(path), "%s/cut.csv.gz", test_tmpdir);
	write_gzip(path, data, sizeof(data));
	f = fopen(path, "r+b");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	assert_int_equal(ftruncate(fileno(f), size / 2), 0);
	fclose(f);

	assert_int_equal(scli_source_open(&src, path), 0);
	while (got > 0) {
		got = scli_source_read(src, data, sizeof(data));
		if (got > 0)
			total += got;
	}
	assert_int_equal(got, SCLI_EIO);
	assert_true(total < (long)sizeof(data));
	snprintf(msg, sizeof(msg), "cannot read %s: ", path);
	assert_memory_equal(scli_error_last(), msg, strlen(msg));
	scli_source_free(src);
}

static void test_missing_file(void **state)
{
	char path[600], msg[700];
	scli_source *src = (scli_source *)&src; /* must be reset to NULL */

	(void)state;
	snprintf(path, sizeof(path), "%s/no-such.csv", test_tmpdir);
	assert_int_equal(scli_source_open(&src, path), SCLI_EIO);
	assert_null(src);
	snprintf(msg, sizeof(msg), "cannot open %s: No such file or directory", path);
	assert_string_equal(scli_error_last(), msg);
}

/* An I/O error mid-file stops the collector with the source's message. */
static void test_io_error_stops_collector(void **state)
{
	char path[600];
	strbuf in = {0};
	unsigned i;
	FILE *f;
	long size;
	char *t;

	(void)state;
	for (i = 0; i < 20000; i++)
		sb_printf(&in, "c%u,INGEST,t%u,2021-03-01T04:00:00Z,%u\n", i, i, i * 2654435761u);
	snprintf(path, sizeof(path), "%s/cut-events.csv.gz", test_tmpdir);
	write_gzip(path, in.p, in.len);
	free(in.p);
	f = fopen(path, "r+b");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	assert_int_equal(ftruncate(fileno(f), size - 20), 0);
	fclose(f);
	t = file_transcript(path);
	assert_non_null(strstr(t, "ERR -4 cannot read "));
	free(t);
}

static void test_memory_source(void **state)
{
	char data[] = "abc";
	char out[8];
	scli_source *src = NULL;

	(void)state;
	assert_int_equal(scli_source_from_memory(&src, data, 3, "name"), 0);
	data[0] = 'X'; /* the source holds a copy */
	assert_string_equal(scli_source_name(src), "name");
	assert_int_equal(scli_source_read(src, out, 2), 2);
	assert_int_equal(scli_source_read(src, out + 2, 8), 1);
	assert_memory_equal(out, "abc", 3);
	assert_int_equal(scli_source_read(src, out, 8), 0);
	scli_source_free(src);
	scli_source_free(NULL);
	assert_int_equal(scli_source_from_memory(&src, NULL, 0, "empty"), 0);
	assert_int_equal(scli_source_read(src, out, 8), 0);
	scli_source_free(src);
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
	assert_int_equal(scli_collector_csv_new(&col, src), 0);
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
	    cmocka_unit_test(test_headerless_default_order),
	    cmocka_unit_test(test_header_spellings),
	    cmocka_unit_test(test_header_reordered_and_extra_columns),
	    cmocka_unit_test(test_header_errors),
	    cmocka_unit_test(test_quoting),
	    cmocka_unit_test(test_fast_path_matches_libcsv),
	    cmocka_unit_test(test_line_endings_bom_blank_lines),
	    cmocka_unit_test(test_field_counts_and_empty_fields),
	    cmocka_unit_test(test_bad_timestamps),
	    cmocka_unit_test(test_bad_text_fields),
	    cmocka_unit_test(test_unterminated_quote),
	    cmocka_unit_test(test_stray_quote_resumes),
	    cmocka_unit_test(test_long_rows),
	    cmocka_unit_test(test_many_rows),
	    cmocka_unit_test(test_memory_source),
	    cmocka_unit_test(test_plain_file),
	    cmocka_unit_test(test_gzip_file),
	    cmocka_unit_test(test_truncated_gzip_is_an_error),
	    cmocka_unit_test(test_io_error_stops_collector),
	    cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_shared_sample),
	};

	return cmocka_run_group_tests(tests, test_tmpdir_make, test_tmpdir_remove);
}
