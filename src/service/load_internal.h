/* Shared by the service's load files (load.c, ledger.c); not installed. */
#ifndef SCLI_SERVICE_LOAD_INTERNAL_H
#define SCLI_SERVICE_LOAD_INTERNAL_H

#include "scli/service.h"
#include "scli/sys/collector.h"
#include "scli/sys/repository.h"

/* One source being loaded: where the rows come from and go to. */
typedef struct load_job {
	scli_repo *repo;
	scli_collector *col;
	scli_source *src; /* checked for changes before commits; NULL for none */
	const char *hash; /* the source's hash when opened, checked at the end; NULL for none */
	const char *name; /* for messages and callbacks */
	int64_t load_id;  /* ledger id, 0 when the load is not recorded */
	const scli_load_options *opts; /* never NULL */
} load_job;

/* Read every row of job->col and store the events in batches (see scli_service_load);
 * the schema is checked by the caller. */
int scli_load_rows(scli_load_report *report, const load_job *job);

#endif
