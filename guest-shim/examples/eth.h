/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Ethernet addressing for the example middleboxes on a shared segment: MAC
 * addresses, and answering ARP for the addresses a middlebox owns. Every
 * decision depends only on the frame and on values fixed at start-up, so
 * that a replica makes the same ones.
 */
#ifndef MB_ETH_H
#define MB_ETH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ETH_ALEN_ 6
#define ETH_HDR_LEN 14

struct eth_addr {
	uint8_t b[ETH_ALEN_];
};

extern const struct eth_addr eth_broadcast;

/* Parses "02:00:00:00:00:01"; returns false for anything else. */
bool eth_parse(const char *s, struct eth_addr *out);

/* Formats into buf (at least 18 bytes) and returns buf. */
char *eth_format(const struct eth_addr *a, char *buf);

bool eth_equal(const struct eth_addr *a, const struct eth_addr *b);

/* The frame's destination and source. The caller has checked that the frame
 * holds an Ethernet header. */
void eth_dst(const uint8_t *frame, struct eth_addr *out);
void eth_src(const uint8_t *frame, struct eth_addr *out);
void eth_set(uint8_t *frame, const struct eth_addr *dst, const struct eth_addr *src);

/* Sends the frame back where it came from: exchanges the two addresses. */
void eth_swap(uint8_t *frame);

/* If frame (len bytes) is an Ethernet ARP request for IPv4 address ips[i]
 * (host byte order), rewrites it in place into the reply "ips[i] is at
 * mac", addressed to the asker, and returns true; otherwise leaves it alone
 * and returns false. */
bool arp_answer(uint8_t *frame, size_t len, const uint32_t *ips, size_t n_ips,
		const struct eth_addr *mac);

#endif
