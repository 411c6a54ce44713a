/* SPDX-License-Identifier: ISC */
/* ses-feedback - the request's database calls: the statements a request
 * runs, over db.c's cached connection. Connection handling, retry and the
 * sorting of errors into 503 and 500 are db.c's. Under `serve`, ingest
 * goes through the group commit (gcommit.h): this worker's document may
 * be stored by another worker's transaction, or this one's may store
 * others'; sf_ingest_many is that transaction's one statement. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "bounds.h"
#include "buf.h"
#include "db.h"
#include "deadline.h"
#include "gcommit.h"
#include "log.h"
#include "metrics.h"
#include "migrate.h"
#include "store.h"

struct store {
	struct db      *db;       /* owned */
	int             prepare;  /* as db_set_prepare */
	struct timespec deadline; /* as db_set_deadline */
	const char     *dsn;      /* borrowed, during store_ingest */
	struct buf      batch;    /* sf_ingest_many's parameter */
};

/* sf_ping first: it is prepared before the schema is checked. */
static const struct db_stmt stmts[] = {
	{ "sf_ping", "SELECT 1", 0 },
	{ "sf_seen", "SELECT 1 FROM ses_feedback.notifications WHERE sns_message_id = $1", 1 },
	{ "sf_ingest", "SELECT result, suppressed FROM ses_feedback.ingest($1::jsonb)", 1 },
	{ "sf_ingest_many",
	    "SELECT idx, result, suppressed FROM ses_feedback.ingest_many($1::jsonb)", 1 },
};

static enum store_status status(enum db_status s);
static void              ingest_one(struct store *st, struct gcommit_item *it);
static int               batch_text(struct store *st, const struct gcommit_item *items, size_t n);
static gcommit_run_fn    ingest_group;
static int               maybe_one(const char *state);

struct store *
store_new(void)
{
	struct store *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return NULL;
	st->prepare = 1;
	buf_init(&st->batch, LIM_GCOMMIT_BATCH_BYTES + LIM_GCOMMIT_BATCH + 2);
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
	buf_free(&st->batch);
	free(st);
}

void
store_set_prepare(struct store *st, int on)
{
	st->prepare = on != 0;
	db_set_prepare(st->db, on);
}

void
store_set_deadline(struct store *st, long ms)
{
	deadline_set(&st->deadline, ms);
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
	struct gcommit_item it;
	char                key[1024];
	size_t              batch;
	int                 n;

	/* The group key: only documents for one database, reached the same
	 * way, share a transaction. A longer one is stored alone. */
	n = snprintf(key, sizeof(key), "%s %s", st->prepare ? "prepare" : "unprepared", dsn);
	st->dsn = dsn;
	it.json = json;
	if (n < 0 || (size_t)n >= sizeof(key) ||
	    gcommit_store(key, json, &st->deadline, ingest_group, st, &it, &batch) == -1)
		ingest_one(st, &it);
	st->dsn = NULL;
	*duplicate = it.duplicate;
	*suppressed = it.suppressed;
	if (it.status != STORE_OK)
		snprintf(why, whylen, "%s", it.why);
	return it.status;
}

/* One document in its own transaction. */
static void
ingest_one(struct store *st, struct gcommit_item *it)
{
	PGresult *r;

	it->duplicate = 0;
	it->suppressed = 0;
	it->status =
	    status(db_run(st->db, st->dsn, "sf_ingest", it->json, &r, it->why, sizeof(it->why)));
	if (it->status == STORE_OK) {
		if (PQntuples(r) != 1) {
			snprintf(it->why, sizeof(it->why), "ses_feedback.ingest() returned no row");
			it->status = STORE_FAILED;
		} else {
			it->duplicate = strcmp(PQgetvalue(r, 0, 0), "duplicate") == 0;
			it->suppressed = atoi(PQgetvalue(r, 0, 1));
		}
	}
	PQclear(r);
}

/* "[doc,doc,...]" in st->batch; -1 when out of memory. */
static int
batch_text(struct store *st, const struct gcommit_item *items, size_t n)
{
	size_t k;

	st->batch.len = 0;
	if (buf_add(&st->batch, "[", 1) == -1)
		return -1;
	for (k = 0; k < n; k++) {
		if ((k > 0 && buf_add(&st->batch, ",", 1) == -1) ||
		    buf_adds(&st->batch, items[k].json) == -1)
			return -1;
	}
	return buf_add(&st->batch, "]", 1);
}

/* A batch's failure that may be one document's, or one transaction's,
 * doing: a deadlock or serialization failure (another lane's batch wrote
 * the same addresses in another order), or the statement timeout (one
 * document whose work takes longer than the statement may, or a lock held
 * meanwhile). */
static int
maybe_one(const char *state)
{
	return strcmp(state, "40P01") == 0 || strcmp(state, "40001") == 0 ||
	       strcmp(state, "57014") == 0;
}

/* The leader's batch (gcommit_run_fn): one statement, so one COMMIT, for
 * all of them. Refused by the database (an error of one document), lost
 * to another transaction, or cut by the statement timeout, each is stored
 * alone while the leader's request has the time one statement may take,
 * so that the one refused or too slow costs only its own notification a
 * 5xx; those left without the time get 503. A database that cannot
 * answer at all (down, read-only, too many connections) would fail each
 * of those again: all get 503 at once, and SNS sends them again. */
static void
ingest_group(void *arg, struct gcommit_item *items, size_t n)
{
	struct store     *st = arg;
	PGresult         *r = NULL;
	char              why[200]; /* with a few words more fits an item's why */
	size_t            k, done = 0;
	long              idx;
	enum store_status s;

	if (n == 1) {
		ingest_one(st, &items[0]);
		return;
	}
	if (batch_text(st, items, n) == -1) {
		snprintf(why, sizeof(why), "out of memory");
		s = STORE_FAILED;
	} else {
		s = status(db_run(
		    st->db, st->dsn, "sf_ingest_many", st->batch.data, &r, why, sizeof(why)));
	}
	if (s == STORE_OK) {
		for (k = 0; k < (size_t)PQntuples(r); k++) {
			idx = strtol(PQgetvalue(r, (int)k, 0), NULL, 10);
			if (idx < 0 || (size_t)idx >= n || items[idx].status == STORE_OK)
				continue;
			items[idx].status = STORE_OK;
			items[idx].duplicate = strcmp(PQgetvalue(r, (int)k, 1), "duplicate") == 0;
			items[idx].suppressed = atoi(PQgetvalue(r, (int)k, 2));
			done++;
		}
		PQclear(r);
		if (done == n) {
			metrics_add(METRICS_GROUP_COMMITS, 1);
			metrics_add(METRICS_GROUPED, n);
			return;
		}
		/* Committed, but not every document answered: cannot happen
		 * with our ingest_many(); the rest go alone, and a document
		 * stored already is answered duplicate. */
		snprintf(
		    why, sizeof(why), "ses_feedback.ingest_many() answered %zu of %zu", done, n);
	} else if (s == STORE_UNAVAILABLE && !maybe_one(db_sqlstate(st->db))) {
		for (k = 0; k < n; k++) {
			items[k].status = STORE_UNAVAILABLE;
			snprintf(items[k].why, sizeof(items[k].why),
			    "%s (in a transaction with %zu others)", why, n - 1);
		}
		return;
	}
	log_warnx("storing %zu notifications together failed (%s): storing each alone", n, why);
	for (k = 0; k < n; k++) {
		if (items[k].status == STORE_OK)
			continue;
		if (deadline_left_ms(&st->deadline, LIM_DB_ANSWER_MS) < LIM_DB_ANSWER_MS) {
			items[k].status = STORE_UNAVAILABLE;
			snprintf(items[k].why, sizeof(items[k].why),
			    "%.150s (with %zu others; no time left to store it alone)", why, n - 1);
			continue;
		}
		ingest_one(st, &items[k]);
	}
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
