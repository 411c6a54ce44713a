/* SPDX-License-Identifier: ISC */
/* ses-feedback - the sending rates behind the metrics.
 * One statement, one snapshot: the overall and per configuration set rows
 * of sending_rates (computed there, the way the status page and the
 * cookbook compute them) and the subscriptions by status. It runs on a
 * connection of its own, made for it and closed at once, so no worker keeps
 * a second connection for a read once a minute; db.c's deadline cancels it
 * when the table is slow or locked, and the last good copy stays. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bounds.h"
#include "db.h"
#include "json_in.h"
#include "log.h"
#include "migrate.h"
#include "rates.h"

#define STR_(x) #x
#define STR(x)  STR_(x)

/* A connect (LIM_DB_CONNECT_S) and then one answer (at most
 * LIM_DB_ANSWER_MS, db.c's cap): db.c makes no connection without the
 * connect time left. */
#define RATES_DEADLINE_MS (LIM_DB_CONNECT_S * 1000 + LIM_DB_ANSWER_MS + 300)

/* The largest configuration sets by messages sent, with names that fit;
 * n counts them all, for the omitted gauge. The kind is in scope:
 * subscriptions come as scope 'subscription', name their status. */
static const struct db_stmt stmts[] = {
	{ "sf_rates_ping", "SELECT 1", 0 },
	{ "sf_rates",
	    "WITH r AS (SELECT * FROM ses_feedback.sending_rates "
	    "            WHERE scope IN ('all', 'configuration_set')) "
	    "(SELECT scope, name, delivered, hard_bounces, complaints, bounce_rate_pct, "
	    "        complaint_rate_pct, (SELECT count(*) FROM r WHERE scope = "
	    "'configuration_set') "
	    "   FROM r WHERE scope = 'all' OR octet_length(name) <= " STR(
	        METRICS_RATE_NAME_MAX) "  ORDER BY scope = 'all' DESC, delivered + hard_bounces "
	                               "DESC, name "
	                               "  LIMIT " STR(
	                                   METRICS_RATE_SETS) " + 1) "
	                                                      "UNION ALL "
	                                                      "SELECT 'subscription', status, "
	                                                      "count(*), NULL, NULL, NULL, NULL, "
	                                                      "NULL "
	                                                      "  FROM ses_feedback.subscriptions "
	                                                      "GROUP BY status",
	    0 },
};

void
rates_refresh(const char *dsn)
{
	struct metrics_rates r;
	struct timespec      t0, t1;
	struct db           *db;
	PGresult            *res = NULL;
	enum db_status       st;
	char                 why[512] = "out of memory";
	int64_t              now = (int64_t)time(NULL);

	if (!metrics_rates_claim(now, METRICS_RATES_INTERVAL_S))
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	db = db_new(stmts, sizeof(stmts) / sizeof(stmts[0]), migrate_schema_wanted());
	st = DB_FAILED;
	if (db != NULL) {
		/* Sent whole, not prepared: db.c prepares without a deadline,
		 * and a locked table would hold that for as long as the lock.
		 * No session SET either (a transaction pooler may be between). */
		db_set_prepare(db, 0);
		db_set_deadline(db, RATES_DEADLINE_MS);
		st = db_run(db, dsn, "sf_rates", NULL, &res, why, sizeof(why));
	}
	if (st == DB_OK && rates_parse(res, &r, why, sizeof(why)) == 0) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		r.seconds =
		    (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		metrics_rates_store(&r, (int64_t)time(NULL));
	} else {
		metrics_rates_failed();
		log_warnx("sending rates for the metrics not read (the last ones stay): %s", why);
	}
	PQclear(res);
	db_free(db);
}

static uint64_t
count(const char *v)
{
	return strtoull(v, NULL, 10);
}

/* The view's NULL (nothing to divide by) is NaN: no sample. */
static double
rate(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NAN : strtod(PQgetvalue(res, row, col), NULL);
}

int
rates_parse(const PGresult *res, struct metrics_rates *r, char *why, size_t whylen)
{
	struct metrics_rate *to;
	const char          *scope, *name, *status;
	uint64_t             total = 0;
	int                  i, have_all = 0;

	memset(r, 0, sizeof(*r));
	if (PQnfields(res) != 8) {
		snprintf(why, whylen, "sending rates: %d columns, not 8", PQnfields(res));
		return -1;
	}
	for (i = 0; i < PQntuples(res); i++) {
		scope = PQgetvalue(res, i, 0);
		name = PQgetvalue(res, i, 1);
		if (strcmp(scope, "subscription") == 0) {
			status = name;
			if (strcmp(status, "pending") == 0)
				r->subs[METRICS_SUB_PENDING] = count(PQgetvalue(res, i, 2));
			else if (strcmp(status, "confirmed") == 0)
				r->subs[METRICS_SUB_CONFIRMED] = count(PQgetvalue(res, i, 2));
			else if (strcmp(status, "unsubscribed") == 0)
				r->subs[METRICS_SUB_UNSUBSCRIBED] = count(PQgetvalue(res, i, 2));
			continue;
		}
		if (strcmp(scope, "all") == 0) {
			to = &r->all;
			have_all = 1;
		} else if (strcmp(scope, "configuration_set") == 0) {
			total = count(PQgetvalue(res, i, 7));
			/* A label value must be UTF-8 (a SQL_ASCII database may
			 * hold anything) and not cut: omitted, not mangled. */
			if (r->nsets == METRICS_RATE_SETS || strlen(name) > METRICS_RATE_NAME_MAX ||
			    !jsonin_utf8(name, strlen(name)))
				continue;
			to = &r->sets[r->nsets++];
			snprintf(to->name, sizeof(to->name), "%s", name);
		} else {
			continue;
		}
		to->delivered = count(PQgetvalue(res, i, 2));
		to->hard_bounces = count(PQgetvalue(res, i, 3));
		to->complaints = count(PQgetvalue(res, i, 4));
		to->bounce_pct = rate(res, i, 5);
		to->complaint_pct = rate(res, i, 6);
	}
	if (!have_all) {
		snprintf(why, whylen, "sending rates: no row for scope all");
		return -1;
	}
	r->omitted = total > r->nsets ? (uint32_t)(total - r->nsets) : 0;
	return 0;
}
