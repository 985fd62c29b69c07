// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "ftmb/err.h"
#include "release.h"

int holdq_init(struct holdq *q, uint32_t bound)
{
	uint32_t slots = 1;

	while (slots < bound)
		slots <<= 1;
	q->e = calloc(slots, sizeof(*q->e));
	if (!q->e)
		return -ENOMEM;
	q->bound = bound;
	q->mask = slots - 1;
	q->first = 0;
	q->next = 0;
	return 0;
}

void holdq_free(struct holdq *q)
{
	free(q->e);
	q->e = NULL;
}

int release_check(const struct out_thread *th, const struct ftmb_out_tag *tag,
		  const struct ftmb_vclock *logged, uint32_t n, char *why, size_t why_len)
{
	if (tag->out_seq <= th->last_out_seq) {
		snprintf(why, why_len, "thread %u out_seq %" PRIu64 " after %" PRIu64, tag->thread,
			 tag->out_seq, th->last_out_seq);
		return FTMB_E_SEQ;
	}
	for (uint32_t i = 0; i < n; i++) {
		if (tag->dep.pal[i] > logged->pal[i]) {
			snprintf(why, why_len,
				 "thread %u output %" PRIu64 " depends on PAL %" PRIu64
				 " of thread %u, only %" PRIu64 " logged",
				 tag->thread, tag->out_seq, tag->dep.pal[i], i, logged->pal[i]);
			return FTMB_E_COUNTER;
		}
		if (tag->dep.in[i] > logged->in[i]) {
			snprintf(why, why_len,
				 "thread %u output %" PRIu64 " depends on input %" PRIu64
				 " of queue %u, only %" PRIu64 " logged",
				 tag->thread, tag->out_seq, tag->dep.in[i], i, logged->in[i]);
			return FTMB_E_SEQ;
		}
	}
	return FTMB_OK;
}

/* Queues o unless it may leave at once (covered, nothing held before it). */
static int hold(struct holdq *q, const struct held_output *o, bool covered)
{
	if (holdq_count(q) == 0 && covered)
		return RELEASE_NOW;
	if (holdq_count(q) >= q->bound)
		return FTMB_E_COUNT;
	q->e[q->next & q->mask] = *o;
	q->next++;
	return RELEASE_HELD;
}

int release_admit(struct out_thread *th, const struct held_output *o,
		  const struct ftmb_vclock *durable, uint32_t n)
{
	th->last_out_seq = o->out_seq;
	return hold(&th->held, o, ftmb_vc_covers(durable, &o->dep, n));
}

int release_admit_epoch(struct out_thread *th, const struct held_output *o, uint64_t committed)
{
	return hold(&th->held, o, o->epoch <= committed);
}

void release_done(struct out_thread *th, uint64_t out_seq)
{
	if (out_seq > th->released_seq)
		th->released_seq = out_seq;
}

void release_skip(struct out_thread *th, uint64_t out_seq)
{
	th->last_out_seq = out_seq;
	release_done(th, out_seq);
}

uint32_t release_ready(struct out_thread *th, const struct ftmb_vclock *durable, uint32_t n,
		       struct held_output *out, uint32_t max)
{
	struct holdq *q = &th->held;
	uint32_t k = 0;

	while (k < max && q->first != q->next) {
		const struct held_output *h = &q->e[q->first & q->mask];

		if (!ftmb_vc_covers(durable, &h->dep, n))
			break;
		out[k++] = *h;
		q->first++;
	}
	return k;
}

uint32_t release_ready_epoch(struct out_thread *th, uint64_t committed, struct held_output *out,
			     uint32_t max)
{
	struct holdq *q = &th->held;
	uint32_t k = 0;

	while (k < max && q->first != q->next && q->e[q->first & q->mask].epoch <= committed)
		out[k++] = q->e[q->first++ & q->mask];
	return k;
}

uint32_t release_drain(struct out_thread *th, struct held_output *out, uint32_t max)
{
	struct holdq *q = &th->held;
	uint32_t k = 0;

	while (k < max && q->first != q->next)
		out[k++] = q->e[q->first++ & q->mask];
	return k;
}
