/*
 * Test support for the repository suites: events, stores, counts and ledger
 * records with their checks. Static inline, so each suite has its own copy and
 * no name here is shared by every test program linking tests/support.
 */
#ifndef SCLI_TEST_REPO_HELPERS_H
#define SCLI_TEST_REPO_HELPERS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "scli/sys/repository.h"
#include "scli/timestamp.h"

#define H SCLI_US_PER_HOUR
#define MIN (INT64_C(60) * SCLI_US_PER_SECOND)
/* 2021-03-01T00:00:00Z, the day of the reference data. */
#define DAY INT64_C(1614556800000000)
#define AT(hh, mm) (DAY + (int64_t)(hh)*H + (int64_t)(mm)*MIN)

static inline void event_fill(scli_event *ev, const char *customer_id, const char *transaction_id,
			      int64_t ts_us)
{
	memset(ev, 0, sizeof(*ev));
	ev->ts_us = ts_us;
	ev->customer_id_len = (uint16_t)strlen(customer_id);
	ev->transaction_id_len = (uint16_t)strlen(transaction_id);
	ev->event_type_len = 5;
	assert_true(ev->customer_id_len <= SCLI_CUSTOMER_ID_MAX);
	assert_true(ev->transaction_id_len <= SCLI_TRANSACTION_ID_MAX);
	memcpy(ev->customer_id, customer_id, ev->customer_id_len + 1);
	memcpy(ev->transaction_id, transaction_id, ev->transaction_id_len + 1);
	memcpy(ev->event_type, "click", 6);
}

/* Store events given as (customer, transaction, ts) triples; check the tally. */
static inline void store(scli_repo *r, size_t want_inserted, size_t want_duplicates,
			 const scli_event *events, size_t n)
{
	size_t inserted = 99, duplicates = 99;
	int error = scli_repo_store_batch(&inserted, &duplicates, r, events, n);

	if (error < 0)
		fail_msg("store_batch: %d %s", error, scli_error_last());
	assert_int_equal(inserted, want_inserted);
	assert_int_equal(duplicates, want_duplicates);
}

static inline void store1(scli_repo *r, const char *customer_id, const char *transaction_id,
			  int64_t ts_us)
{
	scli_event ev;

	event_fill(&ev, customer_id, transaction_id, ts_us);
	store(r, 1, 0, &ev, 1);
}

typedef struct hour_row {
	char customer_id[SCLI_CUSTOMER_ID_MAX + 1];
	int64_t hour;
	int64_t count;
} hour_row;

/* Every count_hourly result goes through here, so every test also checks the
 * "each (customer, hour) exactly once, hour-aligned, non-zero" promise. */
typedef struct tally {
	hour_row rows[4096];
	size_t n;
	int stop_after; /* > 0: return -42 from that callback on */
} tally;

static inline int collect(void *p, const char *customer_id, int64_t hour, int64_t count)
{
	tally *t = p;
	size_t i;

	assert_non_null(customer_id);
	assert_true(count > 0);
	assert_true(hour == scli_hour_floor(hour));
	for (i = 0; i < t->n; i++)
		if (t->rows[i].hour == hour && !strcmp(t->rows[i].customer_id, customer_id))
			fail_msg("(%s, %lld) reported twice", customer_id, (long long)hour);
	assert_true(t->n < sizeof(t->rows) / sizeof(t->rows[0]));
	assert_true(strlen(customer_id) <= SCLI_CUSTOMER_ID_MAX);
	strcpy(t->rows[t->n].customer_id, customer_id);
	t->rows[t->n].hour = hour;
	t->rows[t->n].count = count;
	t->n++;
	if (t->stop_after && (int)t->n >= t->stop_after)
		return -42;
	return 0;
}

static inline tally *count(scli_repo *r, const char *customer_id, int64_t from, int64_t to)
{
	tally *t = calloc(1, sizeof(*t));
	int error;

	assert_non_null(t);
	if ((error = scli_repo_count_hourly(r, customer_id, from, to, collect, t)) < 0)
		fail_msg("count_hourly: %d %s", error, scli_error_last());
	return t;
}

/* Count reported for (customer, hour); 0 when not reported. */
static inline int64_t at(const tally *t, const char *customer_id, int64_t hour)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (t->rows[i].hour == hour && !strcmp(t->rows[i].customer_id, customer_id))
			return t->rows[i].count;
	return 0;
}

static inline int64_t total(const tally *t)
{
	int64_t sum = 0;
	size_t i;

	for (i = 0; i < t->n; i++)
		sum += t->rows[i].count;
	return sum;
}

static inline void assert_error_contains(const char *needle)
{
	if (!strstr(scli_error_last(), needle))
		fail_msg("error \"%s\" does not contain \"%s\"", scli_error_last(), needle);
}

#define HASH_A "0123456789abcdef0123456789abcdef"
#define HASH_B "fedcba9876543210fedcba9876543210"

static inline void load_fill(scli_load_record *rec, const char *source, int64_t size,
			     const char *hash, int64_t started_us)
{
	memset(rec, 0, sizeof(*rec));
	assert_true(strlen(source) < sizeof(rec->source));
	assert_true(strlen(hash) < sizeof(rec->hash));
	strcpy(rec->source, source);
	strcpy(rec->hash, hash);
	strcpy(rec->collector, "csv");
	rec->size = size;
	rec->started_us = started_us;
}

static inline int64_t begin_load(scli_repo *r, const char *source, const char *hash,
				 int64_t started_us)
{
	scli_load_record rec;
	int64_t id = -1;
	int error;

	load_fill(&rec, source, 1234, hash, started_us);
	if ((error = scli_repo_ledger_begin(&id, r, &rec)) < 0)
		fail_msg("ledger_begin: %d %s", error, scli_error_last());
	assert_true(id > 0);
	return id;
}

static inline void finish_load(scli_repo *r, int64_t id, scli_load_state state, const char *why)
{
	scli_load_record rec;
	int error;

	memset(&rec, 0, sizeof(rec));
	rec.id = id;
	rec.state = state;
	rec.ended_us = AT(23, 0);
	rec.rows_read = 3;
	rec.inserted = 2;
	rec.duplicates = 1;
	strcpy(rec.error, why);
	if ((error = scli_repo_ledger_finish(r, &rec)) < 0)
		fail_msg("ledger_finish: %d %s", error, scli_error_last());
}

typedef struct load_list {
	scli_load_record recs[32];
	size_t n;
	size_t stop_after; /* > 0: return -42 from that callback on */
} load_list;

static inline int collect_load(void *p, const scli_load_record *rec)
{
	load_list *l = p;

	assert_non_null(rec);
	assert_true(l->n < sizeof(l->recs) / sizeof(l->recs[0]));
	/* whatever the table held, the record's strings end inside their buffers */
	assert_true(strnlen(rec->source, sizeof(rec->source)) < sizeof(rec->source));
	assert_true(strnlen(rec->hash, sizeof(rec->hash)) < sizeof(rec->hash));
	assert_true(strnlen(rec->error, sizeof(rec->error)) < sizeof(rec->error));
	l->recs[l->n++] = *rec;
	if (l->stop_after && l->n >= l->stop_after)
		return -42;
	return 0;
}

static inline load_list *list_loads(scli_repo *r, size_t limit)
{
	load_list *l = calloc(1, sizeof(*l));
	int error;

	assert_non_null(l);
	if ((error = scli_repo_ledger_list(r, limit, collect_load, l)) < 0)
		fail_msg("ledger_list: %d %s", error, scli_error_last());
	return l;
}

static inline void assert_load_equal(const scli_load_record *want, const scli_load_record *got)
{
	assert_int_equal(got->id, want->id);
	assert_int_equal(got->state, want->state);
	assert_string_equal(got->source, want->source);
	assert_int_equal(got->size, want->size);
	assert_string_equal(got->hash, want->hash);
	assert_int_equal(got->started_us, want->started_us);
	assert_int_equal(got->ended_us, want->ended_us);
	assert_int_equal(got->rows_read, want->rows_read);
	assert_int_equal(got->inserted, want->inserted);
	assert_int_equal(got->duplicates, want->duplicates);
	assert_int_equal(got->rejected, want->rejected);
	assert_string_equal(got->error, want->error);
	assert_string_equal(got->collector, want->collector);
}

#endif
