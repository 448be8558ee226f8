/*
 * The in-memory repository: the reference the contract suite holds every
 * other adapter to, and a fast stand-in for tests. It keeps raw events only
 * (no rollup): counting scans them, which is what a rollup must agree with.
 * The load ledger is an array of records; a record's id is its index + 1.
 */
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scli/alloc.h"
#include "scli/cell_plan.h"
#include "scli/sys/adapters.h"
#include "scli/timestamp.h"

#define NOT_INITIALISED_MSG "database is not initialised; run `scli init-db` first"

typedef struct memory_repo {
	scli_repo base; /* must be first: scli_repo * <-> memory_repo * */
	int initialised;
	scli_event *events; /* stored events, in insertion order */
	size_t nevents, events_cap;
	/* Open-addressing identity set: slot holds index + 1 into events, 0 = empty.
	 * nslots is a power of two and kept at least twice nevents. */
	size_t *slots;
	size_t nslots;
	scli_load_record *loads; /* the ledger; loads[i].id == i + 1 */
	size_t nloads, loads_cap;
} memory_repo;

/* A (customer, hour) occurrence collected while counting. */
typedef struct hour_key {
	const char *customer_id;
	int64_t hour;
} hour_key;

/* A (customer, event type or NULL, window) occurrence collected while counting windows. */
typedef struct window_key {
	const char *customer_id;
	const char *event_type;
	size_t window;
} window_key;

static uint64_t identity_hash(const scli_event *ev)
{
	/* FNV-1a over customer_id, a separator that cannot occur in either field,
	 * then transaction_id, so ("ab","c") and ("a","bc") differ. */
	uint64_t h = UINT64_C(14695981039346656037);
	size_t i;

	for (i = 0; i < ev->customer_id_len; i++)
		h = (h ^ (unsigned char)ev->customer_id[i]) * UINT64_C(1099511628211);
	h = (h ^ 0u) * UINT64_C(1099511628211);
	for (i = 0; i < ev->transaction_id_len; i++)
		h = (h ^ (unsigned char)ev->transaction_id[i]) * UINT64_C(1099511628211);
	return h;
}

static int same_identity(const scli_event *a, const scli_event *b)
{
	return a->customer_id_len == b->customer_id_len &&
	       a->transaction_id_len == b->transaction_id_len &&
	       !memcmp(a->customer_id, b->customer_id, a->customer_id_len) &&
	       !memcmp(a->transaction_id, b->transaction_id, a->transaction_id_len);
}

/* The slot holding `ev`'s identity, or the empty slot where it would go. */
static size_t *find_slot(size_t *slots, size_t nslots, const scli_event *events,
			 const scli_event *ev)
{
	size_t mask = nslots - 1, i = (size_t)identity_hash(ev) & mask;

	while (slots[i] && !same_identity(&events[slots[i] - 1], ev))
		i = (i + 1) & mask;
	return &slots[i];
}

/* Make room for `extra` more events in both the array and the set, so that the
 * batch itself cannot fail half-way: all allocation happens here, up front. */
static int reserve(memory_repo *m, size_t extra)
{
	size_t want = m->nevents + extra, nslots, i;
	size_t *slots = NULL;
	int error = 0;

	if (want < m->nevents || want > SIZE_MAX / 4 / sizeof(scli_event)) {
		error = scli_error_set(SCLI_ENOMEM, "memory repository: too many events");
		goto done;
	}
	if (want > m->events_cap) {
		size_t cap = m->events_cap ? m->events_cap : 1024;
		scli_event *events;

		while (cap < want)
			cap *= 2;
		if (!(events = scli_realloc(m->events, cap * sizeof(*events)))) {
			error = scli_error_set(SCLI_ENOMEM, "memory repository: out of memory");
			goto done;
		}
		m->events = events;
		m->events_cap = cap;
	}
	if (want * 2 <= m->nslots)
		goto done;
	for (nslots = m->nslots ? m->nslots : 2048; nslots < want * 2;)
		nslots *= 2;
	if (!(slots = scli_calloc(nslots, sizeof(*slots)))) {
		error = scli_error_set(SCLI_ENOMEM, "memory repository: out of memory");
		goto done;
	}
	for (i = 0; i < m->nevents; i++)
		*find_slot(slots, nslots, m->events, &m->events[i]) = i + 1;
	scli_free(m->slots);
	m->slots = slots;
	m->nslots = nslots;
	slots = NULL;
done:
	scli_free(slots);
	return error;
}

static int memory_init_schema(scli_repo *r)
{
	((memory_repo *)r)->initialised = 1;
	return 0;
}

static int memory_check_schema(scli_repo *r)
{
	if (!((memory_repo *)r)->initialised)
		return scli_error_set(SCLI_ESCHEMA, NOT_INITIALISED_MSG);
	return 0;
}

static int memory_store_batch(size_t *inserted_out, size_t *duplicates_out, scli_repo *r,
			      const scli_event *events, size_t n)
{
	memory_repo *m = (memory_repo *)r;
	size_t i, inserted = 0, duplicates = 0;
	int error;

	*inserted_out = *duplicates_out = 0;
	/* SQLite has no tables to write into before init-db; behave the same. */
	if ((error = memory_check_schema(r)) < 0)
		goto done;
	if ((error = reserve(m, n)) < 0)
		goto done;
	for (i = 0; i < n; i++) {
		size_t *slot = find_slot(m->slots, m->nslots, m->events, &events[i]);

		if (*slot) {
			duplicates++;
			continue;
		}
		m->events[m->nevents] = events[i];
		*slot = ++m->nevents;
		inserted++;
	}
	*inserted_out = inserted;
	*duplicates_out = duplicates;
done:
	return error;
}

static int compare_hour_keys(const void *a, const void *b)
{
	const hour_key *x = a, *y = b;
	int c = strcmp(x->customer_id, y->customer_id);

	if (c)
		return c;
	return (x->hour > y->hour) - (x->hour < y->hour);
}

static int memory_count_hourly(scli_repo *r, const char *customer_id, int64_t from_us,
			       int64_t to_us, scli_hour_cb cb, void *ctx)
{
	memory_repo *m = (memory_repo *)r;
	hour_key *keys = NULL;
	size_t i, nkeys = 0;
	int error;

	if ((error = memory_check_schema(r)) < 0)
		goto done;
	if (!m->nevents)
		goto done;
	if (!(keys = scli_malloc(m->nevents * sizeof(*keys)))) {
		error = scli_error_set(SCLI_ENOMEM, "memory repository: out of memory");
		goto done;
	}
	for (i = 0; i < m->nevents; i++) {
		const scli_event *ev = &m->events[i];

		if (ev->ts_us < from_us || ev->ts_us >= to_us)
			continue;
		if (customer_id && strcmp(ev->customer_id, customer_id))
			continue;
		keys[nkeys].customer_id = ev->customer_id;
		keys[nkeys].hour = scli_hour_floor(ev->ts_us);
		nkeys++;
	}
	/* Sorting groups each (customer, hour) into one run: reported once, summed. */
	qsort(keys, nkeys, sizeof(*keys), compare_hour_keys);
	for (i = 0; i < nkeys;) {
		size_t j = i + 1;

		while (j < nkeys && !compare_hour_keys(&keys[i], &keys[j]))
			j++;
		if ((error = cb(ctx, keys[i].customer_id, keys[i].hour, (int64_t)(j - i))) < 0)
			goto done;
		i = j;
	}
done:
	scli_free(keys);
	return error;
}

/* True when `s` is one of the n texts of `list`; an empty list holds everything. */
static bool in_list(const char *const *list, size_t n, const char *s)
{
	size_t i;

	if (!n)
		return true;
	for (i = 0; i < n; i++)
		if (!strcmp(list[i], s))
			return true;
	return false;
}

static int compare_window_keys(const void *a, const void *b)
{
	const window_key *x = a, *y = b;
	int c = strcmp(x->customer_id, y->customer_id);

	if (c)
		return c;
	if (x->event_type && (c = strcmp(x->event_type, y->event_type)))
		return c;
	return (x->window > y->window) - (x->window < y->window);
}

/* The oracle for every other adapter: each stored event is looked at on its
 * own, kept when the query's filters and bounds take it, and its window found
 * by search; equal keys are then summed. */
static int memory_count_windows(scli_repo *r, const scli_window_query *q, scli_window_cb cb,
				void *ctx)
{
	memory_repo *m = (memory_repo *)r;
	window_key *keys = NULL;
	size_t i, nkeys = 0;
	int error;

	if ((error = memory_check_schema(r)) < 0)
		goto done;
	if (!m->nevents)
		goto done;
	if (!(keys = scli_malloc(m->nevents * sizeof(*keys)))) {
		error = scli_error_set(SCLI_ENOMEM, "memory repository: out of memory");
		goto done;
	}
	for (i = 0; i < m->nevents; i++) {
		const scli_event *ev = &m->events[i];
		size_t w = scli_window_index(q->bounds, q->n_windows, ev->ts_us);

		if (w == q->n_windows || !in_list(q->customers, q->n_customers, ev->customer_id) ||
		    !in_list(q->event_types, q->n_event_types, ev->event_type))
			continue;
		keys[nkeys].customer_id = ev->customer_id;
		keys[nkeys].event_type = q->by_event_type ? ev->event_type : NULL;
		keys[nkeys].window = w;
		nkeys++;
	}
	qsort(keys, nkeys, sizeof(*keys), compare_window_keys);
	for (i = 0; i < nkeys;) {
		size_t j = i + 1;

		while (j < nkeys && !compare_window_keys(&keys[i], &keys[j]))
			j++;
		if ((error = cb(ctx, keys[i].customer_id, keys[i].event_type, keys[i].window,
				(int64_t)(j - i))) < 0)
			goto done;
		i = j;
	}
done:
	scli_free(keys);
	return error;
}

static int memory_schema_version(int *version_out, scli_repo *r)
{
	*version_out = ((memory_repo *)r)->initialised ? SCLI_SCHEMA_VERSION : 0;
	return 0;
}

/* Bounded copy of a record's string field: the fields are fixed buffers, and a
 * caller's record is not trusted to hold a NUL inside them. */
static void copy_field(char *dst, size_t cap, const char *src)
{
	size_t len = strnlen(src, cap - 1);

	memcpy(dst, src, len);
	dst[len] = '\0';
}

static int memory_ledger_begin(int64_t *id_out, scli_repo *r, const scli_load_record *rec)
{
	memory_repo *m = (memory_repo *)r;
	scli_load_record *load;
	int error;

	*id_out = 0;
	if ((error = memory_check_schema(r)) < 0)
		goto done;
	if (m->nloads == m->loads_cap) {
		size_t cap = m->loads_cap ? m->loads_cap * 2 : 16;
		scli_load_record *loads;

		if (cap > SIZE_MAX / sizeof(*loads) ||
		    !(loads = scli_realloc(m->loads, cap * sizeof(*loads)))) {
			error = scli_error_set(SCLI_ENOMEM, "memory repository: out of memory");
			goto done;
		}
		m->loads = loads;
		m->loads_cap = cap;
	}
	load = &m->loads[m->nloads];
	memset(load, 0, sizeof(*load));
	load->id = (int64_t)m->nloads + 1;
	load->state = SCLI_LOAD_RUNNING;
	copy_field(load->source, sizeof(load->source), rec->source);
	load->size = rec->size;
	copy_field(load->hash, sizeof(load->hash), rec->hash);
	copy_field(load->collector, sizeof(load->collector), rec->collector);
	load->started_us = rec->started_us;
	m->nloads++;
	*id_out = load->id;
done:
	return error;
}

static int memory_ledger_finish(scli_repo *r, const scli_load_record *rec)
{
	memory_repo *m = (memory_repo *)r;
	scli_load_record *load;
	int error;

	assert(rec->state == SCLI_LOAD_RUNNING || rec->state == SCLI_LOAD_COMPLETED ||
	       rec->state == SCLI_LOAD_FAILED);
	if ((error = memory_check_schema(r)) < 0)
		return error;
	if (rec->id < 1 || (uint64_t)rec->id > m->nloads)
		return scli_error_set(SCLI_ENOTFOUND, "no load with id %lld", (long long)rec->id);
	load = &m->loads[rec->id - 1];
	load->state = rec->state;
	load->ended_us = rec->ended_us;
	load->rows_read = rec->rows_read;
	load->inserted = rec->inserted;
	load->duplicates = rec->duplicates;
	load->rejected = rec->rejected;
	copy_field(load->error, sizeof(load->error), rec->error);
	return 0;
}

static int memory_ledger_find_completed(scli_load_record *rec_out, scli_repo *r, const char *hash,
					const char *collector)
{
	memory_repo *m = (memory_repo *)r;
	size_t i;
	int error;

	if ((error = memory_check_schema(r)) < 0)
		return error;
	for (i = m->nloads; i-- > 0;) {
		if (m->loads[i].state == SCLI_LOAD_COMPLETED && !strcmp(m->loads[i].hash, hash) &&
		    !strcmp(m->loads[i].collector, collector)) {
			*rec_out = m->loads[i];
			return 0;
		}
	}
	return scli_error_set(SCLI_ENOTFOUND, "no completed load with that hash");
}

static int memory_ledger_list(scli_repo *r, size_t limit, scli_load_record_cb cb, void *ctx)
{
	memory_repo *m = (memory_repo *)r;
	size_t i, listed = 0;
	int error;

	if ((error = memory_check_schema(r)) < 0)
		return error;
	/* A copy, so the callback sees plain data it cannot use to edit the ledger. */
	for (i = m->nloads; i-- > 0 && listed < limit; listed++) {
		scli_load_record rec = m->loads[i];

		if ((error = cb(ctx, &rec)) < 0)
			return error;
	}
	return 0;
}

static void memory_free(scli_repo *r)
{
	memory_repo *m = (memory_repo *)r;

	scli_free(m->events);
	scli_free(m->slots);
	scli_free(m->loads);
	scli_free(m);
}

static const scli_repo_ops memory_ops = {
    .version = SCLI_REPO_OPS_VERSION,
    .name = "memory",
    .init_schema = memory_init_schema,
    .check_schema = memory_check_schema,
    .store_batch = memory_store_batch,
    .count_hourly = memory_count_hourly,
    .free = memory_free,
    .schema_version = memory_schema_version,
    .ledger_begin = memory_ledger_begin,
    .ledger_finish = memory_ledger_finish,
    .ledger_find_completed = memory_ledger_find_completed,
    .ledger_list = memory_ledger_list,
    .count_windows = memory_count_windows,
};

int scli_repo_memory_new(scli_repo **out)
{
	memory_repo *m;

	*out = NULL;
	if (!(m = scli_calloc(1, sizeof(*m))))
		return scli_error_set(SCLI_ENOMEM, "memory repository: out of memory");
	m->base.ops = &memory_ops;
	*out = &m->base;
	return 0;
}
