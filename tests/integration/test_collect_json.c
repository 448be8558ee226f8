/*
 * What only the JSON collector has: the three shapes, keys (escaped, given
 * twice, null), value types, numeric ids and timestamps, \u0000, nesting,
 * resynchronising after invalid JSON, the object limit and the read buffer's
 * edges, and a pretty-printed gzip file. What every collector promises is in
 * test_collect_contract.c, run against JSON too.
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

#include "support/collector_factories.h"
#include "support/tmpdir.h"
#include "support/transcript.h"

/* The JSON collector, from the registry. */
static const collector_factory *json;

static char *transcript(const char *data, size_t len)
{
	return collector_transcript_mem(json, data, len);
}

#define EXPECT(input, expected) EXPECT_TRANSCRIPT(json, input, expected)

#define OBJ1                                                                                       \
	"{\"customer_id\":\"c1\",\"event_type\":\"INGEST\",\"transaction_id\":\"t1\","             \
	"\"timestamp\":\"2021-03-01T04:00:00Z\"}"
#define OBJ2                                                                                       \
	"{\"customer_id\": \"c2\", \"event_type\": \"QUERY\", \"transaction_id\": \"t2\", "        \
	"\"timestamp\": \"2021-03-01 05:30:00.5+00\"}"
#define EV1 "E c1|INGEST|t1|2021-03-01T04:00:00Z\n"
#define EV2 "E c2|QUERY|t2|2021-03-01T05:30:00.5Z\n"
/* the three text fields of OBJ1, to build objects with another timestamp or extra keys */
#define TEXT1 "\"customer_id\":\"c1\",\"event_type\":\"INGEST\",\"transaction_id\":\"t1\""

static void test_shapes(void **state)
{
	(void)state;
	/* a top-level array */
	EXPECT("[" OBJ1 "," OBJ2 "]", EV1 EV2 "END");
	EXPECT("[]", "END");
	EXPECT(" [ \n ] \n", "END");
	/* a single object */
	EXPECT(OBJ1, EV1 "END");
	EXPECT("\n\n  " OBJ1 "  \n\n", EV1 "END");
	/* NDJSON, with and without a final line break */
	EXPECT(OBJ1 "\n" OBJ2 "\n", EV1 EV2 "END");
	EXPECT(OBJ1 "\n" OBJ2, EV1 EV2 "END");
	/* nothing at all */
	EXPECT("", "END");
	EXPECT(" \r\n\t\n", "END");
}

static void test_pretty_printed(void **state)
{
	(void)state;
	/* an array spanning many lines, whitespace everywhere */
	EXPECT("[\n"
	       "  {\n"
	       "    \"customer_id\" : \"c1\" ,\n"
	       "    \"event_type\":\"INGEST\",\n"
	       "    \"transaction_id\":\n"
	       "        \"t1\",\n"
	       "    \"timestamp\": \"2021-03-01T04:00:00Z\"\n"
	       "  }\n"
	       "  ,\n"
	       "\t" OBJ2 "\r\n"
	       "]\n",
	       EV1 EV2 "END");
	/* pretty-printed objects one after another (a concatenated stream) */
	EXPECT("{\n \"customer_id\": \"c1\",\n \"event_type\": \"INGEST\",\n"
	       " \"transaction_id\": \"t1\",\n \"timestamp\": \"2021-03-01T04:00:00Z\"\n}\n"
	       "{\n \"customer_id\": \"c2\",\n \"event_type\": \"QUERY\",\n"
	       " \"transaction_id\": \"t2\",\n \"timestamp\": \"2021-03-01 05:30:00.5+00\"\n}",
	       EV1 EV2 "END");
	/* objects back to back on one line */
	EXPECT(OBJ1 OBJ2, EV1 EV2 "END");
	/* commas between array elements are not checked: nothing is lost either way */
	EXPECT("[" OBJ1 " " OBJ2 "]", EV1 EV2 "END");
	EXPECT("[," OBJ1 ",," OBJ2 ",]", EV1 EV2 "END");
	/* two arrays in a row read as one stream */
	EXPECT("[" OBJ1 "]\n[" OBJ2 "]\n", EV1 EV2 "END");
}

/* Blank lines, CRLF and a BOM are the contract's bom_blank_lines_and_crlf; here
 * lines of whitespace, which JSON skips, and a BOM before an array. */
static void test_ndjson_blank_lines_crlf_bom(void **state)
{
	(void)state;
	EXPECT("\n\n" OBJ1 "\n   \n\t\n" OBJ2 "\n\n\n", EV1 EV2 "END");
	EXPECT("\xEF\xBB\xBF[" OBJ1 "]", EV1 "END");
}

/* Key spellings and order are the contract's field_names; here what only JSON keys have. */
static void test_key_spellings(void **state)
{
	(void)state;
	/* keys in any order; a key spelled with an escape is still the key */
	EXPECT("{\"timestamp\":\"2021-03-01T04:00:00Z\",\"transaction_id\":\"t1\","
	       "\"event\\u005ftype\":\"INGEST\",\"customer_id\":\"c1\"}",
	       EV1 "END");
	/* two spellings of one key: which one is meant cannot be known */
	EXPECT("{" TEXT1 ",\"transactionId\":\"t2\",\"timestamp\":\"2021-03-01T04:00:00Z\"}",
	       "R1 transaction_id is given twice | {" TEXT1 ",\"transactionId\":\"t2\","
	       "\"timestamp\":\"2021-03-01T04:00:00Z\"}\nEND");
	/* ...unless one of them is null, which counts as absent */
	EXPECT("{\"customerId\":null," TEXT1 ",\"timestamp\":\"2021-03-01T04:00:00Z\"}", EV1 "END");
}

static void test_extra_keys_and_nested_values(void **state)
{
	(void)state;
	/* braces, brackets, escaped quotes and backslashes inside strings must not
	 * confuse the scanner; nor nested objects and arrays */
	EXPECT("[{\"properties\":{\"a\":\"}}]]{{[[\",\"b\":\"\\\"}\\\\\",\"c\":[1,{\"d\":\"]\"}],"
	       "\"e\":{\"f\":{}}},\"region\":\"eu\"," TEXT1
	       ",\"timestamp\":\"2021-03-01T04:00:00Z\",\"n\":null,\"x\":[true,false]},\n"
	       "{\"q\":\"\\\\\"," TEXT1
	       ",\"timestamp\":\"2021-03-01T04:00:00Z\",\"z\":\"\\\\\\\"\"}]",
	       EV1 EV1 "END");
	/* NDJSON: a string ending in an escaped backslash, then more objects on the next lines */
	EXPECT("{\"p\":\"\\\\\"," TEXT1 ",\"timestamp\":\"2021-03-01T04:00:00Z\"}\n" OBJ2 "\n",
	       EV1 EV2 "END");
	/* decoded escapes land in the fields */
	EXPECT("{\"customer_id\":\"c\\u00e9\\\"\\\\\",\"event_type\":\"IN\\/GEST\","
	       "\"transaction_id\":\"t\\ud83d\\ude00\",\"timestamp\":\"2021-03-01T04:00:00Z\"}",
	       "E c\xC3\xA9\"\\|IN/GEST|t\xF0\x9F\x98\x80|2021-03-01T04:00:00Z\nEND");
}

static void test_numeric_timestamps(void **state)
{
	(void)state;
	EXPECT("{" TEXT1 ",\"timestamp\":1614571267}\n"
	       "{" TEXT1 ",\"timestamp\":1614571267.45}\n"
	       "{" TEXT1 ",\"timestamp\":1614571267.450000}\n"
	       "{" TEXT1 ",\"timestamp\":1614571267.123456}\n"
	       "{" TEXT1 ",\"timestamp\":1.614571267e9}\n"
	       "{" TEXT1 ",\"timestamp\":0}\n"
	       "{" TEXT1 ",\"timestamp\":-1.5}\n"
	       "{" TEXT1 ",\"timestamp\":1e300}\n"
	       "{" TEXT1 ",\"timestamp\":true}\n"
	       "{" TEXT1 ",\"timestamp\":{\"s\":1}}\n"
	       "{" TEXT1 ",\"timestamp\":[1]}\n",
	       "E c1|INGEST|t1|2021-03-01T04:01:07Z\n"
	       "E c1|INGEST|t1|2021-03-01T04:01:07.45Z\n"
	       "E c1|INGEST|t1|2021-03-01T04:01:07.45Z\n"
	       "E c1|INGEST|t1|2021-03-01T04:01:07.123456Z\n"
	       "E c1|INGEST|t1|2021-03-01T04:01:07Z\n"
	       "E c1|INGEST|t1|1970-01-01T00:00:00Z\n"
	       "E c1|INGEST|t1|1969-12-31T23:59:58.5Z\n"
	       "R8 timestamp 1e300: seconds are outside years 0001-9999 | {" TEXT1
	       ",\"timestamp\":1e300}\n"
	       "R9 timestamp must be a string or a number | {" TEXT1 ",\"timestamp\":true}\n"
	       "R10 timestamp must be a string or a number | {" TEXT1 ",\"timestamp\":{\"s\":1}}\n"
	       "R11 timestamp must be a string or a number | {" TEXT1 ",\"timestamp\":[1]}\n"
	       "END");
}

/* Numeric timestamps are exact to the microsecond, from their digits: a double is
 * not (253402300799.999999 is 30 us off as one), and extra digits are truncated
 * as in a text timestamp. */
static void test_numeric_timestamps_exact(void **state)
{
	(void)state;
	EXPECT(
	    "{" TEXT1 ",\"timestamp\":1614571267.123456}\n"
	    "{" TEXT1 ",\"timestamp\":1614571267.1234569}\n"
	    "{" TEXT1 ",\"timestamp\":253402300799.999999}\n"
	    "{" TEXT1 ",\"timestamp\":253402300800}\n"
	    "{" TEXT1 ",\"timestamp\":-62135596800}\n"
	    "{" TEXT1 ",\"timestamp\":-62135596800.000001}\n"
	    "{" TEXT1 ",\"timestamp\":-0.0000001}\n"
	    "{" TEXT1 ",\"timestamp\":16145712671234565e-7}\n"
	    "{" TEXT1 ",\"timestamp\":0.0000016145712671e+15}\n"
	    "{" TEXT1 ",\"timestamp\":0e999999999999}\n"
	    "{" TEXT1 ",\"timestamp\":1e-999999999999}\n"
	    "{" TEXT1 ",\"timestamp\":-1e-999999999999}\n"
	    "{" TEXT1 ",\"timestamp\":1614571267.45E0}\n"
	    "{" TEXT1 ",\"timestamp\":-99999999999999999999999999}\n",
	    "E c1|INGEST|t1|2021-03-01T04:01:07.123456Z\n"
	    "E c1|INGEST|t1|2021-03-01T04:01:07.123456Z\n"
	    "E c1|INGEST|t1|9999-12-31T23:59:59.999999Z\n"
	    "R4 timestamp 253402300800: seconds are outside years 0001-9999 | {" TEXT1
	    ",\"timestamp\":253402300800}\n"
	    "E c1|INGEST|t1|0001-01-01T00:00:00Z\n"
	    "R6 timestamp -62135596800.000001: seconds are outside years 0001-9999 | {" TEXT1
	    ",\"timestamp\":-62135596800.000001}\n"
	    "E c1|INGEST|t1|1969-12-31T23:59:59.999999Z\n"
	    "E c1|INGEST|t1|2021-03-01T04:01:07.123456Z\n"
	    "E c1|INGEST|t1|2021-03-01T04:01:07.1Z\n"
	    "E c1|INGEST|t1|1970-01-01T00:00:00Z\n"
	    "E c1|INGEST|t1|1970-01-01T00:00:00Z\n"
	    "E c1|INGEST|t1|1969-12-31T23:59:59.999999Z\n"
	    "E c1|INGEST|t1|2021-03-01T04:01:07.45Z\n"
	    "R14 timestamp -9999999999999999999...: seconds are outside years 0001-9999 | {" TEXT1
	    ",\"timestamp\":-99999999999999999999999999}\n"
	    "END");
}

static void test_field_problems(void **state)
{
	(void)state;
	EXPECT(
	    "{\"event_type\":\"INGEST\",\"transaction_id\":\"t1\",\"timestamp\":\"2021-03-01\"}\n"
	    "{\"customer_id\":null,\"event_type\":\"INGEST\",\"transaction_id\":\"t1\","
	    "\"timestamp\":\"2021-03-01\"}\n"
	    "{\"customer_id\":\"c1\",\"transaction_id\":\"t1\",\"timestamp\":\"2021-03-01\"}\n"
	    "{" TEXT1 "}\n"
	    "{" TEXT1 ",\"timestamp\":null}\n"
	    "{\"customer_id\":true,\"event_type\":\"INGEST\",\"transaction_id\":\"t1\","
	    "\"timestamp\":\"2021-03-01\"}\n"
	    "{\"customer_id\":\"c1\",\"event_type\":7,\"transaction_id\":\"t1\","
	    "\"timestamp\":\"2021-03-01\"}\n"
	    "{\"customer_id\":\"c1\",\"event_type\":\"INGEST\",\"transaction_id\":[\"t1\"],"
	    "\"timestamp\":\"2021-03-01\"}\n"
	    "{\"customer_id\":{},\"event_type\":\"INGEST\",\"transaction_id\":\"t1\","
	    "\"timestamp\":\"2021-03-01\"}\n",
	    "R1 customer_id is missing | {\"event_type\":\"INGEST\",\"transaction_id\":\"t1\","
	    "\"timestamp\":\"2021-03-01\"}\n"
	    "R2 customer_id is missing | {\"customer_id\":null,\"event_type\":\"INGEST\","
	    "\"transaction_id\":\"t1\",\"timestamp\":\"2021-03-01\"}\n"
	    "R3 event_type is missing | {\"customer_id\":\"c1\",\"transaction_id\":\"t1\","
	    "\"timestamp\":\"2021-03-01\"}\n"
	    "R4 timestamp is missing | {" TEXT1 "}\n"
	    "R5 timestamp is missing | {" TEXT1 ",\"timestamp\":null}\n"
	    "R6 customer_id must be a string | {\"customer_id\":true,\"event_type\":\"INGEST\","
	    "\"transaction_id\":\"t1\",\"timestamp\":\"2021-03-01\"}\n"
	    "E c1|7|t1|2021-03-01T00:00:00Z\n"
	    "R8 transaction_id must be a string | {\"customer_id\":\"c1\",\"event_type\":"
	    "\"INGEST\",\"transaction_id\":[\"t1\"],\"timestamp\":\"2021-03-01\"}\n"
	    "R9 customer_id must be a string | {\"customer_id\":{},\"event_type\":\"INGEST\","
	    "\"transaction_id\":\"t1\",\"timestamp\":\"2021-03-01\"}\n"
	    "END");
}

#define IDS(c, e, t) "{\"customer_id\":" c ",\"event_type\":" e ",\"transaction_id\":" t ","
#define AT "\"timestamp\":\"2021-03-01\"}"

/* Ids given as numbers are their digits as written, however many (a double would
 * round those above 2^53); a fraction or an exponent is rejected. */
static void test_numeric_ids(void **state)
{
	(void)state;
	EXPECT(IDS("42", "\"INGEST\"", "-7") AT "\n" IDS("\"c1\"", "\"INGEST\"", "9007199254740992")
		   AT "\n" IDS("\"c1\"", "\"INGEST\"", "9007199254740993") AT
	       "\n" IDS("\"c1\"", "\"INGEST\"", "0") AT
	       "\n" IDS("\"c1\"", "\"INGEST\"", "123456789012345678901234567890") AT
	       "\n" IDS("18446744073709551617", "3", "-9223372036854775809") AT
	       "\n" IDS("\"c1\"", "\"INGEST\"", "1e3") AT "\n" IDS("1.5", "\"INGEST\"", "\"t1\"") AT
	       "\n" IDS("\"c1\"", "1.0", "\"t1\"") AT "\n" IDS("\"c1\"", "\"INGEST\"", "-2E+2") AT
	       "\n"
	       /* the same names elsewhere in the object do not confuse where the text is */
	       "{\"p\":{\"transaction_id\":1},\"q\":\"\\\",transaction_id\\\":2\",\"customer_id\":"
	       "\"c1\", \"event_type\" : \"INGEST\" ,\"transaction_id\" :\n 9007199254740995 "
	       ",\"x\":[1,{\"a\":2}]," AT "\n",
	       "E 42|INGEST|-7|2021-03-01T00:00:00Z\n"
	       "E c1|INGEST|9007199254740992|2021-03-01T00:00:00Z\n"
	       "E c1|INGEST|9007199254740993|2021-03-01T00:00:00Z\n"
	       "E c1|INGEST|0|2021-03-01T00:00:00Z\n"
	       "E c1|INGEST|123456789012345678901234567890|2021-03-01T00:00:00Z\n"
	       "E 18446744073709551617|3|-9223372036854775809|2021-03-01T00:00:00Z\n"
	       "R7 transaction_id is a number with a fraction or an exponent; send it as a "
	       "string | " IDS("\"c1\"", "\"INGEST\"", "1e3") AT
	       "\n"
	       "R8 customer_id is a number with a fraction or an exponent; send it as a "
	       "string | " IDS("1.5", "\"INGEST\"", "\"t1\"") AT
	       "\n"
	       "R9 event_type is a number with a fraction or an exponent; send it as a "
	       "string | " IDS("\"c1\"", "1.0", "\"t1\"") AT
	       "\n"
	       "R10 transaction_id is a number with a fraction or an exponent; send it as a "
	       "string | " IDS("\"c1\"", "\"INGEST\"", "-2E+2") AT
	       "\n"
	       "E c1|INGEST|9007199254740995|2021-03-01T00:00:00Z\n"
	       "END");
}

/* Control characters, bad UTF-8 and over-long fields are the contract's
 * bad_text_fields and long_fields; here what JSON escapes can say. */
static void test_bad_text_fields(void **state)
{
	(void)state;
	EXPECT(
	    "{\"customer_id\":\"c1\",\"event_type\":\"INGEST\",\"transaction_id\":\"t\\u0000x\","
	    "\"timestamp\":\"2021-03-01\"}\n"
	    "{\"customer_id\":\"c1\",\"event_type\":\"\\u0085\",\"transaction_id\":\"t1\","
	    "\"timestamp\":\"2021-03-01\"}\n"
	    /* "\\u0000" is an escaped backslash and text, not a NUL */
	    "{\"customer_id\":\"c1\",\"event_type\":\"INGEST\",\"transaction_id\":\"t\\\\u0000\","
	    "\"timestamp\":\"2021-03-01\"}\n",
	    "R1 a string holds \\u0000 (NUL) | {\"customer_id\":\"c1\",\"event_type\":\"INGEST\","
	    "\"transaction_id\":\"t\\u0000x\",\"timestamp\":\"2021-03-01\"}\n"
	    "R2 event_type contains a control character | {\"customer_id\":\"c1\","
	    "\"event_type\":\"\\u0085\",\"transaction_id\":\"t1\",\"timestamp\":\"2021-03-01\"}\n"
	    "E c1|INGEST|t\\u0000|2021-03-01T00:00:00Z\n"
	    "END");
}

static void test_non_objects(void **state)
{
	(void)state;
	/* elements of an array that are not objects */
	EXPECT("[1, \"x,]}\", true, null, [" OBJ1 "], -2.5e3,\n" OBJ1 ", {]\n",
	       "R1 expected an object, found a number | 1\n"
	       "R1 expected an object, found a string | \"x,]}\"\n"
	       "R1 expected an object, found a boolean | true\n"
	       "R1 expected an object, found null | null\n"
	       "R1 expected an object, found an array | [" OBJ1 "]\n"
	       "R1 expected an object, found a number | -2.5e3\n" EV1
	       "R2 invalid JSON: missing '}' | {\nEND");
	/* a bare word in an array */
	EXPECT("[nope, " OBJ1 "]", "R1 invalid JSON near 'nope' | nope\n" EV1 "END");
	/* top-level values that are not objects: the rest of the line is one row */
	EXPECT("42\n\"a string\"\r\nhello world\n" OBJ1 "\n} {\n" OBJ2 "\n",
	       "R1 expected an object, found a number | 42\n"
	       "R2 expected an object, found a string | \"a string\"\n"
	       "R3 invalid JSON near 'hello world' | hello world\n" EV1
	       "R5 invalid JSON near '} {' | } {\n" EV2 "END");
}

/* Invalid JSON in NDJSON: rejected with the line it starts on, reading goes on at the next line. */
static void test_invalid_json_ndjson(void **state)
{
	(void)state;
	EXPECT(OBJ1 "\n"
		    "{\"customer_id\":\"c1\",, \"x\":1}\n"
		    "{\"customer_id\":\"c1\", \"x\":1\n"
		    "\n"
		    "{\"customer_id\":\"c1\", \"x\":\"open\n"
		    "{\"customer_id\":\"c1\", \"x\":[1,2}\n"
		    "{\"customer_id\":\"c1\", \"x\":tru}\n"
		    "{\"customer_id\":\"c1\", \"x\":1]}\r\n" OBJ2 "\n",
	       EV1 "R2 invalid JSON near '\"x\":1}' | {\"customer_id\":\"c1\",, \"x\":1}\n"
		   "R3 invalid JSON: unexpected '{' on line 5 | {\"customer_id\":\"c1\", \"x\":1\n"
		   "R5 invalid JSON: unterminated string | {\"customer_id\":\"c1\", \"x\":\"open\n"
		   "R6 invalid JSON near '}' | {\"customer_id\":\"c1\", \"x\":[1,2}\n"
		   "R7 invalid JSON near 'tru}' | {\"customer_id\":\"c1\", \"x\":tru}\n"
		   "R8 invalid JSON near ']}' | {\"customer_id\":\"c1\", \"x\":1]}\n" EV2 "END");
	/* an unterminated string at the very end, with CRLF */
	EXPECT(OBJ1 "\r\n{\"customer_id\":\"c1\r\n" OBJ2 "\r\n",
	       EV1 "R2 invalid JSON: unterminated string | {\"customer_id\":\"c1\n" EV2 "END");
}

/* Invalid JSON in an array: reading goes on at the next element. */
static void test_invalid_json_array(void **state)
{
	(void)state;
	EXPECT("[\n" OBJ1 ",\n"
	       "{\"customer_id\":\"c1\",, \"x\":1},\n"
	       "{\"customer_id\":\"c1\",\n"
	       "  \"x\":1\n"
	       ",\n" OBJ2 ",\n"
	       "{\"customer_id\":\"c1\", \"x\":[1,2},\n"
	       "{\"a\":\"unterminated\n"
	       "}," OBJ1 ",\n"
	       "{\"customer_id\":\"c1\"\n"
	       "]\n" OBJ2 "\n",
	       EV1 "R3 invalid JSON near '\"x\":1}' | {\"customer_id\":\"c1\",, \"x\":1}\n"
		   "R4 invalid JSON: unexpected '{' on line 7 | {\"customer_id\":\"c1\",\\n"
		   "  \"x\":1\\n,\n" EV2 "R8 invalid JSON near '}' | {\"customer_id\":\"c1\", "
		   "\"x\":[1,2}\n"
		   "R9 invalid JSON: unterminated string | {\"a\":\"unterminated\n"
		   "R10 invalid JSON near '}' | }\n" EV1
		   "R11 invalid JSON: missing '}' on line 12 | {\"customer_id\":\"c1\"\n" EV2
		   "END");
}

static void test_truncated_input(void **state)
{
	(void)state;
	/* inside an object */
	EXPECT(OBJ1 "\n" OBJ2 "\n{\"customer_id\":\"c1\",\n \"event_type\":",
	       EV1 EV2 "R3 truncated JSON at end of input | {\"customer_id\":\"c1\",\\n "
		       "\"event_type\":\nEND");
	/* inside a string, inside an array */
	EXPECT("[" OBJ1 ",\n{\"customer_id\":\"c",
	       EV1 "R2 truncated JSON at end of input | {\"customer_id\":\"c\nEND");
	/* between the elements of an array that never closes */
	EXPECT("\n[" OBJ1 ",\n" OBJ2 ",\n",
	       EV1 EV2 "R2 truncated JSON at end of input: the array is not closed | [\nEND");
	EXPECT("[", "R1 truncated JSON at end of input: the array is not closed | [\nEND");
	/* a missing '}' that nothing reveals before the end of input */
	EXPECT(OBJ1 "\n{\"x\":{\"y\":1}\n",
	       EV1 "R2 truncated JSON at end of input | {\"x\":{\"y\":1}\nEND");
}

/* Objects around the 1 MiB limit, and objects straddling the collector's read buffer. */
static void test_huge_objects(void **state)
{
	const size_t max = 1024 * 1024;
	strbuf in = {0};
	char *t, *p;
	size_t pad;

	(void)state;
	/* exactly 1 MiB: read (and its 1 MiB customer_id rejected) */
	sb_add(&in, S(OBJ1 "\n{\"customer_id\":\""));
	pad = max - (sizeof("{\"customer_id\":\"\",\"event_type\":\"INGEST\",\"transaction_id\":"
			    "\"t1\",\"timestamp\":\"2021-03-01\"}") -
		     1);
	sb_fill(&in, 'a', pad);
	sb_add(&in, S("\",\"event_type\":\"INGEST\",\"transaction_id\":\"t1\",\"timestamp\":"
		      "\"2021-03-01\"}\n"));
	/* over 1 MiB, with braces and escaped quotes in the part not kept */
	sb_add(&in, S("{\"properties\":{\"blob\":\""));
	for (pad = 0; pad < max / 8; pad++)
		sb_add(&in, S("}]\\\"{[\\\\"));
	sb_add(&in, S("\"}," TEXT1 ",\"timestamp\":\"2021-03-01T04:00:00Z\"}\n" OBJ2 "\n"));
	t = transcript(in.p, in.len);
	assert_prefix(t, EV1 "R2 customer_id is longer than 128 bytes | {\"customer_id\":\"aaaa");
	p = strstr(t, "\nR3 object is longer than 1048576 bytes | {\"properties\":{\"blob\":\"}]");
	assert_non_null(p);
	assert_non_null(strstr(p, "\n" EV2 "END"));
	/* the reject keeps the first 1 MiB of the raw text */
	assert_int_equal(strlen(t), sizeof(EV1) - 1 +
					strlen("R2 customer_id is longer than 128 bytes | ") + max +
					1 + strlen("R3 object is longer than 1048576 bytes | ") +
					max + 1 + sizeof(EV2) - 1 + 3);
	free(t);

	/* the same inside an array: the next element is still read */
	in.len = 0;
	sb_add(&in, S("[\n{\"properties\":\""));
	sb_fill(&in, 'b', 3 * max);
	sb_add(&in, S("\"},\n" OBJ1 "]"));
	t = transcript(in.p, in.len);
	assert_prefix(t, "R2 object is longer than 1048576 bytes | {\"properties\":\"bbb");
	assert_non_null(strstr(t, "bbb\n" EV1 "END"));
	free(t);

	/* a huge string that is not an object */
	in.len = 0;
	sb_add(&in, S("[\""));
	sb_fill(&in, 'c', 2 * max);
	sb_add(&in, S("\", " OBJ1 "]"));
	t = transcript(in.p, in.len);
	assert_prefix(t, "R1 expected an object, found a string | \"ccc");
	assert_non_null(strstr(t, "ccc\n" EV1 "END"));
	free(t);
	free(in.p);
}

/*
 * Every way an object can be cut by the end of the read buffer (256 KiB): in
 * a string, right after a backslash, between two backslashes, on a brace.
 */
static void test_read_buffer_boundaries(void **state)
{
	const size_t bufsz = 256 * 1024;
	static const char obj[] = "{\"p\":\"\\\\\\\"}{\\\\\",\"q\":[{}]," TEXT1
				  ",\"timestamp\":\"2021-03-01T04:00:00Z\"}";
	strbuf in = {0}, want = {0};
	size_t shift;

	(void)state;
	for (shift = 0; shift < sizeof(obj) + 2; shift++) {
		char *t;

		in.len = 0;
		sb_fill(&in, '\n', bufsz - shift);
		sb_add(&in, obj, sizeof(obj) - 1);
		sb_add(&in, S("\n{\"customer_id\":\"c1\", \"x\":\"open\n" OBJ2));
		t = transcript(in.p, in.len);
		/* exact line numbers across the boundary too */
		want.len = 0;
		sb_printf(&want, "%s%zu%s", EV1 "R", bufsz - shift + 2,
			  " invalid JSON: unterminated string | {\"customer_id\":\"c1\", "
			  "\"x\":\"open\n" EV2 "END");
		assert_string_equal(t, want.p);
		free(t);
	}
	free(in.p);
	free(want.p);
}

static void test_deep_nesting(void **state)
{
	const size_t deep = 100000;
	strbuf in = {0};
	size_t i;
	char *t;

	(void)state;
	/* 100000 '[' and nothing else: one truncated row, no crash */
	sb_fill(&in, '[', deep);
	t = transcript(in.p, in.len);
	assert_prefix(t, "R1 truncated JSON at end of input | [[[[");
	assert_true(strlen(t) > deep - 1 && strlen(t) < deep + 100);
	free(t);

	/* balanced, inside an object: beyond cJSON's nesting limit */
	in.len = 0;
	sb_add(&in, S("{\"a\":"));
	sb_fill(&in, '[', deep);
	sb_fill(&in, ']', deep);
	sb_add(&in, S("}\n" OBJ1 "\n"));
	t = transcript(in.p, in.len);
	assert_prefix(t, "R1 invalid JSON: nested deeper than 1000 levels | {\"a\":[[[");
	assert_non_null(strstr(t, "]]]}\n" EV1 "END"));
	free(t);

	/* balanced, as an array element */
	in.len = 0;
	sb_add(&in, S("["));
	sb_fill(&in, '[', deep);
	sb_fill(&in, ']', deep);
	sb_add(&in, S("," OBJ1 "]"));
	t = transcript(in.p, in.len);
	assert_prefix(t, "R1 expected an object, found an array | [[[");
	assert_non_null(strstr(t, "]]]\n" EV1 "END"));
	free(t);

	/* deep objects, then many closers that match nothing: each is settled at
	 * once (no walk down the stack), and the object still ends */
	in.len = 0;
	for (i = 0; i < 2000; i++)
		sb_add(&in, S("{\"a\":"));
	sb_fill(&in, ']', 4 * deep);
	sb_add(&in, S("1"));
	sb_fill(&in, '}', 2000);
	sb_add(&in, S("\n" OBJ1));
	t = transcript(in.p, in.len);
	assert_prefix(t, "R1 invalid JSON: nested deeper than 1000 levels | {\"a\":{");
	assert_non_null(strstr(t, "}}}\n" EV1 "END"));
	free(t);

	/* exactly at cJSON's limit: 1000 levels in all is fine, 1001 is not */
	for (i = 0; i < 2; i++) {
		in.len = 0;
		sb_add(&in, S("{" TEXT1 ",\"timestamp\":\"2021-03-01T04:00:00Z\",\"a\":"));
		sb_fill(&in, '[', 999 + i);
		sb_fill(&in, ']', 999 + i);
		sb_add(&in, S("}"));
		t = transcript(in.p, in.len);
		if (i == 0)
			assert_string_equal(t, EV1 "END");
		else
			assert_prefix(t, "R1 invalid JSON: nested deeper than 1000 levels | ");
		free(t);
	}
	free(in.p);
}

/* ---- files ---------------------------------------------------------- */

static void test_gzip_file(void **state)
{
	char path[600];
	strbuf in = {0};
	char *t;
	unsigned i;

	(void)state;
	/* a pretty-printed array bigger than both the zlib and the collector buffers */
	sb_add(&in, S("\xEF\xBB\xBF[\n"));
	for (i = 0; i < 30000; i++)
		sb_printf(&in,
			  "  {\n    \"customerId\": \"c%u\",\n    \"eventType\": \"INGEST\",\n"
			  "    \"transactionId\": %u,\n    \"timestamp\": 1614571267.45\n  },\n",
			  i, i);
	sb_add(&in, S("  {\"bad\": true}\n]\n"));
	snprintf(path, sizeof(path), "%s/events.json.gz", test_tmpdir);
	test_write_gzip(path, in.p, in.len);
	free(in.p);
	t = collector_transcript_file(json, path);
	assert_prefix(t, "E c0|INGEST|0|2021-03-01T04:01:07.45Z\n");
	assert_non_null(strstr(t, "E c29999|INGEST|29999|2021-03-01T04:01:07.45Z\n"
				  "R180002 customer_id is missing | {\"bad\": true}\nEND"));
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_shapes),
	    cmocka_unit_test(test_pretty_printed),
	    cmocka_unit_test(test_ndjson_blank_lines_crlf_bom),
	    cmocka_unit_test(test_key_spellings),
	    cmocka_unit_test(test_extra_keys_and_nested_values),
	    cmocka_unit_test(test_numeric_timestamps),
	    cmocka_unit_test(test_numeric_timestamps_exact),
	    cmocka_unit_test(test_field_problems),
	    cmocka_unit_test(test_numeric_ids),
	    cmocka_unit_test(test_bad_text_fields),
	    cmocka_unit_test(test_non_objects),
	    cmocka_unit_test(test_invalid_json_ndjson),
	    cmocka_unit_test(test_invalid_json_array),
	    cmocka_unit_test(test_truncated_input),
	    cmocka_unit_test(test_huge_objects),
	    cmocka_unit_test(test_read_buffer_boundaries),
	    cmocka_unit_test(test_deep_nesting),
	    cmocka_unit_test(test_gzip_file),
	};

	if (!(json = collector_factory_find("json")))
		return 1;
	return cmocka_run_group_tests(tests, test_tmpdir_make, test_tmpdir_remove);
}
