/* SPDX-License-Identifier: ISC */
/* ses-feedback - the PostgreSQL connection (libpq) under the store and the
 * command-line tools: a per-worker cached connection with prepared
 * statements, statements with a deadline, and errors sorted into "try
 * later" and "broken". Knows no table of ours but schema_migrations. */
#ifndef SF_DB_H
#define SF_DB_H

#include <stddef.h>
#include <stdio.h>

#include <libpq-fe.h>

struct db;

enum db_status {
	DB_OK,
	DB_UNAVAILABLE, /* try again later: nothing was stored */
	DB_FAILED       /* an error that retrying alone will not fix */
};

struct db_stmt {
	const char *name;    /* the prepared statement's name */
	const char *sql;     /* its text, with $1 for the one parameter if any */
	int         nparams; /* 0 or 1 */
};

/* A connection cache for stmts[0..n-1], which must outlive it. stmts[0]
 * is prepared before the schema version is read, so it must need no table;
 * the others are prepared once the database is at schema_wanted. NULL when
 * out of memory. Connects on first use, not here. */
struct db *db_new(const struct db_stmt *stmts, size_t n, int schema_wanted);
void       db_free(struct db *db);

/* on: named prepared statements and our session SET (the default); off:
 * each statement sent whole and no SET, for a transaction pooler. A change
 * reconnects. */
void db_set_prepare(struct db *db, int on);

/* No wait (connect, answer, a retry) lasts past ms milliseconds from now.
 * 0: none. */
void db_set_deadline(struct db *db, long ms);

/* Run the statement called name (one of the table's; any other name
 * aborts) with param (NULL: none) on the cached connection to dsn, made or
 * re-made first as needed, within the deadline. A connection lost
 * underneath or a prepared statement gone is retried once, so every
 * statement of the table must be safe to run twice. With DB_OK,
 * *res is the result, which the caller PQclear()s; otherwise *res is NULL
 * and why says what went wrong. */
enum db_status db_run(struct db *db, const char *dsn, const char *name, const char *param,
    PGresult **res, char *why, size_t whylen);

/* The SQLSTATE the last db_run failed with ("" when it did not fail, or
 * failed without one: no connection, no answer in time). */
const char *db_sqlstate(const struct db *db);

/* Open a connection to dsn, call fn(conn, arg, why, whylen) and close the
 * connection again, whatever fn returned. Closing rolls back a transaction
 * fn left open and releases its session locks: fn can just return -1 on
 * any failure. fn's result, or -1 with why when no connection was made. */
int db_with_conn(const char *dsn, int (*fn)(PGconn *c, void *arg, char *why, size_t whylen),
    void *arg, char *why, size_t whylen);

/* Run sql (one or more statements, no parameters) on c. 0, or -1 with
 * libpq's error in why. */
int db_exec(PGconn *c, const char *sql, char *why, size_t whylen);

/* Take r, a result of c (NULL too), and PQclear() it: 0 when its status
 * is want, else -1 with c's error in why. */
int db_expect(PGconn *c, PGresult *r, ExecStatusType want, char *why, size_t whylen);

/* Copy c's last error into why, on one line ("out of memory" when c is
 * NULL). */
void db_error(PGconn *c, char *why, size_t whylen);

/* Did r fail because our schema is not there yet (no table, no schema)? */
int db_no_schema(const PGresult *r);

/* The version of the schema on c (0: none yet), or -1 with why. */
int db_schema_version(PGconn *c, char *why, size_t whylen);

/* Write dsn to out (outlen bytes, NUL-terminated) as keyword=value pairs,
 * as libpq itself parses it (keyword/value strings and URIs alike), with
 * the password's value replaced by ***, so the DSN can be shown to an
 * operator. 0, or -1 when libpq cannot parse it or out is too small (out
 * then says so, and shows nothing of dsn). */
int db_dsn_masked(const char *dsn, char *out, size_t outlen);

/* For check-config: connect to dsn as the service would and write to out
 * which host of a multi-host DSN answered, whether it is the primary
 * (read-write) and whether commits wait for a synchronous standby, as
 * "ok   ", "FAIL " and "note " lines. Returns how many FAIL lines it wrote
 * (a standby answering means every notification would get 503); -1 with
 * why when it could not connect or ask. */
int db_describe(const char *dsn, FILE *out, char *why, size_t whylen);

#endif
