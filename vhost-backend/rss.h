/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Receive-side scaling in software: which guest RX queue a frame from the
 * external port goes to. Like a NIC: Toeplitz over the 5-tuple (IPv4/IPv6
 * with TCP or UDP; addresses only for other IP protocols and fragments)
 * with the usual default key, then a 128-entry indirection table filled
 * round-robin. Frames that are not IP go to queue 0.
 */
#ifndef VHOST_RSS_H
#define VHOST_RSS_H

#include <stdint.h>

/* The Toeplitz hash of the frame, and whether it had one (0: not IP). */
int rss_hash(const uint8_t *frame, uint32_t len, uint32_t *hash);

/* The RX queue, < n_queues, for the frame's first len bytes. */
uint16_t rss_queue(const uint8_t *frame, uint32_t len, uint16_t n_queues);

#endif
