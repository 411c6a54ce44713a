/* SPDX-License-Identifier: ISC */
/* ses-feedback - email addresses, as RFC 5321 and 6531 define a mailbox.
 * A hand-written scanner rather than a regular expression, so that each
 * rule reads as the grammar's production it implements; every byte at or
 * above 0x80 is a UTF-8 letter (the envelope is UTF-8-checked before). */
#include "config.h"

#include <string.h>

#include "addr.h"

#define WS " \t\r\n"

static int is_atext(unsigned char c);
static int is_letdig(unsigned char c);
static int dot_atom(const char *p, const char *e, const char **end);
static int quoted(const char *p, const char *e, const char **end);
static int domain(const char *p, const char *e);
static int literal(const char *p, const char *e);

int
addr_normalize(const char *in, char *out, size_t outlen)
{
	const char *b = in, *e = in + strlen(in), *lt, *at;
	size_t      n, i;

	b += strspn(b, WS);
	while (e > b && strchr(WS, e[-1]) != NULL)
		e--;
	/* Name <mailbox>: no angle bracket before the '<', none inside. */
	if (e > b && e[-1] == '>') {
		lt = memchr(b, '<', (size_t)(e - b));
		if (lt == NULL || memchr(b, '>', (size_t)(lt - b)) != NULL)
			return -1;
		if (memchr(lt + 1, '<', (size_t)(e - 1 - (lt + 1))) != NULL ||
		    memchr(lt + 1, '>', (size_t)(e - 1 - (lt + 1))) != NULL)
			return -1;
		b = lt + 1;
		e--;
		b += strspn(b, WS);
		while (e > b && strchr(WS, e[-1]) != NULL)
			e--;
	}
	n = (size_t)(e - b);
	if (n == 0 || n > ADDR_MAX || n >= outlen)
		return -1;
	if (*b == '"' ? quoted(b, e, &at) == -1 : dot_atom(b, e, &at) == -1)
		return -1;
	if (at >= e || *at != '@')
		return -1;
	at++;
	if (at < e && *at == '[' ? literal(at, e) == -1 : domain(at, e) == -1)
		return -1;
	for (i = 0; i < n; i++)
		out[i] = (b[i] >= 'A' && b[i] <= 'Z') ? (char)(b[i] - 'A' + 'a') : b[i];
	out[n] = '\0';
	return 0;
}

/* atext of RFC 5322, and UTF8-non-ascii of RFC 6531. */
static int
is_atext(unsigned char c)
{
	return c >= 0x80 || is_letdig(c) || (c != '\0' && strchr("!#$%&'*+/=?^_`{|}~-", c) != NULL);
}

static int
is_letdig(unsigned char c)
{
	return c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

/* Atom *("." Atom), ending where atext ends. */
static int
dot_atom(const char *p, const char *e, const char **end)
{
	for (;;) {
		if (p >= e || !is_atext((unsigned char)*p))
			return -1;
		while (p < e && is_atext((unsigned char)*p))
			p++;
		if (p >= e || *p != '.')
			break;
		p++;
	}
	*end = p;
	return 0;
}

/* DQUOTE *(qtextSMTP / quoted-pairSMTP) DQUOTE. */
static int
quoted(const char *p, const char *e, const char **end)
{
	unsigned char c;

	for (p++; p < e; p++) {
		c = (unsigned char)*p;
		if (c == '"') {
			*end = p + 1;
			return 0;
		}
		if (c == '\\') {
			p++;
			if (p >= e || (unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
				return -1;
			continue;
		}
		if (c < 0x20 || c == 0x7f)
			return -1;
	}
	return -1;
}

/* sub-domain *("." sub-domain), two labels at least; a label is Let-dig
 * [Ldh-str]: no dash at either end. */
static int
domain(const char *p, const char *e)
{
	int labels = 0;

	for (;;) {
		if (p >= e || !is_letdig((unsigned char)*p))
			return -1;
		while (p < e && (is_letdig((unsigned char)*p) || *p == '-'))
			p++;
		if (p[-1] == '-')
			return -1;
		labels++;
		if (p == e)
			break;
		if (*p != '.')
			return -1;
		p++;
	}
	return labels >= 2 ? 0 : -1;
}

/* "[" IPv4-address-literal / General-address-literal "]"; an IPv6 literal
 * is a general one with the tag IPv6. */
static int
literal(const char *p, const char *e)
{
	const char *q;
	int         octets = 0, v, digits;

	if (e - p < 3 || e[-1] != ']')
		return -1;
	p++;
	e--;
	q = memchr(p, ':', (size_t)(e - p));
	if (q != NULL) {
		/* Standardized-tag ":" 1*dcontent */
		if (q == p || q[-1] == '-' || q + 1 >= e)
			return -1;
		for (; p < q; p++) {
			if (!(is_letdig((unsigned char)*p) && (unsigned char)*p < 0x80) &&
			    *p != '-')
				return -1;
		}
		for (p = q + 1; p < e; p++) {
			if ((unsigned char)*p < 33 || (unsigned char)*p > 126 || *p == '[' ||
			    *p == '\\' || *p == ']')
				return -1;
		}
		return 0;
	}
	/* Snum 3("." Snum): one to three digits, 0 to 255 */
	for (;;) {
		v = 0;
		digits = 0;
		while (p < e && *p >= '0' && *p <= '9' && digits < 4) {
			v = v * 10 + (*p++ - '0');
			digits++;
		}
		if (digits == 0 || digits > 3 || v > 255)
			return -1;
		octets++;
		if (p == e)
			break;
		if (*p != '.' || octets == 4)
			return -1;
		p++;
	}
	return octets == 4 ? 0 : -1;
}
