/* SPDX-License-Identifier: ISC */
/* ses-feedback - `suppressions export [--all]` and `suppressions import
 * [--note TEXT] FILE|-`: the suppression list as CSV, out and in. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "cmd.h"
#include "log.h"
#include "supp_csv.h"

static int export_list(int argc, char **argv, const struct cfg *c);
static int import_list(int argc, char **argv, const struct cfg *c);

int
cmd_suppressions(int argc, char **argv)
{
	struct cfg c;
	char       why[1024];

	if (argc < 2 || (strcmp(argv[1], "export") != 0 && strcmp(argv[1], "import") != 0))
		return CMD_USAGE;
	if (cfg_load(&c, NULL, why, sizeof(why)) == -1)
		fatalx("%s", why);
	if (strcmp(argv[1], "export") == 0)
		return export_list(argc - 1, argv + 1, &c);
	return import_list(argc - 1, argv + 1, &c);
}

static int
export_list(int argc, char **argv, const struct cfg *c)
{
	char                 why[1024];
	int                  all = 0;
	const struct cmd_opt opts[] = { { "all", NULL, &all }, { NULL, NULL, NULL } };

	if (cmd_args(argc, argv, opts, NULL) == -1)
		return CMD_USAGE;
	if (supp_csv_export(c->dsn, all, stdout, why, sizeof(why)) == -1) {
		fprintf(stderr, "ses-feedback suppressions export: %s\n", why);
		return CMD_FAIL;
	}
	return CMD_OK;
}

static int
import_list(int argc, char **argv, const struct cfg *c)
{
	struct supp_csv_import_result res;
	const char                   *note = "imported", *file = NULL;
	const struct cmd_opt          opts[] = { { "note", &note, NULL }, { NULL, NULL, NULL } };
	char                          why[1024];
	FILE                         *in;
	int                           rc;

	if (cmd_args(argc, argv, opts, &file) == -1)
		return CMD_USAGE;
	in = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
	if (in == NULL) {
		fprintf(
		    stderr, "ses-feedback suppressions import: %s: %s\n", file, strerror(errno));
		return CMD_FAIL;
	}
	rc = supp_csv_import(c->dsn, in, note, stderr, &res, why, sizeof(why));
	if (in != stdin)
		fclose(in);
	if (rc == -1) {
		fprintf(stderr, "ses-feedback suppressions import: %s; nothing imported\n", why);
		return CMD_FAIL;
	}
	printf("%lu lines: %lu added, %lu already suppressed, %lu rejected\n", res.lines, res.added,
	    res.already, res.rejected);
	return res.rejected > 0 ? CMD_FAIL : CMD_OK;
}
