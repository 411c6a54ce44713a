/* SPDX-License-Identifier: ISC */
/* ses-feedback - one HTTP request, from method to status.
 * The pipeline of DESIGN.md: bounded read, envelope, topic allow-list,
 * certificate and signature, then by Type, then one transaction. Each
 * stage that refuses says why in the request's log line. */
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
#include "ses.h"
#include "sns.h"
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
	const char           *outcome;  /* one word for the log */
	char                  why[512]; /* reason for a refusal */
	char            note[256]; /* what a stored notification held that was not understood */
	const char     *cert_from; /* memory, disk, network */
	struct timespec t0;
};

static void answer(struct txn *t, int status, const char *outcome, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void        do_post(struct txn *t);
static void        do_health(struct txn *t);
static void        do_metrics(struct txn *t);
static void        do_notification(struct txn *t);
static void        do_subscription(struct txn *t);
static int         read_body(struct txn *t);
static int         headers_match(struct txn *t);
static void        store_json(struct txn *t, struct json_object *p);
static void        log_request(struct txn *t);
static void        cleanup_request(struct txn *t);
static const char *param(const struct txn *t, const char *name);

int
handler_init(struct handler *h)
{
	memset(h, 0, sizeof(*h));
	h->store = store_new();
	h->http = http_new();
	h->certs = cert_cache_new();
	if (h->store == NULL || h->http == NULL || h->certs == NULL) {
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
	cert_cache_free(h->certs);
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
	struct cfg_src src;
	const char    *method, *rid;

	memset(&t, 0, sizeof(t));
	memset(out, 0, sizeof(*out));
	out->content_type = "text/plain";
	clock_gettime(CLOCK_MONOTONIC, &t.t0);
	t.h = h;
	t.r = r;
	t.out = out;
	buf_init(&t.body, 0);
	h->seq++;
	rid = param(&t, "REQUEST_ID");
	if (rid != NULL && *rid != '\0' && strlen(rid) < sizeof(t.id) &&
	    strspn(rid, "0123456789abcdefABCDEF-") == strlen(rid))
		snprintf(t.id, sizeof(t.id), "%s", rid);
	else
		snprintf(t.id, sizeof(t.id), "%ld-%lu", (long)getpid(), h->seq);
	log_set_request(t.id);

	src.param = cfg_param_cb;
	src.ctx = &t;
	if (cfg_load(&t.cfg, &src, t.why, sizeof(t.why)) == -1) {
		answer(&t, 500, "bad_config", "configuration error");
		goto done;
	}
	log_set_level(t.cfg.log_level);
	store_set_prepare(h->store, t.cfg.prepare);
	method = param(&t, "REQUEST_METHOD");
	if (method == NULL) {
		snprintf(t.why, sizeof(t.why), "no REQUEST_METHOD from the web server");
		answer(&t, 400, "bad_request", "no request method");
	} else if (t.cfg.endpoint == CFG_ENDPOINT_METRICS) {
		/* Decided by the operator's web server configuration, never by
		 * the client's URL: a metrics location is only that. */
		if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
			do_metrics(&t);
		else {
			snprintf(
			    t.why, sizeof(t.why), "method %.16s not allowed on metrics", method);
			answer(&t, 405, "bad_method", "use GET (metrics)");
		}
	} else if (strcmp(method, "POST") == 0)
		do_post(&t);
	else if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
		do_health(&t);
	else {
		snprintf(t.why, sizeof(t.why), "method %.16s not allowed", method);
		answer(&t, 405, "bad_method", "use POST (SNS) or GET (health)");
	}
done:
	log_request(&t);
	cleanup_request(&t);
	log_set_request(NULL);
}

static const char *
param(const struct txn *t, const char *name)
{
	return t->r->param(t->r->ctx, name);
}

static void
answer(struct txn *t, int status, const char *outcome, const char *fmt, ...)
{
	va_list ap;

	t->out->status = status;
	t->out->retry_after = status == 503 ? HANDLER_RETRY_AFTER : 0;
	t->outcome = outcome;
	va_start(ap, fmt);
	vsnprintf(t->out->body, sizeof(t->out->body), fmt, ap);
	va_end(ap);
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
		snprintf(t->why, sizeof(t->why), "metrics too large");
		answer(t, 500, "other", "metrics unavailable");
		return;
	}
	answer(t, 200, "metrics", "metrics");
	t->out->text = buf_take(&b, &t->out->text_len);
	t->out->content_type = "text/plain; version=0.0.4";
}

static void
do_health(struct txn *t)
{
	switch (store_ping(t->h->store, t->cfg.dsn, t->why, sizeof(t->why))) {
	case STORE_OK:
		answer(t, 200, "healthy", "ok");
		break;
	default:
		answer(t, 503, "unhealthy", "database unavailable");
		break;
	}
}

static void
do_post(struct txn *t)
{
	const char        *raw;
	enum cert_source   from = CERT_FROM_MEMORY;
	enum verify_result v;

	raw = param(t, "HTTP_X_AMZ_SNS_RAWDELIVERY");
	if (raw != NULL && strcmp(raw, "true") == 0) {
		snprintf(t->why, sizeof(t->why),
		    "raw message delivery is on: disable raw message delivery on the "
		    "subscription, ses-feedback needs the signed SNS envelope");
		answer(t, 400, "raw_delivery", "raw message delivery is not supported");
		return;
	}
	if (read_body(t) == -1)
		return;
	if (sns_parse(t->body.data, t->body.len, &t->msg, t->why, sizeof(t->why)) == -1) {
		answer(t, 400, "bad_envelope", "not an SNS message");
		return;
	}
	if (headers_match(t) == -1)
		return;
	v = verify_message(
	    &t->msg, &t->cfg, t->h->certs, t->h->http, time(NULL), &from, t->why, sizeof(t->why));
	if (v == VERIFY_FORBIDDEN) {
		answer(t, 403, "refused", "message refused");
		return;
	}
	if (v == VERIFY_UNAVAILABLE) {
		answer(t, 503, "cert_unavailable", "signing certificate unavailable, retry later");
		return;
	}
	t->cert_from = cert_source_name(from);
	metrics_add(from == CERT_FROM_MEMORY ? M_CERT_MEMORY
	        : from == CERT_FROM_DISK     ? M_CERT_DISK
	                                     : M_CERT_NETWORK,
	    1);
	if (t->msg.type == SNS_NOTIFICATION)
		do_notification(t);
	else
		do_subscription(t);
}

static int
read_body(struct txn *t)
{
	const char        *cl = param(t, "CONTENT_LENGTH");
	char               tmp[16384];
	char              *end;
	unsigned long long n = 0;
	long               got;

	if (cl != NULL && *cl != '\0') {
		n = strtoull(cl, &end, 10);
		if (*end != '\0' || *cl < '0' || *cl > '9') {
			snprintf(t->why, sizeof(t->why), "bad CONTENT_LENGTH");
			answer(t, 400, "bad_request", "bad Content-Length");
			return -1;
		}
		if (n > t->cfg.max_body) {
			snprintf(t->why, sizeof(t->why),
			    "body of %llu bytes over the %zu byte limit", n, t->cfg.max_body);
			answer(t, 413, "too_large", "body too large");
			return -1;
		}
	}
	buf_init(&t->body, t->cfg.max_body);
	for (;;) {
		got = t->r->read(t->r->ctx, tmp, sizeof(tmp));
		if (got < 0) {
			snprintf(t->why, sizeof(t->why), "error reading the body");
			answer(t, 400, "bad_request", "body unreadable");
			return -1;
		}
		if (got == 0)
			break;
		if (buf_add(&t->body, tmp, (size_t)got) == -1) {
			snprintf(t->why, sizeof(t->why), "body over the %zu byte limit",
			    t->cfg.max_body);
			answer(t, 413, "too_large", "body too large");
			return -1;
		}
	}
	if (t->body.data == NULL || t->body.len == 0) {
		snprintf(t->why, sizeof(t->why), "empty body");
		answer(t, 400, "bad_envelope", "empty body");
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
			snprintf(
			    t->why, sizeof(t->why), "header %s differs from the body", h[i].header);
			answer(t, 400, "header_mismatch", "SNS headers differ from the body");
			return -1;
		}
	}
	return 0;
}

static void
add_str(struct json_object *o, const char *k, const char *v)
{
	if (v != NULL)
		json_object_object_add(o, k, json_object_new_string(v));
}

static struct json_object *
base_json(struct txn *t)
{
	struct json_object *p = json_object_new_object();

	if (p == NULL)
		return NULL;
	add_str(p, "sns_message_id", t->msg.message_id);
	add_str(p, "topic_arn", t->msg.topic_arn);
	add_str(p, "sns_type", t->msg.type_str);
	add_str(p, "sns_timestamp", t->msg.timestamp);
	add_str(p, "subject", t->msg.subject);
	return p;
}

static void
do_notification(struct txn *t)
{
	struct json_object    *p = NULL, *list, *o;
	const struct ses_rcpt *rc;
	size_t                 i;

	/* Verified: from here on the answer is 200 or 5xx, never 4xx (SNS
	 * does not retry a 4xx). What is not understood is stored as it came,
	 * and said in the log line's note. */
	ses_parse(t->msg.message, t->msg.message_len, &t->ev, t->note, sizeof(t->note));
	p = base_json(t);
	list = json_object_new_array();
	if (p == NULL || list == NULL) {
		json_object_put(list);
		goto oom;
	}
	json_object_object_add(p, "recipients", list);
	if (t->ev.root != NULL && !t->ev.verbatim_only) {
		json_object_object_add(p, "message", json_object_get(t->ev.root));
	} else {
		json_object_object_add(p, "message_text",
		    json_object_new_string_len(t->msg.message, (int)t->msg.message_len));
	}
	add_str(p, "event_type", t->ev.kind);
	add_str(p, "ses_message_id", t->ev.ses_message_id);
	add_str(p, "source", t->ev.source);
	if (t->ev.occurred[0] != '\0')
		add_str(p, "occurred_at", t->ev.occurred);
	for (i = 0; i < t->ev.nrcpt; i++) {
		rc = &t->ev.rcpt[i];
		o = json_object_new_object();
		if (o == NULL)
			goto oom;
		json_object_array_add(list, o);
		/* The database derives the address from original with the same
		 * rules (addr.h): one definition, applied where the key is made. */
		add_str(o, "original", rc->original);
		add_str(o, "status", rc->status);
		add_str(o, "action", rc->action);
		add_str(o, "diagnostic_code", rc->diagnostic_code);
		add_str(o, "bounce_type", t->ev.bounce_type);
		add_str(o, "bounce_subtype", t->ev.bounce_subtype);
		add_str(o, "complaint_feedback_type", t->ev.complaint_feedback_type);
		add_str(o, "complaint_subtype", t->ev.complaint_subtype);
		add_str(o, "feedback_id", t->ev.feedback_id);
		if (t->ev.unsubscribe_all)
			json_object_object_add(o, "unsubscribe_all", json_object_new_boolean(1));
	}
	store_json(t, p);
	json_object_put(p);
	return;
oom:
	json_object_put(p);
	snprintf(t->why, sizeof(t->why), "out of memory");
	answer(t, 503, "no_memory", "out of memory, retry later");
}

/* The SubscriptionArn from SNS's ConfirmSubscriptionResponse XML. */
static void
subscription_arn(const char *xml, char *out, size_t outlen)
{
	const char *b, *e;
	size_t      n;

	out[0] = '\0';
	if (xml == NULL || (b = strstr(xml, "<SubscriptionArn>")) == NULL)
		return;
	b += strlen("<SubscriptionArn>");
	e = strstr(b, "</SubscriptionArn>");
	if (e == NULL)
		return;
	n = (size_t)(e - b);
	if (n == 0 || n >= outlen ||
	    strspn(b,
	        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	        "0123456789:-_.") < n)
		return;
	memcpy(out, b, n);
	out[n] = '\0';
}

static void
do_subscription(struct txn *t)
{
	struct json_object *p = NULL, *sub = NULL;
	struct http_opts    ho = { t->cfg.ca_file, t->cfg.connect_to, LIM_CONFIRM_ANSWER_MAX };
	struct buf          resp;
	char                arn[512] = "", err[256];
	const char         *status, *hdr_arn;
	long                code = 0;
	int                 seen = 0;

	buf_init(&resp, LIM_CONFIRM_ANSWER_MAX);
	if (t->msg.type == SNS_UNSUBSCRIBE_CONFIRMATION) {
		/* Recorded, never visited: re-subscribing is an operator's
		 * decision, not a side effect of a message. */
		status = "unsubscribed";
	} else {
		switch (store_seen(
		    t->h->store, t->cfg.dsn, t->msg.message_id, &seen, t->why, sizeof(t->why))) {
		case STORE_OK:
			break;
		case STORE_UNAVAILABLE:
			answer(t, 503, "db_unavailable", "database unavailable, retry later");
			goto out;
		default:
			answer(t, 500, "db_error", "database error");
			goto out;
		}
		if (seen) {
			answer(t, 200, "duplicate", "already stored");
			goto out;
		}
		if (t->cfg.auto_confirm) {
			if (http_get(t->h->http, t->msg.subscribe_url, &ho, &resp, &code, err,
			        sizeof(err)) != 0) {
				snprintf(t->why, sizeof(t->why),
				    "confirming the subscription failed: %s", err);
				answer(t, 503, "confirm_failed", "could not confirm, retry later");
				goto out;
			}
			if (code != 200) {
				snprintf(t->why, sizeof(t->why),
				    "confirming the subscription failed: SNS answered HTTP %ld",
				    code);
				answer(t, 503, "confirm_failed", "could not confirm, retry later");
				goto out;
			}
			subscription_arn(resp.data, arn, sizeof(arn));
			status = "confirmed";
		} else {
			status = "pending";
		}
	}
	p = base_json(t);
	sub = json_object_new_object();
	if (p == NULL || sub == NULL) {
		json_object_put(sub);
		snprintf(t->why, sizeof(t->why), "out of memory");
		answer(t, 503, "no_memory", "out of memory, retry later");
		goto out;
	}
	json_object_object_add(p, "subscription", sub);
	json_object_object_add(
	    p, "message_text", json_object_new_string_len(t->msg.message, (int)t->msg.message_len));
	add_str(sub, "status", status);
	hdr_arn = param(t, "HTTP_X_AMZ_SNS_SUBSCRIPTION_ARN");
	if (arn[0] != '\0')
		add_str(sub, "subscription_arn", arn);
	else if (hdr_arn != NULL && strlen(hdr_arn) < 512 &&
	    strncmp(hdr_arn, t->msg.topic_arn, strlen(t->msg.topic_arn)) == 0 &&
	    hdr_arn[strlen(t->msg.topic_arn)] == ':')
		add_str(sub, "subscription_arn", hdr_arn);
	if (strcmp(status, "pending") == 0)
		add_str(sub, "subscribe_url", t->msg.subscribe_url);
	store_json(t, p);
	if (t->out->status == 200)
		t->outcome = status;
out:
	json_object_put(p);
	buf_free(&resp);
}

static void
store_json(struct txn *t, struct json_object *p)
{
	const char *json;
	int         dup = 0, added = 0;

	json = json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN);
	if (json == NULL) {
		snprintf(t->why, sizeof(t->why), "out of memory");
		answer(t, 503, "no_memory", "out of memory, retry later");
		return;
	}
	switch (store_ingest(t->h->store, t->cfg.dsn, json, &dup, &added, t->why, sizeof(t->why))) {
	case STORE_OK:
		t->why[0] = '\0';
		if (!dup && t->msg.type == SNS_NOTIFICATION) {
			metrics_event(t->ev.kind);
			if (t->ev.not_addresses > 0)
				metrics_add(M_NOT_ADDRESSES, (uint64_t)t->ev.not_addresses);
		}
		if (added > 0)
			metrics_add(M_SUPPRESSIONS, (uint64_t)added);
		answer(t, 200, dup ? "duplicate" : "stored", dup ? "already stored" : "stored");
		break;
	case STORE_UNAVAILABLE:
		answer(t, 503, "db_unavailable", "database unavailable, retry later");
		break;
	default:
		answer(t, 500, "db_error", "database error");
		break;
	}
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
	logline_add(&l, "outcome", t->outcome);
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
