/* SPDX-License-Identifier: ISC */
/* ses-feedback - unit tests for the definition of an email address
 * (src/addr.c), against tests/fixtures/addresses.tsv: the same cases the
 * SQL side, ses_feedback.normalize_email(), is held to. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "addr.h"

/* Undo the fixture's escapes (\\ \t \n \r \xHH) in place. */
static void
unescape(char *s)
{
	char *o = s;

	while (*s != '\0') {
		if (*s != '\\') {
			*o++ = *s++;
			continue;
		}
		s++;
		switch (*s) {
		case 't':
			*o++ = '\t';
			break;
		case 'n':
			*o++ = '\n';
			break;
		case 'r':
			*o++ = '\r';
			break;
		case 'x':
			*o++ = (char)strtol((char[]){ s[1], s[2], '\0' }, NULL, 16);
			s += 2;
			break;
		default:
			*o++ = *s;
			break;
		}
		s++;
	}
	*o = '\0';
}

static void
test_fixture(void **state)
{
	const char *dir = getenv("SF_FIXTURES");
	char        path[1024], line[4096], out[ADDR_MAX + 1], *tab, *nl;
	FILE       *f;
	int         n = 0, rc, lineno = 0;

	snprintf(path, sizeof(path), "%s/addresses.tsv", dir ? dir : "tests/fixtures");
	f = fopen(path, "r");
	if (f == NULL)
		fail_msg("cannot open %s", path);
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (line[0] == '#')
			continue;
		nl = strchr(line, '\n');
		if (nl != NULL)
			*nl = '\0';
		tab = strrchr(line, '\t');
		if (tab == NULL)
			fail_msg("%s:%d: no tab", path, lineno);
		*tab++ = '\0';
		unescape(line);
		unescape(tab);
		memset(out, 'Z', sizeof(out));
		rc = addr_normalize(line, out, sizeof(out));
		if (strcmp(tab, "-") == 0) {
			if (rc != -1)
				fail_msg("%s:%d: accepted as \"%s\"", path, lineno, out);
		} else if (rc != 0) {
			fail_msg("%s:%d: refused, want \"%s\"", path, lineno, tab);
		} else if (strcmp(out, tab) != 0) {
			fail_msg("%s:%d: \"%s\", want \"%s\"", path, lineno, out, tab);
		}
		n++;
	}
	fclose(f);
	assert_true(n >= 80);
}

/* The normal form is a fixed point, and the output buffer bounds it. */
static void
test_fixed_point_and_bounds(void **state)
{
	char out[ADDR_MAX + 1], again[ADDR_MAX + 1];

	assert_int_equal(addr_normalize("\"Jane\" <\"J.\"@Example.COM>", out, sizeof(out)), 0);
	assert_string_equal(out, "\"j.\"@example.com");
	assert_int_equal(addr_normalize(out, again, sizeof(again)), 0);
	assert_string_equal(out, again);
	assert_int_equal(addr_normalize("jane@example.com", out, 16), -1);
	assert_int_equal(addr_normalize("jane@example.com", out, 17), 0);
	assert_string_equal(out, "jane@example.com");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture),
		cmocka_unit_test(test_fixed_point_and_bounds),
	};

	return cmocka_run_group_tests_name("addr", tests, NULL, NULL);
}
