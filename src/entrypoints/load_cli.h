/* Shared by the files of `scli load` (cmd_load.c, load_sources.c,
 * load_rejects.c, load_progress.c). */
#ifndef SCLI_LOAD_CLI_H
#define SCLI_LOAD_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "cli.h"

/* ---- load_sources.c: --config arguments to a list of paths ---- */

/* The expanded list of sources to load, in order. */
typedef struct source_list {
	char **paths;
	size_t n, cap;
} source_list;

/* --config ARG: `-`, a directory (its files with the collector's endings, sorted),
 * a glob, or a file (a missing file fails when it is opened). */
int cli_sources_expand(source_list *l, const char *arg, const scli_collector_kind *kind);
void cli_sources_free(source_list *l);

/*
 * Whether `rejects` is one of the inputs: the same file (device and inode) as
 * an expanded source, or a name a directory or glob argument would pick up on
 * this run or the next. Returns EXIT_USAGE (message printed) when it is.
 */
int cli_rejects_not_an_input(const char *rejects, const char *const *configs, size_t nconfigs,
			     const source_list *sources, const scli_collector_kind *kind);

/* ---- load_rejects.c: the --rejects file ---- */

/* The rejects file: opened (created with its header) at the first reject, appended to. */
typedef struct rejects_file {
	const char *path; /* NULL: no --rejects */
	int fd;		  /* -1 until the first reject */
} rejects_file;

/* Fail early (before any load) when the rejects file could not be written. */
int cli_rejects_check_writable(const char *path);

/* Append one rejected row, with the load id, as one CSV record. */
int cli_rejects_append(rejects_file *f, int64_t load_id, const char *source,
		       const scli_reject *rej);

/* Close it; a failure to write shows here as well. */
int cli_rejects_close(rejects_file *f);

/* ---- load_rejects.c: rejected rows on stderr (load and count alike) ---- */

/* The first this many rejected rows are printed, one line each. */
#define CLI_PRINTED_REJECTS 20

typedef struct reject_lines {
	const struct progress_line *progress; /* cleared before a line is printed; may be NULL */
	uint64_t printed, total;
} reject_lines;

/* Count a rejected row; print it as `scli: error: SOURCE:LINE: reason` if it is one of the first
 * CLI_PRINTED_REJECTS. */
void cli_reject_print(reject_lines *r, const char *source, const scli_reject *rej);

/* After the last row: "N more rejected rows not shown" and `tail`, when some were not printed. */
void cli_rejects_print_rest(const reject_lines *r, const char *tail);

/* ---- load_progress.c: the live progress line on a terminal ---- */

typedef struct progress_line {
	bool on;		 /* stderr is a terminal and not --quiet */
	size_t index, count;	 /* the file's place in the list (1-based) */
	struct timespec started; /* of the current file */
	double last_shown;	 /* seconds since started at the last update */
} progress_line;

/* A new file starts. */
void cli_progress_start(progress_line *p, size_t index, size_t count);

/* The progress callback of scli_load_options (ctx is the progress_line). */
void cli_progress_show(void *ctx, const scli_load_progress *at);

/* Erase the line (before anything else is printed on stderr). */
void cli_progress_clear(const progress_line *p);

#endif
