/* SPDX-License-Identifier: ISC */
/* ses-feedback - group commit between `serve`'s workers (gcommit.h).
 *
 * Each slot's state, generation and outcome are one 64-bit word, changed
 * only by compare-and-swap, so that a leader can never complete a slot
 * whose worker has given up and queued the next document: the generation
 * differs and the swap fails. Slot contents are read by a leader only
 * while it holds the lock, and copied before the slot is marked taken.
 *
 * A worker waits on its own slot's bell (a futex word), never on a lock:
 * the leader rings each slot it completes, so that all its followers
 * wake at once, and on letting its lane go rings one queued slot, whose
 * worker tries the lanes and leads the next batch. A lane is only ever
 * tried, not waited for. A ring aimed at another slot, or a leader that
 * died, is made up for by a short nap: a waiter wakes on its own and
 * looks again (a dead leader's lane, tried, is cleaned up). */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bounds.h"
#include "deadline.h"
#include "gcommit.h"
#include "log.h"
#include "store.h"

#define DOC_MAX     LIM_GCOMMIT_DOC_BYTES
#define KEY_MAX     1024
#define BATCH_MAX   LIM_GCOMMIT_BATCH
#define BATCH_BYTES LIM_GCOMMIT_BATCH_BYTES
#define WHY_MAX     256
#define LANES_MAX   LIM_GCOMMIT_LANES_MAX
/* How long a waiter naps before it looks again without a ring: queued
 * (a lane may have come free with the ring gone to another slot), or
 * taken (its leader may have died). */
#define NAP_QUEUED_MS 10
#define NAP_TAKEN_MS  100

enum { S_IDLE, S_QUEUED, S_TAKEN, S_DONE };

/* The word: state (8 bits), generation (32), outcome (24: status 4,
 * duplicate 1, suppressed 19). */
#define W(state, gen, res) ((uint64_t)(state) | (uint64_t)(gen) << 8 | (uint64_t)(res) << 40)
#define W_STATE(w)         ((int)((w)&0xff))
#define W_GEN(w)           ((uint32_t)((w) >> 8))
#define RES(st, dup, supp)                                                                         \
	((uint64_t)((st)&0xf) | (uint64_t)((dup) != 0) << 4 | (uint64_t)(supp) << 5)
#define RES_STATUS(w) ((int)(((w) >> 40) & 0xf))
#define RES_DUP(w)    ((int)(((w) >> 44) & 1))
#define RES_SUPP(w)   ((int)(((w) >> 45) & 0x7ffff))
#define SUPP_MAX      0x7ffff
/* while taken, the outcome bits name the lane of the leader holding it */
#define RES_LANE(w) ((int)((w) >> 40))

struct slot {
	_Atomic uint64_t word;
	_Atomic uint32_t bell;   /* futex: changed and woken by ring() */
	/* Written by the worker while the slot is its own, read by leaders
	 * while it may not be (a worker that gave up may be writing its next
	 * document): each read once, into a local, and used only from there. */
	_Atomic size_t   len;    /* of doc, without its NUL */
	_Atomic size_t   keylen; /* of key, without its NUL */
	char             why[WHY_MAX];
	char             key[KEY_MAX];
	char             doc[DOC_MAX];
};

struct seg {
	pthread_mutex_t lock[LANES_MAX];
	int             nlanes;
	long            nslots;
	struct slot     slot[];
};

static struct seg   *seg;
static long          mine = -1;
static unsigned long turn; /* where this worker's next scan as leader starts */
static char         *lbuf; /* the leader's copies, BATCH_BYTES */

static int  lock_lane(int lane);
static int  try_lanes(int *lane);
static void unlock_lane(int lane);
static void ring(struct slot *s);
static void nap(struct slot *s, uint32_t bell, long ms);
static int  still_taken(struct slot *s, uint64_t *w);
static void lead(struct slot *me, uint32_t g, int lane, const struct timespec *dl,
    gcommit_run_fn *run, void *arg, size_t *batch);
static void orphans(int lane);
static void outcome(const struct slot *s, uint64_t w, struct gcommit_item *out);
static int  failed(struct gcommit_item *out, const char *why);

int
gcommit_setup(long nslots, int nlanes)
{
	pthread_mutexattr_t a;
	size_t              size = sizeof(struct seg) + (size_t)nslots * sizeof(struct slot);
	void               *p;
	int                 rc, i;

	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	seg = p;
	seg->nslots = nslots;
	seg->nlanes = nlanes < 1 ? 1 : nlanes > LANES_MAX ? LANES_MAX : nlanes;
	if ((rc = pthread_mutexattr_init(&a)) != 0 ||
	    (rc = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED)) != 0 ||
	    (rc = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST)) != 0)
		goto fail;
	for (i = 0; i < seg->nlanes; i++) {
		if ((rc = pthread_mutex_init(&seg->lock[i], &a)) != 0)
			goto fail;
	}
	pthread_mutexattr_destroy(&a);
	return 0;
fail:
	munmap(p, size);
	seg = NULL;
	errno = rc;
	return -1;
}

void
gcommit_attach(long slot)
{
	struct slot *s;
	uint64_t     w;

	if (seg == NULL || slot < 0 || slot >= seg->nslots)
		return;
	lbuf = malloc(BATCH_BYTES);
	if (lbuf == NULL) {
		log_warnx("no memory for group commit: this worker stores alone");
		return;
	}
	mine = slot;
	s = &seg->slot[mine];
	/* A document of the worker that had the slot before is either still
	 * held by a leader, who completes it (gcommit_store waits for that
	 * before using the slot), or it is not, and is dropped. */
	w = atomic_load(&s->word);
	while (W_STATE(w) != S_TAKEN &&
	       !atomic_compare_exchange_weak(&s->word, &w, W(S_IDLE, W_GEN(w) + 1, 0)))
		; /* a leader took it meanwhile (then w is TAKEN), or a spurious failure */
}

int
gcommit_store(const char *key, const char *json, const struct timespec *deadline,
    gcommit_run_fn *run, void *arg, struct gcommit_item *out, size_t *batch)
{
	struct slot    *s;
	struct timespec dl;
	size_t          len, keylen;
	uint64_t        w;
	uint32_t        g, bell;
	long            left;
	int             rc, lane;

	*batch = 0;
	if (mine < 0)
		return -1;
	len = strlen(json);
	keylen = strlen(key);
	if (len >= DOC_MAX || keylen >= KEY_MAX)
		return -1;
	s = &seg->slot[mine];
	/* The slot is written only while no leader holds it: a leader still
	 * running a document this worker gave up on owns it until it
	 * completes it. Meanwhile this worker stores alone. */
	if (still_taken(s, &w))
		return -1;
	memcpy(s->doc, json, len + 1);
	atomic_store_explicit(&s->len, len, memory_order_relaxed);
	memcpy(s->key, key, keylen + 1);
	atomic_store_explicit(&s->keylen, keylen, memory_order_relaxed);
	s->why[0] = '\0';
	g = W_GEN(w) + 1;
	atomic_store_explicit(&s->word, W(S_QUEUED, g, 0), memory_order_release);

	if (deadline->tv_sec != 0) {
		dl = *deadline;
	} else {
		clock_gettime(CLOCK_MONOTONIC, &dl);
		dl.tv_sec += LIM_REQUEST_MS / 1000;
	}
	for (;;) {
		/* The bell before the state: a ring after this is not missed. */
		bell = atomic_load_explicit(&s->bell, memory_order_acquire);
		w = atomic_load_explicit(&s->word, memory_order_acquire);
		if (W_GEN(w) != g || W_STATE(w) == S_IDLE)
			return failed(out, "group commit: the slot was lost"); /* cannot happen */
		if (W_STATE(w) == S_DONE)
			break;
		if (W_STATE(w) == S_QUEUED) {
			rc = try_lanes(&lane);
			if (rc == 0) {
				/* Ours to lead only if no other lane's leader
				 * took it first. */
				w = W(S_QUEUED, g, 0);
				if (atomic_compare_exchange_strong(
				        &s->word, &w, W(S_TAKEN, g, lane)))
					lead(s, g, lane, &dl, run, arg, batch);
				unlock_lane(lane);
				continue;
			}
			if (rc != EBUSY) {
				w = W(S_QUEUED, g, 0);
				if (atomic_compare_exchange_strong(&s->word, &w, W(S_IDLE, g, 0))) {
					log_warnx(
					    "group commit lock: %s; storing alone", strerror(rc));
					return -1;
				}
				continue; /* taken meanwhile */
			}
		}
		left = deadline_left_ms(&dl, NAP_TAKEN_MS);
		if (left == 0) {
			/* Still queued: take it back, and say why; taken: its
			 * fate is not known here, and SNS's retry will tell. */
			w = W(S_QUEUED, g, 0);
			if (atomic_compare_exchange_strong(&s->word, &w, W(S_IDLE, g, 0)))
				return failed(out, "no time left waiting for the group commit");
			w = atomic_load_explicit(&s->word, memory_order_acquire);
			if (W_STATE(w) == S_DONE && W_GEN(w) == g)
				break;
			return failed(out,
			    "no time left waiting for the group commit holding "
			    "this notification");
		}
		if (W_STATE(w) == S_QUEUED) {
			nap(s, bell, left < NAP_QUEUED_MS ? left : NAP_QUEUED_MS);
		} else {
			nap(s, bell, left);
			/* Woken by no ring: a leader that died holding its lane
			 * is found out by trying it. */
			lane = RES_LANE(w);
			if (atomic_load(&s->bell) == bell && lane < seg->nlanes &&
			    lock_lane(lane) == 0)
				unlock_lane(lane);
		}
	}
	outcome(s, w, out);
	return 0;
}

/* Whether a leader still holds s (*w: its word after). A leader that died
 * holding it is found out by trying its lane's lock, which marks what it
 * held failed. */
static int
still_taken(struct slot *s, uint64_t *w)
{
	int lane;

	*w = atomic_load_explicit(&s->word, memory_order_acquire);
	if (W_STATE(*w) != S_TAKEN)
		return 0;
	lane = RES_LANE(*w);
	if (lane < seg->nlanes && lock_lane(lane) == 0)
		unlock_lane(lane);
	*w = atomic_load_explicit(&s->word, memory_order_acquire);
	return W_STATE(*w) == S_TAKEN;
}

/* Try lane's lock: 0 with it, else an errno (EBUSY: held). A holder that
 * died is cleaned up after. */
static int
lock_lane(int lane)
{
	int rc;

	rc = pthread_mutex_trylock(&seg->lock[lane]);
	if (rc == EOWNERDEAD) {
		orphans(lane);
		pthread_mutex_consistent(&seg->lock[lane]);
		rc = 0;
	}
	return rc;
}

/* Try every lane, this worker's own first: 0 with *lane locked, EBUSY
 * when all are held, or the first other errno. */
static int
try_lanes(int *lane)
{
	int i, rc, first = EBUSY;

	for (i = 0; i < seg->nlanes; i++) {
		*lane = (int)((mine + i) % seg->nlanes);
		rc = lock_lane(*lane);
		if (rc == 0)
			return 0;
		if (rc != EBUSY && first == EBUSY)
			first = rc;
	}
	return first;
}

/* Let lane go, and ring one queued slot: its worker may lead next. */
static void
unlock_lane(int lane)
{
	long     i, j, start;
	uint64_t w;

	pthread_mutex_unlock(&seg->lock[lane]);
	start = (long)(turn++ % (unsigned long)seg->nslots);
	for (j = 0; j < seg->nslots; j++) {
		i = (start + j) % seg->nslots;
		w = atomic_load_explicit(&seg->slot[i].word, memory_order_relaxed);
		if (W_STATE(w) == S_QUEUED && i != mine) {
			ring(&seg->slot[i]);
			return;
		}
	}
}

static void
ring(struct slot *s)
{
	atomic_fetch_add_explicit(&s->bell, 1, memory_order_release);
	syscall(SYS_futex, &s->bell, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* Sleep until s is rung after bell was read, or ms pass. */
static void
nap(struct slot *s, uint32_t bell, long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };

	syscall(SYS_futex, &s->bell, FUTEX_WAIT, bell, &t, NULL, 0);
}

static int
failed(struct gcommit_item *out, const char *why)
{
	out->status = STORE_UNAVAILABLE;
	out->duplicate = out->suppressed = 0;
	snprintf(out->why, sizeof(out->why), "%s", why);
	return 0;
}

/* With the lock, our slot taken: take every other document queued for
 * the same key, up to BATCH_MAX and BATCH_BYTES in all, run them, and
 * complete each slot that is still the one taken. A leader without the
 * time one statement may take runs its own alone: a batch cut short by
 * its deadline would fail the others, who may have more. */
static void
lead(struct slot *me, uint32_t g, int lane, const struct timespec *dl, gcommit_run_fn *run,
    void *arg, size_t *batch)
{
	struct gcommit_item items[BATCH_MAX];
	struct slot        *from[BATCH_MAX];
	uint32_t            gens[BATCH_MAX];
	size_t              n = 0, used = 0, total, k, len, keylen, mykeylen;
	long                i, j, start;
	uint64_t            w;
	int                 supp;

	items[n].json = me->doc; /* ours: nobody else writes it */
	from[n] = me;
	gens[n++] = g;
	/* the batch's text: "[", the documents and a comma or "]" after each */
	total = atomic_load_explicit(&me->len, memory_order_relaxed) + 2;
	mykeylen = atomic_load_explicit(&me->keylen, memory_order_relaxed);
	start = (long)(turn++ % (unsigned long)seg->nslots);
	if (deadline_left_ms(dl, LIM_DB_ANSWER_MS) < LIM_DB_ANSWER_MS)
		start = -1;
	for (j = 0; start >= 0 && j < seg->nslots && n < BATCH_MAX; j++) {
		struct slot *s;

		i = (start + j) % seg->nslots;
		s = &seg->slot[i];
		if (s == me)
			continue;
		w = atomic_load_explicit(&s->word, memory_order_acquire);
		if (W_STATE(w) != S_QUEUED)
			continue;
		/* Read before the swap: a slot changed meanwhile has another
		 * generation, and the swap below fails. Its lengths are read
		 * once and checked, so that a document rewritten meanwhile can
		 * make the copy wrong (then thrown away) but never longer. */
		len = atomic_load_explicit(&s->len, memory_order_relaxed);
		keylen = atomic_load_explicit(&s->keylen, memory_order_relaxed);
		if (keylen != mykeylen || memcmp(s->key, me->key, mykeylen) != 0 ||
		    len >= DOC_MAX || total + len + 1 > BATCH_BYTES)
			continue;
		memcpy(lbuf + used, s->doc, len);
		lbuf[used + len] = '\0';
		if (!atomic_compare_exchange_strong(&s->word, &w, W(S_TAKEN, W_GEN(w), lane)))
			continue;
		items[n].json = lbuf + used;
		used += len + 1;
		total += len + 1;
		from[n] = s;
		gens[n++] = W_GEN(w);
	}
	for (k = 0; k < n; k++) {
		items[k].status = STORE_UNAVAILABLE;
		items[k].duplicate = items[k].suppressed = 0;
		items[k].why[0] = '\0';
	}
	run(arg, items, n);
	*batch = n;
	for (k = 0; k < n; k++) {
		supp = items[k].suppressed > SUPP_MAX ? SUPP_MAX : items[k].suppressed;
		/* A taken slot is written by its leader only: its worker waits
		 * for it to be completed before using it again. */
		w = atomic_load_explicit(&from[k]->word, memory_order_relaxed);
		if (w != W(S_TAKEN, gens[k], lane))
			continue; /* cannot happen */
		if (items[k].status != STORE_OK)
			snprintf(from[k]->why, sizeof(from[k]->why), "%s", items[k].why);
		if (atomic_compare_exchange_strong_explicit(&from[k]->word, &w,
		        W(S_DONE, gens[k], RES(items[k].status, items[k].duplicate, supp)),
		        memory_order_release, memory_order_relaxed) &&
		    k > 0)
			ring(from[k]);
	}
}

/* With the lock, after its holder died: what it had taken may or may not
 * be committed. Those workers answer 503; SNS's retry finds out. */
static void
orphans(int lane)
{
	long     i, n = 0;
	uint64_t w;

	for (i = 0; i < seg->nslots; i++) {
		struct slot *s = &seg->slot[i];

		w = atomic_load(&s->word);
		if (W_STATE(w) != S_TAKEN || RES_LANE(w) != lane)
			continue;
		snprintf(
		    s->why, sizeof(s->why), "the worker committing this notification's group died");
		if (atomic_compare_exchange_strong(
		        &s->word, &w, W(S_DONE, W_GEN(w), RES(STORE_UNAVAILABLE, 0, 0)))) {
			ring(s);
			n++;
		}
	}
	log_warnx("group commit: the leader of lane %d died holding it; %ld notification%s it "
	          "held answered 503",
	    lane, n, n == 1 ? "" : "s");
}

static void
outcome(const struct slot *s, uint64_t w, struct gcommit_item *out)
{
	out->status = RES_STATUS(w);
	out->duplicate = RES_DUP(w);
	out->suppressed = RES_SUPP(w);
	if (out->status != STORE_OK)
		snprintf(out->why, sizeof(out->why), "%s", s->why);
	else
		out->why[0] = '\0';
}
