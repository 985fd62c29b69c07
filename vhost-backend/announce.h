/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Announcing where a middlebox is (DESIGN.md: announce after failover).
 *
 * The network outside reaches a protected middlebox by its MAC address(es),
 * and a switch learns which of its ports leads there from the source of the
 * frames it sees. A replica on another host keeps the primary's MAC, so the
 * switch keeps sending to the dead host until something arrives from the
 * new one. ftmb-vhost therefore sends, on the external port, one RARP frame
 * per configured MAC (mac= key), as QEMU's announce-self does after a
 * migration: broadcast, source the guest's MAC, "reverse request: who am
 * I". RARP needs no IP address (a gratuitous ARP would, and the host does
 * not know the guest's), and since the MAC does not change, neighbours'
 * ARP caches stay right: only the switches' tables need moving.
 *
 * When: a replica going live, and (for symmetry, and a switch that aged
 * the entry out) a guest making a new connection to a primary or a live
 * replica. Each announcement is sent ANNOUNCE_ROUNDS times, ANNOUNCE_GAP_MS
 * apart, in case one is lost.
 */
#ifndef VHOST_ANNOUNCE_H
#define VHOST_ANNOUNCE_H

#include <stdbool.h>
#include <stdint.h>

#define ANNOUNCE_FRAME_LEN 60u /* the Ethernet minimum, without FCS */
#define ANNOUNCE_ROUNDS 3u
#define ANNOUNCE_GAP_MS 100u

struct instance;

struct announce {
	bool requested;       /* atomic: set by announce_request */
	uint8_t rounds_left;
	uint64_t next_ns;
	const char *why;
};

/* Writes the RARP announcement for mac into frame (ANNOUNCE_FRAME_LEN
 * bytes). */
void announce_frame(uint8_t *frame, const uint8_t mac[6]);

/* Starts an announcement now (from the polling loop); why is logged. A
 * call while one is under way starts it over. */
void announce_start(struct instance *inst, uint64_t now_ns, const char *why);

/* Asks the polling loop to announce (from the vhost library's thread). */
void announce_request(struct instance *inst);

/* Sends the rounds that are due; returns frames sent. */
uint64_t announce_poll(struct instance *inst, uint64_t now_ns);

#endif
