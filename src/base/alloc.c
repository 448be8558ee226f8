/* The allocator hook (include/scli/alloc.h). */
#define _DEFAULT_SOURCE /* MADV_HUGEPAGE */
#include "scli/alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Transparent huge pages are 2 MiB on x86-64 and arm64 (4 KiB base pages). */
#define HUGE_PAGE ((uintptr_t)2 << 20)

static scli_allocator current = {malloc, realloc, free};

void scli_allocator_set(const scli_allocator *a)
{
	static const scli_allocator libc = {malloc, realloc, free};

	current = a ? *a : libc;
}

void *scli_malloc(size_t n)
{
	return current.malloc_fn(n ? n : 1);
}

void *scli_calloc(size_t count, size_t size)
{
	void *p;

	if (size && count > SIZE_MAX / size)
		return NULL;
	/* the C library's own: fresh pages are zero already, and untouched ones stay unmapped */
	if (current.malloc_fn == malloc)
		return calloc(count ? count : 1, size ? size : 1);
	if ((p = scli_malloc(count * size)))
		memset(p, 0, count * size);
	return p;
}

void *scli_realloc(void *p, size_t n)
{
	return current.realloc_fn(p, n ? n : 1);
}

char *scli_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = scli_malloc(n);

	if (p)
		memcpy(p, s, n);
	return p;
}

void scli_free(void *p)
{
	if (p)
		current.free_fn(p);
}

/* Ask for huge pages over the whole 2 MiB pages inside [p, p + n); a hint, never an error. */
static void *advise_huge(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
	uintptr_t from = ((uintptr_t)p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
	uintptr_t to = ((uintptr_t)p + n) & ~(HUGE_PAGE - 1);

	if (p && current.malloc_fn == malloc && to > from)
		madvise((void *)from, to - from, MADV_HUGEPAGE);
#else
	(void)n;
#endif
	return p;
}

void *scli_malloc_large(size_t n)
{
	return advise_huge(scli_malloc(n), n);
}

void *scli_calloc_large(size_t count, size_t size)
{
	return advise_huge(scli_calloc(count, size), count * size);
}
