/* SPDX-License-Identifier: ISC */
/* ses-feedback - signing certificates.
 * Strict about the PEM text as well as the X.509 inside it, because it
 * comes over the network (or from a disk cache) and decides which key a
 * signature is checked with. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cert.h"
#include "policy.h"

static const char pem_begin[] = "-----BEGIN CERTIFICATE-----";
static const char pem_end[] = "-----END CERTIFICATE-----";

static int one_block(const char *pem, size_t len, char *why, size_t whylen);
static int name_ok(X509 *x, const struct sns_arn *arn);

int
cert_check_pem(const char *pem, size_t len, const struct sns_arn *arn, time_t now, EVP_PKEY **key,
    time_t *not_after, char *why, size_t whylen)
{
	char      copy[CERT_MAX_PEM + 1];
	BIO      *bio = NULL;
	X509     *x = NULL;
	EVP_PKEY *pk = NULL;
	struct tm tm;
	int       ret = -1;

	*key = NULL;
	if (len > CERT_MAX_PEM || memchr(pem, '\0', len) != NULL) {
		snprintf(why, whylen, "certificate too large or binary");
		goto out;
	}
	/* Work on a NUL-terminated copy: nothing past len is ever read. */
	memcpy(copy, pem, len);
	copy[len] = '\0';
	pem = copy;
	if (one_block(pem, len, why, whylen) == -1)
		goto out;
	bio = BIO_new_mem_buf(pem, (int)len);
	if (bio == NULL || (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL) {
		snprintf(why, whylen, "certificate does not parse");
		goto out;
	}
	if (X509_cmp_time(X509_get0_notBefore(x), &now) >= 0) {
		snprintf(why, whylen, "certificate not yet valid");
		goto out;
	}
	if (X509_cmp_time(X509_get0_notAfter(x), &now) <= 0) {
		snprintf(why, whylen, "certificate expired");
		goto out;
	}
	if (!name_ok(x, arn)) {
		snprintf(why, whylen, "certificate is not issued to the SNS service");
		goto out;
	}
	pk = X509_get_pubkey(x);
	if (pk == NULL || EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA ||
	    EVP_PKEY_get_bits(pk) < 2048) {
		snprintf(why, whylen, "certificate key is not RSA of 2048 bits or more");
		goto out;
	}
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1) {
		snprintf(why, whylen, "certificate expiry unreadable");
		goto out;
	}
	*not_after = timegm(&tm);
	*key = pk;
	pk = NULL;
	ret = 0;
out:
	EVP_PKEY_free(pk);
	X509_free(x);
	BIO_free(bio);
	return ret;
}

/* Exactly one PEM certificate block in pem (NUL-terminated at len), and
 * nothing around it but white space. 0 or -1 with why. */
static int
one_block(const char *pem, size_t len, char *why, size_t whylen)
{
	const char *b, *e, *p;

	for (p = pem; p < pem + len && strchr(" \t\r\n", *p) != NULL; p++)
		;
	b = strstr(pem, pem_begin);
	if (b == NULL || b != p || strstr(b + 1, pem_begin) != NULL ||
	    strstr(pem, "-----BEGIN") != b) {
		snprintf(why, whylen, "not exactly one PEM certificate");
		return -1;
	}
	/* The first END line closes the block; only white space may follow. */
	e = strstr(b, pem_end);
	if (e == NULL) {
		snprintf(why, whylen, "not exactly one PEM certificate");
		return -1;
	}
	for (p = e + sizeof(pem_end) - 1; p < pem + len; p++) {
		if (strchr(" \t\r\n", *p) == NULL) {
			snprintf(why, whylen, "data after the PEM certificate");
			return -1;
		}
	}
	return 0;
}

/* Does x carry one of the names AWS gives this region's signing
 * certificates? */
static int
name_ok(X509 *x, const struct sns_arn *arn)
{
	char names[POLICY_MAX_NAMES][POLICY_NAME_LEN];
	int  i, n;

	n = policy_cert_names(arn, names);
	for (i = 0; i < n; i++) {
		if (X509_check_host(x, names[i], 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) ==
		    1)
			return 1;
	}
	return 0;
}
