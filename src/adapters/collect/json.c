/*
 * The JSON collector: a pull-model reader that cuts the input into top-level
 * values with its own small scanner and hands each one to cJSON.
 *
 * cJSON only parses whole documents, and a whole file can be any size, so the
 * scanner finds where each value ends: it tracks string state, escapes and a
 * stack of open brackets, byte by byte over a fixed read buffer. A value that
 * lies inside the read buffer is parsed in place; one that straddles a refill
 * is gathered in `raw`, which holds at most SCLI_JSON_OBJECT_MAX bytes. A
 * longer value is still scanned to its end but not kept. Memory is therefore
 * bounded by the read buffer plus one object, whatever the file size.
 *
 * Shapes, told apart by what the scanner meets at the top level:
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
 *
 * Fields are matched like CSV header names: '_' removed, case ignored, so
 * customer_id, customerId and CUSTOMER_ID are the same key. A null counts as
 * missing; a key given twice (in any spelling) is a reject, not a guess.
 * The ids may also be integer numbers, because real APIs send numeric ids.
 * cJSON keeps only a double, which rounds above 2^53 (9007199254740993 would
 * become ...992 and merge two transactions), so a number is read from its
 * text in the object instead (member_value_text): an id is its digits as
 * written, sign included, whatever their count; a fraction or an exponent is
 * rejected with a reason asking for a string rather than stored altered. A
 * numeric timestamp (Unix seconds) is read from its digits too, exactly to the
 * microsecond like a text timestamp's fraction (extra digits truncated),
 * where a double is off by microseconds far from 1970.
 */
#include "fields.h"
#include "scli/alloc.h"
#include "scli/adapters.h"
#include "scli/timestamp.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_READ_BUFFER (256u * 1024u)
#define SCLI_JSON_OBJECT_MAX (1024u * 1024u)
/*
 * Bracket kinds are remembered this deep. cJSON refuses anything deeper than
 * CJSON_NESTING_LIMIT anyway, so beyond it only the depth is counted, enough
 * to find the end of the value.
 */
#define JSON_STACK_DEPTH 2048
/* How much of a bad timestamp, or of the text near a syntax error, a reason quotes. */
#define JSON_NEAR_MAX 20

/* How the scan of one value ended. */
enum scan_end { SCAN_COMPLETE, SCAN_BROKEN, SCAN_TRUNCATED };

typedef struct json_collector {
	scli_collector base;
	scli_source *src;

	/* read buffer: [pos, len) not yet consumed */
	char *buf;
	size_t pos, len;
	int eof;
	int started;   /* BOM check done */
	uint64_t line; /* line of buf[pos] */

	int in_array; /* inside a top-level array */
	uint64_t array_line;

	/* the value being scanned */
	int in_value;
	size_t vstart;	  /* where its not yet gathered bytes begin in buf */
	size_t vlen;	  /* its length so far, kept or not */
	int spilled;	  /* it straddled a refill: its text is in raw */
	uint64_t vline;	  /* line where it starts */
	const char *text; /* its text once complete: in buf or in raw */
	size_t text_len;  /* (at most SCLI_JSON_OBJECT_MAX) */
	char *raw;	  /* SCLI_JSON_OBJECT_MAX + 1 bytes */
	size_t raw_len;

	/* scanner state, kept across refills */
	int in_string, escape;
	uint64_t depth, max_depth;
	char prev; /* last byte outside strings that is not whitespace */
	unsigned char stack[JSON_STACK_DEPTH / 8]; /* bit set: that level is an object */
	/* arrays [0] and objects [1] open in the stack: a closer that matches
	 * nothing is known at once, not after a walk down the whole stack */
	uint64_t open[2];

	int fatal; /* sticky error code once the load cannot go on */
	char reason[COLLECT_REASON_MAX];
} json_collector;

/* ---- reading ------------------------------------------------------------ */

/* Move the value's bytes read so far, up to buf[end], into raw (as much as fits). */
static void value_gather(json_collector *c, size_t end)
{
	size_t n = end - c->vstart, room = SCLI_JSON_OBJECT_MAX - c->raw_len;

	memcpy(c->raw + c->raw_len, c->buf + c->vstart, n < room ? n : room);
	c->raw_len += n < room ? n : room;
	c->vlen += n;
	c->vstart = end;
}

/*
 * Keep unread bytes and read more after them. A value in progress has all
 * its bytes up to pos moved to raw first, so the buffer never holds more than
 * one read. Returns > 0, 0 at end of input, < 0 on error.
 */
static long refill(json_collector *c)
{
	long got;

	if (c->in_value) {
		value_gather(c, c->pos);
		c->spilled = 1;
		c->vstart = 0;
	}
	if (c->pos > 0) {
		memmove(c->buf, c->buf + c->pos, c->len - c->pos);
		c->len -= c->pos;
		c->pos = 0;
	}
	if (c->eof)
		return 0;
	got = scli_source_read(c->src, c->buf + c->len, JSON_READ_BUFFER - c->len);
	if (got < 0)
		return got;
	if (got == 0)
		c->eof = 1;
	c->len += (size_t)got;
	return got;
}

static int skip_bom(json_collector *c)
{
	long got;

	while (c->len - c->pos < 3 && !c->eof)
		if ((got = refill(c)) < 0)
			return (int)got;
	if (c->len - c->pos >= 3 && memcmp(c->buf + c->pos, "\xEF\xBB\xBF", 3) == 0)
		c->pos += 3;
	c->started = 1;
	return 0;
}

/* Skip whitespace between values. Returns 1 at a value, 0 at end of input, < 0 on error. */
static long skip_space(json_collector *c)
{
	long got;

	for (;;) {
		while (c->pos < c->len) {
			char ch = c->buf[c->pos];

			if (ch == '\n')
				c->line++;
			else if (ch != ' ' && ch != '\t' && ch != '\r')
				return 1;
			c->pos++;
		}
		if ((got = refill(c)) <= 0)
			return got;
	}
}

static void value_begin(json_collector *c)
{
	c->in_value = 1;
	c->vstart = c->pos;
	c->vlen = 0;
	c->spilled = 0;
	c->raw_len = 0;
	c->vline = c->line;
	c->in_string = 0;
	c->escape = 0;
	c->depth = 0;
	c->max_depth = 0;
	c->prev = 0;
	c->open[0] = c->open[1] = 0;
}

/* The value ends before buf[end]. */
static void value_end(json_collector *c, size_t end)
{
	if (c->spilled) {
		value_gather(c, end);
		c->text = c->raw;
		c->text_len = c->raw_len;
	} else {
		c->text = c->buf + c->vstart;
		c->text_len = end - c->vstart;
		c->vlen = c->text_len;
	}
	c->in_value = 0;
}

static int stack_is_object(const json_collector *c, uint64_t level)
{
	return (c->stack[level / 8] >> (level % 8)) & 1;
}

static void stack_set(json_collector *c, uint64_t level, int is_object)
{
	unsigned char bit = (unsigned char)(1u << (level % 8));

	if (is_object)
		c->stack[level / 8] |= bit;
	else
		c->stack[level / 8] &= (unsigned char)~bit;
}

static void broken_reason(json_collector *c, const char *what, uint64_t line)
{
	if (line != c->vline)
		snprintf(c->reason, sizeof(c->reason), "invalid JSON: %s on line %" PRIu64, what,
			 line);
	else
		snprintf(c->reason, sizeof(c->reason), "invalid JSON: %s", what);
}

/*
 * Scan an object, array or string starting at buf[pos] to its end (see the
 * top of the file for the faults that end it early). The hot state lives in
 * locals; SAVE() writes it back before anything that may leave the loop.
 * Returns an enum scan_end, or < 0 on an I/O error.
 */
static long scan_nested(json_collector *c)
{
	int in_string = c->in_string, escape = c->escape;
	uint64_t depth = c->depth, line = c->line;
	char prev = c->prev;
	long got;

#define SAVE()                                                                                     \
	do {                                                                                       \
		c->in_string = in_string;                                                          \
		c->escape = escape;                                                                \
		c->depth = depth;                                                                  \
		c->line = line;                                                                    \
		c->prev = prev;                                                                    \
	} while (0)

	for (;;) {
		const char *b = c->buf;
		size_t i = c->pos, n = c->len;

		while (i < n) {
			char ch = b[i];

			if (in_string) {
				if (escape) {
					escape = 0;
					if (ch != '\n') {
						i++;
						continue;
					}
				}
				while (ch != '"' && ch != '\\' && ch != '\n') {
					if (++i == n)
						goto more;
					ch = b[i];
				}
				if (ch == '\\') {
					escape = 1;
					i++;
					continue;
				}
				if (ch == '\n') {
					SAVE();
					broken_reason(c, "unterminated string", line);
					value_end(c, i);
					c->pos = i + 1;
					c->line = line + 1;
					return SCAN_BROKEN;
				}
				in_string = 0;
				prev = '"';
				i++;
				if (depth == 0)
					goto complete;
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
				in_string = 1;
				break;
			case '{':
			case '[':
				if (depth > 0 && depth <= JSON_STACK_DEPTH &&
				    (stack_is_object(c, depth - 1) ? prev != ':'
								   : prev != '[' && prev != ',')) {
					char what[32];

					SAVE();
					snprintf(what, sizeof(what), "unexpected '%c'", ch);
					broken_reason(c, what, line);
					value_end(c, i);
					c->pos = i;
					return SCAN_BROKEN;
				}
				if (depth < JSON_STACK_DEPTH) {
					stack_set(c, depth, ch == '{');
					c->open[ch == '{']++;
				}
				if (++depth > c->max_depth)
					c->max_depth = depth;
				break;
			case '}':
			case ']':
				if (depth > JSON_STACK_DEPTH) {
					depth--;
				} else {
					int want = ch == '}';

					if (c->open[want] == 0 && c->in_array) {
						/* the array's own closer: the element lacks its
						 * own */
						char what[32];

						SAVE();
						snprintf(what, sizeof(what), "missing '%c'",
							 stack_is_object(c, depth - 1) ? '}' : ']');
						broken_reason(c, what, line);
						value_end(c, i);
						c->pos = i;
						return SCAN_BROKEN;
					}
					/* no match at the top level: cJSON will say why */
					while (c->open[want] > 0) {
						int kind = stack_is_object(c, --depth);

						c->open[kind]--;
						if (kind == want)
							break;
					}
				}
				if (depth == 0) {
					i++;
					goto complete;
				}
				break;
			default:
				break;
			}
			prev = ch;
			i++;
		}
	more:
		c->pos = i;
		SAVE();
		if ((got = refill(c)) < 0)
			return got;
		if (got == 0) {
			value_end(c, c->len);
			c->pos = c->len;
			return SCAN_TRUNCATED;
		}
		continue;
	complete:
		SAVE();
		value_end(c, i);
		c->pos = i;
		return SCAN_COMPLETE;
	}
#undef SAVE
}

static int is_token_end(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == ',' || ch == ']' ||
	       ch == '}' || ch == '[' || ch == '{' || ch == '"';
}

/*
 * Scan a bare word inside an array (up to a delimiter, at least one byte) or,
 * with `to_eol`, the rest of a line at the top level. Returns SCAN_COMPLETE,
 * or < 0 on an I/O error.
 */
static long scan_plain(json_collector *c, int to_eol)
{
	long got;

	c->pos++; /* the first byte, whatever it is */
	for (;;) {
		const char *b = c->buf;
		size_t i = c->pos, n = c->len;

		if (to_eol) {
			const char *nl = memchr(b + i, '\n', n - i);

			i = nl ? (size_t)(nl - b) : n;
		} else {
			while (i < n && !is_token_end(b[i]))
				i++;
		}
		c->pos = i;
		if (i < n)
			break;
		if ((got = refill(c)) < 0)
			return got;
		if (got == 0)
			break;
	}
	value_end(c, c->pos);
	return SCAN_COMPLETE;
}

/* ---- converting --------------------------------------------------------- */

/* cJSON stopped at `at` (inside text[0..len)): say where, briefly. */
static void reason_syntax(json_collector *c, const char *text, size_t len, const char *at)
{
	char near[JSON_NEAR_MAX + 1];
	size_t off = at && at >= text && at <= text + len ? (size_t)(at - text) : len;
	int cut;

	while (off < len &&
	       (text[off] == ' ' || text[off] == '\t' || text[off] == '\r' || text[off] == '\n'))
		off++;
	if (off >= len) {
		snprintf(c->reason, sizeof(c->reason), "invalid JSON: unexpected end");
		return;
	}
	collect_quote_text(near, JSON_NEAR_MAX, text + off, len - off, &cut);
	snprintf(c->reason, sizeof(c->reason), "invalid JSON near '%s%s'", near, cut ? "..." : "");
}

static const char *type_name(const cJSON *v)
{
	if (cJSON_IsArray(v))
		return "an array";
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsBool(v))
		return "a boolean";
	if (cJSON_IsNull(v))
		return "null";
	return "an object";
}

/*
 * Does the text hold a \u0000 escape? cJSON decodes it into a NUL inside
 * valuestring and gives no length, so the value would be silently cut there.
 * Escapes are walked pairwise from the start, so "\\u0000" (an escaped
 * backslash, then text) is not one.
 */
static int has_nul_escape(const char *p, size_t len)
{
	const char *end = p + len;

	while ((p = memchr(p, '\\', (size_t)(end - p))) != NULL) {
		if (end - p >= 6 && memcmp(p + 1, "u0000", 5) == 0)
			return 1;
		if (end - p <= 2)
			break;
		p += 2;
	}
	return 0;
}

/* ---- numbers as written -------------------------------------------------- */

static const char *skip_json_space(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	return p;
}

/* p at a '"': just past its closing quote (or end). */
static const char *skip_json_string(const char *p, const char *end)
{
	for (p++; p < end && *p != '"'; p++)
		if (*p == '\\')
			p++;
	return p < end ? p + 1 : end;
}

/* Just past the value at p: a string, a nested object or array, or a bare word. */
static const char *skip_json_value(const char *p, const char *end)
{
	size_t depth = 0;

	if (p < end && *p == '"')
		return skip_json_string(p, end);
	if (p < end && *p != '{' && *p != '[') {
		while (p < end && !is_token_end(*p))
			p++;
		return p;
	}
	while (p < end) {
		if (*p == '"') {
			p = skip_json_string(p, end);
			continue;
		}
		if (*p == '{' || *p == '[')
			depth++;
		else if ((*p == '}' || *p == ']') && --depth == 0)
			return p + 1;
		p++;
	}
	return end;
}

/*
 * The text of the value of member number `index` (0 = first) of the object in
 * text[0..len), which cJSON has accepted: cJSON keeps members in the order
 * written, so a child's position finds its text. Sets *out and returns its length.
 */
static size_t member_value_text(const char **out, const char *text, size_t len, size_t index)
{
	const char *p = text, *end = text + len, *v;
	size_t i;

	p = skip_json_space(p, end);
	p = p < end ? p + 1 : end; /* '{' */
	for (i = 0;; i++) {
		p = skip_json_space(p, end);
		p = skip_json_space(skip_json_string(p, end), end);
		p = skip_json_space(p < end ? p + 1 : end, end); /* ':' */
		v = p;
		p = skip_json_value(p, end);
		if (i == index || p >= end)
			break;
		p = skip_json_space(p, end);
		p = p < end ? p + 1 : end; /* ',' */
	}
	*out = v;
	return (size_t)(p - v);
}

/*
 * An id given as a number: its text, as written (see the top of the file).
 * Returns 1, or 0 with a reason set.
 */
static int id_from_number(json_collector *c, const char *num, size_t len, int k)
{
	size_t i = len > 0 && num[0] == '-';

	if (i == len)
		goto fraction;
	for (; i < len; i++)
		if (num[i] < '0' || num[i] > '9')
			goto fraction;
	return 1;
fraction:
	snprintf(c->reason, sizeof(c->reason),
		 "%s is a number with a fraction or an exponent; send it as a string",
		 collect_field_names[k]);
	return 0;
}

/* Turn a parsed object into an event or a reject reason. Returns 1 event, 0 reject. */
static int object_convert(scli_event *ev, json_collector *c, const cJSON *obj)
{
	const cJSON *f[COLLECT_FIELDS] = {NULL};
	const cJSON *item;
	collect_row row = {.ts_is_number = false};
	size_t at[COLLECT_FIELDS] = {0}, i;
	int k;

	for (item = obj->child, i = 0; item; item = item->next, i++) {
		if (!item->string || cJSON_IsNull(item) ||
		    (k = collect_field_index(item->string, strlen(item->string))) < 0)
			continue;
		if (f[k]) {
			snprintf(c->reason, sizeof(c->reason), "%s is given twice",
				 collect_field_names[k]);
			return 0;
		}
		f[k] = item;
		at[k] = i;
	}
	for (k = 0; k < COLLECT_FIELDS; k++) {
		if (!f[k]) {
			snprintf(c->reason, sizeof(c->reason), "%s is missing",
				 collect_field_names[k]);
			return 0;
		}
		if (cJSON_IsString(f[k])) {
			row.text[k] = f[k]->valuestring;
			row.len[k] = strlen(row.text[k]);
		} else if (cJSON_IsNumber(f[k])) {
			/* a number is taken from its text, never from cJSON's double */
			row.len[k] = member_value_text(&row.text[k], c->text, c->text_len, at[k]);
			if (k != COLLECT_TIMESTAMP &&
			    !id_from_number(c, row.text[k], row.len[k], k))
				return 0;
		} else {
			snprintf(c->reason, sizeof(c->reason), "%s must be a string%s",
				 collect_field_names[k],
				 k == COLLECT_TIMESTAMP ? " or a number" : "");
			return 0;
		}
	}
	if (has_nul_escape(c->text, c->text_len)) {
		snprintf(c->reason, sizeof(c->reason), "a string holds \\u0000 (NUL)");
		return 0;
	}
	row.ts_is_number = cJSON_IsNumber(f[COLLECT_TIMESTAMP]);
	return collect_row_to_event(ev, c->reason, sizeof(c->reason), &row);
}

/* cJSON says only "NULL" both for bad JSON and for a failed allocation; the
 * allocation hook below tells them apart, so no good row is rejected for lack of memory. */
static _Thread_local bool json_alloc_failed;

static void *json_malloc(size_t n)
{
	void *p = scli_malloc(n);

	if (!p)
		json_alloc_failed = true;
	return p;
}

/* Judge a complete value. Returns 1 with an event in ev, 0 with a reject reason
 * set, or SCLI_ENOMEM (message set) when memory ran out. */
static int value_convert(scli_event *ev, json_collector *c)
{
	const char *text = c->text, *end = NULL;
	size_t len = c->text_len;
	cJSON *root = NULL;
	int result = 0;

	if (text[0] == '[') {
		/* no need to build a possibly huge array only to name its type */
		snprintf(c->reason, sizeof(c->reason), "expected an object, found an array");
		goto done;
	}
	if (c->vlen > SCLI_JSON_OBJECT_MAX) {
		if (text[0] == '{')
			snprintf(c->reason, sizeof(c->reason), "object is longer than %u bytes",
				 SCLI_JSON_OBJECT_MAX);
		else if (text[0] == '"')
			snprintf(c->reason, sizeof(c->reason),
				 "expected an object, found a string");
		else
			snprintf(c->reason, sizeof(c->reason),
				 "invalid JSON: value is longer than %u bytes",
				 SCLI_JSON_OBJECT_MAX);
		goto done;
	}
	if (c->max_depth > CJSON_NESTING_LIMIT) {
		snprintf(c->reason, sizeof(c->reason), "invalid JSON: nested deeper than %d levels",
			 CJSON_NESTING_LIMIT);
		goto done;
	}
	/* the _Opts form reports where parsing stopped without cJSON's global error pointer */
	json_alloc_failed = false;
	root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (!root && json_alloc_failed) {
		result = scli_error_set(SCLI_ENOMEM, "out of memory parsing JSON");
		goto done;
	}
	if (root && end) {
		while (end < text + len && (*end == ' ' || *end == '\t' || *end == '\r'))
			end++;
	}
	if (!root || end != text + len) {
		reason_syntax(c, text, len, end);
		goto done;
	}
	if (!cJSON_IsObject(root)) {
		snprintf(c->reason, sizeof(c->reason), "expected an object, found %s",
			 type_name(root));
		goto done;
	}
	result = object_convert(ev, c, root);

done:
	cJSON_Delete(root);
	return result;
}

/* ---- the collector ------------------------------------------------------ */

static int reject(scli_reject *rej, json_collector *c)
{
	size_t n = c->text_len;

	if (c->text != c->raw)
		memcpy(c->raw, c->text, n);
	/* a value cut short keeps no whitespace it happened to run into */
	while (n > 0 && (c->raw[n - 1] == ' ' || c->raw[n - 1] == '\t' || c->raw[n - 1] == '\r' ||
			 c->raw[n - 1] == '\n'))
		n--;
	c->raw[n] = '\0';
	rej->line = c->vline;
	rej->reason = c->reason;
	rej->raw = c->raw;
	rej->raw_len = n;
	return SCLI_NEXT_REJECT;
}

static int json_next(scli_event *ev_out, scli_reject *rej_out, scli_collector *base)
{
	json_collector *c = (json_collector *)base;
	long got;
	int error = 0;
	char first;

	assert(ev_out && rej_out);
	if (c->fatal)
		return c->fatal;
	if (!c->started && (error = skip_bom(c)) < 0)
		goto done;
	for (;;) {
		if ((got = skip_space(c)) < 0) {
			error = (int)got;
			goto done;
		}
		if (got == 0) {
			if (!c->in_array)
				return SCLI_NEXT_END;
			c->in_array = 0;
			snprintf(c->reason, sizeof(c->reason),
				 "truncated JSON at end of input: the array is not closed");
			c->text = c->raw;
			c->text_len = 1;
			c->raw[0] = '[';
			c->vline = c->array_line;
			return reject(rej_out, c);
		}
		first = c->buf[c->pos];
		if (c->in_array && (first == ']' || first == ',')) {
			c->in_array = first != ']';
			c->pos++;
			continue;
		}
		if (!c->in_array && first == '[') {
			c->in_array = 1;
			c->array_line = c->line;
			c->pos++;
			continue;
		}
		value_begin(c);
		if (first == '{' || (c->in_array && (first == '[' || first == '"')))
			got = scan_nested(c);
		else
			got = scan_plain(c, !c->in_array);
		if (got < 0) {
			error = (int)got;
			goto done;
		}
		if (got == SCAN_TRUNCATED) {
			/* the array cannot be closed either: one reject says it */
			c->in_array = 0;
			snprintf(c->reason, sizeof(c->reason), "truncated JSON at end of input");
			return reject(rej_out, c);
		}
		if (got == SCAN_BROKEN)
			return reject(rej_out, c);
		{
			int judged = value_convert(ev_out, c);

			if (judged < 0)
				return judged;
			return judged ? SCLI_NEXT_EVENT : reject(rej_out, c);
		}
	}

done:
	c->fatal = error;
	return error;
}

static void json_collector_free(scli_collector *base)
{
	json_collector *c = (json_collector *)base;

	if (!c)
		return;
	scli_free(c->buf);
	scli_free(c->raw);
	scli_free(c);
}

static const scli_collector_ops json_ops = {
    .version = SCLI_COLLECTOR_OPS_VERSION,
    .name = "json",
    .next = json_next,
    .free = json_collector_free,
};

int scli_collector_json_new(scli_collector **out, scli_source *src)
{
	json_collector *c = NULL;
	int error = 0;

	assert(out && src);
	*out = NULL;
	{
		/* cJSON allocates through the project's allocator (its hooks are global and
		 * the same for every collector, so setting them again is harmless) */
		cJSON_Hooks hooks = {json_malloc, scli_free};

		cJSON_InitHooks(&hooks);
	}
	if (!(c = scli_calloc(1, sizeof(*c)))) {
		error = scli_error_set(SCLI_ENOMEM, "out of memory");
		goto done;
	}
	c->base.ops = &json_ops;
	c->src = src;
	c->line = 1;
	if (!(c->buf = scli_malloc(JSON_READ_BUFFER)) ||
	    !(c->raw = scli_malloc(SCLI_JSON_OBJECT_MAX + 1))) {
		error = scli_error_set(SCLI_ENOMEM, "out of memory");
		goto done;
	}
	*out = &c->base;
	c = NULL;

done:
	json_collector_free(c ? &c->base : NULL);
	return error;
}
