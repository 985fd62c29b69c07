// SPDX-License-Identifier: GPL-2.0-or-later
#include <sys/prctl.h>
#include <time.h>

#include "idle.h"

void idle_setup(void)
{
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
}

void idle_step(struct idle *id, uint64_t work)
{
	struct timespec ts;

	if (work) {
		id->empty = 0;
		id->sleep_ns = IDLE_MIN_SLEEP_NS;
		return;
	}
	if (++id->empty < IDLE_SPINS) {
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#endif
		return;
	}
	ts.tv_sec = 0;
	ts.tv_nsec = id->sleep_ns ? id->sleep_ns : IDLE_MIN_SLEEP_NS;
	nanosleep(&ts, NULL);
	id->sleep_ns = (uint32_t)ts.tv_nsec * 2;
	if (id->sleep_ns > IDLE_MAX_SLEEP_NS)
		id->sleep_ns = IDLE_MAX_SLEEP_NS;
}
