/* SPDX-License-Identifier: ISC */
/* ses-feedback - the PostgreSQL connection (libpq).
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
#include "deadline.h"
#include "log.h"
#include "metrics.h"
#include "db.h"

/* libpq and SET take the limits as strings. */
#define STR_(x)              #x
#define STR(x)               STR_(x)
#define DB_CONNECT_TIMEOUT   STR(LIM_DB_CONNECT_S)
#define DB_STATEMENT_TIMEOUT STR(LIM_DB_STATEMENT_MS) /* ms: no unit */
#define DB_ANSWER_TIMEOUT_MS LIM_DB_ANSWER_MS

struct db {
	const struct db_stmt *stmts;      /* borrowed: the caller's table */
	size_t                nstmts;     /* entries in stmts */
	int                   want;       /* schema version the statements need */
	int                   unprepared; /* 1: no named prepared statements, no session SET */
	PGconn               *conn;       /* owned; NULL when not connected */
	char                 *dsn;        /* owned; the DSN conn was made with */
	int                   version;    /* schema version seen on conn */
	struct timespec       deadline;   /* CLOCK_MONOTONIC; tv_sec 0: none */
	char                  state[6];   /* the last db_run's SQLSTATE; "" when none */
};

/* What became of a statement sent with a deadline. */
enum answer {
	ANSWER_GOT,  /* a result came: success or the server's error */
	ANSWER_LOST, /* not sent, or the connection went before any result */
	ANSWER_LATE  /* no result in time: the query was cancelled */
};

static PGconn *open_conn(const char *dsn, int session_set, char *why, size_t whylen);
static void    host_index(const char *dsn, PGconn *c, int *index, int *count);
static int     ask(PGconn *c, const char *sql, char *out, size_t outlen, char *why, size_t whylen);
static const struct db_stmt *stmt_find(const struct db *db, const char *name);
static void                  conn_drop(struct db *db);
static enum db_status        conn_ensure(struct db *db, const char *dsn, char *why, size_t whylen);
static enum db_status        conn_make(struct db *db, const char *dsn, char *why, size_t whylen);
static enum db_status        conn_schema(struct db *db, char *why, size_t whylen);
static enum db_status        error_class(PGconn *c, const char *state);
static int                   starts(const char *s, const char *prefix);
static int                   dsn_put(char *out, size_t outlen, size_t *at, const char *s, size_t n);

static enum answer exec_timed(
    struct db *db, const struct db_stmt *s, const char *param, PGresult **res);

struct db *
db_new(const struct db_stmt *stmts, size_t n, int schema_wanted)
{
	struct db *db = calloc(1, sizeof(*db));

	if (db == NULL)
		return NULL;
	db->stmts = stmts;
	db->nstmts = n;
	db->want = schema_wanted;
	return db;
}

void
db_free(struct db *db)
{
	if (db == NULL)
		return;
	conn_drop(db);
	free(db);
}

void
db_set_prepare(struct db *db, int on)
{
	if (db->unprepared == !on)
		return;
	conn_drop(db);
	db->unprepared = !on;
}

void
db_set_deadline(struct db *db, long ms)
{
	deadline_set(&db->deadline, ms);
}

/* A connection lost underneath (server restarted) or a prepared statement
 * gone is re-made and the statement run once more: safe, because every
 * statement of the table is idempotent (ingest on the MessageId). One that
 * timed out is not run again: a second wait would outlast the request. */
enum db_status
db_run(struct db *db, const char *dsn, const char *name, const char *param, PGresult **res,
    char *why, size_t whylen)
{
	const struct db_stmt *s = stmt_find(db, name);
	enum db_status        st;
	enum answer           got;
	const char           *field;
	char                 *state = db->state; /* outlives PQclear(r) */
	PGresult             *r;
	int                   attempt;

	*res = NULL;
	for (attempt = 0; attempt < 2; attempt++) {
		state[0] = '\0';
		/* A connect or a retry that could not finish before the
		 * request's deadline would only make SNS's answer late. */
		if ((db->conn == NULL || attempt > 0) &&
		    deadline_left_ms(&db->deadline, LIM_DB_CONNECT_S * 1000 + 1) <=
		        LIM_DB_CONNECT_S * 1000) {
			snprintf(why, whylen, "no time left for the database in this request");
			return DB_UNAVAILABLE;
		}
		st = conn_ensure(db, dsn, why, whylen);
		if (st != DB_OK)
			return st;
		r = NULL;
		got = exec_timed(db, s, param, &r);
		if (got == ANSWER_LATE) {
			snprintf(why, whylen,
			    "database did not answer in time (at most %d ms); connection "
			    "dropped",
			    DB_ANSWER_TIMEOUT_MS);
			conn_drop(db);
			return DB_UNAVAILABLE;
		}
		if (got == ANSWER_GOT &&
		    (PQresultStatus(r) == PGRES_TUPLES_OK ||
		        PQresultStatus(r) == PGRES_COMMAND_OK)) {
			*res = r;
			return DB_OK;
		}
		db_error(db->conn, why, whylen);
		metrics_add(METRICS_DB_ERRORS, 1);
		/* The field lives in r's memory: copy it before PQclear. */
		field = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		snprintf(state, sizeof(db->state), "%s", field != NULL ? field : "");
		PQclear(r);
		/* 26000: our prepared statement is gone (a pooler, DISCARD).
		 * 25006: the server turned read-only under us (a demoted
		 * primary): keeping the connection would fail every request
		 * until it closes, while a new one lets libpq find the
		 * read-write host of a multi-host DSN. Neither ran anything. */
		if (PQstatus(db->conn) != CONNECTION_OK || strcmp(state, "26000") == 0 ||
		    strcmp(state, "25006") == 0) {
			if (strcmp(state, "25006") == 0)
				log_warnx("the database is read-only (SQLSTATE 25006): a demoted "
				          "primary? connecting again");
			conn_drop(db);
			continue;
		}
		return error_class(db->conn, state);
	}
	return DB_UNAVAILABLE;
}

const char *
db_sqlstate(const struct db *db)
{
	return db->state;
}

int
db_with_conn(const char *dsn, int (*fn)(PGconn *c, void *arg, char *why, size_t whylen), void *arg,
    char *why, size_t whylen)
{
	PGconn *c;
	int     ret;

	c = open_conn(dsn, 1, why, whylen);
	if (c == NULL)
		return -1;
	ret = fn(c, arg, why, whylen);
	PQfinish(c);
	return ret;
}

int
db_exec(PGconn *c, const char *sql, char *why, size_t whylen)
{
	PGresult *r = PQexec(c, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;

	if (!ok)
		db_error(c, why, whylen);
	PQclear(r);
	return ok ? 0 : -1;
}

int
db_expect(PGconn *c, PGresult *r, ExecStatusType want, char *why, size_t whylen)
{
	int ret = 0;

	if (PQresultStatus(r) != want) {
		db_error(c, why, whylen);
		ret = -1;
	}
	PQclear(r);
	return ret;
}

void
db_error(PGconn *c, char *why, size_t whylen)
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

int
db_no_schema(const PGresult *r)
{
	const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);

	/* 42P01: undefined table; 3F000: undefined schema. */
	return state != NULL && (strcmp(state, "42P01") == 0 || strcmp(state, "3F000") == 0);
}

int
db_schema_version(PGconn *c, char *why, size_t whylen)
{
	PGresult *r;
	int       v = -1;

	r = PQexec(c, "SELECT coalesce(max(version), 0) FROM ses_feedback.schema_migrations");
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		v = atoi(PQgetvalue(r, 0, 0));
	else if (db_no_schema(r))
		v = 0;
	else
		db_error(c, why, whylen);
	PQclear(r);
	return v;
}

int
db_dsn_masked(const char *dsn, char *out, size_t outlen)
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
		if ((at > 0 && dsn_put(out, outlen, &at, " ", 1) == -1) ||
		    dsn_put(out, outlen, &at, o->keyword, strlen(o->keyword)) == -1 ||
		    dsn_put(out, outlen, &at, quote ? "='" : "=", quote ? 2 : 1) == -1)
			goto out;
		for (q = v; *q != '\0'; q++) {
			if ((*q == '\'' || *q == '\\') && dsn_put(out, outlen, &at, "\\", 1) == -1)
				goto out;
			if (dsn_put(out, outlen, &at, q, 1) == -1)
				goto out;
		}
		if (quote && dsn_put(out, outlen, &at, "'", 1) == -1)
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

/* Which of the DSN's hosts c reached, counting from 1, and how many
 * there are (a multi-host DSN: host=a,b). */
static void
host_index(const char *dsn, PGconn *c, int *index, int *count)
{
	PQconninfoOption *opts, *o;
	const char       *at = PQhost(c), *h = NULL, *e;
	size_t            n;

	*index = 0;
	*count = 1;
	opts = PQconninfoParse(dsn, NULL);
	for (o = opts; o != NULL && o->keyword != NULL; o++) {
		if (strcmp(o->keyword, "host") == 0 && o->val != NULL && o->val[0] != '\0')
			h = o->val;
	}
	for (*count = 0; h != NULL; h = *e == ',' ? e + 1 : NULL) {
		e = h + strcspn(h, ",");
		n = (size_t)(e - h);
		++*count;
		if (*index == 0 && at != NULL && strlen(at) == n && strncmp(h, at, n) == 0)
			*index = *count;
	}
	if (*count == 0)
		*count = 1;
	PQconninfoFree(opts);
}

/* One value of a one-row, one-column query, "" when there is none. */
static int
ask(PGconn *c, const char *sql, char *out, size_t outlen, char *why, size_t whylen)
{
	PGresult *r = PQexec(c, sql);

	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		db_error(c, why, whylen);
		PQclear(r);
		return -1;
	}
	snprintf(out, outlen, "%s", PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	return 0;
}

int
db_describe(const char *dsn, FILE *out, char *why, size_t whylen)
{
	PGconn *c;
	char    recovery[8], names[512], commit[32], standbys[1024];
	int     index, count, ret = -1;

	c = open_conn(dsn, 0, why, whylen);
	if (c == NULL)
		return -1;
	if (ask(c, "SELECT pg_is_in_recovery()", recovery, sizeof(recovery), why, whylen) == -1 ||
	    ask(c, "SELECT current_setting('synchronous_standby_names')", names, sizeof(names), why,
	        whylen) == -1 ||
	    ask(c, "SELECT current_setting('synchronous_commit')", commit, sizeof(commit), why,
	        whylen) == -1 ||
	    ask(c,
	        "SELECT string_agg(coalesce(nullif(application_name, ''), '?') || ' ' || "
	        "coalesce(sync_state, 'state hidden: needs pg_monitor'), ', ' ORDER BY 1) "
	        "FROM pg_stat_replication",
	        standbys, sizeof(standbys), why, whylen) == -1)
		goto out;
	host_index(dsn, c, &index, &count);
	ret = 0;
	if (strcmp(recovery, "t") == 0) {
		fprintf(out,
		    "FAIL database host %d of %d (%s) is a standby (read-only): every notification "
		    "would get 503; name the primary, or add target_session_attrs=read-write to a "
		    "multi-host SES_FEEDBACK_DSN\n",
		    index, count, PQhost(c));
		ret = 1;
		goto out;
	}
	fprintf(out, "ok   database host %d of %d (%s, port %s) is the primary (read-write)\n",
	    index, count, PQhost(c), PQport(c));
	if (names[0] == '\0' || strcmp(commit, "off") == 0 || strcmp(commit, "local") == 0)
		fprintf(out,
		    "note replication is not synchronous (synchronous_standby_names = '%s', "
		    "synchronous_commit = %s): a notification answered 200 may be lost with this "
		    "server's disk, although SNS was told it was stored\n",
		    names, commit);
	else
		fprintf(out,
		    "ok   replication is synchronous (synchronous_standby_names = '%s', "
		    "synchronous_commit = %s): a 200 survives this server's loss\n",
		    names, commit);
	fprintf(out, "note standbys streaming from it: %s\n", standbys[0] ? standbys : "none");
out:
	PQfinish(c);
	return ret;
}

/* The DSN's own settings win over our defaults: it is expanded last. */
static PGconn *
open_conn(const char *dsn, int session_set, char *why, size_t whylen)
{
	const char *keys[] = { "connect_timeout", "fallback_application_name", "dbname", NULL };
	const char *vals[] = { DB_CONNECT_TIMEOUT, "ses-feedback", dsn, NULL };
	PGconn     *c;
	PGresult   *r;

	c = PQconnectdbParams(keys, vals, 1);
	if (c == NULL || PQstatus(c) != CONNECTION_OK) {
		db_error(c, why, whylen);
		PQfinish(c);
		return NULL;
	}
	/* Behind a transaction pooler a session SET would reach other
	 * clients' transactions: set statement_timeout on the role there. */
	if (!session_set)
		return c;
	r = PQexec(c,
	    "SET statement_timeout = '" DB_STATEMENT_TIMEOUT "'; "
	    "SET client_min_messages = warning");
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		db_error(c, why, whylen);
		PQclear(r);
		PQfinish(c);
		return NULL;
	}
	PQclear(r);
	return c;
}

/* A name not in the table is a bug in the caller, not a database error:
 * running something else in its place would hide it. */
static const struct db_stmt *
stmt_find(const struct db *db, const char *name)
{
	size_t i;

	for (i = 0; i < db->nstmts; i++) {
		if (strcmp(db->stmts[i].name, name) == 0)
			return &db->stmts[i];
	}
	fprintf(stderr, "ses-feedback: no SQL statement called %s\n", name);
	abort();
}

static void
conn_drop(struct db *db)
{
	PQfinish(db->conn);
	db->conn = NULL;
	free(db->dsn);
	db->dsn = NULL;
	db->version = 0;
}

/* Connect when there is no usable connection to dsn, then make sure the
 * schema is at db->want and the statements that need it are prepared. */
static enum db_status
conn_ensure(struct db *db, const char *dsn, char *why, size_t whylen)
{
	enum db_status s;

	if (db->conn != NULL && (strcmp(db->dsn, dsn) != 0 || PQstatus(db->conn) != CONNECTION_OK))
		conn_drop(db);
	if (db->conn == NULL) {
		s = conn_make(db, dsn, why, whylen);
		if (s != DB_OK)
			return s;
	}
	if (db->version < db->want)
		return conn_schema(db, why, whylen);
	return DB_OK;
}

/* Connect to dsn and see that the server answers: with prepared
 * statements, by preparing the first one, which needs no schema. */
static enum db_status
conn_make(struct db *db, const char *dsn, char *why, size_t whylen)
{
	const struct db_stmt *s = &db->stmts[0];
	PGresult             *r;

	db->conn = open_conn(dsn, !db->unprepared, why, whylen);
	if (db->conn == NULL) {
		metrics_add(METRICS_DB_ERRORS, 1);
		return DB_UNAVAILABLE;
	}
	metrics_add(METRICS_DB_CONNECTS, 1);
	db->dsn = strdup(dsn);
	if (db->dsn == NULL) {
		conn_drop(db);
		snprintf(why, whylen, "out of memory");
		return DB_FAILED;
	}
	db->version = 0;
	if (db->unprepared)
		r = PQexec(db->conn, "SELECT 1");
	else
		r = PQprepare(db->conn, s->name, s->sql, s->nparams, NULL);
	if (db_expect(db->conn, r, db->unprepared ? PGRES_TUPLES_OK : PGRES_COMMAND_OK, why,
	        whylen) == -1) {
		conn_drop(db);
		return DB_UNAVAILABLE;
	}
	return DB_OK;
}

/* Read the schema version on the connection; once it is db->want, prepare
 * the statements that need the schema. Below it, the connection is kept
 * and the version read again next time: a migrate may be under way. */
static enum db_status
conn_schema(struct db *db, char *why, size_t whylen)
{
	const struct db_stmt *s;
	size_t                i;

	db->version = db_schema_version(db->conn, why, whylen);
	if (db->version < 0) {
		conn_drop(db);
		return DB_UNAVAILABLE;
	}
	if (db->version < db->want) {
		snprintf(why, whylen,
		    "database schema is version %d, this program needs %d: "
		    "run `ses-feedback migrate`",
		    db->version, db->want);
		return DB_UNAVAILABLE;
	}
	for (i = 1; i < db->nstmts && !db->unprepared; i++) {
		s = &db->stmts[i];
		if (db_expect(db->conn, PQprepare(db->conn, s->name, s->sql, s->nparams, NULL),
		        PGRES_COMMAND_OK, why, whylen) == -1) {
			conn_drop(db);
			return DB_UNAVAILABLE;
		}
	}
	return DB_OK;
}

/* Send the statement and wait for its one result at most
 * DB_ANSWER_TIMEOUT_MS, cut to the request's deadline. *res is set only
 * with ANSWER_GOT; with ANSWER_LATE the query has been cancelled and the
 * caller drops the connection. */
static enum answer
exec_timed(struct db *db, const struct db_stmt *s, const char *param, PGresult **res)
{
	struct timespec t0, t1;
	struct pollfd   p;
	PGresult       *r, *last = NULL;
	PGcancel       *cancel;
	char            err[256];
	int             ok, left, wait = (int)deadline_left_ms(&db->deadline, DB_ANSWER_TIMEOUT_MS);

	*res = NULL;
	if (db->unprepared)
		ok = PQsendQueryParams(
		    db->conn, s->sql, param != NULL ? 1 : 0, NULL, &param, NULL, NULL, 0);
	else
		ok = PQsendQueryPrepared(
		    db->conn, s->name, param != NULL ? 1 : 0, &param, NULL, NULL, 0);
	if (!ok)
		return ANSWER_LOST;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* Wait first, read after: the answer is never there the moment the
	 * statement has left (a read then is one failed recvfrom more). */
	for (;;) {
		if (!PQisBusy(db->conn))
			break;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		left = wait -
		    (int)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0) {
			cancel = PQgetCancel(db->conn);
			if (cancel != NULL) {
				PQcancel(cancel, err, sizeof(err));
				PQfreeCancel(cancel);
			}
			return ANSWER_LATE;
		}
		p.fd = PQsocket(db->conn);
		p.events = POLLIN;
		if (poll(&p, 1, left) == -1 && errno != EINTR)
			break;
		if (PQconsumeInput(db->conn) == 0)
			break; /* connection lost: PQgetResult reports it */
	}
	while ((r = PQgetResult(db->conn)) != NULL) {
		PQclear(last);
		last = r;
	}
	if (last == NULL)
		return ANSWER_LOST;
	*res = last;
	return ANSWER_GOT;
}

/* state: the failed statement's SQLSTATE, "" when there is none. */
static enum db_status
error_class(PGconn *c, const char *state)
{
	if (PQstatus(c) != CONNECTION_OK || *state == '\0')
		return DB_UNAVAILABLE;
	if (starts(state, "08") || starts(state, "53") || starts(state, "57P") ||
	    strcmp(state, "57014") == 0 || strcmp(state, "25006") == 0 ||
	    strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
	    strcmp(state, "55P03") == 0 || strcmp(state, "55006") == 0)
		return DB_UNAVAILABLE;
	return DB_FAILED;
}

static int
starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Append to out at *at; -1 once it does not fit. */
static int
dsn_put(char *out, size_t outlen, size_t *at, const char *s, size_t n)
{
	if (*at + n >= outlen)
		return -1;
	memcpy(out + *at, s, n);
	*at += n;
	out[*at] = '\0';
	return 0;
}
