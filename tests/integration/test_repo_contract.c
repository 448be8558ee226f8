/*
 * The repository contract: one suite, run against every adapter (as SQLite's
 * permutations.test re-runs its tests per VFS), each opened through the
 * registry (tests/support/repo_factories.c). An adapter that passes here can be
 * put behind the service without the service noticing which it got.
 * Adapter-specific behaviour (files, schema versions written by someone else,
 * locking) has its own suites: test_repo_sqlite.c, test_repo_postgres.c.
 */
#include "adapters/repo_keys.h"
#include "support/repo_factories.h"
#include "support/repo_helpers.h"

/* ---- the contract ------------------------------------------------------- */

static void check_schema_needs_init(void **state)
{
	fixture *fx = *state;
	int version = -1;

	scli_error_clear();
	assert_int_equal(scli_repo_check_schema(fx->repo), SCLI_ESCHEMA);
	assert_error_contains("run `scli init-db` first");
	assert_int_equal(scli_repo_schema_version(&version, fx->repo), 0);
	assert_int_equal(version, 0);

	assert_int_equal(scli_repo_init_schema(fx->repo), 0);
	assert_int_equal(scli_repo_check_schema(fx->repo), 0);
	assert_int_equal(scli_repo_schema_version(&version, fx->repo), 0);
	assert_int_equal(version, SCLI_SCHEMA_VERSION);
}

static void store_before_init_fails(void **state)
{
	fixture *fx = *state;
	size_t inserted = 9, duplicates = 9;
	scli_event ev;

	event_fill(&ev, "c1", "t1", AT(4, 0));
	assert_true(scli_repo_store_batch(&inserted, &duplicates, fx->repo, &ev, 1) < 0);
	assert_int_equal(inserted, 0);
	assert_int_equal(duplicates, 0);
	/* and the failed attempt does not get in the way of init-db */
	assert_int_equal(scli_repo_init_schema(fx->repo), 0);
	store(fx->repo, 1, 0, &ev, 1);
}

static void init_schema_is_idempotent(void **state)
{
	fixture *fx = *state;
	tally *t;

	assert_int_equal(scli_repo_init_schema(fx->repo), 0);
	store1(fx->repo, "c1", "t1", AT(4, 10));
	assert_int_equal(scli_repo_init_schema(fx->repo), 0);
	assert_int_equal(scli_repo_check_schema(fx->repo), 0);
	t = count(fx->repo, "c1", AT(0, 0), AT(24, 0));
	assert_int_equal(t->n, 1);
	assert_int_equal(at(t, "c1", AT(4, 0)), 1);
	free(t);
}

static void empty_batch_and_empty_range(void **state)
{
	fixture *fx = *state;
	tally *t;

	store(fx->repo, 0, 0, NULL, 0);
	store1(fx->repo, "c1", "t1", AT(4, 10));
	t = count(fx->repo, NULL, AT(4, 10), AT(4, 10));
	assert_int_equal(t->n, 0);
	free(t);
	t = count(fx->repo, NULL, AT(5, 0), AT(9, 0));
	assert_int_equal(t->n, 0);
	free(t);
}

static void store_and_count_exact(void **state)
{
	fixture *fx = *state;
	scli_event evs[7];
	tally *t;

	event_fill(&evs[0], "c1", "a", AT(4, 0));
	event_fill(&evs[1], "c1", "b", AT(4, 59) + 59 * SCLI_US_PER_SECOND + 999999);
	event_fill(&evs[2], "c1", "c", AT(5, 0));
	event_fill(&evs[3], "c1", "d", AT(5, 30));
	event_fill(&evs[4], "c1", "e", AT(5, 31));
	event_fill(&evs[5], "c1", "f", AT(7, 1));
	event_fill(&evs[6], "c2", "a", AT(5, 5));
	store(fx->repo, 7, 0, evs, 7);

	t = count(fx->repo, "c1", AT(0, 0), AT(24, 0));
	assert_int_equal(t->n, 3);
	assert_int_equal(at(t, "c1", AT(4, 0)), 2);
	assert_int_equal(at(t, "c1", AT(5, 0)), 3);
	assert_int_equal(at(t, "c1", AT(7, 0)), 1);
	free(t);
}

static void duplicates_across_batches(void **state)
{
	fixture *fx = *state;
	scli_event evs[3];
	tally *t;

	event_fill(&evs[0], "c1", "a", AT(4, 10));
	event_fill(&evs[1], "c1", "b", AT(4, 20));
	event_fill(&evs[2], "c1", "c", AT(5, 10));
	store(fx->repo, 3, 0, evs, 3);
	/* the same file again changes nothing */
	store(fx->repo, 0, 3, evs, 3);
	/* a re-sent event with another timestamp: the first stored wins */
	event_fill(&evs[0], "c1", "a", AT(9, 0));
	event_fill(&evs[1], "c1", "new", AT(9, 0));
	store(fx->repo, 1, 1, evs, 2);

	t = count(fx->repo, "c1", AT(0, 0), AT(24, 0));
	assert_int_equal(at(t, "c1", AT(4, 0)), 2);
	assert_int_equal(at(t, "c1", AT(5, 0)), 1);
	assert_int_equal(at(t, "c1", AT(9, 0)), 1);
	assert_int_equal(total(t), 4);
	free(t);
}

static void duplicates_within_batch_first_wins(void **state)
{
	fixture *fx = *state;
	scli_event evs[5];
	tally *t;

	event_fill(&evs[0], "c1", "a", AT(4, 10));
	event_fill(&evs[1], "c1", "a", AT(6, 10)); /* same identity, another hour */
	event_fill(&evs[2], "c1", "b", AT(4, 11));
	event_fill(&evs[3], "c1", "a", AT(4, 12));
	event_fill(&evs[4], "c1", "b", AT(7, 0));
	store(fx->repo, 2, 3, evs, 5);

	t = count(fx->repo, "c1", AT(0, 0), AT(24, 0));
	assert_int_equal(t->n, 1);
	assert_int_equal(at(t, "c1", AT(4, 0)), 2);
	assert_int_equal(at(t, "c1", AT(6, 0)), 0);
	free(t);
	/* the edge path (raw events) must agree with the rollup path */
	t = count(fx->repo, "c1", AT(4, 5), AT(6, 30));
	assert_int_equal(t->n, 1);
	assert_int_equal(at(t, "c1", AT(4, 0)), 2);
	free(t);
}

static void identity_is_customer_and_transaction(void **state)
{
	fixture *fx = *state;
	scli_event evs[4];
	tally *t;

	/* same transaction id under other customers, and ids that only concatenate alike */
	event_fill(&evs[0], "c1", "t1", AT(4, 0));
	event_fill(&evs[1], "c2", "t1", AT(4, 0));
	event_fill(&evs[2], "ab", "c", AT(4, 0));
	event_fill(&evs[3], "a", "bc", AT(4, 0));
	store(fx->repo, 4, 0, evs, 4);
	t = count(fx->repo, NULL, AT(0, 0), AT(24, 0));
	assert_int_equal(t->n, 4);
	assert_int_equal(total(t), 4);
	free(t);
}

static void one_customer_vs_all(void **state)
{
	fixture *fx = *state;
	scli_event evs[6];
	tally *t;

	event_fill(&evs[0], "alice", "1", AT(4, 10));
	event_fill(&evs[1], "alice", "2", AT(5, 10));
	event_fill(&evs[2], "bob", "1", AT(4, 20));
	event_fill(&evs[3], "bob", "2", AT(4, 30));
	event_fill(&evs[4], "carol", "1", AT(9, 0));   /* outside the range */
	event_fill(&evs[5], "alicex", "1", AT(4, 10)); /* prefix of nobody */
	store(fx->repo, 6, 0, evs, 6);

	t = count(fx->repo, "alice", AT(4, 0), AT(6, 0));
	assert_int_equal(t->n, 2);
	assert_int_equal(at(t, "alice", AT(4, 0)), 1);
	assert_int_equal(at(t, "alice", AT(5, 0)), 1);
	free(t);

	t = count(fx->repo, NULL, AT(4, 0), AT(6, 0));
	assert_int_equal(t->n, 4);
	assert_int_equal(at(t, "alice", AT(4, 0)), 1);
	assert_int_equal(at(t, "alice", AT(5, 0)), 1);
	assert_int_equal(at(t, "bob", AT(4, 0)), 2);
	assert_int_equal(at(t, "alicex", AT(4, 0)), 1);
	assert_int_equal(at(t, "carol", AT(9, 0)), 0);
	free(t);

	t = count(fx->repo, "nobody", AT(0, 0), AT(24, 0));
	assert_int_equal(t->n, 0);
	free(t);
}

static void range_is_half_open_to_the_microsecond(void **state)
{
	fixture *fx = *state;
	int64_t from = AT(4, 30) + 123456, to = AT(6, 30) + 654321;
	scli_event evs[6];
	tally *t;

	event_fill(&evs[0], "c1", "before", from - 1);
	event_fill(&evs[1], "c1", "at-from", from);
	event_fill(&evs[2], "c1", "last", to - 1);
	event_fill(&evs[3], "c1", "at-to", to);
	event_fill(&evs[4], "c1", "mid", AT(5, 0));
	event_fill(&evs[5], "c1", "hour-end", AT(6, 0) - 1);
	store(fx->repo, 6, 0, evs, 6);

	t = count(fx->repo, "c1", from, to);
	assert_int_equal(at(t, "c1", AT(4, 0)), 1);
	assert_int_equal(at(t, "c1", AT(5, 0)), 2);
	assert_int_equal(at(t, "c1", AT(6, 0)), 1);
	assert_int_equal(total(t), 4);
	free(t);

	/* on whole hours the edges come from the rollup alone */
	t = count(fx->repo, "c1", AT(5, 0), AT(6, 0));
	assert_int_equal(t->n, 1);
	assert_int_equal(at(t, "c1", AT(5, 0)), 2);
	free(t);
	t = count(fx->repo, "c1", AT(5, 0) + 1, AT(6, 0) - 1);
	assert_int_equal(total(t), 0);
	free(t);
}

static void partial_edges_with_whole_hours(void **state)
{
	fixture *fx = *state;
	scli_event evs[8];
	tally *t;

	event_fill(&evs[0], "c1", "a", AT(4, 10));
	event_fill(&evs[1], "c1", "b", AT(4, 50));
	event_fill(&evs[2], "c1", "c", AT(5, 0));
	event_fill(&evs[3], "c1", "d", AT(5, 15));
	event_fill(&evs[4], "c1", "e", AT(5, 59));
	event_fill(&evs[5], "c1", "f", AT(6, 10));
	event_fill(&evs[6], "c1", "g", AT(6, 40));
	event_fill(&evs[7], "c2", "a", AT(5, 1));
	/* two batches: the rollup must add up, not overwrite */
	store(fx->repo, 4, 0, evs, 4);
	store(fx->repo, 4, 0, evs + 4, 4);

	t = count(fx->repo, "c1", AT(4, 30), AT(6, 30));
	assert_int_equal(t->n, 3);
	assert_int_equal(at(t, "c1", AT(4, 0)), 1);
	assert_int_equal(at(t, "c1", AT(5, 0)), 3);
	assert_int_equal(at(t, "c1", AT(6, 0)), 1);
	free(t);

	t = count(fx->repo, NULL, AT(4, 30), AT(6, 30));
	assert_int_equal(t->n, 4);
	assert_int_equal(at(t, "c2", AT(5, 0)), 1);
	free(t);

	/* several whole hours plus both edges */
	t = count(fx->repo, "c1", AT(3, 59), AT(6, 11));
	assert_int_equal(at(t, "c1", AT(4, 0)), 2);
	assert_int_equal(at(t, "c1", AT(5, 0)), 3);
	assert_int_equal(at(t, "c1", AT(6, 0)), 1);
	free(t);
}

static void same_hour_range(void **state)
{
	fixture *fx = *state;
	scli_event evs[4];
	tally *t;

	event_fill(&evs[0], "c1", "a", AT(4, 5));
	event_fill(&evs[1], "c1", "b", AT(4, 10));
	event_fill(&evs[2], "c1", "c", AT(4, 15));
	event_fill(&evs[3], "c1", "d", AT(4, 20));
	store(fx->repo, 4, 0, evs, 4);

	t = count(fx->repo, "c1", AT(4, 10), AT(4, 20));
	assert_int_equal(t->n, 1);
	assert_int_equal(at(t, "c1", AT(4, 0)), 2);
	free(t);
	/* crossing one hour boundary without a whole hour in between */
	t = count(fx->repo, "c1", AT(3, 30), AT(4, 12));
	assert_int_equal(t->n, 1);
	assert_int_equal(at(t, "c1", AT(4, 0)), 2);
	free(t);
}

static void events_before_1970(void **state)
{
	fixture *fx = *state;
	scli_event evs[5];
	tally *t;

	event_fill(&evs[0], "c1", "a", -1); /* 1969-12-31T23:59:59.999999Z */
	event_fill(&evs[1], "c1", "b", -H);
	event_fill(&evs[2], "c1", "c", -H - 1);
	event_fill(&evs[3], "c1", "d", -2 * H + 30 * MIN);
	event_fill(&evs[4], "c1", "e", 0);
	store(fx->repo, 5, 0, evs, 5);

	t = count(fx->repo, "c1", -3 * H, H);
	assert_int_equal(at(t, "c1", -H), 2);
	assert_int_equal(at(t, "c1", -2 * H), 2);
	assert_int_equal(at(t, "c1", 0), 1);
	assert_int_equal(t->n, 3);
	free(t);
	/* partial edges on the negative side too */
	t = count(fx->repo, "c1", -2 * H + 45 * MIN, -30 * MIN);
	assert_int_equal(at(t, "c1", -2 * H), 1);
	assert_int_equal(at(t, "c1", -H), 1);
	assert_int_equal(t->n, 2);
	free(t);
	/* year 0001 still buckets */
	store1(fx->repo, "c1", "old", SCLI_TIMESTAMP_MIN + 90 * MIN);
	t = count(fx->repo, "c1", SCLI_TIMESTAMP_MIN, SCLI_TIMESTAMP_MIN + 3 * H);
	assert_int_equal(t->n, 1);
	assert_int_equal(at(t, "c1", SCLI_TIMESTAMP_MIN + H), 1);
	free(t);
}

/*
 * Random events over six hours and random ranges (edges early and late in their
 * hours, both in one hour, whole hours): every count equals a brute-force count
 * of the events in [from, to). An adapter may count an edge hour either from its
 * raw events or as the hour's total less the other side; both must agree.
 */
static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void random_ranges_match_brute_force(void **state)
{
	enum { N = 600, RANGES = 60 };
	fixture *fx = *state;
	static scli_event evs[N];
	static const char *const custs[] = {"c1", "c2", "c3"};
	uint64_t seed = 88172645463325252u;
	int64_t base = AT(2, 0), span = 6 * H;
	int64_t ts;
	size_t i, k;

	for (i = 0; i < N; i++) {
		char txn[32];

		snprintf(txn, sizeof(txn), "t%zu", i);
		ts = base + (int64_t)(xorshift(&seed) % (uint64_t)span);
		event_fill(&evs[i], custs[xorshift(&seed) % 3], txn, ts);
	}
	store(fx->repo, 300, 0, evs, 300);
	store(fx->repo, 300, 0, evs + 300, 300);
	for (k = 0; k < RANGES; k++) {
		int64_t a = base - 30 * MIN + (int64_t)(xorshift(&seed) % (uint64_t)(span + H));
		int64_t b = a + (int64_t)(xorshift(&seed) % (uint64_t)(k % 3 == 0 ? H : 4 * H));
		const char *cust = k % 4 == 3 ? NULL : custs[k % 3];
		tally *t;

		if (k % 5 == 0) /* whole-hour starts and ends too */
			a = scli_hour_floor(a);
		if (k % 7 == 0)
			b = scli_hour_floor(b);
		if (b < a)
			b = a;
		t = count(fx->repo, cust, a, b);
		for (i = 0; i < N; i++) {
			int64_t hour = scli_hour_floor(evs[i].ts_us);
			int64_t want = 0;
			size_t j;

			if (cust && strcmp(evs[i].customer_id, cust))
				continue;
			/* each (customer, hour) once: at its first event in evs */
			for (j = 0; j < i; j++)
				if (!strcmp(evs[j].customer_id, evs[i].customer_id) &&
				    scli_hour_floor(evs[j].ts_us) == hour)
					break;
			if (j < i)
				continue;
			for (j = 0; j < N; j++)
				want += !strcmp(evs[j].customer_id, evs[i].customer_id) &&
					scli_hour_floor(evs[j].ts_us) == hour &&
					evs[j].ts_us >= a && evs[j].ts_us < b;
			if (at(t, evs[i].customer_id, hour) != want)
				fail_msg("range %zu [%lld, %lld) %s: hour %lld of %s counted %lld, "
					 "want %lld",
					 k, (long long)a, (long long)b, cust ? cust : "(all)",
					 (long long)hour, evs[i].customer_id,
					 (long long)at(t, evs[i].customer_id, hour),
					 (long long)want);
		}
		free(t);
	}
}

static void sql_looking_ids_are_data(void **state)
{
	fixture *fx = *state;
	static const char *const evil = "x' OR '1'='1";
	scli_event evs[4];
	tally *t;

	event_fill(&evs[0], evil, "1'); DROP TABLE events; --", AT(4, 10));
	event_fill(&evs[1], "plain", "1", AT(4, 10));
	event_fill(&evs[2], "a\"b", "%_*", AT(4, 10));
	event_fill(&evs[3], "caf\xc3\xa9", "\xe2\x82\xac", AT(4, 10));
	store(fx->repo, 4, 0, evs, 4);
	store(fx->repo, 0, 1, evs, 1);

	t = count(fx->repo, evil, AT(0, 0), AT(24, 0));
	assert_int_equal(t->n, 1);
	assert_int_equal(at(t, evil, AT(4, 0)), 1);
	free(t);
	t = count(fx->repo, "caf\xc3\xa9", AT(4, 5), AT(4, 15));
	assert_int_equal(at(t, "caf\xc3\xa9", AT(4, 0)), 1);
	free(t);
	t = count(fx->repo, NULL, AT(0, 0), AT(24, 0));
	assert_int_equal(t->n, 4);
	free(t);
}

static void large_batch(void **state)
{
	enum { N = 20000, CUSTOMERS = 7, HOURS = 50 };
	fixture *fx = *state;
	scli_event *evs = calloc(N, sizeof(*evs));
	int64_t want[CUSTOMERS][HOURS] = {{0}};
	char cust[16], tx[32];
	size_t i;
	int c, h;
	tally *t;

	assert_non_null(evs);
	for (i = 0; i < N; i++) {
		c = (int)(i % CUSTOMERS);
		h = (int)((i * 7919) % HOURS);
		snprintf(cust, sizeof(cust), "cust-%d", c);
		snprintf(tx, sizeof(tx), "tx-%zu", i);
		/* spread over the hour, microseconds included */
		event_fill(&evs[i], cust, tx, AT(h, 0) + (int64_t)((i * 104729) % (size_t)H));
		want[c][h]++;
	}
	store(fx->repo, N, 0, evs, N);
	store(fx->repo, 0, N, evs, N);

	t = count(fx->repo, NULL, AT(0, 0), AT(HOURS, 0));
	assert_int_equal(total(t), N);
	for (c = 0; c < CUSTOMERS; c++) {
		snprintf(cust, sizeof(cust), "cust-%d", c);
		for (h = 0; h < HOURS; h++)
			assert_int_equal(at(t, cust, AT(h, 0)), want[c][h]);
	}
	free(t);

	/* edges from raw events must agree with a full scan of those hours */
	t = count(fx->repo, "cust-3", AT(2, 17), AT(40, 43));
	for (h = 3; h < 40; h++)
		assert_int_equal(at(t, "cust-3", AT(h, 0)), want[3][h]);
	assert_true(at(t, "cust-3", AT(2, 0)) <= want[3][2]);
	assert_true(at(t, "cust-3", AT(40, 0)) <= want[3][40]);
	free(t);
	free(evs);
}

static void hours_reported_once_across_batches(void **state)
{
	fixture *fx = *state;
	scli_event ev;
	char tx[16];
	tally *t;
	int i;

	/* many small batches into the same hours: one report per hour, summed */
	for (i = 0; i < 30; i++) {
		snprintf(tx, sizeof(tx), "t%d", i);
		event_fill(&ev, "c1", tx, AT(4 + i % 3, i));
		store(fx->repo, 1, 0, &ev, 1);
	}
	t = count(fx->repo, "c1", AT(4, 0) + 1, AT(7, 0) - 1);
	assert_int_equal(t->n, 3);
	assert_int_equal(total(t), 30 - 1); /* AT(4, 0) itself is before from */
	free(t);
}

static void callback_can_stop(void **state)
{
	fixture *fx = *state;
	scli_event evs[3];
	tally *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	event_fill(&evs[0], "c1", "a", AT(4, 0));
	event_fill(&evs[1], "c1", "b", AT(5, 0));
	event_fill(&evs[2], "c1", "c", AT(6, 0));
	store(fx->repo, 3, 0, evs, 3);
	t->stop_after = 1;
	assert_int_equal(scli_repo_count_hourly(fx->repo, NULL, AT(0, 0), AT(24, 0), collect, t),
			 -42);
	assert_int_equal(t->n, 1);
	free(t);
	/* and the repository is still usable afterwards */
	t = count(fx->repo, NULL, AT(0, 0), AT(24, 0));
	assert_int_equal(t->n, 3);
	free(t);
}

static void ledger_before_init_fails(void **state)
{
	fixture *fx = *state;
	scli_load_record rec;
	int64_t id = 7;

	load_fill(&rec, "events.csv", 10, HASH_A, AT(4, 0));
	assert_true(scli_repo_ledger_begin(&id, fx->repo, &rec) < 0);
	assert_int_equal(id, 0);
	/* no table is not the same as "no such load" */
	scli_error_clear();
	assert_true(scli_repo_ledger_find_completed(&rec, fx->repo, HASH_A, "csv") < 0);
	assert_int_not_equal(scli_repo_ledger_find_completed(&rec, fx->repo, HASH_A, "csv"),
			     SCLI_ENOTFOUND);
	assert_true(scli_repo_ledger_list(fx->repo, 10, collect_load, NULL) < 0);
}

static void ledger_begin_records_running(void **state)
{
	fixture *fx = *state;
	scli_load_record want[2];
	int64_t id = 0;
	load_list *l;

	/* begin takes only source, size, hash and start; the rest is its own */
	load_fill(&want[0], "/data/events.csv.gz", 987654321, HASH_A, AT(4, 1) + 123457);
	want[0].state = SCLI_LOAD_FAILED;
	want[0].ended_us = AT(5, 0);
	want[0].rows_read = 5;
	strcpy(want[0].error, "not from begin");
	assert_int_equal(scli_repo_ledger_begin(&id, fx->repo, &want[0]), 0);
	assert_true(id > 0);
	want[0].id = id;
	want[0].state = SCLI_LOAD_RUNNING;
	want[0].ended_us = 0;
	want[0].rows_read = 0;
	want[0].error[0] = '\0';

	/* standard input: size and hash unknown */
	load_fill(&want[1], "<stdin>", -1, "", AT(4, 2));
	assert_int_equal(scli_repo_ledger_begin(&id, fx->repo, &want[1]), 0);
	assert_true(id > want[0].id);
	want[1].id = id;

	l = list_loads(fx->repo, 10);
	assert_int_equal(l->n, 2);
	assert_load_equal(&want[1], &l->recs[0]);
	assert_load_equal(&want[0], &l->recs[1]);
	free(l);
}

static void ledger_finish_round_trips(void **state)
{
	fixture *fx = *state;
	scli_load_record done, failed;
	load_list *l;

	load_fill(&done, "it's \"quoted\"; DROP TABLE scli_loads; --.csv", 147370, HASH_A,
		  AT(4, 0) + 1);
	assert_int_equal(scli_repo_ledger_begin(&done.id, fx->repo, &done), 0);
	load_fill(&failed,
		  "donn\xc3\xa9"
		  "es/\xe2\x82\xac.ndjson",
		  0, HASH_B, AT(4, 30));
	assert_int_equal(scli_repo_ledger_begin(&failed.id, fx->repo, &failed), 0);

	done.state = SCLI_LOAD_COMPLETED;
	done.ended_us = AT(4, 0) + 999999;
	done.rows_read = UINT64_C(1) << 40;
	done.inserted = (UINT64_C(1) << 40) - 12345;
	done.duplicates = 12000;
	done.rejected = 345;
	assert_int_equal(scli_repo_ledger_finish(fx->repo, &done), 0);

	failed.state = SCLI_LOAD_FAILED;
	failed.ended_us = AT(5, 0) - 1;
	failed.rows_read = 10;
	failed.inserted = 7;
	failed.rejected = 3;
	strcpy(failed.error, "postgres: storing a batch: it's \"gone\" \xe2\x82\xac");
	assert_int_equal(scli_repo_ledger_finish(fx->repo, &failed), 0);

	l = list_loads(fx->repo, 10);
	assert_int_equal(l->n, 2);
	assert_load_equal(&failed, &l->recs[0]);
	assert_load_equal(&done, &l->recs[1]);
	free(l);

	/* finishing again overwrites: the last word counts */
	failed.state = SCLI_LOAD_COMPLETED;
	failed.error[0] = '\0';
	assert_int_equal(scli_repo_ledger_finish(fx->repo, &failed), 0);
	l = list_loads(fx->repo, 1);
	assert_int_equal(l->n, 1);
	assert_load_equal(&failed, &l->recs[0]);
	free(l);
}

static void ledger_finish_unknown_load(void **state)
{
	fixture *fx = *state;
	scli_load_record rec;
	load_list *l;

	load_fill(&rec, "a.csv", 1, HASH_A, AT(4, 0));
	assert_int_equal(scli_repo_ledger_begin(&rec.id, fx->repo, &rec), 0);
	rec.id += 1000;
	rec.state = SCLI_LOAD_COMPLETED;
	scli_error_clear();
	assert_int_equal(scli_repo_ledger_finish(fx->repo, &rec), SCLI_ENOTFOUND);
	assert_error_contains("no load with id");
	/* and the real one is untouched */
	l = list_loads(fx->repo, 10);
	assert_int_equal(l->n, 1);
	assert_int_equal(l->recs[0].state, SCLI_LOAD_RUNNING);
	free(l);
}

static void ledger_find_completed_only(void **state)
{
	fixture *fx = *state;
	scli_load_record rec;
	int64_t first, second;
	load_list *l;

	/* a killed load (still running) and a failed one do not count */
	begin_load(fx->repo, "a.csv", HASH_A, AT(1, 0));
	finish_load(fx->repo, begin_load(fx->repo, "a.csv", HASH_A, AT(2, 0)), SCLI_LOAD_FAILED,
		    "boom");
	scli_error_clear();
	assert_int_equal(scli_repo_ledger_find_completed(&rec, fx->repo, HASH_A, "csv"),
			 SCLI_ENOTFOUND);
	assert_error_contains("no completed load with that hash");

	/* of two completed ones the newest wins, even with a newer running one */
	first = begin_load(fx->repo, "a-copy.csv", HASH_A, AT(3, 0));
	finish_load(fx->repo, first, SCLI_LOAD_COMPLETED, "");
	second = begin_load(fx->repo, "a-again.csv", HASH_A, AT(4, 0));
	finish_load(fx->repo, second, SCLI_LOAD_COMPLETED, "");
	begin_load(fx->repo, "a-third.csv", HASH_A, AT(5, 0));
	finish_load(fx->repo, begin_load(fx->repo, "a.csv", HASH_A, AT(6, 0)), SCLI_LOAD_FAILED,
		    "later failure");
	assert_int_equal(scli_repo_ledger_find_completed(&rec, fx->repo, HASH_A, "csv"), 0);
	assert_int_equal(rec.id, second);
	assert_int_equal(rec.state, SCLI_LOAD_COMPLETED);

	/* the found record is the listed one, field for field */
	l = list_loads(fx->repo, 100);
	assert_int_equal(l->n, 6);
	assert_load_equal(&l->recs[2], &rec);
	free(l);

	/* other hashes, a prefix of the hash, and "unknown" are not found */
	assert_int_equal(scli_repo_ledger_find_completed(&rec, fx->repo, HASH_B, "csv"),
			 SCLI_ENOTFOUND);
	assert_int_equal(scli_repo_ledger_find_completed(&rec, fx->repo, "0123456789abcdef", "csv"),
			 SCLI_ENOTFOUND);
	assert_int_equal(scli_repo_ledger_find_completed(&rec, fx->repo, "", "csv"),
			 SCLI_ENOTFOUND);
	assert_int_equal(scli_repo_ledger_find_completed(&rec, fx->repo, "' OR '1'='1", "csv"),
			 SCLI_ENOTFOUND);
}

/* The ledger knows a load by content and collector: the same bytes read by the
 * wrong collector never make the right one skip them. */
static void ledger_find_by_collector(void **state)
{
	fixture *fx = *state;
	scli_load_record rec;
	int64_t id;

	finish_load(fx->repo, begin_load(fx->repo, "a.csv", HASH_A, AT(1, 0)), SCLI_LOAD_COMPLETED,
		    "");
	assert_int_equal(scli_repo_ledger_find_completed(&rec, fx->repo, HASH_A, "json"),
			 SCLI_ENOTFOUND);
	assert_int_equal(scli_repo_ledger_find_completed(&rec, fx->repo, HASH_A, ""),
			 SCLI_ENOTFOUND);
	load_fill(&rec, "a.csv", 10, HASH_A, AT(2, 0));
	strcpy(rec.collector, "json");
	assert_int_equal(scli_repo_ledger_begin(&id, fx->repo, &rec), 0);
	finish_load(fx->repo, id, SCLI_LOAD_COMPLETED, "");
	assert_int_equal(scli_repo_ledger_find_completed(&rec, fx->repo, HASH_A, "json"), 0);
	assert_int_equal(rec.id, id);
	assert_string_equal(rec.collector, "json");
	assert_int_equal(scli_repo_ledger_find_completed(&rec, fx->repo, HASH_A, "csv"), 0);
	assert_int_not_equal(rec.id, id);
	assert_string_equal(rec.collector, "csv");
}

static void ledger_list_order_and_limit(void **state)
{
	fixture *fx = *state;
	int64_t ids[5];
	load_list *l;
	size_t i;

	/* started_us deliberately out of order: the id decides, not the clock */
	for (i = 0; i < 5; i++)
		ids[i] = begin_load(fx->repo, "x.csv", HASH_A, AT(10 - (int)i, 0));
	for (i = 1; i < 5; i++)
		assert_true(ids[i] > ids[i - 1]);

	l = list_loads(fx->repo, 3);
	assert_int_equal(l->n, 3);
	for (i = 0; i < 3; i++)
		assert_int_equal(l->recs[i].id, ids[4 - i]);
	free(l);

	l = list_loads(fx->repo, SIZE_MAX);
	assert_int_equal(l->n, 5);
	for (i = 0; i < 5; i++)
		assert_int_equal(l->recs[i].id, ids[4 - i]);
	free(l);

	l = list_loads(fx->repo, 0);
	assert_int_equal(l->n, 0);
	free(l);

	/* the callback can stop the listing; its value comes back */
	l = calloc(1, sizeof(*l));
	assert_non_null(l);
	l->stop_after = 2;
	assert_int_equal(scli_repo_ledger_list(fx->repo, 10, collect_load, l), -42);
	assert_int_equal(l->n, 2);
	free(l);
}

static void ledger_empty(void **state)
{
	fixture *fx = *state;
	scli_load_record rec;
	load_list *l = list_loads(fx->repo, 10);

	assert_int_equal(l->n, 0);
	free(l);
	assert_int_equal(scli_repo_ledger_find_completed(&rec, fx->repo, HASH_A, "csv"),
			 SCLI_ENOTFOUND);
}

static void ledger_and_batches_independent(void **state)
{
	fixture *fx = *state;
	scli_event evs[3];
	int64_t id;
	load_list *l;
	tally *t;

	event_fill(&evs[0], "c1", "a", AT(4, 10));
	event_fill(&evs[1], "c1", "b", AT(5, 10));
	event_fill(&evs[2], "c1", "a", AT(6, 10));
	id = begin_load(fx->repo, "events.csv", HASH_A, AT(4, 0));
	store(fx->repo, 2, 1, evs, 3);
	store(fx->repo, 0, 3, evs, 3);
	/* a batch's commit does not touch the ledger */
	l = list_loads(fx->repo, 10);
	assert_int_equal(l->n, 1);
	assert_int_equal(l->recs[0].id, id);
	assert_int_equal(l->recs[0].state, SCLI_LOAD_RUNNING);
	free(l);
	finish_load(fx->repo, id, SCLI_LOAD_COMPLETED, "");
	/* ... nor the ledger the events */
	t = count(fx->repo, "c1", AT(0, 0), AT(24, 0));
	assert_int_equal(total(t), 2);
	free(t);
	/* and a repeated init-db keeps both */
	assert_int_equal(scli_repo_init_schema(fx->repo), 0);
	l = list_loads(fx->repo, 10);
	assert_int_equal(l->n, 1);
	assert_int_equal(l->recs[0].state, SCLI_LOAD_COMPLETED);
	free(l);
	t = count(fx->repo, "c1", AT(0, 0), AT(24, 0));
	assert_int_equal(total(t), 2);
	free(t);
}

static void ledger_fields_at_their_limits(void **state)
{
	fixture *fx = *state;
	scli_load_record rec, want;
	load_list *l;

	/* full buffers, with no NUL in them: the adapter reads no further than the field */
	memset(&rec, 0, sizeof(rec));
	memset(rec.source, 's', sizeof(rec.source));
	memset(rec.hash, 'f', sizeof(rec.hash));
	rec.size = INT64_MAX;
	rec.started_us = SCLI_TIMESTAMP_MAX;
	assert_int_equal(scli_repo_ledger_begin(&rec.id, fx->repo, &rec), 0);
	memset(rec.error, 'e', sizeof(rec.error));
	rec.state = SCLI_LOAD_FAILED;
	rec.ended_us = SCLI_TIMESTAMP_MAX;
	rec.rows_read = rec.inserted = rec.duplicates = rec.rejected = INT64_MAX;
	assert_int_equal(scli_repo_ledger_finish(fx->repo, &rec), 0);

	want = rec;
	want.source[sizeof(want.source) - 1] = '\0';
	want.hash[sizeof(want.hash) - 1] = '\0';
	want.error[sizeof(want.error) - 1] = '\0';
	l = list_loads(fx->repo, 10);
	assert_int_equal(l->n, 1);
	assert_load_equal(&want, &l->recs[0]);
	free(l);
}

static void ledger_takes_any_bytes(void **state)
{
	fixture *fx = *state;
	scli_load_record rec;
	load_list *l;
	size_t len;

	/* a Latin-1 file name, and an error message cut inside a UTF-8 character
	 * (what a fixed-size buffer does to a long one): both must be recorded,
	 * although a server that checks UTF-8 may not keep those bytes as they are */
	load_fill(&rec, "caf\xe9.csv", 5, HASH_A, AT(4, 0));
	assert_int_equal(scli_repo_ledger_begin(&rec.id, fx->repo, &rec), 0);
	rec.state = SCLI_LOAD_FAILED;
	memset(rec.error, 'x', sizeof(rec.error));
	rec.error[SCLI_LOAD_ERROR_MAX - 1] = '\xc3';
	rec.error[SCLI_LOAD_ERROR_MAX] = '\0';
	if (scli_repo_ledger_finish(fx->repo, &rec) < 0)
		fail_msg("ledger_finish: %s", scli_error_last());

	l = list_loads(fx->repo, 10);
	assert_int_equal(l->n, 1);
	assert_int_equal(l->recs[0].state, SCLI_LOAD_FAILED);
	assert_int_equal(strlen(l->recs[0].source), strlen(rec.source));
	assert_memory_equal(l->recs[0].source, "caf", 3);
	assert_string_equal(l->recs[0].source + 4, ".csv");
	len = strlen(l->recs[0].error);
	assert_true(len >= SCLI_LOAD_ERROR_MAX - 1);
	assert_memory_equal(l->recs[0].error, rec.error, SCLI_LOAD_ERROR_MAX - 1);
	free(l);
}

/* ---- a long-lived handle (serve) ----------------------------------------- */

/* Nothing replaced the database: the handle says so, before and after its own writes. */
static void not_replaced_by_its_own_work(void **state)
{
	fixture *fx = *state;

	assert_false(scli_repo_replaced(fx->repo));
	store1(fx->repo, "c1", "t1", AT(4, 10));
	finish_load(fx->repo, begin_load(fx->repo, "a.csv", HASH_A, AT(4, 0)), SCLI_LOAD_COMPLETED,
		    "");
	assert_int_equal(scli_repo_init_schema(fx->repo), 0);
	assert_false(scli_repo_replaced(fx->repo));
}

/* Another database moved over this one (a restore) is noticed, so that serve
 * reopens by URL. */
static void replaced_database_is_noticed(void **state)
{
	fixture *fx = *state;

	if (!repo_factory_current->replace) {
		/* An explicit skip: a PostgreSQL or an in-memory database cannot be replaced
		 * under an open handle (there is no file to move over a path). Their
		 * adapters have no `replaced` op, and the wrapper's false is checked by
		 * not_replaced_by_its_own_work. */
		print_message("SKIPPED: a %s database cannot be replaced under a handle\n",
			      repo_factory_current->name);
		skip();
	}
	assert_int_equal(repo_factory_current->replace(fx), 0);
	assert_true(scli_repo_replaced(fx->repo));
	assert_true(scli_repo_replaced(fx->repo)); /* and stays so until reopened */
}

/* No way to make the memory adapter fail half-way short of failing malloc, so
 * its all-or-nothing promise is covered by construction (it allocates before
 * storing anything); SQLite's is tested with a trigger in test_repo_sqlite.c. */

static const struct CMUnitTest contract_tests[] = {
    cmocka_unit_test_setup_teardown(check_schema_needs_init, setup_repo, teardown_repo),
    cmocka_unit_test_setup_teardown(store_before_init_fails, setup_repo, teardown_repo),
    cmocka_unit_test_setup_teardown(init_schema_is_idempotent, setup_repo, teardown_repo),
    cmocka_unit_test_setup_teardown(empty_batch_and_empty_range, setup_initialised, teardown_repo),
    cmocka_unit_test_setup_teardown(store_and_count_exact, setup_initialised, teardown_repo),
    cmocka_unit_test_setup_teardown(duplicates_across_batches, setup_initialised, teardown_repo),
    cmocka_unit_test_setup_teardown(duplicates_within_batch_first_wins, setup_initialised,
				    teardown_repo),
    cmocka_unit_test_setup_teardown(identity_is_customer_and_transaction, setup_initialised,
				    teardown_repo),
    cmocka_unit_test_setup_teardown(one_customer_vs_all, setup_initialised, teardown_repo),
    cmocka_unit_test_setup_teardown(range_is_half_open_to_the_microsecond, setup_initialised,
				    teardown_repo),
    cmocka_unit_test_setup_teardown(partial_edges_with_whole_hours, setup_initialised,
				    teardown_repo),
    cmocka_unit_test_setup_teardown(same_hour_range, setup_initialised, teardown_repo),
    cmocka_unit_test_setup_teardown(random_ranges_match_brute_force, setup_initialised,
				    teardown_repo),
    cmocka_unit_test_setup_teardown(events_before_1970, setup_initialised, teardown_repo),
    cmocka_unit_test_setup_teardown(sql_looking_ids_are_data, setup_initialised, teardown_repo),
    cmocka_unit_test_setup_teardown(large_batch, setup_initialised, teardown_repo),
    cmocka_unit_test_setup_teardown(hours_reported_once_across_batches, setup_initialised,
				    teardown_repo),
    cmocka_unit_test_setup_teardown(callback_can_stop, setup_initialised, teardown_repo),
    cmocka_unit_test_setup_teardown(ledger_before_init_fails, setup_repo, teardown_repo),
    cmocka_unit_test_setup_teardown(ledger_empty, setup_initialised, teardown_repo),
    cmocka_unit_test_setup_teardown(ledger_begin_records_running, setup_initialised, teardown_repo),
    cmocka_unit_test_setup_teardown(ledger_finish_round_trips, setup_initialised, teardown_repo),
    cmocka_unit_test_setup_teardown(ledger_finish_unknown_load, setup_initialised, teardown_repo),
    cmocka_unit_test_setup_teardown(ledger_find_completed_only, setup_initialised, teardown_repo),
    cmocka_unit_test_setup_teardown(ledger_find_by_collector, setup_initialised, teardown_repo),
    cmocka_unit_test_setup_teardown(ledger_list_order_and_limit, setup_initialised, teardown_repo),
    cmocka_unit_test_setup_teardown(ledger_and_batches_independent, setup_initialised,
				    teardown_repo),
    cmocka_unit_test_setup_teardown(ledger_fields_at_their_limits, setup_initialised,
				    teardown_repo),
    cmocka_unit_test_setup_teardown(ledger_takes_any_bytes, setup_initialised, teardown_repo),
    cmocka_unit_test_setup_teardown(not_replaced_by_its_own_work, setup_initialised, teardown_repo),
    cmocka_unit_test_setup_teardown(replaced_database_is_noticed, setup_initialised, teardown_repo),
};

static int run_group(const char *name)
{
	return cmocka_run_group_tests_name(name, contract_tests, NULL, NULL);
}

int main(void)
{
	int first = repo_factories_run("repo contract", run_group, NULL), second;

	/* Again with identity keys cut to 3 bits, so that most distinct identities
	 * share a key with another: every answer must stay exact (texts compared on
	 * a key match, the newcomer moved to the next variant, never merged). */
	repo_keys_test_weaken(3);
	second = repo_factories_run("repo contract, colliding identity keys", run_group, NULL);
	repo_keys_test_weaken(0);
	return first ? first : second;
}
