/**
 * @file identity_set.h
 * An exact set of event identities (customer, transaction id), kept in
 * memory: what a count from files remembers so that the same identity read
 * twice counts once, the first one read winning. Identities are compared as
 * whole texts; the hash only finds them, so two identities are never merged
 * by a collision.
 */
#ifndef SCLI_IDENTITY_SET_H
#define SCLI_IDENTITY_SET_H

#include "scli/export.h"

#include <stddef.h>
#include <stdint.h>

/**
 * A 64-bit hash of the identity (customer id, transaction id) under `seed`.
 * Not cryptographic: it spreads identities over hash tables and threads; a
 * seed chosen per run keeps its collisions from being predictable.
 */
SCLI_API uint64_t scli_identity_hash(uint64_t seed, const char *customer_id, size_t customer_len,
				     const char *transaction_id, size_t transaction_len);

/** The set; scli_identity_set_new, scli_identity_set_free. Not thread-safe: one owner. */
typedef struct scli_identity_set scli_identity_set;

/** At most this many identities in one set (its table holds 2^28 slots, at most 3/4 full). */
#define SCLI_IDENTITY_SET_MAX (UINT32_C(3) << 26)

/** A new, empty set into `*out` (the caller frees it); SCLI_ENOMEM. */
SCLI_API int scli_identity_set_new(scli_identity_set **out);

/**
 * Memory for many sets, taken in large chunks (asking for huge pages) and
 * given back all at once by scli_identity_pool_free, after the sets made in it
 * are freed. For a caller with hundreds of sets; one owner, like a set.
 */
typedef struct scli_identity_pool scli_identity_pool;
SCLI_API int scli_identity_pool_new(scli_identity_pool **out);
SCLI_API void scli_identity_pool_free(scli_identity_pool *p);
/** The bytes the pool holds (its chunks). */
SCLI_API size_t scli_identity_pool_bytes(const scli_identity_pool *p);

/**
 * A new set whose tables and texts come from `pool`. scli_identity_set_growth
 * and scli_identity_set_reserve_growth of such a set say how much the pool
 * would grow; scli_identity_set_bytes still counts the set's own share.
 */
SCLI_API int scli_identity_set_new_pooled(scli_identity_set **out, scli_identity_pool *pool);

/** Free a set (NULL-safe). */
SCLI_API void scli_identity_set_free(scli_identity_set *s);

/**
 * Add the identity whose scli_identity_hash is `hash`: `customer` is a number
 * the caller gives each customer id (its own dictionary), `transaction_id` the
 * text, `len` bytes (at most 32767). Returns 1 when the identity is new (it is
 * now in the set), 0 when it was there already; SCLI_ENOMEM when memory runs
 * out and SCLI_ERANGE past SCLI_IDENTITY_SET_MAX identities (message set; the
 * set is unchanged).
 */
SCLI_API int scli_identity_set_add(scli_identity_set *s, uint64_t hash, uint32_t customer,
				   const char *transaction_id, size_t len);

/**
 * Make room for `n` identities in all, so that adding up to that many never
 * rehashes (each rehash touches the whole table again); SCLI_ENOMEM, SCLI_ERANGE.
 * scli_identity_set_reserve_growth: the bytes that would take (0: none).
 */
SCLI_API int scli_identity_set_reserve(scli_identity_set *s, size_t n);
SCLI_API size_t scli_identity_set_reserve_growth(const scli_identity_set *s, size_t n);

/**
 * Start fetching the memory an add of `hash` will look at first: a caller with
 * many identities to add asks this a few adds ahead, so that their cache
 * misses overlap instead of following each other.
 */
SCLI_API void scli_identity_set_prefetch(const scli_identity_set *s, uint64_t hash);

/** A key's tag for a transaction id kept packed: a lowercase UUID as its 16 bytes. */
#define SCLI_IDENTITY_PACKED 0x8000u

/**
 * The key a set keeps for `transaction_id` (`text_len` bytes, at most 32767):
 * a UUID written in lowercase (8-4-4-4-12 hex digits) as its 16 bytes into
 * `buf`, any other text as it is. `*bytes` and `*len` are the key (in `buf` or
 * the text); returns its tag (SCLI_IDENTITY_PACKED, or the length). The same
 * text always gives the same key and no two texts the same one, so comparing
 * keys is comparing texts.
 */
SCLI_API uint16_t scli_identity_key(unsigned char buf[16], const char **bytes, size_t *len,
				    const char *transaction_id, size_t text_len);

/** scli_identity_set_add of a key made by scli_identity_key (hash still of the text). */
SCLI_API int scli_identity_set_add_key(scli_identity_set *s, uint64_t hash, uint32_t customer,
				       uint16_t tag, const char *bytes, size_t len);

/**
 * Start fetching the whole table, in order, into the cache: before many adds to
 * one set that is small enough to stay there (a count adds in batches, one
 * set at a time, so their misses become one sequential read).
 */
SCLI_API void scli_identity_set_warm(const scli_identity_set *s);

/** How many identities the set holds. */
SCLI_API size_t scli_identity_set_size(const scli_identity_set *s);

/** The bytes the set holds now (its table and its texts). */
SCLI_API size_t scli_identity_set_bytes(const scli_identity_set *s);

/**
 * The most the next scli_identity_set_add of a transaction id of `len` bytes
 * may allocate (0 when it fits in what the set holds): for a caller that keeps
 * the set within a budget.
 */
SCLI_API size_t scli_identity_set_growth(const scli_identity_set *s, size_t len);

#endif
