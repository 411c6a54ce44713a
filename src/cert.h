/* SPDX-License-Identifier: ISC */
/* ses-feedback - signing certificates.
 * The URL policy for SigningCertURL and SubscribeURL, checking a fetched
 * certificate, and the two-level cache (per-worker memory, shared disk
 * directory), both keyed by URL and trust context and both bounded.
 * Failures are never cached. */
#ifndef SF_CERT_H
#define SF_CERT_H

#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>

#include "http.h"
#include "bounds.h"
#include "sns.h"

#define CERT_MAX_PEM        LIM_CERT_PEM_MAX
#define CERT_MEM_SLOTS      LIM_CERT_MEM_SLOTS
#define CERT_MEM_MAX_BYTES  LIM_CERT_MEM_BYTES
#define CERT_DISK_MAX_FILES LIM_CERT_DISK_FILES
#define CERT_DISK_MAX_BYTES LIM_CERT_DISK_BYTES

enum cert_status { CERT_OK, CERT_REJECT, CERT_UNAVAILABLE };
enum cert_source { CERT_FROM_MEMORY, CERT_FROM_DISK, CERT_FROM_NETWORK };

struct cert_cache;

/* Is url a signing-certificate URL this topic's region may use?
 * 0 yes, -1 no with why. */
int cert_url_check(const char *url, const struct sns_arn *arn, char *why, size_t whylen);

/* Is the message's SubscribeURL safe to visit: the region's SNS host,
 * Action=ConfirmSubscription, and TopicArn and Token equal to the
 * message's? 0 yes, -1 no with why. */
int cert_subscribe_url_check(const struct sns_msg *m, char *why, size_t whylen);

/* Check PEM text: exactly one certificate, RSA of 2048 bits or more, a
 * name of the SNS service in arn's partition, valid at now. On 0 *key is a
 * new reference the caller frees; *not_after is its expiry. */
int cert_check_pem(const char *pem, size_t len, const struct sns_arn *arn, time_t now,
    EVP_PKEY **key, time_t *not_after, char *why, size_t whylen);

/* Would dir be used as the disk cache: ours, a directory, writable by no
 * one else (made 0700 when missing)? 1 or 0, with a log line saying why. */
int cert_cache_dir_ok(const char *dir);

struct cert_cache *cert_cache_new(void);
void               cert_cache_free(struct cert_cache *c);

/* The public key for url (which must already have passed cert_url_check):
 * from memory, else from dir (may be NULL), else fetched over HTTPS. On
 * CERT_OK *key is borrowed from the cache and stays valid until the next
 * cert_get() or cert_cache_free(). CERT_UNAVAILABLE means try later. */
enum cert_status cert_get(struct cert_cache *c, struct http *h, const struct http_opts *o,
    const char *dir, const char *url, const struct sns_arn *arn, time_t now, EVP_PKEY **key,
    enum cert_source *from, char *why, size_t whylen);

const char *cert_source_name(enum cert_source s);

#endif
