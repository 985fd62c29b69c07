// SPDX-License-Identifier: GPL-2.0-or-later
/* Schedule-based rate pacing. */
#include <math.h>

#include "pacer.h"

void pacer_init(struct pacer *p, uint64_t hz, double rate, uint64_t now, uint64_t max_lag)
{
	*p = (struct pacer){ .hz = hz, .rate = rate, .start = now, .max_lag = max_lag };
}

/* Packets the schedule has released by tick `now` (packet 0 at start). */
static uint64_t scheduled(const struct pacer *p, uint64_t now)
{
	if (now < p->start)
		return 0;
	return (uint64_t)((double)(now - p->start) * p->rate / (double)p->hz) + 1;
}

uint64_t pacer_due(struct pacer *p, uint64_t now)
{
	uint64_t owed;

	if (p->rate <= 0)
		return UINT64_MAX;
	owed = scheduled(p, now);
	owed = owed > p->issued ? owed - p->issued : 0;
	if (owed > p->max_lag) {
		p->skipped += owed - p->max_lag;
		p->issued += owed - p->max_lag;
		owed = p->max_lag;
	}
	return owed;
}

void pacer_sent(struct pacer *p, uint64_t n)
{
	p->issued += n;
}

uint64_t pacer_wait(const struct pacer *p, uint64_t now)
{
	uint64_t due_at;

	if (p->rate <= 0)
		return 0;
	due_at = p->start + (uint64_t)ceil((double)p->issued * (double)p->hz / p->rate);
	return due_at > now ? due_at - now : 0;
}
