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
	METRICS_GROUP_COMMITS, /* serve: transactions that stored several notifications */
	METRICS_GROUPED,       /* serve: the notifications those transactions stored */
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

/* The sending rates cached in the shared segment: read from the database
 * by one process at most once per METRICS_RATES_INTERVAL_S (src/rates.c),
 * rendered by every scrape without a query. */
#define METRICS_RATES_INTERVAL_S 60
#define METRICS_RATE_SETS        64 /* configuration sets shown; the rest counted */
#define METRICS_RATE_NAME_MAX    64 /* bytes of a name (SES allows 64 characters) */

enum metrics_sub_status {
	METRICS_SUB_PENDING,
	METRICS_SUB_CONFIRMED,
	METRICS_SUB_UNSUBSCRIBED,
	METRICS_SUB__COUNT
};

/* One row of ses_feedback.sending_rates. A rate is NaN when the view has
 * none (nothing sent, nothing delivered). */
struct metrics_rate {
	char     name[METRICS_RATE_NAME_MAX + 1]; /* "" for scope all */
	uint64_t delivered;
	uint64_t hard_bounces;
	uint64_t complaints;
	double   bounce_pct;
	double   complaint_pct;
};

/* What one refresh read. */
struct metrics_rates {
	struct metrics_rate all;
	struct metrics_rate sets[METRICS_RATE_SETS];
	uint32_t            nsets;
	uint32_t            omitted; /* configuration sets not in sets[] */
	uint64_t            subs[METRICS_SUB__COUNT];
	double              seconds; /* how long the query took */
};

/* Claim the refresh that is due at now (unix seconds): 1 for exactly one
 * caller per interval, across every process sharing the segment; 0 when
 * it is not due or another process has it. A clock set back makes it due. */
int metrics_rates_claim(int64_t now, long interval);
/* Publish a refresh's result (at unix time now), or count a failed one. */
void metrics_rates_store(const struct metrics_rates *r, int64_t now);
void metrics_rates_failed(void);
/* Copy the cached rates out; 0, or -1 when there are none (no refresh has
 * succeeded yet, or a writer died in the middle of one). */
int metrics_rates_get(struct metrics_rates *r, int64_t *refreshed_at);

/* Append s to out as a Prometheus label value: backslash, double quote and
 * line feed escaped. 0 or -1 (buffer freed). */
int metrics_label_value(struct buf *out, const char *s);

/* Append the Prometheus text exposition. 0 or -1 (buffer freed). */
int metrics_render(struct buf *out);

#endif
