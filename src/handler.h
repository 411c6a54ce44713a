/* SPDX-License-Identifier: ISC */
/* ses-feedback - one HTTP request, from method to status.
 * No FastCGI here: the caller supplies parameters and the body through
 * struct request, and writes struct response out. Every per-request
 * resource is released before handler_run() returns. */
#ifndef SF_HANDLER_H
#define SF_HANDLER_H

#include <stddef.h>

#include "certcache.h"
#include "http.h"
#include "bounds.h"
#include "store.h"
#include "status.h"

#define HANDLER_RETRY_AFTER LIM_RETRY_AFTER_S

/* Per-worker state that outlives requests. */
struct handler {
	struct store     *store;     /* owned */
	struct http      *http;      /* owned */
	struct certcache *certs;     /* owned */
	struct status    *status;    /* owned: the status page's own connection */
	unsigned long     seq;       /* requests served, for request ids */
	char             *after_dsn; /* owned; set by a scrape: whose rates to refresh */
};

struct request {
	/* A CGI-style parameter (REQUEST_METHOD, HTTP_X_AMZ_SNS_..., or a
	 * SES_FEEDBACK_ key), or NULL. Valid for the request. */
	const char *(*param)(void *ctx, const char *name);
	/* Read up to n body bytes: count, 0 at the end, -1 on error. */
	long (*read)(void *ctx, char *p, size_t n);
	void *ctx;
};

struct response {
	int         status;       /* HTTP status */
	int         retry_after;  /* seconds, 0 for none */
	char        body[256];    /* short text/plain answer */
	char       *text;         /* owned; a longer answer instead of body, or NULL */
	size_t      text_len;     /* bytes in text */
	const char *content_type; /* static string */
	const char *headers;      /* static "Name: value\r\n" lines to add, or NULL */
};

/* Free what handler_run() left in out. */
void handler_response_free(struct response *out);

/* 0, or -1 when out of memory. Call after curl_global_init(). */
int  handler_init(struct handler *h);
void handler_free(struct handler *h);

/* Serve one request: always fills out (status and words from outcome.h),
 * logs one line for it and counts it in the metrics. out->text, when set,
 * is owned by out: release it with handler_response_free() once the
 * answer is written. */
void handler_run(struct handler *h, const struct request *r, struct response *out);

/* Work left for after the answer is written, so that no request waits on
 * it: the sending rates of the metrics, when a scrape found them due
 * (src/rates.c; one process a minute, bounded by a deadline). */
void handler_after(struct handler *h);

const char *handler_reason(int status);

#endif
