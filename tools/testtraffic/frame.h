/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Building and parsing test frames (the format is ftmb/testpkt.h).
 *
 * The generator builds one template frame and turns it into any flow's
 * packet by patching the flow's addresses, the IPv4 checksum and the payload
 * (testframe_stamp), then writes the send time just before the burst leaves
 * (testframe_set_tx_ns). The sink parses whatever arrives and rejects
 * anything that is not a whole test frame.
 */
#ifndef FTMB_TESTFRAME_H
#define FTMB_TESTFRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ftmb/testpkt.h"

#define TESTFRAME_MAX 1514 /* largest frame built, without FCS */
#define TESTFRAME_ETH_LEN 14
#define TESTFRAME_PAYLOAD_OFF (14 + 20 + 8)

/* What a received test frame says. Addresses in host byte order. */
struct testframe {
	uint32_t flow;
	uint64_t seq;
	uint64_t tx_ns;
	uint64_t mb_global;
	uint64_t mb_flow;
	uint32_t src_ip;
	uint16_t src_port;
	bool ip_csum_ok;
};

/* The source address and port that flow `flow` is sent from. */
uint32_t testframe_flow_ip(uint32_t flow);
uint16_t testframe_flow_port(uint32_t flow);

/*
 * Writes a complete frame of `size` bytes (FTMB_TESTPKT_MIN_FRAME to
 * TESTFRAME_MAX) for flow 0, seq 0, tx_ns 0 into buf: the template.
 */
void testframe_build(uint8_t *buf, uint16_t size, const uint8_t dst_mac[6],
		     const uint8_t src_mac[6]);

/* Makes a built frame flow `flow`'s packet number `seq`. */
void testframe_stamp(uint8_t *buf, uint32_t flow, uint64_t seq);

void testframe_set_tx_ns(uint8_t *buf, uint64_t tx_ns);

/*
 * Parses the first len bytes of a frame. Returns true for a test frame
 * (IPv4 without options or fragmentation, UDP to FTMB_TESTPKT_UDP_DPORT,
 * lengths consistent, payload magic) and fills *out; false for anything
 * else. A wrong IPv4 checksum still parses, with ip_csum_ok false, so that a
 * middlebox that forgets to fix it is reported rather than hidden.
 */
bool testframe_parse(const uint8_t *buf, size_t len, struct testframe *out);

/* Swaps source and destination MAC addresses (for an echo). */
void testframe_swap_macs(uint8_t *buf);

/* The IPv4 header checksum of a 20-byte header, as stored (network order). */
uint16_t testframe_ip_csum(const uint8_t *ip);

#endif
