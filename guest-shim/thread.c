// SPDX-License-Identifier: LGPL-2.1-or-later
/* Worker threads: registration and the append path of their PAL ring. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "shim.h"

void shim_backoff(unsigned *spins)
{
	if (++*spins < 128)
		__builtin_ia32_pause();
	else
		sched_yield();
}

int ftmb_thread_register(struct ftmb *f, uint32_t idx, struct ftmb_thread **out)
{
	struct ftmb_thread *th;

	if (idx >= f->geo.n_threads)
		return FTMB_E_RANGE;
	if (f->registered[idx])
		return -EBUSY;
	th = &f->threads[idx];
	memset(th, 0, sizeof(*th));
	th->f = f;
	th->idx = idx;
	th->pal = ftmb_region_pal_ring(f->base, &f->geo, idx);
	th->replay = ftmb_region_replay_ring(f->base, &f->geo, idx);
	/* A fresh region starts both rings at zero; anything else means the
	 * host did not re-create it for this run. */
	if (__atomic_load_n(&th->pal->head, __ATOMIC_ACQUIRE) != 0)
		return -EBUSY;
	if (getrandom(th->rng, sizeof(th->rng), 0) != sizeof(th->rng))
		return -errno;
	th->rng[0] |= 1;
	f->registered[idx] = true;
	/* From now on the host hands inputs to queue idx (region.h). */
	__atomic_store_n(&ftmb_region_ready(f->base)[idx], 1u, __ATOMIC_RELEASE);
	*out = th;
	return 0;
}

void shim_log_event(struct ftmb_thread *th, struct ftmb_record *rec)
{
	unsigned spins = 0;
	int n;

	rec->counter = th->counter + 1;
	while ((n = ftmb_ring_produce(th->pal, th->f->geo.ring_slots, &th->pal_head, rec, 1)) == 0)
		shim_backoff(&spins);
	if (n < 0) {
		/* Only the host writes the tail: a broken host, nothing to save. */
		fprintf(stderr, "ftmb: thread %u: PAL ring corrupted (%s)\n", th->idx,
			ftmb_strerror(n));
		abort();
	}
	th->counter++;
	th->vc.pal[th->idx] = th->counter;
}

void ftmb_thread_stats(const struct ftmb_thread *th, struct ftmb_thread_stats *st)
{
	st->events = th->counter;
	st->outputs = th->out_seq;
	st->replayed = th->replayed;
	st->skipped = th->skipped;
	st->free = th->free;
}
