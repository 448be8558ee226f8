/* Test support: see transcript.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scli/timestamp.h"
#include "support/transcript.h"

static void sb_reserve(strbuf *b, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
}

void sb_add(strbuf *b, const char *s, size_t n)
{
	sb_reserve(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void sb_fill(strbuf *b, char ch, size_t n)
{
	sb_reserve(b, n);
	memset(b->p + b->len, ch, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void sb_printf(strbuf *b, const char *fmt, ...)
{
	va_list ap;
	char *tmp;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	assert_true(n >= 0);
	tmp = malloc((size_t)n + 1);
	assert_non_null(tmp);
	va_start(ap, fmt);
	vsnprintf(tmp, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb_add(b, tmp, (size_t)n);
	free(tmp);
}

void sb_raw(strbuf *b, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '\n')
			sb_add(b, S("\\n"));
		else if (s[i] == '\r')
			sb_add(b, S("\\r"));
		else
			sb_add(b, s + i, 1);
	}
}

char *collector_transcript(scli_collector *col)
{
	strbuf b = {0};
	scli_event ev;
	scli_reject rej;
	int kind;

	sb_add(&b, "", 0);
	for (;;) {
		memset(&rej, 0, sizeof(rej));
		kind = scli_collector_next(&ev, &rej, col);
		if (kind == SCLI_NEXT_EVENT) {
			char ts[SCLI_TIMESTAMP_BUFSZ];

			scli_timestamp_format(ts, ev.ts_us);
			assert_int_equal(strlen(ev.customer_id), ev.customer_id_len);
			assert_int_equal(strlen(ev.event_type), ev.event_type_len);
			assert_int_equal(strlen(ev.transaction_id), ev.transaction_id_len);
			sb_printf(&b, "E %s|%s|%s|%s\n", ev.customer_id, ev.event_type,
				  ev.transaction_id, ts);
		} else if (kind == SCLI_NEXT_REJECT) {
			/* the raw text is NUL-terminated as a courtesy; its length is what counts
			 */
			assert_int_equal(rej.raw[rej.raw_len], '\0');
			sb_printf(&b, "R%llu %s | ", (unsigned long long)rej.line, rej.reason);
			sb_raw(&b, rej.raw, rej.raw_len);
			sb_add(&b, S("\n"));
		} else if (kind == SCLI_NEXT_END) {
			sb_add(&b, S("END"));
			/* the end stays the end */
			assert_int_equal(scli_collector_next(&ev, &rej, col), SCLI_NEXT_END);
			break;
		} else {
			sb_printf(&b, "ERR %d %s", kind, scli_error_last());
			/* a fatal error stays fatal */
			assert_int_equal(scli_collector_next(&ev, &rej, col), kind);
			break;
		}
	}
	scli_collector_free(col);
	return b.p;
}
