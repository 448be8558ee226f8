/*
 * Allocation failure, everywhere: run a whole load and count with the Nth
 * allocation failing, for every N until a run no longer reaches N. Each run must
 * end with a clean error or with exactly the right answer, never a crash, and
 * must free everything it allocated (counted through the allocator hook).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <libpq-fe.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scli/sys/adapters.h"
#include "scli/alloc.h"
#include "scli/service.h"
#include "scli/timestamp.h"

/* ---- a counting allocator that fails on request ------------------------ */

static unsigned long calls, fail_at;
static long live;

static void *test_malloc_fn(size_t n)
{
	void *p;

	if (fail_at && ++calls == fail_at)
		return NULL;
	if (!fail_at)
		calls++;
	if ((p = malloc(n)))
		live++;
	return p;
}

static void *test_realloc_fn(void *p, size_t n)
{
	void *q;

	if (fail_at && ++calls == fail_at)
		return NULL;
	if (!fail_at)
		calls++;
	if ((q = realloc(p, n)) && !p)
		live++;
	return q;
}

static void test_free_fn(void *p)
{
	if (p)
		live--;
	free(p);
}

static const scli_allocator counting = {test_malloc_fn, test_realloc_fn, test_free_fn};

/* ---- the scenario: load a messy file, then count ------------------------- */

static const char csv_data[] = "customer_id,event_type,transaction_id,timestamp\n"
			       "acme,INGEST,t1,2021-03-01 04:01:07.45+00\n"
			       "acme,INGEST,\"t 2, quoted\",2021-03-01T04:59:59Z\n"
			       "acme,INGEST,t3,2021-03-01 05:00:00+00\n"
			       "acme,INGEST,t1,2021-03-01 07:00:00+00\n"
			       "bolt,QUERY,t1,2021-03-01 05:10:00+01:00\n"
			       "bolt,QUERY,t4,2021-02-29 05:10:00+00\n"
			       "bolt,QUERY,t5\n"
			       "\n"
			       "bolt,QUERY,t6,2021-03-01 06:10:00+00\n"
			       "acme,INGEST,t7,2021-03-01 06:20:00+00\n";

static const char json_data[] =
    "[{\"customer_id\":\"acme\",\"event_type\":\"INGEST\",\"transaction_id\":\"t1\","
    "\"timestamp\":\"2021-03-01 04:01:07.45+00\",\"properties\":{\"a\":[1,2,{\"b\":\"}\"}]}},\n"
    "{\"customerId\":\"acme\",\"eventType\":\"INGEST\",\"transactionId\":\"t 2, quoted\","
    "\"timestamp\":\"2021-03-01T04:59:59Z\"},\n"
    "{\"customer_id\":\"acme\",\"event_type\":\"INGEST\",\"transaction_id\":\"t3\",\"timestamp\":"
    "1614574800},\n"
    "{\"customer_id\":\"acme\",\"event_type\":\"INGEST\",\"transaction_id\":\"t1\",\"timestamp\":"
    "\"2021-03-01 07:00:00+00\"},\n"
    "{\"customer_id\":\"bolt\",\"event_type\":\"QUERY\",\"transaction_id\":\"t1\",\"timestamp\":"
    "\"2021-03-01 05:10:00+01:00\"},\n"
    "{\"customer_id\":\"bolt\",\"event_type\":\"QUERY\",\"transaction_id\":\"t4\",\"timestamp\":"
    "\"2021-02-29 05:10:00+00\"},\n"
    "{\"customer_id\":\"bolt\",\"event_type\":\"QUERY\",\"transaction_id\":\"t5\"},\n"
    "{\"customer_id\":\"bolt\",\"event_type\":\"QUERY\",\"transaction_id\":\"t6\",\"timestamp\":"
    "\"2021-03-01 06:10:00+00\"},\n"
    "{\"customer_id\":\"acme\",\"event_type\":\"INGEST\",\"transaction_id\":\"t7\",\"timestamp\":"
    "\"2021-03-01 06:20:00+00\"}]\n";

/* Per-hour counts of one customer, from the first hour asked (a count's order is unspecified). */
static int tally_hour(void *ctx, const char *customer_id, int64_t hour_start_us, int64_t count)
{
	int64_t *hours = ctx;
	int64_t i = (hour_start_us - INT64_C(1614571200000000)) / SCLI_US_PER_HOUR;

	assert_string_equal(customer_id, "acme");
	assert_true(i >= 0 && i < 3);
	hours[i] += count;
	return 0;
}

/* What a clean run gives: figures and the counts, flattened for comparison. */
typedef struct outcome {
	scli_load_report report;
	char counts[512];
} outcome;

static char sqlite_dir[256];
static const scli_repo_options create = {.create = true};

static int open_repo(scli_repo **repo, int kind)
{
	char path[300];

	if (kind == 0)
		return scli_repo_kind_find("memory")->open(repo, "", NULL);
	snprintf(path, sizeof(path), "sqlite:%s/faults.db", sqlite_dir);
	unlink(path + 7);
	return scli_repo_open(repo, path, &create);
}

/* Load + count; returns 0 and fills *out, or a negative error. Frees everything. */
static int scenario(outcome *out, int repo_kind, int json)
{
	scli_repo *repo = NULL;
	scli_source *src = NULL;
	scli_collector *col = NULL;
	scli_count_result *res = NULL;
	scli_load_options opts = {.batch_size = 3};
	int64_t from = INT64_C(1614571200000000), to = from + 3 * SCLI_US_PER_HOUR;
	size_t i, j, len = 0;
	int error;

	memset(out, 0, sizeof(*out));
	if ((error = open_repo(&repo, repo_kind)) < 0 || (error = scli_service_init_db(repo)) < 0)
		goto done;
	if ((error = scli_source_from_memory(&src, json ? json_data : csv_data,
					     json ? sizeof(json_data) - 1 : sizeof(csv_data) - 1,
					     "mem")) < 0 ||
	    (error = json ? scli_collector_json_new(&col, src)
			  : scli_collector_csv_new(&col, src)) < 0 ||
	    (error = scli_service_load(&out->report, repo, col, "mem", &opts)) < 0 ||
	    (error = scli_service_count(&res, repo, NULL, from, to)) < 0)
		goto done;
	for (i = 0; i < res->ncustomers; i++)
		for (j = 0; j < res->nbuckets; j++)
			len += (size_t)snprintf(out->counts + len, sizeof(out->counts) - len,
						"%s:%lld ", res->customers[i].customer_id,
						(long long)res->customers[i].counts[j]);
done:
	scli_count_result_free(res);
	scli_collector_free(col);
	scli_source_free(src);
	scli_repo_free(repo);
	return error;
}

static void every_allocation_failure_ends_cleanly(int repo_kind, int json)
{
	outcome clean, got;
	unsigned long n, total;

	scli_allocator_set(&counting);
	fail_at = 0;
	calls = 0;
	live = 0;
	assert_int_equal(scenario(&clean, repo_kind, json), 0);
	assert_int_equal(live, 0);
	assert_int_equal(clean.report.rows_read, 9);
	assert_int_equal(clean.report.inserted, 6);
	assert_int_equal(clean.report.duplicates, 1);
	assert_int_equal(clean.report.rejected, 2);
	total = calls;
	assert_true(total > 5);
	for (n = 1; n <= total; n++) {
		int error;

		fail_at = n;
		calls = 0;
		live = 0;
		error = scenario(&got, repo_kind, json);
		if (live != 0)
			fail_msg("allocation %lu of %lu failed: %ld blocks leaked", n, total, live);
		if (error == 0) {
			/* a failure the code could absorb must not change the answer */
			if (memcmp(&got.report, &clean.report, sizeof(clean.report)) ||
			    strcmp(got.counts, clean.counts))
				fail_msg("allocation %lu of %lu failed silently: wrong result %s",
					 n, total, got.counts);
		} else {
			assert_true(error < 0);
			assert_true(scli_error_last()[0] != '\0');
		}
	}
	scli_allocator_set(NULL);
	fail_at = 0;
}

/* ---- the repository adapters alone, through the port --------------------- */

/*
 * Open, init-db, store two batches (one all duplicates), count, record a load:
 * what every adapter does for a load and a count. Returns 0 with the counts
 * flattened into out[cap], or a negative error; frees everything.
 */
static int adapter_scenario(char *out, size_t cap, int (*open)(scli_repo **out))
{
	static const char *const txns[] = {"t1", "t2", "t3", "t1"};
	scli_repo *repo = NULL;
	scli_event evs[4];
	scli_load_record rec;
	size_t inserted = 0, duplicates = 0, i, len = 0;
	int64_t hour = INT64_C(1614571200000000), hours[3] = {0, 0, 0};
	int error;

	memset(evs, 0, sizeof(evs));
	memset(&rec, 0, sizeof(rec));
	for (i = 0; i < 4; i++) {
		evs[i].ts_us = hour + (int64_t)i * SCLI_US_PER_HOUR / 2;
		evs[i].customer_id_len = 4;
		memcpy(evs[i].customer_id, "acme", 5);
		evs[i].transaction_id_len = 2;
		memcpy(evs[i].transaction_id, txns[i], 3);
		evs[i].event_type_len = 6;
		memcpy(evs[i].event_type, "INGEST", 7);
	}
	strcpy(rec.source, "mem");
	strcpy(rec.hash, "0123456789abcdef0123456789abcdef");
	strcpy(rec.collector, "csv");
	rec.started_us = hour;
	out[0] = '\0';
	if ((error = open(&repo)) < 0 || (error = scli_repo_init_schema(repo)) < 0 ||
	    (error = scli_repo_ledger_begin(&rec.id, repo, &rec)) < 0 ||
	    (error = scli_repo_store_batch(&inserted, &duplicates, repo, evs, 4)) < 0)
		goto done;
	len += (size_t)snprintf(out + len, cap - len, "%zu+%zu ", inserted, duplicates);
	if ((error = scli_repo_store_batch(&inserted, &duplicates, repo, evs, 2)) < 0)
		goto done;
	len += (size_t)snprintf(out + len, cap - len, "%zu+%zu ", inserted, duplicates);
	rec.state = SCLI_LOAD_COMPLETED;
	rec.inserted = 3;
	if ((error = scli_repo_ledger_finish(repo, &rec)) < 0 ||
	    (error = scli_repo_ledger_find_completed(&rec, repo, rec.hash, "csv")) < 0)
		goto done;
	len += (size_t)snprintf(out + len, cap - len, "load %lld ", (long long)rec.id);
	if ((error = scli_repo_count_hourly(repo, "acme", hour, hour + 3 * SCLI_US_PER_HOUR,
					    tally_hour, hours)) < 0)
		goto done;
	snprintf(out + len, cap - len, "hours %lld %lld %lld", (long long)hours[0],
		 (long long)hours[1], (long long)hours[2]);
done:
	scli_repo_free(repo);
	return error;
}

static int open_sqlite_fresh(scli_repo **repo)
{
	char path[300];

	snprintf(path, sizeof(path), "sqlite:%s/adapter.db", sqlite_dir);
	unlink(path + 7);
	return scli_repo_open(repo, path, &create);
}

/*
 * Every allocation the adapter makes through the hook, failed in turn. None can
 * be absorbed (each is needed to go on), so each must end in an error with a
 * message, nothing leaked; the clean run must reach the adapter's allocations at
 * all (open, and each batch's working memory), or this test tests nothing.
 */
static void adapter_allocation_failures(int (*open)(scli_repo **out), unsigned long at_least)
{
	char clean[256], got[256];
	unsigned long n, total;

	scli_allocator_set(&counting);
	fail_at = 0;
	calls = 0;
	live = 0;
	if (adapter_scenario(clean, sizeof(clean), open) < 0)
		fail_msg("clean run: %s", scli_error_last());
	assert_int_equal(live, 0);
	assert_string_equal(clean, "3+1 0+2 load 1 hours 2 1 0");
	total = calls;
	if (total < at_least)
		fail_msg("only %lu allocations went through the hook, expected %lu or more", total,
			 at_least);
	for (n = 1; n <= total; n++) {
		int error;

		fail_at = n;
		calls = 0;
		live = 0;
		scli_error_clear();
		error = adapter_scenario(got, sizeof(got), open);
		if (live != 0)
			fail_msg("allocation %lu of %lu failed: %ld blocks leaked", n, total, live);
		if (error == 0)
			fail_msg("allocation %lu of %lu failed unnoticed (%s)", n, total, got);
		assert_int_equal(error, SCLI_ENOMEM);
		assert_true(scli_error_last()[0] != '\0');
	}
	scli_allocator_set(NULL);
	fail_at = 0;
}

static void sqlite_adapter_alone(void **state)
{
	(void)state;
	/* the repository, then each batch's hour keys and order */
	adapter_allocation_failures(open_sqlite_fresh, 5);
}

/* A fresh schema of the test run's PostgreSQL server for each run (the admin
 * connection is libpq's own memory, not counted). A password is given, though
 * the server trusts this user, so that keeping it for scrubbing is exercised. */
static int open_postgres_fresh(scli_repo **repo)
{
	char conninfo[700];
	PGconn *admin;
	PGresult *res;

	snprintf(conninfo, sizeof(conninfo), "%s dbname=postgres", getenv("SCLI_TEST_PG"));
	admin = PQconnectdb(conninfo);
	res = PQexec(admin,
		     "SET client_min_messages = warning;"
		     " DROP SCHEMA IF EXISTS alloc_faults CASCADE; CREATE SCHEMA alloc_faults");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		fail_msg("creating the schema: %s", PQerrorMessage(admin));
	PQclear(res);
	PQfinish(admin);
	snprintf(conninfo, sizeof(conninfo),
		 "%s dbname=postgres password=unused-here options='-csearch_path=alloc_faults'",
		 getenv("SCLI_TEST_PG"));
	return scli_repo_open(repo, conninfo, NULL);
}

static void postgres_adapter_alone(void **state)
{
	(void)state;
	if (!getenv("SCLI_TEST_PG")) {
		/* an explicit skip: the server comes from tests/support/with-postgres.sh */
		print_message("SKIPPED: SCLI_TEST_PG is not set\n");
		skip();
	}
	/* the repository, its connection string and password, each batch's order and COPY data */
	adapter_allocation_failures(open_postgres_fresh, 5);
}

static void csv_into_memory(void **state)
{
	(void)state;
	every_allocation_failure_ends_cleanly(0, 0);
}

static void json_into_memory(void **state)
{
	(void)state;
	every_allocation_failure_ends_cleanly(0, 1);
}

static void csv_into_sqlite(void **state)
{
	(void)state;
	every_allocation_failure_ends_cleanly(1, 0);
}

static void json_into_sqlite(void **state)
{
	(void)state;
	every_allocation_failure_ends_cleanly(1, 1);
}

int main(void)
{
	const char *base = getenv("SCLI_TEST_TMP");
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(csv_into_memory),	    cmocka_unit_test(json_into_memory),
	    cmocka_unit_test(csv_into_sqlite),	    cmocka_unit_test(json_into_sqlite),
	    cmocka_unit_test(sqlite_adapter_alone), cmocka_unit_test(postgres_adapter_alone),
	};
	int rc;

	snprintf(sqlite_dir, sizeof(sqlite_dir), "%s/faults-XXXXXX", base && *base ? base : "/tmp");
	if (base && *base)
		mkdir(base, 0777);
	if (!mkdtemp(sqlite_dir)) {
		perror("mkdtemp");
		return 1;
	}
	rc = cmocka_run_group_tests_name("allocation faults", tests, NULL, NULL);
	snprintf(sqlite_dir + strlen(sqlite_dir), sizeof(sqlite_dir) - strlen(sqlite_dir), "%s",
		 "");
	return rc;
}
