/* SPDX-License-Identifier: ISC */
/* ses-feedback - partitions, regions and signing-certificate names.
 * The region grammar follows the regular expressions AWS publishes for
 * its partitions, narrowed to the direction words every region uses, so
 * that no other amazonaws.com host can be named through a TopicArn. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "policy.h"

struct partition {
	const char *name;     /* arn:NAME:... */
	const char *suffix;   /* DNS suffix */
	const char *geo[10];  /* allowed first words of a region, NULL ended */
	const char *default_; /* certificate name for a region not in regions[] */
};

static const struct partition partitions[] = {
	{ "aws", "amazonaws.com", { "us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx", NULL },
	    "sns.amazonaws.com" },
	{ "aws-cn", "amazonaws.com.cn", { "cn", NULL }, "sns.amazonaws.com.cn" },
	{ "aws-us-gov", "amazonaws.com", { "us-gov", NULL }, "sns.amazonaws.com" },
};

static const char *const directions[] = { "north", "south", "east", "west", "central", "northeast",
	"northwest", "southeast", "southwest", NULL };

/* Regions whose certificate name is not their partition's default, as the
 * SNS message manager of the AWS SDK for Java v2 has them. NULL stands for
 * sns-signing.REGION.SUFFIX, the opt-in regions' name. */
static const struct {
	const char *region;
	const char *name;
} region_names[] = {
	{ "cn-north-1", "sns-cn-north-1.amazonaws.com.cn" },
	{ "cn-northwest-1", "sns-cn-northwest-1.amazonaws.com.cn" },
	{ "us-gov-west-1", "sns-us-gov-west-1.amazonaws.com" },
	{ "us-gov-east-1", "sns-us-gov-west-1.amazonaws.com" },
	{ "af-south-1", NULL },
	{ "ap-east-1", NULL },
	{ "ap-east-2", NULL },
	{ "ap-south-2", NULL },
	{ "ap-southeast-3", NULL },
	{ "ap-southeast-4", NULL },
	{ "ap-southeast-5", NULL },
	{ "ap-southeast-6", NULL },
	{ "ap-southeast-7", NULL },
	{ "ca-west-1", NULL },
	{ "eu-central-2", NULL },
	{ "eu-south-1", NULL },
	{ "eu-south-2", NULL },
	{ "il-central-1", NULL },
	{ "me-central-1", NULL },
	{ "me-south-1", NULL },
	{ "mx-central-1", NULL },
};

static const struct partition *find_partition(const char *name);
static int                     region_shape(const struct partition *p, const char *region);

int
policy_region_ok(const struct sns_arn *arn, char *why, size_t whylen)
{
	const struct partition *p = find_partition(arn->partition);

	if (p == NULL) {
		snprintf(why, whylen,
		    "TopicArn partition %.15s is not served: ses-feedback accepts the aws, aws-cn "
		    "and aws-us-gov partitions",
		    arn->partition);
		return -1;
	}
	if (!region_shape(p, arn->region)) {
		snprintf(why, whylen,
		    "TopicArn region %.31s is not an AWS region of partition %s (want "
		    "GEO-DIRECTION-N "
		    "such as us-east-1)",
		    arn->region, p->name);
		return -1;
	}
	return 0;
}

int
policy_cert_names(const struct sns_arn *arn, char names[][POLICY_NAME_LEN])
{
	const struct partition *p = find_partition(arn->partition);
	const char             *expected = p == NULL ? NULL : p->default_;
	size_t                  i;
	int                     n = 0;

	if (p == NULL || !region_shape(p, arn->region))
		return -1;
	for (i = 0; i < sizeof(region_names) / sizeof(region_names[0]); i++) {
		if (strcmp(region_names[i].region, arn->region) == 0)
			expected = region_names[i].name;
	}
	if (expected != NULL)
		snprintf(names[n++], POLICY_NAME_LEN, "%s", expected);
	/* Seen on real certificates beside the expected name (af-south-1
	 * carries only these two): bound to the topic's own region, so they
	 * widen nothing. */
	snprintf(names[n++], POLICY_NAME_LEN, "sns.%s.%s", arn->region, p->suffix);
	snprintf(names[n++], POLICY_NAME_LEN, "sns-signing.%s.%s", arn->region, p->suffix);
	return n;
}

int
policy_fresh(time_t ts, time_t now, long max_age, char *why, size_t whylen)
{
	long d = (long)(now - ts);

	if (d > max_age) {
		snprintf(why, whylen,
		    "Timestamp is %ld s (%ld h %02ld min) old, over SES_FEEDBACK_MAX_AGE=%ld: a "
		    "replayed message, or one SNS gave up on",
		    d, d / 3600, d % 3600 / 60, max_age);
		return -1;
	}
	if (-d > POLICY_MAX_SKEW) {
		snprintf(why, whylen,
		    "Timestamp is %ld s in the future (more than %d s): check this host's clock",
		    -d, POLICY_MAX_SKEW);
		return -1;
	}
	return 0;
}

static const struct partition *
find_partition(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(partitions) / sizeof(partitions[0]); i++) {
		if (strcmp(partitions[i].name, name) == 0)
			return &partitions[i];
	}
	return NULL;
}

/* GEO-DIRECTION-N, N from 1 to 99 without a leading zero. */
static int
region_shape(const struct partition *p, const char *region)
{
	const char *r = NULL, *d;
	size_t      i, gl = 0, dl;

	for (i = 0; p->geo[i] != NULL; i++) {
		gl = strlen(p->geo[i]);
		if (strncmp(region, p->geo[i], gl) == 0 && region[gl] == '-') {
			r = region + gl + 1;
			break;
		}
	}
	if (r == NULL)
		return 0;
	d = strchr(r, '-');
	if (d == NULL)
		return 0;
	dl = (size_t)(d - r);
	for (i = 0; directions[i] != NULL; i++) {
		if (strlen(directions[i]) == dl && strncmp(r, directions[i], dl) == 0)
			break;
	}
	if (directions[i] == NULL)
		return 0;
	d++;
	if (d[0] < '1' || d[0] > '9')
		return 0;
	if (d[1] == '\0')
		return 1;
	return d[1] >= '0' && d[1] <= '9' && d[2] == '\0';
}
