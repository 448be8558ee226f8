/*
 * The JSON collector's judge of one value (json.h): cJSON parses it, and an
 * object's members become the row's fields for the one conversion
 * (fields.c), or the value is rejected with the reason.
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
 * numeric timestamp (Unix seconds) is handed on as its text too, and read
 * exactly by the conversion.
 */
#include "fields.h"
#include "json.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "scli/alloc.h"
#include "scli/error.h"

/* How much of the text near a syntax error a reason quotes. */
#define JSON_NEAR_MAX 20

/* ---- reasons -------------------------------------------------------------- */

/* cJSON stopped at `at` (inside text[0..len)): say where, briefly. */
static void reason_syntax(char *reason, size_t cap, const char *text, size_t len, const char *at)
{
	char near[JSON_NEAR_MAX + 1];
	size_t off = at && at >= text && at <= text + len ? (size_t)(at - text) : len;
	int cut;

	while (off < len &&
	       (text[off] == ' ' || text[off] == '\t' || text[off] == '\r' || text[off] == '\n'))
		off++;
	if (off >= len) {
		snprintf(reason, cap, "invalid JSON: unexpected end");
		return;
	}
	collect_quote_text(near, JSON_NEAR_MAX, text + off, len - off, &cut);
	snprintf(reason, cap, "invalid JSON near '%s%s'", near, cut ? "..." : "");
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
		while (p < end && !json_is_token_end(*p))
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
static int id_from_number(char *reason, size_t cap, const char *num, size_t len, int k)
{
	size_t i = len > 0 && num[0] == '-';

	if (i == len)
		goto fraction;
	for (; i < len; i++)
		if (num[i] < '0' || num[i] > '9')
			goto fraction;
	return 1;
fraction:
	snprintf(reason, cap, "%s is a number with a fraction or an exponent; send it as a string",
		 collect_field_names[k]);
	return 0;
}

/* ---- judging ------------------------------------------------------------ */

/* Turn a parsed object into an event or a reject reason. Returns 1 event, 0 reject. */
static int object_convert(scli_event *ev, char *reason, size_t cap, const json_value *v,
			  const cJSON *obj)
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
			snprintf(reason, cap, "%s is given twice", collect_field_names[k]);
			return 0;
		}
		f[k] = item;
		at[k] = i;
	}
	for (k = 0; k < COLLECT_FIELDS; k++) {
		if (!f[k]) {
			snprintf(reason, cap, "%s is missing", collect_field_names[k]);
			return 0;
		}
		if (cJSON_IsString(f[k])) {
			row.text[k] = f[k]->valuestring;
			row.len[k] = strlen(row.text[k]);
		} else if (cJSON_IsNumber(f[k])) {
			/* a number is taken from its text, never from cJSON's double */
			row.len[k] = member_value_text(&row.text[k], v->text, v->text_len, at[k]);
			if (k != COLLECT_TIMESTAMP &&
			    !id_from_number(reason, cap, row.text[k], row.len[k], k))
				return 0;
		} else {
			snprintf(reason, cap, "%s must be a string%s", collect_field_names[k],
				 k == COLLECT_TIMESTAMP ? " or a number" : "");
			return 0;
		}
	}
	if (has_nul_escape(v->text, v->text_len)) {
		snprintf(reason, cap, "a string holds \\u0000 (NUL)");
		return 0;
	}
	row.ts_is_number = cJSON_IsNumber(f[COLLECT_TIMESTAMP]);
	return collect_row_to_event(ev, reason, cap, &row);
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

void json_object_init(void)
{
	/* cJSON's hooks are global and the same for every collector, so setting
	 * them again is harmless */
	cJSON_Hooks hooks = {json_malloc, scli_free};

	cJSON_InitHooks(&hooks);
}

int json_value_convert(scli_event *ev, char *reason, size_t cap, const json_value *v)
{
	const char *text = v->text, *end = NULL;
	size_t len = v->text_len;
	cJSON *root = NULL;
	int result = 0;

	if (text[0] == '[') {
		/* no need to build a possibly huge array only to name its type */
		snprintf(reason, cap, "expected an object, found an array");
		goto done;
	}
	if (v->full_len > SCLI_JSON_OBJECT_MAX) {
		if (text[0] == '{')
			snprintf(reason, cap, "object is longer than %u bytes",
				 SCLI_JSON_OBJECT_MAX);
		else if (text[0] == '"')
			snprintf(reason, cap, "expected an object, found a string");
		else
			snprintf(reason, cap, "invalid JSON: value is longer than %u bytes",
				 SCLI_JSON_OBJECT_MAX);
		goto done;
	}
	if (v->max_depth > CJSON_NESTING_LIMIT) {
		snprintf(reason, cap, "invalid JSON: nested deeper than %d levels",
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
		reason_syntax(reason, cap, text, len, end);
		goto done;
	}
	if (!cJSON_IsObject(root)) {
		snprintf(reason, cap, "expected an object, found %s", type_name(root));
		goto done;
	}
	result = object_convert(ev, reason, cap, v, root);

done:
	cJSON_Delete(root);
	return result;
}
