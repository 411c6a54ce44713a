/* SPDX-License-Identifier: ISC */
/* ses-feedback - unit tests for the rules decided before any I/O
 * (src/policy.c): which partitions and regions exist, and the replay
 * window. A region that is no AWS region must never become a host name. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "json_in.h"
#include "policy.h"
#include "sns.h"

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

static struct sns_arn
arn_of(const char *s)
{
	struct sns_arn a;

	if (sns_arn_parse(s, &a) != 0)
		fail_msg("sns_arn_parse(\"%s\") refused", s);
	return a;
}

/* Every SNS region AWS has opened, in all three partitions. */
static void
test_regions_accepted(void **state)
{
	static const char *const ok[] = {
		"arn:aws:sns:us-east-1:123456789012:t",
		"arn:aws:sns:us-east-2:123456789012:t",
		"arn:aws:sns:us-west-1:123456789012:t",
		"arn:aws:sns:us-west-2:123456789012:t",
		"arn:aws:sns:af-south-1:123456789012:t",
		"arn:aws:sns:ap-east-1:123456789012:t",
		"arn:aws:sns:ap-east-2:123456789012:t",
		"arn:aws:sns:ap-south-1:123456789012:t",
		"arn:aws:sns:ap-south-2:123456789012:t",
		"arn:aws:sns:ap-northeast-1:123456789012:t",
		"arn:aws:sns:ap-northeast-3:123456789012:t",
		"arn:aws:sns:ap-southeast-7:123456789012:t",
		"arn:aws:sns:ca-central-1:123456789012:t",
		"arn:aws:sns:ca-west-1:123456789012:t",
		"arn:aws:sns:eu-central-1:123456789012:t",
		"arn:aws:sns:eu-central-2:123456789012:t",
		"arn:aws:sns:eu-north-1:123456789012:t",
		"arn:aws:sns:eu-south-2:123456789012:t",
		"arn:aws:sns:eu-west-3:123456789012:t",
		"arn:aws:sns:il-central-1:123456789012:t",
		"arn:aws:sns:me-central-1:123456789012:t",
		"arn:aws:sns:me-south-1:123456789012:t",
		"arn:aws:sns:mx-central-1:123456789012:t",
		"arn:aws:sns:sa-east-1:123456789012:t",
		"arn:aws:sns:us-east-12:123456789012:t",
		"arn:aws-cn:sns:cn-north-1:123456789012:t",
		"arn:aws-cn:sns:cn-northwest-1:123456789012:t",
		"arn:aws-us-gov:sns:us-gov-west-1:123456789012:t",
		"arn:aws-us-gov:sns:us-gov-east-1:123456789012:t",
	};
	struct sns_arn a;
	char           why[256];
	size_t         i;

	for (i = 0; i < NITEMS(ok); i++) {
		a = arn_of(ok[i]);
		if (policy_region_ok(&a, why, sizeof(why)) != 0)
			fail_msg("%s refused: %s", ok[i], why);
	}
}

/* Regions the old [a-z0-9-] rule took: each one names a host that is not
 * SNS (S3 website and bucket endpoints above all), or mixes partitions. */
static void
test_regions_refused(void **state)
{
	static const char *const bad[] = {
		"arn:aws:sns:s3-us-west-2:123456789012:t",
		"arn:aws:sns:s3-external-1:123456789012:t",
		"arn:aws:sns:s3-accelerate:123456789012:t",
		"arn:aws:sns:s3-website-us-east-1:123456789012:t",
		"arn:aws:sns:dualstack:123456789012:t",
		"arn:aws:sns:us-east:123456789012:t",
		"arn:aws:sns:us-east-0:123456789012:t",
		"arn:aws:sns:us-east-01:123456789012:t",
		"arn:aws:sns:us-east-100:123456789012:t",
		"arn:aws:sns:us-east-1-x:123456789012:t",
		"arn:aws:sns:us-up-1:123456789012:t",
		"arn:aws:sns:xx-east-1:123456789012:t",
		"arn:aws:sns:cn-north-1:123456789012:t",
		"arn:aws:sns:us-gov-west-1:123456789012:t",
		"arn:aws-cn:sns:us-east-1:123456789012:t",
		"arn:aws-cn:sns:s3-cn-north-1:123456789012:t",
		"arn:aws-us-gov:sns:us-west-1:123456789012:t",
		"arn:aws-us-gov:sns:us-gov-west:123456789012:t",
	};
	struct sns_arn a;
	char           why[256];
	size_t         i;

	for (i = 0; i < NITEMS(bad); i++) {
		a = arn_of(bad[i]);
		why[0] = '\0';
		if (policy_region_ok(&a, why, sizeof(why)) != -1)
			fail_msg("%s accepted", bad[i]);
		assert_non_null(strstr(why, "is not an AWS region of partition"));
		assert_non_null(strstr(why, a.region));
		/* and no certificate name can be made for it */
		{
			char names[POLICY_MAX_NAMES][POLICY_NAME_LEN];

			assert_int_equal(policy_cert_names(&a, names), -1);
		}
	}
}

static void
test_partitions_named(void **state)
{
	static const char *const bad[] = {
		"arn:aws-iso:sns:us-iso-east-1:123456789012:t",
		"arn:aws-iso-b:sns:us-isob-east-1:123456789012:t",
		"arn:aws-eusc:sns:eusc-de-east-1:123456789012:t",
	};
	struct sns_arn a;
	char           why[256];
	size_t         i;

	for (i = 0; i < NITEMS(bad); i++) {
		a = arn_of(bad[i]);
		assert_int_equal(policy_region_ok(&a, why, sizeof(why)), -1);
		if (strstr(why, a.partition) == NULL || strstr(why, "not served") == NULL)
			fail_msg("%s: reason does not name the partition: %s", bad[i], why);
	}
}

static void
test_cert_names(void **state)
{
	char           names[POLICY_MAX_NAMES][POLICY_NAME_LEN];
	struct sns_arn a;
	int            n;

	a = arn_of("arn:aws:sns:us-east-1:123456789012:t");
	n = policy_cert_names(&a, names);
	assert_int_equal(n, 3);
	assert_string_equal(names[0], "sns.amazonaws.com");
	assert_string_equal(names[1], "sns.us-east-1.amazonaws.com");
	assert_string_equal(names[2], "sns-signing.us-east-1.amazonaws.com");
	a = arn_of("arn:aws-us-gov:sns:us-gov-east-1:123456789012:t");
	n = policy_cert_names(&a, names);
	assert_int_equal(n, 3);
	assert_string_equal(names[0], "sns-us-gov-west-1.amazonaws.com");
	assert_string_equal(names[1], "sns.us-gov-east-1.amazonaws.com");
	a = arn_of("arn:aws-cn:sns:cn-northwest-1:123456789012:t");
	n = policy_cert_names(&a, names);
	assert_string_equal(names[0], "sns-cn-northwest-1.amazonaws.com.cn");
	assert_string_equal(names[1], "sns.cn-northwest-1.amazonaws.com.cn");
	a = arn_of("arn:aws:sns:me-south-1:123456789012:t");
	n = policy_cert_names(&a, names);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "sns.me-south-1.amazonaws.com");
	assert_string_equal(names[1], "sns-signing.me-south-1.amazonaws.com");
}

/* SNS stops retrying after 3600 s; the default window adds 15 min of
 * clock skew. The edges are inclusive. */
static void
test_replay_window(void **state)
{
	time_t now = 1800000000;
	char   why[256];

	assert_int_equal(policy_fresh(now, now, 4500, why, sizeof(why)), 0);
	assert_int_equal(policy_fresh(now - 4500, now, 4500, why, sizeof(why)), 0);
	assert_int_equal(policy_fresh(now - 4501, now, 4500, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "4501 s (1 h 15 min) old"));
	assert_non_null(strstr(why, "SES_FEEDBACK_MAX_AGE=4500"));
	/* a capture replayed a month later */
	assert_int_equal(policy_fresh(now - 30 * 86400, now, 4500, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "720 h"));
	assert_int_equal(policy_fresh(now + 900, now, 4500, why, sizeof(why)), 0);
	assert_int_equal(policy_fresh(now + 901, now, 4500, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "901 s in the future"));
}

/* Timestamps must be real dates: PostgreSQL refuses February 30. */
static void
test_time_parse(void **state)
{
	time_t t;

	assert_int_equal(jsonin_time("2012-05-02T00:54:06.655Z", JSONIN_TIME_SNS, &t, NULL), 0);
	assert_int_equal((long)t, 1335920046L);
	assert_int_equal(jsonin_time("2012-05-02T00:54:06Z", JSONIN_TIME_SNS, &t, NULL), 0);
	assert_int_equal(jsonin_time("2024-02-29T00:00:00.000Z", JSONIN_TIME_SNS, &t, NULL), 0);
	assert_int_equal(jsonin_time("2023-02-29T00:00:00.000Z", JSONIN_TIME_SNS, &t, NULL), -1);
	assert_int_equal(jsonin_time("2026-02-30T00:00:00.000Z", JSONIN_TIME_SNS, &t, NULL), -1);
	assert_int_equal(jsonin_time("2026-04-31T00:00:00.000Z", JSONIN_TIME_SNS, &t, NULL), -1);
	assert_int_equal(
	    jsonin_time("2026-12-02T09:30:00.000+01:00", JSONIN_TIME_SNS, &t, NULL), -1);
	assert_int_equal(jsonin_time("0001-01-01T00:00:00Z", JSONIN_TIME_SNS, &t, NULL), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regions_accepted),
		cmocka_unit_test(test_regions_refused),
		cmocka_unit_test(test_partitions_named),
		cmocka_unit_test(test_cert_names),
		cmocka_unit_test(test_replay_window),
		cmocka_unit_test(test_time_parse),
	};

	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
