// SPDX-License-Identifier: GPL-2.0-or-later
/* Test frames: Ethernet + IPv4 + UDP + struct ftmb_testpkt, padded. */
#include <string.h>

#include "frame.h"
#include "ftmb/le.h"

#define IP_OFF 14
#define UDP_OFF (IP_OFF + 20)
#define PL TESTFRAME_PAYLOAD_OFF

#define ETHERTYPE_IPV4 0x0800
#define IPPROTO_UDP_ 17
#define IP_TTL 64
#define IP_FLAG_DF 0x4000
#define IP_FRAG_MASK 0x3fff /* MF flag and fragment offset */
#define FLOW_BASE_IP 0x0a000000u /* 10.0.0.0 */
#define FLOW_BASE_PORT 10000
#define FLOW_PORT_SPAN 50000

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, (uint16_t)(v >> 16));
	put_be16(p + 2, (uint16_t)v);
}

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)get_be16(p) << 16 | get_be16(p + 2);
}

uint32_t testframe_flow_ip(uint32_t flow)
{
	return FLOW_BASE_IP | (flow & 0xffffffu);
}

uint16_t testframe_flow_port(uint32_t flow)
{
	return (uint16_t)(FLOW_BASE_PORT + flow % FLOW_PORT_SPAN);
}

/* One's complement sum of the header's ten 16-bit words, the checksum word
 * (bytes 10-11) counted as zero. */
static uint32_t ip_sum_without_csum(const uint8_t *ip)
{
	uint32_t sum = 0;

	for (int i = 0; i < 20; i += 2)
		if (i != 10)
			sum += get_be16(ip + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

uint16_t testframe_ip_csum(const uint8_t *ip)
{
	return (uint16_t)~ip_sum_without_csum(ip);
}

void testframe_build(uint8_t *buf, uint16_t size, const uint8_t dst_mac[6],
		     const uint8_t src_mac[6])
{
	uint8_t *ip = buf + IP_OFF, *udp = buf + UDP_OFF;

	memset(buf, 0, size);
	memcpy(buf, dst_mac, 6);
	memcpy(buf + 6, src_mac, 6);
	put_be16(buf + 12, ETHERTYPE_IPV4);

	ip[0] = 0x45; /* version 4, 20-byte header */
	put_be16(ip + 2, (uint16_t)(size - IP_OFF));
	put_be16(ip + 6, IP_FLAG_DF);
	ip[8] = IP_TTL;
	ip[9] = IPPROTO_UDP_;
	put_be32(ip + 16, FTMB_TESTPKT_DST_IP);

	put_be16(udp + 2, FTMB_TESTPKT_UDP_DPORT);
	put_be16(udp + 4, (uint16_t)(size - UDP_OFF));
	/* UDP checksum 0: none, which IPv4 allows and NAT rewrites keep valid. */

	ftmb_put_le32(buf + PL + offsetof(struct ftmb_testpkt, magic), FTMB_TESTPKT_MAGIC);
	testframe_stamp(buf, 0, 0);
}

void testframe_stamp(uint8_t *buf, uint32_t flow, uint64_t seq)
{
	uint8_t *ip = buf + IP_OFF;

	put_be32(ip + 12, testframe_flow_ip(flow));
	put_be16(ip + 10, testframe_ip_csum(ip));
	put_be16(buf + UDP_OFF, testframe_flow_port(flow));
	ftmb_put_le32(buf + PL + offsetof(struct ftmb_testpkt, flow), flow);
	ftmb_put_le64(buf + PL + offsetof(struct ftmb_testpkt, seq), seq);
}

void testframe_set_tx_ns(uint8_t *buf, uint64_t tx_ns)
{
	ftmb_put_le64(buf + PL + offsetof(struct ftmb_testpkt, tx_ns), tx_ns);
}

bool testframe_parse(const uint8_t *buf, size_t len, struct testframe *out)
{
	const uint8_t *ip = buf + IP_OFF, *udp = buf + UDP_OFF, *pl = buf + PL;
	uint16_t ip_len, udp_len;

	if (len < FTMB_TESTPKT_MIN_FRAME || get_be16(buf + 12) != ETHERTYPE_IPV4)
		return false;
	if (ip[0] != 0x45 || ip[9] != IPPROTO_UDP_ || (get_be16(ip + 6) & IP_FRAG_MASK))
		return false;
	ip_len = get_be16(ip + 2);
	udp_len = get_be16(udp + 4);
	if (ip_len > len - IP_OFF || ip_len < 20 + 8 + sizeof(struct ftmb_testpkt))
		return false;
	if (udp_len > ip_len - 20 || udp_len < 8 + sizeof(struct ftmb_testpkt))
		return false;
	if (get_be16(udp + 2) != FTMB_TESTPKT_UDP_DPORT ||
	    ftmb_get_le32(pl + offsetof(struct ftmb_testpkt, magic)) != FTMB_TESTPKT_MAGIC)
		return false;

	out->flow = ftmb_get_le32(pl + offsetof(struct ftmb_testpkt, flow));
	out->seq = ftmb_get_le64(pl + offsetof(struct ftmb_testpkt, seq));
	out->tx_ns = ftmb_get_le64(pl + offsetof(struct ftmb_testpkt, tx_ns));
	out->mb_global = ftmb_get_le64(pl + offsetof(struct ftmb_testpkt, mb_global));
	out->mb_flow = ftmb_get_le64(pl + offsetof(struct ftmb_testpkt, mb_flow));
	out->src_ip = get_be32(ip + 12);
	out->src_port = get_be16(udp);
	out->ip_csum_ok = get_be16(ip + 10) == testframe_ip_csum(ip);
	return true;
}

void testframe_swap_macs(uint8_t *buf)
{
	uint8_t tmp[6];

	memcpy(tmp, buf, 6);
	memcpy(buf, buf + 6, 6);
	memcpy(buf + 6, tmp, 6);
}
