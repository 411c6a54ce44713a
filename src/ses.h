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

#include "bounds.h"

struct json_object;

#include "addr.h"

#define SES_MAX_RECIPIENTS LIM_SES_RECIPIENTS
#define SES_MAX_ORIGINAL   LIM_SES_ORIGINAL

enum ses_form { SES_FORM_NONE, SES_FORM_IDENTITY, SES_FORM_EVENT };

/* The event kinds SES publishes (eventType / notificationType), in the
 * order the metrics list them. */
enum ses_kind {
	SES_KIND_BOUNCE,
	SES_KIND_COMPLAINT,
	SES_KIND_DELIVERY,
	SES_KIND_DELIVERY_DELAY,
	SES_KIND_SEND,
	SES_KIND_REJECT,
	SES_KIND_OPEN,
	SES_KIND_CLICK,
	SES_KIND_RENDERING_FAILURE,
	SES_KIND_SUBSCRIPTION,
	/* SES's notice that a topic now receives an identity's notifications:
	 * no recipients, no details object. */
	SES_KIND_SNS_SUBSCRIBED,
	SES_KIND_OTHER, /* none, or a kind SES added later */
	SES_KIND__COUNT
};

/* The kind named name (ev->kind): SES_KIND_OTHER for NULL or unknown. */
enum ses_kind ses_kind_of(const char *name);
/* k's name as SES spells it ("Bounce", "Rendering Failure"); "other" for
 * SES_KIND_OTHER. A static string. */
const char *ses_kind_name(enum ses_kind k);

struct ses_rcpt {
	char  email[ADDR_MAX + 1];   /* normal form (addr.h), "" when no address */
	char *original;              /* owned: as SES spelled it, or the JSON of a
	                                recipient that is no string */
	const char *status;          /* DSN status such as 5.1.1, or NULL */
	const char *action;          /* failed, delayed, ... or NULL */
	const char *diagnostic_code; /* remote MTA's words, or NULL */
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
	size_t              not_addresses;   /* recipients that are no mailbox */
	size_t              nrcpt;
	struct ses_rcpt    *rcpt; /* owned array of nrcpt */
};

/* Parse the SNS Message of a verified notification. It never fails: the
 * message is genuine, so whatever it holds is kept. ev->root is NULL when
 * the text is not a JSON object (SES's "Successfully validated" test
 * message: stored verbatim). Returns 0 when everything was understood, or
 * 1 with why saying what was not (a missing list, a recipient that is no
 * address, an odd field): the caller stores it all the same. */
int  ses_parse(const char *msg, size_t len, struct ses_event *ev, char *why, size_t whylen);
void ses_free(struct ses_event *ev);

/* ISO 8601 with Z, +HH:MM, +HHMM or " +HHMM" (jsonin_time's
 * JSONIN_TIME_ANY_ZONE) -> YYYY-MM-DDTHH:MM:SS.ffffffZ in UTC. 0 or -1. */
int ses_parse_time(const char *in, char *out, size_t outlen);

#endif
