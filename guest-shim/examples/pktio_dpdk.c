// SPDX-License-Identifier: GPL-2.0-or-later
/* DPDK driver: the first port EAL finds (a virtio-user vdev connected to
 * ftmb-vhost in host-process mode), one RX/TX queue per worker thread. */
#include <errno.h>
#include <glib.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pktio.h"

#define RING_SIZE 1024
#define POOL_SIZE 16383

struct dpdk_io {
	struct pktio io;
	uint16_t port;
	struct rte_mempool *pool;
};

static int start_eal(const char *spec)
{
	gchar **argv = NULL;
	GError *err = NULL;
	gint argc = 0;
	char **full;
	int ret;

	if (!g_shell_parse_argv(spec, &argc, &argv, &err)) {
		fprintf(stderr, "dpdk: cannot parse EAL arguments '%s': %s\n", spec, err->message);
		g_error_free(err);
		return -EINVAL;
	}
	/* EAL wants a program name first and may keep pointers into argv. */
	full = calloc((size_t)argc + 2, sizeof(*full));
	full[0] = "ftmb-mb";
	for (int i = 0; i < argc; i++)
		full[i + 1] = argv[i];
	ret = rte_eal_init(argc + 1, full);
	if (ret < 0) {
		fprintf(stderr, "dpdk: EAL init failed: %s\n", rte_strerror(rte_errno));
		return -rte_errno;
	}
	return 0;
}

static int setup_port(struct dpdk_io *d, uint32_t n_queues)
{
	struct rte_eth_conf conf = { 0 };
	struct rte_ether_addr mac;
	int ret;

	if (rte_eth_dev_count_avail() == 0) {
		fprintf(stderr, "dpdk: no port; pass --vdev=net_virtio_user0,path=...\n");
		return -ENODEV;
	}
	d->port = 0;
	d->pool = rte_pktmbuf_pool_create("mb_pool", POOL_SIZE, 256, 0,
					  RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (!d->pool)
		return -rte_errno;
	ret = rte_eth_dev_configure(d->port, (uint16_t)n_queues, (uint16_t)n_queues, &conf);
	for (uint16_t q = 0; ret == 0 && q < n_queues; q++) {
		ret = rte_eth_rx_queue_setup(d->port, q, RING_SIZE, rte_socket_id(), NULL, d->pool);
		if (ret == 0)
			ret = rte_eth_tx_queue_setup(d->port, q, RING_SIZE, rte_socket_id(), NULL);
	}
	if (ret == 0)
		ret = rte_eth_dev_start(d->port);
	if (ret == 0)
		ret = rte_eth_macaddr_get(d->port, &mac);
	if (ret == 0)
		memcpy(d->io.mac.b, mac.addr_bytes, sizeof(d->io.mac.b));
	if (ret < 0)
		fprintf(stderr, "dpdk: port setup with %u queues failed: %s\n", n_queues,
			rte_strerror(-ret));
	return ret;
}

/* Stops the port but does not close it or clean EAL up: the process is about
 * to exit, and DPDK 22.11's memif PMD can crash closing a port whose peer is
 * (re)connecting at that moment (seen in tests/traffic/traffic-mb.sh). */
static void dpdk_close(struct pktio *io)
{
	struct dpdk_io *d = (struct dpdk_io *)io;

	rte_eth_dev_stop(d->port);
	free(d);
}

static int dpdk_open(const char *spec, uint32_t n_queues, struct pktio **out)
{
	struct dpdk_io *d = calloc(1, sizeof(*d));
	int ret;

	if (!d)
		return -ENOMEM;
	d->io.drv = &pktio_dpdk_driver;
	d->io.n_queues = n_queues;
	ret = start_eal(spec);
	if (ret == 0)
		ret = setup_port(d, n_queues);
	if (ret) {
		free(d);
		return ret;
	}
	*out = &d->io;
	return 0;
}

static uint32_t dpdk_rx(struct pktio *io, uint32_t q, struct pktio_buf *bufs, uint32_t max)
{
	struct dpdk_io *d = (struct dpdk_io *)io;
	struct rte_mbuf *m[PKTIO_BURST];
	uint16_t n = rte_eth_rx_burst(d->port, (uint16_t)q, m,
				      (uint16_t)(max < PKTIO_BURST ? max : PKTIO_BURST));
	uint32_t kept = 0;

	for (uint16_t i = 0; i < n; i++) {
		if (m[i]->nb_segs != 1) { /* the middleboxes want contiguous frames */
			rte_pktmbuf_free(m[i]);
			continue;
		}
		bufs[kept++] = (struct pktio_buf){ .data = rte_pktmbuf_mtod(m[i], uint8_t *),
						   .len = m[i]->data_len,
						   .room = (uint32_t)m[i]->data_len +
							   rte_pktmbuf_tailroom(m[i]),
						   .priv = m[i] };
	}
	return kept;
}

static uint32_t dpdk_tx(struct pktio *io, uint32_t q, struct pktio_buf *bufs, uint32_t n)
{
	struct dpdk_io *d = (struct dpdk_io *)io;
	struct rte_mbuf *m[PKTIO_BURST];
	uint16_t sent;

	if (n > PKTIO_BURST)
		n = PKTIO_BURST;
	for (uint32_t i = 0; i < n; i++) {
		m[i] = bufs[i].priv;
		m[i]->data_len = (uint16_t)bufs[i].len;
		m[i]->pkt_len = bufs[i].len;
	}
	sent = rte_eth_tx_burst(d->port, (uint16_t)q, m, (uint16_t)n);
	return sent; /* the rest stay the caller's, their lengths set */
}

static void dpdk_drop(struct pktio *io, uint32_t q, struct pktio_buf *buf)
{
	(void)io, (void)q;
	rte_pktmbuf_free(buf->priv);
}

/* Workers are plain pthreads: registering gives each an lcore id, and so a
 * mempool cache of its own. */
static int dpdk_thread_init(struct pktio *io, uint32_t q)
{
	(void)io, (void)q;
	return rte_thread_register();
}

const struct pktio_driver pktio_dpdk_driver = {
	.name = "dpdk",
	.open = dpdk_open,
	.rx = dpdk_rx,
	.tx = dpdk_tx,
	.drop = dpdk_drop,
	.thread_init = dpdk_thread_init,
	.close = dpdk_close,
};
