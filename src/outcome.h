/* SPDX-License-Identifier: ISC */
/* ses-feedback - what became of a request.
 * One table: the word for the log line's outcome= and the metrics' outcome
 * label, the HTTP status it answers with, and the short answer text. The
 * words and statuses are a contract: operators' alerts, the integration
 * tests and the attack corpus match them. */
#ifndef SF_OUTCOME_H
#define SF_OUTCOME_H

/* In the order the metrics list them. */
enum outcome {
	OUTCOME_STORED,           /* 200 notification or subscription message stored */
	OUTCOME_DUPLICATE,        /* 200 MessageId already stored: nothing changed */
	OUTCOME_CONFIRMED,        /* 200 SubscriptionConfirmation visited and stored */
	OUTCOME_PENDING,          /* 200 SubscriptionConfirmation stored, not visited */
	OUTCOME_UNSUBSCRIBED,     /* 200 UnsubscribeConfirmation stored */
	OUTCOME_HEALTHY,          /* 200 GET: the database answers */
	OUTCOME_METRICS,          /* 200 the metrics page */
	OUTCOME_BAD_ENVELOPE,     /* 400 no SNS message (or an empty body) */
	OUTCOME_BAD_EVENT,        /* 400 answered by no path: a verified message is never
	                             refused; kept so the metrics keep the series */
	OUTCOME_BAD_REQUEST,      /* 400 the web server's request is malformed */
	OUTCOME_HEADER_MISMATCH,  /* 400 an x-amz-sns- header differs from the body */
	OUTCOME_RAW_DELIVERY,     /* 400 raw message delivery: no envelope to verify */
	OUTCOME_REFUSED,          /* 403 not proven genuine, or not from an allowed topic */
	OUTCOME_BAD_METHOD,       /* 405 */
	OUTCOME_TOO_LARGE,        /* 413 body over SES_FEEDBACK_MAX_BODY */
	OUTCOME_BAD_CONFIG,       /* 500 a SES_FEEDBACK_ setting is invalid */
	OUTCOME_DB_ERROR,         /* 500 the database refused the statement */
	OUTCOME_CERT_UNAVAILABLE, /* 503 signing certificate not fetched: SNS retries */
	OUTCOME_CONFIRM_FAILED,   /* 503 SubscribeURL visit failed: SNS retries */
	OUTCOME_DB_UNAVAILABLE,   /* 503 database unreachable: SNS retries */
	OUTCOME_NO_MEMORY,        /* 503 out of memory: SNS retries */
	OUTCOME_UNHEALTHY,        /* 503 GET: the database does not answer */
	OUTCOME_OTHER,            /* 500 a failure with no word of its own (the
	                             metrics page outgrew its buffer) */
	OUTCOME_STATUS,           /* 200 the HTML status page (last: a metrics file keeps its order) */
	OUTCOME__COUNT
};

/* The word for o ("stored", "bad_method", ...): a static string. */
const char *outcome_name(enum outcome o);
/* The HTTP status o answers with. */
int outcome_status(enum outcome o);
/* The short text/plain answer for o, unless the caller says more: a
 * static string. */
const char *outcome_text(enum outcome o);

#endif
