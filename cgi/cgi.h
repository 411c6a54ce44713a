/* SPDX-License-Identifier: ISC */
/* ses-feedback - the program: modes and the FastCGI/CGI front end.
 * Thin by design: all decisions live in src/. */
#ifndef SF_CGI_H
#define SF_CGI_H

#include <signal.h>

#include "bounds.h"

/* Set by SIGTERM/SIGINT in a worker: finish the request, then exit. */
extern volatile sig_atomic_t fcgi_stop;

/* Seconds a kept connection may idle, or the answer's write stall, before
 * the worker gives up on it (serve --io-timeout). Reading a request is
 * bounded by LIM_REQUEST_READ_MS, whatever this says. */
extern int fcgi_io_timeout;

/* Refuse to serve as root: exits with a message saying what to do. */
void refuse_root(const char *mode);

/* Serve FastCGI on the listening socket fd until told to stop. Returns
 * the process exit status. */
int fcgi_serve(int fd);
/* Handle the one CGI request described by the environment. */
int cgi_serve(void);
/* `serve --listen ... --workers N`: the prefork supervisor. */
int serve_main(int argc, char **argv);

void usage(int status) __attribute__((noreturn));

#endif
