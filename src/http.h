/* SPDX-License-Identifier: ISC */
/* ses-feedback - outgoing HTTPS (libcurl).
 * Used for two things only: fetching SNS signing certificates and visiting
 * SubscribeURLs. https only, TLS verified, no redirects, short timeouts,
 * capped bodies. */
#ifndef SF_HTTP_H
#define SF_HTTP_H

#include <stddef.h>

#include "buf.h"
#include "bounds.h"

#define HTTP_CONNECT_TIMEOUT_MS LIM_HTTP_CONNECT_MS
#define HTTP_TOTAL_TIMEOUT_MS   LIM_HTTP_TOTAL_MS

struct http;

struct http_opts {
	const char *ca_file;    /* NULL: system bundle */
	const char *connect_to; /* NULL or space-separated CONNECT_TO entries */
	size_t      max_body;   /* larger answers fail */
};

/* From now on, no fetch on h lasts past ms milliseconds from now: the
 * request's deadline. 0: none. */
void http_set_deadline(struct http *h, long ms);

/* One handle per worker, reused so that connections and TLS sessions are
 * kept. Call after curl_global_init(). */
struct http *http_new(void);
void         http_free(struct http *h);

#define HTTP_TOO_LARGE (-2)

/* GET url into body (initialised by the caller with its cap). Returns 0
 * with *status set for any HTTP answer, HTTP_TOO_LARGE when the answer is
 * over o->max_body, or -1 with why when no answer came (DNS, connect, TLS,
 * timeout). */
int http_get(struct http *h, const char *url, const struct http_opts *o, struct buf *body,
    long *status, char *why, size_t whylen);

#endif
