/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Adaptive backoff for a polling loop that shares its cores: after a few
 * empty iterations it yields the CPU with growing sleeps (up to
 * IDLE_MAX_SLEEP_NS), and any work snaps it back to pure polling.
 * Call idle_setup() once per process (sets PR_SET_TIMERSLACK to 1 ns so the
 * short sleeps are not stretched to the default 50 us slack).
 */
#ifndef VHOST_IDLE_H
#define VHOST_IDLE_H

#include <stdint.h>

#define IDLE_SPINS 64u
#define IDLE_MIN_SLEEP_NS 1000u
#define IDLE_MAX_SLEEP_NS 64000u

struct idle {
	uint32_t empty;    /* consecutive iterations without work */
	uint32_t sleep_ns; /* next sleep */
};

void idle_setup(void);

/* Call once per loop iteration with the amount of work it did. */
void idle_step(struct idle *id, uint64_t work);

#endif
