/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Idle backoff for a polling loop on shared cores: after the last useful
 * work, keep polling for spin_ns (a reply is often on its way), then sleep
 * for doubling intervals from 1 us up to max_sleep_ns. After
 * BACKOFF_DEEP_IDLE_NS without any work the loop is idle, not between
 * packets, and the sleeps grow on to BACKOFF_DEEP_SLEEP_NS, so that an idle
 * sink costs next to nothing. Any work resets it.
 *
 * What it adds to a measured latency: while traffic flows, at most one
 * sleep (max_sleep_ns) plus the kernel's wake-up delay; for the first
 * packet after a silence, up to BACKOFF_DEEP_SLEEP_NS.
 */
#ifndef FTMB_BACKOFF_H
#define FTMB_BACKOFF_H

#include <stdint.h>

#define BACKOFF_DEEP_IDLE_NS 10000000ull /* 10 ms */
#define BACKOFF_DEEP_SLEEP_NS 250000ull  /* 250 us */

struct backoff {
	uint64_t spin_ns;
	uint64_t max_sleep_ns; /* 0: never sleep (busy polling) */
	uint64_t last_work_ns;
	uint64_t next_sleep_ns;
};

void backoff_init(struct backoff *b, uint64_t spin_ns, uint64_t max_sleep_ns, uint64_t now_ns);

/* The loop did something useful at now_ns. */
void backoff_work(struct backoff *b, uint64_t now_ns);

/* The loop found nothing to do: how long to sleep now (0 = poll again). */
uint64_t backoff_idle(struct backoff *b, uint64_t now_ns);

#endif
