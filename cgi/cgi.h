/* ses-feedback - the program: modes and the FastCGI/CGI front end.
 * Thin by design: all decisions live in src/. */
#ifndef SF_CGI_H
#define SF_CGI_H

#include <signal.h>

/* Set by SIGTERM/SIGINT in a worker: finish the request, then exit. */
extern volatile sig_atomic_t fcgi_stop;

/* Serve FastCGI on the listening socket fd until told to stop. Returns
 * the process exit status. */
int fcgi_serve(int fd);
/* Handle the one CGI request described by the environment. */
int cgi_serve(void);
/* `serve --listen ... --workers N`: the prefork supervisor. */
int serve_main(int argc, char **argv);

void usage(int status) __attribute__((noreturn));

#endif
