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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "cgi.h"
#include "handler.h"
#include "log.h"
#include "metrics.h"

volatile sig_atomic_t fcgi_stop;
int                   fcgi_io_timeout = LIM_FCGI_IO_S;

/* The connection whose request is still arriving, or -1. */
static volatile sig_atomic_t arriving_fd = -1;

static void        on_stop(int sig);
static void        on_read_deadline(int sig);
static void        read_deadline_arm(int fd);
static void        read_deadline_disarm(void);
static const char *fcgi_param(void *ctx, const char *name);
static long        fcgi_read(void *ctx, char *p, size_t n);
static const char *env_param(void *ctx, const char *name);
static long        stdin_read(void *ctx, char *p, size_t n);

/* Bound every read and write on the connection. libfcgi then sees an
 * error, the request fails and the worker moves on. */
static void
set_timeouts(int fd)
{
	struct timeval tv = { fcgi_io_timeout, 0 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

void
refuse_root(const char *mode)
{
	if (geteuid() != 0)
		return;
	fatalx("refusing to serve %s as root: let the process manager drop privileges first "
	       "(spawn-fcgi -u USER, SuexecUserGroup or FcgidWrapper for Apache, User= in "
	       "systemd), or use `ses-feedback serve --user USER`",
	    mode);
}

static void
on_stop(int sig)
{
	(void)sig;
	fcgi_stop = 1;
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

/* Before the connection is closed: its number may be reused at once. */
static void
read_deadline_disarm(void)
{
	struct itimerval off = { { 0, 0 }, { 0, 0 } };

	setitimer(ITIMER_REAL, &off, NULL);
	arriving_fd = -1;
}

static const char *
fcgi_param(void *ctx, const char *name)
{
	FCGX_Request *req = ctx;

	return FCGX_GetParam(name, req->envp);
}

static long
fcgi_read(void *ctx, char *p, size_t n)
{
	FCGX_Request *req = ctx;
	int           got;

	got = FCGX_GetStr(p, (int)n, req->in);
	if (got == 0 && FCGX_GetError(req->in) != 0)
		return -1;
	if (got == 0)
		read_deadline_disarm(); /* all of it is here */
	return got;
}

/* Wait for the next connection, or for the next request on a kept one,
 * with SIGTERM let through only while waiting (ppoll makes that atomic, so
 * a stop is never missed and never cuts a request). A kept connection is
 * given up as soon as a new connection waits: a prefork worker serves one
 * connection at a time, and an idle one must not starve the others.
 * Returns 0 with req->ipcFd ready to read, or -1 (stop, or try again). */
static int
next_connection(FCGX_Request *req, int lfd, const sigset_t *waitmask)
{
	struct pollfd   p[2];
	struct timespec ts = { fcgi_io_timeout, 0 };
	int             n, fd;

	p[0].fd = lfd;
	p[0].events = POLLIN;
	p[1].fd = req->ipcFd;
	p[1].events = POLLIN;
	n = ppoll(p, req->ipcFd >= 0 ? 2 : 1, req->ipcFd >= 0 ? &ts : NULL, waitmask);
	if (n == -1 || fcgi_stop)
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
	set_timeouts(fd);
	req->ipcFd = fd;
	read_deadline_arm(fd);
	return 0;
}

int
fcgi_serve(int fd)
{
	struct sigaction sa;
	struct handler   h;
	struct request   r;
	struct response  out;
	FCGX_Request     req;
	sigset_t         term, old;
	int              rc, fl;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	/* SA_RESTART: the alarm must not fail other calls with EINTR; the
	 * read it targets ends anyway, the read side being shut. */
	sa.sa_handler = on_read_deadline;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigaddset(&term, SIGINT);
	sigprocmask(SIG_BLOCK, &term, &old);

	/* Workers share the listening socket: whoever loses the race for a
	 * connection gets EAGAIN and goes back to waiting. */
	fl = fcntl(fd, F_GETFL);
	if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		fatal("listening socket");
	if (FCGX_Init() != 0)
		fatalx("FCGX_Init failed");
	if (FCGX_InitRequest(&req, fd, 0) != 0)
		fatalx("FCGX_InitRequest failed");
	/* We accept (next_connection), so that each connection gets its
	 * socket timeouts and read deadline. libfcgi would accept another by
	 * itself when one closes before its first record, and wait on that
	 * one without either: give it nothing to accept on. */
	req.listen_sock = -1;
	if (handler_init(&h) == -1)
		fatalx("out of memory");
	r.param = fcgi_param;
	r.read = fcgi_read;
	r.ctx = &req;
	while (!fcgi_stop) {
		if (next_connection(&req, fd, &old) == -1)
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
		handler_run(&h, &r, &out);
		read_deadline_disarm();
		FCGX_FPrintF(req.out, "Status: %d %s\r\nContent-Type: %s\r\n", out.status,
		    handler_reason(out.status), out.content_type);
		if (out.retry_after > 0)
			FCGX_FPrintF(req.out, "Retry-After: %d\r\n", out.retry_after);
		if (out.status == 405)
			FCGX_FPrintF(req.out, "Allow: GET, HEAD, POST\r\n");
		if (out.text != NULL) {
			FCGX_FPrintF(req.out, "\r\n");
			FCGX_PutStr(out.text, (int)out.text_len, req.out);
		} else {
			FCGX_FPrintF(req.out, "\r\n%s\n", out.body);
		}
		handler_response_free(&out);
		FCGX_Finish_r(&req);
	}
	FCGX_Free(&req, 1);
	handler_free(&h);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return 0;
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

	signal(SIGPIPE, SIG_IGN);
	if (handler_init(&h) == -1)
		fatalx("out of memory");
	r.param = env_param;
	r.read = stdin_read;
	r.ctx = NULL;
	store_set_deadline(h.store, LIM_REQUEST_MS);
	http_set_deadline(h.http, LIM_REQUEST_MS);
	handler_run(&h, &r, &out);
	printf("Status: %d %s\r\nContent-Type: %s\r\n", out.status, handler_reason(out.status),
	    out.content_type);
	if (out.retry_after > 0)
		printf("Retry-After: %d\r\n", out.retry_after);
	if (out.status == 405)
		printf("Allow: GET, HEAD, POST\r\n");
	if (out.text != NULL) {
		printf("\r\n");
		fwrite(out.text, 1, out.text_len, stdout);
	} else {
		printf("\r\n%s\n", out.body);
	}
	handler_response_free(&out);
	fflush(stdout);
	handler_free(&h);
	return 0;
}
