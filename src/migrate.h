/* SPDX-License-Identifier: ISC */
/* ses-feedback - the schema: sql/ embedded at build time, the version the
 * program needs, and `migrate`, which brings a database there in one
 * transaction. */
#ifndef SF_MIGRATE_H
#define SF_MIGRATE_H

#include <stddef.h>
#include <stdio.h>

struct migrate_file {
	int         version;  /* from the file name's leading number */
	const char *name;     /* file name without .sql */
	const char *checksum; /* sha256 of the file, hex */
	const char *sql;      /* the whole file */
};

/* Generated from sql/ at build time (build-aux/embed-sql.sh). The numbered
 * migrations end with a zeroed entry; the others are applied by every
 * migrate. */
extern const struct migrate_file migrate_files[];
extern const char                migrate_sql_bootstrap[];
extern const char                migrate_sql_functions[];
extern const char                migrate_sql_views[];
extern const char                migrate_sql_roles[];
extern const char                migrate_sql_status[];

/* The schema version this program writes to: the newest migration. */
int migrate_schema_wanted(void);

/* The version of the schema in the database (0: none). -1 on error, or
 * when an applied migration differs from this program's (why says which). */
int migrate_schema_version(const char *dsn, char *why, size_t whylen);

/* In one transaction: refuse when an applied migration differs from this
 * program's, apply the missing ones, then functions and views again, and
 * with roles also sql/roles.sql. Progress on out. 0 or -1 with why; after
 * -1 the database is as it was. */
int migrate_run(const char *dsn, int roles, FILE *out, char *why, size_t whylen);

#endif
