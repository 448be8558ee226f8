/* Test support: a growable string and the transcript of a collector run — one
 * line per event or reject — so collector tests compare whole results at once. */
#ifndef SCLI_TEST_TRANSCRIPT_H
#define SCLI_TEST_TRANSCRIPT_H

#include <stddef.h>

#include "scli/sys/collector.h"

#define S(lit) lit, sizeof(lit) - 1
/* `t` starts with the literal `lit` */
#define assert_prefix(t, lit) assert_memory_equal(t, lit, sizeof(lit) - 1)

typedef struct strbuf {
	char *p;
	size_t len, cap;
} strbuf;

void sb_add(strbuf *b, const char *s, size_t n);
void sb_fill(strbuf *b, char ch, size_t n);
void sb_printf(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Raw text, with line breaks made visible so a transcript stays one line per result. */
void sb_raw(strbuf *b, const char *s, size_t n);

/*
 * Run `col` to its end and describe every result: `E cust|type|txn|ts`,
 * `R<line> reason | raw`, then `END` or `ERR <code> <message>`. Checks the
 * collector's promises on the way (lengths, NUL-terminated raw text, an end or
 * a fatal error that stays). Frees `col`; the caller frees the result.
 */
char *collector_transcript(scli_collector *col);

#endif
