/**
 * @file sys/collector.h
 * The collector port, for adapter authors: turns a byte source into events
 * and rejected rows. Also the byte source every collector reads from.
 */
#ifndef SCLI_SYS_COLLECTOR_H
#define SCLI_SYS_COLLECTOR_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scli/error.h"
#include "scli/event.h"

#define SCLI_COLLECTOR_OPS_VERSION 1

/* ---- byte source ------------------------------------------------------ */

/** A readable byte stream: a file (gzip read transparently), stdin, or memory. */
typedef struct scli_source scli_source;

/**
 * Open `path` for reading; "-" is standard input. A gzip-compressed file is
 * read decompressed. The caller frees with scli_source_free.
 */
int scli_source_open(scli_source **out, const char *path);

/** A source over a copy of `data[0..len)`, named `name` (for tests and messages). */
int scli_source_from_memory(scli_source **out, const void *data, size_t len, const char *name);

/**
 * Read up to `n` bytes. Returns the number read (> 0), 0 at end of input, or a
 * negative code with the thread error set (message names the source).
 */
long scli_source_read(scli_source *s, void *buf, size_t n);

/** Size in bytes of the file as stored (compressed for gzip), -1 when unknown (stdin, pipes,
 * memory). */
int64_t scli_source_size(const scli_source *s);

/** Bytes of the file as stored consumed so far (for progress against scli_source_size). */
int64_t scli_source_offset(const scli_source *s);

/**
 * scli_source_open that also returns, for a regular file, the XXH3-128 of its
 * bytes as stored (32 lowercase hex digits plus NUL into `hex_out`), computed
 * through the same descriptor before it is rewound and read: the hash always
 * describes the bytes loaded. Standard input, pipes and FIFOs get "" (no hash).
 */
int scli_source_open_hashed(scli_source **out, char hex_out[33], const char *path);

/**
 * Check that a regular file is still the one that was opened, and has not
 * been changed since (fstat: same inode, size and modification time). With
 * `at_end`, after the last row was read, also read whatever was left undecoded
 * and check that exactly the file's bytes were read and that their hash, taken
 * as they were read, equals `expected_hash` (the hash from
 * scli_source_open_hashed; NULL or "" skips that comparison). SCLI_ECHANGED
 * with "file changed while loading" in the message when not; 0 for stdin,
 * pipes and memory sources, which have nothing to compare against.
 */
int scli_source_check(scli_source *s, bool at_end, const char *expected_hash);

/** Whether reading has reached the end of the input (a read found nothing more). */
bool scli_source_at_end(const scli_source *s);

/** Name for messages: the path, "<stdin>" for "-" (borrowed). */
const char *scli_source_name(const scli_source *s);

/** Close and free (NULL-safe). */
void scli_source_free(scli_source *s);

/* ---- collector -------------------------------------------------------- */

/** What scli_collector_next produced. */
enum {
	SCLI_NEXT_END = 0,   /**< no more rows */
	SCLI_NEXT_EVENT = 1, /**< `*ev_out` holds an event */
	SCLI_NEXT_REJECT = 2 /**< `*rej_out` describes a row that cannot be read */
};

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

typedef struct scli_collector scli_collector;

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
typedef struct scli_collector_kind {
	const char *name;	       /**< "csv", "json" */
	const char *const *extensions; /**< e.g. ".csv", ".csv.gz"; NULL-terminated */
	int (*open)(scli_collector **out, scli_source *src);
} scli_collector_kind;

/** Free a collector (NULL-safe). */
static inline void scli_collector_free(scli_collector *c)
{
	if (c && c->ops && c->ops->free)
		c->ops->free(c);
}

#endif
