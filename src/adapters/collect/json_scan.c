/*
 * The JSON collector's scanner: cuts the input into top-level values, each
 * then handed to cJSON whole (json_object.c).
 *
 * cJSON only parses whole documents, and a whole file can be any size, so the
 * scanner finds where each value ends: it tracks string state, escapes and a
 * stack of open brackets, byte by byte over a fixed read buffer. A value that
 * lies inside the read buffer is parsed in place; one that straddles a refill
 * is gathered in `raw`, which holds at most SCLI_JSON_OBJECT_MAX bytes. A
 * longer value is still scanned to its end but not kept. Memory is therefore
 * bounded by the read buffer plus one object, whatever the file size.
 *
 * Shapes, told apart by what the scanner meets at the top level (json.c):
 *   '['   opens an array; its elements are read one by one until its ']'.
 *         (Concatenated arrays, or an NDJSON line holding an array of objects,
 *         read the same way.) Commas between elements are not checked: a
 *         missing or doubled comma loses no data, so it rejects nothing.
 *   '{'   an object: a single-object file, or NDJSON, or pretty-printed
 *         objects one after the other.
 *   other a top-level value that is not an object: the rest of its line is
 *         one rejected row (NDJSON resynchronises at the next line).
 *
 * Resynchronising after invalid JSON. A value whose brackets balance is cut at
 * its end whatever its content, and cJSON judges it. The scanner itself
 * detects three faults that would otherwise make it swallow the rest of the
 * input, and ends the bad value right there:
 *   - a line break inside a string (JSON strings cannot hold one): the value
 *     ends before it and reading resumes on the next line;
 *   - an opening '{' or '[' where no value can start (inside an object it
 *     must follow ':', inside an array '[' or ','): the usual sign of a
 *     missing '}' at the end of an NDJSON line or of an array element. The
 *     value ends before it and reading resumes at it;
 *   - inside a top-level array, a ']' or '}' that closes nothing in the
 *     element: it belongs to the array, so the element ends before it.
 * A closer of the wrong kind closes up to its match ("[1}" closes both), so
 * one missing bracket costs one row. What still does not balance (e.g. a
 * missing '}' in the last object) runs to the end of the input and is
 * rejected as one truncated row; objects before it still count.
 */
#include "json.h"

#include <stdio.h>
#include <string.h>

#include "scli/alloc.h"
#include "scli/error.h"

int json_scanner_init(json_scanner *s, scli_source *src)
{
	int error;

	memset(s, 0, sizeof(*s));
	s->line = 1;
	if ((error = collect_reader_init(&s->in, src, JSON_READ_BUFFER, JSON_READ_BUFFER)) < 0)
		return error;
	if (!(s->raw = scli_malloc(SCLI_JSON_OBJECT_MAX + 1)))
		return scli_error_set(SCLI_ENOMEM, "out of memory");
	return 0;
}

void json_scanner_close(json_scanner *s)
{
	collect_reader_close(&s->in);
	scli_free(s->raw);
	s->raw = NULL;
}

/* ---- reading ------------------------------------------------------------ */

/* Move the value's bytes read so far, up to buf[end], into raw (as much as fits). */
static void value_gather(json_scanner *s, size_t end)
{
	size_t n = end - s->vstart, room = SCLI_JSON_OBJECT_MAX - s->raw_len;

	memcpy(s->raw + s->raw_len, s->in.buf + s->vstart, n < room ? n : room);
	s->raw_len += n < room ? n : room;
	s->v.full_len += n;
	s->vstart = end;
}

/*
 * Keep unread bytes and read more after them. A value in progress has all
 * its bytes up to pos moved to raw first, so the buffer never holds more than
 * one read. Returns > 0, 0 at end of input, < 0 on error.
 */
static long refill(json_scanner *s)
{
	if (s->in_value) {
		value_gather(s, s->in.pos);
		s->spilled = 1;
		s->vstart = 0;
	}
	return collect_reader_refill(&s->in);
}

long json_skip_space(json_scanner *s)
{
	long got;

	for (;;) {
		while (s->in.pos < s->in.len) {
			char ch = s->in.buf[s->in.pos];

			if (ch == '\n')
				s->line++;
			else if (ch != ' ' && ch != '\t' && ch != '\r')
				return 1;
			s->in.pos++;
		}
		if ((got = refill(s)) <= 0)
			return got;
	}
}

void json_value_begin(json_scanner *s)
{
	s->in_value = 1;
	s->vstart = s->in.pos;
	s->v.full_len = 0;
	s->spilled = 0;
	s->raw_len = 0;
	s->v.line = s->line;
	s->st.in_string = 0;
	s->st.escape = 0;
	s->st.depth = 0;
	s->v.max_depth = 0;
	s->st.prev = 0;
	s->open[0] = s->open[1] = 0;
}

/* The value ends before buf[end]. */
static void value_end(json_scanner *s, size_t end)
{
	if (s->spilled) {
		value_gather(s, end);
		s->v.text = s->raw;
		s->v.text_len = s->raw_len;
	} else {
		s->v.text = s->in.buf + s->vstart;
		s->v.text_len = end - s->vstart;
		s->v.full_len = s->v.text_len;
	}
	s->in_value = 0;
}

/* ---- the bracket stack --------------------------------------------------- */

static int stack_is_object(const json_scanner *s, uint64_t level)
{
	return (s->stack[level / 8] >> (level % 8)) & 1;
}

static void stack_set(json_scanner *s, uint64_t level, int is_object)
{
	unsigned char bit = (unsigned char)(1u << (level % 8));

	if (is_object)
		s->stack[level / 8] |= bit;
	else
		s->stack[level / 8] &= (unsigned char)~bit;
}

/* An opening '{' or '[' where no value can start (see the top of the file). */
static int opener_misplaced(const json_scanner *s, const json_scan_state *st)
{
	if (st->depth == 0 || st->depth > JSON_STACK_DEPTH)
		return 0;
	if (stack_is_object(s, st->depth - 1))
		return st->prev != ':';
	return st->prev != '[' && st->prev != ',';
}

static void open_bracket(json_scanner *s, json_scan_state *st, char ch)
{
	if (st->depth < JSON_STACK_DEPTH) {
		stack_set(s, st->depth, ch == '{');
		s->open[ch == '{']++;
	}
	if (++st->depth > s->v.max_depth)
		s->v.max_depth = st->depth;
}

/*
 * A closing '}' or ']': close up to its match. Returns 1, changing nothing,
 * when nothing in an array's element matches it: it is the array's own
 * closer, and the element lacks one. With no match at the top level nothing
 * is closed: cJSON will say why.
 */
static int close_bracket(json_scanner *s, json_scan_state *st, char ch)
{
	int want = ch == '}';

	if (st->depth > JSON_STACK_DEPTH) {
		st->depth--;
		return 0;
	}
	if (s->open[want] == 0 && s->in_array)
		return 1;
	while (s->open[want] > 0) {
		int kind = stack_is_object(s, --st->depth);

		s->open[kind]--;
		if (kind == want)
			break;
	}
	return 0;
}

/* ---- scanning ------------------------------------------------------------ */

/*
 * Inside a string from b[i]: the index of its closing quote or of a line
 * break (which no JSON string holds), or n when the buffer ends first.
 */
static size_t string_end(const char *b, size_t i, size_t n, int *escape)
{
	while (i < n) {
		if (*escape) {
			*escape = 0;
			if (b[i] == '\n')
				return i;
			i++;
			continue;
		}
		while (b[i] != '"' && b[i] != '\\' && b[i] != '\n')
			if (++i == n)
				return n;
		if (b[i] != '\\')
			return i;
		*escape = 1;
		i++;
	}
	return n;
}

static void scan_save(json_scanner *s, const json_scan_state *st, uint64_t line)
{
	s->st = *st;
	s->line = line;
}

/* The value is complete before buf[end]. */
static long scan_complete(json_scanner *s, const json_scan_state *st, uint64_t line, size_t end)
{
	scan_save(s, st, line);
	value_end(s, end);
	s->in.pos = end;
	return SCAN_COMPLETE;
}

/* The value is cut short before buf[end], on `line`, for `what` (and the byte `ch`, if any). */
static long scan_broken(json_scanner *s, const json_scan_state *st, uint64_t line, size_t end,
			const char *what, char ch)
{
	scan_save(s, st, line);
	if (ch)
		snprintf(s->broken, sizeof(s->broken), "%s '%c'", what, ch);
	else
		snprintf(s->broken, sizeof(s->broken), "%s", what);
	s->broken_line = line;
	value_end(s, end);
	s->in.pos = end;
	return SCAN_BROKEN;
}

/*
 * The hot loop: the state lives in locals, saved (scan_save) before
 * anything that may leave the loop.
 */
long json_scan_nested(json_scanner *s)
{
	json_scan_state st = s->st;
	uint64_t line = s->line;
	long got;

	for (;;) {
		const char *b = s->in.buf;
		size_t i = s->in.pos, n = s->in.len;

		while (i < n) {
			char ch = b[i];

			if (st.in_string) {
				if ((i = string_end(b, i, n, &st.escape)) == n)
					break;
				if (b[i] == '\n') {
					scan_broken(s, &st, line, i, "unterminated string", 0);
					s->in.pos = i + 1;
					s->line = line + 1;
					return SCAN_BROKEN;
				}
				st.in_string = 0;
				st.prev = '"';
				i++;
				if (st.depth == 0)
					return scan_complete(s, &st, line, i);
				continue;
			}
			switch (ch) {
			case '\n':
				line++;
				/* fall through */
			case ' ':
			case '\t':
			case '\r':
				i++;
				continue;
			case '"':
				st.in_string = 1;
				break;
			case '{':
			case '[':
				if (opener_misplaced(s, &st))
					return scan_broken(s, &st, line, i, "unexpected", ch);
				open_bracket(s, &st, ch);
				break;
			case '}':
			case ']':
				if (close_bracket(s, &st, ch))
					return scan_broken(s, &st, line, i, "missing",
							   stack_is_object(s, st.depth - 1) ? '}'
											    : ']');
				if (st.depth == 0)
					return scan_complete(s, &st, line, i + 1);
				break;
			default:
				break;
			}
			st.prev = ch;
			i++;
		}
		s->in.pos = i;
		scan_save(s, &st, line);
		if ((got = refill(s)) < 0)
			return got;
		if (got == 0) {
			value_end(s, s->in.len);
			s->in.pos = s->in.len;
			return SCAN_TRUNCATED;
		}
	}
}

long json_scan_plain(json_scanner *s, int to_eol)
{
	long got;

	s->in.pos++; /* the first byte, whatever it is */
	for (;;) {
		const char *b = s->in.buf;
		size_t i = s->in.pos, n = s->in.len;

		if (to_eol) {
			const char *nl = memchr(b + i, '\n', n - i);

			i = nl ? (size_t)(nl - b) : n;
		} else {
			while (i < n && !json_is_token_end(b[i]))
				i++;
		}
		s->in.pos = i;
		if (i < n)
			break;
		if ((got = refill(s)) < 0)
			return got;
		if (got == 0)
			break;
	}
	value_end(s, s->in.pos);
	return SCAN_COMPLETE;
}
