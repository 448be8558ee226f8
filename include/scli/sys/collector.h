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
 */
struct scli_collector_kind {
	const char *name;	       /**< "csv", "json" */
	const char *const *extensions; /**< e.g. ".csv", ".csv.gz"; NULL-terminated */
	int (*open)(scli_collector **out, scli_source *src);
};

/** Free a collector (NULL-safe). */
static inline void scli_collector_free(scli_collector *c)
{
	if (c && c->ops && c->ops->free)
		c->ops->free(c);
}

#endif
