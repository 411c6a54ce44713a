/* SPDX-License-Identifier: ISC */
/* ses-feedback - partitions, regions, names, topics and URLs.
 * The region grammar follows the regular expressions AWS publishes for
 * its partitions, narrowed to the direction words every region uses, so
 * that no other amazonaws.com host can be named through a TopicArn. The
 * URL rules are exact string comparisons against the one host SNS uses
 * for the topic's region: no URL parser to disagree with, and every trick
 * (userinfo, ports, case, look-alike hosts, encoded bytes) fails. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "bounds.h"
#include "policy.h"

/* A decoded SubscribeURL value is compared with the message's TopicArn or
 * Token: one longer than both cannot equal either, so this holds all that
 * need holding. */
#define QUERY_VALUE_MAX LIM_SNS_TOKEN_MAX
_Static_assert(LIM_SNS_TOPIC_ARN_MAX <= QUERY_VALUE_MAX, "a TopicArn fits the decoding buffer");

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
static int                     glob_field(const char *pat, size_t plen, const char *s, size_t slen);
static int                     pattern_matches(const char *pat, size_t plen, const char *arn);
static const char *after_host(const char *url, const struct sns_arn *arn, char *why, size_t whylen);
static int query_param(const char *q, const char *name, char *out, size_t outlen, int *count);
static int hexval(int c);

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

int
policy_topic_allowed(const char *list, const char *arn)
{
	const char *p = list;
	size_t      n;

	while (*p != '\0') {
		p += strspn(p, " ,\t\r\n");
		n = strcspn(p, " ,\t\r\n");
		if (n > 0 && n <= 512 && pattern_matches(p, n, arn))
			return 1;
		p += n;
	}
	return 0;
}

int
policy_cert_url(const char *url, const struct sns_arn *arn, char *why, size_t whylen)
{
	static const char prefix[] = "/SimpleNotificationService-";
	const char       *p;
	size_t            hex;

	p = after_host(url, arn, why, whylen);
	if (p == NULL)
		return -1;
	if (strncmp(p, prefix, sizeof(prefix) - 1) != 0) {
		snprintf(why, whylen, "certificate path is not /SimpleNotificationService-*.pem");
		return -1;
	}
	p += sizeof(prefix) - 1;
	hex = strspn(p, "0123456789abcdefABCDEF");
	if (hex == 0 || hex > 128 || strcmp(p + hex, ".pem") != 0) {
		snprintf(
		    why, whylen, "certificate path is not /SimpleNotificationService-<hex>.pem");
		return -1;
	}
	return 0;
}

int
policy_subscribe_url(const struct sns_msg *m, char *why, size_t whylen)
{
	char        val[QUERY_VALUE_MAX + 1];
	const char *p;
	int         n;

	p = after_host(m->subscribe_url, &m->arn, why, whylen);
	if (p == NULL)
		return -1;
	if (p[0] != '/' || p[1] != '?') {
		snprintf(why, whylen, "SubscribeURL path is not /?");
		return -1;
	}
	p += 2;
	if (strpbrk(p, "#@ \\") != NULL) {
		snprintf(why, whylen, "SubscribeURL has a forbidden character");
		return -1;
	}
	if (query_param(p, "Action", val, sizeof(val), &n) == -1 || n != 1 ||
	    strcmp(val, "ConfirmSubscription") != 0) {
		snprintf(why, whylen, "SubscribeURL Action is not ConfirmSubscription");
		return -1;
	}
	if (query_param(p, "TopicArn", val, sizeof(val), &n) == -1 || n != 1 ||
	    strcmp(val, m->topic_arn) != 0) {
		snprintf(why, whylen, "SubscribeURL TopicArn differs from the message's");
		return -1;
	}
	if (query_param(p, "Token", val, sizeof(val), &n) == -1 || n != 1 ||
	    strcmp(val, m->token) != 0) {
		snprintf(why, whylen, "SubscribeURL Token differs from the message's");
		return -1;
	}
	/* Nothing else may ride along. */
	for (n = 0; *p != '\0'; n++) {
		p += strcspn(p, "&");
		if (*p == '&')
			p++;
	}
	if (n != 3) {
		snprintf(why, whylen, "SubscribeURL has unexpected parameters");
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

/* '*' matches any run of characters inside one field. Iterative, with one
 * backtrack point (the last '*'), so the cost stays linear in practice and
 * quadratic at worst, whatever the pattern: the allow-list is checked for
 * every request, before anything else. */
static int
glob_field(const char *pat, size_t plen, const char *s, size_t slen)
{
	size_t p = 0, i = 0, star = (size_t)-1, mark = 0;

	while (i < slen) {
		if (p < plen && pat[p] == '*') {
			star = p++;
			mark = i;
		} else if (p < plen && pat[p] == s[i]) {
			p++;
			i++;
		} else if (star != (size_t)-1) {
			p = star + 1;
			i = ++mark;
		} else {
			return 0;
		}
	}
	while (p < plen && pat[p] == '*')
		p++;
	return p == plen;
}

/* One allow-list pattern against a whole six-field ARN, field by field. */
static int
pattern_matches(const char *pat, size_t plen, const char *arn)
{
	const char *pe = pat + plen, *pf, *af;
	size_t      fields = 0;

	for (;;) {
		pf = memchr(pat, ':', (size_t)(pe - pat));
		af = strchr(arn, ':');
		if (pf == NULL)
			pf = pe;
		if (af == NULL)
			af = arn + strlen(arn);
		if (!glob_field(pat, (size_t)(pf - pat), arn, (size_t)(af - arn)))
			return 0;
		fields++;
		if (pf == pe || *af == '\0')
			return pf == pe && *af == '\0' && fields == 6;
		pat = pf + 1;
		arn = af + 1;
	}
}

/* Expect "https://HOST/" at the start of url, HOST the topic's region's
 * SNS host; return what follows HOST. */
static const char *
after_host(const char *url, const struct sns_arn *arn, char *why, size_t whylen)
{
	char   host[POLICY_NAME_LEN];
	size_t hl;

	if (strncmp(url, "https://", 8) != 0) {
		snprintf(why, whylen, "URL is not https://");
		return NULL;
	}
	if (policy_region_ok(arn, why, whylen) == -1)
		return NULL;
	if (sns_host_for(arn, host, sizeof(host)) == -1) {
		snprintf(why, whylen, "no SNS host for the topic's region");
		return NULL;
	}
	hl = strlen(host);
	url += 8;
	if (strncmp(url, host, hl) != 0 || url[hl] != '/') {
		snprintf(why, whylen, "URL host is not %s", host);
		return NULL;
	}
	return url + hl;
}

/* Find name=value in a query string and percent-decode the value. count
 * says how often name occurs. -1 on bad encoding or overflow. */
static int
query_param(const char *q, const char *name, char *out, size_t outlen, int *count)
{
	size_t      nl = strlen(name), o;
	const char *p = q, *e;
	int         hi, lo;

	*count = 0;
	out[0] = '\0';
	while (*p != '\0') {
		e = p + strcspn(p, "&");
		if ((size_t)(e - p) > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
			(*count)++;
			o = 0;
			for (p += nl + 1; p < e; p++) {
				if (o + 1 >= outlen)
					return -1;
				if (*p == '%') {
					if (e - p < 3 || (hi = hexval(p[1])) < 0 ||
					    (lo = hexval(p[2])) < 0 || (hi == 0 && lo == 0))
						return -1;
					out[o++] = (char)(hi * 16 + lo);
					p += 2;
				} else {
					out[o++] = *p;
				}
			}
			out[o] = '\0';
		}
		p = *e == '&' ? e + 1 : e;
	}
	return 0;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
