// SPDX-License-Identifier: GPL-2.0-or-later
/* Spin, then doubling sleeps, for idle polling loops. */
#include "backoff.h"

#define FIRST_SLEEP_NS 1000

void backoff_init(struct backoff *b, uint64_t spin_ns, uint64_t max_sleep_ns, uint64_t now_ns)
{
	*b = (struct backoff){ .spin_ns = spin_ns, .max_sleep_ns = max_sleep_ns };
	backoff_work(b, now_ns);
}

void backoff_work(struct backoff *b, uint64_t now_ns)
{
	b->last_work_ns = now_ns;
	b->next_sleep_ns = FIRST_SLEEP_NS;
}

uint64_t backoff_idle(struct backoff *b, uint64_t now_ns)
{
	uint64_t idle = now_ns - b->last_work_ns, cap = b->max_sleep_ns, s;

	if (b->max_sleep_ns == 0 || idle < b->spin_ns)
		return 0;
	if (idle >= BACKOFF_DEEP_IDLE_NS && cap < BACKOFF_DEEP_SLEEP_NS)
		cap = BACKOFF_DEEP_SLEEP_NS;
	s = b->next_sleep_ns < cap ? b->next_sleep_ns : cap;
	if (b->next_sleep_ns < cap)
		b->next_sleep_ns *= 2;
	return s;
}
