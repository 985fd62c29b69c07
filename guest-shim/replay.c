// SPDX-License-Identifier: LGPL-2.1-or-later
/* Reading a replica thread's log from its replay ring. */
#include <stdio.h>

#include "shim.h"

static bool refill(struct ftmb_thread *th)
{
	int n = ftmb_ring_consume(th->replay, th->f->geo.ring_slots, &th->replay_tail,
				  th->replay_buf, REPLAY_BATCH);

	if (n < 0) {
		fprintf(stderr, "ftmb: thread %u: replay ring corrupted (%s), running free\n",
			th->idx, ftmb_strerror(n));
		th->free = true;
		return false;
	}
	th->replay_len = (uint32_t)n;
	th->replay_pos = 0;
	return n > 0;
}

const struct ftmb_record *shim_replay_peek(struct ftmb_thread *th)
{
	unsigned spins = 0;

	while (!th->free && th->replay_pos == th->replay_len) {
		/* Read closed before looking for records: the host publishes every
		 * record before it closes, so an empty ring after closed is final. */
		bool closed = __atomic_load_n(&th->replay->closed, __ATOMIC_ACQUIRE);

		if (refill(th))
			break;
		if (closed)
			th->free = true;
		else
			shim_backoff(&spins);
	}
	return th->free ? NULL : &th->replay_buf[th->replay_pos];
}

void shim_replay_pop(struct ftmb_thread *th)
{
	th->replay_pos++;
	th->replayed++;
}

void shim_replay_diverged(struct ftmb_thread *th, const struct ftmb_record *logged,
			  const char *what)
{
	fprintf(stderr,
		"ftmb: thread %u diverged from its log at event %llu: logged type %u var %u "
		"seq %llu, the code did %s; running free\n",
		th->idx, (unsigned long long)th->counter + 1, logged->type, logged->var,
		(unsigned long long)logged->seq, what);
	th->diverged = true;
	th->free = true;
}
