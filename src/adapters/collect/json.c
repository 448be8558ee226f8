/*
 * The JSON collector: a pull-model reader of a top-level array of objects, a
 * single object, or NDJSON, told apart by itself. The scanner (json_scan.c)
 * cuts each top-level value out of the stream, and this file steps through
 * the shapes: into and out of a top-level array, over the commas between its
 * elements. Each value is judged by json_object.c; what cannot be read is
 * handed out as a reject with its text, trimmed of the whitespace it ran into.
 */
#include "json.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "fields.h"
#include "scli/sys/adapters.h"
#include "scli/alloc.h"

typedef struct json_collector {
	scli_collector base;
	json_scanner scan;
	int fatal; /* sticky error code once the load cannot go on */
	char reason[COLLECT_REASON_MAX];
} json_collector;

/* The value the scanner just cut, as a reject (the reason is set). */
static int reject(scli_reject *rej, json_collector *c)
{
	json_scanner *s = &c->scan;
	size_t n = s->v.text_len;

	if (s->v.text != s->raw)
		memcpy(s->raw, s->v.text, n);
	/* a value cut short keeps no whitespace it happened to run into */
	while (n > 0 && (s->raw[n - 1] == ' ' || s->raw[n - 1] == '\t' || s->raw[n - 1] == '\r' ||
			 s->raw[n - 1] == '\n'))
		n--;
	return collect_reject(rej, s->v.line, c->reason, s->raw, n);
}

/* The scanner cut the value short: say what it found, and where when not on the first line. */
static int reject_broken(scli_reject *rej, json_collector *c)
{
	const json_scanner *s = &c->scan;

	if (s->broken_line != s->v.line)
		snprintf(c->reason, sizeof(c->reason), "invalid JSON: %s on line %" PRIu64,
			 s->broken, s->broken_line);
	else
		snprintf(c->reason, sizeof(c->reason), "invalid JSON: %s", s->broken);
	return reject(rej, c);
}

/* The input ended inside a top-level array: one reject, on the line of its '['. */
static int reject_open_array(scli_reject *rej, json_collector *c)
{
	json_scanner *s = &c->scan;

	s->in_array = 0;
	snprintf(c->reason, sizeof(c->reason),
		 "truncated JSON at end of input: the array is not closed");
	s->raw[0] = '[';
	s->v.text = s->raw;
	s->v.text_len = 1;
	s->v.line = s->array_line;
	return reject(rej, c);
}

/* Scan the value at the read position. An enum json_scan_end, or < 0 on an I/O error. */
static long scan_value(json_scanner *s, char first)
{
	json_value_begin(s);
	if (first == '{' || (s->in_array && (first == '[' || first == '"')))
		return json_scan_nested(s);
	return json_scan_plain(s, !s->in_array);
}

static int json_next(scli_event *ev_out, scli_reject *rej_out, scli_collector *base)
{
	json_collector *c = (json_collector *)base;
	json_scanner *s = &c->scan;
	long got;
	int error = 0, judged;
	char first;

	assert(ev_out && rej_out);
	if (c->fatal)
		return c->fatal;
	if ((error = collect_reader_skip_bom(&s->in)) < 0)
		goto done;
	for (;;) {
		if ((got = json_skip_space(s)) < 0) {
			error = (int)got;
			goto done;
		}
		if (got == 0)
			return s->in_array ? reject_open_array(rej_out, c) : SCLI_NEXT_END;
		first = s->in.buf[s->in.pos];
		if (s->in_array && (first == ']' || first == ',')) {
			s->in_array = first != ']';
			s->in.pos++;
			continue;
		}
		if (!s->in_array && first == '[') {
			s->in_array = 1;
			s->array_line = s->line;
			s->in.pos++;
			continue;
		}
		if ((got = scan_value(s, first)) < 0) {
			error = (int)got;
			goto done;
		}
		if (got == SCAN_TRUNCATED) {
			/* the array cannot be closed either: one reject says it */
			s->in_array = 0;
			snprintf(c->reason, sizeof(c->reason), "truncated JSON at end of input");
			return reject(rej_out, c);
		}
		if (got == SCAN_BROKEN)
			return reject_broken(rej_out, c);
		if ((judged = json_value_convert(ev_out, c->reason, sizeof(c->reason), &s->v)) < 0)
			return judged;
		return judged ? SCLI_NEXT_EVENT : reject(rej_out, c);
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
	json_scanner_close(&c->scan);
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
	json_object_init();
	if (!(c = scli_calloc(1, sizeof(*c)))) {
		error = scli_error_set(SCLI_ENOMEM, "out of memory");
		goto done;
	}
	c->base.ops = &json_ops;
	if ((error = json_scanner_init(&c->scan, src)) < 0)
		goto done;
	*out = &c->base;
	c = NULL;

done:
	json_collector_free(c ? &c->base : NULL);
	return error;
}
