/* The collector registry: every collector kind in one const array, the way
 * curl lists its TLS backends. Add a collector here and `--collector NAME`,
 * directory inputs and the ledger know it. */
#include <assert.h>
#include <stdbool.h>
#include <string.h>

#include "scli/sys/adapters.h"

static const char *const csv_extensions[] = {".csv", ".csv.gz", NULL};
static const char *const json_extensions[] = {".json", ".json.gz", ".ndjson", ".ndjson.gz", NULL};

/* CSV can be read in parts (a count on several threads); JSON is read whole. */
static const scli_collector_kind csv_kind = {"csv", csv_extensions, scli_collector_csv_new,
					     scli_collector_csv_part_lines,
					     scli_collector_csv_open_part};
static const scli_collector_kind json_kind = {"json", json_extensions, scli_collector_json_new,
					      NULL, NULL};

const scli_collector_kind *const scli_collector_kinds[] = {&csv_kind, &json_kind, NULL};

const scli_collector_kind *scli_collector_kind_find(const char *name)
{
	size_t i;

	for (i = 0; scli_collector_kinds[i]; i++)
		if (!strcmp(scli_collector_kinds[i]->name, name))
			return scli_collector_kinds[i];
	return NULL;
}

/* The repository registry, the same way: add a repository kind here and
 * `--database URL` opens it. */

static bool is_sqlite_url(const char *url)
{
	return !strncmp(url, "sqlite:", 7);
}

static int open_sqlite(scli_repo **out, const char *url, const scli_repo_options *opts)
{
	const char *path = url + 7;

	assert(is_sqlite_url(url));
	*out = NULL;
	if (!*path)
		return scli_error_set(SCLI_EINVALID, "database URL \"sqlite:\" names no file");
	return scli_repo_sqlite_open(out, path, opts);
}

/* libpq takes URLs and key=value strings alike; the adapter never echoes a password. */
static bool is_postgres_url(const char *url)
{
	return !strncmp(url, "postgresql://", 13) || !strncmp(url, "postgres://", 11) ||
	       strchr(url, '=') != NULL;
}

static int open_memory(scli_repo **out, const char *url, const scli_repo_options *opts)
{
	(void)url;
	(void)opts;
	return scli_repo_memory_new(out);
}

static const scli_repo_kind sqlite_kind = {"sqlite", is_sqlite_url, open_sqlite};
static const scli_repo_kind postgres_kind = {"postgres", is_postgres_url, scli_repo_postgres_open};
static const scli_repo_kind memory_kind = {"memory", NULL, open_memory};

/* sqlite: first, so that a SQLite path holding '=' is still a path. */
const scli_repo_kind *const scli_repo_kinds[] = {&sqlite_kind, &postgres_kind, &memory_kind, NULL};

const scli_repo_kind *scli_repo_kind_find(const char *name)
{
	size_t i;

	for (i = 0; scli_repo_kinds[i]; i++)
		if (!strcmp(scli_repo_kinds[i]->name, name))
			return scli_repo_kinds[i];
	return NULL;
}

/* The first kind that recognises `url`, in the table's order; NULL for none. */
static const scli_repo_kind *kind_for_url(const char *url)
{
	size_t i;

	for (i = 0; scli_repo_kinds[i]; i++)
		if (scli_repo_kinds[i]->recognises && scli_repo_kinds[i]->recognises(url))
			return scli_repo_kinds[i];
	return NULL;
}

const char *scli_repo_url_kind(const char *url)
{
	const scli_repo_kind *kind = kind_for_url(url);

	assert(url);
	return kind ? kind->name : NULL;
}

int scli_repo_open(scli_repo **out, const char *url, const scli_repo_options *opts)
{
	const scli_repo_kind *kind;

	assert(out && url);
	*out = NULL;
	if ((kind = kind_for_url(url)))
		return kind->open(out, url, opts);
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

const char *scli_collector_kind_name(const scli_collector_kind *kind)
{
	assert(kind);
	return kind->name;
}

const char *const *scli_collector_kind_extensions(const scli_collector_kind *kind)
{
	assert(kind);
	return kind->extensions;
}
