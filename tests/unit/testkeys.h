/* SPDX-License-Identifier: ISC */
/* ses-feedback - test keys and certificates.
 * Keys come from tests/fixtures/keys (throwaway, test only, never trusted);
 * every certificate is made at test time, self-signed with OpenSSL 3. */
#ifndef SF_TESTKEYS_H
#define SF_TESTKEYS_H

#include <stddef.h>

#include <openssl/evp.h>

/* The next unused fixture RSA key of bits bits (1024, 2048: two of them,
 * 4096), or NULL. The caller frees it. */
EVP_PKEY *testkeys_rsa(unsigned int bits);
/* The fixture EC key on P-256, or NULL. The caller frees it. */
EVP_PKEY *testkeys_ec(void);

/* What goes into a self-signed test certificate. */
struct testcert {
	const char *cn;         /* subject CN, or NULL for none */
	const char *san_dns;    /* one subjectAltName DNS name, or NULL */
	long        not_before; /* seconds from now (negative: in the past) */
	long        not_after;  /* seconds from now */
};

/* A self-signed certificate for key, as NUL-terminated PEM text (one
 * block). The caller frees it; NULL on failure. */
char *testkeys_cert_pem(EVP_PKEY *key, const struct testcert *tc);
/* key's private key as PKCS#8 PEM text. The caller frees it. */
char *testkeys_key_pem(EVP_PKEY *key);

#endif
