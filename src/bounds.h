/* SPDX-License-Identifier: ISC */
/* ses-feedback - every timeout and size cap, in one place.
 * SNS waits 15 s for an answer, then counts the delivery as failed and
 * retries. Each wait below is a share of that budget, so that the slowest
 * path still answers (a 5xx if it must, which SNS retries) in time; the
 * build fails when the shares add up to more than the budget. */
#ifndef SF_BOUNDS_H
#define SF_BOUNDS_H

/* ---- time ------------------------------------------------------------- */

/* SNS's own timeout on one HTTP(S) delivery. */
#define LIM_SNS_TIMEOUT_MS 15000
/* Ours, from accept to answer: a third of SNS's is left to the web server,
 * the network between SNS and it, and a loaded machine. */
#define LIM_REQUEST_MS 10000

/* From accept (or the first byte of the next request on a kept
 * connection) to the last byte of the body. Every shipped front end reads
 * the whole body from the client before it connects (nginx request
 * buffering, Apache's spooling, mod_fcgid), so this is the time to copy a
 * buffered request over a local socket; a client that is slower holds the
 * web server, never a worker. Short, because a worker is held meanwhile:
 * with 4 stalling connections per worker a genuine request still waits
 * under 4 x 300 ms. */
#define LIM_REQUEST_READ_MS 300

/* Outgoing HTTPS (certificate fetch, subscription confirmation), each. */
#define LIM_HTTP_CONNECT_MS 1000
#define LIM_HTTP_TOTAL_MS   1900

/* PostgreSQL. libpq takes whole seconds and treats less than 2 as 2. */
#define LIM_DB_CONNECT_S 2
/* Server side: statement_timeout (ms), so the server stops working too. */
#define LIM_DB_STATEMENT_MS 1500
/* Client side: the longest wait for an answer, whatever is in the way (a
 * pooler queueing the query while the server is down, lost packets). */
#define LIM_DB_ANSWER_MS 1700
/* Statements one request runs: a SubscriptionConfirmation asks whether
 * the MessageId was seen, then stores it. */
#define LIM_DB_STATEMENTS 2

/* The slowest path a request can take: read, certificate fetch,
 * subscription confirmation, database connect, the statements. A retry
 * (a reconnect after a lost connection) only happens while the request
 * deadline allows, so it is bounded by LIM_REQUEST_MS, not added here. */
#define LIM_WORST_PATH_MS                                                                          \
	(LIM_REQUEST_READ_MS + 2 * LIM_HTTP_TOTAL_MS + LIM_DB_CONNECT_S * 1000 +                   \
	    LIM_DB_STATEMENTS * LIM_DB_ANSWER_MS)

_Static_assert(
    LIM_WORST_PATH_MS <= LIM_REQUEST_MS, "the slowest request path must fit in the request budget");
_Static_assert(LIM_REQUEST_MS <= 10000, "at most 10 s of SNS's 15 s are ours");
_Static_assert(LIM_REQUEST_MS < LIM_SNS_TIMEOUT_MS, "answer before SNS gives up");
_Static_assert(LIM_HTTP_CONNECT_MS <= LIM_HTTP_TOTAL_MS, "connect is part of the total");
_Static_assert(LIM_DB_STATEMENT_MS < LIM_DB_ANSWER_MS,
    "the server gives up first, so its error (not our cancel) is the answer");
_Static_assert(LIM_DB_CONNECT_S >= 2, "libpq treats less than 2 s as 2 s");

/* Seconds a kept FastCGI connection may idle, and a write of the answer
 * may stall, before the worker gives up on it (serve --io-timeout). */
#define LIM_FCGI_IO_S 10
/* serve: a stopping worker finishes its request; past this it is killed.
 * Longer than any request may take. */
#define LIM_SERVE_GRACE_S ((LIM_REQUEST_MS + 999) / 1000 + 10)
/* Retry-After on a 503: SNS's own default retry delay is 20 s. */
#define LIM_RETRY_AFTER_S 30

/* ---- size ------------------------------------------------------------- */

#define LIM_SERVE_MAX_WORKERS 256
/* serve's default worker count: LIM_SERVE_WORKERS_PER_CPU per online CPU,
 * at least LIM_SERVE_MIN_WORKERS, at most LIM_SERVE_DEFAULT_MAX_WORKERS.
 * A worker mostly waits for a COMMIT, its own or the group's (gcommit.h):
 * the more notifications are in flight, the more each COMMIT stores (2
 * CPUs, 16 connections: 8 workers 2.9 a COMMIT, 16 workers 4.5, and
 * about 8 % less PostgreSQL CPU per notification). Each worker costs one
 * connection, idle but for its turns as leader, and ~8 MiB resident (a
 * leader's copies of a batch are touched only as far as its documents go:
 * up to 2 x LIM_GCOMMIT_BATCH_BYTES more after the largest batch). */
#define LIM_SERVE_WORKERS_PER_CPU     8
#define LIM_SERVE_MIN_WORKERS         8
#define LIM_SERVE_DEFAULT_MAX_WORKERS 32
/* The listening socket's queue: a burst waits there for a worker instead
 * of nginx getting EAGAIN (an immediate 502) once 128 are queued. The
 * kernel caps it at net.core.somaxconn (4096 by default since Linux 5.4). */
#define LIM_SERVE_BACKLOG 4096
/* serve's group commit (gcommit.h): at most LIM_GCOMMIT_BATCH documents
 * of at most LIM_GCOMMIT_BATCH_BYTES in all share one transaction (a
 * PostgreSQL transaction keeps 64 subtransactions in shared memory; the
 * batch takes none, but stays well inside what one statement should
 * carry). A document over LIM_GCOMMIT_DOC_BYTES is stored alone; an SNS
 * message is at most 256 KiB, its document a few KiB. */
#define LIM_GCOMMIT_BATCH       32
#define LIM_GCOMMIT_BATCH_BYTES (2 * 1024 * 1024)
#define LIM_GCOMMIT_DOC_BYTES   (256 * 1024)
/* Transactions of the group commit at once: one per CPU, at least 2 (one
 * executes while another's COMMIT is flushed), at most this. */
#define LIM_GCOMMIT_LANES_MAX 8
/* A signing certificate; real SNS certificates are ~2 KiB. */
#define LIM_CERT_PEM_MAX 16384
/* Parsed signing keys kept per worker, and the PEM bytes behind them; the
 * disk cache's files and bytes. No input can grow the caches without
 * limit: SNS uses a few certificates at a time, and the least recently
 * used (memory) or written (disk) goes first. */
#define LIM_CERT_MEM_SLOTS  32
#define LIM_CERT_MEM_BYTES  (LIM_CERT_MEM_SLOTS * 8192)
#define LIM_CERT_DISK_FILES 64
#define LIM_CERT_DISK_BYTES (LIM_CERT_DISK_FILES * 8192)
/* JSON nesting of the envelope and the SES message. */
#define LIM_JSON_DEPTH 16
/* Envelope fields, in bytes (Message is bounded by the body). Roomy beside
 * what SNS sends; a buffer that holds a decoded copy of one is sized from
 * its cap here. */
#define LIM_SNS_TYPE_MAX            64
#define LIM_SNS_MESSAGE_ID_MAX      128
#define LIM_SNS_TOPIC_ARN_MAX       400
#define LIM_SNS_TIMESTAMP_MAX       64
#define LIM_SNS_SIGVER_MAX          8
#define LIM_SNS_SIGNATURE_MAX       4096 /* base64 */
#define LIM_SNS_CERT_URL_MAX        1024
#define LIM_SNS_SUBJECT_MAX         1024
#define LIM_SNS_UNSUBSCRIBE_URL_MAX 2048
#define LIM_SNS_SUBSCRIBE_URL_MAX   4096
#define LIM_SNS_TOKEN_MAX           2048
/* A SubscriptionArn: the TopicArn (at most LIM_SNS_TOPIC_ARN_MAX) plus a
 * colon and a UUID. */
#define LIM_SUBSCRIPTION_ARN_MAX 512
_Static_assert(LIM_SUBSCRIPTION_ARN_MAX > LIM_SNS_TOPIC_ARN_MAX + 1 + 36,
    "a SubscriptionArn holds its TopicArn, a colon and a UUID");
/* The string to sign over the Message: the other fields and key names. */
#define LIM_STRING_TO_SIGN_EXTRA 16384
/* Recipients in one SES event (SES sends to at most 50 per message). */
#define LIM_SES_RECIPIENTS 1000
/* An address (RFC 5321: 64 + 1 + 255), and a recipient kept as SES
 * spelled it when it is none. */
#define LIM_SES_EMAIL    320
#define LIM_SES_ORIGINAL 1024
/* SNS's answer to ConfirmSubscription (an XML document of < 1 KiB). */
#define LIM_CONFIRM_ANSWER_MAX 16384
/* Any answer to check-config's HTTPS probe. */
#define LIM_PROBE_ANSWER_MAX 65536
/* The metrics page: the counters, and five rate gauges for up to 64
 * configuration sets whose names (64 bytes) may double when escaped. */
#define LIM_METRICS_MAX 131072

#endif
