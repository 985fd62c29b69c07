/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Dependency vector clocks.
 *
 * pal[t] = k: depends on thread t's logged events 1..k.
 * in[q]  = s: depends on the inputs 1..s of RX queue q.
 * There is one thread per queue, so both halves have n entries (n <= 16).
 *
 * The output logger releases a packet with vector dep once durable covers it:
 * dep[i] <= durable[i] for every entry.
 *
 * Encoding (in output tags): a little-endian uint32 bitmap of the non-zero
 * entries (bit t for pal[t], bit 16 + q for in[q]), then each of those values
 * as an unsigned LEB128 varint, in bit order. Decoding is strict: bits at or
 * beyond n, zero values, over-long or overflowing varints are errors, so one
 * vector has exactly one encoding.
 */
#ifndef FTMB_VCLOCK_H
#define FTMB_VCLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ftmb/region.h"

struct ftmb_vclock {
	uint64_t pal[FTMB_MAX_THREADS];
	uint64_t in[FTMB_MAX_THREADS];
};

#define FTMB_VC_MAX_ENCODED (4 + 2 * FTMB_MAX_THREADS * 10)

/* dst = element-wise max(dst, src) over the first n entries of each half. */
void ftmb_vc_merge(struct ftmb_vclock *dst, const struct ftmb_vclock *src, uint32_t n);

/* True when a[i] >= b[i] for every entry: a covers (dominates) b. */
bool ftmb_vc_covers(const struct ftmb_vclock *a, const struct ftmb_vclock *b, uint32_t n);

/* Encodes the first n entries into buf. Returns the length written, or
 * FTMB_E_NOSPACE / FTMB_E_RANGE. */
int ftmb_vc_encode(const struct ftmb_vclock *vc, uint32_t n, uint8_t *buf, size_t cap);

/* Decodes exactly len bytes into vc (entries not encoded are zero). Returns
 * FTMB_OK or an enum ftmb_err. */
int ftmb_vc_decode(const uint8_t *buf, size_t len, uint32_t n, struct ftmb_vclock *vc);

#endif
