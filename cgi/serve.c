/* SPDX-License-Identifier: ISC */
/* ses-feedback - `serve`: own socket, prefork workers, supervisor.
 * The supervisor only listens for signals and reaps: a worker that dies
 * is replaced, SIGTERM stops everyone gracefully (workers finish the
 * request in hand), and a worker stuck past the grace period is killed. */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bounds.h"
#include "cgi.h"
#include "gcommit.h"
#include "log.h"
#include "metrics.h"
#include "proc.h"
#include "serve.h"

#define SERVE_MAX_WORKERS LIM_SERVE_MAX_WORKERS
#define SERVE_GRACE_SEC   LIM_SERVE_GRACE_S

/* The workers and what they need to be started again. */
struct pool {
	pid_t            pid[SERVE_MAX_WORKERS];     /* -1 = none */
	time_t           started[SERVE_MAX_WORKERS]; /* to slow down a crash loop */
	long             n;                          /* workers wanted */
	int              lfd;                        /* the listening socket */
	struct fcgi_opts fo;                         /* for each worker */
};

static volatile sig_atomic_t got_term, got_chld;

static void           on_signal(int sig);
static struct passwd *service_user(const char *name);
static int            listen_on(const struct serve_opts *o, const struct passwd *pw);
static void           supervise(struct pool *p, const sigset_t *waitmask);
static void           stop_workers(struct pool *p);
static void           reap(struct pool *p, int restart);
static int            listen_unix(const char *path, mode_t mode, const struct passwd *pw);
static void           drop_privileges(const struct passwd *pw);
static int            listen_tcp(const char *spec);
static pid_t          spawn(const struct pool *p, long slot);

static void
on_signal(int sig)
{
	if (sig == SIGCHLD)
		got_chld = 1;
	else
		got_term = 1;
}

int
serve_run(const struct serve_opts *o)
{
	struct pool    p;
	struct passwd *pw;
	sigset_t       mask, old, ign;
	long           i, ncpu;

	memset(&p, 0, sizeof(p));
	p.n = o->workers;
	p.fo.io_timeout = o->io_timeout;
	pw = service_user(o->user);
	p.lfd = listen_on(o, pw);
	if (pw != NULL && geteuid() == 0)
		drop_privileges(pw);
	/* Counters every worker adds to and any worker can report. */
	if (o->metrics_file != NULL) {
		if (metrics_init_file(o->metrics_file) == -1)
			fatal("SES_FEEDBACK_METRICS_FILE %s", o->metrics_file);
	} else if (metrics_init_shared() == -1) {
		fatal("shared memory for metrics");
	}
	/* The workers' group commit, a lane per CPU (at least 2: one runs
	 * while another's COMMIT is flushed); without it each stores alone. */
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu < 2)
		ncpu = 2;
	if (ncpu > LIM_GCOMMIT_LANES_MAX)
		ncpu = LIM_GCOMMIT_LANES_MAX;
	if (gcommit_setup(p.n, (int)ncpu) == -1)
		log_warn("shared memory for the group commit; each worker stores alone");
	log_info("listening on %s with %ld workers", o->listen, p.n);

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGCHLD);
	proc_install_handlers(&mask, on_signal, 0);
	sigemptyset(&ign);
	sigaddset(&ign, SIGPIPE);
	sigaddset(&ign, SIGHUP);
	proc_install_handlers(&ign, SIG_IGN, 0);
	if (sigprocmask(SIG_BLOCK, &mask, &old) == -1)
		fatal("sigprocmask");

	for (i = 0; i < p.n; i++) {
		p.pid[i] = spawn(&p, i);
		p.started[i] = time(NULL);
	}
	supervise(&p, &old);
	log_info("stopping: letting workers finish their requests");
	close(p.lfd);
	if (strncmp(o->listen, "unix:", 5) == 0)
		unlink(o->listen + 5);
	stop_workers(&p);
	log_info("stopped");
	return 0;
}

/* The unprivileged user to serve as, or NULL to stay who we are; exits
 * when that cannot be done. */
static struct passwd *
service_user(const char *name)
{
	struct passwd *pw = NULL;

	if (name != NULL) {
		pw = getpwnam(name);
		if (pw == NULL)
			fatalx("--user %s: no such user", name);
		if (pw->pw_uid == 0)
			fatalx("--user %s: that is root; name an unprivileged user", name);
	}
	if (pw == NULL)
		proc_refuse_root(NULL);
	if (geteuid() != 0 && pw != NULL && pw->pw_uid != geteuid())
		fatalx("--user needs root; already running as uid %ld", (long)geteuid());
	return pw;
}

/* The socket, made before privileges are dropped (a unix socket is then
 * handed to pw). */
static int
listen_on(const struct serve_opts *o, const struct passwd *pw)
{
	if (strncmp(o->listen, "unix:", 5) == 0)
		return listen_unix(o->listen + 5, o->socket_mode, pw);
	return listen_tcp(o->listen);
}

/* Until SIGTERM or SIGINT: wait for signals, replace a worker that dies. */
static void
supervise(struct pool *p, const sigset_t *waitmask)
{
	while (!got_term) {
		sigsuspend(waitmask);
		if (!got_chld)
			continue;
		got_chld = 0;
		reap(p, 1);
	}
}

/* Collect exited workers; with restart, say why each died and start
 * another (unless we are stopping). */
static void
reap(struct pool *p, int restart)
{
	pid_t pid;
	long  i;
	int   status;

	for (;;) {
		pid = waitpid(-1, &status, WNOHANG);
		if (pid <= 0)
			break;
		for (i = 0; i < p->n; i++) {
			if (p->pid[i] != pid)
				continue;
			p->pid[i] = -1;
			if (!restart)
				continue;
			if (WIFSIGNALED(status))
				log_warnx("worker %ld killed by signal %d; starting another",
				    (long)pid, WTERMSIG(status));
			else
				log_warnx("worker %ld exited with status %d; starting another",
				    (long)pid, WEXITSTATUS(status));
			/* A worker that dies at once would spin: slow down. */
			if (time(NULL) - p->started[i] < 1)
				sleep(1);
			p->pid[i] = got_term ? -1 : spawn(p, i);
			p->started[i] = time(NULL);
		}
	}
}

/* SIGTERM every worker (again each second: a signal that landed just
 * before accept() is caught by the next one) until all have exited;
 * SIGKILL one still busy after the grace period. */
static void
stop_workers(struct pool *p)
{
	time_t deadline = time(NULL) + SERVE_GRACE_SEC, last_kick = 0;
	long   i, alive;

	for (;;) {
		reap(p, 0);
		alive = 0;
		for (i = 0; i < p->n; i++) {
			if (p->pid[i] > 0)
				alive++;
		}
		if (alive == 0)
			break;
		if (time(NULL) >= deadline) {
			for (i = 0; i < p->n; i++) {
				if (p->pid[i] > 0) {
					log_warnx("worker %ld still busy after %ds; killing it",
					    (long)p->pid[i], SERVE_GRACE_SEC);
					kill(p->pid[i], SIGKILL);
				}
			}
			deadline = time(NULL) + 5;
		} else if (time(NULL) != last_kick) {
			for (i = 0; i < p->n; i++) {
				if (p->pid[i] > 0)
					kill(p->pid[i], SIGTERM);
			}
			last_kick = time(NULL);
		}
		usleep(50000);
	}
}

static pid_t
spawn(const struct pool *p, long slot)
{
	sigset_t none;
	pid_t    pid;

	pid = fork();
	if (pid == -1) {
		log_warn("fork");
		return -1;
	}
	if (pid > 0)
		return pid;
	/* A worker must not outlive its supervisor: an orphan would keep
	 * accepting on a socket the next supervisor wants to bind. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1)
		fatal("prctl PR_SET_PDEATHSIG");
	if (getppid() == 1)
		_exit(0);
	sigemptyset(&none);
	sigaddset(&none, SIGCHLD);
	sigaddset(&none, SIGHUP);
	proc_install_handlers(&none, SIG_DFL, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	gcommit_attach(slot);
	exit(fcgi_serve(p->lfd, &p->fo));
}

/* Drop to pw's uid and gids for good: groups first, then gid, then uid,
 * and check that root cannot be regained. */
static void
drop_privileges(const struct passwd *pw)
{
	if (setgroups(1, &pw->pw_gid) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
		fatal("dropping privileges to %s", pw->pw_name);
	if (setuid(0) != -1 || geteuid() == 0)
		fatalx("privileges not dropped");
	log_info("running as %s (uid %ld)", pw->pw_name, (long)pw->pw_uid);
}

static int
socket_in_use(const struct sockaddr_un *sun)
{
	int probe, used;

	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe == -1)
		return 0;
	used = connect(probe, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(probe);
	return used;
}

static int
listen_unix(const char *path, mode_t mode, const struct passwd *pw)
{
	struct sockaddr_un sun;
	struct stat        st;
	int                fd, i;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		fatalx("socket path too long: %s", path);
	strcpy(sun.sun_path, path);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			fatalx("%s exists and is not a socket; refusing to replace it", path);
		/* Workers of a supervisor that just died finish their request
		 * and exit; give them the grace period before giving up. */
		for (i = 0; socket_in_use(&sun); i++) {
			if (i == 0)
				log_info(
				    "%s still answers; waiting for its old workers to exit", path);
			if (i >= (SERVE_GRACE_SEC + 2) * 10)
				fatalx("%s is in use by another process; stop it first", path);
			usleep(100000);
		}
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		fatal("socket");
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		fatal("bind %s", path);
	if (chmod(path, mode) == -1)
		fatal("chmod %s", path);
	/* The socket belongs to the service user's group, so that the web
	 * server can be let in by group membership instead of mode 0666. */
	if (pw != NULL && geteuid() == 0 && chown(path, pw->pw_uid, pw->pw_gid) == -1)
		fatal("chown %s", path);
	if (listen(fd, LIM_SERVE_BACKLOG) == -1)
		fatal("listen %s", path);
	/* Workers inherit it across fork, not exec. */
	return fd;
}

static int
listen_tcp(const char *spec)
{
	struct addrinfo hints, *res = NULL;
	char            host[256], *port;
	int             fd, on = 1, rc;

	if (strlen(spec) >= sizeof(host))
		fatalx("--listen %s: too long", spec);
	strcpy(host, spec);
	port = strrchr(host, ':');
	if (port == NULL)
		fatalx("--listen wants unix:PATH or HOST:PORT, not %s", spec);
	*port++ = '\0';
	if (host[0] == '[' && port - host > 2 && port[-2] == ']') {
		port[-2] = '\0';
		memmove(host, host + 1, strlen(host));
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (rc != 0)
		fatalx("--listen %s: %s", spec, gai_strerror(rc));
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		fatal("socket");
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		fatal("setsockopt SO_REUSEADDR");
	if (bind(fd, res->ai_addr, res->ai_addrlen) == -1)
		fatal("bind %s", spec);
	if (listen(fd, LIM_SERVE_BACKLOG) == -1)
		fatal("listen %s", spec);
	freeaddrinfo(res);
	return fd;
}
