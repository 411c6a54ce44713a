/* SPDX-License-Identifier: ISC */
/* ses-feedback - the SNS HTTP(S) envelope.
 * Strict by design: a genuine SNS message always has this shape, and
 * anything else is rejected before a byte of it reaches the network or
 * the database. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "sns.h"

static int get_str(struct json_object *o, const char *key, int required, const char **out,
    size_t *lenp, size_t max, char *why, size_t whylen);
static int glob_field(const char *pat, size_t plen, const char *s, size_t slen);
static int utf8_valid(const unsigned char *s, size_t len);
static int message_id_ok(const char *s);

const char *
sns_type_name(enum sns_type t)
{
	switch (t) {
	case SNS_NOTIFICATION:
		return "Notification";
	case SNS_SUBSCRIPTION_CONFIRMATION:
		return "SubscriptionConfirmation";
	default:
		return "UnsubscribeConfirmation";
	}
}

struct json_object *
sns_json_parse(const char *text, size_t len, int depth, char *why, size_t whylen)
{
	struct json_tokener    *tok = NULL;
	struct json_object     *obj = NULL;
	enum json_tokener_error jerr;
	size_t                  end;

	if (len > (size_t)0x7fffffff) {
		snprintf(why, whylen, "JSON text too large");
		return NULL;
	}
	/* json-c checks only the shape of multi-byte sequences: refuse
	 * overlong forms, surrogates and code points past U+10FFFF here, so
	 * that nothing PostgreSQL would refuse gets further. */
	if (!utf8_valid((const unsigned char *)text, len)) {
		snprintf(why, whylen, "invalid JSON: not valid UTF-8");
		return NULL;
	}
	tok = json_tokener_new_ex(depth);
	if (tok == NULL) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	if (obj == NULL || jerr != json_tokener_success) {
		if (jerr == json_tokener_continue)
			snprintf(why, whylen, "invalid JSON: truncated");
		else
			snprintf(why, whylen, "invalid JSON: %s", json_tokener_error_desc(jerr));
		json_object_put(obj);
		obj = NULL;
		goto out;
	}
	end = json_tokener_get_parse_end(tok);
	for (; end < len; end++) {
		if (strchr(" \t\r\n", text[end]) == NULL || text[end] == '\0') {
			snprintf(why, whylen, "invalid JSON: data after the value");
			json_object_put(obj);
			obj = NULL;
			goto out;
		}
	}
out:
	json_tokener_free(tok);
	return obj;
}

int
sns_json_unsafe(struct json_object *o)
{
	size_t i, n;
	int    bad = 0;

	switch (json_object_get_type(o)) {
	case json_type_double:
		return isfinite(json_object_get_double(o)) ? 0 : SNS_JSON_NONFINITE;
	case json_type_string:
		n = (size_t)json_object_get_string_len(o);
		return memchr(json_object_get_string(o), '\0', n) != NULL ? SNS_JSON_NUL : 0;
	case json_type_array:
		n = json_object_array_length(o);
		for (i = 0; i < n; i++)
			bad |= sns_json_unsafe(json_object_array_get_idx(o, i));
		return bad;
	case json_type_object: {
		json_object_object_foreach(o, key, val)
		{
			(void)key;
			bad |= sns_json_unsafe(val);
		}
		return bad;
	}
	default:
		return 0;
	}
}

int
sns_parse(const char *body, size_t len, struct sns_msg *m, char *why, size_t whylen)
{
	struct json_object *root = NULL;

	memset(m, 0, sizeof(*m));
	root = sns_json_parse(body, len, SNS_MAX_DEPTH, why, whylen);
	if (root == NULL)
		return -1;
	if (!json_object_is_type(root, json_type_object)) {
		snprintf(why, whylen, "envelope is not a JSON object");
		goto fail;
	}
	if (sns_json_unsafe(root) & SNS_JSON_NONFINITE) {
		snprintf(why, whylen, "invalid JSON: NaN or Infinity");
		goto fail;
	}
	m->root = root;
	if (get_str(root, "Type", 1, &m->type_str, NULL, 64, why, whylen) == -1)
		goto fail;
	if (strcmp(m->type_str, "Notification") == 0)
		m->type = SNS_NOTIFICATION;
	else if (strcmp(m->type_str, "SubscriptionConfirmation") == 0)
		m->type = SNS_SUBSCRIPTION_CONFIRMATION;
	else if (strcmp(m->type_str, "UnsubscribeConfirmation") == 0)
		m->type = SNS_UNSUBSCRIBE_CONFIRMATION;
	else {
		snprintf(why, whylen, "unknown Type \"%.40s\"", m->type_str);
		goto fail;
	}
	if (get_str(root, "MessageId", 1, &m->message_id, NULL, 128, why, whylen) == -1 ||
	    get_str(root, "TopicArn", 1, &m->topic_arn, NULL, 400, why, whylen) == -1 ||
	    get_str(root, "Message", 1, &m->message, &m->message_len, len, why, whylen) == -1 ||
	    get_str(root, "Timestamp", 1, &m->timestamp, NULL, 64, why, whylen) == -1 ||
	    get_str(root, "SignatureVersion", 1, &m->signature_version, NULL, 8, why, whylen) ==
	        -1 ||
	    get_str(root, "Signature", 1, &m->signature, NULL, 4096, why, whylen) == -1 ||
	    get_str(root, "SigningCertURL", 1, &m->signing_cert_url, NULL, 1024, why, whylen) == -1)
		goto fail;
	if (!message_id_ok(m->message_id)) {
		snprintf(why, whylen, "MessageId is not an SNS message id");
		goto fail;
	}
	if (sns_arn_parse(m->topic_arn, &m->arn) == -1) {
		snprintf(why, whylen, "TopicArn is not an SNS topic ARN");
		goto fail;
	}
	if (sns_time_parse(m->timestamp, &m->time) == -1) {
		snprintf(why, whylen, "Timestamp is not an ISO 8601 UTC time");
		goto fail;
	}
	if (strcmp(m->signature_version, "1") == 0)
		m->sigver = 1;
	else if (strcmp(m->signature_version, "2") == 0)
		m->sigver = 2;
	else {
		snprintf(why, whylen, "unknown SignatureVersion \"%.8s\"", m->signature_version);
		goto fail;
	}
	if (m->type == SNS_NOTIFICATION) {
		if (get_str(root, "Subject", 0, &m->subject, NULL, 1024, why, whylen) == -1 ||
		    get_str(root, "UnsubscribeURL", 0, &m->unsubscribe_url, NULL, 2048, why,
		        whylen) == -1)
			goto fail;
	} else {
		if (get_str(root, "SubscribeURL", 1, &m->subscribe_url, NULL, 4096, why, whylen) ==
		        -1 ||
		    get_str(root, "Token", 1, &m->token, NULL, 2048, why, whylen) == -1)
			goto fail;
	}
	return 0;
fail:
	json_object_put(root);
	memset(m, 0, sizeof(*m));
	return -1;
}

void
sns_free(struct sns_msg *m)
{
	json_object_put(m->root);
	memset(m, 0, sizeof(*m));
}

/* A JSON null counts as absent: SNS sends "Subject": null at times. */
static int
get_str(struct json_object *o, const char *key, int required, const char **out, size_t *lenp,
    size_t max, char *why, size_t whylen)
{
	struct json_object *v = NULL;
	const char         *s;
	size_t              n;

	*out = NULL;
	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null)) {
		if (!required)
			return 0;
		snprintf(why, whylen, "missing field %s", key);
		return -1;
	}
	if (!json_object_is_type(v, json_type_string)) {
		snprintf(why, whylen, "field %s is not a string", key);
		return -1;
	}
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	if (n > max) {
		snprintf(why, whylen, "field %s too long (%zu bytes)", key, n);
		return -1;
	}
	if (memchr(s, '\0', n) != NULL) {
		snprintf(why, whylen, "field %s contains a NUL byte", key);
		return -1;
	}
	*out = s;
	if (lenp != NULL)
		*lenp = n;
	return 0;
}

static int
add_kv(struct buf *out, const char *k, const char *v)
{
	if (buf_adds(out, k) == -1 || buf_add(out, "\n", 1) == -1 || buf_adds(out, v) == -1 ||
	    buf_add(out, "\n", 1) == -1)
		return -1;
	return 0;
}

int
sns_string_to_sign(const struct sns_msg *m, struct buf *out)
{
	if (add_kv(out, "Message", m->message) == -1 ||
	    add_kv(out, "MessageId", m->message_id) == -1)
		return -1;
	if (m->type == SNS_NOTIFICATION) {
		if (m->subject != NULL && add_kv(out, "Subject", m->subject) == -1)
			return -1;
		if (add_kv(out, "Timestamp", m->timestamp) == -1 ||
		    add_kv(out, "TopicArn", m->topic_arn) == -1 ||
		    add_kv(out, "Type", m->type_str) == -1)
			return -1;
		return 0;
	}
	if (add_kv(out, "SubscribeURL", m->subscribe_url) == -1 ||
	    add_kv(out, "Timestamp", m->timestamp) == -1 || add_kv(out, "Token", m->token) == -1 ||
	    add_kv(out, "TopicArn", m->topic_arn) == -1 || add_kv(out, "Type", m->type_str) == -1)
		return -1;
	return 0;
}

static int
span(const char *s, const char *set, size_t min, size_t max, const char **endp)
{
	size_t n = strspn(s, set);

	if (n < min || n > max)
		return -1;
	*endp = s + n;
	return 0;
}

#define LOWER_DIGIT "abcdefghijklmnopqrstuvwxyz0123456789"
#define DIGITS      "0123456789"

int
sns_arn_parse(const char *s, struct sns_arn *a)
{
	const char *p, *e;
	size_t      n;

	memset(a, 0, sizeof(*a));
	if (strncmp(s, "arn:", 4) != 0)
		return -1;
	p = s + 4;
	/* aws, aws-cn, aws-us-gov, aws-iso-b, ...: which of them are served is
	 * policy's to say (policy_region_ok), with a reason that names it. */
	if (strncmp(p, "aws", 3) != 0 ||
	    span(p + 3, "abcdefghijklmnopqrstuvwxyz-", 0, sizeof(a->partition) - 4, &e) == -1 ||
	    *e != ':' || (e > p + 3 && (p[3] != '-' || e[-1] == '-')))
		return -1;
	memcpy(a->partition, p, (size_t)(e - p));
	p = e + 1;
	if (strncmp(p, "sns:", 4) != 0)
		return -1;
	p += 4;
	/* region: lower-case letters, digits and dashes, such as eu-west-3 */
	if (span(p, LOWER_DIGIT "-", 4, sizeof(a->region) - 1, &e) == -1 || *e != ':' ||
	    *p == '-' || e[-1] == '-')
		return -1;
	memcpy(a->region, p, (size_t)(e - p));
	p = e + 1;
	if (span(p, DIGITS, 12, 12, &e) == -1 || *e != ':')
		return -1;
	memcpy(a->account, p, 12);
	p = e + 1;
	n = strlen(p);
	if (span(p, LOWER_DIGIT "ABCDEFGHIJKLMNOPQRSTUVWXYZ_-.", 1, 256, &e) == -1 || *e != '\0')
		return -1;
	/* A dot is allowed only as FIFO topics' ".fifo" suffix. */
	e = strchr(p, '.');
	if (e != NULL && (strcmp(e, ".fifo") != 0 || e == p))
		return -1;
	memcpy(a->name, p, n);
	return 0;
}

int
sns_host_for(const struct sns_arn *arn, char *host, size_t hostlen)
{
	int n;

	if (strcmp(arn->partition, "aws-cn") == 0)
		n = snprintf(host, hostlen, "sns.%s.amazonaws.com.cn", arn->region);
	else
		n = snprintf(host, hostlen, "sns.%s.amazonaws.com", arn->region);
	return (n < 0 || (size_t)n >= hostlen) ? -1 : 0;
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

int
sns_topic_allowed(const char *list, const char *arn)
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

/* RFC 3629: the shortest form only, no surrogates, nothing past U+10FFFF. */
static int
utf8_valid(const unsigned char *s, size_t len)
{
	size_t        i = 0, n, k;
	unsigned long cp;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf) {
			n = 1;
			cp = s[i] & 0x1f;
		} else if (s[i] >= 0xe0 && s[i] <= 0xef) {
			n = 2;
			cp = s[i] & 0x0f;
		} else if (s[i] >= 0xf0 && s[i] <= 0xf4) {
			n = 3;
			cp = s[i] & 0x07;
		} else {
			return 0;
		}
		if (len - i <= n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

/* 2012-05-02T00:54:06.655Z: SNS always sends UTC with milliseconds, but a
 * missing fraction is tolerated. A real calendar date (no February 30:
 * PostgreSQL would refuse it, and SNS would retry a 500 for an hour). */
int
sns_time_parse(const char *s, time_t *out)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";
	struct tm         tm, chk;
	size_t            i;
	int               y, mo, d, h, mi, sec;

	for (i = 0; shape[i] != '\0'; i++) {
		if (shape[i] == 'd') {
			if (s[i] < '0' || s[i] > '9')
				return -1;
		} else if (s[i] != shape[i]) {
			return -1;
		}
	}
	y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	mo = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	h = (s[11] - '0') * 10 + (s[12] - '0');
	mi = (s[14] - '0') * 10 + (s[15] - '0');
	sec = (s[17] - '0') * 10 + (s[18] - '0');
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59)
		return -1;
	s += i;
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return -1;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (strcmp(s, "Z") != 0)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*out = timegm(&tm);
	if (gmtime_r(out, &chk) == NULL || chk.tm_mday != d || chk.tm_mon != mo - 1)
		return -1;
	return 0;
}

static int
message_id_ok(const char *s)
{
	size_t n = strspn(s, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_");

	return n > 0 && s[n] == '\0';
}
