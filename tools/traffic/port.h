/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The one DPDK port ftmb-traffic drives: one RX and one TX queue. */
#ifndef FTMB_TRAFFIC_PORT_H
#define FTMB_TRAFFIC_PORT_H

#include <glib.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

struct rte_mempool;

struct traffic_port {
	uint16_t id;
	char name[64];
	uint8_t mac[6];
	struct rte_mempool *pool;
	bool started;
	int start_rc;
	bool client; /* a memif client: reconnects by restarting */
	uint64_t next_retry_ns;
};

/*
 * Finds the port (the one named by devargs, or the only one), creates its
 * mbuf pool, configures it and tries to start it. FALSE and *err when that
 * fails; a port that does not start yet (a memif client whose server is not
 * there) is retried by traffic_port_wait_link and traffic_port_restart.
 */
gboolean traffic_port_open(struct traffic_port *p, const char *devargs, GError **err);

bool traffic_port_link_up(const struct traffic_port *p);

/*
 * Called while the link is down (for down_ns so far): starts a port that
 * did not start, and restarts a memif client, which connects to its server
 * only when started: this is how it finds a server that started late or was
 * replaced. Within a fraction of a second of the server's return; a memif
 * server is the better role for a peer that gets replaced. Other ports that
 * did start are left alone (restarting a memif server would drop a client
 * that is just connecting).
 */
void traffic_port_reconnect(struct traffic_port *p, uint64_t now_ns, uint64_t down_ns);

/* Waits up to timeout_s for the link, reconnecting as above; returns
 * whether it came up. stop_flag ends the wait early when it becomes set. */
bool traffic_port_wait_link(struct traffic_port *p, double timeout_s,
			    const volatile sig_atomic_t *stop_flag);

#endif
