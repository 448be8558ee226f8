/* Loads with a ledger around them: what was loaded, when, by which collector,
 * and how it ended. */
#include <string.h>
#include <time.h>

#include "load_internal.h"

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Copy with truncation into a fixed buffer of `cap` bytes (cap includes the NUL). */
static void copy_text(char *dst, size_t cap, const char *src)
{
	size_t len = strlen(src);

	if (len >= cap)
		len = cap - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* 1 and the earlier load's id when this content was loaded completely by this collector. */
static int find_loaded(int64_t *load_id_out, scli_repo *repo, const char *hash,
		       const char *collector)
{
	scli_load_record rec;
	int error;

	*load_id_out = 0;
	if (!*hash)
		return 0;
	error = scli_repo_ledger_find_completed(&rec, repo, hash, collector);
	if (error == SCLI_ENOTFOUND)
		return 0;
	if (error < 0)
		return error;
	*load_id_out = rec.id;
	return 1;
}

/* Record the end of a load. On failure the load's own message is the one kept. */
static int finish(scli_repo *repo, scli_load_record *rec, const scli_load_report *r, int error)
{
	int finish_error;

	rec->ended_us = now_us();
	rec->rows_read = r->rows_read;
	rec->inserted = r->inserted;
	rec->duplicates = r->duplicates;
	rec->rejected = r->rejected;
	rec->state = error < 0 ? SCLI_LOAD_FAILED : SCLI_LOAD_COMPLETED;
	if (error < 0) {
		char why[1024];

		copy_text(why, sizeof(why), scli_error_last());
		copy_text(rec->error, sizeof(rec->error), why);
		scli_repo_ledger_finish(repo, rec);
		scli_error_set(error, "%s", why);
		return error;
	}
	if ((finish_error = scli_repo_ledger_finish(repo, rec)) < 0)
		return finish_error;
	return 0;
}

int scli_service_load_source(scli_source_outcome *out, scli_repo *repo, const char *path,
			     const scli_collector_kind *kind, bool force,
			     const scli_load_options *opts)
{
	static const scli_load_options defaults = {0};
	char hash[SCLI_HASH_HEX_LEN + 1] = "";
	scli_source *src = NULL;
	scli_collector *col = NULL;
	scli_load_record rec;
	load_job job = {0};
	int error, found;

	assert(out && repo && path && kind && kind->name && kind->open);
	memset(out, 0, sizeof(*out));
	out->status = SCLI_SOURCE_FAILED;
	/* one open: the hash (regular files only) describes the bytes then read */
	if ((error = scli_source_open_hashed(&src, hash, path)) < 0)
		goto done;
	if ((found = find_loaded(&out->load_id, repo, hash, kind->name)) < 0) {
		error = found;
		goto done;
	}
	if (found && !force) {
		out->status = SCLI_SOURCE_SKIPPED;
		goto done;
	}
	out->load_id = 0;
	if ((error = kind->open(&col, src)) < 0)
		goto done;

	memset(&rec, 0, sizeof(rec));
	copy_text(rec.source, sizeof(rec.source), scli_source_name(src));
	copy_text(rec.hash, sizeof(rec.hash), hash);
	copy_text(rec.collector, sizeof(rec.collector), kind->name);
	rec.size = scli_source_size(src);
	rec.started_us = now_us();
	rec.state = SCLI_LOAD_RUNNING;
	if ((error = scli_repo_ledger_begin(&rec.id, repo, &rec)) < 0)
		goto done;
	out->load_id = rec.id;

	job.repo = repo;
	job.col = col;
	job.src = src;
	job.hash = hash;
	job.name = scli_source_name(src);
	job.load_id = rec.id;
	job.opts = opts ? opts : &defaults;
	error = scli_load_rows(&out->report, &job);
	if ((error = finish(repo, &rec, &out->report, error)) == 0)
		out->status = SCLI_SOURCE_COMPLETED;
done:
	scli_collector_free(col);
	scli_source_free(src);
	return error;
}

int scli_service_list_loads(scli_repo *repo, size_t limit, scli_load_record_cb cb, void *ctx)
{
	int error;

	if ((error = scli_repo_check_schema(repo)) < 0)
		return error;
	return scli_repo_ledger_list(repo, limit, cb, ctx);
}
