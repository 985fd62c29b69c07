/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Which sequence numbers of each flow have arrived: one bit per (flow, seq),
 * so that a duplicate (the same flow and seq again, as a replica may release
 * after a failover) is told apart from a new packet, and so that loss can be
 * counted exactly over any range of sequence numbers, however late the
 * packets arrive.
 *
 * Flow ids and sequence numbers come from the wire; those beyond the bounds
 * given at creation are refused (FLOWTRACK_OUT_OF_RANGE) instead of growing
 * memory without limit.
 */
#ifndef FTMB_FLOWTRACK_H
#define FTMB_FLOWTRACK_H

#include <stdint.h>

enum flowtrack_mark {
	FLOWTRACK_NEW,
	FLOWTRACK_DUPLICATE,
	FLOWTRACK_OUT_OF_RANGE,
};

struct flowtrack;

/* Flows 0..max_flows-1 and sequence numbers 1..max_seq are tracked. */
struct flowtrack *flowtrack_new(uint32_t max_flows, uint64_t max_seq);
void flowtrack_free(struct flowtrack *ft);

enum flowtrack_mark flowtrack_mark(struct flowtrack *ft, uint32_t flow, uint64_t seq);

/* One past the largest flow id marked so far. */
uint32_t flowtrack_flows(const struct flowtrack *ft);

/* The largest seq marked in flow (0 if none). */
uint64_t flowtrack_max_seq(const struct flowtrack *ft, uint32_t flow);

/* Holes of a flow's sequence range [first, last]. */
struct flowtrack_holes {
	uint64_t missing;      /* sequence numbers not received */
	uint64_t runs;         /* maximal runs of consecutive missing ones */
	uint64_t largest_run;
	uint64_t first_missing; /* 0 when none */
};

void flowtrack_holes(const struct flowtrack *ft, uint32_t flow, uint64_t first, uint64_t last,
		     struct flowtrack_holes *out);

#endif
