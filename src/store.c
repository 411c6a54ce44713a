/* SPDX-License-Identifier: ISC */
/* ses-feedback - PostgreSQL (libpq).
 * Errors are sorted into "try later" (connection lost, server starting or
 * stopping, read-only, serialization, timeouts) and "broken" (anything
 * else); the first becomes 503 so SNS retries, nothing is lost. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "bounds.h"
#include "log.h"
#include "metrics.h"
#include "addr.h"
#include "deadline.h"
#include "store.h"

/* libpq and SET take the limits as strings. */
#define STR_(x)                 #x
#define STR(x)                  STR_(x)
#define STORE_CONNECT_TIMEOUT   STR(LIM_DB_CONNECT_S)
#define STORE_STATEMENT_TIMEOUT STR(LIM_DB_STATEMENT_MS) /* ms: no unit */
#define STORE_ANSWER_TIMEOUT_MS LIM_DB_ANSWER_MS

struct store {
	int             unprepared; /* 1: no named prepared statements, no session SET */
	PGconn         *conn;       /* owned; NULL when not connected */
	char           *dsn;        /* owned; the DSN conn was made with */
	int             version;    /* schema version seen on conn */
	struct timespec deadline;   /* CLOCK_MONOTONIC; tv_sec 0: none */
};

struct stmt {
	const char *name;
	const char *sql;
	int         nparams;
};

static const struct stmt stmts[] = {
	{ "sf_ping", "SELECT 1", 0 },
	{ "sf_seen", "SELECT 1 FROM ses_feedback.notifications WHERE sns_message_id = $1", 1 },
	{ "sf_ingest", "SELECT result, suppressed FROM ses_feedback.ingest($1::jsonb)", 1 },
};

static PGconn           *open_conn(const char *dsn, int session_set, char *why, size_t whylen);
static const char       *stmt_sql(const char *name);
static PGresult         *exec_timed(struct store *st, const char *name, const char *param);
static int               read_version(PGconn *c, char *why, size_t whylen);
static enum store_status ensure(struct store *st, const char *dsn, char *why, size_t whylen);
static enum store_status classify(PGconn *c, PGresult *r);
static void              drop(struct store *st);
static enum store_status run(struct store *st, const char *dsn, const char *name, const char *param,
    PGresult **res, char *why, size_t whylen);

static const char *
stmt_sql(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(stmts) / sizeof(stmts[0]); i++) {
		if (strcmp(stmts[i].name, name) == 0)
			return stmts[i].sql;
	}
	return "SELECT 1";
}

void
store_set_prepare(struct store *st, int on)
{
	if (st->unprepared == !on)
		return;
	drop(st);
	st->unprepared = !on;
}

int
store_schema_wanted(void)
{
	int i, v = 0;

	for (i = 0; store_migrations[i].name != NULL; i++) {
		if (store_migrations[i].version > v)
			v = store_migrations[i].version;
	}
	return v;
}

struct store *
store_new(void)
{
	return calloc(1, sizeof(struct store));
}

void
store_free(struct store *st)
{
	if (st == NULL)
		return;
	drop(st);
	free(st);
}

static void
drop(struct store *st)
{
	PQfinish(st->conn);
	st->conn = NULL;
	free(st->dsn);
	st->dsn = NULL;
	st->version = 0;
}

static void
conn_error(PGconn *c, char *why, size_t whylen)
{
	const char *m = c != NULL ? PQerrorMessage(c) : "out of memory";
	size_t      n;

	snprintf(why, whylen, "%s", m);
	n = strlen(why);
	while (n > 0 && (why[n - 1] == '\n' || why[n - 1] == ' '))
		why[--n] = '\0';
	for (; n > 0; n--) {
		if (why[n - 1] == '\n')
			why[n - 1] = ' ';
	}
}

/* The DSN's own settings win over our defaults: it is expanded last. */
static PGconn *
open_conn(const char *dsn, int session_set, char *why, size_t whylen)
{
	const char *keys[] = { "connect_timeout", "fallback_application_name", "dbname", NULL };
	const char *vals[] = { STORE_CONNECT_TIMEOUT, "ses-feedback", dsn, NULL };
	PGconn     *c;
	PGresult   *r;

	c = PQconnectdbParams(keys, vals, 1);
	if (c == NULL || PQstatus(c) != CONNECTION_OK) {
		conn_error(c, why, whylen);
		PQfinish(c);
		return NULL;
	}
	/* Behind a transaction pooler a session SET would reach other
	 * clients' transactions: set statement_timeout on the role there. */
	if (!session_set)
		return c;
	r = PQexec(c,
	    "SET statement_timeout = '" STORE_STATEMENT_TIMEOUT "'; "
	    "SET client_min_messages = warning");
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		conn_error(c, why, whylen);
		PQclear(r);
		PQfinish(c);
		return NULL;
	}
	PQclear(r);
	return c;
}

static int
read_version(PGconn *c, char *why, size_t whylen)
{
	PGresult   *r;
	const char *state;
	int         v = -1;

	r = PQexec(c, "SELECT coalesce(max(version), 0) FROM ses_feedback.schema_migrations");
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
		v = atoi(PQgetvalue(r, 0, 0));
	} else {
		state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		if (state != NULL && (strcmp(state, "42P01") == 0 || strcmp(state, "3F000") == 0))
			v = 0; /* no schema yet */
		else
			conn_error(c, why, whylen);
	}
	PQclear(r);
	return v;
}

static enum store_status
ensure(struct store *st, const char *dsn, char *why, size_t whylen)
{
	PGresult *r;
	size_t    i;
	int       want = store_schema_wanted();

	if (st->conn != NULL && (strcmp(st->dsn, dsn) != 0 || PQstatus(st->conn) != CONNECTION_OK))
		drop(st);
	if (st->conn == NULL) {
		st->conn = open_conn(dsn, !st->unprepared, why, whylen);
		if (st->conn == NULL) {
			metrics_add(M_DB_ERRORS, 1);
			return STORE_UNAVAILABLE;
		}
		metrics_add(M_DB_CONNECTS, 1);
		st->dsn = strdup(dsn);
		if (st->dsn == NULL) {
			drop(st);
			snprintf(why, whylen, "out of memory");
			return STORE_FAILED;
		}
		st->version = 0;
		if (st->unprepared)
			r = PQexec(st->conn, "SELECT 1");
		else
			r = PQprepare(
			    st->conn, stmts[0].name, stmts[0].sql, stmts[0].nparams, NULL);
		if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
			conn_error(st->conn, why, whylen);
			PQclear(r);
			drop(st);
			return STORE_UNAVAILABLE;
		}
		PQclear(r);
	}
	if (st->version < want) {
		st->version = read_version(st->conn, why, whylen);
		if (st->version < 0) {
			drop(st);
			return STORE_UNAVAILABLE;
		}
		if (st->version < want) {
			snprintf(why, whylen,
			    "database schema is version %d, this program needs %d: "
			    "run `ses-feedback migrate`",
			    st->version, want);
			return STORE_UNAVAILABLE;
		}
		/* The statements that need the schema. */
		for (i = 1; i < sizeof(stmts) / sizeof(stmts[0]) && !st->unprepared; i++) {
			r = PQprepare(
			    st->conn, stmts[i].name, stmts[i].sql, stmts[i].nparams, NULL);
			if (PQresultStatus(r) != PGRES_COMMAND_OK) {
				conn_error(st->conn, why, whylen);
				PQclear(r);
				drop(st);
				return STORE_UNAVAILABLE;
			}
			PQclear(r);
		}
	}
	return STORE_OK;
}

static int
starts(const char *s, const char *prefix)
{
	return s != NULL && strncmp(s, prefix, strlen(prefix)) == 0;
}

static enum store_status
classify(PGconn *c, PGresult *r)
{
	const char *s = PQresultErrorField(r, PG_DIAG_SQLSTATE);

	if (PQstatus(c) != CONNECTION_OK || s == NULL)
		return STORE_UNAVAILABLE;
	if (starts(s, "08") || starts(s, "53") || starts(s, "57P") || strcmp(s, "57014") == 0 ||
	    strcmp(s, "25006") == 0 || strcmp(s, "40001") == 0 || strcmp(s, "40P01") == 0 ||
	    strcmp(s, "55P03") == 0 || strcmp(s, "55006") == 0)
		return STORE_UNAVAILABLE;
	return STORE_FAILED;
}

/* Execute a prepared statement. A connection lost underneath (server
 * restarted) is re-made and the statement run once more: safe, because
 * ingest is idempotent on the MessageId. */
/* Send the statement and wait for its one result at most
 * STORE_ANSWER_TIMEOUT_MS. NULL on timeout (the query is cancelled) or when
 * it could not be sent; the caller drops the connection then. */
static PGresult *
exec_timed(struct store *st, const char *name, const char *param)
{
	struct timespec t0, t1;
	struct pollfd   p;
	PGresult       *r, *last = NULL;
	PGcancel       *cancel;
	char            err[256];
	int ok, left, wait = (int)deadline_left_ms(&st->deadline, STORE_ANSWER_TIMEOUT_MS);

	if (st->unprepared)
		ok = PQsendQueryParams(
		    st->conn, stmt_sql(name), param != NULL ? 1 : 0, NULL, &param, NULL, NULL, 0);
	else
		ok = PQsendQueryPrepared(
		    st->conn, name, param != NULL ? 1 : 0, &param, NULL, NULL, 0);
	if (!ok)
		return PQmakeEmptyPGresult(st->conn, PGRES_FATAL_ERROR);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (PQconsumeInput(st->conn) == 0)
			break; /* connection lost: PQgetResult reports it */
		if (!PQisBusy(st->conn))
			break;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		left = wait -
		    (int)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0) {
			cancel = PQgetCancel(st->conn);
			if (cancel != NULL) {
				PQcancel(cancel, err, sizeof(err));
				PQfreeCancel(cancel);
			}
			return NULL;
		}
		p.fd = PQsocket(st->conn);
		p.events = POLLIN;
		if (poll(&p, 1, left) == -1 && errno != EINTR)
			break;
	}
	while ((r = PQgetResult(st->conn)) != NULL) {
		PQclear(last);
		last = r;
	}
	return last != NULL ? last : PQmakeEmptyPGresult(st->conn, PGRES_FATAL_ERROR);
}

void
store_set_deadline(struct store *st, long ms)
{
	deadline_set(&st->deadline, ms);
}

static enum store_status
run(struct store *st, const char *dsn, const char *name, const char *param, PGresult **res,
    char *why, size_t whylen)
{
	enum store_status s;
	const char       *field;
	char              state[6]; /* SQLSTATE; outlives PQclear(r) */
	PGresult         *r = NULL;
	int               attempt;

	*res = NULL;
	for (attempt = 0; attempt < 2; attempt++) {
		/* A connect or a retry that could not finish before the
		 * request's deadline would only make SNS's answer late. */
		if ((st->conn == NULL || attempt > 0) &&
		    deadline_left_ms(&st->deadline, LIM_DB_CONNECT_S * 1000 + 1) <=
		        LIM_DB_CONNECT_S * 1000) {
			snprintf(why, whylen, "no time left for the database in this request");
			return STORE_UNAVAILABLE;
		}
		s = ensure(st, dsn, why, whylen);
		if (s != STORE_OK)
			return s;
		r = exec_timed(st, name, param);
		if (r == NULL) {
			snprintf(why, whylen,
			    "database did not answer in time (at most %d ms); connection "
			    "dropped",
			    STORE_ANSWER_TIMEOUT_MS);
			drop(st);
			return STORE_UNAVAILABLE;
		}
		if (PQresultStatus(r) == PGRES_TUPLES_OK || PQresultStatus(r) == PGRES_COMMAND_OK) {
			*res = r;
			return STORE_OK;
		}
		conn_error(st->conn, why, whylen);
		metrics_add(M_DB_ERRORS, 1);
		/* The field lives in r's memory: copy it before PQclear. */
		field = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		snprintf(state, sizeof(state), "%s", field != NULL ? field : "");
		s = classify(st->conn, r);
		PQclear(r);
		r = NULL;
		/* 26000: our prepared statement is gone (a pooler, DISCARD). */
		if (PQstatus(st->conn) != CONNECTION_OK || strcmp(state, "26000") == 0) {
			drop(st);
			continue;
		}
		return s;
	}
	return STORE_UNAVAILABLE;
}

enum store_status
store_ping(struct store *st, const char *dsn, char *why, size_t whylen)
{
	PGresult         *r;
	enum store_status s;

	s = run(st, dsn, "sf_ping", NULL, &r, why, whylen);
	PQclear(r);
	return s;
}

enum store_status
store_seen(
    struct store *st, const char *dsn, const char *message_id, int *seen, char *why, size_t whylen)
{
	PGresult         *r;
	enum store_status s;

	*seen = 0;
	s = run(st, dsn, "sf_seen", message_id, &r, why, whylen);
	if (s == STORE_OK)
		*seen = PQntuples(r) > 0;
	PQclear(r);
	return s;
}

enum store_status
store_ingest(struct store *st, const char *dsn, const char *json, int *duplicate, int *suppressed,
    char *why, size_t whylen)
{
	PGresult         *r;
	enum store_status s;

	*duplicate = 0;
	*suppressed = 0;
	s = run(st, dsn, "sf_ingest", json, &r, why, whylen);
	if (s == STORE_OK) {
		if (PQntuples(r) != 1) {
			snprintf(why, whylen, "ses_feedback.ingest() returned no row");
			s = STORE_FAILED;
		} else {
			*duplicate = strcmp(PQgetvalue(r, 0, 0), "duplicate") == 0;
			*suppressed = atoi(PQgetvalue(r, 0, 1));
		}
	}
	PQclear(r);
	return s;
}

/* Append to out at *at; -1 once it does not fit. */
static int
put(char *out, size_t outlen, size_t *at, const char *s, size_t n)
{
	if (*at + n >= outlen)
		return -1;
	memcpy(out + *at, s, n);
	*at += n;
	out[*at] = '\0';
	return 0;
}

int
store_dsn_masked(const char *dsn, char *out, size_t outlen)
{
	PQconninfoOption *opts, *o;
	const char       *v, *q;
	char             *err = NULL;
	size_t            at = 0;
	int               quote, ret = -1;

	if (outlen == 0)
		return -1;
	out[0] = '\0';
	/* libpq's own parser: a hand-made one misses quoting, URIs and
	 * "password" inside another value, and then prints the secret. libpq's
	 * error text may quote the DSN, so it is not shown either. */
	opts = PQconninfoParse(dsn, &err);
	if (opts == NULL)
		goto out;
	for (o = opts; o->keyword != NULL; o++) {
		if (o->val == NULL)
			continue;
		v = strcmp(o->keyword, "password") == 0 ? "***" : o->val;
		quote = *v == '\0' || strpbrk(v, " \t\n\r'\\") != NULL;
		if ((at > 0 && put(out, outlen, &at, " ", 1) == -1) ||
		    put(out, outlen, &at, o->keyword, strlen(o->keyword)) == -1 ||
		    put(out, outlen, &at, quote ? "='" : "=", quote ? 2 : 1) == -1)
			goto out;
		for (q = v; *q != '\0'; q++) {
			if ((*q == '\'' || *q == '\\') && put(out, outlen, &at, "\\", 1) == -1)
				goto out;
			if (put(out, outlen, &at, q, 1) == -1)
				goto out;
		}
		if (quote && put(out, outlen, &at, "'", 1) == -1)
			goto out;
	}
	ret = 0;
out:
	if (ret == -1)
		snprintf(out, outlen, "%s",
		    opts == NULL ? "(not a libpq connection string; not shown)"
		                 : "(too long to show)");
	PQconninfoFree(opts);
	PQfreemem(err);
	return ret;
}

static int
exec_ok(PGconn *c, const char *sql, char *why, size_t whylen)
{
	PGresult *r = PQexec(c, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;

	if (!ok)
		conn_error(c, why, whylen);
	PQclear(r);
	return ok ? 0 : -1;
}

/* exec_ok() for a file of sql/, whose name the error carries. */
static int
exec_file(PGconn *c, const char *name, const char *sql, char *why, size_t whylen)
{
	char inner[512];

	if (exec_ok(c, sql, inner, sizeof(inner)) == -1) {
		snprintf(why, whylen, "%s failed: %s", name, inner);
		return -1;
	}
	return 0;
}

static const struct store_migration *
find_migration(int version)
{
	const struct store_migration *m;

	for (m = store_migrations; m->name != NULL; m++) {
		if (m->version == version)
			return m;
	}
	return NULL;
}

/* Every migration the database says it has must be this program's, byte
 * for byte: an edited file would leave databases migrated before and after
 * the edit with different schemas under one version number. */
static int
check_applied(PGconn *c, char *why, size_t whylen)
{
	const struct store_migration *m;
	PGresult                     *r;
	const char                   *state, *name, *sum;
	int                           i, ret = -1;

	r = PQexec(c,
	    "SELECT version, name, checksum FROM ses_feedback.schema_migrations"
	    " ORDER BY version");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		if (state != NULL && (strcmp(state, "42P01") == 0 || strcmp(state, "3F000") == 0))
			ret = 0; /* no schema yet: nothing applied */
		else if (state != NULL && strcmp(state, "42703") == 0)
			snprintf(why, whylen,
			    "schema_migrations has no checksums: the schema predates the 0.1.0 "
			    "baseline; migrate a new database");
		else
			conn_error(c, why, whylen);
		goto out;
	}
	for (i = 0; i < PQntuples(r); i++) {
		name = PQgetvalue(r, i, 1);
		sum = PQgetvalue(r, i, 2);
		m = find_migration(atoi(PQgetvalue(r, i, 0)));
		if (m == NULL) {
			snprintf(why, whylen,
			    "the database has migration %s, which this program does not know "
			    "(a newer ses-feedback migrated it?)",
			    name);
			goto out;
		}
		if (strcmp(m->name, name) != 0 || strcmp(m->checksum, sum) != 0) {
			snprintf(why, whylen,
			    "migration %s differs from the one applied to the database as %s "
			    "(sha256 %.12s..., here %.12s...): an applied migration is never "
			    "edited; restore it and put the change in a new one",
			    m->name, name, sum, m->checksum);
			goto out;
		}
	}
	ret = 0;
out:
	PQclear(r);
	return ret;
}

int
store_schema_version(const char *dsn, char *why, size_t whylen)
{
	PGconn *c;
	int     v = -1;

	c = open_conn(dsn, 1, why, whylen);
	if (c == NULL)
		return -1;
	if (check_applied(c, why, whylen) == -1)
		goto out;
	v = read_version(c, why, whylen);
out:
	PQfinish(c);
	return v;
}

int
store_migrate(const char *dsn, int roles, FILE *out, char *why, size_t whylen)
{
	const struct store_migration *m;
	PGconn                       *c;
	PGresult                     *r = NULL;
	char                          ver[16];
	const char                   *params[3];
	int                           have, applied = 0, ret = -1;

	c = open_conn(dsn, 1, why, whylen);
	if (c == NULL)
		return -1;
	/* Two migrates at once (two hosts deploying) take turns. All of it is
	 * one transaction: a failure anywhere leaves the database as it was,
	 * never with a migration applied but the functions of an older one. */
	if (exec_ok(c, "SELECT pg_advisory_lock(hashtext('ses_feedback.migrate'))", why, whylen) ==
	        -1 ||
	    exec_ok(c, "BEGIN", why, whylen) == -1 ||
	    exec_file(c, "bootstrap.sql", store_sql_bootstrap, why, whylen) == -1 ||
	    check_applied(c, why, whylen) == -1)
		goto out;
	have = read_version(c, why, whylen);
	if (have < 0)
		goto out;
	/* Functions first: the migrations' CHECKs and triggers call them. */
	if (exec_file(c, "functions.sql", store_sql_functions, why, whylen) == -1)
		goto out;
	for (m = store_migrations; m->name != NULL; m++) {
		if (m->version <= have)
			continue;
		if (exec_file(c, m->name, m->sql, why, whylen) == -1)
			goto out;
		snprintf(ver, sizeof(ver), "%d", m->version);
		params[0] = ver;
		params[1] = m->name;
		params[2] = m->checksum;
		r = PQexecParams(c,
		    "INSERT INTO ses_feedback.schema_migrations (version, name, checksum)"
		    " VALUES ($1, $2, $3)",
		    3, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			conn_error(c, why, whylen);
			goto out;
		}
		PQclear(r);
		r = NULL;
		fprintf(out, "applied %s\n", m->name);
		applied++;
	}
	if (exec_file(c, "views.sql", store_sql_views, why, whylen) == -1 ||
	    (roles && exec_file(c, "roles.sql", store_sql_roles, why, whylen) == -1) ||
	    exec_ok(c, "COMMIT", why, whylen) == -1)
		goto out;
	have = read_version(c, why, whylen);
	fprintf(out, "applied functions and views%s\n", roles ? " and roles" : "");
	fprintf(out, "schema ses_feedback is at version %d (%d migration%s applied)\n", have,
	    applied, applied == 1 ? "" : "s");
	ret = 0;
out:
	PQclear(r);
	/* Closing rolls back an unfinished transaction and releases the lock:
	 * the one way out of every failure above. */
	PQfinish(c);
	return ret;
}

int
store_export(const char *dsn, int all, FILE *out, char *why, size_t whylen)
{
	PGconn   *c;
	PGresult *r = NULL;
	char     *row = NULL;
	int       n, ret = -1;

	c = open_conn(dsn, 1, why, whylen);
	if (c == NULL)
		return -1;
	/* COPY streams: no result set is held in memory. */
	r = PQexec(c,
	    all ? "COPY (SELECT email, CASE reason WHEN 'complaint' THEN 'COMPLAINT' "
	          "ELSE 'BOUNCE' END FROM ses_feedback.active_suppressions ORDER BY email) "
	          "TO STDOUT WITH (FORMAT csv)"
	        : "COPY (SELECT email, CASE reason WHEN 'complaint' THEN 'COMPLAINT' "
	          "ELSE 'BOUNCE' END FROM ses_feedback.active_suppressions "
	          "WHERE reason IN ('hard_bounce', 'soft_bounce', 'complaint') ORDER BY email) "
	          "TO STDOUT WITH (FORMAT csv)");
	if (PQresultStatus(r) != PGRES_COPY_OUT) {
		conn_error(c, why, whylen);
		goto out;
	}
	fputs("emailAddress,reason\n", out);
	while ((n = PQgetCopyData(c, &row, 0)) > 0) {
		fwrite(row, 1, (size_t)n, out);
		PQfreemem(row);
		row = NULL;
	}
	PQclear(r);
	r = PQgetResult(c);
	if (n == -2 || PQresultStatus(r) != PGRES_COMMAND_OK) {
		conn_error(c, why, whylen);
		goto out;
	}
	if (fflush(out) == EOF || ferror(out)) {
		snprintf(why, whylen, "write error");
		goto out;
	}
	ret = 0;
out:
	PQclear(r);
	PQfinish(c);
	return ret;
}

/* Split one CSV line of two fields, with optional "quoting". 0 or -1. */
static int
csv_two(char *line, char **a, char **b)
{
	char *f[2], *p = line, *w;
	int   i;

	for (i = 0; i < 2; i++) {
		while (*p == ' ' || *p == '\t')
			p++;
		f[i] = w = p;
		if (*p == '"') {
			f[i] = w = ++p;
			for (;;) {
				if (*p == '\0')
					return -1;
				if (*p == '"' && p[1] == '"') {
					*w++ = '"';
					p += 2;
				} else if (*p == '"') {
					p++;
					break;
				} else {
					*w++ = *p++;
				}
			}
			while (*p == ' ' || *p == '\t')
				p++;
		} else {
			while (*p != '\0' && *p != ',')
				*w++ = *p++;
			while (w > f[i] && (w[-1] == ' ' || w[-1] == '\t'))
				w--;
		}
		if (i == 0) {
			if (*p != ',')
				return -1;
			*w = '\0';
			p++;
		} else {
			if (*p != '\0')
				return -1;
			*w = '\0';
		}
	}
	*a = f[0];
	*b = f[1];
	return 0;
}

int
store_import(const char *dsn, FILE *in, const char *note, FILE *err,
    struct store_import_result *res, char *why, size_t whylen)
{
	PGconn       *c;
	PGresult     *r = NULL;
	char          line[1100], norm[ADDR_MAX + 1], copy[2 * ADDR_MAX + 32];
	char         *email, *reason;
	const char   *params[1];
	unsigned long lineno = 0;
	size_t        n, k;
	int           header = 0, ret = -1, i;

	memset(res, 0, sizeof(*res));
	c = open_conn(dsn, 1, why, whylen);
	if (c == NULL)
		return -1;
	if (exec_ok(c, "BEGIN", why, whylen) == -1 ||
	    exec_ok(c,
	        "CREATE TEMP TABLE ses_feedback_import (email text, reason text) "
	        "ON COMMIT DROP",
	        why, whylen) == -1)
		goto out;
	r = PQexec(c, "COPY pg_temp.ses_feedback_import FROM STDIN");
	if (PQresultStatus(r) != PGRES_COPY_IN) {
		conn_error(c, why, whylen);
		goto out;
	}
	PQclear(r);
	r = NULL;
	while (fgets(line, sizeof(line), in) != NULL) {
		lineno++;
		n = strlen(line);
		if (n == sizeof(line) - 1 && line[n - 1] != '\n') {
			int ch;

			while ((ch = fgetc(in)) != EOF && ch != '\n')
				;
			fprintf(err, "line %lu: longer than %zu bytes\n", lineno, sizeof(line) - 2);
			res->rejected++;
			continue;
		}
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0)
			continue;
		if (!header) {
			header = 1;
			if (lineno == 1 && n >= 3 && (unsigned char)line[0] == 0xef)
				memmove(line, line + 3, n - 2); /* UTF-8 BOM */
			if (csv_two(line, &email, &reason) == 0 &&
			    strcmp(email, "emailAddress") == 0 && strcmp(reason, "reason") == 0)
				continue;
			fprintf(err, "line %lu: want the header emailAddress,reason\n", lineno);
			res->rejected++;
			continue;
		}
		res->lines++;
		if (csv_two(line, &email, &reason) == -1) {
			fprintf(err, "line %lu: want two fields, emailAddress,reason\n", lineno);
			res->rejected++;
			continue;
		}
		for (i = 0; reason[i] != '\0'; i++)
			reason[i] = (char)(reason[i] >= 'a' && reason[i] <= 'z' ? reason[i] - 32
			                                                        : reason[i]);
		if (strcmp(reason, "BOUNCE") != 0 && strcmp(reason, "COMPLAINT") != 0) {
			fprintf(err, "line %lu: reason must be BOUNCE or COMPLAINT\n", lineno);
			res->rejected++;
			continue;
		}
		/* The same definition as ingest() and suppress() (addr.h). */
		if (addr_normalize(email, norm, sizeof(norm)) == -1) {
			fprintf(err, "line %lu: not an email address\n", lineno);
			res->rejected++;
			continue;
		}
		/* COPY's text format: a quoted local part may hold a backslash
		 * (never a tab or newline: addr_normalize refuses those). */
		for (n = 0, k = 0; norm[k] != '\0'; k++) {
			if (norm[k] == '\\')
				copy[n++] = '\\';
			copy[n++] = norm[k];
		}
		n += (size_t)snprintf(copy + n, sizeof(copy) - n, "\t%s\n", reason);
		if (PQputCopyData(c, copy, (int)n) != 1) {
			conn_error(c, why, whylen);
			goto out;
		}
	}
	if (ferror(in)) {
		snprintf(why, whylen, "read error");
		PQputCopyEnd(c, "read error");
		goto out;
	}
	if (!header)
		fprintf(err, "empty input: want the header emailAddress,reason\n");
	if (PQputCopyEnd(c, NULL) != 1) {
		conn_error(c, why, whylen);
		goto out;
	}
	r = PQgetResult(c);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		conn_error(c, why, whylen);
		goto out;
	}
	PQclear(r);
	params[0] = note;
	r = PQexecParams(c, "SELECT added, already FROM ses_feedback.import_suppressions($1)", 1,
	    NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		conn_error(c, why, whylen);
		goto out;
	}
	res->added = strtoul(PQgetvalue(r, 0, 0), NULL, 10);
	res->already = strtoul(PQgetvalue(r, 0, 1), NULL, 10);
	if (exec_ok(c, "COMMIT", why, whylen) == -1)
		goto out;
	ret = 0;
out:
	PQclear(r);
	PQfinish(c);
	return ret;
}
