/* Shared by the fuzz targets: an invariant check that names the input and aborts. */
#ifndef SCLI_FUZZ_H
#define SCLI_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* The libFuzzer entry point every target defines (replay_main.c calls it too). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Print up to 200 bytes of the input, escaped, so a report shows what broke. */
static inline void fuzz_dump(const uint8_t *data, size_t size)
{
	size_t i;

	fprintf(stderr, "input (%zu bytes): \"", size);
	for (i = 0; i < size && i < 200; i++)
		if (data[i] >= 0x20 && data[i] < 0x7f && data[i] != '"' && data[i] != '\\')
			fputc(data[i], stderr);
		else
			fprintf(stderr, "\\x%02x", data[i]);
	fprintf(stderr, "%s\"\n", size > 200 ? "..." : "");
}

/* A broken invariant is a crash: libFuzzer saves the input, replay fails the test. */
#define FUZZ_CHECK(cond, data, size, ...)                                                          \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz invariant broken (%s:%d): ", __FILE__, __LINE__);    \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			fuzz_dump(data, size);                                                     \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#endif
