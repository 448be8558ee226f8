/**
 * @file collector.h
 * The kinds of collector scli has (CSV, JSON), from the adapters' registry.
 * The load use case (include/scli/service.h) takes a kind; a program finds one
 * by name and never names a constructor.
 */
#ifndef SCLI_COLLECTOR_H
#define SCLI_COLLECTOR_H

#include "scli/export.h"

#include "scli/types.h"

/** Every collector kind scli has, NULL-terminated (the collector registry). */
extern SCLI_API const scli_collector_kind *const scli_collector_kinds[];

/** The collector kind called `name`, or NULL. */
SCLI_API const scli_collector_kind *scli_collector_kind_find(const char *name);

/** The kind's name, as `--collector` takes it and the ledger keeps it ("csv"). */
SCLI_API const char *scli_collector_kind_name(const scli_collector_kind *kind);

/** The file name endings a directory input picks for the kind (".csv", ".csv.gz"),
 *  NULL-terminated. */
SCLI_API const char *const *scli_collector_kind_extensions(const scli_collector_kind *kind);

#endif
