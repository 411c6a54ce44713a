/* SPDX-License-Identifier: ISC */
/* ses-feedback - unit tests for the cached sending rates in the metrics
 * (src/metrics.c, src/rates.c): the claim that lets one process a minute
 * refresh, across real processes; what a scrape renders from the cache, to
 * the digit; label values escaped; the worst case within the page's bound;
 * and the database's rows turned into the cache (a libpq result made by
 * hand, no server). */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "bounds.h"
#include "buf.h"
#include "metrics.h"
#include "rates.h"

static char *
render(void)
{
	struct buf b;

	buf_init(&b, LIM_METRICS_MAX);
	assert_int_equal(metrics_render(&b), 0);
	return buf_take(&b, NULL);
}

static void
set_row(struct metrics_rate *r, const char *name, uint64_t d, uint64_t hb, uint64_t c, double bp,
    double cp)
{
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->delivered = d;
	r->hard_bounces = hb;
	r->complaints = c;
	r->bounce_pct = bp;
	r->complaint_pct = cp;
}

static void
test_label_escaping(void **state)
{
	struct buf b;
	char      *s;

	(void)state;
	buf_init(&b, 1024);
	assert_int_equal(metrics_label_value(&b, "a\"} 1\nforged 1\n\\"), 0);
	s = buf_take(&b, NULL);
	assert_string_equal(s, "a\\\"} 1\\nforged 1\\n\\\\");
	free(s);
	buf_init(&b, 1024);
	assert_int_equal(metrics_label_value(&b, "plain-name_1 \xc3\xa9\t\r"), 0);
	s = buf_take(&b, NULL);
	assert_string_equal(s, "plain-name_1 \xc3\xa9\t\r");
	free(s);
}

/* Before any refresh: the refresh's own series, no rate at all. Runs
 * first, on a fresh shared segment. */
static void
test_nothing_before_the_first_refresh(void **state)
{
	char *s;

	(void)state;
	assert_int_equal(metrics_init_shared(), 0);
	s = render();
	assert_non_null(strstr(s, "\nses_feedback_rates_refreshed_timestamp_seconds 0\n"));
	assert_non_null(strstr(s, "\nses_feedback_rates_refreshes_total 0\n"));
	assert_non_null(strstr(s, "\nses_feedback_last_notification_timestamp_seconds 0\n"));
	assert_null(strstr(s, "ses_feedback_bounce_rate_percent"));
	assert_null(strstr(s, "ses_feedback_subscriptions{"));
	free(s);
}

static void
test_render_from_the_cache(void **state)
{
	struct metrics_rates r;
	char                *s;

	(void)state;
	memset(&r, 0, sizeof(r));
	set_row(&r.all, "", 65, 4, 1, 5.797, 1.538);
	set_row(&r.sets[0], "marketing", 40, 3, 1, 6.977, 2.5);
	set_row(&r.sets[1], "complaints-only", 0, 0, 1, NAN, NAN);
	set_row(&r.sets[2], "q\"uote", 25, 1, 0, 3.846, 0);
	r.nsets = 3;
	r.omitted = 7;
	r.subs[METRICS_SUB_PENDING] = 2;
	r.subs[METRICS_SUB_CONFIRMED] = 5;
	r.seconds = 0.0125;
	metrics_rates_store(&r, 1796000000);
	s = render();
	assert_non_null(strstr(s, "\nses_feedback_rates_refreshed_timestamp_seconds 1796000000\n"));
	assert_non_null(strstr(s, "\nses_feedback_bounce_rate_percent{scope=\"all\"} 5.797\n"));
	assert_non_null(strstr(s, "\nses_feedback_complaint_rate_percent{scope=\"all\"} 1.538\n"));
	assert_non_null(strstr(s, "\nses_feedback_bounce_rate_percent{scope=\"configuration_set\","
	                          "configuration_set=\"marketing\"} 6.977\n"));
	assert_non_null(strstr(s, "\nses_feedback_sending_delivered{scope=\"configuration_set\","
	                          "configuration_set=\"complaints-only\"} 0\n"));
	assert_non_null(strstr(s, "\nses_feedback_sending_complaints{scope=\"configuration_set\","
	                          "configuration_set=\"complaints-only\"} 1\n"));
	/* no rate to show: no sample, rather than a made-up 0 */
	assert_null(strstr(s, "_rate_percent{scope=\"configuration_set\","
	                      "configuration_set=\"complaints-only\"}"));
	assert_non_null(strstr(s, "\nses_feedback_complaint_rate_percent{scope=\"configuration_set\","
	                          "configuration_set=\"q\\\"uote\"} 0\n"));
	assert_non_null(strstr(s, "\nses_feedback_rates_configuration_sets_omitted 7\n"));
	assert_non_null(strstr(s, "\nses_feedback_rates_refresh_duration_seconds 0.012500\n"));
	assert_non_null(strstr(s, "\nses_feedback_subscriptions{status=\"pending\"} 2\n"));
	assert_non_null(strstr(s, "\nses_feedback_subscriptions{status=\"confirmed\"} 5\n"));
	assert_non_null(strstr(s, "\nses_feedback_subscriptions{status=\"unsubscribed\"} 0\n"));
	assert_non_null(strstr(s, "# TYPE ses_feedback_bounce_rate_percent gauge\n"));
	free(s);
	/* a failed refresh counts, and the last good values stay */
	metrics_rates_failed();
	s = render();
	assert_non_null(strstr(s, "\nses_feedback_rates_refresh_errors_total 1\n"));
	assert_non_null(strstr(s, "\nses_feedback_bounce_rate_percent{scope=\"all\"} 5.797\n"));
	free(s);
}

/* 64 configuration sets whose 64-byte names all double when escaped. */
static void
test_worst_case_fits_the_page(void **state)
{
	struct metrics_rates r;
	char                 name[METRICS_RATE_NAME_MAX + 1];
	char                *s;
	uint32_t             i;

	(void)state;
	memset(&r, 0, sizeof(r));
	set_row(&r.all, "", UINT64_MAX, UINT64_MAX, UINT64_MAX, 100, 100);
	for (i = 0; i < METRICS_RATE_SETS; i++) {
		memset(name, '"', METRICS_RATE_NAME_MAX);
		name[METRICS_RATE_NAME_MAX] = '\0';
		snprintf(name, 3, "%02u", i);
		name[2] = '"';
		set_row(&r.sets[i], name, UINT64_MAX, UINT64_MAX, UINT64_MAX, 33.333, 33.333);
	}
	r.nsets = METRICS_RATE_SETS;
	metrics_rates_store(&r, 1796000060);
	s = render();
	assert_non_null(s);
	assert_non_null(strstr(s, "ses_feedback_subscriptions{status=\"unsubscribed\"} 0\n"));
	free(s);
}

static void
test_claim_once_an_interval(void **state)
{
	(void)state;
	assert_int_equal(metrics_rates_claim(1000, 60), 1);
	assert_int_equal(metrics_rates_claim(1000, 60), 0);
	assert_int_equal(metrics_rates_claim(1059, 60), 0);
	assert_int_equal(metrics_rates_claim(1060, 60), 1);
	assert_int_equal(metrics_rates_claim(1100, 60), 0);
	/* the clock set back: due at once, not in an hour */
	assert_int_equal(metrics_rates_claim(500, 60), 1);
	assert_int_equal(metrics_rates_claim(530, 60), 0);
}

/* Many processes find the refresh due at the same second: one has it. */
static void
test_claim_across_processes(void **state)
{
	enum { N = 8, ROUNDS = 25 };
	pid_t pid[N];
	int   go[2], st, won, round, i;
	char  c;

	(void)state;
	for (round = 0; round < ROUNDS; round++) {
		assert_int_equal(pipe(go), 0);
		for (i = 0; i < N; i++) {
			pid[i] = fork();
			assert_true(pid[i] >= 0);
			if (pid[i] == 0) {
				close(go[1]);
				if (read(go[0], &c, 1) != 0)
					_exit(2);
				_exit(metrics_rates_claim(100000 + round * 60, 60));
			}
		}
		close(go[0]);
		close(go[1]); /* all of them go */
		won = 0;
		for (i = 0; i < N; i++) {
			assert_int_equal(waitpid(pid[i], &st, 0), pid[i]);
			assert_true(WIFEXITED(st) && WEXITSTATUS(st) <= 1);
			won += WEXITSTATUS(st);
		}
		assert_int_equal(won, 1);
	}
}

/* A libpq result made by hand, as the statement returns it. */
static PGresult *
result(const char *const rows[][8], int n)
{
	static const char *names[8] = { "scope", "name", "delivered", "hard_bounces", "complaints",
		"bounce_rate_pct", "complaint_rate_pct", "n" };
	PGresAttDesc       att[8];
	PGresult          *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	int                i, j;

	assert_non_null(res);
	memset(att, 0, sizeof(att));
	for (j = 0; j < 8; j++) {
		att[j].name = (char *)names[j];
		att[j].typid = 25;
		att[j].typlen = -1;
		att[j].atttypmod = -1;
	}
	assert_int_equal(PQsetResultAttrs(res, 8, att), 1);
	for (i = 0; i < n; i++) {
		for (j = 0; j < 8; j++) {
			assert_int_equal(PQsetvalue(res, i, j, (char *)rows[i][j],
			                     rows[i][j] == NULL ? -1 : (int)strlen(rows[i][j])),
			    1);
		}
	}
	return res;
}

static void
test_parse_rows(void **state)
{
	static const char long_name[] =
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"; /* 65 */
	const char *const rows[][8] = {
		{ "all", "(all)", "65", "4", "1", "5.797", "1.538", "0" },
		{ "configuration_set", "marketing", "40", "3", "1", "6.977", "2.500", "5" },
		{ "configuration_set", long_name, "9", "0", "0", "0.000", "0.000", "5" },
		{ "configuration_set", "bad\xff", "8", "0", "0", "0.000", "0.000", "5" },
		{ "configuration_set", "complaints-only", "0", "0", "1", NULL, NULL, "5" },
		{ "configuration_set", "(none)", "5", "0", "0", "0.000", "0.000", "5" },
		{ "subscription", "pending", "1", NULL, NULL, NULL, NULL, NULL },
		{ "subscription", "unsubscribed", "3", NULL, NULL, NULL, NULL, NULL },
	};
	struct metrics_rates r;
	PGresult            *res = result(rows, 8);
	char                 why[256] = "";

	(void)state;
	assert_int_equal(rates_parse(res, &r, why, sizeof(why)), 0);
	assert_int_equal(r.all.delivered, 65);
	assert_true(r.all.bounce_pct == 5.797);
	assert_int_equal(r.nsets, 3);
	assert_string_equal(r.sets[0].name, "marketing");
	assert_int_equal(r.sets[0].hard_bounces, 3);
	assert_true(r.sets[0].complaint_pct == 2.5);
	assert_string_equal(r.sets[1].name, "complaints-only");
	assert_true(isnan(r.sets[1].bounce_pct) && isnan(r.sets[1].complaint_pct));
	assert_string_equal(r.sets[2].name, "(none)");
	assert_int_equal(r.omitted, 2); /* too long, not UTF-8 */
	assert_int_equal(r.subs[METRICS_SUB_PENDING], 1);
	assert_int_equal(r.subs[METRICS_SUB_CONFIRMED], 0);
	assert_int_equal(r.subs[METRICS_SUB_UNSUBSCRIBED], 3);
	PQclear(res);
	/* no overall row: not a result to publish */
	res = result(rows + 1, 1);
	assert_int_equal(rates_parse(res, &r, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "scope all"));
	PQclear(res);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_label_escaping),
		cmocka_unit_test(test_nothing_before_the_first_refresh),
		cmocka_unit_test(test_render_from_the_cache),
		cmocka_unit_test(test_worst_case_fits_the_page),
		cmocka_unit_test(test_claim_once_an_interval),
		cmocka_unit_test(test_claim_across_processes),
		cmocka_unit_test(test_parse_rows),
	};

	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
