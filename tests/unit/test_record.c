/* SPDX-License-Identifier: ISC */
/* ses-feedback - unit tests for the record handed to SQL (src/record.c).
 * SES fixtures are parsed with ses_parse() and turned into documents; each
 * key family of record.h is checked by name and value, and no document
 * holds a key record.h does not list. No PostgreSQL needed. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "record.h"
#include "ses.h"
#include "sns.h"

#define TOPIC "arn:aws:sns:us-east-1:123456789012:ses-bounces"

/* The keys record.h lists, by level. */
static const char *const top_keys[] = { "sns_message_id", "topic_arn", "sns_type", "sns_timestamp",
	"subject", "message_text", "message", "event_type", "ses_message_id", "source",
	"occurred_at", "recipients", "subscription", NULL };
static const char *const rcpt_keys[] = { "original", "status", "action", "diagnostic_code",
	"bounce_type", "bounce_subtype", "complaint_feedback_type", "complaint_subtype",
	"feedback_id", "unsubscribe_all", NULL };
static const char *const sub_keys[] = { "status", "subscription_arn", "subscribe_url", NULL };

static char *
read_fixture(const char *name, size_t *lenp)
{
	const char *d = getenv("SF_FIXTURES");
	char        path[1024];
	FILE       *f;
	char       *p;
	long        n;

	snprintf(
	    path, sizeof(path), "%s/ses/%s", d != NULL && *d != '\0' ? d : "tests/fixtures", name);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	p = malloc((size_t)n + 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	p[n] = '\0';
	fclose(f);
	*lenp = (size_t)n;
	return p;
}

/* An envelope as sns_parse() would leave it, for message. */
static void
envelope(struct sns_msg *m, enum sns_type type, const char *message)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->type_str = type == SNS_NOTIFICATION      ? "Notification"
	    : type == SNS_SUBSCRIPTION_CONFIRMATION ? "SubscriptionConfirmation"
	                                            : "UnsubscribeConfirmation";
	m->message_id = "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324";
	m->topic_arn = TOPIC;
	m->timestamp = "2026-12-02T10:00:00.000Z";
	m->message = message;
	m->message_len = strlen(message);
	m->subscribe_url = "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription";
}

static const char *
str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return NULL;
	assert_true(json_object_is_type(v, json_type_string));
	return json_object_get_string(v);
}

static int
has(struct json_object *o, const char *key)
{
	return json_object_object_get_ex(o, key, NULL);
}

static int
listed(const char *const *keys, const char *key)
{
	for (; *keys != NULL; keys++) {
		if (strcmp(*keys, key) == 0)
			return 1;
	}
	return 0;
}

/* Every key of o is in keys. */
static void
assert_keys_in(struct json_object *o, const char *const *keys, const char *what)
{
	json_object_object_foreach(o, k, val)
	{
		if (!listed(keys, k))
			fail_msg("%s key %s is not in record.h", what, k);
		(void)val;
	}
}

/* Every key of doc, of its recipients and of its subscription is one
 * record.h lists; and the text for ingest() parses back to doc. */
static void
assert_documented(struct json_object *doc)
{
	struct json_object *v, *back;
	size_t              i;

	assert_keys_in(doc, top_keys, "document");
	if (json_object_object_get_ex(doc, "recipients", &v)) {
		assert_true(json_object_is_type(v, json_type_array));
		for (i = 0; i < json_object_array_length(v); i++)
			assert_keys_in(json_object_array_get_idx(v, i), rcpt_keys, "recipient");
	}
	if (json_object_object_get_ex(doc, "subscription", &v))
		assert_keys_in(v, sub_keys, "subscription");
	assert_non_null(record_text(doc));
	back = json_tokener_parse(record_text(doc));
	assert_non_null(back);
	assert_int_equal(json_object_equal(back, doc), 1);
	json_object_put(back);
}

static struct json_object *
notification_of(const char *text, struct sns_msg *m, struct ses_event *ev)
{
	char                note[256];
	struct json_object *doc;

	envelope(m, SNS_NOTIFICATION, text);
	ses_parse(m->message, m->message_len, ev, note, sizeof(note));
	doc = record_notification(m, ev);
	assert_non_null(doc);
	assert_documented(doc);
	return doc;
}

static void
test_envelope_keys(void **state)
{
	struct sns_msg      m;
	struct ses_event    ev;
	struct json_object *doc;

	(void)state;
	envelope(&m, SNS_NOTIFICATION,
	    "Successfully validated SNS topic for Amazon SES event "
	    "publishing.");
	m.subject = "Amazon SES Email Event Notification";
	ses_parse(m.message, m.message_len, &ev, (char[64]){ 0 }, 64);
	doc = record_notification(&m, &ev);
	assert_non_null(doc);
	assert_documented(doc);
	assert_string_equal(str(doc, "sns_message_id"), m.message_id);
	assert_string_equal(str(doc, "topic_arn"), TOPIC);
	assert_string_equal(str(doc, "sns_type"), "Notification");
	assert_string_equal(str(doc, "sns_timestamp"), m.timestamp);
	assert_string_equal(str(doc, "subject"), "Amazon SES Email Event Notification");
	json_object_put(doc);
	ses_free(&ev);

	/* no Subject: no key, never a null */
	m.subject = NULL;
	ses_parse(m.message, m.message_len, &ev, (char[64]){ 0 }, 64);
	doc = record_notification(&m, &ev);
	assert_false(has(doc, "subject"));
	json_object_put(doc);
	ses_free(&ev);
}

/* Text that is no JSON object is stored as it came, with no SES keys and
 * an empty recipient list. */
static void
test_text_message(void **state)
{
	struct sns_msg      m;
	struct ses_event    ev;
	struct json_object *doc, *list;

	(void)state;
	doc = notification_of("Successfully validated", &m, &ev);
	assert_string_equal(str(doc, "message_text"), "Successfully validated");
	assert_false(has(doc, "message"));
	assert_false(has(doc, "event_type"));
	assert_false(has(doc, "ses_message_id"));
	assert_false(has(doc, "occurred_at"));
	assert_true(json_object_object_get_ex(doc, "recipients", &list));
	assert_int_equal(json_object_array_length(list), 0);
	json_object_put(doc);
	ses_free(&ev);
}

static void
test_bounce(void **state)
{
	struct sns_msg      m;
	struct ses_event    ev;
	struct json_object *doc, *list, *r, *msg;
	size_t              len;
	char               *text = read_fixture("identity-bounce-permanent.json", &len);

	(void)state;
	doc = notification_of(text, &m, &ev);
	/* the SES event, parsed, instead of its text */
	assert_false(has(doc, "message_text"));
	assert_true(json_object_object_get_ex(doc, "message", &msg));
	assert_int_equal(json_object_equal(msg, ev.root), 1);
	assert_string_equal(str(doc, "event_type"), "Bounce");
	assert_string_equal(str(doc, "ses_message_id"),
	    "00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa0680-000000");
	assert_string_equal(str(doc, "source"), "john@example.com");
	assert_string_equal(str(doc, "occurred_at"), "2016-01-27T14:59:38.237000Z");
	/* one recipient: only jane bounced, whatever mail.destination says */
	assert_true(json_object_object_get_ex(doc, "recipients", &list));
	assert_int_equal(json_object_array_length(list), 1);
	r = json_object_array_get_idx(list, 0);
	assert_string_equal(str(r, "original"), "jane@example.com");
	assert_string_equal(str(r, "status"), "5.1.1");
	assert_string_equal(str(r, "action"), "failed");
	assert_string_equal(
	    str(r, "diagnostic_code"), "smtp; 550 5.1.1 <jane@example.com>... User");
	assert_string_equal(str(r, "bounce_type"), "Permanent");
	assert_string_equal(str(r, "bounce_subtype"), "General");
	assert_string_equal(
	    str(r, "feedback_id"), "00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa068a-000000");
	assert_false(has(r, "complaint_feedback_type"));
	assert_false(has(r, "unsubscribe_all"));
	json_object_put(doc);
	ses_free(&ev);
	free(text);
}

static void
test_complaint(void **state)
{
	static const char text[] =
	    "{\"notificationType\":\"Complaint\",\"complaint\":{"
	    "\"complainedRecipients\":[{\"emailAddress\":\"Richard@Example.com\"}],"
	    "\"complaintFeedbackType\":\"abuse\","
	    "\"complaintSubType\":\"OnAccountSuppressionList\","
	    "\"feedbackId\":\"fb-1\"},\"mail\":{\"messageId\":\"m-1\"}}";
	struct sns_msg      m;
	struct ses_event    ev;
	struct json_object *doc, *list, *r;

	(void)state;
	doc = notification_of(text, &m, &ev);
	assert_string_equal(str(doc, "event_type"), "Complaint");
	assert_true(json_object_object_get_ex(doc, "recipients", &list));
	assert_int_equal(json_object_array_length(list), 1);
	r = json_object_array_get_idx(list, 0);
	/* as SES spelled it: the database makes the normal form */
	assert_string_equal(str(r, "original"), "Richard@Example.com");
	assert_string_equal(str(r, "complaint_feedback_type"), "abuse");
	assert_string_equal(str(r, "complaint_subtype"), "OnAccountSuppressionList");
	assert_string_equal(str(r, "feedback_id"), "fb-1");
	assert_false(has(r, "bounce_type"));
	assert_false(has(r, "status"));
	json_object_put(doc);
	ses_free(&ev);
}

static void
test_subscription_event(void **state)
{
	struct sns_msg      m;
	struct ses_event    ev;
	struct json_object *doc, *list, *r, *v;
	size_t              len;
	char               *text = read_fixture("event-subscription.json", &len);

	(void)state;
	doc = notification_of(text, &m, &ev);
	assert_string_equal(str(doc, "event_type"), "Subscription");
	assert_true(json_object_object_get_ex(doc, "recipients", &list));
	assert_int_equal(json_object_array_length(list), 1);
	r = json_object_array_get_idx(list, 0);
	assert_string_equal(str(r, "original"), "recipient@example.com");
	assert_true(json_object_object_get_ex(r, "unsubscribe_all", &v));
	assert_true(json_object_is_type(v, json_type_boolean));
	assert_int_equal(json_object_get_boolean(v), 1);
	json_object_put(doc);
	ses_free(&ev);
	free(text);
}

/* What jsonb would refuse (a NUL) goes as text, the event still parsed. */
static void
test_verbatim_only(void **state)
{
	static const char   text[] = "{\"notificationType\":\"Bounce\",\"bounce\":{"
	                             "\"bounceType\":\"Permanent\",\"bouncedRecipients\":[{"
	                             "\"emailAddress\":\"a@example.com\","
	                             "\"diagnosticCode\":\"x\\u0000y\"}]}}";
	struct sns_msg      m;
	struct ses_event    ev;
	struct json_object *doc, *list;

	(void)state;
	doc = notification_of(text, &m, &ev);
	assert_int_equal(ev.verbatim_only, 1);
	assert_false(has(doc, "message"));
	assert_string_equal(str(doc, "message_text"), text);
	assert_string_equal(str(doc, "event_type"), "Bounce");
	assert_true(json_object_object_get_ex(doc, "recipients", &list));
	assert_int_equal(json_object_array_length(list), 1);
	json_object_put(doc);
	ses_free(&ev);
}

static void
test_subscription_records(void **state)
{
	struct sns_msg      m;
	struct json_object *doc, *sub;

	(void)state;
	envelope(&m, SNS_SUBSCRIPTION_CONFIRMATION, "You have chosen to subscribe");
	doc = record_subscription(&m, RECORD_SUB_CONFIRMED, TOPIC ":a1b2");
	assert_non_null(doc);
	assert_documented(doc);
	assert_string_equal(str(doc, "sns_type"), "SubscriptionConfirmation");
	assert_string_equal(str(doc, "message_text"), "You have chosen to subscribe");
	assert_false(has(doc, "recipients"));
	assert_false(has(doc, "message"));
	assert_true(json_object_object_get_ex(doc, "subscription", &sub));
	assert_string_equal(str(sub, "status"), "confirmed");
	assert_string_equal(str(sub, "subscription_arn"), TOPIC ":a1b2");
	assert_false(has(sub, "subscribe_url"));
	json_object_put(doc);

	/* pending: the URL for the operator, and no ARN when none is known */
	doc = record_subscription(&m, RECORD_SUB_PENDING, NULL);
	assert_documented(doc);
	assert_true(json_object_object_get_ex(doc, "subscription", &sub));
	assert_string_equal(str(sub, "status"), "pending");
	assert_string_equal(str(sub, "subscribe_url"), m.subscribe_url);
	assert_false(has(sub, "subscription_arn"));
	json_object_put(doc);

	envelope(&m, SNS_UNSUBSCRIBE_CONFIRMATION, "You have chosen to deactivate");
	doc = record_subscription(&m, RECORD_SUB_UNSUBSCRIBED, NULL);
	assert_documented(doc);
	assert_true(json_object_object_get_ex(doc, "subscription", &sub));
	assert_string_equal(str(sub, "status"), "unsubscribed");
	assert_false(has(sub, "subscribe_url"));
	json_object_put(doc);
}

/* The words ses_feedback.subscriptions.status holds. */
static void
test_sub_status_names(void **state)
{
	(void)state;
	assert_string_equal(record_sub_status_name(RECORD_SUB_CONFIRMED), "confirmed");
	assert_string_equal(record_sub_status_name(RECORD_SUB_PENDING), "pending");
	assert_string_equal(record_sub_status_name(RECORD_SUB_UNSUBSCRIBED), "unsubscribed");
}

/* event_type and the metrics' event label: one table of kinds, every row
 * named and found again by its name. */
static void
test_kinds(void **state)
{
	int k;

	(void)state;
	for (k = 0; k < SES_KIND_OTHER; k++) {
		assert_non_null(ses_kind_name((enum ses_kind)k));
		assert_int_equal(ses_kind_of(ses_kind_name((enum ses_kind)k)), k);
	}
	assert_string_equal(ses_kind_name(SES_KIND_RENDERING_FAILURE), "Rendering Failure");
	assert_int_equal(ses_kind_of("AmazonSnsSubscriptionSucceeded"), SES_KIND_SNS_SUBSCRIBED);
	assert_int_equal(ses_kind_of("bounce"), SES_KIND_OTHER);
	assert_int_equal(ses_kind_of(NULL), SES_KIND_OTHER);
	assert_string_equal(ses_kind_name(SES_KIND_OTHER), "other");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_envelope_keys),
		cmocka_unit_test(test_text_message),
		cmocka_unit_test(test_bounce),
		cmocka_unit_test(test_complaint),
		cmocka_unit_test(test_subscription_event),
		cmocka_unit_test(test_verbatim_only),
		cmocka_unit_test(test_subscription_records),
		cmocka_unit_test(test_sub_status_names),
		cmocka_unit_test(test_kinds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
