// SPDX-License-Identifier: GPL-2.0-or-later
/* Port set-up for ftmb-traffic. */
#include <rte_ethdev.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <string.h>
#include <time.h>

#include "port.h"

#define POOL_MBUFS 8191
#define POOL_CACHE 256
#define RING_DESC 1024
/*
 * The memif PMD handles its control channel in EAL's interrupt thread and
 * does not expect the device to be stopped while it does: a client is
 * restarted only after its link has been down for SETTLE_NS, at most every
 * RETRY_NS while its server is absent (connect fails before anything is
 * set up), and HANDSHAKE_NS after a connection that did not bring the link
 * up.
 */
#define SETTLE_NS 100000000
#define RETRY_NS 50000000
#define HANDSHAKE_NS 250000000

static gboolean fail(GError **err, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static gboolean fail(GError **err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	*err = g_error_new_valist(g_quark_from_static_string("traffic-port"), 0, fmt, ap);
	va_end(ap);
	return FALSE;
}

static gboolean find_port(struct traffic_port *p, const char *devargs, GError **err)
{
	if (devargs) {
		char *name = g_strndup(devargs, strcspn(devargs, ","));
		int rc = rte_eth_dev_get_port_by_name(name, &p->id);

		g_free(name);
		if (rc != 0)
			return fail(err, "no port for --dev %s (did EAL reject the devargs?)",
				    devargs);
		return TRUE;
	}
	if (rte_eth_dev_count_avail() != 1)
		return fail(err, "EAL has %u ports: name one with --dev",
			    rte_eth_dev_count_avail());
	RTE_ETH_FOREACH_DEV(p->id)
		break;
	return TRUE;
}

static uint64_t mono_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

/* Starts the port. A memif client's failed attempts to reach an absent
 * server would log an error each time: they are kept quiet. */
static void start(struct traffic_port *p)
{
	int memif = rte_log_register("pmd.net.memif");
	int level = memif >= 0 ? rte_log_get_level((uint32_t)memif) : -1;

	if (p->client && level >= 0)
		rte_log_set_level((uint32_t)memif, RTE_LOG_CRIT);
	p->start_rc = rte_eth_dev_start(p->id);
	if (p->client && level >= 0)
		rte_log_set_level((uint32_t)memif, (uint32_t)level);
	p->started = p->start_rc == 0;
	/* Frames addressed elsewhere are still test traffic (af_packet, tap). */
	if (p->started)
		rte_eth_promiscuous_enable(p->id);
}

static bool is_memif_client(const struct traffic_port *p, const char *devargs)
{
	struct rte_eth_dev_info info;

	return devargs && strstr(devargs, "role=client") &&
	       rte_eth_dev_info_get(p->id, &info) == 0 &&
	       strcmp(info.driver_name, "net_memif") == 0;
}

gboolean traffic_port_open(struct traffic_port *p, const char *devargs, GError **err)
{
	struct rte_eth_conf conf = { 0 };
	uint16_t nb_rx = RING_DESC, nb_tx = RING_DESC;
	struct rte_ether_addr mac;
	int rc;

	memset(p, 0, sizeof(*p));
	if (!find_port(p, devargs, err))
		return FALSE;
	rte_eth_dev_get_name_by_port(p->id, p->name);
	p->pool = rte_pktmbuf_pool_create("ftmb_traffic", POOL_MBUFS, POOL_CACHE, 0,
					  RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (!p->pool)
		return fail(err, "mbuf pool: %s (raise EAL -m?)", rte_strerror(rte_errno));
	rc = rte_eth_dev_configure(p->id, 1, 1, &conf);
	if (rc == 0)
		rc = rte_eth_dev_adjust_nb_rx_tx_desc(p->id, &nb_rx, &nb_tx);
	if (rc == 0)
		rc = rte_eth_rx_queue_setup(p->id, 0, nb_rx, rte_eth_dev_socket_id(p->id), NULL,
					    p->pool);
	if (rc == 0)
		rc = rte_eth_tx_queue_setup(p->id, 0, nb_tx, rte_eth_dev_socket_id(p->id), NULL);
	if (rc != 0)
		return fail(err, "%s: queue set-up: %s", p->name, rte_strerror(-rc));
	p->client = is_memif_client(p, devargs);
	start(p);
	p->next_retry_ns = mono_ns() + (p->started ? HANDSHAKE_NS : RETRY_NS);
	/* A memif client cannot start while its server is away: it retries. */
	if (!p->started && !p->client)
		return fail(err, "%s: start failed: %s", p->name, rte_strerror(-p->start_rc));
	if (rte_eth_macaddr_get(p->id, &mac) == 0)
		memcpy(p->mac, mac.addr_bytes, 6);
	return TRUE;
}

bool traffic_port_link_up(const struct traffic_port *p)
{
	struct rte_eth_link link;

	return rte_eth_link_get_nowait(p->id, &link) == 0 && link.link_status;
}

void traffic_port_reconnect(struct traffic_port *p, uint64_t now_ns, uint64_t down_ns)
{
	if ((p->started && !p->client) || down_ns < SETTLE_NS || now_ns < p->next_retry_ns)
		return;
	if (p->started)
		rte_eth_dev_stop(p->id);
	start(p);
	p->next_retry_ns = now_ns + (p->started ? HANDSHAKE_NS : RETRY_NS);
}

bool traffic_port_wait_link(struct traffic_port *p, double timeout_s,
			    const volatile sig_atomic_t *stop_flag)
{
	const struct timespec tick = { .tv_nsec = 10000000 };
	const uint64_t t0 = mono_ns(), deadline = t0 + (uint64_t)(timeout_s * 1e9);
	uint64_t now;

	while (!traffic_port_link_up(p)) {
		now = mono_ns();
		if (now >= deadline || *stop_flag)
			return false;
		traffic_port_reconnect(p, now, now - t0);
		nanosleep(&tick, NULL);
	}
	return true;
}
