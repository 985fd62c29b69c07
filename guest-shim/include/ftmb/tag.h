/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Per-packet trailers between ftmb-vhost and the guest. Neither ever leaves
 * the host: ftmb-vhost strips output tags before release, the shim strips
 * input tags before the middlebox sees a packet.
 *
 * Input tag (host -> guest), the last 16 bytes of a frame on a guest RX queue:
 *   u64 seq | u16 queue | u16 reserved (0) | u32 FTMB_IN_TAG_MAGIC
 * seq is the packet's number on its RX queue, from 1, as logged.
 *
 * Output tag (guest -> host), at the end of every frame the guest sends:
 *   encoded vclock (vc_len bytes, see vclock.h)
 *   u64 out_seq | u16 thread | u16 vc_len | u32 FTMB_OUT_TAG_MAGIC
 * out_seq numbers the thread's outputs from 1; it is what released
 * watermarks and replay suppression count.
 *
 * Tags are appended after the frame's own bytes; an IP packet's length field
 * is untouched, so a receiver that forgot to strip would still parse it, but
 * the host never lets one out.
 */
#ifndef FTMB_TAG_H
#define FTMB_TAG_H

#include <stddef.h>
#include <stdint.h>

#include "ftmb/vclock.h"

#define FTMB_IN_TAG_MAGIC 0x6e49424du  /* "MBIn" */
#define FTMB_OUT_TAG_MAGIC 0x744f424du /* "MBOt" */
#define FTMB_IN_TAG_LEN 16u
#define FTMB_OUT_TAG_FIXED 16u
#define FTMB_OUT_TAG_MAX (FTMB_OUT_TAG_FIXED + FTMB_VC_MAX_ENCODED)
#define FTMB_MIN_FRAME 14u /* an Ethernet header must remain */

struct ftmb_in_tag {
	uint16_t queue;
	uint64_t seq;
};

struct ftmb_out_tag {
	uint16_t thread;
	uint64_t out_seq;
	struct ftmb_vclock dep;
	uint32_t tag_len; /* bytes to trim from the frame's end */
};

/* Writes an input tag into dst (FTMB_IN_TAG_LEN bytes). */
void ftmb_in_tag_write(uint8_t *dst, uint16_t queue, uint64_t seq);

/* Parses the input tag at the end of a frame of len bytes. Returns FTMB_OK
 * or an enum ftmb_err (FTMB_E_TRUNCATED, FTMB_E_MAGIC, FTMB_E_FIELD). */
int ftmb_in_tag_parse(const uint8_t *frame, size_t len, struct ftmb_in_tag *tag);

/* Appends an output tag to a frame of len bytes in a buffer of cap bytes.
 * Returns the new frame length, or FTMB_E_NOSPACE / FTMB_E_RANGE. */
int ftmb_out_tag_append(uint8_t *frame, size_t len, size_t cap, uint16_t thread, uint64_t out_seq,
			const struct ftmb_vclock *dep, uint32_t n_threads);

/* Parses the output tag at the end of a frame of len bytes written by a guest
 * with n_threads threads. Checks magic, thread range, lengths and the vector
 * encoding; the caller checks out_seq order and that dep names only logged
 * events. Returns FTMB_OK or an enum ftmb_err. */
int ftmb_out_tag_parse(const uint8_t *frame, size_t len, uint32_t n_threads,
		       struct ftmb_out_tag *tag);

#endif
