/* SPDX-License-Identifier: ISC */
/* ses-feedback - unit tests for the status page (src/status.c): the query
 * string is taken only in the shapes it documents, every string of the
 * document comes out escaped (text and attributes), links are
 * percent-encoded, a document missing parts or with the wrong types still
 * renders, and the CSP names the hash of the one style element. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "buf.h"
#include "status.h"

static int
parse(const char *qs, struct status_query *q, char *why)
{
	return status_query_parse(qs, q, why, 160);
}

static void
test_query_defaults(void **state)
{
	struct status_query q;
	char                why[160];

	assert_int_equal(parse(NULL, &q, why), 0);
	assert_int_equal(q.days, 30);
	assert_string_equal(q.scope, "all");
	assert_string_equal(q.name, "(all)");
	assert_string_equal(q.q, "");
	assert_int_equal(parse("", &q, why), 0);
	assert_int_equal(q.days, 30);
}

static void
test_query_good(void **state)
{
	struct status_query q;
	char                why[160];

	assert_int_equal(parse("days=7", &q, why), 0);
	assert_int_equal(q.days, 7);
	assert_int_equal(parse("days=90&scope=configuration_set&name=mark%20eting", &q, why), 0);
	assert_int_equal(q.days, 90);
	assert_string_equal(q.scope, "configuration_set");
	assert_string_equal(q.name, "mark eting");
	assert_int_equal(
	    parse("scope=identity&name=a%40b.example&q=+X%2BY%40Z.example+", &q, why), 0);
	assert_string_equal(q.name, "a@b.example");
	assert_string_equal(q.q, " X+Y@Z.example ");
	/* what the forms send: an empty search is no search */
	assert_int_equal(parse("days=30&scope=all&name=%28all%29&q=", &q, why), 0);
	assert_string_equal(q.q, "");
	assert_int_equal(parse("q=%C3%A9l%C3%A8ve%40example.fr", &q, why), 0);
	assert_string_equal(q.q, "\xc3\xa9l\xc3\xa8ve@example.fr");
}

static void
test_query_bad(void **state)
{
	static const char *const bad[] = {
		"days=14",
		"days=",
		"days=7&days=7",
		"days",
		"x=1",
		"Days=7",
		"scope=world",
		"scope=identity",
		"scope=identity&name=",
		"name=x",
		"scope=all&name=x",
		"q=%",
		"q=%2",
		"q=%zz",
		"q=a%00b",
		"q=a%0ab",
		"q=%7f",
		"q=%ff",
		"q=%c0%af",
		"q=%ed%a0%80",
		"days=7&&q=a",
		"&days=7",
		"days=7&",
		"q=a&q=b",
	};
	struct status_query q;
	char                why[160], big[STATUS_QS_MAX + 16];
	size_t              i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		if (parse(bad[i], &q, why) != -1)
			fail_msg("accepted %s", bad[i]);
		assert_true(why[0] != '\0');
	}
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "q=", 2);
	assert_int_equal(parse(big, &q, why), -1);
	big[STATUS_QUERY_MAX + 2] = '\0'; /* exactly the longest search */
	assert_int_equal(parse(big, &q, why), 0);
	big[STATUS_QUERY_MAX + 2] = 'a';
	big[STATUS_QUERY_MAX + 3] = '\0';
	assert_int_equal(parse(big, &q, why), -1);
	assert_non_null(strstr(why, "q longer than"));
}

#define EVIL "\"'><script>alert(1)</script><svg onload=x>&amp;"

static char *
render(const char *json, const char *qs)
{
	struct status_query q;
	struct json_object *doc = json_tokener_parse(json);
	struct buf          b;
	char                why[160];
	char               *out;

	assert_non_null(doc);
	assert_int_equal(parse(qs, &q, why), 0);
	buf_init(&b, STATUS_PAGE_MAX);
	assert_int_equal(status_render(doc, &q, &b), 0);
	json_object_put(doc);
	out = buf_take(&b, NULL);
	assert_non_null(out);
	return out;
}

static void
test_render_escapes_everything(void **state)
{
	struct json_object *doc = json_object_new_object(), *a, *e;
	const char *fields[] = { "day", "email", "reason", "scope", "actor", "note", "domain",
		"topic_arn", "status", "updated_at", "warning", "at", "action" };
	char       *html;
	size_t      i;
	const char *text;

	/* every string field the renderer reads, hostile, in every list */
	static const char *const lists[] = { "daily", "suppressions_daily", "latest", "domains",
		"subscriptions", "selector" };
	json_object_object_add(doc, "generated_at", json_object_new_string(EVIL));
	json_object_object_add(doc, "rate_window", json_object_new_string(EVIL));
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		size_t k;

		a = json_object_new_array();
		e = json_object_new_object();
		for (k = 0; k < sizeof(fields) / sizeof(fields[0]); k++)
			json_object_object_add(e, fields[k], json_object_new_string(EVIL));
		json_object_object_add(e, "name", json_object_new_string(EVIL));
		json_object_object_add(e, "bounce_rate_pct", json_object_new_string(EVIL));
		json_object_object_add(e, "delivered", json_object_new_string(EVIL));
		json_object_array_add(a, e);
		json_object_object_add(doc, lists[i], a);
	}
	/* the selector's hostile configuration set */
	e = json_object_new_object();
	json_object_object_add(e, "scope", json_object_new_string("configuration_set"));
	json_object_object_add(e, "name", json_object_new_string(EVIL));
	json_object_array_add(json_object_object_get(doc, "selector"), e);
	e = json_object_new_object();
	json_object_object_add(e, "bounce_rate_pct", json_object_new_string(EVIL));
	json_object_object_add(e, "bounce_status", json_object_new_string(EVIL));
	json_object_object_add(e, "hard_bounces", json_object_new_string(EVIL));
	json_object_object_add(doc, "current", e);
	e = json_object_new_object();
	json_object_object_add(e, "query", json_object_new_string(EVIL));
	json_object_object_add(e, "email", json_object_new_string(EVIL));
	a = json_object_new_array();
	json_object_array_add(a, json_object_get(json_object_object_get(doc, "current")));
	json_object_object_add(e, "suppressions", a);
	json_object_object_add(doc, "search", e);
	text = json_object_to_json_string(doc);
	html = render(text, "scope=configuration_set&name=%22%27%3E%3Cscript%3E&q=%3Cscript%3E");
	assert_null(strstr(html, "<script"));
	assert_null(strstr(html, "<svg onload"));
	assert_null(strstr(html, "'>"));
	assert_null(strstr(html, "=x>"));
	assert_non_null(strstr(html,
	    "&quot;&#39;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;svg onload=x&gt;"
	    "&amp;amp;"));
	/* in a link: percent-encoded */
	assert_non_null(strstr(html, "name=%22%27%3E%3Cscript%3E"));
	assert_non_null(strstr(html, "q=%3Cscript%3E"));
	free(html);
	json_object_put(doc);
}

static void
test_render_survives_odd_documents(void **state)
{
	static const char *const docs[] = {
		"{}",
		"{\"daily\":null,\"current\":[],\"selector\":{},\"latest\":[1,\"x\",null,[]]}",
		"{\"daily\":[{\"day\":\"d\",\"bounce_rate_pct\":\"1e308\"},{\"bounce_rate_pct\":"
		"\"1e999\"},{\"bounce_rate_pct\":\"abc\"},"
		"{\"bounce_rate_pct\":\"-5\"},{\"bounce_rate_pct\":\"100.000\"}],"
		"\"suppressions_daily\":[{\"hard_bounce\":-3,\"manual\":9223372036854775807}]}",
		"{\"search\":{\"query\":\"x\",\"email\":null}}",
		"{\"search\":{\"query\":\"x\",\"email\":\"x@y.z\",\"suppressions\":7,\"history\":"
		"\"no\"}}",
		"{\"subscriptions\":[{\"topic_arn\":\"t\",\"warning\":\"pending\"},{\"warning\":"
		"\"new\"}]}",
	};
	size_t i;
	char  *html;

	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		html = render(docs[i], "days=7");
		assert_non_null(strstr(html, "<!DOCTYPE html>"));
		assert_non_null(strstr(html, "</html>"));
		/* no coordinate from a value that is no finite number */
		assert_null(strstr(html, "nan"));
		assert_null(strstr(html, "inf"));
		free(html);
	}
}

static void
test_render_over_the_cap_fails_whole(void **state)
{
	struct status_query q;
	struct json_object *doc = json_tokener_parse("{}");
	struct buf          b;
	char                why[160];

	assert_int_equal(parse(NULL, &q, why), 0);
	buf_init(&b, 1000);
	assert_int_equal(status_render(doc, &q, &b), -1);
	assert_null(b.data);
	json_object_put(doc);
}

static void
test_csp_names_the_style_hash(void **state)
{
	char         *html = render("{}", NULL);
	const char   *h = status_headers(), *s, *e;
	unsigned char md[32], b64[64];
	unsigned int  n = 0;
	char          want[128];

	s = strstr(html, "<style>");
	assert_non_null(s);
	s += strlen("<style>");
	e = strstr(s, "</style>");
	assert_non_null(e);
	assert_int_equal(EVP_Digest(s, (size_t)(e - s), md, &n, EVP_sha256(), NULL), 1);
	EVP_EncodeBlock(b64, md, (int)n);
	snprintf(want, sizeof(want), "style-src 'sha256-%s'", b64);
	assert_non_null(strstr(h, want));
	assert_non_null(strstr(h, "default-src 'none'"));
	assert_null(strstr(h, "script-src"));
	assert_null(strstr(h, "unsafe"));
	assert_non_null(strstr(h, "X-Content-Type-Options: nosniff\r\n"));
	assert_non_null(strstr(h, "Cache-Control: no-store\r\n"));
	assert_non_null(strstr(h, "Referrer-Policy: no-referrer\r\n"));
	/* one style element, no style attribute, no script */
	assert_null(strstr(e, "<style"));
	assert_null(strstr(html, " style="));
	assert_null(strstr(html, "<script"));
	free(html);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_defaults),
		cmocka_unit_test(test_query_good),
		cmocka_unit_test(test_query_bad),
		cmocka_unit_test(test_render_escapes_everything),
		cmocka_unit_test(test_render_survives_odd_documents),
		cmocka_unit_test(test_render_over_the_cap_fails_whole),
		cmocka_unit_test(test_csp_names_the_style_hash),
	};

	return cmocka_run_group_tests_name("status", tests, NULL, NULL);
}
