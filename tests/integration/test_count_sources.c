/*
 * The count from files (scli_service_count_sources) against its definition:
 * each source loaded with scli_service_load_source into an empty memory
 * repository, then scli_service_count_windows. Both answers and both lists of
 * rejects (source, line, reason) must be equal, whatever the threads (1-3) and
 * however small the parts a file is cut into: files are generated with
 * duplicates at other times and of other types, rejects of every kind, blank
 * lines, CRLF and lone CR line ends, headers (columns reordered, extra ones, a
 * BOM), quoted fields (with line breaks: a file then falls back to one
 * collector from its first part with a quote), lines longer than the search
 * for a line end, gzip and JSON. Parts down to a byte put every cut next to
 * every kind of row and every duplicate across a cut.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scli/alloc.h"
#include "scli/collector.h"
#include "scli/service.h"
#include "scli/sys/adapters.h"
#include "scli/zone.h"
#include "support/tmpdir.h"

/* ---- text that grows ------------------------------------------------------------- */

typedef struct text {
	char *p;
	size_t len, cap;
} text;

static void put(text *t, const char *s, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		t->cap = (t->len + n + 1) * 2;
		t->p = realloc(t->p, t->cap);
		assert_non_null(t->p);
	}
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = '\0';
}

/* The text so far ("" before anything was put). */
static const char *str(const text *t)
{
	return t->p ? t->p : "";
}

static void putz(text *t, const char *s)
{
	put(t, s, strlen(s));
}

static void putf(text *t, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < sizeof(buf));
	put(t, buf, (size_t)n);
}

/* ---- the two ways to an answer -------------------------------------------------------- */

static int log_reject(void *ctx, const char *source, int64_t load_id, const scli_reject *rej)
{
	(void)load_id;
	putf(ctx, "%s:%llu: %s\n", source, (unsigned long long)rej->line, rej->reason);
	return 0;
}

static void describe(text *t, const scli_count_result *res)
{
	size_t i, w;

	putf(t, "buckets=%zu types=%zu\n", res->nbuckets, res->n_event_types);
	for (i = 0; i < res->ncustomers; i++) {
		const scli_customer_series *s = &res->customers[i];

		putf(t, "%s|%s|%d total=%lld:", s->customer_id, s->event_type, s->has_event_type,
		     (long long)s->total);
		for (w = 0; w < res->nbuckets; w++)
			if (s->counts[w])
				putf(t, " %zu=%lld", w, (long long)s->counts[w]);
		putz(t, "\n");
	}
}

static int zone_lookup(const scli_zone **out, void *ctx, const char *name)
{
	scli_zone **held = ctx;

	scli_zone_free(*held);
	*held = NULL;
	if (scli_zone_load(held, name) < 0)
		return SCLI_EINVALID;
	*out = *held;
	return 0;
}

typedef struct query {
	const char *from, *to, *window, *tz, *group_by;
	const char *customers[3];
	size_t ncustomers;
	const char *types[2];
	size_t ntypes;
} query;

static const query queries[] = {
    {"2021-03-01T00:00:00Z", "2021-03-04T00:00:00Z", NULL, NULL, NULL, {NULL}, 0, {NULL}, 0},
    {"2021-03-01", "2021-03-05", "day", "America/New_York", "event_type", {NULL}, 0, {NULL}, 0},
    {"2021-03-01T05:30:00Z",
     "2021-03-03T01:00:00Z",
     "hour",
     "Asia/Kolkata",
     NULL,
     {"acme", "nobody", "d,q"},
     3,
     {NULL},
     0},
    {"2021-03-01",
     "2021-03-04",
     "minute",
     "+05:45",
     "event_type",
     {"beta"},
     1,
     {"INGEST", "QUERY"},
     2},
};

/* A request for query q (the zone is kept in *zone). */
static void request(scli_count_request *req, scli_zone **zone, const query *q)
{
	scli_count_input in = {0};
	scli_count_problem problem;

	in.customers = q->ncustomers ? q->customers : NULL;
	in.n_customers = q->ncustomers;
	in.event_types = q->ntypes ? q->types : NULL;
	in.n_event_types = q->ntypes;
	in.from = q->from;
	in.to = q->to;
	in.window = q->window;
	in.tz = q->tz;
	in.group_by = q->group_by;
	in.zone_lookup = zone_lookup;
	in.zone_ctx = zone;
	assert_int_equal(scli_service_count_request(req, &problem, &in), 0);
}

/* Load + count: the answer a count from files must give. */
static void oracle(text *answer, text *rejects, const char *const *paths, size_t n,
		   const scli_collector_kind *kind, const scli_count_request *req)
{
	scli_load_options opts = {0};
	scli_source_outcome out;
	scli_count_result *res = NULL;
	scli_repo *repo = NULL;
	size_t i;

	opts.on_reject = log_reject;
	opts.reject_ctx = rejects;
	assert_int_equal(scli_repo_memory_new(&repo), 0);
	assert_int_equal(scli_service_init_db(repo), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(scli_service_load_source(&out, repo, paths[i], kind, true, &opts),
				 0);
	assert_int_equal(scli_service_count_windows(&res, repo, req), 0);
	describe(answer, res);
	scli_count_result_free(res);
	scli_repo_free(repo);
}

static void from_files(text *answer, text *rejects, const char *const *paths, size_t n,
		       const scli_collector_kind *kind, const scli_count_request *req,
		       unsigned threads, size_t part_bytes)
{
	scli_count_sources_options opts = {0};
	scli_count_sources_report report;
	scli_count_result *res = NULL;
	int error;

	opts.on_reject = log_reject;
	opts.reject_ctx = rejects;
	opts.threads = threads;
	opts.part_bytes = part_bytes;
	error = scli_service_count_sources(&res, &report, paths, n, kind, req, &opts);
	if (error < 0)
		fail_msg("count from files: %s", scli_error_last());
	describe(answer, res);
	scli_count_result_free(res);
}

/* Every query, every thread count and part size: the same answer and rejects as load+count. */
static void check_all(const char *const *paths, size_t n, const char *kind_name)
{
	static const unsigned threads[] = {1, 2, 3};
	static const size_t parts[] = {1, 7, 64, 301, 4096, 0};
	const scli_collector_kind *kind = scli_collector_kind_find(kind_name);
	size_t q, t, p;

	assert_non_null(kind);
	for (q = 0; q < sizeof(queries) / sizeof(queries[0]); q++) {
		scli_count_request req;
		scli_zone *zone = NULL;
		text want = {0}, want_rej = {0};

		request(&req, &zone, &queries[q]);
		oracle(&want, &want_rej, paths, n, kind, &req);
		for (t = 0; t < sizeof(threads) / sizeof(threads[0]); t++)
			for (p = 0; p < sizeof(parts) / sizeof(parts[0]); p++) {
				text got = {0}, got_rej = {0};

				from_files(&got, &got_rej, paths, n, kind, &req, threads[t],
					   parts[p]);
				if (strcmp(str(&got), str(&want)) ||
				    strcmp(str(&got_rej), str(&want_rej)))
					fail_msg("query %zu, %u threads, parts of %zu bytes:\n"
						 "answer:\n%s\nexpected:\n%s\nrejects:\n%s\n"
						 "expected:\n%s",
						 q, threads[t], parts[p], str(&got), str(&want),
						 str(&got_rej), str(&want_rej));
				free(got.p);
				free(got_rej.p);
			}
		free(want.p);
		free(want_rej.p);
		scli_zone_free(zone);
	}
}

/* ---- generated files -------------------------------------------------------------------- */

static uint64_t rng_state;

static unsigned rnd(unsigned n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (unsigned)(rng_state % n);
}

typedef struct gen {
	bool header, bom, crlf_sometimes, lone_cr, quotes, rejects, long_line;
} gen;

static const char *const customers[] = {"acme", "beta", "gamma co", "d,q"};
static const char *const types[] = {"INGEST", "QUERY", "storage"};

static void line_end(text *t, const gen *g)
{
	unsigned r = rnd(20);

	if (g->lone_cr && r == 0)
		putz(t, "\r");
	else if (g->crlf_sometimes && r < 5)
		putz(t, "\r\n");
	else
		putz(t, "\n");
}

/* One row of an identity: `i` names it; timestamps anywhere in 2021-03-01..04 UTC. */
static void row(text *t, const gen *g, unsigned id, unsigned customer, unsigned type)
{
	char txn[64], ts[64];
	unsigned sec = rnd(4 * 86400);

	if (id % 3 == 0)
		snprintf(txn, sizeof(txn), "%08x-%04x-4%03x-a%03x-%012x", id * 2654435761u,
			 id & 0xffff, id & 0xfff, (id >> 3) & 0xfff, id);
	else if (id % 3 == 1)
		snprintf(txn, sizeof(txn), "%08X-%04X-4%03X-A%03X-%012X", id * 2654435761u,
			 id & 0xffff, id & 0xfff, (id >> 3) & 0xfff, id);
	else
		snprintf(txn, sizeof(txn), "t%u", id);
	snprintf(ts, sizeof(ts), "2021-03-0%uT%02u:%02u:%02u.%03uZ", 1 + sec / 86400,
		 sec % 86400 / 3600, sec % 3600 / 60, sec % 60, rnd(1000));
	if (g->header) /* columns: timestamp,extra,customer_id,transaction_id,event_type */
		putf(t, "%s,x%u,%s%s%s,%s,%s", ts, id, strchr(customers[customer], ',') ? "\"" : "",
		     customers[customer], strchr(customers[customer], ',') ? "\"" : "", txn,
		     types[type]);
	else
		putf(t, "%s%s%s,%s,%s,%s", strchr(customers[customer], ',') ? "\"" : "",
		     customers[customer], strchr(customers[customer], ',') ? "\"" : "", types[type],
		     txn, ts);
	line_end(t, g);
}

/* A file of about `rows` rows; without g->quotes, a customer with a comma is not used. */
static void generate(text *t, const gen *g, unsigned rows, unsigned first_id, unsigned seed)
{
	unsigned i, ncust = g->quotes ? 4 : 3;

	rng_state = 0x9E3779B97F4A7C15u ^ seed;
	if (g->bom)
		putz(t, "\xEF\xBB\xBF");
	if (g->header) {
		putz(t, "Timestamp,extra,customerId,transaction_id,EVENT_TYPE");
		line_end(t, g);
	}
	for (i = 0; i < rows; i++) {
		unsigned r = rnd(100), id = first_id + i;

		if (r < 12 &&
		    i > 0) /* a copy of an earlier identity, at another time, maybe type */
			id = first_id + rnd(i);
		if (g->rejects && r >= 90) {
			switch (r) {
			case 90:
				putz(t, "acme,INGEST,bad-ts,2021-02-30T00:00:00Z");
				break;
			case 91:
				putz(t, "acme,INGEST");
				break;
			case 92:
				putz(t, "   ");
				break;
			case 93:
				putz(t, ",INGEST,t,2021-03-01T00:00:00Z");
				break;
			case 94:
				putz(t, "acme,\xff\xfe,t,2021-03-01T00:00:00Z");
				break;
			case 95:
				putz(t, "customer_id,event_type,transaction_id,timestamp");
				break;
			case 96: /* a BOM is skipped at the file's start only: here it is text */
				putf(t, "\xEF\xBB\xBF%s,INGEST,bom%u,2021-03-02T00:00:00Z%s",
				     customers[0], i, g->header ? ",x" : "");
				break;
			default:
				putz(t, ""); /* a blank line */
				break;
			}
			line_end(t, g);
			continue;
		}
		if (g->quotes && r == 50) { /* a quoted field with a line break in it */
			putf(t, "acme,\"multi\nline\",q%u,2021-03-02T00:00:00Z", i);
			line_end(t, g);
			continue;
		}
		if (g->long_line && i == rows / 2) {
			size_t k;

			putz(t, "acme,INGEST,");
			for (k = 0; k < (3u << 20); k += 64)
				putz(t, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
					"abcdef");
			putz(t, ",2021-03-01T00:00:00Z");
			line_end(t, g);
			continue;
		}
		row(t, g, id, rnd(ncust), rnd(3));
	}
}

static void write_file(const char *path, const text *t)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(t->p, 1, t->len, f), t->len);
	assert_int_equal(fclose(f), 0);
}

static void check_generated(const gen *g, unsigned rows, unsigned seed)
{
	char path[600];
	const char *paths[1] = {path};
	text t = {0};

	snprintf(path, sizeof(path), "%s/gen-%u.csv", test_tmpdir, seed);
	generate(&t, g, rows, 1, seed);
	write_file(path, &t);
	check_all(paths, 1, "csv");
	free(t.p);
}

/* ---- the cases ------------------------------------------------------------------- */

static void test_plain(void **state)
{
	gen g = {0};

	(void)state;
	check_generated(&g, 400, 1);
}

static void test_rejects_and_line_ends(void **state)
{
	gen g = {.rejects = true, .crlf_sometimes = true, .lone_cr = true};

	(void)state;
	check_generated(&g, 400, 2);
}

static void test_header_bom(void **state)
{
	gen g = {.header = true, .bom = true, .rejects = true, .crlf_sometimes = true};

	(void)state;
	check_generated(&g, 400, 3);
}

/* Quotes (and a quoted line break) from some part on: one collector reads from there. */
static void test_quotes(void **state)
{
	gen g = {.quotes = true, .rejects = true};

	(void)state;
	check_generated(&g, 400, 4);
}

/* A line longer than the search for a line end: one collector reads from its part on. */
static void test_long_line(void **state)
{
	gen g = {.rejects = true};
	char path[600];
	const char *paths[1] = {path};
	const scli_collector_kind *kind = scli_collector_kind_find("csv");
	scli_count_request req;
	scli_zone *zone = NULL;
	text t = {0}, want = {0}, want_rej = {0};
	size_t i;

	(void)state;
	g.long_line = true;
	snprintf(path, sizeof(path), "%s/long.csv", test_tmpdir);
	generate(&t, &g, 600, 1, 5);
	write_file(path, &t);
	request(&req, &zone, &queries[1]);
	oracle(&want, &want_rej, paths, 1, kind, &req);
	for (i = 0; i < 3; i++) {
		static const size_t parts[] = {100, 4096, 1u << 20};
		text got = {0}, got_rej = {0};

		from_files(&got, &got_rej, paths, 1, kind, &req, 2, parts[i]);
		assert_string_equal(str(&got), str(&want));
		assert_string_equal(str(&got_rej), str(&want_rej));
		free(got.p);
		free(got_rej.p);
	}
	assert_non_null(strstr(want_rej.p, "row is longer than 1048576 bytes"));
	free(t.p);
	free(want.p);
	free(want_rej.p);
	scli_zone_free(zone);
}

/* Files in order: a copy in a later file never moves the event, whatever the file's kind. */
static void test_across_files(void **state)
{
	gen g = {.rejects = true}, h = {.header = true, .crlf_sometimes = true};
	char a[600], b[600], c[600];
	const char *paths[3] = {a, b, c};
	text ta = {0}, tb = {0};

	(void)state;
	snprintf(a, sizeof(a), "%s/a.csv", test_tmpdir);
	snprintf(b, sizeof(b), "%s/b.csv.gz", test_tmpdir);
	snprintf(c, sizeof(c), "%s/c.csv", test_tmpdir);
	generate(&ta, &g, 300, 1, 6);
	generate(&tb, &h, 300, 150, 7); /* ids 150..449: half of them copies of a's */
	write_file(a, &ta);
	test_write_gzip(b, tb.p, tb.len);
	write_file(c, &ta); /* a again: all copies */
	check_all(paths, 3, "csv");
	free(ta.p);
	free(tb.p);
}

/* First wins, exactly: a copy later in the file at another time and of another type. */
static void test_first_wins(void **state)
{
	char path[600];
	const char *paths[1] = {path};
	const scli_collector_kind *kind = scli_collector_kind_find("csv");
	const char *ids[] = {"acme"};
	scli_count_request req = {0};
	scli_zone *utc = NULL;
	text t = {0}, got = {0}, rej = {0};
	unsigned i;

	(void)state;
	putz(&t, "acme,INGEST,x1,2021-03-01T00:10:00Z\n");
	for (i = 0; i < 200; i++)
		putf(&t, "beta,INGEST,pad%u,2021-03-01T00:20:00Z\n", i);
	putz(&t, "acme,QUERY,x1,2021-03-01T01:10:00Z\n");
	snprintf(path, sizeof(path), "%s/first.csv", test_tmpdir);
	write_file(path, &t);
	assert_int_equal(scli_zone_parse_fixed(&utc, "UTC"), 0);
	req.customers = ids;
	req.n_customers = 1;
	req.by_event_type = true;
	req.window = SCLI_WINDOW_HOUR;
	req.zone = utc;
	req.from_us = INT64_C(1614556800000000); /* 2021-03-01T00:00:00Z */
	req.to_us = req.from_us + 2 * INT64_C(3600000000);
	for (i = 1; i <= 3; i++) {
		got.len = 0;
		from_files(&got, &rej, paths, 1, kind, &req, i, 256);
		assert_string_equal(got.p, "buckets=2 types=0\nacme|INGEST|1 total=1: 0=1\n");
	}
	assert_null(rej.p);
	scli_zone_free(utc);
	free(t.p);
	free(got.p);
}

static void test_json(void **state)
{
	char path[600];
	const char *paths[1] = {path};
	text t = {0};

	(void)state;
	putz(&t, "[{\"customer_id\":\"acme\",\"event_type\":\"INGEST\",\"transaction_id\":\"j1\","
		 "\"timestamp\":\"2021-03-01T04:00:00Z\"},\n");
	putz(&t, "{\"customer_id\":\"acme\",\"event_type\":\"QUERY\",\"transaction_id\":\"j1\","
		 "\"timestamp\":\"2021-03-02T04:00:00Z\"},\n");
	putz(&t, "{\"customer_id\":\"beta\",\"event_type\":\"INGEST\",\"transaction_id\":1.5,"
		 "\"timestamp\":\"2021-03-02T04:00:00Z\"}]\n");
	snprintf(path, sizeof(path), "%s/j.json", test_tmpdir);
	write_file(path, &t);
	check_all(paths, 1, "json");
	free(t.p);
}

/* Past the memory limit: SCLI_ENOMEM and a message, no result. */
static void test_memory_limit(void **state)
{
	gen g = {0};
	char path[600];
	const char *paths[1] = {path};
	scli_count_sources_options opts = {0};
	scli_count_sources_report report;
	scli_count_result *res = NULL;
	scli_count_request req;
	scli_zone *zone = NULL;
	text t = {0};
	unsigned threads;

	(void)state;
	snprintf(path, sizeof(path), "%s/mem.csv", test_tmpdir);
	generate(&t, &g, 60000, 1, 8);
	write_file(path, &t);
	request(&req, &zone, &queries[0]);
	for (threads = 1; threads <= 2; threads++) {
		opts.threads = threads;
		opts.part_bytes = 64 << 10;
		opts.memory_limit = 1 << 20;
		assert_int_equal(scli_service_count_sources(&res, &report, paths, 1,
							    scli_collector_kind_find("csv"), &req,
							    &opts),
				 SCLI_ENOMEM);
		assert_null(res);
		assert_non_null(strstr(scli_error_last(), "memory limit of 1 MiB"));
		assert_true(report.memory_peak <= opts.memory_limit);
		opts.memory_limit = 64 << 20;
		assert_int_equal(scli_service_count_sources(&res, &report, paths, 1,
							    scli_collector_kind_find("csv"), &req,
							    &opts),
				 0);
		assert_true(report.identities > 50000);
		assert_true(report.memory_peak > 1 << 20 && report.memory_peak <= 64 << 20);
		scli_count_result_free(res);
	}
	scli_zone_free(zone);
	free(t.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain),	 cmocka_unit_test(test_rejects_and_line_ends),
	    cmocka_unit_test(test_header_bom),	 cmocka_unit_test(test_quotes),
	    cmocka_unit_test(test_long_line),	 cmocka_unit_test(test_across_files),
	    cmocka_unit_test(test_first_wins),	 cmocka_unit_test(test_json),
	    cmocka_unit_test(test_memory_limit),
	};

	return cmocka_run_group_tests(tests, test_tmpdir_make, test_tmpdir_remove);
}
