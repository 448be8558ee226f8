/* The read buffer every collector pulls its source through (reader.h). */
#include "reader.h"

#include <string.h>

#include "scli/alloc.h"
#include "scli/error.h"

int collect_reader_init(collect_reader *r, scli_source *src, size_t fill, size_t size)
{
	assert(fill <= size);
	memset(r, 0, sizeof(*r));
	r->src = src;
	r->fill = fill;
	if (!(r->buf = scli_malloc(size)))
		return scli_error_set(SCLI_ENOMEM, "out of memory");
	return 0;
}

void collect_reader_close(collect_reader *r)
{
	scli_free(r->buf);
	r->buf = NULL;
}

long collect_reader_refill(collect_reader *r)
{
	long got;

	if (r->pos > 0) {
		memmove(r->buf, r->buf + r->pos, r->len - r->pos);
		r->len -= r->pos;
		r->pos = 0;
	}
	if (r->len >= r->fill)
		return 1;
	if (r->eof)
		return 0;
	got = scli_source_read(r->src, r->buf + r->len, r->fill - r->len);
	if (got < 0)
		return got;
	if (got == 0)
		r->eof = true;
	r->len += (size_t)got;
	return got;
}

int collect_reader_skip_bom(collect_reader *r)
{
	long got;

	if (r->started)
		return 0;
	while (r->len - r->pos < 3 && !r->eof)
		if ((got = collect_reader_refill(r)) < 0)
			return (int)got;
	if (r->len - r->pos >= 3 && memcmp(r->buf + r->pos, "\xEF\xBB\xBF", 3) == 0)
		r->pos += 3;
	r->started = true;
	return 0;
}
