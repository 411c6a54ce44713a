/* SPDX-License-Identifier: ISC */
/* ses-feedback - unit tests for signing certificates (src/cert.c,
 * src/certcache.c, and the URL rules of src/policy.c).
 * The URL policy against a table of hostile URLs, the SubscribeURL rules,
 * the checks on certificate text made at test time, and the cache. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "cert.h"
#include "certcache.h"
#include "http.h"
#include "policy.h"
#include "sns.h"
#include "testkeys.h"

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

#define TOPIC       "arn:aws:sns:us-east-1:123456789012:t"
#define TOPIC_CN    "arn:aws-cn:sns:cn-north-1:123456789012:t"
#define HEX         "9c6465fa7f48f5cacd23014631ec1136"
#define HOST        "sns.us-east-1.amazonaws.com"
#define GOOD_URL    "https://" HOST "/SimpleNotificationService-" HEX ".pem"
#define CN_URL      "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-" HEX ".pem"
#define UNREACHABLE HOST ":443:127.0.0.1:1"

/* Keys shared by the certificate tests: RSA generation is slow. */
struct keys {
	EVP_PKEY *rsa;      /* 2048 bits: what SNS uses */
	EVP_PKEY *rsa_weak; /* 1024 bits */
	EVP_PKEY *ec;       /* P-256 */
};

static int
group_setup(void **state)
{
	struct keys *k;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -1;
	k = calloc(1, sizeof(*k));
	if (k == NULL)
		return -1;
	k->rsa = testkeys_rsa(2048);
	k->rsa_weak = testkeys_rsa(1024);
	k->ec = testkeys_ec();
	if (k->rsa == NULL || k->rsa_weak == NULL || k->ec == NULL)
		return -1;
	*state = k;
	return 0;
}

static int
group_teardown(void **state)
{
	struct keys *k = *state;

	if (k != NULL) {
		EVP_PKEY_free(k->rsa);
		EVP_PKEY_free(k->rsa_weak);
		EVP_PKEY_free(k->ec);
		free(k);
	}
	curl_global_cleanup();
	return 0;
}

static struct sns_arn
arn_of(const char *s)
{
	struct sns_arn a;

	assert_int_equal(sns_arn_parse(s, &a), 0);
	return a;
}

/* --- policy_cert_url ------------------------------------------------- */

static void
test_url_genuine(void **state)
{
	struct sns_arn a;
	char           why[256] = "";

	a = arn_of(TOPIC);
	assert_int_equal(policy_cert_url(GOOD_URL, &a, why, sizeof(why)), 0);
	assert_int_equal(policy_cert_url("https://" HOST "/SimpleNotificationService-"
	                                 "f3ecfb7224c7233fe7bb5f59f96de52f.pem",
	                     &a, why, sizeof(why)),
	    0);
	assert_int_equal(policy_cert_url("https://" HOST "/SimpleNotificationService-0.pem", &a,
	                     why, sizeof(why)),
	    0);
	a = arn_of("arn:aws:sns:eu-west-1:123456789012:feedback");
	assert_int_equal(policy_cert_url("https://sns.eu-west-1.amazonaws.com/"
	                                 "SimpleNotificationService-" HEX ".pem",
	                     &a, why, sizeof(why)),
	    0);
	a = arn_of(TOPIC_CN);
	assert_int_equal(policy_cert_url(CN_URL, &a, why, sizeof(why)), 0);
	a = arn_of("arn:aws-us-gov:sns:us-gov-west-1:123456789012:t");
	assert_int_equal(policy_cert_url("https://sns.us-gov-west-1.amazonaws.com/"
	                                 "SimpleNotificationService-" HEX ".pem",
	                     &a, why, sizeof(why)),
	    0);
}

/* Every one of these must be refused for a us-east-1 topic. */
static const char *const hostile_urls[] = {
	/* scheme */
	"http://" HOST "/SimpleNotificationService-" HEX ".pem",
	"HTTPS://" HOST "/SimpleNotificationService-" HEX ".pem",
	"Https://" HOST "/SimpleNotificationService-" HEX ".pem",
	"ftp://" HOST "/SimpleNotificationService-" HEX ".pem",
	"//" HOST "/SimpleNotificationService-" HEX ".pem",
	"https:" HOST "/SimpleNotificationService-" HEX ".pem",
	"https:/" HOST "/SimpleNotificationService-" HEX ".pem",
	"https:///" HOST "/SimpleNotificationService-" HEX ".pem",
	"/SimpleNotificationService-" HEX ".pem",
	/* host case */
	"https://SNS.US-EAST-1.AMAZONAWS.COM/SimpleNotificationService-" HEX ".pem",
	"https://sns.us-east-1.amazonAWS.com/SimpleNotificationService-" HEX ".pem",
	/* other regions and partitions */
	"https://sns.us-east-2.amazonaws.com/SimpleNotificationService-" HEX ".pem",
	"https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-" HEX ".pem",
	"https://sns.us-east-1.amazonaws.com.cn/SimpleNotificationService-" HEX ".pem",
	"https://sns.amazonaws.com/SimpleNotificationService-" HEX ".pem",
	/* other AWS services and look-alike hosts */
	"https://s3.amazonaws.com/SimpleNotificationService-" HEX ".pem",
	"https://sns.s3.amazonaws.com/SimpleNotificationService-" HEX ".pem",
	"https://s3.us-east-1.amazonaws.com/SimpleNotificationService-" HEX ".pem",
	"https://s3.amazonaws.com/" HOST "/SimpleNotificationService-" HEX ".pem",
	"https://sns.us-east-1.amazonaws.com.evil.com/SimpleNotificationService-" HEX ".pem",
	"https://evilsns.us-east-1.amazonaws.com/SimpleNotificationService-" HEX ".pem",
	"https://evil.sns.us-east-1.amazonaws.com/SimpleNotificationService-" HEX ".pem",
	"https://sns-us-east-1.amazonaws.com/SimpleNotificationService-" HEX ".pem",
	"https://sns.us-east-1.amazonaws.co/SimpleNotificationService-" HEX ".pem",
	"https://sns.us-east-1.amazonaws.comevil.com/SimpleNotificationService-" HEX ".pem",
	/* userinfo */
	"https://" HOST "@evil.com/SimpleNotificationService-" HEX ".pem",
	"https://evil@" HOST "/SimpleNotificationService-" HEX ".pem",
	"https://evil.com@" HOST "/SimpleNotificationService-" HEX ".pem",
	"https://" HOST ":pw@evil.com/SimpleNotificationService-" HEX ".pem",
	/* ports */
	"https://" HOST ":443/SimpleNotificationService-" HEX ".pem",
	"https://" HOST ":8443/SimpleNotificationService-" HEX ".pem",
	"https://" HOST ":/SimpleNotificationService-" HEX ".pem",
	/* query and fragment that end in .pem */
	"https://" HOST "/SimpleNotificationService-" HEX ".pem?.pem",
	"https://" HOST "/SimpleNotificationService-" HEX ".txt?x=.pem",
	"https://" HOST "/?SimpleNotificationService-" HEX ".pem",
	"https://" HOST "/SimpleNotificationService-" HEX ".pem#.pem",
	"https://" HOST "/SimpleNotificationService-" HEX ".txt#.pem",
	"https://" HOST "/SimpleNotificationService-" HEX "#/SimpleNotificationService-" HEX ".pem",
	"https://evil.com/x?https://" HOST "/SimpleNotificationService-" HEX ".pem",
	"https://evil.com/#https://" HOST "/SimpleNotificationService-" HEX ".pem",
	/* percent-encoding */
	"https://sns.us-east-1.amazonaws%2ecom/SimpleNotificationService-" HEX ".pem",
	"https://%73ns.us-east-1.amazonaws.com/SimpleNotificationService-" HEX ".pem",
	"https://" HOST "%2fSimpleNotificationService-" HEX ".pem",
	"https://" HOST "/%53impleNotificationService-" HEX ".pem",
	"https://" HOST "/SimpleNotificationService-9c64%36" HEX ".pem",
	"https://" HOST "/SimpleNotificationService-" HEX "%2epem",
	"https://" HOST "/SimpleNotificationService-" HEX ".pe%6d",
	/* IDN and Unicode look-alikes */
	"https://xn--sns-9ka.us-east-1.amazonaws.com/SimpleNotificationService-" HEX ".pem",
	"https://sns.us-east-1.xn--amazonaws-0ra.com/SimpleNotificationService-" HEX ".pem",
	"https://sns.us-east-1.amazon\xd0\xb0ws.com/SimpleNotificationService-" HEX ".pem",
	"https://\xd1\x95ns.us-east-1.amazonaws.com/SimpleNotificationService-" HEX ".pem",
	/* trailing dot */
	"https://" HOST "./SimpleNotificationService-" HEX ".pem",
	/* backslashes */
	"https://" HOST "\\@evil.com/SimpleNotificationService-" HEX ".pem",
	"https://evil.com\\@" HOST "/SimpleNotificationService-" HEX ".pem",
	"https://" HOST "\\SimpleNotificationService-" HEX ".pem",
	"https://" HOST "/\\SimpleNotificationService-" HEX ".pem",
	"https:\\\\" HOST "/SimpleNotificationService-" HEX ".pem",
	/* double slashes */
	"https://" HOST "//SimpleNotificationService-" HEX ".pem",
	"https://" HOST "//evil.com/SimpleNotificationService-" HEX ".pem",
	/* path traversal and extra segments */
	"https://" HOST "/SimpleNotificationService-" HEX "/../../evil.pem",
	"https://" HOST "/../SimpleNotificationService-" HEX ".pem",
	"https://" HOST "/./SimpleNotificationService-" HEX ".pem",
	"https://" HOST "/SimpleNotificationService-" HEX ".pem/..",
	"https://" HOST "/a/SimpleNotificationService-" HEX ".pem",
	"https://" HOST "/SimpleNotificationService-" HEX ".pem/x.pem",
	"https://" HOST "/SimpleNotificationService-" HEX ".pem/",
	/* the id */
	"https://" HOST "/SimpleNotificationService-.pem",
	"https://" HOST "/SimpleNotificationService-xyz123.pem",
	"https://" HOST "/SimpleNotificationService-9c64-65fa.pem",
	"https://" HOST "/SimpleNotificationService-0x9c64.pem",
	"https://" HOST "/SimpleNotificationService" HEX ".pem",
	"https://" HOST "/simplenotificationservice-" HEX ".pem",
	"https://" HOST "/SimpleNotificationService-"
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0.pem",
	/* the suffix */
	"https://" HOST "/SimpleNotificationService-" HEX,
	"https://" HOST "/SimpleNotificationService-" HEX ".",
	"https://" HOST "/SimpleNotificationService-" HEX ".PEM",
	"https://" HOST "/SimpleNotificationService-" HEX ".pem.exe",
	"https://" HOST "/SimpleNotificationService-" HEX ".pemx",
	"https://" HOST "/SimpleNotificationService-" HEX ".crt",
	"https://" HOST "/SimpleNotificationService-" HEX "..pem",
	"https://" HOST "/SimpleNotificationService-" HEX ".pem;x",
	/* white space */
	" " GOOD_URL,
	GOOD_URL " ",
	GOOD_URL "\n",
	"https://" HOST " /SimpleNotificationService-" HEX ".pem",
	"https:// " HOST "/SimpleNotificationService-" HEX ".pem",
	"https://" HOST "/SimpleNotificationService-" HEX " .pem",
	"https://" HOST "/SimpleNotificationService-" HEX "\t.pem",
	/* control characters */
	"https://" HOST "/SimpleNotificationService-" HEX ".pem\r\n",
	"https://" HOST "\r\nHost: evil.com/SimpleNotificationService-" HEX ".pem",
	"https://sns.us-east-1\x01.amazonaws.com/SimpleNotificationService-" HEX ".pem",
	"https://" HOST "/SimpleNotificationService-" HEX "\x7f.pem",
	"https://" HOST "/SimpleNotificationService-" HEX ".pem\x1b",
	/* nothing much */
	"",
	"https://",
	"https://" HOST,
	"https://" HOST "/",
	"https://" HOST "/SimpleNotificationService-",
};

static void
test_url_hostile(void **state)
{
	struct sns_arn a;
	char           why[256];
	size_t         i;

	assert_true(NITEMS(hostile_urls) >= 30);
	a = arn_of(TOPIC);
	for (i = 0; i < NITEMS(hostile_urls); i++) {
		why[0] = '\0';
		if (policy_cert_url(hostile_urls[i], &a, why, sizeof(why)) != -1)
			fail_msg("accepted hostile URL %zu: %s", i, hostile_urls[i]);
		if (why[0] == '\0')
			fail_msg("no reason for hostile URL %zu: %s", i, hostile_urls[i]);
	}
}

static void
test_url_partitions(void **state)
{
	struct sns_arn a;
	char           why[256];

	/* a .com.cn URL is only for aws-cn, and .com never is */
	a = arn_of(TOPIC_CN);
	assert_int_equal(policy_cert_url(GOOD_URL, &a, why, sizeof(why)), -1);
	assert_int_equal(policy_cert_url("https://sns.cn-north-1.amazonaws.com/"
	                                 "SimpleNotificationService-" HEX ".pem",
	                     &a, why, sizeof(why)),
	    -1);
	assert_int_equal(policy_cert_url("https://sns.cn-northwest-1.amazonaws.com.cn/"
	                                 "SimpleNotificationService-" HEX ".pem",
	                     &a, why, sizeof(why)),
	    -1);
	assert_int_equal(policy_cert_url(CN_URL ".evil.com", &a, why, sizeof(why)), -1);
	a = arn_of(TOPIC);
	assert_int_equal(policy_cert_url(CN_URL, &a, why, sizeof(why)), -1);
	/* the region comes from the topic, not from the URL */
	a = arn_of("arn:aws:sns:eu-west-1:123456789012:t");
	assert_int_equal(policy_cert_url(GOOD_URL, &a, why, sizeof(why)), -1);
	assert_string_equal(why, "URL host is not sns.eu-west-1.amazonaws.com");
}

/* --- policy_subscribe_url ---------------------------------------- */

#define SUB_BASE "https://" HOST "/?Action=ConfirmSubscription"
#define SUB_GOOD SUB_BASE "&TopicArn=" TOPIC "&Token=abc123"

static int
sub_check(const char *url, const char *topic, const char *token, char *why, size_t whylen)
{
	struct sns_msg m;

	memset(&m, 0, sizeof(m));
	m.type = SNS_SUBSCRIPTION_CONFIRMATION;
	m.type_str = "SubscriptionConfirmation";
	m.topic_arn = topic;
	m.token = token;
	m.subscribe_url = url;
	assert_int_equal(sns_arn_parse(topic, &m.arn), 0);
	why[0] = '\0';
	return policy_subscribe_url(&m, why, whylen);
}

static void
test_subscribe_genuine(void **state)
{
	static const char *const good[] = {
		SUB_GOOD,
		SUB_BASE "&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A123456789012%3At&Token=abc123",
		SUB_BASE "&TopicArn=arn%3aaws%3asns%3aus-east-1%3a123456789012%3at&Token=abc123",
		SUB_BASE "&TopicArn=" TOPIC "&Token=abc%31%323",
		"https://" HOST "/?Token=abc123&TopicArn=" TOPIC "&Action=ConfirmSubscription",
	};
	char   why[256];
	size_t i;

	for (i = 0; i < NITEMS(good); i++) {
		if (sub_check(good[i], TOPIC, "abc123", why, sizeof(why)) != 0)
			fail_msg("refused (%s): %s", why, good[i]);
	}
	assert_int_equal(sub_check("https://sns.cn-north-1.amazonaws.com.cn/?Action="
	                           "ConfirmSubscription&TopicArn=" TOPIC_CN "&Token=t0k",
	                     TOPIC_CN, "t0k", why, sizeof(why)),
	    0);
}

/* Regression: the Token the envelope admits (LIM_SNS_TOKEN_MAX bytes) was
 * decoded into a buffer one byte short, so a genuine one was refused. */
static void
test_subscribe_longest_token(void **state)
{
	char   token[LIM_SNS_TOKEN_MAX + 2], url[LIM_SNS_SUBSCRIBE_URL_MAX + 1], why[256];
	size_t n;

	memset(token, 'a', LIM_SNS_TOKEN_MAX);
	token[LIM_SNS_TOKEN_MAX] = '\0';
	n = (size_t)snprintf(url, sizeof(url), SUB_BASE "&TopicArn=" TOPIC "&Token=%s", token);
	assert_true(n < sizeof(url));
	if (sub_check(url, TOPIC, token, why, sizeof(why)) != 0)
		fail_msg("a %d-byte Token refused: %s", LIM_SNS_TOKEN_MAX, why);
	/* one byte more than that is no Token of an envelope that parsed */
	strcat(token, "a");
	n = (size_t)snprintf(url, sizeof(url), SUB_BASE "&TopicArn=" TOPIC "&Token=%s", token);
	assert_true(n < sizeof(url));
	assert_int_equal(sub_check(url, TOPIC, token, why, sizeof(why)), -1);
}

static void
test_subscribe_hostile(void **state)
{
	static const char *const bad[] = {
		/* host */
		"https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=" TOPIC
		"&Token=abc123",
		"https://evil.com/?Action=ConfirmSubscription&TopicArn=" TOPIC "&Token=abc123",
		"https://" HOST ".evil.com/?Action=ConfirmSubscription&TopicArn=" TOPIC
		"&Token=abc123",
		"https://sns.us-east-1.amazonaws.com.cn/?Action=ConfirmSubscription&TopicArn=" TOPIC
		"&Token=abc123",
		"http://" HOST "/?Action=ConfirmSubscription&TopicArn=" TOPIC "&Token=abc123",
		"https://SNS.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=" TOPIC
		"&Token=abc123",
		/* userinfo and port */
		"https://evil@" HOST "/?Action=ConfirmSubscription&TopicArn=" TOPIC "&Token=abc123",
		"https://" HOST "@evil.com/?Action=ConfirmSubscription&TopicArn=" TOPIC
		"&Token=abc123",
		"https://" HOST ":443/?Action=ConfirmSubscription&TopicArn=" TOPIC "&Token=abc123",
		/* path other than "/" */
		"https://" HOST "/confirm?Action=ConfirmSubscription&TopicArn=" TOPIC
		"&Token=abc123",
		"https://" HOST "//?Action=ConfirmSubscription&TopicArn=" TOPIC "&Token=abc123",
		"https://" HOST "?Action=ConfirmSubscription&TopicArn=" TOPIC "&Token=abc123",
		"https://" HOST "/./?Action=ConfirmSubscription&TopicArn=" TOPIC "&Token=abc123",
		"https://" HOST "/",
		"https://" HOST "/?",
		/* TopicArn */
		SUB_BASE "&TopicArn=arn:aws:sns:us-east-1:123456789012:other&Token=abc123",
		SUB_BASE "&TopicArn=arn:aws:sns:us-east-1:123456789012:t2&Token=abc123",
		SUB_BASE
		"&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A123456789012%3Aother&Token=abc123",
		SUB_BASE "&TopicArn=&Token=abc123",
		SUB_BASE "&Token=abc123",
		SUB_BASE "&TopicArn=" TOPIC "%00&Token=abc123",
		SUB_BASE "&TopicArn=" TOPIC "%zz&Token=abc123",
		SUB_BASE "&TopicArn=" TOPIC "%2&Token=abc123",
		SUB_BASE "&topicarn=" TOPIC "&Token=abc123",
		/* Token */
		SUB_BASE "&TopicArn=" TOPIC "&Token=abc124",
		SUB_BASE "&TopicArn=" TOPIC "&Token=abc12",
		SUB_BASE "&TopicArn=" TOPIC "&Token=abc1234",
		SUB_BASE "&TopicArn=" TOPIC "&Token=",
		SUB_BASE "&TopicArn=" TOPIC,
		SUB_BASE "&TopicArn=" TOPIC "&Token=abc123%00",
		SUB_BASE "&TopicArn=" TOPIC "&token=abc123",
		/* Action */
		"https://" HOST "/?TopicArn=" TOPIC "&Token=abc123",
		"https://" HOST "/?Action=Unsubscribe&TopicArn=" TOPIC "&Token=abc123",
		"https://" HOST "/?Action=confirmsubscription&TopicArn=" TOPIC "&Token=abc123",
		"https://" HOST "/?Action=ConfirmSubscriptionX&TopicArn=" TOPIC "&Token=abc123",
		"https://" HOST "/?Action=&TopicArn=" TOPIC "&Token=abc123",
		/* duplicates */
		SUB_GOOD "&Token=abc123",
		SUB_GOOD "&Token=evil",
		"https://" HOST "/?Action=ConfirmSubscription&TopicArn=" TOPIC
		"&Token=evil&Token=abc123",
		SUB_GOOD "&TopicArn=" TOPIC,
		SUB_GOOD "&Action=ConfirmSubscription",
		SUB_GOOD "&Action=Unsubscribe",
		/* anything extra */
		SUB_GOOD "&x=1",
		SUB_GOOD "&Token2=abc123",
		SUB_GOOD "&AuthenticateOnUnsubscribe=false",
		"https://" HOST "/?x=1&Action=ConfirmSubscription&TopicArn=" TOPIC "&Token=abc123",
		SUB_GOOD "&&",
		/* fragment, white space, backslash */
		SUB_GOOD "#frag",
		SUB_GOOD "#",
		SUB_GOOD " ",
		SUB_GOOD "\\",
		SUB_GOOD "@evil.com",
		"",
	};
	char   why[256];
	size_t i;

	for (i = 0; i < NITEMS(bad); i++) {
		if (sub_check(bad[i], TOPIC, "abc123", why, sizeof(why)) != -1)
			fail_msg("accepted hostile SubscribeURL %zu: %s", i, bad[i]);
		if (why[0] == '\0')
			fail_msg("no reason for hostile SubscribeURL %zu: %s", i, bad[i]);
		/* the reason never quotes the token */
		assert_null(strstr(why, "abc123"));
	}
}

/* The message's own values must match, not merely be well-formed. */
static void
test_subscribe_message_values(void **state)
{
	char why[256];

	assert_int_equal(sub_check(SUB_GOOD, TOPIC, "abc1234", why, sizeof(why)), -1);
	assert_string_equal(why, "SubscribeURL Token differs from the message's");
	assert_int_equal(
	    sub_check(SUB_GOOD, "arn:aws:sns:us-east-1:123456789012:u", "abc123", why, sizeof(why)),
	    -1);
	assert_string_equal(why, "SubscribeURL TopicArn differs from the message's");
	/* the host follows the message's TopicArn region */
	assert_int_equal(
	    sub_check(SUB_GOOD, "arn:aws:sns:eu-west-1:123456789012:t", "abc123", why, sizeof(why)),
	    -1);
	assert_string_equal(why, "URL host is not sns.eu-west-1.amazonaws.com");
}

/* --- cert_check_pem -------------------------------------------------- */

static char *
make_cert(EVP_PKEY *key, const char *cn, const char *san, long nb, long na)
{
	struct testcert tc = { cn, san, nb, na };
	char           *pem = testkeys_cert_pem(key, &tc);

	assert_non_null(pem);
	return pem;
}

static int
check_pem(const char *pem, size_t len, const char *topic, time_t now, char *why, size_t whylen)
{
	struct sns_arn a;
	EVP_PKEY      *key = (EVP_PKEY *)1;
	time_t         na = 0;
	int            rc;

	a = arn_of(topic);
	why[0] = '\0';
	rc = cert_check_pem(pem, len, &a, now, &key, &na, why, whylen);
	if (rc == 0) {
		assert_non_null(key);
		EVP_PKEY_free(key);
	} else {
		assert_null(key);
		assert_true(why[0] != '\0');
	}
	return rc;
}

static void
expect_pem(const char *pem, const char *topic, int want, const char *why_part)
{
	char why[256];
	int  rc;

	rc = check_pem(pem, strlen(pem), topic, time(NULL), why, sizeof(why));
	if (rc != want)
		fail_msg("cert_check_pem = %d (%s), want %d", rc, why, want);
	if (why_part != NULL && strstr(why, why_part) == NULL)
		fail_msg("why \"%s\" lacks \"%s\"", why, why_part);
}

static void
test_pem_good(void **state)
{
	struct keys   *k = *state;
	struct sns_arn a;
	EVP_PKEY      *key = NULL;
	time_t         now, na = 0;
	char          *pem;
	char           why[256] = "";

	now = time(NULL);
	pem = make_cert(k->rsa, "sns.amazonaws.com", NULL, -3600, 86400);
	a = arn_of(TOPIC);
	assert_int_equal(cert_check_pem(pem, strlen(pem), &a, now, &key, &na, why, sizeof(why)), 0);
	assert_non_null(key);
	/* the key is the certificate's */
	assert_int_equal(EVP_PKEY_eq(key, k->rsa), 1);
	assert_int_equal(EVP_PKEY_get_base_id(key), EVP_PKEY_RSA);
	/* its expiry, to the second (the certificate was made just now) */
	assert_true(na >= now + 86400 - 5 && na <= now + 86400 + 5);
	EVP_PKEY_free(key);
	free(pem);
}

/* The name AWS gives each region's signing certificate (the SNS message
 * manager of the AWS SDK for Java v2), one case a name, plus the regional
 * names real certificates carry; and names that belong to another region
 * or partition. */
static void
test_pem_good_names(void **state)
{
	static const struct {
		const char *region_arn;
		const char *cn;
		const char *san;
		int         want;
	} cases[] = {
		{ TOPIC, NULL, "sns.amazonaws.com", 0 }, /* SAN only, no CN */
		{ TOPIC, "sns.amazonaws.com", NULL, 0 },
		{ TOPIC, "sns.us-east-1.amazonaws.com", NULL, 0 },
		{ "arn:aws:sns:eu-west-1:123456789012:t", "sns.us-east-1.amazonaws.com", NULL, -1 },
		{ "arn:aws:sns:eu-west-1:123456789012:t", "sns.amazonaws.com", NULL, 0 },
		/* opt-in regions: sns-signing.REGION.amazonaws.com */
		{ "arn:aws:sns:af-south-1:123456789012:t", "sns-signing.af-south-1.amazonaws.com",
		    NULL, 0 },
		{ "arn:aws:sns:af-south-1:123456789012:t", NULL,
		    "sns-signing.af-south-1.amazonaws.com", 0 },
		{ "arn:aws:sns:af-south-1:123456789012:t", "sns.af-south-1.amazonaws.com", NULL,
		    0 },
		{ "arn:aws:sns:af-south-1:123456789012:t", "sns.amazonaws.com", NULL, -1 },
		{ "arn:aws:sns:ap-east-1:123456789012:t", "sns-signing.ap-east-1.amazonaws.com",
		    NULL, 0 },
		{ "arn:aws:sns:ap-east-2:123456789012:t", "sns-signing.ap-east-2.amazonaws.com",
		    NULL, 0 },
		{ "arn:aws:sns:ap-south-2:123456789012:t", "sns-signing.ap-south-2.amazonaws.com",
		    NULL, 0 },
		{ "arn:aws:sns:ap-southeast-3:123456789012:t",
		    "sns-signing.ap-southeast-3.amazonaws.com", NULL, 0 },
		{ "arn:aws:sns:ap-southeast-4:123456789012:t",
		    "sns-signing.ap-southeast-4.amazonaws.com", NULL, 0 },
		{ "arn:aws:sns:ap-southeast-5:123456789012:t",
		    "sns-signing.ap-southeast-5.amazonaws.com", NULL, 0 },
		{ "arn:aws:sns:ap-southeast-6:123456789012:t",
		    "sns-signing.ap-southeast-6.amazonaws.com", NULL, 0 },
		{ "arn:aws:sns:ap-southeast-7:123456789012:t",
		    "sns-signing.ap-southeast-7.amazonaws.com", NULL, 0 },
		{ "arn:aws:sns:me-south-1:123456789012:t", "sns-signing.me-south-1.amazonaws.com",
		    NULL, 0 },
		{ "arn:aws:sns:me-central-1:123456789012:t",
		    "sns-signing.me-central-1.amazonaws.com", NULL, 0 },
		{ "arn:aws:sns:eu-south-1:123456789012:t", "sns-signing.eu-south-1.amazonaws.com",
		    NULL, 0 },
		{ "arn:aws:sns:eu-south-2:123456789012:t", "sns-signing.eu-south-2.amazonaws.com",
		    NULL, 0 },
		{ "arn:aws:sns:eu-central-2:123456789012:t",
		    "sns-signing.eu-central-2.amazonaws.com", NULL, 0 },
		{ "arn:aws:sns:il-central-1:123456789012:t",
		    "sns-signing.il-central-1.amazonaws.com", NULL, 0 },
		{ "arn:aws:sns:ca-west-1:123456789012:t", "sns-signing.ca-west-1.amazonaws.com",
		    NULL, 0 },
		{ "arn:aws:sns:mx-central-1:123456789012:t",
		    "sns-signing.mx-central-1.amazonaws.com", NULL, 0 },
		/* another region's signing name */
		{ "arn:aws:sns:ap-east-1:123456789012:t", "sns-signing.me-south-1.amazonaws.com",
		    NULL, -1 },
		/* GovCloud: one name for both regions */
		{ "arn:aws-us-gov:sns:us-gov-west-1:123456789012:t",
		    "sns-us-gov-west-1.amazonaws.com", NULL, 0 },
		{ "arn:aws-us-gov:sns:us-gov-east-1:123456789012:t",
		    "sns-us-gov-west-1.amazonaws.com", NULL, 0 },
		{ "arn:aws-us-gov:sns:us-gov-east-1:123456789012:t", "sns.amazonaws.com", NULL,
		    -1 },
		/* China */
		{ TOPIC_CN, "sns-cn-north-1.amazonaws.com.cn", NULL, 0 },
		{ TOPIC_CN, "sns.cn-north-1.amazonaws.com.cn", NULL, 0 },
		{ "arn:aws-cn:sns:cn-northwest-1:123456789012:t",
		    "sns-cn-northwest-1.amazonaws.com.cn", NULL, 0 },
		{ "arn:aws-cn:sns:cn-northwest-1:123456789012:t", "sns-cn-north-1.amazonaws.com.cn",
		    NULL, -1 },
		{ TOPIC_CN, "sns.amazonaws.com", NULL, -1 },
		{ TOPIC, "sns-cn-north-1.amazonaws.com.cn", NULL, -1 },
		{ TOPIC, "sns.amazonaws.com.cn", NULL, -1 },
		/* a region that is no region has no name at all */
		{ "arn:aws:sns:s3-us-west-2:123456789012:t", "sns.amazonaws.com", NULL, -1 },
	};
	struct keys *k = *state;
	char        *pem;
	size_t       i;

	for (i = 0; i < NITEMS(cases); i++) {
		pem = make_cert(k->rsa, cases[i].cn, cases[i].san, -60, 3600);
		expect_pem(pem, cases[i].region_arn, cases[i].want,
		    cases[i].want == 0 ? NULL : "not issued");
		free(pem);
	}
}

static void
test_pem_whitespace_around(void **state)
{
	struct keys *k = *state;
	char        *pem, *p, *q;
	size_t       n, i;

	pem = make_cert(k->rsa, "sns.amazonaws.com", NULL, -60, 3600);
	n = strlen(pem);
	p = malloc(n + 16);
	assert_non_null(p);
	snprintf(p, n + 16, "\n \t\r\n%s\r\n\n ", pem);
	expect_pem(p, TOPIC, 0, NULL);
	free(p);
	/* CRLF line ends throughout */
	p = malloc(2 * n + 1);
	assert_non_null(p);
	for (i = 0, q = p; i < n; i++) {
		if (pem[i] == '\n')
			*q++ = '\r';
		*q++ = pem[i];
	}
	*q = '\0';
	expect_pem(p, TOPIC, 0, NULL);
	free(p);
	free(pem);
}

static void
test_pem_validity(void **state)
{
	struct keys *k = *state;
	char         why[256];
	char        *pem;
	time_t       now = time(NULL);

	pem = make_cert(k->rsa, "sns.amazonaws.com", NULL, -7200, -3600);
	expect_pem(pem, TOPIC, -1, "expired");
	free(pem);
	pem = make_cert(k->rsa, "sns.amazonaws.com", NULL, 3600, 7200);
	expect_pem(pem, TOPIC, -1, "not yet valid");
	free(pem);
	/* one certificate, judged at different moments */
	pem = make_cert(k->rsa, "sns.amazonaws.com", NULL, -3600, 3600);
	assert_int_equal(check_pem(pem, strlen(pem), TOPIC, now, why, sizeof(why)), 0);
	assert_int_equal(check_pem(pem, strlen(pem), TOPIC, now + 7200, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "expired"));
	assert_int_equal(check_pem(pem, strlen(pem), TOPIC, now - 7200, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "not yet valid"));
	free(pem);
}

static void
test_pem_wrong_names(void **state)
{
	static const char *const names[] = { "sns.amazonaws.com.evil.com", "s3.amazonaws.com",
		"evilsns.amazonaws.com", "sns.amazonaws.co", "amazonaws.com", "sns.evil.com",
		"sns-amazonaws.com", "sns.us-east-2.amazonaws.com",
		"sns.us-east-1.amazonaws.com.cn", "x.sns.amazonaws.com" };
	struct keys             *k = *state;
	char                    *pem;
	size_t                   i;

	for (i = 0; i < NITEMS(names); i++) {
		/* as CN */
		pem = make_cert(k->rsa, names[i], NULL, -60, 3600);
		expect_pem(pem, TOPIC, -1, "not issued");
		free(pem);
		/* as SAN */
		pem = make_cert(k->rsa, NULL, names[i], -60, 3600);
		expect_pem(pem, TOPIC, -1, "not issued");
		free(pem);
	}
	/* with a DNS SAN, the CN no longer counts */
	pem = make_cert(k->rsa, "sns.amazonaws.com", "s3.amazonaws.com", -60, 3600);
	expect_pem(pem, TOPIC, -1, "not issued");
	free(pem);
	/* no name at all */
	pem = make_cert(k->rsa, NULL, NULL, -60, 3600);
	expect_pem(pem, TOPIC, -1, "not issued");
	free(pem);
	/* a partial wildcard */
	pem = make_cert(k->rsa, NULL, "sns*.amazonaws.com", -60, 3600);
	expect_pem(pem, TOPIC, -1, "not issued");
	free(pem);
}

static void
test_pem_key_type(void **state)
{
	struct keys *k = *state;
	char        *pem;

	pem = make_cert(k->ec, "sns.amazonaws.com", NULL, -60, 3600);
	expect_pem(pem, TOPIC, -1, "RSA");
	free(pem);
	pem = make_cert(k->rsa_weak, "sns.amazonaws.com", NULL, -60, 3600);
	expect_pem(pem, TOPIC, -1, "RSA of 2048");
	free(pem);
}

static void
test_pem_framing(void **state)
{
	struct keys *k = *state;
	char        *pem, *other, *keypem, *p;
	size_t       n, m;

	pem = make_cert(k->rsa, "sns.amazonaws.com", NULL, -60, 3600);
	other = make_cert(k->rsa, "sns.amazonaws.com", NULL, -120, 3600);
	keypem = testkeys_key_pem(k->rsa);
	assert_non_null(keypem);
	n = strlen(pem);
	m = strlen(other) + strlen(keypem);
	p = malloc(n + m + 64);
	assert_non_null(p);

	/* two certificates */
	snprintf(p, n + m + 64, "%s%s", pem, other);
	expect_pem(p, TOPIC, -1, "exactly one");
	snprintf(p, n + m + 64, "%s\n%s", pem, pem);
	expect_pem(p, TOPIC, -1, "exactly one");
	/* junk before */
	snprintf(p, n + m + 64, "junk\n%s", pem);
	expect_pem(p, TOPIC, -1, "exactly one");
	snprintf(p, n + m + 64, "x%s", pem);
	expect_pem(p, TOPIC, -1, "exactly one");
	snprintf(p, n + m + 64, "Subject: CN=sns.amazonaws.com\n%s", pem);
	expect_pem(p, TOPIC, -1, "exactly one");
	/* junk after */
	snprintf(p, n + m + 64, "%sjunk\n", pem);
	expect_pem(p, TOPIC, -1, "after");
	snprintf(p, n + m + 64, "%s\n\nx", pem);
	expect_pem(p, TOPIC, -1, "after");
	/* a private key: instead of, before and after the certificate */
	expect_pem(keypem, TOPIC, -1, "exactly one");
	snprintf(p, n + m + 64, "%s%s", keypem, pem);
	expect_pem(p, TOPIC, -1, "exactly one");
	snprintf(p, n + m + 64, "%s%s", pem, keypem);
	expect_pem(p, TOPIC, -1, NULL);
	/* empty, blank, and an empty PEM block */
	expect_pem("", TOPIC, -1, NULL);
	expect_pem(" \n", TOPIC, -1, NULL);
	expect_pem("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n", TOPIC, -1, NULL);
	/* no END line */
	snprintf(p, n + m + 64, "%s", pem);
	*strstr(p, "-----END") = '\0';
	expect_pem(p, TOPIC, -1, "exactly one");
	/* damaged base64 inside */
	snprintf(p, n + m + 64, "%s", pem);
	p[40] = '!';
	p[41] = '!';
	expect_pem(p, TOPIC, -1, "does not parse");

	free(p);
	free(keypem);
	free(other);
	free(pem);
}

static void
test_pem_binary_and_size(void **state)
{
	struct keys *k = *state;
	char         why[256];
	char        *pem, *p;
	size_t       n;

	pem = make_cert(k->rsa, "sns.amazonaws.com", NULL, -60, 3600);
	n = strlen(pem);
	/* a NUL inside the length given */
	p = malloc(n + 8);
	assert_non_null(p);
	memcpy(p, pem, n + 1);
	p[n] = '\0';
	p[n + 1] = '\n';
	p[n + 2] = '\0';
	assert_int_equal(check_pem(p, n + 2, TOPIC, time(NULL), why, sizeof(why)), -1);
	assert_non_null(strstr(why, "too large or binary"));
	free(p);

	/* padded with white space to exactly the cap: fine; one more: not */
	p = malloc(CERT_MAX_PEM + 2);
	assert_non_null(p);
	memcpy(p, pem, n);
	memset(p + n, '\n', CERT_MAX_PEM + 1 - n);
	p[CERT_MAX_PEM] = '\0';
	assert_int_equal(strlen(p), CERT_MAX_PEM);
	assert_int_equal(check_pem(p, CERT_MAX_PEM, TOPIC, time(NULL), why, sizeof(why)), 0);
	p[CERT_MAX_PEM] = '\n';
	p[CERT_MAX_PEM + 1] = '\0';
	assert_int_equal(check_pem(p, CERT_MAX_PEM + 1, TOPIC, time(NULL), why, sizeof(why)), -1);
	assert_non_null(strstr(why, "too large"));
	free(p);
	free(pem);
}

/* Regression: cert_check_pem() once searched the PEM markers with
 * strstr() past len, so bytes after the certificate changed the verdict
 * (and a buffer without a NUL after len was over-read). */
static void
test_pem_ignores_bytes_after_len(void **state)
{
	struct keys *k = *state;
	char         why[256];
	char        *pem, *other, *p;
	size_t       n;

	pem = make_cert(k->rsa, "sns.amazonaws.com", NULL, -60, 3600);
	other = make_cert(k->rsa, "sns.amazonaws.com", NULL, -120, 3600);
	n = strlen(pem);
	p = malloc(n + strlen(other) + 1);
	assert_non_null(p);
	memcpy(p, pem, n);
	strcpy(p + n, other);
	/* only the first n bytes are the certificate */
	if (check_pem(p, n, TOPIC, time(NULL), why, sizeof(why)) != 0)
		fail_msg("refused because of bytes after len: %s", why);
	free(p);
	free(other);
	free(pem);
}

/* --- certcache_get -------------------------------------------------------- */

static const struct http_opts unreachable = { NULL, UNREACHABLE, 0 };

static void
test_get_unreachable(void **state)
{
	struct certcache     *c;
	struct http          *h;
	struct sns_arn        a;
	EVP_PKEY             *key = (EVP_PKEY *)1;
	enum certcache_source from = CERTCACHE_FROM_DISK;
	char                  why[512] = "";
	time_t                t0;

	c = certcache_new();
	assert_non_null(c);
	h = http_new();
	assert_non_null(h);
	a = arn_of(TOPIC);
	t0 = time(NULL);
	assert_int_equal(certcache_get(c, h,
	                     &(struct cert_fetch){ GOOD_URL, &a, &unreachable, NULL, time(NULL) },
	                     &key, &from, why, sizeof(why)),
	    CERTCACHE_UNAVAILABLE);
	assert_null(key);
	assert_non_null(strstr(why, "certificate fetch failed"));
	/* refused at once, not after a timeout */
	assert_true(time(NULL) - t0 < 3);
	/* a failure is not cached: the same answer again */
	key = (EVP_PKEY *)1;
	assert_int_equal(certcache_get(c, h,
	                     &(struct cert_fetch){ GOOD_URL, &a, &unreachable, NULL, time(NULL) },
	                     &key, &from, why, sizeof(why)),
	    CERTCACHE_UNAVAILABLE);
	assert_null(key);
	http_free(h);
	certcache_free(c);
}

/* DIR/<sha256 of url, CA file and CONNECT_TO>.pem, as certcache.c names its
 * cache files. */
static void
cache_file_in(
    const char *dir, const char *url, const struct http_opts *o, char *path, size_t pathlen)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char          hex[SHA256_DIGEST_LENGTH * 2 + 1], key[1024];
	int           i;

	snprintf(key, sizeof(key), "%s\n%s\n%s", url, o->ca_file ? o->ca_file : "",
	    o->connect_to ? o->connect_to : "");
	SHA256((const unsigned char *)key, strlen(key), md);
	for (i = 0; i < SHA256_DIGEST_LENGTH; i++)
		snprintf(hex + i * 2, 3, "%02x", md[i]);
	snprintf(path, pathlen, "%s/%s.pem", dir, hex);
}

static void
cache_file(const char *dir, const char *url, char *path, size_t pathlen)
{
	cache_file_in(dir, url, &unreachable, path, pathlen);
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* With the network out of reach, a certificate can still come from the
 * disk cache, and after that from memory alone. */
static void
test_get_disk_then_memory(void **state)
{
	struct keys          *k = *state;
	struct certcache     *c;
	struct http          *h;
	struct sns_arn        a;
	EVP_PKEY             *key = NULL, *first;
	enum certcache_source from = CERTCACHE_FROM_NETWORK;
	char                  dir[] = "/tmp/sf-test-cert-XXXXXX";
	char                  path[512], why[512] = "";
	char                 *pem;
	time_t                now = time(NULL);
	struct stat           st;

	assert_non_null(mkdtemp(dir));
	cache_file(dir, GOOD_URL, path, sizeof(path));
	pem = make_cert(k->rsa, "sns.amazonaws.com", NULL, -60, 3600);
	write_file(path, pem);
	c = certcache_new();
	h = http_new();
	assert_non_null(c);
	assert_non_null(h);
	a = arn_of(TOPIC);

	assert_int_equal(
	    certcache_get(c, h, &(struct cert_fetch){ GOOD_URL, &a, &unreachable, dir, now }, &key,
	        &from, why, sizeof(why)),
	    CERTCACHE_OK);
	assert_int_equal(from, CERTCACHE_FROM_DISK);
	assert_non_null(key);
	assert_int_equal(EVP_PKEY_eq(key, k->rsa), 1);
	first = key;

	/* the file is gone: memory still has it, with no network */
	assert_int_equal(unlink(path), 0);
	key = NULL;
	from = CERTCACHE_FROM_NETWORK;
	assert_int_equal(
	    certcache_get(c, h, &(struct cert_fetch){ GOOD_URL, &a, &unreachable, dir, now + 60 },
	        &key, &from, why, sizeof(why)),
	    CERTCACHE_OK);
	assert_int_equal(from, CERTCACHE_FROM_MEMORY);
	assert_ptr_equal(key, first);

	/* another URL is not served from this entry */
	key = (EVP_PKEY *)1;
	assert_int_equal(
	    certcache_get(c, h,
	        &(struct cert_fetch){ "https://" HOST "/SimpleNotificationService-0123.pem", &a,
	            &unreachable, dir, now },
	        &key, &from, why, sizeof(why)),
	    CERTCACHE_UNAVAILABLE);
	assert_null(key);

	/* once past the certificate's expiry, memory no longer serves it */
	key = (EVP_PKEY *)1;
	assert_int_equal(
	    certcache_get(c, h, &(struct cert_fetch){ GOOD_URL, &a, &unreachable, dir, now + 7200 },
	        &key, &from, why, sizeof(why)),
	    CERTCACHE_UNAVAILABLE);
	assert_null(key);
	assert_int_equal(stat(path, &st), -1);

	http_free(h);
	certcache_free(c);
	free(pem);
	assert_int_equal(rmdir(dir), 0);
}

/* A certificate cached under one location's trust context (CA file,
 * CONNECT_TO) is not trusted under another's, from memory or from disk. */
static void
test_get_trust_context(void **state)
{
	static const struct http_opts other = { NULL, HOST ":443:127.0.0.1:2", 0 };
	static const struct http_opts other_ca = { "/nonexistent/ca.pem", UNREACHABLE, 0 };
	struct keys                  *k = *state;
	struct certcache             *c;
	struct http                  *h;
	struct sns_arn                a;
	EVP_PKEY                     *key = NULL;
	enum certcache_source         from = CERTCACHE_FROM_NETWORK;
	char                          dir[] = "/tmp/sf-test-cert-XXXXXX";
	char                          path[512], why[512] = "";
	char                         *pem;
	time_t                        now = time(NULL);

	assert_non_null(mkdtemp(dir));
	cache_file(dir, GOOD_URL, path, sizeof(path));
	pem = make_cert(k->rsa, "sns.amazonaws.com", NULL, -60, 3600);
	write_file(path, pem);
	c = certcache_new();
	h = http_new();
	assert_non_null(c);
	assert_non_null(h);
	a = arn_of(TOPIC);
	assert_int_equal(
	    certcache_get(c, h, &(struct cert_fetch){ GOOD_URL, &a, &unreachable, dir, now }, &key,
	        &from, why, sizeof(why)),
	    CERTCACHE_OK);
	assert_int_equal(from, CERTCACHE_FROM_DISK);
	/* in memory and on disk for the first context; neither serves these */
	key = (EVP_PKEY *)1;
	assert_int_equal(certcache_get(c, h, &(struct cert_fetch){ GOOD_URL, &a, &other, dir, now },
	                     &key, &from, why, sizeof(why)),
	    CERTCACHE_UNAVAILABLE);
	assert_null(key);
	key = (EVP_PKEY *)1;
	assert_int_equal(
	    certcache_get(c, h, &(struct cert_fetch){ GOOD_URL, &a, &other_ca, dir, now }, &key,
	        &from, why, sizeof(why)),
	    CERTCACHE_UNAVAILABLE);
	assert_null(key);
	/* and the first context still is */
	key = NULL;
	assert_int_equal(
	    certcache_get(c, h, &(struct cert_fetch){ GOOD_URL, &a, &unreachable, dir, now }, &key,
	        &from, why, sizeof(why)),
	    CERTCACHE_OK);
	assert_int_equal(from, CERTCACHE_FROM_MEMORY);
	assert_int_equal(unlink(path), 0);
	http_free(h);
	certcache_free(c);
	free(pem);
	assert_int_equal(rmdir(dir), 0);
}

/* A cached file that no longer passes is dropped, never trusted. */
static void
test_get_disk_expired_dropped(void **state)
{
	struct keys          *k = *state;
	struct certcache     *c;
	struct http          *h;
	struct sns_arn        a;
	EVP_PKEY             *key = (EVP_PKEY *)1;
	enum certcache_source from = CERTCACHE_FROM_NETWORK;
	char                  dir[] = "/tmp/sf-test-cert-XXXXXX";
	char                  path[512], why[512] = "";
	char                 *pem;
	struct stat           st;

	assert_non_null(mkdtemp(dir));
	cache_file(dir, GOOD_URL, path, sizeof(path));
	pem = make_cert(k->rsa, "sns.amazonaws.com", NULL, -7200, -3600);
	write_file(path, pem);
	c = certcache_new();
	h = http_new();
	assert_non_null(c);
	assert_non_null(h);
	a = arn_of(TOPIC);
	assert_int_equal(
	    certcache_get(c, h, &(struct cert_fetch){ GOOD_URL, &a, &unreachable, dir, time(NULL) },
	        &key, &from, why, sizeof(why)),
	    CERTCACHE_UNAVAILABLE);
	assert_null(key);
	assert_int_equal(stat(path, &st), -1);
	assert_int_equal(errno, ENOENT);

	/* the same for a file that is not a certificate at all */
	write_file(path, "not a certificate\n");
	key = (EVP_PKEY *)1;
	assert_int_equal(
	    certcache_get(c, h, &(struct cert_fetch){ GOOD_URL, &a, &unreachable, dir, time(NULL) },
	        &key, &from, why, sizeof(why)),
	    CERTCACHE_UNAVAILABLE);
	assert_null(key);
	assert_int_equal(stat(path, &st), -1);

	http_free(h);
	certcache_free(c);
	free(pem);
	assert_int_equal(rmdir(dir), 0);
}

/* The memory cache holds CERTCACHE_MEM_SLOTS keys and evicts the one used
 * least recently. */
static void
test_get_memory_lru(void **state)
{
	struct keys          *k = *state;
	struct certcache     *c;
	struct http          *h;
	struct sns_arn        a;
	EVP_PKEY             *key;
	enum certcache_source from;
	char                  dir[] = "/tmp/sf-test-cert-XXXXXX";
	char                  url[CERTCACHE_MEM_SLOTS + 1][128];
	char                  path[512], why[512] = "";
	char                 *pem;
	time_t                now = time(NULL);
	int                   i;

	assert_non_null(mkdtemp(dir));
	pem = make_cert(k->rsa, "sns.amazonaws.com", NULL, -60, 3600);
	c = certcache_new();
	h = http_new();
	assert_non_null(c);
	assert_non_null(h);
	a = arn_of(TOPIC);
	for (i = 0; i <= CERTCACHE_MEM_SLOTS; i++) {
		snprintf(url[i], sizeof(url[i]),
		    "https://" HOST "/SimpleNotificationService-%04x.pem", i);
		if (i == CERTCACHE_MEM_SLOTS) {
			/* touch the oldest, so that the second oldest goes */
			key = NULL;
			assert_int_equal(
			    certcache_get(c, h,
			        &(struct cert_fetch){ url[0], &a, &unreachable, dir, now }, &key,
			        &from, why, sizeof(why)),
			    CERTCACHE_OK);
			assert_int_equal(from, CERTCACHE_FROM_MEMORY);
		}
		cache_file(dir, url[i], path, sizeof(path));
		write_file(path, pem);
		key = NULL;
		assert_int_equal(
		    certcache_get(c, h, &(struct cert_fetch){ url[i], &a, &unreachable, dir, now },
		        &key, &from, why, sizeof(why)),
		    CERTCACHE_OK);
		assert_int_equal(from, CERTCACHE_FROM_DISK);
		assert_int_equal(unlink(path), 0);
	}
	for (i = 0; i <= CERTCACHE_MEM_SLOTS; i++) {
		key = NULL;
		from = CERTCACHE_FROM_NETWORK;
		if (i == 1) {
			assert_int_equal(
			    certcache_get(c, h,
			        &(struct cert_fetch){ url[i], &a, &unreachable, dir, now }, &key,
			        &from, why, sizeof(why)),
			    CERTCACHE_UNAVAILABLE);
			assert_null(key);
			continue;
		}
		if (certcache_get(c, h, &(struct cert_fetch){ url[i], &a, &unreachable, dir, now },
		        &key, &from, why, sizeof(why)) != CERTCACHE_OK)
			fail_msg("%s: not in memory (%s)", url[i], why);
		assert_int_equal(from, CERTCACHE_FROM_MEMORY);
		assert_non_null(key);
	}
	http_free(h);
	certcache_free(c);
	free(pem);
	assert_int_equal(rmdir(dir), 0);
}

static void
test_source_names(void **state)
{
	assert_string_equal(certcache_source_name(CERTCACHE_FROM_MEMORY), "memory");
	assert_string_equal(certcache_source_name(CERTCACHE_FROM_DISK), "disk");
	assert_string_equal(certcache_source_name(CERTCACHE_FROM_NETWORK), "network");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_genuine),
		cmocka_unit_test(test_url_hostile),
		cmocka_unit_test(test_url_partitions),
		cmocka_unit_test(test_subscribe_genuine),
		cmocka_unit_test(test_subscribe_longest_token),
		cmocka_unit_test(test_subscribe_hostile),
		cmocka_unit_test(test_subscribe_message_values),
		cmocka_unit_test(test_pem_good),
		cmocka_unit_test(test_pem_good_names),
		cmocka_unit_test(test_pem_whitespace_around),
		cmocka_unit_test(test_pem_validity),
		cmocka_unit_test(test_pem_wrong_names),
		cmocka_unit_test(test_pem_key_type),
		cmocka_unit_test(test_pem_framing),
		cmocka_unit_test(test_pem_binary_and_size),
		cmocka_unit_test(test_pem_ignores_bytes_after_len),
		cmocka_unit_test(test_get_unreachable),
		cmocka_unit_test(test_get_disk_then_memory),
		cmocka_unit_test(test_get_disk_expired_dropped),
		cmocka_unit_test(test_get_trust_context),
		cmocka_unit_test(test_get_memory_lru),
		cmocka_unit_test(test_source_names),
	};

	return cmocka_run_group_tests_name("cert", tests, group_setup, group_teardown);
}
