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

static int bytes_put(bytes *b, const void *p, size_t n)
{
	if (n > b->cap - b->len) {
		size_t cap = b->cap ? b->cap : 4096;
		char *q;

		while (cap - b->len < n)
			cap *= 2;
		if (!(q = scli_realloc(b->p, cap)))
			return scli_error_set(SCLI_ENOMEM, "out of memory");
		b->p = q;
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

/* ---- what a part (or a batch of rows) gives ---------------------------------- */

/* One event of a customer asked for, as it goes to the shard that owns its identity;
 * its texts follow: customer id, event type (only when counted by type), transaction id. */
typedef struct record {
	uint64_t hash;	 /* scli_identity_hash of the identity */
	uint32_t window; /* the window it counts in; NO_WINDOW: none (outside, other type) */
	uint8_t customer_len, type_len;
	uint16_t transaction_len;
} record;

/* A rejected row; its reason (NUL-terminated) and raw text follow. */
typedef struct reject_head {
	uint64_t line;
	size_t reason_len, raw_len;
} reject_head;

typedef struct part_out {
	bytes *rec;	   /* per shard */
	bytes rejects;	   /* reject_head + texts, in order */
	uint64_t rows;	   /* rows read, rejected ones included */
	uint64_t rejected; /* of them */
	int64_t lines;	   /* line count of a part; -1: it cannot be read on its own */
	unsigned applied;  /* shards that have applied it */
} part_out;

static void part_out_reset(part_out *o, unsigned nshards)
{
	unsigned s;

	for (s = 0; s < nshards; s++)
		o->rec[s].len = 0;
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

/* Texts numbered in the order first seen. */
typedef struct dict {
	char **texts;
	size_t n, cap;
	uint32_t *slots; /* index + 1; 0: empty */
	size_t nslots;
	uint32_t last; /* index + 1 of the text found last: rows come in runs */
} dict;

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

static void dict_free(dict *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		scli_free(d->texts[i]);
	scli_free(d->texts);
	scli_free(d->slots);
}

/* Counts per window of one (customer, event type) of a shard. */
typedef struct series {
	uint32_t customer, type;
	int64_t *counts; /* NULL: an empty slot */
} series;

typedef struct shard {
	scli_identity_set *ids;
	dict customers, types;
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

static void shard_free(shard *sh)
{
	size_t i;

	scli_identity_set_free(sh->ids);
	dict_free(&sh->customers);
	dict_free(&sh->types);
	for (i = 0; i < sh->nslots; i++)
		scli_free(sh->series[i].counts);
	scli_free(sh->series);
}

/* ---- the whole count ------------------------------------------------------------ */

typedef struct count_files {
	const scli_collector_kind *kind;
	const scli_count_sources_options *opts;
	scli_count_sources_report *report;
	const int64_t *bounds;
	size_t nwindows;
	const char *const *customers, *const *types; /* sorted, unique; none: all */
	size_t ncustomers, ntypes;
	bool by_type;
	uint64_t seed;
	unsigned nshards;
	shard *shards;
	size_t part_bytes;
	atomic_size_t memory; /* bytes the identity sets hold (and reserve) */
	atomic_size_t peak;
	const char *source; /* the source being read, for rejects */
} count_files;

static int compare_text(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool in_list(const char *const *list, size_t n, const char *s)
{
	return bsearch(&s, list, n, sizeof(*list), compare_text) != NULL;
}

/* An event read: a record for its shard when its customer is asked for. */
static int take_event(part_out *o, const count_files *cf, const scli_event *ev)
{
	record r;
	bytes *b;
	size_t w;
	int error;

	if (cf->ncustomers && !in_list(cf->customers, cf->ncustomers, ev->customer_id))
		return 0;
	r.window = NO_WINDOW;
	if (cf->nwindows && (!cf->ntypes || in_list(cf->types, cf->ntypes, ev->event_type)) &&
	    (w = scli_window_index(cf->bounds, cf->nwindows, ev->ts_us)) < cf->nwindows)
		r.window = (uint32_t)w;
	r.hash = scli_identity_hash(cf->seed, ev->customer_id, ev->customer_id_len,
				    ev->transaction_id, ev->transaction_id_len);
	r.customer_len = (uint8_t)ev->customer_id_len;
	r.type_len = cf->by_type && r.window != NO_WINDOW ? (uint8_t)ev->event_type_len : 0;
	r.transaction_len = ev->transaction_id_len;
	b = &o->rec[(uint32_t)(r.hash >> 32) % cf->nshards];
	if ((error = bytes_put(b, &r, sizeof(r))) < 0 ||
	    (error = bytes_put(b, ev->customer_id, r.customer_len)) < 0 ||
	    (error = bytes_put(b, ev->event_type, r.type_len)) < 0 ||
	    (error = bytes_put(b, ev->transaction_id, r.transaction_len)) < 0)
		return error;
	return 0;
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

/* The record at `at` of `b`, its texts, and where the next one starts. */
static size_t record_read(record *r, const char **text, const bytes *b, size_t at)
{
	memcpy(r, b->p + at, sizeof(*r));
	*text = b->p + at + sizeof(*r);
	return at + sizeof(*r) + r->customer_len + r->type_len + r->transaction_len;
}

/* Records looked at ahead of the one applied: a miss in the identity set's table costs
 * hundreds of nanoseconds, so the next ones are fetched while this one is applied. */
#define PREFETCH_AHEAD 12

/* Apply shard `s`'s records of `o` in order: keep new identities, count the counted ones;
 * how many records there were into `*applied` (may be NULL). */
static int apply_part(count_files *cf, unsigned s, const part_out *o, size_t *applied)
{
	shard *sh = &cf->shards[s];
	const bytes *b = &o->rec[s];
	size_t at = 0, ahead = 0, limit = cf->opts->memory_limit;
	unsigned k;
	int error, added;

	if (applied)
		*applied = 0;
	for (k = 0; k < PREFETCH_AHEAD && ahead < b->len; k++) {
		record r;
		const char *text;

		ahead = record_read(&r, &text, b, ahead);
		scli_identity_set_prefetch(sh->ids, r.hash);
	}
	while (at < b->len) {
		const char *text, *tx;
		size_t grow, before, now;
		uint32_t customer, type = 0;
		series *ser = NULL;
		record r;

		if (ahead < b->len) {
			ahead = record_read(&r, &text, b, ahead);
			scli_identity_set_prefetch(sh->ids, r.hash);
		}
		at = record_read(&r, &text, b, at);
		if (applied)
			++*applied;
		tx = text + r.customer_len + r.type_len;
		if ((error = dict_get(&customer, &sh->customers, text, r.customer_len)) < 0)
			return error;
		/* the memory the set may take is reserved before it is taken */
		grow = scli_identity_set_growth(sh->ids, r.transaction_len);
		before = scli_identity_set_bytes(sh->ids);
		if (grow) {
			now = atomic_fetch_add(&cf->memory, grow) + grow;
			if (limit && now > limit) {
				atomic_fetch_sub(&cf->memory, grow);
				return over_budget(cf);
			}
			note_memory(cf, now);
		}
		added = scli_identity_set_add(sh->ids, r.hash, customer, tx, r.transaction_len);
		if (grow)
			atomic_fetch_sub(&cf->memory,
					 grow - (scli_identity_set_bytes(sh->ids) - before));
		if (added < 0)
			return added;
		if (!added || r.window == NO_WINDOW)
			continue;
		if (cf->by_type &&
		    (error = dict_get(&type, &sh->types, text + r.customer_len, r.type_len)) < 0)
			return error;
		if ((error = series_get(&ser, sh, customer, type, cf->nwindows)) < 0)
			return error;
		ser->counts[r.window]++;
	}
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
	size_t want = (size_t)(rate * (double)ph->size * 1.05) + scli_identity_set_size(sh->ids);
	size_t need = scli_identity_set_reserve_growth(sh->ids, want), before, now;
	size_t limit = cf->opts->memory_limit;

	if (!need || want > SCLI_IDENTITY_SET_MAX)
		return;
	now = atomic_fetch_add(&cf->memory, need) + need;
	if ((!limit || now <= limit) && (before = scli_identity_set_bytes(sh->ids),
					 scli_identity_set_reserve(sh->ids, want) == 0)) {
		note_memory(cf, now);
		atomic_fetch_sub(&cf->memory, need - (scli_identity_set_bytes(sh->ids) - before));
		return;
	}
	atomic_fetch_sub(&cf->memory, need);
	scli_error_clear();
}

/* Shard `t`'s thread: apply the parts in order as they are ready, parse the next meanwhile. */
static void run_shard(phase *ph, unsigned t)
{
	count_files *cf = ph->cf;
	char *buf = NULL;
	int error;

	pthread_mutex_lock(&ph->lock);
	while (!ph->failed && ph->applied[t] < ph->limit) {
		size_t k = ph->applied[t], i = k % ph->nslots;

		if (ph->state[i] == SLOT_READY && ph->slot_part[i] == k) {
			part_out *o = &ph->slots[i];

			size_t in_part;

			pthread_mutex_unlock(&ph->lock);
			error = apply_part(cf, t, o, &in_part);
			if (error == 0 && k == 0)
				reserve_for_file(cf, t, in_part, ph);
			if (error == 0 && t == 0 &&
			    (error = deliver(cf, o, ph->line_base - 1)) == 0)
				ph->line_base += (uint64_t)o->lines;
			pthread_mutex_lock(&ph->lock);
			if (error < 0) {
				phase_fail(ph, error);
				break;
			}
			ph->applied[t]++;
			if (++o->applied == cf->nshards)
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

	run_shard(st->ph, st->t);
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
	ph.nslots = 2 * (size_t)cf->nshards + 2;
	if (!(ph.slots = scli_calloc(ph.nslots, sizeof(*ph.slots))) ||
	    !(ph.state = scli_calloc(ph.nslots, sizeof(*ph.state))) ||
	    !(ph.slot_part = scli_calloc(ph.nslots, sizeof(*ph.slot_part))) ||
	    !(ph.applied = scli_calloc(cf->nshards, sizeof(*ph.applied))) ||
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
	run_shard(&ph, 0);
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

		cf->report->identities += scli_identity_set_size(sh->ids);
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
	cf.bounds = scli_count_build_bounds(b, &cf.nwindows);
	scli_count_build_names(b, &cf.customers, &cf.ncustomers, &cf.types, &cf.ntypes);
	cf.by_type = req->by_event_type;
	if (!(cf.shards = scli_calloc(cf.nshards, sizeof(*cf.shards)))) {
		error = scli_error_set(SCLI_ENOMEM, "out of memory");
		goto done;
	}
	for (s = 0; s < cf.nshards; s++) {
		if ((error = scli_identity_set_new(&cf.shards[s].ids)) < 0)
			goto done;
		atomic_fetch_add(&cf.memory, scli_identity_set_bytes(cf.shards[s].ids));
	}
	for (i = 0; i < n; i++)
		if ((error = count_source(&cf, paths[i])) < 0)
			goto done;
	if ((error = hand_over(&cf, b)) < 0)
		goto done;
	error = scli_count_build_finish(out, b);
done:
	report->memory_peak = atomic_load(&cf.peak);
	for (s = 0; cf.shards && s < cf.nshards; s++)
		shard_free(&cf.shards[s]);
	scli_free(cf.shards);
	scli_count_build_free(b);
	return error;
}
