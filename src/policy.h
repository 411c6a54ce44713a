/* SPDX-License-Identifier: ISC */
/* ses-feedback - every rule decided before any I/O.
 * A TopicArn's partition and region must be real AWS shapes before a host
 * name is derived from them (sns.s3-us-west-2.amazonaws.com is an S3
 * bucket, not SNS), and each region's signing certificate carries the one
 * name AWS gives it; the topic allow-list, the replay window, and the
 * SigningCertURL and SubscribeURL a message may name. What verify_local()
 * calls, in one place. */
#ifndef SF_POLICY_H
#define SF_POLICY_H

#include <stddef.h>
#include <time.h>

#include "sns.h"

#define POLICY_MAX_NAMES 3  /* certificate names accepted for one region */
#define POLICY_NAME_LEN  96 /* longest host name we build, with NUL */

/* Is arn's partition one we serve (aws, aws-cn, aws-us-gov), and its region
 * an AWS region of that partition (us-east-1, cn-north-1, us-gov-west-1,
 * ...)? 0 yes, -1 no with why naming what is wrong. */
int policy_region_ok(const struct sns_arn *arn, char *why, size_t whylen);

/* The names a genuine signing certificate for arn's region may carry: the
 * one AWS's own verifier expects (sns.amazonaws.com in most regions,
 * sns-signing.REGION.amazonaws.com in the opt-in regions,
 * sns-us-gov-west-1.amazonaws.com in GovCloud, sns-cn-*.amazonaws.com.cn in
 * China) and the regional names real certificates are seen to carry.
 * Fills names[0..n-1]; returns n, or -1 when arn fails policy_region_ok. */
int policy_cert_names(const struct sns_arn *arn, char names[][POLICY_NAME_LEN]);

/* Is the message's Timestamp inside the replay window at now: at most
 * max_age seconds old and at most POLICY_MAX_SKEW ahead? 0 yes, -1 no with
 * why saying how far off it is. */
#define POLICY_MAX_SKEW 900 /* seconds: clocks are never perfect */
int policy_fresh(time_t ts, time_t now, long max_age, char *why, size_t whylen);

/* Is arn on the allow-list (patterns separated by spaces or commas, '*'
 * matching within one ARN field)? 1 yes, 0 no. */
int policy_topic_allowed(const char *list, const char *arn);

/* Is url a signing-certificate URL this topic's region may use:
 * https://SNS-HOST/SimpleNotificationService-HEX.pem? 0 yes, -1 no with
 * why. */
int policy_cert_url(const char *url, const struct sns_arn *arn, char *why, size_t whylen);

/* Is the message's SubscribeURL safe to visit: the region's SNS host,
 * Action=ConfirmSubscription, and TopicArn and Token equal to the
 * message's, nothing else? 0 yes, -1 no with why. */
int policy_subscribe_url(const struct sns_msg *m, char *why, size_t whylen);

#endif
