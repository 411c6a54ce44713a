/* SPDX-License-Identifier: ISC */
/* ses-feedback - the request's database calls (libpq, through db.h).
 * One connection per worker, made on first use and again after failure,
 * with prepared statements. A notification is stored by one call of
 * ses_feedback.ingest(jsonb): one round trip, one transaction. */
#ifndef SF_STORE_H
#define SF_STORE_H

#include <stddef.h>

struct store;

enum store_status {
	STORE_OK,
	STORE_UNAVAILABLE, /* try again later: 503 so SNS retries */
	STORE_FAILED       /* an error that retrying alone will not fix: 500 */
};

/* NULL when out of memory. Connects on first use. */
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

#endif
