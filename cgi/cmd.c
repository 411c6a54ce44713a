/* SPDX-License-Identifier: ISC */
/* ses-feedback - the argument parser every subcommand with a FILE|-
 * operand or plain long options shares (getopt_long underneath). */
#include "config.h"

#include <getopt.h>
#include <stddef.h>

#include "cmd.h"

#define CMD_MAX_OPTS 8

int
cmd_args(int argc, char **argv, const struct cmd_opt *opts, const char **file)
{
	struct option lo[CMD_MAX_OPTS + 1];
	int           n, ch;

	for (n = 0; opts[n].name != NULL; n++) {
		if (n == CMD_MAX_OPTS)
			return -1;
		lo[n].name = opts[n].name;
		lo[n].has_arg = opts[n].value != NULL ? required_argument : no_argument;
		lo[n].flag = NULL;
		lo[n].val = 0x100 + n;
	}
	lo[n].name = NULL;
	lo[n].has_arg = 0;
	lo[n].flag = NULL;
	lo[n].val = 0;
	optind = 1;
	for (;;) {
		ch = getopt_long(argc, argv, "", lo, NULL);
		if (ch == -1)
			break;
		if (ch < 0x100 || ch >= 0x100 + n)
			return -1;
		if (opts[ch - 0x100].value != NULL)
			*opts[ch - 0x100].value = optarg;
		else
			*opts[ch - 0x100].flag = 1;
	}
	if (file == NULL)
		return optind == argc ? 0 : -1;
	if (optind != argc - 1)
		return -1;
	*file = argv[optind];
	return 0;
}
