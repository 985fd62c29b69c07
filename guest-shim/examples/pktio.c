// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pktio.h"

/* Weak, so that a binary built without DPDK (the static guest binaries) links
 * without that driver and simply does not offer it. */
extern const struct pktio_driver pktio_dpdk_driver __attribute__((weak));

int pktio_open(const char *driver_spec, uint32_t n_queues, struct pktio **out)
{
	const struct pktio_driver *drivers[] = { &pktio_afpacket_driver, &pktio_dpdk_driver };
	const char *colon = strchr(driver_spec, ':');
	size_t name_len = colon ? (size_t)(colon - driver_spec) : strlen(driver_spec);

	for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++) {
		const struct pktio_driver *d = drivers[i];

		if (d && strlen(d->name) == name_len && !strncmp(d->name, driver_spec, name_len))
			return d->open(colon ? colon + 1 : "", n_queues, out);
	}
	fprintf(stderr, "pktio: no driver '%.*s' in this build (afpacket%s)\n", (int)name_len,
		driver_spec, &pktio_dpdk_driver ? ", dpdk" : "");
	return -ENOENT;
}
