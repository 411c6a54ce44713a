/* SPDX-License-Identifier: ISC */
/* ses-feedback - libFuzzer harness for the certificate and SubscribeURL
 * policy and the PEM check.
 * Input: [TOPICARN NUL TOKEN NUL] REST. Without two NULs the TopicArn and
 * Token are fixed and REST is the whole input. REST up to its first NUL is
 * tried as SigningCertURL and as SubscribeURL; all of REST as PEM. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "cert.h"
#include "policy.h"
#include "sns.h"

#define FUZZ_NAME "fuzz_url"
#include "fuzz_common.h"

#define FIXED_TOPIC "arn:aws:sns:us-east-1:123456789012:t"
#define FIXED_TOKEN "abc123"

int LLVMFuzzerInitialize(int *argc, char ***argv);

static void check_accepted(const char *url, const struct sns_arn *arn, int subscribe);

/* One clock per run, so that an input behaves the same all run long. */
static time_t fuzz_now;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_now = time(NULL);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sns_msg m;
	EVP_PKEY      *key = NULL;
	time_t         not_after = 0;
	char           why[256];
	char          *copy = NULL, *topic, *token, *url, *z1, *z2;
	const uint8_t *rest = data;
	size_t         rest_len = size;
	int            rc;

	/* One extra NUL so that the last piece is always a C string. */
	copy = fuzz_cstr(data, size);
	if (copy == NULL)
		return 0;
	topic = FIXED_TOPIC;
	token = FIXED_TOKEN;
	url = copy;
	z1 = memchr(copy, '\0', size);
	z2 = z1 != NULL ? memchr(z1 + 1, '\0', size - (size_t)(z1 + 1 - copy)) : NULL;
	if (z2 != NULL) {
		topic = copy;
		token = z1 + 1;
		url = z2 + 1;
		rest = data + (z2 + 1 - copy);
		rest_len = size - (size_t)(z2 + 1 - copy);
	}

	memset(&m, 0, sizeof(m));
	m.type = SNS_SUBSCRIPTION_CONFIRMATION;
	m.type_str = "SubscriptionConfirmation";
	if (sns_arn_parse(topic, &m.arn) == -1) {
		topic = FIXED_TOPIC;
		CHECK(sns_arn_parse(topic, &m.arn) == 0);
	}
	m.topic_arn = topic;
	m.token = token;
	m.subscribe_url = url;

	why[0] = '\0';
	if (policy_cert_url(url, &m.arn, why, sizeof(why)) == 0)
		check_accepted(url, &m.arn, 0);
	else
		CHECK(why[0] != '\0');
	why[0] = '\0';
	if (policy_subscribe_url(&m, why, sizeof(why)) == 0)
		check_accepted(url, &m.arn, 1);
	else
		CHECK(why[0] != '\0');

	/* cert_check_pem() takes (pointer, length) and promises to read
	 * nothing past len: give it the bytes with no NUL after them. */
	why[0] = '\0';
	rc = cert_check_pem(
	    (const char *)rest, rest_len, &m.arn, fuzz_now, &key, &not_after, why, sizeof(why));
	if (rc == 0) {
		CHECK(key != NULL);
		CHECK(not_after > fuzz_now);
		EVP_PKEY_free(key);
	} else {
		CHECK(key == NULL);
		CHECK(why[0] != '\0');
	}
	free(copy);
	return 0;
}

/* An accepted URL names the topic region's SNS host and none of the
 * characters the policy refuses: checked here without the policy's own
 * code. A SigningCertURL is also free of query, escapes and white space;
 * a SubscribeURL is promised only its host and no "#", "@", " " or "\\". */
static void
check_accepted(const char *url, const struct sns_arn *arn, int subscribe)
{
	char        want[128];
	const char *p;

	snprintf(want, sizeof(want), "https://sns.%s.amazonaws.com%s/", arn->region,
	    strcmp(arn->partition, "aws-cn") == 0 ? ".cn" : "");
	CHECK(strncmp(url, want, strlen(want)) == 0);
	CHECK(strpbrk(url, "#@ \\") == NULL);
	if (subscribe) {
		CHECK(url[strlen(want)] == '?');
		return;
	}
	for (p = url; *p != '\0'; p++)
		CHECK((unsigned char)*p > ' ' && (unsigned char)*p < 0x7f);
	CHECK(strchr(url, '?') == NULL && strchr(url, '%') == NULL);
	CHECK(strlen(url) > 4 && strcmp(url + strlen(url) - 4, ".pem") == 0);
}
