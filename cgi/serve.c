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

#include "cgi.h"
#include "log.h"
#include "metrics.h"

#define SERVE_MAX_WORKERS LIM_SERVE_MAX_WORKERS
#define SERVE_GRACE_SEC   LIM_SERVE_GRACE_S

static volatile sig_atomic_t got_term, got_chld;

static void  on_signal(int sig);
static int   listen_unix(const char *path, mode_t mode, const struct passwd *pw);
static void  drop_privileges(const struct passwd *pw);
static int   listen_tcp(const char *spec);
static pid_t spawn(int lfd);

static void
on_signal(int sig)
{
	if (sig == SIGCHLD)
		got_chld = 1;
	else
		got_term = 1;
}

int
serve_main(int argc, char **argv)
{
	const char      *listen_spec = NULL, *unix_path = NULL;
	pid_t            workers[SERVE_MAX_WORKERS];
	time_t           started[SERVE_MAX_WORKERS];
	struct sigaction sa;
	sigset_t         mask, old;
	mode_t           mode = 0660;
	long             nworkers = 2, timeout = LIM_FCGI_IO_S;
	struct passwd   *pw = NULL;
	const char      *metrics_file;
	char            *end;
	int              lfd, i, status, alive;
	pid_t            pid;
	time_t           deadline, last_kick;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
			listen_spec = argv[++i];
		} else if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc) {
			nworkers = strtol(argv[++i], &end, 10);
			if (*end != '\0' || nworkers < 1 || nworkers > SERVE_MAX_WORKERS)
				fatalx("--workers wants a number from 1 to %d", SERVE_MAX_WORKERS);
		} else if (strcmp(argv[i], "--user") == 0 && i + 1 < argc) {
			pw = getpwnam(argv[++i]);
			if (pw == NULL)
				fatalx("--user %s: no such user", argv[i]);
			if (pw->pw_uid == 0)
				fatalx(
				    "--user %s: that is root; name an unprivileged user", argv[i]);
		} else if (strcmp(argv[i], "--io-timeout") == 0 && i + 1 < argc) {
			timeout = strtol(argv[++i], &end, 10);
			if (*end != '\0' || timeout < 1 || timeout > 3600)
				fatalx("--io-timeout wants seconds from 1 to 3600");
		} else if (strcmp(argv[i], "--socket-mode") == 0 && i + 1 < argc) {
			mode = (mode_t)strtol(argv[++i], &end, 8);
			if (*end != '\0' || mode > 0777)
				fatalx("--socket-mode wants an octal mode such as 0660");
		} else {
			usage(2);
		}
	}
	if (listen_spec == NULL)
		usage(2);
	if (geteuid() == 0 && pw == NULL)
		fatalx("refusing to serve as root: add --user NAME (an unprivileged user; the "
		       "socket is made first, then privileges are dropped)");
	if (geteuid() != 0 && pw != NULL && pw->pw_uid != geteuid())
		fatalx("--user needs root; already running as uid %ld", (long)geteuid());
	fcgi_io_timeout = (int)timeout;
	if (strncmp(listen_spec, "unix:", 5) == 0) {
		unix_path = listen_spec + 5;
		lfd = listen_unix(unix_path, mode, pw);
	} else {
		lfd = listen_tcp(listen_spec);
	}
	if (pw != NULL && geteuid() == 0)
		drop_privileges(pw);
	/* Counters every worker adds to and any worker can report. */
	metrics_file = getenv("SES_FEEDBACK_METRICS_FILE");
	if (metrics_file != NULL && *metrics_file != '\0') {
		if (metrics_init_file(metrics_file) == -1)
			fatal("SES_FEEDBACK_METRICS_FILE %s", metrics_file);
	} else if (metrics_init_shared() == -1) {
		fatal("shared memory for metrics");
	}
	log_info("listening on %s with %ld workers", listen_spec, nworkers);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, &old);

	for (i = 0; i < nworkers; i++) {
		workers[i] = spawn(lfd);
		started[i] = time(NULL);
	}
	while (!got_term) {
		sigsuspend(&old);
		if (!got_chld)
			continue;
		got_chld = 0;
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			for (i = 0; i < nworkers; i++) {
				if (workers[i] != pid)
					continue;
				if (WIFSIGNALED(status))
					log_warnx(
					    "worker %ld killed by signal %d; starting another",
					    (long)pid, WTERMSIG(status));
				else
					log_warnx(
					    "worker %ld exited with status %d; starting another",
					    (long)pid, WEXITSTATUS(status));
				/* A worker that dies at once would spin: slow down. */
				if (time(NULL) - started[i] < 1)
					sleep(1);
				workers[i] = got_term ? -1 : spawn(lfd);
				started[i] = time(NULL);
			}
		}
	}

	log_info("stopping: letting workers finish their requests");
	close(lfd);
	if (unix_path != NULL)
		unlink(unix_path);
	deadline = time(NULL) + SERVE_GRACE_SEC;
	last_kick = 0;
	for (;;) {
		alive = 0;
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			for (i = 0; i < nworkers; i++) {
				if (workers[i] == pid)
					workers[i] = -1;
			}
		}
		for (i = 0; i < nworkers; i++) {
			if (workers[i] > 0)
				alive++;
		}
		if (alive == 0)
			break;
		if (time(NULL) >= deadline) {
			for (i = 0; i < nworkers; i++) {
				if (workers[i] > 0) {
					log_warnx("worker %ld still busy after %ds; killing it",
					    (long)workers[i], SERVE_GRACE_SEC);
					kill(workers[i], SIGKILL);
				}
			}
			deadline = time(NULL) + 5;
		} else if (time(NULL) != last_kick) {
			/* Repeat: a signal that landed just before accept() is
			 * caught by the next one. */
			for (i = 0; i < nworkers; i++) {
				if (workers[i] > 0)
					kill(workers[i], SIGTERM);
			}
			last_kick = time(NULL);
		}
		usleep(50000);
	}
	log_info("stopped");
	return 0;
}

static pid_t
spawn(int lfd)
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
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1)
		_exit(0);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	fcgi_stop = 0;
	exit(fcgi_serve(lfd));
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
	if (listen(fd, 128) == -1)
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
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(fd, res->ai_addr, res->ai_addrlen) == -1)
		fatal("bind %s", spec);
	if (listen(fd, 128) == -1)
		fatal("listen %s", spec);
	freeaddrinfo(res);
	return fd;
}
