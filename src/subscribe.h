/* SPDX-License-Identifier: ISC */
/* ses-feedback - confirming an SNS subscription.
 * The protocol of a SubscriptionConfirmation once it is verified: visit
 * its SubscribeURL (judged safe by the policy before any I/O), expect
 * HTTP 200, and read the SubscriptionArn out of SNS's answer. */
#ifndef SF_SUBSCRIBE_H
#define SF_SUBSCRIBE_H

#include <stddef.h>

#include "bounds.h"
#include "http.h"

/* Bytes of a SubscriptionArn kept, with the NUL; SNS's are far shorter. */
#define SUBSCRIBE_ARN_MAX LIM_SUBSCRIPTION_ARN_MAX

/* GET url (a checked SubscribeURL) through h, under o's CA file and
 * CONNECT_TO. 0 when SNS answered 200, with arn (arnlen bytes) set to the
 * SubscriptionArn it names, or "" when it names none usable. -1 with why
 * when no answer came or it was no 200: SNS will send the message again. */
int subscribe_confirm(struct http *h, const struct http_opts *o, const char *url, char *arn,
    size_t arnlen, char *why, size_t whylen);

/* The SubscriptionArn in SNS's ConfirmSubscriptionResponse XML (may be
 * NULL), into out; "" when there is none, it is empty, too long or holds
 * a character no ARN has. */
void subscribe_answer_arn(const char *xml, char *out, size_t outlen);

/* The unsigned x-amz-sns-subscription-arn header hdr (may be NULL), when
 * it names a subscription of topic_arn and is shorter than
 * SUBSCRIBE_ARN_MAX: hdr itself, or NULL. */
const char *subscribe_header_arn(const char *hdr, const char *topic_arn);

#endif
