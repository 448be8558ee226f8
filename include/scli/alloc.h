/**
 * @file alloc.h
 * The project's allocator hook. Every allocation scli's own code makes, and
 * those of the libraries it can route (cJSON, libcsv), goes through these, so
 * tests can fail the Nth allocation and check that every path ends cleanly.
 */
#ifndef SCLI_ALLOC_H
#define SCLI_ALLOC_H

#include "scli/export.h"

#include <stddef.h>

/** A replacement allocator: malloc/realloc/free semantics (realloc(NULL, n) allocates). */
typedef struct scli_allocator {
	void *(*malloc_fn)(size_t n);
	void *(*realloc_fn)(void *p, size_t n);
	void (*free_fn)(void *p);
} scli_allocator;

/** Install `a` (copied) for all threads; NULL restores the C library's. Not for use while
 *  other threads allocate. */
SCLI_API void scli_allocator_set(const scli_allocator *a);

SCLI_API void *scli_malloc(size_t n);
SCLI_API void *scli_calloc(size_t count, size_t size); /**< zeroed; NULL on overflow */
SCLI_API void *scli_realloc(void *p, size_t n);
SCLI_API char *scli_strdup(const char *s);
SCLI_API void scli_free(void *p); /**< NULL-safe */

/**
 * scli_malloc / scli_calloc for a large array read and written at random (a
 * hash table and its keys): with the C library's allocator, the kernel is also
 * asked to back it with huge pages (transparent huge pages, `madvise`), so
 * that random accesses miss the TLB far less. Freed with scli_free.
 */
SCLI_API void *scli_malloc_large(size_t n);
SCLI_API void *scli_calloc_large(size_t count, size_t size);

#endif
