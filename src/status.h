/* SPDX-License-Identifier: ISC */
/* ses-feedback - the status page: one HTML page with inline SVG charts,
 * rendered from the one jsonb document ses_feedback.status_page() answers.
 * The database computes every number shown; this file computes only the
 * charts' geometry, escapes every string it prints and sends no script. */
#ifndef SF_STATUS_H
#define SF_STATUS_H

#include <stddef.h>

#include <json-c/json.h>

#include "buf.h"

#define STATUS_NAME_MAX  256     /* bytes of an identity or configuration set name */
#define STATUS_QUERY_MAX 320     /* bytes of a searched address */
#define STATUS_QS_MAX    2048    /* bytes of the whole query string */
#define STATUS_PAGE_MAX  4194304 /* bytes of the page */

/* What the query string asked for, checked. */
struct status_query {
	int  days;                      /* 7, 30 or 90 */
	char scope[24];                 /* all, identity, configuration_set */
	char name[STATUS_NAME_MAX + 1]; /* "(all)" for all */
	char q[STATUS_QUERY_MAX + 1];   /* the search, "" for none */
};

enum status_result {
	STATUS_OK,
	STATUS_BAD_QUERY,   /* 400: why says what */
	STATUS_UNAVAILABLE, /* 503: the database did not answer the page */
	STATUS_NO_MEMORY
};

struct status;

/* Per-worker state. Each page view has a connection of its own, made for
 * it and closed after it, so that the page never shares a statement list
 * (or a failure) with the storing of notifications, and an idle page holds
 * no connection. NULL when out of memory. */
struct status *status_new(void);
void           status_free(struct status *s);

/* Parse QUERY_STRING (NULL: none): days=7|30|90, scope=all|identity|
 * configuration_set, name=..., q=... Anything else, twice, or badly
 * encoded is refused. 0, or -1 with why. */
int status_query_parse(const char *qs, struct status_query *q, char *why, size_t whylen);

/* One page for q from dsn: *html (malloc'd, the caller frees) and *len
 * with STATUS_OK; otherwise why says what went wrong. prepare as
 * SES_FEEDBACK_PREPARE. */
enum status_result status_page(struct status *s, const char *dsn, int prepare,
    const struct status_query *q, char **html, size_t *len, char *why, size_t whylen);

/* Render doc (status_page()'s document) for q into out. 0, or -1 (out
 * freed) when the page would be larger than out allows. */
int status_render(struct json_object *doc, const struct status_query *q, struct buf *out);

/* The response headers every answer of a status location carries:
 * Content-Security-Policy (with the sha256 of the page's one style
 * element), nosniff, no-store, no-referrer. A static string. */
const char *status_headers(void);

#endif
