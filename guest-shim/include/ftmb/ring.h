/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Single-producer/single-consumer record rings in shared memory.
 *
 * Each side keeps its own cursor in private memory and only publishes it
 * into the ring: the producer never trusts the ring's head, the consumer
 * never trusts its tail, because the other side (possibly hostile) can
 * overwrite both. The consumer copies records out before anyone validates
 * them, so a producer cannot change a record after it has been checked.
 */
#ifndef FTMB_RING_H
#define FTMB_RING_H

#include <stdint.h>

#include "ftmb/region.h"

/* Publishes up to n records after *head. Returns how many were published
 * (0 when the ring is full), or FTMB_E_INDEX when the consumer's tail
 * is impossible (ahead of *head or more than a ring behind). */
int ftmb_ring_produce(struct ftmb_ring *ring, uint32_t slots, uint64_t *head,
		      const struct ftmb_record *recs, uint32_t n);

/* Copies up to max records after *tail into out and retires them. Returns
 * how many were copied, or FTMB_E_INDEX when the producer's head is
 * impossible (behind *tail or more than a ring ahead). */
int ftmb_ring_consume(struct ftmb_ring *ring, uint32_t slots, uint64_t *tail,
		      struct ftmb_record *out, uint32_t max);

/* Records published but not yet consumed, as seen by the consumer; negative
 * (FTMB_E_INDEX) when the head is impossible. */
int64_t ftmb_ring_pending(const struct ftmb_ring *ring, uint32_t slots, uint64_t tail);

#endif
