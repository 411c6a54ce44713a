/* ses-feedback - FastCGI and plain CGI front ends.
 * Turn a libfcgi request (or a CGI environment) into struct request, run
 * the handler, write the status line. SIGTERM is held while a request is
 * in flight, so a graceful stop never cuts one off. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "cgi.h"
#include "handler.h"
#include "log.h"

volatile sig_atomic_t fcgi_stop;

static void        on_stop(int sig);
static const char *fcgi_param(void *ctx, const char *name);
static long        fcgi_read(void *ctx, char *p, size_t n);
static const char *env_param(void *ctx, const char *name);
static long        stdin_read(void *ctx, char *p, size_t n);

static void
on_stop(int sig)
{
	(void)sig;
	fcgi_stop = 1;
	FCGX_ShutdownPending();
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
	return got;
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
	int              rc;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: a stop must interrupt accept() */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigaddset(&term, SIGINT);

	if (FCGX_Init() != 0)
		fatalx("FCGX_Init failed");
	if (FCGX_InitRequest(&req, fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0)
		fatalx("FCGX_InitRequest failed");
	if (handler_init(&h) == -1)
		fatalx("out of memory");
	r.param = fcgi_param;
	r.read = fcgi_read;
	r.ctx = &req;
	sigprocmask(SIG_BLOCK, &term, &old);
	while (!fcgi_stop) {
		sigprocmask(SIG_UNBLOCK, &term, NULL);
		rc = fcgi_stop ? -1 : FCGX_Accept_r(&req);
		sigprocmask(SIG_BLOCK, &term, NULL);
		if (rc < 0) {
			if (fcgi_stop)
				break;
			if (errno == EINTR)
				continue;
			log_warnx("FastCGI accept failed (%d)", rc);
			usleep(100000);
			continue;
		}
		handler_run(&h, &r, &out);
		FCGX_FPrintF(req.out, "Status: %d %s\r\nContent-Type: text/plain\r\n", out.status,
		    handler_reason(out.status));
		if (out.retry_after > 0)
			FCGX_FPrintF(req.out, "Retry-After: %d\r\n", out.retry_after);
		if (out.status == 405)
			FCGX_FPrintF(req.out, "Allow: GET, HEAD, POST\r\n");
		FCGX_FPrintF(req.out, "\r\n%s\n", out.body);
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
	handler_run(&h, &r, &out);
	printf("Status: %d %s\r\nContent-Type: text/plain\r\n", out.status,
	    handler_reason(out.status));
	if (out.retry_after > 0)
		printf("Retry-After: %d\r\n", out.retry_after);
	if (out.status == 405)
		printf("Allow: GET, HEAD, POST\r\n");
	printf("\r\n%s\n", out.body);
	fflush(stdout);
	handler_free(&h);
	return 0;
}
