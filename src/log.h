/* SPDX-License-Identifier: ISC */
/* ses-feedback - logging.
 * logfmt lines on stderr (journald, nginx error_log and spawn-fcgi all keep
 * it). Never pass a key, token or signature to these functions. */
#ifndef SF_LOG_H
#define SF_LOG_H

#include <stddef.h>

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void log_init(const char *progname, enum log_level level);
/* Send lines to syslog (facility daemon) instead of standard error. */
void log_use_syslog(void);
void log_set_level(enum log_level level);
int  log_parse_level(const char *s, enum log_level *out);
/* Tag every line logged from now on with req=id (the request being
 * served), so that a warning from deep inside a request can be matched
 * with its access line; NULL clears it. The id is copied (at most 63
 * bytes are kept). One request at a time per process. */
void log_set_request(const char *id);

/* log_warn adds strerror(errno); the x variants do not. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* A logfmt line under construction: fixed storage, silently truncated,
 * always room kept for the newline, so that a cut line never runs into the
 * next worker's. */
struct logline {
	char   buf[2048]; /* the line so far, NUL-terminated */
	size_t len;       /* bytes used in buf */
	size_t body;      /* where the fields after ts start (syslog adds its own) */
	int    prio;      /* syslog priority of the level */
};

/* Start a line at level: ts, level, prog and pid come first. A line built
 * this way is written by logline_emit() whatever SES_FEEDBACK_LOG_LEVEL
 * says: the per-request access line is built so, and is an access log
 * that is always written (one line per request, like a web server's);
 * its level only says how the request ended. The level setting filters
 * the log_warn/log_info/log_debug lines. */
void logline_init(struct logline *l, enum log_level level);
/* Append key=value, quoting and escaping value when needed. A NULL value
 * is skipped. */
void logline_add(struct logline *l, const char *key, const char *value);
void logline_addf(struct logline *l, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void logline_emit(struct logline *l);

#endif
