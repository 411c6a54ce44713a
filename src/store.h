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
	int         version; /* from the file name's leading number */
	const char *name;    /* file name without .sql */
	const char *sql;     /* the whole file */
};

/* Generated from sql/ at build time; ends with a zeroed entry. */
extern const struct store_migration store_migrations[];

/* The schema version this program writes to: the newest migration. */
int store_schema_wanted(void);

struct store *store_new(void);
void          store_free(struct store *st);

/* Is the database there, answering, and at our schema version? */
enum store_status store_ping(struct store *st, const char *dsn, char *why, size_t whylen);

/* Has this SNS MessageId been stored? */
enum store_status store_seen(
    struct store *st, const char *dsn, const char *message_id, int *seen, char *why, size_t whylen);

/* Call ses_feedback.ingest() with json. *duplicate is set when the
 * MessageId was already stored (nothing changed). */
enum store_status store_ingest(
    struct store *st, const char *dsn, const char *json, int *duplicate, char *why, size_t whylen);

/* Bring the schema up to date; progress on out. 0 or -1 with why. */
int store_migrate(const char *dsn, FILE *out, char *why, size_t whylen);

/* The version of the schema in the database (0: none). -1 on error. */
int store_schema_version(const char *dsn, char *why, size_t whylen);

#endif
