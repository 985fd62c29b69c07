/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test traffic: what the traffic generator sends, what the example
 * middleboxes stamp, and what the sink records for the verifier.
 *
 * A test frame is Ethernet + IPv4 (no options) + UDP + struct ftmb_testpkt,
 * padded to the requested size. Flow f (from 0) of a run is
 *   src 10.<f / 65536 % 256>.<f / 256 % 256>.<f % 256>:(10000 + f % 50000)
 *   dst 198.51.100.1:7
 * so flows hash to RX queues like real traffic. The middlebox may rewrite
 * addresses and ports (the NAT does); it identifies nothing by them: the
 * payload carries the flow id.
 *
 * All multi-byte payload fields are little-endian.
 */
#ifndef FTMB_TESTPKT_H
#define FTMB_TESTPKT_H

#include <stdint.h>

#define FTMB_TESTPKT_MAGIC 0x544b5054u /* "TPKT" */
#define FTMB_TESTPKT_UDP_DPORT 7
#define FTMB_TESTPKT_DST_IP 0xc6336401u /* 198.51.100.1 */
#define FTMB_TESTPKT_MIN_FRAME (14 + 20 + 8 + 48)

struct ftmb_testpkt {
	uint32_t magic;
	uint32_t flow;      /* flow id */
	uint64_t seq;       /* per-flow sequence, from 1 */
	uint64_t tx_ns;     /* generator's CLOCK_MONOTONIC at send */
	uint64_t mb_global; /* stamped by monitor: the global packet count */
	uint64_t mb_flow;   /* stamped by monitor: this flow's packet count */
	uint64_t reserved;
};

_Static_assert(sizeof(struct ftmb_testpkt) == 48, "test payload is 48 bytes");

/*
 * The sink's record file: a header, then one record per released frame, in
 * the order the sink received them.
 */
#define FTMB_SINKREC_MAGIC 0x4b4e4953u /* "SINK" */
#define FTMB_SINKREC_VERSION 1u

struct ftmb_sinkrec_header {
	uint32_t magic;
	uint32_t version;
	uint32_t record_size; /* sizeof(struct ftmb_sinkrec) */
	uint32_t reserved;
};

struct ftmb_sinkrec {
	uint32_t flow;
	uint32_t src_ip;   /* as received (host byte order): the NAT's mapping */
	uint16_t src_port; /* as received (host byte order) */
	uint16_t reserved;
	uint32_t frame_len;
	uint64_t seq;
	uint64_t tx_ns;
	uint64_t rx_ns; /* sink's CLOCK_MONOTONIC at receive */
	uint64_t mb_global;
	uint64_t mb_flow;
};

_Static_assert(sizeof(struct ftmb_sinkrec) == 56, "sink record is 56 bytes");

#endif
