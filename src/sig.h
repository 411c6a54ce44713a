/* SPDX-License-Identifier: ISC */
/* ses-feedback - SNS message signatures.
 * SignatureVersion 1 is SHA1withRSA, 2 is SHA256withRSA, both PKCS#1 v1.5
 * over the string to sign. */
#ifndef SF_SIG_H
#define SF_SIG_H

#include <stddef.h>

#include <openssl/evp.h>

/* 0 when sig_b64 is key's signature of data under version, else -1 with
 * why (which never quotes the signature). A verify context for key is
 * kept for the next call, holding a reference to key (so key may be
 * freed by its owner at any time); sig_cache_clear() lets them go. */
int  sig_verify(EVP_PKEY *key, int version, const char *data, size_t len, const char *sig_b64,
     char *why, size_t whylen);
void sig_cache_clear(void);

/* Decode standard base64 (white space not allowed). Returns the length,
 * or -1 when malformed or larger than outlen. */
int sig_base64_decode(const char *in, unsigned char *out, size_t outlen);

#endif
