/* SPDX-License-Identifier: ISC */
/* ses-feedback - `serve`: own socket, prefork workers, supervisor
 * (cgi/serve.c). Options are parsed by the caller (cgi/cmd_serve.c). */
#ifndef SF_SERVE_H
#define SF_SERVE_H

#include <sys/types.h>

struct serve_opts {
	const char *listen;       /* unix:PATH or HOST:PORT */
	const char *user;         /* drop to this user after binding; NULL = stay */
	long        workers;      /* 1 .. LIM_SERVE_MAX_WORKERS */
	mode_t      socket_mode;  /* of a unix socket */
	int         io_timeout;   /* seconds; see struct fcgi_opts */
	const char *metrics_file; /* NULL = shared memory between the workers */
};

/* Listen, drop privileges, fork o->workers workers and supervise them
 * until SIGTERM or SIGINT; then let them finish. Set-up failures are
 * fatal. Returns the process exit status. */
int serve_run(const struct serve_opts *o);

#endif
