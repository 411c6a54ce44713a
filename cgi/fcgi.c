/* SPDX-License-Identifier: ISC */
/* ses-feedback - FastCGI and plain CGI front ends.
 * Turn a libfcgi request (or a CGI environment) into struct request, run
 * the handler, write the status line. SIGTERM is held while a request is
 * in flight, so a graceful stop never cuts one off. Each request has one
 * deadline from accept to answer, and a much shorter one for arriving. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "bounds.h"
#include "cgi.h"
#include "handler.h"
#include "log.h"
#include "metrics.h"
#include "proc.h"

/* Set by SIGTERM/SIGINT: finish the request, then exit. */
static volatile sig_atomic_t stopping;
/* The connection whose request is still arriving, or -1. */
static volatile sig_atomic_t arriving_fd = -1;
/* The request's body was read to its end (see fcgi_serve). */
static int read_whole;

/* The request's parameters by name, made on the first look-up: the
 * handler and the configuration ask for some twenty names, and libfcgi
 * compares each with every parameter in turn. The first of two
 * parameters of one name is the one found, as with FCGX_GetParam(). A
 * request with more parameters than half the table is looked up the
 * slow way. */
#define PARAM_SLOTS 256

struct param_index {
	FCGX_ParamArray envp;              /* the request indexed; NULL: none yet */
	int             usable;            /* 0: too many, use FCGX_GetParam() */
	const char     *name[PARAM_SLOTS]; /* "NAME=value", NULL when free */
	size_t          len[PARAM_SLOTS];  /* of NAME */
};

static struct param_index params;

static void on_stop(int sig);
static void response_write(
    const struct response *out, void (*put)(void *ctx, const char *p, size_t n), void *ctx);
static void        fcgi_put(void *ctx, const char *p, size_t n);
static void        stdout_put(void *ctx, const char *p, size_t n);
static void        on_read_deadline(int sig);
static void        read_deadline_arm(int fd);
static void        read_deadline_disarm(void);
static const char *fcgi_param(void *ctx, const char *name);
static long        fcgi_read(void *ctx, char *p, size_t n);
static const char *env_param(void *ctx, const char *name);
static long        stdin_read(void *ctx, char *p, size_t n);

/* Bound every read and write on the connection. libfcgi then sees an
 * error, the request fails and the worker moves on. Returns 0, or -1 (the
 * connection is not to be served without its bounds). */
static int
set_timeouts(int fd, int seconds)
{
	struct timeval tv = { seconds, 0 };

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1) {
		log_warn("setsockopt timeouts");
		return -1;
	}
	return 0;
}

static void
on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

/* A request that has not arrived whole by its read deadline is cut off:
 * shutting the read side makes every read, the one blocked now or the
 * next, return end of file, whether libfcgi or the handler is reading.
 * shutdown() is async-signal-safe; the answer can still be written. */
static void
on_read_deadline(int sig)
{
	int fd = arriving_fd, saved = errno;

	(void)sig;
	if (fd >= 0)
		shutdown(fd, SHUT_RD);
	errno = saved;
}

/* A trickling client keeps every single read inside SO_RCVTIMEO; only a
 * deadline for the request as a whole stops it holding the worker. */
static void
read_deadline_arm(int fd)
{
	struct itimerval it = { { 0, 0 },
		{ LIM_REQUEST_READ_MS / 1000, (LIM_REQUEST_READ_MS % 1000) * 1000 } };

	arriving_fd = fd;
	setitimer(ITIMER_REAL, &it, NULL);
}

/* Before the connection is closed: its number may be reused at once.
 * Only the main flow arms the timer and sets arriving_fd, so -1 means it
 * is off already (the body read to its end disarms it first). */
static void
read_deadline_disarm(void)
{
	struct itimerval off = { { 0, 0 }, { 0, 0 } };

	if (arriving_fd < 0)
		return;
	setitimer(ITIMER_REAL, &off, NULL);
	arriving_fd = -1;
}

static uint32_t
param_hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	size_t   i;

	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static void
params_index(FCGX_ParamArray envp)
{
	const char *eq;
	size_t      n = 0, len;
	uint32_t    i;
	char      **p;

	memset(&params, 0, sizeof(params));
	params.envp = envp;
	for (p = envp; p != NULL && *p != NULL; p++)
		n++;
	if (n > PARAM_SLOTS / 2)
		return;
	for (p = envp; p != NULL && *p != NULL; p++) {
		eq = strchr(*p, '=');
		if (eq == NULL)
			continue; /* FCGX_GetParam() would never match it either */
		len = (size_t)(eq - *p);
		for (i = param_hash(*p, len) % PARAM_SLOTS; params.name[i] != NULL;
		     i = (i + 1) % PARAM_SLOTS) {
			if (params.len[i] == len && memcmp(params.name[i], *p, len) == 0)
				break;
		}
		if (params.name[i] == NULL) {
			params.name[i] = *p;
			params.len[i] = len;
		}
	}
	params.usable = 1;
}

static const char *
fcgi_param(void *ctx, const char *name)
{
	FCGX_Request *req = ctx;
	size_t        len;
	uint32_t      i;

	if (name == NULL)
		return NULL;
	if (params.envp != req->envp)
		params_index(req->envp);
	if (!params.usable)
		return FCGX_GetParam(name, req->envp);
	len = strlen(name);
	for (i = param_hash(name, len) % PARAM_SLOTS; params.name[i] != NULL;
	     i = (i + 1) % PARAM_SLOTS) {
		if (params.len[i] == len && memcmp(params.name[i], name, len) == 0)
			return params.name[i] + len + 1;
	}
	return NULL;
}

static long
fcgi_read(void *ctx, char *p, size_t n)
{
	FCGX_Request *req = ctx;
	int           got;

	got = FCGX_GetStr(p, (int)n, req->in);
	if (got == 0 && FCGX_GetError(req->in) != 0)
		return -1;
	if (got == 0) {
		read_deadline_disarm(); /* all of it is here */
		read_whole = 1;
	}
	return got;
}

/* Wait for the next connection, or for the next request on a kept one,
 * with SIGTERM let through only while waiting (ppoll makes that atomic, so
 * a stop is never missed and never cuts a request). A kept connection is
 * given up as soon as a new connection waits: a prefork worker serves one
 * connection at a time, and an idle one must not starve the others.
 * Returns 0 with req->ipcFd ready to read, or -1 (stop, or try again). */
static int
next_connection(FCGX_Request *req, int lfd, const sigset_t *waitmask, int io_timeout)
{
	struct pollfd   p[2];
	struct timespec ts = { io_timeout, 0 };
	int             n, fd;

	p[0].fd = lfd;
	p[0].events = POLLIN;
	p[1].fd = req->ipcFd;
	p[1].events = POLLIN;
	n = ppoll(p, req->ipcFd >= 0 ? 2 : 1, req->ipcFd >= 0 ? &ts : NULL, waitmask);
	if (n == -1 || stopping)
		return -1;
	if (req->ipcFd >= 0) {
		if (p[1].revents != 0) {
			read_deadline_arm(req->ipcFd);
			return 0; /* the kept connection has a request (or EOF) */
		}
		FCGX_Free(req, 1); /* idle while others wait, or timed out */
		if (n == 0)
			return -1;
	}
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd == -1) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("accept");
		return -1;
	}
	if (set_timeouts(fd, io_timeout) == -1) {
		close(fd);
		return -1;
	}
	req->ipcFd = fd;
	read_deadline_arm(fd);
	return 0;
}

/* Signals: SIGTERM and SIGINT only set a flag, and are blocked except
 * while waiting for a connection; SIGALRM is the read deadline. Returns
 * the mask to wait with in *waitmask. */
static void
worker_signals(sigset_t *waitmask)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	proc_install_handlers(&set, on_stop, 0);
	if (sigprocmask(SIG_BLOCK, &set, waitmask) == -1)
		fatal("sigprocmask");
	/* SA_RESTART: the alarm must not fail other calls with EINTR; the
	 * read it targets ends anyway, the read side being shut. */
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	proc_install_handlers(&set, on_read_deadline, SA_RESTART);
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	proc_install_handlers(&set, SIG_IGN, 0);
}

/* libfcgi on the shared listening socket. */
static void
worker_fcgi_init(FCGX_Request *req, int fd)
{
	int fl;

	/* Workers share the listening socket: whoever loses the race for a
	 * connection gets EAGAIN and goes back to waiting. */
	fl = fcntl(fd, F_GETFL);
	if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		fatal("listening socket");
	if (FCGX_Init() != 0)
		fatalx("FCGX_Init failed");
	if (FCGX_InitRequest(req, fd, 0) != 0)
		fatalx("FCGX_InitRequest failed");
	/* We accept (next_connection), so that each connection gets its
	 * socket timeouts and read deadline. libfcgi would accept another by
	 * itself when one closes before its first record, and wait on that
	 * one without either: give it nothing to accept on. */
	req->listen_sock = -1;
}

int
fcgi_serve(int fd, const struct fcgi_opts *o)
{
	struct handler  h;
	struct request  r;
	struct response out;
	FCGX_Request    req;
	sigset_t        old;
	int             rc;

	stopping = 0;
	worker_signals(&old);
	worker_fcgi_init(&req, fd);
	if (handler_init(&h) == -1)
		fatalx("out of memory");
	r.param = fcgi_param;
	r.read = fcgi_read;
	r.ctx = &req;
	while (!stopping) {
		if (next_connection(&req, fd, &old, o->io_timeout) == -1)
			continue;
		/* Keep libfcgi from closing the connection we hand it; the
		 * request's own flags set keepConnection again. */
		req.keepConnection = 1;
		rc = FCGX_Accept_r(&req);
		if (rc < 0) {
			/* -EBADF: closed before its first record (see above) */
			read_deadline_disarm();
			if (rc != -EBADF)
				log_debug("FastCGI request not read (%d)", rc);
			continue;
		}
		if (FCGX_GetError(req.in) != 0) {
			/* The parameters never came whole (not within the read
			 * deadline, or broken): drop the connection. */
			read_deadline_disarm();
			log_info("FastCGI request not complete within %d ms, or broken; dropped",
			    LIM_REQUEST_READ_MS);
			FCGX_Free(&req, 1);
			continue;
		}
		store_set_deadline(h.store, LIM_REQUEST_MS);
		http_set_deadline(h.http, LIM_REQUEST_MS);
		read_whole = 0;
		params.envp = NULL; /* libfcgi may place the next one at the same address */
		handler_run(&h, &r, &out);
		read_deadline_disarm();
		response_write(&out, fcgi_put, req.out);
		handler_response_free(&out);
		/* libfcgi closes by shutting the write side, then waiting for
		 * the web server to close first, reading what it still sends,
		 * so that unread input never makes the kernel reset the
		 * connection (and lose the answer) on close. Once the body was
		 * read to its end nothing more comes for this request: close
		 * at once, without the three system calls and the wait for
		 * the web server. "detached" is what makes libfcgi close
		 * plainly; it is never left set for the next request. */
		req.detached = read_whole && FCGX_GetError(req.in) == 0;
		FCGX_Finish_r(&req);
		req.detached = 0;
		handler_after(&h);
	}
	FCGX_Free(&req, 1);
	handler_free(&h);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return 0;
}

/* The one writer of an answer, for both front ends: status line, the
 * headers the status needs, a blank line, the body. put writes n bytes to
 * libfcgi's stream or standard output. */
static void
response_write(
    const struct response *out, void (*put)(void *ctx, const char *p, size_t n), void *ctx)
{
	static const char allow[] = "Allow: GET, HEAD, POST\r\n";
	char              line[256];

	snprintf(line, sizeof(line), "Status: %d %s\r\nContent-Type: %s\r\n", out->status,
	    handler_reason(out->status), out->content_type);
	put(ctx, line, strlen(line));
	if (out->retry_after > 0) {
		snprintf(line, sizeof(line), "Retry-After: %d\r\n", out->retry_after);
		put(ctx, line, strlen(line));
	}
	if (out->status == 405)
		put(ctx, allow, sizeof(allow) - 1);
	if (out->headers != NULL)
		put(ctx, out->headers, strlen(out->headers));
	put(ctx, "\r\n", 2);
	if (out->text != NULL) {
		put(ctx, out->text, out->text_len);
	} else {
		put(ctx, out->body, strlen(out->body));
		put(ctx, "\n", 1);
	}
}

static void
fcgi_put(void *ctx, const char *p, size_t n)
{
	FCGX_PutStr(p, (int)n, ctx);
}

static void
stdout_put(void *ctx, const char *p, size_t n)
{
	(void)ctx;
	fwrite(p, 1, n, stdout);
}

static const char *
env_param(void *ctx, const char *name)
{
	(void)ctx;
	return getenv(name);
}

static long
stdin_read(void *ctx, char *p, size_t n)
{
	size_t got;

	(void)ctx;
	got = fread(p, 1, n, stdin);
	if (got == 0 && ferror(stdin))
		return -1;
	return (long)got;
}

int
cgi_serve(void)
{
	struct handler  h;
	struct request  r;
	struct response out;
	sigset_t        pipe;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	proc_install_handlers(&pipe, SIG_IGN, 0);
	if (handler_init(&h) == -1)
		fatalx("out of memory");
	r.param = env_param;
	r.read = stdin_read;
	r.ctx = NULL;
	store_set_deadline(h.store, LIM_REQUEST_MS);
	http_set_deadline(h.http, LIM_REQUEST_MS);
	handler_run(&h, &r, &out);
	response_write(&out, stdout_put, NULL);
	handler_response_free(&out);
	fflush(stdout);
	handler_free(&h);
	return 0;
}
