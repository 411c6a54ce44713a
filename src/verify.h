/* SPDX-License-Identifier: ISC */
/* ses-feedback - proving an SNS message genuine.
 * The order is the security argument: cheap local checks (partition and
 * region, topic allow-list, replay window, signature version, certificate
 * URL, SubscribeURL) before any network I/O, then the certificate, then
 * the signature over the string to sign. A message that passes is
 * genuine: from then on it is stored (200) or retried (5xx), never
 * refused. */
#ifndef SF_VERIFY_H
#define SF_VERIFY_H

#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>

#include "certcache.h"
#include "http.h"
#include "sns.h"

enum verify_result {
	VERIFY_OK,
	VERIFY_FORBIDDEN,  /* 403: topic, region, age, certificate or signature refused */
	VERIFY_UNAVAILABLE /* 503: certificate host unreachable, try later */
};

/* What a message is judged by: the location's settings and the time.
 * Pointers are borrowed for the call. */
struct verify_opts {
	const char      *topics;     /* allow-list; NULL skips it (the verify command) */
	int              min_sigver; /* 1 or 2 */
	long             max_age;    /* seconds a Timestamp may be old */
	time_t           now;        /* the time to judge by */
	const char      *cert_dir;   /* certificate disk cache; NULL = memory only */
	struct http_opts http;       /* CA file and CONNECT_TO of the certificate fetch */
};

/* The checks that need no network, in order: partition and region,
 * topic allow-list, replay window, signature version floor,
 * signing-certificate URL, and for a SubscriptionConfirmation its
 * SubscribeURL. */
enum verify_result verify_local(
    const struct sns_msg *m, const struct verify_opts *o, char *why, size_t whylen);

/* Check m's signature with key. */
enum verify_result verify_signature(
    const struct sns_msg *m, EVP_PKEY *key, char *why, size_t whylen);

/* Everything: verify_local, then the certificate from cc or the network
 * (fetched with h), then the signature. *from says where the certificate
 * came from. */
enum verify_result verify_message(const struct sns_msg *m, const struct verify_opts *o,
    struct certcache *cc, struct http *h, enum certcache_source *from, char *why, size_t whylen);

#endif
