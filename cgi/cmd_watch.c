/* SPDX-License-Identifier: ISC */
/* ses-feedback - `watch [--json]`: LISTEN on the suppression channel and
 * print each change of an address's state as it is committed, one logfmt
 * (or JSON) line each; for operators, and the reference listener. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>
#include <libpq-fe.h>

#include "cfg.h"
#include "cmd.h"
#include "db.h"
#include "log.h"

/* sql/functions.sql, suppressions_notify(), sends on this channel. */
#define WATCH_CHANNEL "ses_feedback_suppressions"

struct watch_args {
	int json; /* 1: the payload as one JSON line; 0: logfmt */
};

static volatile sig_atomic_t watch_stop;

static void watch_signal(int sig);
static int  watch_in(PGconn *c, void *arg, char *why, size_t whylen);
static void print_change(const char *payload, int json);
static void print_value(const char *key, const char *value);

int
cmd_watch(int argc, char **argv)
{
	struct watch_args    a = { 0 };
	struct cfg           c;
	struct sigaction     sa;
	char                 why[1024];
	const struct cmd_opt opts[] = { { "json", NULL, &a.json }, { NULL, NULL, NULL } };

	if (cmd_args(argc, argv, opts, NULL) == -1)
		return CMD_USAGE;
	if (cfg_load(&c, NULL, why, sizeof(why)) == -1)
		fatalx("%s", why);
	/* No SA_RESTART: the signal must end the wait in ppoll(). */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = watch_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) == -1 || sigaction(SIGTERM, &sa, NULL) == -1)
		fatal("sigaction");
	if (db_with_conn(c.dsn, watch_in, &a, why, sizeof(why)) == -1) {
		fprintf(stderr, "ses-feedback watch: %s\n", why);
		return CMD_FAIL;
	}
	return CMD_OK;
}

static void
watch_signal(int sig)
{
	(void)sig;
	watch_stop = 1;
}

/* Wait for notifications on c until SIGINT or SIGTERM (0) or until the
 * connection is lost (-1). A lost connection ends watch instead of
 * reconnecting: changes committed while it was away are not re-sent by
 * PostgreSQL, so a listener must read the state again anyway; watch
 * leaves that, and the restart, to whoever runs it. The two signals are
 * blocked except inside ppoll(), so one that arrives between the check
 * and the wait is not lost. */
static int
watch_in(PGconn *c, void *arg, char *why, size_t whylen)
{
	const struct watch_args *a = arg;
	struct pollfd            p;
	PGnotify                *n;
	sigset_t                 block, wait;

	if (db_exec(c, "LISTEN " WATCH_CHANNEL, why, whylen) == -1)
		return -1;
	fprintf(stderr, "ses-feedback watch: listening on channel %s\n", WATCH_CHANNEL);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &block, &wait) == -1) {
		snprintf(why, whylen, "sigprocmask: %s", strerror(errno));
		return -1;
	}
	sigdelset(&wait, SIGINT);
	sigdelset(&wait, SIGTERM);
	while (!watch_stop) {
		/* What libpq holds already (a notification can arrive with the
		 * answer to LISTEN, or with the last input read) is printed
		 * before waiting for more. */
		while ((n = PQnotifies(c)) != NULL) {
			print_change(n->extra, a->json);
			PQfreemem(n);
		}
		if (fflush(stdout) == EOF) {
			snprintf(why, whylen, "write error: %s", strerror(errno));
			return -1;
		}
		p.fd = PQsocket(c);
		p.events = POLLIN;
		p.revents = 0;
		if (p.fd < 0) {
			snprintf(why, whylen, "connection to the database lost; restart watch");
			return -1;
		}
		if (ppoll(&p, 1, NULL, &wait) == -1) {
			if (errno == EINTR)
				continue;
			snprintf(why, whylen, "poll: %s", strerror(errno));
			return -1;
		}
		if (PQconsumeInput(c) != 1 || PQstatus(c) != CONNECTION_OK) {
			db_error(c, why, whylen);
			snprintf(why + strlen(why), whylen - strlen(why),
			    " (connection to the database lost; changes from now on are not seen "
			    "until watch is started again)");
			return -1;
		}
	}
	return 0;
}

/* One line for one payload: with json, the payload itself, compact; else
 * logfmt in a fixed key order. A payload that is not our JSON (a NOTIFY
 * by hand) is shown as payload=... rather than dropped. */
static void
print_change(const char *payload, int json)
{
	static const char *const keys[] = { "at", "state", "email", "reason", "scope",
		"expires_at" };
	struct json_object      *o, *v;
	size_t                   i;

	o = json_tokener_parse(payload);
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		if (json) {
			o = json_object_new_object();
			if (o != NULL &&
			    json_object_object_add(o, "payload", json_object_new_string(payload)) ==
			        0)
				printf("%s\n",
				    json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
			json_object_put(o);
			return;
		}
		print_value("payload", payload);
		putchar('\n');
		return;
	}
	if (json) {
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
		return;
	}
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (!json_object_object_get_ex(o, keys[i], &v) || v == NULL)
			continue;
		if (i > 0)
			putchar(' ');
		print_value(keys[i], json_object_get_string(v));
	}
	putchar('\n');
	json_object_put(o);
}

/* key=value, the value quoted (with " and \ escaped, control characters
 * as \xHH) when it is empty or holds a space, '=' or '"'. */
static void
print_value(const char *key, const char *value)
{
	const unsigned char *s;
	int                  quote = value[0] == '\0';

	for (s = (const unsigned char *)value; *s != '\0'; s++) {
		if (*s <= ' ' || *s == '=' || *s == '"' || *s == '\\' || *s == 0x7f)
			quote = 1;
	}
	printf("%s=", key);
	if (!quote) {
		fputs(value, stdout);
		return;
	}
	putchar('"');
	for (s = (const unsigned char *)value; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if (*s < ' ' || *s == 0x7f)
			printf("\\x%02x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}
