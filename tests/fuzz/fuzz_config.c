/* SPDX-License-Identifier: ISC */
/* ses-feedback - libFuzzer harness for the configuration and the topic
 * allow-list.
 * Input: lines of KEY=VALUE. cfg_load() is served the SES_FEEDBACK_* keys
 * as FastCGI parameters; each ARN=VALUE line is matched against the
 * SES_FEEDBACK_TOPICS value with policy_topic_allowed(). */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "policy.h"

#define FUZZ_NAME "fuzz_config"
#include "fuzz_common.h"

#define MAX_PAIRS   64
#define MAX_ARNS    8
#define DEFAULT_ARN "arn:aws:sns:us-east-1:123456789012:t"

struct pairs {
	const char *key[MAX_PAIRS];   /* borrowed from the input copy */
	const char *value[MAX_PAIRS]; /* borrowed from the input copy */
	size_t      n;
};

int LLVMFuzzerInitialize(int *argc, char ***argv);

static const char *lookup(void *ctx, const char *name);

/* The process environment is cfg_load()'s second layer: empty it, so that
 * an input means the same thing wherever the fuzzer runs. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int i;

	(void)argc;
	(void)argv;
	for (i = 0; i < CFG__COUNT; i++)
		unsetenv(cfg_table[i].name);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pairs   p;
	struct cfg_src src;
	struct cfg     c;
	const char    *arns[MAX_ARNS], *topics;
	char           why[256] = "";
	char          *text = NULL, *line, *nl, *eq;
	size_t         narn = 0, i;

	/* A NUL in the input ends the text, as it would a parameter. */
	text = fuzz_cstr(data, size);
	if (text == NULL)
		return 0;
	p.n = 0;
	for (line = text; line != NULL; line = nl != NULL ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		if (nl != NULL)
			*nl = '\0';
		eq = strchr(line, '=');
		if (eq == NULL)
			continue;
		*eq = '\0';
		if (strcmp(line, "ARN") == 0) {
			if (narn < MAX_ARNS)
				arns[narn++] = eq + 1;
		} else if (p.n < MAX_PAIRS) {
			p.key[p.n] = line;
			p.value[p.n] = eq + 1;
			p.n++;
		}
	}

	src.param = lookup;
	src.ctx = &p;
	memset(&c, 0, sizeof(c));
	if (cfg_load(&c, &src, why, sizeof(why)) == 0) {
		CHECK(c.auto_confirm == 0 || c.auto_confirm == 1);
		CHECK(c.max_body >= 4096 && c.max_body <= 16777216);
		CHECK(c.min_sigver == 1 || c.min_sigver == 2);
		CHECK(c.log_level >= LOG_LVL_ERROR && c.log_level <= LOG_LVL_DEBUG);
		CHECK(c.topics != NULL && c.dsn != NULL);
		for (i = 0; i < CFG__COUNT; i++)
			CHECK(c.raw[i] != NULL);
		topics = c.topics;
	} else {
		CHECK(why[0] != '\0');
		/* Matching does not depend on the list having passed
		 * cfg_check(): try the raw value too. */
		topics = lookup(&p, cfg_table[CFG_TOPICS].name);
		if (topics == NULL)
			topics = "";
	}
	if (narn == 0)
		arns[narn++] = DEFAULT_ARN;
	for (i = 0; i < narn; i++) {
		int r = policy_topic_allowed(topics, arns[i]);

		CHECK(r == 0 || r == 1);
	}
	free(text);
	return 0;
}

/* The first KEY=VALUE line for a key wins. */
static const char *
lookup(void *ctx, const char *name)
{
	const struct pairs *p = ctx;
	size_t              i;

	for (i = 0; i < p->n; i++) {
		if (strcmp(p->key[i], name) == 0)
			return p->value[i];
	}
	return NULL;
}
