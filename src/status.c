/* SPDX-License-Identifier: ISC */
/* ses-feedback - the status page.
 * One statement, one jsonb document (sql/status.sql says what is in it),
 * one HTML page. Every string that came from the database goes through
 * esc() (text and attributes alike) or, in a link, through url() and then
 * esc(). Numbers are printed as the document holds them; the doubles here
 * are only for placing points and bars. No script, no external asset: the
 * one style element is allowed by its hash in the Content-Security-Policy. */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <libpq-fe.h>
#include <openssl/evp.h>

#include "bounds.h"
#include "buf.h"
#include "db.h"
#include "json_in.h"
#include "migrate.h"
#include "status.h"

struct status {
	struct db *db; /* owned, while a page is made */
};

/* sf_ping first (db.h): prepared before the schema is checked. The four
 * arguments travel as one jsonb parameter, as db_run() takes one. */
static const struct db_stmt stmts[] = {
	{ "sf_ping", "SELECT 1", 0 },
	{ "sf_status_page",
	    "SELECT ses_feedback.status_page(($1::jsonb->>'days')::integer, $1::jsonb->>'scope', "
	    "$1::jsonb->>'name', $1::jsonb->>'q')::text",
	    1 },
};

/* The page's only style. Its sha256 goes into the CSP, so it must stay a
 * constant: nothing of a request is ever added to it, and no element has
 * a style attribute (SVG presentation attributes are not styles). */
static const char css[] =
    ":root{--ok:#1a7f37;--above:#9a6700;--review:#bc4c00;--pause:#cf222e;--none:#6e7781;"
    "--fg:#1f2328;--mute:#59636e;--line:#d1d9e0;--bg:#fff;--soft:#f6f8fa}"
    "*{box-sizing:border-box}"
    "body{margin:0;font:15px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;"
    "color:var(--fg);background:var(--bg)}"
    "header,main,footer{max-width:1100px;margin:0 auto;padding:0 16px}"
    "header{padding-top:12px}"
    "h1{font-size:1.5em;margin:.3em 0}h2{font-size:1.2em;margin:1.4em 0 .4em}"
    "h3{font-size:1em;margin:1em 0 .3em}"
    "p.meta{color:var(--mute);margin:.2em 0}"
    "nav.bar{display:flex;flex-wrap:wrap;gap:8px 18px;align-items:center;margin:10px 0;"
    "padding:8px 10px;background:var(--soft);border:1px solid var(--line);border-radius:6px}"
    "nav.bar form{display:flex;flex-wrap:wrap;gap:4px;align-items:center;margin:0}"
    "nav.bar select,nav.bar input{max-width:16em;font:inherit;padding:2px 4px}"
    "nav.bar button{font:inherit;padding:2px 10px}"
    ".days a,.scope a{padding:2px 8px;border-radius:4px;text-decoration:none}"
    ".days a[aria-current],.scope a[aria-current]{background:var(--fg);color:var(--bg)}"
    ".warn{border:2px solid var(--pause);background:#fff5f5;border-radius:6px;padding:8px 12px;"
    "margin:10px 0}"
    ".warn h2{margin:0 0 .3em;color:var(--pause)}.warn ul{margin:0;padding-left:1.2em}"
    ".cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(260px,1fr));gap:12px}"
    ".card{border:1px solid var(--line);border-left:8px solid var(--none);border-radius:6px;"
    "padding:10px 14px}"
    ".card .big{font-size:2.6em;font-weight:700;line-height:1.1}"
    ".card .st{font-weight:600}.card p{margin:.2em 0}"
    ".s-ok{border-left-color:var(--ok)}.s-ok .big,.s-ok .st,td.s-ok{color:var(--ok)}"
    ".s-above{border-left-color:var(--above)}.s-above .big,.s-above .st,td.s-above"
    "{color:var(--above)}"
    ".s-review{border-left-color:var(--review)}.s-review .big,.s-review .st,td.s-review"
    "{color:var(--review)}"
    ".s-pause{border-left-color:var(--pause)}.s-pause .big,.s-pause .st,td.s-pause"
    "{color:var(--pause)}"
    ".s-none .big{color:var(--none)}"
    "figure{margin:0}figcaption{color:var(--mute);font-size:.9em}"
    "svg.chart{width:100%;height:auto;display:block;border:1px solid var(--line);"
    "border-radius:6px;background:var(--bg)}"
    "svg text{font:12px system-ui,sans-serif;fill:var(--mute)}"
    "svg .axis{stroke:var(--line)}svg .grid{stroke:var(--line);stroke-dasharray:2 3}"
    "svg .b-ok{fill:#1a7f37;fill-opacity:.08}svg .b-above{fill:#d4a72c;fill-opacity:.14}"
    "svg .b-review{fill:#fb8f44;fill-opacity:.14}svg .b-pause{fill:#cf222e;fill-opacity:.12}"
    "svg .th{stroke-width:1;stroke-dasharray:5 3}svg .th-above{stroke:var(--above)}"
    "svg .th-review{stroke:var(--review)}svg .th-pause{stroke:var(--pause)}"
    "svg text.tl-above{fill:var(--above)}svg text.tl-review{fill:var(--review)}"
    "svg text.tl-pause{fill:var(--pause)}"
    "svg .rate{fill:none;stroke:#0969da;stroke-width:2}svg .pt{fill:#0969da}"
    ".r-hard_bounce{fill:#cf222e;background:#cf222e}.r-soft_bounce{fill:#fb8f44;"
    "background:#fb8f44}.r-complaint{fill:#8250df;background:#8250df}"
    ".r-unsubscribe{fill:#0969da;background:#0969da}.r-manual{fill:#6e7781;"
    "background:#6e7781}"
    ".legend{list-style:none;padding:0;margin:4px 0;display:flex;flex-wrap:wrap;gap:4px 14px;"
    "font-size:.9em}"
    ".legend span{display:inline-block;width:.9em;height:.9em;border-radius:2px;"
    "margin-right:4px;vertical-align:-.1em}"
    ".scroll{overflow:auto;max-height:20em;border:1px solid var(--line);border-radius:6px;"
    "margin:6px 0 4px}"
    ".wide{overflow-x:auto}"
    "table{border-collapse:collapse;width:100%;font-size:.9em}"
    "caption{text-align:left;color:var(--mute);padding:4px 6px}"
    "th,td{padding:3px 8px;border-bottom:1px solid var(--line);text-align:left;"
    "white-space:nowrap;vertical-align:top}"
    "td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}"
    "td.wrap{white-space:normal;word-break:break-all;min-width:12em}"
    "thead th{position:sticky;top:0;background:var(--soft)}"
    "tr.hot td{background:#fff5f5}"
    ".charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:16px}"
    ".charts>div{min-width:0}"
    "footer{color:var(--mute);font-size:.85em;padding-top:20px;padding-bottom:20px}"
    "@media (max-width:600px){body{font-size:14px}.charts{grid-template-columns:1fr}"
    ".card .big{font-size:2.1em}nav.bar{flex-direction:column;align-items:stretch}"
    "nav.bar select,nav.bar input{max-width:none;flex:1;min-width:0}}"
    "@media print{nav.bar,form{display:none}body{font-size:11pt}"
    ".charts{grid-template-columns:1fr 1fr}"
    ".scroll,.wide{max-height:none;overflow:visible;border:0}"
    "th,td{white-space:normal}td:first-child{white-space:nowrap}thead th{position:static}"
    "section{break-inside:avoid-page}"
    "a{color:inherit;text-decoration:none}}";

/* A page under construction: once an append fails, the rest are no-ops
 * and the page is refused whole. */
struct out {
	struct buf *b;
	int         err;
};

static void put(struct out *o, const char *s);
static void putf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void esc(struct out *o, const char *s);
static void url(struct out *o, const char *s);
static void href(struct out *o, int days, const char *scope, const char *name, const char *q);

static const char         *str(struct json_object *o, const char *key);
static struct json_object *arr(struct json_object *o, const char *key);
static size_t              len_of(struct json_object *a);
static struct json_object *at(struct json_object *a, size_t i);
static double              num(struct json_object *o, const char *key, int *ok);
static int64_t             i64(struct json_object *o, const char *key);

static const char *status_class(const char *status);
static void        page_head(struct out *o, struct json_object *doc, const struct status_query *q);
static void        page_nav(struct out *o, struct json_object *doc, const struct status_query *q);
static void        page_warnings(struct out *o, struct json_object *doc);
static void        page_search(struct out *o, struct json_object *doc);
static void        page_now(struct out *o, struct json_object *doc);
static void        page_rates(struct out *o, struct json_object *doc);
static void        page_suppressions(struct out *o, struct json_object *doc);
static void page_latest(struct out *o, struct json_object *doc, const struct status_query *q);
static void page_domains(struct out *o, struct json_object *doc);
static void page_subscriptions(struct out *o, struct json_object *doc);
static void cell(struct out *o, const char *cls, const char *s);

struct status *
status_new(void)
{
	struct status *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	return s;
}

void
status_free(struct status *s)
{
	if (s == NULL)
		return;
	db_free(s->db);
	free(s);
}

/* ---- the query string ---------------------------------------------------- */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode one form value (p, n bytes; '+' is a space) into out (outlen,
 * NUL-terminated). 0, or -1 with why: a bad escape, a control character,
 * no UTF-8, or too long. */
static int
decode(const char *key, const char *p, size_t n, char *out, size_t outlen, char *why, size_t whylen)
{
	size_t i, o = 0;
	int    hi, lo, c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)p[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			if (n - i < 3 || (hi = hexval(p[i + 1])) < 0 ||
			    (lo = hexval(p[i + 2])) < 0) {
				snprintf(why, whylen, "bad %%-escape in %s", key);
				return -1;
			}
			c = hi * 16 + lo;
			i += 2;
		}
		if (c < 0x20 || c == 0x7f) {
			snprintf(why, whylen, "control character in %s", key);
			return -1;
		}
		if (o + 1 >= outlen) {
			snprintf(why, whylen, "%s longer than %zu bytes", key, outlen - 1);
			return -1;
		}
		out[o++] = (char)c;
	}
	out[o] = '\0';
	if (!jsonin_utf8(out, o)) {
		snprintf(why, whylen, "%s is not UTF-8", key);
		return -1;
	}
	return 0;
}

int
status_query_parse(const char *qs, struct status_query *q, char *why, size_t whylen)
{
	static const char *const keys[] = { "days", "scope", "name", "q" };
	char                     days[8] = "", scope[sizeof(q->scope)] = "";
	char                    *vals[4];
	size_t                   sizes[4];
	int                      seen[4] = { 0, 0, 0, 0 };
	const char              *p, *amp, *eq;
	size_t                   k, n;

	memset(q, 0, sizeof(*q));
	vals[0] = days, sizes[0] = sizeof(days);
	vals[1] = scope, sizes[1] = sizeof(scope);
	vals[2] = q->name, sizes[2] = sizeof(q->name);
	vals[3] = q->q, sizes[3] = sizeof(q->q);
	if (qs == NULL)
		qs = "";
	if (strlen(qs) > STATUS_QS_MAX) {
		snprintf(why, whylen, "query string longer than %d bytes", STATUS_QS_MAX);
		return -1;
	}
	if (*qs != '\0' && qs[strlen(qs) - 1] == '&') {
		snprintf(why, whylen, "query string ends with '&'");
		return -1;
	}
	for (p = qs; *p != '\0'; p = *amp != '\0' ? amp + 1 : amp) {
		amp = strchr(p, '&');
		if (amp == NULL)
			amp = p + strlen(p);
		eq = memchr(p, '=', (size_t)(amp - p));
		if (eq == NULL) {
			snprintf(why, whylen, "query parameter without '='");
			return -1;
		}
		n = (size_t)(eq - p);
		for (k = 0; k < 4; k++)
			if (strlen(keys[k]) == n && memcmp(p, keys[k], n) == 0)
				break;
		if (k == 4) {
			snprintf(why, whylen,
			    "unknown query parameter (days, scope, name and q are known)");
			return -1;
		}
		if (seen[k]++) {
			snprintf(why, whylen, "%s given twice", keys[k]);
			return -1;
		}
		if (decode(keys[k], eq + 1, (size_t)(amp - eq - 1), vals[k], sizes[k], why,
		        whylen) == -1)
			return -1;
	}
	if (!seen[0] || strcmp(days, "30") == 0)
		q->days = 30;
	else if (strcmp(days, "7") == 0)
		q->days = 7;
	else if (strcmp(days, "90") == 0)
		q->days = 90;
	else {
		snprintf(why, whylen, "days must be 7, 30 or 90");
		return -1;
	}
	if (!seen[1] || strcmp(scope, "all") == 0) {
		if (seen[2] && strcmp(q->name, "(all)") != 0) {
			snprintf(why, whylen, "name needs scope identity or configuration_set");
			return -1;
		}
		snprintf(q->scope, sizeof(q->scope), "all");
		snprintf(q->name, sizeof(q->name), "(all)");
	} else if (strcmp(scope, "identity") == 0 || strcmp(scope, "configuration_set") == 0) {
		if (q->name[0] == '\0') {
			snprintf(why, whylen, "scope %s needs a name", scope);
			return -1;
		}
		snprintf(q->scope, sizeof(q->scope), "%s", scope);
	} else {
		snprintf(why, whylen, "scope must be all, identity or configuration_set");
		return -1;
	}
	return 0;
}

/* ---- the database -------------------------------------------------------- */

enum status_result
status_page(struct status *s, const char *dsn, int prepare, const struct status_query *q,
    char **html, size_t *len, char *why, size_t whylen)
{
	struct json_object *arg, *doc;
	PGresult           *r = NULL;
	enum db_status      st;
	struct buf          b;
	const char         *text;

	*html = NULL;
	*len = 0;
	arg = json_object_new_object();
	if (arg == NULL)
		return STATUS_NO_MEMORY;
	json_object_object_add(arg, "days", json_object_new_int(q->days));
	json_object_object_add(arg, "scope", json_object_new_string(q->scope));
	json_object_object_add(arg, "name", json_object_new_string(q->name));
	json_object_object_add(arg, "q", q->q[0] != '\0' ? json_object_new_string(q->q) : NULL);
	text = json_object_to_json_string_ext(arg, JSON_C_TO_STRING_PLAIN);
	if (text == NULL) {
		json_object_put(arg);
		return STATUS_NO_MEMORY;
	}
	/* A connection for this page only: a page viewed now and then must not
	 * hold one of PostgreSQL's connections in every worker. */
	s->db = db_new(stmts, sizeof(stmts) / sizeof(stmts[0]), migrate_schema_wanted());
	if (s->db == NULL) {
		json_object_put(arg);
		return STATUS_NO_MEMORY;
	}
	db_set_prepare(s->db, prepare);
	db_set_deadline(s->db, LIM_REQUEST_MS);
	st = db_run(s->db, dsn, "sf_status_page", text, &r, why, whylen);
	db_free(s->db);
	s->db = NULL;
	json_object_put(arg);
	if (st != DB_OK)
		return STATUS_UNAVAILABLE;
	if (PQntuples(r) != 1 || PQgetisnull(r, 0, 0)) {
		PQclear(r);
		snprintf(why, whylen, "ses_feedback.status_page() returned no document");
		return STATUS_UNAVAILABLE;
	}
	doc = json_tokener_parse(PQgetvalue(r, 0, 0));
	PQclear(r);
	if (doc == NULL || !json_object_is_type(doc, json_type_object)) {
		json_object_put(doc);
		snprintf(why, whylen, "ses_feedback.status_page() returned no JSON object");
		return STATUS_UNAVAILABLE;
	}
	buf_init(&b, STATUS_PAGE_MAX);
	if (status_render(doc, q, &b) == -1) {
		json_object_put(doc);
		snprintf(why, whylen, "status page over %d bytes", STATUS_PAGE_MAX);
		return STATUS_NO_MEMORY;
	}
	json_object_put(doc);
	*html = buf_take(&b, len);
	return STATUS_OK;
}

const char *
status_headers(void)
{
	static char   headers[512];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int  mdlen = 0;
	unsigned char b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];

	if (headers[0] != '\0')
		return headers;
	if (EVP_Digest(css, sizeof(css) - 1, md, &mdlen, EVP_sha256(), NULL) != 1)
		mdlen = 0;
	if (mdlen == 0) {
		/* No hash, no style: the page stays readable unstyled. */
		snprintf(headers, sizeof(headers),
		    "Content-Security-Policy: default-src 'none'; form-action 'self'; "
		    "base-uri 'none'; frame-ancestors 'none'\r\n"
		    "X-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\n"
		    "Referrer-Policy: no-referrer\r\nX-Frame-Options: DENY\r\n");
		return headers;
	}
	EVP_EncodeBlock(b64, md, (int)mdlen);
	snprintf(headers, sizeof(headers),
	    "Content-Security-Policy: default-src 'none'; style-src 'sha256-%s'; "
	    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'\r\n"
	    "X-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\n"
	    "Referrer-Policy: no-referrer\r\nX-Frame-Options: DENY\r\n",
	    b64);
	return headers;
}

/* ---- output helpers ------------------------------------------------------ */

static void
put(struct out *o, const char *s)
{
	if (!o->err && buf_adds(o->b, s) == -1)
		o->err = 1;
}

static void
putf(struct out *o, const char *fmt, ...)
{
	char    tmp[512];
	va_list ap;
	int     n;

	if (o->err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	/* Only our own short formats come here; strings from the database
	 * go through esc(). */
	if (n < 0 || (size_t)n >= sizeof(tmp) || buf_add(o->b, tmp, (size_t)n) == -1)
		o->err = 1;
}

/* s as HTML text or a quoted attribute value: & < > " ' escaped. NULL
 * prints nothing. */
static void
esc(struct out *o, const char *s)
{
	const char *p, *run;

	if (s == NULL)
		return;
	for (run = p = s; *p != '\0'; p++) {
		const char *e = NULL;

		switch (*p) {
		case '&':
			e = "&amp;";
			break;
		case '<':
			e = "&lt;";
			break;
		case '>':
			e = "&gt;";
			break;
		case '"':
			e = "&quot;";
			break;
		case '\'':
			e = "&#39;";
			break;
		default:
			continue;
		}
		if (!o->err && p > run && buf_add(o->b, run, (size_t)(p - run)) == -1)
			o->err = 1;
		put(o, e);
		run = p + 1;
	}
	if (!o->err && p > run && buf_add(o->b, run, (size_t)(p - run)) == -1)
		o->err = 1;
}

/* s percent-encoded for a query string (all but A-Z a-z 0-9 - . _ ~). The
 * result needs no HTML escaping. */
static void
url(struct out *o, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char              e[4];
	const char       *p;

	for (p = s; p != NULL && *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			e[0] = (char)c;
			e[1] = '\0';
		} else {
			e[0] = '%';
			e[1] = hex[c >> 4];
			e[2] = hex[c & 15];
			e[3] = '\0';
		}
		put(o, e);
	}
}

/* A relative link to this page with these choices, as an attribute value. */
static void
href(struct out *o, int days, const char *scope, const char *name, const char *q)
{
	putf(o, "?days=%d", days);
	if (strcmp(scope, "all") != 0) {
		put(o, "&amp;scope=");
		url(o, scope);
		put(o, "&amp;name=");
		url(o, name);
	}
	if (q != NULL && *q != '\0') {
		put(o, "&amp;q=");
		url(o, q);
	}
}

/* ---- the document -------------------------------------------------------- */

/* o's key as text (an integer as its digits), or NULL when absent or null. */
static const char *
str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) || v == NULL)
		return NULL;
	if (json_object_is_type(v, json_type_object) || json_object_is_type(v, json_type_array))
		return NULL;
	return json_object_get_string(v);
}

static struct json_object *
arr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_array))
		return NULL;
	return v;
}

static size_t
len_of(struct json_object *a)
{
	return a != NULL ? json_object_array_length(a) : 0;
}

static struct json_object *
at(struct json_object *a, size_t i)
{
	struct json_object *v = json_object_array_get_idx(a, i);

	return v != NULL && json_object_is_type(v, json_type_object) ? v : NULL;
}

/* For geometry only. *ok is 0 for null, absent or not a number. */
static double
num(struct json_object *o, const char *key, int *ok)
{
	const char *s = str(o, key);
	char       *end;
	double      d;

	*ok = 0;
	if (s == NULL)
		return 0;
	d = strtod(s, &end);
	if (end == s || *end != '\0' || !isfinite(d))
		return 0;
	*ok = 1;
	return d;
}

static int64_t
i64(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) || v == NULL)
		return 0;
	return json_object_get_int64(v);
}

/* The CSS class of a sending_rates status text, by its first word. */
static const char *
status_class(const char *status)
{
	static const struct {
		const char *word;
		const char *cls;
	} map[] = { { "ok", "s-ok" }, { "above", "s-above" }, { "review", "s-review" },
		{ "pause", "s-pause" } };
	size_t i, n;

	if (status == NULL)
		return "s-none";
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		n = strlen(map[i].word);
		if (strncmp(status, map[i].word, n) == 0 && (status[n] == ' ' || status[n] == '\0'))
			return map[i].cls;
	}
	return "s-none";
}

/* A table cell with s escaped; NULL shows as a dash. */
static void
cell(struct out *o, const char *cls, const char *s)
{
	if (cls != NULL)
		putf(o, "<td class=\"%s\">", cls);
	else
		put(o, "<td>");
	if (s != NULL)
		esc(o, s);
	else
		put(o, "&#8211;");
	put(o, "</td>");
}

int
status_render(struct json_object *doc, const struct status_query *q, struct buf *b)
{
	struct out o = { b, 0 };

	page_head(&o, doc, q);
	page_nav(&o, doc, q);
	put(&o, "<main>");
	page_warnings(&o, doc);
	page_search(&o, doc);
	page_now(&o, doc);
	page_rates(&o, doc);
	page_suppressions(&o, doc);
	page_latest(&o, doc, q);
	page_domains(&o, doc);
	page_subscriptions(&o, doc);
	put(&o,
	    "</main><footer><p>Rendered by ses-feedback " PACKAGE_VERSION " from "
	    "ses_feedback.status_page() at ");
	esc(&o, str(doc, "generated_at"));
	put(&o,
	    ". Rates are computed as the sending_rates view computes them.</p></footer>"
	    "</body></html>\n");
	if (o.err) {
		buf_free(b);
		return -1;
	}
	return 0;
}

static const char *
scope_word(const char *scope)
{
	if (strcmp(scope, "identity") == 0)
		return "Identity";
	if (strcmp(scope, "configuration_set") == 0)
		return "Configuration set";
	return "All mail";
}

static void
page_head(struct out *o, struct json_object *doc, const struct status_query *q)
{
	put(o,
	    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
	    "<meta name=\"referrer\" content=\"no-referrer\"><title>");
	if (strcmp(q->scope, "all") != 0) {
		esc(o, q->name);
		put(o, " \xe2\x80\x93 ");
	}
	put(o, "SES sending status</title><style>");
	put(o, css);
	put(o, "</style></head><body><header><h1>SES sending status: ");
	put(o, scope_word(q->scope));
	if (strcmp(q->scope, "all") != 0) {
		put(o, " <q>");
		esc(o, q->name);
		put(o, "</q>");
	}
	putf(o, "</h1><p class=\"meta\">Last %d days; current rates over the last ", q->days);
	esc(o, str(doc, "rate_window") != NULL ? str(doc, "rate_window") : "7 days");
	put(o, " (policy rate_window). Generated at <time>");
	esc(o, str(doc, "generated_at"));
	put(o, "</time>.</p>");
}

/* Days links, the selectors (one plain GET form per kind) and the search. */
static void
page_nav(struct out *o, struct json_object *doc, const struct status_query *q)
{
	static const int         days[] = { 7, 30, 90 };
	static const char *const kinds[] = { "identity", "configuration_set" };
	struct json_object      *sel = arr(doc, "selector"), *e;
	size_t                   i, k, n;
	const char              *sc, *nm;

	put(o, "<nav class=\"bar\" aria-label=\"Choose what to show\"><span class=\"days\">");
	for (i = 0; i < sizeof(days) / sizeof(days[0]); i++) {
		put(o, "<a href=\"");
		href(o, days[i], q->scope, q->name, q->q);
		putf(o, "\"%s>%d days</a>", days[i] == q->days ? " aria-current=\"page\"" : "",
		    days[i]);
	}
	put(o, "</span><span class=\"scope\"><a href=\"");
	href(o, q->days, "all", "(all)", NULL);
	putf(o, "\"%s>All mail</a></span>",
	    strcmp(q->scope, "all") == 0 ? " aria-current=\"page\"" : "");
	for (k = 0; k < 2; k++) {
		n = 0;
		for (i = 0; i < len_of(sel); i++)
			if ((e = at(sel, i)) != NULL && (sc = str(e, "scope")) != NULL &&
			    strcmp(sc, kinds[k]) == 0)
				n++;
		if (n == 0)
			continue;
		putf(o,
		    "<form method=\"get\" class=\"pick\" id=\"pick-%s\">"
		    "<input type=\"hidden\" name=\"days\" value=\"%d\">"
		    "<input type=\"hidden\" name=\"scope\" value=\"%s\">"
		    "<label for=\"sel-%s\">%s</label> <select id=\"sel-%s\" name=\"name\">",
		    kinds[k], q->days, kinds[k], kinds[k], scope_word(kinds[k]), kinds[k]);
		if (strcmp(q->scope, kinds[k]) != 0)
			put(o, "<option value=\"\" disabled selected>choose\xe2\x80\xa6</option>");
		for (i = 0; i < len_of(sel); i++) {
			if ((e = at(sel, i)) == NULL || (sc = str(e, "scope")) == NULL ||
			    strcmp(sc, kinds[k]) != 0 || (nm = str(e, "name")) == NULL)
				continue;
			put(o, "<option value=\"");
			esc(o, nm);
			put(o, "\"");
			if (strcmp(q->scope, kinds[k]) == 0 && strcmp(q->name, nm) == 0)
				put(o, " selected");
			put(o, ">");
			esc(o, nm);
			put(o, "</option>");
		}
		putf(o, "</select> <button type=\"submit\">Show</button></form>");
	}
	putf(o,
	    "<form method=\"get\" role=\"search\" id=\"search\">"
	    "<input type=\"hidden\" name=\"days\" value=\"%d\">",
	    q->days);
	if (strcmp(q->scope, "all") != 0) {
		putf(o,
		    "<input type=\"hidden\" name=\"scope\" value=\"%s\">"
		    "<input type=\"hidden\" name=\"name\" value=\"",
		    q->scope);
		esc(o, q->name);
		put(o, "\">");
	}
	putf(o,
	    "<label for=\"q\">Address</label> <input type=\"search\" id=\"q\" name=\"q\" "
	    "maxlength=\"%d\" autocomplete=\"off\" placeholder=\"someone@example.com\" value=\"",
	    STATUS_QUERY_MAX);
	esc(o, q->q);
	put(o, "\"> <button type=\"submit\">Search</button></form></nav></header>");
}

static const char *
warning_text(const char *w)
{
	if (strcmp(w, "pending") == 0)
		return "pending: the subscription is not confirmed, SNS delivers nothing to it";
	if (strcmp(w, "unsubscribed") == 0)
		return "unsubscribed: SNS delivers nothing to it any more";
	if (strcmp(w, "silent") == 0)
		return "silent: confirmed, but nothing received in 24 hours";
	return NULL;
}

/* Subscriptions that need a person, first thing on the page. */
static void
page_warnings(struct out *o, struct json_object *doc)
{
	struct json_object *subs = arr(doc, "subscriptions"), *e;
	const char         *w, *t;
	size_t              i, n = 0;

	for (i = 0; i < len_of(subs); i++) {
		if ((e = at(subs, i)) == NULL || (w = str(e, "warning")) == NULL)
			continue;
		if (n++ == 0)
			put(o,
			    "<section class=\"warn\" id=\"warnings\" aria-labelledby=\"warn-h\">"
			    "<h2 id=\"warn-h\">&#9888; Subscriptions need attention</h2><ul>");
		put(o, "<li><code>");
		esc(o, str(e, "topic_arn"));
		put(o, "</code> \xe2\x80\x94 ");
		t = warning_text(w);
		if (t != NULL)
			put(o, t);
		else
			esc(o, w);
		put(o, "</li>");
	}
	if (n > 0)
		put(o, "</ul></section>");
}

static void
page_search(struct out *o, struct json_object *doc)
{
	struct json_object *s, *sup, *hist, *e;
	const char         *email, *st;
	size_t              i, active = 0;

	if (!json_object_object_get_ex(doc, "search", &s) || s == NULL ||
	    !json_object_is_type(s, json_type_object))
		return;
	put(o,
	    "<section id=\"search-result\" aria-labelledby=\"search-h\"><h2 id=\"search-h\">"
	    "Search: <q>");
	esc(o, str(s, "query"));
	put(o, "</q></h2>");
	email = str(s, "email");
	if (email == NULL) {
		put(o, "<p>That is not an email address ses-feedback can look up.</p></section>");
		return;
	}
	sup = arr(s, "suppressions");
	for (i = 0; i < len_of(sup); i++)
		if ((e = at(sup, i)) != NULL && (st = str(e, "state")) != NULL &&
		    strcmp(st, "active") == 0)
			active++;
	put(o, "<p class=\"verdict\"><code>");
	esc(o, email);
	put(o,
	    active > 0 ? "</code>: <strong>suppressed</strong>.</p>"
	               : "</code>: <strong>not suppressed</strong>.</p>");
	put(o,
	    "<div class=\"wide\"><table id=\"search-suppressions\"><caption>Suppressions of this "
	    "address</caption><thead><tr><th>State</th><th>Scope</th><th>Configuration set</th>"
	    "<th>Contact list</th><th>Topic</th><th>Reason</th><th class=\"n\">Count</th>"
	    "<th>First</th><th>Last</th><th>Expires</th><th>Lifted</th></tr></thead><tbody>");
	for (i = 0; i < len_of(sup); i++) {
		if ((e = at(sup, i)) == NULL)
			continue;
		st = str(e, "state");
		put(o, st != NULL && strcmp(st, "active") == 0 ? "<tr class=\"hot\">" : "<tr>");
		cell(o, NULL, st);
		cell(o, NULL, str(e, "scope"));
		cell(o, NULL, str(e, "configuration_set"));
		cell(o, NULL, str(e, "contact_list"));
		cell(o, NULL, str(e, "topic"));
		cell(o, NULL, str(e, "reason"));
		cell(o, "n", str(e, "count"));
		cell(o, NULL, str(e, "first_at"));
		cell(o, NULL, str(e, "last_at"));
		cell(o, NULL, str(e, "expires_at"));
		cell(o, NULL, str(e, "lifted_at"));
		put(o, "</tr>");
	}
	if (len_of(sup) == 0)
		put(o, "<tr><td colspan=\"11\">none</td></tr>");
	put(o, "</tbody></table></div>");
	hist = arr(s, "history");
	put(o,
	    "<div class=\"scroll\"><table id=\"search-history\"><caption>History, newest first"
	    "</caption><thead><tr><th>At</th><th>What</th><th>Detail</th></tr></thead><tbody>");
	for (i = 0; i < len_of(hist); i++) {
		if ((e = at(hist, i)) == NULL)
			continue;
		put(o, "<tr>");
		cell(o, NULL, str(e, "at"));
		cell(o, NULL, str(e, "what"));
		cell(o, "wrap", str(e, "detail"));
		put(o, "</tr>");
	}
	if (len_of(hist) == 0)
		put(o, "<tr><td colspan=\"3\">nothing recorded</td></tr>");
	put(o, "</tbody></table></div></section>");
}

static void
card(struct out *o, const char *id, const char *title, const char *rate, const char *status,
    const char *count, const char *count_what, const char *of, const char *of_what)
{
	putf(o,
	    "<div class=\"card %s\" id=\"%s\"><h3>%s</h3><p class=\"big\"><data class=\"v\" "
	    "value=\"",
	    status_class(status), id, title);
	esc(o, rate != NULL ? rate : "");
	put(o, "\">");
	if (rate != NULL) {
		esc(o, rate);
		put(o, "&#8239;%");
	} else {
		put(o, "no data");
	}
	put(o, "</data></p><p class=\"st\">");
	esc(o, status != NULL ? status : "no data");
	put(o, "</p><p><span class=\"count\">");
	esc(o, count != NULL ? count : "0");
	putf(o, "</span> %s of <span class=\"of\">", count_what);
	esc(o, of != NULL ? of : "0");
	putf(o, "</span> %s</p></div>", of_what);
}

/* The current rates, as sending_rates has them for this scope. */
static void
page_now(struct out *o, struct json_object *doc)
{
	struct json_object *c = NULL;
	char                sent[32];
	int64_t             d, h;

	json_object_object_get_ex(doc, "current", &c);
	put(o, "<section id=\"now\" aria-labelledby=\"now-h\"><h2 id=\"now-h\">Now (last ");
	esc(o, str(doc, "rate_window") != NULL ? str(doc, "rate_window") : "7 days");
	put(o, ")</h2><div class=\"cards\">");
	/* The bounce rate rests on delivered + hard bounces (sending_rates'
	 * denominator); the sum is printed, not a rate. */
	d = i64(c, "delivered");
	h = i64(c, "hard_bounces");
	snprintf(sent, sizeof(sent), "%lld", (long long)(d + h));
	card(o, "bounce-now", "Bounce rate", str(c, "bounce_rate_pct"), str(c, "bounce_status"),
	    str(c, "hard_bounces"), "hard bounces", sent, "delivered or hard-bounced");
	card(o, "complaint-now", "Complaint rate", str(c, "complaint_rate_pct"),
	    str(c, "complaint_status"), str(c, "complaints"), "complaints", str(c, "delivered"),
	    "delivered");
	put(o,
	    "</div><p class=\"meta\">AWS: keep bounces under 2&#8239;%, review at 5&#8239;%, "
	    "sending may be paused at 10&#8239;%; complaints under 0.1&#8239;%, review at "
	    "0.1&#8239;%, pause possible at 0.5&#8239;%.</p></section>");
}

/* ---- charts -------------------------------------------------------------- */

#define CW 480.0 /* viewBox width: about the size it is shown at, so text stays legible */
#define CH 250.0 /* viewBox height */
#define CL 44.0  /* left margin: y labels */
#define CR 78.0  /* right margin: band labels */
#define CT 12.0
#define CB 30.0 /* bottom margin: x labels */
#define PW (CW - CL - CR)
#define PH (CH - CT - CB)

/* A round axis top at least top, with its tick step. */
static double
nice_top(double top, double *step)
{
	static const double m[] = { 1, 2, 2.5, 5, 10 };
	double              raw = top / 5, mag = pow(10, floor(log10(raw))), s = mag;
	size_t              i;

	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (m[i] * mag >= raw) {
			s = m[i] * mag;
			break;
		}
	*step = s;
	return ceil(top / s - 1e-9) * s;
}

static double
xpos(size_t i, size_t n)
{
	return n <= 1 ? CL + PW / 2 : CL + PW * (double)i / (double)(n - 1);
}

static double
ypos(double v, double top)
{
	if (v > top)
		v = top;
	if (v < 0)
		v = 0;
	return CT + PH - PH * v / top;
}

/* x labels: the first, middle and last day. */
static void
x_labels(struct out *o, struct json_object *days, size_t n, double (*x)(size_t, size_t))
{
	size_t      pick[3] = { 0, n / 2, n - 1 };
	const char *anchor[3] = { "start", "middle", "end" };
	size_t      i;

	if (n == 0)
		return;
	for (i = 0; i < 3; i++) {
		if (i > 0 && pick[i] == pick[i - 1])
			continue;
		putf(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">", x(pick[i], n), CH - 10,
		    n == 1 ? "middle" : anchor[i]);
		esc(o, str(at(days, pick[i]), "day"));
		put(o, "</text>");
	}
}

static void
y_axis(struct out *o, double top, double step, const char *unit)
{
	double v;
	int    i;

	for (i = 0, v = 0; v <= top + step / 1000 && i < 50; i++, v = step * i) {
		putf(o, "<line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>",
		    CL, CL + PW, ypos(v, top), ypos(v, top));
		putf(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%g%s</text>", CL - 6,
		    ypos(v, top) + 4, v, unit);
	}
	putf(o, "<line class=\"axis\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>", CL, CL,
	    CT, CT + PH);
}

struct band {
	double      at;    /* where it starts, percent */
	const char *cls;   /* above, review, pause */
	const char *label; /* at the threshold line */
};

/* One rate's line chart over the days, with AWS's bands behind it. */
static void
line_chart(struct out *o, struct json_object *days, const char *key, const char *id,
    const char *title, const struct band *bands, size_t nbands)
{
	size_t n = len_of(days), i;
	double top = bands[nbands - 1].at * 1.25, step, v, lo, ly;
	int    ok, pen = 0, points = 0;

	for (i = 0; i < n; i++) {
		v = num(at(days, i), key, &ok);
		if (ok && v > top)
			top = v;
	}
	/* A rate is a percentage: the axis ends at 100 whatever came. */
	if (top > 100)
		top = 100;
	top = nice_top(top, &step);
	putf(o,
	    "<figure><svg class=\"chart\" id=\"%s\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" "
	    "aria-labelledby=\"%s-t\"><title id=\"%s-t\">%s per day, %zu days",
	    id, CW, CH, id, id, title, n);
	if (n > 0) {
		put(o, " from ");
		esc(o, str(at(days, 0), "day"));
		put(o, " to ");
		esc(o, str(at(days, n - 1), "day"));
	}
	put(o, "; the table below has every value</title>");
	/* Bands: below the first threshold is fine, then each up to the next. */
	for (i = 0, lo = 0; i <= nbands; i++) {
		double hi = i < nbands ? bands[i].at : top;

		if (hi > top)
			hi = top;
		if (hi > lo)
			putf(o,
			    "<rect class=\"b-%s\" x=\"%.1f\" width=\"%.1f\" y=\"%.1f\" "
			    "height=\"%.1f\"/>",
			    i == 0 ? "ok" : bands[i - 1].cls, CL, PW, ypos(hi, top),
			    ypos(lo, top) - ypos(hi, top));
		lo = hi;
	}
	y_axis(o, top, step, "%");
	/* Threshold labels from the top down, each at least a line below
	 * the one above it, so that squeezed bands stay readable. */
	for (i = nbands, ly = 0; i-- > 0;) {
		double y = ypos(bands[i].at, top), t = y + 4;

		if (bands[i].at > top)
			continue;
		if (ly > 0 && t < ly + 13)
			t = ly + 13;
		ly = t;
		putf(o,
		    "<line class=\"th th-%s\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>"
		    "<text class=\"tl-%s\" x=\"%.1f\" y=\"%.1f\">%s</text>",
		    bands[i].cls, CL, CL + PW, y, y, bands[i].cls, CL + PW + 4, t, bands[i].label);
	}
	/* The line breaks where a day has no volume (a null rate). */
	put(o, "<path class=\"rate\" d=\"");
	for (i = 0; i < n; i++) {
		v = num(at(days, i), key, &ok);
		if (!ok) {
			pen = 0;
			continue;
		}
		putf(o, "%s%.1f %.1f ", pen ? "L" : "M", xpos(i, n), ypos(v, top));
		pen = 1;
		points++;
	}
	put(o, "\"/>");
	for (i = 0; i < n; i++) {
		v = num(at(days, i), key, &ok);
		if (!ok)
			continue;
		putf(o, "<circle class=\"pt\" cx=\"%.1f\" cy=\"%.1f\" r=\"%s\"><title>", xpos(i, n),
		    ypos(v, top), n > 40 ? "1.8" : "2.6");
		esc(o, str(at(days, i), "day"));
		put(o, ": ");
		esc(o, str(at(days, i), key));
		put(o, " %</title></circle>");
	}
	if (points == 0)
		putf(o,
		    "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">no volume in these days"
		    "</text>",
		    CL + PW / 2, CT + PH / 2);
	x_labels(o, days, n, xpos);
	put(o, "</svg></figure>");
}

/* The daily table under a rate chart: what the chart shows, as text. */
static void
rate_table(struct out *o, struct json_object *days, const char *id, const char *caption,
    const char *count_key, const char *count_head, const char *rate_key)
{
	struct json_object *e;
	size_t              i;

	putf(o,
	    "<div class=\"scroll\"><table id=\"%s\"><caption>%s</caption><thead><tr>"
	    "<th>Day</th><th class=\"n\">Delivered</th><th class=\"n\">%s</th>"
	    "<th class=\"n\">Rate %%</th></tr></thead><tbody>",
	    id, caption, count_head);
	for (i = len_of(days); i-- > 0;) {
		if ((e = at(days, i)) == NULL)
			continue;
		put(o, "<tr>");
		cell(o, NULL, str(e, "day"));
		cell(o, "n", str(e, "delivered"));
		cell(o, "n", str(e, count_key));
		cell(o, "n", str(e, rate_key));
		put(o, "</tr>");
	}
	put(o, "</tbody></table></div>");
}

static void
page_rates(struct out *o, struct json_object *doc)
{
	static const struct band bounce[] = { { 2, "above", "aim 2 %" },
		{ 5, "review", "review 5 %" }, { 10, "pause", "pause 10 %" } };
	static const struct band complaint[] = { { 0.1, "review", "review 0.1 %" },
		{ 0.5, "pause", "pause 0.5 %" } };
	struct json_object      *days = arr(doc, "daily");

	put(o,
	    "<section id=\"rates\" aria-labelledby=\"rates-h\"><h2 id=\"rates-h\">Daily rates"
	    "</h2><div class=\"charts\"><div><h3>Bounce rate</h3>");
	line_chart(o, days, "bounce_rate_pct", "bounce-chart",
	    "Bounce rate (hard bounces over "
	    "delivered plus hard bounces)",
	    bounce, 3);
	rate_table(o, days, "bounce-table", "Bounce rate per day, newest first", "hard_bounces",
	    "Hard bounces", "bounce_rate_pct");
	put(o, "</div><div><h3>Complaint rate</h3>");
	line_chart(o, days, "complaint_rate_pct", "complaint-chart",
	    "Complaint rate (complaints "
	    "over delivered)",
	    complaint, 2);
	rate_table(o, days, "complaint-table", "Complaint rate per day, newest first", "complaints",
	    "Complaints", "complaint_rate_pct");
	put(o, "</div></div></section>");
}

static const char *const reasons[] = { "hard_bounce", "soft_bounce", "complaint", "unsubscribe",
	"manual" };
static const char *const reason_words[] = { "hard bounce", "soft bounce", "complaint",
	"unsubscribe", "manual" };
#define NREASONS (sizeof(reasons) / sizeof(reasons[0]))

static double
xbar(size_t i, size_t n)
{
	return CL + PW * ((double)i + 0.5) / (double)(n > 0 ? n : 1);
}

static void
page_suppressions(struct out *o, struct json_object *doc)
{
	struct json_object *days = arr(doc, "suppressions_daily"), *e;
	size_t              n = len_of(days), i, r;
	double              top = 0, step, y, h, w, sum;
	int64_t             c;

	for (i = 0; i < n; i++) {
		for (sum = 0, r = 0; r < NREASONS; r++)
			sum += (double)i64(at(days, i), reasons[r]);
		if (sum > top)
			top = sum;
	}
	/* Past 2^50 a double no longer counts every suppression; no day has
	 * that many. */
	if (top > 1125899906842624.0)
		top = 1125899906842624.0;
	top = nice_top(top < 5 ? 5 : top, &step);
	if (step < 1)
		step = 1;
	w = PW / (double)(n > 0 ? n : 1) * 0.8;
	put(o,
	    "<section id=\"suppressions\" aria-labelledby=\"supp-h\"><h2 id=\"supp-h\">"
	    "Suppressions added per day</h2><div class=\"charts\"><div>");
	putf(o,
	    "<figure><svg class=\"chart\" id=\"supp-chart\" viewBox=\"0 0 %.0f %.0f\" "
	    "role=\"img\" aria-labelledby=\"supp-chart-t\"><title id=\"supp-chart-t\">"
	    "Suppressions added per day by reason, %zu days; the table below has every value"
	    "</title>",
	    CW, CH, n);
	y_axis(o, top, step, "");
	for (i = 0; i < n; i++) {
		e = at(days, i);
		y = CT + PH;
		for (r = 0; r < NREASONS; r++) {
			if ((c = i64(e, reasons[r])) <= 0)
				continue;
			h = PH * (double)c / top;
			if (h > y - CT)
				h = y - CT;
			y -= h;
			putf(o,
			    "<rect class=\"r-%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
			    "height=\"%.1f\"><title>",
			    reasons[r], xbar(i, n) - w / 2, y, w, h);
			esc(o, str(e, "day"));
			putf(o, ": %s ", reason_words[r]);
			esc(o, str(e, reasons[r]));
			put(o, "</title></rect>");
		}
	}
	x_labels(o, days, n, xbar);
	put(o, "</svg><figcaption><ul class=\"legend\">");
	for (r = 0; r < NREASONS; r++)
		putf(o, "<li><span class=\"r-%s\"></span>%s</li>", reasons[r], reason_words[r]);
	put(o, "</ul></figcaption></figure></div><div>");
	put(o,
	    "<div class=\"scroll\"><table id=\"supp-table\"><caption>Suppressions added per "
	    "day by reason, newest first</caption><thead><tr><th>Day</th>");
	for (r = 0; r < NREASONS; r++)
		putf(o, "<th class=\"n\">%s</th>", reason_words[r]);
	put(o, "</tr></thead><tbody>");
	for (i = n; i-- > 0;) {
		if ((e = at(days, i)) == NULL)
			continue;
		put(o, "<tr>");
		cell(o, NULL, str(e, "day"));
		for (r = 0; r < NREASONS; r++)
			cell(o, "n", str(e, reasons[r]));
		put(o, "</tr>");
	}
	put(o, "</tbody></table></div></div></div></section>");
}

static void
page_latest(struct out *o, struct json_object *doc, const struct status_query *q)
{
	struct json_object *l = arr(doc, "latest"), *e;
	size_t              i;

	put(o,
	    "<section id=\"latest\" aria-labelledby=\"latest-h\"><h2 id=\"latest-h\">Latest "
	    "suppressions and lifts</h2><div class=\"wide\"><table id=\"latest-table\"><thead>"
	    "<tr><th>At</th><th>Address</th><th>Action</th><th>Reason</th><th>Scope</th>"
	    "<th>By</th><th>Note</th></tr></thead><tbody>");
	for (i = 0; i < len_of(l); i++) {
		if ((e = at(l, i)) == NULL)
			continue;
		put(o, "<tr>");
		cell(o, NULL, str(e, "at"));
		put(o, "<td><a href=\"");
		/* a search for the address, keeping what the page shows */
		href(o, q->days, q->scope, q->name, str(e, "email"));
		put(o, "#search-result\">");
		esc(o, str(e, "email"));
		put(o, "</a></td>");
		cell(o, NULL, str(e, "action"));
		cell(o, NULL, str(e, "reason"));
		cell(o, NULL, str(e, "scope"));
		cell(o, NULL, str(e, "actor"));
		cell(o, "wrap", str(e, "note"));
		put(o, "</tr>");
	}
	if (len_of(l) == 0)
		put(o, "<tr><td colspan=\"7\">none yet</td></tr>");
	put(o, "</tbody></table></div></section>");
}

static void
page_domains(struct out *o, struct json_object *doc)
{
	struct json_object *l = arr(doc, "domains"), *e;
	size_t              i;

	put(o,
	    "<section id=\"domains\" aria-labelledby=\"domains-h\"><h2 id=\"domains-h\">"
	    "Domains that bounce most (last ");
	esc(o, str(doc, "rate_window") != NULL ? str(doc, "rate_window") : "7 days");
	put(o,
	    ")</h2><div class=\"wide\"><table id=\"domains-table\"><thead><tr><th>Domain</th>"
	    "<th class=\"n\">Hard bounces</th><th class=\"n\">Soft bounces</th>"
	    "<th class=\"n\">Complaints</th><th class=\"n\">Delivered</th><th>Last</th></tr>"
	    "</thead><tbody>");
	for (i = 0; i < len_of(l); i++) {
		if ((e = at(l, i)) == NULL)
			continue;
		put(o, "<tr>");
		cell(o, NULL, str(e, "domain"));
		cell(o, "n", str(e, "hard_bounces"));
		cell(o, "n", str(e, "soft_bounces"));
		cell(o, "n", str(e, "complaints"));
		cell(o, "n", str(e, "delivered"));
		cell(o, NULL, str(e, "last_at"));
		put(o, "</tr>");
	}
	if (len_of(l) == 0)
		put(o, "<tr><td colspan=\"6\">no bounces</td></tr>");
	put(o, "</tbody></table></div></section>");
}

static void
page_subscriptions(struct out *o, struct json_object *doc)
{
	struct json_object *l = arr(doc, "subscriptions"), *e;
	const char         *w;
	size_t              i;

	put(o,
	    "<section id=\"subscriptions\" aria-labelledby=\"subs-h\"><h2 id=\"subs-h\">SNS "
	    "subscriptions</h2><div class=\"wide\"><table id=\"subs-table\"><thead><tr>"
	    "<th>Topic</th><th>Status</th><th>Changed</th><th>Last notification</th>"
	    "<th>Warning</th></tr></thead><tbody>");
	for (i = 0; i < len_of(l); i++) {
		if ((e = at(l, i)) == NULL)
			continue;
		w = str(e, "warning");
		put(o, w != NULL ? "<tr class=\"hot\">" : "<tr>");
		cell(o, "wrap", str(e, "topic_arn"));
		cell(o, NULL, str(e, "status"));
		cell(o, NULL, str(e, "updated_at"));
		cell(o, NULL, str(e, "last_notification_at"));
		if (w != NULL) {
			put(o, "<td class=\"s-pause\"><strong>&#9888; ");
			esc(o, w);
			put(o, "</strong></td>");
		} else {
			put(o, "<td>&#8211;</td>");
		}
		put(o, "</tr>");
	}
	if (len_of(l) == 0)
		put(o, "<tr><td colspan=\"5\">no subscription recorded yet</td></tr>");
	put(o, "</tbody></table></div></section>");
}
