/* SPDX-License-Identifier: ISC */
/* ses-feedback - one HTTP request, from method to status.
 * The pipeline only: bounded read, envelope, headers against the body,
 * verification (verify.h), then by Type the record (record.h) or the
 * confirmation (subscribe.h), then one call to the store. Each stage that
 * refuses answers with an outcome (outcome.h) and says why in the
 * request's log line. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "buf.h"
#include "cfg.h"
#include "handler.h"
#include "log.h"
#include "metrics.h"
#include "outcome.h"
#include "rates.h"
#include "record.h"
#include "ses.h"
#include "sig.h"
#include "sns.h"
#include "status.h"
#include "subscribe.h"
#include "verify.h"

/* Everything one request owns; released by cleanup_request(). */
struct txn {
	struct handler       *h;
	const struct request *r;
	struct response      *out;
	struct cfg            cfg;
	struct buf            body;
	struct sns_msg        msg;
	struct ses_event      ev;
	char                  id[64];   /* request id */
	enum outcome          outcome;  /* for the log line and the metrics */
	char                  why[512]; /* reason for a refusal */
	char            note[256]; /* what a stored notification held that was not understood */
	const char     *cert_from; /* memory, disk, network */
	struct timespec t0;
};

static void answer(struct txn *t, enum outcome o);
static void refuse(struct txn *t, enum outcome o, const char *says, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void        answer_store(struct txn *t, enum store_status s);
static void        request_id(struct txn *t);
static void        dispatch(struct txn *t);
static void        do_post(struct txn *t);
static void        do_health(struct txn *t);
static void        do_metrics(struct txn *t);
static void        do_status(struct txn *t);
static void        do_notification(struct txn *t);
static void        do_subscription(struct txn *t);
static int         seen_before(struct txn *t);
static int         read_body(struct txn *t);
static int         length_ok(struct txn *t);
static int         headers_match(struct txn *t);
static void        store_record(struct txn *t, struct json_object *doc);
static void        log_request(struct txn *t);
static void        cleanup_request(struct txn *t);
static const char *param(const struct txn *t, const char *name);

int
handler_init(struct handler *h)
{
	memset(h, 0, sizeof(*h));
	h->store = store_new();
	h->http = http_new();
	h->certs = certcache_new();
	h->status = status_new();
	if (h->store == NULL || h->http == NULL || h->certs == NULL || h->status == NULL) {
		handler_free(h);
		return -1;
	}
	return 0;
}

void
handler_free(struct handler *h)
{
	store_free(h->store);
	http_free(h->http);
	certcache_free(h->certs);
	free(h->after_dsn);
	status_free(h->status);
	sig_cache_clear();
	memset(h, 0, sizeof(*h));
}

const char *
handler_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 405:
		return "Method Not Allowed";
	case 413:
		return "Payload Too Large";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	default:
		return "Unknown";
	}
}

static const char *
cfg_param_cb(void *ctx, const char *name)
{
	const struct txn *t = ctx;

	return param(t, name);
}

void
handler_run(struct handler *h, const struct request *r, struct response *out)
{
	struct txn     t;
	struct cfg_src src = { cfg_param_cb, &t };

	memset(&t, 0, sizeof(t));
	memset(out, 0, sizeof(*out));
	out->content_type = "text/plain";
	clock_gettime(CLOCK_MONOTONIC, &t.t0);
	t.h = h;
	t.r = r;
	t.out = out;
	buf_init(&t.body, 0);
	h->seq++;
	request_id(&t);
	log_set_request(t.id);
	/* Every path answers; one that did not would be a 500, not status 0. */
	answer(&t, OUTCOME_OTHER);
	if (cfg_load(&t.cfg, &src, t.why, sizeof(t.why)) == -1) {
		answer(&t, OUTCOME_BAD_CONFIG);
	} else {
		log_set_level(t.cfg.log_level);
		store_set_prepare(h->store, t.cfg.prepare);
		dispatch(&t);
	}
	log_request(&t);
	cleanup_request(&t);
	log_set_request(NULL);
}

/* The web server's request id when it looks like one, else our own. */
static void
request_id(struct txn *t)
{
	const char *rid = param(t, "REQUEST_ID");

	if (rid != NULL && *rid != '\0' && strlen(rid) < sizeof(t->id) &&
	    strspn(rid, "0123456789abcdefABCDEF-") == strlen(rid))
		memcpy(t->id, rid, strlen(rid) + 1); /* shorter than t->id */
	else
		snprintf(t->id, sizeof(t->id), "%ld-%lu", (long)getpid(), t->h->seq);
}

static void
dispatch(struct txn *t)
{
	const char *method = param(t, "REQUEST_METHOD");
	int         get;

	if (method == NULL) {
		refuse(t, OUTCOME_BAD_REQUEST, "no request method",
		    "no REQUEST_METHOD from the web server");
		return;
	}
	get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	if (t->cfg.endpoint == CFG_ENDPOINT_METRICS) {
		/* Decided by the operator's web server configuration, never by
		 * the client's URL: a metrics location is only that. */
		if (get)
			do_metrics(t);
		else
			refuse(t, OUTCOME_BAD_METHOD, "use GET (metrics)",
			    "method %.16s not allowed on metrics", method);
	} else if (t->cfg.endpoint == CFG_ENDPOINT_STATUS) {
		/* The same for the status page: only where the operator's
		 * configuration puts it, never on the SNS location. */
		t->out->headers = status_headers();
		if (get)
			do_status(t);
		else
			refuse(t, OUTCOME_BAD_METHOD, "use GET (status page)",
			    "method %.16s not allowed on the status page", method);
	} else if (strcmp(method, "POST") == 0) {
		do_post(t);
	} else if (get) {
		do_health(t);
	} else {
		refuse(t, OUTCOME_BAD_METHOD, NULL, "method %.16s not allowed", method);
	}
}

static const char *
param(const struct txn *t, const char *name)
{
	return t->r->param(t->r->ctx, name);
}

/* What snprintf(dst, n, "%s", s) writes, without the formatting. */
static void
copy_text(char *dst, size_t n, const char *s)
{
	size_t len = strlen(s);

	if (len >= n)
		len = n - 1;
	memcpy(dst, s, len);
	dst[len] = '\0';
}

/* Status, Retry-After and the short answer, all from o. */
static void
answer(struct txn *t, enum outcome o)
{
	t->outcome = o;
	t->out->status = outcome_status(o);
	t->out->retry_after = t->out->status == 503 ? HANDLER_RETRY_AFTER : 0;
	copy_text(t->out->body, sizeof(t->out->body), outcome_text(o));
}

/* Answer o, with says (NULL: o's own text) as the answer and the rest as
 * the log line's reason. */
static void
refuse(struct txn *t, enum outcome o, const char *says, const char *fmt, ...)
{
	va_list ap;

	answer(t, o);
	if (says != NULL)
		snprintf(t->out->body, sizeof(t->out->body), "%s", says);
	va_start(ap, fmt);
	vsnprintf(t->why, sizeof(t->why), fmt, ap);
	va_end(ap);
}

/* A store call that failed; its why is already set. */
static void
answer_store(struct txn *t, enum store_status s)
{
	answer(t, s == STORE_UNAVAILABLE ? OUTCOME_DB_UNAVAILABLE : OUTCOME_DB_ERROR);
}

void
handler_response_free(struct response *out)
{
	free(out->text);
	out->text = NULL;
	out->text_len = 0;
}

/* Prometheus text format; the web server decides who may read it. */
static void
do_metrics(struct txn *t)
{
	struct buf b;

	buf_init(&b, LIM_METRICS_MAX);
	if (metrics_render(&b) == -1) {
		refuse(t, OUTCOME_OTHER, "metrics unavailable", "metrics too large");
		return;
	}
	answer(t, OUTCOME_METRICS);
	t->out->text = buf_take(&b, &t->out->text_len);
	t->out->content_type = "text/plain; version=0.0.4";
	/* The rates come from this location's database, read once the answer
	 * is out (handler_after), by one process a minute. */
	free(t->h->after_dsn);
	t->h->after_dsn = strdup(t->cfg.dsn);
}

void
handler_after(struct handler *h)
{
	if (h->after_dsn == NULL)
		return;
	rates_refresh(h->after_dsn);
	free(h->after_dsn);
	h->after_dsn = NULL;
}

/* The HTML status page (status.h); the web server decides who may read
 * it. */
static void
do_status(struct txn *t)
{
	struct status_query q;
	char               *html = NULL;
	size_t              len = 0;
	char                why[160], says[200];

	if (status_query_parse(param(t, "QUERY_STRING"), &q, why, sizeof(why)) == -1) {
		snprintf(says, sizeof(says), "bad query: %s", why);
		refuse(t, OUTCOME_BAD_REQUEST, says, "status page query: %s", why);
		return;
	}
	switch (status_page(
	    t->h->status, t->cfg.dsn, t->cfg.prepare, &q, &html, &len, t->why, sizeof(t->why))) {
	case STATUS_OK:
		answer(t, OUTCOME_STATUS);
		t->out->text = html;
		t->out->text_len = len;
		t->out->content_type = "text/html; charset=utf-8";
		break;
	case STATUS_NO_MEMORY:
		answer(t, OUTCOME_NO_MEMORY);
		break;
	default:
		/* Whatever the database said is for the log line only. */
		answer(t, OUTCOME_DB_UNAVAILABLE);
		snprintf(t->out->body, sizeof(t->out->body),
		    "status page unavailable: the database did not answer, retry later");
		break;
	}
}

static void
do_health(struct txn *t)
{
	if (store_ping(t->h->store, t->cfg.dsn, t->why, sizeof(t->why)) == STORE_OK)
		answer(t, OUTCOME_HEALTHY);
	else
		answer(t, OUTCOME_UNHEALTHY);
}

static void
do_post(struct txn *t)
{
	const char           *raw;
	enum certcache_source from = CERTCACHE_FROM_MEMORY;
	struct verify_opts    vo;
	enum verify_result    v;

	raw = param(t, "HTTP_X_AMZ_SNS_RAWDELIVERY");
	if (raw != NULL && strcmp(raw, "true") == 0) {
		refuse(t, OUTCOME_RAW_DELIVERY, NULL,
		    "raw message delivery is on: disable raw message delivery on the "
		    "subscription, ses-feedback needs the signed SNS envelope");
		return;
	}
	if (read_body(t) == -1)
		return;
	if (sns_parse(t->body.data, t->body.len, &t->msg, t->why, sizeof(t->why)) == -1) {
		answer(t, OUTCOME_BAD_ENVELOPE);
		return;
	}
	if (headers_match(t) == -1)
		return;
	cfg_verify_opts(&t->cfg, time(NULL), &vo);
	v = verify_message(&t->msg, &vo, t->h->certs, t->h->http, &from, t->why, sizeof(t->why));
	if (v == VERIFY_FORBIDDEN) {
		answer(t, OUTCOME_REFUSED);
		return;
	}
	if (v == VERIFY_UNAVAILABLE) {
		answer(t, OUTCOME_CERT_UNAVAILABLE);
		return;
	}
	t->cert_from = certcache_source_name(from);
	metrics_cert(from);
	if (t->msg.type == SNS_NOTIFICATION)
		do_notification(t);
	else
		do_subscription(t);
}

/* The body, whole, within SES_FEEDBACK_MAX_BODY. 0, or -1 answered. */
static int
read_body(struct txn *t)
{
	char tmp[16384];
	long got;

	if (length_ok(t) == -1)
		return -1;
	buf_init(&t->body, t->cfg.max_body);
	for (;;) {
		got = t->r->read(t->r->ctx, tmp, sizeof(tmp));
		if (got < 0) {
			refuse(t, OUTCOME_BAD_REQUEST, "body unreadable", "error reading the body");
			return -1;
		}
		if (got == 0)
			break;
		if (buf_add(&t->body, tmp, (size_t)got) == -1) {
			refuse(t, OUTCOME_TOO_LARGE, NULL, "body over the %zu byte limit",
			    t->cfg.max_body);
			return -1;
		}
	}
	if (t->body.data == NULL || t->body.len == 0) {
		refuse(t, OUTCOME_BAD_ENVELOPE, "empty body", "empty body");
		return -1;
	}
	return 0;
}

/* A CONTENT_LENGTH over the limit is refused before a byte is read. 0, or
 * -1 answered. */
static int
length_ok(struct txn *t)
{
	const char        *cl = param(t, "CONTENT_LENGTH");
	char              *end;
	unsigned long long n;

	if (cl == NULL || *cl == '\0')
		return 0;
	n = strtoull(cl, &end, 10);
	if (*end != '\0' || *cl < '0' || *cl > '9') {
		refuse(t, OUTCOME_BAD_REQUEST, "bad Content-Length", "bad CONTENT_LENGTH");
		return -1;
	}
	if (n > t->cfg.max_body) {
		refuse(t, OUTCOME_TOO_LARGE, NULL, "body of %llu bytes over the %zu byte limit", n,
		    t->cfg.max_body);
		return -1;
	}
	return 0;
}

/* SNS sends the Type, MessageId and TopicArn in headers too; a proxy or
 * forger that changed one but not the other gets no benefit of doubt. */
static int
headers_match(struct txn *t)
{
	static const struct {
		const char *header;
		size_t      field;
	} h[] = {
		{ "HTTP_X_AMZ_SNS_MESSAGE_TYPE", offsetof(struct sns_msg, type_str) },
		{ "HTTP_X_AMZ_SNS_MESSAGE_ID", offsetof(struct sns_msg, message_id) },
		{ "HTTP_X_AMZ_SNS_TOPIC_ARN", offsetof(struct sns_msg, topic_arn) },
	};
	const char *v, *f;
	size_t      i;

	for (i = 0; i < sizeof(h) / sizeof(h[0]); i++) {
		v = param(t, h[i].header);
		if (v == NULL)
			continue;
		f = *(const char *const *)((const char *)&t->msg + h[i].field);
		if (strcmp(v, f) != 0) {
			refuse(t, OUTCOME_HEADER_MISMATCH, NULL, "header %s differs from the body",
			    h[i].header);
			return -1;
		}
	}
	return 0;
}

static void
do_notification(struct txn *t)
{
	/* Verified: from here on the answer is 200 or 5xx, never 4xx (SNS
	 * does not retry a 4xx). What is not understood is stored as it came,
	 * and said in the log line's note. */
	ses_parse(t->msg.message, t->msg.message_len, &t->ev, t->note, sizeof(t->note));
	store_record(t, record_notification(&t->msg, &t->ev));
}

static void
do_subscription(struct txn *t)
{
	static const enum outcome said[] = {
		[RECORD_SUB_CONFIRMED] = OUTCOME_CONFIRMED,
		[RECORD_SUB_PENDING] = OUTCOME_PENDING,
		[RECORD_SUB_UNSUBSCRIBED] = OUTCOME_UNSUBSCRIBED,
	};
	struct http_opts       ho = { t->cfg.ca_file, t->cfg.connect_to, 0 };
	enum record_sub_status st;
	char                   arn[SUBSCRIBE_ARN_MAX] = "";
	const char            *sub_arn;

	if (t->msg.type == SNS_UNSUBSCRIBE_CONFIRMATION) {
		/* Recorded, never visited: re-subscribing is an operator's
		 * decision, not a side effect of a message. */
		st = RECORD_SUB_UNSUBSCRIBED;
	} else if (seen_before(t) != 0) {
		return;
	} else if (!t->cfg.auto_confirm) {
		st = RECORD_SUB_PENDING;
	} else if (subscribe_confirm(t->h->http, &ho, t->msg.subscribe_url, arn, sizeof(arn),
	               t->why, sizeof(t->why)) == -1) {
		answer(t, OUTCOME_CONFIRM_FAILED);
		return;
	} else {
		st = RECORD_SUB_CONFIRMED;
	}
	sub_arn = arn[0] != '\0'
	    ? arn
	    : subscribe_header_arn(param(t, "HTTP_X_AMZ_SNS_SUBSCRIPTION_ARN"), t->msg.topic_arn);
	store_record(t, record_subscription(&t->msg, st, sub_arn));
	/* The answer stays "stored" or "already stored"; the log line and
	 * the metrics say what was done. */
	if (t->out->status == 200)
		t->outcome = said[st];
}

/* A confirmation is visited once: 0 when this MessageId is new, or -1
 * answered (a duplicate, or the database failing). */
static int
seen_before(struct txn *t)
{
	enum store_status s;
	int               seen = 0;

	s = store_seen(t->h->store, t->cfg.dsn, t->msg.message_id, &seen, t->why, sizeof(t->why));
	if (s != STORE_OK) {
		answer_store(t, s);
		return -1;
	}
	if (seen) {
		answer(t, OUTCOME_DUPLICATE);
		return -1;
	}
	return 0;
}

/* One call of ingest() with doc (taken; NULL: out of memory). */
static void
store_record(struct txn *t, struct json_object *doc)
{
	enum store_status s;
	const char       *json = doc != NULL ? record_text(doc) : NULL;
	int               dup = 0, added = 0;

	if (json == NULL) {
		refuse(t, OUTCOME_NO_MEMORY, NULL, "out of memory");
		goto out;
	}
	s = store_ingest(t->h->store, t->cfg.dsn, json, &dup, &added, t->why, sizeof(t->why));
	if (s != STORE_OK) {
		answer_store(t, s);
		goto out;
	}
	t->why[0] = '\0';
	if (!dup && t->msg.type == SNS_NOTIFICATION) {
		metrics_event(ses_kind_of(t->ev.kind));
		if (t->ev.not_addresses > 0)
			metrics_add(METRICS_NOT_ADDRESSES, (uint64_t)t->ev.not_addresses);
	}
	if (added > 0)
		metrics_add(METRICS_SUPPRESSIONS, (uint64_t)added);
	answer(t, dup ? OUTCOME_DUPLICATE : OUTCOME_STORED);
out:
	json_object_put(doc);
}

static void
log_request(struct txn *t)
{
	struct logline  l;
	struct timespec t1;
	double          ms;
	int             st = t->out->status;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t->t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t->t0.tv_nsec) / 1e6;
	metrics_request(t->outcome, ms);
	logline_init(&l, st >= 500 ? LOG_LVL_ERROR : st >= 400 ? LOG_LVL_WARN : LOG_LVL_INFO);
	logline_add(&l, "req", t->id);
	logline_add(&l, "method", param(t, "REQUEST_METHOD"));
	logline_add(&l, "msg_id", t->msg.message_id);
	logline_add(&l, "topic", t->msg.topic_arn);
	logline_add(&l, "type", t->msg.type_str);
	logline_add(&l, "event", t->ev.kind);
	if (t->ev.nrcpt > 0)
		logline_addf(&l, "recipients", "%zu", t->ev.nrcpt);
	if (t->ev.not_addresses > 0)
		logline_addf(&l, "not_addresses", "%zu", t->ev.not_addresses);
	logline_add(&l, "cert", t->cert_from);
	logline_add(&l, "outcome", outcome_name(t->outcome));
	logline_addf(&l, "status", "%d", st);
	logline_addf(&l, "ms", "%.1f", ms);
	if (t->why[0] != '\0')
		logline_add(&l, "reason", t->why);
	if (t->note[0] != '\0')
		logline_add(&l, "note", t->note);
	logline_emit(&l);
}

static void
cleanup_request(struct txn *t)
{
	ses_free(&t->ev);
	sns_free(&t->msg);
	buf_free(&t->body);
}
