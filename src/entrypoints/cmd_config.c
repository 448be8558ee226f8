/* `scli config`: the effective configuration, where each value comes from,
 * secrets masked. What an operator runs first when a CronJob misbehaves. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "options.h"

static const char usage[] =
    "usage: scli [--database URL] config\n"
    "\n"
    "Print the effective configuration: each setting, its value and where it\n"
    "comes from (flag, environment or default). Passwords and tokens are masked.\n"
    "\n"
    "Settings and their environment variables (a flag always wins):\n"
    "  database      --database        SCLI_DATABASE   (default sqlite:scli.db)\n"
    "  collector     load --collector  SCLI_COLLECTOR\n"
    "  config        load --config     SCLI_CONFIG     (paths separated by ':')\n"
    "  rejects       load --rejects    SCLI_REJECTS\n"
    "  max_rejects   load --max-rejects SCLI_MAX_REJECTS\n"
    "  batch_size    load --batch-size SCLI_BATCH_SIZE (default 50000; SQLite 250000)\n"
    "  connections   load --connections SCLI_CONNECTIONS (default 2; PostgreSQL)\n"
    "  cache_mib     load --cache-mib  SCLI_CACHE_MIB  (default 64; SQLite)\n"
    "  report        load --report     SCLI_REPORT     (default text)\n"
    "  quiet         --quiet           SCLI_QUIET=1\n"
    "  listen        serve --listen    SCLI_LISTEN\n"
    "  threads       serve --threads   SCLI_THREADS\n"
    "  api_token     -                 SCLI_API_TOKEN  (bearer token for /v1)\n"
    "PostgreSQL also reads the standard PG* variables (PGPASSWORD, PGHOST, ...)\n"
    "and ~/.pgpass.\n";

/* Append at most `n` bytes of `s` to out (capacity cap, NUL-terminated). */
static void append(char *out, size_t cap, const char *s, size_t n)
{
	size_t len = strlen(out);

	if (n > cap - 1 - len)
		n = cap - 1 - len;
	memcpy(out + len, s, n);
	out[len + n] = '\0';
}

/*
 * The database URL with any password replaced by ***: the user:password@ part
 * of a URL, a password= query parameter, or a password=value key of a libpq
 * key=value string (quoted values included).
 */
void cli_mask_database_url(char *out, size_t cap, const char *url)
{
	const char *p = url, *scheme = strstr(url, "://");

	out[0] = '\0';
	if (scheme) {
		const char *auth = scheme + 3;
		const char *auth_end = auth + strcspn(auth, "/?#");
		const char *at = memchr(auth, '@', (size_t)(auth_end - auth));
		const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;

		if (colon) {
			append(out, cap, url, (size_t)(colon + 1 - url));
			append(out, cap, "***", 3);
			p = at;
		}
	}
	while (*p) {
		const char *hit = strstr(p, "password");
		const char *v;

		if (!hit) {
			append(out, cap, p, strlen(p));
			break;
		}
		v = hit + 8;
		while (*v == ' ')
			v++;
		/* only a key: at the start, after a space, '?' or '&', and followed by '=' */
		if (*v != '=' || (hit != url && !strchr(" ?&", hit[-1]))) {
			append(out, cap, p, (size_t)(hit + 8 - p));
			p = hit + 8;
			continue;
		}
		v++;
		while (*v == ' ')
			v++;
		append(out, cap, p, (size_t)(v - p));
		append(out, cap, "***", 3);
		if (*v == '\'') { /* a quoted libpq value, with \' and \\ escapes */
			for (v++; *v && *v != '\''; v++)
				if (*v == '\\' && v[1])
					v++;
			if (*v)
				v++;
		} else {
			v += strcspn(v, " &#");
		}
		p = v;
	}
}

static void row(const char *name, const char *value, const char *source)
{
	const char *v = value && *value ? value : "(not set)";

	/* padded by columns, not bytes: a path may be in any script */
	printf("%-12s %s%*s %s\n", name, v, cli_padding(v, 48), "", source);
}

/* A setting read from the environment only (flags belong to other commands). */
static void env_row(const char *name, const char *var, const char *fallback)
{
	const char *v = cli_env(var);
	char source[64];

	snprintf(source, sizeof(source), v ? "env %s" : "default", var);
	row(name, v ? v : fallback, v || fallback ? source : "");
}

int cli_cmd_config(const cli_globals *g, int argc, char **argv)
{
	char masked[2048];
	const char *url = cli_database_url(g->database);
	int rc;

	if ((rc = cli_options_parse_help_only("config", usage, argc, argv)) != CLI_OPTIONS_GO)
		return rc;
	cli_mask_database_url(masked, sizeof(masked), url);
	row("database", masked,
	    g->database		       ? "flag --database"
	    : cli_env("SCLI_DATABASE") ? "env SCLI_DATABASE"
				       : "default");
	env_row("collector", "SCLI_COLLECTOR", NULL);
	env_row("config", "SCLI_CONFIG", NULL);
	env_row("rejects", "SCLI_REJECTS", NULL);
	env_row("max_rejects", "SCLI_MAX_REJECTS", "no limit");
	env_row("batch_size", "SCLI_BATCH_SIZE", "50000; SQLite 250000");
	env_row("connections", "SCLI_CONNECTIONS", "2");
	env_row("cache_mib", "SCLI_CACHE_MIB", "64");
	env_row("report", "SCLI_REPORT", "text");
	row("quiet", cli_env_flag("SCLI_QUIET") ? "yes" : "no",
	    cli_env("SCLI_QUIET") ? "env SCLI_QUIET" : "default");
	env_row("listen", "SCLI_LISTEN", "127.0.0.1:8080");
	env_row("threads", "SCLI_THREADS", "number of CPUs, at most 16");
	row("api_token", cli_env("SCLI_API_TOKEN") ? "***" : NULL,
	    cli_env("SCLI_API_TOKEN") ? "env SCLI_API_TOKEN" : "");
	row("PGPASSWORD", cli_env("PGPASSWORD") ? "***" : NULL, cli_env("PGPASSWORD") ? "env" : "");
	return EXIT_OK;
}
