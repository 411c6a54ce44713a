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

static int add_kv(struct buf *out, const char *k, const char *v);
static int span(const char *s, const char *set, size_t min, size_t max, const char **endp);
static int message_id_ok(const char *s);

/* The fields of every Type, in the order they are checked (the first
 * one wrong is the one named). Message is bounded by the body. */
static const struct field {
	const char *key;
	size_t      max; /* bytes */
	size_t      off; /* of its const char * in struct sns_msg */
} common_fields[] = {
	{ "MessageId", LIM_SNS_MESSAGE_ID_MAX, offsetof(struct sns_msg, message_id) },
	{ "TopicArn", LIM_SNS_TOPIC_ARN_MAX, offsetof(struct sns_msg, topic_arn) },
	{ "Message", JSONIN_ANY_LENGTH, offsetof(struct sns_msg, message) },
	{ "Timestamp", LIM_SNS_TIMESTAMP_MAX, offsetof(struct sns_msg, timestamp) },
	{ "SignatureVersion", LIM_SNS_SIGVER_MAX, offsetof(struct sns_msg, signature_version) },
	{ "Signature", LIM_SNS_SIGNATURE_MAX, offsetof(struct sns_msg, signature) },
	{ "SigningCertURL", LIM_SNS_CERT_URL_MAX, offsetof(struct sns_msg, signing_cert_url) },
};

int
sns_parse(const char *body, size_t len, struct sns_msg *m, char *why, size_t whylen)
{
	struct json_object *root = NULL;
	size_t              i;
	int                 ret = -1;

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
	if (strcmp(m->type_str, "Notification") == 0)
		m->type = SNS_NOTIFICATION;
	else if (strcmp(m->type_str, "SubscriptionConfirmation") == 0)
		m->type = SNS_SUBSCRIPTION_CONFIRMATION;
	else if (strcmp(m->type_str, "UnsubscribeConfirmation") == 0)
		m->type = SNS_UNSUBSCRIBE_CONFIRMATION;
	else {
		snprintf(why, whylen, "unknown Type \"%.40s\"", m->type_str);
		goto out;
	}
	for (i = 0; i < sizeof(common_fields) / sizeof(common_fields[0]); i++) {
		if (jsonin_str(root, common_fields[i].key, JSONIN_REQUIRED, common_fields[i].max,
		        (const char **)((char *)m + common_fields[i].off), why, whylen) == -1)
			goto out;
	}
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
	if (m->type == SNS_NOTIFICATION) {
		if (jsonin_str(root, "Subject", JSONIN_OPTIONAL, LIM_SNS_SUBJECT_MAX, &m->subject,
		        why, whylen) == -1 ||
		    jsonin_str(root, "UnsubscribeURL", JSONIN_OPTIONAL, LIM_SNS_UNSUBSCRIBE_URL_MAX,
		        &m->unsubscribe_url, why, whylen) == -1)
			goto out;
	} else {
		if (jsonin_str(root, "SubscribeURL", JSONIN_REQUIRED, LIM_SNS_SUBSCRIBE_URL_MAX,
		        &m->subscribe_url, why, whylen) == -1 ||
		    jsonin_str(root, "Token", JSONIN_REQUIRED, LIM_SNS_TOKEN_MAX, &m->token, why,
		        whylen) == -1)
			goto out;
	}
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
