/* Which parts of a windowed count come from the rollup's cells and which from
 * raw events, and which window an instant falls in. */
#include "scli/cell_plan.h"

#include <assert.h>

#include "scli/alloc.h"
#include "scli/error.h"

/* Floor and ceiling to a multiple of `cell`: C division truncates toward zero,
 * so instants before 1970 need the correction. */
static int64_t cell_floor(int64_t t, int64_t cell)
{
	int64_t q = t / cell;

	if (t % cell < 0)
		q--;
	return q * cell;
}

static int64_t cell_ceil(int64_t t, int64_t cell)
{
	int64_t f = cell_floor(t, cell);

	return f == t ? f : f + cell;
}

/* Append [from, to) to a list, merging it into the last span when they touch. */
static void span_append(scli_span *list, size_t *n, int64_t from, int64_t to)
{
	if (from >= to)
		return;
	if (*n && list[*n - 1].to == from) {
		list[*n - 1].to = to;
		return;
	}
	list[*n].from = from;
	list[*n].to = to;
	(*n)++;
}

int scli_cell_plan(scli_span **cells, size_t *ncells, scli_span **raw, size_t *nraw,
		   const int64_t *bounds, size_t n, int64_t cell_us)
{
	scli_span *c = NULL, *w = NULL;
	size_t nc = 0, nw = 0, i;
	int error = 0;

	assert(cells && ncells && raw && nraw && bounds && n >= 1 && cell_us > 0);
	*cells = *raw = NULL;
	*ncells = *nraw = 0;
	/* Each window gives at most one cell span; raw spans lie between and around
	 * them after merging, so there is at most one more of those. */
	if (n >= SIZE_MAX / sizeof(scli_span) - 1 || !(c = scli_malloc(n * sizeof(*c))) ||
	    !(w = scli_malloc((n + 1) * sizeof(*w)))) {
		error = scli_error_set(SCLI_ENOMEM, "out of memory planning a count");
		goto done;
	}
	for (i = 0; i < n; i++) {
		int64_t a = bounds[i], b = bounds[i + 1];
		int64_t whole_from = cell_ceil(a, cell_us), whole_to = cell_floor(b, cell_us);

		assert(a < b);
		if (whole_from >= whole_to) {
			span_append(w, &nw, a, b);
			continue;
		}
		span_append(w, &nw, a, whole_from);
		span_append(c, &nc, whole_from, whole_to);
		span_append(w, &nw, whole_to, b);
	}
	*cells = c;
	*ncells = nc;
	*raw = w;
	*nraw = nw;
	c = w = NULL;
done:
	scli_free(c);
	scli_free(w);
	return error;
}

size_t scli_window_index(const int64_t *bounds, size_t n, int64_t t)
{
	size_t lo = 0, hi = n;

	if (!n || t < bounds[0] || t >= bounds[n])
		return n;
	/* bounds[lo] <= t < bounds[hi] */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (bounds[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}
