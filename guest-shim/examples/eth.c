// SPDX-License-Identifier: GPL-2.0-or-later
#include <stdio.h>
#include <string.h>

#include "eth.h"

#define ETHERTYPE_ARP 0x0806
#define ARP_LEN 28 /* Ethernet + IPv4 ARP, RFC 826 */
#define ARP_HTYPE_ETHER 1
#define ARP_PTYPE_IPV4 0x0800
#define ARP_OP_REQUEST 1
#define ARP_OP_REPLY 2
/* Offsets in the ARP packet. */
#define ARP_OP 6
#define ARP_SHA 8
#define ARP_SPA 14
#define ARP_THA 18
#define ARP_TPA 24

const struct eth_addr eth_broadcast = { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

bool eth_parse(const char *s, struct eth_addr *out)
{
	unsigned int b[ETH_ALEN_];
	char tail;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &tail) != ETH_ALEN_)
		return false;
	for (int i = 0; i < ETH_ALEN_; i++)
		out->b[i] = (uint8_t)b[i];
	return true;
}

char *eth_format(const struct eth_addr *a, char *buf)
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", a->b[0], a->b[1], a->b[2], a->b[3],
		 a->b[4], a->b[5]);
	return buf;
}

bool eth_equal(const struct eth_addr *a, const struct eth_addr *b)
{
	return memcmp(a->b, b->b, ETH_ALEN_) == 0;
}

void eth_dst(const uint8_t *frame, struct eth_addr *out)
{
	memcpy(out->b, frame, ETH_ALEN_);
}

void eth_src(const uint8_t *frame, struct eth_addr *out)
{
	memcpy(out->b, frame + ETH_ALEN_, ETH_ALEN_);
}

void eth_set(uint8_t *frame, const struct eth_addr *dst, const struct eth_addr *src)
{
	memcpy(frame, dst->b, ETH_ALEN_);
	memcpy(frame + ETH_ALEN_, src->b, ETH_ALEN_);
}

void eth_swap(uint8_t *frame)
{
	struct eth_addr dst, src;

	eth_dst(frame, &dst);
	eth_src(frame, &src);
	eth_set(frame, &src, &dst);
}

/* The index in ips of the address an ARP request at arp asks for, or -1. */
static int arp_request_for(const uint8_t *arp, const uint32_t *ips, size_t n_ips)
{
	if (get16(arp) != ARP_HTYPE_ETHER || get16(arp + 2) != ARP_PTYPE_IPV4 ||
	    arp[4] != ETH_ALEN_ || arp[5] != 4 || get16(arp + ARP_OP) != ARP_OP_REQUEST)
		return -1;
	for (size_t i = 0; i < n_ips; i++)
		if (get32(arp + ARP_TPA) == ips[i])
			return (int)i;
	return -1;
}

bool arp_answer(uint8_t *frame, size_t len, const uint32_t *ips, size_t n_ips,
		const struct eth_addr *mac)
{
	uint8_t *arp = frame + ETH_HDR_LEN, asker_ip[4];
	struct eth_addr asker;

	if (len < ETH_HDR_LEN + ARP_LEN || get16(frame + 12) != ETHERTYPE_ARP ||
	    arp_request_for(arp, ips, n_ips) < 0)
		return false;
	memcpy(asker.b, arp + ARP_SHA, ETH_ALEN_);
	memcpy(asker_ip, arp + ARP_SPA, 4);
	arp[ARP_OP] = 0;
	arp[ARP_OP + 1] = ARP_OP_REPLY;
	memcpy(arp + ARP_SPA, arp + ARP_TPA, 4); /* the address asked for */
	memcpy(arp + ARP_SHA, mac->b, ETH_ALEN_);
	memcpy(arp + ARP_THA, asker.b, ETH_ALEN_);
	memcpy(arp + ARP_TPA, asker_ip, 4);
	eth_set(frame, &asker, mac);
	return true;
}
