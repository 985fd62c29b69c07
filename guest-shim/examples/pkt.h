/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Parsing and rewriting the IPv4 + UDP/TCP frames the example middleboxes
 * handle. Every length is checked against the frame before use; fields are
 * read and written bytewise, since headers sit at any alignment. */
#ifndef MB_PKT_H
#define MB_PKT_H

#include <stddef.h>
#include <stdint.h>

#include "ftmb/testpkt.h"

struct pkt_flow {
	uint32_t src_ip, dst_ip; /* host byte order */
	uint16_t src_port, dst_port;
	uint8_t proto;
};

struct pkt {
	uint8_t *frame;
	size_t len;
	uint8_t *ip;      /* IPv4 header */
	uint8_t proto;    /* IPPROTO_UDP or IPPROTO_TCP */
	uint8_t *l4;      /* UDP or TCP header: source port at 0, destination at 2 */
	uint8_t *l4_csum; /* NULL when there is none to fix (UDP checksum 0) */
	uint8_t *payload;
	size_t payload_len;
};

/* Fills p for an IPv4 UDP or TCP frame; returns 0, or -1 for anything else. */
int pkt_parse(uint8_t *frame, size_t len, struct pkt *p);

void pkt_flow_of(const struct pkt *p, struct pkt_flow *f);
uint32_t pkt_src_ip(const struct pkt *p);
uint32_t pkt_dst_ip(const struct pkt *p);
uint16_t pkt_dst_port(const struct pkt *p);

/* Rewrites the source or destination address and port (host byte order),
 * fixing the IP and L4 checksums incrementally. */
void pkt_set_src(struct pkt *p, uint32_t ip, uint16_t port);
void pkt_set_dst(struct pkt *p, uint32_t ip, uint16_t port);

/* The test payload carried by p, or NULL. The payload follows 42 bytes of
 * headers, so it is only 2-byte aligned: read it with memcpy. */
uint8_t *pkt_testpkt(const struct pkt *p);

/* Drops a UDP checksum (zero means none) after the payload changed. */
void pkt_clear_udp_csum(struct pkt *p);

#endif
