/* SPDX-License-Identifier: ISC */
/* ses-feedback - unit tests for the configuration (src/cfg.c).
 * Each key comes from the request parameters, then the environment, then
 * the default; a bad value fails the whole load and names its key. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "cfg.h"

/* A request's parameters: pairs ending with a NULL name. */
struct kv {
	const char *name;
	const char *value;
};

static const char *
param_lookup(void *ctx, const char *name)
{
	const struct kv *p;

	for (p = ctx; p->name != NULL; p++) {
		if (strcmp(p->name, name) == 0)
			return p->value;
	}
	return NULL;
}

/* Every test starts from an environment without our keys. */
static int
clear_env(void **state)
{
	int i;

	for (i = 0; i < CFG__COUNT; i++)
		unsetenv(cfg_table[i].name);
	return 0;
}

static void
check_defaults_except(const struct cfg *c, int skip)
{
	int i;

	for (i = 0; i < CFG__COUNT; i++) {
		if (i == skip)
			continue;
		assert_int_equal(c->origin[i], CFG_FROM_DEFAULT);
		assert_string_equal(c->raw[i], cfg_table[i].def);
	}
}

static void
test_table_sorted_and_named(void **state)
{
	int i;

	for (i = 0; i < CFG__COUNT; i++) {
		assert_non_null(cfg_table[i].name);
		assert_non_null(cfg_table[i].def);
		assert_non_null(cfg_table[i].help);
		assert_int_equal(strncmp(cfg_table[i].name, "SES_FEEDBACK_", 13), 0);
		if (i > 0)
			assert_true(strcmp(cfg_table[i - 1].name, cfg_table[i].name) < 0);
		/* every default passes its own check */
		assert_int_equal(cfg_check((enum cfg_id)i, cfg_table[i].def, NULL, 0), 0);
	}
	assert_string_equal(cfg_table[CFG_AUTO_CONFIRM].name, "SES_FEEDBACK_AUTO_CONFIRM");
	assert_string_equal(cfg_table[CFG_DSN].name, "SES_FEEDBACK_DSN");
	assert_string_equal(cfg_table[CFG_TOPICS].name, "SES_FEEDBACK_TOPICS");
	assert_string_equal(
	    cfg_table[CFG_MIN_SIGNATURE_VERSION].name, "SES_FEEDBACK_MIN_SIGNATURE_VERSION");
}

static void
test_defaults(void **state)
{
	struct cfg c;
	char       why[256] = "";

	memset(&c, 0xa5, sizeof(c));
	assert_int_equal(cfg_load(&c, NULL, why, sizeof(why)), 0);
	check_defaults_except(&c, -1);
	assert_int_equal(c.auto_confirm, 1);
	assert_null(c.ca_file);
	assert_null(c.cert_cache);
	assert_null(c.connect_to);
	assert_string_equal(c.dsn, "");
	assert_int_equal(c.log_level, LOG_LVL_INFO);
	assert_int_equal(c.max_body, 1048576);
	assert_int_equal(c.min_sigver, 1);
	assert_string_equal(c.topics, "");
}

static void
test_env_over_default(void **state)
{
	struct cfg c;
	char       why[256] = "";

	setenv("SES_FEEDBACK_AUTO_CONFIRM", "off", 1);
	setenv("SES_FEEDBACK_CA_FILE", "/etc/ssl/amazon.pem", 1);
	setenv("SES_FEEDBACK_DSN", "dbname=feedback", 1);
	setenv("SES_FEEDBACK_LOG_LEVEL", "debug", 1);
	setenv("SES_FEEDBACK_MAX_BODY", "65536", 1);
	setenv("SES_FEEDBACK_MIN_SIGNATURE_VERSION", "2", 1);
	setenv("SES_FEEDBACK_TOPICS", "arn:aws:sns:us-east-1:123456789012:a", 1);
	assert_int_equal(cfg_load(&c, NULL, why, sizeof(why)), 0);
	assert_int_equal(c.auto_confirm, 0);
	assert_string_equal(c.ca_file, "/etc/ssl/amazon.pem");
	assert_string_equal(c.dsn, "dbname=feedback");
	assert_int_equal(c.log_level, LOG_LVL_DEBUG);
	assert_int_equal(c.max_body, 65536);
	assert_int_equal(c.min_sigver, 2);
	assert_string_equal(c.topics, "arn:aws:sns:us-east-1:123456789012:a");
	assert_int_equal(c.origin[CFG_AUTO_CONFIRM], CFG_FROM_ENV);
	assert_int_equal(c.origin[CFG_CA_FILE], CFG_FROM_ENV);
	assert_int_equal(c.origin[CFG_DSN], CFG_FROM_ENV);
	assert_int_equal(c.origin[CFG_LOG_LEVEL], CFG_FROM_ENV);
	assert_int_equal(c.origin[CFG_MAX_BODY], CFG_FROM_ENV);
	assert_int_equal(c.origin[CFG_MIN_SIGNATURE_VERSION], CFG_FROM_ENV);
	assert_int_equal(c.origin[CFG_TOPICS], CFG_FROM_ENV);
	/* untouched keys keep their defaults */
	assert_int_equal(c.origin[CFG_CERT_CACHE], CFG_FROM_DEFAULT);
	assert_int_equal(c.origin[CFG_CONNECT_TO], CFG_FROM_DEFAULT);
	assert_null(c.cert_cache);
	assert_null(c.connect_to);
	assert_string_equal(c.raw[CFG_MAX_BODY], "65536");
}

static void
test_param_over_env(void **state)
{
	static const struct kv params[] = {
		{ "SES_FEEDBACK_DSN", "host=from-param" },
		{ "SES_FEEDBACK_MAX_BODY", "8192" },
		{ "SES_FEEDBACK_AUTO_CONFIRM", "on" },
		{ "SES_FEEDBACK_CERT_CACHE", "/var/cache/ses-feedback" },
		{ "SES_FEEDBACK_CONNECT_TO", "sns.us-east-1.amazonaws.com:443:relay:8443" },
		{ "UNRELATED", "x" },
		{ NULL, NULL },
	};
	struct cfg_src src = { param_lookup, (void *)params };
	struct cfg     c;
	char           why[256] = "";

	setenv("SES_FEEDBACK_DSN", "host=from-env", 1);
	setenv("SES_FEEDBACK_MAX_BODY", "65536", 1);
	setenv("SES_FEEDBACK_AUTO_CONFIRM", "off", 1);
	setenv("SES_FEEDBACK_LOG_LEVEL", "warn", 1);
	assert_int_equal(cfg_load(&c, &src, why, sizeof(why)), 0);
	/* param beats env */
	assert_string_equal(c.dsn, "host=from-param");
	assert_int_equal(c.origin[CFG_DSN], CFG_FROM_PARAM);
	assert_int_equal(c.max_body, 8192);
	assert_int_equal(c.origin[CFG_MAX_BODY], CFG_FROM_PARAM);
	assert_int_equal(c.auto_confirm, 1);
	assert_int_equal(c.origin[CFG_AUTO_CONFIRM], CFG_FROM_PARAM);
	/* param beats default */
	assert_string_equal(c.cert_cache, "/var/cache/ses-feedback");
	assert_int_equal(c.origin[CFG_CERT_CACHE], CFG_FROM_PARAM);
	assert_string_equal(c.connect_to, "sns.us-east-1.amazonaws.com:443:relay:8443");
	assert_int_equal(c.origin[CFG_CONNECT_TO], CFG_FROM_PARAM);
	/* env beats default when there is no param */
	assert_int_equal(c.log_level, LOG_LVL_WARN);
	assert_int_equal(c.origin[CFG_LOG_LEVEL], CFG_FROM_ENV);
	/* nothing anywhere: default */
	assert_int_equal(c.origin[CFG_TOPICS], CFG_FROM_DEFAULT);
	assert_int_equal(c.origin[CFG_MIN_SIGNATURE_VERSION], CFG_FROM_DEFAULT);
	assert_int_equal(c.origin[CFG_CA_FILE], CFG_FROM_DEFAULT);
	assert_int_equal(c.min_sigver, 1);
	/* raw borrows the parameter's own pointer */
	assert_ptr_equal(c.raw[CFG_DSN], params[0].value);
}

static void
test_empty_param_is_a_value(void **state)
{
	static const struct kv params[] = {
		{ "SES_FEEDBACK_DSN", "" },
		{ "SES_FEEDBACK_CA_FILE", "" },
		{ "SES_FEEDBACK_TOPICS", "" },
		{ NULL, NULL },
	};
	struct cfg_src src = { param_lookup, (void *)params };
	struct cfg     c;
	char           why[256] = "";

	setenv("SES_FEEDBACK_DSN", "host=from-env", 1);
	setenv("SES_FEEDBACK_CA_FILE", "/etc/ssl/env.pem", 1);
	setenv("SES_FEEDBACK_TOPICS", "arn:aws:sns:*:123456789012:*", 1);
	assert_int_equal(cfg_load(&c, &src, why, sizeof(why)), 0);
	assert_string_equal(c.dsn, "");
	assert_int_equal(c.origin[CFG_DSN], CFG_FROM_PARAM);
	assert_null(c.ca_file);
	assert_int_equal(c.origin[CFG_CA_FILE], CFG_FROM_PARAM);
	assert_string_equal(c.topics, "");
	assert_int_equal(c.origin[CFG_TOPICS], CFG_FROM_PARAM);
}

static void
test_empty_env_is_a_value(void **state)
{
	struct cfg c;
	char       why[256] = "";

	setenv("SES_FEEDBACK_DSN", "", 1);
	assert_int_equal(cfg_load(&c, NULL, why, sizeof(why)), 0);
	assert_int_equal(c.origin[CFG_DSN], CFG_FROM_ENV);
	assert_string_equal(c.dsn, "");
	check_defaults_except(&c, CFG_DSN);
}

static void
test_source_without_param(void **state)
{
	struct cfg_src src = { NULL, NULL };
	struct cfg     c;
	char           why[256] = "";

	setenv("SES_FEEDBACK_TOPICS", "arn:aws:sns:eu-west-1:123456789012:t", 1);
	assert_int_equal(cfg_load(&c, &src, why, sizeof(why)), 0);
	assert_int_equal(c.origin[CFG_TOPICS], CFG_FROM_ENV);
	assert_string_equal(c.topics, "arn:aws:sns:eu-west-1:123456789012:t");
	check_defaults_except(&c, CFG_TOPICS);
}

/* A bad environment value is never consulted when a parameter wins. */
static void
test_good_param_hides_bad_env(void **state)
{
	static const struct kv params[] = {
		{ "SES_FEEDBACK_AUTO_CONFIRM", "off" },
		{ NULL, NULL },
	};
	struct cfg_src src = { param_lookup, (void *)params };
	struct cfg     c;
	char           why[256] = "";

	setenv("SES_FEEDBACK_AUTO_CONFIRM", "maybe", 1);
	assert_int_equal(cfg_load(&c, &src, why, sizeof(why)), 0);
	assert_int_equal(c.auto_confirm, 0);
	assert_int_equal(c.origin[CFG_AUTO_CONFIRM], CFG_FROM_PARAM);
	assert_int_equal(cfg_load(&c, NULL, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "SES_FEEDBACK_AUTO_CONFIRM"));
}

struct bad {
	const char *name;
	const char *value;
};

static const struct bad bad_values[] = {
	{ "SES_FEEDBACK_AUTO_CONFIRM", "maybe" },
	{ "SES_FEEDBACK_AUTO_CONFIRM", "ON" },
	{ "SES_FEEDBACK_AUTO_CONFIRM", "true" },
	{ "SES_FEEDBACK_AUTO_CONFIRM", "1" },
	{ "SES_FEEDBACK_AUTO_CONFIRM", "" },
	{ "SES_FEEDBACK_AUTO_CONFIRM", "on " },
	{ "SES_FEEDBACK_MIN_SIGNATURE_VERSION", "3" },
	{ "SES_FEEDBACK_MIN_SIGNATURE_VERSION", "0" },
	{ "SES_FEEDBACK_MIN_SIGNATURE_VERSION", "" },
	{ "SES_FEEDBACK_MIN_SIGNATURE_VERSION", "1.0" },
	{ "SES_FEEDBACK_MIN_SIGNATURE_VERSION", "01" },
	{ "SES_FEEDBACK_MIN_SIGNATURE_VERSION", " 2" },
	{ "SES_FEEDBACK_MAX_BODY", "12abc" },
	{ "SES_FEEDBACK_MAX_BODY", "4095" },
	{ "SES_FEEDBACK_MAX_BODY", "0" },
	{ "SES_FEEDBACK_MAX_BODY", "16777217" },
	{ "SES_FEEDBACK_MAX_BODY", "99999999999999999999999" },
	{ "SES_FEEDBACK_MAX_BODY", "-4096" },
	{ "SES_FEEDBACK_MAX_BODY", "+4096" },
	{ "SES_FEEDBACK_MAX_BODY", " 4096" },
	{ "SES_FEEDBACK_MAX_BODY", "4096 " },
	{ "SES_FEEDBACK_MAX_BODY", "0x10000" },
	{ "SES_FEEDBACK_MAX_BODY", "" },
	{ "SES_FEEDBACK_LOG_LEVEL", "loud" },
	{ "SES_FEEDBACK_LOG_LEVEL", "INFO" },
	{ "SES_FEEDBACK_LOG_LEVEL", "warning" },
	{ "SES_FEEDBACK_LOG_LEVEL", "" },
	{ "SES_FEEDBACK_TOPICS", "arn:aws:sns:us-east-1:123456789012:a\001" },
	{ "SES_FEEDBACK_TOPICS", "\033[2J" },
};

static void
test_bad_values_env(void **state)
{
	struct cfg c;
	char       why[256];
	size_t     i;
	int        rc;

	for (i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
		clear_env(NULL);
		setenv(bad_values[i].name, bad_values[i].value, 1);
		why[0] = '\0';
		rc = cfg_load(&c, NULL, why, sizeof(why));
		if (rc != -1 || strstr(why, bad_values[i].name) == NULL)
			fail_msg("env %s=\"%s\": rc %d, why \"%s\"", bad_values[i].name,
			    bad_values[i].value, rc, why);
	}
}

static void
test_bad_values_param(void **state)
{
	struct kv      params[2] = { { NULL, NULL }, { NULL, NULL } };
	struct cfg_src src = { param_lookup, params };
	struct cfg     c;
	char           why[256];
	size_t         i;
	int            rc;

	for (i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
		params[0].name = bad_values[i].name;
		params[0].value = bad_values[i].value;
		why[0] = '\0';
		rc = cfg_load(&c, &src, why, sizeof(why));
		if (rc != -1 || strstr(why, bad_values[i].name) == NULL)
			fail_msg("param %s=\"%s\": rc %d, why \"%s\"", bad_values[i].name,
			    bad_values[i].value, rc, why);
	}
}

static void
test_why_text(void **state)
{
	struct cfg c;
	char       why[256] = "";

	setenv("SES_FEEDBACK_MAX_BODY", "12abc", 1);
	assert_int_equal(cfg_load(&c, NULL, why, sizeof(why)), -1);
	assert_string_equal(
	    why, "SES_FEEDBACK_MAX_BODY=\"12abc\": want a byte count from 4096 to 16777216");
	clear_env(NULL);
	setenv("SES_FEEDBACK_LOG_LEVEL", "loud", 1);
	assert_int_equal(cfg_load(&c, NULL, why, sizeof(why)), -1);
	assert_string_equal(
	    why, "SES_FEEDBACK_LOG_LEVEL=\"loud\": want error, warn, info or debug");
	/* a small why buffer truncates, it does not overflow */
	clear_env(NULL);
	memset(why, 'X', sizeof(why));
	setenv("SES_FEEDBACK_AUTO_CONFIRM", "maybe", 1);
	assert_int_equal(cfg_load(&c, NULL, why, 8), -1);
	assert_string_equal(why, "SES_FEE");
	assert_int_equal(why[8], 'X');
}

static void
test_good_values(void **state)
{
	struct cfg c;
	char       why[256] = "";

	setenv("SES_FEEDBACK_MAX_BODY", "4096", 1);
	setenv("SES_FEEDBACK_LOG_LEVEL", "error", 1);
	setenv("SES_FEEDBACK_AUTO_CONFIRM", "on", 1);
	assert_int_equal(cfg_load(&c, NULL, why, sizeof(why)), 0);
	assert_int_equal(c.max_body, 4096);
	assert_int_equal(c.log_level, LOG_LVL_ERROR);
	assert_int_equal(c.auto_confirm, 1);
	setenv("SES_FEEDBACK_MAX_BODY", "16777216", 1);
	setenv("SES_FEEDBACK_LOG_LEVEL", "warn", 1);
	assert_int_equal(cfg_load(&c, NULL, why, sizeof(why)), 0);
	assert_int_equal(c.max_body, 16777216);
	assert_int_equal(c.log_level, LOG_LVL_WARN);
	/* tabs and newlines separate topics; they are not control junk */
	setenv("SES_FEEDBACK_TOPICS",
	    "arn:aws:sns:us-east-1:123456789012:a,\tarn:aws:sns:us-east-1:123456789012:b\n", 1);
	assert_int_equal(cfg_load(&c, NULL, why, sizeof(why)), 0);
	assert_string_equal(c.topics,
	    "arn:aws:sns:us-east-1:123456789012:a,\tarn:aws:sns:us-east-1:123456789012:b\n");
}

static void
test_check_direct(void **state)
{
	char why[128];

	assert_int_equal(cfg_check(CFG_AUTO_CONFIRM, "off", why, sizeof(why)), 0);
	assert_int_equal(cfg_check(CFG_AUTO_CONFIRM, "yes", why, sizeof(why)), -1);
	assert_string_equal(why, "SES_FEEDBACK_AUTO_CONFIRM=\"yes\": want on or off");
	assert_int_equal(cfg_check(CFG_MIN_SIGNATURE_VERSION, "2", why, sizeof(why)), 0);
	assert_int_equal(cfg_check(CFG_MIN_SIGNATURE_VERSION, "3", why, sizeof(why)), -1);
	assert_string_equal(why, "SES_FEEDBACK_MIN_SIGNATURE_VERSION=\"3\": want 1 or 2");
	assert_int_equal(cfg_check(CFG_DSN, "anything at all", why, sizeof(why)), 0);
	assert_int_equal(cfg_check(CFG_CONNECT_TO, "", why, sizeof(why)), 0);
	assert_int_equal(cfg_check(CFG_TOPICS, "a\rb", why, sizeof(why)), -1);
	assert_string_equal(why, "SES_FEEDBACK_TOPICS: control character in topic list");
}

static void
test_origin_names(void **state)
{
	assert_string_equal(cfg_origin_name(CFG_FROM_PARAM), "param");
	assert_string_equal(cfg_origin_name(CFG_FROM_ENV), "env");
	assert_string_equal(cfg_origin_name(CFG_FROM_DEFAULT), "default");
}

/* The keys read at start: from the environment only, checked like any
 * other, every other field at its default. */
static void
test_startup_keys(void **state)
{
	const struct kv params[] = { { "SES_FEEDBACK_LOG", "syslog" },
		{ "SES_FEEDBACK_METRICS_FILE", "/from/a/param" }, { NULL, NULL } };
	struct cfg_src  src = { param_lookup, (void *)params };
	struct cfg      c;
	char            why[256] = "";

	setenv("SES_FEEDBACK_LOG_LEVEL", "debug", 1);
	setenv("SES_FEEDBACK_LOG", "syslog", 1);
	setenv("SES_FEEDBACK_METRICS_FILE", "/run/sf/metrics", 1);
	setenv("SES_FEEDBACK_MAX_BODY", "12abc", 1); /* a request key: not read here */
	assert_int_equal(cfg_load_startup(&c, why, sizeof(why)), 0);
	assert_int_equal(c.log_level, LOG_LVL_DEBUG);
	assert_int_equal(c.log, CFG_LOG_SYSLOG);
	assert_string_equal(c.metrics_file, "/run/sf/metrics");
	assert_int_equal(c.origin[CFG_LOG], CFG_FROM_ENV);
	assert_int_equal(c.origin[CFG_MAX_BODY], CFG_FROM_DEFAULT);
	assert_int_equal(c.max_body, 1048576);
	/* The same bad level a request would get a 500 for fails the start. */
	setenv("SES_FEEDBACK_LOG_LEVEL", "loud", 1);
	assert_int_equal(cfg_load_startup(&c, why, sizeof(why)), -1);
	assert_string_equal(
	    why, "SES_FEEDBACK_LOG_LEVEL=\"loud\": want error, warn, info or debug");
	clear_env(NULL);
	setenv("SES_FEEDBACK_LOG", "journal", 1);
	assert_int_equal(cfg_load_startup(&c, why, sizeof(why)), -1);
	assert_string_equal(why, "SES_FEEDBACK_LOG=\"journal\": want stderr or syslog");
	setenv("SES_FEEDBACK_LOG", "", 1);
	setenv("SES_FEEDBACK_METRICS_FILE", "", 1);
	assert_int_equal(cfg_load_startup(&c, why, sizeof(why)), 0);
	assert_int_equal(c.log, CFG_LOG_STDERR);
	assert_null(c.metrics_file);
	/* A FastCGI parameter cannot set an environment-only key. */
	clear_env(NULL);
	assert_int_equal(cfg_load(&c, &src, why, sizeof(why)), 0);
	assert_int_equal(c.origin[CFG_LOG], CFG_FROM_DEFAULT);
	assert_int_equal(c.log, CFG_LOG_STDERR);
	assert_null(c.metrics_file);
}

static void
test_scope_names(void **state)
{
	int i, startup = 0;

	assert_string_equal(cfg_scope_name(CFG_REQUEST), "request");
	assert_string_equal(cfg_scope_name(CFG_STARTUP | CFG_EMPTY_NULL), "startup");
	assert_string_equal(cfg_scope_name(CFG_STARTUP | CFG_REQUEST), "startup, request");
	for (i = 0; i < CFG__COUNT; i++) {
		assert_true(cfg_table[i].flags & (CFG_REQUEST | CFG_STARTUP));
		if (cfg_table[i].flags & CFG_STARTUP)
			startup++;
	}
	assert_int_equal(startup, 3); /* LOG, LOG_LEVEL, METRICS_FILE */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_table_sorted_and_named, clear_env),
		cmocka_unit_test_setup(test_defaults, clear_env),
		cmocka_unit_test_setup(test_env_over_default, clear_env),
		cmocka_unit_test_setup(test_param_over_env, clear_env),
		cmocka_unit_test_setup(test_empty_param_is_a_value, clear_env),
		cmocka_unit_test_setup(test_empty_env_is_a_value, clear_env),
		cmocka_unit_test_setup(test_source_without_param, clear_env),
		cmocka_unit_test_setup(test_good_param_hides_bad_env, clear_env),
		cmocka_unit_test_setup(test_bad_values_env, clear_env),
		cmocka_unit_test_setup(test_bad_values_param, clear_env),
		cmocka_unit_test_setup(test_why_text, clear_env),
		cmocka_unit_test_setup(test_good_values, clear_env),
		cmocka_unit_test_setup(test_check_direct, clear_env),
		cmocka_unit_test(test_origin_names),
		cmocka_unit_test_setup(test_startup_keys, clear_env),
		cmocka_unit_test(test_scope_names),
	};

	return cmocka_run_group_tests_name("cfg", tests, NULL, NULL);
}
