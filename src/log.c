/* SPDX-License-Identifier: ISC */
/* ses-feedback - logging.
 * Every line is logfmt: ts, level, pid, then the caller's fields, so that
 * a request can be followed across workers with grep. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static enum log_level log_level = LOG_LVL_INFO;
static const char    *log_prog = "ses-feedback";

static const char *level_names[] = { "error", "warn", "info", "debug" };
static const int   level_prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
static int         log_syslog;
static char        log_request[64]; /* req= of the request in hand, "" = none */
static char        log_pid[24];     /* pid= of this process, "" = not known yet */

static void        vlog(enum log_level lvl, int with_errno, const char *fmt, va_list ap);
static const char *pid_text(void);

void
log_init(const char *progname, enum log_level level)
{
	log_prog = progname;
	log_level = level;
}

void
log_use_syslog(void)
{
	openlog(log_prog, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	log_syslog = 1;
}

void
log_set_level(enum log_level level)
{
	log_level = level;
}

void
log_set_request(const char *id)
{
	size_t n = id != NULL ? strlen(id) : 0;

	/* as snprintf "%s" would, cut to the buffer */
	if (n >= sizeof(log_request))
		n = sizeof(log_request) - 1;
	if (n > 0)
		memcpy(log_request, id, n);
	log_request[n] = '\0';
}

int
log_parse_level(const char *s, enum log_level *out)
{
	size_t i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

void
logline_init(struct logline *l, enum log_level level)
{
	struct timeval tv;
	struct tm      tm;
	char           ts[32];

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	l->len = 0;
	l->buf[0] = '\0';
	if ((unsigned)level > LOG_LVL_DEBUG)
		level = LOG_LVL_INFO;
	l->prio = level_prio[level];
	logline_addf(l, "ts", "%s.%03ldZ", ts, (long)(tv.tv_usec / 1000));
	l->body = l->len + 1;
	logline_add(l, "level", level_names[level]);
	logline_add(l, "prog", log_prog);
	logline_add(l, "pid", pid_text());
}

static void
pid_forgotten(void)
{
	log_pid[0] = '\0';
}

/* getpid() is a system call, and every line wants it: ask once, and
 * again in a child after fork (the serve workers). Without the fork
 * handler (out of memory) nothing is kept. */
static const char *
pid_text(void)
{
	static int registered;

	if (log_pid[0] != '\0')
		return log_pid;
	if (!registered && pthread_atfork(NULL, NULL, pid_forgotten) == 0)
		registered = 1;
	snprintf(log_pid, sizeof(log_pid), "%ld", (long)getpid());
	if (!registered) {
		static char once[24];

		memcpy(once, log_pid, sizeof(once));
		log_pid[0] = '\0';
		return once;
	}
	return log_pid;
}

/* Append, cut at the end of the buffer less two bytes: the newline
 * logline_emit() adds and the NUL. */
static void
put(struct logline *l, const char *s, size_t n)
{
	size_t room = sizeof(l->buf) - 2 - l->len;

	if (n > room)
		n = room;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
	l->buf[l->len] = '\0';
}

void
logline_add(struct logline *l, const char *key, const char *value)
{
	const char *p;
	int         quote = 0;
	char        esc[8];

	if (value == NULL)
		return;
	if (*value == '\0')
		quote = 1;
	for (p = value; *p != '\0'; p++) {
		if ((unsigned char)*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' ||
		    (unsigned char)*p == 0x7f)
			quote = 1;
	}
	if (l->len > 0)
		put(l, " ", 1);
	put(l, key, strlen(key));
	put(l, "=", 1);
	if (!quote) {
		put(l, value, strlen(value));
		return;
	}
	put(l, "\"", 1);
	for (p = value; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			put(l, esc, 2);
		} else if (c == '\n') {
			put(l, "\\n", 2);
		} else if (c < ' ' || c == 0x7f) {
			snprintf(esc, sizeof(esc), "\\x%02x", c);
			put(l, esc, strlen(esc));
		} else {
			put(l, p, 1);
		}
	}
	put(l, "\"", 1);
}

void
logline_addf(struct logline *l, const char *key, const char *fmt, ...)
{
	char    tmp[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	logline_add(l, key, tmp);
}

void
logline_emit(struct logline *l)
{
	if (log_syslog) {
		syslog(l->prio, "%s", l->body < l->len ? l->buf + l->body : l->buf);
		return;
	}
	/* The byte put() kept free: a cut line still ends. */
	l->buf[l->len++] = '\n';
	l->buf[l->len] = '\0';
	/* One write(2) per line keeps lines from several workers whole. */
	if (write(STDERR_FILENO, l->buf, l->len) < 0) {
		/* nowhere left to complain */
	}
}

static void
vlog(enum log_level lvl, int with_errno, const char *fmt, va_list ap)
{
	struct logline l;
	char           msg[1024];
	int            saved = errno;

	if (lvl > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	logline_init(&l, lvl);
	if (log_request[0] != '\0')
		logline_add(&l, "req", log_request);
	logline_add(&l, "msg", msg);
	if (with_errno)
		logline_add(&l, "error", strerror(saved));
	logline_emit(&l);
	errno = saved;
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_WARN, 1, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_WARN, 0, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_INFO, 0, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_DEBUG, 0, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
