/* SPDX-License-Identifier: ISC */
/* ses-feedback - where a signing key comes from.
 * Per-worker memory, then a shared disk directory, then HTTPS: both caches
 * keyed by URL and trust context, both bounded, and failures never
 * cached. Every certificate, whatever its source, passes cert_check_pem. */
#ifndef SF_CERTCACHE_H
#define SF_CERTCACHE_H

#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>

#include "bounds.h"
#include "http.h"
#include "sns.h"

#define CERTCACHE_MEM_SLOTS      LIM_CERT_MEM_SLOTS
#define CERTCACHE_MEM_MAX_BYTES  LIM_CERT_MEM_BYTES
#define CERTCACHE_DISK_MAX_FILES LIM_CERT_DISK_FILES
#define CERTCACHE_DISK_MAX_BYTES LIM_CERT_DISK_BYTES

enum certcache_status { CERTCACHE_OK, CERTCACHE_REJECT, CERTCACHE_UNAVAILABLE };
enum certcache_source { CERTCACHE_FROM_MEMORY, CERTCACHE_FROM_DISK, CERTCACHE_FROM_NETWORK };

struct certcache;

/* One certificate wanted. Everything is borrowed for the call. */
struct cert_fetch {
	const char             *url;  /* SigningCertURL, passed policy_cert_url() */
	const struct sns_arn   *arn;  /* the topic: names the certificate may carry */
	const struct http_opts *http; /* CA file and CONNECT_TO: part of the cache key */
	const char             *dir;  /* disk cache, or NULL for memory only */
	time_t                  now;  /* expiry is judged at this time */
};

/* The cache decides which keys are trusted, so only a directory that is
 * ours and that no one else can write to is used. A missing one is made
 * (mode 0700). Anything else: memory only, and a warning. 1 usable, 0 not,
 * with a log line saying why. */
int certcache_dir_ok(const char *dir);

/* One per worker; NULL when out of memory. */
struct certcache *certcache_new(void);
void              certcache_free(struct certcache *c);

/* The public key for req->url: from memory, else from req->dir, else
 * fetched over HTTPS with h. On CERTCACHE_OK *key is borrowed from the
 * cache and stays valid until the next certcache_get() or certcache_free(),
 * and *from says where it came from. CERTCACHE_UNAVAILABLE means try later,
 * CERTCACHE_REJECT that what the SNS host sent is no signing certificate;
 * why says which. */
enum certcache_status certcache_get(struct certcache *c, struct http *h,
    const struct cert_fetch *req, EVP_PKEY **key, enum certcache_source *from, char *why,
    size_t whylen);

/* "memory", "disk" or "network", for the request's log line. */
const char *certcache_source_name(enum certcache_source s);

#endif
