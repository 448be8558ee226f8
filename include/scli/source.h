/**
 * @file source.h
 * The byte source every load reads: a file (gzip read transparently), standard
 * input, or memory, hashed as it is read so a load can tell whether the file
 * changed under it. Public: a program can open and read sources itself.
 */
#ifndef SCLI_SOURCE_H
#define SCLI_SOURCE_H

#include "scli/export.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scli/types.h"

/**
 * Open `path` for reading; "-" is standard input. A gzip-compressed file is
 * read decompressed. The caller frees with scli_source_free.
 */
SCLI_API int scli_source_open(scli_source **out, const char *path);

/** A source over a copy of `data[0..len)`, named `name` (for tests and messages). */
SCLI_API int scli_source_from_memory(scli_source **out, const void *data, size_t len,
				     const char *name);

/**
 * A source reading `data[0..len)` in place, named `name`: borrowed, so the
 * data must outlive the source (for reading a file in parts without a copy).
 */
SCLI_API int scli_source_over(scli_source **out, const void *data, size_t len, const char *name);

/**
 * For a regular file whose content is not gzip: 0 and its size in `*size_out`;
 * SCLI_EUNSUPPORTED (no message) for anything else (gzip, stdin, pipes,
 * memory). Such a file can be read at offsets (scli_source_read_at) and from
 * an offset on (scli_source_open_tail). Does not move the read position.
 */
SCLI_API int scli_source_plain_file(int64_t *size_out, const scli_source *s);

/**
 * Read up to `n` bytes at `offset` of a file scli_source_plain_file accepts,
 * without moving the read position or hashing them: several threads may read
 * one source this way at once. Returns the number read (fewer than `n` only at
 * the end of the file, 0 past it) or SCLI_EIO with the thread error set.
 */
SCLI_API long scli_source_read_at(const scli_source *s, void *buf, size_t n, int64_t offset);

/**
 * A source reading the file of `s` (one scli_source_plain_file accepts) from
 * `offset` to its end, named like `s`. `s` is borrowed: it must outlive the new
 * source. The new source is not hashed or checked (scli_source_check on it is
 * 0): check `s`.
 */
SCLI_API int scli_source_open_tail(scli_source **out, const scli_source *s, int64_t offset);

/**
 * Read up to `n` bytes. Returns the number read (> 0), 0 at end of input, or a
 * negative code with the thread error set (message names the source).
 */
SCLI_API long scli_source_read(scli_source *s, void *buf, size_t n);

/** Size in bytes of the file as stored (compressed for gzip), -1 when unknown (stdin, pipes,
 * memory). */
SCLI_API int64_t scli_source_size(const scli_source *s);

/** Bytes of the file as stored consumed so far (for progress against scli_source_size). */
SCLI_API int64_t scli_source_offset(const scli_source *s);

/**
 * scli_source_open that also returns, for a regular file, the XXH3-128 of its
 * bytes as stored (32 lowercase hex digits plus NUL into `hex_out`), computed
 * through the same descriptor before it is rewound and read: the hash always
 * describes the bytes loaded. Standard input, pipes and FIFOs get "" (no hash).
 */
SCLI_API int scli_source_open_hashed(scli_source **out, char hex_out[33], const char *path);

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
SCLI_API int scli_source_check(scli_source *s, bool at_end, const char *expected_hash);

/** Whether reading has reached the end of the input (a read found nothing more). */
SCLI_API bool scli_source_at_end(const scli_source *s);

/** Name for messages: the path, "<stdin>" for "-" (borrowed). */
SCLI_API const char *scli_source_name(const scli_source *s);

/** Close and free (NULL-safe). */
SCLI_API void scli_source_free(scli_source *s);

#endif
