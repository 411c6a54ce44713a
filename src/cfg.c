/* SPDX-License-Identifier: ISC */
/* ses-feedback - configuration table and layered look-up. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"

/* Alphabetical, like the enum. */
const struct cfg_def cfg_table[CFG__COUNT] = {
	[CFG_AUTO_CONFIRM] = { "SES_FEEDBACK_AUTO_CONFIRM", CFG_T_BOOL, "on",
	    "confirm SNS subscriptions from allowed topics (on/off)" },
	[CFG_CA_FILE] = { "SES_FEEDBACK_CA_FILE", CFG_T_STRING, "",
	    "CA bundle for outgoing HTTPS (empty: system default)" },
	[CFG_CERT_CACHE] = { "SES_FEEDBACK_CERT_CACHE", CFG_T_STRING, "",
	    "directory caching signing certificates (empty: per-worker memory only)" },
	[CFG_CONNECT_TO] = { "SES_FEEDBACK_CONNECT_TO", CFG_T_STRING, "",
	    "libcurl CONNECT_TO entries HOST:PORT:CONNECT-HOST:CONNECT-PORT, space separated" },
	[CFG_DSN] = { "SES_FEEDBACK_DSN", CFG_T_STRING, "",
	    "libpq connection string (empty: libpq defaults and PG* variables)" },
	[CFG_ENDPOINT] = { "SES_FEEDBACK_ENDPOINT", CFG_T_ENDPOINT, "sns",
	    "what this location serves: sns (POST notifications, GET health) or metrics (GET "
	    "Prometheus text); set it in the web server's metrics location" },
	[CFG_LOG] = { "SES_FEEDBACK_LOG", CFG_T_STRING, "stderr",
	    "(environment, read at start) stderr or syslog (facility daemon)" },
	[CFG_LOG_LEVEL] = { "SES_FEEDBACK_LOG_LEVEL", CFG_T_LEVEL, "info",
	    "error, warn, info or debug" },
	[CFG_MAX_AGE] = { "SES_FEEDBACK_MAX_AGE", CFG_T_SECONDS, "4500",
	    "seconds a message's Timestamp may be old; older gets 403 as a replay (60..86400; "
	    "SNS stops retrying after 3600)" },
	[CFG_MAX_BODY] = { "SES_FEEDBACK_MAX_BODY", CFG_T_SIZE, "1048576",
	    "largest request body in bytes; larger gets 413 (4096..16777216)" },
	[CFG_METRICS_FILE] = { "SES_FEEDBACK_METRICS_FILE", CFG_T_STRING, "",
	    "(environment, read at start) file sharing metrics between separately started "
	    "processes" },
	[CFG_MIN_SIGNATURE_VERSION] = { "SES_FEEDBACK_MIN_SIGNATURE_VERSION", CFG_T_SIGVER, "1",
	    "lowest SNS SignatureVersion accepted (1 or 2)" },
	[CFG_PREPARE] = { "SES_FEEDBACK_PREPARE", CFG_T_BOOL, "on",
	    "named prepared statements (off behind PgBouncer in transaction pooling mode)" },
	[CFG_TOPICS] = { "SES_FEEDBACK_TOPICS", CFG_T_TOPICS, "",
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

int
cfg_check(enum cfg_id id, const char *v, char *why, size_t whylen)
{
	const struct cfg_def *d = &cfg_table[id];
	enum log_level        lvl;
	char                 *end;
	unsigned long long    n;
	const char           *p;

	switch (d->type) {
	case CFG_T_BOOL:
		if (strcmp(v, "on") == 0 || strcmp(v, "off") == 0)
			return 0;
		snprintf(why, whylen, "%s=\"%.64s\": want on or off", d->name, v);
		return -1;
	case CFG_T_SIGVER:
		if (strcmp(v, "1") == 0 || strcmp(v, "2") == 0)
			return 0;
		snprintf(why, whylen, "%s=\"%.64s\": want 1 or 2", d->name, v);
		return -1;
	case CFG_T_LEVEL:
		if (log_parse_level(v, &lvl) == 0)
			return 0;
		snprintf(why, whylen, "%s=\"%.64s\": want error, warn, info or debug", d->name, v);
		return -1;
	case CFG_T_SIZE:
		errno = 0;
		n = strtoull(v, &end, 10);
		if (*v < '0' || *v > '9' || *end != '\0' || errno != 0 || n < 4096 ||
		    n > 16777216) {
			snprintf(why, whylen,
			    "%s=\"%.64s\": want a byte count from 4096 to 16777216", d->name, v);
			return -1;
		}
		return 0;
	case CFG_T_SECONDS:
		errno = 0;
		n = strtoull(v, &end, 10);
		if (*v < '0' || *v > '9' || *end != '\0' || errno != 0 || n < 60 || n > 86400) {
			snprintf(
			    why, whylen, "%s=\"%.64s\": want seconds from 60 to 86400", d->name, v);
			return -1;
		}
		return 0;
	case CFG_T_ENDPOINT:
		if (strcmp(v, "sns") == 0 || strcmp(v, "metrics") == 0)
			return 0;
		snprintf(why, whylen, "%s=\"%.64s\": want sns or metrics", d->name, v);
		return -1;
	case CFG_T_TOPICS:
		for (p = v; *p != '\0'; p++) {
			if ((unsigned char)*p < ' ' && *p != '\t' && *p != '\n') {
				snprintf(
				    why, whylen, "%s: control character in topic list", d->name);
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

	if (src != NULL && src->param != NULL)
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
	int         i;
	const char *v;

	for (i = 0; i < CFG__COUNT; i++) {
		v = cfg_lookup(src, (enum cfg_id)i, &c->origin[i]);
		if (cfg_check((enum cfg_id)i, v, why, whylen) == -1)
			return -1;
		c->raw[i] = v;
	}
	c->auto_confirm = strcmp(c->raw[CFG_AUTO_CONFIRM], "on") == 0;
	c->ca_file = *c->raw[CFG_CA_FILE] ? c->raw[CFG_CA_FILE] : NULL;
	c->cert_cache = *c->raw[CFG_CERT_CACHE] ? c->raw[CFG_CERT_CACHE] : NULL;
	c->connect_to = *c->raw[CFG_CONNECT_TO] ? c->raw[CFG_CONNECT_TO] : NULL;
	c->dsn = c->raw[CFG_DSN];
	c->endpoint =
	    strcmp(c->raw[CFG_ENDPOINT], "metrics") == 0 ? CFG_ENDPOINT_METRICS : CFG_ENDPOINT_SNS;
	c->max_age = strtol(c->raw[CFG_MAX_AGE], NULL, 10);
	log_parse_level(c->raw[CFG_LOG_LEVEL], &c->log_level);
	c->max_body = (size_t)strtoull(c->raw[CFG_MAX_BODY], NULL, 10);
	c->min_sigver = c->raw[CFG_MIN_SIGNATURE_VERSION][0] - '0';
	c->prepare = strcmp(c->raw[CFG_PREPARE], "on") == 0;
	c->topics = c->raw[CFG_TOPICS];
	return 0;
}
