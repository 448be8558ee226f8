/*
 * `scli serve`: reading what a request target carries. Percent-decoding (path
 * and form rules), the query string of the hourly endpoints (`from`, `to`,
 * `skip_empty`; anything else is a 400), and the `+` offset sign that form
 * decoding turned into a space. Nothing here touches the database.
 */
#include <stdlib.h>
#include <string.h>

#include "http_internal.h"

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decode %XX escapes of s[0..n) into `out` (room for n + 1 bytes), NUL-terminated;
 * `*len_out` counts a decoded %00 too, so the validation that follows sees it.
 * With `form` (the query string, as browsers, HTML forms, Python's urlencode and
 * JS URLSearchParams write it) `+` is a space and only %2B a plus; in the path
 * `+` stays `+` (RFC 3986 gives it no other meaning). -1 on a malformed escape.
 */
int http_percent_decode(char *out, size_t *len_out, const char *s, size_t n, bool form)
{
	size_t i, j = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '%') {
			int hi, lo;

			if (i + 2 >= n || (hi = hex_value(s[i + 1])) < 0 ||
			    (lo = hex_value(s[i + 2])) < 0)
				return -1;
			out[j++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			out[j++] = form && s[i] == '+' ? ' ' : s[i];
		}
	}
	out[j] = '\0';
	*len_out = j;
	return 0;
}

/* Parse `from`, `to` and `skip_empty`; any other, repeated or malformed parameter is a 400. */
bool http_parse_query(query *q, reply *r, const char *text)
{
	size_t n = strlen(text), used = 0;
	const char *p = text, *end = text + n;

	/* decoded text is never longer than its source, and each parameter adds two
	 * NULs (key and value) even without an `=` (`?from&to`): 3n + 2 always fits */
	if (!(q->buf = malloc(3 * n + 2))) {
		http_reply_error(r, 500, "out of memory");
		return false;
	}
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p)), *eq;
		const char *stop = amp ? amp : end;
		char *key = q->buf + used, *value, **slot;
		size_t klen, vlen;

		if (stop == p) { /* `a&&b`, a trailing `&` */
			p = stop + 1;
			continue;
		}
		eq = memchr(p, '=', (size_t)(stop - p));
		if (http_percent_decode(key, &klen, p, (size_t)((eq ? eq : stop) - p), true) < 0 ||
		    (value = key + klen + 1,
		     http_percent_decode(value, &vlen, eq ? eq + 1 : stop,
					 eq ? (size_t)(stop - eq - 1) : 0, true) < 0)) {
			http_reply_error(r, 400, "invalid percent-encoding in the query string");
			return false;
		}
		used += klen + 1 + vlen + 1;
		if (!strcmp(key, "from") && klen == 4)
			slot = &q->from;
		else if (!strcmp(key, "to") && klen == 2)
			slot = &q->to;
		else if (!strcmp(key, "skip_empty") && klen == 10)
			slot = &q->skip_empty;
		else {
			http_reply_error(r, 400, "unknown parameter '%s' (from, to, skip_empty)",
					 http_quotable(key));
			return false;
		}
		if (*slot) {
			http_reply_error(r, 400, "parameter '%s' given more than once", key);
			return false;
		}
		if (strlen(value) != vlen) {
			http_reply_error(r, 400, "%s: contains a NUL byte", key);
			return false;
		}
		*slot = value;
		p = stop + (amp ? 1 : 0);
	}
	return true;
}

bool http_is_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/*
 * A `+` offset sign that form decoding turned into a space (a hand-typed
 * `...T04:00:00+05:30`) back into `+`: the last space, when a time of day
 * (`YYYY-MM-DD?HH:MM...`, ending in a digit) comes before it and an offset
 * shape (`HH`, `HHMM`, `HH:MM`) after it, up to the end.
 */
void http_restore_offset_sign(char *text)
{
	char *sp = strrchr(text, ' ');
	size_t before, after;

	if (!sp)
		return;
	before = (size_t)(sp - text);
	after = strlen(sp + 1);
	if (before < 16 || text[13] != ':' || !http_is_digits(text + before - 1, 1))
		return;
	if ((after == 2 || after == 4) ? http_is_digits(sp + 1, after)
	    : after == 5 ? http_is_digits(sp + 1, 2) && sp[3] == ':' && http_is_digits(sp + 4, 2)
			 : false)
		*sp = '+';
}
