/* SPDX-License-Identifier: ISC */
/* ses-feedback - group commit between `serve`'s workers.
 *
 * A worker about to store a notification puts its document in its own
 * slot of a segment shared by all workers, then tries the group locks.
 * The worker that gets one is a leader: it takes every queued document
 * of the same database (its own among them), stores them in one
 * transaction, writes each slot's outcome and rings its bell (a futex),
 * so that every worker of the batch wakes at once and answers; letting
 * the lock go, it rings one slot still queued, whose worker leads the
 * next batch with whatever came meanwhile. So one COMMIT serves as many
 * notifications as arrived during the one before, and nobody waits for a
 * timer. An outcome is written only after the COMMIT that holds it; a
 * worker that gives up waiting (its deadline) answers 503, and SNS's
 * retry finds the MessageId stored or not.
 *
 * There are a few such locks (lanes), each a leader's at a time, so that
 * one batch is executed while another's COMMIT is being written. A lock
 * is only ever tried; a worker waits on its own slot's bell, and naps
 * briefly when no ring comes, then looks again. Each lock is a robust
 * process-shared mutex: a leader that dies holding one leaves the slots
 * it took to the next worker to try it, who marks them failed (their
 * workers answer 503) before going on. Not used outside `serve`. */
#ifndef SF_GCOMMIT_H
#define SF_GCOMMIT_H

#include <stddef.h>
#include <time.h>

/* One document of a batch, for the store that runs it. */
struct gcommit_item {
	const char *json;       /* NUL-terminated, the leader's copy */
	int         status;     /* set by the runner: enum store_status */
	int         duplicate;  /* set by the runner */
	int         suppressed; /* set by the runner */
	char        why[256];   /* set by the runner when status is not STORE_OK */
};

/* Store items[0..n-1] (n >= 1; items[0] is the leader's own) and set each
 * one's outcome. */
typedef void gcommit_run_fn(void *arg, struct gcommit_item *items, size_t n);

/* The supervisor, before the workers are forked: a segment of nslots
 * slots and nlanes locks (1..LIM_GCOMMIT_LANES_MAX), so that up to nlanes
 * transactions run at once: one executes while another waits for its
 * COMMIT to reach the disk. -1 (errno) when it cannot be mapped. */
int gcommit_setup(long nslots, int nlanes);

/* A worker, after fork: slot is its own, which no other live worker
 * uses. Its previous owner's unfinished business is dropped. */
void gcommit_attach(long slot);

/* Store json through the group, keyed by key (the database and how it is
 * reached: only documents of one key share a transaction), waiting no
 * longer than deadline (CLOCK_MONOTONIC; tv_sec 0: LIM_REQUEST_MS). 0
 * with *out's status, duplicate and suppressed set; -1 when the group
 * cannot take it (not attached, the document or key too large, or a
 * leader still holds the last document this worker gave up waiting for:
 * the slot is the leader's until it completes it), and the caller stores
 * it alone. *batch is the size of the batch when this worker led it,
 * else 0 (it went in another worker's batch, or gave up first). */
int gcommit_store(const char *key, const char *json, const struct timespec *deadline,
    gcommit_run_fn *run, void *arg, struct gcommit_item *out, size_t *batch);

#endif
