/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A latency histogram with bounded relative error: values below 128 ns are
 * exact, larger ones fall in log-linear buckets 1/128 of their power of two
 * wide, so a reported percentile is within 0.4% of the true sample (it is the
 * bucket's midpoint). Min, max and mean are exact. Fixed size, no allocation
 * on the packet path.
 */
#ifndef FTMB_LATHIST_H
#define FTMB_LATHIST_H

#include <stdint.h>

#define LATHIST_SUB_BITS 7
#define LATHIST_MAX_EXP 42 /* values from 2^42 ns (73 min) land in the top bucket */
#define LATHIST_BUCKETS ((LATHIST_MAX_EXP - LATHIST_SUB_BITS + 1) << LATHIST_SUB_BITS)

struct lathist {
	uint64_t n;
	uint64_t min;
	uint64_t max;
	double sum;
	uint64_t counts[LATHIST_BUCKETS];
};

void lathist_init(struct lathist *h);
void lathist_add(struct lathist *h, uint64_t ns);

/* The q-quantile (0 < q <= 1) by nearest rank: the smallest sample with at
 * least q of all samples at or below it, to the histogram's precision; the
 * exact max for q = 1; 0 when empty. */
uint64_t lathist_quantile(const struct lathist *h, double q);

double lathist_mean(const struct lathist *h);

#endif
