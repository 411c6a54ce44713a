/* SPDX-License-Identifier: ISC */
/* ses-feedback - unit tests for one request through the handler.
 * handler_run() driven by a fake request (parameters and a body) against
 * a fake store (fake_store.c), so no web server and no PostgreSQL. Signed
 * messages use a key made at test time whose certificate is put in the
 * disk cache beforehand, so no HTTPS either. Each test checks the answer,
 * the request's log line and what reached the store. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "buf.h"
#include "cfg.h"
#include "fake_store.h"
#include "handler.h"
#include "outcome.h"
#include "sns.h"
#include "subscribe.h"
#include "testkeys.h"

#define TOPIC    "arn:aws:sns:us-east-1:123456789012:ses-bounces"
#define UNLISTED "arn:aws:sns:us-east-1:210987654321:ses-bounces"
#define HOST     "sns.us-east-1.amazonaws.com"
#define CERT_URL "https://" HOST "/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem"
#define NPARAMS  24

/* Shared by all tests: RSA generation is slow. */
struct world {
	EVP_PKEY *key;      /* signs the messages */
	char      dir[64];  /* certificate cache, seeded with key's certificate */
	char      pem[512]; /* the seeded file */
};

static struct world w;

/* A request as the web server would hand it over. */
struct fake_req {
	const char *name[NPARAMS];
	const char *value[NPARAMS];
	int         n;
	const char *body;
	size_t      len, pos;
	int         read_error; /* the body read fails */
};

/* What one handler_run() gave. */
struct result {
	struct response out;
	char            log[4096]; /* the request's log line */
};

static const char *
fr_param(void *ctx, const char *name)
{
	struct fake_req *fr = ctx;
	int              i;

	for (i = 0; i < fr->n; i++) {
		if (strcmp(fr->name[i], name) == 0)
			return fr->value[i];
	}
	return NULL;
}

static long
fr_read(void *ctx, char *p, size_t n)
{
	struct fake_req *fr = ctx;

	if (fr->read_error)
		return -1;
	if (n > fr->len - fr->pos)
		n = fr->len - fr->pos;
	memcpy(p, fr->body + fr->pos, n);
	fr->pos += n;
	return (long)n;
}

static void
set(struct fake_req *fr, const char *name, const char *value)
{
	assert_true(fr->n < NPARAMS);
	fr->name[fr->n] = name;
	fr->value[fr->n] = value;
	fr->n++;
}

/* A request on the SNS location: the settings of a typical deployment. */
static void
request(struct fake_req *fr, const char *method, const char *body)
{
	memset(fr, 0, sizeof(*fr));
	set(fr, "REQUEST_METHOD", method);
	set(fr, "SES_FEEDBACK_TOPICS", TOPIC);
	set(fr, "SES_FEEDBACK_CERT_CACHE", w.dir);
	set(fr, "SES_FEEDBACK_AUTO_CONFIRM", "off");
	fr->body = body != NULL ? body : "";
	fr->len = strlen(fr->body);
}

/* Serve fr (from its first body byte) with a fresh handler, keeping the
 * log line it wrote. */
static void
run(struct fake_req *fr, struct result *res)
{
	struct handler h;
	struct request r = { fr_param, fr_read, fr };
	char           path[] = "/tmp/sf-test-handler-log-XXXXXX";
	int            fd, saved;
	ssize_t        n;

	fr->pos = 0;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_int_equal(handler_init(&h), 0);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	handler_run(&h, &r, &res->out);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	handler_free(&h);
	n = pread(fd, res->log, sizeof(res->log) - 1, 0);
	close(fd);
	assert_true(n > 0);
	res->log[n] = '\0';
}

/* The log line holds every word in the NULL-terminated list. */
static void
log_has(const struct result *res, ...)
{
	va_list     ap;
	const char *s;

	va_start(ap, res);
	while ((s = va_arg(ap, const char *)) != NULL) {
		if (strstr(res->log, s) == NULL)
			fail_msg("log line lacks %s: %s", s, res->log);
	}
	va_end(ap);
}

/* The answer's status is want; if not, the log line says why. */
static void
status_is(const struct result *res, int want)
{
	if (res->out.status != want)
		fail_msg("status %d, want %d: %s", res->out.status, want, res->log);
}

/* RFC 3339 now, as SNS writes its Timestamp. */
static void
now_stamp(char *out, size_t outlen)
{
	time_t    now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(out, outlen, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
}

/* Base64 of w.key's SHA256withRSA signature of d. The caller frees it. */
static char *
sign_b64(const char *d, size_t len)
{
	EVP_MD_CTX    *md = EVP_MD_CTX_new();
	unsigned char *sig;
	char          *b64;
	size_t         slen = 0;

	assert_non_null(md);
	assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, w.key), 1);
	assert_int_equal(EVP_DigestSign(md, NULL, &slen, (const unsigned char *)d, len), 1);
	sig = malloc(slen);
	assert_non_null(sig);
	assert_int_equal(EVP_DigestSign(md, sig, &slen, (const unsigned char *)d, len), 1);
	b64 = malloc((slen + 2) / 3 * 4 + 1);
	assert_non_null(b64);
	EVP_EncodeBlock((unsigned char *)b64, sig, (int)slen);
	free(sig);
	EVP_MD_CTX_free(md);
	return b64;
}

/* A genuine SignatureVersion 2 envelope of type from topic, signed by
 * w.key. The caller frees it. */
static char *
envelope(const char *type, const char *topic, const char *mid, const char *message)
{
	struct json_object *o = json_object_new_object();
	struct sns_msg      m;
	struct buf          sts;
	char                ts[32], why[256], url[512], *sig, *text;

	now_stamp(ts, sizeof(ts));
	json_object_object_add(o, "Type", json_object_new_string(type));
	json_object_object_add(o, "MessageId", json_object_new_string(mid));
	json_object_object_add(o, "TopicArn", json_object_new_string(topic));
	json_object_object_add(o, "Message", json_object_new_string(message));
	json_object_object_add(o, "Timestamp", json_object_new_string(ts));
	json_object_object_add(o, "SignatureVersion", json_object_new_string("2"));
	json_object_object_add(o, "Signature", json_object_new_string("AAAA"));
	json_object_object_add(o, "SigningCertURL", json_object_new_string(CERT_URL));
	if (strcmp(type, "Notification") != 0) {
		snprintf(url, sizeof(url),
		    "https://" HOST "/?Action=ConfirmSubscription&TopicArn=%s&Token=t0k3n", topic);
		json_object_object_add(o, "Token", json_object_new_string("t0k3n"));
		json_object_object_add(o, "SubscribeURL", json_object_new_string(url));
	}
	text = strdup(json_object_to_json_string(o));
	assert_non_null(text);
	assert_int_equal(sns_parse(text, strlen(text), &m, why, sizeof(why)), 0);
	buf_init(&sts, 1 << 20);
	assert_int_equal(sns_string_to_sign(&m, &sts), 0);
	sig = sign_b64(sts.data, sts.len);
	json_object_object_add(o, "Signature", json_object_new_string(sig));
	free(text);
	text = strdup(json_object_to_json_string(o));
	assert_non_null(text);
	free(sig);
	buf_free(&sts);
	sns_free(&m);
	json_object_put(o);
	return text;
}

static const char bounce[] =
    "{\"notificationType\":\"Bounce\",\"bounce\":{\"bounceType\":\"Permanent\","
    "\"bounceSubType\":\"General\",\"bouncedRecipients\":[{\"emailAddress\":"
    "\"jane@example.com\",\"status\":\"5.1.1\"}],\"timestamp\":\"2026-12-01T10:00:00.000Z\","
    "\"feedbackId\":\"fb-1\"},\"mail\":{\"messageId\":\"ses-1\",\"source\":\"me@example.com\"}}";

/* DIR/<sha256 of URL, CA file and CONNECT_TO>.pem, as cert.c names its
 * cache files (here with neither CA file nor CONNECT_TO). */
static void
cache_file(const char *dir, const char *url, char *path, size_t pathlen)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char          hex[SHA256_DIGEST_LENGTH * 2 + 1], key[1024];
	int           i;

	snprintf(key, sizeof(key), "%s\n\n", url);
	SHA256((const unsigned char *)key, strlen(key), md);
	for (i = 0; i < SHA256_DIGEST_LENGTH; i++)
		snprintf(hex + i * 2, 3, "%02x", md[i]);
	snprintf(path, pathlen, "%s/%s.pem", dir, hex);
}

static int
group_setup(void **state)
{
	struct testcert tc = { "sns.amazonaws.com", NULL, -60, 3600 };
	char           *pem;
	FILE           *f;
	int             i;

	(void)state;
	/* Only what a test sets counts, not the caller's environment. */
	for (i = 0; i < CFG__COUNT; i++)
		unsetenv(cfg_table[i].name);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -1;
	w.key = testkeys_rsa(2048);
	if (w.key == NULL || (pem = testkeys_cert_pem(w.key, &tc)) == NULL)
		return -1;
	snprintf(w.dir, sizeof(w.dir), "/tmp/sf-test-handler-XXXXXX");
	if (mkdtemp(w.dir) == NULL)
		return -1;
	cache_file(w.dir, CERT_URL, w.pem, sizeof(w.pem));
	f = fopen(w.pem, "w");
	if (f == NULL || fputs(pem, f) < 0 || fclose(f) != 0)
		return -1;
	free(pem);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	unlink(w.pem);
	rmdir(w.dir);
	EVP_PKEY_free(w.key);
	fake_store_reset();
	curl_global_cleanup();
	return 0;
}

static int
setup(void **state)
{
	(void)state;
	fake_store_reset();
	return 0;
}

static void
done(struct result *res)
{
	handler_response_free(&res->out);
}

/* GET on the SNS location is the health check: the database decides. */
static void
test_get_health(void **state)
{
	struct fake_req fr;
	struct result   res;

	(void)state;
	request(&fr, "GET", NULL);
	run(&fr, &res);
	status_is(&res, 200);
	assert_string_equal(res.out.body, "ok");
	assert_int_equal(res.out.retry_after, 0);
	assert_null(res.out.text);
	assert_int_equal(fake_store.pings, 1);
	log_has(&res, "outcome=healthy", "status=200", "method=GET", NULL);
	done(&res);

	fake_store.ping = STORE_UNAVAILABLE;
	run(&fr, &res);
	status_is(&res, 503);
	assert_int_equal(res.out.retry_after, HANDLER_RETRY_AFTER);
	assert_string_equal(res.out.body, "database unavailable");
	log_has(&res, "outcome=unhealthy", "status=503", "fake: no database", NULL);
	done(&res);
}

static void
test_bad_method(void **state)
{
	struct fake_req fr;
	struct result   res;

	(void)state;
	request(&fr, "PUT", "{}");
	run(&fr, &res);
	status_is(&res, 405);
	assert_string_equal(res.out.body, "use POST (SNS) or GET (health)");
	assert_string_equal(handler_reason(res.out.status), "Method Not Allowed");
	log_has(&res, "outcome=bad_method", "status=405", "method PUT not allowed", NULL);
	assert_int_equal(fake_store.pings + fake_store.seens + fake_store.ingests, 0);
	done(&res);

	/* no method at all: the web server is misconfigured */
	memset(&fr, 0, sizeof(fr));
	run(&fr, &res);
	status_is(&res, 400);
	assert_string_equal(res.out.body, "no request method");
	log_has(&res, "outcome=bad_request", "no REQUEST_METHOD", NULL);
	done(&res);
}

/* Over the limit by Content-Length (nothing read) or by what arrives. */
static void
test_too_large(void **state)
{
	struct fake_req fr;
	struct result   res;
	char           *big;

	(void)state;
	request(&fr, "POST", "{}");
	set(&fr, "SES_FEEDBACK_MAX_BODY", "4096");
	set(&fr, "CONTENT_LENGTH", "4097");
	run(&fr, &res);
	status_is(&res, 413);
	assert_string_equal(res.out.body, "body too large");
	assert_int_equal(fr.pos, 0);
	log_has(&res, "outcome=too_large", "status=413", "body of 4097 bytes over the 4096", NULL);
	done(&res);

	big = malloc(5000);
	assert_non_null(big);
	memset(big, ' ', 4999);
	big[4999] = '\0';
	request(&fr, "POST", big);
	set(&fr, "SES_FEEDBACK_MAX_BODY", "4096");
	run(&fr, &res);
	status_is(&res, 413);
	log_has(&res, "outcome=too_large", "body over the 4096 byte limit", NULL);
	done(&res);
	free(big);

	request(&fr, "POST", "{}");
	set(&fr, "CONTENT_LENGTH", "12x");
	run(&fr, &res);
	status_is(&res, 400);
	assert_string_equal(res.out.body, "bad Content-Length");
	log_has(&res, "outcome=bad_request", "bad CONTENT_LENGTH", NULL);
	done(&res);
}

/* What is no SNS message never reaches the store. */
static void
test_bad_envelope(void **state)
{
	struct fake_req fr;
	struct result   res;

	(void)state;
	request(&fr, "POST", "{\"Type\": \"Notification\", ");
	run(&fr, &res);
	status_is(&res, 400);
	assert_string_equal(res.out.body, "not an SNS message");
	log_has(&res, "outcome=bad_envelope", "status=400", NULL);
	assert_int_equal(fake_store.ingests + fake_store.seens, 0);
	done(&res);

	request(&fr, "POST", "");
	run(&fr, &res);
	status_is(&res, 400);
	assert_string_equal(res.out.body, "empty body");
	done(&res);

	request(&fr, "POST", "{}");
	fr.read_error = 1;
	run(&fr, &res);
	status_is(&res, 400);
	assert_string_equal(res.out.body, "body unreadable");
	done(&res);

	request(&fr, "POST", "{}");
	set(&fr, "HTTP_X_AMZ_SNS_RAWDELIVERY", "true");
	run(&fr, &res);
	status_is(&res, 400);
	log_has(&res, "outcome=raw_delivery", "disable raw message delivery", NULL);
	done(&res);
}

/* A header that says another Type than the (signed) body: refused before
 * any verification. */
static void
test_header_mismatch(void **state)
{
	struct fake_req fr;
	struct result   res;
	char           *env = envelope("Notification", TOPIC, "mid-hdr", bounce);

	(void)state;
	request(&fr, "POST", env);
	set(&fr, "HTTP_X_AMZ_SNS_MESSAGE_TYPE", "SubscriptionConfirmation");
	run(&fr, &res);
	status_is(&res, 400);
	assert_string_equal(res.out.body, "SNS headers differ from the body");
	log_has(&res, "outcome=header_mismatch", "HTTP_X_AMZ_SNS_MESSAGE_TYPE differs", NULL);
	assert_int_equal(fake_store.ingests, 0);
	done(&res);
	free(env);
}

/* Signed, but from a topic not on the allow-list. */
static void
test_unknown_topic(void **state)
{
	struct fake_req fr;
	struct result   res;
	char           *env = envelope("Notification", UNLISTED, "mid-topic", bounce);

	(void)state;
	request(&fr, "POST", env);
	run(&fr, &res);
	status_is(&res, 403);
	assert_string_equal(res.out.body, "message refused");
	log_has(&res, "outcome=refused", "status=403", "topic not allowed", NULL);
	assert_int_equal(fake_store.ingests + fake_store.seens, 0);
	done(&res);
	free(env);
}

/* A genuine notification reaches the store as one document. */
static void
test_notification_stored(void **state)
{
	struct fake_req fr;
	struct result   res;
	char           *env = envelope("Notification", TOPIC, "mid-stored", bounce);

	(void)state;
	request(&fr, "POST", env);
	set(&fr, "HTTP_X_AMZ_SNS_MESSAGE_TYPE", "Notification");
	set(&fr, "HTTP_X_AMZ_SNS_TOPIC_ARN", TOPIC);
	run(&fr, &res);
	status_is(&res, 200);
	assert_string_equal(res.out.body, "stored");
	log_has(&res, "outcome=stored", "status=200", "msg_id=mid-stored", "event=Bounce",
	    "recipients=1", "cert=disk", NULL);
	assert_int_equal(fake_store.ingests, 1);
	assert_non_null(strstr(fake_store.last_json, "\"sns_message_id\":\"mid-stored\""));
	assert_non_null(strstr(fake_store.last_json, "\"event_type\":\"Bounce\""));
	assert_non_null(strstr(fake_store.last_json, "\"original\":\"jane@example.com\""));
	done(&res);

	/* the same again: the store says it is known */
	fake_store.duplicate = 1;
	run(&fr, &res);
	status_is(&res, 200);
	assert_string_equal(res.out.body, "already stored");
	log_has(&res, "outcome=duplicate", NULL);
	done(&res);
	free(env);
}

/* Once verified, a message is never refused: a store failure is a 5xx
 * that SNS retries. */
static void
test_store_failure(void **state)
{
	struct fake_req fr;
	struct result   res;
	char           *env = envelope("Notification", TOPIC, "mid-fail", bounce);

	(void)state;
	request(&fr, "POST", env);
	fake_store.ingest = STORE_UNAVAILABLE;
	run(&fr, &res);
	status_is(&res, 503);
	assert_int_equal(res.out.retry_after, HANDLER_RETRY_AFTER);
	assert_string_equal(res.out.body, "database unavailable, retry later");
	log_has(&res, "outcome=db_unavailable", "status=503", "fake: ingest failed", NULL);
	done(&res);

	fake_store.ingest = STORE_FAILED;
	run(&fr, &res);
	status_is(&res, 500);
	assert_string_equal(res.out.body, "database error");
	log_has(&res, "outcome=db_error", "status=500", NULL);
	done(&res);
	free(env);
}

/* With AUTO_CONFIRM off a confirmation is stored as pending, the URL kept
 * for the operator; a known MessageId is not stored again. */
static void
test_subscription_pending(void **state)
{
	struct fake_req fr;
	struct result   res;
	char *env = envelope("SubscriptionConfirmation", TOPIC, "mid-sub", "You have chosen");

	(void)state;
	request(&fr, "POST", env);
	run(&fr, &res);
	status_is(&res, 200);
	assert_string_equal(res.out.body, "stored");
	log_has(&res, "outcome=pending", "type=SubscriptionConfirmation", NULL);
	assert_int_equal(fake_store.seens, 1);
	assert_int_equal(fake_store.ingests, 1);
	assert_non_null(strstr(fake_store.last_json, "\"status\":\"pending\""));
	assert_non_null(strstr(fake_store.last_json, "\"subscribe_url\":\"https:"));
	done(&res);

	fake_store.seen_flag = 1;
	run(&fr, &res);
	status_is(&res, 200);
	log_has(&res, "outcome=duplicate", NULL);
	assert_int_equal(fake_store.ingests, 1);
	done(&res);

	fake_store.seen_flag = 0;
	fake_store.seen = STORE_UNAVAILABLE;
	run(&fr, &res);
	status_is(&res, 503);
	log_has(&res, "outcome=db_unavailable", NULL);
	assert_int_equal(fake_store.ingests, 1);
	done(&res);
	free(env);
}

/* An UnsubscribeConfirmation is recorded, never visited; the header's ARN
 * is kept only when it is one of the topic's. */
static void
test_unsubscribe(void **state)
{
	struct fake_req fr;
	struct result   res;
	char *env = envelope("UnsubscribeConfirmation", TOPIC, "mid-unsub", "You have chosen");

	(void)state;
	request(&fr, "POST", env);
	set(&fr, "HTTP_X_AMZ_SNS_SUBSCRIPTION_ARN", TOPIC ":0f1e2d");
	run(&fr, &res);
	status_is(&res, 200);
	log_has(&res, "outcome=unsubscribed", NULL);
	assert_int_equal(fake_store.seens, 0);
	assert_non_null(strstr(fake_store.last_json, "\"status\":\"unsubscribed\""));
	assert_non_null(strstr(fake_store.last_json, "\"subscription_arn\":\"" TOPIC ":0f1e2d\""));
	done(&res);

	request(&fr, "POST", env);
	set(&fr, "HTTP_X_AMZ_SNS_SUBSCRIPTION_ARN", UNLISTED ":0f1e2d");
	run(&fr, &res);
	status_is(&res, 200);
	assert_null(strstr(fake_store.last_json, "subscription_arn"));
	done(&res);
	free(env);
}

/* Metrics only where the operator's configuration says so. */
static void
test_metrics_endpoint(void **state)
{
	struct fake_req fr;
	struct result   res;

	(void)state;
	request(&fr, "GET", NULL);
	set(&fr, "SES_FEEDBACK_ENDPOINT", "metrics");
	run(&fr, &res);
	status_is(&res, 200);
	assert_string_equal(res.out.content_type, "text/plain; version=0.0.4");
	assert_non_null(res.out.text);
	assert_int_equal(strlen(res.out.text), res.out.text_len);
	/* earlier tests' requests, counted under the table's words */
	assert_non_null(strstr(
	    res.out.text, "ses_feedback_requests_total{outcome=\"healthy\",status=\"200\"} "));
	assert_null(strstr(
	    res.out.text, "ses_feedback_requests_total{outcome=\"healthy\",status=\"200\"} 0"));
	assert_non_null(strstr(res.out.text, "ses_feedback_notifications_total{event=\"Bounce\"}"));
	assert_non_null(strstr(res.out.text,
	    "ses_feedback_notifications_total{event=\"AmazonSnsSubscriptionSucceeded\"} 0"));
	assert_non_null(strstr(res.out.text, "ses_feedback_certificates_total{source=\"disk\"}"));
	assert_int_equal(fake_store.pings, 0);
	log_has(&res, "outcome=metrics", NULL);
	done(&res);

	request(&fr, "POST", "{}");
	set(&fr, "SES_FEEDBACK_ENDPOINT", "metrics");
	run(&fr, &res);
	status_is(&res, 405);
	assert_string_equal(res.out.body, "use GET (metrics)");
	done(&res);

	/* the SNS location answers GET with health, never with metrics */
	request(&fr, "GET", NULL);
	run(&fr, &res);
	assert_null(res.out.text);
	assert_int_equal(fake_store.pings, 1);
	done(&res);
}

static void
test_bad_config(void **state)
{
	struct fake_req fr;
	struct result   res;

	(void)state;
	request(&fr, "GET", NULL);
	set(&fr, "SES_FEEDBACK_MAX_BODY", "lots");
	run(&fr, &res);
	status_is(&res, 500);
	assert_string_equal(res.out.body, "configuration error");
	log_has(&res, "outcome=bad_config", "SES_FEEDBACK_MAX_BODY", NULL);
	assert_int_equal(fake_store.pings, 0);
	done(&res);
}

/* Every outcome has a word of its own and a status the front ends know. */
static void
test_outcome_table(void **state)
{
	int i, j, st;

	(void)state;
	for (i = 0; i < OUTCOME__COUNT; i++) {
		assert_non_null(outcome_name((enum outcome)i));
		assert_true(outcome_name((enum outcome)i)[0] != '\0');
		assert_non_null(outcome_text((enum outcome)i));
		st = outcome_status((enum outcome)i);
		assert_string_not_equal(handler_reason(st), "Unknown");
		for (j = 0; j < i; j++)
			assert_string_not_equal(
			    outcome_name((enum outcome)i), outcome_name((enum outcome)j));
	}
	assert_string_equal(outcome_name(OUTCOME_STORED), "stored");
	assert_int_equal(outcome_status(OUTCOME_REFUSED), 403);
	assert_int_equal(outcome_status(OUTCOME_CERT_UNAVAILABLE), 503);
}

static void
test_subscribe_arns(void **state)
{
	char arn[SUBSCRIBE_ARN_MAX];

	(void)state;
	subscribe_answer_arn("<ConfirmSubscriptionResult><SubscriptionArn>" TOPIC
	                     ":a-1</SubscriptionArn></ConfirmSubscriptionResult>",
	    arn, sizeof(arn));
	assert_string_equal(arn, TOPIC ":a-1");
	subscribe_answer_arn("<SubscriptionArn>x<y</SubscriptionArn>", arn, sizeof(arn));
	assert_string_equal(arn, "");
	subscribe_answer_arn("<SubscriptionArn></SubscriptionArn>", arn, sizeof(arn));
	assert_string_equal(arn, "");
	subscribe_answer_arn(NULL, arn, sizeof(arn));
	assert_string_equal(arn, "");
	assert_non_null(subscribe_header_arn(TOPIC ":1", TOPIC));
	assert_null(subscribe_header_arn(TOPIC "x:1", TOPIC));
	assert_null(subscribe_header_arn(TOPIC, TOPIC));
	assert_null(subscribe_header_arn(NULL, TOPIC));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_get_health, setup),
		cmocka_unit_test_setup(test_bad_method, setup),
		cmocka_unit_test_setup(test_too_large, setup),
		cmocka_unit_test_setup(test_bad_envelope, setup),
		cmocka_unit_test_setup(test_header_mismatch, setup),
		cmocka_unit_test_setup(test_unknown_topic, setup),
		cmocka_unit_test_setup(test_notification_stored, setup),
		cmocka_unit_test_setup(test_store_failure, setup),
		cmocka_unit_test_setup(test_subscription_pending, setup),
		cmocka_unit_test_setup(test_unsubscribe, setup),
		cmocka_unit_test_setup(test_metrics_endpoint, setup),
		cmocka_unit_test_setup(test_bad_config, setup),
		cmocka_unit_test(test_outcome_table),
		cmocka_unit_test(test_subscribe_arns),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
