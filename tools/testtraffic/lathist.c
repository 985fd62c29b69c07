// SPDX-License-Identifier: GPL-2.0-or-later
/* Log-linear latency histogram. */
#include <math.h>
#include <string.h>

#include "lathist.h"

#define SUB (1u << LATHIST_SUB_BITS)

static unsigned bucket_of(uint64_t v)
{
	unsigned msb, shift;

	if (v < SUB)
		return (unsigned)v;
	msb = 63u - (unsigned)__builtin_clzll(v);
	if (msb >= LATHIST_MAX_EXP)
		return LATHIST_BUCKETS - 1;
	shift = msb - LATHIST_SUB_BITS;
	/* Buckets [SUB, 2*SUB) hold msb == SUB_BITS, and so on upwards. */
	return ((shift + 1) << LATHIST_SUB_BITS) + (unsigned)((v >> shift) & (SUB - 1));
}

static uint64_t bucket_mid(unsigned b)
{
	unsigned shift;
	uint64_t low;

	if (b < SUB)
		return b;
	shift = (b >> LATHIST_SUB_BITS) - 1;
	low = (uint64_t)(SUB + (b & (SUB - 1))) << shift;
	return low + ((1ull << shift) >> 1);
}

void lathist_init(struct lathist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

void lathist_add(struct lathist *h, uint64_t ns)
{
	h->counts[bucket_of(ns)]++;
	h->n++;
	h->sum += (double)ns;
	if (ns < h->min)
		h->min = ns;
	if (ns > h->max)
		h->max = ns;
}

uint64_t lathist_quantile(const struct lathist *h, double q)
{
	uint64_t rank, seen = 0, v;

	if (h->n == 0)
		return 0;
	rank = (uint64_t)ceil(q * (double)h->n);
	if (rank < 1)
		rank = 1;
	if (rank >= h->n)
		return h->max;
	for (unsigned b = 0; b < LATHIST_BUCKETS; b++) {
		seen += h->counts[b];
		if (seen >= rank) {
			v = bucket_mid(b);
			/* The midpoint may lie outside what was seen. */
			return v < h->min ? h->min : v > h->max ? h->max : v;
		}
	}
	return h->max;
}

double lathist_mean(const struct lathist *h)
{
	return h->n ? h->sum / (double)h->n : 0.0;
}
