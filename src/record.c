/* SPDX-License-Identifier: ISC */
/* ses-feedback - the record: the JSON document handed to SQL.
 * Built key by key as record.h lists them; any allocation that fails
 * fails the whole document, so that nothing is stored half. */
#include "config.h"

#include <stddef.h>

#include <json-c/json.h>

#include "record.h"

static struct json_object *envelope(
    const struct sns_msg *m, const char *key, struct json_object *part, const char *text_key);
static int                 add(struct json_object *o, const char *key, struct json_object *v);
static int                 add_str(struct json_object *o, const char *key, const char *v);
static struct json_object *finished(struct json_object *p, int bad);
static int                 add_recipient(
                    struct json_object *list, const struct ses_event *ev, const struct ses_rcpt *rc);

struct json_object *
record_notification(const struct sns_msg *m, const struct ses_event *ev)
{
	struct json_object *p, *list;
	size_t              i;
	int                 bad = 0;

	list = json_object_new_array();
	p = envelope(
	    m, "recipients", list, ev->root != NULL && !ev->verbatim_only ? NULL : "message_text");
	if (p == NULL)
		return NULL;
	if (ev->root != NULL && !ev->verbatim_only)
		bad |= add(p, "message", json_object_get(ev->root));
	bad |= add_str(p, "event_type", ev->kind);
	bad |= add_str(p, "ses_message_id", ev->ses_message_id);
	bad |= add_str(p, "source", ev->source);
	if (ev->occurred[0] != '\0')
		bad |= add_str(p, "occurred_at", ev->occurred);
	for (i = 0; i < ev->nrcpt && !bad; i++)
		bad |= add_recipient(list, ev, &ev->rcpt[i]);
	return finished(p, bad);
}

struct json_object *
record_subscription(
    const struct sns_msg *m, enum record_sub_status status, const char *subscription_arn)
{
	struct json_object *p, *sub;
	int                 bad = 0;

	sub = json_object_new_object();
	p = envelope(m, "subscription", sub, "message_text");
	if (p == NULL)
		return NULL;
	bad |= add_str(sub, "status", record_sub_status_name(status));
	bad |= add_str(sub, "subscription_arn", subscription_arn);
	if (status == RECORD_SUB_PENDING)
		bad |= add_str(sub, "subscribe_url", m->subscribe_url);
	return finished(p, bad);
}

const char *
record_text(struct json_object *doc)
{
	return json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN);
}

const char *
record_sub_status_name(enum record_sub_status status)
{
	switch (status) {
	case RECORD_SUB_CONFIRMED:
		return "confirmed";
	case RECORD_SUB_PENDING:
		return "pending";
	default:
		return "unsubscribed";
	}
}

/* The keys every document has, with part under key and, given text_key,
 * the Message as it came under that key. Takes part whatever happens. */
static struct json_object *
envelope(const struct sns_msg *m, const char *key, struct json_object *part, const char *text_key)
{
	struct json_object *p = json_object_new_object();

	if (p == NULL) {
		json_object_put(part);
		return NULL;
	}
	if (add(p, key, part) == -1) {
		json_object_put(p);
		return NULL;
	}
	if ((text_key != NULL &&
	        add(p, text_key, json_object_new_string_len(m->message, (int)m->message_len)) ==
	            -1) ||
	    add_str(p, "sns_message_id", m->message_id) == -1 ||
	    add_str(p, "topic_arn", m->topic_arn) == -1 ||
	    add_str(p, "sns_type", m->type_str) == -1 ||
	    add_str(p, "sns_timestamp", m->timestamp) == -1 ||
	    add_str(p, "subject", m->subject) == -1) {
		json_object_put(p);
		return NULL;
	}
	return p;
}

static int
add_recipient(struct json_object *list, const struct ses_event *ev, const struct ses_rcpt *rc)
{
	struct json_object *o = json_object_new_object();
	int                 bad;

	if (o == NULL || json_object_array_add(list, o) != 0) {
		json_object_put(o);
		return -1;
	}
	bad = add_str(o, "original", rc->original);
	bad |= add_str(o, "status", rc->status);
	bad |= add_str(o, "action", rc->action);
	bad |= add_str(o, "diagnostic_code", rc->diagnostic_code);
	bad |= add_str(o, "bounce_type", ev->bounce_type);
	bad |= add_str(o, "bounce_subtype", ev->bounce_subtype);
	bad |= add_str(o, "complaint_feedback_type", ev->complaint_feedback_type);
	bad |= add_str(o, "complaint_subtype", ev->complaint_subtype);
	bad |= add_str(o, "feedback_id", ev->feedback_id);
	if (ev->unsubscribe_all)
		bad |= add(o, "unsubscribe_all", json_object_new_boolean(1));
	return bad ? -1 : 0;
}

/* Add v (taken) under key. 0, or -1 when v is NULL (its allocation
 * failed) or the add fails. */
static int
add(struct json_object *o, const char *key, struct json_object *v)
{
	if (v == NULL)
		return -1;
	if (json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

/* A NULL value is no key at all. */
static int
add_str(struct json_object *o, const char *key, const char *v)
{
	return v == NULL ? 0 : add(o, key, json_object_new_string(v));
}

/* p, or NULL (p released) when any part of it could not be made. */
static struct json_object *
finished(struct json_object *p, int bad)
{
	if (bad) {
		json_object_put(p);
		return NULL;
	}
	return p;
}
