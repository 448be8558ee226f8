/* The exact identity set (include/scli/identity_set.h): texts decide, the hash only finds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "scli/identity_set.h"

static int add(scli_identity_set *s, uint32_t customer, const char *txn)
{
	char c[16];

	snprintf(c, sizeof(c), "c%u", customer);
	return scli_identity_set_add(s, scli_identity_hash(7, c, strlen(c), txn, strlen(txn)),
				     customer, txn, strlen(txn));
}

static void test_new_and_again(void **state)
{
	scli_identity_set *s = NULL;

	(void)state;
	assert_int_equal(scli_identity_set_new(&s), 0);
	assert_int_equal(add(s, 1, "t1"), 1);
	assert_int_equal(add(s, 1, "t1"), 0);
	assert_int_equal(add(s, 2, "t1"), 1); /* another customer: another identity */
	assert_int_equal(add(s, 1, "t10"), 1);
	assert_int_equal(add(s, 1, "t"), 1);
	assert_int_equal(scli_identity_set_size(s), 4);
	scli_identity_set_free(s);
	scli_identity_set_free(NULL);
}

/* A lowercase UUID is kept packed; an uppercase one, or one a character off, is another text. */
static void test_uuids(void **state)
{
	static const char *const ids[] = {
	    "c2f0e6df-78b6-4b0c-9b2b-f50f9e0f367b", "C2F0E6DF-78B6-4B0C-9B2B-F50F9E0F367B",
	    "c2f0e6df-78b6-4b0c-9b2b-f50f9e0f367c", "c2f0e6df_78b6-4b0c-9b2b-f50f9e0f367b",
	    "c2f0e6df-78b6-4b0c-9b2b-f50f9e0f367",  "c2f0e6df-78b6-4b0c-9b2b-f50f9e0f367bb",
	    "g2f0e6df-78b6-4b0c-9b2b-f50f9e0f367b", "c2f0e6df-78b6-4b0c-9b2bf-50f9e0f367b",
	};
	scli_identity_set *s = NULL;
	size_t i;

	(void)state;
	assert_int_equal(scli_identity_set_new(&s), 0);
	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		assert_int_equal(add(s, 0, ids[i]), 1);
	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		assert_int_equal(add(s, 0, ids[i]), 0);
	assert_int_equal(scli_identity_set_size(s), sizeof(ids) / sizeof(ids[0]));
	scli_identity_set_free(s);
}

/* Different identities under one hash are both kept: a collision never merges two events. */
static void test_collisions(void **state)
{
	scli_identity_set *s = NULL;
	char txn[32];
	unsigned i;

	(void)state;
	assert_int_equal(scli_identity_set_new(&s), 0);
	for (i = 0; i < 1500; i++) {
		snprintf(txn, sizeof(txn), "x%u", i);
		assert_int_equal(scli_identity_set_add(s, 42, 0, txn, strlen(txn)), 1);
	}
	for (i = 0; i < 1500; i++) {
		snprintf(txn, sizeof(txn), "x%u", i);
		assert_int_equal(scli_identity_set_add(s, 42, 0, txn, strlen(txn)), 0);
		assert_int_equal(scli_identity_set_add(s, 42, 1, txn, strlen(txn)), 1);
	}
	assert_int_equal(scli_identity_set_size(s), 3000);
	scli_identity_set_free(s);
}

/* Many: the table grows, blocks fill, everything is still found; growth() is an upper bound. */
static void test_growth(void **state)
{
	scli_identity_set *s = NULL;
	char txn[64];
	unsigned i;

	(void)state;
	assert_int_equal(scli_identity_set_new(&s), 0);
	for (i = 0; i < 300000; i++) {
		size_t before = scli_identity_set_bytes(s), grow, after;

		if (i % 2)
			snprintf(txn, sizeof(txn), "%08x-0000-4000-8000-%012x", i * 2654435761u, i);
		else
			snprintf(txn, sizeof(txn), "transaction-%u", i);
		grow = scli_identity_set_growth(s, strlen(txn));
		assert_int_equal(add(s, i % 3, txn), 1);
		after = scli_identity_set_bytes(s);
		assert_true(after - before <= grow);
		assert_true(grow == 0 || after > before || (i % 2));
	}
	for (i = 0; i < 300000; i += 7) {
		if (i % 2)
			snprintf(txn, sizeof(txn), "%08x-0000-4000-8000-%012x", i * 2654435761u, i);
		else
			snprintf(txn, sizeof(txn), "transaction-%u", i);
		assert_int_equal(add(s, i % 3, txn), 0);
	}
	assert_int_equal(scli_identity_set_size(s), 300000);
	scli_identity_set_free(s);
}

static void test_reserve(void **state)
{
	scli_identity_set *s = NULL;
	size_t grow, table;
	char txn[32];
	unsigned i;

	(void)state;
	assert_int_equal(scli_identity_set_new(&s), 0);
	assert_int_equal(add(s, 0, "before"), 1);
	grow = scli_identity_set_reserve_growth(s, 100000);
	assert_true(grow >= 100000 * 8);
	table = scli_identity_set_bytes(s);
	assert_int_equal(scli_identity_set_reserve(s, 100000), 0);
	assert_true(scli_identity_set_bytes(s) - table <= grow);
	assert_int_equal(scli_identity_set_reserve_growth(s, 100000), 0);
	assert_int_equal(add(s, 0, "before"), 0);
	for (i = 0; i < 100000; i++) {
		snprintf(txn, sizeof(txn), "r%u", i);
		assert_int_equal(add(s, 0, txn), 1);
		/* within the reservation the table never grows */
		assert_int_equal(scli_identity_set_reserve_growth(s, scli_identity_set_size(s) + 1),
				 0);
	}
	scli_identity_set_free(s);
}

/* Sets in a pool: the same answers; growth() is the pool's, an upper bound on what it takes. */
static void test_pooled(void **state)
{
	scli_identity_pool *pool = NULL;
	scli_identity_set *sets[8] = {NULL};
	char txn[64];
	unsigned i;

	(void)state;
	assert_int_equal(scli_identity_pool_new(&pool), 0);
	for (i = 0; i < 8; i++)
		assert_int_equal(scli_identity_set_new_pooled(&sets[i], pool), 0);
	for (i = 0; i < 200000; i++) {
		scli_identity_set *s = sets[i % 8];
		size_t before = scli_identity_pool_bytes(pool), grow;

		if (i % 2)
			snprintf(txn, sizeof(txn), "%08x-0000-4000-8000-%012x", i * 2654435761u, i);
		else
			snprintf(txn, sizeof(txn), "transaction-%u", i);
		grow = scli_identity_set_growth(s, strlen(txn));
		assert_int_equal(add(s, i % 3, txn), 1);
		assert_true(scli_identity_pool_bytes(pool) - before <= grow);
		if (i == 1000) { /* a reservation: the pool grows by at most what it said */
			before = scli_identity_pool_bytes(pool);
			grow = scli_identity_set_reserve_growth(s, 50000);
			assert_int_equal(scli_identity_set_reserve(s, 50000), 0);
			assert_true(scli_identity_pool_bytes(pool) - before <= grow);
		}
	}
	for (i = 0; i < 200000; i += 5) {
		if (i % 2)
			snprintf(txn, sizeof(txn), "%08x-0000-4000-8000-%012x", i * 2654435761u, i);
		else
			snprintf(txn, sizeof(txn), "transaction-%u", i);
		assert_int_equal(add(sets[i % 8], i % 3, txn), 0);
		assert_int_equal(add(sets[(i + 1) % 8], i % 3, txn),
				 1); /* another set: not there */
	}
	assert_int_equal(add(sets[0], 0, "x"), 1);
	assert_int_equal(scli_identity_set_add(sets[0], 1, 0, "y", 1), 1);
	{ /* a text longer than a pooled set's blocks */
		static char big[32767];

		memset(big, 'b', sizeof(big));
		assert_int_equal(scli_identity_set_add(sets[1], 9, 0, big, sizeof(big)), 1);
		assert_int_equal(scli_identity_set_add(sets[1], 9, 0, big, sizeof(big)), 0);
	}
	for (i = 0; i < 8; i++)
		scli_identity_set_free(sets[i]);
	scli_identity_pool_free(pool);
	scli_identity_pool_free(NULL);
}

static void test_limits_and_hash(void **state)
{
	scli_identity_set *s = NULL;
	static char big[40000];

	(void)state;
	assert_int_equal(scli_identity_set_new(&s), 0);
	memset(big, 'a', sizeof(big));
	assert_int_equal(scli_identity_set_add(s, 1, 0, big, 32767), 1);
	assert_int_equal(scli_identity_set_add(s, 1, 0, big, 32768), -2 /* SCLI_EINVALID */);
	scli_identity_set_free(s);
	/* where one text ends and the next begins is part of the hash */
	assert_true(scli_identity_hash(0, "ab", 2, "c", 1) !=
		    scli_identity_hash(0, "a", 1, "bc", 2));
	assert_true(scli_identity_hash(1, "a", 1, "b", 1) != scli_identity_hash(2, "a", 1, "b", 1));
	assert_int_equal(scli_identity_hash(3, "a", 1, "b", 1),
			 scli_identity_hash(3, "a", 1, "b", 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_new_and_again),   cmocka_unit_test(test_uuids),
	    cmocka_unit_test(test_collisions),	    cmocka_unit_test(test_growth),
	    cmocka_unit_test(test_reserve),	    cmocka_unit_test(test_pooled),
	    cmocka_unit_test(test_limits_and_hash),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
