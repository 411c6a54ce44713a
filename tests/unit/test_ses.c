/* SPDX-License-Identifier: ISC */
/* ses-feedback - unit tests for the SES event model (src/ses.c).
 * Every fixture in tests/fixtures/ses is parsed and compared with its line
 * in EXPECTED.tsv (one test each); then the malformed events, address
 * normalisation and time parsing. */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "buf.h"
#include "ses.h"

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_ROWS  128

/* One line of EXPECTED.tsv; empty columns are "". */
struct row {
	char *file;
	char *kind;
	char *recipients; /* comma separated, lower case */
	char *bounce_type;
	char *bounce_subtype;
	char *complaint_feedback_type;
};

static struct row rows[MAX_ROWS];
static size_t     nrows;
static char      *tsv_text; /* owns every string in rows */

static const char *
fixtures_dir(void)
{
	const char *d = getenv("SF_FIXTURES");

	return d != NULL && *d != '\0' ? d : "tests/fixtures";
}

/* The whole of a file, NUL-terminated, or NULL. The caller frees it. */
static char *
read_file(const char *path, size_t *lenp)
{
	struct buf b;
	char       tmp[4096];
	size_t     n;
	FILE      *f;

	f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	buf_init(&b, 16 << 20);
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0) {
		if (buf_add(&b, tmp, n) == -1)
			break;
	}
	if (ferror(f) || b.data == NULL) {
		fclose(f);
		buf_free(&b);
		return NULL;
	}
	fclose(f);
	return buf_take(&b, lenp);
}

static char *
read_fixture(const char *name, size_t *lenp)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/ses/%s", fixtures_dir(), name);
	return read_file(path, lenp);
}

/* Split EXPECTED.tsv into rows. 0, or -1 when it cannot be read or a line
 * has the wrong number of columns. */
static int
load_expected(void)
{
	char  *line, *next, *col[6];
	size_t i;

	tsv_text = read_fixture("EXPECTED.tsv", NULL);
	if (tsv_text == NULL)
		return -1;
	line = tsv_text;
	/* skip the header */
	next = strchr(line, '\n');
	if (next == NULL || strncmp(line, "file\tkind\trecipients\t", 21) != 0)
		return -1;
	for (line = next + 1; *line != '\0'; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		else
			next = line + strlen(line);
		if (*line == '\0')
			continue;
		if (nrows == MAX_ROWS)
			return -1;
		for (i = 0; i < 6; i++) {
			col[i] = line;
			line += strcspn(line, "\t\r");
			if (i < 5 && *line != '\t')
				return -1;
			if (*line != '\0')
				*line++ = '\0';
		}
		rows[nrows].file = col[0];
		rows[nrows].kind = col[1];
		rows[nrows].recipients = col[2];
		rows[nrows].bounce_type = col[3];
		rows[nrows].bounce_subtype = col[4];
		rows[nrows].complaint_feedback_type = col[5];
		nrows++;
	}
	return nrows > 0 ? 0 : -1;
}

/* An optional field: an empty column means NULL. */
static void
expect_opt(const char *what, const char *got, const char *want)
{
	if (*want == '\0') {
		if (got != NULL)
			fail_msg("%s: got \"%s\", want NULL", what, got);
		return;
	}
	if (got == NULL)
		fail_msg("%s: got NULL, want \"%s\"", what, want);
	if (strcmp(got, want) != 0)
		fail_msg("%s: got \"%s\", want \"%s\"", what, got, want);
}

static void
test_fixture(void **state)
{
	const struct row *r = *state;
	struct ses_event  ev;
	char              why[256] = "";
	char             *text, *want, *p, *tok, *save = NULL;
	size_t            len, i = 0;

	text = read_fixture(r->file, &len);
	if (text == NULL)
		fail_msg("cannot read %s/ses/%s", fixtures_dir(), r->file);
	if (ses_parse(text, len, &ev, why, sizeof(why)) != 0)
		fail_msg("%s: ses_parse failed: %s", r->file, why);
	assert_non_null(ev.root);
	expect_opt("kind", ev.kind, r->kind);
	if (strncmp(r->file, "event-", 6) == 0)
		assert_int_equal(ev.form, SES_FORM_EVENT);
	else
		assert_int_equal(ev.form, SES_FORM_IDENTITY);

	want = strdup(r->recipients);
	assert_non_null(want);
	for (p = want; (tok = strtok_r(p, ",", &save)) != NULL; p = NULL) {
		if (i >= ev.nrcpt)
			fail_msg(
			    "%s: %zu recipients, want more (%s)", r->file, ev.nrcpt, r->recipients);
		if (strcmp(ev.rcpt[i].email, tok) != 0)
			fail_msg("%s: recipient %zu is \"%s\", want \"%s\"", r->file, i,
			    ev.rcpt[i].email, tok);
		assert_non_null(ev.rcpt[i].original);
		i++;
	}
	if (i != ev.nrcpt)
		fail_msg("%s: %zu recipients, want %zu (%s)", r->file, ev.nrcpt, i, r->recipients);
	if (ev.nrcpt == 0)
		assert_null(ev.rcpt);
	free(want);

	expect_opt("bounce_type", ev.bounce_type, r->bounce_type);
	expect_opt("bounce_subtype", ev.bounce_subtype, r->bounce_subtype);
	expect_opt(
	    "complaint_feedback_type", ev.complaint_feedback_type, r->complaint_feedback_type);
	ses_free(&ev);
	assert_null(ev.root);
	assert_null(ev.rcpt);
	free(text);
}

static void
test_expected_unreadable(void **state)
{
	fail_msg("cannot read or parse %s/ses/EXPECTED.tsv", fixtures_dir());
}

/* Every fixture has a line, so none is silently left out. */
static void
test_every_fixture_listed(void **state)
{
	char           path[1024];
	DIR           *d;
	struct dirent *de;
	size_t         i, n, seen = 0;

	snprintf(path, sizeof(path), "%s/ses", fixtures_dir());
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (n < 5 || strcmp(de->d_name + n - 5, ".json") != 0)
			continue;
		seen++;
		for (i = 0; i < nrows; i++) {
			if (strcmp(rows[i].file, de->d_name) == 0)
				break;
		}
		if (i == nrows) {
			closedir(d);
			fail_msg("%s has no line in EXPECTED.tsv", de->d_name);
		}
	}
	closedir(d);
	assert_int_equal(seen, nrows);
}

static int
parse_str(const char *s, struct ses_event *ev, char *why, size_t whylen)
{
	why[0] = '\0';
	return ses_parse(s, strlen(s), ev, why, whylen);
}

static void
test_identity_bounce_details(void **state)
{
	struct ses_event ev;
	char             why[256];
	char            *text;
	size_t           len;

	text = read_fixture("identity-bounce-permanent.json", &len);
	assert_non_null(text);
	assert_int_equal(ses_parse(text, len, &ev, why, sizeof(why)), 0);
	assert_string_equal(
	    ev.ses_message_id, "00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa0680-000000");
	assert_string_equal(ev.source, "john@example.com");
	assert_string_equal(
	    ev.feedback_id, "00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa068a-000000");
	assert_string_equal(ev.occurred, "2016-01-27T14:59:38.237000Z");
	/* mail.destination has three addresses; only one bounced */
	assert_int_equal(ev.nrcpt, 1);
	assert_string_equal(ev.rcpt[0].email, "jane@example.com");
	assert_string_equal(ev.rcpt[0].original, "jane@example.com");
	assert_string_equal(ev.rcpt[0].status, "5.1.1");
	assert_string_equal(ev.rcpt[0].action, "failed");
	assert_string_equal(
	    ev.rcpt[0].diagnostic_code, "smtp; 550 5.1.1 <jane@example.com>... User");
	assert_null(ev.complaint_feedback_type);
	ses_free(&ev);
	free(text);

	/* without a DSN: no status, action or diagnostic */
	text = read_fixture("identity-bounce-permanent-no-dsn.json", &len);
	assert_non_null(text);
	assert_int_equal(ses_parse(text, len, &ev, why, sizeof(why)), 0);
	assert_int_equal(ev.nrcpt, 2);
	assert_null(ev.rcpt[1].status);
	assert_null(ev.rcpt[1].action);
	assert_null(ev.rcpt[1].diagnostic_code);
	ses_free(&ev);
	free(text);
}

static void
test_display_names(void **state)
{
	struct ses_event ev;
	char             why[256];
	char            *text;
	size_t           len;

	text = read_fixture("robust-delivery-display-name-constructed.json", &len);
	assert_non_null(text);
	assert_int_equal(ses_parse(text, len, &ev, why, sizeof(why)), 0);
	assert_int_equal(ev.nrcpt, 2);
	assert_string_equal(ev.rcpt[0].email, "jane.doe@example.com");
	assert_string_equal(ev.rcpt[0].original, "\"Jane Doe\" <Jane.Doe@Example.COM>");
	assert_string_equal(ev.rcpt[1].email, "mary@example.com");
	assert_string_equal(ev.rcpt[1].original, "MARY@example.com");
	/* a delivery has plain strings: no DSN fields */
	assert_null(ev.rcpt[0].status);
	ses_free(&ev);
	free(text);
}

struct occurred_case {
	const char *file;
	const char *want;
};

/* The event's own time wins over mail.timestamp. */
static void
test_occurred(void **state)
{
	static const struct occurred_case cases[] = {
		{ "event-bounce.json", "2017-08-05T00:41:02.669000Z" },
		{ "event-delivery-delay.json", "2020-06-16T00:25:40.095000Z" },
		{ "event-open.json", "2017-08-09T22:00:19.652000Z" },
		{ "event-send.json", "2016-10-14T05:02:16.645000Z" },
		{ "identity-amazon-sns-subscription-succeeded-constructed.json", "" },
	};
	struct ses_event ev;
	char             why[256];
	char            *text;
	size_t           len, i;

	for (i = 0; i < NITEMS(cases); i++) {
		text = read_fixture(cases[i].file, &len);
		assert_non_null(text);
		assert_int_equal(ses_parse(text, len, &ev, why, sizeof(why)), 0);
		if (strcmp(ev.occurred, cases[i].want) != 0)
			fail_msg("%s: occurred \"%s\", want \"%s\"", cases[i].file, ev.occurred,
			    cases[i].want);
		ses_free(&ev);
		free(text);
	}
}

static void
test_not_json(void **state)
{
	static const char *const texts[] = {
		"Successfully validated SNS topic for Amazon SES event publishing.",
		"",
		"{\"notificationType\":",
		"[{\"notificationType\":\"Bounce\"}]",
		"\"Bounce\"",
	};
	struct ses_event ev;
	char             why[256];
	size_t           i;

	for (i = 0; i < NITEMS(texts); i++) {
		memset(&ev, 0xa5, sizeof(ev));
		if (parse_str(texts[i], &ev, why, sizeof(why)) != 0)
			fail_msg("ses_parse(\"%s\") failed: %s", texts[i], why);
		assert_null(ev.root);
		assert_null(ev.kind);
		assert_int_equal(ev.form, SES_FORM_NONE);
		assert_int_equal(ev.nrcpt, 0);
		assert_null(ev.rcpt);
		assert_string_equal(ev.occurred, "");
		ses_free(&ev);
	}
}

static void
test_json_not_ses(void **state)
{
	struct ses_event ev;
	char             why[256];

	assert_int_equal(parse_str("{\"hello\":\"world\",\"mail\":{\"messageId\":\"x\"}}", &ev, why,
	                     sizeof(why)),
	    0);
	assert_non_null(ev.root);
	assert_null(ev.kind);
	assert_int_equal(ev.form, SES_FORM_NONE);
	assert_int_equal(ev.nrcpt, 0);
	ses_free(&ev);
	assert_int_equal(parse_str("{}", &ev, why, sizeof(why)), 0);
	assert_non_null(ev.root);
	assert_null(ev.kind);
	ses_free(&ev);
}

static void
test_unknown_event_type(void **state)
{
	struct ses_event ev;
	char             why[256];

	assert_int_equal(parse_str("{\"eventType\":\"NewThing\",\"mail\":{\"messageId\":\"m1\","
	                           "\"timestamp\":\"2020-01-02T03:04:05.678Z\",\"destination\":"
	                           "[\"a@example.com\"]},\"newThing\":{\"recipients\":"
	                           "[\"b@example.com\"]}}",
	                     &ev, why, sizeof(why)),
	    0);
	assert_non_null(ev.root);
	assert_int_equal(ev.form, SES_FORM_EVENT);
	assert_string_equal(ev.kind, "NewThing");
	assert_string_equal(ev.ses_message_id, "m1");
	assert_int_equal(ev.nrcpt, 0);
	assert_null(ev.rcpt);
	assert_string_equal(ev.occurred, "2020-01-02T03:04:05.678000Z");
	ses_free(&ev);
}

/* Events without recipient lists need not carry their object. */
static void
test_listless_kinds(void **state)
{
	static const char *const texts[] = {
		"{\"eventType\":\"Send\",\"mail\":{}}",
		"{\"eventType\":\"Open\"}",
		"{\"eventType\":\"Rendering Failure\",\"failure\":[]}",
		"{\"eventType\":\"Subscription\",\"subscription\":{\"unsubscribeAll\":true}}",
	};
	struct ses_event ev;
	char             why[256];
	size_t           i;

	for (i = 0; i < NITEMS(texts); i++) {
		if (parse_str(texts[i], &ev, why, sizeof(why)) != 0)
			fail_msg("ses_parse(\"%s\") failed: %s", texts[i], why);
		assert_non_null(ev.kind);
		assert_int_equal(ev.nrcpt, 0);
		ses_free(&ev);
	}
}

/* A Subscription event has no recipient list: its one destination is the
 * contact, and unsubscribeAll comes from the new preferences only. */
static void
test_subscription_contact(void **state)
{
	static const char *const texts[] = {
		/* two destinations: not list-managed, no contact */
		"{\"eventType\":\"Subscription\",\"mail\":{\"destination\":[\"a@example.com\","
		"\"b@example.com\"]},\"subscription\":{\"newTopicPreferences\":"
		"{\"unsubscribeAll\":true}}}",
		/* not a boolean; and only the old preferences say true */
		"{\"eventType\":\"Subscription\",\"mail\":{\"destination\":[\"A@Example.com\"]},"
		"\"subscription\":{\"newTopicPreferences\":{\"unsubscribeAll\":\"true\"}}}",
		"{\"eventType\":\"Subscription\",\"mail\":{\"destination\":[\"A@Example.com\"]},"
		"\"subscription\":{\"newTopicPreferences\":{\"unsubscribeAll\":false},"
		"\"oldTopicPreferences\":{\"unsubscribeAll\":true}}}",
	};
	static const size_t nrcpt[] = { 0, 1, 1 };
	struct ses_event    ev;
	char                why[256];
	char               *text;
	size_t              len, i;

	text = read_fixture("event-subscription.json", &len);
	assert_non_null(text);
	assert_int_equal(ses_parse(text, len, &ev, why, sizeof(why)), 0);
	assert_string_equal(ev.kind, "Subscription");
	assert_int_equal(ev.unsubscribe_all, 1);
	assert_int_equal(ev.nrcpt, 1);
	assert_string_equal(ev.rcpt[0].email, "recipient@example.com");
	assert_string_equal(ev.occurred, "2022-01-12T01:00:17.910000Z");
	ses_free(&ev);
	free(text);

	for (i = 0; i < NITEMS(texts); i++) {
		if (parse_str(texts[i], &ev, why, sizeof(why)) != 0)
			fail_msg("ses_parse(\"%s\") failed: %s", texts[i], why);
		assert_int_equal(ev.unsubscribe_all, i == 0 ? 1 : 0);
		assert_int_equal(ev.nrcpt, nrcpt[i]);
		if (ev.nrcpt == 1)
			assert_string_equal(ev.rcpt[0].email, "a@example.com");
		ses_free(&ev);
	}
}

static void
test_empty_recipient_list(void **state)
{
	struct ses_event ev;
	char             why[256];

	assert_int_equal(parse_str("{\"notificationType\":\"Bounce\",\"bounce\":{\"bounceType\":"
	                           "\"Permanent\",\"bouncedRecipients\":[]}}",
	                     &ev, why, sizeof(why)),
	    0);
	assert_int_equal(ev.nrcpt, 0);
	assert_null(ev.rcpt);
	assert_string_equal(ev.bounce_type, "Permanent");
	ses_free(&ev);
}

/* Claims to be an SES event, but is not a well-formed one. */
static void
test_malformed_events(void **state)
{
	static const char *const texts[] = {
		/* the type itself */
		"{\"notificationType\":1}",
		"{\"notificationType\":null}",
		"{\"eventType\":\"\"}",
		"{\"eventType\":[\"Bounce\"]}",
		"{\"eventType\":"
		"\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}",
		/* Bounce */
		"{\"notificationType\":\"Bounce\"}",
		"{\"notificationType\":\"Bounce\",\"mail\":{\"destination\":[\"a@example.com\"]}}",
		"{\"notificationType\":\"Bounce\",\"bounce\":null}",
		"{\"notificationType\":\"Bounce\",\"bounce\":\"x\"}",
		"{\"notificationType\":\"Bounce\",\"bounce\":[]}",
		"{\"notificationType\":\"Bounce\",\"bounce\":{\"bounceType\":\"Permanent\"}}",
		"{\"notificationType\":\"Bounce\",\"bounce\":{\"bouncedRecipients\":{}}}",
		"{\"notificationType\":\"Bounce\",\"bounce\":{\"bouncedRecipients\":"
		"\"a@example.com\"}}",
		"{\"notificationType\":\"Bounce\",\"bounce\":{\"bouncedRecipients\":null}}",
		"{\"notificationType\":\"Bounce\",\"bounce\":{\"bouncedRecipients\":[{}]}}",
		"{\"notificationType\":\"Bounce\",\"bounce\":{\"bouncedRecipients\":"
		"[{\"status\":\"5.1.1\"}]}}",
		"{\"notificationType\":\"Bounce\",\"bounce\":{\"bouncedRecipients\":"
		"[{\"emailAddress\":\"a@example.com\"},{\"status\":\"5.1.1\"}]}}",
		"{\"notificationType\":\"Bounce\",\"bounce\":{\"bouncedRecipients\":"
		"[{\"emailAddress\":\"not an address\"}]}}",
		"{\"notificationType\":\"Bounce\",\"bounce\":{\"bouncedRecipients\":"
		"[{\"emailAddress\":42}]}}",
		"{\"notificationType\":\"Bounce\",\"bounce\":{\"bouncedRecipients\":"
		"[{\"emailAddress\":null}]}}",
		"{\"notificationType\":\"Bounce\",\"bounce\":{\"bouncedRecipients\":"
		"[{\"emailAddress\":\"a\\u0000@example.com\"}]}}",
		"{\"notificationType\":\"Bounce\",\"bounce\":{\"bouncedRecipients\":"
		"[{\"emailAddress\":\"\"}]}}",
		/* Complaint, Delivery, DeliveryDelay */
		"{\"notificationType\":\"Complaint\",\"complaint\":{}}",
		"{\"notificationType\":\"Complaint\"}",
		"{\"notificationType\":\"Complaint\",\"complaint\":{\"complainedRecipients\":"
		"[{\"email\":\"a@example.com\"}]}}",
		"{\"eventType\":\"Delivery\",\"delivery\":{\"recipients\":\"a@example.com\"}}",
		"{\"eventType\":\"Delivery\",\"delivery\":{\"recipients\":[{\"emailAddress\":"
		"\"a@example.com\"}]}}",
		"{\"eventType\":\"Delivery\",\"delivery\":{\"recipients\":[\"a@b\"]}}",
		"{\"eventType\":\"Delivery\"}",
		"{\"eventType\":\"DeliveryDelay\",\"deliveryDelay\":{}}",
	};
	struct ses_event ev;
	char             why[256];
	size_t           i;

	size_t           k;
	char             norm[ADDR_MAX + 1];

	/* The message is verified when this runs: nothing is refused, all is
	 * kept, and what was not understood is said. */
	for (i = 0; i < NITEMS(texts); i++) {
		memset(&ev, 0xa5, sizeof(ev));
		if (parse_str(texts[i], &ev, why, sizeof(why)) != 1) {
			ses_free(&ev);
			fail_msg("not flagged: %s", texts[i]);
		}
		if (why[0] == '\0')
			fail_msg("no reason for: %s", texts[i]);
		assert_non_null(ev.root);
		for (k = 0; k < ev.nrcpt; k++) {
			assert_non_null(ev.rcpt[k].original);
			if (ev.rcpt[k].email[0] != '\0') {
				assert_int_equal(addr_normalize(ev.rcpt[k].original, norm, sizeof(norm)), 0);
				assert_string_equal(norm, ev.rcpt[k].email);
			}
		}
		ses_free(&ev);
	}
}

/* One odd recipient does not take the others with it: each address is
 * acted on, each non-address kept with its raw text. */
static void
test_odd_recipient_kept(void **state)
{
	struct ses_event ev;
	char             why[256];

	assert_int_equal(parse_str("{\"notificationType\":\"Bounce\",\"bounce\":{\"bounceType\":"
	                           "\"Permanent\",\"bouncedRecipients\":[{\"emailAddress\":"
	                           "\"a@example.com\"},{\"status\":\"5.1.1\"},{\"emailAddress\":"
	                           "\"\\\"test.\\\"@Example.com\"},{\"emailAddress\":42},"
	                           "{\"emailAddress\":\"J@[192.0.2.1]\"}]}}",
	                     &ev, why, sizeof(why)),
	    1);
	assert_int_equal(ev.nrcpt, 5);
	assert_int_equal(ev.not_addresses, 2);
	assert_string_equal(ev.rcpt[0].email, "a@example.com");
	assert_string_equal(ev.rcpt[1].email, "");
	assert_string_equal(ev.rcpt[1].original, "{\"status\":\"5.1.1\"}");
	assert_string_equal(ev.rcpt[1].status, "5.1.1");
	assert_string_equal(ev.rcpt[2].email, "\"test.\"@example.com");
	assert_string_equal(ev.rcpt[3].email, "");
	assert_string_equal(ev.rcpt[3].original, "42");
	assert_string_equal(ev.rcpt[4].email, "j@[192.0.2.1]");
	assert_non_null(strstr(why, "recipient 1 is not an email address"));
	assert_string_equal(ev.bounce_type, "Permanent");
	ses_free(&ev);
	/* an OnAccountSuppressionList complaint without complainedRecipients */
	assert_int_equal(parse_str("{\"notificationType\":\"Complaint\",\"complaint\":{"
	                           "\"complaintSubType\":\"OnAccountSuppressionList\"}}",
	                     &ev, why, sizeof(why)),
	    1);
	assert_int_equal(ev.nrcpt, 0);
	assert_string_equal(ev.kind, "Complaint");
	assert_string_equal(ev.complaint_subtype, "OnAccountSuppressionList");
	assert_non_null(strstr(why, "no complainedRecipients list"));
	ses_free(&ev);
}

/* n recipients of the given kind, as JSON text. The caller frees it. */
static char *
many_recipients(const char *kind, size_t n)
{
	struct buf b;
	size_t     i;
	int        objs = strcmp(kind, "Bounce") == 0;

	buf_init(&b, 1 << 22);
	if (objs)
		assert_int_equal(buf_adds(&b,
		                     "{\"notificationType\":\"Bounce\",\"bounce\":{"
		                     "\"bounceType\":\"Permanent\",\"bouncedRecipients\":["),
		    0);
	else
		assert_int_equal(buf_adds(&b,
		                     "{\"notificationType\":\"Delivery\",\"delivery\":{"
		                     "\"recipients\":["),
		    0);
	for (i = 0; i < n; i++) {
		assert_int_equal(buf_addf(&b,
		                     objs ? "%s{\"emailAddress\":\"r%zu@example.com\"}"
		                          : "%s\"r%zu@example.com\"",
		                     i ? "," : "", i),
		    0);
	}
	assert_int_equal(buf_adds(&b, "]}}"), 0);
	return buf_take(&b, NULL);
}

static void
test_recipient_limit(void **state)
{
	static const char *const kinds[] = { "Bounce", "Delivery" };
	struct ses_event         ev;
	char                     why[256], want[64];
	char                    *text;
	size_t                   i;

	for (i = 0; i < NITEMS(kinds); i++) {
		text = many_recipients(kinds[i], SES_MAX_RECIPIENTS);
		assert_int_equal(parse_str(text, &ev, why, sizeof(why)), 0);
		assert_int_equal(ev.nrcpt, SES_MAX_RECIPIENTS);
		snprintf(want, sizeof(want), "r%d@example.com", SES_MAX_RECIPIENTS - 1);
		assert_string_equal(ev.rcpt[SES_MAX_RECIPIENTS - 1].email, want);
		ses_free(&ev);
		free(text);

		text = many_recipients(kinds[i], SES_MAX_RECIPIENTS + 1);
		assert_int_equal(parse_str(text, &ev, why, sizeof(why)), 1);
		assert_non_null(strstr(why, "1001"));
		assert_int_equal(ev.nrcpt, SES_MAX_RECIPIENTS);
		ses_free(&ev);
		free(text);
	}
}

struct time_case {
	const char *in;
	const char *out; /* NULL: refused */
};

static void
test_parse_time(void **state)
{
	static const struct time_case cases[] = {
		{ "2016-01-27T14:59:38.237Z", "2016-01-27T14:59:38.237000Z" },
		{ "2009-12-03T04:24:21.000-05:00", "2009-12-03T09:24:21.000000Z" },
		{ "2018-10-08T14:05:45 +0000", "2018-10-08T14:05:45.000000Z" },
		/* 14:05:45 at +01:30 is 12:35:45 UTC */
		{ "2018-10-08T14:05:45+0130", "2018-10-08T12:35:45.000000Z" },
		{ "2018-10-08T14:05:45+01:30", "2018-10-08T12:35:45.000000Z" },
		{ "2018-10-08T14:05:45-0130", "2018-10-08T15:35:45.000000Z" },
		{ "2016-12-31T23:30:00-01:00", "2017-01-01T00:30:00.000000Z" },
		{ "2016-03-01T00:30:00+01:00", "2016-02-29T23:30:00.000000Z" },
		{ "2016-02-28T23:59:59.1234567Z", "2016-02-28T23:59:59.123456Z" },
		{ "2016-02-28T23:59:59.5Z", "2016-02-28T23:59:59.500000Z" },
		{ "2017-08-05T00:41:02Z", "2017-08-05T00:41:02.000000Z" },
		{ "", NULL },
		{ "garbage", NULL },
		{ "2016-13-27T14:59:38.237Z", NULL },
		{ "2016-00-27T14:59:38.237Z", NULL },
		{ "2016-01-00T14:59:38.237Z", NULL },
		{ "2016-01-32T14:59:38.237Z", NULL },
		{ "2016-01-27T24:00:00Z", NULL },
		{ "2016-01-27T14:60:00Z", NULL },
		{ "2016-01-27T14:59:38.Z", NULL },
		{ "2016-01-27T14:59:38+5", NULL },
		{ "2016-01-27T14:59:38+05:0", NULL },
		{ "2016-01-27T14:59:38+2400", NULL },
		{ "2016-01-27T14:59:38+0560", NULL },
		{ "2016-01-27T14:59:38+05000", NULL },
		{ "2016-01-27T14:59:38Zjunk", NULL },
		{ "2016-01-27T14:59:38.237ZZ", NULL },
		{ "2016-1-27T14:59:38Z", NULL },
		{ "16-01-27T14:59:38Z", NULL },
		{ "2016-01-27", NULL },
		{ "2016-01-27T14:59", NULL },
		{ "Wed, 27 Jan 2016 14:05:45 +0000", NULL },
		{ "1453906778", NULL },
		{ "2016-02-30T10:00:00Z", NULL },
		{ "2015-02-29T10:00:00Z", NULL },
		{ "2016-02-29T10:00:00Z", "2016-02-29T10:00:00.000000Z" },
		{ "2016-04-31T10:00:00Z", NULL },
		{ "0000-01-01T00:00:00Z", NULL },
		{ "0000-01-01T00:00:00+00:01", NULL },
		{ "9999-12-31T23:59:59-01:00", NULL },
		{ "0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000000Z" },
	};
	char   out[64];
	size_t i;
	int    rc;

	for (i = 0; i < NITEMS(cases); i++) {
		memset(out, 'Z', sizeof(out));
		out[sizeof(out) - 1] = '\0';
		rc = ses_parse_time(cases[i].in, out, sizeof(out));
		if (cases[i].out == NULL) {
			if (rc != -1)
				fail_msg("accepted \"%s\" as \"%s\"", cases[i].in, out);
			continue;
		}
		if (rc != 0)
			fail_msg("refused \"%s\"", cases[i].in);
		if (strcmp(out, cases[i].out) != 0)
			fail_msg("\"%s\" -> \"%s\", want \"%s\"", cases[i].in, out, cases[i].out);
	}
}

static void
test_parse_time_outlen(void **state)
{
	char out[40];

	/* "2016-01-27T14:59:38.237000Z" is 27 bytes and a NUL */
	assert_int_equal(ses_parse_time("2016-01-27T14:59:38.237Z", out, 27), -1);
	assert_int_equal(ses_parse_time("2016-01-27T14:59:38.237Z", out, 28), 0);
	assert_string_equal(out, "2016-01-27T14:59:38.237000Z");
}

int
main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_every_fixture_listed),
		cmocka_unit_test(test_identity_bounce_details),
		cmocka_unit_test(test_display_names),
		cmocka_unit_test(test_occurred),
		cmocka_unit_test(test_not_json),
		cmocka_unit_test(test_json_not_ses),
		cmocka_unit_test(test_unknown_event_type),
		cmocka_unit_test(test_listless_kinds),
		cmocka_unit_test(test_subscription_contact),
		cmocka_unit_test(test_empty_recipient_list),
		cmocka_unit_test(test_malformed_events),
		cmocka_unit_test(test_odd_recipient_kept),
		cmocka_unit_test(test_recipient_limit),
		cmocka_unit_test(test_parse_time),
		cmocka_unit_test(test_parse_time_outlen),
	};
	struct CMUnitTest *tests;
	size_t             n = 0, i;
	int                rc;

	tests = calloc(MAX_ROWS + NITEMS(fixed) + 1, sizeof(*tests));
	if (tests == NULL)
		return 1;
	/* one test per line of EXPECTED.tsv, named after its fixture */
	if (load_expected() == -1) {
		tests[n].name = "EXPECTED.tsv";
		tests[n].test_func = test_expected_unreadable;
		n++;
	} else {
		for (i = 0; i < nrows; i++) {
			tests[n].name = rows[i].file;
			tests[n].test_func = test_fixture;
			tests[n].initial_state = &rows[i];
			n++;
		}
	}
	for (i = 0; i < NITEMS(fixed); i++)
		tests[n++] = fixed[i];
	rc = _cmocka_run_group_tests("ses", tests, n, NULL, NULL);
	free(tests);
	free(tsv_text);
	return rc;
}
