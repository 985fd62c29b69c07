// SPDX-License-Identifier: GPL-2.0-or-later
#include <signal.h>
#include <stdlib.h>
#include <time.h>

#include <rte_ethdev.h>

#include "tport.h"

volatile int tport_quit;

static void on_signal(int sig)
{
	(void)sig;
	tport_quit = 1;
}

void tport_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

uint64_t tport_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void tport_start(uint16_t port, uint16_t nq, struct rte_mempool *pool)
{
	struct rte_eth_conf conf = { 0 };
	int rc = rte_eth_dev_configure(port, nq, nq, &conf);

	for (uint16_t q = 0; !rc && q < nq; q++) {
		rc = rte_eth_rx_queue_setup(port, q, 1024, rte_eth_dev_socket_id(port), NULL, pool);
		if (!rc)
			rc = rte_eth_tx_queue_setup(port, q, 1024, rte_eth_dev_socket_id(port), NULL);
	}
	if (!rc)
		rc = rte_eth_dev_start(port);
	if (rc) {
		fprintf(stderr, "port %u: cannot start with %u queues: %s\n", port, nq,
			rte_strerror(-rc));
		exit(1);
	}
}

uint16_t tport_send_all(uint16_t port, uint16_t q, struct rte_mbuf **pkts, uint16_t n,
			unsigned timeout_ms)
{
	uint64_t deadline = tport_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	uint16_t done = 0;

	while (done < n) {
		done += rte_eth_tx_burst(port, q, pkts + done, n - done);
		if (done == n || tport_now_ns() > deadline || tport_quit)
			break;
		struct timespec ts = { 0, 5000 };

		nanosleep(&ts, NULL);
	}
	rte_pktmbuf_free_bulk(pkts + done, n - done);
	return n - done;
}
