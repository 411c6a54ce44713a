/* SPDX-License-Identifier: ISC */
/* ses-feedback - the FastCGI and CGI front ends (cgi/fcgi.c): what main()
 * and the serve supervisor's workers call. All decisions live in src/. */
#ifndef SF_CGI_H
#define SF_CGI_H

/* What the starter of a FastCGI worker decides. */
struct fcgi_opts {
	int io_timeout; /* seconds a kept connection may idle, or the answer's
	                 * write stall (serve --io-timeout); reading a request
	                 * is bounded by LIM_REQUEST_READ_MS, whatever this says */
};

/* Serve FastCGI on the listening socket fd until SIGTERM or SIGINT, which
 * let the request in hand finish. Returns the process exit status. */
int fcgi_serve(int fd, const struct fcgi_opts *o);
/* Handle the one CGI request described by the environment. */
int cgi_serve(void);

#endif
