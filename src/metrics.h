/* SPDX-License-Identifier: ISC */
/* ses-feedback - metrics.
 * Counters and a latency histogram in shared memory, so that a scrape of
 * any worker sees them all: an anonymous shared mapping made by `serve`
 * before it forks, or a file mapping (SES_FEEDBACK_METRICS_FILE) shared by
 * processes that a web server starts on their own. Updates are atomic. */
#ifndef SF_METRICS_H
#define SF_METRICS_H

#include <stdint.h>

#include "buf.h"
#include "certcache.h"
#include "outcome.h"
#include "ses.h"

enum metrics_counter {
	METRICS_DB_CONNECTS,   /* connections made to PostgreSQL */
	METRICS_DB_ERRORS,     /* statements or connections that failed */
	METRICS_SUPPRESSIONS,  /* suppressions added or strengthened */
	METRICS_NOT_ADDRESSES, /* recipients stored that are no email address */
	METRICS_N_COUNTERS
};

/* Share the counters with processes forked after this call. 0 or -1. */
int metrics_init_shared(void);
/* Share the counters through a file (made 0600 when missing). 0 or -1. */
int metrics_init_file(const char *path);

/* One request answered: by outcome (its status comes with it), and its
 * time in the latency histogram. */
void metrics_request(enum outcome o, double ms);
/* One SES notification stored (not a duplicate), by kind. */
void metrics_event(enum ses_kind k);
/* One signing key used, by where it came from. */
void metrics_cert(enum certcache_source s);
void metrics_add(enum metrics_counter c, uint64_t n);

/* Append the Prometheus text exposition. 0 or -1 (buffer freed). */
int metrics_render(struct buf *out);

#endif
