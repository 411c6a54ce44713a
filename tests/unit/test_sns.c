/* SPDX-License-Identifier: ISC */
/* ses-feedback - unit tests for the SNS envelope (src/sns.c, with
 * src/json_in.c under it, and the topic allow-list of src/policy.c).
 * The string to sign must be byte-exact, every malformed envelope must be
 * refused before it can reach the network, and the topic allow-list must
 * never let '*' cross an ARN field. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "buf.h"
#include "json_in.h"
#include "policy.h"
#include "sns.h"
#include "fixtures.h"

struct field {
	const char *key;
	const char *json; /* the value as JSON text */
};

/* The value that removes a field in envelope(). */
static const char OMIT[] = "(omit)";

#define SIG_VALUE   "SIGSECRETc2lnbmF0dXJl=="
#define TOKEN_VALUE "TOKENSECRET2336412f37fb687f5d51e6e241d09c805a5a57b30d712f7948a98bac386edfe3e"

/* After the examples in the SNS developer guide. */
static const struct field notification[] = {
	{ "Type", "\"Notification\"" },
	{ "MessageId", "\"22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\"" },
	{ "TopicArn", "\"arn:aws:sns:us-west-2:123456789012:MyTopic\"" },
	{ "Subject", "\"My First Message\"" },
	{ "Message", "\"Hello world!\"" },
	{ "Timestamp", "\"2012-05-02T00:54:06.655Z\"" },
	{ "SignatureVersion", "\"1\"" },
	{ "Signature", "\"" SIG_VALUE "\"" },
	{ "SigningCertURL",
	    "\"https://sns.us-west-2.amazonaws.com/"
	    "SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem\"" },
	{ "UnsubscribeURL",
	    "\"https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe&SubscriptionArn="
	    "arn:aws:sns:us-west-2:123456789012:MyTopic:c9135db0-26c4-47ec-8998-413945fb5a96\"" },
};

static const struct field confirmation[] = {
	{ "Type", "\"SubscriptionConfirmation\"" },
	{ "MessageId", "\"165545c9-2a5c-472c-8df2-7ff2be2b3b1b\"" },
	{ "Token", "\"" TOKEN_VALUE "\"" },
	{ "TopicArn", "\"arn:aws:sns:us-west-2:123456789012:MyTopic\"" },
	{ "Message",
	    "\"You have chosen to subscribe to the topic "
	    "arn:aws:sns:us-west-2:123456789012:MyTopic.\\nTo confirm the subscription, visit "
	    "the SubscribeURL included in this message.\"" },
	{ "SubscribeURL",
	    "\"https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn="
	    "arn:aws:sns:us-west-2:123456789012:MyTopic&Token=" TOKEN_VALUE "\"" },
	{ "Timestamp", "\"2012-04-26T20:45:04.751Z\"" },
	{ "SignatureVersion", "\"1\"" },
	{ "Signature", "\"" SIG_VALUE "\"" },
	{ "SigningCertURL",
	    "\"https://sns.us-west-2.amazonaws.com/"
	    "SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem\"" },
};

#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))

/* Build an envelope from base, with (key, json) overrides ending with a
 * NULL key; json OMIT drops the field, an unknown key is appended. The
 * caller frees the result. */
static char *
envelope(const struct field *base, size_t n, ...)
{
	struct {
		const char *key;
		const char *json;
		int         used;
	} ov[8];
	struct buf  b;
	va_list     ap;
	const char *k, *v;
	size_t      i, j, nov = 0;
	int         first = 1;

	va_start(ap, n);
	while ((k = va_arg(ap, const char *)) != NULL) {
		assert_true(nov < 8);
		ov[nov].key = k;
		ov[nov].json = va_arg(ap, const char *);
		ov[nov].used = 0;
		nov++;
	}
	va_end(ap);
	buf_init(&b, 1 << 20);
	assert_int_equal(buf_adds(&b, "{\n"), 0);
	for (i = 0; i < n + nov; i++) {
		if (i < n) {
			k = base[i].key;
			v = base[i].json;
			for (j = 0; j < nov; j++) {
				if (strcmp(ov[j].key, k) == 0) {
					v = ov[j].json;
					ov[j].used = 1;
				}
			}
		} else {
			if (ov[i - n].used)
				continue;
			k = ov[i - n].key;
			v = ov[i - n].json;
		}
		if (v == OMIT)
			continue;
		assert_int_equal(buf_addf(&b, "%s  \"%s\" : %s", first ? "" : ",\n", k, v), 0);
		first = 0;
	}
	assert_int_equal(buf_adds(&b, "\n}\n"), 0);
	return buf_take(&b, NULL);
}

static int
parse_str(const char *body, struct sns_msg *m, char *why, size_t whylen)
{
	why[0] = '\0';
	return sns_parse(body, strlen(body), m, why, whylen);
}

/* sns_parse must refuse body, say why (containing want), leave nothing to
 * free, and never quote the signature or the token. */
static void
refuse(const char *body, size_t len, const char *want)
{
	struct sns_msg m;
	char           why[256] = "";
	int            rc;

	rc = sns_parse(body, len, &m, why, sizeof(why));
	if (rc != -1) {
		sns_free(&m);
		fail_msg("accepted: %.300s", body);
	}
	if (want != NULL && strstr(why, want) == NULL)
		fail_msg("why \"%s\" lacks \"%s\" for %.300s", why, want, body);
	assert_null(m.root);
	assert_null(m.message);
	assert_null(strstr(why, "SIGSECRET"));
	assert_null(strstr(why, "TOKENSECRET"));
}

static void
refuse_str(const char *body, const char *want)
{
	refuse(body, strlen(body), want);
}

static void
accept_str(const char *body)
{
	struct sns_msg m;
	char           why[256] = "";

	if (parse_str(body, &m, why, sizeof(why)) != 0)
		fail_msg("refused (%s): %.300s", why, body);
	assert_non_null(m.root);
	sns_free(&m);
	assert_null(m.root);
}

/* Assert the string to sign for body. */
static void
check_sts(const char *body, const char *want)
{
	struct sns_msg m;
	struct buf     b;
	char           why[256] = "";

	if (parse_str(body, &m, why, sizeof(why)) != 0)
		fail_msg("refused (%s): %.300s", why, body);
	buf_init(&b, 1 << 20);
	assert_int_equal(sns_string_to_sign(&m, &b), 0);
	assert_int_equal(b.len, strlen(want));
	assert_memory_equal(b.data, want, b.len);
	buf_free(&b);
	sns_free(&m);
}

static void
test_parse_notification(void **state)
{
	struct sns_msg m;
	char          *body;
	char           why[256] = "";

	body = envelope(notification, NFIELDS(notification), NULL);
	assert_int_equal(parse_str(body, &m, why, sizeof(why)), 0);
	assert_non_null(m.root);
	assert_int_equal(m.type, SNS_NOTIFICATION);
	assert_string_equal(m.type_str, "Notification");
	assert_string_equal(m.message_id, "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324");
	assert_string_equal(m.topic_arn, "arn:aws:sns:us-west-2:123456789012:MyTopic");
	assert_string_equal(m.subject, "My First Message");
	assert_string_equal(m.message, "Hello world!");
	assert_int_equal(m.message_len, 12);
	assert_string_equal(m.timestamp, "2012-05-02T00:54:06.655Z");
	assert_string_equal(m.signature_version, "1");
	assert_int_equal(m.sigver, 1);
	assert_string_equal(m.signature, SIG_VALUE);
	assert_string_equal(m.signing_cert_url,
	    "https://sns.us-west-2.amazonaws.com/"
	    "SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem");
	assert_non_null(m.unsubscribe_url);
	assert_null(m.subscribe_url);
	assert_null(m.token);
	assert_string_equal(m.arn.partition, "aws");
	assert_string_equal(m.arn.region, "us-west-2");
	assert_string_equal(m.arn.account, "123456789012");
	assert_string_equal(m.arn.name, "MyTopic");
	sns_free(&m);
	assert_null(m.root);
	free(body);
}

static void
test_parse_confirmation(void **state)
{
	struct sns_msg m;
	char          *body;
	char           why[256] = "";

	body = envelope(confirmation, NFIELDS(confirmation), "SignatureVersion", "\"2\"", NULL);
	assert_int_equal(parse_str(body, &m, why, sizeof(why)), 0);
	assert_int_equal(m.type, SNS_SUBSCRIPTION_CONFIRMATION);
	assert_int_equal(m.sigver, 2);
	assert_string_equal(m.token, TOKEN_VALUE);
	assert_string_equal(m.subscribe_url,
	    "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn="
	    "arn:aws:sns:us-west-2:123456789012:MyTopic&Token=" TOKEN_VALUE);
	assert_null(m.subject);
	assert_null(m.unsubscribe_url);
	/* the JSON escape \n is a real newline in the decoded value */
	assert_non_null(strstr(m.message, "MyTopic.\nTo confirm"));
	sns_free(&m);
	free(body);
}

static void
test_sts_notification_with_subject(void **state)
{
	char *body = envelope(notification, NFIELDS(notification), NULL);

	check_sts(body,
	    "Message\n"
	    "Hello world!\n"
	    "MessageId\n"
	    "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\n"
	    "Subject\n"
	    "My First Message\n"
	    "Timestamp\n"
	    "2012-05-02T00:54:06.655Z\n"
	    "TopicArn\n"
	    "arn:aws:sns:us-west-2:123456789012:MyTopic\n"
	    "Type\n"
	    "Notification\n");
	free(body);
}

static const char sts_no_subject[] = FIXTURE_STS_NOTIFICATION;

static void
test_sts_notification_without_subject(void **state)
{
	char *body = envelope(notification, NFIELDS(notification), "Subject", OMIT, NULL);

	check_sts(body, sts_no_subject);
	free(body);
}

static void
test_sts_notification_subject_null(void **state)
{
	struct sns_msg m;
	char          *body;
	char           why[256] = "";

	body = envelope(notification, NFIELDS(notification), "Subject", "null", NULL);
	assert_int_equal(parse_str(body, &m, why, sizeof(why)), 0);
	assert_null(m.subject);
	sns_free(&m);
	check_sts(body, sts_no_subject);
	free(body);
}

/* An empty Subject is present, not absent. */
static void
test_sts_notification_subject_empty(void **state)
{
	char *body = envelope(notification, NFIELDS(notification), "Subject", "\"\"", NULL);

	check_sts(body,
	    "Message\n"
	    "Hello world!\n"
	    "MessageId\n"
	    "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\n"
	    "Subject\n"
	    "\n"
	    "Timestamp\n"
	    "2012-05-02T00:54:06.655Z\n"
	    "TopicArn\n"
	    "arn:aws:sns:us-west-2:123456789012:MyTopic\n"
	    "Type\n"
	    "Notification\n");
	free(body);
}

/* The string to sign of a confirmation: the fields that differ between
 * the cases below, the rest as in confirmation[]. */
#define CONFIRMATION_STS(message, id, url_token, timestamp, token, type)                           \
	"Message\n" message "\n"                                                                   \
	"MessageId\n" id "\n"                                                                      \
	"SubscribeURL\n"                                                                           \
	"https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn="                \
	"arn:aws:sns:us-west-2:123456789012:MyTopic&Token=" url_token "\n"                         \
	"Timestamp\n" timestamp "\n"                                                               \
	"Token\n" token "\n"                                                                       \
	"TopicArn\n"                                                                               \
	"arn:aws:sns:us-west-2:123456789012:MyTopic\n"                                             \
	"Type\n" type "\n"

/* Confirmations: overrides of confirmation[] (NULL-terminated pairs), the
 * type they parse as, and their string to sign. */
static const struct {
	const char   *what;
	const char   *ov[13];
	enum sns_type type;
	const char   *want;
} confirmation_cases[] = {
	{ "the guide's SubscriptionConfirmation", { NULL }, SNS_SUBSCRIPTION_CONFIRMATION,
	    CONFIRMATION_STS("You have chosen to subscribe to the topic "
	                     "arn:aws:sns:us-west-2:123456789012:MyTopic.\n"
	                     "To confirm the subscription, visit the SubscribeURL included in this "
	                     "message.",
	        "165545c9-2a5c-472c-8df2-7ff2be2b3b1b", TOKEN_VALUE, "2012-04-26T20:45:04.751Z",
	        TOKEN_VALUE, "SubscriptionConfirmation") },
	/* Subject is not part of a confirmation's string to sign. */
	{ "Subject and UnsubscribeURL ignored",
	    { "Message", "\"m\"", "Subject", "\"ignored\"", "UnsubscribeURL",
	        "\"https://example.com/\"", NULL },
	    SNS_SUBSCRIPTION_CONFIRMATION,
	    CONFIRMATION_STS("m", "165545c9-2a5c-472c-8df2-7ff2be2b3b1b", TOKEN_VALUE,
	        "2012-04-26T20:45:04.751Z", TOKEN_VALUE, "SubscriptionConfirmation") },
	{ "the guide's UnsubscribeConfirmation",
	    { "Type", "\"UnsubscribeConfirmation\"", "MessageId",
	        "\"47138184-6831-46b8-8f7c-afc488602d7d\"", "Token", "\"2336412f37\"", "Message",
	        "\"You have chosen to deactivate subscription "
	        "arn:aws:sns:us-west-2:123456789012:MyTopic:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55."
	        "\\nTo "
	        "cancel this operation and restore the subscription, visit the SubscribeURL "
	        "included "
	        "in this message.\"",
	        "SubscribeURL",
	        "\"https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn="
	        "arn:aws:sns:us-west-2:123456789012:MyTopic&Token=2336412f37\"",
	        "Timestamp", "\"2012-04-26T20:06:41.581Z\"", NULL },
	    SNS_UNSUBSCRIBE_CONFIRMATION,
	    CONFIRMATION_STS("You have chosen to deactivate subscription "
	                     "arn:aws:sns:us-west-2:123456789012:MyTopic:"
	                     "2bcfbf39-05c3-41de-beaa-fcfcc21c8f55.\n"
	                     "To cancel this operation and restore the subscription, visit the "
	                     "SubscribeURL included in this message.",
	        "47138184-6831-46b8-8f7c-afc488602d7d", "2336412f37", "2012-04-26T20:06:41.581Z",
	        "2336412f37", "UnsubscribeConfirmation") },
};

static void
test_sts_confirmations(void **state)
{
	const char *const *o;
	struct sns_msg     m;
	char               why[256];
	char              *body;
	size_t             i;

	for (i = 0; i < NFIELDS(confirmation_cases); i++) {
		o = confirmation_cases[i].ov;
		body = envelope(confirmation, NFIELDS(confirmation), o[0], o[1], o[2], o[3], o[4],
		    o[5], o[6], o[7], o[8], o[9], o[10], o[11], o[12]);
		why[0] = '\0';
		if (parse_str(body, &m, why, sizeof(why)) != 0)
			fail_msg("%s: refused (%s)", confirmation_cases[i].what, why);
		if (m.type != confirmation_cases[i].type)
			fail_msg("%s: type %d", confirmation_cases[i].what, (int)m.type);
		sns_free(&m);
		check_sts(body, confirmation_cases[i].want);
		free(body);
	}
}

/* Values are the decoded strings, never the JSON spelling. */
static void
test_sts_decoded_values(void **state)
{
	char *body = envelope(notification, NFIELDS(notification), "Message",
	    "\"{\\\"notificationType\\\":\\\"Bounce\\\",\\\"x\\\":\\\"a\\\\nb\\\"}\\n"
	    "caf\\u00e9 \\ud83d\\ude00 \\/ \\\"q\\\" \\\\ \\t|\\r\\n"
	    "line two\"",
	    "Subject", "\"R\\u00e9sum\\u00E9 \\\"x\\\"\\nnext\"", NULL);

	check_sts(body,
	    "Message\n"
	    "{\"notificationType\":\"Bounce\",\"x\":\"a\\nb\"}\n"
	    "caf\xc3\xa9 \xf0\x9f\x98\x80 / \"q\" \\ \t|\r\n"
	    "line two\n"
	    "MessageId\n"
	    "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\n"
	    "Subject\n"
	    "R\xc3\xa9sum\xc3\xa9 \"x\"\nnext\n"
	    "Timestamp\n"
	    "2012-05-02T00:54:06.655Z\n"
	    "TopicArn\n"
	    "arn:aws:sns:us-west-2:123456789012:MyTopic\n"
	    "Type\n"
	    "Notification\n");
	free(body);
}

/* Raw UTF-8 passes through untouched; only escapes are decoded. */
static void
test_sts_raw_utf8(void **state)
{
	char          *body = envelope(notification, NFIELDS(notification), "Message",
	             "\"\xe6\x97\xa5\xe6\x9c\xac \xc3\xa9\"", "Subject", OMIT, NULL);
	struct sns_msg m;
	char           why[256];

	assert_int_equal(parse_str(body, &m, why, sizeof(why)), 0);
	assert_int_equal(m.message_len, 9);
	sns_free(&m);
	check_sts(body,
	    "Message\n"
	    "\xe6\x97\xa5\xe6\x9c\xac \xc3\xa9\n"
	    "MessageId\n"
	    "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\n"
	    "Timestamp\n"
	    "2012-05-02T00:54:06.655Z\n"
	    "TopicArn\n"
	    "arn:aws:sns:us-west-2:123456789012:MyTopic\n"
	    "Type\n"
	    "Notification\n");
	free(body);
}

static void
test_sts_buffer_cap(void **state)
{
	struct sns_msg m;
	struct buf     b;
	char          *body;
	char           why[256];

	body = envelope(notification, NFIELDS(notification), NULL);
	assert_int_equal(parse_str(body, &m, why, sizeof(why)), 0);
	/* appends to what is there */
	buf_init(&b, 4096);
	assert_int_equal(buf_adds(&b, "X"), 0);
	assert_int_equal(sns_string_to_sign(&m, &b), 0);
	assert_int_equal(strncmp(b.data, "XMessage\nHello world!\n", 22), 0);
	buf_free(&b);
	/* too small: fails and the buffer is freed */
	buf_init(&b, 40);
	assert_int_equal(sns_string_to_sign(&m, &b), -1);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	sns_free(&m);
	free(body);
}

static void
test_accept_variants(void **state)
{
	char *body, *p;

	/* white space after the value is fine */
	body = envelope(notification, NFIELDS(notification), NULL);
	p = malloc(strlen(body) + 8);
	assert_non_null(p);
	strcpy(p, body);
	strcat(p, " \t\r\n ");
	accept_str(p);
	free(p);
	free(body);
	/* a Timestamp without a fraction is tolerated */
	body = envelope(
	    notification, NFIELDS(notification), "Timestamp", "\"2012-05-02T00:54:06Z\"", NULL);
	accept_str(body);
	free(body);
	/* unknown fields are ignored; UnsubscribeURL is optional */
	body = envelope(notification, NFIELDS(notification), "UnsubscribeURL", OMIT, "Extra",
	    "{\"a\":[1,2,{\"b\":null}]}", NULL);
	accept_str(body);
	free(body);
	/* an empty Message is still a Message */
	body = envelope(notification, NFIELDS(notification), "Message", "\"\"", NULL);
	accept_str(body);
	free(body);
}

static void
test_refuse_not_json(void **state)
{
	char  *body, *p;
	size_t n;

	refuse_str("", "invalid JSON");
	refuse_str("   ", "invalid JSON");
	refuse_str("hello", "invalid JSON");
	refuse_str("{", "invalid JSON");
	refuse_str("{\"Type\":", "invalid JSON");
	refuse_str("{\"Type\":\"Notification\",}", "invalid JSON");
	refuse_str("Type=Notification&Message=x", "invalid JSON");
	refuse_str("\xef\xbb\xbf{}", "invalid JSON");

	/* a complete envelope cut short */
	body = envelope(notification, NFIELDS(notification), NULL);
	n = strlen(body);
	refuse(body, n / 2, "invalid JSON");
	refuse(body, n - 3, "invalid JSON");

	/* trailing garbage */
	p = malloc(n + 16);
	assert_non_null(p);
	memcpy(p, body, n);
	strcpy(p + n, "x");
	refuse_str(p, "invalid JSON");
	strcpy(p + n, "{}");
	refuse_str(p, "invalid JSON");
	strcpy(p + n, " ,");
	refuse_str(p, "invalid JSON");
	/* a NUL inside the body's length, then more */
	memcpy(p + n, "\0\0", 2);
	refuse(p, n + 1, "invalid JSON");
	memcpy(p + n, "\0{}", 3);
	refuse(p, n + 3, "invalid JSON");
	free(p);
	free(body);
}

static void
test_refuse_not_object(void **state)
{
	refuse_str("[]", "not a JSON object");
	refuse_str("[{\"Type\":\"Notification\"}]", "not a JSON object");
	refuse_str("\"Notification\"", "not a JSON object");
	/* json-c cannot tell a bare scalar at the end from a cut one, so the
	 * reason may be either */
	refuse_str("42", "JSON");
	refuse_str("null", "JSON");
	refuse_str("true", "JSON");
}

static const char *const required_notification[] = { "Type", "MessageId", "TopicArn", "Message",
	"Timestamp", "SignatureVersion", "Signature", "SigningCertURL" };
static const char *const required_confirmation[] = { "Type", "MessageId", "TopicArn", "Message",
	"Timestamp", "SignatureVersion", "Signature", "SigningCertURL", "SubscribeURL", "Token" };

static void
refuse_field(
    const struct field *base, size_t n, const char *key, const char *json, const char *want_prefix)
{
	char  want[96];
	char *body = envelope(base, n, key, json, NULL);

	snprintf(want, sizeof(want), "%s%s", want_prefix, key);
	refuse_str(body, want);
	free(body);
}

static void
test_refuse_missing_fields(void **state)
{
	size_t i;

	for (i = 0; i < NFIELDS(required_notification); i++) {
		refuse_field(notification, NFIELDS(notification), required_notification[i], OMIT,
		    "missing field ");
		/* JSON null counts as absent */
		refuse_field(notification, NFIELDS(notification), required_notification[i], "null",
		    "missing field ");
	}
	for (i = 0; i < NFIELDS(required_confirmation); i++) {
		refuse_field(confirmation, NFIELDS(confirmation), required_confirmation[i], OMIT,
		    "missing field ");
		refuse_field(confirmation, NFIELDS(confirmation), required_confirmation[i], "null",
		    "missing field ");
	}
	/* an UnsubscribeConfirmation needs them too */
	refuse_field(confirmation, NFIELDS(confirmation), "Token", OMIT, "missing field ");
	refuse_str("{}", "missing field Type");
}

static void
test_refuse_non_string_fields(void **state)
{
	static const char *const values[] = { "1", "true", "false", "{}", "[]",
		"[\"Notification\"]", "{\"a\":\"b\"}", "1.5" };
	size_t                   i, j;

	for (i = 0; i < NFIELDS(required_confirmation); i++) {
		for (j = 0; j < NFIELDS(values); j++) {
			refuse_field(confirmation, NFIELDS(confirmation), required_confirmation[i],
			    values[j], "field ");
		}
	}
	for (j = 0; j < NFIELDS(values); j++) {
		refuse_field(notification, NFIELDS(notification), "Subject", values[j], "field ");
		refuse_field(
		    notification, NFIELDS(notification), "UnsubscribeURL", values[j], "field ");
	}
}

static void
test_refuse_unknown_type(void **state)
{
	static const char *const types[] = { "\"Notice\"", "\"notification\"", "\"NOTIFICATION\"",
		"\"\"", "\"Notification \"", "\"SubscriptionConfirmation2\"", "\"Subscription\"" };
	size_t                   i;
	char                    *body;

	for (i = 0; i < NFIELDS(types); i++) {
		body = envelope(notification, NFIELDS(notification), "Type", types[i], NULL);
		refuse_str(body, "unknown Type");
		free(body);
	}
}

static void
test_refuse_signature_version(void **state)
{
	static const char *const versions[] = { "\"3\"", "\"0\"", "\"\"", "\"01\"", "\"1.0\"",
		"\" 1\"", "\"2 \"", "\"v2\"", "\"-1\"" };
	size_t                   i;
	char                    *body;

	for (i = 0; i < NFIELDS(versions); i++) {
		body = envelope(
		    notification, NFIELDS(notification), "SignatureVersion", versions[i], NULL);
		refuse_str(body, "SignatureVersion");
		free(body);
	}
	/* a number, not a string */
	body = envelope(notification, NFIELDS(notification), "SignatureVersion", "1", NULL);
	refuse_str(body, "field SignatureVersion is not a string");
	free(body);
}

static void
test_refuse_topic_arn(void **state)
{
	static const char *const arns[] = {
		"\"\"",
		"\"MyTopic\"",
		"\"arn:aws:sns:us-east-1:123456789012\"",
		"\"arn:aws:sns:us-east-1:123456789012:\"",
		"\"arn:aws:sqs:us-east-1:123456789012:MyTopic\"",
		"\"arn:aws-:sns:us-iso-east-1:123456789012:MyTopic\"",
		"\"arn:awsx:sns:us-east-1:123456789012:MyTopic\"",
		"\"arn:aws:sns:US-EAST-1:123456789012:MyTopic\"",
		"\"arn:aws:sns:us-east-1:12345678901:MyTopic\"",
		"\"arn:aws:sns:us-east-1:1234567890123:MyTopic\"",
		"\"arn:aws:sns:us-east-1:123456789012:My:Topic\"",
		"\"arn:aws:sns:us-east-1:123456789012:My/Topic\"",
		"\"arn:aws:sns:us-east-1:123456789012:a.b\"",
		"\"ARN:aws:sns:us-east-1:123456789012:MyTopic\"",
		"\" arn:aws:sns:us-east-1:123456789012:MyTopic\"",
		"\"arn:aws:sns:us-east-1:123456789012:MyTopic\\n\"",
	};
	size_t i;
	char  *body;

	for (i = 0; i < NFIELDS(arns); i++) {
		body = envelope(notification, NFIELDS(notification), "TopicArn", arns[i], NULL);
		refuse_str(body, "TopicArn");
		free(body);
	}
}

static void
test_refuse_timestamp(void **state)
{
	static const char *const stamps[] = {
		"\"\"",
		"\"yesterday\"",
		"\"2012-05-02T00:54:06.655\"",
		"\"2012-05-02 00:54:06.655Z\"",
		"\"2012-05-02T00:54:06.Z\"",
		"\"2012-05-02T00:54:06.655+00:00\"",
		"\"2012-05-02T00:54:06.655z\"",
		"\"2012-5-2T00:54:06.655Z\"",
		"\"2012-05-02T00:54:06.655Zjunk\"",
		"\"2012-05-02\"",
		"\"1335920046\"",
		"\"Wed, 02 May 2012 00:54:06 GMT\"",
	};
	size_t i;
	char  *body;

	for (i = 0; i < NFIELDS(stamps); i++) {
		body = envelope(notification, NFIELDS(notification), "Timestamp", stamps[i], NULL);
		refuse_str(body, "Timestamp");
		free(body);
	}
}

static void
test_refuse_message_id(void **state)
{
	static const char *const ids[] = { "\"\"", "\"a b\"", "\"../../etc\"", "\"id;drop\"",
		"\"id\\n\"" };
	size_t                   i;
	char                    *body;

	for (i = 0; i < NFIELDS(ids); i++) {
		body = envelope(notification, NFIELDS(notification), "MessageId", ids[i], NULL);
		refuse_str(body, "MessageId");
		free(body);
	}
}

static void
test_refuse_nul(void **state)
{
	static const char *const keys[] = { "Type", "MessageId", "TopicArn", "Message", "Timestamp",
		"SignatureVersion", "Signature", "SigningCertURL", "SubscribeURL", "Token" };
	char                     want[64];
	char                    *body;
	size_t                   i;

	for (i = 0; i < NFIELDS(keys); i++) {
		body =
		    envelope(confirmation, NFIELDS(confirmation), keys[i], "\"a\\u0000b\"", NULL);
		snprintf(want, sizeof(want), "field %s contains a NUL byte", keys[i]);
		refuse_str(body, want);
		free(body);
	}
	body = envelope(notification, NFIELDS(notification), "Subject", "\"x\\u0000\"", NULL);
	refuse_str(body, "field Subject contains a NUL byte");
	free(body);
	body = envelope(notification, NFIELDS(notification), "Message",
	    "\"{\\\"notificationType\\\":\\\"Bounce\\\"}\\u0000trailer\"", NULL);
	refuse_str(body, "field Message contains a NUL byte");
	free(body);
}

/* Byte sequences that are not UTF-8 by any reading. */
static void
test_refuse_invalid_utf8(void **state)
{
	static const char *const bad[] = {
		"\"a\xff"
		"b\"",                      /* never valid */
		"\"\xfe\"",                 /* never valid */
		"\"caf\xc3\"",              /* truncated sequence */
		"\"\x80\"",                 /* lone continuation byte */
		"\"\xe6\x97\"",             /* truncated three-byte sequence */
		"\"\xf8\x88\x80\x80\x80\"", /* five-byte form */
		"\"caf\xe9\"",              /* Latin-1, not UTF-8 */
	};
	size_t i;
	char  *body;

	for (i = 0; i < NFIELDS(bad); i++) {
		body = envelope(notification, NFIELDS(notification), "Message", bad[i], NULL);
		refuse_str(body, "invalid JSON");
		free(body);
		body = envelope(notification, NFIELDS(notification), "Subject", bad[i], NULL);
		refuse_str(body, "invalid JSON");
		free(body);
	}
	/* in a key, and between tokens */
	body = envelope(notification, NFIELDS(notification), "\xff", "\"x\"", NULL);
	refuse_str(body, "invalid JSON");
	free(body);
	refuse_str("{\"Type\":\"Notification\",\xff}", "invalid JSON");
}

/* Regression: json-c's JSON_TOKENER_VALIDATE_UTF8 checks only the
 * lead/continuation byte pattern; overlong forms, encoded UTF-16
 * surrogates and code points above U+10FFFF must still be refused (and
 * PostgreSQL would refuse to store them). */
static void
test_refuse_invalid_utf8_wellformed_pattern(void **state)
{
	static const char *const bad[] = {
		"\"\xc0\xaf\"",         /* overlong '/' */
		"\"\xe0\x80\xaf\"",     /* overlong '/' */
		"\"\xed\xa0\x80\"",     /* surrogate D800 */
		"\"\xf4\x90\x80\x80\"", /* U+110000 */
		"\"\xf5\x80\x80\x80\"", /* lead byte above F4 */
	};
	size_t i;
	char  *body;

	for (i = 0; i < NFIELDS(bad); i++) {
		body = envelope(notification, NFIELDS(notification), "Message", bad[i], NULL);
		refuse_str(body, "invalid JSON");
		free(body);
	}
}

/* jsonin_utf8() as it was, a byte at a time: the reference for the
 * version that skips ASCII eight bytes at a time. */
static int
utf8_bytewise(const unsigned char *s, size_t len)
{
	size_t        i = 0, n, k;
	unsigned long cp;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf) {
			n = 1;
			cp = s[i] & 0x1f;
		} else if (s[i] >= 0xe0 && s[i] <= 0xef) {
			n = 2;
			cp = s[i] & 0x0f;
		} else if (s[i] >= 0xf0 && s[i] <= 0xf4) {
			n = 3;
			cp = s[i] & 0x07;
		} else {
			return 0;
		}
		if (len - i <= n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

/* Each sequence, good and bad, at every offset of ASCII around it (both
 * sides of every eight-byte step), cut at every length: the same answer
 * as the byte-at-a-time reading. */
static void
test_utf8_every_offset(void **state)
{
	static const char *const seq[] = { "\xc3\xa9", "\xe6\x97\xa5", "\xf0\x9f\x98\x80",
		"\xf4\x8f\xbf\xbf", "\xff", "\x80", "\xc3", "\xe6\x97", "\xc0\xaf", "\xed\xa0\x80",
		"\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xe9", "\x7f", "\xc3\xa9\xc3\xa9" };
	unsigned char            b[64];
	size_t                   i, pre, post, n, cut;

	(void)state;
	for (i = 0; i < NFIELDS(seq); i++) {
		n = strlen(seq[i]);
		for (pre = 0; pre <= 17; pre++) {
			for (post = 0; post <= 17; post++) {
				memset(b, 'a', sizeof(b));
				memcpy(b + pre, seq[i], n);
				for (cut = 0; cut <= pre + n + post; cut++) {
					if (jsonin_utf8((const char *)b, cut) !=
					    utf8_bytewise(b, cut))
						fail_msg("sequence %zu after %zu bytes, %zu cut", i,
						    pre, cut);
				}
			}
		}
	}
	/* a NUL is ASCII here (jsonin_str refuses it later) */
	assert_int_equal(jsonin_utf8("abcdefgh\0ijklmnop", 17), 1);
}

/* Tokeners are kept between parses: what one parse leaves behind (an
 * error half way, a truncated text, an object too deep, the other depth
 * limit) never changes the next one's answer. */
static void
test_parse_after_parse(void **state)
{
	static const char *const texts[] = { "{\"a\":[1,2,{\"b\":\"c\"}]}", "{\"a\":[1,2,",
		"[[[[[[[[[[]]]]]]]]]]", "{\"a\":\"\\ud800\"}", "{\"a\" 1}", "{\"a\":1} x",
		"\"just a string\"", "{}" };
	static const int         depths[] = { 4, 32, 4, 11 };
	struct json_object      *o;
	char                     why[128], first[sizeof(texts) / sizeof(texts[0])][128];
	size_t                   i, d, round;

	(void)state;
	for (round = 0; round < 3; round++) {
		for (d = 0; d < sizeof(depths) / sizeof(depths[0]); d++) {
			for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
				why[0] = '\0';
				o = jsonin_parse(
				    texts[i], strlen(texts[i]), depths[d], why, sizeof(why));
				if (o != NULL)
					snprintf(why, sizeof(why), "ok %s",
					    json_object_to_json_string_ext(
					        o, JSON_C_TO_STRING_PLAIN));
				json_object_put(o);
				if (round == 0 && d == 0)
					memcpy(first[i], why, sizeof(why));
				else if (depths[d] == 4 && strcmp(why, first[i]) != 0)
					fail_msg(
					    "text %zu: \"%s\", first \"%s\"", i, why, first[i]);
			}
		}
	}
	/* ten arrays deep: the limit of each parse is its own */
	o = jsonin_parse(texts[2], strlen(texts[2]), 10, why, sizeof(why));
	assert_non_null(o);
	json_object_put(o);
	assert_null(jsonin_parse(texts[2], strlen(texts[2]), 9, why, sizeof(why)));
	o = jsonin_parse(texts[2], strlen(texts[2]), 10, why, sizeof(why));
	assert_non_null(o);
	json_object_put(o);
}

/* SNS_MAX_DEPTH counts the envelope object itself. */
static void
test_depth_limit(void **state)
{
	char  nest[2 * SNS_MAX_DEPTH + 8];
	char *body;
	int   i, inner;

	for (inner = SNS_MAX_DEPTH - 1; inner <= SNS_MAX_DEPTH + 2; inner++) {
		for (i = 0; i < inner; i++) {
			nest[i] = '[';
			nest[inner + i] = ']';
		}
		nest[2 * inner] = '\0';
		body = envelope(notification, NFIELDS(notification), "Deep", nest, NULL);
		if (inner + 1 <= SNS_MAX_DEPTH)
			accept_str(body);
		else
			refuse_str(body, "invalid JSON");
		free(body);
	}
	/* deep objects, at the front of the envelope */
	body = strdup("{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{"
	              "\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{}}}}}}}}}}}}}}}}}}");
	assert_non_null(body);
	refuse_str(body, "invalid JSON");
	free(body);
}

static void
test_refuse_too_long(void **state)
{
	char   id[160], *json, *body;
	size_t n = 2000;

	memset(id, 'a', sizeof(id));
	id[0] = '"';
	id[130] = '"';
	id[131] = '\0';
	body = envelope(notification, NFIELDS(notification), "MessageId", id, NULL);
	refuse_str(body, "field MessageId too long");
	free(body);

	json = malloc(n + 3);
	assert_non_null(json);
	memset(json, 'b', n + 2);
	json[0] = '"';
	json[n + 1] = '"';
	json[n + 2] = '\0';
	body = envelope(notification, NFIELDS(notification), "SigningCertURL", json, NULL);
	refuse_str(body, "field SigningCertURL too long");
	free(body);
	body = envelope(notification, NFIELDS(notification), "Subject", json, NULL);
	refuse_str(body, "field Subject too long");
	free(body);
	free(json);
}

struct arn_case {
	const char *arn;
	const char *partition, *region, *account, *name;
};

static void
test_arn_parse_good(void **state)
{
	static const struct arn_case cases[] = {
		{ "arn:aws:sns:us-east-1:123456789012:MyTopic", "aws", "us-east-1", "123456789012",
		    "MyTopic" },
		{ "arn:aws-cn:sns:cn-north-1:123456789012:t", "aws-cn", "cn-north-1",
		    "123456789012", "t" },
		{ "arn:aws-us-gov:sns:us-gov-west-1:000000000000:ses_feedback-1", "aws-us-gov",
		    "us-gov-west-1", "000000000000", "ses_feedback-1" },
		{ "arn:aws:sns:eu-west-3:123456789012:orders.fifo", "aws", "eu-west-3",
		    "123456789012", "orders.fifo" },
	};
	struct sns_arn a;
	size_t         i;

	for (i = 0; i < NFIELDS(cases); i++) {
		memset(&a, 0x5a, sizeof(a));
		if (sns_arn_parse(cases[i].arn, &a) != 0)
			fail_msg("sns_arn_parse(\"%s\") refused", cases[i].arn);
		assert_string_equal(a.partition, cases[i].partition);
		assert_string_equal(a.region, cases[i].region);
		assert_string_equal(a.account, cases[i].account);
		assert_string_equal(a.name, cases[i].name);
	}
}

static void
test_arn_parse_bad(void **state)
{
	static const char *const bad[] = {
		"arn:aws-:sns:us-east-1:123456789012:t",
		"arn:aws-iso-:sns:us-east-1:123456789012:t",
		"arn:aws-ISO:sns:us-east-1:123456789012:t",
		"arn:aws-averyverylongname:sns:us-east-1:123456789012:t",
		"arn:aws-us-gov-sns:us-gov-west-1:123456789012:t",
		"arn:aws-cn-sns:cn-north-1:123456789012:t",
		"arn:aws-sns:us-east-1:123456789012:t",
		"arn:aws:sns-us-east-1:123456789012:t",
		"arn:aws:sns:US-EAST-1:123456789012:t",
		"arn:aws:sns:us-East-1:123456789012:t",
		"arn:aws:sns:us-east-1:12345678901:t",
		"arn:aws:sns:us-east-1:1234567890123:t",
		"arn:aws:sns:us-east-1:12345678901a:t",
		"arn:aws:sns:us-east-1:123456789012:a:b",
		"arn:aws:sns:us-east-1:123456789012:a/b",
		"arn:aws:sns:us-east-1:123456789012:a.b",
		"arn:aws:sns:us-east-1:123456789012:.fifo",
		"arn:aws:sns:us-east-1:123456789012:a.fifo.fifo",
		"arn:aws:sns:us-east-1:123456789012:a.FIFO",
		"arn:aws:sns:us-east-1:123456789012:",
		"arn:aws:sns:us-east-1:123456789012:t ",
		"arn:aws:sns:us-east-1:123456789012:t\n",
		"arn:aws:sns:us-east-1:123456789012:caf\xc3\xa9",
		"arn:aws:sns::123456789012:t",
		"arn:aws:sns:us1:123456789012:t",
		"arn:aws:sns:-us-east-1:123456789012:t",
		"arn:aws:sns:us-east-1-:123456789012:t",
		"arn:aws:sns:us_east_1:123456789012:t",
		"arn:aws:sns:us-east-1.evil.com:123456789012:t",
		"arn:aws:sns:abcdefghijklmnopqrstuvwxyz0123456789:123456789012:t",
		"arn:aws:sqs:us-east-1:123456789012:t",
		"arn:aws:SNS:us-east-1:123456789012:t",
		"ARN:aws:sns:us-east-1:123456789012:t",
		" arn:aws:sns:us-east-1:123456789012:t",
		"arn:aws:sns:us-east-1:123456789012",
		"arn:aws:sns:us-east-1",
		"",
	};
	struct sns_arn a;
	size_t         i;

	for (i = 0; i < NFIELDS(bad); i++) {
		if (sns_arn_parse(bad[i], &a) != -1)
			fail_msg("sns_arn_parse(\"%s\") accepted", bad[i]);
	}
}

static void
test_arn_name_length(void **state)
{
	char           arn[400];
	struct sns_arn a;
	size_t         p;

	p = (size_t)snprintf(arn, sizeof(arn), "arn:aws:sns:us-east-1:123456789012:");
	memset(arn + p, 'n', 256);
	arn[p + 256] = '\0';
	assert_int_equal(sns_arn_parse(arn, &a), 0);
	assert_int_equal(strlen(a.name), 256);
	arn[p + 256] = 'n';
	arn[p + 257] = '\0';
	assert_int_equal(sns_arn_parse(arn, &a), -1);
}

static void
test_host_for(void **state)
{
	struct sns_arn a;
	char           host[64];

	assert_int_equal(sns_arn_parse("arn:aws:sns:us-east-1:123456789012:t", &a), 0);
	assert_int_equal(sns_host_for(&a, host, sizeof(host)), 0);
	assert_string_equal(host, "sns.us-east-1.amazonaws.com");
	/* exactly enough room, and one byte short */
	assert_int_equal(sns_host_for(&a, host, strlen("sns.us-east-1.amazonaws.com") + 1), 0);
	assert_int_equal(sns_host_for(&a, host, strlen("sns.us-east-1.amazonaws.com")), -1);

	assert_int_equal(sns_arn_parse("arn:aws-cn:sns:cn-north-1:123456789012:t", &a), 0);
	assert_int_equal(sns_host_for(&a, host, sizeof(host)), 0);
	assert_string_equal(host, "sns.cn-north-1.amazonaws.com.cn");

	assert_int_equal(sns_arn_parse("arn:aws-cn:sns:cn-northwest-1:123456789012:t", &a), 0);
	assert_int_equal(sns_host_for(&a, host, sizeof(host)), 0);
	assert_string_equal(host, "sns.cn-northwest-1.amazonaws.com.cn");

	assert_int_equal(sns_arn_parse("arn:aws-us-gov:sns:us-gov-west-1:123456789012:t", &a), 0);
	assert_int_equal(sns_host_for(&a, host, sizeof(host)), 0);
	assert_string_equal(host, "sns.us-gov-west-1.amazonaws.com");

	assert_int_equal(sns_arn_parse("arn:aws:sns:eu-central-2:123456789012:t", &a), 0);
	assert_int_equal(sns_host_for(&a, host, sizeof(host)), 0);
	assert_string_equal(host, "sns.eu-central-2.amazonaws.com");
}

struct allow_case {
	const char *list;
	const char *arn;
	int         want;
};

#define T_ARN "arn:aws:sns:us-east-1:123456789012:ses-bounces"

static void
test_topic_allowed(void **state)
{
	static const struct allow_case cases[] = {
		/* exact */
		{ T_ARN, T_ARN, 1 },
		{ "arn:aws:sns:us-east-1:123456789012:ses-bounce", T_ARN, 0 },
		{ "arn:aws:sns:us-east-1:123456789012:ses-bounces2", T_ARN, 0 },
		{ "arn:aws:sns:us-east-1:123456789012:SES-bounces", T_ARN, 0 },
		{ "arn:aws:sns:us-east-1:210987654321:ses-bounces", T_ARN, 0 },
		{ "arn:aws:sns:us-east-2:123456789012:ses-bounces", T_ARN, 0 },
		/* '*' within one field */
		{ "arn:aws:sns:*:123456789012:*", T_ARN, 1 },
		{ "arn:aws:sns:*:123456789012:*", "arn:aws:sns:eu-west-1:123456789012:other", 1 },
		{ "arn:aws:sns:*:123456789012:*", "arn:aws:sns:us-east-1:210987654321:ses-bounces",
		    0 },
		{ "arn:aws:sns:*:123456789012:*", "arn:aws-cn:sns:cn-north-1:123456789012:t", 0 },
		{ "arn:aws:sns:us-east-1:123456789012:ses-*", T_ARN, 1 },
		{ "arn:aws:sns:us-east-1:123456789012:ses-*",
		    "arn:aws:sns:us-east-1:123456789012:ses-", 1 },
		{ "arn:aws:sns:us-east-1:123456789012:ses-*",
		    "arn:aws:sns:us-east-1:123456789012:sesbounces", 0 },
		{ "arn:aws:sns:us-east-1:123456789012:ses-*",
		    "arn:aws:sns:us-east-1:123456789012:my-ses-bounces", 0 },
		{ "arn:aws:sns:us-east-1:123456789012:*bounce*", T_ARN, 1 },
		{ "arn:aws:sns:us-*:123456789012:ses-bounces", T_ARN, 1 },
		{ "arn:aws:sns:*-1:*:*", T_ARN, 1 },
		{ "*:*:*:*:*:*", T_ARN, 1 },
		{ "arn:aws:sns:*:*:*", "arn:aws-cn:sns:cn-north-1:123456789012:t", 0 },
		/* '*' must not span ':' */
		{ "arn:aws:sns:*:ses-bounces", T_ARN, 0 },
		{ "arn:aws:sns:*", T_ARN, 0 },
		{ "arn:*", T_ARN, 0 },
		{ "*", T_ARN, 0 },
		{ "arn:aws:*:ses-bounces", T_ARN, 0 },
		{ "arn:aws:sns:us-east-1:*", T_ARN, 0 },
		{ "arn:aws:sns:us-east-1:123456789012*", T_ARN, 0 },
		{ "arn:aws:sns:us-east-1:*ses-bounces", T_ARN, 0 },
		/* fewer or more fields */
		{ "arn:aws:sns:us-east-1:123456789012", T_ARN, 0 },
		{ "arn:aws:sns:us-east-1:123456789012:", T_ARN, 0 },
		{ T_ARN ":extra", T_ARN, 0 },
		{ T_ARN ":*", T_ARN, 0 },
		/* lists */
		{ "arn:aws:sns:us-east-1:123456789012:a " T_ARN, T_ARN, 1 },
		{ "arn:aws:sns:us-east-1:123456789012:a," T_ARN, T_ARN, 1 },
		{ T_ARN ",arn:aws:sns:us-east-1:123456789012:a", T_ARN, 1 },
		{ "  ,, arn:aws:sns:us-east-1:123456789012:a ,\t\n" T_ARN " ,, ", T_ARN, 1 },
		{ "arn:aws:sns:us-east-1:123456789012:a, arn:aws:sns:us-east-1:123456789012:b",
		    T_ARN, 0 },
		{ "arn:aws:sns:us-east-1:123456789012:a,arn:aws:sns:*:123456789012:ses-*", T_ARN,
		    1 },
		/* nothing */
		{ "", T_ARN, 0 },
		{ " , ,\t", T_ARN, 0 },
		{ ",", T_ARN, 0 },
		/* only whole six-field topic ARNs match, whatever the list says */
		{ "arn:aws:sns:us-east-1:123456789012", "arn:aws:sns:us-east-1:123456789012", 0 },
		{ "arn:aws:sns:*:*", "arn:aws:sns:us-east-1:123456789012", 0 },
		{ T_ARN ":x", T_ARN ":x", 0 },
		{ "*:*:*:*:*:*:*", T_ARN ":x", 0 },
		{ "", "", 0 },
		/* several stars in one field */
		{ "arn:aws:sns:us-east-1:123456789012:s*e*s*-*s", T_ARN, 1 },
		{ "arn:aws:sns:us-east-1:123456789012:*ses*bounce", T_ARN, 0 },
		{ "arn:aws:sns:us-east-1:123456789012:**ses**", T_ARN, 1 },
		{ "arn:aws:sns:us-east-1:123456789012:*-*-*", T_ARN, 0 },
	};
	size_t i;

	for (i = 0; i < NFIELDS(cases); i++) {
		int got = policy_topic_allowed(cases[i].list, cases[i].arn);

		if (got != cases[i].want)
			fail_msg("policy_topic_allowed(\"%s\", \"%s\") = %d, want %d",
			    cases[i].list, cases[i].arn, got, cases[i].want);
	}
}

/* Regression: a field with many stars against a long name once took
 * exponential time (seconds per request, before any signature check). */
static void
test_topic_allowed_many_stars_is_fast(void **state)
{
	char            list[512], arn[512];
	struct timespec t0, t1;
	int             n;

	n = snprintf(list, sizeof(list), "arn:aws:sns:us-east-1:123456789012:");
	memset(list + n, '*', 24);
	strcpy(list + n + 24, "b");
	n = snprintf(arn, sizeof(arn), "arn:aws:sns:us-east-1:123456789012:");
	memset(arn + n, 'a', 256);
	arn[n + 256] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(policy_topic_allowed(list, arn), 0);
	arn[n + 255] = 'b';
	assert_int_equal(policy_topic_allowed(list, arn), 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_notification),
		cmocka_unit_test(test_parse_confirmation),
		cmocka_unit_test(test_sts_notification_with_subject),
		cmocka_unit_test(test_sts_notification_without_subject),
		cmocka_unit_test(test_sts_notification_subject_null),
		cmocka_unit_test(test_sts_notification_subject_empty),
		cmocka_unit_test(test_sts_confirmations),
		cmocka_unit_test(test_sts_decoded_values),
		cmocka_unit_test(test_sts_raw_utf8),
		cmocka_unit_test(test_sts_buffer_cap),
		cmocka_unit_test(test_accept_variants),
		cmocka_unit_test(test_refuse_not_json),
		cmocka_unit_test(test_refuse_not_object),
		cmocka_unit_test(test_refuse_missing_fields),
		cmocka_unit_test(test_refuse_non_string_fields),
		cmocka_unit_test(test_refuse_unknown_type),
		cmocka_unit_test(test_refuse_signature_version),
		cmocka_unit_test(test_refuse_topic_arn),
		cmocka_unit_test(test_refuse_timestamp),
		cmocka_unit_test(test_refuse_message_id),
		cmocka_unit_test(test_refuse_nul),
		cmocka_unit_test(test_refuse_invalid_utf8),
		cmocka_unit_test(test_refuse_invalid_utf8_wellformed_pattern),
		cmocka_unit_test(test_utf8_every_offset),
		cmocka_unit_test(test_parse_after_parse),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_refuse_too_long),
		cmocka_unit_test(test_arn_parse_good),
		cmocka_unit_test(test_arn_parse_bad),
		cmocka_unit_test(test_arn_name_length),
		cmocka_unit_test(test_host_for),
		cmocka_unit_test(test_topic_allowed),
		cmocka_unit_test(test_topic_allowed_many_stars_is_fast),
	};

	return cmocka_run_group_tests_name("sns", tests, NULL, NULL);
}
