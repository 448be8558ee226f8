/**
 * @file types.h
 * The handles of the public API. Their insides are for adapter authors only
 * (include/scli/sys/): a program holds pointers and calls functions.
 */
#ifndef SCLI_TYPES_H
#define SCLI_TYPES_H

#include <stddef.h>
#include <stdint.h>

/** A database of events (SQLite, PostgreSQL, memory); scli_repo_open, scli_repo_free. */
typedef struct scli_repo scli_repo;

/** A readable byte stream (include/scli/source.h). */
typedef struct scli_source scli_source;

/** Something that turns a source into events and rejected rows (CSV, JSON). */
typedef struct scli_collector scli_collector;

/** A kind of collector, as the registry lists it (include/scli/collector.h). */
typedef struct scli_collector_kind scli_collector_kind;

/**
 * A rejected row. Pointers are borrowed from the collector and valid until the
 * next call to scli_collector_next or scli_collector_free.
 */
typedef struct scli_reject {
	uint64_t line;	    /**< 1-based line where the row starts */
	const char *reason; /**< precise reason, e.g. `timestamp "2021-02-29": day is out of range
			       for the month` */
	const char *raw;    /**< the row's original text, without its line terminator */
	size_t raw_len;
} scli_reject;

#endif
