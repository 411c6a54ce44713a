/* SPDX-License-Identifier: ISC */
/* ses-feedback - Amazon SES feedback (bounces, complaints, deliveries) from
 * Amazon SNS into PostgreSQL, as a FastCGI/CGI program behind nginx or
 * Apache. This file picks the mode from the command line. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <fcgiapp.h>

#include "bounds.h"
#include "cfg.h"
#include "cgi.h"
#include "cmd.h"
#include "log.h"
#include "metrics.h"
#include "migrate.h"
#include "proc.h"

/* The subcommands, by name. */
static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
	{ "check-config", cmd_check_config },
	{ "migrate", cmd_migrate },
	{ "serve", cmd_serve },
	{ "suppressions", cmd_suppressions },
	{ "verify", cmd_verify },
	{ "watch", cmd_watch },
};

static void usage(int status) __attribute__((noreturn));
static void fds_valid(void);
static void log_setup(const struct cfg *start);
static int  run_command(int argc, char **argv);

static void
usage(int status)
{
	FILE *f = status == 0 ? stdout : stderr;
	int   i, fl;

	fprintf(f,
	    "usage: ses-feedback                        FastCGI on fd 0, or one CGI request\n"
	    "       ses-feedback serve --listen unix:PATH|HOST:PORT [--workers N|auto]\n"
	    "                          [--user USER] [--socket-mode MODE] [--io-timeout SEC]\n"
	    "       ses-feedback migrate [--roles]\n"
	    "       ses-feedback suppressions export [--all]\n"
	    "       ses-feedback suppressions import [--note TEXT] FILE|-\n"
	    "       ses-feedback verify [--cert FILE] [--at TIME] FILE\n"
	    "       ses-feedback check-config [--param KEY=VALUE ...]\n"
	    "       ses-feedback watch [--json]\n"
	    "       ses-feedback --help | --version\n"
	    "\n"
	    "configuration (FastCGI parameter, else environment, else default):\n");
	for (i = 0; i < CFG__COUNT; i++) {
		fl = cfg_table[i].flags & (CFG_REQUEST | CFG_STARTUP);
		fprintf(f, "  %-36s %s%s [%s]\n", cfg_table[i].name,
		    fl == CFG_STARTUP       ? "(environment, read at start) "
		        : fl != CFG_REQUEST ? "(environment at start; per request too) "
		                            : "",
		    cfg_table[i].help, cfg_table[i].def);
	}
	exit(status);
}

int
main(int argc, char **argv)
{
	struct fcgi_opts fo = { LIM_FCGI_IO_S };
	struct cfg       start, c;
	char             why[256];
	int              rc;

	fds_valid();
	/* Help and version work whatever the environment says. */
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
		usage(0);
	if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
		printf("ses-feedback %s (schema %d)\n", PACKAGE_VERSION, migrate_schema_wanted());
		return 0;
	}
	/* The keys read at start are checked like any other: a bad one is an
	 * error now, not a surprise later. */
	if (cfg_load_startup(&start, why, sizeof(why)) == -1) {
		fprintf(stderr, "ses-feedback: %s\n", why);
		return 1;
	}
	log_setup(&start);
	/* Library set-up happens once, before any fork. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatalx("curl_global_init failed");

	if (argc >= 2) {
		rc = run_command(argc - 1, argv + 1);
	} else if (!FCGX_IsCGI()) {
		proc_refuse_root("FastCGI");
		/* Processes a web server starts one by one share metrics
		 * through a file, if given one. */
		if (start.metrics_file != NULL && metrics_init_file(start.metrics_file) == -1)
			log_warn("SES_FEEDBACK_METRICS_FILE %s: metrics of this process only",
			    start.metrics_file);
		rc = fcgi_serve(0, &fo); /* spawn-fcgi, mod_fcgid, systemd socket */
	} else if (getenv("GATEWAY_INTERFACE") != NULL || getenv("REQUEST_METHOD") != NULL) {
		proc_refuse_root("CGI");
		rc = cgi_serve();
	} else {
		/* Started by hand: say how to use it, and catch a bad
		 * environment early. */
		if (cfg_load(&c, NULL, why, sizeof(why)) == -1)
			fprintf(stderr, "ses-feedback: %s\n", why);
		usage(2);
	}
	curl_global_cleanup();
	return rc;
}

static int
run_command(int argc, char **argv)
{
	size_t i;
	int    rc;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[0], commands[i].name) != 0)
			continue;
		rc = commands[i].run(argc, argv);
		if (rc == CMD_USAGE)
			usage(2);
		return rc;
	}
	usage(2);
}

/* Level and destination, from the keys read at start. */
static void
log_setup(const struct cfg *start)
{
	log_init("ses-feedback", start->log_level);
	if (start->log == CFG_LOG_SYSLOG)
		log_use_syslog();
}

/* 0, 1 and 2 must be open before anything else is: a socket or log file
 * opened later must never become "stderr". */
static void
fds_valid(void)
{
	int fd;

	for (;;) {
		fd = open("/dev/null", O_RDWR);
		if (fd < 0 || fd > 2)
			break;
	}
	if (fd > 2)
		close(fd);
}
