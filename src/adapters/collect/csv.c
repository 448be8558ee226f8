/*
 * The CSV collector: a pull-model reader over libcsv's push parser.
 *
 * The input is cut into "segments": one line with its terminator (LF, CRLF or
 * a lone CR), or a piece of a line longer than the read buffer. Each segment
 * is fed to libcsv on its own. A row can only end at an unquoted terminator,
 * and a segment holds a terminator only at its end, so one segment completes
 * at most one row: after each feed we know whether a row is ready, on which
 * line it started and what its original text was. No queue, no per-row
 * allocation; memory is bounded by the read buffer plus the longest accepted
 * row (SCLI_CSV_ROW_MAX). A line without any quote, by far the common case,
 * is split with memchr instead (split_plain_line): same fields, ~2x faster;
 * its fields and raw text are then read where they lie in the read buffer,
 * which stays as it is until the next row is asked for, instead of copied.
 * Whether a line holds a CR or a quote is known from one scan of the buffer
 * ahead of it (clean_cr, clean_quote), not from a search per line.
 *
 * A quoted field that is still open past SCLI_CSV_ROW_MAX, or at the end of
 * the input, is almost always a stray quote, not a field: the row is rejected
 * as its first line alone, and the rest of its text, which raw[] still holds,
 * is put back in front of the unread input and read again as rows (SPEC:
 * "reading resumes at the line after that row's first line"). Nothing is
 * re-read from the source, so pipes work the same. A single line longer than
 * SCLI_CSV_ROW_MAX is rejected up to its end, whatever quotes it holds.
 *
 * The first row is a header when at least one field is a column name and no
 * field is a timestamp. SPEC.md says "every field is a known column name" and
 * also "extra columns are ignored", which cannot both hold; this rule keeps
 * both promises, and a data row (which carries a timestamp) is never taken
 * for a header.
 *
 * libcsv's default space handling is kept: spaces and tabs around unquoted
 * fields are dropped (" a , b " reads as "a","b"), which forgives hand-edited
 * files. Spaces inside a field ("2021-03-01 04:01:07") and inside quotes are
 * kept. The reject's raw text is always the untouched original.
 */
#include "fields.h"
#include "reader.h"
#include "scli/alloc.h"
#include "scli/sys/adapters.h"
#include "scli/timestamp.h"

#include <csv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CSV_READ_BUFFER (256u * 1024u)
#define SCLI_CSV_ROW_MAX (1024u * 1024u)
/*
 * The read buffer's size: reads fill it to CSV_READ_BUFFER; the rest is room
 * for the text of a runaway row put back by row_resume (at most the row limit
 * plus one CRLF). The unread bytes never exceed this: they exceed
 * CSV_READ_BUFFER only after a resume, by no more than the bytes put back.
 */
#define CSV_BUFFER_SIZE (CSV_READ_BUFFER + SCLI_CSV_ROW_MAX + 2u)

/*
 * REPALL_NL makes libcsv report every unquoted terminator, including those of
 * a line holding only spaces, so "row ended" is always observable. No STRICT:
 * a stray quote inside an unquoted field is taken literally.
 */
#define CSV_PARSER_OPTIONS (CSV_REPALL_NL)

enum header_state { HEADER_UNKNOWN, HEADER_NONE, HEADER_PRESENT };

typedef struct csv_collector {
	scli_collector base;
	collect_reader in;
	struct csv_parser parser;
	uint64_t line; /* line number of the next segment */

	/* the row being assembled */
	int in_row;
	int row_ended;	  /* libcsv saw the row's terminator (or the row was cut) */
	int oversize;	  /* first line longer than SCLI_CSV_ROW_MAX: skipped to its end */
	int unterminated; /* a quoted field still open at the end of input */
	int resumed;	  /* cut to its first line, the rest put back (row_resume) */
	uint64_t row_line;
	char *raw;    /* original text, SCLI_CSV_ROW_MAX + 1 bytes */
	char *raw_at; /* the row's raw text: raw, or a plain line where it lies in in.buf */
	size_t raw_len;
	size_t first_text, first_end; /* raw offsets: end of the first line's text and
				       * of its terminator; first_end 0 until known */
	char pend_term[2];	      /* the previous segment's terminator, if the row goes on */
	size_t pend_len;

	/* fields of the row, only those we need, packed into fbuf (or, for a plain line,
	 * where they lie in in.buf: fields_inline) */
	size_t nfields;
	size_t foff[COLLECT_FIELDS], flen[COLLECT_FIELDS];
	const char *fat[COLLECT_FIELDS];
	int fields_inline;
	char *fbuf;
	size_t fbuf_len, fbuf_cap;
	int cb_error; /* allocation failure inside a libcsv callback */

	/* header */
	enum header_state header;
	size_t ncols;		    /* fields per row when HEADER_PRESENT */
	size_t col[COLLECT_FIELDS]; /* field index of each column */
	int hdr_seen[COLLECT_FIELDS];
	int hdr_dup;	   /* a column named twice: COLLECT_* + 1 */
	int hdr_known;	   /* fields of the first row that are column names */
	int hdr_timestamp; /* a field of the first row parses as a timestamp */

	/* in.buf[in.pos, clean_cr) holds no CR, [in.pos, clean_quote) no quote; 0 when the
	 * buffer has moved since they were known */
	size_t clean_cr, clean_quote;

	int fatal; /* sticky error code once the load cannot go on */
	char reason[COLLECT_REASON_MAX];
} csv_collector;

static int field_slot(const csv_collector *c, size_t idx)
{
	int k;

	if (c->header != HEADER_PRESENT)
		return idx < COLLECT_FIELDS ? (int)idx : -1;
	for (k = 0; k < COLLECT_FIELDS; k++)
		if (c->col[k] == idx)
			return k;
	return -1;
}

/* A field of the current row, from libcsv or from split_plain_line. */
static void take_field(csv_collector *c, const char *field, size_t len)
{
	size_t idx = c->nfields++;
	int slot = field_slot(c, idx);

	if (c->header == HEADER_UNKNOWN) {
		int64_t ts;
		int k = collect_field_index(field, len);

		if (k >= 0) {
			c->hdr_known++;
			if (c->hdr_seen[k] && !c->hdr_dup)
				c->hdr_dup = k + 1;
			c->hdr_seen[k] = 1;
			c->col[k] = idx;
		} else if (scli_timestamp_parse(&ts, field, len, NULL) == 0) {
			c->hdr_timestamp = 1;
		}
	}
	if (slot < 0)
		return;
	if (c->fields_inline) {
		c->fat[slot] = field;
		c->flen[slot] = len;
		return;
	}
	if (len > c->fbuf_cap - c->fbuf_len) {
		size_t cap = c->fbuf_cap * 2;
		char *p;

		while (cap - c->fbuf_len < len)
			cap *= 2;
		if (!(p = scli_realloc(c->fbuf, cap))) {
			c->cb_error = 1;
			return;
		}
		c->fbuf = p;
		c->fbuf_cap = cap;
	}
	/* len can be 0 with a NULL field */
	if (len)
		memcpy(c->fbuf + c->fbuf_len, field, len);
	c->foff[slot] = c->fbuf_len;
	c->flen[slot] = len;
	c->fbuf_len += len;
}

static void on_field(void *field, size_t len, void *data)
{
	take_field(data, field, len);
}

static void on_row(int term, void *data)
{
	csv_collector *c = data;

	(void)term;
	/* with REPALL_NL the LF of a CRLF reports a second, empty row: ignore */
	c->row_ended = 1;
}

static void row_reset(csv_collector *c)
{
	c->in_row = 0;
	c->row_ended = 0;
	c->oversize = 0;
	c->unterminated = 0;
	c->resumed = 0;
	c->raw_at = c->raw;
	c->fields_inline = 0;
	c->raw_len = 0;
	c->first_text = 0;
	c->first_end = 0;
	c->pend_len = 0;
	c->nfields = 0;
	c->fbuf_len = 0;
}

/* libcsv allocates through the project's allocator, so fault injection reaches it. */
static int parser_init(struct csv_parser *p)
{
	if (csv_init(p, CSV_PARSER_OPTIONS) != 0)
		return -1;
	csv_set_realloc_func(p, scli_realloc);
	csv_set_free_func(p, scli_free);
	return 0;
}

static int parser_reset(csv_collector *c)
{
	csv_free(&c->parser);
	if (parser_init(&c->parser) != 0)
		return scli_error_set(SCLI_ENOMEM, "out of memory");
	return 0;
}

static int feed(csv_collector *c, const char *p, size_t n)
{
	if (csv_parse(&c->parser, p, n, on_field, on_row, c) != n || c->cb_error)
		return scli_error_set(
		    SCLI_ENOMEM, "%s: cannot parse CSV: %s", scli_source_name(c->in.src),
		    c->cb_error ? "out of memory" : csv_strerror(csv_error(&c->parser)));
	return 0;
}

static void raw_append(csv_collector *c, const char *p, size_t n)
{
	size_t room = SCLI_CSV_ROW_MAX - c->raw_len;

	if (n > room)
		n = room;
	memcpy(c->raw + c->raw_len, p, n);
	c->raw_len += n;
}

static int is_csv_space(char ch)
{
	return ch == ' ' || ch == '\t';
}

/*
 * The common case without libcsv: a whole line holding no quote. libcsv's
 * per-byte state machine costs about 40 instructions a byte; splitting on
 * commas with memchr gives the same fields (spaces and tabs around each
 * trimmed, as libcsv does for unquoted fields) at a fraction of that.
 */
static void split_plain_line(csv_collector *c, const char *p, size_t n)
{
	const char *end = p + n;

	for (;;) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *stop = comma ? comma : end;
		const char *a = p, *b = stop;

		while (a < b && is_csv_space(*a))
			a++;
		while (b > a && is_csv_space(b[-1]))
			b--;
		take_field(c, a, (size_t)(b - a));
		if (!comma)
			break;
		p = comma + 1;
	}
	c->row_ended = 1;
}

/*
 * The row went on past its first line inside quotes and cannot end well: cut
 * it to its first line and put the text after that line (raw[] past
 * first_end, then the pending terminator) back in front of the unread bytes
 * at buf[pos], to be read again from the line after the row's first.
 */
static void row_resume(csv_collector *c)
{
	size_t total = c->raw_len + c->pend_len, back = total - c->first_end;
	size_t unread = c->in.len - c->in.pos;
	size_t from_raw = c->raw_len > c->first_end ? c->raw_len - c->first_end : 0;
	size_t pend_skip = c->first_end > c->raw_len ? c->first_end - c->raw_len : 0;

	assert(c->first_end > 0 && c->first_end <= total);
	assert(back + unread <= CSV_BUFFER_SIZE);
	memmove(c->in.buf + back, c->in.buf + c->in.pos, unread);
	memcpy(c->in.buf, c->raw + c->first_end, from_raw);
	memcpy(c->in.buf + from_raw, c->pend_term + pend_skip, c->pend_len - pend_skip);
	c->in.pos = 0;
	c->in.len = back + unread;
	c->clean_cr = c->clean_quote = 0;
	c->raw_len = c->first_text;
	c->pend_len = 0;
	c->line = c->row_line + 1;
	c->resumed = 1;
	c->row_ended = 1;
}

/*
 * Whether `p[0..n)`, at in.buf[in.pos], holds `ch`: known without a search while
 * it lies before `*clean` (nothing of the kind up to there), else found by one
 * search to the end of what the buffer holds, which moves `*clean` on.
 */
static int has_byte(csv_collector *c, size_t *clean, char ch, const char *p, size_t n)
{
	size_t from = (size_t)(p - c->in.buf), to = from + n;
	const char *hit;

	if (to <= *clean)
		return 0;
	if (*clean < from)
		*clean = from;
	hit = memchr(c->in.buf + *clean, ch, c->in.len - *clean);
	*clean = hit ? (size_t)(hit - c->in.buf) : c->in.len;
	return hit && (size_t)(hit - c->in.buf) < to;
}

/* More input into the reader: the buffer moves, what was known clean is no longer. */
static long refill(csv_collector *c)
{
	c->clean_cr = c->clean_quote = 0;
	return collect_reader_refill(&c->in);
}

/*
 * One segment of the current row: `n` bytes of text, then `tlen` bytes of
 * terminator. Returns 0, 1 when the row was cut and the segment put back
 * (row_resume: the caller must not consume it), or < 0 on error.
 */
static int row_take(csv_collector *c, const char *p, size_t n, size_t tlen)
{
	int error = 0;

	if (!c->oversize && c->pend_len + n > SCLI_CSV_ROW_MAX - c->raw_len) {
		if (c->first_end) {
			/* a quoted field past the row limit: a stray quote */
			row_resume(c);
			return 1;
		}
		/* the first line alone is too long: keep what fits, stop
		 * feeding libcsv (its field buffer would grow too) and skip to
		 * the line's end */
		c->oversize = 1;
		raw_append(c, p, n);
	}
	if (c->oversize) {
		if (tlen)
			c->row_ended = 1;
		return 0;
	}
	if (c->raw_len == 0 && c->pend_len == 0 && tlen &&
	    !has_byte(c, &c->clean_quote, '"', p, n)) {
		/* in.buf stays as it is until the next row is asked for: no copies */
		c->raw_at = (char *)p;
		c->raw_len = n;
		c->fields_inline = 1;
		split_plain_line(c, p, n);
		return 0;
	}
	raw_append(c, c->pend_term, c->pend_len);
	raw_append(c, p, n);
	c->pend_len = 0;
	if ((error = feed(c, p, n + tlen)) < 0)
		return error;
	if (!c->row_ended && tlen) {
		/* a quoted field goes on: its line break belongs to the raw text */
		memcpy(c->pend_term, p + n, tlen);
		c->pend_len = tlen;
		if (!c->first_end) {
			c->first_text = c->raw_len;
			c->first_end = c->raw_len + tlen;
		}
	}
	return 0;
}

/*
 * Find the next segment at c->in.buf + c->in.pos: `*n` text bytes and `*tlen`
 * terminator bytes (0 for a piece of an over-long line, or the last line
 * without terminator). Returns 1, 0 at end of input, or < 0 on error.
 */
static long next_segment(csv_collector *c, size_t *n, size_t *tlen)
{
	long got;

	for (;;) {
		const char *start = c->in.buf + c->in.pos;
		size_t avail = c->in.len - c->in.pos;
		const char *nl = memchr(start, '\n', avail);
		size_t scan = nl ? (size_t)(nl - start) : avail;
		const char *cr =
		    has_byte(c, &c->clean_cr, '\r', start, scan) ? c->in.buf + c->clean_cr : NULL;

		if (cr && (cr + 1 < start + avail || c->in.eof)) {
			*n = (size_t)(cr - start);
			*tlen = (cr + 1 < start + avail && cr[1] == '\n') ? 2 : 1;
			return 1;
		}
		if (!cr && nl) {
			*n = scan;
			*tlen = 1;
			return 1;
		}
		if (c->in.eof) {
			*n = avail;
			*tlen = 0;
			return avail > 0;
		}
		if (c->in.pos == 0 && c->in.len >= CSV_READ_BUFFER) {
			/* a line longer than the buffer: hand out what we have,
			 * except a final CR whose LF may follow */
			*n = cr ? (size_t)(cr - start) : avail;
			*tlen = 0;
			return 1;
		}
		if ((got = refill(c)) < 0)
			return got;
	}
}

/* Read until a row is complete. Returns 1 with a row, 0 at end of input, < 0 on error. */
static int read_row(csv_collector *c)
{
	size_t n, tlen;
	long got;
	int error;

	if (!c->in.started) {
		c->clean_cr = c->clean_quote = 0;
		if ((error = collect_reader_skip_bom(&c->in)) < 0)
			return error;
	}
	for (;;) {
		if ((got = next_segment(c, &n, &tlen)) < 0)
			return (int)got;
		if (got == 0)
			break;
		if (!c->in_row) {
			if (n == 0 && tlen > 0) { /* blank line */
				c->in.pos += tlen;
				c->line++;
				continue;
			}
			c->in_row = 1;
			c->row_line = c->line;
		}
		if ((error = row_take(c, c->in.buf + c->in.pos, n, tlen)) < 0)
			return error;
		if (error > 0) /* put back: buf and line are set */
			goto row_done;
		c->in.pos += n + tlen;
		if (tlen)
			c->line++;
		if (c->row_ended)
			goto row_done;
	}
	if (!c->in_row)
		return 0;
	/*
	 * End of input inside a row. A final line without terminator ends it
	 * unless a quote is still open: a terminator tells libcsv which. An
	 * open quote that spans lines runs to the end of the input: the same
	 * stray quote as one past the row limit, so the lines after its first
	 * are read again.
	 */
	if (!c->oversize) {
		if ((error = feed(c, "\n", 1)) < 0)
			return error;
		c->unterminated = !c->row_ended;
		if (c->unterminated && c->first_end)
			row_resume(c);
	}
	c->row_ended = 1;
row_done:
	if ((c->oversize || c->unterminated || c->resumed) && (error = parser_reset(c)) < 0)
		return error;
	return 1;
}

static int header_check(csv_collector *c)
{
	int k;

	if (c->hdr_dup)
		return c->fatal = scli_error_set(SCLI_ERROR, "%s:%llu: header has column %s twice",
						 scli_source_name(c->in.src),
						 (unsigned long long)c->row_line,
						 collect_field_names[c->hdr_dup - 1]);
	for (k = 0; k < COLLECT_FIELDS; k++)
		if (!c->hdr_seen[k])
			return c->fatal = scli_error_set(
				   SCLI_ERROR, "%s:%llu: header lacks column %s",
				   scli_source_name(c->in.src), (unsigned long long)c->row_line,
				   collect_field_names[k]);
	c->ncols = c->nfields;
	c->header = HEADER_PRESENT;
	return 0;
}

/* Turn the completed row into an event or a reject reason. Returns 1 event, 0 reject. */
static int row_convert(scli_event *ev, csv_collector *c)
{
	size_t expect = c->header == HEADER_PRESENT ? c->ncols : COLLECT_FIELDS;
	/* a line of spaces is one (trimmed, empty) field, not zero */
	size_t found = c->nfields ? c->nfields : 1;
	collect_row row = {.ts_is_number = false};
	int k;

	if (c->resumed) {
		if (c->unterminated)
			snprintf(c->reason, sizeof(c->reason),
				 "unterminated quoted field; reading resumes at the next line");
		else
			snprintf(c->reason, sizeof(c->reason),
				 "quoted field still open after %u bytes (a stray quote?); reading "
				 "resumes at the next line",
				 SCLI_CSV_ROW_MAX);
		return 0;
	}
	if (c->unterminated) {
		snprintf(c->reason, sizeof(c->reason), "unterminated quoted field");
		return 0;
	}
	if (c->oversize) {
		snprintf(c->reason, sizeof(c->reason), "row is longer than %u bytes",
			 SCLI_CSV_ROW_MAX);
		return 0;
	}
	if (found != expect) {
		snprintf(c->reason, sizeof(c->reason), "expected %zu fields%s, found %zu", expect,
			 c->header == HEADER_PRESENT ? " (header)" : "", found);
		return 0;
	}
	for (k = 0; k < COLLECT_FIELDS; k++) {
		row.text[k] = c->fields_inline ? c->fat[k] : c->fbuf + c->foff[k];
		row.len[k] = c->flen[k];
	}
	return collect_row_to_event(ev, c->reason, sizeof(c->reason), &row);
}

static int csv_next(scli_event *ev_out, scli_reject *rej_out, scli_collector *base)
{
	csv_collector *c = (csv_collector *)base;
	int error;

	assert(ev_out && rej_out);
	if (c->fatal)
		return c->fatal;
	for (;;) {
		row_reset(c);
		if ((error = read_row(c)) <= 0) {
			if (error < 0)
				c->fatal = error;
			return error;
		}
		if (c->header == HEADER_UNKNOWN) {
			int is_header = c->hdr_known > 0 && !c->hdr_timestamp && !c->oversize &&
					!c->unterminated && !c->resumed;

			if (!is_header) {
				c->header = HEADER_NONE;
			} else if ((error = header_check(c)) < 0) {
				return error;
			} else {
				continue;
			}
		}
		if (row_convert(ev_out, c))
			return SCLI_NEXT_EVENT;
		return collect_reject(rej_out, c->row_line, c->reason, c->raw_at, c->raw_len);
	}
}

static void csv_collector_free(scli_collector *base)
{
	csv_collector *c = (csv_collector *)base;

	if (!c)
		return;
	csv_free(&c->parser);
	collect_reader_close(&c->in);
	scli_free(c->raw);
	scli_free(c->fbuf);
	scli_free(c);
}

/*
 * Line feeds in data[0..len), eight bytes at a time: a byte equal to '\n'
 * becomes 1 and every other byte 0 (exactly, with no carry between bytes).
 * The bytes are added up lane by lane for up to 31 words (at most 248 a
 * word, so no lane overflows) and the lanes summed by a multiplication.
 */
static uint64_t count_line_feeds(const char *data, size_t len)
{
	const uint64_t lf = UINT64_C(0x0a0a0a0a0a0a0a0a), low7 = UINT64_C(0x7f7f7f7f7f7f7f7f);
	const uint64_t ones = UINT64_C(0x0101010101010101);
	uint64_t n = 0;
	size_t i = 0;

	while (i + 8 <= len) {
		uint64_t lanes = 0;
		unsigned k;

		for (k = 0; k < 31 && i + 8 <= len; k++, i += 8) {
			uint64_t w, x;

			memcpy(&w, data + i, 8);
			x = w ^ lf;
			lanes += (~(((x & low7) + low7) | x | low7)) >> 7;
		}
		n += (lanes * ones) >> 56;
	}
	for (; i < len; i++)
		n += data[i] == '\n';
	return n;
}

/*
 * A part without a quote ends a row at every line break (a quoted field is the
 * only thing that holds one), so it can be cut after any line feed. Its lines
 * are numbered as next_segment does: LF, CRLF and a lone CR each end one.
 */
int64_t scli_collector_csv_part_lines(const char *data, size_t len)
{
	const char *p = data, *end = data + len, *cr;
	uint64_t lines;

	if (memchr(data, '"', len))
		return -1;
	lines = count_line_feeds(data, len);
	while ((cr = memchr(p, '\r', (size_t)(end - p)))) {
		if (cr + 1 == end || cr[1] != '\n')
			lines++;
		p = cr + 1;
	}
	return (int64_t)lines;
}

static const scli_collector_ops csv_ops;

int scli_collector_csv_open_part(scli_collector **out, scli_source *src, const scli_collector *head,
				 uint64_t first_line)
{
	const csv_collector *h = (const csv_collector *)head;
	csv_collector *c;
	int error;

	assert(out && src && head && head->ops == &csv_ops);
	*out = NULL;
	if (h->header == HEADER_UNKNOWN)
		return scli_error_set(SCLI_EINVALID, "the CSV collector has not read a row yet");
	if ((error = scli_collector_csv_new(out, src)) < 0)
		return error;
	c = (csv_collector *)*out;
	c->header = h->header;
	c->ncols = h->ncols;
	memcpy(c->col, h->col, sizeof(c->col));
	c->line = first_line;
	c->in.started = true; /* a byte order mark is skipped at the input's start only */
	return 0;
}

static const scli_collector_ops csv_ops = {
    .version = SCLI_COLLECTOR_OPS_VERSION,
    .name = "csv",
    .next = csv_next,
    .free = csv_collector_free,
};

int scli_collector_csv_new(scli_collector **out, scli_source *src)
{
	csv_collector *c = NULL;
	int error = 0;

	assert(out && src);
	*out = NULL;
	if (!(c = scli_calloc(1, sizeof(*c)))) {
		error = scli_error_set(SCLI_ENOMEM, "out of memory");
		goto done;
	}
	c->base.ops = &csv_ops;
	c->line = 1;
	c->fbuf_cap = 1024;
	if (parser_init(&c->parser) != 0 ||
	    collect_reader_init(&c->in, src, CSV_READ_BUFFER, CSV_BUFFER_SIZE) < 0 ||
	    !(c->raw = scli_malloc(SCLI_CSV_ROW_MAX + 1)) ||
	    !(c->fbuf = scli_malloc(c->fbuf_cap))) {
		error = scli_error_set(SCLI_ENOMEM, "out of memory");
		goto done;
	}
	*out = &c->base;
	c = NULL;

done:
	csv_collector_free(c ? &c->base : NULL);
	return error;
}
