/*
 * The count from files (issue 18): the sources are read through the same
 * collectors as a load, in the order a load reads them, and counted with no
 * repository. The answer is the one a load into an empty database and a count
 * would give:
 *
 *  - every row goes through the collector, so what is rejected, with which
 *    reason and on which line, is exactly what a load reports;
 *  - an identity (customer_id, transaction_id) counts once, the first one
 *    read winning (a later copy at another time or of another type changes
 *    nothing), so every identity read is remembered (an exact set of texts,
 *    scli_identity_set), of the customers asked for only;
 *  - the counts go through the count use case's own build (count.c), so the
 *    series, zeros, sorting and checks are those of a count from a database.
 *
 * Threads. The identities are split into shards by their hash, one shard per
 * thread; a shard's events must be applied in the order they were read. A
 * regular, uncompressed CSV file is cut into parts of about 4 MiB after line
 * feeds; every thread takes the next part to parse (collector, filters,
 * window, hash), and applies to its own shard the parts in file order as
 * they are ready. Parse and apply overlap; no thread waits for another but to
 * keep the file order. A part can be read on its own only when it starts at a
 * row boundary; the collector kind says whether a part keeps every line feed
 * a row boundary (CSV: no quote in it). At the first part that does not, the
 * threads stop there and one collector reads the rest of the file in order.
 * Gzip files, standard input, pipes and JSON are read by one collector,
 * counted in batches in the same way.
 */
#define _DEFAULT_SOURCE /* sysconf(_SC_NPROCESSORS_ONLN) */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "count_internal.h"
#include "scli/alloc.h"
#include "scli/cell_plan.h"
#include "scli/identity_set.h"
#include "scli/service.h"
#include "scli/sys/collector.h"

#define MAX_THREADS 64
#define DEFAULT_MAX_THREADS 8
/* How far past a part's intended end a line feed is looked for before the
 * rest of the file is left to one collector (a line that long is rejected). */
#define LINE_SEARCH (2u << 20)
#define SEARCH_READ (64u << 10)
/* Rows of a source read by one collector, counted per batch. */
#define SERIAL_BATCH 8192
#define NO_WINDOW UINT32_MAX

/* ---- growable byte buffers ------------------------------------------------ */

typedef struct bytes {
	char *p;
	size_t len, cap;
} bytes;

/* Room for `n` more bytes at b->p + b->len. */
static int bytes_room(bytes *b, size_t n)
{
	size_t cap = b->cap ? b->cap : 4096;
	char *q;

	if (n <= b->cap - b->len)
		return 0;
	while (cap - b->len < n)
		cap *= 2;
	if (!(q = scli_realloc(b->p, cap)))
		return scli_error_set(SCLI_ENOMEM, "out of memory");
	b->p = q;
	b->cap = cap;
	return 0;
}

static int bytes_put(bytes *b, const void *p, size_t n)
{
	int error;

	if ((error = bytes_room(b, n)) < 0)
		return error;
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

/* A record and its key, appended with one check for room. */
static int bytes_put_record(bytes *b, const void *rec, size_t rec_len, const void *key, size_t len)
{
	int error;

	if ((error = bytes_room(b, rec_len + len)) < 0)
		return error;
	memcpy(b->p + b->len, rec, rec_len);
	memcpy(b->p + b->len + rec_len, key, len);
	b->len += rec_len + len;
	return 0;
}

/* ---- what a part (or a batch of rows) gives ---------------------------------- */

/*
 * One event of a customer asked for, as the parser hands it to the shard that
 * owns its identity; the key of its transaction id (scli_identity_key: a UUID
 * packed into 16 bytes) follows. Customers and types are numbers: their place
 * among those asked for, or else in the part's own names (part_out), which the
 * shard turns into its own numbers as it takes the record.
 */
typedef struct record {
	uint64_t hash;	   /* scli_identity_hash of the identity */
	uint32_t window;   /* the window it counts in; NO_WINDOW: none (outside, other type) */
	uint32_t customer; /* see above */
	uint32_t type;	   /* by event type and counted: see above; else 0 */
	uint16_t tag, len; /* of the key */
} record;

/* A rejected row; its reason (NUL-terminated) and raw text follow. */
typedef struct reject_head {
	uint64_t line;
	size_t reason_len, raw_len;
} reject_head;

/* Texts numbered in the order first seen. */
typedef struct dict {
	char **texts;
	size_t n, cap;
	uint32_t *slots; /* index + 1; 0: empty */
	size_t nslots;
	uint32_t last; /* index + 1 of the text found last: rows come in runs */
} dict;

typedef struct part_out {
	bytes *rec;	       /* per shard */
	dict customers, types; /* the part's names, when not named in the request */
	bytes rejects;	       /* reject_head + texts, in order */
	uint64_t rows;	       /* rows read, rejected ones included */
	uint64_t rejected;     /* of them */
	int64_t lines;	       /* line count of a part; -1: it cannot be read on its own */
	unsigned applied;      /* shards that have applied it */
} part_out;

static uint64_t text_hash(const char *s, size_t len)
{
	return scli_identity_hash(0, s, len, "", 0);
}

static bool dict_is(const dict *d, uint32_t idx, const char *s, size_t len)
{
	const char *t = d->texts[idx];

	return strncmp(t, s, len) == 0 && t[len] == '\0';
}

static int dict_grow(dict *d)
{
	size_t nslots = d->nslots ? d->nslots * 2 : 64, i, j;
	uint32_t *slots = scli_calloc(nslots, sizeof(*slots));

	if (!slots)
		return scli_error_set(SCLI_ENOMEM, "out of memory");
	for (i = 0; i < d->n; i++) {
		for (j = text_hash(d->texts[i], strlen(d->texts[i])) & (nslots - 1); slots[j];
		     j = (j + 1) & (nslots - 1))
			;
		slots[j] = (uint32_t)i + 1;
	}
	scli_free(d->slots);
	d->slots = slots;
	d->nslots = nslots;
	return 0;
}

/* The number of `s[0..len)` in `d`, added if new. */
static int dict_get(uint32_t *idx, dict *d, const char *s, size_t len)
{
	size_t j;
	char *copy;
	int error;

	if (d->last && dict_is(d, d->last - 1, s, len)) {
		*idx = d->last - 1;
		return 0;
	}
	if ((d->n + 1) * 2 > d->nslots && (error = dict_grow(d)) < 0)
		return error;
	for (j = text_hash(s, len) & (d->nslots - 1); d->slots[j]; j = (j + 1) & (d->nslots - 1))
		if (dict_is(d, d->slots[j] - 1, s, len)) {
			d->last = d->slots[j];
			*idx = d->slots[j] - 1;
			return 0;
		}
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		char **texts = scli_realloc(d->texts, cap * sizeof(*texts));

		if (!texts)
			return scli_error_set(SCLI_ENOMEM, "out of memory");
		d->texts = texts;
		d->cap = cap;
	}
	if (!(copy = scli_malloc(len + 1)))
		return scli_error_set(SCLI_ENOMEM, "out of memory");
	memcpy(copy, s, len);
	copy[len] = '\0';
	d->texts[d->n] = copy;
	d->slots[j] = (uint32_t)++d->n;
	d->last = d->slots[j];
	*idx = d->last - 1;
	return 0;
}

/* Empty again, keeping the room. */
static void dict_clear(dict *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		scli_free(d->texts[i]);
	if (d->slots)
		memset(d->slots, 0, d->nslots * sizeof(*d->slots));
	d->n = 0;
	d->last = 0;
}

static void dict_free(dict *d)
{
	dict_clear(d);
	scli_free(d->texts);
	scli_free(d->slots);
}

static void part_out_reset(part_out *o, unsigned nshards)
{
	unsigned s;

	for (s = 0; s < nshards; s++)
		o->rec[s].len = 0;
	dict_clear(&o->customers);
	dict_clear(&o->types);
	o->rejects.len = 0;
	o->rows = o->rejected = 0;
	o->lines = 0;
	o->applied = 0;
}

static void part_out_free(part_out *o, unsigned nshards)
{
	unsigned s;

	if (o->rec)
		for (s = 0; s < nshards; s++)
			scli_free(o->rec[s].p);
	scli_free(o->rec);
	dict_free(&o->customers);
	dict_free(&o->types);
	scli_free(o->rejects.p);
	memset(o, 0, sizeof(*o));
}

static int part_out_init(part_out *o, unsigned nshards)
{
	memset(o, 0, sizeof(*o));
	if (!(o->rec = scli_calloc(nshards, sizeof(*o->rec))))
		return scli_error_set(SCLI_ENOMEM, "out of memory");
	return 0;
}

/* ---- a shard: identities, the customer and type dictionaries, the counts ------------ */

/*
 * A shard's identities are split again by hash into PARTITIONS sets, and the
 * records it takes wait per set until FLUSH_BYTES of them have come; then each
 * set in turn is fetched into the cache (scli_identity_set_warm: one
 * sequential read) and its records applied in order. A set of a 10M-event count
 * stays within a few hundred KiB, so its adds hit the cache instead of paying a
 * memory miss each (hundreds of nanoseconds on a virtual machine). Records of
 * one set keep their order, which is all first-wins needs: identities in two
 * sets are never the same.
 */
#define PARTITIONS 128
#define FLUSH_BYTES (8u << 20)

/* Counts per window of one (customer, event type) of a shard. */
typedef struct series {
	uint32_t customer, type;
	int64_t *counts; /* NULL: an empty slot */
} series;

typedef struct shard {
	scli_identity_pool *pool; /* the sets' memory */
	scli_identity_set *sets[PARTITIONS];
	bytes pending[PARTITIONS];
	size_t pending_bytes;
	dict customers, types; /* the shard's numbers; named ones: their place in the request */
	uint32_t *map;	       /* a part's customer and type numbers to the shard's */
	size_t map_cap;
	series *series; /* open addressing by (customer, type) */
	size_t nseries, nslots;
	series *last;
} shard;

static size_t series_slot(uint32_t customer, uint32_t type, size_t nslots)
{
	uint64_t key = (uint64_t)customer << 32 | type;

	return (size_t)((key * UINT64_C(0x9E3779B97F4A7C15)) >> 32) & (nslots - 1);
}

static int series_grow(shard *sh)
{
	size_t nslots = sh->nslots ? sh->nslots * 2 : 64, i, j;
	series *slots = scli_calloc(nslots, sizeof(*slots));

	if (!slots)
		return scli_error_set(SCLI_ENOMEM, "out of memory");
	for (i = 0; i < sh->nslots; i++) {
		if (!sh->series[i].counts)
			continue;
		for (j = series_slot(sh->series[i].customer, sh->series[i].type, nslots);
		     slots[j].counts; j = (j + 1) & (nslots - 1))
			;
		slots[j] = sh->series[i];
	}
	scli_free(sh->series);
	sh->series = slots;
	sh->nslots = nslots;
	sh->last = NULL;
	return 0;
}

static int series_get(series **out, shard *sh, uint32_t customer, uint32_t type, size_t nwindows)
{
	size_t j;
	int error;

	if (sh->last && sh->last->customer == customer && sh->last->type == type) {
		*out = sh->last;
		return 0;
	}
	if ((sh->nseries + 1) * 2 > sh->nslots && (error = series_grow(sh)) < 0)
		return error;
	for (j = series_slot(customer, type, sh->nslots); sh->series[j].counts;
	     j = (j + 1) & (sh->nslots - 1))
		if (sh->series[j].customer == customer && sh->series[j].type == type)
			goto found;
	if (!(sh->series[j].counts = scli_calloc(nwindows, sizeof(int64_t))))
		return scli_error_set(SCLI_ENOMEM, "out of memory");
	sh->series[j].customer = customer;
	sh->series[j].type = type;
	sh->nseries++;
found:
	*out = sh->last = &sh->series[j];
	return 0;
}

static size_t partition_of(uint64_t hash)
{
	return (size_t)(hash >> 40) & (PARTITIONS - 1);
}

static void shard_free(shard *sh)
{
	size_t i;

	for (i = 0; i < PARTITIONS; i++) {
		scli_identity_set_free(sh->sets[i]);
		scli_free(sh->pending[i].p);
	}
	scli_identity_pool_free(sh->pool);
	dict_free(&sh->customers);
	dict_free(&sh->types);
	scli_free(sh->map);
	for (i = 0; i < sh->nslots; i++)
		scli_free(sh->series[i].counts);
	scli_free(sh->series);
}

/* ---- the window of an instant -------------------------------------------------------- */

/*
 * scli_window_index without a binary search per event: the range between the
 * end of the first window and the start of the last is cut into cells as long
 * as the shortest window there, and each cell knows the window it starts in;
 * an instant's window is then its cell's or one of the next (a window is never
 * shorter than a cell, so it is at most one further, but the loop does not
 * rely on it). The first and last windows (cut to the range) are looked at
 * first. For every size and zone the table has about one cell per window.
 */
typedef struct window_finder {
	const int64_t *bounds; /* n + 1 */
	size_t n;
	int64_t cell; /* 0: no table (fewer than three windows) */
	uint32_t *first;
	size_t ncells;
} window_finder;

static int finder_init(window_finder *f, const int64_t *bounds, size_t n)
{
	size_t i, c;

	memset(f, 0, sizeof(*f));
	f->bounds = bounds;
	f->n = n;
	if (n < 3)
		return 0;
	f->cell = INT64_MAX;
	for (i = 1; i + 1 < n; i++)
		if (bounds[i + 1] - bounds[i] < f->cell)
			f->cell = bounds[i + 1] - bounds[i];
	f->ncells = (size_t)((bounds[n - 1] - bounds[1]) / f->cell) + 1;
	if (!(f->first = scli_calloc(f->ncells, sizeof(*f->first))))
		return scli_error_set(SCLI_ENOMEM, "out of memory");
	for (c = 0, i = 1; c < f->ncells; c++) {
		int64_t start = bounds[1] + (int64_t)c * f->cell;

		while (i + 1 < n && bounds[i + 1] <= start)
			i++;
		f->first[c] = (uint32_t)i;
	}
	return 0;
}

/* The window i with bounds[i] <= t < bounds[i + 1]; n if none. */
static size_t finder_find(const window_finder *f, int64_t t)
{
	const int64_t *b = f->bounds;
	size_t i;

	if (!f->cell)
		return scli_window_index(b, f->n, t);
	if (t < b[1])
		return t >= b[0] ? 0 : f->n;
	if (t >= b[f->n - 1])
		return t < b[f->n] ? f->n - 1 : f->n;
	i = f->first[(t - b[1]) / f->cell];
	while (t >= b[i + 1])
		i++;
	return i;
}

/* ---- the whole count ------------------------------------------------------------ */

typedef struct count_files {
	const scli_collector_kind *kind;
	const scli_count_sources_options *opts;
	scli_count_sources_report *report;
	window_finder windows;
	size_t nwindows;
	const char *const *customers, *const *types; /* sorted, unique; none: all */
	size_t ncustomers, ntypes;
	bool by_type;
	uint64_t seed;
	unsigned nshards;
	shard *shards;
	size_t part_bytes;
	atomic_size_t memory; /* bytes the shards' pools hold (and reserve) */
	atomic_size_t peak;
	const char *source; /* the source being read, for rejects */
} count_files;

static int compare_text(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The place of `s` in `list` (sorted), or -1. */
static ptrdiff_t find(const char *const *list, size_t n, const char *s)
{
	const char *const *hit = bsearch(&s, list, n, sizeof(*list), compare_text);

	return hit ? hit - list : -1;
}

/* An event read: a record for its shard when its customer is asked for. */
static int take_event(part_out *o, const count_files *cf, const scli_event *ev)
{
	unsigned char packed[16];
	const char *key;
	size_t w, len;
	ptrdiff_t at = 0;
	record r;
	bytes *b;
	int error;

	if (cf->ncustomers) {
		if ((at = find(cf->customers, cf->ncustomers, ev->customer_id)) < 0)
			return 0;
		r.customer = (uint32_t)at;
	} else if ((error = dict_get(&r.customer, &o->customers, ev->customer_id,
				     ev->customer_id_len)) < 0) {
		return error;
	}
	r.window = NO_WINDOW;
	r.type = 0;
	if (cf->nwindows &&
	    (!cf->ntypes || (at = find(cf->types, cf->ntypes, ev->event_type)) >= 0) &&
	    (w = finder_find(&cf->windows, ev->ts_us)) < cf->nwindows) {
		r.window = (uint32_t)w;
		if (cf->by_type && cf->ntypes)
			r.type = (uint32_t)at;
		else if (cf->by_type && (error = dict_get(&r.type, &o->types, ev->event_type,
							  ev->event_type_len)) < 0)
			return error;
	}
	r.hash = scli_identity_hash(cf->seed, ev->customer_id, ev->customer_id_len,
				    ev->transaction_id, ev->transaction_id_len);
	r.tag = scli_identity_key(packed, &key, &len, ev->transaction_id, ev->transaction_id_len);
	r.len = (uint16_t)len;
	b = &o->rec[(uint32_t)(r.hash >> 32) % cf->nshards];
	return bytes_put_record(b, &r, sizeof(r), key, len);
}

static int take_reject(part_out *o, const scli_reject *rej)
{
	reject_head h = {rej->line, strlen(rej->reason), rej->raw_len};
	int error;

	if ((error = bytes_put(&o->rejects, &h, sizeof(h))) < 0 ||
	    (error = bytes_put(&o->rejects, rej->reason, h.reason_len + 1)) < 0 ||
	    (error = bytes_put(&o->rejects, rej->raw, h.raw_len)) < 0)
		return error;
	return 0;
}

/* Up to `max` rows (0: all) of `col` into `o`; `*ended` when the collector is done. */
static int read_rows(part_out *o, const count_files *cf, scli_collector *col, size_t max,
		     bool *ended)
{
	scli_event ev;
	scli_reject rej;
	size_t n;
	int kind, error;

	*ended = false;
	for (n = 0; !max || n < max; n++) {
		if ((kind = scli_collector_next(&ev, &rej, col)) < 0)
			return kind;
		if (kind == SCLI_NEXT_END) {
			*ended = true;
			return 0;
		}
		o->rows++;
		if (kind == SCLI_NEXT_REJECT) {
			o->rejected++;
			error = take_reject(o, &rej);
		} else {
			error = take_event(o, cf, &ev);
		}
		if (error < 0)
			return error;
	}
	return 0;
}

static int over_budget(count_files *cf)
{
	return scli_error_set(SCLI_ENOMEM,
			      "the identities of the events read need more than the memory limit "
			      "of %zu MiB (a count from files keeps the identity of every event "
			      "it reads, of the customers asked for)",
			      cf->opts->memory_limit >> 20);
}

static void note_memory(count_files *cf, size_t now)
{
	size_t peak = atomic_load(&cf->peak);

	while (now > peak && !atomic_compare_exchange_weak(&cf->peak, &peak, now))
		;
}

/* Reserve `need` more bytes for identity sets; 0, or over_budget. */
static int budget_take(count_files *cf, size_t need)
{
	size_t now = atomic_fetch_add(&cf->memory, need) + need, limit = cf->opts->memory_limit;

	if (limit && now > limit) {
		atomic_fetch_sub(&cf->memory, need);
		return over_budget(cf);
	}
	note_memory(cf, now);
	return 0;
}

/* The record at `at` of `b`, its key, and where the next one starts. */
static size_t record_read(record *r, const char **key, const char *p, size_t at)
{
	memcpy(r, p + at, sizeof(*r));
	*key = p + at + sizeof(*r);
	return at + sizeof(*r) + r->len;
}

/* Records looked at ahead of the one applied, so that their misses overlap. */
#define PREFETCH_AHEAD 16

/* Apply the records waiting for set `p` of shard `sh`, in order. */
static int flush_set(count_files *cf, shard *sh, size_t p)
{
	scli_identity_set *set = sh->sets[p];
	const bytes *b = &sh->pending[p];
	size_t at = 0, ahead = 0;
	unsigned k;
	int error, added;

	scli_identity_set_warm(set);
	for (k = 0; k < PREFETCH_AHEAD && ahead < b->len; k++) {
		const char *key;
		record r;

		ahead = record_read(&r, &key, b->p, ahead);
		scli_identity_set_prefetch(set, r.hash);
	}
	while (at < b->len) {
		size_t grow, before;
		series *ser = NULL;
		const char *key;
		record r;

		if (ahead < b->len) {
			ahead = record_read(&r, &key, b->p, ahead);
			scli_identity_set_prefetch(set, r.hash);
		}
		at = record_read(&r, &key, b->p, at);
		/* the memory the set may take is reserved before it is taken */
		if ((grow = scli_identity_set_growth(set, r.len)) &&
		    (error = budget_take(cf, grow)) < 0)
			return error;
		before = scli_identity_pool_bytes(sh->pool);
		added = scli_identity_set_add_key(set, r.hash, r.customer, r.tag, key, r.len);
		if (grow)
			atomic_fetch_sub(&cf->memory,
					 grow - (scli_identity_pool_bytes(sh->pool) - before));
		if (added < 0)
			return added;
		if (!added || r.window == NO_WINDOW)
			continue;
		if ((error = series_get(&ser, sh, r.customer, r.type, cf->nwindows)) < 0)
			return error;
		ser->counts[r.window]++;
	}
	return 0;
}

/* Every set's waiting records applied. */
static int flush_shard(count_files *cf, shard *sh)
{
	size_t p;
	int error;

	for (p = 0; p < PARTITIONS; p++) {
		if (sh->pending[p].len && (error = flush_set(cf, sh, p)) < 0)
			return error;
		sh->pending[p].len = 0;
	}
	sh->pending_bytes = 0;
	return 0;
}

/* `n` names of a part (customers or types) as the shard's numbers, into sh->map + `at`. */
static int map_names(shard *sh, dict *mine, const dict *theirs, size_t at)
{
	size_t i;
	int error;

	for (i = 0; i < theirs->n; i++)
		if ((error = dict_get(&sh->map[at + i], mine, theirs->texts[i],
				      strlen(theirs->texts[i]))) < 0)
			return error;
	return 0;
}

/*
 * Take shard `s`'s records of `o`, in order: their numbers made the shard's, each waits with
 * its set's; past FLUSH_BYTES every set applies what waits. `*taken`: how many (may be NULL).
 */
static int apply_part(count_files *cf, unsigned s, const part_out *o, size_t *taken)
{
	shard *sh = &cf->shards[s];
	const bytes *b = &o->rec[s];
	size_t at = 0, nc = o->customers.n, nt = o->types.n, n = 0;
	int error;

	if (nc + nt > sh->map_cap) {
		uint32_t *map = scli_realloc(sh->map, (nc + nt) * sizeof(*map));

		if (!map)
			return scli_error_set(SCLI_ENOMEM, "out of memory");
		sh->map = map;
		sh->map_cap = nc + nt;
	}
	if ((error = map_names(sh, &sh->customers, &o->customers, 0)) < 0 ||
	    (error = map_names(sh, &sh->types, &o->types, nc)) < 0)
		return error;
	while (at < b->len) {
		const char *key;
		size_t p, next;
		record r;
		bytes *q;

		next = record_read(&r, &key, b->p, at);
		if (!cf->ncustomers)
			r.customer = sh->map[r.customer];
		if (cf->by_type && !cf->ntypes && r.window != NO_WINDOW)
			r.type = sh->map[nc + r.type];
		p = partition_of(r.hash);
		q = &sh->pending[p];
		if ((error = bytes_put_record(q, &r, sizeof(r), key, r.len)) < 0)
			return error;
		sh->pending_bytes += next - at;
		at = next;
		n++;
	}
	if (taken)
		*taken = n;
	if (sh->pending_bytes >= FLUSH_BYTES)
		return flush_shard(cf, sh);
	return 0;
}

/* Hand `o`'s rejects to the caller, lines moved by `line_offset`, and add up its rows. */
static int deliver(count_files *cf, const part_out *o, uint64_t line_offset)
{
	const scli_count_sources_options *opts = cf->opts;
	size_t at = 0;
	int error;

	cf->report->rows_read += o->rows;
	cf->report->rejected += o->rejected;
	while (at < o->rejects.len) {
		reject_head h;
		scli_reject rej;

		memcpy(&h, o->rejects.p + at, sizeof(h));
		rej.line = h.line + line_offset;
		rej.reason = o->rejects.p + at + sizeof(h);
		rej.raw = rej.reason + h.reason_len + 1;
		rej.raw_len = h.raw_len;
		at += sizeof(h) + h.reason_len + 1 + h.raw_len;
		if (opts->on_reject &&
		    (error = opts->on_reject(opts->reject_ctx, cf->source, 0, &rej)) < 0)
			return error;
	}
	return 0;
}

/* Every row of `col`, in batches, on this thread; lines as the collector numbers them. */
static int read_in_order(count_files *cf, scli_collector *col)
{
	part_out o;
	bool ended = false;
	unsigned s;
	int error;

	if ((error = part_out_init(&o, cf->nshards)) < 0)
		return error;
	while (!ended) {
		part_out_reset(&o, cf->nshards);
		if ((error = read_rows(&o, cf, col, SERIAL_BATCH, &ended)) < 0)
			break;
		for (s = 0; s < cf->nshards && error == 0; s++)
			error = apply_part(cf, s, &o, NULL);
		if (error < 0 || (error = deliver(cf, &o, 0)) < 0)
			break;
	}
	part_out_free(&o, cf->nshards);
	return error;
}

/* The message of a file that changed, in a count's words. */
static int changed(int error, const scli_source *src)
{
	if (error == SCLI_ECHANGED)
		return scli_error_set(SCLI_ECHANGED,
				      "%s: file changed while it was read; count again",
				      scli_source_name(src));
	return error;
}

/* A source read whole by one collector. */
static int count_whole(count_files *cf, scli_source *src)
{
	scli_collector *col = NULL;
	int error;

	if ((error = cf->kind->open(&col, src)) < 0 || (error = read_in_order(cf, col)) < 0)
		goto done;
	error = changed(scli_source_check(src, true, NULL), src);
done:
	scli_collector_free(col);
	return error;
}

/* ---- a file in parts, on several threads ------------------------------------------ */

typedef struct span {
	int64_t start, end;
} span;

enum { SLOT_EMPTY, SLOT_PARSING, SLOT_READY };

typedef struct phase {
	count_files *cf;
	const scli_source *src;
	const scli_collector *head; /* over the first part, has read its first row */
	span *parts;
	size_t nparts, max_len;
	int64_t size;	   /* of the file */
	const char *first; /* the first part, read before the threads start */
	part_out *slots;   /* part j in slots[j % nslots] */
	int *state;
	size_t *slot_part;
	size_t nslots;
	size_t next_parse, limit; /* parts from limit on are read by one collector after */
	size_t *applied;	  /* per shard: the next part to apply */
	bool *applying;		  /* per shard: a thread is applying its next part */
	uint64_t line_base;	  /* shard 0: the line the next part to apply starts at */
	pthread_mutex_t lock;
	pthread_cond_t changed;
	int failed;
	char why[1024];
} phase;

static void phase_fail(phase *ph, int error)
{
	if (!ph->failed) {
		ph->failed = error;
		snprintf(ph->why, sizeof(ph->why), "%s", scli_error_last());
	}
	pthread_cond_broadcast(&ph->changed);
}

static size_t min_applied(const phase *ph)
{
	size_t m = ph->applied[0];
	unsigned s;

	for (s = 1; s < ph->cf->nshards; s++)
		if (ph->applied[s] < m)
			m = ph->applied[s];
	return m;
}

/* Part j into its slot: read it, check it can be read on its own, collect it. */
static int parse_part(phase *ph, size_t j, char **buf)
{
	count_files *cf = ph->cf;
	part_out *o = &ph->slots[j % ph->nslots];
	size_t len = (size_t)(ph->parts[j].end - ph->parts[j].start);
	const char *data = ph->first;
	scli_source *view = NULL;
	scli_collector *col = NULL;
	bool ended;
	long got;
	int error = 0;

	part_out_reset(o, cf->nshards);
	if (j > 0) {
		if (!*buf && !(*buf = scli_malloc(ph->max_len)))
			return scli_error_set(SCLI_ENOMEM, "out of memory");
		if ((got = scli_source_read_at(ph->src, *buf, len, ph->parts[j].start)) < 0)
			return (int)got;
		if ((size_t)got != len)
			return scli_error_set(SCLI_ECHANGED,
					      "%s: file changed while it was read; "
					      "count again",
					      cf->source);
		data = *buf;
		if ((o->lines = cf->kind->part_lines(data, len)) < 0)
			return 0; /* not on its own: one collector reads from here */
	} else {
		o->lines = cf->kind->part_lines(data, len); /* known to be >= 0 */
	}
	if ((error = scli_source_over(&view, data, len, cf->source)) < 0)
		goto done;
	if (j == 0)
		error = cf->kind->open(&col, view);
	else
		error = cf->kind->open_part(&col, view, ph->head, 1);
	if (error < 0 || (error = read_rows(o, cf, col, 0, &ended)) < 0)
		goto done;
done:
	scli_collector_free(col);
	scli_source_free(view);
	return error;
}

/*
 * After the first part: room in shard `t`'s identity set for as many more as the rest of the
 * file holds at the same rate, so that the table is made once rather than rehashed at every
 * doubling (each one touches it all again). Skipped when the memory limit would not allow it:
 * the set then grows as it goes and the limit is met where it is.
 */
static void reserve_for_file(count_files *cf, unsigned t, size_t in_first, const phase *ph)
{
	shard *sh = &cf->shards[t];
	double rate = (double)in_first / (double)ph->parts[0].end;
	size_t per_set = (size_t)(rate * (double)ph->size * 1.05 / PARTITIONS) + 16, p;

	if (per_set > SCLI_IDENTITY_SET_MAX / 2)
		return;
	for (p = 0; p < PARTITIONS; p++) {
		scli_identity_set *set = sh->sets[p];
		size_t want = per_set + scli_identity_set_size(set);
		size_t grow = scli_identity_set_reserve_growth(set, want);
		size_t before = scli_identity_pool_bytes(sh->pool);

		/* not past the limit: the sets then grow as they go, and meet it there */
		if (grow && budget_take(cf, grow) < 0)
			break;
		if (grow && scli_identity_set_reserve(set, want) < 0)
			scli_error_clear();
		if (grow)
			atomic_fetch_sub(&cf->memory,
					 grow - (scli_identity_pool_bytes(sh->pool) - before));
	}
	scli_error_clear();
}

/* The next part of shard `s` ready to be applied, its slot into `*slot`; false if none. */
static bool apply_ready(const phase *ph, unsigned s, size_t *slot)
{
	size_t k = ph->applied[s], i = k % ph->nslots;

	*slot = i;
	return !ph->applying[s] && k < ph->limit && ph->state[i] == SLOT_READY &&
	       ph->slot_part[i] == k;
}

/* Whether every shard has applied every part before the limit. */
static bool all_applied(const phase *ph)
{
	unsigned s;

	for (s = 0; s < ph->cf->nshards; s++)
		if (ph->applied[s] < ph->limit)
			return false;
	return true;
}

/*
 * A reading thread (`t` only spreads them over the shards): apply the next ready part of a
 * shard no other thread is applying, else parse the next part, else wait. A shard's parts are
 * applied in order, by one thread at a time (the lock hands its data from one to the next), but
 * by any: a thread the system stops for a while holds up no shard but the one it is applying.
 */
static void run_worker(phase *ph, unsigned t)
{
	count_files *cf = ph->cf;
	char *buf = NULL;
	unsigned n = cf->nshards, d, s;
	size_t i;
	int error;

	pthread_mutex_lock(&ph->lock);
	while (!ph->failed && !all_applied(ph)) {
		for (d = 0; d < n; d++)
			if (apply_ready(ph, s = (t + d) % n, &i))
				break;
		if (d < n) {
			part_out *o = &ph->slots[i];
			size_t k = ph->applied[s], in_part;

			ph->applying[s] = true;
			pthread_mutex_unlock(&ph->lock);
			error = apply_part(cf, s, o, &in_part);
			if (error == 0 && k == 0)
				reserve_for_file(cf, s, in_part, ph);
			if (error == 0 && s == 0 &&
			    (error = deliver(cf, o, ph->line_base - 1)) == 0)
				ph->line_base += (uint64_t)o->lines;
			pthread_mutex_lock(&ph->lock);
			ph->applying[s] = false;
			if (error < 0) {
				phase_fail(ph, error);
				break;
			}
			ph->applied[s]++;
			if (++o->applied == n)
				ph->state[i] = SLOT_EMPTY;
			pthread_cond_broadcast(&ph->changed);
			continue;
		}
		if (ph->next_parse < ph->limit && ph->next_parse < min_applied(ph) + ph->nslots) {
			size_t j = ph->next_parse++, js = j % ph->nslots;

			ph->state[js] = SLOT_PARSING;
			ph->slot_part[js] = j;
			pthread_mutex_unlock(&ph->lock);
			error = parse_part(ph, j, &buf);
			pthread_mutex_lock(&ph->lock);
			if (error < 0) {
				phase_fail(ph, error);
				break;
			}
			if (ph->slots[js].lines < 0) {
				ph->state[js] = SLOT_EMPTY;
				if (j < ph->limit)
					ph->limit = j;
			} else {
				ph->state[js] = SLOT_READY;
			}
			pthread_cond_broadcast(&ph->changed);
			continue;
		}
		pthread_cond_wait(&ph->changed, &ph->lock);
	}
	pthread_mutex_unlock(&ph->lock);
	scli_free(buf);
}

typedef struct shard_thread {
	phase *ph;
	unsigned t;
	pthread_t id;
} shard_thread;

static void *shard_main(void *p)
{
	shard_thread *st = p;

	run_worker(st->ph, st->t);
	return NULL;
}

/* Where the file is cut: after the first line feed at or past each part's intended end.
 * `*tail` is where one collector must read on from (-1: nowhere): a line too long. */
static int plan_parts(phase *ph, int64_t *tail, int64_t size)
{
	int64_t start = 0;
	size_t cap = 0;
	char *buf = NULL;
	int error = 0;

	*tail = -1;
	ph->nparts = 0;
	ph->max_len = 0;
	if (!(buf = scli_malloc(SEARCH_READ)))
		return scli_error_set(SCLI_ENOMEM, "out of memory");
	while (start < size) {
		int64_t want = start + (int64_t)ph->cf->part_bytes, pos, end = -1;

		if (want >= size) {
			end = size;
		} else {
			for (pos = want - 1; end < 0 && pos < size && pos - want < LINE_SEARCH;) {
				long got = scli_source_read_at(ph->src, buf, SEARCH_READ, pos);
				const char *lf;

				if (got <= 0) {
					error = got < 0 ? (int)got
							: scli_error_set(SCLI_ECHANGED,
									 "%s: file changed while "
									 "it was read; count again",
									 ph->cf->source);
					goto done;
				}
				if ((lf = memchr(buf, '\n', (size_t)got)))
					end = pos + (lf - buf) + 1;
				pos += got;
			}
			if (end < 0 && pos >= size)
				end = size;
		}
		if (end < 0) {
			*tail = start;
			break;
		}
		if (ph->nparts == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			span *parts = scli_realloc(ph->parts, ncap * sizeof(*parts));

			if (!parts) {
				error = scli_error_set(SCLI_ENOMEM, "out of memory");
				goto done;
			}
			ph->parts = parts;
			cap = ncap;
		}
		ph->parts[ph->nparts++] = (span){start, end};
		if ((size_t)(end - start) > ph->max_len)
			ph->max_len = (size_t)(end - start);
		start = end;
	}
done:
	scli_free(buf);
	return error;
}

/* The first part read, and a collector over it that has read its first row: 1 when the file
 * can be read in parts, 0 when it is better read whole (nothing counted yet). */
static int open_head(phase *ph, char **first, scli_source **head_src, scli_collector **head)
{
	count_files *cf = ph->cf;
	size_t len = (size_t)ph->parts[0].end;
	scli_event ev;
	scli_reject rej;
	long got;
	int kind, error;

	if (!(*first = scli_malloc(len)))
		return scli_error_set(SCLI_ENOMEM, "out of memory");
	if ((got = scli_source_read_at(ph->src, *first, len, 0)) < 0)
		return (int)got;
	if ((size_t)got != len || cf->kind->part_lines(*first, len) < 0)
		return 0;
	if ((error = scli_source_over(head_src, *first, len, cf->source)) < 0 ||
	    (error = cf->kind->open(head, *head_src)) < 0)
		return error;
	kind = scli_collector_next(&ev, &rej, *head);
	/* no row in the first part, or a header that stops the read: read whole, which says so */
	scli_error_clear();
	return kind == SCLI_NEXT_EVENT || kind == SCLI_NEXT_REJECT;
}

/* The parts on cf->nshards threads, then whatever is left by one collector. 0 done, 1 when the
 * file is better read whole (nothing was counted), or the error. */
static int count_in_parts(count_files *cf, scli_source *src, int64_t size)
{
	phase ph = {0};
	shard_thread *threads = NULL;
	scli_source *head_src = NULL, *tail_src = NULL;
	scli_collector *head = NULL, *tail_col = NULL;
	char *first = NULL;
	int64_t tail;
	unsigned t, started = 0;
	size_t i;
	int error, sync = 0;

	ph.cf = cf;
	ph.src = src;
	ph.size = size;
	if ((error = plan_parts(&ph, &tail, size)) < 0)
		goto done;
	error = 1;
	if (ph.nparts < 2)
		goto done;
	if ((error = open_head(&ph, &first, &head_src, &head)) <= 0) {
		error = error < 0 ? error : 1;
		goto done;
	}
	ph.head = head;
	ph.first = first;
	ph.limit = ph.nparts;
	ph.line_base = 1;
	ph.nslots = 4 * (size_t)cf->nshards + 2;
	if (!(ph.slots = scli_calloc(ph.nslots, sizeof(*ph.slots))) ||
	    !(ph.state = scli_calloc(ph.nslots, sizeof(*ph.state))) ||
	    !(ph.slot_part = scli_calloc(ph.nslots, sizeof(*ph.slot_part))) ||
	    !(ph.applied = scli_calloc(cf->nshards, sizeof(*ph.applied))) ||
	    !(ph.applying = scli_calloc(cf->nshards, sizeof(*ph.applying))) ||
	    !(threads = scli_calloc(cf->nshards, sizeof(*threads)))) {
		error = scli_error_set(SCLI_ENOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < ph.nslots; i++)
		if ((error = part_out_init(&ph.slots[i], cf->nshards)) < 0)
			goto done;
	if (pthread_mutex_init(&ph.lock, NULL) != 0 || pthread_cond_init(&ph.changed, NULL) != 0) {
		error = scli_error_set(SCLI_ERROR, "cannot set up the reading threads");
		goto done;
	}
	sync = 1;
	for (t = 1; t < cf->nshards; t++) {
		threads[t].ph = &ph;
		threads[t].t = t;
		if (pthread_create(&threads[t].id, NULL, shard_main, &threads[t]) != 0) {
			pthread_mutex_lock(&ph.lock);
			scli_error_set(SCLI_ERROR, "cannot start a reading thread");
			phase_fail(&ph, SCLI_ERROR);
			pthread_mutex_unlock(&ph.lock);
			break;
		}
		started = t;
	}
	run_worker(&ph, 0);
	for (t = 1; t <= started; t++)
		pthread_join(threads[t].id, NULL);
	if (ph.failed) {
		error = scli_error_set(ph.failed, "%s", ph.why);
		goto done;
	}
	/* what the threads left: from a part that cannot be read on its own, or a long line */
	if (ph.limit < ph.nparts)
		tail = ph.parts[ph.limit].start;
	error = 0;
	if (tail >= 0 &&
	    ((error = scli_source_open_tail(&tail_src, src, tail)) < 0 ||
	     (error = cf->kind->open_part(&tail_col, tail_src, head, ph.line_base)) < 0 ||
	     (error = read_in_order(cf, tail_col)) < 0))
		goto done;
	error = changed(scli_source_check(src, false, NULL), src);
done:
	if (sync) {
		pthread_cond_destroy(&ph.changed);
		pthread_mutex_destroy(&ph.lock);
	}
	for (i = 0; ph.slots && i < ph.nslots; i++)
		part_out_free(&ph.slots[i], cf->nshards);
	scli_free(ph.slots);
	scli_free(ph.state);
	scli_free(ph.slot_part);
	scli_free(ph.applied);
	scli_free(ph.applying);
	scli_free(ph.parts);
	scli_free(threads);
	scli_collector_free(tail_col);
	scli_source_free(tail_src);
	scli_collector_free(head);
	scli_source_free(head_src);
	scli_free(first);
	return error;
}

/* ---- the use case -------------------------------------------------------------- */

static int count_source(count_files *cf, const char *path)
{
	scli_source *src = NULL;
	int64_t size;
	int error;

	if ((error = scli_source_open(&src, path)) < 0)
		goto done;
	cf->source = scli_source_name(src);
	error = 1;
	if (cf->nshards > 1 && cf->kind->part_lines && cf->kind->open_part &&
	    scli_source_plain_file(&size, src) == 0 && size > (int64_t)cf->part_bytes)
		error = count_in_parts(cf, src, size);
	if (error == 1)
		error = count_whole(cf, src);
done:
	scli_source_free(src);
	return error;
}

/* Every shard's counts into the build. */
static int hand_over(count_files *cf, scli_count_build *b)
{
	unsigned s;
	size_t i, w;
	int error;

	for (s = 0; s < cf->nshards; s++) {
		shard *sh = &cf->shards[s];

		for (i = 0; i < PARTITIONS; i++)
			cf->report->identities += scli_identity_set_size(sh->sets[i]);
		for (i = 0; i < sh->nslots; i++) {
			const series *ser = &sh->series[i];

			for (w = 0; ser->counts && w < cf->nwindows; w++)
				if (ser->counts[w] &&
				    (error = scli_count_build_add(
					 b, sh->customers.texts[ser->customer],
					 cf->by_type ? sh->types.texts[ser->type] : NULL, w,
					 ser->counts[w])) < 0)
					return error;
		}
	}
	return 0;
}

/* Empty sets; the names asked for numbered as in the request, so records can carry those. */
static int shard_init(count_files *cf, shard *sh)
{
	uint32_t idx;
	size_t i;
	int error;

	if ((error = scli_identity_pool_new(&sh->pool)) < 0)
		return error;
	for (i = 0; i < PARTITIONS; i++)
		if ((error = scli_identity_set_new_pooled(&sh->sets[i], sh->pool)) < 0)
			return error;
	atomic_fetch_add(&cf->memory, scli_identity_pool_bytes(sh->pool));
	for (i = 0; i < cf->ncustomers; i++)
		if ((error = dict_get(&idx, &sh->customers, cf->customers[i],
				      strlen(cf->customers[i]))) < 0)
			return error;
	for (i = 0; cf->by_type && i < cf->ntypes; i++)
		if ((error = dict_get(&idx, &sh->types, cf->types[i], strlen(cf->types[i]))) < 0)
			return error;
	return 0;
}

static unsigned default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > DEFAULT_MAX_THREADS ? DEFAULT_MAX_THREADS : (unsigned)n;
}

/* Not a secret: it only keeps the hash's collisions from being known in advance. */
static uint64_t run_seed(void)
{
	struct timespec ts;
	uint64_t here = (uint64_t)(uintptr_t)&ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return scli_identity_hash((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30), (char *)&here,
				  sizeof(here), "", 0);
}

int scli_service_count_sources(scli_count_result **out, scli_count_sources_report *report,
			       const char *const *paths, size_t n, const scli_collector_kind *kind,
			       const scli_count_request *req,
			       const scli_count_sources_options *opts)
{
	static const scli_count_sources_options defaults = {0};
	scli_count_build *b = NULL;
	const int64_t *bounds;
	count_files cf = {0};
	unsigned s;
	size_t i;
	int error;

	assert(out && report && (paths || n == 0) && kind && kind->open && req);
	*out = NULL;
	memset(report, 0, sizeof(*report));
	cf.opts = opts ? opts : &defaults;
	cf.kind = kind;
	cf.report = report;
	cf.nshards = cf.opts->threads ? cf.opts->threads : default_threads();
	if (cf.nshards > MAX_THREADS)
		cf.nshards = MAX_THREADS;
	cf.part_bytes = cf.opts->part_bytes ? cf.opts->part_bytes : SCLI_COUNT_PART_BYTES;
	cf.seed = run_seed();
	atomic_init(&cf.memory, 0);
	atomic_init(&cf.peak, 0);
	if ((error = scli_count_build_start(&b, req, "files")) < 0 ||
	    (error = scli_count_build_prepare(b, req)) < 0)
		goto done;
	bounds = scli_count_build_bounds(b, &cf.nwindows);
	if (cf.nwindows && (error = finder_init(&cf.windows, bounds, cf.nwindows)) < 0)
		goto done;
	scli_count_build_names(b, &cf.customers, &cf.ncustomers, &cf.types, &cf.ntypes);
	cf.by_type = req->by_event_type;
	if (!(cf.shards = scli_calloc(cf.nshards, sizeof(*cf.shards)))) {
		error = scli_error_set(SCLI_ENOMEM, "out of memory");
		goto done;
	}
	for (s = 0; s < cf.nshards; s++)
		if ((error = shard_init(&cf, &cf.shards[s])) < 0)
			goto done;
	for (i = 0; i < n; i++)
		if ((error = count_source(&cf, paths[i])) < 0)
			goto done;
	for (s = 0; s < cf.nshards; s++)
		if ((error = flush_shard(&cf, &cf.shards[s])) < 0)
			goto done;
	if ((error = hand_over(&cf, b)) < 0)
		goto done;
	error = scli_count_build_finish(out, b);
done:
	report->memory_peak = atomic_load(&cf.peak);
	for (s = 0; cf.shards && s < cf.nshards; s++)
		shard_free(&cf.shards[s]);
	scli_free(cf.shards);
	scli_free(cf.windows.first);
	scli_count_build_free(b);
	return error;
}
