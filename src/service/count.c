/*
 * The count use case: the windows of a checked request, asked of the
 * repository once with the first and last cut to [from, to), as dense series
 * per customer (and event type). The hourly UTC count of `scli count` without
 * the window flags and of the /hourly routes is this same path.
 */
#include <stdlib.h>
#include <string.h>

#include "count_internal.h"
#include "scli/alloc.h"
#include "scli/service.h"
#include "scli/sys/repository.h"

static int compare_text(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* `in` sorted bytewise, each text once, into `*out` (scli_free; borrowing the texts). */
static int sorted_unique(const char ***out, size_t *n_out, const char *const *in, size_t n)
{
	const char **list;
	size_t i, kept = 0;

	*out = NULL;
	*n_out = 0;
	if (n == 0)
		return 0;
	if (!(list = scli_calloc(n, sizeof(*list))))
		return scli_error_set(SCLI_ENOMEM, "out of memory");
	memcpy(list, in, n * sizeof(*list));
	qsort(list, n, sizeof(*list), compare_text);
	for (i = 0; i < n; i++)
		if (kept == 0 || strcmp(list[kept - 1], list[i]))
			list[kept++] = list[i];
	*out = list;
	*n_out = kept;
	return 0;
}

static ptrdiff_t find_text(const char *const *list, size_t n, const char *text)
{
	const char *const *hit = n ? bsearch(&text, list, n, sizeof(*list), compare_text) : NULL;

	return hit ? hit - list : -1;
}

/* What the repository's answers go into. */
typedef struct fill_ctx {
	scli_series_table *table;
	const char **customers, **types; /* named, sorted, unique; NULL: any */
	size_t ncustomers, ntypes;
	bool *seen; /* per named customer: a series of its own came back */
	bool by_type;
	size_t nwindows;
	const char *repo;
} fill_ctx;

/*
 * A customer found by the count (none was named) has a series for every type
 * named, with zeros if need be: done once, when the first of them is made.
 */
static int add_type_series(fill_ctx *f, const char *customer_id)
{
	scli_customer_series *s;
	size_t before = scli_series_table_size(f->table), t;
	int error;

	if ((error = scli_series_table_get(&s, f->table, customer_id, f->types[0])) < 0)
		return error;
	for (t = 1; t < f->ntypes && scli_series_table_size(f->table) > before; t++)
		if ((error = scli_series_table_get(&s, f->table, customer_id, f->types[t])) < 0)
			return error;
	return 0;
}

static int add_count(void *p, const char *customer_id, const char *event_type, size_t window,
		     int64_t count)
{
	fill_ctx *f = p;
	scli_customer_series *s;
	ptrdiff_t at = -1;
	int error;

	if (count == 0) /* the port may report zeros: a series needs an event */
		return 0;
	if (count < 0 || window >= f->nwindows || (f->by_type && !event_type))
		return scli_error_set(
		    SCLI_ERROR, "%s repository returned a count outside the request", f->repo);
	if (f->customers &&
	    (at = find_text((const char *const *)f->customers, f->ncustomers, customer_id)) < 0)
		return scli_error_set(SCLI_ERROR, "%s repository returned another customer",
				      f->repo);
	if (!f->by_type)
		event_type = NULL;
	if (event_type && f->types &&
	    find_text((const char *const *)f->types, f->ntypes, event_type) < 0)
		return scli_error_set(SCLI_ERROR, "%s repository returned another event type",
				      f->repo);
	if (!f->customers && event_type && f->ntypes &&
	    (error = add_type_series(f, customer_id)) < 0)
		return error;
	if ((error = scli_series_table_get(&s, f->table, customer_id, event_type)) < 0)
		return error;
	if (at >= 0)
		f->seen[at] = true;
	s->counts[window] += count;
	s->total += count;
	return 0;
}

/* The series that appear whatever the events: each named customer (× each named type). */
static int add_named_series(fill_ctx *f, bool before)
{
	scli_customer_series *s;
	size_t c, t;
	int error;

	for (c = 0; c < f->ncustomers; c++) {
		if (before && f->by_type)
			for (t = 0; t < f->ntypes; t++)
				if ((error = scli_series_table_get(&s, f->table, f->customers[c],
								   f->types[t])) < 0)
					return error;
		if (before && !f->by_type &&
		    (error = scli_series_table_get(&s, f->table, f->customers[c], NULL)) < 0)
			return error;
		/* by type, no type named, no event: a series without a type, so it appears */
		if (!before && f->by_type && !f->ntypes && !f->seen[c] &&
		    (error = scli_series_table_get(&s, f->table, f->customers[c], NULL)) < 0)
			return error;
	}
	return 0;
}

/* The types asked for, copied into the result. */
static int keep_types(scli_count_result *res, const char *const *types, size_t n)
{
	size_t i;

	if (n && !(res->event_types = scli_calloc(n, sizeof(*res->event_types))))
		return scli_error_set(SCLI_ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		size_t len = strlen(types[i]) + 1;

		if (!(res->event_types[i] = scli_malloc(len)))
			return scli_error_set(SCLI_ENOMEM, "out of memory");
		memcpy(res->event_types[i], types[i], len);
		res->n_event_types++;
	}
	return 0;
}

/* Window i is [bounds[i], bounds[i + 1]), the first and last cut to [from, to); scli_free. */
static int64_t *window_bounds(const scli_count_result *res)
{
	int64_t *bounds;
	size_t i;

	if (!(bounds = scli_calloc(res->nbuckets + 1, sizeof(*bounds)))) {
		scli_error_set(SCLI_ENOMEM, "out of memory");
		return NULL;
	}
	bounds[0] = res->from_us;
	for (i = 1; i < res->nbuckets; i++)
		bounds[i] = res->windows[i].start;
	bounds[res->nbuckets] = res->to_us;
	return bounds;
}

/* A count being built: the result so far and what the counts go into (count_internal.h). */
struct scli_count_build {
	scli_count_result *res;
	fill_ctx f;
	int64_t *bounds; /* nbuckets + 1 */
};

int scli_count_build_start(scli_count_build **out, const scli_count_request *req, const char *who)
{
	scli_count_build *b;
	scli_count_problem problem;
	int error;

	*out = NULL;
	if (!(b = scli_calloc(1, sizeof(*b))) || !(b->res = scli_calloc(1, sizeof(*b->res)))) {
		scli_free(b);
		return scli_error_set(SCLI_ENOMEM, "out of memory");
	}
	b->res->from_us = req->from_us;
	b->res->to_us = req->to_us;
	b->res->window = req->window;
	b->res->zone = req->zone;
	b->res->by_event_type = b->f.by_type = req->by_event_type;
	b->f.repo = who;
	if ((error = scli_count_check_request(&problem, &b->res->windows, &b->res->nbuckets, req,
					      NULL)) < 0) {
		scli_count_build_free(b);
		return error;
	}
	*out = b;
	return 0;
}

int scli_count_build_prepare(scli_count_build *b, const scli_count_request *req)
{
	fill_ctx *f = &b->f;
	int error;

	if ((error = sorted_unique(&f->customers, &f->ncustomers, req->customers,
				   req->n_customers)) < 0 ||
	    (error = sorted_unique(&f->types, &f->ntypes, req->event_types, req->n_event_types)) <
		0 ||
	    (error = keep_types(b->res, (const char *const *)f->types, f->ntypes)) < 0 ||
	    (error = scli_series_table_new(&f->table, b->res->nbuckets, f->by_type)) < 0)
		return error;
	if (f->ncustomers && !(f->seen = scli_calloc(f->ncustomers, sizeof(*f->seen))))
		return scli_error_set(SCLI_ENOMEM, "out of memory");
	f->nwindows = b->res->nbuckets;
	if (b->res->nbuckets > 0 && !(b->bounds = window_bounds(b->res)))
		return SCLI_ENOMEM;
	return add_named_series(f, true);
}

const int64_t *scli_count_build_bounds(const scli_count_build *b, size_t *nwindows)
{
	*nwindows = b->res->nbuckets;
	return b->bounds;
}

void scli_count_build_names(const scli_count_build *b, const char *const **customers,
			    size_t *ncustomers, const char *const **types, size_t *ntypes)
{
	*customers = (const char *const *)b->f.customers;
	*ncustomers = b->f.ncustomers;
	*types = (const char *const *)b->f.types;
	*ntypes = b->f.ntypes;
}

int scli_count_build_add(void *b, const char *customer_id, const char *event_type, size_t window,
			 int64_t count)
{
	return add_count(&((scli_count_build *)b)->f, customer_id, event_type, window, count);
}

int scli_count_build_finish(scli_count_result **out, scli_count_build *b)
{
	int error;

	*out = NULL;
	if ((error = add_named_series(&b->f, false)) < 0)
		return error;
	scli_series_table_take(&b->res->customers, &b->res->ncustomers, b->f.table);
	*out = b->res;
	b->res = NULL;
	return 0;
}

void scli_count_build_free(scli_count_build *b)
{
	if (!b)
		return;
	scli_free(b->f.seen);
	scli_free(b->f.customers);
	scli_free(b->f.types);
	scli_series_table_free(b->f.table);
	scli_free(b->bounds);
	scli_count_result_free(b->res);
	scli_free(b);
}

/* Ask the repository once for every window. */
static int ask_repository(scli_repo *repo, scli_count_build *b)
{
	scli_window_query q = {0};

	q.customers = (const char *const *)b->f.customers;
	q.n_customers = b->f.ncustomers;
	q.event_types = (const char *const *)b->f.types;
	q.n_event_types = b->f.ntypes;
	q.by_event_type = b->f.by_type;
	q.bounds = b->bounds;
	q.n_windows = b->res->nbuckets;
	return scli_repo_count_windows(repo, &q, scli_count_build_add, b);
}

int scli_service_count_windows(scli_count_result **out, scli_repo *repo,
			       const scli_count_request *req)
{
	scli_count_build *b = NULL;
	int error;

	*out = NULL;
	if ((error = scli_count_build_start(&b, req, scli_repo_name(repo))) < 0 ||
	    (error = scli_repo_check_schema(repo)) < 0 ||
	    (error = scli_count_build_prepare(b, req)) < 0 ||
	    (b->res->nbuckets > 0 && (error = ask_repository(repo, b)) < 0))
		goto done;
	error = scli_count_build_finish(out, b);
done:
	scli_count_build_free(b);
	return error;
}

int scli_service_count(scli_count_result **out, scli_repo *repo, const char *customer_id,
		       int64_t from_us, int64_t to_us)
{
	const char *ids[1] = {customer_id};
	scli_count_request req = {0};
	scli_zone *utc = NULL;
	int error;

	*out = NULL;
	if (scli_zone_parse_fixed(&utc, "UTC") < 0)
		return scli_error_set(SCLI_ENOMEM, "out of memory");
	req.customers = customer_id ? ids : NULL;
	req.n_customers = customer_id ? 1 : 0;
	req.window = SCLI_WINDOW_HOUR;
	req.zone = utc;
	req.from_us = from_us;
	req.to_us = to_us;
	if ((error = scli_service_count_windows(out, repo, &req)) < 0) {
		scli_zone_free(utc);
		return error;
	}
	(*out)->owned_zone = utc;
	return 0;
}

void scli_count_result_free(scli_count_result *res)
{
	size_t i;

	if (!res)
		return;
	for (i = 0; i < res->ncustomers; i++)
		scli_free(res->customers[i].counts);
	for (i = 0; i < res->n_event_types; i++)
		scli_free(res->event_types[i]);
	scli_free(res->event_types);
	scli_free(res->customers);
	scli_free(res->windows);
	scli_zone_free(res->owned_zone);
	scli_free(res);
}
