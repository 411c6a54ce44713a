/* SPDX-License-Identifier: ISC */
/* ses-feedback - the SES event model.
 * Lenient about what it does not need (unknown fields and subtypes are
 * kept verbatim in the stored JSON), strict about what drives suppression:
 * the recipient lists and their addresses. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "bounds.h"
#include "json_in.h"
#include "ses.h"

struct kind_def {
	const char *kind;      /* eventType / notificationType value */
	const char *object;    /* the key holding its details, or NULL: none */
	const char *list;      /* its recipient list, or NULL */
	int         list_objs; /* list of {emailAddress} objects, not strings */
};

/* The one list of kinds: ses_kind_name(), the parser and the metrics. */
static const struct kind_def kinds[SES_KIND_OTHER] = {
	[SES_KIND_BOUNCE] = { "Bounce", "bounce", "bouncedRecipients", 1 },
	[SES_KIND_COMPLAINT] = { "Complaint", "complaint", "complainedRecipients", 1 },
	[SES_KIND_DELIVERY] = { "Delivery", "delivery", "recipients", 0 },
	[SES_KIND_DELIVERY_DELAY] = { "DeliveryDelay", "deliveryDelay", "delayedRecipients", 1 },
	[SES_KIND_SEND] = { "Send", "send", NULL, 0 },
	[SES_KIND_REJECT] = { "Reject", "reject", NULL, 0 },
	[SES_KIND_OPEN] = { "Open", "open", NULL, 0 },
	[SES_KIND_CLICK] = { "Click", "click", NULL, 0 },
	[SES_KIND_RENDERING_FAILURE] = { "Rendering Failure", "failure", NULL, 0 },
	[SES_KIND_SUBSCRIPTION] = { "Subscription", "subscription", NULL, 0 },
	[SES_KIND_SNS_SUBSCRIBED] = { "AmazonSnsSubscriptionSucceeded", NULL, NULL, 0 },
};

static void read_details(
    struct ses_event *ev, struct json_object *root, const char **ts, char *why, size_t whylen);
static void subscription_contact(struct ses_event *ev, struct json_object *root,
    struct json_object *sub, char *why, size_t whylen);
static void add_recipients(
    struct ses_event *ev, struct json_object *list, int objs, char *why, size_t whylen);
static void note(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

int
ses_parse(const char *msg, size_t len, struct ses_event *ev, char *why, size_t whylen)
{
	struct json_object *root, *mail = NULL;
	const char         *ts = NULL, *form_key;
	char                jwhy[128];

	memset(ev, 0, sizeof(*ev));
	why[0] = '\0';
	root = jsonin_parse(msg, len, LIM_JSON_DEPTH, jwhy, sizeof(jwhy));
	if (root == NULL)
		return 0; /* not JSON: kept verbatim */
	if (!json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return 0;
	}
	ev->root = root;
	/* A NUL in a remote MTA's diagnostic, or a NaN, is no reason to lose a
	 * genuine bounce: the event is still parsed and acted on, and stored
	 * as text instead of jsonb. */
	ev->verbatim_only = jsonin_unsafe(root) != 0;
	if (json_object_object_get_ex(root, "eventType", NULL)) {
		ev->form = SES_FORM_EVENT;
		form_key = "eventType";
	} else if (json_object_object_get_ex(root, "notificationType", NULL)) {
		ev->form = SES_FORM_IDENTITY;
		form_key = "notificationType";
	} else {
		return 0; /* JSON, but not an SES event: kept verbatim */
	}
	if (json_object_object_get_ex(root, "mail", &mail) &&
	    json_object_is_type(mail, json_type_object)) {
		ev->ses_message_id = jsonin_str_or_null(mail, "messageId");
		ev->source = jsonin_str_or_null(mail, "source");
		ts = jsonin_str_or_null(mail, "timestamp");
	}
	jsonin_str(root, form_key, JSONIN_OPTIONAL, 64, &ev->kind, NULL, 0);
	if (ev->kind == NULL || ev->kind[0] == '\0') {
		ev->kind = NULL;
		note(why, whylen, "SES event type is not a short string");
	} else {
		read_details(ev, root, &ts, why, whylen);
	}
	if (ts == NULL || ses_parse_time(ts, ev->occurred, sizeof(ev->occurred)) == -1)
		ev->occurred[0] = '\0';
	return why[0] == '\0' ? 0 : 1;
}

/* The kind's own object (bounce, complaint, ...): its fields, its time
 * (over the mail's, in *ts) and its recipients. A kind SES added later, or
 * one without details, has none: stored, no recipients. */
static void
read_details(
    struct ses_event *ev, struct json_object *root, const char **ts, char *why, size_t whylen)
{
	struct json_object    *obj = NULL, *list = NULL;
	const struct kind_def *kd;
	enum ses_kind          k = ses_kind_of(ev->kind);

	if (k == SES_KIND_OTHER || kinds[k].object == NULL)
		return;
	kd = &kinds[k];
	if (!json_object_object_get_ex(root, kd->object, &obj) ||
	    !json_object_is_type(obj, json_type_object)) {
		if (kd->list != NULL)
			note(why, whylen, "%s event has no %s object", ev->kind, kd->object);
		return;
	}
	if (jsonin_str_or_null(obj, "timestamp") != NULL)
		*ts = jsonin_str_or_null(obj, "timestamp");
	ev->feedback_id = jsonin_str_or_null(obj, "feedbackId");
	if (k == SES_KIND_BOUNCE) {
		ev->bounce_type = jsonin_str_or_null(obj, "bounceType");
		ev->bounce_subtype = jsonin_str_or_null(obj, "bounceSubType");
	} else if (k == SES_KIND_COMPLAINT) {
		ev->complaint_feedback_type = jsonin_str_or_null(obj, "complaintFeedbackType");
		ev->complaint_subtype = jsonin_str_or_null(obj, "complaintSubType");
	} else if (k == SES_KIND_SUBSCRIPTION) {
		subscription_contact(ev, root, obj, why, whylen);
		return;
	}
	if (kd->list == NULL)
		return;
	if (!json_object_object_get_ex(obj, kd->list, &list) ||
	    !json_object_is_type(list, json_type_array)) {
		/* An OnAccountSuppressionList complaint comes without one. */
		note(why, whylen, "%s event has no %s list", ev->kind, kd->list);
		return;
	}
	add_recipients(ev, list, kd->list_objs, why, whylen);
}

enum ses_kind
ses_kind_of(const char *name)
{
	int k;

	for (k = 0; name != NULL && k < SES_KIND_OTHER; k++) {
		if (strcmp(kinds[k].kind, name) == 0)
			return (enum ses_kind)k;
	}
	return SES_KIND_OTHER;
}

const char *
ses_kind_name(enum ses_kind k)
{
	return k < SES_KIND_OTHER ? kinds[k].kind : "other";
}

void
ses_free(struct ses_event *ev)
{
	size_t i;

	for (i = 0; i < ev->nrcpt; i++)
		free(ev->rcpt[i].original);
	free(ev->rcpt);
	json_object_put(ev->root);
	memset(ev, 0, sizeof(*ev));
}

/* Keep the first thing not understood: it is the one worth a look. */
static void
note(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

/* A Subscription event names no recipient list. Its contact is the one
 * destination of the message; with several (not list-managed mail) the
 * event is recorded without a recipient. */
static void
subscription_contact(struct ses_event *ev, struct json_object *root, struct json_object *sub,
    char *why, size_t whylen)
{
	struct json_object *mail, *dest, *prefs, *all;

	if (json_object_object_get_ex(sub, "newTopicPreferences", &prefs) &&
	    json_object_is_type(prefs, json_type_object) &&
	    json_object_object_get_ex(prefs, "unsubscribeAll", &all) &&
	    json_object_is_type(all, json_type_boolean))
		ev->unsubscribe_all = json_object_get_boolean(all);
	if (!json_object_object_get_ex(root, "mail", &mail) ||
	    !json_object_object_get_ex(mail, "destination", &dest) ||
	    !json_object_is_type(dest, json_type_array) || json_object_array_length(dest) != 1)
		return;
	add_recipients(ev, dest, 0, why, whylen);
}

/* Every recipient is kept: one that is an address with its normal form,
 * one that is not (a string that is no mailbox, an object without
 * emailAddress, a number) with its raw text, for the database to record
 * as not_an_address. */
static void
add_recipients(struct ses_event *ev, struct json_object *list, int objs, char *why, size_t whylen)
{
	struct json_object *item, *addr;
	struct ses_rcpt    *r;
	const char         *text;
	size_t              n = json_object_array_length(list), i, tl;
	int                 is_str;

	if (n > SES_MAX_RECIPIENTS) {
		note(why, whylen, "%zu recipients, more than %d: the first %d acted on", n,
		    SES_MAX_RECIPIENTS, SES_MAX_RECIPIENTS);
		n = SES_MAX_RECIPIENTS;
	}
	if (n == 0)
		return;
	ev->rcpt = calloc(n, sizeof(*ev->rcpt));
	if (ev->rcpt == NULL) {
		note(why, whylen, "out of memory for %zu recipients", n);
		return;
	}
	for (i = 0; i < n; i++) {
		item = json_object_array_get_idx(list, i);
		r = &ev->rcpt[ev->nrcpt];
		addr = item;
		if (objs && json_object_is_type(item, json_type_object)) {
			if (!json_object_object_get_ex(item, "emailAddress", &addr))
				addr = item;
			r->status = jsonin_str_or_null(item, "status");
			r->action = jsonin_str_or_null(item, "action");
			r->diagnostic_code = jsonin_str_or_null(item, "diagnosticCode");
		}
		is_str = json_object_is_type(addr, json_type_string);
		text = is_str ? json_object_get_string(addr) : NULL;
		if (text == NULL || strlen(text) != (size_t)json_object_get_string_len(addr)) {
			/* no string, or one holding U+0000: its JSON is the text */
			is_str = 0;
			text = json_object_to_json_string_ext(addr, JSON_C_TO_STRING_PLAIN);
			if (text == NULL)
				text = "null";
		}
		tl = strlen(text);
		if (tl > SES_MAX_ORIGINAL) {
			/* cut on a character boundary, and never act on a cut */
			is_str = 0;
			tl = SES_MAX_ORIGINAL;
			while (tl > 0 && ((unsigned char)text[tl] & 0xc0) == 0x80)
				tl--;
		}
		r->original = strndup(text, tl);
		if (r->original == NULL) {
			note(why, whylen, "out of memory for recipient %zu", i);
			return;
		}
		ev->nrcpt++;
		if (!is_str || addr_normalize(r->original, r->email, sizeof(r->email)) == -1) {
			r->email[0] = '\0';
			ev->not_addresses++;
			note(why, whylen, "recipient %zu is not an email address", i);
		}
	}
}

/* n decimal digits of v at p (v from 0 to 10^n - 1). */
static char *
put_digits(char *p, int v, int n)
{
	int i;

	for (i = n - 1; i >= 0; i--, v /= 10)
		p[i] = (char)('0' + v % 10);
	return p + n;
}

int
ses_parse_time(const char *in, char *out, size_t outlen)
{
	struct tm tm;
	time_t    t;
	char      frac[7], *p = out;

	if (jsonin_time(in, JSONIN_TIME_ANY_ZONE, &t, frac) == -1 || gmtime_r(&t, &tm) == NULL)
		return -1;
	/* YYYY-MM-DDTHH:MM:SS.ffffffZ: every field has its width (jsonin_time
	 * keeps years from 1 to 9999, frac is six digits), 27 bytes. */
	if (outlen < 28)
		return -1;
	p = put_digits(p, tm.tm_year + 1900, 4);
	*p++ = '-';
	p = put_digits(p, tm.tm_mon + 1, 2);
	*p++ = '-';
	p = put_digits(p, tm.tm_mday, 2);
	*p++ = 'T';
	p = put_digits(p, tm.tm_hour, 2);
	*p++ = ':';
	p = put_digits(p, tm.tm_min, 2);
	*p++ = ':';
	p = put_digits(p, tm.tm_sec, 2);
	*p++ = '.';
	memcpy(p, frac, 6);
	p += 6;
	*p++ = 'Z';
	*p = '\0';
	return 0;
}
