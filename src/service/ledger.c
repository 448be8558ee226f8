/* Loads with a ledger around them: what was loaded, when, and how it ended. */
#include <string.h>
#include <time.h>

#include "scli/service.h"

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

int scli_service_find_loaded(int64_t *load_id_out, scli_repo *repo, const char *hash)
{
	scli_load_record rec;
	int error;

	*load_id_out = 0;
	if (!hash || !*hash)
		return 0;
	if ((error = scli_repo_check_schema(repo)) < 0)
		return error;
	error = scli_repo_ledger_find_completed(&rec, repo, hash);
	if (error == SCLI_ENOTFOUND)
		return 0;
	if (error < 0)
		return error;
	*load_id_out = rec.id;
	return 1;
}

int scli_service_load_recorded(int64_t *load_id_out, scli_load_report *report, scli_repo *repo,
			       scli_collector *col, const scli_source_info *info,
			       const scli_load_options *opts)
{
	scli_load_record rec;
	scli_load_report mine = {0};
	int error, finish_error;

	*load_id_out = 0;
	memset(&rec, 0, sizeof(rec));
	copy_text(rec.source, sizeof(rec.source), info->name);
	copy_text(rec.hash, sizeof(rec.hash), info->hash ? info->hash : "");
	rec.size = info->size;
	rec.started_us = now_us();
	rec.state = SCLI_LOAD_RUNNING;
	if ((error = scli_repo_check_schema(repo)) < 0 ||
	    (error = scli_repo_ledger_begin(&rec.id, repo, &rec)) < 0)
		return error;
	*load_id_out = rec.id;

	error = scli_service_load(&mine, repo, col, info->name, opts);

	rec.ended_us = now_us();
	rec.rows_read = mine.rows_read;
	rec.inserted = mine.inserted;
	rec.duplicates = mine.duplicates;
	rec.rejected = mine.rejected;
	rec.state = error < 0 ? SCLI_LOAD_FAILED : SCLI_LOAD_COMPLETED;
	if (error < 0) {
		char why[1024];

		/* finishing may set its own message; the load's failure is the one to report */
		copy_text(why, sizeof(why), scli_error_last());
		copy_text(rec.error, sizeof(rec.error), why);
		scli_repo_ledger_finish(repo, &rec);
		scli_error_set(error, "%s", why);
	} else if ((finish_error = scli_repo_ledger_finish(repo, &rec)) < 0) {
		error = finish_error;
	}
	report->rows_read += mine.rows_read;
	report->inserted += mine.inserted;
	report->duplicates += mine.duplicates;
	report->rejected += mine.rejected;
	return error;
}

int scli_service_list_loads(scli_repo *repo, size_t limit, scli_load_record_cb cb, void *ctx)
{
	int error;

	if ((error = scli_repo_check_schema(repo)) < 0)
		return error;
	return scli_repo_ledger_list(repo, limit, cb, ctx);
}
