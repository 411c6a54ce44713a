/* SPDX-License-Identifier: ISC */
/* ses-feedback - the SNS HTTP(S) envelope.
 * Parsing under depth and size limits, the string to sign, TopicArn
 * parsing and the SNS host of a topic's region. */
#ifndef SF_SNS_H
#define SF_SNS_H

#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "bounds.h"

struct json_object;

#define SNS_MAX_DEPTH LIM_JSON_DEPTH

enum sns_type { SNS_NOTIFICATION, SNS_SUBSCRIPTION_CONFIRMATION, SNS_UNSUBSCRIBE_CONFIRMATION };

struct sns_arn {
	char partition[16]; /* aws, aws-cn, aws-us-gov */
	char region[32];    /* us-east-1 */
	char account[16];   /* 12 digits */
	char name[264];     /* topic name */
};

/* A parsed envelope. Every string borrows from root and lives until
 * sns_free(); absent optional fields are NULL. No field contains NUL. */
struct sns_msg {
	struct json_object *root; /* owned */
	enum sns_type       type;
	const char         *type_str; /* "Notification", ... */
	const char         *message_id;
	const char         *topic_arn;
	const char         *subject; /* Notification only, optional */
	const char         *message;
	size_t              message_len;
	const char         *timestamp;
	time_t              time;              /* timestamp, parsed */
	const char         *signature_version; /* "1" or "2" */
	int                 sigver;            /* 1 or 2 */
	const char         *signature;         /* base64 */
	const char         *signing_cert_url;
	const char         *subscribe_url;   /* confirmations */
	const char         *token;           /* confirmations */
	const char         *unsubscribe_url; /* Notification, not signed */
	struct sns_arn      arn;             /* parsed topic_arn */
};

/* Parse an envelope. Returns 0, or -1 with why (safe to log: it never
 * quotes a signature or token). On -1 nothing needs freeing. */
int  sns_parse(const char *body, size_t len, struct sns_msg *m, char *why, size_t whylen);
void sns_free(struct sns_msg *m);

/* Append the string to sign, byte-exact, in the order SNS uses for the
 * message's Type. Returns 0 or -1 (buffer freed). */
int sns_string_to_sign(const struct sns_msg *m, struct buf *out);

/* Parse and check the shape of arn:PARTITION:sns:REGION:ACCOUNT:NAME
 * (policy_region_ok() says whether partition and region are served).
 * 0 or -1. */
int sns_arn_parse(const char *s, struct sns_arn *out);

/* The only host that may serve this topic's certificates and
 * confirmations: sns.REGION.amazonaws.com (.com.cn for aws-cn). */
int sns_host_for(const struct sns_arn *arn, char *host, size_t hostlen);

#endif
