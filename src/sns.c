/* SPDX-License-Identifier: ISC */
/* ses-feedback - the SNS HTTP(S) envelope.
 * Strict by design: a genuine SNS message always has this shape, and
 * anything else is rejected before a byte of it reaches the network or
 * the database. */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "json_in.h"
#include "sns.h"

/* An envelope field, read into a const char * member of struct sns_msg. */
struct field {
	const char      *key;
	enum jsonin_need need;
	size_t           max; /* bytes */
	size_t           off; /* of the member */
};

#define OFF(member) offsetof(struct sns_msg, member)

/* The fields of every Type, in the order they are checked (the first one
 * wrong is the one named). Message is bounded by the body. */
static const struct field common_fields[] = {
	{ "MessageId", JSONIN_REQUIRED, LIM_SNS_MESSAGE_ID_MAX, OFF(message_id) },
	{ "TopicArn", JSONIN_REQUIRED, LIM_SNS_TOPIC_ARN_MAX, OFF(topic_arn) },
	{ "Message", JSONIN_REQUIRED, JSONIN_ANY_LENGTH, OFF(message) },
	{ "Timestamp", JSONIN_REQUIRED, LIM_SNS_TIMESTAMP_MAX, OFF(timestamp) },
	{ "SignatureVersion", JSONIN_REQUIRED, LIM_SNS_SIGVER_MAX, OFF(signature_version) },
	{ "Signature", JSONIN_REQUIRED, LIM_SNS_SIGNATURE_MAX, OFF(signature) },
	{ "SigningCertURL", JSONIN_REQUIRED, LIM_SNS_CERT_URL_MAX, OFF(signing_cert_url) },
};
/* Then those of a Notification, or of either confirmation. */
static const struct field notification_fields[] = {
	{ "Subject", JSONIN_OPTIONAL, LIM_SNS_SUBJECT_MAX, OFF(subject) },
	{ "UnsubscribeURL", JSONIN_OPTIONAL, LIM_SNS_UNSUBSCRIBE_URL_MAX, OFF(unsubscribe_url) },
};
static const struct field confirmation_fields[] = {
	{ "SubscribeURL", JSONIN_REQUIRED, LIM_SNS_SUBSCRIBE_URL_MAX, OFF(subscribe_url) },
	{ "Token", JSONIN_REQUIRED, LIM_SNS_TOKEN_MAX, OFF(token) },
};

#define NITEMS(t) (sizeof(t) / sizeof((t)[0]))

static const struct type_def {
	const char         *name; /* the Type field */
	enum sns_type       type;
	const struct field *fields; /* read after common_fields */
	size_t              nfields;
} types[] = {
	{ "Notification", SNS_NOTIFICATION, notification_fields, NITEMS(notification_fields) },
	{ "SubscriptionConfirmation", SNS_SUBSCRIPTION_CONFIRMATION, confirmation_fields,
	    NITEMS(confirmation_fields) },
	{ "UnsubscribeConfirmation", SNS_UNSUBSCRIBE_CONFIRMATION, confirmation_fields,
	    NITEMS(confirmation_fields) },
};

static int get_fields(struct json_object *root, const struct field *f, size_t n, struct sns_msg *m,
    char *why, size_t whylen);
static int add_kv(struct buf *out, const char *k, const char *v);
static int span(const char *s, const char *set, size_t min, size_t max, const char **endp);
static int message_id_ok(const char *s);

int
sns_parse(const char *body, size_t len, struct sns_msg *m, char *why, size_t whylen)
{
	struct json_object    *root = NULL;
	const struct type_def *td = NULL;
	size_t                 i;
	int                    ret = -1;

	memset(m, 0, sizeof(*m));
	root = jsonin_parse(body, len, SNS_MAX_DEPTH, why, whylen);
	if (root == NULL)
		goto out;
	if (!json_object_is_type(root, json_type_object)) {
		snprintf(why, whylen, "envelope is not a JSON object");
		goto out;
	}
	if (jsonin_unsafe(root) & JSONIN_NONFINITE) {
		snprintf(why, whylen, "invalid JSON: NaN or Infinity");
		goto out;
	}
	m->root = root;
	if (jsonin_str(
	        root, "Type", JSONIN_REQUIRED, LIM_SNS_TYPE_MAX, &m->type_str, why, whylen) == -1)
		goto out;
	for (i = 0; i < NITEMS(types) && td == NULL; i++) {
		if (strcmp(m->type_str, types[i].name) == 0)
			td = &types[i];
	}
	if (td == NULL) {
		snprintf(why, whylen, "unknown Type \"%.40s\"", m->type_str);
		goto out;
	}
	m->type = td->type;
	if (get_fields(root, common_fields, NITEMS(common_fields), m, why, whylen) == -1)
		goto out;
	/* jsonin_str refuses U+0000, so strlen() is its length. */
	m->message_len = strlen(m->message);
	if (!message_id_ok(m->message_id)) {
		snprintf(why, whylen, "MessageId is not an SNS message id");
		goto out;
	}
	if (sns_arn_parse(m->topic_arn, &m->arn) == -1) {
		snprintf(why, whylen, "TopicArn is not an SNS topic ARN");
		goto out;
	}
	if (jsonin_time(m->timestamp, JSONIN_TIME_SNS, &m->time, NULL) == -1) {
		snprintf(why, whylen, "Timestamp is not an ISO 8601 UTC time");
		goto out;
	}
	if (strcmp(m->signature_version, "1") == 0)
		m->sigver = 1;
	else if (strcmp(m->signature_version, "2") == 0)
		m->sigver = 2;
	else {
		snprintf(why, whylen, "unknown SignatureVersion \"%.8s\"", m->signature_version);
		goto out;
	}
	if (get_fields(root, td->fields, td->nfields, m, why, whylen) == -1)
		goto out;
	ret = 0;
out:
	if (ret == -1) {
		json_object_put(root);
		memset(m, 0, sizeof(*m));
	}
	return ret;
}

void
sns_free(struct sns_msg *m)
{
	json_object_put(m->root);
	memset(m, 0, sizeof(*m));
}

static int
get_fields(struct json_object *root, const struct field *f, size_t n, struct sns_msg *m, char *why,
    size_t whylen)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (jsonin_str(root, f[i].key, f[i].need, f[i].max,
		        (const char **)((char *)m + f[i].off), why, whylen) == -1)
			return -1;
	}
	return 0;
}

static int
add_kv(struct buf *out, const char *k, const char *v)
{
	if (buf_adds(out, k) == -1 || buf_add(out, "\n", 1) == -1 || buf_adds(out, v) == -1 ||
	    buf_add(out, "\n", 1) == -1)
		return -1;
	return 0;
}

int
sns_string_to_sign(const struct sns_msg *m, struct buf *out)
{
	if (add_kv(out, "Message", m->message) == -1 ||
	    add_kv(out, "MessageId", m->message_id) == -1)
		return -1;
	if (m->type == SNS_NOTIFICATION) {
		if (m->subject != NULL && add_kv(out, "Subject", m->subject) == -1)
			return -1;
		if (add_kv(out, "Timestamp", m->timestamp) == -1 ||
		    add_kv(out, "TopicArn", m->topic_arn) == -1 ||
		    add_kv(out, "Type", m->type_str) == -1)
			return -1;
		return 0;
	}
	if (add_kv(out, "SubscribeURL", m->subscribe_url) == -1 ||
	    add_kv(out, "Timestamp", m->timestamp) == -1 || add_kv(out, "Token", m->token) == -1 ||
	    add_kv(out, "TopicArn", m->topic_arn) == -1 || add_kv(out, "Type", m->type_str) == -1)
		return -1;
	return 0;
}

static int
span(const char *s, const char *set, size_t min, size_t max, const char **endp)
{
	size_t n = strspn(s, set);

	if (n < min || n > max)
		return -1;
	*endp = s + n;
	return 0;
}

#define LOWER_DIGIT "abcdefghijklmnopqrstuvwxyz0123456789"
#define DIGITS      "0123456789"

int
sns_arn_parse(const char *s, struct sns_arn *a)
{
	const char *p, *e;
	size_t      n;

	memset(a, 0, sizeof(*a));
	if (strncmp(s, "arn:", 4) != 0)
		return -1;
	p = s + 4;
	/* aws, aws-cn, aws-us-gov, aws-iso-b, ...: which of them are served is
	 * policy's to say (policy_region_ok), with a reason that names it. */
	if (strncmp(p, "aws", 3) != 0 ||
	    span(p + 3, "abcdefghijklmnopqrstuvwxyz-", 0, sizeof(a->partition) - 4, &e) == -1 ||
	    *e != ':' || (e > p + 3 && (p[3] != '-' || e[-1] == '-')))
		return -1;
	memcpy(a->partition, p, (size_t)(e - p));
	p = e + 1;
	if (strncmp(p, "sns:", 4) != 0)
		return -1;
	p += 4;
	/* region: lower-case letters, digits and dashes, such as eu-west-3 */
	if (span(p, LOWER_DIGIT "-", 4, sizeof(a->region) - 1, &e) == -1 || *e != ':' ||
	    *p == '-' || e[-1] == '-')
		return -1;
	memcpy(a->region, p, (size_t)(e - p));
	p = e + 1;
	if (span(p, DIGITS, 12, 12, &e) == -1 || *e != ':')
		return -1;
	memcpy(a->account, p, 12);
	p = e + 1;
	n = strlen(p);
	if (span(p, LOWER_DIGIT "ABCDEFGHIJKLMNOPQRSTUVWXYZ_-.", 1, 256, &e) == -1 || *e != '\0')
		return -1;
	/* A dot is allowed only as FIFO topics' ".fifo" suffix. */
	e = strchr(p, '.');
	if (e != NULL && (strcmp(e, ".fifo") != 0 || e == p))
		return -1;
	memcpy(a->name, p, n);
	return 0;
}

int
sns_host_for(const struct sns_arn *arn, char *host, size_t hostlen)
{
	int n;

	if (strcmp(arn->partition, "aws-cn") == 0)
		n = snprintf(host, hostlen, "sns.%s.amazonaws.com.cn", arn->region);
	else
		n = snprintf(host, hostlen, "sns.%s.amazonaws.com", arn->region);
	return (n < 0 || (size_t)n >= hostlen) ? -1 : 0;
}

static int
message_id_ok(const char *s)
{
	size_t n = strspn(s, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_");

	return n > 0 && s[n] == '\0';
}
