// SPDX-License-Identifier: GPL-2.0-or-later
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_thash.h>

#include "rss.h"

#define RETA_SIZE 128u

/* The 40-byte key NICs ship with (Microsoft's RSS specification). */
static const uint8_t rss_key[40] = {
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67,
	0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb,
	0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
	0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

/* The hash input is a sequence of 32-bit words in CPU order: source and
 * destination address, then (source port << 16 | destination port). Built
 * as plain words: casting DPDK's tuple union to uint32_t * breaks strict
 * aliasing at -O2. */
static uint32_t word_at(const uint8_t *p)
{
	uint32_t w;

	memcpy(&w, p, sizeof(w));
	return rte_be_to_cpu_32(w);
}

/* Appends the ports word of a TCP/UDP header at l4; returns the words
 * added (0 for other protocols, or when the header is cut short). */
static uint32_t load_ports(const uint8_t *l4, const uint8_t *end, uint8_t proto, uint32_t *word)
{
	if ((proto != IPPROTO_TCP && proto != IPPROTO_UDP) || end - l4 < 4)
		return 0;
	*word = word_at(l4);
	return 1;
}

static int hash_v4(const uint8_t *l3, const uint8_t *end, uint32_t *hash)
{
	uint32_t tuple[3], ihl, words = 2;
	struct rte_ipv4_hdr ip;

	if (end - l3 < (long)sizeof(ip))
		return 0;
	memcpy(&ip, l3, sizeof(ip));
	ihl = (ip.version_ihl & 0xf) * 4u;
	if ((ip.version_ihl >> 4) != 4 || ihl < sizeof(ip) || end - l3 < (long)ihl)
		return 0;
	tuple[0] = word_at(l3 + 12);
	tuple[1] = word_at(l3 + 16);
	/* Fragments carry no ports past the first: hash addresses only. */
	if (!(ip.fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)))
		words += load_ports(l3 + ihl, end, ip.next_proto_id, &tuple[2]);
	*hash = rte_softrss(tuple, words, rss_key);
	return 1;
}

static int hash_v6(const uint8_t *l3, const uint8_t *end, uint32_t *hash)
{
	uint32_t tuple[9], words = 8;
	struct rte_ipv6_hdr ip;

	if (end - l3 < (long)sizeof(ip))
		return 0;
	memcpy(&ip, l3, sizeof(ip));
	if ((ip.vtc_flow & rte_cpu_to_be_32(0xf0000000u)) != rte_cpu_to_be_32(0x60000000u))
		return 0;
	for (uint32_t i = 0; i < 8; i++)
		tuple[i] = word_at(l3 + 8 + 4 * i);
	words += load_ports(l3 + sizeof(ip), end, ip.proto, &tuple[8]);
	*hash = rte_softrss(tuple, words, rss_key);
	return 1;
}

int rss_hash(const uint8_t *frame, uint32_t len, uint32_t *hash)
{
	const uint8_t *end = frame + len, *l3 = frame + sizeof(struct rte_ether_hdr);
	uint16_t type;

	if (len < sizeof(struct rte_ether_hdr))
		return 0;
	memcpy(&type, frame + 12, sizeof(type));
	if (type == rte_cpu_to_be_16(RTE_ETHER_TYPE_VLAN)) {
		if (len < sizeof(struct rte_ether_hdr) + 4)
			return 0;
		memcpy(&type, frame + 16, sizeof(type));
		l3 += 4;
	}
	if (type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4))
		return hash_v4(l3, end, hash);
	if (type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6))
		return hash_v6(l3, end, hash);
	return 0;
}

uint16_t rss_queue(const uint8_t *frame, uint32_t len, uint16_t n_queues)
{
	uint32_t hash;

	if (n_queues <= 1 || !rss_hash(frame, len, &hash))
		return 0;
	return (uint16_t)((hash % RETA_SIZE) % n_queues);
}
