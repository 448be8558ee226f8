/* The allocator hook (include/scli/alloc.h). */
#include "scli/alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
