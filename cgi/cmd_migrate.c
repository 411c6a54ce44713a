/* SPDX-License-Identifier: ISC */
/* ses-feedback - `migrate [--roles]`: bring the database schema to the
 * version this program wants (src/store.c does the work). */
#include "config.h"

#include <stdio.h>

#include "cfg.h"
#include "cmd.h"
#include "log.h"
#include "migrate.h"

int
cmd_migrate(int argc, char **argv)
{
	struct cfg           c;
	char                 why[1024];
	int                  roles = 0;
	const struct cmd_opt opts[] = { { "roles", NULL, &roles }, { NULL, NULL, NULL } };

	if (cmd_args(argc, argv, opts, NULL) == -1)
		return CMD_USAGE;
	if (cfg_load(&c, NULL, why, sizeof(why)) == -1)
		fatalx("%s", why);
	if (migrate_run(c.dsn, roles, stdout, why, sizeof(why)) == -1) {
		fprintf(stderr, "ses-feedback migrate: %s\n", why);
		return CMD_FAIL;
	}
	return CMD_OK;
}
