/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Small helpers shared by the vhost test programs (test-guest, test-ext). */
#ifndef TPORT_H
#define TPORT_H

#include <stdint.h>
#include <stdio.h>

#include <rte_mbuf.h>

/* Starts port with nq RX and TX queues. Exits with a message on failure. */
void tport_start(uint16_t port, uint16_t nq, struct rte_mempool *pool);

/* Sends all n frames, retrying (with short sleeps) while the port is full,
 * for at most timeout_ms; frees and returns the count of those not sent. */
uint16_t tport_send_all(uint16_t port, uint16_t q, struct rte_mbuf **pkts, uint16_t n,
			unsigned timeout_ms);

uint64_t tport_now_ns(void);

/* A flag set by SIGINT/SIGTERM. */
extern volatile int tport_quit;
void tport_signals(void);

#endif
