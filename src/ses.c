/* SPDX-License-Identifier: ISC */
/* ses-feedback - the SES event model.
 * Lenient about what it does not need (unknown fields and subtypes are
 * kept verbatim in the stored JSON), strict about what drives suppression:
 * the recipient lists and their addresses. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "ses.h"
#include "sns.h"

struct kind_def {
	const char *kind;      /* eventType / notificationType value */
	const char *object;    /* the key holding its details */
	const char *list;      /* its recipient list, or NULL */
	int         list_objs; /* list of {emailAddress} objects, not strings */
};

static const struct kind_def kinds[] = {
	{ "Bounce", "bounce", "bouncedRecipients", 1 },
	{ "Complaint", "complaint", "complainedRecipients", 1 },
	{ "Delivery", "delivery", "recipients", 0 },
	{ "DeliveryDelay", "deliveryDelay", "delayedRecipients", 1 },
	{ "Send", "send", NULL, 0 },
	{ "Reject", "reject", NULL, 0 },
	{ "Open", "open", NULL, 0 },
	{ "Click", "click", NULL, 0 },
	{ "Rendering Failure", "failure", NULL, 0 },
	{ "Subscription", "subscription", NULL, 0 },
};

static const char *str_at(struct json_object *o, const char *key);
static int         subscription_contact(struct ses_event *ev, struct json_object *root,
            struct json_object *sub, char *why, size_t whylen);
static int         add_recipients(
            struct ses_event *ev, struct json_object *list, int objs, char *why, size_t whylen);

int
ses_parse(const char *msg, size_t len, struct ses_event *ev, char *why, size_t whylen)
{
	struct json_object    *root, *mail = NULL, *obj = NULL, *list = NULL, *t;
	const struct kind_def *kd = NULL;
	const char            *ts = NULL;
	char                   jwhy[128];
	size_t                 i;

	memset(ev, 0, sizeof(*ev));
	root = sns_json_parse(msg, len, SNS_MAX_DEPTH, jwhy, sizeof(jwhy));
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
	ev->verbatim_only = sns_json_unsafe(root) != 0;
	if (json_object_object_get_ex(root, "eventType", &t)) {
		ev->form = SES_FORM_EVENT;
	} else if (json_object_object_get_ex(root, "notificationType", &t)) {
		ev->form = SES_FORM_IDENTITY;
	} else {
		return 0; /* JSON, but not an SES event: kept verbatim */
	}
	if (!json_object_is_type(t, json_type_string) || json_object_get_string_len(t) == 0 ||
	    json_object_get_string_len(t) > 64) {
		snprintf(why, whylen, "SES event type is not a short string");
		goto fail;
	}
	ev->kind = json_object_get_string(t);
	if (json_object_object_get_ex(root, "mail", &mail) &&
	    json_object_is_type(mail, json_type_object)) {
		ev->ses_message_id = str_at(mail, "messageId");
		ev->source = str_at(mail, "source");
		ts = str_at(mail, "timestamp");
	}
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (strcmp(kinds[i].kind, ev->kind) == 0)
			kd = &kinds[i];
	}
	if (kd == NULL)
		goto done; /* a type SES added later: stored, no recipients */
	if (!json_object_object_get_ex(root, kd->object, &obj) ||
	    !json_object_is_type(obj, json_type_object)) {
		if (kd->list != NULL) {
			snprintf(why, whylen, "%s event has no %s object", ev->kind, kd->object);
			goto fail;
		}
		goto done;
	}
	if (str_at(obj, "timestamp") != NULL)
		ts = str_at(obj, "timestamp");
	ev->feedback_id = str_at(obj, "feedbackId");
	if (strcmp(ev->kind, "Bounce") == 0) {
		ev->bounce_type = str_at(obj, "bounceType");
		ev->bounce_subtype = str_at(obj, "bounceSubType");
	} else if (strcmp(ev->kind, "Complaint") == 0) {
		ev->complaint_feedback_type = str_at(obj, "complaintFeedbackType");
		ev->complaint_subtype = str_at(obj, "complaintSubType");
	}
	if (strcmp(ev->kind, "Subscription") == 0) {
		if (subscription_contact(ev, root, obj, why, whylen) == -1)
			goto fail;
		goto done;
	}
	if (kd->list == NULL)
		goto done;
	if (!json_object_object_get_ex(obj, kd->list, &list) ||
	    !json_object_is_type(list, json_type_array)) {
		snprintf(why, whylen, "%s event has no %s list", ev->kind, kd->list);
		goto fail;
	}
	if (add_recipients(ev, list, kd->list_objs, why, whylen) == -1)
		goto fail;
done:
	if (ts == NULL || ses_parse_time(ts, ev->occurred, sizeof(ev->occurred)) == -1)
		ev->occurred[0] = '\0';
	return 0;
fail:
	ses_free(ev);
	return -1;
}

void
ses_free(struct ses_event *ev)
{
	free(ev->rcpt);
	json_object_put(ev->root);
	memset(ev, 0, sizeof(*ev));
}

/* A string member, or NULL when absent, null or not a string. */
static const char *
str_at(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	if (memchr(json_object_get_string(v), '\0', (size_t)json_object_get_string_len(v)) != NULL)
		return NULL;
	return json_object_get_string(v);
}

/* A Subscription event names no recipient list. Its contact is the one
 * destination of the message; with several (not list-managed mail) the
 * event is recorded without a recipient. */
static int
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
		return 0;
	return add_recipients(ev, dest, 0, why, whylen);
}

static int
add_recipients(struct ses_event *ev, struct json_object *list, int objs, char *why, size_t whylen)
{
	struct json_object *item, *addr;
	struct ses_rcpt    *r;
	size_t              n = json_object_array_length(list), i;

	if (n > SES_MAX_RECIPIENTS) {
		snprintf(why, whylen, "%zu recipients, more than %d", n, SES_MAX_RECIPIENTS);
		return -1;
	}
	if (n == 0)
		return 0;
	ev->rcpt = calloc(n, sizeof(*ev->rcpt));
	if (ev->rcpt == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		item = json_object_array_get_idx(list, i);
		r = &ev->rcpt[i];
		addr = item;
		if (objs) {
			if (!json_object_is_type(item, json_type_object) ||
			    !json_object_object_get_ex(item, "emailAddress", &addr)) {
				snprintf(why, whylen, "recipient %zu has no emailAddress", i);
				return -1;
			}
			r->status = str_at(item, "status");
			r->action = str_at(item, "action");
			r->diagnostic_code = str_at(item, "diagnosticCode");
		}
		if (!json_object_is_type(addr, json_type_string) ||
		    (size_t)json_object_get_string_len(addr) > 1024 ||
		    memchr(json_object_get_string(addr), '\0',
		        (size_t)json_object_get_string_len(addr)) != NULL) {
			snprintf(why, whylen, "recipient %zu address is not a string", i);
			return -1;
		}
		r->original = json_object_get_string(addr);
		if (ses_normalize_email(r->original, r->email, sizeof(r->email)) == -1) {
			snprintf(why, whylen, "recipient %zu is not an email address", i);
			return -1;
		}
		ev->nrcpt++;
	}
	return 0;
}

int
ses_normalize_email(const char *in, char *out, size_t outlen)
{
	const char *b = in, *e, *lt, *at;
	size_t      n, i;

	e = in + strlen(in);
	/* "Display Name" <addr>: keep what is inside the last <...>. */
	while (e > b && isspace((unsigned char)e[-1]))
		e--;
	if (e > b && e[-1] == '>') {
		lt = NULL;
		for (i = (size_t)(e - b); i > 0; i--) {
			if (b[i - 1] == '<') {
				lt = b + i - 1;
				break;
			}
		}
		if (lt == NULL)
			return -1;
		/* One address only: nothing angle-bracketed before it. */
		if (memchr(b, '<', (size_t)(lt - b)) != NULL ||
		    memchr(b, '>', (size_t)(lt - b)) != NULL)
			return -1;
		b = lt + 1;
		e--;
	}
	while (b < e && isspace((unsigned char)*b))
		b++;
	while (e > b && isspace((unsigned char)e[-1]))
		e--;
	n = (size_t)(e - b);
	if (n < 3 || n > SES_MAX_EMAIL || n >= outlen)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)b[i];

		if (c <= ' ' || c == 0x7f || c == '<' || c == '>' || c == ',' || c == '"' ||
		    c == '\\')
			return -1;
		out[i] = (c < 0x80) ? (char)tolower(c) : (char)c;
	}
	out[n] = '\0';
	at = strchr(out, '@');
	if (at == NULL || at == out || at[1] == '\0' || strchr(at + 1, '@') != NULL ||
	    strchr(at + 1, '.') == NULL || at[1] == '.' || out[n - 1] == '.' ||
	    strstr(at, "..") != NULL)
		return -1;
	return 0;
}

static int
digits(const char *s, int n, int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

int
ses_parse_time(const char *in, char *out, size_t outlen)
{
	struct tm   tm;
	char        frac[7] = "000000";
	time_t      t;
	int         y, mo, d, h, mi, s, oh = 0, om = 0, sign = 0, i;
	const char *p = in;

	if (digits(p, 4, &y) || p[4] != '-' || digits(p + 5, 2, &mo) || p[7] != '-' ||
	    digits(p + 8, 2, &d) || (p[10] != 'T' && p[10] != ' ') || digits(p + 11, 2, &h) ||
	    p[13] != ':' || digits(p + 14, 2, &mi) || p[16] != ':' || digits(p + 17, 2, &s))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
		return -1;
	p += 19;
	if (*p == '.') {
		p++;
		for (i = 0; *p >= '0' && *p <= '9'; i++, p++) {
			if (i < 6)
				frac[i] = *p;
		}
		if (i == 0)
			return -1;
	}
	if (*p == ' ')
		p++;
	if (strcmp(p, "Z") == 0 || *p == '\0') {
		sign = 0;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '+' ? 1 : -1;
		p++;
		if (digits(p, 2, &oh))
			return -1;
		p += 2;
		if (*p == ':')
			p++;
		if (digits(p, 2, &om) || p[2] != '\0' || oh > 23 || om > 59)
			return -1;
	} else {
		return -1;
	}
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	t = timegm(&tm);
	/* timegm() would quietly turn February 30 into March 2. */
	{
		struct tm chk;

		if (gmtime_r(&t, &chk) == NULL || chk.tm_mday != d || chk.tm_mon != mo - 1)
			return -1;
	}
	t -= sign * (oh * 3600 + om * 60);
	/* PostgreSQL takes years 1 to 9999 written with four digits. */
	if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 < 1 || tm.tm_year + 1900 > 9999)
		return -1;
	i = snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%sZ", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
	return (i < 0 || (size_t)i >= outlen) ? -1 : 0;
}
