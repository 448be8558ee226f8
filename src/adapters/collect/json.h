/*
 * The JSON collector's parts (private to src/adapters/collect): json_scan.c
 * cuts the stream into top-level values, json_object.c judges one value (an
 * object whose members become the row's fields, or why not), and json.c is
 * the collector that strings them together. What the shapes are and how the
 * scanner resynchronises after invalid JSON is told at the top of json_scan.c.
 */
#ifndef SCLI_COLLECT_JSON_H
#define SCLI_COLLECT_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "reader.h"
#include "scli/event.h"

#define JSON_READ_BUFFER (256u * 1024u)
#define SCLI_JSON_OBJECT_MAX (1024u * 1024u)
/*
 * Bracket kinds are remembered this deep. cJSON refuses anything deeper than
 * CJSON_NESTING_LIMIT anyway, so beyond it only the depth is counted, enough
 * to find the end of the value.
 */
#define JSON_STACK_DEPTH 2048

/* How the scan of one value ended. */
enum json_scan_end { SCAN_COMPLETE, SCAN_BROKEN, SCAN_TRUNCATED };

/* A top-level value the scanner has cut out of the stream. */
typedef struct json_value {
	const char *text;   /* its text once complete: in the read buffer or in raw */
	size_t text_len;    /* (at most SCLI_JSON_OBJECT_MAX) */
	size_t full_len;    /* its length, kept or not */
	uint64_t line;	    /* line where it starts */
	uint64_t max_depth; /* deepest bracket nesting in it */
} json_value;

/* What the scanner's inner loop keeps in locals, and saves across refills. */
typedef struct json_scan_state {
	int in_string, escape;
	uint64_t depth;
	char prev; /* last byte outside strings that is not whitespace */
} json_scan_state;

typedef struct json_scanner {
	collect_reader in;
	uint64_t line; /* line of in.buf[in.pos] */

	int in_array; /* inside a top-level array */
	uint64_t array_line;

	/* the value being scanned */
	json_value v;
	int in_value;
	size_t vstart; /* where its not yet gathered bytes begin in the buffer */
	int spilled;   /* it straddled a refill: its text is in raw */
	char *raw;     /* SCLI_JSON_OBJECT_MAX + 1 bytes */
	size_t raw_len;

	/* scanner state, kept across refills */
	json_scan_state st;
	unsigned char stack[JSON_STACK_DEPTH / 8]; /* bit set: that level is an object */
	/* arrays [0] and objects [1] open in the stack: a closer that matches
	 * nothing is known at once, not after a walk down the whole stack */
	uint64_t open[2];

	/* why the value was cut short (SCAN_BROKEN), and on which line */
	char broken[32];
	uint64_t broken_line;
} json_scanner;

/* ---- json_scan.c ---- */

/* A scanner over `src`. SCLI_ENOMEM (message set) when memory is short;
 * json_scanner_close frees what was had either way. */
int json_scanner_init(json_scanner *s, scli_source *src);
void json_scanner_close(json_scanner *s);

/* Skip whitespace between values. Returns 1 at a value, 0 at end of input, < 0 on error. */
long json_skip_space(json_scanner *s);

/* Start a value at in.buf[in.pos]. */
void json_value_begin(json_scanner *s);

/* Scan an object, array or string to its end. An enum json_scan_end, or < 0 on an I/O error. */
long json_scan_nested(json_scanner *s);

/* Scan a bare word inside an array or, with `to_eol`, the rest of a line at
 * the top level. SCAN_COMPLETE, or < 0 on an I/O error. */
long json_scan_plain(json_scanner *s, int to_eol);

/* Bytes that end a bare word. */
static inline int json_is_token_end(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == ',' || ch == ']' ||
	       ch == '}' || ch == '[' || ch == '{' || ch == '"';
}

/* ---- json_object.c ---- */

/* Set up cJSON to allocate through the project's allocator. */
void json_object_init(void);

/* Judge a complete value: 1 with an event in ev, 0 with the reject reason in
 * reason[cap], or SCLI_ENOMEM (message set) when memory ran out. */
int json_value_convert(scli_event *ev, char *reason, size_t cap, const json_value *v);

#endif
