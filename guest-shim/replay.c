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
		th->diverged = true; /* for good: see shim_replay_peek */
		th->free = true;
		return false;
	}
	th->replay_len = (uint32_t)n;
	th->replay_pos = 0;
	return n > 0;
}

/*
 * A thread that ran free may have to follow its ring again: a VM replica
 * that went live and was checkpointed carries its threads' free flags in
 * guest memory, and when that checkpoint is restored for a second replay
 * the new host reopens the rings (closed back to 0) and pushes the new log
 * after the old records. A free thread pays a load or two of words its
 * host rarely writes (closed, then the head of a closed ring). A thread that
 * diverged (or found its ring corrupt) stays free: its replica no longer
 * follows the log, and its host does not re-protect it (ftmb-vhost keeps
 * the region in replay mode, region.h).
 */
static bool replay_reopened(struct ftmb_thread *th)
{
	if (th->diverged)
		return false;
	if (!__atomic_load_n(&th->replay->closed, __ATOMIC_ACQUIRE))
		return true;
	return __atomic_load_n(&th->replay->head, __ATOMIC_ACQUIRE) != th->replay_tail;
}

const struct ftmb_record *shim_replay_peek(struct ftmb_thread *th)
{
	unsigned spins = 0;

	if (th->free && replay_reopened(th))
		th->free = false;
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
