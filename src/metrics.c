/* SPDX-License-Identifier: ISC */
/* ses-feedback - metrics in shared memory, Prometheus text format.
 * The labels come from their one home: outcomes from outcome.h, event
 * kinds from ses.h, certificate sources from cert.h. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
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
};

static int render_labelled(struct buf *out);
static int render_histogram(struct buf *out);

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
	return 0;
}

int
metrics_init_file(const char *path)
{
	struct stat st;
	void       *p;
	int         fd;

	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (st.st_size != (off_t)sizeof(*m) && ftruncate(fd, sizeof(*m)) == -1)) {
		close(fd);
		return -1;
	}
	p = mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -1;
	m = p;
	return 0;
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
metrics_render(struct buf *out)
{
	size_t i;

	if (render_labelled(out) == -1)
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
