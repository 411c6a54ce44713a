/* SPDX-License-Identifier: ISC */
/* ses-feedback - configuration table and layered look-up.
 * Each row says where its value is stored, how it is checked and where it
 * may come from; one loop loads them all (after PgBouncer's cf_* table). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"

#define FIELD(f) offsetof(struct cfg, f)

/* CFG_T_WORD keys store through an int. */
_Static_assert(sizeof(enum cfg_endpoint) == sizeof(int) && sizeof(enum cfg_log) == sizeof(int) &&
        sizeof(enum log_level) == sizeof(int),
    "CFG_T_WORD fields are int-sized");

static const struct cfg_word on_off[] = { { "on", 1 }, { "off", 0 }, { NULL, 0 } };
static const struct cfg_word endpoints[] = { { "sns", CFG_ENDPOINT_SNS },
	{ "metrics", CFG_ENDPOINT_METRICS }, { "status", CFG_ENDPOINT_STATUS }, { NULL, 0 } };
/* Empty is stderr too: a unit file's "SES_FEEDBACK_LOG=" means "unset". */
static const struct cfg_word log_to[] = { { "stderr", CFG_LOG_STDERR },
	{ "syslog", CFG_LOG_SYSLOG }, { "", CFG_LOG_STDERR }, { NULL, 0 } };
static const struct cfg_word levels[] = { { "error", LOG_LVL_ERROR }, { "warn", LOG_LVL_WARN },
	{ "info", LOG_LVL_INFO }, { "debug", LOG_LVL_DEBUG }, { NULL, 0 } };
static const struct cfg_word sigvers[] = { { "1", 1 }, { "2", 2 }, { NULL, 0 } };

static int  check_number(const struct cfg_def *d, const char *v, unsigned long long *out);
static int  check_word(const struct cfg_def *d, const char *v, int *out);
static void want_words(const struct cfg_def *d, const char *v, char *why, size_t whylen);
static void store(struct cfg *c, const struct cfg_def *d, const char *v);
static int  load(struct cfg *c, const struct cfg_src *src, int scope, char *why, size_t whylen);

/* Alphabetical, like the enum: the order of --help and check-config.
 * name, type, scope and flags, field, min, max, words, what, default, help */
const struct cfg_def cfg_table[CFG__COUNT] = {
	[CFG_AUTO_CONFIRM] = { "SES_FEEDBACK_AUTO_CONFIRM", CFG_T_WORD, CFG_REQUEST,
	    FIELD(auto_confirm), 0, 0, on_off, NULL, "on",
	    "confirm SNS subscriptions from allowed topics (on/off)" },
	[CFG_CA_FILE] = { "SES_FEEDBACK_CA_FILE", CFG_T_STRING, CFG_REQUEST | CFG_EMPTY_NULL,
	    FIELD(ca_file), 0, 0, NULL, NULL, "",
	    "CA bundle for outgoing HTTPS (empty: system default)" },
	[CFG_CERT_CACHE] = { "SES_FEEDBACK_CERT_CACHE", CFG_T_STRING, CFG_REQUEST | CFG_EMPTY_NULL,
	    FIELD(cert_cache), 0, 0, NULL, NULL, "",
	    "directory caching signing certificates (empty: per-worker memory only)" },
	[CFG_CONNECT_TO] = { "SES_FEEDBACK_CONNECT_TO", CFG_T_STRING, CFG_REQUEST | CFG_EMPTY_NULL,
	    FIELD(connect_to), 0, 0, NULL, NULL, "",
	    "libcurl CONNECT_TO entries HOST:PORT:CONNECT-HOST:CONNECT-PORT, space separated" },
	[CFG_DSN] = { "SES_FEEDBACK_DSN", CFG_T_STRING, CFG_REQUEST, FIELD(dsn), 0, 0, NULL, NULL,
	    "", "libpq connection string (empty: libpq defaults and PG* variables)" },
	[CFG_ENDPOINT] = { "SES_FEEDBACK_ENDPOINT", CFG_T_WORD, CFG_REQUEST, FIELD(endpoint), 0, 0,
	    endpoints, NULL, "sns",
	    "what this location serves: sns (POST notifications, GET health), metrics (GET "
	    "Prometheus text) or status (GET the HTML status page); set it in the web server's "
	    "metrics or status location" },
	[CFG_LOG] = { "SES_FEEDBACK_LOG", CFG_T_WORD, CFG_STARTUP, FIELD(log), 0, 0, log_to, NULL,
	    "stderr", "stderr or syslog (facility daemon)" },
	[CFG_LOG_LEVEL] = { "SES_FEEDBACK_LOG_LEVEL", CFG_T_WORD, CFG_STARTUP | CFG_REQUEST,
	    FIELD(log_level), 0, 0, levels, NULL, "info", "error, warn, info or debug" },
	[CFG_MAX_AGE] = { "SES_FEEDBACK_MAX_AGE", CFG_T_LONG, CFG_REQUEST, FIELD(max_age), 60,
	    86400, NULL, "seconds", "4500",
	    "seconds a message's Timestamp may be old; older gets 403 as a replay (60..86400; "
	    "SNS stops retrying after 3600)" },
	[CFG_MAX_BODY] = { "SES_FEEDBACK_MAX_BODY", CFG_T_SIZE, CFG_REQUEST, FIELD(max_body), 4096,
	    16777216, NULL, "a byte count", "1048576",
	    "largest request body in bytes; larger gets 413 (4096..16777216)" },
	[CFG_METRICS_FILE] = { "SES_FEEDBACK_METRICS_FILE", CFG_T_STRING,
	    CFG_STARTUP | CFG_EMPTY_NULL, FIELD(metrics_file), 0, 0, NULL, NULL, "",
	    "file sharing metrics between separately started processes" },
	[CFG_MIN_SIGNATURE_VERSION] = { "SES_FEEDBACK_MIN_SIGNATURE_VERSION", CFG_T_WORD,
	    CFG_REQUEST, FIELD(min_sigver), 0, 0, sigvers, NULL, "1",
	    "lowest SNS SignatureVersion accepted (1 or 2)" },
	[CFG_PREPARE] = { "SES_FEEDBACK_PREPARE", CFG_T_WORD, CFG_REQUEST, FIELD(prepare), 0, 0,
	    on_off, NULL, "on",
	    "named prepared statements (off behind PgBouncer in transaction pooling mode)" },
	[CFG_TOPICS] = { "SES_FEEDBACK_TOPICS", CFG_T_LIST, CFG_REQUEST, FIELD(topics), 0, 0, NULL,
	    "topic list", "",
	    "allowed TopicArns, space or comma separated, * within one field (empty: none)" },
};

const char *
cfg_origin_name(enum cfg_origin o)
{
	switch (o) {
	case CFG_FROM_PARAM:
		return "param";
	case CFG_FROM_ENV:
		return "env";
	default:
		return "default";
	}
}

const char *
cfg_scope_name(int flags)
{
	switch (flags & (CFG_REQUEST | CFG_STARTUP)) {
	case CFG_REQUEST:
		return "request";
	case CFG_STARTUP:
		return "startup";
	default:
		return "startup, request";
	}
}

int
cfg_check(enum cfg_id id, const char *v, char *why, size_t whylen)
{
	const struct cfg_def *d = &cfg_table[id];
	unsigned long long    n;
	const char           *p;
	int                   w;

	switch (d->type) {
	case CFG_T_WORD:
		if (check_word(d, v, &w) == 0)
			return 0;
		want_words(d, v, why, whylen);
		return -1;
	case CFG_T_LONG:
	case CFG_T_SIZE:
		if (check_number(d, v, &n) == 0)
			return 0;
		snprintf(why, whylen, "%s=\"%.64s\": want %s from %lld to %lld", d->name, v,
		    d->what, d->min, d->max);
		return -1;
	case CFG_T_LIST:
		for (p = v; *p != '\0'; p++) {
			if ((unsigned char)*p < ' ' && *p != '\t' && *p != '\n') {
				snprintf(
				    why, whylen, "%s: control character in %s", d->name, d->what);
				return -1;
			}
		}
		return 0;
	case CFG_T_STRING:
		return 0;
	}
	return 0;
}

const char *
cfg_lookup(const struct cfg_src *src, enum cfg_id id, enum cfg_origin *origin)
{
	const char *v = NULL;

	if (src != NULL && src->param != NULL && (cfg_table[id].flags & CFG_REQUEST))
		v = src->param(src->ctx, cfg_table[id].name);
	*origin = CFG_FROM_PARAM;
	if (v == NULL) {
		v = getenv(cfg_table[id].name);
		*origin = CFG_FROM_ENV;
	}
	if (v == NULL) {
		v = cfg_table[id].def;
		*origin = CFG_FROM_DEFAULT;
	}
	return v;
}

int
cfg_load(struct cfg *c, const struct cfg_src *src, char *why, size_t whylen)
{
	return load(c, src, CFG_REQUEST | CFG_STARTUP, why, whylen);
}

int
cfg_load_startup(struct cfg *c, char *why, size_t whylen)
{
	return load(c, NULL, CFG_STARTUP, why, whylen);
}

/* The one loader: keys in scope are looked up and checked, the others
 * take their default (always valid: test_cfg checks it). */
static int
load(struct cfg *c, const struct cfg_src *src, int scope, char *why, size_t whylen)
{
	const struct cfg_def *d;
	const char           *v;
	int                   i;

	for (i = 0; i < CFG__COUNT; i++) {
		d = &cfg_table[i];
		if (d->flags & scope) {
			v = cfg_lookup(src, (enum cfg_id)i, &c->origin[i]);
		} else {
			v = d->def;
			c->origin[i] = CFG_FROM_DEFAULT;
		}
		if (cfg_check((enum cfg_id)i, v, why, whylen) == -1)
			return -1;
		c->raw[i] = v;
		store(c, d, v);
	}
	return 0;
}

/* Convert a checked value into its field. */
static void
store(struct cfg *c, const struct cfg_def *d, const char *v)
{
	char              *field = (char *)c + d->offset;
	unsigned long long n = 0;
	const char        *s = v;
	long               l;
	size_t             z;
	int                w = 0;

	switch (d->type) {
	case CFG_T_STRING:
	case CFG_T_LIST:
		if ((d->flags & CFG_EMPTY_NULL) && *v == '\0')
			s = NULL;
		memcpy(field, &s, sizeof(s));
		break;
	case CFG_T_LONG:
		check_number(d, v, &n);
		l = (long)n;
		memcpy(field, &l, sizeof(l));
		break;
	case CFG_T_SIZE:
		check_number(d, v, &n);
		z = (size_t)n;
		memcpy(field, &z, sizeof(z));
		break;
	case CFG_T_WORD:
		check_word(d, v, &w);
		memcpy(field, &w, sizeof(w));
		break;
	}
}

/* Decimal digits only (no sign, space or base prefix), within the row's
 * range. Returns 0 with *out, or -1. */
static int
check_number(const struct cfg_def *d, const char *v, unsigned long long *out)
{
	unsigned long long n;
	char              *end;

	if (*v < '0' || *v > '9')
		return -1;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (*end != '\0' || errno != 0 || n < (unsigned long long)d->min ||
	    n > (unsigned long long)d->max)
		return -1;
	*out = n;
	return 0;
}

/* Exactly one of the row's words. Returns 0 with *out, or -1. */
static int
check_word(const struct cfg_def *d, const char *v, int *out)
{
	const struct cfg_word *w;

	for (w = d->map; w->word != NULL; w++) {
		if (strcmp(v, w->word) == 0) {
			*out = w->value;
			return 0;
		}
	}
	return -1;
}

/* NAME="value": want a, b or c (the empty word, where allowed, is not
 * worth naming). */
static void
want_words(const struct cfg_def *d, const char *v, char *why, size_t whylen)
{
	const struct cfg_word *w;
	char                   list[128];
	size_t                 n = 0, left = 0, len = 0;

	for (w = d->map; w->word != NULL; w++) {
		if (*w->word != '\0')
			n++;
	}
	list[0] = '\0';
	for (w = d->map; w->word != NULL; w++) {
		if (*w->word == '\0')
			continue;
		left++;
		snprintf(list + len, sizeof(list) - len, "%s%s",
		    left == 1       ? ""
		        : left == n ? " or "
		                    : ", ",
		    w->word);
		len = strlen(list);
	}
	snprintf(why, whylen, "%s=\"%.64s\": want %s", d->name, v, list);
}

void
cfg_verify_opts(const struct cfg *c, time_t now, struct verify_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->topics = c->topics;
	o->min_sigver = c->min_sigver;
	o->max_age = c->max_age;
	o->now = now;
	o->cert_dir = c->cert_cache;
	o->http.ca_file = c->ca_file;
	o->http.connect_to = c->connect_to;
}
