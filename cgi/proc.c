/* SPDX-License-Identifier: ISC */
/* ses-feedback - process hygiene shared by the front ends.
 * One wording of the root refusal, one way to install signal handlers, so
 * that the FastCGI worker and the serve supervisor cannot drift apart. */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "proc.h"

void
proc_refuse_root(const char *mode)
{
	if (geteuid() != 0)
		return;
	if (mode == NULL)
		fatalx("refusing to serve as root: add --user NAME (an unprivileged user; the "
		       "socket is made first, then privileges are dropped)");
	fatalx("refusing to serve %s as root: let the process manager drop privileges first "
	       "(spawn-fcgi -u USER, SuexecUserGroup or FcgidWrapper for Apache, User= in "
	       "systemd), or use `ses-feedback serve --user USER`",
	    mode);
}

void
proc_install_handlers(const sigset_t *mask, void (*fn)(int), int flags)
{
	struct sigaction sa;
	int              sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < NSIG; sig++) {
		if (sigismember(mask, sig) == 1 && sigaction(sig, &sa, NULL) == -1)
			fatal("sigaction %d", sig);
	}
}
