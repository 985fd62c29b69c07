// SPDX-License-Identifier: LGPL-2.1-or-later
#include <string.h>

#include "ftmb/ring.h"

/* A counter published by the other side is plausible only if it lies within
 * one ring of our own. */
static int distance_ok(uint64_t ahead, uint64_t behind, uint32_t slots)
{
	return ahead >= behind && ahead - behind <= slots;
}

int ftmb_ring_produce(struct ftmb_ring *ring, uint32_t slots, uint64_t *head,
		      const struct ftmb_record *recs, uint32_t n)
{
	uint64_t tail = __atomic_load_n(&ring->tail, __ATOMIC_ACQUIRE);
	uint64_t h = *head;
	uint32_t room, i;

	if (!distance_ok(h, tail, slots))
		return FTMB_E_INDEX;
	room = slots - (uint32_t)(h - tail);
	if (n > room)
		n = room;
	for (i = 0; i < n; i++)
		ring->slot[(h + i) & (slots - 1)] = recs[i];
	*head = h + n;
	__atomic_store_n(&ring->head, *head, __ATOMIC_RELEASE);
	return (int)n;
}

int64_t ftmb_ring_pending(const struct ftmb_ring *ring, uint32_t slots, uint64_t tail)
{
	uint64_t head = __atomic_load_n(&ring->head, __ATOMIC_ACQUIRE);

	if (!distance_ok(head, tail, slots))
		return FTMB_E_INDEX;
	return (int64_t)(head - tail);
}

int ftmb_ring_consume(struct ftmb_ring *ring, uint32_t slots, uint64_t *tail,
		      struct ftmb_record *out, uint32_t max)
{
	int64_t ready = ftmb_ring_pending(ring, slots, *tail);
	uint64_t t = *tail;
	uint32_t n, i;

	if (ready < 0)
		return (int)ready;
	n = ready < max ? (uint32_t)ready : max;
	for (i = 0; i < n; i++)
		memcpy(&out[i], &ring->slot[(t + i) & (slots - 1)], sizeof(out[i]));
	*tail = t + n;
	__atomic_store_n(&ring->tail, *tail, __ATOMIC_RELEASE);
	return (int)n;
}
