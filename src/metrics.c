/* SPDX-License-Identifier: ISC */
/* ses-feedback - metrics in shared memory, Prometheus text format.
 * The labels come from their one home: outcomes from outcome.h, event
 * kinds from ses.h, certificate sources from cert.h. */
#include "config.h"

#include <fcntl.h>
#include <math.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"

/* The certificates' source label comes from certcache_source_name(), so the
 * log line's cert= and the metric agree; this is the last source. */
#define N_CERT_SOURCES (CERTCACHE_FROM_NETWORK + 1)

/* Name and help text of each plain counter. */
static const char *counter_names[METRICS_N_COUNTERS][2] = {
	[METRICS_DB_CONNECTS] = { "ses_feedback_db_connects_total",
	    "connections made to PostgreSQL" },
	[METRICS_DB_ERRORS] = { "ses_feedback_db_errors_total",
	    "failed database statements or connections" },
	[METRICS_SUPPRESSIONS] = { "ses_feedback_suppressions_total",
	    "suppressions added or strengthened by notifications" },
	[METRICS_NOT_ADDRESSES] = { "ses_feedback_recipients_not_address_total",
	    "recipients stored as not_an_address: see ses_feedback.recipients_not_understood" },
	[METRICS_GROUP_COMMITS] = { "ses_feedback_group_commits_total",
	    "transactions that stored the notifications of several workers at once (serve)" },
	[METRICS_GROUPED] = { "ses_feedback_group_commit_notifications_total",
	    "notifications stored by those transactions" },
};

static const double buckets_ms[] = { 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000 };
#define N_BUCKETS (sizeof(buckets_ms) / sizeof(buckets_ms[0]))

struct metrics_shm {
	uint64_t requests[OUTCOME__COUNT];
	uint64_t events[SES_KIND__COUNT];
	uint64_t certs[N_CERT_SOURCES];
	uint64_t counters[METRICS_N_COUNTERS];
	uint64_t bucket[N_BUCKETS + 1]; /* not cumulative; last is +Inf */
	uint64_t count;
	uint64_t sum_us;
	/* A metrics file of another size is another version's layout: it is
	 * started afresh (metrics_init_file), as a restart would. */
	int64_t              started_at;           /* unix time the segment was made */
	int64_t              last_notification_at; /* unix time; 0: none yet */
	int64_t              rates_claimed_at;     /* unix time a refresh was last claimed */
	int64_t              rates_refreshed_at;   /* ... and last succeeded; 0: never */
	uint64_t             rates_refreshes;
	uint64_t             rates_errors;
	uint64_t             rates_gen; /* seqlock on rates: odd while it is written */
	struct metrics_rates rates;
};

static int  render_labelled(struct buf *out);
static int  render_histogram(struct buf *out);
static int  render_rates(struct buf *out);
static void started(void);

static struct metrics_shm  local;
static struct metrics_shm *m = &local;

int
metrics_init_shared(void)
{
	void *p;

	p = mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	memset(p, 0, sizeof(*m));
	m = p;
	started();
	return 0;
}

int
metrics_init_file(const char *path)
{
	struct stat st;
	void       *p;
	int         fd, other;

	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    ((other = st.st_size != (off_t)sizeof(*m)) && ftruncate(fd, sizeof(*m)) == -1)) {
		close(fd);
		return -1;
	}
	p = mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -1;
	/* New, or left by a version with other fields: the counters start at
	 * zero (Prometheus takes it as a reset), never in the wrong series. */
	if (other)
		memset(p, 0, sizeof(*m));
	m = p;
	started();
	return 0;
}

/* The first process to map the segment says when it started: the
 * counters count from then. */
static void
started(void)
{
	int64_t zero = 0;

	__atomic_compare_exchange_n(
	    &m->started_at, &zero, (int64_t)time(NULL), 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

static void
inc(uint64_t *v, uint64_t n)
{
	__atomic_fetch_add(v, n, __ATOMIC_RELAXED);
}

void
metrics_request(enum outcome o, double ms)
{
	size_t i;

	inc(&m->requests[o], 1);
	for (i = 0; i < N_BUCKETS && ms > buckets_ms[i]; i++)
		;
	inc(&m->bucket[i], 1);
	inc(&m->count, 1);
	inc(&m->sum_us, (uint64_t)(ms * 1000.0));
}

void
metrics_event(enum ses_kind k)
{
	inc(&m->events[k], 1);
	/* For "no notification for hours": no clock is needed but ours. */
	__atomic_store_n(&m->last_notification_at, (int64_t)time(NULL), __ATOMIC_RELAXED);
}

void
metrics_cert(enum certcache_source s)
{
	inc(&m->certs[s], 1);
}

void
metrics_add(enum metrics_counter c, uint64_t n)
{
	inc(&m->counters[c], n);
}

static uint64_t
get(const uint64_t *v)
{
	return __atomic_load_n(v, __ATOMIC_RELAXED);
}

int
metrics_rates_claim(int64_t now, long interval)
{
	int64_t old = __atomic_load_n(&m->rates_claimed_at, __ATOMIC_RELAXED);

	if (old != 0 && now >= old && now - old < interval)
		return 0;
	/* Of the processes that saw it due, the one whose swap lands has it;
	 * the others see their own claim time replaced and go on. */
	if (!__atomic_compare_exchange_n(
	        &m->rates_claimed_at, &old, now, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		return 0;
	inc(&m->rates_refreshes, 1);
	return 1;
}

/* One writer at a time: the claim makes refreshes at least an interval
 * apart, and the copy takes microseconds. A writer killed in the middle
 * leaves the count odd: readers then see no rates until the next refresh,
 * which starts from the next odd number. */
void
metrics_rates_store(const struct metrics_rates *r, int64_t now)
{
	uint64_t g = __atomic_load_n(&m->rates_gen, __ATOMIC_RELAXED);

	g += (g & 1) ? 2 : 1;
	__atomic_store_n(&m->rates_gen, g, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy(&m->rates, r, sizeof(*r));
	__atomic_store_n(&m->rates_refreshed_at, now, __ATOMIC_RELAXED);
	__atomic_store_n(&m->rates_gen, g + 1, __ATOMIC_RELEASE);
}

void
metrics_rates_failed(void)
{
	inc(&m->rates_errors, 1);
}

int
metrics_rates_get(struct metrics_rates *r, int64_t *refreshed_at)
{
	uint64_t g1, g2;
	uint32_t i;
	int      tries;

	for (tries = 0; tries < 100; tries++) {
		g1 = __atomic_load_n(&m->rates_gen, __ATOMIC_ACQUIRE);
		if (g1 == 0)
			return -1;
		if (g1 & 1) {
			sched_yield();
			continue;
		}
		memcpy(r, &m->rates, sizeof(*r));
		*refreshed_at = __atomic_load_n(&m->rates_refreshed_at, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		g2 = __atomic_load_n(&m->rates_gen, __ATOMIC_RELAXED);
		if (g1 == g2) {
			/* A name from shared memory is NUL-terminated here, whatever
			 * another process wrote. */
			r->all.name[0] = '\0';
			if (r->nsets > METRICS_RATE_SETS)
				r->nsets = METRICS_RATE_SETS;
			for (i = 0; i < r->nsets; i++)
				r->sets[i].name[METRICS_RATE_NAME_MAX] = '\0';
			return 0;
		}
	}
	return -1;
}

int
metrics_label_value(struct buf *out, const char *s)
{
	const char *run;

	for (run = s; *s != '\0'; s++) {
		if (*s != '\\' && *s != '"' && *s != '\n')
			continue;
		if (buf_add(out, run, (size_t)(s - run)) == -1 ||
		    buf_adds(out,
		        *s == '\\'      ? "\\\\"
		            : *s == '"' ? "\\\""
		                        : "\\n") == -1)
			return -1;
		run = s + 1;
	}
	return buf_add(out, run, (size_t)(s - run));
}

int
metrics_render(struct buf *out)
{
	size_t i;

	if (render_labelled(out) == -1 || render_rates(out) == -1)
		return -1;
	for (i = 0; i < METRICS_N_COUNTERS; i++) {
		if (buf_addf(out, "# HELP %s %s.\n# TYPE %s counter\n%s %llu\n",
		        counter_names[i][0], counter_names[i][1], counter_names[i][0],
		        counter_names[i][0], (unsigned long long)get(&m->counters[i])) == -1)
			return -1;
	}
	return render_histogram(out);
}

/* The counters with a label, each label's words from their one home. */
static int
render_labelled(struct buf *out)
{
	size_t i;

	if (buf_adds(out,
	        "# HELP ses_feedback_requests_total HTTP requests by outcome and status.\n"
	        "# TYPE ses_feedback_requests_total counter\n") == -1)
		return -1;
	for (i = 0; i < OUTCOME__COUNT; i++) {
		if (buf_addf(out,
		        "ses_feedback_requests_total{outcome=\"%s\",status=\"%d\"} %llu\n",
		        outcome_name((enum outcome)i), outcome_status((enum outcome)i),
		        (unsigned long long)get(&m->requests[i])) == -1)
			return -1;
	}
	if (buf_adds(out,
	        "# HELP ses_feedback_notifications_total Stored SES notifications by "
	        "event type.\n# TYPE ses_feedback_notifications_total counter\n") == -1)
		return -1;
	for (i = 0; i < SES_KIND__COUNT; i++) {
		if (buf_addf(out, "ses_feedback_notifications_total{event=\"%s\"} %llu\n",
		        ses_kind_name((enum ses_kind)i),
		        (unsigned long long)get(&m->events[i])) == -1)
			return -1;
	}
	if (buf_adds(out,
	        "# HELP ses_feedback_certificates_total signing keys used, by where they came "
	        "from.\n# TYPE ses_feedback_certificates_total counter\n") == -1)
		return -1;
	for (i = 0; i < N_CERT_SOURCES; i++) {
		if (buf_addf(out, "ses_feedback_certificates_total{source=\"%s\"} %llu\n",
		        certcache_source_name((enum certcache_source)i),
		        (unsigned long long)get(&m->certs[i])) == -1)
			return -1;
	}
	return 0;
}

static int
render_histogram(struct buf *out)
{
	uint64_t cum = 0;
	size_t   i;

	if (buf_adds(out,
	        "# HELP ses_feedback_request_duration_seconds Time to answer a "
	        "request.\n# TYPE ses_feedback_request_duration_seconds histogram\n") == -1)
		return -1;
	for (i = 0; i <= N_BUCKETS; i++) {
		cum += get(&m->bucket[i]);
		if (i < N_BUCKETS) {
			if (buf_addf(out,
			        "ses_feedback_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
			        buckets_ms[i] / 1000.0, (unsigned long long)cum) == -1)
				return -1;
		} else if (buf_addf(out,
		               "ses_feedback_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
		               (unsigned long long)cum) == -1) {
			return -1;
		}
	}
	return buf_addf(out,
	    "ses_feedback_request_duration_seconds_sum %.6f\n"
	    "ses_feedback_request_duration_seconds_count %llu\n",
	    (double)get(&m->sum_us) / 1e6, (unsigned long long)get(&m->count));
}

/* One gauge of the sending rates: overall, then per configuration set.
 * off is the field's offset in struct metrics_rate; a rate that is NaN
 * (the view's NULL: nothing to divide by) has no sample. */
static int
render_rate(struct buf *out, const struct metrics_rates *r, const char *name, const char *help,
    size_t off, int is_rate)
{
	const struct metrics_rate *row;
	const void                *f;
	char                       v[64];
	uint32_t                   i;

	if (buf_addf(out, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name) == -1)
		return -1;
	for (i = 0; i <= r->nsets; i++) {
		row = i == 0 ? &r->all : &r->sets[i - 1];
		f = (const char *)row + off;
		if (is_rate) {
			if (isnan(*(const double *)f))
				continue;
			/* The view rounds to 3 decimals (at most 100.000): %g
			 * gives its very digits back. */
			snprintf(v, sizeof(v), "%g", *(const double *)f);
		} else {
			snprintf(v, sizeof(v), "%llu", (unsigned long long)*(const uint64_t *)f);
		}
		if (i == 0) {
			if (buf_addf(out, "%s{scope=\"all\"} %s\n", name, v) == -1)
				return -1;
			continue;
		}
		if (buf_addf(out, "%s{scope=\"configuration_set\",configuration_set=\"", name) ==
		        -1 ||
		    metrics_label_value(out, row->name) == -1 || buf_addf(out, "\"} %s\n", v) == -1)
			return -1;
	}
	return 0;
}

/* The cached rates and subscriptions, the refresh's own health, and the
 * time of the last notification. Never a query: see src/rates.c. */
static int
render_rates(struct buf *out)
{
	static const char *sub_names[METRICS_SUB__COUNT] = {
		[METRICS_SUB_PENDING] = "pending",
		[METRICS_SUB_CONFIRMED] = "confirmed",
		[METRICS_SUB_UNSUBSCRIBED] = "unsubscribed",
	};
	struct metrics_rates r;
	int64_t              at = 0;
	size_t               i;

	started();
	if (buf_addf(out,
	        "# HELP ses_feedback_start_time_seconds Unix time the counters started "
	        "(serve, or the metrics file).\n# TYPE ses_feedback_start_time_seconds gauge\n"
	        "ses_feedback_start_time_seconds %lld\n"
	        "# HELP ses_feedback_last_notification_timestamp_seconds Unix time the last "
	        "SES notification was stored (not a duplicate); 0: none since the start.\n"
	        "# TYPE ses_feedback_last_notification_timestamp_seconds gauge\n"
	        "ses_feedback_last_notification_timestamp_seconds %lld\n"
	        "# HELP ses_feedback_rates_refreshes_total Reads of the sending rates from the "
	        "database (at most one a minute, after a scrape).\n"
	        "# TYPE ses_feedback_rates_refreshes_total counter\n"
	        "ses_feedback_rates_refreshes_total %llu\n"
	        "# HELP ses_feedback_rates_refresh_errors_total Reads of the sending rates that "
	        "failed or timed out (the last good values stay).\n"
	        "# TYPE ses_feedback_rates_refresh_errors_total counter\n"
	        "ses_feedback_rates_refresh_errors_total %llu\n",
	        (long long)__atomic_load_n(&m->started_at, __ATOMIC_RELAXED),
	        (long long)__atomic_load_n(&m->last_notification_at, __ATOMIC_RELAXED),
	        (unsigned long long)get(&m->rates_refreshes),
	        (unsigned long long)get(&m->rates_errors)) == -1)
		return -1;
	if (metrics_rates_get(&r, &at) == -1)
		at = 0;
	if (buf_addf(out,
	        "# HELP ses_feedback_rates_refreshed_timestamp_seconds Unix time of the last "
	        "successful read of the sending rates; 0: none yet.\n"
	        "# TYPE ses_feedback_rates_refreshed_timestamp_seconds gauge\n"
	        "ses_feedback_rates_refreshed_timestamp_seconds %lld\n",
	        (long long)at) == -1)
		return -1;
	if (at == 0)
		return 0;
	if (buf_addf(out,
	        "# HELP ses_feedback_rates_refresh_duration_seconds Time the last successful "
	        "read of the sending rates took.\n"
	        "# TYPE ses_feedback_rates_refresh_duration_seconds gauge\n"
	        "ses_feedback_rates_refresh_duration_seconds %.6f\n"
	        "# HELP ses_feedback_rates_configuration_sets_omitted Configuration sets with "
	        "volume not shown in the rates (only the %d largest are, and names of at most %d "
	        "bytes).\n# TYPE ses_feedback_rates_configuration_sets_omitted gauge\n"
	        "ses_feedback_rates_configuration_sets_omitted %lu\n",
	        r.seconds, METRICS_RATE_SETS, METRICS_RATE_NAME_MAX,
	        (unsigned long)r.omitted) == -1)
		return -1;
	if (render_rate(out, &r, "ses_feedback_sending_delivered",
	        "Deliveries within the rate window, as of the last refresh "
	        "(sending_rates.delivered).",
	        offsetof(struct metrics_rate, delivered), 0) == -1 ||
	    render_rate(out, &r, "ses_feedback_sending_hard_bounces",
	        "Hard bounces within the rate window (sending_rates.hard_bounces).",
	        offsetof(struct metrics_rate, hard_bounces), 0) == -1 ||
	    render_rate(out, &r, "ses_feedback_sending_complaints",
	        "Complaints within the rate window (sending_rates.complaints).",
	        offsetof(struct metrics_rate, complaints), 0) == -1 ||
	    render_rate(out, &r, "ses_feedback_bounce_rate_percent",
	        "Hard bounces over messages sent, in percent, as SES computes it "
	        "(sending_rates.bounce_rate_pct; AWS reviews at 5, may pause at 10).",
	        offsetof(struct metrics_rate, bounce_pct), 1) == -1 ||
	    render_rate(out, &r, "ses_feedback_complaint_rate_percent",
	        "Complaints over deliveries, in percent (sending_rates.complaint_rate_pct; AWS "
	        "reviews at 0.1, may pause at 0.5).",
	        offsetof(struct metrics_rate, complaint_pct), 1) == -1)
		return -1;
	if (buf_adds(out,
	        "# HELP ses_feedback_subscriptions SNS subscriptions by status, as of the last "
	        "refresh.\n# TYPE ses_feedback_subscriptions gauge\n") == -1)
		return -1;
	for (i = 0; i < METRICS_SUB__COUNT; i++) {
		if (buf_addf(out, "ses_feedback_subscriptions{status=\"%s\"} %llu\n", sub_names[i],
		        (unsigned long long)r.subs[i]) == -1)
			return -1;
	}
	return 0;
}
