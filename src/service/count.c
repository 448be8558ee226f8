/* The count use case: the request checked once for every front end, then a
 * dense hourly series per customer over [from, to). */
#include <stdlib.h>
#include <string.h>

#include "scli/alloc.h"
#include "scli/service.h"
#include "scli/sys/repository.h"
#include "scli/timestamp.h"

/* One (customer, hour, count) row as the repository reports it. */
typedef struct hour_row {
	char customer_id[SCLI_CUSTOMER_ID_MAX + 1];
	int64_t hour;
	int64_t count;
} hour_row;

typedef struct collect_ctx {
	hour_row *rows;
	size_t n, cap;
} collect_ctx;

static int collect_row(void *p, const char *customer_id, int64_t hour, int64_t count)
{
	collect_ctx *ctx = p;
	size_t len = strlen(customer_id);

	if (len > SCLI_CUSTOMER_ID_MAX)
		return scli_error_set(SCLI_ERROR, "repository returned an over-long customer id");
	if (ctx->n == ctx->cap) {
		size_t cap = ctx->cap ? ctx->cap * 2 : 64;
		hour_row *rows = scli_realloc(ctx->rows, cap * sizeof(*rows));

		if (!rows)
			return scli_error_set(SCLI_ENOMEM, "out of memory collecting counts");
		ctx->rows = rows;
		ctx->cap = cap;
	}
	memcpy(ctx->rows[ctx->n].customer_id, customer_id, len + 1);
	ctx->rows[ctx->n].hour = hour;
	ctx->rows[ctx->n].count = count;
	ctx->n++;
	return 0;
}

static int compare_rows(const void *a, const void *b)
{
	const hour_row *x = a, *y = b;
	int c = strcmp(x->customer_id, y->customer_id);

	if (c)
		return c;
	return (x->hour > y->hour) - (x->hour < y->hour);
}

static int add_customer(scli_count_result *res, const char *customer_id)
{
	scli_customer_series *s = &res->customers[res->ncustomers];

	memset(s, 0, sizeof(*s));
	strcpy(s->customer_id, customer_id);
	/* scli_calloc(0) may return NULL; keep at least one slot so NULL means failure */
	if (!(s->counts = scli_calloc(res->nbuckets ? res->nbuckets : 1, sizeof(*s->counts))))
		return scli_error_set(SCLI_ENOMEM, "out of memory for %zu buckets", res->nbuckets);
	res->ncustomers++;
	return 0;
}

/* Note what was refused and return `error` (its message already set). */
static int refused(scli_count_problem *problem, scli_count_refusal what, const char *why, int error)
{
	problem->what = what;
	problem->why = why;
	return error;
}

/*
 * The range and the customer id, however the request came: from <= to, then
 * the id, then the number of hours (the order `scli count` reports them in).
 * The span goes to `*first_out` and `*nbuckets_out`.
 */
static int check_span_and_customer(scli_count_problem *problem, int64_t *first_out,
				   size_t *nbuckets_out, const char *customer_id,
				   size_t customer_len, int64_t from_us, int64_t to_us)
{
	const char *span_why = NULL, *why = NULL;
	int span = scli_bucket_span(first_out, nbuckets_out, from_us, to_us, &span_why);

	if (span == SCLI_EINVALID)
		return refused(problem, SCLI_COUNT_REVERSED, span_why,
			       scli_error_set(span, "%s", span_why));
	if (customer_id &&
	    scli_field_validate(customer_id, customer_len, SCLI_CUSTOMER_ID_MAX, &why) < 0)
		return refused(problem, SCLI_COUNT_BAD_CUSTOMER, why,
			       scli_error_set(SCLI_EINVALID, "customer id %s", why));
	if (span < 0)
		return refused(problem, SCLI_COUNT_TOO_WIDE, span_why,
			       scli_error_set(span, "%s", span_why));
	return 0;
}

int scli_service_count_request(scli_count_request *out, scli_count_problem *problem,
			       const char *customer_id, size_t customer_len, const char *from_text,
			       const char *to_text)
{
	const char *why = NULL;
	int64_t from = 0, to = 0, first;
	size_t nbuckets;
	int error;

	memset(out, 0, sizeof(*out));
	problem->what = SCLI_COUNT_ACCEPTED;
	problem->why = NULL;
	if (!from_text || !to_text)
		return refused(problem, SCLI_COUNT_NO_RANGE, NULL,
			       scli_error_set(SCLI_EINVALID, "from and to are required"));
	if (scli_timestamp_parse(&from, from_text, strlen(from_text), &why) < 0)
		return refused(problem, SCLI_COUNT_BAD_FROM, why,
			       scli_error_set(SCLI_EINVALID, "from: invalid timestamp: %s", why));
	if (scli_timestamp_parse(&to, to_text, strlen(to_text), &why) < 0)
		return refused(problem, SCLI_COUNT_BAD_TO, why,
			       scli_error_set(SCLI_EINVALID, "to: invalid timestamp: %s", why));
	if ((error = check_span_and_customer(problem, &first, &nbuckets, customer_id, customer_len,
					     from, to)) < 0)
		return error;
	out->customer_id = customer_id;
	out->from_us = from;
	out->to_us = to;
	return 0;
}

int scli_service_count(scli_count_result **out, scli_repo *repo, const char *customer_id,
		       int64_t from_us, int64_t to_us)
{
	scli_count_result *res = NULL;
	collect_ctx ctx = {0};
	scli_count_problem problem;
	size_t i, ncust = 0;
	int error;

	*out = NULL;
	if (!(res = scli_calloc(1, sizeof(*res)))) {
		error = scli_error_set(SCLI_ENOMEM, "out of memory");
		goto done;
	}
	res->from_us = from_us;
	res->to_us = to_us;
	if ((error = check_span_and_customer(&problem, &res->first_hour_us, &res->nbuckets,
					     customer_id, customer_id ? strlen(customer_id) : 0,
					     from_us, to_us)) < 0)
		goto done;
	if ((error = scli_repo_check_schema(repo)) < 0)
		goto done;
	if (res->nbuckets > 0 && (error = scli_repo_count_hourly(repo, customer_id, from_us, to_us,
								 collect_row, &ctx)) < 0)
		goto done;
	if (ctx.n) /* qsort(NULL, 0, ...) is undefined */
		qsort(ctx.rows, ctx.n, sizeof(*ctx.rows), compare_rows);

	/* the number of series: the asked-for customer, or each distinct one seen */
	ncust = customer_id ? 1 : 0;
	for (i = 0; !customer_id && i < ctx.n; i++)
		if (i == 0 || strcmp(ctx.rows[i].customer_id, ctx.rows[i - 1].customer_id))
			ncust++;
	if (ncust && !(res->customers = scli_calloc(ncust, sizeof(*res->customers)))) {
		error = scli_error_set(SCLI_ENOMEM, "out of memory");
		goto done;
	}
	if (customer_id && (error = add_customer(res, customer_id)) < 0)
		goto done;
	for (i = 0; i < ctx.n; i++) {
		const hour_row *row = &ctx.rows[i];
		scli_customer_series *s;
		int64_t idx;

		if (customer_id && strcmp(row->customer_id, customer_id)) {
			error =
			    scli_error_set(SCLI_ERROR, "%s repository returned another customer",
					   scli_repo_name(repo));
			goto done;
		}
		if (!customer_id &&
		    (res->ncustomers == 0 ||
		     strcmp(res->customers[res->ncustomers - 1].customer_id, row->customer_id)) &&
		    (error = add_customer(res, row->customer_id)) < 0)
			goto done;
		s = &res->customers[res->ncustomers - 1];
		idx = (row->hour - res->first_hour_us) / SCLI_US_PER_HOUR;
		if (row->hour != scli_hour_floor(row->hour) || idx < 0 ||
		    (size_t)idx >= res->nbuckets) {
			error = scli_error_set(SCLI_ERROR,
					       "%s repository returned an hour outside the range",
					       scli_repo_name(repo));
			goto done;
		}
		s->counts[idx] += row->count;
		s->total += row->count;
	}
	*out = res;
	res = NULL;
	error = 0;
done:
	scli_free(ctx.rows);
	scli_count_result_free(res);
	return error;
}

void scli_count_result_free(scli_count_result *res)
{
	size_t i;

	if (!res)
		return;
	for (i = 0; i < res->ncustomers; i++)
		scli_free(res->customers[i].counts);
	scli_free(res->customers);
	scli_free(res);
}
