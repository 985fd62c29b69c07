/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The backup's checkpoint store: the last complete checkpoint of one VM.
 *
 * It holds a RAM image per RAM block, the device state, the checkpoint's seq
 * and an opaque "cut" the caller attaches (ftmb-vhost's per-queue input seqs
 * and per-thread PAL counters at that pause). Checkpoints come from
 * ftmb_ckpt_parser as whole, verified frames and are applied atomically: an
 * apply either succeeds completely or leaves the store as it was. A frame cut
 * off mid-stream or failing its checksum never reaches the store.
 */
#ifndef FTMB_CKPT_STORE_H
#define FTMB_CKPT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ckpt_parser.h"

#define FTMB_CKPT_MAX_CUT_LEN (64u << 10)

struct ftmb_ckpt_store {
	bool valid;      /* holds a complete checkpoint */
	uint64_t seq;    /* of that checkpoint */
	uint64_t stream; /* the parser it came from: increments must follow it */
	struct ftmb_ckpt_layout layout;
	uint8_t *image[FTMB_CKPT_MAX_BLOCKS]; /* used_length bytes each */
	uint8_t *dev;
	size_t dev_len, dev_cap;
	uint8_t *cut;
	size_t cut_len;
	char why[200]; /* why the last apply failed */
};

void ftmb_ckpt_store_init(struct ftmb_ckpt_store *s);
void ftmb_ckpt_store_free(struct ftmb_ckpt_store *s);

/*
 * Applies a checkpoint frame from a parser whose HELLO gave layout, and
 * attaches cut (cut_len bytes, may be 0). A full checkpoint replaces the
 * store; an incremental one must be the next of the stored checkpoint's
 * stream. Returns FTMB_OK, or an enum ftmb_err (s->why says why) with the
 * store unchanged.
 */
int ftmb_ckpt_store_apply(struct ftmb_ckpt_store *s, const struct ftmb_ckpt_layout *layout,
			  const struct ftmb_ckpt_frame *f, const void *cut, size_t cut_len);

#endif
