/* SPDX-License-Identifier: ISC */
/* ses-feedback - what became of a request: one row per outcome, used by
 * the handler's answer, the request log line and the metrics alike. */
#include "config.h"

#include "outcome.h"

static const struct {
	const char *name;
	int         status;
	const char *text;
} outcomes[OUTCOME__COUNT] = {
	[OUTCOME_STORED] = { "stored", 200, "stored" },
	[OUTCOME_DUPLICATE] = { "duplicate", 200, "already stored" },
	[OUTCOME_CONFIRMED] = { "confirmed", 200, "stored" },
	[OUTCOME_PENDING] = { "pending", 200, "stored" },
	[OUTCOME_UNSUBSCRIBED] = { "unsubscribed", 200, "stored" },
	[OUTCOME_HEALTHY] = { "healthy", 200, "ok" },
	[OUTCOME_METRICS] = { "metrics", 200, "metrics" },
	[OUTCOME_STATUS] = { "status", 200, "status" },
	[OUTCOME_BAD_ENVELOPE] = { "bad_envelope", 400, "not an SNS message" },
	[OUTCOME_BAD_EVENT] = { "bad_event", 400, "not an SES event" },
	[OUTCOME_BAD_REQUEST] = { "bad_request", 400, "bad request" },
	[OUTCOME_HEADER_MISMATCH] = { "header_mismatch", 400, "SNS headers differ from the body" },
	[OUTCOME_RAW_DELIVERY] = { "raw_delivery", 400, "raw message delivery is not supported" },
	[OUTCOME_REFUSED] = { "refused", 403, "message refused" },
	[OUTCOME_BAD_METHOD] = { "bad_method", 405, "use POST (SNS) or GET (health)" },
	[OUTCOME_TOO_LARGE] = { "too_large", 413, "body too large" },
	[OUTCOME_BAD_CONFIG] = { "bad_config", 500, "configuration error" },
	[OUTCOME_DB_ERROR] = { "db_error", 500, "database error" },
	[OUTCOME_CERT_UNAVAILABLE] = { "cert_unavailable", 503,
	    "signing certificate unavailable, retry later" },
	[OUTCOME_CONFIRM_FAILED] = { "confirm_failed", 503, "could not confirm, retry later" },
	[OUTCOME_DB_UNAVAILABLE] = { "db_unavailable", 503, "database unavailable, retry later" },
	[OUTCOME_NO_MEMORY] = { "no_memory", 503, "out of memory, retry later" },
	[OUTCOME_UNHEALTHY] = { "unhealthy", 503, "database unavailable" },
	[OUTCOME_OTHER] = { "other", 500, "internal error" },
};

const char *
outcome_name(enum outcome o)
{
	return outcomes[o].name;
}

int
outcome_status(enum outcome o)
{
	return outcomes[o].status;
}

const char *
outcome_text(enum outcome o)
{
	return outcomes[o].text;
}
