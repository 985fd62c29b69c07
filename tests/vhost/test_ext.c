// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test-ext: the outside world of ftmb-vhost's tests. On every DPDK port it
 * has (memif clients of ftmb-vhost's external ports), it sends test frames
 * (tools/include/ftmb/testpkt.h) over --flows flows numbered from
 * --first-flow, and records every frame that comes back:
 *   rx PORT FLOW SEQ LEN RX_NS MB_GLOBAL MB_FLOW LEAK
 * LEAK is 1 when the frame is not exactly as long as sent or ends in an
 * ftmb tag: ftmb metadata reached the outside.
 *
 * Counted mode: --count N frames per port at --rate PPS, then wait until
 * all came back (or --expect-back N frames: more when a replica releases
 * what its primary held) or --wait-ms passed without one. A port that takes no
 * frame for --wait-ms (its peer was cut off) is given up.
 * Throughput mode: --duration S, keeping at most --window frames in flight
 * per port; prints the frames per second that came back.
 * With --go-file PATH it starts sending only once PATH exists (the test
 * script creates it when the guests are connected).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include "ftmb/le.h"
#include "ftmb/tag.h"
#include "ftmb/testpkt.h"
#include "idle.h"
#include "tport.h"

#define BURST 32
#define MAX_PORTS 8

struct opts {
	uint64_t count, rate, wait_ms, duration_s, window;
	int64_t expect_back; /* frames to wait for per port (-1: --count) */
	uint32_t flows, first_flow, size, connect_ms;
	const char *records;
	const char *go_file;
};

struct port_state {
	uint64_t sent, received, leaks, next_flow;
	uint64_t *flow_seq;
	uint64_t last_rx_ns, last_tx_ns;
	bool given_up;
};

static struct opts o = { .count = 1000, .rate = 20000, .wait_ms = 2000, .expect_back = -1,
			 .flows = 64,
			 .size = 128, .window = 256, .connect_ms = 10000 };
static struct port_state ps[MAX_PORTS];
static FILE *rec;

static const struct rte_ether_addr mac_dst = { { 2, 0, 0, 0, 0, 2 } };
static const struct rte_ether_addr mac_src = { { 2, 0, 0, 0, 0, 1 } };

static void build_frame(struct rte_mbuf *m, uint32_t flow, uint64_t seq)
{
	uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)o.size);
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)p;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	struct ftmb_testpkt tp = { .magic = FTMB_TESTPKT_MAGIC, .flow = flow, .seq = seq,
				   .tx_ns = tport_now_ns() };

	memset(p, 0, o.size);
	eth->dst_addr = mac_dst;
	eth->src_addr = mac_src;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(o.size - 14));
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = rte_cpu_to_be_32(0x0a000000u | (flow & 0xffffff));
	ip->dst_addr = rte_cpu_to_be_32(FTMB_TESTPKT_DST_IP);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->src_port = rte_cpu_to_be_16((uint16_t)(10000 + flow % 50000));
	udp->dst_port = rte_cpu_to_be_16(FTMB_TESTPKT_UDP_DPORT);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(o.size - 14 - 20));
	memcpy(udp + 1, &tp, sizeof(tp));
}

static uint16_t send_some(struct rte_mempool *pool, uint16_t port, uint64_t n)
{
	struct rte_mbuf *pkts[BURST];
	struct port_state *s = &ps[port];
	uint16_t k = (uint16_t)RTE_MIN(n, (uint64_t)BURST), sent;

	if (k == 0 || rte_pktmbuf_alloc_bulk(pool, pkts, k))
		return 0;
	for (uint16_t i = 0; i < k; i++) {
		uint32_t f = (uint32_t)((s->next_flow + i) % o.flows);

		build_frame(pkts[i], o.first_flow + f, s->flow_seq[f] + 1);
	}
	sent = rte_eth_tx_burst(port, 0, pkts, k);
	if (sent)
		s->last_tx_ns = tport_now_ns();
	for (uint16_t i = 0; i < sent; i++) {
		s->flow_seq[(s->next_flow + i) % o.flows]++;
	}
	s->next_flow += sent;
	s->sent += sent;
	rte_pktmbuf_free_bulk(pkts + sent, k - sent);
	return sent;
}

static bool leaked(const uint8_t *f, uint32_t len)
{
	uint32_t tail;

	if (len != o.size)
		return true;
	tail = ftmb_get_le32(f + len - 4);
	return tail == FTMB_IN_TAG_MAGIC || tail == FTMB_OUT_TAG_MAGIC;
}

static uint64_t receive(uint16_t port)
{
	struct rte_mbuf *pkts[BURST];
	struct port_state *s = &ps[port];
	uint16_t n = rte_eth_rx_burst(port, 0, pkts, BURST);
	uint64_t now = tport_now_ns();

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		uint8_t buf[2048];
		const uint8_t *f = rte_pktmbuf_read(m, 0, RTE_MIN(m->pkt_len, 2048u), buf);
		struct ftmb_testpkt tp = { 0 };
		bool leak = leaked(f, m->pkt_len);

		if (m->pkt_len >= 42 + sizeof(tp))
			memcpy(&tp, f + 42, sizeof(tp));
		s->leaks += leak;
		if (rec)
			fprintf(rec, "rx %u %u %" PRIu64 " %u %" PRIu64 " %" PRIu64 " %" PRIu64 " %d\n",
				port, tp.flow, tp.seq, m->pkt_len, now, tp.mb_global, tp.mb_flow, leak);
	}
	rte_pktmbuf_free_bulk(pkts, n);
	s->received += n;
	if (n)
		s->last_rx_ns = now;
	return n;
}

static void wait_links(uint16_t nports)
{
	uint64_t deadline = tport_now_ns() + (uint64_t)o.connect_ms * 1000000ull;

	for (uint16_t p = 0; p < nports; p++) {
		struct rte_eth_link link;

		do {
			rte_eth_link_get_nowait(p, &link);
			if (link.link_status)
				break;
			rte_delay_us_sleep(10000);
		} while (tport_now_ns() < deadline && !tport_quit);
		if (!link.link_status) {
			fprintf(stderr, "test-ext: port %u never came up\n", p);
			exit(1);
		}
	}
}

static void run_counted(struct rte_mempool *pool, uint16_t nports)
{
	uint64_t start = tport_now_ns(), last_activity = start;
	struct idle idle = { 0 };

	while (!tport_quit) {
		uint64_t now = tport_now_ns(), work = 0;
		uint64_t due = o.rate ? (now - start) * o.rate / 1000000000ull : o.count;
		bool all_sent = true, all_back = true;

		for (uint16_t p = 0; p < nports; p++) {
			uint64_t target = RTE_MIN(due, o.count);

			if (ps[p].sent < target && !ps[p].given_up) {
				work += send_some(pool, p, target - ps[p].sent);
				if (now > RTE_MAX(ps[p].last_tx_ns, start) + o.wait_ms * 1000000ull) {
					fprintf(stderr, "test-ext: port %u takes no frames, giving up\n", p);
					ps[p].given_up = true;
				}
			}
			work += receive(p);
			all_sent &= ps[p].sent == o.count || ps[p].given_up;
			all_back &= o.expect_back >= 0 ? ps[p].received >= (uint64_t)o.expect_back
							: ps[p].received >= o.count;
			if (ps[p].last_rx_ns > last_activity)
				last_activity = ps[p].last_rx_ns;
		}
		if (all_sent && all_back)
			break;
		if (all_sent && now > last_activity + o.wait_ms * 1000000ull)
			break;
		if (!all_sent)
			last_activity = RTE_MAX(last_activity, now);
		idle_step(&idle, work);
	}
	for (uint16_t p = 0; p < nports; p++) {
		struct rte_eth_stats st = { 0 };

		rte_eth_stats_get(p, &st);
		printf("test-ext: port %u sent %" PRIu64 " received %" PRIu64 " leaks %" PRIu64
		       " (port: ipackets %" PRIu64 " imissed %" PRIu64 " ierrors %" PRIu64
		       " rx_nombuf %" PRIu64 ")\n",
		       p, ps[p].sent, ps[p].received, ps[p].leaks, st.ipackets, st.imissed, st.ierrors,
		       st.rx_nombuf);
	}
}

static void run_throughput(struct rte_mempool *pool, uint16_t nports)
{
	uint64_t start = tport_now_ns(), warm = start + 500000000ull;
	uint64_t end = warm + o.duration_s * 1000000000ull, base[MAX_PORTS] = { 0 };
	bool warmed = false;

	while (!tport_quit) {
		uint64_t now = tport_now_ns();

		if (!warmed && now >= warm) {
			for (uint16_t p = 0; p < nports; p++)
				base[p] = ps[p].received;
			warmed = true;
		}
		if (now >= end)
			break;
		for (uint16_t p = 0; p < nports; p++) {
			if (ps[p].sent - ps[p].received < o.window)
				send_some(pool, p, o.window - (ps[p].sent - ps[p].received));
			receive(p);
		}
	}
	for (uint16_t p = 0; p < nports; p++)
		printf("test-ext: port %u throughput %.3f Mpps (%" PRIu64 " frames of %u bytes back "
		       "in %" PRIu64 " s, window %" PRIu64 ", leaks %" PRIu64 ")\n",
		       p, (double)(ps[p].received - base[p]) / (double)o.duration_s / 1e6,
		       ps[p].received - base[p], o.size, o.duration_s, o.window, ps[p].leaks);
}

static void parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'c' },    { "rate", required_argument, NULL, 'r' },
		{ "flows", required_argument, NULL, 'f' },    { "size", required_argument, NULL, 's' },
		{ "wait-ms", required_argument, NULL, 'w' },  { "records", required_argument, NULL, 'o' },
		{ "duration", required_argument, NULL, 'd' }, { "window", required_argument, NULL, 'W' },
		{ "go-file", required_argument, NULL, 'g' },  { "first-flow", required_argument, NULL, 'F' },
		{ "expect-back", required_argument, NULL, 'E' }, { NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c': o.count = strtoull(optarg, NULL, 10); break;
		case 'r': o.rate = strtoull(optarg, NULL, 10); break;
		case 'f': o.flows = (uint32_t)atoi(optarg); break;
		case 's': o.size = (uint32_t)atoi(optarg); break;
		case 'w': o.wait_ms = strtoull(optarg, NULL, 10); break;
		case 'o': o.records = optarg; break;
		case 'd': o.duration_s = strtoull(optarg, NULL, 10); break;
		case 'W': o.window = strtoull(optarg, NULL, 10); break;
		case 'g': o.go_file = optarg; break;
		case 'F': o.first_flow = (uint32_t)atoi(optarg); break;
		case 'E': o.expect_back = atoll(optarg); break;
		default:
			fprintf(stderr, "usage: test-ext EAL... -- [--count N --rate PPS --wait-ms MS | "
					"--duration S --window W] [--flows F] [--size BYTES] "
					"[--records FILE] [--go-file PATH] [--first-flow F] "
					"[--expect-back N]\n");
			exit(2);
		}
	}
	if (o.flows == 0 || o.size < FTMB_TESTPKT_MIN_FRAME || o.size > 1500) {
		fprintf(stderr, "test-ext: --flows >= 1, --size %u..1500\n", FTMB_TESTPKT_MIN_FRAME);
		exit(2);
	}
}

int main(int argc, char **argv)
{
	struct rte_mempool *pool;
	uint16_t nports;
	int rc = rte_eal_init(argc, argv);

	if (rc < 0) {
		fprintf(stderr, "test-ext: EAL initialisation failed\n");
		return 1;
	}
	parse_args(argc - rc, argv + rc);
	tport_signals();
	idle_setup();
	nports = (uint16_t)RTE_MIN(rte_eth_dev_count_avail(), MAX_PORTS);
	pool = rte_pktmbuf_pool_create("ext", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       rte_socket_id());
	if (!pool || nports == 0) {
		fprintf(stderr, "test-ext: no mbuf pool or no port\n");
		return 1;
	}
	if (o.records && !(rec = fopen(o.records, "w"))) {
		perror(o.records);
		return 1;
	}
	for (uint16_t p = 0; p < nports; p++) {
		ps[p].flow_seq = calloc(o.flows, sizeof(uint64_t));
		tport_start(p, 1, pool);
	}
	fprintf(stderr, "test-ext: %u port(s) started, waiting for links\n", nports);
	wait_links(nports);
	while (o.go_file && access(o.go_file, F_OK) && !tport_quit)
		rte_delay_us_sleep(10000);
	fprintf(stderr, "test-ext: sending\n");
	if (o.duration_s)
		run_throughput(pool, nports);
	else
		run_counted(pool, nports);
	if (rec)
		fclose(rec);
	for (uint16_t p = 0; p < nports; p++)
		rte_eth_dev_stop(p);
	rte_eal_cleanup();
	return 0;
}
