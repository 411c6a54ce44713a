/* SPDX-License-Identifier: ISC */
/* ses-feedback - the sending rates behind the metrics.
 * At most once a minute, one process (whichever claims it in the shared
 * metrics segment) reads ses_feedback.sending_rates and the subscriptions
 * and publishes them there; a scrape renders that copy and never waits on
 * the database. */
#ifndef SF_RATES_H
#define SF_RATES_H

#include <libpq-fe.h>

#include "metrics.h"

/* Refresh the cache from dsn if it is due and this process gets the
 * claim. Call after an answer has been
 * written: it may take a few seconds (bounded), on a connection of its own
 * closed again before it returns. */
void rates_refresh(const char *dsn);

/* Turn the statement's result into r. 0, or -1 with why. */
int rates_parse(const PGresult *res, struct metrics_rates *r, char *why, size_t whylen);

#endif
