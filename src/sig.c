/* SPDX-License-Identifier: ISC */
/* ses-feedback - SNS message signatures. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "bounds.h"
#include "sig.h"

/* Bytes the longest Signature the envelope admits decodes to. */
#define SIG_MAX_BYTES (LIM_SNS_SIGNATURE_MAX / 4 * 3)

/* Verify contexts kept between requests: making one (the provider's
 * method and key-management look-ups, a new EVP_PKEY_CTX, the digest
 * fetched by name) cost more than the digest of a whole message. A slot
 * holds a reference to its key, so that its address can never come back
 * as another key's while the slot names it. Few keys are in use at once:
 * one per SNS region, a second while a certificate rotates. */
#define SIG_SLOTS 4

struct sig_slot {
	EVP_PKEY     *key;     /* referenced; NULL when free */
	int           version; /* 1 or 2 */
	EVP_PKEY_CTX *ctx;     /* EVP_PKEY_verify_init'ed with the version's digest */
	unsigned      used;    /* clock for LRU replacement */
};

static struct sig_slot slots[SIG_SLOTS];
static unsigned        slots_clock;
static EVP_MD         *mds[3];  /* [version], fetched once */
static EVP_MD_CTX     *hashing; /* reused for every digest */

static const EVP_MD *md_of(int version);
static EVP_PKEY_CTX *ctx_for(EVP_PKEY *key, int version);
static void          slot_clear(struct sig_slot *s);

/* The value of a base64 digit, or -1. */
static int
b64_digit(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* What EVP_DecodeUpdate() and EVP_DecodeFinal() accept of a string of
 * whole quanta of the alphabet, without their per-call context: padding
 * only at the end, at most two '='. (test_sig compares the two.) */
int
sig_base64_decode(const char *in, unsigned char *out, size_t outlen)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t               n = strlen(in), pad = 0, i, o = 0;
	unsigned long        q;
	int                  k, v;

	if (n == 0 || n % 4 != 0 || n / 4 * 3 > outlen)
		return -1;
	while (pad < n && s[n - 1 - pad] == '=')
		pad++;
	if (pad > 2)
		return -1;
	for (i = 0; i < n; i += 4) {
		q = 0;
		for (k = 0; k < 4; k++) {
			v = b64_digit(s[i + k]);
			if (v == -1 && i + k < n - pad)
				return -1; /* not a digit, or '=' before the end */
			q = (q << 6) | (unsigned long)(v == -1 ? 0 : v);
		}
		out[o++] = (unsigned char)(q >> 16);
		out[o++] = (unsigned char)(q >> 8);
		out[o++] = (unsigned char)q;
	}
	return (int)(o - pad);
}

int
sig_verify(EVP_PKEY *key, int version, const char *data, size_t len, const char *sig_b64, char *why,
    size_t whylen)
{
	unsigned char sig[SIG_MAX_BYTES];
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int  dlen = 0;
	const EVP_MD *alg;
	EVP_PKEY_CTX *ctx;
	int           slen, ret = -1;

	if (version != 1 && version != 2) {
		snprintf(why, whylen, "unknown signature version %d", version);
		return -1;
	}
	slen = sig_base64_decode(sig_b64, sig, sizeof(sig));
	if (slen <= 0) {
		snprintf(why, whylen, "Signature is not base64");
		return -1;
	}
	if (slen != EVP_PKEY_get_size(key)) {
		snprintf(why, whylen, "Signature length does not match the key");
		return -1;
	}
	/* What EVP_DigestVerify() does, in its two steps: the digest of the
	 * string to sign, then the key's verification of it (PKCS#1 v1.5,
	 * the default for RSA, with the digest's algorithm named). */
	alg = md_of(version);
	if (alg == NULL || hashing == NULL || (ctx = ctx_for(key, version)) == NULL) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	if (EVP_DigestInit_ex(hashing, alg, NULL) != 1 ||
	    EVP_DigestUpdate(hashing, data, len) != 1 ||
	    EVP_DigestFinal_ex(hashing, digest, &dlen) != 1 ||
	    EVP_PKEY_verify(ctx, sig, (size_t)slen, digest, dlen) != 1) {
		snprintf(why, whylen, "signature does not verify");
		goto out;
	}
	ret = 0;
out:
	ERR_clear_error();
	return ret;
}

void
sig_cache_clear(void)
{
	int i;

	for (i = 0; i < SIG_SLOTS; i++)
		slot_clear(&slots[i]);
	for (i = 0; i < 3; i++) {
		EVP_MD_free(mds[i]);
		mds[i] = NULL;
	}
	EVP_MD_CTX_free(hashing);
	hashing = NULL;
}

/* The version's digest, fetched on first use (and the digest context
 * with it); NULL when OpenSSL cannot. */
static const EVP_MD *
md_of(int version)
{
	if (hashing == NULL)
		hashing = EVP_MD_CTX_new();
	if (mds[version] == NULL)
		mds[version] = EVP_MD_fetch(NULL, version == 1 ? "SHA1" : "SHA256", NULL);
	return mds[version];
}

/* key's verify context for version, made on first use; NULL when it
 * cannot be made. */
static EVP_PKEY_CTX *
ctx_for(EVP_PKEY *key, int version)
{
	struct sig_slot *s, *victim = NULL;
	EVP_PKEY_CTX    *ctx;
	int              i;

	for (i = 0; i < SIG_SLOTS; i++) {
		s = &slots[i];
		if (s->key == key && s->version == version) {
			s->used = ++slots_clock;
			return s->ctx;
		}
		if (victim == NULL || s->key == NULL ||
		    (victim->key != NULL && s->used < victim->used))
			victim = s;
	}
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
	if (ctx == NULL || EVP_PKEY_verify_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(ctx, mds[version]) != 1 || EVP_PKEY_up_ref(key) != 1) {
		EVP_PKEY_CTX_free(ctx);
		return NULL;
	}
	slot_clear(victim);
	victim->key = key;
	victim->version = version;
	victim->ctx = ctx;
	victim->used = ++slots_clock;
	return ctx;
}

static void
slot_clear(struct sig_slot *s)
{
	EVP_PKEY_CTX_free(s->ctx);
	EVP_PKEY_free(s->key);
	memset(s, 0, sizeof(*s));
}
