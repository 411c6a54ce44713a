/* SPDX-License-Identifier: ISC */
/* ses-feedback - the subcommands (cgi/cmd_*.c) and their shared argument
 * parser. A subcommand returns its exit status; CMD_USAGE asks main() to
 * print the usage, so that no subcommand reaches back into main.c. */
#ifndef SF_CMD_H
#define SF_CMD_H

enum cmd_status { CMD_OK = 0, CMD_FAIL = 1, CMD_USAGE = 2 };

/* argv[0] is the subcommand's name. */
int cmd_check_config(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_suppressions(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_watch(int argc, char **argv);

/* One long option: --name VALUE when value is not NULL (*value gets the
 * last one given, borrowed from argv), else a --name switch setting *flag
 * to 1. A list ends with a NULL name. */
struct cmd_opt {
	const char  *name;
	const char **value;
	int         *flag;
};

/* Parse `[--option ...] FILE|-` with getopt_long: with file NULL, no
 * operand is allowed; else exactly one, a path or "-" for standard input,
 * borrowed from argv. Returns 0, or -1 for a usage error. */
int cmd_args(int argc, char **argv, const struct cmd_opt *opts, const char **file);

#endif
