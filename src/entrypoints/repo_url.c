/* The only place that turns a database URL into a concrete repository. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "scli/adapters.h"

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

static bool is_postgres_url(const char *url)
{
	return !strncmp(url, "postgresql://", 13) || !strncmp(url, "postgres://", 11) ||
	       strchr(url, '=') != NULL;
}

int cli_open_repo(scli_repo **out, const char *url, bool create)
{
	*out = NULL;
	if (!strncmp(url, "sqlite:", 7)) {
		const char *path = url + 7;

		if (!*path)
			return scli_error_set(SCLI_EINVALID,
					      "database URL \"sqlite:\" names no file");
		return scli_repo_sqlite_open(out, path, create);
	}
	/* libpq takes URLs and key=value strings alike; the adapter never echoes a password. */
	if (is_postgres_url(url))
		return scli_repo_postgres_open(out, url);
	/* Only a bare path is echoed: anything with a scheme or an '@' may hold a password. */
	if (!strstr(url, "://") && !strchr(url, '@'))
		return scli_error_set(SCLI_EINVALID,
				      "unrecognised database URL \"%s\": for a SQLite file, write "
				      "sqlite:%s",
				      url, url);
	return scli_error_set(SCLI_EINVALID,
			      "unrecognised database URL (expected sqlite:PATH, postgresql://..., "
			      "postgres://... or a key=value connection string)");
}
