/* SPDX-License-Identifier: ISC */
/* ses-feedback - reading untrusted JSON.
 * Everything here refuses what PostgreSQL would refuse later (invalid
 * UTF-8, U+0000, February 30), so that a message is judged once, on the
 * way in, and not by a failed INSERT that SNS would retry for an hour. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "json_in.h"

/* Tokeners kept between parses, one per depth limit (the envelope's and
 * the SES message's): a new one is three allocations, and its string
 * buffer grows again by doubling to the length of the longest string of
 * every message. A text longer than this gets a tokener of its own, so
 * that one large message does not keep its buffer for good. */
#define JSONIN_KEEP_TOKENER_MAX 65536
#define JSONIN_KEPT             2

static struct {
	int                  depth;
	struct json_tokener *tok;
} kept[JSONIN_KEPT];

static struct json_tokener *tokener(int depth, size_t len, int *own);
static int                  digits(const char *s, int n, int *v);
static int                  zone_offset(const char *s, long *offset);

struct json_object *
jsonin_parse(const char *text, size_t len, int depth, char *why, size_t whylen)
{
	struct json_tokener    *tok = NULL;
	struct json_object     *obj = NULL;
	enum json_tokener_error jerr;
	size_t                  end;
	int                     own = 1;

	if (len > (size_t)0x7fffffff) {
		snprintf(why, whylen, "JSON text too large");
		return NULL;
	}
	/* json-c checks only the shape of multi-byte sequences: refuse
	 * overlong forms, surrogates and code points past U+10FFFF here, so
	 * that nothing PostgreSQL would refuse gets further. */
	if (!jsonin_utf8(text, len)) {
		snprintf(why, whylen, "invalid JSON: not valid UTF-8");
		return NULL;
	}
	tok = tokener(depth, len, &own);
	if (tok == NULL) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
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
	if (own)
		json_tokener_free(tok);
	return obj;
}

/* A tokener with depth as its limit, reset, strict: a kept one (*own 0)
 * or, for a text over JSONIN_KEEP_TOKENER_MAX or when none can be kept,
 * a new one for the caller to free (*own 1). NULL: out of memory. */
static struct json_tokener *
tokener(int depth, size_t len, int *own)
{
	struct json_tokener *tok;
	int                  i, slot = -1;

	*own = 1;
	if (len <= JSONIN_KEEP_TOKENER_MAX) {
		for (i = 0; i < JSONIN_KEPT; i++) {
			if (kept[i].tok != NULL && kept[i].depth == depth) {
				*own = 0;
				json_tokener_reset(kept[i].tok);
				return kept[i].tok;
			}
			if (kept[i].tok == NULL && slot == -1)
				slot = i;
		}
	}
	tok = json_tokener_new_ex(depth);
	if (tok == NULL)
		return NULL;
	/* No JSON_TOKENER_VALIDATE_UTF8: jsonin_utf8() has already refused
	 * everything it would, and more; a second pass over every byte of
	 * every message bought nothing. */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	if (len <= JSONIN_KEEP_TOKENER_MAX && slot != -1) {
		kept[slot].depth = depth;
		kept[slot].tok = tok;
		*own = 0;
	}
	return tok;
}

int
jsonin_unsafe(struct json_object *o)
{
	size_t i, n;
	int    bad = 0;

	switch (json_object_get_type(o)) {
	case json_type_double:
		return isfinite(json_object_get_double(o)) ? 0 : JSONIN_NONFINITE;
	case json_type_string:
		n = (size_t)json_object_get_string_len(o);
		return memchr(json_object_get_string(o), '\0', n) != NULL ? JSONIN_NUL : 0;
	case json_type_array:
		n = json_object_array_length(o);
		for (i = 0; i < n; i++)
			bad |= jsonin_unsafe(json_object_array_get_idx(o, i));
		return bad;
	case json_type_object: {
		json_object_object_foreach(o, key, val)
		{
			(void)key;
			bad |= jsonin_unsafe(val);
		}
		return bad;
	}
	default:
		return 0;
	}
}

int
jsonin_str(struct json_object *o, const char *key, enum jsonin_need need, size_t max,
    const char **out, char *why, size_t whylen)
{
	struct json_object *v = NULL;
	const char         *s;
	size_t              n;

	*out = NULL;
	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null)) {
		if (need == JSONIN_OPTIONAL)
			return 0;
		if (why != NULL)
			snprintf(why, whylen, "missing field %s", key);
		return -1;
	}
	if (!json_object_is_type(v, json_type_string)) {
		if (why != NULL)
			snprintf(why, whylen, "field %s is not a string", key);
		return -1;
	}
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	if (n > max) {
		if (why != NULL)
			snprintf(why, whylen, "field %s too long (%zu bytes)", key, n);
		return -1;
	}
	if (memchr(s, '\0', n) != NULL) {
		if (why != NULL)
			snprintf(why, whylen, "field %s contains a NUL byte", key);
		return -1;
	}
	*out = s;
	return 0;
}

const char *
jsonin_str_or_null(struct json_object *o, const char *key)
{
	const char *s;

	jsonin_str(o, key, JSONIN_OPTIONAL, JSONIN_ANY_LENGTH, &s, NULL, 0);
	return s;
}

/* 2012-05-02T00:54:06.655Z is what SNS sends (UTC with milliseconds; a
 * missing fraction is tolerated); SES passes on other forms. */
int
jsonin_time(const char *s, enum jsonin_time_form form, time_t *out, char frac[7])
{
	struct tm tm, chk;
	char      f[7] = "000000";
	time_t    t;
	long      offset = 0;
	int       y, mo, d, h, mi, sec, i, any = form == JSONIN_TIME_ANY_ZONE;

	if (digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
	    digits(s + 8, 2, &d) || (s[10] != 'T' && !(any && s[10] == ' ')) ||
	    digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' ||
	    digits(s + 17, 2, &sec))
		return -1;
	/* SNS's clock never shows a leap second; a mail server's may. */
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > (any ? 60 : 59))
		return -1;
	if (!any && y < 1970)
		return -1;
	s += 19;
	if (*s == '.') {
		s++;
		for (i = 0; *s >= '0' && *s <= '9'; i++, s++) {
			if (i < 6)
				f[i] = *s;
		}
		if (i == 0)
			return -1;
	}
	if (any ? zone_offset(s, &offset) == -1 : strcmp(s, "Z") != 0)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	/* timegm() would quietly turn February 30 into March 2. */
	if (gmtime_r(&t, &chk) == NULL || chk.tm_mday != d || chk.tm_mon != mo - 1)
		return -1;
	t -= offset;
	/* PostgreSQL takes years 1 to 9999 written with four digits. */
	if (gmtime_r(&t, &chk) == NULL || chk.tm_year + 1900 < 1 || chk.tm_year + 1900 > 9999)
		return -1;
	*out = t;
	if (frac != NULL)
		memcpy(frac, f, sizeof(f));
	return 0;
}

/* RFC 3629: the shortest form only, no surrogates, nothing past U+10FFFF. */
int
jsonin_utf8(const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t               i = 0, n, k;
	unsigned long        cp;

	while (i < len) {
		/* Eight bytes at a time while they are ASCII: nearly all of an
		 * SNS envelope is. */
		while (len - i >= 8) {
			uint64_t w;

			memcpy(&w, s + i, 8);
			if ((w & UINT64_C(0x8080808080808080)) != 0)
				break;
			i += 8;
		}
		if (i >= len)
			break;
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

/* Exactly n decimal digits; stops at the first byte that is none, so never
 * reads past a NUL. */
static int
digits(const char *s, int n, int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

/* What follows the seconds in an SES time: an optional space, then Z,
 * nothing (UTC), or +HH:MM / +HHMM / -... Sets *offset to the seconds east
 * of UTC. 0 or -1. */
static int
zone_offset(const char *s, long *offset)
{
	int oh, om, sign;

	*offset = 0;
	if (*s == ' ')
		s++;
	if (strcmp(s, "Z") == 0 || *s == '\0')
		return 0;
	if (*s != '+' && *s != '-')
		return -1;
	sign = *s == '+' ? 1 : -1;
	s++;
	if (digits(s, 2, &oh))
		return -1;
	s += 2;
	if (*s == ':')
		s++;
	if (digits(s, 2, &om) || s[2] != '\0' || oh > 23 || om > 59)
		return -1;
	*offset = sign * (oh * 3600L + om * 60L);
	return 0;
}
