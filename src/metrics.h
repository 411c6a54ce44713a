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

enum metrics_counter {
	M_CERT_MEMORY,   /* signing key found in the worker's memory */
	M_CERT_DISK,     /* signing certificate read from the disk cache */
	M_CERT_NETWORK,  /* signing certificate fetched over HTTPS */
	M_DB_CONNECTS,   /* connections made to PostgreSQL */
	M_DB_ERRORS,     /* statements or connections that failed */
	M_SUPPRESSIONS,  /* suppressions added or strengthened */
	M_NOT_ADDRESSES, /* recipients stored that are no email address */
	M__COUNT
};

/* Share the counters with processes forked after this call. 0 or -1. */
int metrics_init_shared(void);
/* Share the counters through a file (made 0600 when missing). 0 or -1. */
int metrics_init_file(const char *path);

void metrics_request(const char *outcome, double ms);
void metrics_event(const char *kind);
void metrics_add(enum metrics_counter c, uint64_t n);

/* Append the Prometheus text exposition. 0 or -1 (buffer freed). */
int metrics_render(struct buf *out);

#endif
