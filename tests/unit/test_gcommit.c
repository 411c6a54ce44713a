/* SPDX-License-Identifier: ISC */
/* ses-feedback - unit tests for the group commit between processes
 * (src/gcommit.c), with real forked workers and a runner that stands in
 * for the database: every worker gets its own document's outcome back,
 * batches hold several documents and never mix keys, a worker that gives
 * up waiting is never completed with another's outcome (and stores alone
 * while a leader still holds its last document), a leader short of time
 * takes nobody else's, and a leader that dies holding its lock leaves the
 * others going, the documents it held answered with why. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "gcommit.h"
#include "store.h"

#define WORKERS 6
#define ROUNDS  300
#define HASTY   3 /* in the timeout test, workers from this one on have 100 ms */

/* What the runners saw, shared by all processes. */
struct seen {
	volatile int max_batch;
	volatile int batches;
	volatile int mixed;     /* a batch with two keys */
	volatile int die;       /* the next leader of a batch of >= 2 dies */
	volatile int slow;      /* the next batch of >= 2 with a hasty worker's takes 400 ms */
	volatile int short_led; /* a hasty worker led a batch of >= 2 */
	volatile int died;      /* 503s that say the leader died */
	volatile int timeouts;  /* 503s that say no time was left */
	volatile int alone;     /* told to store alone: its slot still held */
};
static struct seen *seen;

/* A document is "key worker round"; the outcome encodes worker and round
 * (suppressed) and the round's parity (duplicate). */
static void
run(void *arg, struct gcommit_item *items, size_t n)
{
	char   key0[8], key[8];
	int    w, r;
	size_t k;

	int hasty = 0;

	(void)arg;
	if (seen->die && n >= 2) {
		seen->die = 0;
		_exit(42); /* holding the lock, with others' documents taken */
	}
	if ((int)n > seen->max_batch)
		seen->max_batch = (int)n;
	__sync_fetch_and_add(&seen->batches, 1);
	for (k = 0; k < n; k++) {
		if (sscanf(items[k].json, "%7s %d %d", key, &w, &r) != 3)
			abort();
		if (k == 0)
			memcpy(key0, key, sizeof(key));
		if (strcmp(key, key0) != 0)
			seen->mixed = 1;
		if (strcmp(key, "one") == 0 && w >= HASTY) {
			if (k == 0 && n >= 2)
				seen->short_led = 1;
			hasty = 1;
		}
	}
	if (seen->slow && hasty && n >= 2) {
		seen->slow = 0;
		usleep(400 * 1000); /* longer than a hasty worker waits */
	}
	usleep(300); /* a transaction takes a while: the others queue */
	for (k = 0; k < n; k++) {
		if (sscanf(items[k].json, "%7s %d %d", key, &w, &r) != 3)
			abort();
		items[k].status = STORE_OK;
		items[k].duplicate = r % 2;
		items[k].suppressed = w * 1000 + r;
	}
}

/* How the workers of a test behave. */
enum mode {
	STRICT,   /* every outcome its own, each stored through the group */
	TOLERANT, /* or a 503 that says why, or told to store alone */
	HURRIED   /* one key; from HASTY on a 100 ms deadline; TOLERANT */
};

/* One worker: ROUNDS documents; exit 0 when every outcome was its own
 * (or, when tolerant, a 503 that names why, or a store alone). */
static void
worker(int w, enum mode mode)
{
	struct gcommit_item out;
	struct timespec     dl;
	char                doc[64], key[8];
	size_t              batch;
	int                 r, rc, bad = 0;

	gcommit_attach(w);
	snprintf(key, sizeof(key), "%s", mode == HURRIED ? "one" : w % 2 ? "odd" : "even");
	for (r = 0; r < ROUNDS; r++) {
		snprintf(doc, sizeof(doc), "%s %d %d", key, w, r);
		clock_gettime(CLOCK_MONOTONIC, &dl);
		if (mode == HURRIED && w >= HASTY) {
			dl.tv_nsec += 100 * 1000 * 1000;
			if (dl.tv_nsec >= 1000 * 1000 * 1000) {
				dl.tv_sec++;
				dl.tv_nsec -= 1000 * 1000 * 1000;
			}
		} else {
			dl.tv_sec += 5;
		}
		rc = gcommit_store(key, doc, &dl, run, NULL, &out, &batch);
		if (rc == -1) {
			/* the caller would store it alone */
			__sync_fetch_and_add(&seen->alone, 1);
			bad += mode == STRICT;
			continue;
		}
		if (rc != 0)
			_exit(2);
		if (out.status == STORE_OK) {
			if (out.duplicate != r % 2 || out.suppressed != w * 1000 + r || out.why[0])
				bad++;
		} else if (mode == STRICT || out.status != STORE_UNAVAILABLE ||
		    out.why[0] == '\0') {
			bad++;
		} else if (strstr(out.why, "died") != NULL) {
			__sync_fetch_and_add(&seen->died, 1);
		} else if (strstr(out.why, "no time left") != NULL) {
			__sync_fetch_and_add(&seen->timeouts, 1);
		} else {
			bad++;
		}
	}
	_exit(bad == 0 ? 0 : 1);
}

static int
setup(void **state)
{
	(void)state;
	seen = mmap(NULL, sizeof(*seen), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(seen != MAP_FAILED);
	memset(seen, 0, sizeof(*seen));
	return 0;
}

static void
spawn_all(pid_t *pids, enum mode mode)
{
	int i;

	for (i = 0; i < WORKERS; i++) {
		pids[i] = fork();
		assert_true(pids[i] != -1);
		if (pids[i] == 0)
			worker(i, mode);
	}
}

static void
test_each_gets_its_own_outcome_in_shared_batches(void **state)
{
	pid_t pids[WORKERS];
	int   i, st;

	(void)state;
	assert_int_equal(gcommit_setup(WORKERS, 2), 0);
	spawn_all(pids, STRICT);
	for (i = 0; i < WORKERS; i++) {
		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	/* batched, never across keys */
	assert_true(seen->max_batch >= 2);
	assert_true(seen->batches < WORKERS * ROUNDS);
	assert_int_equal(seen->mixed, 0);
}

static void
test_a_dead_leader_leaves_the_others_going(void **state)
{
	pid_t pids[WORKERS];
	int   i, st, died = 0;

	(void)state;
	assert_int_equal(gcommit_setup(WORKERS, 1), 0); /* one lane: it must recover */
	seen->die = 1;
	spawn_all(pids, TOLERANT);
	for (i = 0; i < WORKERS; i++) {
		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		assert_true(WIFEXITED(st));
		if (WEXITSTATUS(st) == 42)
			died++;
		else
			assert_int_equal(WEXITSTATUS(st), 0);
	}
	assert_int_equal(died, 1);
	/* what it held was answered as such (by the next holder) */
	assert_true(seen->died >= 1);
}

static void
test_a_worker_that_gives_up_is_never_answered_wrongly(void **state)
{
	pid_t pids[WORKERS];
	int   i, st;

	(void)state;
	assert_int_equal(gcommit_setup(WORKERS, 2), 0);
	seen->slow = 1;
	spawn_all(pids, HURRIED);
	for (i = 0; i < WORKERS; i++) {
		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	assert_int_equal(seen->slow, 0);      /* the slow batch happened */
	assert_true(seen->timeouts >= 1);     /* a hasty worker in it gave up */
	assert_true(seen->alone >= 1);        /* and stored alone while it was held */
	assert_int_equal(seen->short_led, 0); /* no hasty leader took others */
	assert_true(seen->max_batch >= 2);
}

static void
test_not_attached_stores_alone(void **state)
{
	struct gcommit_item out;
	struct timespec     dl = { 0, 0 };
	size_t              batch = 9;

	(void)state;
	/* this process never attached: the caller stores it itself */
	assert_int_equal(gcommit_store("k", "k 0 0", &dl, run, NULL, &out, &batch), -1);
	assert_int_equal(batch, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_not_attached_stores_alone),
		cmocka_unit_test_setup(test_each_gets_its_own_outcome_in_shared_batches, setup),
		cmocka_unit_test_setup(test_a_dead_leader_leaves_the_others_going, setup),
		cmocka_unit_test_setup(
		    test_a_worker_that_gives_up_is_never_answered_wrongly, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
