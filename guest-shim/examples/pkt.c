// SPDX-License-Identifier: GPL-2.0-or-later
#include <netinet/in.h>
#include <string.h>

#include "pkt.h"

#define ETH_HLEN 14
#define ETH_P_IPV4 0x0800
#define IP_SRC 12
#define IP_DST 16
#define IP_CSUM 10
#define UDP_HLEN 8
#define TCP_HLEN 20

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static int parse_l4(struct pkt *p, size_t l4_len)
{
	size_t hlen;

	if (p->proto == IPPROTO_UDP && l4_len >= UDP_HLEN) {
		hlen = UDP_HLEN;
		p->l4_csum = get16(p->l4 + 6) ? p->l4 + 6 : NULL;
	} else if (p->proto == IPPROTO_TCP && l4_len >= TCP_HLEN) {
		hlen = (p->l4[12] >> 4) * 4u;
		if (hlen < TCP_HLEN || hlen > l4_len)
			return -1;
		p->l4_csum = p->l4 + 16;
	} else {
		return -1;
	}
	p->payload = p->l4 + hlen;
	p->payload_len = l4_len - hlen;
	return 0;
}

int pkt_parse(uint8_t *frame, size_t len, struct pkt *p)
{
	size_t ihl, ip_len;

	if (len < ETH_HLEN + 20 || get16(frame + 12) != ETH_P_IPV4)
		return -1;
	p->frame = frame;
	p->len = len;
	p->ip = frame + ETH_HLEN;
	ihl = (p->ip[0] & 0x0f) * 4u;
	ip_len = get16(p->ip + 2);
	if ((p->ip[0] >> 4) != 4 || ihl < 20 || ip_len < ihl || ETH_HLEN + ip_len > len ||
	    (get16(p->ip + 6) & 0x3fff)) /* fragments carry no ports */
		return -1;
	p->proto = p->ip[9];
	p->l4 = p->ip + ihl;
	return parse_l4(p, ip_len - ihl);
}

uint32_t pkt_src_ip(const struct pkt *p)
{
	return get32(p->ip + IP_SRC);
}

uint32_t pkt_dst_ip(const struct pkt *p)
{
	return get32(p->ip + IP_DST);
}

uint16_t pkt_dst_port(const struct pkt *p)
{
	return get16(p->l4 + 2);
}

void pkt_flow_of(const struct pkt *p, struct pkt_flow *f)
{
	memset(f, 0, sizeof(*f));
	f->src_ip = pkt_src_ip(p);
	f->dst_ip = pkt_dst_ip(p);
	f->src_port = get16(p->l4);
	f->dst_port = get16(p->l4 + 2);
	f->proto = p->proto;
}

/* RFC 1624 incremental update: HC' = ~(~HC + ~m + m'). */
static void csum_replace16(uint8_t *csum, uint16_t old, uint16_t new)
{
	uint32_t sum = (uint16_t)~get16(csum) + (uint16_t)~old + new;

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	put16(csum, (uint16_t)~sum);
}

static void csum_replace32(uint8_t *csum, uint32_t old, uint32_t new)
{
	csum_replace16(csum, (uint16_t)(old >> 16), (uint16_t)(new >> 16));
	csum_replace16(csum, (uint16_t)old, (uint16_t)new);
}

/* Replaces an address and a port, fixing the IP header checksum and the L4
 * checksum (which covers the pseudo-header). */
static void rewrite(struct pkt *p, uint8_t *addr, uint8_t *port, uint32_t ip, uint16_t nport)
{
	csum_replace32(p->ip + IP_CSUM, get32(addr), ip);
	if (p->l4_csum) {
		csum_replace32(p->l4_csum, get32(addr), ip);
		csum_replace16(p->l4_csum, get16(port), nport);
	}
	put32(addr, ip);
	put16(port, nport);
}

void pkt_set_src(struct pkt *p, uint32_t ip, uint16_t port)
{
	rewrite(p, p->ip + IP_SRC, p->l4, ip, port);
}

void pkt_set_dst(struct pkt *p, uint32_t ip, uint16_t port)
{
	rewrite(p, p->ip + IP_DST, p->l4 + 2, ip, port);
}

uint8_t *pkt_testpkt(const struct pkt *p)
{
	uint32_t magic;

	if (p->proto != IPPROTO_UDP || p->payload_len < sizeof(struct ftmb_testpkt))
		return NULL;
	memcpy(&magic, p->payload + offsetof(struct ftmb_testpkt, magic), sizeof(magic));
	return magic == FTMB_TESTPKT_MAGIC ? p->payload : NULL;
}

void pkt_clear_udp_csum(struct pkt *p)
{
	if (p->proto == IPPROTO_UDP && p->l4_csum) {
		put16(p->l4_csum, 0);
		p->l4_csum = NULL;
	}
}
