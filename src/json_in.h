/* SPDX-License-Identifier: ISC */
/* ses-feedback - reading untrusted JSON: the SNS envelope and the SES event.
 * Strict parsing (UTF-8 checked, a depth limit, nothing after the value),
 * what PostgreSQL's jsonb would refuse, string members, and the ISO 8601
 * times both documents carry. json-c owns the json_ prefix, hence jsonin_. */
#ifndef SF_JSON_IN_H
#define SF_JSON_IN_H

#include <stddef.h>
#include <time.h>

struct json_object;

/* Parse JSON text strictly (UTF-8 checked, no trailing data) with a depth
 * limit. Returns a new reference the caller puts, or NULL with why. */
struct json_object *jsonin_parse(const char *text, size_t len, int depth, char *why, size_t whylen);

#define JSONIN_NONFINITE 1 /* a NaN or Infinity number (not JSON, json-c allows it) */
#define JSONIN_NUL       2 /* a string holding U+0000 (PostgreSQL's jsonb refuses it) */

/* Is text[0..len-1] UTF-8 as RFC 3629 has it (shortest forms, no
 * surrogates, nothing past U+10FFFF)? 1 or 0. */
int jsonin_utf8(const char *text, size_t len);

/* What in o PostgreSQL's jsonb would refuse: JSONIN_* bits, 0 if none. */
int jsonin_unsafe(struct json_object *o);

enum jsonin_need { JSONIN_OPTIONAL, JSONIN_REQUIRED };

#define JSONIN_ANY_LENGTH ((size_t)-1)

/* The string member key of o: a string of at most max bytes holding no
 * U+0000, so that strlen() is its length. Absent and JSON null are the
 * same (SNS sends "Subject": null at times). Returns 0 with *out borrowed
 * from o (valid while o is), or NULL when absent and need is
 * JSONIN_OPTIONAL; else -1 with *out NULL and why (which may be NULL)
 * naming key and what is wrong with it. */
int jsonin_str(struct json_object *o, const char *key, enum jsonin_need need, size_t max,
    const char **out, char *why, size_t whylen);

/* For a reader that takes what it can (the SES event): jsonin_str() of
 * any length, optional, the string or NULL for whatever is not one. */
const char *jsonin_str_or_null(struct json_object *o, const char *key);

/* Which ISO 8601 forms jsonin_time() takes. */
enum jsonin_time_form {
	/* YYYY-MM-DDTHH:MM:SS[.fff]Z from 1970 on: the one form SNS sends. */
	JSONIN_TIME_SNS,
	/* Also a space for the T, a leap second, no zone (UTC), +HH:MM, +HHMM
	 * or " +HHMM": SES passes on what mail servers wrote. */
	JSONIN_TIME_ANY_ZONE
};

/* A time of a real calendar day (no February 30: PostgreSQL would refuse
 * it) between the years 1 and 9999 in UTC. Returns 0 with *t the UTC
 * second and, when frac is not NULL, the first six digits of the fraction
 * padded with zeros; or -1. */
int jsonin_time(const char *s, enum jsonin_time_form form, time_t *t, char frac[7]);

#endif
