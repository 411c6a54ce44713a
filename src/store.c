/* SPDX-License-Identifier: ISC */
/* ses-feedback - the request's database calls: the three statements a
 * request runs, over db.c's cached connection. Connection handling, retry
 * and the sorting of errors into 503 and 500 are db.c's. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db.h"
#include "migrate.h"
#include "store.h"

struct store {
	struct db *db; /* owned */
};

/* sf_ping first: it is prepared before the schema is checked. */
static const struct db_stmt stmts[] = {
	{ "sf_ping", "SELECT 1", 0 },
	{ "sf_seen", "SELECT 1 FROM ses_feedback.notifications WHERE sns_message_id = $1", 1 },
	{ "sf_ingest", "SELECT result, suppressed FROM ses_feedback.ingest($1::jsonb)", 1 },
};

static enum store_status status(enum db_status s);

struct store *
store_new(void)
{
	struct store *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return NULL;
	st->db = db_new(stmts, sizeof(stmts) / sizeof(stmts[0]), migrate_schema_wanted());
	if (st->db == NULL) {
		free(st);
		return NULL;
	}
	return st;
}

void
store_free(struct store *st)
{
	if (st == NULL)
		return;
	db_free(st->db);
	free(st);
}

void
store_set_prepare(struct store *st, int on)
{
	db_set_prepare(st->db, on);
}

void
store_set_deadline(struct store *st, long ms)
{
	db_set_deadline(st->db, ms);
}

enum store_status
store_ping(struct store *st, const char *dsn, char *why, size_t whylen)
{
	PGresult      *r;
	enum db_status s;

	s = db_run(st->db, dsn, "sf_ping", NULL, &r, why, whylen);
	PQclear(r);
	return status(s);
}

enum store_status
store_seen(
    struct store *st, const char *dsn, const char *message_id, int *seen, char *why, size_t whylen)
{
	PGresult      *r;
	enum db_status s;

	*seen = 0;
	s = db_run(st->db, dsn, "sf_seen", message_id, &r, why, whylen);
	if (s == DB_OK)
		*seen = PQntuples(r) > 0;
	PQclear(r);
	return status(s);
}

enum store_status
store_ingest(struct store *st, const char *dsn, const char *json, int *duplicate, int *suppressed,
    char *why, size_t whylen)
{
	PGresult         *r;
	enum store_status s;

	*duplicate = 0;
	*suppressed = 0;
	s = status(db_run(st->db, dsn, "sf_ingest", json, &r, why, whylen));
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

static enum store_status
status(enum db_status s)
{
	switch (s) {
	case DB_OK:
		return STORE_OK;
	case DB_UNAVAILABLE:
		return STORE_UNAVAILABLE;
	case DB_FAILED:
		break;
	}
	return STORE_FAILED;
}
