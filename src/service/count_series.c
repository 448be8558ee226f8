/*
 * The series of a count being built, found by (customer, event type): an
 * open-addressing hash table over a growing array, so a repository may report
 * its counts in any order and many customers cost no more than a few.
 */
#include <stdlib.h>
#include <string.h>

#include "count_internal.h"
#include "scli/alloc.h"
#include "scli/error.h"

struct scli_series_table {
	scli_customer_series *series;
	size_t n, cap;	 /* series used and allocated */
	size_t *slots;	 /* index + 1 into `series`; 0: empty */
	size_t nslots;	 /* a power of two, more than twice n */
	size_t nbuckets; /* counts per series */
	bool by_type;
};

/* FNV-1a over the customer, a separator no id holds, and the type. */
static size_t key_hash(const char *customer, const char *type)
{
	uint64_t h = UINT64_C(14695981039346656037);
	const unsigned char *p;

	for (p = (const unsigned char *)customer; *p; p++)
		h = (h ^ *p) * UINT64_C(1099511628211);
	h = (h ^ 0x1f) * UINT64_C(1099511628211);
	for (p = (const unsigned char *)(type ? type : ""); *p; p++)
		h = (h ^ *p) * UINT64_C(1099511628211);
	return (size_t)(h ^ (h >> 32));
}

static bool same_key(const scli_customer_series *s, const char *customer, const char *type)
{
	return !strcmp(s->customer_id, customer) && !strcmp(s->event_type, type ? type : "") &&
	       s->has_event_type == (type != NULL);
}

int scli_series_table_new(scli_series_table **out, size_t nbuckets, bool by_type)
{
	scli_series_table *t = scli_calloc(1, sizeof(*t));

	*out = NULL;
	if (!t || !(t->slots = scli_calloc(16, sizeof(*t->slots)))) {
		scli_free(t);
		return scli_error_set(SCLI_ENOMEM, "out of memory");
	}
	t->nslots = 16;
	t->nbuckets = nbuckets;
	t->by_type = by_type;
	*out = t;
	return 0;
}

void scli_series_table_free(scli_series_table *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->n; i++)
		scli_free(t->series[i].counts);
	scli_free(t->series);
	scli_free(t->slots);
	scli_free(t);
}

static size_t *find_slot(size_t *slots, size_t nslots, const scli_customer_series *series,
			 const char *customer, const char *type)
{
	size_t i = key_hash(customer, type) & (nslots - 1);

	while (slots[i] && !same_key(&series[slots[i] - 1], customer, type))
		i = (i + 1) & (nslots - 1);
	return &slots[i];
}

/* Room for one more series: the array and, past half full, the slots. */
static int make_room(scli_series_table *t)
{
	size_t i;

	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		scli_customer_series *s = scli_realloc(t->series, cap * sizeof(*s));

		if (!s)
			return scli_error_set(SCLI_ENOMEM, "out of memory for count series");
		t->series = s;
		t->cap = cap;
	}
	if ((t->n + 1) * 2 > t->nslots) {
		size_t nslots = t->nslots * 2, *slots = scli_calloc(nslots, sizeof(*slots));

		if (!slots)
			return scli_error_set(SCLI_ENOMEM, "out of memory for count series");
		for (i = 0; i < t->n; i++) {
			const scli_customer_series *s = &t->series[i];

			*find_slot(slots, nslots, t->series, s->customer_id,
				   s->has_event_type ? s->event_type : NULL) = i + 1;
		}
		scli_free(t->slots);
		t->slots = slots;
		t->nslots = nslots;
	}
	return 0;
}

int scli_series_table_get(scli_customer_series **out, scli_series_table *t, const char *customer,
			  const char *event_type)
{
	size_t *slot = find_slot(t->slots, t->nslots, t->series, customer, event_type);
	size_t clen = strlen(customer), tlen = event_type ? strlen(event_type) : 0;
	scli_customer_series *s;
	int error;

	if (*slot) {
		*out = &t->series[*slot - 1];
		return 0;
	}
	*out = NULL;
	if (clen > SCLI_CUSTOMER_ID_MAX || tlen > SCLI_EVENT_TYPE_MAX)
		return scli_error_set(SCLI_ERROR, "repository returned an over-long id or type");
	if ((error = make_room(t)) < 0)
		return error;
	s = &t->series[t->n];
	memset(s, 0, sizeof(*s));
	/* scli_calloc(0) may return NULL; keep at least one slot so NULL means failure */
	if (!(s->counts = scli_calloc(t->nbuckets ? t->nbuckets : 1, sizeof(*s->counts))))
		return scli_error_set(SCLI_ENOMEM, "out of memory for %zu buckets", t->nbuckets);
	memcpy(s->customer_id, customer, clen + 1);
	memcpy(s->event_type, event_type ? event_type : "", tlen + 1);
	s->has_event_type = event_type != NULL;
	*find_slot(t->slots, t->nslots, t->series, customer, event_type) = ++t->n;
	*out = s;
	return 0;
}

size_t scli_series_table_size(const scli_series_table *t)
{
	return t->n;
}

static int compare_series(const void *a, const void *b)
{
	const scli_customer_series *x = a, *y = b;
	int c = strcmp(x->customer_id, y->customer_id);

	if (c)
		return c;
	if (x->has_event_type != y->has_event_type)
		return x->has_event_type ? 1 : -1;
	return strcmp(x->event_type, y->event_type);
}

void scli_series_table_take(scli_customer_series **series_out, size_t *n_out, scli_series_table *t)
{
	if (t->n) /* qsort(NULL, 0, ...) is undefined */
		qsort(t->series, t->n, sizeof(*t->series), compare_series);
	*series_out = t->series;
	*n_out = t->n;
	t->series = NULL;
	t->n = t->cap = 0;
	memset(t->slots, 0, t->nslots * sizeof(*t->slots));
}
