/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Rate pacing against a schedule: packet k is due at start + k / rate. The
 * sender asks how many packets are due now, sends what it can and reports
 * it; when ahead of schedule it asks how long to wait and sleeps that long.
 * A sender that falls behind (a full TX ring, a link that went down) does
 * not make it up later in one burst: what is owed beyond max_lag packets is
 * written off as skipped, so the offered load stays the configured rate.
 *
 * Time is in ticks of any clock with a known frequency (the TSC in the
 * generator, anything in the unit tests).
 */
#ifndef FTMB_PACER_H
#define FTMB_PACER_H

#include <stdint.h>

struct pacer {
	uint64_t hz;
	double rate; /* packets per second; 0 = as fast as possible */
	uint64_t start;
	uint64_t issued;  /* packets sent or skipped: the schedule's position */
	uint64_t skipped; /* packets the schedule owed but could not be sent */
	uint64_t max_lag;
};

void pacer_init(struct pacer *p, uint64_t hz, double rate, uint64_t now, uint64_t max_lag);

/* Packets that may be sent now; UINT64_MAX when unpaced. */
uint64_t pacer_due(struct pacer *p, uint64_t now);

/* n of the due packets were sent. */
void pacer_sent(struct pacer *p, uint64_t n);

/* Ticks until the next packet is due; 0 when one is due now or unpaced. */
uint64_t pacer_wait(const struct pacer *p, uint64_t now);

#endif
