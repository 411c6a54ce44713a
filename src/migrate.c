/* SPDX-License-Identifier: ISC */
/* ses-feedback - `migrate`: the numbered files of sql/ applied in order,
 * each recorded with its checksum, then functions and views again. One
 * transaction under an advisory lock, so a failure changes nothing. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db.h"
#include "migrate.h"

struct run_args {
	int   roles; /* apply sql/roles.sql too */
	FILE *out;   /* borrowed: progress */
};

static int version_checked(PGconn *c, void *arg, char *why, size_t whylen);
static int apply_all(PGconn *c, void *arg, char *why, size_t whylen);
static int apply_one(PGconn *c, const struct migrate_file *m, char *why, size_t whylen);
static int exec_file(PGconn *c, const char *name, const char *sql, char *why, size_t whylen);
static const struct migrate_file *find_migration(int version);
static int                        check_applied(PGconn *c, char *why, size_t whylen);

int
migrate_schema_wanted(void)
{
	int i, v = 0;

	for (i = 0; migrate_files[i].name != NULL; i++) {
		if (migrate_files[i].version > v)
			v = migrate_files[i].version;
	}
	return v;
}

int
migrate_schema_version(const char *dsn, char *why, size_t whylen)
{
	return db_with_conn(dsn, version_checked, NULL, why, whylen);
}

int
migrate_run(const char *dsn, int roles, FILE *out, char *why, size_t whylen)
{
	struct run_args a = { roles, out };

	return db_with_conn(dsn, apply_all, &a, why, whylen);
}

static int
version_checked(PGconn *c, void *arg, char *why, size_t whylen)
{
	(void)arg;
	if (check_applied(c, why, whylen) == -1)
		return -1;
	return db_schema_version(c, why, whylen);
}

/* The one rollback rule: every failure below returns -1 at once, and
 * db_with_conn() closes the connection, which rolls back the unfinished
 * transaction and releases the lock. The database is then as it was,
 * never with a migration applied but the functions of an older one. */
static int
apply_all(PGconn *c, void *arg, char *why, size_t whylen)
{
	const struct run_args     *a = arg;
	const struct migrate_file *m;
	int                        have, applied = 0;

	/* Two migrates at once (two hosts deploying) take turns. */
	if (db_exec(c, "SELECT pg_advisory_lock(hashtext('ses_feedback.migrate'))", why, whylen) ==
	        -1 ||
	    db_exec(c, "BEGIN", why, whylen) == -1 ||
	    exec_file(c, "bootstrap.sql", migrate_sql_bootstrap, why, whylen) == -1 ||
	    check_applied(c, why, whylen) == -1)
		return -1;
	have = db_schema_version(c, why, whylen);
	if (have < 0)
		return -1;
	/* Functions first: the migrations' CHECKs and triggers call them. */
	if (exec_file(c, "functions.sql", migrate_sql_functions, why, whylen) == -1)
		return -1;
	for (m = migrate_files; m->name != NULL; m++) {
		if (m->version <= have)
			continue;
		if (apply_one(c, m, why, whylen) == -1)
			return -1;
		fprintf(a->out, "applied %s\n", m->name);
		applied++;
	}
	/* status.sql after roles.sql: it grants its functions to the roles
	 * when they exist, as functions.sql does. */
	if (exec_file(c, "views.sql", migrate_sql_views, why, whylen) == -1 ||
	    (a->roles && exec_file(c, "roles.sql", migrate_sql_roles, why, whylen) == -1) ||
	    exec_file(c, "status.sql", migrate_sql_status, why, whylen) == -1 ||
	    db_exec(c, "COMMIT", why, whylen) == -1)
		return -1;
	have = db_schema_version(c, why, whylen);
	fprintf(a->out, "applied functions and views%s\n", a->roles ? " and roles" : "");
	fprintf(a->out, "schema ses_feedback is at version %d (%d migration%s applied)\n", have,
	    applied, applied == 1 ? "" : "s");
	return 0;
}

/* Run migration m and record it with its checksum, inside the caller's
 * transaction. */
static int
apply_one(PGconn *c, const struct migrate_file *m, char *why, size_t whylen)
{
	char        ver[16];
	const char *params[3];

	if (exec_file(c, m->name, m->sql, why, whylen) == -1)
		return -1;
	snprintf(ver, sizeof(ver), "%d", m->version);
	params[0] = ver;
	params[1] = m->name;
	params[2] = m->checksum;
	return db_expect(c,
	    PQexecParams(c,
	        "INSERT INTO ses_feedback.schema_migrations (version, name, checksum)"
	        " VALUES ($1, $2, $3)",
	        3, NULL, params, NULL, NULL, 0),
	    PGRES_COMMAND_OK, why, whylen);
}

/* db_exec() for a file of sql/, whose name the error carries. */
static int
exec_file(PGconn *c, const char *name, const char *sql, char *why, size_t whylen)
{
	char inner[512];

	if (db_exec(c, sql, inner, sizeof(inner)) == -1) {
		snprintf(why, whylen, "%s failed: %s", name, inner);
		return -1;
	}
	return 0;
}

static const struct migrate_file *
find_migration(int version)
{
	const struct migrate_file *m;

	for (m = migrate_files; m->name != NULL; m++) {
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
	const struct migrate_file *m;
	PGresult                  *r;
	const char                *state, *name, *sum;
	int                        i, ret = -1;

	r = PQexec(c,
	    "SELECT version, name, checksum FROM ses_feedback.schema_migrations"
	    " ORDER BY version");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		if (db_no_schema(r))
			ret = 0; /* no schema yet: nothing applied */
		else if (state != NULL && strcmp(state, "42703") == 0)
			snprintf(why, whylen,
			    "schema_migrations has no checksums: the schema predates the 0.1.0 "
			    "baseline; migrate a new database");
		else
			db_error(c, why, whylen);
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
