/* SPDX-License-Identifier: ISC */
/* ses-feedback - `serve --listen unix:PATH|HOST:PORT [--workers N|auto]
 * [--user USER] [--socket-mode MODE] [--io-timeout SEC]`: the options,
 * checked, for the supervisor (cgi/serve.c). */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bounds.h"
#include "cfg.h"
#include "cmd.h"
#include "log.h"
#include "serve.h"

/* A whole number in base from lo to hi, or -1. */
static long
number(const char *s, int base, long lo, long hi)
{
	char *end;
	long  n;

	n = strtol(s, &end, base);
	if (*s == '\0' || *end != '\0' || n < lo || n > hi)
		return -1;
	return n;
}

/* Workers when --workers is not given: enough transactions in flight for
 * PostgreSQL's group commit, without an operator tuning it. */
static long
default_workers(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		n = 1;
	n *= LIM_SERVE_WORKERS_PER_CPU;
	if (n < LIM_SERVE_MIN_WORKERS)
		n = LIM_SERVE_MIN_WORKERS;
	if (n > LIM_SERVE_DEFAULT_MAX_WORKERS)
		n = LIM_SERVE_DEFAULT_MAX_WORKERS;
	return n;
}

int
cmd_serve(int argc, char **argv)
{
	struct serve_opts    o = { NULL, NULL, 0, 0660, LIM_FCGI_IO_S, NULL };
	struct cfg           c;
	const char          *workers = NULL, *mode = NULL, *timeout = NULL;
	const struct cmd_opt opts[] = { { "listen", &o.listen, NULL },
		{ "workers", &workers, NULL }, { "user", &o.user, NULL },
		{ "io-timeout", &timeout, NULL }, { "socket-mode", &mode, NULL },
		{ NULL, NULL, NULL } };
	char                 why[256];
	long                 m;

	if (cmd_args(argc, argv, opts, NULL) == -1 || o.listen == NULL)
		return CMD_USAGE;
	/* auto: the default said out loud (a unit file's variable) */
	if (workers != NULL && strcmp(workers, "auto") != 0) {
		o.workers = number(workers, 10, 1, LIM_SERVE_MAX_WORKERS);
		if (o.workers == -1)
			fatalx("--workers wants a number from 1 to %d, or auto",
			    LIM_SERVE_MAX_WORKERS);
	} else {
		o.workers = default_workers();
	}
	if (timeout != NULL) {
		o.io_timeout = (int)number(timeout, 10, 1, 3600);
		if (o.io_timeout == -1)
			fatalx("--io-timeout wants seconds from 1 to 3600");
	}
	if (mode != NULL) {
		m = number(mode, 8, 0, 0777);
		if (m == -1)
			fatalx("--socket-mode wants an octal mode such as 0660");
		o.socket_mode = (mode_t)m;
	}
	/* Checked by main() already; only the value is wanted here. */
	if (cfg_load_startup(&c, why, sizeof(why)) == -1)
		fatalx("%s", why);
	o.metrics_file = c.metrics_file;
	return serve_run(&o);
}
