/* SPDX-License-Identifier: ISC */
/* ses-feedback - confirming an SNS subscription: the visit and what SNS
 * answers to it. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "bounds.h"
#include "buf.h"
#include "subscribe.h"

int
subscribe_confirm(struct http *h, const struct http_opts *o, const char *url, char *arn,
    size_t arnlen, char *why, size_t whylen)
{
	struct http_opts ho = *o;
	struct buf       resp;
	char             err[256];
	long             code = 0;
	int              ret = -1;

	arn[0] = '\0';
	ho.max_body = LIM_CONFIRM_ANSWER_MAX;
	buf_init(&resp, LIM_CONFIRM_ANSWER_MAX);
	if (http_get(h, url, &ho, &resp, &code, err, sizeof(err)) != 0) {
		snprintf(why, whylen, "confirming the subscription failed: %s", err);
		goto out;
	}
	if (code != 200) {
		snprintf(
		    why, whylen, "confirming the subscription failed: SNS answered HTTP %ld", code);
		goto out;
	}
	subscribe_answer_arn(resp.data, arn, arnlen);
	ret = 0;
out:
	buf_free(&resp);
	return ret;
}

void
subscribe_answer_arn(const char *xml, char *out, size_t outlen)
{
	const char *b, *e;
	size_t      n;

	out[0] = '\0';
	if (xml == NULL || (b = strstr(xml, "<SubscriptionArn>")) == NULL)
		return;
	b += strlen("<SubscriptionArn>");
	e = strstr(b, "</SubscriptionArn>");
	if (e == NULL)
		return;
	n = (size_t)(e - b);
	if (n == 0 || n >= outlen ||
	    strspn(b,
	        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	        "0123456789:-_.") < n)
		return;
	memcpy(out, b, n);
	out[n] = '\0';
}

/* The header is not signed: it is believed only as far as it names a
 * subscription of the (signed) topic. */
const char *
subscribe_header_arn(const char *hdr, const char *topic_arn)
{
	size_t n = strlen(topic_arn);

	if (hdr == NULL || strlen(hdr) >= SUBSCRIBE_ARN_MAX || strncmp(hdr, topic_arn, n) != 0 ||
	    hdr[n] != ':')
		return NULL;
	return hdr;
}
