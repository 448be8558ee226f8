/* Where the database URL comes from, and the repository it opens (by the registry). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

void cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("scli: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

const char *cli_env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

bool cli_env_flag(const char *name)
{
	static const char *const yes[] = {"1", "true", "yes", "on"};
	const char *v = cli_env(name);
	size_t i;

	for (i = 0; v && i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!strcasecmp(v, yes[i]))
			return true;
	return false;
}

const char *cli_database_url(const char *flag)
{
	const char *env;

	if (flag && *flag)
		return flag;
	if ((env = getenv("SCLI_DATABASE")) && *env)
		return env;
	return SCLI_DEFAULT_DATABASE;
}

/* The registry (src/adapters/registry.c) turns the URL into a repository. */
int cli_open_repo(scli_repo **out, const char *url, bool create)
{
	scli_repo_options opts = {.create = create};

	return scli_repo_open(out, url, &opts);
}
