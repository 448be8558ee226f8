/*
 * Compact storage keys shared by the SQLite and PostgreSQL repositories
 * (schema version 4): a 128-bit keyed hash of an event's identity that stands
 * in for the texts in the identity index, and a keyed digest of a whole batch
 * that the per-batch ledger records. The secret is 16 random bytes made by
 * init-db and kept in the database (scli_meta 'identity_secret', hex), so nobody
 * who chooses transaction ids can aim two identities at one key; a key match
 * whose texts differ is still never merged (the adapters compare the texts and
 * move the newcomer to the next variant).
 */
#ifndef SCLI_ADAPTERS_REPO_KEYS_H
#define SCLI_ADAPTERS_REPO_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "scli/event.h"

#define REPO_SECRET_BYTES 16
#define REPO_SECRET_HEX_LEN (2 * REPO_SECRET_BYTES)
#define REPO_ID_KEY_BYTES 16
#define REPO_BATCH_DIGEST_BYTES 32
/* The scli_meta key under which the secret is kept. */
#define REPO_SECRET_META_KEY "identity_secret"

typedef struct repo_secret {
	unsigned char bytes[REPO_SECRET_BYTES];
} repo_secret;

/* A fresh random secret, as REPO_SECRET_HEX_LEN lower-case hex digits and a NUL. */
int repo_secret_generate(char hex_out[REPO_SECRET_HEX_LEN + 1]);

/* Parse a stored secret; SCLI_ESCHEMA when it is not REPO_SECRET_HEX_LEN hex digits. */
int repo_secret_parse(repo_secret *out, const char *hex);

/*
 * The identity key of (customer_id, transaction_id): SipHash-2-4 with a 128-bit
 * output (libsodium's crypto_shorthash_siphashx24) over the length-prefixed
 * texts and `variant` (0 for every event unless its key was already taken by
 * another identity: then 1, 2, …).
 */
void repo_id_key(unsigned char out[REPO_ID_KEY_BYTES], const repo_secret *secret,
		 const scli_event *ev, uint32_t variant);

/*
 * The digest of one batch as the loader hands it over (its events in file
 * order, every field length-prefixed, the timestamp as 8 bytes): keyed
 * BLAKE2b-256 (crypto_generichash). Two batches with one digest hold the same
 * events in the same order, so a batch whose digest the ledger already holds is
 * all duplicates and need not be probed row by row.
 */
int repo_batch_digest(unsigned char out[REPO_BATCH_DIGEST_BYTES], const repo_secret *secret,
		      const scli_event *events, size_t n);

/*
 * For tests only: keep just the low `bits` bits of every identity key of
 * variant 0, one bit more per variant (0, the default, keeps all 128), so that
 * distinct identities collide often and the adapters' collision path is
 * exercised. Process-wide; not thread-safe.
 */
void repo_keys_test_weaken(unsigned bits);

/* Compare two identity keys as the indexes order them (memcmp). */
int repo_id_key_cmp(const unsigned char *a, const unsigned char *b);

#endif
