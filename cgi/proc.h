/* SPDX-License-Identifier: ISC */
/* ses-feedback - process hygiene shared by the front ends: the refusal to
 * serve as root and signal handler set-up. */
#ifndef SF_PROC_H
#define SF_PROC_H

#include <signal.h>

/* Exit with a message saying what to do when running as root. mode names
 * the front end ("FastCGI", "CGI") started by a process manager, or is NULL
 * for `serve`, which can drop privileges itself (--user). */
void proc_refuse_root(const char *mode);

/* Install fn (a function that only sets flags, or SIG_IGN) for every
 * signal in mask, with sa_flags flags. Set-up: a failure is fatal. */
void proc_install_handlers(const sigset_t *mask, void (*fn)(int), int flags);

#endif
