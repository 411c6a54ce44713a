/* SPDX-License-Identifier: ISC */
/* ses-feedback - proving an SNS message genuine.
 * The order is the security argument: cheap local checks (topic
 * allow-list, signature version, certificate URL) before any network I/O,
 * then the certificate, then the signature over the string to sign. */
#ifndef SF_VERIFY_H
#define SF_VERIFY_H

#include <stddef.h>
#include <time.h>

#include "cert.h"
#include "cfg.h"
#include "http.h"
#include "sns.h"

enum verify_result {
	VERIFY_OK,
	VERIFY_FORBIDDEN,  /* 403: topic, certificate or signature refused */
	VERIFY_UNAVAILABLE /* 503: certificate host unreachable, try later */
};

/* The checks that need no network: topic allow-list (skipped when topics
 * is NULL), signature version floor, signing-certificate URL. */
enum verify_result verify_local(
    const struct sns_msg *m, const char *topics, int min_sigver, char *why, size_t whylen);

/* Check m's signature with key. */
enum verify_result verify_signature(
    const struct sns_msg *m, EVP_PKEY *key, char *why, size_t whylen);

/* Everything: verify_local, then the certificate from the cache or the
 * network, then the signature. *from says where the certificate came
 * from. */
enum verify_result verify_message(const struct sns_msg *m, const struct cfg *c,
    struct cert_cache *cc, struct http *h, time_t now, enum cert_source *from, char *why,
    size_t whylen);

#endif
