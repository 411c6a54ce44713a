/* SPDX-License-Identifier: ISC */
/* ses-feedback - the SES event model.
 * Both forms SES publishes: identity notifications (notificationType) and
 * configuration-set events (eventType). Affected recipients come only from
 * the event's own lists, never from mail.destination; the one exception is
 * a Subscription event, which has no list: SES sends list-managed mail to
 * one recipient per message, so a single destination is that contact. */
#ifndef SF_SES_H
#define SF_SES_H

#include <stddef.h>

#include "limits.h"

struct json_object;

#define SES_MAX_RECIPIENTS LIM_SES_RECIPIENTS
#define SES_MAX_EMAIL      LIM_SES_EMAIL

enum ses_form { SES_FORM_NONE, SES_FORM_IDENTITY, SES_FORM_EVENT };

struct ses_rcpt {
	char        email[SES_MAX_EMAIL + 1]; /* normalised: bare, trimmed, lower case */
	const char *original;                 /* as SES spelled it; borrowed */
	const char *status;                   /* DSN status such as 5.1.1, or NULL */
	const char *action;                   /* failed, delayed, ... or NULL */
	const char *diagnostic_code;          /* remote MTA's words, or NULL */
};

/* A parsed SES message. Strings borrow from root; valid until ses_free(). */
struct ses_event {
	struct json_object *root; /* owned; NULL when Message is not JSON */
	enum ses_form       form;
	const char         *kind;           /* Bounce, Complaint, Delivery, ... or NULL */
	const char         *ses_message_id; /* mail.messageId */
	const char         *source;         /* mail.source */
	char                occurred[40];   /* event time, ISO 8601 UTC, "" if unknown */
	const char         *bounce_type;
	const char         *bounce_subtype;
	const char         *complaint_feedback_type;
	const char         *complaint_subtype;
	const char         *feedback_id;
	int                 verbatim_only;   /* jsonb would refuse it: store the text */
	int                 unsubscribe_all; /* Subscription: 1 when unsubscribeAll is true */
	size_t              nrcpt;
	struct ses_rcpt    *rcpt; /* owned array of nrcpt */
};

/* Parse the SNS Message. Returns 0 with ev filled (ev->root NULL when the
 * text is not a JSON object, such as SES's "Successfully validated" test
 * message: stored verbatim), or -1 with why when it claims to be an SES
 * event but is malformed. */
int  ses_parse(const char *msg, size_t len, struct ses_event *ev, char *why, size_t whylen);
void ses_free(struct ses_event *ev);

/* "Jane Doe" <Jane@Example.COM>  ->  jane@example.com. 0 or -1. */
int ses_normalize_email(const char *in, char *out, size_t outlen);

/* ISO 8601 with Z, +HH:MM, +HHMM or " +HHMM" -> YYYY-MM-DDTHH:MM:SS.ffffffZ
 * in UTC. 0 or -1. */
int ses_parse_time(const char *in, char *out, size_t outlen);

#endif
