/* Keyed identity keys and batch digests (see repo_keys.h). */
#include <sodium.h>
#include <string.h>

#include "adapters/repo_keys.h"
#include "scli/error.h"

static unsigned weaken_bits;

/* libsodium must be initialised once before randombytes; it is idempotent and
 * thread-safe after the first call. The hash functions need no init. */
static int sodium_ready(void)
{
	if (sodium_init() < 0)
		return scli_error_set(SCLI_ERROR, "cannot initialise libsodium");
	return 0;
}

int repo_secret_generate(char hex_out[REPO_SECRET_HEX_LEN + 1])
{
	unsigned char key[REPO_SECRET_BYTES];
	int error;

	if ((error = sodium_ready()) < 0)
		return error;
	randombytes_buf(key, sizeof(key));
	sodium_bin2hex(hex_out, REPO_SECRET_HEX_LEN + 1, key, sizeof(key));
	sodium_memzero(key, sizeof(key));
	return 0;
}

int repo_secret_parse(repo_secret *out, const char *hex)
{
	size_t len = 0;

	if (!hex || strlen(hex) != REPO_SECRET_HEX_LEN ||
	    sodium_hex2bin(out->bytes, sizeof(out->bytes), hex, REPO_SECRET_HEX_LEN, NULL, &len,
			   NULL) != 0 ||
	    len != sizeof(out->bytes))
		return scli_error_set(SCLI_ESCHEMA,
				      "the database's identity secret is damaged (scli_meta '%s'); "
				      "restore the database from a backup",
				      REPO_SECRET_META_KEY);
	return 0;
}

static unsigned char *put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
	return p + 4;
}

void repo_id_key(unsigned char out[REPO_ID_KEY_BYTES], const repo_secret *secret,
		 const scli_event *ev, uint32_t variant)
{
	unsigned char buf[3 * 4 + SCLI_CUSTOMER_ID_MAX + SCLI_TRANSACTION_ID_MAX], *p = buf;
	unsigned i;

	p = put_u32(p, ev->customer_id_len);
	memcpy(p, ev->customer_id, ev->customer_id_len);
	p += ev->customer_id_len;
	p = put_u32(p, ev->transaction_id_len);
	memcpy(p, ev->transaction_id, ev->transaction_id_len);
	p += ev->transaction_id_len;
	p = put_u32(p, variant);
	crypto_shorthash_siphashx24(out, buf, (unsigned long long)(p - buf), secret->bytes);
	if (weaken_bits && (uint64_t)weaken_bits + variant < 128) {
		/* Keep the low bits (the last bytes), zero the rest. Each variant keeps
		 * one bit more: a fixed width would leave a customer only 2^bits slots
		 * in all, and the variant search nowhere to go once they are taken;
		 * doubling the room per variant keeps collisions frequent at every
		 * variant while any number of identities still finds a slot. */
		unsigned keep = weaken_bits + variant;

		for (i = 0; i < REPO_ID_KEY_BYTES; i++) {
			unsigned low_from = 128 - 8 * (i + 1); /* lowest bit index of byte i */

			if (low_from >= keep)
				out[i] = 0;
			else if (low_from + 8 > keep)
				out[i] &= (unsigned char)((1u << (keep - low_from)) - 1);
		}
	}
}

int repo_batch_digest(unsigned char out[REPO_BATCH_DIGEST_BYTES], const repo_secret *secret,
		      const scli_event *events, size_t n)
{
	crypto_generichash_state st;
	unsigned char head[8], *p;
	size_t i;

	if (crypto_generichash_init(&st, secret->bytes, sizeof(secret->bytes),
				    REPO_BATCH_DIGEST_BYTES) != 0)
		return scli_error_set(SCLI_ERROR, "cannot start a batch digest");
	put_u32(put_u32(head, (uint32_t)((uint64_t)n >> 32)), (uint32_t)n);
	crypto_generichash_update(&st, head, sizeof(head));
	for (i = 0; i < n; i++) {
		const scli_event *ev = &events[i];
		unsigned char buf[4 * 4 + 8 + SCLI_CUSTOMER_ID_MAX + SCLI_TRANSACTION_ID_MAX +
				  SCLI_EVENT_TYPE_MAX];
		uint64_t ts = (uint64_t)ev->ts_us;

		p = put_u32(buf, ev->customer_id_len);
		memcpy(p, ev->customer_id, ev->customer_id_len);
		p = put_u32(p + ev->customer_id_len, ev->transaction_id_len);
		memcpy(p, ev->transaction_id, ev->transaction_id_len);
		p = put_u32(p + ev->transaction_id_len, ev->event_type_len);
		memcpy(p, ev->event_type, ev->event_type_len);
		p = put_u32(put_u32(p + ev->event_type_len, (uint32_t)(ts >> 32)), (uint32_t)ts);
		crypto_generichash_update(&st, buf, (unsigned long long)(p - buf));
	}
	if (crypto_generichash_final(&st, out, REPO_BATCH_DIGEST_BYTES) != 0)
		return scli_error_set(SCLI_ERROR, "cannot finish a batch digest");
	return 0;
}

void repo_keys_test_weaken(unsigned bits)
{
	weaken_bits = bits;
}

int repo_id_key_cmp(const unsigned char *a, const unsigned char *b)
{
	return memcmp(a, b, REPO_ID_KEY_BYTES);
}
