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
