/* What the CSV and JSON collectors share (collect_common.h). */
#include "collect_common.h"

#include <stdio.h>
#include <string.h>

#include "scli/event.h"

#define REASON_QUOTE_MAX 64

const char *const collect_field_names[COLLECT_FIELDS] = {"customer_id", "event_type",
							 "transaction_id", "timestamp"};
/* Names as compared: lowercased, without '_'. */
static const char *const field_keys[COLLECT_FIELDS] = {"customerid", "eventtype", "transactionid",
						       "timestamp"};

int collect_field_index(const char *s, size_t len)
{
	char key[32];
	size_t i, n = 0;
	int k;

	for (i = 0; i < len; i++) {
		char ch = s[i];

		if (ch == '_')
			continue;
		if (n + 1 >= sizeof(key))
			return -1;
		key[n++] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
	}
	key[n] = '\0';
	for (k = 0; k < COLLECT_FIELDS; k++)
		if (strcmp(key, field_keys[k]) == 0)
			return k;
	return -1;
}

void collect_quote_text(char *out, size_t max, const char *s, size_t len, int *cut)
{
	size_t n = len, i;

	*cut = 0;
	if (n > max) {
		n = max;
		/* do not split a UTF-8 sequence */
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
		*cut = 1;
	}
	memcpy(out, s, n);
	out[n] = '\0';
	if (n && scli_field_validate(out, n, max, NULL) != 0)
		for (i = 0; i < n; i++)
			if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] >= 0x7F)
				out[i] = '?';
}

void collect_reason_timestamp(char *reason, size_t cap, const char *ts, size_t len, const char *why)
{
	char quoted[REASON_QUOTE_MAX + 1];
	int cut;

	collect_quote_text(quoted, REASON_QUOTE_MAX, ts, len, &cut);
	snprintf(reason, cap, "timestamp \"%s%s\": %s", quoted, cut ? "..." : "", why);
}
