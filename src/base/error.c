/* The per-thread error message (see include/scli/error.h). Lives below every
 * layer so that domain-free adapters and the service can set it alike. */
#include "scli/error.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char last_message[1024];

int scli_error_set(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_message, sizeof(last_message), fmt, ap);
	va_end(ap);
	return code;
}

const char *scli_error_last(void)
{
	return last_message;
}

void scli_error_clear(void)
{
	last_message[0] = '\0';
}
