/* CSV out (RFC 4180), for `count --format csv` and the --rejects file alike. */
#include <string.h>

#include "cli.h"

static bool needs_quotes(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
			return true;
	return false;
}

static void put_field(FILE *out, const cli_csv_field *f)
{
	size_t i;

	if (f->quote == CLI_CSV_QUOTE_NEEDED && !needs_quotes(f->s, f->len)) {
		fwrite(f->s, 1, f->len, out);
		return;
	}
	fputc('"', out);
	for (i = 0; i < f->len; i++) {
		if (f->s[i] == '"')
			fputc('"', out);
		fputc(f->s[i], out);
	}
	fputc('"', out);
}

void cli_csv_row(FILE *out, const cli_csv_field *fields, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (i)
			fputc(',', out);
		put_field(out, &fields[i]);
	}
	fputs("\r\n", out);
}
