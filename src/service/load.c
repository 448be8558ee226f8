/* The load use case: rows from a collector, in batches, into a repository. */
#include <stdlib.h>

#include "scli/alloc.h"
#include "scli/service.h"

int scli_service_init_db(scli_repo *repo)
{
	return scli_repo_init_schema(repo);
}

/* Store the pending events as one all-or-nothing batch. */
static int flush(scli_load_report *report, scli_repo *repo, const scli_event *batch, size_t *n)
{
	size_t inserted = 0, duplicates = 0;
	int error;

	if (*n == 0)
		return 0;
	if ((error = scli_repo_store_batch(&inserted, &duplicates, repo, batch, *n)) < 0)
		return error;
	/* Every event of the batch is either stored or a duplicate: nothing vanishes. */
	if (inserted + duplicates != *n)
		return scli_error_set(SCLI_ERROR,
				      "%s repository accounted for %zu of %zu events in a batch",
				      scli_repo_name(repo), inserted + duplicates, *n);
	report->inserted += inserted;
	report->duplicates += duplicates;
	*n = 0;
	return 0;
}

int scli_service_load(scli_load_report *report, scli_repo *repo, scli_collector *col,
		      const char *source_name, const scli_load_options *opts)
{
	static const scli_load_options defaults = {0};
	scli_event *batch = NULL;
	scli_reject rej;
	size_t cap, n = 0;
	int error, kind;

	if (!opts)
		opts = &defaults;
	cap = opts->batch_size ? opts->batch_size : SCLI_DEFAULT_BATCH;
	if ((error = scli_repo_check_schema(repo)) < 0)
		goto done;
	if (!(batch = scli_malloc(cap * sizeof(*batch)))) {
		error = scli_error_set(SCLI_ENOMEM,
				       "out of memory allocating a batch of %zu events", cap);
		goto done;
	}
	for (;;) {
		kind = scli_collector_next(&batch[n], &rej, col);
		if (kind < 0) {
			error = kind;
			goto done;
		}
		if (kind == SCLI_NEXT_END)
			break;
		report->rows_read++;
		if (kind == SCLI_NEXT_REJECT) {
			report->rejected++;
			if (opts->on_reject &&
			    (error = opts->on_reject(opts->reject_ctx, source_name, &rej)) < 0)
				goto done;
			continue;
		}
		if (++n < cap)
			continue;
		if ((error = flush(report, repo, batch, &n)) < 0)
			goto done;
		if (opts->on_progress)
			opts->on_progress(opts->progress_ctx, source_name, report);
	}
	if ((error = flush(report, repo, batch, &n)) < 0)
		goto done;
	if (opts->on_progress)
		opts->on_progress(opts->progress_ctx, source_name, report);
	error = 0;
done:
	/* Events read but never committed are in no other figure; a stopped load still
	 * reports rows_read = inserted + duplicates + rejected (the re-run reads them again). */
	if (error < 0)
		report->rows_read -= n;
	scli_free(batch);
	return error;
}
