// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mkregion PATH THREADS: creates a shared region in mode off, so that an
 * example middlebox can run on the host without ftmb-vhost (the traffic
 * tools' checks drive the real monitor and NAT with it).
 */
#include <stdio.h>
#include <stdlib.h>

#include "ftmb/err.h"
#include "host_region.h"

#define RING_SLOTS 1024
#define VARS 8

int main(int argc, char **argv)
{
	struct host_region hr;
	long threads = argc == 3 ? strtol(argv[2], NULL, 10) : 0;
	int rc;

	if (threads < 1 || threads > FTMB_MAX_THREADS) {
		fprintf(stderr, "usage: mkregion PATH THREADS (1 to %d)\n", FTMB_MAX_THREADS);
		return 2;
	}
	rc = host_region_create(&hr, argv[1], (uint32_t)threads, RING_SLOTS, VARS, FTMB_MODE_OFF,
				1);
	if (rc != 0) {
		fprintf(stderr, "mkregion: %s: error %d (%s)\n", argv[1], rc, ftmb_strerror(rc));
		return 1;
	}
	host_region_destroy(&hr);
	return 0;
}
