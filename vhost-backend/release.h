/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The output logger's decision: may this output leave now, or must it wait
 * until the backup holds everything it depends on?
 *
 * Each middlebox thread's outputs carry non-decreasing dependency vectors,
 * so one FIFO per thread, released from its head while the durable vector
 * covers the head's dep, releases in the only order that can matter. An
 * output whose thread has nothing held and whose dep is already durable
 * leaves at once.
 *
 * Mode checkpoint (the Remus-style baseline) uses the same per-queue FIFOs
 * with another rule: an output taken from the guest after cut E-1 leaves
 * once the backup has committed the checkpoint of epoch E (or a later one),
 * the first checkpoint that holds the state it came from.
 *
 * Pure logic: packets are opaque pointers here.
 */
#ifndef VHOST_RELEASE_H
#define VHOST_RELEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ftmb/tag.h"
#include "ftmb/vclock.h"

struct held_output {
	void *pkt;
	uint64_t out_seq;
	uint64_t t_dequeue; /* when it left the guest, for the delay histogram */
	uint64_t epoch;     /* mode checkpoint: the commit that releases it */
	struct ftmb_vclock dep;
};

struct holdq {
	struct held_output *e;
	uint32_t bound; /* at most this many held */
	uint32_t mask;  /* storage slots - 1 */
	uint64_t first; /* oldest held */
	uint64_t next;  /* where the next one goes */
};

/* One middlebox thread as the output logger sees it. */
struct out_thread {
	struct holdq held;
	uint64_t last_out_seq; /* highest out_seq accepted */
	uint64_t released_seq; /* every output up to this one has left */
};

enum release_verdict {
	RELEASE_NOW = 1,
	RELEASE_HELD = 2,
};

/* bound >= 1. Returns 0 or -ENOMEM. */
int holdq_init(struct holdq *q, uint32_t bound);
void holdq_free(struct holdq *q);

static inline uint32_t holdq_count(const struct holdq *q)
{
	return (uint32_t)(q->next - q->first);
}

/* Checks an output's tag against what was logged so far: out_seq must grow
 * strictly per thread, dep may name only logged PALs (logged->pal) and
 * logged inputs (logged->in). Returns FTMB_OK, or an enum ftmb_err with a
 * human explanation in why. */
int release_check(const struct out_thread *th, const struct ftmb_out_tag *tag,
		  const struct ftmb_vclock *logged, uint32_t n, char *why, size_t why_len);

/* Admits a checked output: RELEASE_NOW (nothing held before it and durable
 * covers its dep; the caller sends it), RELEASE_HELD (queued), or
 * FTMB_E_COUNT when the thread already holds its bound. */
int release_admit(struct out_thread *th, const struct held_output *o,
		  const struct ftmb_vclock *durable, uint32_t n);

/* Records that output out_seq of the thread has left (released or
 * suppressed), for the RELEASED watermark. */
void release_done(struct out_thread *th, uint64_t out_seq);

/* Accepts a checked output that must not leave (a replica suppressing what
 * the primary released) and counts it as gone. */
void release_skip(struct out_thread *th, uint64_t out_seq);

/* Pops up to max held outputs from the head of the thread's queue whose dep
 * durable covers, into out. Returns how many. */
uint32_t release_ready(struct out_thread *th, const struct ftmb_vclock *durable, uint32_t n,
		       struct held_output *out, uint32_t max);

/* Mode checkpoint: admits an output that needs the commit of o->epoch:
 * RELEASE_NOW when nothing is held before it and committed covers it,
 * RELEASE_HELD, or FTMB_E_COUNT when the queue holds its bound. */
int release_admit_epoch(struct out_thread *th, const struct held_output *o, uint64_t committed);

/* Mode checkpoint: pops up to max held outputs from the head whose epoch
 * the committed epoch covers. Returns how many. */
uint32_t release_ready_epoch(struct out_thread *th, uint64_t committed, struct held_output *out,
			     uint32_t max);

/* Pops up to max held outputs whatever their dep (to drop them). */
uint32_t release_drain(struct out_thread *th, struct held_output *out, uint32_t max);

#endif
