/* SPDX-License-Identifier: ISC */
/* ses-feedback - suppressions as SES suppression-list CSV (header
 * emailAddress,reason; reason BOUNCE or COMPLAINT), out of and into the
 * database, for `ses-feedback suppressions export|import`. */
#ifndef SF_SUPP_CSV_H
#define SF_SUPP_CSV_H

#include <stddef.h>
#include <stdio.h>

/* Stream active global suppressions to out as CSV (SES's list has no
 * scope: how many scoped ones were left out is said on stderr). Manual and
 * unsubscribe suppressions only with all (as BOUNCE). 0 or -1 with why. */
int supp_csv_export(const char *dsn, int all, FILE *out, char *why, size_t whylen);

struct supp_csv_import_result {
	unsigned long lines;    /* data lines read */
	unsigned long rejected; /* bad lines, each reported on err */
	unsigned long added;    /* new manual suppressions */
	unsigned long already;  /* addresses already suppressed */
};

/* Stream CSV from in into manual suppressions with note. Bad lines are
 * reported on err with their numbers and skipped; the good ones are loaded
 * in one transaction. 0, or -1 with why when nothing was loaded. *res is
 * filled either way. */
int supp_csv_import(const char *dsn, FILE *in, const char *note, FILE *err,
    struct supp_csv_import_result *res, char *why, size_t whylen);

#endif
