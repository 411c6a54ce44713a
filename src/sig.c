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

int
sig_base64_decode(const char *in, unsigned char *out, size_t outlen)
{
	EVP_ENCODE_CTX *ctx = NULL;
	size_t          n = strlen(in);
	int             l1 = 0, l2 = 0, ret = -1;

	if (n == 0 || n % 4 != 0 || n / 4 * 3 > outlen ||
	    strspn(in, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") != n)
		return -1;
	ctx = EVP_ENCODE_CTX_new();
	if (ctx == NULL)
		return -1;
	EVP_DecodeInit(ctx);
	if (EVP_DecodeUpdate(ctx, out, &l1, (const unsigned char *)in, (int)n) < 0)
		goto out;
	if (EVP_DecodeFinal(ctx, out + l1, &l2) != 1)
		goto out;
	ret = l1 + l2;
out:
	EVP_ENCODE_CTX_free(ctx);
	return ret;
}

int
sig_verify(EVP_PKEY *key, int version, const char *data, size_t len, const char *sig_b64, char *why,
    size_t whylen)
{
	unsigned char sig[SIG_MAX_BYTES];
	EVP_MD_CTX   *md = NULL;
	const EVP_MD *alg;
	int           slen, ret = -1;

	if (version == 1)
		alg = EVP_sha1();
	else if (version == 2)
		alg = EVP_sha256();
	else {
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
	md = EVP_MD_CTX_new();
	if (md == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	if (EVP_DigestVerifyInit(md, NULL, alg, NULL, key) != 1 ||
	    EVP_DigestVerify(md, (const unsigned char *)sig, (size_t)slen,
	        (const unsigned char *)data, len) != 1) {
		snprintf(why, whylen, "signature does not verify");
		goto out;
	}
	ret = 0;
out:
	ERR_clear_error();
	EVP_MD_CTX_free(md);
	return ret;
}
