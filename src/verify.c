/* SPDX-License-Identifier: ISC */
/* ses-feedback - proving an SNS message genuine. */
#include "config.h"

#include <stdio.h>

#include "bounds.h"
#include "buf.h"
#include "policy.h"
#include "sig.h"
#include "verify.h"

enum verify_result
verify_local(const struct sns_msg *m, const struct verify_opts *o, char *why, size_t whylen)
{
	char err[256];

	/* Before the allow-list: a '*' in its region field must never make an
	 * S3 bucket name (sns.s3-us-west-2.amazonaws.com) an SNS host. */
	if (policy_region_ok(&m->arn, why, whylen) == -1)
		return VERIFY_FORBIDDEN;
	if (o->topics != NULL && !policy_topic_allowed(o->topics, m->topic_arn)) {
		snprintf(why, whylen,
		    "topic not allowed: add it to SES_FEEDBACK_TOPICS if this endpoint should "
		    "accept it");
		return VERIFY_FORBIDDEN;
	}
	if (policy_fresh(m->time, o->now, o->max_age, why, whylen) == -1)
		return VERIFY_FORBIDDEN;
	if (m->sigver < o->min_sigver) {
		snprintf(why, whylen,
		    "SignatureVersion %d is below SES_FEEDBACK_MIN_SIGNATURE_VERSION=%d: set the "
		    "topic's SignatureVersion attribute to 2",
		    m->sigver, o->min_sigver);
		return VERIFY_FORBIDDEN;
	}
	if (policy_cert_url(m->signing_cert_url, &m->arn, err, sizeof(err)) == -1) {
		snprintf(why, whylen, "SigningCertURL refused: %s", err);
		return VERIFY_FORBIDDEN;
	}
	if (m->type == SNS_SUBSCRIPTION_CONFIRMATION &&
	    policy_subscribe_url(m, err, sizeof(err)) == -1) {
		snprintf(why, whylen, "SubscribeURL refused: %s", err);
		return VERIFY_FORBIDDEN;
	}
	return VERIFY_OK;
}

enum verify_result
verify_signature(const struct sns_msg *m, EVP_PKEY *key, char *why, size_t whylen)
{
	struct buf         sts;
	enum verify_result ret = VERIFY_OK;

	buf_init(&sts, m->message_len + LIM_STRING_TO_SIGN_EXTRA);
	if (sns_string_to_sign(m, &sts) == -1) {
		snprintf(why, whylen, "string to sign too large");
		return VERIFY_FORBIDDEN;
	}
	if (sig_verify(key, m->sigver, sts.data, sts.len, m->signature, why, whylen) == -1)
		ret = VERIFY_FORBIDDEN;
	buf_free(&sts);
	return ret;
}

enum verify_result
verify_message(const struct sns_msg *m, const struct verify_opts *o, struct certcache *cc,
    struct http *h, enum certcache_source *from, char *why, size_t whylen)
{
	struct cert_fetch  req = { m->signing_cert_url, &m->arn, &o->http, o->cert_dir, o->now };
	enum verify_result v;
	EVP_PKEY          *key = NULL;

	v = verify_local(m, o, why, whylen);
	if (v != VERIFY_OK)
		return v;
	switch (certcache_get(cc, h, &req, &key, from, why, whylen)) {
	case CERTCACHE_OK:
		break;
	case CERTCACHE_UNAVAILABLE:
		return VERIFY_UNAVAILABLE;
	default:
		return VERIFY_FORBIDDEN;
	}
	return verify_signature(m, key, why, whylen);
}
