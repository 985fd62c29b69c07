// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * nat: source NAT for an internal network behind one external address.
 *
 * The pool of free external ports and the reverse map (external port ->
 * internal address) are shared by all threads (one ftmb variable); each
 * thread keeps its own flows (a flow's packets always reach the same queue).
 * A flow idle for --idle-ms gives its port back. Time comes from
 * ftmb_time_ns, once per packet, so that a replica expires the same flows at
 * the same points and hands out the same ports.
 *
 * It is a one-armed router on one Ethernet segment: hosts inside use its
 * --gateway-ip as their router, hosts outside reach the internal ones at
 * --external-ip, and it answers ARP for both with its own MAC (--mac, by
 * default the NIC's, read once at start-up). It takes frames addressed to
 * that MAC (or broadcast, as test generators send), sends translated
 * frames out to --next-hop-mac, and sends replies back to the MAC the
 * flow's first packet came from, remembered with its port mapping. Every
 * address decision follows from the frames and these start-up values, so
 * a replica makes the same ones.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>

#include "eth.h"
#include "flowtab.h"
#include "mbox.h"
#include "pktio.h"

#define VAR_POOL 0
#define N_PORTS 65536

struct nat_flow {
	uint16_t ext_port; /* 0: none */
	uint64_t last_ns;
};

struct reverse {
	uint32_t ip;
	uint16_t port;
	bool used;
	struct eth_addr mac; /* where the flow's first packet came from */
};

/* Guarded by VAR_POOL. Ports are handed out in FIFO order of their release. */
struct pool {
	uint16_t free[N_PORTS];
	uint32_t head, count;
	struct reverse rev[N_PORTS];
};

struct nat_thread {
	GHashTable *flows;
	uint64_t last_sweep_ns;
};

static struct pool *pool;
static struct ftmb_var *pool_var;
static uint32_t ext_ip, int_net, int_mask;
static uint32_t owned_ips[2]; /* answered in ARP: external, then gateway */
static size_t n_owned;
static struct eth_addr own_mac, next_hop_mac;

static gchar *opt_ext_ip = "192.0.2.1", *opt_int_net = "10.0.0.0/8", *opt_ports = "1024-65535";
static gchar *opt_gateway_ip, *opt_mac, *opt_next_hop_mac;
static gint opt_idle_ms = 1000;

static GOptionEntry nat_options[] = {
	{ "external-ip", 0, 0, G_OPTION_ARG_STRING, &opt_ext_ip, "external address", "IP" },
	{ "internal-net", 0, 0, G_OPTION_ARG_STRING, &opt_int_net, "internal network", "IP/LEN" },
	{ "gateway-ip", 0, 0, G_OPTION_ARG_STRING, &opt_gateway_ip,
	  "internal address (the hosts' router; answered in ARP)", "IP" },
	{ "ports", 0, 0, G_OPTION_ARG_STRING, &opt_ports, "external port range", "LO-HI" },
	{ "idle-ms", 0, 0, G_OPTION_ARG_INT, &opt_idle_ms, "flow idle timeout", "MS" },
	{ "mac", 0, 0, G_OPTION_ARG_STRING, &opt_mac, "own MAC (default: the NIC's)", "MAC" },
	{ "next-hop-mac", 0, 0, G_OPTION_ARG_STRING, &opt_next_hop_mac,
	  "where translated frames go (default: broadcast)", "MAC" },
	G_OPTION_ENTRY_NULL
};

static int parse_mac_option(const char *name, const char *value, struct eth_addr *out)
{
	if (eth_parse(value, out))
		return 0;
	fprintf(stderr, "ftmb-nat: --%s: want a MAC like 02:00:00:00:00:01, got '%s'\n", name,
		value);
	return -1;
}

/* Ethernet addressing, from the options and the NIC's own address. */
static int parse_link_config(const struct pktio *io)
{
	char a[18], b[18];
	struct in_addr gw;

	own_mac = io->mac;
	next_hop_mac = eth_broadcast;
	if ((opt_mac && parse_mac_option("mac", opt_mac, &own_mac)) ||
	    (opt_next_hop_mac && parse_mac_option("next-hop-mac", opt_next_hop_mac, &next_hop_mac)))
		return -1;
	owned_ips[n_owned++] = ext_ip;
	if (opt_gateway_ip) {
		if (inet_pton(AF_INET, opt_gateway_ip, &gw) != 1) {
			fprintf(stderr, "ftmb-nat: --gateway-ip: '%s' is not an IPv4 address\n",
				opt_gateway_ip);
			return -1;
		}
		owned_ips[n_owned++] = ntohl(gw.s_addr);
	}
	fprintf(stderr, "ftmb-nat: external %s, internal %s, gateway %s, MAC %s, next hop %s\n",
		opt_ext_ip, opt_int_net, opt_gateway_ip ? opt_gateway_ip : "(none)",
		eth_format(&own_mac, a), eth_format(&next_hop_mac, b));
	return 0;
}

static int parse_config(void)
{
	struct in_addr a;
	unsigned lo, hi, len;
	char net[32];

	if (inet_pton(AF_INET, opt_ext_ip, &a) != 1) {
		fprintf(stderr, "ftmb-nat: --external-ip: '%s' is not an IPv4 address\n", opt_ext_ip);
		return -1;
	}
	ext_ip = ntohl(a.s_addr);
	if (sscanf(opt_int_net, "%31[0-9.]/%u", net, &len) != 2 || len > 32 ||
	    inet_pton(AF_INET, net, &a) != 1) {
		fprintf(stderr, "ftmb-nat: --internal-net: want IP/LEN, got '%s'\n", opt_int_net);
		return -1;
	}
	int_mask = len ? ~0u << (32 - len) : 0;
	int_net = ntohl(a.s_addr) & int_mask;
	if (sscanf(opt_ports, "%u-%u", &lo, &hi) != 2 || lo == 0 || lo > hi || hi > 65535) {
		fprintf(stderr, "ftmb-nat: --ports: want LO-HI within 1-65535, got '%s'\n",
			opt_ports);
		return -1;
	}
	if (opt_idle_ms <= 0) {
		fprintf(stderr, "ftmb-nat: --idle-ms must be positive\n");
		return -1;
	}
	pool = calloc(1, sizeof(*pool));
	if (!pool)
		return -1;
	for (unsigned p = lo; p <= hi; p++)
		pool->free[pool->count++] = (uint16_t)p;
	return 0;
}

static int nat_setup(struct mbox *mb)
{
	if (parse_config() || parse_link_config(mb->io))
		return -1;
	pool_var = ftmb_var(mb->ftmb, VAR_POOL);
	return pool_var ? 0 : -1;
}

static int nat_thread_setup(struct mbox_thread *t)
{
	struct nat_thread *nt = g_new0(struct nat_thread, 1);

	nt->flows = flowtab_new();
	t->priv = nt;
	return 0;
}

/* Pool operations: the caller holds VAR_POOL. */
static uint16_t pool_take(const struct pkt_flow *f, const struct eth_addr *mac)
{
	uint16_t port;

	if (!pool->count)
		return 0;
	port = pool->free[pool->head];
	pool->head = (pool->head + 1) % N_PORTS;
	pool->count--;
	pool->rev[port] = (struct reverse){ .ip = f->src_ip, .port = f->src_port, .used = true,
					    .mac = *mac };
	return port;
}

static void pool_give_back(uint16_t port)
{
	pool->rev[port].used = false;
	pool->free[(pool->head + pool->count) % N_PORTS] = port;
	pool->count++;
}

static bool expired(const struct nat_flow *nf, uint64_t now)
{
	return now - nf->last_ns > (uint64_t)opt_idle_ms * 1000000u;
}

static gboolean sweep_one(gpointer key, gpointer value, gpointer now)
{
	struct nat_flow *nf = value;

	(void)key;
	if (!expired(nf, *(uint64_t *)now))
		return FALSE;
	pool_give_back(nf->ext_port);
	return TRUE;
}

/* Gives back the ports of this thread's idle flows, a few times per timeout. */
static void sweep(struct mbox_thread *t, struct nat_thread *nt, uint64_t now)
{
	if (now - nt->last_sweep_ns < (uint64_t)opt_idle_ms * 250000u)
		return;
	nt->last_sweep_ns = now;
	ftmb_lock(t->ft, pool_var);
	g_hash_table_foreach_remove(nt->flows, sweep_one, &now);
	ftmb_unlock(t->ft, pool_var);
}

static bool translate_out(struct mbox_thread *t, struct pkt *p, uint64_t now)
{
	struct nat_thread *nt = t->priv;
	struct pkt_flow flow;
	struct nat_flow *nf;
	struct eth_addr from;
	bool created;

	pkt_flow_of(p, &flow);
	nf = flowtab_get(nt->flows, &flow, sizeof(*nf), &created);
	if (created || expired(nf, now)) {
		eth_src(p->frame, &from);
		ftmb_lock(t->ft, pool_var);
		if (!created)
			pool_give_back(nf->ext_port);
		nf->ext_port = pool_take(&flow, &from);
		ftmb_unlock(t->ft, pool_var);
	}
	if (!nf->ext_port) { /* pool exhausted */
		g_hash_table_remove(nt->flows, &flow);
		return false;
	}
	nf->last_ns = now;
	pkt_set_src(p, ext_ip, nf->ext_port);
	eth_set(p->frame, &next_hop_mac, &own_mac);
	return true;
}

static bool translate_in(struct mbox_thread *t, struct pkt *p)
{
	uint16_t port = pkt_dst_port(p);
	struct reverse r;

	ftmb_lock(t->ft, pool_var);
	r = pool->rev[port];
	ftmb_unlock(t->ft, pool_var);
	if (!r.used)
		return false;
	pkt_set_dst(p, r.ip, r.port);
	eth_set(p->frame, &r.mac, &own_mac);
	return true;
}

/* Whether the frame is addressed to us: our MAC, or broadcast. */
static bool for_us(const uint8_t *frame)
{
	struct eth_addr dst;

	eth_dst(frame, &dst);
	return eth_equal(&dst, &own_mac) || eth_equal(&dst, &eth_broadcast);
}

static bool nat_process(struct mbox_thread *t, uint8_t *frame, uint32_t *len, uint32_t room)
{
	uint64_t now = ftmb_time_ns(t->ft);
	struct pkt p;

	(void)room;
	sweep(t, t->priv, now);
	if (arp_answer(frame, *len, owned_ips, n_owned, &own_mac))
		return true;
	if (pkt_parse(frame, *len, &p) || !for_us(frame))
		return false;
	if (pkt_dst_ip(&p) == ext_ip)
		return translate_in(t, &p);
	if ((pkt_src_ip(&p) & int_mask) == int_net)
		return translate_out(t, &p, now);
	return false;
}

static const struct mbox_ops nat_ops = {
	.name = "ftmb-nat",
	.summary = "A source NAT protected by ftmb: a shared port pool, per-flow mappings.",
	.options = nat_options,
	.setup = nat_setup,
	.thread_setup = nat_thread_setup,
	.process = nat_process,
};

int main(int argc, char **argv)
{
	return mbox_main(argc, argv, &nat_ops);
}
