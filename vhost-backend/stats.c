// SPDX-License-Identifier: GPL-2.0-or-later
#include "stats.h"

uint64_t stats_hist_quantile(const uint64_t *hist, double p)
{
	uint64_t total = 0, seen = 0;

	for (int b = 0; b < STATS_HIST_BUCKETS; b++)
		total += hist[b];
	if (!total)
		return 0;
	for (int b = 0; b < STATS_HIST_BUCKETS; b++) {
		seen += hist[b];
		if ((double)seen >= p * (double)total)
			return 1ull << b;
	}
	return 1ull << (STATS_HIST_BUCKETS - 1);
}
