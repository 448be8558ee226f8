/* Event fields: length, UTF-8 and control-character rules, and the copy into
 * scli_event. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scli/error.h"
#include "scli/event.h"

#define S(lit) lit, sizeof(lit) - 1

static const struct {
	const char *s;
	size_t len;
} good_fields[] = {
    {S("a")},
    {S("cust_0001")},
    {S("0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0")},
    {S("2021-03-01 04:01:07.45+00")},	  /* transaction ids may hold dates with spaces */
    {S("with space, comma; \"quotes\"")}, /* CSV metacharacters are data */
    {S("~")},				  /* 0x7E, just below DEL */
    {S(" ")},
    {S("\xC2\xA0")},		     /* U+00A0, first code point after C1 */
    {S("caf\xC3\xA9")},		     /* U+00E9 */
    {S("\xDF\xBF")},		     /* U+07FF */
    {S("\xE0\xA0\x80")},	     /* U+0800 */
    {S("\xE2\x82\xAC")},	     /* U+20AC */
    {S("\xED\x9F\xBF")},	     /* U+D7FF, just below the surrogates */
    {S("\xEE\x80\x80")},	     /* U+E000, just above them */
    {S("\xEF\xBF\xBD")},	     /* U+FFFD */
    {S("\xEF\xBB\xBFx")},	     /* a BOM is a code point like any other */
    {S("\xF0\x90\x80\x80")},	     /* U+10000 */
    {S("\xF0\x9F\x98\x80")},	     /* U+1F600 */
    {S("\xF4\x8F\xBF\xBF")},	     /* U+10FFFF */
    {S("\xE6\x97\xA5\xE6\x9C\xAC")}, /* CJK */
};

static const struct {
	const char *s;
	size_t len;
	const char *why;
} bad_fields[] = {
    {S(""), "is empty"},
    {S("\x00"), "contains a control character"},
    {S("a\x00"
       "b"),
     "contains a control character"},
    {S("\x01"), "contains a control character"},
    {S("tab\there"), "contains a control character"},
    {S("line\n"), "contains a control character"},
    {S("\rx"), "contains a control character"},
    {S("\x1B[31m"), "contains a control character"},
    {S("\x1F"), "contains a control character"},
    {S("\x7F"), "contains a control character"},
    {S("\xC2\x80"), "contains a control character"},  /* U+0080 */
    {S("\xC2\x85"), "contains a control character"},  /* NEL */
    {S("x\xC2\x9F"), "contains a control character"}, /* U+009F */
    {S("\x80"), "is not valid UTF-8"},		      /* stray continuation */
    {S("\xBF"), "is not valid UTF-8"},
    {S("a\xC3"), "is not valid UTF-8"}, /* truncated */
    {S("\xC3x"), "is not valid UTF-8"},
    {S("\xE2\x82"), "is not valid UTF-8"},
    {S("\xF0\x9F\x98"), "is not valid UTF-8"},
    {S("\xC0\x80"), "is not valid UTF-8"}, /* overlong NUL */
    {S("\xC1\xBF"), "is not valid UTF-8"}, /* overlong */
    {S("\xE0\x80\x80"), "is not valid UTF-8"},
    {S("\xE0\x9F\xBF"), "is not valid UTF-8"},
    {S("\xF0\x80\x80\x80"), "is not valid UTF-8"},
    {S("\xF0\x8F\xBF\xBF"), "is not valid UTF-8"},
    {S("\xED\xA0\x80"), "is not valid UTF-8"},	   /* U+D800 */
    {S("\xED\xBF\xBF"), "is not valid UTF-8"},	   /* U+DFFF */
    {S("\xF4\x90\x80\x80"), "is not valid UTF-8"}, /* U+110000 */
    {S("\xF5\x80\x80\x80"), "is not valid UTF-8"},
    {S("\xF8\x88\x80\x80\x80"), "is not valid UTF-8"},
    {S("\xFE"), "is not valid UTF-8"},
    {S("\xFF"), "is not valid UTF-8"},
    {S("\xE2\x28\xA1"), "is not valid UTF-8"}, /* bad second byte */
    {S("\xE2\x82\x28"), "is not valid UTF-8"}, /* bad third byte */
    {S("\xF0\x9F\x98\x28"), "is not valid UTF-8"},
    {S("caf\xE9"), "is not valid UTF-8"}, /* Latin-1 */
};

/* Exact-size heap copies so that ASan catches reads past `len`. */
static char *dup_exact(const char *s, size_t len)
{
	char *p = malloc(len ? len : 1);

	assert_non_null(p);
	memcpy(p, s, len);
	return p;
}

static void test_field_valid(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good_fields) / sizeof(good_fields[0]); i++) {
		char *p = dup_exact(good_fields[i].s, good_fields[i].len);
		const char *why = NULL;

		if (scli_field_validate(p, good_fields[i].len, 128, &why) != 0)
			fail_msg("good field %zu rejected: %s", i, why);
		assert_int_equal(scli_field_validate(p, good_fields[i].len, 128, NULL), 0);
		free(p);
	}
}

static void test_field_invalid(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_fields) / sizeof(bad_fields[0]); i++) {
		char *p = dup_exact(bad_fields[i].s, bad_fields[i].len);
		const char *why = NULL;

		if (scli_field_validate(p, bad_fields[i].len, 128, &why) != SCLI_EINVALID)
			fail_msg("bad field %zu accepted", i);
		assert_non_null(why);
		if (strcmp(why, bad_fields[i].why) != 0)
			fail_msg("bad field %zu: \"%s\", want \"%s\"", i, why, bad_fields[i].why);
		assert_int_equal(scli_field_validate(p, bad_fields[i].len, 128, NULL),
				 SCLI_EINVALID);
		free(p);
	}
}

/* Every code point U+0000..U+10FFFF, encoded here independently. */
static void test_field_every_code_point(void **state)
{
	unsigned cp;

	(void)state;
	for (cp = 0; cp <= 0x10FFFF; cp++) {
		unsigned char b[4];
		size_t n;
		int want, rc;
		const char *why = NULL;

		if (cp < 0x80) {
			b[0] = (unsigned char)cp;
			n = 1;
		} else if (cp < 0x800) {
			b[0] = (unsigned char)(0xC0 | cp >> 6);
			b[1] = (unsigned char)(0x80 | (cp & 0x3F));
			n = 2;
		} else if (cp < 0x10000) {
			b[0] = (unsigned char)(0xE0 | cp >> 12);
			b[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
			b[2] = (unsigned char)(0x80 | (cp & 0x3F));
			n = 3;
		} else {
			b[0] = (unsigned char)(0xF0 | cp >> 18);
			b[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
			b[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
			b[3] = (unsigned char)(0x80 | (cp & 0x3F));
			n = 4;
		}
		if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))
			want = 1; /* control */
		else if (cp >= 0xD800 && cp <= 0xDFFF)
			want = 2; /* surrogate */
		else
			want = 0;
		rc = scli_field_validate((const char *)b, n, 4, &why);
		if (want == 0 && rc != 0)
			fail_msg("U+%04X rejected: %s", cp, why);
		if (want != 0 && rc != SCLI_EINVALID)
			fail_msg("U+%04X accepted", cp);
		if (want == 1)
			assert_string_equal(why, "contains a control character");
		if (want == 2)
			assert_string_equal(why, "is not valid UTF-8");
	}
}

/* Every 2-byte sequence: valid only as a well-formed, non-C1 encoding. */
static void test_field_every_two_bytes(void **state)
{
	unsigned a, b;

	(void)state;
	for (a = 0; a < 256; a++) {
		for (b = 0; b < 256; b++) {
			unsigned char s[2] = {(unsigned char)a, (unsigned char)b};
			int ascii_ok = a >= 0x20 && a != 0x7F && b >= 0x20 && b != 0x7F;
			int ok = (a < 0x80 && b < 0x80 && ascii_ok) ||
				 (a >= 0xC2 && a <= 0xDF && b >= 0x80 && b <= 0xBF &&
				  !(a == 0xC2 && b <= 0x9F));

			if ((scli_field_validate((const char *)s, 2, 2, NULL) == 0) != ok)
				fail_msg("%02X %02X: want %s", a, b, ok ? "valid" : "invalid");
		}
	}
}

static void test_field_length(void **state)
{
	char buf[300];
	const char *why = NULL;

	(void)state;
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(scli_field_validate(buf, 128, 128, &why), 0);
	assert_int_equal(scli_field_validate(buf, 129, 128, &why), SCLI_EINVALID);
	assert_string_equal(why, "is longer than 128 bytes");
	assert_int_equal(scli_field_validate(buf, 256, 256, &why), 0);
	assert_int_equal(scli_field_validate(buf, 257, 256, &why), SCLI_EINVALID);
	assert_string_equal(why, "is longer than 256 bytes");
	why = NULL;
	assert_int_equal(scli_field_validate(buf, 11, 10, &why), SCLI_EINVALID);
	assert_non_null(why);
	assert_true(why[0] != '\0');
	assert_int_equal(scli_field_validate(buf, 10, 10, NULL), 0);
	/* the length is in bytes: 64 two-byte characters fill 128 */
	for (int i = 0; i < 130; i += 2) {
		buf[i] = (char)0xC3;
		buf[i + 1] = (char)0xA9;
	}
	assert_int_equal(scli_field_validate(buf, 128, 128, NULL), 0);
	assert_int_equal(scli_field_validate(buf, 130, 128, &why), SCLI_EINVALID);
	assert_string_equal(why, "is longer than 128 bytes");
	/* a character cut by the limit is invalid UTF-8 */
	assert_int_equal(scli_field_validate(buf, 127, 128, &why), SCLI_EINVALID);
	assert_string_equal(why, "is not valid UTF-8");
}

static void test_event_set_ok(void **state)
{
	scli_event ev;
	char cust[SCLI_CUSTOMER_ID_MAX], type[SCLI_EVENT_TYPE_MAX], txn[SCLI_TRANSACTION_ID_MAX];
	const char *why = NULL;

	(void)state;
	memset(&ev, 0x55, sizeof(ev));
	/* fields need no NUL: the source may be a slice of a larger buffer */
	assert_int_equal(scli_event_set(&ev, "cust_1XX", 6, "api_callYY", 8, "txn-42,rest", 6,
					INT64_C(1614571267450000), &why),
			 0);
	assert_string_equal(ev.customer_id, "cust_1");
	assert_int_equal(ev.customer_id_len, 6);
	assert_string_equal(ev.event_type, "api_call");
	assert_int_equal(ev.event_type_len, 8);
	assert_string_equal(ev.transaction_id, "txn-42");
	assert_int_equal(ev.transaction_id_len, 6);
	assert_int_equal(ev.ts_us, INT64_C(1614571267450000));

	/* maximum lengths fill the inline buffers exactly */
	memset(cust, 'c', sizeof(cust));
	memset(type, 't', sizeof(type));
	memset(txn, 'n', sizeof(txn));
	assert_int_equal(
	    scli_event_set(&ev, cust, sizeof(cust), type, sizeof(type), txn, sizeof(txn), -1, NULL),
	    0);
	assert_int_equal(ev.customer_id_len, SCLI_CUSTOMER_ID_MAX);
	assert_int_equal(ev.event_type_len, SCLI_EVENT_TYPE_MAX);
	assert_int_equal(ev.transaction_id_len, SCLI_TRANSACTION_ID_MAX);
	assert_int_equal(ev.customer_id[SCLI_CUSTOMER_ID_MAX], '\0');
	assert_int_equal(ev.event_type[SCLI_EVENT_TYPE_MAX], '\0');
	assert_int_equal(ev.transaction_id[SCLI_TRANSACTION_ID_MAX], '\0');
	assert_memory_equal(ev.customer_id, cust, sizeof(cust));
	assert_memory_equal(ev.event_type, type, sizeof(type));
	assert_memory_equal(ev.transaction_id, txn, sizeof(txn));
	assert_int_equal(ev.ts_us, -1);

	/* UTF-8 is copied byte for byte */
	assert_int_equal(scli_event_set(&ev, S("caf\xC3\xA9"), S("\xF0\x9F\x98\x80"),
					S("2021-03-01 04:01:07"), 0, NULL),
			 0);
	assert_string_equal(ev.customer_id, "caf\xC3\xA9");
	assert_int_equal(ev.customer_id_len, 5);
	assert_string_equal(ev.event_type, "\xF0\x9F\x98\x80");
	assert_string_equal(ev.transaction_id, "2021-03-01 04:01:07");
}

static void test_event_set_reasons(void **state)
{
	static char long_text[300];
	static const struct {
		const char *cust;
		size_t cust_len;
		const char *type;
		size_t type_len;
		const char *txn;
		size_t txn_len;
		const char *why;
	} cases[] = {
	    {"", 0, S("t"), S("x"), "customer_id is empty"},
	    {long_text, 129, S("t"), S("x"), "customer_id is longer than 128 bytes"},
	    {S("a\tb"), S("t"), S("x"), "customer_id contains a control character"},
	    {S("\xC2\x80"), S("t"), S("x"), "customer_id contains a control character"},
	    {S("\xFF"), S("t"), S("x"), "customer_id is not valid UTF-8"},
	    {S("c"), "", 0, S("x"), "event_type is empty"},
	    {S("c"), long_text, 129, S("x"), "event_type is longer than 128 bytes"},
	    {S("c"), S("\x7F"), S("x"), "event_type contains a control character"},
	    {S("c"), S("\xED\xA0\x80"), S("x"), "event_type is not valid UTF-8"},
	    {S("c"), S("t"), "", 0, "transaction_id is empty"},
	    {S("c"), S("t"), long_text, 257, "transaction_id is longer than 256 bytes"},
	    {S("c"), S("t"), S("x\n"), "transaction_id contains a control character"},
	    {S("c"), S("t"), S("\xC0\xAF"), "transaction_id is not valid UTF-8"},
	    /* the first bad field is the one named */
	    {"", 0, "", 0, "", 0, "customer_id is empty"},
	    {S("c"), S("\x01"), S("\xFF"), "event_type contains a control character"},
	};
	size_t i;

	(void)state;
	memset(long_text, 'x', sizeof(long_text));
	/* 128 bytes is fine for event_type and 256 for transaction_id */
	{
		scli_event ev;

		assert_int_equal(
		    scli_event_set(&ev, long_text, 128, long_text, 128, long_text, 256, 0, NULL),
		    0);
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		scli_event ev;
		const char *why = NULL;

		assert_int_equal(scli_event_set(&ev, cases[i].cust, cases[i].cust_len,
						cases[i].type, cases[i].type_len, cases[i].txn,
						cases[i].txn_len, 0, &why),
				 SCLI_EINVALID);
		assert_non_null(why);
		if (strcmp(why, cases[i].why) != 0)
			fail_msg("case %zu: \"%s\", want \"%s\"", i, why, cases[i].why);
		assert_int_equal(scli_event_set(&ev, cases[i].cust, cases[i].cust_len,
						cases[i].type, cases[i].type_len, cases[i].txn,
						cases[i].txn_len, 0, NULL),
				 SCLI_EINVALID);
	}
}

/* ---- scli_events_order_unique: first copy of each identity, grouped ---- */

static void set_event(scli_event *ev, const char *cust, const char *txn, int64_t ts)
{
	assert_int_equal(scli_event_set(ev, cust, strlen(cust), "t", 1, txn, strlen(txn), ts, NULL),
			 0);
}

/* Positions kept, in the order returned. */
static size_t order_of(uint32_t *order, const scli_event *evs, size_t n)
{
	size_t kept = 99;

	assert_int_equal(scli_events_order_unique(&kept, order, evs, n), 0);
	return kept;
}

static void test_order_unique_first_wins(void **state)
{
	/* Customer ids sharing their first 8 bytes, one a prefix of another, and
	 * transaction ids that differ only after byte 8: none of these may merge. */
	static const char *const rows[][2] = {
	    {"customer-long-A", "txn-0000000001"}, /* 0 */
	    {"customer-long-B", "txn-0000000001"}, /* 1: other customer, same txn */
	    {"customer-long-A", "txn-0000000002"}, /* 2 */
	    {"customer-long-A", "txn-0000000001"}, /* 3: duplicate of 0 */
	    {"customer", "txn-0000000001"},	   /* 4: prefix of the others */
	    {"customer-long-A", "txn-00000000"},   /* 5: prefix of 0's txn */
	    {"customer-long-B", "txn-0000000001"}, /* 6: duplicate of 1 */
	    {"customer-long-A", "txn-0000000001"}, /* 7: duplicate of 0 */
	    {"cust", "x"},			   /* 8 */
	};
	enum { N = sizeof(rows) / sizeof(rows[0]) };
	scli_event evs[N];
	uint32_t order[N];
	bool seen[N] = {false};
	size_t i, kept;

	(void)state;
	for (i = 0; i < N; i++)
		set_event(&evs[i], rows[i][0], rows[i][1], (int64_t)i);
	kept = order_of(order, evs, N);
	assert_int_equal(kept, 6);
	for (i = 0; i < kept; i++) {
		assert_true(order[i] < N);
		assert_false(seen[order[i]]);
		seen[order[i]] = true;
	}
	/* the first copies are kept, the later ones dropped */
	assert_true(seen[0] && seen[1] && seen[2] && seen[4] && seen[5] && seen[8]);
	assert_false(seen[3] || seen[6] || seen[7]);
}

static int byte_order(const scli_event *a, const scli_event *b)
{
	int c = strcmp(a->customer_id, b->customer_id);

	return c ? c : strcmp(a->transaction_id, b->transaction_id);
}

/* Many random identities over a small alphabet (so prefixes collide often):
 * the kept set equals a brute-force first-occurrence scan, copies of one
 * identity never both survive, and customers whose first 8 bytes differ come
 * out in byte order. */
static void test_order_unique_matches_brute_force(void **state)
{
	enum { N = 3000 };
	static scli_event evs[N];
	static uint32_t order[N];
	static bool kept_flag[N];
	size_t i, j, kept, expect = 0;
	unsigned seed = 12345;

	(void)state;
	for (i = 0; i < N; i++) {
		char cust[24], txn[24];

		seed = seed * 1103515245u + 12345u;
		snprintf(cust, sizeof(cust), "%s%u", (seed >> 8) % 3 ? "tenant-0000" : "t",
			 (seed >> 12) % 5);
		seed = seed * 1103515245u + 12345u;
		snprintf(txn, sizeof(txn), "%s%u", (seed >> 8) % 2 ? "txn-000000" : "", (seed >> 12) % 97);
		set_event(&evs[i], cust, txn, (int64_t)i);
	}
	kept = order_of(order, evs, N);
	memset(kept_flag, 0, sizeof(kept_flag));
	for (i = 0; i < kept; i++)
		kept_flag[order[i]] = true;
	for (i = 0; i < N; i++) {
		bool first = true;

		for (j = 0; j < i && first; j++)
			if (byte_order(&evs[j], &evs[i]) == 0)
				first = false;
		expect += first;
		if (kept_flag[i] != first)
			fail_msg("row %zu (%s,%s): kept=%d, first copy=%d", i, evs[i].customer_id,
				 evs[i].transaction_id, kept_flag[i], first);
	}
	assert_int_equal(kept, expect);
	for (i = 1; i < kept; i++) {
		const scli_event *a = &evs[order[i - 1]], *b = &evs[order[i]];

		if (strncmp(a->customer_id, b->customer_id, 8) != 0)
			assert_true(strcmp(a->customer_id, b->customer_id) < 0);
		else if (strcmp(a->customer_id, b->customer_id) == 0)
			assert_true(strcmp(a->transaction_id, b->transaction_id) != 0);
	}
}

static void test_order_unique_empty(void **state)
{
	uint32_t order[1] = {7};
	size_t kept = 5;

	(void)state;
	assert_int_equal(scli_events_order_unique(&kept, order, NULL, 0), 0);
	assert_int_equal(kept, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_field_valid),
	    cmocka_unit_test(test_field_invalid),
	    cmocka_unit_test(test_field_every_code_point),
	    cmocka_unit_test(test_field_every_two_bytes),
	    cmocka_unit_test(test_field_length),
	    cmocka_unit_test(test_event_set_ok),
	    cmocka_unit_test(test_event_set_reasons),
	    cmocka_unit_test(test_order_unique_first_wins),
	    cmocka_unit_test(test_order_unique_matches_brute_force),
	    cmocka_unit_test(test_order_unique_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
