/*
 * The plumbing every collector shares (private to src/adapters/collect): the
 * read buffer it pulls its source through, a UTF-8 BOM skipped at the start,
 * and handing a rejected row out through the port.
 */
#ifndef SCLI_COLLECT_READER_H
#define SCLI_COLLECT_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scli/sys/collector.h"

typedef struct collect_reader {
	scli_source *src; /* borrowed */
	char *buf;
	size_t pos, len; /* buf[pos, len) is read and not yet consumed */
	size_t fill;	 /* a read fills buf up to here; buf may be larger */
	bool eof;	 /* the source has nothing more */
	bool started;	 /* the BOM check is done */
} collect_reader;

/* A reader over `src` with a buffer of `size` bytes, of which reads fill `fill`
 * (the rest is the collector's, e.g. for text put back). SCLI_ENOMEM (message
 * set) when the buffer cannot be had; collect_reader_close frees it either way. */
int collect_reader_init(collect_reader *r, scli_source *src, size_t fill, size_t size);

/* Free the buffer (not the source). */
void collect_reader_close(collect_reader *r);

/*
 * Move the unread bytes to the front and read more after them, unless they
 * already reach `fill`. Returns > 0 (bytes read, or 1 when the buffer was
 * full), 0 at end of input, or a negative code with the source's message set.
 */
long collect_reader_refill(collect_reader *r);

/* At the very start of the input, step over a UTF-8 BOM; then nothing. 0, or < 0 on error. */
int collect_reader_skip_bom(collect_reader *r);

/* Fill `*rej` with a row that cannot be read: `raw[0..len)` is its text, made
 * NUL-terminated (raw has room for one more byte). Returns SCLI_NEXT_REJECT. */
static inline int collect_reject(scli_reject *rej, uint64_t line, const char *reason, char *raw,
				 size_t len)
{
	raw[len] = '\0';
	rej->line = line;
	rej->reason = reason;
	rej->raw = raw;
	rej->raw_len = len;
	return SCLI_NEXT_REJECT;
}

#endif
