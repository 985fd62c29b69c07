/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Per-instance counters: per queue pair (= middlebox thread) and for the
 * instance's external port and replication link, with a release-delay
 * histogram per queue (dequeue from the guest -> release on the external
 * port, bucket b counts delays in [2^(b-1), 2^b) microseconds, b = 0: < 1 us).
 */
#ifndef VHOST_STATS_H
#define VHOST_STATS_H

#include <stdint.h>

#include "ftmb/region.h"

#define STATS_HIST_BUCKETS 24

struct queue_stats {
	uint64_t inputs;      /* frames handed to the guest (numbered, logged) */
	uint64_t input_waits; /* offers a full guest RX ring refused in part: the
			       * rest waited (and the external port with them) */
	uint64_t not_ready;   /* offers held back: the guest had not said the
			       * queue was ready (region.h) */
	uint64_t skipped;     /* inputs the guest logged as never seen (SKIP) */
	uint64_t outputs;     /* frames taken from the guest */
	uint64_t released;    /* outputs sent to the external port */
	uint64_t suppressed;  /* replica: outputs the primary had released */
	uint64_t pals;        /* PAL records logged from this thread */
	uint64_t held_now;    /* filled in when printing */
	uint64_t delay_hist[STATS_HIST_BUCKETS];
};

struct inst_stats {
	struct queue_stats q[FTMB_MAX_THREADS];
	uint64_t ext_rx;
	uint64_t ext_tx;
	uint64_t ext_tx_drops;
	uint64_t oversize_drops; /* inputs larger than the log can carry */
	uint64_t backpressure;   /* iterations that left input waiting (log room, held
				  * outputs near their bound, external port backlog) */
	uint64_t released_frames;
	uint64_t divergences;    /* replica: a PAL differing from the logged one */
	uint64_t announced;      /* RARP announcements sent (announce.h) */
	uint64_t foreign_txq;    /* outputs a thread sent on another thread's TX queue */
};

static inline void stats_delay(struct queue_stats *q, uint64_t delay_us)
{
	unsigned b = delay_us ? 64 - (unsigned)__builtin_clzll(delay_us) : 0;

	q->delay_hist[b < STATS_HIST_BUCKETS ? b : STATS_HIST_BUCKETS - 1]++;
}

/* Delay in microseconds below which fraction p of the histogram's samples
 * lie (bucket upper bound), or 0 without samples. */
uint64_t stats_hist_quantile(const uint64_t *hist, double p);

#endif
