/*
 * Rejected rows: on stderr, the first 20 of a run (`load` and `count` from
 * files print them alike), and the --rejects file of `load`. It is appended to, never truncated: a
 * CronJob that runs every 15 minutes keeps every run's rejects, each row with the id of the load
 * that read it. It is created (with its header) at the first reject, so a run
 * that rejects nothing, or skips its sources, writes nothing. Each record goes
 * out in one write() under an exclusive flock, so two loads appending at once
 * (overlapping CronJobs) never interleave inside a record, and the header is
 * written once, by whoever finds the file empty.
 */
#define _DEFAULT_SOURCE /* flock */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "load_cli.h"

static const char rejects_header[] = "load_id,source,line,reason,row\r\n";

static int write_error(const char *path, int errnum)
{
	return scli_error_set(SCLI_EIO, "cannot write %s: %s", path, strerror(errnum));
}

int cli_rejects_check_writable(const char *path)
{
	char copy[PATH_MAX];
	struct stat st;

	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return write_error(path, EISDIR);
		return access(path, W_OK) == 0 ? 0 : write_error(path, errno);
	}
	if (errno != ENOENT)
		return write_error(path, errno);
	if (strlen(path) >= sizeof(copy))
		return write_error(path, ENAMETOOLONG);
	strcpy(copy, path);
	return access(dirname(copy), W_OK | X_OK) == 0 ? 0 : write_error(path, errno);
}

/* One record, load_id,"source",line,"reason","row"CRLF, malloc'd into *out. */
static int format_record(char **out, size_t *out_len, int64_t load_id, const char *source,
			 const scli_reject *rej)
{
	char id[24], line[24];
	FILE *m = open_memstream(out, out_len);

	if (!m)
		return scli_error_set(SCLI_ENOMEM, "out of memory");
	snprintf(id, sizeof(id), "%lld", (long long)load_id);
	snprintf(line, sizeof(line), "%llu", (unsigned long long)rej->line);
	cli_csv_row(m,
		    (cli_csv_field[]){cli_csv_text(id, CLI_CSV_QUOTE_NEEDED),
				      cli_csv_text(source, CLI_CSV_QUOTE_ALWAYS),
				      cli_csv_text(line, CLI_CSV_QUOTE_NEEDED),
				      cli_csv_text(rej->reason, CLI_CSV_QUOTE_ALWAYS),
				      {rej->raw, rej->raw_len, CLI_CSV_QUOTE_ALWAYS}},
		    5);
	if (ferror(m) | fclose(m)) {
		free(*out);
		*out = NULL;
		return scli_error_set(SCLI_ENOMEM, "out of memory");
	}
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int cli_rejects_append(rejects_file *f, int64_t load_id, const char *source, const scli_reject *rej)
{
	char *rec = NULL;
	size_t len = 0;
	struct stat st;
	int error = 0, locked = 0;

	if (!f->path)
		return 0;
	if ((error = format_record(&rec, &len, load_id, source, rej)) < 0)
		return error;
	if (f->fd < 0 &&
	    (f->fd = open(f->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644)) < 0) {
		error = write_error(f->path, errno);
		goto done;
	}
	if (flock(f->fd, LOCK_EX) != 0) {
		error = write_error(f->path, errno);
		goto done;
	}
	locked = 1;
	if (fstat(f->fd, &st) != 0 ||
	    (st.st_size == 0 && write_all(f->fd, rejects_header, strlen(rejects_header)) < 0) ||
	    write_all(f->fd, rec, len) < 0)
		error = write_error(f->path, errno);
done:
	if (locked)
		flock(f->fd, LOCK_UN);
	free(rec);
	return error;
}

int cli_rejects_close(rejects_file *f)
{
	int fd = f->fd;

	f->fd = -1;
	if (fd >= 0 && close(fd) != 0)
		return write_error(f->path, errno);
	return 0;
}

void cli_reject_print(reject_lines *r, const char *source, const scli_reject *rej)
{
	r->total++;
	if (r->printed >= CLI_PRINTED_REJECTS)
		return;
	if (r->progress)
		cli_progress_clear(r->progress);
	cli_error("%s:%llu: %s", source, (unsigned long long)rej->line, rej->reason);
	r->printed++;
}

void cli_rejects_print_rest(const reject_lines *r, const char *tail)
{
	if (r->total > r->printed)
		cli_error("%llu more rejected rows not shown%s",
			  (unsigned long long)(r->total - r->printed), tail);
}
