/* SPDX-License-Identifier: ISC */
/* ses-feedback - suppressions export and import as SES CSV. Both stream
 * through COPY, so no list is held in memory; an import checks every line
 * in C (addr.h) and leaves the decision per address to SQL
 * (ses_feedback.import_suppressions()). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "addr.h"
#include "db.h"
#include "supp_csv.h"

/* A line of CSV: an address, a comma and a reason, with room to spare. */
#define CSV_LINE_MAX 1100

struct export_args {
	int   all; /* manual and unsubscribe suppressions too */
	FILE *out; /* borrowed */
};

struct import_args {
	FILE                          *in;   /* borrowed */
	const char                    *note; /* borrowed */
	FILE                          *err;  /* borrowed: one line per bad line */
	struct supp_csv_import_result *res;  /* borrowed */
};

static int  export_in(PGconn *c, void *arg, char *why, size_t whylen);
static int  export_scoped_note(PGconn *c, char *why, size_t whylen);
static int  import_in(PGconn *c, void *arg, char *why, size_t whylen);
static int  import_lines(PGconn *c, const struct import_args *a, char *why, size_t whylen);
static int  import_header(char *line, size_t n, unsigned long lineno);
static int  import_row(char *line, char *row, size_t rowlen, const char **bad);
static void import_reject(const struct import_args *a, unsigned long lineno, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int import_apply(PGconn *c, const struct import_args *a, char *why, size_t whylen);
static int csv_two(char *line, char **a, char **b);

int
supp_csv_export(const char *dsn, int all, FILE *out, char *why, size_t whylen)
{
	struct export_args a = { all, out };

	return db_with_conn(dsn, export_in, &a, why, whylen);
}

int
supp_csv_import(const char *dsn, FILE *in, const char *note, FILE *err,
    struct supp_csv_import_result *res, char *why, size_t whylen)
{
	struct import_args a = { in, note, err, res };

	memset(res, 0, sizeof(*res));
	return db_with_conn(dsn, import_in, &a, why, whylen);
}

static int
export_in(PGconn *c, void *arg, char *why, size_t whylen)
{
	const struct export_args *a = arg;
	char                     *row = NULL;
	int                       n;

	if (db_expect(c,
	        PQexec(c,
	            a->all ? "COPY (SELECT email, CASE reason WHEN 'complaint' THEN 'COMPLAINT' "
	                     "ELSE 'BOUNCE' END FROM ses_feedback.active_suppressions WHERE "
	                     "scope = 'global' ORDER BY email) TO STDOUT WITH (FORMAT csv)"
	                   : "COPY (SELECT email, CASE reason WHEN 'complaint' THEN 'COMPLAINT' "
	                     "ELSE 'BOUNCE' END FROM ses_feedback.active_suppressions "
	                     "WHERE scope = 'global' AND reason IN ('hard_bounce', "
	                     "'soft_bounce', 'complaint') ORDER BY email) TO STDOUT WITH "
	                     "(FORMAT csv)"),
	        PGRES_COPY_OUT, why, whylen) == -1)
		return -1;
	fputs("emailAddress,reason\n", a->out);
	while ((n = PQgetCopyData(c, &row, 0)) > 0) {
		fwrite(row, 1, (size_t)n, a->out);
		PQfreemem(row);
		row = NULL;
	}
	if (n == -2) {
		db_error(c, why, whylen);
		return -1;
	}
	/* The COPY's own result says whether every row came. */
	if (db_expect(c, PQgetResult(c), PGRES_COMMAND_OK, why, whylen) == -1)
		return -1;
	if (fflush(a->out) == EOF || ferror(a->out)) {
		snprintf(why, whylen, "write error");
		return -1;
	}
	return export_scoped_note(c, why, whylen);
}

/* SES's list has no scope: a suppression of one configuration set, contact
 * list or topic is left out of the CSV, and standard error says how many,
 * so that nobody takes the file for the whole list. */
static int
export_scoped_note(PGconn *c, char *why, size_t whylen)
{
	PGresult *r;
	long      n;
	int       ret = -1;

	r = PQexec(c,
	    "SELECT count(*) FROM ses_feedback.active_suppressions "
	    "WHERE scope <> 'global'");
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		db_error(c, why, whylen);
		goto out;
	}
	n = strtol(PQgetvalue(r, 0, 0), NULL, 10);
	if (n > 0)
		fprintf(stderr,
		    "ses-feedback suppressions export: note: only global suppressions are "
		    "written (SES's list has no scope); %ld scoped to a configuration set, "
		    "contact list or topic left out (SELECT * FROM "
		    "ses_feedback.active_suppressions WHERE scope <> 'global')\n",
		    n);
	ret = 0;
out:
	PQclear(r);
	return ret;
}

/* Any failure returns -1 at once: db_with_conn() closing the connection
 * rolls the transaction back, so nothing is loaded. */
static int
import_in(PGconn *c, void *arg, char *why, size_t whylen)
{
	const struct import_args *a = arg;

	if (db_exec(c, "BEGIN", why, whylen) == -1 ||
	    db_exec(c,
	        "CREATE TEMP TABLE ses_feedback_import (email text, reason text) "
	        "ON COMMIT DROP",
	        why, whylen) == -1 ||
	    db_expect(c, PQexec(c, "COPY pg_temp.ses_feedback_import FROM STDIN"), PGRES_COPY_IN,
	        why, whylen) == -1 ||
	    import_lines(c, a, why, whylen) == -1)
		return -1;
	if (PQputCopyEnd(c, NULL) != 1) {
		db_error(c, why, whylen);
		return -1;
	}
	if (db_expect(c, PQgetResult(c), PGRES_COMMAND_OK, why, whylen) == -1 ||
	    import_apply(c, a, why, whylen) == -1 || db_exec(c, "COMMIT", why, whylen) == -1)
		return -1;
	return 0;
}

/* Send every good data line of a->in to the COPY in progress on c,
 * reporting the others. -1 with why when reading or sending failed. */
static int
import_lines(PGconn *c, const struct import_args *a, char *why, size_t whylen)
{
	char          line[CSV_LINE_MAX], row[2 * ADDR_MAX + 32];
	const char   *bad = NULL;
	unsigned long lineno = 0;
	size_t        n;
	int           header = 0, len, ch;

	while (fgets(line, sizeof(line), a->in) != NULL) {
		lineno++;
		n = strlen(line);
		if (n == sizeof(line) - 1 && line[n - 1] != '\n') {
			while ((ch = fgetc(a->in)) != EOF && ch != '\n')
				;
			import_reject(a, lineno, "longer than %zu bytes", sizeof(line) - 2);
			continue;
		}
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0)
			continue;
		if (!header) {
			header = 1;
			if (!import_header(line, n, lineno))
				import_reject(a, lineno, "want the header emailAddress,reason");
			continue;
		}
		a->res->lines++;
		len = import_row(line, row, sizeof(row), &bad);
		if (len == -1) {
			import_reject(a, lineno, "%s", bad);
			continue;
		}
		if (PQputCopyData(c, row, len) != 1) {
			db_error(c, why, whylen);
			return -1;
		}
	}
	if (ferror(a->in)) {
		snprintf(why, whylen, "read error");
		PQputCopyEnd(c, "read error");
		return -1;
	}
	if (!header)
		fprintf(a->err, "empty input: want the header emailAddress,reason\n");
	return 0;
}

/* Is line (n bytes, the first of the input when lineno is 1) the header? */
static int
import_header(char *line, size_t n, unsigned long lineno)
{
	char *email, *reason;

	if (lineno == 1 && n >= 3 && (unsigned char)line[0] == 0xef)
		memmove(line, line + 3, n - 2); /* UTF-8 BOM */
	return csv_two(line, &email, &reason) == 0 && strcmp(email, "emailAddress") == 0 &&
	    strcmp(reason, "reason") == 0;
}

/* Turn a data line into a row of COPY's text format in row: the normal
 * form of the address, a tab, BOUNCE or COMPLAINT. The row's length, or -1
 * with *bad saying what is wrong with the line. */
static int
import_row(char *line, char *row, size_t rowlen, const char **bad)
{
	char   norm[ADDR_MAX + 1], *email, *reason;
	size_t n, k;
	int    i;

	if (csv_two(line, &email, &reason) == -1) {
		*bad = "want two fields, emailAddress,reason";
		return -1;
	}
	for (i = 0; reason[i] != '\0'; i++)
		reason[i] =
		    (char)(reason[i] >= 'a' && reason[i] <= 'z' ? reason[i] - 32 : reason[i]);
	if (strcmp(reason, "BOUNCE") != 0 && strcmp(reason, "COMPLAINT") != 0) {
		*bad = "reason must be BOUNCE or COMPLAINT";
		return -1;
	}
	/* The same definition as ingest() and suppress() (addr.h). */
	if (addr_normalize(email, norm, sizeof(norm)) == -1) {
		*bad = "not an email address";
		return -1;
	}
	/* A quoted local part may hold a backslash, COPY's escape (never a
	 * tab or newline: addr_normalize refuses those). */
	for (n = 0, k = 0; norm[k] != '\0'; k++) {
		if (norm[k] == '\\')
			row[n++] = '\\';
		row[n++] = norm[k];
	}
	n += (size_t)snprintf(row + n, rowlen - n, "\t%s\n", reason);
	return (int)n;
}

static void
import_reject(const struct import_args *a, unsigned long lineno, const char *fmt, ...)
{
	va_list ap;

	fprintf(a->err, "line %lu: ", lineno);
	va_start(ap, fmt);
	vfprintf(a->err, fmt, ap);
	va_end(ap);
	fputc('\n', a->err);
	a->res->rejected++;
}

/* Let SQL decide each loaded address: ses_feedback.import_suppressions(). */
static int
import_apply(PGconn *c, const struct import_args *a, char *why, size_t whylen)
{
	PGresult   *r;
	const char *params[1];
	int         ret = -1;

	params[0] = a->note;
	r = PQexecParams(c, "SELECT added, already FROM ses_feedback.import_suppressions($1)", 1,
	    NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		db_error(c, why, whylen);
	} else {
		a->res->added = strtoul(PQgetvalue(r, 0, 0), NULL, 10);
		a->res->already = strtoul(PQgetvalue(r, 0, 1), NULL, 10);
		ret = 0;
	}
	PQclear(r);
	return ret;
}

/* Split one CSV line of two fields, with optional "quoting". 0 or -1. */
static int
csv_two(char *line, char **a, char **b)
{
	char *f[2], *p = line, *w;
	int   i;

	for (i = 0; i < 2; i++) {
		while (*p == ' ' || *p == '\t')
			p++;
		f[i] = w = p;
		if (*p == '"') {
			f[i] = w = ++p;
			for (;;) {
				if (*p == '\0')
					return -1;
				if (*p == '"' && p[1] == '"') {
					*w++ = '"';
					p += 2;
				} else if (*p == '"') {
					p++;
					break;
				} else {
					*w++ = *p++;
				}
			}
			while (*p == ' ' || *p == '\t')
				p++;
		} else {
			while (*p != '\0' && *p != ',')
				*w++ = *p++;
			while (w > f[i] && (w[-1] == ' ' || w[-1] == '\t'))
				w--;
		}
		if (i == 0) {
			if (*p != ',')
				return -1;
			*w = '\0';
			p++;
		} else {
			if (*p != '\0')
				return -1;
			*w = '\0';
		}
	}
	*a = f[0];
	*b = f[1];
	return 0;
}
