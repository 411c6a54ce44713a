/* SPDX-License-Identifier: ISC */
/* ses-feedback - `check-config [--param KEY=VALUE ...]`: every key with
 * its value, origin and scope, then what can be tried: the allow-list, the
 * CA file, the certificate cache, HTTPS to SNS and the database. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bounds.h"
#include "buf.h"
#include "cert.h"
#include "certcache.h"
#include "cfg.h"
#include "cmd.h"
#include "db.h"
#include "http.h"
#include "migrate.h"
#include "sns.h"

#define TOPIC_SEPARATORS " ,\t\r\n"

/* --param KEY=VALUE pairs stand in for a web server's fastcgi_param lines. */
struct params {
	char **kv;
	int    n;
};

/* The fields of one allow-list entry arn:PARTITION:sns:REGION:ACCOUNT:NAME,
 * pointing into the entry. */
struct topic_fields {
	const char *f[6];
	size_t      len[6];
	int         n; /* fields found; 6 for a TopicArn pattern */
};

static const char *params_get(void *ctx, const char *name);
static int         parse_params(int argc, char **argv, struct params *p);
static int         print_keys(const struct cfg_src *src);
static void        split_topic(const char *p, size_t n, struct topic_fields *t);
static const char *next_topic(const char **list, size_t *n, struct topic_fields *t);
static int         warn_topics(const char *list);
static int         check_files(const struct cfg *c);
static int         check_sns_https(const struct cfg *c);
static int         check_database(const struct cfg *c);

int
cmd_check_config(int argc, char **argv)
{
	struct cfg     c;
	struct cfg_src src;
	struct params  p;
	char           why[1024];
	int            bad, warnings = 0;

	if (parse_params(argc, argv, &p) == -1)
		return CMD_USAGE;
	src.param = params_get;
	src.ctx = &p;
	bad = print_keys(&src);
	if (bad || cfg_load(&c, &src, why, sizeof(why)) == -1) {
		printf("FAIL configuration has errors\n");
		return CMD_FAIL;
	}
	if (*c.topics == '\0') {
		printf("FAIL SES_FEEDBACK_TOPICS is empty: every message would be refused\n");
		bad++;
	} else {
		warnings = warn_topics(c.topics);
		if (warnings == 0)
			printf("ok   topic allow-list set\n");
	}
	bad += check_files(&c);
	bad += check_sns_https(&c);
	bad += check_database(&c);
	if (bad)
		printf("FAIL\n");
	else if (warnings > 0)
		printf("OK, but %d WARNING%s above\n", warnings, warnings == 1 ? "" : "S");
	else
		printf("OK\n");
	return bad ? CMD_FAIL : CMD_OK;
}

/* Collects the KEY=VALUE of every --param into argv[1 .. p->n], in the
 * order given (the last of a key wins, as params_get reads backwards).
 * "+": no permutation, so only slots getopt has passed are overwritten. */
static int
parse_params(int argc, char **argv, struct params *p)
{
	static const struct option lo[] = { { "param", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 } };
	int                        ch;

	p->kv = argv + 1;
	p->n = 0;
	optind = 1;
	for (;;) {
		ch = getopt_long(argc, argv, "+", lo, NULL);
		if (ch == -1)
			break;
		if (ch != 'p' || strchr(optarg, '=') == NULL)
			return -1;
		p->kv[p->n++] = optarg;
	}
	return optind == argc ? 0 : -1;
}

static const char *
params_get(void *ctx, const char *name)
{
	struct params *p = ctx;
	size_t         nl = strlen(name);
	int            i;

	for (i = p->n - 1; i >= 0; i--) {
		if (strncmp(p->kv[i], name, nl) == 0 && p->kv[i][nl] == '=')
			return p->kv[i] + nl + 1;
	}
	return NULL;
}

/* One line per key, grouped by scope. Returns the number of bad values. */
static int
print_keys(const struct cfg_src *src)
{
	static const int scopes[] = { CFG_REQUEST, CFG_STARTUP | CFG_REQUEST, CFG_STARTUP };
	enum cfg_origin  from;
	const char      *val;
	char             why[1024], dsn[2048];
	size_t           s;
	int              i, bad = 0, scope;

	for (s = 0; s < sizeof(scopes) / sizeof(scopes[0]); s++) {
		printf("scope: %s\n", cfg_scope_name(scopes[s]));
		for (i = 0; i < CFG__COUNT; i++) {
			scope = cfg_table[i].flags & (CFG_REQUEST | CFG_STARTUP);
			if (scope != scopes[s])
				continue;
			val = cfg_lookup(src, (enum cfg_id)i, &from);
			printf("%-36s = ", cfg_table[i].name);
			if (i == CFG_DSN) {
				db_dsn_masked(val, dsn, sizeof(dsn));
				printf("%s", dsn);
			} else {
				printf("%s", val);
			}
			printf("  (%s)", cfg_origin_name(from));
			if (cfg_check((enum cfg_id)i, val, why, sizeof(why)) == -1) {
				printf("  BAD: %s", why);
				bad++;
			}
			printf("\n");
		}
	}
	return bad;
}

static void
split_topic(const char *p, size_t n, struct topic_fields *t)
{
	size_t i, start = 0;

	t->n = 0;
	for (i = 0; i <= n; i++) {
		if (i < n && p[i] != ':')
			continue;
		if (t->n < 6) {
			t->f[t->n] = p + start;
			t->len[t->n] = i - start;
		}
		t->n++;
		start = i + 1;
	}
}

/* The allow-list entry at *list (its length in *n, its fields in *t), *list
 * moved past it; NULL after the last one. */
static const char *
next_topic(const char **list, size_t *n, struct topic_fields *t)
{
	const char *e = *list + strspn(*list, TOPIC_SEPARATORS);

	*n = strcspn(e, TOPIC_SEPARATORS);
	if (*n == 0)
		return NULL;
	split_topic(e, *n, t);
	*list = e + *n;
	return e;
}

/* Warn about allow-list entries that let any AWS account deliver: a valid
 * signature only proves that some account's topic sent the message, so
 * the account field is the one that must be exact. Returns the number of
 * warnings printed. */
static int
warn_topics(const char *list)
{
	struct topic_fields t;
	const char         *p = list, *e;
	size_t              n;
	int                 warned = 0;

	while ((e = next_topic(&p, &n, &t)) != NULL) {
		if (t.n != 6) {
			printf("WARNING SES_FEEDBACK_TOPICS entry %.*s is not a TopicArn pattern "
			       "(arn:aws:sns:REGION:ACCOUNT:NAME) and matches nothing\n",
			    (int)n, e);
			warned++;
		} else if (t.len[4] != 12 || strspn(t.f[4], "0123456789") < 12) {
			printf(
			    "WARNING SES_FEEDBACK_TOPICS entry %.*s: account field \"%.*s\" is not "
			    "one 12-digit account id: ANY AWS ACCOUNT whose topic name matches "
			    "can deliver signed messages here\n",
			    (int)n, e, (int)t.len[4], t.f[4]);
			warned++;
		}
	}
	return warned;
}

/* The CA file and the certificate cache. Returns the number of failures. */
static int
check_files(const struct cfg *c)
{
	struct stat st;
	int         bad = 0;

	if (c->ca_file != NULL && access(c->ca_file, R_OK) == -1) {
		printf("FAIL SES_FEEDBACK_CA_FILE %s: %s\n", c->ca_file, strerror(errno));
		bad++;
	}
	if (c->cert_cache != NULL) {
		if (!certcache_dir_ok(c->cert_cache) || stat(c->cert_cache, &st) == -1 ||
		    access(c->cert_cache, W_OK | X_OK) == -1) {
			printf(
			    "FAIL certificate cache %s must be a directory owned by this user and "
			    "writable by no one else\n",
			    c->cert_cache);
			bad++;
		} else {
			printf("ok   certificate cache %s writable\n", c->cert_cache);
		}
	}
	return bad;
}

/* The TopicArn of the first allow-list entry that names one region, with
 * a '*' in its account or name replaced (they do not choose the host).
 * Returns 0, or -1 when no entry names a region. */
static int
probe_topic(const char *list, struct sns_arn *arn)
{
	struct topic_fields t;
	const char         *p = list;
	char                s[512];
	size_t              n;

	while (next_topic(&p, &n, &t) != NULL) {
		if (t.n == 6) {
			snprintf(s, sizeof(s), "arn:%.*s:sns:%.*s:%.*s:%.*s", (int)t.len[1], t.f[1],
			    (int)t.len[3], t.f[3],
			    memchr(t.f[4], '*', t.len[4]) ? 12 : (int)t.len[4],
			    memchr(t.f[4], '*', t.len[4]) ? "000000000000" : t.f[4],
			    memchr(t.f[5], '*', t.len[5]) ? 5 : (int)t.len[5],
			    memchr(t.f[5], '*', t.len[5]) ? "probe" : t.f[5]);
			if (sns_arn_parse(s, arn) == 0)
				return 0;
		}
	}
	return -1;
}

/* Can we reach the SNS host of the first allowed topic's region over
 * verified HTTPS (any HTTP answer will do)? Returns 0 or 1 (a failure). */
static int
check_sns_https(const struct cfg *c)
{
	struct http_opts ho = { c->ca_file, c->connect_to, LIM_PROBE_ANSWER_MAX };
	struct sns_arn   arn;
	struct http     *h;
	struct buf       body;
	char             host[128], url[160], why[512];
	long             status = 0;
	int              rc = 1;

	if (probe_topic(c->topics, &arn) == -1) {
		printf("skip HTTPS to SNS: no allowed topic names one region\n");
		return 0;
	}
	if (sns_host_for(&arn, host, sizeof(host)) == -1)
		return 1;
	snprintf(url, sizeof(url), "https://%s/", host);
	h = http_new();
	if (h == NULL)
		return 1;
	buf_init(&body, ho.max_body);
	if (http_get(h, url, &ho, &body, &status, why, sizeof(why)) == 0) {
		printf("ok   HTTPS to %s: TLS verified, HTTP %ld\n", host, status);
		rc = 0;
	} else {
		printf("FAIL HTTPS to %s: %s (certificates and confirmations would get 503)\n",
		    host, why);
	}
	buf_free(&body);
	http_free(h);
	return rc;
}

/* Reachable, at the schema version this program wants, and the primary?
 * Returns 0 or 1. */
static int
check_database(const struct cfg *c)
{
	char why[1024];
	int  v;

	v = migrate_schema_version(c->dsn, why, sizeof(why));
	if (v < 0) {
		printf("FAIL database: %s\n", why);
		return 1;
	}
	if (v < migrate_schema_wanted()) {
		printf("FAIL database schema is version %d, need %d: run `ses-feedback migrate`\n",
		    v, migrate_schema_wanted());
		return 1;
	}
	printf("ok   database reachable, schema version %d\n", v);
	fflush(stdout);
	v = db_describe(c->dsn, stdout, why, sizeof(why));
	if (v < 0)
		printf("FAIL database: %s\n", why);
	return v != 0;
}
