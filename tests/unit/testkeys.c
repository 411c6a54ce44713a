/* SPDX-License-Identifier: ISC */
/* ses-feedback - test keys and certificates.
 * Keys are read from the checked-in throwaway fixtures (test only, never
 * trusted), so no test waits for RSA key generation; certificates are made
 * here, self-signed with a chosen name, key and validity window, so that
 * the certificate checks can be driven to every outcome. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "testkeys.h"

#ifndef TEST_KEYS_DIR
#error "TEST_KEYS_DIR (the fixture key directory) must be defined by the build"
#endif

static char     *bio_to_string(BIO *bio);
static EVP_PKEY *load_key(const char *kind, unsigned int *next);

EVP_PKEY *
testkeys_rsa(unsigned int bits)
{
	/* Each call hands out the next fixture of that size, so two calls give
	 * two distinct keys, as generation did. */
	static unsigned int next[3];
	char                kind[16];
	unsigned int       *n;

	switch (bits) {
	case 1024:
		n = &next[0];
		break;
	case 2048:
		n = &next[1];
		break;
	case 4096:
		n = &next[2];
		break;
	default:
		fprintf(stderr, "testkeys: no fixture RSA key of %u bits\n", bits);
		return NULL;
	}
	snprintf(kind, sizeof(kind), "rsa%u", bits);
	return load_key(kind, n);
}

EVP_PKEY *
testkeys_ec(void)
{
	static unsigned int next;

	return load_key("ec-p256", &next);
}

char *
testkeys_cert_pem(EVP_PKEY *key, const struct testcert *tc)
{
	static long     serial = 1;
	X509           *x = NULL;
	X509_NAME      *name;
	X509_EXTENSION *ext = NULL;
	X509V3_CTX      ctx;
	BIO            *bio = NULL;
	char            san[300];
	char           *pem = NULL;

	x = X509_new();
	if (x == NULL)
		goto out;
	if (X509_set_version(x, 2) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), tc->not_before) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), tc->not_after) == NULL ||
	    X509_set_pubkey(x, key) != 1)
		goto out;
	name = X509_get_subject_name(x);
	if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	        (const unsigned char *)"ses-feedback tests", -1, -1, 0) != 1)
		goto out;
	if (tc->cn != NULL &&
	    X509_NAME_add_entry_by_txt(
	        name, "CN", MBSTRING_ASC, (const unsigned char *)tc->cn, -1, -1, 0) != 1)
		goto out;
	if (X509_set_issuer_name(x, name) != 1)
		goto out;
	if (tc->san_dns != NULL) {
		if (snprintf(san, sizeof(san), "DNS:%s", tc->san_dns) >= (int)sizeof(san))
			goto out;
		X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
		ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
		if (ext == NULL || X509_add_ext(x, ext, -1) != 1)
			goto out;
	}
	if (X509_sign(x, key, EVP_sha256()) == 0)
		goto out;
	bio = BIO_new(BIO_s_mem());
	if (bio == NULL || PEM_write_bio_X509(bio, x) != 1)
		goto out;
	pem = bio_to_string(bio);
out:
	BIO_free(bio);
	X509_EXTENSION_free(ext);
	X509_free(x);
	return pem;
}

char *
testkeys_key_pem(EVP_PKEY *key)
{
	BIO  *bio = NULL;
	char *pem = NULL;

	bio = BIO_new(BIO_s_mem());
	if (bio == NULL || PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1)
		goto out;
	pem = bio_to_string(bio);
out:
	BIO_free(bio);
	return pem;
}

/* The fixture TEST_KEYS_DIR/test-only-<kind>-<*next + 1>.pem, read only;
 * advances *next. NULL (with a message) when it is missing or unreadable. */
static EVP_PKEY *
load_key(const char *kind, unsigned int *next)
{
	char      path[4096];
	FILE     *f = NULL;
	EVP_PKEY *key = NULL;

	if (snprintf(path, sizeof(path), "%s/test-only-%s-%u.pem", TEST_KEYS_DIR, kind,
	        *next + 1) >= (int)sizeof(path))
		goto out;
	f = fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "testkeys: %s: cannot open\n", path);
		goto out;
	}
	key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	if (key == NULL)
		fprintf(stderr, "testkeys: %s: not a PEM private key\n", path);
	else
		(*next)++;
out:
	if (f != NULL)
		fclose(f);
	return key;
}

/* A NUL-terminated copy of what was written to a memory BIO. */
static char *
bio_to_string(BIO *bio)
{
	char *data, *s;
	long  n;

	n = BIO_get_mem_data(bio, &data);
	if (n <= 0)
		return NULL;
	s = malloc((size_t)n + 1);
	if (s == NULL)
		return NULL;
	memcpy(s, data, (size_t)n);
	s[n] = '\0';
	return s;
}
