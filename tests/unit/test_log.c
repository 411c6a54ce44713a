/* SPDX-License-Identifier: ISC */
/* ses-feedback - unit tests for logging (src/log.c).
 * Lines are written to standard error, here a temporary file read back:
 * values are escaped so that one line stays one logfmt line, a cut line
 * keeps its newline, and lines logged during a request carry its id. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "log.h"

static FILE *captured;
static int   saved_stderr = -1;

/* Point fd 2 at a fresh temporary file. */
static int
setup(void **state)
{
	(void)state;
	captured = tmpfile();
	if (captured == NULL)
		return -1;
	saved_stderr = dup(STDERR_FILENO);
	if (saved_stderr == -1 || dup2(fileno(captured), STDERR_FILENO) == -1)
		return -1;
	log_init("test_log", LOG_LVL_INFO);
	log_set_request(NULL);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	fclose(captured);
	return 0;
}

/* Everything written so far, NUL-terminated; the caller frees it. */
static char *
read_back(size_t *len)
{
	long  n;
	char *s;

	n = ftell(captured);
	assert_true(n >= 0);
	s = malloc((size_t)n + 1);
	assert_non_null(s);
	rewind(captured);
	assert_int_equal(fread(s, 1, (size_t)n, captured), (size_t)n);
	s[n] = '\0';
	*len = (size_t)n;
	return s;
}

/* The part of a line after prog= and pid=, where the caller's fields start. */
static const char *
fields(const char *line)
{
	const char *p = strstr(line, " pid=");

	assert_non_null(p);
	p = strchr(p + 1, ' ');
	assert_non_null(p);
	return p + 1;
}

static void
test_escaping(void **state)
{
	struct logline l;
	size_t         len;
	char          *s;

	(void)state;
	logline_init(&l, LOG_LVL_INFO);
	logline_add(&l, "plain", "word");
	logline_add(&l, "space", "two words");
	logline_add(&l, "quote", "say \"hi\"");
	logline_add(&l, "bs", "a\\b");
	logline_add(&l, "nl", "line1\nline2");
	logline_add(&l, "ctl", "bell\x07tab\tdel\x7f");
	logline_add(&l, "eq", "k=v");
	logline_add(&l, "empty", "");
	logline_add(&l, "skipped", NULL);
	logline_emit(&l);
	s = read_back(&len);
	assert_true(strncmp(s, "ts=", 3) == 0);
	assert_non_null(strstr(s, " level=info prog=test_log pid="));
	assert_string_equal(fields(s),
	    "plain=word space=\"two words\" quote=\"say \\\"hi\\\"\" bs=\"a\\\\b\" "
	    "nl=\"line1\\nline2\" ctl=\"bell\\x07tab\\x09del\\x7f\" eq=\"k=v\" empty=\"\"\n");
	/* One line, whatever the values held. */
	assert_ptr_equal(strchr(s, '\n'), s + len - 1);
	free(s);
}

static void
test_truncated_line_keeps_newline(void **state)
{
	struct logline l;
	char           big[4096];
	size_t         len;
	char          *s;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	logline_init(&l, LOG_LVL_WARN);
	logline_add(&l, "big", big);
	logline_emit(&l);
	logline_init(&l, LOG_LVL_INFO);
	logline_add(&l, "next", "line");
	logline_emit(&l);
	s = read_back(&len);
	/* The first line is cut at the buffer's size, newline included. */
	assert_int_equal(strchr(s, '\n') - s + 1, sizeof(l.buf) - 1);
	assert_non_null(strstr(s, "\nts="));
	assert_string_equal(fields(strchr(s, '\n') + 1), "next=line\n");
	free(s);
}

static void
test_request_id(void **state)
{
	size_t len;
	char  *s, *second;

	(void)state;
	log_set_request("4f2a-17");
	log_info("inside %s", "a request");
	log_set_request(NULL);
	log_info("between requests");
	s = read_back(&len);
	second = strchr(s, '\n');
	assert_non_null(second);
	*second++ = '\0';
	assert_string_equal(fields(s), "req=4f2a-17 msg=\"inside a request\"");
	assert_string_equal(fields(second), "msg=\"between requests\"\n");
	assert_null(strstr(second, "req="));
	free(s);
}

static void
test_level_filtering(void **state)
{
	size_t len;
	char  *s;

	(void)state;
	log_set_level(LOG_LVL_WARN);
	log_debug("not this");
	log_info("nor this");
	log_warnx("this");
	log_set_level(LOG_LVL_DEBUG);
	log_debug("and this");
	log_set_level(LOG_LVL_INFO);
	s = read_back(&len);
	assert_null(strstr(s, "not this"));
	assert_null(strstr(s, "nor this"));
	assert_non_null(strstr(s, "level=warn prog=test_log"));
	assert_non_null(strstr(s, "msg=this\n"));
	assert_non_null(strstr(s, "level=debug prog=test_log"));
	assert_non_null(strstr(s, "msg=\"and this\"\n"));
	free(s);
}

/* The access line is written whatever the level setting says. */
static void
test_logline_ignores_level(void **state)
{
	struct logline l;
	size_t         len;
	char          *s;

	(void)state;
	log_set_level(LOG_LVL_ERROR);
	logline_init(&l, LOG_LVL_INFO);
	logline_add(&l, "status", "200");
	logline_emit(&l);
	log_set_level(LOG_LVL_INFO);
	s = read_back(&len);
	assert_non_null(strstr(s, "level=info"));
	assert_string_equal(fields(s), "status=200\n");
	free(s);
}

static void
test_parse_level(void **state)
{
	enum log_level lvl = LOG_LVL_INFO;

	(void)state;
	assert_int_equal(log_parse_level("debug", &lvl), 0);
	assert_int_equal(lvl, LOG_LVL_DEBUG);
	assert_int_equal(log_parse_level("error", &lvl), 0);
	assert_int_equal(lvl, LOG_LVL_ERROR);
	assert_int_equal(log_parse_level("verbose", &lvl), -1);
	assert_int_equal(log_parse_level("", &lvl), -1);
	assert_int_equal(lvl, LOG_LVL_ERROR);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_escaping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_line_keeps_newline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_level_filtering, setup, teardown),
		cmocka_unit_test_setup_teardown(test_logline_ignores_level, setup, teardown),
		cmocka_unit_test(test_parse_level),
	};

	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
