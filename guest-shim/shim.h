/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libftmb internals: the state behind the opaque handles of ftmb.h. */
#ifndef FTMB_SHIM_H
#define FTMB_SHIM_H

#include <pthread.h>
#include <stdbool.h>

#include "ftmb/ftmb.h"
#include "ftmb/ring.h"
#include "ftmb/vclock.h"

#define REPLAY_BATCH 32u

struct ftmb_var {
	pthread_mutex_t mutex;
	uint32_t id;
	uint64_t seq; /* accesses so far; replay waiters read it without the mutex */
	struct ftmb_vclock vc;
} __attribute__((aligned(64)));

struct ftmb_thread {
	struct ftmb *f;
	uint32_t idx;
	uint64_t counter; /* logged events so far */
	uint64_t out_seq; /* outputs tagged so far */
	uint64_t in_seq;  /* the last input seq seen on its own RX queue */
	uint64_t skipped; /* inputs of its queue it never saw (or dropped in replay) */
	struct ftmb_vclock vc;

	struct ftmb_ring *pal;
	uint64_t pal_head;

	struct ftmb_ring *replay;
	uint64_t replay_tail;
	struct ftmb_record replay_buf[REPLAY_BATCH];
	uint32_t replay_len, replay_pos;
	bool free;     /* replay log exhausted (or diverged): run free; an
			* exhausted log is followed again if its host reopens
			* the ring (a second replay, replay.c) */
	bool diverged; /* the code did not match its log */
	uint64_t replayed;

	uint64_t rng[2]; /* xorshift128+ state, seeded once per thread */
} __attribute__((aligned(64)));

struct ftmb {
	void *base;
	size_t map_size;
	struct ftmb_region_geometry geo;
	struct ftmb_region_header *hdr;
	const uint64_t *horizons;
	pthread_mutex_t vars_lock; /* guards creation of vars, not their use */
	struct ftmb_var **vars;
	struct ftmb_thread threads[FTMB_MAX_THREADS];
	bool registered[FTMB_MAX_THREADS];
};

/* The mode the host set in the region: read on every call, because the host
 * switches a restored VM from record to replay behind the guest's back. */
static inline enum ftmb_mode shim_mode(const struct ftmb *f)
{
	return (enum ftmb_mode)__atomic_load_n(&f->hdr->mode, __ATOMIC_ACQUIRE);
}

/* Waits politely: spins a little, then yields the CPU. */
void shim_backoff(unsigned *spins);

/* Appends one event record (its counter is assigned here) to the thread's
 * PAL ring, waiting while the ring is full, and advances the thread's own
 * entry of its vector. */
void shim_log_event(struct ftmb_thread *th, struct ftmb_record *rec);

/* Replay: the thread's next logged record, or NULL when the log is exhausted
 * (the thread then runs free). Waits while the host is still feeding. */
const struct ftmb_record *shim_replay_peek(struct ftmb_thread *th);
void shim_replay_pop(struct ftmb_thread *th);

/* Replay found a record that does not match what the code does: report it
 * once and let the thread run free; the replica is no longer guaranteed
 * consistent, and the host sees it in the PAL stream too. */
void shim_replay_diverged(struct ftmb_thread *th, const struct ftmb_record *logged,
			  const char *what);

#endif
