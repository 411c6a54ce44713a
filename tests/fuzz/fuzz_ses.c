/* SPDX-License-Identifier: ISC */
/* ses-feedback - libFuzzer harness for the SES event model.
 * The input is an SNS Message: ses_parse() on all of it, then
 * addr_normalize() and ses_parse_time() on each of its lines. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ses.h"

#define FUZZ_NAME "fuzz_ses"
#include "fuzz_common.h"

#define MAX_LINES 64 /* pieces tried per input */
#define TIME_LEN  40 /* sizeof(struct ses_event.occurred) */

static void try_piece(const char *s);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ses_event ev;
	char             why[256] = "";
	char             again[ADDR_MAX + 1];
	char            *text = NULL, *line, *nl;
	size_t           i;
	int              n;

	/* ses_parse() takes (pointer, length): hand it libFuzzer's exact
	 * buffer so that a read past len is caught. */
	if (ses_parse((const char *)data, size, &ev, why, sizeof(why)) >= 0) {
		CHECK(ev.nrcpt <= SES_MAX_RECIPIENTS);
		CHECK(ev.nrcpt == 0 || ev.rcpt != NULL);
		CHECK(strlen(ev.occurred) < sizeof(ev.occurred));
		for (i = 0; i < ev.nrcpt; i++) {
			CHECK(ev.rcpt[i].original != NULL);
			/* Normalised is a fixed point: bare, trimmed, lower case. */
			CHECK(ev.rcpt[i].email[0] == '\0' ||
			    addr_normalize(ev.rcpt[i].email, again, sizeof(again)) == 0);
			CHECK(ev.rcpt[i].email[0] == '\0' || strcmp(again, ev.rcpt[i].email) == 0);
		}
		/* ses_parse_time() does not round-trip every value it returns
		 * (years 0000, -001 and 10000 come out of offsets near the
		 * ends of the range), so only the bound is checked here. */
		ses_free(&ev);
		CHECK(ev.root == NULL && ev.rcpt == NULL);
	} else {
		CHECK(ev.root == NULL && ev.rcpt == NULL);
		CHECK(why[0] != '\0');
	}

	text = fuzz_cstr(data, size);
	if (text == NULL)
		return 0;
	line = text;
	for (n = 0; n < MAX_LINES && line != NULL; n++) {
		nl = strchr(line, '\n');
		if (nl != NULL)
			*nl = '\0';
		try_piece(line);
		line = nl != NULL ? nl + 1 : NULL;
	}
	free(text);
	return 0;
}

/* Each output goes to a heap buffer of exactly outlen bytes, so a write
 * past outlen is caught; a tight size exercises the length checks. */
static void
try_piece(const char *s)
{
	size_t sizes[3], k, len = strlen(s);
	char  *out;

	sizes[0] = ADDR_MAX + 1;
	sizes[1] = len / 2 + 1;
	sizes[2] = len + 1;
	for (k = 0; k < 3; k++) {
		out = malloc(sizes[k]);
		if (out == NULL)
			return;
		if (addr_normalize(s, out, sizes[k]) == 0)
			CHECK(strlen(out) < sizes[k] && strchr(out, '@') != NULL);
		free(out);
	}
	sizes[0] = TIME_LEN;
	sizes[1] = 28; /* exactly YYYY-MM-DDTHH:MM:SS.ffffffZ and its NUL */
	sizes[2] = 27; /* one short */
	for (k = 0; k < 3; k++) {
		out = malloc(sizes[k]);
		if (out == NULL)
			return;
		if (ses_parse_time(s, out, sizes[k]) == 0)
			CHECK(strlen(out) < sizes[k]);
		free(out);
	}
}
