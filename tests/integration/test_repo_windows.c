/*
 * The repository contract for window counts (count_windows, issue 15), run
 * against every adapter like test_repo_contract.c, and again with identity
 * keys weakened so that they collide. Events straddle 2021's clock changes in
 * the US, Europe, Newfoundland and Lord Howe, come before 1970 too, fall on
 * cell and window bounds, and have several customers and event types; random
 * ranges in real and fixed-offset zones, at every window size, with and
 * without event-type filters, grouping and customer lists, are checked
 * against a count of the same events one by one.
 */
#include <stdbool.h>

#include "adapters/repo_keys.h"
#include "scli/alloc.h"
#include "scli/cell_plan.h"
#include "scli/window.h"
#include "scli/zone.h"
#include "support/repo_factories.h"
#include "support/repo_helpers.h"

#define SEC SCLI_US_PER_SECOND
#define DAY_US (24 * H)

/* One (customer, event type, window) count; type "" when not by type. */
typedef struct wrow {
	char customer[SCLI_CUSTOMER_ID_MAX + 1];
	char type[SCLI_EVENT_TYPE_MAX + 1];
	size_t window;
	int64_t count;
} wrow;

typedef struct wtally {
	const scli_window_query *q;
	wrow *rows;
	size_t n, cap;
	int stop_after; /* > 0: return -42 from that callback on */
} wtally;

static void wtally_add(wtally *t, const char *customer, const char *type, size_t window,
		       int64_t count)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 256;
		t->rows = realloc(t->rows, t->cap * sizeof(*t->rows));
		assert_non_null(t->rows);
	}
	assert_true(strlen(customer) <= SCLI_CUSTOMER_ID_MAX);
	assert_true(strlen(type) <= SCLI_EVENT_TYPE_MAX);
	strcpy(t->rows[t->n].customer, customer);
	strcpy(t->rows[t->n].type, type);
	t->rows[t->n].window = window;
	t->rows[t->n].count = count;
	t->n++;
}

/* Every count_windows result goes through here, which checks the port's promises. */
static int wcollect(void *p, const char *customer, const char *type, size_t window, int64_t count)
{
	wtally *t = p;

	assert_non_null(customer);
	assert_true(t->q->by_event_type ? type != NULL : type == NULL);
	assert_true(window < t->q->n_windows);
	assert_true(count >= 0);
	wtally_add(t, customer, type ? type : "", window, count);
	if (t->stop_after && (int)t->n >= t->stop_after)
		return -42;
	return 0;
}

static int compare_wrows(const void *a, const void *b)
{
	const wrow *x = a, *y = b;
	int c = strcmp(x->customer, y->customer);

	if (!c)
		c = strcmp(x->type, y->type);
	if (!c)
		c = (x->window > y->window) - (x->window < y->window);
	return c;
}

/* Sort, sum equal keys, drop zeros: one row per counted key. */
static void wtally_normalise(wtally *t)
{
	size_t i, out = 0;

	if (!t->n)
		return; /* rows may be NULL; qsort's pointer must not be */
	qsort(t->rows, t->n, sizeof(*t->rows), compare_wrows);
	for (i = 0; i < t->n; i++) {
		if (out && !compare_wrows(&t->rows[out - 1], &t->rows[i]))
			t->rows[out - 1].count += t->rows[i].count;
		else
			t->rows[out++] = t->rows[i];
	}
	t->n = out;
	for (i = out = 0; i < t->n; i++)
		if (t->rows[i].count)
			t->rows[out++] = t->rows[i];
	t->n = out;
}

static bool listed(const char *const *list, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(list[i], s))
			return true;
	return !n;
}

/* The same query answered one stored event at a time, windows by linear search. */
static void brute_force(wtally *t, const scli_window_query *q, const scli_event *evs, size_t n)
{
	size_t i, w;

	for (i = 0; i < n; i++) {
		const scli_event *ev = &evs[i];

		if (!listed(q->customers, q->n_customers, ev->customer_id) ||
		    !listed(q->event_types, q->n_event_types, ev->event_type))
			continue;
		for (w = 0; w < q->n_windows; w++)
			if (q->bounds[w] <= ev->ts_us && ev->ts_us < q->bounds[w + 1])
				wtally_add(t, ev->customer_id,
					   q->by_event_type ? ev->event_type : "", w, 1);
	}
	wtally_normalise(t);
}

/* count_windows against the brute force over `evs`; `what` says which query failed.
 * Returns how many events the query counted. */
static int64_t check_query(scli_repo *r, const scli_window_query *q, const scli_event *evs,
			   size_t n, const char *what)
{
	wtally got = {.q = q}, want = {.q = q};
	int64_t counted = 0;
	size_t i;
	int error;

	if ((error = scli_repo_count_windows(r, q, wcollect, &got)) < 0)
		fail_msg("%s: count_windows: %d %s", what, error, scli_error_last());
	wtally_normalise(&got);
	brute_force(&want, q, evs, n);
	for (i = 0; i < got.n && i < want.n; i++)
		if (compare_wrows(&got.rows[i], &want.rows[i]) ||
		    got.rows[i].count != want.rows[i].count)
			break;
	if (i < got.n || i < want.n)
		fail_msg("%s: row %zu of %zu/%zu differs: got %s %s w%zu = %lld, want %s %s w%zu = "
			 "%lld",
			 what, i, got.n, want.n, i < got.n ? got.rows[i].customer : "-",
			 i < got.n ? got.rows[i].type : "-", i < got.n ? got.rows[i].window : 0,
			 i < got.n ? (long long)got.rows[i].count : 0LL,
			 i < want.n ? want.rows[i].customer : "-",
			 i < want.n ? want.rows[i].type : "-", i < want.n ? want.rows[i].window : 0,
			 i < want.n ? (long long)want.rows[i].count : 0LL);
	for (i = 0; i < want.n; i++)
		counted += want.rows[i].count;
	free(got.rows);
	free(want.rows);
	return counted;
}

static void event_typed(scli_event *ev, const char *customer, const char *type, const char *txn,
			int64_t ts)
{
	event_fill(ev, customer, txn, ts);
	ev->event_type_len = (uint16_t)strlen(type);
	memcpy(ev->event_type, type, ev->event_type_len + 1);
}

static uint64_t rng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static const char *const customers[] = {"c1", "c2", "c3", "c'4; DROP TABLE x;--"};
static const char *const types[] = {"INGEST", "QUERY", "a type"};

/* Around 2021's changes (US, Europe, Lord Howe, both ways) and before 1970. */
static const int64_t centres_s[] = {1615705200, 1636264800, 1616893200, 1635642000,
				    1617462000, 1633188600, -14400,	-301276800};
#define NCENTRES (sizeof(centres_s) / sizeof(centres_s[0]))

/* Events near the centres, a third of them on a cell, half-hour or minute bound. */
static size_t make_events(scli_event *evs, size_t n, uint64_t *seed)
{
	size_t i;

	for (i = 0; i < n; i++) {
		int64_t ts = centres_s[rng(seed) % NCENTRES] * SEC - 2 * DAY_US +
			     (int64_t)(rng(seed) % (uint64_t)(4 * DAY_US));
		char txn[32];

		switch (rng(seed) % 6) {
		case 0:
			ts -= ((ts % SCLI_CELL_US) + SCLI_CELL_US) % SCLI_CELL_US;
			break;
		case 1:
			ts -= ((ts % (30 * MIN)) + 30 * MIN) % (30 * MIN);
			break;
		case 2:
			ts -= ((ts % MIN) + MIN) % MIN;
			break;
		}
		snprintf(txn, sizeof(txn), "t%zu", i);
		event_typed(&evs[i], customers[rng(seed) % 4], types[rng(seed) % 3], txn, ts);
	}
	return n;
}

/* The bounds of the windows over [from, to), the first and last cut to it. */
static int64_t *window_bounds(size_t *n_out, const scli_zone *z, scli_window_size size,
			      int64_t from, int64_t to)
{
	scli_window *wins = NULL;
	int64_t *bounds;
	size_t n = 0, i;

	assert_int_equal(scli_window_list(&wins, &n, z, size, from, to, NULL), 0);
	assert_true(n > 0);
	bounds = malloc((n + 1) * sizeof(*bounds));
	assert_non_null(bounds);
	bounds[0] = from;
	for (i = 1; i < n; i++)
		bounds[i] = wins[i].start;
	bounds[n] = to;
	scli_free(wins);
	*n_out = n;
	return bounds;
}

static const char *const zone_names[] = {"America/New_York",
					 "Europe/Berlin",
					 "Australia/Lord_Howe",
					 "Asia/Kolkata",
					 "Asia/Kathmandu",
					 "America/St_Johns",
					 "UTC",
					 "+05:30",
					 "-03:17",
					 "+05:45",
					 "+00:07"};

/* The longest range tried per window size: a few hundred windows at most. */
static const int64_t longest[] = {[SCLI_WINDOW_MINUTE] = 6 * H,
				  [SCLI_WINDOW_HOUR] = 4 * DAY_US,
				  [SCLI_WINDOW_DAY] = 40 * DAY_US,
				  [SCLI_WINDOW_MONTH] = 700 * DAY_US};

static void random_windows_match_brute_force(void **state)
{
	enum { N = 1500, PER_ZONE_SIZE = 5 };
	static scli_event evs[N];
	static const char *const one_type[] = {"QUERY"};
	static const char *const two_types[] = {"a type", "NOPE"};
	static const char *const one_customer[] = {"c2"};
	static const char *const some_customers[] = {"c1", "nobody", "c'4; DROP TABLE x;--", "c1"};
	fixture *fx = *state;
	uint64_t seed = 0x2545f4914f6cdd1dULL;
	size_t z, k, i, queries = 0, nonempty = 0;
	int size;

	make_events(evs, N, &seed);
	for (i = 0; i < N; i += 500)
		store(fx->repo, 500, 0, evs + i, 500);
	for (z = 0; z < sizeof(zone_names) / sizeof(zone_names[0]); z++) {
		scli_zone *zone = NULL;

		if (scli_zone_load(&zone, zone_names[z]) < 0) {
			/* only the system's tz database can be missing: say so, go on */
			print_message("# %s not loaded (%s): skipped\n", zone_names[z],
				      scli_error_last());
			continue;
		}
		for (size = SCLI_WINDOW_MINUTE; size <= SCLI_WINDOW_MONTH; size++) {
			for (k = 0; k < PER_ZONE_SIZE; k++) {
				int64_t c = centres_s[rng(&seed) % NCENTRES] * SEC;
				int64_t from = c - 3 * DAY_US / 2 +
					       (int64_t)(rng(&seed) % (uint64_t)(3 * DAY_US));
				int64_t to =
				    from + 1 + (int64_t)(rng(&seed) % (uint64_t)longest[size]);
				scli_window_query q = {0};
				char what[256];

				/* whole windows at the start or the end, or neither */
				if (k % 3 == 0)
					from =
					    scli_window_floor(zone, (scli_window_size)size, from);
				if (k % 2 == 0)
					to = scli_window_floor(zone, (scli_window_size)size, to);
				if (to <= from)
					to = from + MIN;
				q.bounds = window_bounds(&q.n_windows, zone, (scli_window_size)size,
							 from, to);
				switch (rng(&seed) % 3) {
				case 1:
					q.event_types = one_type;
					q.n_event_types = 1;
					break;
				case 2:
					q.event_types = two_types;
					q.n_event_types = 2;
					break;
				}
				switch (rng(&seed) % 3) {
				case 1:
					q.customers = one_customer;
					q.n_customers = 1;
					break;
				case 2:
					q.customers = some_customers;
					q.n_customers = 4;
					break;
				}
				q.by_event_type = rng(&seed) % 2;
				snprintf(
				    what, sizeof(what),
				    "%s %s [%lld, %lld) %zu windows, %zu types, %zu customers%s",
				    zone_names[z], scli_window_size_name((scli_window_size)size),
				    (long long)from, (long long)to, q.n_windows, q.n_event_types,
				    q.n_customers, q.by_event_type ? ", by type" : "");
				nonempty += check_query(fx->repo, &q, evs, N, what) > 0;
				queries++;
				free((void *)q.bounds);
			}
		}
		scli_zone_free(zone);
	}
	/* the ranges must find events: most of them count some */
	print_message("# %zu of %zu queries counted events\n", nonempty, queries);
	assert_true(nonempty * 3 > queries * 2);
}

/* By hand: bounds are half-open to the microsecond, filters take exact texts. */
static void window_bounds_are_exact(void **state)
{
	fixture *fx = *state;
	/* 00:00, 00:17:30, 00:45 (a cell bound), 02:00; the range ends at 02:00 */
	const int64_t bounds[] = {AT(0, 0), AT(0, 17) + 30 * SEC, AT(0, 45), AT(2, 0)};
	static const char *const unknown[] = {"nobody"};
	static const char *const unknown_type[] = {"NOPE"};
	scli_window_query q = {.bounds = bounds, .n_windows = 3};
	scli_event evs[8];

	event_typed(&evs[0], "c1", "A", "a", AT(0, 0) - 1);
	event_typed(&evs[1], "c1", "A", "b", AT(0, 0));
	event_typed(&evs[2], "c1", "B", "c", AT(0, 17) + 30 * SEC - 1);
	event_typed(&evs[3], "c1", "A", "d", AT(0, 17) + 30 * SEC);
	event_typed(&evs[4], "c2", "A", "e", AT(0, 45));
	event_typed(&evs[5], "c2", "B", "f", AT(1, 0));
	event_typed(&evs[6], "c2", "A", "g", AT(2, 0) - 1);
	event_typed(&evs[7], "c2", "A", "h", AT(2, 0));
	store(fx->repo, 8, 0, evs, 8);
	check_query(fx->repo, &q, evs, 8, "plain");
	q.by_event_type = true;
	check_query(fx->repo, &q, evs, 8, "by type");
	q.customers = unknown;
	q.n_customers = 1;
	check_query(fx->repo, &q, evs, 8, "unknown customer");
	q.customers = NULL;
	q.n_customers = 0;
	q.event_types = unknown_type;
	q.n_event_types = 1;
	check_query(fx->repo, &q, evs, 8, "unknown type");
}

static void window_callback_can_stop(void **state)
{
	fixture *fx = *state;
	const int64_t bounds[] = {AT(0, 0), AT(1, 0), AT(2, 0), AT(3, 0)};
	scli_window_query q = {.bounds = bounds, .n_windows = 3};
	wtally t = {.q = &q, .stop_after = 1};
	scli_event evs[3];

	event_fill(&evs[0], "c1", "a", AT(0, 10));
	event_fill(&evs[1], "c1", "b", AT(1, 10));
	event_fill(&evs[2], "c2", "c", AT(2, 10));
	store(fx->repo, 3, 0, evs, 3);
	assert_int_equal(scli_repo_count_windows(fx->repo, &q, wcollect, &t), -42);
	assert_int_equal(t.n, 1);
	free(t.rows);
	/* and the handle still counts afterwards */
	check_query(fx->repo, &q, evs, 3, "after a stop");
}

static const struct CMUnitTest window_tests[] = {
    cmocka_unit_test_setup_teardown(window_bounds_are_exact, setup_initialised, teardown_repo),
    cmocka_unit_test_setup_teardown(window_callback_can_stop, setup_initialised, teardown_repo),
    cmocka_unit_test_setup_teardown(random_windows_match_brute_force, setup_initialised,
				    teardown_repo),
};

static int run_group(const char *name)
{
	return cmocka_run_group_tests_name(name, window_tests, NULL, NULL);
}

int main(void)
{
	int first = repo_factories_run("repo windows", run_group, NULL), second;

	/* Again with colliding identity keys, as the main contract does. */
	repo_keys_test_weaken(3);
	second = repo_factories_run("repo windows, colliding identity keys", run_group, NULL);
	repo_keys_test_weaken(0);
	return first ? first : second;
}
