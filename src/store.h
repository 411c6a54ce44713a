/* SPDX-License-Identifier: ISC */
/* ses-feedback - PostgreSQL (libpq).
 * One connection per worker, made on first use and again after failure,
 * with prepared statements. A notification is stored by one call of
 * ses_feedback.ingest(jsonb): one round trip, one transaction. */
#ifndef SF_STORE_H
#define SF_STORE_H

#include <stddef.h>
#include <stdio.h>

struct store;

enum store_status {
	STORE_OK,
	STORE_UNAVAILABLE, /* try again later: 503 so SNS retries */
	STORE_FAILED       /* an error that retrying alone will not fix: 500 */
};

struct store_migration {
	int         version;  /* from the file name's leading number */
	const char *name;     /* file name without .sql */
	const char *checksum; /* sha256 of the file, hex */
	const char *sql;      /* the whole file */
};

/* Generated from sql/ at build time. The numbered migrations end with a
 * zeroed entry; the others are applied by every migrate. */
extern const struct store_migration store_migrations[];
extern const char                   store_sql_bootstrap[];
extern const char                   store_sql_functions[];
extern const char                   store_sql_views[];
extern const char                   store_sql_roles[];

/* The schema version this program writes to: the newest migration. */
int store_schema_wanted(void);

struct store *store_new(void);
void          store_free(struct store *st);

/* Use named prepared statements (on by default), or send each statement
 * whole (for a transaction-pooling PgBouncer, where a prepared statement
 * may live on another server connection). A change reconnects. */
void store_set_prepare(struct store *st, int on);

/* From now on, no wait for the database (connect, answer, a retry) lasts
 * past ms milliseconds from now: the request's deadline. 0: none. */
void store_set_deadline(struct store *st, long ms);

/* Is the database there, answering, and at our schema version? */
enum store_status store_ping(struct store *st, const char *dsn, char *why, size_t whylen);

/* Has this SNS MessageId been stored? */
enum store_status store_seen(
    struct store *st, const char *dsn, const char *message_id, int *seen, char *why, size_t whylen);

/* Call ses_feedback.ingest() with json. *duplicate is set when the
 * MessageId was already stored (nothing changed); *suppressed says how many
 * suppressions the notification added or strengthened. */
enum store_status store_ingest(struct store *st, const char *dsn, const char *json, int *duplicate,
    int *suppressed, char *why, size_t whylen);

/* In one transaction: refuse when an applied migration differs from this
 * program's, apply the missing ones, then functions and views again, and
 * with roles also sql/roles.sql. Progress on out. 0 or -1 with why. */
int store_migrate(const char *dsn, int roles, FILE *out, char *why, size_t whylen);

/* Stream active suppressions to out as SES suppression-list CSV (header
 * emailAddress,reason; BOUNCE or COMPLAINT). Manual and unsubscribe
 * suppressions only with all (as BOUNCE). 0 or -1 with why. */
int store_export(const char *dsn, int all, FILE *out, char *why, size_t whylen);

struct store_import_result {
	unsigned long lines;    /* data lines read */
	unsigned long rejected; /* bad lines, each reported on err */
	unsigned long added;    /* new manual suppressions */
	unsigned long already;  /* addresses already suppressed */
};

/* Stream SES suppression-list CSV from in into manual suppressions with
 * note. Bad lines are reported on err with their numbers and skipped; the
 * good ones are loaded in one transaction. 0, or -1 with why when nothing
 * was loaded. */
int store_import(const char *dsn, FILE *in, const char *note, FILE *err,
    struct store_import_result *res, char *why, size_t whylen);

/* Write dsn to out (outlen bytes, NUL-terminated) as keyword=value pairs,
 * as libpq itself parses it (keyword/value strings and URIs alike), with
 * the password's value replaced by ***, so the DSN can be shown to an
 * operator. 0, or -1 when libpq cannot parse it or out is too small (out
 * then says so, and shows nothing of dsn). */
int store_dsn_masked(const char *dsn, char *out, size_t outlen);

/* The version of the schema in the database (0: none). -1 on error, or
 * when an applied migration differs from this program's (why says which). */
int store_schema_version(const char *dsn, char *why, size_t whylen);

#endif
