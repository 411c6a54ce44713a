/* SPDX-License-Identifier: ISC */
/* ses-feedback - `verify [--cert FILE] [--at TIME] FILE|-`: run the
 * service's checks on one saved SNS message and say what it would answer,
 * without a database. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "buf.h"
#include "cert.h"
#include "certcache.h"
#include "cfg.h"
#include "cmd.h"
#include "http.h"
#include "json_in.h"
#include "log.h"
#include "ses.h"
#include "sns.h"
#include "verify.h"

static int read_file(const char *path, size_t max, struct buf *out);
static int check_local(const struct sns_msg *m, const struct cfg *c, time_t now);
static int check_signature(
    struct sns_msg *m, const struct cfg *c, const char *cert_file, time_t now);
static void print_event(const struct sns_msg *m);

int
cmd_verify(int argc, char **argv)
{
	struct cfg           c;
	struct sns_msg       m;
	struct buf           body;
	const char          *cert_file = NULL, *file = NULL, *at = NULL;
	const struct cmd_opt opts[] = { { "cert", &cert_file, NULL }, { "at", &at, NULL },
		{ NULL, NULL, NULL } };
	char                 why[512];
	time_t               now = time(NULL);
	int                  rc = CMD_FAIL;

	memset(&m, 0, sizeof(m));
	buf_init(&body, 0);
	if (cmd_args(argc, argv, opts, &file) == -1)
		return CMD_USAGE;
	if (cfg_load(&c, NULL, why, sizeof(why)) == -1)
		fatalx("%s", why);
	if (at != NULL && jsonin_time(at, JSONIN_TIME_SNS, &now, NULL) == -1)
		fatalx("--at %s: want an SNS Timestamp such as 2026-12-02T09:30:00.000Z", at);
	if (read_file(file, c.max_body, &body) == -1) {
		printf("REFUSED %s: cannot read (%s)\n", file, strerror(errno));
		goto out;
	}
	if (sns_parse(body.data ? body.data : "", body.len, &m, why, sizeof(why)) == -1) {
		printf("REFUSED (400): %s\n", why);
		goto out;
	}
	printf("message  %s\ntype     %s\ntopic    %s\nsigver   %d\n", m.message_id, m.type_str,
	    m.topic_arn, m.sigver);
	if (check_local(&m, &c, now) == -1 || check_signature(&m, &c, cert_file, now) == -1)
		goto out;
	print_event(&m);
	printf("OK: signature verified\n");
	rc = CMD_OK;
out:
	sns_free(&m);
	buf_free(&body);
	return rc;
}

/* Reads path ("-": standard input) whole into out, at most max bytes.
 * Returns 0, or -1 with errno set (EFBIG when over max); out is the
 * caller's to free either way. */
static int
read_file(const char *path, size_t max, struct buf *out)
{
	FILE  *f;
	char   tmp[8192];
	size_t n;
	int    ret = 0;

	f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (f == NULL)
		return -1;
	buf_init(out, max);
	for (;;) {
		n = fread(tmp, 1, sizeof(tmp), f);
		if (n == 0)
			break;
		if (buf_add(out, tmp, n) == -1) {
			errno = EFBIG;
			ret = -1;
			break;
		}
	}
	if (ferror(f))
		ret = -1;
	if (f != stdin)
		fclose(f);
	return ret;
}

/* The checks made before any certificate: versions, age, fields. The
 * allow-list is reported, not enforced: an empty one would refuse all. */
static int
check_local(const struct sns_msg *m, const struct cfg *c, time_t now)
{
	struct verify_opts vo;
	char               why[512];

	if (*c->topics == '\0')
		printf("note     SES_FEEDBACK_TOPICS is empty: the service would refuse every "
		       "topic; not checked here\n");
	cfg_verify_opts(c, now, &vo);
	if (*c->topics == '\0')
		vo.topics = NULL; /* reported above, not enforced */
	if (verify_local(m, &vo, why, sizeof(why)) != VERIFY_OK) {
		printf("REFUSED (403): %s\n", why);
		return -1;
	}
	return 0;
}

/* The signature, with the certificate from cert_file or, as the service
 * does, fetched. Returns 0 or -1 (refusal printed). */
static int
check_signature(struct sns_msg *m, const struct cfg *c, const char *cert_file, time_t now)
{
	struct verify_opts    vo;
	struct buf            pem;
	struct http          *h = NULL;
	struct certcache     *cc = NULL;
	EVP_PKEY             *key = NULL;
	enum certcache_source from = CERTCACHE_FROM_NETWORK;
	enum verify_result    v;
	time_t                not_after;
	char                  why[512];
	int                   rc = -1;

	buf_init(&pem, 0);
	if (cert_file != NULL) {
		if (read_file(cert_file, CERT_MAX_PEM, &pem) == -1) {
			printf("REFUSED: cannot read %s (%s)\n", cert_file, strerror(errno));
			goto out;
		}
		if (cert_check_pem(pem.data ? pem.data : "", pem.len, &m->arn, now, &key,
		        &not_after, why, sizeof(why)) == -1) {
			printf("REFUSED (403): certificate %s: %s\n", cert_file, why);
			goto out;
		}
		v = verify_signature(m, key, why, sizeof(why));
	} else {
		h = http_new();
		cc = certcache_new();
		if (h == NULL || cc == NULL)
			fatalx("out of memory");
		cfg_verify_opts(c, now, &vo);
		vo.topics = NULL; /* check_local() judged it */
		v = verify_message(m, &vo, cc, h, &from, why, sizeof(why));
	}
	if (v != VERIFY_OK) {
		printf("REFUSED (%d): %s\n", v == VERIFY_UNAVAILABLE ? 503 : 403, why);
		goto out;
	}
	rc = 0;
out:
	EVP_PKEY_free(key);
	certcache_free(cc);
	http_free(h);
	buf_free(&pem);
	return rc;
}

/* What the service would store for a notification. */
static void
print_event(const struct sns_msg *m)
{
	struct ses_event ev;
	char             why[512];
	size_t           i;

	if (m->type != SNS_NOTIFICATION)
		return;
	memset(&ev, 0, sizeof(ev));
	if (ses_parse(m->message, m->message_len, &ev, why, sizeof(why)) != 0)
		printf("note     %s (stored as it came)\n", why);
	printf("event    %s\n", ev.kind ? ev.kind : "(not an SES event; stored verbatim)");
	for (i = 0; i < ev.nrcpt; i++) {
		if (ev.rcpt[i].email[0] != '\0')
			printf("rcpt     %s\n", ev.rcpt[i].email);
		else
			printf("rcpt     (not an address: %s)\n", ev.rcpt[i].original);
	}
	ses_free(&ev);
}
