/**
 * @file sys/collector.h
 * The collector port, for adapter authors: turns a byte source into events
 * and rejected rows. The source they read is public (include/scli/source.h).
 */
#ifndef SCLI_SYS_COLLECTOR_H
#define SCLI_SYS_COLLECTOR_H

#ifdef SCLI_PUBLIC_API_ONLY
#error "include/scli/sys/ is for adapter authors; entry points and programs use include/scli/*.h"
#endif

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scli/collector.h"
#include "scli/error.h"
#include "scli/event.h"
#include "scli/source.h"
#include "scli/types.h"

#define SCLI_COLLECTOR_OPS_VERSION 1

/* ---- collector -------------------------------------------------------- */

/** What scli_collector_next produced. */
enum {
	SCLI_NEXT_END = 0,   /**< no more rows */
	SCLI_NEXT_EVENT = 1, /**< `*ev_out` holds an event */
	SCLI_NEXT_REJECT = 2 /**< `*rej_out` describes a row that cannot be read */
};

typedef struct scli_collector_ops {
	int version;	  /**< SCLI_COLLECTOR_OPS_VERSION */
	const char *name; /**< "csv", "json" */

	/**
	 * Produce the next row: returns SCLI_NEXT_EVENT (fills `*ev_out`),
	 * SCLI_NEXT_REJECT (fills `*rej_out`), SCLI_NEXT_END, or a negative code
	 * with the thread error set for a failure that stops the load (I/O).
	 */
	int (*next)(scli_event *ev_out, scli_reject *rej_out, scli_collector *c);
	/** Free the collector (not the source it reads). */
	void (*free)(scli_collector *c);
} scli_collector_ops;

/** Base struct every collector adapter embeds first. */
struct scli_collector {
	const scli_collector_ops *ops;
};

static inline int scli_collector_next(scli_event *ev_out, scli_reject *rej_out, scli_collector *c)
{
	assert(c && c->ops && c->ops->next);
	return c->ops->next(ev_out, rej_out, c);
}

/**
 * A kind of collector, as the registry lists it (include/scli/adapters.h): its
 * name (kept in the load ledger), the file name endings a directory input
 * picks for it, and how to open one over a source (borrowed: it must outlive
 * the collector).
 *
 * Optionally (both or neither; NULL: the kind's inputs are read by one
 * collector from start to end), how to read an input in parts, each by its
 * own collector, so that a count from files can use several threads. A part
 * starts at a row boundary and ends just after a line feed (or at the end of
 * the input). Reading the parts in order must give exactly the rows, rejects,
 * reasons and line numbers one collector gives over the whole input.
 */
struct scli_collector_kind {
	const char *name;	       /**< "csv", "json" */
	const char *const *extensions; /**< e.g. ".csv", ".csv.gz"; NULL-terminated */
	int (*open)(scli_collector **out, scli_source *src);

	/**
	 * For `data[0..len)`, a part that starts at a row boundary: the number of
	 * lines in it as the collector numbers them, when every line feed in it
	 * ends a row (so that a cut after any of them is a row boundary too);
	 * -1 when a line feed may be inside a row (CSV: the part holds a quote).
	 */
	int64_t (*part_lines)(const char *data, size_t len);
	/**
	 * A collector over `src`, a part of an input after its start (see
	 * part_lines), that reads it as `head` would: `head` is a collector of
	 * this kind over the input's start that has returned its first row (an
	 * event or a reject), so it knows the header; lines are numbered from
	 * `first_line`. `head` is only read, and may be shared by threads.
	 * SCLI_EINVALID when `head` has not read a row.
	 */
	int (*open_part)(scli_collector **out, scli_source *src, const scli_collector *head,
			 uint64_t first_line);
};

/** Free a collector (NULL-safe). */
static inline void scli_collector_free(scli_collector *c)
{
	if (c && c->ops && c->ops->free)
		c->ops->free(c);
}

#endif
