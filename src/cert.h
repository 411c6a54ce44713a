/* SPDX-License-Identifier: ISC */
/* ses-feedback - signing certificates.
 * Whether PEM text is a certificate SNS would sign with for a topic: one
 * block, RSA of 2048 bits or more, a name AWS gives the region's signing
 * certificates, valid now. Fetching and caching is certcache.h's. */
#ifndef SF_CERT_H
#define SF_CERT_H

#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>

#include "bounds.h"
#include "sns.h"

#define CERT_MAX_PEM LIM_CERT_PEM_MAX

/* Check PEM text: exactly one certificate, RSA of 2048 bits or more, a
 * name of the SNS service in arn's partition, valid at now. Reads only
 * pem[0..len-1]. On 0 *key is a new reference the caller frees; *not_after
 * is its expiry. */
int cert_check_pem(const char *pem, size_t len, const struct sns_arn *arn, time_t now,
    EVP_PKEY **key, time_t *not_after, char *why, size_t whylen);

#endif
