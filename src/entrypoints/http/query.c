/*
 * `scli serve`: reading what a request target carries. Percent-decoding (path
 * and form rules), the query string of the count endpoints (the hourly ones
 * take `from`, `to`, `skip_empty`; the usage ones also `window`, `tz`,
 * `event_type`, `group_by`, `format` and on /v1/usage `customer`; anything
 * else is a 400), the `+` offset sign that form decoding turned into a space,
 * and the Accept header. Nothing here touches the database.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* A parameter of the count endpoints: where it goes, whether it repeats, which routes take it. */
typedef struct param {
	const char *name;
	size_t offset; /* of its char * (or, for a list, char **) in `query` */
	bool list;
	unsigned kinds; /* 1 << query_kind */
} param;

#define HOURLY (1u << QUERY_HOURLY)
#define USAGE (1u << QUERY_CUSTOMER_USAGE | 1u << QUERY_USAGE)

static const param params[] = {
    {"from", offsetof(query, from), false, HOURLY | USAGE},
    {"to", offsetof(query, to), false, HOURLY | USAGE},
    {"window", offsetof(query, window), false, USAGE},
    {"tz", offsetof(query, tz), false, USAGE},
    {"event_type", offsetof(query, event_types), true, USAGE},
    {"group_by", offsetof(query, group_by), false, USAGE},
    {"customer", offsetof(query, customers), true, 1u << QUERY_USAGE},
    {"skip_empty", offsetof(query, skip_empty), false, HOURLY | USAGE},
    {"format", offsetof(query, format), false, USAGE},
};

static const char *const param_lists[] = {
    "from, to, skip_empty",
    "from, to, window, tz, event_type, group_by, skip_empty, format",
    "from, to, window, tz, event_type, group_by, customer, skip_empty, format",
};

static const param *find_param(const char *key, size_t klen, query_kind kind)
{
	size_t i;

	for (i = 0; i < sizeof(params) / sizeof(params[0]); i++)
		if ((params[i].kinds & 1u << kind) && strlen(params[i].name) == klen &&
		    !memcmp(params[i].name, key, klen))
			return &params[i];
	return NULL;
}

/* Keep `value` in the parameter's slot: false (and `r` a 400) when a single one repeats. */
static bool store_param(query *q, reply *r, const param *p, char *value)
{
	char *base = (char *)q + p->offset;

	if (p->list) {
		size_t *n =
		    p->offset == offsetof(query, customers) ? &q->n_customers : &q->n_event_types;

		(*(char ***)(void *)base)[(*n)++] = value;
		return true;
	}
	if (*(char **)(void *)base) {
		http_reply_error(r, 400, "parameter '%s' given more than once", p->name);
		return false;
	}
	*(char **)(void *)base = value;
	return true;
}

/* Room for the decoded parameters: 3n + 2 bytes of text and a slot per parameter in each list. */
static bool query_alloc(query *q, reply *r, const char *text, size_t n)
{
	size_t nparams = 1;

	for (; *text; text++)
		nparams += *text == '&';
	/* decoded text is never longer than its source, and each parameter adds two
	 * NULs (key and value) even without an `=` (`?from&to`): 3n + 2 always fits */
	if (!(q->buf = malloc(3 * n + 2)) ||
	    !(q->customers = calloc(nparams, sizeof(*q->customers))) ||
	    !(q->event_types = calloc(nparams, sizeof(*q->event_types)))) {
		http_reply_error(r, 500, "out of memory");
		return false;
	}
	return true;
}

void http_query_free(query *q)
{
	free(q->buf);
	free(q->customers);
	free(q->event_types);
	memset(q, 0, sizeof(*q));
}

bool http_parse_query(query *q, reply *r, const char *text, query_kind kind)
{
	size_t n = strlen(text), used = 0;
	const char *p = text, *end = text + n;

	if (!query_alloc(q, r, text, n))
		return false;
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p)), *eq;
		const char *stop = amp ? amp : end;
		char *key = q->buf + used, *value;
		const param *prm;
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
		if (!(prm = find_param(key, klen, kind))) {
			http_reply_error(r, 400, "unknown parameter '%s' (%s)", http_quotable(key),
					 param_lists[kind]);
			return false;
		}
		if (strlen(value) != vlen) {
			http_reply_error(r, 400, "%s: contains a NUL byte", prm->name);
			return false;
		}
		if (!store_param(q, r, prm, value))
			return false;
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

/*
 * A `tz` whose `+` form decoding turned into a space (`?tz=+05:30` typed by
 * hand) back into `+`: a leading space followed by an offset shape (`HH`,
 * `HHMM`, `HH:MM`) and nothing else.
 */
void http_restore_zone_sign(char *tz)
{
	size_t n = strlen(tz);

	if (tz[0] != ' ')
		return;
	if ((n == 3 || n == 5) ? http_is_digits(tz + 1, n - 1)
	    : n == 6 ? http_is_digits(tz + 1, 2) && tz[3] == ':' && http_is_digits(tz + 4, 2)
		     : false)
		tz[0] = '+';
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* Whether the parameters of a media range, p[0..n) after its type, give it q=0 (0, 0.0, 0.000). */
static bool weight_is_zero(const char *p, size_t n)
{
	const char *end = p + n, *q = p;

	while ((q = memchr(q, ';', (size_t)(end - q)))) {
		for (q++; q < end && is_space(*q); q++)
			;
		if (end - q >= 3 && (*q == 'q' || *q == 'Q') && q[1] == '=' && q[2] == '0') {
			const char *d = q + 3;

			if (d < end && *d == '.')
				for (d++; d < end && *d == '0'; d++)
					;
			return d == end || is_space(*d) || *d == ';';
		}
	}
	return false;
}

/*
 * Whether an Accept header asks for CSV: `text/csv`, not weighted 0, comes
 * before any `application/json`; JSON stays the answer to wildcards, to any
 * other type and to no header. Weights are not ranked further.
 */
bool http_accepts_csv(const char *accept)
{
	const char *p = accept;

	while (p && *p) {
		const char *comma = strchr(p, ',');
		size_t len, type_len;

		while (is_space(*p))
			p++;
		len = comma ? (size_t)(comma - p) : strlen(p);
		for (type_len = 0; type_len < len && p[type_len] != ';'; type_len++)
			;
		while (type_len && is_space(p[type_len - 1]))
			type_len--;
		if (!weight_is_zero(p + type_len, len - type_len)) {
			if (type_len == 8 && !strncasecmp(p, "text/csv", 8))
				return true;
			if (type_len == 16 && !strncasecmp(p, "application/json", 16))
				return false;
		}
		p = comma ? comma + 1 : NULL;
	}
	return false;
}
