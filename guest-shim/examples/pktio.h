/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A small packet-I/O layer for the example middleboxes: N queue pairs, burst
 * receive and send, one queue pair per worker thread. Drivers:
 *   dpdk      any DPDK port (virtio-user to ftmb-vhost in host-process mode,
 *             the virtio PMD in a VM); options are EAL arguments
 *   afpacket  a kernel NIC (a VM guest's virtio-net): one AF_PACKET socket
 *             per queue pair, each worker pinned where the kernel sends
 *             its frames out on its own TX queue (pktio_afpacket.c)
 *
 * A received buffer belongs to the caller until it is sent or dropped; a
 * buffer has room bytes of space from data (for the output tag).
 */
#ifndef MB_PKTIO_H
#define MB_PKTIO_H

#include <stdint.h>

#include "eth.h"

#define PKTIO_BURST 32u

struct pktio_buf {
	uint8_t *data;
	uint32_t len;
	uint32_t room;
	void *priv;
};

struct pktio;

struct pktio_driver {
	const char *name;
	/* opens the device described by spec with n_queues queue pairs */
	int (*open)(const char *spec, uint32_t n_queues, struct pktio **out);
	uint32_t (*rx)(struct pktio *io, uint32_t q, struct pktio_buf *bufs, uint32_t max);
	/* sends what the device takes now of n buffers, in order; returns how
	 * many it took (a frame it refuses for good counts as taken: it is
	 * dropped); the rest are still the caller's */
	uint32_t (*tx)(struct pktio *io, uint32_t q, struct pktio_buf *bufs, uint32_t n);
	void (*drop)(struct pktio *io, uint32_t q, struct pktio_buf *buf);
	/* optional: sleeps until queue q has a frame, or timeout_us passed */
	void (*wait)(struct pktio *io, uint32_t q, uint32_t timeout_us);
	/* called once from each worker thread before it touches its queue */
	int (*thread_init)(struct pktio *io, uint32_t q);
	void (*close)(struct pktio *io);
};

struct pktio {
	const struct pktio_driver *drv;
	uint32_t n_queues;
	struct eth_addr mac; /* the NIC's address, read once when opened */
};

extern const struct pktio_driver pktio_afpacket_driver;
extern const struct pktio_driver pktio_dpdk_driver;

/* Opens "driver:spec", e.g. "afpacket:eth0" or
 * "dpdk:-l 0 --no-huge -m 256 --vdev=net_virtio_user0,path=/run/x.sock,queues=2". */
int pktio_open(const char *driver_spec, uint32_t n_queues, struct pktio **out);

static inline uint32_t pktio_rx(struct pktio *io, uint32_t q, struct pktio_buf *b, uint32_t max)
{
	return io->drv->rx(io, q, b, max);
}

static inline uint32_t pktio_tx(struct pktio *io, uint32_t q, struct pktio_buf *b, uint32_t n)
{
	return io->drv->tx(io, q, b, n);
}

static inline void pktio_drop(struct pktio *io, uint32_t q, struct pktio_buf *b)
{
	io->drv->drop(io, q, b);
}

static inline void pktio_close(struct pktio *io)
{
	io->drv->close(io);
}

#endif
