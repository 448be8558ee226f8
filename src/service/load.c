/* The load use case: rows from a collector, in batches, into a repository. */
#include <stdlib.h>
#include <string.h>

#include "load_internal.h"
#include "scli/alloc.h"

/* Rows read between two progress calls while a batch fills. */
#define PROGRESS_EVERY_ROWS 4096

int scli_service_init_db(scli_repo *repo)
{
	return scli_repo_init_schema(repo);
}

/* Store the first `n` pending events as one all-or-nothing batch. */
static int flush(scli_load_report *report, scli_repo *repo, const scli_event *batch, size_t n)
{
	size_t inserted = 0, duplicates = 0;
	int error;

	if (n == 0)
		return 0;
	if ((error = scli_repo_store_batch(&inserted, &duplicates, repo, batch, n)) < 0)
		return error;
	/* Every event of the batch is either stored or a duplicate: nothing vanishes. */
	if (inserted + duplicates != n)
		return scli_error_set(SCLI_ERROR,
				      "%s repository accounted for %zu of %zu events in a batch",
				      scli_repo_name(repo), inserted + duplicates, n);
	report->inserted += inserted;
	report->duplicates += duplicates;
	return 0;
}

static void progress(const load_job *job, const scli_load_report *report, size_t pending)
{
	scli_load_progress p = {job->name, report, pending, -1, -1};

	if (!job->opts->on_progress)
		return;
	if (job->src) {
		p.bytes_read = scli_source_offset(job->src);
		p.bytes_total = scli_source_size(job->src);
	}
	job->opts->on_progress(job->opts->progress_ctx, &p);
}

/*
 * Commit the first `cap` events of a full batch, after checking that the file
 * they came from has not changed under the read. Once the source has reached
 * its end, the last row read may be a half-written line of a file still being
 * appended to: then a full batch waits for the row after it (it comes back
 * here with n == cap + 1, and that row starts the next batch) or for the end
 * check. `*n` is left the number of events still pending.
 */
static int commit_full(size_t *n, scli_load_report *report, const load_job *job, scli_event *batch,
		       size_t cap)
{
	int error;

	if (*n == cap && job->src && scli_source_at_end(job->src))
		return 0;
	if (job->src && (error = scli_source_check(job->src, false, NULL)) < 0)
		return error;
	if ((error = flush(report, job->repo, batch, cap)) < 0)
		return error;
	if (*n > cap)
		memcpy(&batch[0], &batch[cap], sizeof(*batch));
	*n -= cap;
	progress(job, report, *n);
	return 0;
}

int scli_load_rows(scli_load_report *report, const load_job *job)
{
	const scli_load_options *opts = job->opts;
	scli_event *batch = NULL;
	scli_reject rej;
	size_t cap, n = 0;
	uint64_t since_progress = 0;
	int error, kind;

	cap = opts->batch_size ? opts->batch_size : scli_repo_default_batch(job->repo);
	/* one slot more than a batch: the row that shows the batch was not the last */
	if (!(batch = scli_malloc((cap + 1) * sizeof(*batch)))) {
		error = scli_error_set(SCLI_ENOMEM,
				       "out of memory allocating a batch of %zu events", cap);
		goto done;
	}
	for (;;) {
		kind = scli_collector_next(&batch[n], &rej, job->col);
		if (kind < 0) {
			error = kind;
			goto done;
		}
		if (kind == SCLI_NEXT_END)
			break;
		report->rows_read++;
		if (++since_progress == PROGRESS_EVERY_ROWS) {
			since_progress = 0;
			progress(job, report, n);
		}
		if (kind == SCLI_NEXT_REJECT) {
			report->rejected++;
			if (opts->on_reject && (error = opts->on_reject(opts->reject_ctx, job->name,
									job->load_id, &rej)) < 0)
				goto done;
			continue;
		}
		if (++n >= cap && (error = commit_full(&n, report, job, batch, cap)) < 0)
			goto done;
	}
	/* the end check comes before the last batch commits */
	if ((job->src && (error = scli_source_check(job->src, true, job->hash)) < 0) ||
	    (error = flush(report, job->repo, batch, n)) < 0)
		goto done;
	n = 0;
	progress(job, report, 0);
	error = 0;
done:
	/* Events read but never committed are in no other figure; a stopped load still
	 * reports rows_read = inserted + duplicates + rejected (the re-run reads them again). */
	if (error < 0)
		report->rows_read -= n;
	scli_free(batch);
	return error;
}

int scli_service_load(scli_load_report *report, scli_repo *repo, scli_collector *col,
		      const char *source_name, const scli_load_options *opts)
{
	static const scli_load_options defaults = {0};
	load_job job = {repo, col, NULL, NULL, source_name, 0, opts ? opts : &defaults};
	int error;

	if ((error = scli_repo_check_schema(repo)) < 0)
		return error;
	return scli_load_rows(report, &job);
}
