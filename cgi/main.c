/* SPDX-License-Identifier: ISC */
/* ses-feedback - Amazon SES feedback (bounces, complaints, deliveries) from
 * Amazon SNS into PostgreSQL, as a FastCGI/CGI program behind nginx or
 * Apache. This file picks the mode from the command line. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <fcgiapp.h>

#include "cert.h"
#include "certcache.h"
#include "cfg.h"
#include "cgi.h"
#include "http.h"
#include "bounds.h"
#include "json_in.h"
#include "log.h"
#include "metrics.h"
#include "ses.h"
#include "sns.h"
#include "db.h"
#include "migrate.h"
#include "supp_csv.h"
#include "verify.h"

static int  cmd_migrate(int argc, char **argv);
static int  cmd_suppressions(int argc, char **argv);
static int  cmd_verify(int argc, char **argv);
static int  cmd_check_config(int argc, char **argv);
static int  check_sns_https(const struct cfg *c);
static void fds_valid(void);
static int  read_file(const char *path, size_t max, struct buf *out);

void
usage(int status)
{
	FILE *f = status == 0 ? stdout : stderr;
	int   i;

	fprintf(f,
	    "usage: ses-feedback                        FastCGI on fd 0, or one CGI request\n"
	    "       ses-feedback serve --listen unix:PATH|HOST:PORT [--workers N]\n"
	    "                          [--user USER] [--socket-mode MODE] [--io-timeout SEC]\n"
	    "       ses-feedback migrate [--roles]\n"
	    "       ses-feedback suppressions export [--all]\n"
	    "       ses-feedback suppressions import [--note TEXT] FILE|-\n"
	    "       ses-feedback verify [--cert FILE] [--at TIME] FILE\n"
	    "       ses-feedback check-config [--param KEY=VALUE ...]\n"
	    "       ses-feedback --help | --version\n"
	    "\n"
	    "configuration (FastCGI parameter, else environment, else default):\n");
	for (i = 0; i < CFG__COUNT; i++)
		fprintf(
		    f, "  %-36s %s [%s]\n", cfg_table[i].name, cfg_table[i].help, cfg_table[i].def);
	exit(status);
}

int
main(int argc, char **argv)
{
	struct cfg     c;
	char           why[256];
	enum log_level lvl = LOG_LVL_INFO;
	const char    *v;
	int            rc;

	fds_valid();
	v = getenv("SES_FEEDBACK_LOG_LEVEL");
	if (v != NULL && log_parse_level(v, &lvl) == -1)
		lvl = LOG_LVL_INFO;
	log_init("ses-feedback", lvl);
	v = getenv("SES_FEEDBACK_LOG");
	if (v != NULL && strcmp(v, "syslog") == 0)
		log_use_syslog();
	else if (v != NULL && *v != '\0' && strcmp(v, "stderr") != 0)
		fatalx("SES_FEEDBACK_LOG=%s: want stderr or syslog", v);

	if (argc >= 2) {
		if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
			usage(0);
		if (strcmp(argv[1], "--version") == 0) {
			printf("ses-feedback %s (schema %d)\n", PACKAGE_VERSION,
			    migrate_schema_wanted());
			return 0;
		}
	}
	/* Library set-up happens once, before any fork. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatalx("curl_global_init failed");

	if (argc >= 2) {
		if (strcmp(argv[1], "serve") == 0)
			rc = serve_main(argc - 1, argv + 1);
		else if (strcmp(argv[1], "migrate") == 0)
			rc = cmd_migrate(argc - 1, argv + 1);
		else if (strcmp(argv[1], "suppressions") == 0)
			rc = cmd_suppressions(argc - 1, argv + 1);
		else if (strcmp(argv[1], "verify") == 0)
			rc = cmd_verify(argc - 1, argv + 1);
		else if (strcmp(argv[1], "check-config") == 0)
			rc = cmd_check_config(argc - 1, argv + 1);
		else
			usage(2);
		curl_global_cleanup();
		return rc;
	}

	if (!FCGX_IsCGI()) {
		refuse_root("FastCGI");
		/* Processes a web server starts one by one share metrics
		 * through a file, if given one. */
		v = getenv("SES_FEEDBACK_METRICS_FILE");
		if (v != NULL && *v != '\0' && metrics_init_file(v) == -1)
			log_warn("SES_FEEDBACK_METRICS_FILE %s: metrics of this process only", v);
		rc = fcgi_serve(0); /* spawn-fcgi, mod_fcgid, systemd socket */
	} else if (getenv("GATEWAY_INTERFACE") != NULL || getenv("REQUEST_METHOD") != NULL) {
		refuse_root("CGI");
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

/* 0, 1 and 2 must be open before anything else is: a socket or log file
 * opened later must never become "stderr". */
static void
fds_valid(void)
{
	int fd;

	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
		;
	if (fd > 2)
		close(fd);
}

static int
cmd_migrate(int argc, char **argv)
{
	struct cfg c;
	char       why[1024];
	int        roles = 0;

	if (argc == 2 && strcmp(argv[1], "--roles") == 0)
		roles = 1;
	else if (argc != 1)
		usage(2);
	if (cfg_load(&c, NULL, why, sizeof(why)) == -1)
		fatalx("%s", why);
	if (migrate_run(c.dsn, roles, stdout, why, sizeof(why)) == -1) {
		fprintf(stderr, "ses-feedback migrate: %s\n", why);
		return 1;
	}
	return 0;
}

static int
cmd_suppressions(int argc, char **argv)
{
	struct supp_csv_import_result res;
	struct cfg                    c;
	const char                   *note = "imported", *file = NULL;
	char                          why[1024];
	FILE                         *in;
	int                           i, all = 0, rc;

	if (argc < 2)
		usage(2);
	if (cfg_load(&c, NULL, why, sizeof(why)) == -1)
		fatalx("%s", why);
	if (strcmp(argv[1], "export") == 0) {
		for (i = 2; i < argc; i++) {
			if (strcmp(argv[i], "--all") == 0)
				all = 1;
			else
				usage(2);
		}
		if (supp_csv_export(c.dsn, all, stdout, why, sizeof(why)) == -1) {
			fprintf(stderr, "ses-feedback suppressions export: %s\n", why);
			return 1;
		}
		return 0;
	}
	if (strcmp(argv[1], "import") != 0)
		usage(2);
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--note") == 0 && i + 1 < argc)
			note = argv[++i];
		else if (file == NULL && (argv[i][0] != '-' || strcmp(argv[i], "-") == 0))
			file = argv[i];
		else
			usage(2);
	}
	if (file == NULL)
		usage(2);
	in = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
	if (in == NULL) {
		fprintf(
		    stderr, "ses-feedback suppressions import: %s: %s\n", file, strerror(errno));
		return 1;
	}
	rc = supp_csv_import(c.dsn, in, note, stderr, &res, why, sizeof(why));
	if (in != stdin)
		fclose(in);
	if (rc == -1) {
		fprintf(stderr, "ses-feedback suppressions import: %s; nothing imported\n", why);
		return 1;
	}
	printf("%lu lines: %lu added, %lu already suppressed, %lu rejected\n", res.lines, res.added,
	    res.already, res.rejected);
	return res.rejected > 0 ? 1 : 0;
}

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
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0) {
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

static int
cmd_verify(int argc, char **argv)
{
	struct cfg            c;
	struct sns_msg        m;
	struct ses_event      ev;
	struct buf            body, pem;
	struct http          *h = NULL;
	struct certcache     *cc = NULL;
	const char           *cert_file = NULL, *file = NULL, *at = NULL;
	char                  why[512];
	EVP_PKEY             *key = NULL;
	enum certcache_source from = CERTCACHE_FROM_NETWORK;
	enum verify_result    v;
	struct verify_opts    vo;
	time_t                not_after, now = time(NULL);
	int                   i, rc = 1;

	memset(&m, 0, sizeof(m));
	memset(&ev, 0, sizeof(ev));
	buf_init(&body, 0);
	buf_init(&pem, 0);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--cert") == 0 && i + 1 < argc)
			cert_file = argv[++i];
		else if (strcmp(argv[i], "--at") == 0 && i + 1 < argc)
			at = argv[++i];
		else if (file == NULL && (argv[i][0] != '-' || strcmp(argv[i], "-") == 0))
			file = argv[i];
		else
			usage(2);
	}
	if (file == NULL)
		usage(2);
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
	if (*c.topics == '\0')
		printf("note     SES_FEEDBACK_TOPICS is empty: the service would refuse every "
		       "topic; not checked here\n");
	memset(&vo, 0, sizeof(vo));
	vo.topics = *c.topics ? c.topics : NULL;
	vo.min_sigver = c.min_sigver;
	vo.max_age = c.max_age;
	vo.now = now;
	vo.cert_dir = c.cert_cache;
	vo.http.ca_file = c.ca_file;
	vo.http.connect_to = c.connect_to;
	v = verify_local(&m, &vo, why, sizeof(why));
	if (v != VERIFY_OK) {
		printf("REFUSED (403): %s\n", why);
		goto out;
	}
	if (cert_file != NULL) {
		if (read_file(cert_file, CERT_MAX_PEM, &pem) == -1) {
			printf("REFUSED: cannot read %s (%s)\n", cert_file, strerror(errno));
			goto out;
		}
		if (cert_check_pem(pem.data ? pem.data : "", pem.len, &m.arn, now, &key, &not_after,
		        why, sizeof(why)) == -1) {
			printf("REFUSED (403): certificate %s: %s\n", cert_file, why);
			goto out;
		}
		v = verify_signature(&m, key, why, sizeof(why));
	} else {
		h = http_new();
		cc = certcache_new();
		if (h == NULL || cc == NULL)
			fatalx("out of memory");
		v = verify_message(&m, &vo, cc, h, &from, why, sizeof(why));
	}
	if (v != VERIFY_OK) {
		printf("REFUSED (%d): %s\n", v == VERIFY_UNAVAILABLE ? 503 : 403, why);
		goto out;
	}
	if (m.type == SNS_NOTIFICATION) {
		if (ses_parse(m.message, m.message_len, &ev, why, sizeof(why)) != 0)
			printf("note     %s (stored as it came)\n", why);
		printf("event    %s\n", ev.kind ? ev.kind : "(not an SES event; stored verbatim)");
		for (i = 0; i < (int)ev.nrcpt; i++) {
			if (ev.rcpt[i].email[0] != '\0')
				printf("rcpt     %s\n", ev.rcpt[i].email);
			else
				printf("rcpt     (not an address: %s)\n", ev.rcpt[i].original);
		}
	}
	printf("OK: signature verified\n");
	rc = 0;
out:
	ses_free(&ev);
	sns_free(&m);
	EVP_PKEY_free(key);
	certcache_free(cc);
	http_free(h);
	buf_free(&pem);
	buf_free(&body);
	return rc;
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
	char             host[128], url[160], why[512], first[512];
	const char      *p = c->topics + strspn(c->topics, " ,\t\r\n");
	size_t           n = strcspn(p, " ,\t\r\n");
	char            *f[6], *save = NULL, *tok;
	long             status = 0;
	int              i, rc = 1;

	memset(&arn, 0, sizeof(arn));
	snprintf(first, sizeof(first), "%.*s", (int)(n < sizeof(first) ? n : sizeof(first) - 1), p);
	for (i = 0, tok = strtok_r(first, ":", &save); tok != NULL && i < 6;
	     tok = strtok_r(NULL, ":", &save))
		f[i++] = tok;
	if (i < 4) {
		printf("skip HTTPS to SNS: no topic to take a region from\n");
		return 0;
	}
	snprintf(arn.partition, sizeof(arn.partition), "%s",
	    strcmp(f[1], "aws-cn") == 0 ? "aws-cn" : "aws");
	/* A wildcard region: try the partition's first region. */
	snprintf(arn.region, sizeof(arn.region), "%s",
	    strchr(f[3], '*') == NULL                  ? f[3]
	        : strcmp(arn.partition, "aws-cn") == 0 ? "cn-north-1"
	                                               : "us-east-1");
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

/* --param KEY=VALUE pairs stand in for a web server's fastcgi_param lines. */
struct params {
	char **kv;
	int    n;
};

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

/* Warn about allow-list entries that let any AWS account deliver: a valid
 * signature only proves that some account's topic sent the message, so
 * the account field is the one that must be exact. Returns the number of
 * warnings printed. */
static int
warn_topics(const char *list)
{
	const char *p = list, *f;
	size_t      n, i, flen;
	int         fields, warned = 0;

	while (*p != '\0') {
		p += strspn(p, " ,\t\r\n");
		n = strcspn(p, " ,\t\r\n");
		if (n == 0)
			break;
		/* arn:PARTITION:sns:REGION:ACCOUNT:NAME, the account is field 5 */
		f = p;
		flen = 0;
		fields = 1;
		for (i = 0; i < n; i++) {
			if (p[i] != ':')
				continue;
			if (fields == 4)
				f = p + i + 1;
			if (fields == 5)
				flen = (size_t)(p + i - f);
			fields++;
		}
		if (fields != 6) {
			printf("WARNING SES_FEEDBACK_TOPICS entry %.*s is not a TopicArn pattern "
			       "(arn:aws:sns:REGION:ACCOUNT:NAME) and matches nothing\n",
			    (int)n, p);
			warned++;
		} else if (flen != 12 || strspn(f, "0123456789") < 12) {
			printf(
			    "WARNING SES_FEEDBACK_TOPICS entry %.*s: account field \"%.*s\" is not "
			    "one 12-digit account id: ANY AWS ACCOUNT whose topic name matches "
			    "can deliver signed messages here\n",
			    (int)n, p, (int)flen, f);
			warned++;
		}
		p += n;
	}
	return warned;
}

static int
cmd_check_config(int argc, char **argv)
{
	struct cfg     c;
	struct cfg_src src;
	struct params  p = { argv + 1, 0 };
	struct stat    st;
	char           why[1024], dsn[2048];
	int            i, v, bad = 0, warnings = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--param") == 0 && i + 1 < argc &&
		    strchr(argv[i + 1], '=') != NULL) {
			argv[1 + p.n++] = argv[++i];
		} else {
			usage(2);
		}
	}
	src.param = params_get;
	src.ctx = &p;
	for (i = 0; i < CFG__COUNT; i++) {
		enum cfg_origin from;
		const char     *val = cfg_lookup(&src, (enum cfg_id)i, &from);

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
	if (bad || cfg_load(&c, &src, why, sizeof(why)) == -1) {
		printf("FAIL configuration has errors\n");
		return 1;
	}
	if (*c.topics == '\0') {
		printf("FAIL SES_FEEDBACK_TOPICS is empty: every message would be refused\n");
		bad++;
	} else if ((warnings = warn_topics(c.topics)) == 0) {
		printf("ok   topic allow-list set\n");
	}
	if (c.ca_file != NULL && access(c.ca_file, R_OK) == -1) {
		printf("FAIL SES_FEEDBACK_CA_FILE %s: %s\n", c.ca_file, strerror(errno));
		bad++;
	}
	if (c.cert_cache != NULL) {
		if (!certcache_dir_ok(c.cert_cache) || stat(c.cert_cache, &st) == -1 ||
		    access(c.cert_cache, W_OK | X_OK) == -1) {
			printf(
			    "FAIL certificate cache %s must be a directory owned by this user and "
			    "writable by no one else\n",
			    c.cert_cache);
			bad++;
		} else {
			printf("ok   certificate cache %s writable\n", c.cert_cache);
		}
	}
	bad += check_sns_https(&c);
	v = migrate_schema_version(c.dsn, why, sizeof(why));
	if (v < 0) {
		printf("FAIL database: %s\n", why);
		bad++;
	} else if (v < migrate_schema_wanted()) {
		printf("FAIL database schema is version %d, need %d: run `ses-feedback migrate`\n",
		    v, migrate_schema_wanted());
		bad++;
	} else {
		printf("ok   database reachable, schema version %d\n", v);
	}
	if (bad)
		printf("FAIL\n");
	else if (warnings > 0)
		printf("OK, but %d WARNING%s above\n", warnings, warnings == 1 ? "" : "S");
	else
		printf("OK\n");
	return bad ? 1 : 0;
}
