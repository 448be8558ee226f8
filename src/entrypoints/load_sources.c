/* `scli load --config`: arguments to the list of sources, and the check that
 * the rejects file is never one of them. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <glob.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "load_cli.h"

static int list_add(source_list *l, const char *path)
{
	char *copy;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		char **paths = realloc(l->paths, cap * sizeof(*paths));

		if (!paths)
			return scli_error_set(SCLI_ENOMEM, "out of memory");
		l->paths = paths;
		l->cap = cap;
	}
	if (!(copy = strdup(path)))
		return scli_error_set(SCLI_ENOMEM, "out of memory");
	l->paths[l->n++] = copy;
	return 0;
}

void cli_sources_free(source_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->paths[i]);
	free(l->paths);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

/* Whether a file in a --config directory belongs to the collector. */
static bool wanted_in_directory(const char *name, const scli_collector_kind *kind)
{
	const char *const *ext;

	if (name[0] == '.')
		return false;
	for (ext = scli_collector_kind_extensions(kind); *ext; ext++)
		if (ends_with(name, *ext))
			return true;
	return false;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A directory's matching regular files, sorted by name so loads are repeatable. */
static int expand_directory(source_list *l, const char *dir, const scli_collector_kind *kind)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	source_list found = {0};
	size_t i;
	int error = 0;

	if (!d)
		return scli_error_set(SCLI_EIO, "cannot read directory %s: %s", dir,
				      strerror(errno));
	while ((e = readdir(d))) {
		char path[4096];
		struct stat st;

		if (!wanted_in_directory(e->d_name, kind))
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s%s%s", dir,
				     ends_with(dir, "/") ? "" : "/", e->d_name) >= sizeof(path))
			continue;
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
		    (error = list_add(&found, path)) < 0)
			goto done;
	}
	if (found.n == 0)
		fprintf(stderr, "scli: note: no %s files in %s\n", scli_collector_kind_name(kind), dir);
	else /* qsort's array must not be NULL, even for no elements */
		qsort(found.paths, found.n, sizeof(*found.paths), compare_names);
	for (i = 0; i < found.n; i++)
		if ((error = list_add(l, found.paths[i])) < 0)
			goto done;
done:
	closedir(d);
	cli_sources_free(&found);
	return error;
}

static bool is_glob(const char *arg)
{
	return strpbrk(arg, "*?[") != NULL;
}

int cli_sources_expand(source_list *l, const char *arg, const scli_collector_kind *kind)
{
	struct stat st;
	glob_t g;
	size_t i;
	int error = 0, rc;

	if (!strcmp(arg, "-"))
		return list_add(l, arg);
	if (stat(arg, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return expand_directory(l, arg, kind);
		return list_add(l, arg);
	}
	if (!is_glob(arg))
		return list_add(l, arg);
	rc = glob(arg, 0, NULL, &g);
	if (rc == GLOB_NOMATCH)
		return scli_error_set(SCLI_EIO, "no file matches %s", arg);
	if (rc != 0)
		return scli_error_set(SCLI_EIO, "cannot expand %s", arg);
	for (i = 0; i < g.gl_pathc && error == 0; i++)
		error = list_add(l, g.gl_pathv[i]);
	globfree(&g);
	return error;
}

/* The directory holding `path`, resolved (symlinks, `..`), into out[PATH_MAX]. */
static bool parent_dir(char *out, const char *path)
{
	char copy[PATH_MAX];

	if (strlen(path) >= sizeof(copy))
		return false;
	strcpy(copy, path);
	return realpath(dirname(copy), out) != NULL;
}

/* Whether directory argument `dir` picks up a file named like `rejects`. */
static bool directory_would_read(const char *dir, const char *rejects,
				 const scli_collector_kind *kind)
{
	char a[PATH_MAX], b[PATH_MAX], copy[PATH_MAX];

	if (strlen(rejects) >= sizeof(copy) || !realpath(dir, a) || !parent_dir(b, rejects))
		return false;
	strcpy(copy, rejects);
	return !strcmp(a, b) && wanted_in_directory(basename(copy), kind);
}

/* Whether glob argument `pattern` matches `rejects`, as written or as an absolute path. */
static bool glob_would_read(const char *pattern, const char *rejects)
{
	char dir[PATH_MAX], abs[PATH_MAX + NAME_MAX + 2], copy[PATH_MAX];

	if (fnmatch(pattern, rejects, FNM_PATHNAME | FNM_PERIOD) == 0)
		return true;
	if (strlen(rejects) >= sizeof(copy) || !parent_dir(dir, rejects))
		return false;
	strcpy(copy, rejects);
	snprintf(abs, sizeof(abs), "%s/%s", dir, basename(copy));
	return fnmatch(pattern, abs, FNM_PATHNAME | FNM_PERIOD) == 0;
}

static int refuse(const char *rejects, const char *input)
{
	cli_error("--rejects %s is also an input (--config %s): it would be read as events; "
		  "write rejects outside the inputs",
		  rejects, input);
	return EXIT_USAGE;
}

int cli_rejects_not_an_input(const char *rejects, const char *const *configs, size_t nconfigs,
			     const source_list *sources, const scli_collector_kind *kind)
{
	struct stat r, s;
	bool exists = stat(rejects, &r) == 0;
	size_t i;

	for (i = 0; exists && i < sources->n; i++)
		if (strcmp(sources->paths[i], "-") && stat(sources->paths[i], &s) == 0 &&
		    s.st_dev == r.st_dev && s.st_ino == r.st_ino)
			return refuse(rejects, sources->paths[i]);
	for (i = 0; i < nconfigs; i++) {
		if (stat(configs[i], &s) == 0 && S_ISDIR(s.st_mode)) {
			if (directory_would_read(configs[i], rejects, kind))
				return refuse(rejects, configs[i]);
		} else if (is_glob(configs[i]) && glob_would_read(configs[i], rejects)) {
			return refuse(rejects, configs[i]);
		}
	}
	return 0;
}
