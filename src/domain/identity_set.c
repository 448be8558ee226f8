/*
 * An exact set of identities (identity_set.h). Open addressing with linear
 * probing over 8-byte slots, at most three quarters full; the texts live in
 * blocks, appended to and never moved. A slot holds the low 28 bits of
 * the identity's hash and a reference to its record (block and offset, 36
 * bits), so the table grows (rehashes) without reading a single record, and a
 * probe reads a record only when those 28 bits match. Blocks double from 1
 * KiB to 8 MiB (a set can start small: a count keeps hundreds of them), and large blocks and tables
 * ask for huge pages (scli_malloc_large): the table is read at random, and a TLB miss on this kind
 * of machine can cost as much as the cache miss. A record is the
 * customer's number, the length and the bytes of the transaction id: 6 bytes
 * more than the id itself. A transaction id that is a UUID as most systems
 * write it (36 characters, lowercase hex, dashes at 8-13-18-23) is kept as its
 * 16 bytes, flagged: the same text always packs the same way and no other text
 * packs at all, so comparing packed records is comparing the texts. That
 * halves the memory of the common case (42 bytes a record become 22).
 */
#include "scli/identity_set.h"

#include <assert.h>
#include <stdbool.h>
#include <string.h>

#include "scli/alloc.h"
#include "scli/error.h"

#define HASH_BITS 28
#define REF_BITS 36
#define BLOCK_BITS 24 /* a reference: block number << BLOCK_BITS | offset in it */
#define FIRST_BLOCK (UINT64_C(1) << 10)
#define LAST_BLOCK (UINT64_C(8) << 20) /* blocks double up to this */
#define MAX_BLOCKS (UINT64_C(1) << (REF_BITS - BLOCK_BITS))
#define RECORD_HEAD 6 /* uint32_t customer, uint16_t length */
#define FIRST_SLOTS 64
#define MAX_SLOTS (UINT64_C(1) << HASH_BITS)
#define MAX_LEN 32767
#define PACKED_UUID SCLI_IDENTITY_PACKED /* in a record's length: 16 bytes of a UUID follow */
#define UUID_LEN 36

/*
 * A pool: memory for the tables and blocks of many sets, carved out of chunks
 * that double from 64 KiB to 32 MiB (those from 4 MiB on aligned to huge
 * pages), and given back only when the pool is freed
 * (a table a set outgrows is kept for the next one of its size). A count keeps
 * hundreds of small sets; with pages of their own each would fault in its 4
 * KiB pages one by one, which on a virtual machine costs more than using them.
 */
#define POOL_FIRST_CHUNK (UINT64_C(64) << 10)
#define POOL_CHUNK (UINT64_C(32) << 20)
#define POOL_ALIGN (UINT64_C(2) << 20)
#define POOL_BLOCK_MAX (UINT64_C(64) << 10) /* a pooled set's blocks double up to this */
#define POOL_SIZES 40			    /* free tables by log2 of their bytes */

struct scli_identity_pool {
	char **chunks; /* as allocated (a chunk's memory starts at the next POOL_ALIGN) */
	size_t nchunks, chunks_cap;
	char *at;		/* the free part of the last chunk */
	size_t left;		/* its bytes */
	size_t bytes;		/* allocated for chunks */
	size_t next;		/* the size of the next chunk */
	void *free[POOL_SIZES]; /* tables given back, by size; the first word links them */
};

struct scli_identity_set {
	scli_identity_pool *pool; /* NULL: tables and blocks of its own */
	uint64_t *slots;	  /* 0: empty; else hash bits << REF_BITS | (ref + 1) */
	size_t nslots;		  /* a power of two; count <= nslots * 3 / 4 */
	size_t count;
	char **blocks;
	size_t nblocks, blocks_cap;
	size_t block_used, block_size; /* of the last block */
	size_t block_bytes;	       /* of all blocks */
};

/* ---- the hash --------------------------------------------------------------- */

#define P1 UINT64_C(0x9E3779B185EBCA87)
#define P2 UINT64_C(0xC2B2AE3D27D4EB4F)
#define P3 UINT64_C(0x165667B19E3779F9)

static uint64_t rotl(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

/* xxHash64's round over 8 bytes at a time: one multiply chain per word. */
static uint64_t mix_bytes(uint64_t h, const char *p, size_t n)
{
	uint64_t k;

	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&k, p, 8);
		h ^= rotl(k * P2, 31) * P1;
		h = rotl(h, 27) * P1 + P3;
	}
	k = 0;
	memcpy(&k, p, n);
	h ^= rotl((k + n) * P2, 31) * P1; /* the length keeps "ab"+"c" apart from "a"+"bc" */
	return rotl(h, 27) * P1 + P3;
}

uint64_t scli_identity_hash(uint64_t seed, const char *customer_id, size_t customer_len,
			    const char *transaction_id, size_t transaction_len)
{
	uint64_t h = seed ^ P3;

	h = mix_bytes(h, customer_id, customer_len);
	h = mix_bytes(h, transaction_id, transaction_len);
	/* xxHash64's avalanche: every bit of the result depends on every input bit */
	h ^= h >> 33;
	h *= P2;
	h ^= h >> 29;
	h *= P3;
	return h ^ (h >> 32);
}

/* ---- the set ------------------------------------------------------------------ */

/* ---- the pool ---------------------------------------------------------------- */

int scli_identity_pool_new(scli_identity_pool **out)
{
	*out = scli_calloc(1, sizeof(**out));
	return *out ? 0 : scli_error_set(SCLI_ENOMEM, "out of memory");
}

void scli_identity_pool_free(scli_identity_pool *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->nchunks; i++)
		scli_free(p->chunks[i]);
	scli_free(p->chunks);
	scli_free(p);
}

size_t scli_identity_pool_bytes(const scli_identity_pool *p)
{
	return p->bytes;
}

static unsigned log2_of(size_t n)
{
	unsigned k = 0;

	while (((size_t)1 << k) < n)
		k++;
	return k;
}

/* The bytes of the next chunk, for `n` bytes at least, after one of `next` bytes was due. */
static size_t chunk_for(size_t next, size_t n)
{
	size_t size = next ? next : POOL_FIRST_CHUNK;

	if (size < n)
		size = n;
	return size >= 2 * POOL_ALIGN ? size + POOL_ALIGN : size;
}

/* The size due after a chunk of `size` bytes. */
static size_t chunk_after(size_t next)
{
	size_t size = next ? next : POOL_FIRST_CHUNK;

	return size < POOL_CHUNK ? 2 * size : POOL_CHUNK;
}

/* The bytes of what a chunk of `bytes` bytes gives (the rest aligns it). */
static size_t chunk_room(size_t bytes)
{
	return bytes >= 2 * POOL_ALIGN ? bytes - POOL_ALIGN : bytes;
}

/* The chunk bytes taking `a` then `b` bytes (0: none) would allocate. */
static size_t pool_growth(const scli_identity_pool *p, size_t a, size_t b)
{
	size_t left = p->left, next = p->next, more = 0, size;

	a = (a + 15) & ~(size_t)15;
	b = (b + 15) & ~(size_t)15;
	if (a > left) {
		size = chunk_for(next, a);
		more += size;
		left = chunk_room(size);
		next = chunk_after(next);
	}
	left -= a;
	if (b > left)
		more += chunk_for(next, b);
	return more;
}

/* `n` bytes, zero if never used before (chunks come zeroed); NULL when out of memory. */
static void *pool_take(scli_identity_pool *p, size_t n)
{
	void *mem;

	n = (n + 15) & ~(size_t)15;
	if (n > p->left) {
		size_t size = chunk_for(p->next, n);
		char *chunk;

		if (p->nchunks == p->chunks_cap) {
			size_t cap = p->chunks_cap + 16;
			char **chunks = scli_realloc(p->chunks, cap * sizeof(*chunks));

			if (!chunks)
				return NULL;
			p->chunks = chunks;
			p->chunks_cap = cap;
		}
		if (!(chunk = scli_calloc_large(1, size)))
			return NULL;
		p->chunks[p->nchunks++] = chunk;
		p->bytes += size;
		p->next = chunk_after(p->next);
		p->at = chunk;
		if (size >= 2 * POOL_ALIGN)
			p->at = (char *)(((uintptr_t)chunk + POOL_ALIGN - 1) &
					 ~(uintptr_t)(POOL_ALIGN - 1));
		p->left = size - (size_t)(p->at - chunk);
	}
	mem = p->at;
	p->at += n;
	p->left -= n;
	return mem;
}

/* A zeroed table of `nslots` slots. */
static uint64_t *table_take(scli_identity_set *s, size_t nslots)
{
	size_t bytes = nslots * sizeof(uint64_t);
	unsigned k = log2_of(bytes);
	void *t;

	if (!s->pool)
		return scli_calloc_large(nslots, sizeof(uint64_t));
	if (k < POOL_SIZES && (t = s->pool->free[k])) {
		memcpy(&s->pool->free[k], t, sizeof(void *));
		memset(t, 0, bytes);
		return t;
	}
	return pool_take(s->pool, bytes);
}

static void table_give(scli_identity_set *s, uint64_t *t, size_t nslots)
{
	unsigned k = log2_of(nslots * sizeof(uint64_t));

	if (!s->pool) {
		scli_free(t);
	} else if (t && k < POOL_SIZES) {
		memcpy(t, &s->pool->free[k], sizeof(void *));
		s->pool->free[k] = t;
	}
}

/* The pool's growth for a table of `nslots` slots (0 when a free one has that size). */
static size_t table_growth(const scli_identity_set *s, size_t nslots)
{
	size_t bytes = nslots * sizeof(uint64_t);
	unsigned k = log2_of(bytes);

	return k < POOL_SIZES && s->pool->free[k] ? 0 : bytes;
}

/* ---- the set ------------------------------------------------------------------ */

static int set_new(scli_identity_set **out, scli_identity_pool *pool)
{
	scli_identity_set *s;

	*out = NULL;
	if (!(s = scli_calloc(1, sizeof(*s))))
		return scli_error_set(SCLI_ENOMEM, "out of memory");
	s->pool = pool;
	if (!(s->slots = table_take(s, FIRST_SLOTS))) {
		scli_free(s);
		return scli_error_set(SCLI_ENOMEM, "out of memory");
	}
	s->nslots = FIRST_SLOTS;
	*out = s;
	return 0;
}

int scli_identity_set_new(scli_identity_set **out)
{
	return set_new(out, NULL);
}

int scli_identity_set_new_pooled(scli_identity_set **out, scli_identity_pool *pool)
{
	assert(pool);
	return set_new(out, pool);
}

void scli_identity_set_free(scli_identity_set *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; !s->pool && i < s->nblocks; i++)
		scli_free(s->blocks[i]);
	scli_free(s->blocks);
	if (!s->pool)
		scli_free(s->slots);
	scli_free(s);
}

size_t scli_identity_set_size(const scli_identity_set *s)
{
	return s->count;
}

size_t scli_identity_set_bytes(const scli_identity_set *s)
{
	return sizeof(*s) + s->nslots * sizeof(*s->slots) + s->block_bytes +
	       s->blocks_cap * sizeof(*s->blocks);
}

static bool table_full(const scli_identity_set *s)
{
	return s->count + 1 > s->nslots / 4 * 3;
}

static bool block_full(const scli_identity_set *s, size_t len)
{
	return s->nblocks == 0 || s->block_used + RECORD_HEAD + len > s->block_size;
}

/* The next block: twice the last, up to LAST_BLOCK, and room for a record of `len` bytes. */
static size_t next_block_size(const scli_identity_set *s, size_t len)
{
	size_t size = FIRST_BLOCK;

	if (s->nblocks)
		size = s->block_size < (s->pool ? POOL_BLOCK_MAX : LAST_BLOCK) ? 2 * s->block_size
									       : s->block_size;
	while (size < RECORD_HEAD + len)
		size *= 2;
	return size;
}

size_t scli_identity_set_growth(const scli_identity_set *s, size_t len)
{
	size_t more = 0;

	if (s->pool)
		return pool_growth(s->pool, table_full(s) ? table_growth(s, 2 * s->nslots) : 0,
				   block_full(s, len) ? next_block_size(s, len) : 0);
	if (table_full(s))
		more += 2 * s->nslots * sizeof(*s->slots);
	if (block_full(s, len))
		more += next_block_size(s, len) +
			(s->nblocks == s->blocks_cap ? s->blocks_cap + 16 : 0) * sizeof(*s->blocks);
	return more;
}

static const char *record_at(const scli_identity_set *s, uint64_t slot)
{
	uint64_t ref = (slot & ((UINT64_C(1) << REF_BITS) - 1)) - 1;

	return s->blocks[ref >> BLOCK_BITS] + (ref & ((UINT64_C(1) << BLOCK_BITS) - 1));
}

/* Lowercase hex digits, their value + 1 (0: not one). */
static const unsigned char hex_value[256] = {
    ['0'] = 1, ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,  ['6'] = 7,  ['7'] = 8,
    ['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
};

/* Where each byte's two digits start in 8-4-4-4-12. */
static const unsigned char uuid_digits[16] = {0,  2,  4,  6,  9,  11, 14, 16,
					      19, 21, 24, 26, 28, 30, 32, 34};

/* The 16 bytes of `text` when it is a lowercase UUID (8-4-4-4-12 hex digits): 1, else 0. */
static int pack_uuid(unsigned char out[16], const char *text, size_t len)
{
	const unsigned char *t = (const unsigned char *)text;
	unsigned bad = 0;
	size_t i;

	if (len != UUID_LEN || t[8] != '-' || t[13] != '-' || t[18] != '-' || t[23] != '-')
		return 0;
	for (i = 0; i < 16; i++) {
		unsigned hi = hex_value[t[uuid_digits[i]]], lo = hex_value[t[uuid_digits[i] + 1]];

		bad |= (hi == 0) | (lo == 0);
		out[i] = (unsigned char)((hi - 1) << 4 | ((lo - 1) & 15));
	}
	return !bad;
}

uint16_t scli_identity_key(unsigned char buf[16], const char **bytes, size_t *len,
			   const char *transaction_id, size_t text_len)
{
	if (pack_uuid(buf, transaction_id, text_len)) {
		*bytes = (const char *)buf;
		*len = 16;
		return PACKED_UUID;
	}
	*bytes = transaction_id;
	*len = text_len;
	return (uint16_t)text_len;
}

/* A transaction id as a record keeps it: `tag` (the length, or PACKED_UUID) and the bytes. */
typedef struct key {
	uint16_t tag;
	const char *bytes;
	size_t len;
} key;

static bool record_is(const char *rec, uint32_t customer, const key *k)
{
	uint32_t c;
	uint16_t tag;

	memcpy(&c, rec, sizeof(c));
	memcpy(&tag, rec + sizeof(c), sizeof(tag));
	return c == customer && tag == k->tag && memcmp(rec + RECORD_HEAD, k->bytes, k->len) == 0;
}

/* The slots a table needs for `n` entries. */
static size_t slots_for(size_t n)
{
	size_t nslots = FIRST_SLOTS;

	while (nslots < MAX_SLOTS && n > nslots / 4 * 3)
		nslots *= 2;
	return nslots;
}

/* `nslots` slots, every entry placed again from the hash bits its slot keeps. */
static int rehash(scli_identity_set *s, size_t nslots)
{
	size_t mask = nslots - 1, i, j;
	uint64_t *slots;

	if (nslots > MAX_SLOTS)
		return scli_error_set(SCLI_ERANGE, "more than %lu identities in one set",
				      (unsigned long)SCLI_IDENTITY_SET_MAX);
	if (!(slots = table_take(s, nslots)))
		return scli_error_set(SCLI_ENOMEM, "out of memory");
	for (i = 0; i < s->nslots; i++) {
		if (!s->slots[i])
			continue;
		for (j = (size_t)(s->slots[i] >> REF_BITS) & mask; slots[j]; j = (j + 1) & mask)
			;
		slots[j] = s->slots[i];
	}
	table_give(s, s->slots, s->nslots);
	s->slots = slots;
	s->nslots = nslots;
	return 0;
}

static int grow_table(scli_identity_set *s)
{
	return rehash(s, s->nslots * 2);
}

size_t scli_identity_set_reserve_growth(const scli_identity_set *s, size_t n)
{
	size_t nslots = slots_for(n);

	if (nslots <= s->nslots)
		return 0;
	return s->pool ? pool_growth(s->pool, table_growth(s, nslots), 0)
		       : nslots * sizeof(*s->slots);
}

int scli_identity_set_reserve(scli_identity_set *s, size_t n)
{
	size_t nslots = slots_for(n);

	return nslots > s->nslots ? rehash(s, nslots) : 0;
}

static int new_block(scli_identity_set *s, size_t len)
{
	size_t size = next_block_size(s, len);
	char *block;

	if (s->nblocks == MAX_BLOCKS)
		return scli_error_set(SCLI_ERANGE, "more than %llu MiB of identities in one set",
				      (unsigned long long)(MAX_BLOCKS * LAST_BLOCK >> 20));
	if (s->nblocks == s->blocks_cap) {
		size_t cap = s->blocks_cap + 16;
		char **blocks = scli_realloc(s->blocks, cap * sizeof(*blocks));

		if (!blocks)
			return scli_error_set(SCLI_ENOMEM, "out of memory");
		s->blocks = blocks;
		s->blocks_cap = cap;
	}
	if (!(block = s->pool ? pool_take(s->pool, size) : scli_malloc_large(size)))
		return scli_error_set(SCLI_ENOMEM, "out of memory");
	s->blocks[s->nblocks++] = block;
	s->block_used = 0;
	s->block_size = size;
	s->block_bytes += size;
	return 0;
}

void scli_identity_set_prefetch(const scli_identity_set *s, uint64_t hash)
{
	__builtin_prefetch(&s->slots[hash & (s->nslots - 1)], 1);
}

void scli_identity_set_warm(const scli_identity_set *s)
{
	size_t i;

	for (i = 0; i < s->nslots; i += 64 / sizeof(*s->slots))
		__builtin_prefetch(&s->slots[i], 1);
}

int scli_identity_set_add_key(scli_identity_set *s, uint64_t hash, uint32_t customer, uint16_t tag,
			      const char *bytes, size_t len)
{
	uint64_t bits = hash & (MAX_SLOTS - 1), ref;
	size_t mask, i;
	char *rec;
	key k = {tag, bytes, len};
	int error;

	if (len > MAX_LEN || (tag != PACKED_UUID && tag != len) ||
	    (tag == PACKED_UUID && len != 16))
		return scli_error_set(SCLI_EINVALID, "a transaction id key of %zu bytes", len);
	if (table_full(s) && (error = grow_table(s)) < 0)
		return error;
	mask = s->nslots - 1;
	for (i = (size_t)bits & mask; s->slots[i]; i = (i + 1) & mask)
		if ((s->slots[i] >> REF_BITS) == bits &&
		    record_is(record_at(s, s->slots[i]), customer, &k))
			return 0;
	if (block_full(s, k.len) && (error = new_block(s, k.len)) < 0)
		return error;
	rec = s->blocks[s->nblocks - 1] + s->block_used;
	memcpy(rec, &customer, sizeof(customer));
	memcpy(rec + sizeof(customer), &k.tag, sizeof(k.tag));
	memcpy(rec + RECORD_HEAD, k.bytes, k.len);
	ref = ((uint64_t)(s->nblocks - 1) << BLOCK_BITS) | s->block_used;
	s->block_used += RECORD_HEAD + k.len;
	s->slots[i] = bits << REF_BITS | (ref + 1);
	s->count++;
	return 1;
}

int scli_identity_set_add(scli_identity_set *s, uint64_t hash, uint32_t customer,
			  const char *transaction_id, size_t len)
{
	unsigned char buf[16];
	const char *bytes;
	size_t n;
	uint16_t tag;

	if (len > MAX_LEN)
		return scli_error_set(SCLI_EINVALID, "a transaction id of %zu bytes", len);
	tag = scli_identity_key(buf, &bytes, &n, transaction_id, len);
	return scli_identity_set_add_key(s, hash, customer, tag, bytes, n);
}
