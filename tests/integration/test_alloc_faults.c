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
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scli/adapters.h"
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

/* What a clean run gives: figures and the counts, flattened for comparison. */
typedef struct outcome {
	scli_load_report report;
	char counts[512];
} outcome;

static char sqlite_dir[256];

static int open_repo(scli_repo **repo, int kind)
{
	char path[300];

	if (kind == 0)
		return scli_repo_memory_new(repo);
	snprintf(path, sizeof(path), "%s/faults.db", sqlite_dir);
	unlink(path);
	return scli_repo_sqlite_open(repo, path, 1);
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
	    cmocka_unit_test(csv_into_memory),
	    cmocka_unit_test(json_into_memory),
	    cmocka_unit_test(csv_into_sqlite),
	    cmocka_unit_test(json_into_sqlite),
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
